/* Unit tests for src/util/timeutil.c: durations, RFC 3339 parse/format, clocks, the zone
 * cache (against glibc, read once, threads) and the TZif parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* The offset glibc's localtime_r() gives in zone tz at t (TZ set by the caller). */
static int32_t libc_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    assert_non_null(localtime_r(&tt, &tm));
    return (int32_t)tm.tm_gmtoff;
}

static void set_tz(const char *tz)
{
    if (tz)
        setenv("TZ", tz, 1);
    else
        unsetenv("TZ");
    tzset();
}

/*
 * The zone cache gives what glibc gives, zone by zone, from 1850 (local mean time, before the
 * first transition) to 2100 (past the transitions a file lists: the footer's rule): every
 * 13 h 7 min, and to the second around each change found that way (the instant itself and
 * the seconds on each side). Zones with summer time north and south, half-hour and 30-minute
 * summer time, negative summer time, double summer time, a skipped day, summer time
 * abolished, and historic changes of standard time.
 */
static void test_zone_offset_matches_libc(void **state)
{
    (void)state;
    static const char *const zones[] = {
        "America/New_York", "Europe/London",    "Europe/Dublin",     "Australia/Sydney",
        "Australia/Lord_Howe", "Asia/Shanghai", "America/Sao_Paulo", "Africa/Casablanca",
        "Pacific/Apia",     "America/Santiago", "Antarctica/Troll",  "Asia/Kolkata",
        "Europe/Moscow",    "Pacific/Chatham",  "America/St_Johns",  "UTC",
        "EST5EDT",          "Asia/Tehran",      "Europe/Berlin",     "America/Godthab",
    };
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    int64_t from, to;
    assert_int_equal(rfc3339_parse("1850-01-01T00:00:00Z", &from), 0);
    assert_int_equal(rfc3339_parse("2100-12-31T00:00:00Z", &to), 0);
    long changes = 0;
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        set_tz(zones[z]);
        int32_t prev = libc_offset(from);
        int64_t prev_t = from;
        for (int64_t t = from; t <= to; t += 13 * 3600 + 7 * 60) {
            int32_t want = libc_offset(t);
            int32_t got = timeutil_zone_offset(zones[z], t);
            if (got != want)
                fail_msg("%s at %lld: %d, libc %d", zones[z], (long long)t, got, want);
            if (want != prev) {
                /* the change is in (prev_t, t]: find its second */
                int64_t lo = prev_t, hi = t;
                while (hi - lo > 1) {
                    int64_t mid = lo + (hi - lo) / 2;
                    if (libc_offset(mid) == prev)
                        lo = mid;
                    else
                        hi = mid;
                }
                for (int64_t u = hi - 2; u <= hi + 1; u++) {
                    int32_t w = libc_offset(u), g = timeutil_zone_offset(zones[z], u);
                    if (g != w)
                        fail_msg("%s at %lld (a change): %d, libc %d", zones[z], (long long)u, g,
                                 w);
                }
                changes++;
            }
            prev = want;
            prev_t = t;
        }
        /* the process's zone takes the same road */
        for (int64_t t = from; t <= to; t += 997 * 3600 + 17)
            assert_int_equal(timeutil_zone_offset(NULL, t), libc_offset(t));
    }
    assert_true(changes > 2000);
    set_tz(saved);
    free(saved);
}

/*
 * A zone file is read once: a thousand offsets later it has been read one time, and the
 * answer stays when the file is gone (the running process keeps its tzdata) until the cache
 * is cleared. Before the cache every call read the file, twice.
 */
static void test_zone_read_once(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbot-tz-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[64], path[96], cmd[300];
    snprintf(sub, sizeof sub, "%s/Test", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/Zone", sub);
    snprintf(cmd, sizeof cmd, "cp /usr/share/zoneinfo/Europe/Berlin '%s'", path);
    assert_int_equal(system(cmd), 0);
    const char *old = getenv("TZDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TZDIR", dir, 1);

    int64_t winter, summer;
    assert_int_equal(rfc3339_parse("2026-01-15T12:00:00Z", &winter), 0);
    assert_int_equal(rfc3339_parse("2026-07-15T12:00:00Z", &summer), 0);
    unsigned long loads = timeutil_zone_loads();
    for (int i = 0; i < 500; i++) {
        assert_int_equal(timeutil_zone_offset("Test/Zone", winter + i), 3600);
        assert_int_equal(timeutil_zone_offset("Test/Zone", summer + i), 7200);
    }
    assert_int_equal(timeutil_zone_loads(), loads + 1);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(timeutil_zone_offset("Test/Zone", summer), 7200);
    assert_false(timeutil_zone_exists("Test/Zone")); /* the file is gone */
    assert_int_equal(timeutil_zone_loads(), loads + 1);
    timeutil_zone_cache_clear();
    assert_int_equal(timeutil_zone_offset("Test/Zone", summer), 0);
    assert_int_equal(timeutil_zone_loads(), loads + 2);
    /* an unknown zone is remembered as unknown too */
    assert_int_equal(timeutil_zone_offset("Test/Zone", winter), 0);
    assert_int_equal(timeutil_zone_loads(), loads + 2);

    if (saved)
        setenv("TZDIR", saved, 1);
    else
        unsetenv("TZDIR");
    free(saved);
    timeutil_zone_cache_clear();
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(rmdir(dir), 0);
}

struct zone_job {
    const char *zone;
    int64_t t0;
    int32_t want[500];
    int bad;
};

static void *zone_worker(void *arg)
{
    struct zone_job *j = arg;
    for (int round = 0; round < 20; round++) {
        if (round == 10 && j->zone[0] == 'E')
            timeutil_zone_cache_clear(); /* clearing while others read */
        for (int i = 0; i < 500; i++)
            if (timeutil_zone_offset(j->zone, j->t0 + (int64_t)i * 86400 * 3) != j->want[i])
                j->bad++;
    }
    return NULL;
}

/* Threads asking for zones at once (one of them clearing the cache meanwhile) get the same
 * answers as one thread alone. */
static void test_zone_threads(void **state)
{
    (void)state;
    static const char *const zones[] = {"Europe/Paris", "America/Chicago", "Australia/Perth",
                                        "Asia/Tokyo"};
    struct zone_job jobs[4];
    pthread_t th[4];
    timeutil_zone_cache_clear();
    for (int k = 0; k < 4; k++) {
        jobs[k].zone = zones[k];
        jobs[k].bad = 0;
        assert_int_equal(rfc3339_parse("2020-01-01T00:00:00Z", &jobs[k].t0), 0);
        for (int i = 0; i < 500; i++)
            jobs[k].want[i] = timeutil_zone_offset(zones[k], jobs[k].t0 + (int64_t)i * 86400 * 3);
    }
    timeutil_zone_cache_clear();
    for (int k = 0; k < 4; k++)
        assert_int_equal(pthread_create(&th[k], NULL, zone_worker, &jobs[k]), 0);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(pthread_join(th[k], NULL), 0);
        assert_int_equal(jobs[k].bad, 0);
    }
}

/* Bytes that are not a zone file are refused, whole or cut anywhere; a real file parses. */
static void test_zone_parse_bytes(void **state)
{
    (void)state;
    FILE *f = fopen("/usr/share/zoneinfo/America/New_York", "rb");
    assert_non_null(f);
    static unsigned char buf[8192];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(len > 100 && len < sizeof buf);

    struct tz_table *z = NULL;
    assert_int_equal(timeutil_zone_parse(buf, len, &z), 0);
    int64_t t;
    assert_int_equal(rfc3339_parse("2150-07-01T12:00:00Z", &t), 0); /* the footer's rule */
    assert_int_equal(timeutil_zone_at(z, t), -4 * 3600);
    assert_int_equal(rfc3339_parse("2150-12-01T12:00:00Z", &t), 0);
    assert_int_equal(timeutil_zone_at(z, t), -5 * 3600);
    timeutil_zone_free(z);

    for (size_t cut = 0; cut < len; cut++) {
        z = NULL;
        int rc = timeutil_zone_parse(buf, cut, &z);
        if (rc == 0)
            fail_msg("a file cut at %zu bytes of %zu parsed", cut, len);
        assert_int_equal(rc, DBOT_ERR_INVALID);
    }
    buf[0] = 'X';
    assert_int_equal(timeutil_zone_parse(buf, len, &z), DBOT_ERR_INVALID);
    buf[0] = 'T';
    /* a footer that is not a TZ rule */
    assert_true(buf[len - 1] == '\n');
    size_t nl = len - 2;
    while (buf[nl] != '\n')
        nl--;
    memcpy(buf + nl + 1, "EST5EDT,M3.2.0,M13.1.0", 22);
    assert_int_equal(timeutil_zone_parse(buf, nl + 1 + 22 + 1, &z), DBOT_ERR_INVALID);
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
        cmocka_unit_test(test_zone_offset_matches_libc),
        cmocka_unit_test(test_zone_read_once),
        cmocka_unit_test(test_zone_threads),
        cmocka_unit_test(test_zone_parse_bytes),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
