/*
 * test_directory.c — dealer and person row validation, role names, cleanup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dealerbot/directory.h"

static void test_role_parse_and_name(void **state)
{
    (void)state;
    static const char *const names[] = {"agent", "manager", "supervisor", "admin"};
    for (int i = 0; i < 4; i++) {
        enum person_role r = ROLE_ADMIN;
        assert_int_equal(person_role_parse(names[i], &r), 0);
        assert_int_equal(r, i);
        assert_string_equal(person_role_name(r), names[i]);
    }
    enum person_role r = ROLE_AGENT;
    assert_int_equal(person_role_parse("Manager", &r), 0);
    assert_int_equal(r, ROLE_MANAGER);
    assert_int_equal(person_role_parse("ADMIN", &r), 0);
    assert_int_equal(r, ROLE_ADMIN);

    r = ROLE_SUPERVISOR;
    assert_int_equal(person_role_parse("boss", &r), DBOT_ERR_INVALID);
    assert_int_equal(person_role_parse("", &r), DBOT_ERR_INVALID);
    assert_int_equal(person_role_parse("agents", &r), DBOT_ERR_INVALID);
    assert_int_equal(person_role_parse(NULL, &r), DBOT_ERR_INVALID);
    assert_int_equal(r, ROLE_SUPERVISOR); /* untouched on failure */
    assert_string_equal(person_role_name((enum person_role)99), "unknown");
}

static void test_dealer_ok(void **state)
{
    (void)state;
    struct dealer d;
    struct dbot_diag diag = {{0}};
    assert_int_equal(dealer_from_fields(" SH-01_a ", "上海浦东店 ", "华东", " 1200 ",
                                        "Asia/Shanghai", " cn_work-1 ", &d, &diag),
                     0);
    assert_string_equal(d.code, "SH-01_a");
    assert_string_equal(d.name, "上海浦东店");
    assert_string_equal(d.region, "华东");
    assert_int_equal(d.sales_volume, 1200);
    assert_string_equal(d.timezone, "Asia/Shanghai");
    assert_string_equal(d.calendar, "cn_work-1");
    dealer_cleanup(&d);
    assert_null(d.code);
    dealer_cleanup(&d); /* twice is harmless */
    dealer_cleanup(NULL);

    /* Optional fields empty; NULL pointers read as empty too. */
    assert_int_equal(dealer_from_fields("D1", "One", "", "", "", "", &d, &diag), 0);
    assert_string_equal(d.region, "");
    assert_int_equal(d.sales_volume, -1);
    assert_null(d.timezone);
    assert_null(d.calendar);
    dealer_cleanup(&d);
    assert_int_equal(dealer_from_fields("D1", "One", NULL, NULL, NULL, NULL, &d, &diag), 0);
    assert_int_equal(d.sales_volume, -1);
    assert_null(d.calendar);
    dealer_cleanup(&d);
    assert_int_equal(dealer_from_fields("D1", "One", "", "", "", " \t ", &d, &diag), 0);
    assert_null(d.calendar); /* blank is none */
    dealer_cleanup(&d);

    /* Limits that are just allowed. */
    char code[DEALER_CODE_MAX + 2];
    memset(code, 'Z', DEALER_CODE_MAX);
    code[DEALER_CODE_MAX] = '\0';
    char name[128 * 3 + 1] = "";
    for (int i = 0; i < 128; i++)
        memcpy(name + 3 * i, "店", 3);
    name[128 * 3] = '\0';
    assert_int_equal(dealer_from_fields(code, name, "", "0", "Etc/GMT+8",
                                        "abcdefghijklmnopqrstuvwxyz01234", &d, &diag),
                     0); /* a 31-byte calendar name */
    assert_int_equal(d.sales_volume, 0);
    assert_string_equal(d.calendar, "abcdefghijklmnopqrstuvwxyz01234");
    dealer_cleanup(&d);
    assert_int_equal(dealer_from_fields("x", "n", "", "1000000000",
                                        "America/Argentina/Buenos_Aires", "7", &d, &diag),
                     0);
    assert_int_equal(d.sales_volume, 1000000000);
    dealer_cleanup(&d);
    assert_int_equal(dealer_from_fields("x", "n", "", "", "UTC", "", &d, &diag), 0);
    dealer_cleanup(&d);
}

/* Checks that a dealer row fails with `msg` and leaves *out untouched. */
static void dealer_bad_cal(const char *code, const char *name, const char *region, const char *sv,
                           const char *tz, const char *cal, const char *msg)
{
    struct dealer d = {.code = (char *)"sentinel", .sales_volume = 77};
    struct dbot_diag diag = {{0}};
    assert_int_equal(dealer_from_fields(code, name, region, sv, tz, cal, &d, &diag),
                     DBOT_ERR_INVALID);
    assert_string_equal(diag.msg, msg);
    assert_string_equal(d.code, "sentinel");
    assert_int_equal(d.sales_volume, 77);
}

static void dealer_bad(const char *code, const char *name, const char *region, const char *sv,
                       const char *tz, const char *msg)
{
    dealer_bad_cal(code, name, region, sv, tz, "", msg);
}

static void test_dealer_bad(void **state)
{
    (void)state;
    const char *code_msg = "code: must be 1-32 of A-Z a-z 0-9 _ -";
    dealer_bad("", "n", "", "", "", code_msg);
    dealer_bad("   ", "n", "", "", "", code_msg);
    dealer_bad("SH 01", "n", "", "", "", code_msg);
    dealer_bad("SH.01", "n", "", "", "", code_msg);
    dealer_bad("上海", "n", "", "", "", code_msg);
    dealer_bad("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "n", "", "", "", code_msg); /* 33 */
    dealer_bad("Brand", "n", "", "", "", "code: brand is reserved for brand staff");

    dealer_bad("D1", "", "", "", "", "name: must not be empty");
    dealer_bad("D1", "  ", "", "", "", "name: must not be empty");
    dealer_bad("D1", "two\nlines", "", "", "", "name: must be one line without control characters");
    dealer_bad("D1", "bad \xC3(", "", "", "", "name: not valid UTF-8");
    char name[129 * 3 + 1];
    for (int i = 0; i < 129; i++)
        memcpy(name + 3 * i, "店", 3);
    name[129 * 3] = '\0';
    dealer_bad("D1", name, "", "", "", "name: longer than 128 characters");
    dealer_bad("D1", "n", "a\tb\rc", "", "", "region: must be one line without control characters");

    const char *sv_msg = "sales_volume: must be a whole number from 0 to 1000000000, or empty";
    dealer_bad("D1", "n", "", "abc", "", sv_msg);
    dealer_bad("D1", "n", "", "-1", "", sv_msg);
    dealer_bad("D1", "n", "", "1.5", "", sv_msg);
    dealer_bad("D1", "n", "", "1,000", "", sv_msg);
    dealer_bad("D1", "n", "", "1000000001", "", sv_msg);
    dealer_bad("D1", "n", "", "99999999999999999999999", "", sv_msg);
    dealer_bad("D1", "n", "", "+5", "", sv_msg);

    const char *tz_msg = "timezone: must be an IANA zone name like Asia/Shanghai, or empty";
    dealer_bad("D1", "n", "", "", "../../etc/passwd", tz_msg);
    dealer_bad("D1", "n", "", "", "/etc/localtime", tz_msg);
    dealer_bad("D1", "n", "", "", "Asia//Shanghai", tz_msg);
    dealer_bad("D1", "n", "", "", "Asia/", tz_msg);
    dealer_bad("D1", "n", "", "", "Asia/Shang hai", tz_msg);
    dealer_bad("D1", "n", "", "", "-rf", tz_msg);
    dealer_bad("D1", "n", "", "", "Asia/./Shanghai", tz_msg);
    dealer_bad("D1", "n", "", "", "亚洲/上海", tz_msg);

    /* A calendar name has the config's shape; whether it is defined is the caller's check. */
    const char *cal_msg = "calendar: must be a calendar name (1-31 of a-z 0-9 _ -), or empty";
    static const char *const bad_cals[] = {
        "CN", "cn work", "cn.work", "cn/x", "日历", "abcdefghijklmnopqrstuvwxyz012345", "cn\n",
    };
    for (size_t i = 0; i < sizeof bad_cals / sizeof bad_cals[0]; i++)
        dealer_bad_cal("D1", "n", "", "", "", bad_cals[i], cal_msg);
    /* Fields are checked in order: a bad time zone is named before a bad calendar. */
    dealer_bad_cal("D1", "n", "", "", "/etc/localtime", "CN", tz_msg);
}

static void test_person_ok(void **state)
{
    (void)state;
    struct person p;
    struct dbot_diag diag = {{0}};
    assert_int_equal(
        person_from_fields(" Li.Wei@Example.COM ", " sh01 ", " Manager ", " 李伟 ", "", &p, &diag),
        0);
    assert_string_equal(p.jid, "li.wei@example.com");
    assert_string_equal(p.dealer, "sh01"); /* code as given */
    assert_int_equal(p.role, ROLE_MANAGER);
    assert_string_equal(p.name, "李伟");
    assert_string_equal(p.language, "zh-CN");
    person_cleanup(&p);
    assert_null(p.jid);
    person_cleanup(&p);
    person_cleanup(NULL);

    assert_int_equal(person_from_fields("a@b", "D1", "agent", "A", "EN", &p, &diag), 0);
    assert_string_equal(p.language, "en");
    assert_int_equal(p.role, ROLE_AGENT);
    person_cleanup(&p);

    assert_int_equal(person_from_fields("a@b", "D1", "agent", "A", "zh-cn", &p, &diag), 0);
    assert_string_equal(p.language, "zh-CN");
    person_cleanup(&p);

    static const char *const staff_roles[] = {"agent", "supervisor", "Admin"};
    static const enum person_role want[] = {ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(person_from_fields("boss@brand.example", "BRAND", staff_roles[i], "Boss",
                                            "en", &p, &diag),
                         0);
        assert_null(p.dealer);
        assert_int_equal(p.role, want[i]);
        person_cleanup(&p);
    }

    /* Non-ASCII local parts are allowed (and left as they are). */
    assert_int_equal(person_from_fields("张伟@Chat.Example", "D1", "agent", "张伟", "", &p, &diag),
                     0);
    assert_string_equal(p.jid, "张伟@chat.example");
    person_cleanup(&p);
    /* Upper case beyond ASCII is folded the way servers fold it (nodeprep, nameprep): the
     * stored JID is the one a server reports as the sender. */
    static const char *const folds[][2] = {
        {"Émile@Example.COM", "émile@example.com"},
        {"ΣΟΦΙΑ@Ελλάδα.Example", "σοφια@ελλάδα.example"},
        {"MÜLLER@Bücher.DE", "müller@bücher.de"},
        {"Straße@x", "strasse@x"},      /* case folding, not lower-casing */
        {"ｗａｎｇ@x", "wang@x"},          /* NFKC: full-width letters */
    };
    for (size_t i = 0; i < sizeof folds / sizeof folds[0]; i++) {
        assert_int_equal(person_from_fields(folds[i][0], "D1", "agent", "n", "", &p, &diag), 0);
        assert_string_equal(p.jid, folds[i][1]);
        person_cleanup(&p);
    }
    /* An IP-literal domain. */
    assert_int_equal(person_from_fields("bot@[::1]", "D1", "agent", "B", "", &p, &diag), 0);
    person_cleanup(&p);
}

static void person_bad(const char *jid, const char *dealer, const char *role, const char *name,
                       const char *lang, const char *msg)
{
    struct person p = {.jid = (char *)"sentinel", .role = ROLE_ADMIN};
    struct dbot_diag diag = {{0}};
    assert_int_equal(person_from_fields(jid, dealer, role, name, lang, &p, &diag),
                     DBOT_ERR_INVALID);
    assert_string_equal(diag.msg, msg);
    assert_string_equal(p.jid, "sentinel");
    assert_int_equal(p.role, ROLE_ADMIN);
}

static void test_person_bad(void **state)
{
    (void)state;
    const char *jid_msg = "jid: must look like name@domain";
    static const char *const bad_jids[] = {
        "",       "noat",  "@domain", "user@", "a@b/res", "a b@c", "a@@b",    "a@.b",     "a@b.",
        "a@b..c", "a:b@c", "a\"b@c",  "a<b@c", "tab\t@c", "a@b c", "a\x01@b", "a@b\xC3(",
    };
    for (size_t i = 0; i < sizeof bad_jids / sizeof bad_jids[0]; i++)
        person_bad(bad_jids[i], "D1", "agent", "n", "", jid_msg);

    const char *dealer_msg = "dealer: must be a dealer code (1-32 of A-Z a-z 0-9 _ -) or brand";
    person_bad("a@b", "", "agent", "n", "", dealer_msg);
    person_bad("a@b", "D 1", "agent", "n", "", dealer_msg);
    person_bad("a@b", "brand!", "agent", "n", "", dealer_msg);

    const char *dealer_role = "role: must be agent or manager for a dealer";
    person_bad("a@b", "D1", "supervisor", "n", "", dealer_role);
    person_bad("a@b", "D1", "admin", "n", "", dealer_role);
    person_bad("a@b", "D1", "boss", "n", "", dealer_role);
    person_bad("a@b", "D1", "", "n", "", dealer_role);
    person_bad("a@b", "D1", "a very long role name indeed", "n", "", dealer_role);

    const char *brand_role = "role: must be agent, supervisor or admin for brand staff";
    person_bad("a@b", "brand", "manager", "n", "", brand_role);
    person_bad("a@b", "brand", "ceo", "n", "", brand_role);

    person_bad("a@b", "D1", "agent", "", "", "name: must not be empty");
    person_bad("a@b", "D1", "agent", "x\ny", "",
               "name: must be one line without control characters");

    const char *lang_msg = "language: must be zh-CN or en";
    person_bad("a@b", "D1", "agent", "n", "fr", lang_msg);
    person_bad("a@b", "D1", "agent", "n", "zh", lang_msg);
    person_bad("a@b", "D1", "agent", "n", "english", lang_msg);
}

static void test_null_diag(void **state)
{
    (void)state;
    struct dealer d;
    struct person p;
    assert_int_equal(dealer_from_fields("", "n", "", "", "", "", &d, NULL), DBOT_ERR_INVALID);
    assert_int_equal(person_from_fields("x", "D1", "agent", "n", "", &p, NULL), DBOT_ERR_INVALID);
}

static void test_room_name(void **state)
{
    (void)state;
    char buf[48];
    assert_string_equal(dealer_room_name("SH001", buf, sizeof buf), "dealer-sh001");
    assert_string_equal(dealer_room_name("Bj_02-x", buf, sizeof buf), "dealer-bj_02-x");
    char tiny[10];
    assert_string_equal(dealer_room_name("ABCDEFG", tiny, sizeof tiny), "dealer-ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_parse_and_name), cmocka_unit_test(test_dealer_ok),
        cmocka_unit_test(test_dealer_bad),          cmocka_unit_test(test_person_ok),
        cmocka_unit_test(test_person_bad),          cmocka_unit_test(test_null_diag),
        cmocka_unit_test(test_room_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
