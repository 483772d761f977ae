/*
 * engine_int.h — what the engine's files share: texts for a reader, times in a dealer's zone,
 * and writing chat messages into the outbox. Private to src/engine/.
 */
#ifndef DEALERBOT_ENGINE_INT_H
#define DEALERBOT_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dealerbot/engine.h"
#include "dealerbot/messages.h"

#define ENG_TIME_MAX 32 /* "2026-11-24 09:30" and room to spare */

/* The template `key` in `lang`, rendered with vars: a new string (free()), NULL on OOM. */
char *eng__text(const struct engine *e, const char *lang, const char *key,
                const struct msg_var *vars, size_t n);

/* A label (no placeholders) in `lang`, borrowed from the messages; the key itself when the
 * messages lack it. */
const char *eng__label(const struct engine *e, const char *lang, const char *key);

/* The label of a state ("state_acknowledged") and a priority ("prio_vip"). */
const char *eng__state_label(const struct engine *e, const char *lang,
                             enum complaint_state s);
const char *eng__prio_label(const struct engine *e, const char *lang, enum priority p);

/* t as "2026-11-24 09:30" in zone tz (NULL: the configured zone). Returns buf. */
char *eng__when(int64_t t, const char *tz, char *buf, size_t len);

/* "2 days 3 h" style span in lang, the two largest units. Returns buf. */
char *eng__span(const char *lang, int64_t secs, char *buf, size_t len);

/* A deadline for people: "2026-11-24 09:30 (3 h left)", "(overdue by 2 h)" or "(met)".
 * met_at 0 = not met yet. Returns buf. */
char *eng__due(const struct engine *e, const char *lang, const char *tz, int64_t due,
               int64_t met_at, int64_t now, char *buf, size_t len);

/* The deadline the complaint works towards now (ack, solution or close), 0 when closed or
 * cancelled. */
int64_t eng__next_due(const struct complaint *c);

/* Writes a chat message into the outbox in the current transaction and notes that the pump
 * should be kicked after the commit. `text` is borrowed. */
int eng__send(struct engine *e, int64_t complaint_id, bool group, const char *target,
              const char *text, const char *kind, int64_t now);

/* eng__send that also gives the message's stable id (OUTBOX_ID_MAX bytes; NULL: not wanted). */
int eng__send_id(struct engine *e, int64_t complaint_id, bool group, const char *target,
                 const char *text, const char *kind, int64_t now, char *msg_id);

/* eng__text + eng__send; NULL text (OOM) is DBOT_ERR_NOMEM. */
int eng__say(struct engine *e, int64_t complaint_id, bool group, const char *target,
             const char *lang, const char *key, const struct msg_var *vars, size_t n,
             const char *kind, int64_t now);

/* bind.c: "bind NAME" in a group with a platform address (see bind.c). */
bool eng__bind_parse(const char *text, char *name, size_t cap);
int eng__bind(struct engine *e, const struct chat_message *m, const struct person *who,
              const char *lang, const char *name, int64_t now);

#define DEALER_ROOM_MAX 64 /* "dealer-" + a dealer code */
#define SLA_LATE_S 5       /* an event fired later than this after its due time says so */

struct dealer;
struct sla_row;

/* After a commit: kicks the outbox pump and the scheduler for what the transaction wrote,
 * and forgets it. After a rollback: forgets it. */
void eng__after_commit(struct engine *e);
void eng__forget(struct engine *e);

/* rewards.c: the automatic rewards, each at most once per complaint and only when its points
 * are configured: c was just approved and closed at `now` (first time, every deadline met),
 * or its return visit scored `score`. Inside the open transaction. */
int eng__reward_closed(struct engine *e, const struct complaint *c, int64_t now);
int eng__reward_satisfaction(struct engine *e, const struct complaint *c, int score,
                             int64_t now);

/* reports.c: engine_honour_roll inside the open transaction (the chat command). */
int eng__honour_roll(struct engine *e, int64_t now, char *month, size_t len);

/* appeals.c: appeal, uphold or waive entry h for `actor` (a JID or "api"; `who` is how the
 * rooms name it), inside the open transaction, after the caller checked who may. A refusal
 * sets *why, is recorded in the entry's history and changes nothing else. */
int eng__penalty_act(struct engine *e, enum penalty_action a, const struct penalty_head *h,
                     const char *text, const char *actor, const char *who, const char *lang,
                     int64_t now, enum penalty_refusal *why);

/* One decision, one transaction: forgets what an earlier one left, begins, runs fn(e, arg),
 * commits when it returned 0 and rolls back when not; then eng__after_commit() after a commit,
 * eng__forget() after a failure. Returns fn's error, or the store's. */
typedef int (*eng_txn_fn)(struct engine *e, void *arg);
int eng__transact(struct engine *e, eng_txn_fn fn, void *arg);

/* Gives the batch warnings a new complaint of `category` at `dealer` (the store's spelling)
 * brings about (current transaction). */
int eng__batch_check(struct engine *e, const char *category, const char *dealer, int64_t now);

/* ---- broadcasts.c ---- */

/* Creates a broadcast (current transaction) and sends it when it is due now: *id its number,
 * *rooms and *people how many it went to (0 when scheduled). DBOT_ERR_INVALID with diag for
 * an audience that names no dealer, region or room. */
int eng__broadcast(struct engine *e, struct broadcast *b, int64_t now, int64_t *id,
                   int *rooms, int *people, struct dbot_diag *diag);
/* Does what is due for broadcast `id` (send, remind, report) in the current transaction. */
int eng__broadcast_step(struct engine *e, int64_t id, enum broadcast_step step, int64_t now);
/* The catalogue as a bulletin in `lang` (a new string). */
char *eng__catalogue_text(struct engine *e, const char *lang);

/* ---- underperformers.c ---- */

/* Evaluates the group (current transaction) and records the evaluation; slot is the daily
 * evaluate_at time a scheduled one is for, 0 on demand. `actor`: "schedule", "api" or a JID. */
int eng__under_evaluate(struct engine *e, int64_t now, const char *actor, int64_t slot,
                        struct under_result *res);
/* The evaluation's decisions from scorecards already computed (a reader's snapshot, or the
 * store's at once): what eng__under_evaluate does after store_scorecards. Borrows set. In
 * the caller's transaction. */
struct scorecard_set;
int eng__under_apply(struct engine *e, const struct scorecard_set *set, int64_t now,
                     const char *actor, int64_t slot, struct under_result *res);
/* Pins a dealer in (1) or out (-1) of the group, or unpins it (0), by `actor` (a JID; `who`
 * the name to show, NULL: the JID), then evaluates (current transaction). Pinning in a dealer
 * that is not listed makes it enter now, pinning out a listed one makes it leave now (with
 * the messages, and the room's members synced after the commit); unpinned, its figures
 * decide. DBOT_ERR_NOTFOUND for an unknown dealer. */
int eng__under_pin(struct engine *e, const char *dealer, int pin, const char *actor,
                   const char *who, int64_t now, struct under_result *res);

/* ---- deadlines.c ---- */

/* sla_offset_fn for a zone name (arg: const char *, NULL = the configured zone). */
int32_t eng__offset(int64_t t, void *arg);
/* The named policy, else "default". */
const struct sla_policy *eng__policy(const struct config *cfg, const char *name);
/* The deadlines of a complaint received at received_at at dealer d (its calendar and zone). */
void eng__deadlines(const struct engine *e, const struct sla_policy *pol,
                    const struct dealer *d, int64_t received_at, struct deadlines *out);
/* The terms a policy and the configured ladder give (what intake keeps with a complaint). */
void eng__terms_from_config(const struct config *cfg, const struct sla_policy *pol,
                            struct sla_terms *out);
/* The terms complaint c was filed under: those kept with it, or for a complaint filed before
 * they were kept, its policy and the ladder as configured now. */
int eng__terms(struct engine *e, const struct complaint *c, struct sla_terms *out);
/* Writes the planned events of the milestones in `which` under `terms` (current
 * transaction); events already due at `now` (a breach, escalations) are planned too and fire
 * at once, late. */
int eng__plan_sla(struct engine *e, int64_t complaint_id, const struct deadlines *due,
                  const struct sla_terms *terms, const struct dealer *d, unsigned which,
                  int64_t now);
/* A report of c rejected at `now` (current transaction): the close events its review held
 * back are planned again, the past ones to fire at once, late (sla_resume()). */
int eng__resume_close(struct engine *e, const struct complaint *c, int64_t now);
/* Reopens c (decided: `to` from c->state): the close deadline again from now in the dealer's
 * business time, its SLA events planned anew, both under the complaint's terms
 * (eng__terms()), and a timeline event by `actor`. close_when gets
 * the new close deadline for people. DBOT_ERR_CONFLICT when c's state moved meanwhile. */
int eng__reopen(struct engine *e, const struct complaint *c, enum complaint_state to,
                const char *actor, const char *reason, const char *message_id, int64_t now,
                char *close_when, size_t when_len);

/* Fires one due event (current transaction): *fired false when it was cancelled (milestone
 * met) or taken by someone else. */
int eng__fire_sla(struct engine *e, const struct sla_row *row, int64_t now, bool *fired);

/* The card of a new complaint for the dealer room (and the staff room when urgent/VIP), in
 * the current transaction. */
int eng__push_card(struct engine *e, int64_t id, int64_t now);

#endif
