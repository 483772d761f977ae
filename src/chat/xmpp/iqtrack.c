/*
 * iqtrack.c — requests waiting for their answer (see iqtrack.h): a chained hash table keyed
 * by the random id, doubled when it holds more than two entries per bucket.
 */
#include "chat/xmpp/iqtrack.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/error.h"

struct iq_node {
    struct iq_node *next;
    uint32_t hash;
    struct iq_pending p;
};

static uint32_t hash_id(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a (the id itself is random) */
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h;
}

void iqtrack_init(struct iqtrack *t)
{
    memset(t, 0, sizeof *t);
}

void iq_pending_cleanup(struct iq_pending *p)
{
    if (!p)
        return;
    free(p->to);
    free(p->arg);
    p->to = p->arg = NULL;
}

void iqtrack_clear(struct iqtrack *t)
{
    for (size_t i = 0; i < t->n_buckets; i++) {
        struct iq_node *e = t->bucket[i];
        while (e) {
            struct iq_node *n = e->next;
            iq_pending_cleanup(&e->p);
            free(e);
            e = n;
        }
        t->bucket[i] = NULL;
    }
    t->n = 0;
}

void iqtrack_cleanup(struct iqtrack *t)
{
    iqtrack_clear(t);
    free(t->bucket);
    memset(t, 0, sizeof *t);
}

int iqtrack_new_id(char id[IQ_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[IQ_ID_LEN / 2];
    if (RAND_bytes(raw, (int)sizeof raw) != 1)
        return DBOT_ERR_INTERNAL;
    for (size_t i = 0; i < sizeof raw; i++) {
        id[2 * i] = hex[raw[i] >> 4];
        id[2 * i + 1] = hex[raw[i] & 15];
    }
    id[IQ_ID_LEN] = '\0';
    return 0;
}

static int grow(struct iqtrack *t)
{
    size_t nb = t->n_buckets ? 2 * t->n_buckets : 64;
    struct iq_node **b = calloc(nb, sizeof *b);
    if (!b)
        return DBOT_ERR_NOMEM;
    for (size_t i = 0; i < t->n_buckets; i++) {
        struct iq_node *e = t->bucket[i];
        while (e) {
            struct iq_node *n = e->next;
            size_t k = e->hash & (nb - 1);
            e->next = b[k];
            b[k] = e;
            e = n;
        }
    }
    free(t->bucket);
    t->bucket = b;
    t->n_buckets = nb;
    return 0;
}

static struct iq_node **find(struct iqtrack *t, const char *id, uint32_t h)
{
    if (!t->n_buckets)
        return NULL;
    for (struct iq_node **pp = &t->bucket[h & (t->n_buckets - 1)]; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && strcmp((*pp)->p.id, id) == 0)
            return pp;
    return NULL;
}

int iqtrack_add(struct iqtrack *t, const char *to, bool server, struct iq_pending **out)
{
    if (t->n >= IQTRACK_MAX)
        return DBOT_ERR_BUSY;
    if (t->n >= 2 * t->n_buckets) {
        int rc = grow(t);
        if (rc)
            return rc;
    }
    struct iq_node *e = calloc(1, sizeof *e);
    if (!e)
        return DBOT_ERR_NOMEM;
    if (to) {
        size_t n = strlen(to);
        e->p.to = malloc(n + 1);
        if (!e->p.to) {
            free(e);
            return DBOT_ERR_NOMEM;
        }
        for (size_t i = 0; i <= n; i++)
            e->p.to[i] = (to[i] >= 'A' && to[i] <= 'Z') ? (char)(to[i] - 'A' + 'a') : to[i];
    }
    e->p.server = server;
    /* 96 random bits: a collision with a waiting id is not going to happen, but costs
     * nothing to rule out */
    do {
        if (iqtrack_new_id(e->p.id)) {
            iq_pending_cleanup(&e->p);
            free(e);
            return DBOT_ERR_INTERNAL;
        }
        e->hash = hash_id(e->p.id);
    } while (find(t, e->p.id, e->hash));
    size_t k = e->hash & (t->n_buckets - 1);
    e->next = t->bucket[k];
    t->bucket[k] = e;
    t->n++;
    *out = &e->p;
    return 0;
}

void iqtrack_drop(struct iqtrack *t, const char *id)
{
    struct iq_node **pp = id ? find(t, id, hash_id(id)) : NULL;
    if (!pp)
        return;
    struct iq_node *e = *pp;
    *pp = e->next;
    iq_pending_cleanup(&e->p);
    free(e);
    t->n--;
}

bool iqtrack_from_ok(const char *to, bool server, const char *from, const char *own_bare)
{
    if (!from)
        return to == NULL || server;
    if (!to)
        return own_bare && strcasecmp(from, own_bare) == 0;
    return strcasecmp(from, to) == 0;
}

enum iq_match iqtrack_take(struct iqtrack *t, const char *id, const char *from,
                           const char *own_bare, struct iq_pending *out)
{
    if (!id)
        return IQ_UNKNOWN;
    struct iq_node **pp = find(t, id, hash_id(id));
    if (!pp)
        return IQ_UNKNOWN;
    struct iq_node *e = *pp;
    if (!iqtrack_from_ok(e->p.to, e->p.server, from, own_bare))
        return IQ_FORGED;
    *pp = e->next;
    t->n--;
    *out = e->p;
    free(e);
    return IQ_MATCH;
}
