/*
 * test_store.c — the store on a real SQLite file: pragmas, migrations from every older schema
 * to the head with data in place, dealers/people upserts, idempotent complaint insert,
 * listing filters, the timeline, transactions and the online backup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dealerbot/store.h"

static char dir[256];
static char dbpath[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dbot-store-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(dbpath, sizeof dbpath, "%s/test.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct store *open_store(void)
{
    struct store *st = NULL;
    struct dbot_diag diag = {0};
    int rc = store_open(dbpath, &st, &diag);
    if (rc)
        fail_msg("store_open: %s", diag.msg);
    return st;
}

static void add_dealer(struct store *st, const char *code, const char *name)
{
    struct dealer d = {.code = (char *)code, .name = (char *)name, .region = (char *)"east",
                       .sales_volume = 1200, .timezone = NULL};
    assert_int_equal(store_dealer_upsert(st, &d), 0);
}

static struct intake sample_intake(const char *ext, const char *dealer)
{
    struct intake in = {
        .external_id = (char *)ext,
        .dealer = (char *)dealer,
        .category = (char *)"after-sales",
        .priority = PRIORITY_NORMAL,
        .customer_name = (char *)"张三",
        .customer_phone = (char *)"13800000000",
        .summary = (char *)"空调异响",
        .received_at = 1000,
    };
    return in;
}

static const struct deadlines due = {.ack_due = 1000 + 12 * 3600,
                                     .solution_due = 1000 + 5 * 86400,
                                     .close_due = 1000 + 15 * 86400};

static void test_pragmas_and_head(void **state)
{
    (void)state;
    struct store *st = open_store();
    int v = -1;
    assert_int_equal(store_schema_version(st, &v), 0);
    assert_int_equal(v, store_schema_head());
    store_close(st);

    /* WAL, foreign keys and FULL sync are what the durability promise rests on. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void test_migrate_from_every_version(void **state)
{
    (void)state;
    for (int from = 0; from < store_schema_head(); from++) {
        unlink(dbpath);
        struct store *st = NULL;
        struct dbot_diag diag = {0};
        assert_int_equal(store_open_nomigrate(dbpath, &st, &diag), 0);
        assert_int_equal(store_migrate(st, from, &diag), 0);
        int v = -1;
        assert_int_equal(store_schema_version(st, &v), 0);
        assert_int_equal(v, from);
        if (from >= 1) {
            /* Schema 1 has dealers and complaints: put data in before migrating on. */
            add_dealer(st, "D001", "First");
            struct intake in = sample_intake("ext-1", "D001");
            int64_t id;
            bool created;
            assert_int_equal(store_complaint_insert(st, &in, "default", &due, 2000, "test", &id,
                                                    &created), 0);
        }
        store_close(st);

        st = open_store(); /* migrates to head */
        assert_int_equal(store_schema_version(st, &v), 0);
        assert_int_equal(v, store_schema_head());
        if (from >= 1) {
            struct complaint c;
            assert_int_equal(store_complaint_get(st, 1, &c), 0);
            assert_string_equal(c.external_id, "ext-1");
            assert_string_equal(c.summary, "空调异响");
            complaint_cleanup(&c);
        }
        store_close(st);
    }
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    struct store *st = open_store();
    store_close(st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct dbot_diag diag = {0};
    assert_int_equal(store_open(dbpath, &st, &diag), DBOT_ERR_INVALID);
    assert_non_null(strstr(diag.msg, "newer"));
}

static int count_dealer(const struct dealer *d, void *arg)
{
    (void)d;
    (*(int *)arg)++;
    return 0;
}

static void test_dealers_and_people(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    add_dealer(st, "d001", "First renamed"); /* same code, other case: an update */
    add_dealer(st, "D002", "Second");
    int64_t n;
    assert_int_equal(store_dealer_count(st, &n), 0);
    assert_int_equal(n, 2);
    int walked = 0;
    assert_int_equal(store_dealer_each(st, count_dealer, &walked), 0);
    assert_int_equal(walked, 2);

    struct dealer d;
    assert_int_equal(store_dealer_get(st, "D001", &d), 0);
    assert_string_equal(d.name, "First renamed");
    assert_int_equal(d.sales_volume, 1200);
    assert_null(d.timezone);
    dealer_cleanup(&d);
    assert_int_equal(store_dealer_get(st, "nope", &d), DBOT_ERR_NOTFOUND);

    struct person p = {.jid = (char *)"li@example.com", .dealer = (char *)"D001",
                       .role = ROLE_MANAGER, .name = (char *)"李经理", .language = (char *)"zh-CN"};
    assert_int_equal(store_person_upsert(st, &p), 0);
    struct person staff = {.jid = (char *)"boss@example.com", .dealer = NULL,
                           .role = ROLE_SUPERVISOR, .name = (char *)"Boss",
                           .language = (char *)"en"};
    assert_int_equal(store_person_upsert(st, &staff), 0);
    /* A person of an unknown dealer violates the foreign key. */
    struct person ghost = {.jid = (char *)"g@example.com", .dealer = (char *)"D999",
                           .role = ROLE_AGENT, .name = (char *)"G", .language = (char *)"en"};
    assert_int_not_equal(store_person_upsert(st, &ghost), 0);

    struct person got;
    assert_int_equal(store_person_get(st, "boss@example.com", &got), 0);
    assert_null(got.dealer);
    assert_int_equal(got.role, ROLE_SUPERVISOR);
    person_cleanup(&got);
    store_close(st);
}

static void test_complaint_idempotent(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    struct intake in = sample_intake("crm-42", "d001");
    int64_t id1, id2;
    bool c1, c2;
    assert_int_equal(store_complaint_insert(st, &in, "default", &due, 2000, "api", &id1, &c1), 0);
    assert_true(c1);
    assert_int_equal(store_complaint_insert(st, &in, "default", &due, 3000, "api", &id2, &c2), 0);
    assert_false(c2);
    assert_int_equal(id1, id2);

    struct complaint c;
    assert_int_equal(store_complaint_get(st, id1, &c), 0);
    assert_string_equal(c.dealer, "D001"); /* the stored spelling of the code */
    assert_int_equal(c.state, STATE_NEW);
    assert_int_equal(c.due.ack_due, due.ack_due);
    assert_int_equal(c.due.close_due, due.close_due);
    assert_int_equal(c.received_at, 1000);
    assert_int_equal(c.created_at, 2000);
    assert_null(c.owner);
    complaint_cleanup(&c);

    struct intake bad = sample_intake("crm-43", "D404");
    assert_int_equal(store_complaint_insert(st, &bad, "default", &due, 2000, "api", &id1, &c1),
                     DBOT_ERR_NOTFOUND);
    assert_int_equal(store_complaint_get(st, 999, &c), DBOT_ERR_NOTFOUND);
    store_close(st);
}

static int count_events(const struct timeline_event *ev, void *arg)
{
    assert_non_null(ev->kind);
    (*(int *)arg)++;
    return 0;
}

static void test_timeline(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    struct intake in = sample_intake(NULL, "D001");
    int64_t id;
    bool created;
    assert_int_equal(store_complaint_insert(st, &in, "default", &due, 2000, "cli", &id, &created),
                     0);
    assert_int_equal(store_timeline_add(st, id, 2100, "li@example.com", "note", "called back",
                                        "msg-1"), 0);
    int n = 0;
    assert_int_equal(store_timeline_each(st, id, count_events, &n), 0);
    assert_int_equal(n, 2); /* intake + note */
    store_close(st);
}

static int collect_ids(const struct complaint *c, void *arg)
{
    int64_t *ids = arg;
    ids[++ids[0]] = c->id;
    return 0;
}

static void test_list_filters(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    add_dealer(st, "D002", "Second");
    char ext[16];
    for (int i = 0; i < 4; i++) {
        snprintf(ext, sizeof ext, "e%d", i);
        struct intake in = sample_intake(ext, i % 2 ? "D002" : "D001");
        int64_t id;
        bool created;
        assert_int_equal(store_complaint_insert(st, &in, "default", &due, 2000, "api", &id,
                                                &created), 0);
    }
    int64_t ids[8] = {0};
    struct complaint_filter f = {.dealer = "D002", .state = -1};
    assert_int_equal(store_complaint_each(st, &f, collect_ids, ids), 0);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids[2], 4);

    memset(ids, 0, sizeof ids);
    struct complaint_filter overdue = {.state = -1, .overdue_only = true, .now = due.ack_due - 1};
    assert_int_equal(store_complaint_each(st, &overdue, collect_ids, ids), 0);
    assert_int_equal(ids[0], 0);
    overdue.now = due.ack_due + 1;
    assert_int_equal(store_complaint_each(st, &overdue, collect_ids, ids), 0);
    assert_int_equal(ids[0], 4);

    memset(ids, 0, sizeof ids);
    struct complaint_filter closed = {.state = STATE_CLOSED};
    assert_int_equal(store_complaint_each(st, &closed, collect_ids, ids), 0);
    assert_int_equal(ids[0], 0);
    store_close(st);
}

static void test_transaction_rollback(void **state)
{
    (void)state;
    struct store *st = open_store();
    assert_int_equal(store_begin(st), 0);
    assert_true(store_in_transaction(st));
    add_dealer(st, "D001", "First");
    store_rollback(st);
    assert_false(store_in_transaction(st));
    int64_t n = -1;
    assert_int_equal(store_dealer_count(st, &n), 0);
    assert_int_equal(n, 0);
    store_close(st);
}

static void test_backup(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    char dest[320];
    snprintf(dest, sizeof dest, "%s/backup.db", dir);
    struct dbot_diag diag = {0};
    assert_int_equal(store_backup(st, dest, &diag), 0);
    store_close(st);

    struct store *copy = NULL;
    assert_int_equal(store_open(dest, &copy, &diag), 0);
    struct dealer d;
    assert_int_equal(store_dealer_get(copy, "D001", &d), 0);
    dealer_cleanup(&d);
    store_close(copy);

    snprintf(dest, sizeof dest, "%s/no/such/dir/backup.db", dir);
    st = open_store();
    assert_int_equal(store_backup(st, dest, &diag), DBOT_ERR_IO);
    store_close(st);
}

struct pending_walk {
    int n;
    int64_t last_rowid;
    char first_id[OUTBOX_ID_MAX];
};

static int collect_pending(const struct outbox_row *row, void *arg)
{
    struct pending_walk *w = arg;
    if (w->n == 0)
        snprintf(w->first_id, sizeof w->first_id, "%s", row->msg_id);
    w->n++;
    w->last_rowid = row->rowid;
    return 0;
}

static void test_outbox_and_inbox(void **state)
{
    (void)state;
    struct store *st = open_store();
    char id1[OUTBOX_ID_MAX], id2[OUTBOX_ID_MAX], id3[OUTBOX_ID_MAX];
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_outbox_add(st, 0, true, "dealer-d001", "卡片", "card", 100, id1), 0);
    assert_int_equal(store_outbox_add(st, 0, false, "li@example.com", "hi", NULL, 100, id2), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_outbox_add(st, 0, true, "brand-service", "x", NULL, 101, id3), 0);
    assert_true(strncmp(id1, "dbot-", 5) == 0 && strlen(id1) == 21);
    assert_string_not_equal(id1, id2);

    struct pending_walk w = {0};
    assert_int_equal(store_outbox_each_pending(st, 0, 10, collect_pending, &w), 0);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.first_id, id1);
    /* A cursor skips what was handed out already; a limit bounds the walk. */
    struct pending_walk w2 = {0};
    assert_int_equal(store_outbox_each_pending(st, w.last_rowid - 1, 10, collect_pending, &w2), 0);
    assert_int_equal(w2.n, 1);
    struct pending_walk w3 = {0};
    assert_int_equal(store_outbox_each_pending(st, 0, 2, collect_pending, &w3), 0);
    assert_int_equal(w3.n, 2);

    /* Attempted messages stay pending until delivered; delivering twice is harmless. */
    assert_int_equal(store_outbox_attempted(st, 1, 102), 0);
    assert_int_equal(store_outbox_delivered(st, id1, 103), 0);
    assert_int_equal(store_outbox_delivered(st, id1, 104), 0);
    assert_int_equal(store_outbox_delivered(st, "dbot-unknown", 104), 0);
    struct outbox_counts c;
    assert_int_equal(store_outbox_count(st, &c), 0);
    assert_int_equal(c.pending, 2);
    assert_int_equal(c.delivered, 1);
    struct pending_walk w4 = {0};
    assert_int_equal(store_outbox_each_pending(st, 0, 10, collect_pending, &w4), 0);
    assert_int_equal(w4.n, 2);
    assert_string_equal(w4.first_id, id2);

    bool seen = true;
    assert_int_equal(store_inbox_record(st, "room@muc/abc", 100, &seen), 0);
    assert_false(seen);
    assert_int_equal(store_inbox_record(st, "room@muc/abc", 101, &seen), 0);
    assert_true(seen);
    store_close(st);

    /* The outbox survives a reopen: nothing is lost across restarts. */
    st = open_store();
    struct pending_walk w5 = {0};
    assert_int_equal(store_outbox_each_pending(st, 0, 10, collect_pending, &w5), 0);
    assert_int_equal(w5.n, 2);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pragmas_and_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_every_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dealers_and_people, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complaint_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_and_inbox, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
