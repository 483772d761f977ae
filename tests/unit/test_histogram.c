/*
 * test_histogram.c — bucket placement, quantiles against a sorted copy, edge values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dealerbot/histogram.h"

static void test_empty(void **state)
{
    (void)state;
    struct histogram h;
    histogram_init(&h);
    assert_int_equal(histogram_quantile(&h, 0.5), 0);
    assert_int_equal(h.count, 0);
}

static void test_small_values_exact(void **state)
{
    (void)state;
    struct histogram h;
    histogram_init(&h);
    for (int v = 0; v < 16; v++)
        histogram_add(&h, v);
    assert_int_equal(h.count, 16);
    assert_int_equal(h.sum_us, 120);
    assert_int_equal(histogram_quantile(&h, 0.0), 0);
    assert_int_equal(histogram_quantile(&h, 0.5), 7);   /* 8th of 16 values */
    assert_int_equal(histogram_quantile(&h, 1.0), 15);
    histogram_add(&h, -5);                              /* counts as 0 */
    assert_int_equal(h.count, 17);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Every quantile is within 1/16 of the exact order statistic, over a wide spread of values. */
static void test_quantiles_within_precision(void **state)
{
    (void)state;
    enum { N = 20000 };
    int64_t *v = malloc(N * sizeof *v);
    assert_non_null(v);
    struct histogram h;
    histogram_init(&h);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;          /* xorshift64 */
        v[i] = (int64_t)(x % 4000000) >> (x >> 60);      /* 0 .. 4 s, skewed low */
        histogram_add(&h, v[i]);
    }
    qsort(v, N, sizeof *v, cmp64);
    const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        size_t rank = (size_t)(qs[k] * N + 0.999999);
        int64_t exact = v[rank ? rank - 1 : 0];
        int64_t got = histogram_quantile(&h, qs[k]);
        int64_t tol = exact / 16 + 1;
        if (got < exact - tol || got > exact + tol)
            fail_msg("q=%.3f: got %lld, exact %lld", qs[k], (long long)got, (long long)exact);
    }
    assert_int_equal(histogram_quantile(&h, 1.0), v[N - 1] < h.max_us ? v[N - 1] : h.max_us);
    free(v);
}

static void test_huge_values_clamped(void **state)
{
    (void)state;
    struct histogram h;
    histogram_init(&h);
    histogram_add(&h, INT64_MAX / 2);
    histogram_add(&h, HIST_MAX_US);
    assert_int_equal(h.count, 2);
    assert_true(histogram_quantile(&h, 1.0) <= INT64_MAX / 2);
    assert_true(histogram_quantile(&h, 0.5) >= HIST_MAX_US);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_small_values_exact),
        cmocka_unit_test(test_quantiles_within_precision),
        cmocka_unit_test(test_huge_values_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
