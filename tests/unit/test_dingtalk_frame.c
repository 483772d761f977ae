/*
 * test_dingtalk_frame.c — the DingTalk JSON module (src/chat/dingtalk/frame.c): down frames and
 * robot messages parsed and refused, the answer frame, the send bodies and the classification
 * of send answers, and markdown rendering that splits a long text and never cuts it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "chat/dingtalk/frame.h"
#include "dealerbot/utf8.h"

static void test_frame_parse(void **state)
{
    (void)state;
    struct dt_frame f;
    struct dbot_diag d = {{0}};
    const char *ok = "{\"specVersion\":\"1.0\",\"type\":\"CALLBACK\",\"headers\":{\"topic\":"
                     "\"/v1.0/im/bot/messages/get\",\"messageId\":\"m-1\"},\"data\":\"{\\\"a\\\":1}\"}";
    assert_int_equal(dt_frame_parse(ok, strlen(ok), &f, &d), 0);
    assert_int_equal(f.type, DT_CALLBACK);
    assert_string_equal(f.topic, DT_TOPIC_ROBOT);
    assert_string_equal(f.message_id, "m-1");
    assert_string_equal(f.data, "{\"a\":1}");
    dt_frame_cleanup(&f);

    static const struct {
        const char *in, *why;
    } bad[] = {
        {"not json", "is not JSON"},
        {"[1]", "not a JSON object"},
        {"{\"type\":\"X\",\"headers\":{\"messageId\":\"m\"}}", "no known type"},
        {"{\"type\":\"SYSTEM\",\"headers\":{\"topic\":\"ping\"}}", "messageId"},
        {"{\"type\":\"SYSTEM\",\"headers\":{\"messageId\":\"\"}}", "messageId"},
        {"{\"type\":\"CALLBACK\",\"headers\":{\"messageId\":\"m\"},\"data\":{}}", "not a JSON string"},
        {"{\"type\":\"SYSTEM\",\"headers\":{\"messageId\":\"m\",\"topic\":\"\\udc80\"}}",
         "is not JSON (invalid Unicode"},
        {"{\"type\":\"SYSTEM\",\"headers\":{\"messageId\":\"m\",\"topic\":\"\xff\"}}",
         "is not JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&d, 0, sizeof d);
        assert_int_not_equal(dt_frame_parse(bad[i].in, strlen(bad[i].in), &f, &d), 0);
        if (!strstr(d.msg, bad[i].why))
            fail_msg("%s: diag \"%s\" lacks \"%s\"", bad[i].in, d.msg, bad[i].why);
        assert_null(strchr(d.msg, '\n'));
    }
}

static void test_robot_msg(void **state)
{
    (void)state;
    struct dt_robot_msg m;
    struct dbot_diag d = {{0}};
    const char *ok = "{\"conversationType\":\"2\",\"conversationId\":\"cid1\",\"msgId\":\"x1\","
                     "\"senderStaffId\":\"Wang01\",\"text\":{\"content\":\"  /ack C-1 \\n\"}}";
    assert_int_equal(dt_robot_msg_parse(ok, strlen(ok), &m, &d), 0);
    assert_true(m.group);
    assert_string_equal(m.conversation_id, "cid1");
    assert_string_equal(m.msg_id, "x1");
    assert_string_equal(m.sender, "Wang01");
    assert_string_equal(m.text, "/ack C-1"); /* trimmed */
    dt_robot_msg_cleanup(&m);

    static const struct {
        const char *in, *why;
    } bad[] = {
        {"{\"conversationType\":\"1\",\"conversationId\":\"c\",\"senderStaffId\":\"s\","
         "\"text\":{\"content\":\"x\"}}", "without msgId"},
        {"{\"conversationType\":\"1\",\"conversationId\":\"c\",\"msgId\":\"m\","
         "\"text\":{\"content\":\"x\"}}", "without senderStaffId"},
        {"{\"conversationType\":\"3\",\"conversationId\":\"c\",\"msgId\":\"m\","
         "\"senderStaffId\":\"s\",\"text\":{\"content\":\"x\"}}", "conversationType"},
        {"{\"conversationType\":\"1\",\"conversationId\":\"c\",\"msgId\":\"m\","
         "\"senderStaffId\":\"s\",\"msgtype\":\"picture\"}", "without text.content"},
        {"{\"conversationType\":\"1\",\"conversationId\":\"c\",\"msgId\":\"m\","
         "\"senderStaffId\":\"s\",\"text\":{\"content\":\"\\ud800x\"}}", "invalid Unicode"},
        {"\"a string\"", "not JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&d, 0, sizeof d);
        assert_int_not_equal(dt_robot_msg_parse(bad[i].in, strlen(bad[i].in), &m, &d), 0);
        if (!strstr(d.msg, bad[i].why))
            fail_msg("%s: diag \"%s\" lacks \"%s\"", bad[i].in, d.msg, bad[i].why);
    }
}

static void test_ack_and_bodies(void **state)
{
    (void)state;
    char *a = NULL;
    assert_int_equal(dt_ack_format(200, "m\"1", "{\"opaque\":\"x\"}", &a), 0);
    json_t *j = json_loads(a, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "code")), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "headers"),
                                                          "messageId")), "m\"1");
    assert_string_equal(json_string_value(json_object_get(j, "data")), "{\"opaque\":\"x\"}");
    json_decref(j);
    free(a);

    assert_int_equal(dt_send_format(false, "robot", "user1", "T", "line", &a), 0);
    j = json_loads(a, 0, NULL);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "userIds"), 0)),
                        "user1");
    assert_string_equal(json_string_value(json_object_get(j, "msgKey")), "sampleMarkdown");
    json_t *p = json_loads(json_string_value(json_object_get(j, "msgParam")), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(p, "title")), "T");
    json_decref(p);
    json_decref(j);
    free(a);
}

static void test_send_classify(void **state)
{
    (void)state;
    struct dbot_diag d = {{0}};
#define C(st, body) dt_send_classify(st, body, strlen(body), &d)
    assert_int_equal(C(200, "{\"processQueryKey\":\"k\"}"), DT_SEND_OK);
    assert_int_equal(C(200, "{\"processQueryKey\":\"k\",\"flowControlledStaffIdList\":[]}"),
                     DT_SEND_OK);
    assert_int_equal(C(200, "{\"flowControlledStaffIdList\":[\"u\"]}"), DT_SEND_THROTTLED);
    assert_int_equal(C(429, "{}"), DT_SEND_THROTTLED);
    assert_int_equal(C(403, "{\"code\":\"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi\"}"),
                     DT_SEND_THROTTLED);
    assert_int_equal(C(401, "{}"), DT_SEND_AUTH);
    assert_int_equal(C(400, "{\"code\":\"resource.not.found\"}"), DT_SEND_REFUSED);
    assert_int_equal(C(500, "{}"), DT_SEND_RETRY);
    assert_int_equal(C(200, "<html>"), DT_SEND_RETRY);
    assert_non_null(strstr(d.msg, "not a JSON object"));
    assert_int_equal(C(200, "{\"result\":1}"), DT_SEND_RETRY);
    assert_non_null(strstr(d.msg, "processQueryKey"));
#undef C
}

/* A long text is split into parts, each within the limit, and nothing is lost: the parts'
 * text (markdown line ends undone) put together is the original. */
static void test_markdown_split_never_cuts(void **state)
{
    (void)state;
    size_t n_lines = 900;
    char *text = malloc(n_lines * 40 + 1);
    size_t len = 0;
    for (size_t i = 0; i < n_lines; i++)
        len += (size_t)snprintf(text + len, 41, "第%04zu行 投诉内容 complaint line\n", i);
    text[len - 1] = '\0';
    char **parts = NULL;
    size_t n = 0;
    char title[DT_TITLE_MAX + 1];
    assert_int_equal(dt_markdown_split(text, &parts, &n, title, sizeof title), 0);
    assert_true(n > 1);
    assert_string_equal(title, "第0000行 投诉内容 complaint line");
    size_t cap = len * 2 + 1, got = 0;
    char *joined = calloc(1, cap);
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(parts[i]) <= DT_PART_MAX);
        assert_true(utf8_valid(parts[i], strlen(parts[i])));
        char *body = NULL;
        assert_int_equal(dt_send_format(true, "r", "cid", title, parts[i], &body), 0);
        free(body);
        /* undo the markdown line ends ("  \n" -> "\n") */
        for (const char *p = parts[i]; *p; p++) {
            if (p[0] == ' ' && p[1] == ' ' && p[2] == '\n')
                continue;
            if (p[0] == ' ' && p[1] == '\n' && p > parts[i] && p[-1] == ' ')
                continue;
            joined[got++] = *p;
        }
        free(parts[i]);
    }
    free(parts);
    assert_string_equal(joined, text);
    free(joined);

    /* a line starting with '#' or '>' stays text; a short text is one part */
    assert_int_equal(dt_markdown_split("# not a heading\n> not a quote", &parts, &n, title,
                                       sizeof title), 0);
    assert_int_equal(n, 1);
    assert_string_equal(parts[0], "\\# not a heading  \n\\> not a quote");
    free(parts[0]);
    free(parts);
    /* not UTF-8: refused */
    assert_int_equal(dt_markdown_split("\xff", &parts, &n, title, sizeof title), DBOT_ERR_INVALID);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_parse),
        cmocka_unit_test(test_robot_msg),
        cmocka_unit_test(test_ack_and_bodies),
        cmocka_unit_test(test_send_classify),
        cmocka_unit_test(test_markdown_split_never_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
