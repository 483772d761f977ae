/*
 * cmd_status.c — status (one ticket: state, owner, deadlines, the last events) and list (the
 * open tickets by next deadline; a dealer's people see their own).
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

#define LIST_SHOWN 20      /* list lines in one message */
#define STATUS_EVENTS 5    /* status: the last events shown */
#define EVENT_DETAIL_MAX 60 /* code points of an event's detail in status */
#define SUMMARY_SHORT 30   /* code points of a summary in list */

/* ---- /status ---- */

struct recent {
    struct {
        int64_t at;
        char *actor, *kind, *detail;
    } ev[STATUS_EVENTS];
    int n, next;
};

static int keep_recent(const struct timeline_event *ev, void *arg)
{
    struct recent *r = arg;
    int i = r->next;
    free(r->ev[i].actor);
    free(r->ev[i].kind);
    free(r->ev[i].detail);
    r->ev[i].at = ev->at;
    r->ev[i].actor = strdup(ev->actor ? ev->actor : "");
    r->ev[i].kind = strdup(ev->kind ? ev->kind : "");
    r->ev[i].detail = ev->detail ? strdup(ev->detail) : NULL;
    if (!r->ev[i].actor || !r->ev[i].kind || (ev->detail && !r->ev[i].detail))
        return DBOT_ERR_NOMEM;
    r->next = (i + 1) % STATUS_EVENTS;
    if (r->n < STATUS_EVENTS)
        r->n++;
    return 0;
}

static void recent_free(struct recent *r)
{
    for (int i = 0; i < STATUS_EVENTS; i++) {
        free(r->ev[i].actor);
        free(r->ev[i].kind);
        free(r->ev[i].detail);
    }
}

/* Kinds whose detail is what a person typed (a note, a solution, a reason) or a code and
 * points: shown in /status as they are. The other details are written for the audit trail
 * (a refusal's reason, an SLA firing's milestone and level) and are shown through labels. */
static const char *const typed_detail[] = {"ack",    "plan",         "report", "reject",
                                           "reopen", "cancel",       "penalty",
                                           "satisfaction", NULL};
static const char *const sla_kinds[] = {"remind", "breach", "escalate", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (!strcmp(*list, s))
            return true;
    return false;
}

/* The {what} of one /status event line in x->lang: the kind's label ("event_<kind>", the
 * kind itself when no text has it) and the part of the detail a reader needs. */
static void event_what(const struct ctx *x, const char *kind, const char *detail, char *out,
                       size_t len, char *scratch, size_t slen)
{
    const struct engine *e = x->e;
    char key[48];
    snprintf(key, sizeof key, "event_%s", kind);
    const char *label = eng__label(e, x->lang, key);
    char word[24] = "";
    if (detail)
        sscanf(detail, "%23[a-z_]", word);
    const char *extra = NULL, *sep = " ";
    enum sla_milestone m;
    if (!detail) {
        extra = NULL;
    } else if (in_list(typed_detail, kind)) {
        extra = cmd__shorten(detail, EVENT_DETAIL_MAX, scratch, slen);
        sep = ": ";
    } else if (!strcmp(kind, "refused") && word[0]) {
        snprintf(scratch, slen, "%s", word); /* the detail starts with the command */
        extra = scratch;
    } else if (in_list(sla_kinds, kind) && sla_milestone_parse(word, &m) == 0) {
        char mkey[48];
        snprintf(mkey, sizeof mkey, "milestone_%s", word);
        snprintf(scratch, slen, "%s%s", eng__label(e, x->lang, mkey),
                 strstr(detail, "(late)") ? eng__label(e, x->lang, "late_mark") : "");
        extra = scratch;
    } else if (label == key) {
        extra = cmd__shorten(detail, EVENT_DETAIL_MAX, scratch, slen); /* an unknown kind */
        sep = ": ";
    }
    snprintf(out, len, "%s%s%s", label, extra ? sep : "", extra ? extra : "");
}

int cmd__status(struct ctx *x, const struct complaint *c, const struct command *cmd,
                enum complaint_state to)
{
    (void)cmd;
    (void)to;
    struct engine *e = x->e;
    struct dealer d = {0};
    int err = store_dealer_get(e->store, c->dealer, &d);
    if (err)
        return err;
    char ack[96], sol[96], clo[96];
    eng__due(e, x->lang, d.timezone, c->due.ack_due, c->ack_at, x->now, ack, sizeof ack);
    eng__due(e, x->lang, d.timezone, c->due.solution_due, c->solution_at, x->now, sol,
             sizeof sol);
    eng__due(e, x->lang, d.timezone, c->due.close_due, c->closed_at, x->now, clo, sizeof clo);
    struct person owner = {0};
    const char *owner_name = eng__label(e, x->lang, "value_none");
    if (c->owner && store_person_get(e->store, c->owner, &owner) == 0)
        owner_name = cmd__display(&owner);
    else if (c->owner)
        owner_name = c->owner;
    struct msg_var v[] = {{"id", x->cid},
                          {"state", eng__state_label(e, x->lang, c->state)},
                          {"priority", eng__prio_label(e, x->lang, c->priority)},
                          {"dealer_code", c->dealer},
                          {"owner", owner_name},
                          {"summary", c->summary},
                          {"ack_due", ack},
                          {"solution_due", sol},
                          {"close_due", clo}};
    char *text = NULL;
    size_t len = 0;
    char *s = eng__text(e, x->lang, "status", v, sizeof v / sizeof v[0]);
    err = cmd__append(&text, &len, s);
    free(s);

    struct recent r = {0};
    if (err == 0)
        err = store_timeline_each(e->store, c->id, keep_recent, &r);
    if (err == 0 && r.n > 0) {
        s = eng__text(e, x->lang, "status_events_head", NULL, 0);
        err = cmd__append(&text, &len, s);
        free(s);
        int first = r.n < STATUS_EVENTS ? 0 : r.next;
        for (int k = 0; err == 0 && k < r.n; k++) {
            int i = (first + k) % STATUS_EVENTS;
            char when[ENG_TIME_MAX], what[320], det[256];
            eng__when(r.ev[i].at, d.timezone, when, sizeof when);
            event_what(x, r.ev[i].kind, r.ev[i].detail, what, sizeof what, det, sizeof det);
            struct msg_var ev[] = {{"time", when}, {"who", r.ev[i].actor}, {"what", what}};
            s = eng__text(e, x->lang, "status_event", ev, 3);
            err = cmd__append(&text, &len, s);
            free(s);
        }
    }
    recent_free(&r);
    if (err == 0)
        err = cmd__reply_text(x, c->id, text);
    free(text);
    person_cleanup(&owner);
    dealer_cleanup(&d);
    return err;
}

/* ---- /list ---- */

struct listing {
    struct complaint *items;
    size_t n, cap;
    bool overdue_only;
    int64_t now;
};

static int collect(const struct complaint *c, void *arg)
{
    struct listing *l = arg;
    int64_t due = eng__next_due(c);
    if (l->overdue_only && !(due && due < l->now))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct complaint *t = realloc(l->items, cap * sizeof *t);
        if (!t)
            return DBOT_ERR_NOMEM;
        l->items = t;
        l->cap = cap;
    }
    /* Keep only what the list shows; the rest of the row is freed by the walker. */
    struct complaint *k = &l->items[l->n];
    memset(k, 0, sizeof *k);
    k->id = c->id;
    k->state = c->state;
    k->due = c->due;
    k->summary = strdup(c->summary ? c->summary : "");
    k->dealer = strdup(c->dealer ? c->dealer : "");
    if (!k->summary || !k->dealer) {
        complaint_cleanup(k);
        return DBOT_ERR_NOMEM;
    }
    l->n++;
    return 0;
}

int cmd__list(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    const char *dealer = cmd->dealer;
    if (x->who.dealer) {
        if (dealer && strcasecmp(dealer, x->who.dealer) != 0) {
            struct msg_var v[] = {{"command", x->word}};
            return cmd__reply(x, 0, "err_not_allowed", v, 1);
        }
        dealer = x->who.dealer;
    }
    struct listing l = {.overdue_only = cmd->overdue, .now = x->now};
    /* the store hands them over most urgent first */
    int err = store_complaint_each_open(e->store, dealer, 0, collect, &l);
    /* times in the dealer's zone when the list is one dealer's, else the brand's */
    struct dealer d = {0};
    if (err == 0 && dealer)
        (void)store_dealer_get(e->store, dealer, &d); /* not found: d stays empty */

    char *text = NULL;
    size_t len = 0;
    char count[24];
    snprintf(count, sizeof count, "%zu", l.n);
    struct msg_var hv[] = {{"count", count}};
    char *s = err ? NULL : eng__text(e, x->lang, l.n ? "list_head" : "list_empty", hv, 1);
    if (err == 0)
        err = cmd__append(&text, &len, s);
    free(s);
    for (size_t i = 0; err == 0 && i < l.n && i < LIST_SHOWN; i++) {
        const struct complaint *c = &l.items[i];
        int64_t due = eng__next_due(c);
        char id[32], when[ENG_TIME_MAX], sum[160];
        complaint_id_format(c->id, id, sizeof id);
        eng__when(due, d.timezone, when, sizeof when);
        struct msg_var v[] = {
            {"id", id},
            {"state", eng__state_label(e, x->lang, c->state)},
            {"next_due", when},
            {"summary", cmd__shorten(c->summary, SUMMARY_SHORT, sum, sizeof sum)},
            {"overdue", due < x->now ? eng__label(e, x->lang, "overdue_mark") : ""}};
        s = eng__text(e, x->lang, "list_item", v, sizeof v / sizeof v[0]);
        err = cmd__append(&text, &len, s);
        free(s);
    }
    if (err == 0 && l.n > LIST_SHOWN) {
        char more[32];
        snprintf(more, sizeof more, "… (+%zu)", l.n - LIST_SHOWN);
        err = cmd__append(&text, &len, more);
    }
    if (err == 0)
        err = cmd__reply_text(x, 0, text);
    free(text);
    for (size_t i = 0; i < l.n; i++)
        complaint_cleanup(&l.items[i]);
    free(l.items);
    dealer_cleanup(&d);
    return err;
}
