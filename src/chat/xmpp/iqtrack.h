/*
 * iqtrack.h — the XMPP session's requests waiting for an answer (iq get/set), and the rule
 * that decides whether an answer is one: its id is one we gave out AND it comes from the
 * entity the request went to.
 *
 * Ids are 24 hex characters from OpenSSL's CSPRNG (RAND_bytes): nobody who sees the bot's
 * traffic can guess the next one. The JID a request went to is kept with it; a result or
 * error counts only when its `from` is exactly that JID (no resource: the room itself, not
 * an occupant speaking through it; the server's domain), compared without regard to case.
 * A request to the bot's own account (bind, roster) is answered by the server with `from`
 * absent or the bot's bare JID (RFC 6120 8.1.2.1), and both count; a request to the server's
 * domain may be answered with `from` absent too, which only the server can send.
 *
 * Not thread-safe: the session's thread only. The table owns copies of the strings it is
 * given; iqtrack_take() hands the entry over to the caller (free it with iq_pending_cleanup).
 */
#ifndef DBOT_CHAT_XMPP_IQTRACK_H
#define DBOT_CHAT_XMPP_IQTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IQ_ID_LEN 24          /* hex characters of an id (96 random bits) */
#define IQTRACK_MAX 200000    /* requests waiting at once at most */

/* One request waiting for its answer. op/room/gen/aff/seq/arg are the caller's. */
struct iq_pending {
    char id[IQ_ID_LEN + 1];
    char *to;         /* where it went (lower-case), NULL = the bot's own account */
    bool server;      /* `to` is the server's domain: an answer without `from` counts too */
    int op;
    void *room;
    unsigned gen;
    char aff;
    uint32_t seq;
    char *arg;        /* e.g. the JID an affiliation change was about; may be NULL */
};

struct iq_node;
struct iqtrack {
    struct iq_node **bucket;
    size_t n_buckets; /* a power of two */
    size_t n;
};

/* What iqtrack_take() found. */
enum iq_match {
    IQ_UNKNOWN = 0, /* no request with that id is waiting (a late, stray or guessed answer) */
    IQ_FORGED,      /* a request with that id waits, but the answer comes from someone else:
                       the request keeps waiting for the real one */
    IQ_MATCH,       /* the answer: the request is taken out and copied to *out */
};

void iqtrack_init(struct iqtrack *t);
/* Forgets every request (a new stream: nothing sent before will be answered). */
void iqtrack_clear(struct iqtrack *t);
void iqtrack_cleanup(struct iqtrack *t);

/* Fills id (IQ_ID_LEN hex characters and a NUL) from the CSPRNG. 0, or DBOT_ERR_INTERNAL. */
int iqtrack_new_id(char id[IQ_ID_LEN + 1]);

/* Registers a request to `to` (copied; NULL = own account) under a new random id, which is
 * in (*out)->id; the caller fills in the rest of *out (op, room, ...; arg is freed by the
 * table). 0, DBOT_ERR_BUSY (IQTRACK_MAX waiting), DBOT_ERR_NOMEM, DBOT_ERR_INTERNAL. */
int iqtrack_add(struct iqtrack *t, const char *to, bool server, struct iq_pending **out);

/* Removes the request with this id again (it could not be sent). */
void iqtrack_drop(struct iqtrack *t, const char *id);

/* An answer (result or error) with `id` from `from` (NULL when absent) arrived; own_bare is
 * the bot's bare JID. On IQ_MATCH the request leaves the table and *out owns its strings. */
enum iq_match iqtrack_take(struct iqtrack *t, const char *id, const char *from,
                           const char *own_bare, struct iq_pending *out);

void iq_pending_cleanup(struct iq_pending *p);

/* True when an answer from `from` may answer a request to `to` (see the header comment). */
bool iqtrack_from_ok(const char *to, bool server, const char *from, const char *own_bare);

#endif
