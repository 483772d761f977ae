/*
 * api_penalties.c — the dealers' ledgers over the API: GET /api/v1/penalties?dealer=&state=
 * (every entry, oldest first, with its id P-5, state and history) and
 * POST /api/v1/penalties/{id}/appeal|uphold|waive (engine_penalty_act: the same checks as in
 * chat — the window, once per entry, a reason for an appeal and a waiver, nothing on a
 * decided entry).
 *
 * Also POST /api/v1/reports/honour: the honour roll of the month just ended, now.
 *
 * Who the API acts as: the token is the brand's, so the API may do all three — an appeal
 * on behalf of the dealer (a brand portal passing it on; the manager check of chat does not
 * apply, every other rule does) and a decision as a supervisor would. Each is recorded with
 * the actor "api". Main thread (the lws loop), like every handler.
 */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/command.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"

#define QUERY_FRAG_MAX 256
#define TEXT_MAX 2000    /* code points in a reason or note */
#define LIST_MAX 1000    /* entries one GET answers */

static const char *const states[] = {"standing", "appealed", "upheld", "waived"};

/* "P-5" or "5" -> 5. */
static int parse_id(const char *s, size_t len, int64_t *out)
{
    if (penalty_id_parse(s, len, out) == 0)
        return 0;
    int64_t v = 0;
    if (len == 0 || len > 18)
        return DBOT_ERR_INVALID;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return DBOT_ERR_INVALID;
        v = v * 10 + (s[i] - '0');
    }
    if (v <= 0)
        return DBOT_ERR_INVALID;
    *out = v;
    return 0;
}

static int add_step(const struct penalty_step *p, void *arg)
{
    json_t *o = json_pack("{s:o,s:s,s:s,s:o}", "at", http__time_json(p->at), "actor", p->actor,
                          "kind", p->kind, "detail", http__str_json(p->detail));
    return o && json_array_append_new(arg, o) == 0 ? 0 : DBOT_ERR_NOMEM;
}

struct list_ctx {
    struct store *st;
    json_t *arr;
};

static int add_entry(const struct penalty_entry *e, void *arg)
{
    struct list_ctx *l = arg;
    char pid[32], cid[32];
    snprintf(pid, sizeof pid, "P-%lld", (long long)e->id);
    json_t *hist = json_array();
    if (!hist)
        return DBOT_ERR_NOMEM;
    int rc = store_penalty_history_each(l->st, e->id, add_step, hist);
    if (rc) {
        json_decref(hist);
        return rc;
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:o,s:o,s:s,s:o,s:s,s:o}", "id", pid, "dealer",
                          e->dealer, "code", e->code, "points", e->points, "complaint",
                          e->complaint_id ? json_string(complaint_id_format(e->complaint_id,
                                                                            cid, sizeof cid))
                                          : json_null(),
                          "note", http__str_json(e->note), "actor", e->actor, "at",
                          http__time_json(e->at), "state", e->state ? e->state : "standing",
                          "history", hist);
    return o && json_array_append_new(l->arr, o) == 0 ? 0 : DBOT_ERR_NOMEM;
}

void http__penalties_get(struct conn *c)
{
    char dealer[QUERY_FRAG_MAX] = "", state[QUERY_FRAG_MAX] = "";
    for (int i = 0;; i++) {
        char frag[QUERY_FRAG_MAX];
        int flen = lws_hdr_fragment_length(c->wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (flen <= 0)
            break;
        if (flen >= (int)sizeof frag ||
            lws_hdr_copy_fragment(c->wsi, frag, (int)sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) < 0) {
            http__respond_error(c, 400, "query parameter %d is too long", i + 1);
            return;
        }
        char *eq = strchr(frag, '=');
        const char *val = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        if (strcmp(frag, "dealer") == 0) {
            snprintf(dealer, sizeof dealer, "%s", val);
        } else if (strcmp(frag, "state") == 0) {
            bool known = !val[0];
            for (size_t k = 0; k < sizeof states / sizeof states[0]; k++)
                known = known || strcmp(val, states[k]) == 0;
            if (!known) {
                http__respond_error(c, 400,
                                    "query parameter state: must be standing, appealed, upheld "
                                    "or waived");
                return;
            }
            snprintf(state, sizeof state, "%s", val);
        } else {
            http__respond_error(c, 400, "unknown query parameter: %.40s (use dealer, state)",
                                frag);
            return;
        }
    }
    struct list_ctx l = {.st = c->srv->eng->store, .arr = json_array()};
    int rc = l.arr ? store_penalty_list(l.st, dealer[0] ? dealer : NULL,
                                        state[0] ? state : NULL, 0, LIST_MAX, add_entry, &l)
                   : DBOT_ERR_NOMEM;
    if (rc) {
        json_decref(l.arr);
        http__respond_error(c, 500, "could not list the penalties: %s", dbot_strerror(rc));
        return;
    }
    http__respond_json(c, 200, json_pack("{s:o}", "penalties", l.arr));
}

void http__penalty_action(struct conn *c)
{
    const char *slash = strchr(c->arg, '/');
    int64_t id;
    if (!slash || parse_id(c->arg, (size_t)(slash - c->arg), &id) != 0) {
        http__respond_error(c, 404, "no such resource: /api/v1/penalties/%.40s", c->arg);
        return;
    }
    enum penalty_action a;
    const char *field;
    if (strcmp(slash, "/appeal") == 0) {
        a = PENALTY_APPEAL;
        field = "reason";
    } else if (strcmp(slash, "/uphold") == 0) {
        a = PENALTY_UPHOLD;
        field = "note";
    } else if (strcmp(slash, "/waive") == 0) {
        a = PENALTY_WAIVE;
        field = "reason";
    } else {
        http__respond_error(c, 404, "no such resource: /api/v1/penalties/%.40s (use appeal, "
                                    "uphold, waive)", c->arg);
        return;
    }
    if (!utf8_valid(c->body, c->body_len)) {
        http__respond_error(c, 400, "body is not valid UTF-8");
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        http__respond_error(c, 400, "malformed JSON at line %d, column %d: %s", jerr.line,
                            jerr.column, jerr.text);
        return;
    }
    const char *why = NULL, *key;
    json_t *val, *jtext = json_object_get(root, field);
    if (!json_is_object(root))
        why = "the body must be a JSON object";
    else if (jtext && !json_is_null(jtext) && !json_is_string(jtext))
        why = a == PENALTY_UPHOLD ? "field note: must be a string"
                                  : "field reason: must be a string";
    else if (jtext && json_is_string(jtext) &&
             (utf8_count(json_string_value(jtext), json_string_length(jtext)) > TEXT_MAX ||
              memchr(json_string_value(jtext), '\0', json_string_length(jtext))))
        why = "the text must be at most 2000 characters, without NUL";
    if (!why) {
        json_object_foreach(root, key, val) {
            if (strcmp(key, field) != 0) {
                http__respond_error(c, 422, "unknown field: %.40s (use %s)", key, field);
                json_decref(root);
                return;
            }
        }
    }
    if (why) {
        json_decref(root);
        http__respond_error(c, 422, "%s", why);
        return;
    }
    /* Blank text is no text: an appeal or a waiver without a reason is refused. */
    const char *text = jtext && json_is_string(jtext) ? json_string_value(jtext) : NULL;
    size_t n = text ? strlen(text) : 0;
    while (text && n && (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')) {
        text++;
        n--;
    }
    if (text && !*text)
        text = NULL;
    enum penalty_refusal refusal;
    char state[16];
    char pid[32];
    snprintf(pid, sizeof pid, "P-%lld", (long long)id);
    int rc = engine_penalty_act(c->srv->eng, a, id, text, "api", timeutil_now(), &refusal,
                                state, sizeof state);
    json_decref(root);
    if (rc) {
        http__respond_error(c, 500, "could not act on %s: %s", pid, dbot_strerror(rc));
        return;
    }
    if (refusal == PR_UNKNOWN) {
        http__respond_error(c, 404, "no such penalty entry: %s", pid);
        return;
    }
    if (refusal == PR_NEED_REASON) {
        http__respond_error(c, 422, "missing field: reason");
        return;
    }
    if (refusal != PR_NONE) {
        http__respond_json(c, 409, json_pack("{s:s,s:s,s:s,s:s}", "error",
                                             "refused: the entry's state or the appeal window "
                                             "does not allow it",
                                             "refusal", penalty_refusal_name(refusal), "id", pid,
                                             "state", state));
        return;
    }
    http__respond_json(c, 200, json_pack("{s:s,s:s}", "id", pid, "state", state));
}

void http__honour_post(struct conn *c)
{
    char month[24];
    int rc = engine_honour_roll(c->srv->eng, timeutil_now(), month, sizeof month);
    if (rc) {
        http__respond_error(c, 500, "could not send the honour roll: %s", dbot_strerror(rc));
        return;
    }
    http__respond_json(c, 200, json_pack("{s:s}", "month", month));
}
