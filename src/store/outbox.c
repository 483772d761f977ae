/*
 * outbox.c — the outbox of chat messages and the inbox of seen platform message ids.
 *
 * A message is written here in the transaction that decided it and leaves only through the
 * delivery pump (src/engine/delivery.c). Its stanza_id is generated once, at insert, so every
 * resend carries the same id and the receiving side can tell a resend from a new message.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

int store_outbox_add(struct store *st, int64_t complaint_id, bool group, const char *target,
                     const char *body, const char *kind, int64_t now, char *msg_id)
{
    sqlite3_stmt *s = store__stmt(st, SQL_OUTBOX_ADD);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, now);
    if (complaint_id > 0)
        sqlite3_bind_int64(s, 2, complaint_id);
    else
        sqlite3_bind_null(s, 2);
    store__bind_text(s, 3, group ? "group" : "direct");
    store__bind_text(s, 4, target);
    store__bind_text(s, 5, body);
    store__bind_text(s, 6, kind ? kind : "reply");
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW) {
        if (msg_id) {
            const char *id = (const char *)sqlite3_column_text(s, 0);
            snprintf(msg_id, OUTBOX_ID_MAX, "%s", id ? id : "");
        }
        rc = sqlite3_step(s);
    }
    if (rc != SQLITE_DONE)
        err = store__err(st, rc, "outbox add");
    sqlite3_reset(s);
    return err;
}

int store_outbox_each_pending(struct store *st, int64_t after_rowid, int limit,
                              store_outbox_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_OUTBOX_PENDING);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, after_rowid);
    sqlite3_bind_int(s, 2, limit > 0 ? limit : 100);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *channel = (const char *)sqlite3_column_text(s, 2);
        struct outbox_row row = {
            .rowid = sqlite3_column_int64(s, 0),
            .complaint_id = sqlite3_column_int64(s, 1),
            .group = channel && strcmp(channel, "group") == 0,
            .target = (const char *)sqlite3_column_text(s, 3),
            .body = (const char *)sqlite3_column_text(s, 4),
            .msg_id = (const char *)sqlite3_column_text(s, 5),
            .attempts = sqlite3_column_int(s, 6),
        };
        if ((ret = fn(&row, arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = store__err(st, rc, "outbox pending");
    sqlite3_reset(s);
    return ret;
}

static int exec_id_time(struct store *st, enum store_sql which, const char *what,
                        const char *text, int64_t rowid, int64_t now)
{
    sqlite3_stmt *s = store__stmt(st, which);
    if (!s)
        return DBOT_ERR_DB;
    if (text)
        store__bind_text(s, 1, text);
    else
        sqlite3_bind_int64(s, 1, rowid);
    sqlite3_bind_int64(s, 2, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, what);
    return 0;
}

int store_outbox_delivered(struct store *st, const char *msg_id, int64_t now)
{
    return exec_id_time(st, SQL_OUTBOX_DELIVERED, "outbox delivered", msg_id, 0, now);
}

int store_outbox_attempted(struct store *st, int64_t rowid, int64_t now)
{
    return exec_id_time(st, SQL_OUTBOX_ATTEMPTED, "outbox attempted", NULL, rowid, now);
}

int store_outbox_find(struct store *st, const char *msg_id, int64_t *complaint_id, char *kind,
                      size_t kind_len)
{
    sqlite3_stmt *s = store__stmt(st, SQL_OUTBOX_FIND);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, msg_id);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW) {
        *complaint_id = sqlite3_column_int64(s, 0);
        const char *k = (const char *)sqlite3_column_text(s, 1);
        snprintf(kind, kind_len, "%s", k ? k : "");
    } else if (rc == SQLITE_DONE) {
        err = DBOT_ERR_NOTFOUND;
    } else {
        err = store__err(st, rc, "outbox find");
    }
    sqlite3_reset(s);
    return err;
}

int store_outbox_rowid(struct store *st, const char *msg_id, int64_t *rowid)
{
    return store__one_int64(st, SQL_OUTBOX_ROWID, msg_id, "outbox rowid", rowid);
}

int store_outbox_count(struct store *st, struct outbox_counts *out)
{
    sqlite3_stmt *s = store__stmt(st, SQL_OUTBOX_COUNT);
    if (!s)
        return DBOT_ERR_DB;
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW) {
        out->pending = sqlite3_column_int64(s, 0);
        out->delivered = sqlite3_column_int64(s, 1);
    } else {
        err = store__err(st, rc, "outbox count");
    }
    sqlite3_reset(s);
    return err;
}

int store_inbox_record(struct store *st, const char *platform_id, int64_t now, bool *seen)
{
    sqlite3_stmt *s = store__stmt(st, SQL_INBOX_RECORD);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, platform_id);
    sqlite3_bind_int64(s, 2, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "inbox record");
    *seen = sqlite3_changes(st->db) == 0;
    return 0;
}

int store_inbox_has(struct store *st, const char *platform_id, bool *has)
{
    sqlite3_stmt *s = store__stmt(st, SQL_INBOX_HAS);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, platform_id);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store__err(st, rc, "inbox look-up");
    *has = rc == SQLITE_ROW;
    return 0;
}

int store_inbox_prune(struct store *st, int64_t before, int limit, int *deleted)
{
    sqlite3_stmt *s = store__stmt(st, SQL_INBOX_PRUNE);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, before);
    sqlite3_bind_int(s, 2, limit > 0 ? limit : 1000);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "inbox prune");
    *deleted = sqlite3_changes(st->db);
    return 0;
}
