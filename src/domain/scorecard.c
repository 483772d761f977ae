/*
 * scorecard.c — the pure half of the scorecards: from each dealer's raw counts to values,
 * the network averages, ranks and percentiles; the nearest-rank percentile the store uses;
 * the window forms; formatting for people. The definitions are in scorecard.h.
 */
#include "dealerbot/scorecard.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/civil.h"
#include "dealerbot/error.h"
#include "dealerbot/timeutil.h"

#define SECS_PER_DAY INT64_C(86400)
#define SECS_PER_YEAR (365 * SECS_PER_DAY)

static const struct scorecard_metric_info metrics[SCM__COUNT] = {
    [SCM_COMPLAINTS] = {"complaints", "complaints", SCU_COUNT, SCB_LOWER},
    [SCM_PER_1000] = {"per_1000", "per_1000", SCU_RATE, SCB_LOWER},
    [SCM_ACK_COMPLIANCE] = {"ack_compliance", "ack_compliance", SCU_PERCENT, SCB_HIGHER},
    [SCM_SOLUTION_COMPLIANCE] = {"solution_compliance", "solution_compliance", SCU_PERCENT,
                                 SCB_HIGHER},
    [SCM_CLOSE_COMPLIANCE] = {"close_compliance", "close_compliance", SCU_PERCENT, SCB_HIGHER},
    [SCM_ACK_P50] = {"ack_p50_s", "ack_p50_h", SCU_SECONDS, SCB_LOWER},
    [SCM_ACK_P90] = {"ack_p90_s", "ack_p90_h", SCU_SECONDS, SCB_LOWER},
    [SCM_CLOSE_P50] = {"close_p50_s", "close_p50_h", SCU_SECONDS, SCB_LOWER},
    [SCM_CLOSE_P90] = {"close_p90_s", "close_p90_h", SCU_SECONDS, SCB_LOWER},
    [SCM_REOPENED] = {"reopened", "reopened", SCU_COUNT, SCB_LOWER},
    [SCM_REJECTED] = {"rejected", "rejected", SCU_COUNT, SCB_LOWER},
    [SCM_PENALTY_POINTS] = {"penalty_points", "penalty_points", SCU_COUNT, SCB_LOWER},
    [SCM_SATISFACTION] = {"satisfaction", "satisfaction", SCU_SCORE, SCB_HIGHER},
    [SCM_ANSWERS] = {"answers", "answers", SCU_COUNT, SCB_NONE},
    [SCM_REWARD_POINTS] = {"reward_points", "reward_points", SCU_COUNT, SCB_HIGHER},
};

const struct scorecard_metric_info *scorecard_metric_info(enum scorecard_metric m)
{
    assert((unsigned)m < SCM__COUNT);
    return &metrics[m];
}

void scorecard_set_cleanup(struct scorecard_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->dealers[i].code);
        free(set->dealers[i].name);
        free(set->dealers[i].region);
    }
    free(set->dealers);
    memset(set, 0, sizeof *set);
}

bool scorecard_per_1000(int64_t complaints, int64_t sales_volume, int64_t span_s, double *out)
{
    if (sales_volume <= 0 || span_s <= 0)
        return false;
    /* One division of two products that are exact in a double for any realistic input, so
     * that equal rates come out bitwise equal and tie. */
    *out = (double)complaints * 1000.0 * (double)SECS_PER_YEAR /
           ((double)sales_volume * (double)span_s);
    return true;
}

/* ---- the nearest-rank percentile ---- */

static void swap32(int32_t *a, int32_t *b)
{
    int32_t t = *a;
    *a = *b;
    *b = t;
}

static int cmp32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/*
 * The k-th smallest (0-based) of v[0..n): Hoare's quickselect with a median-of-three pivot,
 * which narrows [lo, hi] to the side that holds k until the pivot's run of equal values
 * covers k. Durations are not adversarial, but should a pathological input keep the ranges
 * from shrinking, after 64 rounds the rest is sorted (introselect's guard), so the worst case
 * is O(n log n).
 */
static int32_t select_kth(int32_t *v, size_t n, size_t k)
{
    int64_t lo = 0, hi = (int64_t)n - 1, key = (int64_t)k;
    for (int round = 0; lo < hi; round++) {
        if (round == 64) {
            qsort(v + lo, (size_t)(hi - lo + 1), sizeof *v, cmp32);
            return v[key];
        }
        int64_t mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo])
            swap32(&v[mid], &v[lo]);
        if (v[hi] < v[lo])
            swap32(&v[hi], &v[lo]);
        if (v[hi] < v[mid])
            swap32(&v[hi], &v[mid]);
        int32_t pivot = v[mid];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                swap32(&v[i], &v[j]);
                i++;
                j--;
            }
        }
        /* v[lo..j] <= pivot, v[i..hi] >= pivot, and anything between equals the pivot. */
        if (key <= j)
            hi = j;
        else if (key >= i)
            lo = i;
        else
            return v[key];
    }
    return v[key];
}

int64_t scorecard_percentile(int32_t *v, size_t n, int p)
{
    if (n == 0)
        return -1;
    if (p < 1)
        p = 1;
    if (p > 100)
        p = 100;
    /* k = ceil(p * n / 100), 1-based */
    size_t k = (size_t)(((uint64_t)p * n + 99) / 100);
    if (k < 1)
        k = 1;
    return select_kth(v, n, k - 1);
}

/* ---- values, network averages, ranks ---- */

static void set_value(struct scorecard_value *out, bool has, double v)
{
    memset(out, 0, sizeof *out);
    out->has = has;
    out->v = has ? v : 0;
}

static void set_ratio(struct scorecard_value *out, int64_t num, int64_t den, double scale)
{
    set_value(out, den > 0, den > 0 ? (double)num * scale / (double)den : 0);
}

static void set_seconds(struct scorecard_value *out, int64_t secs)
{
    set_value(out, secs >= 0, (double)secs);
}

/* The values every scorecard has the same way (the dealer's own, or the network's). */
static void derive_common(struct scorecard *sc)
{
    const struct scorecard_counts *r = &sc->raw;
    set_ratio(&sc->m[SCM_ACK_COMPLIANCE], r->on_time[MS_ACK], r->counted[MS_ACK], 100.0);
    set_ratio(&sc->m[SCM_SOLUTION_COMPLIANCE], r->on_time[MS_SOLUTION], r->counted[MS_SOLUTION],
              100.0);
    set_ratio(&sc->m[SCM_CLOSE_COMPLIANCE], r->on_time[MS_CLOSE], r->counted[MS_CLOSE], 100.0);
    set_seconds(&sc->m[SCM_ACK_P50], r->ack_p50);
    set_seconds(&sc->m[SCM_ACK_P90], r->ack_p90);
    set_seconds(&sc->m[SCM_CLOSE_P50], r->close_p50);
    set_seconds(&sc->m[SCM_CLOSE_P90], r->close_p90);
    set_ratio(&sc->m[SCM_SATISFACTION], r->satisfaction_sum, r->answers, 1.0);
}

static void derive_dealer(struct scorecard *sc, int64_t span)
{
    const struct scorecard_counts *r = &sc->raw;
    derive_common(sc);
    set_value(&sc->m[SCM_COMPLAINTS], true, (double)r->complaints);
    double rate = 0;
    bool has = scorecard_per_1000(r->complaints, sc->sales_volume, span, &rate);
    set_value(&sc->m[SCM_PER_1000], has, rate);
    set_value(&sc->m[SCM_REOPENED], true, (double)r->reopened);
    set_value(&sc->m[SCM_REJECTED], true, (double)r->rejected);
    set_value(&sc->m[SCM_PENALTY_POINTS], true, (double)r->penalty_points);
    set_value(&sc->m[SCM_ANSWERS], true, (double)r->answers);
    set_value(&sc->m[SCM_REWARD_POINTS], true, (double)r->reward_points);
}

/* The network: totals of the dealers' counts (its P50/P90 stay as the store measured them),
 * pooled rates, and counts as the mean per dealer. */
static void derive_network(struct scorecard_set *set, int64_t span)
{
    struct scorecard *net = &set->network;
    struct scorecard_counts t = net->raw;
    int64_t known_complaints = 0, known_units = 0;
    t.complaints = t.acked = t.closed = 0;
    t.reopened = t.rejected = t.penalty_points = t.satisfaction_sum = t.answers = 0;
    t.reward_points = 0;
    memset(t.on_time, 0, sizeof t.on_time);
    memset(t.counted, 0, sizeof t.counted);
    for (size_t i = 0; i < set->n; i++) {
        const struct scorecard *d = &set->dealers[i];
        const struct scorecard_counts *r = &d->raw;
        t.complaints += r->complaints;
        for (int ms = 0; ms < 3; ms++) {
            t.on_time[ms] += r->on_time[ms];
            t.counted[ms] += r->counted[ms];
        }
        t.acked += r->acked;
        t.closed += r->closed;
        t.reopened += r->reopened;
        t.rejected += r->rejected;
        t.penalty_points += r->penalty_points;
        t.satisfaction_sum += r->satisfaction_sum;
        t.answers += r->answers;
        t.reward_points += r->reward_points;
        if (d->sales_volume > 0) {
            known_complaints += r->complaints;
            known_units += d->sales_volume;
        }
    }
    net->raw = t;
    net->sales_volume = known_units > 0 ? known_units : -1;
    derive_common(net);
    double rate = 0;
    bool has = scorecard_per_1000(known_complaints, known_units, span, &rate);
    set_value(&net->m[SCM_PER_1000], has, rate);
    double n = (double)set->n;
    bool any = set->n > 0;
    set_value(&net->m[SCM_COMPLAINTS], any, any ? (double)t.complaints / n : 0);
    set_value(&net->m[SCM_REOPENED], any, any ? (double)t.reopened / n : 0);
    set_value(&net->m[SCM_REJECTED], any, any ? (double)t.rejected / n : 0);
    set_value(&net->m[SCM_PENALTY_POINTS], any, any ? (double)t.penalty_points / n : 0);
    set_value(&net->m[SCM_ANSWERS], any, any ? (double)t.answers / n : 0);
    set_value(&net->m[SCM_REWARD_POINTS], any, any ? (double)t.reward_points / n : 0);
}

struct ranked {
    double v;
    size_t idx;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->v < y->v)
        return -1;
    if (x->v > y->v)
        return 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Competition ranks ("1224") of metric m among the dealers that have a value; `buf` has
 * room for set->n entries. */
static void rank_metric(struct scorecard_set *set, enum scorecard_metric m, struct ranked *buf)
{
    enum scorecard_better better = metrics[m].better;
    if (better == SCB_NONE)
        return;
    size_t of = 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct scorecard_value *v = &set->dealers[i].m[m];
        if (v->has) {
            /* sorted ascending, so the better value must be the smaller key */
            buf[of].v = better == SCB_LOWER ? v->v : -v->v;
            buf[of].idx = i;
            of++;
        }
    }
    qsort(buf, of, sizeof *buf, cmp_ranked);
    size_t rank = 1;
    for (size_t k = 0; k < of; k++) {
        if (k > 0 && buf[k].v != buf[k - 1].v)
            rank = k + 1;
        struct scorecard_value *v = &set->dealers[buf[k].idx].m[m];
        v->rank = (int)rank;
        v->of = (int)of;
        v->percentile = of > 1 ? 100.0 * (double)(of - rank) / (double)(of - 1) : 100.0;
    }
}

int scorecards_rank(struct scorecard_set *set)
{
    int64_t end = set->to < set->now ? set->to : set->now;
    int64_t span = end - set->from;
    for (size_t i = 0; i < set->n; i++)
        derive_dealer(&set->dealers[i], span);
    derive_network(set, span);
    if (set->n == 0)
        return 0;
    struct ranked *buf = malloc(set->n * sizeof *buf);
    if (!buf)
        return DBOT_ERR_NOMEM;
    for (int m = 0; m < SCM__COUNT; m++)
        rank_metric(set, (enum scorecard_metric)m, buf);
    free(buf);
    return 0;
}

const struct scorecard *scorecard_find(const struct scorecard_set *set, const char *code)
{
    if (!code)
        return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (set->dealers[i].code && strcasecmp(set->dealers[i].code, code) == 0)
            return &set->dealers[i];
    return NULL;
}

/* ---- windows ---- */

/* The instant of local midnight starting the first day of month m (1..12) of year y. The
 * offset is read at the wall time taken as UTC, then again at the instant that gives; the
 * second reading wins, which is exact except within a DST change at midnight itself. */
static int64_t month_start(int64_t y, int m, sla_offset_fn off, void *arg)
{
    while (m > 12) {
        m -= 12;
        y++;
    }
    int64_t local = civil_days(y, m, 1) * SECS_PER_DAY;
    if (!off)
        return local;
    int64_t t = local - off(local, arg);
    return local - off(t, arg);
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int scorecard_window_rolling(int64_t len_s, int64_t now, struct scorecard_window *out)
{
    if (len_s <= 0 || now - len_s < 0)
        return DBOT_ERR_INVALID;
    struct scorecard_window w = {.kind = SCW_ROLLING, .from = now - len_s, .to = now};
    duration_format(len_s, w.label, sizeof w.label);
    *out = w;
    return 0;
}

int scorecard_window_parse(const char *kind, const char *value, int64_t now, sla_offset_fn off,
                           void *arg, struct scorecard_window *out, struct dbot_diag *diag)
{
    if (!kind || !value)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "window: missing");
    size_t len = strlen(value);
    struct scorecard_window w = {0};
    if (strcmp(kind, "window") == 0) {
        int64_t secs;
        if (duration_parse(value, &secs) != 0 || scorecard_window_rolling(secs, now, &w) != 0)
            return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                 "window: must be a duration such as 90d, 30d or 12h");
    } else if (strcmp(kind, "month") == 0) {
        if (len != 7 || !digits(value, 4) || value[4] != '-' || !digits(value + 5, 2))
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "month: must be YYYY-MM");
        int y = num(value, 4), m = num(value + 5, 2);
        if (y < 1970 || m < 1 || m > 12)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "month: must be YYYY-MM");
        w.kind = SCW_MONTH;
        w.from = month_start(y, m, off, arg);
        w.to = month_start(y, m + 1, off, arg);
        snprintf(w.label, sizeof w.label, "%04d-%02d", y, m);
    } else if (strcmp(kind, "quarter") == 0) {
        /* "YYYYQn" or "YYYY-Qn" */
        const char *q = value + 4;
        if (len >= 5 && *q == '-')
            q++;
        if (len < 6 || !digits(value, 4) || (*q != 'Q' && *q != 'q') || q[1] < '1' ||
            q[1] > '4' || q[2] != '\0')
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "quarter: must be YYYYQn (n 1-4)");
        int y = num(value, 4), n = q[1] - '0';
        if (y < 1970)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "quarter: must be YYYYQn (n 1-4)");
        w.kind = SCW_QUARTER;
        w.from = month_start(y, 3 * n - 2, off, arg);
        w.to = month_start(y, 3 * n + 1, off, arg);
        snprintf(w.label, sizeof w.label, "%04dQ%d", y, n);
    } else {
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "unknown window form: %s", kind);
    }
    *out = w;
    return 0;
}

/* ---- formatting ---- */

char *scorecard_duration_format(int64_t secs, char *buf, size_t len)
{
    if (secs < 0)
        snprintf(buf, len, "-");
    else if (secs < 3600)
        snprintf(buf, len, "%lldm", (long long)((secs + 30) / 60));
    else if (secs < 48 * 3600)
        snprintf(buf, len, "%.1fh", (double)secs / 3600.0);
    else
        snprintf(buf, len, "%.1fd", (double)secs / 86400.0);
    return buf;
}

/* The one formatter behind scorecard_value_format (people) and scorecard_value_csv (a
 * spreadsheet: no unit signs, times in hours, "" for none). */
static char *value_format(enum scorecard_metric m, const struct scorecard_value *v, bool csv,
                          char *buf, size_t len)
{
    if (!v->has) {
        snprintf(buf, len, "%s", csv ? "" : "-");
        return buf;
    }
    switch (scorecard_metric_info(m)->unit) {
    case SCU_COUNT:
        /* a dealer's counts are whole; the network's are means per dealer */
        if (v->v > -1e15 && v->v < 1e15 && v->v == (double)(int64_t)v->v)
            snprintf(buf, len, "%.0f", v->v);
        else
            snprintf(buf, len, csv ? "%.2f" : "%.1f", v->v);
        break;
    case SCU_RATE:
    case SCU_SCORE:
        snprintf(buf, len, "%.2f", v->v);
        break;
    case SCU_PERCENT:
        snprintf(buf, len, csv ? "%.1f" : "%.1f%%", v->v);
        break;
    case SCU_SECONDS:
        if (csv)
            snprintf(buf, len, "%.2f", v->v / 3600.0);
        else
            scorecard_duration_format((int64_t)(v->v + 0.5), buf, len);
        break;
    }
    return buf;
}

char *scorecard_value_format(enum scorecard_metric m, const struct scorecard_value *v, char *buf,
                             size_t len)
{
    return value_format(m, v, false, buf, len);
}

char *scorecard_value_csv(enum scorecard_metric m, const struct scorecard_value *v, char *buf,
                          size_t len)
{
    return value_format(m, v, true, buf, len);
}
