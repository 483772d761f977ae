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

/* The /scorecard text of dealer d beside the network (a new string in *out). Reads only the
 * set, the config and the loaded texts, so that it may run on a reader thread. */
static int scorecard_text(const struct engine *e, const char *lang, int64_t w,
                          const struct scorecard_set *set, const struct scorecard *d, char **out)
{
    char window[48];
    eng__span(lang, w, window, sizeof window);
    struct msg_var hv[] = {{"dealer_code", d->code}, {"dealer_name", d->name},
                           {"window", window}};
    char *text = NULL;
    size_t len = 0;
    char *s = eng__text(e, lang, "scorecard_head", hv, 3);
    int err = cmd__append(&text, &len, s);
    free(s);
    for (int m = 0; err == 0 && m < SCM__COUNT; m++) {
        char val[32], net[32], rank[96] = "", a[16], b[16], c[16];
        scorecard_value_format((enum scorecard_metric)m, &d->m[m], val, sizeof val);
        scorecard_value_format((enum scorecard_metric)m, &set->network.m[m], net, sizeof net);
        if (d->m[m].rank > 0) {
            snprintf(a, sizeof a, "%d", d->m[m].rank);
            snprintf(b, sizeof b, "%d", d->m[m].of);
            snprintf(c, sizeof c, "%.0f", d->m[m].percentile);
            struct msg_var rv[] = {{"rank", a}, {"of", b}, {"percentile", c}};
            char *r = eng__text(e, lang, "scorecard_rank", rv, 3);
            if (r)
                snprintf(rank, sizeof rank, "%s", r);
            free(r);
        }
        struct msg_var v[] = {{"metric", eng__label(e, lang, scm_keys[m])},
                              {"value", val},
                              {"network", net},
                              {"rank", rank}};
        s = eng__text(e, lang, "scorecard_line", v, 4);
        err = cmd__append(&text, &len, s);
        free(s);
    }
    if (err)
        free(text);
    else
        *out = text;
    return err;
}

/*
 * /scorecard off the loop. The network's scorecards take about half a second at a million
 * complaints, so with reader threads (e->readers) the command only starts the read: the
 * reader computes the set and renders the text (scorecard_render, on its thread), and the
 * answer is written into the outbox on the loop thread when the read comes back
 * (scorecard_done), in a transaction of its own. The message itself was recorded as handled
 * when the command was taken (the inbox), so a crash in between loses only this answer, as
 * it would lose a reply not yet sent: the sender asks again.
 */
struct scorecard_cmd {
    struct engine *e;          /* used on the loop thread only, and read-only on the reader */
    char *dealer, *lang, *target;
    bool group;
    int64_t w, now;
    char *text;                /* the answer (reader thread), NULL when the dealer is unknown */
};

static void scorecard_cmd_free(struct scorecard_cmd *q)
{
    free(q->dealer);
    free(q->lang);
    free(q->target);
    free(q->text);
    free(q);
}

/* Reader thread. */
static int scorecard_render(struct scorecard_set *set, void *arg)
{
    struct scorecard_cmd *q = arg;
    const struct scorecard *d = scorecard_find(set, q->dealer);
    if (!d)
        return 0;
    return scorecard_text(q->e, q->lang, q->w, set, d, &q->text);
}

/* Loop thread. */
static void scorecard_done(void *arg, int rc, bool cancelled)
{
    struct scorecard_cmd *q = arg;
    struct engine *e = q->e;
    if (cancelled) { /* the daemon is stopping */
        scorecard_cmd_free(q);
        return;
    }
    if (rc)
        log_error(MOD, "/scorecard %s for %s: %s", q->dealer, q->target, dbot_strerror(rc));
    eng__forget(e);
    int err = store_begin(e->store);
    if (err == 0) {
        struct msg_var v[] = {{"code", q->dealer}};
        if (rc)
            err = eng__say(e, 0, q->group, q->target, q->lang, "err_internal", NULL, 0, "reply",
                           q->now);
        else if (!q->text)
            err = eng__say(e, 0, q->group, q->target, q->lang, "err_unknown_dealer", v, 1,
                           "reply", q->now);
        else
            err = eng__send(e, 0, q->group, q->target, q->text, "reply", q->now);
        if (err == 0)
            err = store_commit(e->store);
        else
            store_rollback(e->store);
    }
    if (err) {
        log_error(MOD, "/scorecard answer to %s not written: %s", q->target, dbot_strerror(err));
        eng__forget(e);
    } else {
        eng__after_commit(e);
    }
    scorecard_cmd_free(q);
}

/* Starts the read; 0, or DBOT_ERR_BUSY / DBOT_ERR_NOMEM (nothing started). */
static int scorecard_start(struct ctx *x, const char *dealer, int64_t w)
{
    const struct chat_message *m = x->m;
    struct scorecard_cmd *q = calloc(1, sizeof *q);
    if (!q)
        return DBOT_ERR_NOMEM;
    q->e = x->e;
    q->dealer = strdup(dealer);
    q->lang = strdup(x->lang);
    q->target = strdup(m->group ? m->room : m->sender);
    q->group = m->group;
    q->w = w;
    q->now = x->now;
    if (!q->dealer || !q->lang || !q->target) {
        scorecard_cmd_free(q);
        return DBOT_ERR_NOMEM;
    }
    int err = engine_scorecards_start(x->e, x->now - w, x->now + 1, x->now, scorecard_render,
                                      scorecard_done, q, NULL);
    if (err)
        scorecard_cmd_free(q);
    return err;
}

/* /scorecard [dealer]: the dealer's figures over underperformers.window beside the network's
 * average, with its rank; a dealer's people see their own. With reader threads the answer
 * comes when the read is back (above); without (tests of the engine alone), at once. */
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
    int64_t w = e->cfg->underperformers.window_s;
    if (e->readers) {
        int err = scorecard_start(x, dealer, w);
        if (err == DBOT_ERR_BUSY) {
            struct msg_var bv[] = {{"command", x->word}, {"seconds", "5"}};
            return cmd__reply(x, 0, "err_reports_busy", bv, 2);
        }
        return err;
    }
    struct scorecard_set set = {0};
    int err = store_scorecards(e->store, x->now - w, x->now + 1, x->now, &set);
    if (err)
        return err;
    const struct scorecard *d = scorecard_find(&set, dealer);
    if (!d) {
        scorecard_set_cleanup(&set);
        struct msg_var v[] = {{"code", dealer}};
        return cmd__reply(x, 0, "err_unknown_dealer", v, 1);
    }
    char *text = NULL;
    err = scorecard_text(e, x->lang, w, &set, d, &text);
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
