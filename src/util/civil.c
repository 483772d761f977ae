/*
 * civil.c — calendar arithmetic behind civil.h.
 *
 * civil_days is Howard Hinnant's days_from_civil: shift the year to start in March, so the
 * leap day is the last day of the year, then count 400-year eras of 146097 days; no table, no
 * loop, exact for every year an int64 holds. civil_from_days runs the same steps backwards.
 */
#include "dealerbot/civil.h"

#include "dealerbot/error.h"

int64_t civil_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                  /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

bool civil_date_valid(int64_t y, int m, int d)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= dim[m - 1] + (m == 2 && leap);
}

/* n decimal digits at s, or -1 when one is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int civil_date_parse(const char *s, size_t len, int *y, int *m, int *d)
{
    if (!s || len != 10 || s[4] != '-' || s[7] != '-')
        return DBOT_ERR_INVALID;
    int yy = digits(s, 4), mm = digits(s + 5, 2), dd = digits(s + 8, 2);
    if (yy < 0 || mm < 0 || dd < 0 || !civil_date_valid(yy, mm, dd))
        return DBOT_ERR_INVALID;
    *y = yy;
    *m = mm;
    *d = dd;
    return 0;
}

bool civil_hhmm_parse(const char *p, bool allow_24, int32_t *secs)
{
    int h = digits(p, 2);
    if (h < 0 || p[2] != ':')
        return false;
    int m = digits(p + 3, 2);
    if (m < 0 || m > 59 || h > 24 || (h == 24 && (!allow_24 || m != 0)))
        return false;
    *secs = (int32_t)(h * 3600 + m * 60);
    return true;
}
