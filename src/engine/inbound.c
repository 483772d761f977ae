/*
 * inbound.c — the gate in front of the chat commands (see inbound.h).
 *
 * Strangers are remembered in a direct-mapped table: a slot per hash of the JID, holding the
 * JID and when it was last let through. A stranger whose slot another one took meanwhile is
 * let through once more, which is looser by at most one answer per distinct stranger and
 * keeps the memory fixed whatever the number of them. Floods are counted per sender with
 * the token buckets of ratelimit.h (a slot per hash of the sender; the directory's people
 * only, so a stranger never shares a budget with a real dealer).
 */
#include "dealerbot/inbound.h"

#include <stdlib.h>
#include <string.h>

#include "dealerbot/directory.h"
#include "dealerbot/log.h"
#include "dealerbot/ratelimit.h"

#define MOD "inbound"
#define STRANGER_SLOTS 16384 /* a power of two */

struct stranger {
    char *jid;
    int64_t passed; /* wall-clock seconds when last let through */
};

struct inbound {
    const struct config *cfg;
    struct store *st;
    struct stranger strangers[STRANGER_SLOTS];
    struct rate_table rate;
    struct inbound_stats stats;
};

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int inbound_new(const struct config *cfg, struct store *st, struct inbound **out)
{
    struct inbound *g = calloc(1, sizeof *g);
    if (!g)
        return DBOT_ERR_NOMEM;
    g->cfg = cfg;
    g->st = st;
    rate_table_init(&g->rate, cfg->chat.inbound_rate, cfg->chat.inbound_burst, 0);
    *out = g;
    return 0;
}

void inbound_free(struct inbound *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < STRANGER_SLOTS; i++)
        free(g->strangers[i].jid);
    free(g);
}

/* A sender the directory does not know: let through once per stranger_reply_every. */
static enum inbound_verdict stranger(struct inbound *g, const char *jid, int64_t now)
{
    struct stranger *s = &g->strangers[hash_str(jid) & (STRANGER_SLOTS - 1)];
    if (s->jid && strcmp(s->jid, jid) == 0) {
        if (now - s->passed < g->cfg->chat.stranger_reply_every_s) {
            uint64_t n = ++g->stats.strangers_dropped;
            if (n <= 4 || (n & (n - 1)) == 0)
                log_info(MOD, "dropped a message from %s, who is not in the directory and "
                              "was answered already (%llu dropped so far)",
                         jid, (unsigned long long)n);
            return INBOUND_STRANGER;
        }
        s->passed = now;
        return INBOUND_PASS;
    }
    char *copy = strdup(jid);
    if (!copy)
        return INBOUND_PASS; /* cannot remember him: the engine answers, as it did before */
    free(s->jid);
    s->jid = copy;
    s->passed = now;
    return INBOUND_PASS;
}

enum inbound_verdict inbound_check(struct inbound *g, const struct chat_message *m, int64_t now,
                                   int64_t now_us)
{
    if (!m->sender)
        return INBOUND_PASS;
    struct person p;
    memset(&p, 0, sizeof p);
    int err = store_person_get(g->st, m->sender, &p);
    if (err == DBOT_ERR_NOTFOUND)
        return stranger(g, m->sender, now);
    if (err)
        return INBOUND_PASS;
    person_cleanup(&p);
    if (rate_bucket_take(rate_table_bucket(&g->rate, m->sender), now_us))
        return INBOUND_PASS;
    uint64_t n = ++g->stats.flood_dropped;
    if (n <= 4 || (n & (n - 1)) == 0)
        log_warn(MOD, "%s sends faster than chat.inbound_rate allows: message dropped "
                      "(%llu dropped so far)", m->sender, (unsigned long long)n);
    return INBOUND_FLOOD;
}

void inbound_get_stats(const struct inbound *g, struct inbound_stats *out)
{
    if (g)
        *out = g->stats;
    else
        memset(out, 0, sizeof *out);
}
