/*
 * broadcasts.c — standards, penalty rules, training and risk cases pushed to the dealer
 * network, person by person: one message per room (through the outbox and its rate limits, so
 * a broadcast to 5,000 rooms drains in order without tripping the server), a recipient row per
 * person of the audience, read confirmations with /read, one reminder by direct message to
 * those who have not confirmed after broadcasts.remind_after, and after the same time again a
 * report of the stragglers to the staff room. Scheduled ones (`at`) are sent by the scheduler.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/directory.h"
#include "dealerbot/log.h"
#include "dealerbot/utf8.h"

#define MOD "broadcast"
#define NAMES_MAX 20     /* stragglers named in the staff room report */
#define REMIND_TEXT 60   /* code points of the broadcast's text quoted in a reminder */

/* ---- audience ---- */

struct codes {
    char **v;
    size_t n, cap;
};

static int add_code(const char *code, void *arg)
{
    struct codes *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        char **t = realloc(c->v, cap * sizeof *t);
        if (!t)
            return DBOT_ERR_NOMEM;
        c->v = t;
        c->cap = cap;
    }
    if (!(c->v[c->n] = strdup(code)))
        return DBOT_ERR_NOMEM;
    c->n++;
    return 0;
}

static int add_dealer_code(const struct dealer *d, void *arg)
{
    return add_code(d->code, arg);
}

static void codes_free(struct codes *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i]);
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* The dealers an audience names (for underperformers: the ones in the group). */
static int audience_dealers(struct engine *e, const char *audience, struct codes *out)
{
    if (strcmp(audience, "all") == 0)
        return store_dealer_each(e->store, add_dealer_code, out);
    if (strcmp(audience, "underperformers") == 0)
        return store_underperformers_each(e->store, add_code, out);
    if (strncmp(audience, "region:", 7) == 0)
        return store_dealers_in_region(e->store, audience + 7, add_code, out);
    if (strncmp(audience, "dealer:", 7) == 0) {
        struct dealer d = {0};
        int err = store_dealer_get(e->store, audience + 7, &d);
        if (err == 0)
            err = add_code(d.code, out);
        dealer_cleanup(&d);
        return err;
    }
    return DBOT_ERR_INVALID;
}

/* ---- sending ---- */

struct send {
    struct engine *e;
    int64_t id;
    const char *dealer;
    const char *msg_id;
    int people;
};

static int add_person(const struct person *p, void *arg)
{
    struct send *s = arg;
    s->people++;
    return store_broadcast_recipient_add(s->e->store, s->id, p->jid, p->dealer, s->msg_id);
}

static char *room_text(struct engine *e, const struct broadcast *b, const char *lang)
{
    char bid[32], key[32];
    snprintf(bid, sizeof bid, "B-%lld", (long long)b->id);
    snprintf(key, sizeof key, "bkind_%s", b->kind);
    char *ack = NULL;
    if (b->require_read) {
        struct msg_var av[] = {{"id", bid}};
        ack = eng__text(e, lang, "broadcast_ack_hint", av, 1);
        if (!ack)
            return NULL;
    }
    struct msg_var v[] = {{"id", bid},
                          {"kind", eng__label(e, lang, key)},
                          {"text", b->text},
                          {"ack", ack ? ack : ""}};
    char *t = eng__text(e, lang, "broadcast_room", v, 4);
    free(ack);
    return t;
}

static int send_now(struct engine *e, const struct broadcast *b, int64_t now, int *rooms,
                    int *people)
{
    struct codes dealers = {0};
    int err = audience_dealers(e, b->audience, &dealers);
    const char *lang = e->cfg->language;
    char *text = err ? NULL : room_text(e, b, lang);
    if (!err && !text)
        err = DBOT_ERR_NOMEM;
    char msg_id[OUTBOX_ID_MAX] = "";
    struct send s = {.e = e, .id = b->id};
    bool one_room = strcmp(b->audience, "underperformers") == 0;
    if (!err && one_room) {
        err = eng__send_id(e, 0, true, e->cfg->chat.underperformers_room, text, "broadcast", now,
                           msg_id);
        *rooms = 1;
    }
    for (size_t i = 0; !err && i < dealers.n; i++) {
        if (!one_room) {
            char room[DEALER_ROOM_MAX];
            err = eng__send_id(e, 0, true, dealer_room_name(dealers.v[i], room, sizeof room),
                               text, "broadcast", now, msg_id);
            ++*rooms;
        }
        s.dealer = dealers.v[i];
        s.msg_id = msg_id;
        if (!err)
            err = store_person_each(e->store, dealers.v[i], add_person, &s);
    }
    *people = s.people;
    int64_t after = e->cfg->broadcasts.remind_after_s;
    if (!err)
        err = store_broadcast_sent(e->store, b->id, now, b->require_read ? now + after : 0,
                                   b->require_read ? now + 2 * after : 0);
    if (!err && b->require_read)
        e->wrote_sla = true; /* the scheduler re-arms for the reminder */
    if (!err)
        log_info(MOD, "B-%lld (%s, %s) sent to %d room(s), %d person(s)%s", (long long)b->id,
                 b->kind, b->audience, *rooms, *people,
                 b->require_read ? ", read confirmation asked" : "");
    free(text);
    codes_free(&dealers);
    return err;
}

int eng__broadcast(struct engine *e, struct broadcast *b, int64_t now, int64_t *id,
                   int *rooms, int *people, struct dbot_diag *diag)
{
    *rooms = *people = 0;
    /* An audience must name something that exists now (a scheduled one is checked again
     * when it goes out). */
    if (strncmp(b->audience, "dealer:", 7) == 0 || strncmp(b->audience, "region:", 7) == 0) {
        struct codes c = {0};
        int err = audience_dealers(e, b->audience, &c);
        size_t n = c.n;
        codes_free(&c);
        if (err == DBOT_ERR_NOTFOUND || (err == 0 && n == 0))
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "audience %s names no dealer",
                                 b->audience);
        if (err)
            return err;
    }
    b->created_at = now;
    if (b->send_at < now)
        b->send_at = now;
    int err = store_broadcast_add(e->store, b, id);
    if (err)
        return err;
    b->id = *id;
    if (b->send_at <= now)
        return send_now(e, b, now, rooms, people);
    e->wrote_sla = true; /* the scheduler re-arms for its send time */
    return 0;
}

/* ---- reminders and the report ---- */

struct chase {
    struct engine *e;
    const struct broadcast *b;
    int64_t now;
    int n;
    char names[NAMES_MAX * 80];
    size_t off;
    int err;
};

static int remind_one(const struct broadcast_recipient *r, void *arg)
{
    struct chase *c = arg;
    struct engine *e = c->e;
    struct person p = {0};
    const char *lang = store_person_get(e->store, r->jid, &p) == 0 && p.language
                           ? p.language
                           : e->cfg->language;
    char bid[32], key[32], text[REMIND_TEXT * 4 + 8];
    snprintf(bid, sizeof bid, "B-%lld", (long long)c->b->id);
    snprintf(key, sizeof key, "bkind_%s", c->b->kind);
    /* the start of the text, on a character boundary */
    const char *t = c->b->text;
    bool cut;
    size_t i = utf8_cut(t, strlen(t), REMIND_TEXT, sizeof text - 8, &cut);
    snprintf(text, sizeof text, "%.*s%s", (int)i, t, cut ? "…" : "");
    struct msg_var v[] = {{"id", bid}, {"kind", eng__label(e, lang, key)}, {"text", text}};
    int err = eng__say(e, 0, false, r->jid, lang, "broadcast_remind", v, 3, "reply", c->now);
    if (err == 0)
        err = store_broadcast_reminded(e->store, c->b->id, r->jid, c->now);
    person_cleanup(&p);
    c->n++;
    return err;
}

static int name_one(const struct broadcast_recipient *r, void *arg)
{
    struct chase *c = arg;
    if (c->n < NAMES_MAX) {
        int w = snprintf(c->names + c->off, sizeof c->names - c->off, "%s%s%s%s%s",
                         c->n ? ", " : "", r->jid, r->dealer ? " (" : "",
                         r->dealer ? r->dealer : "", r->dealer ? ")" : "");
        if (w > 0 && (size_t)w < sizeof c->names - c->off)
            c->off += (size_t)w;
    }
    c->n++;
    return 0;
}

int eng__broadcast_step(struct engine *e, int64_t id, enum broadcast_step step, int64_t now)
{
    struct broadcast b = {0};
    int err = store_broadcast_get(e->store, id, &b);
    if (err)
        return err == DBOT_ERR_NOTFOUND ? 0 : err;
    if (step == BC_SEND) {
        int rooms = 0, people = 0;
        err = b.sent ? 0 : send_now(e, &b, now, &rooms, &people);
        broadcast_cleanup(&b);
        return err == DBOT_ERR_CONFLICT ? 0 : err;
    }
    struct chase c = {.e = e, .b = &b, .now = now};
    if (step == BC_REMIND) {
        err = store_broadcast_recipients(e->store, id, true, remind_one, &c);
        if (err == 0)
            log_info(MOD, "B-%lld: %d person(s) reminded to confirm", (long long)id, c.n);
    } else {
        err = store_broadcast_recipients(e->store, id, true, name_one, &c);
        if (err == 0 && c.n > 0 && e->msgs) {
            char bid[32], n[24];
            snprintf(bid, sizeof bid, "B-%lld", (long long)id);
            snprintf(n, sizeof n, "%d", c.n);
            if (c.n > NAMES_MAX && c.off + 8 < sizeof c.names)
                snprintf(c.names + c.off, sizeof c.names - c.off, " …");
            struct msg_var v[] = {{"id", bid}, {"count", n}, {"names", c.names}};
            err = eng__say(e, 0, true, e->cfg->chat.staff_room, e->cfg->language,
                           "broadcast_stragglers", v, 3, "alarm", now);
        }
    }
    if (err == 0)
        err = store_broadcast_step_done(e->store, id, step);
    broadcast_cleanup(&b);
    return err;
}

/* ---- the penalty catalogue as a bulletin ---- */

struct bulletin {
    struct engine *e;
    const char *lang;
    char *text;
    size_t len;
    int err;
};

static int bulletin_line(const struct penalty_rule *r, void *arg)
{
    struct bulletin *b = arg;
    char pts[16];
    snprintf(pts, sizeof pts, "%d", r->points);
    const char *none = eng__label(b->e, b->lang, "value_none");
    struct msg_var v[] = {{"code", r->code},
                          {"violation", r->violation},
                          {"points", pts},
                          {"standard", r->standard && r->standard[0] ? r->standard : none},
                          {"how", r->how_to_avoid && r->how_to_avoid[0] ? r->how_to_avoid : none}};
    char *line = eng__text(b->e, b->lang, "catalogue_item", v, 5);
    if (!line)
        return DBOT_ERR_NOMEM;
    size_t n = strlen(line);
    char *t = realloc(b->text, b->len + n + 2);
    if (!t) {
        free(line);
        return DBOT_ERR_NOMEM;
    }
    b->text = t;
    b->text[b->len++] = '\n';
    memcpy(b->text + b->len, line, n + 1);
    b->len += n;
    free(line);
    return 0;
}

char *eng__catalogue_text(struct engine *e, const char *lang)
{
    struct bulletin b = {.e = e, .lang = lang};
    b.text = eng__text(e, lang, "catalogue_head", NULL, 0);
    if (!b.text)
        return NULL;
    b.len = strlen(b.text);
    if (store_penalty_rule_each(e->store, bulletin_line, &b) != 0) {
        free(b.text);
        return NULL;
    }
    return b.text;
}
