/*
 * bind.c — `bind SH001` (`bind staff`, `bind underperformers`; alias 绑定) typed by a brand
 * admin in a DingTalk group: the group becomes that room's address (schema 18). Only on
 * platforms that hand the group's address with a message (chat_message.address).
 *
 * Runs inside engine_on_message()'s transaction: the mapping, the answer and the inbox record
 * of the message are one commit. A message from a group no room is mapped to is answered
 * only when it is a bind; anything else there gets one hint by direct message (the group
 * itself cannot be written to before it is a room).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/log.h"
#include "dealerbot/rooms.h"
#include "engine_int.h"

#define MOD "engine"

/* When text is "[/|!]bind NAME" (or 绑定), copies NAME into name and returns true. */
bool eng__bind_parse(const char *text, char *name, size_t cap)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '/' || *p == '!')
        p++;
    size_t kw;
    if (strncasecmp(p, "bind", 4) == 0)
        kw = 4;
    else if (strncmp(p, "绑定", strlen("绑定")) == 0)
        kw = strlen("绑定");
    else
        return false;
    p += kw;
    if (*p && *p != ' ' && *p != '\t')
        return false;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, " \t\r\n");
    const char *rest = p + n;
    while (*rest == ' ' || *rest == '\t' || *rest == '\r' || *rest == '\n')
        rest++;
    if (*rest || n >= cap)
        return false;
    memcpy(name, p, n);
    name[n] = '\0';
    return true;
}

int eng__bind(struct engine *e, const struct chat_message *m, const struct person *who,
              const char *lang, const char *name, int64_t now)
{
    char room[128];
    struct dbot_diag d = {{0}};
    if (!who || who->dealer || who->role != ROLE_ADMIN) {
        log_info(MOD, "bind in group %s by %s refused: not a brand admin", m->address, m->sender);
        if (m->room)
            return eng__say(e, 0, true, m->room, lang, "bind_denied", NULL, 0, "reply", now);
        return eng__say(e, 0, false, m->sender, lang, "bind_denied", NULL, 0, "reply", now);
    }
    int err = name[0] ? rooms_resolve(e->store, e->cfg, name, room, sizeof room, &d)
                      : DBOT_ERR_NOTFOUND;
    if (err == DBOT_ERR_NOTFOUND || err == DBOT_ERR_INVALID) {
        struct msg_var v[] = {{"name", name}};
        log_info(MOD, "bind in group %s by %s: %s", m->address, m->sender,
                 d.msg[0] ? d.msg : "no room named");
        if (m->room)
            return eng__say(e, 0, true, m->room, lang, "bind_unknown", v, 1, "reply", now);
        return eng__say(e, 0, false, m->sender, lang, "bind_unknown", v, 1, "reply", now);
    }
    if (err)
        return err;
    if (!rooms_address_ok(m->address))
        return DBOT_ERR_INVALID;
    if ((err = store_room_address_set(e->store, room, m->address, now)) != 0)
        return err;
    log_info(MOD, "group %s bound to room %s by %s", m->address, room, m->sender);
    struct msg_var v[] = {{"room", room}};
    /* the chat side finds the change on its next directory look (within a second) and sends
     * this answer once the room has its group */
    return eng__say(e, 0, true, room, lang, "bind_done", v, 1, "reply", now);
}
