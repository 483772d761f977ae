/*
 * test_command.c — the chat command grammar: every command in English and Chinese, the
 * separators and full-width forms people really type, the /close report layouts, every
 * cmd_error with its diag line, limits and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/command.h"

/* The ideographic space U+3000 and the full-width slash U+FF0F, spelled out. */
#define IDSP "\xe3\x80\x80"
#define FWSL "\xef\xbc\x8f"

static char last_word[COMMAND_WORD_SIZE];

/* Where the message is written: NULL (a direct message) unless a test says otherwise. */
static const struct command_where *where;

static int parse_n(const char *s, size_t len, struct command *c, enum cmd_error *err,
                   struct dbot_diag *diag)
{
    return command_parse(s, len, where, c, err, last_word, sizeof last_word, diag);
}

/* Parses s, which must succeed with kind k; the caller cleans up. */
static void ok(const char *s, enum cmd_kind k, struct command *c)
{
    enum cmd_error err = CMDERR_BAD_ARGUMENT;
    struct dbot_diag diag = {{0}};
    int rc = parse_n(s, strlen(s), c, &err, &diag);
    if (rc != 0)
        fail_msg("\"%s\": rc %d err %d: %s", s, rc, err, diag.msg);
    assert_int_equal(err, CMDERR_NONE);
    assert_int_equal(c->kind, k);
}

/* Parses s, which must be refused with `want` and a diag containing msg_part. */
static void bad_n(const char *s, size_t len, enum cmd_error want, const char *msg_part)
{
    struct command c;
    memset(&c, 0x5A, sizeof c);
    struct command before;
    memcpy(&before, &c, sizeof c);
    enum cmd_error err = CMDERR_NONE;
    struct dbot_diag diag = {{0}};
    int rc = parse_n(s, len, &c, &err, &diag);
    if (rc != DBOT_ERR_INVALID || err != want || !strstr(diag.msg, msg_part))
        fail_msg("\"%.60s\": rc %d err %d (want %d) diag \"%s\" (want \"%s\")", s, rc, err, want,
                 diag.msg, msg_part);
    assert_memory_equal(&c, &before, sizeof c); /* nothing written on failure */
    assert_null(strchr(diag.msg, '\n'));
}

static void bad(const char *s, enum cmd_error want, const char *msg_part)
{
    bad_n(s, strlen(s), want, msg_part);
}

static void not_command(const char *s, size_t len)
{
    struct command c = {0};
    enum cmd_error err = CMDERR_TOO_LONG;
    struct dbot_diag diag = {{0}};
    assert_int_equal(parse_n(s, len, &c, &err, &diag), 1);
    assert_int_equal(err, CMDERR_NONE);
    assert_string_equal(last_word, "");
}

static void test_not_a_command(void **state)
{
    (void)state;
    const char *cases[] = {"", "   ", "hello /ack C-1", "C-1 /ack", "\xef\xbc\x8e", "hello C-1",
                           "/me waves", "/me\tsighs", "\n\n  你好"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        not_command(cases[i], strlen(cases[i]));
    not_command(NULL, 0);
    not_command("\xff\xfe not utf8", 12); /* not ours: encoding is not looked at */
    size_t big = 100000;
    char *s = malloc(big);
    assert_non_null(s);
    memset(s, 'a', big);
    not_command(s, big);
    free(s);
    /* "/me" alone is no action, so it is an (unknown) command. */
    bad("/me", CMDERR_UNKNOWN_COMMAND, "unknown command /me");
}

static void test_help(void **state)
{
    (void)state;
    struct command c;
    const char *forms[] = {"/help", "/帮助", "/HELP", "/Help  ", FWSL "help",
                           IDSP " /help\t" IDSP, "\r\n/帮助\r\n"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        ok(forms[i], CMD_HELP, &c);
        assert_null(c.text);
        assert_int_equal(c.ticket, 0);
        command_cleanup(&c);
    }
    ok("/help ack", CMD_HELP, &c);
    assert_string_equal(c.text, "ack");
    assert_string_equal(last_word, "/help");
    command_cleanup(&c);
    ok(FWSL "帮助", CMD_HELP, &c);
    assert_string_equal(last_word, FWSL "帮助"); /* the word as typed */
    command_cleanup(&c);
}

static void test_ack(void **state)
{
    (void)state;
    struct command c;
    ok("/ack C-123", CMD_ACK, &c);
    assert_int_equal(c.ticket, 123);
    assert_null(c.eta);
    assert_null(c.text);
    command_cleanup(&c);

    ok("/受理 C-123 eta=2026-03-01 明天上门", CMD_ACK, &c);
    assert_int_equal(c.ticket, 123);
    assert_string_equal(c.eta, "2026-03-01");
    assert_string_equal(c.text, "明天上门");
    command_cleanup(&c);

    ok("/ACK   c-0012\tETA=2024-02-29  will call\n  the customer  ", CMD_ACK, &c);
    assert_int_equal(c.ticket, 12);
    assert_string_equal(c.eta, "2024-02-29");
    assert_string_equal(c.text, "will call\n  the customer");
    command_cleanup(&c);

    /* Full-width slash, id, equals sign and ideographic spaces, as a Chinese IME types them. */
    ok(FWSL "受理" IDSP "Ｃ－１２３" IDSP "eta＝2026-01-31" IDSP "备注",
       CMD_ACK, &c);
    assert_int_equal(c.ticket, 123);
    assert_string_equal(c.eta, "2026-01-31");
    assert_string_equal(c.text, "备注");
    command_cleanup(&c);

    /* A Chinese alias glued to its argument. */
    ok("/受理C-5", CMD_ACK, &c);
    assert_int_equal(c.ticket, 5);
    assert_string_equal(last_word, "/受理");
    command_cleanup(&c);

    /* eta only right after the id; later it is part of the note. */
    ok("/ack C-1 note eta=2026-02-30", CMD_ACK, &c);
    assert_null(c.eta);
    assert_string_equal(c.text, "note eta=2026-02-30");
    command_cleanup(&c);

    ok("/ack C-1 eta=2000-02-29", CMD_ACK, &c);
    command_cleanup(&c);

    bad("/ack", CMDERR_MISSING_TICKET, "/ack needs a ticket id like C-123");
    bad("/受理   ", CMDERR_MISSING_TICKET, "/ack needs a ticket id");
    bad("/ack 123", CMDERR_BAD_TICKET, "\"123\" is not a ticket id");
    bad("/ack C-12x", CMDERR_BAD_TICKET, "not a ticket id");
    bad("/ack C-0", CMDERR_BAD_TICKET, "not a ticket id");
    bad("/ack C-1 eta=2026-02-30", CMDERR_BAD_ETA, "eta \"2026-02-30\" is not a date");
    bad("/ack C-1 eta=2025-02-29", CMDERR_BAD_ETA, "not a date");
    bad("/ack C-1 eta=2100-02-29", CMDERR_BAD_ETA, "not a date");
    bad("/ack C-1 eta=2026-13-01", CMDERR_BAD_ETA, "not a date");
    bad("/ack C-1 eta=2026-04-31", CMDERR_BAD_ETA, "not a date");
    bad("/ack C-1 eta=2026-4-1", CMDERR_BAD_ETA, "not a date");
    bad("/ack C-1 eta=", CMDERR_BAD_ETA, "not a date");
    bad("/ack C-1 eta=tomorrow", CMDERR_BAD_ETA, "not a date");
    bad("/ack C-1 ETA=1969-12-31", CMDERR_BAD_ETA, "not a date");
}

static void test_plan_reject_reopen(void **state)
{
    (void)state;
    struct command c;
    ok("/plan C-1 replace the pump", CMD_PLAN, &c);
    assert_int_equal(c.ticket, 1);
    assert_string_equal(c.text, "replace the pump");
    command_cleanup(&c);
    ok("/方案 C-1\r\n更换油泵\r\n赠送保养一次\r\n", CMD_PLAN, &c);
    assert_string_equal(c.text, "更换油泵\n赠送保养一次"); /* CRLF -> LF, trimmed */
    command_cleanup(&c);
    ok("/reject C-2 cause is vague", CMD_REJECT, &c);
    assert_int_equal(c.ticket, 2);
    assert_string_equal(c.text, "cause is vague");
    command_cleanup(&c);
    ok("/驳回 c-2 原因不清楚", CMD_REJECT, &c);
    assert_string_equal(c.text, "原因不清楚");
    command_cleanup(&c);
    ok("/REOPEN C-3 customer called again", CMD_REOPEN, &c);
    assert_string_equal(c.text, "customer called again");
    command_cleanup(&c);
    ok("/重开 C-3 客户再次投诉", CMD_REOPEN, &c);
    assert_int_equal(c.ticket, 3);
    command_cleanup(&c);

    bad("/plan C-1", CMDERR_MISSING_TEXT, "/plan needs the agreed solution");
    bad("/plan C-1 \r\n " IDSP " ", CMDERR_MISSING_TEXT, "/plan needs");
    bad("/plan", CMDERR_MISSING_TICKET, "/plan needs a ticket id");
    bad("/reject C-2", CMDERR_MISSING_TEXT, "/reject needs a reason");
    bad("/重开 C-3", CMDERR_MISSING_TEXT, "/reopen needs a reason");
    bad("/reopen x reason", CMDERR_BAD_TICKET, "not a ticket id");
}

static void test_close_fields(void **state)
{
    (void)state;
    struct command c;

    ok("/close C-7\ncause: brake pads worn\nfix: replaced pads\nprevent: check at service",
       CMD_CLOSE, &c);
    assert_int_equal(c.ticket, 7);
    assert_string_equal(c.cause, "brake pads worn");
    assert_string_equal(c.fix, "replaced pads");
    assert_string_equal(c.prevent, "check at service");
    command_cleanup(&c);

    /* Chinese labels, full-width colons, blanks around the colon, CRLF, multi-line values. */
    ok("/结案 C-7\r\n原因：刹车片磨损\r\n  第二行\r\n措施 ： 更换刹车片\r\n\r\n预防:定期检查\r\n",
       CMD_CLOSE, &c);
    assert_string_equal(c.cause, "刹车片磨损\n  第二行");
    assert_string_equal(c.fix, "更换刹车片");
    assert_string_equal(c.prevent, "定期检查");
    command_cleanup(&c);

    /* Some fields, any order, mixed case; the others stay NULL. */
    ok("/Close C-7\nPREVENT: training for staff\nCause: wrong part ordered", CMD_CLOSE, &c);
    assert_string_equal(c.cause, "wrong part ordered");
    assert_null(c.fix);
    assert_string_equal(c.prevent, "training for staff");
    command_cleanup(&c);

    /* No fields: the engine asks for them one by one. */
    ok("/close C-7", CMD_CLOSE, &c);
    assert_null(c.cause);
    assert_null(c.fix);
    assert_null(c.prevent);
    command_cleanup(&c);
    ok("/结案 C-7 \n\n ", CMD_CLOSE, &c);
    assert_null(c.cause);
    command_cleanup(&c);

    /* A label after the id on the first line, and all fields on one line. */
    ok("/close C-7 cause: loose hose", CMD_CLOSE, &c);
    assert_string_equal(c.cause, "loose hose");
    assert_null(c.fix);
    command_cleanup(&c);
    ok("/close C-7 cause: loose hose fix: tightened it prevent: torque check", CMD_CLOSE, &c);
    assert_string_equal(c.cause, "loose hose");
    assert_string_equal(c.fix, "tightened it");
    assert_string_equal(c.prevent, "torque check");
    command_cleanup(&c);
    ok("/结案 C-7 原因：软管松动" IDSP "措施：已紧固 预防：扭矩检查", CMD_CLOSE, &c);
    assert_string_equal(c.cause, "软管松动");
    assert_string_equal(c.fix, "已紧固");
    assert_string_equal(c.prevent, "扭矩检查");
    command_cleanup(&c);
    /* Glued to a word, a label is plain text. */
    ok("/close C-7\ncause: see prefix:fix: here", CMD_CLOSE, &c);
    assert_string_equal(c.cause, "see prefix:fix: here");
    assert_null(c.fix);
    command_cleanup(&c);

    bad("/close", CMDERR_MISSING_TICKET, "/close needs a ticket id");
    bad("/close cause: x", CMDERR_MISSING_TICKET, "/close needs a ticket id");
    bad("/close C-7 done\ncause: x y", CMDERR_BAD_ARGUMENT, "\"done\" comes before a label");
    bad("/close C-7\nall fixed", CMDERR_BAD_ARGUMENT, "\"all\" comes before a label");
    bad("/close C-7\ncause: ab\ncause: cd", CMDERR_BAD_ARGUMENT, "cause: is given twice");
    bad("/结案 C-7\n原因：ab\ncause: cd", CMDERR_BAD_ARGUMENT, "cause: is given twice");
    bad("/close C-7\ncause:\nfix: tightened", CMDERR_MISSING_TEXT, "cause: is empty");
    bad("/close C-7\ncause: ok\nfix: ...!!", CMDERR_MISSING_TEXT, "fix: is empty or has no words");
    bad("/close C-7\nprevent: ？？。。", CMDERR_MISSING_TEXT, "prevent: is empty");
    bad("/close C-7\nprevent: 好", CMDERR_MISSING_TEXT, "prevent: is empty");
}

static void test_close_long_field(void **state)
{
    (void)state;
    /* 2000 CJK characters (6000 bytes) fit; 2001 do not. */
    size_t cap = 7000;
    char *s = malloc(cap);
    assert_non_null(s);
    strcpy(s, "/close C-1\nfix: ");
    for (int i = 0; i < REPORT_FIELD_MAX; i++)
        strcat(s, "修");
    struct command c;
    ok(s, CMD_CLOSE, &c);
    assert_int_equal(strlen(c.fix), 3 * REPORT_FIELD_MAX);
    command_cleanup(&c);
    strcat(s, "修");
    bad(s, CMDERR_TOO_LONG, "fix: is longer than 2000 characters");
    free(s);
}

static void test_status_approve(void **state)
{
    (void)state;
    struct command c;
    ok("/status C-9", CMD_STATUS, &c);
    assert_int_equal(c.ticket, 9);
    command_cleanup(&c);
    ok("/状态 ｃ-９", CMD_STATUS, &c);
    assert_int_equal(c.ticket, 9);
    command_cleanup(&c);
    ok("/approve C-9", CMD_APPROVE, &c);
    command_cleanup(&c);
    ok("/通过" IDSP IDSP "C-9" IDSP, CMD_APPROVE, &c);
    assert_int_equal(c.ticket, 9);
    command_cleanup(&c);
    bad("/status", CMDERR_MISSING_TICKET, "/status needs a ticket id");
    bad("/status C-9 now", CMDERR_BAD_ARGUMENT, "/status: unexpected \"now\"");
    bad("/approve C-9 looks good", CMDERR_BAD_ARGUMENT, "/approve: unexpected \"looks\"");
    bad("/通过 9", CMDERR_BAD_TICKET, "/approve: \"9\" is not a ticket id");
}

static void test_list(void **state)
{
    (void)state;
    struct command c;
    ok("/list", CMD_LIST, &c);
    assert_false(c.overdue);
    assert_null(c.dealer);
    command_cleanup(&c);
    ok("/list overdue", CMD_LIST, &c);
    assert_true(c.overdue);
    command_cleanup(&c);
    ok("/列表 逾期 dealer=d001", CMD_LIST, &c);
    assert_true(c.overdue);
    assert_string_equal(c.dealer, "D001");
    command_cleanup(&c);
    ok("/LIST Dealer＝sh-01_a OVERDUE", CMD_LIST, &c);
    assert_true(c.overdue);
    assert_string_equal(c.dealer, "SH-01_A");
    command_cleanup(&c);
    ok("/列表逾期", CMD_LIST, &c); /* glued alias */
    assert_true(c.overdue);
    command_cleanup(&c);
    bad("/list overdue 逾期", CMDERR_BAD_ARGUMENT, "overdue is given twice");
    bad("/list dealer=A dealer=B", CMDERR_BAD_ARGUMENT, "dealer= is given twice");
    bad("/list dealer=", CMDERR_BAD_ARGUMENT, "\"\" is not a dealer code");
    bad("/list dealer=a/b", CMDERR_BAD_ARGUMENT, "is not a dealer code");
    bad("/list open", CMDERR_BAD_ARGUMENT, "/list: unexpected \"open\"");
}

static void test_cancel(void **state)
{
    (void)state;
    struct command c;
    ok("/cancel", CMD_CANCEL, &c);
    assert_int_equal(c.ticket, 0);
    assert_null(c.text);
    command_cleanup(&c);
    ok("/取消", CMD_CANCEL, &c);
    command_cleanup(&c);
    ok("/cancel C-4", CMD_CANCEL, &c);
    assert_int_equal(c.ticket, 4);
    assert_null(c.text);
    command_cleanup(&c);
    ok("/取消 C-4 重复投诉", CMD_CANCEL, &c);
    assert_int_equal(c.ticket, 4);
    assert_string_equal(c.text, "重复投诉");
    command_cleanup(&c);
    bad("/cancel that", CMDERR_BAD_TICKET, "/cancel: \"that\" is not a ticket id");
}

static void test_broadcast(void **state)
{
    (void)state;
    struct command c;
    ok("/broadcast all notice Holiday hours\nsee attachment", CMD_BROADCAST, &c);
    assert_string_equal(c.audience, "all");
    assert_string_equal(c.bkind, "notice");
    assert_false(c.require_read);
    assert_string_equal(c.text, "Holiday hours\nsee attachment");
    command_cleanup(&c);
    ok("/广播 Underperformers TRAINING ack 请学习新标准", CMD_BROADCAST, &c);
    assert_string_equal(c.audience, "underperformers");
    assert_string_equal(c.bkind, "training");
    assert_true(c.require_read);
    assert_string_equal(c.text, "请学习新标准");
    command_cleanup(&c);
    ok("/broadcast region:华东 risk Flood warning", CMD_BROADCAST, &c);
    assert_string_equal(c.audience, "region:华东");
    assert_string_equal(c.bkind, "risk");
    command_cleanup(&c);
    ok("/broadcast Dealer：d001 penalty ACK Late reports", CMD_BROADCAST, &c);
    assert_string_equal(c.audience, "dealer:D001");
    assert_string_equal(c.bkind, "penalty");
    assert_true(c.require_read);
    command_cleanup(&c);
    ok("/broadcast all standard acknowledge the new rule", CMD_BROADCAST, &c);
    assert_false(c.require_read);
    assert_string_equal(c.text, "acknowledge the new rule");
    command_cleanup(&c);
    bad("/broadcast", CMDERR_BAD_ARGUMENT, "/broadcast needs an audience");
    bad("/broadcast everyone notice x", CMDERR_BAD_ARGUMENT, "\"everyone\" is not an audience");
    bad("/broadcast region: notice x", CMDERR_BAD_ARGUMENT, "region: needs a region name");
    bad("/broadcast dealer:x.y notice x", CMDERR_BAD_ARGUMENT, "not a dealer code");
    bad("/broadcast all", CMDERR_BAD_ARGUMENT, "/broadcast needs a kind");
    bad("/broadcast all news x", CMDERR_BAD_ARGUMENT, "\"news\" is not a kind");
    bad("/broadcast all notice", CMDERR_MISSING_TEXT, "/broadcast needs the text to send");
    bad("/广播 all notice ack", CMDERR_MISSING_TEXT, "/broadcast needs the text");
}

static void test_read(void **state)
{
    (void)state;
    struct command c;
    ok("/read B-7", CMD_READ, &c);
    assert_int_equal(c.broadcast, 7);
    assert_int_equal(c.ticket, 0);
    command_cleanup(&c);
    ok("/已读 ｂ－０７", CMD_READ, &c);
    assert_int_equal(c.broadcast, 7);
    command_cleanup(&c);
    bad("/read", CMDERR_BAD_ARGUMENT, "/read needs a broadcast id like B-7");
    bad("/read C-7", CMDERR_BAD_ARGUMENT, "\"C-7\" is not a broadcast id");
    bad("/read B-7 thanks", CMDERR_BAD_ARGUMENT, "/read: unexpected");
}

static void test_scorecard_underperformers(void **state)
{
    (void)state;
    struct command c;
    ok("/scorecard", CMD_SCORECARD, &c);
    assert_null(c.dealer);
    command_cleanup(&c);
    ok("/评分 d001", CMD_SCORECARD, &c);
    assert_string_equal(c.dealer, "D001");
    command_cleanup(&c);
    ok("/underperformers", CMD_UNDERPERFORMERS, &c);
    command_cleanup(&c);
    ok("/待改进", CMD_UNDERPERFORMERS, &c);
    command_cleanup(&c);
    bad("/scorecard 上海店", CMDERR_BAD_ARGUMENT, "is not a dealer code");
    bad("/scorecard D1 D2", CMDERR_BAD_ARGUMENT, "/scorecard: unexpected \"D2\"");
    bad("/待改进 all", CMDERR_BAD_ARGUMENT, "/underperformers: expected refresh");
    ok("/underperformers refresh", CMD_UNDERPERFORMERS, &c);
    assert_string_equal(c.text, "refresh");
    command_cleanup(&c);
    ok("/待改进 pin sh001 in", CMD_UNDERPERFORMERS, &c);
    assert_string_equal(c.text, "pin");
    assert_string_equal(c.dealer, "SH001");
    assert_true(c.pin_in);
    command_cleanup(&c);
    ok("/underperformers PIN D1 out", CMD_UNDERPERFORMERS, &c);
    assert_false(c.pin_in);
    command_cleanup(&c);
    ok("/underperformers unpin D1", CMD_UNDERPERFORMERS, &c);
    assert_string_equal(c.text, "unpin");
    assert_string_equal(c.dealer, "D1");
    command_cleanup(&c);
    bad("/underperformers pin D1", CMDERR_BAD_ARGUMENT, "needs in or out");
    bad("/underperformers pin", CMDERR_BAD_ARGUMENT, "needs a dealer code");
    bad("/underperformers refresh now", CMDERR_BAD_ARGUMENT, "/underperformers: unexpected");
}

static void test_penalty(void **state)
{
    (void)state;
    struct command c;
    ok("/penalty d001 P-01 C-5 late answer", CMD_PENALTY, &c);
    assert_string_equal(c.dealer, "D001");
    assert_string_equal(c.penalty_code, "P-01");
    assert_int_equal(c.ticket, 5);
    assert_string_equal(c.text, "late answer");
    command_cleanup(&c);
    ok("/处罚 D1 svc.3", CMD_PENALTY, &c);
    assert_string_equal(c.penalty_code, "svc.3");
    assert_int_equal(c.ticket, 0);
    assert_null(c.text);
    command_cleanup(&c);
    ok("/penalty D1 X1 see C-5 later", CMD_PENALTY, &c);
    assert_int_equal(c.ticket, 0);
    assert_string_equal(c.text, "see C-5 later");
    command_cleanup(&c);
    ok("/处罚 D1 X1 Ｃ－５", CMD_PENALTY, &c);
    assert_int_equal(c.ticket, 5);
    assert_null(c.text);
    command_cleanup(&c);
    bad("/penalty", CMDERR_BAD_ARGUMENT, "/penalty needs a dealer code and a penalty code");
    bad("/penalty d1", CMDERR_BAD_ARGUMENT, "/penalty needs a penalty code after D1");
    bad("/penalty 经销商 X1", CMDERR_BAD_ARGUMENT, "is not a dealer code");
    bad("/penalty D1 迟到", CMDERR_BAD_ARGUMENT, "is not a penalty code");
}

static void test_penalties(void **state)
{
    (void)state;
    struct command c;
    ok("/penalties", CMD_PENALTIES, &c);
    assert_null(c.dealer);
    assert_null(c.penalty_code);
    assert_null(c.text);
    assert_int_equal(c.ticket, 0);
    assert_string_equal(last_word, "/penalties");
    command_cleanup(&c);
    ok("/处罚记录", CMD_PENALTIES, &c);
    assert_null(c.dealer);
    assert_string_equal(last_word, "/处罚记录");
    command_cleanup(&c);
    ok("/penalties sh001", CMD_PENALTIES, &c);
    assert_string_equal(c.dealer, "SH001");
    command_cleanup(&c);
    ok("/PENALTIES  Sh-0_1\t", CMD_PENALTIES, &c);
    assert_string_equal(c.dealer, "SH-0_1");
    command_cleanup(&c);
    ok("/处罚记录 d001", CMD_PENALTIES, &c);
    assert_string_equal(c.dealer, "D001");
    command_cleanup(&c);
    ok(FWSL "处罚记录" IDSP "sh001" IDSP, CMD_PENALTIES, &c);
    assert_string_equal(c.dealer, "SH001");
    assert_string_equal(last_word, FWSL "处罚记录");
    command_cleanup(&c);
    ok(FWSL "penalties", CMD_PENALTIES, &c);
    assert_null(c.dealer);
    command_cleanup(&c);

    /* Glued alias: the longest alias wins, so this is not /处罚 with the dealer "记录SH001". */
    ok("/处罚记录SH001", CMD_PENALTIES, &c);
    assert_string_equal(c.dealer, "SH001");
    assert_null(c.penalty_code);
    assert_string_equal(last_word, "/处罚记录");
    command_cleanup(&c);
    ok(FWSL "处罚记录sh001", CMD_PENALTIES, &c);
    assert_string_equal(c.dealer, "SH001");
    command_cleanup(&c);

    bad("/penalties SH001 extra", CMDERR_BAD_ARGUMENT, "/penalties: unexpected \"extra\"");
    bad("/处罚记录 D1 D2", CMDERR_BAD_ARGUMENT, "/penalties: unexpected \"D2\"");
    bad("/处罚记录SH001 P-01", CMDERR_BAD_ARGUMENT, "/penalties: unexpected \"P-01\"");
    bad("/penalties 上海店", CMDERR_BAD_ARGUMENT, "/penalties: \"上海店\" is not a dealer code");
    bad("/penalties D.1", CMDERR_BAD_ARGUMENT, "is not a dealer code");
    bad("/penalties 123456789012345678901234567890123", CMDERR_BAD_ARGUMENT,
        "is not a dealer code");
    bad("/penaltie", CMDERR_UNKNOWN_COMMAND, "unknown command /penaltie");
    bad("/penaltiesSH001", CMDERR_UNKNOWN_COMMAND, "unknown command /penaltiesSH001");
}

/* "/处罚" and "/处罚记录" share a prefix: each spelling must reach its own command. */
static void test_penalty_alias_prefix(void **state)
{
    (void)state;
    struct command c;
    enum cmd_kind k;
    assert_int_equal(command_kind_parse("/处罚记录", strlen("/处罚记录"), &k), 0);
    assert_int_equal(k, CMD_PENALTIES);
    assert_int_equal(command_kind_parse("/处罚", strlen("/处罚"), &k), 0);
    assert_int_equal(k, CMD_PENALTY);
    assert_int_equal(command_kind_parse("处罚记", strlen("处罚记"), &k), DBOT_ERR_INVALID);

    /* /处罚 glued to its dealer still works, and so does a dealer that starts like 记录. */
    ok("/处罚D1 X1", CMD_PENALTY, &c);
    assert_string_equal(c.dealer, "D1");
    assert_string_equal(c.penalty_code, "X1");
    assert_string_equal(last_word, "/处罚");
    command_cleanup(&c);
    ok("/处罚 D1 X1 记录在案", CMD_PENALTY, &c);
    assert_string_equal(c.text, "记录在案");
    command_cleanup(&c);
    /* "/处罚记" is the glued /处罚 with the non-code "记". */
    bad("/处罚记 D1", CMDERR_BAD_ARGUMENT, "/penalty: \"记\" is not a dealer code");
    assert_string_equal(last_word, "/处罚");
    /* "/处罚记录" is never /处罚 + "记录": with arguments /penalty would take, it refuses them
       as /penalties rather than reading "记录" as a dealer. */
    bad("/处罚记录 D1 X1", CMDERR_BAD_ARGUMENT, "/penalties: unexpected \"X1\"");
    assert_string_equal(last_word, "/处罚记录");
    bad("/处罚记录D1 X1 C-5 note", CMDERR_BAD_ARGUMENT, "/penalties: unexpected \"X1\"");
    assert_string_equal(last_word, "/处罚记录");
    /* And "/penalty" is not a prefix match of "/penalties" or the other way round. */
    ok("/penalty D1 X1", CMD_PENALTY, &c);
    command_cleanup(&c);
    ok("/penalties D1", CMD_PENALTIES, &c);
    command_cleanup(&c);
}

static void test_unknown_and_word(void **state)
{
    (void)state;
    bad("/foo bar", CMDERR_UNKNOWN_COMMAND, "unknown command /foo");
    assert_string_equal(last_word, "/foo");
    bad("／查询 C-1", CMDERR_UNKNOWN_COMMAND, "unknown command ／查询");
    assert_string_equal(last_word, "／查询");
    bad("/", CMDERR_UNKNOWN_COMMAND, "unknown command /");
    assert_string_equal(last_word, "/");
    bad("/ ack C-1", CMDERR_UNKNOWN_COMMAND, "unknown command /");
    bad("/ackC-1", CMDERR_UNKNOWN_COMMAND, "unknown command /ackC-1");
    bad("//help", CMDERR_UNKNOWN_COMMAND, "unknown command //help");

    /* A long word: the diag quotes at most 40 bytes, cut on a character boundary. */
    char s[600] = "/";
    for (int i = 0; i < 150; i++)
        strcat(s, "长");
    struct command c;
    enum cmd_error err;
    struct dbot_diag diag = {{0}};
    assert_int_equal(parse_n(s, strlen(s), &c, &err, &diag), DBOT_ERR_INVALID);
    assert_int_equal(err, CMDERR_UNKNOWN_COMMAND);
    assert_true(strlen(diag.msg) <= strlen("unknown command ") + 40 + 3);
    assert_string_equal(diag.msg + strlen(diag.msg) - 3, "...");
    /* The word buffer is cut on a character boundary too. */
    assert_true(strlen(last_word) <= sizeof last_word - 1);
    assert_int_equal((strlen(last_word) - 1) % 3, 0);

    /* "/受理受理": the glued alias /受理, then "受理" where the ticket id belongs. */
    char small[6];
    assert_int_equal(command_parse("/受理受理 x", strlen("/受理受理 x"), NULL, &c, &err, small,
                                   sizeof small, &diag),
                     DBOT_ERR_INVALID);
    assert_int_equal(err, CMDERR_BAD_TICKET);
    assert_string_equal(small, "/受"); /* 5 bytes allowed, cut before the split character */
}

static void test_limits_and_encoding(void **state)
{
    (void)state;
    /* Exactly COMMAND_MAX_BYTES is fine; one more byte is not. */
    char *s = malloc(COMMAND_MAX_BYTES + 2);
    assert_non_null(s);
    memcpy(s, "/plan C-1 ", 10);
    memset(s + 10, 'a', COMMAND_MAX_BYTES - 10);
    s[COMMAND_MAX_BYTES] = '\0';
    struct command c;
    ok(s, CMD_PLAN, &c);
    assert_int_equal(strlen(c.text), COMMAND_MAX_BYTES - 10);
    command_cleanup(&c);
    s[COMMAND_MAX_BYTES] = 'a';
    s[COMMAND_MAX_BYTES + 1] = '\0';
    bad(s, CMDERR_TOO_LONG, "longer than 8192 bytes");
    assert_string_equal(last_word, "/plan"); /* the word is there even for a refusal */
    free(s);

    size_t huge = 4u << 20;
    s = malloc(huge);
    assert_non_null(s);
    memset(s, 'x', huge);
    memcpy(s, "/broadcast all notice ", 22);
    bad_n(s, huge, CMDERR_TOO_LONG, "longer than 8192 bytes");
    free(s);

    bad("/plan C-1 \xff", CMDERR_BAD_UTF8, "not valid UTF-8");
    bad("/plan C-1 \xc0\xaf", CMDERR_BAD_UTF8, "not valid UTF-8");         /* overlong */
    bad("/plan C-1 \xed\xa0\x80", CMDERR_BAD_UTF8, "not valid UTF-8");     /* surrogate */
    bad("/plan C-1 \xe4\xbd", CMDERR_BAD_UTF8, "not valid UTF-8");         /* truncated */
    bad("/ack\xff C-1", CMDERR_BAD_UTF8, "not valid UTF-8");
    assert_string_equal(last_word, ""); /* an invalid word is not echoed */
    bad("/plan C-1 a\x01", CMDERR_BAD_UTF8, "control characters");
    bad("/plan C-1 a\x7f", CMDERR_BAD_UTF8, "control characters");
    bad_n("/plan C-1 a\0b", 13, CMDERR_BAD_UTF8, "NUL byte");
}

static void test_ids(void **state)
{
    (void)state;
    struct {
        const char *s;
        int64_t want; /* 0: invalid */
    } cases[] = {
        {"C-123", 123},
        {"c-12", 12},
        {"C-0012", 12},
        {"Ｃ－１２３", 123},
        {"ｃ-7", 7},
        {"C－7", 7},
        {"C-9223372036854775807", INT64_MAX},
        {"C-9223372036854775808", 0},
        {"C-0", 0},
        {"C-000", 0},
        {"C-", 0},
        {"C", 0},
        {"", 0},
        {"C123", 0},
        {"C-12a", 0},
        {"C-1 ", 0},
        {"B-1", 0},
        {"CC-1", 0},
        {"C--1", 0},
        {"C-+1", 0},
        {"C-\xef\xbc", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = -1;
        int rc = ticket_id_parse(cases[i].s, strlen(cases[i].s), &v);
        if (cases[i].want ? rc != 0 || v != cases[i].want : rc != DBOT_ERR_INVALID || v != -1)
            fail_msg("ticket_id_parse(\"%s\"): rc %d value %lld", cases[i].s, rc,
                     (long long)v);
    }
    int64_t v;
    assert_int_equal(ticket_id_parse("C-12", 3, &v), 0); /* the span is "C-1" */
    assert_int_equal(v, 1);
    assert_int_equal(ticket_id_parse("C-12xyz", 4, &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(ticket_id_parse(NULL, 0, &v), DBOT_ERR_INVALID);
    assert_int_equal(broadcast_id_parse("b-7", 3, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(broadcast_id_parse("Ｂ－７", strlen("Ｂ－７"), &v), 0);
    assert_int_equal(broadcast_id_parse("C-7", 3, &v), DBOT_ERR_INVALID);
}

static void test_report_field_check(void **state)
{
    (void)state;
    assert_int_equal(report_field_check(NULL), CMDERR_MISSING_TEXT);
    assert_int_equal(report_field_check(""), CMDERR_MISSING_TEXT);
    assert_int_equal(report_field_check("  \n\t"), CMDERR_MISSING_TEXT);
    assert_int_equal(report_field_check("..."), CMDERR_MISSING_TEXT);
    assert_int_equal(report_field_check("a."), CMDERR_MISSING_TEXT);
    assert_int_equal(report_field_check("？？。。、"), CMDERR_MISSING_TEXT);
    assert_int_equal(report_field_check("好"), CMDERR_MISSING_TEXT);
    assert_int_equal(report_field_check("👍👍👍"), CMDERR_MISSING_TEXT);
    assert_int_equal(report_field_check("→→ ★★"), CMDERR_MISSING_TEXT);
    assert_int_equal(report_field_check("ok"), CMDERR_NONE);
    assert_int_equal(report_field_check("42"), CMDERR_NONE);
    assert_int_equal(report_field_check("好的"), CMDERR_NONE);
    assert_int_equal(report_field_check("ＯＫ"), CMDERR_NONE);
    assert_int_equal(report_field_check("Übergröße"), CMDERR_NONE);
    assert_int_equal(report_field_check("ремонт"), CMDERR_NONE);
    assert_int_equal(report_field_check("line one\r\n\tline two"), CMDERR_NONE);
    assert_int_equal(report_field_check("ab\xff"), CMDERR_BAD_UTF8);
    assert_int_equal(report_field_check("ab\x1b[0m"), CMDERR_BAD_UTF8);

    char *s = malloc(REPORT_FIELD_MAX + 2);
    assert_non_null(s);
    memset(s, 'a', REPORT_FIELD_MAX);
    s[REPORT_FIELD_MAX] = '\0';
    assert_int_equal(report_field_check(s), CMDERR_NONE);
    s[REPORT_FIELD_MAX] = 'a';
    s[REPORT_FIELD_MAX + 1] = '\0';
    assert_int_equal(report_field_check(s), CMDERR_TOO_LONG);
    free(s);
}

static void test_names(void **state)
{
    (void)state;
    for (int k = CMD_HELP; k <= CMD_HONOUR; k++) {
        const char *name = command_name((enum cmd_kind)k);
        char buf[64];
        enum cmd_kind got;
        snprintf(buf, sizeof buf, "/%s", name);
        assert_int_equal(command_kind_parse(buf, strlen(buf), &got), 0);
        assert_int_equal(got, k);
        assert_int_equal(command_kind_parse(name, strlen(name), &got), 0);
        assert_int_equal(got, k);
        /* Every English word parses as a command of its kind, whatever its arguments. */
        struct command c;
        enum cmd_error err;
        struct dbot_diag diag = {{0}};
        int rc = parse_n(buf, strlen(buf), &c, &err, &diag);
        if (rc == 0) {
            assert_int_equal(c.kind, k);
            command_cleanup(&c);
        } else {
            assert_int_equal(rc, DBOT_ERR_INVALID);
            assert_int_not_equal(err, CMDERR_UNKNOWN_COMMAND);
        }
    }
    static const char *const zh[] = {"帮助", "受理", "方案", "结案", "状态",
                                     "列表", "通过", "驳回", "重开", "取消",
                                     "广播", "已读", "评分", "待改进", "处罚",
                                     "处罚记录", "申诉", "维持", "撤销", "表扬", "台账", "红榜"};
    assert_int_equal(sizeof zh / sizeof zh[0], CMD_HONOUR + 1);
    for (int k = CMD_HELP; k <= CMD_HONOUR; k++) {
        enum cmd_kind got;
        char buf[64];
        snprintf(buf, sizeof buf, "／%s", zh[k]);
        assert_int_equal(command_kind_parse(buf, strlen(buf), &got), 0);
        assert_int_equal(got, k);
    }
    enum cmd_kind got;
    assert_int_equal(command_kind_parse("/UnderPerformers", 16, &got), 0);
    assert_int_equal(got, CMD_UNDERPERFORMERS);
    assert_int_equal(command_kind_parse("/foo", 4, &got), DBOT_ERR_INVALID);
    assert_int_equal(command_kind_parse("/", 1, &got), DBOT_ERR_INVALID);
    assert_string_equal(command_name(CMD_ACK), "ack");
    assert_string_equal(command_name(CMD_PENALTIES), "penalties");
    /* New kinds are added at the end: stored and logged values keep their numbers. */
    assert_int_equal(CMD_PENALTY, 14);
    assert_int_equal(CMD_PENALTIES, 15);
    assert_int_equal(CMD_APPEAL, 16);
    assert_int_equal(CMD_WAIVE, 18);
    assert_int_equal(CMD_LEDGER, 20);
    command_cleanup(NULL);
}

/* ---- who a message is for: rooms, direct messages, addresses ---- */

static const char *const bot_names[] = {"dealerbot"};
static const struct command_where in_room = {.group = true, .names = bot_names, .n_names = 1};
static const struct command_where in_dm = {.names = bot_names, .n_names = 1};

/* Parses s written at w: must be command k (with ticket id `ticket` when not 0). */
static void ok_at(const struct command_where *w, const char *s, enum cmd_kind k, int64_t ticket)
{
    struct command c;
    where = w;
    ok(s, k, &c);
    where = NULL;
    if (ticket)
        assert_int_equal(c.ticket, ticket);
    command_cleanup(&c);
}

static void chatter_at(const struct command_where *w, const char *s)
{
    where = w;
    not_command(s, strlen(s));
    where = NULL;
}

static void bad_at(const struct command_where *w, const char *s, enum cmd_error e,
                   const char *msg)
{
    where = w;
    bad(s, e, msg);
    where = NULL;
}

static void test_room_forms(void **state)
{
    (void)state;
    /* every form of the contract, in a room */
    ok_at(&in_room, "ack C-1", CMD_ACK, 1);
    ok_at(&in_room, "/ack C-1", CMD_ACK, 1);
    ok_at(&in_room, "!ack C-1", CMD_ACK, 1);
    ok_at(&in_room, "！ack C-1", CMD_ACK, 1);
    ok_at(&in_room, FWSL "受理 C-1", CMD_ACK, 1);
    ok_at(&in_room, "@dealerbot 受理 C-1", CMD_ACK, 1);
    ok_at(&in_room, "@dealerbot: ack C-1", CMD_ACK, 1);
    ok_at(&in_room, "＠dealerbot 受理 C-1", CMD_ACK, 1);
    ok_at(&in_room, "dealerbot：方案 C-1 更换油封", CMD_PLAN, 1);
    ok_at(&in_room, "dealerbot，方案 C-1 更换油封", CMD_PLAN, 1);
    ok_at(&in_room, "dealerbot: status C-1", CMD_STATUS, 1);
    ok_at(&in_room, "DealerBot, status C-1", CMD_STATUS, 1);
    ok_at(&in_room, "dealerbot:/ack C-1", CMD_ACK, 1);
    ok_at(&in_room, "受理 C-12", CMD_ACK, 12);
    ok_at(&in_room, "受理C-12", CMD_ACK, 12);
    ok_at(&in_room, "受理" IDSP "Ｃ－１２", CMD_ACK, 12);
    ok_at(&in_room, "  STATUS c-7  ", CMD_STATUS, 7);
    ok_at(&in_room, "approve C-3", CMD_APPROVE, 3);
    ok_at(&in_room, "驳回 C-3 原因不清", CMD_REJECT, 3);
    ok_at(&in_room, "reopen C-3 customer called again", CMD_REOPEN, 3);
    ok_at(&in_room, "cancel C-3", CMD_CANCEL, 3);
    ok_at(&in_room, "结案 C-3\n原因: 油封老化\n措施: 更换油封\n预防: 定期检查", CMD_CLOSE, 3);
    ok_at(&in_room, "已读 B-7", CMD_READ, 0);
    /* non-ticket words need a prefix or an address in a room */
    ok_at(&in_room, "/help", CMD_HELP, 0);
    ok_at(&in_room, "!list", CMD_LIST, 0);
    ok_at(&in_room, "@dealerbot help", CMD_HELP, 0);
    ok_at(&in_room, "dealerbot: 评分", CMD_SCORECARD, 0);
    assert_string_equal(last_word, "评分"); /* the word, not the address */

    /* conversation: silence */
    const char *chatter[] = {
        "我们已经受理了，明天联系客户", "ack, will do", "the customer wants a status update",
        "ack", "ack C-1,", "受理", "受理了", "受理了 C-1", "status update", "help", "帮助",
        "list overdue", "评分", "help me with C-1", "已读 C-7", "ack B-7", "/foo", "!foo bar",
        "dealerbot ack C-1", "@wang ack C-1", "@dealerbotx ack C-1",
        "dealerbotx: ack C-1", "wang: ack C-1", "/me waves at dealerbot", "C-1 ack",
        "plan", "close the window please"};
    for (size_t i = 0; i < sizeof chatter / sizeof chatter[0]; i++)
        chatter_at(&in_room, chatter[i]);

    /* a command attempt is answered */
    bad_at(&in_room, "/ack", CMDERR_MISSING_TICKET, "needs a ticket id");
    bad_at(&in_room, "/受理了", CMDERR_BAD_TICKET, "is not a ticket id");
    bad_at(&in_room, "!ack X-1", CMDERR_BAD_TICKET, "is not a ticket id");
    bad_at(&in_room, "plan C-1", CMDERR_MISSING_TEXT, "needs the agreed solution");
    bad_at(&in_room, "status C-1 now", CMDERR_BAD_ARGUMENT, "unexpected");
    /* addressed: an unknown word or none at all gets the line pointing to help */
    bad_at(&in_room, "@dealerbot frobnicate", CMDERR_UNKNOWN_COMMAND, "unknown command frob");
    assert_string_equal(last_word, "frobnicate");
    bad_at(&in_room, "dealerbot：你好", CMDERR_UNKNOWN_COMMAND, "unknown command 你好");
    bad_at(&in_room, "@dealerbot /foo", CMDERR_UNKNOWN_COMMAND, "unknown command /foo");
    bad_at(&in_room, "@dealerbot", CMDERR_NO_COMMAND, "without a command");
    bad_at(&in_room, "dealerbot：" IDSP " \t", CMDERR_NO_COMMAND, "without a command");
    bad_at(&in_room, "dealerbot, ", CMDERR_NO_COMMAND, "without a command");
    bad_at(&in_room, "@dealerbot ack", CMDERR_MISSING_TICKET, "needs a ticket id");
}

static void test_dm_forms(void **state)
{
    (void)state;
    ok_at(&in_dm, "ack C-1", CMD_ACK, 1);
    ok_at(&in_dm, "/ack C-1", CMD_ACK, 1);
    ok_at(&in_dm, "!ack C-1", CMD_ACK, 1);
    ok_at(&in_dm, "受理C-1", CMD_ACK, 1);
    ok_at(&in_dm, "@dealerbot 受理 C-1", CMD_ACK, 1);
    ok_at(&in_dm, "dealerbot：方案 C-1 更换油封", CMD_PLAN, 1);
    ok_at(&in_dm, "help", CMD_HELP, 0);
    ok_at(&in_dm, "帮助", CMD_HELP, 0);
    ok_at(&in_dm, "list overdue", CMD_LIST, 0);
    ok_at(&in_dm, "取消", CMD_CANCEL, 0);
    ok_at(&in_dm, "已读B-7", CMD_READ, 0);
    ok_at(&in_dm, "scorecard SH001", CMD_SCORECARD, 0);
    ok_at(NULL, "ack C-1", CMD_ACK, 1); /* NULL: a direct message */
    chatter_at(&in_dm, "hello");
    chatter_at(&in_dm, "受理了，明天联系客户"); /* a glued alias counts only before an id */
    chatter_at(&in_dm, "the customer wants a status update");
    bad_at(&in_dm, "status update", CMDERR_BAD_TICKET, "is not a ticket id");
    bad_at(&in_dm, "/foo", CMDERR_UNKNOWN_COMMAND, "unknown command /foo");
    bad_at(&in_dm, "dealerbot:", CMDERR_NO_COMMAND, "without a command");

    /* while a closing dialogue waits, a bare sentence that does not parse is its answer */
    struct command_where waiting = in_dm;
    waiting.dialogue = true;
    chatter_at(&waiting, "close the door before delivery");
    chatter_at(&waiting, "status light was not checked");
    chatter_at(&waiting, "受理时未核对配件");
    ok_at(&waiting, "status C-4", CMD_STATUS, 4);
    ok_at(&waiting, "cancel", CMD_CANCEL, 0);
    ok_at(&waiting, "取消", CMD_CANCEL, 0);
    bad_at(&waiting, "/status light", CMDERR_BAD_TICKET, "is not a ticket id");
    bad_at(&waiting, "dealerbot: status light", CMDERR_BAD_TICKET, "is not a ticket id");

    /* a platform that marks every direct message as addressed (DingTalk) changes nothing in
     * a direct message: the dialogue's answer and chatter stay what they are */
    struct command_where marked = waiting;
    marked.addressed = true;
    chatter_at(&marked, "已免费更换新轮胎");
    chatter_at(&marked, "status light was not checked");
    ok_at(&marked, "status C-4", CMD_STATUS, 4);
    marked.dialogue = false;
    chatter_at(&marked, "hello");
    ok_at(&marked, "ack C-1", CMD_ACK, 1);
}

static void test_names_and_mentions(void **state)
{
    (void)state;
    /* the nickname the room gave the bot and the configured one both address it */
    static const char *const two[] = {"dealerbot2", "dealerbot"};
    struct command_where w = {.group = true, .names = two, .n_names = 2};
    ok_at(&w, "dealerbot2: ack C-1", CMD_ACK, 1);
    ok_at(&w, "dealerbot: ack C-1", CMD_ACK, 1);
    ok_at(&w, "@dealerbot2 help", CMD_HELP, 0);
    chatter_at(&w, "dealerbot3: help");
    /* a nickname configured in Chinese, completed with full-width punctuation */
    static const char *const zh[] = {"客服助手"};
    struct command_where z = {.group = true, .names = zh, .n_names = 1};
    ok_at(&z, "客服助手：受理 C-9", CMD_ACK, 9);
    ok_at(&z, "@客服助手 状态 C-9", CMD_STATUS, 9);
    ok_at(&z, "@客服助手：帮助", CMD_HELP, 0);
    chatter_at(&z, "客服助手很好用");
    chatter_at(&z, "dealerbot: help"); /* not its name here */
    /* no names at all: only the prefix and the room rule */
    struct command_where anon = {.group = true};
    ok_at(&anon, "/help", CMD_HELP, 0);
    chatter_at(&anon, "@dealerbot help");
    /* the platform says the message was for the bot (a DingTalk @mention) */
    struct command_where mention = {.group = true, .addressed = true, .names = bot_names,
                                    .n_names = 1};
    ok_at(&mention, "受理 C-1", CMD_ACK, 1);
    ok_at(&mention, "help", CMD_HELP, 0);
    ok_at(&mention, "@dealerbot list", CMD_LIST, 0); /* the @name left in the text */
    bad_at(&mention, "hello", CMDERR_UNKNOWN_COMMAND, "unknown command hello");
    bad_at(&mention, "  ", CMDERR_NO_COMMAND, "without a command");
    /* command_kind_parse takes every prefix */
    enum cmd_kind k;
    assert_int_equal(command_kind_parse("!ack", 4, &k), 0);
    assert_int_equal(k, CMD_ACK);
    assert_int_equal(command_kind_parse("受理", strlen("受理"), &k), 0);
    assert_int_equal(k, CMD_ACK);
}


static void test_from_form(void **state)
{
    (void)state;
    struct command c;
    enum cmd_error err;
    struct dbot_diag diag = {{0}};
    const char *n1[] = {"ticket", "eta", "note", "other"};
    const char *v1[] = {" C-12 ", "2026-12-20", " 已联系客户 ", "ignored"};
    assert_int_equal(command_from_form("ack", n1, v1, 4, &c, &err, &diag), 0);
    assert_int_equal(c.kind, CMD_ACK);
    assert_int_equal(c.ticket, 12);
    assert_string_equal(c.eta, "2026-12-20");
    assert_string_equal(c.text, "已联系客户");
    command_cleanup(&c);
    const char *v2[] = {"12", "", NULL, NULL};
    assert_int_equal(command_from_form("ack", n1, v2, 4, &c, &err, &diag), 0);
    assert_int_equal(c.ticket, 12); /* the number alone */
    assert_null(c.eta);
    assert_null(c.text);
    command_cleanup(&c);

    const char *nc[] = {"ticket", "cause", "fix", "prevent"};
    const char *vc[] = {"Ｃ－３", "seal worn\nfix: not this", "new seal", "check at service"};
    assert_int_equal(command_from_form("close", nc, vc, 4, &c, &err, &diag), 0);
    assert_string_equal(c.cause, "seal worn\nfix: not this"); /* no label splitting in forms */
    assert_string_equal(c.prevent, "check at service");
    command_cleanup(&c);

    struct {
        const char *cmd;
        const char *ticket, *a, *b;
        enum cmd_error want;
    } bad_forms[] = {
        {"ack", NULL, NULL, NULL, CMDERR_MISSING_TICKET},
        {"ack", "  ", NULL, NULL, CMDERR_MISSING_TICKET},
        {"ack", "X-1", NULL, NULL, CMDERR_BAD_TICKET},
        {"ack", "0", NULL, NULL, CMDERR_BAD_TICKET},
        {"ack", "C-1", "2026-02-30", NULL, CMDERR_BAD_ETA},
        {"ack", "C-1", NULL, "a\x01", CMDERR_BAD_UTF8},
        {"ack", "C-1", NULL, "\xff", CMDERR_BAD_UTF8},
        {"plan", "C-1", NULL, NULL, CMDERR_MISSING_TEXT},
        {"close", "C-1", "...", "ok fix", CMDERR_MISSING_TEXT},
        {"approve", "C-1", NULL, NULL, CMDERR_UNKNOWN_COMMAND},
        {NULL, "C-1", NULL, NULL, CMDERR_UNKNOWN_COMMAND},
    };
    for (size_t i = 0; i < sizeof bad_forms / sizeof bad_forms[0]; i++) {
        const char *nn[] = {"ticket", "eta", "note", "solution", "cause", "fix", "prevent"};
        const char *vv[] = {bad_forms[i].ticket, bad_forms[i].a, bad_forms[i].b, NULL,
                            bad_forms[i].a, bad_forms[i].b, "prevent it"};
        memset(&c, 0x5A, sizeof c);
        struct command before;
        memcpy(&before, &c, sizeof c);
        int rc = command_from_form(bad_forms[i].cmd, nn, vv, 7, &c, &err, &diag);
        if (rc != DBOT_ERR_INVALID || err != bad_forms[i].want)
            fail_msg("form %zu: rc %d err %d (want %d): %s", i, rc, err, bad_forms[i].want,
                     diag.msg);
        assert_memory_equal(&c, &before, sizeof c);
    }
    /* a value over the message limit */
    char *huge = malloc(COMMAND_MAX_BYTES + 2);
    assert_non_null(huge);
    memset(huge, 'a', COMMAND_MAX_BYTES + 1);
    huge[COMMAND_MAX_BYTES + 1] = '\0';
    const char *vh[] = {"C-1", NULL, huge};
    assert_int_equal(command_from_form("ack", n1, vh, 3, &c, &err, &diag), DBOT_ERR_INVALID);
    assert_int_equal(err, CMDERR_TOO_LONG);
    free(huge);
}

/* appeal / uphold / waive P-5 [text]: the id is required, the text optional (the engine
 * refuses an appeal or a waiver without a reason and records the refusal on the entry). */
static void test_appeals(void **state)
{
    (void)state;
    struct command c;
    ok("/appeal P-5 系统故障，已于时限内受理", CMD_APPEAL, &c);
    assert_int_equal(c.penalty, 5);
    assert_string_equal(c.text, "系统故障，已于时限内受理");
    assert_int_equal(c.ticket, 0);
    command_cleanup(&c);
    ok("/申诉P-0012 理由", CMD_APPEAL, &c);
    assert_int_equal(c.penalty, 12);
    assert_string_equal(c.text, "理由");
    assert_string_equal(last_word, "/申诉");
    command_cleanup(&c);
    ok("/uphold p-7", CMD_UPHOLD, &c);
    assert_int_equal(c.penalty, 7);
    assert_null(c.text);
    command_cleanup(&c);
    ok("/维持 Ｐ－７ 证据充分", CMD_UPHOLD, &c);
    assert_int_equal(c.penalty, 7);
    assert_string_equal(c.text, "证据充分");
    command_cleanup(&c);
    ok("/waive P-3", CMD_WAIVE, &c);
    assert_int_equal(c.penalty, 3);
    assert_null(c.text);
    command_cleanup(&c);
    ok("/撤销 P-3 录入错误", CMD_WAIVE, &c);
    assert_string_equal(c.text, "录入错误");
    command_cleanup(&c);
    bad("/appeal", CMDERR_BAD_ARGUMENT, "/appeal needs a penalty id like P-5");
    bad("/waive C-3 reason", CMDERR_BAD_ARGUMENT, "/waive: \"C-3\" is not a penalty id");
    bad("/uphold P-0", CMDERR_BAD_ARGUMENT, "is not a penalty id");
    bad("/申诉 5", CMDERR_BAD_ARGUMENT, "is not a penalty id");
    /* In a room, unprefixed before a P- id; otherwise conversation. */
    ok_at(&in_room, "appeal P-5 reason", CMD_APPEAL, 0);
    ok_at(&in_room, "申诉 P-5 理由", CMD_APPEAL, 0);
    ok_at(&in_room, "撤销 P-5 理由", CMD_WAIVE, 0);
    ok_at(&in_room, "@dealerbot 维持 P-5", CMD_UPHOLD, 0);
    chatter_at(&in_room, "appeal to the customer");
    chatter_at(&in_room, "撤销了");
    chatter_at(&in_room, "维持现状 C-1");
}

static void test_commend_ledger(void **state)
{
    (void)state;
    struct command c;
    ok("/commend C-12 回访及时，客户很满意", CMD_COMMEND, &c);
    assert_int_equal(c.ticket, 12);
    assert_string_equal(c.text, "回访及时，客户很满意");
    command_cleanup(&c);
    ok("/表扬C-3 处理得好", CMD_COMMEND, &c);
    assert_int_equal(c.ticket, 3);
    command_cleanup(&c);
    bad("/commend C-3", CMDERR_MISSING_TEXT, "/commend");
    bad("/commend", CMDERR_MISSING_TICKET, "/commend");
    ok("/ledger", CMD_LEDGER, &c);
    assert_null(c.dealer);
    command_cleanup(&c);
    ok("/台账 sh001", CMD_LEDGER, &c);
    assert_string_equal(c.dealer, "SH001");
    command_cleanup(&c);
    ok_at(&in_room, "表扬 C-3 好", CMD_COMMEND, 3);
    chatter_at(&in_room, "台账 SH001");
    chatter_at(&in_room, "表扬一下");
    ok("/红榜", CMD_HONOUR, &c);
    command_cleanup(&c);
    bad("/honour now", CMDERR_BAD_ARGUMENT, "/honour");
    chatter_at(&in_room, "红榜 上海店");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_a_command),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_plan_reject_reopen),
        cmocka_unit_test(test_close_fields),
        cmocka_unit_test(test_close_long_field),
        cmocka_unit_test(test_status_approve),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_scorecard_underperformers),
        cmocka_unit_test(test_penalty),
        cmocka_unit_test(test_penalties),
        cmocka_unit_test(test_appeals),
        cmocka_unit_test(test_commend_ledger),
        cmocka_unit_test(test_penalty_alias_prefix),
        cmocka_unit_test(test_unknown_and_word),
        cmocka_unit_test(test_limits_and_encoding),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_report_field_check),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_room_forms),
        cmocka_unit_test(test_dm_forms),
        cmocka_unit_test(test_names_and_mentions),
        cmocka_unit_test(test_from_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
