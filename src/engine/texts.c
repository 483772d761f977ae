/*
 * texts.c — what the engine says and when: texts in the reader's language, times in the
 * dealer's zone, outbox writes, and the card of a new complaint.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/directory.h"
#include "dealerbot/log.h"
#include "dealerbot/timeutil.h"

#define MOD "engine"

char *eng__text(const struct engine *e, const char *lang, const char *key,
                const struct msg_var *vars, size_t n)
{
    return messages_format(e->msgs, lang, key, vars, n);
}

const char *eng__label(const struct engine *e, const char *lang, const char *key)
{
    const char *t = e->msgs ? messages_get(e->msgs, lang, key) : NULL;
    return t ? t : key;
}

const char *eng__state_label(const struct engine *e, const char *lang, enum complaint_state s)
{
    char key[48];
    snprintf(key, sizeof key, "state_%s", complaint_state_name(s));
    const char *t = e->msgs ? messages_get(e->msgs, lang, key) : NULL;
    return t ? t : complaint_state_name(s);
}

const char *eng__prio_label(const struct engine *e, const char *lang, enum priority p)
{
    char key[32];
    snprintf(key, sizeof key, "prio_%s", priority_name(p));
    const char *t = e->msgs ? messages_get(e->msgs, lang, key) : NULL;
    return t ? t : priority_name(p);
}

char *eng__when(int64_t t, const char *tz, char *buf, size_t len)
{
    return timeutil_format_wall(t, timeutil_zone_offset(tz, t), buf, len);
}

static bool lang_en(const char *lang)
{
    return lang && (lang[0] == 'e' || lang[0] == 'E') && (lang[1] == 'n' || lang[1] == 'N');
}

char *eng__span(const char *lang, int64_t secs, char *buf, size_t len)
{
    static const char *const zh[] = {"天", "小时", "分钟"};
    static const char *const en[] = {" d", " h", " min"};
    const char *const *unit = lang_en(lang) ? en : zh;
    const char *sep = lang_en(lang) ? " " : "";
    if (secs < 0)
        secs = -secs;
    int64_t v[3] = {secs / 86400, secs % 86400 / 3600, (secs % 3600 + 59) / 60};
    if (v[2] == 60) { /* rounded up to a whole hour */
        v[2] = 0;
        if (++v[1] == 24) {
            v[1] = 0;
            v[0]++;
        }
    }
    size_t off = 0;
    int shown = 0;
    buf[0] = '\0';
    for (int i = 0; i < 3 && shown < 2; i++) {
        if (v[i] == 0 && !(i == 2 && shown == 0))
            continue;
        int w = snprintf(buf + off, len - off, "%s%lld%s", shown ? sep : "", (long long)v[i],
                         unit[i]);
        if (w < 0 || (size_t)w >= len - off)
            break;
        off += (size_t)w;
        shown++;
        if (shown == 1 && i < 2 && v[i + 1] == 0)
            break; /* "2 d", not "2 d 0 h" */
    }
    return buf;
}

char *eng__due(const struct engine *e, const char *lang, const char *tz, int64_t due,
               int64_t met_at, int64_t now, char *buf, size_t len)
{
    char when[ENG_TIME_MAX], span[48];
    eng__when(due, tz, when, sizeof when);
    char *note;
    if (met_at && met_at < due) {
        note = eng__text(e, lang, "due_met", NULL, 0);
    } else if (met_at) { /* met at or after the deadline: its breach had fired */
        eng__span(lang, met_at - due, span, sizeof span);
        struct msg_var v[] = {{"over", span}};
        note = eng__text(e, lang, "due_met_late", v, 1);
    } else if (due > now) { /* at `due` itself the milestone is missed: its breach fires */
        eng__span(lang, due - now, span, sizeof span);
        struct msg_var v[] = {{"left", span}};
        note = eng__text(e, lang, "due_left", v, 1);
    } else {
        eng__span(lang, now - due, span, sizeof span);
        struct msg_var v[] = {{"over", span}};
        note = eng__text(e, lang, "due_over", v, 1);
    }
    snprintf(buf, len, lang_en(lang) ? "%s (%s)" : "%s（%s）", when, note ? note : "");
    free(note);
    return buf;
}

int64_t eng__next_due(const struct complaint *c)
{
    switch (c->state) {
    case STATE_NEW:
    case STATE_NOTIFIED: return c->due.ack_due;
    case STATE_ACKNOWLEDGED: return c->due.solution_due;
    case STATE_SOLUTION_AGREED:
    case STATE_REPORT_SUBMITTED: return c->due.close_due;
    default: return 0;
    }
}

int eng__send(struct engine *e, int64_t complaint_id, bool group, const char *target,
              const char *text, const char *kind, int64_t now)
{
    return eng__send_id(e, complaint_id, group, target, text, kind, now, NULL);
}

int eng__send_id(struct engine *e, int64_t complaint_id, bool group, const char *target,
                 const char *text, const char *kind, int64_t now, char *msg_id)
{
    int err = store_outbox_add(e->store, complaint_id, group, target, text, kind, now, msg_id);
    if (err == 0)
        e->wrote_outbox = true;
    return err;
}

int eng__say(struct engine *e, int64_t complaint_id, bool group, const char *target,
             const char *lang, const char *key, const struct msg_var *vars, size_t n,
             const char *kind, int64_t now)
{
    char *text = eng__text(e, lang, key, vars, n);
    if (!text)
        return DBOT_ERR_NOMEM;
    int err = eng__send(e, complaint_id, group, target, text, kind, now);
    free(text);
    return err;
}

int eng__push_card(struct engine *e, int64_t id, int64_t now)
{
    struct complaint c;
    struct dealer d = {0};
    int err = store_complaint_get(e->store, id, &c);
    if (err)
        return err;
    if ((err = store_dealer_get(e->store, c.dealer, &d)) != 0) {
        complaint_cleanup(&c);
        return err;
    }
    const char *lang = e->cfg->language;
    char cid[32], ack[ENG_TIME_MAX], sol[ENG_TIME_MAX], clo[ENG_TIME_MAX];
    char room[DEALER_ROOM_MAX];
    complaint_id_format(c.id, cid, sizeof cid);
    eng__when(c.due.ack_due, d.timezone, ack, sizeof ack);
    eng__when(c.due.solution_due, d.timezone, sol, sizeof sol);
    eng__when(c.due.close_due, d.timezone, clo, sizeof clo);
    const char *none = eng__label(e, lang, "value_none");
    struct msg_var v[] = {
        {"id", cid},
        {"priority", eng__prio_label(e, lang, c.priority)},
        {"category", c.category},
        {"customer_name", c.customer_name},
        {"customer_phone", c.customer_phone},
        {"summary", c.summary},
        {"details", c.details && c.details[0] ? c.details : none},
        {"ack_due", ack},
        {"solution_due", sol},
        {"close_due", clo},
        {"dealer_code", d.code},
        {"dealer_name", d.name},
    };
    size_t n = sizeof v / sizeof v[0];
    err = eng__say(e, c.id, true, dealer_room_name(d.code, room, sizeof room), lang, "card", v,
                   n, "card", now);
    if (err == 0 && (c.priority == PRIORITY_URGENT || c.priority == PRIORITY_VIP))
        err = eng__say(e, c.id, true, e->cfg->chat.staff_room, lang, "card_staff", v, n,
                       "card_staff", now);
    if (err)
        log_error(MOD, "cannot queue the card of %s: %s", cid, dbot_strerror(err));
    dealer_cleanup(&d);
    complaint_cleanup(&c);
    return err;
}
