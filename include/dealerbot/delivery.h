/*
 * delivery.h — the outbox pump: moves pending outbox rows to the chat in order, within the
 * rate limits and the chat's in-flight window, and marks them delivered when the chat server
 * confirms them.
 *
 * Nothing lost: a row stays pending until confirmed; after a reconnect (delivery_on_ready)
 * every unconfirmed row is sent again with its stable id. A row for a room the chat cannot
 * serve yet waits aside without holding up the others (delivery_retry_deferred). Confirmations are written in
 * batches (one transaction per loop turn): a crash before that write means a resend, never a
 * loss. Rows written by other processes (the CLI) are picked up by a poll every second.
 *
 * Main thread only; its timers run on the daemon's lws context. Borrows the store, the config
 * and the chat.
 */
#ifndef DEALERBOT_DELIVERY_H
#define DEALERBOT_DELIVERY_H

#include <stdint.h>

#include "dealerbot/chat.h"
#include "dealerbot/config.h"
#include "dealerbot/histogram.h"
#include "dealerbot/store.h"

struct lws_context;
struct delivery;

int delivery_new(struct lws_context *ctx, const struct config *cfg, struct store *st,
                 struct chat *chat, struct delivery **out);
/* Cancels the timers and writes pending confirmations; NULL allowed. */
void delivery_free(struct delivery *d);

/* Called for every confirmed message inside the transaction that records the confirmations
 * (what a delivery changes is written with it); a non-zero return undoes the transaction,
 * which is tried again later. */
typedef int (*delivery_confirm_fn)(const char *msg_id, int64_t now, void *arg);
void delivery_set_confirm_hook(struct delivery *d, delivery_confirm_fn fn, void *arg);

/* The chat session is (again) up: resend everything unconfirmed, from the oldest. */
void delivery_on_ready(struct delivery *d);
void delivery_on_down(struct delivery *d);
/* The server confirmed the message with this outbox id. */
void delivery_on_delivered(struct delivery *d, const char *msg_id, int64_t latency_us);
/* The chat gave the message with this outbox id back unsent (chat_handler.on_returned): it
 * waits with the deferred rows. */
void delivery_on_returned(struct delivery *d, const char *msg_id);
/* New rows were committed: pump soon. */
void delivery_kick(struct delivery *d);
/* The chat may take messages it could not take before (a room was joined or set up): the
 * rows it deferred (DBOT_ERR_UNAVAILABLE) are offered again, oldest first. NULL allowed. */
void delivery_retry_deferred(struct delivery *d);
/* Writes the confirmations collected so far (also done by a timer). */
void delivery_flush(struct delivery *d);

struct delivery_stats {
    uint64_t sent;        /* messages handed to the chat (resends included) */
    uint64_t delivered;   /* confirmations received */
    uint64_t throttled;   /* pump stops because of a rate limit */
    struct histogram confirm; /* chat_send to confirmation, microseconds */
};
void delivery_get_stats(const struct delivery *d, struct delivery_stats *out);

#endif
