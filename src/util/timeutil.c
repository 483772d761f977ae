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
#include <pthread.h>
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

/* ---- time zones: TZif files read once, kept per zone ---------------------------------------
 *
 * timeutil_zone_offset() used to point TZ at the zone, call tzset() (which reads the zone file)
 * and put TZ back (another read): two file reads per call, 10-20 calls per intake, and a
 * process-wide environment change that no other thread could survive. Now each zone file is
 * read and parsed once (RFC 8536: the 64-bit data of a version 2+ file, else the 32-bit data
 * of version 1) into a table of transitions plus the POSIX TZ rule of its footer for the
 * instants after the last one, and kept under its path. tzdata does not change under a
 * running process; timeutil_zone_cache_clear() drops everything when it may have.
 *
 * The answers follow glibc's localtime_r(), which the tests compare them with: before the
 * first transition the first standard-time type applies; from the last transition on, the
 * footer rule does when there is one (else the last type). The leap-second table of a
 * "right/" zone is skipped: it moves the seconds of a broken-down time, not the UTC offset.
 *
 * The cache is a small table under a mutex, so any thread may ask; the look-up and the
 * computation (a binary search, or a few calendar sums for a rule) run under it, which is what
 * makes clearing safe while others read. */

#define ZONE_FILE_MAX (512 * 1024) /* a real zone file is a few kB */
#define ZONE_CACHE_MAX 128         /* distinct zones kept; more are read per call */
#define ZONE_TRANS_MAX 4096        /* the largest real zone has a few hundred */
#define ZONE_TYPES_MAX 256         /* RFC 8536: typecnt <= 256 */

/* One end of summer time in a POSIX TZ rule: Jn (1..365, Feb 29 never counted), n (0..365)
 * or Mm.w.d (day d of week w of month m, w 5 = the last), at `time` seconds of local time. */
struct tz_rule {
    char kind; /* 'J', 'D' (plain n) or 'M' */
    int day, week, month;
    int32_t time;
};

struct tz_table {
    int64_t *trans;       /* transition instants, ascending */
    uint8_t *trans_type;  /* the type from each transition on */
    int n_trans;
    int32_t utoff[ZONE_TYPES_MAX];
    bool isdst[ZONE_TYPES_MAX];
    int n_types;
    int first_std;        /* the type before the first transition */
    /* the footer rule; has_rule false: the last transition's type stays */
    bool has_rule, rule_dst;
    int32_t std_off, dst_off; /* seconds east */
    struct tz_rule start, end;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* A TZ name: <...> quoted, or three or more letters. Advances *p past it. */
static bool tz_name(const char **p)
{
    const char *s = *p;
    if (*s == '<') {
        s++;
        while (*s && *s != '>')
            if (!strchr("+-", *s) && !(*s >= '0' && *s <= '9') &&
                !((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z'))
                return false;
            else
                s++;
        if (*s != '>' || s - *p < 4)
            return false;
        *p = s + 1;
        return true;
    }
    while ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z')
        s++;
    if (s - *p < 3)
        return false;
    *p = s;
    return true;
}

/* [+-]hh[:mm[:ss]] with hours 0..max_h: 24 for an offset (POSIX), 167 for the time of a
 * rule (RFC 8536 extends it). */
static bool tz_hms(const char **p, int max_h, int32_t *out)
{
    const char *s = *p;
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    int v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*s != ':')
                break;
            s++;
        }
        if (!is_digit(*s))
            return false;
        int n = 0, digits = 0;
        while (is_digit(*s) && digits < 3) {
            n = n * 10 + (*s++ - '0');
            digits++;
        }
        v[i] = n;
    }
    if (v[0] > max_h || v[1] > 59 || v[2] > 59)
        return false;
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    *p = s;
    return true;
}

static bool tz_number(const char **p, int lo, int hi, int *out)
{
    const char *s = *p;
    int n = 0, digits = 0;
    while (is_digit(*s) && digits < 3) {
        n = n * 10 + (*s++ - '0');
        digits++;
    }
    if (digits == 0 || n < lo || n > hi)
        return false;
    *out = n;
    *p = s;
    return true;
}

static bool tz_rule(const char **p, struct tz_rule *r)
{
    const char *s = *p;
    memset(r, 0, sizeof *r);
    if (*s == 'J') {
        s++;
        r->kind = 'J';
        if (!tz_number(&s, 1, 365, &r->day))
            return false;
    } else if (*s == 'M') {
        s++;
        r->kind = 'M';
        if (!tz_number(&s, 1, 12, &r->month) || *s++ != '.' || !tz_number(&s, 1, 5, &r->week) ||
            *s++ != '.' || !tz_number(&s, 0, 6, &r->day))
            return false;
    } else {
        r->kind = 'D';
        if (!tz_number(&s, 0, 365, &r->day))
            return false;
    }
    r->time = 2 * 3600;
    if (*s == '/') {
        s++;
        if (!tz_hms(&s, 167, &r->time))
            return false;
    }
    *p = s;
    return true;
}

/* The TZ string of a footer: std offset [dst [offset] [,start[/time],end[/time]]]. An empty
 * string means "no rule". 0, or -1 when it does not parse. */
static int tz_parse_rule(const char *s, struct tz_table *z)
{
    z->has_rule = false;
    if (!*s)
        return 0;
    int32_t off;
    if (!tz_name(&s) || !tz_hms(&s, 24, &off))
        return -1;
    z->std_off = -off; /* POSIX counts west */
    z->dst_off = z->std_off;
    z->rule_dst = false;
    if (*s) {
        if (!tz_name(&s))
            return -1;
        z->dst_off = z->std_off + 3600;
        if (*s && *s != ',') {
            if (!tz_hms(&s, 24, &off))
                return -1;
            z->dst_off = -off;
        }
        /* no rule given: POSIX leaves it to the implementation; glibc takes the US rule */
        struct tz_rule us_start = {'M', 0, 2, 3, 7200}, us_end = {'M', 0, 1, 11, 7200};
        z->start = us_start;
        z->end = us_end;
        if (*s == ',') {
            s++;
            if (!tz_rule(&s, &z->start) || *s++ != ',' || !tz_rule(&s, &z->end))
                return -1;
        }
        z->rule_dst = true;
    }
    if (*s)
        return -1;
    z->has_rule = true;
    return 0;
}

static int days_in_month(int64_t y, int m)
{
    return (int)(m == 12 ? civil_days(y + 1, 1, 1) - civil_days(y, 12, 1)
                         : civil_days(y, m + 1, 1) - civil_days(y, m, 1));
}

static bool is_leap(int64_t y)
{
    return days_in_month(y, 2) == 29;
}

/* The instant (UTC) of rule r in year y, when local time then was `off` seconds east. */
static int64_t rule_instant(const struct tz_rule *r, int64_t y, int32_t off)
{
    int64_t day;
    if (r->kind == 'J') {
        day = civil_days(y, 1, 1) + r->day - 1;
        if (is_leap(y) && r->day >= 60)
            day++;
    } else if (r->kind == 'D') {
        day = civil_days(y, 1, 1) + r->day;
    } else {
        int64_t first = civil_days(y, r->month, 1);
        int wd = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
        day = first + (r->day - wd + 7) % 7 + (int64_t)(r->week - 1) * 7;
        while (day - first >= days_in_month(y, r->month))
            day -= 7;
    }
    return day * SECS_PER_DAY + r->time - off;
}

/* The offset the footer rule gives at t: the latest start or end of summer time at or
 * before t, looked for in the years around t (rule times may fall outside their year). */
static int32_t rule_offset(const struct tz_table *z, int64_t t)
{
    if (!z->rule_dst)
        return z->std_off;
    /* a million years either way is as far as a rule is worth following (and keeps the
     * sums below far from overflow) */
    const int64_t lim = INT64_C(1) << 45;
    if (t > lim)
        t = lim;
    if (t < -lim)
        t = -lim;
    int64_t local = t + z->std_off;
    int64_t days = local / SECS_PER_DAY - (local % SECS_PER_DAY < 0);
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t best = INT64_MIN;
    bool dst = false;
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        int64_t on = rule_instant(&z->start, yy, z->std_off);
        int64_t off = rule_instant(&z->end, yy, z->dst_off);
        if (off <= t && off > best) {
            best = off;
            dst = false;
        }
        if (on <= t && on >= best) { /* a tie (summer time all year): summer time */
            best = on;
            dst = true;
        }
    }
    return dst ? z->dst_off : z->std_off;
}

static void zone_free(struct tz_table *z)
{
    if (!z)
        return;
    free(z->trans);
    free(z->trans_type);
    free(z);
}

int timeutil_zone_parse(const void *data, size_t len, struct tz_table **out)
{
    const unsigned char *p = data, *end = p + len;
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return DBOT_ERR_INVALID;
    unsigned char version = p[4];
    int tsize = 4;
    /* counts: isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
    uint32_t c[6];
    for (int i = 0; i < 6; i++)
        c[i] = be32(p + 20 + 4 * i);
    if (version >= '2') {
        /* skip the version 1 block: its counts tell its size */
        if (c[3] > ZONE_TRANS_MAX || c[4] > ZONE_TYPES_MAX || c[2] > ZONE_TRANS_MAX ||
            c[5] > 65536 || c[0] > ZONE_TYPES_MAX || c[1] > ZONE_TYPES_MAX)
            return DBOT_ERR_INVALID;
        size_t v1 = (size_t)c[3] * 5 + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * 8 + c[1] + c[0];
        if (v1 > len - 44 || len - 44 - v1 < 44)
            return DBOT_ERR_INVALID;
        p += 44 + v1;
        if (memcmp(p, "TZif", 4) != 0)
            return DBOT_ERR_INVALID;
        for (int i = 0; i < 6; i++)
            c[i] = be32(p + 20 + 4 * i);
        tsize = 8;
    }
    uint32_t isut = c[0], isstd = c[1], leaps = c[2], ntrans = c[3], ntypes = c[4],
             nchars = c[5];
    if (ntrans > ZONE_TRANS_MAX || ntypes == 0 || ntypes > ZONE_TYPES_MAX ||
        leaps > ZONE_TRANS_MAX || nchars == 0 || nchars > 65536 ||
        (isut != 0 && isut != ntypes) || (isstd != 0 && isstd != ntypes))
        return DBOT_ERR_INVALID;
    p += 44;
    size_t need = (size_t)ntrans * (size_t)(tsize + 1) + (size_t)ntypes * 6 + nchars +
                  (size_t)leaps * (size_t)(tsize + 4) + isstd + isut;
    if (need > (size_t)(end - p))
        return DBOT_ERR_INVALID;

    struct tz_table *z = calloc(1, sizeof *z);
    if (!z)
        return DBOT_ERR_NOMEM;
    z->n_trans = (int)ntrans;
    z->n_types = (int)ntypes;
    if (ntrans) {
        z->trans = malloc(ntrans * sizeof *z->trans);
        z->trans_type = malloc(ntrans);
        if (!z->trans || !z->trans_type) {
            zone_free(z);
            return DBOT_ERR_NOMEM;
        }
    }
    const unsigned char *tp = p, *ip = p + (size_t)ntrans * (size_t)tsize;
    const unsigned char *ty = ip + ntrans;
    for (uint32_t i = 0; i < ntrans; i++) {
        z->trans[i] = tsize == 8 ? be64(tp + 8 * i) : (int64_t)(int32_t)be32(tp + 4 * i);
        z->trans_type[i] = ip[i];
        if (ip[i] >= ntypes || (i > 0 && z->trans[i] <= z->trans[i - 1])) {
            zone_free(z);
            return DBOT_ERR_INVALID;
        }
    }
    for (uint32_t i = 0; i < ntypes; i++) {
        int32_t off = (int32_t)be32(ty + 6 * i);
        if (off <= -25 * 3600 || off >= 26 * 3600 || ty[6 * i + 4] > 1 ||
            ty[6 * i + 5] >= nchars) {
            zone_free(z);
            return DBOT_ERR_INVALID;
        }
        z->utoff[i] = off;
        z->isdst[i] = ty[6 * i + 4] != 0;
    }
    z->first_std = 0;
    while (z->first_std < z->n_types && z->isdst[z->first_std])
        z->first_std++;
    if (z->first_std == z->n_types)
        z->first_std = 0;

    /* the footer of a version 2+ file: "\n" TZ "\n" */
    if (tsize == 8) {
        const unsigned char *f = p + need;
        if (f >= end || *f != '\n') {
            zone_free(z);
            return DBOT_ERR_INVALID;
        }
        f++;
        const unsigned char *nl = memchr(f, '\n', (size_t)(end - f));
        char rule[128];
        if (!nl || (size_t)(nl - f) >= sizeof rule) {
            zone_free(z);
            return DBOT_ERR_INVALID;
        }
        memcpy(rule, f, (size_t)(nl - f));
        rule[nl - f] = '\0';
        if (memchr(rule, '\0', (size_t)(nl - f)) || tz_parse_rule(rule, z) != 0) {
            zone_free(z);
            return DBOT_ERR_INVALID;
        }
    }
    *out = z;
    return 0;
}

int32_t timeutil_zone_at(const struct tz_table *z, int64_t t)
{
    if (z->n_trans == 0 || t < z->trans[0])
        return z->utoff[z->first_std];
    if (t >= z->trans[z->n_trans - 1] && z->has_rule)
        return rule_offset(z, t);
    int lo = 0, hi = z->n_trans - 1; /* trans[lo] <= t: the last such */
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return z->utoff[z->trans_type[lo]];
}

void timeutil_zone_free(struct tz_table *z)
{
    zone_free(z);
}

/* The file of zone `tz` ($TZDIR or /usr/share/zoneinfo); false for a name that is refused
 * (see timeutil_zone_exists) or a path too long. */
static bool zone_path(const char *tz, char *path, size_t len)
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
    /* "dir/tz" by hand: this runs for every offset asked for, a printf costs more than the
     * look-up it leads to */
    size_t dl = strlen(dir), tl = strlen(tz);
    if (dl + 1 + tl >= len)
        return false;
    memcpy(path, dir, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, tz, tl + 1);
    return true;
}

/* Reads and parses a zone file. NULL when it is not a regular, readable TZif file. */
static struct tz_table *zone_load(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    struct stat sb;
    struct tz_table *z = NULL;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
        sb.st_size <= ZONE_FILE_MAX) {
        size_t len = (size_t)sb.st_size, got = 0;
        unsigned char *buf = malloc(len);
        while (buf && got < len) {
            ssize_t n = read(fd, buf + got, len - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (buf && got == len && timeutil_zone_parse(buf, len, &z) != 0)
            z = NULL;
        free(buf);
    }
    close(fd);
    return z;
}

struct zone_slot {
    char *path;
    struct tz_table *zone; /* NULL: not a usable zone file (remembered too) */
};

static pthread_mutex_t zone_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zone_slot zone_cache[ZONE_CACHE_MAX];
static int zone_cached;
static unsigned long zone_loads;

/* The offset at t in the zone of file `path`, from the cache (filled on first use). False
 * when the file is not a usable zone. */
static bool cached_offset(const char *path, int64_t t, int32_t *out)
{
    bool ok = false;
    pthread_mutex_lock(&zone_lock);
    int i = 0;
    while (i < zone_cached && strcmp(zone_cache[i].path, path) != 0)
        i++;
    if (i < zone_cached) {
        if (zone_cache[i].zone) {
            *out = timeutil_zone_at(zone_cache[i].zone, t);
            ok = true;
        }
    } else {
        zone_loads++;
        struct tz_table *z = zone_load(path);
        if (z) {
            *out = timeutil_zone_at(z, t);
            ok = true;
        }
        char *key = zone_cached < ZONE_CACHE_MAX ? strdup(path) : NULL;
        if (key) {
            zone_cache[zone_cached].path = key;
            zone_cache[zone_cached].zone = z;
            zone_cached++;
        } else {
            zone_free(z); /* the table is full (or no memory): read again next time */
        }
    }
    pthread_mutex_unlock(&zone_lock);
    return ok;
}

void timeutil_zone_cache_clear(void)
{
    pthread_mutex_lock(&zone_lock);
    for (int i = 0; i < zone_cached; i++) {
        free(zone_cache[i].path);
        zone_free(zone_cache[i].zone);
    }
    zone_cached = 0;
    pthread_mutex_unlock(&zone_lock);
}

unsigned long timeutil_zone_loads(void)
{
    pthread_mutex_lock(&zone_lock);
    unsigned long n = zone_loads;
    pthread_mutex_unlock(&zone_lock);
    return n;
}

/* The process's zone: TZ naming a zone file (":" first or not), or /etc/localtime when TZ
 * is unset. Anything else (a POSIX rule such as "CST-8", an absolute path) is left to
 * localtime_r(), which is thread-safe and keeps its own parse. */
static int32_t local_offset(int64_t t)
{
    const char *tz = getenv("TZ");
    char path[512];
    int32_t off;
    if (!tz) {
        if (cached_offset("/etc/localtime", t, &off))
            return off;
    } else {
        if (*tz == ':')
            tz++;
        if (zone_path(tz, path, sizeof path) && cached_offset(path, t, &off))
            return off;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    return localtime_r(&tt, &tm) ? (int32_t)tm.tm_gmtoff : 0;
}

char *rfc3339_format_local(int64_t t, char *buf, size_t len)
{
    return rfc3339_format(t, local_offset(t), buf, len);
}

int32_t timeutil_zone_offset(const char *tz, int64_t t)
{
    if (!tz || !tz[0])
        return local_offset(t);
    char path[512];
    int32_t off;
    if (!zone_path(tz, path, sizeof path) || !cached_offset(path, t, &off))
        return 0;
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
    char path[512];
    if (!zone_path(tz, path, sizeof path))
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
