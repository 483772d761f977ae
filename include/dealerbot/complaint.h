/*
 * complaint.h — the complaint as the domain sees it, and the pure parts of intake:
 * validating an intake JSON body into a struct intake, and computing the three deadlines
 * from an SLA policy. No I/O, no clock reads: `now` is a parameter. Any thread.
 *
 * Ownership: struct intake holds heap strings owned by it; intake_cleanup() frees them.
 * struct complaint likewise (complaint_cleanup()).
 */
#ifndef DEALERBOT_COMPLAINT_H
#define DEALERBOT_COMPLAINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dealerbot/config.h"
#include "dealerbot/error.h"

/* Field length limits (code points) enforced at intake. */
#define INTAKE_EXTERNAL_ID_MAX 128
#define INTAKE_DEALER_MAX 64
#define INTAKE_CATEGORY_MAX 64
#define INTAKE_NAME_MAX 128
#define INTAKE_PHONE_MAX 32
#define INTAKE_SUMMARY_MAX 500
#define INTAKE_DETAILS_MAX 20000

enum priority { PRIORITY_NORMAL = 0, PRIORITY_URGENT, PRIORITY_VIP };

enum complaint_state {
    STATE_NEW = 0,
    STATE_NOTIFIED,
    STATE_ACKNOWLEDGED,
    STATE_SOLUTION_AGREED,
    STATE_REPORT_SUBMITTED,
    STATE_CLOSED,
    STATE_CANCELLED,
};

/* "normal" | "urgent" | "vip" <-> enum; parse returns 0 or DBOT_ERR_INVALID. */
int priority_parse(const char *s, enum priority *out);
const char *priority_name(enum priority p);
/* The SLA policy name a priority uses: "default", "urgent", "vip". */
const char *priority_policy_name(enum priority p);

int complaint_state_parse(const char *s, enum complaint_state *out);
const char *complaint_state_name(enum complaint_state s);

/* A validated intake request. */
struct intake {
    char *external_id;     /* required for the API, optional (NULL) from the CLI */
    char *dealer;          /* dealer code as given */
    char *category;
    enum priority priority;
    char *customer_name;
    char *customer_phone;
    char *summary;
    char *details;         /* optional, NULL */
    int64_t received_at;   /* Unix seconds; 0 when not given (the caller fills `now`) */
};

/* The outcome class of a failed intake validation, so the HTTP layer can choose 400 or 422. */
enum intake_fault {
    INTAKE_FAULT_NONE = 0,
    INTAKE_FAULT_SYNTAX,   /* malformed JSON or invalid UTF-8: HTTP 400 */
    INTAKE_FAULT_FIELD,    /* missing/ill-typed/invalid field: HTTP 422 */
};

/* Parses and validates an intake body. Pure. On success returns 0 and fills *out (the caller
 * frees with intake_cleanup). On failure returns DBOT_ERR_INVALID, sets *fault, and diag says:
 *   "malformed JSON at line 3, column 14: ..." (SYNTAX)
 *   "body is not valid UTF-8" (SYNTAX)
 *   "missing field: customer.phone" / "field priority: must be one of normal, urgent, vip" /
 *   "field summary: longer than 500 characters" (FIELD)
 * Unknown fields are ignored. Strings are trimmed of surrounding white space; an empty
 * required string counts as missing. */
int intake_parse_json(const char *body, size_t len, struct intake *out, enum intake_fault *fault,
                      struct dbot_diag *diag);

/* Checks and stores one text field of `in`, named as in the JSON body ("dealer",
 * "customer.name", "summary", ...), by the rules intake_parse_json() applies: trimmed, valid
 * UTF-8, the length limit, no control characters (summary and details may have line breaks).
 * Pure. Returns 0 and replaces the field's copy; DBOT_ERR_INVALID (an empty required value,
 * a broken rule, an unknown name; diag says which) or DBOT_ERR_NOMEM, leaving `in` as it was. */
int intake_set_text(struct intake *in, const char *field, const char *value,
                    struct dbot_diag *diag);

void intake_cleanup(struct intake *in);

/* The three absolute deadlines of a complaint. */
struct deadlines {
    int64_t ack_due;
    int64_t solution_due;
    int64_t close_due;
};

/* Deadlines for a complaint received at `received_at` under `policy` (calendar time). Pure. */
void deadlines_compute(const struct sla_policy *policy, int64_t received_at, struct deadlines *out);

/* "C-123" <-> 123. parse accepts "C-123" and "c-123"; returns 0 or DBOT_ERR_INVALID. */
int complaint_id_parse(const char *s, int64_t *out);
char *complaint_id_format(int64_t id, char *buf, size_t len);

/* A stored complaint (what the store returns). */
struct complaint {
    int64_t id;
    char *external_id;     /* NULL when none */
    char *dealer;
    char *category;
    enum priority priority;
    char *policy;
    char *customer_name;
    char *customer_phone;
    char *summary;
    char *details;         /* NULL when none */
    int64_t received_at;
    int64_t created_at;
    int64_t updated_at;
    enum complaint_state state;
    char *owner;           /* JID, NULL until acknowledged */
    struct deadlines due;
    int64_t ack_at;        /* 0 until met */
    int64_t solution_at;
    int64_t closed_at;
    char *eta;             /* "YYYY-MM-DD" given with /ack, NULL when none */
    char *solution;        /* /plan text, NULL until agreed */
    char *cause, *fix, *prevent; /* the closing report, NULL until submitted */
    int64_t report_at;     /* 0 until a report was submitted */
    int reopened;          /* times reopened */
    int rejected;          /* reports rejected */
    int satisfaction;      /* the return visit's score 1..5, 0 when none yet */
    char *satisfaction_comment; /* NULL when none */
    int64_t satisfaction_at;    /* 0 when none */
};

void complaint_cleanup(struct complaint *c);

#endif
