/*
 * subscription.c — who may see the bot online (subscription.h). The directory decides: the
 * chat handler's is_known() is asked for the requester's bare JID, lower-case, never a
 * resource. The server keeps the roster and answers later probes itself once the
 * subscription is approved; the directed presence sent with the approval only spares the
 * client the wait for that.
 */
#include "chat/xmpp/subscription.h"

#include <string.h>

#include "dealerbot/log.h"
#include "chat/xmpp/session_util.h"

#define MOD "xmpp"
#define JID_MAX 3072 /* RFC 7622: up to 3 × 1023 bytes plus separators */

int xs_build_presence_to(struct xml_buf *xb, const char *to, const char *type)
{
    xml_buf_reset(xb);
    xml_elem_start(xb, "presence");
    xml_attr(xb, "to", to);
    xml_attr(xb, "type", type);
    xml_elem_end(xb);
    return xml_finish(xb);
}

bool xs_subscription_handle(const struct stanza *st, const char *self_bare,
                            const struct chat_handler *h, struct xml_buf *xb, xs_emit_fn emit,
                            void *arg)
{
    if (st->kind != STANZA_PRESENCE || st->type != STYPE_SUBSCRIBE)
        return false;
    char bare[JID_MAX];
    if (!st->from || xs_jid_bare(st->from, bare, sizeof bare) != 0 ||
        strcmp(bare, self_bare) == 0 || !strchr(bare, '@'))
        return true; /* nobody to answer: ignored */
    bool known = h->is_known && h->is_known(bare, h->arg);
    if (!known) {
        log_info(MOD, "presence subscription from %s, who is not in the directory: refused",
                 bare);
        if (xs_build_presence_to(xb, bare, "unsubscribed") == 0)
            emit(arg);
        return true;
    }
    log_info(MOD, "presence subscription from %s: approved", bare);
    if (xs_build_presence_to(xb, bare, "subscribed") == 0 && emit(arg) == 0 &&
        xs_build_presence_to(xb, bare, NULL) == 0)
        emit(arg);
    return true;
}
