/*
 * test_complaint.c — the pure complaint helpers: intake JSON validation (every fault class and
 * its message), ids, enum names and deadlines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dealerbot/complaint.h"

static const char good[] =
    "{\"external_id\": \" crm-1 \", \"dealer\": \"D001\", \"category\": \"sales\","
    " \"priority\": \"vip\", \"customer\": {\"name\": \"张三\", \"phone\": \"13800000000\"},"
    " \"summary\": \"车辆异响\\n第二次\", \"details\": \"more\","
    " \"received_at\": \"2026-11-23T22:30:00+08:00\", \"extra\": [1, 2]}";

static int parse(const char *body, struct intake *in, enum intake_fault *fault,
                 struct dbot_diag *diag)
{
    return intake_parse_json(body, strlen(body), in, fault, diag);
}

static void test_intake_good(void **state)
{
    (void)state;
    struct intake in;
    enum intake_fault fault;
    struct dbot_diag diag = {0};
    assert_int_equal(parse(good, &in, &fault, &diag), 0);
    assert_int_equal(fault, INTAKE_FAULT_NONE);
    assert_string_equal(in.external_id, "crm-1"); /* trimmed */
    assert_string_equal(in.dealer, "D001");
    assert_int_equal(in.priority, PRIORITY_VIP);
    assert_string_equal(in.customer_name, "张三");
    assert_string_equal(in.summary, "车辆异响\n第二次");
    assert_string_equal(in.details, "more");
    assert_int_equal(in.received_at, 1795444200); /* 2026-11-23T14:30:00Z */
    intake_cleanup(&in);
}

static void test_intake_defaults(void **state)
{
    (void)state;
    const char *body = "{\"external_id\":\"x\",\"dealer\":\"D1\",\"category\":\"c\","
                       "\"customer\":{\"name\":\"n\",\"phone\":\"1\"},\"summary\":\"s\","
                       "\"details\":null}";
    struct intake in;
    enum intake_fault fault;
    struct dbot_diag diag = {0};
    assert_int_equal(parse(body, &in, &fault, &diag), 0);
    assert_int_equal(in.priority, PRIORITY_NORMAL);
    assert_null(in.details);
    assert_int_equal(in.received_at, 0);
    intake_cleanup(&in);
}

struct bad_case {
    const char *body;
    enum intake_fault fault;
    const char *msg_part;
};

static void test_intake_bad(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"{\"a\": 1,\n \"b\": }", INTAKE_FAULT_SYNTAX, "malformed JSON at line 2, column"},
        {"", INTAKE_FAULT_SYNTAX, "malformed JSON at line"},
        {"{\"external_id\": \"\xff\xfe\"}", INTAKE_FAULT_SYNTAX, "not valid UTF-8"},
        {"{\"a\":1,\"a\":2}", INTAKE_FAULT_SYNTAX, "malformed JSON"},
        {"[1,2]", INTAKE_FAULT_FIELD, "must be a JSON object"},
        {"{}", INTAKE_FAULT_FIELD, "missing field: external_id"},
        {"{\"external_id\":\"x\",\"dealer\":7}", INTAKE_FAULT_FIELD,
         "field dealer: must be a string"},
        {"{\"external_id\":\"x\",\"dealer\":\"   \"}", INTAKE_FAULT_FIELD,
         "missing field: dealer"},
        {"{\"external_id\":\"x\",\"dealer\":\"D\",\"category\":\"c\",\"priority\":\"high\"}",
         INTAKE_FAULT_FIELD, "must be one of normal, urgent, vip"},
        {"{\"external_id\":\"x\",\"dealer\":\"D\",\"category\":\"c\"}", INTAKE_FAULT_FIELD,
         "missing field: customer"},
        {"{\"external_id\":\"x\",\"dealer\":\"D\",\"category\":\"c\",\"customer\":\"bob\"}",
         INTAKE_FAULT_FIELD, "field customer: must be an object"},
        {"{\"external_id\":\"x\",\"dealer\":\"D\",\"category\":\"c\",\"customer\":{\"name\":\"n\"}}",
         INTAKE_FAULT_FIELD, "missing field: customer.phone"},
        {"{\"external_id\":\"x\",\"dealer\":\"D\",\"category\":\"c\",\"customer\":{\"name\":\"n\","
         "\"phone\":\"1\"}}",
         INTAKE_FAULT_FIELD, "missing field: summary"},
        {"{\"external_id\":\"x\",\"dealer\":\"D\",\"category\":\"c\",\"customer\":{\"name\":\"n\","
         "\"phone\":\"1\"},\"summary\":\"s\",\"received_at\":\"yesterday\"}",
         INTAKE_FAULT_FIELD, "field received_at: must be an RFC 3339"},
        {"{\"external_id\":\"a\\u0001b\"}", INTAKE_FAULT_FIELD, "control characters"},
        {"{\"external_id\":\"a\\u0000b\"}", INTAKE_FAULT_SYNTAX, "malformed JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct intake in = {0};
        enum intake_fault fault = INTAKE_FAULT_NONE;
        struct dbot_diag diag = {0};
        assert_int_equal(parse(cases[i].body, &in, &fault, &diag), DBOT_ERR_INVALID);
        if (fault != cases[i].fault || !strstr(diag.msg, cases[i].msg_part))
            fail_msg("case %zu: fault %d, message \"%s\", wanted \"%s\"", i, fault, diag.msg,
                     cases[i].msg_part);
        assert_null(in.dealer); /* nothing written on failure */
    }
}

static void test_intake_length_limit(void **state)
{
    (void)state;
    /* 500 Chinese characters are allowed (1,500 bytes); 501 are not. */
    char body[4096];
    char summary[2048] = "";
    for (int i = 0; i < 500; i++)
        strcat(summary, "车");
    snprintf(body, sizeof body,
             "{\"external_id\":\"x\",\"dealer\":\"D\",\"category\":\"c\",\"customer\":{\"name\":"
             "\"n\",\"phone\":\"1\"},\"summary\":\"%s\"}", summary);
    struct intake in;
    enum intake_fault fault;
    struct dbot_diag diag = {0};
    assert_int_equal(parse(body, &in, &fault, &diag), 0);
    intake_cleanup(&in);
    strcat(summary, "车");
    snprintf(body, sizeof body,
             "{\"external_id\":\"x\",\"dealer\":\"D\",\"category\":\"c\",\"customer\":{\"name\":"
             "\"n\",\"phone\":\"1\"},\"summary\":\"%s\"}", summary);
    assert_int_equal(parse(body, &in, &fault, &diag), DBOT_ERR_INVALID);
    assert_non_null(strstr(diag.msg, "longer than 500 characters"));
}

static void test_ids(void **state)
{
    (void)state;
    int64_t id;
    assert_int_equal(complaint_id_parse("C-123", &id), 0);
    assert_int_equal(id, 123);
    assert_int_equal(complaint_id_parse("c-7", &id), 0);
    assert_int_equal(id, 7);
    const char *bad[] = {"C-", "C-0", "C-12a", "X-1", "C123", "", "C-99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(complaint_id_parse(bad[i], &id), DBOT_ERR_INVALID);
    char buf[32];
    assert_string_equal(complaint_id_format(42, buf, sizeof buf), "C-42");
}

static void test_names(void **state)
{
    (void)state;
    enum priority p;
    enum complaint_state s;
    for (int i = PRIORITY_NORMAL; i <= PRIORITY_VIP; i++) {
        assert_int_equal(priority_parse(priority_name(i), &p), 0);
        assert_int_equal(p, i);
    }
    assert_string_equal(priority_policy_name(PRIORITY_NORMAL), "default");
    assert_string_equal(priority_policy_name(PRIORITY_VIP), "vip");
    for (int i = STATE_NEW; i <= STATE_CANCELLED; i++) {
        assert_int_equal(complaint_state_parse(complaint_state_name(i), &s), 0);
        assert_int_equal(s, i);
    }
    assert_int_equal(complaint_state_parse("open", &s), DBOT_ERR_INVALID);
}

static void test_deadlines(void **state)
{
    (void)state;
    struct sla_policy pol = {.name = "default", .ack_s = 12 * 3600, .solution_s = 5 * 86400,
                             .close_s = 15 * 86400};
    struct deadlines d;
    deadlines_compute(&pol, 1000, &d);
    assert_int_equal(d.ack_due, 1000 + 43200);
    assert_int_equal(d.solution_due, 1000 + 432000);
    assert_int_equal(d.close_due, 1000 + 1296000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intake_good),     cmocka_unit_test(test_intake_defaults),
        cmocka_unit_test(test_intake_bad),      cmocka_unit_test(test_intake_length_limit),
        cmocka_unit_test(test_ids),             cmocka_unit_test(test_names),
        cmocka_unit_test(test_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
