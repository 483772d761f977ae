/*
 * dealers.c — the dealers table.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "dealerbot/timeutil.h"

int store_dealer_upsert(struct store *st, const struct dealer *d)
{
    sqlite3_stmt *s = store__stmt(st, SQL_DEALER_UPSERT);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, d->code);
    store__bind_text(s, 2, d->name);
    store__bind_text(s, 3, d->region ? d->region : "");
    if (d->sales_volume >= 0)
        sqlite3_bind_int64(s, 4, d->sales_volume);
    else
        sqlite3_bind_null(s, 4);
    store__bind_text(s, 5, d->timezone && d->timezone[0] ? d->timezone : NULL);
    store__bind_text(s, 7, d->calendar && d->calendar[0] ? d->calendar : NULL);
    sqlite3_bind_int64(s, 6, timeutil_now());
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "dealer upsert");
    return 0;
}

static int dealer_row(sqlite3_stmt *s, struct dealer *out)
{
    int oom = 0;
    memset(out, 0, sizeof *out);
    out->code = store__col_dup(s, 0, &oom);
    out->name = store__col_dup(s, 1, &oom);
    out->region = store__col_dup(s, 2, &oom);
    out->sales_volume = sqlite3_column_type(s, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 3);
    out->timezone = store__col_dup(s, 4, &oom);
    out->calendar = store__col_dup(s, 5, &oom);
    if (oom) {
        dealer_cleanup(out);
        return DBOT_ERR_NOMEM;
    }
    return 0;
}

int store_dealer_get(struct store *st, const char *code, struct dealer *out)
{
    sqlite3_stmt *s = store__stmt(st, SQL_DEALER_GET);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, code);
    int rc = sqlite3_step(s);
    int err;
    if (rc == SQLITE_ROW)
        err = dealer_row(s, out);
    else if (rc == SQLITE_DONE)
        err = DBOT_ERR_NOTFOUND;
    else
        err = store__err(st, rc, "dealer get");
    sqlite3_reset(s);
    return err;
}

int store_dealer_each(struct store *st, store_dealer_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_DEALER_EACH);
    if (!s)
        return DBOT_ERR_DB;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct dealer d;
        if ((ret = dealer_row(s, &d)) != 0)
            break;
        ret = fn(&d, arg);
        dealer_cleanup(&d);
        if (ret)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, "dealer list");
    sqlite3_reset(s);
    return ret;
}

int store_dealer_count(struct store *st, int64_t *out)
{
    return store__one_int64(st, SQL_DEALER_COUNT, NULL, "dealer count", out);
}
