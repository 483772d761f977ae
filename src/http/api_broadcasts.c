/*
 * api_broadcasts.c — POST /api/v1/broadcasts and GET /api/v1/broadcasts/{id}.
 *
 * POST {"audience", "kind", "text", "require_read"?, "at"?} -> 201 {"id": "B-7", "state":
 * "sent"|"scheduled", "rooms", "recipients"}: audience all | underperformers | region:<r> |
 * dealer:<CODE>; kind standard | penalty | training | risk | notice; at (RFC 3339) sends it
 * later. GET gives the broadcast with every recipient: delivered (the chat server confirmed
 * the room message that reached them) and read (their /read).
 */
#include "http_int.h"

#include <stdio.h>
#include <string.h>

#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"

#define TEXT_MAX 8000 /* code points */

static const char *const kinds[] = {"standard", "penalty", "training", "risk", "notice"};

static bool audience_ok(const char *a)
{
    if (strcmp(a, "all") == 0 || strcmp(a, "underperformers") == 0)
        return true;
    if ((strncmp(a, "region:", 7) == 0 || strncmp(a, "dealer:", 7) == 0) && a[7] &&
        utf8_count(a + 7, strlen(a + 7)) <= 64)
        return true;
    return false;
}

static bool kind_ok(const char *k)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(k, kinds[i]) == 0)
            return true;
    return false;
}

static int64_t parse_id(const char *s)
{
    if ((s[0] != 'B' && s[0] != 'b') || s[1] != '-' || !s[2])
        return 0;
    int64_t v = 0;
    for (const char *p = s + 2; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v;
}

void http__broadcasts_post(struct conn *c)
{
    json_error_t jerr;
    if (!utf8_valid(c->body, c->body_len)) {
        http__respond_error(c, 400, "body is not valid UTF-8");
        return;
    }
    json_t *root = json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        http__respond_error(c, 400, "malformed JSON at line %d, column %d: %s", jerr.line,
                            jerr.column, jerr.text);
        return;
    }
    const char *audience = NULL, *kind = NULL, *text = NULL, *at = NULL, *why = NULL;
    json_t *jread = json_object_get(root, "require_read");
    json_t *jat = json_object_get(root, "at");
    int64_t send_at = 0;
    if (!json_is_object(root))
        why = "the body must be a JSON object";
    else if (json_unpack_ex(root, &jerr, 0, "{s:s}", "audience", &audience) != 0)
        why = "missing field: audience (a string)";
    else if (!audience_ok(audience))
        why = "field audience: must be all, underperformers, region:<r> or dealer:<code>";
    else if (json_unpack_ex(root, &jerr, 0, "{s:s}", "kind", &kind) != 0 || !kind_ok(kind))
        why = "field kind: must be standard, penalty, training, risk or notice";
    else if (json_unpack_ex(root, &jerr, 0, "{s:s}", "text", &text) != 0 || !text[0])
        why = "field text: must be a non-empty string";
    else if (utf8_count(text, strlen(text)) > TEXT_MAX)
        why = "field text: longer than 8000 characters";
    else if (jread && !json_is_boolean(jread))
        why = "field require_read: must be true or false";
    else if (jat && !json_is_null(jat) &&
             (!json_is_string(jat) || rfc3339_parse((at = json_string_value(jat)), &send_at)))
        why = "field at: must be an RFC 3339 time";
    if (why) {
        json_decref(root);
        http__respond_error(c, 422, "%s", why);
        return;
    }
    int64_t now = timeutil_now();
    struct broadcast b = {.audience = (char *)audience, .kind = (char *)kind,
                          .text = (char *)text, .require_read = jread && json_is_true(jread),
                          .created_by = "api", .send_at = send_at ? send_at : now};
    if (strncmp(audience, "dealer:", 7) == 0)
        for (char *p = b.audience + 7; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
    int64_t id = 0;
    int rooms = 0, people = 0;
    struct dbot_diag diag = {{0}};
    int rc = engine_broadcast(c->srv->eng, &b, now, &id, &rooms, &people, &diag);
    json_decref(root);
    if (rc == DBOT_ERR_INVALID) {
        http__respond_error(c, 422, "%s", diag.msg);
        return;
    }
    if (rc) {
        http__respond_error(c, 500, "could not store the broadcast: %s", dbot_strerror(rc));
        return;
    }
    char bid[32];
    snprintf(bid, sizeof bid, "B-%lld", (long long)id);
    snprintf(c->location, sizeof c->location, "/api/v1/broadcasts/%s", bid);
    http__respond_json(c, 201,
                       json_pack("{s:s,s:s,s:i,s:i}", "id", bid, "state",
                                 b.send_at > now ? "scheduled" : "sent", "rooms", rooms,
                                 "recipients", people));
}

struct rcpts {
    json_t *arr;
    int delivered, read;
    int err;
};

static int add_rcpt(const struct broadcast_recipient *r, void *arg)
{
    struct rcpts *x = arg;
    json_t *o = json_pack("{s:s,s:o,s:o,s:o}", "jid", r->jid, "dealer", http__str_json(r->dealer),
                          "delivered_at", http__time_json(r->delivered_at), "read_at",
                          http__time_json(r->read_at));
    if (!o || json_array_append_new(x->arr, o) != 0)
        return DBOT_ERR_NOMEM;
    x->delivered += r->delivered_at != 0;
    x->read += r->read_at != 0;
    return 0;
}

void http__broadcast_get(struct conn *c)
{
    int64_t id = parse_id(c->arg);
    struct store *st = c->srv->eng->store;
    struct broadcast b = {0};
    int rc = id ? store_broadcast_get(st, id, &b) : DBOT_ERR_NOTFOUND;
    if (rc == DBOT_ERR_NOTFOUND) {
        http__respond_error(c, 404, "no such broadcast: %s", c->arg);
        return;
    }
    if (rc) {
        http__respond_error(c, 500, "could not read %s: %s", c->arg, dbot_strerror(rc));
        return;
    }
    struct rcpts x = {.arr = json_array()};
    rc = x.arr ? store_broadcast_recipients(st, id, false, add_rcpt, &x) : DBOT_ERR_NOMEM;
    char bid[32];
    snprintf(bid, sizeof bid, "B-%lld", (long long)id);
    json_t *doc = rc ? NULL
                     : json_pack("{s:s,s:s,s:s,s:s,s:b,s:s,s:o,s:o,s:o,s:s,s:{s:i,s:i,s:i},s:o}",
                                 "id", bid, "audience", b.audience, "kind", b.kind, "text",
                                 b.text, "require_read", b.require_read, "created_by",
                                 b.created_by, "created_at", http__time_json(b.created_at),
                                 "send_at", http__time_json(b.send_at), "sent_at",
                                 http__time_json(b.sent_at), "state",
                                 b.sent ? "sent" : "scheduled", "counts", "recipients",
                                 (int)json_array_size(x.arr), "delivered", x.delivered, "read",
                                 x.read, "recipients", x.arr);
    if (!doc)
        json_decref(x.arr);
    broadcast_cleanup(&b);
    if (!doc) {
        http__respond_error(c, 500, "could not list the recipients of %s", bid);
        return;
    }
    http__respond_json(c, 200, doc);
}
