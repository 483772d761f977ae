/*
 * penalties.c — the penalty catalogue ("处罚大全": code, violation, points, standard, how to
 * avoid it) and each dealer's ledger of points (SLA breaches and catalogue penalties).
 */
#include "store/store_int.h"

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
    sqlite3_stmt *s = store__stmt(st, SQL_PENALTY_EACH);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, dealer);
    sqlite3_bind_int64(s, 2, since);
    sqlite3_bind_int64(s, 3, limit > 0 ? limit : 1000);
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
