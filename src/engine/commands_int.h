/*
 * commands_int.h — what the chat command files of the engine share (private to src/engine/).
 *
 * One message is handled in commands.c (engine_on_message: inbox, directory, grammar, one
 * transaction) and handed through one dispatch table to the file of its family:
 *   cmd_ticket.c      ack, plan, approve, reject, reopen, cancel: the ticket lifecycle
 *   cmd_close.c       close: the report and the guided dialogue that collects it
 *   cmd_status.c      status and list
 *   cmd_network.c     the network programme: broadcast, read, scorecard, underperformers
 *   cmd_penalties.c   penalty, the penalty ledger, and appeals (appeal, uphold, waive)
 *   cmd_help.c        help
 * Every function here runs on the main thread inside the open store transaction of the
 * message; what it writes (state, timeline, outbox) is committed or rolled back together.
 */
#ifndef DEALERBOT_COMMANDS_INT_H
#define DEALERBOT_COMMANDS_INT_H

#include "engine_int.h"

#include "dealerbot/chat.h"
#include "dealerbot/command.h"
#include "dealerbot/directory.h"
#include "dealerbot/lifecycle.h"

#define MOD "engine"

/* One message being handled. */
struct ctx {
    struct engine *e;
    const struct chat_message *m;
    int64_t now;
    struct person who;            /* the sender, from the directory */
    const char *lang;             /* the sender's language */
    char word[COMMAND_WORD_SIZE]; /* the command word as typed ("受理") */
    char cid[32];                 /* "C-12" of the ticket in hand */
    char **answer;                /* a form's answer: replies are collected here (a new
                                     string, lines joined) instead of sent; NULL for a
                                     message */
};

/* A family's entry: handles one parsed command. 0 or a DBOT_ERR_* that undoes the message. */
typedef int (*cmd_handler_fn)(struct ctx *x, const struct command *cmd);

/* One step on a loaded ticket whose action was allowed (to: the state it moves to). A
 * positive return means "answered, nothing more to do". */
typedef int (*cmd_step_fn)(struct ctx *x, const struct complaint *c, const struct command *cmd,
                           enum complaint_state to);

/* ---- commands.c: helpers every family uses ---- */

/* The configured language (what goes into rooms). */
const char *cmd__room_lang(const struct ctx *x);
/* Answers where the message came from (the same room, or the sender directly), or into
 * x->answer for a form. The text is borrowed. */
int cmd__reply_text(struct ctx *x, int64_t complaint_id, const char *text);
/* cmd__reply_text of the template `key` in the sender's language. */
int cmd__reply(struct ctx *x, int64_t complaint_id, const char *key, const struct msg_var *v,
               size_t n);
/* A direct message to the sender (the dialogue's prompts). */
int cmd__tell(struct ctx *x, int64_t complaint_id, const char *key, const struct msg_var *v,
              size_t n);
/* Posts into the complaint's dealer room, and answers the sender too when the command came
 * from somewhere else. */
int cmd__announce(struct ctx *x, const struct complaint *c, const char *key,
                  const struct msg_var *v, size_t n);
/* A timeline event on complaint_id by the sender. */
int cmd__event(struct ctx *x, int64_t complaint_id, const char *kind, const char *detail);
/* Copies at most `max` code points of s into buf (with "…" when cut). Returns buf. */
const char *cmd__shorten(const char *s, size_t max, char *buf, size_t len);
/* The person's display name: the directory name, else the JID (borrowed). */
const char *cmd__display(const struct person *p);
/* Appends s and a newline to a growing text; NULL s is DBOT_ERR_NOMEM. */
int cmd__append(char **text, size_t *len, const char *s);
/* Brand staff with the supervisor or admin role. */
bool cmd__is_supervisor(const struct person *p);
/* Answers a lifecycle refusal and records it on the ticket. */
int cmd__refuse(struct ctx *x, const struct complaint *c, enum lc_action a,
                enum lc_refusal why);
/* Loads ticket `id`; an unknown id is answered (and *c not filled: returns 1). */
int cmd__load(struct ctx *x, int64_t id, struct complaint *c);
/* Decides `a` on c: 0 and *to when allowed; 1 when refused (answered); or an error. */
int cmd__decide(struct ctx *x, const struct complaint *c, enum lc_action a,
                enum complaint_state *to);
/* The state moved after the decision was made (another writer): answered as wrong state,
 * returns 1. */
int cmd__change_conflict(struct ctx *x, const struct complaint *c);
/* Applies a change decided on c->state (1 when the state moved meanwhile, answered). */
int cmd__change(struct ctx *x, const struct complaint *c, struct complaint_change *ch);

/* ---- the families ---- */

int cmd__ticket(struct ctx *x, const struct command *cmd);      /* cmd_ticket.c */
int cmd__close(struct ctx *x, const struct complaint *c, const struct command *cmd,
               enum complaint_state to);                        /* cmd_close.c */
/* A direct message that is no command: the next answer of the sender's running dialogue
 * (0 also when none runs). */
int cmd__dialogue_answer(struct ctx *x);
/* "cancel" without a ticket: ends the sender's dialogue. */
int cmd__cancel_dialogue(struct ctx *x);
int cmd__status(struct ctx *x, const struct complaint *c, const struct command *cmd,
                enum complaint_state to);                       /* cmd_status.c */
int cmd__list(struct ctx *x, const struct command *cmd);
int cmd__penalty(struct ctx *x, const struct command *cmd);     /* cmd_penalties.c */
int cmd__penalties(struct ctx *x, const struct command *cmd);
int cmd__appeal(struct ctx *x, const struct command *cmd);      /* appeal, uphold, waive */
int cmd__commend(struct ctx *x, const struct command *cmd);
int cmd__honour(struct ctx *x, const struct command *cmd);      /* cmd_network.c */
int cmd__broadcast(struct ctx *x, const struct command *cmd);   /* cmd_network.c */
int cmd__read(struct ctx *x, const struct command *cmd);
int cmd__scorecard(struct ctx *x, const struct command *cmd);
int cmd__underperformers(struct ctx *x, const struct command *cmd);
int cmd__help(struct ctx *x, const struct command *cmd);        /* cmd_help.c */

#endif
