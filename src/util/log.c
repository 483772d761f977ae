/*
 * log.c — one line per event on stderr (see log.h).
 *
 * Under systemd, stderr is a stream into the journal: systemd says so with $JOURNAL_STREAM
 * ("<device>:<inode>" of that stream). Then each line starts with its syslog priority in the
 * form journald reads ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug), so that
 * `journalctl -p warning` filters, and without the timestamp, which the journal adds itself.
 */
#include "dealerbot/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dealerbot/error.h"

static enum log_level min_level = LOG_INFO;

void log_set_level(enum log_level level)
{
    min_level = level;
}

enum log_level log_get_level(void)
{
    return min_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return DBOT_ERR_INVALID;
}

/* True when stderr is the journal stream systemd announced in $JOURNAL_STREAM. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    if (!js || !*js)
        return false;
    char *end;
    unsigned long long dev = strtoull(js, &end, 10);
    if (*end != ':')
        return false;
    unsigned long long ino = strtoull(end + 1, &end, 10);
    struct stat st;
    if (*end || fstat(2, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
    static const char *const tags[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};
    static const int priorities[] = {7, 6, 4, 3, 3};
    static int journal = -1; /* unknown until the first line */
    if (level < min_level)
        return;
    if (journal < 0)
        journal = stderr_is_journal();
    char line[1024];
    int n;
    if (journal) {
        n = snprintf(line, sizeof line, "<%d>%s %s: ", priorities[level], tags[level], module);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, tags[level], module);
    }
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One line per call: newlines inside a message would let input forge log lines. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "%s\n", line);
}
