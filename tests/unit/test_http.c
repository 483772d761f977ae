/*
 * test_http.c — the pure parts of the HTTP layer: splitting http.listen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dealerbot/hostport.h"
#include "dealerbot/http.h"

static void test_listen_good(void **state)
{
    (void)state;
    static const struct {
        const char *in, *iface;
        int port;
    } cases[] = {
        {"127.0.0.1:8080", "127.0.0.1", 8080},
        {"[::1]:9000", "::1", 9000},
        {"*:80", "", 80},
        {"localhost:65535", "127.0.0.1", 65535}, /* lws binds an address, not a name */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char iface[64] = "x";
        int port = -1;
        struct dbot_diag diag = {0};
        if (http_listen_parse(cases[i].in, iface, sizeof iface, &port, &diag) != 0)
            fail_msg("%s: %s", cases[i].in, diag.msg);
        assert_string_equal(iface, cases[i].iface);
        assert_int_equal(port, cases[i].port);
    }
}

static void test_listen_bad(void **state)
{
    (void)state;
    const char *bad[] = {"", "8080", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536",
                         "127.0.0.1:-1", "[::1:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char iface[64];
        int port;
        struct dbot_diag diag = {0};
        if (http_listen_parse(bad[i], iface, sizeof iface, &port, &diag) != DBOT_ERR_INVALID)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_true(diag.msg[0] != '\0');
    }
}

/* The splitter both http.listen readers share (the config check and the bind). */
static void test_hostport(void **state)
{
    (void)state;
    const char *h = NULL, *p = NULL;
    size_t n = 0;
    assert_null(hostport_split("[fe80::1%eth0]:443", &h, &n, &p));
    assert_int_equal(n, 12);
    assert_memory_equal(h, "fe80::1%eth0", n);
    assert_string_equal(p, "443");
    assert_null(hostport_split("example.com:80", &h, &n, &p));
    assert_int_equal(n, 11);
    assert_string_equal(hostport_split("::1:80", &h, &n, &p),
                        "put an IPv6 address in brackets: [address]:port");
    assert_string_equal(hostport_split("[::1]80", &h, &n, &p), "expected [address]:port");
    assert_string_equal(hostport_split("host", &h, &n, &p), "expected host:port");
    assert_int_equal(hostport_port("65535"), 65535);
    assert_int_equal(hostport_port("0"), 0);
    assert_int_equal(hostport_port("65536"), -1);
    assert_int_equal(hostport_port(""), -1);
    assert_int_equal(hostport_port("080000"), -1);
    assert_int_equal(hostport_port("8a"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_listen_good),
        cmocka_unit_test(test_listen_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
