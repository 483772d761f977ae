/*
 * scorecard.h — dealer scorecards: for every dealer over one window, what its complaints
 * show (counts, SLA compliance, time to acknowledge and to close, reopened tickets, rejected
 * reports, penalty points, return-visit satisfaction), each beside the network average and
 * with the dealer's rank and percentile among the dealers.
 *
 * Two halves. store_scorecards() (store.h) measures: it fills a struct scorecard_set with the
 * raw counts of every dealer in the directory (struct scorecard_counts) and then calls
 * scorecards_rank(). Everything here is pure (no I/O, no clock: `now` and the time zone are
 * parameters) and may be called from any thread; the store part runs on the thread of the
 * struct store it is given — in the daemon a reader thread's read-only connection
 * (readers.h) for the API, /scorecard and the daily evaluation; the loop's writer still for
 * the on-demand underperformers evaluation (API evaluate, /underperformers refresh, pins).
 *
 * What is measured, for the window [from, to) evaluated at `now`:
 *   - the complaints are those received in the window (from <= received_at < to) that are
 *     not cancelled; a cancelled complaint counts nowhere;
 *   - compliance of a milestone (ack, solution, close) = met on time / counted, in %, where
 *     "met on time" = its time is set and <= its deadline, and "counted" = its time is set
 *     (on time or late) or its deadline has passed at `now` without it. A milestone still
 *     open with time left is not counted either way. No counted milestone: no value. The
 *     close milestone of a reopened complaint is the current one (closed_at was cleared and
 *     close_due moved on reopen), so a reopened complaint is judged on its new deadline;
 *   - time to acknowledge = ack_at - received_at over the complaints acknowledged; time to
 *     close = closed_at - received_at over those closed now. P50 and P90 are nearest-rank
 *     percentiles: the k-th smallest with k = ceil(p/100 * n) (n = 4: P50 is the 2nd, P90 the
 *     4th). None measured: no value;
 *   - reopened and rejected are the sums of the complaints' counters (times reopened,
 *     reports rejected); penalty points the sum of the dealer's ledger entries dated in the
 *     window (from <= at < to); satisfaction the mean return-visit score (1..5) of the
 *     complaints that have one, and answers how many have one;
 *   - complaints per 1,000 units sold = complaints * 1000 / (sales_volume * span / 365 days),
 *     span = min(to, now) - from: sales_volume is units per year, pro-rated to the part of
 *     the window that has passed, so a month and a quarter compare. Unknown (or zero) sales
 *     volume: no value.
 *
 * The network average (set->network) treats the network as one big dealer where that has a
 * meaning, and as the average dealer where it does not:
 *   - rates are pooled: per 1,000 = all complaints of the dealers with a known sales volume
 *     per 1,000 of their units; compliance = all milestones met on time / all counted;
 *     satisfaction = all scores / all answers;
 *   - P50 and P90 are taken over every complaint of the network (not an average of medians);
 *   - counts (complaints, reopened, rejected, penalty points, answers) are the mean per
 *     dealer: the network's total / the number of dealers in the directory.
 *
 * Rank and percentile, per metric, among the dealers that have a value for it: rank is the
 * competition rank ("1224"): 1 + the number of dealers strictly better, so tied dealers share
 * the better rank; percentile = 100 * (of - rank) / (of - 1), the share of the other ranked
 * dealers this one does at least as well as (100 = best; a tie shares the higher figure; a
 * lone ranked dealer has 100). Lower is better for counts, the per-1,000 rate, times and
 * penalty points; higher for compliance and satisfaction. The number of answers is the
 * sample size of the satisfaction mean, not a performance: it is not ranked.
 *
 * Ownership: a struct scorecard_set owns its dealers array and their strings;
 * scorecard_set_cleanup() frees them. Values are doubles computed exactly from integers
 * (one division each), so equal ratios compare equal and tie.
 */
#ifndef DEALERBOT_SCORECARD_H
#define DEALERBOT_SCORECARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dealerbot/error.h"
#include "dealerbot/sla.h"

enum scorecard_metric {
    SCM_COMPLAINTS = 0,      /* count */
    SCM_PER_1000,            /* complaints per 1,000 units sold */
    SCM_ACK_COMPLIANCE,      /* % */
    SCM_SOLUTION_COMPLIANCE, /* % */
    SCM_CLOSE_COMPLIANCE,    /* % */
    SCM_ACK_P50,             /* seconds */
    SCM_ACK_P90,
    SCM_CLOSE_P50,
    SCM_CLOSE_P90,
    SCM_REOPENED,            /* count */
    SCM_REJECTED,            /* count */
    SCM_PENALTY_POINTS,      /* count */
    SCM_SATISFACTION,        /* mean score 1..5 */
    SCM_ANSWERS,             /* count, not ranked */
    SCM_REWARD_POINTS,       /* count of reward points (commendations, automatic rewards) */
    SCM__COUNT
};

enum scorecard_unit { SCU_COUNT = 0, SCU_RATE, SCU_PERCENT, SCU_SECONDS, SCU_SCORE };
enum scorecard_better { SCB_NONE = 0, SCB_LOWER, SCB_HIGHER };

struct scorecard_metric_info {
    const char *key;         /* JSON key and message-key suffix: "ack_compliance", "ack_p50_s" */
    const char *csv_key;     /* CSV column: as key, but times in hours ("ack_p50_h") */
    enum scorecard_unit unit;
    enum scorecard_better better;
};

/* The table entry of metric m (m < SCM__COUNT; asserted). Static storage. */
const struct scorecard_metric_info *scorecard_metric_info(enum scorecard_metric m);

/* What the store measures for one dealer (or, in set->network, for the whole network). */
struct scorecard_counts {
    int64_t complaints;
    int64_t on_time[3];      /* indexed by enum sla_milestone */
    int64_t counted[3];
    int64_t acked, closed;   /* how many times to acknowledge / to close were measured */
    int64_t ack_p50, ack_p90, close_p50, close_p90; /* seconds; -1 when none measured */
    int64_t reopened, rejected, penalty_points;
    int64_t satisfaction_sum, answers;
    int64_t reward_points;
};

/* One metric of one dealer, derived by scorecards_rank(). */
struct scorecard_value {
    bool has;                /* false: no value (see above); the rest is then 0 */
    double v;
    int rank;                /* 1 = best; 0 when not ranked (no value, or SCB_NONE) */
    int of;                  /* how many dealers were ranked on this metric */
    double percentile;       /* 0..100, 100 = best */
};

struct scorecard {
    char *code, *name, *region; /* heap copies; region "" when none */
    int64_t sales_volume;       /* units per year; -1 when unknown */
    struct scorecard_counts raw;
    struct scorecard_value m[SCM__COUNT];
};

struct scorecard_set {
    int64_t from, to, now;      /* the window [from, to), evaluated at now */
    struct scorecard *dealers;  /* every dealer of the directory, in code order */
    size_t n;
    /* code/name/region NULL; raw = the network's totals (its P50/P90 over all complaints),
     * sales_volume = the units of the dealers with a known volume (-1 when none);
     * m[] = the network averages (rank 0). */
    struct scorecard network;
};

/* Frees the dealers and their strings and zeroes *set; NULL allowed. */
void scorecard_set_cleanup(struct scorecard_set *set);

/* Derives every m[] of the dealers and of set->network: values from the raw counts and the
 * window, the network averages (set->network.raw becomes the dealers' totals, except its
 * P50/P90, which only the store can measure and which must be set, -1 when none), ranks and
 * percentiles. Idempotent. O(metrics * n log n). Returns 0, or DBOT_ERR_NOMEM (then the
 * values are set but not the ranks). */
int scorecards_rank(struct scorecard_set *set);

/* The dealer with this code (ASCII case-insensitive), or NULL. Borrows set. O(n). */
const struct scorecard *scorecard_find(const struct scorecard_set *set, const char *code);

/* complaints * 1000 / (sales_volume * span_s / 365 days); false when sales_volume <= 0 or
 * span_s <= 0. */
bool scorecard_per_1000(int64_t complaints, int64_t sales_volume, int64_t span_s, double *out);

/* The nearest-rank P-th percentile (1 <= p <= 100) of v[0..n): the k-th smallest,
 * k = ceil(p * n / 100). Reorders v (quickselect, O(n) expected). -1 when n == 0. */
int64_t scorecard_percentile(int32_t *v, size_t n, int p);

/* ---- windows: the three forms of the API and the command line ---- */

enum scorecard_window_kind { SCW_ROLLING = 0, SCW_MONTH, SCW_QUARTER };

struct scorecard_window {
    enum scorecard_window_kind kind;
    int64_t from, to;        /* [from, to) */
    char label[24];          /* "90d", "2026-11", "2026Q4" */
};

/* [now - len_s, now): 0, or DBOT_ERR_INVALID when len_s <= 0 or it reaches before 1970. */
int scorecard_window_rolling(int64_t len_s, int64_t now, struct scorecard_window *out);

/* Parses one window form: kind "window" takes a duration ("90d", "12h", as in the config),
 * "month" takes "YYYY-MM", "quarter" takes "YYYYQn" (also "YYYY-Qn", q in any case; n 1..4).
 * Months and quarters run from local midnight of their first day to local midnight of the
 * next one's, local time being t + off(t) (off NULL: UTC). 0 and *out, or DBOT_ERR_INVALID
 * with a one-line reason in diag ("month: must be YYYY-MM"). */
int scorecard_window_parse(const char *kind, const char *value, int64_t now, sla_offset_fn off,
                           void *arg, struct scorecard_window *out, struct dbot_diag *diag);

/* ---- formatting for people (chat, the command line's table) ---- */

/* "45m", "5.2h" (under 48 h), "6.3d"; "-" for a negative value (none). Returns buf. */
char *scorecard_duration_format(int64_t secs, char *buf, size_t len);

/* A value as people read it: "12" (counts), "4.12" (per 1,000), "92.5%", "5.2h", "4.25"
 * (satisfaction); "-" when !v->has. buf needs 24 bytes. Returns buf. */
char *scorecard_value_format(enum scorecard_metric m, const struct scorecard_value *v, char *buf,
                             size_t len);

/* The same value for a CSV cell: "" when !v->has, whole counts without decimals (means with
 * two), times in hours ("2.00"), percentages without the sign. buf needs 24 bytes. */
char *scorecard_value_csv(enum scorecard_metric m, const struct scorecard_value *v, char *buf,
                          size_t len);

#endif
