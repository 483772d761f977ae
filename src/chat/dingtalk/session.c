/*
 * session.c — the DingTalk adapter (see session.h).
 *
 * Connection: P_IDLE → (POST gateway/connections/open) P_OPENING → (WebSocket to
 * endpoint?ticket=…) P_CONNECTING → P_ONLINE. Any failure, a SYSTEM disconnect, a dead socket
 * (no answer to a WebSocket ping) → P_IDLE and a reconnect after the XMPP adapter's backoff
 * (1 s doubling to 30 s, ±20 % jitter; reset after a minute online).
 *
 * Inbound frames are answered in order from a small FIFO written on WRITEABLE. Outbound
 * messages: chat_send renders the text as markdown parts and queues a `struct dmsg`; the pump
 * posts at most DT_HTTP_WINDOW parts at once, only with a valid access token (fetched when
 * missing, renewed five minutes before it expires and after a 401) and not while throttled
 * (a throttling answer pauses every send: 1 s doubling to 30 s, reset by a success).
 */
#include "session.h"

#include <ctype.h>
#include <curl/curl.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/xmpp/session_util.h" /* xs_backoff_ms: the same backoff as XMPP */
#include "dealerbot/log.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"
#include "frame.h"
#include "httpc.h"

#define MOD "dingtalk"
#define US_PER_MS 1000ll
#define US_PER_S 1000000ll
#define BACKOFF_BASE_MS 1000
#define BACKOFF_CAP_MS 30000
#define BACKOFF_JITTER_PCT 20
#define STABLE_US (60 * US_PER_S)
#define KA_TICK_US (5 * US_PER_S)
#define KA_IDLE_US (60 * US_PER_S)    /* WebSocket ping after this long without traffic */
#define KA_TIMEOUT_US (10 * US_PER_S) /* ... and the socket is dead without a pong by then */
#define CONNECT_US (30 * US_PER_S)    /* open + WebSocket up within this */
#define TOKEN_EARLY_S 300             /* renew this long before it expires */
#define THROTTLE_BASE_MS 1000         /* DingTalk's QPS limits last a second */
#define THROTTLE_CAP_MS 16000
#define RETRY_BASE_MS 1000
#define RETRY_CAP_MS 60000
#define REFUSED_BASE_MS 60000
#define REFUSED_CAP_MS 3600000
#define ACKQ_MAX 4096 /* answers waiting for the socket */
#define HASH_BUCKETS 1024

enum phase { P_IDLE = 0, P_OPENING, P_CONNECTING, P_ONLINE };

/* A room (group) or a person the bot sends to. */
struct target {
    struct target *next_name, *next_addr;
    struct dt_session *s;
    bool group;
    char *name;    /* room local name, or the person's id */
    char *address; /* group: openConversationId (NULL: not mapped) */
    bool refused;  /* the platform refused the robot here: held until the retry */
    unsigned refused_attempt;
    lws_sorted_usec_list_t sul;
    bool armed;
};

/* A message accepted by chat_send, until delivered or dropped. */
struct dmsg {
    struct dmsg *next_q; /* in the send queue */
    struct dmsg *next_id;
    struct dt_session *s;
    char *id;
    struct target *t;
    char title[DT_TITLE_MAX + 16];
    char **parts;
    size_t n_parts, done; /* parts; parts delivered */
    int64_t queued_us;
    unsigned attempt; /* consecutive failed tries (not throttling) */
    struct httpc_req *req;
    bool queued, waiting; /* in the queue; waiting for a retry timer */
    lws_sorted_usec_list_t sul;
};

struct dt_session {
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    struct chat_handler h;
    struct httpc *http;
    char *client_id, *secret, *robot_code, *api_url;
    struct dt_stats st;

    enum phase phase;
    bool stopping, ready, dead;
    unsigned attempt;
    struct lws *wsi;
    struct httpc_req *open_req;
    char *ws_url;  /* lws_parse_uri cuts this up */
    char *ws_path; /* path?ticket=... */
    int64_t conn_started, ready_since, last_rx, ping_sent;
    bool ping_out, ping_due;
    lws_sorted_usec_list_t sul_reconnect, sul_ka;
    bool reconnect_armed, ka_armed;

    char *rx;
    size_t rx_len, rx_cap;
    bool rx_skip; /* dropping an oversized frame until its end */

    char *ackq[ACKQ_MAX];
    size_t ack_head, ack_n;

    /* token */
    char *token;
    int64_t token_renew_us; /* monotonic: renew from then on */
    struct httpc_req *token_req;
    bool token_fresh;       /* not yet used since fetched (a 401 on it is not a stale token) */

    /* sending */
    struct target *by_name[HASH_BUCKETS], *by_addr[HASH_BUCKETS];
    struct dmsg *msgs[HASH_BUCKETS];
    size_t n_msgs, n_http;
    struct dmsg *q_head, *q_tail;
    int64_t paused_until; /* monotonic µs: throttled until then */
    unsigned throttle_attempt;
    lws_sorted_usec_list_t sul_pump;
    bool pump_armed;
};

static int dt_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

static const struct lws_protocols dt_protocols[] = {
    {"dingtalk-stream", dt_callback, 0, 64 * 1024, 0, NULL, 0},
    {HTTPC_PROTOCOL_NAME, httpc_lws_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- small helpers ---- */

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % HASH_BUCKETS;
}

static void arm(struct dt_session *s, lws_sorted_usec_list_t *sul, bool *armed, sul_cb_t cb,
                int64_t us)
{
    if (*armed)
        lws_sul_cancel(sul);
    lws_sul_schedule(s->ctx, 0, sul, cb, (lws_usec_t)us);
    *armed = true;
}

static void disarm(lws_sorted_usec_list_t *sul, bool *armed)
{
    if (*armed)
        lws_sul_cancel(sul);
    *armed = false;
}

static uint32_t backoff(struct dt_session *s, unsigned attempt, uint32_t base, uint32_t cap)
{
    uint32_t rnd = 0;
    lws_get_random(s->ctx, &rnd, sizeof rnd);
    return xs_backoff_ms(attempt, base, cap, BACKOFF_JITTER_PCT, rnd);
}

static char *url_of(const struct dt_session *s, const char *path)
{
    size_t n = strlen(s->api_url) + strlen(path) + 1;
    char *u = malloc(n);
    if (u)
        snprintf(u, n, "%s%s", s->api_url, path);
    return u;
}

/* ---- targets ---- */

static struct target *target_by_name(struct dt_session *s, bool group, const char *name)
{
    for (struct target *t = s->by_name[hash_str(name)]; t; t = t->next_name)
        if (t->group == group && strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

static struct target *target_by_addr(struct dt_session *s, const char *addr)
{
    for (struct target *t = s->by_addr[hash_str(addr)]; t; t = t->next_addr)
        if (t->address && strcmp(t->address, addr) == 0)
            return t;
    return NULL;
}

static void addr_unlink(struct dt_session *s, struct target *t)
{
    if (!t->address)
        return;
    struct target **pp = &s->by_addr[hash_str(t->address)];
    while (*pp && *pp != t)
        pp = &(*pp)->next_addr;
    if (*pp)
        *pp = t->next_addr;
    t->next_addr = NULL;
}

static struct target *target_get(struct dt_session *s, bool group, const char *name)
{
    struct target *t = target_by_name(s, group, name);
    if (t)
        return t;
    t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name))) {
        free(t);
        return NULL;
    }
    t->s = s;
    t->group = group;
    uint32_t b = hash_str(name);
    t->next_name = s->by_name[b];
    s->by_name[b] = t;
    return t;
}

static void target_retry_fire(lws_sorted_usec_list_t *sul)
{
    struct target *t = lws_container_of(sul, struct target, sul);
    t->armed = false;
    t->refused = false;
    log_info(MOD, "%s %s: trying to send there again", t->group ? "room" : "person", t->name);
    if (t->s->ready && t->s->h.on_room_ready)
        t->s->h.on_room_ready(t->name, t->s->h.arg);
}

/* ---- outgoing messages ---- */

static struct dmsg *msg_find(struct dt_session *s, const char *id)
{
    for (struct dmsg *m = s->msgs[hash_str(id)]; m; m = m->next_id)
        if (strcmp(m->id, id) == 0)
            return m;
    return NULL;
}

static void msg_free(struct dmsg *m)
{
    struct dt_session *s = m->s;
    struct dmsg **pp = &s->msgs[hash_str(m->id)];
    while (*pp && *pp != m)
        pp = &(*pp)->next_id;
    if (*pp)
        *pp = m->next_id;
    s->n_msgs--;
    if (m->queued) {
        struct dmsg **qp = &s->q_head, *prev = NULL;
        while (*qp && *qp != m) {
            prev = *qp;
            qp = &(*qp)->next_q;
        }
        if (*qp) {
            *qp = m->next_q;
            if (s->q_tail == m)
                s->q_tail = prev;
        }
    }
    if (m->waiting)
        lws_sul_cancel(&m->sul);
    if (m->req) {
        httpc_cancel(m->req);
        s->n_http--;
    }
    for (size_t i = 0; i < m->n_parts; i++)
        free(m->parts[i]);
    free(m->parts);
    free(m->id);
    free(m);
}

static void enqueue(struct dt_session *s, struct dmsg *m, bool front)
{
    m->queued = true;
    m->next_q = NULL;
    if (front) {
        m->next_q = s->q_head;
        s->q_head = m;
        if (!s->q_tail)
            s->q_tail = m;
    } else {
        if (s->q_tail)
            s->q_tail->next_q = m;
        else
            s->q_head = m;
        s->q_tail = m;
    }
}

static void pump(struct dt_session *s);

static void pump_fire(lws_sorted_usec_list_t *sul)
{
    struct dt_session *s = lws_container_of(sul, struct dt_session, sul_pump);
    s->pump_armed = false;
    pump(s);
}

static void msg_retry_fire(lws_sorted_usec_list_t *sul)
{
    struct dmsg *m = lws_container_of(sul, struct dmsg, sul);
    m->waiting = false;
    enqueue(m->s, m, true);
    pump(m->s);
}

static void drop_all_msgs(struct dt_session *s)
{
    for (size_t b = 0; b < HASH_BUCKETS; b++)
        while (s->msgs[b])
            msg_free(s->msgs[b]);
    s->q_head = s->q_tail = NULL;
    s->n_http = 0;
}

static void on_token(long status, const char *body, size_t len, const char *err, void *arg)
{
    struct dt_session *s = arg;
    s->token_req = NULL;
    struct dbot_diag d = {{0}};
    char *tok = NULL;
    long long exp = 0;
    if (status == 200 && dt_token_parse(body, len, &tok, &exp, &d) == 0) {
        free(s->token);
        s->token = tok;
        s->token_fresh = true;
        int64_t life = exp > TOKEN_EARLY_S * 2 ? exp - TOKEN_EARLY_S : exp / 2;
        s->token_renew_us = timeutil_mono_us() + life * US_PER_S;
        s->st.tokens++;
        log_info(MOD, "access token obtained (valid for %lld s)", exp);
        pump(s);
        return;
    }
    log_warn(MOD, "cannot get an access token: %s", status ? (d.msg[0] ? d.msg : "refused")
                                                           : (err ? err : "no answer"));
    if (status)
        log_debug(MOD, "token answer: HTTP %ld", status);
    /* try again after a pause; sends wait */
    uint32_t ms = backoff(s, s->throttle_attempt < 5 ? s->throttle_attempt++ : 5,
                          THROTTLE_BASE_MS, THROTTLE_CAP_MS);
    s->paused_until = timeutil_mono_us() + (int64_t)ms * US_PER_MS;
    arm(s, &s->sul_pump, &s->pump_armed, pump_fire, (int64_t)ms * US_PER_MS);
}

static void fetch_token(struct dt_session *s)
{
    if (s->token_req || s->stopping)
        return;
    char *body = NULL, *url = url_of(s, "/v1.0/oauth2/accessToken");
    if (!url || dt_token_format(s->client_id, s->secret, &body) ||
        httpc_post(s->http, url, NULL, body, on_token, s, &s->token_req)) {
        log_error(MOD, "cannot ask for an access token: out of memory");
        arm(s, &s->sul_pump, &s->pump_armed, pump_fire, US_PER_S);
    }
    if (body)
        memset(body, 0, strlen(body));
    free(body);
    free(url);
}

static void post_part(struct dt_session *s, struct dmsg *m);

/* A refusal: the robot may not send to this target. Its messages go back to the outbox. */
static void target_refused(struct dt_session *s, struct target *t)
{
    if (!t->refused) {
        bool first = t->refused_attempt == 0;
        uint32_t ms = backoff(s, t->refused_attempt, REFUSED_BASE_MS, REFUSED_CAP_MS);
        if (t->refused_attempt < 16)
            t->refused_attempt++;
        t->refused = true;
        log_warn(MOD, "%s %s%s%s%s: DingTalk refuses the robot there (is it in the group?); "
                 "its messages are held, trying again in %u s",
                 t->group ? "room" : "person", t->name, t->address ? " (" : "",
                 t->address ? t->address : "", t->address ? ")" : "", ms / 1000);
        arm(s, &t->sul, &t->armed, target_retry_fire, (int64_t)ms * US_PER_MS);
        if (first && t->group && s->h.on_room_refused)
            s->h.on_room_refused(t->name, s->h.arg);
    }
    /* every message of this target goes back unsent */
    for (size_t b = 0; b < HASH_BUCKETS; b++) {
        struct dmsg *m = s->msgs[b];
        while (m) {
            struct dmsg *n = m->next_id;
            if (m->t == t) {
                char *id = strdup(m->id);
                msg_free(m);
                if (id && s->h.on_returned)
                    s->h.on_returned(id, s->h.arg);
                free(id);
                n = s->msgs[b]; /* the chain may have changed */
            }
            m = n;
        }
    }
}

static void on_sent(long status, const char *body, size_t len, const char *err, void *arg)
{
    struct dmsg *m = arg;
    struct dt_session *s = m->s;
    m->req = NULL;
    s->n_http--;
    struct dbot_diag d = {{0}};
    enum dt_send_result r = status ? dt_send_classify(status, body, len, &d) : DT_SEND_RETRY;
    if (!status)
        snprintf(d.msg, sizeof d.msg, "no answer: %s", err ? err : "unknown error");
    switch (r) {
    case DT_SEND_OK:
        s->st.sends_ok++;
        m->t->refused_attempt = 0;
        s->token_fresh = false;
        s->throttle_attempt = 0;
        m->attempt = 0;
        if (++m->done < m->n_parts) {
            enqueue(s, m, true);
            break;
        }
        {
            int64_t lat = timeutil_mono_us() - m->queued_us;
            char *id = strdup(m->id);
            msg_free(m);
            if (id && s->h.on_delivered)
                s->h.on_delivered(id, lat, s->h.arg);
            free(id);
        }
        break;
    case DT_SEND_THROTTLED: {
        s->st.sends_throttled++;
        /* the answers of one burst come back together: the pause grows once per pause */
        int64_t now_us = timeutil_mono_us();
        bool fresh = now_us >= s->paused_until;
        uint32_t ms = backoff(s, s->throttle_attempt, THROTTLE_BASE_MS, THROTTLE_CAP_MS);
        if (fresh && s->throttle_attempt < 16)
            s->throttle_attempt++;
        log_info(MOD, "message %s %s: pausing sends for %u ms (%llu throttled so far)", m->id,
                 d.msg, ms, (unsigned long long)s->st.sends_throttled);
        int64_t until = now_us + (int64_t)ms * US_PER_MS;
        if (until > s->paused_until)
            s->paused_until = until;
        enqueue(s, m, true);
        arm(s, &s->sul_pump, &s->pump_armed, pump_fire, (int64_t)ms * US_PER_MS);
        break;
    }
    case DT_SEND_AUTH:
        s->st.sends_auth++;
        log_warn(MOD, "message %s: %s; renewing it", m->id, d.msg);
        if (s->token_fresh) {
            /* a brand-new token refused: not staleness; wait before the next one */
            s->paused_until = timeutil_mono_us() + 5 * US_PER_S;
            arm(s, &s->sul_pump, &s->pump_armed, pump_fire, 5 * US_PER_S);
        }
        free(s->token);
        s->token = NULL;
        s->token_fresh = false;
        enqueue(s, m, true);
        break;
    case DT_SEND_REFUSED:
        s->st.sends_refused++;
        log_warn(MOD, "message %s to %s: %s", m->id, m->t->name, d.msg);
        target_refused(s, m->t);
        break;
    case DT_SEND_RETRY:
    default: {
        s->st.sends_bad_answer++;
        uint32_t ms = backoff(s, m->attempt, RETRY_BASE_MS, RETRY_CAP_MS);
        if (m->attempt < 16)
            m->attempt++;
        log_warn(MOD, "message %s to %s: %s (%llu such answers so far); trying again in %u ms",
                 m->id, m->t->name, d.msg, (unsigned long long)s->st.sends_bad_answer, ms);
        m->waiting = true;
        lws_sul_schedule(s->ctx, 0, &m->sul, msg_retry_fire, (lws_usec_t)ms * US_PER_MS);
        break;
    }
    }
    pump(s);
}

static void post_part(struct dt_session *s, struct dmsg *m)
{
    const char *to = m->t->group ? m->t->address : m->t->name;
    char title[sizeof m->title + 48];
    if (m->n_parts > 1)
        snprintf(title, sizeof title, "%.*s (%zu/%zu)", DT_TITLE_MAX, m->title, m->done + 1,
                 m->n_parts);
    else
        snprintf(title, sizeof title, "%s", m->title);
    char *body = NULL;
    char *url = url_of(s, m->t->group ? "/v1.0/robot/groupMessages/send"
                                      : "/v1.0/robot/oToMessages/batchSend");
    int rc = url ? dt_send_format(m->t->group, s->robot_code, to, title, m->parts[m->done], &body)
                 : DBOT_ERR_NOMEM;
    if (rc == 0)
        rc = httpc_post(s->http, url, s->token, body, on_sent, m, &m->req);
    free(body);
    free(url);
    if (rc) {
        log_error(MOD, "message %s cannot be posted: %s", m->id, dbot_strerror(rc));
        m->waiting = true;
        lws_sul_schedule(s->ctx, 0, &m->sul, msg_retry_fire, (lws_usec_t)US_PER_S);
        return;
    }
    s->n_http++;
    s->st.sends++;
}

static void pump(struct dt_session *s)
{
    if (!s->ready || s->stopping || !s->q_head)
        return;
    int64_t now = timeutil_mono_us();
    if (now < s->paused_until) {
        if (!s->pump_armed)
            arm(s, &s->sul_pump, &s->pump_armed, pump_fire, s->paused_until - now);
        return;
    }
    if (!s->token || now >= s->token_renew_us) {
        if (s->token && s->n_http == 0) {
            free(s->token); /* renew it: nothing uses it right now */
            s->token = NULL;
        }
        fetch_token(s);
        if (!s->token)
            return;
    }
    while (s->q_head && s->n_http < DT_HTTP_WINDOW) {
        struct dmsg *m = s->q_head;
        s->q_head = m->next_q;
        if (!s->q_head)
            s->q_tail = NULL;
        m->queued = false;
        m->next_q = NULL;
        post_part(s, m);
    }
}

/* ---- the stream ---- */

static void schedule_reconnect(struct dt_session *s);

static void want_write(struct dt_session *s)
{
    if (s->wsi && !s->dead)
        lws_callback_on_writable(s->wsi);
}

static void ackq_clear(struct dt_session *s)
{
    while (s->ack_n) {
        free(s->ackq[s->ack_head]);
        s->ack_head = (s->ack_head + 1) % ACKQ_MAX;
        s->ack_n--;
    }
    s->ack_head = 0;
}

static void conn_fail(struct dt_session *s, const char *why)
{
    if (why)
        log_warn(MOD, "connection failed: %s", why);
    if (s->wsi && !s->dead) {
        s->dead = true;
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

static void ack(struct dt_session *s, int code, const char *mid, const char *data)
{
    char *a = NULL;
    if (dt_ack_format(code, mid, data, &a)) {
        conn_fail(s, "out of memory");
        return;
    }
    if (s->ack_n == ACKQ_MAX) {
        free(a);
        conn_fail(s, "too many answers waiting for the socket");
        return;
    }
    s->ackq[(s->ack_head + s->ack_n) % ACKQ_MAX] = a;
    s->ack_n++;
    s->st.acks_out++;
    want_write(s);
}

/* The stream is gone (or never came up). */
static void conn_lost(struct dt_session *s)
{
    if (s->phase == P_IDLE)
        return;
    s->phase = P_IDLE;
    s->wsi = NULL;
    s->dead = false;
    s->rx_len = 0;
    s->rx_skip = false;
    s->ping_out = s->ping_due = false;
    ackq_clear(s);
    disarm(&s->sul_ka, &s->ka_armed);
    if (s->open_req) {
        httpc_cancel(s->open_req);
        s->open_req = NULL;
    }
    bool was_ready = s->ready;
    s->ready = false;
    /* what was queued or in flight is sent again by the outbox after the next on_ready */
    drop_all_msgs(s);
    disarm(&s->sul_pump, &s->pump_armed);
    if (was_ready) {
        log_warn(MOD, "session down");
        if (s->h.on_down)
            s->h.on_down(s->h.arg);
    }
    if (!s->stopping)
        schedule_reconnect(s);
}

static void start_open(struct dt_session *s);

static void reconnect_fire(lws_sorted_usec_list_t *sul)
{
    struct dt_session *s = lws_container_of(sul, struct dt_session, sul_reconnect);
    s->reconnect_armed = false;
    start_open(s);
}

static void schedule_reconnect(struct dt_session *s)
{
    uint32_t ms = backoff(s, s->attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
    if (s->attempt < 16)
        s->attempt++;
    log_info(MOD, "reconnecting in %u ms", ms);
    arm(s, &s->sul_reconnect, &s->reconnect_armed, reconnect_fire, (int64_t)ms * US_PER_MS);
}

static void ka_tick(lws_sorted_usec_list_t *sul)
{
    struct dt_session *s = lws_container_of(sul, struct dt_session, sul_ka);
    s->ka_armed = false;
    if (s->phase == P_IDLE)
        return;
    int64_t now = timeutil_mono_us();
    if (s->phase != P_ONLINE && now - s->conn_started > CONNECT_US) {
        log_warn(MOD, "no stream within 30 s of opening the connection");
        if (s->wsi)
            conn_fail(s, NULL);
        else
            conn_lost(s);
        return;
    } else if (s->ping_out && now - s->ping_sent > KA_TIMEOUT_US) {
        conn_fail(s, "no answer to a WebSocket ping within 10 s");
    } else if (s->phase == P_ONLINE && !s->ping_out && now - s->last_rx >= KA_IDLE_US) {
        s->ping_out = s->ping_due = true;
        s->ping_sent = now;
        want_write(s);
    }
    if (s->ready && s->attempt && now - s->ready_since >= STABLE_US)
        s->attempt = 0;
    arm(s, &s->sul_ka, &s->ka_armed, ka_tick, KA_TICK_US);
}

/* Percent-encodes src into a new string. */
static char *urlencode(const char *src)
{
    size_t n = strlen(src);
    char *o = malloc(n * 3 + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            o[j++] = (char)c;
        } else {
            snprintf(o + j, 4, "%%%02X", c);
            j += 3;
        }
    }
    o[j] = '\0';
    return o;
}

static void on_opened(long status, const char *body, size_t len, const char *err, void *arg)
{
    struct dt_session *s = arg;
    s->open_req = NULL;
    if (s->phase != P_OPENING)
        return;
    char *endpoint = NULL, *ticket = NULL;
    struct dbot_diag d = {{0}};
    if (status != 200 || dt_open_parse(body, len, &endpoint, &ticket, &d)) {
        s->st.opens_failed++;
        if (status == 401 || status == 403)
            log_error(MOD, "the gateway refused the app's credentials (HTTP %ld; check "
                           "chat.dingtalk.client_id and client_secret) (%llu failed opens)",
                      status, (unsigned long long)s->st.opens_failed);
        else if (status)
            log_warn(MOD, "the gateway answered HTTP %ld%s%s (%llu failed opens)", status,
                     d.msg[0] ? ": " : "", d.msg, (unsigned long long)s->st.opens_failed);
        else
            log_warn(MOD, "cannot reach the gateway: %s (%llu failed opens)",
                     err ? err : "unknown error", (unsigned long long)s->st.opens_failed);
        conn_lost(s);
        return;
    }
    /* endpoint?ticket=..., on our vhost */
    free(s->ws_url);
    free(s->ws_path);
    s->ws_path = NULL;
    s->ws_url = endpoint;
    char *enc = urlencode(ticket);
    memset(ticket, 0, strlen(ticket));
    free(ticket);
    const char *prot = NULL, *ads = NULL, *path = NULL;
    int port = 0;
    char *copy = strdup(s->ws_url);
    bool tls = false;
    if (!enc || !copy || lws_parse_uri(copy, &prot, &ads, &port, &path) || !ads || !*ads ||
        (strcmp(prot, "ws") && strcmp(prot, "wss"))) {
        log_warn(MOD, "the gateway gave an endpoint that is not a ws:// or wss:// URL");
        free(enc);
        free(copy);
        s->st.opens_failed++;
        conn_lost(s);
        return;
    }
    tls = strcmp(prot, "wss") == 0;
    {
        /* no port in the authority: the scheme's default (lws knows only http/https) */
        const char *auth = s->ws_url + strlen(prot) + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *hostend = auth + strcspn(auth, ":/?#");
        if (auth[0] == '[') {
            const char *rb = memchr(auth, ']', alen);
            hostend = rb ? rb + 1 : auth + alen;
        }
        if (*hostend != ':')
            port = tls ? 443 : 80;
    }
    size_t pl = strlen(path ? path : "") + strlen(enc) + 16;
    s->ws_path = malloc(pl);
    if (s->ws_path)
        snprintf(s->ws_path, pl, "/%s%sticket=%s", path ? path : "",
                 (path && strchr(path, '?')) ? "&" : "?", enc);
    free(enc);
    if (!s->ws_path) {
        free(copy);
        conn_lost(s);
        return;
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = s->ctx;
    ci.vhost = s->vhost;
    ci.address = ads;
    ci.port = port;
    ci.path = s->ws_path;
    ci.host = ads;
    ci.origin = ads;
    ci.protocol = NULL;
    ci.local_protocol_name = "dingtalk-stream";
    ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
    ci.opaque_user_data = s;
    ci.pwsi = &s->wsi;
    s->phase = P_CONNECTING;
    s->dead = false;
    log_info(MOD, "opening the stream at %s://%s:%d", prot, ads, port);
    struct lws *w = lws_client_connect_via_info(&ci);
    free(copy);
    if (!w && s->phase == P_CONNECTING) {
        log_warn(MOD, "cannot start the stream connection");
        s->wsi = NULL;
        conn_lost(s);
    }
}

static void start_open(struct dt_session *s)
{
    if (s->stopping || s->phase != P_IDLE)
        return;
    s->phase = P_OPENING;
    s->conn_started = timeutil_mono_us();
    s->st.opens++;
    char *body = NULL, *url = url_of(s, "/v1.0/gateway/connections/open");
    int rc = url ? dt_open_format(s->client_id, s->secret, &body) : DBOT_ERR_NOMEM;
    if (rc == 0)
        rc = httpc_post(s->http, url, NULL, body, on_opened, s, &s->open_req);
    if (body)
        memset(body, 0, strlen(body));
    free(body);
    free(url);
    if (rc) {
        log_error(MOD, "cannot open a connection: %s", dbot_strerror(rc));
        conn_lost(s);
        return;
    }
    arm(s, &s->sul_ka, &s->ka_armed, ka_tick, KA_TICK_US);
}

/* A robot message arrived: hand it to the engine, then answer it. */
static void on_robot(struct dt_session *s, const struct dt_frame *f)
{
    struct dt_robot_msg rm;
    struct dbot_diag d = {{0}};
    s->st.callbacks++;
    if (dt_robot_msg_parse(f->data, strlen(f->data), &rm, &d)) {
        s->st.callbacks_bad++;
        log_warn(MOD, "callback %s refused: %s (%llu bad callbacks so far)", f->message_id,
                 d.msg, (unsigned long long)s->st.callbacks_bad);
        ack(s, 400, f->message_id, NULL);
        return;
    }
    for (char *p = rm.sender; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    struct target *t = rm.group ? target_by_addr(s, rm.conversation_id) : NULL;
    char key[DT_ID_MAX + 8];
    snprintf(key, sizeof key, "dt:%s", rm.msg_id);
    struct chat_message cm = {
        .group = rm.group,
        .room = t ? t->name : NULL,
        .sender = rm.sender,
        .text = rm.text,
        .platform_id = key,
        .addressed = true, /* a group hands the robot only what @mentions it; a 1:1 chat is */
        .self_name = NULL,
        .address = rm.group ? rm.conversation_id : NULL,
    };
    if (s->h.on_message)
        s->h.on_message(&cm, s->h.arg);
    /* on_message returned: answered OK only when the message is recorded (chat.h); otherwise
     * an error answer, and DingTalk pushes it again */
    if (s->h.recorded && !s->h.recorded(key, s->h.arg)) {
        s->st.callbacks_unrecorded++;
        log_warn(MOD, "callback %s (message %s) was not recorded: answered with an error so "
                      "that DingTalk sends it again (%llu so far)", f->message_id, rm.msg_id,
                 (unsigned long long)s->st.callbacks_unrecorded);
        ack(s, 500, f->message_id, NULL);
    } else {
        ack(s, 200, f->message_id, NULL);
    }
    dt_robot_msg_cleanup(&rm);
}

static void handle_frame(struct dt_session *s, const char *buf, size_t len)
{
    struct dt_frame f;
    struct dbot_diag d = {{0}};
    s->st.frames_in++;
    if (dt_frame_parse(buf, len, &f, &d)) {
        s->st.frames_bad++;
        log_warn(MOD, "ignoring %s (%llu bad frames so far)", d.msg,
                 (unsigned long long)s->st.frames_bad);
        return;
    }
    switch (f.type) {
    case DT_SYSTEM:
        if (strcmp(f.topic, "ping") == 0) {
            s->st.pings++;
            ack(s, 200, f.message_id, f.data);
        } else if (strcmp(f.topic, "disconnect") == 0) {
            log_info(MOD, "the gateway asks to reconnect (SYSTEM disconnect)");
            ack(s, 200, f.message_id, NULL);
            conn_fail(s, NULL);
        } else {
            ack(s, 200, f.message_id, NULL);
        }
        break;
    case DT_EVENT:
        ack(s, 200, f.message_id, "{\"status\":\"SUCCESS\"}");
        break;
    case DT_CALLBACK:
        if (strcmp(f.topic, DT_TOPIC_ROBOT) == 0)
            on_robot(s, &f);
        else
            ack(s, 404, f.message_id, NULL);
        break;
    }
    dt_frame_cleanup(&f);
}

static int on_writeable(struct dt_session *s, struct lws *wsi)
{
    if (s->ping_due) {
        unsigned char buf[LWS_PRE + 8];
        s->ping_due = false;
        if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
            return -1;
    }
    for (int i = 0; i < 64 && s->ack_n; i++) {
        char *a = s->ackq[s->ack_head];
        size_t n = strlen(a);
        unsigned char *buf = malloc(LWS_PRE + n);
        if (!buf)
            return -1;
        memcpy(buf + LWS_PRE, a, n);
        int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
        free(buf);
        free(a);
        s->ack_head = (s->ack_head + 1) % ACKQ_MAX;
        s->ack_n--;
        if (w < (int)n)
            return -1;
        if (lws_send_pipe_choked(wsi))
            break;
    }
    if (s->ack_n || s->ping_due)
        lws_callback_on_writable(wsi);
    return 0;
}

static void wsi_gone(struct dt_session *s, struct lws *wsi)
{
    lws_set_opaque_user_data(wsi, NULL);
    if (s->wsi == wsi || (s->wsi == NULL && s->phase == P_CONNECTING)) {
        s->wsi = NULL;
        conn_lost(s);
    }
}

static int dt_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct dt_session *s = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (!s)
            return 0;
        s->st.opens_failed++;
        log_warn(MOD, "cannot open the stream: %s", in ? (const char *)in : "unknown error");
        wsi_gone(s, wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!s)
            return -1;
        s->wsi = wsi;
        s->phase = P_ONLINE;
        s->last_rx = s->ready_since = timeutil_mono_us();
        s->st.streams++;
        s->ready = true;
        log_info(MOD, "stream open: session ready");
        if (s->h.on_ready)
            s->h.on_ready(s->h.arg);
        pump(s);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        if (s) {
            s->ping_out = false;
            s->last_rx = timeutil_mono_us();
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!s)
            return -1;
        if (s->dead)
            return 0;
        s->last_rx = timeutil_mono_us();
        s->ping_out = false;
        if (!s->rx_skip && s->rx_len + len > DT_FRAME_MAX) {
            s->rx_skip = true;
            s->st.frames_bad++;
            log_warn(MOD, "ignoring a frame over %u bytes (%llu bad frames so far)",
                     DT_FRAME_MAX, (unsigned long long)s->st.frames_bad);
        }
        if (!s->rx_skip) {
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
        }
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
            return 0;
        if (s->rx_skip) {
            s->rx_skip = false;
            s->rx_len = 0;
            return 0;
        }
        {
            size_t n = s->rx_len;
            s->rx_len = 0;
            s->rx[n] = '\0';
            handle_frame(s, s->rx, n);
        }
        return s->dead ? -1 : 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!s || s->dead)
            return -1;
        return on_writeable(s, wsi);
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (s) {
            log_info(MOD, "stream closed");
            wsi_gone(s, wsi);
        }
        return 0;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
    case LWS_CALLBACK_WSI_DESTROY:
        if (s)
            wsi_gone(s, wsi);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- public ---- */

int dt_session_new(struct lws_context *ctx, const struct config *cfg, const struct chat_handler *h,
                   struct dt_session **out, struct dbot_diag *diag)
{
    const char *id = cfg->chat.dingtalk.client_id, *secret = cfg->chat.dingtalk.client_secret;
    if (!id || !*id || !secret || !*secret)
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "chat.dingtalk.client_id and client_secret are required");
    struct dt_session *s = calloc(1, sizeof *s);
    if (!s)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    s->ctx = ctx;
    if (h)
        s->h = *h;
    const char *robot = cfg->chat.dingtalk.robot_code && *cfg->chat.dingtalk.robot_code
                            ? cfg->chat.dingtalk.robot_code
                            : id;
    const char *api = cfg->chat.dingtalk.api_url && *cfg->chat.dingtalk.api_url
                          ? cfg->chat.dingtalk.api_url
                          : "https://api.dingtalk.com";
    s->client_id = strdup(id);
    s->secret = strdup(secret);
    s->robot_code = strdup(robot);
    s->api_url = strdup(api);
    int rc = 0;
    if (!s->client_id || !s->secret || !s->robot_code || !s->api_url) {
        rc = dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = "dealerbot-dingtalk";
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = dt_protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    const char *ca = cfg->chat.dingtalk.ca_file;
    if (ca && *ca)
        info.client_ssl_ca_filepath = ca;
    s->vhost = lws_create_vhost(ctx, &info);
    if (!s->vhost) {
        rc = dbot_diag_set(diag, DBOT_ERR_IO, "cannot create the DingTalk client (TLS setup "
                                              "failed; check chat.dingtalk.ca_file)");
        goto fail;
    }
    if ((rc = httpc_new(ctx, s->vhost, ca && *ca ? ca : NULL, DT_HTTP_WINDOW + 2, &s->http))) {
        dbot_diag_set(diag, rc, "cannot set up outgoing HTTP: %s", dbot_strerror(rc));
        goto fail;
    }
    *out = s;
    return 0;
fail:
    dt_session_free(s);
    return rc;
}

int dt_session_start(struct dt_session *s)
{
    s->stopping = false;
    start_open(s);
    return 0;
}

void dt_session_stop(struct dt_session *s)
{
    if (!s)
        return;
    s->stopping = true;
    disarm(&s->sul_reconnect, &s->reconnect_armed);
    disarm(&s->sul_ka, &s->ka_armed);
    disarm(&s->sul_pump, &s->pump_armed);
    bool was_ready = s->ready;
    s->ready = false;
    drop_all_msgs(s);
    for (size_t b = 0; b < HASH_BUCKETS; b++)
        for (struct target *t = s->by_name[b]; t; t = t->next_name)
            disarm(&t->sul, &t->armed);
    s->open_req = NULL;
    s->token_req = NULL;
    httpc_cancel_all(s->http);
    if (s->wsi)
        conn_fail(s, NULL);
    if (was_ready && s->h.on_down)
        s->h.on_down(s->h.arg);
    log_info(MOD, "stopping the session");
}

void dt_session_free(struct dt_session *s)
{
    if (!s)
        return;
    disarm(&s->sul_reconnect, &s->reconnect_armed);
    disarm(&s->sul_ka, &s->ka_armed);
    disarm(&s->sul_pump, &s->pump_armed);
    drop_all_msgs(s);
    if (s->wsi) {
        lws_set_opaque_user_data(s->wsi, NULL);
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        s->wsi = NULL;
    }
    for (size_t b = 0; b < HASH_BUCKETS; b++) {
        struct target *t = s->by_name[b];
        while (t) {
            struct target *n = t->next_name;
            disarm(&t->sul, &t->armed);
            free(t->name);
            free(t->address);
            free(t);
            t = n;
        }
    }
    httpc_free(s->http);
    ackq_clear(s);
    free(s->rx);
    free(s->ws_url);
    free(s->ws_path);
    if (s->secret)
        memset(s->secret, 0, strlen(s->secret));
    if (s->token)
        memset(s->token, 0, strlen(s->token));
    free(s->token);
    free(s->secret);
    free(s->client_id);
    free(s->robot_code);
    free(s->api_url);
    free(s);
}

bool dt_session_is_ready(const struct dt_session *s)
{
    return s && s->ready;
}

size_t dt_session_send_window(const struct dt_session *s)
{
    if (!s || !s->ready || s->n_msgs >= DT_SEND_WINDOW)
        return 0;
    return DT_SEND_WINDOW - s->n_msgs;
}

const struct dt_stats *dt_session_stats(const struct dt_session *s)
{
    return &s->st;
}

int dt_session_send(struct dt_session *s, const struct chat_out *m)
{
    if (!m || !m->to || !*m->to || !m->id || !*m->id || !m->text)
        return DBOT_ERR_INVALID;
    if (!s->ready)
        return DBOT_ERR_BUSY;
    if (msg_find(s, m->id))
        return 0; /* already on its way */
    if (s->n_msgs >= DT_SEND_WINDOW)
        return DBOT_ERR_BUSY;
    struct target *t;
    if (m->group) {
        t = target_by_name(s, true, m->to);
        if (!t || !t->address) {
            log_debug(MOD, "message %s: room %s has no DingTalk group (dealerbot rooms import, "
                           "or bind in the group)", m->id, m->to);
            return DBOT_ERR_UNAVAILABLE;
        }
    } else {
        t = target_get(s, false, m->to);
        if (!t)
            return DBOT_ERR_NOMEM;
    }
    if (t->refused)
        return DBOT_ERR_UNAVAILABLE;
    struct dmsg *d = calloc(1, sizeof *d);
    if (!d || !(d->id = strdup(m->id))) {
        free(d);
        return DBOT_ERR_NOMEM;
    }
    int rc = dt_markdown_split(m->text, &d->parts, &d->n_parts, d->title, sizeof d->title - 16);
    if (rc) {
        free(d->id);
        free(d);
        if (rc == DBOT_ERR_INVALID)
            log_warn(MOD, "message %s cannot be sent: its text is not UTF-8", m->id);
        return rc;
    }
    d->s = s;
    d->t = t;
    d->queued_us = timeutil_mono_us();
    uint32_t b = hash_str(d->id);
    d->next_id = s->msgs[b];
    s->msgs[b] = d;
    s->n_msgs++;
    enqueue(s, d, false);
    pump(s);
    return 0;
}

int dt_session_sync_room(struct dt_session *s, const struct chat_room *room)
{
    if (!room || !room->name || !*room->name)
        return DBOT_ERR_INVALID;
    struct target *t = target_get(s, true, room->name);
    if (!t)
        return DBOT_ERR_NOMEM;
    const char *addr = room->address && *room->address ? room->address : NULL;
    if ((addr == NULL) != (t->address == NULL) || (addr && strcmp(addr, t->address) != 0)) {
        char *na = NULL;
        if (addr && !(na = strdup(addr)))
            return DBOT_ERR_NOMEM;
        addr_unlink(s, t);
        free(t->address);
        t->address = na;
        if (na) {
            struct target *other = target_by_addr(s, na);
            if (other && other != t) {
                /* the group moved to this room: the old name loses it */
                addr_unlink(s, other);
                free(other->address);
                other->address = NULL;
            }
            uint32_t b = hash_str(na);
            t->next_addr = s->by_addr[b];
            s->by_addr[b] = t;
        }
        t->refused = false;
        t->refused_attempt = 0;
        disarm(&t->sul, &t->armed);
        if (na) {
            log_info(MOD, "room %s is DingTalk group %s", t->name, na);
            if (s->ready && s->h.on_room_ready)
                s->h.on_room_ready(t->name, s->h.arg);
        } else {
            log_warn(MOD, "room %s has no DingTalk group: its messages are held until it is "
                          "mapped", t->name);
        }
    }
    return 0;
}
