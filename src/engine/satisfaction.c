/*
 * satisfaction.c — the return visit: the customer's score on a closed complaint (refused on
 * one that is not closed), and the reopening a dissatisfied customer (score <= 2) causes.
 */
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/directory.h"
#include "dealerbot/lifecycle.h"
#include "dealerbot/log.h"

#define MOD "engine"
#define DISSATISFIED_MAX 2 /* a score at or below this reopens the complaint */

static int record(struct engine *e, int64_t id, int score, const char *comment, int64_t now,
                  bool *reopened)
{
    struct complaint c;
    int err = store_complaint_get(e->store, id, &c);
    if (err)
        return err;
    if (c.state != STATE_CLOSED) { /* the return visit comes after closing */
        complaint_cleanup(&c);
        return DBOT_ERR_CONFLICT;
    }
    err = store_satisfaction_set(e->store, id, score, comment, now);
    /* the whole comment goes into the timeline (the API takes at most 2,000 characters) */
    size_t dlen = 32 + (comment ? strlen(comment) : 0);
    char *detail = err == 0 ? malloc(dlen) : NULL;
    if (err == 0 && !detail)
        err = DBOT_ERR_NOMEM;
    if (err == 0) {
        snprintf(detail, dlen, "score %d%s%s", score, comment ? ": " : "",
                 comment ? comment : "");
        err = store_timeline_add(e->store, id, now, "api", "satisfaction", detail, NULL);
    }
    free(detail);
    if (err == 0)
        err = eng__reward_satisfaction(e, &c, score, now);

    struct actor visit = {.kind = ACTOR_SYSTEM};
    enum complaint_state to;
    if (err == 0 && score <= DISSATISFIED_MAX &&
        lifecycle_decide(c.state, LC_REOPEN, &visit, &to) == LC_OK) {
        char when[ENG_TIME_MAX], cid[32], sc[16];
        const char *reason = comment && comment[0] ? comment : NULL;
        err = eng__reopen(e, &c, to, "bot", reason ? reason : "dissatisfied return visit",
                          NULL, now, when, sizeof when);
        if (err == 0 && e->msgs) {
            char room[DEALER_ROOM_MAX];
            snprintf(sc, sizeof sc, "%d", score);
            complaint_id_format(c.id, cid, sizeof cid);
            const char *lang = e->cfg->language;
            struct msg_var v[] = {{"id", cid},
                                  {"score", sc},
                                  {"comment", reason ? reason : eng__label(e, lang, "value_none")},
                                  {"close_due", when}};
            err = eng__say(e, c.id, true, dealer_room_name(c.dealer, room, sizeof room), lang,
                           "satisfaction_reopened", v, 4, "notice", now);
        }
        if (err == 0)
            *reopened = true;
    }
    complaint_cleanup(&c);
    return err;
}

struct record_call {
    int64_t id, now;
    int score;
    const char *comment;
    bool *reopened;
};

static int record_step(struct engine *e, void *arg)
{
    struct record_call *r = arg;
    return record(e, r->id, r->score, r->comment, r->now, r->reopened);
}

int engine_satisfaction(struct engine *e, int64_t id, int score, const char *comment,
                        int64_t now, bool *reopened)
{
    *reopened = false;
    struct record_call r = {
        .id = id, .now = now, .score = score, .comment = comment, .reopened = reopened};
    int err = eng__transact(e, record_step, &r);
    if (err)
        *reopened = false;
    return err;
}
