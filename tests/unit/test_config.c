/*
 * Unit tests for src/config/config.c: a full valid file, defaults, every class of error (with
 * the exact one-line messages where they are part of the contract), secrets (files, masking),
 * the print -> load round trip, and the check that config/dealerbot.example.conf documents
 * exactly the keys of the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dealerbot/config.h"
#include "dealerbot/layout.h"

#include "unit_util.h"

#define TOKEN "tok-0123456789abcdef" /* 20 characters */
#define TOKEN_LINE "http = { token = \"" TOKEN "\"; };\n"
#define PASSWORD "pa55-w0rd-never-shown"

/* ---- fixture: a temp dir with secret files ---- */

struct fx {
    char dir[64];
    char token_file[128];
    char password_file[128];
    char ca_file[128];
    char catalogue[128];
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/dbot-config-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->token_file, sizeof fx->token_file, "%s/api.token", fx->dir);
    snprintf(fx->password_file, sizeof fx->password_file, "%s/xmpp.password", fx->dir);
    snprintf(fx->ca_file, sizeof fx->ca_file, "%s/ca.pem", fx->dir);
    snprintf(fx->catalogue, sizeof fx->catalogue, "%s/penalties.csv", fx->dir);
    write_file(fx->token_file, TOKEN "\n");
    write_file(fx->password_file, PASSWORD "\r\n");
    write_file(fx->ca_file, "-----BEGIN CERTIFICATE-----\n");
    write_file(fx->catalogue, "code,violation,points\n");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static struct config *load_ok(const char *text)
{
    struct config *cfg = NULL;
    struct dbot_diag d = {{0}};
    int rc = config_load_string(text, "t.conf", &cfg, &d);
    if (rc != 0)
        fail_msg("rejected: %s\n--- text ---\n%s", d.msg, text);
    assert_non_null(cfg);
    return cfg;
}

/* Loads text, expects failure with rc and a message equal to `want` (or containing it when
 * `want` starts with '~'). Returns nothing; the message must never contain a secret. */
static void load_bad_rc(const char *text, int want_rc, const char *want)
{
    struct config *cfg = (struct config *)0x1;
    struct dbot_diag d = {{0}};
    int rc = config_load_string(text, "t.conf", &cfg, &d);
    if (rc == 0)
        fail_msg("accepted, wanted \"%s\"\n--- text ---\n%s", want, text);
    assert_true(cfg == (struct config *)0x1); /* not written on failure */
    if (want[0] == '~') {
        if (!strstr(d.msg, want + 1))
            fail_msg("message \"%s\" lacks \"%s\"", d.msg, want + 1);
    } else if (strcmp(d.msg, want) != 0) {
        fail_msg("message \"%s\", wanted \"%s\"", d.msg, want);
    }
    if (want_rc)
        assert_int_equal(rc, want_rc);
    assert_null(strchr(d.msg, '\n'));
    assert_null(strstr(d.msg, TOKEN));
    assert_null(strstr(d.msg, PASSWORD));
}

static void load_bad(const char *text, const char *want)
{
    load_bad_rc(text, DBOT_ERR_INVALID, want);
}

/* config_print into a new string (caller frees). */
static char *print_str(const struct config *cfg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_print(cfg, f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* A full configuration with every key, secrets from files. */
static char *full_text(const struct fx *fx)
{
    char *t = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&t, &len);
    assert_non_null(f);
    fprintf(f,
            "# a full configuration\n"
            "database = \"/var/lib/dealerbot/db.sqlite\";\n"
            "language = \"en\";\n"
            "timezone = \"Europe/Berlin\";\n"
            "log_level = \"debug\";\n"
            "http = {\n"
            "  listen = \"[::1]:9090\";\n"
            "  token_file = \"%s\";\n"
            "  max_body = 131072;\n"
            "  commit_window_us = 0;\n"
            "};\n"
            "chat = {\n"
            "  platform = \"xmpp\";\n"
            "  xmpp = {\n"
            "    url = \"wss://chat.example.com:5281/xmpp-websocket\";\n"
            "    jid = \"dealerbot@example.com\";\n"
            "    password_file = \"%s\";\n"
            "    muc_service = \"conference.example.com\";\n"
            "    nick = \"Complaint Bot\";\n"
            "    ca_file = \"%s\";\n"
            "    allow_plain = true;\n"
            "  };\n"
            "  staff_room = \"brand-cs\";\n"
            "  underperformers_room = \"watch-list\";\n"
            "};\n"
            "sla = {\n"
            "  default = { ack = \"12h\"; solution = \"5d\"; close = \"15d\";\n"
            "              remind_before = [ \"2h\", \"30m\" ]; };\n"
            "  urgent  = { ack = \"4h\"; solution = \"3d\"; close = \"10d\";\n"
            "              remind_before = ( \"1h\", \"15m\" ); };\n"
            "  vip     = { ack = \"90m\"; solution = \"1d12h\"; };\n"
            "  escalation = ( { after = \"0s\";  notify = \"dealer_managers\"; },\n"
            "                 { after = \"4h\";  notify = \"supervisors\"; },\n"
            "                 { after = \"24h\"; notify = \"admins\"; },\n"
            "                 { after = \"2d\";  notify = \"head.of.service@example.com\"; } );\n"
            "  calendar = \"cn\";\n"
            "  quiet_hours = \"22:00-08:00\";\n"
            "};\n"
            "calendars = {\n"
            "  cn = { days = [ 1, 2, 3, 4, 5 ]; hours = \"09:00-18:00\";\n"
            "         holidays = [ \"2026-10-02\", \"2026-10-01\" ]; };\n"
            "  weekend = { days = [ 6, 7 ]; hours = \"10:00-16:30\"; holidays = []; };\n"
            "};\n"
            "underperformers = {\n"
            "  window = \"60d\";\n"
            "  min_complaints = 3;\n"
            "  rate_factor = 2;\n"
            "  close_sla_min = 0.75;\n"
            "  penalty_points_max = 10;\n"
            "  exit_after = \"45d\";\n"
            "  evaluate_at = \"23:59\";\n"
            "};\n"
            "penalties = {\n"
            "  ack_points = 0;\n"
            "  solution_points = 4;\n"
            "  close_points = 5;\n"
            "  catalogue = \"%s\";\n"
            "};\n",
            fx->token_file, fx->password_file, fx->ca_file, fx->catalogue);
    assert_int_equal(fclose(f), 0);
    return t;
}

/* ---- tests ---- */

static void test_defaults(void **state)
{
    (void)state;
    struct config *cfg = load_ok(TOKEN_LINE);

    assert_string_equal(cfg->path, "t.conf");
    assert_string_equal(cfg->database, "var/dealerbot.db");
    assert_string_equal(cfg->language, "zh-CN");
    assert_string_equal(cfg->timezone, "Asia/Shanghai");
    assert_string_equal(cfg->log_level, "info");
    assert_string_equal(cfg->http.listen, "127.0.0.1:8080");
    assert_string_equal(cfg->http.token, TOKEN);
    assert_null(cfg->http.token_file);
    assert_int_equal(cfg->http.max_body, 65536);
    assert_int_equal(cfg->http.commit_window_us, 0);
    assert_string_equal(cfg->chat.platform, "none");
    assert_null(cfg->chat.xmpp.url);
    assert_null(cfg->chat.xmpp.jid);
    assert_null(cfg->chat.xmpp.password);
    assert_null(cfg->chat.xmpp.muc_service);
    assert_string_equal(cfg->chat.xmpp.nick, "dealerbot");
    assert_null(cfg->chat.xmpp.ca_file);
    assert_false(cfg->chat.xmpp.allow_plain);
    assert_string_equal(cfg->chat.staff_room, "brand-service");
    assert_string_equal(cfg->chat.underperformers_room, "underperformers");

    assert_int_equal(cfg->n_policies, 1);
    const struct sla_policy *p = &cfg->policies[0];
    assert_string_equal(p->name, "default");
    assert_int_equal(p->ack_s, 12 * 3600);
    assert_int_equal(p->solution_s, 5 * 86400);
    assert_int_equal(p->close_s, 15 * 86400);
    assert_int_equal(p->n_remind, 2);
    assert_int_equal(p->remind_before[0], 7200);
    assert_int_equal(p->remind_before[1], 1800);
    assert_ptr_equal(config_policy(cfg, "default"), p);
    assert_null(config_policy(cfg, "vip"));
    assert_null(config_policy(cfg, NULL));
    assert_null(config_policy(NULL, "default"));

    assert_int_equal(cfg->n_escalation, 3);
    assert_int_equal(cfg->escalation[0].after_s, 0);
    assert_string_equal(cfg->escalation[0].notify, "dealer_managers");
    assert_int_equal(cfg->escalation[1].after_s, 4 * 3600);
    assert_string_equal(cfg->escalation[1].notify, "supervisors");
    assert_int_equal(cfg->escalation[2].after_s, 24 * 3600);
    assert_string_equal(cfg->escalation[2].notify, "admins");

    assert_int_equal(cfg->underperformers.window_s, 90 * 86400);
    assert_int_equal(cfg->underperformers.min_complaints, 5);
    assert_true(cfg->underperformers.rate_factor == 1.5);
    assert_true(cfg->underperformers.close_sla_min == 0.8);
    assert_int_equal(cfg->underperformers.penalty_points_max, 6);
    assert_int_equal(cfg->underperformers.exit_after_s, 30 * 86400);
    assert_string_equal(cfg->underperformers.evaluate_at, "06:00");
    assert_int_equal(cfg->penalties.ack_points, 1);
    assert_int_equal(cfg->penalties.solution_points, 2);
    assert_int_equal(cfg->penalties.close_points, 3);
    assert_null(cfg->penalties.catalogue);

    /* No calendars: deadlines in calendar time; no quiet hours. */
    assert_int_equal(cfg->n_calendars, 0);
    assert_null(cfg->default_calendar);
    assert_null(config_calendar(cfg, NULL));
    assert_null(config_calendar(cfg, "cn"));
    assert_false(cfg->quiet.on);
    config_free(cfg);
}

static void test_full(void **state)
{
    struct fx *fx = *state;
    char *text = full_text(fx);
    struct config *cfg = load_ok(text);
    free(text);

    assert_string_equal(cfg->database, "/var/lib/dealerbot/db.sqlite");
    assert_string_equal(cfg->language, "en");
    assert_string_equal(cfg->timezone, "Europe/Berlin");
    assert_string_equal(cfg->log_level, "debug");
    assert_string_equal(cfg->http.listen, "[::1]:9090");
    assert_string_equal(cfg->http.token, TOKEN); /* newline stripped */
    assert_string_equal(cfg->http.token_file, fx->token_file);
    assert_int_equal(cfg->http.max_body, 131072);
    assert_int_equal(cfg->http.commit_window_us, 0);
    assert_string_equal(cfg->chat.platform, "xmpp");
    assert_string_equal(cfg->chat.xmpp.url, "wss://chat.example.com:5281/xmpp-websocket");
    assert_string_equal(cfg->chat.xmpp.jid, "dealerbot@example.com");
    assert_string_equal(cfg->chat.xmpp.password, PASSWORD); /* CRLF stripped */
    assert_string_equal(cfg->chat.xmpp.password_file, fx->password_file);
    assert_string_equal(cfg->chat.xmpp.muc_service, "conference.example.com");
    assert_string_equal(cfg->chat.xmpp.nick, "Complaint Bot");
    assert_string_equal(cfg->chat.xmpp.ca_file, fx->ca_file);
    assert_true(cfg->chat.xmpp.allow_plain);
    assert_string_equal(cfg->chat.staff_room, "brand-cs");
    assert_string_equal(cfg->chat.underperformers_room, "watch-list");

    assert_int_equal(cfg->n_policies, 3);
    assert_string_equal(cfg->policies[0].name, "default");
    const struct sla_policy *u = config_policy(cfg, "urgent");
    assert_non_null(u);
    assert_int_equal(u->ack_s, 4 * 3600);
    assert_int_equal(u->solution_s, 3 * 86400);
    assert_int_equal(u->close_s, 10 * 86400);
    assert_int_equal(u->n_remind, 2);
    assert_int_equal(u->remind_before[0], 3600);
    assert_int_equal(u->remind_before[1], 900);
    /* vip leaves close and remind_before out: taken from default. */
    const struct sla_policy *v = config_policy(cfg, "vip");
    assert_non_null(v);
    assert_int_equal(v->ack_s, 90 * 60);
    assert_int_equal(v->solution_s, 36 * 3600);
    assert_int_equal(v->close_s, 15 * 86400);
    assert_int_equal(v->n_remind, 2);
    assert_int_equal(v->remind_before[0], 7200);

    assert_int_equal(cfg->n_escalation, 4);
    assert_int_equal(cfg->escalation[3].after_s, 2 * 86400);
    assert_string_equal(cfg->escalation[3].notify, "head.of.service@example.com");

    assert_int_equal(cfg->underperformers.window_s, 60 * 86400);
    assert_int_equal(cfg->underperformers.min_complaints, 3);
    assert_true(cfg->underperformers.rate_factor == 2.0); /* an int is fine for a float */
    assert_true(cfg->underperformers.close_sla_min == 0.75);
    assert_int_equal(cfg->underperformers.penalty_points_max, 10);
    assert_int_equal(cfg->underperformers.exit_after_s, 45 * 86400);
    assert_string_equal(cfg->underperformers.evaluate_at, "23:59");
    assert_int_equal(cfg->penalties.ack_points, 0);
    assert_int_equal(cfg->penalties.solution_points, 4);
    assert_int_equal(cfg->penalties.close_points, 5);
    assert_string_equal(cfg->penalties.catalogue, fx->catalogue);

    assert_int_equal(cfg->n_calendars, 2);
    assert_string_equal(cfg->default_calendar, "cn");
    assert_ptr_equal(config_calendar(cfg, NULL), &cfg->calendars[0]);
    assert_ptr_equal(config_calendar(cfg, "weekend"), &cfg->calendars[1]);
    assert_int_equal(cfg->calendars[1].days, (1u << 6) | (1u << 0));
    assert_int_equal(cfg->calendars[1].open_s, 10 * 3600);
    assert_int_equal(cfg->calendars[1].close_s, 16 * 3600 + 30 * 60);
    assert_int_equal(cfg->calendars[1].n_holidays, 0);
    assert_true(cfg->quiet.on);
    assert_int_equal(cfg->quiet.start_s, 22 * 3600);
    assert_int_equal(cfg->quiet.end_s, 8 * 3600);
    config_free(cfg);
}

#define DAY_2026_10_01 20727 /* days from 1970-01-01 */

/* Business calendars, sla.calendar and sla.quiet_hours, as the loader stores them. */
static void test_calendars(void **state)
{
    (void)state;
    /* sla names its calendar before the calendars group defines it: order does not matter. */
    struct config *cfg = load_ok(
        TOKEN_LINE "sla = { default = {}; calendar = \"cn\"; quiet_hours = \"08:00-22:00\"; };\n"
                   "calendars = {\n"
                   "  cn = { days = [ 1, 2, 3, 4, 5 ]; hours = \"09:00-18:00\";\n"
                   "         holidays = [ \"2026-10-03\", \"2026-10-01\", \"2026-10-03\",\n"
                   "                      \"2026-10-02\" ]; };\n"
                   "  shop_7-days = { days = ( 7, 6, 5, 4, 3, 2, 1 ); hours = \"00:00-24:00\"; };\n"
                   "  plain = { };\n"
                   "};\n");
    assert_int_equal(cfg->n_calendars, 3);

    const struct calendar *cn = &cfg->calendars[0];
    assert_string_equal(cn->name, "cn");
    assert_int_equal(cn->days, 0x3e); /* Monday (bit 1) .. Friday (bit 5) */
    assert_int_equal(cn->open_s, 9 * 3600);
    assert_int_equal(cn->close_s, 18 * 3600);
    /* Sorted and de-duplicated. */
    assert_int_equal(cn->n_holidays, 3);
    assert_int_equal(cn->holidays[0], DAY_2026_10_01);
    assert_int_equal(cn->holidays[1], DAY_2026_10_01 + 1);
    assert_int_equal(cn->holidays[2], DAY_2026_10_01 + 2);

    const struct calendar *all = &cfg->calendars[1];
    assert_string_equal(all->name, "shop_7-days");
    assert_int_equal(all->days, 0x7f); /* 7 (Sunday) is bit 0 */
    assert_int_equal(all->open_s, 0);
    assert_int_equal(all->close_s, 86400);
    assert_int_equal(all->n_holidays, 0);

    /* Left out: Monday to Friday, 09:00-18:00, no holidays. */
    const struct calendar *plain = &cfg->calendars[2];
    assert_int_equal(plain->days, 0x3e);
    assert_int_equal(plain->open_s, 9 * 3600);
    assert_int_equal(plain->close_s, 18 * 3600);
    assert_int_equal(plain->n_holidays, 0);

    /* Lookups: NULL or "" is the default calendar; unknown is NULL. */
    assert_string_equal(cfg->default_calendar, "cn");
    assert_ptr_equal(config_calendar(cfg, NULL), cn);
    assert_ptr_equal(config_calendar(cfg, ""), cn);
    assert_ptr_equal(config_calendar(cfg, "shop_7-days"), all);
    assert_ptr_equal(config_calendar(cfg, "plain"), plain);
    assert_null(config_calendar(cfg, "CN"));
    assert_null(config_calendar(cfg, "nope"));
    assert_null(config_calendar(NULL, "cn"));

    /* Quiet hours need not wrap. */
    assert_true(cfg->quiet.on);
    assert_int_equal(cfg->quiet.start_s, 8 * 3600);
    assert_int_equal(cfg->quiet.end_s, 22 * 3600);
    config_free(cfg);

    /* Calendars without sla.calendar: dealers that name none run in calendar time. */
    cfg = load_ok(TOKEN_LINE "calendars = { cn = { }; };\nsla = { default = {}; quiet_hours = "
                             "\"22:00-08:00\"; };");
    assert_null(cfg->default_calendar);
    assert_null(config_calendar(cfg, NULL));
    assert_non_null(config_calendar(cfg, "cn"));
    assert_int_equal(cfg->quiet.start_s, 22 * 3600);
    assert_int_equal(cfg->quiet.end_s, 8 * 3600);
    config_free(cfg);

    /* An empty group, and the most calendars allowed. */
    cfg = load_ok(TOKEN_LINE "calendars = { };");
    assert_int_equal(cfg->n_calendars, 0);
    config_free(cfg);
    cfg = load_ok(TOKEN_LINE "calendars = { a = {}; b = {}; c = {}; d = {}; e = {}; f = {}; "
                             "g = {}; h = {}; };");
    assert_int_equal(cfg->n_calendars, CAL_MAX);
    assert_string_equal(cfg->calendars[7].name, "h");
    config_free(cfg);

    /* The most holidays allowed: 128 days from 2026-01-01, given twice (stored once). */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    fputs(TOKEN_LINE "calendars = { cn = { holidays = [", f);
    for (int i = 0; i < CAL_HOLIDAYS_MAX; i++)
        fprintf(f, "%s\"2026-%02d-%02d\"", i ? ", " : "", 1 + i / 28, 1 + i % 28);
    fputs(" ]; }; };", f);
    assert_int_equal(fclose(f), 0);
    cfg = load_ok(text);
    assert_int_equal(cfg->calendars[0].n_holidays, CAL_HOLIDAYS_MAX);
    for (int i = 1; i < CAL_HOLIDAYS_MAX; i++)
        assert_true(cfg->calendars[0].holidays[i - 1] < cfg->calendars[0].holidays[i]);
    config_free(cfg);
    free(text);
}

static void test_calendar_errors(void **state)
{
    (void)state;
    /* The group and its members. */
    load_bad(TOKEN_LINE "calendars = 5;",
             "t.conf:2: calendars: expected a group { <name> = { days = ...; hours = ...; }; "
             "... }");
    load_bad(TOKEN_LINE "calendars = { cn = 5; };",
             "t.conf:2: calendars.cn: expected a group { days = ...; hours = ...; holidays = "
             "...; }");
    load_bad(TOKEN_LINE "calendars = {\n CN = { }; };",
             "t.conf:3: calendars.CN: bad calendar name (lower-case letters, digits, '_', '-'; at "
             "most 31)");
    load_bad(TOKEN_LINE "calendars = { abcdefghijklmnopqrstuvwxyz012345 = { }; };",
             "~calendars.abcdefghijklmnopqrstuvwxyz012345: bad calendar name");
    load_bad(TOKEN_LINE "calendars = { cn = {\n day = [ 1 ]; }; };",
             "t.conf:3: unknown key \"calendars.cn.day\"");
    load_bad(TOKEN_LINE "calendars = { a = {}; b = {}; c = {}; d = {}; e = {}; f = {}; "
                        "g = {}; h = {}; i = {}; };",
             "t.conf:2: calendars: at most 8 calendars");

    /* days */
    const char *days_type = "t.conf:2: calendars.cn.days: expected a list of weekdays like "
                            "[ 1, 2, 3, 4, 5 ] (1 = Monday .. 7 = Sunday)";
    load_bad(TOKEN_LINE "calendars = { cn = { days = \"1-5\"; }; };", days_type);
    load_bad(TOKEN_LINE "calendars = { cn = { days = 1; }; };", days_type);
    load_bad(TOKEN_LINE "calendars = { cn = { days = [ \"1\" ]; }; };", days_type);
    load_bad(TOKEN_LINE "calendars = { cn = { days = ( 1, 2.5 ); }; };", days_type);
    load_bad(TOKEN_LINE "calendars = { cn = { days = []; }; };",
             "t.conf:2: calendars.cn.days: at least one working day is needed");
    load_bad(TOKEN_LINE "calendars = { cn = { days = [ 0 ]; }; };",
             "t.conf:2: calendars.cn.days: 0 is not a weekday (1 = Monday .. 7 = Sunday)");
    load_bad(TOKEN_LINE "calendars = { cn = { days = [ 1, 8 ]; }; };",
             "t.conf:2: calendars.cn.days: 8 is not a weekday (1 = Monday .. 7 = Sunday)");
    load_bad(TOKEN_LINE "calendars = { cn = { days = [ -1 ]; }; };",
             "~calendars.cn.days: -1 is not a weekday");
    load_bad(TOKEN_LINE "calendars = { cn = { days = [ 5, 1, 5 ]; }; };",
             "t.conf:2: calendars.cn.days: 5 is listed twice");
    load_bad(TOKEN_LINE "calendars = { cn = { days = [ 1, 2, 3, 4, 5, 6, 7, 7, 7 ]; }; };",
             "t.conf:2: calendars.cn.days: 7 is listed twice");

    /* hours */
    const char *hours_fmt = "expected HH:MM-HH:MM (00:00..24:00, start and end differ)";
    static const char *const bad_hours[] = {"9-18",        "09:00",       "09:00-18:00:00",
                                            "24:00-24:00", "09:00-24:01", "09:00 18:00",
                                            "09:60-18:00", "09:00-09:00", ""};
    for (size_t i = 0; i < sizeof bad_hours / sizeof bad_hours[0]; i++) {
        char text[256], want[256];
        snprintf(text, sizeof text, "%scalendars = { cn = { hours = \"%s\"; }; };", TOKEN_LINE,
                 bad_hours[i]);
        snprintf(want, sizeof want, "t.conf:2: calendars.cn.hours: bad value \"%s\": %s",
                 bad_hours[i], hours_fmt);
        load_bad(text, want);
    }
    load_bad(TOKEN_LINE "calendars = { cn = { hours = \"18:00-09:00\"; }; };",
             "t.conf:2: calendars.cn.hours: bad value \"18:00-09:00\": the start must be before "
             "the end");
    load_bad(TOKEN_LINE "calendars = { cn = { hours = 9; }; };",
             "t.conf:2: calendars.cn.hours: expected a string like \"09:00-18:00\"");

    /* holidays */
    const char *dates_type = "t.conf:2: calendars.cn.holidays: expected a list of dates like "
                             "[ \"2026-10-01\", \"2026-10-02\" ]";
    load_bad(TOKEN_LINE "calendars = { cn = { holidays = \"2026-10-01\"; }; };", dates_type);
    load_bad(TOKEN_LINE "calendars = { cn = { holidays = [ 20261001 ]; }; };", dates_type);
    static const char *const bad_dates[] = {"2026-13-01", "2026-02-29", "2026-10-1",
                                            "26-10-01",   "2026/10/01", "2026-10-01T00:00"};
    for (size_t i = 0; i < sizeof bad_dates / sizeof bad_dates[0]; i++) {
        char text[256], want[256];
        snprintf(text, sizeof text,
                 "%scalendars = { cn = { holidays = [ \"2026-10-01\", \"%s\" ]; }; };",
                 TOKEN_LINE, bad_dates[i]);
        snprintf(want, sizeof want,
                 "t.conf:2: calendars.cn.holidays: bad date \"%s\" (use YYYY-MM-DD)",
                 bad_dates[i]);
        load_bad(text, want);
    }
    struct config *cfg = load_ok(TOKEN_LINE "calendars = { cn = { holidays = [ \"2028-02-29\" "
                                            "]; }; };"); /* a leap day */
    config_free(cfg);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    fputs(TOKEN_LINE "calendars = { cn = { holidays = [", f);
    for (int i = 0; i <= CAL_HOLIDAYS_MAX; i++)
        fprintf(f, "%s\"2026-01-01\"", i ? ", " : "");
    fputs(" ]; }; };", f);
    assert_int_equal(fclose(f), 0);
    load_bad(text, "t.conf:2: calendars.cn.holidays: at most 128 entries");
    free(text);

    /* sla.calendar */
    load_bad(TOKEN_LINE "sla = { default = {};\n calendar = \"cn\"; };",
             "t.conf:3: sla.calendar: unknown calendar \"cn\" (not defined under calendars)");
    load_bad(TOKEN_LINE "calendars = { cn = {}; };\nsla = { default = {};\n calendar = \"CN\"; };",
             "t.conf:4: sla.calendar: unknown calendar \"CN\" (not defined under calendars)");
    load_bad(TOKEN_LINE "sla = { default = {}; calendar = 5; };",
             "t.conf:2: sla.calendar: expected a string");
    load_bad(TOKEN_LINE "sla = { default = {}; calendar = { days = [ 1 ]; }; };",
             "t.conf:2: sla.calendar: expected a string");
    load_bad(TOKEN_LINE "sla = { default = {}; calendar = \"\"; };",
             "t.conf:2: sla.calendar: must not be empty");

    /* sla.quiet_hours: may wrap, but start and end must differ. */
    load_bad(TOKEN_LINE "sla = { default = {}; quiet_hours = \"22-08\"; };",
             "t.conf:2: sla.quiet_hours: bad value \"22-08\": expected HH:MM-HH:MM (00:00..24:00, "
             "start and end differ)");
    load_bad(TOKEN_LINE "sla = { default = {}; quiet_hours = \"22:00-22:00\"; };",
             "~sla.quiet_hours: bad value \"22:00-22:00\"");
    load_bad(TOKEN_LINE "sla = { default = {}; quiet_hours = [ \"22:00-08:00\" ]; };",
             "t.conf:2: sla.quiet_hours: expected a string like \"09:00-18:00\"");
    /* Only inside sla. */
    load_bad(TOKEN_LINE "quiet_hours = \"22:00-08:00\";", "t.conf:2: unknown key \"quiet_hours\"");
    load_bad(TOKEN_LINE "chat = { calendars = { }; };",
             "t.conf:2: unknown key \"chat.calendars\"");
}

static void test_sla_variants(void **state)
{
    (void)state;
    /* Empty escalation list turns escalation off; [] works as well as (). */
    struct config *cfg =
        load_ok(TOKEN_LINE "sla = { default = { ack = \"1h\"; }; escalation = (); };");
    assert_int_equal(cfg->n_escalation, 0);
    assert_int_equal(cfg->policies[0].ack_s, 3600);
    assert_int_equal(cfg->policies[0].solution_s, 5 * 86400);
    config_free(cfg);

    cfg = load_ok(TOKEN_LINE "sla = { default = { remind_before = []; }; escalation = []; };");
    assert_int_equal(cfg->n_escalation, 0);
    assert_int_equal(cfg->policies[0].n_remind, 0);
    config_free(cfg);

    /* Seconds work (for tests); policies[0] is default even when written last. */
    cfg = load_ok(TOKEN_LINE "sla = { vip = { ack = \"5s\"; }; "
                             "default = { ack = \"10s\"; solution = \"20s\"; close = \"30s\"; "
                             "remind_before = [ \"5s\" ]; }; };");
    assert_int_equal(cfg->n_policies, 2);
    assert_string_equal(cfg->policies[0].name, "default");
    assert_string_equal(cfg->policies[1].name, "vip");
    assert_int_equal(cfg->policies[1].ack_s, 5);
    assert_int_equal(cfg->policies[1].close_s, 30);
    config_free(cfg);
}

static void test_syntax_error(void **state)
{
    struct fx *fx = *state;
    load_bad("database = \"x\";\nhttp = { listen = ; };\n", "~t.conf:2: ");
    load_bad("database = \"x\";\nhttp = { = 1; };", "~t.conf:2: ");
    load_bad("database = \"unterminated;\n", "~t.conf:");
    load_bad("a = 1; a = 2;", "~t.conf:1: duplicate setting name");

    /* From a file, the file's path and the line. */
    char path[160], want[200];
    snprintf(path, sizeof path, "%s/syntax.conf", fx->dir);
    write_file(path, "# comment\n\nhttp = { listen = \"127.0.0.1:1\" token = 3; };\n");
    struct config *cfg = NULL;
    struct dbot_diag d;
    assert_int_equal(config_load(path, &cfg, &d), DBOT_ERR_INVALID);
    snprintf(want, sizeof want, "%s:3: ", path);
    if (strncmp(d.msg, want, strlen(want)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", d.msg, want);
    assert_null(cfg);
}

static void test_missing_file(void **state)
{
    struct fx *fx = *state;
    char path[160];
    struct config *cfg = NULL;
    struct dbot_diag d;
    snprintf(path, sizeof path, "%s/nope.conf", fx->dir);
    assert_int_equal(config_load(path, &cfg, &d), DBOT_ERR_IO);
    assert_non_null(strstr(d.msg, path));
    assert_non_null(strstr(d.msg, "No such file"));
    assert_int_equal(config_load(fx->dir, &cfg, &d), DBOT_ERR_IO); /* a directory */
    assert_int_equal(config_load(NULL, &cfg, &d), DBOT_ERR_INVALID);
    assert_null(cfg);
}

static void test_load_file(void **state)
{
    struct fx *fx = *state;
    char path[160], text[512], want[256];
    snprintf(path, sizeof path, "%s/good.conf", fx->dir);
    snprintf(text, sizeof text, "http = {\n  token_file = \"%s\";\n};\n", fx->token_file);
    write_file(path, text);
    struct config *cfg = NULL;
    struct dbot_diag d;
    assert_int_equal(config_load(path, &cfg, &d), 0);
    assert_string_equal(cfg->path, path);
    assert_string_equal(cfg->http.token, TOKEN);
    config_free(cfg);

    /* Errors from a file name the file and the line. */
    cfg = NULL;
    snprintf(text, sizeof text, "# x\n\ndatabse = \"x\";\n");
    write_file(path, text);
    assert_int_equal(config_load(path, &cfg, &d), DBOT_ERR_INVALID);
    snprintf(want, sizeof want, "%s:3: unknown key \"databse\"", path);
    assert_string_equal(d.msg, want);
    assert_null(cfg);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    load_bad("\n\ndatabse = \"x\";\n" TOKEN_LINE, "t.conf:3: unknown key \"databse\"");
    load_bad("http = {\n token = \"" TOKEN "\";\n listne = \"x\";\n};",
             "t.conf:3: unknown key \"http.listne\"");
    load_bad(TOKEN_LINE "chat = { xmpp = { nick = \"a\"; port = 5; }; };",
             "t.conf:2: unknown key \"chat.xmpp.port\"");
    load_bad(TOKEN_LINE "sla = { default = { akc = \"1h\"; }; };",
             "t.conf:2: unknown key \"sla.default.akc\"");
    load_bad(TOKEN_LINE
             "sla = { default = { }; escalation = ( { after = \"1h\"; notfy = \"x\"; } ); };",
             "t.conf:2: unknown key \"sla.escalation.[0].notfy\"");
    load_bad(TOKEN_LINE "underperformers = { windw = \"1d\"; };",
             "t.conf:2: unknown key \"underperformers.windw\"");
    load_bad(TOKEN_LINE "penalties = { points = 1; };",
             "t.conf:2: unknown key \"penalties.points\"");
    load_bad(TOKEN_LINE "extra = { a = 1; };", "t.conf:2: unknown key \"extra\"");
    load_bad(TOKEN_LINE "sla = { default = { }; vip = 5; };", "~t.conf:2: unknown key \"sla.vip\"");
    load_bad(TOKEN_LINE "sla = { default = { }; VIP = { }; };",
             "~t.conf:2: sla.VIP: bad policy name");
}

static void test_wrong_types(void **state)
{
    (void)state;
    load_bad("http = { token = \"" TOKEN "\";\n listen = 8080; };",
             "t.conf:2: http.listen: expected a string");
    load_bad("http = { token = \"" TOKEN "\"; max_body = \"64k\"; };",
             "t.conf:1: http.max_body: expected an integer");
    load_bad(TOKEN_LINE "chat = { xmpp = { allow_plain = \"yes\"; }; };",
             "t.conf:2: chat.xmpp.allow_plain: expected true or false");
    load_bad(TOKEN_LINE "underperformers = { rate_factor = \"1.5\"; };",
             "t.conf:2: underperformers.rate_factor: expected a number");
    load_bad(TOKEN_LINE "underperformers = { window = 90; };",
             "t.conf:2: underperformers.window: expected a duration string like \"12h\"");
    load_bad(TOKEN_LINE "sla = { default = { remind_before = \"2h\"; }; };",
             "~t.conf:2: sla.default.remind_before: expected a list of durations");
    load_bad(TOKEN_LINE "sla = { default = { remind_before = [ 2, 3 ]; }; };",
             "~sla.default.remind_before: expected a list of durations");
    load_bad("http = 5;", "t.conf:1: http: expected a group { ... }");
    load_bad(TOKEN_LINE "database = [ \"a\" ];", "t.conf:2: database: expected a string");
    load_bad(TOKEN_LINE "database = { a = 1; };", "t.conf:2: database: expected a string");
    load_bad(TOKEN_LINE "sla = 5;", "~t.conf:2: sla: expected a group");
    load_bad(TOKEN_LINE "sla = { default = 5; };", "~t.conf:2: sla.default: expected a group");
    load_bad(TOKEN_LINE "sla = { default = {}; escalation = { after = \"1h\"; }; };",
             "~t.conf:2: sla.escalation: expected a list of groups");
    load_bad(TOKEN_LINE "sla = { default = {}; escalation = ( \"1h\" ); };",
             "~t.conf:2: sla.escalation.[0]: expected a group");
}

static void test_bad_durations(void **state)
{
    (void)state;
    load_bad(TOKEN_LINE "sla = {\n default = { ack = \"12x\"; };\n};",
             "t.conf:3: sla.default.ack: bad duration \"12x\" (use s, m, h, d)");
    load_bad(TOKEN_LINE "sla = { default = { }; vip = { close = \"\"; }; };",
             "t.conf:2: sla.vip.close: bad duration \"\" (use s, m, h, d)");
    load_bad(TOKEN_LINE "sla = { default = { solution = \"-1h\"; }; };",
             "t.conf:2: sla.default.solution: bad duration \"-1h\" (use s, m, h, d)");
    load_bad(TOKEN_LINE "sla = { default = { remind_before = [ \"2h\", \"h\" ]; }; };",
             "t.conf:2: sla.default.remind_before: bad duration \"h\" (use s, m, h, d)");
    load_bad(TOKEN_LINE "underperformers = { exit_after = \"1 d\"; };",
             "t.conf:2: underperformers.exit_after: bad duration \"1 d\" (use s, m, h, d)");
    load_bad(
        TOKEN_LINE
        "sla = { default = {}; escalation = ( { after = \"soon\"; notify = \"admins\"; } ); };",
        "t.conf:2: sla.escalation.[0].after: bad duration \"soon\" (use s, m, h, d)");
    load_bad(TOKEN_LINE "sla = { default = { ack = \"0s\"; }; };",
             "t.conf:2: sla.default.ack: 0s is out of range (1s..3650d)");
    load_bad(TOKEN_LINE "underperformers = { window = \"3651d\"; };",
             "t.conf:2: underperformers.window: 3651d is out of range (1s..3650d)");
    load_bad(TOKEN_LINE "underperformers = { window = \"99999999999999999999d\"; };",
             "~underperformers.window: bad duration");
}

static void test_missing_required(void **state)
{
    (void)state;
    load_bad("database = \"x\";", "t.conf: missing required key http.token (or http.token_file)");
    load_bad("", "t.conf: missing required key http.token (or http.token_file)");
    load_bad("http = { listen = \"127.0.0.1:1\"; };",
             "t.conf: missing required key http.token (or http.token_file)");
    load_bad(TOKEN_LINE "\nsla = { vip = { ack = \"1h\"; }; };",
             "t.conf:3: missing required key sla.default");
    load_bad(TOKEN_LINE "chat = { platform = \"xmpp\"; xmpp = { jid = \"a@b\"; password = \"p\"; "
                        "muc_service = \"conference.b\"; }; };",
             "t.conf: missing required key chat.xmpp.url, needed when chat.platform = \"xmpp\"");
    load_bad(TOKEN_LINE "chat = { platform = \"xmpp\"; };",
             "~t.conf: missing required key chat.xmpp.url");
    load_bad(TOKEN_LINE "chat = { platform = \"xmpp\"; xmpp = { url = \"ws://127.0.0.1:5280/ws\"; "
                        "jid = \"a@b\"; muc_service = \"conference.b\"; }; };",
             "t.conf: missing required key chat.xmpp.password (or chat.xmpp.password_file), "
             "needed when chat.platform = \"xmpp\"");
    load_bad(TOKEN_LINE "sla = { default = {};\n escalation = ( { after = \"1h\"; } ); };",
             "t.conf:3: missing required key sla.escalation.[0].notify");

    /* Not required when the platform is not xmpp; a minimal xmpp setup loads. */
    struct config *cfg = load_ok(TOKEN_LINE "chat = { xmpp = { nick = \"bot\"; }; };");
    config_free(cfg);
    cfg = load_ok(TOKEN_LINE
                  "chat = { platform = \"xmpp\"; xmpp = { url = \"ws://127.0.0.1:5280/ws\"; "
                  "jid = \"bot@localhost\"; password = \"p\"; "
                  "muc_service = \"conference.localhost\"; }; };");
    assert_string_equal(cfg->chat.xmpp.password, "p");
    assert_null(cfg->chat.xmpp.password_file);
    config_free(cfg);

    /* A non-ASCII password loads (SCRAM SASLpreps it); one SASLprep refuses does not, and the
     * error does not quote it. */
#define XMPP_PW(pw)                                                                                \
    TOKEN_LINE "chat = { platform = \"xmpp\"; xmpp = { url = \"ws://127.0.0.1:5280/ws\"; "         \
               "jid = \"bot@localhost\";\n password = \"" pw "\"; "                              \
               "muc_service = \"conference.localhost\"; }; };"
    cfg = load_ok(XMPP_PW("p\xc3\xa4ss w\xc3\xb6rd \xe5\xaf\x86\xe7\xa0\x81"));
    config_free(cfg);
    load_bad(XMPP_PW("private\xee\x80\x80use"), "~t.conf:3: chat.xmpp.password: SASLprep (RFC 4013) "
                                         "refuses this password");
    load_bad(XMPP_PW("\xd8\xa7" "1"), "~t.conf:3: chat.xmpp.password: SASLprep");
#undef XMPP_PW
}

static void test_bad_enums(void **state)
{
    (void)state;
    load_bad(TOKEN_LINE "language = \"fr\";", "t.conf:2: language: \"fr\" is not one of zh-CN, en");
    load_bad(TOKEN_LINE "log_level = \"verbose\";",
             "t.conf:2: log_level: \"verbose\" is not one of debug, info, warn, error");
    load_bad(TOKEN_LINE "chat = { platform = \"slack\"; };",
             "t.conf:2: chat.platform: \"slack\" is not one of xmpp, dingtalk, none");
    load_bad(TOKEN_LINE
             "sla = { default = {}; escalation = ( { after = \"1h\"; notify = \"boss\"; } ); };",
             "~sla.escalation.[0].notify: bad value \"boss\"");
}

static void test_out_of_range(void **state)
{
    (void)state;
    load_bad("http = { token = \"" TOKEN "\"; max_body = 100; };",
             "t.conf:1: http.max_body: 100 is out of range (1024..16777216)");
    load_bad("http = { token = \"" TOKEN "\"; max_body = 16777217; };",
             "t.conf:1: http.max_body: 16777217 is out of range (1024..16777216)");
    load_bad("http = { token = \"" TOKEN "\"; max_body = 5000000000L; };",
             "~http.max_body: 5000000000 is out of range");
    load_bad("http = { token = \"" TOKEN "\"; commit_window_us = -1; };",
             "t.conf:1: http.commit_window_us: -1 is out of range (0..100000)");
    load_bad(TOKEN_LINE "underperformers = { close_sla_min = 1.5; };",
             "t.conf:2: underperformers.close_sla_min: 1.5 is out of range (0..1)");
    load_bad(TOKEN_LINE "underperformers = { rate_factor = 0.5; };",
             "t.conf:2: underperformers.rate_factor: 0.5 is out of range (1..100)");
    load_bad(TOKEN_LINE "underperformers = { penalty_points_max = 0; };",
             "~underperformers.penalty_points_max: 0 is out of range");
    load_bad(TOKEN_LINE "penalties = { close_points = -3; };",
             "~penalties.close_points: -3 is out of range");

    /* http.listen */
    static const char *const bad_listen[] = {
        "127.0.0.1",  "127.0.0.1:0",   "127.0.0.1:65536",   ":8080",
        "127.0.0.1:", "127.0.0.1:80a", "::1:8080",          "[::1]8080",
        "[]:8080",    "host name:80",  "127.0.0.1:0080000",
    };
    for (size_t i = 0; i < sizeof bad_listen / sizeof bad_listen[0]; i++) {
        char text[256], want[128];
        snprintf(text, sizeof text, "http = { token = \"%s\"; listen = \"%s\"; };", TOKEN,
                 bad_listen[i]);
        snprintf(want, sizeof want, "~t.conf:1: http.listen: bad value \"%s\"", bad_listen[i]);
        load_bad(text, want);
    }
    struct config *cfg = load_ok("http = { token = \"" TOKEN "\"; listen = \"0.0.0.0:65535\"; };");
    config_free(cfg);
    cfg = load_ok("http = { token = \"" TOKEN "\"; listen = \"localhost:1\"; };");
    config_free(cfg);

    /* timezone */
    load_bad(
        TOKEN_LINE "timezone = \"Mars/Olympus_Mons\";",
        "t.conf:2: timezone: bad value \"Mars/Olympus_Mons\": no such zone in /usr/share/zoneinfo");
    load_bad(TOKEN_LINE "timezone = \"../../etc/passwd\";", "~timezone: bad value");
    load_bad(TOKEN_LINE "timezone = \"Asia/../Asia/Shanghai\";", "~timezone: bad value");
    load_bad(TOKEN_LINE "timezone = \"/etc/localtime\";", "~timezone: bad value");
    load_bad(TOKEN_LINE "timezone = \"Asia\";", "~timezone: bad value");        /* a directory */
    load_bad(TOKEN_LINE "timezone = \"iso3166.tab\";", "~timezone: bad value"); /* not TZif */
    load_bad(TOKEN_LINE "timezone = \"\";", "t.conf:2: timezone: must not be empty");
    cfg = load_ok(TOKEN_LINE "timezone = \"UTC\";");
    config_free(cfg);

    /* evaluate_at */
    static const char *const bad_hhmm[] = {"24:00", "6:00", "06:60", "0600", "06:00:00", "ab:cd"};
    for (size_t i = 0; i < sizeof bad_hhmm / sizeof bad_hhmm[0]; i++) {
        char text[256], want[128];
        snprintf(text, sizeof text, "%sunderperformers = { evaluate_at = \"%s\"; };", TOKEN_LINE,
                 bad_hhmm[i]);
        snprintf(want, sizeof want, "~underperformers.evaluate_at: bad value \"%s\"", bad_hhmm[i]);
        load_bad(text, want);
    }

    /* xmpp values */
    load_bad(TOKEN_LINE "chat = { xmpp = { url = \"http://x/ws\"; }; };",
             "t.conf:2: chat.xmpp.url: bad value \"http://x/ws\": must start with ws:// or wss://");
    load_bad(TOKEN_LINE "chat = { xmpp = { url = \"ws:///ws\"; }; };", "~chat.xmpp.url: bad value");
    load_bad(TOKEN_LINE "chat = { xmpp = { url = \"ws://h:99999/ws\"; }; };",
             "~chat.xmpp.url: bad value");
    load_bad(TOKEN_LINE "chat = { xmpp = { jid = \"dealerbot\"; }; };",
             "t.conf:2: chat.xmpp.jid: bad value \"dealerbot\": expected local@domain (a bare "
             "JID: no resource, spaces or quotes)");
    load_bad(TOKEN_LINE "chat = { xmpp = { jid = \"bot@host/res\"; }; };",
             "~chat.xmpp.jid: bad value");
    load_bad(TOKEN_LINE "chat = { xmpp = { muc_service = \"a b\"; }; };",
             "~chat.xmpp.muc_service: bad value");
    load_bad(TOKEN_LINE "chat = { xmpp = { ca_file = \"/nonexistent/ca.pem\"; }; };",
             "t.conf:2: chat.xmpp.ca_file: bad value \"/nonexistent/ca.pem\": no such file");
    load_bad(TOKEN_LINE "penalties = { catalogue = \"/nonexistent.csv\"; };",
             "~penalties.catalogue: bad value");
    load_bad(TOKEN_LINE "chat = { staff_room = \"Brand Service\"; };",
             "~chat.staff_room: bad value \"Brand Service\"");
    load_bad(TOKEN_LINE "database = \"a\\nb\";",
             "t.conf:2: database: must not contain control characters");
    load_bad(TOKEN_LINE "database = \"\\xff\";", "t.conf:2: database: is not valid UTF-8");

    /* Cross-key rules in the sla group. */
    load_bad(TOKEN_LINE "sla = { default = {}; vip = { ack = \"6d\"; }; };",
             "t.conf:2: sla.vip: ack (6d) is later than solution (5d)");
    load_bad(TOKEN_LINE "sla = { default = { solution = \"20d\"; }; };",
             "t.conf:2: sla.default: solution (20d) is later than close (15d)");
    load_bad(TOKEN_LINE
             "sla = { default = { remind_before = [ \"1h\", \"2h\", \"3h\", \"4h\", \"5h\", "
             "\"6h\", \"7h\", \"8h\", \"9h\" ]; }; };",
             "t.conf:2: sla.default.remind_before: at most 8 entries");
    load_bad(TOKEN_LINE "sla = { default = { remind_before = [ \"1h\", \"60m\" ]; }; };",
             "t.conf:2: sla.default.remind_before: \"60m\" is listed twice");
    load_bad(TOKEN_LINE
             "sla = { default = {};\n escalation = ( { after = \"4h\"; notify = \"admins\"; },\n"
             " { after = \"1h\"; notify = \"supervisors\"; } ); };",
             "t.conf:4: sla.escalation.[1]: levels must be in order of \"after\"");
    load_bad(TOKEN_LINE "sla = { default = {}; escalation = ( "
                        "{after=\"1h\";notify=\"admins\";},{after=\"1h\";notify=\"admins\";},"
                        "{after=\"1h\";notify=\"admins\";},{after=\"1h\";notify=\"admins\";},"
                        "{after=\"1h\";notify=\"admins\";},{after=\"1h\";notify=\"admins\";},"
                        "{after=\"1h\";notify=\"admins\";},{after=\"1h\";notify=\"admins\";},"
                        "{after=\"1h\";notify=\"admins\";} ); };",
             "t.conf:2: sla.escalation: at most 8 levels");
    load_bad(TOKEN_LINE
             "sla = { default = {}; escalation = ( { after = \"1h\"; notify = "
             "\"a-very-long-person-name-for-a-jid-that-goes-on@and-on.example.com\"; } ); };",
             "t.conf:2: sla.escalation.[0].notify: too long (at most 63 bytes)");
}

static void test_secrets(void **state)
{
    struct fx *fx = *state;
    char text[512], path[160], want[300];

    /* token_file missing: the path is named. */
    snprintf(path, sizeof path, "%s/missing.token", fx->dir);
    snprintf(text, sizeof text, "http = {\n token_file = \"%s\"; };", path);
    snprintf(want, sizeof want,
             "t.conf:2: http.token_file: cannot read \"%s\": No such file or directory", path);
    load_bad_rc(text, DBOT_ERR_IO, want);

    /* Empty, two lines, too short, a directory. */
    snprintf(path, sizeof path, "%s/empty.token", fx->dir);
    write_file(path, "\n");
    snprintf(text, sizeof text, "http = { token_file = \"%s\"; };", path);
    snprintf(want, sizeof want, "t.conf:1: http.token_file: \"%s\": file is empty", path);
    load_bad(text, want);

    snprintf(path, sizeof path, "%s/two.token", fx->dir);
    write_file(path, TOKEN "\nsecond-line-0123456789\n");
    snprintf(text, sizeof text, "http = { token_file = \"%s\"; };", path);
    load_bad(text, "~file must hold one line");

    snprintf(path, sizeof path, "%s/short.token", fx->dir);
    write_file(path, "pa55-w0rd\n");
    snprintf(text, sizeof text, "http = { token_file = \"%s\"; };", path);
    snprintf(
        want, sizeof want,
        "t.conf:1: http.token_file: the secret in \"%s\" is too short (at least 16 characters)",
        path);
    load_bad(text, want);

    snprintf(text, sizeof text, "http = { token_file = \"%s\"; };", fx->dir);
    load_bad_rc(text, DBOT_ERR_IO, "~is not a regular file");

    /* Inline token too short / with a space: the value is not echoed. */
    struct config *cfg = NULL;
    struct dbot_diag d;
    assert_int_equal(config_load_string("http = { token = \"pa55-w0rd\"; };", "t.conf", &cfg, &d),
                     DBOT_ERR_INVALID);
    assert_string_equal(d.msg, "t.conf:1: http.token: too short (at least 16 characters)");
    assert_int_equal(
        config_load_string("http = { token = \"pa55 w0rd pa55 w0rd\"; };", "t.conf", &cfg, &d),
        DBOT_ERR_INVALID);
    assert_null(strstr(d.msg, "pa55"));

    /* Both given. */
    snprintf(text, sizeof text, "http = { token = \"%s\";\n token_file = \"%s\"; };", TOKEN,
             fx->token_file);
    load_bad(text, "t.conf:2: give http.token or http.token_file, not both");

    /* password_file read, CRLF stripped; missing password_file named. */
    snprintf(text, sizeof text, TOKEN_LINE "chat = { xmpp = { password_file = \"%s/none\"; }; };",
             fx->dir);
    load_bad_rc(text, DBOT_ERR_IO, "~chat.xmpp.password_file: cannot read");
}

static void test_secrets_masked(void **state)
{
    struct fx *fx = *state;
    /* Inline secrets. */
    struct config *cfg = load_ok("http = { token = \"" TOKEN "\"; };\n"
                                 "chat = { xmpp = { password = \"" PASSWORD "\"; }; };");
    char *out = print_str(cfg);
    assert_null(strstr(out, TOKEN));
    assert_null(strstr(out, PASSWORD));
    assert_non_null(strstr(out, "token = \"********\";"));
    assert_non_null(strstr(out, "password = \"********\";"));
    free(out);
    config_free(cfg);

    /* Secrets from files: the paths are printed, never the content. */
    char *text = full_text(fx);
    cfg = load_ok(text);
    free(text);
    out = print_str(cfg);
    assert_null(strstr(out, TOKEN));
    assert_null(strstr(out, PASSWORD));
    assert_non_null(strstr(out, fx->token_file));
    assert_non_null(strstr(out, fx->password_file));
    free(out);
    config_free(cfg);
}

/* Field-by-field equality of two loaded configurations (paths aside). */
static void assert_same(const struct config *a, const struct config *b)
{
#define SAME_STR(f)                                                                                \
    do {                                                                                           \
        if (a->f || b->f) {                                                                        \
            assert_non_null(a->f);                                                                 \
            assert_non_null(b->f);                                                                 \
            assert_string_equal(a->f, b->f);                                                       \
        }                                                                                          \
    } while (0)
    SAME_STR(database);
    SAME_STR(language);
    SAME_STR(timezone);
    SAME_STR(log_level);
    SAME_STR(http.listen);
    SAME_STR(http.token);
    SAME_STR(http.token_file);
    SAME_STR(chat.platform);
    SAME_STR(chat.xmpp.url);
    SAME_STR(chat.xmpp.jid);
    SAME_STR(chat.xmpp.password);
    SAME_STR(chat.xmpp.password_file);
    SAME_STR(chat.xmpp.muc_service);
    SAME_STR(chat.xmpp.nick);
    SAME_STR(chat.xmpp.ca_file);
    SAME_STR(chat.staff_room);
    SAME_STR(chat.underperformers_room);
    SAME_STR(underperformers.evaluate_at);
    SAME_STR(penalties.catalogue);
    assert_int_equal(a->http.max_body, b->http.max_body);
    assert_int_equal(a->http.commit_window_us, b->http.commit_window_us);
    assert_int_equal(a->chat.xmpp.allow_plain, b->chat.xmpp.allow_plain);
    assert_int_equal(a->n_policies, b->n_policies);
    for (int i = 0; i < a->n_policies; i++) {
        assert_string_equal(a->policies[i].name, b->policies[i].name);
        assert_int_equal(a->policies[i].ack_s, b->policies[i].ack_s);
        assert_int_equal(a->policies[i].solution_s, b->policies[i].solution_s);
        assert_int_equal(a->policies[i].close_s, b->policies[i].close_s);
        assert_int_equal(a->policies[i].n_remind, b->policies[i].n_remind);
        for (int j = 0; j < a->policies[i].n_remind; j++)
            assert_int_equal(a->policies[i].remind_before[j], b->policies[i].remind_before[j]);
    }
    assert_int_equal(a->n_escalation, b->n_escalation);
    for (int i = 0; i < a->n_escalation; i++) {
        assert_int_equal(a->escalation[i].after_s, b->escalation[i].after_s);
        assert_string_equal(a->escalation[i].notify, b->escalation[i].notify);
    }
    assert_int_equal(a->underperformers.window_s, b->underperformers.window_s);
    assert_int_equal(a->underperformers.min_complaints, b->underperformers.min_complaints);
    assert_true(a->underperformers.rate_factor == b->underperformers.rate_factor);
    assert_true(a->underperformers.close_sla_min == b->underperformers.close_sla_min);
    assert_int_equal(a->underperformers.penalty_points_max, b->underperformers.penalty_points_max);
    assert_int_equal(a->underperformers.exit_after_s, b->underperformers.exit_after_s);
    assert_int_equal(a->penalties.ack_points, b->penalties.ack_points);
    assert_int_equal(a->penalties.solution_points, b->penalties.solution_points);
    assert_int_equal(a->penalties.close_points, b->penalties.close_points);
    SAME_STR(default_calendar);
    assert_int_equal(a->n_calendars, b->n_calendars);
    for (int i = 0; i < a->n_calendars; i++) {
        const struct calendar *x = &a->calendars[i], *y = &b->calendars[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->days, y->days);
        assert_int_equal(x->open_s, y->open_s);
        assert_int_equal(x->close_s, y->close_s);
        assert_int_equal(x->n_holidays, y->n_holidays);
        for (int j = 0; j < x->n_holidays; j++)
            assert_int_equal(x->holidays[j], y->holidays[j]);
    }
    assert_int_equal(a->quiet.on, b->quiet.on);
    assert_int_equal(a->quiet.start_s, b->quiet.start_s);
    assert_int_equal(a->quiet.end_s, b->quiet.end_s);
#undef SAME_STR
}

static void round_trip(const char *text)
{
    struct config *a = load_ok(text);
    char *p1 = print_str(a);
    struct config *b = load_ok(p1);
    char *p2 = print_str(b);
    assert_string_equal(p1, p2);
    assert_same(a, b);
    free(p1);
    free(p2);
    config_free(a);
    config_free(b);
}

static void test_round_trip(void **state)
{
    struct fx *fx = *state;
    char *text = full_text(fx);
    round_trip(text);
    free(text);

    char t2[512];
    snprintf(t2, sizeof t2,
             "http = { token_file = \"%s\"; };\n"
             "database = \"quote\\\"and\\\\backslash 投诉.db\";\n"
             "underperformers = { close_sla_min = 0.1; rate_factor = 1.0000001; };\n"
             "sla = { default = { remind_before = []; }; escalation = (); };",
             fx->token_file);
    round_trip(t2);

    /* Calendars printed back: names, weekdays, whole-day hours, holidays across years. */
    snprintf(t2, sizeof t2,
             "http = { token_file = \"%s\"; };\n"
             "calendars = { x-1 = { days = [ 7, 1 ]; hours = \"00:00-24:00\";\n"
             "  holidays = [ \"2027-01-01\", \"1999-12-31\", \"2026-02-28\" ]; };\n"
             "  y = {}; };\n"
             "sla = { default = {}; calendar = \"y\"; quiet_hours = \"23:30-06:15\"; };",
             fx->token_file);
    round_trip(t2);
    struct config *cfg = load_ok(TOKEN_LINE "calendars = { x = { days = [ 7, 1 ]; holidays = "
                                            "[ \"2027-01-01\", \"1999-12-31\" ]; }; };");
    char *out = print_str(cfg);
    if (!strstr(out, "    days = [ 1, 7 ];\n") ||
        !strstr(out, "    holidays = [ \"1999-12-31\", \"2027-01-01\" ];\n") ||
        !strstr(out, "    hours = \"09:00-18:00\";\n") || !strstr(out, "# calendar is not set") ||
        !strstr(out, "# quiet_hours is not set"))
        fail_msg("unexpected print:\n%s", out);
    free(out);
    config_free(cfg);
}

/* Reads a whole file into a new string. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, m);
    fclose(f);
    assert_int_equal(fclose(m), 0);
    return buf;
}

/*
 * Copies `path` into <tmp>/etc/ and loads it with the working directory "/": its relative paths
 * must be taken from that folder, never from the working directory. The token and the demo
 * password are where the example (etc/var/) and the demo config (var/, as ../var) look for
 * them; etc/demo and etc/messages link to the repository's (the demo config names them).
 */
static struct config *load_in_tempdir(struct fx *fx, const char *path)
{
    char etc[160], var[200], file[256], src[1024], link_path[256];
    snprintf(etc, sizeof etc, "%s/etc", fx->dir);
    mkdir(etc, 0700);
    static const char *const vars[] = {"var", "etc/var"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(var, sizeof var, "%s/%s", fx->dir, vars[i]);
        mkdir(var, 0700);
        snprintf(file, sizeof file, "%s/api.token", var);
        write_file(file, TOKEN "\n");
        snprintf(file, sizeof file, "%s/xmpp.password", var);
        write_file(file, "demo-bot-pass\n");
    }
    static const char *const links[] = {"demo", "messages"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(src, sizeof src, "%s/config/%s", source_dir(), links[i]);
        snprintf(link_path, sizeof link_path, "%s/%s", etc, links[i]);
        if (access(link_path, F_OK) != 0)
            assert_int_equal(symlink(src, link_path), 0);
    }
    char *text = slurp(path);
    snprintf(file, sizeof file, "%s/dealerbot.conf", etc);
    write_file(file, text);
    free(text);

    int cwd = open(".", O_RDONLY | O_DIRECTORY);
    assert_true(cwd >= 0);
    assert_int_equal(chdir("/"), 0);
    struct config *cfg = NULL;
    struct dbot_diag d = {{0}};
    int rc = config_load(file, &cfg, &d);
    assert_int_equal(fchdir(cwd), 0);
    close(cwd);
    if (rc != 0)
        fail_msg("%s rejected: %s", path, d.msg);
    return cfg;
}

/*
 * "Uncomments" the example: a line whose first non-blank character is '#' directly followed
 * by something other than a space, a tab or another '#' is a commented-out setting (the
 * example's own convention), so that '#' is removed. The result holds every key the example
 * documents and must still be valid libconfig.
 */
static char *uncomment(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(n + 1);
    assert_non_null(out);
    size_t o = 0;
    bool line_start = true;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (line_start && c == '#') {
            char next = i + 1 < n ? text[i + 1] : '\n';
            if (next != ' ' && next != '\t' && next != '#' && next != '\n') {
                line_start = false;
                continue;
            }
        }
        if (c == '\n')
            line_start = true;
        else if (c != ' ' && c != '\t')
            line_start = false;
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

#define MAX_NAMES 128

struct names {
    int n;
    char *v[MAX_NAMES];
};

static void names_add(struct names *ns, const char *name)
{
    for (int i = 0; i < ns->n; i++)
        if (!strcmp(ns->v[i], name))
            return;
    assert_true(ns->n < MAX_NAMES);
    ns->v[ns->n] = strdup(name);
    assert_non_null(ns->v[ns->n]);
    ns->n++;
}

static bool names_has(const struct names *ns, const char *name)
{
    for (int i = 0; i < ns->n; i++)
        if (!strcmp(ns->v[i], name))
            return true;
    return false;
}

static void names_free(struct names *ns)
{
    for (int i = 0; i < ns->n; i++)
        free(ns->v[i]);
    ns->n = 0;
}

/* Collects the table-style names of every leaf setting under s: policies become "<policy>",
 * calendars "<name>", escalation levels "[]". */
static void collect(const config_setting_t *s, const char *prefix, struct names *ns)
{
    int n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *c = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_name(c);
        char path[256];
        if (!strcmp(prefix, "sla") && strcmp(name, "escalation") != 0 &&
            config_setting_is_group(c))
            name = "<policy>";
        if (!strcmp(prefix, "calendars"))
            name = "<name>";
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", name);
        if (!strcmp(path, "sla.escalation")) {
            assert_int_equal(config_setting_type(c), CONFIG_TYPE_LIST);
            for (int j = 0; j < config_setting_length(c); j++)
                collect(config_setting_get_elem(c, (unsigned)j), "sla.escalation.[]", ns);
        } else if (config_setting_is_group(c)) {
            collect(c, path, ns);
        } else {
            names_add(ns, path);
        }
    }
}

/* chat.platform = "dingtalk": its keys, the defaults that follow client_id and the platform,
 * the required keys, bad values, and the secret masked in check-config's print. */
static void test_dingtalk(void **state)
{
    struct fx *fx = *state;
    struct config *cfg = load_ok(TOKEN_LINE "chat = { platform = \"dingtalk\"; dingtalk = { "
                                 "client_id = \"dingabc123\"; client_secret = \"" PASSWORD
                                 "\"; }; };");
    assert_string_equal(cfg->chat.platform, "dingtalk");
    assert_string_equal(cfg->chat.dingtalk.client_id, "dingabc123");
    assert_string_equal(cfg->chat.dingtalk.client_secret, PASSWORD);
    assert_string_equal(cfg->chat.dingtalk.robot_code, "dingabc123"); /* default: client_id */
    assert_string_equal(cfg->chat.dingtalk.api_url, "https://api.dingtalk.com");
    assert_null(cfg->chat.dingtalk.ca_file);
    assert_int_equal(cfg->chat.rate_global, DINGTALK_RATE_GLOBAL);
    assert_int_equal(cfg->chat.rate_room, DINGTALK_RATE_ROOM);
    char *out = print_str(cfg);
    assert_null(strstr(out, PASSWORD));
    assert_non_null(strstr(out, "client_secret = \"********\";"));
    assert_non_null(strstr(out, "robot_code = \"dingabc123\";"));
    free(out);
    config_free(cfg);

    /* Given rates, robot code, a simulator's URL and the secret from a file are kept. */
    char text[1024];
    snprintf(text, sizeof text,
             TOKEN_LINE "chat = { platform = \"dingtalk\"; rate_global = 500; rate_room = 7; "
                        "dingtalk = { client_id = \"dingabc123\"; client_secret_file = \"%s\"; "
                        "robot_code = \"robot-9\"; api_url = \"http://127.0.0.1:8123\"; }; };",
             fx->password_file);
    cfg = load_ok(text);
    assert_string_equal(cfg->chat.dingtalk.client_secret, PASSWORD); /* CRLF stripped */
    assert_string_equal(cfg->chat.dingtalk.client_secret_file, fx->password_file);
    assert_string_equal(cfg->chat.dingtalk.robot_code, "robot-9");
    assert_string_equal(cfg->chat.dingtalk.api_url, "http://127.0.0.1:8123");
    assert_int_equal(cfg->chat.rate_global, 500);
    assert_int_equal(cfg->chat.rate_room, 7);
    out = print_str(cfg);
    assert_null(strstr(out, PASSWORD));
    assert_non_null(strstr(out, fx->password_file));
    free(out);
    config_free(cfg);

    /* XMPP keep their defaults; the DingTalk group is ignored unless chosen. */
    cfg = load_ok(TOKEN_LINE "chat = { dingtalk = { api_url = \"http://[::1]:9\"; }; };");
    assert_int_equal(cfg->chat.rate_global, 100);
    assert_null(cfg->chat.dingtalk.client_id);
    config_free(cfg);

    load_bad(TOKEN_LINE "chat = { platform = \"dingtalk\"; };",
             "t.conf: missing required key chat.dingtalk.client_id, needed when chat.platform = "
             "\"dingtalk\"");
    load_bad(TOKEN_LINE "chat = { platform = \"dingtalk\"; dingtalk = { client_id = \"a\"; }; };",
             "t.conf: missing required key chat.dingtalk.client_secret (or "
             "chat.dingtalk.client_secret_file), needed when chat.platform = \"dingtalk\"");
    load_bad(TOKEN_LINE "chat = { dingtalk = { client_id = \"a b\"; }; };",
             "~chat.dingtalk.client_id: bad value \"a b\"");
    load_bad(TOKEN_LINE "chat = { dingtalk = { api_url = \"ftp://x\"; }; };",
             "~chat.dingtalk.api_url: bad value \"ftp://x\": must start with https://");
    load_bad(TOKEN_LINE "chat = { dingtalk = { api_url = \"https://x/\"; }; };",
             "~no trailing '/'");
    load_bad(TOKEN_LINE "chat = { dingtalk = { api_url = \"https://x:99999\"; }; };",
             "~bad port");
    snprintf(text, sizeof text,
             TOKEN_LINE "chat = { platform = \"dingtalk\"; dingtalk = { client_id = \"a\"; "
                        "client_secret = \"" PASSWORD "\"; client_secret_file = \"%s\"; }; };",
             fx->password_file);
    load_bad(text,
             "~give chat.dingtalk.client_secret or chat.dingtalk.client_secret_file, not both");
}

static void test_example_documents_every_key(void **state)
{
    struct fx *fx = *state;
    char path[1024];
    snprintf(path, sizeof path, "%s/config/dealerbot.example.conf", source_dir());

    /* 1. As shipped, it loads. */
    struct config *cfg = load_in_tempdir(fx, path);
    assert_string_equal(cfg->chat.platform, "none");
    assert_string_equal(cfg->http.token, TOKEN);
    config_free(cfg);

    /* 2. With every commented-out setting enabled, it names exactly the keys of the table. */
    char *text = slurp(path);
    char *all = uncomment(text);
    config_t lc;
    config_init(&lc);
    if (config_read_string(&lc, all) != CONFIG_TRUE)
        fail_msg("uncommented example: line %d: %s", config_error_line(&lc),
                 config_error_text(&lc));
    struct names in_example = {0};
    collect(config_root_setting(&lc), "", &in_example);
    config_destroy(&lc);

    struct names in_table = {0};
    struct config_key_info ki;
    size_t n_keys = 0;
    for (size_t i = 0; config_key_at(i, &ki); i++) {
        assert_non_null(ki.name);
        assert_non_null(ki.type);
        assert_non_null(ki.doc);
        assert_true(strlen(ki.doc) > 10);
        names_add(&in_table, ki.name);
        n_keys++;
    }
    assert_int_equal((size_t)in_table.n, n_keys); /* no duplicates in the table */
    assert_false(config_key_at(n_keys, &ki));

    for (int i = 0; i < in_table.n; i++)
        if (!names_has(&in_example, in_table.v[i]))
            fail_msg("key %s is not documented in %s", in_table.v[i], path);
    for (int i = 0; i < in_example.n; i++)
        if (!names_has(&in_table, in_example.v[i]))
            fail_msg("%s documents %s, which the loader does not know", path, in_example.v[i]);

    /* 3. Each documented default appears in the example as "Default: ...". */
    for (size_t i = 0; config_key_at(i, &ki); i++) {
        if (!ki.def || strchr(ki.def, ','))
            continue;
        char want[128];
        if (!strcmp(ki.type, "string") || !strcmp(ki.type, "duration") ||
            !strcmp(ki.type, "hours"))
            snprintf(want, sizeof want, "Default: \"%s\"", ki.def);
        else
            snprintf(want, sizeof want, "Default: %s", ki.def);
        if (!strstr(text, want))
            fail_msg("%s: the default of %s is not documented as %s", path, ki.name, want);
    }

    names_free(&in_example);
    names_free(&in_table);
    free(all);
    free(text);
}

/* The demo config that scripts/run.sh uses loads as well. */
static void test_demo_config_loads(void **state)
{
    struct fx *fx = *state;
    char path[1024];
    snprintf(path, sizeof path, "%s/config/dealerbot.conf", source_dir());
    if (access(path, F_OK) != 0)
        skip();
    struct config *cfg = load_in_tempdir(fx, path);
    assert_non_null(config_policy(cfg, "default"));
    assert_string_equal(cfg->chat.platform, "xmpp");
    assert_string_equal(cfg->chat.xmpp.password, "demo-bot-pass");
    /* scripts/run.sh keeps its state in the checkout's var/, beside config/ */
    char want[256];
    snprintf(want, sizeof want, "%s/etc/../var/dealerbot.db", fx->dir);
    assert_string_equal(cfg->database, want);
    snprintf(want, sizeof want, "%s/etc/messages", fx->dir);
    assert_string_equal(cfg->messages_dir, want);
    snprintf(want, sizeof want, "%s/etc/demo/penalties.csv", fx->dir);
    assert_string_equal(cfg->penalties.catalogue, want);
    config_free(cfg);
}

/*
 * Relative paths in a file are taken from the file's folder, whatever the working directory
 * (systemd starts the daemon in /); absolute ones stay as written; a config given as a string
 * (no file) keeps them relative to the working directory. Without messages_dir the installed
 * texts are used.
 */
static void test_relative_paths_follow_the_file(void **state)
{
    struct fx *fx = *state;
    char sub[128], path[192], text[1024], want[256];
    snprintf(sub, sizeof sub, "%s/conf.d", fx->dir);
    mkdir(sub, 0700);
    snprintf(path, sizeof path, "%s/tok", sub);
    write_file(path, TOKEN "\n");
    snprintf(path, sizeof path, "%s/cat.csv", sub);
    write_file(path, "code,violation,points\n");
    snprintf(path, sizeof path, "%s/dealerbot.conf", sub);
    snprintf(text, sizeof text,
             "database = \"state/x.db\";\n"
             "http = { token_file = \"tok\"; };\n"
             "chat = { xmpp = { ca_file = \"%s\"; }; };\n"
             "penalties = { catalogue = \"./cat.csv\"; };\n",
             fx->ca_file);
    write_file(path, text);

    int cwd = open(".", O_RDONLY | O_DIRECTORY);
    assert_true(cwd >= 0);
    assert_int_equal(chdir("/"), 0);
    struct config *cfg = NULL;
    struct dbot_diag d = {{0}};
    int rc = config_load(path, &cfg, &d);
    /* the same file named relative to the working directory */
    struct config *cfg2 = NULL;
    assert_int_equal(chdir(fx->dir), 0);
    int rc2 = config_load("conf.d/dealerbot.conf", &cfg2, &d);
    assert_int_equal(fchdir(cwd), 0);
    close(cwd);
    if (rc != 0 || rc2 != 0)
        fail_msg("rejected: %s", d.msg);

    snprintf(want, sizeof want, "%s/state/x.db", sub);
    assert_string_equal(cfg->database, want);
    assert_string_equal(cfg2->database, want);
    snprintf(want, sizeof want, "%s/tok", sub);
    assert_string_equal(cfg->http.token_file, want);
    assert_string_equal(cfg->http.token, TOKEN);
    assert_string_equal(cfg->chat.xmpp.ca_file, fx->ca_file); /* absolute: as written */
    snprintf(want, sizeof want, "%s/./cat.csv", sub);
    assert_string_equal(cfg->penalties.catalogue, want);
    /* check-config shows where they are */
    char *printed = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&printed, &len);
    assert_non_null(m);
    config_print(cfg, m);
    fclose(m);
    snprintf(want, sizeof want, "database = \"%s/state/x.db\";", sub);
    assert_non_null(strstr(printed, want));
    free(printed);

    /* the installed texts when messages_dir is left out */
    char dir[4096];
    layout_messages_dir(dir, sizeof dir);
    assert_string_equal(cfg->messages_dir, dir);
    assert_non_null(strstr(dir, "/dealerbot/messages"));
    config_free(cfg);
    config_free(cfg2);

    /* a missing relative file is named by its resolved path */
    snprintf(text, sizeof text, "http = { token_file = \"nope\"; };\n");
    write_file(path, text);
    assert_int_equal(config_load(path, &cfg, &d), DBOT_ERR_IO);
    snprintf(want, sizeof want, "%s/nope", sub);
    if (!strstr(d.msg, want))
        fail_msg("message \"%s\" does not name %s", d.msg, want);

    /* no file, no folder: as written */
    cfg = load_ok(TOKEN_LINE "database = \"var/y.db\";\n");
    assert_string_equal(cfg->database, "var/y.db");
    config_free(cfg);
}

static void test_default_path(void **state)
{
    (void)state;
    const char *old = getenv("DEALERBOT_CONFIG");
    char *saved = old ? strdup(old) : NULL;

    unsetenv("DEALERBOT_CONFIG");
    assert_string_equal(config_default_path(), "config/dealerbot.conf");
    setenv("DEALERBOT_CONFIG", "", 1);
    assert_string_equal(config_default_path(), "config/dealerbot.conf");
    setenv("DEALERBOT_CONFIG", "/etc/dealerbot.conf", 1);
    assert_string_equal(config_default_path(), "/etc/dealerbot.conf");

    if (saved) {
        setenv("DEALERBOT_CONFIG", saved, 1);
        free(saved);
    } else {
        unsetenv("DEALERBOT_CONFIG");
    }
}

static void test_free_null_and_print_null(void **state)
{
    (void)state;
    config_free(NULL);
    config_print(NULL, stdout);
    struct config *cfg = NULL;
    struct dbot_diag d;
    assert_int_equal(config_load_string(NULL, NULL, &cfg, &d), DBOT_ERR_INVALID);
    assert_null(cfg);
    /* A NULL diag is allowed. */
    assert_int_equal(config_load_string("x = 1;", "t.conf", &cfg, NULL), DBOT_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_sla_variants),
        cmocka_unit_test(test_calendars),
        cmocka_unit_test(test_calendar_errors),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_bad_durations),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_bad_enums),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_secrets_masked),
        cmocka_unit_test(test_dingtalk),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_example_documents_every_key),
        cmocka_unit_test(test_relative_paths_follow_the_file),
        cmocka_unit_test(test_demo_config_loads),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test(test_free_null_and_print_null),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
