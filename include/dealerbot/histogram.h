/*
 * histogram.h — a fixed-size latency histogram for metrics and benchmarks. Pure, no allocation.
 *
 * Values are microseconds. Buckets are log-linear: below 16 µs one bucket per microsecond,
 * above that 16 buckets per power of two, so any value is placed within 1/16 (6.25 %) of its
 * size; values over HIST_MAX_US land in the last bucket. A quantile is reported as the middle of
 * its bucket. 576 counters (4.5 KiB), whatever the number of values.
 */
#ifndef DEALERBOT_HISTOGRAM_H
#define DEALERBOT_HISTOGRAM_H

#include <stdint.h>

#define HIST_SUB 16                         /* buckets per power of two */
#define HIST_MAX_US ((int64_t)1 << 38)       /* about 76 hours */
#define HIST_BUCKETS ((38 - 4 + 1) * HIST_SUB + HIST_SUB)

struct histogram {
    uint64_t count;
    uint64_t sum_us;
    int64_t max_us;
    uint64_t bucket[HIST_BUCKETS];
};

void histogram_init(struct histogram *h);
/* Adds one value; negative values count as 0. */
void histogram_add(struct histogram *h, int64_t us);
/* The value at quantile q (0..1): the middle of the bucket holding it; 0 when empty. */
int64_t histogram_quantile(const struct histogram *h, double q);

#endif
