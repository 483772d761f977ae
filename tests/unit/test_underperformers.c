/*
 * test_underperformers.c — the thresholds against a scorecard and the network, and the
 * hysteresis of entering and leaving the group, with pins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dealerbot/underperformers.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_pins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
