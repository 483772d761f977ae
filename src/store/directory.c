/*
 * directory.c — what changed in the directory (dealers, people) since a version a reader
 * acted on. The versions are written by triggers (schema 13, see db.c), so every writer of the
 * directory — the CLI import in another process, the API, a hand-made SQL edit — bumps them.
 */
#include "store/store_int.h"

int store_directory_version(struct store *st, int64_t *out)
{
    return store__one_int64(st, SQL_DIRECTORY_VERSION, NULL, "directory version", out);
}

int store_directory_changes(struct store *st, int64_t after, int limit, store_directory_fn fn,
                            void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_DIRECTORY_CHANGES);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int(s, 2, limit > 0 ? limit : 1000);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *scope = (const char *)sqlite3_column_text(s, 0);
        if ((ret = fn(scope ? scope : "", sqlite3_column_int64(s, 1), arg)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = store__err(st, rc, "directory changes");
    sqlite3_reset(s);
    return ret;
}
