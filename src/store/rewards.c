/*
 * rewards.c — the reward side of a dealer's ledger: commendations by brand staff and the
 * automatic rewards (a complaint closed right first time, a return-visit score of 5); and the
 * record of the monthly dealer reports sent, one row per month. Called
 * on the thread that owns the store; strings handed to callbacks are borrowed for the call.
 */
#include "store/store_int.h"

int store_reward_add(struct store *st, const char *dealer, const char *kind, int points,
                     int64_t complaint_id, const char *note, const char *actor, int64_t now)
{
    if (!dealer || !kind || !actor)
        return DBOT_ERR_INVALID;
    sqlite3_stmt *s = store__stmt(st, SQL_REWARD_ADD);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, dealer);
    store__bind_text(s, 2, kind);
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
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "reward add");
}

int store_reward_each(struct store *st, const char *dealer, int64_t since, int64_t limit,
                      store_reward_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_REWARD_EACH);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, dealer);
    sqlite3_bind_int64(s, 2, since);
    sqlite3_bind_int64(s, 3, limit > 0 ? limit : 1000);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct reward_entry e = {
            .id = sqlite3_column_int64(s, 0),
            .dealer = (const char *)sqlite3_column_text(s, 1),
            .kind = (const char *)sqlite3_column_text(s, 2),
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
        ret = store__err(st, rc, "reward list");
    sqlite3_reset(s);
    return ret;
}

int store_reward_total(struct store *st, const char *dealer, int64_t since, int64_t *points)
{
    sqlite3_stmt *s = store__stmt(st, SQL_REWARD_TOTAL);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, dealer);
    sqlite3_bind_int64(s, 2, since);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW)
        *points = sqlite3_column_int64(s, 0);
    else
        err = store__err(st, rc, "reward total");
    sqlite3_reset(s);
    return err;
}

int store_reward_count(struct store *st, int64_t complaint_id, const char *kind, int64_t *n)
{
    sqlite3_stmt *s = store__stmt(st, SQL_REWARD_FIND);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, complaint_id);
    store__bind_text(s, 2, kind);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(s, 0);
    else
        err = store__err(st, rc, "reward count");
    sqlite3_reset(s);
    return err;
}

int store_monthly_count(struct store *st, int64_t *n)
{
    return store__one_int64(st, SQL_MONTHLY_COUNT, NULL, "monthly reports", n);
}

int store_monthly_has(struct store *st, const char *month, int64_t *has)
{
    return store__one_int64(st, SQL_MONTHLY_HAS, month, "monthly report", has);
}

int store_monthly_add(struct store *st, const char *month, int64_t at, bool sent, bool late)
{
    sqlite3_stmt *s = store__stmt(st, SQL_MONTHLY_ADD);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, month);
    sqlite3_bind_int64(s, 2, at);
    sqlite3_bind_int(s, 3, sent);
    sqlite3_bind_int(s, 4, late);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT)
        return DBOT_ERR_CONFLICT;
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "monthly report add");
}
