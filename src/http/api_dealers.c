/*
 * api_dealers.c — GET /api/v1/dealers, GET /api/v1/dealers/{code} and
 * PUT /api/v1/dealers/{code} with {name, region?, sales_volume?, timezone?, calendar?} (a
 * whole record: fields left out, or null, become empty/unknown/none). The PUT is validated
 * like a CSV row (dealer_from_fields), its time zone must be a compiled zone under the
 * zoneinfo directory and its calendar one of the configuration's `calendars`; it answers 201
 * when the dealer is new and 200 when it was updated.
 */
#include "http_int.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dealerbot/log.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"

#define MOD "http"

static struct store *conn_store(struct conn *c)
{
    return c->srv->eng->store;
}

/* ---- GET ---- */

static int add_dealer(const struct dealer *d, void *arg)
{
    json_t *o = http__dealer_json(d);
    if (!o || json_array_append_new(arg, o) != 0)
        return DBOT_ERR_NOMEM;
    return 0;
}

void http__dealers_list(struct conn *c)
{
    json_t *arr = json_array();
    if (!arr) {
        http__respond_json(c, 500, NULL);
        return;
    }
    int rc = store_dealer_each(conn_store(c), add_dealer, arr);
    if (rc) {
        json_decref(arr);
        http__respond_error(c, 500, "could not list dealers: %s", dbot_strerror(rc));
        return;
    }
    size_t n = json_array_size(arr);
    json_t *doc = json_object();
    if (!doc) {
        json_decref(arr);
        http__respond_json(c, 500, NULL);
        return;
    }
    if (json_object_set_new(doc, "dealers", arr) != 0 ||
        json_object_set_new(doc, "count", json_integer((json_int_t)n)) != 0) {
        json_decref(doc);
        http__respond_json(c, 500, NULL);
        return;
    }
    http__respond_json(c, 200, doc);
}

/* Answers the stored dealer `code` with `status`; 404 when there is none. */
static void answer_dealer(struct conn *c, const char *code, int status)
{
    struct dealer d;
    int rc = store_dealer_get(conn_store(c), code, &d);
    if (rc == DBOT_ERR_NOTFOUND) {
        http__respond_error(c, 404, "unknown dealer: %s", code);
        return;
    }
    if (rc) {
        http__respond_error(c, 500, "could not read dealer %s: %s", code, dbot_strerror(rc));
        return;
    }
    json_t *doc = http__dealer_json(&d);
    dealer_cleanup(&d);
    http__respond_json(c, status, doc);
}

void http__dealer_get(struct conn *c)
{
    answer_dealer(c, c->arg, 200);
}

/* ---- PUT ---- */

/* An optional string field: missing or null -> "", a string -> itself, else an error. */
static int opt_string(json_t *root, const char *key, const char **out)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = "";
        return 0;
    }
    if (!json_is_string(v))
        return DBOT_ERR_INVALID;
    *out = json_string_value(v);
    return 0;
}

void http__dealer_put(struct conn *c)
{
    json_error_t jerr;
    struct dbot_diag diag;
    const char *name, *region, *tz, *calendar, *code_field;
    char volume[32] = "";
    struct dealer d;

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
    if (!json_is_object(root)) {
        json_decref(root);
        http__respond_error(c, 422, "the body must be a JSON object");
        return;
    }

    json_t *jname = json_object_get(root, "name");
    if (!jname || json_is_null(jname)) {
        json_decref(root);
        http__respond_error(c, 422, "missing field: name");
        return;
    }
    if (!json_is_string(jname)) {
        json_decref(root);
        http__respond_error(c, 422, "field name: must be a string");
        return;
    }
    name = json_string_value(jname);
    if (opt_string(root, "region", &region) != 0) {
        json_decref(root);
        http__respond_error(c, 422, "field region: must be a string");
        return;
    }
    if (opt_string(root, "timezone", &tz) != 0) {
        json_decref(root);
        http__respond_error(c, 422, "field timezone: must be a string");
        return;
    }
    if (opt_string(root, "calendar", &calendar) != 0) {
        json_decref(root);
        http__respond_error(c, 422, "field calendar: must be a string or null");
        return;
    }
    if (opt_string(root, "code", &code_field) != 0 ||
        (code_field[0] && strcasecmp(code_field, c->arg) != 0)) {
        json_decref(root);
        http__respond_error(c, 422, "field code: does not match the dealer in the URL (%s)",
                            c->arg);
        return;
    }
    json_t *jvol = json_object_get(root, "sales_volume");
    if (jvol && json_is_integer(jvol)) {
        snprintf(volume, sizeof volume, "%" PRId64, (int64_t)json_integer_value(jvol));
    } else if (jvol && !json_is_null(jvol)) {
        json_decref(root);
        http__respond_error(c, 422, "field sales_volume: must be a whole number or null");
        return;
    }

    dbot_diag_clear(&diag);
    int rc = dealer_from_fields(c->arg, name, region, volume, tz, calendar, &d, &diag);
    json_decref(root);
    if (rc == DBOT_ERR_NOMEM) {
        http__respond_json(c, 500, NULL);
        return;
    }
    if (rc) {
        http__respond_error(c, 422, "field %s", diag.msg);
        return;
    }
    if (d.timezone && !timeutil_zone_exists(d.timezone)) {
        http__respond_error(c, 422, "field timezone: unknown time zone: %s", d.timezone);
        dealer_cleanup(&d);
        return;
    }
    if (d.calendar && !config_calendar(c->srv->cfg, d.calendar)) {
        http__respond_error(c, 422, "field calendar: unknown calendar: %s", d.calendar);
        dealer_cleanup(&d);
        return;
    }

    struct dealer old;
    bool created = false;
    rc = store_dealer_get(conn_store(c), d.code, &old);
    if (rc == 0)
        dealer_cleanup(&old);
    else if (rc == DBOT_ERR_NOTFOUND)
        created = true;
    if (rc == 0 || rc == DBOT_ERR_NOTFOUND)
        rc = store_dealer_upsert(conn_store(c), &d);
    if (rc) {
        http__respond_error(c, 500, "could not store dealer %s: %s", d.code, dbot_strerror(rc));
        dealer_cleanup(&d);
        return;
    }
    log_info(MOD, "dealer %s %s through the API", d.code, created ? "created" : "updated");
    engine_directory_changed(c->srv->eng); /* a new dealer gets its room now */
    answer_dealer(c, d.code, created ? 201 : 200);
    dealer_cleanup(&d);
}
