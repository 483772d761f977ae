/*
 * ratelimit.h — token buckets for outgoing chat traffic. Pure: time is a parameter.
 *
 * A bucket holds up to `burst` tokens and refills at `rate` tokens a second; a send takes one.
 * struct rate_table keeps one bucket per target in a fixed number of slots chosen by a hash of
 * the target's name: memory stays bounded whatever the number of rooms, and two targets that
 * share a slot only share a budget (stricter, never looser).
 */
#ifndef DEALERBOT_RATELIMIT_H
#define DEALERBOT_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* Counted in millionths of a token, in integers, so that refills never drift. */
struct rate_bucket {
    int64_t micro;   /* tokens x 1e6 */
    int64_t rate;    /* tokens per second */
    int64_t burst;   /* capacity, tokens */
    int64_t last_us; /* when `micro` was last brought up to date */
};

void rate_bucket_init(struct rate_bucket *b, int64_t rate, int64_t burst, int64_t now_us);
/* True when a token was there (and is now taken). */
bool rate_bucket_take(struct rate_bucket *b, int64_t now_us);
/* Microseconds until a token is available (0 when one is). */
int64_t rate_bucket_wait_us(struct rate_bucket *b, int64_t now_us);

#define RATE_TABLE_SLOTS 4096

struct rate_table {
    struct rate_bucket slot[RATE_TABLE_SLOTS];
};

void rate_table_init(struct rate_table *t, int64_t rate, int64_t burst, int64_t now_us);
/* The bucket for `target` (borrowed; lives as long as the table). */
struct rate_bucket *rate_table_bucket(struct rate_table *t, const char *target);

#endif
