/*
 * cmd_close.c — close: the closing report (cause, fix, prevention). Fields given with the
 * command are taken; the missing ones are asked for one by one in a direct message (the
 * guided dialogue, kept in the store so it survives a restart); "cancel" without a ticket
 * ends it. A complete report moves the ticket to review and is posted in the staff room.
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

/* The report is complete: submitted, announced, and posted for review in the staff room. */
static int submit(struct ctx *x, const struct complaint *c, const char *cause, const char *fix,
                  const char *prevent, enum complaint_state to)
{
    struct complaint_change ch = {.to = to, .cause = cause, .fix = fix, .prevent = prevent,
                                  .report_at = x->now};
    int err = cmd__change(x, c, &ch);
    if (err)
        return err;
    if ((err = cmd__event(x, c->id, "report", cause)) != 0)
        return err;
    struct msg_var v[] = {{"id", x->cid}, {"who", cmd__display(&x->who)}};
    if ((err = cmd__announce(x, c, "close_submitted", v, 2)) != 0)
        return err;
    struct dealer d = {0};
    if ((err = store_dealer_get(x->e->store, c->dealer, &d)) != 0)
        return err;
    struct msg_var r[] = {{"id", x->cid},          {"dealer_code", d.code},
                          {"dealer_name", d.name}, {"who", cmd__display(&x->who)},
                          {"summary", c->summary}, {"cause", cause},
                          {"fix", fix},            {"prevent", prevent}};
    err = eng__say(x->e, c->id, true, x->e->cfg->chat.staff_room, cmd__room_lang(x), "review", r,
                   sizeof r / sizeof r[0], "review", x->now);
    dealer_cleanup(&d);
    return err;
}

static const char *const field_keys[] = {"cause", "fix", "prevent"};

/* The first field the dialogue still needs (0..2), or 3 when complete. */
static int missing_field(const struct dialogue *d)
{
    return !d->cause ? 0 : !d->fix ? 1 : !d->prevent ? 2 : 3;
}

static int ask(struct ctx *x, const struct dialogue *d)
{
    char key[16];
    snprintf(key, sizeof key, "ask_%s", field_keys[missing_field(d)]);
    complaint_id_format(d->complaint_id, x->cid, sizeof x->cid);
    struct msg_var v[] = {{"id", x->cid}};
    return cmd__tell(x, d->complaint_id, key, v, 1);
}

/* Takes over the fields the command gave (heap copies into d). */
static int merge(struct dialogue *d, const struct command *cmd)
{
    const char *given[] = {cmd->cause, cmd->fix, cmd->prevent};
    char **slot[] = {&d->cause, &d->fix, &d->prevent};
    for (int i = 0; i < 3; i++) {
        if (!given[i])
            continue;
        char *copy = strdup(given[i]);
        if (!copy)
            return DBOT_ERR_NOMEM;
        free(*slot[i]);
        *slot[i] = copy;
    }
    return 0;
}

int cmd__close(struct ctx *x, const struct complaint *c, const struct command *cmd,
                    enum complaint_state to)
{
    struct dialogue d = {0};
    int err = store_dialogue_get(x->e->store, x->who.jid, &d);
    if (err == 0 && d.complaint_id != c->id) {
        char other[32];
        complaint_id_format(d.complaint_id, other, sizeof other);
        dialogue_cleanup(&d);
        struct msg_var v[] = {{"id", other}};
        return cmd__reply(x, c->id, "dialogue_other", v, 1);
    }
    if (err == DBOT_ERR_NOTFOUND) {
        d = (struct dialogue){.complaint_id = c->id};
        err = 0;
    }
    if (err == 0)
        err = merge(&d, cmd);
    if (err == 0) {
        if (missing_field(&d) == 3) {
            err = submit(x, c, d.cause, d.fix, d.prevent, to);
            if (err == 0)
                err = store_dialogue_delete(x->e->store, x->who.jid);
        } else {
            err = store_dialogue_put(x->e->store, x->who.jid, &d, x->now);
            if (err == 0)
                err = cmd__event(x, c->id, "report_started", NULL);
            if (err == 0)
                err = ask(x, &d);
        }
    }
    dialogue_cleanup(&d);
    return err;
}

/* ---- the guided /close dialogue ---- */

/* A direct message that is not a command: the next answer of the sender's dialogue, if one
 * is running. Returns 0 also when there is none (the chatter is ignored). */
int cmd__dialogue_answer(struct ctx *x)
{
    struct dialogue d = {0};
    int err = store_dialogue_get(x->e->store, x->who.jid, &d);
    if (err == DBOT_ERR_NOTFOUND)
        return 0;
    if (err)
        return err;
    int field = missing_field(&d);
    complaint_id_format(d.complaint_id, x->cid, sizeof x->cid);

    /* trimmed answer */
    const char *a = x->m->text;
    while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')
        a++;
    size_t n = strlen(a);
    while (n && (a[n - 1] == ' ' || a[n - 1] == '\t' || a[n - 1] == '\n' || a[n - 1] == '\r'))
        n--;
    char *answer = strndup(a, n);
    if (!answer) {
        dialogue_cleanup(&d);
        return DBOT_ERR_NOMEM;
    }
    enum cmd_error ce = field < 3 ? report_field_check(answer) : CMDERR_NONE;
    if (ce != CMDERR_NONE) {
        char fkey[16];
        snprintf(fkey, sizeof fkey, "field_%s", field_keys[field]);
        const char *rkey = ce == CMDERR_TOO_LONG   ? "reason_too_long"
                           : ce == CMDERR_BAD_UTF8 ? "reason_bad_text"
                                                   : "reason_too_short";
        struct msg_var v[] = {{"field", eng__label(x->e, x->lang, fkey)},
                              {"reason", eng__label(x->e, x->lang, rkey)}};
        err = cmd__tell(x, d.complaint_id, "dialogue_invalid", v, 2);
        free(answer);
        dialogue_cleanup(&d);
        return err;
    }
    char **slot[] = {&d.cause, &d.fix, &d.prevent};
    if (field < 3)
        *slot[field] = answer;
    else
        free(answer);

    if (missing_field(&d) < 3) {
        err = store_dialogue_put(x->e->store, x->who.jid, &d, x->now);
        if (err == 0)
            err = ask(x, &d);
        dialogue_cleanup(&d);
        return err;
    }
    /* Complete: the ticket may have moved on meanwhile; decide again. */
    struct complaint c;
    err = store_complaint_get(x->e->store, d.complaint_id, &c);
    if (err == DBOT_ERR_NOTFOUND) {
        err = store_dialogue_delete(x->e->store, x->who.jid);
    } else if (err == 0) {
        enum complaint_state to;
        int rc = cmd__decide(x, &c, LC_SUBMIT, &to);
        if (rc == 0)
            rc = submit(x, &c, d.cause, d.fix, d.prevent, to);
        if (rc >= 0)
            err = store_dialogue_delete(x->e->store, x->who.jid);
        else
            err = rc;
        complaint_cleanup(&c);
    }
    dialogue_cleanup(&d);
    return err;
}

int cmd__cancel_dialogue(struct ctx *x)
{
    struct dialogue d = {0};
    int err = store_dialogue_get(x->e->store, x->who.jid, &d);
    if (err == DBOT_ERR_NOTFOUND)
        return cmd__reply(x, 0, "dialogue_none", NULL, 0);
    if (err)
        return err;
    complaint_id_format(d.complaint_id, x->cid, sizeof x->cid);
    err = store_dialogue_delete(x->e->store, x->who.jid);
    if (err == 0)
        err = cmd__event(x, d.complaint_id, "report_cancelled", NULL);
    struct msg_var v[] = {{"id", x->cid}};
    if (err == 0)
        err = cmd__reply(x, d.complaint_id, "dialogue_cancelled", v, 1);
    dialogue_cleanup(&d);
    return err;
}
