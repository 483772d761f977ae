/*
 * json_out.c — our structs rendered as jansson values for the HTTP answers. Each function
 * returns a new reference (the caller owns it) or NULL when an allocation failed. Instants are
 * RFC 3339 in the process's local zone (TZ is set from the config at start); an instant of 0
 * ("not yet") and a missing string become null.
 */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>

#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"

json_t *http__time_json(int64_t t)
{
    char buf[40];
    if (t <= 0)
        return json_null();
    return json_string(rfc3339_format_local(t, buf, sizeof buf));
}

json_t *http__str_json(const char *s)
{
    if (!s)
        return json_null();
    size_t len = strlen(s);
    if (utf8_valid(s, len))
        return json_stringn_nocheck(s, len);
    /* Stored text is validated on the way in; if something else ever got there, say so
     * rather than failing the whole answer. */
    return json_string("(not valid UTF-8)");
}

/* Sets key to a new value (stolen); a NULL value (an allocation failure) or a failed set
 * raises *bad. */
static void set(json_t *obj, const char *key, json_t *val, int *bad)
{
    if (!val || json_object_set_new(obj, key, val) != 0)
        *bad = 1;
}

/*
 * One milestone's clock: {"due", "met_at", then "on_time" once met, else "left_s" (before
 * the deadline) or "overdue_s" (from the deadline on: 0 at the second its breach fires)}. A cancelled complaint's clocks stopped: an unmet milestone
 * then has neither count. A report under review keeps the close clock running (the deadline
 * still applies after a rejection), as /status shows it.
 */
static json_t *clock_json(const struct complaint *c, int64_t due, int64_t met_at, int64_t now)
{
    int bad = 0;
    json_t *o = json_object();
    if (!o)
        return NULL;
    set(o, "due", http__time_json(due), &bad);
    set(o, "met_at", http__time_json(met_at), &bad);
    bool stopped = c->state == STATE_CANCELLED || c->state == STATE_CLOSED;
    if (met_at)
        set(o, "on_time", json_boolean(met_at <= due), &bad);
    else if (!stopped && due > now)
        set(o, "left_s", json_integer(due - now), &bad);
    else if (!stopped)
        set(o, "overdue_s", json_integer(now - due), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *http__complaint_json(const struct complaint *c, int64_t now)
{
    char id[32];
    int bad = 0;
    json_t *o = json_object();
    json_t *customer = json_object();
    json_t *deadlines = json_object();
    json_t *met = json_object();
    json_t *clocks = json_object();

    if (!o || !customer || !deadlines || !met || !clocks) {
        json_decref(o);
        json_decref(customer);
        json_decref(deadlines);
        json_decref(met);
        json_decref(clocks);
        return NULL;
    }
    set(customer, "name", http__str_json(c->customer_name), &bad);
    set(customer, "phone", http__str_json(c->customer_phone), &bad);
    set(deadlines, "ack", http__time_json(c->due.ack_due), &bad);
    set(deadlines, "solution", http__time_json(c->due.solution_due), &bad);
    set(deadlines, "close", http__time_json(c->due.close_due), &bad);
    set(met, "ack", http__time_json(c->ack_at), &bad);
    set(met, "solution", http__time_json(c->solution_at), &bad);
    set(met, "close", http__time_json(c->closed_at), &bad);
    set(clocks, "ack", clock_json(c, c->due.ack_due, c->ack_at, now), &bad);
    set(clocks, "solution", clock_json(c, c->due.solution_due, c->solution_at, now), &bad);
    set(clocks, "close", clock_json(c, c->due.close_due, c->closed_at, now), &bad);

    set(o, "id", json_string(complaint_id_format(c->id, id, sizeof id)), &bad);
    set(o, "external_id", http__str_json(c->external_id), &bad);
    set(o, "state", json_string(complaint_state_name(c->state)), &bad);
    set(o, "dealer", http__str_json(c->dealer), &bad);
    set(o, "category", http__str_json(c->category), &bad);
    set(o, "priority", json_string(priority_name(c->priority)), &bad);
    set(o, "policy", http__str_json(c->policy), &bad);
    set(o, "customer", customer, &bad);
    set(o, "summary", http__str_json(c->summary), &bad);
    set(o, "details", http__str_json(c->details), &bad);
    set(o, "received_at", http__time_json(c->received_at), &bad);
    set(o, "created_at", http__time_json(c->created_at), &bad);
    set(o, "updated_at", http__time_json(c->updated_at), &bad);
    set(o, "owner", http__str_json(c->owner), &bad);
    set(o, "deadlines", deadlines, &bad);
    set(o, "milestones", met, &bad);
    set(o, "sla", clocks, &bad);
    set(o, "eta", http__str_json(c->eta), &bad);
    set(o, "solution", http__str_json(c->solution), &bad);
    if (c->report_at) {
        json_t *report = json_pack("{s:o,s:o,s:o}", "cause", http__str_json(c->cause), "fix",
                                   http__str_json(c->fix), "prevent",
                                   http__str_json(c->prevent));
        set(o, "report", report, &bad);
        set(o, "report_at", http__time_json(c->report_at), &bad);
    } else {
        set(o, "report", json_null(), &bad);
    }
    set(o, "reopened", json_integer(c->reopened), &bad);
    if (c->satisfaction) {
        set(o, "satisfaction",
            json_pack("{s:i,s:o,s:o}", "score", c->satisfaction, "comment",
                      http__str_json(c->satisfaction_comment), "at",
                      http__time_json(c->satisfaction_at)),
            &bad);
    } else {
        set(o, "satisfaction", json_null(), &bad);
    }
    set(o, "rejected", json_integer(c->rejected), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *http__dealer_json(const struct dealer *d)
{
    int bad = 0;
    json_t *o = json_object();
    if (!o)
        return NULL;
    set(o, "code", http__str_json(d->code), &bad);
    set(o, "name", http__str_json(d->name), &bad);
    set(o, "region", http__str_json(d->region ? d->region : ""), &bad);
    set(o, "sales_volume", d->sales_volume >= 0 ? json_integer(d->sales_volume) : json_null(),
        &bad);
    set(o, "timezone", http__str_json(d->timezone), &bad);
    set(o, "calendar", http__str_json(d->calendar), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *http__timeline_event_json(const struct timeline_event *ev)
{
    int bad = 0;
    json_t *o = json_object();
    if (!o)
        return NULL;
    set(o, "at", http__time_json(ev->at), &bad);
    set(o, "actor", http__str_json(ev->actor), &bad);
    set(o, "kind", http__str_json(ev->kind), &bad);
    set(o, "detail", http__str_json(ev->detail), &bad);
    set(o, "message_id", http__str_json(ev->message_id), &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
