/*
 * chatlink.c — the chat side of the daemon (see chatlink.h).
 *
 * Rooms follow the directory while the daemon runs. The directory can change under it: the
 * API (PUT /api/v1/dealers/{code} kicks chatlink_rooms_changed() at once) or another process
 * on the same database (`dealerbot dealers import` / `people import` from a shell). Every such
 * write bumps a version in the store (see store_directory_version()); a timer reads that one
 * number every second and, when it moved, syncs again only the rooms of the scopes that
 * changed — never a scan of all people on a timer.
 *
 * Incoming messages pass the inbound gate (inbound.h) before the engine: a stranger is read
 * once per period, a flooding sender is cut off at his rate.
 */
#include "dealerbot/chatlink.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/chat.h"
#include "dealerbot/delivery.h"
#include "dealerbot/inbound.h"
#include "dealerbot/log.h"
#include "dealerbot/metrics.h"
#include "dealerbot/rooms.h"
#include "dealerbot/timeutil.h"

#define MOD "chat"
#define DIRECTORY_POLL_US 1000000 /* look for directory changes made by other processes */
#define DIRECTORY_PAGE 1000       /* changes read per query */
#define INBOX_KEEP_S (7 * 86400)  /* seen message ids are remembered this long */
#define INBOX_PRUNE_EVERY_US (3600 * 1000000ll)
#define INBOX_PRUNE_STEP 5000     /* ids forgotten per tick at most */

struct chatlink {
    struct lws_context *ctx;
    struct engine *eng;
    struct chat *chat;
    struct delivery *delivery;
    struct inbound *gate;
    bool gated;             /* the last message on_message saw was dropped by the gate */
    struct chat_handler handler;
    bool stopping;
    int64_t dir_seen;       /* the directory version the rooms were last synced to */
    lws_sorted_usec_list_t sul_dir;
    bool dir_armed;
    int64_t inbox_pruned_us; /* monotonic time of the last full prune (0: never) */
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

static void on_room_ready(const char *room, void *arg)
{
    struct chatlink *cl = arg;
    (void)room;
    if (cl->delivery)
        delivery_retry_deferred(cl->delivery);
}

static void on_returned(const char *id, void *arg)
{
    struct chatlink *cl = arg;
    if (cl->delivery)
        delivery_on_returned(cl->delivery, id);
}

static void on_room_refused(const char *room, void *arg)
{
    struct chatlink *cl = arg;
    if (cl->delivery && !cl->stopping)
        engine_room_refused(cl->eng, room, timeutil_now());
}

static bool recorded(const char *platform_id, void *arg)
{
    struct chatlink *cl = arg;
    /* A message the inbound gate dropped on purpose (a stranger's, a flood's) is done with:
     * asking the platform for it again would only bring it back to the same gate. */
    if (cl->gated)
        return true;
    bool has = false;
    return store_inbox_has(cl->eng->store, platform_id, &has) == 0 && has;
}

static void on_delivered(const char *id, int64_t latency_us, void *arg)
{
    struct chatlink *cl = arg;
    /* While stopping, a late confirmation is dropped: the message is resent after the restart
     * (at least once, never lost). */
    if (cl->delivery)
        delivery_on_delivered(cl->delivery, id, latency_us);
}

/* The engine acts on every message once: a resumed stream or a rejoin can deliver it again,
 * and the engine records its platform id in the transaction of what it decided. What the
 * inbound gate drops never reaches it. */
static void on_message(const struct chat_message *m, void *arg)
{
    struct chatlink *cl = arg;
    int64_t now = timeutil_now();
    cl->gated = inbound_check(cl->gate, m, now, timeutil_mono_us()) != INBOUND_PASS;
    if (!cl->gated)
        engine_on_message(cl->eng, m, now);
}

static bool is_known(const char *jid, void *arg)
{
    struct chatlink *cl = arg;
    return engine_knows(cl->eng, jid);
}

static int on_form(const struct chat_form *f, char **answer, void *arg)
{
    struct chatlink *cl = arg;
    return engine_on_form(cl->eng, f, timeutil_now(), answer);
}

static const char *label(const char *key, const char *jid, void *arg)
{
    struct chatlink *cl = arg;
    return engine_label(cl->eng, key, jid);
}

static int on_confirmed(const char *msg_id, int64_t now, void *arg)
{
    struct chatlink *cl = arg;
    return engine_on_delivered(cl->eng, msg_id, now);
}

/* The scopes that changed, as read from the store. */
struct changes {
    char **codes;      /* dealer codes, owned */
    size_t n, cap;
    bool brand;        /* brand staff changed: every room */
    int64_t last;      /* the highest version read */
    int read;          /* rows read by the current query */
};

static int add_change(const char *scope, int64_t version, void *arg)
{
    struct changes *c = arg;
    c->read++;
    c->last = version;
    if (strcasecmp(scope, "brand") == 0) {
        c->brand = true;
        return 0;
    }
    if (c->brand)
        return 0; /* every room is synced anyway */
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        char **n = realloc(c->codes, cap * sizeof *n);
        if (!n)
            return DBOT_ERR_NOMEM;
        c->codes = n;
        c->cap = cap;
    }
    if (!(c->codes[c->n] = strdup(scope)))
        return DBOT_ERR_NOMEM;
    c->n++;
    return 0;
}

/*
 * Syncs the rooms whose directory scope changed since dir_seen (and the underperformers room
 * with them, whose members are dealers' people too); with `under` the underperformers room
 * in any case (its list changed). dir_seen moves only when the rooms were handed to the chat,
 * so a store failure is tried again on the next tick. Afterwards the outbox offers again the
 * rows that waited for a room that did not exist yet.
 */
static void sync_changed(struct chatlink *cl, bool under)
{
    struct store *st = cl->eng->store;
    const struct config *cfg = cl->eng->cfg;
    int64_t version = 0;
    int err = store_directory_version(st, &version);
    if (err) {
        log_error(MOD, "cannot read the directory version: %s", dbot_strerror(err));
        version = cl->dir_seen;
    }
    struct changes c = {.last = cl->dir_seen};
    if (version > cl->dir_seen) {
        do {
            c.read = 0;
            err = store_directory_changes(st, c.last, DIRECTORY_PAGE, add_change, &c);
        } while (err == 0 && c.read == DIRECTORY_PAGE);
        if (err == 0 && c.brand) {
            log_info(MOD, "the brand staff changed: syncing every room");
            err = rooms_sync_all(st, cfg, cl->chat);
            under = false; /* done with the others */
        } else if (err == 0 && c.n) {
            log_info(MOD, "the directory changed: syncing %zu dealer room(s)", c.n);
            err = rooms_sync_dealers(st, cl->chat, (const char *const *)c.codes, c.n);
            under = true;
        }
        if (err == 0)
            cl->dir_seen = c.last;
        else
            log_error(MOD, "cannot follow the directory change: %s", dbot_strerror(err));
    }
    if (under) {
        err = rooms_sync_underperformers(st, cfg, cl->chat);
        if (err)
            log_error(MOD, "cannot update the underperformers room: %s", dbot_strerror(err));
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.codes[i]);
    free(c.codes);
    if (c.n || c.brand || under)
        delivery_retry_deferred(cl->delivery);
}

/* The inbox of seen message ids would grow with every message for ever: once an hour (on
 * this timer) the ids older than a week go, INBOX_PRUNE_STEP per tick while there are more. */
static void prune_inbox(struct chatlink *cl)
{
    int64_t now_us = timeutil_mono_us();
    if (cl->inbox_pruned_us && now_us - cl->inbox_pruned_us < INBOX_PRUNE_EVERY_US)
        return;
    int deleted = 0;
    int err = store_inbox_prune(cl->eng->store, timeutil_now() - INBOX_KEEP_S, INBOX_PRUNE_STEP,
                                &deleted);
    if (err) {
        log_error(MOD, "cannot prune the inbox of seen messages: %s", dbot_strerror(err));
        cl->inbox_pruned_us = now_us; /* try again in an hour, not every second */
        return;
    }
    if (deleted)
        log_debug(MOD, "forgot %d message id(s) older than %d days", deleted,
                  INBOX_KEEP_S / 86400);
    if (deleted < INBOX_PRUNE_STEP)
        cl->inbox_pruned_us = now_us; /* done until the next hour */
}

static void on_directory_timer(lws_sorted_usec_list_t *sul)
{
    struct chatlink *cl = lws_container_of(sul, struct chatlink, sul_dir);
    cl->dir_armed = false;
    if (cl->stopping)
        return;
    sync_changed(cl, false);
    prune_inbox(cl);
    lws_sul_schedule(cl->ctx, 0, &cl->sul_dir, on_directory_timer, DIRECTORY_POLL_US);
    cl->dir_armed = true;
}

int chatlink_start(struct lws_context *ctx, const struct config *cfg, struct engine *eng,
                   struct chatlink **out, struct dbot_diag *diag)
{
    struct chatlink *cl = calloc(1, sizeof *cl);
    if (!cl)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    cl->ctx = ctx;
    cl->eng = eng;
    cl->handler = (struct chat_handler){.on_ready = on_ready, .on_down = on_down,
                                        .on_message = on_message,
                                        .on_delivered = on_delivered,
                                        .on_room_ready = on_room_ready,
                                        .on_returned = on_returned, .is_known = is_known,
                                        .on_form = on_form, .label = label,
                                        .on_room_refused = on_room_refused,
                                        .recorded = recorded, .arg = cl};
    int err = inbound_new(cfg, eng->store, &cl->gate);
    if (err) {
        dbot_diag_set(diag, err, "out of memory");
        goto fail;
    }
    err = chat_new(ctx, cfg, &cl->handler, &cl->chat, diag);
    if (err)
        goto fail;
    if ((err = delivery_new(ctx, cfg, eng->store, cl->chat, &cl->delivery)) != 0) {
        dbot_diag_set(diag, err, "cannot start the outbox: %s", dbot_strerror(err));
        goto fail;
    }
    delivery_set_confirm_hook(cl->delivery, on_confirmed, cl);
    /* read before the rooms: a change committed meanwhile is synced (again) on the first tick */
    if ((err = store_directory_version(eng->store, &cl->dir_seen)) != 0) {
        dbot_diag_set(diag, err, "cannot read the directory: %s", dbot_strerror(err));
        goto fail;
    }
    if ((err = rooms_sync_all(eng->store, cfg, cl->chat)) != 0) {
        dbot_diag_set(diag, err, "cannot set up the chat rooms: %s", dbot_strerror(err));
        goto fail;
    }
    if ((err = chat_start(cl->chat)) != 0) {
        dbot_diag_set(diag, err, "cannot start the chat connection: %s", dbot_strerror(err));
        goto fail;
    }
    lws_sul_schedule(ctx, 0, &cl->sul_dir, on_directory_timer, DIRECTORY_POLL_US);
    cl->dir_armed = true;
    *out = cl;
    return 0;
fail:
    delivery_free(cl->delivery);
    chat_free(cl->chat);
    inbound_free(cl->gate);
    free(cl);
    return err;
}

void chatlink_metrics(FILE *f, struct chatlink *cl)
{
    struct outbox_counts oc = {0};
    if (store_outbox_count(cl->eng->store, &oc) == 0)
        metrics_value(f, "dealerbot_outbox_pending", "gauge",
                           "Chat messages written to the outbox and not yet confirmed.",
                           (double)oc.pending);
    metrics_value(f, "dealerbot_chat_up", "gauge",
                       "1 while the chat session is up and the outbox may send.",
                       chat_is_ready(cl->chat) ? 1 : 0);
    struct delivery_stats ds;
    delivery_get_stats(cl->delivery, &ds);
    metrics_value(f, "dealerbot_chat_sent_total", "counter",
                       "Messages handed to the chat server (resends included).", (double)ds.sent);
    metrics_value(f, "dealerbot_chat_delivered_total", "counter",
                       "Messages the chat server confirmed.", (double)ds.delivered);
    metrics_value(f, "dealerbot_chat_throttled_total", "counter",
                       "Times the outbox waited for the chat rate limits.", (double)ds.throttled);
    metrics_summary(f, "dealerbot_chat_confirm_seconds",
                         "From handing a message to the chat until the server confirmed it.",
                         &ds.confirm);
    struct chat_stats cs;
    chat_get_stats(cl->chat, &cs);
    metrics_value(f, "dealerbot_chat_unconfirmed", "gauge",
                       "Messages handed to the chat server and not confirmed yet.",
                       (double)cs.unconfirmed);
    metrics_value(f, "dealerbot_chat_oldest_unconfirmed_seconds", "gauge",
                       "How long the oldest unconfirmed message has waited.",
                       cs.oldest_unconfirmed_s);
    metrics_value(f, "dealerbot_chat_confirmations_behind", "gauge",
                       "1 while confirmations fall far behind the sends (a message waited "
                       "over a minute; a rate limit on the bot's account?).",
                       cs.behind ? 1 : 0);
    metrics_value(f, "dealerbot_chat_replies_dropped_total", "counter",
                       "Answers dropped: to no request of ours, or not from where it went.",
                       (double)cs.replies_dropped);
    metrics_value(f, "dealerbot_chat_oversized_dropped_total", "counter",
                       "Inbound stanzas over the size limit, dropped.",
                       (double)cs.oversized_dropped);
    struct inbound_stats is;
    inbound_get_stats(cl->gate, &is);
    metrics_value(f, "dealerbot_chat_stranger_dropped_total", "counter",
                       "Messages from senders the directory does not know, dropped unread "
                       "after the one answer of the period.", (double)is.strangers_dropped);
    metrics_value(f, "dealerbot_chat_flood_dropped_total", "counter",
                       "Messages dropped because their sender exceeded chat.inbound_rate.",
                       (double)is.flood_dropped);
}

void chatlink_rooms_changed(struct chatlink *cl)
{
    if (!cl || cl->stopping)
        return;
    sync_changed(cl, true);
}

void chatlink_directory_changed(struct chatlink *cl)
{
    if (!cl || cl->stopping)
        return;
    sync_changed(cl, false);
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
    if (cl->dir_armed)
        lws_sul_cancel(&cl->sul_dir);
    cl->dir_armed = false;
    chat_stop(cl->chat);
    delivery_free(cl->delivery);
    cl->delivery = NULL;
}

void chatlink_free(struct chatlink *cl)
{
    if (!cl)
        return;
    if (cl->dir_armed)
        lws_sul_cancel(&cl->sul_dir);
    delivery_free(cl->delivery);
    chat_free(cl->chat);
    inbound_free(cl->gate);
    free(cl);
}
