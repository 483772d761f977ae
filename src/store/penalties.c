/*
 * penalties.c — the penalty catalogue ("处罚大全": code, violation, points, standard, how to
 * avoid it) and each dealer's ledger of points (SLA breaches and catalogue penalties).
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/timeutil.h"

int store_penalty_rule_upsert(struct store *st, const struct penalty_rule *r)
{
    if (!r->code || !r->violation)
        return DBOT_ERR_INVALID;
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_RULE_UPSERT);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, r->code);
    store__bind_text(s, 2, r->violation);
    sqlite3_bind_int(s, 3, r->points);
    store__bind_text(s, 4, r->standard ? r->standard : "");
    store__bind_text(s, 5, r->how_to_avoid ? r->how_to_avoid : "");
    sqlite3_bind_int64(s, 6, timeutil_now());
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "penalty rule upsert");
}

/* Reads a rule row (borrowed strings) — for the walker — or copies it — for get. */
static void rule_view(sqlite3_stmt *s, struct penalty_rule *r)
{
    r->code = (char *)sqlite3_column_text(s, 0);
    r->violation = (char *)sqlite3_column_text(s, 1);
    r->points = sqlite3_column_int(s, 2);
    r->standard = (char *)sqlite3_column_text(s, 3);
    r->how_to_avoid = (char *)sqlite3_column_text(s, 4);
}

int store_penalty_rule_get(struct store *st, const char *code, struct penalty_rule *out)
{
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_RULE_GET);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, code);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW) {
        int oom = 0;
        struct penalty_rule r = {0};
        r.code = store__col_dup(s, 0, &oom);
        r.violation = store__col_dup(s, 1, &oom);
        r.points = sqlite3_column_int(s, 2);
        r.standard = store__col_dup(s, 3, &oom);
        r.how_to_avoid = store__col_dup(s, 4, &oom);
        if (oom) {
            penalty_rule_cleanup(&r);
            err = DBOT_ERR_NOMEM;
        } else {
            *out = r;
        }
    } else if (rc == SQLITE_DONE) {
        err = DBOT_ERR_NOTFOUND;
    } else {
        err = store__err(st, rc, "penalty rule get");
    }
    sqlite3_reset(s);
    return err;
}

int store_penalty_rule_each(struct store *st, store_penalty_rule_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_RULE_EACH);
    if (!s)
        return DBOT_ERR_DB;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct penalty_rule r;
        rule_view(s, &r);
        if ((ret = fn(&r, arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, "penalty rules");
    sqlite3_reset(s);
    return ret;
}

int store_penalty_add(struct store *st, const char *dealer, const char *code, int points,
                      int64_t complaint_id, const char *note, const char *actor, int64_t now)
{
    if (!dealer || !code || !actor)
        return DBOT_ERR_INVALID; /* so that a NOT NULL failure below means: no such dealer */
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_ADD);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, dealer);
    store__bind_text(s, 2, code);
    sqlite3_bind_int(s, 3, points);
    if (complaint_id > 0)
        sqlite3_bind_int64(s, 4, complaint_id);
    else
        sqlite3_bind_null(s, 4);
    store__bind_text(s, 5, note);
    store__bind_text(s, 6, actor);
    sqlite3_bind_int64(s, 7, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT && sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_NOTNULL)
        return DBOT_ERR_NOTFOUND; /* the dealer code matched no dealer */
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "penalty add");
}

int store_penalty_each(struct store *st, const char *dealer, int64_t since, int64_t limit,
                       store_penalty_fn fn, void *arg)
{
    return store_penalty_list(st, dealer, NULL, since, limit, fn, arg);
}

int store_penalty_list(struct store *st, const char *dealer, const char *state, int64_t since,
                       int64_t limit, store_penalty_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_EACH);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, dealer);
    sqlite3_bind_int64(s, 2, since);
    sqlite3_bind_int64(s, 3, limit > 0 ? limit : 1000);
    store__bind_text(s, 4, state);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct penalty_entry e = {
            .id = sqlite3_column_int64(s, 0),
            .dealer = (const char *)sqlite3_column_text(s, 1),
            .code = (const char *)sqlite3_column_text(s, 2),
            .points = sqlite3_column_int(s, 3),
            .complaint_id = sqlite3_column_int64(s, 4),
            .note = (const char *)sqlite3_column_text(s, 5),
            .actor = (const char *)sqlite3_column_text(s, 6),
            .at = sqlite3_column_int64(s, 7),
            .state = (const char *)sqlite3_column_text(s, 8),
        };
        if ((ret = fn(&e, arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, "penalty list");
    sqlite3_reset(s);
    return ret;
}

int store_penalty_total(struct store *st, const char *dealer, int64_t since, int64_t *points)
{
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_TOTAL);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, dealer);
    sqlite3_bind_int64(s, 2, since);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW)
        *points = sqlite3_column_int64(s, 0);
    else
        err = store__err(st, rc, "penalty total");
    sqlite3_reset(s);
    return err;
}

/* Copies a column's text into buf (truncated, always terminated). */
static void col_copy(sqlite3_stmt *s, int col, char *buf, size_t len)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
}

int store_penalty_get(struct store *st, int64_t id, struct penalty_head *out)
{
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_GET);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = sqlite3_column_int64(s, 0);
        col_copy(s, 1, out->dealer, sizeof out->dealer);
        col_copy(s, 2, out->code, sizeof out->code);
        out->points = sqlite3_column_int(s, 3);
        out->complaint_id = sqlite3_column_int64(s, 4);
        out->at = sqlite3_column_int64(s, 5);
        col_copy(s, 6, out->state, sizeof out->state);
    } else if (rc == SQLITE_DONE) {
        err = DBOT_ERR_NOTFOUND;
    } else {
        err = store__err(st, rc, "penalty get");
    }
    sqlite3_reset(s);
    return err;
}

/* Runs an UPDATE of one entry: 0 when it changed a row, else NOTFOUND (no entry) or CONFLICT
 * (the entry's state does not allow it). */
static int update_one(struct store *st, sqlite3_stmt *s, int64_t id, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, what);
    if (sqlite3_changes(st->db) == 1)
        return 0;
    struct penalty_head h;
    int err = store_penalty_get(st, id, &h);
    return err ? err : DBOT_ERR_CONFLICT;
}

int store_penalty_appeal(struct store *st, int64_t id, const char *reason, const char *actor,
                         int64_t now)
{
    if (!reason || !actor)
        return DBOT_ERR_INVALID;
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_APPEAL);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    store__bind_text(s, 2, reason);
    store__bind_text(s, 3, actor);
    sqlite3_bind_int64(s, 4, now);
    return update_one(st, s, id, "penalty appeal");
}

int store_penalty_decide(struct store *st, int64_t id, bool waive, const char *note,
                         const char *actor, int64_t now)
{
    if (!actor || (waive && !note))
        return DBOT_ERR_INVALID;
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_DECIDE);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    store__bind_text(s, 2, waive ? "waived" : "upheld");
    store__bind_text(s, 3, note);
    store__bind_text(s, 4, actor);
    sqlite3_bind_int64(s, 5, now);
    return update_one(st, s, id, "penalty decision");
}

int store_penalty_history_add(struct store *st, int64_t id, const char *actor,
                              const char *kind, const char *detail, int64_t now)
{
    if (!actor || !kind)
        return DBOT_ERR_INVALID;
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_HISTORY_ADD);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    store__bind_text(s, 3, actor);
    store__bind_text(s, 4, kind);
    store__bind_text(s, 5, detail);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT)
        return DBOT_ERR_NOTFOUND; /* no such entry */
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "penalty history add");
}

int store_penalty_history_each(struct store *st, int64_t id, store_penalty_step_fn fn,
                               void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_HISTORY_EACH);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct penalty_step p = {
            .at = sqlite3_column_int64(s, 0),
            .actor = (const char *)sqlite3_column_text(s, 1),
            .kind = (const char *)sqlite3_column_text(s, 2),
            .detail = (const char *)sqlite3_column_text(s, 3),
        };
        if ((ret = fn(&p, arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, "penalty history");
    sqlite3_reset(s);
    return ret;
}
