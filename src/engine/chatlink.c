/*
 * chatlink.c — the chat side of the daemon (see chatlink.h).
 */
#include "dealerbot/chatlink.h"

#include <stdlib.h>
#include <string.h>

#include "dealerbot/chat.h"
#include "dealerbot/delivery.h"
#include "dealerbot/http.h"
#include "dealerbot/log.h"
#include "dealerbot/rooms.h"
#include "dealerbot/timeutil.h"

#define MOD "chat"

struct chatlink {
    struct engine *eng;
    struct chat *chat;
    struct delivery *delivery;
    struct chat_handler handler;
    bool stopping;
};

static void on_ready(void *arg)
{
    struct chatlink *cl = arg;
    if (!cl->delivery)
        return; /* stopping */
    log_info(MOD, "session ready");
    delivery_on_ready(cl->delivery);
}

static void on_down(void *arg)
{
    struct chatlink *cl = arg;
    if (!cl->delivery || cl->stopping)
        return;
    log_warn(MOD, "session down; reconnecting");
    delivery_on_down(cl->delivery);
}

static void on_delivered(const char *id, int64_t latency_us, void *arg)
{
    struct chatlink *cl = arg;
    /* While stopping, a late confirmation is dropped: the message is resent after the restart
     * (at least once, never lost). */
    if (cl->delivery)
        delivery_on_delivered(cl->delivery, id, latency_us);
}

/* Every message is acted on once: a resumed stream or a rejoin can deliver it again. */
/* The engine acts on every message once: a resumed stream or a rejoin can deliver it again,
 * and the engine records its platform id in the transaction of what it decided. */
static void on_message(const struct chat_message *m, void *arg)
{
    struct chatlink *cl = arg;
    engine_on_message(cl->eng, m, timeutil_now());
}

static int on_confirmed(const char *msg_id, int64_t now, void *arg)
{
    struct chatlink *cl = arg;
    return engine_on_delivered(cl->eng, msg_id, now);
}

int chatlink_start(struct lws_context *ctx, const struct config *cfg, struct engine *eng,
                   struct chatlink **out, struct dbot_diag *diag)
{
    struct chatlink *cl = calloc(1, sizeof *cl);
    if (!cl)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    cl->eng = eng;
    cl->handler = (struct chat_handler){.on_ready = on_ready, .on_down = on_down,
                                        .on_message = on_message,
                                        .on_delivered = on_delivered, .arg = cl};
    int err = chat_new(ctx, cfg, &cl->handler, &cl->chat, diag);
    if (err)
        goto fail;
    if ((err = delivery_new(ctx, cfg, eng->store, cl->chat, &cl->delivery)) != 0) {
        dbot_diag_set(diag, err, "cannot start the outbox: %s", dbot_strerror(err));
        goto fail;
    }
    delivery_set_confirm_hook(cl->delivery, on_confirmed, cl);
    if ((err = rooms_sync_all(eng->store, cfg, cl->chat)) != 0) {
        dbot_diag_set(diag, err, "cannot set up the chat rooms: %s", dbot_strerror(err));
        goto fail;
    }
    if ((err = chat_start(cl->chat)) != 0) {
        dbot_diag_set(diag, err, "cannot start the chat connection: %s", dbot_strerror(err));
        goto fail;
    }
    *out = cl;
    return 0;
fail:
    delivery_free(cl->delivery);
    chat_free(cl->chat);
    free(cl);
    return err;
}

void chatlink_metrics(FILE *f, struct chatlink *cl)
{
    struct outbox_counts oc = {0};
    if (store_outbox_count(cl->eng->store, &oc) == 0)
        http_metrics_value(f, "dealerbot_outbox_pending", "gauge",
                           "Chat messages written to the outbox and not yet confirmed.",
                           (double)oc.pending);
    http_metrics_value(f, "dealerbot_chat_up", "gauge",
                       "1 while the chat session is up and the outbox may send.",
                       chat_is_ready(cl->chat) ? 1 : 0);
    struct delivery_stats ds;
    delivery_get_stats(cl->delivery, &ds);
    http_metrics_value(f, "dealerbot_chat_sent_total", "counter",
                       "Messages handed to the chat server (resends included).", (double)ds.sent);
    http_metrics_value(f, "dealerbot_chat_delivered_total", "counter",
                       "Messages the chat server confirmed.", (double)ds.delivered);
    http_metrics_value(f, "dealerbot_chat_throttled_total", "counter",
                       "Times the outbox waited for the chat rate limits.", (double)ds.throttled);
    http_metrics_summary(f, "dealerbot_chat_confirm_seconds",
                         "From handing a message to the chat until the server confirmed it.",
                         &ds.confirm);
}

void chatlink_rooms_changed(struct chatlink *cl)
{
    if (!cl)
        return;
    int err = rooms_sync_underperformers(cl->eng->store, cl->eng->cfg, cl->chat);
    if (err)
        log_error(MOD, "cannot update the underperformers room: %s", dbot_strerror(err));
}

void chatlink_kick(struct chatlink *cl)
{
    if (cl)
        delivery_kick(cl->delivery);
}

void chatlink_stop(struct chatlink *cl)
{
    if (!cl)
        return;
    cl->stopping = true;
    chat_stop(cl->chat);
    delivery_free(cl->delivery);
    cl->delivery = NULL;
}

void chatlink_free(struct chatlink *cl)
{
    if (!cl)
        return;
    delivery_free(cl->delivery);
    chat_free(cl->chat);
    free(cl);
}
