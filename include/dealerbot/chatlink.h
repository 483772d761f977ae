/*
 * chatlink.h — the daemon's chat side, wired: the platform adapter (chat.h), the outbox pump
 * (delivery.h) and the directory's rooms (rooms.h), with incoming messages de-duplicated by
 * platform id and handed to the engine.
 *
 * Main thread only. chatlink_start() after the lws context exists; chatlink_stop() before the
 * context is destroyed (it closes the stream and cancels timers); chatlink_free() after.
 */
#ifndef DEALERBOT_CHATLINK_H
#define DEALERBOT_CHATLINK_H

#include <stdio.h>

#include "dealerbot/config.h"
#include "dealerbot/engine.h"
#include "dealerbot/error.h"

struct lws_context;
struct chatlink;

/* Creates the adapter for cfg->chat.platform, syncs the rooms and connects; from then on the
 * rooms follow the directory. */
int chatlink_start(struct lws_context *ctx, const struct config *cfg, struct engine *eng,
                   struct chatlink **out, struct dbot_diag *diag);
void chatlink_stop(struct chatlink *cl);
void chatlink_free(struct chatlink *cl);

/* Appends the chat and outbox metrics (Prometheus text) for GET /metrics. Main thread, while
 * the link exists (between chatlink_start and chatlink_free). */
void chatlink_metrics(FILE *f, struct chatlink *cl);

/* The underperformers list changed: make the room's members follow it. */
void chatlink_rooms_changed(struct chatlink *cl);

/* This process changed the directory: sync the rooms of what changed now (changes by other
 * processes are found by a poll of the store's directory version every second). NULL
 * allowed. */
void chatlink_directory_changed(struct chatlink *cl);

/* Outbox rows were committed: send them soon. NULL allowed (no chat configured). */
void chatlink_kick(struct chatlink *cl);

#endif
