/*
 * adhoc.h — XEP-0050 ad-hoc commands: the bot's ticket commands as forms (XEP-0004) for the
 * clients that offer them (Gajim, Conversations).
 *
 * The bot advertises the commands in service discovery (disco#info feature
 * http://jabber.org/protocol/commands, disco#items on that node: one item per form of
 * chat.h's chat_forms), answers "execute" with the form, and a submitted form either comes
 * back with its required fields marked (a note says which are missing) or goes to the chat
 * handler's on_form(), whose answer is the note of the completed command. The engine sees no
 * XML: only struct chat_form. Sessions are stateless: every submission carries all fields.
 *
 * Main thread only (it calls the handler). Borrows everything; builds each answer into `xb`
 * and hands it to `emit` (subscription.h).
 */
#ifndef DBOT_CHAT_XMPP_ADHOC_H
#define DBOT_CHAT_XMPP_ADHOC_H

#include <stdbool.h>

#include "chat/xmpp/stanza.h"
#include "chat/xmpp/subscription.h"
#include "chat/xmpp/xml.h"
#include "dealerbot/chat.h"

/* Handles an iq get/set that is ad-hoc commands' business: disco#info and disco#items
 * addressed to the bot, and <command/>. Returns true when it answered st, false when the
 * session should answer it (as before). Does nothing when the handler has no on_form.
 * `self_full` is the bot's full JID (the items name it). */
bool xs_adhoc_handle(const struct stanza *st, const char *self_full,
                     const struct chat_handler *h, struct xml_buf *xb, xs_emit_fn emit,
                     void *arg);

#endif
