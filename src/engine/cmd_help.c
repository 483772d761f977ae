/*
 * cmd_help.c — help: the commands this sender may use, in their language.
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

/* ---- /help ---- */

int cmd__help(struct ctx *x, const struct command *cmd)
{
    (void)cmd;
    /* The commands each kind of sender may use, in the order /help lists them. */
    static const struct {
        const char *key;
        enum lc_action action; /* LC_VIEW: everyone known */
    } lines[] = {
        {"help_ack", LC_ACK},         {"help_plan", LC_PLAN},     {"help_close", LC_SUBMIT},
        {"help_status", LC_VIEW},     {"help_list", LC_VIEW},     {"help_approve", LC_APPROVE},
        {"help_reject", LC_REJECT},   {"help_reopen", LC_REOPEN}, {"help_cancel", LC_SUBMIT},
        {"help_cancel_ticket", LC_CANCEL},
    };
    struct engine *e = x->e;
    struct msg_var hv[] = {{"name", cmd__display(&x->who)}};
    char *text = NULL;
    size_t len = 0;
    char *s = eng__text(e, x->lang, "help_head", hv, 1);
    int err = cmd__append(&text, &len, s);
    free(s);
    /* May this sender ever do the action? Asked of a state where it is allowed. */
    static const enum complaint_state where[] = {
        [LC_ACK] = STATE_NOTIFIED,          [LC_PLAN] = STATE_ACKNOWLEDGED,
        [LC_SUBMIT] = STATE_SOLUTION_AGREED, [LC_APPROVE] = STATE_REPORT_SUBMITTED,
        [LC_REJECT] = STATE_REPORT_SUBMITTED, [LC_REOPEN] = STATE_CLOSED,
        [LC_CANCEL] = STATE_ACKNOWLEDGED, [LC_VIEW] = STATE_NOTIFIED,
    };
    struct actor who = {.kind = x->who.dealer ? ACTOR_DEALER : ACTOR_BRAND,
                        .role = x->who.role, .own_dealer = true};
    for (size_t i = 0; err == 0 && i < sizeof lines / sizeof lines[0]; i++) {
        enum complaint_state to;
        if (lifecycle_decide(where[lines[i].action], lines[i].action, &who, &to) != LC_OK)
            continue;
        err = cmd__append(&text, &len, eng__label(e, x->lang, lines[i].key));
    }
    if (err == 0 && cmd__is_supervisor(&x->who))
        err = cmd__append(&text, &len, eng__label(e, x->lang, "help_penalty"));
    if (err == 0)
        err = cmd__append(&text, &len, eng__label(e, x->lang, "help_penalties"));
    if (err == 0 && x->who.dealer && x->who.role == ROLE_MANAGER)
        err = cmd__append(&text, &len, eng__label(e, x->lang, "help_appeal"));
    if (err == 0 && cmd__is_supervisor(&x->who))
        err = cmd__append(&text, &len, eng__label(e, x->lang, "help_decide"));
    if (err == 0 && cmd__is_supervisor(&x->who))
        err = cmd__append(&text, &len, eng__label(e, x->lang, "help_commend"));
    if (err == 0 && !x->who.dealer)
        err = cmd__append(&text, &len, eng__label(e, x->lang, "help_broadcast"));
    if (err == 0)
        err = cmd__append(&text, &len, eng__label(e, x->lang, "help_scorecard"));
    if (err == 0 && !x->who.dealer)
        err = cmd__append(&text, &len, eng__label(e, x->lang, "help_underperformers"));
    if (err == 0 && !x->who.dealer)
        err = cmd__append(&text, &len, eng__label(e, x->lang, "help_honour"));
    if (err == 0)
        err = cmd__append(&text, &len, eng__label(e, x->lang, "help_read"));
    if (err == 0)
        err = cmd__reply_text(x, 0, text);
    free(text);
    return err;
}
