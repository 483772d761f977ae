/*
 * session.h — the DingTalk adapter behind include/dealerbot/chat.h: Stream mode in (one
 * outgoing WebSocket opened through the gateway, JSON frames, every frame answered), the
 * OpenAPI out (an access token, group messages and 1:1 messages as sampleMarkdown) through
 * libcurl's multi interface on the same lws loop (httpc.h).
 *
 * The functions mirror chat.h one for one (see there for the contract); src/chat/chat.c
 * forwards to them. Main thread only. The session borrows the context, the config and the
 * handler; it registers its own vhost ("dealerbot-dingtalk") on the context.
 *
 * What the chat.h contract means here:
 *  - ready: the stream is open (messages can come in); on_down when it is lost. Sends queued
 *    or in flight when it is lost are dropped (the outbox sends them again after on_ready;
 *    a send whose answer was lost may arrive twice: at least once).
 *  - delivered: the send API answered a processQueryKey (every part of a split message).
 *  - a CALLBACK is answered (code 200) only after on_message returned, i.e. after the engine
 *    committed what the message decided (and its msgId in the inbox); a crash before that
 *    leaves it unanswered and DingTalk pushes it again.
 *  - rooms are DingTalk groups the directory maps (chat_room.address); a room without an
 *    address, or one whose group refused the robot, is DBOT_ERR_UNAVAILABLE (held) — a refused
 *    one is tried again with backoff (1 min doubling to 1 h) and returns its in-flight message
 *    with on_returned. Members cannot be changed by the bot: chat_sync_room never pretends to.
 */
#ifndef DBOT_CHAT_DINGTALK_SESSION_H
#define DBOT_CHAT_DINGTALK_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dealerbot/chat.h"
#include "dealerbot/config.h"
#include "dealerbot/error.h"

struct lws_context;
struct dt_session;

#define DT_SEND_WINDOW 1024 /* unconfirmed chat_send messages at most */
#define DT_HTTP_WINDOW 16   /* send requests on the wire at once */

/* Counters (since start), for logs, metrics and tests. */
struct dt_stats {
    uint64_t opens, opens_failed, streams, frames_in, frames_bad, callbacks, callbacks_bad,
        pings, acks_out, callbacks_unrecorded, sends, sends_ok, sends_throttled, sends_bad_answer, sends_refused,
        sends_auth, tokens;
};

int dt_session_new(struct lws_context *ctx, const struct config *cfg, const struct chat_handler *h,
                   struct dt_session **out, struct dbot_diag *diag);
int dt_session_start(struct dt_session *s);
void dt_session_stop(struct dt_session *s);
void dt_session_free(struct dt_session *s);
bool dt_session_is_ready(const struct dt_session *s);
size_t dt_session_send_window(const struct dt_session *s);
int dt_session_send(struct dt_session *s, const struct chat_out *m);
int dt_session_sync_room(struct dt_session *s, const struct chat_room *room);
const struct dt_stats *dt_session_stats(const struct dt_session *s);

#endif
