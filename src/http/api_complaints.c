/*
 * api_complaints.c — POST /api/v1/complaints (validate, then queue for the group commit),
 * the answer written after that commit, GET /api/v1/complaints/{id} (with its timeline) and
 * GET /api/v1/complaints?dealer=&state=&overdue=&limit= (the list: up to 1,000 complaints,
 * read and rendered on a reader thread while the request is parked, like the scorecards;
 * add_complaint and list_finish run there and touch only their struct list_req).
 */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/log.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"

#define MOD "http"
#define LIST_LIMIT_MAX 1000

static struct store *conn_store(struct conn *c)
{
    return c->srv->eng->store;
}

void http__complaints_post(struct conn *c)
{
    struct intake in;
    enum intake_fault fault = INTAKE_FAULT_NONE;
    struct dbot_diag diag;

    memset(&in, 0, sizeof in);
    dbot_diag_clear(&diag);
    int rc = intake_parse_json(c->body, c->body_len, &in, &fault, &diag);
    if (rc) {
        int status = rc == DBOT_ERR_NOMEM ? 500 : fault == INTAKE_FAULT_SYNTAX ? 400 : 422;
        http__respond_error(c, status, "%s", diag.msg[0] ? diag.msg : dbot_strerror(rc));
        return;
    }
    /* The API needs the caller's key for idempotency (the CLI may leave it out). */
    if (!in.external_id || !in.external_id[0]) {
        intake_cleanup(&in);
        http__respond_error(c, 422, "missing field: external_id");
        return;
    }
    http__enqueue_intake(c, &in);
}

void http__intake_answer(struct conn *c, const struct intake *in,
                         const struct intake_result *res, int batch_rc)
{
    char id[32];

    if (batch_rc) {
        http__respond_error(c, batch_rc == DBOT_ERR_BUSY ? 503 : 500,
                            "could not store the complaint: %s", dbot_strerror(batch_rc));
        return;
    }
    if (res->err == DBOT_ERR_NOTFOUND) {
        if (res->diag.msg[0])
            http__respond_error(c, 422, "%s", res->diag.msg);
        else
            http__respond_error(c, 422, "unknown dealer: %s", in->dealer ? in->dealer : "");
        return;
    }
    if (res->err == DBOT_ERR_INVALID) {
        http__respond_error(c, 422, "%s", res->diag.msg[0] ? res->diag.msg : "invalid complaint");
        return;
    }
    if (res->err) {
        http__respond_error(c, 500, "could not store the complaint: %s",
                            dbot_strerror(res->err));
        return;
    }

    /* The engine logs each accepted complaint; a repeat is only worth a debug line. */
    complaint_id_format(res->id, id, sizeof id);
    if (!res->created)
        log_debug(MOD, "%s: repeated external_id %s", id, in->external_id ? in->external_id : "-");

    struct complaint cm;
    int rc = store_complaint_get(conn_store(c), res->id, &cm);
    if (rc) {
        /* Stored, but we cannot show it: a retry will get the 200 with the ticket. */
        http__respond_error(c, 500, "%s stored but could not be read back: %s", id,
                            dbot_strerror(rc));
        return;
    }
    json_t *doc = http__complaint_json(&cm, timeutil_now());
    complaint_cleanup(&cm);
    int n = snprintf(c->location, sizeof c->location, "/api/v1/complaints/%s", id);
    if (n < 0 || (size_t)n >= sizeof c->location)
        c->location[0] = '\0';
    http__respond_json(c, res->created ? 201 : 200, doc);
}

/* ---- GET one ---- */

static int add_event(const struct timeline_event *ev, void *arg)
{
    json_t *o = http__timeline_event_json(ev);
    if (!o || json_array_append_new(arg, o) != 0)
        return DBOT_ERR_NOMEM;
    return 0;
}

void http__complaint_get(struct conn *c)
{
    int64_t id;
    struct complaint cm;

    if (complaint_id_parse(c->arg, &id) != 0) {
        http__respond_error(c, 404, "no such complaint: %s", c->arg);
        return;
    }
    int rc = store_complaint_get(conn_store(c), id, &cm);
    if (rc == DBOT_ERR_NOTFOUND) {
        http__respond_error(c, 404, "no such complaint: %s", c->arg);
        return;
    }
    if (rc) {
        http__respond_error(c, 500, "could not read %s: %s", c->arg, dbot_strerror(rc));
        return;
    }
    json_t *doc = http__complaint_json(&cm, timeutil_now());
    complaint_cleanup(&cm);
    json_t *events = json_array();
    if (!doc || !events) {
        json_decref(doc);
        json_decref(events);
        http__respond_json(c, 500, NULL);
        return;
    }
    rc = store_timeline_each(conn_store(c), id, add_event, events);
    if (rc) {
        json_decref(doc);
        json_decref(events);
        http__respond_error(c, 500, "could not read the timeline of %s: %s", c->arg,
                            dbot_strerror(rc));
        return;
    }
    if (json_object_set_new(doc, "timeline", events) != 0) {
        json_decref(doc);
        http__respond_json(c, 500, NULL);
        return;
    }
    http__respond_json(c, 200, doc);
}

/* ---- the list ---- */

/* A parked list: the complaints are turned into JSON on the reader thread, one by one as the
 * store walks them, and the document is serialised there too (list_finish). */
struct list_req {
    struct park p;              /* first: the parked request (http_int.h) */
    json_t *arr;
    int64_t now;
};

/* Reader thread. */
static int add_complaint(const struct complaint *cm, void *arg)
{
    struct list_req *lr = arg;
    json_t *o = http__complaint_json(cm, lr->now);
    if (!o || json_array_append_new(lr->arr, o) != 0)
        return DBOT_ERR_NOMEM;
    return 0;
}

/* Reader thread: {"complaints": [...], "count": n} into lr->p.buf. */
static void list_finish(int *rc, void *arg)
{
    struct list_req *lr = arg;
    json_t *arr = lr->arr;
    lr->arr = NULL;
    if (*rc) {
        json_decref(arr);
        return;
    }
    size_t n = json_array_size(arr);
    json_t *doc = json_object();
    if (!doc || json_object_set_new(doc, "complaints", arr) != 0 ||
        json_object_set_new(doc, "count", json_integer((json_int_t)n)) != 0 ||
        http__json_buffer(doc, &lr->p.buf, &lr->p.len) != 0) {
        if (!doc)
            json_decref(arr);
        *rc = DBOT_ERR_NOMEM;
    } else {
        lr->p.status = 200;
    }
    json_decref(doc);
}

/* Loop thread. */
static void list_done(void *arg, int rc, bool cancelled)
{
    struct list_req *lr = arg;
    json_decref(lr->arr); /* a job cancelled before it ran */
    http__park_finish(&lr->p, rc, cancelled);
    free(lr);
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", ""};
    static const char *const no[] = {"0", "false", "no"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    return DBOT_ERR_INVALID;
}

static int parse_limit(const char *v, int64_t *out)
{
    int64_t n = 0;
    if (!*v)
        return DBOT_ERR_INVALID;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return DBOT_ERR_INVALID;
        n = n * 10 + (*p - '0');
        if (n > LIST_LIMIT_MAX)
            return DBOT_ERR_INVALID;
    }
    if (n < 1)
        return DBOT_ERR_INVALID;
    *out = n;
    return 0;
}

void http__complaints_list(struct conn *c)
{
    struct complaint_filter f = {.dealer = NULL, .state = -1, .overdue_only = false,
                                 .now = timeutil_now(), .limit = 0};
    char dealer[QUERY_FRAG_MAX];

    char frag[QUERY_FRAG_MAX];
    const char *val;
    int qrc;
    for (int i = 0; (qrc = http__query_param(c, i, frag, sizeof frag, &val)) > 0; i++) {
        if (strcmp(frag, "dealer") == 0) {
            memcpy(dealer, val, strlen(val) + 1);
            f.dealer = dealer[0] ? dealer : NULL;
        } else if (strcmp(frag, "state") == 0) {
            enum complaint_state st;
            if (!val[0]) {
                f.state = -1;
            } else if (complaint_state_parse(val, &st) != 0) {
                http__respond_error(c, 400, "query parameter state: unknown state: %s", val);
                return;
            } else {
                f.state = (int)st;
            }
        } else if (strcmp(frag, "overdue") == 0) {
            if (parse_bool(val, &f.overdue_only) != 0) {
                http__respond_error(c, 400, "query parameter overdue: must be true or false");
                return;
            }
        } else if (strcmp(frag, "limit") == 0) {
            if (parse_limit(val, &f.limit) != 0) {
                http__respond_error(c, 400, "query parameter limit: must be 1-%d",
                                    LIST_LIMIT_MAX);
                return;
            }
        } else {
            http__respond_error(c, 400,
                                "unknown query parameter: %s (use dealer, state, overdue, limit)",
                                frag);
            return;
        }
    }
    if (qrc < 0)
        return; /* answered */

    struct list_req *lr = calloc(1, sizeof *lr);
    if (lr)
        lr->arr = json_array();
    if (!lr || !lr->arr) {
        free(lr);
        http__respond_error(c, 500, "internal error: out of memory");
        return;
    }
    lr->p.what = "the complaints";
    lr->p.t0 = timeutil_mono_us();
    lr->now = f.now;
    struct reader_job *job = NULL;
    int rc = engine_complaints_start(c->srv->eng, &f, add_complaint, list_finish, list_done, lr,
                                     &job);
    if (rc)
        json_decref(lr->arr);
    http__park(c, &lr->p, rc, job);
}

/* ---- POST /api/v1/complaints/{id}/satisfaction ---- */

#define COMMENT_MAX 2000 /* code points */

void http__satisfaction_post(struct conn *c)
{
    int64_t id;
    json_error_t jerr;
    if (complaint_id_parse(c->arg, &id) != 0) {
        http__respond_error(c, 404, "no such complaint: %s", c->arg);
        return;
    }
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
    const char *why = NULL;
    json_t *jscore = json_object_get(root, "score");
    json_t *jcomment = json_object_get(root, "comment");
    const char *key;
    json_t *val;
    if (!json_is_object(root))
        why = "the body must be a JSON object";
    else if (!jscore)
        why = "missing field: score";
    else if (!json_is_integer(jscore) || json_integer_value(jscore) < 1 ||
             json_integer_value(jscore) > 5)
        why = "field score: must be a whole number from 1 to 5";
    else if (jcomment && !json_is_null(jcomment) && !json_is_string(jcomment))
        why = "field comment: must be a string";
    else if (jcomment && json_is_string(jcomment) &&
             utf8_count(json_string_value(jcomment), json_string_length(jcomment)) >
                 COMMENT_MAX)
        why = "field comment: longer than 2000 characters";
    if (!why) {
        json_object_foreach(root, key, val) {
            if (strcmp(key, "score") != 0 && strcmp(key, "comment") != 0) {
                http__respond_error(c, 422, "unknown field: %.40s", key); /* key is root's */
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
    const char *comment = jcomment && json_is_string(jcomment) ? json_string_value(jcomment)
                                                                 : NULL;
    if (comment && memchr(comment, '\0', json_string_length(jcomment))) {
        json_decref(root);
        http__respond_error(c, 422, "field comment: must not contain NUL");
        return;
    }
    bool reopened = false;
    int64_t now = timeutil_now();
    int rc = engine_satisfaction(c->srv->eng, id, (int)json_integer_value(jscore), comment, now,
                                 &reopened);
    json_decref(root);
    if (rc == DBOT_ERR_NOTFOUND) {
        http__respond_error(c, 404, "no such complaint: %s", c->arg);
        return;
    }
    struct complaint cm;
    if (rc == DBOT_ERR_CONFLICT && store_complaint_get(conn_store(c), id, &cm) == 0) {
        char cid[32];
        complaint_id_format(id, cid, sizeof cid);
        http__respond_error(c, 409, "%s is not closed (state %s)", cid,
                            complaint_state_name(cm.state));
        complaint_cleanup(&cm);
        return;
    }
    if (rc) {
        http__respond_error(c, 500, "could not record the return visit of %s: %s", c->arg,
                            dbot_strerror(rc));
        return;
    }
    if ((rc = store_complaint_get(conn_store(c), id, &cm)) != 0) {
        http__respond_error(c, 500, "could not read %s: %s", c->arg, dbot_strerror(rc));
        return;
    }
    /* the complaint as it is now: a reopen shows in its state and its "reopened" count */
    json_t *doc = http__complaint_json(&cm, now);
    complaint_cleanup(&cm);
    http__respond_json(c, doc ? 200 : 500, doc);
}
