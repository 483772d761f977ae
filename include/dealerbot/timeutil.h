/*
 * timeutil.h — durations, instants and their text forms. Pure except timeutil_now_* and the
 * zone look-ups (the local zone and named zones, read from the tz database once per zone).
 *
 * Instants are int64 Unix seconds (UTC). Durations are int64 seconds. Text forms:
 *   duration  "90s", "30m", "12h", "5d", or a sum "1d12h" (units s, m, h, d; no spaces)
 *   instant   RFC 3339: "2026-11-23T14:30:00Z", "2026-11-23T22:30:00+08:00", fraction ignored
 */
#ifndef DEALERBOT_TIMEUTIL_H
#define DEALERBOT_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses a duration. Returns 0 and sets *out, or DBOT_ERR_INVALID (empty, unknown unit,
 * overflow, no digits, negative). */
int duration_parse(const char *s, int64_t *out);

/* Formats seconds as the shortest exact form ("12h", "1d12h", "0s"). Returns buf. */
char *duration_format(int64_t secs, char *buf, size_t len);

/* Parses RFC 3339 (date, 'T' or ' ', time, optional fraction, 'Z' or ±hh:mm).
 * Returns 0 and sets *out, or DBOT_ERR_INVALID. */
int rfc3339_parse(const char *s, int64_t *out);

/* Formats t in UTC offset `offset_s` seconds east as RFC 3339 ("...+08:00" / "...Z" when 0).
 * buf needs 26 bytes. Returns buf. */
char *rfc3339_format(int64_t t, int32_t offset_s, char *buf, size_t len);

/* Formats t in the process's local timezone (TZ, set at start from the config) as RFC 3339.
 * Not pure: reads the tz database (once per zone, see timeutil_zone_offset). Any thread.
 * Returns buf. */
char *rfc3339_format_local(int64_t t, char *buf, size_t len);

/* The UTC offset (seconds east) of zone `tz` at instant t; NULL or "" = the process's local
 * zone (TZ, set at start from the config; /etc/localtime when unset). Not pure: a zone's
 * file is read and parsed the first time it is asked for and kept (a process-wide cache under
 * a mutex), so any thread may call it and the environment is never touched. An unknown zone
 * gives 0 (UTC). */
int32_t timeutil_zone_offset(const char *tz, int64_t t);

/* Forgets every zone read so far (after a tzdata update): the next call reads the files
 * again. Any thread. */
void timeutil_zone_cache_clear(void);

/* How many times a zone file has been read since the start (tests, metrics). */
unsigned long timeutil_zone_loads(void);

/* A parsed TZif file (RFC 8536): transitions, types and the footer's POSIX TZ rule. */
struct tz_table;

/* Parses the bytes of a TZif file (version 1, 2, 3 or 4). Pure. Returns 0 and a new table
 * in *out (free with timeutil_zone_free), DBOT_ERR_INVALID for bytes that are not one (bad
 * magic, counts beyond the limits or the data, unsorted transitions, a footer rule that does
 * not parse), DBOT_ERR_NOMEM. */
int timeutil_zone_parse(const void *data, size_t len, struct tz_table **out);

/* The UTC offset (seconds east) that table z gives at instant t, as glibc's localtime_r()
 * would: the first standard-time type before the first transition, the footer rule (when
 * there is one) from the last transition on. Pure. */
int32_t timeutil_zone_at(const struct tz_table *z, int64_t t);

/* Frees a table from timeutil_zone_parse; NULL is fine. */
void timeutil_zone_free(struct tz_table *z);

/* Formats t for people: "2026-11-24 09:30" at UTC offset `offset_s`. buf needs 17 bytes.
 * Returns buf. */
char *timeutil_format_wall(int64_t t, int32_t offset_s, char *buf, size_t len);

/* True when `tz` names a compiled zone (a TZif file) under $TZDIR or /usr/share/zoneinfo.
 * Names that are absolute, contain "..", or use characters outside A-Z a-z 0-9 / _ - + are
 * refused without touching the file system. Reads the file system. */
bool timeutil_zone_exists(const char *tz);

/* Wall clock, Unix seconds / microseconds. */
int64_t timeutil_now(void);
int64_t timeutil_now_us(void);
/* Monotonic clock in microseconds, for measuring. */
int64_t timeutil_mono_us(void);

#endif
