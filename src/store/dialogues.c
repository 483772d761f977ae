/*
 * dialogues.c — the guided /close reports in progress, one per person, kept in the store so a
 * restart in the middle of one loses nothing.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

void dialogue_cleanup(struct dialogue *d)
{
    if (!d)
        return;
    free(d->cause);
    free(d->fix);
    free(d->prevent);
    memset(d, 0, sizeof *d);
}

int store_dialogue_get(struct store *st, const char *jid, struct dialogue *out)
{
    sqlite3_stmt *s = store__stmt(st, SQL_DIALOGUE_GET);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, jid);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW) {
        int oom = 0;
        struct dialogue d = {.complaint_id = sqlite3_column_int64(s, 0)};
        d.cause = store__col_dup(s, 1, &oom);
        d.fix = store__col_dup(s, 2, &oom);
        d.prevent = store__col_dup(s, 3, &oom);
        if (oom) {
            dialogue_cleanup(&d);
            err = DBOT_ERR_NOMEM;
        } else {
            *out = d;
        }
    } else if (rc == SQLITE_DONE) {
        err = DBOT_ERR_NOTFOUND;
    } else {
        err = store__err(st, rc, "dialogue get");
    }
    sqlite3_reset(s);
    return err;
}

int store_dialogue_put(struct store *st, const char *jid, const struct dialogue *d, int64_t now)
{
    sqlite3_stmt *s = store__stmt(st, SQL_DIALOGUE_PUT);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, jid);
    sqlite3_bind_int64(s, 2, d->complaint_id);
    store__bind_text(s, 3, d->cause);
    store__bind_text(s, 4, d->fix);
    store__bind_text(s, 5, d->prevent);
    sqlite3_bind_int64(s, 6, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "dialogue put");
}

int store_dialogue_delete(struct store *st, const char *jid)
{
    sqlite3_stmt *s = store__stmt(st, SQL_DIALOGUE_DELETE);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, jid);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, "dialogue delete");
}
