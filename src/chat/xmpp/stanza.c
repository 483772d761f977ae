/*
 * stanza.c — one RFC 7395 frame in, one struct stanza out; see stanza.h.
 *
 * How it works. expat runs in namespace mode, so every element name arrives as
 * "namespace-uri local-name" (or a bare local name) and we never look at prefixes. We keep a
 * small stack with one "context" per open element. The top-level element decides the kind
 * and its own context; every child's context is decided from its parent's context and its
 * (namespace, name) — so a <body> is recognised only directly under a <message>, a
 * <mechanism> only under <mechanisms> under <stream:features>, and anything we do not know
 * gets CTX_IGNORE, which makes its whole subtree invisible. Text is collected only for the
 * one element whose text we want (at most one at a time, since those have no interpreted
 * children), and only for character data directly inside it.
 *
 * Any failure inside a handler records the error and calls XML_StopParser(); every handler
 * returns at once once an error is recorded, because expat may still deliver a callback or
 * two after a stop.
 */
#include "chat/xmpp/stanza.h"

#include <expat.h>
#include <stdlib.h>
#include <string.h>

#include "chat/xmpp/xml.h" /* XMLNS_* */

#define XMLNS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define XMLNS_ROSTER "jabber:iq:roster"
#define XMLNS_XML "http://www.w3.org/XML/1998/namespace"

/* ------------------------------------------------------------------------------------------
 * Allocation, with a failure-injection hook for the unit tests' allocation-failure loop.
 */

static long fail_after = -1;

void stanza__fail_alloc_after(long n)
{
    fail_after = n;
}

static bool inject_failure(void)
{
    if (fail_after < 0)
        return false;
    if (fail_after == 0)
        return true;
    fail_after--;
    return false;
}

static void *xmalloc(size_t n)
{
    return inject_failure() ? NULL : malloc(n);
}

static void *xrealloc(void *p, size_t n)
{
    return inject_failure() ? NULL : realloc(p, n);
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static const XML_Memory_Handling_Suite mem_suite = {xmalloc, xrealloc, free};

/* ------------------------------------------------------------------------------------------
 * Parser state
 */

enum ctx {
    CTX_IGNORE = 0,
    /* top-level elements */
    CTX_ROOT_OTHER,     /* interpreted by attributes only (open, close, sm, features...) */
    CTX_MESSAGE,
    CTX_PRESENCE,
    CTX_IQ,
    CTX_FEATURES,
    CTX_STREAM_ERROR,
    CTX_SASL_PAYLOAD,   /* <challenge>/<success>: text is the payload */
    CTX_SASL_FAILURE,
    CTX_SM_FAILED,
    /* children */
    CTX_BODY,
    CTX_SUBJECT,
    CTX_ERROR,          /* stanza <error> */
    CTX_ERROR_TEXT,     /* <text> of any error flavour */
    CTX_MUC_USER,
    CTX_MECHANISMS,
    CTX_MECHANISM,
    CTX_SESSION,
    CTX_BIND,
    CTX_BIND_JID,
    CTX_DISCO_INFO,
    CTX_ADMIN_QUERY,
    CTX_COMMAND,        /* XEP-0050 <command> */
    CTX_FORM,           /* its XEP-0004 <x> */
    CTX_FIELD,          /* a <field> of that form (field index in cur_field) */
    CTX_FIELD_VALUE,    /* its first <value> */
    CTX_OWNER_QUERY,    /* muc#owner <query> */
    CTX_OWNER_FORM,     /* its jabber:x:data <x> */
};

struct tbuf {
    char *s;
    size_t len, cap;
};

struct pstate {
    XML_Parser xp;
    struct stanza *st;
    struct dbot_diag *diag;
    int err;
    int depth;                          /* open elements; the top-level one is depth 1 */
    enum ctx ctx[STANZA_MAX_DEPTH + 1]; /* ctx[d] is the context of the open element at d */
    int collect_depth;                  /* depth whose direct text we collect, 0 = none */
    struct tbuf text;
    bool iq_payload_seen;
    bool muc_item_seen;
    bool form_seen;
    int cur_field;                      /* index into st->fields of the open <field>, or -1 */
    size_t items_cap;
};

/* Records the first error (with a line/column prefix) and stops expat. */
static void stop(struct pstate *p, int err, const char *what)
{
    if (p->err)
        return;
    p->err = err;
    dbot_diag_set(p->diag, err, "line %lu col %lu: %s",
                  (unsigned long)XML_GetCurrentLineNumber(p->xp),
                  (unsigned long)XML_GetCurrentColumnNumber(p->xp) + 1, what);
    XML_StopParser(p->xp, XML_FALSE);
}

static void nomem(struct pstate *p)
{
    stop(p, DBOT_ERR_NOMEM, "out of memory");
}

/* *dst = copy of s unless *dst is already set (first one wins). */
static void keep(struct pstate *p, char **dst, const char *s)
{
    if (!s || *dst || p->err)
        return;
    *dst = xstrndup(s, strlen(s));
    if (!*dst)
        nomem(p);
}

static const char *attr(const XML_Char **attrs, const char *name)
{
    for (size_t i = 0; attrs[i]; i += 2)
        if (strcmp(attrs[i], name) == 0)
            return attrs[i + 1];
    return NULL;
}

/* Parses a decimal uint32 (digits only, at most 10, <= 4294967295). */
static bool parse_u32(const char *s, uint32_t *out)
{
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    size_t n = 0;
    for (; *s; s++, n++) {
        if (*s < '0' || *s > '9' || n >= 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool is(const char *ns, const char *local, const char *want_ns, const char *want_local)
{
    return strcmp(ns, want_ns) == 0 && strcmp(local, want_local) == 0;
}

/* ------------------------------------------------------------------------------------------
 * Text collection
 */

static void text_start(struct pstate *p)
{
    p->collect_depth = p->depth;
    p->text.len = 0;
}

static void on_chars(void *ud, const XML_Char *s, int len)
{
    struct pstate *p = ud;
    if (p->err || p->collect_depth != p->depth || len <= 0)
        return;
    struct tbuf *t = &p->text;
    size_t n = (size_t)len;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *ns = xrealloc(t->s, cap);
        if (!ns) {
            nomem(p);
            return;
        }
        t->s = ns;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static const char *text_str(struct pstate *p)
{
    return p->text.len ? p->text.s : "";
}

static void add_mechanism(struct pstate *p, const char *name)
{
    static const struct {
        const char *name;
        unsigned bit;
    } known[] = {
        {"PLAIN", MECH_PLAIN},
        {"SCRAM-SHA-1", MECH_SCRAM_SHA_1},
        {"SCRAM-SHA-1-PLUS", MECH_SCRAM_SHA_1_PLUS},
        {"SCRAM-SHA-256", MECH_SCRAM_SHA_256},
        {"SCRAM-SHA-256-PLUS", MECH_SCRAM_SHA_256_PLUS},
    };
    struct stanza *st = p->st;
    unsigned bit = MECH_OTHER;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(name, known[i].name) == 0)
            bit = known[i].bit;
    st->mechanisms |= bit;
    if (!*name)
        return;
    size_t old = st->mechanisms_text ? strlen(st->mechanisms_text) : 0;
    size_t add = strlen(name);
    char *s = xrealloc(st->mechanisms_text, old + add + 2);
    if (!s) {
        nomem(p);
        return;
    }
    if (old)
        s[old++] = ' ';
    memcpy(s + old, name, add + 1);
    st->mechanisms_text = s;
}

/* The element at p->depth whose text we collected is closing. */
/* A <value> of a form field: the first one, or the next line of a multi-line field
 * (XEP-0004 sends text-multi as one <value> per line). */
static void add_value(struct pstate *p, struct stanza_field *f, const char *t)
{
    size_t old = f->value ? strlen(f->value) : 0, n = strlen(t);
    char *v = xrealloc(f->value, old + (f->value ? 1 : 0) + n + 1);
    if (!v) {
        nomem(p);
        return;
    }
    if (f->value)
        v[old++] = '\n';
    memcpy(v + old, t, n + 1);
    f->value = v;
}

static void text_end(struct pstate *p)
{
    struct stanza *st = p->st;
    const char *t = text_str(p);
    switch (p->ctx[p->depth]) {
    case CTX_BODY: keep(p, &st->body, t); break;
    case CTX_SUBJECT: keep(p, &st->subject, t); break;
    case CTX_ERROR_TEXT: keep(p, &st->text, t); break;
    case CTX_BIND_JID: keep(p, &st->bind_jid, t); break;
    case CTX_FIELD_VALUE:
        if (p->cur_field >= 0)
            add_value(p, &st->fields[p->cur_field], t);
        break;
    case CTX_MECHANISM: add_mechanism(p, t); break;
    case CTX_SASL_PAYLOAD:
        if (p->text.len)
            keep(p, &st->sasl_data, t);
        break;
    default: break;
    }
    p->collect_depth = 0;
}

/* ------------------------------------------------------------------------------------------
 * Top-level element
 */

static enum stanza_type decode_type(enum stanza_kind kind, const char *t)
{
    static const struct {
        const char *name;
        enum stanza_type type;
    } names[] = {
        {"get", STYPE_GET},           {"set", STYPE_SET},
        {"result", STYPE_RESULT},     {"error", STYPE_ERROR},
        {"normal", STYPE_NORMAL},     {"chat", STYPE_CHAT},
        {"groupchat", STYPE_GROUPCHAT}, {"headline", STYPE_HEADLINE},
        {"unavailable", STYPE_UNAVAILABLE}, {"subscribe", STYPE_SUBSCRIBE},
        {"subscribed", STYPE_SUBSCRIBED}, {"unsubscribe", STYPE_UNSUBSCRIBE},
        {"unsubscribed", STYPE_UNSUBSCRIBED}, {"probe", STYPE_PROBE},
    };
    enum stanza_type found = STYPE_OTHER;
    if (t)
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(t, names[i].name) == 0)
                found = names[i].type;
    switch (kind) {
    case STANZA_IQ:
        return found >= STYPE_GET && found <= STYPE_ERROR ? found : STYPE_OTHER;
    case STANZA_MESSAGE:
        if (found == STYPE_ERROR || (found >= STYPE_NORMAL && found <= STYPE_HEADLINE))
            return found;
        return STYPE_NORMAL; /* RFC 6121 §5.2.2 */
    case STANZA_PRESENCE:
        if (!t)
            return STYPE_AVAILABLE;
        if (found == STYPE_ERROR || (found >= STYPE_UNAVAILABLE && found <= STYPE_PROBE))
            return found;
        return STYPE_OTHER;
    default:
        return t ? STYPE_OTHER : STYPE_NONE;
    }
}

static void routing_attrs(struct pstate *p, const XML_Char **attrs)
{
    struct stanza *st = p->st;
    keep(p, &st->from, attr(attrs, "from"));
    keep(p, &st->to, attr(attrs, "to"));
    keep(p, &st->id, attr(attrs, "id"));
    keep(p, &st->type_raw, attr(attrs, "type"));
    keep(p, &st->lang, attr(attrs, XMLNS_XML " lang"));
}

static void sm_h(struct pstate *p, const XML_Char **attrs, bool required)
{
    const char *h = attr(attrs, "h");
    if (!h) {
        if (required)
            stop(p, DBOT_ERR_INVALID, "stream management element without h");
        return;
    }
    if (!parse_u32(h, &p->st->sm_h)) {
        stop(p, DBOT_ERR_INVALID, "stream management h is not a 32-bit number");
        return;
    }
    p->st->has_h = true;
}

static enum ctx root(struct pstate *p, const char *ns, const char *local, const XML_Char **attrs)
{
    struct stanza *st = p->st;
    bool client_ns = strcmp(ns, XMLNS_CLIENT) == 0 || *ns == '\0';

    if (client_ns && (strcmp(local, "message") == 0 || strcmp(local, "presence") == 0 ||
                      strcmp(local, "iq") == 0)) {
        st->kind = local[0] == 'm' ? STANZA_MESSAGE
                   : local[0] == 'p' ? STANZA_PRESENCE
                                     : STANZA_IQ;
        routing_attrs(p, attrs);
        st->type = decode_type(st->kind, attr(attrs, "type"));
        return st->kind == STANZA_MESSAGE ? CTX_MESSAGE
               : st->kind == STANZA_PRESENCE ? CTX_PRESENCE
                                             : CTX_IQ;
    }
    if (strcmp(ns, XMLNS_FRAMING) == 0) {
        if (strcmp(local, "open") == 0) {
            st->kind = STANZA_OPEN;
            routing_attrs(p, attrs);
        } else if (strcmp(local, "close") == 0) {
            st->kind = STANZA_CLOSE;
            keep(p, &st->text, attr(attrs, "see-other-uri"));
        }
        return CTX_ROOT_OTHER;
    }
    if (is(ns, local, XMLNS_STREAM, "features")) {
        st->kind = STANZA_FEATURES;
        return CTX_FEATURES;
    }
    if (is(ns, local, XMLNS_STREAM, "error")) {
        st->kind = STANZA_STREAM_ERROR;
        return CTX_STREAM_ERROR;
    }
    if (strcmp(ns, XMLNS_SASL) == 0) {
        if (strcmp(local, "challenge") == 0 || strcmp(local, "success") == 0) {
            st->kind = local[0] == 'c' ? STANZA_SASL_CHALLENGE : STANZA_SASL_SUCCESS;
            text_start(p);
            return CTX_SASL_PAYLOAD;
        }
        if (strcmp(local, "failure") == 0) {
            st->kind = STANZA_SASL_FAILURE;
            return CTX_SASL_FAILURE;
        }
        return CTX_ROOT_OTHER;
    }
    if (strcmp(ns, XMLNS_SM) == 0) {
        if (strcmp(local, "enabled") == 0) {
            st->kind = STANZA_SM_ENABLED;
            keep(p, &st->sm_id, attr(attrs, "id"));
            const char *r = attr(attrs, "resume");
            st->sm_resume = r && (strcmp(r, "true") == 0 || strcmp(r, "1") == 0);
            const char *max = attr(attrs, "max");
            if (max && !parse_u32(max, &st->sm_max))
                st->sm_max = 0; /* advisory only: a bad value is not worth failing over */
        } else if (strcmp(local, "resumed") == 0) {
            st->kind = STANZA_SM_RESUMED;
            keep(p, &st->sm_id, attr(attrs, "previd"));
            sm_h(p, attrs, true);
        } else if (strcmp(local, "failed") == 0) {
            st->kind = STANZA_SM_FAILED;
            sm_h(p, attrs, false);
            return CTX_SM_FAILED;
        } else if (strcmp(local, "a") == 0) {
            st->kind = STANZA_SM_ACK;
            sm_h(p, attrs, true);
        } else if (strcmp(local, "r") == 0) {
            st->kind = STANZA_SM_REQUEST;
        }
        return CTX_ROOT_OTHER;
    }
    return CTX_IGNORE; /* STANZA_UNKNOWN */
}

/* ------------------------------------------------------------------------------------------
 * Children
 */

static void add_status(struct pstate *p, const char *code)
{
    struct stanza *st = p->st;
    uint32_t v;
    if (!parse_u32(code, &v) || v < 100 || v > 999)
        return; /* not a status code: ignore rather than reject the whole presence */
    for (size_t i = 0; i < st->n_muc_status; i++)
        if (st->muc_status[i] == v)
            return;
    if (st->n_muc_status < STANZA_MAX_STATUS)
        st->muc_status[st->n_muc_status++] = (uint16_t)v;
}

static void add_sid(struct pstate *p, const XML_Char **attrs)
{
    struct stanza *st = p->st;
    const char *id = attr(attrs, "id"), *by = attr(attrs, "by");
    if (!id || !by || st->n_sids >= STANZA_MAX_IDS)
        return;
    struct stanza_sid *s = &st->sids[st->n_sids];
    keep(p, &s->id, id);
    keep(p, &s->by, by);
    st->n_sids++; /* counted even on NOMEM so stanza_cleanup frees the half */
}

static void add_item(struct pstate *p, const XML_Char **attrs)
{
    struct stanza *st = p->st;
    if (st->n_items == p->items_cap) {
        size_t cap = p->items_cap ? p->items_cap * 2 : 8;
        struct stanza_item *ni = xrealloc(st->items, cap * sizeof *ni);
        if (!ni) {
            nomem(p);
            return;
        }
        st->items = ni;
        p->items_cap = cap;
    }
    struct stanza_item *it = &st->items[st->n_items++];
    memset(it, 0, sizeof *it);
    keep(p, &it->jid, attr(attrs, "jid"));
    keep(p, &it->affiliation, attr(attrs, "affiliation"));
    keep(p, &it->role, attr(attrs, "role"));
    keep(p, &it->nick, attr(attrs, "nick"));
}

/* A <field var=''> of a submitted form: a new slot (CTX_FIELD), or CTX_IGNORE for a field
 * without var, a var seen before, or one over STANZA_MAX_FIELDS. */
static enum ctx add_field(struct pstate *p, const char *var)
{
    struct stanza *st = p->st;
    p->cur_field = -1;
    if (!var || st->n_fields == STANZA_MAX_FIELDS)
        return CTX_IGNORE;
    for (size_t i = 0; i < st->n_fields; i++)
        if (strcmp(st->fields[i].var, var) == 0)
            return CTX_IGNORE;
    char *v = xstrndup(var, strlen(var));
    if (!v) {
        nomem(p);
        return CTX_IGNORE;
    }
    st->fields[st->n_fields] = (struct stanza_field){.var = v};
    p->cur_field = (int)st->n_fields++;
    return CTX_FIELD;
}

/* A field of a room configuration form: only the ones the bot sets are remembered. */
static void add_form_field(struct pstate *p, const char *var)
{
    static const struct {
        const char *var;
        unsigned bit;
    } known[] = {
        {"muc#roomconfig_roomname", FORMF_ROOMNAME},
        {"muc#roomconfig_roomdesc", FORMF_ROOMDESC},
        {"muc#roomconfig_persistentroom", FORMF_PERSISTENT},
        {"muc#roomconfig_membersonly", FORMF_MEMBERSONLY},
        {"muc#roomconfig_whois", FORMF_WHOIS},
        {"muc#roomconfig_publicroom", FORMF_PUBLIC},
        {"muc#roomconfig_allowinvites", FORMF_ALLOWINVITES},
    };
    if (!var)
        return;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(var, known[i].var) == 0)
            p->st->form_fields |= known[i].bit;
}

static void add_room_feature(struct pstate *p, const char *var)
{
    static const struct {
        const char *var;
        unsigned bit;
    } known[] = {
        {"muc_persistent", ROOMF_PERSISTENT},     {"muc_temporary", ROOMF_TEMPORARY},
        {"muc_membersonly", ROOMF_MEMBERSONLY},   {"muc_open", ROOMF_OPEN},
        {"muc_nonanonymous", ROOMF_NONANONYMOUS}, {"muc_semianonymous", ROOMF_SEMIANONYMOUS},
        {"muc_public", ROOMF_PUBLIC},             {"muc_hidden", ROOMF_HIDDEN},
        {"muc_passwordprotected", ROOMF_PASSWORD}, {"muc_moderated", ROOMF_MODERATED},
        {XMLNS_MUC, ROOMF_MUC},
    };
    if (!var)
        return;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(var, known[i].var) == 0)
            p->st->room_features |= known[i].bit;
}

static enum stanza_payload payload_of(const char *ns)
{
    static const struct {
        const char *ns;
        enum stanza_payload payload;
    } known[] = {
        {XMLNS_PING, PAYLOAD_PING},           {XMLNS_BIND, PAYLOAD_BIND},
        {XMLNS_SESSION, PAYLOAD_SESSION},     {XMLNS_DISCO_INFO, PAYLOAD_DISCO_INFO},
        {XMLNS_DISCO_ITEMS, PAYLOAD_DISCO_ITEMS}, {XMLNS_MUC_OWNER, PAYLOAD_MUC_OWNER},
        {XMLNS_MUC_ADMIN, PAYLOAD_MUC_ADMIN}, {XMLNS_ROSTER, PAYLOAD_ROSTER},
        {XMLNS_COMMANDS, PAYLOAD_COMMAND},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(ns, known[i].ns) == 0)
            return known[i].payload;
    return PAYLOAD_OTHER;
}

/* An error-ish container's child: a <text> or a defined condition in namespace cond_ns. */
static enum ctx error_child(struct pstate *p, const char *ns, const char *local,
                            const char *cond_ns)
{
    if (strcmp(ns, cond_ns) != 0)
        return CTX_IGNORE; /* application-specific condition */
    if (strcmp(local, "text") == 0) {
        if (!p->st->text)
            text_start(p);
        return CTX_ERROR_TEXT;
    }
    keep(p, &p->st->condition, local);
    return CTX_IGNORE;
}

/* A direct child of <message> or <presence>. */
static enum ctx stanza_child(struct pstate *p, const char *ns, const char *local,
                             const XML_Char **attrs, bool is_message)
{
    struct stanza *st = p->st;
    bool client_ns = strcmp(ns, XMLNS_CLIENT) == 0 || *ns == '\0';

    if (client_ns && strcmp(local, "error") == 0) {
        keep(p, &st->error_type, attr(attrs, "type"));
        return CTX_ERROR;
    }
    if (is(ns, local, XMLNS_MUC_USER, "x")) {
        st->has_muc_user = true;
        return CTX_MUC_USER;
    }
    if (is(ns, local, XMLNS_DELAY, "delay") || is(ns, local, XMLNS_DELAY_LEGACY, "x")) {
        st->delayed = true;
        keep(p, &st->delay_stamp, attr(attrs, "stamp"));
        return CTX_IGNORE;
    }
    if (!is_message)
        return CTX_IGNORE;
    if (client_ns && strcmp(local, "body") == 0) {
        if (!st->body)
            text_start(p);
        return CTX_BODY;
    }
    if (client_ns && strcmp(local, "subject") == 0) {
        if (!st->has_subject)
            text_start(p);
        st->has_subject = true;
        return CTX_SUBJECT;
    }
    if (is(ns, local, XMLNS_SID, "origin-id")) {
        keep(p, &st->origin_id, attr(attrs, "id"));
        return CTX_IGNORE;
    }
    if (is(ns, local, XMLNS_SID, "stanza-id")) {
        add_sid(p, attrs);
        return CTX_IGNORE;
    }
    return CTX_IGNORE;
}

static enum ctx child(struct pstate *p, enum ctx parent, const char *ns, const char *local,
                      const XML_Char **attrs)
{
    struct stanza *st = p->st;
    switch (parent) {
    case CTX_MESSAGE:
        return stanza_child(p, ns, local, attrs, true);
    case CTX_PRESENCE:
        return stanza_child(p, ns, local, attrs, false);
    case CTX_IQ:
        if ((strcmp(ns, XMLNS_CLIENT) == 0 || *ns == '\0') && strcmp(local, "error") == 0) {
            keep(p, &st->error_type, attr(attrs, "type"));
            return CTX_ERROR;
        }
        if (p->iq_payload_seen)
            return CTX_IGNORE;
        p->iq_payload_seen = true;
        st->payload = payload_of(ns);
        if (st->payload == PAYLOAD_BIND && strcmp(local, "bind") == 0)
            return CTX_BIND;
        if ((st->payload == PAYLOAD_DISCO_INFO || st->payload == PAYLOAD_DISCO_ITEMS) &&
            strcmp(local, "query") == 0)
            keep(p, &st->node, attr(attrs, "node"));
        if (st->payload == PAYLOAD_DISCO_INFO && strcmp(local, "query") == 0)
            return CTX_DISCO_INFO;
        if (st->payload == PAYLOAD_COMMAND && strcmp(local, "command") == 0) {
            keep(p, &st->node, attr(attrs, "node"));
            keep(p, &st->cmd_action, attr(attrs, "action"));
            keep(p, &st->cmd_sessionid, attr(attrs, "sessionid"));
            return CTX_COMMAND;
        }
        if (st->payload == PAYLOAD_MUC_ADMIN && strcmp(local, "query") == 0)
            return CTX_ADMIN_QUERY;
        if (st->payload == PAYLOAD_MUC_OWNER && strcmp(local, "query") == 0)
            return CTX_OWNER_QUERY;
        return CTX_IGNORE;
    case CTX_ERROR:
        return error_child(p, ns, local, XMLNS_STANZAS);
    case CTX_STREAM_ERROR:
        return error_child(p, ns, local, XMLNS_STREAMS);
    case CTX_SASL_FAILURE:
        return error_child(p, ns, local, XMLNS_SASL);
    case CTX_SM_FAILED:
        return error_child(p, ns, local, XMLNS_STANZAS);
    case CTX_MUC_USER:
        if (strcmp(ns, XMLNS_MUC_USER) != 0)
            return CTX_IGNORE;
        if (strcmp(local, "status") == 0) {
            add_status(p, attr(attrs, "code"));
        } else if (strcmp(local, "item") == 0 && st->kind == STANZA_PRESENCE &&
                   !p->muc_item_seen) {
            p->muc_item_seen = true;
            keep(p, &st->muc_jid, attr(attrs, "jid"));
            keep(p, &st->muc_affiliation, attr(attrs, "affiliation"));
            keep(p, &st->muc_role, attr(attrs, "role"));
            keep(p, &st->muc_nick, attr(attrs, "nick"));
        } else if (strcmp(local, "invite") == 0 && st->kind == STANZA_MESSAGE) {
            st->has_muc_invite = true;
            keep(p, &st->invite_from, attr(attrs, "from"));
        }
        return CTX_IGNORE;
    case CTX_FEATURES:
        if (is(ns, local, XMLNS_SASL, "mechanisms")) {
            st->features |= FEATURE_SASL;
            return CTX_MECHANISMS;
        }
        if (is(ns, local, XMLNS_BIND, "bind"))
            st->features |= FEATURE_BIND;
        else if (is(ns, local, XMLNS_SM, "sm"))
            st->features |= FEATURE_SM;
        else if (is(ns, local, XMLNS_TLS, "starttls"))
            st->features |= FEATURE_STARTTLS;
        else if (is(ns, local, XMLNS_SESSION, "session")) {
            st->features |= FEATURE_SESSION;
            return CTX_SESSION;
        }
        return CTX_IGNORE;
    case CTX_MECHANISMS:
        if (is(ns, local, XMLNS_SASL, "mechanism")) {
            text_start(p);
            return CTX_MECHANISM;
        }
        return CTX_IGNORE;
    case CTX_SESSION:
        if (is(ns, local, XMLNS_SESSION, "optional"))
            st->features |= FEATURE_SESSION_OPTIONAL;
        return CTX_IGNORE;
    case CTX_BIND:
        if (is(ns, local, XMLNS_BIND, "jid") && !st->bind_jid) {
            text_start(p);
            return CTX_BIND_JID;
        }
        return CTX_IGNORE;
    case CTX_DISCO_INFO:
        if (is(ns, local, XMLNS_DISCO_INFO, "feature"))
            add_room_feature(p, attr(attrs, "var"));
        return CTX_IGNORE;
    case CTX_ADMIN_QUERY:
        if (is(ns, local, XMLNS_MUC_ADMIN, "item"))
            add_item(p, attrs);
        return CTX_IGNORE;
    case CTX_COMMAND:
        if (is(ns, local, XMLNS_DATA, "x") && !p->form_seen) {
            p->form_seen = true;
            st->has_form = true;
            keep(p, &st->form_type, attr(attrs, "type"));
            return CTX_FORM;
        }
        return CTX_IGNORE;
    case CTX_FORM:
        if (is(ns, local, XMLNS_DATA, "field"))
            return add_field(p, attr(attrs, "var"));
        return CTX_IGNORE;
    case CTX_FIELD:
        if (is(ns, local, XMLNS_DATA, "value") && p->cur_field >= 0) {
            text_start(p);
            return CTX_FIELD_VALUE;
        }
        return CTX_IGNORE;
    case CTX_OWNER_QUERY:
        if (is(ns, local, XMLNS_DATA, "x") && !st->has_owner_form) {
            st->has_owner_form = true;
            return CTX_OWNER_FORM;
        }
        return CTX_IGNORE;
    case CTX_OWNER_FORM:
        if (is(ns, local, XMLNS_DATA, "field"))
            add_form_field(p, attr(attrs, "var"));
        return CTX_IGNORE;
    default:
        return CTX_IGNORE;
    }
}

/* ------------------------------------------------------------------------------------------
 * expat callbacks
 */

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct pstate *p = ud;
    if (p->err)
        return;
    if (p->depth >= STANZA_MAX_DEPTH) {
        stop(p, DBOT_ERR_INVALID, "elements nested more than 32 deep");
        return;
    }
    p->depth++;

    /* "uri local" or "local": a local name never contains the separator. */
    char nsbuf[256];
    const char *local = name, *ns = "";
    char *heap_ns = NULL;
    const char *sep = strrchr(name, ' ');
    if (sep) {
        size_t nl = (size_t)(sep - name);
        local = sep + 1;
        if (nl < sizeof nsbuf) {
            memcpy(nsbuf, name, nl);
            nsbuf[nl] = '\0';
            ns = nsbuf;
        } else {
            heap_ns = xstrndup(name, nl);
            if (!heap_ns) {
                nomem(p);
                return;
            }
            ns = heap_ns;
        }
    }

    enum ctx c = p->depth == 1 ? root(p, ns, local, attrs)
                               : child(p, p->ctx[p->depth - 1], ns, local, attrs);
    p->ctx[p->depth] = c;
    free(heap_ns);
}

static void on_end(void *ud, const XML_Char *name)
{
    struct pstate *p = ud;
    (void)name;
    if (p->err)
        return;
    if (p->collect_depth == p->depth)
        text_end(p);
    p->depth--;
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                       const XML_Char *pubid, int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    stop(ud, DBOT_ERR_INVALID, "document type declaration not allowed");
}

static void on_entity_decl(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                           int value_len, const XML_Char *base, const XML_Char *sysid,
                           const XML_Char *pubid, const XML_Char *notation)
{
    (void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid;
    (void)pubid, (void)notation;
    stop(ud, DBOT_ERR_INVALID, "entity declaration not allowed");
}

static void on_pi(void *ud, const XML_Char *target, const XML_Char *data)
{
    (void)target, (void)data;
    stop(ud, DBOT_ERR_INVALID, "processing instruction not allowed");
}

static void on_comment(void *ud, const XML_Char *data)
{
    (void)data;
    stop(ud, DBOT_ERR_INVALID, "comment not allowed");
}

/* ------------------------------------------------------------------------------------------
 * Entry points
 */

/* Rules the session relies on, checked once the element is complete. */
static int validate(struct stanza *st, struct dbot_diag *diag)
{
    if (st->kind == STANZA_IQ) {
        if (!st->id || !*st->id)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "iq without id");
        if (st->type == STYPE_OTHER)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "iq with missing or unknown type");
    }
    return 0;
}

int stanza_parse(const char *data, size_t len, size_t max_len, struct stanza *out,
                 struct dbot_diag *diag)
{
    if (!max_len)
        max_len = STANZA_MAX_DEFAULT;
    if (len > max_len)
        return dbot_diag_set(diag, DBOT_ERR_TOOBIG, "frame of %zu bytes exceeds the %zu-byte limit",
                             len, max_len);
    if (len == 0)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "empty frame");
    if (len > (size_t)INT32_MAX)
        return dbot_diag_set(diag, DBOT_ERR_TOOBIG, "frame too large");

    struct stanza st;
    memset(&st, 0, sizeof st);
    struct pstate p;
    memset(&p, 0, sizeof p);
    p.st = &st;
    p.diag = diag;
    p.cur_field = -1;

    /* Forcing UTF-8 overrides whatever an XML declaration claims. */
    p.xp = XML_ParserCreate_MM("UTF-8", &mem_suite, " ");
    if (!p.xp)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    XML_SetUserData(p.xp, &p);
    XML_SetElementHandler(p.xp, on_start, on_end);
    XML_SetCharacterDataHandler(p.xp, on_chars);
    XML_SetStartDoctypeDeclHandler(p.xp, on_doctype);
    XML_SetEntityDeclHandler(p.xp, on_entity_decl);
    XML_SetProcessingInstructionHandler(p.xp, on_pi);
    XML_SetCommentHandler(p.xp, on_comment);
    XML_SetParamEntityParsing(p.xp, XML_PARAM_ENTITY_PARSING_NEVER);

    int rc = 0;
    if (XML_Parse(p.xp, data, (int)len, XML_TRUE) != XML_STATUS_OK) {
        if (p.err) {
            rc = p.err;
        } else {
            enum XML_Error e = XML_GetErrorCode(p.xp);
            rc = e == XML_ERROR_NO_MEMORY ? DBOT_ERR_NOMEM : DBOT_ERR_INVALID;
            dbot_diag_set(diag, rc, "line %lu col %lu: %s",
                          (unsigned long)XML_GetCurrentLineNumber(p.xp),
                          (unsigned long)XML_GetCurrentColumnNumber(p.xp) + 1,
                          XML_ErrorString(e));
        }
    } else if (p.err) {
        rc = p.err; /* cannot happen: a stop makes XML_Parse fail; kept for safety */
    } else {
        rc = validate(&st, diag);
    }
    XML_ParserFree(p.xp);
    free(p.text.s);
    if (rc != 0) {
        stanza_cleanup(&st);
        return rc;
    }
    *out = st;
    return 0;
}

void stanza_cleanup(struct stanza *st)
{
    if (!st)
        return;
    char **strings[] = {
        &st->type_raw, &st->from, &st->to, &st->id, &st->lang, &st->error_type,
        &st->condition, &st->text, &st->body, &st->subject, &st->delay_stamp, &st->origin_id,
        &st->muc_jid, &st->muc_affiliation, &st->muc_role, &st->muc_nick, &st->invite_from,
        &st->bind_jid, &st->mechanisms_text, &st->sasl_data, &st->sm_id, &st->node,
        &st->cmd_action, &st->cmd_sessionid, &st->form_type,
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        free(*strings[i]);
    for (size_t i = 0; i < st->n_sids; i++) {
        free(st->sids[i].id);
        free(st->sids[i].by);
    }
    for (size_t i = 0; i < st->n_items; i++) {
        free(st->items[i].jid);
        free(st->items[i].affiliation);
        free(st->items[i].role);
        free(st->items[i].nick);
    }
    free(st->items);
    for (size_t i = 0; i < st->n_fields; i++) {
        free(st->fields[i].var);
        free(st->fields[i].value);
    }
    memset(st, 0, sizeof *st);
}

bool stanza_has_status(const struct stanza *st, int code)
{
    for (size_t i = 0; i < st->n_muc_status; i++)
        if (st->muc_status[i] == code)
            return true;
    return false;
}

const char *stanza_id_by(const struct stanza *st, const char *by)
{
    if (!by)
        return NULL;
    for (size_t i = 0; i < st->n_sids; i++)
        if (st->sids[i].by && st->sids[i].id && strcmp(st->sids[i].by, by) == 0)
            return st->sids[i].id;
    return NULL;
}

const char *stanza_kind_name(enum stanza_kind kind)
{
    switch (kind) {
    case STANZA_UNKNOWN: return "unknown";
    case STANZA_OPEN: return "open";
    case STANZA_CLOSE: return "close";
    case STANZA_FEATURES: return "features";
    case STANZA_STREAM_ERROR: return "stream-error";
    case STANZA_SASL_CHALLENGE: return "sasl-challenge";
    case STANZA_SASL_SUCCESS: return "sasl-success";
    case STANZA_SASL_FAILURE: return "sasl-failure";
    case STANZA_IQ: return "iq";
    case STANZA_MESSAGE: return "message";
    case STANZA_PRESENCE: return "presence";
    case STANZA_SM_ENABLED: return "sm-enabled";
    case STANZA_SM_RESUMED: return "sm-resumed";
    case STANZA_SM_FAILED: return "sm-failed";
    case STANZA_SM_ACK: return "sm-ack";
    case STANZA_SM_REQUEST: return "sm-request";
    }
    return "?";
}

const char *stanza_type_name(enum stanza_type type)
{
    switch (type) {
    case STYPE_NONE: return "none";
    case STYPE_GET: return "get";
    case STYPE_SET: return "set";
    case STYPE_RESULT: return "result";
    case STYPE_ERROR: return "error";
    case STYPE_NORMAL: return "normal";
    case STYPE_CHAT: return "chat";
    case STYPE_GROUPCHAT: return "groupchat";
    case STYPE_HEADLINE: return "headline";
    case STYPE_AVAILABLE: return "available";
    case STYPE_UNAVAILABLE: return "unavailable";
    case STYPE_SUBSCRIBE: return "subscribe";
    case STYPE_SUBSCRIBED: return "subscribed";
    case STYPE_UNSUBSCRIBE: return "unsubscribe";
    case STYPE_UNSUBSCRIBED: return "unsubscribed";
    case STYPE_PROBE: return "probe";
    case STYPE_OTHER: return "other";
    }
    return "?";
}
