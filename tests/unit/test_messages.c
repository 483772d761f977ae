/*
 * test_messages.c — the chat templates: the shipped config/messages files against the table
 * (every key in both languages, every placeholder allowed, every one actually filled), the
 * fallback between languages, each syntax error with its line number, escapes, rendering
 * (missing var, literal braces, multi-byte text), and an allocation-failure loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dealerbot/messages.h"
#include "dealerbot/utf8.h"

#include "unit_util.h"

/* A temp directory for one test's .msg files. */
struct fx {
    char dir[256];
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/dbot-msg-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static void remove_file(const struct fx *fx, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", fx->dir, name);
    unlink(p);
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    remove_file(fx, "zh-CN.msg");
    remove_file(fx, "en.msg");
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static void write_bytes(const struct fx *fx, const char *name, const char *data, size_t len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", fx->dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_pair(const struct fx *fx, const char *zh, const char *en)
{
    write_bytes(fx, "zh-CN.msg", zh, strlen(zh));
    write_bytes(fx, "en.msg", en, strlen(en));
}

static struct messages *load_ok(const struct fx *fx)
{
    struct messages *m = NULL;
    struct dbot_diag d = {{0}};
    int rc = messages_load(fx->dir, &m, &d);
    if (rc != 0)
        fail_msg("load failed (%d): %s", rc, d.msg);
    assert_non_null(m);
    return m;
}

/* Loads zh (en empty) and expects DBOT_ERR_INVALID with exactly "DIR/zh-CN.msg:" + want. */
static void expect_error(const struct fx *fx, const char *zh, const char *want)
{
    write_pair(fx, zh, "");
    struct messages *m = (struct messages *)0x1;
    struct dbot_diag d = {{0}};
    int rc = messages_load(fx->dir, &m, &d);
    char full[512];
    snprintf(full, sizeof full, "%s/zh-CN.msg:%s", fx->dir, want);
    if (rc != DBOT_ERR_INVALID || strcmp(d.msg, full) != 0)
        fail_msg("input %s\n got %d \"%s\"\nwant \"%s\"", zh, rc, d.msg, full);
    assert_ptr_equal(m, (struct messages *)0x1); /* untouched on failure */
}

/* ---- the shipped files ---- */

static void on_missing(const char *lang, const char *key, void *arg)
{
    (void)arg;
    print_error("config/messages/%s.msg lacks key %s\n", lang, key);
}

/* Fills every placeholder a key allows with "<name>" and checks nothing is left unfilled. */
static void check_rendered_fully(const struct messages *m, const char *lang, const char *key,
                                 const char *vars)
{
    struct msg_var v[16];
    char names[16][32];
    char values[16][40];
    size_t n = 0;
    const char *p = vars;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, " ");
        if (!w)
            break;
        assert_true(n < 16 && w < sizeof names[0]);
        memcpy(names[n], p, w);
        names[n][w] = '\0';
        snprintf(values[n], sizeof values[n], "<%s>", names[n]);
        v[n].name = names[n];
        v[n].value = values[n];
        n++;
        p += w;
    }
    const char *t = messages_get(m, lang, key);
    assert_non_null(t);
    char *out = messages_render(t, v, n);
    assert_non_null(out);
    assert_true(utf8_valid(out, strlen(out)));
    /* A shipped template has no literal braces, so any brace left is a missed placeholder. */
    if (strchr(out, '{') || strchr(out, '}'))
        fail_msg("%s/%s renders with a brace left: %s", lang, key, out);
    free(out);
}

static void test_shipped_files(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/config/messages", source_dir());
    struct messages *m = NULL;
    struct dbot_diag d = {{0}};
    int rc = messages_load(dir, &m, &d);
    if (rc != 0)
        fail_msg("%s: %s", dir, d.msg);
    assert_int_equal(messages_missing(m, on_missing, NULL), 0);

    const char *key, *vars;
    size_t i;
    for (i = 0; messages_key_at(i, &key, &vars); i++) {
        const char *zh = messages_get(m, "zh-CN", key);
        const char *en = messages_get(m, "en", key);
        assert_non_null(zh);
        assert_non_null(en);
        check_rendered_fully(m, "zh-CN", key, vars);
        check_rendered_fully(m, "en", key, vars);
        /* Refusals, labels and help lines are one line each. */
        if (!strncmp(key, "err_", 4) || !strncmp(key, "help_", 5) ||
            !strncmp(key, "state_", 6) || !strncmp(key, "prio_", 5) ||
            !strncmp(key, "field_", 6)) {
            if (strchr(zh, '\n') || strchr(en, '\n'))
                fail_msg("%s must be one line", key);
        }
        /* Labels are non-empty. */
        if (!strncmp(key, "state_", 6) || !strncmp(key, "prio_", 5))
            assert_true(*zh && *en);
    }
    assert_true(i > 70);

    /* The card tells how to acknowledge, in both languages' words, in the form that works in
     * every client: without the '/' that profanity, Slack or Mattermost take as their own. */
    char *card = messages_format(m, "zh-CN", "card", (struct msg_var[]){{"id", "C-7"}}, 1);
    assert_non_null(card);
    assert_non_null(strstr(card, "“受理 C-7”"));
    assert_non_null(strstr(card, "ack C-7"));
    free(card);
    card = messages_format(m, "en", "card", (struct msg_var[]){{"id", "C-7"}}, 1);
    assert_non_null(strstr(card, " ack C-7"));
    assert_non_null(strstr(card, "受理 C-7"));
    free(card);
    /* The dialogue prompts say how to abort. */
    assert_non_null(strstr(messages_get(m, "zh-CN", "ask_cause"), "“取消”"));
    assert_non_null(strstr(messages_get(m, "en", "ask_cause"), "cancel"));
    /* No text shows a command with a slash in front. */
    static const char *const words[] = {
        "help", "ack", "plan", "close", "status", "list", "approve", "reject", "reopen",
        "cancel", "broadcast", "read", "scorecard", "underperformers", "penalt", "帮助", "受理",
        "方案", "结案", "状态", "列表", "通过", "驳回", "重开", "取消", "广播", "已读", "评分",
        "待改进", "处罚"};
    for (i = 0; messages_key_at(i, &key, &vars); i++) {
        const char *texts[] = {messages_get(m, "zh-CN", key), messages_get(m, "en", key)};
        for (size_t t = 0; t < 2; t++)
            for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
                char slashed[32];
                snprintf(slashed, sizeof slashed, "/%s", words[w]);
                if (strstr(texts[t], slashed))
                    fail_msg("%s shows %s with a slash: %s", key, words[w], texts[t]);
            }
    }
    /* Different languages really are different texts. */
    assert_string_not_equal(messages_get(m, "zh-CN", "err_internal"),
                            messages_get(m, "en", "err_internal"));
    messages_free(m);
}

/* ---- loading and fallback ---- */

static void test_fallback(void **state)
{
    struct fx *fx = *state;
    write_pair(fx,
               "# only in zh\n"
               "prio_vip = 贵宾\n"
               "err_internal = 内部错误\n",
               "err_internal = internal error\n"
               "due_met = met\n");
    struct messages *m = load_ok(fx);

    assert_string_equal(messages_get(m, "zh-CN", "err_internal"), "内部错误");
    assert_string_equal(messages_get(m, "en", "err_internal"), "internal error");
    assert_string_equal(messages_get(m, "EN", "err_internal"), "internal error");
    assert_string_equal(messages_get(m, "en-GB", "err_internal"), "internal error");
    /* Anything else is the default language. */
    assert_string_equal(messages_get(m, NULL, "err_internal"), "内部错误");
    assert_string_equal(messages_get(m, "fr", "err_internal"), "内部错误");
    assert_string_equal(messages_get(m, "english", "err_internal"), "内部错误");
    /* Missing in one language: the other one. */
    assert_string_equal(messages_get(m, "en", "prio_vip"), "贵宾");
    assert_string_equal(messages_get(m, "zh-CN", "due_met"), "met");
    /* Missing in both, unknown, NULL. */
    assert_null(messages_get(m, "en", "prio_normal"));
    assert_null(messages_get(m, "en", "no_such_key"));
    assert_null(messages_get(m, "en", NULL));
    assert_null(messages_get(NULL, "en", "prio_vip"));

    /* messages_format: "[key]" for a gap. */
    char *s = messages_format(m, "en", "prio_normal", NULL, 0);
    assert_string_equal(s, "[prio_normal]");
    free(s);
    s = messages_format(NULL, "en", "card", NULL, 0);
    assert_string_equal(s, "[card]");
    free(s);
    s = messages_format(m, "en", "prio_vip", NULL, 0);
    assert_string_equal(s, "贵宾");
    free(s);

    /* Every key of the table is missing at least once, except the three given in zh and the
     * two in en. */
    size_t n_keys = 0;
    while (messages_key_at(n_keys, NULL, NULL))
        n_keys++;
    assert_int_equal(messages_missing(m, NULL, NULL), 2 * n_keys - 4);
    messages_free(m);
}

struct seen {
    int zh, en;
    bool saw_card_en;
};

static void count_missing(const char *lang, const char *key, void *arg)
{
    struct seen *s = arg;
    if (!strcmp(lang, "zh-CN"))
        s->zh++;
    else if (!strcmp(lang, "en"))
        s->en++;
    else
        fail_msg("bad lang %s", lang);
    if (!strcmp(lang, "en") && !strcmp(key, "card"))
        s->saw_card_en = true;
}

static void test_missing_callback(void **state)
{
    struct fx *fx = *state;
    write_pair(fx, "card = {id}\n", "");
    struct messages *m = load_ok(fx);
    struct seen s = {0};
    size_t n = messages_missing(m, count_missing, &s);
    assert_int_equal(n, (size_t)(s.zh + s.en));
    assert_int_equal(s.en, s.zh + 1);
    assert_true(s.saw_card_en);
    assert_int_equal(messages_missing(NULL, count_missing, &s), 0);
    messages_free(m);
    messages_free(NULL);
}

static void test_format_of_line(void **state)
{
    struct fx *fx = *state;
    write_pair(fx,
               "\xEF\xBB\xBF"               /* BOM */
               "   # indented comment\n"
               "\n"
               "  \t\n"
               "prio_normal=普通\n"          /* no blanks around '=' */
               "prio_urgent \t=\t 加急  \t\r\n" /* blanks trimmed, CRLF */
               "overdue_mark =\n"           /* empty text */
               "help_ack = a = b # not a comment\n"
               "  err_internal = indented key\n"
               "due_met = last line, no newline",
               "");
    struct messages *m = load_ok(fx);
    assert_string_equal(messages_get(m, "zh-CN", "prio_normal"), "普通");
    assert_string_equal(messages_get(m, "zh-CN", "prio_urgent"), "加急");
    assert_string_equal(messages_get(m, "zh-CN", "overdue_mark"), "");
    assert_string_equal(messages_get(m, "zh-CN", "help_ack"), "a = b # not a comment");
    assert_string_equal(messages_get(m, "zh-CN", "err_internal"), "indented key");
    assert_string_equal(messages_get(m, "zh-CN", "due_met"), "last line, no newline");
    messages_free(m);

    /* Empty files are fine (everything is missing). */
    write_pair(fx, "", "");
    m = load_ok(fx);
    messages_free(m);
}

static void test_escapes(void **state)
{
    struct fx *fx = *state;
    write_pair(fx,
               "card = 第一行\\n第二行 {id}\\n\n"
               "help_ack = back\\\\slash, \\\\n is not a newline\n"
               "help_plan = \\\\\n"
               "help_close = {{literal}} and }}{{\n",
               "");
    struct messages *m = load_ok(fx);
    assert_string_equal(messages_get(m, "zh-CN", "card"), "第一行\n第二行 {id}\n");
    assert_string_equal(messages_get(m, "zh-CN", "help_ack"), "back\\slash, \\n is not a newline");
    assert_string_equal(messages_get(m, "zh-CN", "help_plan"), "\\");
    /* Braces are kept doubled in the template; rendering undoubles them. */
    char *s = messages_format(m, "zh-CN", "help_close", NULL, 0);
    assert_string_equal(s, "{literal} and }{");
    free(s);
    s = messages_format(m, "en", "card", (struct msg_var[]){{"id", "C-1"}}, 1);
    assert_string_equal(s, "第一行\n第二行 C-1\n");
    free(s);
    messages_free(m);
}

/* ---- errors, each with its line ---- */

static void test_syntax_errors(void **state)
{
    struct fx *fx = *state;
    expect_error(fx, "# c\n\njust some words\n", "3: expected \"key = text\" after \"just\"");
    expect_error(fx, "prio_vip\n", "1: expected \"key = text\" after \"prio_vip\"");
    expect_error(fx, "prio vip = x\n", "1: expected \"key = text\" after \"prio\"");
    expect_error(fx, "a\n= text\n", "1: expected \"key = text\" after \"a\"");
    expect_error(fx, "\n= text\n", "2: missing key before '='");
    expect_error(fx, "prio_vip = ok\nPrio_VIP = x\n",
                 "2: bad key \"Prio_VIP\" (lower-case letters, digits and _)");
    expect_error(fx, "prio_vip = ok\n\n\nprio_vipp = x\n", "4: unknown key \"prio_vipp\"");
    expect_error(fx, "客户=x\n", "1: bad key \"客户\" (lower-case letters, digits and _)");
    expect_error(fx, "prio_vip = a\nprio_normal = b\r\nprio_vip = c\n",
                 "3: duplicate key \"prio_vip\" (first on line 1)");
    /* escapes */
    expect_error(fx, "\nhelp_ack = tab\\there\n",
                 "2: help_ack: unknown escape \\t (use \\n or \\\\)");
    expect_error(fx, "help_ack = \\中\n", "1: help_ack: unknown escape \\中 (use \\n or \\\\)");
    expect_error(fx, "help_ack = ends in \\\n",
                 "1: help_ack: '\\' at the end of the line (write \\\\ for a backslash)");
    expect_error(fx, "help_ack = ends in \\   \n",
                 "1: help_ack: '\\' at the end of the line (write \\\\ for a backslash)");
    /* placeholders and braces */
    expect_error(fx, "ack_ok = {id} {owner} {x}\n",
                 "1: ack_ok: unknown placeholder {x} (allowed: id owner eta)");
    expect_error(fx, "err_internal = {id}\n",
                 "1: err_internal: unknown placeholder {id} (this text takes none)");
    expect_error(fx, "ack_ok = {ID}\n",
                 "1: ack_ok: unknown placeholder {ID} (allowed: id owner eta)");
    expect_error(fx, "ack_ok = {}\n", "1: ack_ok: unknown placeholder {} (allowed: id owner eta)");
    expect_error(fx, "ack_ok = {客户}\n",
                 "1: ack_ok: unknown placeholder {客户} (allowed: id owner eta)");
    expect_error(fx, "ack_ok = {id\n",
                 "1: ack_ok: '{' without a matching '}' (write {{ for a literal brace)");
    expect_error(fx, "ack_ok = {i{d}\n",
                 "1: ack_ok: '{' without a matching '}' (write {{ for a literal brace)");
    expect_error(fx, "ack_ok = {id\\n}\n",
                 "1: ack_ok: '{' without a matching '}' (write {{ for a literal brace)");
    expect_error(fx, "ack_ok = {a_name_that_goes_on_far_too_long_to_be_real}\n",
                 "1: ack_ok: '{' without a matching '}' (write {{ for a literal brace)");
    expect_error(fx, "ack_ok = id}\n",
                 "1: ack_ok: '}' without a matching '{' (write }} for a literal brace)");
    expect_error(fx, "ack_ok = {{id}\n",
                 "1: ack_ok: '}' without a matching '{' (write }} for a literal brace)");
    /* {{{id}}} is "{" + {id} + "}" */
    write_pair(fx, "ack_ok = {{{id}}}\n", "");
    struct messages *m = load_ok(fx);
    char *s = messages_format(m, "zh-CN", "ack_ok", (struct msg_var[]){{"id", "C-1"}}, 1);
    assert_string_equal(s, "{C-1}");
    free(s);
    messages_free(m);
}

static void test_utf8_errors(void **state)
{
    struct fx *fx = *state;
    expect_error(fx, "prio_vip = ok\nprio_normal = \xC3\x28\n", "2: not valid UTF-8");
    expect_error(fx, "# comment \xFF\n", "1: not valid UTF-8"); /* comments too */
    expect_error(fx, "prio_vip = \xED\xA0\x80\n", "1: not valid UTF-8"); /* surrogate */
    expect_error(fx, "prio_vip = \xE4\xB8\n", "1: not valid UTF-8");     /* truncated */
    expect_error(fx, "\xEF\xBB\xBF\xEF\xBB\xBF# two BOMs\n",
                 "1: expected \"key = text\" after \"\xEF\xBB\xBF#\"");

    /* A NUL byte. */
    static const char nul[] = "prio_vip = a\nprio_normal = b\0c\n";
    write_bytes(fx, "zh-CN.msg", nul, sizeof nul - 1);
    write_bytes(fx, "en.msg", "", 0);
    struct messages *m = NULL;
    struct dbot_diag d = {{0}};
    assert_int_equal(messages_load(fx->dir, &m, &d), DBOT_ERR_INVALID);
    assert_non_null(strstr(d.msg, "zh-CN.msg:2: not valid UTF-8"));
    assert_null(m);
}

/* The second file is checked as well, and named in the message. */
static void test_error_in_en(void **state)
{
    struct fx *fx = *state;
    write_pair(fx, "prio_vip = VIP\n", "prio_vip = VIP\n\n\nprio_vip = again\n");
    struct messages *m = NULL;
    struct dbot_diag d = {{0}};
    assert_int_equal(messages_load(fx->dir, &m, &d), DBOT_ERR_INVALID);
    char want[512];
    snprintf(want, sizeof want, "%s/en.msg:4: duplicate key \"prio_vip\" (first on line 1)",
             fx->dir);
    assert_string_equal(d.msg, want);
    assert_null(m);
}

static void test_io_errors(void **state)
{
    struct fx *fx = *state;
    struct messages *m = NULL;
    struct dbot_diag d = {{0}};
    char want[512];

    /* No files at all. */
    assert_int_equal(messages_load(fx->dir, &m, &d), DBOT_ERR_IO);
    snprintf(want, sizeof want, "%s/zh-CN.msg: cannot open: No such file or directory", fx->dir);
    assert_string_equal(d.msg, want);

    /* en.msg missing. */
    write_bytes(fx, "zh-CN.msg", "", 0);
    assert_int_equal(messages_load(fx->dir, &m, &d), DBOT_ERR_IO);
    snprintf(want, sizeof want, "%s/en.msg: cannot open: No such file or directory", fx->dir);
    assert_string_equal(d.msg, want);

    /* A directory where a file should be. */
    char sub[512];
    snprintf(sub, sizeof sub, "%s/en.msg", fx->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(messages_load(fx->dir, &m, &d), DBOT_ERR_IO);
    snprintf(want, sizeof want, "%s/en.msg: not a regular file", fx->dir);
    assert_string_equal(d.msg, want);
    assert_int_equal(rmdir(sub), 0);

    /* Too big. */
    size_t big = MESSAGES_FILE_MAX + 1;
    char *buf = malloc(big);
    assert_non_null(buf);
    memset(buf, '#', big);
    write_bytes(fx, "en.msg", buf, big);
    free(buf);
    assert_int_equal(messages_load(fx->dir, &m, &d), DBOT_ERR_TOOBIG);
    assert_non_null(strstr(d.msg, "en.msg: larger than"));

    assert_int_equal(messages_load("", &m, &d), DBOT_ERR_INVALID);
    assert_int_equal(messages_load(NULL, &m, &d), DBOT_ERR_INVALID);
    assert_null(m);
}

/* ---- rendering ---- */

static char *render(const char *t, const struct msg_var *v, size_t n)
{
    char *s = messages_render(t, v, n);
    assert_non_null(s);
    return s;
}

#define RENDER_EQ(t, v, n, want)                                                                   \
    do {                                                                                           \
        char *s_ = render((t), (v), (n));                                                          \
        assert_string_equal(s_, (want));                                                           \
        free(s_);                                                                                  \
    } while (0)

static void test_render(void **state)
{
    (void)state;
    const struct msg_var v[] = {
        {"id", "C-123"},
        {"who", "张三"},
        {"empty", ""},
        {"null", NULL},
        {"braces", "{id} }} {{"},
        {NULL, "ignored"},
    };
    size_t n = sizeof v / sizeof v[0];

    RENDER_EQ("", v, n, "");
    RENDER_EQ(NULL, v, n, "");
    RENDER_EQ("plain text", v, n, "plain text");
    RENDER_EQ("{id}", v, n, "C-123");
    RENDER_EQ("{id}{id}{who}", v, n, "C-123C-123张三");
    RENDER_EQ("投诉 {id} 已由 {who} 受理。", v, n, "投诉 C-123 已由 张三 受理。");
    /* Missing var: stays visible. */
    RENDER_EQ("{id} by {owner}", v, n, "C-123 by {owner}");
    RENDER_EQ("{id} by {owner}", NULL, 0, "{id} by {owner}");
    RENDER_EQ("{id}", NULL, 5, "{id}"); /* NULL vars with a count: no vars */
    /* Empty and NULL values render as nothing. */
    RENDER_EQ("[{empty}][{null}]", v, n, "[][]");
    /* Literal braces. */
    RENDER_EQ("{{id}}", v, n, "{id}");
    RENDER_EQ("{{{id}}}", v, n, "{C-123}");
    RENDER_EQ("a }} b {{ c", v, n, "a } b { c");
    /* Values are never re-scanned. */
    RENDER_EQ("<{braces}>", v, n, "<{id} }} {{>");
    /* Stray braces (templates not from a file) are copied as they are. */
    RENDER_EQ("a { b", v, n, "a { b");
    RENDER_EQ("a } b", v, n, "a } b");
    RENDER_EQ("{", v, n, "{");
    RENDER_EQ("}", v, n, "}");
    RENDER_EQ("{id", v, n, "{id");
    RENDER_EQ("{i{id}", v, n, "{iC-123");
    RENDER_EQ("{id\n}", v, n, "{id\n}");
    RENDER_EQ("{}", v, n, "{}");
    /* Multi-byte text and names around placeholders. */
    RENDER_EQ("【{id}】「{who}」😀", v, n, "【C-123】「张三」😀");
    RENDER_EQ("{客户}", v, n, "{客户}");
    const struct msg_var cn[] = {{"客户", "李四"}};
    RENDER_EQ("尊敬的{客户}：", cn, 1, "尊敬的李四：");
    /* The first var of a name wins. */
    const struct msg_var dup[] = {{"id", "first"}, {"id", "second"}};
    RENDER_EQ("{id}", dup, 2, "first");
}

/* A long value repeated many times: the result is sized exactly. */
static void test_render_large(void **state)
{
    (void)state;
    size_t vl = 100000;
    char *val = malloc(vl + 1);
    assert_non_null(val);
    memset(val, 'x', vl);
    val[vl] = '\0';
    const struct msg_var v[] = {{"v", val}};
    char *s = render("{v}-{v}-{v}", v, 1);
    assert_int_equal(strlen(s), 3 * vl + 2);
    assert_int_equal(s[vl], '-');
    free(s);
    free(val);
}

/* ---- allocation failures ---- */

/* Every allocation of load, render and format can fail: NOMEM (or NULL), nothing leaks
 * (ASan/LSan would say), the output is untouched. */
static void test_alloc_failures(void **state)
{
    struct fx *fx = *state;
    write_pair(fx, "card = {id} 卡片\nprio_vip = VIP\n", "card = card {id}\n");

    bool ok = false;
    for (long n = 0; n < 50 && !ok; n++) {
        struct messages *m = (struct messages *)0x1;
        struct dbot_diag d = {{0}};
        messages__fail_alloc_after(n);
        int rc = messages_load(fx->dir, &m, &d);
        messages__fail_alloc_after(-1);
        if (rc == 0) {
            ok = true;
            assert_true(n >= 1); /* the set (the files are read by file_read_all) */
            messages_free(m);
        } else {
            if (rc != DBOT_ERR_NOMEM)
                fail_msg("fail at %ld: got %d (%s)", n, rc, d.msg);
            assert_non_null(strstr(d.msg, "out of memory"));
            assert_ptr_equal(m, (struct messages *)0x1);
        }
    }
    assert_true(ok);

    struct messages *m = load_ok(fx);
    messages__fail_alloc_after(0);
    assert_null(messages_render("{id}", (struct msg_var[]){{"id", "x"}}, 1));
    assert_null(messages_format(m, "en", "card", NULL, 0));
    assert_null(messages_format(m, "en", "prio_normal", NULL, 0)); /* the "[key]" path */
    messages__fail_alloc_after(-1);
    char *s = messages_format(m, "en", "card", (struct msg_var[]){{"id", "C-9"}}, 1);
    assert_string_equal(s, "card C-9");
    free(s);
    messages_free(m);
}

/* The table itself: unique keys, placeholders are plain lower-case words. */
static void test_table(void **state)
{
    (void)state;
    const char *ki, *vi, *kj;
    for (size_t i = 0; messages_key_at(i, &ki, &vi); i++) {
        assert_non_null(ki);
        assert_non_null(vi);
        for (size_t j = i + 1; messages_key_at(j, &kj, NULL); j++)
            if (!strcmp(ki, kj))
                fail_msg("key %s twice in the table", ki);
        for (const char *p = vi; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_' || *p == ' ');
    }
    assert_false(messages_key_at(100000, &ki, &vi));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_files),
        cmocka_unit_test(test_table),
        cmocka_unit_test_setup_teardown(test_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_of_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_in_en, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_errors, setup, teardown),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_render_large),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
