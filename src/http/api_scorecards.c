/*
 * api_scorecards.c — GET /api/v1/scorecards: every dealer's scorecard over one window, beside
 * the network averages, with ranks and percentiles (scorecard.h defines each figure).
 *
 * Query: at most one of window=90d (rolling, ending now), month=YYYY-MM, quarter=YYYYQn
 * (calendar periods in the configured time zone); none means the rolling
 * underperformers.window. dealer=CODE keeps only that dealer in "dealers" (ranks are still
 * among all). Answer:
 *   {"window": {"kind", "label", "from", "to", "as_of"},
 *    "network": {"dealers", "sales_volume", <metrics>, "ranked": {<metric>: how many}},
 *    "dealers": [{"code", "name", "region", "sales_volume", <metrics>,
 *                 "rank": {<metric>: rank | null}, "percentile": {<metric>: 0..100 | null}}]}
 * A metric without a value, and the rank of a metric without a value, is null; the number of
 * answers is not ranked. Values are not rounded (doubles as computed), so that consumers can
 * round as they show them.
 *
 * The request is parked while a reader thread (readers.h, through the engine) computes the
 * scorecards and renders the JSON document on its own read-only connection; the loop thread
 * goes on serving intake, chat and timers meanwhile, and writes the answer when the job
 * hands it back (server.c's parked reads). When every reader is busy and the readers' queue
 * is full, the answer is 503 with Retry-After. A client that leaves while its read is parked
 * cancels it (conn_detach): the job's request forgets the connection, and the finished result
 * is dropped.
 *
 * Threads: render_scorecards() and what it calls (the *_json builders here, json_out.c's
 * http__str_json/http__time_json, http__json_buffer) run on a reader thread and touch only
 * the scorecard set and the struct sc_req; everything else here runs on the loop thread.
 */
#include "http_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/log.h"
#include "dealerbot/scorecard.h"
#include "dealerbot/timeutil.h"

#define MOD "http"

/* One parked scorecards request: what it asked for, and what the reader made of it. */
struct sc_req {
    struct park p;              /* first: the parked request (http_int.h) */
    struct scorecard_window w;
    char dealer[QUERY_FRAG_MAX]; /* "" = every dealer */
};

static int32_t local_offset(int64_t t, void *arg)
{
    (void)arg;
    return timeutil_zone_offset(NULL, t);
}

static const char *const kind_names[] = {"rolling", "month", "quarter"};

/* A whole number as an integer, anything else as a real. */
static json_t *number_json(double v)
{
    if (v > -9e15 && v < 9e15 && v == (double)(int64_t)v)
        return json_integer((json_int_t)v);
    return json_real(v);
}

static json_t *value_json(const struct scorecard_value *v)
{
    return v->has ? number_json(v->v) : json_null();
}

/* Sets key to val (stolen); raises *bad when either is missing. */
static void set(json_t *obj, const char *key, json_t *val, int *bad)
{
    if (!val || json_object_set_new(obj, key, val) != 0)
        *bad = 1;
}

static void set_metrics(json_t *o, const struct scorecard *sc, int *bad)
{
    set(o, "sales_volume",
        sc->sales_volume >= 0 ? json_integer((json_int_t)sc->sales_volume) : json_null(), bad);
    for (int m = 0; m < SCM__COUNT; m++)
        set(o, scorecard_metric_info((enum scorecard_metric)m)->key, value_json(&sc->m[m]), bad);
}

/* {metric: rank | null} or {metric: percentile | null} of the ranked metrics. */
static json_t *ranks_json(const struct scorecard *sc, bool percentile)
{
    int bad = 0;
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (int m = 0; m < SCM__COUNT; m++) {
        const struct scorecard_metric_info *info = scorecard_metric_info((enum scorecard_metric)m);
        if (info->better == SCB_NONE)
            continue;
        const struct scorecard_value *v = &sc->m[m];
        json_t *x = v->rank <= 0 ? json_null()
                    : percentile ? number_json(v->percentile)
                                 : json_integer(v->rank);
        set(o, info->key, x, &bad);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *dealer_json(const struct scorecard *sc)
{
    int bad = 0;
    json_t *o = json_object();
    if (!o)
        return NULL;
    set(o, "code", http__str_json(sc->code), &bad);
    set(o, "name", http__str_json(sc->name), &bad);
    set(o, "region", http__str_json(sc->region), &bad);
    set_metrics(o, sc, &bad);
    set(o, "rank", ranks_json(sc, false), &bad);
    set(o, "percentile", ranks_json(sc, true), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* How many dealers were ranked on each metric (the same for every dealer). */
static json_t *ranked_json(const struct scorecard_set *all)
{
    int bad = 0;
    json_t *o = json_object();
    if (!o)
        return NULL;
    for (int m = 0; m < SCM__COUNT; m++) {
        const struct scorecard_metric_info *info = scorecard_metric_info((enum scorecard_metric)m);
        if (info->better == SCB_NONE)
            continue;
        int of = 0;
        for (size_t i = 0; i < all->n && !of; i++)
            of = all->dealers[i].m[m].of;
        set(o, info->key, json_integer(of), &bad);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *set_json(const struct scorecard_set *all, const struct scorecard_window *w,
                        const struct scorecard *only)
{
    int bad = 0;
    json_t *doc = json_object(), *win = json_object(), *net = json_object();
    json_t *dealers = json_array();
    if (!doc || !win || !net || !dealers) {
        json_decref(doc);
        json_decref(win);
        json_decref(net);
        json_decref(dealers);
        return NULL;
    }
    set(win, "kind", json_string(kind_names[w->kind]), &bad);
    set(win, "label", json_string(w->label), &bad);
    set(win, "from", http__time_json(all->from), &bad);
    set(win, "to", http__time_json(all->to), &bad);
    set(win, "as_of", http__time_json(all->now), &bad);
    set(doc, "window", win, &bad);

    set(net, "dealers", json_integer((json_int_t)all->n), &bad);
    set_metrics(net, &all->network, &bad);
    set(net, "ranked", ranked_json(all), &bad);
    set(doc, "network", net, &bad);

    for (size_t i = 0; i < all->n && !bad; i++) {
        const struct scorecard *sc = &all->dealers[i];
        if (only && sc != only)
            continue;
        json_t *o = dealer_json(sc);
        if (!o || json_array_append_new(dealers, o) != 0)
            bad = 1;
    }
    set(doc, "dealers", dealers, &bad);
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* Reader thread: the document for the finished set, into req->p.buf. */
static int render_scorecards(struct scorecard_set *all, void *arg)
{
    struct sc_req *req = arg;
    const struct scorecard *only = NULL;
    if (req->dealer[0] && !(only = scorecard_find(all, req->dealer))) {
        req->p.status = 404;
        snprintf(req->p.msg, sizeof req->p.msg, "no such dealer: %.100s", req->dealer);
        return 0;
    }
    json_t *doc = set_json(all, &req->w, only);
    int rc = doc ? http__json_buffer(doc, &req->p.buf, &req->p.len) : DBOT_ERR_NOMEM;
    json_decref(doc);
    if (rc == 0)
        req->p.status = 200;
    log_debug(MOD, "scorecards %s: %zu dealers, %" PRId64 " complaints, %zu bytes",
              req->w.label, all->n, all->network.raw.complaints, req->p.len);
    return rc;
}

/* Loop thread: the read is back; answer the client if it is still there. */
static void scorecards_done(void *arg, int rc, bool cancelled)
{
    struct sc_req *req = arg;
    http__park_finish(&req->p, rc, cancelled);
    free(req);
}

void http__scorecards_get(struct conn *c)
{
    int64_t now = timeutil_now();
    struct scorecard_window w;
    const char *form = NULL;
    char dealer[QUERY_FRAG_MAX] = "";
    struct dbot_diag diag = {{0}};

    if (scorecard_window_rolling(c->srv->cfg->underperformers.window_s, now, &w) != 0) {
        http__respond_error(c, 500, "underperformers.window is not a usable window");
        return;
    }
    char frag[QUERY_FRAG_MAX];
    const char *val;
    int qrc;
    for (int i = 0; (qrc = http__query_param(c, i, frag, sizeof frag, &val)) > 0; i++) {
        if (strcmp(frag, "window") == 0 || strcmp(frag, "month") == 0 ||
            strcmp(frag, "quarter") == 0) {
            if (form) {
                http__respond_error(c, 400, "give one of window, month and quarter, not %s and %s",
                                    form, frag);
                return;
            }
            form = strcmp(frag, "window") == 0 ? "window"
                   : strcmp(frag, "month") == 0 ? "month" : "quarter";
            if (scorecard_window_parse(form, val, now, local_offset, NULL, &w, &diag) != 0) {
                http__respond_error(c, 400, "query parameter %s", diag.msg);
                return;
            }
        } else if (strcmp(frag, "dealer") == 0) {
            memcpy(dealer, val, strlen(val) + 1);
        } else {
            http__respond_error(c, 400,
                                "unknown query parameter: %s (use window, month, quarter, dealer)",
                                frag);
            return;
        }
    }
    if (qrc < 0)
        return; /* answered */

    struct sc_req *req = calloc(1, sizeof *req);
    if (!req) {
        http__respond_error(c, 500, "internal error: out of memory");
        return;
    }
    req->p.what = "the scorecards";
    req->p.t0 = timeutil_mono_us();
    req->w = w;
    memcpy(req->dealer, dealer, sizeof req->dealer);
    struct reader_job *job = NULL;
    int rc = engine_scorecards_start(c->srv->eng, w.from, w.to, now, render_scorecards,
                                     scorecards_done, req, &job);
    http__park(c, &req->p, rc, job);
}
