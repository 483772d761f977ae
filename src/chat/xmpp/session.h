/*
 * session.h — the XMPP adapter behind include/dealerbot/chat.h: one client session over
 * WebSocket (RFC 7395) on the daemon's lws context, with SASL SCRAM, resource binding,
 * stream management (XEP-0198) with resumption, keepalive pings (XEP-0199), MUC rooms
 * (XEP-0045) kept in step with the directory, and reconnects with backoff.
 *
 * The functions mirror chat.h one for one (see there for the contract); src/chat/chat.c
 * forwards to them. Main thread only. The session borrows the context, the config and the
 * handler. It registers its own client vhost ("dealerbot-xmpp") on the context; that vhost
 * lives until the context is destroyed, and its callbacks ignore a freed session.
 */
#ifndef DBOT_CHAT_XMPP_SESSION_H
#define DBOT_CHAT_XMPP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "dealerbot/chat.h"
#include "dealerbot/config.h"
#include "dealerbot/error.h"

struct lws_context;
struct xmpp_session;

#define XMPP_SEND_WINDOW 1024 /* unconfirmed chat_send messages at most */

/* Returns a new session (not connected) in *out; caller frees with xmpp_session_free().
 * DBOT_ERR_INVALID (bad url/jid/muc_service/nick, with diag), DBOT_ERR_NOMEM, DBOT_ERR_IO
 * (the client vhost could not be created, e.g. the CA file is unreadable). */
int xmpp_session_new(struct lws_context *ctx, const struct config *cfg,
                     const struct chat_handler *h, struct xmpp_session **out,
                     struct dbot_diag *diag);
int xmpp_session_start(struct xmpp_session *s);
void xmpp_session_stop(struct xmpp_session *s);
void xmpp_session_free(struct xmpp_session *s);
bool xmpp_session_is_ready(const struct xmpp_session *s);
size_t xmpp_session_send_window(const struct xmpp_session *s);
int xmpp_session_send(struct xmpp_session *s, const struct chat_out *m);
int xmpp_session_sync_room(struct xmpp_session *s, const struct chat_room *room);
void xmpp_session_get_stats(const struct xmpp_session *s, struct chat_stats *out);

#endif
