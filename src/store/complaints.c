/*
 * complaints.c — the complaints table.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "dealerbot/log.h"

static int64_t col_time(sqlite3_stmt *s, int col)
{
    return sqlite3_column_type(s, col) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, col);
}

int store__complaint_row(sqlite3_stmt *s, struct complaint *out)
{
    int oom = 0;
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(s, 0);
    out->external_id = store__col_dup(s, 1, &oom);
    out->dealer = store__col_dup(s, 2, &oom);
    out->category = store__col_dup(s, 3, &oom);
    const char *prio = (const char *)sqlite3_column_text(s, 4);
    if (!prio || priority_parse(prio, &out->priority) != 0)
        out->priority = PRIORITY_NORMAL;
    out->policy = store__col_dup(s, 5, &oom);
    out->customer_name = store__col_dup(s, 6, &oom);
    out->customer_phone = store__col_dup(s, 7, &oom);
    out->summary = store__col_dup(s, 8, &oom);
    out->details = store__col_dup(s, 9, &oom);
    out->received_at = col_time(s, 10);
    out->created_at = col_time(s, 11);
    out->updated_at = col_time(s, 12);
    const char *state = (const char *)sqlite3_column_text(s, 13);
    if (!state || complaint_state_parse(state, &out->state) != 0)
        out->state = STATE_NEW;
    out->owner = store__col_dup(s, 14, &oom);
    out->due.ack_due = col_time(s, 15);
    out->due.solution_due = col_time(s, 16);
    out->due.close_due = col_time(s, 17);
    out->ack_at = col_time(s, 18);
    out->solution_at = col_time(s, 19);
    out->closed_at = col_time(s, 20);
    out->eta = store__col_dup(s, 21, &oom);
    out->solution = store__col_dup(s, 22, &oom);
    out->cause = store__col_dup(s, 23, &oom);
    out->fix = store__col_dup(s, 24, &oom);
    out->prevent = store__col_dup(s, 25, &oom);
    out->report_at = col_time(s, 26);
    out->reopened = (int)sqlite3_column_int64(s, 27);
    out->rejected = (int)sqlite3_column_int64(s, 28);
    out->satisfaction = sqlite3_column_type(s, 29) == SQLITE_NULL
                            ? 0
                            : (int)sqlite3_column_int64(s, 29);
    out->satisfaction_comment = store__col_dup(s, 30, &oom);
    out->satisfaction_at = col_time(s, 31);
    if (oom) {
        complaint_cleanup(out);
        return DBOT_ERR_NOMEM;
    }
    return 0;
}

/* The id of the complaint with this external id: 0 and *id, DBOT_ERR_NOTFOUND, or an error. */
static int find_external(struct store *st, const char *external_id, int64_t *id)
{
    return store__one_int64(st, SQL_COMPLAINT_BY_EXTERNAL, external_id, "complaint by external id", id);
}

int store_complaint_insert(struct store *st, const struct intake *in, const char *policy,
                           const struct deadlines *due, int64_t now, const char *actor,
                           int64_t *id, bool *created)
{
    int opened;
    int err = store__auto_begin(st, &opened);
    if (err)
        return err;

    int64_t found = 0;
    if (in->external_id && (err = find_external(st, in->external_id, &found)) == 0) {
        *id = found;
        *created = false;
        return store__auto_end(st, opened, 0);
    }
    if (in->external_id && err != DBOT_ERR_NOTFOUND)
        return store__auto_end(st, opened, err);

    /* The dealer must exist; its stored spelling of the code is the one we keep. */
    struct dealer d;
    if ((err = store_dealer_get(st, in->dealer, &d)) != 0)
        return store__auto_end(st, opened, err);

    sqlite3_stmt *s = store__stmt(st, SQL_COMPLAINT_INSERT);
    if (!s) {
        dealer_cleanup(&d);
        return store__auto_end(st, opened, DBOT_ERR_DB);
    }
    store__bind_text(s, 1, in->external_id);
    store__bind_text(s, 2, d.code);
    store__bind_text(s, 3, in->category);
    store__bind_text(s, 4, priority_name(in->priority));
    store__bind_text(s, 5, policy);
    store__bind_text(s, 6, in->customer_name);
    store__bind_text(s, 7, in->customer_phone);
    store__bind_text(s, 8, in->summary);
    store__bind_text(s, 9, in->details);
    sqlite3_bind_int64(s, 10, in->received_at ? in->received_at : now);
    sqlite3_bind_int64(s, 11, now);
    sqlite3_bind_int64(s, 12, due->ack_due);
    sqlite3_bind_int64(s, 13, due->solution_due);
    sqlite3_bind_int64(s, 14, due->close_due);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    dealer_cleanup(&d);
    if (rc != SQLITE_DONE)
        return store__auto_end(st, opened, store__err(st, rc, "complaint insert"));
    int64_t new_id = sqlite3_last_insert_rowid(st->db);

    err = store_timeline_add(st, new_id, now, actor ? actor : "api", "intake", NULL, NULL);
    err = store__auto_end(st, opened, err);
    if (err == 0) {
        *id = new_id;
        *created = true;
    }
    return err;
}

int store_complaint_get(struct store *st, int64_t id, struct complaint *out)
{
    sqlite3_stmt *s = store__stmt(st, SQL_COMPLAINT_GET);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    int err;
    if (rc == SQLITE_ROW)
        err = store__complaint_row(s, out);
    else if (rc == SQLITE_DONE)
        err = DBOT_ERR_NOTFOUND;
    else
        err = store__err(st, rc, "complaint get");
    sqlite3_reset(s);
    return err;
}

int store_complaint_terms_set(struct store *st, int64_t id, const struct sla_terms *t)
{
    char text[SLA_TERMS_MAX];
    int err = sla_terms_format(t, text, sizeof text);
    if (err)
        return err;
    sqlite3_stmt *s = store__stmt(st, SQL_COMPLAINT_TERMS_SET);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    store__bind_text(s, 2, text);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "complaint terms set");
    return sqlite3_changes(st->db) == 1 ? 0 : DBOT_ERR_NOTFOUND;
}

int store_complaint_terms_get(struct store *st, int64_t id, struct sla_terms *out)
{
    sqlite3_stmt *s = store__stmt(st, SQL_COMPLAINT_TERMS_GET);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    int err;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        const char *text = (const char *)sqlite3_column_text(s, 0);
        err = sla_terms_parse(text, out);
        if (err) {
            log_error("store", "complaint %lld: unreadable SLA terms \"%.80s\"", (long long)id,
                      text ? text : "");
            err = DBOT_ERR_DB;
        }
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        err = DBOT_ERR_NOTFOUND;
    } else {
        err = store__err(st, rc, "complaint terms get");
    }
    sqlite3_reset(s);
    return err;
}

/* Steps a bound complaint SELECT, calling fn for each row; resets the statement. */
static int walk(struct store *st, sqlite3_stmt *s, store_complaint_fn fn, void *arg,
                const char *what)
{
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct complaint c;
        if ((ret = store__complaint_row(s, &c)) != 0)
            break;
        ret = fn(&c, arg);
        complaint_cleanup(&c);
        if (ret)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = store__err(st, rc, what);
    sqlite3_reset(s);
    return ret;
}

int store_complaint_each(struct store *st, const struct complaint_filter *f,
                         store_complaint_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_COMPLAINT_LIST);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, f->dealer);
    store__bind_text(s, 2, f->state >= 0 ? complaint_state_name(f->state) : NULL);
    sqlite3_bind_int(s, 3, f->overdue_only ? 1 : 0);
    sqlite3_bind_int64(s, 4, f->now);
    sqlite3_bind_int64(s, 5, f->limit > 0 ? f->limit : 1000);
    return walk(st, s, fn, arg, "complaint list");
}

int store_complaint_each_open(struct store *st, const char *dealer, int64_t limit,
                              store_complaint_fn fn, void *arg)
{
    sqlite3_stmt *s = store__stmt(st, SQL_COMPLAINT_OPEN);
    if (!s)
        return DBOT_ERR_DB;
    store__bind_text(s, 1, dealer);
    sqlite3_bind_int64(s, 2, limit > 0 ? limit : 1000);
    return walk(st, s, fn, arg, "open complaints");
}

/* Binds an optional time: 0 is NULL (unchanged). */
static void bind_time(sqlite3_stmt *s, int i, int64_t t)
{
    if (t)
        sqlite3_bind_int64(s, i, t);
    else
        sqlite3_bind_null(s, i);
}

int store_complaint_change(struct store *st, int64_t id, const struct complaint_change *ch,
                           int64_t now)
{
    sqlite3_stmt *s = store__stmt(st, SQL_COMPLAINT_CHANGE);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, id);
    store__bind_text(s, 2, complaint_state_name(ch->from));
    store__bind_text(s, 3, complaint_state_name(ch->to));
    sqlite3_bind_int64(s, 4, now);
    store__bind_text(s, 5, ch->owner);
    store__bind_text(s, 6, ch->eta);
    store__bind_text(s, 7, ch->solution);
    store__bind_text(s, 8, ch->cause);
    store__bind_text(s, 9, ch->fix);
    store__bind_text(s, 10, ch->prevent);
    bind_time(s, 11, ch->ack_at);
    bind_time(s, 12, ch->solution_at);
    bind_time(s, 13, ch->report_at);
    sqlite3_bind_int(s, 14, ch->clear_closed ? 1 : 0);
    bind_time(s, 15, ch->closed_at);
    bind_time(s, 16, ch->close_due);
    sqlite3_bind_int(s, 17, ch->count_reopen ? 1 : 0);
    sqlite3_bind_int(s, 18, ch->count_reject ? 1 : 0);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, "complaint change");
    if (sqlite3_changes(st->db) == 1)
        return 0;
    /* Nothing changed: gone, or no longer in the state the decision was made on. */
    struct complaint c;
    int err = store_complaint_get(st, id, &c);
    if (err)
        return err;
    complaint_cleanup(&c);
    return DBOT_ERR_CONFLICT;
}
