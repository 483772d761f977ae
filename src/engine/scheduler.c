/*
 * scheduler.c — one timer for the earliest due SLA event and broadcast step, and one for the
 * daily evaluation of the underperformers group, and one for the monthly dealer report (see
 * scheduler.h).
 */
#include "dealerbot/scheduler.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/engine.h"
#include "dealerbot/log.h"
#include "dealerbot/metrics.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/underperformers.h"

#define MOD "scheduler"
#define RETRY_US 1000000          /* after a store failure */
#define ALARM_EVERY_S 600         /* the staff room hears of overdue events at most this often */
#define POLL_US 5000000           /* look for events another process planned (complaint add) */
#define DAILY_RETRY_US 60000000   /* the daily evaluation failed: again in a minute */
#define DAILY_LATE_S 60           /* a daily evaluation later than this says so */

struct daily_job;

struct scheduler {
    struct lws_context *ctx;
    struct engine *eng;
    struct daily_job *daily;      /* the evaluation being read on a reader, or NULL */
    lws_sorted_usec_list_t sul_fire, sul_watch, sul_daily, sul_poll, sul_monthly;
    int64_t armed_for;            /* wall-clock µs the fire timer is set for; 0 = not armed */
    int64_t last_alarm;           /* wall-clock s of the last staff-room alarm */
    struct scheduler_stats stats;
};

static void arm(struct scheduler *s);

static void on_fire(lws_sorted_usec_list_t *sul)
{
    struct scheduler *s = lws_container_of(sul, struct scheduler, sul_fire);
    s->armed_for = 0;
    int64_t t0 = timeutil_mono_us();
    int64_t now_us = timeutil_now_us();
    int fired = 0, seen = 0;
    s->stats.wakeups++;
    int err = engine_fire_due(s->eng, now_us, SCHED_BATCH, &fired, &seen, &s->stats.lateness_us);
    histogram_add(&s->stats.wake_us, timeutil_mono_us() - t0);
    if (err) {
        lws_sul_schedule(s->ctx, 0, &s->sul_fire, on_fire, RETRY_US);
        s->armed_for = now_us + RETRY_US;
        return;
    }
    s->stats.fired += (uint64_t)fired;
    s->stats.cancelled += (uint64_t)(seen - fired);
    if (seen == SCHED_BATCH) {
        /* a burst: the next batch at the next loop turn, so the loop keeps serving */
        lws_sul_schedule(s->ctx, 0, &s->sul_fire, on_fire, 0);
        s->armed_for = now_us;
        return;
    }
    arm(s);
}

/* Sets the fire timer for the earliest pending event (or leaves it off when none). */
static void arm(struct scheduler *s)
{
    int64_t due;
    int err = engine_next_due(s->eng, &due);
    if (err == DBOT_ERR_NOTFOUND) {
        lws_sul_cancel(&s->sul_fire);
        s->armed_for = 0;
        return;
    }
    int64_t now_us = timeutil_now_us();
    int64_t at_us = err ? now_us + RETRY_US : due * 1000000;
    if (s->armed_for && s->armed_for <= at_us)
        return; /* already set for that time or earlier */
    int64_t delay = at_us > now_us ? at_us - now_us : 0;
    lws_sul_schedule(s->ctx, 0, &s->sul_fire, on_fire, (lws_usec_t)delay);
    s->armed_for = at_us;
}

/* Events planned by another process (`dealerbot complaint add`) do not kick this timer: a
 * cheap indexed look every few seconds arms it for them. */
static void on_poll(lws_sorted_usec_list_t *sul)
{
    struct scheduler *s = lws_container_of(sul, struct scheduler, sul_poll);
    arm(s);
    lws_sul_schedule(s->ctx, 0, &s->sul_poll, on_poll, POLL_US);
}

/*
 * The watchdog. Start-up fires everything overdue and the poll above finds events planned
 * elsewhere, so what it sees is an event that the scheduler takes but cannot fire, time after
 * time: a store failure, or a row that firing cannot use (a complaint whose dealer row is
 * gone). Such an event is undone on its own (a savepoint each) and held back for a retry, so
 * the events due after it still fire, but it stays overdue; a store that fails every write
 * holds the whole batch. The alarm makes either loud instead of silent.
 */
static void on_watch(lws_sorted_usec_list_t *sul)
{
    struct scheduler *s = lws_container_of(sul, struct scheduler, sul_watch);
    int64_t now = timeutil_now();
    int64_t count = 0, earliest = 0;
    if (store_sla_overdue(s->eng->store, now - SCHED_OVERDUE_S, &count, &earliest) == 0) {
        s->stats.overdue = count;
        if (count > 0) {
            char when[32];
            log_error(MOD, "%lld SLA event(s) more than %d s overdue and not fired (oldest due "
                      "%s)", (long long)count, SCHED_OVERDUE_S,
                      rfc3339_format_local(earliest, when, sizeof when));
            if (now - s->last_alarm >= ALARM_EVERY_S &&
                engine_sla_alarm(s->eng, count, earliest, now) == 0)
                s->last_alarm = now;
            arm(s); /* a lost timer is one more reason to look again */
        }
    }
    lws_sul_schedule(s->ctx, 0, &s->sul_watch, on_watch, SCHED_WATCH_US);
}

/* ---- the daily evaluation of the underperformers group ---- */

static int32_t zone_offset(int64_t t, void *arg)
{
    (void)arg;
    return timeutil_zone_offset(NULL, t);
}

/* underperformers.evaluate_at ("HH:MM", checked by the config) as seconds after midnight. */
static int daily_at_s(const struct config *cfg)
{
    int hh = 6, mm = 0;
    if (cfg->underperformers.evaluate_at)
        sscanf(cfg->underperformers.evaluate_at, "%d:%d", &hh, &mm);
    return hh * 3600 + mm * 60;
}

/* The scheduled evaluation in flight: its scorecards are read on a reader thread, the
 * decisions taken on the loop when they are back (engine_underperformers_evaluate_start). */
static void on_daily(lws_sorted_usec_list_t *sul);

struct daily_job {
    struct scheduler *s;          /* NULL once the scheduler is freed (the result is dropped) */
    struct reader_job *job;
    struct under_result res;
    char when[32];
};

static void arm_daily(struct scheduler *s, int err, int64_t now)
{
    int64_t delay = DAILY_RETRY_US;
    if (err == 0) {
        int64_t next = under_slot_after(now, daily_at_s(s->eng->cfg), zone_offset, NULL);
        delay = next * 1000000 - timeutil_now_us();
        if (delay < 0)
            delay = 0;
    }
    lws_sul_schedule(s->ctx, 0, &s->sul_daily, on_daily, (lws_usec_t)delay);
}

static void on_daily_done(void *arg, int rc, bool cancelled)
{
    struct daily_job *d = arg;
    struct scheduler *s = d->s;
    if (s && !cancelled) {
        s->daily = NULL;
        if (rc == 0)
            log_info(MOD, "underperformers evaluated (the %s evaluation): %d joined, %d left, "
                          "%d listed", d->when, d->res.entered, d->res.left, d->res.listed);
        arm_daily(s, rc, timeutil_now());
    } else if (s) {
        s->daily = NULL;
    }
    free(d);
}

/* Evaluates when the latest evaluate_at slot has not been evaluated yet (recorded with the
 * evaluation, so a restart the same day does not repeat it, and one missed while the bot was
 * down runs once, late, at start), then sleeps until the next slot. With reader threads the
 * scorecards are read off the loop and the timer is armed again when the evaluation is
 * done. */
static void on_daily(lws_sorted_usec_list_t *sul)
{
    struct scheduler *s = lws_container_of(sul, struct scheduler, sul_daily);
    int at = daily_at_s(s->eng->cfg);
    int64_t now = timeutil_now(), last = 0, slot = 0;
    int err = store_under_last_slot(s->eng->store, &last);
    if (err == 0 && under_daily_due(now, at, last, zone_offset, NULL, &slot)) {
        char when[32];
        rfc3339_format_local(slot, when, sizeof when);
        if (last == 0)
            log_info(MOD, "the underperformers have never been evaluated on schedule: "
                          "evaluating now for %s", when);
        else if (now - slot > DAILY_LATE_S)
            log_info(MOD, "the underperformers evaluation due at %s did not run (the bot was "
                          "down): evaluating now, late", when);
        if (s->eng->readers) {
            struct daily_job *d = calloc(1, sizeof *d);
            err = d ? 0 : DBOT_ERR_NOMEM;
            if (d) {
                d->s = s;
                memcpy(d->when, when, sizeof d->when);
                err = engine_underperformers_evaluate_start(s->eng, now, "schedule", slot,
                                                            &d->res, on_daily_done, d, &d->job);
                if (err == 0) {
                    s->daily = d;
                    return; /* on_daily_done arms the next one */
                }
                free(d);
            }
            log_warn(MOD, "underperformers evaluation not started (%s): again in a minute",
                     dbot_strerror(err));
        } else {
            struct under_result res;
            err = engine_underperformers_evaluate(s->eng, now, "schedule", slot, &res);
            if (err == 0)
                log_info(MOD, "underperformers evaluated (the %s evaluation): %d joined, %d "
                              "left, %d listed", when, res.entered, res.left, res.listed);
        }
    }
    arm_daily(s, err, now);
}

/* ---- the monthly dealer report ---- */

/* Sends the month's report when its slot has passed and it was not sent (engine_monthly_report
 * records it, so a restart does not repeat it and one missed while the bot was down goes out
 * once, late, at start), then sleeps until the next slot (at most a day at a time, so that a
 * change of the clock or the zone is seen). */
static void on_monthly(lws_sorted_usec_list_t *sul)
{
    struct scheduler *s = lws_container_of(sul, struct scheduler, sul_monthly);
    int64_t next = 0;
    int err = engine_monthly_report(s->eng, timeutil_now(), &next);
    int64_t delay = DAILY_RETRY_US;
    if (err == 0) {
        delay = next * 1000000 - timeutil_now_us();
        if (delay < 0)
            delay = 0;
        if (delay > 86400LL * 1000000)
            delay = 86400LL * 1000000;
    }
    lws_sul_schedule(s->ctx, 0, &s->sul_monthly, on_monthly, (lws_usec_t)delay);
}

int scheduler_start(struct lws_context *ctx, struct engine *eng, struct scheduler **out)
{
    struct scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return DBOT_ERR_NOMEM;
    s->ctx = ctx;
    s->eng = eng;
    int64_t count = 0, earliest = 0;
    if (store_sla_overdue(eng->store, timeutil_now(), &count, &earliest) == 0 && count > 0)
        log_info(MOD, "%lld SLA event(s) came due while the bot was down: firing them now, "
                      "marked late", (long long)count);
    arm(s);
    lws_sul_schedule(ctx, 0, &s->sul_watch, on_watch, SCHED_WATCH_US);
    lws_sul_schedule(ctx, 0, &s->sul_daily, on_daily, 0); /* catches up at once if due */
    lws_sul_schedule(ctx, 0, &s->sul_poll, on_poll, POLL_US);
    if (eng->cfg->reports.monthly)
        lws_sul_schedule(ctx, 0, &s->sul_monthly, on_monthly, 0); /* catches up if due */
    *out = s;
    return 0;
}

void scheduler_free(struct scheduler *s)
{
    if (!s)
        return;
    lws_sul_cancel(&s->sul_fire);
    lws_sul_cancel(&s->sul_watch);
    lws_sul_cancel(&s->sul_daily);
    lws_sul_cancel(&s->sul_poll);
    if (s->daily) { /* its result comes back to nobody */
        s->daily->s = NULL;
        engine_read_cancel(s->eng, s->daily->job);
    }
    lws_sul_cancel(&s->sul_monthly);
    free(s);
}

void scheduler_kick(struct scheduler *s)
{
    if (s)
        arm(s);
}

void scheduler_get_stats(const struct scheduler *s, struct scheduler_stats *out)
{
    *out = s->stats;
}

void scheduler_metrics(FILE *f, const struct scheduler *s)
{
    metrics_value(f, "dealerbot_sla_fired_total", "counter",
                       "SLA reminders, breaches and escalations sent.", (double)s->stats.fired);
    metrics_value(f, "dealerbot_sla_cancelled_total", "counter",
                       "SLA events dropped because their milestone was met.",
                       (double)s->stats.cancelled);
    metrics_value(f, "dealerbot_sla_overdue_unfired", "gauge",
                       "SLA events more than 60 s overdue and not fired (watchdog).",
                       (double)s->stats.overdue);
    metrics_value(f, "dealerbot_sla_wakeups_total", "counter",
                       "Scheduler wake-ups.", (double)s->stats.wakeups);
    metrics_summary(f, "dealerbot_sla_wakeup_seconds",
                         "Time one scheduler wake-up took, firing included.",
                         &s->stats.wake_us);
    metrics_summary(f, "dealerbot_sla_lateness_seconds",
                         "How long after its due time an SLA event was fired.",
                         &s->stats.lateness_us);
}
