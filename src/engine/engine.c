/*
 * engine.c — the engine's setup, and what a confirmed delivery changes.
 */
#include "engine_int.h"

#include <stdio.h>
#include <string.h>

#include "dealerbot/lifecycle.h"
#include "dealerbot/log.h"

#define MOD "engine"

int engine_init(struct engine *e, const struct config *cfg, struct store *st,
                struct dbot_diag *diag)
{
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    e->store = st;
    if (!cfg->chat.platform || strcmp(cfg->chat.platform, "none") == 0)
        return 0;
    return messages_load(cfg->messages_dir, &e->msgs, diag);
}

void engine_cleanup(struct engine *e)
{
    messages_free(e->msgs);
    e->msgs = NULL;
}

int engine_on_delivered(struct engine *e, const char *msg_id, int64_t now)
{
    int64_t cid = 0;
    char kind[16];
    int err = store_outbox_find(e->store, msg_id, &cid, kind, sizeof kind);
    if (err == DBOT_ERR_NOTFOUND || (err == 0 && (cid == 0 || strcmp(kind, "card") != 0)))
        return 0;
    if (err)
        return err;

    struct complaint c;
    if ((err = store_complaint_get(e->store, cid, &c)) != 0)
        return err == DBOT_ERR_NOTFOUND ? 0 : err;
    struct actor bot = {.kind = ACTOR_SYSTEM};
    enum complaint_state to;
    if (lifecycle_decide(c.state, LC_NOTIFY, &bot, &to) == LC_OK) {
        struct complaint_change ch = {.from = c.state, .to = to};
        err = store_complaint_change(e->store, cid, &ch, now);
        if (err == 0)
            err = store_timeline_add(e->store, cid, now, "bot", "notify",
                                     "card delivered to the dealer room", msg_id);
        if (err == DBOT_ERR_CONFLICT)
            err = 0; /* acknowledged meanwhile: nothing to notify */
        if (err == 0) {
            char id[32];
            log_info(MOD, "%s: card delivered, %s -> %s", complaint_id_format(cid, id, sizeof id),
                     complaint_state_name(c.state), complaint_state_name(to));
        }
    }
    complaint_cleanup(&c);
    return err;
}
