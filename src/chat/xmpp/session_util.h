/*
 * session_util.h — the pure parts of the XMPP session (session.c), kept apart so they can be
 * unit-tested without a server: the frame FIFO the session writes from and keeps unacked
 * stanzas in, the XEP-0198 counter arithmetic (32-bit, wrapping), the reconnect backoff, and
 * JID string helpers.
 *
 * No I/O, no clock, no logging; main thread of the session (nothing here is shared).
 */
#ifndef DBOT_CHAT_XMPP_SESSION_UTIL_H
#define DBOT_CHAT_XMPP_SESSION_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a frame is, for stream management and delivery tracking. */
enum xs_frame_kind {
    XS_NONZA = 0, /* <open/>, SASL, SM <a/>/<r/>/<enable/>: never counted by XEP-0198 */
    XS_STANZA,    /* iq/presence/message without an outbox id: counted */
    XS_MSG,       /* a message carrying an outbox id (chat_send): counted, tracked */
};

/* One complete WebSocket text frame, with `pre` bytes of headroom in front of the text
 * (LWS_PRE) so it can be written in place. */
struct xs_frame {
    struct xs_frame *next;
    char *id;                /* outbox id (XS_MSG), owned; NULL otherwise */
    enum xs_frame_kind kind;
    bool group;              /* XS_MSG: a groupchat (confirmed also by the room's echo) */
    bool counted;            /* already counted by SM (a resend after <resumed/>) */
    size_t pre;              /* headroom before text */
    size_t len;              /* bytes of text */
    unsigned char mem[];     /* pre bytes, then len bytes of text, then a NUL */
};

/* Returns a new frame holding a copy of text[0..len) (text NULL: len zero bytes to fill in)
 * after `pre` bytes of headroom, and a copy of id (may be NULL); NULL when out of memory. Caller frees with xs_frame_free(). */
struct xs_frame *xs_frame_new(enum xs_frame_kind kind, size_t pre, const char *text, size_t len,
                              const char *id);
void xs_frame_free(struct xs_frame *f);
/* The text (borrowed). */
static inline unsigned char *xs_frame_text(struct xs_frame *f)
{
    return f->mem + f->pre;
}

/* A FIFO of frames; zero-initialised is empty. `bytes` sums the text lengths. */
struct xs_fifo {
    struct xs_frame *head, *tail;
    size_t n;
    size_t bytes;
};
/* Appends f (takes ownership). */
void xs_fifo_push(struct xs_fifo *q, struct xs_frame *f);
/* Removes and returns the head (caller owns it), NULL if empty. */
struct xs_frame *xs_fifo_pop(struct xs_fifo *q);
/* Moves every frame of `src` in front of `dst`'s frames (order kept); src ends empty. */
void xs_fifo_prepend(struct xs_fifo *dst, struct xs_fifo *src);
/* Moves every frame of `src` behind `dst`'s frames; src ends empty. */
void xs_fifo_append(struct xs_fifo *dst, struct xs_fifo *src);
/* Frees every frame. */
void xs_fifo_clear(struct xs_fifo *q);

/* RFC 7395 wants every top-level stanza qualified by jabber:client explicitly (Prosody's
 * WebSocket rejects a stanza with no namespace: unsupported-stanza-type). Returns the offset
 * just after the element name of text[0..len) where " xmlns='jabber:client'" must be
 * inserted: a start tag <iq, <message or <presence whose attributes have no xmlns. Returns 0
 * when nothing is needed (another element, or xmlns already present). The writer escapes
 * '>' inside attribute values, so the first '>' ends the start tag. */
size_t xs_client_ns_pos(const char *text, size_t len);

/* XEP-0198: the server says it handled h of our stanzas; we know it had handled `acked`
 * before and that `unacked` more were sent since. Returns how many of the unacked ones this
 * ack confirms (h - acked modulo 2^32). If that exceeds `unacked` the server counted
 * stanzas we never sent: *bogus is set and the result is clamped to `unacked`. */
uint32_t xs_sm_newly_acked(uint32_t acked, uint32_t h, size_t unacked, bool *bogus);

/* Reconnect delay in ms for the attempt-th consecutive failure (0 = first retry):
 * base_ms doubling per attempt, scaled by a jitter factor in [1 - jitter_pct %,
 * 1 + jitter_pct %] chosen by `rnd` (any 32-bit random value), and never more than cap_ms
 * (the cap applies after the jitter). */
uint32_t xs_backoff_ms(unsigned attempt, uint32_t base_ms, uint32_t cap_ms, unsigned jitter_pct,
                       uint32_t rnd);

/* The de-duplication key of an incoming message (chat_message.platform_id) into out[0..cap):
 * "sid:<where>/<stanza-id>" when the room (or our server, for a direct message) stamped an
 * XEP-0359 stanza-id, else "id:<where>/<sender>/<id attribute>"; <where> is the room's local
 * name, or "-" for a direct message (room names hold no '/', bare JIDs neither, so the parts
 * cannot run into each other). The same message seen again — a resumed stream, a rejoin,
 * another run of the daemon — gets the same key; the same client id in two rooms two keys.
 * Returns 0, 1 when the message carries no id at all (it cannot be told from another one:
 * it gets no key and is not de-duplicated), or -1 when the key does not fit. */
int xs_dedup_key(char *out, size_t cap, const char *room, const char *sender, const char *sid,
                 const char *msgid);

/* Writes the bare JID of `jid` (everything before '/'), folded as servers compare it
 * (jid_fold: nodeprep on the local part, nameprep on the domain), into out[0..cap). Returns 0,
 * or -1 if it does not fit, is empty or not a valid JID, or jid is NULL. */
int xs_jid_bare(const char *jid, char *out, size_t cap);
/* The resource part of a full JID (after the first '/'), or NULL if there is none. Borrowed. */
const char *xs_jid_resource(const char *jid);
/* True if the bare part of `jid` equals `bare` once both are folded (jid_fold). */
bool xs_jid_bare_eq(const char *jid, const char *bare);

#endif
