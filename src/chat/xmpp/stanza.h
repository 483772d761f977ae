/*
 * stanza.h — the pure parser for what an XMPP server sends over WebSocket (RFC 7395).
 *
 * Every WebSocket text frame carries exactly one complete element, so stanza_parse() takes
 * one frame's bytes and returns one struct stanza that the session can act on without touching
 * XML: the kind, the routing attributes, and the handful of children dealerbot cares about
 * (body, MUC user extension, delay, stanza ids, errors, SASL data, features, SM counters, bind
 * result, disco features, affiliation lists). Everything else is ignored.
 *
 * Bytes in, struct out: no I/O, no clock, no logging, no global state (apart from the
 * test-only allocation-failure hook below); a fresh expat parser (namespace-aware, encoding
 * forced to UTF-8) per call, so any thread may call it. Safe on hostile input: frames over the
 * size limit, nesting deeper than STANZA_MAX_DEPTH, DTDs / entity declarations (billion
 * laughs), processing instructions, comments and any second top-level element are rejected.
 *
 * Only DIRECT children of the top-level element are interpreted (a <body> inside a forwarded
 * or quoted payload is not the body). All strings in the struct are heap copies owned by it,
 * valid UTF-8 without NUL (expat guarantees both); stanza_cleanup() frees them.
 *
 * TRUST — read before using a field for a decision:
 *  - muc_jid (the occupant's real JID) is taken ONLY from <presence>: a MUC service
 *    generates the muc#user item of occupant presence, but it relays a groupchat
 *    <message> verbatim, so a sender could forge one there. Attribute a groupchat message
 *    by looking its `from` (room/nick) up in the occupant map built from presence.
 *  - muc_status in a <message> is meaningful only when `from` is the room's bare JID.
 *  - stanza ids: only the one whose `by` is the entity you trust (the room's bare JID for
 *    groupchat) is authentic; use stanza_id_by().
 */
#ifndef DBOT_CHAT_XMPP_STANZA_H
#define DBOT_CHAT_XMPP_STANZA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dealerbot/error.h"

#define STANZA_MAX_DEFAULT (256 * 1024) /* Prosody's c2s_stanza_size_limit */
#define STANZA_MAX_DEPTH 32             /* element nesting, the top-level element being 1 */
#define STANZA_MAX_STATUS 16            /* distinct MUC status codes kept */
#define STANZA_MAX_IDS 4                /* XEP-0359 stanza-id elements kept */
#define STANZA_MAX_FIELDS 16            /* XEP-0004 form fields kept (the rest are ignored) */

enum stanza_kind {
    STANZA_UNKNOWN = 0,    /* well-formed but not ours (other namespace/name): ignore */
    STANZA_OPEN,           /* <open xmlns='…xmpp-framing'/>: id = stream id */
    STANZA_CLOSE,          /* <close xmlns='…xmpp-framing'/> (see-other-uri in `text`) */
    STANZA_FEATURES,       /* <stream:features> */
    STANZA_STREAM_ERROR,   /* <stream:error>: condition, text */
    STANZA_SASL_CHALLENGE, /* sasl_data */
    STANZA_SASL_SUCCESS,   /* sasl_data (may be NULL: no additional data) */
    STANZA_SASL_FAILURE,   /* condition, text */
    STANZA_IQ,
    STANZA_MESSAGE,
    STANZA_PRESENCE,
    STANZA_SM_ENABLED,     /* sm_id, sm_resume, sm_max */
    STANZA_SM_RESUMED,     /* sm_id (previd), sm_h */
    STANZA_SM_FAILED,      /* condition; sm_h if has_h */
    STANZA_SM_ACK,         /* <a h=''/>: sm_h */
    STANZA_SM_REQUEST,     /* <r/> */
};

/* The stanza `type` attribute, decoded. RFC 6121: a message with no or an unknown type is
 * "normal"; a presence with no type is "available". */
enum stanza_type {
    STYPE_NONE = 0,   /* no type attribute (and not message/presence) */
    STYPE_GET, STYPE_SET, STYPE_RESULT, STYPE_ERROR,
    STYPE_NORMAL, STYPE_CHAT, STYPE_GROUPCHAT, STYPE_HEADLINE,
    STYPE_AVAILABLE, STYPE_UNAVAILABLE, STYPE_SUBSCRIBE, STYPE_SUBSCRIBED,
    STYPE_UNSUBSCRIBE, STYPE_UNSUBSCRIBED, STYPE_PROBE,
    STYPE_OTHER,      /* a presence type we do not know */
};

/* What an <iq> carries: the namespace of its first child element. */
enum stanza_payload {
    PAYLOAD_NONE = 0,  /* no child (typical result) or only an <error> */
    PAYLOAD_PING,      /* urn:xmpp:ping — answer a get with xml_build_iq_result() */
    PAYLOAD_BIND,      /* bind_jid set on a result */
    PAYLOAD_SESSION,
    PAYLOAD_DISCO_INFO,
    PAYLOAD_DISCO_ITEMS,
    PAYLOAD_MUC_OWNER,
    PAYLOAD_MUC_ADMIN, /* items[] */
    PAYLOAD_ROSTER,
    PAYLOAD_COMMAND,   /* XEP-0050 <command>: node, cmd_action, cmd_sessionid, form */
    PAYLOAD_OTHER,     /* a get/set of this kind needs an error reply */
};

/* Stream features (bit set). */
#define FEATURE_SASL (1u << 0)     /* <mechanisms> offered */
#define FEATURE_BIND (1u << 1)
#define FEATURE_SESSION (1u << 2)  /* legacy session; FEATURE_SESSION_OPTIONAL if <optional/> */
#define FEATURE_SESSION_OPTIONAL (1u << 3)
#define FEATURE_SM (1u << 4)       /* urn:xmpp:sm:3 */
#define FEATURE_STARTTLS (1u << 5)

/* SASL mechanisms (bit set). */
#define MECH_PLAIN (1u << 0)
#define MECH_SCRAM_SHA_1 (1u << 1)
#define MECH_SCRAM_SHA_1_PLUS (1u << 2)
#define MECH_SCRAM_SHA_256 (1u << 3)
#define MECH_SCRAM_SHA_256_PLUS (1u << 4)
#define MECH_OTHER (1u << 5)

/* Room features from a disco#info result (bit set), XEP-0045 §6.4. */
#define ROOMF_PERSISTENT (1u << 0)
#define ROOMF_TEMPORARY (1u << 1)
#define ROOMF_MEMBERSONLY (1u << 2)
#define ROOMF_OPEN (1u << 3)
#define ROOMF_NONANONYMOUS (1u << 4)
#define ROOMF_SEMIANONYMOUS (1u << 5)
#define ROOMF_PUBLIC (1u << 6)
#define ROOMF_HIDDEN (1u << 7)
#define ROOMF_PASSWORD (1u << 8)
#define ROOMF_MODERATED (1u << 9)
#define ROOMF_MUC (1u << 10) /* http://jabber.org/protocol/muc: it is a room at all */

/* One <item/> of a muc#admin query (an affiliation list or a change). */
struct stanza_item {
    char *jid;         /* may be NULL */
    char *affiliation; /* may be NULL */
    char *role;        /* may be NULL */
    char *nick;        /* may be NULL */
};

/* One XEP-0004 <field var=''> of a submitted form. */
struct stanza_field {
    char *var;   /* never NULL */
    char *value; /* its <value>s joined by '\n' (text-multi is one per line); NULL when it
                    has none */
};

/* One XEP-0359 <stanza-id id='' by=''/>. */
struct stanza_sid {
    char *id;
    char *by;
};

struct stanza {
    enum stanza_kind kind;
    enum stanza_type type;
    char *type_raw;          /* the type attribute as sent, NULL if absent */
    char *from, *to, *id;    /* NULL if absent */
    char *lang;              /* xml:lang, NULL if absent */

    /* errors: stanza type='error', <stream:error>, SASL <failure>, SM <failed> */
    char *error_type;        /* <error type=''>: cancel, auth, modify, wait, continue */
    char *condition;         /* defined-condition element name, e.g. "registration-required",
                                "not-authorized", "item-not-found"; NULL if none */
    char *text;              /* <text> of the error, or see-other-uri of <close> */

    /* message */
    char *body;              /* first <body>; NULL if none */
    char *subject;           /* <subject> text ("" for an empty subject) */
    bool has_subject;        /* a <subject> element was present (room subject after join) */
    bool delayed;            /* <delay xmlns='urn:xmpp:delay'> or jabber:x:delay: history */
    char *delay_stamp;       /* its stamp attribute */
    char *origin_id;         /* <origin-id xmlns='urn:xmpp:sid:0' id=''/> */
    struct stanza_sid sids[STANZA_MAX_IDS];
    size_t n_sids;

    /* MUC user extension <x xmlns='…muc#user'> (presence and message) */
    bool has_muc_user;
    char *muc_jid;           /* <item jid=''>: real JID — PRESENCE ONLY, see TRUST above */
    char *muc_affiliation;   /* <item affiliation=''> */
    char *muc_role;          /* <item role=''> */
    char *muc_nick;          /* <item nick=''> (nick changes, status 303) */
    uint16_t muc_status[STANZA_MAX_STATUS]; /* <status code=''/>, distinct, in order */
    size_t n_muc_status;
    bool has_muc_invite;     /* <invite> in a message: someone invited us */
    char *invite_from;

    /* iq */
    enum stanza_payload payload;
    char *bind_jid;          /* full JID from a bind result */
    unsigned room_features;  /* ROOMF_* from a disco#info result */
    struct stanza_item *items; /* muc#admin <item/>s */
    size_t n_items;
    char *node;              /* node='' of a disco#info/#items query or of a <command> */
    char *cmd_action;        /* <command action=''>: execute, complete, cancel, ... */
    char *cmd_sessionid;     /* <command sessionid=''> */
    bool has_form;           /* a <x xmlns='jabber:x:data'> inside the <command> */
    char *form_type;         /* its type: submit, cancel, form, result */
    struct stanza_field fields[STANZA_MAX_FIELDS]; /* its fields with a var, in order; a
                                                     var given twice keeps the first */
    size_t n_fields;
    bool has_owner_form;     /* a muc#owner result carried a jabber:x:data form */
    unsigned form_fields;    /* FORMF_* (xml.h) of the fields that form lists */

    /* <stream:features> */
    unsigned features;       /* FEATURE_* */
    unsigned mechanisms;     /* MECH_* */
    char *mechanisms_text;   /* offered mechanism names joined by spaces, for logs */

    /* SASL <challenge>/<success> payload: the base64 text as sent ("=" means empty data);
       NULL when the element was empty */
    char *sasl_data;

    /* XEP-0198 */
    uint32_t sm_h;           /* h of <a/>, <resumed/>, <failed/> */
    bool has_h;
    char *sm_id;             /* <enabled id=''/> or <resumed previd=''/> */
    bool sm_resume;          /* <enabled resume='true'/> */
    uint32_t sm_max;         /* <enabled max=''/>: resumption window in seconds, 0 if absent */
};

/* Parses one frame data[0..len) into *out (written only on success; otherwise untouched).
 * max_len is the size limit in bytes (0 = STANZA_MAX_DEFAULT).
 *   0                  *out filled; the caller owns it and must call stanza_cleanup()
 *   DBOT_ERR_TOOBIG    longer than max_len
 *   DBOT_ERR_INVALID   nested deeper than STANZA_MAX_DEPTH, not one well-formed element, an
 *                      empty frame, a DTD/PI/comment, or a stanza that breaks
 *                      a rule the session relies on (an iq without id or with a bad type, an
 *                      SM h that is not a 32-bit number, an <a/> without h)
 *   DBOT_ERR_NOMEM
 * The diag says what and where ("line 1 col 12: mismatched tag"), never quoting the input. */
int stanza_parse(const char *data, size_t len, size_t max_len, struct stanza *out,
                 struct dbot_diag *diag);

/* Frees every string of st and zeroes it. NULL-safe; safe on a zeroed struct. */
void stanza_cleanup(struct stanza *st);

/* True if the MUC user extension carried <status code='code'/>. */
bool stanza_has_status(const struct stanza *st, int code);

/* The XEP-0359 stanza id assigned by `by` (compared exactly), or NULL. Borrowed. */
const char *stanza_id_by(const struct stanza *st, const char *by);

/* Static names for logs: "message", "sm-ack", ...; "groupchat", "result", ... */
const char *stanza_kind_name(enum stanza_kind kind);
const char *stanza_type_name(enum stanza_type type);

/* Test hook (cross-file private): fail the allocation after `n` successful ones (parser and
 * expat allocations alike); n < 0 turns failure injection off (the default). Not thread-safe;
 * for unit tests only. */
void stanza__fail_alloc_after(long n);

#endif
