/*
 * scheduler.h — fires SLA reminders, breaches and escalations on time, with one timer.
 *
 * The due events live in SQLite (sla_events, indexed on due_at for pending rows); the
 * scheduler keeps ONE lws timer armed for the earliest of them, so its cost follows what is
 * due, not how many complaints are open. On a wake-up it fires what is due in batches, each
 * batch one transaction (engine_fire_due), and re-arms. At start everything overdue fires
 * once, late. A watchdog (every 30 s) reports events more than 60 s overdue and still not
 * fired: in the log, in /metrics and in the staff room (at most every 10 minutes).
 *
 * A second timer runs the daily evaluation of the underperformers group at
 * underperformers.evaluate_at (the configured zone). Each scheduled evaluation records the
 * slot it was for, so a restart the same day does not repeat it, and a slot missed while the
 * bot was down is evaluated once, late, at start.
 *
 * Main thread only. scheduler_start() after the lws context exists; scheduler_free() before
 * it is destroyed (it cancels the timers). Borrows the engine.
 */
#ifndef DEALERBOT_SCHEDULER_H
#define DEALERBOT_SCHEDULER_H

#include <stdint.h>
#include <stdio.h>

#include "dealerbot/engine.h"
#include "dealerbot/histogram.h"

struct lws_context;
struct scheduler;

#define SCHED_BATCH 500          /* events fired in one transaction */
#define SCHED_WATCH_US 30000000  /* watchdog period */
#define SCHED_OVERDUE_S 60       /* the watchdog's threshold */

int scheduler_start(struct lws_context *ctx, struct engine *eng, struct scheduler **out);
void scheduler_free(struct scheduler *s);

/* New events were planned: re-arm for the earliest. Cheap (one indexed query). */
void scheduler_kick(struct scheduler *s);

struct scheduler_stats {
    uint64_t wakeups;           /* timer callbacks that looked for due events */
    uint64_t fired;             /* events that said something */
    uint64_t cancelled;         /* taken but cancelled (milestone met meanwhile) */
    int64_t overdue;            /* the watchdog's last count of events overdue > 60 s */
    struct histogram wake_us;   /* wall time of one wake-up (firing and its commit included) */
    struct histogram lateness_us; /* fired time minus due time */
};
void scheduler_get_stats(const struct scheduler *s, struct scheduler_stats *out);

/* Prometheus lines for GET /metrics. */
void scheduler_metrics(FILE *f, const struct scheduler *s);

#endif
