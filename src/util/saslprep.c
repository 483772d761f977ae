/*
 * saslprep.c — SASLprep via libidn (see saslprep.h).
 *
 * libidn's stringprep() works in place in a buffer of a given size and says
 * STRINGPREP_TOO_SMALL_BUFFER when the mapped and normalised text would not fit (NFKC can make
 * a text longer), so the buffer starts at four times the input and grows a few times before
 * giving up. Every buffer is the module's own, so it can be wiped before it is freed: the
 * input is usually a password.
 */
#include "dealerbot/saslprep.h"

#include <stdlib.h>
#include <string.h>

#include <stringprep.h>

#include "dealerbot/error.h"
#include "dealerbot/utf8.h"

#define GROW_TRIES 4

int sasl_prep(const char *s, char **out)
{
    if (!s)
        return DBOT_ERR_INVALID;
    size_t len = strlen(s);
    if (!utf8_valid(s, len))
        return DBOT_ERR_INVALID;
    size_t cap = 4 * len + 16;
    for (int t = 0; t < GROW_TRIES; t++, cap *= 4) {
        char *buf = malloc(cap);
        if (!buf)
            return DBOT_ERR_NOMEM;
        memcpy(buf, s, len + 1);
        int rc = stringprep(buf, cap, STRINGPREP_NO_UNASSIGNED, stringprep_saslprep);
        if (rc == STRINGPREP_OK && buf[0]) {
            *out = buf;
            return 0;
        }
        explicit_bzero(buf, cap);
        free(buf);
        if (rc == STRINGPREP_MALLOC_ERROR)
            return DBOT_ERR_NOMEM;
        if (rc != STRINGPREP_TOO_SMALL_BUFFER)
            return DBOT_ERR_INVALID;
    }
    return DBOT_ERR_INVALID;
}
