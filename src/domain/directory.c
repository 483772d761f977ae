/*
 * directory.c — validation of one dealer or person row, as typed into a spreadsheet or sent
 * to the API. Pure: no I/O, no clock, any thread.
 *
 * Every field is trimmed of surrounding spaces and tabs first (a trailing space in an Excel
 * cell is invisible and should not make a dealer code unknown). What remains must be valid
 * UTF-8 on one line; names are limited in code points, codes and JIDs by their shape. The
 * result holds heap copies; *out is written only on success.
 */
#include "dealerbot/directory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/jid.h"
#include "dealerbot/lang.h"
#include "dealerbot/sla.h"
#include "dealerbot/utf8.h"

#define NAME_MAX_CP 128
#define REGION_MAX_CP 64
#define TIMEZONE_MAX 64
#define SALES_VOLUME_MAX 1000000000LL
#define CALENDAR_MAX (sizeof(((struct calendar *)0)->name) - 1) /* 31 */

void dealer_cleanup(struct dealer *d)
{
    if (!d)
        return;
    free(d->code);
    free(d->name);
    free(d->region);
    free(d->timezone);
    free(d->calendar);
    d->code = d->name = d->region = d->timezone = d->calendar = NULL;
    d->sales_volume = -1;
}

void person_cleanup(struct person *p)
{
    if (!p)
        return;
    free(p->jid);
    free(p->dealer);
    free(p->name);
    free(p->language);
    p->jid = p->dealer = p->name = p->language = NULL;
}

static const char *const role_names[] = {
    [ROLE_AGENT] = "agent",
    [ROLE_MANAGER] = "manager",
    [ROLE_SUPERVISOR] = "supervisor",
    [ROLE_ADMIN] = "admin",
};

#define N_ROLES (sizeof role_names / sizeof role_names[0])

int person_role_parse(const char *s, enum person_role *out)
{
    if (!s)
        return DBOT_ERR_INVALID;
    for (size_t i = 0; i < N_ROLES; i++) {
        if (strcasecmp(s, role_names[i]) == 0) {
            *out = (enum person_role)i;
            return 0;
        }
    }
    return DBOT_ERR_INVALID;
}

const char *person_role_name(enum person_role r)
{
    if ((unsigned)r < N_ROLES)
        return role_names[r];
    return "unknown";
}

/* A trimmed view of a field: s[0..len), not NUL-terminated. */
struct span {
    const char *s;
    size_t len;
};

static struct span trim(const char *s)
{
    struct span v = {s ? s : "", 0};
    v.len = strlen(v.s);
    while (v.len && (v.s[0] == ' ' || v.s[0] == '\t')) {
        v.s++;
        v.len--;
    }
    while (v.len && (v.s[v.len - 1] == ' ' || v.s[v.len - 1] == '\t'))
        v.len--;
    return v;
}

static bool span_eq_nocase(struct span v, const char *lit)
{
    return strlen(lit) == v.len && strncasecmp(v.s, lit, v.len) == 0;
}

/* Returns a NUL-terminated heap copy of v, or NULL when out of memory. */
static char *span_dup(struct span v)
{
    char *p = malloc(v.len + 1);
    if (!p)
        return NULL;
    memcpy(p, v.s, v.len);
    p[v.len] = '\0';
    return p;
}

static bool has_control(struct span v)
{
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

/* Checks free text (a name, a region): valid UTF-8, one line, at most max_cp code points, and
 * non-empty when required. */
static int check_text(const char *field, struct span v, size_t max_cp, bool required,
                      struct dbot_diag *diag)
{
    if (!utf8_valid(v.s, v.len))
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s: not valid UTF-8", field);
    if (required && v.len == 0)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s: must not be empty", field);
    if (has_control(v))
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "%s: must be one line without control characters", field);
    if (utf8_count(v.s, v.len) > max_cp)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s: longer than %zu characters", field,
                             max_cp);
    return 0;
}

static bool is_code_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static bool code_ok(struct span v)
{
    if (v.len < 1 || v.len > DEALER_CODE_MAX)
        return false;
    for (size_t i = 0; i < v.len; i++)
        if (!is_code_char(v.s[i]))
            return false;
    return true;
}

/* An IANA zone name such as "Asia/Shanghai", "America/Argentina/Buenos_Aires", "UTC" or
 * "Etc/GMT+8": components of [A-Za-z0-9_+-] separated by single slashes, none of them "." or
 * "..", not starting with '-'. The shape alone also keeps the importer's zoneinfo lookup inside
 * its directory. */
static bool timezone_ok(struct span v)
{
    if (v.len < 1 || v.len > TIMEZONE_MAX)
        return false;
    size_t comp = 0;
    for (size_t i = 0; i <= v.len; i++) {
        char c = i < v.len ? v.s[i] : '/';
        if (c == '/') {
            if (comp == 0)
                return false;
            comp = 0;
            continue;
        }
        if (comp == 0 && (c == '-' || c == '+'))
            return false;
        if (!is_code_char(c) && c != '+')
            return false;
        comp++;
    }
    return true;
}

/* A calendar name as the config allows it: 1-31 of a-z 0-9 _ -. */
static bool calendar_ok(struct span v)
{
    if (v.len < 1 || v.len > CALENDAR_MAX)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Parses a non-negative decimal with nothing else around it. */
static bool parse_volume(struct span v, int64_t *out)
{
    if (v.len == 0 || v.len > 18)
        return false;
    int64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.s[i] < '0' || v.s[i] > '9')
            return false;
        n = n * 10 + (v.s[i] - '0');
    }
    if (n > SALES_VOLUME_MAX)
        return false;
    *out = n;
    return true;
}

int dealer_from_fields(const char *code, const char *name, const char *region,
                       const char *sales_volume, const char *timezone, const char *calendar,
                       struct dealer *out, struct dbot_diag *diag)
{
    struct span c = trim(code), n = trim(name), rg = trim(region), sv = trim(sales_volume),
                tz = trim(timezone), cal = trim(calendar);
    struct dealer d = {.sales_volume = -1};
    int rc;

    if (!code_ok(c))
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "code: must be 1-%d of A-Z a-z 0-9 _ -",
                             DEALER_CODE_MAX);
    if (span_eq_nocase(c, "brand"))
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "code: brand is reserved for brand staff");
    if ((rc = check_text("name", n, NAME_MAX_CP, true, diag)))
        return rc;
    if ((rc = check_text("region", rg, REGION_MAX_CP, false, diag)))
        return rc;
    if (sv.len && !parse_volume(sv, &d.sales_volume))
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "sales_volume: must be a whole number from 0 to %lld, or empty",
                             SALES_VOLUME_MAX);
    if (tz.len && !timezone_ok(tz))
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "timezone: must be an IANA zone name like Asia/Shanghai, or empty");
    if (cal.len && !calendar_ok(cal))
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "calendar: must be a calendar name (1-%zu of a-z 0-9 _ -), or empty",
                             CALENDAR_MAX);

    d.code = span_dup(c);
    d.name = span_dup(n);
    d.region = span_dup(rg);
    d.timezone = tz.len ? span_dup(tz) : NULL;
    d.calendar = cal.len ? span_dup(cal) : NULL;
    if (!d.code || !d.name || !d.region || (tz.len && !d.timezone) || (cal.len && !d.calendar)) {
        dealer_cleanup(&d);
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    }
    *out = d;
    return 0;
}

/* A platform user id (DingTalk's userid): 1..128 bytes of printable ASCII without spaces,
 * quotes, '<', '>', '&', '@' or '/'. */
static bool chat_id_ok(struct span v)
{
    if (v.len == 0 || v.len > 128)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char)v.s[i];
        if (ch <= 0x20 || ch >= 0x7f || strchr("\"'<>&@/\\", ch))
            return false;
    }
    return true;
}

static int person_from(bool jid_form, const char *jid, const char *dealer, const char *role,
                       const char *name, const char *language, struct person *out,
                       struct dbot_diag *diag);

int person_from_fields(const char *jid, const char *dealer, const char *role, const char *name,
                       const char *language, struct person *out, struct dbot_diag *diag)
{
    return person_from(true, jid, dealer, role, name, language, out, diag);
}

int person_from_fields_chat_id(const char *chat_id, const char *dealer, const char *role,
                               const char *name, const char *language, struct person *out,
                               struct dbot_diag *diag)
{
    return person_from(false, chat_id, dealer, role, name, language, out, diag);
}

static int person_from(bool jid_form, const char *jid, const char *dealer, const char *role,
                       const char *name, const char *language, struct person *out,
                       struct dbot_diag *diag)
{
    struct span j = trim(jid), dl = trim(dealer), rl = trim(role), n = trim(name),
                lg = trim(language);
    struct person p = {.role = ROLE_AGENT};
    bool brand;
    int rc;

    if (jid_form && (!utf8_valid(j.s, j.len) || !jid_bare_valid(j.s, j.len)))
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "jid: must look like name@domain");
    if (!jid_form && !chat_id_ok(j))
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "chat_id: must be 1-128 characters of printable ASCII without "
                             "spaces, quotes, < > & @ /");

    brand = span_eq_nocase(dl, "brand");
    if (!brand && !code_ok(dl))
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "dealer: must be a dealer code (1-%d of A-Z a-z 0-9 _ -) or brand",
                             DEALER_CODE_MAX);

    /* Longest role name is 10 bytes; anything longer is not a role. */
    char rbuf[16];
    bool role_ok = false;
    if (rl.len < sizeof rbuf) {
        memcpy(rbuf, rl.s, rl.len);
        rbuf[rl.len] = '\0';
        role_ok = person_role_parse(rbuf, &p.role) == 0;
    }
    if (brand) {
        if (!role_ok || p.role == ROLE_MANAGER)
            return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                 "role: must be agent, supervisor or admin for brand staff");
    } else if (!role_ok || (p.role != ROLE_AGENT && p.role != ROLE_MANAGER)) {
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "role: must be agent or manager for a dealer");
    }

    if ((rc = check_text("name", n, NAME_MAX_CP, true, diag)))
        return rc;

    const char *lang = lg.len == 0 ? lang_names[0] : lang_find(lg.s, lg.len);
    if (!lang)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "language: must be zh-CN or en");

    /* the JID as servers compare it (Unicode case fold, nodeprep/nameprep) */
    char folded[2 * JID_PART_MAX + 2];
    if (jid_fold(j.s, j.len, folded, sizeof folded) != 0)
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "jid: not a valid JID (nodeprep/nameprep refuse it)");
    p.jid = strdup(folded);
    p.dealer = brand ? NULL : span_dup(dl);
    p.name = span_dup(n);
    p.language = strdup(lang);
    if (!p.jid || (!brand && !p.dealer) || !p.name || !p.language) {
        person_cleanup(&p);
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    }
    *out = p;
    return 0;
}

char *dealer_room_name(const char *code, char *buf, size_t len)
{
    size_t n = 0;
    const char *prefix = "dealer-";
    for (const char *p = prefix; *p && n + 1 < len; p++)
        buf[n++] = *p;
    for (const char *p = code; *p && n + 1 < len; p++) {
        char c = *p;
        buf[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (len)
        buf[n] = '\0';
    return buf;
}

void penalty_rule_cleanup(struct penalty_rule *r)
{
    if (!r)
        return;
    free(r->code);
    free(r->violation);
    free(r->standard);
    free(r->how_to_avoid);
    memset(r, 0, sizeof *r);
}

/* Copies a field of at most `max_cps` code points (trimmed); NULL on OOM. */
static int rule_text(const char *name, const char *v, size_t min_cps, size_t max_cps,
                     char **out, struct dbot_diag *diag)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (!utf8_valid(v, n))
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s: not valid UTF-8", name);
    size_t cps = utf8_count(v, n);
    if (cps < min_cps)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s: must not be empty", name);
    if (cps > max_cps)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s: longer than %zu characters", name,
                             max_cps);
    *out = strndup(v, n);
    return *out ? 0 : DBOT_ERR_NOMEM;
}

int penalty_rule_from_fields(const char *code, const char *violation, const char *points,
                             const char *standard, const char *how_to_avoid,
                             struct penalty_rule *out, struct dbot_diag *diag)
{
    struct penalty_rule r = {0};
    size_t len = strlen(code);
    if (len == 0 || len > PENALTY_CODE_MAX ||
        strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != len)
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "code: must be 1-%d of A-Z a-z 0-9 _ . -", PENALTY_CODE_MAX);
    char *end = NULL;
    errno = 0;
    long p = strtol(points, &end, 10);
    if (!points[0] || *end || errno || p < 0 || p > PENALTY_POINTS_MAX)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "points: must be a whole number 0..%d",
                             PENALTY_POINTS_MAX);
    r.points = (int)p;
    int rc = (r.code = strdup(code)) ? 0 : DBOT_ERR_NOMEM;
    if (rc == 0)
        rc = rule_text("violation", violation, 1, 200, &r.violation, diag);
    if (rc == 0)
        rc = rule_text("standard", standard, 0, 2000, &r.standard, diag);
    if (rc == 0)
        rc = rule_text("how_to_avoid", how_to_avoid, 0, 2000, &r.how_to_avoid, diag);
    if (rc) {
        penalty_rule_cleanup(&r);
        return rc;
    }
    *out = r;
    return 0;
}
