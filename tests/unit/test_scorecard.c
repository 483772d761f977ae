/*
 * test_scorecard.c — the scorecards: the pure formulas of src/domain/scorecard.c (nearest-rank
 * percentiles, the per-1,000 rate, network averages, competition ranks and percentiles with
 * ties, the window forms, formatting), and store_scorecards() on a real SQLite file with a
 * hand-computed fixture: four dealers, one of them without a sales volume, one without any
 * complaint, ties on several metrics, cancelled and out-of-window complaints that must not
 * count. Every expected figure below is worked out in the comment beside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dealerbot/error.h"
#include "dealerbot/scorecard.h"
#include "dealerbot/store.h"
#include "dealerbot/timeutil.h"

#define H INT64_C(3600)
#define D INT64_C(86400)
#define EPS 1e-9

#define assert_near(got, want)                                                                \
    do {                                                                                      \
        double g_ = (got), w_ = (want);                                                       \
        if (!(g_ - w_ < EPS && w_ - g_ < EPS))                                                \
            fail_msg("got %.12g, want %.12g", g_, w_);                                        \
    } while (0)

/* The value, rank and percentile of one metric of one dealer. */
#define assert_metric(sc, metric, want_v, want_rank, want_pct)                                \
    do {                                                                                      \
        const struct scorecard_value *v_ = &(sc)->m[metric];                                  \
        assert_true(v_->has);                                                                 \
        assert_near(v_->v, (want_v));                                                         \
        assert_int_equal(v_->rank, (want_rank));                                              \
        assert_near(v_->percentile, (want_pct));                                              \
    } while (0)

/* ---- percentiles ---- */

static void test_percentile_nearest_rank(void **state)
{
    (void)state;
    int32_t four[] = {40, 10, 30, 20};
    /* n = 4: P50 is the ceil(2)= 2nd smallest, P90 the ceil(3.6) = 4th */
    assert_int_equal(scorecard_percentile(four, 4, 50), 20);
    assert_int_equal(scorecard_percentile(four, 4, 90), 40);
    int32_t one[] = {7};
    assert_int_equal(scorecard_percentile(one, 1, 50), 7);
    assert_int_equal(scorecard_percentile(one, 1, 90), 7);
    assert_int_equal(scorecard_percentile(NULL, 0, 50), -1);
    int32_t ten[] = {9, 2, 7, 4, 10, 1, 6, 3, 8, 5};
    assert_int_equal(scorecard_percentile(ten, 10, 50), 5); /* 5th */
    assert_int_equal(scorecard_percentile(ten, 10, 90), 9); /* 9th */
    assert_int_equal(scorecard_percentile(ten, 10, 100), 10);
    assert_int_equal(scorecard_percentile(ten, 10, 1), 1);
    int32_t same[] = {3, 3, 3, 3, 3, 3, 3};
    assert_int_equal(scorecard_percentile(same, 7, 50), 3);
}

static int cmp_int(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Quickselect against a sorted copy, on random lists with many and with few distinct values,
 * and on sorted and reversed ones (the classic bad cases of a naive pivot). */
static void test_percentile_random(void **state)
{
    (void)state;
    srand(12345);
    enum { MAXN = 700 };
    int32_t v[MAXN], ref[MAXN];
    for (int round = 0; round < 600; round++) {
        size_t n = 1 + (size_t)(rand() % MAXN);
        int spread = round % 3 == 0 ? 3 : 100000;
        for (size_t i = 0; i < n; i++)
            v[i] = rand() % spread;
        if (round % 10 == 1)
            qsort(v, n, sizeof *v, cmp_int);
        if (round % 10 == 2)
            for (size_t i = 0; i < n; i++)
                v[i] = (int32_t)(n - i);
        memcpy(ref, v, n * sizeof *v);
        qsort(ref, n, sizeof *ref, cmp_int);
        int ps[] = {1, 50, 90, 99, 100};
        for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
            size_t rank = ((size_t)ps[k] * n + 99) / 100;
            assert_int_equal(scorecard_percentile(v, n, ps[k]), ref[rank - 1]);
        }
    }
}

/* ---- the per-1,000 rate ---- */

static void test_per_1000(void **state)
{
    (void)state;
    double r = -1;
    /* a whole year: 30 complaints over 1,200 units = 25 per 1,000 */
    assert_true(scorecard_per_1000(30, 1200, 365 * D, &r));
    assert_near(r, 25.0);
    /* 73 days are a fifth of the year: 240 units sold, 30 complaints = 125 per 1,000 */
    assert_true(scorecard_per_1000(30, 1200, 73 * D, &r));
    assert_near(r, 125.0);
    assert_true(scorecard_per_1000(0, 1200, 30 * D, &r));
    assert_near(r, 0.0);
    r = -1;
    assert_false(scorecard_per_1000(5, -1, 30 * D, &r)); /* unknown volume */
    assert_false(scorecard_per_1000(5, 0, 30 * D, &r));
    assert_false(scorecard_per_1000(5, 100, 0, &r));
    assert_near(r, -1); /* untouched */
    /* equal rates come out bitwise equal, so they tie */
    double a, b;
    assert_true(scorecard_per_1000(4, 1200, 30 * D, &a));
    assert_true(scorecard_per_1000(2, 600, 30 * D, &b));
    assert_true(a == b);
}

/* ---- ranking a hand-made set ---- */

static struct scorecard mk(const char *code, int64_t volume, int64_t complaints)
{
    struct scorecard sc = {0};
    sc.code = strdup(code);
    sc.name = strdup(code);
    sc.region = strdup("");
    sc.sales_volume = volume;
    sc.raw.complaints = complaints;
    sc.raw.ack_p50 = sc.raw.ack_p90 = sc.raw.close_p50 = sc.raw.close_p90 = -1;
    return sc;
}

/* Five dealers on complaints and penalty points (lower is better) and close compliance
 * (higher is better), with two-way and three-way ties, one dealer without a sales volume and
 * one without any milestone to judge. */
static void test_rank_ties(void **state)
{
    (void)state;
    struct scorecard_set set = {.from = 0, .to = 365 * D, .now = 400 * D, .n = 5};
    /* the network's own P50/P90 are the store's to measure: none here */
    set.network.raw.ack_p50 = set.network.raw.ack_p90 = -1;
    set.network.raw.close_p50 = set.network.raw.close_p90 = -1;
    set.dealers = calloc(5, sizeof *set.dealers);
    assert_non_null(set.dealers);
    set.dealers[0] = mk("A", 1000, 3);
    set.dealers[1] = mk("B", 1000, 1);
    set.dealers[2] = mk("C", 2000, 2);
    set.dealers[3] = mk("D", -1, 1);
    set.dealers[4] = mk("E", 500, 0);
    int64_t points[] = {5, 5, 5, 0, 9};
    int64_t on_time[] = {1, 3, 2, 0, 0}, counted[] = {2, 4, 4, 1, 0};
    for (int i = 0; i < 5; i++) {
        set.dealers[i].raw.penalty_points = points[i];
        set.dealers[i].raw.on_time[MS_CLOSE] = on_time[i];
        set.dealers[i].raw.counted[MS_CLOSE] = counted[i];
    }
    assert_int_equal(scorecards_rank(&set), 0);
    struct scorecard *a = &set.dealers[0], *b = &set.dealers[1], *c = &set.dealers[2],
                     *d = &set.dealers[3], *e = &set.dealers[4];

    /* complaints 3 1 2 1 0: E first, B and D tie second, C fourth, A fifth; of 5,
     * percentile = 100 * (5 - rank) / 4 */
    assert_metric(e, SCM_COMPLAINTS, 0, 1, 100);
    assert_metric(b, SCM_COMPLAINTS, 1, 2, 75);
    assert_metric(d, SCM_COMPLAINTS, 1, 2, 75);
    assert_metric(c, SCM_COMPLAINTS, 2, 4, 25);
    assert_metric(a, SCM_COMPLAINTS, 3, 5, 0);
    assert_int_equal(a->m[SCM_COMPLAINTS].of, 5);

    /* per 1,000 over a whole year (span = to - from, now is later): A 3, B 1, C 1 (2 of
     * 2,000 ties with B), E 0; D has no volume and is not ranked: of 4 */
    assert_metric(a, SCM_PER_1000, 3, 4, 0);
    assert_metric(b, SCM_PER_1000, 1, 2, 100.0 * 2 / 3);
    assert_metric(c, SCM_PER_1000, 1, 2, 100.0 * 2 / 3);
    assert_metric(e, SCM_PER_1000, 0, 1, 100);
    assert_false(d->m[SCM_PER_1000].has);
    assert_int_equal(d->m[SCM_PER_1000].rank, 0);
    assert_int_equal(b->m[SCM_PER_1000].of, 4);

    /* penalty points 5 5 5 0 9: D first, the three fives tie second, E fifth */
    assert_metric(d, SCM_PENALTY_POINTS, 0, 1, 100);
    assert_metric(a, SCM_PENALTY_POINTS, 5, 2, 75);
    assert_metric(b, SCM_PENALTY_POINTS, 5, 2, 75);
    assert_metric(c, SCM_PENALTY_POINTS, 5, 2, 75);
    assert_metric(e, SCM_PENALTY_POINTS, 9, 5, 0);

    /* close compliance (higher is better): A 50 %, B 75 %, C 50 %, D 0 %, E none: B first,
     * A and C tie second, D fourth; of 4, percentile = 100 * (4 - rank) / 3 */
    assert_metric(b, SCM_CLOSE_COMPLIANCE, 75, 1, 100);
    assert_metric(a, SCM_CLOSE_COMPLIANCE, 50, 2, 100.0 * 2 / 3);
    assert_metric(c, SCM_CLOSE_COMPLIANCE, 50, 2, 100.0 * 2 / 3);
    assert_metric(d, SCM_CLOSE_COMPLIANCE, 0, 4, 0);
    assert_false(e->m[SCM_CLOSE_COMPLIANCE].has);

    /* nothing measured: no times, no satisfaction; answers are never ranked */
    assert_false(a->m[SCM_ACK_P50].has);
    assert_false(a->m[SCM_SATISFACTION].has);
    assert_true(a->m[SCM_ANSWERS].has);
    assert_int_equal(a->m[SCM_ANSWERS].rank, 0);

    /* network: complaints 7 / 5 dealers; per 1,000 pooled over A, B, C, E: 6 complaints of
     * 4,500 units = 1.333...; close compliance pooled 6 / 11; points 24 / 5 */
    const struct scorecard *net = &set.network;
    assert_near(net->m[SCM_COMPLAINTS].v, 7.0 / 5);
    assert_near(net->m[SCM_PER_1000].v, 6000.0 / 4500);
    assert_int_equal(net->sales_volume, 4500);
    assert_near(net->m[SCM_CLOSE_COMPLIANCE].v, 600.0 / 11);
    assert_near(net->m[SCM_PENALTY_POINTS].v, 24.0 / 5);
    assert_int_equal(net->m[SCM_COMPLAINTS].rank, 0);
    assert_false(net->m[SCM_ACK_P50].has);

    assert_ptr_equal(scorecard_find(&set, "c"), c);
    assert_null(scorecard_find(&set, "Z"));

    /* idempotent */
    assert_int_equal(scorecards_rank(&set), 0);
    assert_metric(b, SCM_COMPLAINTS, 1, 2, 75);
    scorecard_set_cleanup(&set);
    assert_null(set.dealers);
}

/* A lone dealer ranks first with 100; an empty set has no network counts. */
static void test_rank_edges(void **state)
{
    (void)state;
    struct scorecard_set set = {.from = 0, .to = 10 * D, .now = 5 * D, .n = 1};
    set.dealers = calloc(1, sizeof *set.dealers);
    assert_non_null(set.dealers);
    set.dealers[0] = mk("ONLY", 365, 5);
    assert_int_equal(scorecards_rank(&set), 0);
    assert_metric(&set.dealers[0], SCM_COMPLAINTS, 5, 1, 100);
    /* the window is half over: 5 days of 365 units a year = 5 units, 5 complaints */
    assert_metric(&set.dealers[0], SCM_PER_1000, 1000, 1, 100);
    scorecard_set_cleanup(&set);

    struct scorecard_set none = {.from = 0, .to = 10 * D, .now = 10 * D};
    assert_int_equal(scorecards_rank(&none), 0);
    assert_false(none.network.m[SCM_COMPLAINTS].has);
    assert_false(none.network.m[SCM_PER_1000].has);
}

/* ---- windows ---- */

static int32_t plus8(int64_t t, void *arg)
{
    (void)t;
    (void)arg;
    return 8 * 3600;
}

static int64_t utc(const char *s)
{
    int64_t t = 0;
    if (rfc3339_parse(s, &t) != 0)
        fail_msg("bad instant in test: %s", s);
    return t;
}

static void test_windows(void **state)
{
    (void)state;
    struct scorecard_window w;
    struct dbot_diag diag = {{0}};
    int64_t now = utc("2026-11-23T12:00:00Z");

    assert_int_equal(scorecard_window_parse("window", "90d", now, NULL, NULL, &w, &diag), 0);
    assert_int_equal(w.kind, SCW_ROLLING);
    assert_int_equal(w.to, now);
    assert_int_equal(w.from, now - 90 * D);
    assert_string_equal(w.label, "90d");

    assert_int_equal(scorecard_window_parse("month", "2026-11", now, NULL, NULL, &w, &diag), 0);
    assert_int_equal(w.kind, SCW_MONTH);
    assert_int_equal(w.from, utc("2026-11-01T00:00:00Z"));
    assert_int_equal(w.to, utc("2026-12-01T00:00:00Z"));
    assert_string_equal(w.label, "2026-11");
    /* local midnight in a zone 8 h east of UTC */
    assert_int_equal(scorecard_window_parse("month", "2026-12", now, plus8, NULL, &w, &diag), 0);
    assert_int_equal(w.from, utc("2026-12-01T00:00:00+08:00"));
    assert_int_equal(w.to, utc("2027-01-01T00:00:00+08:00"));
    assert_int_equal(scorecard_window_parse("month", "2024-02", now, NULL, NULL, &w, &diag), 0);
    assert_int_equal(w.to - w.from, 29 * D);

    assert_int_equal(scorecard_window_parse("quarter", "2026Q4", now, plus8, NULL, &w, &diag),
                     0);
    assert_int_equal(w.kind, SCW_QUARTER);
    assert_int_equal(w.from, utc("2026-10-01T00:00:00+08:00"));
    assert_int_equal(w.to, utc("2027-01-01T00:00:00+08:00"));
    assert_string_equal(w.label, "2026Q4");
    assert_int_equal(scorecard_window_parse("quarter", "2026-q1", now, NULL, NULL, &w, &diag), 0);
    assert_int_equal(w.from, utc("2026-01-01T00:00:00Z"));
    assert_int_equal(w.to, utc("2026-04-01T00:00:00Z"));
    assert_string_equal(w.label, "2026Q1");

    static const char *const bad[][2] = {
        {"window", "0d"},      {"window", "soon"},   {"window", "-5d"},  {"month", "2026-13"},
        {"month", "2026-00"},  {"month", "2026/11"}, {"month", "26-11"},  {"month", "2026-1"},
        {"quarter", "2026Q5"}, {"quarter", "2026"},  {"quarter", "26Q1"}, {"quarter", "2026Q1x"},
        {"year", "2026"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dbot_diag_clear(&diag);
        if (scorecard_window_parse(bad[i][0], bad[i][1], now, NULL, NULL, &w, &diag) !=
            DBOT_ERR_INVALID)
            fail_msg("%s=%s accepted", bad[i][0], bad[i][1]);
        assert_true(diag.msg[0] != '\0');
    }
    assert_int_equal(scorecard_window_rolling(0, now, &w), DBOT_ERR_INVALID);
}

/* ---- formatting ---- */

static void test_format(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(scorecard_duration_format(45 * 60, buf, sizeof buf), "45m");
    assert_string_equal(scorecard_duration_format(5 * H + 12 * 60, buf, sizeof buf), "5.2h");
    assert_string_equal(scorecard_duration_format(6 * D + 7 * H, buf, sizeof buf), "6.3d");
    assert_string_equal(scorecard_duration_format(-1, buf, sizeof buf), "-");
    struct scorecard_value v = {.has = true, .v = 92.46};
    assert_string_equal(scorecard_value_format(SCM_ACK_COMPLIANCE, &v, buf, sizeof buf), "92.5%");
    v.v = 12;
    assert_string_equal(scorecard_value_format(SCM_COMPLAINTS, &v, buf, sizeof buf), "12");
    v.v = 2.25;
    assert_string_equal(scorecard_value_format(SCM_COMPLAINTS, &v, buf, sizeof buf), "2.2");
    v.v = 4.125;
    assert_string_equal(scorecard_value_format(SCM_SATISFACTION, &v, buf, sizeof buf), "4.12");
    v.v = (double)(20 * H);
    assert_string_equal(scorecard_value_format(SCM_ACK_P90, &v, buf, sizeof buf), "20.0h");
    assert_string_equal(scorecard_value_csv(SCM_ACK_P90, &v, buf, sizeof buf), "20.00");
    v.v = 92.46;
    assert_string_equal(scorecard_value_csv(SCM_ACK_COMPLIANCE, &v, buf, sizeof buf), "92.5");
    v.v = 2.25;
    assert_string_equal(scorecard_value_csv(SCM_COMPLAINTS, &v, buf, sizeof buf), "2.25");
    v.v = 12;
    assert_string_equal(scorecard_value_csv(SCM_COMPLAINTS, &v, buf, sizeof buf), "12");
    v.has = false;
    assert_string_equal(scorecard_value_format(SCM_PER_1000, &v, buf, sizeof buf), "-");
    assert_string_equal(scorecard_value_csv(SCM_PER_1000, &v, buf, sizeof buf), "");
    assert_string_equal(scorecard_metric_info(SCM_ACK_P50)->key, "ack_p50_s");
    assert_string_equal(scorecard_metric_info(SCM_ACK_P50)->csv_key, "ack_p50_h");
    assert_int_equal(scorecard_metric_info(SCM_ANSWERS)->better, SCB_NONE);
}

/* ---- the store, on a real file ---- */

static char dir[256];
static char dbpath[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dbot-scorecard-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(dbpath, sizeof dbpath, "%s/test.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct store *open_store(void)
{
    struct store *st = NULL;
    struct dbot_diag diag = {0};
    if (store_open(dbpath, &st, &diag) != 0)
        fail_msg("store_open: %s", diag.msg);
    return st;
}

static void add_dealer(struct store *st, const char *code, int64_t volume)
{
    struct dealer d = {.code = (char *)code, .name = (char *)code, .region = (char *)"East",
                       .sales_volume = volume};
    assert_int_equal(store_dealer_upsert(st, &d), 0);
}

#define T0 INT64_C(1000000000)
#define NONE INT64_MIN

/* One complaint as the daemon would have left it: received at T0 + rec, deadlines 12 h, 5 d
 * and 15 d after that, each milestone met `ack`/`sol`/`close` after receipt (NONE: not). */
struct fx {
    const char *dealer;
    int64_t rec, ack, sol, close;
    const char *state;   /* NULL: derived from the milestones */
    int reopened, rejected, sat; /* sat 0: none */
    const char *category;
};

static void insert(sqlite3 *db, const struct fx *f)
{
    int64_t rec = T0 + f->rec;
    const char *state = f->state ? f->state
                        : f->close != NONE ? "closed"
                        : f->sol != NONE   ? "solution_agreed"
                        : f->ack != NONE   ? "acknowledged"
                                           : "notified";
    sqlite3_stmt *s;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "INSERT INTO complaints (dealer_code, category, priority, policy,"
                           " customer_name, customer_phone, summary, received_at, created_at,"
                           " updated_at, state, ack_due, solution_due, close_due, ack_at,"
                           " solution_at, closed_at, reopened, rejected, satisfaction)"
                           " VALUES (?1, ?2, 'normal', 'default', 'n', 'p', 's', ?3, ?3, ?3, ?4,"
                           " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                           -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_text(s, 1, f->dealer, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, f->category ? f->category : "paint", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, rec);
    sqlite3_bind_text(s, 4, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, rec + 12 * H);
    sqlite3_bind_int64(s, 6, rec + 5 * D);
    sqlite3_bind_int64(s, 7, rec + 15 * D);
    int64_t at[3] = {f->ack, f->sol, f->close};
    for (int i = 0; i < 3; i++) {
        if (at[i] == NONE)
            sqlite3_bind_null(s, 8 + i);
        else
            sqlite3_bind_int64(s, 8 + i, rec + at[i]);
    }
    sqlite3_bind_int(s, 11, f->reopened);
    sqlite3_bind_int(s, 12, f->rejected);
    if (f->sat)
        sqlite3_bind_int(s, 13, f->sat);
    else
        sqlite3_bind_null(s, 13);
    if (sqlite3_step(s) != SQLITE_DONE)
        fail_msg("insert: %s", sqlite3_errmsg(db));
    sqlite3_finalize(s);
}

/*
 * The window is [T0, T0 + 30 d), evaluated at its end. Deadlines: ack 12 h, solution 5 d,
 * close 15 d after receipt.
 *
 * A (1,200 units a year):
 *   a1 at 0:      ack 2 h, solution 1 d, close 10 d — all on time; satisfaction 5
 *   a2 at 1 d:    ack 20 h, solution 6 d, close 20 d — all late; reopened once, one report
 *                 rejected; satisfaction 3
 *   a3 at 20 d:   nothing; ack (20.5 d) and solution (25 d) overdue, close (35 d) not yet due
 *   a4 at 29d20h: nothing; nothing due yet
 *   a5 at 2 d:    cancelled (acknowledged on time): counts nowhere
 *   a6 at -1 d:   before the window
 *   penalties 3 (at 5 d) + 1 (at 29 d); 2 more before the window
 *   => complaints 4; ack 1/3, solution 1/3, close 1/2 (a3's close is not due);
 *      ack times 2 h, 20 h: P50 2 h, P90 20 h; close times 10 d, 20 d: P50 10 d, P90 20 d;
 *      reopened 1, rejected 1, points 4, satisfaction 4.0 of 2 answers;
 *      per 1,000: 4 complaints / (1,200 * 30/365 units) = 40.555...
 * B (sales volume unknown), category "engine":
 *   b1 at 3 d:    ack 1 h, solution 2 d, close 14 d — on time; satisfaction 4
 *   b2 at 4 d:    ack 30 h (late); solution (9 d) and close (19 d) overdue
 *   => complaints 2; 1/2 each; ack 1 h, 30 h: P50 1 h, P90 30 h; close 14 d: P50 = P90;
 *      satisfaction 4.0 of 1; no per-1,000
 * C (600 units): no complaint at all; => complaints 0, per 1,000 = 0, nothing else
 * D (600 units), lower case in the complaints ("d" matches "D"):
 *   d1 at 10 d:   ack 12 h, solution 5 d, close 15 d — exactly at the deadlines: on time;
 *                 satisfaction 4
 *   d2 at 11 d:   ack 2 h, solution 1 d on time; close (26 d) overdue; two reports rejected
 *   penalties 6 (at 12 d)
 *   => complaints 2; ack 2/2, solution 2/2, close 1/2; ack 12 h, 2 h: P50 2 h, P90 12 h;
 *      close 15 d; rejected 2; points 6; satisfaction 4.0 of 1;
 *      per 1,000: 2 / (600 * 30/365) = 40.555..., the same as A: a tie
 */
static void fixture(struct store *st)
{
    add_dealer(st, "A", 1200);
    add_dealer(st, "B", -1);
    add_dealer(st, "C", 600);
    add_dealer(st, "D", 600);
    static const struct fx rows[] = {
        {"A", 0, 2 * H, 1 * D, 10 * D, NULL, 0, 0, 5, NULL},
        {"A", 1 * D, 20 * H, 6 * D, 20 * D, NULL, 1, 1, 3, NULL},
        /* before the window, but with an id among the window's: the range must not let it in */
        {"A", -1 * D, 1 * H, 1 * D, 2 * D, NULL, 0, 0, 1, NULL},
        {"B", 3 * D, 1 * H, 2 * D, 14 * D, NULL, 0, 0, 4, "engine"},
        {"A", 20 * D, NONE, NONE, NONE, NULL, 0, 0, 0, NULL},
        {"A", 29 * D + 20 * H, NONE, NONE, NONE, NULL, 0, 0, 0, "engine"},
        {"A", 2 * D, 1 * H, NONE, NONE, "cancelled", 0, 0, 0, NULL},
        {"B", 4 * D, 30 * H, NONE, NONE, NULL, 0, 0, 0, "engine"},
        {"d", 10 * D, 12 * H, 5 * D, 15 * D, NULL, 0, 0, 4, "billing"},
        {"d", 11 * D, 2 * H, 1 * D, NONE, NULL, 0, 2, 0, NULL},
        {"B", 30 * D, 1 * H, NONE, NONE, NULL, 0, 0, 0, NULL}, /* at the window's end: out */
    };
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        insert(db, &rows[i]);
    sqlite3_close(db);
    assert_int_equal(store_penalty_add(st, "A", "SLA-ACK", 3, 0, NULL, "bot", T0 + 5 * D), 0);
    assert_int_equal(store_penalty_add(st, "A", "SLA-ACK", 1, 0, NULL, "bot", T0 + 29 * D), 0);
    assert_int_equal(store_penalty_add(st, "A", "SLA-ACK", 2, 0, NULL, "bot", T0 - 1 * D), 0);
    assert_int_equal(store_penalty_add(st, "D", "P-1", 6, 0, NULL, "bot", T0 + 12 * D), 0);
    assert_int_equal(store_penalty_add(st, "D", "P-1", 9, 0, NULL, "bot", T0 + 30 * D), 0);
}

static void test_store_fixture(void **state)
{
    (void)state;
    struct store *st = open_store();
    fixture(st);
    struct scorecard_set set;
    assert_int_equal(store_scorecards(st, T0, T0 + 30 * D, T0 + 30 * D, &set), 0);
    assert_int_equal(set.n, 4);
    const struct scorecard *a = scorecard_find(&set, "A"), *b = scorecard_find(&set, "B"),
                           *c = scorecard_find(&set, "C"), *d = scorecard_find(&set, "D");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(d);

    /* raw counts */
    assert_int_equal(a->raw.complaints, 4);
    assert_int_equal(a->raw.on_time[MS_ACK], 1);
    assert_int_equal(a->raw.counted[MS_ACK], 3);
    assert_int_equal(a->raw.counted[MS_CLOSE], 2);
    assert_int_equal(d->raw.complaints, 2);
    assert_int_equal(c->raw.complaints, 0);

    /* complaints 4 2 0 2: C first, B and D second, A fourth (of 4) */
    assert_metric(c, SCM_COMPLAINTS, 0, 1, 100);
    assert_metric(b, SCM_COMPLAINTS, 2, 2, 100.0 * 2 / 3);
    assert_metric(d, SCM_COMPLAINTS, 2, 2, 100.0 * 2 / 3);
    assert_metric(a, SCM_COMPLAINTS, 4, 4, 0);

    /* per 1,000: C 0 first; A and D tie at 40.555... (of 3; B has no volume) */
    double rate = 4.0 * 1000 * 365 / (1200.0 * 30);
    assert_metric(c, SCM_PER_1000, 0, 1, 100);
    assert_metric(a, SCM_PER_1000, rate, 2, 50);
    assert_metric(d, SCM_PER_1000, rate, 2, 50);
    assert_false(b->m[SCM_PER_1000].has);

    /* compliance (higher is better): ack and solution D 100 > B 50 > A 33.3; close: a
     * three-way tie at 50 */
    assert_metric(d, SCM_ACK_COMPLIANCE, 100, 1, 100);
    assert_metric(b, SCM_ACK_COMPLIANCE, 50, 2, 50);
    assert_metric(a, SCM_ACK_COMPLIANCE, 100.0 / 3, 3, 0);
    assert_metric(a, SCM_SOLUTION_COMPLIANCE, 100.0 / 3, 3, 0);
    assert_metric(d, SCM_SOLUTION_COMPLIANCE, 100, 1, 100);
    assert_metric(a, SCM_CLOSE_COMPLIANCE, 50, 1, 100);
    assert_metric(b, SCM_CLOSE_COMPLIANCE, 50, 1, 100);
    assert_metric(d, SCM_CLOSE_COMPLIANCE, 50, 1, 100);
    assert_false(c->m[SCM_ACK_COMPLIANCE].has);

    /* times: ack P50 B 1 h first, A and D 2 h second; ack P90 D 12 h, A 20 h, B 30 h;
     * close P50 A 10 d, B 14 d, D 15 d; close P90 B 14 d, D 15 d, A 20 d */
    assert_metric(b, SCM_ACK_P50, 1 * H, 1, 100);
    assert_metric(a, SCM_ACK_P50, 2 * H, 2, 50);
    assert_metric(d, SCM_ACK_P50, 2 * H, 2, 50);
    assert_metric(d, SCM_ACK_P90, 12 * H, 1, 100);
    assert_metric(a, SCM_ACK_P90, 20 * H, 2, 50);
    assert_metric(b, SCM_ACK_P90, 30 * H, 3, 0);
    assert_metric(a, SCM_CLOSE_P50, 10 * D, 1, 100);
    assert_metric(b, SCM_CLOSE_P50, 14 * D, 2, 50);
    assert_metric(d, SCM_CLOSE_P50, 15 * D, 3, 0);
    assert_metric(b, SCM_CLOSE_P90, 14 * D, 1, 100);
    assert_metric(d, SCM_CLOSE_P90, 15 * D, 2, 50);
    assert_metric(a, SCM_CLOSE_P90, 20 * D, 3, 0);
    assert_false(c->m[SCM_ACK_P50].has);

    /* reopened: A 1, the rest 0; rejected: A 1, D 2; points: A 4, D 6 (of 4 each) */
    assert_metric(b, SCM_REOPENED, 0, 1, 100);
    assert_metric(a, SCM_REOPENED, 1, 4, 0);
    assert_metric(c, SCM_REJECTED, 0, 1, 100);
    assert_metric(a, SCM_REJECTED, 1, 3, 100.0 / 3);
    assert_metric(d, SCM_REJECTED, 2, 4, 0);
    assert_metric(b, SCM_PENALTY_POINTS, 0, 1, 100);
    assert_metric(a, SCM_PENALTY_POINTS, 4, 3, 100.0 / 3);
    assert_metric(d, SCM_PENALTY_POINTS, 6, 4, 0);

    /* satisfaction: A (5 + 3) / 2, B 4, D 4: all tie first (of 3); answers not ranked */
    assert_metric(a, SCM_SATISFACTION, 4, 1, 100);
    assert_metric(b, SCM_SATISFACTION, 4, 1, 100);
    assert_metric(d, SCM_SATISFACTION, 4, 1, 100);
    assert_false(c->m[SCM_SATISFACTION].has);
    assert_near(a->m[SCM_ANSWERS].v, 2);
    assert_int_equal(a->m[SCM_ANSWERS].rank, 0);

    /* network: complaints 8 / 4 dealers; per 1,000 pooled over A, C, D: 6 complaints of
     * 2,400 units a year; ack 4/7, solution 4/7, close 3/6; ack times 1 2 2 12 20 30 h:
     * P50 the 3rd = 2 h, P90 the 6th = 30 h; close 10 14 15 20 d: P50 14 d, P90 20 d;
     * reopened 1/4, rejected 3/4, points 10/4, satisfaction 16/4, answers 4/4 */
    const struct scorecard *net = &set.network;
    assert_near(net->m[SCM_COMPLAINTS].v, 2);
    assert_near(net->m[SCM_PER_1000].v, 6.0 * 1000 * 365 / (2400.0 * 30));
    assert_near(net->m[SCM_ACK_COMPLIANCE].v, 400.0 / 7);
    assert_near(net->m[SCM_SOLUTION_COMPLIANCE].v, 400.0 / 7);
    assert_near(net->m[SCM_CLOSE_COMPLIANCE].v, 50);
    assert_near(net->m[SCM_ACK_P50].v, 2 * H);
    assert_near(net->m[SCM_ACK_P90].v, 30 * H);
    assert_near(net->m[SCM_CLOSE_P50].v, 14 * D);
    assert_near(net->m[SCM_CLOSE_P90].v, 20 * D);
    assert_near(net->m[SCM_REOPENED].v, 0.25);
    assert_near(net->m[SCM_REJECTED].v, 0.75);
    assert_near(net->m[SCM_PENALTY_POINTS].v, 2.5);
    assert_near(net->m[SCM_SATISFACTION].v, 4);
    assert_near(net->m[SCM_ANSWERS].v, 1);
    assert_int_equal(net->raw.complaints, 8);
    scorecard_set_cleanup(&set);

    /* Evaluated later, a3's close deadline (35 d) has passed too: A's close compliance
     * becomes 1/3, and the per-1,000 span stops at the window's end. */
    assert_int_equal(store_scorecards(st, T0, T0 + 30 * D, T0 + 40 * D, &set), 0);
    a = scorecard_find(&set, "A");
    assert_near(a->m[SCM_CLOSE_COMPLIANCE].v, 100.0 / 3);
    assert_near(a->m[SCM_PER_1000].v, rate);
    scorecard_set_cleanup(&set);

    /* Evaluated half way (now = T0 + 15 d): the rows received after now still count (the
     * window says which are in), the rate is per the 15 days passed. */
    assert_int_equal(store_scorecards(st, T0, T0 + 30 * D, T0 + 15 * D, &set), 0);
    a = scorecard_find(&set, "A");
    assert_int_equal(a->raw.complaints, 4);
    assert_near(a->m[SCM_PER_1000].v, 2 * rate);
    scorecard_set_cleanup(&set);
    store_close(st);
}

/* A window without any complaint: every dealer is there with zeros, tied first. */
static void test_store_empty_window(void **state)
{
    (void)state;
    struct store *st = open_store();
    fixture(st);
    struct scorecard_set set;
    assert_int_equal(store_scorecards(st, T0 + 100 * D, T0 + 130 * D, T0 + 130 * D, &set), 0);
    assert_int_equal(set.n, 4);
    for (size_t i = 0; i < set.n; i++) {
        assert_metric(&set.dealers[i], SCM_COMPLAINTS, 0, 1, 100);
        assert_false(set.dealers[i].m[SCM_ACK_P50].has);
        assert_false(set.dealers[i].m[SCM_ACK_COMPLIANCE].has);
    }
    assert_near(set.network.m[SCM_COMPLAINTS].v, 0);
    assert_false(set.network.m[SCM_ACK_P50].has);
    scorecard_set_cleanup(&set);
    assert_int_equal(store_scorecards(st, T0, T0, T0, &set), DBOT_ERR_INVALID);

    /* inside a caller's transaction it reads there (and leaves the transaction open) */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_scorecards(st, T0, T0 + 30 * D, T0 + 30 * D, &set), 0);
    assert_true(store_in_transaction(st));
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(scorecard_find(&set, "A")->raw.complaints, 4);
    scorecard_set_cleanup(&set);
    store_close(st);
}

/* No dealers at all. */
static void test_store_no_dealers(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct scorecard_set set;
    assert_int_equal(store_scorecards(st, T0, T0 + 30 * D, T0 + 30 * D, &set), 0);
    assert_int_equal(set.n, 0);
    assert_false(set.network.m[SCM_COMPLAINTS].has);
    scorecard_set_cleanup(&set);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile_nearest_rank),
        cmocka_unit_test(test_percentile_random),
        cmocka_unit_test(test_per_1000),
        cmocka_unit_test(test_rank_ties),
        cmocka_unit_test(test_rank_edges),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_format),
        cmocka_unit_test_setup_teardown(test_store_fixture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_empty_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_no_dealers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
