/*
 * engine.c — the engine's setup, and what a confirmed delivery changes.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/histogram.h"
#include "dealerbot/lifecycle.h"
#include "dealerbot/log.h"

#define MOD "engine"

int engine_init(struct engine *e, const struct config *cfg, struct store *st,
                struct dbot_diag *diag)
{
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    e->store = st;
    if (!cfg->chat.platform || strcmp(cfg->chat.platform, "none") == 0)
        return 0;
    return messages_load(cfg->messages_dir, &e->msgs, diag);
}

void engine_cleanup(struct engine *e)
{
    messages_free(e->msgs);
    e->msgs = NULL;
}

void eng__after_commit(struct engine *e)
{
    bool outbox = e->wrote_outbox, sla = e->wrote_sla, rooms = e->rooms_changed;
    eng__forget(e);
    if (rooms && e->rooms_kick)
        e->rooms_kick(e->rooms_kick_arg); /* members first: then the messages go out */
    if (outbox && e->kick)
        e->kick(e->kick_arg);
    if (sla && e->sla_kick)
        e->sla_kick(e->sla_kick_arg);
}

void engine_directory_changed(struct engine *e)
{
    if (e->directory_kick)
        e->directory_kick(e->directory_kick_arg);
}

void eng__forget(struct engine *e)
{
    e->wrote_outbox = false;
    e->wrote_sla = false;
    e->rooms_changed = false;
}

int eng__transact(struct engine *e, eng_txn_fn fn, void *arg)
{
    eng__forget(e);
    int err = store_begin(e->store);
    if (err == 0) {
        err = fn(e, arg);
        if (err == 0)
            err = store_commit(e->store);
        else if (store_in_transaction(e->store))
            store_rollback(e->store);
    }
    if (err)
        eng__forget(e);
    else
        eng__after_commit(e);
    return err;
}

struct under_call {
    int64_t now, slot;
    const char *actor;
    struct under_result *res;
};

static int under_step(struct engine *e, void *arg)
{
    struct under_call *u = arg;
    return eng__under_evaluate(e, u->now, u->actor, u->slot, u->res);
}

int engine_underperformers_evaluate(struct engine *e, int64_t now, const char *actor,
                                    int64_t slot, struct under_result *res)
{
    struct under_call u = {.now = now, .slot = slot, .actor = actor, .res = res};
    int err = eng__transact(e, under_step, &u);
    if (err)
        log_error(MOD, "underperformers not evaluated: %s", dbot_strerror(err));
    return err;
}

struct due_batch {
    struct sla_row *rows;
    char (*notify)[64];
    int n;
};

static int take_due(const struct sla_row *r, void *arg)
{
    struct due_batch *b = arg;
    b->rows[b->n] = *r;
    snprintf(b->notify[b->n], sizeof b->notify[0], "%s", r->notify ? r->notify : "");
    b->rows[b->n].notify = b->notify[b->n];
    b->rows[b->n].state = NULL;
    b->n++;
    return 0;
}

/* Fires one due event inside the batch's transaction, under a savepoint of its own. When its
 * firing fails for a reason of its own (a row it cannot use), only its writes are undone and
 * it is held back for a retry (store_sla_hold), so the events due after it still fire; the
 * watchdog keeps reporting it while it is overdue. Running out of memory, a busy database or
 * a failed savepoint fails the batch (tried again as a whole). */
static int fire_one(struct engine *e, const struct sla_row *row, int64_t now, bool *fired)
{
    int err = store_savepoint(e->store);
    if (err)
        return err;
    err = eng__fire_sla(e, row, now, fired);
    if (err == 0 && *fired)
        err = store_sla_unhold(e->store, row->id);
    if (err == 0)
        return store_savepoint_end(e->store, true);
    *fired = false;
    int undo = store_savepoint_end(e->store, false);
    if (undo || err == DBOT_ERR_NOMEM || err == DBOT_ERR_BUSY)
        return undo ? undo : err;
    char cid[32];
    log_error(MOD, "%s: SLA event %lld (%s %s) not fired: %s; held back for a retry",
              complaint_id_format(row->complaint_id, cid, sizeof cid), (long long)row->id,
              sla_kind_name(row->kind), sla_milestone_name(row->milestone), dbot_strerror(err));
    return store_sla_hold(e->store, row->id, now, dbot_strerror(err));
}

int engine_fire_due(struct engine *e, int64_t now_us, int limit, int *fired, int *seen,
                    struct histogram *lateness)
{
    int64_t now = now_us / 1000000;
    *fired = *seen = 0;
    if (limit <= 0)
        return 0;
    struct due_batch b = {.rows = calloc((size_t)limit, sizeof *b.rows),
                          .notify = calloc((size_t)limit, sizeof *b.notify)};
    if (!b.rows || !b.notify) {
        free(b.rows);
        free(b.notify);
        return DBOT_ERR_NOMEM;
    }
    eng__forget(e);
    int err = store_begin(e->store);
    /* The rows are copied out first: firing writes to the same table. */
    if (err == 0)
        err = store_sla_each_due(e->store, now, limit, take_due, &b);
    /* broadcasts due (scheduled sends, reminders, reports): a few per wake-up */
    int64_t bids[8];
    enum broadcast_step steps[8];
    int nb = 0;
    if (err == 0)
        err = store_broadcast_due(e->store, now, bids, steps, 8, &nb);
    for (int i = 0; err == 0 && i < nb; i++)
        err = eng__broadcast_step(e, bids[i], steps[i], now);
    int n_fired = nb;
    for (int i = 0; err == 0 && i < b.n; i++) {
        bool f = false;
        err = fire_one(e, &b.rows[i], now, &f);
        n_fired += f;
        if (f && lateness)
            histogram_add(lateness, now_us - b.rows[i].due_at * 1000000);
    }
    if (err == 0)
        err = store_commit(e->store);
    else if (store_in_transaction(e->store))
        store_rollback(e->store);
    if (err) {
        log_error(MOD, "SLA events not fired: %s (tried again)", dbot_strerror(err));
        eng__forget(e);
    } else {
        *fired = n_fired;
        *seen = nb == 8 ? limit : b.n; /* more broadcasts may be due: come again */
        eng__after_commit(e);
    }
    free(b.rows);
    free(b.notify);
    return err;
}

struct alarm_call {
    struct msg_var v[2];
    int64_t now;
};

static int alarm_step(struct engine *e, void *arg)
{
    struct alarm_call *a = arg;
    return eng__say(e, 0, true, e->cfg->chat.staff_room, e->cfg->language, "watchdog_staff",
                    a->v, 2, "alarm", a->now);
}

int engine_sla_alarm(struct engine *e, int64_t count, int64_t earliest, int64_t now)
{
    if (!e->msgs)
        return 0;
    char n[24], when[ENG_TIME_MAX];
    snprintf(n, sizeof n, "%lld", (long long)count);
    eng__when(earliest, NULL, when, sizeof when);
    struct alarm_call a = {.v = {{"count", n}, {"oldest", when}}, .now = now};
    return eng__transact(e, alarm_step, &a);
}

struct broadcast_call {
    struct broadcast *b;
    int64_t now, *id;
    int *rooms, *people;
    struct dbot_diag *diag;
};

static int broadcast_step(struct engine *e, void *arg)
{
    struct broadcast_call *c = arg;
    return eng__broadcast(e, c->b, c->now, c->id, c->rooms, c->people, c->diag);
}

int engine_room_refused(struct engine *e, const char *room, int64_t now)
{
    if (!e->msgs || strcmp(room, e->cfg->chat.staff_room) == 0)
        return 0; /* the staff room itself: its notice would wait behind the refusal */
    struct msg_var v[] = {{"room", room}};
    eng__forget(e);
    int err = store_begin(e->store);
    if (err == 0)
        err = eng__say(e, 0, true, e->cfg->chat.staff_room, e->cfg->language, "room_refused",
                       v, 1, "alarm", now);
    if (err == 0)
        err = store_commit(e->store);
    else if (store_in_transaction(e->store))
        store_rollback(e->store);
    if (err)
        eng__forget(e);
    else
        eng__after_commit(e);
    return err;
}

int engine_broadcast(struct engine *e, struct broadcast *b, int64_t now, int64_t *id,
                     int *rooms, int *people, struct dbot_diag *diag)
{
    struct broadcast_call c = {
        .b = b, .now = now, .id = id, .rooms = rooms, .people = people, .diag = diag};
    return eng__transact(e, broadcast_step, &c);
}

int engine_next_due(struct engine *e, int64_t *due)
{
    int64_t a = 0, b = 0;
    int ea = store_sla_next(e->store, &a);
    if (ea && ea != DBOT_ERR_NOTFOUND)
        return ea;
    int eb = store_broadcast_next(e->store, &b);
    if (eb && eb != DBOT_ERR_NOTFOUND)
        return eb;
    if (ea && eb)
        return DBOT_ERR_NOTFOUND;
    *due = ea ? b : eb ? a : (a < b ? a : b);
    return 0;
}

int engine_on_delivered(struct engine *e, const char *msg_id, int64_t now)
{
    int64_t cid = 0;
    char kind[16];
    int err = store_outbox_find(e->store, msg_id, &cid, kind, sizeof kind);
    if (err == DBOT_ERR_NOTFOUND || (err == 0 && (cid == 0 || strcmp(kind, "card") != 0)))
        return 0;
    if (err)
        return err;

    struct complaint c;
    if ((err = store_complaint_get(e->store, cid, &c)) != 0)
        return err == DBOT_ERR_NOTFOUND ? 0 : err;
    struct actor bot = {.kind = ACTOR_SYSTEM};
    enum complaint_state to;
    if (lifecycle_decide(c.state, LC_NOTIFY, &bot, &to) == LC_OK) {
        struct complaint_change ch = {.from = c.state, .to = to};
        err = store_complaint_change(e->store, cid, &ch, now);
        if (err == 0)
            err = store_timeline_add(e->store, cid, now, "bot", "notify",
                                     "card delivered to the dealer room", msg_id);
        if (err == DBOT_ERR_CONFLICT)
            err = 0; /* acknowledged meanwhile: nothing to notify */
        if (err == 0) {
            char id[32];
            log_info(MOD, "%s: card delivered, %s -> %s", complaint_id_format(cid, id, sizeof id),
                     complaint_state_name(c.state), complaint_state_name(to));
        }
    }
    complaint_cleanup(&c);
    return err;
}
