/*
 * inbound.h — the gate in front of the chat commands: what a sender may make the bot read.
 *
 * Two rules, applied to every message before the engine sees it:
 *  - Strangers: a sender the directory does not know is let through once per
 *    chat.stranger_reply_every (the engine answers a command of his with one polite line);
 *    everything else he sends in that time is dropped unread — not parsed, no store write,
 *    no answer, so he can never spend the bot's sending budget or time. The last time each
 *    stranger was let through is kept in memory (a bounded table; a restart forgets it).
 *  - Floods: a known sender gets chat.inbound_rate messages a second after a burst of
 *    chat.inbound_burst; beyond that his messages are dropped before the engine.
 * Both are counted for /metrics.
 *
 * Main thread only. The gate borrows the config and the store.
 */
#ifndef DEALERBOT_INBOUND_H
#define DEALERBOT_INBOUND_H

#include <stdbool.h>
#include <stdint.h>

#include "dealerbot/chat.h"
#include "dealerbot/config.h"
#include "dealerbot/store.h"

struct inbound;

enum inbound_verdict {
    INBOUND_PASS = 0,  /* hand it to the engine */
    INBOUND_STRANGER,  /* an unknown sender already answered in this period: dropped */
    INBOUND_FLOOD,     /* over the sender's rate: dropped */
};

struct inbound_stats {
    uint64_t strangers_dropped;
    uint64_t flood_dropped;
};

/* Returns a new gate in *out; caller frees with inbound_free(). DBOT_ERR_NOMEM. */
int inbound_new(const struct config *cfg, struct store *st, struct inbound **out);
void inbound_free(struct inbound *g);

/* Decides about message m at wall-clock `now` (seconds) and monotonic `now_us`. A store
 * failure lets the message pass (the engine reports it). */
enum inbound_verdict inbound_check(struct inbound *g, const struct chat_message *m, int64_t now,
                                   int64_t now_us);

void inbound_get_stats(const struct inbound *g, struct inbound_stats *out);

#endif
