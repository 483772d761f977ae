/*
 * api_underperformers.c — GET /api/v1/underperformers (the listed dealers with the reasons,
 * since when, pinned or not) and POST /api/v1/underperformers/evaluate (evaluate now).
 */
#include "http_int.h"

#include <string.h>

#include "dealerbot/timeutil.h"

static int add_row(const struct under_row *r, void *arg)
{
    if (r->since == 0 || r->pinned < 0)
        return 0;
    json_t *o = json_pack("{s:s,s:o,s:s,s:b}", "dealer", r->dealer, "since",
                          http__time_json(r->since), "reasons", r->reasons, "pinned",
                          r->pinned > 0);
    return o && json_array_append_new(arg, o) == 0 ? 0 : DBOT_ERR_NOMEM;
}

void http__underperformers_get(struct conn *c)
{
    json_t *arr = json_array();
    int rc = arr ? store_under_all(c->srv->eng->store, add_row, arr) : DBOT_ERR_NOMEM;
    if (rc) {
        json_decref(arr);
        http__respond_error(c, 500, "could not list the underperformers: %s", dbot_strerror(rc));
        return;
    }
    http__respond_json(c, 200, json_pack("{s:o}", "dealers", arr));
}

void http__underperformers_evaluate(struct conn *c)
{
    if (strcmp(c->arg, "evaluate") != 0) {
        http__respond_error(c, 404, "no such resource: /api/v1/underperformers/%s", c->arg);
        return;
    }
    struct under_result res;
    int rc = engine_underperformers_evaluate(c->srv->eng, timeutil_now(), "api", &res);
    if (rc) {
        http__respond_error(c, 500, "could not evaluate: %s", dbot_strerror(rc));
        return;
    }
    http__respond_json(c, 200,
                       json_pack("{s:i,s:i,s:i}", "entered", res.entered, "left", res.left,
                                 "listed", res.listed));
}
