/*
 * network.c — what the network programme keeps on complaints: the return visit's score, and
 * the category counts and warnings behind batch warnings.
 */
#include "store/store_int.h"

int store_satisfaction_set(struct store *st, int64_t id, int score, const char *comment,
                           int64_t now)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SATISFACTION_SET);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, score);
    store__bind_text(s, 3, comment);
    sqlite3_bind_int64(s, 4, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "satisfaction");
    return sqlite3_changes(st->db) == 1 ? 0 : DBOT_ERR_NOTFOUND;
}

static void bind_scope(sqlite3_stmt *s, const char *category, const char *dealer, int64_t since)
{
    store__bind_text(s, 1, category);
    sqlite3_bind_int64(s, 2, since);
    if (dealer)
        store__bind_text(s, 3, dealer);
}

int store_category_count(struct store *st, const char *category, const char *dealer,
                         int64_t since, int64_t max, int64_t *count)
{
    sqlite3_stmt *s = store__stmt(st, dealer ? SQL_CATEGORY_COUNT_DEALER : SQL_CATEGORY_COUNT);
    if (!s)
        return DBOT_ERR_DB;
    bind_scope(s, category, dealer, since);
    sqlite3_bind_int64(s, 4, max > 0 ? max : -1);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW)
        *count = sqlite3_column_int64(s, 0);
    else
        err = store__err(st, rc, "category count");
    sqlite3_reset(s);
    return err;
}

int store_category_ids(struct store *st, const char *category, const char *dealer,
                       int64_t since, int64_t *ids, int max, int *n)
{
    sqlite3_stmt *s = store__stmt(st, dealer ? SQL_CATEGORY_IDS_DEALER : SQL_CATEGORY_IDS);
    if (!s)
        return DBOT_ERR_DB;
    bind_scope(s, category, dealer, since);
    sqlite3_bind_int(s, 4, max);
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max)
        ids[(*n)++] = sqlite3_column_int64(s, 0);
    int err = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store__err(st, rc, "category ids");
    sqlite3_reset(s);
    return err;
}

int store_batch_last(struct store *st, const char *scope, const char *category, int64_t *at)
{
    sqlite3_stmt *s = store__stmt(st, SQL_BATCH_LAST);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, scope);
    store__bind_text(s, 2, category);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW)
        *at = sqlite3_column_type(s, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 0);
    else
        err = store__err(st, rc, "batch last");
    sqlite3_reset(s);
    return err;
}

int store_batch_add(struct store *st, const char *scope, const char *category, int64_t count,
                    int64_t now)
{
    sqlite3_stmt *s = store__stmt(st, SQL_BATCH_ADD);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, scope);
    store__bind_text(s, 2, category);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int64(s, 4, count);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "batch add");
}
