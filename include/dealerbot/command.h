/*
 * command.h — the grammar of chat commands (DESIGN.md, "Chat commands (contract)"): one chat
 * message in, one struct command or one refusal reason out. Pure: no I/O, no clock, no
 * globals, so any thread may call it. It checks only the shape of a command; who may use it,
 * whether the ticket exists and whether the state allows it are the engine's questions.
 *
 * Ownership: struct command holds heap strings owned by it; command_cleanup() frees them.
 * Every string in it is valid UTF-8 without NUL or control characters other than '\n' and
 * '\t' in free text (CR LF and lone CR are turned into '\n').
 *
 * Which messages are commands (DESIGN.md; struct command_where carries the facts):
 *   [address] [prefix] keyword [arguments]
 * address: "@name" (then a blank, the end or punctuation) or "name" followed by ':' ',' '：'
 * '，' as clients complete a nickname, for any of the bot's names; prefix: '/' '!' '／' '！'.
 * A message addressed to the bot or carrying a prefix is a command when its word is a keyword
 * (an addressed message with an unknown word or none at all is refused, so that the sender
 * gets the line pointing to help). Without address and prefix: in a direct message any keyword
 * is a command; in a room only a ticket keyword followed by a ticket id ("受理 C-12",
 * "ack C-12") or read followed by a broadcast id ("已读 B-7") — everything else in a room is
 * conversation and not a command (return 1), and so is "/word" there when word is no keyword.
 *
 * Grammar summary (English words are case-insensitive; Chinese aliases are equivalent; the
 * '/' shown is optional as described above):
 *   /help|/帮助 [topic]                 /status|/状态 C-1           /approve|/通过 C-1
 *   /ack|/受理 C-1 [eta=YYYY-MM-DD] [note]                         /read|/已读 B-7
 *   /plan|/方案 C-1 <solution>          /reject|/驳回 C-1 <reason>  /reopen|/重开 C-1 <reason>
 *   /close|/结案 C-1 [cause: ..] [fix: ..] [prevent: ..]   (原因: 措施: 预防:, ':' or '：')
 *   /list|/列表 [overdue|逾期] [dealer=X]                    /scorecard|/评分 [dealer]
 *   /cancel|/取消 [C-1 [reason]]        /underperformers|/待改进
 *   /broadcast|/广播 <all|underperformers|region:R|dealer:X> <standard|penalty|training|risk|
 *                   notice> [ack] <text>
 *   /penalty|/处罚 <dealer> <code> [C-1] [note]   /penalties|/处罚记录 [dealer]
 *   /appeal|/申诉 P-5 [reason]   /uphold|/维持 P-5 [note]   /waive|/撤销 P-5 [reason]
 *   /commend|/表扬 C-1 <note>           /ledger|/台账 [dealer]      /honour|/红榜
 *   (the reason an appeal and a waiver need is the engine's check, so that the refusal is
 *   recorded on the entry; unprefixed in a room they are commands before a P- id)
 * Separators are runs of ' ', '\t', U+3000 and line ends. A Chinese alias may be glued to its
 * first argument ("/受理C-1"), since Chinese is written without spaces; the longest alias
 * wins, so "/处罚记录SH001" is /penalties, not /处罚 with "记录SH001". Ids accept
 * full-width letters, digits and hyphen ("Ｃ－１２") and leading zeros ("C-0012" is 12). A
 * /close label counts at the start of any word (start of a line, after the id, after a
 * blank), so "/close C-1 cause: a fix: b" works on one line; text before the first label and
 * a repeated label are CMDERR_BAD_ARGUMENT.
 */
#ifndef DEALERBOT_COMMAND_H
#define DEALERBOT_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dealerbot/error.h"

#define COMMAND_MAX_BYTES 8192  /* a longer message is CMDERR_TOO_LONG */
#define REPORT_FIELD_MAX 2000   /* code points in one /close report field */
#define COMMAND_REGION_MAX 64   /* code points in a /broadcast region:<r> */
#define COMMAND_WORD_SIZE 64    /* a `word` buffer of this size never truncates a known word */

enum cmd_kind {
    CMD_HELP,
    CMD_ACK,
    CMD_PLAN,
    CMD_CLOSE,
    CMD_STATUS,
    CMD_LIST,
    CMD_APPROVE,
    CMD_REJECT,
    CMD_REOPEN,
    CMD_CANCEL,
    CMD_BROADCAST,
    CMD_READ,
    CMD_SCORECARD,
    CMD_UNDERPERFORMERS,
    CMD_PENALTY,
    CMD_PENALTIES, /* added last: the values above are stable */
    CMD_APPEAL,    /* appeals on ledger entries (P-5); added after: stable too */
    CMD_UPHOLD,
    CMD_WAIVE,
    CMD_COMMEND,   /* commend C-1 <note>: a reward for the dealer */
    CMD_LEDGER,    /* the ledger: penalties and rewards with the balance */
    CMD_HONOUR,    /* the honour roll of the month just ended, now */
};

enum cmd_error {
    CMDERR_NONE = 0,
    CMDERR_UNKNOWN_COMMAND, /* the word after '/' is no command (also a bare "/") */
    CMDERR_MISSING_TICKET,  /* a required C-123 is not there */
    CMDERR_BAD_TICKET,      /* the argument where the id belongs is not a valid C-123 */
    CMDERR_MISSING_TEXT,    /* required free text (or a /close field) is empty */
    CMDERR_BAD_ETA,         /* eta= is not a real YYYY-MM-DD date (year 1970..9999) */
    CMDERR_BAD_ARGUMENT,    /* anything else malformed, including /read's B-7 and extra words */
    CMDERR_TOO_LONG,        /* message over COMMAND_MAX_BYTES, or a field over its limit */
    CMDERR_BAD_UTF8,        /* malformed UTF-8, NUL, or a control character other than
                               tab / CR / LF */
    CMDERR_NO_COMMAND,      /* addressed to the bot with nothing after the address */
};

/*
 * Where a message was written and what the bot is called there: what decides whether a
 * message is a command at all (the rules at the top). Borrowed for the call.
 */
struct command_where {
    bool group;               /* in a room; false: a direct message */
    bool addressed;           /* the platform says the message is for the bot (a DingTalk
                                 @mention; counts in a room only, a direct message reads the
                                 same on every platform); an address in the text is found by
                                 the parser */
    bool dialogue;            /* direct message only: a guided closing dialogue waits for this
                                 sender's answer, so a bare sentence that starts with a
                                 keyword but does not parse is that answer (returns 1) */
    const char *const *names; /* the bot's names (configured nick, the nick the room gave
                                 it); NULL entries are not allowed */
    size_t n_names;
};

struct command {
    enum cmd_kind kind;
    int64_t ticket;        /* C-123 -> 123; 0 when none given */
    char *text;            /* /plan solution, /reject and /reopen reason, /ack and /penalty note,
                              /broadcast text, /cancel reason, /help topic, /appeal and /waive
                              reason, /uphold and /commend note; trimmed; NULL when none */
    char *eta;             /* /ack eta=YYYY-MM-DD (a valid calendar date), NULL when none */
    char *cause, *fix, *prevent; /* /close report fields, trimmed, each passed
                                    report_field_check; NULL when missing (the engine asks) */
    bool overdue;          /* /list overdue */
    char *dealer;          /* /list dealer=X, /scorecard X, /penalty X, /penalties X, /ledger X (code
                              [A-Za-z0-9_-]{1,32}, upper-cased); NULL when none */
    char *audience;        /* /broadcast: "underperformers" | "all" | "region:<r>" (r as typed) |
                              "dealer:<CODE>" (upper-cased) */
    char *bkind;           /* /broadcast kind, lower-cased: standard|penalty|training|risk|notice */
    bool require_read;     /* /broadcast ... ack ... */
    int64_t broadcast;     /* /read B-7 -> 7 */
    char *penalty_code;    /* /penalty <dealer> <code>: [A-Za-z0-9_.-]{1,32} as typed */
    bool pin_in;           /* /underperformers pin CODE in (true) | out (false); text is the
                              subcommand ("refresh", "pin", "unpin"), dealer the code */
    int64_t penalty;       /* /appeal /uphold /waive P-5 -> 5 */
};

/*
 * Parses one chat message (borrows text[0..len); it need not be NUL-terminated) written where
 * `where` says (NULL: a direct message, no names to address the bot by).
 *
 * Returns 1 when `text` is not a command (the rules at the top), or it is an XMPP "/me "
 * action (XEP-0245). Size and encoding are not looked at then. *err is CMDERR_NONE.
 *
 * Returns 0 with *out filled (the caller frees with command_cleanup) and *err CMDERR_NONE.
 *
 * Returns DBOT_ERR_INVALID with *err set and diag holding one English line for the log
 * ("unknown command /foo", "/ack needs a ticket id like C-123"); the line never quotes more
 * than about 40 bytes of the message. *out is not touched. DBOT_ERR_NOMEM when out of memory
 * (*err CMDERR_NONE).
 *
 * `word` (may be NULL when word_len is 0) always receives the command word as typed, with its
 * prefix if it had one (the address is not part of it), NUL-terminated and truncated on a character boundary to word_len - 1 bytes — for
 * "unknown command /foo — try /help". It is "" when the message is no command or the word is
 * not valid UTF-8. For a glued Chinese alias ("/受理C-1") it is the alias only ("/受理").
 */
int command_parse(const char *text, size_t len, const struct command_where *where,
                  struct command *out, enum cmd_error *err, char *word, size_t word_len,
                  struct dbot_diag *diag);

/*
 * Builds the command of a submitted form (chat.h, struct chat_form): `command` is "ack",
 * "plan", "close" or "status", names[i]/values[i] its fields (NULL or blank = not given).
 * Each value is checked as if it had been typed: the ticket ("C-12", or "12"), eta= as a
 * real date, the close fields with report_field_check, every value valid UTF-8 without
 * control characters and at most COMMAND_MAX_BYTES. Unknown fields are ignored. Returns 0
 * with *out filled (command_cleanup), or DBOT_ERR_INVALID with *err and diag like
 * command_parse(), or DBOT_ERR_NOMEM. Borrows everything.
 */
int command_from_form(const char *command, const char *const *names, const char *const *values,
                      size_t n, struct command *out, enum cmd_error *err,
                      struct dbot_diag *diag);

/* Frees the strings of c and zeroes it; NULL allowed. */
void command_cleanup(struct command *c);

/* The English command word without slash: "ack", "underperformers", ... */
const char *command_name(enum cmd_kind k);

/* Maps a command word as `word` receives it ("/ACK", "／受理", "!ack", "ack") to its kind, so that a
 * refusal can be worded for the command even though *out is not written on error.
 * Returns 0 or DBOT_ERR_INVALID. Borrows s[0..len). */
int command_kind_parse(const char *s, size_t len, enum cmd_kind *out);

/*
 * Checks one /close report field (also used by the guided dialogue; borrows text, NUL
 * terminated, NULL allowed): valid UTF-8 without control characters other than tab/CR/LF,
 * at least 2 letters, digits or CJK characters (so not empty, not only punctuation, symbols
 * or emoji), at most REPORT_FIELD_MAX code points. Returns CMDERR_NONE, CMDERR_BAD_UTF8,
 * CMDERR_MISSING_TEXT or CMDERR_TOO_LONG, checked in that order.
 */
enum cmd_error report_field_check(const char *text);

/* Parses a ticket id "C-123" (borrows s[0..len), the whole span must be the id):
 * 'C' or 'c' or full-width 'Ｃ'/'ｃ', '-' or full-width '－', then 1..n ASCII or full-width
 * digits, leading zeros allowed, value 1..INT64_MAX. Returns 0 and sets *out, or
 * DBOT_ERR_INVALID. */
int ticket_id_parse(const char *s, size_t len, int64_t *out);

/* The same for a broadcast id "B-7". */
int broadcast_id_parse(const char *s, size_t len, int64_t *out);

/* The same for a penalty (ledger entry) id "P-5". */
int penalty_id_parse(const char *s, size_t len, int64_t *out);

#endif
