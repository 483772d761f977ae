/*
 * chat.h — the one interface between dealerbot and a group-chat platform.
 *
 * The engine talks to "a chat": it starts it, hands it messages that come from the outbox
 * (each with the outbox's stable id, which the adapter puts on the wire so a resend after a
 * reconnect carries the same id), asks it to make a room exist with a given member list, and
 * hears back through struct chat_handler: the session is ready, it went down, a message
 * arrived (with the sender's REAL identity, never a nickname), a sent message was confirmed by
 * the server. XML, platform JSON, sockets and protocol state stay inside src/chat/<platform>/.
 *
 * Rooms are named by their local part ("dealer-sh001", "brand-service"); the adapter maps them
 * to platform addresses (XMPP: name@muc_service). People are named by bare JID-like ids
 * ("wang@example.com"), lower-case.
 *
 * Main thread only; runs on the daemon's lws context. The chat borrows the config and the
 * handler (both must outlive it). Strings passed in are copied when kept; strings passed to
 * handler callbacks are valid for the call only.
 */
#ifndef DEALERBOT_CHAT_H
#define DEALERBOT_CHAT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "dealerbot/config.h"
#include "dealerbot/error.h"

struct lws_context;
struct chat;

/* A message that arrived. */
struct chat_message {
    bool group;              /* true: in a room; false: a direct message */
    const char *room;        /* the room's local name when group, else NULL */
    const char *sender;      /* the sender's real bare id (lower-case), never a nickname */
    const char *text;        /* the body, valid UTF-8 */
    const char *platform_id; /* a key for this message, the same each time the platform
                              * delivers it again (for de-duplication); NULL when the message
                              * carries no id to tell it by */
    bool addressed;        /* the platform itself says the message was addressed to the bot
                            * (a DingTalk @mention); XMPP leaves it false and the grammar
                            * looks for the address in the text */
    const char *self_name; /* the name the bot goes by where the message arrived (its
                            * nickname in that room), or NULL for the configured nick */
    const char *address;   /* the room's platform address when group (DingTalk: the
                            * openConversationId), also when no room is mapped to it yet (then
                            * room is NULL: only `bind` is understood there); else NULL */
};

/*
 * A command submitted as a filled-in form instead of typed (XMPP ad-hoc commands, XEP-0050;
 * a platform's interactive cards could use the same). The adapter shows the forms, checks
 * that the required fields are there and hands the submission over as plain data: the
 * command word and its fields by name. The engine treats it exactly like the same command
 * typed in a direct message (same grammar checks on each value, same authorization, same
 * timeline, same refusals) and gives its answer back as text for the adapter to show in the
 * form's result, instead of sending it as a message.
 *
 * Commands and fields (all values UTF-8, trimmed by the engine):
 *   "ack"    ticket (required), eta (YYYY-MM-DD), note
 *   "plan"   ticket (required), solution (required)
 *   "close"  ticket, cause, fix, prevent (all required: one form, no dialogue)
 *   "status" ticket (required)
 * The ticket is written as people type it ("C-12"; "12" alone is taken as C-12).
 */
struct chat_form {
    const char *sender;        /* the real bare id, as in struct chat_message */
    const char *command;       /* "ack", "plan", "close", "status" */
    const char *const *names;  /* field names */
    const char *const *values; /* their values, same order; NULL or "" = not given */
    size_t n_fields;
};

/* The form fields the adapter shows, for one command (see struct chat_form). */
struct chat_form_field {
    const char *name;     /* "ticket", "eta", "note", "solution", "cause", "fix", "prevent" */
    bool required;
    bool multiline;
};

/* The commands that have a form, in the order a client lists them, and their fields. */
struct chat_form_spec {
    const char *command;
    const struct chat_form_field *fields;
    size_t n_fields;
};
extern const struct chat_form_spec chat_forms[];
extern const size_t chat_forms_count;

struct chat_handler {
    /* Connected, authenticated, and every room asked for with chat_sync_room() joined (or
     * refused, and then retried in the background): the outbox may send. Called again after
     * every reconnect; messages sent but not confirmed before it must be sent again (same
     * id). */
    void (*on_ready)(void *arg);
    /* The session is gone; the adapter reconnects by itself (backoff 1 s doubling to 30 s,
     * with jitter). Nothing can be sent until the next on_ready. */
    void (*on_down)(void *arg);
    void (*on_message)(const struct chat_message *m, void *arg);
    /* The server confirmed the message with this id (chat_send's id), latency_us after the
     * chat_send() that handed it over in this session. */
    void (*on_delivered)(const char *id, int64_t latency_us, void *arg);
    /* Between on_ready and on_down, a room was joined (again: after a kick, a refused join,
     * a new room from the directory): messages chat_send refused for it with
     * DBOT_ERR_UNAVAILABLE can be sent now. May be NULL. */
    void (*on_room_ready)(const char *room, void *arg);
    /* A message handed over by chat_send came back unsent (its room refused it: the bot was
     * not in it). It is no longer in flight and will not be confirmed: send it again, like
     * one refused with DBOT_ERR_UNAVAILABLE. May be NULL. */
    void (*on_returned)(const char *id, void *arg);
    /* Whether `jid` (a bare id, lower-case) is a person the directory knows. The adapter asks
     * before it lets someone see the bot online (an XMPP presence subscription: known people
     * are approved, anyone else refused). May be NULL: nobody is approved. */
    bool (*is_known)(const char *jid, void *arg);
    /* A form was submitted (see struct chat_form). *answer receives a new string (the
     * adapter frees it): the outcome or the refusal, in the sender's language. Returns 0,
     * or a DBOT_ERR_* when nothing could be decided (*answer is then NULL). May be NULL: the
     * adapter offers no forms. */
    int (*on_form)(const struct chat_form *f, char **answer, void *arg);
    /* A label for people in `jid`'s language (their directory language, else the default):
     * the form titles and field names, keys "form_<command>" and "field_<name>"; borrowed,
     * valid until the next call. May be NULL (the adapter then shows the keys). */
    const char *(*label)(const char *key, const char *jid, void *arg);
    /* The platform refused the bot in this room outright (DingTalk: the robot is not in the
     * group): its messages are held (DBOT_ERR_UNAVAILABLE) and tried again with backoff.
     * Called once per refusal, not for each retry that fails again. May be NULL. */
    void (*on_room_refused)(const char *room, void *arg);
    /* After on_message returned: true when the message with this platform_id is durably
     * recorded (the engine committed what it decided), so the platform may be told it was
     * received; false sends it again later (a store failure). May be NULL: assumed true. */
    bool (*recorded)(const char *platform_id, void *arg);
    void *arg;
};

/* One message to send. */
struct chat_out {
    bool group;       /* true: to a room; false: a direct message */
    const char *to;   /* room local name, or a person's bare id */
    const char *id;   /* the outbox's stable id: put on the wire, echoed by on_delivered */
    const char *text;
};

/* A room as the directory wants it. */
struct chat_room {
    const char *name;           /* local name: "dealer-sh001" */
    const char *title;          /* human-readable room name, may be NULL */
    const char *address;        /* the platform's address of the room where the directory
                                 * maps it (DingTalk: openConversationId), else NULL; XMPP
                                 * derives its own (name@muc_service) and ignores this */
    const char *const *members; /* bare ids allowed in (members-only); the bot is owner */
    size_t n_members;
};

/* What the adapter dropped or still waits for, for /metrics. */
struct chat_stats {
    uint64_t replies_dropped;    /* answers to no request of ours, or not from where the
                                  * request went (forged or stray) */
    uint64_t oversized_dropped;  /* inbound stanzas over the size limit, dropped */
    size_t unconfirmed;          /* messages handed over and not confirmed yet */
    double oldest_unconfirmed_s; /* how long the oldest of them has waited (0: none) */
    bool behind;                 /* confirmations fall far behind the sends (see the adapter:
                                  * XMPP says so when a message waits over a minute) */
};

/* Creates the adapter named by cfg->chat.platform ("xmpp") on `ctx`. Does not connect yet.
 * Returns 0 and *out, or DBOT_ERR_INVALID/NOMEM with diag. */
int chat_new(struct lws_context *ctx, const struct config *cfg, const struct chat_handler *h,
             struct chat **out, struct dbot_diag *diag);

/* Whether the named platform lets the bot set a room's members (XMPP: yes; DingTalk: no,
 * an ordinary group's members are changed by people, so the staff room is told whom to add
 * or remove). */
bool chat_platform_manages_members(const char *platform);

/* Connects (and keeps reconnecting until chat_stop). */
int chat_start(struct chat *c);

/* Closes the session politely (stream close); no reconnect afterwards. */
void chat_stop(struct chat *c);

/* Frees; NULL allowed. Call after chat_stop and after the lws context no longer runs it. */
void chat_free(struct chat *c);

/* True between on_ready and on_down. */
bool chat_is_ready(const struct chat *c);

/* How many more messages chat_send accepts right now (its in-flight window minus what is
 * unconfirmed). 0 when not ready. */
size_t chat_send_window(const struct chat *c);

/* Queues one message for the wire. 0, DBOT_ERR_BUSY (window full or not ready: try after the
 * next on_delivered/on_ready), DBOT_ERR_UNAVAILABLE (a room the bot is not in right now —
 * being joined, rejoined after a kick, or never asked for with chat_sync_room(): other
 * targets can still be sent to; try again after on_room_ready), or DBOT_ERR_INVALID (text
 * too large, not an address). */
int chat_send(struct chat *c, const struct chat_out *m);

/* Fills *out (never fails; zeros before the first connection). */
void chat_get_stats(const struct chat *c, struct chat_stats *out);

/* Makes the room exist with the right settings (persistent, members-only, real identities
 * visible to the bot), joins it, makes its member list equal `room->members` and invites
 * the new ones. Kept and re-applied after every reconnect; a room the bot is removed from
 * (kicked, banned, destroyed) or cannot join is rejoined with backoff. Replaces an earlier
 * call for the same room. */
int chat_sync_room(struct chat *c, const struct chat_room *room);

#endif
