/*
 * commands.c — a chat message in, one decision out: the grammar, the sender, the refusals,
 * and one dispatch table that hands each command to the file of its family (see
 * commands_int.h: cmd_ticket.c, cmd_close.c, cmd_status.c, cmd_network.c, cmd_penalties.c,
 * cmd_help.c).
 *
 * Each message is handled in ONE store transaction: the state change, its timeline event and
 * every chat message it causes (the announcement in the dealer room, the reply where the
 * command came from, the report for review in the staff room) are committed together. The
 * sender is who the chat adapter says (the real bare JID, never a nickname), looked up in the
 * directory; the grammar is command.h's, the rules lifecycle.h's. Replies use the sender's
 * language; what goes into a room uses the configured language. A refusal changes nothing
 * but the timeline (when it concerns a ticket) and says why in one line.
 */
#include "commands_int.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/log.h"
#include "dealerbot/scorecard.h"
#include "dealerbot/sla.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"

/* ---- small helpers ---- */

const char *cmd__room_lang(const struct ctx *x)
{
    return x->e->cfg->language;
}

int cmd__reply_text(struct ctx *x, int64_t complaint_id, const char *text)
{
    const struct chat_message *m = x->m;
    if (x->answer) { /* a form: the answer goes back with the form's result */
        char *t = *x->answer;
        size_t len = t ? strlen(t) : 0;
        int err = cmd__append(&t, &len, text);
        if (err == 0)
            *x->answer = t;
        return err;
    }
    return eng__send(x->e, complaint_id, m->group, m->group ? m->room : m->sender, text, "reply",
                     x->now);
}

/* Answers where the message came from: the same room, or the sender directly. */
int cmd__reply(struct ctx *x, int64_t complaint_id, const char *key,
                 const struct msg_var *v, size_t n)
{
    char *text = eng__text(x->e, x->lang, key, v, n);
    if (!text)
        return DBOT_ERR_NOMEM;
    int err = cmd__reply_text(x, complaint_id, text);
    free(text);
    return err;
}

/* A direct message to the sender (the dialogue's prompts). */
int cmd__tell(struct ctx *x, int64_t complaint_id, const char *key, const struct msg_var *v,
                size_t n)
{
    return eng__say(x->e, complaint_id, false, x->m->sender, x->lang, key, v, n, "reply",
                    x->now);
}

/* Posts into the complaint's dealer room, and answers the sender too when the command came
 * from somewhere else (another room, a direct message). */
int cmd__announce(struct ctx *x, const struct complaint *c, const char *key,
                    const struct msg_var *v, size_t n)
{
    char room[DEALER_ROOM_MAX];
    dealer_room_name(c->dealer, room, sizeof room);
    int err = eng__say(x->e, c->id, true, room, cmd__room_lang(x), key, v, n, "notice", x->now);
    if (err == 0 && !(x->m->group && strcmp(x->m->room, room) == 0))
        err = cmd__reply(x, c->id, key, v, n);
    return err;
}

int cmd__event(struct ctx *x, int64_t complaint_id, const char *kind, const char *detail)
{
    return store_timeline_add(x->e->store, complaint_id, x->now, x->m->sender, kind, detail,
                              x->m->platform_id);
}

/* Copies at most `max` code points of s into buf (with "…" when cut). */
const char *cmd__shorten(const char *s, size_t max, char *buf, size_t len)
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
const char *cmd__display(const struct person *p)
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
    case CMDERR_NO_COMMAND: return "err_help_hint";
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
    cmd__shorten(tmp, 20, buf, len);
}

static int refuse_parse(struct ctx *x, enum cmd_error ce)
{
    char arg[96];
    second_word(x->m->text, arg, sizeof arg);
    const char *word = x->word[0] ? x->word : "/";
    struct msg_var v[] = {{"word", ce == CMDERR_BAD_TICKET ? arg : word}, {"command", word}};
    return cmd__reply(x, 0, cmd_error_key(ce), v, 2);
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
int cmd__refuse(struct ctx *x, const struct complaint *c, enum lc_action a,
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
    int err = cmd__event(x, c->id, "refused", detail);
    if (err == 0)
        err = cmd__reply(x, c->id, key, v, 3);
    return err;
}

/* ---- the ticket in hand ---- */

/* Loads ticket `id` for the command; an unknown id is answered (and *c not filled: returns 1). */
int cmd__load(struct ctx *x, int64_t id, struct complaint *c)
{
    complaint_id_format(id, x->cid, sizeof x->cid);
    int err = store_complaint_get(x->e->store, id, c);
    if (err == DBOT_ERR_NOTFOUND) {
        struct msg_var v[] = {{"id", x->cid}};
        err = cmd__reply(x, 0, "err_unknown_ticket", v, 1);
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
int cmd__decide(struct ctx *x, const struct complaint *c, enum lc_action a,
                  enum complaint_state *to)
{
    struct actor who = actor_of(&x->who, c);
    enum lc_refusal why = lifecycle_decide(c->state, a, &who, to);
    if (why == LC_OK)
        return 0;
    int err = cmd__refuse(x, c, a, why);
    return err ? err : 1;
}

/* Applies a change decided on c->state; a state moved meanwhile is answered as wrong state. */
/* The state moved after the decision was made (another writer): answered as wrong state. */
int cmd__change_conflict(struct ctx *x, const struct complaint *c)
{
    struct msg_var v[] = {{"id", x->cid}, {"state", eng__state_label(x->e, x->lang, c->state)}};
    int err = cmd__reply(x, c->id, "err_state_other", v, 2);
    return err ? err : 1;
}

int cmd__change(struct ctx *x, const struct complaint *c, struct complaint_change *ch)
{
    ch->from = c->state;
    int err = store_complaint_change(x->e->store, c->id, ch, x->now);
    if (err == DBOT_ERR_CONFLICT)
        return cmd__change_conflict(x, c);
    if (err == 0)
        log_info(MOD, "%s: %s -> %s by %s", x->cid, complaint_state_name(ch->from),
                 complaint_state_name(ch->to), x->m->sender);
    return err;
}

/* Appends s and a newline to a growing text; the buffer is freed on failure. */
int cmd__append(char **text, size_t *len, const char *s)
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

bool cmd__is_supervisor(const struct person *p)
{
    return !p->dealer && (p->role == ROLE_SUPERVISOR || p->role == ROLE_ADMIN);
}


/* ---- dispatch ---- */

/* "cancel" with a ticket cancels it; without one it ends the sender's closing dialogue. */
static int cancel(struct ctx *x, const struct command *cmd)
{
    return cmd->ticket ? cmd__ticket(x, cmd) : cmd__cancel_dialogue(x);
}

/* One row per command: the file of its family handles it. */
static const cmd_handler_fn handlers[] = {
    [CMD_HELP] = cmd__help,
    [CMD_ACK] = cmd__ticket,
    [CMD_PLAN] = cmd__ticket,
    [CMD_CLOSE] = cmd__ticket,
    [CMD_STATUS] = cmd__ticket,
    [CMD_LIST] = cmd__list,
    [CMD_APPROVE] = cmd__ticket,
    [CMD_REJECT] = cmd__ticket,
    [CMD_REOPEN] = cmd__ticket,
    [CMD_CANCEL] = cancel,
    [CMD_BROADCAST] = cmd__broadcast,
    [CMD_READ] = cmd__read,
    [CMD_SCORECARD] = cmd__scorecard,
    [CMD_UNDERPERFORMERS] = cmd__underperformers,
    [CMD_PENALTY] = cmd__penalty,
    [CMD_PENALTIES] = cmd__penalties,
    [CMD_APPEAL] = cmd__appeal,
    [CMD_UPHOLD] = cmd__appeal,
    [CMD_WAIVE] = cmd__appeal,
    [CMD_COMMEND] = cmd__commend,
    [CMD_LEDGER] = cmd__penalties,
    [CMD_HONOUR] = cmd__honour,
};

static int dispatch(struct ctx *x, const struct command *cmd)
{
    cmd_handler_fn fn =
        (size_t)cmd->kind < sizeof handlers / sizeof handlers[0] ? handlers[cmd->kind] : NULL;
    if (!fn) {
        struct msg_var v[] = {{"command", x->word}};
        return cmd__reply(x, 0, "err_not_yet", v, 1);
    }
    return fn(x, cmd);
}

/* Whether a closing dialogue waits for this sender's answer (a direct message only). */
static int dialogue_waits(struct ctx *x, bool *waits)
{
    *waits = false;
    if (x->m->group)
        return 0;
    struct dialogue d = {0};
    int err = store_dialogue_get(x->e->store, x->who.jid, &d);
    if (err == DBOT_ERR_NOTFOUND)
        return 0;
    dialogue_cleanup(&d);
    if (err == 0)
        *waits = true;
    return err;
}

/* A message from a group with a platform address (DingTalk): `bind NAME` there is handled
 * before any other command; a group no room is mapped to understands nothing else and gets
 * one hint by direct message to a known sender. Returns 1 when the message was not that. */
static int handle_group_address(struct ctx *x)
{
    const struct chat_message *m = x->m;
    char name[128];
    bool bind = eng__bind_parse(m->text, name, sizeof name);
    if (!bind && m->room)
        return 1;
    int err = store_person_get(x->e->store, m->sender, &x->who);
    if (err == DBOT_ERR_NOTFOUND) {
        log_info(MOD, "message from %s, who is not in the directory, in group %s ignored",
                 m->sender, m->address);
        return 0;
    }
    if (err)
        return err;
    x->lang = x->who.language ? x->who.language : x->e->cfg->language;
    if (bind)
        return eng__bind(x->e, m, &x->who, x->lang, name, x->now);
    log_info(MOD, "message from %s in group %s, which is no room yet: hint sent", m->sender,
             m->address);
    return eng__say(x->e, 0, false, m->sender, x->lang, "bind_usage", NULL, 0, "reply", x->now);
}

/* Handles the message inside the open transaction. */
static int handle(struct ctx *x)
{
    const struct chat_message *m = x->m;
    if (m->group && m->address) {
        int r = handle_group_address(x);
        if (r != 1)
            return r;
    }
    struct command cmd;
    enum cmd_error ce = CMDERR_NONE;
    struct dbot_diag diag = {{0}};

    int err = store_person_get(x->e->store, m->sender, &x->who);
    bool known = err == 0;
    if (err && err != DBOT_ERR_NOTFOUND)
        return err;
    bool waits = false;
    if (known && (err = dialogue_waits(x, &waits)) != 0)
        return err;
    /* The names the bot answers to: the nickname the room gave it and the configured one. */
    const char *names[2];
    size_t n_names = 0;
    if (m->self_name && m->self_name[0])
        names[n_names++] = m->self_name;
    if (x->e->cfg->chat.xmpp.nick && x->e->cfg->chat.xmpp.nick[0])
        names[n_names++] = x->e->cfg->chat.xmpp.nick;
    struct command_where where = {.group = m->group, .addressed = m->addressed,
                                  .dialogue = waits, .names = names, .n_names = n_names};
    int rc = command_parse(m->text, strlen(m->text), &where, &cmd, &ce, x->word, sizeof x->word,
                           &diag);

    if (!known) {
        if (rc == 0)
            command_cleanup(&cmd);
        if (rc == 1)
            return 0; /* chatter from a stranger: nothing at all */
        log_info(MOD, "%s from %s, who is not in the directory: refused", x->word, m->sender);
        x->lang = x->e->cfg->language;
        return cmd__reply(x, 0, "err_unknown_person", NULL, 0);
    }
    x->lang = x->who.language ? x->who.language : x->e->cfg->language;

    if (rc == 1)
        return m->group ? 0 : cmd__dialogue_answer(x);
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
                 m->group ? (m->room ? m->room : m->address ? m->address : "?") : "",
                 strlen(m->text),
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
            if (cmd__reply(&x, 0, "err_internal", NULL, 0) == 0)
                store_commit(e->store);
            else
                store_rollback(e->store);
        }
    }
    person_cleanup(&x.who);
    eng__after_commit(e);
}

bool engine_knows(struct engine *e, const char *jid)
{
    struct person p = {0};
    int err = store_person_get(e->store, jid, &p);
    if (err && err != DBOT_ERR_NOTFOUND)
        log_error(MOD, "cannot look up %s in the directory: %s", jid, dbot_strerror(err));
    person_cleanup(&p);
    return err == 0;
}

/* ---- commands from forms ---- */

static int handle_form(struct ctx *x, const struct chat_form *f)
{
    int err = store_person_get(x->e->store, f->sender, &x->who);
    if (err == DBOT_ERR_NOTFOUND) {
        log_info(MOD, "form %s from %s, who is not in the directory: refused", f->command,
                 f->sender);
        return cmd__reply(x, 0, "err_unknown_person", NULL, 0);
    }
    if (err)
        return err;
    x->lang = x->who.language ? x->who.language : x->e->cfg->language;
    struct command cmd;
    enum cmd_error ce = CMDERR_NONE;
    struct dbot_diag diag = {{0}};
    int rc = command_from_form(f->command, f->names, f->values, f->n_fields, &cmd, &ce, &diag);
    if (rc == DBOT_ERR_NOMEM)
        return rc;
    if (rc) {
        log_info(MOD, "form from %s: %s", f->sender, diag.msg);
        return refuse_parse(x, ce);
    }
    log_info(MOD, "form %s from %s", f->command, f->sender);
    err = dispatch(x, &cmd);
    command_cleanup(&cmd);
    return err;
}

int engine_on_form(struct engine *e, const struct chat_form *f, int64_t now, char **answer)
{
    *answer = NULL;
    if (!e->msgs || !f->sender || !f->command)
        return DBOT_ERR_INVALID;
    /* What a refusal quotes as "the second word": the ticket as given. */
    const char *ticket = "";
    for (size_t i = 0; i < f->n_fields; i++)
        if (f->names[i] && f->values[i] && strcmp(f->names[i], "ticket") == 0)
            ticket = f->values[i];
    char line[160];
    snprintf(line, sizeof line, "%s %s", f->command, ticket);
    struct chat_message m = {.group = false, .sender = f->sender, .text = line};
    struct ctx x = {.e = e, .m = &m, .now = now, .lang = e->cfg->language, .answer = answer};
    snprintf(x.word, sizeof x.word, "%s", f->command);
    eng__forget(e);
    int err = store_begin(e->store);
    if (err == 0) {
        err = handle_form(&x, f);
        if (err == 0)
            err = store_commit(e->store);
        else
            store_rollback(e->store);
    }
    if (err) {
        log_error(MOD, "form %s from %s not handled: %s", f->command, f->sender,
                  dbot_strerror(err));
        free(*answer);
        *answer = NULL;
        eng__forget(e);
    }
    person_cleanup(&x.who);
    eng__after_commit(e);
    return err;
}

const char *engine_label(struct engine *e, const char *key, const char *jid)
{
    struct person p = {0};
    const char *lang = e->cfg->language;
    if (jid && store_person_get(e->store, jid, &p) == 0 && p.language)
        lang = p.language;
    const char *label = eng__label(e, lang, key);
    person_cleanup(&p);
    return label;
}
