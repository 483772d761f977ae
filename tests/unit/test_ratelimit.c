/*
 * test_ratelimit.c — token buckets: burst, refill, waits, and per-target slots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dealerbot/ratelimit.h"

static void test_burst_then_refill(void **state)
{
    (void)state;
    struct rate_bucket b;
    rate_bucket_init(&b, 10, 3, 0);
    assert_true(rate_bucket_take(&b, 0));
    assert_true(rate_bucket_take(&b, 0));
    assert_true(rate_bucket_take(&b, 0));
    assert_false(rate_bucket_take(&b, 0));
    /* 10 a second: one token every 100 ms. */
    int64_t wait = rate_bucket_wait_us(&b, 0);
    assert_int_equal(wait, 100000);
    assert_false(rate_bucket_take(&b, 50000));
    assert_true(rate_bucket_take(&b, 100000));
    assert_false(rate_bucket_take(&b, 100000));
    /* Idle time never stores more than the burst. */
    int taken = 0;
    while (rate_bucket_take(&b, 60000000))
        taken++;
    assert_int_equal(taken, 3);
}

static void test_sustained_rate(void **state)
{
    (void)state;
    struct rate_bucket b;
    rate_bucket_init(&b, 100, 1, 0);
    int sent = 0;
    for (int64_t t = 0; t < 10000000; t += 1000) /* 10 s in 1 ms steps */
        if (rate_bucket_take(&b, t))
            sent++;
    assert_int_equal(sent, 1000);
}

static void test_table_per_target(void **state)
{
    (void)state;
    static struct rate_table t;
    rate_table_init(&t, 1, 1, 0);
    struct rate_bucket *a = rate_table_bucket(&t, "dealer-sh001");
    assert_ptr_equal(a, rate_table_bucket(&t, "dealer-sh001"));
    assert_true(rate_bucket_take(a, 0));
    assert_false(rate_bucket_take(a, 0));
    /* Another target (in another slot) has its own budget. */
    struct rate_bucket *b = rate_table_bucket(&t, "dealer-bj002");
    if (b != a)
        assert_true(rate_bucket_take(b, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_sustained_rate),
        cmocka_unit_test(test_table_per_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
