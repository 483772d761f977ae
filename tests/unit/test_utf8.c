/* Unit tests for src/util/utf8.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dealerbot/utf8.h"

#define V(lit) utf8_valid(lit, sizeof(lit) - 1)

static void test_valid(void **state)
{
    (void)state;
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid(NULL, 0));
    assert_true(V("hello"));
    assert_true(V("\x7f"));
    assert_true(V("\xc2\x80"));         /* U+0080, smallest 2-byte */
    assert_true(V("\xdf\xbf"));         /* U+07FF */
    assert_true(V("\xe0\xa0\x80"));     /* U+0800, smallest 3-byte */
    assert_true(V("\xed\x9f\xbf"));     /* U+D7FF, just below surrogates */
    assert_true(V("\xee\x80\x80"));     /* U+E000, just above surrogates */
    assert_true(V("\xef\xbf\xbf"));     /* U+FFFF */
    assert_true(V("\xf0\x90\x80\x80")); /* U+10000 */
    assert_true(V("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
    assert_true(V("投诉 C-123 已受理"));
    assert_true(V("emoji \xf0\x9f\x98\x80 ok"));
}

static void test_invalid(void **state)
{
    (void)state;
    assert_false(utf8_valid("a\0b", 3)); /* NUL byte */
    assert_false(V("\x80"));             /* lone continuation */
    assert_false(V("\xbf"));
    assert_false(V("\xc0\x80"));                 /* overlong NUL */
    assert_false(V("\xc1\xbf"));                 /* overlong */
    assert_false(V("\xe0\x80\x80"));             /* overlong 3-byte */
    assert_false(V("\xe0\x9f\xbf"));             /* overlong U+07FF */
    assert_false(V("\xf0\x80\x80\x80"));         /* overlong 4-byte */
    assert_false(V("\xf0\x8f\xbf\xbf"));         /* overlong U+FFFF */
    assert_false(V("\xed\xa0\x80"));             /* U+D800 surrogate */
    assert_false(V("\xed\xbf\xbf"));             /* U+DFFF surrogate */
    assert_false(V("\xed\xa0\xbd\xed\xb8\x80")); /* CESU-8 pair */
    assert_false(V("\xf4\x90\x80\x80"));         /* U+110000 */
    assert_false(V("\xf5\x80\x80\x80"));
    assert_false(V("\xf8\x88\x80\x80\x80")); /* 5-byte form */
    assert_false(V("\xfe"));
    assert_false(V("\xff"));
    assert_false(V("\xc2")); /* truncated */
    assert_false(V("\xe4\xb8"));
    assert_false(V("\xf0\x9f\x98"));
    assert_false(V("ok\xe4\xb8"));
    assert_false(V("\xc2\x41")); /* bad continuation */
    assert_false(V("\xe4\x41\x80"));
    assert_false(V("\xe4\xb8\x41"));
    assert_false(V("\xf0\x9f\x41\x80"));
    assert_false(V("\xf0\x9f\x98\x41"));
}

/* A truncated sequence at the end of the given length is invalid even if the bytes after
 * the length would complete it. */
static void test_length_bound(void **state)
{
    (void)state;
    const char *s = "\xe4\xb8\xad";
    assert_true(utf8_valid(s, 3));
    assert_false(utf8_valid(s, 2));
    assert_false(utf8_valid(s, 1));
    assert_true(utf8_valid("abc\0def", 3));
}

/* Exhaustive over all 1- and 2-byte inputs and all 3-byte lead/second pairs: compare with a
 * reference decoder that checks the code point value directly. */
static int ref_len(const unsigned char *p, size_t len)
{
    uint32_t cp;
    size_t n;
    if (p[0] < 0x80) {
        return p[0] == 0 ? -1 : 1;
    } else if ((p[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return -1;
    }
    if (len < n)
        return -1;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    return (int)n;
}

static bool ref_valid(const unsigned char *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        int n = ref_len(p + i, len - i);
        if (n < 0)
            return false;
        i += (size_t)n;
    }
    return true;
}

static void test_exhaustive(void **state)
{
    (void)state;
    unsigned char b[4];
    for (int a = 0; a < 256; a++) {
        b[0] = (unsigned char)a;
        assert_int_equal(utf8_valid((char *)b, 1), ref_valid(b, 1));
        for (int c = 0; c < 256; c++) {
            b[1] = (unsigned char)c;
            assert_int_equal(utf8_valid((char *)b, 2), ref_valid(b, 2));
            b[2] = 0x80;
            assert_int_equal(utf8_valid((char *)b, 3), ref_valid(b, 3));
            b[2] = 0xBF;
            b[3] = 0x80;
            assert_int_equal(utf8_valid((char *)b, 4), ref_valid(b, 4));
        }
    }
}

static void test_count(void **state)
{
    (void)state;
    assert_int_equal(utf8_count("", 0), 0);
    assert_int_equal(utf8_count(NULL, 0), 0);
    assert_int_equal(utf8_count("abc", 3), 3);
    const char *s = "投诉 C-1";
    assert_int_equal(utf8_count(s, strlen(s)), 6);
    const char *e = "\xf0\x9f\x98\x80x";
    assert_int_equal(utf8_count(e, strlen(e)), 2);
}

static void test_cut(void **state)
{
    (void)state;
    const char *s = "ab投诉\xf0\x9f\x98\x80z"; /* 2 + 3 + 3 + 4 + 1 bytes, 6 characters */
    size_t len = strlen(s);
    bool cut = true;
    assert_int_equal(utf8_cut(s, len, SIZE_MAX, SIZE_MAX, &cut), len);
    assert_false(cut);
    /* every byte limit lands on a boundary at or below it */
    const size_t bounds[] = {0, 1, 2, 2, 2, 5, 5, 5, 8, 8, 8, 8, 12, 13};
    for (size_t max = 0; max <= len; max++) {
        size_t n = utf8_cut(s, len, SIZE_MAX, max, &cut);
        assert_int_equal(n, bounds[max]);
        assert_true(utf8_valid(s, n));
        assert_int_equal(cut, n < len);
    }
    /* code points, and both limits at once */
    assert_int_equal(utf8_cut(s, len, 3, SIZE_MAX, &cut), 5);
    assert_true(cut);
    assert_int_equal(utf8_cut(s, len, 5, 11, NULL), 8);
    assert_int_equal(utf8_cut(s, len, 0, SIZE_MAX, &cut), 0);
    assert_true(cut);
    assert_int_equal(utf8_cut(NULL, 0, 1, 1, &cut), 0);
    assert_false(cut);
    /* stray continuation bytes count as one character; a lead byte keeps its tail */
    assert_int_equal(utf8_cut("\x80\x80" "a", 3, 1, SIZE_MAX, NULL), 2);
    assert_int_equal(utf8_cut("\xe6\x8a", 2, SIZE_MAX, 1, NULL), 0);
}

static void test_scrub(void **state)
{
    (void)state;
    char a[] = "ok 投诉 \xe6\x8a end \xff\xc0\xaf \xed\xa0\x80";
    utf8_scrub(a);
    assert_string_equal(a, "ok 投诉 ?? end ??? ???");
    assert_true(utf8_valid(a, strlen(a)));
    char b[] = "\xf0\x9f\x98\x80";
    utf8_scrub(b);
    assert_string_equal(b, "\xf0\x9f\x98\x80");
    utf8_scrub(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_length_bound), cmocka_unit_test(test_exhaustive),
        cmocka_unit_test(test_count),       cmocka_unit_test(test_cut),
        cmocka_unit_test(test_scrub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
