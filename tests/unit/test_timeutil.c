/* Unit tests for src/util/timeutil.c: durations, RFC 3339 parse/format, clocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "dealerbot/error.h"
#include "dealerbot/timeutil.h"

static void test_duration_parse_ok(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t v;
    } cases[] = {
        {"0s", 0},
        {"90s", 90},
        {"30m", 1800},
        {"12h", 43200},
        {"5d", 432000},
        {"1d12h", 129600},
        {"1h30m", 5400},
        {"1d2h3m4s", 93784},
        {"2h30s", 7230},
        {"007m", 420},
        {"100000d", INT64_C(8640000000)},
        {"106751991167300d", INT64_C(106751991167300) * 86400},
        {"9223372036854775807s", INT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = -1;
        assert_int_equal(duration_parse(cases[i].s, &v), 0);
        assert_true(v == cases[i].v);
    }
}

static void test_duration_parse_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "h",
        "12x",
        "-1h",
        "+1h",
        " 1h",
        "1h ",
        "1 h",
        "12",
        "1.5h",
        "1h1h",
        "12h1d",
        "1s1m",
        "d1",
        "1dd",
        "1H",
        "0x10s",
        "1d 12h",
        "9223372036854775808s",
        "106751991167301d",
        "9223372036854775807s1m",
        "99999999999999999999999d",
        "1d12",
        "\t1h",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        assert_int_equal(duration_parse(bad[i], &v), DBOT_ERR_INVALID);
        assert_true(v == 42); /* untouched on failure */
    }
    int64_t v;
    assert_int_equal(duration_parse(NULL, &v), DBOT_ERR_INVALID);
}

static void test_duration_format(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(duration_format(0, buf, sizeof buf), "0s");
    assert_string_equal(duration_format(43200, buf, sizeof buf), "12h");
    assert_string_equal(duration_format(129600, buf, sizeof buf), "1d12h");
    assert_string_equal(duration_format(90, buf, sizeof buf), "1m30s");
    assert_string_equal(duration_format(93784, buf, sizeof buf), "1d2h3m4s");
    assert_string_equal(duration_format(86400 + 5, buf, sizeof buf), "1d5s");
    assert_string_equal(duration_format(-3600, buf, sizeof buf), "-1h");
    duration_format(INT64_MIN, buf, sizeof buf);
    assert_true(buf[0] == '-');
    /* Small buffers truncate but stay terminated. */
    char tiny[4];
    duration_format(129600, tiny, sizeof tiny);
    assert_true(strlen(tiny) < sizeof tiny);

    /* Round trip. */
    static const int64_t vals[] = {1, 59, 60, 61, 3599, 3600, 86399, 86400, 1234567, INT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        int64_t back;
        duration_format(vals[i], buf, sizeof buf);
        assert_int_equal(duration_parse(buf, &back), 0);
        assert_true(back == vals[i]);
    }
}

static void test_rfc3339_parse_ok(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t v;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T00:00:01z", 1},
        {"1969-12-31T23:59:59Z", -1},
        {"2026-11-23T14:30:00Z", INT64_C(1795444200)},
        {"2026-11-23T22:30:00+08:00", INT64_C(1795444200)},
        {"2026-11-23T09:00:00-05:30", INT64_C(1795444200)},
        {"2026-11-23t14:30:00.999999Z", INT64_C(1795444200)},
        {"2026-11-23 14:30:00.5+00:00", INT64_C(1795444200)},
        {"2000-02-29T00:00:00Z", INT64_C(951782400)},
        {"2024-02-29T12:00:00Z", INT64_C(1709208000)},
        {"2038-01-19T03:14:08Z", INT64_C(2147483648)},
        {"1900-01-01T00:00:00Z", INT64_C(-2208988800)},
        {"9999-12-31T23:59:59Z", INT64_C(253402300799)},
        {"2016-12-31T23:59:60Z", INT64_C(1483228800)}, /* leap second = next minute */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = 0;
        int rc = rfc3339_parse(cases[i].s, &v);
        if (rc != 0)
            fail_msg("rejected %s", cases[i].s);
        if (v != cases[i].v)
            fail_msg("%s -> %lld, want %lld", cases[i].s, (long long)v, (long long)cases[i].v);
    }
}

static void test_rfc3339_parse_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026-11-23",
        "2026-11-23T14:30:00",  /* no offset */
        "2026-02-30T00:00:00Z", /* Feb 30 */
        "2025-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z", /* century, not a leap year */
        "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "2026-01-01T24:00:00Z", /* hour 24 */
        "2026-01-01T23:60:00Z",
        "2026-01-01T23:59:61Z",
        "2026-01-01T00:00:00+24:00",
        "2026-01-01T00:00:00+08:60",
        "2026-01-01T00:00:00+0800",
        "2026-01-01T00:00:00+8:00",
        "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00ZZ",
        "2026-01-01T00:00:00Z ",
        " 2026-01-01T00:00:00Z",
        "2026-1-01T00:00:00Z",
        "26-01-01T00:00:00Z",
        "2026/01/01T00:00:00Z",
        "2026-01-01X00:00:00Z",
        "2026-01-01T0:00:00Z",
        "2026-01-01T00:00Z",
        "+2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00UTC",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        if (rfc3339_parse(bad[i], &v) != DBOT_ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(v == 42);
    }
    int64_t v;
    assert_int_equal(rfc3339_parse(NULL, &v), DBOT_ERR_INVALID);
}

static void test_rfc3339_format(void **state)
{
    (void)state;
    char buf[26];
    assert_string_equal(rfc3339_format(0, 0, buf, sizeof buf), "1970-01-01T00:00:00Z");
    assert_string_equal(rfc3339_format(-1, 0, buf, sizeof buf), "1969-12-31T23:59:59Z");
    assert_string_equal(rfc3339_format(INT64_C(1795444200), 8 * 3600, buf, sizeof buf),
                        "2026-11-23T22:30:00+08:00");
    assert_string_equal(rfc3339_format(INT64_C(1795444200), -(5 * 3600 + 1800), buf, sizeof buf),
                        "2026-11-23T09:00:00-05:30");
    assert_string_equal(rfc3339_format(INT64_C(1709208000), 0, buf, sizeof buf),
                        "2024-02-29T12:00:00Z");
    /* An offset with seconds cannot be written in RFC 3339: shown as UTC. */
    assert_string_equal(rfc3339_format(0, 8 * 3600 + 343, buf, sizeof buf), "1970-01-01T00:00:00Z");

    /* Every day over several years survives format -> parse, at several offsets. */
    static const int32_t offs[] = {0, 3600, -3600, 8 * 3600, -(9 * 3600 + 30 * 60), 14 * 3600};
    for (int64_t t = INT64_C(-2208988800); t < INT64_C(4102444800); t += 86400 * 7 + 3671) {
        for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
            int64_t back;
            rfc3339_format(t, offs[i], buf, sizeof buf);
            assert_int_equal(rfc3339_parse(buf, &back), 0);
            assert_true(back == t);
        }
    }

    /* Short buffer: terminated. */
    char tiny[8];
    rfc3339_format(0, 0, tiny, sizeof tiny);
    assert_true(strlen(tiny) == sizeof tiny - 1);
}

/* Compare our arithmetic with the C library's gmtime_r on a spread of instants. */
static void test_against_gmtime(void **state)
{
    (void)state;
    char buf[32], ref[32];
    for (int64_t t = INT64_C(-4000000000); t < INT64_C(8000000000); t += INT64_C(9876543)) {
        time_t tt = (time_t)t;
        struct tm tm;
        assert_non_null(gmtime_r(&tt, &tm));
        strftime(ref, sizeof ref, "%Y-%m-%dT%H:%M:%SZ", &tm);
        rfc3339_format(t, 0, buf, sizeof buf);
        assert_string_equal(buf, ref);
    }
}

static void test_format_local(void **state)
{
    (void)state;
    char buf[32];
    int64_t back;
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;

    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    assert_string_equal(rfc3339_format_local(INT64_C(1795444200), buf, sizeof buf),
                        "2026-11-23T22:30:00+08:00");

    setenv("TZ", "UTC", 1);
    tzset();
    assert_string_equal(rfc3339_format_local(0, buf, sizeof buf), "1970-01-01T00:00:00Z");

    setenv("TZ", "America/New_York", 1);
    tzset();
    /* Summer (EDT) and winter (EST). */
    assert_string_equal(rfc3339_format_local(INT64_C(1782907200), buf, sizeof buf),
                        "2026-07-01T08:00:00-04:00");
    assert_string_equal(rfc3339_format_local(INT64_C(1795444200), buf, sizeof buf),
                        "2026-11-23T09:30:00-05:00");
    assert_int_equal(rfc3339_parse(buf, &back), 0);
    assert_true(back == INT64_C(1795444200));

    if (saved) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

/* Offsets of named zones at given instants, DST included; formatting for people. */
static void test_zone_offset_and_wall(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(rfc3339_parse("2026-01-15T12:00:00Z", &t), 0);
    assert_int_equal(timeutil_zone_offset("Asia/Shanghai", t), 8 * 3600);
    assert_int_equal(timeutil_zone_offset("Europe/Berlin", t), 3600);
    assert_int_equal(rfc3339_parse("2026-07-15T12:00:00Z", &t), 0);
    assert_int_equal(timeutil_zone_offset("Europe/Berlin", t), 7200);   /* summer time */
    assert_int_equal(timeutil_zone_offset("No/Such_Zone", t), 0);
    assert_int_equal(timeutil_zone_offset("../etc/passwd", t), 0);
    /* the process's own zone is left as it was */
    const char *tz = getenv("TZ");
    char before[64];
    snprintf(before, sizeof before, "%s", tz ? tz : "(unset)");
    (void)timeutil_zone_offset("America/New_York", t);
    tz = getenv("TZ");
    assert_string_equal(tz ? tz : "(unset)", before);

    char buf[17];
    assert_int_equal(rfc3339_parse("2026-11-23T17:30:45Z", &t), 0);
    assert_string_equal(timeutil_format_wall(t, 8 * 3600, buf, sizeof buf), "2026-11-24 01:30");
    assert_string_equal(timeutil_format_wall(t, 0, buf, sizeof buf), "2026-11-23 17:30");
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t now = timeutil_now();
    int64_t now_us = timeutil_now_us();
    assert_true(now > INT64_C(1700000000));
    assert_true(now_us / 1000000 - now <= 1);
    int64_t a = timeutil_mono_us();
    int64_t b = timeutil_mono_us();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_parse_ok),
        cmocka_unit_test(test_duration_parse_bad),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_rfc3339_parse_ok),
        cmocka_unit_test(test_rfc3339_parse_bad),
        cmocka_unit_test(test_rfc3339_format),
        cmocka_unit_test(test_against_gmtime),
        cmocka_unit_test(test_format_local),
        cmocka_unit_test(test_zone_offset_and_wall),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
