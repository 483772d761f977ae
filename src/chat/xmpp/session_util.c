/* session_util.c — pure helpers of the XMPP session; see session_util.h. */
#include "chat/xmpp/session_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/jid.h"

struct xs_frame *xs_frame_new(enum xs_frame_kind kind, size_t pre, const char *text, size_t len,
                              const char *id)
{
    if (len > SIZE_MAX - sizeof(struct xs_frame) - pre - 1)
        return NULL;
    struct xs_frame *f = malloc(sizeof *f + pre + len + 1);
    if (!f)
        return NULL;
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->pre = pre;
    f->len = len;
    memset(f->mem, 0, pre);
    if (text)
        memcpy(f->mem + pre, text, len);
    else
        memset(f->mem + pre, 0, len);
    f->mem[pre + len] = '\0';
    if (id) {
        f->id = strdup(id);
        if (!f->id) {
            free(f);
            return NULL;
        }
    }
    return f;
}

void xs_frame_free(struct xs_frame *f)
{
    if (!f)
        return;
    free(f->id);
    free(f);
}

void xs_fifo_push(struct xs_fifo *q, struct xs_frame *f)
{
    f->next = NULL;
    if (q->tail)
        q->tail->next = f;
    else
        q->head = f;
    q->tail = f;
    q->n++;
    q->bytes += f->len;
}

struct xs_frame *xs_fifo_pop(struct xs_fifo *q)
{
    struct xs_frame *f = q->head;
    if (!f)
        return NULL;
    q->head = f->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    q->bytes -= f->len;
    f->next = NULL;
    return f;
}

void xs_fifo_prepend(struct xs_fifo *dst, struct xs_fifo *src)
{
    if (!src->head)
        return;
    src->tail->next = dst->head;
    if (!dst->tail)
        dst->tail = src->tail;
    dst->head = src->head;
    dst->n += src->n;
    dst->bytes += src->bytes;
    memset(src, 0, sizeof *src);
}

void xs_fifo_append(struct xs_fifo *dst, struct xs_fifo *src)
{
    if (!src->head)
        return;
    if (dst->tail)
        dst->tail->next = src->head;
    else
        dst->head = src->head;
    dst->tail = src->tail;
    dst->n += src->n;
    dst->bytes += src->bytes;
    memset(src, 0, sizeof *src);
}

void xs_fifo_clear(struct xs_fifo *q)
{
    struct xs_frame *f;
    while ((f = xs_fifo_pop(q)))
        xs_frame_free(f);
}

size_t xs_client_ns_pos(const char *text, size_t len)
{
    static const char *const names[] = {"iq", "message", "presence"};
    if (len < 2 || text[0] != '<')
        return 0;
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(names[i]);
        if (len < n + 2 || memcmp(text + 1, names[i], n) != 0)
            continue;
        char c = text[1 + n];
        if (c != ' ' && c != '>' && c != '/')
            continue;
        const char *gt = memchr(text, '>', len);
        size_t tag_len = gt ? (size_t)(gt - text) : len;
        for (size_t k = 1 + n; k + 7 <= tag_len; k++)
            if (memcmp(text + k, " xmlns=", 7) == 0)
                return 0;
        return 1 + n;
    }
    return 0;
}

uint32_t xs_sm_newly_acked(uint32_t acked, uint32_t h, size_t unacked, bool *bogus)
{
    uint32_t d = h - acked; /* unsigned: wraps modulo 2^32 as XEP-0198 §4 wants */
    *bogus = false;
    if ((uint64_t)d > (uint64_t)unacked) {
        *bogus = true;
        d = (uint32_t)unacked;
    }
    return d;
}

uint32_t xs_backoff_ms(unsigned attempt, uint32_t base_ms, uint32_t cap_ms, unsigned jitter_pct,
                       uint32_t rnd)
{
    uint64_t d = base_ms;
    for (unsigned i = 0; i < attempt && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms)
        d = cap_ms;
    if (jitter_pct > 100)
        jitter_pct = 100;
    /* factor in per-mille: 1000 - 10*j .. 1000 + 10*j, uniform over rnd */
    uint64_t span = 20ull * jitter_pct + 1;
    uint64_t permille = 1000 - 10ull * jitter_pct + (rnd % span);
    d = d * permille / 1000;
    /* the cap holds after the jitter too: near it, waits spread below it, never above */
    return (uint32_t)(d > cap_ms ? cap_ms : d);
}

int xs_dedup_key(char *out, size_t cap, const char *room, const char *sender, const char *sid,
                 const char *msgid)
{
    const char *where = room && *room ? room : "-";
    int n;
    if (sid && *sid)
        n = snprintf(out, cap, "sid:%s/%s", where, sid);
    else if (msgid && *msgid)
        n = snprintf(out, cap, "id:%s/%s/%s", where, sender ? sender : "", msgid);
    else
        return 1;
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

int xs_jid_bare(const char *jid, char *out, size_t cap)
{
    if (!jid || !cap)
        return -1;
    size_t n = strcspn(jid, "/");
    if (n == 0)
        return -1;
    return jid_fold(jid, n, out, cap) == 0 ? 0 : -1;
}

const char *xs_jid_resource(const char *jid)
{
    const char *p = jid ? strchr(jid, '/') : NULL;
    return p ? p + 1 : NULL;
}

bool xs_jid_bare_eq(const char *jid, const char *bare)
{
    if (!jid || !bare)
        return false;
    char a[2 * JID_PART_MAX + 2], b[2 * JID_PART_MAX + 2];
    return jid_fold(jid, strcspn(jid, "/"), a, sizeof a) == 0 &&
           jid_fold(bare, strlen(bare), b, sizeof b) == 0 && strcmp(a, b) == 0;
}
