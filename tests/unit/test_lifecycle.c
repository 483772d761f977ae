/*
 * test_lifecycle.c — the complaint state machine: every state x action x kind of sender
 * against the rules written out a second time (expected() below, in plain code, not a copy
 * of the table), then the main path, the reject loop, reopen, cancel, odd actors and hints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dealerbot/lifecycle.h"

#define NSTATES (STATE_CANCELLED + 1)
#define UNTOUCHED ((enum complaint_state)77)

struct who {
    const char *label;
    struct actor a;
};

static const struct who everyone[] = {
    {"system", {ACTOR_SYSTEM, ROLE_AGENT, false}},
    {"own dealer agent", {ACTOR_DEALER, ROLE_AGENT, true}},
    {"own dealer manager", {ACTOR_DEALER, ROLE_MANAGER, true}},
    {"other dealer agent", {ACTOR_DEALER, ROLE_AGENT, false}},
    {"other dealer manager", {ACTOR_DEALER, ROLE_MANAGER, false}},
    {"brand agent", {ACTOR_BRAND, ROLE_AGENT, false}},
    {"brand supervisor", {ACTOR_BRAND, ROLE_SUPERVISOR, false}},
    {"brand admin", {ACTOR_BRAND, ROLE_ADMIN, false}},
};
#define NWHO (sizeof everyone / sizeof everyone[0])

static const struct actor SYSTEM = {ACTOR_SYSTEM, ROLE_AGENT, false};
static const struct actor AGENT = {ACTOR_DEALER, ROLE_AGENT, true};
static const struct actor MANAGER = {ACTOR_DEALER, ROLE_MANAGER, true};
static const struct actor OTHER = {ACTOR_DEALER, ROLE_MANAGER, false};
static const struct actor STAFF = {ACTOR_BRAND, ROLE_AGENT, false};
static const struct actor SUPERVISOR = {ACTOR_BRAND, ROLE_SUPERVISOR, false};
static const struct actor ADMIN = {ACTOR_BRAND, ROLE_ADMIN, false};

/* The rules of the brief, one action at a time. Sets *to only on LC_OK. */
static enum lc_refusal expected(enum complaint_state from, enum lc_action a, const struct actor *w,
                                enum complaint_state *to)
{
    bool system = w->kind == ACTOR_SYSTEM;
    bool own_dealer = w->kind == ACTOR_DEALER && w->own_dealer;
    bool other_dealer = w->kind == ACTOR_DEALER && !w->own_dealer;
    bool staff = w->kind == ACTOR_BRAND;
    bool supervisor_or_admin =
        staff && (w->role == ROLE_SUPERVISOR || w->role == ROLE_ADMIN);
    bool admin = staff && w->role == ROLE_ADMIN;
    bool open = from != STATE_CLOSED && from != STATE_CANCELLED;

    switch (a) {
    case LC_NOTIFY:
        if (!system)
            return LC_REFUSE_ROLE;
        if (from != STATE_NEW)
            return LC_REFUSE_STATE;
        *to = STATE_NOTIFIED;
        return LC_OK;
    case LC_ACK:
    case LC_PLAN:
    case LC_SUBMIT:
        if (other_dealer)
            return LC_REFUSE_OTHER_DEALER;
        if (!own_dealer)
            return LC_REFUSE_ROLE;
        if (a == LC_ACK && (from == STATE_NEW || from == STATE_NOTIFIED)) {
            *to = STATE_ACKNOWLEDGED;
            return LC_OK;
        }
        if (a == LC_PLAN && from == STATE_ACKNOWLEDGED) {
            *to = STATE_SOLUTION_AGREED;
            return LC_OK;
        }
        if (a == LC_SUBMIT && from == STATE_SOLUTION_AGREED) {
            *to = STATE_REPORT_SUBMITTED;
            return LC_OK;
        }
        return LC_REFUSE_STATE;
    case LC_APPROVE:
    case LC_REJECT:
        if (!supervisor_or_admin)
            return LC_REFUSE_ROLE;
        if (from != STATE_REPORT_SUBMITTED)
            return LC_REFUSE_STATE;
        *to = a == LC_APPROVE ? STATE_CLOSED : STATE_SOLUTION_AGREED;
        return LC_OK;
    case LC_REOPEN:
        if (!staff && !system)
            return LC_REFUSE_ROLE;
        if (from != STATE_CLOSED)
            return LC_REFUSE_STATE;
        *to = STATE_ACKNOWLEDGED;
        return LC_OK;
    case LC_CANCEL:
        if (!admin)
            return LC_REFUSE_ROLE;
        if (!open)
            return LC_REFUSE_STATE;
        *to = STATE_CANCELLED;
        return LC_OK;
    case LC_VIEW:
        if (other_dealer)
            return LC_REFUSE_OTHER_DEALER;
        if (!own_dealer && !staff)
            return LC_REFUSE_ROLE;
        *to = from;
        return LC_OK;
    }
    fail_msg("unknown action %d", (int)a);
    return LC_REFUSE_ROLE;
}

static void test_exhaustive(void **state)
{
    (void)state;
    int mismatches = 0;
    for (int s = 0; s < NSTATES; s++) {
        for (int a = 0; a < LC_ACTION_COUNT; a++) {
            for (size_t w = 0; w < NWHO; w++) {
                enum complaint_state want_to = UNTOUCHED, got_to = UNTOUCHED;
                enum lc_refusal want = expected((enum complaint_state)s, (enum lc_action)a,
                                                &everyone[w].a, &want_to);
                enum lc_refusal got = lifecycle_decide((enum complaint_state)s,
                                                       (enum lc_action)a, &everyone[w].a, &got_to);
                if (got != want || got_to != want_to) {
                    print_error("%s by %s on %s: want %d -> %d, got %d -> %d\n",
                                lc_action_name((enum lc_action)a), everyone[w].label,
                                complaint_state_name((enum complaint_state)s), (int)want,
                                (int)want_to, (int)got, (int)got_to);
                    mismatches++;
                }
            }
        }
    }
    assert_int_equal(mismatches, 0);
}

/* Applies `a` by `w` to *s, asserting it is allowed and leads to `want`. */
static void step(enum complaint_state *s, enum lc_action a, const struct actor *w,
                 enum complaint_state want)
{
    enum complaint_state to = UNTOUCHED;
    assert_int_equal(lifecycle_decide(*s, a, w, &to), LC_OK);
    assert_int_equal(to, want);
    *s = to;
}

static void refused(enum complaint_state s, enum lc_action a, const struct actor *w,
                    enum lc_refusal want)
{
    enum complaint_state to = UNTOUCHED;
    assert_int_equal(lifecycle_decide(s, a, w, &to), want);
    assert_int_equal(to, UNTOUCHED);
}

static void test_main_path(void **state)
{
    (void)state;
    enum complaint_state s = STATE_NEW;
    step(&s, LC_NOTIFY, &SYSTEM, STATE_NOTIFIED);
    refused(s, LC_NOTIFY, &SYSTEM, LC_REFUSE_STATE); /* a second receipt changes nothing */
    refused(s, LC_ACK, &OTHER, LC_REFUSE_OTHER_DEALER);
    refused(s, LC_ACK, &SUPERVISOR, LC_REFUSE_ROLE);
    step(&s, LC_ACK, &AGENT, STATE_ACKNOWLEDGED);
    step(&s, LC_PLAN, &MANAGER, STATE_SOLUTION_AGREED);
    refused(s, LC_APPROVE, &SUPERVISOR, LC_REFUSE_STATE);
    step(&s, LC_SUBMIT, &AGENT, STATE_REPORT_SUBMITTED);
    refused(s, LC_APPROVE, &STAFF, LC_REFUSE_ROLE);
    refused(s, LC_APPROVE, &AGENT, LC_REFUSE_ROLE);
    step(&s, LC_APPROVE, &SUPERVISOR, STATE_CLOSED);
    assert_false(complaint_state_open(s));
    step(&s, LC_VIEW, &AGENT, STATE_CLOSED);

    /* The card may never be confirmed: the dealer can acknowledge straight from new. */
    s = STATE_NEW;
    step(&s, LC_ACK, &MANAGER, STATE_ACKNOWLEDGED);
}

static void test_reject_loop(void **state)
{
    (void)state;
    enum complaint_state s = STATE_REPORT_SUBMITTED;
    step(&s, LC_REJECT, &ADMIN, STATE_SOLUTION_AGREED);
    refused(s, LC_REJECT, &ADMIN, LC_REFUSE_STATE);
    step(&s, LC_SUBMIT, &MANAGER, STATE_REPORT_SUBMITTED);
    step(&s, LC_REJECT, &SUPERVISOR, STATE_SOLUTION_AGREED);
    step(&s, LC_SUBMIT, &AGENT, STATE_REPORT_SUBMITTED);
    step(&s, LC_APPROVE, &ADMIN, STATE_CLOSED);
}

static void test_reopen(void **state)
{
    (void)state;
    enum complaint_state s = STATE_CLOSED;
    refused(s, LC_REOPEN, &AGENT, LC_REFUSE_ROLE);
    refused(s, LC_REOPEN, &OTHER, LC_REFUSE_ROLE);
    step(&s, LC_REOPEN, &SYSTEM, STATE_ACKNOWLEDGED); /* dissatisfied customer */
    assert_true(complaint_state_open(s));
    refused(s, LC_REOPEN, &STAFF, LC_REFUSE_STATE);
    step(&s, LC_PLAN, &AGENT, STATE_SOLUTION_AGREED);
    step(&s, LC_SUBMIT, &AGENT, STATE_REPORT_SUBMITTED);
    step(&s, LC_APPROVE, &SUPERVISOR, STATE_CLOSED);
    step(&s, LC_REOPEN, &STAFF, STATE_ACKNOWLEDGED);
}

static void test_cancel(void **state)
{
    (void)state;
    for (int s = 0; s < NSTATES; s++) {
        enum complaint_state from = (enum complaint_state)s;
        refused(from, LC_CANCEL, &SUPERVISOR, LC_REFUSE_ROLE);
        refused(from, LC_CANCEL, &AGENT, LC_REFUSE_ROLE);
        refused(from, LC_CANCEL, &SYSTEM, LC_REFUSE_ROLE);
        if (complaint_state_open(from)) {
            enum complaint_state to = from;
            step(&to, LC_CANCEL, &ADMIN, STATE_CANCELLED);
        } else {
            refused(from, LC_CANCEL, &ADMIN, LC_REFUSE_STATE);
        }
    }
    /* Nothing but viewing moves a cancelled ticket. */
    for (int a = 0; a < LC_ACTION_COUNT; a++) {
        for (size_t w = 0; w < NWHO; w++) {
            enum complaint_state to = UNTOUCHED;
            if (lifecycle_decide(STATE_CANCELLED, (enum lc_action)a, &everyone[w].a, &to) == LC_OK)
                assert_int_equal(to, STATE_CANCELLED);
        }
    }
}

/* Roles the directory never gives a kind of person, and out-of-range roles: nothing. */
static void test_impossible_actors(void **state)
{
    (void)state;
    const struct actor odd[] = {
        {ACTOR_DEALER, ROLE_SUPERVISOR, true}, {ACTOR_DEALER, ROLE_ADMIN, true},
        {ACTOR_DEALER, ROLE_ADMIN, false},     {ACTOR_BRAND, ROLE_MANAGER, false},
        {ACTOR_BRAND, (enum person_role)9, false},
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        for (int s = 0; s < NSTATES; s++)
            for (int a = 0; a < LC_ACTION_COUNT; a++)
                refused((enum complaint_state)s, (enum lc_action)a, &odd[i], LC_REFUSE_ROLE);
    /* The system's role and own_dealer are ignored. */
    const struct actor sys = {ACTOR_SYSTEM, ROLE_ADMIN, true};
    refused(STATE_NEW, LC_CANCEL, &sys, LC_REFUSE_ROLE);
    refused(STATE_NEW, LC_VIEW, &sys, LC_REFUSE_ROLE);
    enum complaint_state s = STATE_NEW;
    step(&s, LC_NOTIFY, &sys, STATE_NOTIFIED);
}

static void test_hints(void **state)
{
    (void)state;
    assert_string_equal(lifecycle_state_hint(STATE_NOTIFIED, LC_PLAN), "need_ack");
    assert_string_equal(lifecycle_state_hint(STATE_NEW, LC_SUBMIT), "need_ack");
    assert_string_equal(lifecycle_state_hint(STATE_ACKNOWLEDGED, LC_SUBMIT), "need_plan");
    assert_string_equal(lifecycle_state_hint(STATE_ACKNOWLEDGED, LC_ACK), "already_acked");
    assert_string_equal(lifecycle_state_hint(STATE_REPORT_SUBMITTED, LC_ACK), "already_acked");
    assert_string_equal(lifecycle_state_hint(STATE_REPORT_SUBMITTED, LC_PLAN),
                        "already_planned");
    assert_string_equal(lifecycle_state_hint(STATE_REPORT_SUBMITTED, LC_SUBMIT),
                        "already_submitted");
    assert_string_equal(lifecycle_state_hint(STATE_SOLUTION_AGREED, LC_APPROVE), "no_report");
    assert_string_equal(lifecycle_state_hint(STATE_NEW, LC_REJECT), "no_report");
    assert_string_equal(lifecycle_state_hint(STATE_NOTIFIED, LC_NOTIFY), "already_notified");
    assert_string_equal(lifecycle_state_hint(STATE_ACKNOWLEDGED, LC_REOPEN), "not_closed");
    for (int a = 0; a < LC_ACTION_COUNT; a++) {
        if (a != LC_REOPEN && a != LC_VIEW)
            assert_string_equal(lifecycle_state_hint(STATE_CLOSED, (enum lc_action)a), "closed");
        if (a != LC_VIEW)
            assert_string_equal(lifecycle_state_hint(STATE_CANCELLED, (enum lc_action)a),
                                "cancelled");
    }
    /* A hint exactly where the state (not the sender) is what stands in the way. */
    for (int s = 0; s < NSTATES; s++) {
        for (int a = 0; a < LC_ACTION_COUNT; a++) {
            bool someone_may = false;
            for (size_t w = 0; w < NWHO; w++) {
                enum complaint_state to;
                if (lifecycle_decide((enum complaint_state)s, (enum lc_action)a, &everyone[w].a,
                                     &to) == LC_OK)
                    someone_may = true;
            }
            const char *hint = lifecycle_state_hint((enum complaint_state)s, (enum lc_action)a);
            if (someone_may != (hint == NULL))
                fail_msg("%s on %s: hint %s", lc_action_name((enum lc_action)a),
                         complaint_state_name((enum complaint_state)s), hint ? hint : "(none)");
        }
    }
}

static void test_names(void **state)
{
    (void)state;
    static const char *const want[] = {"notify", "ack",    "plan",   "submit", "approve",
                                       "reject", "reopen", "cancel", "view"};
    assert_int_equal(sizeof want / sizeof want[0], LC_ACTION_COUNT);
    for (int a = 0; a < LC_ACTION_COUNT; a++)
        assert_string_equal(lc_action_name((enum lc_action)a), want[a]);
    assert_string_equal(lc_action_name((enum lc_action)LC_ACTION_COUNT), "?");

    for (int s = 0; s < NSTATES; s++)
        assert_int_equal(complaint_state_open((enum complaint_state)s),
                         s != STATE_CLOSED && s != STATE_CANCELLED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exhaustive),      cmocka_unit_test(test_main_path),
        cmocka_unit_test(test_reject_loop),     cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_cancel),          cmocka_unit_test(test_impossible_actors),
        cmocka_unit_test(test_hints),           cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
