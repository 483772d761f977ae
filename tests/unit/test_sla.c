/* Unit tests for src/domain/sla.c: business calendars, quiet hours, the SLA plan, parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dealerbot/complaint.h"
#include "dealerbot/config.h"
#include "dealerbot/error.h"
#include "dealerbot/sla.h"
#include "dealerbot/timeutil.h"

#define H(n) ((int64_t)(n) * 3600)
#define M(n) ((int64_t)(n) * 60)
#define DAY INT64_C(86400)

/* An instant written as RFC 3339 (timeutil's parser, independent of the code under test). */
static int64_t ts(const char *s)
{
    int64_t t = 0;
    if (rfc3339_parse(s, &t) != 0)
        fail_msg("bad instant in test: %s", s);
    return t;
}

/* Compares instants and shows both in RFC 3339 when they differ. */
#define assert_instant(got, want)                                                             \
    do {                                                                                      \
        int64_t g_ = (got), w_ = (want);                                                      \
        if (g_ != w_) {                                                                       \
            char gb_[32], wb_[32];                                                            \
            fail_msg("got %s, want %s", rfc3339_format(g_, 0, gb_, sizeof gb_),               \
                     rfc3339_format(w_, 0, wb_, sizeof wb_));                                 \
        }                                                                                     \
    } while (0)

/* Offset functions: a fixed one, and a zone with one change at `at`. */
static int32_t fixed_off(int64_t t, void *arg)
{
    (void)t;
    return *(const int32_t *)arg;
}

struct dst {
    int64_t at;
    int32_t before, after;
};

static int32_t dst_off(int64_t t, void *arg)
{
    const struct dst *z = arg;
    return t < z->at ? z->before : z->after;
}

/* The day number of a date, through the parser under test (checked in its own test). */
static int32_t date(const char *s)
{
    int32_t d = 0;
    if (sla_date_parse(s, &d) != 0)
        fail_msg("bad date in test: %s", s);
    return d;
}

/* Monday to Friday, 09:00-18:00. */
static struct calendar office(void)
{
    struct calendar c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "office");
    c.days = 0x3e;
    c.open_s = (int32_t)H(9);
    c.close_s = (int32_t)H(18);
    return c;
}

static void test_calendar_weekend_and_holiday(void **state)
{
    (void)state;
    struct calendar c = office();
    /* Friday 17:30 + 12 h: 0.5 h Friday, 9 h Monday, 2.5 h Tuesday. */
    int64_t fri = ts("2026-11-20T17:30:00Z");
    assert_instant(calendar_add(&c, NULL, NULL, fri, H(12)), ts("2026-11-24T11:30:00Z"));

    /* A holiday Monday moves it a working day on. */
    c.holidays[c.n_holidays++] = date("2026-11-23");
    assert_instant(calendar_add(&c, NULL, NULL, fri, H(12)), ts("2026-11-25T11:30:00Z"));

    /* A holiday on a weekend changes nothing. */
    c = office();
    c.holidays[c.n_holidays++] = date("2026-11-22");
    assert_instant(calendar_add(&c, NULL, NULL, fri, H(12)), ts("2026-11-24T11:30:00Z"));

    /* A week of holidays: the whole next week is skipped. */
    c = office();
    for (int i = 0; i < 5; i++)
        c.holidays[c.n_holidays++] = date("2026-11-23") + i;
    assert_instant(calendar_add(&c, NULL, NULL, fri, H(12)), ts("2026-12-01T11:30:00Z"));
}

static void test_calendar_start_positions(void **state)
{
    (void)state;
    struct calendar c = office();
    static const struct {
        const char *start;
        int64_t work;
        const char *want;
    } cases[] = {
        {"2026-11-23T10:00:00Z", H(2), "2026-11-23T12:00:00Z"},  /* inside hours */
        {"2026-11-23T07:00:00Z", H(1), "2026-11-23T10:00:00Z"},  /* before opening */
        {"2026-11-23T09:00:00Z", H(1), "2026-11-23T10:00:00Z"},  /* at opening */
        {"2026-11-23T19:00:00Z", H(1), "2026-11-24T10:00:00Z"},  /* after closing */
        {"2026-11-23T18:00:00Z", 1, "2026-11-24T09:00:01Z"},     /* at closing */
        {"2026-11-23T17:59:59Z", 1, "2026-11-23T18:00:00Z"},     /* the last second */
        {"2026-11-23T09:00:00Z", H(9), "2026-11-23T18:00:00Z"},  /* ends at closing */
        {"2026-11-23T09:00:00Z", H(9) + 1, "2026-11-24T09:00:01Z"},
        {"2026-11-21T12:00:00Z", H(1), "2026-11-23T10:00:00Z"},  /* Saturday */
        {"2026-11-22T23:59:00Z", H(1), "2026-11-23T10:00:00Z"},  /* Sunday night */
        {"2026-11-20T18:00:00Z", H(1), "2026-11-23T10:00:00Z"},  /* Friday at closing */
        {"2026-11-23T09:00:00Z", H(45), "2026-11-27T18:00:00Z"}, /* one working week */
        /* 15 days of working time = 40 working days = 8 weeks. */
        {"2026-11-23T09:00:00Z", 15 * DAY, "2027-01-15T18:00:00Z"},
        {"2026-11-23T09:00:00Z", 15 * DAY + 1, "2027-01-18T09:00:01Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = calendar_add(&c, NULL, NULL, ts(cases[i].start), cases[i].work);
        if (got != ts(cases[i].want)) {
            char b[32];
            fail_msg("case %zu: %s + %lld: got %s, want %s", i, cases[i].start,
                     (long long)cases[i].work, rfc3339_format(got, 0, b, sizeof b),
                     cases[i].want);
        }
    }

    /* Zero and negative work give the start, even outside hours. */
    int64_t sat = ts("2026-11-21T12:00:00Z");
    assert_instant(calendar_add(&c, NULL, NULL, sat, 0), sat);
    assert_instant(calendar_add(&c, NULL, NULL, sat, -H(5)), sat);

    /* Multi-week with holidays inside: Christmas and New Year's Day (both Fridays). */
    c.holidays[c.n_holidays++] = date("2026-12-25");
    c.holidays[c.n_holidays++] = date("2027-01-01");
    assert_instant(calendar_add(&c, NULL, NULL, ts("2026-11-23T09:00:00Z"), 15 * DAY),
                   ts("2027-01-19T18:00:00Z"));
}

static void test_calendar_fixed_offset(void **state)
{
    (void)state;
    struct calendar c = office();
    int32_t cst = 8 * 3600;
    /* The brief's example in local time +08:00. */
    assert_instant(calendar_add(&c, fixed_off, &cst, ts("2026-11-20T17:30:00+08:00"), H(12)),
                   ts("2026-11-24T11:30:00+08:00"));
    /* Saturday 01:00 local is Friday 17:00 UTC: the local day decides, so Monday 10:00. */
    assert_instant(calendar_add(&c, fixed_off, &cst, ts("2026-11-21T01:00:00+08:00"), H(1)),
                   ts("2026-11-23T10:00:00+08:00"));
    /* Monday 08:30 local is Monday 00:30 UTC: counts from 09:00 local. */
    assert_instant(calendar_add(&c, fixed_off, &cst, ts("2026-11-23T08:30:00+08:00"), M(30)),
                   ts("2026-11-23T09:30:00+08:00"));
    /* A negative offset: Friday 20:00 local is Saturday UTC. */
    int32_t ny = -5 * 3600;
    assert_instant(calendar_add(&c, fixed_off, &ny, ts("2026-11-20T16:00:00-05:00"), H(3)),
                   ts("2026-11-23T10:00:00-05:00"));
}

static void test_calendar_dst(void **state)
{
    (void)state;
    struct calendar c = office();

    /* Spring: +01:00 until 2026-03-29 01:00 UTC, then +02:00. Friday 17:30 +01:00 plus 12 h
     * ends Tuesday 11:30 on the wall clock, now +02:00. */
    struct dst spring = {ts("2026-03-29T01:00:00Z"), 3600, 7200};
    assert_instant(calendar_add(&c, dst_off, &spring, ts("2026-03-27T17:30:00+01:00"), H(12)),
                   ts("2026-03-31T11:30:00+02:00"));
    /* Autumn: +02:00 until 2026-10-25 01:00 UTC, then +01:00. */
    struct dst autumn = {ts("2026-10-25T01:00:00Z"), 7200, 3600};
    assert_instant(calendar_add(&c, dst_off, &autumn, ts("2026-10-23T17:30:00+02:00"), H(12)),
                   ts("2026-10-27T11:30:00+01:00"));

    /* A calendar that always works, to land inside the transitions. */
    struct calendar all = office();
    all.days = 0x7f;
    all.open_s = 0;
    all.close_s = 86400;
    /* 01:00 +01:00 + 1.5 h of wall time = 02:30, which does not exist: moved forward by the
     * gap to 03:30 +02:00. */
    assert_instant(calendar_add(&all, dst_off, &spring, ts("2026-03-29T01:00:00+01:00"), M(90)),
                   ts("2026-03-29T03:30:00+02:00"));
    /* 01:00 +02:00 + 1.5 h = 02:30, which happens twice: the earlier one (+02:00). */
    assert_instant(calendar_add(&all, dst_off, &autumn, ts("2026-10-25T01:00:00+02:00"), M(90)),
                   ts("2026-10-25T02:30:00+02:00"));
    /* 03:30 is after the repeated hour: one reading only (+01:00). */
    assert_instant(calendar_add(&all, dst_off, &autumn, ts("2026-10-25T01:00:00+02:00"), M(150)),
                   ts("2026-10-25T03:30:00+01:00"));
    /* Just before the gap still reads +01:00. */
    assert_instant(calendar_add(&all, dst_off, &spring, ts("2026-03-29T01:00:00+01:00"), M(59)),
                   ts("2026-03-29T01:59:00+01:00"));
}

static void test_calendar_no_working_time(void **state)
{
    (void)state;
    int64_t t = ts("2026-11-20T17:30:00Z");

    /* No working day at all: calendar time. */
    struct calendar c = office();
    c.days = 0;
    assert_instant(calendar_add(&c, NULL, NULL, t, H(12)), t + H(12));
    c.days = 0x80; /* not a weekday */
    assert_instant(calendar_add(&c, NULL, NULL, t, H(12)), t + H(12));
    /* Hours that hold no time. */
    c = office();
    c.close_s = c.open_s;
    assert_instant(calendar_add(&c, NULL, NULL, t, H(12)), t + H(12));
    /* NULL calendar. */
    assert_instant(calendar_add(NULL, NULL, NULL, t, H(12)), t + H(12));

    /* Mondays only, and the next 128 Mondays are holidays: the first working Monday is 128
     * weeks on (and is found, not given up on). */
    c = office();
    c.days = 1u << 1;
    for (int i = 0; i < CAL_HOLIDAYS_MAX; i++)
        c.holidays[c.n_holidays++] = date("2026-11-23") + 7 * i;
    assert_instant(calendar_add(&c, NULL, NULL, ts("2026-11-22T12:00:00Z"), H(1)),
                   ts("2029-05-07T10:00:00Z"));
}

/* Huge work stays fast (whole weeks are skipped) and in order. */
static void test_calendar_long(void **state)
{
    (void)state;
    struct calendar c = office();
    int64_t t = ts("2026-11-23T09:00:00Z");
    /* 100 years' worth of 45 h weeks. */
    int64_t weeks = 100 * 52;
    assert_instant(calendar_add(&c, NULL, NULL, t, weeks * H(45)),
                   ts("2026-11-27T18:00:00Z") + (weeks - 1) * 7 * DAY);
    /* Absurd inputs fall back to calendar time without overflow. */
    assert_instant(calendar_add(&c, NULL, NULL, t, INT64_MAX), INT64_MAX);
    assert_instant(calendar_add(&c, NULL, NULL, INT64_MAX - 5, H(1)), INT64_MAX);
}

/*
 * A slow, obvious reference: walk local time minute by minute through working minutes,
 * jumping over non-working days. Everything is minute-aligned and the zone is fixed.
 */
static bool ref_works(const struct calendar *c, int64_t day)
{
    int wd = (int)(((day % 7) + 7 + 4) % 7);
    if (!(c->days & (1u << wd)))
        return false;
    for (int i = 0; i < c->n_holidays; i++)
        if (c->holidays[i] == day)
            return false;
    return true;
}

static int64_t ref_add(const struct calendar *c, int32_t off, int64_t start, int64_t work)
{
    if (work <= 0)
        return start;
    int64_t m = start + off; /* local, minute-aligned */
    int64_t left = work;
    for (;;) {
        int64_t day = m >= 0 ? m / DAY : -((-m + DAY - 1) / DAY);
        int64_t sod = m - day * DAY;
        if (!ref_works(c, day)) {
            m = (day + 1) * DAY;
            continue;
        }
        if (sod >= c->open_s && sod < c->close_s) {
            left -= 60;
            if (left <= 0)
                return m + 60 + left - off;
        }
        m += 60;
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(uint64_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state % n;
}

static void test_calendar_against_reference(void **state)
{
    (void)state;
    for (int k = 0; k < 300; k++) {
        struct calendar c;
        memset(&c, 0, sizeof c);
        do
            c.days = (uint8_t)rnd(128);
        while (!c.days);
        int32_t a = (int32_t)rnd(24 * 60), b = (int32_t)rnd(24 * 60 + 1);
        if (a == b)
            b = a + 1;
        c.open_s = (a < b ? a : b) * 60;
        c.close_s = (a < b ? b : a) * 60;
        int32_t off = (int32_t)(rnd(26 * 4 + 1) * 900) - 12 * 3600;
        int64_t start = ts("2026-01-01T00:00:00Z") + (int64_t)rnd(365 * 24 * 60) * 60;
        int64_t sday = (start + off) / DAY;
        int nh = (int)rnd(21);
        int64_t d = sday - 3;
        for (int i = 0; i < nh; i++) {
            d += 1 + (int64_t)rnd(30);
            c.holidays[c.n_holidays++] = (int32_t)d;
        }
        int64_t per_day = c.close_s - c.open_s;
        /* Up to 40 working days, some exact multiples of a day's or a week's time. */
        int64_t work;
        switch (rnd(4)) {
        case 0:
            work = per_day * (int64_t)rnd(41);
            break;
        case 1:
            work = per_day * 7 * (int64_t)rnd(6);
            break;
        default:
            work = (int64_t)rnd((uint64_t)(per_day / 60 * 40 + 1)) * 60;
        }
        int64_t got = calendar_add(&c, fixed_off, &off, start, work);
        int64_t want = ref_add(&c, off, start, work);
        if (got != want) {
            char s1[32], s2[32], s3[32];
            fail_msg("case %d: days %#x %d-%d off %d start %s work %lld: got %s, want %s", k,
                     c.days, c.open_s, c.close_s, off, rfc3339_format(start, off, s1, sizeof s1),
                     (long long)work, rfc3339_format(got, off, s2, sizeof s2),
                     rfc3339_format(want, off, s3, sizeof s3));
        }
    }
}

static struct sla_policy policy(void)
{
    struct sla_policy p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "default");
    p.ack_s = H(12);
    p.solution_s = 5 * DAY;
    p.close_s = 15 * DAY;
    p.remind_before[0] = H(2);
    p.remind_before[1] = M(30);
    p.n_remind = 2;
    return p;
}

static void test_sla_deadlines(void **state)
{
    (void)state;
    struct sla_policy p = policy();
    int64_t t = ts("2026-11-20T17:30:00+08:00");
    struct deadlines a, b;
    sla_deadlines(&p, NULL, NULL, NULL, t, &a);
    deadlines_compute(&p, t, &b);
    assert_instant(a.ack_due, b.ack_due);
    assert_instant(a.solution_due, b.solution_due);
    assert_instant(a.close_due, b.close_due);
    assert_instant(a.ack_due, t + H(12));

    /* Under a calendar, each milestone counts working time from receipt. */
    struct calendar c = office();
    int32_t cst = 8 * 3600;
    p.ack_s = H(12);
    p.solution_s = H(45);       /* one working week */
    p.close_s = 2 * H(45) + H(1); /* two working weeks and an hour */
    sla_deadlines(&p, &c, fixed_off, &cst, t, &a);
    assert_instant(a.ack_due, ts("2026-11-24T11:30:00+08:00"));
    assert_instant(a.solution_due, ts("2026-11-27T17:30:00+08:00"));
    assert_instant(a.close_due, ts("2026-12-07T09:30:00+08:00"));
}

static void test_quiet_shift(void **state)
{
    (void)state;
    int32_t cst = 8 * 3600;
    struct quiet_hours night = {.on = true, .start_s = (int32_t)H(22), .end_s = (int32_t)H(8)};
    static const struct {
        const char *t, *want;
    } wrap[] = {
        {"2026-11-20T21:59:59+08:00", "2026-11-20T21:59:59+08:00"},
        {"2026-11-20T22:00:00+08:00", "2026-11-21T08:00:00+08:00"},
        {"2026-11-20T23:30:00+08:00", "2026-11-21T08:00:00+08:00"},
        {"2026-11-21T00:00:00+08:00", "2026-11-21T08:00:00+08:00"},
        {"2026-11-21T03:00:00+08:00", "2026-11-21T08:00:00+08:00"},
        {"2026-11-21T07:59:59+08:00", "2026-11-21T08:00:00+08:00"},
        {"2026-11-21T08:00:00+08:00", "2026-11-21T08:00:00+08:00"},
        {"2026-11-21T12:00:00+08:00", "2026-11-21T12:00:00+08:00"},
    };
    for (size_t i = 0; i < sizeof wrap / sizeof wrap[0]; i++)
        assert_instant(quiet_shift(&night, fixed_off, &cst, ts(wrap[i].t)), ts(wrap[i].want));

    struct quiet_hours lunch = {.on = true, .start_s = (int32_t)H(12), .end_s = (int32_t)H(14)};
    static const struct {
        const char *t, *want;
    } flat[] = {
        {"2026-11-20T11:59:59Z", "2026-11-20T11:59:59Z"},
        {"2026-11-20T12:00:00Z", "2026-11-20T14:00:00Z"},
        {"2026-11-20T13:59:59Z", "2026-11-20T14:00:00Z"},
        {"2026-11-20T14:00:00Z", "2026-11-20T14:00:00Z"},
        {"2026-11-20T23:00:00Z", "2026-11-20T23:00:00Z"},
    };
    for (size_t i = 0; i < sizeof flat / sizeof flat[0]; i++)
        assert_instant(quiet_shift(&lunch, NULL, NULL, ts(flat[i].t)), ts(flat[i].want));

    /* Off, or absent: no shift. */
    int64_t t = ts("2026-11-20T23:00:00+08:00");
    assert_instant(quiet_shift(NULL, fixed_off, &cst, t), t);
    struct quiet_hours off = night;
    off.on = false;
    assert_instant(quiet_shift(&off, fixed_off, &cst, t), t);

    /* Quiet until 24:00: the end is the next midnight. */
    struct quiet_hours evening = {.on = true, .start_s = (int32_t)H(20), .end_s = 86400};
    assert_instant(quiet_shift(&evening, NULL, NULL, ts("2026-11-20T21:00:00Z")),
                   ts("2026-11-21T00:00:00Z"));

    /* Across a DST change: 23:00 +01:00 on Saturday ends at 08:00 Sunday, now +02:00. */
    struct dst spring = {ts("2026-03-29T01:00:00Z"), 3600, 7200};
    assert_instant(quiet_shift(&night, dst_off, &spring, ts("2026-03-28T23:00:00+01:00")),
                   ts("2026-03-29T08:00:00+02:00"));
}

/* The ladder DESIGN.md describes. */
static const struct escalation_level ladder[] = {
    {.after_s = 0, .notify = "dealer_managers"},
    {.after_s = 4 * 3600, .notify = "supervisors"},
    {.after_s = 24 * 3600, .notify = "admins"},
};

static void check_sorted(const struct sla_event *ev, int n)
{
    for (int i = 1; i < n; i++) {
        const struct sla_event *a = &ev[i - 1], *b = &ev[i];
        bool ok = a->due_at < b->due_at ||
                  (a->due_at == b->due_at &&
                   (a->milestone < b->milestone ||
                    (a->milestone == b->milestone &&
                     (a->kind < b->kind || (a->kind == b->kind && a->level < b->level)))));
        if (!ok)
            fail_msg("events %d and %d out of order", i - 1, i);
    }
}

static void expect(const struct sla_event *e, enum sla_milestone m, enum sla_kind k, int level,
                   int64_t due_at, const char *notify)
{
    if (e->milestone != m || e->kind != k || e->level != level || e->due_at != due_at ||
        strcmp(e->notify, notify) != 0) {
        char b1[32], b2[32];
        fail_msg("got %s %s %d %s \"%s\", want %s %s %d %s \"%s\"",
                 sla_milestone_name(e->milestone), sla_kind_name(e->kind), e->level,
                 rfc3339_format(e->due_at, 0, b1, sizeof b1), e->notify, sla_milestone_name(m),
                 sla_kind_name(k), level, rfc3339_format(due_at, 0, b2, sizeof b2), notify);
    }
}

static void test_plan_full(void **state)
{
    (void)state;
    struct sla_policy p = policy();
    int64_t t = ts("2026-11-20T10:00:00Z");
    struct deadlines due;
    deadlines_compute(&p, t, &due);
    struct sla_event ev[SLA_PLAN_MAX];
    int n = sla_plan(&due, &p, ladder, 3, NULL, NULL, NULL, MS_ALL, t, ev);
    assert_int_equal(n, 3 * (2 + 1 + 3));
    check_sorted(ev, n);

    /* The ack milestone's six events come first, in ladder order. */
    expect(&ev[0], MS_ACK, SLA_REMIND, 0, due.ack_due - H(2), "");
    expect(&ev[1], MS_ACK, SLA_REMIND, 1, due.ack_due - M(30), "");
    expect(&ev[2], MS_ACK, SLA_BREACH, 0, due.ack_due, "");
    expect(&ev[3], MS_ACK, SLA_ESCALATE, 1, due.ack_due, "dealer_managers");
    expect(&ev[4], MS_ACK, SLA_ESCALATE, 2, due.ack_due + H(4), "supervisors");
    expect(&ev[5], MS_ACK, SLA_ESCALATE, 3, due.ack_due + H(24), "admins");
    expect(&ev[6], MS_SOLUTION, SLA_REMIND, 0, due.solution_due - H(2), "");
    expect(&ev[17], MS_CLOSE, SLA_ESCALATE, 3, due.close_due + H(24), "admins");

    /* The `which` mask. */
    n = sla_plan(&due, &p, ladder, 3, NULL, NULL, NULL, 1u << MS_SOLUTION, t, ev);
    assert_int_equal(n, 6);
    for (int i = 0; i < n; i++)
        assert_int_equal(ev[i].milestone, MS_SOLUTION);
    n = sla_plan(&due, &p, ladder, 3, NULL, NULL, NULL, (1u << MS_ACK) | (1u << MS_CLOSE), t,
                 ev);
    assert_int_equal(n, 12);
    assert_int_equal(ev[0].milestone, MS_ACK);
    assert_int_equal(ev[11].milestone, MS_CLOSE);
    assert_int_equal(sla_plan(&due, &p, ladder, 3, NULL, NULL, NULL, 0, t, ev), 0);
    assert_int_equal(sla_plan(&due, &p, ladder, 3, NULL, NULL, NULL, 1u << 7, t, ev), 0);

    /* No ladder, no policy reminders. */
    n = sla_plan(&due, NULL, NULL, 3, NULL, NULL, NULL, 1u << MS_ACK, t, ev);
    assert_int_equal(n, 1);
    expect(&ev[0], MS_ACK, SLA_BREACH, 0, due.ack_due, "");
}

static void test_plan_from(void **state)
{
    (void)state;
    struct sla_policy p = policy();
    int64_t t = ts("2026-11-20T10:00:00Z");
    struct deadlines due;
    deadlines_compute(&p, t, &due);
    struct sla_event ev[SLA_PLAN_MAX];

    /* Planned 1 h before the ack deadline: the 2 h reminder has passed, 30 min has not. */
    int n = sla_plan(&due, &p, ladder, 3, NULL, NULL, NULL, 1u << MS_ACK, due.ack_due - H(1), ev);
    assert_int_equal(n, 5);
    expect(&ev[0], MS_ACK, SLA_REMIND, 1, due.ack_due - M(30), "");
    expect(&ev[1], MS_ACK, SLA_BREACH, 0, due.ack_due, "");

    /* A reminder exactly at `from` is kept. */
    n = sla_plan(&due, &p, ladder, 3, NULL, NULL, NULL, 1u << MS_ACK, due.ack_due - H(2), ev);
    assert_int_equal(n, 6);

    /* Planned after the deadline (a reopen, a restart): no reminders, but the breach and the
     * ladder stay, overdue, for the scheduler to fire late. */
    n = sla_plan(&due, &p, ladder, 3, NULL, NULL, NULL, 1u << MS_ACK, due.ack_due + H(10), ev);
    assert_int_equal(n, 4);
    expect(&ev[0], MS_ACK, SLA_BREACH, 0, due.ack_due, "");
    expect(&ev[3], MS_ACK, SLA_ESCALATE, 3, due.ack_due + H(24), "admins");
}

static void test_plan_quiet(void **state)
{
    (void)state;
    struct sla_policy p = policy();
    int32_t cst = 8 * 3600;
    struct quiet_hours night = {.on = true, .start_s = (int32_t)H(22), .end_s = (int32_t)H(8)};
    struct sla_event ev[SLA_PLAN_MAX];
    struct deadlines due = {
        .ack_due = ts("2026-11-21T09:00:00+08:00"),      /* 07:00 and 08:30 reminders */
        .solution_due = ts("2026-11-21T08:15:00+08:00"), /* 06:15 and 07:45 */
        .close_due = ts("2026-11-21T07:50:00+08:00"),    /* 05:50 and 07:20 */
    };
    int n = sla_plan(&due, &p, ladder, 1, &night, fixed_off, &cst, MS_ALL,
                     ts("2026-11-20T12:00:00+08:00"), ev);
    check_sorted(ev, n);
    /* ack: 07:00 -> 08:00, 08:30 stays. solution: both -> 08:00 (before 08:15). close: both
     * would move to 08:00, after the 07:50 deadline: dropped. Breaches and escalations do
     * not move, even inside quiet hours. */
    assert_int_equal(n, 3 * 2 + 2 + 2);
    int64_t eight = ts("2026-11-21T08:00:00+08:00");
    expect(&ev[0], MS_CLOSE, SLA_BREACH, 0, due.close_due, "");
    expect(&ev[1], MS_CLOSE, SLA_ESCALATE, 1, due.close_due, "dealer_managers");
    expect(&ev[2], MS_ACK, SLA_REMIND, 0, eight, "");
    expect(&ev[3], MS_SOLUTION, SLA_REMIND, 0, eight, "");
    expect(&ev[4], MS_SOLUTION, SLA_REMIND, 1, eight, "");
    expect(&ev[5], MS_SOLUTION, SLA_BREACH, 0, due.solution_due, "");
    expect(&ev[6], MS_SOLUTION, SLA_ESCALATE, 1, due.solution_due, "dealer_managers");
    expect(&ev[7], MS_ACK, SLA_REMIND, 1, ts("2026-11-21T08:30:00+08:00"), "");
    expect(&ev[8], MS_ACK, SLA_BREACH, 0, due.ack_due, "");

    /* A reminder pushed to exactly its deadline is dropped too. */
    due.ack_due = eight;
    n = sla_plan(&due, &p, NULL, 0, &night, fixed_off, &cst, 1u << MS_ACK,
                 ts("2026-11-20T12:00:00+08:00"), ev);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].kind, SLA_BREACH);

    /* The `from` test applies after the shift: planned at 07:30, a reminder of 07:00 moved
     * to 08:00 is still ahead. */
    due.ack_due = ts("2026-11-21T09:00:00+08:00");
    n = sla_plan(&due, &p, NULL, 0, &night, fixed_off, &cst, 1u << MS_ACK,
                 ts("2026-11-21T07:30:00+08:00"), ev);
    assert_int_equal(n, 3);
    expect(&ev[0], MS_ACK, SLA_REMIND, 0, eight, "");
}

static void test_plan_ties(void **state)
{
    (void)state;
    struct sla_policy p = policy();
    p.remind_before[0] = H(1);
    p.remind_before[1] = H(1); /* the same offset twice: both kept, by level */
    int64_t d = ts("2026-11-21T09:00:00Z");
    struct deadlines due = {d, d, d};
    const struct escalation_level flat[] = {{.after_s = 0, .notify = "a"},
                                            {.after_s = 0, .notify = "b"}};
    struct sla_event ev[SLA_PLAN_MAX];
    int n = sla_plan(&due, &p, flat, 2, NULL, NULL, NULL, MS_ALL, 0, ev);
    assert_int_equal(n, 15);
    int i = 0;
    for (int m = MS_ACK; m <= MS_CLOSE; m++) {
        expect(&ev[i++], (enum sla_milestone)m, SLA_REMIND, 0, d - H(1), "");
        expect(&ev[i++], (enum sla_milestone)m, SLA_REMIND, 1, d - H(1), "");
    }
    for (int m = MS_ACK; m <= MS_CLOSE; m++) {
        expect(&ev[i++], (enum sla_milestone)m, SLA_BREACH, 0, d, "");
        expect(&ev[i++], (enum sla_milestone)m, SLA_ESCALATE, 1, d, "a");
        expect(&ev[i++], (enum sla_milestone)m, SLA_ESCALATE, 2, d, "b");
    }

    /* Offsets <= 0 plan no reminder (it would be at or after the deadline). */
    p.remind_before[0] = 0;
    p.remind_before[1] = -H(1);
    n = sla_plan(&due, &p, NULL, 0, NULL, NULL, NULL, 1u << MS_ACK, 0, ev);
    assert_int_equal(n, 1);
}

static void test_plan_cap(void **state)
{
    (void)state;
    struct sla_policy p = policy();
    for (int i = 0; i < SLA_REMIND_MAX; i++)
        p.remind_before[i] = H(i + 1);
    p.n_remind = SLA_REMIND_MAX;
    struct escalation_level big[20];
    memset(big, 0, sizeof big);
    for (int i = 0; i < 20; i++) {
        big[i].after_s = H(i);
        snprintf(big[i].notify, sizeof big[i].notify, "level%d", i + 1);
    }
    int64_t t = ts("2026-11-20T10:00:00Z");
    struct deadlines due;
    deadlines_compute(&p, t, &due);

    struct sla_event ev[SLA_PLAN_MAX + 1];
    memset(ev, 0xa5, sizeof ev);
    int n = sla_plan(&due, &p, big, ESCALATION_MAX, NULL, NULL, NULL, MS_ALL, 0, ev);
    assert_int_equal(n, SLA_PLAN_MAX);
    check_sorted(ev, n);

    /* Counts beyond the limits are clamped: never more than SLA_PLAN_MAX written. */
    p.n_remind = 1000;
    memset(ev, 0xa5, sizeof ev);
    n = sla_plan(&due, &p, big, 20, NULL, NULL, NULL, MS_ALL, 0, ev);
    assert_int_equal(n, SLA_PLAN_MAX);
    const unsigned char *guard = (const unsigned char *)&ev[SLA_PLAN_MAX];
    for (size_t i = 0; i < sizeof ev[0]; i++)
        assert_int_equal(guard[i], 0xa5);
    int last = 0;
    for (int i = 0; i < n; i++)
        if (ev[i].kind == SLA_ESCALATE && ev[i].level > last)
            last = ev[i].level;
    assert_int_equal(last, ESCALATION_MAX);

    /* Negative counts plan nothing of that kind. */
    p.n_remind = -1;
    n = sla_plan(&due, &p, big, -3, NULL, NULL, NULL, MS_ALL, 0, ev);
    assert_int_equal(n, 3);

    /* A notify that fills its array is still terminated in the event. */
    struct escalation_level full;
    memset(full.notify, 'x', sizeof full.notify);
    full.after_s = 0;
    n = sla_plan(&due, NULL, &full, 1, NULL, NULL, NULL, 1u << MS_ACK, 0, ev);
    assert_int_equal(n, 2);
    assert_int_equal(strlen(ev[1].notify), sizeof ev[1].notify - 1);
}

static void test_hours_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int32_t a, b;
    } good[] = {
        {"09:00-18:00", 9 * 3600, 18 * 3600},
        {"22:00-08:00", 22 * 3600, 8 * 3600},
        {"00:00-24:00", 0, 86400},
        {"23:59-00:00", 86340, 0},
        {"08:30-12:45", 30600, 45900},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int32_t a = -1, b = -1;
        assert_int_equal(sla_hours_parse(good[i].s, &a, &b), 0);
        assert_int_equal(a, good[i].a);
        assert_int_equal(b, good[i].b);
    }
    static const char *const bad[] = {
        "",           "9:00-18:00",   "09:00-18:00 ", " 09:00-18:00", "24:00-08:00",
        "09:60-18:00", "25:00-08:00", "09:00-24:01", "09:00-25:00",  "09:00-09:00",
        "09:00_18:00", "09:00-1800",  "0a:00-18:00", "09:00",        "09:00-18:00-20:00",
        "09.00-18.00", "-9:00-18:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t a = -1, b = -1;
        if (sla_hours_parse(bad[i], &a, &b) != DBOT_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(a, -1);
        assert_int_equal(b, -1);
    }
    int32_t a, b;
    assert_int_equal(sla_hours_parse(NULL, &a, &b), DBOT_ERR_INVALID);
}

static void test_date_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int32_t day;
    } good[] = {
        {"1970-01-01", 0},     {"1969-12-31", -1},    {"2026-11-20", 20777},
        {"2024-02-29", 19782}, {"2000-02-29", 11016}, {"2026-12-31", 20818},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int32_t d = 12345;
        assert_int_equal(sla_date_parse(good[i].s, &d), 0);
        assert_int_equal(d, good[i].day);
        /* Same day as timeutil's RFC 3339 reading. */
        char full[40];
        snprintf(full, sizeof full, "%sT00:00:00Z", good[i].s);
        assert_true(ts(full) == (int64_t)d * DAY);
    }
    static const char *const bad[] = {
        "",           "2026-02-29", "1900-02-29", "2026-13-01", "2026-00-10", "2026-04-31",
        "2026-04-00", "2026-4-01",  "2026-04-1",  "2026-04-01x", "20260401",  "2026/04/01",
        "226-04-01",  "2026-04-01 ", "+2026-04-01", "2026-1a-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t d = 12345;
        if (sla_date_parse(bad[i], &d) != DBOT_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(d, 12345);
    }
    int32_t d;
    assert_int_equal(sla_date_parse(NULL, &d), DBOT_ERR_INVALID);
}

/* What a rejection puts back of the close events a review held. */
static void test_resume(void **state)
{
    (void)state;
    int64_t deadline = ts("2026-11-21T18:00:00Z");
    struct sla_event held[] = {
        {.milestone = MS_CLOSE, .kind = SLA_REMIND, .level = 0, .due_at = deadline - H(2)},
        {.milestone = MS_CLOSE, .kind = SLA_REMIND, .level = 1, .due_at = deadline - M(30)},
        {.milestone = MS_CLOSE, .kind = SLA_BREACH, .level = 0, .due_at = deadline},
        {.milestone = MS_CLOSE, .kind = SLA_ESCALATE, .level = 1, .due_at = deadline},
        {.milestone = MS_CLOSE, .kind = SLA_ESCALATE, .level = 2, .due_at = deadline + H(4)},
    };
    bool keep[5];

    /* Rejected after the deadline and level 2: the breach and both levels fire (late), no
     * reminder (the breach speaks instead). */
    memset(keep, 0xff, sizeof keep);
    assert_int_equal(sla_resume(held, 5, deadline, deadline + H(5), keep), 3);
    assert_false(keep[0]);
    assert_false(keep[1]);
    assert_true(keep[2]);
    assert_true(keep[3]);
    assert_true(keep[4]);

    /* A deadline exactly now has passed for a reminder: "0 min left" is the breach's line. */
    assert_int_equal(sla_resume(held, 5, deadline, deadline, keep), 3);
    assert_false(keep[0] || keep[1]);

    /* Rejected 10 min before the deadline with both reminders held: the later one only. */
    assert_int_equal(sla_resume(held, 2, deadline, deadline - M(10), keep), 1);
    assert_false(keep[0]);
    assert_true(keep[1]);
    /* in any order */
    struct sla_event rev[] = {held[1], held[0]};
    assert_int_equal(sla_resume(rev, 2, deadline, deadline - M(10), keep), 1);
    assert_true(keep[0]);
    assert_false(keep[1]);

    /* Nothing held, nothing back. */
    assert_int_equal(sla_resume(held, 0, deadline, deadline - M(10), keep), 0);
}

static struct sla_terms sample_terms(void)
{
    struct sla_terms t;
    memset(&t, 0, sizeof t);
    t.policy = policy();
    t.n_ladder = 3;
    memcpy(t.ladder, ladder, sizeof ladder);
    return t;
}

static void expect_terms(const struct sla_terms *got, const struct sla_terms *want)
{
    assert_string_equal(got->policy.name, "");
    assert_int_equal(got->policy.ack_s, want->policy.ack_s);
    assert_int_equal(got->policy.solution_s, want->policy.solution_s);
    assert_int_equal(got->policy.close_s, want->policy.close_s);
    assert_int_equal(got->policy.n_remind, want->policy.n_remind);
    for (int i = 0; i < want->policy.n_remind; i++)
        assert_int_equal(got->policy.remind_before[i], want->policy.remind_before[i]);
    assert_int_equal(got->n_ladder, want->n_ladder);
    for (int i = 0; i < want->n_ladder; i++) {
        assert_int_equal(got->ladder[i].after_s, want->ladder[i].after_s);
        assert_string_equal(got->ladder[i].notify, want->ladder[i].notify);
    }
}

static void test_terms_round_trip(void **state)
{
    (void)state;
    char buf[SLA_TERMS_MAX];
    struct sla_terms t = sample_terms(), got;
    assert_int_equal(sla_terms_format(&t, buf, sizeof buf), 0);
    assert_string_equal(buf, "v1 ack=43200 solution=432000 close=1296000 remind=7200,1800"
                             " esc=0:dealer_managers esc=14400:supervisors esc=86400:admins");
    memset(&got, 0x55, sizeof got);
    assert_int_equal(sla_terms_parse(buf, &got), 0);
    expect_terms(&got, &t);

    /* No reminders, no ladder, a JID as a level. */
    t.policy.n_remind = 0;
    t.n_ladder = 1;
    snprintf(t.ladder[0].notify, sizeof t.ladder[0].notify, "boss@example.com");
    t.ladder[0].after_s = 5;
    assert_int_equal(sla_terms_format(&t, buf, sizeof buf), 0);
    assert_string_equal(buf, "v1 ack=43200 solution=432000 close=1296000 remind="
                             " esc=5:boss@example.com");
    assert_int_equal(sla_terms_parse(buf, &got), 0);
    expect_terms(&got, &t);
    t.n_ladder = 0;
    assert_int_equal(sla_terms_format(&t, buf, sizeof buf), 0);
    assert_string_equal(buf, "v1 ack=43200 solution=432000 close=1296000 remind=");
    assert_int_equal(sla_terms_parse(buf, &got), 0);
    expect_terms(&got, &t);

    /* The largest terms fit in SLA_TERMS_MAX. */
    t.policy.ack_s = t.policy.solution_s = t.policy.close_s = INT64_MAX;
    t.policy.n_remind = SLA_REMIND_MAX;
    for (int i = 0; i < SLA_REMIND_MAX; i++)
        t.policy.remind_before[i] = INT64_MAX;
    t.n_ladder = ESCALATION_MAX;
    for (int i = 0; i < ESCALATION_MAX; i++) {
        t.ladder[i].after_s = INT64_MAX;
        memset(t.ladder[i].notify, 'x', sizeof t.ladder[i].notify - 1);
        t.ladder[i].notify[sizeof t.ladder[i].notify - 1] = '\0';
    }
    assert_int_equal(sla_terms_format(&t, buf, sizeof buf), 0);
    assert_int_equal(sla_terms_parse(buf, &got), 0);
    expect_terms(&got, &t);
    /* ... and a buffer too small is refused, leaving "" */
    char small[40];
    assert_int_equal(sla_terms_format(&t, small, sizeof small), DBOT_ERR_INVALID);
    assert_string_equal(small, "");
}

static void test_terms_refused(void **state)
{
    (void)state;
    char buf[SLA_TERMS_MAX];
    struct sla_terms t = sample_terms();
    t.policy.remind_before[1] = -1;
    assert_int_equal(sla_terms_format(&t, buf, sizeof buf), DBOT_ERR_INVALID);
    assert_string_equal(buf, "");
    t = sample_terms();
    t.ladder[1].notify[0] = '\0';
    assert_int_equal(sla_terms_format(&t, buf, sizeof buf), DBOT_ERR_INVALID);
    t = sample_terms();
    snprintf(t.ladder[2].notify, sizeof t.ladder[2].notify, "two words");
    assert_int_equal(sla_terms_format(&t, buf, sizeof buf), DBOT_ERR_INVALID);
    t = sample_terms();
    t.n_ladder = ESCALATION_MAX + 1;
    assert_int_equal(sla_terms_format(&t, buf, sizeof buf), DBOT_ERR_INVALID);
    t = sample_terms();
    t.policy.close_s = -5;
    assert_int_equal(sla_terms_format(&t, buf, sizeof buf), DBOT_ERR_INVALID);

    static const char *const bad[] = {
        "",
        "v2 ack=1 solution=2 close=3 remind=",
        "v1 ack=1 solution=2 close=3",                       /* no remind= */
        "v1 ack=1 close=3 solution=2 remind=",               /* out of order */
        "v1  ack=1 solution=2 close=3 remind=",              /* two spaces */
        "v1 ack=-1 solution=2 close=3 remind=",
        "v1 ack=+1 solution=2 close=3 remind=",
        "v1 ack=01 solution=2 close=3 remind=",
        "v1 ack=9223372036854775808 solution=2 close=3 remind=", /* over INT64_MAX */
        "v1 ack=1 solution=2 close=3 remind=1,",
        "v1 ack=1 solution=2 close=3 remind=,1",
        "v1 ack=1 solution=2 close=3 remind=1,2,3,4,5,6,7,8,9", /* 9 > SLA_REMIND_MAX */
        "v1 ack=1 solution=2 close=3 remind= ",
        "v1 ack=1 solution=2 close=3 remind= esc=",
        "v1 ack=1 solution=2 close=3 remind= esc=0",
        "v1 ack=1 solution=2 close=3 remind= esc=0:",
        "v1 ack=1 solution=2 close=3 remind= esc=:admins",
        "v1 ack=1 solution=2 close=3 remind= esc=0:admins ",
        "v1 ack=1 solution=2 close=3 remind= esc=0:admins junk",
        "v1 ack=1 solution=2 close=3 remind= esc=0:a\tb",
        ("v1 ack=1 solution=2 close=3 remind= esc=0:"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), /* 64 bytes */
        "v1 ack=1 solution=2 close=3 remind=x",
        "v1 ack=1 solution=2 close=3 remind=1 trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sla_terms out = sample_terms();
        if (sla_terms_parse(bad[i], &out) != DBOT_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(out.policy.ack_s, H(12)); /* untouched */
    }
    struct sla_terms out;
    assert_int_equal(sla_terms_parse(NULL, &out), DBOT_ERR_INVALID);
    /* nine levels: one more than ESCALATION_MAX */
    char nine[400] = "v1 ack=1 solution=2 close=3 remind=";
    for (int i = 0; i <= ESCALATION_MAX; i++)
        strncat(nine, " esc=0:admins", sizeof nine - strlen(nine) - 1);
    assert_int_equal(sla_terms_parse(nine, &out), DBOT_ERR_INVALID);
}

static void test_names(void **state)
{
    (void)state;
    for (int m = MS_ACK; m <= MS_CLOSE; m++) {
        enum sla_milestone out = (enum sla_milestone)-1;
        assert_int_equal(sla_milestone_parse(sla_milestone_name((enum sla_milestone)m), &out), 0);
        assert_int_equal(out, m);
    }
    for (int k = SLA_REMIND; k <= SLA_ESCALATE; k++) {
        enum sla_kind out = (enum sla_kind)-1;
        assert_int_equal(sla_kind_parse(sla_kind_name((enum sla_kind)k), &out), 0);
        assert_int_equal(out, k);
    }
    assert_string_equal(sla_milestone_name(MS_ACK), "ack");
    assert_string_equal(sla_milestone_name(MS_SOLUTION), "solution");
    assert_string_equal(sla_milestone_name(MS_CLOSE), "close");
    assert_string_equal(sla_kind_name(SLA_REMIND), "remind");
    assert_string_equal(sla_kind_name(SLA_BREACH), "breach");
    assert_string_equal(sla_kind_name(SLA_ESCALATE), "escalate");
    assert_string_equal(sla_milestone_name((enum sla_milestone)7), "?");
    assert_string_equal(sla_kind_name((enum sla_kind)-1), "?");

    static const char *const bad[] = {"", "ACK", "ack ", "solutions", "?", "remind"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum sla_milestone m = MS_CLOSE;
        assert_int_equal(sla_milestone_parse(bad[i], &m), DBOT_ERR_INVALID);
        assert_int_equal(m, MS_CLOSE);
    }
    enum sla_kind k = SLA_BREACH;
    assert_int_equal(sla_kind_parse("Breach", &k), DBOT_ERR_INVALID);
    assert_int_equal(sla_kind_parse("ack", &k), DBOT_ERR_INVALID);
    assert_int_equal(sla_kind_parse(NULL, &k), DBOT_ERR_INVALID);
    assert_int_equal(sla_milestone_parse(NULL, NULL), DBOT_ERR_INVALID);
    assert_int_equal(k, SLA_BREACH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar_weekend_and_holiday),
        cmocka_unit_test(test_calendar_start_positions),
        cmocka_unit_test(test_calendar_fixed_offset),
        cmocka_unit_test(test_calendar_dst),
        cmocka_unit_test(test_calendar_no_working_time),
        cmocka_unit_test(test_calendar_long),
        cmocka_unit_test(test_calendar_against_reference),
        cmocka_unit_test(test_sla_deadlines),
        cmocka_unit_test(test_quiet_shift),
        cmocka_unit_test(test_plan_full),
        cmocka_unit_test(test_plan_from),
        cmocka_unit_test(test_plan_quiet),
        cmocka_unit_test(test_plan_ties),
        cmocka_unit_test(test_plan_cap),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_terms_round_trip),
        cmocka_unit_test(test_terms_refused),
        cmocka_unit_test(test_hours_parse),
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
