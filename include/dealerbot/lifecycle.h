/*
 * lifecycle.h — the complaint state machine and who may move it. Pure: no I/O, no clock, no
 * state of its own; any thread.
 *
 * The whole decision lives in one const table in src/domain/lifecycle.c (state x action ->
 * new state, who may). Callers describe the sender as a struct actor (built from the
 * directory and the ticket's dealer), ask lifecycle_decide(), and on a refusal turn the
 * lc_refusal (and, for LC_REFUSE_STATE, the lifecycle_state_hint() key) into a one-line
 * reply. This module never looks anything up and never renders text.
 *
 *   action   from                         to                who
 *   NOTIFY   new                          notified          system
 *   ACK      new, notified                acknowledged      the ticket's dealer: agent, manager
 *   PLAN     acknowledged                 solution_agreed   the ticket's dealer: agent, manager
 *   SUBMIT   solution_agreed              report_submitted  the ticket's dealer: agent, manager
 *   APPROVE  report_submitted             closed            brand supervisor, admin
 *   REJECT   report_submitted             solution_agreed   brand supervisor, admin
 *   REOPEN   closed                       acknowledged      brand agent, supervisor, admin; system
 *   CANCEL   any open state               cancelled         brand admin
 *   VIEW     any state                    (unchanged)       the ticket's dealer; brand staff
 */
#ifndef DEALERBOT_LIFECYCLE_H
#define DEALERBOT_LIFECYCLE_H

#include <stdbool.h>

#include "dealerbot/complaint.h"
#include "dealerbot/directory.h"

enum lc_action {
    LC_NOTIFY = 0, /* the new-ticket card was confirmed delivered (system) */
    LC_ACK,        /* /ack */
    LC_PLAN,       /* /plan */
    LC_SUBMIT,     /* /close with a complete report */
    LC_APPROVE,    /* /approve */
    LC_REJECT,     /* /reject */
    LC_REOPEN,     /* /reopen, or a dissatisfied return visit (system) */
    LC_CANCEL,     /* cancel a ticket (brand admin) */
    LC_VIEW,       /* /status on one ticket */
};
#define LC_ACTION_COUNT (LC_VIEW + 1)

enum actor_kind {
    ACTOR_SYSTEM = 0, /* the daemon itself: delivery receipts, the return-visit API */
    ACTOR_DEALER,     /* a person with a dealer code in the directory */
    ACTOR_BRAND,      /* brand staff (dealer "brand" in the directory) */
};

/* Who is asking. `role` and `own_dealer` are ignored for ACTOR_SYSTEM; `own_dealer` is
 * ignored for ACTOR_BRAND. A role the directory never gives that kind (a dealer supervisor or
 * admin, a brand manager) may do nothing: every action is refused with LC_REFUSE_ROLE. */
struct actor {
    enum actor_kind kind;
    enum person_role role;
    bool own_dealer; /* ACTOR_DEALER only: the person belongs to the ticket's dealer */
};

enum lc_refusal {
    LC_OK = 0,
    LC_REFUSE_ROLE,         /* this sender's role may never do this */
    LC_REFUSE_OTHER_DEALER, /* a dealer person, on another dealer's ticket */
    LC_REFUSE_STATE,        /* allowed for this sender, but not in the ticket's current state */
};

/* Decides action `a` by `who` (borrowed) on a complaint in state `from`. Returns LC_OK and
 * sets *to (equal to `from` for LC_VIEW), or a refusal and leaves *to untouched.
 * Authorization is checked before state: a sender who may never do `a` gets LC_REFUSE_ROLE or
 * LC_REFUSE_OTHER_DEALER whatever the state, so a refusal never leaks the state to someone
 * who may not see the ticket. LC_REFUSE_OTHER_DEALER is given only when the action is one the
 * ticket's own dealer people may do (ack, plan, submit, view); otherwise a dealer person of
 * another dealer gets LC_REFUSE_ROLE like one of the own dealer would. */
enum lc_refusal lifecycle_decide(enum complaint_state from, enum lc_action a,
                                 const struct actor *who, enum complaint_state *to);

/* "notify", "ack", "plan", "submit", "approve", "reject", "reopen", "cancel", "view"
 * (static; "?" for an out-of-range value). Names of actions, not of chat commands: the
 * command for LC_SUBMIT is /close, for LC_VIEW /status. */
const char *lc_action_name(enum lc_action a);

/* True for every state but closed and cancelled. */
bool complaint_state_open(enum complaint_state s);

/* For a wrong-state refusal: a static key saying why `a` cannot happen in state `from`, which
 * the renderer turns into text. NULL when `a` is allowed in `from` (for someone). Keys:
 *   "closed", "cancelled"  the ticket is closed / cancelled (any refused action there)
 *   "already_notified"     NOTIFY after new
 *   "already_acked"        ACK on acknowledged or later
 *   "need_ack"             PLAN or SUBMIT before acknowledged
 *   "need_plan"            SUBMIT on acknowledged
 *   "already_planned"      PLAN on solution_agreed or report_submitted
 *   "already_submitted"    SUBMIT on report_submitted
 *   "no_report"            APPROVE or REJECT before report_submitted
 *   "not_closed"           REOPEN on an open ticket */
const char *lifecycle_state_hint(enum complaint_state from, enum lc_action a);

#endif
