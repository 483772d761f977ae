/*
 * intake.c — accepting complaints: dealer check, policy choice, deadlines, the insert and its
 * timeline event, for a whole batch in one transaction (group commit: one fsync for many
 * complaints is what makes thousands per second durable on ordinary disks).
 */
#include "engine_int.h"

#include <string.h>

#include "dealerbot/directory.h"
#include "dealerbot/log.h"

/* The policy a priority uses: its own when configured, else "default". */
static const struct sla_policy *policy_for(const struct config *cfg, enum priority p)
{
    const struct sla_policy *pol = config_policy(cfg, priority_policy_name(p));
    return pol ? pol : config_policy(cfg, "default");
}

static void intake_one(struct engine *e, struct intake *in, int64_t now, const char *actor,
                       struct intake_result *r)
{
    const struct sla_policy *pol = policy_for(e->cfg, in->priority);
    if (!pol) {
        r->err = dbot_diag_set(&r->diag, DBOT_ERR_INTERNAL, "no SLA policy configured");
        return;
    }
    if (in->received_at == 0)
        in->received_at = now;
    /* The dealer's calendar and zone give the deadlines (business time when it has one). */
    struct dealer d = {0};
    r->err = store_dealer_get(e->store, in->dealer, &d);
    struct deadlines due;
    if (r->err == 0) {
        eng__deadlines(e, pol, &d, in->received_at, &due);
        r->err = store_complaint_insert(e->store, in, pol->name, &due, now, actor, &r->id,
                                        &r->created);
    }
    /* The terms are kept with the complaint: a config edit never reshuffles its plan. */
    struct sla_terms terms;
    eng__terms_from_config(e->cfg, pol, &terms);
    if (r->err == 0 && r->created)
        r->err = store_complaint_terms_set(e->store, r->id, &terms);
    if (r->err == 0 && r->created)
        r->err = eng__plan_sla(e, r->id, &due, &terms, &d, MS_ALL, now);
    if (r->err == 0 && r->created && e->msgs)
        r->err = eng__push_card(e, r->id, now);
    if (r->err == 0 && r->created)
        r->err = eng__batch_check(e, in->category, d.code, now);
    dealer_cleanup(&d);
    if (r->err == DBOT_ERR_NOTFOUND)
        dbot_diag_set(&r->diag, r->err, "unknown dealer: %s", in->dealer);
    else if (r->err)
        dbot_diag_set(&r->diag, r->err, "could not store the complaint: %s",
                      dbot_strerror(r->err));
}

struct batch_call {
    struct intake *const *items;
    int n;
    int64_t now;
    const char *actor;
    struct intake_result *results;
};

static int batch_step(struct engine *e, void *arg)
{
    struct batch_call *b = arg;
    for (int i = 0; i < b->n; i++) {
        intake_one(e, b->items[i], b->now, b->actor, &b->results[i]);
        /* An unknown dealer is that item's own answer; a store failure (say, after the
         * insert, on its card) would leave half a decision: the batch is undone. */
        if (b->results[i].err && b->results[i].err != DBOT_ERR_NOTFOUND)
            return b->results[i].err;
    }
    return 0;
}

int engine_intake_batch(struct engine *e, struct intake *const *items, int n, int64_t now,
                        const char *actor, struct intake_result *results)
{
    for (int i = 0; i < n; i++)
        memset(&results[i], 0, sizeof results[i]);
    if (n == 0)
        return 0;

    struct batch_call b = {
        .items = items, .n = n, .now = now, .actor = actor, .results = results};
    int err = eng__transact(e, batch_step, &b);
    if (err) {
        log_error("engine", "intake batch of %d not committed: %s", n, dbot_strerror(err));
        for (int i = 0; i < n; i++) {
            results[i].err = err;
            results[i].created = false;
            dbot_diag_set(&results[i].diag, err, "could not store the complaint: %s",
                          dbot_strerror(err));
        }
        return err;
    }
    for (int i = 0; i < n; i++) {
        if (results[i].err == 0 && results[i].created) {
            char id[32];
            log_info("engine", "%s accepted for dealer %s (%s)",
                     complaint_id_format(results[i].id, id, sizeof id), items[i]->dealer,
                     priority_name(items[i]->priority));
        }
    }
    return 0;
}
