/*
 * engine.h — where decisions are made: events (intake, chat messages, confirmations, later
 * timers) go through the pure domain (lifecycle.h, command.h) and come out as one store
 * transaction each: the state change, its timeline event and the chat messages it causes
 * (outbox rows), together or not at all.
 *
 * Main thread only. The engine borrows the config and the store and owns the loaded chat
 * texts (messages.h).
 *
 * Reads off the loop: the heavy reads (the network scorecards today; the dashboard's data,
 * risk-case grouping and the monthly figures next) are started here with engine_*_start()
 * and run on a reader thread (readers.h, e->readers) with its own read-only connection; the
 * answer comes back to the loop thread through a done callback. Those compute functions (and
 * the render hooks callers give them) are the only engine code that runs off the loop
 * thread, and they touch nothing but their reader's store and their own arguments. Every
 * other engine call — each write, each decision, each chat command — never runs on a
 * reader.
 */
#ifndef DEALERBOT_ENGINE_H
#define DEALERBOT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dealerbot/chat.h"
#include "dealerbot/complaint.h"
#include "dealerbot/config.h"
#include "dealerbot/error.h"
#include "dealerbot/store.h"

struct chat_message;
struct messages;
struct readers;
struct reader_job;
struct scorecard_set;
struct under_result;

struct engine {
    const struct config *cfg;
    struct store *store;
    struct messages *msgs;   /* chat texts; NULL when chat.platform is "none" */
    /* Called after a commit that wrote outbox rows (the daemon kicks the pump); may be NULL. */
    void (*kick)(void *arg);
    void *kick_arg;
    bool wrote_outbox;       /* the transaction in hand wrote outbox rows */
    /* Called after a commit that planned SLA events (the scheduler re-arms); may be NULL. */
    void (*sla_kick)(void *arg);
    void *sla_kick_arg;
    bool wrote_sla;          /* the transaction in hand planned SLA events */
    /* Called after a commit that changed the underperformers list (the chat side syncs the
     * group's members); may be NULL. */
    void (*rooms_kick)(void *arg);
    void *rooms_kick_arg;
    bool rooms_changed;
    /* Called after this process changed the directory (engine_directory_changed()): the
     * chat side syncs the rooms concerned now, not at its next look; may be NULL. */
    void (*directory_kick)(void *arg);
    void *directory_kick_arg;
    /* The reader pool for the heavy reads (borrowed; the daemon starts it); NULL: none, and
     * engine_*_start() answer DBOT_ERR_UNAVAILABLE. */
    struct readers *readers;
};

/* ---- reads off the loop ---- */

/* Runs on the reader thread after the scorecards are computed: turns them into what the
 * caller will answer (a JSON document, a CSV) while still off the loop, or takes the set for
 * the loop thread (moves *set into arg and zeroes it). May touch only set and arg. Returns 0
 * or a DBOT_ERR_* (handed to done). */
typedef int (*engine_scorecards_render_fn)(struct scorecard_set *set, void *arg);
/* Runs on the loop thread, once per started read: rc is 0, the store's or render's error, or
 * DBOT_ERR_UNAVAILABLE when it never ran; cancelled says the caller gave it up
 * (engine_read_cancel) or the daemon is stopping. arg is the caller's to free. */
typedef void (*engine_read_done_fn)(void *arg, int rc, bool cancelled);

/* Starts the scorecards of [from, to) as of `now` (store_scorecards on a reader's snapshot,
 * then render(set, arg) there too). Returns 0 and *job (for engine_read_cancel, valid until
 * done is called), DBOT_ERR_BUSY when the readers' queue is full (tell the client to retry),
 * DBOT_ERR_UNAVAILABLE without readers, or DBOT_ERR_NOMEM; on an error done is not called. */
int engine_scorecards_start(struct engine *e, int64_t from, int64_t to, int64_t now,
                            engine_scorecards_render_fn render, engine_read_done_fn done,
                            void *arg, struct reader_job **job);

/* Runs on the reader thread for each complaint of a list (borrowed for the call), then once
 * with NULL when the walk is over (rc of the walk in *rc, which finish may change). */
typedef int (*engine_complaint_fn)(const struct complaint *c, void *arg);
typedef void (*engine_list_finish_fn)(int *rc, void *arg);

/* Lists the complaints matching f (store_complaint_each: copied, f->dealer too) on a reader:
 * each(c, arg) per complaint and finish(&rc, arg) after, both on the reader thread; then
 * done on the loop thread. Returns as engine_scorecards_start. */
struct complaint_filter;
int engine_complaints_start(struct engine *e, const struct complaint_filter *f,
                            engine_complaint_fn each, engine_list_finish_fn finish,
                            engine_read_done_fn done, void *arg, struct reader_job **job);

/* The scheduled evaluation of the underperformers group, its scorecards read on a reader:
 * the decisions are then taken and committed on the loop thread (engine_underperformers_
 * evaluate's transaction) from that snapshot, and done(arg, rc, cancelled) is called with
 * *res filled (res is the caller's, alive until done). Returns 0 and *job, or as
 * engine_scorecards_start (then nothing happens). */
int engine_underperformers_evaluate_start(struct engine *e, int64_t now, const char *actor,
                                          int64_t slot, struct under_result *res,
                                          engine_read_done_fn done, void *arg,
                                          struct reader_job **job);

/* The caller no longer wants this read (its client left): done is still called once, with
 * cancelled = true, and must not touch what the caller tore down. Loop thread. */
void engine_read_cancel(struct engine *e, struct reader_job *job);

/* What an evaluation of the underperformers group did. */
struct under_result {
    int entered, left, listed;
};

/* Evaluates the underperformers group now (one transaction): who enters, who leaves, with
 * the reasons recorded and announced, and the evaluation itself recorded. `actor` is
 * "schedule", "api" or a JID; `slot` is the daily evaluate_at time a scheduled evaluation is
 * for (0: on demand). */
int engine_underperformers_evaluate(struct engine *e, int64_t now, const char *actor,
                                    int64_t slot, struct under_result *res);

/* Appeals on ledger entries (P-5): what is done and why it may be refused. */
enum penalty_action { PENALTY_APPEAL, PENALTY_UPHOLD, PENALTY_WAIVE };
enum penalty_refusal {
    PR_NONE = 0,
    PR_UNKNOWN,         /* no such entry */
    PR_WINDOW,          /* appeal: later than penalties.appeal_window after the entry */
    PR_APPEALED_BEFORE, /* appeal: the entry was appealed already (once per entry) */
    PR_DECIDED,         /* the entry is upheld or waived */
    PR_NOT_APPEALED,    /* uphold: the entry is not under appeal */
    PR_NEED_REASON,     /* appeal and waive need a reason */
};
/* "unknown", "window", ... for logs and the API. */
const char *penalty_refusal_name(enum penalty_refusal r);

/*
 * Appeals, upholds or waives ledger entry `id` for `actor` ("api" or a JID; who may is the
 * caller's question: the chat handler asks the directory, the API may do all three), in one
 * transaction: the state checks (window, once, decided, reason), the change with its history
 * step, the staff room told of an appeal, the dealer room of a decision. A refusal (*why not
 * PR_NONE, return 0) changes nothing but the entry's history. *state gets the entry's state
 * after the call ("" for an unknown id), `state_len` bytes. DBOT_ERR_* on a store failure.
 */
int engine_penalty_act(struct engine *e, enum penalty_action a, int64_t id, const char *text,
                       const char *actor, int64_t now, enum penalty_refusal *why, char *state,
                       size_t state_len);

/*
 * The monthly dealer report (reports.c): when the latest monthly slot (the first working day
 * of the month at reports.monthly_at) has passed and its month is not recorded, sends every
 * dealer room its scorecard of the month just ended and the honour roll, and records the
 * month (one transaction; late when more than a minute after the slot). A new database
 * records the month just ended without sending it. *next gets the next slot. Nothing when
 * reports.monthly is false.
 */
int engine_monthly_report(struct engine *e, int64_t now, int64_t *next);

/* The honour roll of the month just ended, now, to every dealer room and the staff room (one
 * transaction); *month gets "YYYY-MM". */
int engine_honour_roll(struct engine *e, int64_t now, char *month, size_t len);

/* Sets up the engine; with a chat platform configured, loads the chat texts from
 * cfg->messages_dir. Returns 0, or the messages_load() error with diag. */
int engine_init(struct engine *e, const struct config *cfg, struct store *st,
                struct dbot_diag *diag);
void engine_cleanup(struct engine *e);

/* A chat message arrived (already de-duplicated): a command, an answer in a guided /close
 * dialogue, or chatter to ignore. Everything it decides is committed before it returns;
 * failures are logged and answered with an apology where possible. */
void engine_on_message(struct engine *e, const struct chat_message *m, int64_t now);

/* A form submitted instead of a typed command (chat.h, struct chat_form): handled as that
 * command typed by direct message, in one transaction, except that the reply to the sender
 * is returned in *answer (a new string; caller frees) rather than sent. 0, or a DBOT_ERR_*
 * when nothing was kept (*answer NULL). */
int engine_on_form(struct engine *e, const struct chat_form *f, int64_t now, char **answer);

/* The label `key` (no placeholders) in the language of `jid` (the directory's, else the
 * configured one); borrowed from the loaded messages. */
const char *engine_label(struct engine *e, const char *key, const char *jid);

/* Whether the directory lists `jid` (a bare id, lower-case). A store failure counts as not
 * known (and is logged). */
bool engine_knows(struct engine *e, const char *jid);

/* Fires the SLA events due at now_us (wall clock, µs; at most `limit`, earliest first) in
 * one transaction. *fired counts the ones that said something (not cancelled ones), *seen
 * all that were taken; *seen == limit means more may be due. Each fired event's lateness
 * (now_us - its due time) goes into `lateness` when not NULL. Returns 0 or a store error
 * (then nothing was kept). */
struct histogram;
int engine_fire_due(struct engine *e, int64_t now_us, int limit, int *fired, int *seen,
                    struct histogram *lateness);

/* The return visit: records `score` (1..5) and `comment` (NULL allowed) on closed complaint
 * `id`; a score of 2 or less reopens it (the comment as the reason, the close clock
 * restarted) and tells the dealer room. One transaction. 0, DBOT_ERR_NOTFOUND (no such
 * complaint), DBOT_ERR_CONFLICT (not closed: nothing changed), or a store error; *reopened
 * says whether it was reopened. */
int engine_satisfaction(struct engine *e, int64_t id, int score, const char *comment,
                        int64_t now, bool *reopened);

/* Creates a broadcast and, when b->send_at is not later than `now`, sends it (one
 * transaction): *id, and how many rooms and people it reached (0 when scheduled).
 * DBOT_ERR_INVALID with diag for an audience that names no dealer. */
struct broadcast;
int engine_broadcast(struct engine *e, struct broadcast *b, int64_t now, int64_t *id,
                     int *rooms, int *people, struct dbot_diag *diag);

/* The watchdog's alarm in the staff room: `count` events overdue, the oldest due at
 * `earliest`. Its own transaction. 0 or an error. */
int engine_sla_alarm(struct engine *e, int64_t count, int64_t earliest, int64_t now);

/* The earliest pending SLA event: 0 and *due, DBOT_ERR_NOTFOUND when none, or an error. */
int engine_next_due(struct engine *e, int64_t *due);

/* The directory (a dealer, a person) was changed and committed by this process: the rooms
 * follow at once. Changes made by other processes are found by the chat side's own poll. */
void engine_directory_changed(struct engine *e);

/* The chat platform refused the bot in `room` (it is not in that group): the staff room is
 * told (in a transaction of its own), like a kicked room. Returns 0 or a store error. */
int engine_room_refused(struct engine *e, const char *room, int64_t now);

/* The chat server confirmed outbox message msg_id. Runs inside the caller's open
 * transaction (the delivery pump's bookkeeping): a delivered card moves its complaint
 * new -> notified. Returns 0 or a store error. */
int engine_on_delivered(struct engine *e, const char *msg_id, int64_t now);

/* The outcome of one intake. */
struct intake_result {
    int err;               /* 0, or DBOT_ERR_NOTFOUND (unknown dealer), DBOT_ERR_DB, ... */
    bool created;          /* false: an earlier complaint with the same external_id */
    int64_t id;            /* the ticket */
    struct dbot_diag diag; /* when err != 0: one line for the user */
};

/* Accepts `n` validated intakes in ONE transaction (group commit): for each, checks the dealer,
 * picks the policy from the priority, computes the deadlines, inserts (or finds the earlier
 * ticket by external_id) and records the timeline event. results[i] tells each one's outcome;
 * an item's own failure (unknown dealer) does not fail the others. Returns 0 when the
 * transaction committed (then every results[i].err == 0 is durable), or a DBOT_ERR_* when the
 * commit failed (then every result carries that error). `received_at` 0 in an intake means
 * `now`. `actor` as for store_complaint_insert. */
int engine_intake_batch(struct engine *e, struct intake *const *items, int n, int64_t now,
                        const char *actor, struct intake_result *results);

#endif
