/* Unit tests for src/chat/xmpp/iqtrack.c: random ids, and an answer counts only from where
 * its request went. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chat/xmpp/iqtrack.h"

#define OWN "dealerbot@localhost"

static void test_ids_random_hex(void **state)
{
    (void)state;
    char a[IQ_ID_LEN + 1], b[IQ_ID_LEN + 1];
    assert_int_equal(iqtrack_new_id(a), 0);
    assert_int_equal(iqtrack_new_id(b), 0);
    assert_int_equal(strlen(a), IQ_ID_LEN);
    assert_int_equal(strspn(a, "0123456789abcdef"), IQ_ID_LEN);
    assert_string_not_equal(a, b);
}

static void test_from_rules(void **state)
{
    (void)state;
    /* a room: only the room itself, never an occupant speaking through it */
    assert_true(iqtrack_from_ok("r@conference.localhost", false, "R@Conference.Localhost", OWN));
    assert_false(iqtrack_from_ok("r@conference.localhost", false, "r@conference.localhost/eve",
                                 OWN));
    assert_false(iqtrack_from_ok("r@conference.localhost", false, "eve@localhost/x", OWN));
    assert_false(iqtrack_from_ok("r@conference.localhost", false, NULL, OWN));
    /* our own account: absent, or our bare JID */
    assert_true(iqtrack_from_ok(NULL, false, NULL, OWN));
    assert_true(iqtrack_from_ok(NULL, false, OWN, OWN));
    assert_false(iqtrack_from_ok(NULL, false, OWN "/other", OWN));
    assert_false(iqtrack_from_ok(NULL, false, "localhost", OWN));
    /* the server: its domain, or absent */
    assert_true(iqtrack_from_ok("localhost", true, "localhost", OWN));
    assert_true(iqtrack_from_ok("localhost", true, NULL, OWN));
    assert_false(iqtrack_from_ok("localhost", true, "eve@localhost", OWN));
}

static void test_take(void **state)
{
    (void)state;
    struct iqtrack t;
    iqtrack_init(&t);
    struct iq_pending *p, got;
    char ids[300][IQ_ID_LEN + 1];
    for (int i = 0; i < 300; i++) { /* past a few doublings */
        assert_int_equal(iqtrack_add(&t, "R@c", false, &p), 0);
        p->op = i;
        memcpy(ids[i], p->id, sizeof ids[i]);
    }
    assert_int_equal(t.n, 300);
    assert_int_equal(iqtrack_take(&t, "afm.1.r", "r@c", OWN, &got), IQ_UNKNOWN);
    assert_int_equal(iqtrack_take(&t, NULL, "r@c", OWN, &got), IQ_UNKNOWN);
    /* forged: the entry stays for the real answer */
    assert_int_equal(iqtrack_take(&t, ids[7], "r@c/eve", OWN, &got), IQ_FORGED);
    assert_int_equal(t.n, 300);
    assert_int_equal(iqtrack_take(&t, ids[7], "r@c", OWN, &got), IQ_MATCH);
    assert_int_equal(got.op, 7);
    assert_string_equal(got.to, "r@c"); /* lower-cased */
    iq_pending_cleanup(&got);
    assert_int_equal(iqtrack_take(&t, ids[7], "r@c", OWN, &got), IQ_UNKNOWN);
    iqtrack_drop(&t, ids[8]);
    assert_int_equal(iqtrack_take(&t, ids[8], "r@c", OWN, &got), IQ_UNKNOWN);
    assert_int_equal(t.n, 298);
    assert_int_equal(iqtrack_add(&t, NULL, false, &p), 0);
    assert_null(p->to);
    char own[IQ_ID_LEN + 1];
    memcpy(own, p->id, sizeof own);
    assert_int_equal(iqtrack_take(&t, own, NULL, OWN, &got), IQ_MATCH);
    iq_pending_cleanup(&got);
    iqtrack_clear(&t);
    assert_int_equal(t.n, 0);
    assert_int_equal(iqtrack_take(&t, ids[0], "r@c", OWN, &got), IQ_UNKNOWN);
    iqtrack_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_random_hex),
        cmocka_unit_test(test_from_rules),
        cmocka_unit_test(test_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
