/*
 * test_underperformers.c — the thresholds against a scorecard and the network, the
 * hysteresis of entering and leaving the group, with pins; the daily evaluation's slots
 * (catch-up after downtime, once a day across restarts); and the engine on a real SQLite file
 * driven by chat commands: a pin in enters, a pin out leaves (messages, members to sync,
 * history), an unpin goes by the figures, and staff /scorecard without a dealer is refused in
 * one line. Uses the shipped config/messages files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dealerbot/chat.h"
#include "dealerbot/config.h"
#include "dealerbot/engine.h"
#include "dealerbot/messages.h"
#include "dealerbot/store.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/underperformers.h"
#include "engine/engine_int.h"

#include "unit_util.h"

static const struct under_rules R = {.min_complaints = 3, .rate_factor = 1.5,
                                     .close_sla_min = 0.8, .penalty_points_max = 6,
                                     .exit_after_s = 1000};

static void set(struct scorecard_value *v, double x)
{
    v->has = true;
    v->v = x;
}

static void test_reasons(void **state)
{
    (void)state;
    struct scorecard d, net;
    memset(&d, 0, sizeof d);
    memset(&net, 0, sizeof net);
    d.raw.complaints = 10;
    set(&d.m[SCM_PER_1000], 3.0);
    set(&net.m[SCM_PER_1000], 2.0);
    assert_int_equal(under_reasons(&d, &net, &R), UR_RATE);           /* 3.0 >= 1.5 x 2.0 */
    set(&d.m[SCM_PER_1000], 2.9);
    assert_int_equal(under_reasons(&d, &net, &R), 0);
    /* without sales figures: counts against the mean per dealer */
    d.m[SCM_PER_1000].has = false;
    set(&net.m[SCM_COMPLAINTS], 6.0);
    assert_int_equal(under_reasons(&d, &net, &R), UR_RATE);           /* 10 >= 9 */
    set(&net.m[SCM_COMPLAINTS], 7.0);
    assert_int_equal(under_reasons(&d, &net, &R), 0);                 /* 10 < 10.5 */
    set(&d.m[SCM_CLOSE_COMPLIANCE], 79.9);
    assert_int_equal(under_reasons(&d, &net, &R), UR_CLOSE);
    set(&d.m[SCM_CLOSE_COMPLIANCE], 80.0);
    assert_int_equal(under_reasons(&d, &net, &R), 0);
    d.raw.penalty_points = 6;
    assert_int_equal(under_reasons(&d, &net, &R), UR_PENALTY);
    set(&d.m[SCM_CLOSE_COMPLIANCE], 50);
    assert_int_equal(under_reasons(&d, &net, &R), UR_CLOSE | UR_PENALTY);
    /* too few complaints: nothing counts */
    d.raw.complaints = 2;
    assert_int_equal(under_reasons(&d, &net, &R), 0);
}

static void test_hysteresis(void **state)
{
    (void)state;
    struct under_state s = {0}, n;
    assert_int_equal(under_next(&s, 0, 100, &R, &n), UC_NONE);
    assert_false(n.listed);
    assert_int_equal(under_next(&s, UR_RATE, 100, &R, &n), UC_ENTER);
    assert_true(n.listed);
    assert_int_equal(n.since, 100);
    s = n;
    /* back under: the clock starts, it stays listed until exit_after has passed */
    assert_int_equal(under_next(&s, 0, 200, &R, &n), UC_NONE);
    assert_true(n.listed);
    assert_int_equal(n.under_since, 200);
    s = n;
    assert_int_equal(under_next(&s, 0, 1199, &R, &n), UC_NONE);
    /* over again before that: the clock restarts */
    assert_int_equal(under_next(&s, UR_CLOSE, 1100, &R, &n), UC_NONE);
    assert_int_equal(n.under_since, 0);
    s = n;
    assert_int_equal(under_next(&s, 0, 1500, &R, &n), UC_NONE);
    s = n;
    assert_int_equal(under_next(&s, 0, 2499, &R, &n), UC_NONE);
    assert_int_equal(under_next(&s, 0, 2500, &R, &n), UC_LEAVE);
    assert_false(n.listed);
    assert_int_equal(n.since, 0);
}

static void test_pins(void **state)
{
    (void)state;
    struct under_state s = {.pinned = 1}, n;
    assert_int_equal(under_next(&s, 0, 10, &R, &n), UC_ENTER);       /* pinned in */
    s = n;
    assert_int_equal(under_next(&s, 0, 99999, &R, &n), UC_NONE);     /* never leaves */
    assert_true(n.listed);
    s.pinned = -1;
    assert_int_equal(under_next(&s, UR_RATE | UR_PENALTY, 10, &R, &n), UC_LEAVE);
    s = n;
    assert_int_equal(under_next(&s, UR_RATE, 20, &R, &n), UC_NONE);  /* never enters */
    assert_false(n.listed);
    s.pinned = 0;                                                     /* unpinned */
    assert_int_equal(under_next(&s, UR_RATE, 30, &R, &n), UC_ENTER);
}

/* ---- the daily evaluation ---- */

static int32_t plus8(int64_t t, void *arg)
{
    (void)t;
    (void)arg;
    return 8 * 3600;
}

/* A zone with summer time: +1 h before T_DST, +2 h from it (UTC). */
#define T_DST INT64_C(1774746000) /* 2026-03-29 01:00 UTC: Europe/Berlin goes to +2 */
static int32_t berlin(int64_t t, void *arg)
{
    (void)arg;
    return t < T_DST ? 3600 : 7200;
}

static int64_t utc(const char *s)
{
    int64_t t = 0;
    assert_int_equal(rfc3339_parse(s, &t), 0);
    return t;
}

static void test_daily_slots(void **state)
{
    (void)state;
    const int six = 6 * 3600;
    /* 05:59 and 06:00 Shanghai time (UTC+8) on 2026-11-24 */
    int64_t before = utc("2026-11-24T05:59:00+08:00"), at = utc("2026-11-24T06:00:00+08:00");
    assert_int_equal(under_slot_before(before, six, plus8, NULL), utc("2026-11-23T06:00:00+08:00"));
    assert_int_equal(under_slot_after(before, six, plus8, NULL), at);
    assert_int_equal(under_slot_before(at, six, plus8, NULL), at);
    assert_int_equal(under_slot_after(at, six, plus8, NULL), utc("2026-11-25T06:00:00+08:00"));
    /* just after local midnight, which is the previous day in UTC */
    int64_t night = utc("2026-11-24T00:30:00+08:00");
    assert_int_equal(under_slot_before(night, six, plus8, NULL), utc("2026-11-23T06:00:00+08:00"));
    assert_int_equal(under_slot_after(night, six, plus8, NULL), at);
    /* midnight as the time itself */
    assert_int_equal(under_slot_before(night, 0, plus8, NULL), utc("2026-11-24T00:00:00+08:00"));
    /* summer time: 06:00 local is 05:00 UTC the day before, 04:00 UTC the day after */
    assert_int_equal(under_slot_after(utc("2026-03-28T12:00:00Z"), six, berlin, NULL),
                     utc("2026-03-29T04:00:00Z"));
    assert_int_equal(under_slot_before(utc("2026-03-29T04:30:00Z"), six, berlin, NULL),
                     utc("2026-03-29T04:00:00Z"));
    assert_int_equal(under_slot_before(utc("2026-03-29T03:59:00Z"), six, berlin, NULL),
                     utc("2026-03-28T05:00:00Z"));
}

static void test_daily_due(void **state)
{
    (void)state;
    const int six = 6 * 3600;
    int64_t slot = 0;
    int64_t mon = utc("2026-11-23T06:00:00+08:00"), tue = utc("2026-11-24T06:00:00+08:00");
    /* evaluated on Monday's slot: nothing more is due until Tuesday 06:00 */
    assert_false(under_daily_due(utc("2026-11-23T06:00:01+08:00"), six, mon, plus8, NULL, &slot));
    assert_int_equal(slot, mon);
    assert_false(under_daily_due(utc("2026-11-24T05:59:59+08:00"), six, mon, plus8, NULL, &slot));
    /* on time */
    assert_true(under_daily_due(tue, six, mon, plus8, NULL, &slot));
    assert_int_equal(slot, tue);
    /* the bot was down from Monday 05:00 to Tuesday 10:00: Tuesday's runs once, late (the
     * missed Monday one is not repeated: one evaluation sees the figures as they are now) */
    int64_t start = utc("2026-11-24T10:00:00+08:00");
    assert_true(under_daily_due(start, six, utc("2026-11-22T06:00:00+08:00"), plus8, NULL, &slot));
    assert_int_equal(slot, tue);
    /* ... and a restart later the same day does not run it again */
    assert_false(under_daily_due(start + 3600, six, slot, plus8, NULL, &slot));
    /* never evaluated: due at once */
    assert_true(under_daily_due(start, six, 0, plus8, NULL, &slot));
    assert_int_equal(slot, tue);
}

/* ---- the engine on a real store, driven by chat commands ---- */

struct fx {
    char dir[256], dbpath[300];
    struct config *cfg;
    struct store *st;
    struct engine e;
    int rooms_kicks;
    int msgs;
};

static void on_rooms(void *arg)
{
    ((struct fx *)arg)->rooms_kicks++;
}

static int engine_setup(void **state)
{
    static struct fx f;
    memset(&f, 0, sizeof f);
    snprintf(f.dir, sizeof f.dir, "/tmp/dbot-under-XXXXXX");
    if (!mkdtemp(f.dir))
        return -1;
    snprintf(f.dbpath, sizeof f.dbpath, "%s/test.db", f.dir);
    struct dbot_diag d = {{0}};
    char text[600];
    snprintf(text, sizeof text,
             "database = \"%s\"; language = \"zh-CN\"; timezone = \"Asia/Shanghai\";"
             " http = { token = \"unit-test-token-0123\"; }; chat = { platform = \"none\"; };"
             " underperformers = { min_complaints = 2; exit_after = \"0s\"; };",
             f.dbpath);
    if (config_load_string(text, "test.conf", &f.cfg, &d) != 0 ||
        store_open(f.dbpath, &f.st, &d) != 0 || engine_init(&f.e, f.cfg, f.st, &d) != 0) {
        fprintf(stderr, "%s\n", d.msg);
        return -1;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/config/messages", source_dir());
    if (messages_load(dir, &f.e.msgs, &d) != 0) {
        fprintf(stderr, "%s\n", d.msg);
        return -1;
    }
    f.e.rooms_kick = on_rooms;
    f.e.rooms_kick_arg = &f;
    struct dealer sh = {.code = "SH001", .name = "上海浦东汽车", .region = "华东",
                        .sales_volume = 2400};
    struct dealer bj = {.code = "BJ002", .name = "北京朝阳汽车", .region = "华北",
                        .sales_volume = 1800};
    struct person people[] = {
        {.jid = "wang@localhost", .dealer = "SH001", .role = ROLE_MANAGER, .name = "王经理",
         .language = "zh-CN"},
        {.jid = "liu@localhost", .role = ROLE_SUPERVISOR, .name = "刘主管",
         .language = "zh-CN"},
        {.jid = "sun@localhost", .role = ROLE_AGENT, .name = "孙专员", .language = "en"},
        {.jid = "boss@localhost", .role = ROLE_ADMIN, .name = "总监", .language = "zh-CN"},
    };
    if (store_dealer_upsert(f.st, &sh) || store_dealer_upsert(f.st, &bj))
        return -1;
    for (size_t i = 0; i < sizeof people / sizeof people[0]; i++)
        if (store_person_upsert(f.st, &people[i]))
            return -1;
    *state = &f;
    return 0;
}

static int engine_teardown(void **state)
{
    struct fx *f = *state;
    if (!f)
        return 0;
    engine_cleanup(&f->e);
    store_close(f->st);
    config_free(f->cfg);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Sends `text` as a direct message from `jid`. */
static void say(struct fx *f, const char *jid, const char *text, int64_t now)
{
    char id[32];
    snprintf(id, sizeof id, "m-%d", ++f->msgs);
    struct chat_message m = {.group = false, .sender = jid, .text = text, .platform_id = id};
    engine_on_message(&f->e, &m, now);
}

/* The outbox, as "target|body" lines, and then marked delivered (so the next call shows only
 * what came after). */
struct sent {
    struct store *st;
    char text[16384];
    size_t off;
    char ids[64][OUTBOX_ID_MAX];
    int n;
};

static int take_sent(const struct outbox_row *r, void *arg)
{
    struct sent *s = arg;
    int w = snprintf(s->text + s->off, sizeof s->text - s->off, "%s|%s\n", r->target, r->body);
    if (w > 0 && (size_t)w < sizeof s->text - s->off)
        s->off += (size_t)w;
    if (s->n < 64)
        snprintf(s->ids[s->n++], OUTBOX_ID_MAX, "%s", r->msg_id);
    return 0;
}

static const char *outbox(struct fx *f, int64_t now)
{
    static struct sent s;
    memset(&s, 0, sizeof s);
    assert_int_equal(store_outbox_each_pending(f->st, 0, 64, take_sent, &s), 0);
    for (int i = 0; i < s.n; i++)
        assert_int_equal(store_outbox_delivered(f->st, s.ids[i], now), 0);
    return s.text;
}

static int add_code(const char *code, void *arg)
{
    char *buf = arg;
    strcat(buf, code);
    strcat(buf, " ");
    return 0;
}

static const char *listed(struct fx *f)
{
    static char buf[256];
    buf[0] = '\0';
    assert_int_equal(store_underperformers_each(f->st, add_code, buf), 0);
    return buf;
}

struct hist {
    char text[4096];
    size_t off;
};

static int add_change(const struct under_change_row *r, void *arg)
{
    struct hist *h = arg;
    int w = snprintf(h->text + h->off, sizeof h->text - h->off, "%s %s %s [%s]\n", r->dealer,
                     r->change, r->actor, r->reasons);
    if (w > 0 && (size_t)w < sizeof h->text - h->off)
        h->off += (size_t)w;
    return 0;
}

static const char *history(struct fx *f, int limit)
{
    static struct hist h;
    memset(&h, 0, sizeof h);
    assert_int_equal(store_under_changes(f->st, limit, add_change, &h), 0);
    return h.text;
}

static char *text_of(struct fx *f, const char *key, const struct msg_var *v, size_t n)
{
    char *t = eng__text(&f->e, "zh-CN", key, v, n);
    assert_non_null(t);
    return t;
}

#define assert_has(hay, needle)                                                              \
    do {                                                                                     \
        if (!strstr((hay), (needle)))                                                        \
            fail_msg("no \"%s\" in:\n%s", (needle), (hay));                                  \
    } while (0)

static void test_engine_pins(void **state)
{
    struct fx *f = *state;
    int64_t now = utc("2026-11-24T10:00:00+08:00");
    /* a supervisor may not pin */
    say(f, "liu@localhost", "/underperformers pin SH001 in", now);
    assert_string_equal(listed(f), "");
    outbox(f, now);

    /* pinned in: it enters now, with the admin as the reason, and the members are synced */
    f->rooms_kicks = 0;
    say(f, "boss@localhost", "/underperformers pin SH001 in", now);
    assert_string_equal(listed(f), "SH001 ");
    assert_int_equal(f->rooms_kicks, 1);
    struct msg_var who[] = {{"who", "总监"}};
    char *pin_in = text_of(f, "under_reason_pin_in", who, 1);
    struct msg_var ev[] = {{"dealer_code", "SH001"}, {"dealer_name", "上海浦东汽车"},
                           {"reasons", pin_in}, {"room", "underperformers"}};
    char *enter = text_of(f, "under_enter_room", ev, 4);
    char *enter_d = text_of(f, "under_enter_dealer", ev, 4);
    const char *out = outbox(f, now);
    char line[2048];
    snprintf(line, sizeof line, "underperformers|%s\n", enter);
    assert_has(out, line);
    snprintf(line, sizeof line, "dealer-sh001|%s\n", enter_d);
    assert_has(out, line);
    const char *h = history(f, 10);
    snprintf(line, sizeof line,
             "SH001 enter boss@localhost [%s]\nSH001 pin_in boss@localhost [%s]\n", pin_in,
             pin_in);
    assert_string_equal(h, line);

    /* an evaluation keeps it (pinned), and changes nothing */
    struct under_result res;
    f->rooms_kicks = 0;
    assert_int_equal(engine_underperformers_evaluate(&f->e, now + 60, "api", 0, &res), 0);
    assert_int_equal(res.listed, 1);
    assert_int_equal(res.entered + res.left, 0);
    assert_int_equal(f->rooms_kicks, 0);
    assert_string_equal(outbox(f, now), "");

    /* pinned out: it leaves now, the room and the dealer hear why, the members are synced */
    say(f, "boss@localhost", "/underperformers pin SH001 out", now + 120);
    assert_string_equal(listed(f), "");
    assert_int_equal(f->rooms_kicks, 1);
    char *pin_out = text_of(f, "under_reason_pin_out", who, 1);
    ev[2].value = pin_out;
    char *leave = text_of(f, "under_leave_room", ev, 4);
    char *leave_d = text_of(f, "under_leave_dealer", ev, 4);
    out = outbox(f, now);
    snprintf(line, sizeof line, "underperformers|%s\n", leave);
    assert_has(out, line);
    snprintf(line, sizeof line, "dealer-sh001|%s\n", leave_d);
    assert_has(out, line);
    struct msg_var pv[] = {{"dealer_code", "SH001"},
                           {"how", eng__label(&f->e, "zh-CN", "under_how_out")}};
    char *ok = text_of(f, "under_pin_ok", pv, 2);
    snprintf(line, sizeof line, "boss@localhost|%s\n", ok);
    assert_has(out, line);
    h = history(f, 2);
    snprintf(line, sizeof line,
             "SH001 leave boss@localhost [%s]\nSH001 pin_out boss@localhost [%s]\n", pin_out,
             pin_out);
    assert_string_equal(h, line);

    /* unpinned with no complaints: its figures keep it out, nothing is said to the rooms */
    f->rooms_kicks = 0;
    say(f, "boss@localhost", "/underperformers unpin SH001", now + 180);
    assert_string_equal(listed(f), "");
    assert_int_equal(f->rooms_kicks, 0);
    out = outbox(f, now);
    assert_null(strstr(out, "underperformers|"));
    assert_null(strstr(out, "dealer-sh001|"));
    h = history(f, 1);
    char *unpin = text_of(f, "under_reason_unpin", who, 1);
    snprintf(line, sizeof line, "SH001 unpin boss@localhost [%s]\n", unpin);
    assert_string_equal(h, line);

    /* pinned in again, then unpinned: with exit_after 0 and no figures it leaves at once,
     * "within every threshold since" now */
    say(f, "boss@localhost", "/underperformers pin SH001 in", now + 240);
    assert_string_equal(listed(f), "SH001 ");
    outbox(f, now);
    f->rooms_kicks = 0;
    say(f, "boss@localhost", "/underperformers unpin SH001", now + 300);
    assert_string_equal(listed(f), "");
    assert_int_equal(f->rooms_kicks, 1);
    char since[ENG_TIME_MAX], period[48];
    eng__when(now + 300, NULL, since, sizeof since);
    eng__span("zh-CN", 0, period, sizeof period);
    struct msg_var lv[] = {{"since", since}, {"period", period}};
    char *left = text_of(f, "under_reason_left", lv, 2);
    ev[2].value = left;
    char *leave2 = text_of(f, "under_leave_room", ev, 4);
    out = outbox(f, now);
    snprintf(line, sizeof line, "underperformers|%s\n", leave2);
    assert_has(out, line);
    h = history(f, 1);
    snprintf(line, sizeof line, "SH001 leave boss@localhost [%s]\n", left);
    assert_string_equal(h, line);
    free(pin_in);
    free(pin_out);
    free(unpin);
    free(left);
    free(enter);
    free(enter_d);
    free(leave);
    free(leave_d);
    free(leave2);
    free(ok);
}

static void test_engine_evaluations_recorded(void **state)
{
    struct fx *f = *state;
    int64_t now = utc("2026-11-25T06:00:00+08:00"), slot = -1, at = 0;
    char actor[64];
    struct under_result res;
    assert_int_equal(store_under_last_slot(f->st, &slot), 0);
    assert_int_equal(slot, 0); /* on-demand evaluations name no slot */
    assert_int_equal(engine_underperformers_evaluate(&f->e, now, "schedule", now, &res), 0);
    assert_int_equal(engine_underperformers_evaluate(&f->e, now + 5, "api", 0, &res), 0);
    assert_int_equal(store_under_last_slot(f->st, &slot), 0);
    assert_int_equal(slot, now);
    assert_int_equal(store_under_last_evaluation(f->st, &at, actor, sizeof actor), 0);
    assert_int_equal(at, now + 5);
    assert_string_equal(actor, "api");
}

static void test_engine_scorecard_needs_dealer(void **state)
{
    struct fx *f = *state;
    int64_t now = utc("2026-11-25T10:00:00+08:00");
    outbox(f, now);
    say(f, "liu@localhost", "/scorecard", now);
    struct msg_var v[] = {{"command", "/scorecard"}};
    char *want = text_of(f, "err_scorecard_dealer", v, 1);
    char line[512];
    snprintf(line, sizeof line, "liu@localhost|%s\n", want);
    assert_string_equal(outbox(f, now), line);
    free(want);
    /* in English for an English reader, with the alias as typed */
    say(f, "sun@localhost", "/评分", now);
    struct msg_var v2[] = {{"command", "/评分"}};
    want = eng__text(&f->e, "en", "err_scorecard_dealer", v2, 1);
    snprintf(line, sizeof line, "sun@localhost|%s\n", want);
    assert_string_equal(outbox(f, now), line);
    free(want);
    /* a dealer's person gets their own */
    say(f, "wang@localhost", "/scorecard", now);
    assert_has(outbox(f, now), "wang@localhost|📊");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_pins),
        cmocka_unit_test(test_daily_slots),
        cmocka_unit_test(test_daily_due),
    };
    const struct CMUnitTest engine_tests[] = {
        cmocka_unit_test(test_engine_pins),
        cmocka_unit_test(test_engine_evaluations_recorded),
        cmocka_unit_test(test_engine_scorecard_needs_dealer),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("engine", engine_tests, engine_setup, engine_teardown);
    return failed;
}
