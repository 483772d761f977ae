/*
 * fuzz_command.c — libFuzzer target for the chat command parser: any bytes must give "not a
 * command", a consistent struct command, or one refusal line — never a crash, a leak or an
 * unterminated message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/command.h"
#include "dealerbot/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, bool multiline)
{
    if (!s)
        return;
    size_t len = strlen(s);
    if (len == 0 || !utf8_valid(s, len))
        __builtin_trap();
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == 0x7f || (c < 0x20 && !(multiline && (c == '\n' || c == '\t'))))
            __builtin_trap();
    }
}

static void check_command(const struct command *c)
{
    bool needs_ticket = c->kind == CMD_ACK || c->kind == CMD_PLAN || c->kind == CMD_CLOSE ||
                        c->kind == CMD_STATUS || c->kind == CMD_APPROVE ||
                        c->kind == CMD_REJECT || c->kind == CMD_REOPEN;
    bool needs_text = c->kind == CMD_PLAN || c->kind == CMD_REJECT || c->kind == CMD_REOPEN ||
                      c->kind == CMD_BROADCAST;
    if ((unsigned)c->kind > CMD_HONOUR || c->ticket < 0 || c->broadcast < 0)
        __builtin_trap();
    if (needs_ticket && c->ticket <= 0)
        __builtin_trap();
    if (needs_text && !c->text)
        __builtin_trap();
    if (c->kind == CMD_READ && c->broadcast <= 0)
        __builtin_trap();
    if (c->kind == CMD_BROADCAST && (!c->audience || !c->bkind))
        __builtin_trap();
    if (c->kind == CMD_PENALTY && (!c->dealer || !c->penalty_code))
        __builtin_trap();
    if (c->kind == CMD_CANCEL && c->text && c->ticket <= 0)
        __builtin_trap();
    if (c->eta && (c->kind != CMD_ACK || strlen(c->eta) != 10))
        __builtin_trap();
    const char *fields[] = {c->cause, c->fix, c->prevent};
    for (int i = 0; i < 3; i++) {
        if (fields[i] && (c->kind != CMD_CLOSE || report_field_check(fields[i]) != CMDERR_NONE))
            __builtin_trap();
        check_string(fields[i], true);
    }
    check_string(c->text, true);
    check_string(c->eta, false);
    check_string(c->dealer, false);
    check_string(c->audience, false);
    check_string(c->bkind, false);
    check_string(c->penalty_code, false);
    if (c->dealer)
        for (const char *p = c->dealer; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                __builtin_trap();
}

/* Parses text as written at *w and checks the result; returns command_parse's rc. */
static int parse_checked(const char *text, size_t size, const struct command_where *w)
{
    struct command c;
    memset(&c, 0xA5, sizeof c); /* must not be read or freed on refusal */
    enum cmd_error err = (enum cmd_error)-1;
    struct dbot_diag diag = {0};
    char word[COMMAND_WORD_SIZE];
    memset(word, 'x', sizeof word);
    int rc = command_parse(text, size, w, &c, &err, word, sizeof word, &diag);

    if (memchr(word, '\0', sizeof word) == NULL || !utf8_valid(word, strlen(word)))
        __builtin_trap();
    if (rc == 1) {
        if (err != CMDERR_NONE || word[0] != '\0')
            __builtin_trap();
    } else if (rc == 0) {
        if (err != CMDERR_NONE)
            __builtin_trap();
        check_command(&c);
        command_cleanup(&c);
    } else if (rc == DBOT_ERR_INVALID) {
        if (err == CMDERR_NONE || err > CMDERR_NO_COMMAND || diag.msg[0] == '\0' ||
            memchr(diag.msg, '\0', sizeof diag.msg) == NULL || strchr(diag.msg, '\n') ||
            strchr(diag.msg, '\r'))
            __builtin_trap();
    } else {
        __builtin_trap();
    }
    return rc;
}

/*
 * The same bytes as a submitted form: split at 0x1F into up to 7 values for the fields
 * ticket, eta, note, solution, cause, fix, prevent (in that order), for the command chosen by
 * the input's length. Any result must be a consistent command or one refusal.
 */
static void form_checked(const char *text, size_t size)
{
    static const char *const commands[] = {"ack", "plan", "close", "status"};
    static const char *const names[] = {"ticket", "eta", "note", "solution",
                                        "cause", "fix", "prevent"};
    char *copy = malloc(size + 1);
    if (!copy)
        return;
    memcpy(copy, text, size);
    copy[size] = '\0';
    const char *values[7] = {NULL};
    size_t n = 0;
    char *p = copy;
    while (n < 7) {
        values[n++] = p;
        char *sep = memchr(p, 0x1F, size - (size_t)(p - copy));
        if (!sep)
            break;
        *sep = '\0';
        p = sep + 1;
    }
    struct command c;
    memset(&c, 0xA5, sizeof c);
    enum cmd_error err = (enum cmd_error)-1;
    struct dbot_diag diag = {0};
    int rc = command_from_form(commands[size % 4], names, values, n, &c, &err, &diag);
    if (rc == 0) {
        if (err != CMDERR_NONE || c.ticket <= 0)
            __builtin_trap();
        check_command(&c);
        command_cleanup(&c);
    } else if (rc != DBOT_ERR_INVALID || err == CMDERR_NONE || diag.msg[0] == '\0') {
        __builtin_trap();
    }
    free(copy);
}

/*
 * Every input is parsed as written in a direct message, in a room, in a room with a platform
 * address, and in a direct message while a dialogue waits. What is a command in a room
 * is one in a direct message too (rooms only take fewer forms), with the same outcome.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy without a terminator, so ASan catches any read past `size`. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);

    static const char *const names[] = {"dealerbot", "客服机器人"};
    struct command_where dm = {.names = names, .n_names = 2};
    struct command_where room = {.group = true, .names = names, .n_names = 2};
    struct command_where mention = {.group = true, .addressed = true, .names = names,
                                    .n_names = 2};
    struct command_where waiting = {.dialogue = true, .names = names, .n_names = 2};
    int rc_dm = parse_checked(text, size, &dm);
    int rc_room = parse_checked(text, size, &room);
    parse_checked(text, size, &mention);
    int rc_wait = parse_checked(text, size, &waiting);
    parse_checked(text, size, NULL);
    if (rc_room != 1 && rc_room != rc_dm)
        __builtin_trap();
    if (rc_dm == 1 && rc_wait != 1)
        __builtin_trap();
    form_checked(text, size);
    free(text);
    return 0;
}
