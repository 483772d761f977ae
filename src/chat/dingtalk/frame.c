/*
 * frame.c — DingTalk JSON in and out (see frame.h). Pure: jansson only.
 */
#include "frame.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/utf8.h"

/* A copy of obj[key] when it is a string of valid UTF-8 no longer than max; NULL otherwise
 * (*bad set when it is there but unusable). */
static char *str_field(json_t *obj, const char *key, size_t max, bool *bad)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return NULL;
    if (!json_is_string(v)) {
        *bad = true;
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > max || !utf8_valid(s, n)) {
        *bad = true;
        return NULL;
    }
    char *c = strndup(s, n);
    if (!c)
        *bad = true;
    return c;
}

static json_t *parse_obj(const char *buf, size_t len, size_t max, const char *what,
                         struct dbot_diag *diag, int *rc)
{
    if (len > max) {
        *rc = dbot_diag_set(diag, DBOT_ERR_TOOBIG, "%s of %zu bytes is over the %zu limit", what,
                            len, max);
        return NULL;
    }
    json_error_t e;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
    if (!root) {
        /* jansson's reason: a syntax error, or text that is not UTF-8 (raw, or an escaped
         * lone surrogate) */
        *rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "%s is not JSON (%.60s, at byte %d)", what,
                            e.text, e.position);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        *rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "%s is not a JSON object", what);
        return NULL;
    }
    return root;
}

void dt_frame_cleanup(struct dt_frame *f)
{
    if (!f)
        return;
    free(f->topic);
    free(f->message_id);
    free(f->data);
    memset(f, 0, sizeof *f);
}

int dt_frame_parse(const char *buf, size_t len, struct dt_frame *out, struct dbot_diag *diag)
{
    int rc = 0;
    json_t *root = parse_obj(buf, len, DT_FRAME_MAX, "a frame", diag, &rc);
    if (!root)
        return rc;
    struct dt_frame f = {0};
    bool bad = false;
    json_t *type = json_object_get(root, "type");
    const char *t = json_is_string(type) ? json_string_value(type) : "";
    if (!strcmp(t, "SYSTEM"))
        f.type = DT_SYSTEM;
    else if (!strcmp(t, "EVENT"))
        f.type = DT_EVENT;
    else if (!strcmp(t, "CALLBACK"))
        f.type = DT_CALLBACK;
    json_t *headers = json_object_get(root, "headers");
    if (!f.type) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "a frame of no known type");
        goto out;
    }
    if (!json_is_object(headers)) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "a frame without headers");
        goto out;
    }
    f.message_id = str_field(headers, "messageId", DT_ID_MAX, &bad);
    if (!f.message_id || !f.message_id[0]) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "a frame without a usable messageId");
        goto out;
    }
    f.topic = str_field(headers, "topic", DT_ID_MAX, &bad);
    json_t *data = json_object_get(root, "data");
    if (data && !json_is_string(data)) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "a frame whose data is not a JSON string");
        goto out;
    }
    f.data = str_field(root, "data", DT_FRAME_MAX, &bad);
    if (bad) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "a frame with a field that is not UTF-8 text "
                                                   "or too long");
        goto out;
    }
    if ((!f.topic && !(f.topic = strdup(""))) || (!f.data && !(f.data = strdup("")))) {
        rc = dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
        goto out;
    }
    *out = f;
    json_decref(root);
    return 0;
out:
    dt_frame_cleanup(&f);
    json_decref(root);
    return rc;
}

void dt_robot_msg_cleanup(struct dt_robot_msg *m)
{
    if (!m)
        return;
    free(m->conversation_id);
    free(m->sender);
    free(m->msg_id);
    free(m->text);
    memset(m, 0, sizeof *m);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int dt_robot_msg_parse(const char *data, size_t len, struct dt_robot_msg *out,
                       struct dbot_diag *diag)
{
    int rc = 0;
    json_t *root = parse_obj(data, len, DT_FRAME_MAX, "a robot message", diag, &rc);
    if (!root)
        return rc;
    struct dt_robot_msg m = {0};
    bool bad = false;
    json_t *ct = json_object_get(root, "conversationType");
    const char *cts = json_is_string(ct) ? json_string_value(ct) : "";
    m.msg_id = str_field(root, "msgId", DT_ID_MAX, &bad);
    m.sender = str_field(root, "senderStaffId", DT_ID_MAX, &bad);
    m.conversation_id = str_field(root, "conversationId", DT_ID_MAX, &bad);
    json_t *text = json_object_get(root, "text");
    if (json_is_object(text))
        m.text = str_field(text, "content", DT_TEXT_MAX, &bad);
    if (bad) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID,
                           "a robot message with a field that is not UTF-8 text or too long");
        goto out;
    }
    if (!m.msg_id || !m.msg_id[0]) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "a robot message without msgId");
        goto out;
    }
    if (!m.sender || !m.sender[0]) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "a robot message without senderStaffId");
        goto out;
    }
    if (strcmp(cts, "1") && strcmp(cts, "2")) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "a robot message of no known "
                                                   "conversationType");
        goto out;
    }
    m.group = cts[0] == '2';
    if (!m.conversation_id || !m.conversation_id[0]) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "a robot message without conversationId");
        goto out;
    }
    if (!m.text) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "a robot message without text.content "
                                                   "(msgtype other than text)");
        goto out;
    }
    {
        size_t a = 0, b = strlen(m.text);
        while (a < b && is_space(m.text[a]))
            a++;
        while (b > a && is_space(m.text[b - 1]))
            b--;
        memmove(m.text, m.text + a, b - a);
        m.text[b - a] = '\0';
    }
    *out = m;
    json_decref(root);
    return 0;
out:
    dt_robot_msg_cleanup(&m);
    json_decref(root);
    return rc;
}

/* Dumps obj (taking the reference) into a new string. */
static int dump_take(json_t *obj, char **out)
{
    if (!obj)
        return DBOT_ERR_NOMEM;
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!s)
        return DBOT_ERR_NOMEM;
    *out = s;
    return 0;
}

int dt_ack_format(int code, const char *message_id, const char *data, char **out)
{
    if (!message_id)
        return DBOT_ERR_INVALID;
    return dump_take(json_pack("{s:i, s:{s:s, s:s}, s:s, s:s}", "code", code, "headers",
                               "contentType", "application/json", "messageId", message_id,
                               "message",
                               code == 200 ? "OK" : code >= 500 ? "error" : "bad request", "data",
                               data ? data : "{\"response\":null}"),
                     out);
}

int dt_open_format(const char *client_id, const char *secret, char **out)
{
    return dump_take(json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "clientId", client_id,
                               "clientSecret", secret, "ua", "dealerbot/" DBOT_VERSION,
                               "subscriptions", "type", "CALLBACK", "topic", DT_TOPIC_ROBOT),
                     out);
}

int dt_token_format(const char *client_id, const char *secret, char **out)
{
    return dump_take(json_pack("{s:s, s:s}", "appKey", client_id, "appSecret", secret), out);
}

int dt_send_format(bool group, const char *robot_code, const char *to, const char *title,
                   const char *text, char **out)
{
    char *param = NULL;
    int rc = dump_take(json_pack("{s:s, s:s}", "title", title, "text", text), &param);
    if (rc)
        return rc;
    if (strlen(param) > DT_PARAM_MAX) {
        free(param);
        return DBOT_ERR_TOOBIG;
    }
    json_t *body;
    if (group)
        body = json_pack("{s:s, s:s, s:s, s:s}", "robotCode", robot_code, "openConversationId",
                         to, "msgKey", "sampleMarkdown", "msgParam", param);
    else
        body = json_pack("{s:s, s:[s], s:s, s:s}", "robotCode", robot_code, "userIds", to,
                         "msgKey", "sampleMarkdown", "msgParam", param);
    free(param);
    return dump_take(body, out);
}

int dt_open_parse(const char *buf, size_t len, char **endpoint, char **ticket,
                  struct dbot_diag *diag)
{
    int rc = 0;
    json_t *root = parse_obj(buf, len, 64 * 1024, "the gateway's answer", diag, &rc);
    if (!root)
        return rc;
    bool bad = false;
    char *e = str_field(root, "endpoint", 2048, &bad);
    char *t = str_field(root, "ticket", 2048, &bad);
    json_decref(root);
    if (bad || !e || !t || !e[0] || !t[0]) {
        free(e);
        free(t);
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "the gateway's answer has no usable endpoint and ticket");
    }
    *endpoint = e;
    *ticket = t;
    return 0;
}

int dt_token_parse(const char *buf, size_t len, char **token, long long *expire_in,
                   struct dbot_diag *diag)
{
    int rc = 0;
    json_t *root = parse_obj(buf, len, 64 * 1024, "the token answer", diag, &rc);
    if (!root)
        return rc;
    bool bad = false;
    char *t = str_field(root, "accessToken", 1024, &bad);
    json_t *exp = json_object_get(root, "expireIn");
    long long e = json_is_integer(exp) ? (long long)json_integer_value(exp) : -1;
    json_decref(root);
    if (bad || !t || !t[0] || e <= 0) {
        free(t);
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "the token answer has no accessToken and expireIn");
    }
    *token = t;
    *expire_in = e;
    return 0;
}

enum dt_send_result dt_send_classify(long status, const char *buf, size_t len,
                                     struct dbot_diag *diag)
{
    json_error_t e;
    json_t *root = len <= 64 * 1024 ? json_loadb(buf, len, 0, &e) : NULL;
    const char *code = NULL;
    if (json_is_object(root)) {
        json_t *c = json_object_get(root, "code");
        code = json_is_string(c) ? json_string_value(c) : NULL;
    }
    enum dt_send_result r;
    if (status == 429 || (code && strncmp(code, "Forbidden.AccessDenied.QpsLimit", 31) == 0) ||
        (code && strcmp(code, "Throttling") == 0)) {
        dbot_diag_set(diag, 0, "throttled (HTTP %ld%s%.64s)", status, code ? ", " : "",
                      code ? code : "");
        r = DT_SEND_THROTTLED;
    } else if (status == 401) {
        dbot_diag_set(diag, 0, "the access token was refused (HTTP 401)");
        r = DT_SEND_AUTH;
    } else if (status >= 400 && status < 500) {
        dbot_diag_set(diag, 0, "refused (HTTP %ld%s%.64s)", status, code ? ", " : "",
                      code ? code : "");
        r = DT_SEND_REFUSED;
    } else if (status != 200) {
        dbot_diag_set(diag, 0, "failed (HTTP %ld)", status);
        r = DT_SEND_RETRY;
    } else if (!json_is_object(root)) {
        dbot_diag_set(diag, 0, "an answer that is not a JSON object");
        r = DT_SEND_RETRY;
    } else {
        json_t *key = json_object_get(root, "processQueryKey");
        json_t *fc = json_object_get(root, "flowControlledStaffIdList");
        if (json_is_array(fc) && json_array_size(fc) > 0) {
            dbot_diag_set(diag, 0, "throttled (the user is flow-controlled)");
            r = DT_SEND_THROTTLED;
        } else if (!json_is_string(key) || json_string_length(key) == 0) {
            dbot_diag_set(diag, 0, "an answer without processQueryKey");
            r = DT_SEND_RETRY;
        } else {
            r = DT_SEND_OK;
        }
    }
    json_decref(root);
    return r;
}

/* Length of the longest prefix of s[0..n) that ends on a character boundary. */
static size_t char_floor(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* Appends the markdown form of text[0..n) to a new string: each line ends with two spaces
 * (a hard break) and a line starting with '#' or '>' is escaped so it stays text. */
static char *to_markdown(const char *text, size_t n)
{
    size_t lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += text[i] == '\n';
    char *out = malloc(n + lines * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    bool bol = true;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (bol && (c == '#' || c == '>'))
            out[o++] = '\\';
        bol = false;
        if (c == '\r')
            continue;
        if (c == '\n') {
            out[o++] = ' ';
            out[o++] = ' ';
            bol = true;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

int dt_markdown_split(const char *text, char ***parts_out, size_t *n_out, char *title,
                      size_t title_cap)
{
    size_t len = strlen(text);
    if (!utf8_valid(text, len))
        return DBOT_ERR_INVALID;
    if (title && title_cap) {
        size_t tl = strcspn(text, "\r\n");
        size_t cap = title_cap - 1 < DT_TITLE_MAX ? title_cap - 1 : DT_TITLE_MAX;
        if (tl > cap)
            tl = char_floor(text, cap);
        memcpy(title, text, tl);
        title[tl] = '\0';
        if (!tl && title_cap > 1)
            snprintf(title, title_cap, "dealerbot");
    }
    size_t cap = 4, n = 0;
    char **parts = malloc(cap * sizeof *parts);
    if (!parts)
        return DBOT_ERR_NOMEM;
    /* A part is at most DT_PART_MAX / 2 bytes of the text, cut after a line end in its second
     * half when there is one: its markdown (a line end grows by two bytes) and the JSON
     * escaping of that stay inside msgParam's limit for any ordinary text. */
    size_t at = 0;
    do {
        size_t left = len - at, take = left;
        if (left > DT_PART_MAX / 2) {
            size_t lim = char_floor(text + at, DT_PART_MAX / 2);
            take = lim;
            for (size_t i = lim; i > lim / 2; i--)
                if (text[at + i - 1] == '\n') {
                    take = i;
                    break;
                }
        }
        if (n == cap) {
            char **np = realloc(parts, cap * 2 * sizeof *np);
            if (!np)
                goto nomem;
            parts = np;
            cap *= 2;
        }
        if (!(parts[n] = to_markdown(text + at, take)))
            goto nomem;
        n++;
        at += take;
    } while (at < len);
    *parts_out = parts;
    *n_out = n;
    return 0;
nomem:
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
    free(parts);
    return DBOT_ERR_NOMEM;
}
