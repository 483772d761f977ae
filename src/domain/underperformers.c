/*
 * underperformers.c — the thresholds and the hysteresis (see underperformers.h).
 */
#include "dealerbot/underperformers.h"

unsigned under_reasons(const struct scorecard *d, const struct scorecard *network,
                       const struct under_rules *r)
{
    if (d->raw.complaints < r->min_complaints || d->raw.complaints == 0)
        return 0;
    unsigned why = 0;
    const struct scorecard_value *dr = &d->m[SCM_PER_1000], *nr = &network->m[SCM_PER_1000];
    if (dr->has && nr->has) {
        if (nr->v > 0 && dr->v >= r->rate_factor * nr->v)
            why |= UR_RATE;
    } else {
        const struct scorecard_value *nc = &network->m[SCM_COMPLAINTS];
        if (nc->has && nc->v > 0 && (double)d->raw.complaints >= r->rate_factor * nc->v)
            why |= UR_RATE;
    }
    const struct scorecard_value *cc = &d->m[SCM_CLOSE_COMPLIANCE];
    if (cc->has && cc->v < r->close_sla_min * 100.0)
        why |= UR_CLOSE;
    if (r->penalty_points_max > 0 && d->raw.penalty_points >= r->penalty_points_max)
        why |= UR_PENALTY;
    return why;
}

enum under_change under_next(const struct under_state *cur, unsigned reasons, int64_t now,
                             const struct under_rules *r, struct under_state *next)
{
    *next = *cur;
    bool in;
    if (cur->pinned > 0) {
        in = true;
        next->under_since = 0;
    } else if (cur->pinned < 0) {
        in = false;
    } else if (reasons) {
        in = true;
        next->under_since = 0;
    } else if (!cur->listed) {
        in = false;
    } else {
        /* listed, now under every threshold: leave after exit_after of that */
        if (!cur->under_since)
            next->under_since = now;
        in = now - next->under_since < r->exit_after_s;
    }
    if (in && !cur->listed) {
        next->listed = true;
        next->since = now;
        next->under_since = 0;
        return UC_ENTER;
    }
    if (!in && cur->listed) {
        next->listed = false;
        next->since = 0;
        next->under_since = 0;
        return UC_LEAVE;
    }
    return UC_NONE;
}

/* ---- the daily evaluation ---- */

#define DAY_S 86400

static int64_t floor_day(int64_t t)
{
    return t - ((t % DAY_S) + DAY_S) % DAY_S;
}

/* The UTC time of local wall time `local` (seconds as if the zone were UTC). */
static int64_t utc_of(int64_t local, under_offset_fn off, void *arg)
{
    int64_t guess = local - off(local, arg);
    return local - off(guess, arg);
}

int64_t under_slot_before(int64_t now, int at_s, under_offset_fn off, void *arg)
{
    int64_t day = floor_day(now + off(now, arg));
    for (int i = 0; i < 3; i++) {
        int64_t s = utc_of(day - (int64_t)i * DAY_S + at_s, off, arg);
        if (s <= now)
            return s;
    }
    return utc_of(day - 3 * DAY_S + at_s, off, arg); /* cannot happen with real zones */
}

int64_t under_slot_after(int64_t now, int at_s, under_offset_fn off, void *arg)
{
    int64_t day = floor_day(now + off(now, arg));
    for (int i = 0; i < 3; i++) {
        int64_t s = utc_of(day + (int64_t)i * DAY_S + at_s, off, arg);
        if (s > now)
            return s;
    }
    return utc_of(day + 3 * DAY_S + at_s, off, arg); /* cannot happen with real zones */
}

bool under_daily_due(int64_t now, int at_s, int64_t last_slot, under_offset_fn off, void *arg,
                     int64_t *slot)
{
    *slot = under_slot_before(now, at_s, off, arg);
    return last_slot < *slot;
}
