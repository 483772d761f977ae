/*
 * test_csv.c — the RFC 4180 reader: line ends, quoting, blank lines, limits, UTF-8, and the
 * line numbers in its one-line errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dealerbot/csv.h"

/* Reads the next row and checks it has exactly the `n` given fields. */
static void expect_row(struct csv_reader *r, size_t n, ...)
{
    struct dbot_diag d = {{0}};
    int rc = csv_next_row(r, &d);
    if (rc != 0)
        fail_msg("expected a row, got %d (%s)", rc, d.msg);
    assert_int_equal(r->n_fields, n);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(r->fields[i], va_arg(ap, const char *));
    va_end(ap);
}

static void expect_end(struct csv_reader *r)
{
    struct dbot_diag d = {{0}};
    assert_int_equal(csv_next_row(r, &d), 1);
}

/* Parses `text` until the first error and checks its message. */
static void expect_error(const char *text, size_t len, const char *msg)
{
    struct csv_reader r;
    struct dbot_diag d = {{0}};
    int rc;
    csv_reader_init(&r, text, len);
    while ((rc = csv_next_row(&r, &d)) == 0)
        ;
    assert_int_equal(rc, DBOT_ERR_INVALID);
    assert_string_equal(d.msg, msg);
    /* After an error the reader is exhausted. */
    assert_int_equal(csv_next_row(&r, &d), 1);
    csv_reader_cleanup(&r);
}

#define S(lit) lit, sizeof(lit) - 1

static void test_simple_lf(void **state)
{
    (void)state;
    struct csv_reader r;
    csv_reader_init(&r, S("code,name\nD1,One\nD2,Two\n"));
    expect_row(&r, 2, "code", "name");
    assert_int_equal(r.row, 1);
    assert_int_equal(r.line, 1);
    expect_row(&r, 2, "D1", "One");
    assert_int_equal(r.row, 2);
    assert_int_equal(r.line, 2);
    expect_row(&r, 2, "D2", "Two");
    assert_int_equal(r.line, 3);
    expect_end(&r);
    expect_end(&r);
    csv_reader_cleanup(&r);
}

static void test_crlf_no_final_newline(void **state)
{
    (void)state;
    struct csv_reader r;
    csv_reader_init(&r, S("a,b\r\nc,d\r\ne,f"));
    expect_row(&r, 2, "a", "b");
    expect_row(&r, 2, "c", "d");
    expect_row(&r, 2, "e", "f");
    assert_int_equal(r.line, 3);
    assert_int_equal(r.row, 3);
    expect_end(&r);
    csv_reader_cleanup(&r);
}

static void test_lone_cr(void **state)
{
    (void)state;
    struct csv_reader r;
    csv_reader_init(&r, S("a,b\rc,d\r"));
    expect_row(&r, 2, "a", "b");
    expect_row(&r, 2, "c", "d");
    assert_int_equal(r.line, 2);
    expect_end(&r);
    csv_reader_cleanup(&r);
}

static void test_bom(void **state)
{
    (void)state;
    struct csv_reader r;
    csv_reader_init(&r, S("\xEF\xBB\xBF"
                          "code,name\r\n"));
    expect_row(&r, 2, "code", "name");
    expect_end(&r);
    csv_reader_cleanup(&r);

    csv_reader_init(&r, S("\xEF\xBB\xBF"));
    expect_end(&r);
    csv_reader_cleanup(&r);

    /* Only a leading BOM is skipped; a BOM later on is text. */
    csv_reader_init(&r, S("a\n\xEF\xBB\xBF"
                          "b\n"));
    expect_row(&r, 1, "a");
    expect_row(&r, 1,
               "\xEF\xBB\xBF"
               "b");
    csv_reader_cleanup(&r);
}

static void test_empty_input(void **state)
{
    (void)state;
    struct csv_reader r;
    csv_reader_init(&r, NULL, 0);
    expect_end(&r);
    csv_reader_cleanup(&r);
    csv_reader_init(&r, S(""));
    expect_end(&r);
    csv_reader_cleanup(&r);
    csv_reader_init(&r, S("\n\r\n\r\n\n"));
    expect_end(&r);
    csv_reader_cleanup(&r);
    /* cleanup twice and on a never-used reader is harmless */
    csv_reader_cleanup(&r);
}

static void test_quoted(void **state)
{
    (void)state;
    struct csv_reader r;
    csv_reader_init(&r, S("\"a,b\",\"say \"\"hi\"\"\",\"\",plain\n"
                          "\"\"\"\",x\n"));
    expect_row(&r, 4, "a,b", "say \"hi\"", "", "plain");
    expect_row(&r, 2, "\"", "x");
    expect_end(&r);
    csv_reader_cleanup(&r);
}

static void test_embedded_newlines_and_line_numbers(void **state)
{
    (void)state;
    struct csv_reader r;
    csv_reader_init(&r, S("h1,h2\r\n"
                          "\"line one\r\nline two\",x\r\n"
                          "\"a\nb\nc\",\"d\re\"\r\n"
                          "last,row\r\n"));
    expect_row(&r, 2, "h1", "h2");
    assert_int_equal(r.line, 1);
    expect_row(&r, 2, "line one\r\nline two", "x");
    assert_int_equal(r.line, 2);
    assert_int_equal(r.row, 2);
    expect_row(&r, 2, "a\nb\nc", "d\re");
    assert_int_equal(r.line, 4);
    assert_int_equal(r.row, 3);
    expect_row(&r, 2, "last", "row");
    assert_int_equal(r.line, 8);
    assert_int_equal(r.row, 4);
    expect_end(&r);
    csv_reader_cleanup(&r);

    /* A CR that ends a quoted part next to an escaped quote still counts once. */
    csv_reader_init(&r, S("\"a\r\"\"\n\"\nz\n"));
    expect_row(&r, 1, "a\r\"\n");
    expect_row(&r, 1, "z");
    assert_int_equal(r.line, 4);
    csv_reader_cleanup(&r);
}

static void test_blank_lines_skipped(void **state)
{
    (void)state;
    struct csv_reader r;
    csv_reader_init(&r, S("\r\n\r\na,b\r\n\r\n\nc,d\n\n"));
    expect_row(&r, 2, "a", "b");
    assert_int_equal(r.line, 3);
    assert_int_equal(r.row, 1);
    expect_row(&r, 2, "c", "d");
    assert_int_equal(r.line, 6);
    assert_int_equal(r.row, 2);
    expect_end(&r);
    csv_reader_cleanup(&r);
}

static void test_empty_fields(void **state)
{
    (void)state;
    struct csv_reader r;
    csv_reader_init(&r, S(",,\na,\n,b\n\"\"\na,"));
    expect_row(&r, 3, "", "", "");
    expect_row(&r, 2, "a", "");
    expect_row(&r, 2, "", "b");
    expect_row(&r, 1, ""); /* a quoted empty field is a row, not a blank line */
    expect_row(&r, 2, "a", "");
    expect_end(&r);
    csv_reader_cleanup(&r);
}

static void test_lenient_inner_quote_and_spaces(void **state)
{
    (void)state;
    struct csv_reader r;
    /* Excel reads a quote inside an unquoted field as text; spaces are kept as they are. */
    csv_reader_init(&r, S("5\" wheel, padded ,x\n"));
    expect_row(&r, 3, "5\" wheel", " padded ", "x");
    csv_reader_cleanup(&r);
}

static void test_chinese(void **state)
{
    (void)state;
    struct csv_reader r;
    csv_reader_init(&r, S("\xEF\xBB\xBF"
                          "code,name,region\r\n"
                          "SH01,上海浦东汽车销售服务有限公司,华东\r\n"
                          "BJ02,\"北京\"\"朝阳\"\"店\",华北\r\n"));
    expect_row(&r, 3, "code", "name", "region");
    expect_row(&r, 3, "SH01", "上海浦东汽车销售服务有限公司", "华东");
    expect_row(&r, 3, "BJ02", "北京\"朝阳\"店", "华北");
    expect_end(&r);
    csv_reader_cleanup(&r);
}

static void test_unterminated_quote(void **state)
{
    (void)state;
    expect_error(S("a,b\nc,\"open\nstill open\n"), "line 2: unterminated quoted field");
    expect_error(S("\""), "line 1: unterminated quoted field");
    expect_error(S("h\n\n\"x\"\"\n"), "line 3: unterminated quoted field");
}

static void test_text_after_quote(void **state)
{
    (void)state;
    expect_error(S("a\n\"ab\"c,d\n"), "line 2: text after closing quote");
    expect_error(S("\"multi\nline\" x\n"), "line 2: text after closing quote");
    expect_error(S("\"a\"\"b\" \n"), "line 1: text after closing quote");
}

static void test_field_count_limit(void **state)
{
    (void)state;
    char text[200];
    size_t len = 0;
    for (int i = 0; i < CSV_MAX_FIELDS; i++) {
        text[len++] = (char)('a' + i % 26);
        text[len++] = i + 1 < CSV_MAX_FIELDS ? ',' : '\n';
    }
    struct csv_reader r;
    csv_reader_init(&r, text, len);
    struct dbot_diag d = {{0}};
    assert_int_equal(csv_next_row(&r, &d), 0);
    assert_int_equal(r.n_fields, CSV_MAX_FIELDS);
    assert_string_equal(r.fields[31], "f");
    csv_reader_cleanup(&r);

    /* One more (even an empty trailing one) is too many. */
    memcpy(text + len - 1, ",\n", 2);
    len++;
    char with_header[220] = "x\n";
    memcpy(with_header + 2, text, len);
    expect_error(with_header, len + 2, "line 2: more than 32 fields");
}

static void test_field_length_limit(void **state)
{
    (void)state;
    size_t max = CSV_MAX_FIELD_LEN;
    char *text = malloc(2 * max + 16);
    assert_non_null(text);
    struct csv_reader r;
    struct dbot_diag d = {{0}};

    memset(text, 'x', max);
    csv_reader_init(&r, text, max);
    assert_int_equal(csv_next_row(&r, &d), 0);
    assert_int_equal(strlen(r.fields[0]), max);
    csv_reader_cleanup(&r);

    memset(text, 'x', max + 1);
    expect_error(text, max + 1, "line 1: field longer than 4096 bytes");

    /* Quoted: the decoded length counts, so 4096 escaped quotes are 4096 bytes. */
    text[0] = '"';
    for (size_t i = 0; i < max; i++)
        memcpy(text + 1 + 2 * i, "\"\"", 2);
    text[1 + 2 * max] = '"';
    csv_reader_init(&r, text, 2 * max + 2);
    assert_int_equal(csv_next_row(&r, &d), 0);
    assert_int_equal(strlen(r.fields[0]), max);
    assert_int_equal(r.fields[0][max - 1], '"');
    csv_reader_cleanup(&r);

    text[0] = '"';
    memset(text + 1, 'y', max + 1);
    text[max + 2] = '"';
    expect_error(text, max + 3, "line 1: field longer than 4096 bytes");
    free(text);
}

static void test_widest_row(void **state)
{
    (void)state;
    /* 32 fields of 4096 bytes: the largest record, to exercise buffer growth. */
    size_t max = CSV_MAX_FIELD_LEN, len = 0;
    char *text = malloc(CSV_MAX_FIELDS * (max + 1) * 2 + 8);
    assert_non_null(text);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < CSV_MAX_FIELDS; i++) {
            memset(text + len, 'a' + i % 26, max);
            len += max;
            text[len++] = i + 1 < CSV_MAX_FIELDS ? ',' : '\n';
        }
    struct csv_reader r;
    struct dbot_diag d = {{0}};
    csv_reader_init(&r, text, len);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(csv_next_row(&r, &d), 0);
        assert_int_equal(r.n_fields, CSV_MAX_FIELDS);
        for (int i = 0; i < CSV_MAX_FIELDS; i++) {
            assert_int_equal(strlen(r.fields[i]), max);
            assert_int_equal(r.fields[i][0], 'a' + i % 26);
        }
    }
    expect_end(&r);
    csv_reader_cleanup(&r);
    free(text);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    expect_error(S("ok\nbad,\xC3(\n"), "line 2: not valid UTF-8");
    expect_error(S("\xED\xA0\x80\n"), "line 1: not valid UTF-8");    /* surrogate */
    expect_error(S("\xC0\xAF\n"), "line 1: not valid UTF-8");        /* overlong */
    expect_error(S("a\n\"x\ny\xFF\"\n"), "line 2: not valid UTF-8"); /* field's first line */
    expect_error(S("a,b\0c\n"), "line 1: not valid UTF-8");          /* NUL byte */
    expect_error(S("\"\xE4\xB8\"\n"), "line 1: not valid UTF-8");    /* truncated 中 */
}

static void test_null_diag(void **state)
{
    (void)state;
    struct csv_reader r;
    csv_reader_init(&r, S("\"open"));
    assert_int_equal(csv_next_row(&r, NULL), DBOT_ERR_INVALID);
    csv_reader_cleanup(&r);
}

/* The writer: plain cells as they are, RFC 4180 quoting, formula cells neutralised (OWASP),
 * numbers left numbers, and snprintf's contract when the buffer is short. */
static void test_field_format(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"SH001", "SH001"},
        {"上海浦东汽车", "上海浦东汽车"},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {" padded", "\" padded\""},
        {"=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
        {"+1+cmd|' /C calc'!A0", "\"'+1+cmd|' /C calc'!A0\""},
        {"-2+3", "\"'-2+3\""},
        {"@SUM(A1)", "\"'@SUM(A1)\""},
        {"\t=1", "\"'\t=1\""},
        {"\r=1", "\"'\r=1\""},
        {"-", "\"'-\""},
        {"-12", "-12"},
        {"-0.25", "-0.25"},
        {"+3", "+3"},
        {"-1.", "\"'-1.\""},
        {"-1e5", "\"'-1e5\""},
        {"a=1", "a=1"},
        {"12.50", "12.50"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128];
        size_t n = csv_field_format(cases[i].in, buf, sizeof buf);
        assert_string_equal(buf, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));
        /* every output reads back as the input (with the neutralising quote) */
        struct csv_reader r;
        csv_reader_init(&r, buf, n);
        if (n > 0) {
            assert_int_equal(csv_next_row(&r, NULL), 0);
            assert_int_equal(r.n_fields, 1);
            const char *want = cases[i].in;
            if (cases[i].out[0] == '"' && cases[i].out[1] == '\'' && cases[i].in[0] != '\'')
                assert_true(r.fields[0][0] == '\'' && strcmp(r.fields[0] + 1, want) == 0);
            else
                assert_string_equal(r.fields[0], want);
        }
        csv_reader_cleanup(&r);
    }
    /* a short buffer: cut and terminated, the full length returned */
    char small[4];
    assert_int_equal(csv_field_format("=abc", small, sizeof small), 7);
    assert_string_equal(small, "\"'=");
    assert_int_equal(csv_field_format("abc", NULL, 0), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_lf),
        cmocka_unit_test(test_crlf_no_final_newline),
        cmocka_unit_test(test_lone_cr),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_quoted),
        cmocka_unit_test(test_embedded_newlines_and_line_numbers),
        cmocka_unit_test(test_blank_lines_skipped),
        cmocka_unit_test(test_empty_fields),
        cmocka_unit_test(test_lenient_inner_quote_and_spaces),
        cmocka_unit_test(test_chinese),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_text_after_quote),
        cmocka_unit_test(test_field_count_limit),
        cmocka_unit_test(test_field_length_limit),
        cmocka_unit_test(test_widest_row),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_null_diag),
        cmocka_unit_test(test_field_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
