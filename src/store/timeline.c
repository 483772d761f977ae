/*
 * timeline.c — the audit trail: who did what to a complaint, when.
 */
#include "store/store_int.h"

int store_timeline_add(struct store *st, int64_t complaint_id, int64_t at, const char *actor,
                       const char *kind, const char *detail, const char *message_id)
{
    sqlite3_stmt *s = store__stmt(st, SQL_TIMELINE_ADD);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, complaint_id);
    sqlite3_bind_int64(s, 2, at);
    store__bind_text(s, 3, actor);
    store__bind_text(s, 4, kind);
    store__bind_text(s, 5, detail);
    store__bind_text(s, 6, message_id);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "timeline add");
    return 0;
}

int store_timeline_each(struct store *st, int64_t complaint_id, store_timeline_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_TIMELINE_EACH);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, complaint_id);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct timeline_event ev = {
            .id = sqlite3_column_int64(s, 0),
            .complaint_id = sqlite3_column_int64(s, 1),
            .at = sqlite3_column_int64(s, 2),
            .actor = (const char *)sqlite3_column_text(s, 3),
            .kind = (const char *)sqlite3_column_text(s, 4),
            .detail = (const char *)sqlite3_column_text(s, 5),
            .message_id = (const char *)sqlite3_column_text(s, 6),
        };
        if ((ret = fn(&ev, arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, "timeline list");
    sqlite3_reset(s);
    return ret;
}
