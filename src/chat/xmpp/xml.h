/*
 * xml.h — the XML writer and the builders for every frame the XMPP session sends.
 *
 * One RFC 7395 WebSocket text frame is one complete element, so each builder resets the
 * buffer and writes exactly one element; the session sends xml_buf_data()/xml_buf_len() as
 * one LWS_WRITE_TEXT. The buffer can reserve `pre` bytes in front of the text (LWS_PRE), so
 * the session can lws_write() in place without a copy.
 *
 * Escaping (every attribute value and every text node, no exceptions): & < > " ' become
 * entities; in attribute values TAB, LF and CR become &#9; &#10; &#13; (so attribute-value
 * normalisation cannot change them) and in text CR becomes &#13;. The result parses back to
 * exactly the input.
 *
 * Characters XML 1.0 forbids (C0 controls other than TAB/LF/CR, U+FFFE, U+FFFF) and invalid
 * UTF-8 are handled by where they occur:
 *   - text nodes (message bodies, reasons, room names) are user content: each such character
 *     or bad byte is REPLACED by U+FFFD, so one stray control byte in a complaint can never
 *     wedge an outbox message forever;
 *   - attribute values (JIDs, ids, nicknames) are identifiers: an illegal character there is a
 *     bug upstream, and the build fails with DBOT_ERR_INVALID.
 *
 * Errors are sticky: the low-level calls record the first failure in b->err and do nothing
 * afterwards; xml_finish() (and every builder) returns it. The buffer never grows past
 * `max` bytes of text (DBOT_ERR_TOOBIG). Pure: no I/O, no logging, any thread that owns b.
 */
#ifndef DBOT_CHAT_XMPP_XML_H
#define DBOT_CHAT_XMPP_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XML_MAX_DEFAULT (256 * 1024) /* Prosody's c2s_stanza_size_limit */
#define XML_WRITER_DEPTH 16

/* XML namespaces the builders use (also handy for the parser's callers). */
#define XMLNS_FRAMING "urn:ietf:params:xml:ns:xmpp-framing"
#define XMLNS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define XMLNS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define XMLNS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define XMLNS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define XMLNS_STREAMS "urn:ietf:params:xml:ns:xmpp-streams"
#define XMLNS_STREAM "http://etherx.jabber.org/streams"
#define XMLNS_CLIENT "jabber:client"
#define XMLNS_SM "urn:xmpp:sm:3"
#define XMLNS_PING "urn:xmpp:ping"
#define XMLNS_DELAY "urn:xmpp:delay"
#define XMLNS_DELAY_LEGACY "jabber:x:delay"
#define XMLNS_SID "urn:xmpp:sid:0"
#define XMLNS_MUC "http://jabber.org/protocol/muc"
#define XMLNS_MUC_USER "http://jabber.org/protocol/muc#user"
#define XMLNS_MUC_ADMIN "http://jabber.org/protocol/muc#admin"
#define XMLNS_MUC_OWNER "http://jabber.org/protocol/muc#owner"
#define XMLNS_MUC_ROOMCONFIG "http://jabber.org/protocol/muc#roomconfig"
#define XMLNS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define XMLNS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define XMLNS_DATA "jabber:x:data"
#define XMLNS_COMMANDS "http://jabber.org/protocol/commands"

struct xml_buf {
    char *mem;          /* pre bytes of headroom, then the text, then a NUL */
    size_t pre;         /* headroom reserved in front of the text */
    size_t len;         /* bytes of text */
    size_t cap;         /* allocated bytes of mem */
    size_t max;         /* most text bytes allowed */
    int err;            /* first error since the last reset (sticky), 0 if none */
    int depth;          /* open elements */
    bool tag_open;      /* the last start tag still lacks its '>' */
    const char *stack[XML_WRITER_DEPTH]; /* open element names, borrowed */
};

/* Prepares an empty buffer: `pre` bytes of headroom (0 or LWS_PRE), at most `max` bytes of
 * text (0 = XML_MAX_DEFAULT). Allocates lazily. */
void xml_buf_init(struct xml_buf *b, size_t pre, size_t max);
/* Frees the memory; b may be reused after xml_buf_init(). NULL-safe. */
void xml_buf_cleanup(struct xml_buf *b);
/* Empties the text and clears the error; keeps the memory. */
void xml_buf_reset(struct xml_buf *b);
/* The NUL-terminated text (borrowed; valid until the next write/reset/cleanup). Never NULL. */
const char *xml_buf_data(const struct xml_buf *b);
size_t xml_buf_len(const struct xml_buf *b);
/* The start of the allocation, text - pre (for lws_write's LWS_PRE headroom); NULL if empty. */
char *xml_buf_mem(struct xml_buf *b);

/* ---- low level: names are trusted ASCII literals (checked), values are escaped ---- */

/* Opens <name; name is borrowed until its xml_elem_end(). */
void xml_elem_start(struct xml_buf *b, const char *name);
/* Adds name='value' to the open start tag; value NULL adds nothing. Must follow a start. */
void xml_attr(struct xml_buf *b, const char *name, const char *value);
/* Adds name='decimal'. */
void xml_attr_u32(struct xml_buf *b, const char *name, uint32_t value);
/* Appends escaped text to the current element; NULL or "" adds nothing. */
void xml_text(struct xml_buf *b, const char *text);
/* Closes the current element (as <x/> if it has no content). */
void xml_elem_end(struct xml_buf *b);
/* Shorthand: <name>text</name>. */
void xml_elem_text(struct xml_buf *b, const char *name, const char *text);
/* Returns the sticky error, or DBOT_ERR_INTERNAL if elements are still open, else 0. */
int xml_finish(struct xml_buf *b);

/* ---- builders: each resets b, writes one complete frame, returns 0 or DBOT_ERR_* ----
 * All string arguments are borrowed. A required argument that is NULL or empty gives
 * DBOT_ERR_INVALID. */

/* <open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='DOMAIN' version='1.0'/> */
int xml_build_open(struct xml_buf *b, const char *to);
/* <close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/> */
int xml_build_close(struct xml_buf *b);

/* <auth xmlns='…xmpp-sasl' mechanism='M'>B64</auth>; initial_b64 NULL sends no initial
 * response, "" sends "=" (an empty one, RFC 6120 §6.4.2). */
int xml_build_sasl_auth(struct xml_buf *b, const char *mechanism, const char *initial_b64);
/* <response xmlns='…xmpp-sasl'>B64</response> ("" → "="). */
int xml_build_sasl_response(struct xml_buf *b, const char *b64);
/* <abort xmlns='…xmpp-sasl'/> */
int xml_build_sasl_abort(struct xml_buf *b);

/* <iq type='set' id='ID'><bind xmlns='…xmpp-bind'><resource>R</resource></bind></iq>;
 * resource NULL lets the server pick. */
int xml_build_bind(struct xml_buf *b, const char *id, const char *resource);
/* Legacy RFC 3921 session iq (Prosody marks it optional; most sessions skip it). */
int xml_build_session(struct xml_buf *b, const char *id);

/* Initial presence: <presence/>. */
int xml_build_presence(struct xml_buf *b);
/* MUC join without history: <presence to='ROOM/NICK' [id]><x xmlns='…muc'><history
 * maxstanzas='0'/></x></presence>. room is a bare room JID; id may be NULL. */
int xml_build_muc_join(struct xml_buf *b, const char *room, const char *nick, const char *id);
/* <presence to='ROOM/NICK' type='unavailable'/> */
int xml_build_muc_leave(struct xml_buf *b, const char *room, const char *nick);

enum xml_msg_type { XML_MSG_CHAT, XML_MSG_GROUPCHAT };

/* <message to='TO' type='chat|groupchat' id='ID'><body>BODY</body>
 * <origin-id xmlns='urn:xmpp:sid:0' id='ID'/></message>. id is required: the room echoes it
 * (and the origin-id) back, which is the delivery confirmation for a group message. */
int xml_build_message(struct xml_buf *b, enum xml_msg_type type, const char *to, const char *id,
                      const char *body);

/* The room settings dealerbot manages through the owner form (XEP-0045 §10.2). */
/* Room configuration fields a muc#owner form lists (form_fields): the ones the bot sets. */
#define FORMF_ROOMNAME (1u << 0)      /* muc#roomconfig_roomname */
#define FORMF_ROOMDESC (1u << 1)      /* muc#roomconfig_roomdesc */
#define FORMF_PERSISTENT (1u << 2)    /* muc#roomconfig_persistentroom */
#define FORMF_MEMBERSONLY (1u << 3)   /* muc#roomconfig_membersonly */
#define FORMF_WHOIS (1u << 4)         /* muc#roomconfig_whois */
#define FORMF_PUBLIC (1u << 5)        /* muc#roomconfig_publicroom */
#define FORMF_ALLOWINVITES (1u << 6)  /* muc#roomconfig_allowinvites */

struct xml_room_config {
    const char *name;        /* muc#roomconfig_roomname; NULL leaves it alone */
    const char *description; /* muc#roomconfig_roomdesc; NULL leaves it alone */
    bool persistent;         /* muc#roomconfig_persistentroom */
    bool members_only;       /* muc#roomconfig_membersonly */
    bool whois_anyone;       /* muc#roomconfig_whois: anyone (non-anonymous) or moderators */
    bool public_room;        /* muc#roomconfig_publicroom (listed in disco) */
    bool allow_invites;      /* muc#roomconfig_allowinvites (members may invite) */
    bool only_listed;        /* submit only the fields in `fields` (the ones the server's
                              * own form lists: ejabberd refuses a field it does not know
                              * with bad-request); false: all of them */
    unsigned fields;         /* FORMF_* */
};
/* The settings the design asks for: persistent, members-only, non-anonymous, not public,
 * members may not invite; no name or description. */
void xml_room_config_default(struct xml_room_config *cfg);
/* <iq type='set' to='ROOM' id='ID'><query xmlns='…muc#owner'><x xmlns='jabber:x:data'
 * type='submit'> FORM_TYPE + one field per setting </x></query></iq>. Prosody applies only
 * the fields present and answers an empty result. */
int xml_build_muc_config_submit(struct xml_buf *b, const char *id, const char *room,
                                const struct xml_room_config *cfg);
/* <iq type='get' to='ROOM' id='ID'><query xmlns='…muc#owner'/></iq> (fetch the form). */
int xml_build_muc_config_get(struct xml_buf *b, const char *id, const char *room);

/* <iq type='set' to='ROOM' id='ID'><query xmlns='…muc#admin'><item affiliation='AFF'
 * jid='JID'>[<reason>R</reason>]</item></query></iq>. aff is one of owner, admin, member,
 * outcast, none ("none" removes, and in a members-only room ejects); reason may be NULL. */
int xml_build_muc_affiliation(struct xml_buf *b, const char *id, const char *room,
                              const char *jid, const char *aff, const char *reason);
/* <iq type='get' to='ROOM' id='ID'><query xmlns='…muc#admin'><item affiliation='AFF'/>
 * </query></iq>: lists the JIDs with that affiliation (parsed into stanza.items). */
int xml_build_muc_affiliation_list(struct xml_buf *b, const char *id, const char *room,
                                   const char *aff);
/* Mediated invitation: <message to='ROOM' [id]><x xmlns='…muc#user'><invite to='JID'>
 * [<reason>R</reason>]</invite></x></message>. id and reason may be NULL. */
int xml_build_muc_invite(struct xml_buf *b, const char *id, const char *room, const char *jid,
                         const char *reason);

/* <iq type='get' to='TO' id='ID'><query xmlns='…disco#info'/></iq>; a room answers with its
 * muc_* features, or item-not-found if it does not exist. */
int xml_build_disco_info(struct xml_buf *b, const char *id, const char *to);
/* XEP-0199: <iq type='get' to='TO' id='ID'><ping xmlns='urn:xmpp:ping'/></iq>; to may be NULL
 * (then the server answers for the account). */
int xml_build_ping(struct xml_buf *b, const char *id, const char *to);
/* Empty result: <iq type='result' to='TO' id='ID'/> (answers an incoming ping). to may be NULL. */
int xml_build_iq_result(struct xml_buf *b, const char *id, const char *to);
/* <iq type='error' to='TO' id='ID'><error type='TYPE'><COND xmlns='…xmpp-stanzas'/></error>
 * </iq>. Every get/set the session does not handle must get one (RFC 6120 §8.4), e.g.
 * type "cancel", cond "service-unavailable". cond must be a plain element name. */
int xml_build_iq_error(struct xml_buf *b, const char *id, const char *to, const char *type,
                       const char *cond);

/* XEP-0198 nonzas. */
/* <enable xmlns='urn:xmpp:sm:3' resume='true'/> */
int xml_build_sm_enable(struct xml_buf *b);
/* <resume xmlns='urn:xmpp:sm:3' previd='ID' h='H'/> */
int xml_build_sm_resume(struct xml_buf *b, const char *previd, uint32_t h);
/* <a xmlns='urn:xmpp:sm:3' h='H'/> */
int xml_build_sm_ack(struct xml_buf *b, uint32_t h);
/* <r xmlns='urn:xmpp:sm:3'/> */
int xml_build_sm_request(struct xml_buf *b);

#endif
