/*
 * sla_events.c — the planned reminders, breaches and escalations of every complaint.
 *
 * They are written at intake (and on reopen) from the pure plan (sla.h), found through the
 * partial index on due_at of pending rows, and fired at most once: store_sla_fire() moves a
 * row out of 'pending' only if it is still there, in the transaction that writes what the
 * firing says (outbox rows, penalty points). A repeated or stale timer finds nothing to do.
 */
#include "store/store_int.h"

#include <string.h>

int store_sla_add(struct store *st, int64_t complaint_id, const struct sla_event *ev)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SLA_ADD);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, complaint_id);
    store__bind_text(s, 2, sla_milestone_name(ev->milestone));
    store__bind_text(s, 3, sla_kind_name(ev->kind));
    sqlite3_bind_int(s, 4, ev->level);
    sqlite3_bind_int64(s, 5, ev->due_at);
    store__bind_text(s, 6, ev->notify);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "sla add");
}

int store_sla_cancel(struct store *st, int64_t complaint_id, unsigned which, int64_t now)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SLA_CANCEL);
    if (!s)
        return DBOT_ERR_DB;
    /* one statement for every milestone of the mask: all or nothing */
    _Static_assert(MS_ACK == 0 && MS_SOLUTION == 1 && MS_CLOSE == 2, "mask bits in the SQL");
    sqlite3_bind_int64(s, 1, complaint_id);
    sqlite3_bind_int(s, 2, (int)(which & MS_ALL));
    sqlite3_bind_int64(s, 3, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "sla cancel");
}

int store_sla_next(struct store *st, int64_t *due)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SLA_NEXT);
    if (!s)
        return DBOT_ERR_DB;
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        *due = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_ROW)
        err = DBOT_ERR_NOTFOUND;
    else
        err = store__err(st, rc, "sla next");
    sqlite3_reset(s);
    return err;
}

/* Reads columns 0..6 (and 7..9 when `full`) of an sla_events row. 0 or DBOT_ERR_DB for a
 * value the schema's CHECKs should have kept out. */
static int read_row(sqlite3_stmt *s, bool full, struct sla_row *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(s, 0);
    r->complaint_id = sqlite3_column_int64(s, 1);
    const char *m = (const char *)sqlite3_column_text(s, 2);
    const char *k = (const char *)sqlite3_column_text(s, 3);
    if (!m || !k || sla_milestone_parse(m, &r->milestone) != 0 ||
        sla_kind_parse(k, &r->kind) != 0)
        return DBOT_ERR_DB;
    r->level = sqlite3_column_int(s, 4);
    r->due_at = sqlite3_column_int64(s, 5);
    r->notify = (const char *)sqlite3_column_text(s, 6);
    if (!r->notify)
        r->notify = "";
    if (full) {
        r->state = (const char *)sqlite3_column_text(s, 7);
        r->fired_at = sqlite3_column_type(s, 8) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 8);
        r->late = sqlite3_column_int(s, 9) != 0;
    } else {
        r->state = "pending";
    }
    return 0;
}

static int walk(struct store *st, sqlite3_stmt *s, bool full, store_sla_fn fn, void *arg,
                const char *what)
{
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct sla_row r;
        if ((ret = read_row(s, full, &r)) != 0) {
            store__err(st, SQLITE_CORRUPT, what);
            break;
        }
        if ((ret = fn(&r, arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, what);
    sqlite3_reset(s);
    return ret;
}

int store_sla_each_due(struct store *st, int64_t now, int limit, store_sla_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SLA_DUE);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, limit > 0 ? limit : 100);
    return walk(st, s, false, fn, arg, "sla due");
}

int store_sla_each(struct store *st, int64_t complaint_id, store_sla_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SLA_EACH);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, complaint_id);
    return walk(st, s, true, fn, arg, "sla list");
}

int store_sla_fire(struct store *st, int64_t id, int64_t now, bool late, bool cancel,
                   bool *done)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SLA_FIRE);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    store__bind_text(s, 3, cancel ? "cancelled" : "fired");
    sqlite3_bind_int(s, 4, late && !cancel ? 1 : 0);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "sla fire");
    *done = sqlite3_changes(st->db) == 1;
    return 0;
}

int store_sla_overdue(struct store *st, int64_t before, int64_t *count, int64_t *earliest)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SLA_OVERDUE);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, before);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int64(s, 0);
        *earliest = sqlite3_column_type(s, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 1);
    } else {
        err = store__err(st, rc, "sla overdue");
    }
    sqlite3_reset(s);
    return err;
}

int store_sla_revive(struct store *st, int64_t id)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SLA_REVIVE);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "sla revive");
    return sqlite3_changes(st->db) == 1 ? 0 : DBOT_ERR_NOTFOUND;
}

int store_sla_hold(struct store *st, int64_t id, int64_t now, const char *error)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SLA_HOLD);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    store__bind_text(s, 3, error ? error : "");
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "sla hold");
}

int store_sla_unhold(struct store *st, int64_t id)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SLA_UNHOLD);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "sla unhold");
}

int store_sla_held(struct store *st, int64_t *count)
{
    return store__one_int64(st, SQL_SLA_HELD, NULL, "sla held", count);
}
