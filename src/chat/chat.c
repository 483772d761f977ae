/*
 * chat.c — the platform switch behind include/dealerbot/chat.h.
 *
 * chat_new() picks the adapter named by cfg->chat.platform; every other function forwards to
 * it through a small table, so the engine never learns which platform it talks to. Adding a
 * platform means one adapter folder under src/chat/ and one row in `platforms`.
 */
#include "dealerbot/chat.h"

#include <stdlib.h>
#include <string.h>

#include "chat/dingtalk/session.h"
#include "chat/xmpp/session.h"

struct chat_ops {
    const char *name;
    int (*create)(struct lws_context *ctx, const struct config *cfg,
                  const struct chat_handler *h, void **impl, struct dbot_diag *diag);
    int (*start)(void *impl);
    void (*stop)(void *impl);
    void (*destroy)(void *impl);
    bool (*is_ready)(const void *impl);
    size_t (*send_window)(const void *impl);
    int (*send)(void *impl, const struct chat_out *m);
    int (*sync_room)(void *impl, const struct chat_room *room);
    void (*get_stats)(const void *impl, struct chat_stats *out);
};

struct chat {
    const struct chat_ops *ops;
    void *impl;
};

/* ---- XMPP ---- */

static int xmpp_create(struct lws_context *ctx, const struct config *cfg,
                       const struct chat_handler *h, void **impl, struct dbot_diag *diag)
{
    struct xmpp_session *s;
    int rc = xmpp_session_new(ctx, cfg, h, &s, diag);
    if (rc == 0)
        *impl = s;
    return rc;
}
static int xmpp_start(void *impl) { return xmpp_session_start(impl); }
static void xmpp_stop(void *impl) { xmpp_session_stop(impl); }
static void xmpp_destroy(void *impl) { xmpp_session_free(impl); }
static bool xmpp_is_ready(const void *impl) { return xmpp_session_is_ready(impl); }
static size_t xmpp_send_window(const void *impl) { return xmpp_session_send_window(impl); }
static int xmpp_send(void *impl, const struct chat_out *m) { return xmpp_session_send(impl, m); }
static int xmpp_sync_room(void *impl, const struct chat_room *room)
{
    return xmpp_session_sync_room(impl, room);
}

static void xmpp_get_stats(const void *impl, struct chat_stats *out)
{
    xmpp_session_get_stats(impl, out);
}

/* ---- DingTalk ---- */

static int dt_create(struct lws_context *ctx, const struct config *cfg,
                     const struct chat_handler *h, void **impl, struct dbot_diag *diag)
{
    struct dt_session *s;
    int rc = dt_session_new(ctx, cfg, h, &s, diag);
    if (rc == 0)
        *impl = s;
    return rc;
}
static int dt_start(void *impl) { return dt_session_start(impl); }
static void dt_stop(void *impl) { dt_session_stop(impl); }
static void dt_destroy(void *impl) { dt_session_free(impl); }
static bool dt_is_ready(const void *impl) { return dt_session_is_ready(impl); }
static size_t dt_send_window(const void *impl) { return dt_session_send_window(impl); }
static int dt_send(void *impl, const struct chat_out *m) { return dt_session_send(impl, m); }
static int dt_sync_room(void *impl, const struct chat_room *room)
{
    return dt_session_sync_room(impl, room);
}

static const struct chat_ops platforms[] = {
    {"xmpp", xmpp_create, xmpp_start, xmpp_stop, xmpp_destroy, xmpp_is_ready, xmpp_send_window,
     xmpp_send, xmpp_sync_room, xmpp_get_stats},
    {"dingtalk", dt_create, dt_start, dt_stop, dt_destroy, dt_is_ready, dt_send_window, dt_send,
     dt_sync_room, NULL},
};

int chat_new(struct lws_context *ctx, const struct config *cfg, const struct chat_handler *h,
             struct chat **out, struct dbot_diag *diag)
{
    const char *name = cfg && cfg->chat.platform ? cfg->chat.platform : "";
    const struct chat_ops *ops = NULL;
    for (size_t i = 0; i < sizeof platforms / sizeof platforms[0]; i++)
        if (strcmp(platforms[i].name, name) == 0)
            ops = &platforms[i];
    if (!ops)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "chat.platform '%s' is not supported "
                             "(supported: xmpp, dingtalk)", name);
    struct chat *c = calloc(1, sizeof *c);
    if (!c)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    c->ops = ops;
    int rc = ops->create(ctx, cfg, h, &c->impl, diag);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int chat_start(struct chat *c)
{
    return c->ops->start(c->impl);
}

void chat_stop(struct chat *c)
{
    if (c)
        c->ops->stop(c->impl);
}

void chat_free(struct chat *c)
{
    if (!c)
        return;
    c->ops->destroy(c->impl);
    free(c);
}

bool chat_is_ready(const struct chat *c)
{
    return c && c->ops->is_ready(c->impl);
}

size_t chat_send_window(const struct chat *c)
{
    return c ? c->ops->send_window(c->impl) : 0;
}

int chat_send(struct chat *c, const struct chat_out *m)
{
    return c->ops->send(c->impl, m);
}

int chat_sync_room(struct chat *c, const struct chat_room *room)
{
    return c->ops->sync_room(c->impl, room);
}

void chat_get_stats(const struct chat *c, struct chat_stats *out)
{
    memset(out, 0, sizeof *out);
    if (c && c->ops->get_stats)
        c->ops->get_stats(c->impl, out);
}

/* The commands that have a form (chat.h): what an adapter shows, and what the engine reads
 * back through command_from_form(). */
static const struct chat_form_field ack_fields[] = {
    {"ticket", true, false}, {"eta", false, false}, {"note", false, true}};
static const struct chat_form_field plan_fields[] = {
    {"ticket", true, false}, {"solution", true, true}};
static const struct chat_form_field close_fields[] = {
    {"ticket", true, false}, {"cause", true, true}, {"fix", true, true},
    {"prevent", true, true}};
static const struct chat_form_field status_fields[] = {{"ticket", true, false}};

const struct chat_form_spec chat_forms[] = {
    {"ack", ack_fields, sizeof ack_fields / sizeof ack_fields[0]},
    {"plan", plan_fields, sizeof plan_fields / sizeof plan_fields[0]},
    {"close", close_fields, sizeof close_fields / sizeof close_fields[0]},
    {"status", status_fields, sizeof status_fields / sizeof status_fields[0]},
};
const size_t chat_forms_count = sizeof chat_forms / sizeof chat_forms[0];

bool chat_platform_manages_members(const char *platform)
{
    return !platform || strcmp(platform, "dingtalk") != 0;
}
