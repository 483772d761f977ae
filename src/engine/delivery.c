/*
 * delivery.c — the outbox pump (see delivery.h).
 *
 * The pump keeps a cursor: the last outbox rowid it handed to the chat in this session. A walk
 * reads pending rows after the cursor in rowid order, so the queue drains in order and a row
 * is not sent twice within one session; delivery_on_ready() resets the cursor, which resends
 * what the previous session left unconfirmed. When the head row's room (or the whole bot) is
 * out of rate budget the walk stops there and a timer resumes it when a token is due: order is
 * kept, and a burst into one room cannot starve the clock of the others for long because the
 * global budget is shared.
 *
 * A row the chat cannot take *now* (DBOT_ERR_UNAVAILABLE: a room the bot has not joined, or
 * one the directory has not set up yet) must neither block the rows behind it nor be lost:
 * the walk steps over it and remembers its rowid in `deferred`. delivery_retry_deferred()
 * (the chat joined a room, the directory synced rooms) walks those rows again, oldest first,
 * before anything newer. The rows themselves stay pending in the store throughout.
 */
#include "dealerbot/delivery.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/log.h"
#include "dealerbot/ratelimit.h"
#include "dealerbot/timeutil.h"

#define MOD "delivery"
#define WALK_MAX 64          /* rows read per walk */
#define POLL_US 1000000      /* look for rows written by other processes */
#define CONFIRM_MAX 4096     /* confirmations buffered before a forced flush */
#define ATTEMPT_MAX 1024     /* send attempts buffered before a forced flush */
#define FLUSH_DELAY_US 20000 /* bookkeeping is written at most this long after the fact */
#define DEFER_MAX 65536      /* rows waiting for their room, remembered at most */
#define DEFER_RETRY_US (30 * 1000000) /* deferred rows are offered again at least this often */

struct delivery {
    struct lws_context *ctx;
    const struct config *cfg;
    struct store *st;
    struct chat *chat;
    lws_sorted_usec_list_t sul_pump;
    lws_sorted_usec_list_t sul_flush;
    bool flush_armed;
    lws_sorted_usec_list_t sul_poll;
    int64_t cursor;
    struct rate_bucket global;
    struct rate_table *rooms;
    char **confirmed;       /* ids confirmed but not yet written */
    size_t n_confirmed;
    struct delivery_stats stats;
    delivery_confirm_fn on_confirm;
    void *on_confirm_arg;
    int64_t attempted[ATTEMPT_MAX]; /* rowids sent but not yet counted in the store */
    int n_attempted;
    int64_t *deferred;      /* rowids behind the cursor waiting for their room, ascending */
    size_t n_deferred, cap_deferred;
    bool retry_deferred;    /* walk `deferred` again before the rows after the cursor */
    int64_t deferred_tried_us; /* monotonic time of the last walk of `deferred` */
};

static void pump(struct delivery *d);

static void on_pump_timer(lws_sorted_usec_list_t *sul)
{
    pump(lws_container_of(sul, struct delivery, sul_pump));
}

static void on_flush_timer(lws_sorted_usec_list_t *sul)
{
    delivery_flush(lws_container_of(sul, struct delivery, sul_flush));
}

static void on_poll_timer(lws_sorted_usec_list_t *sul)
{
    struct delivery *d = lws_container_of(sul, struct delivery, sul_poll);
    /* A room that takes messages again says so (delivery_retry_deferred); this is the net
     * under it, for a refusal nothing announces the end of. */
    if (d->n_deferred && timeutil_mono_us() - d->deferred_tried_us >= DEFER_RETRY_US)
        d->retry_deferred = true;
    pump(d);
    lws_sul_schedule(d->ctx, 0, &d->sul_poll, on_poll_timer, POLL_US);
}

int delivery_new(struct lws_context *ctx, const struct config *cfg, struct store *st,
                 struct chat *chat, struct delivery **out)
{
    struct delivery *d = calloc(1, sizeof *d);
    if (!d)
        return DBOT_ERR_NOMEM;
    d->rooms = malloc(sizeof *d->rooms);
    d->confirmed = calloc(CONFIRM_MAX, sizeof *d->confirmed);
    if (!d->rooms || !d->confirmed) {
        free(d->rooms);
        free(d->confirmed);
        free(d);
        return DBOT_ERR_NOMEM;
    }
    d->ctx = ctx;
    d->cfg = cfg;
    d->st = st;
    d->chat = chat;
    int64_t now = timeutil_mono_us();
    rate_bucket_init(&d->global, cfg->chat.rate_global, cfg->chat.rate_global, now);
    rate_table_init(d->rooms, cfg->chat.rate_room, cfg->chat.rate_room, now);
    lws_sul_schedule(ctx, 0, &d->sul_poll, on_poll_timer, POLL_US);
    *out = d;
    return 0;
}

void delivery_set_confirm_hook(struct delivery *d, delivery_confirm_fn fn, void *arg)
{
    d->on_confirm = fn;
    d->on_confirm_arg = arg;
}

void delivery_free(struct delivery *d)
{
    if (!d)
        return;
    lws_sul_cancel(&d->sul_pump);
    lws_sul_cancel(&d->sul_flush);
    lws_sul_cancel(&d->sul_poll);
    delivery_flush(d);
    for (size_t i = 0; i < d->n_confirmed; i++)
        free(d->confirmed[i]);
    free(d->confirmed);
    free(d->deferred);
    free(d->rooms);
    free(d);
}

void delivery_on_ready(struct delivery *d)
{
    /* Confirmations still in memory must reach the store before the walk from the start,
     * or their messages would be sent again. */
    delivery_flush(d);
    d->cursor = 0;
    d->n_deferred = 0; /* the walk from the start meets them again */
    d->retry_deferred = false;
    log_info(MOD, "chat ready: sending the outbox");
    delivery_kick(d);
}

void delivery_on_down(struct delivery *d)
{
    lws_sul_cancel(&d->sul_pump);
}

void delivery_kick(struct delivery *d)
{
    lws_sul_schedule(d->ctx, 0, &d->sul_pump, on_pump_timer, 0);
}

void delivery_retry_deferred(struct delivery *d)
{
    if (!d || d->n_deferred == 0)
        return;
    d->retry_deferred = true;
    delivery_kick(d);
}

/* The bookkeeping (attempts, confirmations) is written in one transaction a little later, so
 * that a burst costs one commit per FLUSH_DELAY_US instead of two per loop turn. Losing it
 * in a crash only means a message is sent again (at least once). */
static void schedule_flush(struct delivery *d)
{
    if (d->flush_armed)
        return;
    d->flush_armed = true;
    lws_sul_schedule(d->ctx, 0, &d->sul_flush, on_flush_timer, FLUSH_DELAY_US);
}

void delivery_on_delivered(struct delivery *d, const char *msg_id, int64_t latency_us)
{
    if (d->n_confirmed == CONFIRM_MAX)
        delivery_flush(d);
    char *copy = strdup(msg_id);
    if (!copy) {
        /* Not recorded: the message will be sent again after a restart (at least once). */
        log_warn(MOD, "out of memory recording the confirmation of %s", msg_id);
        return;
    }
    d->confirmed[d->n_confirmed++] = copy;
    d->stats.delivered++;
    histogram_add(&d->stats.confirm, latency_us);
    schedule_flush(d);
    /* A confirmation frees a place in the chat's window. */
    delivery_kick(d);
}

void delivery_flush(struct delivery *d)
{
    lws_sul_cancel(&d->sul_flush);
    d->flush_armed = false;
    if (d->n_confirmed == 0 && d->n_attempted == 0)
        return;
    int64_t now = timeutil_now();
    int err = store_begin(d->st);
    /* Attempts first: a message sent and confirmed since the last flush ends up delivered. */
    for (int i = 0; err == 0 && i < d->n_attempted; i++)
        err = store_outbox_attempted(d->st, d->attempted[i], now);
    for (size_t i = 0; err == 0 && i < d->n_confirmed; i++) {
        err = store_outbox_delivered(d->st, d->confirmed[i], now);
        if (err == 0 && d->on_confirm)
            err = d->on_confirm(d->confirmed[i], now, d->on_confirm_arg);
    }
    if (err == 0)
        err = store_commit(d->st);
    else
        store_rollback(d->st);
    if (err) {
        /* Kept in memory and tried again on the next confirmation or flush. */
        log_error(MOD, "cannot record %zu confirmations and %d send attempts: %s",
                  d->n_confirmed, d->n_attempted, dbot_strerror(err));
        d->flush_armed = true;
        lws_sul_schedule(d->ctx, 0, &d->sul_flush, on_flush_timer, 100 * 1000);
        return;
    }
    for (size_t i = 0; i < d->n_confirmed; i++)
        free(d->confirmed[i]);
    d->n_confirmed = 0;
    d->n_attempted = 0;
}

struct walk {
    struct delivery *d;
    size_t window;
    int64_t now_us;
    int64_t wait_us;   /* > 0: stopped for the rate limit */
    bool stopped;      /* stopped before the end of the rows read */
    int seen;
    int64_t want;      /* retry walk: the rowid asked for */
    bool found;        /* retry walk: it is still pending */
};

enum outcome {
    SENT,     /* handed to the chat */
    DEFER,    /* the chat cannot take it now: try again later */
    REFUSED,  /* the chat refuses it outright: skipped for this session */
    STOP,     /* no window, no rate budget: stop the walk here */
};

/* Offers one row to the chat within the window and the rate limits. */
static enum outcome offer(struct walk *w, const struct outbox_row *row)
{
    struct delivery *d = w->d;
    if (w->window == 0) {
        w->stopped = true;
        return STOP;
    }
    struct rate_bucket *room = rate_table_bucket(d->rooms, row->target);
    int64_t wait = rate_bucket_wait_us(&d->global, w->now_us);
    int64_t wait_room = rate_bucket_wait_us(room, w->now_us);
    if (wait_room > wait)
        wait = wait_room;
    if (wait > 0) {
        w->wait_us = wait;
        w->stopped = true;
        d->stats.throttled++;
        return STOP;
    }
    struct chat_out m = {.group = row->group, .to = row->target, .id = row->msg_id,
                         .text = row->body};
    int err = chat_send(d->chat, &m);
    if (err == DBOT_ERR_BUSY) {
        w->stopped = true;
        return STOP;
    }
    if (err == DBOT_ERR_UNAVAILABLE)
        return DEFER;
    if (err) {
        /* A message the chat refuses outright (too large, not an address) would block the
         * queue for ever: it is skipped for this session and logged; it stays pending. */
        log_error(MOD, "%s to %s refused by the chat: %s", row->msg_id, row->target,
                  dbot_strerror(err));
        return REFUSED;
    }
    rate_bucket_take(&d->global, w->now_us);
    rate_bucket_take(room, w->now_us);
    d->stats.sent++;
    w->window--;
    d->attempted[d->n_attempted++] = row->rowid;
    return SENT;
}

/* Remembers `rowid` among the deferred rows (kept ascending). False when there is no room
 * for it. */
static bool defer_add(struct delivery *d, int64_t rowid)
{
    if (d->n_deferred == d->cap_deferred) {
        if (d->cap_deferred >= DEFER_MAX)
            return false;
        size_t cap = d->cap_deferred ? d->cap_deferred * 2 : 64;
        int64_t *n = realloc(d->deferred, cap * sizeof *n);
        if (!n)
            return false;
        d->deferred = n;
        d->cap_deferred = cap;
    }
    size_t at = d->n_deferred;
    while (at > 0 && d->deferred[at - 1] > rowid)
        at--;
    if (at > 0 && d->deferred[at - 1] == rowid)
        return true;
    memmove(d->deferred + at + 1, d->deferred + at, (d->n_deferred - at) * sizeof *d->deferred);
    d->deferred[at] = rowid;
    d->n_deferred++;
    return true;
}

void delivery_on_returned(struct delivery *d, const char *msg_id)
{
    int64_t rowid = 0;
    int err = store_outbox_rowid(d->st, msg_id, &rowid);
    if (err == DBOT_ERR_NOTFOUND)
        return; /* confirmed meanwhile after all */
    if (err == 0 && rowid > d->cursor)
        return; /* not walked yet in this session: the walk offers it */
    if (err || !defer_add(d, rowid)) {
        /* still pending in the store: the next session sends it */
        log_error(MOD, "%s came back unsent and cannot wait for its room; it goes again after "
                       "the next reconnect", msg_id);
        return;
    }
    log_info(MOD, "%s came back unsent: it waits for its room", msg_id);
}

static int send_row(const struct outbox_row *row, void *arg)
{
    struct walk *w = arg;
    struct delivery *d = w->d;
    w->seen++;
    switch (offer(w, row)) {
    case STOP:
        return 1;
    case DEFER:
        if (!defer_add(d, row->rowid)) {
            /* Cannot remember it: wait here (in order) rather than lose track of it. */
            log_warn(MOD, "%zu messages wait for their rooms; the outbox waits too",
                     d->n_deferred);
            w->stopped = true;
            return 1;
        }
        /* said once when messages start to wait (the list was empty), not per row */
        if (d->n_deferred == 1)
            log_info(MOD, "%s to %s waits: the chat cannot take messages for it yet; the "
                          "others go on", row->msg_id, row->target);
        else
            log_debug(MOD, "%s to %s waits", row->msg_id, row->target);
        break;
    case SENT:
    case REFUSED:
        break;
    }
    d->cursor = row->rowid;
    return 0;
}

static int find_row(const struct outbox_row *row, void *arg)
{
    struct walk *w = arg;
    if (row->rowid != w->want)
        return 1; /* not pending any more (the next pending row came instead) */
    w->found = true;
    switch (offer(w, row)) {
    case STOP:
        return 2;
    case DEFER:
        return 3;
    case SENT:
    case REFUSED:
        return 1;
    }
    return 1;
}

/* Offers the deferred rows again, oldest first. Returns false when the walk had to stop (no
 * window or rate budget): the rows after the cursor must wait too, to keep the order. */
static bool retry_deferred(struct delivery *d, struct walk *w)
{
    d->deferred_tried_us = w->now_us;
    size_t keep = 0, i = 0;
    bool done = true;
    for (; i < d->n_deferred; i++) {
        w->want = d->deferred[i];
        w->found = false;
        int rc = store_outbox_each_pending(d->st, w->want - 1, 1, find_row, w);
        if (rc == 2) {
            done = false;
            break;
        }
        if (rc == 3 || rc < 0) {
            if (rc < 0)
                log_error(MOD, "cannot read the outbox: %s", dbot_strerror(rc));
            d->deferred[keep++] = d->deferred[i]; /* still waiting */
        }
        if (rc < 0) {
            done = false;
            i++;
            break;
        }
    }
    for (; i < d->n_deferred; i++)
        d->deferred[keep++] = d->deferred[i];
    d->n_deferred = keep;
    if (done)
        d->retry_deferred = false;
    return done;
}

static void pump(struct delivery *d)
{
    if (!d->chat || !chat_is_ready(d->chat))
        return;
    struct walk w = {.d = d, .window = chat_send_window(d->chat),
                     .now_us = timeutil_mono_us()};
    if (w.window == 0)
        return; /* the next confirmation kicks the pump */
    if (d->n_attempted > ATTEMPT_MAX - WALK_MAX)
        delivery_flush(d); /* room for this walk's attempts */
    if (d->n_attempted > ATTEMPT_MAX - WALK_MAX)
        return; /* the store fails; the flush timer tries again and kicks nothing: poll */
    int limit = w.window < WALK_MAX ? (int)w.window : WALK_MAX;
    if (d->retry_deferred) {
        /* at most `limit` sends, like the main walk (the attempts buffer has room for it) */
        w.window = (size_t)limit;
        bool done = retry_deferred(d, &w);
        if (d->n_attempted > 0)
            schedule_flush(d);
        if (w.wait_us > 0)
            lws_sul_schedule(d->ctx, 0, &d->sul_pump, on_pump_timer, w.wait_us);
        else if (!done && w.window == 0)
            delivery_kick(d); /* more deferred rows may go in the next turn */
        if (!done)
            return;
        w.window = chat_send_window(d->chat);
        if (w.window == 0)
            return;
        if (d->n_attempted > ATTEMPT_MAX - WALK_MAX)
            delivery_flush(d);
        if (d->n_attempted > ATTEMPT_MAX - WALK_MAX)
            return;
        limit = w.window < WALK_MAX ? (int)w.window : WALK_MAX;
        w.stopped = false;
        w.seen = 0;
    }
    int err = store_outbox_each_pending(d->st, d->cursor, limit, send_row, &w);
    if (err < 0)
        log_error(MOD, "cannot read the outbox: %s", dbot_strerror(err));

    if (d->n_attempted > 0)
        schedule_flush(d);
    if (w.wait_us > 0)
        lws_sul_schedule(d->ctx, 0, &d->sul_pump, on_pump_timer, w.wait_us);
    else if (!w.stopped && w.seen == limit)
        delivery_kick(d); /* there may be more rows */
}

void delivery_get_stats(const struct delivery *d, struct delivery_stats *out)
{
    *out = d->stats;
}
