/*
 * sla.c — SLA arithmetic: business calendars, quiet hours, and the plan of a complaint's
 * reminders, breaches and escalations. Pure: no clock, no I/O, no libc time zone calls; the
 * UTC offset comes from the caller's sla_offset_fn.
 *
 * Two conversions carry all the time zone work:
 *   instant -> local   local = t + off(t), exact by definition;
 *   local -> instant   local_to_utc() below, which has to decide what a wall-clock time that
 *                      occurs twice (autumn) or never (spring) means.
 * Between the two, everything is plain integer arithmetic on local seconds and local day
 * numbers (days since 1970-01-01), so working hours are wall-clock hours: a DST jump inside
 * working hours changes the real length of that working day, not its wall-clock length.
 */
#include "dealerbot/sla.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "dealerbot/civil.h"
#include "dealerbot/complaint.h"
#include "dealerbot/config.h"
#include "dealerbot/error.h"

#define SECS_PER_DAY INT64_C(86400)

/* A calendar that shows no working time for this many days in a row has none at all. */
#define CAL_IDLE_DAYS_MAX 3660

/* Keeps calendar_add's day arithmetic far from overflow: larger inputs are nonsense (over a
 * million years) and fall back to calendar time. */
#define CAL_START_LIM (INT64_C(1) << 50)
#define CAL_WORK_LIM (INT64_C(1) << 40)

static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The offset at t; no function means UTC, and an offset of a day or more (no real zone has
 * one) is taken as UTC too, so local times stay within a day of the instant. */
static int32_t offset_at(sla_offset_fn off, void *arg, int64_t t)
{
    if (!off)
        return 0;
    int32_t o = off(t, arg);
    return o > -86400 && o < 86400 ? o : 0;
}

/*
 * The instant at which the local wall clock reads `local`.
 *
 * Around one transition the zone has an offset `a` before it and `b` after it. The offsets
 * a and b are read two days either side of `local` (taken as if it were UTC): both candidate
 * instants local - a and local - b lie within a day of it, so any single transition between
 * them is bracketed. Each candidate is then checked by evaluating the offset at the candidate
 * itself:
 *   - one valid candidate: the ordinary case;
 *   - both valid (clocks went back, the wall time occurs twice): local - a, the earlier one,
 *     so that a deadline is never later than its wall time read in the old offset;
 *   - neither valid (clocks went forward, the wall time never occurs): local - a as well,
 *     which lands as far after the jump as the wall time was after its start (02:30 in a
 *     02:00 -> 03:00 gap becomes 03:30), as mktime and most calendars do.
 * So the rule is "the earlier offset, unless only the later one fits".
 */
static int64_t local_to_utc(sla_offset_fn off, void *arg, int64_t local)
{
    int32_t a = offset_at(off, arg, local - 2 * SECS_PER_DAY);
    int32_t b = offset_at(off, arg, local + 2 * SECS_PER_DAY);
    if (offset_at(off, arg, local - a) == a)
        return local - a;
    if (a != b && offset_at(off, arg, local - b) == b)
        return local - b;
    /* A gap, or an offset function with more than one change in four days: take the offset
     * at the first guess, which is right wherever the offset is locally constant. */
    if (a == b)
        return local - offset_at(off, arg, local - a);
    return local - a;
}

/* 0 = Sunday .. 6 = Saturday; day 0 (1970-01-01) was a Thursday. */
static int weekday(int64_t day)
{
    int64_t w = (day + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int n_holidays(const struct calendar *cal)
{
    if (cal->n_holidays < 0)
        return 0;
    return cal->n_holidays > CAL_HOLIDAYS_MAX ? CAL_HOLIDAYS_MAX : cal->n_holidays;
}

/* Linear scans: at most 128 entries, and they need not trust the ascending order. */
static bool is_holiday(const struct calendar *cal, int64_t day)
{
    int n = n_holidays(cal);
    for (int i = 0; i < n; i++)
        if (cal->holidays[i] == day)
            return true;
    return false;
}

/* The first holiday on or after `day`, or INT64_MAX. */
static int64_t next_holiday(const struct calendar *cal, int64_t day)
{
    int64_t best = INT64_MAX;
    int n = n_holidays(cal);
    for (int i = 0; i < n; i++)
        if (cal->holidays[i] >= day && cal->holidays[i] < best)
            best = cal->holidays[i];
    return best;
}

static bool has_hours(const struct calendar *cal)
{
    return (cal->days & 0x7f) != 0 && cal->open_s >= 0 && cal->close_s <= 86400 &&
           cal->open_s < cal->close_s;
}

/*
 * Walks local days from the start, taking each working day's share of [open, close) until
 * the work is used up. Whole weeks that hold no holiday are skipped in one step (each gives
 * the same working time), so the cost is a few days around each holiday plus the partial
 * weeks at either end, whatever the duration. The step always leaves at least one second of
 * work, so the answer is still found by the day walk: a deadline that ends exactly at
 * closing time stays on that day (18:00) instead of moving to the next opening.
 */
int64_t calendar_add(const struct calendar *cal, sla_offset_fn off, void *arg, int64_t start,
                     int64_t work)
{
    if (work <= 0)
        return start;
    if (!cal || !has_hours(cal) || start < -CAL_START_LIM || start > CAL_START_LIM ||
        work > CAL_WORK_LIM)
        return sat_add(start, work);

    int64_t local = start + offset_at(off, arg, start);
    int64_t day = floor_div(local, SECS_PER_DAY);
    int64_t sod = local - day * SECS_PER_DAY;
    int64_t per_day = cal->close_s - cal->open_s;
    int64_t per_week = 0;
    for (int d = 0; d < 7; d++)
        if (cal->days & (1u << d))
            per_week += per_day;

    int64_t left = work;
    int idle = 0;
    for (;;) {
        if ((cal->days & (1u << weekday(day))) && !is_holiday(cal, day)) {
            int64_t lo = sod > cal->open_s ? sod : cal->open_s;
            if (lo < cal->close_s) {
                int64_t avail = cal->close_s - lo;
                if (left <= avail)
                    return local_to_utc(off, arg, day * SECS_PER_DAY + lo + left);
                left -= avail;
            }
            idle = 0;
        } else if (++idle >= CAL_IDLE_DAYS_MAX) {
            return start + work;
        }
        day++;
        sod = 0;

        if (left > per_week) {
            int64_t nh = next_holiday(cal, day);
            int64_t weeks = (left - 1) / per_week;
            if (nh != INT64_MAX && (nh - day) / 7 < weeks)
                weeks = (nh - day) / 7;
            day += weeks * 7;
            left -= weeks * per_week;
        }
    }
}

void sla_deadlines(const struct sla_policy *pol, const struct calendar *cal, sla_offset_fn off,
                   void *arg, int64_t received_at, struct deadlines *out)
{
    if (!cal) {
        deadlines_compute(pol, received_at, out);
        return;
    }
    out->ack_due = calendar_add(cal, off, arg, received_at, pol->ack_s);
    out->solution_due = calendar_add(cal, off, arg, received_at, pol->solution_s);
    out->close_due = calendar_add(cal, off, arg, received_at, pol->close_s);
}

int64_t quiet_shift(const struct quiet_hours *q, sla_offset_fn off, void *arg, int64_t t)
{
    if (!q || !q->on || q->start_s == q->end_s)
        return t;
    if (t < -CAL_START_LIM || t > CAL_START_LIM)
        return t;
    int64_t local = t + offset_at(off, arg, t);
    int64_t day = floor_div(local, SECS_PER_DAY);
    int64_t sod = local - day * SECS_PER_DAY;
    int64_t end_day;

    if (q->start_s < q->end_s) {
        if (sod < q->start_s || sod >= q->end_s)
            return t;
        end_day = day;
    } else if (sod >= q->start_s) {
        end_day = day + 1; /* 23:00 in 22:00-08:00: the end is tomorrow morning */
    } else if (sod < q->end_s) {
        end_day = day; /* 03:00 in 22:00-08:00: this morning */
    } else {
        return t;
    }
    int64_t end = local_to_utc(off, arg, end_day * SECS_PER_DAY + q->end_s);
    /* Only an offset function that jumps back across the whole period could make this go
     * back in time; a shift never moves an event earlier. */
    return end > t ? end : t;
}

static int64_t due_of(const struct deadlines *due, int m)
{
    switch (m) {
    case MS_ACK:
        return due->ack_due;
    case MS_SOLUTION:
        return due->solution_due;
    default:
        return due->close_due;
    }
}

static bool event_before(const struct sla_event *x, const struct sla_event *y)
{
    if (x->due_at != y->due_at)
        return x->due_at < y->due_at;
    if (x->milestone != y->milestone)
        return x->milestone < y->milestone;
    if (x->kind != y->kind)
        return x->kind < y->kind;
    return x->level < y->level;
}

/*
 * Events are built milestone by milestone into out (at most SLA_REMIND_MAX reminders, one
 * breach and ESCALATION_MAX escalations each, so never more than SLA_PLAN_MAX) and then put
 * in order by insertion sort: 51 elements at most, and stable without a comparator dance.
 *
 * A reminder is dropped when it is due before `from` (the moment to warn has passed) and
 * when it is due at or after its milestone's deadline: quiet hours can hold a reminder until
 * after the deadline it warns about (a 30 min reminder for a 08:15 deadline under quiet hours
 * until 08:00 stays at 07:45 -> 08:00, but one for 07:50 would move past it). A warning that
 * arrives after the breach is noise; the breach event speaks instead.
 */
int sla_plan(const struct deadlines *due, const struct sla_policy *pol,
             const struct escalation_level *ladder, int n_ladder, const struct quiet_hours *q,
             sla_offset_fn off, void *arg, unsigned which, int64_t from, struct sla_event *out)
{
    int n_remind = pol ? pol->n_remind : 0;
    if (n_remind < 0)
        n_remind = 0;
    if (n_remind > SLA_REMIND_MAX)
        n_remind = SLA_REMIND_MAX;
    if (!ladder || n_ladder < 0)
        n_ladder = 0;
    if (n_ladder > ESCALATION_MAX)
        n_ladder = ESCALATION_MAX;

    int n = 0;
    for (int m = MS_ACK; m <= MS_CLOSE; m++) {
        if (!(which & (1u << m)))
            continue;
        int64_t at = due_of(due, m);

        for (int i = 0; i < n_remind; i++) {
            int64_t before = pol->remind_before[i];
            if (before <= 0)
                continue; /* at or after the deadline: dropped below anyway */
            int64_t r = quiet_shift(q, off, arg, sat_add(at, -before));
            if (r < from || r >= at)
                continue;
            out[n] = (struct sla_event){.milestone = (enum sla_milestone)m,
                                        .kind = SLA_REMIND, .level = i, .due_at = r};
            n++;
        }
        out[n] = (struct sla_event){.milestone = (enum sla_milestone)m, .kind = SLA_BREACH,
                                    .level = 0, .due_at = at};
        n++;
        for (int k = 0; k < n_ladder; k++) {
            out[n] = (struct sla_event){.milestone = (enum sla_milestone)m,
                                        .kind = SLA_ESCALATE, .level = k + 1,
                                        .due_at = sat_add(at, ladder[k].after_s)};
            /* The ladder's notify is a bounded char array; copy at most its size and always
             * terminate. */
            size_t len = strnlen(ladder[k].notify, sizeof ladder[k].notify);
            if (len >= sizeof out[n].notify)
                len = sizeof out[n].notify - 1;
            memcpy(out[n].notify, ladder[k].notify, len);
            out[n].notify[len] = '\0';
            n++;
        }
    }

    for (int i = 1; i < n; i++) {
        struct sla_event e = out[i];
        int j = i;
        for (; j > 0 && event_before(&e, &out[j - 1]); j--)
            out[j] = out[j - 1];
        out[j] = e;
    }
    return n;
}

/*
 * The reminders a review held back are all in the past by now; each says "N left until the
 * deadline", so more than one of them at once would repeat itself. The latest one is the
 * closest to the deadline: it stands for them all.
 */
int sla_resume(const struct sla_event *held, int n, int64_t deadline, int64_t now, bool *keep)
{
    int latest = -1, kept = 0;
    for (int i = 0; i < n; i++) {
        keep[i] = held[i].kind != SLA_REMIND;
        kept += keep[i];
        if (held[i].kind == SLA_REMIND && deadline > now &&
            (latest < 0 || held[i].due_at > held[latest].due_at))
            latest = i;
    }
    if (latest >= 0) {
        keep[latest] = true;
        kept++;
    }
    return kept;
}

/* Takes the result of an snprintf at buf + *off: false when it did not fit. */
static bool fits(int w, size_t len, size_t *off)
{
    if (w < 0 || (size_t)w >= len - *off)
        return false;
    *off += (size_t)w;
    return true;
}

static bool notify_ok(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == 0 || n == cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    return true;
}

int sla_terms_format(const struct sla_terms *t, char *buf, size_t len)
{
    if (!buf || len == 0)
        return DBOT_ERR_INVALID;
    buf[0] = '\0';
    const struct sla_policy *p = &t->policy;
    if (p->ack_s < 0 || p->solution_s < 0 || p->close_s < 0 || p->n_remind < 0 ||
        p->n_remind > SLA_REMIND_MAX || t->n_ladder < 0 || t->n_ladder > ESCALATION_MAX)
        return DBOT_ERR_INVALID;
    size_t off = 0;
    bool ok = fits(snprintf(buf, len, "v1 ack=%lld solution=%lld close=%lld remind=",
                            (long long)p->ack_s, (long long)p->solution_s,
                            (long long)p->close_s),
                   len, &off);
    for (int i = 0; ok && i < p->n_remind; i++)
        ok = p->remind_before[i] >= 0 &&
             fits(snprintf(buf + off, len - off, "%s%lld", i ? "," : "",
                           (long long)p->remind_before[i]),
                  len, &off);
    for (int i = 0; ok && i < t->n_ladder; i++)
        ok = t->ladder[i].after_s >= 0 &&
             notify_ok(t->ladder[i].notify, sizeof t->ladder[i].notify) &&
             fits(snprintf(buf + off, len - off, " esc=%lld:%s", (long long)t->ladder[i].after_s,
                           t->ladder[i].notify),
                  len, &off);
    if (!ok) {
        buf[0] = '\0';
        return DBOT_ERR_INVALID;
    }
    return 0;
}

/* A decimal number >= 0 at *p, as written by "%lld": no sign, no leading zero. */
static bool number(const char **p, int64_t *out)
{
    const char *s = *p;
    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
        return false;
    int64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (INT64_MAX - (*s - '0')) / 10)
            return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    *p = s;
    return true;
}

static bool word(const char **p, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(*p, w, n) != 0)
        return false;
    *p += n;
    return true;
}

int sla_terms_parse(const char *s, struct sla_terms *out)
{
    struct sla_terms t;
    memset(&t, 0, sizeof t);
    const char *p = s;
    if (!p || !word(&p, "v1 ack=") || !number(&p, &t.policy.ack_s) ||
        !word(&p, " solution=") || !number(&p, &t.policy.solution_s) ||
        !word(&p, " close=") || !number(&p, &t.policy.close_s) || !word(&p, " remind="))
        return DBOT_ERR_INVALID;
    if (*p >= '0' && *p <= '9') {
        for (;;) {
            if (t.policy.n_remind == SLA_REMIND_MAX ||
                !number(&p, &t.policy.remind_before[t.policy.n_remind]))
                return DBOT_ERR_INVALID;
            t.policy.n_remind++;
            if (*p != ',')
                break;
            p++;
        }
    }
    while (*p) {
        if (t.n_ladder == ESCALATION_MAX || !word(&p, " esc="))
            return DBOT_ERR_INVALID;
        struct escalation_level *lv = &t.ladder[t.n_ladder];
        if (!number(&p, &lv->after_s) || *p++ != ':')
            return DBOT_ERR_INVALID;
        size_t n = 0;
        while (p[n] && p[n] != ' ')
            n++;
        if (n == 0 || n >= sizeof lv->notify)
            return DBOT_ERR_INVALID;
        memcpy(lv->notify, p, n);
        lv->notify[n] = '\0';
        if (!notify_ok(lv->notify, sizeof lv->notify))
            return DBOT_ERR_INVALID;
        p += n;
        t.n_ladder++;
    }
    *out = t;
    return 0;
}

static const char *const milestone_names[] = {"ack", "solution", "close"};
static const char *const kind_names[] = {"remind", "breach", "escalate"};

const char *sla_milestone_name(enum sla_milestone m)
{
    return (unsigned)m < 3 ? milestone_names[m] : "?";
}

const char *sla_kind_name(enum sla_kind k)
{
    return (unsigned)k < 3 ? kind_names[k] : "?";
}

int sla_milestone_parse(const char *s, enum sla_milestone *out)
{
    for (int i = 0; s && i < 3; i++) {
        if (!strcmp(s, milestone_names[i])) {
            *out = (enum sla_milestone)i;
            return 0;
        }
    }
    return DBOT_ERR_INVALID;
}

int sla_kind_parse(const char *s, enum sla_kind *out)
{
    for (int i = 0; s && i < 3; i++) {
        if (!strcmp(s, kind_names[i])) {
            *out = (enum sla_kind)i;
            return 0;
        }
    }
    return DBOT_ERR_INVALID;
}

/* Reads exactly two digits. */
int sla_hours_parse(const char *s, int32_t *start_s, int32_t *end_s)
{
    int32_t a, b;
    if (!s || strlen(s) != 11 || s[5] != '-')
        return DBOT_ERR_INVALID;
    if (!civil_hhmm_parse(s, false, &a) || !civil_hhmm_parse(s + 6, true, &b) || a == b)
        return DBOT_ERR_INVALID;
    *start_s = a;
    *end_s = b;
    return 0;
}

int sla_date_parse(const char *s, int32_t *day)
{
    int y, m, d;
    if (!s || civil_date_parse(s, strlen(s), &y, &m, &d) != 0)
        return DBOT_ERR_INVALID;
    *day = (int32_t)civil_days(y, m, d);
    return 0;
}
