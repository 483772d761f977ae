/*
 * test_xmpp_xml.c — the XML writer and frame builders: exact output of every builder,
 * escaping of every value, illegal characters (text replaced, attributes refused), the size
 * limit, LWS_PRE headroom, and round trips through stanza_parse() (build then parse gives the
 * same text back, Chinese and <script>&"' included).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat/xmpp/stanza.h"
#include "chat/xmpp/xml.h"

static struct xml_buf buf;

static int setup(void **state)
{
    (void)state;
    xml_buf_init(&buf, 0, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    xml_buf_cleanup(&buf);
    return 0;
}

#define EXPECT(call, text)                                                                     \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        if (rc_ != 0)                                                                          \
            fail_msg("%s failed: %d", #call, rc_);                                             \
        assert_string_equal(xml_buf_data(&buf), text);                                         \
        assert_int_equal(xml_buf_len(&buf), strlen(text));                                     \
    } while (0)

static void parse_built(struct stanza *st)
{
    struct dbot_diag d = {{0}};
    int rc = stanza_parse(xml_buf_data(&buf), xml_buf_len(&buf), 0, st, &d);
    if (rc != 0)
        fail_msg("built frame does not parse: %d (%s): %s", rc, d.msg, xml_buf_data(&buf));
}

/* ---- builders: exact bytes ---------------------------------------------------------------- */

static void test_stream_builders(void **state)
{
    (void)state;
    EXPECT(xml_build_open(&buf, "localhost"),
           "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>");
    EXPECT(xml_build_close(&buf), "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    EXPECT(xml_build_presence(&buf), "<presence/>");
    assert_int_equal(xml_build_open(&buf, ""), DBOT_ERR_INVALID);
    assert_int_equal(xml_build_open(&buf, NULL), DBOT_ERR_INVALID);
    /* After a failure the buffer is usable again. */
    EXPECT(xml_build_presence(&buf), "<presence/>");
}

static void test_sasl_builders(void **state)
{
    (void)state;
    EXPECT(xml_build_sasl_auth(&buf, "SCRAM-SHA-1", "biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM"),
           "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>"
           "biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM</auth>");
    EXPECT(xml_build_sasl_auth(&buf, "PLAIN", ""),
           "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>=</auth>");
    EXPECT(xml_build_sasl_auth(&buf, "EXTERNAL", NULL),
           "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'/>");
    EXPECT(xml_build_sasl_response(&buf, "Yz1iaXdz"),
           "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>Yz1iaXdz</response>");
    EXPECT(xml_build_sasl_response(&buf, ""),
           "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>=</response>");
    EXPECT(xml_build_sasl_abort(&buf), "<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    assert_int_equal(xml_build_sasl_auth(&buf, "scram' x='1", "a"), DBOT_ERR_INVALID);
    assert_int_equal(xml_build_sasl_response(&buf, NULL), DBOT_ERR_INVALID);
}

static void test_bind_builders(void **state)
{
    (void)state;
    EXPECT(xml_build_bind(&buf, "bind1", "dealerbot"),
           "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
           "<resource>dealerbot</resource></bind></iq>");
    EXPECT(xml_build_bind(&buf, "bind2", NULL),
           "<iq type='set' id='bind2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
    EXPECT(xml_build_session(&buf, "s1"),
           "<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
    assert_int_equal(xml_build_bind(&buf, NULL, "r"), DBOT_ERR_INVALID);
}

static void test_muc_presence_builders(void **state)
{
    (void)state;
    EXPECT(xml_build_muc_join(&buf, "dealer-d001@conference.localhost", "ComplaintBot", "j1"),
           "<presence to='dealer-d001@conference.localhost/ComplaintBot' id='j1'>"
           "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>");
    EXPECT(xml_build_muc_join(&buf, "staff@conference.localhost", "Bot's <nick>", NULL),
           "<presence to='staff@conference.localhost/Bot&apos;s &lt;nick&gt;'>"
           "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>");
    EXPECT(xml_build_muc_leave(&buf, "staff@conference.localhost", "Bot"),
           "<presence to='staff@conference.localhost/Bot' type='unavailable'/>");
    assert_int_equal(xml_build_muc_join(&buf, "r@c/x", "n", NULL), DBOT_ERR_INVALID);
    assert_int_equal(xml_build_muc_join(&buf, "r@c", "", NULL), DBOT_ERR_INVALID);
}

static void test_message_builders(void **state)
{
    (void)state;
    EXPECT(xml_build_message(&buf, XML_MSG_GROUPCHAT, "dealer-d001@conference.localhost",
                             "out-42", "Complaint C-42 is overdue"),
           "<message to='dealer-d001@conference.localhost' type='groupchat' id='out-42'>"
           "<body>Complaint C-42 is overdue</body>"
           "<origin-id xmlns='urn:xmpp:sid:0' id='out-42'/></message>");
    EXPECT(xml_build_message(&buf, XML_MSG_CHAT, "alice@localhost", "dm-1", ""),
           "<message to='alice@localhost' type='chat' id='dm-1'><body/>"
           "<origin-id xmlns='urn:xmpp:sid:0' id='dm-1'/></message>");
    assert_int_equal(xml_build_message(&buf, XML_MSG_CHAT, "a@b", NULL, "x"), DBOT_ERR_INVALID);
    assert_int_equal(xml_build_message(&buf, XML_MSG_CHAT, "a@b", "i", NULL), DBOT_ERR_INVALID);
    assert_int_equal(xml_build_message(&buf, (enum xml_msg_type)7, "a@b", "i", "x"),
                     DBOT_ERR_INVALID);
}

static void test_room_admin_builders(void **state)
{
    (void)state;
    struct xml_room_config cfg;
    xml_room_config_default(&cfg);
    EXPECT(xml_build_muc_config_submit(&buf, "cfg1", "dealer-d001@conference.localhost", &cfg),
           "<iq type='set' to='dealer-d001@conference.localhost' id='cfg1'>"
           "<query xmlns='http://jabber.org/protocol/muc#owner'>"
           "<x xmlns='jabber:x:data' type='submit'>"
           "<field var='FORM_TYPE' type='hidden'>"
           "<value>http://jabber.org/protocol/muc#roomconfig</value></field>"
           "<field var='muc#roomconfig_persistentroom'><value>1</value></field>"
           "<field var='muc#roomconfig_membersonly'><value>1</value></field>"
           "<field var='muc#roomconfig_whois'><value>anyone</value></field>"
           "<field var='muc#roomconfig_publicroom'><value>0</value></field>"
           "<field var='muc#roomconfig_allowinvites'><value>0</value></field>"
           "</x></query></iq>");
    cfg.name = "Dealer D001 & Co";
    cfg.description = "\xe7\xbb\x8f\xe9\x94\x80\xe5\x95\x86"; /* 经销商 */
    cfg.whois_anyone = false;
    assert_int_equal(xml_build_muc_config_submit(&buf, "cfg2", "r@c", &cfg), 0);
    assert_non_null(strstr(xml_buf_data(&buf), "<field var='muc#roomconfig_roomname'><value>"
                                               "Dealer D001 &amp; Co</value></field>"));
    assert_non_null(strstr(xml_buf_data(&buf), "<value>\xe7\xbb\x8f\xe9\x94\x80\xe5\x95\x86"));
    assert_non_null(strstr(xml_buf_data(&buf), "<value>moderators</value>"));
    assert_int_equal(xml_build_muc_config_submit(&buf, "c", "r@c", NULL), DBOT_ERR_INVALID);
    /* only the fields the server's own form listed */
    xml_room_config_default(&cfg);
    cfg.name = "N";
    cfg.only_listed = true;
    cfg.fields = FORMF_PERSISTENT | FORMF_WHOIS;
    EXPECT(xml_build_muc_config_submit(&buf, "cfg3", "r@c", &cfg),
           "<iq type='set' to='r@c' id='cfg3'>"
           "<query xmlns='http://jabber.org/protocol/muc#owner'>"
           "<x xmlns='jabber:x:data' type='submit'>"
           "<field var='FORM_TYPE' type='hidden'>"
           "<value>http://jabber.org/protocol/muc#roomconfig</value></field>"
           "<field var='muc#roomconfig_persistentroom'><value>1</value></field>"
           "<field var='muc#roomconfig_whois'><value>anyone</value></field>"
           "</x></query></iq>");

    EXPECT(xml_build_muc_config_get(&buf, "g1", "r@c"),
           "<iq type='get' to='r@c' id='g1'><query "
           "xmlns='http://jabber.org/protocol/muc#owner'/></iq>");

    EXPECT(xml_build_muc_affiliation(&buf, "a1", "dealer-d001@conference.localhost",
                                     "alice@localhost", "member", NULL),
           "<iq type='set' to='dealer-d001@conference.localhost' id='a1'>"
           "<query xmlns='http://jabber.org/protocol/muc#admin'>"
           "<item affiliation='member' jid='alice@localhost'/></query></iq>");
    EXPECT(xml_build_muc_affiliation(&buf, "a2", "r@c", "bob@localhost", "none",
                                     "left the dealer"),
           "<iq type='set' to='r@c' id='a2'><query xmlns='http://jabber.org/protocol/muc#admin'>"
           "<item affiliation='none' jid='bob@localhost'><reason>left the dealer</reason>"
           "</item></query></iq>");
    assert_int_equal(xml_build_muc_affiliation(&buf, "a3", "r@c", "b@l", "king", NULL),
                     DBOT_ERR_INVALID);
    assert_int_equal(xml_build_muc_affiliation(&buf, "a3", "r@c", NULL, "member", NULL),
                     DBOT_ERR_INVALID);

    EXPECT(xml_build_muc_affiliation_list(&buf, "l1", "r@c", "member"),
           "<iq type='get' to='r@c' id='l1'><query xmlns='http://jabber.org/protocol/muc#admin'>"
           "<item affiliation='member'/></query></iq>");
    assert_int_equal(xml_build_muc_affiliation_list(&buf, "l2", "r@c", "none"),
                     DBOT_ERR_INVALID);

    EXPECT(xml_build_muc_invite(&buf, "inv1", "dealer-d001@conference.localhost",
                                "dealer.alice@localhost", "Complaint C-42"),
           "<message to='dealer-d001@conference.localhost' id='inv1'>"
           "<x xmlns='http://jabber.org/protocol/muc#user'><invite to='dealer.alice@localhost'>"
           "<reason>Complaint C-42</reason></invite></x></message>");
    EXPECT(xml_build_muc_invite(&buf, NULL, "r@c", "a@b", NULL),
           "<message to='r@c'><x xmlns='http://jabber.org/protocol/muc#user'>"
           "<invite to='a@b'/></x></message>");
}

static void test_iq_builders(void **state)
{
    (void)state;
    EXPECT(xml_build_disco_info(&buf, "d1", "dealer-d001@conference.localhost"),
           "<iq type='get' to='dealer-d001@conference.localhost' id='d1'>"
           "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    EXPECT(xml_build_ping(&buf, "p1", "localhost"),
           "<iq type='get' to='localhost' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
    EXPECT(xml_build_ping(&buf, "p2", NULL),
           "<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
    EXPECT(xml_build_iq_result(&buf, "s2c1", "localhost"),
           "<iq type='result' to='localhost' id='s2c1'/>");
    EXPECT(xml_build_iq_error(&buf, "v1", "alice@localhost/x", "cancel", "service-unavailable"),
           "<iq type='error' to='alice@localhost/x' id='v1'><error type='cancel'>"
           "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
    assert_int_equal(xml_build_iq_error(&buf, "v1", NULL, "cancel", "bad cond"),
                     DBOT_ERR_INVALID);
}

static void test_sm_builders(void **state)
{
    (void)state;
    EXPECT(xml_build_sm_enable(&buf), "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    EXPECT(xml_build_sm_resume(&buf, "c2d1-a9", 4294967295u),
           "<resume xmlns='urn:xmpp:sm:3' previd='c2d1-a9' h='4294967295'/>");
    EXPECT(xml_build_sm_ack(&buf, 0), "<a xmlns='urn:xmpp:sm:3' h='0'/>");
    EXPECT(xml_build_sm_request(&buf), "<r xmlns='urn:xmpp:sm:3'/>");
    assert_int_equal(xml_build_sm_resume(&buf, "", 1), DBOT_ERR_INVALID);
}

/* ---- escaping and round trips ------------------------------------------------------------- */

static void test_escaping_exact(void **state)
{
    (void)state;
    EXPECT(xml_build_message(&buf, XML_MSG_CHAT, "a@b", "x'\"<>&",
                             "<script>&\"'</script>\ttab\nline\rcr"),
           "<message to='a@b' type='chat' id='x&apos;&quot;&lt;&gt;&amp;'>"
           "<body>&lt;script&gt;&amp;&quot;&apos;&lt;/script&gt;\ttab\nline&#13;cr</body>"
           "<origin-id xmlns='urn:xmpp:sid:0' id='x&apos;&quot;&lt;&gt;&amp;'/></message>");
    /* Whitespace in attribute values becomes character references. */
    EXPECT(xml_build_muc_leave(&buf, "r@c", "a\tb\nc\rd"),
           "<presence to='r@c/a&#9;b&#10;c&#13;d' type='unavailable'/>");
}

static void roundtrip(const char *body, const char *id, const char *to)
{
    assert_int_equal(xml_build_message(&buf, XML_MSG_GROUPCHAT, to, id, body), 0);
    struct stanza st;
    parse_built(&st);
    assert_int_equal(st.kind, STANZA_MESSAGE);
    assert_int_equal(st.type, STYPE_GROUPCHAT);
    assert_string_equal(st.body, body);
    assert_string_equal(st.id, id);
    assert_string_equal(st.origin_id, id);
    assert_string_equal(st.to, to);
    stanza_cleanup(&st);
}

static void test_roundtrip(void **state)
{
    (void)state;
    roundtrip("<script>&\"'</script>", "id-<&>\"'", "dealer-d001@conference.localhost");
    roundtrip("\xe6\x8a\x95\xe8\xaf\x89 C-42\xef\xbc\x9a\xe6\xb0\xb4\xe6\xb3\xb5\xe6\xbc\x8f\xe6"
              "\xb0\xb4\xef\xbc\x8c\xe8\xaf\xb7\xe5\xa4\x84\xe7\x90\x86\xe3\x80\x82",
              "\xe7\xbc\x96\xe5\x8f\xb7-1", "\xe7\xbb\x8f\xe9\x94\x80\xe5\x95\x86@conference.localhost");
    roundtrip("emoji \xf0\x9f\x9a\x97 and U+FFFD \xef\xbf\xbd", "e1", "r@c");
    roundtrip("tabs\tnewlines\nCR\r\nCRLF and ]]> and &amp; literally", "w1", "r@c");
    roundtrip("", "empty", "r@c");
    roundtrip("  leading and trailing spaces  ", "s1", "r@c");
    /* Attributes keep whitespace exactly, despite attribute-value normalisation. */
    roundtrip("b", "id\twith\nws\r", "r@c");

    /* MUC join presence and invite parse back. */
    assert_int_equal(xml_build_muc_join(&buf, "r@c", "\xe6\x9c\xba\xe5\x99\xa8\xe4\xba\xba",
                                        "j<1>"), 0);
    struct stanza st;
    parse_built(&st);
    assert_int_equal(st.kind, STANZA_PRESENCE);
    assert_string_equal(st.to, "r@c/\xe6\x9c\xba\xe5\x99\xa8\xe4\xba\xba");
    assert_string_equal(st.id, "j<1>");
    stanza_cleanup(&st);

    assert_int_equal(xml_build_muc_affiliation_list(&buf, "l&1", "r@c", "member"), 0);
    parse_built(&st);
    assert_int_equal(st.type, STYPE_GET);
    assert_int_equal(st.payload, PAYLOAD_MUC_ADMIN);
    assert_int_equal(st.n_items, 1);
    assert_string_equal(st.items[0].affiliation, "member");
    assert_string_equal(st.id, "l&1");
    stanza_cleanup(&st);

    assert_int_equal(xml_build_sm_ack(&buf, 123456), 0);
    parse_built(&st);
    assert_int_equal(st.kind, STANZA_SM_ACK);
    assert_int_equal(st.sm_h, 123456);
    stanza_cleanup(&st);
}

static void test_illegal_chars(void **state)
{
    (void)state;
    struct stanza st;
    /* Text: control characters and bad UTF-8 become U+FFFD; the frame stays well-formed. */
    assert_int_equal(xml_build_message(&buf, XML_MSG_CHAT, "a@b", "i",
                                       "bell\x07 esc\x1b ff\x0c bad\xff\xfe trunc\xe6\xb0 "
                                       "surrogate\xed\xa0\x80 overlong\xc0\xaf fffe\xef\xbf\xbe"),
                     0);
    parse_built(&st);
    assert_string_equal(st.body, "bell\xef\xbf\xbd esc\xef\xbf\xbd ff\xef\xbf\xbd bad\xef\xbf\xbd"
                                 "\xef\xbf\xbd trunc\xef\xbf\xbd\xef\xbf\xbd "
                                 "surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                                 "overlong\xef\xbf\xbd\xef\xbf\xbd fffe\xef\xbf\xbd");
    stanza_cleanup(&st);
    /* DEL is legal XML 1.0 and kept. */
    roundtrip("del\x7f", "d", "r@c");

    /* Attributes: refused. */
    assert_int_equal(xml_build_message(&buf, XML_MSG_CHAT, "a\x01@b", "i", "x"),
                     DBOT_ERR_INVALID);
    assert_int_equal(xml_build_message(&buf, XML_MSG_CHAT, "a@b", "i\xff", "x"),
                     DBOT_ERR_INVALID);
    assert_int_equal(xml_build_muc_join(&buf, "r@c", "nick\xef\xbf\xbf", NULL),
                     DBOT_ERR_INVALID);
}

static void test_size_limit(void **state)
{
    (void)state;
    struct xml_buf small;
    xml_buf_init(&small, 0, 128);
    assert_int_equal(xml_build_message(&small, XML_MSG_CHAT, "a@b", "i", "short"), 0);
    char body[40];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    assert_int_equal(xml_build_message(&small, XML_MSG_CHAT, "a@b", "i", body), DBOT_ERR_TOOBIG);
    /* Exactly at the limit is fine, one byte more is not. */
    xml_buf_cleanup(&small);
    const char *exact = "<message to='a@b' type='chat' id='i'><body>x</body>"
                        "<origin-id xmlns='urn:xmpp:sid:0' id='i'/></message>";
    xml_buf_init(&small, 0, strlen(exact));
    assert_int_equal(xml_build_message(&small, XML_MSG_CHAT, "a@b", "i", "x"), 0);
    assert_string_equal(xml_buf_data(&small), exact);
    assert_int_equal(xml_build_message(&small, XML_MSG_CHAT, "a@b", "i", "xx"), DBOT_ERR_TOOBIG);
    xml_buf_cleanup(&small);

    /* The default limit is 256 KiB of text. */
    size_t n = XML_MAX_DEFAULT;
    char *big = malloc(n + 1);
    memset(big, 'y', n);
    big[n] = '\0';
    assert_int_equal(xml_build_message(&buf, XML_MSG_CHAT, "a@b", "i", big), DBOT_ERR_TOOBIG);
    big[n - 200] = '\0';
    assert_int_equal(xml_build_message(&buf, XML_MSG_CHAT, "a@b", "i", big), 0);
    assert_true(xml_buf_len(&buf) <= XML_MAX_DEFAULT);
    free(big);
}

static void test_headroom(void **state)
{
    (void)state;
    struct xml_buf b;
    xml_buf_init(&b, 16, 0);
    assert_string_equal(xml_buf_data(&b), "");
    assert_null(xml_buf_mem(&b));
    assert_int_equal(xml_build_sm_request(&b), 0);
    assert_ptr_equal(xml_buf_mem(&b) + 16, xml_buf_data(&b));
    assert_string_equal(xml_buf_data(&b), "<r xmlns='urn:xmpp:sm:3'/>");
    /* Growth keeps the headroom. */
    char body[2000];
    memset(body, 'z', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    assert_int_equal(xml_build_message(&b, XML_MSG_CHAT, "a@b", "i", body), 0);
    assert_ptr_equal(xml_buf_mem(&b) + 16, xml_buf_data(&b));
    assert_int_equal(strncmp(xml_buf_data(&b), "<message", 8), 0);
    xml_buf_cleanup(&b);
    xml_buf_cleanup(NULL);
}

static void test_low_level_misuse(void **state)
{
    (void)state;
    struct xml_buf b;
    xml_buf_init(&b, 0, 0);
    xml_elem_start(&b, "a");
    assert_int_equal(xml_finish(&b), DBOT_ERR_INTERNAL); /* unclosed */
    xml_buf_reset(&b);
    xml_elem_end(&b);
    assert_int_equal(xml_finish(&b), DBOT_ERR_INTERNAL); /* nothing to close */
    xml_buf_reset(&b);
    xml_elem_start(&b, "bad name");
    assert_int_equal(xml_finish(&b), DBOT_ERR_INTERNAL);
    xml_buf_reset(&b);
    xml_elem_start(&b, "a");
    xml_text(&b, "t");
    xml_attr(&b, "late", "v"); /* attribute after content */
    assert_int_equal(xml_finish(&b), DBOT_ERR_INTERNAL);
    xml_buf_reset(&b);
    for (int i = 0; i <= XML_WRITER_DEPTH; i++)
        xml_elem_start(&b, "d");
    assert_int_equal(xml_finish(&b), DBOT_ERR_INTERNAL);
    /* Sticky: later good calls do not clear it. */
    xml_elem_end(&b);
    assert_int_equal(xml_finish(&b), DBOT_ERR_INTERNAL);
    xml_buf_reset(&b);
    xml_elem_start(&b, "a");
    xml_attr(&b, "n", NULL);
    xml_attr_u32(&b, "h", 7);
    xml_elem_text(&b, "b", NULL);
    xml_elem_end(&b);
    assert_int_equal(xml_finish(&b), 0);
    assert_string_equal(xml_buf_data(&b), "<a h='7'><b/></a>");
    xml_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_builders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sasl_builders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_builders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_muc_presence_builders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_builders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_room_admin_builders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iq_builders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sm_builders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_illegal_chars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headroom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_low_level_misuse, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
