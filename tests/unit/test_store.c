/*
 * test_store.c — the store on a real SQLite file: pragmas, migrations from every older schema
 * to the head with data in place, dealers/people upserts, idempotent complaint insert,
 * listing filters, the timeline, transactions and the online backup; for schema 3 the
 * lifecycle changes on a complaint, the open-complaint walk, the /close dialogues and the
 * outbox message kinds; for schema 4 the SLA events (planned, due, fired once, cancelled),
 * the penalty catalogue and the dealers' ledgers; for schema 11 the SLA terms kept with a
 * complaint, and cancelled SLA events planned again (a rejected report); for schema 12 the
 * held SLA events; for schema 13 the directory changes that the daemon follows; for schema
 * 15 constraints that cost no temporary b-tree per row,
 * 16 the rooms' platform addresses,
 * 17 the appeals on ledger entries (standing, appealed, upheld, waived) and their history,
 * and the rewards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dealerbot/store.h"
#include "dealerbot/scorecard.h"
#include "store/store_int.h" /* the store's own connection, for its per-connection pragmas */

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

/* SLA terms as intake keeps them (schema 11). */
static struct sla_terms sample_terms(void)
{
    struct sla_terms t;
    memset(&t, 0, sizeof t);
    t.policy.ack_s = 12 * 3600;
    t.policy.solution_s = 5 * 86400;
    t.policy.close_s = 15 * 86400;
    t.policy.remind_before[0] = 7200;
    t.policy.remind_before[1] = 1800;
    t.policy.n_remind = 2;
    t.ladder[0].after_s = 0;
    snprintf(t.ladder[0].notify, sizeof t.ladder[0].notify, "dealer_managers");
    t.ladder[1].after_s = 4 * 3600;
    snprintf(t.ladder[1].notify, sizeof t.ladder[1].notify, "boss@example.com");
    t.n_ladder = 2;
    return t;
}

/* The value of `PRAGMA name` on db as text (a static buffer). */
static const char *pragma_text(sqlite3 *db, const char *name)
{
    static char out[64];
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA %s", name);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
}

static void test_pragmas_and_head(void **state)
{
    (void)state;
    struct store *st = open_store();
    int v = -1;
    assert_int_equal(store_schema_version(st, &v), 0);
    assert_int_equal(v, store_schema_head());

    /* WAL, foreign keys and FULL sync are what the durability promise rests on. The last two
     * are settings of a connection, not of the file: read them on the store's own. */
    assert_string_equal(pragma_text(st->db, "journal_mode"), "wal");
    assert_string_equal(pragma_text(st->db, "synchronous"), "2"); /* FULL */
    assert_string_equal(pragma_text(st->db, "foreign_keys"), "1");
    store_close(st);

    /* WAL is a property of the file: a plain connection finds it too (and, having set
     * nothing, neither FULL sync nor foreign keys — which is why they are checked above) */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_string_equal(pragma_text(db, "journal_mode"), "wal");
    assert_string_equal(pragma_text(db, "foreign_keys"), "0");
    sqlite3_close(db);
}

/* The position of the migration numbered 20 in the list (its number once 15..19 are merged
 * before it). */
#define SCHEMA_CHEAP_CHECKS 15

/* True when `sql` compiles to a program that builds a temporary b-tree (OpenEphemeral). */
static bool builds_temp_btree(sqlite3 *db, const char *sql)
{
    char explain[300];
    snprintf(explain, sizeof explain, "EXPLAIN %s", sql);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, explain, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", explain, sqlite3_errmsg(db));
    bool found = false;
    while (sqlite3_step(s) == SQLITE_ROW)
        if (strcmp((const char *)sqlite3_column_text(s, 1), "OpenEphemeral") == 0)
            found = true;
    sqlite3_finalize(s);
    return found;
}

/*
 * Schema 20: no table's constraints build a temporary b-tree for each row written (a CHECK
 * with an IN list of three or more values does, in SQLite 3.40: it made an intake's 18 SLA
 * events cost two thirds of its CPU). The constraints still refuse what they refused, a
 * connection opened before the migration sees the new schema, and the file is sound.
 */
static void test_schema_checks_cheap(void **state)
{
    (void)state;
    struct store *st = NULL;
    struct dbot_diag diag = {0};
    assert_int_equal(store_open_nomigrate(dbpath, &st, &diag), 0);
    assert_int_equal(store_migrate(st, SCHEMA_CHEAP_CHECKS - 1, &diag), 0);
    assert_true(builds_temp_btree(st->db, "INSERT INTO sla_events DEFAULT VALUES"));
    sqlite3 *other;
    assert_int_equal(sqlite3_open(dbpath, &other), SQLITE_OK);
    assert_true(builds_temp_btree(other, "INSERT INTO complaints DEFAULT VALUES"));
    assert_int_equal(store_migrate(st, -1, &diag), 0);

    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(st->db,
                                        "SELECT name FROM sqlite_schema WHERE type = 'table'"
                                        " AND name NOT LIKE 'sqlite_%'",
                                        -1, &s, NULL),
                     SQLITE_OK);
    int tables = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        char sql[200];
        snprintf(sql, sizeof sql, "INSERT INTO \"%s\" DEFAULT VALUES",
                 (const char *)sqlite3_column_text(s, 0));
        if (builds_temp_btree(st->db, sql))
            fail_msg("%s builds a temporary b-tree per statement", sql);
        tables++;
    }
    sqlite3_finalize(s);
    assert_true(tables >= 18);
    /* the other connection re-reads the schema at its next statement: the version moved */
    assert_int_equal(sqlite3_exec(other, "SELECT count(*) FROM complaints", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_false(builds_temp_btree(other, "INSERT INTO complaints DEFAULT VALUES"));
    assert_false(builds_temp_btree(other, "INSERT INTO sla_events DEFAULT VALUES"));
    sqlite3_close(other);

    add_dealer(st, "D001", "First");
    struct intake in = sample_intake("ext-c", "D001");
    int64_t id = 0;
    bool created = false;
    assert_int_equal(store_complaint_insert(st, &in, "default", &due, 1000, "test", &id,
                                            &created),
                     0);
    static const char *const refused[] = {
        "INSERT INTO people (jid, role, name, updated_at) VALUES ('x@y', 'boss', 'X', 1)",
        "UPDATE complaints SET priority = 'high'",
        "INSERT INTO outbox (created_at, channel, target, body, stanza_id, state)"
        " VALUES (1, 'group', 'r', 'b', 's1', 'lost')",
        "INSERT INTO sla_events (complaint_id, milestone, kind, level, due_at)"
        " VALUES (1, 'eta', 'remind', 0, 5)",
        "INSERT INTO sla_events (complaint_id, milestone, kind, level, due_at)"
        " VALUES (1, 'ack', 'nag', 0, 5)",
        "INSERT INTO sla_events (complaint_id, milestone, kind, level, due_at, state)"
        " VALUES (1, 'ack', 'remind', 0, 5, 'done')",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *msg = NULL;
        int rc = sqlite3_exec(st->db, refused[i], NULL, NULL, &msg);
        if (rc != SQLITE_CONSTRAINT)
            fail_msg("%s: %d %s", refused[i], rc, msg ? msg : "");
        sqlite3_free(msg);
    }
    static const char *const accepted[] = {
        "INSERT INTO people (jid, role, name, updated_at) VALUES ('x@y', 'admin', 'X', 1)",
        "UPDATE complaints SET priority = 'vip'",
        "INSERT INTO outbox (created_at, channel, target, body, stanza_id, state)"
        " VALUES (1, 'direct', 'r', 'b', 's1', 'failed')",
        "INSERT INTO sla_events (complaint_id, milestone, kind, level, due_at, state)"
        " VALUES (1, 'close', 'escalate', 1, 5, 'cancelled')",
    };
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        assert_int_equal(sqlite3_exec(st->db, accepted[i], NULL, NULL, NULL), SQLITE_OK);
    assert_string_equal(pragma_text(st->db, "integrity_check"), "ok");
    store_close(st);
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
            /* Schema 1 has dealers and complaints: put data in before migrating on. The
             * dealer row as that schema has it (today's upsert names later columns). */
            sqlite3 *raw;
            assert_int_equal(sqlite3_open(dbpath, &raw), SQLITE_OK);
            assert_int_equal(sqlite3_exec(raw,
                                          "INSERT INTO dealers (code, name, region, created_at,"
                                          " updated_at) VALUES ('D001', 'First', '', 1, 1);"
                                          "INSERT INTO complaints (external_id, dealer_code,"
                                          " category, priority, policy, customer_name,"
                                          " customer_phone, summary, received_at, created_at,"
                                          " updated_at, state, ack_due, solution_due, close_due)"
                                          " VALUES ('ext-1', 'D001', 'after-sales', 'normal',"
                                          " 'default', '张三', '13800000000', '空调异响', 2000,"
                                          " 2000, 2000, 'new', 45200, 433000, 1297000)",
                                          NULL, NULL, NULL),
                             SQLITE_OK);
            sqlite3_close(raw);
        }
        store_close(st);
        if (from >= 2) {
            /* Schema 2 has the outbox, without kinds: rows as the daemon wrote them then. */
            sqlite3 *db;
            assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
            assert_int_equal(
                sqlite3_exec(db,
                             "INSERT INTO outbox (created_at, complaint_id, channel, target, body,"
                             " stanza_id) VALUES"
                             " (2100, 1, 'group', 'dealer-d001', 'card', 'dbot-old-1'),"
                             " (2200, NULL, 'direct', 'li@example.com', 'hi', 'dbot-old-2')",
                             NULL, NULL, NULL),
                SQLITE_OK);
            sqlite3_close(db);
        }

        st = open_store(); /* migrates to head */
        assert_int_equal(store_schema_version(st, &v), 0);
        assert_int_equal(v, store_schema_head());
        if (from >= 1) {
            struct complaint c;
            assert_int_equal(store_complaint_get(st, 1, &c), 0);
            assert_string_equal(c.external_id, "ext-1");
            assert_string_equal(c.summary, "空调异响");
            /* The columns schema 3 added read as "not yet" on an old row. */
            assert_null(c.eta);
            assert_null(c.solution);
            assert_null(c.cause);
            assert_null(c.fix);
            assert_null(c.prevent);
            assert_int_equal(c.report_at, 0);
            assert_int_equal(c.reopened, 0);
            assert_int_equal(c.rejected, 0);
            complaint_cleanup(&c);

            /* The counters start at 0, not NULL: an old row counts like a new one. */
            struct complaint_change reopen = {.from = STATE_NEW, .to = STATE_NEW,
                                              .count_reopen = true, .count_reject = true};
            assert_int_equal(store_complaint_change(st, 1, &reopen, 3000), 0);
            assert_int_equal(store_complaint_get(st, 1, &c), 0);
            assert_int_equal(c.reopened, 1);
            assert_int_equal(c.rejected, 1);
            complaint_cleanup(&c);

            struct dialogue d;
            assert_int_equal(store_dialogue_get(st, "li@example.com", &d), DBOT_ERR_NOTFOUND);

            /* Schema 4: an old dealer has no business calendar of its own (NULL: the
             * configured sla.calendar applies), and the rest of its row is as it was. */
            struct dealer dl;
            assert_int_equal(store_dealer_get(st, "d001", &dl), 0);
            assert_string_equal(dl.code, "D001");
            assert_string_equal(dl.name, "First");
            assert_int_equal(dl.sales_volume, -1);
            assert_null(dl.timezone);
            assert_null(dl.calendar);
            dealer_cleanup(&dl);

            /* Schema 13: the directory's history starts with it; rows from before need no
             * sync (the daemon syncs every room at start), new writes are recorded. */
            int64_t dv = -1, dv0 = -1;
            assert_int_equal(store_directory_version(st, &dv0), 0);
            assert_int_equal(dv0, from >= 13 ? 1 : 0); /* the dealer inserted above */
            struct person np = {.jid = (char *)"new@example.com", .dealer = (char *)"D001",
                                .role = ROLE_AGENT, .name = (char *)"N",
                                .language = (char *)"en"};
            assert_int_equal(store_person_upsert(st, &np), 0);
            assert_int_equal(store_directory_version(st, &dv), 0);
            assert_int_equal(dv, dv0 + 1);

            /* The SLA events and the ledger start empty and take rows about old data. */
            int64_t next = -1, pts = -1;
            assert_int_equal(store_sla_next(st, &next), DBOT_ERR_NOTFOUND);
            struct sla_event ev = {.milestone = MS_ACK, .kind = SLA_BREACH, .due_at = 45200};
            assert_int_equal(store_sla_add(st, 1, &ev), 0);
            assert_int_equal(store_sla_next(st, &next), 0);
            assert_int_equal(next, 45200);
            assert_int_equal(store_penalty_total(st, "D001", 0, &pts), 0);
            assert_int_equal(pts, 0);
            assert_int_equal(store_penalty_add(st, "d001", "SLA-ACK", 2, 1, NULL, "bot", 46000),
                             0);
            assert_int_equal(store_penalty_total(st, "D001", 0, &pts), 0);
            assert_int_equal(pts, 2);

            /* Schema 21: an entry from before stands and may be appealed once, then waived. */
            struct penalty_head ph;
            assert_int_equal(store_penalty_get(st, 1, &ph), 0);
            assert_string_equal(ph.state, "standing");
            assert_int_equal(store_penalty_appeal(st, 1, "r", "m@example.com", 46100), 0);
            assert_int_equal(store_penalty_decide(st, 1, true, "w", "s@example.com", 46200), 0);
            assert_int_equal(store_penalty_total(st, "D001", 0, &pts), 0);
            assert_int_equal(pts, 0);
            /* and the rewards start empty and take rows about old complaints */
            assert_int_equal(store_reward_total(st, "D001", 0, &pts), 0);
            assert_int_equal(pts, 0);
            assert_int_equal(store_reward_add(st, "D001", "commend", 2, 1, "n", "b", 46300), 0);
            assert_int_equal(store_reward_total(st, "D001", 0, &pts), 0);
            assert_int_equal(pts, 2);

            /* Schema 11: an old complaint has no SLA terms kept (the engine then plans from
             * the config as it is) and takes some. */
            struct sla_terms terms;
            assert_int_equal(store_complaint_terms_get(st, 1, &terms), DBOT_ERR_NOTFOUND);
            terms = sample_terms();
            assert_int_equal(store_complaint_terms_set(st, 1, &terms), 0);
            memset(&terms, 0, sizeof terms);
            assert_int_equal(store_complaint_terms_get(st, 1, &terms), 0);
            assert_int_equal(terms.policy.close_s, 15 * 86400);
            assert_int_equal(terms.n_ladder, 2);
        }
        if (from >= 2) {
            /* Old messages are replies: none of them notifies its complaint when delivered. */
            int64_t cid = -1;
            char kind[16] = "";
            assert_int_equal(store_outbox_find(st, "dbot-old-1", &cid, kind, sizeof kind), 0);
            assert_int_equal(cid, 1);
            assert_string_equal(kind, "reply");
            assert_int_equal(store_outbox_find(st, "dbot-old-2", &cid, kind, sizeof kind), 0);
            assert_int_equal(cid, 0);
            assert_string_equal(kind, "reply");
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

/* ---- schema 13: directory changes ---- */

struct seen_changes {
    char scopes[8][16];
    int64_t versions[8];
    int n;
};

static int note_change(const char *scope, int64_t version, void *arg)
{
    struct seen_changes *c = arg;
    if (c->n == 8)
        return 1;
    snprintf(c->scopes[c->n], sizeof c->scopes[0], "%s", scope);
    c->versions[c->n++] = version;
    return 0;
}

/* The changes after `after`, as "SCOPE SCOPE ..." in version order. */
static const char *changes_after(struct store *st, int64_t after, char *buf, size_t len)
{
    struct seen_changes c = {0};
    assert_int_equal(store_directory_changes(st, after, 0, note_change, &c), 0);
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < c.n; i++) {
        if (i)
            assert_true(c.versions[i] > c.versions[i - 1]);
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "", c.scopes[i]);
    }
    return buf;
}

static void test_directory_changes(void **state)
{
    (void)state;
    struct store *st = open_store();
    char buf[256];
    int64_t v0 = -1, v = -1;
    assert_int_equal(store_directory_version(st, &v0), 0);
    assert_int_equal(v0, 0);

    /* a new dealer, a new person of it, a new brand staff member: each scope once */
    add_dealer(st, "D001", "First");
    add_dealer(st, "D002", "Second");
    struct person li = {.jid = (char *)"li@example.com", .dealer = (char *)"D001",
                        .role = ROLE_AGENT, .name = (char *)"李", .language = (char *)"zh-CN"};
    assert_int_equal(store_person_upsert(st, &li), 0);
    assert_int_equal(store_directory_version(st, &v), 0);
    assert_true(v > v0);
    /* D001 was touched again by li: it now comes after D002 */
    assert_string_equal(changes_after(st, v0, buf, sizeof buf), "D002 D001");
    struct person boss = {.jid = (char *)"boss@example.com", .dealer = NULL,
                          .role = ROLE_SUPERVISOR, .name = (char *)"Boss",
                          .language = (char *)"en"};
    assert_int_equal(store_person_upsert(st, &boss), 0);
    assert_string_equal(changes_after(st, v, buf, sizeof buf), "brand");
    assert_int_equal(store_directory_version(st, &v), 0);

    /* what the rooms do not depend on changes nothing: the same rows again, a new region, a
     * new role or language */
    add_dealer(st, "d001", "First");
    li.role = ROLE_MANAGER;
    li.language = (char *)"en";
    assert_int_equal(store_person_upsert(st, &li), 0);
    assert_string_equal(changes_after(st, v, buf, sizeof buf), "");

    /* a rename changes the room's title; a move changes two rooms */
    add_dealer(st, "D002", "Second renamed");
    assert_string_equal(changes_after(st, v, buf, sizeof buf), "D002");
    assert_int_equal(store_directory_version(st, &v), 0);
    li.dealer = (char *)"D002";
    assert_int_equal(store_person_upsert(st, &li), 0);
    assert_string_equal(changes_after(st, v, buf, sizeof buf), "D001 D002");
    assert_int_equal(store_directory_version(st, &v), 0);

    /* another process on the same file (the CLI import) is seen by this connection; a
     * person leaving the brand staff for a dealer changes every room ('brand') */
    sqlite3 *other;
    assert_int_equal(sqlite3_open(dbpath, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other,
                                  "UPDATE people SET dealer_code = 'D001'"
                                  " WHERE jid = 'boss@example.com';"
                                  "DELETE FROM people WHERE jid = 'li@example.com'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(other);
    assert_string_equal(changes_after(st, v, buf, sizeof buf), "brand D001 D002");

    /* a write that is rolled back leaves no trace */
    assert_int_equal(store_directory_version(st, &v), 0);
    assert_int_equal(store_begin(st), 0);
    add_dealer(st, "D003", "Third");
    store_rollback(st);
    int64_t after = -1;
    assert_int_equal(store_directory_version(st, &after), 0);
    assert_int_equal(after, v);
    /* one row per scope, whatever the history */
    struct seen_changes all = {0};
    assert_int_equal(store_directory_changes(st, 0, 0, note_change, &all), 0);
    assert_int_equal(all.n, 3);
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

    /* Pruning by age, oldest first, in bounded steps: what is forgotten can be recorded
     * anew; what is younger stays a duplicate. */
    char key[32];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "old-%d", i);
        assert_int_equal(store_inbox_record(st, key, 200 + i, &seen), 0);
    }
    assert_int_equal(store_inbox_record(st, "young", 900, &seen), 0);
    int deleted = -1;
    assert_int_equal(store_inbox_prune(st, 203, 2, &deleted), 0);
    assert_int_equal(deleted, 2); /* room@muc/abc (100) and old-0 (200) */
    assert_int_equal(store_inbox_record(st, "room@muc/abc", 950, &seen), 0);
    assert_false(seen);
    assert_int_equal(store_inbox_record(st, "old-1", 201, &seen), 0);
    assert_true(seen);
    assert_int_equal(store_inbox_prune(st, 500, 0, &deleted), 0);
    assert_int_equal(deleted, 4); /* old-1 .. old-4 */
    assert_int_equal(store_inbox_prune(st, 500, 0, &deleted), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(store_inbox_record(st, "young", 990, &seen), 0);
    assert_true(seen);
    store_close(st);

    /* The outbox survives a reopen: nothing is lost across restarts. */
    st = open_store();
    struct pending_walk w5 = {0};
    assert_int_equal(store_outbox_each_pending(st, 0, 10, collect_pending, &w5), 0);
    assert_int_equal(w5.n, 2);
    store_close(st);
}

static int64_t insert_complaint(struct store *st, const char *ext, const char *dealer)
{
    struct intake in = sample_intake(ext, dealer);
    int64_t id = 0;
    bool created;
    assert_int_equal(store_complaint_insert(st, &in, "default", &due, 2000, "api", &id, &created),
                     0);
    assert_true(created);
    return id;
}

static void test_complaint_change(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    int64_t id = insert_complaint(st, "crm-1", "D001");
    struct complaint c;

    /* A bare state change touches the state and updated_at only. */
    struct complaint_change notify = {.from = STATE_NEW, .to = STATE_NOTIFIED};
    assert_int_equal(store_complaint_change(st, id, &notify, 2500), 0);
    assert_int_equal(store_complaint_get(st, id, &c), 0);
    assert_int_equal(c.state, STATE_NOTIFIED);
    assert_int_equal(c.updated_at, 2500);
    assert_int_equal(c.created_at, 2000);
    assert_null(c.owner);
    assert_null(c.eta);
    assert_null(c.solution);
    assert_null(c.cause);
    assert_int_equal(c.ack_at, 0);
    assert_int_equal(c.solution_at, 0);
    assert_int_equal(c.report_at, 0);
    assert_int_equal(c.closed_at, 0);
    assert_int_equal(c.due.close_due, due.close_due);
    assert_int_equal(c.reopened, 0);
    assert_int_equal(c.rejected, 0);
    complaint_cleanup(&c);

    struct complaint_change ack = {.from = STATE_NOTIFIED, .to = STATE_ACKNOWLEDGED,
                                   .owner = "li@example.com", .eta = "2024-05-01",
                                   .ack_at = 3000};
    assert_int_equal(store_complaint_change(st, id, &ack, 3000), 0);
    assert_int_equal(store_complaint_get(st, id, &c), 0);
    assert_int_equal(c.state, STATE_ACKNOWLEDGED);
    assert_string_equal(c.owner, "li@example.com");
    assert_string_equal(c.eta, "2024-05-01");
    assert_int_equal(c.ack_at, 3000);
    assert_null(c.solution);
    assert_int_equal(c.solution_at, 0);
    complaint_cleanup(&c);

    struct complaint_change plan = {.from = STATE_ACKNOWLEDGED, .to = STATE_SOLUTION_AGREED,
                                    .solution = "更换压缩机", .solution_at = 4000};
    assert_int_equal(store_complaint_change(st, id, &plan, 4000), 0);
    assert_int_equal(store_complaint_get(st, id, &c), 0);
    assert_int_equal(c.state, STATE_SOLUTION_AGREED);
    assert_string_equal(c.solution, "更换压缩机");
    assert_int_equal(c.solution_at, 4000);
    assert_string_equal(c.owner, "li@example.com"); /* NULL in the change: kept */
    assert_string_equal(c.eta, "2024-05-01");
    assert_int_equal(c.ack_at, 3000);
    complaint_cleanup(&c);

    struct complaint_change report = {.from = STATE_SOLUTION_AGREED, .to = STATE_REPORT_SUBMITTED,
                                      .cause = "风扇松动", .fix = "紧固", .prevent = "出厂检查",
                                      .report_at = 5000};
    assert_int_equal(store_complaint_change(st, id, &report, 5000), 0);
    assert_int_equal(store_complaint_get(st, id, &c), 0);
    assert_int_equal(c.state, STATE_REPORT_SUBMITTED);
    assert_string_equal(c.cause, "风扇松动");
    assert_string_equal(c.fix, "紧固");
    assert_string_equal(c.prevent, "出厂检查");
    assert_int_equal(c.report_at, 5000);
    assert_string_equal(c.solution, "更换压缩机");
    assert_int_equal(c.solution_at, 4000);
    complaint_cleanup(&c);

    /* Rejecting a report counts it; the report stays on record until the next one. */
    struct complaint_change reject = {.from = STATE_REPORT_SUBMITTED,
                                      .to = STATE_SOLUTION_AGREED, .count_reject = true};
    assert_int_equal(store_complaint_change(st, id, &reject, 5100), 0);
    assert_int_equal(store_complaint_get(st, id, &c), 0);
    assert_int_equal(c.state, STATE_SOLUTION_AGREED);
    assert_int_equal(c.rejected, 1);
    assert_int_equal(c.reopened, 0);
    assert_string_equal(c.cause, "风扇松动");
    assert_int_equal(c.report_at, 5000);
    complaint_cleanup(&c);

    /* A second report replaces only what it gives. */
    struct complaint_change report2 = {.from = STATE_SOLUTION_AGREED,
                                       .to = STATE_REPORT_SUBMITTED, .cause = "线束磨损",
                                       .report_at = 5500};
    assert_int_equal(store_complaint_change(st, id, &report2, 5500), 0);
    struct complaint_change close = {.from = STATE_REPORT_SUBMITTED, .to = STATE_CLOSED,
                                     .closed_at = 6000};
    assert_int_equal(store_complaint_change(st, id, &close, 6000), 0);
    assert_int_equal(store_complaint_get(st, id, &c), 0);
    assert_int_equal(c.state, STATE_CLOSED);
    assert_int_equal(c.closed_at, 6000);
    assert_string_equal(c.cause, "线束磨损");
    assert_string_equal(c.fix, "紧固");
    assert_string_equal(c.prevent, "出厂检查");
    assert_int_equal(c.report_at, 5500);
    assert_int_equal(c.rejected, 1);
    complaint_cleanup(&c);

    /* With neither closed_at nor clear_closed, closed_at and close_due stay. */
    struct complaint_change reassign = {.from = STATE_CLOSED, .to = STATE_CLOSED,
                                        .owner = "wang@example.com"};
    assert_int_equal(store_complaint_change(st, id, &reassign, 6100), 0);
    assert_int_equal(store_complaint_get(st, id, &c), 0);
    assert_string_equal(c.owner, "wang@example.com");
    assert_int_equal(c.closed_at, 6000);
    assert_int_equal(c.due.close_due, due.close_due);
    complaint_cleanup(&c);

    /* Reopen: closed_at back to NULL, a new close deadline, counted; the rest stays. */
    struct complaint_change reopen = {.from = STATE_CLOSED, .to = STATE_SOLUTION_AGREED,
                                      .clear_closed = true, .close_due = 90000,
                                      .count_reopen = true};
    assert_int_equal(store_complaint_change(st, id, &reopen, 7000), 0);
    assert_int_equal(store_complaint_get(st, id, &c), 0);
    assert_int_equal(c.state, STATE_SOLUTION_AGREED);
    assert_int_equal(c.closed_at, 0);
    assert_int_equal(c.due.close_due, 90000);
    assert_int_equal(c.due.ack_due, due.ack_due);
    assert_int_equal(c.due.solution_due, due.solution_due);
    assert_int_equal(c.reopened, 1);
    assert_int_equal(c.rejected, 1);
    assert_int_equal(c.ack_at, 3000);
    assert_int_equal(c.solution_at, 4000);
    assert_int_equal(c.report_at, 5500);
    assert_int_equal(c.updated_at, 7000);
    complaint_cleanup(&c);

    /* A decision made on a state the complaint has left changes nothing. */
    struct complaint_change stale = {.from = STATE_CLOSED, .to = STATE_CANCELLED,
                                     .owner = "ghost@example.com", .eta = "2030-01-01",
                                     .closed_at = 8000, .count_reopen = true,
                                     .count_reject = true};
    assert_int_equal(store_complaint_change(st, id, &stale, 8000), DBOT_ERR_CONFLICT);
    assert_int_equal(store_complaint_get(st, id, &c), 0);
    assert_int_equal(c.state, STATE_SOLUTION_AGREED);
    assert_string_equal(c.owner, "wang@example.com");
    assert_string_equal(c.eta, "2024-05-01");
    assert_int_equal(c.closed_at, 0);
    assert_int_equal(c.reopened, 1);
    assert_int_equal(c.rejected, 1);
    assert_int_equal(c.updated_at, 7000);
    complaint_cleanup(&c);

    assert_int_equal(store_complaint_change(st, id + 100, &notify, 8000), DBOT_ERR_NOTFOUND);

    /* Inside an open transaction the change is part of it. */
    assert_int_equal(store_begin(st), 0);
    struct complaint_change cancel = {.from = STATE_SOLUTION_AGREED, .to = STATE_CANCELLED,
                                      .closed_at = 9000};
    assert_int_equal(store_complaint_change(st, id, &cancel, 9000), 0);
    store_rollback(st);
    assert_int_equal(store_complaint_get(st, id, &c), 0);
    assert_int_equal(c.state, STATE_SOLUTION_AGREED);
    assert_int_equal(c.closed_at, 0);
    complaint_cleanup(&c);
    store_close(st);
}

static void set_state(struct store *st, int64_t id, enum complaint_state to)
{
    struct complaint_change ch = {.from = STATE_NEW, .to = to};
    assert_int_equal(store_complaint_change(st, id, &ch, 3000), 0);
}

static void test_complaint_each_open(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    add_dealer(st, "D002", "Second");
    /* ids 1..6; D001: 1 3 5, D002: 2 4 6. The states are chosen so that neither the state
     * order nor the (dealer, state) index order is the id order. */
    char ext[16];
    for (int i = 0; i < 6; i++) {
        snprintf(ext, sizeof ext, "e%d", i);
        insert_complaint(st, ext, i % 2 ? "D002" : "D001");
    }
    set_state(st, 1, STATE_SOLUTION_AGREED);
    set_state(st, 2, STATE_REPORT_SUBMITTED);
    set_state(st, 3, STATE_CLOSED);
    set_state(st, 4, STATE_CANCELLED);
    set_state(st, 5, STATE_ACKNOWLEDGED);
    /* 6 stays new */

    /* Open ones by the deadline each works towards (all were received together): 6 (new:
     * ack), 5 (acknowledged: solution), then 1 and 2 (close), ties by id. */
    int64_t ids[8] = {0};
    assert_int_equal(store_complaint_each_open(st, NULL, 0, collect_ids, ids), 0);
    assert_int_equal(ids[0], 4);
    assert_int_equal(ids[1], 6);
    assert_int_equal(ids[2], 5);
    assert_int_equal(ids[3], 1);
    assert_int_equal(ids[4], 2);

    memset(ids, 0, sizeof ids);
    assert_int_equal(store_complaint_each_open(st, "D001", 0, collect_ids, ids), 0);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 5);
    assert_int_equal(ids[2], 1);

    /* the dealer code matches in any case, as everywhere else */
    memset(ids, 0, sizeof ids);
    assert_int_equal(store_complaint_each_open(st, "d001", 0, collect_ids, ids), 0);
    assert_int_equal(ids[0], 2);

    memset(ids, 0, sizeof ids);
    assert_int_equal(store_complaint_each_open(st, "D002", -1, collect_ids, ids), 0);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 6);
    assert_int_equal(ids[2], 2);

    memset(ids, 0, sizeof ids);
    assert_int_equal(store_complaint_each_open(st, NULL, 2, collect_ids, ids), 0);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 6);
    assert_int_equal(ids[2], 5);

    memset(ids, 0, sizeof ids);
    assert_int_equal(store_complaint_each_open(st, "D404", 0, collect_ids, ids), 0);
    assert_int_equal(ids[0], 0);
    store_close(st);
}

static void test_dialogues(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    int64_t id1 = insert_complaint(st, "crm-1", "D001");
    int64_t id2 = insert_complaint(st, "crm-2", "D001");

    /* NOTFOUND leaves *out as it was. */
    struct dialogue d = {.complaint_id = 77};
    assert_int_equal(store_dialogue_get(st, "li@example.com", &d), DBOT_ERR_NOTFOUND);
    assert_int_equal(d.complaint_id, 77);

    struct dialogue put = {.complaint_id = id1, .cause = (char *)"风扇松动"};
    assert_int_equal(store_dialogue_put(st, "li@example.com", &put, 3000), 0);
    assert_int_equal(store_dialogue_get(st, "li@example.com", &d), 0);
    assert_int_equal(d.complaint_id, id1);
    assert_string_equal(d.cause, "风扇松动");
    assert_null(d.fix);
    assert_null(d.prevent);
    dialogue_cleanup(&d);

    /* A second put replaces every field, a NULL one included. */
    struct dialogue put2 = {.complaint_id = id1, .fix = (char *)"紧固", .prevent = (char *)"检查"};
    assert_int_equal(store_dialogue_put(st, "li@example.com", &put2, 3100), 0);
    assert_int_equal(store_dialogue_get(st, "li@example.com", &d), 0);
    assert_int_equal(d.complaint_id, id1);
    assert_null(d.cause);
    assert_string_equal(d.fix, "紧固");
    assert_string_equal(d.prevent, "检查");
    dialogue_cleanup(&d);

    struct dialogue put3 = {.complaint_id = id2, .cause = (char *)"c", .fix = (char *)"f",
                            .prevent = (char *)"p"};
    assert_int_equal(store_dialogue_put(st, "li@example.com", &put3, 3200), 0);
    struct dialogue other = {.complaint_id = id1};
    assert_int_equal(store_dialogue_put(st, "wang@example.com", &other, 3200), 0);
    assert_int_equal(store_dialogue_get(st, "li@example.com", &d), 0);
    assert_int_equal(d.complaint_id, id2);
    assert_string_equal(d.cause, "c");
    assert_string_equal(d.fix, "f");
    assert_string_equal(d.prevent, "p");
    /* cleanup frees and zeroes; a second cleanup and NULL are harmless. */
    dialogue_cleanup(&d);
    assert_int_equal(d.complaint_id, 0);
    assert_null(d.cause);
    assert_null(d.fix);
    assert_null(d.prevent);
    dialogue_cleanup(&d);
    dialogue_cleanup(NULL);

    /* One dialogue per person: deleting one leaves the other. */
    assert_int_equal(store_dialogue_delete(st, "li@example.com"), 0);
    assert_int_equal(store_dialogue_get(st, "li@example.com", &d), DBOT_ERR_NOTFOUND);
    assert_int_equal(store_dialogue_delete(st, "li@example.com"), 0);
    assert_int_equal(store_dialogue_get(st, "wang@example.com", &d), 0);
    assert_int_equal(d.complaint_id, id1);
    assert_null(d.cause);
    dialogue_cleanup(&d);

    /* A dialogue is about a stored complaint. */
    struct dialogue ghost = {.complaint_id = 999};
    assert_int_not_equal(store_dialogue_put(st, "g@example.com", &ghost, 3300), 0);
    store_close(st);

    /* Dialogues survive a restart. */
    st = open_store();
    assert_int_equal(store_dialogue_get(st, "wang@example.com", &d), 0);
    assert_int_equal(d.complaint_id, id1);
    dialogue_cleanup(&d);
    store_close(st);
}

/* The stored state and attempts of one message, read past the store's API. */
static void outbox_row_state(const char *msg_id, char *state_out, size_t len, int *attempts)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    const char *sql = "SELECT state, attempts FROM outbox WHERE stanza_id = ?1";
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, msg_id, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(state_out, len, "%s", (const char *)sqlite3_column_text(s, 0));
    *attempts = sqlite3_column_int(s, 1);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void test_outbox_kinds(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    int64_t id = insert_complaint(st, "crm-1", "D001");
    char card[OUTBOX_ID_MAX], reply[OUTBOX_ID_MAX];
    assert_int_equal(store_outbox_add(st, id, true, "dealer-d001", "卡片", "card", 100, card), 0);
    assert_int_equal(store_outbox_add(st, 0, false, "li@example.com", "hi", NULL, 100, reply), 0);

    int64_t cid = -1;
    char kind[16] = "";
    assert_int_equal(store_outbox_find(st, card, &cid, kind, sizeof kind), 0);
    assert_int_equal(cid, id);
    assert_string_equal(kind, "card");
    assert_int_equal(store_outbox_find(st, reply, &cid, kind, sizeof kind), 0);
    assert_int_equal(cid, 0);
    assert_string_equal(kind, "reply");
    /* kind is bounded by kind_len. */
    char small[3];
    assert_int_equal(store_outbox_find(st, card, &cid, small, sizeof small), 0);
    assert_string_equal(small, "ca");

    cid = -1;
    snprintf(kind, sizeof kind, "untouched");
    assert_int_equal(store_outbox_find(st, "dbot-unknown", &cid, kind, sizeof kind),
                     DBOT_ERR_NOTFOUND);
    assert_int_equal(cid, -1);
    assert_string_equal(kind, "untouched");

    /* An attempt on a pending message marks it sent; it is still pending delivery. */
    struct pending_walk w = {0};
    assert_int_equal(store_outbox_each_pending(st, 0, 10, collect_pending, &w), 0);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.first_id, card);
    int64_t card_rowid = w.last_rowid - 1;
    char row_state[16];
    int attempts = -1;
    assert_int_equal(store_outbox_attempted(st, card_rowid, 101), 0);
    outbox_row_state(card, row_state, sizeof row_state, &attempts);
    assert_string_equal(row_state, "sent");
    assert_int_equal(attempts, 1);

    /* The receipt can overtake the attempt's bookkeeping (a resend after a reconnect): the
     * attempt is counted, but a delivered message never goes back to 'sent'. */
    assert_int_equal(store_outbox_delivered(st, card, 102), 0);
    assert_int_equal(store_outbox_attempted(st, card_rowid, 103), 0);
    outbox_row_state(card, row_state, sizeof row_state, &attempts);
    assert_string_equal(row_state, "delivered");
    assert_int_equal(attempts, 2);
    struct outbox_counts counts;
    assert_int_equal(store_outbox_count(st, &counts), 0);
    assert_int_equal(counts.delivered, 1);
    assert_int_equal(counts.pending, 1);
    struct pending_walk w2 = {0};
    assert_int_equal(store_outbox_each_pending(st, 0, 10, collect_pending, &w2), 0);
    assert_int_equal(w2.n, 1);
    assert_string_equal(w2.first_id, reply);

    /* The kind is kept after delivery: the receipt is what looks it up. */
    assert_int_equal(store_outbox_find(st, card, &cid, kind, sizeof kind), 0);
    assert_int_equal(cid, id);
    assert_string_equal(kind, "card");
    store_close(st);
}

/* ---- schema 16: room addresses ---- */

static int note_room(const char *room, const char *address, void *arg)
{
    char *buf = arg;
    size_t n = strlen(buf);
    snprintf(buf + n, 256 - n, "%s%s=%s", n ? " " : "", room, address);
    return 0;
}

static void test_room_addresses(void **state)
{
    (void)state;
    struct store *st = open_store();
    char buf[256] = "", *a = NULL;
    int64_t v0 = -1, v = -1;
    assert_int_equal(store_room_address_get(st, "dealer-d001", &a), DBOT_ERR_NOTFOUND);
    assert_int_equal(store_directory_version(st, &v0), 0);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_room_address_set(st, "dealer-d001", "cid-1", 100), 0);
    assert_int_equal(store_room_address_set(st, "brand-service", "cid-2", 100), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_room_address_get(st, "DEALER-D001", &a), 0); /* any case */
    assert_string_equal(a, "cid-1");
    free(a);
    /* a mapping is a directory change of every room */
    assert_int_equal(store_directory_version(st, &v), 0);
    assert_true(v > v0);
    assert_string_equal(changes_after(st, v0, buf, sizeof buf), "brand");
    /* the same again changes nothing; a group moving to another room leaves the first */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_room_address_set(st, "dealer-d001", "cid-1", 200), 0);
    assert_int_equal(store_commit(st), 0);
    assert_string_equal(changes_after(st, v, buf, sizeof buf), "");
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_room_address_set(st, "underperformers", "cid-1", 300), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_room_address_get(st, "dealer-d001", &a), DBOT_ERR_NOTFOUND);
    buf[0] = '\0';
    assert_int_equal(store_room_address_each(st, note_room, buf), 0);
    assert_string_equal(buf, "brand-service=cid-2 underperformers=cid-1");
    store_close(st);
}

/* ---- schema 4: SLA events ---- */

/* What an SLA walk saw, copied out of the borrowed rows. */
struct sla_seen {
    int n;
    int stop_after; /* > 0: the callback returns 7 after that many rows */
    struct {
        int64_t id, complaint_id, due_at, fired_at;
        enum sla_milestone milestone;
        enum sla_kind kind;
        int level;
        bool late;
        char notify[64];
        char state[16];
    } row[16];
};

static int collect_sla(const struct sla_row *r, void *arg)
{
    struct sla_seen *w = arg;
    assert_true(w->n < 16);
    assert_non_null(r->notify);
    assert_non_null(r->state);
    w->row[w->n].id = r->id;
    w->row[w->n].complaint_id = r->complaint_id;
    w->row[w->n].due_at = r->due_at;
    w->row[w->n].fired_at = r->fired_at;
    w->row[w->n].milestone = r->milestone;
    w->row[w->n].kind = r->kind;
    w->row[w->n].level = r->level;
    w->row[w->n].late = r->late;
    snprintf(w->row[w->n].notify, sizeof w->row[w->n].notify, "%s", r->notify);
    snprintf(w->row[w->n].state, sizeof w->row[w->n].state, "%s", r->state);
    w->n++;
    return w->stop_after > 0 && w->n >= w->stop_after ? 7 : 0;
}

static void add_sla(struct store *st, int64_t complaint_id, enum sla_milestone m,
                    enum sla_kind k, int level, int64_t due_at, const char *notify)
{
    struct sla_event ev = {.milestone = m, .kind = k, .level = level, .due_at = due_at};
    snprintf(ev.notify, sizeof ev.notify, "%s", notify);
    assert_int_equal(store_sla_add(st, complaint_id, &ev), 0);
}

/* Every event of complaint `cid`, as store_sla_each reads them. */
static struct sla_seen sla_of(struct store *st, int64_t cid)
{
    struct sla_seen w = {0};
    assert_int_equal(store_sla_each(st, cid, collect_sla, &w), 0);
    return w;
}

static int sla_find(const struct sla_seen *w, int64_t id)
{
    for (int i = 0; i < w->n; i++)
        if (w->row[i].id == id)
            return i;
    fail_msg("sla event %lld not walked", (long long)id);
    return -1;
}

/* Schema 12: an event whose firing failed is held back (1 min, then 2, 4, ... up to 1 h);
 * the due walk skips it meanwhile, the next due time is the earliest of the other events and
 * the end of the hold, and a savepoint undoes one event's writes without ending the batch. */
static void test_sla_holds(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    int64_t c1 = insert_complaint(st, "crm-1", "D001");
    add_sla(st, c1, MS_ACK, SLA_REMIND, 0, 100, ""); /* 1: the one that fails */
    add_sla(st, c1, MS_ACK, SLA_BREACH, 0, 200, ""); /* 2 */

    int64_t next = -1, held = -1;
    assert_int_equal(store_sla_hold(st, 1, 150, "no such row"), 0);
    assert_int_equal(store_sla_held(st, &held), 0);
    assert_int_equal(held, 1);
    assert_int_equal(store_sla_next(st, &next), 0);
    assert_int_equal(next, 200); /* event 2 comes before the hold's end (210) */
    struct sla_seen w = {0};
    assert_int_equal(store_sla_each_due(st, 205, 10, collect_sla, &w), 0);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.row[0].id, 2);
    memset(&w, 0, sizeof w);
    assert_int_equal(store_sla_each_due(st, 210, 10, collect_sla, &w), 0);
    assert_int_equal(w.n, 2); /* the hold is over: both, the failed one first */
    assert_int_equal(w.row[0].id, 1);

    /* Event 2 fires; the next is the end of event 1's hold. A second failure holds 2 min. */
    bool done = false;
    assert_int_equal(store_sla_fire(st, 2, 210, true, false, &done), 0);
    assert_true(done);
    assert_int_equal(store_sla_next(st, &next), 0);
    assert_int_equal(next, 210);
    assert_int_equal(store_sla_hold(st, 1, 215, "no such row"), 0);
    assert_int_equal(store_sla_next(st, &next), 0);
    assert_int_equal(next, 215 + 120);

    /* The overdue count still has it: the watchdog keeps reporting a held event. */
    int64_t count = -1, earliest = -1;
    assert_int_equal(store_sla_overdue(st, 1000, &count, &earliest), 0);
    assert_int_equal(count, 1);
    assert_int_equal(earliest, 100);

    /* A savepoint undone keeps the transaction; one kept is committed with it. */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(store_sla_unhold(st, 1), 0);
    assert_int_equal(store_savepoint_end(st, false), 0);
    assert_true(store_in_transaction(st));
    assert_int_equal(store_savepoint_end(st, false), DBOT_ERR_INTERNAL); /* none open */
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_sla_held(st, &held), 0);
    assert_int_equal(held, 1);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(store_sla_unhold(st, 1), 0);
    assert_int_equal(store_savepoint_end(st, true), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_sla_held(st, &held), 0);
    assert_int_equal(held, 0);
    assert_int_equal(store_sla_next(st, &next), 0);
    assert_int_equal(next, 100);
    store_close(st);
}

static void test_sla_events(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    int64_t c1 = insert_complaint(st, "crm-1", "D001");
    int64_t c2 = insert_complaint(st, "crm-2", "D001");

    /* Nothing planned yet. */
    int64_t next = -1, count = -1, earliest = -1;
    assert_int_equal(store_sla_next(st, &next), DBOT_ERR_NOTFOUND);
    assert_int_equal(next, -1);
    assert_int_equal(store_sla_overdue(st, 1000000, &count, &earliest), 0);
    assert_int_equal(count, 0);
    assert_int_equal(earliest, 0);
    struct sla_seen w = {0};
    assert_int_equal(store_sla_each_due(st, 1000000, 10, collect_sla, &w), 0);
    assert_int_equal(w.n, 0);

    /* Every milestone and kind; ids 1..7 in this order (a new table). Added out of due order,
     * with a tie on due (2 and 4) broken by id. */
    add_sla(st, c1, MS_ACK, SLA_REMIND, 0, 5000, "");                            /* 1 */
    add_sla(st, c1, MS_ACK, SLA_BREACH, 0, 6000, "");                            /* 2 */
    add_sla(st, c1, MS_ACK, SLA_ESCALATE, 1, 7000, "manager");                   /* 3 */
    add_sla(st, c1, MS_SOLUTION, SLA_REMIND, 1, 6000, "");                       /* 4 */
    add_sla(st, c1, MS_CLOSE, SLA_BREACH, 0, 9000, "");                          /* 5 */
    add_sla(st, c1, MS_CLOSE, SLA_ESCALATE, 2, 4000, "王总 <wang@example.com>"); /* 6 */
    add_sla(st, c2, MS_SOLUTION, SLA_ESCALATE, 3, 5500, "supervisor");           /* 7 */

    /* An event belongs to a stored complaint. */
    struct sla_event ghost = {.milestone = MS_ACK, .kind = SLA_BREACH, .due_at = 1};
    assert_int_not_equal(store_sla_add(st, 999, &ghost), 0);

    /* Everything reads back as planned, by due time then id, all pending. */
    w = sla_of(st, c1);
    assert_int_equal(w.n, 6);
    const int64_t want_ids[6] = {6, 1, 2, 4, 3, 5};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(w.row[i].id, want_ids[i]);
        assert_int_equal(w.row[i].complaint_id, c1);
        assert_string_equal(w.row[i].state, "pending");
        assert_int_equal(w.row[i].fired_at, 0);
        assert_false(w.row[i].late);
    }
    assert_int_equal(w.row[0].milestone, MS_CLOSE);
    assert_int_equal(w.row[0].kind, SLA_ESCALATE);
    assert_int_equal(w.row[0].level, 2);
    assert_int_equal(w.row[0].due_at, 4000);
    assert_string_equal(w.row[0].notify, "王总 <wang@example.com>");
    assert_int_equal(w.row[1].milestone, MS_ACK);
    assert_int_equal(w.row[1].kind, SLA_REMIND);
    assert_int_equal(w.row[1].level, 0);
    assert_string_equal(w.row[1].notify, "");
    assert_int_equal(w.row[2].milestone, MS_ACK);
    assert_int_equal(w.row[2].kind, SLA_BREACH);
    assert_int_equal(w.row[2].due_at, 6000);
    assert_int_equal(w.row[3].milestone, MS_SOLUTION);
    assert_int_equal(w.row[3].kind, SLA_REMIND);
    assert_int_equal(w.row[3].level, 1);
    assert_int_equal(w.row[3].due_at, 6000);
    assert_int_equal(w.row[4].milestone, MS_ACK);
    assert_int_equal(w.row[4].kind, SLA_ESCALATE);
    assert_int_equal(w.row[4].level, 1);
    assert_string_equal(w.row[4].notify, "manager");
    assert_int_equal(w.row[5].milestone, MS_CLOSE);
    assert_int_equal(w.row[5].kind, SLA_BREACH);
    assert_int_equal(w.row[5].due_at, 9000);
    w = sla_of(st, c2);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.row[0].id, 7);
    assert_int_equal(w.row[0].complaint_id, c2);
    assert_int_equal(w.row[0].milestone, MS_SOLUTION);
    assert_int_equal(w.row[0].level, 3);
    assert_string_equal(w.row[0].notify, "supervisor");
    w = sla_of(st, 999);
    assert_int_equal(w.n, 0);

    assert_int_equal(store_sla_next(st, &next), 0);
    assert_int_equal(next, 4000);

    /* Due at or before now, across complaints, by due then id; a limit bounds the walk. */
    memset(&w, 0, sizeof w);
    assert_int_equal(store_sla_each_due(st, 6000, 10, collect_sla, &w), 0);
    assert_int_equal(w.n, 5);
    const int64_t due_ids[5] = {6, 1, 7, 2, 4};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(w.row[i].id, due_ids[i]);
        assert_string_equal(w.row[i].state, "pending");
    }
    assert_int_equal(w.row[2].complaint_id, c2);
    assert_int_equal(w.row[2].kind, SLA_ESCALATE);
    assert_string_equal(w.row[2].notify, "supervisor");
    memset(&w, 0, sizeof w);
    assert_int_equal(store_sla_each_due(st, 6000, 2, collect_sla, &w), 0);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.row[0].id, 6);
    assert_int_equal(w.row[1].id, 1);
    memset(&w, 0, sizeof w);
    assert_int_equal(store_sla_each_due(st, 3999, 10, collect_sla, &w), 0);
    assert_int_equal(w.n, 0);
    /* The callback's non-zero answer stops the walk and is returned. */
    memset(&w, 0, sizeof w);
    w.stop_after = 1;
    assert_int_equal(store_sla_each_due(st, 6000, 10, collect_sla, &w), 7);
    assert_int_equal(w.n, 1);

    /* Overdue: pending and due strictly before the time. */
    assert_int_equal(store_sla_overdue(st, 6000, &count, &earliest), 0);
    assert_int_equal(count, 3);
    assert_int_equal(earliest, 4000);
    assert_int_equal(store_sla_overdue(st, 4000, &count, &earliest), 0);
    assert_int_equal(count, 0);
    assert_int_equal(earliest, 0);

    /* Fire once, late; the second fire of the same event does nothing. */
    bool done = false;
    assert_int_equal(store_sla_fire(st, 6, 4100, true, false, &done), 0);
    assert_true(done);
    done = true;
    assert_int_equal(store_sla_fire(st, 6, 4200, false, false, &done), 0);
    assert_false(done);
    done = true;
    assert_int_equal(store_sla_fire(st, 6, 4250, false, true, &done), 0);
    assert_false(done);
    w = sla_of(st, c1);
    int i6 = sla_find(&w, 6);
    assert_string_equal(w.row[i6].state, "fired");
    assert_int_equal(w.row[i6].fired_at, 4100);
    assert_true(w.row[i6].late);

    /* A fired event is no longer next, due or overdue. */
    assert_int_equal(store_sla_next(st, &next), 0);
    assert_int_equal(next, 5000);
    memset(&w, 0, sizeof w);
    assert_int_equal(store_sla_each_due(st, 6000, 10, collect_sla, &w), 0);
    assert_int_equal(w.n, 4);
    assert_int_equal(w.row[0].id, 1);
    assert_int_equal(store_sla_overdue(st, 6000, &count, &earliest), 0);
    assert_int_equal(count, 2);
    assert_int_equal(earliest, 5000);

    /* Fired on time: late stays false. cancel=true takes it out as 'cancelled'. */
    assert_int_equal(store_sla_fire(st, 1, 5000, false, false, &done), 0);
    assert_true(done);
    assert_int_equal(store_sla_fire(st, 7, 4300, false, true, &done), 0);
    assert_true(done);
    w = sla_of(st, c1);
    int i1 = sla_find(&w, 1);
    assert_string_equal(w.row[i1].state, "fired");
    assert_int_equal(w.row[i1].fired_at, 5000);
    assert_false(w.row[i1].late);
    w = sla_of(st, c2);
    assert_string_equal(w.row[0].state, "cancelled");
    assert_int_equal(w.row[0].fired_at, 4300);
    assert_false(w.row[0].late);
    /* An unknown id: nothing to do, not an error. */
    done = true;
    assert_int_equal(store_sla_fire(st, 999, 5000, false, false, &done), 0);
    assert_false(done);

    /* A fire inside a transaction that is rolled back never happened. */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_sla_fire(st, 2, 6000, false, false, &done), 0);
    assert_true(done);
    store_rollback(st);
    w = sla_of(st, c1);
    int i2 = sla_find(&w, 2);
    assert_string_equal(w.row[i2].state, "pending");
    assert_int_equal(w.row[i2].fired_at, 0);
    assert_int_equal(store_sla_next(st, &next), 0);
    assert_int_equal(next, 6000);

    /* Cancel only the milestones asked for, only their pending events, only of that
     * complaint: 4 (solution) and 5 (close) go; 6 (close) stays fired as it was; 2 and 3
     * (ack) stay pending. An empty mask cancels nothing. */
    add_sla(st, c2, MS_CLOSE, SLA_BREACH, 0, 8000, ""); /* 8 */
    assert_int_equal(store_sla_cancel(st, c1, 0, 6500), 0);
    assert_int_equal(store_sla_cancel(st, c1, (1u << MS_SOLUTION) | (1u << MS_CLOSE), 6500), 0);
    w = sla_of(st, c1);
    assert_int_equal(w.n, 6);
    const struct {
        int64_t id;
        const char *state;
        int64_t fired_at;
        bool late;
    } want[] = {{6, "fired", 4100, true},    {1, "fired", 5000, false},
                {2, "pending", 0, false},    {4, "cancelled", 6500, false},
                {3, "pending", 0, false},    {5, "cancelled", 6500, false}};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(w.row[i].id, want[i].id);
        assert_string_equal(w.row[i].state, want[i].state);
        assert_int_equal(w.row[i].fired_at, want[i].fired_at);
        assert_int_equal(w.row[i].late, want[i].late);
    }
    w = sla_of(st, c2);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.row[1].id, 8);
    assert_string_equal(w.row[1].state, "pending");

    /* A cancelled event cannot be fired any more. */
    assert_int_equal(store_sla_fire(st, 4, 6600, false, false, &done), 0);
    assert_false(done);

    memset(&w, 0, sizeof w);
    assert_int_equal(store_sla_each_due(st, 100000, 10, collect_sla, &w), 0);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.row[0].id, 2);
    assert_int_equal(w.row[1].id, 3);
    assert_int_equal(w.row[2].id, 8);

    /* Cancelling the rest leaves nothing pending. */
    assert_int_equal(store_sla_cancel(st, c1, MS_ALL, 6700), 0);
    assert_int_equal(store_sla_next(st, &next), 0);
    assert_int_equal(next, 8000);
    assert_int_equal(store_sla_cancel(st, c2, 1u << MS_CLOSE, 6800), 0);
    next = -1;
    assert_int_equal(store_sla_next(st, &next), DBOT_ERR_NOTFOUND);
    assert_int_equal(next, -1);
    assert_int_equal(store_sla_overdue(st, 1000000, &count, &earliest), 0);
    assert_int_equal(count, 0);
    assert_int_equal(earliest, 0);
    memset(&w, 0, sizeof w);
    assert_int_equal(store_sla_each_due(st, 1000000, 10, collect_sla, &w), 0);
    assert_int_equal(w.n, 0);
    w = sla_of(st, c1);
    assert_string_equal(w.row[sla_find(&w, 6)].state, "fired");
    assert_string_equal(w.row[sla_find(&w, 2)].state, "cancelled");
    assert_int_equal(w.row[sla_find(&w, 2)].fired_at, 6700);

    /* Revive (a rejected report): a cancelled event is pending again, neither fired nor
     * late, next and due; it fires once more and then stays fired. A pending or fired event
     * and an unknown id are NOTFOUND and stay as they are. */
    assert_int_equal(store_sla_revive(st, 2), 0);
    w = sla_of(st, c1);
    i2 = sla_find(&w, 2);
    assert_string_equal(w.row[i2].state, "pending");
    assert_int_equal(w.row[i2].fired_at, 0);
    assert_false(w.row[i2].late);
    assert_int_equal(store_sla_next(st, &next), 0);
    assert_int_equal(next, 6000);
    assert_int_equal(store_sla_overdue(st, 100000, &count, &earliest), 0);
    assert_int_equal(count, 1);
    assert_int_equal(store_sla_revive(st, 2), DBOT_ERR_NOTFOUND);
    assert_int_equal(store_sla_revive(st, 6), DBOT_ERR_NOTFOUND);
    assert_int_equal(store_sla_revive(st, 999), DBOT_ERR_NOTFOUND);
    w = sla_of(st, c1);
    i6 = sla_find(&w, 6);
    assert_string_equal(w.row[i6].state, "fired");
    assert_int_equal(w.row[i6].fired_at, 4100);
    assert_true(w.row[i6].late);
    assert_int_equal(store_sla_fire(st, 2, 6900, true, false, &done), 0);
    assert_true(done);
    assert_int_equal(store_sla_revive(st, 2), DBOT_ERR_NOTFOUND);
    w = sla_of(st, c1);
    i2 = sla_find(&w, 2);
    assert_string_equal(w.row[i2].state, "fired");
    assert_int_equal(w.row[i2].fired_at, 6900);
    assert_true(w.row[i2].late);
    store_close(st);

    /* Planned events survive a restart. */
    st = open_store();
    w = sla_of(st, c1);
    assert_int_equal(w.n, 6);
    store_close(st);
}

/* ---- schema 11: the SLA terms kept with a complaint ---- */

static void test_complaint_terms(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    int64_t c1 = insert_complaint(st, "crm-1", "D001");
    int64_t c2 = insert_complaint(st, "crm-2", "D001");

    /* None kept yet (as on a complaint filed before schema 11); none for an unknown id. */
    struct sla_terms got;
    memset(&got, 0x5a, sizeof got);
    assert_int_equal(store_complaint_terms_get(st, c1, &got), DBOT_ERR_NOTFOUND);
    assert_int_equal(store_complaint_terms_get(st, 999, &got), DBOT_ERR_NOTFOUND);

    struct sla_terms t = sample_terms();
    assert_int_equal(store_complaint_terms_set(st, c1, &t), 0);
    assert_int_equal(store_complaint_terms_set(st, 999, &t), DBOT_ERR_NOTFOUND);
    assert_int_equal(store_complaint_terms_get(st, c1, &got), 0);
    assert_int_equal(got.policy.ack_s, t.policy.ack_s);
    assert_int_equal(got.policy.solution_s, t.policy.solution_s);
    assert_int_equal(got.policy.close_s, t.policy.close_s);
    assert_int_equal(got.policy.n_remind, 2);
    assert_int_equal(got.policy.remind_before[0], 7200);
    assert_int_equal(got.policy.remind_before[1], 1800);
    assert_int_equal(got.n_ladder, 2);
    assert_int_equal(got.ladder[1].after_s, 4 * 3600);
    assert_string_equal(got.ladder[1].notify, "boss@example.com");
    assert_int_equal(store_complaint_terms_get(st, c2, &got), DBOT_ERR_NOTFOUND);

    /* Terms that cannot be written back are refused and change nothing. */
    struct sla_terms bad = sample_terms();
    snprintf(bad.ladder[0].notify, sizeof bad.ladder[0].notify, "two words");
    assert_int_equal(store_complaint_terms_set(st, c1, &bad), DBOT_ERR_INVALID);
    assert_int_equal(store_complaint_terms_get(st, c1, &got), 0);
    assert_string_equal(got.ladder[0].notify, "dealer_managers");

    /* In a rolled-back transaction they were never kept. */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_complaint_terms_set(st, c2, &t), 0);
    store_rollback(st);
    assert_int_equal(store_complaint_terms_get(st, c2, &got), DBOT_ERR_NOTFOUND);
    store_close(st);

    /* Text the parser does not take (a hand edit) is an error, not terms. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE complaints SET sla_terms = 'v1 ack=oops'"
                                      " WHERE id = 2", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    st = open_store();
    assert_int_equal(store_complaint_terms_get(st, c2, &got), DBOT_ERR_DB);
    assert_int_equal(store_complaint_terms_get(st, c1, &got), 0); /* survives a restart */
    assert_int_equal(got.policy.close_s, 15 * 86400);
    store_close(st);
}

/* ---- schema 4: the penalty catalogue ---- */

struct rule_seen {
    int n;
    int stop_after;
    char code[8][PENALTY_CODE_MAX + 1];
    int points[8];
};

static int collect_rule(const struct penalty_rule *r, void *arg)
{
    struct rule_seen *w = arg;
    assert_true(w->n < 8);
    assert_non_null(r->code);
    assert_non_null(r->violation);
    assert_non_null(r->standard);
    assert_non_null(r->how_to_avoid);
    snprintf(w->code[w->n], sizeof w->code[w->n], "%s", r->code);
    w->points[w->n] = r->points;
    w->n++;
    return w->stop_after > 0 && w->n >= w->stop_after ? 9 : 0;
}

static void test_penalty_rules(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct penalty_rule got = {.points = 77};
    assert_int_equal(store_penalty_rule_get(st, "LATE-ACK", &got), DBOT_ERR_NOTFOUND);
    assert_int_equal(got.points, 77);
    assert_null(got.code);

    struct penalty_rule late = {.code = (char *)"LATE-ACK", .violation = (char *)"未按时响应",
                                .points = 2, .standard = (char *)"12小时内响应",
                                .how_to_avoid = (char *)"开启提醒"};
    struct penalty_rule bare = {.code = (char *)"abc-1", .violation = (char *)"态度恶劣",
                                .points = 5}; /* no standard, no advice */
    struct penalty_rule zed = {.code = (char *)"Zed", .violation = (char *)"z", .points = 1,
                               .standard = (char *)"", .how_to_avoid = (char *)""};
    assert_int_equal(store_penalty_rule_upsert(st, &late), 0);
    assert_int_equal(store_penalty_rule_upsert(st, &bare), 0);
    assert_int_equal(store_penalty_rule_upsert(st, &zed), 0);

    /* Any case finds it; the code reads back as stored. */
    assert_int_equal(store_penalty_rule_get(st, "late-ack", &got), 0);
    assert_string_equal(got.code, "LATE-ACK");
    assert_string_equal(got.violation, "未按时响应");
    assert_int_equal(got.points, 2);
    assert_string_equal(got.standard, "12小时内响应");
    assert_string_equal(got.how_to_avoid, "开启提醒");
    penalty_rule_cleanup(&got);
    assert_null(got.code);
    assert_null(got.violation);
    assert_null(got.standard);
    assert_null(got.how_to_avoid);
    assert_int_equal(got.points, 0);
    penalty_rule_cleanup(&got);
    penalty_rule_cleanup(NULL);

    assert_int_equal(store_penalty_rule_get(st, "ABC-1", &got), 0);
    assert_string_equal(got.code, "abc-1");
    assert_string_equal(got.standard, "");
    assert_string_equal(got.how_to_avoid, "");
    assert_int_equal(got.points, 5);
    penalty_rule_cleanup(&got);

    /* An upsert in another case replaces the rule (every field), it does not add one. */
    struct penalty_rule late2 = {.code = (char *)"late-ACK", .violation = (char *)"超时未响应",
                                 .points = 3, .standard = NULL, .how_to_avoid = (char *)"排班"};
    assert_int_equal(store_penalty_rule_upsert(st, &late2), 0);
    assert_int_equal(store_penalty_rule_get(st, "LATE-ACK", &got), 0);
    assert_string_equal(got.violation, "超时未响应");
    assert_int_equal(got.points, 3);
    assert_string_equal(got.standard, "");
    assert_string_equal(got.how_to_avoid, "排班");
    penalty_rule_cleanup(&got);

    /* The walk goes by code, ignoring case (as codes are matched). */
    struct rule_seen w = {0};
    assert_int_equal(store_penalty_rule_each(st, collect_rule, &w), 0);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.code[0], "abc-1");
    assert_int_equal(w.points[0], 5);
    assert_string_equal(w.code[1], "LATE-ACK");
    assert_int_equal(w.points[1], 3);
    assert_string_equal(w.code[2], "Zed");
    assert_int_equal(w.points[2], 1);
    memset(&w, 0, sizeof w);
    w.stop_after = 2;
    assert_int_equal(store_penalty_rule_each(st, collect_rule, &w), 9);
    assert_int_equal(w.n, 2);

    /* A rule without a violation is refused and leaves the catalogue as it was. */
    struct penalty_rule broken = {.code = (char *)"X-1", .points = 1};
    assert_int_not_equal(store_penalty_rule_upsert(st, &broken), 0);
    assert_int_equal(store_penalty_rule_get(st, "X-1", &got), DBOT_ERR_NOTFOUND);
    store_close(st);

    /* The catalogue survives a restart. */
    st = open_store();
    memset(&w, 0, sizeof w);
    assert_int_equal(store_penalty_rule_each(st, collect_rule, &w), 0);
    assert_int_equal(w.n, 3);
    store_close(st);
}

/* ---- schema 4: the dealers' ledgers ---- */

struct ledger_seen {
    int n;
    int stop_after;
    struct {
        int64_t id, complaint_id, at;
        int points;
        char dealer[16], code[16], actor[32];
        char note[32];
        bool has_note;
    } e[8];
};

static int collect_ledger(const struct penalty_entry *e, void *arg)
{
    struct ledger_seen *w = arg;
    assert_true(w->n < 8);
    assert_non_null(e->dealer);
    assert_non_null(e->code);
    assert_non_null(e->actor);
    w->e[w->n].id = e->id;
    w->e[w->n].complaint_id = e->complaint_id;
    w->e[w->n].at = e->at;
    w->e[w->n].points = e->points;
    snprintf(w->e[w->n].dealer, sizeof w->e[w->n].dealer, "%s", e->dealer);
    snprintf(w->e[w->n].code, sizeof w->e[w->n].code, "%s", e->code);
    snprintf(w->e[w->n].actor, sizeof w->e[w->n].actor, "%s", e->actor);
    w->e[w->n].has_note = e->note != NULL;
    snprintf(w->e[w->n].note, sizeof w->e[w->n].note, "%s", e->note ? e->note : "");
    w->n++;
    return w->stop_after > 0 && w->n >= w->stop_after ? 5 : 0;
}

static int64_t ledger_rows(void)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM penalties", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static void test_penalty_ledger(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    add_dealer(st, "D002", "Second");
    int64_t cid = insert_complaint(st, "crm-1", "D001");

    /* An unknown dealer: NOTFOUND, and nothing written. */
    assert_int_equal(store_penalty_add(st, "D404", "SLA-ACK", 2, 0, NULL, "bot", 1000),
                     DBOT_ERR_NOTFOUND);
    assert_int_equal(store_penalty_add(st, "D404", "SLA-ACK", 2, cid, "n", "bot", 1000),
                     DBOT_ERR_NOTFOUND);
    assert_int_equal(ledger_rows(), 0);
    /* A penalty about an unknown complaint is refused too. */
    assert_int_not_equal(store_penalty_add(st, "D001", "SLA-ACK", 2, 999, NULL, "bot", 1000), 0);
    assert_int_equal(ledger_rows(), 0);

    /* ids 1..5. The dealer code is given in any case and stored as the dealer spells it. */
    assert_int_equal(store_penalty_add(st, "d001", "SLA-ACK", 2, cid, NULL, "bot", 1000), 0);
    assert_int_equal(store_penalty_add(st, "D002", "SLA-CLOSE", 5, 0, NULL, "bot", 1500), 0);
    assert_int_equal(
        store_penalty_add(st, "D001", "LATE-ACK", 3, 0, "第二次", "boss@example.com", 2000), 0);
    assert_int_equal(store_penalty_add(st, "D001", "X-9", 1, 0, NULL, "bot", 3000), 0);
    assert_int_equal(store_penalty_add(st, "D001", "Y-1", 4, cid, "", "boss@example.com", 2000),
                     0);
    assert_int_equal(ledger_rows(), 5);

    /* Everyone's, oldest first (ties by id). */
    struct ledger_seen w = {0};
    assert_int_equal(store_penalty_each(st, NULL, 0, 0, collect_ledger, &w), 0);
    assert_int_equal(w.n, 5);
    const int64_t all_ids[5] = {1, 2, 3, 5, 4};
    for (int i = 0; i < 5; i++)
        assert_int_equal(w.e[i].id, all_ids[i]);
    assert_string_equal(w.e[0].dealer, "D001");
    assert_string_equal(w.e[0].code, "SLA-ACK");
    assert_int_equal(w.e[0].points, 2);
    assert_int_equal(w.e[0].complaint_id, cid);
    assert_false(w.e[0].has_note);
    assert_string_equal(w.e[0].actor, "bot");
    assert_int_equal(w.e[0].at, 1000);
    assert_string_equal(w.e[1].dealer, "D002");
    assert_int_equal(w.e[1].complaint_id, 0);
    assert_string_equal(w.e[2].code, "LATE-ACK");
    assert_int_equal(w.e[2].complaint_id, 0);
    assert_true(w.e[2].has_note);
    assert_string_equal(w.e[2].note, "第二次");
    assert_string_equal(w.e[2].actor, "boss@example.com");
    assert_int_equal(w.e[2].at, 2000);
    assert_int_equal(w.e[3].complaint_id, cid);
    assert_true(w.e[3].has_note); /* "" is a note, NULL is none */
    assert_string_equal(w.e[3].note, "");
    assert_int_equal(w.e[4].at, 3000);

    /* One dealer's, in any case. */
    memset(&w, 0, sizeof w);
    assert_int_equal(store_penalty_each(st, "d001", 0, 0, collect_ledger, &w), 0);
    assert_int_equal(w.n, 4);
    assert_int_equal(w.e[0].id, 1);
    assert_int_equal(w.e[1].id, 3);
    assert_int_equal(w.e[2].id, 5);
    assert_int_equal(w.e[3].id, 4);
    memset(&w, 0, sizeof w);
    assert_int_equal(store_penalty_each(st, "d002", 0, 0, collect_ledger, &w), 0);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.e[0].id, 2);
    memset(&w, 0, sizeof w);
    assert_int_equal(store_penalty_each(st, "D404", 0, 0, collect_ledger, &w), 0);
    assert_int_equal(w.n, 0);

    /* since is inclusive; a limit keeps the oldest; <= 0 means the default. */
    memset(&w, 0, sizeof w);
    assert_int_equal(store_penalty_each(st, "D001", 2000, 0, collect_ledger, &w), 0);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.e[0].id, 3);
    assert_int_equal(w.e[2].id, 4);
    memset(&w, 0, sizeof w);
    assert_int_equal(store_penalty_each(st, "D001", 0, 2, collect_ledger, &w), 0);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.e[0].id, 1);
    assert_int_equal(w.e[1].id, 3);
    memset(&w, 0, sizeof w);
    assert_int_equal(store_penalty_each(st, NULL, 1500, -3, collect_ledger, &w), 0);
    assert_int_equal(w.n, 4);
    assert_int_equal(w.e[0].id, 2);
    memset(&w, 0, sizeof w);
    assert_int_equal(store_penalty_each(st, NULL, 3001, 0, collect_ledger, &w), 0);
    assert_int_equal(w.n, 0);
    memset(&w, 0, sizeof w);
    w.stop_after = 1;
    assert_int_equal(store_penalty_each(st, NULL, 0, 0, collect_ledger, &w), 5);
    assert_int_equal(w.n, 1);

    /* Totals over a window, the dealer in any case. */
    int64_t pts = -1;
    assert_int_equal(store_penalty_total(st, "d001", 0, &pts), 0);
    assert_int_equal(pts, 2 + 3 + 4 + 1);
    assert_int_equal(store_penalty_total(st, "D001", 2000, &pts), 0);
    assert_int_equal(pts, 3 + 4 + 1);
    assert_int_equal(store_penalty_total(st, "D001", 2001, &pts), 0);
    assert_int_equal(pts, 1);
    assert_int_equal(store_penalty_total(st, "D001", 3001, &pts), 0);
    assert_int_equal(pts, 0);
    assert_int_equal(store_penalty_total(st, "D002", 0, &pts), 0);
    assert_int_equal(pts, 5);
    assert_int_equal(store_penalty_total(st, "D404", 0, &pts), 0);
    assert_int_equal(pts, 0);

    /* Inside an open transaction the entry is part of it. */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_penalty_add(st, "D002", "SLA-ACK", 7, 0, NULL, "bot", 4000), 0);
    store_rollback(st);
    assert_int_equal(store_penalty_total(st, "D002", 0, &pts), 0);
    assert_int_equal(pts, 5);
    assert_int_equal(ledger_rows(), 5);
    store_close(st);
}

/* ---- schema 17: appeals on ledger entries ---- */

struct steps_seen {
    int n;
    char kind[8][16];
    char detail[8][48];
};

static int collect_step(const struct penalty_step *p, void *arg)
{
    struct steps_seen *w = arg;
    assert_true(w->n < 8);
    snprintf(w->kind[w->n], sizeof w->kind[0], "%s", p->kind);
    snprintf(w->detail[w->n], sizeof w->detail[0], "%s", p->detail ? p->detail : "");
    w->n++;
    return 0;
}

static int count_entry(const struct penalty_entry *e, void *arg)
{
    (void)e;
    (*(int *)arg)++;
    return 0;
}

static void test_penalty_appeals(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    int64_t cid = insert_complaint(st, "crm-1", "D001");
    assert_int_equal(store_penalty_add(st, "D001", "SLA-ACK", 2, cid, NULL, "bot", 1000), 0);
    assert_int_equal(store_penalty_add(st, "D001", "X-1", 5, 0, NULL, "boss@example.com", 1100),
                     0);
    assert_int_equal(store_penalty_add(st, "D001", "X-2", 1, 0, NULL, "boss@example.com", 1200),
                     0);

    struct penalty_head h;
    assert_int_equal(store_penalty_get(st, 1, &h), 0);
    assert_int_equal(h.id, 1);
    assert_string_equal(h.dealer, "D001");
    assert_string_equal(h.code, "SLA-ACK");
    assert_int_equal(h.points, 2);
    assert_int_equal(h.complaint_id, cid);
    assert_int_equal(h.at, 1000);
    assert_string_equal(h.state, "standing");
    assert_int_equal(store_penalty_get(st, 99, &h), DBOT_ERR_NOTFOUND);

    /* Upholding a standing entry is refused; an appeal without a reason is invalid. */
    assert_int_equal(store_penalty_decide(st, 1, false, NULL, "sup@example.com", 1300),
                     DBOT_ERR_CONFLICT);
    assert_int_equal(store_penalty_appeal(st, 1, NULL, "m@example.com", 1300), DBOT_ERR_INVALID);
    assert_int_equal(store_penalty_appeal(st, 99, "x", "m@example.com", 1300),
                     DBOT_ERR_NOTFOUND);

    /* Appeal once; a second appeal is a conflict. */
    assert_int_equal(store_penalty_appeal(st, 1, "系统故障", "m@example.com", 1300), 0);
    assert_int_equal(store_penalty_appeal(st, 1, "again", "m@example.com", 1301),
                     DBOT_ERR_CONFLICT);
    assert_int_equal(store_penalty_get(st, 1, &h), 0);
    assert_string_equal(h.state, "appealed");
    int n = 0;
    assert_int_equal(store_penalty_list(st, "D001", "appealed", 0, 0, count_entry, &n), 0);
    assert_int_equal(n, 1);

    /* Upheld: still counts. Decided: neither appeal nor decision again. */
    int64_t pts = 0;
    assert_int_equal(store_penalty_decide(st, 1, false, NULL, "sup@example.com", 1400), 0);
    assert_int_equal(store_penalty_total(st, "D001", 0, &pts), 0);
    assert_int_equal(pts, 8);
    assert_int_equal(store_penalty_decide(st, 1, true, "late", "sup@example.com", 1401),
                     DBOT_ERR_CONFLICT);
    assert_int_equal(store_penalty_appeal(st, 1, "x", "m@example.com", 1402), DBOT_ERR_CONFLICT);

    /* Waived (an appeal or not): stops counting in the total and the scorecards, stays listed. */
    assert_int_equal(store_penalty_decide(st, 2, true, NULL, "sup@example.com", 1500),
                     DBOT_ERR_INVALID);
    assert_int_equal(store_penalty_decide(st, 2, true, "录入错误", "sup@example.com", 1500), 0);
    assert_int_equal(store_penalty_total(st, "D001", 0, &pts), 0);
    assert_int_equal(pts, 3);
    struct scorecard_set set;
    assert_int_equal(store_scorecards(st, 0, 2000, 2000, &set), 0);
    assert_int_equal(set.n, 1);
    assert_int_equal(set.dealers[0].raw.penalty_points, 3);
    scorecard_set_cleanup(&set);
    n = 0;
    assert_int_equal(store_penalty_each(st, "D001", 0, 0, count_entry, &n), 0);
    assert_int_equal(n, 3);
    n = 0;
    assert_int_equal(store_penalty_list(st, NULL, "waived", 0, 0, count_entry, &n), 0);
    assert_int_equal(n, 1);

    /* The history, in order; an unknown entry takes none. */
    assert_int_equal(store_penalty_history_add(st, 1, "m@example.com", "appeal", "系统故障", 1300),
                     0);
    assert_int_equal(store_penalty_history_add(st, 1, "m@example.com", "refused", "again", 1301),
                     0);
    assert_int_equal(store_penalty_history_add(st, 1, "sup@example.com", "uphold", NULL, 1400),
                     0);
    assert_int_equal(store_penalty_history_add(st, 99, "x@example.com", "refused", NULL, 1400),
                     DBOT_ERR_NOTFOUND);
    struct steps_seen w = {0};
    assert_int_equal(store_penalty_history_each(st, 1, collect_step, &w), 0);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.kind[0], "appeal");
    assert_string_equal(w.detail[0], "系统故障");
    assert_string_equal(w.kind[1], "refused");
    assert_string_equal(w.kind[2], "uphold");
    assert_string_equal(w.detail[2], "");
    store_close(st);
}

static int count_reward(const struct reward_entry *e, void *arg)
{
    assert_non_null(e->kind);
    assert_non_null(e->dealer);
    (*(int *)arg)++;
    return 0;
}

static void test_rewards(void **state)
{
    (void)state;
    struct store *st = open_store();
    add_dealer(st, "D001", "First");
    add_dealer(st, "D002", "Second");
    int64_t cid = insert_complaint(st, "crm-1", "D001");
    assert_int_equal(store_reward_add(st, "D404", "commend", 2, 0, NULL, "boss@example.com",
                                      1000),
                     DBOT_ERR_NOTFOUND);
    assert_int_equal(store_reward_add(st, "d001", "commend", 2, cid, "好", "boss@example.com",
                                      1000),
                     0);
    assert_int_equal(store_reward_add(st, "D001", "satisfaction", 1, cid, NULL, "bot", 1100), 0);
    assert_int_equal(store_reward_add(st, "D002", "commend", 3, 0, NULL, "bot", 1200), 0);
    int64_t pts = 0, n = -1;
    assert_int_equal(store_reward_total(st, "D001", 0, &pts), 0);
    assert_int_equal(pts, 3);
    assert_int_equal(store_reward_total(st, "D001", 1050, &pts), 0);
    assert_int_equal(pts, 1);
    assert_int_equal(store_reward_count(st, cid, "satisfaction", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_reward_count(st, cid, "first_time", &n), 0);
    assert_int_equal(n, 0);
    int k = 0;
    assert_int_equal(store_reward_each(st, "D001", 0, 0, count_reward, &k), 0);
    assert_int_equal(k, 2);
    k = 0;
    assert_int_equal(store_reward_each(st, NULL, 0, 0, count_reward, &k), 0);
    assert_int_equal(k, 3);
    /* the scorecard's reward_points, in the window [from, to) */
    struct scorecard_set set;
    assert_int_equal(store_scorecards(st, 0, 1150, 1150, &set), 0);
    assert_int_equal(set.n, 2);
    assert_int_equal(set.dealers[0].raw.reward_points, 3);
    assert_int_equal(set.dealers[1].raw.reward_points, 0);
    scorecard_set_cleanup(&set);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pragmas_and_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_every_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_checks_cheap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_room_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dealers_and_people, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complaint_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_and_inbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complaint_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complaint_each_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialogues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sla_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sla_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complaint_terms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_penalty_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_penalty_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_penalty_appeals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewards, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
