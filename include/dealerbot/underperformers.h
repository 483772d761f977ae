/*
 * underperformers.h — who belongs in the underperformers group: the thresholds against a
 * dealer's scorecard and the network average, with hysteresis. Pure.
 *
 * A dealer with at least min_complaints in the window is over a threshold when
 *   - its complaint rate is at least rate_factor times the network's: complaints per 1,000
 *     units sold when both it and the network have that figure, else its complaint count
 *     against the network's mean count per dealer;
 *   - its close compliance (%) is below close_sla_min (0..1, so 0.8 = 80 %);
 *   - its penalty points in the window reach penalty_points_max.
 * A dealer over any threshold enters the group; a listed dealer leaves only after exit_after
 * back under all of them (the clock restarts whenever it is over one again). A pin (by a
 * brand admin) keeps a dealer in or out whatever its figures.
 */
#ifndef DEALERBOT_UNDERPERFORMERS_H
#define DEALERBOT_UNDERPERFORMERS_H

#include <stdbool.h>
#include <stdint.h>

#include "dealerbot/scorecard.h"

struct under_rules {
    int64_t min_complaints;
    double rate_factor;
    double close_sla_min;      /* 0..1 */
    int64_t penalty_points_max;
    int64_t exit_after_s;
};

enum { UR_RATE = 1u, UR_CLOSE = 2u, UR_PENALTY = 4u };

/* The thresholds dealer d is over (UR_* bits), 0 when none or too few complaints. */
unsigned under_reasons(const struct scorecard *d, const struct scorecard *network,
                       const struct under_rules *r);

struct under_state {
    bool listed;
    int64_t since;            /* listed since */
    int64_t under_since;      /* listed and back under every threshold since (0: not) */
    int pinned;               /* 1 in, -1 out, 0 none */
};

enum under_change { UC_NONE = 0, UC_ENTER, UC_LEAVE };

/* The next state from the current one and today's reasons, at `now`. */
enum under_change under_next(const struct under_state *cur, unsigned reasons, int64_t now,
                             const struct under_rules *r, struct under_state *next);

/* ---- the daily evaluation (underperformers.evaluate_at) ---- */

/* The zone's UTC offset in seconds at UTC time t (eng__offset fits). */
typedef int32_t (*under_offset_fn)(int64_t t, void *arg);

/* The daily slot is at_s seconds after local midnight (evaluate_at "06:00" = 21600). The
 * latest slot at or before `now`, and the first one after it (UTC seconds). */
int64_t under_slot_before(int64_t now, int at_s, under_offset_fn off, void *arg);
int64_t under_slot_after(int64_t now, int at_s, under_offset_fn off, void *arg);

/* Whether the daily evaluation is due at `now`, given the slot the last scheduled one was for
 * (last_slot, 0 = never): it is when the latest slot at or before now has not been evaluated,
 * so one missed while the bot was down runs once, late, at start, and a restart the same day
 * does not run it again. *slot gets that latest slot. */
bool under_daily_due(int64_t now, int at_s, int64_t last_slot, under_offset_fn off, void *arg,
                     int64_t *slot);

#endif
