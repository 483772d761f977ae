#include "dealerbot/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *dbot_strerror(int err)
{
    switch (err) {
    case DBOT_OK: return "success";
    case DBOT_ERR_NOMEM: return "out of memory";
    case DBOT_ERR_INVALID: return "invalid input";
    case DBOT_ERR_NOTFOUND: return "not found";
    case DBOT_ERR_EXISTS: return "already exists";
    case DBOT_ERR_IO: return "input/output error";
    case DBOT_ERR_DB: return "database error";
    case DBOT_ERR_TOOBIG: return "too large";
    case DBOT_ERR_BUSY: return "busy, try again";
    case DBOT_ERR_INTERNAL: return "internal error";
    case DBOT_ERR_DENIED: return "not allowed";
    case DBOT_ERR_CONFLICT: return "changed meanwhile";
    case DBOT_ERR_UNAVAILABLE: return "not available now";
    default: return "unknown error";
    }
}

int dbot_diag_set(struct dbot_diag *d, int err, const char *fmt, ...)
{
    if (!d)
        return err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    /* A diag is one line, whatever input it quotes (jansson quotes the offending token). */
    for (char *p = d->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return err;
}

void dbot_diag_clear(struct dbot_diag *d)
{
    if (d)
        d->msg[0] = '\0';
}
