/*
 * engine.h — where decisions are made: events (intake, later chat commands and timers) go
 * through the pure domain and come out as one store transaction each.
 *
 * Main thread only. The engine borrows the config and the store; it owns nothing else yet.
 */
#ifndef DEALERBOT_ENGINE_H
#define DEALERBOT_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "dealerbot/complaint.h"
#include "dealerbot/config.h"
#include "dealerbot/error.h"
#include "dealerbot/store.h"

struct engine {
    const struct config *cfg;
    struct store *store;
};

/* The outcome of one intake. */
struct intake_result {
    int err;               /* 0, or DBOT_ERR_NOTFOUND (unknown dealer), DBOT_ERR_DB, ... */
    bool created;          /* false: an earlier complaint with the same external_id */
    int64_t id;            /* the ticket */
    struct dbot_diag diag; /* when err != 0: one line for the user */
};

/* Accepts `n` validated intakes in ONE transaction (group commit): for each, checks the dealer,
 * picks the policy from the priority, computes the deadlines, inserts (or finds the earlier
 * ticket by external_id) and records the timeline event. results[i] tells each one's outcome;
 * an item's own failure (unknown dealer) does not fail the others. Returns 0 when the
 * transaction committed (then every results[i].err == 0 is durable), or a DBOT_ERR_* when the
 * commit failed (then every result carries that error). `received_at` 0 in an intake means
 * `now`. `actor` as for store_complaint_insert. */
int engine_intake_batch(struct engine *e, struct intake *const *items, int n, int64_t now,
                        const char *actor, struct intake_result *results);

#endif
