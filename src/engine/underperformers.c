/*
 * underperformers.c — the underperformers group runs itself from the data: an evaluation
 * (daily at underperformers.evaluate_at, and on demand) computes every dealer's scorecard over
 * underperformers.window, applies the thresholds with hysteresis (underperformers.h), records
 * every change with its reasons, tells the group and the dealer's own room, and the chat side
 * then makes the group's member list the listed dealers' people plus the brand staff.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/chat.h"
#include "dealerbot/directory.h"
#include "dealerbot/log.h"
#include "dealerbot/scorecard.h"
#include "dealerbot/underperformers.h"

#define MOD "underperformers"
#define REASONS_MAX 512

static struct under_rules rules_of(const struct config *cfg)
{
    return (struct under_rules){.min_complaints = cfg->underperformers.min_complaints,
                                .rate_factor = cfg->underperformers.rate_factor,
                                .close_sla_min = cfg->underperformers.close_sla_min,
                                .penalty_points_max = cfg->underperformers.penalty_points_max,
                                .exit_after_s = cfg->underperformers.exit_after_s};
}

/* The reasons as one line in `lang`. */
static void reasons_text(struct engine *e, const char *lang, unsigned why,
                         const struct scorecard *d, const struct scorecard *net,
                         const struct under_rules *r, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t off = 0;
    const char *sep = lang && strncasecmp(lang, "en", 2) == 0 ? "; " : "；";
    char a[32], b[32], c[32];
    for (unsigned bit = UR_RATE; bit <= UR_PENALTY; bit <<= 1) {
        if (!(why & bit))
            continue;
        char *t = NULL;
        if (bit == UR_RATE) {
            bool per = d->m[SCM_PER_1000].has && net->m[SCM_PER_1000].has;
            enum scorecard_metric m = per ? SCM_PER_1000 : SCM_COMPLAINTS;
            scorecard_value_format(m, &d->m[m], a, sizeof a);
            scorecard_value_format(m, &net->m[m], b, sizeof b);
            snprintf(c, sizeof c, "%.2g", r->rate_factor);
            struct msg_var v[] = {{"value", a}, {"network", b}, {"factor", c}};
            t = eng__text(e, lang, "under_reason_rate", v, 3);
        } else if (bit == UR_CLOSE) {
            scorecard_value_format(SCM_CLOSE_COMPLIANCE, &d->m[SCM_CLOSE_COMPLIANCE], a, sizeof a);
            snprintf(b, sizeof b, "%.0f%%", r->close_sla_min * 100);
            struct msg_var v[] = {{"value", a}, {"min", b}};
            t = eng__text(e, lang, "under_reason_close", v, 2);
        } else {
            snprintf(a, sizeof a, "%lld", (long long)d->raw.penalty_points);
            snprintf(b, sizeof b, "%lld", (long long)r->penalty_points_max);
            struct msg_var v[] = {{"value", a}, {"max", b}};
            t = eng__text(e, lang, "under_reason_penalty", v, 2);
        }
        if (t) {
            int w = snprintf(buf + off, len - off, "%s%s", off ? sep : "", t);
            if (w > 0 && (size_t)w < len - off)
                off += (size_t)w;
            free(t);
        }
    }
}

/* The stored rows, by dealer code, for the evaluation to look up. */
struct rows {
    struct under_state *st;
    char **code;
    char **reasons;
    size_t n, cap;
};

static int keep_row(const struct under_row *r, void *arg)
{
    struct rows *x = arg;
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 16;
        struct under_state *s = realloc(x->st, cap * sizeof *s);
        if (s)
            x->st = s;
        char **c = realloc(x->code, cap * sizeof *c);
        if (c)
            x->code = c;
        char **rs = realloc(x->reasons, cap * sizeof *rs);
        if (rs)
            x->reasons = rs;
        if (!s || !c || !rs)
            return DBOT_ERR_NOMEM;
        x->cap = cap;
    }
    x->st[x->n] = (struct under_state){.listed = r->pinned >= 0 && r->since != 0,
                                       .since = r->since, .under_since = r->under_since,
                                       .pinned = r->pinned};
    x->code[x->n] = strdup(r->dealer);
    x->reasons[x->n] = strdup(r->reasons ? r->reasons : "");
    if (!x->code[x->n] || !x->reasons[x->n]) {
        free(x->code[x->n]);
        free(x->reasons[x->n]);
        return DBOT_ERR_NOMEM;
    }
    x->n++;
    return 0;
}

static void rows_free(struct rows *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->code[i]);
        free(x->reasons[i]);
    }
    free(x->st);
    free(x->code);
    free(x->reasons);
}

static ssize_t row_of(const struct rows *x, const char *code)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcasecmp(x->code[i], code) == 0)
            return (ssize_t)i;
    return -1;
}

/* The dealer's people as "name (id), name (id)" into a new string (caller frees). */
struct people_list {
    char *buf;
    size_t len, cap;
    int err;
};

static int add_person_text(const struct person *p, void *arg)
{
    struct people_list *l = arg;
    size_t need = strlen(p->name) + strlen(p->jid) + 8;
    if (l->len + need + 1 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        while (cap < l->len + need + 1)
            cap *= 2;
        char *nb = realloc(l->buf, cap);
        if (!nb)
            return DBOT_ERR_NOMEM;
        l->buf = nb;
        l->cap = cap;
    }
    l->len += (size_t)snprintf(l->buf + l->len, l->cap - l->len, "%s%s (%s)",
                               l->len ? ", " : "", p->name, p->jid);
    return 0;
}

/* On a platform whose groups the bot cannot change (DingTalk), the brand staff room is told
 * whom to add to or remove from the underperformers group; the directory stays the truth
 * for who may do what there. */
static int tell_staff_members(struct engine *e, const char *code, const char *name,
                              enum under_change ch, int64_t now)
{
    if (chat_platform_manages_members(e->cfg->chat.platform))
        return 0;
    struct people_list l = {0};
    int err = store_person_each(e->store, code, add_person_text, &l);
    if (err == 0 && l.len) {
        struct msg_var v[] = {{"dealer_code", code},
                              {"dealer_name", name},
                              {"people", l.buf},
                              {"room", e->cfg->chat.underperformers_room}};
        err = eng__say(e, 0, true, e->cfg->chat.staff_room, e->cfg->language,
                       ch == UC_ENTER ? "members_add" : "members_remove", v, 4, "notice", now);
    }
    free(l.buf);
    return err;
}

/* Applies one dealer's new state: the row, the change log, the messages, and (on a change)
 * a note that the chat side must sync the group's members (added ones are invited). */
static int apply(struct engine *e, const char *code, const char *name, enum under_change ch,
                 const struct under_state *next, const char *reasons, const char *actor,
                 int64_t now)
{
    struct under_row row = {.dealer = code, .since = next->since, .reasons = reasons,
                            .pinned = next->pinned, .under_since = next->under_since};
    int err;
    if (next->listed || next->pinned)
        err = store_under_put(e->store, &row);
    else
        err = store_under_delete(e->store, code);
    if (err || ch == UC_NONE)
        return err;
    const char *what = ch == UC_ENTER ? "enter" : "leave";
    if ((err = store_under_log(e->store, code, what, reasons, actor, now)) != 0)
        return err;
    log_info(MOD, "%s %s the group%s%s", code, ch == UC_ENTER ? "joins" : "leaves",
             reasons[0] ? ": " : "", reasons);
    e->rooms_changed = true;
    if (!e->msgs)
        return 0;
    const char *lang = e->cfg->language;
    char room[DEALER_ROOM_MAX];
    struct msg_var v[] = {{"dealer_code", code},
                          {"dealer_name", name},
                          {"reasons", reasons},
                          {"room", e->cfg->chat.underperformers_room}};
    err = eng__say(e, 0, true, e->cfg->chat.underperformers_room, lang,
                   ch == UC_ENTER ? "under_enter_room" : "under_leave_room", v, 4, "notice", now);
    if (err == 0)
        err = eng__say(e, 0, true, dealer_room_name(code, room, sizeof room), lang,
                       ch == UC_ENTER ? "under_enter_dealer" : "under_leave_dealer", v, 4,
                       "notice", now);
    if (err == 0)
        err = tell_staff_members(e, code, name, ch, now);
    return err;
}

/* Why a dealer leaves by its figures: back under every threshold since `from`, for at least
 * exit_after. */
static void left_text(struct engine *e, const char *lang, int64_t from,
                      const struct under_rules *r, char *buf, size_t len)
{
    char since[ENG_TIME_MAX], period[48];
    eng__when(from, NULL, since, sizeof since);
    eng__span(lang, r->exit_after_s, period, sizeof period);
    struct msg_var v[] = {{"since", since}, {"period", period}};
    char *t = eng__text(e, lang, "under_reason_left", v, 2);
    snprintf(buf, len, "%s", t ? t : "");
    free(t);
}

int eng__under_evaluate(struct engine *e, int64_t now, const char *actor, int64_t slot,
                        struct under_result *res)
{
    memset(res, 0, sizeof *res);
    struct scorecard_set set = {0};
    int64_t from = now - e->cfg->underperformers.window_s;
    int err = store_scorecards(e->store, from, now + 1, now, &set); /* [from, now] */
    if (err)
        return err;
    err = eng__under_apply(e, &set, now, actor, slot, res);
    scorecard_set_cleanup(&set);
    return err;
}

int eng__under_apply(struct engine *e, const struct scorecard_set *sc, int64_t now,
                     const char *actor, int64_t slot, struct under_result *res)
{
    memset(res, 0, sizeof *res);
    const struct scorecard_set set = *sc;
    struct rows rows = {0};
    int err = store_under_all(e->store, keep_row, &rows);
    struct under_rules r = rules_of(e->cfg);
    const char *lang = e->cfg->language;
    for (size_t i = 0; err == 0 && i < set.n; i++) {
        const struct scorecard *d = &set.dealers[i];
        ssize_t k = row_of(&rows, d->code);
        struct under_state cur = k >= 0 ? rows.st[k] : (struct under_state){0};
        unsigned why = under_reasons(d, &set.network, &r);
        struct under_state next;
        enum under_change ch = under_next(&cur, why, now, &r, &next);
        char reasons[REASONS_MAX];
        reasons_text(e, lang, why, d, &set.network, &r, reasons, sizeof reasons);
        if (ch == UC_LEAVE)
            left_text(e, lang, cur.under_since ? cur.under_since : now, &r, reasons,
                      sizeof reasons);
        /* a listed dealer keeps the reasons it entered with while it counts down to leave */
        else if (!why && k >= 0 && next.listed)
            snprintf(reasons, sizeof reasons, "%s", rows.reasons[k]);
        bool keep = next.listed || next.pinned;
        bool same = k >= 0 && keep && ch == UC_NONE && cur.listed == next.listed &&
                    cur.under_since == next.under_since && cur.pinned == next.pinned &&
                    strcmp(rows.reasons[k], reasons) == 0;
        if (!same && (keep || k >= 0))
            err = apply(e, d->code, d->name, ch, &next, reasons, actor, now);
        res->entered += ch == UC_ENTER;
        res->left += ch == UC_LEAVE;
        res->listed += next.listed;
    }
    if (err == 0)
        err = store_under_evaluated(e->store, now, actor, slot, res->entered, res->left,
                                    res->listed);
    rows_free(&rows);
    return err;
}

int eng__under_pin(struct engine *e, const char *dealer, int pin, const char *actor,
                   const char *who, int64_t now, struct under_result *res)
{
    struct dealer d = {0};
    struct rows rows = {0};
    int err = store_dealer_get(e->store, dealer, &d);
    if (err == 0)
        err = store_under_all(e->store, keep_row, &rows);
    if (err)
        goto out;
    ssize_t k = row_of(&rows, d.code);
    struct under_state cur = k >= 0 ? rows.st[k] : (struct under_state){0};
    const char *kept = k >= 0 ? rows.reasons[k] : "";
    const char *lang = e->cfg->language;
    struct msg_var wv[] = {{"who", who && who[0] ? who : actor}};
    char *note = eng__text(e, lang, pin > 0 ? "under_reason_pin_in" : pin < 0
                                                 ? "under_reason_pin_out"
                                                 : "under_reason_unpin", wv, 1);
    if (!note) {
        err = DBOT_ERR_NOMEM;
        goto out;
    }
    err = store_under_log(e->store, d.code, pin > 0 ? "pin_in" : pin < 0 ? "pin_out" : "unpin",
                          note, actor, now);
    struct under_state next;
    enum under_change ch = UC_NONE;
    if (err == 0 && pin != 0) {
        /* pinned in: enters now if it was not listed; pinned out: leaves now if it was */
        struct under_rules r = rules_of(e->cfg);
        cur.pinned = pin;
        ch = under_next(&cur, 0, now, &r, &next);
        err = apply(e, d.code, d.name, ch, &next, ch != UC_NONE ? note : pin > 0 ? kept : "",
                    actor, now);
    } else if (err == 0 && cur.pinned != 0) {
        /* unpinned: a pinned-out dealer is not listed (its row goes); one pinned in stays
         * listed; the evaluation then goes by the figures */
        next = cur;
        next.pinned = 0;
        err = apply(e, d.code, d.name, UC_NONE, &next, kept, actor, now);
    }
    free(note);
    if (err == 0)
        err = eng__under_evaluate(e, now, actor, 0, res);
    if (err == 0) {
        /* the pin's own change counts in what the command reports */
        res->entered += ch == UC_ENTER;
        res->left += ch == UC_LEAVE;
    }
out:
    rows_free(&rows);
    dealer_cleanup(&d);
    return err;
}
