/*
 * server.c — the HTTP side of the intake API: the lws vhost and protocol, request routing,
 * authentication, body collection, answer writing and the group-commit queue. The route
 * handlers live in api_complaints.c and api_dealers.c; JSON rendering in json_out.c.
 *
 * One transaction on a connection goes through these lws callbacks:
 *
 *   HTTP             headers are in: match the route, check token, method, Content-Type and
 *                    Content-Length. A GET is answered at once. A POST/PUT waits for its body.
 *   HTTP_BODY        body bytes: collected up to http.max_body (then 413), or dropped when the
 *                    answer was already decided from the headers.
 *   BODY_COMPLETION  the handler runs; an intake is queued for the next group commit.
 *   HTTP_WRITEABLE   the answer goes out (headers, then the JSON in chunks); then the
 *                    connection is made ready for the next request, or closed.
 *   CLOSED_HTTP      the client went away: cut the link to a queued intake (it is still
 *                    committed, nobody is told) and free what the connection held.
 *
 * An answer decided while the body is still arriving is held back until the body is in, so
 * the connection stays usable — except when the body is over the limit: then the answer goes
 * out at once with "Connection: close", at most DRAIN_MAX further bytes are read and dropped
 * (so the client is not reset before it reads the answer), and the connection is closed.
 *
 * Pipelining: bytes that arrive after a POST/PUT body but before its answer (a pipelined
 * request) make lws 4.1 re-report BODY_COMPLETION in a loop in which the writeable callback
 * may never come; the answer is then written from that callback and the connection closed
 * after it, so the client resends the rest (see on_body_done). Pipelined GETs work as usual.
 * Two other lws 4.1 facts shape this file: rx flow control on an h1 server connection also
 * stops its POLLOUT handling (so it cannot be used to hold input back), and an IPv4 address
 * given as a vhost's iface is bound as the IPv6 wildcard unless IPv6 is disabled on the vhost.
 */
#include "http_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dealerbot/hostport.h"
#include "dealerbot/log.h"
#include "dealerbot/metrics.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"

#define MOD "http"
#define WRITE_CHUNK 16384            /* bytes per lws_write of an answer */
#define DRAIN_MAX (1024 * 1024)      /* body bytes dropped after an early answer */
#define AUTH_HEADER_MAX 1024

/* Bit per LWSHUMETH_* method. */
#define M(x) (1u << (x))

static const char *const method_names[] = {
    "GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD",
};

static const char *method_name(int m)
{
    if (m >= 0 && (size_t)m < sizeof method_names / sizeof method_names[0])
        return method_names[m];
    return "?";
}

/* The routing table: path shape -> methods and handlers. Paths under /api/ need the token. */
struct route_def {
    enum route route;
    const char *name;
    unsigned methods;
    const char *allow;
};

static const struct route_def routes[] = {
    {ROUTE_HEALTHZ, "healthz", M(LWSHUMETH_GET), "GET"},
    {ROUTE_METRICS, "metrics", M(LWSHUMETH_GET), "GET"},
    {ROUTE_COMPLAINTS, "complaints", M(LWSHUMETH_GET) | M(LWSHUMETH_POST), "GET, POST"},
    {ROUTE_COMPLAINT, "complaint", M(LWSHUMETH_GET), "GET"},
    {ROUTE_DEALERS, "dealers", M(LWSHUMETH_GET), "GET"},
    {ROUTE_DEALER, "dealer", M(LWSHUMETH_GET) | M(LWSHUMETH_PUT), "GET, PUT"},
    {ROUTE_SATISFACTION, "satisfaction", M(LWSHUMETH_POST), "POST"},
    {ROUTE_BROADCASTS, "broadcasts", M(LWSHUMETH_POST), "POST"},
    {ROUTE_BROADCAST, "broadcast", M(LWSHUMETH_GET), "GET"},
    {ROUTE_UNDERPERFORMERS, "underperformers", M(LWSHUMETH_GET), "GET"},
    {ROUTE_UNDER_ACTION, "underperformers action", M(LWSHUMETH_POST), "POST"},
    {ROUTE_SCORECARDS, "scorecards", M(LWSHUMETH_GET), "GET"},
    {ROUTE_PENALTIES, "penalties", M(LWSHUMETH_GET), "GET"},
    {ROUTE_PENALTY_ACTION, "penalty action", M(LWSHUMETH_POST), "POST"},
    {ROUTE_HONOUR, "honour roll", M(LWSHUMETH_POST), "POST"},
};

static const struct route_def *route_def(enum route r)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (routes[i].route == r)
            return &routes[i];
    return NULL;
}

/* Collections with an item below them: "/api/v1/complaints" and "/api/v1/complaints/{id}". */
static const struct {
    const char *prefix;
    enum route collection, item;
} collections[] = {
    {"/api/v1/complaints", ROUTE_COMPLAINTS, ROUTE_COMPLAINT},
    {"/api/v1/dealers", ROUTE_DEALERS, ROUTE_DEALER},
    {"/api/v1/broadcasts", ROUTE_BROADCASTS, ROUTE_BROADCAST},
    {"/api/v1/underperformers", ROUTE_UNDERPERFORMERS, ROUTE_UNDER_ACTION},
};

/* Matches a (decoded, cleaned) path; the {id}/{code} segment is copied into arg. */
static enum route match_route(const char *path, char *arg, size_t arg_len)
{
    if (strcmp(path, "/healthz") == 0)
        return ROUTE_HEALTHZ;
    if (strcmp(path, "/metrics") == 0)
        return ROUTE_METRICS;
    if (strcmp(path, "/api/v1/scorecards") == 0)
        return ROUTE_SCORECARDS;
    if (strcmp(path, "/api/v1/penalties") == 0)
        return ROUTE_PENALTIES;
    if (strcmp(path, "/api/v1/reports/honour") == 0)
        return ROUTE_HONOUR;
    if (strncmp(path, "/api/v1/penalties/", 18) == 0) { /* {id}/{action}, checked there */
        const char *rest = path + 18, *slash = strchr(rest, '/');
        size_t len = strlen(rest);
        if (!slash || slash == rest || len >= arg_len || strchr(slash + 1, '/'))
            return ROUTE_NONE;
        memcpy(arg, rest, len + 1);
        return ROUTE_PENALTY_ACTION;
    }
    for (size_t i = 0; i < sizeof collections / sizeof collections[0]; i++) {
        size_t n = strlen(collections[i].prefix);
        if (strncmp(path, collections[i].prefix, n) != 0)
            continue;
        const char *rest = path + n;
        if (*rest == '\0')
            return collections[i].collection;
        if (*rest != '/')
            continue;
        rest++;
        size_t len = strlen(rest);
        const char *slash = strchr(rest, '/');
        /* one action below an item: /api/v1/complaints/{id}/satisfaction */
        if (slash && collections[i].item == ROUTE_COMPLAINT &&
            strcmp(slash, "/satisfaction") == 0 && slash > rest &&
            (size_t)(slash - rest) < arg_len) {
            memcpy(arg, rest, (size_t)(slash - rest));
            arg[slash - rest] = '\0';
            return ROUTE_SATISFACTION;
        }
        if (len == 0 || len >= arg_len || slash)
            return ROUTE_NONE;
        memcpy(arg, rest, len + 1);
        return collections[i].item;
    }
    return ROUTE_NONE;
}

/* ---- the listen address ---- */

int http_listen_parse(const char *listen, char *iface, size_t iface_len, int *port,
                      struct dbot_diag *diag)
{
    const char *host, *ps;
    size_t host_len;

    if (!listen || !*listen)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "http.listen: empty, expected host:port");
    const char *why = hostport_split(listen, &host, &host_len, &ps);
    if (why)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "http.listen: \"%s\": %s", listen, why);
    long v = hostport_port(ps);
    if (v < 0)
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "http.listen: \"%s\": port must be a number 0-65535", listen);

    char h[64];
    if (host_len >= sizeof h)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "http.listen: host part too long");
    memcpy(h, host, host_len);
    h[host_len] = '\0';
    const char *use = h;
    if (h[0] == '\0' || strcmp(h, "*") == 0 || strcmp(h, "0.0.0.0") == 0)
        use = "";
    else if (strcasecmp(h, "localhost") == 0)
        use = "127.0.0.1";
    if (strlen(use) >= iface_len)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "http.listen: host part too long");
    memcpy(iface, use, strlen(use) + 1);
    *port = (int)v;
    return 0;
}

/* ---- answers ---- */

/* Whether the answer can be written now: not while body bytes are still due, unless the
 * connection is to be closed anyway. */
static void answer_ready(struct conn *c)
{
    c->resp_ready = true;
    if (c->wsi && (!c->in_body || c->close_after))
        lws_callback_on_writable(c->wsi);
}

static void respond_fallback(struct conn *c)
{
    static const char body[] = "{\"error\":\"internal error: out of memory\"}\n";
    _Static_assert(sizeof body - 1 <= sizeof c->fallback - LWS_PRE, "fallback too small");
    free(c->resp);
    c->resp = NULL;
    memcpy(c->fallback + LWS_PRE, body, sizeof body - 1);
    c->resp_len = sizeof body - 1;
    c->status = 500;
    c->location[0] = '\0';
}

/* Compact, and reals with 12 significant digits: 2.9, not 2.8999999999999999. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))

/* The largest answer written: far above any list the API gives. */
#define ANSWER_MAX (32u * 1024 * 1024)

/* The document is written once into a buffer that grows as jansson hands out pieces, with
 * LWS_PRE bytes of headroom in front (measuring it first with json_dumpb and writing it again
 * cost a second walk of the tree: a tenth of an intake's CPU). */
struct answer_buf {
    unsigned char *p;
    size_t len, cap; /* len counts from p + LWS_PRE */
};

static int answer_append(const char *piece, size_t size, void *arg)
{
    struct answer_buf *a = arg;
    if (a->len + size + 1 > a->cap - LWS_PRE) {
        size_t cap = a->cap;
        while (cap - LWS_PRE < a->len + size + 1)
            cap *= 2;
        if (cap - LWS_PRE > ANSWER_MAX)
            return -1;
        unsigned char *np = realloc(a->p, cap);
        if (!np)
            return -1;
        a->p = np;
        a->cap = cap;
    }
    memcpy(a->p + LWS_PRE + a->len, piece, size);
    a->len += size;
    return 0;
}

int http__json_buffer(const json_t *doc, unsigned char **buf, size_t *len)
{
    struct answer_buf a = {.cap = LWS_PRE + 2048};
    a.p = doc ? malloc(a.cap) : NULL;
    if (!a.p || json_dump_callback(doc, answer_append, &a, DUMP_FLAGS) != 0 || a.len == 0) {
        free(a.p);
        return DBOT_ERR_NOMEM;
    }
    a.p[LWS_PRE + a.len] = '\n'; /* answer_append kept a byte for it */
    *buf = a.p;
    *len = a.len + 1;
    return 0;
}

void http__respond_take(struct conn *c, int status, unsigned char *buf, size_t len)
{
    if (c->resp_ready) { /* one answer per request; a second one is a bug */
        free(buf);
        return;
    }
    c->status = status;
    free(c->resp);
    c->resp = buf;
    c->resp_len = len;
    c->resp_off = 0;
    answer_ready(c);
}

void http__respond_json(struct conn *c, int status, json_t *doc)
{
    if (c->resp_ready) { /* one answer per request; a second one is a bug */
        json_decref(doc);
        return;
    }
    unsigned char *buf;
    size_t len;
    if (http__json_buffer(doc, &buf, &len) == 0) {
        json_decref(doc);
        http__respond_take(c, status, buf, len);
        return;
    }
    json_decref(doc);
    respond_fallback(c);
    c->resp_off = 0;
    answer_ready(c);
}

/* ---- parked reads ---- */

/* How long a request may stay parked (waiting for a reader, then being read) before lws
 * closes it, which cancels its job; and how long the answer then has to go out. lws's own
 * timeout for a request whose answer is pending would otherwise close it after its default
 * few seconds, which a queue of reports on a busy machine can exceed. */
#define PARK_TIMEOUT_S 120
#define WRITE_TIMEOUT_S 60
#define RETRY_AFTER_S 1

void http__park(struct conn *c, struct park *p, int rc, struct reader_job *job)
{
    if (rc == 0) {
        p->conn = c;
        c->park = p;
        c->job = job;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, PARK_TIMEOUT_S);
        return;
    }
    const char *what = p->what;
    free(p);
    if (rc == DBOT_ERR_BUSY) {
        c->retry_after = RETRY_AFTER_S;
        http__respond_error(c, 503, "busy: every report reader is taken; retry in %d s",
                            RETRY_AFTER_S);
    } else {
        http__respond_error(c, 500, "could not read %s: %s", what, dbot_strerror(rc));
    }
}

void http__park_finish(struct park *p, int rc, bool cancelled)
{
    struct conn *c = cancelled ? NULL : p->conn;
    if (c) {
        c->park = NULL;
        c->job = NULL;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, WRITE_TIMEOUT_S);
        if (rc) {
            http__respond_error(c, 500, "could not read %s: %s", p->what, dbot_strerror(rc));
        } else if (p->status != 200 || !p->buf) {
            http__respond_error(c, p->status ? p->status : 500, "%s",
                                p->msg[0] ? p->msg : "internal error");
        } else {
            log_debug(MOD, "%s ready in %lld ms", p->what,
                      (long long)(timeutil_mono_us() - p->t0) / 1000);
            http__respond_take(c, 200, p->buf, p->len);
            p->buf = NULL;
        }
    }
    free(p->buf);
    p->buf = NULL;
}

int http__query_param(struct conn *c, int i, char *frag, size_t cap, const char **val)
{
    int flen = lws_hdr_fragment_length(c->wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
    if (flen <= 0)
        return 0;
    if ((size_t)flen >= cap ||
        lws_hdr_copy_fragment(c->wsi, frag, (int)cap, WSI_TOKEN_HTTP_URI_ARGS, i) < 0) {
        http__respond_error(c, 400, "query parameter %d is too long", i + 1);
        return -1;
    }
    char *eq = strchr(frag, '=');
    *val = eq ? eq + 1 : "";
    if (eq)
        *eq = '\0';
    return 1;
}

void http__respond_error(struct conn *c, int status, const char *fmt, ...)
{
    char msg[DBOT_DIAG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_scrub(msg);
    json_t *doc = json_object();
    if (doc && json_object_set_new(doc, "error", json_string(msg)) != 0) {
        json_decref(doc);
        doc = NULL;
    }
    http__respond_json(c, status, doc);
}

/* ---- connection state ---- */

/* Frees what the connection holds and cuts the link to a queued intake. Idempotent: lws may
 * report the end of a connection more than once (DROP_PROTOCOL, then CLOSED_HTTP). */
static void conn_detach(struct conn *c)
{
    if (c->park) {
        log_debug(MOD, "client left while %s were being read; the read is dropped",
                  c->park->what);
        c->park->conn = NULL;
        engine_read_cancel(c->srv->eng, c->job);
        c->park = NULL;
        c->job = NULL;
    }
    if (c->pending) {
        log_debug(MOD, "client left while its complaint (external_id %s) was queued; "
                  "it is committed all the same", c->pending->in.external_id);
        c->pending->conn = NULL;
        c->pending = NULL;
    }
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_cap = 0;
    free(c->resp);
    c->resp = NULL;
    if (c->active) {
        c->active = false;
        if (c->srv)
            c->srv->n_active--;
    }
}

static int conn_write(struct conn *c)
{
    struct lws *wsi = c->wsi;
    unsigned char *body = c->resp ? c->resp : c->fallback;

    if (!c->hdr_sent) {
        unsigned char hb[LWS_PRE + 1024];
        unsigned char *start = hb + LWS_PRE, *p = start, *end = hb + sizeof hb - 1;
        if (lws_add_http_common_headers(wsi, (unsigned)c->status,
                                        c->ctype ? c->ctype : "application/json",
                                        c->resp_len, &p, end))
            return -1;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                        (const unsigned char *)"no-store", 8, &p, end))
            return -1;
        if (c->allow &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
                                        (const unsigned char *)c->allow,
                                        (int)strlen(c->allow), &p, end))
            return -1;
        if (c->location[0] &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)"location:",
                                        (const unsigned char *)c->location,
                                        (int)strlen(c->location), &p, end))
            return -1;
        if (c->want_auth &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
                                        (const unsigned char *)"Bearer", 6, &p, end))
            return -1;
        if (c->retry_after > 0) {
            char ra[16];
            int n = snprintf(ra, sizeof ra, "%d", c->retry_after);
            if (lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                            (const unsigned char *)ra, n, &p, end))
                return -1;
        }
        if (c->close_after &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
                                        (const unsigned char *)"close", 5, &p, end))
            return -1;
        if (lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        c->hdr_sent = true;
    }

    size_t left = c->resp_len - c->resp_off;
    size_t chunk = left > WRITE_CHUNK ? WRITE_CHUNK : left;
    int flags = chunk == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP;
    if (lws_write(wsi, body + LWS_PRE + c->resp_off, chunk, (enum lws_write_protocol)flags) <
        (int)chunk)
        return -1;
    c->resp_off += chunk;
    if (c->resp_off < c->resp_len) {
        lws_callback_on_writable(wsi);
        return 0;
    }

    c->resp_done = true;
    if (c->status >= 200 && c->status < 600)
        c->srv->n_status[c->status / 100]++;
    log_debug(MOD, "%s %s -> %d (%lld us)", method_name(c->method),
              route_def(c->route) ? route_def(c->route)->name : "-", c->status,
              (long long)(timeutil_mono_us() - c->started_us));
    if (c->close_after)
        return c->in_body ? 0 : -1; /* hang up now, or once the rest of the body is in */

    conn_detach(c);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- request checks ---- */

/* Equal without an early exit: the time depends only on the expected token's length. */
static bool token_equal(const char *given, size_t given_len, const char *want)
{
    size_t want_len = strlen(want);
    volatile unsigned char diff = (unsigned char)(given_len != want_len);
    for (size_t i = 0; i < want_len; i++) {
        unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
        diff |= (unsigned char)(g ^ (unsigned char)want[i]);
    }
    return diff == 0 && want_len > 0;
}

/* 0 = authorised; otherwise the 401 line. */
static const char *check_token(struct lws *wsi, const char *want)
{
    char buf[AUTH_HEADER_MAX];
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (total <= 0)
        return "missing bearer token (Authorization: Bearer <token>)";
    if ((size_t)total >= sizeof buf ||
        lws_hdr_copy(wsi, buf, (int)sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
        return "invalid bearer token";
    const char *p = buf;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return "missing bearer token (Authorization: Bearer <token>)";
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strlen(p);
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (!want || !token_equal(p, len, want))
        return "invalid bearer token";
    return NULL;
}

static const char *skip_ws(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

static const char *trim_end(const char *s, const char *end)
{
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return end;
}

/* application/json, optionally with charset=utf-8 (other parameters are ignored). */
static bool content_type_is_json(struct lws *wsi)
{
    char buf[256];
    if (lws_hdr_copy(wsi, buf, (int)sizeof buf, WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
        return false;
    const char *end = buf + strlen(buf);
    const char *semi = strchr(buf, ';');
    const char *s = skip_ws(buf, end), *e = trim_end(s, semi ? semi : end);
    if ((size_t)(e - s) != 16 || strncasecmp(s, "application/json", 16) != 0)
        return false;
    while (semi) {
        const char *ps = skip_ws(semi + 1, end);
        semi = strchr(ps, ';');
        const char *pe = trim_end(ps, semi ? semi : end);
        if ((size_t)(pe - ps) >= 8 && strncasecmp(ps, "charset=", 8) == 0) {
            const char *v = ps + 8;
            if (pe - v >= 2 && *v == '"' && pe[-1] == '"') {
                v++;
                pe--;
            }
            if ((size_t)(pe - v) != 5 || strncasecmp(v, "utf-8", 5) != 0)
                return false;
        }
    }
    return true;
}

/* Content-Length: -1 when absent, -2 when malformed, else the value. */
static long long content_length(struct lws *wsi)
{
    char buf[32];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return -1;
    if (lws_hdr_copy(wsi, buf, (int)sizeof buf, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return -2;
    const char *p = buf;
    while (*p == ' ')
        p++;
    long long v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (++digits > 15)
            return -2;
        v = v * 10 + (*p - '0');
    }
    while (*p == ' ')
        p++;
    return digits && !*p ? v : -2;
}

static void healthz(struct conn *c)
{
    json_t *doc = json_pack("{s:s}", "status", "ok");
    http__respond_json(c, 200, doc);
}

static void server_metrics(FILE *f, const struct http_server *srv)
{
    metrics_family(f, "dealerbot_http_responses_total", "counter",
                   "HTTP answers written, by status class.");
    static const char *const classes[] = {"", "", "2xx", "3xx", "4xx", "5xx"};
    for (int k = 2; k <= 5; k++)
        metrics_sample(f, "dealerbot_http_responses_total", "code", classes[k],
                       (double)srv->n_status[k]);
    metrics_value(f, "dealerbot_intake_complaints_total", "counter",
           "Complaints taken through the API group commit (new and repeated external_id).",
           (double)srv->n_committed);
    metrics_value(f, "dealerbot_intake_commits_total", "counter", "Group commits of the intake API.",
           (double)srv->n_batches);
    metrics_summary(f, "dealerbot_intake_commit_seconds",
                         "Duration of one intake group commit.", &srv->commit_us);
    long pages = 0;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm) {
        long size = 0;
        if (fscanf(statm, "%ld %ld", &size, &pages) != 2)
            pages = 0;
        fclose(statm);
    }
    if (pages > 0)
        metrics_value(f, "process_resident_memory_bytes", "gauge",
                           "Resident memory size in bytes.",
                           (double)pages * (double)sysconf(_SC_PAGESIZE));
}

/* GET /metrics: text/plain in the Prometheus exposition format 0.0.4. */
static void metrics(struct conn *c)
{
    struct http_server *srv = c->srv;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        http__respond_error(c, 500, "internal error: out of memory");
        return;
    }
    server_metrics(f, srv);
    if (srv->metrics_fn)
        srv->metrics_fn(f, srv->metrics_arg);
    if (fclose(f) != 0 || !text) {
        free(text);
        http__respond_error(c, 500, "internal error: out of memory");
        return;
    }
    unsigned char *buf = malloc(LWS_PRE + len + 1);
    if (!buf) {
        free(text);
        http__respond_error(c, 500, "internal error: out of memory");
        return;
    }
    memcpy(buf + LWS_PRE, text, len);
    free(text);
    free(c->resp);
    c->resp = buf;
    c->resp_len = len;
    c->resp_off = 0;
    c->status = 200;
    c->ctype = "text/plain; version=0.0.4; charset=utf-8";
    answer_ready(c);
}

/* The headers are in: decide what this request is. Returns 0 (lws goes on) or -1 (hang up). */
static int on_request(struct lws *wsi, struct conn *c, const char *path)
{
    struct http_server *srv = lws_vhost_user(lws_get_vhost(wsi));
    char *uri;
    int uri_len;

    conn_detach(c);
    memset(c, 0, sizeof *c);
    c->srv = srv;
    c->wsi = wsi;
    c->active = true;
    srv->n_active++;
    c->started_us = timeutil_mono_us();
    c->method = lws_http_get_uri_and_method(wsi, &uri, &uri_len);

    bool body_method = c->method == LWSHUMETH_POST || c->method == LWSHUMETH_PUT ||
                       c->method == LWSHUMETH_PATCH;
    long long cl = content_length(wsi);
    c->in_body = body_method || cl > 0;

    if (cl == -2) {
        c->close_after = true;
        c->in_body = false;
        http__respond_error(c, 400, "malformed Content-Length");
        return 0;
    }
    if (body_method && cl < 0) {
        /* lws would wait for a body of unknown length: answer and hang up. */
        c->close_after = true;
        c->in_body = false;
        http__respond_error(c, 411, "Content-Length required");
        return 0;
    }
    /* Whatever the answer, a body over the limit is not waited for: answer at once, drop
     * what arrives for a while, hang up. */
    bool big = cl > (long long)srv->max_body;
    c->close_after = big;

    if (strncmp(path, "/api/", 5) == 0) {
        const char *why = check_token(wsi, srv->cfg->http.token);
        if (why) {
            c->want_auth = true;
            http__respond_error(c, 401, "%s", why);
            return 0;
        }
    }

    c->route = match_route(path, c->arg, sizeof c->arg);
    const struct route_def *rd = route_def(c->route);
    if (!rd) {
        http__respond_error(c, 404, "no such resource: %s", path);
        return 0;
    }
    if (c->method < 0 || !(rd->methods & M(c->method))) {
        c->allow = rd->allow;
        http__respond_error(c, 405, "method %s not allowed on %s (allowed: %s)",
                            method_name(c->method), path, rd->allow);
        return 0;
    }

    if (body_method) {
        if (!content_type_is_json(wsi)) {
            http__respond_error(c, 415, "Content-Type must be application/json");
            return 0;
        }
        if (big) {
            http__respond_error(c, 413, "request body larger than %zu bytes", srv->max_body);
            return 0;
        }
        c->keep_body = true;
        return 0;
    }

    switch (c->route) {
    case ROUTE_HEALTHZ: healthz(c); break;
    case ROUTE_METRICS: metrics(c); break;
    case ROUTE_COMPLAINTS: http__complaints_list(c); break;
    case ROUTE_COMPLAINT: http__complaint_get(c); break;
    case ROUTE_DEALERS: http__dealers_list(c); break;
    case ROUTE_DEALER: http__dealer_get(c); break;
    case ROUTE_BROADCAST: http__broadcast_get(c); break;
    case ROUTE_UNDERPERFORMERS: http__underperformers_get(c); break;
    case ROUTE_SCORECARDS: http__scorecards_get(c); break;
    case ROUTE_PENALTIES: http__penalties_get(c); break;
    default: http__respond_error(c, 500, "internal error: unrouted request"); break;
    }
    return 0;
}

static int on_body(struct conn *c, const char *in, size_t len)
{
    if (!c->active || !c->in_body || len == 0)
        return 0;
    if (c->keep_body) {
        size_t max = c->srv->max_body;
        if (c->body_len + len > max) {
            /* More than Content-Length promised the limit would allow; lws caps the body at
             * Content-Length, so this is a safety net. */
            free(c->body);
            c->body = NULL;
            c->body_len = c->body_cap = 0;
            c->keep_body = false;
            c->close_after = true;
            c->drained = len;
            http__respond_error(c, 413, "request body larger than %zu bytes", max);
            return 0;
        }
        if (c->body_len + len + 1 > c->body_cap) {
            size_t cap = c->body_cap ? c->body_cap : 1024;
            while (cap < c->body_len + len + 1)
                cap *= 2;
            if (cap > max + 1)
                cap = max + 1;
            char *nb = realloc(c->body, cap);
            if (!nb) {
                c->keep_body = false;
                c->close_after = true;
                http__respond_error(c, 500, "internal error: out of memory");
                return 0;
            }
            c->body = nb;
            c->body_cap = cap;
        }
        memcpy(c->body + c->body_len, in, len);
        c->body_len += len;
        c->body[c->body_len] = '\0';
        return 0;
    }
    c->drained += len;
    if (c->close_after && c->drained > DRAIN_MAX)
        return -1;
    return 0;
}

static int on_body_done(struct conn *c)
{
    if (!c->active)
        return 0;
    if (!c->in_body) {
        /* A repeat: the client sent bytes beyond this request before it got its answer (a
         * pipelined request, or junk). lws 4.1 keeps the connection in its body state until
         * the transaction completes and re-reports BODY_COMPLETION for those bytes in a
         * loop in which the writeable callback may never come, and it cannot start the
         * next request from them cleanly while ours waits for its group commit. So this
         * request is answered from here as soon as its answer is ready, and the connection
         * is closed after it ("Connection: close"); the client sends the rest again. */
        c->close_after = true;
        if (c->resp_ready && !c->resp_done)
            return conn_write(c);
        return 0;
    }
    c->in_body = false;
    if (c->keep_body) {
        c->keep_body = false;
        if (!c->body) { /* an empty body */
            c->body = malloc(1);
            if (!c->body) {
                http__respond_error(c, 500, "internal error: out of memory");
                return 0;
            }
            c->body[0] = '\0';
        }
        if (c->route == ROUTE_COMPLAINTS)
            http__complaints_post(c);
        else if (c->route == ROUTE_DEALER)
            http__dealer_put(c);
        else if (c->route == ROUTE_SATISFACTION)
            http__satisfaction_post(c);
        else if (c->route == ROUTE_BROADCASTS)
            http__broadcasts_post(c);
        else if (c->route == ROUTE_UNDER_ACTION)
            http__underperformers_evaluate(c);
        else if (c->route == ROUTE_PENALTY_ACTION)
            http__penalty_action(c);
        else if (c->route == ROUTE_HONOUR)
            http__honour_post(c);
        else
            http__respond_error(c, 500, "internal error: unrouted request");
        free(c->body);
        c->body = NULL;
        c->body_len = c->body_cap = 0;
        return 0;
    }
    if (c->resp_done && c->close_after)
        return -1; /* answered early; the body is drained: hang up */
    if (c->resp_ready && !c->resp_done)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/*
 * The connection cap (http.max_connections): lws asks before it accepts a connection; past the
 * cap the new socket is closed at once, so a crowd of idle or slow clients cannot take every
 * descriptor. Each of those is also bounded in time (http.timeout, set on the vhost).
 */
static int admit(struct lws *wsi)
{
    struct http_server *srv = lws_vhost_user(lws_get_vhost(wsi));
    if (!srv || srv->n_conns < srv->max_conns)
        return 0;
    srv->n_refused++;
    if ((srv->n_refused & (srv->n_refused - 1)) == 0) /* 1st, 2nd, 4th, 8th ...: no flood */
        log_warn(MOD, "connection refused: %d open, http.max_connections reached (%" PRIu64
                      " refused so far)",
                 srv->n_conns, srv->n_refused);
    return -1;
}

static int callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct conn *c = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (!c)
            return -1;
        return on_request(wsi, c, (const char *)in);
    case LWS_CALLBACK_HTTP_BODY:
        return c ? on_body(c, (const char *)in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return c ? on_body_done(c) : -1;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!c || !c->active || !c->resp_ready || c->resp_done)
            return 0;
        return conn_write(c);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c)
            conn_detach(c);
        return 0;
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return admit(wsi);
    case LWS_CALLBACK_WSI_CREATE:
    case LWS_CALLBACK_WSI_DESTROY: {
        struct http_server *srv = lws_vhost_user(lws_get_vhost(wsi));
        /* every accepted connection; the listening socket is destroyed (at shutdown)
         * without a matching create here, hence the floor */
        if (srv && reason == LWS_CALLBACK_WSI_CREATE)
            srv->n_conns++;
        else if (srv && srv->n_conns > 0)
            srv->n_conns--;
        return 0;
    }
    default:
        return 0;
    }
}

/* ---- group commit ---- */

/* Commits every queued intake in one engine_intake_batch() call and answers each client that
 * is still there. Runs on the loop thread, from the timer or when the queue is full. */
static void commit_now(struct http_server *srv)
{
    struct intake *items[HTTP_BATCH_MAX];
    int n = srv->n_queued;

    if (srv->commit_armed) {
        lws_sul_cancel(&srv->sul_commit);
        srv->commit_armed = false;
    }
    if (n == 0)
        return;
    for (int i = 0; i < n; i++) {
        items[i] = &srv->queue[i].in;
        memset(&srv->results[i], 0, sizeof srv->results[i]);
    }
    int64_t t0 = timeutil_mono_us();
    int rc = engine_intake_batch(srv->eng, items, n, timeutil_now(), "api", srv->results);
    int64_t dt = timeutil_mono_us() - t0;
    histogram_add(&srv->commit_us, dt);
    if (rc)
        log_error(MOD, "group commit of %d complaints failed: %s", n, dbot_strerror(rc));
    else
        log_debug(MOD, "group commit: %d complaints in %lld us", n, (long long)dt);

    /* Answering only prepares buffers and asks for writeable callbacks: nothing here can
     * re-enter the queue. */
    for (int i = 0; i < n; i++) {
        struct pending *p = &srv->queue[i];
        if (p->conn) {
            struct conn *c = p->conn;
            c->pending = NULL;
            p->conn = NULL;
            http__intake_answer(c, &p->in, &srv->results[i], rc);
        }
        intake_cleanup(&p->in);
    }
    srv->n_queued = 0;
    srv->n_batches++;
    srv->n_committed += (uint64_t)n;
}

static void on_commit_timer(lws_sorted_usec_list_t *sul)
{
    struct http_server *srv = lws_container_of(sul, struct http_server, sul_commit);
    srv->commit_armed = false;
    commit_now(srv);
}

void http__enqueue_intake(struct conn *c, struct intake *in)
{
    struct http_server *srv = c->srv;

    if (srv->n_queued >= HTTP_BATCH_MAX) /* cannot happen: a full queue is committed at once */
        commit_now(srv);
    struct pending *p = &srv->queue[srv->n_queued++];
    p->in = *in;
    memset(in, 0, sizeof *in);
    p->conn = c;
    c->pending = p;

    if (srv->n_queued >= HTTP_BATCH_MAX || srv->stopping) {
        commit_now(srv);
    } else if (!srv->commit_armed) {
        srv->commit_armed = true;
        lws_sul_schedule(srv->ctx, 0, &srv->sul_commit, on_commit_timer,
                         (lws_usec_t)srv->window_us);
    }
}

/* ---- lifecycle ---- */

int http_server_start(struct lws_context *ctx, const struct config *cfg, struct engine *eng,
                      struct http_server **out, struct dbot_diag *diag)
{
    struct http_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    int rc = http_listen_parse(cfg->http.listen, srv->iface, sizeof srv->iface, &srv->port, diag);
    if (rc) {
        free(srv);
        return rc;
    }
    if (!cfg->http.token || !cfg->http.token[0])
        log_warn(MOD, "http.token is empty: every /api/ request will be refused");
    srv->ctx = ctx;
    srv->cfg = cfg;
    srv->eng = eng;
    srv->max_body = cfg->http.max_body > 0 ? (size_t)cfg->http.max_body : 65536;
    srv->window_us = cfg->http.commit_window_us > 0 ? cfg->http.commit_window_us : 0;
    srv->max_conns = (int)cfg->http.max_connections;
    srv->protocols[0].name = "dealerbot-http";
    srv->protocols[0].callback = callback_http;
    srv->protocols[0].per_session_data_size = sizeof(struct conn);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = "http";
    info.port = srv->port;
    info.iface = srv->iface[0] ? srv->iface : NULL;
    info.protocols = srv->protocols;
    info.user = srv;
    /* every wait on a client (its headers, an idle keep-alive, a write) ends after
     * http.timeout seconds: a client that sends a byte a second is dropped */
    info.timeout_secs = (unsigned int)cfg->http.timeout;
    info.timeout_secs_ah_idle = (unsigned int)cfg->http.timeout;
    /* lws 4.1 with IPv6 compiled in binds an IPv4 address given as iface to the IPv6
     * wildcard — every interface. An IPv4 address therefore gets an IPv4-only vhost. */
    if (srv->iface[0] && !strchr(srv->iface, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    srv->vhost = lws_create_vhost(ctx, &info);
    if (!srv->vhost) {
        free(srv);
        return dbot_diag_set(diag, DBOT_ERR_IO,
                             "cannot listen on %s (address in use or not available)",
                             cfg->http.listen);
    }
    srv->port = lws_get_vhost_listen_port(srv->vhost);
    *out = srv;
    return 0;
}

void http_server_set_metrics(struct http_server *srv, http_metrics_fn fn, void *arg)
{
    srv->metrics_fn = fn;
    srv->metrics_arg = arg;
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    srv->stopping = true;
    commit_now(srv);
    log_info(MOD, "intake: %llu complaints in %llu group commits",
             (unsigned long long)srv->n_committed, (unsigned long long)srv->n_batches);
}

bool http_server_busy(const struct http_server *srv)
{
    return srv && (srv->n_active > 0 || srv->n_queued > 0);
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    /* The timer is not touched: its list died with the context. http_server_stop() left
     * nothing queued; anything still here was never answered, so dropping it is honest. */
    if (srv->n_queued)
        log_warn(MOD, "%d queued complaints dropped: the server was freed without a stop",
                 srv->n_queued);
    for (int i = 0; i < srv->n_queued; i++)
        intake_cleanup(&srv->queue[i].in);
    free(srv);
}
