/*
 * store.h — all persistence: one SQLite file in WAL mode with foreign keys on, a busy
 * timeout and synchronous=FULL, so a committed transaction is on disk. Versioned migrations
 * run at open (and by `dealerbot db migrate`). Every statement is prepared once with bound
 * parameters and finalized at close.
 *
 * One thread per struct store: a struct store and everything it returns belong to the thread
 * that uses it — the loop thread for the one writer (store_open), a reader thread for each
 * read-only connection (store_open_reader, readers.h). Nothing in this module is shared
 * between two struct stores, so two threads may each use their own at the same time. Strings in returned structs are heap copies owned by the caller (free with the
 * struct's *_cleanup()).
 *
 * Transactions: store_begin()/store_commit()/store_rollback() bracket one decision (a state
 * change, its outbox rows and its timeline event). Functions that write do not open a
 * transaction of their own when one is open; otherwise each is its own transaction.
 */
#ifndef DEALERBOT_STORE_H
#define DEALERBOT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dealerbot/complaint.h"
#include "dealerbot/directory.h"
#include "dealerbot/error.h"
#include "dealerbot/sla.h"

struct store;

/* Opens (creating if missing) the database at `path` and migrates it to the newest schema.
 * Returns 0 and *out, or DBOT_ERR_DB/IO with diag. */
int store_open(const char *path, struct store **out, struct dbot_diag *diag);

/* Opens without migrating (for tests of migrations and for `db migrate` reporting). */
int store_open_nomigrate(const char *path, struct store **out, struct dbot_diag *diag);

/* Opens a read-only connection for a reader thread (readers.h): no migration (the file
 * must already be at the newest schema, which the writer's store_open() saw to),
 * `PRAGMA query_only`, WAL as the writer set it. The struct store it returns belongs to the
 * thread that uses it, like any other; only the read functions may be called on it (a write
 * fails with DBOT_ERR_DB). Returns 0 and *out, or DBOT_ERR_IO/INVALID with diag. */
int store_open_reader(const char *path, struct store **out, struct dbot_diag *diag);

/* Closes and frees; NULL allowed. */
void store_close(struct store *st);

/* Schema versions: the newest this build knows, and the one the file is at. */
int store_schema_head(void);
int store_schema_version(struct store *st, int *out);

/* Migrates up to `target` (<= head); `target` < 0 means head. Each step is one transaction. */
int store_migrate(struct store *st, int target, struct dbot_diag *diag);

/* Online backup of the whole database into a new file at `dest` (overwritten). */
int store_backup(struct store *st, const char *dest, struct dbot_diag *diag);

int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);
bool store_in_transaction(struct store *st);
/* A savepoint inside the transaction in hand (one level): store_savepoint_end() keeps what
 * was written since (keep) or undoes it, and the transaction goes on either way. */
int store_savepoint(struct store *st);
int store_savepoint_end(struct store *st, bool keep);

/* ---- dealers ---- */

/* Insert or update by code (case-insensitive). */
int store_dealer_upsert(struct store *st, const struct dealer *d);
/* 0 and *out (caller cleans up), DBOT_ERR_NOTFOUND, or DBOT_ERR_DB. */
int store_dealer_get(struct store *st, const char *code, struct dealer *out);
/* Calls fn for every dealer in code order; fn returning non-zero stops the walk and that value
 * is returned. The struct passed to fn is borrowed for the call only. */
typedef int (*store_dealer_fn)(const struct dealer *d, void *arg);
int store_dealer_each(struct store *st, store_dealer_fn fn, void *arg);
int store_dealer_count(struct store *st, int64_t *out);

/* ---- people ---- */

int store_person_upsert(struct store *st, const struct person *p);
int store_person_get(struct store *st, const char *jid, struct person *out);
typedef int (*store_person_fn)(const struct person *p, void *arg);
/* dealer NULL: everyone; "brand": brand staff; else that dealer's people. */
int store_person_each(struct store *st, const char *dealer, store_person_fn fn, void *arg);

/* ---- directory changes: which rooms need syncing again ---- */

/* Every write to the directory — a dealer added or renamed, a person added, moved to another
 * dealer or removed, by this process or by another one on the same file — records a new
 * version for its scope: the dealer code whose room it changes, or "brand" when a brand staff
 * member changed (they are in every room). Versions grow; a scope keeps only its latest. */

/* The highest version (0 when the directory never changed). One index look-up: cheap
 * enough to poll. */
int store_directory_version(struct store *st, int64_t *out);
/* Calls fn(scope, version) for the scopes changed after version `after`, in version order,
 * at most `limit` (<= 0: 1000); fn returning non-zero stops the walk and that value is
 * returned. `scope` is borrowed for the call. */
typedef int (*store_directory_fn)(const char *scope, int64_t version, void *arg);
int store_directory_changes(struct store *st, int64_t after, int limit, store_directory_fn fn,
                            void *arg);

/* ---- complaints ---- */

/* Inserts a complaint in state "new" with the given policy name and deadlines, or, when
 * in->external_id is already stored, inserts nothing. *id is the ticket's id, *created tells
 * which. The dealer must exist (DBOT_ERR_NOTFOUND otherwise). Adds an "intake" timeline event
 * when created. `actor` is who submitted it ("api", "cli", a JID). */
int store_complaint_insert(struct store *st, const struct intake *in, const char *policy,
                           const struct deadlines *due, int64_t now, const char *actor,
                           int64_t *id, bool *created);

int store_complaint_get(struct store *st, int64_t id, struct complaint *out);

/* Keeps the SLA terms complaint `id` was filed under (at intake, in its transaction). 0,
 * DBOT_ERR_NOTFOUND (no such complaint), DBOT_ERR_INVALID (terms sla_terms_format() cannot
 * write), or an error. */
int store_complaint_terms_set(struct store *st, int64_t id, const struct sla_terms *t);
/* The terms kept with complaint `id`: 0 and *out (policy name ""), DBOT_ERR_NOTFOUND when
 * there is no such complaint or it has none (filed before schema 11), DBOT_ERR_DB when what
 * is kept cannot be read (logged). */
int store_complaint_terms_get(struct store *st, int64_t id, struct sla_terms *out);

struct complaint_filter {
    const char *dealer;           /* NULL: any */
    int state;                    /* -1: any; else enum complaint_state */
    bool overdue_only;            /* some open milestone past due at `now` */
    int64_t now;
    int64_t limit;                /* <= 0: 1000 */
};
typedef int (*store_complaint_fn)(const struct complaint *c, void *arg);
/* Walks matching complaints in id order. */
int store_complaint_each(struct store *st, const struct complaint_filter *f,
                         store_complaint_fn fn, void *arg);

/* What one lifecycle step changes; the fields left NULL / 0 / false stay as they are. */
struct complaint_change {
    enum complaint_state from, to;
    const char *owner;
    const char *eta;
    const char *solution;
    const char *cause, *fix, *prevent;
    int64_t ack_at, solution_at, report_at, closed_at;
    bool clear_closed;       /* reopen: closed_at back to NULL */
    int64_t close_due;       /* reopen: the new close deadline */
    bool count_reopen, count_reject;
};

/* Applies `ch` to complaint `id` if it is still in state ch->from (the caller decided on that
 * state): 0, DBOT_ERR_NOTFOUND (no such complaint), DBOT_ERR_CONFLICT (its state changed
 * meanwhile), or an error. */
int store_complaint_change(struct store *st, int64_t id, const struct complaint_change *ch,
                           int64_t now);

/* Walks the open complaints (not closed or cancelled) of `dealer` (NULL: all; any case) by
 * the deadline each works towards next (ack, solution or close), then id; at most `limit`
 * (<= 0: 1000), so the most urgent ones come first. */
int store_complaint_each_open(struct store *st, const char *dealer, int64_t limit,
                              store_complaint_fn fn, void *arg);

/* ---- dialogues: a person's guided /close report in progress (one per person) ---- */

struct dialogue {
    int64_t complaint_id;
    char *cause, *fix, *prevent; /* NULL until given */
};
void dialogue_cleanup(struct dialogue *d);
/* 0 and *out (heap copies), DBOT_ERR_NOTFOUND, or an error. */
int store_dialogue_get(struct store *st, const char *jid, struct dialogue *out);
/* Creates or replaces the person's dialogue. */
int store_dialogue_put(struct store *st, const char *jid, const struct dialogue *d, int64_t now);
int store_dialogue_delete(struct store *st, const char *jid);

/* ---- SLA events: the planned reminders, breaches and escalations ---- */

struct sla_row {
    int64_t id;
    int64_t complaint_id;
    enum sla_milestone milestone;
    enum sla_kind kind;
    int level;
    int64_t due_at;
    const char *notify;   /* "" when none */
    const char *state;    /* "pending" | "fired" | "cancelled" (store_sla_each only) */
    int64_t fired_at;     /* 0 when not */
    bool late;
};
typedef int (*store_sla_fn)(const struct sla_row *row, void *arg);

int store_sla_add(struct store *st, int64_t complaint_id, const struct sla_event *ev);
/* Cancels the pending events of the milestones in `which` (1u << MS_*). */
int store_sla_cancel(struct store *st, int64_t complaint_id, unsigned which, int64_t now);
/* The earliest pending due time: 0 and *due, or DBOT_ERR_NOTFOUND when nothing is pending. */
int store_sla_next(struct store *st, int64_t *due);
/* Walks pending events due at or before `now`, earliest first, at most `limit`. */
int store_sla_each_due(struct store *st, int64_t now, int limit, store_sla_fn fn, void *arg);
/* Marks event `id` fired (or cancelled when `cancel`) if it is still pending; *done is false
 * when it was not pending any more (someone fired it already: do nothing). */
int store_sla_fire(struct store *st, int64_t id, int64_t now, bool late, bool cancel,
                   bool *done);
/* How many pending events are due before `before`, and the earliest of them (0 if none). */
int store_sla_overdue(struct store *st, int64_t before, int64_t *count, int64_t *earliest);
/* Walks every event of a complaint (any state) by due time. */
int store_sla_each(struct store *st, int64_t complaint_id, store_sla_fn fn, void *arg);
/* Puts cancelled event `id` back in 'pending' (neither fired nor late): the scheduler fires
 * it when due, at once when that has passed. 0, or DBOT_ERR_NOTFOUND when the event is not
 * cancelled (pending, fired or unknown): a fired event never fires again. */
int store_sla_revive(struct store *st, int64_t id);
/* Holds back event `id`, whose firing failed at `now` with `error` (copied): the due walk
 * skips it for a minute after the first failure, doubling with each one up to an hour, and
 * store_sla_next() names the end of the hold. store_sla_unhold() ends a hold (after the event
 * fired; nothing when there is none). store_sla_held() counts the pending events held. */
int store_sla_hold(struct store *st, int64_t id, int64_t now, const char *error);
int store_sla_unhold(struct store *st, int64_t id);
int store_sla_held(struct store *st, int64_t *count);

/* ---- penalties: the catalogue ("处罚大全") and each dealer's ledger ---- */

int store_penalty_rule_upsert(struct store *st, const struct penalty_rule *r);
/* 0 and *out (heap copies), DBOT_ERR_NOTFOUND, or an error. */
int store_penalty_rule_get(struct store *st, const char *code, struct penalty_rule *out);
typedef int (*store_penalty_rule_fn)(const struct penalty_rule *r, void *arg);
int store_penalty_rule_each(struct store *st, store_penalty_rule_fn fn, void *arg);

struct penalty_entry {
    int64_t id;
    const char *dealer;
    const char *code;      /* a catalogue code, or SLA-ACK / SLA-SOLUTION / SLA-CLOSE */
    int points;
    int64_t complaint_id;  /* 0 when none */
    const char *note;      /* NULL when none */
    const char *actor;     /* a JID, or "bot" */
    int64_t at;
    const char *state;     /* "standing", "appealed", "upheld" or "waived" (a waived entry
                              counts nowhere: totals, scorecards) */
};
/* Adds to a dealer's ledger (the dealer must exist: DBOT_ERR_NOTFOUND). */
int store_penalty_add(struct store *st, const char *dealer, const char *code, int points,
                      int64_t complaint_id, const char *note, const char *actor, int64_t now);
typedef int (*store_penalty_fn)(const struct penalty_entry *e, void *arg);
/* Walks ledger entries of `dealer` (NULL: all) since `since`, oldest first, at most `limit`
 * (<= 0: 1000). */
int store_penalty_each(struct store *st, const char *dealer, int64_t since, int64_t limit,
                       store_penalty_fn fn, void *arg);
/* The same, only entries in `state` (NULL: any). */
int store_penalty_list(struct store *st, const char *dealer, const char *state, int64_t since,
                       int64_t limit, store_penalty_fn fn, void *arg);
/* The dealer's points since `since` (waived entries do not count). */
int store_penalty_total(struct store *st, const char *dealer, int64_t since, int64_t *points);

/* ---- appeals on ledger entries (P-5) ---- */

#define PENALTY_STATE_MAX 12
#define PENALTY_DEALER_MAX 64
#define PENALTY_ENTRY_CODE_MAX 64
/* One ledger entry as an appeal needs it (copied, no ownership). */
struct penalty_head {
    int64_t id;
    char dealer[PENALTY_DEALER_MAX];
    char code[PENALTY_ENTRY_CODE_MAX];
    int points;
    int64_t complaint_id; /* 0 when none */
    int64_t at;
    char state[PENALTY_STATE_MAX];
};
/* Reads entry `id`: 0, DBOT_ERR_NOTFOUND or DBOT_ERR_DB. */
int store_penalty_get(struct store *st, int64_t id, struct penalty_head *out);
/* Marks a standing entry under appeal. DBOT_ERR_CONFLICT when it is not standing (appealed
 * before, decided), DBOT_ERR_NOTFOUND when there is none. */
int store_penalty_appeal(struct store *st, int64_t id, const char *reason, const char *actor,
                         int64_t now);
/* Decides: `waive` true waives (an entry under appeal or standing), false upholds (an entry
 * under appeal only). DBOT_ERR_CONFLICT when the state does not allow it. */
int store_penalty_decide(struct store *st, int64_t id, bool waive, const char *note,
                         const char *actor, int64_t now);
/* Records a step (appeal, uphold, waive, refused) in the entry's history. */
int store_penalty_history_add(struct store *st, int64_t id, const char *actor,
                              const char *kind, const char *detail, int64_t now);
struct penalty_step {
    int64_t at;
    const char *actor, *kind, *detail; /* borrowed for the callback; detail may be NULL */
};
typedef int (*store_penalty_step_fn)(const struct penalty_step *s, void *arg);
/* Walks the history of entry `id`, oldest first. */
int store_penalty_history_each(struct store *st, int64_t id, store_penalty_step_fn fn,
                               void *arg);

/* ---- rewards (commendations, automatic rewards) beside the penalties ---- */

struct reward_entry {
    int64_t id;
    const char *dealer;
    const char *kind;      /* "commend", "first_time" or "satisfaction" */
    int points;
    int64_t complaint_id;  /* 0 when none */
    const char *note;      /* NULL when none */
    const char *actor;     /* a JID, or "bot" */
    int64_t at;
};
/* Adds a reward to a dealer's ledger (the dealer must exist: DBOT_ERR_NOTFOUND). */
int store_reward_add(struct store *st, const char *dealer, const char *kind, int points,
                     int64_t complaint_id, const char *note, const char *actor, int64_t now);
typedef int (*store_reward_fn)(const struct reward_entry *e, void *arg);
/* Walks the rewards of `dealer` (NULL: all) since `since`, oldest first, at most `limit`
 * (<= 0: 1000). Strings are borrowed for the call. */
int store_reward_each(struct store *st, const char *dealer, int64_t since, int64_t limit,
                      store_reward_fn fn, void *arg);
/* The dealer's reward points since `since`. */
int store_reward_total(struct store *st, const char *dealer, int64_t since, int64_t *points);
/* How many rewards of `kind` complaint `id` has had (0 or 1: an automatic reward is given
 * once). */
int store_reward_count(struct store *st, int64_t complaint_id, const char *kind, int64_t *n);

/* ---- the monthly dealer report ---- */

/* How many months are recorded (sent or not). */
int store_monthly_count(struct store *st, int64_t *n);
/* Whether `month` ("YYYY-MM") is recorded: *has 0 or 1. */
int store_monthly_has(struct store *st, const char *month, int64_t *has);
/* Records `month` as sent (late or not) or, sent false, as the month a new database starts
 * after. DBOT_ERR_CONFLICT when it is recorded already. */
int store_monthly_add(struct store *st, const char *month, int64_t at, bool sent, bool late);

/* ---- the network programme ---- */

/* Records the return visit's score (1..5) and comment (NULL allowed) on a complaint.
 * DBOT_ERR_NOTFOUND when there is no such complaint. */
int store_satisfaction_set(struct store *st, int64_t id, int score, const char *comment,
                           int64_t now);

/* How many complaints of `category` were received since `since`, at `dealer` (NULL: all),
 * counting at most `max` (<= 0: no limit) — enough to compare with a threshold. */
int store_category_count(struct store *st, const char *category, const char *dealer,
                         int64_t since, int64_t max, int64_t *count);
/* Their ids, newest first, at most `max`; *n how many were written. */
int store_category_ids(struct store *st, const char *category, const char *dealer,
                       int64_t since, int64_t *ids, int max, int *n);
/* When the last batch warning for (scope, category) was given: 0 and *at (0 when never). */
int store_batch_last(struct store *st, const char *scope, const char *category, int64_t *at);
int store_batch_add(struct store *st, const char *scope, const char *category, int64_t count,
                    int64_t now);

/* ---- broadcasts ---- */

struct broadcast {
    int64_t id;
    char *audience;        /* "all" | "underperformers" | "region:<r>" | "dealer:<CODE>" */
    char *kind;            /* standard | penalty | training | risk | notice */
    char *text;
    bool require_read;
    char *created_by;      /* a JID, or "api" */
    int64_t created_at, send_at;
    bool sent;
    int64_t sent_at, remind_at, report_at; /* 0 when none (or done) */
};
void broadcast_cleanup(struct broadcast *b);

/* Adds a broadcast to send at send_at (state scheduled); *id its number. */
int store_broadcast_add(struct store *st, const struct broadcast *b, int64_t *id);
int store_broadcast_get(struct store *st, int64_t id, struct broadcast *out);
/* Marks it sent (once: DBOT_ERR_CONFLICT when it was already), with when to remind those who
 * have not confirmed and when to report them (0: never). */
int store_broadcast_sent(struct store *st, int64_t id, int64_t now, int64_t remind_at,
                         int64_t report_at);
/* The earliest time a broadcast needs something (send, remind, report): 0 and *at, or
 * DBOT_ERR_NOTFOUND. */
int store_broadcast_next(struct store *st, int64_t *at);
enum broadcast_step { BC_SEND, BC_REMIND, BC_REPORT };
/* Up to `max` broadcasts with a step due at `now`: ids[i] and steps[i]; *n how many. */
int store_broadcast_due(struct store *st, int64_t now, int64_t *ids, enum broadcast_step *steps,
                        int max, int *n);
/* The step is done (the reminder or the report); it does not come again. */
int store_broadcast_step_done(struct store *st, int64_t id, enum broadcast_step step);

int store_broadcast_recipient_add(struct store *st, int64_t id, const char *jid,
                                  const char *dealer, const char *stanza_id);
/* /read: *first true when this confirmed it now, false when it was confirmed before;
 * DBOT_ERR_NOTFOUND when jid is not a recipient of broadcast id. */
int store_broadcast_read(struct store *st, int64_t id, const char *jid, int64_t now,
                         bool *first);
struct broadcast_recipient {
    const char *jid;
    const char *dealer;    /* NULL for brand staff */
    int64_t delivered_at;  /* 0 until the chat server confirmed the room message */
    int64_t read_at;       /* 0 until confirmed */
    int64_t reminded_at;
};
typedef int (*store_recipient_fn)(const struct broadcast_recipient *r, void *arg);
/* Walks the recipients (only those who have not confirmed when unread_only) by JID. */
int store_broadcast_recipients(struct store *st, int64_t id, bool unread_only,
                               store_recipient_fn fn, void *arg);
int store_broadcast_reminded(struct store *st, int64_t id, const char *jid, int64_t now);

/* ---- underperformers ---- */

struct under_row {
    const char *dealer;
    int64_t since;          /* listed since (0 for a row that is only a pin-out) */
    const char *reasons;    /* "" when none */
    int pinned;             /* 1 pinned in, -1 pinned out, 0 not pinned */
    int64_t under_since;    /* back under every threshold since (0: not) */
};
typedef int (*store_under_fn)(const struct under_row *r, void *arg);
/* Every row (listed dealers and pinned-out ones) by dealer code. */
int store_under_all(struct store *st, store_under_fn fn, void *arg);
int store_under_put(struct store *st, const struct under_row *r);
int store_under_delete(struct store *st, const char *dealer);
/* Records a change ("enter", "leave", "pin_in", "pin_out", "unpin") with its reasons. */
int store_under_log(struct store *st, const char *dealer, const char *change,
                    const char *reasons, const char *actor, int64_t now);

/* One recorded change; the strings are valid only inside the callback. */
struct under_change_row {
    int64_t id;
    const char *dealer;
    int64_t at;
    const char *change;     /* "enter", "leave", "pin_in", "pin_out", "unpin" */
    const char *reasons;    /* "" when none */
    const char *actor;      /* "schedule", "api" or a JID */
};
typedef int (*store_under_change_fn)(const struct under_change_row *r, void *arg);
/* Walks the latest `limit` changes, the most recent first. */
int store_under_changes(struct store *st, int limit, store_under_change_fn fn, void *arg);

/* Records an evaluation of the group at `at` by `actor` with what it did; `slot` is the daily
 * evaluate_at time a scheduled evaluation was for (0 for one on demand). */
int store_under_evaluated(struct store *st, int64_t at, const char *actor, int64_t slot,
                          int entered, int left, int listed);
/* The latest slot a scheduled evaluation was recorded for (0: none yet). */
int store_under_last_slot(struct store *st, int64_t *slot);
/* When the group was last evaluated and by whom (copied into actor[len]); DBOT_ERR_NOTFOUND
 * when never. */
int store_under_last_evaluation(struct store *st, int64_t *at, char *actor, size_t len);

/* Walks the dealers currently in the underperformers group (pinned out ones are not). */
typedef int (*store_code_fn)(const char *code, void *arg);
int store_underperformers_each(struct store *st, store_code_fn fn, void *arg);
/* Walks the codes of the dealers of a region (any case). */
int store_dealers_in_region(struct store *st, const char *region, store_code_fn fn, void *arg);

/* ---- scorecards ---- */

struct scorecard_set;

/* Measures every dealer of the directory over the complaints received in [from, to) and the
 * ledger entries dated in it, as of `now` (scorecard.h says what each figure is), and ranks
 * them (scorecards_rank). 0 and *out (caller frees with scorecard_set_cleanup()), or
 * DBOT_ERR_INVALID (from >= to), DBOT_ERR_NOMEM, DBOT_ERR_TOOBIG (over 64 M complaints in
 * the window), DBOT_ERR_DB. Reads in one snapshot (its own read transaction unless one is
 * open) and writes nothing.
 *
 * Cost: the window's complaints are found on the (category, received_at) index and read
 * once, in id order, from the smallest to the largest id among them, so the cost follows the
 * size of the window, not of the table (complaints arrive in id order; a complaint received
 * long before it was filed only widens the range). They are summed per dealer in C: SQLite
 * has no hash aggregate, and a GROUP BY dealer over a million rows sorts them (seconds).
 * Memory: 4 bytes per acknowledged and per closed complaint, for the exact percentiles,
 * besides the dealers. The ledger is read whole (it is small beside the complaints). */
int store_scorecards(struct store *st, int64_t from, int64_t to, int64_t now,
                     struct scorecard_set *out);

/* ---- timeline ---- */

struct timeline_event {
    int64_t id;
    int64_t complaint_id;
    int64_t at;
    const char *actor;
    const char *kind;
    const char *detail;     /* NULL when none */
    const char *message_id; /* NULL when none */
};

int store_timeline_add(struct store *st, int64_t complaint_id, int64_t at, const char *actor,
                       const char *kind, const char *detail, const char *message_id);
typedef int (*store_timeline_fn)(const struct timeline_event *ev, void *arg);
/* Walks a complaint's events oldest first (borrowed for the call only). */
int store_timeline_each(struct store *st, int64_t complaint_id, store_timeline_fn fn, void *arg);

/* ---- outbox: every chat message leaves through here ---- */

#define OUTBOX_ID_MAX 40

struct outbox_row {
    int64_t rowid;
    int64_t complaint_id;  /* 0 when none */
    bool group;            /* room message, else direct */
    const char *target;    /* room local name or bare JID */
    const char *body;
    const char *msg_id;    /* the stable id put on the wire ("dbot-...") */
    int attempts;
};

/* Adds a pending message in the current transaction (or its own). `kind` says what it is
 * ("card" notifies its complaint when delivered; NULL = "reply"). msg_id (OUTBOX_ID_MAX
 * bytes, may be NULL) receives the stable id. */
int store_outbox_add(struct store *st, int64_t complaint_id, bool group, const char *target,
                     const char *body, const char *kind, int64_t now, char *msg_id);

/* The complaint (0 when none) and kind of the message with this id; DBOT_ERR_NOTFOUND when
 * there is none. kind gets at most kind_len - 1 bytes. */
int store_outbox_find(struct store *st, const char *msg_id, int64_t *complaint_id, char *kind,
                      size_t kind_len);

typedef int (*store_outbox_fn)(const struct outbox_row *row, void *arg);
/* Walks undelivered messages with rowid > after_rowid in rowid order, at most `limit`. */
int store_outbox_each_pending(struct store *st, int64_t after_rowid, int limit,
                              store_outbox_fn fn, void *arg);

/* Marks a message delivered (the chat server confirmed it); unknown or already delivered ids
 * are not an error. */
int store_outbox_delivered(struct store *st, const char *msg_id, int64_t now);

/* Counts one more send attempt of a message. */
int store_outbox_attempted(struct store *st, int64_t rowid, int64_t now);

/* The rowid of the undelivered message with this id; DBOT_ERR_NOTFOUND when there is none
 * (unknown, or delivered already). */
int store_outbox_rowid(struct store *st, const char *msg_id, int64_t *rowid);

struct outbox_counts {
    int64_t pending;
    int64_t delivered;
};
int store_outbox_count(struct store *st, struct outbox_counts *out);

/* ---- inbox: platform ids of messages already acted on ---- */

/* Records `platform_id`; *seen is true when it was there already (a duplicate). */
int store_inbox_record(struct store *st, const char *platform_id, int64_t now, bool *seen);
/* Forgets at most `limit` (<= 0: 1000) ids recorded before `before`, oldest first (one
 * indexed statement, so a large backlog goes in bounded steps); *deleted says how many. */
int store_inbox_prune(struct store *st, int64_t before, int limit, int *deleted);
/* *has = a message with this platform id is recorded (committed) in the inbox. */
int store_inbox_has(struct store *st, const char *platform_id, bool *has);

/* ---- room addresses (schema 18): a room's group on the platform (DingTalk) ---- */

#define ROOM_ADDRESS_MAX 256

/* Maps `room` (its local name) to `address`; a room that had another address gets this one,
 * and a room that had this address loses it (a group is one room's). Call inside a
 * transaction. 0 or DBOT_ERR_DB. */
int store_room_address_set(struct store *st, const char *room, const char *address, int64_t now);
/* *out = a new copy of the room's address (caller frees); DBOT_ERR_NOTFOUND when unmapped. */
int store_room_address_get(struct store *st, const char *room, char **out);
typedef int (*store_room_address_fn)(const char *room, const char *address, void *arg);
/* Every mapping, by room name; a non-zero return from fn stops and is returned. */
int store_room_address_each(struct store *st, store_room_address_fn fn, void *arg);

#endif
