/*
 * lifecycle.c — the complaint state machine as data.
 *
 * Everything lifecycle_decide() knows is in transitions[]: for each action, the states it may
 * start from, the state it leads to and who may do it. "Who may do an action" is the union of
 * the `who` masks of that action's rows, independent of the state; that is what makes the
 * authorization check come first and answer the same whatever the state. To change the rules,
 * change a row; the exhaustive test in tests/unit/test_lifecycle.c states the rules a second
 * time, independently, and will say which cell moved.
 *
 * hints[] only explains refusals after the fact; it is not consulted by the decision.
 */
#include "dealerbot/lifecycle.h"

#include <assert.h>
#include <stddef.h>

#define STATE_COUNT (STATE_CANCELLED + 1)

/* Actor classes as bits. WHO_OTHER_DEALER is never granted by any row: it exists so that a
 * dealer person of another dealer can be told apart from a role that may never act. */
enum {
    WHO_SYSTEM = 1u << 0,
    WHO_DEALER = 1u << 1, /* agent or manager of the ticket's own dealer */
    WHO_OTHER_DEALER = 1u << 2,
    WHO_BRAND_AGENT = 1u << 3,
    WHO_SUPERVISOR = 1u << 4,
    WHO_ADMIN = 1u << 5,
};
#define WHO_STAFF (WHO_BRAND_AGENT | WHO_SUPERVISOR | WHO_ADMIN)

#define FROM(s) (1u << (s))
#define FROM_OPEN                                                                              \
    (FROM(STATE_NEW) | FROM(STATE_NOTIFIED) | FROM(STATE_ACKNOWLEDGED) |                       \
     FROM(STATE_SOLUTION_AGREED) | FROM(STATE_REPORT_SUBMITTED))
#define FROM_ANY (FROM_OPEN | FROM(STATE_CLOSED) | FROM(STATE_CANCELLED))
#define STAY (-1) /* `to` of an action that leaves the state as it is */

struct transition {
    enum lc_action action;
    unsigned from; /* FROM() mask */
    int to;        /* enum complaint_state, or STAY */
    unsigned who;  /* WHO_* mask */
};

static const struct transition transitions[] = {
    {LC_NOTIFY, FROM(STATE_NEW), STATE_NOTIFIED, WHO_SYSTEM},
    {LC_ACK, FROM(STATE_NEW) | FROM(STATE_NOTIFIED), STATE_ACKNOWLEDGED, WHO_DEALER},
    {LC_PLAN, FROM(STATE_ACKNOWLEDGED), STATE_SOLUTION_AGREED, WHO_DEALER},
    {LC_SUBMIT, FROM(STATE_SOLUTION_AGREED), STATE_REPORT_SUBMITTED, WHO_DEALER},
    {LC_APPROVE, FROM(STATE_REPORT_SUBMITTED), STATE_CLOSED, WHO_SUPERVISOR | WHO_ADMIN},
    {LC_REJECT, FROM(STATE_REPORT_SUBMITTED), STATE_SOLUTION_AGREED, WHO_SUPERVISOR | WHO_ADMIN},
    {LC_REOPEN, FROM(STATE_CLOSED), STATE_ACKNOWLEDGED, WHO_STAFF | WHO_SYSTEM},
    {LC_CANCEL, FROM_OPEN, STATE_CANCELLED, WHO_ADMIN},
    {LC_VIEW, FROM_ANY, STAY, WHO_DEALER | WHO_STAFF},
};

/* The class of a dealer person of the ticket's dealer, or of brand staff, by role. A role the
 * directory never gives that kind maps to 0: no row grants it anything. */
static const unsigned role_bits[][ROLE_ADMIN + 1] = {
    [ACTOR_DEALER] = {[ROLE_AGENT] = WHO_DEALER, [ROLE_MANAGER] = WHO_DEALER},
    [ACTOR_BRAND] = {[ROLE_AGENT] = WHO_BRAND_AGENT,
                     [ROLE_SUPERVISOR] = WHO_SUPERVISOR,
                     [ROLE_ADMIN] = WHO_ADMIN},
};

static const char *const action_names[LC_ACTION_COUNT] = {
    [LC_NOTIFY] = "notify", [LC_ACK] = "ack",       [LC_PLAN] = "plan",
    [LC_SUBMIT] = "submit", [LC_APPROVE] = "approve", [LC_REJECT] = "reject",
    [LC_REOPEN] = "reopen", [LC_CANCEL] = "cancel",   [LC_VIEW] = "view",
};

/* Why an action is refused in a state; NULL where transitions[] allows it. Columns: new,
 * notified, acknowledged, solution_agreed, report_submitted, closed, cancelled. */
#define NA_ "already_notified"
#define AA_ "already_acked"
#define NR_ "no_report"
static const char *const hints[LC_ACTION_COUNT][STATE_COUNT] = {
    [LC_NOTIFY] = {NULL, NA_, NA_, NA_, NA_, "closed", "cancelled"},
    [LC_ACK] = {NULL, NULL, AA_, AA_, AA_, "closed", "cancelled"},
    [LC_PLAN] = {"need_ack", "need_ack", NULL, "already_planned", "already_planned", "closed",
                 "cancelled"},
    [LC_SUBMIT] = {"need_ack", "need_ack", "need_plan", NULL, "already_submitted", "closed",
                   "cancelled"},
    [LC_APPROVE] = {NR_, NR_, NR_, NR_, NULL, "closed", "cancelled"},
    [LC_REJECT] = {NR_, NR_, NR_, NR_, NULL, "closed", "cancelled"},
    [LC_REOPEN] = {"not_closed", "not_closed", "not_closed", "not_closed", "not_closed", NULL,
                   "cancelled"},
    [LC_CANCEL] = {NULL, NULL, NULL, NULL, NULL, "closed", "cancelled"},
    [LC_VIEW] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};
#undef NA_
#undef AA_
#undef NR_

static unsigned actor_class(const struct actor *who)
{
    if (who->kind == ACTOR_SYSTEM)
        return WHO_SYSTEM;
    if ((who->kind != ACTOR_DEALER && who->kind != ACTOR_BRAND) ||
        (unsigned)who->role > ROLE_ADMIN)
        return 0;
    unsigned bit = role_bits[who->kind][who->role];
    if (bit == WHO_DEALER && !who->own_dealer)
        return WHO_OTHER_DEALER;
    return bit;
}

enum lc_refusal lifecycle_decide(enum complaint_state from, enum lc_action a,
                                 const struct actor *who, enum complaint_state *to)
{
    assert((unsigned)from < STATE_COUNT);
    assert((unsigned)a < LC_ACTION_COUNT);
    unsigned me = actor_class(who);
    unsigned may = 0;                   /* everyone who may ever do `a` */
    const struct transition *hit = NULL; /* the row that lets `me` do `a` from `from` */
    for (size_t i = 0; i < sizeof transitions / sizeof transitions[0]; i++) {
        const struct transition *t = &transitions[i];
        if (t->action != a)
            continue;
        may |= t->who;
        if ((unsigned)from < STATE_COUNT && (t->from & FROM(from)) && (t->who & me))
            hit = t;
    }
    if (!(may & me))
        return me == WHO_OTHER_DEALER && (may & WHO_DEALER) ? LC_REFUSE_OTHER_DEALER
                                                            : LC_REFUSE_ROLE;
    if (!hit)
        return LC_REFUSE_STATE;
    *to = hit->to == STAY ? from : (enum complaint_state)hit->to;
    return LC_OK;
}

const char *lc_action_name(enum lc_action a)
{
    return (unsigned)a < LC_ACTION_COUNT ? action_names[a] : "?";
}

bool complaint_state_open(enum complaint_state s)
{
    return (unsigned)s < STATE_COUNT && (FROM_OPEN & FROM(s));
}

const char *lifecycle_state_hint(enum complaint_state from, enum lc_action a)
{
    if ((unsigned)from >= STATE_COUNT || (unsigned)a >= LC_ACTION_COUNT)
        return NULL;
    return hints[a][from];
}
