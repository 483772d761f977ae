/*
 * xml.c — bounded XML writer and the XMPP frame builders; see xml.h.
 */
#include "chat/xmpp/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/error.h"

/* ------------------------------------------------------------------------------------------
 * Buffer
 */

void xml_buf_init(struct xml_buf *b, size_t pre, size_t max)
{
    memset(b, 0, sizeof *b);
    b->pre = pre;
    b->max = max ? max : XML_MAX_DEFAULT;
}

void xml_buf_cleanup(struct xml_buf *b)
{
    if (!b)
        return;
    free(b->mem);
    b->mem = NULL;
    b->cap = b->len = 0;
    b->depth = 0;
    b->tag_open = false;
}

void xml_buf_reset(struct xml_buf *b)
{
    b->len = 0;
    b->err = 0;
    b->depth = 0;
    b->tag_open = false;
    if (b->mem)
        b->mem[b->pre] = '\0';
}

const char *xml_buf_data(const struct xml_buf *b)
{
    return b->mem ? b->mem + b->pre : "";
}

size_t xml_buf_len(const struct xml_buf *b)
{
    return b->len;
}

char *xml_buf_mem(struct xml_buf *b)
{
    return b->mem;
}

static void fail(struct xml_buf *b, int err)
{
    if (!b->err)
        b->err = err;
}

/* Makes room for n more text bytes plus the NUL. False (with b->err set) if it cannot. */
static bool reserve(struct xml_buf *b, size_t n)
{
    if (b->err)
        return false;
    if (n > b->max - b->len) {
        fail(b, DBOT_ERR_TOOBIG);
        return false;
    }
    size_t need = b->pre + b->len + n + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256 + b->pre;
    while (cap < need)
        cap *= 2;
    if (cap > b->pre + b->max + 1)
        cap = b->pre + b->max + 1;
    char *m = realloc(b->mem, cap);
    if (!m) {
        fail(b, DBOT_ERR_NOMEM);
        return false;
    }
    b->mem = m;
    b->cap = cap;
    return true;
}

static void put(struct xml_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->mem + b->pre + b->len, s, n);
    b->len += n;
    b->mem[b->pre + b->len] = '\0';
}

static void puts_(struct xml_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* ------------------------------------------------------------------------------------------
 * Escaping
 *
 * The input is walked one UTF-8 sequence at a time. A well-formed sequence whose code point is
 * an XML 1.0 Char is copied (or turned into an entity for the five markup characters and the
 * whitespace that attribute normalisation would eat); anything else is "illegal", which the
 * caller turns into U+FFFD (text) or an error (attributes).
 */

/* Decodes one UTF-8 sequence at s (s < end). Returns its length and sets *cp, or returns 0
 * for a malformed sequence (overlong, surrogate, > U+10FFFF, truncated). */
static size_t utf8_decode(const unsigned char *s, const unsigned char *end, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t avail = (size_t)(end - s);
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0f;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    v = v << 6 | (s[1] & 0x3f);
    for (size_t i = 2; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    *cp = v;
    return n;
}

static bool xml_char_ok(uint32_t cp)
{
    if (cp < 0x20)
        return cp == 0x9 || cp == 0xa || cp == 0xd;
    if (cp <= 0xd7ff)
        return true;
    if (cp >= 0xe000 && cp <= 0xfffd)
        return true;
    return cp >= 0x10000 && cp <= 0x10ffff;
}

/* Writes s escaped. in_attr selects the attribute rules (whitespace entities, illegal
 * characters are an error) over the text rules (CR entity, illegal characters become U+FFFD). */
static void escape(struct xml_buf *b, const char *s, bool in_attr)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + strlen(s);
    const unsigned char *run = p; /* start of bytes that can be copied verbatim */
    while (p < end && !b->err) {
        unsigned char c = *p;
        const char *ent = NULL;
        size_t n = 1;
        if (c >= 0x20 && c < 0x80) {
            switch (c) {
            case '&': ent = "&amp;"; break;
            case '<': ent = "&lt;"; break;
            case '>': ent = "&gt;"; break;
            case '"': ent = "&quot;"; break;
            case '\'': ent = "&apos;"; break;
            default: p++; continue;
            }
        } else {
            uint32_t cp = 0;
            n = utf8_decode(p, end, &cp);
            if (n > 0 && xml_char_ok(cp)) {
                if (cp == '\r')
                    ent = "&#13;";
                else if (in_attr && cp == '\t')
                    ent = "&#9;";
                else if (in_attr && cp == '\n')
                    ent = "&#10;";
                else {
                    p += n;
                    continue;
                }
            } else {
                if (in_attr) {
                    fail(b, DBOT_ERR_INVALID);
                    return;
                }
                ent = "\xef\xbf\xbd"; /* U+FFFD */
                if (n == 0)
                    n = 1; /* skip one bad byte; the next may start a good sequence */
            }
        }
        put(b, (const char *)run, (size_t)(p - run));
        puts_(b, ent);
        p += n;
        run = p;
    }
    put(b, (const char *)run, (size_t)(p - run));
}

/* ------------------------------------------------------------------------------------------
 * Elements
 */

/* Element and attribute names come from this file's literals; a bad one is a bug. */
static bool name_ok(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (p != name && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
        if (!ok)
            return false;
    }
    return true;
}

static void close_start_tag(struct xml_buf *b)
{
    if (b->tag_open) {
        put(b, ">", 1);
        b->tag_open = false;
    }
}

void xml_elem_start(struct xml_buf *b, const char *name)
{
    if (b->err)
        return;
    if (!name_ok(name) || b->depth >= XML_WRITER_DEPTH) {
        fail(b, DBOT_ERR_INTERNAL);
        return;
    }
    close_start_tag(b);
    put(b, "<", 1);
    puts_(b, name);
    b->stack[b->depth++] = name;
    b->tag_open = true;
}

void xml_attr(struct xml_buf *b, const char *name, const char *value)
{
    if (b->err || !value)
        return;
    if (!b->tag_open || !name_ok(name)) {
        fail(b, DBOT_ERR_INTERNAL);
        return;
    }
    put(b, " ", 1);
    puts_(b, name);
    put(b, "='", 2);
    escape(b, value, true);
    put(b, "'", 1);
}

void xml_attr_u32(struct xml_buf *b, const char *name, uint32_t value)
{
    char num[16];
    snprintf(num, sizeof num, "%lu", (unsigned long)value);
    xml_attr(b, name, num);
}

void xml_text(struct xml_buf *b, const char *text)
{
    if (b->err || !text || !*text)
        return;
    if (b->depth == 0) {
        fail(b, DBOT_ERR_INTERNAL);
        return;
    }
    close_start_tag(b);
    escape(b, text, false);
}

void xml_elem_end(struct xml_buf *b)
{
    if (b->err)
        return;
    if (b->depth == 0) {
        fail(b, DBOT_ERR_INTERNAL);
        return;
    }
    const char *name = b->stack[--b->depth];
    if (b->tag_open) {
        put(b, "/>", 2);
        b->tag_open = false;
        return;
    }
    put(b, "</", 2);
    puts_(b, name);
    put(b, ">", 1);
}

void xml_elem_text(struct xml_buf *b, const char *name, const char *text)
{
    xml_elem_start(b, name);
    xml_text(b, text);
    xml_elem_end(b);
}

int xml_finish(struct xml_buf *b)
{
    if (b->err)
        return b->err;
    if (b->depth != 0)
        return DBOT_ERR_INTERNAL;
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Builders
 */

static bool given(const char *s)
{
    return s && *s;
}

/* Starts a builder: reset, and fail with INVALID if a required argument is missing. */
static bool begin(struct xml_buf *b, bool args_ok)
{
    xml_buf_reset(b);
    if (!args_ok) {
        fail(b, DBOT_ERR_INVALID);
        return false;
    }
    return true;
}

int xml_build_open(struct xml_buf *b, const char *to)
{
    if (begin(b, given(to))) {
        xml_elem_start(b, "open");
        xml_attr(b, "xmlns", XMLNS_FRAMING);
        xml_attr(b, "to", to);
        xml_attr(b, "version", "1.0");
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_close(struct xml_buf *b)
{
    begin(b, true);
    xml_elem_start(b, "close");
    xml_attr(b, "xmlns", XMLNS_FRAMING);
    xml_elem_end(b);
    return xml_finish(b);
}

/* Mechanism names are RFC 4422 SASL names: A-Z 0-9 - _ only. */
static bool mechanism_ok(const char *m)
{
    if (!given(m) || strlen(m) > 20)
        return false;
    for (const char *p = m; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return false;
    return true;
}

int xml_build_sasl_auth(struct xml_buf *b, const char *mechanism, const char *initial_b64)
{
    if (begin(b, mechanism_ok(mechanism))) {
        xml_elem_start(b, "auth");
        xml_attr(b, "xmlns", XMLNS_SASL);
        xml_attr(b, "mechanism", mechanism);
        if (initial_b64)
            xml_text(b, *initial_b64 ? initial_b64 : "=");
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_sasl_response(struct xml_buf *b, const char *b64)
{
    if (begin(b, b64 != NULL)) {
        xml_elem_start(b, "response");
        xml_attr(b, "xmlns", XMLNS_SASL);
        xml_text(b, *b64 ? b64 : "=");
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_sasl_abort(struct xml_buf *b)
{
    begin(b, true);
    xml_elem_start(b, "abort");
    xml_attr(b, "xmlns", XMLNS_SASL);
    xml_elem_end(b);
    return xml_finish(b);
}

/* <iq type='T' [to='TO'] id='ID'> left open. */
static void iq_start(struct xml_buf *b, const char *type, const char *to, const char *id)
{
    xml_elem_start(b, "iq");
    xml_attr(b, "type", type);
    xml_attr(b, "to", to);
    xml_attr(b, "id", id);
}

int xml_build_bind(struct xml_buf *b, const char *id, const char *resource)
{
    if (begin(b, given(id))) {
        iq_start(b, "set", NULL, id);
        xml_elem_start(b, "bind");
        xml_attr(b, "xmlns", XMLNS_BIND);
        if (given(resource))
            xml_elem_text(b, "resource", resource);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_session(struct xml_buf *b, const char *id)
{
    if (begin(b, given(id))) {
        iq_start(b, "set", NULL, id);
        xml_elem_start(b, "session");
        xml_attr(b, "xmlns", XMLNS_SESSION);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_presence(struct xml_buf *b)
{
    begin(b, true);
    xml_elem_start(b, "presence");
    xml_elem_end(b);
    return xml_finish(b);
}

/* Writes to='ROOM/NICK' into the open start tag. */
static void attr_occupant(struct xml_buf *b, const char *room, const char *nick)
{
    size_t rl = strlen(room), nl = strlen(nick);
    char *full = malloc(rl + nl + 2);
    if (!full) {
        fail(b, DBOT_ERR_NOMEM);
        return;
    }
    memcpy(full, room, rl);
    full[rl] = '/';
    memcpy(full + rl + 1, nick, nl + 1);
    xml_attr(b, "to", full);
    free(full);
}

int xml_build_muc_join(struct xml_buf *b, const char *room, const char *nick, const char *id)
{
    if (begin(b, given(room) && given(nick) && !strchr(room, '/'))) {
        xml_elem_start(b, "presence");
        attr_occupant(b, room, nick);
        xml_attr(b, "id", id);
        xml_elem_start(b, "x");
        xml_attr(b, "xmlns", XMLNS_MUC);
        xml_elem_start(b, "history");
        xml_attr(b, "maxstanzas", "0");
        xml_elem_end(b);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_muc_leave(struct xml_buf *b, const char *room, const char *nick)
{
    if (begin(b, given(room) && given(nick) && !strchr(room, '/'))) {
        xml_elem_start(b, "presence");
        attr_occupant(b, room, nick);
        xml_attr(b, "type", "unavailable");
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_message(struct xml_buf *b, enum xml_msg_type type, const char *to, const char *id,
                      const char *body)
{
    bool type_ok = type == XML_MSG_CHAT || type == XML_MSG_GROUPCHAT;
    if (begin(b, type_ok && given(to) && given(id) && body)) {
        xml_elem_start(b, "message");
        xml_attr(b, "to", to);
        xml_attr(b, "type", type == XML_MSG_GROUPCHAT ? "groupchat" : "chat");
        xml_attr(b, "id", id);
        xml_elem_text(b, "body", body);
        xml_elem_start(b, "origin-id");
        xml_attr(b, "xmlns", XMLNS_SID);
        xml_attr(b, "id", id);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

void xml_room_config_default(struct xml_room_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->persistent = true;
    cfg->members_only = true;
    cfg->whois_anyone = true;
    cfg->public_room = false;
    cfg->allow_invites = false;
}

/* <field var='VAR'><value>V</value></field> */
static void form_field(struct xml_buf *b, const char *var, const char *type, const char *value)
{
    xml_elem_start(b, "field");
    xml_attr(b, "var", var);
    xml_attr(b, "type", type);
    xml_elem_text(b, "value", value);
    xml_elem_end(b);
}

static void form_bool(struct xml_buf *b, const char *var, bool value)
{
    form_field(b, var, NULL, value ? "1" : "0");
}

int xml_build_muc_config_submit(struct xml_buf *b, const char *id, const char *room,
                                const struct xml_room_config *cfg)
{
    if (begin(b, given(id) && given(room) && cfg)) {
        iq_start(b, "set", room, id);
        xml_elem_start(b, "query");
        xml_attr(b, "xmlns", XMLNS_MUC_OWNER);
        xml_elem_start(b, "x");
        xml_attr(b, "xmlns", XMLNS_DATA);
        xml_attr(b, "type", "submit");
        unsigned f = cfg->only_listed ? cfg->fields : ~0u;
        form_field(b, "FORM_TYPE", "hidden", XMLNS_MUC_ROOMCONFIG);
        if (cfg->name && (f & FORMF_ROOMNAME))
            form_field(b, "muc#roomconfig_roomname", NULL, cfg->name);
        if (cfg->description && (f & FORMF_ROOMDESC))
            form_field(b, "muc#roomconfig_roomdesc", NULL, cfg->description);
        if (f & FORMF_PERSISTENT)
            form_bool(b, "muc#roomconfig_persistentroom", cfg->persistent);
        if (f & FORMF_MEMBERSONLY)
            form_bool(b, "muc#roomconfig_membersonly", cfg->members_only);
        if (f & FORMF_WHOIS)
            form_field(b, "muc#roomconfig_whois", NULL,
                       cfg->whois_anyone ? "anyone" : "moderators");
        if (f & FORMF_PUBLIC)
            form_bool(b, "muc#roomconfig_publicroom", cfg->public_room);
        if (f & FORMF_ALLOWINVITES)
            form_bool(b, "muc#roomconfig_allowinvites", cfg->allow_invites);
        xml_elem_end(b);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_muc_config_get(struct xml_buf *b, const char *id, const char *room)
{
    if (begin(b, given(id) && given(room))) {
        iq_start(b, "get", room, id);
        xml_elem_start(b, "query");
        xml_attr(b, "xmlns", XMLNS_MUC_OWNER);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

static bool affiliation_ok(const char *aff)
{
    static const char *const valid[] = {"owner", "admin", "member", "outcast", "none"};
    if (!aff)
        return false;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        if (strcmp(aff, valid[i]) == 0)
            return true;
    return false;
}

int xml_build_muc_affiliation(struct xml_buf *b, const char *id, const char *room,
                              const char *jid, const char *aff, const char *reason)
{
    if (begin(b, given(id) && given(room) && given(jid) && affiliation_ok(aff))) {
        iq_start(b, "set", room, id);
        xml_elem_start(b, "query");
        xml_attr(b, "xmlns", XMLNS_MUC_ADMIN);
        xml_elem_start(b, "item");
        xml_attr(b, "affiliation", aff);
        xml_attr(b, "jid", jid);
        if (given(reason))
            xml_elem_text(b, "reason", reason);
        xml_elem_end(b);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_muc_affiliation_list(struct xml_buf *b, const char *id, const char *room,
                                   const char *aff)
{
    if (begin(b, given(id) && given(room) && affiliation_ok(aff) && strcmp(aff, "none") != 0)) {
        iq_start(b, "get", room, id);
        xml_elem_start(b, "query");
        xml_attr(b, "xmlns", XMLNS_MUC_ADMIN);
        xml_elem_start(b, "item");
        xml_attr(b, "affiliation", aff);
        xml_elem_end(b);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_muc_invite(struct xml_buf *b, const char *id, const char *room, const char *jid,
                         const char *reason)
{
    if (begin(b, given(room) && given(jid))) {
        xml_elem_start(b, "message");
        xml_attr(b, "to", room);
        xml_attr(b, "id", id);
        xml_elem_start(b, "x");
        xml_attr(b, "xmlns", XMLNS_MUC_USER);
        xml_elem_start(b, "invite");
        xml_attr(b, "to", jid);
        if (given(reason))
            xml_elem_text(b, "reason", reason);
        xml_elem_end(b);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_disco_info(struct xml_buf *b, const char *id, const char *to)
{
    if (begin(b, given(id) && given(to))) {
        iq_start(b, "get", to, id);
        xml_elem_start(b, "query");
        xml_attr(b, "xmlns", XMLNS_DISCO_INFO);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_ping(struct xml_buf *b, const char *id, const char *to)
{
    if (begin(b, given(id))) {
        iq_start(b, "get", given(to) ? to : NULL, id);
        xml_elem_start(b, "ping");
        xml_attr(b, "xmlns", XMLNS_PING);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_iq_result(struct xml_buf *b, const char *id, const char *to)
{
    if (begin(b, given(id))) {
        iq_start(b, "result", given(to) ? to : NULL, id);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_iq_error(struct xml_buf *b, const char *id, const char *to, const char *type,
                       const char *cond)
{
    if (begin(b, given(id) && given(type) && name_ok(cond))) {
        iq_start(b, "error", given(to) ? to : NULL, id);
        xml_elem_start(b, "error");
        xml_attr(b, "type", type);
        xml_elem_start(b, cond);
        xml_attr(b, "xmlns", XMLNS_STANZAS);
        xml_elem_end(b);
        xml_elem_end(b);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_sm_enable(struct xml_buf *b)
{
    begin(b, true);
    xml_elem_start(b, "enable");
    xml_attr(b, "xmlns", XMLNS_SM);
    xml_attr(b, "resume", "true");
    xml_elem_end(b);
    return xml_finish(b);
}

int xml_build_sm_resume(struct xml_buf *b, const char *previd, uint32_t h)
{
    if (begin(b, given(previd))) {
        xml_elem_start(b, "resume");
        xml_attr(b, "xmlns", XMLNS_SM);
        xml_attr(b, "previd", previd);
        xml_attr_u32(b, "h", h);
        xml_elem_end(b);
    }
    return xml_finish(b);
}

int xml_build_sm_ack(struct xml_buf *b, uint32_t h)
{
    begin(b, true);
    xml_elem_start(b, "a");
    xml_attr(b, "xmlns", XMLNS_SM);
    xml_attr_u32(b, "h", h);
    xml_elem_end(b);
    return xml_finish(b);
}

int xml_build_sm_request(struct xml_buf *b)
{
    begin(b, true);
    xml_elem_start(b, "r");
    xml_attr(b, "xmlns", XMLNS_SM);
    xml_elem_end(b);
    return xml_finish(b);
}
