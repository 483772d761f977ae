/*
 * cmd_network.c — the network programme: broadcast (bulletins to rooms and people, with read
 * confirmation), read, scorecard (a dealer beside the network) and underperformers (the
 * group, its refresh and pins).
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

/* ---- broadcasts ---- */

/* /broadcast <audience> <kind> [ack] <text>, by brand staff. "catalogue" as the text of a
 * penalty broadcast sends the penalty catalogue as a bulletin. */
int cmd__broadcast(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    if (x->who.dealer) {
        struct msg_var v[] = {{"command", x->word}};
        return cmd__reply(x, 0, "err_not_allowed", v, 1);
    }
    char *bulletin = NULL;
    const char *text = cmd->text;
    if (strcmp(cmd->bkind, "penalty") == 0 && text &&
        (strcasecmp(text, "catalogue") == 0 || strcmp(text, "处罚大全") == 0)) {
        bulletin = eng__catalogue_text(e, cmd__room_lang(x));
        if (!bulletin)
            return DBOT_ERR_NOMEM;
        text = bulletin;
    }
    struct broadcast b = {.audience = cmd->audience, .kind = cmd->bkind, .text = (char *)text,
                          .require_read = cmd->require_read, .created_by = x->who.jid,
                          .send_at = x->now};
    int64_t id = 0;
    int rooms = 0, people = 0;
    struct dbot_diag diag = {{0}};
    int err = eng__broadcast(e, &b, x->now, &id, &rooms, &people, &diag);
    free(bulletin);
    if (err == DBOT_ERR_INVALID) {
        struct msg_var v[] = {{"audience", cmd->audience}};
        return cmd__reply(x, 0, "err_bad_audience", v, 1);
    }
    if (err)
        return err;
    char bid[32], r[16], n[16];
    snprintf(bid, sizeof bid, "B-%lld", (long long)id);
    snprintf(r, sizeof r, "%d", rooms);
    snprintf(n, sizeof n, "%d", people);
    struct msg_var v[] = {{"id", bid}, {"rooms", r}, {"people", n}};
    return cmd__reply(x, 0, "broadcast_sent", v, 3);
}

/* /read B-n: the sender confirms reading a broadcast they were sent. */
int cmd__read(struct ctx *x, const struct command *cmd)
{
    char bid[32];
    snprintf(bid, sizeof bid, "B-%lld", (long long)cmd->broadcast);
    struct msg_var v[] = {{"id", bid}};
    struct broadcast b = {0};
    int err = store_broadcast_get(x->e->store, cmd->broadcast, &b);
    if (err == DBOT_ERR_NOTFOUND)
        return cmd__reply(x, 0, "err_unknown_broadcast", v, 1);
    if (err)
        return err;
    broadcast_cleanup(&b);
    bool first = false;
    err = store_broadcast_read(x->e->store, cmd->broadcast, x->who.jid, x->now, &first);
    if (err == DBOT_ERR_NOTFOUND)
        return cmd__reply(x, 0, "err_broadcast_not_yours", v, 1);
    if (err)
        return err;
    if (first)
        log_info(MOD, "%s read by %s", bid, x->who.jid);
    return cmd__reply(x, 0, first ? "read_ok" : "read_already", v, 1);
}

/* ---- /scorecard ---- */

static const char *const scm_keys[SCM__COUNT] = {
    "scm_complaints",     "scm_per_1000",  "scm_ack_compliance", "scm_solution_compliance",
    "scm_close_compliance", "scm_ack_p50", "scm_ack_p90",        "scm_close_p50",
    "scm_close_p90",      "scm_reopened",  "scm_rejected",       "scm_penalty_points",
    "scm_satisfaction",   "scm_answers",   "scm_reward_points",
};

/* /scorecard [dealer]: the dealer's figures over underperformers.window beside the network's
 * average, with its rank; a dealer's people see their own. */
int cmd__scorecard(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    const char *dealer = cmd->dealer;
    struct msg_var deny[] = {{"command", x->word}};
    if (x->who.dealer) {
        if (dealer && strcasecmp(dealer, x->who.dealer) != 0)
            return cmd__reply(x, 0, "err_not_allowed", deny, 1);
        dealer = x->who.dealer;
    } else if (!dealer) {
        return cmd__reply(x, 0, "err_scorecard_dealer", deny, 1); /* staff: whose scorecard? */
    }
    struct scorecard_set set = {0};
    int64_t w = e->cfg->underperformers.window_s;
    int err = store_scorecards(e->store, x->now - w, x->now + 1, x->now, &set);
    if (err)
        return err;
    const struct scorecard *d = scorecard_find(&set, dealer);
    if (!d) {
        scorecard_set_cleanup(&set);
        struct msg_var v[] = {{"code", dealer}};
        return cmd__reply(x, 0, "err_unknown_dealer", v, 1);
    }
    char window[48];
    eng__span(x->lang, w, window, sizeof window);
    struct msg_var hv[] = {{"dealer_code", d->code}, {"dealer_name", d->name},
                           {"window", window}};
    char *text = NULL;
    size_t len = 0;
    char *s = eng__text(e, x->lang, "scorecard_head", hv, 3);
    err = cmd__append(&text, &len, s);
    free(s);
    for (int m = 0; err == 0 && m < SCM__COUNT; m++) {
        char val[32], net[32], rank[96] = "", a[16], b[16], c[16];
        scorecard_value_format((enum scorecard_metric)m, &d->m[m], val, sizeof val);
        scorecard_value_format((enum scorecard_metric)m, &set.network.m[m], net, sizeof net);
        if (d->m[m].rank > 0) {
            snprintf(a, sizeof a, "%d", d->m[m].rank);
            snprintf(b, sizeof b, "%d", d->m[m].of);
            snprintf(c, sizeof c, "%.0f", d->m[m].percentile);
            struct msg_var rv[] = {{"rank", a}, {"of", b}, {"percentile", c}};
            char *r = eng__text(e, x->lang, "scorecard_rank", rv, 3);
            if (r)
                snprintf(rank, sizeof rank, "%s", r);
            free(r);
        }
        struct msg_var v[] = {{"metric", eng__label(e, x->lang, scm_keys[m])},
                              {"value", val},
                              {"network", net},
                              {"rank", rank}};
        s = eng__text(e, x->lang, "scorecard_line", v, 4);
        err = cmd__append(&text, &len, s);
        free(s);
    }
    if (err == 0)
        err = cmd__reply_text(x, 0, text);
    free(text);
    scorecard_set_cleanup(&set);
    return err;
}

/* ---- /underperformers ---- */

struct under_list {
    struct ctx *x;
    char *text;
    size_t len;
    int n;
    int err;
};

static int under_line(const struct under_row *r, void *arg)
{
    struct under_list *l = arg;
    struct ctx *x = l->x;
    if (r->since == 0 || r->pinned < 0)
        return 0; /* not listed */
    struct dealer d = {0};
    int err = store_dealer_get(x->e->store, r->dealer, &d);
    if (err)
        return err == DBOT_ERR_NOTFOUND ? 0 : err;
    char since[ENG_TIME_MAX];
    eng__when(r->since, d.timezone, since, sizeof since);
    since[10] = '\0'; /* the date */
    struct msg_var v[] = {{"dealer_code", d.code},
                          {"dealer_name", d.name},
                          {"since", since},
                          {"reasons", r->reasons},
                          {"pinned", r->pinned > 0 ? eng__label(x->e, x->lang,
                                                                "under_pinned_mark")
                                                   : ""}};
    char *s = eng__text(x->e, x->lang, "under_list_item", v, 5);
    err = cmd__append(&l->text, &l->len, s);
    free(s);
    dealer_cleanup(&d);
    l->n++;
    return err;
}

int cmd__underperformers(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    struct msg_var deny[] = {{"command", x->word}};
    if (x->who.dealer)
        return cmd__reply(x, 0, "err_not_allowed", deny, 1);
    const char *sub = cmd->text;
    if (sub && strcmp(sub, "refresh") == 0) {
        struct under_result res;
        int err = eng__under_evaluate(e, x->now, x->who.jid, 0, &res);
        if (err)
            return err;
        char a[16], b[16], c[16];
        snprintf(a, sizeof a, "%d", res.entered);
        snprintf(b, sizeof b, "%d", res.left);
        snprintf(c, sizeof c, "%d", res.listed);
        struct msg_var v[] = {{"entered", a}, {"left", b}, {"listed", c}};
        return cmd__reply(x, 0, "under_refreshed", v, 3);
    }
    if (sub) { /* pin / unpin: brand admins */
        if (x->who.role != ROLE_ADMIN)
            return cmd__reply(x, 0, "err_not_allowed", deny, 1);
        struct dealer d = {0};
        int err = store_dealer_get(e->store, cmd->dealer, &d);
        if (err == DBOT_ERR_NOTFOUND) {
            struct msg_var v[] = {{"code", cmd->dealer}};
            return cmd__reply(x, 0, "err_unknown_dealer", v, 1);
        }
        int pin = strcmp(sub, "unpin") == 0 ? 0 : cmd->pin_in ? 1 : -1;
        struct under_result res;
        if (err == 0)
            err = eng__under_pin(e, d.code, pin, x->who.jid, x->who.name, x->now, &res);
        struct msg_var v[] = {{"dealer_code", d.code},
                              {"how", eng__label(e, x->lang, pin > 0   ? "under_how_in"
                                                             : pin < 0 ? "under_how_out"
                                                                       : "under_how_unpin")}};
        if (err == 0)
            err = cmd__reply(x, 0, "under_pin_ok", v, 2);
        dealer_cleanup(&d);
        return err;
    }
    struct under_list l = {.x = x};
    int err = store_under_all(e->store, under_line, &l);
    char count[16];
    snprintf(count, sizeof count, "%d", l.n);
    struct msg_var hv[] = {{"count", count}};
    char *head = err ? NULL : eng__text(e, x->lang, l.n ? "under_list_head" : "under_list_empty",
                                        hv, 1);
    char *body = NULL;
    size_t blen = 0;
    if (err == 0)
        err = cmd__append(&body, &blen, head);
    if (err == 0 && l.text)
        err = cmd__append(&body, &blen, l.text);
    if (err == 0)
        err = cmd__reply_text(x, 0, body);
    free(head);
    free(body);
    free(l.text);
    return err;
}

/* /honour: the honour roll of the month just ended, now, by brand staff. */
int cmd__honour(struct ctx *x, const struct command *cmd)
{
    (void)cmd;
    if (x->who.dealer) {
        struct msg_var v[] = {{"command", x->word}};
        return cmd__reply(x, 0, "err_not_allowed", v, 1);
    }
    char month[24];
    int err = eng__honour_roll(x->e, x->now, month, sizeof month);
    if (err == 0) {
        struct msg_var v[] = {{"month", month}};
        err = cmd__reply(x, 0, "honour_sent", v, 1);
    }
    return err;
}
