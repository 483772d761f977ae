/*
 * config.h — the dealerbot configuration: one libconfig file, parsed and validated through one
 * table (src/config/config.c) that also drives `check-config` and the documented example
 * config/dealerbot.example.conf.
 *
 * Every problem is reported as one line naming the file, the line (when libconfig knows it) and
 * the key: "dealerbot.conf:12: sla.default.ack: bad duration \"12x\" (use s, m, h, d)".
 * Unknown keys, wrong types, bad values and missing required keys are all rejected.
 *
 * Secrets (`http.token`, `chat.xmpp.password`) may be given inline or as `*_file` paths; the
 * loader reads the file (trailing newline stripped) into the secret field. Secrets are never
 * printed: config_print() masks them.
 *
 * A struct config is owned by its creator: config_load() returns a new one, config_free()
 * releases it. Read-only after load; main thread.
 */
#ifndef DEALERBOT_CONFIG_H
#define DEALERBOT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dealerbot/error.h"
#include "dealerbot/sla.h"

#define SLA_REMIND_MAX 8
#define SLA_POLICY_MAX 16
#define ESCALATION_MAX 8
/* chat.rate_global / chat.rate_room on DingTalk when the file gives none: an app's OpenAPI
 * calls are limited per second (20 a second per call is the documented default quota) and a
 * robot floods a group quickly; see README "Running on DingTalk". */
#define DINGTALK_RATE_GLOBAL 20
#define DINGTALK_RATE_ROOM 1

/* One SLA policy: how long each milestone may take and when to warn before it. */
struct sla_policy {
    char name[32];            /* "default", "urgent", "vip" or any named group under sla */
    int64_t ack_s;            /* acknowledge within */
    int64_t solution_s;       /* agree a solution within (from receipt) */
    int64_t close_s;          /* close within (from receipt) */
    int64_t remind_before[SLA_REMIND_MAX];
    int n_remind;
};

/* One escalation level: after `after_s` past the breach, notify `notify`. */
struct escalation_level {
    int64_t after_s;
    char notify[64]; /* "dealer_managers" | "supervisors" | "admins" | a person's JID */
};

/* The SLA terms a complaint was filed under: its policy and the escalation ladder, copied
 * from the config at intake and kept with the complaint (sla_terms_format() in sla.h), so
 * that planning its clock again (reopen) never takes a config edit made since. */
struct sla_terms {
    struct sla_policy policy;
    struct escalation_level ladder[ESCALATION_MAX];
    int n_ladder;
};

struct config {
    char *path;               /* the file this came from */

    char *database;           /* SQLite file path */
    char *language;           /* "zh-CN" | "en" */
    char *timezone;           /* IANA name, e.g. "Asia/Shanghai" */
    char *log_level;          /* "debug" | "info" | "warn" | "error" */
    char *messages_dir;       /* directory of the chat templates zh-CN.msg and en.msg; never
                               * NULL after load (default: the installed ones) */

    struct {
        char *listen;         /* "host:port" */
        char *token;          /* secret: bearer token for /api/ */
        char *token_file;     /* where token was read from, or NULL when given inline */
        int64_t max_body;     /* bytes; 65536 */
        int64_t timeout;      /* seconds a client may wait or dawdle; 10 */
        int64_t max_connections; /* open connections at most; 256 */
        int64_t commit_window_us; /* group commit: max wait to batch intake writes */
    } http;

    struct {
        int64_t threads;      /* reader threads for heavy reads (readers.h); 1..8 */
        int64_t queue;        /* reads that may wait for a thread; more get 503 */
    } readers;

    struct {
        char *platform;       /* "xmpp" | "dingtalk" | "none" */
        struct {
            char *url;
            char *jid;
            char *password;   /* secret */
            char *password_file; /* where password was read from, or NULL */
            char *muc_service;
            char *nick;
            char *ca_file;    /* optional, NULL when unset */
            bool allow_plain;
        } xmpp;
        struct {
            char *client_id;      /* AppKey */
            char *client_secret;  /* secret: AppSecret */
            char *client_secret_file; /* where client_secret was read from, or NULL */
            char *robot_code;     /* never NULL once loaded for dingtalk (client_id) */
            char *api_url;        /* "https://api.dingtalk.com", no trailing '/' */
            char *ca_file;        /* optional, NULL when unset */
        } dingtalk;
        char *staff_room;
        char *underperformers_room;
        int64_t rate_global;  /* messages per second, all targets */
        int64_t rate_room;    /* messages per second, one room or person */
        int64_t stranger_reply_every_s; /* one answer per this time to an unknown sender */
        int64_t inbound_rate;  /* messages per second from one sender, then dropped */
        int64_t inbound_burst; /* ... after this many at once */
    } chat;

    struct sla_policy policies[SLA_POLICY_MAX];
    int n_policies;           /* policies[0] is always "default" */
    struct escalation_level escalation[ESCALATION_MAX];
    int n_escalation;

    struct calendar calendars[CAL_MAX]; /* `calendars`, in file order; names are unique */
    int n_calendars;
    char *default_calendar;   /* sla.calendar: the calendar of dealers that name none, always
                               * one of calendars[]; NULL: calendar time */
    struct quiet_hours quiet; /* sla.quiet_hours; quiet.on is false when unset */

    struct {
        int64_t window_s;
        int64_t min_complaints;
        double rate_factor;
        double close_sla_min;     /* 0..1 */
        int64_t penalty_points_max;
        int64_t exit_after_s;
        char *evaluate_at;        /* "HH:MM" local */
    } underperformers;

    struct {
        int64_t ack_points;
        int64_t solution_points;
        int64_t close_points;
        char *catalogue;          /* CSV path, optional (NULL) */
        int64_t appeal_window_s;  /* a ledger entry may be appealed this long after it */
    } penalties;

    struct {
        int64_t commend_points;      /* a commendation (commend C-12 <note>) */
        int64_t first_time_points;   /* closed with the report approved first time, in time
                                        at every milestone; 0: off */
        int64_t satisfaction_points; /* a return-visit score of 5; 0: off */
    } rewards;

    struct {
        bool monthly;                /* the monthly dealer report and honour roll */
        char *monthly_at;            /* "HH:MM" local, on the month's first working day */
        int64_t honour_count;        /* dealers named on the honour roll */
    } reports;

    struct {
        int64_t remind_after_s;   /* remind non-confirmers after this; report after 2x */
    } broadcasts;

    struct {
        int64_t window_s;         /* complaints of one category counted over this */
        int64_t network_count;    /* warn at this many network-wide (0: never) */
        int64_t dealer_count;     /* warn at this many at one dealer (0: never) */
    } batch_warning;
};

/* Parses and validates `path`. On success returns 0 and *out = a new config (free with
 * config_free). On failure returns DBOT_ERR_INVALID / DBOT_ERR_IO / DBOT_ERR_NOMEM and fills
 * diag with one line naming file, line and key. Relative paths inside the file (database,
 * messages_dir, *_file, ca_file, penalties.catalogue) are taken from the folder of the file
 * (made absolute), never from the working directory; they are stored resolved. Without
 * messages_dir, the installed texts (layout_messages_dir()) are used. */
int config_load(const char *path, struct config **out, struct dbot_diag *diag);

/* Parses from a string (tests); `name` stands in for the file name in messages. There is no
 * file, so relative paths stay as written (relative to the working directory). */
int config_load_string(const char *text, const char *name, struct config **out,
                       struct dbot_diag *diag);

void config_free(struct config *cfg);

/* Prints the effective configuration in libconfig syntax, defaults filled in, secrets masked
 * as "********". */
void config_print(const struct config *cfg, FILE *fp);

/* The policy with this name, or NULL. */
const struct sla_policy *config_policy(const struct config *cfg, const char *name);

/* The business calendar called `name`; with a NULL or empty name (a dealer that names none)
 * the default calendar (sla.calendar). NULL when that is unset (deadlines run in calendar
 * time) or the name is unknown. Borrows cfg; the result lives as long as cfg. */
const struct calendar *config_calendar(const struct config *cfg, const char *name);

/* The path that `-c` falls back to: $DEALERBOT_CONFIG, else "config/dealerbot.conf". */
const char *config_default_path(void);

/* One key the loader knows, as described by its table (for `check-config --keys`, the
 * documented example and its test). All strings are static. */
struct config_key_info {
    const char *name;  /* dotted path: "http.listen"; "sla.<policy>.ack" for the fields of
                        * every SLA policy; "sla.escalation.[].after" for escalation levels;
                        * "calendars.<name>.days" for the fields of every business calendar */
    const char *type;  /* "string", "int", "float", "bool", "duration", "duration list",
                        * "secret", "secret file", "weekday list", "hours", "date list" */
    const char *def;   /* default as written in the file, or NULL when there is none */
    const char *doc;   /* one line */
    bool required;     /* must be given (secrets: the key or its *_file twin) */
};

/* Describes the i-th key (0-based). Returns true and fills *out, or false past the last. */
bool config_key_at(size_t i, struct config_key_info *out);

#endif
