#include "dealerbot/ratelimit.h"

static void refill(struct rate_bucket *b, int64_t now_us)
{
    if (now_us <= b->last_us)
        return;
    int64_t cap = b->burst * 1000000;
    int64_t dt = now_us - b->last_us;
    /* Past a full refill the exact gap no longer matters (and cannot overflow). */
    b->micro = dt >= cap / b->rate + 1 ? cap : b->micro + dt * b->rate;
    if (b->micro > cap)
        b->micro = cap;
    b->last_us = now_us;
}

void rate_bucket_init(struct rate_bucket *b, int64_t rate, int64_t burst, int64_t now_us)
{
    b->rate = rate > 0 ? rate : 1;
    b->burst = burst >= 1 ? burst : 1;
    b->micro = b->burst * 1000000;
    b->last_us = now_us;
}

bool rate_bucket_take(struct rate_bucket *b, int64_t now_us)
{
    refill(b, now_us);
    if (b->micro < 1000000)
        return false;
    b->micro -= 1000000;
    return true;
}

int64_t rate_bucket_wait_us(struct rate_bucket *b, int64_t now_us)
{
    refill(b, now_us);
    if (b->micro >= 1000000)
        return 0;
    return (1000000 - b->micro + b->rate - 1) / b->rate;
}

void rate_table_init(struct rate_table *t, int64_t rate, int64_t burst, int64_t now_us)
{
    for (int i = 0; i < RATE_TABLE_SLOTS; i++)
        rate_bucket_init(&t->slot[i], rate, burst, now_us);
}

struct rate_bucket *rate_table_bucket(struct rate_table *t, const char *target)
{
    /* FNV-1a */
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)target; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return &t->slot[h % RATE_TABLE_SLOTS];
}
