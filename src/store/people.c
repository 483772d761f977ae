/*
 * people.c — the people table: who may talk to the bot, for which dealer, in which role.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "dealerbot/timeutil.h"

int store_person_upsert(struct store *st, const struct person *p)
{
    sqlite3_stmt *s = store__stmt(st, SQL_PERSON_UPSERT);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, p->jid);
    store__bind_text(s, 2, p->dealer);
    store__bind_text(s, 3, person_role_name(p->role));
    store__bind_text(s, 4, p->name);
    store__bind_text(s, 5, p->language ? p->language : "zh-CN");
    sqlite3_bind_int64(s, 6, timeutil_now());
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "person upsert");
    return 0;
}

static int person_row(sqlite3_stmt *s, struct person *out)
{
    int oom = 0;
    memset(out, 0, sizeof *out);
    out->jid = store__col_dup(s, 0, &oom);
    out->dealer = store__col_dup(s, 1, &oom);
    const char *role = (const char *)sqlite3_column_text(s, 2);
    if (!role || person_role_parse(role, &out->role) != 0)
        out->role = ROLE_AGENT;
    out->name = store__col_dup(s, 3, &oom);
    out->language = store__col_dup(s, 4, &oom);
    if (oom) {
        person_cleanup(out);
        return DBOT_ERR_NOMEM;
    }
    return 0;
}

int store_person_get(struct store *st, const char *jid, struct person *out)
{
    sqlite3_stmt *s = store__stmt(st, SQL_PERSON_GET);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, jid);
    int rc = sqlite3_step(s);
    int err;
    if (rc == SQLITE_ROW)
        err = person_row(s, out);
    else if (rc == SQLITE_DONE)
        err = DBOT_ERR_NOTFOUND;
    else
        err = store__err(st, rc, "person get");
    sqlite3_reset(s);
    return err;
}

int store_person_each(struct store *st, const char *dealer, store_person_fn fn, void *arg)
{
    sqlite3_stmt *s;
    if (!dealer)
        s = store__stmt(st, SQL_PERSON_EACH_ALL);
    else if (strcmp(dealer, "brand") == 0)
        s = store__stmt(st, SQL_PERSON_EACH_BRAND);
    else
        s = store__stmt(st, SQL_PERSON_EACH_DEALER);
    if (!s)
        return DBOT_ERR_DB;
    if (dealer && strcmp(dealer, "brand") != 0)
        store__bind_text(s, 1, dealer);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct person p;
        if ((ret = person_row(s, &p)) != 0)
            break;
        ret = fn(&p, arg);
        person_cleanup(&p);
        if (ret)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, "person list");
    sqlite3_reset(s);
    return ret;
}
