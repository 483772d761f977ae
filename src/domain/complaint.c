/*
 * complaint.c — pure helpers for complaints: enum names, ids, deadlines, and the validation
 * of an intake JSON body into a struct intake.
 *
 * The intake parser is the trust boundary for everything a CRM sends: it is fuzzed
 * (tests/fuzz/fuzz_intake.c) and must answer every input with either a complete, valid
 * struct intake or one line that says what is wrong.
 */
#include "dealerbot/complaint.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"

static const char *const priority_names[] = {"normal", "urgent", "vip"};
static const char *const policy_names[] = {"default", "urgent", "vip"};
static const char *const state_names[] = {
    "new", "notified", "acknowledged", "solution_agreed", "report_submitted", "closed",
    "cancelled",
};

int priority_parse(const char *s, enum priority *out)
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, priority_names[i]) == 0) {
            *out = (enum priority)i;
            return 0;
        }
    }
    return DBOT_ERR_INVALID;
}

const char *priority_name(enum priority p)
{
    return (unsigned)p < 3 ? priority_names[p] : "normal";
}

const char *priority_policy_name(enum priority p)
{
    return (unsigned)p < 3 ? policy_names[p] : "default";
}

int complaint_state_parse(const char *s, enum complaint_state *out)
{
    for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            *out = (enum complaint_state)i;
            return 0;
        }
    }
    return DBOT_ERR_INVALID;
}

const char *complaint_state_name(enum complaint_state s)
{
    return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "new";
}

int complaint_id_parse(const char *s, int64_t *out)
{
    if ((s[0] != 'C' && s[0] != 'c') || s[1] != '-' || !isdigit((unsigned char)s[2]))
        return DBOT_ERR_INVALID;
    int64_t v = 0;
    for (const char *p = s + 2; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return DBOT_ERR_INVALID;
        if (v > (INT64_MAX - 9) / 10)
            return DBOT_ERR_INVALID;
        v = v * 10 + (*p - '0');
    }
    if (v == 0)
        return DBOT_ERR_INVALID;
    *out = v;
    return 0;
}

char *complaint_id_format(int64_t id, char *buf, size_t len)
{
    snprintf(buf, len, "C-%" PRId64, id);
    return buf;
}

void deadlines_compute(const struct sla_policy *policy, int64_t received_at, struct deadlines *out)
{
    out->ack_due = received_at + policy->ack_s;
    out->solution_due = received_at + policy->solution_s;
    out->close_due = received_at + policy->close_s;
}

void intake_cleanup(struct intake *in)
{
    if (!in)
        return;
    free(in->external_id);
    free(in->dealer);
    free(in->category);
    free(in->customer_name);
    free(in->customer_phone);
    free(in->summary);
    free(in->details);
    memset(in, 0, sizeof *in);
}

void complaint_cleanup(struct complaint *c)
{
    if (!c)
        return;
    free(c->external_id);
    free(c->dealer);
    free(c->category);
    free(c->policy);
    free(c->customer_name);
    free(c->customer_phone);
    free(c->summary);
    free(c->details);
    free(c->owner);
    free(c->eta);
    free(c->solution);
    free(c->cause);
    free(c->fix);
    free(c->prevent);
    free(c->satisfaction_comment);
    memset(c, 0, sizeof *c);
}

/* How one string field is checked. */
struct field_rule {
    const char *name;     /* as named in messages: "customer.phone" */
    bool required;
    bool multiline;       /* may contain newlines and tabs */
    size_t max_chars;
};

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int check_text(const char *s, size_t len, const struct field_rule *rule, char **out,
                      struct dbot_diag *diag);

/* Takes the string field `key` of `obj` under `rule` into *out (a trimmed heap copy, or NULL
 * when absent and optional). Returns 0 or DBOT_ERR_INVALID / DBOT_ERR_NOMEM with diag. */
static int take_string(json_t *obj, const char *key, const struct field_rule *rule, char **out,
                       struct dbot_diag *diag)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (rule->required)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "missing field: %s", rule->name);
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "field %s: must be a string", rule->name);
    return check_text(json_string_value(v), json_string_length(v), rule, out, diag);
}

/* Checks s[0..len) under `rule` into *out (a trimmed heap copy, or NULL when empty and
 * optional). Returns 0 or DBOT_ERR_INVALID / DBOT_ERR_NOMEM with diag. */
static int check_text(const char *s, size_t len, const struct field_rule *rule, char **out,
                      struct dbot_diag *diag)
{
    while (len > 0 && is_space((unsigned char)s[0])) {
        s++;
        len--;
    }
    while (len > 0 && is_space((unsigned char)s[len - 1]))
        len--;
    if (len == 0) {
        if (rule->required)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "missing field: %s (empty)", rule->name);
        *out = NULL;
        return 0;
    }
    /* jansson guarantees UTF-8 without NUL; checked here for the command line's values. */
    if (!utf8_valid(s, len))
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "field %s: not valid UTF-8", rule->name);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool allowed = rule->multiline && (c == '\n' || c == '\t' || c == '\r');
        if ((c < 0x20 || c == 0x7f) && !allowed)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "field %s: contains control characters",
                                 rule->name);
    }
    if (utf8_count(s, len) > rule->max_chars)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "field %s: longer than %zu characters",
                             rule->name, rule->max_chars);
    char *copy = malloc(len + 1);
    if (!copy)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    memcpy(copy, s, len);
    copy[len] = '\0';
    *out = copy;
    return 0;
}

static const struct field_rule rule_external_id = {"external_id", true, false,
                                                   INTAKE_EXTERNAL_ID_MAX};
static const struct field_rule rule_dealer = {"dealer", true, false, INTAKE_DEALER_MAX};
static const struct field_rule rule_category = {"category", true, false, INTAKE_CATEGORY_MAX};
static const struct field_rule rule_priority = {"priority", false, false, 16};
static const struct field_rule rule_name = {"customer.name", true, false, INTAKE_NAME_MAX};
static const struct field_rule rule_phone = {"customer.phone", true, false, INTAKE_PHONE_MAX};
static const struct field_rule rule_summary = {"summary", true, true, INTAKE_SUMMARY_MAX};
static const struct field_rule rule_details = {"details", false, true, INTAKE_DETAILS_MAX};
static const struct field_rule rule_received = {"received_at", false, false, 64};

int intake_set_text(struct intake *in, const char *field, const char *value,
                    struct dbot_diag *diag)
{
    static const struct {
        const struct field_rule *rule;
        size_t off;
    } fields[] = {
        {&rule_external_id, offsetof(struct intake, external_id)},
        {&rule_dealer, offsetof(struct intake, dealer)},
        {&rule_category, offsetof(struct intake, category)},
        {&rule_name, offsetof(struct intake, customer_name)},
        {&rule_phone, offsetof(struct intake, customer_phone)},
        {&rule_summary, offsetof(struct intake, summary)},
        {&rule_details, offsetof(struct intake, details)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const struct field_rule *rule = fields[i].rule;
        if (strcmp(rule->name, field) != 0)
            continue;
        char *copy = NULL;
        int err = check_text(value, strlen(value), rule, &copy, diag);
        if (err)
            return err;
        char **slot = (char **)((char *)in + fields[i].off);
        free(*slot);
        *slot = copy;
        return 0;
    }
    return dbot_diag_set(diag, DBOT_ERR_INVALID, "unknown field: %s", field);
}

int intake_parse_json(const char *body, size_t len, struct intake *out, enum intake_fault *fault,
                      struct dbot_diag *diag)
{
    struct intake in = {0};
    json_t *root = NULL;
    char *priority = NULL, *received = NULL;
    int err = DBOT_ERR_INVALID;
    *fault = INTAKE_FAULT_SYNTAX;

    if (!utf8_valid(body, len)) {
        dbot_diag_set(diag, err, "body is not valid UTF-8");
        goto out;
    }
    json_error_t jerr;
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        dbot_diag_set(diag, err, "malformed JSON at line %d, column %d: %s", jerr.line,
                      jerr.column, jerr.text);
        goto out;
    }
    *fault = INTAKE_FAULT_FIELD;
    if (!json_is_object(root)) {
        dbot_diag_set(diag, err, "body must be a JSON object");
        goto out;
    }
    if ((err = take_string(root, "external_id", &rule_external_id, &in.external_id, diag)) ||
        (err = take_string(root, "dealer", &rule_dealer, &in.dealer, diag)) ||
        (err = take_string(root, "category", &rule_category, &in.category, diag)) ||
        (err = take_string(root, "priority", &rule_priority, &priority, diag)))
        goto out;
    err = DBOT_ERR_INVALID;
    if (priority && priority_parse(priority, &in.priority) != 0) {
        dbot_diag_set(diag, err, "field priority: must be one of normal, urgent, vip");
        goto out;
    }
    json_t *customer = json_object_get(root, "customer");
    if (!customer || json_is_null(customer)) {
        dbot_diag_set(diag, err, "missing field: customer");
        goto out;
    }
    if (!json_is_object(customer)) {
        dbot_diag_set(diag, err, "field customer: must be an object with name and phone");
        goto out;
    }
    if ((err = take_string(customer, "name", &rule_name, &in.customer_name, diag)) ||
        (err = take_string(customer, "phone", &rule_phone, &in.customer_phone, diag)) ||
        (err = take_string(root, "summary", &rule_summary, &in.summary, diag)) ||
        (err = take_string(root, "details", &rule_details, &in.details, diag)) ||
        (err = take_string(root, "received_at", &rule_received, &received, diag)))
        goto out;
    err = DBOT_ERR_INVALID;
    if (received && rfc3339_parse(received, &in.received_at) != 0) {
        dbot_diag_set(diag, err, "field received_at: must be an RFC 3339 time like "
                                 "2026-11-23T14:30:00+08:00");
        goto out;
    }
    err = 0;
    *fault = INTAKE_FAULT_NONE;
    *out = in;
    memset(&in, 0, sizeof in);
out:
    if (err && err != DBOT_ERR_INVALID)
        *fault = INTAKE_FAULT_FIELD;
    json_decref(root);
    free(priority);
    free(received);
    intake_cleanup(&in);
    return err;
}
