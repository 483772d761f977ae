/*
 * fuzz_dingtalk.c — libFuzzer target for the DingTalk JSON parsers (src/chat/dingtalk/
 * frame.c): every byte the gateway and the OpenAPI send goes through them.
 *
 * The input is tried as a down frame, as a robot message's data, as the gateway's, the token's
 * and a send's answer (with a status taken from its first byte), and as a text to render as
 * markdown. Besides "no crash, no sanitizer report, no leak", it checks the promises:
 *  - a parsed frame has a non-empty messageId and every string is valid UTF-8;
 *  - a frame's data that parses as a robot message gives a non-empty msgId, sender and
 *    conversation, UTF-8 text; the answer frame built for any messageId parses back with it;
 *  - failures come with a one-line diag;
 *  - markdown parts of valid UTF-8 are each valid UTF-8, at most DT_PART_MAX bytes, and a
 *    group send body can be built from each (the size limit holds).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/chat/dingtalk/frame.h"
#include "dealerbot/utf8.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_diag(const struct dbot_diag *d)
{
    check(d->msg[0] != '\0' && strchr(d->msg, '\n') == NULL);
}

static void check_str(const char *s)
{
    check(s != NULL && utf8_valid(s, strlen(s)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct dbot_diag d = {{0}};
    struct dt_frame f;
    if (dt_frame_parse(buf, size, &f, &d) == 0) {
        check(f.message_id[0] != '\0');
        check_str(f.message_id);
        check_str(f.topic);
        check_str(f.data);
        char *ack = NULL;
        check(dt_ack_format(200, f.message_id, f.data[0] == '{' ? f.data : NULL, &ack) == 0);
        struct dt_frame back;
        struct dbot_diag d2 = {{0}};
        /* an answer is not a down frame (no type), but its messageId must survive JSON */
        check(dt_frame_parse(ack, strlen(ack), &back, &d2) != 0);
        check(strstr(ack, "\"messageId\"") != NULL);
        free(ack);
        struct dt_robot_msg m;
        memset(&d, 0, sizeof d);
        if (dt_robot_msg_parse(f.data, strlen(f.data), &m, &d) == 0) {
            check(m.msg_id[0] && m.sender[0] && m.conversation_id[0]);
            check_str(m.text);
            dt_robot_msg_cleanup(&m);
        } else {
            check_diag(&d);
        }
        dt_frame_cleanup(&f);
    } else {
        check_diag(&d);
    }

    struct dt_robot_msg m;
    memset(&d, 0, sizeof d);
    if (dt_robot_msg_parse(buf, size, &m, &d) == 0) {
        check_str(m.msg_id);
        check_str(m.sender);
        check_str(m.conversation_id);
        check_str(m.text);
        dt_robot_msg_cleanup(&m);
    } else {
        check_diag(&d);
    }

    char *a = NULL, *b = NULL;
    long long exp = 0;
    memset(&d, 0, sizeof d);
    if (dt_open_parse(buf, size, &a, &b, &d) == 0) {
        check(a[0] && b[0]);
        free(a);
        free(b);
    } else {
        check_diag(&d);
    }
    memset(&d, 0, sizeof d);
    if (dt_token_parse(buf, size, &a, &exp, &d) == 0) {
        check(a[0] && exp > 0);
        free(a);
    } else {
        check_diag(&d);
    }
    long status = size ? 100 + (long)(data[0] % 5) * 100 + (data[0] % 30) : 200;
    memset(&d, 0, sizeof d);
    enum dt_send_result r = dt_send_classify(status, buf, size, &d);
    check(r >= DT_SEND_OK && r <= DT_SEND_RETRY);
    if (r != DT_SEND_OK)
        check_diag(&d);
    else
        check(status == 200);

    /* markdown: the input as text when it is valid UTF-8 without NUL */
    if (size < 64 * 1024 && utf8_valid(buf, size)) {
        char *text = malloc(size + 1);
        check(text != NULL);
        memcpy(text, buf, size);
        text[size] = '\0';
        char **parts = NULL;
        size_t n = 0;
        char title[DT_TITLE_MAX + 1];
        check(dt_markdown_split(text, &parts, &n, title, sizeof title) == 0);
        check(n >= 1);
        check_str(title);
        for (size_t i = 0; i < n; i++) {
            check_str(parts[i]);
            check(strlen(parts[i]) <= DT_PART_MAX + 2);
            char *body = NULL;
            int rc = dt_send_format(true, "robot", "cid", title, parts[i], &body);
            check(rc == 0 || rc == DBOT_ERR_TOOBIG);
            free(body);
            free(parts[i]);
        }
        free(parts);
        free(text);
    }
    return 0;
}
