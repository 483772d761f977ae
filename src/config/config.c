/*
 * config.c — loads, validates and prints the dealerbot configuration.
 *
 * Everything the loader knows is in one table, keys[] below (redis' static_configs[] is the
 * model): for each key its dotted path, type, where it lives in struct config, its default as
 * the text a user would write, whether it is required, its range or allowed values, an extra
 * check where one is needed, and a one-line doc. The table drives
 *   - parsing: the libconfig tree is walked and every setting must match a table entry (or a
 *     group that leads to one), so a typo is an "unknown key", never silently ignored;
 *   - defaults: they are fed through the same conversion and checks as values from the file;
 *   - config_print() (`dealerbot check-config`) and config_key_at(), which the test of
 *     config/dealerbot.example.conf uses to prove the example documents every key.
 *
 * Four scopes share the table. SC_TOP keys live directly in struct config. The `sla` group
 * holds any number of named policies (SC_POLICY keys are the fields of each, stored in a
 * struct sla_policy), the `escalation` list (SC_LEVEL keys are the fields of each level,
 * stored in a struct escalation_level) and two plain keys, sla.calendar and sla.quiet_hours
 * (SC_TOP, read by the sla walk and printed inside the sla group). Policy "default" is always
 * policies[0]; it takes the table defaults for fields it leaves out, and every other policy
 * takes the default policy's value for the fields it leaves out ("vip = { ack = "2h"; };"
 * only changes the ack time). The `calendars` group holds up to CAL_MAX named business
 * calendars (SC_CALENDAR keys are the fields of each, stored in a struct calendar); a
 * calendar takes the table defaults for what it leaves out. sla.calendar must name one of
 * them, which is checked once the whole file has been read (the groups may come in any
 * order).
 *
 * Secrets (`http.token`, `chat.xmpp.password`, `chat.dingtalk.client_secret`) have a `*_file` twin. Exactly one of the two may
 * be given; the file is read here. Secret values are never put in a message and config_print()
 * masks them.
 *
 * A caveat about libconfig 1.5: an integer literal that does not fit in 32 bits and has no
 * `L` suffix is silently wrapped by the library. Every integer key here has a range far
 * inside 32 bits, so a wrapped value almost always lands out of range and is rejected.
 */
#include "dealerbot/config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dealerbot/civil.h"
#include "dealerbot/file.h"
#include "dealerbot/hostport.h"
#include "dealerbot/jid.h"
#include "dealerbot/lang.h"
#include "dealerbot/layout.h"
#include "dealerbot/saslprep.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define SECRET_FILE_MAX 4096
#define TOKEN_MIN_LEN 16
#define PATH_MAX_KEY 256 /* longest dotted key path we build for messages */
#define QUOTE_MAX 80     /* longest value quoted back in a message */
#define DAYS(n) (86400.0 * (n))
#define CONFIG_PATH_MAX 4096 /* longest path a relative path in the file may resolve to */

enum key_type {
    KT_STRING,
    KT_INT,
    KT_FLOAT,
    KT_BOOL,
    KT_DURATION,
    KT_DURATIONS, /* list of durations, stored as int64_t[] plus an int count */
    KT_SECRET,
    KT_SECRET_FILE, /* path of a file holding the secret named by `alt` */
    KT_WEEKDAYS,    /* list of ISO weekdays 1..7, stored as a uint8_t mask (bit 0 = Sunday) */
    KT_HOURS,       /* "HH:MM-HH:MM", stored as two int32_t seconds after midnight; both 0
                     * (start == end, which a value never has) means unset */
    KT_DATES,       /* list of "YYYY-MM-DD", stored sorted and de-duplicated as int32_t day
                     * numbers plus an int count */
};

enum key_scope {
    SC_TOP,    /* offset into struct config */
    SC_POLICY, /* offset into struct sla_policy */
    SC_LEVEL,  /* offset into struct escalation_level */
    SC_CALENDAR, /* offset into struct calendar */
};

/* Flags. */
#define K_REQUIRED 0x1u /* must be given (for a secret: it or its *_file twin) */
#define K_XMPP 0x2u     /* required when chat.platform = "xmpp" */
#define K_RANGE 0x4u    /* lo..hi applies */
#define K_WRAP 0x8u     /* KT_HOURS: the end may be before the start (wraps midnight) */
#define K_PATH 0x10u    /* KT_STRING: a file or directory path, taken relative to the folder of
                         * the config file when relative (KT_SECRET_FILE always is one) */
#define K_DINGTALK 0x20u /* required when chat.platform = "dingtalk" */

/* An extra check on a string value. Returns NULL when fine, else a short reason. */
typedef const char *(*check_fn)(const char *value);

struct key {
    const char *path;
    enum key_scope scope;
    size_t off;
    enum key_type type;
    size_t cap;       /* fixed char array capacity; 0 for a heap char * */
    size_t count_off; /* KT_DURATIONS, KT_DATES: offset of the int count; KT_HOURS: offset of
                       * the int32_t end (off is the start) */
    const char *def;  /* default, as written in the file; NULL = none */
    unsigned flags;
    double lo, hi;
    const char *const *choices; /* NULL-terminated allowed values */
    check_fn check;
    const char *alt; /* secret <-> its *_file twin */
    const char *doc;
};

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const platforms[] = {"xmpp", "dingtalk", "none", NULL};

static const char *check_timezone(const char *v);
static const char *check_listen(const char *v);
static const char *check_token(const char *v);
static const char *check_url(const char *v);
static const char *check_http_url(const char *v);
static const char *check_app_id(const char *v);
static const char *check_jid(const char *v);
static const char *check_domain(const char *v);
static const char *check_room(const char *v);
static const char *check_readable(const char *v);
static const char *check_hhmm(const char *v);
static const char *check_notify(const char *v);
static const char *check_no_slash(const char *v);

#define TOP(f) .scope = SC_TOP, .off = offsetof(struct config, f)
#define POL(f) .scope = SC_POLICY, .off = offsetof(struct sla_policy, f)
#define LVL(f) .scope = SC_LEVEL, .off = offsetof(struct escalation_level, f)
#define CAL(f) .scope = SC_CALENDAR, .off = offsetof(struct calendar, f)
#define RANGE(a, b) .flags = K_RANGE, .lo = (a), .hi = (b)

/*
 * The table. Order matters twice: config_print() prints in this order (the keys of one group
 * together, a nested group after its parent's own keys), and a secret comes right before its
 * *_file twin.
 */
/* clang-format off */
static const struct key keys[] = {
    {.path = "database", TOP(database), .type = KT_STRING, .def = "var/dealerbot.db",
     .flags = K_PATH,
     .doc = "SQLite database file, created on first run; its folder must be writable"},
    {.path = "language", TOP(language), .type = KT_STRING, .def = "zh-CN", .choices = lang_names,
     .doc = "default language of replies and notices: zh-CN | en"},
    {.path = "timezone", TOP(timezone), .type = KT_STRING, .def = "Asia/Shanghai",
     .check = check_timezone,
     .doc = "IANA time zone for local times and evaluate_at (a file under " ZONEINFO_DIR ")"},
    {.path = "log_level", TOP(log_level), .type = KT_STRING, .def = "info", .choices = log_levels,
     .doc = "least severe log level written: debug | info | warn | error"},
    {.path = "messages_dir", TOP(messages_dir), .type = KT_STRING, .flags = K_PATH,
     .doc = "directory of the zh-CN.msg/en.msg chat templates (default: the installed "
            "share/dealerbot/messages)"},

    {.path = "http.listen", TOP(http.listen), .type = KT_STRING, .def = "127.0.0.1:8080",
     .check = check_listen,
     .doc = "address of the intake API, host:port ([address]:port for IPv6)"},
    {.path = "http.token", TOP(http.token), .type = KT_SECRET, .flags = K_REQUIRED,
     .check = check_token, .alt = "http.token_file",
     .doc = "bearer token every /api/ call must present, at least 16 characters (give this "
            "or http.token_file)"},
    {.path = "http.token_file", TOP(http.token_file), .type = KT_SECRET_FILE, .flags = K_REQUIRED,
     .alt = "http.token",
     .doc = "file holding the API token on one line (give this or http.token)"},
    {.path = "http.max_body", TOP(http.max_body), .type = KT_INT, .def = "65536",
     RANGE(1024, 16777216), .doc = "largest request body accepted, in bytes (1024..16777216)"},
    {.path = "http.timeout", TOP(http.timeout), .type = KT_INT, .def = "10", RANGE(1, 300),
     .doc = "seconds a client may take to send its request headers, or stay idle (1..300)"},
    {.path = "http.max_connections", TOP(http.max_connections), .type = KT_INT, .def = "256",
     RANGE(4, 4096),
     .doc = "open HTTP connections at most; more are refused at once (4..4096)"},
    {.path = "http.commit_window_us", TOP(http.commit_window_us), .type = KT_INT, .def = "0",
     RANGE(0, 100000),
     .doc = "group commit: how long an intake write may wait to share a transaction, in "
            "microseconds (0..100000)"},

    {.path = "readers.threads", TOP(readers.threads), .type = KT_INT, .def = "2", RANGE(1, 8),
     .doc = "threads that compute the heavy reads (scorecards) off the event loop, each with "
            "its own read-only database connection (1..8)"},
    {.path = "readers.queue", TOP(readers.queue), .type = KT_INT, .def = "16", RANGE(1, 1024),
     .doc = "reads that may wait for a reader thread; one more is answered 503 with "
            "Retry-After (1..1024)"},

    {.path = "chat.platform", TOP(chat.platform), .type = KT_STRING, .def = "none",
     .choices = platforms,
     .doc = "chat platform the bot lives in: xmpp | dingtalk | none (API and CLI only)"},
    {.path = "chat.staff_room", TOP(chat.staff_room), .type = KT_STRING, .def = "brand-service",
     .check = check_room, .doc = "room of the brand's service staff (escalations, alerts)"},
    {.path = "chat.underperformers_room", TOP(chat.underperformers_room), .type = KT_STRING,
     .def = "underperformers", .check = check_room,
     .doc = "room the underperforming dealers are kept in"},
    {.path = "chat.rate_global", TOP(chat.rate_global), .type = KT_INT, .def = "100",
     RANGE(1, 100000),
     .doc = "most chat messages sent per second over all rooms (1..100000; dingtalk: 20 when "
            "not given)"},
    {.path = "chat.rate_room", TOP(chat.rate_room), .type = KT_INT, .def = "10",
     RANGE(1, 100000),
     .doc = "most chat messages sent per second into one room or to one person (dingtalk: 1 "
            "when not given)"},
    {.path = "chat.stranger_reply_every", TOP(chat.stranger_reply_every_s), .type = KT_DURATION,
     .def = "24h", RANGE(1, DAYS(3650)),
     .doc = "someone the directory does not know gets one polite answer per this time; his "
            "other messages are dropped unread"},
    {.path = "chat.inbound_rate", TOP(chat.inbound_rate), .type = KT_INT, .def = "2",
     RANGE(1, 100000),
     .doc = "messages per second one sender may send the bot; a flood beyond it (and the "
            "burst) is dropped before it reaches the commands (1..100000)"},
    {.path = "chat.inbound_burst", TOP(chat.inbound_burst), .type = KT_INT, .def = "20",
     RANGE(1, 100000), .doc = "messages one sender may send at once before chat.inbound_rate "
                              "applies (1..100000)"},
    {.path = "chat.xmpp.url", TOP(chat.xmpp.url), .type = KT_STRING, .flags = K_XMPP,
     .check = check_url,
     .doc = "XMPP-over-WebSocket endpoint, ws:// or wss:// (required for xmpp)"},
    {.path = "chat.xmpp.jid", TOP(chat.xmpp.jid), .type = KT_STRING, .flags = K_XMPP,
     .check = check_jid, .doc = "the bot's account, local@domain (required for xmpp)"},
    {.path = "chat.xmpp.password", TOP(chat.xmpp.password), .type = KT_SECRET, .flags = K_XMPP,
     .alt = "chat.xmpp.password_file",
     .doc = "the bot's password (for xmpp give this or chat.xmpp.password_file)"},
    {.path = "chat.xmpp.password_file", TOP(chat.xmpp.password_file), .type = KT_SECRET_FILE,
     .flags = K_XMPP, .alt = "chat.xmpp.password",
     .doc = "file holding the bot's password on one line (or chat.xmpp.password)"},
    {.path = "chat.xmpp.muc_service", TOP(chat.xmpp.muc_service), .type = KT_STRING,
     .flags = K_XMPP, .check = check_domain,
     .doc = "multi-user chat service the rooms live on (required for xmpp)"},
    {.path = "chat.xmpp.nick", TOP(chat.xmpp.nick), .type = KT_STRING, .def = "dealerbot",
     .check = check_no_slash,
     .doc = "the bot's nickname in rooms; people address commands to it with it "
            "(\"dealerbot: 列表\", \"@dealerbot 帮助\")"},
    {.path = "chat.xmpp.ca_file", TOP(chat.xmpp.ca_file), .type = KT_STRING, .flags = K_PATH,
     .check = check_readable,
     .doc = "PEM file of CA certificates for wss:// (optional; the system's when unset)"},
    {.path = "chat.xmpp.allow_plain", TOP(chat.xmpp.allow_plain), .type = KT_BOOL,
     .def = "false",
     .doc = "allow SASL PLAIN over an unencrypted ws:// connection (loopback tests only)"},

    {.path = "chat.dingtalk.client_id", TOP(chat.dingtalk.client_id), .type = KT_STRING,
     .flags = K_DINGTALK, .check = check_app_id,
     .doc = "the app's Client ID (AppKey) from the developer console (required for dingtalk)"},
    {.path = "chat.dingtalk.client_secret", TOP(chat.dingtalk.client_secret), .type = KT_SECRET,
     .flags = K_DINGTALK, .alt = "chat.dingtalk.client_secret_file",
     .doc = "the app's Client Secret (for dingtalk give this or chat.dingtalk.client_secret_file)"},
    {.path = "chat.dingtalk.client_secret_file", TOP(chat.dingtalk.client_secret_file),
     .type = KT_SECRET_FILE, .flags = K_DINGTALK, .alt = "chat.dingtalk.client_secret",
     .doc = "file holding the app's Client Secret on one line (or chat.dingtalk.client_secret)"},
    {.path = "chat.dingtalk.robot_code", TOP(chat.dingtalk.robot_code), .type = KT_STRING,
     .check = check_app_id, .doc = "the robot's code (default: client_id)"},
    {.path = "chat.dingtalk.api_url", TOP(chat.dingtalk.api_url), .type = KT_STRING,
     .def = "https://api.dingtalk.com", .check = check_http_url,
     .doc = "DingTalk's OpenAPI base URL, https:// (http:// only for a local simulator)"},
    {.path = "chat.dingtalk.ca_file", TOP(chat.dingtalk.ca_file), .type = KT_STRING, .flags = K_PATH,
     .check = check_readable,
     .doc = "PEM file of CA certificates for https:// and wss:// (optional; the system's)"},

    {.path = "calendars.<name>.days", CAL(days), .type = KT_WEEKDAYS, .def = "1,2,3,4,5",
     .doc = "working days, ISO weekdays 1 (Monday) .. 7 (Sunday), at least one"},
    {.path = "calendars.<name>.hours", CAL(open_s), .type = KT_HOURS,
     .count_off = offsetof(struct calendar, close_s), .def = "09:00-18:00",
     .doc = "working hours of a working day, HH:MM-HH:MM local, the start before the end"},
    {.path = "calendars.<name>.holidays", CAL(holidays), .type = KT_DATES,
     .count_off = offsetof(struct calendar, n_holidays),
     .doc = "dates that do not work although their weekday does, YYYY-MM-DD (at most 128)"},

    {.path = "sla.<policy>.ack", POL(ack_s), .type = KT_DURATION, .def = "12h",
     RANGE(1, DAYS(3650)), .doc = "the dealer acknowledges within this time of receipt"},
    {.path = "sla.<policy>.solution", POL(solution_s), .type = KT_DURATION, .def = "5d",
     RANGE(1, DAYS(3650)),
     .doc = "a solution is agreed with the customer within this time of receipt"},
    {.path = "sla.<policy>.close", POL(close_s), .type = KT_DURATION, .def = "15d",
     RANGE(1, DAYS(3650)), .doc = "the complaint is closed within this time of receipt"},
    {.path = "sla.<policy>.remind_before", POL(remind_before), .type = KT_DURATIONS,
     .count_off = offsetof(struct sla_policy, n_remind), .def = "2h,30m", RANGE(1, DAYS(3650)),
     .doc = "reminders this long before each deadline (at most 8)"},

    {.path = "sla.escalation.[].after", LVL(after_s), .type = KT_DURATION,
     .flags = K_REQUIRED | K_RANGE, .lo = 0, .hi = DAYS(3650),
     .doc = "how long after a missed deadline this level is notified"},
    {.path = "sla.escalation.[].notify", LVL(notify), .type = KT_STRING,
     .cap = sizeof(((struct escalation_level *)0)->notify), .flags = K_REQUIRED,
     .check = check_notify,
     .doc = "who is notified: dealer_managers | supervisors | admins | a person's JID"},
    {.path = "sla.calendar", TOP(default_calendar), .type = KT_STRING,
     .doc = "business calendar of the dealers that name none (optional; unset: deadlines run "
            "in calendar time)"},
    {.path = "sla.quiet_hours", TOP(quiet.start_s), .type = KT_HOURS, .flags = K_WRAP,
     .count_off = offsetof(struct config, quiet.end_s),
     .doc = "local hours, HH:MM-HH:MM (may wrap midnight), during which reminders are held "
            "(optional)"},

    {.path = "underperformers.window", TOP(underperformers.window_s), .type = KT_DURATION,
     .def = "90d", RANGE(1, DAYS(3650)),
     .doc = "rolling window the scorecards and thresholds look at"},
    {.path = "underperformers.min_complaints", TOP(underperformers.min_complaints), .type = KT_INT,
     .def = "5", RANGE(0, 1000000),
     .doc = "a dealer with fewer complaints in the window is never listed"},
    {.path = "underperformers.rate_factor", TOP(underperformers.rate_factor), .type = KT_FLOAT,
     .def = "1.5", RANGE(1, 100),
     .doc = "listed when its complaint rate reaches this many times the network average "
            "(1..100)"},
    {.path = "underperformers.close_sla_min", TOP(underperformers.close_sla_min), .type = KT_FLOAT,
     .def = "0.8", RANGE(0, 1),
     .doc = "listed when its share of complaints closed in time is below this (0..1)"},
    {.path = "underperformers.penalty_points_max", TOP(underperformers.penalty_points_max),
     .type = KT_INT, .def = "6", RANGE(1, 1000000),
     .doc = "listed when its penalty points in the window reach this"},
    {.path = "underperformers.exit_after", TOP(underperformers.exit_after_s), .type = KT_DURATION,
     .def = "30d", RANGE(0, DAYS(3650)),
     .doc = "a listed dealer leaves after this long back under every threshold"},
    {.path = "underperformers.evaluate_at", TOP(underperformers.evaluate_at), .type = KT_STRING,
     .def = "06:00", .check = check_hhmm,
     .doc = "daily evaluation time, HH:MM in the configured timezone"},

    {.path = "penalties.ack_points", TOP(penalties.ack_points), .type = KT_INT, .def = "1",
     RANGE(0, 1000), .doc = "penalty points for a missed acknowledgement deadline"},
    {.path = "penalties.solution_points", TOP(penalties.solution_points), .type = KT_INT,
     .def = "2", RANGE(0, 1000), .doc = "penalty points for a missed solution deadline"},
    {.path = "penalties.close_points", TOP(penalties.close_points), .type = KT_INT, .def = "3",
     RANGE(0, 1000), .doc = "penalty points for a missed closing deadline"},
    {.path = "penalties.catalogue", TOP(penalties.catalogue), .type = KT_STRING,
     .flags = K_PATH, .check = check_readable,
     .doc = "penalty catalogue, a CSV file (optional)"},
    {.path = "penalties.appeal_window", TOP(penalties.appeal_window_s), .type = KT_DURATION,
     .def = "7d", RANGE(0, DAYS(365)),
     .doc = "a manager of the penalised dealer may appeal a ledger entry (P-5) this long after "
            "it was recorded (0: no appeals)"},

    {.path = "rewards.commend_points", TOP(rewards.commend_points), .type = KT_INT, .def = "2",
     RANGE(0, 1000), .doc = "reward points for a commendation (commend C-12 NOTE)"},
    {.path = "rewards.first_time_points", TOP(rewards.first_time_points), .type = KT_INT,
     .def = "0", RANGE(0, 1000),
     .doc = "reward points for a complaint closed with its report approved the first time and "
            "every milestone met in time (0: off)"},
    {.path = "rewards.satisfaction_points", TOP(rewards.satisfaction_points), .type = KT_INT,
     .def = "0", RANGE(0, 1000),
     .doc = "reward points for a return-visit score of 5 (0: off)"},

    {.path = "reports.monthly", TOP(reports.monthly), .type = KT_BOOL, .def = "true",
     .doc = "on the first working day of each month every dealer room gets its scorecard of "
            "the month just ended, and all dealers the honour roll"},
    {.path = "reports.monthly_at", TOP(reports.monthly_at), .type = KT_STRING, .def = "09:00",
     .check = check_hhmm,
     .doc = "the time of the monthly report, HH:MM in the configured timezone, on the first "
            "working day of the default calendar (sla.calendar)"},
    {.path = "reports.honour_count", TOP(reports.honour_count), .type = KT_INT, .def = "5",
     RANGE(1, 100),
     .doc = "dealers named on the honour roll (by close compliance, then satisfaction; only "
            "dealers with at least underperformers.min_complaints complaints)"},

    {.path = "broadcasts.remind_after", TOP(broadcasts.remind_after_s), .type = KT_DURATION,
     .def = "24h", RANGE(1, DAYS(90)),
     .doc = "a broadcast asking for a read confirmation reminds those who have not confirmed "
            "after this long, and reports them to the staff room after twice as long"},

    {.path = "batch_warning.window", TOP(batch_warning.window_s), .type = KT_DURATION,
     .def = "24h", RANGE(60, DAYS(90)),
     .doc = "complaints of one category are counted over this window"},
    {.path = "batch_warning.network_count", TOP(batch_warning.network_count), .type = KT_INT,
     .def = "10", RANGE(0, 1000000),
     .doc = "warn the staff room when the whole network reaches this many (0: never)"},
    {.path = "batch_warning.dealer_count", TOP(batch_warning.dealer_count), .type = KT_INT,
     .def = "3", RANGE(0, 1000000),
     .doc = "warn the staff room when one dealer reaches this many (0: never)"},
};
/* clang-format on */

#define N_KEYS (sizeof keys / sizeof keys[0])

/* The escalation ladder used when `sla.escalation` is absent (DESIGN.md). */
static const struct escalation_level default_ladder[] = {
    {0, "dealer_managers"},
    {4 * 3600, "supervisors"},
    {24 * 3600, "admins"},
};

/* ------------------------------------------------------------------------------------------ */
/* Value checks                                                                                */

static bool is_ascii_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A DNS-ish host name or IP literal: no spaces, slashes, '@' or control characters. */
static bool host_ok(const char *h, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!is_ascii_alnum(c) && c != '.' && c != '-' && c != '_')
            return false;
    }
    return true;
}

/* Port 1..65535 from [s, s+n). */
static const char *check_listen(const char *v)
{
    const char *host, *port;
    size_t n;
    const char *why = hostport_split(v, &host, &n, &port);
    if (why)
        return why;
    if (n == 0)
        return "empty host";
    if (v[0] == '[') {
        for (size_t i = 0; i < n; i++)
            if (!(is_ascii_alnum(host[i]) || host[i] == ':' || host[i] == '.' || host[i] == '%'))
                return "bad IPv6 address";
    } else if (!host_ok(host, n)) {
        return "bad host";
    }
    if (hostport_port(port) < 1)
        return "port must be a number 1..65535";
    return NULL;
}

/* The zone must be a compiled zone file (timeutil_zone_exists). */
static const char *check_timezone(const char *v)
{
    if (!timeutil_zone_exists(v))
        return "no such zone in /usr/share/zoneinfo";
    return NULL;
}

/* A bearer token: printable ASCII without spaces, long enough not to be guessed. */
static const char *check_token(const char *v)
{
    if (strlen(v) < TOKEN_MIN_LEN)
        return "too short (at least 16 characters)";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return "only printable ASCII without spaces is allowed";
    return NULL;
}

/* An app id (client_id, robot_code): printable ASCII without spaces, 1..128 bytes. */
static const char *check_app_id(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 128)
        return "must be 1..128 characters";
    for (size_t i = 0; i < n; i++)
        if (v[i] <= ' ' || v[i] > '~')
            return "only letters, digits and punctuation, no spaces";
    return NULL;
}

/* The host and optional port after a URL's scheme (`rest`): a host name or a [v6] literal,
 * then ":port" with 1..65535. NULL when fine (*path is what follows), else a short reason. */
static const char *url_authority(const char *rest, const char **path)
{
    size_t host_len = strcspn(rest, ":/?#");
    if (rest[0] == '[') {
        const char *rb = strchr(rest, ']');
        if (!rb || rb == rest + 1)
            return "bad host";
        host_len = (size_t)(rb - rest) + 1;
    } else if (!host_ok(rest, host_len)) {
        return "missing or bad host";
    }
    const char *p = rest + host_len;
    if (*p == ':') {
        char port[8];
        size_t pl = strcspn(p + 1, "/?#");
        if (pl == 0 || pl >= sizeof port)
            return "bad port";
        memcpy(port, p + 1, pl);
        port[pl] = '\0';
        if (hostport_port(port) < 1)
            return "bad port";
        p += 1 + pl;
    }
    *path = p;
    return NULL;
}

/* An http:// or https:// base URL with a host, no query or fragment, no trailing slash. */
static const char *check_http_url(const char *v)
{
    const char *rest, *p;
    if (strncmp(v, "https://", 8) == 0)
        rest = v + 8;
    else if (strncmp(v, "http://", 7) == 0)
        rest = v + 7;
    else
        return "must start with https:// or http://";
    const char *why = url_authority(rest, &p);
    if (why)
        return why;
    if (strpbrk(p, "?# \"\\"))
        return "no query, fragment, spaces or quotes";
    if (*p && p[strlen(p) - 1] == '/')
        return "no trailing '/'";
    return NULL;
}

static const char *check_url(const char *v)
{
    const char *rest, *p;
    if (strncmp(v, "ws://", 5) == 0)
        rest = v + 5;
    else if (strncmp(v, "wss://", 6) == 0)
        rest = v + 6;
    else
        return "must start with ws:// or wss://";
    const char *why = url_authority(rest, &p);
    if (why)
        return why;
    if (strchr(p, ' '))
        return "spaces are not allowed";
    return NULL;
}

/* A bare JID, local@domain (jid_bare_valid, the directory's rule too). */
static const char *check_jid(const char *v)
{
    if (!jid_bare_valid(v, strlen(v)))
        return "expected local@domain (a bare JID: no resource, spaces or quotes)";
    return NULL;
}

static const char *check_domain(const char *v)
{
    return host_ok(v, strlen(v)) ? NULL : "expected a domain like conference.example.com";
}

/* Room names become the local part of a room JID. */
static const char *check_room(const char *v)
{
    for (const char *p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
              *p == '.'))
            return "use lower-case letters, digits, '-', '_' and '.'";
    return NULL;
}

static const char *check_no_slash(const char *v)
{
    return strchr(v, '/') ? "must not contain '/'" : NULL;
}

static const char *check_readable(const char *v)
{
    struct stat st;
    if (stat(v, &st) != 0)
        return "no such file";
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    if (access(v, R_OK) != 0)
        return "not readable";
    return NULL;
}

static const char *check_hhmm(const char *v)
{
    int32_t secs;
    if (strlen(v) != 5 || !civil_hhmm_parse(v, false, &secs))
        return "expected HH:MM (00:00..23:59)";
    return NULL;
}

static const char *check_notify(const char *v)
{
    if (!strcmp(v, "dealer_managers") || !strcmp(v, "supervisors") || !strcmp(v, "admins"))
        return NULL;
    if (!strchr(v, '@'))
        return "expected dealer_managers, supervisors, admins or a JID";
    return check_jid(v);
}

/* ------------------------------------------------------------------------------------------ */
/* Table helpers                                                                               */

static const char *leaf(const struct key *k)
{
    const char *dot = strrchr(k->path, '.');
    return dot ? dot + 1 : k->path;
}

static const struct key *key_by_path(const char *path)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].path, path))
            return &keys[i];
    return NULL;
}

static const struct key *key_by_leaf(enum key_scope scope, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].scope == scope && !strcmp(leaf(&keys[i]), name))
            return &keys[i];
    return NULL;
}

/* True when `path` names a group some SC_TOP key lives under ("http", "chat.xmpp"). */
static bool is_top_group(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].scope == SC_TOP && !strncmp(keys[i].path, path, n) && keys[i].path[n] == '.')
            return true;
    return false;
}

static char **str_at(void *base, const struct key *k)
{
    return (char **)((char *)base + k->off);
}

static char *const *cstr_at(const void *base, const struct key *k)
{
    return (char *const *)((const char *)base + k->off);
}

static int64_t *i64_at(void *base, const struct key *k)
{
    return (int64_t *)((char *)base + k->off);
}

static const char *type_name(enum key_type t)
{
    switch (t) {
    case KT_STRING: return "string";
    case KT_INT: return "int";
    case KT_FLOAT: return "float";
    case KT_BOOL: return "bool";
    case KT_DURATION: return "duration";
    case KT_DURATIONS: return "duration list";
    case KT_SECRET: return "secret";
    case KT_SECRET_FILE: return "secret file";
    case KT_WEEKDAYS: return "weekday list";
    case KT_HOURS: return "hours";
    case KT_DATES: return "date list";
    }
    return "?";
}

/* What a user should have written, for "expected ..." messages. */
static const char *expected(enum key_type t)
{
    switch (t) {
    case KT_STRING:
    case KT_SECRET: return "a string";
    case KT_SECRET_FILE: return "a string (a file path)";
    case KT_INT: return "an integer";
    case KT_FLOAT: return "a number";
    case KT_BOOL: return "true or false";
    case KT_DURATION: return "a duration string like \"12h\"";
    case KT_DURATIONS: return "a list of durations like [ \"2h\", \"30m\" ]";
    case KT_WEEKDAYS: return "a list of weekdays like [ 1, 2, 3, 4, 5 ] (1 = Monday .. 7 = Sunday)";
    case KT_HOURS: return "a string like \"09:00-18:00\"";
    case KT_DATES: return "a list of dates like [ \"2026-10-01\", \"2026-10-02\" ]";
    }
    return "?";
}

/* ------------------------------------------------------------------------------------------ */
/* Loading                                                                                     */

struct loader {
    const char *name; /* file name for messages */
    const char *base; /* folder relative paths are taken from; NULL: the working directory */
    struct config *cfg;
    struct dbot_diag *diag;
    bool seen[N_KEYS];     /* SC_TOP keys given in the file */
    unsigned line[N_KEYS]; /* where */
    bool pol_seen[SLA_POLICY_MAX][N_KEYS];
};

/* "file:line: " (or "file: " when the line is unknown) for a message about setting s. */
static void where(const struct loader *ld, unsigned line, const config_setting_t *s, char *buf,
                  size_t len)
{
    const char *file =
        (s && config_setting_source_file(s)) ? config_setting_source_file(s) : ld->name;
    if (line)
        snprintf(buf, len, "%s:%u: ", file, line);
    else
        snprintf(buf, len, "%s: ", file);
}

#define FAIL(ld, err, s, ...)                                                                      \
    do {                                                                                           \
        char w_[PATH_MAX_KEY];                                                                     \
        char m_[DBOT_DIAG_MAX];                                                                    \
        where((ld), (s) ? config_setting_source_line(s) : 0, (s), w_, sizeof w_);                  \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                      \
        return dbot_diag_set((ld)->diag, (err), "%s%s", w_, m_);                                   \
    } while (0)

#define FAIL_AT(ld, err, line, ...)                                                                \
    do {                                                                                           \
        char w_[PATH_MAX_KEY];                                                                     \
        char m_[DBOT_DIAG_MAX];                                                                    \
        where((ld), (line), NULL, w_, sizeof w_);                                                  \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                      \
        return dbot_diag_set((ld)->diag, (err), "%s%s", w_, m_);                                   \
    } while (0)

/* Printable form of the concrete key a setting stands for (a policy field shows its policy
 * name, a calendar field its calendar name (also passed as `policy`), an escalation field its
 * level number). */
static void concrete_path(const struct key *k, const char *policy, int level, char *buf, size_t len)
{
    if (k->scope == SC_POLICY)
        snprintf(buf, len, "sla.%s.%s", policy, leaf(k));
    else if (k->scope == SC_LEVEL)
        snprintf(buf, len, "sla.escalation.[%d].%s", level, leaf(k));
    else if (k->scope == SC_CALENDAR)
        snprintf(buf, len, "calendars.%s.%s", policy, leaf(k));
    else
        snprintf(buf, len, "%s", k->path);
}

/* Text every string value must pass: UTF-8, no control characters, not empty. */
static const char *string_problem(const char *v)
{
    if (!*v)
        return "must not be empty";
    size_t n = strlen(v);
    if (!utf8_valid(v, n))
        return "is not valid UTF-8";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return "must not contain control characters";
    return NULL;
}

/*
 * Reads a secret from `path`: at most SECRET_FILE_MAX bytes, one line; one trailing "\n" or
 * "\r\n" is dropped. The message names the path, never the content. Returns a new string.
 */
static int read_secret_file(struct loader *ld, const config_setting_t *s, const char *kpath,
                            const char *path, char **out)
{
    char *buf = NULL;
    size_t n = 0;
    int e = 0;
    int rc = file_read_all(path, SECRET_FILE_MAX, FILE_REGULAR | FILE_SECRET, &buf, &n, &e);
    if (rc == DBOT_ERR_NOMEM)
        return dbot_diag_set(ld->diag, rc, "%s: out of memory", ld->name);
    if (rc == DBOT_ERR_NOTFOUND || (rc == DBOT_ERR_IO && e != 0))
        FAIL(ld, DBOT_ERR_IO, s, "%s: cannot read \"%.*s\": %s", kpath, QUOTE_MAX, path,
             strerror(rc == DBOT_ERR_NOTFOUND ? ENOENT : e));
    if (rc == DBOT_ERR_IO)
        FAIL(ld, DBOT_ERR_IO, s, "%s: \"%.*s\" is not a regular file", kpath, QUOTE_MAX, path);
    if (rc == DBOT_ERR_TOOBIG)
        FAIL(ld, DBOT_ERR_INVALID, s, "%s: \"%.*s\": file too large (at most %d bytes)", kpath,
             QUOTE_MAX, path, SECRET_FILE_MAX);
    size_t read_len = n;
    const char *why = NULL;
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (n == 0)
        why = "file is empty";
    else if (memchr(buf, '\0', n))
        why = "file contains a NUL byte";
    else if (memchr(buf, '\n', n) || memchr(buf, '\r', n))
        why = "file must hold one line";
    if (why) {
        explicit_bzero(buf, read_len);
        free(buf);
        FAIL(ld, DBOT_ERR_INVALID, s, "%s: \"%.*s\": %s", kpath, QUOTE_MAX, path, why);
    }
    *out = buf; /* taken: the caller wipes and frees it */
    return 0;
}

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/*
 * Stores a string-typed value (string, secret, secret file) after checking it. `s` is the
 * setting it came from (NULL for a default), `kp` the concrete key path for messages.
 */
static int store_string(struct loader *ld, const struct key *k, void *base, const char *v,
                        const config_setting_t *s, const char *kp)
{
    bool secret = k->type == KT_SECRET;
    const char *why = string_problem(v);
    if (why)
        FAIL(ld, DBOT_ERR_INVALID, s, "%s: %s", kp, why);

    /* A relative path means: next to the config file, wherever the daemon was started. */
    char joined[CONFIG_PATH_MAX];
    if ((k->type == KT_SECRET_FILE || (k->flags & K_PATH)) && v[0] != '/' && ld->base) {
        size_t bl = strlen(ld->base);
        int n = snprintf(joined, sizeof joined, "%s%s%s", ld->base,
                         bl && ld->base[bl - 1] == '/' ? "" : "/", v);
        if (n < 0 || (size_t)n >= sizeof joined)
            FAIL(ld, DBOT_ERR_INVALID, s, "%s: path too long (at most %d bytes)", kp,
                 CONFIG_PATH_MAX - 1);
        v = joined;
    }

    if (k->choices) {
        bool ok = false;
        char list[128] = "";
        size_t used = 0;
        for (const char *const *c = k->choices; *c; c++) {
            ok = ok || !strcmp(*c, v);
            int n = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", *c);
            if (n > 0 && (size_t)n < sizeof list - used)
                used += (size_t)n;
        }
        if (!ok)
            FAIL(ld, DBOT_ERR_INVALID, s, "%s: \"%.*s\" is not one of %s", kp, QUOTE_MAX, v, list);
    }
    if (k->check && (why = k->check(v)) != NULL) {
        if (secret)
            FAIL(ld, DBOT_ERR_INVALID, s, "%s: %s", kp, why);
        FAIL(ld, DBOT_ERR_INVALID, s, "%s: bad value \"%.*s\": %s", kp, QUOTE_MAX, v, why);
    }

    if (k->cap) {
        size_t n = strlen(v);
        if (n >= k->cap)
            FAIL(ld, DBOT_ERR_INVALID, s, "%s: too long (at most %zu bytes)", kp, k->cap - 1);
        memcpy((char *)base + k->off, v, n + 1);
        return 0;
    }

    if (k->type == KT_SECRET_FILE) {
        /* Read the secret now; it goes into the twin's field, the path into ours. */
        const struct key *sk = key_by_path(k->alt);
        assert(sk && sk->type == KT_SECRET);
        char *secret_val = NULL;
        int rc = read_secret_file(ld, s, kp, v, &secret_val);
        if (rc)
            return rc;
        if (sk->check && (why = sk->check(secret_val)) != NULL) {
            free_secret(secret_val);
            FAIL(ld, DBOT_ERR_INVALID, s, "%s: the secret in \"%.*s\" is %s%s", kp, QUOTE_MAX, v,
                 strncmp(why, "too short", 9) ? "bad: " : "", why);
        }
        char *path_copy = strdup(v);
        if (!path_copy) {
            free_secret(secret_val);
            return dbot_diag_set(ld->diag, DBOT_ERR_NOMEM, "%s: out of memory", ld->name);
        }
        free_secret(*str_at(base, sk));
        *str_at(base, sk) = secret_val;
        free(*str_at(base, k));
        *str_at(base, k) = path_copy;
        return 0;
    }

    char *copy = strdup(v);
    if (!copy)
        return dbot_diag_set(ld->diag, DBOT_ERR_NOMEM, "%s: out of memory", ld->name);
    if (secret)
        free_secret(*str_at(base, k));
    else
        free(*str_at(base, k));
    *str_at(base, k) = copy;
    return 0;
}

static int range_fail_dur(struct loader *ld, const struct key *k, const config_setting_t *s,
                          const char *kp, int64_t v)
{
    char a[32], lo[32], hi[32];
    duration_format(v, a, sizeof a);
    duration_format((int64_t)k->lo, lo, sizeof lo);
    duration_format((int64_t)k->hi, hi, sizeof hi);
    FAIL(ld, DBOT_ERR_INVALID, s, "%s: %s is out of range (%s..%s)", kp, a, lo, hi);
}

static int parse_duration_value(struct loader *ld, const struct key *k, const char *v,
                                const config_setting_t *s, const char *kp, int64_t *out)
{
    int64_t d;
    if (duration_parse(v, &d) != 0)
        FAIL(ld, DBOT_ERR_INVALID, s, "%s: bad duration \"%.*s\" (use s, m, h, d)", kp, QUOTE_MAX,
             v);
    if ((k->flags & K_RANGE) && ((double)d < k->lo || (double)d > k->hi))
        return range_fail_dur(ld, k, s, kp, d);
    *out = d;
    return 0;
}

static int store_int(struct loader *ld, const struct key *k, void *base, int64_t v,
                     const config_setting_t *s, const char *kp)
{
    if ((k->flags & K_RANGE) && ((double)v < k->lo || (double)v > k->hi))
        FAIL(ld, DBOT_ERR_INVALID, s, "%s: %lld is out of range (%.0f..%.0f)", kp, (long long)v,
             k->lo, k->hi);
    *i64_at(base, k) = v;
    return 0;
}

static int store_float(struct loader *ld, const struct key *k, void *base, double v,
                       const config_setting_t *s, const char *kp)
{
    if (!isfinite(v) || ((k->flags & K_RANGE) && (v < k->lo || v > k->hi)))
        FAIL(ld, DBOT_ERR_INVALID, s, "%s: %g is out of range (%g..%g)", kp, v, k->lo, k->hi);
    *(double *)((char *)base + k->off) = v;
    return 0;
}

/* Stores a list of durations; `items` are the texts (from the file or the default). */
static int store_durations(struct loader *ld, const struct key *k, void *base,
                           const char *const *items, int n, const config_setting_t *s,
                           const char *kp)
{
    int64_t vals[SLA_REMIND_MAX];
    if (n > SLA_REMIND_MAX)
        FAIL(ld, DBOT_ERR_INVALID, s, "%s: at most %d entries", kp, SLA_REMIND_MAX);
    for (int i = 0; i < n; i++) {
        int rc = parse_duration_value(ld, k, items[i], s, kp, &vals[i]);
        if (rc)
            return rc;
        for (int j = 0; j < i; j++)
            if (vals[j] == vals[i])
                FAIL(ld, DBOT_ERR_INVALID, s, "%s: \"%.*s\" is listed twice", kp, QUOTE_MAX,
                     items[i]);
    }
    int64_t *dst = i64_at(base, k);
    for (int i = 0; i < n; i++)
        dst[i] = vals[i];
    *(int *)((char *)base + k->count_off) = n;
    return 0;
}

/* Stores a set of ISO weekdays (1 = Monday .. 7 = Sunday) as a mask with bit 0 = Sunday. */
static int store_weekdays(struct loader *ld, const struct key *k, void *base, const int64_t *v,
                          int n, const config_setting_t *s, const char *kp)
{
    unsigned mask = 0;
    if (n == 0)
        FAIL(ld, DBOT_ERR_INVALID, s, "%s: at least one working day is needed", kp);
    for (int i = 0; i < n; i++) {
        if (v[i] < 1 || v[i] > 7)
            FAIL(ld, DBOT_ERR_INVALID, s, "%s: %lld is not a weekday (1 = Monday .. 7 = Sunday)",
                 kp, (long long)v[i]);
        unsigned bit = 1u << (v[i] % 7);
        if (mask & bit)
            FAIL(ld, DBOT_ERR_INVALID, s, "%s: %lld is listed twice", kp, (long long)v[i]);
        mask |= bit;
    }
    *(uint8_t *)((char *)base + k->off) = (uint8_t)mask;
    return 0;
}

/* Stores "HH:MM-HH:MM" (sla_hours_parse) as two second counts; without K_WRAP the start must
 * come before the end. */
static int store_hours(struct loader *ld, const struct key *k, void *base, const char *v,
                       const config_setting_t *s, const char *kp)
{
    int32_t start, end;
    if (sla_hours_parse(v, &start, &end) != 0)
        FAIL(ld, DBOT_ERR_INVALID, s,
             "%s: bad value \"%.*s\": expected HH:MM-HH:MM (00:00..24:00, start and end "
             "differ)",
             kp, QUOTE_MAX, v);
    if (!(k->flags & K_WRAP) && start >= end)
        FAIL(ld, DBOT_ERR_INVALID, s, "%s: bad value \"%.*s\": the start must be before the end",
             kp, QUOTE_MAX, v);
    *(int32_t *)((char *)base + k->off) = start;
    *(int32_t *)((char *)base + k->count_off) = end;
    return 0;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Stores a list of dates (sla_date_parse) as day numbers, sorted, each once. */
static int store_dates(struct loader *ld, const struct key *k, void *base,
                       const char *const *items, int n, const config_setting_t *s, const char *kp)
{
    int32_t vals[CAL_HOLIDAYS_MAX];
    if (n > CAL_HOLIDAYS_MAX)
        FAIL(ld, DBOT_ERR_INVALID, s, "%s: at most %d entries", kp, CAL_HOLIDAYS_MAX);
    for (int i = 0; i < n; i++)
        if (sla_date_parse(items[i], &vals[i]) != 0)
            FAIL(ld, DBOT_ERR_INVALID, s, "%s: bad date \"%.*s\" (use YYYY-MM-DD)", kp,
                 QUOTE_MAX, items[i]);
    qsort(vals, (size_t)n, sizeof vals[0], cmp_i32);
    int32_t *dst = (int32_t *)((char *)base + k->off);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || dst[m - 1] != vals[i])
            dst[m++] = vals[i];
    *(int *)((char *)base + k->count_off) = m;
    return 0;
}

/*
 * Stores the value of setting s into the field of key k inside base, after checking the
 * setting's type and the value. Lists and groups where a scalar is expected are type errors.
 */
static int store_setting(struct loader *ld, const struct key *k, void *base,
                         const config_setting_t *s, const char *kp)
{
    int t = config_setting_type(s);
    switch (k->type) {
    case KT_STRING:
    case KT_SECRET:
    case KT_SECRET_FILE:
        if (t != CONFIG_TYPE_STRING)
            break;
        return store_string(ld, k, base, config_setting_get_string(s), s, kp);
    case KT_INT:
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
            break;
        return store_int(ld, k, base, config_setting_get_int64(s), s, kp);
    case KT_FLOAT:
        if (t == CONFIG_TYPE_FLOAT)
            return store_float(ld, k, base, config_setting_get_float(s), s, kp);
        if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
            return store_float(ld, k, base, (double)config_setting_get_int64(s), s, kp);
        break;
    case KT_BOOL:
        if (t != CONFIG_TYPE_BOOL)
            break;
        *(bool *)((char *)base + k->off) = config_setting_get_bool(s) != 0;
        return 0;
    case KT_DURATION:
        if (t != CONFIG_TYPE_STRING)
            break;
        return parse_duration_value(ld, k, config_setting_get_string(s), s, kp, i64_at(base, k));
    case KT_DURATIONS: {
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
            break;
        int n = config_setting_length(s);
        if (n > SLA_REMIND_MAX)
            FAIL(ld, DBOT_ERR_INVALID, s, "%s: at most %d entries", kp, SLA_REMIND_MAX);
        const char *items[SLA_REMIND_MAX];
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_STRING)
                FAIL(ld, DBOT_ERR_INVALID, s, "%s: expected %s", kp, expected(k->type));
            items[i] = config_setting_get_string(e);
        }
        return store_durations(ld, k, base, items, n, s, kp);
    }
    case KT_WEEKDAYS: {
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
            break;
        /* Eight entries cannot all be distinct weekdays, so the first eight are enough to
         * find what is wrong with a longer list. */
        int n = config_setting_length(s);
        if (n > 8)
            n = 8;
        int64_t days[8];
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            int et = config_setting_type(e);
            if (et != CONFIG_TYPE_INT && et != CONFIG_TYPE_INT64)
                FAIL(ld, DBOT_ERR_INVALID, s, "%s: expected %s", kp, expected(k->type));
            days[i] = config_setting_get_int64(e);
        }
        return store_weekdays(ld, k, base, days, n, s, kp);
    }
    case KT_HOURS:
        if (t != CONFIG_TYPE_STRING)
            break;
        return store_hours(ld, k, base, config_setting_get_string(s), s, kp);
    case KT_DATES: {
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
            break;
        int n = config_setting_length(s);
        if (n > CAL_HOLIDAYS_MAX)
            FAIL(ld, DBOT_ERR_INVALID, s, "%s: at most %d entries", kp, CAL_HOLIDAYS_MAX);
        const char *items[CAL_HOLIDAYS_MAX];
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_STRING)
                FAIL(ld, DBOT_ERR_INVALID, s, "%s: expected %s", kp, expected(k->type));
            items[i] = config_setting_get_string(e);
        }
        return store_dates(ld, k, base, items, n, s, kp);
    }
    }
    FAIL(ld, DBOT_ERR_INVALID, s, "%s: expected %s", kp, expected(k->type));
}

/* Splits a list default, comma-separated in the table ("2h,30m"), into at most max items that
 * point into buf. Returns how many. */
static int split_default(const char *d, char *buf, size_t len, const char **items, int max)
{
    int n = 0;
    snprintf(buf, len, "%s", d);
    char *p = buf;
    while (*p && n < max) {
        items[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

/* Applies the table default of k (a bug if it does not pass its own checks). */
static int store_default(struct loader *ld, const struct key *k, void *base)
{
    const char *d = k->def;
    if (!d)
        return 0;
    switch (k->type) {
    case KT_STRING:
    case KT_SECRET:
    case KT_SECRET_FILE: return store_string(ld, k, base, d, NULL, k->path);
    case KT_INT: return store_int(ld, k, base, strtoll(d, NULL, 10), NULL, k->path);
    case KT_FLOAT: return store_float(ld, k, base, strtod(d, NULL), NULL, k->path);
    case KT_BOOL: *(bool *)((char *)base + k->off) = !strcmp(d, "true"); return 0;
    case KT_DURATION: return parse_duration_value(ld, k, d, NULL, k->path, i64_at(base, k));
    case KT_DURATIONS: {
        char buf[128];
        const char *items[SLA_REMIND_MAX];
        int n = split_default(d, buf, sizeof buf, items, SLA_REMIND_MAX);
        return store_durations(ld, k, base, items, n, NULL, k->path);
    }
    case KT_WEEKDAYS: {
        char buf[128];
        const char *items[7];
        int64_t days[7];
        int n = split_default(d, buf, sizeof buf, items, 7);
        for (int i = 0; i < n; i++)
            days[i] = strtoll(items[i], NULL, 10);
        return store_weekdays(ld, k, base, days, n, NULL, k->path);
    }
    case KT_HOURS: return store_hours(ld, k, base, d, NULL, k->path);
    case KT_DATES: {
        char buf[256];
        const char *items[16];
        int n = split_default(d, buf, sizeof buf, items, 16);
        return store_dates(ld, k, base, items, n, NULL, k->path);
    }
    }
    return 0;
}

/* ---- the sla group ---- */

/* A policy or calendar name: lower-case letters, digits, '_', '-'; shorter than cap. */
static bool name_ok(const char *n, size_t cap)
{
    size_t len = strlen(n);
    if (len == 0 || len >= cap)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return false;
    return true;
}

static int parse_policy(struct loader *ld, const config_setting_t *g, int idx)
{
    struct sla_policy *pol = &ld->cfg->policies[idx];
    const char *name = config_setting_name(g);
    char kp[PATH_MAX_KEY];

    if (!name_ok(name, sizeof pol->name))
        FAIL(ld, DBOT_ERR_INVALID, g,
             "sla.%s: bad policy name (lower-case letters, digits, '_', '-'; at most 31)", name);
    if (!config_setting_is_group(g))
        FAIL(ld, DBOT_ERR_INVALID, g, "sla.%s: expected a group { ack = ...; ... }", name);
    memcpy(pol->name, name, strlen(name) + 1);

    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const struct key *k = key_by_leaf(SC_POLICY, config_setting_name(s));
        if (!k)
            FAIL(ld, DBOT_ERR_INVALID, s, "unknown key \"sla.%s.%s\"", name,
                 config_setting_name(s));
        concrete_path(k, name, 0, kp, sizeof kp);
        int rc = store_setting(ld, k, pol, s, kp);
        if (rc)
            return rc;
        ld->pol_seen[idx][k - keys] = true;
    }

    /* Fill what was left out: from the table for "default", from "default" otherwise. */
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *k = &keys[i];
        if (k->scope != SC_POLICY || ld->pol_seen[idx][i])
            continue;
        if (idx == 0) {
            int rc = store_default(ld, k, pol);
            if (rc)
                return rc;
        } else if (k->type == KT_DURATIONS) {
            const struct sla_policy *d = &ld->cfg->policies[0];
            memcpy(pol->remind_before, d->remind_before, sizeof pol->remind_before);
            pol->n_remind = d->n_remind;
        } else {
            *i64_at(pol, k) = *i64_at(&ld->cfg->policies[0], k);
        }
    }

    /* Each milestone is measured from receipt, so they must come in order. */
    char a[32], b[32];
    if (pol->ack_s > pol->solution_s)
        FAIL(ld, DBOT_ERR_INVALID, g, "sla.%s: ack (%s) is later than solution (%s)", name,
             duration_format(pol->ack_s, a, sizeof a),
             duration_format(pol->solution_s, b, sizeof b));
    if (pol->solution_s > pol->close_s)
        FAIL(ld, DBOT_ERR_INVALID, g, "sla.%s: solution (%s) is later than close (%s)", name,
             duration_format(pol->solution_s, a, sizeof a),
             duration_format(pol->close_s, b, sizeof b));
    return 0;
}

static int parse_escalation(struct loader *ld, const config_setting_t *list)
{
    struct config *cfg = ld->cfg;
    int t = config_setting_type(list);
    char kp[PATH_MAX_KEY];

    if (!(t == CONFIG_TYPE_LIST || (t == CONFIG_TYPE_ARRAY && config_setting_length(list) == 0)))
        FAIL(ld, DBOT_ERR_INVALID, list,
             "sla.escalation: expected a list of groups ( { after = \"4h\"; notify = "
             "\"supervisors\"; }, ... )");
    int n = config_setting_length(list);
    if (n > ESCALATION_MAX)
        FAIL(ld, DBOT_ERR_INVALID, list, "sla.escalation: at most %d levels", ESCALATION_MAX);

    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct escalation_level *lv = &cfg->escalation[i];
        bool seen[N_KEYS] = {false};
        if (!config_setting_is_group(g))
            FAIL(ld, DBOT_ERR_INVALID, g,
                 "sla.escalation.[%d]: expected a group { after = ...; notify = ...; }", i);
        int m = config_setting_length(g);
        for (int j = 0; j < m; j++) {
            const config_setting_t *s = config_setting_get_elem(g, (unsigned)j);
            const struct key *k = key_by_leaf(SC_LEVEL, config_setting_name(s));
            if (!k)
                FAIL(ld, DBOT_ERR_INVALID, s, "unknown key \"sla.escalation.[%d].%s\"", i,
                     config_setting_name(s));
            concrete_path(k, NULL, i, kp, sizeof kp);
            int rc = store_setting(ld, k, lv, s, kp);
            if (rc)
                return rc;
            seen[k - keys] = true;
        }
        for (size_t j = 0; j < N_KEYS; j++) {
            if (keys[j].scope == SC_LEVEL && (keys[j].flags & K_REQUIRED) && !seen[j]) {
                concrete_path(&keys[j], NULL, i, kp, sizeof kp);
                FAIL(ld, DBOT_ERR_INVALID, g, "missing required key %s", kp);
            }
        }
        if (i > 0 && lv->after_s < cfg->escalation[i - 1].after_s)
            FAIL(ld, DBOT_ERR_INVALID, g,
                 "sla.escalation.[%d]: levels must be in order of \"after\"", i);
    }
    cfg->n_escalation = n;
    return 0;
}

static int parse_sla(struct loader *ld, const config_setting_t *sla)
{
    struct config *cfg = ld->cfg;
    bool have_escalation = false;

    if (sla && !config_setting_is_group(sla))
        FAIL(ld, DBOT_ERR_INVALID, sla, "sla: expected a group { default = { ... }; ... }");

    /* "default" first, so the others can inherit from it. With no sla group at all, the
     * default policy is built from the table alone. */
    const config_setting_t *def = sla ? config_setting_get_member(sla, "default") : NULL;
    if (sla && !def)
        FAIL(ld, DBOT_ERR_INVALID, sla, "missing required key sla.default");
    cfg->n_policies = 1;
    if (def) {
        int rc = parse_policy(ld, def, 0);
        if (rc)
            return rc;
    } else {
        memcpy(cfg->policies[0].name, "default", sizeof "default");
        for (size_t i = 0; i < N_KEYS; i++) {
            if (keys[i].scope != SC_POLICY)
                continue;
            int rc = store_default(ld, &keys[i], &cfg->policies[0]);
            if (rc)
                return rc;
        }
    }

    int n = sla ? config_setting_length(sla) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(sla, (unsigned)i);
        const char *name = config_setting_name(s);
        if (!strcmp(name, "default"))
            continue;
        if (!strcmp(name, "escalation")) {
            int rc = parse_escalation(ld, s);
            if (rc)
                return rc;
            have_escalation = true;
            continue;
        }
        char path[PATH_MAX_KEY];
        snprintf(path, sizeof path, "sla.%s", name);
        const struct key *k = key_by_path(path);
        if (k && k->scope == SC_TOP) { /* sla.calendar, sla.quiet_hours */
            int rc = store_setting(ld, k, cfg, s, path);
            if (rc)
                return rc;
            ld->seen[k - keys] = true;
            ld->line[k - keys] = config_setting_source_line(s);
            continue;
        }
        if (!config_setting_is_group(s))
            FAIL(ld, DBOT_ERR_INVALID, s, "unknown key \"sla.%s\" (a policy must be a group)",
                 name);
        if (cfg->n_policies >= SLA_POLICY_MAX)
            FAIL(ld, DBOT_ERR_INVALID, s, "sla: at most %d policies", SLA_POLICY_MAX);
        int rc = parse_policy(ld, s, cfg->n_policies);
        if (rc)
            return rc;
        cfg->n_policies++;
    }

    if (!have_escalation) {
        size_t nl = sizeof default_ladder / sizeof default_ladder[0];
        memcpy(cfg->escalation, default_ladder, sizeof default_ladder);
        cfg->n_escalation = (int)nl;
    }
    return 0;
}

/* ---- the calendars group ---- */

static int parse_calendar(struct loader *ld, const config_setting_t *g, struct calendar *cal)
{
    const char *name = config_setting_name(g);
    char kp[PATH_MAX_KEY];
    bool seen[N_KEYS] = {false};

    if (!name_ok(name, sizeof cal->name))
        FAIL(ld, DBOT_ERR_INVALID, g,
             "calendars.%s: bad calendar name (lower-case letters, digits, '_', '-'; at most 31)",
             name);
    if (!config_setting_is_group(g))
        FAIL(ld, DBOT_ERR_INVALID, g,
             "calendars.%s: expected a group { days = ...; hours = ...; holidays = ...; }", name);
    memcpy(cal->name, name, strlen(name) + 1);

    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const struct key *k = key_by_leaf(SC_CALENDAR, config_setting_name(s));
        if (!k)
            FAIL(ld, DBOT_ERR_INVALID, s, "unknown key \"calendars.%s.%s\"", name,
                 config_setting_name(s));
        concrete_path(k, name, 0, kp, sizeof kp);
        int rc = store_setting(ld, k, cal, s, kp);
        if (rc)
            return rc;
        seen[k - keys] = true;
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].scope != SC_CALENDAR || seen[i])
            continue;
        int rc = store_default(ld, &keys[i], cal);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_calendars(struct loader *ld, const config_setting_t *g)
{
    struct config *cfg = ld->cfg;
    if (!config_setting_is_group(g))
        FAIL(ld, DBOT_ERR_INVALID, g,
             "calendars: expected a group { <name> = { days = ...; hours = ...; }; ... }");
    int n = config_setting_length(g);
    if (n > CAL_MAX)
        FAIL(ld, DBOT_ERR_INVALID, g, "calendars: at most %d calendars", CAL_MAX);
    for (int i = 0; i < n; i++) {
        int rc = parse_calendar(ld, config_setting_get_elem(g, (unsigned)i), &cfg->calendars[i]);
        if (rc)
            return rc;
    }
    cfg->n_calendars = n;
    return 0;
}

/* ---- the top-level walk ---- */

static int walk_group(struct loader *ld, const config_setting_t *g, const char *prefix)
{
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        char path[PATH_MAX_KEY];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", config_setting_name(s));

        if (!strcmp(path, "sla")) {
            int rc = parse_sla(ld, s);
            if (rc)
                return rc;
            continue;
        }
        if (!strcmp(path, "calendars")) {
            int rc = parse_calendars(ld, s);
            if (rc)
                return rc;
            continue;
        }
        const struct key *k = key_by_path(path);
        if (k && k->scope == SC_TOP) {
            int rc = store_setting(ld, k, ld->cfg, s, path);
            if (rc)
                return rc;
            ld->seen[k - keys] = true;
            ld->line[k - keys] = config_setting_source_line(s);
            continue;
        }
        if (is_top_group(path)) {
            if (!config_setting_is_group(s))
                FAIL(ld, DBOT_ERR_INVALID, s, "%s: expected a group { ... }", path);
            int rc = walk_group(ld, s, path);
            if (rc)
                return rc;
            continue;
        }
        FAIL(ld, DBOT_ERR_INVALID, s, "unknown key \"%s\"", path);
    }
    return 0;
}

/*
 * After the walk: defaults for what was left out, then the rules that involve more than one
 * key (secret pairs, keys required by chat.platform = "xmpp", sla.calendar naming one of
 * the calendars).
 */
static int finish(struct loader *ld, bool sla_seen)
{
    struct config *cfg = ld->cfg;

    if (!sla_seen) {
        int rc = parse_sla(ld, NULL);
        if (rc)
            return rc;
    }

    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].scope == SC_TOP && !ld->seen[i]) {
            int rc = store_default(ld, &keys[i], cfg);
            if (rc)
                return rc;
        }
    }

    bool xmpp = !strcmp(cfg->chat.platform, "xmpp");
    bool dingtalk = !strcmp(cfg->chat.platform, "dingtalk");
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *k = &keys[i];
        if (k->scope != SC_TOP)
            continue;
        /* the platform whose keys this one is required for, when it is the configured one */
        const char *plat = ((k->flags & K_XMPP) && xmpp)           ? "xmpp"
                           : ((k->flags & K_DINGTALK) && dingtalk) ? "dingtalk"
                                                                   : NULL;
        if (k->type == KT_SECRET) {
            size_t j = (size_t)(key_by_path(k->alt) - keys);
            if (ld->seen[i] && ld->seen[j])
                FAIL_AT(ld, DBOT_ERR_INVALID, ld->line[j], "give %s or %s, not both", k->path,
                        k->alt);
            bool need = (k->flags & K_REQUIRED) || plat;
            if (need && !ld->seen[i] && !ld->seen[j]) {
                if (plat)
                    FAIL_AT(ld, DBOT_ERR_INVALID, 0,
                            "missing required key %s (or %s), needed when chat.platform = "
                            "\"%s\"",
                            k->path, k->alt, plat);
                FAIL_AT(ld, DBOT_ERR_INVALID, 0, "missing required key %s (or %s)", k->path,
                        k->alt);
            }
            continue;
        }
        if (k->type == KT_SECRET_FILE)
            continue; /* handled with its twin */
        if ((k->flags & K_REQUIRED) && !ld->seen[i])
            FAIL_AT(ld, DBOT_ERR_INVALID, 0, "missing required key %s", k->path);
        if (plat && (!*str_at(cfg, k) || !**str_at(cfg, k)))
            FAIL_AT(ld, DBOT_ERR_INVALID, 0,
                    "missing required key %s, needed when chat.platform = \"%s\"", k->path,
                    plat);
    }
    if (dingtalk) {
        /* The robot's code is the app's id unless told otherwise; the outbox's rates stay
         * inside DingTalk's limits unless the file asks for others. */
        if (!cfg->chat.dingtalk.robot_code || !*cfg->chat.dingtalk.robot_code) {
            free(cfg->chat.dingtalk.robot_code);
            if (!(cfg->chat.dingtalk.robot_code = strdup(cfg->chat.dingtalk.client_id)))
                return dbot_diag_set(ld->diag, DBOT_ERR_NOMEM, "%s: out of memory", ld->name);
        }
        if (!ld->seen[key_by_path("chat.rate_global") - keys])
            cfg->chat.rate_global = DINGTALK_RATE_GLOBAL;
        if (!ld->seen[key_by_path("chat.rate_room") - keys])
            cfg->chat.rate_room = DINGTALK_RATE_ROOM;
    }

    if (!cfg->messages_dir) {
        /* The texts installed beside the binary (share/dealerbot/messages). */
        char dir[CONFIG_PATH_MAX];
        layout_messages_dir(dir, sizeof dir);
        if (!(cfg->messages_dir = strdup(dir)))
            return dbot_diag_set(ld->diag, DBOT_ERR_NOMEM, "%s: out of memory", ld->name);
    }

    /* SCRAM sends the password through SASLprep (RFC 4013); one it refuses would fail every
     * login, so refuse it here, without quoting it */
    if (xmpp && cfg->chat.xmpp.password && *cfg->chat.xmpp.password) {
        char *prepped = NULL;
        int rc = sasl_prep(cfg->chat.xmpp.password, &prepped);
        if (prepped) {
            explicit_bzero(prepped, strlen(prepped));
            free(prepped);
        }
        size_t i = (size_t)(key_by_path("chat.xmpp.password") - keys);
        size_t j = (size_t)(key_by_path("chat.xmpp.password_file") - keys);
        if (rc == DBOT_ERR_NOMEM)
            FAIL_AT(ld, rc, 0, "out of memory");
        if (rc)
            FAIL_AT(ld, DBOT_ERR_INVALID, ld->seen[i] ? ld->line[i] : ld->line[j],
                    "%s: SASLprep (RFC 4013) refuses this password (a control character, an "
                    "unassigned code point or mixed right-to-left text), so no login could "
                    "succeed",
                    ld->seen[i] ? "chat.xmpp.password" : "chat.xmpp.password_file");
    }

    if (cfg->default_calendar && !config_calendar(cfg, cfg->default_calendar)) {
        size_t i = (size_t)(key_by_path("sla.calendar") - keys);
        FAIL_AT(ld, DBOT_ERR_INVALID, ld->line[i],
                "sla.calendar: unknown calendar \"%.*s\" (not defined under calendars)",
                QUOTE_MAX, cfg->default_calendar);
    }
    cfg->quiet.on = cfg->quiet.start_s != cfg->quiet.end_s;
    return 0;
}

static int load(config_t *lc, const char *name, const char *base, struct config **out,
                struct dbot_diag *diag)
{
    struct loader *ld = calloc(1, sizeof *ld);
    struct config *cfg = calloc(1, sizeof *cfg);
    int rc;

    if (!ld || !cfg || !(cfg->path = strdup(name))) {
        rc = dbot_diag_set(diag, DBOT_ERR_NOMEM, "%s: out of memory", name);
        goto out;
    }
    ld->name = name;
    ld->base = base;
    ld->cfg = cfg;
    ld->diag = diag;

    config_setting_t *root = config_root_setting(lc);
    rc = walk_group(ld, root, "");
    if (rc)
        goto out;
    rc = finish(ld, config_setting_get_member(root, "sla") != NULL);
    if (rc)
        goto out;
    *out = cfg;
    cfg = NULL;
out:
    config_free(cfg);
    free(ld);
    return rc;
}

/* The absolute folder of the file `path` (the working directory for a bare name). */
static int config_dir_of(const char *path, char *buf, size_t len)
{
    char dir[CONFIG_PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s", path);
    if (n < 0 || (size_t)n >= sizeof dir)
        return DBOT_ERR_INVALID;
    char *slash = strrchr(dir, '/');
    if (!slash)
        memcpy(dir, ".", 2);
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    char *abs = realpath(dir, NULL);
    if (!abs)
        return errno == ENOMEM ? DBOT_ERR_NOMEM : DBOT_ERR_IO;
    n = snprintf(buf, len, "%s", abs);
    free(abs);
    return n < 0 || (size_t)n >= len ? DBOT_ERR_INVALID : 0;
}

static int syntax_error(const config_t *lc, const char *name, struct dbot_diag *diag)
{
    const char *file = config_error_file(lc) ? config_error_file(lc) : name;
    const char *text = config_error_text(lc) ? config_error_text(lc) : "syntax error";
    if (config_error_line(lc) > 0)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s:%d: %s", file, config_error_line(lc),
                             text);
    return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s: %s", file, text);
}

int config_load(const char *path, struct config **out, struct dbot_diag *diag)
{
    dbot_diag_clear(diag);
    if (!path || !*path)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "no configuration file given");

    /* libconfig only says "file I/O error"; find out why first. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return dbot_diag_set(diag, DBOT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    close(fd);
    if (!regular)
        return dbot_diag_set(diag, DBOT_ERR_IO, "%s: not a regular file", path);

    /* @include paths and the relative paths in the file are taken from the file's own
     * folder, made absolute so that check-config shows where they really are. */
    char base[CONFIG_PATH_MAX];
    int rc = config_dir_of(path, base, sizeof base);
    if (rc)
        return dbot_diag_set(diag, rc, "%s: cannot resolve its folder: %s", path,
                             dbot_strerror(rc));
    config_t lc;
    config_init(&lc);
    config_set_include_dir(&lc, base);
    if (config_read_file(&lc, path) != CONFIG_TRUE) {
        if (config_error_type(&lc) == CONFIG_ERR_FILE_IO && !config_error_file(&lc))
            rc = dbot_diag_set(diag, DBOT_ERR_IO, "%s: cannot read: %s", path,
                               config_error_text(&lc));
        else
            rc = syntax_error(&lc, path, diag);
    } else {
        rc = load(&lc, path, base, out, diag);
    }
    config_destroy(&lc);
    return rc;
}

int config_load_string(const char *text, const char *name, struct config **out,
                       struct dbot_diag *diag)
{
    dbot_diag_clear(diag);
    if (!name)
        name = "(string)";
    if (!text)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s: no text", name);
    config_t lc;
    config_init(&lc);
    int rc;
    if (config_read_string(&lc, text) != CONFIG_TRUE)
        rc = syntax_error(&lc, name, diag);
    else
        rc = load(&lc, name, NULL, out, diag);
    config_destroy(&lc);
    return rc;
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *k = &keys[i];
        if (k->scope != SC_TOP || k->cap)
            continue;
        if (k->type == KT_SECRET)
            free_secret(*str_at(cfg, k));
        else if (k->type == KT_STRING || k->type == KT_SECRET_FILE)
            free(*str_at(cfg, k));
    }
    free(cfg->path);
    free(cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* Printing                                                                                    */

/* A libconfig string literal. */
static void print_quoted(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        case '\f': fputs("\\f", fp); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(fp, "\\x%02x", *p);
            else
                fputc(*p, fp);
        }
    }
    fputc('"', fp);
}

/* Shortest decimal form that reads back to the same double, always with a '.' or exponent so
 * libconfig sees a float. */
static void print_float(FILE *fp, double v)
{
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, fp);
    if (!strpbrk(buf, ".eEn"))
        fputs(".0", fp);
}

static void indent(FILE *fp, int depth)
{
    for (int i = 0; i < depth; i++)
        fputs("  ", fp);
}

/* Prints `name = value;` for key k stored in base, or a comment when it has no value. */
static void print_key(FILE *fp, const struct config *cfg, const struct key *k, const void *base,
                      int depth, bool one_line)
{
    const char *name = leaf(k);
    const char *p = (const char *)base + k->off;
    char buf[32];

    if (!one_line)
        indent(fp, depth);
    switch (k->type) {
    case KT_STRING: {
        const char *v = k->cap ? p : *(char *const *)p;
        if (!v) {
            fprintf(fp, "# %s is not set\n", name);
            return;
        }
        fprintf(fp, "%s = ", name);
        print_quoted(fp, v);
        break;
    }
    case KT_SECRET: {
        const char *v = *(char *const *)p;
        const struct key *fk = key_by_path(k->alt);
        if (!v)
            fprintf(fp, "# %s is not set\n", name);
        else if (*cstr_at(cfg, fk))
            fprintf(fp, "# %s is read from %s\n", name, leaf(fk));
        else
            fprintf(fp, "%s = \"********\";\n", name);
        return;
    }
    case KT_SECRET_FILE: {
        const char *v = *(char *const *)p;
        if (!v) {
            fprintf(fp, "# %s is not set\n", name);
            return;
        }
        fprintf(fp, "%s = ", name);
        print_quoted(fp, v);
        break;
    }
    case KT_INT:
        fprintf(fp, "%s = %lld", name, (long long)*(const int64_t *)p);
        if (*(const int64_t *)p > INT32_MAX || *(const int64_t *)p < INT32_MIN)
            fputc('L', fp);
        break;
    case KT_FLOAT:
        fprintf(fp, "%s = ", name);
        print_float(fp, *(const double *)p);
        break;
    case KT_BOOL: fprintf(fp, "%s = %s", name, *(const bool *)p ? "true" : "false"); break;
    case KT_DURATION:
        fprintf(fp, "%s = \"%s\"", name, duration_format(*(const int64_t *)p, buf, sizeof buf));
        break;
    case KT_DURATIONS: {
        const int64_t *v = (const int64_t *)p;
        int n = *(const int *)((const char *)base + k->count_off);
        fprintf(fp, "%s = [", name);
        for (int i = 0; i < n; i++)
            fprintf(fp, "%s \"%s\"", i ? "," : "", duration_format(v[i], buf, sizeof buf));
        fputs(" ]", fp);
        break;
    }
    case KT_WEEKDAYS: {
        unsigned mask = *(const uint8_t *)p;
        int n = 0;
        fprintf(fp, "%s = [", name);
        for (int iso = 1; iso <= 7; iso++)
            if (mask & (1u << (iso % 7)))
                fprintf(fp, "%s %d", n++ ? "," : "", iso);
        fputs(" ]", fp);
        break;
    }
    case KT_HOURS: {
        int32_t start = *(const int32_t *)p;
        int32_t end = *(const int32_t *)((const char *)base + k->count_off);
        if (start == end) {
            fprintf(fp, "# %s is not set\n", name);
            return;
        }
        fprintf(fp, "%s = \"%02d:%02d-%02d:%02d\"", name, (int)(start / 3600),
                (int)(start % 3600 / 60), (int)(end / 3600), (int)(end % 3600 / 60));
        break;
    }
    case KT_DATES: {
        const int32_t *v = (const int32_t *)p;
        int n = *(const int *)((const char *)base + k->count_off);
        fprintf(fp, "%s = [", name);
        for (int i = 0; i < n; i++) {
            /* The date part of midnight UTC of that day. */
            rfc3339_format((int64_t)v[i] * 86400, 0, buf, sizeof buf);
            buf[10] = '\0';
            fprintf(fp, "%s \"%s\"", i ? "," : "", buf);
        }
        fputs(" ]", fp);
        break;
    }
    }
    fputs(one_line ? "; " : ";\n", fp);
}

static void print_sla(FILE *fp, const struct config *cfg)
{
    fputs("sla = {\n", fp);
    for (int i = 0; i < cfg->n_policies; i++) {
        const struct sla_policy *pol = &cfg->policies[i];
        fprintf(fp, "  %s = {\n", pol->name);
        for (size_t j = 0; j < N_KEYS; j++)
            if (keys[j].scope == SC_POLICY)
                print_key(fp, cfg, &keys[j], pol, 2, false);
        fputs("  };\n", fp);
    }
    fputs("  escalation = (", fp);
    for (int i = 0; i < cfg->n_escalation; i++) {
        fprintf(fp, "%s\n    { ", i ? "," : "");
        for (size_t j = 0; j < N_KEYS; j++)
            if (keys[j].scope == SC_LEVEL)
                print_key(fp, cfg, &keys[j], &cfg->escalation[i], 0, true);
        fputs("}", fp);
    }
    fputs(cfg->n_escalation ? "\n  );\n" : " );\n", fp);
    for (size_t j = 0; j < N_KEYS; j++)
        if (keys[j].scope == SC_TOP && !strncmp(keys[j].path, "sla.", 4))
            print_key(fp, cfg, &keys[j], cfg, 1, false);
    fputs("};\n", fp);
}

static void print_calendars(FILE *fp, const struct config *cfg)
{
    if (cfg->n_calendars == 0) {
        fputs("calendars = { };\n", fp);
        return;
    }
    fputs("calendars = {\n", fp);
    for (int i = 0; i < cfg->n_calendars; i++) {
        fprintf(fp, "  %s = {\n", cfg->calendars[i].name);
        for (size_t j = 0; j < N_KEYS; j++)
            if (keys[j].scope == SC_CALENDAR)
                print_key(fp, cfg, &keys[j], &cfg->calendars[i], 2, false);
        fputs("  };\n", fp);
    }
    fputs("};\n", fp);
}

/* Length of the group part of a dotted path ("chat.xmpp" of "chat.xmpp.url"; 0 for
 * "database"). */
static size_t group_len(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? (size_t)(dot - path) : 0;
}

/* The dotted components of the first n bytes of path, at most 8 (the table nests 2 deep). */
struct components {
    int n;
    const char *s[8];
    size_t len[8];
};

static void split(const char *path, size_t n, struct components *c)
{
    c->n = 0;
    size_t i = 0;
    while (i < n && c->n < 8) {
        size_t l = 0;
        while (i + l < n && path[i + l] != '.')
            l++;
        c->s[c->n] = path + i;
        c->len[c->n] = l;
        c->n++;
        i += l + 1;
    }
}

static void close_groups(FILE *fp, int from, int to)
{
    for (int d = from; d > to; d--) {
        indent(fp, d - 1);
        fputs("};\n", fp);
    }
}

/*
 * Walks the table in order; consecutive keys of one group are printed inside it. The
 * calendars and sla groups are printed whole where their first key stands (sla.calendar and
 * sla.quiet_hours with the rest of sla).
 */
void config_print(const struct config *cfg, FILE *fp)
{
    if (!cfg || !fp)
        return;
    fprintf(fp, "# effective configuration of %s (defaults filled in, secrets masked)\n",
            cfg->path ? cfg->path : "(unknown)");

    struct components open = {0}; /* the groups currently open */
    bool sla_done = false, calendars_done = false;

    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *k = &keys[i];
        if (k->scope == SC_CALENDAR) {
            if (!calendars_done) {
                close_groups(fp, open.n, 0);
                open.n = 0;
                fputc('\n', fp);
                print_calendars(fp, cfg);
                calendars_done = true;
            }
            continue;
        }
        if (k->scope != SC_TOP || !strncmp(k->path, "sla.", 4)) {
            if (!sla_done) {
                close_groups(fp, open.n, 0);
                open.n = 0;
                fputc('\n', fp);
                print_sla(fp, cfg);
                sla_done = true;
            }
            continue;
        }
        struct components g;
        split(k->path, group_len(k->path), &g);
        int keep = 0;
        while (keep < open.n && keep < g.n && open.len[keep] == g.len[keep] &&
               !memcmp(open.s[keep], g.s[keep], g.len[keep]))
            keep++;
        close_groups(fp, open.n, keep);
        if (keep == 0 && g.n > 0 && (open.n > 0 || i > 0))
            fputc('\n', fp); /* a blank line before each top-level group */
        for (int d = keep; d < g.n; d++) {
            indent(fp, d);
            fprintf(fp, "%.*s = {\n", (int)g.len[d], g.s[d]);
        }
        open = g;
        print_key(fp, cfg, k, cfg, g.n, false);
    }
    close_groups(fp, open.n, 0);
}

/* ------------------------------------------------------------------------------------------ */

const struct sla_policy *config_policy(const struct config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (int i = 0; i < cfg->n_policies; i++)
        if (!strcmp(cfg->policies[i].name, name))
            return &cfg->policies[i];
    return NULL;
}

const struct calendar *config_calendar(const struct config *cfg, const char *name)
{
    if (!cfg)
        return NULL;
    if (!name || !*name) {
        if (!cfg->default_calendar)
            return NULL;
        name = cfg->default_calendar;
    }
    for (int i = 0; i < cfg->n_calendars; i++)
        if (!strcmp(cfg->calendars[i].name, name))
            return &cfg->calendars[i];
    return NULL;
}

const char *config_default_path(void)
{
    const char *e = getenv("DEALERBOT_CONFIG");
    return (e && *e) ? e : "config/dealerbot.conf";
}

bool config_key_at(size_t i, struct config_key_info *out)
{
    if (i >= N_KEYS || !out)
        return false;
    const struct key *k = &keys[i];
    out->name = k->path;
    out->type = type_name(k->type);
    out->def = k->def;
    out->doc = k->doc;
    out->required = (k->flags & K_REQUIRED) != 0;
    return true;
}
