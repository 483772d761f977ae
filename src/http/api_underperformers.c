/*
 * api_underperformers.c — GET /api/v1/underperformers (the listed dealers with the reasons,
 * since when, pinned or not; the last evaluation; the latest changes, most recent first) and
 * POST /api/v1/underperformers/evaluate (evaluate now).
 */
#include "http_int.h"

#include <string.h>

#include "dealerbot/timeutil.h"

#define CHANGES_MAX 100 /* the history GET shows */

static int add_row(const struct under_row *r, void *arg)
{
    if (r->since == 0 || r->pinned < 0)
        return 0;
    json_t *o = json_pack("{s:s,s:o,s:s,s:b}", "dealer", r->dealer, "since",
                          http__time_json(r->since), "reasons", r->reasons, "pinned",
                          r->pinned > 0);
    return o && json_array_append_new(arg, o) == 0 ? 0 : DBOT_ERR_NOMEM;
}

static int add_change(const struct under_change_row *r, void *arg)
{
    json_t *o = json_pack("{s:s,s:o,s:s,s:s,s:s}", "dealer", r->dealer ? r->dealer : "", "at",
                          http__time_json(r->at), "change", r->change ? r->change : "",
                          "reasons", r->reasons, "actor", r->actor ? r->actor : "");
    return o && json_array_append_new(arg, o) == 0 ? 0 : DBOT_ERR_NOMEM;
}

void http__underperformers_get(struct conn *c)
{
    struct store *st = c->srv->eng->store;
    json_t *arr = json_array(), *changes = json_array(), *evaluated = NULL;
    int rc = arr && changes ? store_under_all(st, add_row, arr) : DBOT_ERR_NOMEM;
    if (rc == 0)
        rc = store_under_changes(st, CHANGES_MAX, add_change, changes);
    int64_t at = 0;
    char actor[128];
    int erc = rc ? rc : store_under_last_evaluation(st, &at, actor, sizeof actor);
    if (erc == 0)
        evaluated = json_pack("{s:o,s:s}", "at", http__time_json(at), "by", actor);
    else if (erc == DBOT_ERR_NOTFOUND)
        evaluated = json_null();
    else
        rc = erc;
    if (rc == 0 && !evaluated)
        rc = DBOT_ERR_NOMEM;
    if (rc) {
        json_decref(arr);
        json_decref(changes);
        json_decref(evaluated);
        http__respond_error(c, 500, "could not list the underperformers: %s", dbot_strerror(rc));
        return;
    }
    http__respond_json(c, 200, json_pack("{s:o,s:o,s:o}", "dealers", arr, "evaluated",
                                         evaluated, "changes", changes));
}

void http__underperformers_evaluate(struct conn *c)
{
    if (strcmp(c->arg, "evaluate") != 0) {
        http__respond_error(c, 404, "no such resource: /api/v1/underperformers/%s", c->arg);
        return;
    }
    struct under_result res;
    int rc = engine_underperformers_evaluate(c->srv->eng, timeutil_now(), "api", 0, &res);
    if (rc) {
        http__respond_error(c, 500, "could not evaluate: %s", dbot_strerror(rc));
        return;
    }
    http__respond_json(c, 200,
                       json_pack("{s:i,s:i,s:i}", "entered", res.entered, "left", res.left,
                                 "listed", res.listed));
}
