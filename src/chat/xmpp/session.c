/*
 * session.c — the XMPP client session: transport, negotiation, stream management, rooms.
 *
 * Transport. One lws WebSocket client connection (subprotocol "xmpp") on a client vhost of
 * our own. Each text frame is one element; fragments are collected until the final one and
 * parsed with stanza_parse(). Everything we send is a built frame in the `out` FIFO, written
 * from LWS_CALLBACK_CLIENT_WRITEABLE (several per callback while the socket takes them)
 * with LWS_PRE headroom.
 *
 * Negotiation. <open/> → features → SASL (SCRAM-SHA-256, else SCRAM-SHA-1, PLAIN only if
 * allowed; the SCRAM server signature is verified) → <open/> again → features → either
 * <resume/> (XEP-0198, when the previous stream was resumable) or bind (+ legacy session if
 * required) → <enable resume='true'/> → initial presence → room joins.
 *
 * Delivery tracking. Every chat_send id is "in flight" (at most XMPP_SEND_WINDOW) until it is
 * confirmed once: a groupchat by the room's echo carrying the same id (the server's ack only
 * says the server has it: a room the bot was just kicked from bounces it, and a bounced
 * groupchat goes back upstream through on_returned), a direct message by the server's
 * XEP-0198 <a h/> covering its stanza, or without stream management by the result of an
 * XEP-0199 ping written after it (a c2s stream is processed in order). Stanzas written while SM is on stay in `unacked` (with their bytes) until acked, so
 * a resumed stream can write them again. When a new stream replaces a lost one, everything in
 * flight is forgotten without confirmation: the engine resends it after on_ready with the same
 * ids. A chat_send of an id that is still in flight is accepted as a no-op, which makes the
 * engine's resend after a *resumed* stream harmless.
 *
 * Rooms. The desired spec of every synced room is kept (found by name or JID through a hash
 * table). After each join (self-presence 110)
 * the bot submits the owner form if the room is new (201) or not yet non-anonymous, then
 * lists members/admins/owners and sets member/none to match the spec, inviting the added
 * ones. Messages go only to joined rooms (otherwise DBOT_ERR_UNAVAILABLE, so a room the bot
 * is out of never fills the window); a refused join or a removal (kick, ban, destroyed room)
 * schedules a rejoin with backoff, and each join after on_ready is told by on_room_ready. Occupant presence builds a nick → real bare JID map per room, the only source used
 * to attribute a groupchat message.
 *
 * Keepalive. A 5 s tick: a ping after 20 s without any inbound frame; no answer within 20 s,
 * or a negotiation longer than 30 s, kills the connection. Reconnects back off 1 s doubling
 * (±20 % jitter), never more than 30 s; the attempt count resets once a session stayed ready
 * for 60 s.
 */
#include "chat/xmpp/session.h"

#include <libwebsockets.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat/xmpp/adhoc.h"
#include "chat/xmpp/iqtrack.h"
#include "chat/xmpp/scram.h"
#include "chat/xmpp/session_util.h"
#include "chat/xmpp/stanza.h"
#include "chat/xmpp/subscription.h"
#include "chat/xmpp/xml.h"
#include "dealerbot/log.h"
#include "dealerbot/timeutil.h"

#define MOD "xmpp"

#define WRITE_BURST 64 /* frames written per WRITEABLE callback at most */
#define US_PER_MS 1000ll
#define US_PER_S 1000000ll
#define KA_TICK_US (5 * US_PER_S)
#define KA_IDLE_US (20 * US_PER_S)     /* ping after this long without inbound traffic */
#define KA_TIMEOUT_US (20 * US_PER_S)  /* ... and give up if it is not answered in time */
#define NEGOTIATE_US (30 * US_PER_S)   /* connect → online */
#define STABLE_US (60 * US_PER_S)      /* a session this old resets the backoff */
#define CLOSE_GRACE_US (2 * US_PER_S)  /* wait for the server's </close> echo */
#define BACKOFF_BASE_MS 1000
#define BACKOFF_CAP_MS 30000
#define BACKOFF_JITTER_PCT 20
/* Affiliation syncs (three list requests, then the changes and invitations) running at once.
 * A room's lists come back only after the server has worked through what was sent before,
 * so this paces the whole set-up: 5,000 rooms at once were ~45,000 requests in one burst,
 * which kept Prosody busy for minutes, delayed its answers to the keepalive past the
 * timeout and ended the session in a loop of reconnects and set-ups. */
#define AFF_CONCURRENT 8
#define BEHIND_US (60 * US_PER_S)      /* a message unconfirmed this long: "falling behind" */
#define CAUGHT_UP_US (10 * US_PER_S)   /* ... and caught up again when none waits this long */
#define ACK_EVERY 32                   /* <r/> after this many stanzas (and after a burst) */
#define OUT_MAX_BYTES (64u * 1024 * 1024)
#define JID_MAX 3072                   /* RFC 7622: 3 × 1023 + separators */

enum phase {
    P_IDLE = 0,    /* no connection (waiting to reconnect, or stopped) */
    P_CONNECTING,  /* WebSocket handshake */
    P_PRE_AUTH,    /* <open/> sent, waiting for the features */
    P_SASL,        /* <auth/> sent */
    P_POST_AUTH,   /* restarted, waiting for the features */
    P_RESUMING,    /* <resume/> sent */
    P_BIND,        /* bind iq sent */
    P_SESSION,     /* legacy session iq sent */
    P_ONLINE,      /* bound (or resumed): stanzas flow */
    P_CLOSING,     /* </close> queued or sent */
};

enum sm_state { SM_OFF = 0, SM_ENABLING, SM_ON };

/* What a request waiting in s->iq was for (struct iq_pending.op). */
enum iq_op {
    OP_BIND = 1,   /* resource binding (own account) */
    OP_SESSION,    /* legacy session (own account) */
    OP_KEEPALIVE,  /* XEP-0199 ping to the server (its domain) */
    OP_DM_PING,    /* a ping that confirms the direct messages written before it (seq) */
    OP_ROOM_FORM,  /* the room's owner form asked for (room) */
    OP_ROOM_CONFIG,/* owner form submitted (room) */
    OP_AFF_LIST,   /* one affiliation list (room, gen, aff) */
    OP_AFF_SET,    /* one affiliation change (room, arg = the JID) */
};

/* OUT: to be joined once the stream is online. FAILED: not in it (the join was refused, or
 * the bot was kicked, banned, removed, or the room destroyed): a rejoin is scheduled with
 * backoff. Messages are sent only to JOINED rooms. */
enum room_state { ROOM_OUT = 0, ROOM_JOINING, ROOM_JOINED, ROOM_FAILED };

struct occupant {
    struct occupant *next;
    char *nick;
    char *jid; /* real bare JID, lower-case */
};

struct affil {
    char *jid; /* bare, lower-case */
    char aff;  /* 'm' member, 'a' admin, 'o' owner */
};

struct room {
    struct room *next;
    struct room *hnext; /* the next room in its bucket of s->rbucket */
    struct xmpp_session *s;
    char *name;     /* local name */
    char *jid;      /* name@muc_service */
    char *title;    /* may be NULL */
    char **members; /* desired members, lower-case bare */
    size_t n_members;
    enum room_state state;
    unsigned gen;       /* affiliation sync generation (stale replies are ignored) */
    int aff_wait;       /* list replies still expected; <0 aborted */
    bool aff_queued;    /* a sync waits for one of the AFF_CONCURRENT places */
    struct affil *have; /* current affiliations (this generation) */
    size_t n_have, cap_have;
    bool configured;    /* owner form submitted this join */
    struct occupant *occ;
    lws_sorted_usec_list_t sul_rejoin;
    bool rejoin_armed;
    unsigned rejoin_attempt; /* consecutive losses, for the backoff */
    lws_usec_t joined_at;
    char **refused;     /* JIDs whose membership the server refuses (e.g. server admins) */
    size_t n_refused;
    char *nick;         /* the bot's nickname in this room when not the configured one (a
                         * taken nick made us pick another, or the server renamed us) */
    unsigned nick_try;  /* joins refused with conflict in a row: the next is "<nick>-<n+1>" */
};

struct inflight {
    char *id;
    bool group;
    bool dm_wait;      /* SM off: a direct message written, waiting for a ping after it */
    uint32_t ping_seq; /* the ping that covers it (0 = none yet) */
    int64_t queued_us; /* monotonic time of the chat_send that handed it over */
    uint32_t hash;     /* of id: its place in the slots below */
};

/* The in-flight ids are found through a hash (every confirmation looks one up; a scan of the
 * window was a fifth of the bot's CPU in a burst): open addressing over twice the window,
 * each slot the index + 1 of an entry (0 = empty), removal by backward shift. */
#define INFLIGHT_SLOTS (2 * XMPP_SEND_WINDOW)

struct xmpp_session {
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    const struct config *cfg;
    struct chat_handler h;
    struct lws *wsi;

    /* from the config */
    char *url_copy;         /* lws_parse_uri cuts this up */
    const char *host;       /* points into url_copy */
    char *path;             /* "/" + the URL's path */
    int port;
    bool tls;
    char *domain;           /* the JID's domain: <open to=''/> */
    char *user;             /* the JID's local part: SASL authcid */
    char *bare;             /* our bare JID, lower-case */
    char *muc;              /* muc_service */
    char *nick;

    /* connection */
    enum phase phase;
    bool stopping;
    bool dead;              /* a kill is pending; ignore further input */
    unsigned features;      /* of the current stream (post-auth) */
    char *full_jid;
    char *rx;               /* frame being assembled */
    size_t rx_len, rx_cap;
    bool rx_skip;           /* the frame being received is over the limit: skipping it */
    bool rx_skip_stanza;    /* ... and it is a stanza (counted by XEP-0198) */
    struct scram scram;
    bool scram_used, scram_verified;
    bool plain;
    lws_usec_t conn_started, last_rx, ready_since, ping_sent;
    bool ping_out;
    uint32_t ping_ctr;
    unsigned attempt;
    bool ready;

    /* outgoing */
    struct xml_buf xb;
    struct xs_fifo ctl;     /* nonzas and pre-SM frames: written first, never resent */
    struct xs_fifo out;     /* counted stanzas (SM) and messages: written once online */
    bool close_pending;     /* </close> goes out when both queues are empty */
    unsigned char *wbuf;    /* LWS_PRE + a copy of a frame kept for resending */
    size_t wcap;
    unsigned since_r;       /* stanzas written since the last <r/> */
    bool need_dm_ping;

    /* XEP-0198 */
    enum sm_state sm;
    char *previd;           /* resumable stream id, NULL if none */
    uint32_t in_h;          /* inbound stanzas handled */
    uint32_t acked_h;       /* our stanzas the server acknowledged */
    struct xs_fifo unacked; /* written, counted, not yet acknowledged */

    struct inflight inflight[XMPP_SEND_WINDOW];
    size_t n_inflight;
    uint16_t islot[INFLIGHT_SLOTS];

    struct room *rooms;
    struct room **rbucket;  /* rooms by name (a hash of the lower-case name) */
    size_t n_rbuckets;      /* a power of two, or 0 */
    size_t n_rooms;
    unsigned aff_active;    /* rooms whose affiliation lists are being read */

    struct iqtrack iq;      /* our iq requests waiting for their answer */
    struct chat_stats stats;

    lws_sorted_usec_list_t sul_ka, sul_reconnect, sul_close;
    bool ka_armed, reconnect_armed, close_armed;
};

static int xs_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

/* Static: lws may call the protocol (PROTOCOL_DESTROY) at context destruction, after the
 * session is gone, so the table must not live in the session. */
static const struct lws_protocols xs_protocols[] = {
    {"xmpp", xs_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- small helpers ---- */

static void arm(struct xmpp_session *s, lws_sorted_usec_list_t *sul, bool *armed,
                sul_cb_t cb, lws_usec_t us)
{
    lws_sul_schedule(s->ctx, 0, sul, cb, us);
    *armed = true;
}

static void disarm(lws_sorted_usec_list_t *sul, bool *armed)
{
    if (*armed)
        lws_sul_cancel(sul);
    *armed = false;
}

static void want_write(struct xmpp_session *s)
{
    if (s->wsi && (s->ctl.n || s->out.n || s->close_pending))
        lws_callback_on_writable(s->wsi);
}

/* Kills the connection asynchronously (safe inside and outside lws callbacks); the CLOSED
 * callback then does the bookkeeping. */
static void conn_fail(struct xmpp_session *s, const char *why)
{
    if (s->dead)
        return;
    s->dead = true;
    if (why)
        log_warn(MOD, "closing the connection: %s", why);
    if (s->wsi)
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Queues the frame just built in s->xb. Returns 0, or an error (and the connection is
 * killed if the queue overflowed). */
static int enqueue_built(struct xmpp_session *s, enum xs_frame_kind kind, const char *id,
                         bool group)
{
    if (s->ctl.bytes + s->out.bytes + xml_buf_len(&s->xb) > OUT_MAX_BYTES) {
        conn_fail(s, "outgoing queue overflow");
        return DBOT_ERR_TOOBIG;
    }
    const char *text = xml_buf_data(&s->xb);
    size_t len = xml_buf_len(&s->xb);
    size_t at = xs_client_ns_pos(text, len);
    struct xs_frame *f;
    if (at) {
        /* the builders leave stanzas unqualified: add the namespace (see session_util.h) */
        static const char ns[] = " xmlns='" XMLNS_CLIENT "'";
        f = xs_frame_new(kind, LWS_PRE, NULL, len + sizeof ns - 1, id);
        if (f) {
            unsigned char *t = xs_frame_text(f);
            memcpy(t, text, at);
            memcpy(t + at, ns, sizeof ns - 1);
            memcpy(t + at + sizeof ns - 1, text + at, len - at);
        }
    } else {
        f = xs_frame_new(kind, LWS_PRE, text, len, id);
    }
    if (!f) {
        log_error(MOD, "out of memory queueing a frame");
        conn_fail(s, NULL);
        return DBOT_ERR_NOMEM;
    }
    f->group = group;
    xs_fifo_push(kind == XS_NONZA ? &s->ctl : &s->out, f);
    want_write(s);
    return 0;
}

/* Builds with `rc` (a builder's result) and queues; logs a build failure once. */
static int send_built(struct xmpp_session *s, int rc, enum xs_frame_kind kind, const char *what)
{
    if (rc) {
        log_error(MOD, "cannot build %s: %s", what, dbot_strerror(rc));
        return rc;
    }
    return enqueue_built(s, kind, NULL, false);
}

/* Stanzas are counted by SM from the moment <enable/> is queued; before that (bind,
 * session) they are session-local and must not survive a lost connection. */
static enum xs_frame_kind stanza_kind(const struct xmpp_session *s)
{
    return s->sm == SM_OFF ? XS_NONZA : XS_STANZA;
}

/* Wipes the builder's memory (it held SASL data). */
static void wipe_xb(struct xmpp_session *s)
{
    char *m = xml_buf_mem(&s->xb);
    if (m)
        memset(m, 0, s->xb.cap);
}

/* ---- our requests ---- */

/* Registers a request to `to` (NULL: our own account; server: `to` is the server's domain)
 * for op; *out receives the entry, whose id goes on the wire. Logs a failure once. */
static int iq_begin(struct xmpp_session *s, const char *to, bool server, int op,
                    struct iq_pending **out)
{
    int rc = iqtrack_add(&s->iq, to, server, out);
    if (rc) {
        log_error(MOD, "cannot send a request: %s", rc == DBOT_ERR_BUSY
                  ? "too many requests without an answer" : dbot_strerror(rc));
        return rc;
    }
    (*out)->op = op;
    return 0;
}

/* Queues the iq just built for the request `p` (registered with iq_begin); when it cannot
 * be queued, the request is forgotten again. */
static int iq_send(struct xmpp_session *s, struct iq_pending *p, int rc,
                   enum xs_frame_kind kind, const char *what)
{
    char id[IQ_ID_LEN + 1];
    memcpy(id, p->id, sizeof id);
    rc = send_built(s, rc, kind, what);
    if (rc)
        iqtrack_drop(&s->iq, id);
    return rc;
}

/* An answer that is not one (see iqtrack.h): dropped and counted; the first ones and then
 * every power of two are logged, so a flood does not fill the log. */
static void reply_dropped(struct xmpp_session *s, const struct stanza *st, enum iq_match m)
{
    uint64_t n = ++s->stats.replies_dropped;
    if (n <= 4 || (n & (n - 1)) == 0)
        log_warn(MOD, "dropped %s from %s (id %.40s)%s; %llu so far",
                 m == IQ_FORGED ? "an answer to one of our requests that did not come from "
                                  "where the request went"
                                : "an answer to no request of ours",
                 st->from ? st->from : "the server", st->id ? st->id : "-",
                 m == IQ_FORGED ? " — the request keeps waiting" : "", (unsigned long long)n);
}

/* ---- in-flight ids ---- */

static uint32_t id_hash(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h;
}

#define SLOT_MASK (INFLIGHT_SLOTS - 1)

static struct inflight *inflight_find(struct xmpp_session *s, const char *id)
{
    if (!id)
        return NULL;
    uint32_t h = id_hash(id);
    for (uint32_t p = h & SLOT_MASK; s->islot[p]; p = (p + 1) & SLOT_MASK) {
        struct inflight *e = &s->inflight[s->islot[p] - 1];
        if (e->hash == h && e->id && strcmp(e->id, id) == 0)
            return e;
    }
    return NULL;
}

/* The slot that holds entry `k`. */
static uint32_t slot_of(struct xmpp_session *s, size_t k)
{
    uint32_t p = s->inflight[k].hash & SLOT_MASK;
    while (s->islot[p] != k + 1)
        p = (p + 1) & SLOT_MASK;
    return p;
}

/* Takes a new entry for `id` (owned from now on); the caller checked the window. */
static struct inflight *inflight_add(struct xmpp_session *s, char *id)
{
    size_t k = s->n_inflight++;
    struct inflight *e = &s->inflight[k];
    memset(e, 0, sizeof *e);
    e->id = id;
    e->hash = id_hash(id);
    uint32_t p = e->hash & SLOT_MASK;
    while (s->islot[p])
        p = (p + 1) & SLOT_MASK;
    s->islot[p] = (uint16_t)(k + 1);
    return e;
}

static void inflight_remove(struct xmpp_session *s, struct inflight *e)
{
    size_t k = (size_t)(e - s->inflight), last = s->n_inflight - 1;
    /* Empty its slot and shift back what probed past it. */
    uint32_t hole = slot_of(s, k);
    s->islot[hole] = 0;
    for (uint32_t q = (hole + 1) & SLOT_MASK; s->islot[q]; q = (q + 1) & SLOT_MASK) {
        uint32_t home = s->inflight[s->islot[q] - 1].hash & SLOT_MASK;
        bool stays = hole <= q ? (home > hole && home <= q) : (home > hole || home <= q);
        if (!stays) {
            s->islot[hole] = s->islot[q];
            s->islot[q] = 0;
            hole = q;
        }
    }
    free(e->id);
    if (k != last) {
        s->islot[slot_of(s, last)] = (uint16_t)(k + 1);
        *e = s->inflight[last];
    }
    memset(&s->inflight[last], 0, sizeof s->inflight[0]);
    s->n_inflight--;
}

static void inflight_clear(struct xmpp_session *s)
{
    for (size_t i = 0; i < s->n_inflight; i++)
        free(s->inflight[i].id);
    memset(s->inflight, 0, sizeof s->inflight);
    memset(s->islot, 0, sizeof s->islot);
    s->n_inflight = 0;
}

/* Confirms `id` once: later confirmations of the same id find nothing. */
static void confirm(struct xmpp_session *s, const char *id, const char *how)
{
    struct inflight *e = inflight_find(s, id);
    if (!e)
        return;
    /* Take the id out first, so a chat_send from inside the callback sees the free slot. */
    char *hold = e->id;
    int64_t latency = timeutil_mono_us() - e->queued_us;
    e->id = NULL;
    inflight_remove(s, e);
    log_debug(MOD, "message %s confirmed (%s) after %lld us", hold, how, (long long)latency);
    if (s->h.on_delivered)
        s->h.on_delivered(hold, latency, s->h.arg);
    free(hold);
}

/* ---- rooms ---- */

/* Rooms are found by name through a hash table (every inbound groupchat and presence looks
 * its room up: a scan of 5,000 rooms per stanza was most of the work of a busy session). */
static uint32_t name_hash(const char *name, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a over the lower-case name */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        h = (h ^ (c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c)) * 16777619u;
    }
    return h;
}

static struct room *room_find(struct xmpp_session *s, const char *name, size_t n)
{
    if (!s->n_rbuckets)
        return NULL;
    for (struct room *r = s->rbucket[name_hash(name, n) & (s->n_rbuckets - 1)]; r;
         r = r->hnext)
        if (strlen(r->name) == n && strncasecmp(r->name, name, n) == 0)
            return r;
    return NULL;
}

/* Adds r (its name set) to the table; grows it to keep two rooms per bucket at most. */
static int room_index(struct xmpp_session *s, struct room *r)
{
    if (s->n_rooms + 1 > 2 * s->n_rbuckets) {
        size_t nb = s->n_rbuckets ? 2 * s->n_rbuckets : 64;
        struct room **b = calloc(nb, sizeof *b);
        if (!b)
            return DBOT_ERR_NOMEM;
        for (size_t i = 0; i < s->n_rbuckets; i++) {
            struct room *q = s->rbucket[i];
            while (q) {
                struct room *next = q->hnext;
                size_t k = name_hash(q->name, strlen(q->name)) & (nb - 1);
                q->hnext = b[k];
                b[k] = q;
                q = next;
            }
        }
        free(s->rbucket);
        s->rbucket = b;
        s->n_rbuckets = nb;
    }
    size_t k = name_hash(r->name, strlen(r->name)) & (s->n_rbuckets - 1);
    r->hnext = s->rbucket[k];
    s->rbucket[k] = r;
    s->n_rooms++;
    return 0;
}

static struct room *room_by_name(struct xmpp_session *s, const char *name)
{
    return room_find(s, name, strlen(name));
}

/* The room whose JID is the bare part of `jid` (name@muc_service[/nick]). */
static struct room *room_by_jid(struct xmpp_session *s, const char *jid)
{
    if (!jid)
        return NULL;
    size_t bare = strcspn(jid, "/");
    const char *at = memchr(jid, '@', bare);
    if (!at)
        return NULL;
    size_t dlen = bare - (size_t)(at + 1 - jid);
    if (dlen != strlen(s->muc) || strncasecmp(at + 1, s->muc, dlen) != 0)
        return NULL;
    return room_find(s, jid, (size_t)(at - jid));
}

static void occupants_clear(struct room *r)
{
    struct occupant *o = r->occ;
    while (o) {
        struct occupant *n = o->next;
        free(o->nick);
        free(o->jid);
        free(o);
        o = n;
    }
    r->occ = NULL;
}

static struct occupant *occupant_find(struct room *r, const char *nick)
{
    for (struct occupant *o = r->occ; o; o = o->next)
        if (strcmp(o->nick, nick) == 0)
            return o;
    return NULL;
}

static void occupant_remove(struct room *r, const char *nick)
{
    for (struct occupant **p = &r->occ; *p; p = &(*p)->next) {
        if (strcmp((*p)->nick, nick) == 0) {
            struct occupant *o = *p;
            *p = o->next;
            free(o->nick);
            free(o->jid);
            free(o);
            return;
        }
    }
}

static void occupant_set(struct room *r, const char *nick, const char *bare)
{
    struct occupant *o = occupant_find(r, nick);
    if (o) {
        char *j = strdup(bare);
        if (j) {
            free(o->jid);
            o->jid = j;
        }
        return;
    }
    o = calloc(1, sizeof *o);
    if (!o)
        return;
    o->nick = strdup(nick);
    o->jid = strdup(bare);
    if (!o->nick || !o->jid) {
        free(o->nick);
        free(o->jid);
        free(o);
        return;
    }
    o->next = r->occ;
    r->occ = o;
}

static void have_clear(struct room *r)
{
    for (size_t i = 0; i < r->n_have; i++)
        free(r->have[i].jid);
    free(r->have);
    r->have = NULL;
    r->n_have = r->cap_have = 0;
}

static void members_free(char **m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(m[i]);
    free(m);
}

static void room_free(struct room *r)
{
    disarm(&r->sul_rejoin, &r->rejoin_armed);
    free(r->name);
    free(r->jid);
    free(r->title);
    members_free(r->members, r->n_members);
    have_clear(r);
    occupants_clear(r);
    members_free(r->refused, r->n_refused);
    free(r->nick);
    free(r);
}

/* A new stream (not a resumed one): nothing of the old room state is valid. */
static void room_set_nick(struct xmpp_session *s, struct room *r, const char *nick);

static void room_reset(struct xmpp_session *s, struct room *r)
{
    disarm(&r->sul_rejoin, &r->rejoin_armed);
    r->state = ROOM_OUT;
    r->rejoin_attempt = 0;
    r->aff_wait = 0;
    r->aff_queued = false;
    r->configured = false;
    have_clear(r);
    occupants_clear(r);
    room_set_nick(s, r, NULL); /* a new session asks for the configured nick first */
    r->nick_try = 0;
}

/* The bot's nickname in room r. */
static const char *room_nick(const struct xmpp_session *s, const struct room *r)
{
    return r->nick ? r->nick : s->nick;
}

/* Takes `nick` as the bot's nickname in r (NULL: the configured one again). */
static void room_set_nick(struct xmpp_session *s, struct room *r, const char *nick)
{
    char *n = NULL;
    if (nick && strcmp(nick, s->nick) != 0 && !(n = strdup(nick)))
        return; /* out of memory: keep the old one */
    free(r->nick);
    r->nick = n;
}

static void room_join(struct xmpp_session *s, struct room *r)
{
    disarm(&r->sul_rejoin, &r->rejoin_armed);
    r->state = ROOM_JOINING;
    r->configured = false;
    occupants_clear(r);
    int rc = xml_build_muc_join(&s->xb, r->jid, room_nick(s, r), NULL);
    if (send_built(s, rc, stanza_kind(s), "a room join") == 0)
        log_debug(MOD, "joining room %s", r->name);
}

static void maybe_ready(struct xmpp_session *s)
{
    if (s->ready || s->phase != P_ONLINE || s->dead)
        return;
    for (struct room *r = s->rooms; r; r = r->next)
        if (r->state == ROOM_OUT || r->state == ROOM_JOINING)
            return;
    s->ready = true;
    s->ready_since = lws_now_usecs();
    log_info(MOD, "ready as %s", s->full_jid ? s->full_jid : s->bare);
    if (s->h.on_ready)
        s->h.on_ready(s->h.arg);
}

static void rejoin_fire(lws_sorted_usec_list_t *sul)
{
    struct room *r = lws_container_of(sul, struct room, sul_rejoin);
    struct xmpp_session *s = r->s;
    r->rejoin_armed = false;
    /* offline: go_online() joins it with the others */
    if (r->state == ROOM_FAILED && s->phase == P_ONLINE && !s->dead && !s->stopping) {
        log_info(MOD, "rejoining room %s", r->name);
        room_join(s, r);
    }
}

static void aff_end(struct xmpp_session *s, struct room *r, int value);

/*
 * The bot is not in room `r` (any more) although the directory wants it there: a refused
 * join, a kick, a ban, a removed membership, a destroyed room. It tries again after a
 * backoff (1 s doubling to 30 s with jitter, like the reconnects; the count restarts once a
 * join held for a minute), so a room that was only kicked from is back within a second or
 * two, and one that keeps refusing costs a join every 30 s. Meanwhile its messages are
 * refused with DBOT_ERR_UNAVAILABLE: they wait upstream and do not hold the others up.
 */
static void room_lost(struct xmpp_session *s, struct room *r)
{
    lws_usec_t now = lws_now_usecs();
    if (r->joined_at && now - r->joined_at >= STABLE_US)
        r->rejoin_attempt = 0;
    r->joined_at = 0;
    r->state = ROOM_FAILED;
    r->aff_queued = false;
    aff_end(s, r, 0);
    r->configured = false;
    occupants_clear(r);
    uint32_t rnd = 0;
    lws_get_random(s->ctx, &rnd, sizeof rnd);
    uint32_t ms = xs_backoff_ms(r->rejoin_attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS,
                                BACKOFF_JITTER_PCT, rnd);
    if (r->rejoin_attempt < 16)
        r->rejoin_attempt++;
    log_info(MOD, "room %s: rejoining in %u ms", r->name, ms);
    disarm(&r->sul_rejoin, &r->rejoin_armed);
    arm(s, &r->sul_rejoin, &r->rejoin_armed, rejoin_fire, (lws_usec_t)ms * US_PER_MS);
}

/*
 * Room configuration, in two steps: the bot asks for the room's owner form and submits only
 * the fields that form lists (`fields`, FORMF_*; 0 when the form could not be read: then all
 * of them, as servers that ignore unknown fields take it). Servers differ: ejabberd answers
 * bad-request to a field it does not know, Prosody ignores one.
 */
static void room_config(struct xmpp_session *s, struct room *r)
{
    struct iq_pending *p;
    if (iq_begin(s, r->jid, false, OP_ROOM_FORM, &p))
        return;
    p->room = r;
    r->configured = true;
    iq_send(s, p, xml_build_muc_config_get(&s->xb, p->id, r->jid), stanza_kind(s),
            "a room form request");
}

/* listed: submit only `fields` (FORMF_*, what the server's form lists); false: the form
 * could not be read, submit them all */
static void room_config_submit(struct xmpp_session *s, struct room *r, bool listed,
                               unsigned fields)
{
    struct xml_room_config rc;
    struct iq_pending *p;
    xml_room_config_default(&rc);
    rc.name = r->title;
    rc.only_listed = listed;
    rc.fields = fields;
    if (iq_begin(s, r->jid, false, OP_ROOM_CONFIG, &p))
        return;
    p->room = r;
    int err = xml_build_muc_config_submit(&s->xb, p->id, r->jid, &rc);
    if (iq_send(s, p, err, stanza_kind(s), "a room configuration") == 0)
        log_info(MOD, "configuring room %s (persistent, members-only, non-anonymous)", r->name);
}

static void room_aff_sync(struct xmpp_session *s, struct room *r);

/* Room r's sync is over (done, failed or given up: aff_wait becomes `value`, 0 or -1); its
 * place goes to the next room waiting for one. */
static void aff_end(struct xmpp_session *s, struct room *r, int value)
{
    if (r->aff_wait > 0 && s->aff_active > 0)
        s->aff_active--;
    r->aff_wait = value;
    for (struct room *q = s->rooms; q && s->aff_active < AFF_CONCURRENT; q = q->next) {
        if (q->aff_queued && q->state == ROOM_JOINED) {
            q->aff_queued = false;
            room_aff_sync(s, q);
        }
    }
}

static void room_aff_sync(struct xmpp_session *s, struct room *r)
{
    static const char *const lists[] = {"member", "admin", "owner"};
    if (r->aff_wait <= 0) {
        if (s->aff_active >= AFF_CONCURRENT) {
            r->aff_queued = true; /* aff_end() starts it */
            return;
        }
        s->aff_active++;
    }
    r->gen++;
    have_clear(r);
    r->aff_wait = 3;
    for (size_t i = 0; i < 3; i++) {
        struct iq_pending *p;
        if (iq_begin(s, r->jid, false, OP_AFF_LIST, &p)) {
            aff_end(s, r, -1);
            return;
        }
        p->room = r;
        p->gen = r->gen;
        p->aff = lists[i][0] == 'm' ? 'm' : lists[i][0] == 'a' ? 'a' : 'o';
        int rc = xml_build_muc_affiliation_list(&s->xb, p->id, r->jid, lists[i]);
        if (iq_send(s, p, rc, stanza_kind(s), "an affiliation list request")) {
            aff_end(s, r, -1);
            return;
        }
    }
}

static bool have_has(const struct room *r, const char *jid)
{
    for (size_t i = 0; i < r->n_have; i++)
        if (strcmp(r->have[i].jid, jid) == 0)
            return true;
    return false;
}

static bool desired_has(const struct room *r, const char *jid)
{
    for (size_t i = 0; i < r->n_members; i++)
        if (strcmp(r->members[i], jid) == 0)
            return true;
    return false;
}

static bool refused_has(const struct room *r, const char *jid)
{
    for (size_t i = 0; i < r->n_refused; i++)
        if (strcmp(r->refused[i], jid) == 0)
            return true;
    return false;
}

/* One affiliation change, remembered with the JID it is about (see on_aff_set). */
static int room_aff_set(struct xmpp_session *s, struct room *r, const char *jid,
                        const char *aff)
{
    struct iq_pending *p;
    int rc = iq_begin(s, r->jid, false, OP_AFF_SET, &p);
    if (rc)
        return rc;
    p->room = r;
    if (!(p->arg = strdup(jid))) {
        iqtrack_drop(&s->iq, p->id);
        return DBOT_ERR_NOMEM;
    }
    rc = xml_build_muc_affiliation(&s->xb, p->id, r->jid, jid, aff, NULL);
    return iq_send(s, p, rc, stanza_kind(s), "an affiliation change");
}

/* All three lists are in: make the member list equal the spec. Owners, admins and the bot
 * itself are never touched, nor anyone the server refused to make a member before. */
static void room_aff_apply(struct xmpp_session *s, struct room *r)
{
    size_t added = 0, removed = 0;
    for (size_t i = 0; i < r->n_members; i++) {
        const char *m = r->members[i];
        if (strcmp(m, s->bare) == 0 || have_has(r, m) || refused_has(r, m))
            continue;
        if (room_aff_set(s, r, m, "member"))
            return;
        int rc = xml_build_muc_invite(&s->xb, NULL, r->jid, m, r->title);
        if (send_built(s, rc, stanza_kind(s), "an invitation"))
            return;
        added++;
    }
    for (size_t i = 0; i < r->n_have; i++) {
        const struct affil *a = &r->have[i];
        if (a->aff != 'm' || strcmp(a->jid, s->bare) == 0 || desired_has(r, a->jid))
            continue;
        if (room_aff_set(s, r, a->jid, "none"))
            return;
        removed++;
    }
    if (added || removed)
        log_info(MOD, "room %s: %zu member(s) added and invited, %zu removed", r->name, added,
                 removed);
    else
        log_debug(MOD, "room %s: member list already in step", r->name);
}

/* ---- session state ---- */

/* A fresh stream replaces the lost one: forget everything in flight (the engine resends it
 * after on_ready, same ids) and every room's join. */
static void session_forget(struct xmpp_session *s)
{
    xs_fifo_clear(&s->ctl);
    xs_fifo_clear(&s->out);
    xs_fifo_clear(&s->unacked);
    inflight_clear(s);
    iqtrack_clear(&s->iq);
    for (struct room *r = s->rooms; r; r = r->next)
        room_reset(s, r);
    s->aff_active = 0;
    free(s->previd);
    s->previd = NULL;
    s->sm = SM_OFF;
    s->in_h = s->acked_h = 0;
    s->since_r = 0;
    s->need_dm_ping = false;
}

static void ka_tick(lws_sorted_usec_list_t *sul);
static void reconnect_fire(lws_sorted_usec_list_t *sul);
static void close_fire(lws_sorted_usec_list_t *sul);

static void schedule_reconnect(struct xmpp_session *s)
{
    uint32_t rnd = 0;
    lws_get_random(s->ctx, &rnd, sizeof rnd);
    uint32_t ms = xs_backoff_ms(s->attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS, BACKOFF_JITTER_PCT,
                                rnd);
    if (s->attempt < 16)
        s->attempt++;
    log_info(MOD, "reconnecting in %u ms", ms);
    disarm(&s->sul_reconnect, &s->reconnect_armed);
    arm(s, &s->sul_reconnect, &s->reconnect_armed, reconnect_fire, (lws_usec_t)ms * US_PER_MS);
}

/* The connection is gone (closed, failed to connect, or killed). */
static void conn_lost(struct xmpp_session *s)
{
    if (s->phase == P_IDLE)
        return;
    bool was_online = s->phase == P_ONLINE;
    s->phase = P_IDLE;
    s->wsi = NULL;
    s->dead = false;
    s->rx_len = 0;
    s->rx_skip = s->rx_skip_stanza = false;
    s->ping_out = false;
    if (s->scram_used)
        scram_cleanup(&s->scram);
    s->scram_used = false;
    disarm(&s->sul_ka, &s->ka_armed);
    disarm(&s->sul_close, &s->close_armed);

    /* Nonzas and pre-SM frames belong to the dead stream. Counted stanzas not yet written
     * stay queued for a resumed stream; a new stream clears them anyway. */
    xs_fifo_clear(&s->ctl);
    s->close_pending = false;
    if (!s->previd)
        session_forget(s);

    bool was_ready = s->ready;
    s->ready = false;
    if (was_online || was_ready)
        log_warn(MOD, "session down%s", s->previd ? " (resumable)" : "");
    if (was_ready && s->h.on_down)
        s->h.on_down(s->h.arg);
    if (!s->stopping)
        schedule_reconnect(s);
}

static void start_connect(struct xmpp_session *s)
{
    if (s->stopping || s->phase != P_IDLE)
        return;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = s->ctx;
    ci.vhost = s->vhost;
    ci.address = s->host;
    ci.port = s->port;
    ci.path = s->path;
    ci.host = s->host;
    ci.origin = s->host;
    ci.protocol = "xmpp";
    ci.local_protocol_name = "xmpp";
    ci.ssl_connection = s->tls ? LCCSCF_USE_SSL : 0;
    ci.opaque_user_data = s;
    ci.pwsi = &s->wsi;
    s->phase = P_CONNECTING;
    s->dead = false;
    s->conn_started = lws_now_usecs();
    log_info(MOD, "connecting to %s://%s:%d%s", s->tls ? "wss" : "ws", s->host, s->port,
             s->path);
    struct lws *w = lws_client_connect_via_info(&ci);
    if (!w && s->phase == P_CONNECTING) {
        log_warn(MOD, "cannot start a connection to %s:%d", s->host, s->port);
        s->wsi = NULL;
        conn_lost(s);
        return;
    }
    if (w && !s->ka_armed)
        arm(s, &s->sul_ka, &s->ka_armed, ka_tick, KA_TICK_US);
}

static void reconnect_fire(lws_sorted_usec_list_t *sul)
{
    struct xmpp_session *s = lws_container_of(sul, struct xmpp_session, sul_reconnect);
    s->reconnect_armed = false;
    start_connect(s);
}

static void close_fire(lws_sorted_usec_list_t *sul)
{
    struct xmpp_session *s = lws_container_of(sul, struct xmpp_session, sul_close);
    s->close_armed = false;
    if (s->wsi)
        conn_fail(s, "the server did not close the stream in time");
}

static void send_ping(struct xmpp_session *s, int op, uint32_t seq)
{
    struct iq_pending *p;
    if (iq_begin(s, s->domain, true, op, &p))
        return;
    p->seq = seq;
    int rc = xml_build_ping(&s->xb, p->id, s->domain);
    iq_send(s, p, rc, stanza_kind(s), "a ping");
}

/*
 * Confirmations falling far behind the sends: the server takes our messages more slowly
 * than we hand them over. The usual cause is a rate limit on the bot's account (ejabberd's
 * default c2s_shaper holds an ordinary user to 3,000 bytes/s, about 5 messages/s); nothing
 * the bot does about it helps, so it says so once, loudly, and in the stats (a gauge), and
 * again only after it caught up.
 */
static void check_behind(struct xmpp_session *s)
{
    int64_t now = timeutil_mono_us(), oldest = 0;
    for (size_t i = 0; i < s->n_inflight; i++)
        if (now - s->inflight[i].queued_us > oldest)
            oldest = now - s->inflight[i].queued_us;
    if (!s->stats.behind && s->ready && oldest >= BEHIND_US) {
        s->stats.behind = true;
        log_warn(MOD, "confirmations are falling behind: %zu message(s) unconfirmed, the oldest "
                      "for %lld s. The server takes the bot's messages slowly: is its account "
                      "rate-limited (ejabberd: exempt it from c2s_shaper, see README)?",
                 s->n_inflight, (long long)(oldest / US_PER_S));
    } else if (s->stats.behind && oldest < CAUGHT_UP_US) {
        s->stats.behind = false;
        log_info(MOD, "confirmations caught up with the sends");
    }
}

static void ka_tick(lws_sorted_usec_list_t *sul)
{
    struct xmpp_session *s = lws_container_of(sul, struct xmpp_session, sul_ka);
    s->ka_armed = false;
    if (!s->wsi || s->phase == P_IDLE)
        return;
    lws_usec_t now = lws_now_usecs();
    if (s->phase < P_ONLINE && now - s->conn_started > NEGOTIATE_US) {
        conn_fail(s, "no session within 30 s of connecting");
    } else if (s->ping_out && now - s->ping_sent > KA_TIMEOUT_US) {
        conn_fail(s, "no answer to a keepalive ping within 20 s");
    } else if (s->phase == P_ONLINE && !s->ping_out && now - s->last_rx >= KA_IDLE_US) {
        s->ping_out = true;
        s->ping_sent = now;
        send_ping(s, OP_KEEPALIVE, ++s->ping_ctr);
    }
    if (s->ready && s->attempt && now - s->ready_since >= STABLE_US)
        s->attempt = 0;
    check_behind(s);
    arm(s, &s->sul_ka, &s->ka_armed, ka_tick, KA_TICK_US);
}

/* Bound or resumed: the stream carries stanzas. */
static void go_online(struct xmpp_session *s, bool resumed)
{
    s->phase = P_ONLINE;
    if (!resumed) {
        if (s->features & FEATURE_SM) {
            int rc = xml_build_sm_enable(&s->xb);
            if (send_built(s, rc, XS_NONZA, "SM enable") == 0) {
                s->sm = SM_ENABLING;
                s->acked_h = 0;
            }
        }
        int rc = xml_build_presence(&s->xb);
        send_built(s, rc, stanza_kind(s), "the initial presence");
    }
    for (struct room *r = s->rooms; r; r = r->next) {
        if (r->state == ROOM_OUT || (r->state == ROOM_FAILED && !r->rejoin_armed))
            room_join(s, r);
    }
    maybe_ready(s);
}

/* ---- outgoing bookkeeping after a write ---- */

static void after_write(struct xmpp_session *s, struct xs_frame *f)
{
    if (f->kind != XS_NONZA && s->sm != SM_OFF) {
        f->counted = true;
        xs_fifo_push(&s->unacked, f);
        s->since_r++;
    } else {
        if (f->kind == XS_MSG && !f->group) {
            struct inflight *e = inflight_find(s, f->id);
            if (e && !e->dm_wait) {
                e->dm_wait = true;
                s->need_dm_ping = true;
            }
        }
        if (f->kind == XS_NONZA)
            memset(xs_frame_text(f), 0, f->len); /* may have been SASL data */
        xs_frame_free(f);
    }
    if (s->phase != P_ONLINE)
        return;
    if (s->sm != SM_OFF && s->since_r && (s->out.n == 0 || s->since_r >= ACK_EVERY)) {
        s->since_r = 0;
        send_built(s, xml_build_sm_request(&s->xb), XS_NONZA, "an ack request");
    }
    if (s->need_dm_ping && s->out.n == 0) {
        s->need_dm_ping = false;
        uint32_t seq = ++s->ping_ctr;
        for (size_t i = 0; i < s->n_inflight; i++)
            if (s->inflight[i].dm_wait && !s->inflight[i].ping_seq)
                s->inflight[i].ping_seq = seq;
        send_ping(s, OP_DM_PING, seq);
    }
}

/* ---- inbound handlers ---- */

static void handle_sm_ack(struct xmpp_session *s, uint32_t h)
{
    bool bogus;
    uint32_t n = xs_sm_newly_acked(s->acked_h, h, s->unacked.n, &bogus);
    if (bogus)
        log_warn(MOD, "server acknowledged %u stanzas, more than the %zu it was sent",
                 (unsigned)(h - s->acked_h), s->unacked.n);
    s->acked_h += n;
    if (bogus)
        s->acked_h = h;
    for (uint32_t i = 0; i < n; i++) {
        struct xs_frame *f = xs_fifo_pop(&s->unacked);
        /* The server has a groupchat; only the room's echo says the room took it (a room
         * the bot was just kicked from bounces it). */
        if (f->kind == XS_MSG && !f->group)
            confirm(s, f->id, "sm ack");
        xs_frame_free(f);
    }
}

static int sasl_start(struct xmpp_session *s, const struct stanza *st)
{
    const char *pw = s->cfg->chat.xmpp.password;
    struct dbot_diag diag = {{0}};
    char *b64 = NULL;
    const char *mech;
    int rc;
    if (!pw || !*pw) {
        log_error(MOD, "chat.xmpp.password is empty");
        return DBOT_ERR_INVALID;
    }
    if (st->mechanisms & (MECH_SCRAM_SHA_256 | MECH_SCRAM_SHA_1)) {
        enum scram_hash hash = (st->mechanisms & MECH_SCRAM_SHA_256) ? SCRAM_SHA_256 : SCRAM_SHA_1;
        rc = scram_init(&s->scram, hash, s->user, pw, NULL, &diag);
        if (rc) {
            log_error(MOD, "SASL: %s", diag.msg);
            return rc;
        }
        s->scram_used = true;
        s->scram_verified = false;
        s->plain = false;
        rc = scram_client_first(&s->scram, &b64, &diag);
        if (rc) {
            log_error(MOD, "SASL: %s", diag.msg);
            return rc;
        }
        mech = scram_mechanism(hash);
    } else if ((st->mechanisms & MECH_PLAIN) && s->cfg->chat.xmpp.allow_plain) {
        rc = scram_plain_initial(s->user, pw, &b64);
        if (rc) {
            log_error(MOD, "SASL PLAIN: %s", dbot_strerror(rc));
            return rc;
        }
        s->plain = true;
        mech = "PLAIN";
    } else {
        log_error(MOD, "no usable SASL mechanism (server offers: %s%s)",
                  st->mechanisms_text ? st->mechanisms_text : "none",
                  (st->mechanisms & MECH_PLAIN) ? "; PLAIN needs chat.xmpp.allow_plain" : "");
        return DBOT_ERR_DENIED;
    }
    rc = xml_build_sasl_auth(&s->xb, mech, b64);
    memset(b64, 0, strlen(b64));
    free(b64);
    if (!rc)
        rc = enqueue_built(s, XS_NONZA, NULL, false);
    wipe_xb(s);
    if (rc)
        return rc;
    log_info(MOD, "authenticating as %s with %s", s->bare, mech);
    s->phase = P_SASL;
    return 0;
}

static void start_bind(struct xmpp_session *s);

static void handle_features(struct xmpp_session *s, const struct stanza *st)
{
    if (s->phase == P_PRE_AUTH) {
        if (!(st->features & FEATURE_SASL)) {
            conn_fail(s, "the server offers no SASL authentication");
            return;
        }
        if (sasl_start(s, st))
            conn_fail(s, NULL);
        return;
    }
    if (s->phase != P_POST_AUTH) {
        log_debug(MOD, "ignoring stream features in phase %d", (int)s->phase);
        return;
    }
    s->features = st->features;
    if ((st->features & FEATURE_SM) && s->previd) {
        int rc = xml_build_sm_resume(&s->xb, s->previd, s->in_h);
        if (send_built(s, rc, XS_NONZA, "SM resume") == 0) {
            s->phase = P_RESUMING;
            return;
        }
    }
    start_bind(s);
}

/* A new session on this stream: forget the old one, bind a fresh resource. */
static void start_bind(struct xmpp_session *s)
{
    if (s->previd)
        log_info(MOD, "stream %s cannot be resumed: starting a new session", s->previd);
    session_forget(s);
    if (!(s->features & FEATURE_BIND)) {
        conn_fail(s, "the server offers no resource binding");
        return;
    }
    unsigned char rnd[4] = {0};
    lws_get_random(s->ctx, rnd, sizeof rnd);
    char res[32];
    snprintf(res, sizeof res, "dealerbot-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
    struct iq_pending *p;
    if (iq_begin(s, NULL, false, OP_BIND, &p)) {
        conn_fail(s, NULL);
        return;
    }
    if (iq_send(s, p, xml_build_bind(&s->xb, p->id, res), XS_NONZA, "bind") == 0)
        s->phase = P_BIND;
}

static void handle_sasl(struct xmpp_session *s, const struct stanza *st)
{
    struct dbot_diag diag = {{0}};
    if (s->phase != P_SASL) {
        conn_fail(s, "unexpected SASL element");
        return;
    }
    if (st->kind == STANZA_SASL_FAILURE) {
        log_error(MOD, "authentication as %s failed: %s%s%s", s->bare,
                  st->condition ? st->condition : "unknown", st->text ? ": " : "",
                  st->text ? st->text : "");
        conn_fail(s, NULL);
        return;
    }
    if (st->kind == STANZA_SASL_CHALLENGE) {
        if (!s->scram_used) {
            conn_fail(s, "unexpected SASL challenge");
            return;
        }
        int rc;
        if (s->scram.state == SCRAM_SENT_FIRST) {
            char *b64 = NULL;
            rc = scram_client_final(&s->scram, st->sasl_data ? st->sasl_data : "", &b64, &diag);
            if (!rc) {
                rc = xml_build_sasl_response(&s->xb, b64);
                memset(b64, 0, strlen(b64));
                free(b64);
                if (!rc)
                    rc = enqueue_built(s, XS_NONZA, NULL, false);
                wipe_xb(s);
            }
        } else {
            /* Some servers send the server-final message as a last challenge. */
            rc = scram_server_final(&s->scram, st->sasl_data, &diag);
            if (!rc) {
                s->scram_verified = true;
                rc = send_built(s, xml_build_sasl_response(&s->xb, ""), XS_NONZA,
                                "a SASL response");
            }
        }
        if (rc) {
            log_error(MOD, "SASL: %s", diag.msg[0] ? diag.msg : dbot_strerror(rc));
            conn_fail(s, NULL);
        }
        return;
    }
    /* success */
    if (s->scram_used && !s->scram_verified) {
        int rc = scram_server_final(&s->scram, st->sasl_data, &diag);
        if (rc) {
            log_error(MOD, "the server could not prove it knows the password: %s", diag.msg);
            conn_fail(s, NULL);
            return;
        }
    }
    if (s->scram_used)
        scram_cleanup(&s->scram);
    s->scram_used = false;
    log_info(MOD, "authenticated as %s%s", s->bare, s->plain ? " (PLAIN)" : "");
    if (send_built(s, xml_build_open(&s->xb, s->domain), XS_NONZA, "the stream restart") == 0)
        s->phase = P_POST_AUTH;
}

static void handle_sm(struct xmpp_session *s, const struct stanza *st)
{
    switch (st->kind) {
    case STANZA_SM_ENABLED:
        s->sm = SM_ON;
        s->in_h = 0;
        free(s->previd);
        s->previd = (st->sm_resume && st->sm_id) ? strdup(st->sm_id) : NULL;
        log_info(MOD, "stream management on%s", s->previd ? " (resumable)" : "");
        break;
    case STANZA_SM_RESUMED: {
        if (s->phase != P_RESUMING) {
            conn_fail(s, "unexpected <resumed/>");
            return;
        }
        handle_sm_ack(s, st->sm_h);
        size_t n = s->unacked.n;
        /* Rewrite what the server did not get, before anything queued later. */
        struct xs_fifo again = s->unacked;
        memset(&s->unacked, 0, sizeof s->unacked);
        /* counted frames go back with counted=true: after_write re-adds them to unacked,
         * and acked_h + unacked.n stays the number sent */
        xs_fifo_prepend(&s->out, &again);
        s->sm = SM_ON;
        log_info(MOD, "stream resumed; %zu stanza(s) to send again", n);
        go_online(s, true);
        want_write(s);
        break;
    }
    case STANZA_SM_FAILED:
        if (s->phase == P_RESUMING) {
            log_info(MOD, "stream resumption refused (%s): starting a new session",
                     st->condition ? st->condition : "no reason");
            free(s->previd);
            s->previd = NULL;
            s->phase = P_POST_AUTH;
            start_bind(s);
            return;
        }
        /* <enable/> refused: no SM on this stream. */
        log_warn(MOD, "stream management refused (%s); confirming by echo and ping",
                 st->condition ? st->condition : "no reason");
        s->sm = SM_OFF;
        free(s->previd);
        s->previd = NULL;
        {
            struct xs_frame *f;
            while ((f = xs_fifo_pop(&s->unacked))) {
                if (f->kind == XS_MSG && !f->group) {
                    struct inflight *e = inflight_find(s, f->id);
                    if (e)
                        e->dm_wait = true, s->need_dm_ping = true;
                }
                xs_frame_free(f);
            }
            if (s->need_dm_ping) {
                s->need_dm_ping = false;
                uint32_t seq = ++s->ping_ctr;
                for (size_t i = 0; i < s->n_inflight; i++)
                    if (s->inflight[i].dm_wait && !s->inflight[i].ping_seq)
                        s->inflight[i].ping_seq = seq;
                send_ping(s, OP_DM_PING, seq);
            }
        }
        break;
    case STANZA_SM_ACK:
        handle_sm_ack(s, st->sm_h);
        break;
    case STANZA_SM_REQUEST:
        if (s->sm == SM_ON)
            send_built(s, xml_build_sm_ack(&s->xb, s->in_h), XS_NONZA, "an ack");
        break;
    default:
        break;
    }
}

/* The answer to an affiliation change. The server refuses some changes for good: a server
 * admin is an owner of every room and cannot be made a mere member (not-allowed). Such a
 * person is named once and left alone in that room from then on, instead of being asked
 * for again on every sync of every session. */
static void on_aff_set(struct room *r, const struct stanza *st,
                       const char *jid)
{
    if (st->type != STYPE_ERROR)
        return;
    const char *cond = st->condition ? st->condition : "unknown error";
    if (jid && (strcmp(cond, "not-allowed") == 0 || strcmp(cond, "forbidden") == 0) &&
        !refused_has(r, jid)) {
        char **n = realloc(r->refused, (r->n_refused + 1) * sizeof *n);
        char *j = strdup(jid);
        if (n)
            r->refused = n;
        if (n && j) {
            r->refused[r->n_refused++] = j;
            log_warn(MOD, "room %s: the server refuses to change the affiliation of %s (%s; "
                          "a server admin is an owner of every room): not asked again",
                     r->name, jid, cond);
            return;
        }
        free(j);
    }
    log_warn(MOD, "room %s: affiliation change for %s refused: %s", r->name, jid ? jid : "?",
             cond);
}

/* One of the three affiliation lists of the current sync of room r. */
static void on_aff_list(struct xmpp_session *s, struct room *r, const struct stanza *st,
                        unsigned gen, char aff)
{
    if (gen != r->gen || r->aff_wait <= 0)
        return; /* of an earlier sync */
    if (st->type == STYPE_ERROR) {
        log_warn(MOD, "room %s: cannot list its affiliations (%s); is the bot its owner?",
                 r->name, st->condition ? st->condition : "unknown error");
        aff_end(s, r, -1);
        return;
    }
    for (size_t i = 0; i < st->n_items; i++) {
        char bare[JID_MAX];
        if (xs_jid_bare(st->items[i].jid, bare, sizeof bare))
            continue;
        if (r->n_have == r->cap_have) {
            size_t ncap = r->cap_have ? 2 * r->cap_have : 16;
            struct affil *n = realloc(r->have, ncap * sizeof *n);
            if (!n) {
                aff_end(s, r, -1);
                return;
            }
            r->have = n;
            r->cap_have = ncap;
        }
        char *j = strdup(bare);
        if (!j) {
            aff_end(s, r, -1);
            return;
        }
        r->have[r->n_have].jid = j;
        r->have[r->n_have].aff = aff;
        r->n_have++;
    }
    if (r->aff_wait == 1) {
        room_aff_apply(s, r);
        aff_end(s, r, 0);
    } else {
        r->aff_wait--;
    }
}

/* Queues the answer subscription.c or adhoc.c just built in s->xb. */
static int emit_answer(void *arg)
{
    struct xmpp_session *s = arg;
    return send_built(s, 0, stanza_kind(s), "an answer");
}

/* Every direct message written before ping `seq` has been processed by the server. */
static void on_dm_ping(struct xmpp_session *s, uint32_t seq)
{
    for (size_t i = 0; i < s->n_inflight;) {
        struct inflight *e = &s->inflight[i];
        if (e->dm_wait && e->ping_seq && (int32_t)(seq - e->ping_seq) >= 0) {
            size_t before = s->n_inflight;
            confirm(s, e->id, "ping after it");
            if (s->n_inflight < before)
                continue; /* slot i now holds another entry */
        }
        i++;
    }
}

static void on_bound(struct xmpp_session *s, const struct stanza *st)
{
    if (s->phase != P_BIND)
        return;
    if (st->type != STYPE_RESULT || !st->bind_jid) {
        log_error(MOD, "resource binding failed: %s",
                  st->condition ? st->condition : "no JID in the result");
        conn_fail(s, NULL);
        return;
    }
    free(s->full_jid);
    s->full_jid = strdup(st->bind_jid);
    if ((s->features & FEATURE_SESSION) && !(s->features & FEATURE_SESSION_OPTIONAL)) {
        struct iq_pending *p;
        if (iq_begin(s, NULL, false, OP_SESSION, &p)) {
            conn_fail(s, NULL);
            return;
        }
        if (iq_send(s, p, xml_build_session(&s->xb, p->id), XS_NONZA, "session") == 0)
            s->phase = P_SESSION;
        return;
    }
    go_online(s, false);
}

/*
 * An iq. Requests (get/set) from anyone are answered: a ping with a result, anything else
 * with service-unavailable. A result or error is an answer only if it answers one of our
 * requests AND comes from where that request went (iqtrack.h): a room occupant can send the
 * bot anything, with any id, through the room or directly, and must not be able to decide
 * a room's member list or confirm a message.
 */
static void handle_iq(struct xmpp_session *s, const struct stanza *st)
{
    if (xs_adhoc_handle(st, s->full_jid, &s->h, &s->xb, emit_answer, s))
        return;
    if (st->type == STYPE_GET || st->type == STYPE_SET) {
        int rc;
        if (st->type == STYPE_GET && st->payload == PAYLOAD_PING)
            rc = xml_build_iq_result(&s->xb, st->id, st->from);
        else
            rc = xml_build_iq_error(&s->xb, st->id, st->from, "cancel", "service-unavailable");
        send_built(s, rc, stanza_kind(s), "an iq answer");
        return;
    }
    if (st->type != STYPE_RESULT && st->type != STYPE_ERROR)
        return;
    struct iq_pending p;
    enum iq_match m = iqtrack_take(&s->iq, st->id, st->from, s->bare, &p);
    if (m != IQ_MATCH) {
        reply_dropped(s, st, m);
        return;
    }
    struct room *r = p.room;
    switch (p.op) {
    case OP_BIND:
        on_bound(s, st);
        break;
    case OP_SESSION:
        if (s->phase != P_SESSION)
            break;
        if (st->type != STYPE_RESULT) {
            log_error(MOD, "session establishment failed: %s",
                      st->condition ? st->condition : "error");
            conn_fail(s, NULL);
            break;
        }
        go_online(s, false);
        break;
    case OP_KEEPALIVE:
        s->ping_out = false;
        break;
    case OP_DM_PING:
        on_dm_ping(s, p.seq);
        break;
    case OP_ROOM_FORM: {
        unsigned need = FORMF_PERSISTENT | FORMF_MEMBERSONLY | FORMF_WHOIS;
        if (st->type == STYPE_ERROR || !st->has_owner_form) {
            log_warn(MOD, "room %s: cannot read its configuration form (%s); submitting the "
                          "usual fields", r->name, st->condition ? st->condition : "no form");
            room_config_submit(s, r, false, 0);
        } else {
            if ((st->form_fields & need) != need)
                log_warn(MOD, "room %s: the server's form lacks some of persistent, "
                              "members-only, non-anonymous: the room may not be private",
                         r->name);
            room_config_submit(s, r, true, st->form_fields);
        }
        break;
    }
    case OP_ROOM_CONFIG:
        if (st->type == STYPE_ERROR)
            log_warn(MOD, "room %s: configuration refused: %s", r->name,
                     st->condition ? st->condition : "unknown error");
        else
            log_debug(MOD, "room %s configured", r->name);
        break;
    case OP_AFF_LIST:
        on_aff_list(s, r, st, p.gen, p.aff);
        break;
    case OP_AFF_SET:
        on_aff_set(r, st, p.arg);
        break;
    default:
        break;
    }
    iq_pending_cleanup(&p);
}

#define NICK_TRIES 20 /* "<nick>-2" ... "<nick>-20", then the backoff of a refused join */

/*
 * Our join of r was refused. A nickname someone else holds (conflict, 409) is met with the
 * next one at once ("dealerbot-2", "-3", ...): an occupant squatting the bot's nickname must
 * not keep a dealer's cards out of its room. Anything else (not a member, banned, ...) waits
 * for the rejoin backoff.
 */
static void join_refused(struct xmpp_session *s, struct room *r, const struct stanza *st)
{
    const char *cond = st->condition ? st->condition : "error";
    if (strcmp(cond, "conflict") == 0 && r->nick_try + 1 < NICK_TRIES) {
        char next[512];
        r->nick_try++;
        int n = snprintf(next, sizeof next, "%s-%u", s->nick, r->nick_try + 1);
        if (n > 0 && (size_t)n < sizeof next) {
            log_warn(MOD, "room %s: the nickname '%s' is taken; joining as '%s'", r->name,
                     room_nick(s, r), next);
            room_set_nick(s, r, next);
            room_join(s, r);
            return;
        }
    }
    log_error(MOD, "cannot join room %s: %s", r->name, cond);
    r->nick_try = 0;
    room_set_nick(s, r, NULL);
    room_lost(s, r);
    maybe_ready(s);
}

static void handle_presence(struct xmpp_session *s, const struct stanza *st)
{
    if (xs_subscription_handle(st, s->bare, &s->h, &s->xb, emit_answer, s))
        return;
    struct room *r = room_by_jid(s, st->from);
    if (!r)
        return;
    const char *nick = xs_jid_resource(st->from);
    if (!nick)
        return;
    /* Our own presence carries status 110 (whatever nickname the room gave us); an error
     * comes back from the nickname we asked for. Another occupant may hold the configured
     * nickname: only these two tell us apart from it. */
    bool self = stanza_has_status(st, 110);
    if (st->type == STYPE_ERROR) {
        if (r->state == ROOM_JOINING && strcmp(nick, room_nick(s, r)) == 0)
            join_refused(s, r, st);
        return;
    }
    if (self) {
        if (st->type == STYPE_UNAVAILABLE) {
            if (stanza_has_status(st, 303)) {
                /* the server changed our nickname while we are in (we never ask for that) */
                if (st->muc_nick) {
                    log_info(MOD, "room %s: the server renamed the bot to '%s'", r->name,
                             st->muc_nick);
                    room_set_nick(s, r, st->muc_nick);
                }
                return;
            }
            if (r->state != ROOM_JOINED && r->state != ROOM_JOINING)
                return;
            const char *why = stanza_has_status(st, 307)   ? " (kicked)"
                              : stanza_has_status(st, 301) ? " (banned)"
                              : stanza_has_status(st, 321) ? " (membership removed)"
                              : stanza_has_status(st, 322) ? " (room made members-only)"
                              : stanza_has_status(st, 332) ? " (service shut down)"
                                                           : "";
            log_warn(MOD, "removed from room %s%s", r->name, why);
            room_lost(s, r);
            maybe_ready(s);
            return;
        }
        if (strcmp(nick, room_nick(s, r)) != 0) {
            /* status 210: the room gave us another nickname than we asked for (ejabberd's
             * registered nicknames, a server module); our echoes come from this one */
            log_info(MOD, "room %s: the bot goes by '%s' here", r->name, nick);
            room_set_nick(s, r, nick);
        }
        if (r->state != ROOM_JOINING)
            return; /* a role/affiliation update */
        r->nick_try = 0;
        r->state = ROOM_JOINED;
        r->joined_at = lws_now_usecs();
        bool owner = st->muc_affiliation && strcmp(st->muc_affiliation, "owner") == 0;
        log_info(MOD, "joined room %s%s", r->name, stanza_has_status(st, 201) ? " (new)" : "");
        if (owner && (stanza_has_status(st, 201) || !stanza_has_status(st, 100)))
            room_config(s, r);
        if (owner || st->muc_affiliation == NULL ||
            strcmp(st->muc_affiliation, "admin") == 0)
            room_aff_sync(s, r);
        else
            log_warn(MOD, "room %s: the bot is %s, not owner: its members are not managed",
                     r->name, st->muc_affiliation);
        if (s->ready && s->h.on_room_ready)
            s->h.on_room_ready(r->name, s->h.arg); /* its waiting messages may go now */
        maybe_ready(s);
        return;
    }
    if (st->type == STYPE_UNAVAILABLE) {
        if (stanza_has_status(st, 303) && st->muc_nick) {
            struct occupant *o = occupant_find(r, nick);
            if (o) {
                char *n = strdup(st->muc_nick);
                if (n) {
                    free(o->nick);
                    o->nick = n;
                    return;
                }
            }
        }
        occupant_remove(r, nick);
        return;
    }
    char bare[JID_MAX];
    if (st->muc_jid && xs_jid_bare(st->muc_jid, bare, sizeof bare) == 0)
        occupant_set(r, nick, bare);
    else
        occupant_remove(r, nick); /* real JID hidden: never trust the nick */
}

static void deliver(struct xmpp_session *s, bool group, const char *room, const char *sender,
                    const char *text, const char *sid, const char *msgid, const char *self_name)
{
    char pid[2 * JID_MAX + 1100];
    int rc = xs_dedup_key(pid, sizeof pid, group ? room : NULL, sender, sid, msgid);
    if (rc < 0) /* an id of kilobytes: acted on, but not remembered */
        log_warn(MOD, "a message from %s has an id too long to remember it by", sender);
    struct chat_message m = {.group = group, .room = room, .sender = sender, .text = text,
                             .platform_id = rc == 0 ? pid : NULL, .self_name = self_name};
    if (s->h.on_message)
        s->h.on_message(&m, s->h.arg);
}

/*
 * One of our messages came back as an error. A groupchat refused by its room (the bot is
 * not an occupant: kicked a moment ago, or the room restarted) was not delivered: it leaves
 * the window unconfirmed and goes back upstream (on_returned) to be sent again once the room
 * is joined; if we believed we were in the room, we are not, so it is rejoined. A direct
 * message that bounces (no such user) stays confirmed by the server's ack: sending it again
 * would not help.
 */
static void handle_bounce(struct xmpp_session *s, const struct stanza *st)
{
    struct inflight *e = st->id ? inflight_find(s, st->id) : NULL;
    if (!e)
        return;
    const char *cond = st->condition ? st->condition : "error";
    log_warn(MOD, "message %s bounced from %s: %s", st->id, st->from ? st->from : "server",
             cond);
    struct room *r = e->group ? room_by_jid(s, st->from) : NULL;
    if (!r)
        return;
    char *id = e->id;
    e->id = NULL;
    inflight_remove(s, e);
    if (r->state == ROOM_JOINED && strcmp(cond, "not-acceptable") == 0) {
        log_warn(MOD, "room %s: the bot is not in it after all", r->name);
        room_lost(s, r);
    }
    if (s->h.on_returned)
        s->h.on_returned(id, s->h.arg);
    free(id);
}

static void handle_message(struct xmpp_session *s, const struct stanza *st)
{
    if (st->type == STYPE_ERROR) {
        handle_bounce(s, st);
        return;
    }
    if (st->type == STYPE_GROUPCHAT) {
        struct room *r = room_by_jid(s, st->from);
        const char *nick = xs_jid_resource(st->from);
        if (!r || !nick)
            return; /* not ours, or from the room itself (subject, status) */
        if (strcmp(nick, room_nick(s, r)) == 0) {
            /* our own message reflected by the room: a confirmation, nothing more */
            confirm(s, st->id, "room echo");
            confirm(s, st->origin_id, "room echo");
            return;
        }
        if (!st->body || st->delayed)
            return;
        struct occupant *o = occupant_find(r, nick);
        if (!o) {
            log_warn(MOD, "room %s: dropping a message from occupant '%s' whose real JID is "
                          "unknown", r->name, nick);
            return;
        }
        const char *sid = stanza_id_by(st, r->jid);
        deliver(s, true, r->name, o->jid, st->body, sid, st->id, r->nick);
        return;
    }
    if (st->type != STYPE_CHAT && st->type != STYPE_NORMAL)
        return;
    if (!st->body || st->delayed || !st->from || st->has_muc_invite)
        return;
    char bare[JID_MAX];
    if (xs_jid_bare(st->from, bare, sizeof bare))
        return;
    const char *at = strchr(bare, '@');
    const char *dom = at ? at + 1 : bare;
    if (strcasecmp(dom, s->muc) == 0) {
        log_debug(MOD, "ignoring a private message through room %s", bare);
        return;
    }
    if (!at || strcmp(bare, s->bare) == 0)
        return; /* from a server or from ourselves */
    deliver(s, false, NULL, bare, st->body, stanza_id_by(st, s->bare), st->id, NULL);
}

static void handle_frame(struct xmpp_session *s, const char *data, size_t len)
{
    struct stanza st;
    struct dbot_diag diag = {{0}};
    int rc = stanza_parse(data, len, 0, &st, &diag);
    if (rc) {
        log_warn(MOD, "unparsable frame from the server (%s): %s", dbot_strerror(rc), diag.msg);
        if (s->sm == SM_ON && len && data[0] == '<' &&
            (strncmp(data, "<iq", 3) == 0 || strncmp(data, "<message", 8) == 0 ||
             strncmp(data, "<presence", 9) == 0))
            s->in_h++; /* still a stanza the server counts; we "handled" it by dropping it */
        return;
    }
    s->last_rx = lws_now_usecs();
    log_debug(MOD, "received %s (%s) id=%s from=%s", stanza_kind_name(st.kind),
              stanza_type_name(st.type), st.id ? st.id : "-", st.from ? st.from : "-");
    if (st.kind == STANZA_IQ || st.kind == STANZA_MESSAGE || st.kind == STANZA_PRESENCE) {
        if (s->sm == SM_ON)
            s->in_h++;
        if (s->phase < P_BIND) {
            conn_fail(s, "stanza before authentication");
            goto out;
        }
    }
    switch (st.kind) {
    case STANZA_OPEN:
        break;
    case STANZA_FEATURES:
        handle_features(s, &st);
        break;
    case STANZA_STREAM_ERROR:
        log_error(MOD, "stream error from the server: %s%s%s",
                  st.condition ? st.condition : "unknown", st.text ? ": " : "",
                  st.text ? st.text : "");
        conn_fail(s, NULL);
        break;
    case STANZA_CLOSE:
        if (s->phase != P_CLOSING)
            log_warn(MOD, "the server closed the stream");
        conn_fail(s, NULL);
        break;
    case STANZA_SASL_CHALLENGE:
    case STANZA_SASL_SUCCESS:
    case STANZA_SASL_FAILURE:
        handle_sasl(s, &st);
        break;
    case STANZA_SM_ENABLED:
    case STANZA_SM_RESUMED:
    case STANZA_SM_FAILED:
    case STANZA_SM_ACK:
    case STANZA_SM_REQUEST:
        handle_sm(s, &st);
        break;
    case STANZA_IQ:
        handle_iq(s, &st);
        break;
    case STANZA_MESSAGE:
        handle_message(s, &st);
        break;
    case STANZA_PRESENCE:
        handle_presence(s, &st);
        break;
    default:
        break;
    }
out:
    stanza_cleanup(&st);
}

/*
 * A frame over the size limit (STANZA_MAX_DEFAULT, Prosody's own c2s limit) is not collected:
 * its bytes are dropped as they arrive until its last fragment. It was meant for us, so
 * whoever can make the server relay a large stanza (anyone who can send the bot a message)
 * must not be able to end the session with it, and a resumed stream must not get it again:
 * if it is a stanza (its head says iq, message or presence), it counts as handled for
 * XEP-0198 like any stanza we drop. Counted in the stats; the first ones are logged.
 */
static void oversized_begin(struct xmpp_session *s, const void *in, size_t len)
{
    char head[16];
    size_t have = s->rx_len < sizeof head ? s->rx_len : sizeof head;
    memcpy(head, s->rx ? s->rx : "", have);
    if (have < sizeof head) {
        size_t more = len < sizeof head - have ? len : sizeof head - have;
        memcpy(head + have, in, more);
        have += more;
    }
    s->rx_skip = true;
    s->rx_skip_stanza = (have >= 3 && memcmp(head, "<iq", 3) == 0) ||
                        (have >= 8 && memcmp(head, "<message", 8) == 0) ||
                        (have >= 9 && memcmp(head, "<presence", 9) == 0);
    s->rx_len = 0;
}

static void oversized_end(struct xmpp_session *s)
{
    uint64_t n = ++s->stats.oversized_dropped;
    if (s->rx_skip_stanza && s->sm == SM_ON)
        s->in_h++;
    s->last_rx = lws_now_usecs();
    if (n <= 4 || (n & (n - 1)) == 0)
        log_warn(MOD, "dropped a %s from the server over the %u KiB limit (%llu so far)",
                 s->rx_skip_stanza ? "stanza" : "frame", (unsigned)(STANZA_MAX_DEFAULT / 1024),
                 (unsigned long long)n);
    s->rx_skip = s->rx_skip_stanza = false;
}

/* ---- the lws callback ---- */

/* `wsi` is closing or gone. Detach it from the session first, so that whatever lws still
 * reports about it later (CLOSED, then WSI_DESTROY) is ignored, then do the bookkeeping if
 * it was the session's current connection. */
static void wsi_gone(struct xmpp_session *s, struct lws *wsi)
{
    lws_set_opaque_user_data(wsi, NULL);
    if (s->wsi == wsi || (s->wsi == NULL && s->phase == P_CONNECTING)) {
        s->wsi = NULL;
        conn_lost(s);
    }
}

/* Writes one frame. Returns 0, or -1 after conn_fail(). */
static int write_frame(struct xmpp_session *s, struct lws *wsi, struct xs_frame *f)
{
    if (f->kind != XS_NONZA)
        log_debug(MOD, "sending a stanza of %zu bytes%s%s%s", f->len,
                  f->id ? " (message " : "", f->id ? f->id : "", f->id ? ")" : "");
    /* lws masks a client frame in place: a frame kept for a resend after <resumed/>
     * is written from a scratch copy so its bytes stay intact. */
    unsigned char *p = xs_frame_text(f);
    if (f->kind != XS_NONZA && s->sm != SM_OFF) {
        if (LWS_PRE + f->len > s->wcap) {
            unsigned char *nb = realloc(s->wbuf, LWS_PRE + f->len);
            if (!nb) {
                xs_fifo_push(&s->unacked, f); /* counted as sent; resent on resume */
                conn_fail(s, "out of memory");
                return -1;
            }
            s->wbuf = nb;
            s->wcap = LWS_PRE + f->len;
        }
        memcpy(s->wbuf + LWS_PRE, p, f->len);
        p = s->wbuf + LWS_PRE;
    }
    int n = lws_write(wsi, p, f->len, LWS_WRITE_TEXT);
    bool ok = n >= 0 && (size_t)n >= f->len;
    after_write(s, f);
    if (!ok) {
        conn_fail(s, "write failed");
        return -1;
    }
    return 0;
}

/*
 * The socket can take data. Control frames go first; stanzas only once the stream is online
 * (a resumed stream's leftovers wait in `out` through the negotiation). Several frames are
 * written per callback while the kernel takes them whole (lws_send_pipe_choked() is false
 * once lws had to buffer a partial write): one frame per poll round would cap a burst at the
 * loop's turn rate, far below what the server relays.
 */
static int on_writeable(struct xmpp_session *s, struct lws *wsi)
{
    for (int written = 0; written < WRITE_BURST; written++) {
        bool online = s->phase == P_ONLINE || s->phase == P_CLOSING;
        struct xs_frame *f = NULL;
        if (s->ctl.n)
            f = xs_fifo_pop(&s->ctl);
        else if (online && s->out.n)
            f = xs_fifo_pop(&s->out);
        if (!f) {
            if (s->phase != P_CLOSING || !s->close_pending)
                return 0;
            s->close_pending = false;
            unsigned char buf[LWS_PRE + 64];
            static const char close_el[] = "<close xmlns='" XMLNS_FRAMING "'/>";
            memcpy(buf + LWS_PRE, close_el, sizeof close_el - 1);
            if (lws_write(wsi, buf + LWS_PRE, sizeof close_el - 1, LWS_WRITE_TEXT) <
                (int)(sizeof close_el - 1))
                return -1;
            disarm(&s->sul_close, &s->close_armed);
            arm(s, &s->sul_close, &s->close_armed, close_fire, CLOSE_GRACE_US);
            return 0;
        }
        if (write_frame(s, wsi, f) != 0)
            return -1;
        if (s->dead || s->wsi != wsi || lws_send_pipe_choked(wsi))
            break;
    }
    bool online = s->phase == P_ONLINE || s->phase == P_CLOSING;
    if (s->ctl.n || (online && s->out.n) || s->close_pending)
        lws_callback_on_writable(wsi);
    return 0;
}

static int xs_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct xmpp_session *s = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (!s)
            return 0;
        log_warn(MOD, "cannot connect to %s:%d: %s", s->host, s->port,
                 in ? (const char *)in : "unknown error");
        wsi_gone(s, wsi);
        return 0;

    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!s)
            return -1;
        s->wsi = wsi;
        s->last_rx = lws_now_usecs();
        s->rx_len = 0;
        s->phase = P_PRE_AUTH;
        log_debug(MOD, "WebSocket up, opening the stream");
        send_built(s, xml_build_open(&s->xb, s->domain), XS_NONZA, "the stream open");
        /* anything resumable stays queued until the stream is resumed */
        return 0;

    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!s)
            return -1;
        if (s->dead)
            return 0;
        if (lws_frame_is_binary(wsi)) {
            conn_fail(s, "binary frame from the server");
            return -1;
        }
        if (s->rx_skip || s->rx_len + len > STANZA_MAX_DEFAULT) {
            if (!s->rx_skip)
                oversized_begin(s, in, len);
            if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
                oversized_end(s);
            return 0;
        }
        if (s->rx_len + len + 1 > s->rx_cap) {
            size_t ncap = s->rx_cap ? s->rx_cap : 4096;
            while (ncap < s->rx_len + len + 1)
                ncap *= 2;
            char *n = realloc(s->rx, ncap);
            if (!n) {
                conn_fail(s, "out of memory");
                return -1;
            }
            s->rx = n;
            s->rx_cap = ncap;
        }
        memcpy(s->rx + s->rx_len, in, len);
        s->rx_len += len;
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
            return 0;
        {
            size_t n = s->rx_len;
            s->rx_len = 0;
            handle_frame(s, s->rx, n);
        }
        return s->dead ? -1 : 0;

    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!s || s->dead)
            return -1;
        return on_writeable(s, wsi);

    case LWS_CALLBACK_CLIENT_CLOSED:
        if (s) {
            log_info(MOD, "connection closed");
            wsi_gone(s, wsi);
        }
        return 0;

    case LWS_CALLBACK_CLOSED_CLIENT_HTTP: /* closed during the WebSocket handshake */
    case LWS_CALLBACK_WSI_DESTROY:        /* always comes last: the catch-all */
        if (s) {
            if (s->wsi == wsi)
                log_info(MOD, "connection closed before the WebSocket was up");
            wsi_gone(s, wsi);
        }
        return 0;

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (s)
            log_debug(MOD, "the server closed the WebSocket");
        return 0;

    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- public ---- */

static int parse_config(struct xmpp_session *s, const struct config *cfg,
                        struct dbot_diag *diag)
{
    const char *url = cfg->chat.xmpp.url, *jid = cfg->chat.xmpp.jid;
    if (!url || !*url)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "chat.xmpp.url is not set");
    s->url_copy = strdup(url);
    if (!s->url_copy)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    const char *prot = NULL, *ads = NULL, *path = NULL;
    int port = 0;
    if (lws_parse_uri(s->url_copy, &prot, &ads, &port, &path) || !ads || !*ads)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "chat.xmpp.url '%s' is not a URL", url);
    if (strcmp(prot, "ws") == 0) {
        s->tls = false;
    } else if (strcmp(prot, "wss") == 0) {
        s->tls = true;
    } else {
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "chat.xmpp.url '%s' must start with ws:// or wss://", url);
    }
    {
        /* no port in the authority: the scheme's default (lws knows only http/https) */
        const char *auth = url + strlen(prot) + 3;
        const char *rb = memchr(auth, ']', strcspn(auth, "/"));
        const char *hostend = rb ? rb + 1 : auth;
        if (!memchr(hostend, ':', strcspn(hostend, "/")))
            port = s->tls ? 443 : 80;
    }
    if (port <= 0 || port > 65535)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "chat.xmpp.url '%s': bad port", url);
    s->host = ads;
    s->port = port;
    size_t plen = strlen(path ? path : "");
    s->path = malloc(plen + 2);
    if (!s->path)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    s->path[0] = '/';
    memcpy(s->path + 1, path ? path : "", plen + 1);

    char bare[JID_MAX];
    const char *at = jid ? strchr(jid, '@') : NULL;
    if (!jid || xs_jid_bare(jid, bare, sizeof bare) || !at || at == jid || !at[1] ||
        strchr(jid, '/'))
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "chat.xmpp.jid '%s' is not a bare JID user@domain",
                             jid ? jid : "");
    s->bare = strdup(bare);
    s->user = strndup(jid, (size_t)(at - jid));
    s->domain = strdup(strchr(bare, '@') + 1);
    if (!cfg->chat.xmpp.muc_service || !*cfg->chat.xmpp.muc_service)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "chat.xmpp.muc_service is not set");
    s->muc = strdup(cfg->chat.xmpp.muc_service);
    const char *nick = cfg->chat.xmpp.nick && *cfg->chat.xmpp.nick ? cfg->chat.xmpp.nick
                                                                    : "dealerbot";
    s->nick = strdup(nick);
    if (!s->bare || !s->user || !s->domain || !s->muc || !s->nick)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    return 0;
}

int xmpp_session_new(struct lws_context *ctx, const struct config *cfg,
                     const struct chat_handler *h, struct xmpp_session **out,
                     struct dbot_diag *diag)
{
    struct xmpp_session *s = calloc(1, sizeof *s);
    if (!s)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    s->ctx = ctx;
    s->cfg = cfg;
    if (h)
        s->h = *h;
    xml_buf_init(&s->xb, 0, 0);
    iqtrack_init(&s->iq);
    int rc = parse_config(s, cfg, diag);
    if (rc)
        goto fail;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = "dealerbot-xmpp";
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = xs_protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    if (cfg->chat.xmpp.ca_file && *cfg->chat.xmpp.ca_file)
        info.client_ssl_ca_filepath = cfg->chat.xmpp.ca_file;
    s->vhost = lws_create_vhost(ctx, &info);
    if (!s->vhost) {
        rc = dbot_diag_set(diag, DBOT_ERR_IO,
                           "cannot create the XMPP client (TLS setup failed; check "
                           "chat.xmpp.ca_file)");
        goto fail;
    }
    *out = s;
    return 0;
fail:
    xmpp_session_free(s);
    return rc;
}

int xmpp_session_start(struct xmpp_session *s)
{
    s->stopping = false;
    start_connect(s);
    return 0;
}

void xmpp_session_stop(struct xmpp_session *s)
{
    if (!s)
        return;
    s->stopping = true;
    disarm(&s->sul_reconnect, &s->reconnect_armed);
    disarm(&s->sul_ka, &s->ka_armed);
    bool was_ready = s->ready;
    s->ready = false;
    if (s->wsi && !s->dead && s->phase >= P_PRE_AUTH) {
        /* The close goes out after what is already queued (a polite end); the server echoes
         * it and closes. close_fire kills the connection if it does not. */
        bool online = s->phase == P_ONLINE;
        s->phase = P_CLOSING;
        if (!online)
            xs_fifo_clear(&s->out); /* unsent leftovers of a stream never resumed */
        s->close_pending = true;
        want_write(s);
        disarm(&s->sul_close, &s->close_armed);
        arm(s, &s->sul_close, &s->close_armed, close_fire, CLOSE_GRACE_US + 3 * US_PER_S);
    } else if (s->wsi) {
        conn_fail(s, NULL);
    }
    if (was_ready && s->h.on_down)
        s->h.on_down(s->h.arg);
    log_info(MOD, "stopping the session");
}

void xmpp_session_free(struct xmpp_session *s)
{
    if (!s)
        return;
    /* Timers are cancelled by stop; these only matter if stop was never called, in which
     * case the context must still be alive. */
    disarm(&s->sul_reconnect, &s->reconnect_armed);
    disarm(&s->sul_ka, &s->ka_armed);
    disarm(&s->sul_close, &s->close_armed);
    if (s->wsi) {
        /* The context still runs the connection: cut it loose; its callbacks see NULL. */
        lws_set_opaque_user_data(s->wsi, NULL);
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        s->wsi = NULL;
    }
    if (s->scram_used)
        scram_cleanup(&s->scram);
    xs_fifo_clear(&s->ctl);
    xs_fifo_clear(&s->out);
    xs_fifo_clear(&s->unacked);
    inflight_clear(s);
    iqtrack_cleanup(&s->iq);
    struct room *r = s->rooms;
    while (r) {
        struct room *n = r->next;
        room_free(r);
        r = n;
    }
    xml_buf_cleanup(&s->xb);
    free(s->rx);
    free(s->wbuf);
    free(s->url_copy);
    free(s->path);
    free(s->domain);
    free(s->user);
    free(s->bare);
    free(s->muc);
    free(s->nick);
    free(s->full_jid);
    free(s->previd);
    free(s->rbucket);
    free(s);
}

void xmpp_session_get_stats(const struct xmpp_session *s, struct chat_stats *out)
{
    *out = s->stats;
    out->unconfirmed = s->n_inflight;
    out->oldest_unconfirmed_s = 0;
    int64_t now = timeutil_mono_us();
    for (size_t i = 0; i < s->n_inflight; i++) {
        double age = (double)(now - s->inflight[i].queued_us) / 1e6;
        if (age > out->oldest_unconfirmed_s)
            out->oldest_unconfirmed_s = age;
    }
}

bool xmpp_session_is_ready(const struct xmpp_session *s)
{
    return s && s->ready;
}

size_t xmpp_session_send_window(const struct xmpp_session *s)
{
    if (!s || !s->ready)
        return 0;
    return XMPP_SEND_WINDOW - s->n_inflight;
}

int xmpp_session_send(struct xmpp_session *s, const struct chat_out *m)
{
    if (!m || !m->to || !*m->to || !m->id || !*m->id || !m->text)
        return DBOT_ERR_INVALID;
    if (!s->ready)
        return DBOT_ERR_BUSY;
    if (inflight_find(s, m->id))
        return 0; /* already on its way (a resend after a resumed stream) */
    if (s->n_inflight >= XMPP_SEND_WINDOW)
        return DBOT_ERR_BUSY;
    struct room *r = NULL;
    char to[JID_MAX];
    if (m->group) {
        r = room_by_name(s, m->to);
        if (!r) {
            /* not synced (yet): the directory may set it up later */
            log_debug(MOD, "message %s: unknown room %s", m->id, m->to);
            return DBOT_ERR_UNAVAILABLE;
        }
        if (r->state != ROOM_JOINED) {
            /* joining, or out and rejoining: the message waits upstream (not in our window,
             * so the other rooms' messages keep flowing) */
            log_debug(MOD, "message %s: room %s is not joined", m->id, m->to);
            return DBOT_ERR_UNAVAILABLE;
        }
        snprintf(to, sizeof to, "%s", r->jid);
    } else if (xs_jid_bare(m->to, to, sizeof to) || !strchr(to, '@')) {
        log_warn(MOD, "message %s: '%s' is not a bare JID", m->id, m->to);
        return DBOT_ERR_INVALID;
    }
    int rc = xml_build_message(&s->xb, m->group ? XML_MSG_GROUPCHAT : XML_MSG_CHAT, to, m->id,
                               m->text);
    if (rc) {
        log_warn(MOD, "message %s to %s cannot be sent: %s", m->id, m->to, dbot_strerror(rc));
        return DBOT_ERR_INVALID;
    }
    char *idc = strdup(m->id);
    if (!idc)
        return DBOT_ERR_NOMEM;
    rc = enqueue_built(s, XS_MSG, m->id, m->group);
    if (rc) {
        free(idc);
        return rc == DBOT_ERR_TOOBIG ? DBOT_ERR_BUSY : rc;
    }
    struct inflight *e = inflight_add(s, idc);
    e->group = m->group;
    e->queued_us = timeutil_mono_us();
    return 0;
}

int xmpp_session_sync_room(struct xmpp_session *s, const struct chat_room *room)
{
    if (!room || !room->name || !*room->name || strchr(room->name, '@') ||
        strchr(room->name, '/'))
        return DBOT_ERR_INVALID;
    char **members = calloc(room->n_members ? room->n_members : 1, sizeof *members);
    if (!members)
        return DBOT_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < room->n_members; i++) {
        char bare[JID_MAX];
        if (!room->members[i] || xs_jid_bare(room->members[i], bare, sizeof bare) ||
            !strchr(bare, '@')) {
            log_warn(MOD, "room %s: ignoring member '%s' (not a bare JID)", room->name,
                     room->members[i] ? room->members[i] : "(null)");
            continue;
        }
        members[n] = strdup(bare);
        if (!members[n]) {
            members_free(members, n);
            return DBOT_ERR_NOMEM;
        }
        n++;
    }
    char *title = NULL;
    if (room->title && !(title = strdup(room->title))) {
        members_free(members, n);
        return DBOT_ERR_NOMEM;
    }
    struct room *r = room_by_name(s, room->name);
    bool fresh = !r;
    if (fresh) {
        r = calloc(1, sizeof *r);
        char lname[JID_MAX];
        if (r && xs_jid_bare(room->name, lname, sizeof lname) == 0) {
            r->name = strdup(lname);
            size_t jl = strlen(lname) + strlen(s->muc) + 2;
            r->jid = malloc(jl);
            if (r->jid)
                snprintf(r->jid, jl, "%s@%s", lname, s->muc);
        }
        if (!r || !r->name || !r->jid) {
            if (r) {
                free(r->name);
                free(r->jid);
                free(r);
            }
            free(title);
            members_free(members, n);
            return DBOT_ERR_NOMEM;
        }
        r->s = s;
        if (room_index(s, r)) {
            free(r->name);
            free(r->jid);
            free(r);
            free(title);
            members_free(members, n);
            return DBOT_ERR_NOMEM;
        }
        r->next = s->rooms;
        s->rooms = r;
    }
    free(r->title);
    r->title = title;
    members_free(r->members, r->n_members);
    r->members = members;
    r->n_members = n;
    if (s->phase == P_ONLINE && !s->dead) {
        if (r->state == ROOM_OUT || r->state == ROOM_FAILED)
            room_join(s, r);
        else if (r->state == ROOM_JOINED)
            room_aff_sync(s, r);
        /* ROOM_JOINING: the sync runs when the join completes, with the new spec */
    }
    return 0;
}
