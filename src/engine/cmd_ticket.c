/*
 * cmd_ticket.c — the ticket lifecycle commands: ack, plan, approve, reject, reopen, cancel
 * (close is cmd_close.c, status cmd_status.c). A ticket command loads the ticket, asks
 * lifecycle.h whether this sender may do it in this state, and then runs its step: the state
 * change, its timeline event, the SLA events it ends, the announcement in the dealer room.
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

/* ---- the steps ---- */

static int do_ack(struct ctx *x, const struct complaint *c, const struct command *cmd,
                  enum complaint_state to)
{
    struct complaint_change ch = {.to = to, .owner = x->who.jid, .ack_at = x->now,
                                  .eta = cmd->eta};
    int err = cmd__change(x, c, &ch);
    if (err)
        return err;
    /* the whole note goes into the timeline (a command is at most COMMAND_MAX_BYTES) */
    size_t dlen =
        (cmd->eta ? strlen(cmd->eta) + 6 : 0) + (cmd->text ? strlen(cmd->text) : 0) + 1;
    char *detail = malloc(dlen);
    if (!detail)
        return DBOT_ERR_NOMEM;
    snprintf(detail, dlen, "%s%s%s%s", cmd->eta ? "eta " : "", cmd->eta ? cmd->eta : "",
             cmd->eta && cmd->text ? "; " : "", cmd->text ? cmd->text : "");
    err = cmd__event(x, c->id, "ack", detail[0] ? detail : NULL);
    free(detail);
    if (err)
        return err;
    if ((err = store_sla_cancel(x->e->store, c->id, 1u << MS_ACK, x->now)) != 0)
        return err;
    const char *none = eng__label(x->e, cmd__room_lang(x), "value_none");
    struct msg_var v[] = {{"id", x->cid}, {"owner", cmd__display(&x->who)},
                          {"eta", cmd->eta ? cmd->eta : none}};
    return cmd__announce(x, c, "ack_ok", v, 3);
}

static int do_plan(struct ctx *x, const struct complaint *c, const struct command *cmd,
                   enum complaint_state to)
{
    struct complaint_change ch = {.to = to, .solution = cmd->text, .solution_at = x->now};
    int err = cmd__change(x, c, &ch);
    if (err)
        return err;
    if ((err = cmd__event(x, c->id, "plan", cmd->text)) != 0)
        return err;
    if ((err = store_sla_cancel(x->e->store, c->id, 1u << MS_SOLUTION, x->now)) != 0)
        return err;
    struct msg_var v[] = {{"id", x->cid}, {"who", cmd__display(&x->who)}, {"solution", cmd->text}};
    return cmd__announce(x, c, "plan_ok", v, 3);
}

static int do_approve(struct ctx *x, const struct complaint *c, const struct command *cmd,
                      enum complaint_state to)
{
    (void)cmd;
    struct complaint_change ch = {.to = to, .closed_at = x->now};
    int err = cmd__change(x, c, &ch);
    if (err == 0)
        err = cmd__event(x, c->id, "approve", NULL);
    if (err == 0)
        err = store_sla_cancel(x->e->store, c->id, MS_ALL, x->now);
    struct msg_var v[] = {{"id", x->cid}, {"who", cmd__display(&x->who)}};
    if (err == 0)
        err = cmd__announce(x, c, "approved", v, 2);
    return err ? err : eng__reward_closed(x->e, c, x->now);
}

static int do_reject(struct ctx *x, const struct complaint *c, const struct command *cmd,
                     enum complaint_state to)
{
    struct complaint_change ch = {.to = to, .count_reject = true};
    int err = cmd__change(x, c, &ch);
    if (err == 0)
        err = cmd__event(x, c->id, "reject", cmd->text);
    /* Back with the dealer, the close deadline unchanged: what the review held back of the
     * close clock is planned again, and a deadline that passed meanwhile is not silent (its
     * breach and escalations fire now, marked late). */
    if (err == 0)
        err = eng__resume_close(x->e, c, x->now);
    struct msg_var v[] = {{"id", x->cid}, {"who", cmd__display(&x->who)}, {"reason", cmd->text}};
    return err ? err : cmd__announce(x, c, "rejected", v, 3);
}

static int do_reopen(struct ctx *x, const struct complaint *c, const struct command *cmd,
                     enum complaint_state to)
{
    char when[ENG_TIME_MAX];
    int err = eng__reopen(x->e, c, to, x->m->sender, cmd->text, x->m->platform_id, x->now,
                          when, sizeof when);
    if (err)
        return err == DBOT_ERR_CONFLICT ? cmd__change_conflict(x, c) : err;
    struct msg_var v[] = {{"id", x->cid}, {"who", cmd__display(&x->who)}, {"reason", cmd->text},
                          {"close_due", when}};
    return cmd__announce(x, c, "reopened", v, 4);
}

static int do_cancel_ticket(struct ctx *x, const struct complaint *c,
                            const struct command *cmd, enum complaint_state to)
{
    struct complaint_change ch = {.to = to};
    int err = cmd__change(x, c, &ch);
    if (err == 0)
        err = cmd__event(x, c->id, "cancel", cmd->text);
    if (err == 0)
        err = store_sla_cancel(x->e->store, c->id, MS_ALL, x->now);
    const char *none = eng__label(x->e, cmd__room_lang(x), "value_none");
    struct msg_var v[] = {{"id", x->cid}, {"who", cmd__display(&x->who)},
                          {"reason", cmd->text ? cmd->text : none}};
    return err ? err : cmd__announce(x, c, "cancelled", v, 3);
}


static enum lc_action action_of(enum cmd_kind k)
{
    switch (k) {
    case CMD_ACK: return LC_ACK;
    case CMD_PLAN: return LC_PLAN;
    case CMD_CLOSE: return LC_SUBMIT;
    case CMD_APPROVE: return LC_APPROVE;
    case CMD_REJECT: return LC_REJECT;
    case CMD_REOPEN: return LC_REOPEN;
    case CMD_CANCEL: return LC_CANCEL;
    default: return LC_VIEW;
    }
}

/* What each ticket command does once its action is allowed on the ticket. */
static const cmd_step_fn steps[] = {
    [CMD_ACK] = do_ack,         [CMD_PLAN] = do_plan,     [CMD_CLOSE] = cmd__close,
    [CMD_STATUS] = cmd__status, [CMD_APPROVE] = do_approve, [CMD_REJECT] = do_reject,
    [CMD_REOPEN] = do_reopen,   [CMD_CANCEL] = do_cancel_ticket,
};

/* A command on one ticket. */
int cmd__ticket(struct ctx *x, const struct command *cmd)
{
    struct complaint c;
    int err = cmd__load(x, cmd->ticket, &c);
    if (err)
        return err > 0 ? 0 : err;
    enum complaint_state to;
    enum lc_action a = action_of(cmd->kind);
    int rc = cmd__decide(x, &c, a, &to);
    if (rc == 0) {
        cmd_step_fn step = (size_t)cmd->kind < sizeof steps / sizeof steps[0] ? steps[cmd->kind] : NULL;
        rc = step ? step(x, &c, cmd, to) : DBOT_ERR_INTERNAL;
    }
    complaint_cleanup(&c);
    return rc > 0 ? 0 : rc;
}
