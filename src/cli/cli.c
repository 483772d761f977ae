/*
 * cli.c — `dealerbot [-c FILE] COMMAND [ARGS]`: argument parsing, the per-command help, and
 * the short commands (check-config, dealers, people, complaint add, db). `run` is in run.c.
 *
 * Every command loads the configuration first (-c FILE, else $DEALERBOT_CONFIG, else
 * config/dealerbot.conf when it exists, else the installed etc/dealerbot/dealerbot.conf);
 * commands that touch data check that the database's folder is writable and open the store,
 * which migrates it.
 */
#include "dealerbot/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dealerbot/cli_run.h"
#include "dealerbot/complaint.h"
#include "dealerbot/config.h"
#include "dealerbot/csv.h"
#include "dealerbot/engine.h"
#include "dealerbot/import.h"
#include "dealerbot/layout.h"
#include "dealerbot/log.h"
#include "dealerbot/messages.h"
#include "dealerbot/scorecard.h"
#include "dealerbot/store.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"

static const char usage_main[] =
    "usage: dealerbot [-c FILE] COMMAND [ARGS]\n"
    "\n"
    "Runs a brand's dealer complaint handling from group chat.\n"
    "\n"
    "commands:\n"
    "  run                      run the daemon (HTTP intake API; chat when configured)\n"
    "  check-config             validate the configuration and print it, secrets masked\n"
    "  dealers import FILE      import dealers from CSV (code,name,region,sales_volume[,...])\n"
    "  dealers list             list dealers\n"
    "  people import FILE       import people from CSV (jid,dealer,role,name,language)\n"
    "  people list              list people\n"
    "  rooms import FILE        map rooms to their chat groups from CSV (room,address)\n"
    "  rooms list               list the rooms and the group each is mapped to\n"
    "  penalties import FILE    import the penalty catalogue from CSV\n"
    "                           (code,violation,points[,standard[,how_to_avoid]])\n"
    "  penalties list           list the penalty catalogue\n"
    "  complaint add OPTIONS    add a complaint from the shell (see complaint add --help)\n"
    "  scorecard [OPTIONS]      dealer scorecards beside the network (table or --csv)\n"
    "  db migrate               bring the database schema up to date\n"
    "  db backup FILE           write an online backup of the database to FILE\n"
    "\n"
    "options:\n"
    "  -c, --config FILE        configuration file (default $DEALERBOT_CONFIG, then\n"
    "                           config/dealerbot.conf, then /etc/dealerbot/dealerbot.conf);\n"
    "                           relative paths in it are taken from its folder\n"
    "  -h, --help               this help; COMMAND --help for a command's\n"
    "  -V, --version            print the version and the source revision\n"
    "\n"
    "Exit status: 0 success, 1 error (one line on stderr), 2 usage error.\n";

static const char usage_run[] =
    "usage: dealerbot [-c FILE] run\n"
    "\n"
    "Runs the daemon in the foreground: the HTTP API on http.listen and, when chat.platform is\n"
    "set, the chat connection. SIGTERM or SIGINT stops it cleanly (exit 0).\n";

static const char usage_check[] =
    "usage: dealerbot [-c FILE] check-config [-q|--quiet]\n"
    "\n"
    "Validates the configuration file and prints the effective configuration with defaults\n"
    "filled in, relative paths resolved and secrets masked. Exit 1 with a one-line reason when\n"
    "it is invalid or the database's folder is not writable. --quiet prints nothing on\n"
    "success (for ExecStartPre= in the systemd unit).\n"
    "With a chat platform set it also loads the chat texts (messages_dir): a broken file\n"
    "fails with its file and line, and keys one language lacks are listed as comments\n"
    "(the other language's text is used for them). On DingTalk, the rooms that have no group\n"
    "yet are listed as comments too (when the database exists).\n";

static const char usage_dealers[] =
    "usage: dealerbot [-c FILE] dealers import FILE\n"
    "       dealerbot [-c FILE] dealers list\n"
    "\n"
    "import: a UTF-8 CSV file with the header\n"
    "code,name,region,sales_volume[,timezone[,calendar]] (Excel exports with a BOM, quotes and\n"
    "CRLF are fine); a calendar must be one of the configuration's calendars. Dealers are\n"
    "inserted or updated by code; the whole file is imported or, on the first bad row, nothing.\n"
    "list: prints code, name, region, sales volume, timezone and calendar, tab-separated.\n";

static const char usage_penalties[] =
    "usage: dealerbot [-c FILE] penalties import FILE\n"
    "       dealerbot [-c FILE] penalties list\n"
    "\n"
    "import: the penalty catalogue, a UTF-8 CSV file with the header\n"
    "code,violation,points[,standard[,how_to_avoid]] (points 0..1000); rules are inserted or\n"
    "updated by code (any case); the whole file is imported or, on the first bad row, nothing.\n"
    "Supervisors then add them in chat: /penalty DEALER CODE [C-123] [note]. The file named by\n"
    "penalties.catalogue is imported the same way each time `run` starts.\n"
    "list: prints code, points, violation, standard and how to avoid it, tab-separated.\n";

static const char usage_people[] =
    "usage: dealerbot [-c FILE] people import FILE\n"
    "       dealerbot [-c FILE] people list\n"
    "\n"
    "import: a UTF-8 CSV file with the header jid,dealer,role,name,language. dealer is a dealer\n"
    "code, or 'brand' for brand staff; role is agent or manager for dealers, agent, supervisor\n"
    "or admin for brand staff; language zh-CN or en. Upsert by jid, all rows or none.\n"
    "On DingTalk the first column is the person's DingTalk user id; its header may be chat_id.\n"
    "list: prints jid, dealer, role, name and language, tab-separated.\n";

static const char usage_rooms[] =
    "usage: dealerbot [-c FILE] rooms import FILE\n"
    "       dealerbot [-c FILE] rooms list\n"
    "\n"
    "Where each room lives on a chat platform that cannot name rooms itself (DingTalk: the\n"
    "group's openConversationId). A brand admin can also type `@dealerbot bind SH001` (or\n"
    "`bind staff`, `bind underperformers`) in the group. A room without a group holds its\n"
    "messages until it is mapped.\n"
    "import: a UTF-8 CSV file with the header room,address; room is staff, underperformers, a\n"
    "dealer code or a room name. All rows or none; a running daemon follows within a second.\n"
    "list: prints room, address (or '-' when unmapped) and the dealer's name, tab-separated.\n";

static const char usage_complaint[] =
    "usage: dealerbot [-c FILE] complaint add --dealer CODE --category TEXT --summary TEXT\n"
    "                 --customer-name NAME --customer-phone PHONE [--priority normal|urgent|vip]\n"
    "                 [--details TEXT] [--external-id ID] [--received-at RFC3339]\n"
    "\n"
    "Adds a complaint exactly as POST /api/v1/complaints does, and prints its id and deadlines.\n"
    "With --external-id, adding the same id again reports the existing complaint.\n";

static const char usage_scorecard[] =
    "usage: dealerbot [-c FILE] scorecard [--dealer CODE] [--csv]\n"
    "                 [--window 90d | --month YYYY-MM | --quarter YYYYQn]\n"
    "\n"
    "Every dealer's scorecard over one window: complaints, complaints per 1,000 units sold,\n"
    "SLA compliance per milestone, P50/P90 time to acknowledge and to close, reopened tickets,\n"
    "rejected reports, penalty points and mean satisfaction, each beside the network average,\n"
    "with the dealer's rank and percentile (100 = best) among the dealers.\n"
    "\n"
    "  --window DURATION   rolling, ending now (default: underperformers.window)\n"
    "  --month YYYY-MM     a calendar month in the configured time zone\n"
    "  --quarter YYYYQn    a calendar quarter (2026Q4)\n"
    "  --dealer CODE       only this dealer (ranked among all): its whole card\n"
    "  --csv               CSV for Excel: UTF-8 with a BOM, CRLF, a header row, one row per\n"
    "                      dealer: each metric, its network average, rank and percentile\n"
    "                      (times in hours)\n";

static const char usage_db[] =
    "usage: dealerbot [-c FILE] db migrate\n"
    "       dealerbot [-c FILE] db backup FILE\n"
    "\n"
    "migrate: applies the schema migrations this version knows (they also run at every start).\n"
    "backup: copies the live database into FILE with SQLite's online backup.\n";

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
    fprintf(stderr, "dealerbot: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", usage);
    return CLI_USAGE;
}

static bool is_help(const char *a)
{
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

/* Everything a command needs, set up in order and torn down by ctx_cleanup(). */
struct ctx {
    const char *config_path;
    struct config *cfg;
    struct store *st;
};

/*
 * The file to load: -c, else $DEALERBOT_CONFIG, else config/dealerbot.conf (a checkout), else
 * the installed one. NULL, after one line saying where it looked, when none of the fallbacks
 * exists. `buf` holds the installed path.
 */
static const char *config_path(const struct ctx *c, char *buf, size_t len)
{
    if (c->config_path)
        return c->config_path;
    const char *env = getenv("DEALERBOT_CONFIG");
    const char *path = config_default_path();
    if ((env && *env) || access(path, F_OK) == 0)
        return path;
    layout_config_file(buf, len);
    if (access(buf, F_OK) == 0)
        return buf;
    char cwd[1024];
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, "the working directory");
    fprintf(stderr,
            "dealerbot: no configuration file: looked for %s (in %s) and %s; name one with "
            "-c FILE or $DEALERBOT_CONFIG\n",
            path, cwd, buf);
    return NULL;
}

static int ctx_config(struct ctx *c)
{
    if (c->cfg)
        return CLI_OK; /* loaded already (check-config then opens the store) */
    struct dbot_diag diag = {0};
    char installed[4096];
    const char *path = config_path(c, installed, sizeof installed);
    if (!path)
        return CLI_FAIL;
    if (config_load(path, &c->cfg, &diag) != 0) {
        fprintf(stderr, "dealerbot: %s\n", diag.msg);
        return CLI_FAIL;
    }
    enum log_level level;
    if (c->cfg->log_level && log_level_parse(c->cfg->log_level, &level) == 0)
        log_set_level(level);
    return CLI_OK;
}

/*
 * The database must be creatable and writable: its folder exists and this user may write in
 * it (SQLite puts its -wal and -shm files beside the database), and an existing file is
 * writable. One line naming the path when not; a read-only file system (ProtectSystem=strict
 * outside StateDirectory=) says so through errno.
 */
static int check_database(const char *db)
{
    char dir[4096];
    int n = snprintf(dir, sizeof dir, "%s", db);
    if (n < 0 || (size_t)n >= sizeof dir) {
        fprintf(stderr, "dealerbot: database: path too long\n");
        return CLI_FAIL;
    }
    char *slash = strrchr(dir, '/');
    if (!slash)
        memcpy(dir, ".", 2);
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (access(dir, F_OK) != 0) {
        fprintf(stderr, "dealerbot: database %s: its folder %s does not exist\n", db, dir);
        return CLI_FAIL;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "dealerbot: database %s: its folder %s is not writable: %s\n", db, dir,
                strerror(errno));
        return CLI_FAIL;
    }
    if (access(db, F_OK) == 0 && access(db, R_OK | W_OK) != 0) {
        fprintf(stderr, "dealerbot: database %s is not writable: %s\n", db, strerror(errno));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Opens (and migrates) the store of the loaded configuration. */
static int ctx_open_store(struct ctx *c)
{
    int rc = check_database(c->cfg->database);
    if (rc)
        return rc;
    struct dbot_diag diag = {0};
    if (store_open(c->cfg->database, &c->st, &diag) != 0) {
        fprintf(stderr, "dealerbot: %s\n", diag.msg);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int ctx_store(struct ctx *c)
{
    int rc = ctx_config(c);
    return rc ? rc : ctx_open_store(c);
}

static void ctx_cleanup(struct ctx *c)
{
    store_close(c->st);
    config_free(c->cfg);
}

/* ---- dealers / people ---- */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static int print_dealer(const struct dealer *d, void *arg)
{
    (void)arg;
    char vol[32] = "";
    if (d->sales_volume >= 0)
        snprintf(vol, sizeof vol, "%" PRId64, d->sales_volume);
    printf("%s\t%s\t%s\t%s\t%s\t%s\n", d->code, d->name, or_empty(d->region), vol,
           or_empty(d->timezone), or_empty(d->calendar));
    return 0;
}

static int print_person(const struct person *p, void *arg)
{
    (void)arg;
    printf("%s\t%s\t%s\t%s\t%s\n", p->jid, p->dealer ? p->dealer : "brand",
           person_role_name(p->role), p->name, or_empty(p->language));
    return 0;
}

static int print_rule(const struct penalty_rule *r, void *arg)
{
    (void)arg;
    printf("%s\t%d\t%s\t%s\t%s\n", r->code, r->points, r->violation, or_empty(r->standard),
           or_empty(r->how_to_avoid));
    return 0;
}

enum dir_kind { DIR_DEALERS, DIR_PEOPLE, DIR_PENALTIES };

static int cmd_directory(struct ctx *c, enum dir_kind kind, int argc, char **argv)
{
    static const char *const names[] = {"dealers", "people", "penalties"};
    const char *const usages[] = {usage_dealers, usage_people, usage_penalties};
    const char *usage = usages[kind], *name = names[kind];
    if (argc < 1)
        return usage_error(usage, "%s: missing subcommand", name);
    if (is_help(argv[0])) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    bool import = strcmp(argv[0], "import") == 0;
    if (!import && strcmp(argv[0], "list") != 0)
        return usage_error(usage, "unknown subcommand '%s'", argv[0]);
    if (import && argc != 2)
        return usage_error(usage, "%s", "import takes exactly one FILE");
    if (!import && argc != 1)
        return usage_error(usage, "%s", "list takes no arguments");

    int rc = ctx_store(c);
    if (rc)
        return rc;
    struct dbot_diag diag = {0};
    int err;
    if (import) {
        size_t n = 0;
        err = kind == DIR_DEALERS ? import_dealers(c->st, c->cfg, argv[1], &n, &diag)
              : kind == DIR_PEOPLE ? import_people(c->st, argv[1], &n, &diag)
                                   : import_penalties(c->st, argv[1], &n, &diag);
        if (err) {
            fprintf(stderr, "dealerbot: %s\n", diag.msg[0] ? diag.msg : dbot_strerror(err));
            return CLI_FAIL;
        }
        printf("imported %zu %s from %s\n", n,
               kind == DIR_PENALTIES ? "penalty rules" : name, argv[1]);
        return CLI_OK;
    }
    err = kind == DIR_DEALERS ? store_dealer_each(c->st, print_dealer, NULL)
          : kind == DIR_PEOPLE ? store_person_each(c->st, NULL, print_person, NULL)
                               : store_penalty_rule_each(c->st, print_rule, NULL);
    if (err) {
        fprintf(stderr, "dealerbot: cannot list: %s\n", dbot_strerror(err));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* ---- rooms ---- */

struct room_list {
    struct store *st;
    int unmapped;
    bool comments; /* check-config: only the unmapped rooms, as comments */
};

static int print_room(const char *room, const char *title, struct room_list *l)
{
    char *addr = NULL;
    int err = store_room_address_get(l->st, room, &addr);
    if (err && err != DBOT_ERR_NOTFOUND)
        return err;
    if (!addr)
        l->unmapped++;
    if (!l->comments)
        printf("%s\t%s\t%s\n", room, addr ? addr : "-", title);
    else if (!addr)
        printf("# rooms: %s (%s) has no chat group: its messages are held until it is mapped "
               "(dealerbot rooms import, or bind in the group)\n", room, title);
    free(addr);
    return 0;
}

static int print_dealer_room(const struct dealer *d, void *arg)
{
    char name[DEALER_CODE_MAX + 16];
    return print_room(dealer_room_name(d->code, name, sizeof name), d->name, arg);
}

static int cmd_rooms(struct ctx *c, int argc, char **argv)
{
    if (argc < 1)
        return usage_error(usage_rooms, "%s", "rooms: missing subcommand");
    if (is_help(argv[0])) {
        fputs(usage_rooms, stdout);
        return CLI_OK;
    }
    bool import = strcmp(argv[0], "import") == 0;
    if (!import && strcmp(argv[0], "list") != 0)
        return usage_error(usage_rooms, "unknown subcommand '%s'", argv[0]);
    if (import && argc != 2)
        return usage_error(usage_rooms, "%s", "import takes exactly one FILE");
    if (!import && argc != 1)
        return usage_error(usage_rooms, "%s", "list takes no arguments");
    int rc = ctx_store(c);
    if (rc)
        return rc;
    struct dbot_diag diag = {0};
    if (import) {
        size_t n = 0;
        int err = import_rooms(c->st, c->cfg, argv[1], &n, &diag);
        if (err) {
            fprintf(stderr, "dealerbot: %s\n", diag.msg[0] ? diag.msg : dbot_strerror(err));
            return CLI_FAIL;
        }
        printf("imported %zu rooms from %s\n", n, argv[1]);
        return CLI_OK;
    }
    struct room_list l = {.st = c->st};
    int err = print_room(c->cfg->chat.staff_room, "brand staff", &l);
    if (!err)
        err = print_room(c->cfg->chat.underperformers_room, "underperformers", &l);
    if (!err)
        err = store_dealer_each(c->st, print_dealer_room, &l);
    if (err) {
        fprintf(stderr, "dealerbot: cannot list the rooms: %s\n", dbot_strerror(err));
        return CLI_FAIL;
    }
    if (l.unmapped)
        fprintf(stderr, "dealerbot: %d room(s) have no chat group: their messages are held\n",
                l.unmapped);
    return CLI_OK;
}

/* ---- complaint add ---- */

/* Sets the intake field `field` from option `opt` by the intake's own rules. */
static int opt_text(struct intake *in, const char *opt, const char *field, const char *v)
{
    struct dbot_diag diag = {{0}};
    if (intake_set_text(in, field, v, &diag) != 0) {
        fprintf(stderr, "dealerbot: %s: %s\n", opt, diag.msg);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int cmd_complaint(struct ctx *c, int argc, char **argv)
{
    if (argc < 1)
        return usage_error(usage_complaint, "%s", "complaint: missing subcommand");
    if (is_help(argv[0])) {
        fputs(usage_complaint, stdout);
        return CLI_OK;
    }
    if (strcmp(argv[0], "add") != 0)
        return usage_error(usage_complaint, "unknown subcommand '%s'", argv[0]);

    struct intake in = {0};
    int rc = CLI_OK;
    for (int i = 1; i < argc && rc == CLI_OK; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(usage_complaint, stdout);
            intake_cleanup(&in);
            return CLI_OK;
        }
        if (i + 1 >= argc) {
            rc = usage_error(usage_complaint, "%s needs a value", a);
            break;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--dealer") == 0)
            rc = opt_text(&in, a, "dealer", v);
        else if (strcmp(a, "--category") == 0)
            rc = opt_text(&in, a, "category", v);
        else if (strcmp(a, "--summary") == 0)
            rc = opt_text(&in, a, "summary", v);
        else if (strcmp(a, "--customer-name") == 0)
            rc = opt_text(&in, a, "customer.name", v);
        else if (strcmp(a, "--customer-phone") == 0)
            rc = opt_text(&in, a, "customer.phone", v);
        else if (strcmp(a, "--details") == 0)
            rc = opt_text(&in, a, "details", v);
        else if (strcmp(a, "--external-id") == 0)
            rc = opt_text(&in, a, "external_id", v);
        else if (strcmp(a, "--priority") == 0) {
            if (priority_parse(v, &in.priority) != 0) {
                fprintf(stderr, "dealerbot: --priority: must be one of normal, urgent, vip\n");
                rc = CLI_FAIL;
            }
        } else if (strcmp(a, "--received-at") == 0) {
            if (rfc3339_parse(v, &in.received_at) != 0) {
                fprintf(stderr, "dealerbot: --received-at: must be an RFC 3339 time like "
                                "2026-11-23T14:30:00+08:00\n");
                rc = CLI_FAIL;
            }
        } else
            rc = usage_error(usage_complaint, "unknown option '%s'", a);
    }
    static const struct {
        const char *opt;
        size_t off;
    } required[] = {
        {"--dealer", offsetof(struct intake, dealer)},
        {"--category", offsetof(struct intake, category)},
        {"--summary", offsetof(struct intake, summary)},
        {"--customer-name", offsetof(struct intake, customer_name)},
        {"--customer-phone", offsetof(struct intake, customer_phone)},
    };
    for (size_t i = 0; rc == CLI_OK && i < sizeof required / sizeof required[0]; i++) {
        if (!*(char **)((char *)&in + required[i].off))
            rc = usage_error(usage_complaint, "missing %s", required[i].opt);
    }
    if (rc == CLI_OK)
        rc = ctx_store(c);
    struct engine eng;
    struct dbot_diag ediag = {{0}};
    if (rc == CLI_OK) {
        /* the card of the new complaint shows times in the configured zone */
        setenv("TZ", c->cfg->timezone, 1);
        tzset();
        if (engine_init(&eng, c->cfg, c->st, &ediag) != 0) {
            fprintf(stderr, "dealerbot: %s\n", ediag.msg);
            rc = CLI_FAIL;
        }
    }
    if (rc == CLI_OK) {
        struct intake *items[1] = {&in};
        struct intake_result res;
        engine_intake_batch(&eng, items, 1, timeutil_now(), "cli", &res);
        engine_cleanup(&eng);
        if (res.err) {
            fprintf(stderr, "dealerbot: %s\n", res.diag.msg);
            rc = CLI_FAIL;
        } else {
            struct complaint cp;
            char id[32], ack[32], sol[32], cls[32];
            setenv("TZ", c->cfg->timezone, 1);
            tzset();
            if (store_complaint_get(c->st, res.id, &cp) == 0) {
                printf("%s %s: dealer %s, state %s, ack by %s, solution by %s, close by %s\n",
                       complaint_id_format(cp.id, id, sizeof id),
                       res.created ? "created" : "already exists", cp.dealer,
                       complaint_state_name(cp.state),
                       rfc3339_format_local(cp.due.ack_due, ack, sizeof ack),
                       rfc3339_format_local(cp.due.solution_due, sol, sizeof sol),
                       rfc3339_format_local(cp.due.close_due, cls, sizeof cls));
                complaint_cleanup(&cp);
            }
        }
    }
    intake_cleanup(&in);
    return rc;
}

/* ---- scorecard ---- */

static int32_t local_offset(int64_t t, void *arg)
{
    (void)arg;
    return timeutil_zone_offset(NULL, t);
}

/* "2026-11-23 14:00" in the configured zone (TZ is set from it). */
static char *wall(int64_t t, char *buf, size_t len)
{
    return timeutil_format_wall(t, timeutil_zone_offset(NULL, t), buf, len);
}

/* One CSV cell, quoted and neutralised by csv_field_format (a name like "=HYPERLINK(...)" must
 * not run in Excel). A stack buffer, the heap for a longer cell. Returns 0 or DBOT_ERR_NOMEM. */
static int csv_field(FILE *fp, const char *s, bool first)
{
    if (!first)
        fputc(',', fp);
    char small[512];
    size_t n = csv_field_format(s, small, sizeof small);
    if (n < sizeof small) {
        fputs(small, fp);
        return 0;
    }
    char *big = malloc(n + 1);
    if (!big)
        return DBOT_ERR_NOMEM;
    csv_field_format(s, big, n + 1);
    fputs(big, fp);
    free(big);
    return 0;
}

static int csv_scorecards(const struct scorecard_set *set, const struct scorecard_window *w,
                           const struct scorecard *only)
{
    char from[24], to[24], num[48];
    int err = 0;
    wall(set->from, from, sizeof from);
    wall(set->to, to, sizeof to);
    fputs("\xEF\xBB\xBF", stdout);
    static const char *const fixed[] = {"window", "from", "to", "code", "name", "region",
                                        "sales_volume"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        err |= csv_field(stdout, fixed[i], i == 0);
    for (int m = 0; m < SCM__COUNT; m++) {
        const struct scorecard_metric_info *info = scorecard_metric_info((enum scorecard_metric)m);
        char col[64];
        err |= csv_field(stdout, info->csv_key, false);
        snprintf(col, sizeof col, "%s_network", info->csv_key);
        err |= csv_field(stdout, col, false);
        if (info->better == SCB_NONE)
            continue;
        snprintf(col, sizeof col, "%s_rank", info->csv_key);
        err |= csv_field(stdout, col, false);
        snprintf(col, sizeof col, "%s_percentile", info->csv_key);
        err |= csv_field(stdout, col, false);
    }
    fputs("\r\n", stdout);
    for (size_t i = 0; i < set->n; i++) {
        const struct scorecard *sc = &set->dealers[i];
        if (only && sc != only)
            continue;
        err |= csv_field(stdout, w->label, true);
        err |= csv_field(stdout, from, false);
        err |= csv_field(stdout, to, false);
        err |= csv_field(stdout, sc->code, false);
        err |= csv_field(stdout, sc->name, false);
        err |= csv_field(stdout, sc->region, false);
        num[0] = '\0';
        if (sc->sales_volume >= 0)
            snprintf(num, sizeof num, "%" PRId64, sc->sales_volume);
        err |= csv_field(stdout, num, false);
        for (int m = 0; m < SCM__COUNT; m++) {
            enum scorecard_metric em = (enum scorecard_metric)m;
            const struct scorecard_value *v = &sc->m[m];
            err |= csv_field(stdout, scorecard_value_csv(em, v, num, sizeof num), false);
            err |= csv_field(stdout, scorecard_value_csv(em, &set->network.m[m], num, sizeof num), false);
            if (scorecard_metric_info(em)->better == SCB_NONE)
                continue;
            num[0] = '\0';
            if (v->rank > 0)
                snprintf(num, sizeof num, "%d", v->rank);
            err |= csv_field(stdout, num, false);
            num[0] = '\0';
            if (v->rank > 0)
                snprintf(num, sizeof num, "%.1f", v->percentile);
            err |= csv_field(stdout, num, false);
        }
        fputs("\r\n", stdout);
    }
    return err ? DBOT_ERR_NOMEM : 0;
}

/* What the table and the card call each metric. */
static const char *const metric_labels[SCM__COUNT] = {
    [SCM_COMPLAINTS] = "complaints",
    [SCM_PER_1000] = "per 1,000 units sold",
    [SCM_ACK_COMPLIANCE] = "ack on time",
    [SCM_SOLUTION_COMPLIANCE] = "solution on time",
    [SCM_CLOSE_COMPLIANCE] = "close on time",
    [SCM_ACK_P50] = "time to ack, P50",
    [SCM_ACK_P90] = "time to ack, P90",
    [SCM_CLOSE_P50] = "time to close, P50",
    [SCM_CLOSE_P90] = "time to close, P90",
    [SCM_REOPENED] = "reopened",
    [SCM_REJECTED] = "reports rejected",
    [SCM_PENALTY_POINTS] = "penalty points",
    [SCM_SATISFACTION] = "satisfaction (1-5)",
    [SCM_ANSWERS] = "satisfaction answers",
};

/* One dealer's whole card: each metric beside the network, with rank and percentile. */
static void print_card(const struct scorecard_set *set, const struct scorecard *sc)
{
    char vol[32] = "unknown", a[32], b[32], r[32], p[16];
    if (sc->sales_volume >= 0)
        snprintf(vol, sizeof vol, "%" PRId64 "/year", sc->sales_volume);
    printf("%s  %s  %s  sales volume %s\n\n", sc->code, sc->name, sc->region[0] ? sc->region : "-",
           vol);
    printf("%-22s %10s %10s %12s %10s\n", "", "dealer", "network", "rank", "percentile");
    for (int m = 0; m < SCM__COUNT; m++) {
        enum scorecard_metric em = (enum scorecard_metric)m;
        const struct scorecard_value *v = &sc->m[m];
        snprintf(r, sizeof r, "-");
        snprintf(p, sizeof p, "-");
        if (v->rank > 0) {
            snprintf(r, sizeof r, "%d of %d", v->rank, v->of);
            snprintf(p, sizeof p, "%.1f", v->percentile);
        }
        printf("%-22s %10s %10s %12s %10s\n", metric_labels[m],
               scorecard_value_format(em, v, a, sizeof a),
               scorecard_value_format(em, &set->network.m[m], b, sizeof b), r, p);
    }
}

/* Every dealer on one line (the card's main figures), the network last. */
static void print_table(const struct scorecard_set *set)
{
    static const enum scorecard_metric cols[] = {
        SCM_COMPLAINTS, SCM_PER_1000, SCM_ACK_COMPLIANCE, SCM_SOLUTION_COMPLIANCE,
        SCM_CLOSE_COMPLIANCE, SCM_ACK_P50, SCM_CLOSE_P50, SCM_REOPENED, SCM_REJECTED,
        SCM_PENALTY_POINTS, SCM_SATISFACTION,
    };
    static const char *const heads[] = {
        "complaints", "per 1000", "ack %", "solution %", "close %", "ack P50", "close P50",
        "reopened", "rejected", "points", "satisf.",
    };
    _Static_assert(sizeof cols / sizeof cols[0] == sizeof heads / sizeof heads[0], "columns");
    char buf[32];
    printf("%-12s", "dealer");
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
        printf(" %10s", heads[k]);
    printf("  name\n");
    for (size_t i = 0; i <= set->n; i++) {
        const struct scorecard *sc = i < set->n ? &set->dealers[i] : &set->network;
        printf("%-12s", i < set->n ? sc->code : "(network)");
        for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
            printf(" %10s", scorecard_value_format(cols[k], &sc->m[cols[k]], buf, sizeof buf));
        printf("  %s\n", i < set->n ? sc->name : "average");
    }
}

static int cmd_scorecard(struct ctx *c, int argc, char **argv)
{
    const char *dealer = NULL, *form = NULL, *value = NULL;
    bool csv = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(usage_scorecard, stdout);
            return CLI_OK;
        }
        if (strcmp(a, "--csv") == 0) {
            csv = true;
            continue;
        }
        bool is_form = strcmp(a, "--window") == 0 || strcmp(a, "--month") == 0 ||
                       strcmp(a, "--quarter") == 0;
        if (!is_form && strcmp(a, "--dealer") != 0)
            return usage_error(usage_scorecard, "unknown option '%s'", a);
        if (i + 1 >= argc)
            return usage_error(usage_scorecard, "%s needs a value", a);
        if (!is_form) {
            dealer = argv[++i];
            continue;
        }
        if (form)
            return usage_error(usage_scorecard, "%s: give only one of --window, --month and "
                                                "--quarter", a);
        form = a + 2;
        value = argv[++i];
    }
    int rc = ctx_store(c);
    if (rc)
        return rc;
    /* months, quarters and the printed times are in the configured zone */
    setenv("TZ", c->cfg->timezone, 1);
    tzset();
    int64_t now = timeutil_now();
    struct scorecard_window w;
    struct dbot_diag diag = {{0}};
    if (form ? scorecard_window_parse(form, value, now, local_offset, NULL, &w, &diag) != 0
             : scorecard_window_rolling(c->cfg->underperformers.window_s, now, &w) != 0) {
        fprintf(stderr, "dealerbot: --%s\n", diag.msg[0] ? diag.msg : "window: not usable");
        return CLI_FAIL;
    }
    struct scorecard_set set;
    int err = store_scorecards(c->st, w.from, w.to, now, &set);
    if (err) {
        fprintf(stderr, "dealerbot: cannot compute the scorecards: %s\n", dbot_strerror(err));
        return CLI_FAIL;
    }
    const struct scorecard *only = NULL;
    if (dealer && !(only = scorecard_find(&set, dealer))) {
        fprintf(stderr, "dealerbot: no such dealer: %s\n", dealer);
        scorecard_set_cleanup(&set);
        return CLI_FAIL;
    }
    if (csv) {
        if ((err = csv_scorecards(&set, &w, only)) != 0) {
            fprintf(stderr, "dealerbot: cannot write the CSV: %s\n", dbot_strerror(err));
            scorecard_set_cleanup(&set);
            return CLI_FAIL;
        }
    } else {
        char from[24], to[24], asof[24];
        printf("scorecards %s: %s to %s (as of %s), %zu dealers, %" PRId64 " complaints\n\n",
               w.label, wall(w.from, from, sizeof from), wall(w.to, to, sizeof to),
               wall(now, asof, sizeof asof), set.n, set.network.raw.complaints);
        if (only)
            print_card(&set, only);
        else
            print_table(&set);
    }
    scorecard_set_cleanup(&set);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "dealerbot: cannot write the output\n");
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* ---- db ---- */

static int cmd_db(struct ctx *c, int argc, char **argv)
{
    if (argc < 1)
        return usage_error(usage_db, "%s", "db: missing subcommand");
    if (is_help(argv[0])) {
        fputs(usage_db, stdout);
        return CLI_OK;
    }
    bool backup = strcmp(argv[0], "backup") == 0;
    if (!backup && strcmp(argv[0], "migrate") != 0)
        return usage_error(usage_db, "unknown subcommand '%s'", argv[0]);
    if (backup ? argc != 2 : argc != 1)
        return usage_error(usage_db, "%s", backup ? "backup takes exactly one FILE"
                                                  : "migrate takes no arguments");
    int rc = ctx_config(c);
    if (rc == CLI_OK)
        rc = check_database(c->cfg->database);
    if (rc)
        return rc;
    struct dbot_diag diag = {0};
    int before = 0, after = 0;
    if (store_open_nomigrate(c->cfg->database, &c->st, &diag) != 0 ||
        store_schema_version(c->st, &before) != 0 || store_migrate(c->st, -1, &diag) != 0 ||
        store_schema_version(c->st, &after) != 0) {
        fprintf(stderr, "dealerbot: %s\n", diag.msg[0] ? diag.msg : "cannot open the database");
        return CLI_FAIL;
    }
    if (!backup) {
        printf("%s: schema %d -> %d (newest %d)\n", c->cfg->database, before, after,
               store_schema_head());
        return CLI_OK;
    }
    if (store_backup(c->st, argv[1], &diag) != 0) {
        fprintf(stderr, "dealerbot: %s\n", diag.msg);
        return CLI_FAIL;
    }
    printf("backed up %s to %s\n", c->cfg->database, argv[1]);
    return CLI_OK;
}

static void print_missing(const char *lang, const char *key, void *arg)
{
    (void)arg;
    printf("# messages: %s has no \"%s\" (the other language's text is used)\n", lang, key);
}

/* The chat texts load (a syntax error fails check-config with its file and line); keys one
 * language lacks are listed as comments before the configuration. */
static int check_messages(const struct config *cfg, bool quiet)
{
    struct messages *m = NULL;
    struct dbot_diag diag = {{0}};
    if (messages_load(cfg->messages_dir, &m, &diag) != 0) {
        fprintf(stderr, "dealerbot: %s\n", diag.msg);
        return CLI_FAIL;
    }
    if (!quiet)
        messages_missing(m, print_missing, NULL);
    messages_free(m);
    return CLI_OK;
}

/* On a platform whose rooms the directory maps (DingTalk), the rooms without a group are
 * listed as comments, when the database exists (check-config never creates it). */
static int check_rooms(struct ctx *c)
{
    if (strcmp(c->cfg->chat.platform, "dingtalk") != 0 || access(c->cfg->database, F_OK) != 0)
        return CLI_OK;
    int rc = ctx_store(c);
    if (rc)
        return rc;
    struct room_list l = {.st = c->st, .comments = true};
    int err = print_room(c->cfg->chat.staff_room, "brand staff", &l);
    if (!err)
        err = print_room(c->cfg->chat.underperformers_room, "underperformers", &l);
    if (!err)
        err = store_dealer_each(c->st, print_dealer_room, &l);
    if (err) {
        fprintf(stderr, "dealerbot: cannot list the rooms: %s\n", dbot_strerror(err));
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* ---- dispatch ---- */

static int cmd_simple(struct ctx *c, const char *name, const char *usage, int argc, char **argv)
{
    bool check = strcmp(name, "check-config") == 0, quiet = false;
    if (argc > 0 && is_help(argv[0])) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (check && argc > 0 && (!strcmp(argv[0], "-q") || !strcmp(argv[0], "--quiet"))) {
        quiet = true;
        argc--;
        argv++;
    }
    if (argc > 0)
        return usage_error(usage, "unexpected argument '%s'", argv[0]);
    if (check) {
        int rc = ctx_config(c);
        if (rc == CLI_OK)
            rc = check_database(c->cfg->database);
        if (rc == CLI_OK && strcmp(c->cfg->chat.platform, "none") != 0)
            rc = check_messages(c->cfg, quiet);
        if (rc == CLI_OK && !quiet)
            rc = check_rooms(c);
        if (rc == CLI_OK && !quiet)
            config_print(c->cfg, stdout);
        return rc;
    }
    /* Everything that can be checked before the database is touched: a start that fails on
     * a missing chat text leaves no new database behind. */
    int rc = ctx_config(c);
    if (rc == CLI_OK && strcmp(c->cfg->chat.platform, "none") != 0)
        rc = check_messages(c->cfg, true);
    if (rc == CLI_OK)
        rc = ctx_open_store(c);
    if (rc)
        return rc;
    return cli_run(c->cfg, c->st);
}

int cli_main(int argc, char **argv, const char *revision)
{
    struct ctx c = {0};
    /* Options may stand before or after the command word; collect the rest in order. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) {
        fprintf(stderr, "dealerbot: out of memory\n");
        return CLI_FAIL;
    }
    int n = 0, rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                rc = usage_error(usage_main, "%s needs a FILE", a);
                goto out;
            }
            c.config_path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            c.config_path = a + 9;
        } else if (n == 0 && is_help(a)) {
            fputs(usage_main, stdout);
            rc = CLI_OK;
            goto out;
        } else if (n == 0 && (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)) {
            printf("dealerbot %s (revision %s)\n", DBOT_VERSION, revision ? revision : "unknown");
            rc = CLI_OK;
            goto out;
        } else {
            rest[n++] = argv[i];
        }
    }
    if (n == 0) {
        rc = usage_error(usage_main, "%s", "missing COMMAND");
        goto out;
    }
    const char *cmd = rest[0];
    if (strcmp(cmd, "run") == 0)
        rc = cmd_simple(&c, cmd, usage_run, n - 1, rest + 1);
    else if (strcmp(cmd, "check-config") == 0)
        rc = cmd_simple(&c, cmd, usage_check, n - 1, rest + 1);
    else if (strcmp(cmd, "dealers") == 0)
        rc = cmd_directory(&c, DIR_DEALERS, n - 1, rest + 1);
    else if (strcmp(cmd, "people") == 0)
        rc = cmd_directory(&c, DIR_PEOPLE, n - 1, rest + 1);
    else if (strcmp(cmd, "penalties") == 0)
        rc = cmd_directory(&c, DIR_PENALTIES, n - 1, rest + 1);
    else if (strcmp(cmd, "rooms") == 0)
        rc = cmd_rooms(&c, n - 1, rest + 1);
    else if (strcmp(cmd, "complaint") == 0)
        rc = cmd_complaint(&c, n - 1, rest + 1);
    else if (strcmp(cmd, "db") == 0)
        rc = cmd_db(&c, n - 1, rest + 1);
    else if (strcmp(cmd, "scorecard") == 0)
        rc = cmd_scorecard(&c, n - 1, rest + 1);
    else
        rc = usage_error(usage_main, "unknown command '%s'", cmd);
out:
    ctx_cleanup(&c);
    free(rest);
    return rc;
}
