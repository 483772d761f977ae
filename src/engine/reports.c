/*
 * reports.c — the monthly dealer report and the honour roll (红榜).
 *
 * On the first working day of each month (of the default calendar, sla.calendar; every day
 * works without one) at reports.monthly_at, local time, every dealer room gets its scorecard
 * of the month just ended beside the network, with its ranks and its penalty and reward
 * points of the month; and every dealer room and the staff room get the honour roll: the top
 * reports.honour_count dealers of the month by close compliance, then satisfaction, among
 * those with at least underperformers.min_complaints complaints. Each month is recorded in
 * the same transaction as its messages, so a restart never sends it twice and one missed
 * while the bot was down is sent once, late, at start. A new database records the month
 * just ended without sending it: reports start with the first month boundary the bot sees.
 *
 * Main thread.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dealerbot/directory.h"
#include "dealerbot/log.h"
#include "dealerbot/scorecard.h"
#include "dealerbot/timeutil.h"

#define MOD "engine"
#define LATE_S 60 /* a report later than this after its slot says so */

static int32_t zone_offset(int64_t t, void *arg)
{
    (void)arg;
    return timeutil_zone_offset(NULL, t);
}

static const struct calendar *default_calendar(const struct config *cfg)
{
    for (int i = 0; cfg->default_calendar && i < cfg->n_calendars; i++)
        if (strcmp(cfg->calendars[i].name, cfg->default_calendar) == 0)
            return &cfg->calendars[i];
    return NULL;
}

/* Whether local day `day` (days since 1970-01-01) works under cal (NULL: every day). */
static bool works(const struct calendar *cal, int64_t day)
{
    if (!cal)
        return true;
    int wd = (int)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday (4) */
    if (!(cal->days & (1u << wd)))
        return false;
    for (int i = 0; i < cal->n_holidays; i++)
        if (cal->holidays[i] == day)
            return false;
    return true;
}

/* The instant of the report slot of month y-m (1..12): its first working day at monthly_at. */
static int64_t month_slot(const struct config *cfg, int y, int m)
{
    char date[16];
    int32_t day = 0;
    snprintf(date, sizeof date, "%04d-%02d-01", y % 10000, m % 100);
    if (sla_date_parse(date, &day) != 0)
        return 0;
    const struct calendar *cal = default_calendar(cfg);
    int64_t d = day;
    for (int i = 0; i < 31 && !works(cal, day + i); i++)
        d = day + i + 1;
    if (!works(cal, d))
        d = day; /* no working day at all: the 1st */
    int hh = 9, mm = 0;
    if (cfg->reports.monthly_at)
        sscanf(cfg->reports.monthly_at, "%d:%d", &hh, &mm);
    int64_t local = d * 86400 + hh * 3600 + mm * 60;
    return local - zone_offset(local - zone_offset(local, NULL), NULL);
}

static void prev_month(int *y, int *m)
{
    if (--*m == 0) {
        *m = 12;
        --*y;
    }
}

static void next_month(int *y, int *m)
{
    if (++*m == 13) {
        *m = 1;
        ++*y;
    }
}

/* The local year and month of t. */
static void local_month(int64_t t, int *y, int *m)
{
    time_t lt = (time_t)(t + zone_offset(t, NULL));
    struct tm tm;
    gmtime_r(&lt, &tm);
    *y = tm.tm_year + 1900;
    *m = tm.tm_mon + 1;
}

/* The month the latest slot at or before now reports on ("YYYY-MM"), that slot, and the
 * next slot after now. */
static void latest_slot(const struct config *cfg, int64_t now, char *month, size_t len,
                        int64_t *slot, int64_t *next)
{
    int y, m;
    local_month(now, &y, &m);
    int64_t this_slot = month_slot(cfg, y, m);
    int ny = y, nm = m;
    next_month(&ny, &nm);
    if (now >= this_slot) {
        *slot = this_slot;
        *next = month_slot(cfg, ny, nm);
    } else {
        *next = this_slot;
        prev_month(&y, &m);
        *slot = month_slot(cfg, y, m);
    }
    prev_month(&y, &m); /* the slot of month m reports on month m - 1 */
    snprintf(month, len, "%04d-%02d", y % 10000, m % 100);
}

/* Appends s and a newline to a growing text; NULL s is DBOT_ERR_NOMEM. */
static int append(char **text, size_t *len, const char *s)
{
    if (!s)
        return DBOT_ERR_NOMEM;
    size_t n = strlen(s);
    char *t = realloc(*text, *len + n + 2);
    if (!t)
        return DBOT_ERR_NOMEM;
    if (*len)
        t[(*len)++] = '\n';
    memcpy(t + *len, s, n + 1);
    *len += n;
    *text = t;
    return 0;
}

static const char *fmt(enum scorecard_metric k, const struct scorecard_value *v, char *buf,
                       size_t len)
{
    return scorecard_value_format(k, v, buf, len);
}

static const char *rank_of(const struct scorecard_value *v, char *buf, size_t len)
{
    if (v->rank > 0)
        snprintf(buf, len, "%d/%d", v->rank, v->of);
    else
        snprintf(buf, len, "-");
    return buf;
}

/* One dealer's report of the month into its room. */
static int dealer_report(struct engine *e, const struct scorecard_set *set,
                         const struct scorecard *d, const char *month, const char *late,
                         int64_t now)
{
    const struct scorecard *n = &set->network;
    char c[24], nc[24], cr[24], cl[24], ncl[24], clr[24], sa[24], nsa[24], sar[24], pp[24],
        rp[24], room[DEALER_ROOM_MAX];
    struct msg_var v[] = {
        {"month", month},
        {"dealer_code", d->code},
        {"dealer_name", d->name},
        {"complaints", fmt(SCM_COMPLAINTS, &d->m[SCM_COMPLAINTS], c, sizeof c)},
        {"net_complaints", fmt(SCM_COMPLAINTS, &n->m[SCM_COMPLAINTS], nc, sizeof nc)},
        {"complaints_rank", rank_of(&d->m[SCM_COMPLAINTS], cr, sizeof cr)},
        {"close", fmt(SCM_CLOSE_COMPLIANCE, &d->m[SCM_CLOSE_COMPLIANCE], cl, sizeof cl)},
        {"net_close", fmt(SCM_CLOSE_COMPLIANCE, &n->m[SCM_CLOSE_COMPLIANCE], ncl, sizeof ncl)},
        {"close_rank", rank_of(&d->m[SCM_CLOSE_COMPLIANCE], clr, sizeof clr)},
        {"satisfaction", fmt(SCM_SATISFACTION, &d->m[SCM_SATISFACTION], sa, sizeof sa)},
        {"net_satisfaction", fmt(SCM_SATISFACTION, &n->m[SCM_SATISFACTION], nsa, sizeof nsa)},
        {"satisfaction_rank", rank_of(&d->m[SCM_SATISFACTION], sar, sizeof sar)},
        {"penalty_points", fmt(SCM_PENALTY_POINTS, &d->m[SCM_PENALTY_POINTS], pp, sizeof pp)},
        {"reward_points", fmt(SCM_REWARD_POINTS, &d->m[SCM_REWARD_POINTS], rp, sizeof rp)},
        {"late", late},
    };
    dealer_room_name(d->code, room, sizeof room);
    return eng__say(e, 0, true, room, e->cfg->language, "monthly_report", v,
                    sizeof v / sizeof v[0], "notice", now);
}

static int by_close_then_satisfaction(const void *a, const void *b)
{
    const struct scorecard *x = *(const struct scorecard *const *)a;
    const struct scorecard *y = *(const struct scorecard *const *)b;
    double cx = x->m[SCM_CLOSE_COMPLIANCE].v, cy = y->m[SCM_CLOSE_COMPLIANCE].v;
    if (cx != cy)
        return cx > cy ? -1 : 1;
    bool hx = x->m[SCM_SATISFACTION].has, hy = y->m[SCM_SATISFACTION].has;
    double sx = hx ? x->m[SCM_SATISFACTION].v : -1, sy = hy ? y->m[SCM_SATISFACTION].v : -1;
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return strcmp(x->code, y->code);
}

/* The honour roll text of a month's set (a new string), and how many it names. */
static char *honour_text(struct engine *e, const struct scorecard_set *set, const char *month,
                         const char *late, int *named)
{
    const char *lang = e->cfg->language;
    const struct scorecard **top = calloc(set->n ? set->n : 1, sizeof *top);
    if (!top)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct scorecard *d = &set->dealers[i];
        if (d->raw.complaints > 0 &&
            d->raw.complaints >= e->cfg->underperformers.min_complaints &&
            d->m[SCM_CLOSE_COMPLIANCE].has)
            top[n++] = d;
    }
    qsort(top, n, sizeof *top, by_close_then_satisfaction);
    if (n > (size_t)e->cfg->reports.honour_count)
        n = (size_t)e->cfg->reports.honour_count;
    struct msg_var hv[] = {{"month", month}, {"late", late}};
    char *head = eng__text(e, lang, n ? "honour_head" : "honour_empty", hv, 2);
    char *text = NULL;
    size_t len = 0;
    int err = append(&text, &len, head);
    free(head);
    for (size_t i = 0; err == 0 && i < n; i++) {
        char r[24], cl[24], sa[24], c[24];
        snprintf(r, sizeof r, "%zu", i + 1);
        struct msg_var v[] = {
            {"rank", r},
            {"dealer_name", top[i]->name},
            {"dealer_code", top[i]->code},
            {"close", fmt(SCM_CLOSE_COMPLIANCE, &top[i]->m[SCM_CLOSE_COMPLIANCE], cl, sizeof cl)},
            {"satisfaction", fmt(SCM_SATISFACTION, &top[i]->m[SCM_SATISFACTION], sa, sizeof sa)},
            {"complaints", fmt(SCM_COMPLAINTS, &top[i]->m[SCM_COMPLAINTS], c, sizeof c)},
        };
        char *line = eng__text(e, lang, "honour_item", v, sizeof v / sizeof v[0]);
        err = append(&text, &len, line);
        free(line);
    }
    free(top);
    if (err) {
        free(text);
        return NULL;
    }
    *named = (int)n;
    return text;
}

/* The honour roll of `month` to every dealer room and the staff room. */
static int send_honour(struct engine *e, const struct scorecard_set *set, const char *month,
                       const char *late, int64_t now, int *named)
{
    char *text = honour_text(e, set, month, late, named);
    if (!text)
        return DBOT_ERR_NOMEM;
    int err = 0;
    char room[DEALER_ROOM_MAX];
    for (size_t i = 0; err == 0 && i < set->n; i++)
        err = eng__send(e, 0, true, dealer_room_name(set->dealers[i].code, room, sizeof room),
                        text, "notice", now);
    if (err == 0)
        err = eng__send(e, 0, true, e->cfg->chat.staff_room, text, "notice", now);
    free(text);
    return err;
}

/* The scorecards of local month "YYYY-MM". */
static int month_set(struct engine *e, const char *month, int64_t now,
                     struct scorecard_set *set)
{
    struct scorecard_window w;
    struct dbot_diag diag;
    if (scorecard_window_parse("month", month, now, zone_offset, NULL, &w, &diag) != 0)
        return DBOT_ERR_INVALID;
    return store_scorecards(e->store, w.from, w.to, now, set);
}

static int monthly_send(struct engine *e, const char *month, bool late, int64_t now)
{
    struct scorecard_set set = {0};
    int err = month_set(e, month, now, &set);
    const char *mark = late ? eng__label(e, e->cfg->language, "late_mark") : "";
    for (size_t i = 0; err == 0 && i < set.n; i++)
        err = dealer_report(e, &set, &set.dealers[i], month, mark, now);
    int named = 0;
    if (err == 0)
        err = send_honour(e, &set, month, mark, now, &named);
    if (err == 0)
        err = store_monthly_add(e->store, month, now, true, late);
    if (err == 0)
        log_info(MOD, "monthly report for %s sent to %zu dealer room(s)%s; honour roll: %d "
                      "dealer(s)", month, set.n, late ? ", late" : "", named);
    scorecard_set_cleanup(&set);
    return err;
}

/* In one transaction; eng__after_commit kicks the outbox. */
static int in_transaction(struct engine *e, int (*fn)(struct engine *, const char *, bool,
                                                        int64_t),
                          const char *month, bool flag, int64_t now)
{
    eng__forget(e);
    int err = store_begin(e->store);
    if (err)
        return err;
    err = fn(e, month, flag, now);
    if (err == 0)
        err = store_commit(e->store);
    else
        store_rollback(e->store);
    if (err) {
        eng__forget(e);
        return err;
    }
    eng__after_commit(e);
    return 0;
}

static int baseline(struct engine *e, const char *month, bool unused, int64_t now)
{
    (void)unused;
    log_info(MOD, "monthly reports start after %s (a new database: that month is not sent)",
             month);
    return store_monthly_add(e->store, month, now, false, false);
}

int engine_monthly_report(struct engine *e, int64_t now, int64_t *next)
{
    char month[24];
    int64_t slot = 0;
    latest_slot(e->cfg, now, month, sizeof month, &slot, next);
    if (!e->cfg->reports.monthly)
        return 0;
    int64_t count = 0, has = 0;
    int err = store_monthly_count(e->store, &count);
    if (err == 0 && count == 0)
        return in_transaction(e, baseline, month, false, now);
    if (err == 0)
        err = store_monthly_has(e->store, month, &has);
    if (err || has)
        return err;
    bool late = now - slot > LATE_S;
    if (late)
        log_info(MOD, "the monthly report for %s did not go out at its time (the bot was "
                      "down): sending it now, late", month);
    err = in_transaction(e, monthly_send, month, late, now);
    if (err)
        log_error(MOD, "monthly report for %s not sent: %s", month, dbot_strerror(err));
    return err;
}

static int honour_now(struct engine *e, const char *month, bool unused, int64_t now)
{
    (void)unused;
    struct scorecard_set set = {0};
    int named = 0;
    int err = month_set(e, month, now, &set);
    if (err == 0)
        err = send_honour(e, &set, month, "", now, &named);
    if (err == 0)
        log_info(MOD, "honour roll for %s sent on demand: %d dealer(s)", month, named);
    scorecard_set_cleanup(&set);
    return err;
}

int engine_honour_roll(struct engine *e, int64_t now, char *month, size_t len)
{
    int y, m;
    local_month(now, &y, &m);
    prev_month(&y, &m);
    snprintf(month, len, "%04d-%02d", y % 10000, m % 100);
    return in_transaction(e, honour_now, month, false, now);
}

int eng__honour_roll(struct engine *e, int64_t now, char *month, size_t len)
{
    int y, m;
    local_month(now, &y, &m);
    prev_month(&y, &m);
    snprintf(month, len, "%04d-%02d", y % 10000, m % 100);
    return honour_now(e, month, false, now);
}
