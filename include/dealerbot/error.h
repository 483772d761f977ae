/*
 * error.h — the one error vocabulary of dealerbot.
 *
 * Every fallible function returns int: 0 on success, a negative DBOT_ERR_* on failure.
 * Results go through out-parameters that are written only on success. Foreign codes
 * (sqlite rc, errno, lws -1, CURLcode) are translated at the boundary where they occur.
 *
 * Where a user must be told what was wrong (a config key, a CSV row, a JSON column), the
 * function also fills a struct dbot_diag: one line, no trailing newline, never a secret.
 */
#ifndef DEALERBOT_ERROR_H
#define DEALERBOT_ERROR_H

#include <stddef.h>

enum dbot_err {
    DBOT_OK = 0,
    DBOT_ERR_NOMEM = -1,     /* allocation failed */
    DBOT_ERR_INVALID = -2,   /* bad input: the diag says which and why */
    DBOT_ERR_NOTFOUND = -3,  /* no such row / key / file */
    DBOT_ERR_EXISTS = -4,    /* already there (idempotent replays are not errors) */
    DBOT_ERR_IO = -5,        /* read/write/open failed; errno detail in the diag */
    DBOT_ERR_DB = -6,        /* SQLite failed; detail in the diag */
    DBOT_ERR_TOOBIG = -7,    /* over a size limit */
    DBOT_ERR_BUSY = -8,      /* try again later */
    DBOT_ERR_INTERNAL = -9,  /* a bug: should not happen */
    DBOT_ERR_DENIED = -10,   /* not allowed */
    DBOT_ERR_CONFLICT = -11, /* the row changed since it was read (a decision is stale) */
    DBOT_ERR_UNAVAILABLE = -12, /* this target cannot take it now (a chat room the bot is
                                 * not in yet): others can; try it again later */
};

/* Returns a static English phrase for a DBOT_ERR_* code ("out of memory", ...). */
const char *dbot_strerror(int err);

#define DBOT_DIAG_MAX 320

/* A one-line human-readable explanation of the last failure. */
struct dbot_diag {
    char msg[DBOT_DIAG_MAX];
};

/* Sets d->msg from a printf format; NULL d is allowed (then it does nothing). Returns err
 * unchanged, so callers can write `return dbot_diag_set(d, DBOT_ERR_INVALID, "...")`. */
int dbot_diag_set(struct dbot_diag *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears d (NULL allowed). */
void dbot_diag_clear(struct dbot_diag *d);

#endif
