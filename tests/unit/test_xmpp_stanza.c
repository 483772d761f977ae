/*
 * test_xmpp_stanza.c — the RFC 7395 frame parser on Prosody-shaped frames (stream open,
 * features before/after auth, SASL, bind, MUC self-presence, history, errors, XEP-0198), on
 * the trust rules (only direct children; no real JID from messages), and on hostile input
 * (size, depth, DTD/billion laughs, PI, comments, junk) plus an allocation-failure loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat/xmpp/stanza.h"
#include "chat/xmpp/xml.h" /* FORMF_* */

#define S(lit) lit, sizeof(lit) - 1

/* Parses a literal that must succeed. */
static void parse_ok(const char *data, size_t len, struct stanza *st)
{
    struct dbot_diag d = {{0}};
    int rc = stanza_parse(data, len, 0, st, &d);
    if (rc != 0)
        fail_msg("parse failed: %d (%s)", rc, d.msg);
}

static void parse_err(const char *data, size_t len, int want, const char *diag_part)
{
    struct dbot_diag d = {{0}};
    struct stanza st;
    memset(&st, 0xa5, sizeof st); /* must stay untouched */
    struct stanza before = st;
    int rc = stanza_parse(data, len, 0, &st, &d);
    if (rc != want)
        fail_msg("expected %d, got %d (%s)", want, rc, d.msg);
    assert_memory_equal(&st, &before, sizeof st);
    assert_true(d.msg[0] != '\0');
    assert_null(strchr(d.msg, '\n'));
    if (diag_part && !strstr(d.msg, diag_part))
        fail_msg("diag \"%s\" lacks \"%s\"", d.msg, diag_part);
}

/* ---- stream level ---------------------------------------------------------------------- */

static void test_open_close(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='localhost' "
               "id='d2f0c4a1-7b' version='1.0' xml:lang='en'/>"),
             &st);
    assert_int_equal(st.kind, STANZA_OPEN);
    assert_string_equal(st.from, "localhost");
    assert_string_equal(st.id, "d2f0c4a1-7b");
    assert_string_equal(st.lang, "en");
    stanza_cleanup(&st);

    parse_ok(S("<close xmlns=\"urn:ietf:params:xml:ns:xmpp-framing\"/>"), &st);
    assert_int_equal(st.kind, STANZA_CLOSE);
    assert_null(st.text);
    stanza_cleanup(&st);

    parse_ok(S("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' "
               "see-other-uri='wss://other.example/xmpp'/>"),
             &st);
    assert_string_equal(st.text, "wss://other.example/xmpp");
    stanza_cleanup(&st);

    /* An XML declaration is tolerated; leading junk is not. */
    parse_ok(S("<?xml version='1.0'?><open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"), &st);
    assert_int_equal(st.kind, STANZA_OPEN);
    stanza_cleanup(&st);
}

static void test_features_before_auth(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<stream:features xmlns:stream='http://etherx.jabber.org/streams' "
               "xmlns='jabber:client'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
               "<mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism>"
               "<mechanism>X-OAUTH2</mechanism></mechanisms></stream:features>"),
             &st);
    assert_int_equal(st.kind, STANZA_FEATURES);
    assert_int_equal(st.features, FEATURE_SASL);
    assert_int_equal(st.mechanisms, MECH_PLAIN | MECH_SCRAM_SHA_1 | MECH_OTHER);
    assert_string_equal(st.mechanisms_text, "PLAIN SCRAM-SHA-1 X-OAUTH2");
    stanza_cleanup(&st);

    parse_ok(S("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"
               "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
               "<mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-256-PLUS</mechanism>"
               "<mechanism>SCRAM-SHA-1-PLUS</mechanism></mechanisms>"
               "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"),
             &st);
    assert_int_equal(st.features, FEATURE_SASL | FEATURE_STARTTLS);
    assert_int_equal(st.mechanisms,
                     MECH_SCRAM_SHA_256 | MECH_SCRAM_SHA_256_PLUS | MECH_SCRAM_SHA_1_PLUS);
    stanza_cleanup(&st);
}

static void test_features_after_auth(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"
               "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind>"
               "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>"
               "<sm xmlns='urn:xmpp:sm:2'><optional/></sm><sm xmlns='urn:xmpp:sm:3'><optional/></sm>"
               "<csi xmlns='urn:xmpp:csi:0'/>"
               "<ver xmlns='urn:xmpp:features:rosterver'/></stream:features>"),
             &st);
    assert_int_equal(st.features,
                     FEATURE_BIND | FEATURE_SESSION | FEATURE_SESSION_OPTIONAL | FEATURE_SM);
    assert_int_equal(st.mechanisms, 0);
    assert_null(st.mechanisms_text);
    stanza_cleanup(&st);

    /* A mechanisms element in the wrong namespace, or a mechanism nested deeper, is not one. */
    parse_ok(S("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"
               "<mechanisms xmlns='urn:example'><mechanism>PLAIN</mechanism></mechanisms>"
               "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><x>"
               "<mechanism>PLAIN</mechanism></x></mechanisms></stream:features>"),
             &st);
    assert_int_equal(st.mechanisms, 0);
    assert_int_equal(st.features, FEATURE_SASL);
    stanza_cleanup(&st);
}

static void test_stream_error(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<stream:error xmlns:stream='http://etherx.jabber.org/streams'>"
               "<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
               "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by new connection"
               "</text></stream:error>"),
             &st);
    assert_int_equal(st.kind, STANZA_STREAM_ERROR);
    assert_string_equal(st.condition, "conflict");
    assert_string_equal(st.text, "Replaced by new connection");
    stanza_cleanup(&st);
}

/* ---- SASL and bind ----------------------------------------------------------------------- */

static void test_sasl(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
               "cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2oscz1RU1hDUitRNnNlazhiZjkyLGk9NDA5Ng=="
               "</challenge>"),
             &st);
    assert_int_equal(st.kind, STANZA_SASL_CHALLENGE);
    assert_string_equal(st.sasl_data, "cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2oscz1RU1hDUitRNnNlazhiZjkyLGk9NDA5Ng==");
    stanza_cleanup(&st);

    parse_ok(S("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
               "dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9</success>"),
             &st);
    assert_int_equal(st.kind, STANZA_SASL_SUCCESS);
    assert_string_equal(st.sasl_data, "dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9");
    stanza_cleanup(&st);

    parse_ok(S("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), &st);
    assert_int_equal(st.kind, STANZA_SASL_SUCCESS);
    assert_null(st.sasl_data);
    stanza_cleanup(&st);

    parse_ok(S("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/>"
               "<text xml:lang='en'>Invalid username or password</text></failure>"),
             &st);
    assert_int_equal(st.kind, STANZA_SASL_FAILURE);
    assert_string_equal(st.condition, "not-authorized");
    assert_string_equal(st.text, "Invalid username or password");
    stanza_cleanup(&st);
}

static void test_bind_result(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<iq xmlns='jabber:client' type='result' id='bind1'>"
               "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>bot@localhost/dealerbot"
               "</jid></bind></iq>"),
             &st);
    assert_int_equal(st.kind, STANZA_IQ);
    assert_int_equal(st.type, STYPE_RESULT);
    assert_int_equal(st.payload, PAYLOAD_BIND);
    assert_string_equal(st.id, "bind1");
    assert_string_equal(st.bind_jid, "bot@localhost/dealerbot");
    stanza_cleanup(&st);
}

/* ---- iq ----------------------------------------------------------------------------------- */

static void test_iq_ping_and_errors(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<iq xmlns='jabber:client' type='get' id='s2c1' from='localhost' "
               "to='bot@localhost/dealerbot'><ping xmlns='urn:xmpp:ping'/></iq>"),
             &st);
    assert_int_equal(st.type, STYPE_GET);
    assert_int_equal(st.payload, PAYLOAD_PING);
    assert_string_equal(st.from, "localhost");
    stanza_cleanup(&st);

    parse_ok(S("<iq xmlns='jabber:client' type='result' id='ping7' from='localhost' "
               "to='bot@localhost/dealerbot'/>"),
             &st);
    assert_int_equal(st.type, STYPE_RESULT);
    assert_int_equal(st.payload, PAYLOAD_NONE);
    assert_string_equal(st.id, "ping7");
    stanza_cleanup(&st);

    parse_ok(S("<iq xmlns='jabber:client' type='set' id='v1' from='alice@localhost/x'>"
               "<query xmlns='jabber:iq:version'/></iq>"),
             &st);
    assert_int_equal(st.payload, PAYLOAD_OTHER);
    stanza_cleanup(&st);

    parse_ok(S("<iq xmlns='jabber:client' type='error' id='cfg1' "
               "from='dealer-d9@conference.localhost'><query "
               "xmlns='http://jabber.org/protocol/muc#owner'/><error type='auth'><forbidden "
               "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text "
               "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Not an owner</text></error></iq>"),
             &st);
    assert_int_equal(st.type, STYPE_ERROR);
    assert_int_equal(st.payload, PAYLOAD_MUC_OWNER);
    assert_string_equal(st.error_type, "auth");
    assert_string_equal(st.condition, "forbidden");
    assert_string_equal(st.text, "Not an owner");
    stanza_cleanup(&st);

    parse_err(S("<iq xmlns='jabber:client' type='get'><ping xmlns='urn:xmpp:ping'/></iq>"),
              DBOT_ERR_INVALID, "iq without id");
    parse_err(S("<iq xmlns='jabber:client' id='x' type='fetch'/>"), DBOT_ERR_INVALID,
              "unknown type");
    parse_err(S("<iq xmlns='jabber:client' id='x'/>"), DBOT_ERR_INVALID, "type");
}

/* The owner form of a room: which of the fields the bot sets it lists (ejabberd refuses a
 * field it does not list). */
static void test_owner_form_fields(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<iq xmlns='jabber:client' type='result' id='f1' from='r@conference.localhost'>"
               "<query xmlns='http://jabber.org/protocol/muc#owner'>"
               "<x xmlns='jabber:x:data' type='form'><title>Configuration</title>"
               "<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/"
               "muc#roomconfig</value></field>"
               "<field var='muc#roomconfig_roomname' type='text-single'/>"
               "<field var='muc#roomconfig_persistentroom' type='boolean'/>"
               "<field var='muc#roomconfig_membersonly' type='boolean'/>"
               "<field var='muc#roomconfig_whois' type='list-single'><option><value>anyone"
               "</value></option></field><field var='public_list' type='boolean'/>"
               "<field type='fixed'><value>no var</value></field></x>"
               "<x xmlns='jabber:x:data'><field var='muc#roomconfig_allowinvites'/></x>"
               "</query></iq>"),
             &st);
    assert_int_equal(st.payload, PAYLOAD_MUC_OWNER);
    assert_true(st.has_owner_form);
    /* only the first form counts; unknown and var-less fields are ignored */
    assert_int_equal(st.form_fields, FORMF_ROOMNAME | FORMF_PERSISTENT | FORMF_MEMBERSONLY |
                                         FORMF_WHOIS);
    stanza_cleanup(&st);

    parse_ok(S("<iq xmlns='jabber:client' type='result' id='f2' from='r@c'><query "
               "xmlns='http://jabber.org/protocol/muc#owner'/></iq>"),
             &st);
    assert_false(st.has_owner_form);
    assert_int_equal(st.form_fields, 0);
    stanza_cleanup(&st);
    /* a form outside a muc#owner query is not a room form */
    parse_ok(S("<iq xmlns='jabber:client' type='result' id='f3'><query xmlns='jabber:iq:roster'>"
               "<x xmlns='jabber:x:data'><field var='muc#roomconfig_whois'/></x></query></iq>"),
             &st);
    assert_false(st.has_owner_form);
    assert_int_equal(st.form_fields, 0);
    stanza_cleanup(&st);
}

static void test_disco_and_admin_list(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<iq xmlns='jabber:client' type='result' id='d1' "
               "from='dealer-d001@conference.localhost'><query "
               "xmlns='http://jabber.org/protocol/disco#info'><identity category='conference' "
               "type='text' name='dealer-d001'/><feature var='http://jabber.org/protocol/muc'/>"
               "<feature var='muc_persistent'/><feature var='muc_membersonly'/>"
               "<feature var='muc_nonanonymous'/><feature var='muc_hidden'/>"
               "<feature var='muc_unsecured'/><x xmlns='jabber:x:data' type='result'/></query>"
               "</iq>"),
             &st);
    assert_int_equal(st.payload, PAYLOAD_DISCO_INFO);
    assert_int_equal(st.room_features, ROOMF_MUC | ROOMF_PERSISTENT | ROOMF_MEMBERSONLY |
                                           ROOMF_NONANONYMOUS | ROOMF_HIDDEN);
    stanza_cleanup(&st);

    parse_ok(S("<iq xmlns='jabber:client' type='result' id='l1' "
               "from='dealer-d001@conference.localhost'><query "
               "xmlns='http://jabber.org/protocol/muc#admin'>"
               "<item affiliation='member' jid='alice@localhost'/>"
               "<item affiliation='member' jid='bob@localhost' nick='Bob'/>"
               "<item affiliation='member' jid='carol@localhost'/>"
               "<item affiliation='member' jid='dave@localhost'/>"
               "<item affiliation='member' jid='erin@localhost'/>"
               "<item affiliation='member' jid='frank@localhost'/>"
               "<item affiliation='member' jid='grace@localhost'/>"
               "<item affiliation='member' jid='heidi@localhost'/>"
               "<item affiliation='member' jid='ivan@localhost'/>"
               "</query></iq>"),
             &st);
    assert_int_equal(st.payload, PAYLOAD_MUC_ADMIN);
    assert_int_equal(st.n_items, 9);
    assert_string_equal(st.items[0].jid, "alice@localhost");
    assert_string_equal(st.items[1].nick, "Bob");
    assert_string_equal(st.items[8].jid, "ivan@localhost");
    assert_string_equal(st.items[8].affiliation, "member");
    assert_null(st.items[8].role);
    stanza_cleanup(&st);

    /* Room does not exist: disco error. */
    parse_ok(S("<iq xmlns='jabber:client' type='error' id='d2' "
               "from='dealer-new@conference.localhost'><error type='cancel'><item-not-found "
               "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"),
             &st);
    assert_int_equal(st.payload, PAYLOAD_NONE);
    assert_string_equal(st.condition, "item-not-found");
    assert_string_equal(st.error_type, "cancel");
    stanza_cleanup(&st);
}

/* ---- MUC ---------------------------------------------------------------------------------- */

static void test_muc_self_presence(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<presence xmlns='jabber:client' id='join1' "
               "from='dealer-d001@conference.localhost/ComplaintBot' to='bot@localhost/dealerbot'>"
               "<x xmlns='http://jabber.org/protocol/muc#user'><status code='100'/>"
               "<item jid='bot@localhost/dealerbot' affiliation='owner' role='moderator'/>"
               "<status code='110'/><status code='201'/><status code='110'/></x></presence>"),
             &st);
    assert_int_equal(st.kind, STANZA_PRESENCE);
    assert_int_equal(st.type, STYPE_AVAILABLE);
    assert_true(st.has_muc_user);
    assert_string_equal(st.muc_jid, "bot@localhost/dealerbot");
    assert_string_equal(st.muc_affiliation, "owner");
    assert_string_equal(st.muc_role, "moderator");
    assert_int_equal(st.n_muc_status, 3); /* distinct */
    assert_true(stanza_has_status(&st, 110));
    assert_true(stanza_has_status(&st, 201));
    assert_true(stanza_has_status(&st, 100));
    assert_false(stanza_has_status(&st, 307));
    stanza_cleanup(&st);
}

static void test_muc_occupant_presence(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<presence xmlns='jabber:client' from='dealer-d001@conference.localhost/Alice'"
               " to='bot@localhost/dealerbot'><show>away</show><c xmlns='http://jabber.org/"
               "protocol/caps' hash='sha-1' node='x' ver='y'/><x "
               "xmlns='http://jabber.org/protocol/muc#user'><item jid='alice@localhost/phone' "
               "affiliation='member' role='participant'/></x></presence>"),
             &st);
    assert_string_equal(st.muc_jid, "alice@localhost/phone");
    assert_int_equal(st.n_muc_status, 0);
    stanza_cleanup(&st);

    /* Leaving after being removed from the member list (321), with a nick change item. */
    parse_ok(S("<presence xmlns='jabber:client' type='unavailable' "
               "from='dealer-d001@conference.localhost/Alice'><x "
               "xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' "
               "role='none' jid='alice@localhost/phone'/><status code='321'/><status "
               "code='abc'/><status code='99999'/></x></presence>"),
             &st);
    assert_int_equal(st.type, STYPE_UNAVAILABLE);
    assert_int_equal(st.n_muc_status, 1);
    assert_true(stanza_has_status(&st, 321));
    stanza_cleanup(&st);
}

static void test_muc_error_presence(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<presence xmlns='jabber:client' type='error' "
               "from='dealer-d002@conference.localhost/ComplaintBot' to='bot@localhost/dealerbot'>"
               "<error type='auth' by='dealer-d002@conference.localhost'><registration-required "
               "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error><x "
               "xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>"),
             &st);
    assert_int_equal(st.type, STYPE_ERROR);
    assert_string_equal(st.error_type, "auth");
    assert_string_equal(st.condition, "registration-required");
    assert_null(st.text);
    assert_false(st.has_muc_user);
    stanza_cleanup(&st);
}

static void test_groupchat_history(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<message xmlns='jabber:client' type='groupchat' id='c0ffee' "
               "from='dealer-d001@conference.localhost/Alice' to='bot@localhost/dealerbot'>"
               "<body>ack C-42</body><delay xmlns='urn:xmpp:delay' "
               "from='dealer-d001@conference.localhost' stamp='2026-11-23T09:58:01Z'/>"
               "<stanza-id xmlns='urn:xmpp:sid:0' id='sid-7' by='dealer-d001@conference.localhost'/>"
               "</message>"),
             &st);
    assert_int_equal(st.kind, STANZA_MESSAGE);
    assert_int_equal(st.type, STYPE_GROUPCHAT);
    assert_string_equal(st.body, "ack C-42");
    assert_true(st.delayed);
    assert_string_equal(st.delay_stamp, "2026-11-23T09:58:01Z");
    assert_string_equal(stanza_id_by(&st, "dealer-d001@conference.localhost"), "sid-7");
    assert_null(stanza_id_by(&st, "alice@localhost"));
    assert_false(st.has_subject);
    stanza_cleanup(&st);

    /* Legacy delay counts too. */
    parse_ok(S("<message xmlns='jabber:client' type='groupchat' from='r@c.localhost/A'>"
               "<body>old</body><x xmlns='jabber:x:delay' stamp='20261123T09:58:01'/></message>"),
             &st);
    assert_true(st.delayed);
    stanza_cleanup(&st);
}

static void test_groupchat_live_and_echo(void **state)
{
    (void)state;
    struct stanza st;
    /* Our own message reflected by the room: same id and origin-id. */
    parse_ok(S("<message xmlns='jabber:client' type='groupchat' id='out-00042' "
               "from='dealer-d001@conference.localhost/ComplaintBot' "
               "to='bot@localhost/dealerbot'><body>Complaint C-42 is overdue</body>"
               "<origin-id xmlns='urn:xmpp:sid:0' id='out-00042'/>"
               "<stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='bot@localhost'/>"
               "<stanza-id xmlns='urn:xmpp:sid:0' id='room-1' "
               "by='dealer-d001@conference.localhost'/></message>"),
             &st);
    assert_false(st.delayed);
    assert_string_equal(st.id, "out-00042");
    assert_string_equal(st.origin_id, "out-00042");
    assert_int_equal(st.n_sids, 2);
    assert_string_equal(stanza_id_by(&st, "dealer-d001@conference.localhost"), "room-1");
    stanza_cleanup(&st);

    /* The room subject after a join: no body, an empty subject. */
    parse_ok(S("<message xmlns='jabber:client' type='groupchat' "
               "from='dealer-d001@conference.localhost' to='bot@localhost/dealerbot'>"
               "<subject/></message>"),
             &st);
    assert_true(st.has_subject);
    assert_string_equal(st.subject, "");
    assert_null(st.body);
    stanza_cleanup(&st);

    /* A config-change notification: status 104 from the bare room JID. */
    parse_ok(S("<message xmlns='jabber:client' type='groupchat' "
               "from='dealer-d001@conference.localhost'><x "
               "xmlns='http://jabber.org/protocol/muc#user'><status code='104'/></x></message>"),
             &st);
    assert_true(stanza_has_status(&st, 104));
    stanza_cleanup(&st);
}

/* A sender can put anything into a groupchat message and the room relays it verbatim. */
static void test_forged_real_jid_in_message_ignored(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<message xmlns='jabber:client' type='groupchat' "
               "from='dealer-d001@conference.localhost/Mallory'><body>close C-42</body>"
               "<x xmlns='http://jabber.org/protocol/muc#user'><item jid='boss@localhost' "
               "affiliation='owner'/></x>"
               "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'>"
               "<body>inner</body><delay xmlns='urn:xmpp:delay' stamp='x'/></message>"
               "</forwarded></message>"),
             &st);
    assert_true(st.has_muc_user);
    assert_null(st.muc_jid);
    assert_null(st.muc_affiliation);
    assert_string_equal(st.body, "close C-42");
    assert_false(st.delayed);
    stanza_cleanup(&st);
}

static void test_chat_message(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<message xmlns='jabber:client' type='chat' id='dm1' "
               "from='alice@localhost/phone' to='bot@localhost'>"
               "<body>rca C-42: pump &amp; valve &lt;fixed&gt; \xe6\xb0\xb4\xe6\xb3\xb5</body>"
               "<body xml:lang='de'>second</body>"
               "<active xmlns='http://jabber.org/protocol/chatstates'/>"
               "<origin-id xmlns='urn:xmpp:sid:0' id='o-1'/></message>"),
             &st);
    assert_int_equal(st.type, STYPE_CHAT);
    assert_string_equal(st.body, "rca C-42: pump & valve <fixed> \xe6\xb0\xb4\xe6\xb3\xb5");
    assert_string_equal(st.origin_id, "o-1");
    stanza_cleanup(&st);

    /* No type, or an unknown one, means normal (RFC 6121 §5.2.2). A child in a foreign
     * namespace named body is not the body; CDATA is text. */
    parse_ok(S("<message xmlns='jabber:client' type='weird' from='a@b'>"
               "<body xmlns='urn:other'>no</body><body><![CDATA[<yes>]]></body></message>"),
             &st);
    assert_int_equal(st.type, STYPE_NORMAL);
    assert_string_equal(st.type_raw, "weird");
    assert_string_equal(st.body, "<yes>");
    stanza_cleanup(&st);

    /* Text of nested children of <body> is not body text. */
    parse_ok(S("<message xmlns='jabber:client'><body>a<i>b</i>c</body></message>"), &st);
    assert_string_equal(st.body, "ac");
    stanza_cleanup(&st);

    /* Message error (e.g. sent to a room we are not in). */
    parse_ok(S("<message xmlns='jabber:client' type='error' id='out-7' "
               "from='dealer-d3@conference.localhost'><error type='cancel'><not-acceptable "
               "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"),
             &st);
    assert_int_equal(st.type, STYPE_ERROR);
    assert_string_equal(st.condition, "not-acceptable");
    stanza_cleanup(&st);
}

static void test_invite_received(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<message xmlns='jabber:client' from='room@conference.localhost'><x "
               "xmlns='http://jabber.org/protocol/muc#user'><invite from='alice@localhost/x'>"
               "<reason>join us</reason></invite></x></message>"),
             &st);
    assert_true(st.has_muc_invite);
    assert_string_equal(st.invite_from, "alice@localhost/x");
    stanza_cleanup(&st);
}

/* ---- stream management ------------------------------------------------------------------- */

static void test_sm(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<enabled xmlns='urn:xmpp:sm:3' id='c2d1-a9' resume='true' max='600'/>"), &st);
    assert_int_equal(st.kind, STANZA_SM_ENABLED);
    assert_string_equal(st.sm_id, "c2d1-a9");
    assert_true(st.sm_resume);
    assert_int_equal(st.sm_max, 600);
    stanza_cleanup(&st);

    parse_ok(S("<enabled xmlns='urn:xmpp:sm:3'/>"), &st);
    assert_false(st.sm_resume);
    assert_null(st.sm_id);
    stanza_cleanup(&st);

    parse_ok(S("<a xmlns='urn:xmpp:sm:3' h='4294967295'/>"), &st);
    assert_int_equal(st.kind, STANZA_SM_ACK);
    assert_true(st.has_h);
    assert_int_equal(st.sm_h, 4294967295u);
    stanza_cleanup(&st);

    parse_ok(S("<r xmlns='urn:xmpp:sm:3'/>"), &st);
    assert_int_equal(st.kind, STANZA_SM_REQUEST);
    stanza_cleanup(&st);

    parse_ok(S("<resumed xmlns='urn:xmpp:sm:3' previd='c2d1-a9' h='42'/>"), &st);
    assert_int_equal(st.kind, STANZA_SM_RESUMED);
    assert_string_equal(st.sm_id, "c2d1-a9");
    assert_int_equal(st.sm_h, 42);
    stanza_cleanup(&st);

    parse_ok(S("<failed xmlns='urn:xmpp:sm:3' h='7'><item-not-found "
               "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"),
             &st);
    assert_int_equal(st.kind, STANZA_SM_FAILED);
    assert_string_equal(st.condition, "item-not-found");
    assert_true(st.has_h);
    assert_int_equal(st.sm_h, 7);
    stanza_cleanup(&st);

    parse_ok(S("<failed xmlns='urn:xmpp:sm:3'><unexpected-request "
               "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"),
             &st);
    assert_false(st.has_h);
    stanza_cleanup(&st);

    parse_err(S("<a xmlns='urn:xmpp:sm:3'/>"), DBOT_ERR_INVALID, "without h");
    parse_err(S("<a xmlns='urn:xmpp:sm:3' h='4294967296'/>"), DBOT_ERR_INVALID, "32-bit");
    parse_err(S("<a xmlns='urn:xmpp:sm:3' h='-1'/>"), DBOT_ERR_INVALID, "32-bit");
    parse_err(S("<a xmlns='urn:xmpp:sm:3' h=''/>"), DBOT_ERR_INVALID, "32-bit");
    parse_err(S("<a xmlns='urn:xmpp:sm:3' h='00000000001'/>"), DBOT_ERR_INVALID, "32-bit");
    parse_err(S("<resumed xmlns='urn:xmpp:sm:3' previd='x'/>"), DBOT_ERR_INVALID, "without h");

    /* <a/> in another namespace is not an ack. */
    parse_ok(S("<a xmlns='urn:xmpp:sm:2' h='1'/>"), &st);
    assert_int_equal(st.kind, STANZA_UNKNOWN);
    stanza_cleanup(&st);
}

static void test_unknown_elements(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<message xmlns='jabber:server' from='a@b'><body>s2s</body></message>"), &st);
    assert_int_equal(st.kind, STANZA_UNKNOWN);
    assert_null(st.body);
    stanza_cleanup(&st);

    parse_ok(S("<stream:features xmlns:stream='urn:not-streams'/>"), &st);
    assert_int_equal(st.kind, STANZA_UNKNOWN);
    stanza_cleanup(&st);

    /* No namespace at all is treated as jabber:client. */
    parse_ok(S("<presence/>"), &st);
    assert_int_equal(st.kind, STANZA_PRESENCE);
    stanza_cleanup(&st);
}

/* ---- hostile input ----------------------------------------------------------------------- */

static void test_size_limit(void **state)
{
    (void)state;
    size_t n = STANZA_MAX_DEFAULT + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    const char *head = "<message xmlns='jabber:client'><body>";
    const char *tail = "</body></message>";
    memset(big, 'x', n);
    memcpy(big, head, strlen(head));
    memcpy(big + n - strlen(tail), tail, strlen(tail));
    parse_err(big, n, DBOT_ERR_TOOBIG, "limit");

    /* One byte less fits the default limit. */
    struct stanza st;
    memcpy(big + n - 1 - strlen(tail), tail, strlen(tail));
    parse_ok(big, n - 1, &st);
    assert_int_equal(strlen(st.body), n - 1 - strlen(head) - strlen(tail));
    stanza_cleanup(&st);

    /* A configurable limit. */
    struct dbot_diag d;
    const char small[] = "<r xmlns='urn:xmpp:sm:3'/>";
    assert_int_equal(stanza_parse(small, sizeof small - 1, 10, &st, &d), DBOT_ERR_TOOBIG);
    assert_int_equal(stanza_parse(small, sizeof small - 1, sizeof small - 1, &st, &d), 0);
    stanza_cleanup(&st);
    free(big);
}

static char *nested(int depth)
{
    size_t cap = (size_t)depth * 8 + 64;
    char *s = malloc(cap);
    size_t o = 0;
    o += (size_t)snprintf(s + o, cap - o, "<message xmlns='jabber:client'>");
    for (int i = 1; i < depth; i++)
        o += (size_t)snprintf(s + o, cap - o, "<x>");
    for (int i = 1; i < depth; i++)
        o += (size_t)snprintf(s + o, cap - o, "</x>");
    snprintf(s + o, cap - o, "</message>");
    return s;
}

static void test_depth_limit(void **state)
{
    (void)state;
    char *ok = nested(STANZA_MAX_DEPTH);
    struct stanza st;
    parse_ok(ok, strlen(ok), &st);
    stanza_cleanup(&st);
    char *deep = nested(STANZA_MAX_DEPTH + 1);
    parse_err(deep, strlen(deep), DBOT_ERR_INVALID, "nested");
    char *very = nested(5000);
    parse_err(very, strlen(very), DBOT_ERR_INVALID, "nested");
    free(ok);
    free(deep);
    free(very);
}

static void test_dtd_and_friends_rejected(void **state)
{
    (void)state;
    parse_err(S("<!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol1 "
                "'&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'><!ENTITY lol2 "
                "'&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>]>"
                "<message xmlns='jabber:client'><body>&lol2;</body></message>"),
              DBOT_ERR_INVALID, "document type");
    parse_err(S("<!DOCTYPE message SYSTEM 'file:///etc/passwd'><message/>"), DBOT_ERR_INVALID,
              "document type");
    parse_err(S("<message xmlns='jabber:client'><body>&xxe;</body></message>"),
              DBOT_ERR_INVALID, "undefined entity");
    parse_err(S("<message xmlns='jabber:client'><?evil x?></message>"), DBOT_ERR_INVALID,
              "processing instruction");
    parse_err(S("<message xmlns='jabber:client'><!-- hi --></message>"), DBOT_ERR_INVALID,
              "comment");
}

static void test_malformed_rejected(void **state)
{
    (void)state;
    parse_err(S(""), DBOT_ERR_INVALID, "empty");
    parse_err(S("   "), DBOT_ERR_INVALID, "line 1");
    parse_err(S("<message>"), DBOT_ERR_INVALID, NULL);
    parse_err(S("<message></presence>"), DBOT_ERR_INVALID, "mismatched tag");
    parse_err(S("<r xmlns='urn:xmpp:sm:3'/><r xmlns='urn:xmpp:sm:3'/>"), DBOT_ERR_INVALID,
              "junk after document element");
    parse_err(S("<a xmlns='urn:xmpp:sm:3' h='1' h='2'/>"), DBOT_ERR_INVALID, "duplicate");
    parse_err(S("<message xmlns='jabber:client'><body>\xff\xfe</body></message>"),
              DBOT_ERR_INVALID, NULL);
    parse_err(S("<message><body>a\0b</body></message>"), DBOT_ERR_INVALID, NULL);
    parse_err(S("<message><body>&#1;</body></message>"), DBOT_ERR_INVALID, NULL);
    parse_err(S("<x:message xmlns='jabber:client'/>"), DBOT_ERR_INVALID, "unbound prefix");
    /* UTF-16 claimed in the declaration is ignored: the frame is read as UTF-8. */
    struct stanza st;
    parse_ok(S("<?xml version='1.0' encoding='UTF-16'?><r xmlns='urn:xmpp:sm:3'/>"), &st);
    assert_int_equal(st.kind, STANZA_SM_REQUEST);
    stanza_cleanup(&st);
}

/* Every allocation of a rich frame can fail; each failure is NOMEM, leaks nothing (ASan/LSan
 * would say), and leaves the output untouched. */
static void test_alloc_failures(void **state)
{
    (void)state;
    static const char *frames[] = {
        "<message xmlns='jabber:client' type='groupchat' id='c0ffee' "
        "from='dealer-d001@conference.localhost/Alice' to='bot@localhost/dealerbot' xml:lang='en'>"
        "<body>ack C-42</body><subject>s</subject><delay xmlns='urn:xmpp:delay' stamp='t'/>"
        "<origin-id xmlns='urn:xmpp:sid:0' id='o'/>"
        "<stanza-id xmlns='urn:xmpp:sid:0' id='sid-7' by='dealer-d001@conference.localhost'/>"
        "<x xmlns='http://jabber.org/protocol/muc#user'><status code='104'/></x>"
        "<error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text "
        "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>t</text></error></message>",
        "<presence xmlns='jabber:client' from='r@c/n'><x "
        "xmlns='http://jabber.org/protocol/muc#user'><item jid='a@b/c' affiliation='member' "
        "role='participant' nick='n'/><status code='110'/></x></presence>",
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms "
        "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism><mechanism>"
        "SCRAM-SHA-1</mechanism></mechanisms><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
        "</stream:features>",
        "<iq xmlns='jabber:client' type='result' id='l1'><query "
        "xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='a@b'/>"
        "<item affiliation='member' jid='c@d'/><item jid='e@f' role='r' nick='n'/><item/>"
        "<item/><item/><item/><item/><item/><item/></query></iq>",
        "<iq xmlns='jabber:client' type='result' id='b'><bind "
        "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>a@b/c</jid></bind></iq>",
        "<enabled xmlns='urn:xmpp:sm:3' id='x' resume='true'/>",
        "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>dj1ybUY5cHFWOFM3c3VBb1pX</success>",
        "<message xmlns='urn:a-namespace-longer-than-two-hundred-and-fifty-six-characters-"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'/>",
    };
    for (size_t f = 0; f < sizeof frames / sizeof frames[0]; f++) {
        bool succeeded = false;
        for (long n = 0; n < 500 && !succeeded; n++) {
            struct stanza st;
            struct dbot_diag d = {{0}};
            memset(&st, 0x5a, sizeof st);
            stanza__fail_alloc_after(n);
            int rc = stanza_parse(frames[f], strlen(frames[f]), 0, &st, &d);
            stanza__fail_alloc_after(-1);
            if (rc == 0) {
                succeeded = true;
                stanza_cleanup(&st);
            } else {
                if (rc != DBOT_ERR_NOMEM)
                    fail_msg("frame %zu, fail at %ld: got %d (%s)", f, n, rc, d.msg);
                for (size_t i = 0; i < sizeof st; i++)
                    assert_int_equal(((unsigned char *)&st)[i], 0x5a);
            }
        }
        assert_true(succeeded);
    }
}


static void test_adhoc_command(void **state)
{
    (void)state;
    struct stanza st;
    parse_ok(S("<iq xmlns='jabber:client' type='set' id='c1' from='wang@localhost/g' "
               "to='dealerbot@localhost/bot'><command xmlns='http://jabber.org/protocol/commands' "
               "node='close' action='complete' sessionid='s1'><x xmlns='jabber:x:data' "
               "type='submit'><field var='ticket'><value>C-7</value></field>"
               "<field var='cause'><value>line one</value><value>line two</value></field>"
               "<field var='fix'/><field><value>no var</value></field>"
               "<field var='ticket'><value>C-8</value></field></x>"
               "<x xmlns='jabber:x:data' type='submit'><field var='prevent'><value>x</value>"
               "</field></x></command></iq>"),
             &st);
    assert_int_equal(st.payload, PAYLOAD_COMMAND);
    assert_string_equal(st.node, "close");
    assert_string_equal(st.cmd_action, "complete");
    assert_string_equal(st.cmd_sessionid, "s1");
    assert_true(st.has_form);
    assert_string_equal(st.form_type, "submit");
    assert_int_equal(st.n_fields, 3); /* no var: skipped; a second ticket: the first kept;
                                         a second form: ignored */
    assert_string_equal(st.fields[0].var, "ticket");
    assert_string_equal(st.fields[0].value, "C-7");
    assert_string_equal(st.fields[1].value, "line one\nline two"); /* text-multi */
    assert_string_equal(st.fields[2].var, "fix");
    assert_null(st.fields[2].value);
    stanza_cleanup(&st);

    /* more fields than kept: the rest are ignored, nothing leaks */
    char big[4096] = "<iq type='set' id='c2'><command xmlns='http://jabber.org/protocol/commands' "
                     "node='ack'><x xmlns='jabber:x:data' type='submit'>";
    for (int i = 0; i < STANZA_MAX_FIELDS + 5; i++) {
        char f[64];
        snprintf(f, sizeof f, "<field var='f%d'><value>%d</value></field>", i, i);
        strcat(big, f);
    }
    strcat(big, "</x></command></iq>");
    parse_ok(big, strlen(big), &st);
    assert_int_equal(st.n_fields, STANZA_MAX_FIELDS);
    stanza_cleanup(&st);

    /* the node of a disco query */
    parse_ok(S("<iq type='get' id='d1'><query xmlns='http://jabber.org/protocol/disco#items' "
               "node='http://jabber.org/protocol/commands'/></iq>"),
             &st);
    assert_int_equal(st.payload, PAYLOAD_DISCO_ITEMS);
    assert_string_equal(st.node, "http://jabber.org/protocol/commands");
    stanza_cleanup(&st);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(stanza_kind_name(STANZA_SM_ACK), "sm-ack");
    assert_string_equal(stanza_kind_name(STANZA_MESSAGE), "message");
    assert_string_equal(stanza_type_name(STYPE_GROUPCHAT), "groupchat");
    stanza_cleanup(NULL);
    struct stanza zero;
    memset(&zero, 0, sizeof zero);
    stanza_cleanup(&zero);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_close),
        cmocka_unit_test(test_features_before_auth),
        cmocka_unit_test(test_features_after_auth),
        cmocka_unit_test(test_stream_error),
        cmocka_unit_test(test_sasl),
        cmocka_unit_test(test_bind_result),
        cmocka_unit_test(test_iq_ping_and_errors),
        cmocka_unit_test(test_disco_and_admin_list),
        cmocka_unit_test(test_owner_form_fields),
        cmocka_unit_test(test_muc_self_presence),
        cmocka_unit_test(test_muc_occupant_presence),
        cmocka_unit_test(test_muc_error_presence),
        cmocka_unit_test(test_groupchat_history),
        cmocka_unit_test(test_groupchat_live_and_echo),
        cmocka_unit_test(test_forged_real_jid_in_message_ignored),
        cmocka_unit_test(test_chat_message),
        cmocka_unit_test(test_invite_received),
        cmocka_unit_test(test_sm),
        cmocka_unit_test(test_unknown_elements),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_dtd_and_friends_rejected),
        cmocka_unit_test(test_malformed_rejected),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_adhoc_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
