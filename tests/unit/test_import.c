/*
 * test_import.c — directory CSV import against a real SQLite file: good files (BOM, CRLF,
 * quotes, Chinese), upserts, dealers' calendars checked against a configuration, and every
 * kind of bad file leaving the database unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "dealerbot/config.h"
#include "dealerbot/import.h"
#include "dealerbot/log.h"
#include "dealerbot/store.h"

struct fixture {
    char dir[64];
    char db[128];
    struct store *st;
    struct config *cfg; /* what expect_fail() imports dealers with; NULL unless a test sets it */
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/dbot-import-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->db, sizeof fx->db, "%s/test.db", fx->dir);
    struct dbot_diag diag = {{0}};
    if (store_open(fx->db, &fx->st, &diag) != 0) {
        fprintf(stderr, "store_open: %s\n", diag.msg);
        rmdir(fx->dir);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    store_close(fx->st);
    config_free(fx->cfg);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* Writes `len` bytes into <dir>/<name>; returns the path in a static buffer per slot. */
static const char *write_file(struct fixture *fx, const char *name, const char *data, size_t len)
{
    static char path[4][192];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", fx->dir, name);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    return p;
}

#define WRITE(fx, name, lit) write_file(fx, name, lit, sizeof(lit) - 1)

static int64_t dealer_count(struct fixture *fx)
{
    int64_t n = -1;
    assert_int_equal(store_dealer_count(fx->st, &n), 0);
    return n;
}

static int count_person(const struct person *p, void *arg)
{
    (void)p;
    (*(int64_t *)arg)++;
    return 0;
}

static int64_t person_count(struct fixture *fx)
{
    int64_t n = 0;
    assert_int_equal(store_person_each(fx->st, NULL, count_person, &n), 0);
    return n;
}

/* Imports a good dealers file so people can refer to it. */
static void seed_dealers(struct fixture *fx)
{
    const char *path = WRITE(fx, "seed.csv",
                             "code,name,region,sales_volume,timezone\n"
                             "SH01,上海浦东店,华东,1200,Asia/Shanghai\n"
                             "BJ02,北京朝阳店,华北,,\n");
    size_t count = 0;
    struct dbot_diag diag = {{0}};
    assert_int_equal(import_dealers(fx->st, NULL, path, &count, &diag), 0);
    assert_int_equal(count, 2);
}

/* Runs an import that must fail with exactly `msg`, leaving counts and *count untouched. */
static void expect_fail(struct fixture *fx, bool people, const char *path, int err, const char *msg)
{
    int64_t dealers_before = dealer_count(fx), people_before = person_count(fx);
    size_t count = 12345;
    struct dbot_diag diag = {{0}};
    int rc = people ? import_people(fx->st, path, &count, &diag)
                    : import_dealers(fx->st, fx->cfg, path, &count, &diag);
    assert_int_equal(rc, err);
    assert_string_equal(diag.msg, msg);
    assert_int_equal(count, 12345);
    assert_int_equal(dealer_count(fx), dealers_before);
    assert_int_equal(person_count(fx), people_before);
    assert_false(store_in_transaction(fx->st));
}

static void test_dealers_good(void **state)
{
    struct fixture *fx = *state;
    const char *path = WRITE(fx, "dealers.csv",
                             "\xEF\xBB\xBF"
                             " Code , NAME,Region,Sales_Volume,timezone\r\n"
                             "SH01,\"上海浦东汽车销售服务有限公司\",华东,1200,Asia/Shanghai\r\n"
                             "\r\n"
                             "GZ03,\"广州\"\"天河\"\"店, 二部\",华南,800,\r\n"
                             ",,,,\r\n"
                             "US1,\"Smith Motors\",,,America/New_York");
    size_t count = 0;
    struct dbot_diag diag = {{0}};
    int rc = import_dealers(fx->st, NULL, path, &count, &diag);
    if (rc)
        fail_msg("%s", diag.msg);
    assert_int_equal(count, 3);
    assert_int_equal(dealer_count(fx), 3);

    struct dealer d = {0};
    assert_int_equal(store_dealer_get(fx->st, "sh01", &d), 0);
    assert_string_equal(d.code, "SH01");
    assert_string_equal(d.name, "上海浦东汽车销售服务有限公司");
    assert_string_equal(d.region, "华东");
    assert_int_equal(d.sales_volume, 1200);
    assert_string_equal(d.timezone, "Asia/Shanghai");
    dealer_cleanup(&d);

    assert_int_equal(store_dealer_get(fx->st, "GZ03", &d), 0);
    assert_string_equal(d.name, "广州\"天河\"店, 二部");
    assert_int_equal(d.sales_volume, 800);
    assert_null(d.timezone);
    dealer_cleanup(&d);

    assert_int_equal(store_dealer_get(fx->st, "US1", &d), 0);
    assert_string_equal(d.name, "Smith Motors");
    assert_string_equal(d.region, "");
    assert_int_equal(d.sales_volume, -1);
    assert_string_equal(d.timezone, "America/New_York");
    dealer_cleanup(&d);
}

static void test_dealers_four_columns_and_header_only(void **state)
{
    struct fixture *fx = *state;
    size_t count = 99;
    struct dbot_diag diag = {{0}};
    const char *path = WRITE(fx, "d.csv", "code,name,region,sales_volume\n");
    assert_int_equal(import_dealers(fx->st, NULL, path, &count, &diag), 0);
    assert_int_equal(count, 0);
    assert_int_equal(dealer_count(fx), 0);

    path = WRITE(fx, "d.csv", "code,name,region,sales_volume\nD1,One,,5\n");
    assert_int_equal(import_dealers(fx->st, NULL, path, &count, &diag), 0);
    assert_int_equal(count, 1);
    struct dealer d = {0};
    assert_int_equal(store_dealer_get(fx->st, "D1", &d), 0);
    assert_null(d.timezone);
    assert_int_equal(d.sales_volume, 5);
    dealer_cleanup(&d);
}

static void test_dealers_upsert(void **state)
{
    struct fixture *fx = *state;
    seed_dealers(fx);
    seed_dealers(fx); /* same file again: same rows, no duplicates */
    assert_int_equal(dealer_count(fx), 2);

    const char *path = WRITE(fx, "dealers.csv",
                             "code,name,region,sales_volume,timezone\r\n"
                             "sh01,上海浦东新店,华东一区,1500,Asia/Urumqi\r\n"
                             "NEW9,New One,West,,\r\n");
    size_t count = 0;
    struct dbot_diag diag = {{0}};
    assert_int_equal(import_dealers(fx->st, NULL, path, &count, &diag), 0);
    assert_int_equal(count, 2);
    assert_int_equal(dealer_count(fx), 3);

    struct dealer d = {0};
    assert_int_equal(store_dealer_get(fx->st, "SH01", &d), 0);
    assert_string_equal(d.name, "上海浦东新店");
    assert_string_equal(d.region, "华东一区");
    assert_int_equal(d.sales_volume, 1500);
    assert_string_equal(d.timezone, "Asia/Urumqi");
    dealer_cleanup(&d);
    assert_int_equal(store_dealer_get(fx->st, "BJ02", &d), 0);
    assert_string_equal(d.name, "北京朝阳店");
    dealer_cleanup(&d);
}

static void test_dealers_bad_row_changes_nothing(void **state)
{
    struct fixture *fx = *state;
    seed_dealers(fx);
    /* Rows 2..6 are good and would change SH01; row 7 is bad. */
    const char *path = WRITE(fx, "dealers.csv",
                             "code,name,region,sales_volume,timezone\n"
                             "SH01,Changed,X,1,\n"
                             "A2,a,,,\n"
                             "A3,a,,,\n"
                             "A4,a,,,\n"
                             "A5,a,,,\n"
                             "A6,a,,lots,\n"
                             "A7,a,,,\n");
    expect_fail(fx, false, path, DBOT_ERR_INVALID,
                "dealers.csv: row 7: sales_volume: must be a whole number from 0 to 1000000000, "
                "or empty");
    struct dealer d = {0};
    assert_int_equal(store_dealer_get(fx->st, "SH01", &d), 0);
    assert_string_equal(d.name, "上海浦东店");
    assert_int_equal(d.sales_volume, 1200);
    dealer_cleanup(&d);
    assert_int_equal(store_dealer_get(fx->st, "A2", &d), DBOT_ERR_NOTFOUND);
}

static void test_dealers_bad_files(void **state)
{
    struct fixture *fx = *state;
    seed_dealers(fx);
    const char *hdr = "code,name,region,sales_volume[,timezone[,calendar]]";
    char msg[256];

    snprintf(msg, sizeof msg, "dealers.csv: row 1: header must be %s, column 3 is \"area\"", hdr);
    expect_fail(fx, false, WRITE(fx, "dealers.csv", "code,name,area,sales_volume\n"),
                DBOT_ERR_INVALID, msg);
    snprintf(msg, sizeof msg, "dealers.csv: row 1: header must be %s, got 3 columns", hdr);
    expect_fail(fx, false, WRITE(fx, "dealers.csv", "code,name,region\nD1,a,b\n"), DBOT_ERR_INVALID,
                msg);
    snprintf(msg, sizeof msg, "dealers.csv: row 1: header must be %s, column 6 is \"notes\"",
             hdr);
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone,notes\n"),
                DBOT_ERR_INVALID, msg);
    snprintf(msg, sizeof msg, "dealers.csv: row 1: header must be %s, got 7 columns", hdr);
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone,calendar,notes\n"),
                DBOT_ERR_INVALID, msg);
    snprintf(msg, sizeof msg, "dealers.csv: row 1: header must be %s, column 5 is \"calendar\"",
             hdr);
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv", "code,name,region,sales_volume,calendar\n"),
                DBOT_ERR_INVALID, msg);
    snprintf(msg, sizeof msg, "dealers.csv: row 1: header must be %s, column 1 is \"name\"", hdr);
    expect_fail(fx, false, WRITE(fx, "dealers.csv", "name,code,region,sales_volume\n"),
                DBOT_ERR_INVALID, msg);
    snprintf(msg, sizeof msg,
             "dealers.csv: row 1: header must be %s, column 2 is \"a very long column name that "
             "goes on an\"",
             hdr);
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv",
                      "code, a very long column name that goes on and on,region,sales_volume\n"),
                DBOT_ERR_INVALID, msg);
    /* Cut on a character boundary: "x" and 12 of the 14 characters fit in 39 bytes. */
    snprintf(msg, sizeof msg, "dealers.csv: row 1: header must be %s, column 1 is \"x%s\"", hdr,
             "经销商代码经销商代码经销");
    expect_fail(
        fx, false,
        WRITE(fx, "dealers.csv", "x经销商代码经销商代码经销商代,name,region,sales_volume\n"),
        DBOT_ERR_INVALID, msg);
    expect_fail(fx, false, WRITE(fx, "dealers.csv", "code,\"name\n"), DBOT_ERR_INVALID,
                "dealers.csv: line 1: unterminated quoted field");
    snprintf(msg, sizeof msg, "dealers.csv: empty file, expected the header %s", hdr);
    expect_fail(fx, false, WRITE(fx, "dealers.csv", "\xEF\xBB\xBF\r\n\r\n"), DBOT_ERR_INVALID, msg);

    expect_fail(fx, false,
                WRITE(fx, "dealers.csv", "code,name,region,sales_volume\nD1,a,,\nD2,a,\n"),
                DBOT_ERR_INVALID, "dealers.csv: row 3: expected 4 columns, got 3");
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv", "code,name,region,sales_volume\nD1,a,,\nD2,\"a,,\n"),
                DBOT_ERR_INVALID, "dealers.csv: line 3: unterminated quoted field");
    expect_fail(
        fx, false,
        WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone\nD1,a,,,Asia/Shangai\n"),
        DBOT_ERR_INVALID, "dealers.csv: row 2: timezone: unknown zone \"Asia/Shangai\"");
    /* zone.tab is a file under zoneinfo, but not a zone. */
    expect_fail(
        fx, false,
        WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone\nD1,a,,,zone.tab\n"),
        DBOT_ERR_INVALID,
        "dealers.csv: row 2: timezone: must be an IANA zone name like "
        "Asia/Shanghai, or empty");
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone\nD1,a,,,Asia\n"),
                DBOT_ERR_INVALID, "dealers.csv: row 2: timezone: unknown zone \"Asia\"");
    expect_fail(
        fx, false, WRITE(fx, "dealers.csv", "code,name,region,sales_volume\nD1,\"two\nlines\",,\n"),
        DBOT_ERR_INVALID, "dealers.csv: row 2: name: must be one line without control characters");
    expect_fail(fx, false, WRITE(fx, "dealers.csv", "code,name,region,sales_volume\nD1,\xC3(,,\n"),
                DBOT_ERR_INVALID, "dealers.csv: line 2: not valid UTF-8");
}

/* The calendar column: optional, empty = none, and only calendars the configuration defines. */
static void test_dealers_calendar(void **state)
{
    struct fixture *fx = *state;
    struct dbot_diag diag = {{0}};
    assert_int_equal(config_load_string("http = { token = \"tok-0123456789abcdef\"; };\n"
                                        "calendars = { cn = { }; shop-7 = { days = [ 1, 2, 3, 4, "
                                        "5, 6, 7 ]; }; };",
                                        "t.conf", &fx->cfg, &diag),
                     0);
    const char *path = WRITE(fx, "dealers.csv",
                             "code,name,region,sales_volume,timezone,Calendar\r\n"
                             "D1,One,,,,cn\r\n"
                             "D2,Two,,,Asia/Shanghai,\r\n"
                             "D3,Three,,,, shop-7 \r\n");
    size_t count = 0;
    int rc = import_dealers(fx->st, fx->cfg, path, &count, &diag);
    if (rc)
        fail_msg("%s", diag.msg);
    assert_int_equal(count, 3);
    struct dealer d = {0};
    assert_int_equal(store_dealer_get(fx->st, "D1", &d), 0);
    assert_string_equal(d.calendar, "cn");
    dealer_cleanup(&d);
    assert_int_equal(store_dealer_get(fx->st, "D2", &d), 0);
    assert_null(d.calendar);
    assert_string_equal(d.timezone, "Asia/Shanghai");
    dealer_cleanup(&d);
    assert_int_equal(store_dealer_get(fx->st, "D3", &d), 0);
    assert_string_equal(d.calendar, "shop-7");
    dealer_cleanup(&d);

    /* A row is a whole record: an empty cell, or a file without the column, clears it. */
    path = WRITE(fx, "dealers.csv",
                 "code,name,region,sales_volume,timezone,calendar\nD1,One,,,,\nD2,Two,,,,shop-7\n");
    assert_int_equal(import_dealers(fx->st, fx->cfg, path, &count, &diag), 0);
    path = WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone\nD3,Three,,,\n");
    assert_int_equal(import_dealers(fx->st, fx->cfg, path, &count, &diag), 0);
    assert_int_equal(store_dealer_get(fx->st, "D1", &d), 0);
    assert_null(d.calendar);
    dealer_cleanup(&d);
    assert_int_equal(store_dealer_get(fx->st, "D2", &d), 0);
    assert_string_equal(d.calendar, "shop-7");
    dealer_cleanup(&d);
    assert_int_equal(store_dealer_get(fx->st, "D3", &d), 0);
    assert_null(d.calendar);
    dealer_cleanup(&d);

    /* Unknown calendars: nothing is imported, not even the good rows before. */
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv",
                      "code,name,region,sales_volume,timezone,calendar\n"
                      "D1,Changed,,,,cn\n"
                      "D4,Four,,,,cn\n"
                      "D5,Five,,,,us\n"),
                DBOT_ERR_INVALID, "dealers.csv: row 4: calendar: unknown calendar \"us\"");
    assert_int_equal(store_dealer_get(fx->st, "D1", &d), 0);
    assert_string_equal(d.name, "One");
    assert_null(d.calendar);
    dealer_cleanup(&d);
    assert_int_equal(store_dealer_get(fx->st, "D4", &d), DBOT_ERR_NOTFOUND);
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone,calendar\n"
                                         "D4,Four,,,,CN\n"),
                DBOT_ERR_INVALID,
                "dealers.csv: row 2: calendar: must be a calendar name (1-31 of a-z 0-9 _ -), or "
                "empty");
    /* The time zone is checked first. */
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone,calendar\n"
                                         "D4,Four,,,Asia/Nowhere,us\n"),
                DBOT_ERR_INVALID, "dealers.csv: row 2: timezone: unknown zone \"Asia/Nowhere\"");

    /* Without a configuration (or one without calendars) no calendar is known. */
    config_free(fx->cfg);
    fx->cfg = NULL;
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone,calendar\n"
                                         "D4,Four,,,,cn\n"),
                DBOT_ERR_INVALID, "dealers.csv: row 2: calendar: unknown calendar \"cn\"");
    path = WRITE(fx, "dealers.csv",
                 "code,name,region,sales_volume,timezone,calendar\nD4,Four,,,,\n");
    assert_int_equal(import_dealers(fx->st, NULL, path, &count, &diag), 0);
    assert_int_equal(dealer_count(fx), 4);
}

static void test_dealers_duplicates(void **state)
{
    struct fixture *fx = *state;
    expect_fail(
        fx, false,
        WRITE(fx, "dealers.csv", "code,name,region,sales_volume\nD1,a,,\nD2,b,,\nd1,c,,\nD2,d,,\n"),
        DBOT_ERR_INVALID, "dealers.csv: row 4: code: \"d1\" is already on row 2");
    /* The first error in file order wins: a duplicate before a bad row... */
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv", "code,name,region,sales_volume\nD1,a,,\nD1,b,,\nD3,,,\n"),
                DBOT_ERR_INVALID, "dealers.csv: row 3: code: \"D1\" is already on row 2");
    /* ...and a bad row before a duplicate. */
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv", "code,name,region,sales_volume\nD1,a,,\nD2,,,\nD1,b,,\n"),
                DBOT_ERR_INVALID, "dealers.csv: row 3: name: must not be empty");
    /* Many copies of one key: the earliest repeat is named. */
    expect_fail(fx, false,
                WRITE(fx, "dealers.csv",
                      "code,name,region,sales_volume\nX,a,,\nY,a,,\nX,a,,\nY,a,,\nX,a,,\n"),
                DBOT_ERR_INVALID, "dealers.csv: row 4: code: \"X\" is already on row 2");
    assert_int_equal(dealer_count(fx), 0);
}

static void test_file_errors(void **state)
{
    struct fixture *fx = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/missing.csv", fx->dir);
    expect_fail(fx, false, path, DBOT_ERR_NOTFOUND,
                "missing.csv: cannot open: No such file or directory");
}

/* $TZDIR moves the zone lookup; a file there counts only when it is a compiled zone. */
static void test_tzdir_and_zone_magic(void **state)
{
    struct fixture *fx = *state;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/zi", fx->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    char sub[160];
    snprintf(sub, sizeof sub, "%s/Test", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(fx, "zi/Test/Good", "TZif2 and the rest", 18);
    write_file(fx, "zi/Test/Text", "# not a zone\n", 13);
    assert_int_equal(setenv("TZDIR", dir, 1), 0);

    const char *path =
        WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone\nD1,a,,,Test/Good\n");
    size_t count = 0;
    struct dbot_diag diag = {{0}};
    assert_int_equal(import_dealers(fx->st, NULL, path, &count, &diag), 0);
    expect_fail(
        fx, false,
        WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone\nD1,a,,,Test/Text\n"),
        DBOT_ERR_INVALID, "dealers.csv: row 2: timezone: unknown zone \"Test/Text\"");
    expect_fail(
        fx, false,
        WRITE(fx, "dealers.csv", "code,name,region,sales_volume,timezone\nD1,a,,,Asia/Shanghai\n"),
        DBOT_ERR_INVALID, "dealers.csv: row 2: timezone: unknown zone \"Asia/Shanghai\"");
    assert_int_equal(unsetenv("TZDIR"), 0);
}

static void test_file_errors_messages(void **state)
{
    struct fixture *fx = *state;
    char msg[128];
    snprintf(msg, sizeof msg, "%s: is a directory", strrchr(fx->dir, '/') + 1);
    expect_fail(fx, true, fx->dir, DBOT_ERR_IO, msg);

    /* Over 64 MiB: refused from its size (a sparse file, so the test stays cheap). */
    char path[256];
    snprintf(path, sizeof path, "%s/big.csv", fx->dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(truncate(path, (off_t)IMPORT_FILE_MAX + 1), 0);
    expect_fail(fx, false, path, DBOT_ERR_TOOBIG, "big.csv: larger than 64 MiB");

    /* Exactly 64 MiB of blank lines is allowed (and is an empty file). */
    assert_int_equal(truncate(path, 0), 0);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    static char nl[1 << 16];
    memset(nl, '\n', sizeof nl);
    for (size_t i = 0; i < IMPORT_FILE_MAX / sizeof nl; i++)
        assert_int_equal(fwrite(nl, 1, sizeof nl, fp), sizeof nl);
    assert_int_equal(fclose(fp), 0);
    expect_fail(
        fx, false, path, DBOT_ERR_INVALID,
        "big.csv: empty file, expected the header "
        "code,name,region,sales_volume[,timezone[,calendar]]");
}

/* A pipe has no size up front: the reader grows its buffer until the writer is done. */
static void test_fifo_and_device(void **state)
{
    struct fixture *fx = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/pipe.csv", fx->dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    enum { ROWS = 3000 };
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *fp = fopen(path, "wb");
        if (!fp)
            _exit(1);
        fputs("code,name,region,sales_volume\r\n", fp);
        for (int i = 0; i < ROWS; i++)
            fprintf(fp, "D%04d,\"经销商 %d, 有限公司\",华东,%d\r\n", i, i, i * 10);
        _exit(fclose(fp) == 0 ? 0 : 1);
    }
    size_t count = 0;
    struct dbot_diag diag = {{0}};
    int rc = import_dealers(fx->st, NULL, path, &count, &diag);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (rc)
        fail_msg("%s", diag.msg);
    assert_int_equal(count, ROWS);
    assert_int_equal(dealer_count(fx), ROWS);
    struct dealer d = {0};
    assert_int_equal(store_dealer_get(fx->st, "d2999", &d), 0);
    assert_string_equal(d.name, "经销商 2999, 有限公司");
    assert_int_equal(d.sales_volume, 29990);
    dealer_cleanup(&d);

    expect_fail(fx, true, "/dev/null", DBOT_ERR_INVALID,
                "null: empty file, expected the header jid,dealer,role,name,language");
}

static void test_people_good_and_upsert(void **state)
{
    struct fixture *fx = *state;
    seed_dealers(fx);
    const char *path = WRITE(fx, "people.csv",
                             "\xEF\xBB\xBF"
                             "JID,Dealer,Role,Name,Language\r\n"
                             "Li.Wei@Chat.Example,sh01,Manager,\"李伟\",zh-CN\r\n"
                             "wang@chat.example,BJ02,agent,王芳,\r\n"
                             "boss@chat.example,brand,admin,\"Boss, The\",en\r\n"
                             "sup@chat.example,BRAND,supervisor,督导,\r\n");
    size_t count = 0;
    struct dbot_diag diag = {{0}};
    int rc = import_people(fx->st, path, &count, &diag);
    if (rc)
        fail_msg("%s", diag.msg);
    assert_int_equal(count, 4);
    assert_int_equal(person_count(fx), 4);

    struct person p = {0};
    assert_int_equal(store_person_get(fx->st, "li.wei@chat.example", &p), 0);
    assert_string_equal(p.dealer, "SH01"); /* as the store spells it */
    assert_int_equal(p.role, ROLE_MANAGER);
    assert_string_equal(p.name, "李伟");
    assert_string_equal(p.language, "zh-CN");
    person_cleanup(&p);
    assert_int_equal(store_person_get(fx->st, "boss@chat.example", &p), 0);
    assert_null(p.dealer);
    assert_int_equal(p.role, ROLE_ADMIN);
    assert_string_equal(p.name, "Boss, The");
    assert_string_equal(p.language, "en");
    person_cleanup(&p);

    int64_t n = 0;
    assert_int_equal(store_person_each(fx->st, "brand", count_person, &n), 0);
    assert_int_equal(n, 2);

    /* Again, then with changes: upserted by JID. */
    assert_int_equal(import_people(fx->st, path, &count, &diag), 0);
    assert_int_equal(person_count(fx), 4);
    path = WRITE(fx, "people.csv",
                 "jid,dealer,role,name,language\n"
                 "li.wei@chat.example,BJ02,agent,李伟伟,en\n");
    assert_int_equal(import_people(fx->st, path, &count, &diag), 0);
    assert_int_equal(count, 1);
    assert_int_equal(person_count(fx), 4);
    assert_int_equal(store_person_get(fx->st, "li.wei@chat.example", &p), 0);
    assert_string_equal(p.dealer, "BJ02");
    assert_int_equal(p.role, ROLE_AGENT);
    assert_string_equal(p.name, "李伟伟");
    assert_string_equal(p.language, "en");
    person_cleanup(&p);
}

static void test_people_bad(void **state)
{
    struct fixture *fx = *state;
    seed_dealers(fx);
    size_t count = 0;
    struct dbot_diag diag = {{0}};
    assert_int_equal(import_people(fx->st,
                                   WRITE(fx, "people.csv",
                                         "jid,dealer,role,name,language\n"
                                         "a@x,SH01,agent,A,\n"),
                                   &count, &diag),
                     0);

    expect_fail(fx, true,
                WRITE(fx, "people.csv",
                      "jid,dealer,role,name,language\n"
                      "a@x,SH01,manager,A2,\n"
                      "b@x,SH01,agent,B,\n"
                      "c@x,SH01,agent,C,\n"
                      "d@x,SH01,agent,D,\n"
                      "e@x,brand,supervisor,E,\n"
                      "f@x,BJ02,supervisor,F,\n"),
                DBOT_ERR_INVALID, "people.csv: row 7: role: must be agent or manager for a dealer");
    struct person p = {0};
    assert_int_equal(store_person_get(fx->st, "a@x", &p), 0);
    assert_int_equal(p.role, ROLE_AGENT);
    assert_string_equal(p.name, "A");
    person_cleanup(&p);

    expect_fail(fx, true,
                WRITE(fx, "people.csv",
                      "jid,dealer,role,name,language\n"
                      "b@x,SH01,agent,B,\n"
                      "c@x,XX9,agent,C,\n"),
                DBOT_ERR_INVALID,
                "people.csv: row 3: dealer: unknown dealer \"XX9\" (import the dealers first)");
    expect_fail(fx, true,
                WRITE(fx, "people.csv",
                      "jid,dealer,role,name,language\n"
                      "Li@X,SH01,agent,B,\n"
                      "b@x,SH01,agent,B,\n"
                      "li@x,BJ02,agent,C,\n"),
                DBOT_ERR_INVALID, "people.csv: row 4: jid: \"li@x\" is already on row 2");
    expect_fail(fx, true,
                WRITE(fx, "people.csv",
                      "jid,dealer,role,name,language\n"
                      "nobody,SH01,agent,B,\n"),
                DBOT_ERR_INVALID, "people.csv: row 2: jid: must look like name@domain");
    expect_fail(fx, true, WRITE(fx, "people.csv", "jid,dealer,role,name\nb@x,SH01,agent,B\n"),
                DBOT_ERR_INVALID,
                "people.csv: row 1: header must be jid,dealer,role,name,language, got 4 columns");
    expect_fail(fx, true,
                WRITE(fx, "people.csv",
                      "jid,dealer,role,name,language\n"
                      "b@x,brand,manager,B,\n"),
                DBOT_ERR_INVALID,
                "people.csv: row 2: role: must be agent, supervisor or admin for brand staff");
    expect_fail(fx, true,
                WRITE(fx, "people.csv",
                      "jid,dealer,role,name,language\n"
                      "b@x,SH01,agent,B,fr\n"),
                DBOT_ERR_INVALID, "people.csv: row 2: language: must be zh-CN or en");
}

/* A store failure in the middle of the write pass rolls back the rows already written. The
 * failure is injected with a trigger, added through a second connection to the same file. */
/* The penalty catalogue: a BOM and CRLF Excel file, optional columns, upsert by code in any
 * case, and a bad row (points out of range) that leaves the catalogue as it was. */
static int count_rule(const struct penalty_rule *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
    return 0;
}

static void test_penalty_catalogue(void **state)
{
    struct fixture *fx = *state;
    struct dbot_diag d = {{0}};
    size_t n = 0;
    const char *path = WRITE(fx, "penalties.csv",
                             "\xEF\xBB\xBF" "code,violation,points,standard,how_to_avoid\r\n"
                             "P-101,投诉未在12小时内受理,1,\"第3.1条, 12小时\",设置值班表\r\n"
                             "P-102,结案报告不实,2,,\r\n");
    assert_int_equal(import_penalties(fx->st, path, &n, &d), 0);
    assert_int_equal(n, 2);
    struct penalty_rule r = {0};
    assert_int_equal(store_penalty_rule_get(fx->st, "p-101", &r), 0);
    assert_string_equal(r.code, "P-101");
    assert_int_equal(r.points, 1);
    assert_string_equal(r.standard, "第3.1条, 12小时");
    penalty_rule_cleanup(&r);

    /* three columns are enough; an existing code is updated */
    path = WRITE(fx, "p2.csv", "code,violation,points\nP-102,结案报告原因分析不实,3\n");
    assert_int_equal(import_penalties(fx->st, path, &n, &d), 0);
    assert_int_equal(store_penalty_rule_get(fx->st, "P-102", &r), 0);
    assert_int_equal(r.points, 3);
    assert_string_equal(r.how_to_avoid, "");
    penalty_rule_cleanup(&r);

    const struct {
        const char *csv, *msg;
    } bad[] = {
        {"code,violation,points\nP-9,x,1001\n",
         "p3.csv: row 2: points: must be a whole number 0..1000"},
        {"code,violation,points\nP 9,x,1\n", "p3.csv: row 2: code: must be 1-32 of A-Z a-z 0-9 _ . -"},
        {"code,violation,points\nP-9, ,1\n", "p3.csv: row 2: violation: must not be empty"},
        {"code,violation,points\nP-9,x,-1\n", "p3.csv: row 2: points: must be a whole number 0..1000"},
        {"code,violation\nP-9,x\n", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        path = write_file(fx, "p3.csv", bad[i].csv, strlen(bad[i].csv));
        memset(&d, 0, sizeof d);
        assert_int_equal(import_penalties(fx->st, path, &n, &d), DBOT_ERR_INVALID);
        if (bad[i].msg)
            assert_string_equal(d.msg, bad[i].msg);
    }
    int rules = 0;
    assert_int_equal(store_penalty_rule_each(fx->st, count_rule, &rules), 0);
    assert_int_equal(rules, 2);
}

static void test_store_failure_rolls_back(void **state)
{
    struct fixture *fx = *state;
    seed_dealers(fx);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TRIGGER boom BEFORE INSERT ON people"
                     " WHEN NEW.jid = 'boom@x' BEGIN SELECT RAISE(ABORT, 'boom'); END;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    log_set_level(LOG_OFF); /* the store logs the native error once; keep the test output calm */
    expect_fail(fx, true,
                WRITE(fx, "people.csv",
                      "jid,dealer,role,name,language\n"
                      "a@x,SH01,agent,A,\n"
                      "b@x,SH01,agent,B,\n"
                      "boom@x,SH01,agent,C,\n"
                      "d@x,SH01,agent,D,\n"),
                DBOT_ERR_DB, "people.csv: row 4: cannot store: database error");
    log_set_level(LOG_WARN);
    struct person p = {0};
    assert_int_equal(store_person_get(fx->st, "a@x", &p), DBOT_ERR_NOTFOUND);
    assert_int_equal(person_count(fx), 0);

    /* The store is still usable afterwards. */
    size_t count = 0;
    struct dbot_diag diag = {{0}};
    assert_int_equal(
        import_people(fx->st,
                      WRITE(fx, "people.csv", "jid,dealer,role,name,language\na@x,SH01,agent,A,\n"),
                      &count, &diag),
        0);
    assert_int_equal(person_count(fx), 1);
}

static void test_in_transaction_refused(void **state)
{
    struct fixture *fx = *state;
    const char *path = WRITE(fx, "dealers.csv", "code,name,region,sales_volume\nD1,a,,\n");
    size_t count = 0;
    struct dbot_diag diag = {{0}};
    assert_int_equal(store_begin(fx->st), 0);
    assert_int_equal(import_dealers(fx->st, NULL, path, &count, &diag), DBOT_ERR_INTERNAL);
    assert_string_equal(diag.msg, "dealers.csv: import inside a transaction");
    store_rollback(fx->st);
    assert_int_equal(import_dealers(fx->st, NULL, path, &count, &diag), 0);
    assert_int_equal(count, 1);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dealers_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dealers_four_columns_and_header_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dealers_upsert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dealers_bad_row_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dealers_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dealers_calendar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dealers_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tzdir_and_zone_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_and_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_people_good_and_upsert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_people_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_penalty_catalogue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_failure_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_transaction_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
