/*
 * log.h — the one logging entry point.
 *
 * Lines go to stderr as "2026-11-23T14:30:00.123Z LEVEL module: message" (under systemd, into
 * the journal: "<6>INFO module: message", see log.c). The level filter is
 * checked before formatting. Libraries (lws, sqlite) are routed here by their owners.
 * Never pass a secret (token, password) to a log call. Main-thread only.
 */
#ifndef DEALERBOT_LOG_H
#define DEALERBOT_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_OFF = 4 };

/* Sets the minimum level printed (default LOG_INFO). */
void log_set_level(enum log_level level);
/* Parses "debug|info|warn|error|off"; returns 0 or DBOT_ERR_INVALID. */
int log_level_parse(const char *s, enum log_level *out);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(mod, ...) \
    do { if (log_get_level() <= LOG_DEBUG) log_msg(LOG_DEBUG, mod, __VA_ARGS__); } while (0)
#define log_info(mod, ...) \
    do { if (log_get_level() <= LOG_INFO) log_msg(LOG_INFO, mod, __VA_ARGS__); } while (0)
#define log_warn(mod, ...) \
    do { if (log_get_level() <= LOG_WARN) log_msg(LOG_WARN, mod, __VA_ARGS__); } while (0)
#define log_error(mod, ...) \
    do { if (log_get_level() <= LOG_ERROR) log_msg(LOG_ERROR, mod, __VA_ARGS__); } while (0)

#endif
