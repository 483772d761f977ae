/*
 * deadlines.c — the engine's side of the SLA: deadlines and the plan of reminders, breaches
 * and escalations written with the complaint (snapshotted: a config edit never reshuffles a
 * running escalation), cancelled when a milestone is met, held back while a report is under
 * review, and fired once each. The terms the plan came from (policy and ladder) are kept
 * with the complaint too, so that a reopen plans the close clock again from them.
 *
 * Firing is exactly once because store_sla_fire() takes an event out of 'pending' in the
 * transaction that also writes its outbox rows, timeline event and penalty points: a second
 * timer, a restart or a crash between two firings finds the event gone or still pending,
 * never half-done. Everything overdue when the bot starts fires once, marked late.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/directory.h"
#include "dealerbot/log.h"
#include "dealerbot/sla.h"
#include "dealerbot/timeutil.h"

#define MOD "sla"

int32_t eng__offset(int64_t t, void *arg)
{
    return timeutil_zone_offset(arg, t);
}

const struct sla_policy *eng__policy(const struct config *cfg, const char *name)
{
    const struct sla_policy *pol = name ? config_policy(cfg, name) : NULL;
    return pol ? pol : config_policy(cfg, "default");
}

void eng__deadlines(const struct engine *e, const struct sla_policy *pol,
                    const struct dealer *d, int64_t received_at, struct deadlines *out)
{
    const struct calendar *cal = config_calendar(e->cfg, d->calendar);
    sla_deadlines(pol, cal, eng__offset, d->timezone, received_at, out);
}

void eng__terms_from_config(const struct config *cfg, const struct sla_policy *pol,
                            struct sla_terms *out)
{
    memset(out, 0, sizeof *out);
    out->policy = *pol;
    out->n_ladder = cfg->n_escalation;
    memcpy(out->ladder, cfg->escalation, sizeof out->ladder);
}

int eng__terms(struct engine *e, const struct complaint *c, struct sla_terms *out)
{
    int err = store_complaint_terms_get(e->store, c->id, out);
    if (err != DBOT_ERR_NOTFOUND)
        return err;
    /* Filed before the terms were kept (schema 11): the config is all there is. */
    eng__terms_from_config(e->cfg, eng__policy(e->cfg, c->policy), out);
    return 0;
}

int eng__plan_sla(struct engine *e, int64_t complaint_id, const struct deadlines *due,
                  const struct sla_terms *terms, const struct dealer *d, unsigned which,
                  int64_t now)
{
    struct sla_event ev[SLA_PLAN_MAX];
    int n = sla_plan(due, &terms->policy, terms->ladder, terms->n_ladder, &e->cfg->quiet,
                     eng__offset, d->timezone, which, now, ev);
    for (int i = 0; i < n; i++) {
        int err = store_sla_add(e->store, complaint_id, &ev[i]);
        if (err)
            return err;
    }
    if (n > 0)
        e->wrote_sla = true;
    return 0;
}

int eng__reopen(struct engine *e, const struct complaint *c, enum complaint_state to,
                const char *actor, const char *reason, const char *message_id, int64_t now,
                char *close_when, size_t when_len)
{
    struct dealer d = {0};
    struct sla_terms terms;
    int err = store_dealer_get(e->store, c->dealer, &d);
    if (err)
        return err;
    if ((err = eng__terms(e, c, &terms)) != 0) {
        dealer_cleanup(&d);
        return err;
    }
    /* The close clock restarts now under the terms the complaint was filed under. */
    struct deadlines due = c->due, fresh;
    eng__deadlines(e, &terms.policy, &d, now, &fresh);
    due.close_due = fresh.close_due;
    struct complaint_change ch = {.from = c->state, .to = to, .clear_closed = true,
                                  .close_due = due.close_due, .count_reopen = true};
    err = store_complaint_change(e->store, c->id, &ch, now);
    if (err == 0)
        err = store_timeline_add(e->store, c->id, now, actor, "reopen", reason, message_id);
    if (err == 0)
        err = store_sla_cancel(e->store, c->id, 1u << MS_CLOSE, now);
    if (err == 0)
        err = eng__plan_sla(e, c->id, &due, &terms, &d, 1u << MS_CLOSE, now);
    eng__when(due.close_due, d.timezone, close_when, when_len);
    if (err == 0) {
        char id[32];
        log_info(MOD, "%s reopened by %s", complaint_id_format(c->id, id, sizeof id), actor);
    }
    dealer_cleanup(&d);
    return err;
}

/* ---- a rejected report: what the review held back ---- */

struct held {
    int64_t since;                 /* the report's submission */
    int n;
    int64_t id[SLA_PLAN_MAX];
    struct sla_event ev[SLA_PLAN_MAX];
};

static int take_held(const struct sla_row *r, void *arg)
{
    struct held *h = arg;
    if (r->milestone != MS_CLOSE || strcmp(r->state, "cancelled") != 0 ||
        r->fired_at < h->since || r->fired_at < r->due_at || h->n == SLA_PLAN_MAX)
        return 0;
    h->id[h->n] = r->id;
    h->ev[h->n] = (struct sla_event){.milestone = r->milestone, .kind = r->kind,
                                     .level = r->level, .due_at = r->due_at};
    h->n++;
    return 0;
}

/*
 * While a report is under review, each close event that comes due is cancelled as it is
 * taken (milestone_met below): the wait is the brand's. The review ends here with the report
 * back at the dealer and the close deadline unchanged, so what it held back is put back in
 * the plan — the same rows, written at intake from the complaint's terms, so nothing is
 * planned anew from the config. Those already due fire at the scheduler's next turn, marked
 * late, once each (store_sla_revive() touches only cancelled rows). The events that did not
 * come due during the review are still pending and stay as they are.
 *
 * The rows the review cancelled are told apart by time: cancelled when they came due (not
 * before, as a met milestone cancels what is ahead), at or after the report's submission.
 * Nothing else cancels close events of a report under review (an approval closes the
 * complaint, a reopen needs it closed, and each new report moves report_at on).
 */
int eng__resume_close(struct engine *e, const struct complaint *c, int64_t now)
{
    struct held *h = calloc(1, sizeof *h);
    if (!h)
        return DBOT_ERR_NOMEM;
    h->since = c->report_at;
    int err = c->report_at ? store_sla_each(e->store, c->id, take_held, h) : 0;
    bool keep[SLA_PLAN_MAX];
    int n = err == 0 ? sla_resume(h->ev, h->n, c->due.close_due, now, keep) : 0;
    for (int i = 0; err == 0 && i < h->n; i++)
        if (keep[i])
            err = store_sla_revive(e->store, h->id[i]);
    if (err == 0 && n > 0) {
        e->wrote_sla = true;
        char cid[32];
        log_info(MOD, "%s: report rejected; %d close event(s) held during the review planned "
                      "again", complaint_id_format(c->id, cid, sizeof cid), n);
    }
    free(h);
    return err;
}

/* ---- firing ---- */

/* Whether the milestone of an event no longer needs anything. */
static bool milestone_met(const struct complaint *c, enum sla_milestone m)
{
    if (c->state == STATE_CLOSED || c->state == STATE_CANCELLED)
        return true;
    switch (m) {
    case MS_ACK: return c->ack_at != 0;
    case MS_SOLUTION: return c->solution_at != 0;
    /* A report under review holds the close clock's messages back: the wait is the brand's.
     * A rejection puts them back (eng__resume_close), an approval closes the complaint. */
    case MS_CLOSE: return c->closed_at != 0 || c->state == STATE_REPORT_SUBMITTED;
    }
    return true;
}

static int64_t milestone_due(const struct complaint *c, enum sla_milestone m)
{
    return m == MS_ACK ? c->due.ack_due : m == MS_SOLUTION ? c->due.solution_due
                                                           : c->due.close_due;
}

static int64_t breach_points(const struct config *cfg, enum sla_milestone m)
{
    return m == MS_ACK ? cfg->penalties.ack_points
           : m == MS_SOLUTION ? cfg->penalties.solution_points
                              : cfg->penalties.close_points;
}

/* What one firing says, in any language. */
struct firing {
    struct engine *e;
    const struct sla_row *row;
    const struct complaint *c;
    const struct dealer *d;
    int64_t now;
    bool late;
    char cid[32], due[ENG_TIME_MAX], span[48], level[16], points[16];
    int err;
};

static size_t vars_for(struct firing *f, const char *lang, struct msg_var *v)
{
    struct engine *e = f->e;
    char key[32];
    snprintf(key, sizeof key, "milestone_%s", sla_milestone_name(f->row->milestone));
    int64_t due = milestone_due(f->c, f->row->milestone);
    eng__span(lang, due > f->now ? due - f->now : f->now - due, f->span, sizeof f->span);
    size_t n = 0;
    v[n++] = (struct msg_var){"id", f->cid};
    v[n++] = (struct msg_var){"milestone", eng__label(e, lang, key)};
    v[n++] = (struct msg_var){"due", f->due};
    v[n++] = (struct msg_var){"left", f->span};
    v[n++] = (struct msg_var){"over", f->span};
    v[n++] = (struct msg_var){"summary", f->c->summary};
    v[n++] = (struct msg_var){"late", f->late ? eng__label(e, lang, "late_mark") : ""};
    v[n++] = (struct msg_var){"level", f->level};
    v[n++] = (struct msg_var){"points", f->points};
    v[n++] = (struct msg_var){"dealer_code", f->d->code};
    v[n++] = (struct msg_var){"dealer_name", f->d->name};
    return n;
}

/* Renders `key` for one reader and queues it. */
static void say(struct firing *f, bool group, const char *to, const char *lang, const char *key)
{
    if (f->err)
        return;
    struct msg_var v[12];
    size_t n = vars_for(f, lang, v);
    f->err = eng__say(f->e, f->c->id, group, to, lang, key, v, n, "sla", f->now);
}

static void to_room(struct firing *f, const char *key)
{
    char room[DEALER_ROOM_MAX];
    say(f, true, dealer_room_name(f->d->code, room, sizeof room), f->e->cfg->language, key);
}

struct pick {
    struct firing *f;
    const char *dealer;   /* people of this dealer ("brand" for staff) */
    int role;             /* -1: any */
    const char *key;
    int sent;
};

static int dm_each(const struct person *p, void *arg)
{
    struct pick *k = arg;
    if (k->role >= 0 && (int)p->role != k->role)
        return 0;
    say(k->f, false, p->jid, p->language, k->key);
    k->sent++;
    return k->f->err;
}

/* Direct messages to a group of people, or to one JID. Returns how many. */
static int to_people(struct firing *f, const char *who, const char *key)
{
    struct pick k = {.f = f, .key = key, .role = -1};
    if (strcmp(who, "dealer_managers") == 0) {
        k.dealer = f->d->code;
        k.role = ROLE_MANAGER;
    } else if (strcmp(who, "supervisors") == 0) {
        k.dealer = "brand";
        k.role = ROLE_SUPERVISOR;
    } else if (strcmp(who, "admins") == 0) {
        k.dealer = "brand";
        k.role = ROLE_ADMIN;
    } else if (strchr(who, '@')) {
        struct person p;
        if (store_person_get(f->e->store, who, &p) == 0) {
            say(f, false, p.jid, p.language, key);
            person_cleanup(&p);
        } else {
            say(f, false, who, f->e->cfg->language, key);
        }
        return 1;
    } else {
        log_warn(MOD, "%s: unknown escalation target \"%s\"", f->cid, who);
        return 0;
    }
    int err = store_person_each(f->e->store, k.dealer, dm_each, &k);
    if (err && !f->err)
        f->err = err;
    return k.sent;
}

static void fire_remind(struct firing *f)
{
    to_room(f, "remind_room");
    if (f->c->owner && f->c->state != STATE_NEW && f->c->state != STATE_NOTIFIED)
        to_people(f, f->c->owner, "remind_dm");
    else
        to_people(f, "dealer_managers", "remind_dm");
}

static void fire_breach(struct firing *f)
{
    int64_t pts = breach_points(f->e->cfg, f->row->milestone);
    snprintf(f->points, sizeof f->points, "%lld", (long long)pts);
    if (pts > 0 && !f->err) {
        char code[32];
        snprintf(code, sizeof code, "SLA-%s", sla_milestone_name(f->row->milestone));
        for (char *p = code; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        f->err = store_penalty_add(f->e->store, f->d->code, code, (int)pts, f->c->id, NULL,
                                   "bot", f->now);
    }
    if (f->e->msgs)
        to_room(f, "breach_room");
}

static void fire_escalate(struct firing *f)
{
    snprintf(f->level, sizeof f->level, "%d", f->row->level);
    int n = to_people(f, f->row->notify, "escalate_dm");
    if (n == 0)
        log_warn(MOD, "%s: escalation level %d to \"%s\" reached nobody in the directory",
                 f->cid, f->row->level, f->row->notify);
    say(f, true, f->e->cfg->chat.staff_room, f->e->cfg->language, "escalate_staff");
}

int eng__fire_sla(struct engine *e, const struct sla_row *row, int64_t now, bool *fired)
{
    *fired = false;
    struct complaint c;
    int err = store_complaint_get(e->store, row->complaint_id, &c);
    bool done;
    if (err == DBOT_ERR_NOTFOUND)
        return store_sla_fire(e->store, row->id, now, false, true, &done);
    if (err)
        return err;
    if (milestone_met(&c, row->milestone)) {
        err = store_sla_fire(e->store, row->id, now, false, true, &done);
        complaint_cleanup(&c);
        return err;
    }
    bool late = now - row->due_at > SLA_LATE_S;
    err = store_sla_fire(e->store, row->id, now, late, false, &done);
    if (err || !done) { /* someone fired it already: nothing more */
        complaint_cleanup(&c);
        return err;
    }
    struct dealer d = {0};
    if ((err = store_dealer_get(e->store, c.dealer, &d)) != 0) {
        complaint_cleanup(&c);
        return err;
    }
    struct firing f = {.e = e, .row = row, .c = &c, .d = &d, .now = now, .late = late};
    complaint_id_format(c.id, f.cid, sizeof f.cid);
    eng__when(milestone_due(&c, row->milestone), d.timezone, f.due, sizeof f.due);
    snprintf(f.level, sizeof f.level, "%d", row->level);
    snprintf(f.points, sizeof f.points, "0");

    switch (row->kind) {
    case SLA_REMIND:
        if (e->msgs)
            fire_remind(&f);
        break;
    case SLA_BREACH: fire_breach(&f); break;
    case SLA_ESCALATE:
        if (e->msgs)
            fire_escalate(&f);
        break;
    }
    err = f.err;
    if (err == 0) {
        /* never cut: the milestone name and level are short, notify is a bounded array */
        char detail[sizeof row->notify + 64];
        if (row->kind == SLA_ESCALATE)
            snprintf(detail, sizeof detail, "%s level %s to %s",
                     sla_milestone_name(row->milestone), f.level, row->notify);
        else
            snprintf(detail, sizeof detail, "%s", sla_milestone_name(row->milestone));
        if (late)
            strncat(detail, " (late)", sizeof detail - strlen(detail) - 1);
        err = store_timeline_add(e->store, c.id, now, "bot", sla_kind_name(row->kind), detail,
                                 NULL);
    }
    if (err == 0) {
        *fired = true;
        log_info(MOD, "%s: %s %s%s fired%s", f.cid, sla_kind_name(row->kind),
                 sla_milestone_name(row->milestone),
                 row->kind == SLA_ESCALATE ? " escalation" : "", late ? " late" : "");
    }
    dealer_cleanup(&d);
    complaint_cleanup(&c);
    return err;
}
