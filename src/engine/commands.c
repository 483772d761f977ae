/*
 * commands.c — a chat message in, one decision out: the lifecycle commands (DESIGN.md, Chat
 * commands), the guided /close dialogue, and every refusal.
 *
 * Each message is handled in ONE store transaction: the state change, its timeline event and
 * every chat message it causes (the announcement in the dealer room, the reply where the
 * command came from, the report for review in the staff room) are committed together. The
 * sender is who the chat adapter says (the real bare JID, never a nickname), looked up in the
 * directory; the grammar is command.h's, the rules lifecycle.h's. Replies use the sender's
 * language; what goes into a room uses the configured language. A refusal changes nothing
 * but the timeline (when it concerns a ticket) and says why in one line.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/chat.h"
#include "dealerbot/command.h"
#include "dealerbot/directory.h"
#include "dealerbot/lifecycle.h"
#include "dealerbot/log.h"
#include "dealerbot/scorecard.h"
#include "dealerbot/sla.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"

#define MOD "engine"
#define LIST_SHOWN 20      /* /list lines in one message */
#define STATUS_EVENTS 5    /* /status: the last events shown */
#define EVENT_DETAIL_MAX 60 /* code points of an event's detail in /status */
#define SUMMARY_SHORT 30   /* code points of a summary in /list */

/* One message being handled. */
struct ctx {
    struct engine *e;
    const struct chat_message *m;
    int64_t now;
    struct person who;        /* the sender, from the directory */
    const char *lang;         /* the sender's language */
    char word[COMMAND_WORD_SIZE]; /* the command word as typed ("/受理") */
    char cid[32];             /* "C-12" of the ticket in hand */
};

/* ---- small helpers ---- */

static const char *room_lang(const struct ctx *x)
{
    return x->e->cfg->language;
}

/* Answers where the message came from: the same room, or the sender directly. */
static int reply(struct ctx *x, int64_t complaint_id, const char *key,
                 const struct msg_var *v, size_t n)
{
    const struct chat_message *m = x->m;
    return eng__say(x->e, complaint_id, m->group, m->group ? m->room : m->sender, x->lang, key,
                    v, n, "reply", x->now);
}

/* A direct message to the sender (the dialogue's prompts). */
static int tell(struct ctx *x, int64_t complaint_id, const char *key, const struct msg_var *v,
                size_t n)
{
    return eng__say(x->e, complaint_id, false, x->m->sender, x->lang, key, v, n, "reply",
                    x->now);
}

/* Posts into the complaint's dealer room, and answers the sender too when the command came
 * from somewhere else (another room, a direct message). */
static int announce(struct ctx *x, const struct complaint *c, const char *key,
                    const struct msg_var *v, size_t n)
{
    char room[DEALER_ROOM_MAX];
    dealer_room_name(c->dealer, room, sizeof room);
    int err = eng__say(x->e, c->id, true, room, room_lang(x), key, v, n, "notice", x->now);
    if (err == 0 && !(x->m->group && strcmp(x->m->room, room) == 0))
        err = reply(x, c->id, key, v, n);
    return err;
}

static int event(struct ctx *x, int64_t complaint_id, const char *kind, const char *detail)
{
    return store_timeline_add(x->e->store, complaint_id, x->now, x->m->sender, kind, detail,
                              x->m->platform_id);
}

/* Copies at most `max` code points of s into buf (with "…" when cut). */
static const char *shorten(const char *s, size_t max, char *buf, size_t len)
{
    bool cut;
    size_t i = utf8_cut(s, strlen(s), max, len - 4, &cut); /* room for "…" and the NUL */
    snprintf(buf, len, "%.*s%s", (int)i, s, cut ? "…" : "");
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    return buf;
}

/* The person's display name: the directory name, else the JID. */
static const char *display(const struct person *p)
{
    return p->name && p->name[0] ? p->name : p->jid;
}

/* ---- refusals ---- */

static const char *cmd_error_key(enum cmd_error e)
{
    switch (e) {
    case CMDERR_UNKNOWN_COMMAND: return "err_unknown_command";
    case CMDERR_MISSING_TICKET: return "err_missing_ticket";
    case CMDERR_BAD_TICKET: return "err_bad_ticket";
    case CMDERR_MISSING_TEXT: return "err_missing_text";
    case CMDERR_BAD_ETA: return "err_bad_eta";
    case CMDERR_TOO_LONG: return "err_too_long";
    case CMDERR_BAD_UTF8: return "err_bad_utf8";
    case CMDERR_BAD_ARGUMENT:
    case CMDERR_NONE: break;
    }
    return "err_bad_argument";
}

/* The second word of the message (the argument where a ticket id belongs), for "C-x is not
 * a complaint number". */
static void second_word(const char *text, char *buf, size_t len)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    while (*p && *p != ' ' && *p != '\t' && *p != '\n')
        p++;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, " \t\r\n");
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*s", (int)(n < sizeof tmp - 1 ? n : sizeof tmp - 1), p);
    shorten(tmp, 20, buf, len);
}

static int refuse_parse(struct ctx *x, enum cmd_error ce)
{
    char arg[96];
    second_word(x->m->text, arg, sizeof arg);
    const char *word = x->word[0] ? x->word : "/";
    struct msg_var v[] = {{"word", ce == CMDERR_BAD_TICKET ? arg : word}, {"command", word}};
    return reply(x, 0, cmd_error_key(ce), v, 2);
}

static const char *state_key(const char *hint)
{
    static const struct {
        const char *hint, *key;
    } map[] = {
        {"need_ack", "err_state_need_ack"},   {"need_plan", "err_state_need_plan"},
        {"already_acked", "err_state_already_acked"}, {"no_report", "err_state_no_report"},
        {"closed", "err_state_closed"},       {"cancelled", "err_state_cancelled"},
    };
    for (size_t i = 0; hint && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(hint, map[i].hint) == 0)
            return map[i].key;
    return "err_state_other";
}

/* Answers a lifecycle refusal and records it on the ticket. */
static int refuse(struct ctx *x, const struct complaint *c, enum lc_action a,
                  enum lc_refusal why)
{
    const char *key, *what;
    struct msg_var v[] = {{"id", x->cid},
                          {"state", eng__state_label(x->e, x->lang, c->state)},
                          {"command", x->word}};
    if (why == LC_REFUSE_OTHER_DEALER) {
        key = "err_other_dealer";
        what = "another dealer's ticket";
    } else if (why == LC_REFUSE_ROLE) {
        key = "err_not_allowed";
        what = "not allowed for this sender";
    } else {
        const char *hint = lifecycle_state_hint(c->state, a);
        key = state_key(hint);
        what = hint ? hint : "wrong state";
    }
    char detail[160];
    snprintf(detail, sizeof detail, "%s refused: %s", lc_action_name(a), what);
    log_info(MOD, "%s: %s by %s refused (%s)", x->cid, lc_action_name(a), x->m->sender, what);
    int err = event(x, c->id, "refused", detail);
    if (err == 0)
        err = reply(x, c->id, key, v, 3);
    return err;
}

/* ---- the ticket in hand ---- */

/* Loads ticket `id` for the command; an unknown id is answered (and *c not filled: returns 1). */
static int load(struct ctx *x, int64_t id, struct complaint *c)
{
    complaint_id_format(id, x->cid, sizeof x->cid);
    int err = store_complaint_get(x->e->store, id, c);
    if (err == DBOT_ERR_NOTFOUND) {
        struct msg_var v[] = {{"id", x->cid}};
        err = reply(x, 0, "err_unknown_ticket", v, 1);
        return err ? err : 1;
    }
    return err;
}

static struct actor actor_of(const struct person *p, const struct complaint *c)
{
    struct actor a = {.kind = p->dealer ? ACTOR_DEALER : ACTOR_BRAND, .role = p->role};
    a.own_dealer = p->dealer && c && strcasecmp(p->dealer, c->dealer) == 0;
    return a;
}

/* Decides `a` on c: 0 and *to when allowed; 1 when refused (answered); or an error. */
static int decide(struct ctx *x, const struct complaint *c, enum lc_action a,
                  enum complaint_state *to)
{
    struct actor who = actor_of(&x->who, c);
    enum lc_refusal why = lifecycle_decide(c->state, a, &who, to);
    if (why == LC_OK)
        return 0;
    int err = refuse(x, c, a, why);
    return err ? err : 1;
}

/* Applies a change decided on c->state; a state moved meanwhile is answered as wrong state. */
/* The state moved after the decision was made (another writer): answered as wrong state. */
static int change_conflict(struct ctx *x, const struct complaint *c)
{
    struct msg_var v[] = {{"id", x->cid}, {"state", eng__state_label(x->e, x->lang, c->state)}};
    int err = reply(x, c->id, "err_state_other", v, 2);
    return err ? err : 1;
}

static int change(struct ctx *x, const struct complaint *c, struct complaint_change *ch)
{
    ch->from = c->state;
    int err = store_complaint_change(x->e->store, c->id, ch, x->now);
    if (err == DBOT_ERR_CONFLICT)
        return change_conflict(x, c);
    if (err == 0)
        log_info(MOD, "%s: %s -> %s by %s", x->cid, complaint_state_name(ch->from),
                 complaint_state_name(ch->to), x->m->sender);
    return err;
}

/* ---- the steps ---- */

static int do_ack(struct ctx *x, const struct complaint *c, const struct command *cmd,
                  enum complaint_state to)
{
    struct complaint_change ch = {.to = to, .owner = x->who.jid, .ack_at = x->now,
                                  .eta = cmd->eta};
    int err = change(x, c, &ch);
    if (err)
        return err;
    /* the whole note goes into the timeline (a command is at most COMMAND_MAX_BYTES) */
    size_t dlen = (cmd->eta ? strlen(cmd->eta) + 6 : 0) + (cmd->text ? strlen(cmd->text) : 0) + 1;
    char *detail = malloc(dlen);
    if (!detail)
        return DBOT_ERR_NOMEM;
    snprintf(detail, dlen, "%s%s%s%s", cmd->eta ? "eta " : "", cmd->eta ? cmd->eta : "",
             cmd->eta && cmd->text ? "; " : "", cmd->text ? cmd->text : "");
    err = event(x, c->id, "ack", detail[0] ? detail : NULL);
    free(detail);
    if (err)
        return err;
    if ((err = store_sla_cancel(x->e->store, c->id, 1u << MS_ACK, x->now)) != 0)
        return err;
    const char *none = eng__label(x->e, room_lang(x), "value_none");
    struct msg_var v[] = {{"id", x->cid}, {"owner", display(&x->who)},
                          {"eta", cmd->eta ? cmd->eta : none}};
    return announce(x, c, "ack_ok", v, 3);
}

static int do_plan(struct ctx *x, const struct complaint *c, const struct command *cmd,
                   enum complaint_state to)
{
    struct complaint_change ch = {.to = to, .solution = cmd->text, .solution_at = x->now};
    int err = change(x, c, &ch);
    if (err)
        return err;
    if ((err = event(x, c->id, "plan", cmd->text)) != 0)
        return err;
    if ((err = store_sla_cancel(x->e->store, c->id, 1u << MS_SOLUTION, x->now)) != 0)
        return err;
    struct msg_var v[] = {{"id", x->cid}, {"who", display(&x->who)}, {"solution", cmd->text}};
    return announce(x, c, "plan_ok", v, 3);
}

/* The report is complete: submitted, announced, and posted for review in the staff room. */
static int submit(struct ctx *x, const struct complaint *c, const char *cause, const char *fix,
                  const char *prevent, enum complaint_state to)
{
    struct complaint_change ch = {.to = to, .cause = cause, .fix = fix, .prevent = prevent,
                                  .report_at = x->now};
    int err = change(x, c, &ch);
    if (err)
        return err;
    if ((err = event(x, c->id, "report", cause)) != 0)
        return err;
    struct msg_var v[] = {{"id", x->cid}, {"who", display(&x->who)}};
    if ((err = announce(x, c, "close_submitted", v, 2)) != 0)
        return err;
    struct dealer d = {0};
    if ((err = store_dealer_get(x->e->store, c->dealer, &d)) != 0)
        return err;
    struct msg_var r[] = {{"id", x->cid},          {"dealer_code", d.code},
                          {"dealer_name", d.name}, {"who", display(&x->who)},
                          {"summary", c->summary}, {"cause", cause},
                          {"fix", fix},            {"prevent", prevent}};
    err = eng__say(x->e, c->id, true, x->e->cfg->chat.staff_room, room_lang(x), "review", r,
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
    return tell(x, d->complaint_id, key, v, 1);
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

static int do_close(struct ctx *x, const struct complaint *c, const struct command *cmd,
                    enum complaint_state to)
{
    struct dialogue d = {0};
    int err = store_dialogue_get(x->e->store, x->who.jid, &d);
    if (err == 0 && d.complaint_id != c->id) {
        char other[32];
        complaint_id_format(d.complaint_id, other, sizeof other);
        dialogue_cleanup(&d);
        struct msg_var v[] = {{"id", other}};
        return reply(x, c->id, "dialogue_other", v, 1);
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
                err = event(x, c->id, "report_started", NULL);
            if (err == 0)
                err = ask(x, &d);
        }
    }
    dialogue_cleanup(&d);
    return err;
}

static int do_approve(struct ctx *x, const struct complaint *c, enum complaint_state to)
{
    struct complaint_change ch = {.to = to, .closed_at = x->now};
    int err = change(x, c, &ch);
    if (err == 0)
        err = event(x, c->id, "approve", NULL);
    if (err == 0)
        err = store_sla_cancel(x->e->store, c->id, MS_ALL, x->now);
    struct msg_var v[] = {{"id", x->cid}, {"who", display(&x->who)}};
    return err ? err : announce(x, c, "approved", v, 2);
}

static int do_reject(struct ctx *x, const struct complaint *c, const struct command *cmd,
                     enum complaint_state to)
{
    struct complaint_change ch = {.to = to, .count_reject = true};
    int err = change(x, c, &ch);
    if (err == 0)
        err = event(x, c->id, "reject", cmd->text);
    /* Back with the dealer, the close deadline unchanged: what the review held back of the
     * close clock is planned again, and a deadline that passed meanwhile is not silent (its
     * breach and escalations fire now, marked late). */
    if (err == 0)
        err = eng__resume_close(x->e, c, x->now);
    struct msg_var v[] = {{"id", x->cid}, {"who", display(&x->who)}, {"reason", cmd->text}};
    return err ? err : announce(x, c, "rejected", v, 3);
}

static int do_reopen(struct ctx *x, const struct complaint *c, const struct command *cmd,
                     enum complaint_state to)
{
    char when[ENG_TIME_MAX];
    int err = eng__reopen(x->e, c, to, x->m->sender, cmd->text, x->m->platform_id, x->now,
                          when, sizeof when);
    if (err)
        return err == DBOT_ERR_CONFLICT ? change_conflict(x, c) : err;
    struct msg_var v[] = {{"id", x->cid}, {"who", display(&x->who)}, {"reason", cmd->text},
                          {"close_due", when}};
    return announce(x, c, "reopened", v, 4);
}

static int do_cancel_ticket(struct ctx *x, const struct complaint *c,
                            const struct command *cmd, enum complaint_state to)
{
    struct complaint_change ch = {.to = to};
    int err = change(x, c, &ch);
    if (err == 0)
        err = event(x, c->id, "cancel", cmd->text);
    if (err == 0)
        err = store_sla_cancel(x->e->store, c->id, MS_ALL, x->now);
    const char *none = eng__label(x->e, room_lang(x), "value_none");
    struct msg_var v[] = {{"id", x->cid}, {"who", display(&x->who)},
                          {"reason", cmd->text ? cmd->text : none}};
    return err ? err : announce(x, c, "cancelled", v, 3);
}

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
        extra = shorten(detail, EVENT_DETAIL_MAX, scratch, slen);
        sep = ": ";
    } else if (!strcmp(kind, "refused") && word[0]) {
        snprintf(scratch, slen, "/%s", word); /* the detail starts with the command */
        extra = scratch;
    } else if (in_list(sla_kinds, kind) && sla_milestone_parse(word, &m) == 0) {
        char mkey[48];
        snprintf(mkey, sizeof mkey, "milestone_%s", word);
        snprintf(scratch, slen, "%s%s", eng__label(e, x->lang, mkey),
                 strstr(detail, "(late)") ? eng__label(e, x->lang, "late_mark") : "");
        extra = scratch;
    } else if (label == key) {
        extra = shorten(detail, EVENT_DETAIL_MAX, scratch, slen); /* an unknown kind */
        sep = ": ";
    }
    snprintf(out, len, "%s%s%s", label, extra ? sep : "", extra ? extra : "");
}

/* Appends s and a newline to a growing text; the buffer is freed on failure. */
static int append(char **text, size_t *len, const char *s)
{
    if (!s)
        return DBOT_ERR_NOMEM;
    size_t n = strlen(s);
    char *t = realloc(*text, *len + n + 2);
    if (!t)
        return DBOT_ERR_NOMEM;
    if (*len)
        t[(*len)++] = '\n';
    memcpy(t + *len, s, n + 1);
    *len += n;
    *text = t;
    return 0;
}

static int do_status(struct ctx *x, const struct complaint *c)
{
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
        owner_name = display(&owner);
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
    err = append(&text, &len, s);
    free(s);

    struct recent r = {0};
    if (err == 0)
        err = store_timeline_each(e->store, c->id, keep_recent, &r);
    if (err == 0 && r.n > 0) {
        s = eng__text(e, x->lang, "status_events_head", NULL, 0);
        err = append(&text, &len, s);
        free(s);
        int first = r.n < STATUS_EVENTS ? 0 : r.next;
        for (int k = 0; err == 0 && k < r.n; k++) {
            int i = (first + k) % STATUS_EVENTS;
            char when[ENG_TIME_MAX], what[320], det[256];
            eng__when(r.ev[i].at, d.timezone, when, sizeof when);
            event_what(x, r.ev[i].kind, r.ev[i].detail, what, sizeof what, det, sizeof det);
            struct msg_var ev[] = {{"time", when}, {"who", r.ev[i].actor}, {"what", what}};
            s = eng__text(e, x->lang, "status_event", ev, 3);
            err = append(&text, &len, s);
            free(s);
        }
    }
    recent_free(&r);
    if (err == 0)
        err = eng__send(e, c->id, x->m->group, x->m->group ? x->m->room : x->m->sender, text,
                        "reply", x->now);
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

static int do_list(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    const char *dealer = cmd->dealer;
    if (x->who.dealer) {
        if (dealer && strcasecmp(dealer, x->who.dealer) != 0) {
            struct msg_var v[] = {{"command", x->word}};
            return reply(x, 0, "err_not_allowed", v, 1);
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
        err = append(&text, &len, s);
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
            {"summary", shorten(c->summary, SUMMARY_SHORT, sum, sizeof sum)},
            {"overdue", due < x->now ? eng__label(e, x->lang, "overdue_mark") : ""}};
        s = eng__text(e, x->lang, "list_item", v, sizeof v / sizeof v[0]);
        err = append(&text, &len, s);
        free(s);
    }
    if (err == 0 && l.n > LIST_SHOWN) {
        char more[32];
        snprintf(more, sizeof more, "… (+%zu)", l.n - LIST_SHOWN);
        err = append(&text, &len, more);
    }
    if (err == 0)
        err = eng__send(e, 0, x->m->group, x->m->group ? x->m->room : x->m->sender, text,
                        "reply", x->now);
    free(text);
    for (size_t i = 0; i < l.n; i++)
        complaint_cleanup(&l.items[i]);
    free(l.items);
    dealer_cleanup(&d);
    return err;
}

/* ---- penalties ---- */

static bool is_supervisor(const struct person *p)
{
    return !p->dealer && (p->role == ROLE_SUPERVISOR || p->role == ROLE_ADMIN);
}

/* The window penalty totals are counted over (the scorecards' window). */
static int64_t penalty_since(const struct ctx *x)
{
    return x->now - x->e->cfg->underperformers.window_s;
}

/* /penalty <dealer> <code> [C-n] [note]: a catalogue penalty, by a supervisor or admin. */
static int do_penalty(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    if (!is_supervisor(&x->who)) {
        struct msg_var v[] = {{"command", x->word}};
        return reply(x, 0, "err_not_allowed", v, 1);
    }
    struct dealer d = {0};
    struct penalty_rule rule = {0};
    struct complaint c = {0};
    bool have_c = false;
    int err = store_dealer_get(e->store, cmd->dealer, &d);
    if (err == DBOT_ERR_NOTFOUND) {
        struct msg_var v[] = {{"code", cmd->dealer}};
        return reply(x, 0, "err_unknown_dealer", v, 1);
    }
    if (err == 0 && (err = store_penalty_rule_get(e->store, cmd->penalty_code, &rule)) ==
                        DBOT_ERR_NOTFOUND) {
        struct msg_var v[] = {{"code", cmd->penalty_code}};
        err = reply(x, 0, "err_unknown_penalty", v, 1);
        goto out;
    }
    if (err == 0 && cmd->ticket) {
        err = load(x, cmd->ticket, &c);
        if (err) {
            err = err > 0 ? 0 : err;
            goto out;
        }
        have_c = true;
        if (strcasecmp(c.dealer, d.code) != 0) {
            struct msg_var v[] = {{"id", x->cid}};
            err = reply(x, c.id, "err_other_dealer", v, 1);
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
        err = event(x, c.id, "penalty", detail);
    }
    if (err == 0) {
        log_info(MOD, "penalty %s (%d) for %s by %s", rule.code, rule.points, d.code,
                 x->who.jid);
        char pts[16], tot[24], room[DEALER_ROOM_MAX];
        snprintf(pts, sizeof pts, "%d", rule.points);
        snprintf(tot, sizeof tot, "%lld", (long long)total);
        const char *none = eng__label(e, room_lang(x), "value_none");
        struct msg_var v[] = {{"dealer_code", d.code},  {"dealer_name", d.name},
                              {"code", rule.code},      {"violation", rule.violation},
                              {"points", pts},          {"total", tot},
                              {"id", have_c ? x->cid : none},
                              {"who", display(&x->who)}, {"note", cmd->text ? cmd->text : none}};
        size_t n = sizeof v / sizeof v[0];
        dealer_room_name(d.code, room, sizeof room);
        err = eng__say(e, have_c ? c.id : 0, true, room, room_lang(x), "penalty_added", v, n,
                       "notice", x->now);
        if (err == 0 && !(x->m->group && strcmp(x->m->room, room) == 0))
            err = reply(x, have_c ? c.id : 0, "penalty_added", v, n);
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
    char when[ENG_TIME_MAX], pts[16], id[32];
    const char *none = eng__label(x->e, x->lang, "value_none");
    eng__when(p->at, l->tz, when, sizeof when);
    snprintf(pts, sizeof pts, "%d", p->points);
    struct msg_var v[] = {{"time", when},
                          {"code", p->code},
                          {"points", pts},
                          {"id", p->complaint_id ? complaint_id_format(p->complaint_id, id,
                                                                       sizeof id)
                                                 : none},
                          {"note", p->note ? p->note : none}};
    char *s = eng__text(x->e, x->lang, "penalties_item", v, 5);
    int err = append(&l->text, &l->len, s);
    free(s);
    l->n++;
    return err;
}

/* /penalties [dealer]: a dealer's ledger over the window; dealers see their own. */
static int do_penalties(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    const char *dealer = cmd->dealer;
    if (x->who.dealer) {
        if (dealer && strcasecmp(dealer, x->who.dealer) != 0) {
            struct msg_var v[] = {{"command", x->word}};
            return reply(x, 0, "err_not_allowed", v, 1);
        }
        dealer = x->who.dealer;
    } else if (!dealer) {
        struct msg_var v[] = {{"command", x->word}};
        return reply(x, 0, "err_bad_argument", v, 1);
    }
    struct dealer d = {0};
    int err = store_dealer_get(e->store, dealer, &d);
    if (err == DBOT_ERR_NOTFOUND) {
        struct msg_var v[] = {{"code", dealer}};
        return reply(x, 0, "err_unknown_dealer", v, 1);
    }
    int64_t total = 0;
    if (err == 0)
        err = store_penalty_total(e->store, d.code, penalty_since(x), &total);
    struct ledger l = {.x = x, .tz = d.timezone};
    if (err == 0)
        err = store_penalty_each(e->store, d.code, penalty_since(x), 20, ledger_line, &l);
    if (err == 0) {
        char tot[24], cnt[24];
        snprintf(tot, sizeof tot, "%lld", (long long)total);
        snprintf(cnt, sizeof cnt, "%d", l.n);
        struct msg_var v[] = {{"dealer_code", d.code}, {"total", tot}, {"count", cnt}};
        char *head = eng__text(e, x->lang, l.n ? "penalties_head" : "penalties_empty", v, 3);
        char *body = NULL;
        size_t blen = 0;
        err = append(&body, &blen, head);
        free(head);
        if (err == 0 && l.text)
            err = append(&body, &blen, l.text);
        if (err == 0)
            err = eng__send(e, 0, x->m->group, x->m->group ? x->m->room : x->m->sender, body,
                            "reply", x->now);
        free(body);
    }
    free(l.text);
    dealer_cleanup(&d);
    return err;
}

/* ---- broadcasts ---- */

/* /broadcast <audience> <kind> [ack] <text>, by brand staff. "catalogue" as the text of a
 * penalty broadcast sends the penalty catalogue as a bulletin. */
static int do_broadcast(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    if (x->who.dealer) {
        struct msg_var v[] = {{"command", x->word}};
        return reply(x, 0, "err_not_allowed", v, 1);
    }
    char *bulletin = NULL;
    const char *text = cmd->text;
    if (strcmp(cmd->bkind, "penalty") == 0 && text &&
        (strcasecmp(text, "catalogue") == 0 || strcmp(text, "处罚大全") == 0)) {
        bulletin = eng__catalogue_text(e, room_lang(x));
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
        return reply(x, 0, "err_bad_audience", v, 1);
    }
    if (err)
        return err;
    char bid[32], r[16], n[16];
    snprintf(bid, sizeof bid, "B-%lld", (long long)id);
    snprintf(r, sizeof r, "%d", rooms);
    snprintf(n, sizeof n, "%d", people);
    struct msg_var v[] = {{"id", bid}, {"rooms", r}, {"people", n}};
    return reply(x, 0, "broadcast_sent", v, 3);
}

/* /read B-n: the sender confirms reading a broadcast they were sent. */
static int do_read(struct ctx *x, const struct command *cmd)
{
    char bid[32];
    snprintf(bid, sizeof bid, "B-%lld", (long long)cmd->broadcast);
    struct msg_var v[] = {{"id", bid}};
    struct broadcast b = {0};
    int err = store_broadcast_get(x->e->store, cmd->broadcast, &b);
    if (err == DBOT_ERR_NOTFOUND)
        return reply(x, 0, "err_unknown_broadcast", v, 1);
    if (err)
        return err;
    broadcast_cleanup(&b);
    bool first = false;
    err = store_broadcast_read(x->e->store, cmd->broadcast, x->who.jid, x->now, &first);
    if (err == DBOT_ERR_NOTFOUND)
        return reply(x, 0, "err_broadcast_not_yours", v, 1);
    if (err)
        return err;
    if (first)
        log_info(MOD, "%s read by %s", bid, x->who.jid);
    return reply(x, 0, first ? "read_ok" : "read_already", v, 1);
}

/* ---- /scorecard ---- */

static const char *const scm_keys[SCM__COUNT] = {
    "scm_complaints",     "scm_per_1000",  "scm_ack_compliance", "scm_solution_compliance",
    "scm_close_compliance", "scm_ack_p50", "scm_ack_p90",        "scm_close_p50",
    "scm_close_p90",      "scm_reopened",  "scm_rejected",       "scm_penalty_points",
    "scm_satisfaction",   "scm_answers",
};

/* /scorecard [dealer]: the dealer's figures over underperformers.window beside the network's
 * average, with its rank; a dealer's people see their own. */
static int do_scorecard(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    const char *dealer = cmd->dealer;
    struct msg_var deny[] = {{"command", x->word}};
    if (x->who.dealer) {
        if (dealer && strcasecmp(dealer, x->who.dealer) != 0)
            return reply(x, 0, "err_not_allowed", deny, 1);
        dealer = x->who.dealer;
    } else if (!dealer) {
        return reply(x, 0, "err_scorecard_dealer", deny, 1); /* staff: whose scorecard? */
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
        return reply(x, 0, "err_unknown_dealer", v, 1);
    }
    char window[48];
    eng__span(x->lang, w, window, sizeof window);
    struct msg_var hv[] = {{"dealer_code", d->code}, {"dealer_name", d->name},
                           {"window", window}};
    char *text = NULL;
    size_t len = 0;
    char *s = eng__text(e, x->lang, "scorecard_head", hv, 3);
    err = append(&text, &len, s);
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
        err = append(&text, &len, s);
        free(s);
    }
    if (err == 0)
        err = eng__send(e, 0, x->m->group, x->m->group ? x->m->room : x->m->sender, text,
                        "reply", x->now);
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
    err = append(&l->text, &l->len, s);
    free(s);
    dealer_cleanup(&d);
    l->n++;
    return err;
}

static int do_underperformers(struct ctx *x, const struct command *cmd)
{
    struct engine *e = x->e;
    struct msg_var deny[] = {{"command", x->word}};
    if (x->who.dealer)
        return reply(x, 0, "err_not_allowed", deny, 1);
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
        return reply(x, 0, "under_refreshed", v, 3);
    }
    if (sub) { /* pin / unpin: brand admins */
        if (x->who.role != ROLE_ADMIN)
            return reply(x, 0, "err_not_allowed", deny, 1);
        struct dealer d = {0};
        int err = store_dealer_get(e->store, cmd->dealer, &d);
        if (err == DBOT_ERR_NOTFOUND) {
            struct msg_var v[] = {{"code", cmd->dealer}};
            return reply(x, 0, "err_unknown_dealer", v, 1);
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
            err = reply(x, 0, "under_pin_ok", v, 2);
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
        err = append(&body, &blen, head);
    if (err == 0 && l.text)
        err = append(&body, &blen, l.text);
    if (err == 0)
        err = eng__send(e, 0, x->m->group, x->m->group ? x->m->room : x->m->sender, body,
                        "reply", x->now);
    free(head);
    free(body);
    free(l.text);
    return err;
}

/* ---- /help ---- */

static int do_help(struct ctx *x)
{
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
    struct msg_var hv[] = {{"name", display(&x->who)}};
    char *text = NULL;
    size_t len = 0;
    char *s = eng__text(e, x->lang, "help_head", hv, 1);
    int err = append(&text, &len, s);
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
        err = append(&text, &len, eng__label(e, x->lang, lines[i].key));
    }
    if (err == 0 && is_supervisor(&x->who))
        err = append(&text, &len, eng__label(e, x->lang, "help_penalty"));
    if (err == 0)
        err = append(&text, &len, eng__label(e, x->lang, "help_penalties"));
    if (err == 0 && !x->who.dealer)
        err = append(&text, &len, eng__label(e, x->lang, "help_broadcast"));
    if (err == 0)
        err = append(&text, &len, eng__label(e, x->lang, "help_scorecard"));
    if (err == 0 && !x->who.dealer)
        err = append(&text, &len, eng__label(e, x->lang, "help_underperformers"));
    if (err == 0)
        err = append(&text, &len, eng__label(e, x->lang, "help_read"));
    if (err == 0)
        err = eng__send(e, 0, x->m->group, x->m->group ? x->m->room : x->m->sender, text,
                        "reply", x->now);
    free(text);
    return err;
}

/* ---- the guided /close dialogue ---- */

/* A direct message that is not a command: the next answer of the sender's dialogue, if one
 * is running. Returns 0 also when there is none (the chatter is ignored). */
static int dialogue_answer(struct ctx *x)
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
        err = tell(x, d.complaint_id, "dialogue_invalid", v, 2);
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
        int rc = decide(x, &c, LC_SUBMIT, &to);
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

static int cancel_dialogue(struct ctx *x)
{
    struct dialogue d = {0};
    int err = store_dialogue_get(x->e->store, x->who.jid, &d);
    if (err == DBOT_ERR_NOTFOUND)
        return reply(x, 0, "dialogue_none", NULL, 0);
    if (err)
        return err;
    complaint_id_format(d.complaint_id, x->cid, sizeof x->cid);
    err = store_dialogue_delete(x->e->store, x->who.jid);
    if (err == 0)
        err = event(x, d.complaint_id, "report_cancelled", NULL);
    struct msg_var v[] = {{"id", x->cid}};
    if (err == 0)
        err = reply(x, d.complaint_id, "dialogue_cancelled", v, 1);
    dialogue_cleanup(&d);
    return err;
}

/* ---- dispatch ---- */

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

/* A command on one ticket. */
static int on_ticket(struct ctx *x, const struct command *cmd)
{
    struct complaint c;
    int err = load(x, cmd->ticket, &c);
    if (err)
        return err > 0 ? 0 : err;
    enum complaint_state to;
    enum lc_action a = action_of(cmd->kind);
    int rc = decide(x, &c, a, &to);
    if (rc == 0) {
        switch (cmd->kind) {
        case CMD_ACK: rc = do_ack(x, &c, cmd, to); break;
        case CMD_PLAN: rc = do_plan(x, &c, cmd, to); break;
        case CMD_CLOSE: rc = do_close(x, &c, cmd, to); break;
        case CMD_STATUS: rc = do_status(x, &c); break;
        case CMD_APPROVE: rc = do_approve(x, &c, to); break;
        case CMD_REJECT: rc = do_reject(x, &c, cmd, to); break;
        case CMD_REOPEN: rc = do_reopen(x, &c, cmd, to); break;
        case CMD_CANCEL: rc = do_cancel_ticket(x, &c, cmd, to); break;
        default: rc = DBOT_ERR_INTERNAL; break;
        }
    }
    complaint_cleanup(&c);
    return rc > 0 ? 0 : rc;
}

static int dispatch(struct ctx *x, const struct command *cmd)
{
    switch (cmd->kind) {
    case CMD_HELP: return do_help(x);
    case CMD_PENALTY: return do_penalty(x, cmd);
    case CMD_BROADCAST: return do_broadcast(x, cmd);
    case CMD_READ: return do_read(x, cmd);
    case CMD_UNDERPERFORMERS: return do_underperformers(x, cmd);
    case CMD_SCORECARD: return do_scorecard(x, cmd);
    case CMD_PENALTIES: return do_penalties(x, cmd);
    case CMD_LIST: return do_list(x, cmd);
    case CMD_CANCEL:
        if (!cmd->ticket)
            return cancel_dialogue(x);
        return on_ticket(x, cmd);
    case CMD_ACK:
    case CMD_PLAN:
    case CMD_CLOSE:
    case CMD_STATUS:
    case CMD_APPROVE:
    case CMD_REJECT:
    case CMD_REOPEN: return on_ticket(x, cmd);
    default: {
        struct msg_var v[] = {{"command", x->word}};
        return reply(x, 0, "err_not_yet", v, 1);
    }
    }
}

/* Handles the message inside the open transaction. */
static int handle(struct ctx *x)
{
    const struct chat_message *m = x->m;
    struct command cmd;
    enum cmd_error ce = CMDERR_NONE;
    struct dbot_diag diag = {{0}};
    int rc = command_parse(m->text, strlen(m->text), &cmd, &ce, x->word, sizeof x->word, &diag);

    int err = store_person_get(x->e->store, m->sender, &x->who);
    if (err == DBOT_ERR_NOTFOUND) {
        if (rc == 0)
            command_cleanup(&cmd);
        if (rc == 1)
            return 0; /* chatter from a stranger: nothing at all */
        log_info(MOD, "%s from %s, who is not in the directory: refused", x->word, m->sender);
        x->lang = x->e->cfg->language;
        return reply(x, 0, "err_unknown_person", NULL, 0);
    }
    if (err) {
        if (rc == 0)
            command_cleanup(&cmd);
        return err;
    }
    x->lang = x->who.language ? x->who.language : x->e->cfg->language;

    if (rc == 1)
        return m->group ? 0 : dialogue_answer(x);
    if (rc == DBOT_ERR_NOMEM)
        return rc;
    if (rc != 0) {
        log_info(MOD, "from %s: %s", m->sender, diag.msg);
        return refuse_parse(x, ce);
    }
    err = dispatch(x, &cmd);
    command_cleanup(&cmd);
    return err;
}

void engine_on_message(struct engine *e, const struct chat_message *m, int64_t now)
{
    if (!e->msgs || !m->text || !m->sender)
        return;
    /* A store failure below undoes the inbox record too: the message can be acted on when
     * it comes again. */
    struct ctx x = {.e = e, .m = m, .now = now, .lang = e->cfg->language};
    eng__forget(e);
    int err = store_begin(e->store);
    bool seen = false;
    if (err == 0 && m->platform_id && m->platform_id[0])
        err = store_inbox_record(e->store, m->platform_id, now, &seen);
    if (err == 0 && seen) {
        store_commit(e->store);
        log_debug(MOD, "duplicate message %s from %s ignored", m->platform_id, m->sender);
        return;
    }
    if (err == 0) {
        log_info(MOD, "%s message from %s%s%s (%zu bytes, id %s)",
                 m->group ? "room" : "direct", m->sender, m->group ? " in " : "",
                 m->group ? m->room : "", strlen(m->text),
                 m->platform_id ? m->platform_id : "-");
        err = handle(&x);
        if (err == 0)
            err = store_commit(e->store);
        else
            store_rollback(e->store);
    }
    if (err) {
        /* Nothing of the decision was kept; say so, in a transaction of its own. */
        log_error(MOD, "message %s from %s not handled: %s", m->platform_id ? m->platform_id : "-",
                  m->sender, dbot_strerror(err));
        eng__forget(e);
        if (store_begin(e->store) == 0) {
            if (reply(&x, 0, "err_internal", NULL, 0) == 0)
                store_commit(e->store);
            else
                store_rollback(e->store);
        }
    }
    person_cleanup(&x.who);
    eng__after_commit(e);
}
