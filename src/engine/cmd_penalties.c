/*
 * cmd_penalties.c — penalty (a catalogue penalty on a dealer, by a supervisor or admin),
 * penalties (a dealer's ledger over the scorecard window, each entry with its id P-5 and
 * state), and the appeals on an entry: appeal (a manager of the penalised dealer, within
 * penalties.appeal_window, once), uphold and waive (a supervisor or admin). A refusal on an
 * entry is answered in one line and recorded in the entry's history; nothing else changes.
 */
#include "commands_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/log.h"
#include "dealerbot/scorecard.h"
#include "dealerbot/sla.h"
#include "dealerbot/timeutil.h"

/* ---- penalties ---- */

/* The window penalty totals are counted over (the scorecards' window). */
static int64_t penalty_since(const struct ctx *x)
{
    return x->now - x->e->cfg->underperformers.window_s;
}

/* /penalty <dealer> <code> [C-n] [note]: a catalogue penalty, by a supervisor or admin. */
int cmd__penalty(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    if (!cmd__is_supervisor(&x->who)) {
        struct msg_var v[] = {{"command", x->word}};
        return cmd__reply(x, 0, "err_not_allowed", v, 1);
    }
    struct dealer d = {0};
    struct penalty_rule rule = {0};
    struct complaint c = {0};
    bool have_c = false;
    int err = store_dealer_get(e->store, cmd->dealer, &d);
    if (err == DBOT_ERR_NOTFOUND) {
        struct msg_var v[] = {{"code", cmd->dealer}};
        return cmd__reply(x, 0, "err_unknown_dealer", v, 1);
    }
    if (err == 0 && (err = store_penalty_rule_get(e->store, cmd->penalty_code, &rule)) ==
                        DBOT_ERR_NOTFOUND) {
        struct msg_var v[] = {{"code", cmd->penalty_code}};
        err = cmd__reply(x, 0, "err_unknown_penalty", v, 1);
        goto out;
    }
    if (err == 0 && cmd->ticket) {
        err = cmd__load(x, cmd->ticket, &c);
        if (err) {
            err = err > 0 ? 0 : err;
            goto out;
        }
        have_c = true;
        if (strcasecmp(c.dealer, d.code) != 0) {
            struct msg_var v[] = {{"id", x->cid}};
            err = cmd__reply(x, c.id, "err_other_dealer", v, 1);
            goto out;
        }
    }
    if (err)
        goto out;
    err = store_penalty_add(e->store, d.code, rule.code, rule.points, have_c ? c.id : 0,
                            cmd->text, x->who.jid, x->now);
    int64_t total = 0;
    if (err == 0)
        err = store_penalty_total(e->store, d.code, penalty_since(x), &total);
    if (err == 0 && have_c) {
        char detail[160];
        snprintf(detail, sizeof detail, "%s %d", rule.code, rule.points);
        err = cmd__event(x, c.id, "penalty", detail);
    }
    if (err == 0) {
        log_info(MOD, "penalty %s (%d) for %s by %s", rule.code, rule.points, d.code,
                 x->who.jid);
        char pts[16], tot[24], room[DEALER_ROOM_MAX];
        snprintf(pts, sizeof pts, "%d", rule.points);
        snprintf(tot, sizeof tot, "%lld", (long long)total);
        const char *none = eng__label(e, cmd__room_lang(x), "value_none");
        struct msg_var v[] = {{"dealer_code", d.code},  {"dealer_name", d.name},
                              {"code", rule.code},      {"violation", rule.violation},
                              {"points", pts},          {"total", tot},
                              {"id", have_c ? x->cid : none},
                              {"who", cmd__display(&x->who)}, {"note", cmd->text ? cmd->text : none}};
        size_t n = sizeof v / sizeof v[0];
        dealer_room_name(d.code, room, sizeof room);
        err = eng__say(e, have_c ? c.id : 0, true, room, cmd__room_lang(x), "penalty_added", v, n,
                       "notice", x->now);
        if (err == 0 && !(x->m->group && strcmp(x->m->room, room) == 0))
            err = cmd__reply(x, have_c ? c.id : 0, "penalty_added", v, n);
    }
out:
    if (have_c)
        complaint_cleanup(&c);
    penalty_rule_cleanup(&rule);
    dealer_cleanup(&d);
    return err;
}

struct ledger {
    struct ctx *x;
    const char *tz; /* the dealer's zone, for the times */
    char *text;
    size_t len;
    int n;
};

static int ledger_line(const struct penalty_entry *p, void *arg)
{
    struct ledger *l = arg;
    struct ctx *x = l->x;
    char when[ENG_TIME_MAX], pts[16], id[32], pid[32], skey[32];
    const char *none = eng__label(x->e, x->lang, "value_none");
    eng__when(p->at, l->tz, when, sizeof when);
    snprintf(pts, sizeof pts, "%d", p->points);
    snprintf(pid, sizeof pid, "P-%lld", (long long)p->id);
    snprintf(skey, sizeof skey, "pstate_%s", p->state ? p->state : "standing");
    struct msg_var v[] = {{"time", when},
                          {"code", p->code},
                          {"points", pts},
                          {"id", p->complaint_id ? complaint_id_format(p->complaint_id, id,
                                                                       sizeof id)
                                                 : none},
                          {"note", p->note ? p->note : none},
                          {"pid", pid},
                          {"state", eng__label(x->e, x->lang, skey)}};
    char *s = eng__text(x->e, x->lang, "penalties_item", v, 7);
    int err = cmd__append(&l->text, &l->len, s);
    free(s);
    l->n++;
    return err;
}

static int reward_line(const struct reward_entry *p, void *arg)
{
    struct ledger *l = arg;
    struct ctx *x = l->x;
    char when[ENG_TIME_MAX], pts[16], id[32], rk[32];
    const char *none = eng__label(x->e, x->lang, "value_none");
    eng__when(p->at, l->tz, when, sizeof when);
    snprintf(pts, sizeof pts, "%d", p->points);
    snprintf(rk, sizeof rk, "rkind_%s", p->kind ? p->kind : "commend");
    struct msg_var v[] = {{"time", when},
                          {"kind", eng__label(x->e, x->lang, rk)},
                          {"points", pts},
                          {"id", p->complaint_id ? complaint_id_format(p->complaint_id, id,
                                                                       sizeof id)
                                                 : none},
                          {"note", p->note ? p->note : none}};
    char *s = eng__text(x->e, x->lang, "rewards_item", v, 5);
    int err = cmd__append(&l->text, &l->len, s);
    free(s);
    l->n++;
    return err;
}

/* /penalties or /ledger [dealer]: a dealer's ledger over the window — penalties, rewards and
 * the balance; dealers see their own. */
int cmd__penalties(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    const char *dealer = cmd->dealer;
    if (x->who.dealer) {
        if (dealer && strcasecmp(dealer, x->who.dealer) != 0) {
            struct msg_var v[] = {{"command", x->word}};
            return cmd__reply(x, 0, "err_not_allowed", v, 1);
        }
        dealer = x->who.dealer;
    } else if (!dealer) {
        struct msg_var v[] = {{"command", x->word}};
        return cmd__reply(x, 0, "err_bad_argument", v, 1);
    }
    struct dealer d = {0};
    int err = store_dealer_get(e->store, dealer, &d);
    if (err == DBOT_ERR_NOTFOUND) {
        struct msg_var v[] = {{"code", dealer}};
        return cmd__reply(x, 0, "err_unknown_dealer", v, 1);
    }
    int64_t total = 0;
    if (err == 0)
        err = store_penalty_total(e->store, d.code, penalty_since(x), &total);
    struct ledger l = {.x = x, .tz = d.timezone};
    if (err == 0)
        err = store_penalty_each(e->store, d.code, penalty_since(x), 20, ledger_line, &l);
    struct ledger r = {.x = x, .tz = d.timezone};
    int64_t rewards = 0;
    if (err == 0)
        err = store_reward_total(e->store, d.code, penalty_since(x), &rewards);
    if (err == 0)
        err = store_reward_each(e->store, d.code, penalty_since(x), 20, reward_line, &r);
    if (err == 0) {
        char tot[24], cnt[24];
        snprintf(tot, sizeof tot, "%lld", (long long)total);
        snprintf(cnt, sizeof cnt, "%d", l.n);
        struct msg_var v[] = {{"dealer_code", d.code}, {"total", tot}, {"count", cnt}};
        char *head = eng__text(e, x->lang, l.n ? "penalties_head" : "penalties_empty", v, 3);
        char *body = NULL;
        size_t blen = 0;
        err = cmd__append(&body, &blen, head);
        free(head);
        if (err == 0 && l.text)
            err = cmd__append(&body, &blen, l.text);
        if (err == 0 && r.n) {
            snprintf(cnt, sizeof cnt, "%d", r.n);
            char rew[24];
            snprintf(rew, sizeof rew, "%lld", (long long)rewards);
            struct msg_var rv[] = {{"count", cnt}, {"rewards", rew}};
            char *rh = eng__text(e, x->lang, "rewards_head", rv, 2);
            err = cmd__append(&body, &blen, rh);
            free(rh);
            if (err == 0)
                err = cmd__append(&body, &blen, r.text);
        }
        if (err == 0) {
            char rew[24], bal[24];
            snprintf(rew, sizeof rew, "%lld", (long long)rewards);
            snprintf(bal, sizeof bal, "%+lld", (long long)(rewards - total));
            struct msg_var bv[] = {{"penalties", tot}, {"rewards", rew}, {"balance", bal}};
            char *bl = eng__text(e, x->lang, "ledger_balance", bv, 3);
            err = cmd__append(&body, &blen, bl);
            free(bl);
        }
        if (err == 0)
            err = cmd__reply_text(x, 0, body);
        free(body);
    }
    free(l.text);
    free(r.text);
    dealer_cleanup(&d);
    return err;
}

/* ---- appeals: appeal, uphold, waive P-5 ---- */

/* Answers a refusal on entry h (NULL: no entry to record it on) and records it there. */
static int pen_refuse(struct ctx *x, const struct penalty_head *h, const char *pid,
                      const char *key, const struct msg_var *extra, size_t n_extra)
{
    struct msg_var v[4] = {{"pid", pid}};
    size_t n = 1;
    for (size_t i = 0; i < n_extra && n < 4; i++)
        v[n++] = extra[i];
    int err = 0;
    if (h) {
        char detail[96];
        snprintf(detail, sizeof detail, "%s: %s", x->word, key);
        err = store_penalty_history_add(x->e->store, h->id, x->who.jid, "refused", detail,
                                        x->now);
    }
    if (err == 0)
        err = cmd__reply(x, 0, key, v, n);
    log_info(MOD, "%s %s by %s refused: %s", x->word, pid, x->who.jid, key);
    return err;
}

/* The answer to a refusal the shared checks gave (already in the entry's history). */
static int pen_refused(struct ctx *x, const struct penalty_head *h, const char *pid,
                       enum penalty_refusal why)
{
    char skey[32], span[64];
    struct msg_var v[2] = {{"pid", pid}};
    const char *key = "pen_unknown";
    size_t n = 1;
    switch (why) {
    case PR_WINDOW:
        key = "pen_window";
        eng__span(x->lang, x->e->cfg->penalties.appeal_window_s, span, sizeof span);
        v[n++] = (struct msg_var){"window", span};
        break;
    case PR_APPEALED_BEFORE:
        key = "pen_appealed_before";
        break;
    case PR_DECIDED:
        key = "pen_decided";
        snprintf(skey, sizeof skey, "pstate_%s", h->state);
        v[n++] = (struct msg_var){"state", eng__label(x->e, x->lang, skey)};
        break;
    case PR_NOT_APPEALED:
        key = "pen_not_appealed";
        break;
    case PR_NEED_REASON:
        key = "pen_need_reason";
        v[n++] = (struct msg_var){"command", x->word};
        break;
    case PR_UNKNOWN:
    case PR_NONE:
        break;
    }
    return cmd__reply(x, 0, key, v, n);
}

/* appeal P-5 <reason> (a manager of the penalised dealer), uphold P-5 [note] and
 * waive P-5 <reason> (a supervisor or admin). */
int cmd__appeal(struct ctx *x, const struct command *cmd)
{
    char pid[32];
    snprintf(pid, sizeof pid, "P-%lld", (long long)cmd->penalty);
    struct penalty_head h;
    int err = store_penalty_get(x->e->store, cmd->penalty, &h);
    if (err == DBOT_ERR_NOTFOUND)
        return pen_refuse(x, NULL, pid, "pen_unknown", NULL, 0);
    if (err)
        return err;
    /* A dealer's people see their own entries only: another dealer's id answers like an
     * unknown one (ids are no oracle), and the attempt is in that entry's history. */
    if (x->who.dealer && strcasecmp(x->who.dealer, h.dealer) != 0)
        return pen_refuse(x, &h, pid, "pen_unknown", NULL, 0);
    enum penalty_action a = cmd->kind == CMD_APPEAL  ? PENALTY_APPEAL
                            : cmd->kind == CMD_UPHOLD ? PENALTY_UPHOLD
                                                      : PENALTY_WAIVE;
    if (a == PENALTY_APPEAL && (!x->who.dealer || x->who.role != ROLE_MANAGER))
        return pen_refuse(x, &h, pid, "pen_not_manager", NULL, 0);
    if (a != PENALTY_APPEAL && !cmd__is_supervisor(&x->who)) {
        struct msg_var v[] = {{"command", x->word}};
        err = store_penalty_history_add(x->e->store, h.id, x->who.jid, "refused",
                                        "not allowed", x->now);
        return err ? err : cmd__reply(x, 0, "err_not_allowed", v, 1);
    }
    enum penalty_refusal why;
    err = eng__penalty_act(x->e, a, &h, cmd->text, x->who.jid, cmd__display(&x->who),
                           cmd__room_lang(x), x->now, &why);
    if (err)
        return err;
    if (why != PR_NONE)
        return pen_refused(x, &h, pid, why);
    if (a == PENALTY_APPEAL) {
        struct msg_var v[] = {{"pid", pid}};
        return cmd__reply(x, 0, "pen_appeal_ok", v, 1);
    }
    /* The decision was posted in the dealer room; the sender elsewhere hears it too. */
    char room[DEALER_ROOM_MAX];
    dealer_room_name(h.dealer, room, sizeof room);
    if (x->m->group && strcmp(x->m->room, room) == 0)
        return 0;
    int64_t total = 0;
    err = store_penalty_total(x->e->store, h.dealer, penalty_since(x), &total);
    if (err)
        return err;
    char pts[16], tot[24];
    snprintf(pts, sizeof pts, "%d", h.points);
    snprintf(tot, sizeof tot, "%lld", (long long)total);
    bool waive = a == PENALTY_WAIVE;
    const char *none = eng__label(x->e, x->lang, "value_none");
    struct msg_var v[] = {{"pid", pid},
                          {"dealer_code", h.dealer},
                          {"code", h.code},
                          {"points", pts},
                          {"who", cmd__display(&x->who)},
                          {waive ? "reason" : "note", cmd->text ? cmd->text : none},
                          {"total", tot}};
    return cmd__reply(x, 0, waive ? "pen_waived" : "pen_upheld", v, waive ? 7 : 6);
}

/* ---- commendations ---- */

/* commend C-12 <note>: a reward for the dealer of the complaint, by a supervisor or admin;
 * posted in the dealer room and the staff room. A cancelled complaint is refused. */
int cmd__commend(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    if (!cmd__is_supervisor(&x->who)) {
        struct msg_var v[] = {{"command", x->word}};
        return cmd__reply(x, 0, "err_not_allowed", v, 1);
    }
    struct complaint c;
    int err = cmd__load(x, cmd->ticket, &c);
    if (err)
        return err > 0 ? 0 : err;
    if (c.state == STATE_CANCELLED) {
        err = cmd__event(x, c.id, "refused", "commend refused: cancelled");
        if (err == 0) {
            struct msg_var v[] = {{"id", x->cid}};
            err = cmd__reply(x, c.id, "err_commend_cancelled", v, 1);
        }
        complaint_cleanup(&c);
        return err;
    }
    int64_t points = e->cfg->rewards.commend_points, total = 0;
    struct dealer d = {0};
    err = store_reward_add(e->store, c.dealer, "commend", (int)points, c.id, cmd->text,
                           x->who.jid, x->now);
    if (err == 0)
        err = store_reward_total(e->store, c.dealer, penalty_since(x), &total);
    if (err == 0)
        err = cmd__event(x, c.id, "commend", cmd->text);
    if (err == 0)
        err = store_dealer_get(e->store, c.dealer, &d);
    if (err == 0) {
        char pts[24], tot[24], room[DEALER_ROOM_MAX];
        snprintf(pts, sizeof pts, "%lld", (long long)points);
        snprintf(tot, sizeof tot, "%lld", (long long)total);
        struct msg_var v[] = {{"id", x->cid},     {"dealer_code", d.code},
                              {"dealer_name", d.name}, {"points", pts},
                              {"total", tot},     {"who", cmd__display(&x->who)},
                              {"note", cmd->text}};
        size_t n = sizeof v / sizeof v[0];
        dealer_room_name(d.code, room, sizeof room);
        err = eng__say(e, c.id, true, room, cmd__room_lang(x), "commended", v, n, "notice",
                       x->now);
        if (err == 0)
            err = eng__say(e, c.id, true, e->cfg->chat.staff_room, cmd__room_lang(x),
                           "commended", v, n, "notice", x->now);
        bool in_room = x->m->group && (strcmp(x->m->room, room) == 0 ||
                                       strcmp(x->m->room, e->cfg->chat.staff_room) == 0);
        if (err == 0 && !in_room)
            err = cmd__reply(x, c.id, "commended", v, n);
        log_info(MOD, "%s: commendation +%lld for %s by %s", x->cid, (long long)points, d.code,
                 x->who.jid);
    }
    dealer_cleanup(&d);
    complaint_cleanup(&c);
    return err;
}
