/*
 * http_int.h — private to src/http/: the server, one connection's request/response state, the
 * group-commit queue, and the helpers the route handlers share.
 *
 * A struct conn is the lws per-session allocation of one HTTP connection (lws owns and frees
 * the memory). It carries one transaction at a time. A queued intake (struct pending) lives in
 * the server's queue and points back at its conn; the conn points at it. Both links are cut in
 * conn_detach() when lws reports the connection closed, so the commit never touches a freed
 * conn and a conn never outlives the links.
 */
#ifndef DEALERBOT_HTTP_INT_H
#define DEALERBOT_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "dealerbot/complaint.h"
#include "dealerbot/config.h"
#include "dealerbot/directory.h"
#include "dealerbot/engine.h"
#include "dealerbot/histogram.h"
#include "dealerbot/http.h"
#include "dealerbot/store.h"

/* What a request asked for, once the path is matched. */
enum route {
    ROUTE_NONE = 0,
    ROUTE_HEALTHZ,
    ROUTE_METRICS,         /* /metrics, Prometheus text */
    ROUTE_COMPLAINTS,      /* /api/v1/complaints */
    ROUTE_COMPLAINT,       /* /api/v1/complaints/{id} */
    ROUTE_DEALERS,         /* /api/v1/dealers */
    ROUTE_DEALER,          /* /api/v1/dealers/{code} */
    ROUTE_SATISFACTION,    /* /api/v1/complaints/{id}/satisfaction */
    ROUTE_BROADCASTS,      /* /api/v1/broadcasts */
    ROUTE_BROADCAST,       /* /api/v1/broadcasts/{id} */
    ROUTE_UNDERPERFORMERS, /* /api/v1/underperformers */
    ROUTE_UNDER_ACTION,    /* /api/v1/underperformers/evaluate */
    ROUTE_SCORECARDS,      /* /api/v1/scorecards */
    ROUTE_PENALTIES,       /* /api/v1/penalties */
    ROUTE_PENALTY_ACTION,  /* /api/v1/penalties/{id}/appeal|uphold|waive */
    ROUTE_HONOUR,          /* /api/v1/reports/honour */
};

#define HTTP_ARG_MAX 128   /* the {id} / {code} path segment */

struct pending;
struct reader_job;

/* A request parked while a reader thread (readers.h, through the engine) does its read: a
 * handler embeds this first in its own request struct. conn is cut by conn_detach() when the
 * client goes (which also cancels the job); the reader fills status/msg/buf, the loop thread
 * answers from them in http__park_finish(). */
struct park {
    struct conn *conn;     /* NULL once the client left (loop thread only) */
    const char *what;      /* "the scorecards", for the error line; static */
    int status;            /* reader: 200 with buf, or an error status with msg */
    char msg[200];
    unsigned char *buf;    /* LWS_PRE headroom, then len bytes of JSON */
    size_t len;
    int64_t t0;            /* monotonic us when parked */
};

struct conn {
    struct http_server *srv;
    struct lws *wsi;
    bool active;           /* a transaction is in hand (counted in srv->n_active) */

    /* request */
    int method;            /* LWSHUMETH_* */
    enum route route;
    char arg[HTTP_ARG_MAX];
    bool in_body;          /* lws will still deliver body bytes */
    bool keep_body;        /* collect them for the handler */
    char *body;
    size_t body_len, body_cap;
    size_t drained;        /* bytes thrown away after an early answer */
    struct pending *pending; /* queued intake, or NULL */
    /* A read parked on a reader thread, or NULL: the job's handle and its request, whose
     * link back to this conn conn_detach() cuts (and cancels the job). */
    struct reader_job *job;
    struct park *park;
    int64_t started_us;    /* monotonic, for the debug timing line */

    /* response: LWS_PRE bytes of headroom, then resp_len bytes of JSON */
    int status;
    unsigned char *resp;
    size_t resp_len, resp_off;
    const char *ctype;     /* Content-Type of the answer, static; NULL = application/json */
    const char *allow;     /* Allow header for 405, static */
    char location[64];     /* Location header for 201, "" when none */
    bool want_auth;        /* add WWW-Authenticate: Bearer (401) */
    int retry_after;       /* > 0: add Retry-After: <seconds> (503) */
    bool close_after;      /* Connection: close; hang up once written and drained */
    bool resp_ready, hdr_sent, resp_done;
    /* the answer when even allocating the answer failed */
    unsigned char fallback[LWS_PRE + 96];
};

/* One queued intake. */
struct pending {
    struct intake in;
    struct conn *conn;     /* NULL once the client went away */
};

struct http_server {
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    const struct config *cfg;
    struct engine *eng;
    struct lws_protocols protocols[2];
    char iface[64];
    int port;
    size_t max_body;
    int64_t window_us;
    bool stopping;

    lws_sorted_usec_list_t sul_commit; /* the group-commit timer */
    bool commit_armed;
    struct pending queue[HTTP_BATCH_MAX];
    int n_queued;
    struct intake_result results[HTTP_BATCH_MAX];

    int n_active;          /* transactions in hand */
    int n_conns, max_conns; /* open connections, and the cap (http.max_connections) */
    uint64_t n_refused;    /* connections refused at the cap */
    uint64_t n_batches, n_committed;
    uint64_t n_status[6];  /* answers written, by status class: [2] = 2xx ... [5] = 5xx */
    struct histogram commit_us; /* duration of each group commit */
    http_metrics_fn metrics_fn;
    void *metrics_arg;
};

/* ---- server.c: responses ---- */

/* Sets the connection's answer to `doc` (stolen: decref'd here) with `status`, and asks lws for
 * a writeable callback when the request body is no longer arriving. On a serialisation
 * failure the answer becomes a 500. */
void http__respond_json(struct conn *c, int status, json_t *doc);

/* Serialises doc (borrowed) into a new buffer with LWS_PRE bytes of headroom and a trailing
 * newline, as http__respond_take() wants it. Pure: safe on a reader thread. 0, or
 * DBOT_ERR_NOMEM. */
int http__json_buffer(const json_t *doc, unsigned char **buf, size_t *len);

/* Sets the answer to buf (LWS_PRE headroom, then len bytes of JSON; taken) with `status`. */
void http__respond_take(struct conn *c, int status, unsigned char *buf, size_t len);

/* Answers {"error": "<formatted line>"}. */
void http__respond_error(struct conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define QUERY_FRAG_MAX 256 /* one query parameter, key=value, in bytes */

/* Reads the i-th query parameter ("key=value", lws has already URL-decoded it) into
 * frag[0..cap): frag becomes the key, *val the value (after '=', "" when there is none).
 * Returns 1, 0 when there is no i-th parameter, or -1 after answering 400 (too long). */
int http__query_param(struct conn *c, int i, char *frag, size_t cap, const char **val);

/* ---- server.c: group commit ---- */

/* Queues a validated intake for the next group commit; takes ownership of *in (its fields are
 * moved out and *in is zeroed). The answer is written after the commit. */
void http__enqueue_intake(struct conn *c, struct intake *in);

/* ---- api_complaints.c ---- */

void http__complaints_post(struct conn *c);   /* body complete */
void http__complaints_list(struct conn *c);
void http__complaint_get(struct conn *c);
/* POST /api/v1/complaints/{id}/satisfaction: the return visit's score. */
void http__satisfaction_post(struct conn *c);

/* api_broadcasts.c: POST /api/v1/broadcasts, GET /api/v1/broadcasts/{id}. */
void http__broadcasts_post(struct conn *c);
void http__broadcast_get(struct conn *c);

/* api_underperformers.c: GET /api/v1/underperformers, POST .../evaluate */
void http__underperformers_get(struct conn *c);
void http__underperformers_evaluate(struct conn *c);
/* Writes the answer of one committed (or failed) queued intake. */
void http__intake_answer(struct conn *c, const struct intake *in,
                         const struct intake_result *res, int batch_rc);

/* ---- api_dealers.c ---- */

void http__dealers_list(struct conn *c);
void http__dealer_get(struct conn *c);
void http__dealer_put(struct conn *c);        /* body complete */

/* ---- api_scorecards.c ---- */

/* GET /api/v1/scorecards?window=90d|month=YYYY-MM|quarter=YYYYQn[&dealer=CODE] */
void http__scorecards_get(struct conn *c);

/* ---- server.c: parked reads ---- */

/* After an engine_*_start() call for p (what: "compute the scorecards"): rc 0 parks the
 * request (c->park = p, c->job = job, a timeout for the wait); DBOT_ERR_BUSY answers 503 with
 * Retry-After, any other error 500; on an error p is freed (free(p), the caller's struct must
 * start with it and hold nothing else to free). */
void http__park(struct conn *c, struct park *p, int rc, struct reader_job *job);

/* Loop thread, from the read's done: answers the client if it is still there (rc != 0: 500;
 * else p->status with p->buf or p->msg) and frees p->buf; the owner frees its own struct
 * (which starts with p) after. */
void http__park_finish(struct park *p, int rc, bool cancelled);

/* ---- api_penalties.c ---- */
void http__penalties_get(struct conn *c);
void http__penalty_action(struct conn *c);  /* body complete; c->arg is "{id}/{action}" */
void http__honour_post(struct conn *c);     /* body complete (ignored: {}) */

/* ---- json_out.c: our structs -> new json_t (NULL on allocation failure) ---- */

json_t *http__time_json(int64_t t);            /* RFC 3339 local time, or null for 0 */
json_t *http__str_json(const char *s);         /* string, or null for NULL */
/* The complaint; "sla" shows each milestone's deadline with the time left or overdue at
 * `now`. */
json_t *http__complaint_json(const struct complaint *c, int64_t now);
json_t *http__dealer_json(const struct dealer *d);
json_t *http__timeline_event_json(const struct timeline_event *ev);

#endif
