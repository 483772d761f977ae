/*
 * test_engine_texts.c — how the engine words times for people: spans in both languages,
 * deadlines with time left / overdue / met in a dealer's zone, the deadline a ticket works
 * towards, and labels with their fallbacks. Uses the shipped config/messages files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dealerbot/messages.h"
#include "dealerbot/timeutil.h"
#include "engine/engine_int.h"

#include "unit_util.h"

static int setup(void **state)
{
    static struct config cfg;
    static struct engine e;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/config/messages", source_dir());
    struct dbot_diag d = {{0}};
    memset(&e, 0, sizeof e);
    cfg.language = "zh-CN";
    e.cfg = &cfg;
    if (messages_load(dir, &e.msgs, &d) != 0) {
        fprintf(stderr, "%s\n", d.msg);
        return -1;
    }
    *state = &e;
    return 0;
}

static int teardown(void **state)
{
    struct engine *e = *state;
    messages_free(e->msgs);
    return 0;
}

static void test_span(void **state)
{
    (void)state;
    char b[48];
    assert_string_equal(eng__span("en", 0, b, sizeof b), "0 min");
    assert_string_equal(eng__span("en", 59, b, sizeof b), "1 min");
    assert_string_equal(eng__span("en", 3600, b, sizeof b), "1 h");
    assert_string_equal(eng__span("en", 3 * 3600 + 5 * 60, b, sizeof b), "3 h 5 min");
    assert_string_equal(eng__span("en", 2 * 86400, b, sizeof b), "2 d");
    assert_string_equal(eng__span("en", 2 * 86400 + 3 * 3600 + 59, b, sizeof b), "2 d 3 h");
    assert_string_equal(eng__span("en", 3599, b, sizeof b), "1 h"); /* minutes round up */
    assert_string_equal(eng__span("en", 23 * 3600 + 59 * 60 + 30, b, sizeof b), "1 d");
    assert_string_equal(eng__span("zh-CN", 3 * 3600 + 5 * 60, b, sizeof b), "3小时5分钟");
    assert_string_equal(eng__span("zh-CN", 86400 + 7200, b, sizeof b), "1天2小时");
    assert_string_equal(eng__span(NULL, 90, b, sizeof b), "2分钟");
    assert_string_equal(eng__span("en", -7200, b, sizeof b), "2 h");
}

static void test_due(void **state)
{
    struct engine *e = *state;
    char b[128], want[128];
    int64_t due;
    assert_int_equal(rfc3339_parse("2026-11-24T10:00:00+08:00", &due), 0);
    /* 3 h left, shown in the dealer's zone */
    eng__due(e, "en", "Asia/Shanghai", due, 0, due - 3 * 3600, b, sizeof b);
    snprintf(want, sizeof want, "2026-11-24 10:00 (%s)",
             messages_get(e->msgs, "en", "due_left") ? "3 h left" : "?");
    assert_string_equal(b, want);
    /* overdue by 90 minutes, in Chinese */
    eng__due(e, "zh-CN", "Asia/Shanghai", due, 0, due + 5400, b, sizeof b);
    char *over = messages_format(e->msgs, "zh-CN", "due_over",
                                 (struct msg_var[]){{"over", "1小时30分钟"}}, 1);
    snprintf(want, sizeof want, "2026-11-24 10:00（%s）", over);
    free(over);
    assert_string_equal(b, want);
    /* met, and another zone */
    /* at the deadline itself the milestone is missed (its breach fires then): overdue */
    eng__due(e, "en", "Asia/Shanghai", due, 0, due, b, sizeof b);
    char *zero = messages_format(e->msgs, "en", "due_over",
                                 (struct msg_var[]){{"over", "0 min"}}, 1);
    snprintf(want, sizeof want, "2026-11-24 10:00 (%s)", zero);
    free(zero);
    assert_string_equal(b, want);
    eng__due(e, "en", "Asia/Shanghai", due, 0, due - 1, b, sizeof b);
    snprintf(want, sizeof want, "2026-11-24 10:00 (%s)",
             messages_get(e->msgs, "en", "due_left") ? "1 min left" : "?");
    assert_string_equal(b, want);
    eng__due(e, "en", "Europe/Berlin", due, due - 60, due + 99999, b, sizeof b);
    snprintf(want, sizeof want, "2026-11-24 03:00 (%s)", messages_get(e->msgs, "en", "due_met"));
    assert_string_equal(b, want);
    /* met two hours after the deadline: not "met" but how late */
    eng__due(e, "en", "Europe/Berlin", due, due + 7200, due + 99999, b, sizeof b);
    assert_string_equal(b, "2026-11-24 03:00 (met 2 h late)");
    eng__due(e, "zh-CN", "Europe/Berlin", due, due, due + 99999, b, sizeof b);
    assert_non_null(strstr(b, "已完成（超时"));
}

static void test_next_due_and_labels(void **state)
{
    struct engine *e = *state;
    struct complaint c = {.due = {.ack_due = 10, .solution_due = 20, .close_due = 30}};
    const struct {
        enum complaint_state s;
        int64_t want;
    } cases[] = {
        {STATE_NEW, 10},         {STATE_NOTIFIED, 10},         {STATE_ACKNOWLEDGED, 20},
        {STATE_SOLUTION_AGREED, 30}, {STATE_REPORT_SUBMITTED, 30}, {STATE_CLOSED, 0},
        {STATE_CANCELLED, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        c.state = cases[i].s;
        assert_int_equal(eng__next_due(&c), cases[i].want);
    }
    assert_string_equal(eng__state_label(e, "en", STATE_CLOSED),
                        messages_get(e->msgs, "en", "state_closed"));
    assert_string_equal(eng__prio_label(e, "zh-CN", PRIORITY_VIP),
                        messages_get(e->msgs, "zh-CN", "prio_vip"));
    /* without texts: the English names, never a dangling buffer */
    struct engine bare = {.cfg = e->cfg};
    assert_string_equal(eng__state_label(&bare, "en", STATE_SOLUTION_AGREED), "solution_agreed");
    assert_string_equal(eng__prio_label(&bare, "en", PRIORITY_URGENT), "urgent");
    assert_string_equal(eng__label(&bare, "en", "value_none"), "value_none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span),
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_next_due_and_labels),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
