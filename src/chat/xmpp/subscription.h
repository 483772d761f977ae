/*
 * subscription.h — presence subscriptions to the bot (RFC 6121 §3): people in the directory
 * may subscribe and see the bot online in their contact list; anyone else is refused.
 *
 * Pure apart from asking the chat handler's is_known(): it looks at one parsed <presence/>
 * and builds the answers into an xml_buf, handing each to `emit` (which queues it). Main
 * thread only (it calls the handler). Borrows everything.
 */
#ifndef DBOT_CHAT_XMPP_SUBSCRIPTION_H
#define DBOT_CHAT_XMPP_SUBSCRIPTION_H

#include <stdbool.h>

#include "dealerbot/chat.h"
#include "chat/xmpp/stanza.h"
#include "chat/xmpp/xml.h"

/* Queues the frame just built in the xml_buf; 0 or a DBOT_ERR_*. */
typedef int (*xs_emit_fn)(void *arg);

/*
 * Handles st when it is a subscription request to the bot: a person the handler knows gets
 * <presence type='subscribed'/> and the bot's presence (so their client shows it online at
 * once); anyone else gets <presence type='unsubscribed'/>. `self_bare` is the bot's bare JID
 * (a request from itself or without a from is ignored). Returns true when st was such a
 * request (answered or deliberately ignored), false when it is none of its business.
 */
bool xs_subscription_handle(const struct stanza *st, const char *self_bare,
                            const struct chat_handler *h, struct xml_buf *xb, xs_emit_fn emit,
                            void *arg);

/* <presence to='TO' [type='TYPE']/> into xb (type NULL: available). 0 or DBOT_ERR_*. */
int xs_build_presence_to(struct xml_buf *xb, const char *to, const char *type);

#endif
