/*
 * civil.h — the proleptic Gregorian calendar and wall-clock text, in one place: day numbers,
 * date validity, "YYYY-MM-DD" and "HH:MM". Pure arithmetic: no clock, no time zone, no
 * allocation; any thread. timeutil (RFC 3339, zones), the SLA calendar, the command grammar,
 * the scorecard windows and the config checks all count days and read dates through it.
 */
#ifndef DEALERBOT_CIVIL_H
#define DEALERBOT_CIVIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 of the date y-m-d (m 1..12, d 1..31; not checked). */
int64_t civil_days(int64_t y, int m, int d);

/* The inverse of civil_days: the date of day z (days since 1970-01-01). */
void civil_from_days(int64_t z, int64_t *y, int *m, int *d);

/* True when y-m-d is a real date (month 1..12, day within the month, leap years counted). */
bool civil_date_valid(int64_t y, int m, int d);

/* Reads "YYYY-MM-DD" (exactly s[0..len), four-digit year 0000..9999) into *y, *m, *d when it
 * is a real date. Returns 0 or DBOT_ERR_INVALID; the outputs are written only on success. */
int civil_date_parse(const char *s, size_t len, int *y, int *m, int *d);

/* Reads "HH:MM" at p (five bytes; what follows is not looked at) as seconds after midnight:
 * 00:00..23:59, and 24:00 (86400) when allow_24. Returns true and writes *secs on success. */
bool civil_hhmm_parse(const char *p, bool allow_24, int32_t *secs);

#endif
