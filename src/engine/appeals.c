/*
 * appeals.c — appeals on ledger entries (P-5), shared by the chat commands (cmd_penalties.c:
 * appeal, uphold, waive) and the API (POST /api/v1/penalties/{id}/appeal|uphold|waive).
 *
 * An entry is standing, under appeal, upheld or waived. An appeal comes within
 * penalties.appeal_window of the entry, once, with a reason, and is posted to the staff
 * room; an upheld entry still counts; a waived one (with a reason, under appeal or not) counts
 * nowhere — totals, scorecards, the underperformer evaluation — and stays listed. Who may act
 * is the caller's question. Every step and every refusal is in the entry's history.
 *
 * Main thread; eng__penalty_act runs inside the caller's store transaction.
 */
#include "engine_int.h"

#include <stdio.h>
#include <string.h>

#include "dealerbot/log.h"

#define MOD "engine"

static const char *const refusal_names[] = {
    [PR_NONE] = "none",
    [PR_UNKNOWN] = "unknown",
    [PR_WINDOW] = "window",
    [PR_APPEALED_BEFORE] = "appealed_before",
    [PR_DECIDED] = "decided",
    [PR_NOT_APPEALED] = "not_appealed",
    [PR_NEED_REASON] = "need_reason",
};

const char *penalty_refusal_name(enum penalty_refusal r)
{
    return (size_t)r < sizeof refusal_names / sizeof refusal_names[0] ? refusal_names[r] : "?";
}

static const char *action_name(enum penalty_action a)
{
    return a == PENALTY_APPEAL ? "appeal" : a == PENALTY_UPHOLD ? "uphold" : "waive";
}

/* The decision a state allows for action a, PR_NONE when it may go ahead. */
static enum penalty_refusal check(const struct engine *e, enum penalty_action a,
                                  const struct penalty_head *h, const char *text, int64_t now)
{
    bool standing = strcmp(h->state, "standing") == 0;
    bool appealed = strcmp(h->state, "appealed") == 0;
    if (!standing && !appealed)
        return PR_DECIDED;
    switch (a) {
    case PENALTY_APPEAL:
        if (appealed)
            return PR_APPEALED_BEFORE;
        if (now - h->at > e->cfg->penalties.appeal_window_s)
            return PR_WINDOW;
        return text ? PR_NONE : PR_NEED_REASON;
    case PENALTY_UPHOLD:
        return appealed ? PR_NONE : PR_NOT_APPEALED;
    case PENALTY_WAIVE:
        return text ? PR_NONE : PR_NEED_REASON;
    }
    return PR_UNKNOWN;
}

int eng__penalty_act(struct engine *e, enum penalty_action a, const struct penalty_head *h,
                     const char *text, const char *actor, const char *who, const char *lang,
                     int64_t now, enum penalty_refusal *why)
{
    char pid[32], detail[64];
    snprintf(pid, sizeof pid, "P-%lld", (long long)h->id);
    *why = check(e, a, h, text, now);
    if (*why != PR_NONE) {
        snprintf(detail, sizeof detail, "%s: %s", action_name(a), penalty_refusal_name(*why));
        log_info(MOD, "%s %s by %s refused: %s", action_name(a), pid, actor,
                 penalty_refusal_name(*why));
        return store_penalty_history_add(e->store, h->id, actor, "refused", detail, now);
    }
    int err = a == PENALTY_APPEAL
                  ? store_penalty_appeal(e->store, h->id, text, actor, now)
                  : store_penalty_decide(e->store, h->id, a == PENALTY_WAIVE, text, actor, now);
    if (err)
        return err; /* the state was read in this transaction: a conflict is a bug */
    err = store_penalty_history_add(e->store, h->id, actor, action_name(a), text, now);
    if (err)
        return err;
    char pts[16];
    snprintf(pts, sizeof pts, "%d", h->points);
    if (a == PENALTY_APPEAL) {
        struct dealer d = {0};
        err = store_dealer_get(e->store, h->dealer, &d);
        if (err == 0) {
            struct msg_var v[] = {{"pid", pid},           {"dealer_code", d.code},
                                  {"dealer_name", d.name}, {"code", h->code},
                                  {"points", pts},        {"who", who},
                                  {"reason", text}};
            err = eng__say(e, h->complaint_id, true, e->cfg->chat.staff_room, lang,
                           "pen_appeal_staff", v, sizeof v / sizeof v[0], "notice", now);
        }
        dealer_cleanup(&d);
        log_info(MOD, "%s appealed by %s", pid, actor);
        return err;
    }
    int64_t total = 0;
    err = store_penalty_total(e->store, h->dealer, now - e->cfg->underperformers.window_s,
                              &total);
    if (err)
        return err;
    char tot[24], room[DEALER_ROOM_MAX];
    snprintf(tot, sizeof tot, "%lld", (long long)total);
    bool waive = a == PENALTY_WAIVE;
    const char *none = eng__label(e, lang, "value_none");
    struct msg_var v[] = {{"pid", pid},
                          {"dealer_code", h->dealer},
                          {"code", h->code},
                          {"points", pts},
                          {"who", who},
                          {waive ? "reason" : "note", text ? text : none},
                          {"total", tot}};
    dealer_room_name(h->dealer, room, sizeof room);
    log_info(MOD, "%s %s by %s", pid, waive ? "waived" : "upheld", actor);
    return eng__say(e, h->complaint_id, true, room, lang, waive ? "pen_waived" : "pen_upheld", v,
                    waive ? 7 : 6, "notice", now);
}

int engine_penalty_act(struct engine *e, enum penalty_action a, int64_t id, const char *text,
                       const char *actor, int64_t now, enum penalty_refusal *why, char *state,
                       size_t state_len)
{
    eng__forget(e);
    *why = PR_NONE;
    if (state_len)
        state[0] = '\0';
    int err = store_begin(e->store);
    if (err)
        return err;
    struct penalty_head h;
    err = store_penalty_get(e->store, id, &h);
    if (err == DBOT_ERR_NOTFOUND) {
        *why = PR_UNKNOWN;
        err = 0;
    } else if (err == 0) {
        err = eng__penalty_act(e, a, &h, text, actor, actor, e->cfg->language, now, why);
        if (err == 0)
            err = store_penalty_get(e->store, id, &h);
        if (err == 0 && state_len)
            snprintf(state, state_len, "%s", h.state);
    }
    if (err == 0)
        err = store_commit(e->store);
    else
        store_rollback(e->store);
    if (err) {
        eng__forget(e);
        log_error(MOD, "P-%lld: %s not done: %s", (long long)id, action_name(a),
                  dbot_strerror(err));
        return err;
    }
    eng__after_commit(e);
    return 0;
}
