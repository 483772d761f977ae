/*
 * broadcasts.c — broadcasts to the dealer network, their recipients person by person (read
 * confirmations), and the underperformers list they can be addressed to.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void broadcast_cleanup(struct broadcast *b)
{
    if (!b)
        return;
    free(b->audience);
    free(b->kind);
    free(b->text);
    free(b->created_by);
    memset(b, 0, sizeof *b);
}

static int64_t col_time(sqlite3_stmt *s, int col)
{
    return sqlite3_column_type(s, col) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, col);
}

int store_broadcast_add(struct store *st, const struct broadcast *b, int64_t *id)
{
    sqlite3_stmt *s = store__stmt(st, SQL_BC_ADD);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, b->audience);
    store__bind_text(s, 2, b->kind);
    store__bind_text(s, 3, b->text);
    sqlite3_bind_int(s, 4, b->require_read ? 1 : 0);
    store__bind_text(s, 5, b->created_by);
    sqlite3_bind_int64(s, 6, b->created_at);
    sqlite3_bind_int64(s, 7, b->send_at);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "broadcast add");
    *id = sqlite3_last_insert_rowid(st->db);
    return 0;
}

int store_broadcast_get(struct store *st, int64_t id, struct broadcast *out)
{
    sqlite3_stmt *s = store__stmt(st, SQL_BC_GET);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW) {
        int oom = 0;
        struct broadcast b = {.id = sqlite3_column_int64(s, 0)};
        b.audience = store__col_dup(s, 1, &oom);
        b.kind = store__col_dup(s, 2, &oom);
        b.text = store__col_dup(s, 3, &oom);
        b.require_read = sqlite3_column_int(s, 4) != 0;
        b.created_by = store__col_dup(s, 5, &oom);
        b.created_at = col_time(s, 6);
        b.send_at = col_time(s, 7);
        const char *state = (const char *)sqlite3_column_text(s, 8);
        b.sent = state && strcmp(state, "sent") == 0;
        b.sent_at = col_time(s, 9);
        b.remind_at = col_time(s, 10);
        b.report_at = col_time(s, 11);
        if (oom) {
            broadcast_cleanup(&b);
            err = DBOT_ERR_NOMEM;
        } else {
            *out = b;
        }
    } else if (rc == SQLITE_DONE) {
        err = DBOT_ERR_NOTFOUND;
    } else {
        err = store__err(st, rc, "broadcast get");
    }
    sqlite3_reset(s);
    return err;
}

static void bind_time_or_null(sqlite3_stmt *s, int i, int64_t t)
{
    if (t)
        sqlite3_bind_int64(s, i, t);
    else
        sqlite3_bind_null(s, i);
}

int store_broadcast_sent(struct store *st, int64_t id, int64_t now, int64_t remind_at,
                         int64_t report_at)
{
    sqlite3_stmt *s = store__stmt(st, SQL_BC_SENT);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    bind_time_or_null(s, 3, remind_at);
    bind_time_or_null(s, 4, report_at);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "broadcast sent");
    return sqlite3_changes(st->db) == 1 ? 0 : DBOT_ERR_CONFLICT;
}

int store_broadcast_next(struct store *st, int64_t *at)
{
    sqlite3_stmt *s = store__stmt(st, SQL_BC_NEXT);
    if (!s)
        return DBOT_ERR_DB;
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        *at = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_ROW)
        err = DBOT_ERR_NOTFOUND;
    else
        err = store__err(st, rc, "broadcast next");
    sqlite3_reset(s);
    return err;
}

int store_broadcast_due(struct store *st, int64_t now, int64_t *ids, enum broadcast_step *steps,
                        int max, int *n)
{
    sqlite3_stmt *s = store__stmt(st, SQL_BC_DUE);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, max);
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
        const char *step = (const char *)sqlite3_column_text(s, 1);
        ids[*n] = sqlite3_column_int64(s, 0);
        steps[*n] = !step || strcmp(step, "send") == 0 ? BC_SEND
                    : strcmp(step, "remind") == 0    ? BC_REMIND
                                                     : BC_REPORT;
        (*n)++;
    }
    int err = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store__err(st, rc, "broadcast due");
    sqlite3_reset(s);
    return err;
}

int store_broadcast_step_done(struct store *st, int64_t id, enum broadcast_step step)
{
    if (step == BC_SEND)
        return DBOT_ERR_INVALID; /* sending is store_broadcast_sent */
    sqlite3_stmt *s = store__stmt(st, step == BC_REMIND ? SQL_BC_DONE_REMIND : SQL_BC_DONE_REPORT);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "broadcast step");
}

int store_broadcast_recipient_add(struct store *st, int64_t id, const char *jid,
                                  const char *dealer, const char *stanza_id)
{
    sqlite3_stmt *s = store__stmt(st, SQL_BC_RCPT_ADD);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    store__bind_text(s, 2, jid);
    store__bind_text(s, 3, dealer);
    store__bind_text(s, 4, stanza_id);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "broadcast recipient");
}

int store_broadcast_read(struct store *st, int64_t id, const char *jid, int64_t now,
                         bool *first)
{
    sqlite3_stmt *s = store__stmt(st, SQL_BC_RCPT_READ);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    store__bind_text(s, 2, jid);
    sqlite3_bind_int64(s, 3, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "broadcast read");
    *first = sqlite3_changes(st->db) == 1;
    if (*first)
        return 0;
    /* confirmed before, or not a recipient at all */
    if (!(s = store__stmt(st, SQL_BC_RCPT_IS)))
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    store__bind_text(s, 2, jid);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? DBOT_ERR_NOTFOUND : store__err(st, rc, "broadcast recipient");
}

int store_broadcast_recipients(struct store *st, int64_t id, bool unread_only,
                               store_recipient_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_BC_RCPT_EACH);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, unread_only ? 1 : 0);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct broadcast_recipient r = {
            .jid = (const char *)sqlite3_column_text(s, 0),
            .dealer = (const char *)sqlite3_column_text(s, 1),
            .delivered_at = col_time(s, 2),
            .read_at = col_time(s, 3),
            .reminded_at = col_time(s, 4),
        };
        if ((ret = fn(&r, arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, "broadcast recipients");
    sqlite3_reset(s);
    return ret;
}

int store_broadcast_reminded(struct store *st, int64_t id, const char *jid, int64_t now)
{
    sqlite3_stmt *s = store__stmt(st, SQL_BC_RCPT_REMINDED);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    store__bind_text(s, 2, jid);
    sqlite3_bind_int64(s, 3, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "broadcast reminded");
}

static int walk_codes(struct store *st, sqlite3_stmt *s, store_code_fn fn, void *arg,
                      const char *what)
{
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(s, 0);
        if (code && (ret = fn(code, arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, what);
    sqlite3_reset(s);
    return ret;
}

int store_underperformers_each(struct store *st, store_code_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_UNDER_EACH);
    if (!s)
        return DBOT_ERR_DB;
    return walk_codes(st, s, fn, arg, "underperformers");
}

int store_dealers_in_region(struct store *st, const char *region, store_code_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_DEALERS_REGION);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, region);
    return walk_codes(st, s, fn, arg, "dealers in region");
}

int store_under_all(struct store *st, store_under_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_UNDER_ALL);
    if (!s)
        return DBOT_ERR_DB;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *pin = (const char *)sqlite3_column_text(s, 3);
        struct under_row r = {
            .dealer = (const char *)sqlite3_column_text(s, 0),
            .since = col_time(s, 1),
            .reasons = (const char *)sqlite3_column_text(s, 2),
            .pinned = !pin ? 0 : strcmp(pin, "in") == 0 ? 1 : -1,
            .under_since = col_time(s, 4),
        };
        if (!r.reasons)
            r.reasons = "";
        if ((ret = fn(&r, arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, "underperformers");
    sqlite3_reset(s);
    return ret;
}

int store_under_put(struct store *st, const struct under_row *r)
{
    sqlite3_stmt *s = store__stmt(st, SQL_UNDER_PUT);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, r->dealer);
    sqlite3_bind_int64(s, 2, r->since);
    store__bind_text(s, 3, r->reasons ? r->reasons : "");
    store__bind_text(s, 4, r->pinned > 0 ? "in" : r->pinned < 0 ? "out" : NULL);
    bind_time_or_null(s, 5, r->under_since);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "underperformer put");
}

int store_under_delete(struct store *st, const char *dealer)
{
    sqlite3_stmt *s = store__stmt(st, SQL_UNDER_DELETE);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, dealer);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "underperformer delete");
}

int store_under_log(struct store *st, const char *dealer, const char *change,
                    const char *reasons, const char *actor, int64_t now)
{
    sqlite3_stmt *s = store__stmt(st, SQL_UNDER_LOG);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, dealer);
    sqlite3_bind_int64(s, 2, now);
    store__bind_text(s, 3, change);
    store__bind_text(s, 4, reasons ? reasons : "");
    store__bind_text(s, 5, actor);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "underperformer log");
}

int store_under_changes(struct store *st, int limit, store_under_change_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_UNDER_CHANGES);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int(s, 1, limit);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct under_change_row r = {
            .id = sqlite3_column_int64(s, 0),
            .dealer = (const char *)sqlite3_column_text(s, 1),
            .at = col_time(s, 2),
            .change = (const char *)sqlite3_column_text(s, 3),
            .reasons = (const char *)sqlite3_column_text(s, 4),
            .actor = (const char *)sqlite3_column_text(s, 5),
        };
        if (!r.reasons)
            r.reasons = "";
        if ((ret = fn(&r, arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, "underperformer changes");
    sqlite3_reset(s);
    return ret;
}

int store_under_evaluated(struct store *st, int64_t at, const char *actor, int64_t slot,
                          int entered, int left, int listed)
{
    sqlite3_stmt *s = store__stmt(st, SQL_UNDER_EVALUATED);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, at);
    store__bind_text(s, 2, actor);
    bind_time_or_null(s, 3, slot);
    sqlite3_bind_int(s, 4, entered);
    sqlite3_bind_int(s, 5, left);
    sqlite3_bind_int(s, 6, listed);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "underperformer evaluation");
}

int store_under_last_slot(struct store *st, int64_t *slot)
{
    sqlite3_stmt *s = store__stmt(st, SQL_UNDER_LAST_SLOT);
    if (!s)
        return DBOT_ERR_DB;
    int rc = sqlite3_step(s);
    int64_t v = rc == SQLITE_ROW ? col_time(s, 0) : 0;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return store__err(st, rc, "underperformer last slot");
    *slot = v;
    return 0;
}

int store_under_last_evaluation(struct store *st, int64_t *at, char *actor, size_t len)
{
    sqlite3_stmt *s = store__stmt(st, SQL_UNDER_LAST_EVAL);
    if (!s)
        return DBOT_ERR_DB;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *at = col_time(s, 0);
        const char *a = (const char *)sqlite3_column_text(s, 1);
        snprintf(actor, len, "%s", a ? a : "");
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return DBOT_ERR_NOTFOUND;
    return rc == SQLITE_ROW ? 0 : store__err(st, rc, "underperformer last evaluation");
}
