/*
 * rewards.c — the automatic rewards ("优秀处理奖励"), opt-in by configuration: a complaint
 * closed with its report approved the first time and every milestone met in time
 * (rewards.first_time_points), and a return-visit score of 5 (rewards.satisfaction_points).
 * Each is given at most once per complaint, recorded on its timeline and told in the dealer
 * room. Commendations by staff are a chat command (cmd_penalties.c).
 *
 * Main thread, inside the caller's store transaction.
 */
#include "engine_int.h"

#include <stdio.h>

#include "dealerbot/directory.h"
#include "dealerbot/log.h"

#define MOD "engine"

static int give(struct engine *e, const struct complaint *c, const char *kind, int64_t points,
                int64_t now)
{
    if (points <= 0)
        return 0;
    int64_t n = 0;
    int err = store_reward_count(e->store, c->id, kind, &n);
    if (err || n > 0)
        return err; /* once per complaint */
    err = store_reward_add(e->store, c->dealer, kind, (int)points, c->id, NULL, "bot", now);
    char detail[64], pts[24], cid[32], rk[32], room[DEALER_ROOM_MAX];
    snprintf(detail, sizeof detail, "%s +%lld", kind, (long long)points);
    if (err == 0)
        err = store_timeline_add(e->store, c->id, now, "bot", "reward", detail, NULL);
    if (err || !e->msgs)
        return err;
    snprintf(pts, sizeof pts, "%lld", (long long)points);
    snprintf(rk, sizeof rk, "rkind_%s", kind);
    complaint_id_format(c->id, cid, sizeof cid);
    const char *lang = e->cfg->language;
    struct msg_var v[] = {{"id", cid},
                          {"dealer_code", c->dealer},
                          {"kind", eng__label(e, lang, rk)},
                          {"points", pts}};
    log_info(MOD, "%s: reward %s +%lld for %s", cid, kind, (long long)points, c->dealer);
    return eng__say(e, c->id, true, dealer_room_name(c->dealer, room, sizeof room), lang,
                    "reward_auto", v, 4, "notice", now);
}

int eng__reward_closed(struct engine *e, const struct complaint *c, int64_t now)
{
    const struct deadlines *d = &c->due;
    bool right_first_time = c->rejected == 0 && c->reopened == 0 && c->ack_at > 0 &&
                            c->ack_at <= d->ack_due && c->solution_at > 0 &&
                            c->solution_at <= d->solution_due && now <= d->close_due;
    if (!right_first_time)
        return 0;
    return give(e, c, "first_time", e->cfg->rewards.first_time_points, now);
}

int eng__reward_satisfaction(struct engine *e, const struct complaint *c, int score, int64_t now)
{
    if (score != 5)
        return 0;
    return give(e, c, "satisfaction", e->cfg->rewards.satisfaction_points, now);
}
