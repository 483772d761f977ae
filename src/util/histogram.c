/*
 * histogram.c — log-linear latency histogram (see histogram.h).
 *
 * Bucket of v: for v < 16 it is v itself; otherwise with e = the index of v's top bit (>= 4),
 * the 16 buckets of [2^e, 2^(e+1)) are told apart by the 4 bits below the top one:
 * index = 16 + (e - 4) * 16 + ((v >> (e - 4)) & 15).
 */
#include "dealerbot/histogram.h"

#include <string.h>

void histogram_init(struct histogram *h)
{
    memset(h, 0, sizeof *h);
}

static int bucket_of(int64_t v)
{
    if (v < HIST_SUB)
        return (int)v;
    if (v >= HIST_MAX_US)
        return HIST_BUCKETS - 1;
    int e = 63 - __builtin_clzll((unsigned long long)v);
    return HIST_SUB + (e - 4) * HIST_SUB + (int)((v >> (e - 4)) & (HIST_SUB - 1));
}

/* The smallest value of bucket i, and its width. */
static void bucket_range(int i, int64_t *lo, int64_t *width)
{
    if (i < HIST_SUB) {
        *lo = i;
        *width = 1;
        return;
    }
    int e = 4 + (i - HIST_SUB) / HIST_SUB;
    int sub = (i - HIST_SUB) % HIST_SUB;
    *width = (int64_t)1 << (e - 4);
    *lo = ((int64_t)1 << e) + sub * *width;
}

void histogram_add(struct histogram *h, int64_t us)
{
    if (us < 0)
        us = 0;
    h->bucket[bucket_of(us)]++;
    h->count++;
    h->sum_us += (uint64_t)us;
    if (us > h->max_us)
        h->max_us = us;
}

int64_t histogram_quantile(const struct histogram *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    /* the rank of the wanted value, 1-based: ceil(q * count), at least 1 */
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if ((double)rank < q * (double)h->count)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            int64_t lo, width;
            bucket_range(i, &lo, &width);
            int64_t mid = lo + width / 2;
            return mid > h->max_us ? h->max_us : mid;
        }
    }
    return h->max_us;
}
