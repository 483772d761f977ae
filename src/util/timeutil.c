/*
 * timeutil.c — durations and RFC 3339 instants, as text and as int64 seconds.
 *
 * Calendar arithmetic is done here on plain integers (days from the civil date, proleptic
 * Gregorian calendar) rather than through mktime()/timegm(): mktime depends on TZ, timegm is
 * not in POSIX, and both accept out-of-range fields by normalising them, which is exactly what
 * a parser must not do ("Feb 30" is an error here, not "Mar 2").
 */
#include "dealerbot/timeutil.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dealerbot/civil.h"
#include "dealerbot/error.h"

#define SECS_PER_DAY INT64_C(86400)

/* Durations are written with these units, largest first. */
static const struct {
    char unit;
    int64_t secs;
} duration_units[] = {
    {'d', SECS_PER_DAY},
    {'h', 3600},
    {'m', 60},
    {'s', 1},
};

#define N_UNITS (sizeof duration_units / sizeof duration_units[0])

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * A duration is one or more <digits><unit> terms, units in decreasing order and each at most
 * once ("1d12h", not "12h1d" or "1h1h"), so that every accepted text has one obvious reading.
 * Anything else — sign, space, fraction, missing unit — is rejected.
 */
int duration_parse(const char *s, int64_t *out)
{
    if (!s || !*s)
        return DBOT_ERR_INVALID;

    int64_t total = 0;
    size_t next_unit = 0; /* index of the largest unit still allowed */
    const char *p = s;

    while (*p) {
        if (!is_digit(*p))
            return DBOT_ERR_INVALID;
        int64_t n = 0;
        while (is_digit(*p)) {
            int d = *p - '0';
            if (n > (INT64_MAX - d) / 10)
                return DBOT_ERR_INVALID;
            n = n * 10 + d;
            p++;
        }
        size_t u = next_unit;
        while (u < N_UNITS && duration_units[u].unit != *p)
            u++;
        if (u == N_UNITS)
            return DBOT_ERR_INVALID; /* no unit, unknown unit, or unit out of order */
        int64_t mul = duration_units[u].secs;
        if (n > INT64_MAX / mul)
            return DBOT_ERR_INVALID;
        n *= mul;
        if (total > INT64_MAX - n)
            return DBOT_ERR_INVALID;
        total += n;
        next_unit = u + 1;
        p++;
    }
    *out = total;
    return 0;
}

char *duration_format(int64_t secs, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';

    /* Work on the magnitude as unsigned so INT64_MIN has one too. */
    uint64_t v = secs < 0 ? (uint64_t)0 - (uint64_t)secs : (uint64_t)secs;
    size_t used = 0;
    if (secs < 0) {
        int n = snprintf(buf, len, "-");
        if (n < 0 || (size_t)n >= len)
            return buf;
        used = (size_t)n;
    }
    if (v == 0) {
        snprintf(buf + used, len - used, "0s");
        return buf;
    }
    for (size_t i = 0; i < N_UNITS && v > 0; i++) {
        uint64_t unit = (uint64_t)duration_units[i].secs;
        uint64_t q = v / unit;
        if (q == 0)
            continue;
        v -= q * unit;
        int n = snprintf(buf + used, len - used, "%llu%c", (unsigned long long)q,
                         duration_units[i].unit);
        if (n < 0 || (size_t)n >= len - used)
            return buf; /* truncated, but terminated */
        used += (size_t)n;
    }
    return buf;
}

/* Reads exactly n digits at *p into *out and advances *p. */
static bool take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool take_char(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/*
 * RFC 3339 section 5.6 date-time: full-date ("T" / "t" / " ") partial-time time-offset.
 * Second 60 is accepted (a leap second, as RFC 3339 allows) and counts as the next minute's
 * first second, like POSIX time does. The fraction is read and dropped.
 */
int rfc3339_parse(const char *s, int64_t *out)
{
    if (!s)
        return DBOT_ERR_INVALID;
    const char *p = s;
    int year, mon, day, hour, min, sec;

    if (!take_digits(&p, 4, &year) || !take_char(&p, '-') || !take_digits(&p, 2, &mon) ||
        !take_char(&p, '-') || !take_digits(&p, 2, &day))
        return DBOT_ERR_INVALID;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return DBOT_ERR_INVALID;
    p++;
    if (!take_digits(&p, 2, &hour) || !take_char(&p, ':') || !take_digits(&p, 2, &min) ||
        !take_char(&p, ':') || !take_digits(&p, 2, &sec))
        return DBOT_ERR_INVALID;
    if (*p == '.') {
        p++;
        if (!is_digit(*p))
            return DBOT_ERR_INVALID;
        while (is_digit(*p))
            p++;
    }

    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om;
        p++;
        if (!take_digits(&p, 2, &oh) || !take_char(&p, ':') || !take_digits(&p, 2, &om))
            return DBOT_ERR_INVALID;
        if (oh > 23 || om > 59)
            return DBOT_ERR_INVALID;
        offset = sign * (int64_t)(oh * 3600 + om * 60);
    } else {
        return DBOT_ERR_INVALID;
    }
    if (*p != '\0')
        return DBOT_ERR_INVALID;

    if (!civil_date_valid(year, mon, day))
        return DBOT_ERR_INVALID;
    if (hour > 23 || min > 59 || sec > 60)
        return DBOT_ERR_INVALID;

    int64_t t = civil_days(year, mon, day) * SECS_PER_DAY + hour * 3600 + min * 60 + sec;
    *out = t - offset;
    return 0;
}

char *rfc3339_format(int64_t t, int32_t offset_s, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    /* RFC 3339 offsets have no seconds; a zone with such an offset (local mean time in old
     * tz data) is shown in UTC instead, which names the same instant. Offsets beyond a day
     * are not real either. */
    if (offset_s % 60 != 0 || offset_s <= -86400 || offset_s >= 86400)
        offset_s = 0;
    /* Keep the arithmetic away from overflow for absurd inputs. */
    const int64_t lim = INT64_MAX / 4;
    if (t > lim)
        t = lim;
    if (t < -lim)
        t = -lim;

    int64_t local = t + offset_s;
    int64_t days = local / SECS_PER_DAY;
    int64_t rem = local % SECS_PER_DAY;
    if (rem < 0) {
        rem += SECS_PER_DAY;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int hh = (int)(rem / 3600), mm = (int)(rem % 3600 / 60), ss = (int)(rem % 60);

    if (offset_s == 0) {
        snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, hh, mm, ss);
    } else {
        int32_t a = offset_s < 0 ? -offset_s : offset_s;
        snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)y, m, d, hh, mm,
                 ss, offset_s < 0 ? '-' : '+', (int)(a / 3600), (int)(a % 3600 / 60));
    }
    return buf;
}

char *rfc3339_format_local(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    int32_t off = 0;
    if (localtime_r(&tt, &tm))
        off = (int32_t)tm.tm_gmtoff;
    return rfc3339_format(t, off, buf, len);
}

int32_t timeutil_zone_offset(const char *tz, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!tz || !tz[0])
        return localtime_r(&tt, &tm) ? (int32_t)tm.tm_gmtoff : 0;
    if (!timeutil_zone_exists(tz))
        return 0;
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    if (old && !saved)
        return 0;
    int32_t off = 0;
    if (setenv("TZ", tz, 1) == 0) {
        tzset();
        if (localtime_r(&tt, &tm))
            off = (int32_t)tm.tm_gmtoff;
    }
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
    return off;
}

char *timeutil_format_wall(int64_t t, int32_t offset_s, char *buf, size_t len)
{
    char full[32];
    rfc3339_format(t, offset_s, full, sizeof full);
    /* "2026-11-24T09:30:00+08:00" -> "2026-11-24 09:30" */
    full[10] = ' ';
    full[16] = '\0';
    snprintf(buf, len, "%s", full);
    return buf;
}

int64_t timeutil_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t timeutil_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t timeutil_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool timeutil_zone_exists(const char *tz)
{
    if (!tz[0] || tz[0] == '/' || strstr(tz, ".."))
        return false;
    for (const char *p = tz; *p; p++) {
        char c = *p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !strchr("/_-+", c))
            return false;
    }
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    char path[512];
    int n = snprintf(path, sizeof path, "%s/%s", dir, tz);
    if (n < 0 || (size_t)n >= sizeof path)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    struct stat sb;
    char magic[4];
    bool ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
              read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
              memcmp(magic, "TZif", 4) == 0;
    close(fd);
    return ok;
}
