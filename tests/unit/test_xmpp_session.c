/* Unit tests for the pure helpers of the XMPP session (src/chat/xmpp/session_util.c). The
 * session itself is exercised against a real Prosody by the integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chat/xmpp/session_util.h"

static struct xs_frame *mk(const char *text, const char *id)
{
    struct xs_frame *f = xs_frame_new(id ? XS_MSG : XS_STANZA, 16, text, strlen(text), id);
    assert_non_null(f);
    return f;
}

static void test_frame_headroom(void **state)
{
    (void)state;
    struct xs_frame *f = xs_frame_new(XS_NONZA, 16, "<r/>", 4, NULL);
    assert_non_null(f);
    assert_int_equal(f->len, 4);
    assert_memory_equal(xs_frame_text(f), "<r/>", 4);
    assert_int_equal(xs_frame_text(f)[4], '\0');
    assert_ptr_equal(xs_frame_text(f), f->mem + 16);
    assert_null(f->id);
    xs_frame_free(f);

    f = xs_frame_new(XS_MSG, 0, NULL, 3, "out-1");
    assert_non_null(f);
    assert_string_equal(f->id, "out-1");
    assert_memory_equal(xs_frame_text(f), "\0\0\0", 3);
    xs_frame_free(f);
    xs_frame_free(NULL);
}

static void test_fifo_order_and_counts(void **state)
{
    (void)state;
    struct xs_fifo q = {0};
    assert_null(xs_fifo_pop(&q));
    xs_fifo_push(&q, mk("<a/>", NULL));
    xs_fifo_push(&q, mk("<bb/>", "m1"));
    xs_fifo_push(&q, mk("<ccc/>", NULL));
    assert_int_equal(q.n, 3);
    assert_int_equal(q.bytes, 4 + 5 + 6);
    struct xs_frame *f = xs_fifo_pop(&q);
    assert_memory_equal(xs_frame_text(f), "<a/>", 4);
    xs_frame_free(f);
    assert_int_equal(q.n, 2);
    assert_int_equal(q.bytes, 11);
    xs_fifo_clear(&q);
    assert_int_equal(q.n, 0);
    assert_int_equal(q.bytes, 0);
    assert_null(q.head);
    assert_null(q.tail);
}

/* The resume path: unacked frames go in front of what was queued meanwhile. */
static void test_fifo_prepend_append(void **state)
{
    (void)state;
    struct xs_fifo out = {0}, unacked = {0};
    xs_fifo_push(&out, mk("<3/>", NULL));
    xs_fifo_push(&out, mk("<4/>", NULL));
    xs_fifo_push(&unacked, mk("<1/>", "a"));
    xs_fifo_push(&unacked, mk("<2/>", "b"));
    xs_fifo_prepend(&out, &unacked);
    assert_int_equal(unacked.n, 0);
    assert_null(unacked.head);
    assert_int_equal(out.n, 4);
    assert_int_equal(out.bytes, 16);
    const char *want[] = {"<1/>", "<2/>", "<3/>", "<4/>"};
    for (int i = 0; i < 4; i++) {
        struct xs_frame *f = xs_fifo_pop(&out);
        assert_memory_equal(xs_frame_text(f), want[i], 4);
        xs_frame_free(f);
    }
    assert_null(out.tail);

    /* prepend into an empty queue, append onto an empty queue, empty sources */
    struct xs_fifo a = {0}, b = {0};
    xs_fifo_push(&b, mk("<x/>", NULL));
    xs_fifo_prepend(&a, &b);
    assert_int_equal(a.n, 1);
    assert_ptr_equal(a.head, a.tail);
    xs_fifo_prepend(&a, &b);
    xs_fifo_append(&a, &b);
    assert_int_equal(a.n, 1);
    xs_fifo_push(&b, mk("<y/>", NULL));
    xs_fifo_append(&a, &b);
    assert_int_equal(a.n, 2);
    struct xs_frame *f = xs_fifo_pop(&a);
    assert_memory_equal(xs_frame_text(f), "<x/>", 4);
    xs_frame_free(f);
    f = xs_fifo_pop(&a);
    assert_memory_equal(xs_frame_text(f), "<y/>", 4);
    xs_frame_free(f);
    struct xs_fifo c = {0};
    xs_fifo_push(&b, mk("<z/>", NULL));
    xs_fifo_append(&c, &b);
    assert_ptr_equal(c.head, c.tail);
    xs_fifo_push(&c, mk("<w/>", NULL));
    assert_int_equal(c.n, 2);
    xs_fifo_clear(&c);
}

static void test_sm_ack_counts(void **state)
{
    (void)state;
    bool bogus;
    assert_int_equal(xs_sm_newly_acked(0, 0, 0, &bogus), 0);
    assert_false(bogus);
    assert_int_equal(xs_sm_newly_acked(10, 13, 5, &bogus), 3);
    assert_false(bogus);
    assert_int_equal(xs_sm_newly_acked(10, 15, 5, &bogus), 5);
    assert_false(bogus);
    /* the server claims more than we sent: clamped and flagged */
    assert_int_equal(xs_sm_newly_acked(10, 16, 5, &bogus), 5);
    assert_true(bogus);
    /* an old (smaller) h looks like a huge jump modulo 2^32: flagged, not trusted */
    assert_int_equal(xs_sm_newly_acked(10, 9, 5, &bogus), 5);
    assert_true(bogus);
}

/* XEP-0198 §5: h wraps to 0 after 2^32 - 1. */
static void test_sm_wraparound(void **state)
{
    (void)state;
    bool bogus;
    assert_int_equal(xs_sm_newly_acked(UINT32_MAX - 1, 2, 10, &bogus), 4);
    assert_false(bogus);
    assert_int_equal(xs_sm_newly_acked(UINT32_MAX, 0, 1, &bogus), 1);
    assert_false(bogus);
    assert_int_equal(xs_sm_newly_acked(UINT32_MAX - 2, UINT32_MAX, 2, &bogus), 2);
    assert_false(bogus);
    uint32_t acked = UINT32_MAX - 1;
    acked += xs_sm_newly_acked(acked, 3, 7, &bogus);
    assert_int_equal(acked, 3);
}

static void test_backoff(void **state)
{
    (void)state;
    /* no jitter: 1, 2, 4, 8, 16, 30, 30 s */
    const uint32_t want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    for (unsigned i = 0; i < 7; i++)
        assert_int_equal(xs_backoff_ms(i, 1000, 30000, 0, 12345), want[i]);
    assert_int_equal(xs_backoff_ms(1000, 1000, 30000, 0, 0), 30000); /* no overflow */
    /* ±20 %: bounds reached at the extremes of rnd, always inside them */
    assert_int_equal(xs_backoff_ms(0, 1000, 30000, 20, 0), 800);
    assert_int_equal(xs_backoff_ms(0, 1000, 30000, 20, 400), 1200);
    for (uint32_t r = 0; r < 5000; r += 7) {
        uint32_t d = xs_backoff_ms(3, 1000, 30000, 20, r * 2654435761u);
        assert_true(d >= 6400 && d <= 9600);
    }
    /* the cap holds after the jitter (DESIGN.md: cap 30 s): 16 s + 20 % is 19.2 s, but 32 s
     * or more - 20 % ends at 30 s; below the cap the jitter still spreads the waits */
    assert_int_equal(xs_backoff_ms(4, 1000, 30000, 20, 400), 19200);
    assert_int_equal(xs_backoff_ms(5, 1000, 30000, 20, 400), 30000);
    assert_int_equal(xs_backoff_ms(5, 1000, 30000, 20, 0), 24000);
    for (unsigned a = 0; a < 40; a++) {
        for (uint32_t r = 0; r < 2000; r += 3) {
            uint32_t d = xs_backoff_ms(a, 1000, 30000, 20, r * 2654435761u);
            assert_true(d <= 30000);
            assert_true(d >= 800);
        }
    }
}

static void test_jid_helpers(void **state)
{
    (void)state;
    char b[64];
    assert_int_equal(xs_jid_bare("Alice@LocalHost/Res/x", b, sizeof b), 0);
    assert_string_equal(b, "alice@localhost");
    assert_int_equal(xs_jid_bare("room@conference.localhost", b, sizeof b), 0);
    assert_string_equal(b, "room@conference.localhost");
    assert_int_equal(xs_jid_bare("/res", b, sizeof b), -1);
    assert_int_equal(xs_jid_bare(NULL, b, sizeof b), -1);
    assert_int_equal(xs_jid_bare("abcdef", b, 6), -1); /* no room for the NUL */
    assert_int_equal(xs_jid_bare("abcde", b, 6), 0);
    assert_string_equal(xs_jid_resource("r@m/nick/with/slash"), "nick/with/slash");
    assert_null(xs_jid_resource("r@m"));
    assert_string_equal(xs_jid_resource("r@m/"), "");
    assert_true(xs_jid_bare_eq("Dealer-SH001@Conference.localhost/bob", "dealer-sh001@conference.localhost"));
    assert_false(xs_jid_bare_eq("dealer-sh0011@conference.localhost/bob", "dealer-sh001@conference.localhost"));
    assert_false(xs_jid_bare_eq("dealer@c", "dealer@c.d"));
    assert_false(xs_jid_bare_eq(NULL, "x"));
    /* Unicode case, folded as the server does */
    assert_int_equal(xs_jid_bare("Émile@LocalHost/Phone", b, sizeof b), 0);
    assert_string_equal(b, "émile@localhost");
    assert_true(xs_jid_bare_eq("ÉMILE@localhost/x", "émile@localhost"));
    assert_true(xs_jid_bare_eq("Dealer-ÄÖ@Conference.localhost", "dealer-äö@conference.localhost"));
    assert_false(xs_jid_bare_eq("émile@localhost", "emile@localhost"));
    assert_int_equal(xs_jid_bare("a b@localhost", b, sizeof b), -1); /* nodeprep refuses */
}

static void test_dedup_key(void **state)
{
    (void)state;
    char a[256], b[256];
    /* the room's stanza-id wins; the room is part of the key */
    assert_int_equal(xs_dedup_key(a, sizeof a, "dealer-sh001", "wang@x", "S1", "m1"), 0);
    assert_string_equal(a, "sid:dealer-sh001/S1");
    assert_int_equal(xs_dedup_key(b, sizeof b, "dealer-bj002", "wang@x", "S1", "m1"), 0);
    assert_string_not_equal(a, b);
    /* the client's id: the same id from the same sender in two rooms is two messages, and a
     * direct message is a third */
    assert_int_equal(xs_dedup_key(a, sizeof a, "dealer-sh001", "wang@x", NULL, "m1"), 0);
    assert_string_equal(a, "id:dealer-sh001/wang@x/m1");
    assert_int_equal(xs_dedup_key(b, sizeof b, "dealer-bj002", "wang@x", NULL, "m1"), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(xs_dedup_key(b, sizeof b, NULL, "wang@x", "", "m1"), 0);
    assert_string_equal(b, "id:-/wang@x/m1");
    assert_int_equal(xs_dedup_key(b, sizeof b, "dealer-sh001", "li@x", NULL, "m1"), 0);
    assert_string_not_equal(a, b);
    /* the same message again — a resumed stream, or the next run of the daemon — gets the
     * same key: nothing in it depends on the process */
    assert_int_equal(xs_dedup_key(b, sizeof b, "dealer-sh001", "wang@x", NULL, "m1"), 0);
    assert_string_equal(a, b);
    /* an id with '/' in it cannot pass for another room or sender */
    assert_int_equal(xs_dedup_key(a, sizeof a, "r", "wang@x", NULL, "a/b"), 0);
    assert_int_equal(xs_dedup_key(b, sizeof b, "r", "wang@x/a", NULL, "b"), 0);
    assert_string_equal(a, "id:r/wang@x/a/b");
    /* (a bare sender never holds a '/': the session passes bare JIDs only) */
    /* no id at all: no key (such a message is not de-duplicated), in every run alike */
    assert_int_equal(xs_dedup_key(a, sizeof a, "dealer-sh001", "wang@x", NULL, NULL), 1);
    assert_int_equal(xs_dedup_key(a, sizeof a, NULL, "wang@x", "", ""), 1);
    /* too long: -1, never a cut key that two ids could share */
    assert_int_equal(xs_dedup_key(a, 12, "dealer-sh001", "wang@x", NULL, "m1"), -1);
    assert_int_equal(xs_dedup_key(a, 20, "r", "w@x", NULL, "0123456789"), 0);
    assert_int_equal(xs_dedup_key(a, 19, "r", "w@x", NULL, "0123456789"), -1);
}

static void test_client_ns(void **state)
{
    (void)state;
    const char *iq = "<iq type='set' id='b'><bind/></iq>";
    assert_int_equal(xs_client_ns_pos(iq, strlen(iq)), 3);
    const char *msg = "<message to='a@b' id='1'><body>xmlns=</body></message>";
    assert_int_equal(xs_client_ns_pos(msg, strlen(msg)), 8);
    assert_int_equal(xs_client_ns_pos("<presence/>", 11), 9);
    const char *done = "<iq xmlns='jabber:client' type='get' id='p'/>";
    assert_int_equal(xs_client_ns_pos(done, strlen(done)), 0);
    assert_int_equal(xs_client_ns_pos("<r xmlns='urn:xmpp:sm:3'/>", 26), 0);
    assert_int_equal(xs_client_ns_pos("<iqx/>", 6), 0);
    assert_int_equal(xs_client_ns_pos("<open xmlns='x'/>", 17), 0);
    assert_int_equal(xs_client_ns_pos("", 0), 0);
    /* an xmlns inside a child does not count */
    const char *child = "<iq type='get' id='x'><ping xmlns='urn:xmpp:ping'/></iq>";
    assert_int_equal(xs_client_ns_pos(child, strlen(child)), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_headroom),
        cmocka_unit_test(test_fifo_order_and_counts),
        cmocka_unit_test(test_fifo_prepend_append),
        cmocka_unit_test(test_sm_ack_counts),
        cmocka_unit_test(test_sm_wraparound),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_jid_helpers),
        cmocka_unit_test(test_dedup_key),
        cmocka_unit_test(test_client_ns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
