/*
 * messages.c — the chat templates: the table of keys, the .msg file reader and the renderer.
 *
 * The table below is the contract between the code and the data files: every key the bot
 * may ask for, with the placeholders its template may use. The loader rejects a key that is
 * not in the table and a placeholder the key does not allow, so a typo in a data file stops
 * the daemon at start instead of showing "{custmer}" to a dealer; the unit test loads the
 * shipped files, so the files cannot drift from the table either.
 *
 * Memory: a file is read whole into one buffer, which then holds its templates. Decoding
 * escapes only ever shortens a text, so each line is decoded in place and NUL-terminated
 * there, and text[lang][key] points into the buffer: three allocations per set, whatever the
 * number of keys. Every allocation goes through xmalloc(), which the unit tests make fail on
 * purpose (messages__fail_alloc_after) to prove the error paths.
 */
#include "dealerbot/messages.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dealerbot/file.h"
#include "dealerbot/lang.h"
#include "dealerbot/utf8.h"

#define PLACEHOLDER_MAX 32 /* longest name between braces that counts as a placeholder */
#define QUOTE_MAX 40       /* bytes of file text quoted back in a message */
#define PATH_MAX_MSG 4096

/* clang-format off */
#define CARD_VARS "id priority category customer_name customer_phone summary details " \
                  "ack_due solution_due close_due dealer_code dealer_name"
#define STATE_VARS "id state"

/* Every key, with the placeholders it may use (space-separated). */
static const struct msg_key {
    const char *key;
    const char *vars;
} table[] = {
    {"prio_normal", ""},
    {"prio_urgent", ""},
    {"prio_vip", ""},

    {"state_new", ""},
    {"state_notified", ""},
    {"state_acknowledged", ""},
    {"state_solution_agreed", ""},
    {"state_report_submitted", ""},
    {"state_closed", ""},
    {"state_cancelled", ""},

    {"value_none", ""},

    {"card", CARD_VARS},
    {"card_staff", CARD_VARS},

    {"help_head", "name"},
    {"help_ack", ""},
    {"help_plan", ""},
    {"help_close", ""},
    {"help_status", ""},
    {"help_list", ""},
    {"help_approve", ""},
    {"help_reject", ""},
    {"help_reopen", ""},
    {"help_cancel", ""},
    {"help_cancel_ticket", ""},

    {"ack_ok", "id owner eta"},
    {"plan_ok", "id who solution"},
    {"close_submitted", "id who"},

    {"ask_cause", "id"},
    {"ask_fix", "id"},
    {"ask_prevent", "id"},
    {"dialogue_invalid", "field reason"},
    {"dialogue_cancelled", "id"},
    {"dialogue_other", "id"},
    {"dialogue_none", ""},
    {"reason_too_short", ""},
    {"reason_too_long", ""},
    {"reason_bad_text", ""},
    {"field_cause", ""},
    {"field_fix", ""},
    {"field_prevent", ""},
    {"field_ticket", ""},
    {"field_eta", ""},
    {"field_note", ""},
    {"field_solution", ""},
    {"form_ack", ""},
    {"form_plan", ""},
    {"form_close", ""},
    {"form_status", ""},
    {"form_missing", ""},

    {"review", "id dealer_code dealer_name who summary cause fix prevent"},
    {"approved", "id who"},
    {"rejected", "id who reason"},
    {"reopened", "id who reason close_due"},
    {"cancelled", "id who reason"},

    {"status", "id state priority dealer_code owner summary ack_due solution_due close_due"},
    {"status_events_head", ""},
    {"status_event", "time who what"},
    {"event_intake", ""},
    {"event_notify", ""},
    {"event_ack", ""},
    {"event_plan", ""},
    {"event_report", ""},
    {"event_report_started", ""},
    {"event_report_cancelled", ""},
    {"event_approve", ""},
    {"event_reject", ""},
    {"event_reopen", ""},
    {"event_cancel", ""},
    {"event_refused", ""},
    {"event_penalty", ""},
    {"event_satisfaction", ""},
    {"event_remind", ""},
    {"event_breach", ""},
    {"event_escalate", ""},

    {"list_head", "count"},
    {"list_item", "id state next_due summary overdue"},
    {"list_empty", ""},
    {"overdue_mark", ""},

    {"due_left", "left"},
    {"due_over", "over"},
    {"due_met", ""},
    {"due_met_late", "over"},

    {"milestone_ack", ""},
    {"milestone_solution", ""},
    {"milestone_close", ""},
    {"late_mark", ""},
    {"remind_room", "id milestone due left summary late"},
    {"remind_dm", "id milestone due left summary late"},
    {"breach_room", "id milestone due summary points late"},
    {"escalate_dm", "id level milestone due over summary dealer_code dealer_name late"},
    {"escalate_staff", "id level milestone due over summary dealer_code dealer_name late"},
    {"watchdog_staff", "count oldest"},
    {"help_penalty", ""},
    {"help_penalties", ""},
    {"penalty_added", "dealer_code dealer_name code violation points total id who note"},
    {"penalties_head", "dealer_code total count"},
    {"penalties_item", "time code points id note pid state"},
    {"penalties_empty", "dealer_code"},
    {"err_unknown_penalty", "code"},
    {"help_appeal", ""},
    {"help_decide", ""},
    {"pstate_standing", ""},
    {"pstate_appealed", ""},
    {"pstate_upheld", ""},
    {"pstate_waived", ""},
    {"pen_unknown", "pid"},
    {"pen_not_manager", "pid"},
    {"pen_window", "pid window"},
    {"pen_appealed_before", "pid"},
    {"pen_decided", "pid state"},
    {"pen_not_appealed", "pid"},
    {"pen_need_reason", "pid command"},
    {"pen_appeal_staff", "pid dealer_code dealer_name code points who reason"},
    {"pen_appeal_ok", "pid"},
    {"pen_upheld", "pid dealer_code code points who note"},
    {"pen_waived", "pid dealer_code code points who reason total"},
    {"help_commend", ""},
    {"commended", "id dealer_code dealer_name points total who note"},
    {"err_commend_cancelled", "id"},
    {"rewards_head", "count rewards"},
    {"rewards_item", "time kind points id note"},
    {"ledger_balance", "penalties rewards balance"},
    {"rkind_commend", ""},
    {"rkind_first_time", ""},
    {"rkind_satisfaction", ""},
    {"reward_auto", "id dealer_code kind points"},
    {"event_commend", ""},
    {"event_reward", ""},
    {"monthly_report", "month dealer_code dealer_name complaints net_complaints complaints_rank "
                       "close net_close close_rank satisfaction net_satisfaction "
                       "satisfaction_rank penalty_points reward_points late"},
    {"honour_head", "month late"},
    {"honour_empty", "month late"},
    {"honour_item", "rank dealer_name dealer_code close satisfaction complaints"},
    {"help_honour", ""},
    {"honour_sent", "month"},
    {"err_unknown_dealer", "code"},

    {"satisfaction_reopened", "id score comment close_due"},
    {"bkind_standard", ""},
    {"bkind_penalty", ""},
    {"bkind_training", ""},
    {"bkind_risk", ""},
    {"bkind_notice", ""},
    {"broadcast_room", "id kind text ack"},
    {"broadcast_ack_hint", "id"},
    {"broadcast_sent", "id rooms people"},
    {"broadcast_remind", "id kind text"},
    {"broadcast_stragglers", "id count names"},
    {"read_ok", "id"},
    {"read_already", "id"},
    {"err_unknown_broadcast", "id"},
    {"err_broadcast_not_yours", "id"},
    {"err_bad_audience", "audience"},
    {"catalogue_head", ""},
    {"catalogue_item", "code violation points standard how"},
    {"help_broadcast", ""},
    {"help_underperformers", ""},
    {"help_scorecard", ""},
    {"scorecard_head", "dealer_code dealer_name window"},
    {"scorecard_line", "metric value network rank"},
    {"scorecard_rank", "rank of percentile"},
    {"scm_complaints", ""},
    {"scm_per_1000", ""},
    {"scm_ack_compliance", ""},
    {"scm_solution_compliance", ""},
    {"scm_close_compliance", ""},
    {"scm_ack_p50", ""},
    {"scm_ack_p90", ""},
    {"scm_close_p50", ""},
    {"scm_close_p90", ""},
    {"scm_reopened", ""},
    {"scm_rejected", ""},
    {"scm_penalty_points", ""},
    {"scm_reward_points", ""},
    {"scm_satisfaction", ""},
    {"scm_answers", ""},

    {"under_reason_rate", "value network factor"},
    {"under_reason_close", "value min"},
    {"under_reason_penalty", "value max"},
    {"under_reason_pin_in", "who"},
    {"under_reason_pin_out", "who"},
    {"under_reason_unpin", "who"},
    {"under_reason_left", "since period"},
    {"under_enter_room", "dealer_code dealer_name reasons"},
    {"under_enter_dealer", "dealer_name reasons room"},
    {"under_leave_room", "dealer_code dealer_name reasons"},
    {"under_leave_dealer", "dealer_name reasons room"},
    {"under_list_head", "count"},
    {"under_list_item", "dealer_code dealer_name since reasons pinned"},
    {"under_list_empty", ""},
    {"under_pinned_mark", ""},
    {"under_refreshed", "entered left listed"},
    {"under_pin_ok", "dealer_code how"},
    {"under_how_in", ""},
    {"under_how_out", ""},
    {"under_how_unpin", ""},
    {"help_read", ""},
    {"batch_warning", "category count window scope list"},
    {"scope_network", ""},

    {"room_refused", "room"},
    {"members_add", "dealer_code dealer_name people room"},
    {"members_remove", "dealer_code dealer_name people room"},
    {"bind_done", "room"},
    {"bind_denied", ""},
    {"bind_unknown", "name"},
    {"bind_usage", ""},

    {"err_unknown_command", "word"},
    {"err_help_hint", ""},
    {"err_missing_ticket", "command"},
    {"err_bad_ticket", "word"},
    {"err_missing_text", "command"},
    {"err_bad_eta", ""},
    {"err_bad_argument", "command"},
    {"err_scorecard_dealer", "command"},
    {"err_reports_busy", "command seconds"},
    {"err_too_long", ""},
    {"err_bad_utf8", ""},
    {"err_unknown_ticket", "id"},
    {"err_not_allowed", "command"},
    {"err_other_dealer", "id"},
    {"err_unknown_person", ""},
    {"err_state_need_ack", STATE_VARS},
    {"err_state_need_plan", STATE_VARS},
    {"err_state_already_acked", STATE_VARS},
    {"err_state_no_report", STATE_VARS},
    {"err_state_closed", STATE_VARS},
    {"err_state_cancelled", STATE_VARS},
    {"err_state_other", STATE_VARS},
    {"err_not_yet", "command"},
    {"err_internal", ""},
};
/* clang-format on */

#define N_KEYS (sizeof table / sizeof table[0])

/* in the order of lang_names (lang.h) */
enum { LANG_ZH, LANG_EN, N_LANGS };
_Static_assert(N_LANGS == LANG_COUNT, "one chat-text file per language of lang.h");

struct messages {
    char *buf[N_LANGS];                 /* each file's bytes; the templates live in here */
    const char *text[N_LANGS][N_KEYS];  /* NULL where the file leaves the key out */
};

/* ------------------------------------------------------------------------------------------
 * Allocation, with a failure-injection hook for the unit tests' allocation-failure loop.
 */

static long fail_after = -1;

void messages__fail_alloc_after(long n)
{
    fail_after = n;
}

static void *xmalloc(size_t n)
{
    if (fail_after >= 0) {
        if (fail_after == 0)
            return NULL;
        fail_after--;
    }
    return malloc(n);
}

/* ------------------------------------------------------------------------------------------
 * The table
 */

static int key_index(const char *key, size_t len)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strlen(table[i].key) == len && !memcmp(table[i].key, key, len))
            return (int)i;
    return -1;
}

/* True when name[0..len) is one of the space-separated words in vars. */
static bool var_allowed(const char *vars, const char *name, size_t len)
{
    const char *p = vars;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, " ");
        if (w == len && len > 0 && !memcmp(p, name, len))
            return true;
        p += w;
    }
    return false;
}

static int lang_index(const char *lang)
{
    if (lang && (lang[0] == 'e' || lang[0] == 'E') && (lang[1] == 'n' || lang[1] == 'N') &&
        (lang[2] == '\0' || lang[2] == '-' || lang[2] == '_'))
        return LANG_EN;
    return LANG_ZH;
}

bool messages_key_at(size_t i, const char **key, const char **placeholders)
{
    if (i >= N_KEYS)
        return false;
    if (key)
        *key = table[i].key;
    if (placeholders)
        *placeholders = table[i].vars;
    return true;
}

/* ------------------------------------------------------------------------------------------
 * Placeholders
 *
 * One rule, shared by the loader's check and the renderer: a '{' not followed by another '{'
 * opens a placeholder when a '}' comes within PLACEHOLDER_MAX bytes with no '{' or line break
 * before it; the name is what lies between. Returns the length of the name, or -1 when this
 * '{' opens nothing. t points at the '{'.
 */
static long placeholder_at(const char *t)
{
    for (long j = 1; j <= PLACEHOLDER_MAX + 1; j++) {
        char c = t[j];
        if (c == '}')
            return j - 1;
        if (c == '\0' || c == '{' || c == '\n')
            return -1;
    }
    return -1;
}

/* The length of s[0..max) cut back to a UTF-8 character boundary, for quoting in a diag. */
static int quote_len(const char *s, size_t len)
{
    return (int)utf8_cut(s, len, SIZE_MAX, QUOTE_MAX, NULL);
}

/*
 * Checks a decoded template against the placeholders its key allows. Returns 0, or
 * DBOT_ERR_INVALID with "FILE:LINE: key: reason".
 */
static int check_template(const char *file, int line, const struct msg_key *k, const char *t,
                          struct dbot_diag *diag)
{
    for (size_t i = 0; t[i];) {
        if (t[i] == '{') {
            if (t[i + 1] == '{') {
                i += 2;
                continue;
            }
            long n = placeholder_at(t + i);
            if (n < 0)
                return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                     "%s:%d: %s: '{' without a matching '}' (write {{ for a "
                                     "literal brace)",
                                     file, line, k->key);
            if (!var_allowed(k->vars, t + i + 1, (size_t)n)) {
                if (!*k->vars)
                    return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                         "%s:%d: %s: unknown placeholder {%.*s} (this text takes "
                                         "none)",
                                         file, line, k->key, (int)n, t + i + 1);
                return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                     "%s:%d: %s: unknown placeholder {%.*s} (allowed: %s)", file,
                                     line, k->key, (int)n, t + i + 1, k->vars);
            }
            i += (size_t)n + 2;
        } else if (t[i] == '}') {
            if (t[i + 1] != '}')
                return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                     "%s:%d: %s: '}' without a matching '{' (write }} for a "
                                     "literal brace)",
                                     file, line, k->key);
            i += 2;
        } else {
            i++;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Parsing one file
 */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Decodes the escapes of s in place (the result is never longer) and NUL-terminates it.
 * Returns 0, or DBOT_ERR_INVALID naming the bad escape.
 */
static int unescape(char *s, const char *file, int line, const char *key, struct dbot_diag *diag)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r != '\\') {
            *w++ = *r;
            continue;
        }
        r++;
        if (*r == 'n') {
            *w++ = '\n';
        } else if (*r == '\\') {
            *w++ = '\\';
        } else if (*r == '\0') {
            return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                 "%s:%d: %s: '\\' at the end of the line (write \\\\ for a "
                                 "backslash)",
                                 file, line, key);
        } else {
            /* Quote the whole character after the backslash, even a multi-byte one. */
            int n = (int)utf8_cut(r, strlen(r), 1, SIZE_MAX, NULL);
            return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                 "%s:%d: %s: unknown escape \\%.*s (use \\n or \\\\)", file, line,
                                 key, n, r);
        }
    }
    *w = '\0';
    return 0;
}

/*
 * Parses buf[0..len) — the whole file, NUL-terminated at len — in place into text[]. A line is
 * checked for UTF-8 before anything else looks at it, so every later step (and every message
 * that quotes it) sees well-formed text without NUL bytes.
 */
static int parse(char *buf, size_t len, const char *file, const char **text,
                 struct dbot_diag *diag)
{
    int first_line[N_KEYS] = {0};
    char *p = buf;
    char *end = buf + len;
    int line = 0;

    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    while (p < end) {
        line++;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        char *next = nl ? nl + 1 : end;
        if (eol > p && eol[-1] == '\r')
            eol--;
        if (!utf8_valid(p, (size_t)(eol - p)))
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s:%d: not valid UTF-8", file, line);
        *eol = '\0';

        while (is_blank(*p))
            p++;
        if (*p == '\0' || *p == '#') {
            p = next;
            continue;
        }

        char *key = p;
        while (*p && !is_blank(*p) && *p != '=')
            p++;
        size_t klen = (size_t)(p - key);
        while (is_blank(*p))
            p++;
        if (klen == 0)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s:%d: missing key before '='", file,
                                 line);
        if (*p != '=')
            return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                 "%s:%d: expected \"key = text\" after \"%.*s\"", file, line,
                                 quote_len(key, klen), key);
        for (size_t i = 0; i < klen; i++)
            if (!is_key_char(key[i]))
                return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                     "%s:%d: bad key \"%.*s\" (lower-case letters, digits and _)",
                                     file, line, quote_len(key, klen), key);
        int k = key_index(key, klen);
        if (k < 0)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s:%d: unknown key \"%.*s\"", file,
                                 line, quote_len(key, klen), key);
        if (first_line[k])
            return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                 "%s:%d: duplicate key \"%s\" (first on line %d)", file, line,
                                 table[k].key, first_line[k]);
        first_line[k] = line;

        p++; /* '=' */
        while (is_blank(*p))
            p++;
        char *t = p;
        char *te = eol;
        while (te > t && is_blank(te[-1]))
            te--;
        *te = '\0';
        int rc = unescape(t, file, line, table[k].key, diag);
        if (rc)
            return rc;
        rc = check_template(file, line, &table[k], t, diag);
        if (rc)
            return rc;
        text[k] = t;
        p = next;
    }
    return 0;
}

/* Reads the whole regular file at path into a new NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *out_len, struct dbot_diag *diag)
{
    int e = 0;
    int rc = file_read_all(path, MESSAGES_FILE_MAX, FILE_REGULAR, out, out_len, &e);
    switch (rc) {
    case 0: return 0;
    case DBOT_ERR_NOTFOUND:
        return dbot_diag_set(diag, DBOT_ERR_IO, "%s: cannot open: %s", path, strerror(ENOENT));
    case DBOT_ERR_TOOBIG:
        return dbot_diag_set(diag, rc, "%s: larger than %d bytes", path, MESSAGES_FILE_MAX);
    case DBOT_ERR_NOMEM: return dbot_diag_set(diag, rc, "%s: out of memory", path);
    default:
        if (e == 0)
            return dbot_diag_set(diag, DBOT_ERR_IO, "%s: not a regular file", path);
        return dbot_diag_set(diag, DBOT_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    }
}

/* ------------------------------------------------------------------------------------------
 * The set
 */

int messages_load(const char *dir, struct messages **out, struct dbot_diag *diag)
{
    dbot_diag_clear(diag);
    if (!dir || !*dir)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "no messages directory given");

    struct messages *m = xmalloc(sizeof *m);
    if (!m)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "%s: out of memory", dir);
    memset(m, 0, sizeof *m);

    int rc = 0;
    for (int l = 0; l < N_LANGS; l++) {
        char path[PATH_MAX_MSG];
        int n = snprintf(path, sizeof path, "%s/%s.msg", dir, lang_names[l]);
        if (n < 0 || (size_t)n >= sizeof path) {
            rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "messages directory name too long");
            goto out;
        }
        size_t len = 0;
        rc = read_file(path, &m->buf[l], &len, diag);
        if (rc)
            goto out;
        rc = parse(m->buf[l], len, path, m->text[l], diag);
        if (rc)
            goto out;
    }
    *out = m;
    m = NULL;
out:
    messages_free(m);
    return rc;
}

void messages_free(struct messages *m)
{
    if (!m)
        return;
    for (int l = 0; l < N_LANGS; l++)
        free(m->buf[l]);
    free(m);
}

const char *messages_get(const struct messages *m, const char *lang, const char *key)
{
    if (!m || !key)
        return NULL;
    int k = key_index(key, strlen(key));
    if (k < 0)
        return NULL;
    int l = lang_index(lang);
    return m->text[l][k] ? m->text[l][k] : m->text[1 - l][k];
}

size_t messages_missing(const struct messages *m,
                        void (*fn)(const char *lang, const char *key, void *arg), void *arg)
{
    size_t n = 0;
    if (!m)
        return 0;
    for (int l = 0; l < N_LANGS; l++) {
        for (size_t k = 0; k < N_KEYS; k++) {
            if (m->text[l][k])
                continue;
            n++;
            if (fn)
                fn(lang_names[l], table[k].key, arg);
        }
    }
    return n;
}

/* ------------------------------------------------------------------------------------------
 * Rendering
 */

static const struct msg_var *find_var(const struct msg_var *vars, size_t n, const char *name,
                                      size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (vars[i].name && strlen(vars[i].name) == len && !memcmp(vars[i].name, name, len))
            return &vars[i];
    return NULL;
}

/* Appends s[0..len) at *o when out is not NULL; counts it either way. False on overflow. */
static bool emit(char *out, size_t *o, const char *s, size_t len)
{
    if (len > SIZE_MAX - 1 - *o)
        return false;
    if (out)
        memcpy(out + *o, s, len);
    *o += len;
    return true;
}

/*
 * Expands t into out (NULL: only measure). Run twice, once to size the result exactly and
 * once to fill it, so the output needs no growable buffer. Returns false when the size would
 * not fit a size_t.
 */
static bool expand(const char *t, const struct msg_var *vars, size_t n, char *out, size_t *len)
{
    size_t o = 0;
    size_t i = 0;
    while (t[i]) {
        /* The run of ordinary bytes up to the next brace, in one copy. */
        size_t run = strcspn(t + i, "{}");
        if (run) {
            if (!emit(out, &o, t + i, run))
                return false;
            i += run;
            continue;
        }
        char c = t[i];
        if (t[i + 1] == c) { /* "{{" or "}}" */
            if (!emit(out, &o, t + i, 1))
                return false;
            i += 2;
            continue;
        }
        long nl = c == '{' ? placeholder_at(t + i) : -1;
        if (nl >= 0) {
            const struct msg_var *v = find_var(vars, n, t + i + 1, (size_t)nl);
            bool ok = v ? emit(out, &o, v->value ? v->value : "", v->value ? strlen(v->value) : 0)
                        : emit(out, &o, t + i, (size_t)nl + 2);
            if (!ok)
                return false;
            i += (size_t)nl + 2;
            continue;
        }
        if (!emit(out, &o, t + i, 1)) /* a stray brace, as it is */
            return false;
        i++;
    }
    if (out)
        out[o] = '\0';
    *len = o;
    return true;
}

char *messages_render(const char *tmpl, const struct msg_var *vars, size_t n)
{
    if (!tmpl)
        tmpl = "";
    if (!vars)
        n = 0;
    size_t len = 0;
    if (!expand(tmpl, vars, n, NULL, &len))
        return NULL;
    char *out = xmalloc(len + 1);
    if (!out)
        return NULL;
    expand(tmpl, vars, n, out, &len);
    return out;
}

char *messages_format(const struct messages *m, const char *lang, const char *key,
                      const struct msg_var *vars, size_t n)
{
    const char *t = messages_get(m, lang, key);
    if (t)
        return messages_render(t, vars, n);

    const char *k = key ? key : "?";
    size_t kl = strlen(k);
    char *out = xmalloc(kl + 3);
    if (!out)
        return NULL;
    out[0] = '[';
    memcpy(out + 1, k, kl);
    out[kl + 1] = ']';
    out[kl + 2] = '\0';
    return out;
}
