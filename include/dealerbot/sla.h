/*
 * sla.h — SLA arithmetic, pure: business calendars, quiet hours, and the plan of every
 * reminder, breach and escalation of a complaint. No I/O, no clock: time is a parameter, and
 * the time zone comes in as a function (sla_offset_fn) so that DST-aware callers can ask the
 * tz database while the tests pass a fixed or hand-made offset.
 *
 * Any thread, as far as the offset function allows; nothing is kept between calls.
 *
 * Local time here means t + offset(t). Working hours and quiet hours are seconds after local
 * midnight; dates are days since 1970-01-01 in local time.
 */
#ifndef DEALERBOT_SLA_H
#define DEALERBOT_SLA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sla_policy;
struct escalation_level;
struct sla_terms;
struct deadlines;

#define CAL_HOLIDAYS_MAX 128
#define CAL_MAX 8

/* A business calendar: working days of the week, working hours, holidays. */
struct calendar {
    char name[32];
    uint8_t days;                      /* bit d set: day d works (0 = Sunday .. 6 = Saturday) */
    int32_t open_s, close_s;           /* working hours, 0 <= open_s < close_s <= 86400 */
    int32_t holidays[CAL_HOLIDAYS_MAX]; /* local dates (days since 1970-01-01), ascending */
    int n_holidays;
};

/* Quiet hours: reminders falling inside are held until they end, and dropped when that is at
 * or after their deadline (sla_plan); breaches and escalations are not held. */
struct quiet_hours {
    bool on;
    int32_t start_s, end_s;            /* local; start_s > end_s wraps midnight (22:00-08:00) */
};

/* The UTC offset, in seconds east, in force at instant t. */
typedef int32_t (*sla_offset_fn)(int64_t t, void *arg);

/* Parses "HH:MM-HH:MM" (exactly that form; start 00:00..23:59, end 00:00..24:00, start !=
 * end) into two second counts. start > end is accepted (it wraps midnight, as quiet hours
 * may); a caller filling a struct calendar must itself require start < end. 0 or
 * DBOT_ERR_INVALID; the outputs are written only on success. */
int sla_hours_parse(const char *s, int32_t *start_s, int32_t *end_s);

/* Parses "YYYY-MM-DD" (four-digit year, real dates only: no 02-30, 02-29 only in leap
 * years) into a day number (days since 1970-01-01). 0 or DBOT_ERR_INVALID. */
int sla_date_parse(const char *s, int32_t *day);

/* The instant `work` seconds of working time after `start` under cal: time outside working
 * hours, on non-working days and on holidays does not count; a start outside working hours
 * counts from the next opening. Work that ends exactly at closing time ends then (18:00),
 * not at the next opening. work <= 0 gives start. A NULL cal, or a calendar without any
 * working time (no day, hours not 0 <= open_s < close_s <= 86400, or every day a holiday for
 * 3660 days) gives start + work; so do absurd inputs (|start| > 2^50, work > 2^40).
 *
 * Working hours are wall-clock hours: the time is counted on local days, and only the start
 * and the answer are converted (off NULL means UTC). A DST change inside working hours thus
 * lengthens or shortens that day's real working time. An answer whose wall time occurs twice
 * (clocks back) is its earlier instant; one that does not occur (clocks forward) is moved
 * forward by the gap (02:30 in a 02:00 -> 03:00 jump is 03:30). Cost: a few steps per
 * holiday and per partial week, independent of the length of work. */
int64_t calendar_add(const struct calendar *cal, sla_offset_fn off, void *arg, int64_t start,
                     int64_t work);

/* The three deadlines of a complaint received at `received_at`: calendar time when cal is
 * NULL, else working time under cal. */
void sla_deadlines(const struct sla_policy *pol, const struct calendar *cal, sla_offset_fn off,
                   void *arg, int64_t received_at, struct deadlines *out);

/* t, or the end of the quiet period t falls in (local time via off; NULL off means UTC):
 * the period is [start_s, end_s), so t at start_s moves and t at end_s does not. q NULL or
 * !q->on gives t. An end that falls in a DST gap is moved forward by the gap, as in
 * calendar_add. Never earlier than t. */
int64_t quiet_shift(const struct quiet_hours *q, sla_offset_fn off, void *arg, int64_t t);

enum sla_milestone { MS_ACK = 0, MS_SOLUTION, MS_CLOSE };
enum sla_kind { SLA_REMIND = 0, SLA_BREACH, SLA_ESCALATE };
#define MS_ALL ((1u << MS_ACK) | (1u << MS_SOLUTION) | (1u << MS_CLOSE))

/* One planned event of a complaint. */
struct sla_event {
    enum sla_milestone milestone;
    enum sla_kind kind;
    int level;          /* remind: index of its remind_before offset; breach: 0; escalate: 1.. */
    int64_t due_at;
    char notify[64];    /* escalate: whom (the ladder's entry, snapshotted); otherwise "" */
};

#define SLA_PLAN_MAX (3 * (8 + 1 + 8)) /* SLA_REMIND_MAX + 1 + ESCALATION_MAX per milestone */

/* Plans the events of the milestones in `which` (bits 1u << MS_*; other bits ignored):
 *   - a reminder at due - offset for each of pol's remind_before, moved out of quiet hours
 *     (q may be NULL); reminders due before `from` (the time of planning) are left out, and
 *     so are reminders that quiet hours hold until the deadline or later (a warning after
 *     the breach is noise; the breach speaks instead), as are offsets <= 0;
 *   - the breach at due, and
 *   - one escalation per ladder level at due + after (level k + 1 for ladder[k], notify
 *     copied), both even when before `from`: overdue events are still planned, the
 *     scheduler fires them late rather than never. Quiet hours do not move them.
 * pol NULL plans no reminders; n_remind and n_ladder are clamped to SLA_REMIND_MAX and
 * ESCALATION_MAX. Writes at most SLA_PLAN_MAX events to out (which must have room for that
 * many), ordered by due_at (ties: milestone, kind, level). Returns how many. */
int sla_plan(const struct deadlines *due, const struct sla_policy *pol,
             const struct escalation_level *ladder, int n_ladder, const struct quiet_hours *q,
             sla_offset_fn off, void *arg, unsigned which, int64_t from, struct sla_event *out);

/* The events of one milestone that a review held back: cancelled, when they came due, because
 * the closing report was under review. When the report is rejected at `now` (back with the
 * dealer, the deadline unchanged), keep[i] says which of held[0..n) are planned again: the
 * breach and every escalation, so that a deadline that passed during the review is not
 * silent (they fire at once, marked late); of the reminders only the latest, and only while
 * `deadline` is still after `now` (one warning with the time left; a warning after the
 * deadline is noise, the breach speaks instead). Returns how many. */
int sla_resume(const struct sla_event *held, int n, int64_t deadline, int64_t now, bool *keep);

/* The longest text sla_terms_format() writes, terminator included. */
#define SLA_TERMS_MAX 1024

/* The terms of a complaint as one line for the store (seconds; the policy's name is not in
 * it, the complaint keeps that):
 *   "v1 ack=43200 solution=432000 close=1296000 remind=7200,1800 esc=0:dealer_managers
 *    esc=14400:supervisors"
 * (one line; "remind=" with nothing after it when there are no reminders, one esc per ladder
 * level, in order). 0, or DBOT_ERR_INVALID (buf left as "") when a value cannot be written
 * so that sla_terms_parse() reads it back: a negative duration, more than SLA_REMIND_MAX
 * reminders or ESCALATION_MAX levels, a notify that is empty or holds a space or a control
 * character, or len too small (SLA_TERMS_MAX is always enough). */
int sla_terms_format(const struct sla_terms *t, char *buf, size_t len);

/* Reads what sla_terms_format() wrote, strictly (the same order, single spaces, decimal
 * numbers without sign or leading zeros). 0 and *out (policy name ""), or DBOT_ERR_INVALID
 * with *out untouched. */
int sla_terms_parse(const char *s, struct sla_terms *out);

const char *sla_milestone_name(enum sla_milestone m);  /* "ack" | "solution" | "close" */
const char *sla_kind_name(enum sla_kind k);            /* "remind" | "breach" | "escalate" */
/* The names above (exact, lower case) -> enum; 0 or DBOT_ERR_INVALID. An out-of-range enum
 * is named "?". */
int sla_milestone_parse(const char *s, enum sla_milestone *out);
int sla_kind_parse(const char *s, enum sla_kind *out);

#endif
