/*
 * rooms.c — where rooms live on the chat platform (schema 18; see store.h).
 */
#include <stdlib.h>

#include "store_int.h"

int store_room_address_set(struct store *st, const char *room, const char *address, int64_t now)
{
    sqlite3_stmt *s = store__stmt(st, SQL_ROOM_ADDR_FREE);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, address);
    store__bind_text(s, 2, room);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "room address");
    if (!(s = store__stmt(st, SQL_ROOM_ADDR_SET)))
        return DBOT_ERR_DB;
    store__bind_text(s, 1, room);
    store__bind_text(s, 2, address);
    sqlite3_bind_int64(s, 3, now);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "room address");
}

int store_room_address_get(struct store *st, const char *room, char **out)
{
    sqlite3_stmt *s = store__stmt(st, SQL_ROOM_ADDR_GET);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, room);
    int rc = sqlite3_step(s), ret;
    if (rc == SQLITE_ROW) {
        int oom = 0;
        char *a = store__col_dup(s, 0, &oom);
        ret = oom ? DBOT_ERR_NOMEM : a ? 0 : DBOT_ERR_NOTFOUND;
        if (ret == 0)
            *out = a;
    } else {
        ret = rc == SQLITE_DONE ? DBOT_ERR_NOTFOUND : store__err(st, rc, "room address");
    }
    sqlite3_reset(s);
    return ret;
}

int store_room_address_each(struct store *st, store_room_address_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_ROOM_ADDR_EACH);
    if (!s)
        return DBOT_ERR_DB;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *room = (const char *)sqlite3_column_text(s, 0);
        const char *addr = (const char *)sqlite3_column_text(s, 1);
        if ((ret = fn(room ? room : "", addr ? addr : "", arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = store__err(st, rc, "room addresses");
    sqlite3_reset(s);
    return ret;
}
