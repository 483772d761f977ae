/*
 * command.c — the chat command grammar: one message in, one struct command or one refusal
 * reason out (the contract is in include/dealerbot/command.h and DESIGN.md).
 *
 * Everything a dealer or staff member types reaches the engine through here, so the parser is
 * fuzzed (tests/fuzz/fuzz_command.c). It works on the message bytes in place: the whole
 * message is checked once (size, UTF-8, control characters) and after that every helper may
 * assume well-formed UTF-8, which is why they step over a character with lead_len() and never
 * re-validate. Only the pieces that end up in struct command are copied.
 */
#include "dealerbot/command.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/civil.h"
#include "dealerbot/utf8.h"

/* Bytes quoted from the message in a diag line, at most. */
#define QUOTE_MAX 40

/*
 * The keywords. `id` is the id that makes an unprefixed keyword a command in a room where the
 * bot is not addressed: 'C' for the ticket keywords ("受理 C-12"), 'B' for read ("已读 B-7"),
 * 0 for the words that are only commands with '/', '!' or an address there ("help" or "list"
 * in a sentence is conversation). A new ticket command (pause, resume) is one row with 'C'.
 */
static const struct {
    const char *en;
    const char *zh;
    char id;
} names[] = {
    [CMD_HELP] = {"help", "帮助", 0},
    [CMD_ACK] = {"ack", "受理", 'C'},
    [CMD_PLAN] = {"plan", "方案", 'C'},
    [CMD_CLOSE] = {"close", "结案", 'C'},
    [CMD_STATUS] = {"status", "状态", 'C'},
    [CMD_LIST] = {"list", "列表", 0},
    [CMD_APPROVE] = {"approve", "通过", 'C'},
    [CMD_REJECT] = {"reject", "驳回", 'C'},
    [CMD_REOPEN] = {"reopen", "重开", 'C'},
    [CMD_CANCEL] = {"cancel", "取消", 'C'},
    [CMD_BROADCAST] = {"broadcast", "广播", 0},
    [CMD_READ] = {"read", "已读", 'B'},
    [CMD_SCORECARD] = {"scorecard", "评分", 0},
    [CMD_UNDERPERFORMERS] = {"underperformers", "待改进", 0},
    [CMD_PENALTY] = {"penalty", "处罚", 0},
    [CMD_PENALTIES] = {"penalties", "处罚记录", 0}, /* extends 处罚: see glued_alias */
    [CMD_APPEAL] = {"appeal", "申诉", 'P'},
    [CMD_UPHOLD] = {"uphold", "维持", 'P'},
    [CMD_WAIVE] = {"waive", "撤销", 'P'},
    [CMD_COMMEND] = {"commend", "表扬", 'C'},
    [CMD_LEDGER] = {"ledger", "台账", 0},
    [CMD_HONOUR] = {"honour", "红榜", 0},
};
#define NCOMMANDS (sizeof names / sizeof names[0])

/* /close report labels, in the order of the struct fields they fill. */
static const struct {
    const char *en;
    const char *zh;
} labels[] = {{"cause", "原因"}, {"fix", "措施"}, {"prevent", "预防"}};
#define NLABELS (sizeof labels / sizeof labels[0])

static const char *const broadcast_kinds[] = {"standard", "penalty", "training", "risk", "notice"};

/* Full-width forms that matter here, as UTF-8. */
#define FW_SLASH "\xEF\xBC\x8F"  /* U+FF0F ／ */
#define FW_COLON "\xEF\xBC\x9A"  /* U+FF1A ： */
#define FW_EQUALS "\xEF\xBC\x9D" /* U+FF1D ＝ */
#define FW_HYPHEN "\xEF\xBC\x8D" /* U+FF0D － */
#define FW_COMMA "\xEF\xBC\x8C"  /* U+FF0C ， */
#define FW_BANG "\xEF\xBC\x81"   /* U+FF01 ！ */
#define FW_AT "\xEF\xBC\xA0"     /* U+FF20 ＠ */
#define IDEO_SPACE "\xE3\x80\x80" /* U+3000 */

/* ---- bytes and characters ------------------------------------------------------------ */

static bool has_at(const char *s, size_t end, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    return end - i >= n && memcmp(s + i, lit, n) == 0;
}

/* Length of the separator at s[i] (' ', '\t', U+3000, and with `lines` also CR and LF), or 0. */
static size_t sep_at(const char *s, size_t end, size_t i, bool lines)
{
    char c = s[i];
    if (c == ' ' || c == '\t' || (lines && (c == '\r' || c == '\n')))
        return 1;
    return has_at(s, end, i, IDEO_SPACE) ? 3 : 0;
}

static size_t skip_seps(const char *s, size_t end, size_t i, bool lines)
{
    size_t n;
    while (i < end && (n = sep_at(s, end, i, lines)) != 0)
        i += n;
    return i;
}

/* Byte length of the character starting with lead byte c (the text is known to be valid). */
static size_t lead_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c < 0xE0)
        return 2;
    return c < 0xF0 ? 3 : 4;
}

/* End of the token at s[i]: the next separator (line ends included) or `end`. */
static size_t token_end(const char *s, size_t end, size_t i)
{
    while (i < end && sep_at(s, end, i, true) == 0)
        i += lead_len((unsigned char)s[i]);
    return i < end ? i : end;
}

/* Trims separators and line ends from both ends of s[*a..*b). */
static void trim(const char *s, size_t *a, size_t *b)
{
    *a = skip_seps(s, *b, *a, true);
    while (*b > *a) {
        char c = s[*b - 1];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            (*b)--;
        else if (*b - *a >= 3 && memcmp(s + *b - 3, IDEO_SPACE, 3) == 0)
            *b -= 3;
        else
            break;
    }
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char ascii_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* s[0..len) equals lit, ASCII letters compared without case (other bytes exactly). */
static bool eq_ci(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(s[i]) != ascii_lower(lit[i]))
            return false;
    return true;
}

static bool prefix_ci(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return n <= len && eq_ci(s, n, lit);
}

/* A token "key=value" (or "key:value" ...): key without case, then `ascii` or its full-width
 * twin `wide`. Sets the value span (may be empty). */
static bool key_value(const char *s, size_t len, const char *key, char ascii, const char *wide,
                      const char **v, size_t *vlen)
{
    size_t n = strlen(key);
    if (!prefix_ci(s, len, key))
        return false;
    size_t skip;
    if (n < len && s[n] == ascii)
        skip = 1;
    else if (has_at(s, len, n, wide))
        skip = strlen(wide);
    else
        return false;
    *v = s + n + skip;
    *vlen = len - n - skip;
    return true;
}

/* Any byte below 0x20 other than tab, CR, LF, or DEL. */
static bool has_controls(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
            return true;
    }
    return false;
}

/* Code point at s[*i] of valid UTF-8; advances *i. */
static uint32_t decode(const char *s, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t n = lead_len(p[0]);
    uint32_t cp = n == 1 ? p[0] : n == 2 ? p[0] & 0x1Fu : n == 3 ? p[0] & 0x0Fu : p[0] & 0x07u;
    for (size_t k = 1; k < n; k++)
        cp = (cp << 6) | (p[k] & 0x3Fu);
    *i += n;
    return cp;
}

/*
 * Whether a code point counts as "a word character" for report_field_check: ASCII letters and
 * digits, letters of the Latin, Greek, Cyrillic and other alphabetic blocks, kana, Hangul, CJK
 * ideographs and the full-width letters and digits. Punctuation, symbols, arrows, box drawing,
 * emoji, private use and the CJK punctuation block do not count. Block granularity is enough:
 * the point is to refuse "..." or "？？" as a root cause, not to classify Unicode exactly.
 */
static bool is_word_cp(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (c < 0x370)
        return c == 0xAA || c == 0xB5 || c == 0xBA ||
               (c >= 0xC0 && c <= 0x2AF && c != 0xD7 && c != 0xF7);
    if (c < 0x2000)
        return c != 0x37E && c != 0x387;
    if (c < 0x2C00)
        return false; /* general punctuation, symbols, arrows, math, box drawing */
    if (c < 0x2E00)
        return true;
    if (c < 0x2E80)
        return false; /* supplemental punctuation */
    if (c < 0x3000)
        return true;  /* CJK and Kangxi radicals */
    if (c < 0x3040)
        return c >= 0x3005 && c <= 0x3007; /* 々 〆 〇; the rest is CJK punctuation */
    if (c < 0x4DC0)
        return true;  /* kana, bopomofo, Hangul jamo, CJK extension A */
    if (c < 0x4E00)
        return false; /* Yijing hexagrams */
    if (c < 0xD800)
        return true;  /* CJK unified, Yi, Hangul syllables */
    if (c < 0xF900)
        return false; /* surrogates (never here), private use */
    if (c < 0xFE00)
        return true;  /* CJK compatibility ideographs, presentation forms */
    if (c < 0xFE70)
        return false; /* variation selectors, vertical and small forms */
    if (c < 0xFF00)
        return c != 0xFEFF;
    if (c < 0xFFF0)
        return (c >= 0xFF10 && c <= 0xFF19) || (c >= 0xFF21 && c <= 0xFF3A) ||
               (c >= 0xFF41 && c <= 0xFF5A) || (c >= 0xFF66 && c <= 0xFFDC);
    if (c < 0x10000)
        return false;
    if (c < 0x1D000)
        return true;  /* historic scripts */
    if (c >= 0x1D400 && c < 0x1D800)
        return true;  /* mathematical letters */
    if (c >= 0x1E800 && c < 0x1EF00)
        return true;
    return c >= 0x20000 && c < 0x40000; /* CJK extensions B..H; emoji and symbols do not count */
}

/* ---- output helpers ------------------------------------------------------------------ */

/* Sets *err and the diag line; returns DBOT_ERR_INVALID. dbot_diag_set keeps it one line. */
static int fail(enum cmd_error *err, struct dbot_diag *diag, enum cmd_error code,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(enum cmd_error *err, struct dbot_diag *diag, enum cmd_error code,
                const char *fmt, ...)
{
    char msg[DBOT_DIAG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    *err = code;
    return dbot_diag_set(diag, DBOT_ERR_INVALID, "%s", msg);
}

static int nomem(struct dbot_diag *diag)
{
    return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
}

/* Copies at most `max` bytes of valid UTF-8 s[0..len) into buf (size > max + 3), cut on a
 * character boundary, "..." appended when cut. For quoting user input in diag lines. */
static const char *quote(const char *s, size_t len, char *buf, size_t size)
{
    bool cut;
    size_t n = utf8_cut(s, len, SIZE_MAX, QUOTE_MAX, &cut);
    assert(size > QUOTE_MAX + 3);
    (void)size;
    memcpy(buf, s, n);
    if (cut) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

/* A heap copy of s[a..b) with CR LF and lone CR turned into LF; upper-cases ASCII when
 * `upper`. Returns NULL when out of memory. */
static char *copy_span(const char *s, size_t a, size_t b, bool upper)
{
    char *out = malloc(b - a + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = a; i < b; i++) {
        char c = s[i];
        if (c == '\r') {
            if (i + 1 < b && s[i + 1] == '\n')
                continue;
            c = '\n';
        }
        out[n++] = upper ? ascii_upper(c) : c;
    }
    out[n] = '\0';
    return out;
}

/* Trims s[a..b) and copies it into *out, or sets *out NULL when nothing is left.
 * Returns 0 or DBOT_ERR_NOMEM. */
static int take_text(const char *s, size_t a, size_t b, char **out)
{
    trim(s, &a, &b);
    *out = NULL;
    if (a == b)
        return 0;
    *out = copy_span(s, a, b, false);
    return *out ? 0 : DBOT_ERR_NOMEM;
}

/* Fills the caller's `word` buffer: s[0..len) cut on a character boundary, only when that
 * prefix is valid UTF-8 (the message may not have been validated yet). */
static void fill_word(char *word, size_t word_len, const char *s, size_t len)
{
    if (!word || word_len == 0)
        return;
    size_t n = utf8_cut(s, len, SIZE_MAX, word_len - 1, NULL);
    if (!utf8_valid(s, n) || has_controls(s, n))
        n = 0;
    memcpy(word, s, n);
    word[n] = '\0';
}

/* ---- ids, dates, codes --------------------------------------------------------------- */

/* "<L>-<digits>" with L = `letter` (upper case ASCII), see ticket_id_parse. */
static int id_parse(const char *s, size_t len, char letter, int64_t *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i;
    if (!s)
        return DBOT_ERR_INVALID;
    if (len >= 1 && ascii_upper(s[0]) == letter)
        i = 1;
    else if (len >= 3 && p[0] == 0xEF &&
             ((p[1] == 0xBC && p[2] == 0xA1 + (letter - 'A')) ||  /* U+FF21.. Ａ.. */
              (p[1] == 0xBD && p[2] == 0x81 + (letter - 'A'))))   /* U+FF41.. ａ.. */
        i = 3;
    else
        return DBOT_ERR_INVALID;
    if (i < len && s[i] == '-')
        i++;
    else if (has_at(s, len, i, FW_HYPHEN))
        i += 3;
    else
        return DBOT_ERR_INVALID;
    int64_t v = 0;
    size_t digits = 0;
    while (i < len) {
        int d;
        if (p[i] >= '0' && p[i] <= '9') {
            d = p[i] - '0';
            i++;
        } else if (len - i >= 3 && p[i] == 0xEF && p[i + 1] == 0xBC && p[i + 2] >= 0x90 &&
                   p[i + 2] <= 0x99) { /* full-width ０..９ */
            d = p[i + 2] - 0x90;
            i += 3;
        } else {
            return DBOT_ERR_INVALID;
        }
        if (v > (INT64_MAX - d) / 10)
            return DBOT_ERR_INVALID;
        v = v * 10 + d;
        digits++;
    }
    if (digits == 0 || v == 0)
        return DBOT_ERR_INVALID;
    *out = v;
    return 0;
}

int ticket_id_parse(const char *s, size_t len, int64_t *out)
{
    return id_parse(s, len, 'C', out);
}

int broadcast_id_parse(const char *s, size_t len, int64_t *out)
{
    return id_parse(s, len, 'B', out);
}

int penalty_id_parse(const char *s, size_t len, int64_t *out)
{
    return id_parse(s, len, 'P', out);
}

/* "YYYY-MM-DD", a real Gregorian date with year 1970..9999. */
static bool date_valid(const char *s, size_t len)
{
    int y, m, d;
    return civil_date_parse(s, len, &y, &m, &d) == 0 && y >= 1970;
}

/* [A-Za-z0-9_-]{1,32}, plus '.' when `dot`. */
static bool code_valid(const char *s, size_t len, bool dot)
{
    if (len == 0 || len > 32)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || (dot && c == '.')))
            return false;
    }
    return true;
}

/* ---- report fields ------------------------------------------------------------------- */

enum cmd_error report_field_check(const char *text)
{
    if (!text)
        return CMDERR_MISSING_TEXT;
    size_t len = strlen(text);
    if (!utf8_valid(text, len) || has_controls(text, len))
        return CMDERR_BAD_UTF8;
    size_t words = 0, chars = 0;
    for (size_t i = 0; i < len;) {
        if (is_word_cp(decode(text, &i)))
            words++;
        chars++;
    }
    if (words < 2)
        return CMDERR_MISSING_TEXT;
    if (chars > REPORT_FIELD_MAX)
        return CMDERR_TOO_LONG;
    return CMDERR_NONE;
}

/* ---- the argument cursor ------------------------------------------------------------- */

struct cursor {
    const char *s;
    size_t pos;
    size_t end;
};

/* The next token (separated by blanks or line ends); false when none is left. */
static bool next_token(struct cursor *c, const char **tok, size_t *len)
{
    size_t a = skip_seps(c->s, c->end, c->pos, true);
    if (a == c->end) {
        c->pos = a;
        return false;
    }
    size_t b = token_end(c->s, c->end, a);
    *tok = c->s + a;
    *len = b - a;
    c->pos = b;
    return true;
}

/* Whether a token follows, without consuming it. */
static bool peek_token(const struct cursor *c, const char **tok, size_t *len)
{
    struct cursor copy = *c;
    return next_token(&copy, tok, len);
}

/* The rest of the message as trimmed free text (NULL when none). */
static int take_rest(struct cursor *c, char **out, struct dbot_diag *diag)
{
    int rc = take_text(c->s, c->pos, c->end, out);
    c->pos = c->end;
    return rc ? nomem(diag) : 0;
}

/* Everything of a command was read; anything more is refused rather than silently dropped. */
static int expect_end(struct cursor *c, enum cmd_kind k, enum cmd_error *err,
                      struct dbot_diag *diag)
{
    const char *tok;
    size_t len;
    char q[QUOTE_MAX + 4];
    if (!next_token(c, &tok, &len))
        return 0;
    return fail(err, diag, CMDERR_BAD_ARGUMENT, "/%s: unexpected \"%s\"", names[k].en,
                quote(tok, len, q, sizeof q));
}

static int label_at(const char *s, size_t end, size_t i, size_t *after);

/* The required ticket id that follows the command word. */
static int need_ticket(struct cursor *c, enum cmd_kind k, int64_t *id, enum cmd_error *err,
                       struct dbot_diag *diag)
{
    const char *tok;
    size_t len, after;
    char q[QUOTE_MAX + 4];
    if (!next_token(c, &tok, &len) ||
        (k == CMD_CLOSE && label_at(c->s, c->end, (size_t)(tok - c->s), &after) >= 0))
        return fail(err, diag, CMDERR_MISSING_TICKET, "/%s needs a ticket id like C-123",
                    names[k].en);
    if (ticket_id_parse(tok, len, id) != 0)
        return fail(err, diag, CMDERR_BAD_TICKET, "/%s: \"%s\" is not a ticket id like C-123",
                    names[k].en, quote(tok, len, q, sizeof q));
    return 0;
}

/* Required free text after the arguments. */
static int need_text(struct cursor *c, enum cmd_kind k, const char *what, char **out,
                     enum cmd_error *err, struct dbot_diag *diag)
{
    int rc = take_rest(c, out, diag);
    if (rc)
        return rc;
    if (!*out)
        return fail(err, diag, CMDERR_MISSING_TEXT, "/%s needs %s", names[k].en, what);
    return 0;
}

static int take_dealer(const char *tok, size_t len, enum cmd_kind k, char **out,
                       enum cmd_error *err, struct dbot_diag *diag);

/* /underperformers [refresh | pin CODE in|out | unpin CODE] */
static int parse_underperformers(struct cursor *c, struct command *cmd, enum cmd_error *err,
                                 struct dbot_diag *diag)
{
    const char *tok;
    size_t len;
    if (!next_token(c, &tok, &len))
        return 0;
    const char *sub = eq_ci(tok, len, "refresh") || eq_ci(tok, len, "刷新") ? "refresh"
                      : eq_ci(tok, len, "pin")                            ? "pin"
                      : eq_ci(tok, len, "unpin")                          ? "unpin"
                                                                          : NULL;
    if (!sub)
        return fail(err, diag, CMDERR_BAD_ARGUMENT,
                    "/underperformers: expected refresh, pin CODE in|out or unpin CODE");
    if (!(cmd->text = strdup(sub)))
        return nomem(diag);
    if (strcmp(sub, "refresh") != 0) {
        if (!next_token(c, &tok, &len))
            return fail(err, diag, CMDERR_BAD_ARGUMENT, "/underperformers %s needs a dealer code",
                        sub);
        int rc = take_dealer(tok, len, CMD_UNDERPERFORMERS, &cmd->dealer, err, diag);
        if (rc)
            return rc;
        if (strcmp(sub, "pin") == 0) {
            if (!next_token(c, &tok, &len) || !(eq_ci(tok, len, "in") || eq_ci(tok, len, "out")))
                return fail(err, diag, CMDERR_BAD_ARGUMENT,
                            "/underperformers pin CODE needs in or out");
            cmd->pin_in = eq_ci(tok, len, "in");
        }
    }
    return expect_end(c, CMD_UNDERPERFORMERS, err, diag);
}

static int take_dealer(const char *tok, size_t len, enum cmd_kind k, char **out,
                       enum cmd_error *err, struct dbot_diag *diag)
{
    char q[QUOTE_MAX + 4];
    if (!code_valid(tok, len, false))
        return fail(err, diag, CMDERR_BAD_ARGUMENT,
                    "/%s: \"%s\" is not a dealer code (1-32 of A-Z a-z 0-9 _ -)", names[k].en,
                    quote(tok, len, q, sizeof q));
    *out = copy_span(tok, 0, len, true);
    return *out ? 0 : nomem(diag);
}

/* ---- one function per command -------------------------------------------------------- */

static int parse_ack(struct cursor *c, struct command *cmd, enum cmd_error *err,
                     struct dbot_diag *diag)
{
    int rc = need_ticket(c, CMD_ACK, &cmd->ticket, err, diag);
    if (rc)
        return rc;
    const char *tok, *v;
    size_t len, vlen;
    char q[QUOTE_MAX + 4];
    if (peek_token(c, &tok, &len) && key_value(tok, len, "eta", '=', FW_EQUALS, &v, &vlen)) {
        next_token(c, &tok, &len);
        if (!date_valid(v, vlen))
            return fail(err, diag, CMDERR_BAD_ETA,
                        "/ack: eta \"%s\" is not a date like 2026-03-31",
                        quote(v, vlen, q, sizeof q));
        cmd->eta = copy_span(v, 0, vlen, false);
        if (!cmd->eta)
            return nomem(diag);
    }
    return take_rest(c, &cmd->text, diag);
}

/*
 * The /close report. A label (cause/原因, fix/措施, prevent/预防, then optional blanks and ':'
 * or '：') is recognised at the start of any word: at the start of a line, right after the
 * ticket id, or after a blank inside a line, so that "/close C-1 cause: a fix: b prevent: c"
 * works on one line. A value runs from its label to the next label, across lines. Text before
 * the first label, or a label given twice, is refused: guessing which field was meant would
 * file a wrong report. Fields that are present must pass report_field_check; absent ones stay
 * NULL and the engine asks for them.
 */
static int label_at(const char *s, size_t end, size_t i, size_t *after)
{
    for (size_t f = 0; f < NLABELS; f++) {
        const char *forms[2] = {labels[f].en, labels[f].zh};
        for (int k = 0; k < 2; k++) {
            size_t n = strlen(forms[k]);
            if (end - i < n || !eq_ci(s + i, n, forms[k]))
                continue;
            size_t j = skip_seps(s, end, i + n, false);
            if (j < end && s[j] == ':') {
                *after = j + 1;
                return (int)f;
            }
            if (has_at(s, end, j, FW_COLON)) {
                *after = j + 3;
                return (int)f;
            }
        }
    }
    return -1;
}

static int parse_close(struct cursor *c, struct command *cmd, enum cmd_error *err,
                       struct dbot_diag *diag)
{
    int rc = need_ticket(c, CMD_CLOSE, &cmd->ticket, err, diag);
    if (rc)
        return rc;
    const char *s = c->s;
    size_t end = c->end;
    size_t label_pos[NLABELS], value_pos[NLABELS];
    int order[NLABELS];
    bool seen[NLABELS] = {false};
    size_t nfields = 0;
    bool word_start = true; /* the id token ended at a separator or at the end */
    char q[QUOTE_MAX + 4];

    for (size_t i = c->pos; i < end;) {
        size_t n = sep_at(s, end, i, true);
        if (n) {
            i += n;
            word_start = true;
            continue;
        }
        size_t after;
        int f = word_start ? label_at(s, end, i, &after) : -1;
        if (f >= 0) {
            if (seen[f])
                return fail(err, diag, CMDERR_BAD_ARGUMENT, "/close: %s: is given twice",
                            labels[f].en);
            seen[f] = true;
            label_pos[f] = i;
            value_pos[f] = after;
            order[nfields++] = f;
            i = after;
            word_start = false;
            continue;
        }
        if (nfields == 0)
            return fail(err, diag, CMDERR_BAD_ARGUMENT,
                        "/close: \"%s\" comes before a label; write cause:, fix:, prevent: "
                        "(原因: 措施: 预防:) at the start of a line",
                        quote(s + i, token_end(s, end, i) - i, q, sizeof q));
        i += lead_len((unsigned char)s[i]);
        word_start = false;
    }
    c->pos = end;

    char **slot[NLABELS] = {&cmd->cause, &cmd->fix, &cmd->prevent};
    for (size_t k = 0; k < nfields; k++) {
        int f = order[k];
        size_t stop = k + 1 < nfields ? label_pos[order[k + 1]] : end;
        if (take_text(s, value_pos[f], stop, slot[f]) != 0)
            return nomem(diag);
        switch (report_field_check(*slot[f])) {
        case CMDERR_NONE:
            break;
        case CMDERR_TOO_LONG:
            return fail(err, diag, CMDERR_TOO_LONG, "/close: %s: is longer than %d characters",
                        labels[f].en, REPORT_FIELD_MAX);
        case CMDERR_BAD_UTF8: /* cannot happen: the message was checked */
            return fail(err, diag, CMDERR_BAD_UTF8, "/close: %s: is not valid text",
                        labels[f].en);
        default:
            return fail(err, diag, CMDERR_MISSING_TEXT,
                        "/close: %s: is empty or has no words (needs 2 letters, digits or CJK "
                        "characters)",
                        labels[f].en);
        }
    }
    return 0;
}

static int parse_list(struct cursor *c, struct command *cmd, enum cmd_error *err,
                      struct dbot_diag *diag)
{
    const char *tok, *v;
    size_t len, vlen;
    char q[QUOTE_MAX + 4];
    while (next_token(c, &tok, &len)) {
        if (eq_ci(tok, len, "overdue") || eq_ci(tok, len, "逾期")) {
            if (cmd->overdue)
                return fail(err, diag, CMDERR_BAD_ARGUMENT, "/list: overdue is given twice");
            cmd->overdue = true;
        } else if (key_value(tok, len, "dealer", '=', FW_EQUALS, &v, &vlen)) {
            if (cmd->dealer)
                return fail(err, diag, CMDERR_BAD_ARGUMENT, "/list: dealer= is given twice");
            int rc = take_dealer(v, vlen, CMD_LIST, &cmd->dealer, err, diag);
            if (rc)
                return rc;
        } else {
            return fail(err, diag, CMDERR_BAD_ARGUMENT,
                        "/list: unexpected \"%s\" (use overdue and dealer=CODE)",
                        quote(tok, len, q, sizeof q));
        }
    }
    return 0;
}

static int parse_cancel(struct cursor *c, struct command *cmd, enum cmd_error *err,
                        struct dbot_diag *diag)
{
    const char *tok;
    size_t len;
    if (!peek_token(c, &tok, &len))
        return 0; /* abort the running /close dialogue */
    int rc = need_ticket(c, CMD_CANCEL, &cmd->ticket, err, diag);
    return rc ? rc : take_rest(c, &cmd->text, diag);
}

static int parse_broadcast(struct cursor *c, struct command *cmd, enum cmd_error *err,
                           struct dbot_diag *diag)
{
    const char *tok, *v;
    size_t len, vlen;
    char q[QUOTE_MAX + 4];
    if (!next_token(c, &tok, &len))
        return fail(err, diag, CMDERR_BAD_ARGUMENT,
                    "/broadcast needs an audience: all, underperformers, region:R or dealer:CODE");
    if (eq_ci(tok, len, "all") || eq_ci(tok, len, "underperformers")) {
        cmd->audience = copy_span(tok, 0, len, false);
        if (cmd->audience)
            for (char *p = cmd->audience; *p; p++)
                *p = ascii_lower(*p);
    } else if (key_value(tok, len, "region", ':', FW_COLON, &v, &vlen)) {
        if (vlen == 0 || utf8_count(v, vlen) > COMMAND_REGION_MAX)
            return fail(err, diag, CMDERR_BAD_ARGUMENT,
                        "/broadcast: region: needs a region name of 1-%d characters",
                        COMMAND_REGION_MAX);
        cmd->audience = malloc(vlen + sizeof "region:");
        if (cmd->audience) {
            memcpy(cmd->audience, "region:", 7);
            memcpy(cmd->audience + 7, v, vlen);
            cmd->audience[7 + vlen] = '\0';
        }
    } else if (key_value(tok, len, "dealer", ':', FW_COLON, &v, &vlen)) {
        char *code = NULL;
        int rc = take_dealer(v, vlen, CMD_BROADCAST, &code, err, diag);
        if (rc)
            return rc;
        size_t n = strlen(code);
        cmd->audience = malloc(n + sizeof "dealer:");
        if (cmd->audience) {
            memcpy(cmd->audience, "dealer:", 7);
            memcpy(cmd->audience + 7, code, n + 1);
        }
        free(code);
    } else {
        return fail(err, diag, CMDERR_BAD_ARGUMENT,
                    "/broadcast: \"%s\" is not an audience (all, underperformers, region:R, "
                    "dealer:CODE)",
                    quote(tok, len, q, sizeof q));
    }
    if (!cmd->audience)
        return nomem(diag);

    if (!next_token(c, &tok, &len))
        return fail(err, diag, CMDERR_BAD_ARGUMENT,
                    "/broadcast needs a kind: standard, penalty, training, risk or notice");
    size_t nkinds = sizeof broadcast_kinds / sizeof broadcast_kinds[0], bk = 0;
    while (bk < nkinds && !eq_ci(tok, len, broadcast_kinds[bk]))
        bk++;
    if (bk == nkinds)
        return fail(err, diag, CMDERR_BAD_ARGUMENT,
                    "/broadcast: \"%s\" is not a kind (standard, penalty, training, risk, "
                    "notice)",
                    quote(tok, len, q, sizeof q));
    cmd->bkind = copy_span(broadcast_kinds[bk], 0, strlen(broadcast_kinds[bk]), false);
    if (!cmd->bkind)
        return nomem(diag);
    if (peek_token(c, &tok, &len) && eq_ci(tok, len, "ack")) {
        next_token(c, &tok, &len);
        cmd->require_read = true;
    }
    return need_text(c, CMD_BROADCAST, "the text to send", &cmd->text, err, diag);
}

static int parse_read(struct cursor *c, struct command *cmd, enum cmd_error *err,
                      struct dbot_diag *diag)
{
    const char *tok;
    size_t len;
    char q[QUOTE_MAX + 4];
    if (!next_token(c, &tok, &len))
        return fail(err, diag, CMDERR_BAD_ARGUMENT, "/read needs a broadcast id like B-7");
    if (broadcast_id_parse(tok, len, &cmd->broadcast) != 0)
        return fail(err, diag, CMDERR_BAD_ARGUMENT, "/read: \"%s\" is not a broadcast id like B-7",
                    quote(tok, len, q, sizeof q));
    return expect_end(c, CMD_READ, err, diag);
}

static int parse_penalty(struct cursor *c, struct command *cmd, enum cmd_error *err,
                         struct dbot_diag *diag)
{
    const char *tok;
    size_t len;
    char q[QUOTE_MAX + 4];
    if (!next_token(c, &tok, &len))
        return fail(err, diag, CMDERR_BAD_ARGUMENT,
                    "/penalty needs a dealer code and a penalty code");
    int rc = take_dealer(tok, len, CMD_PENALTY, &cmd->dealer, err, diag);
    if (rc)
        return rc;
    if (!next_token(c, &tok, &len))
        return fail(err, diag, CMDERR_BAD_ARGUMENT, "/penalty needs a penalty code after %s",
                    cmd->dealer);
    if (!code_valid(tok, len, true))
        return fail(err, diag, CMDERR_BAD_ARGUMENT,
                    "/penalty: \"%s\" is not a penalty code (1-32 of A-Z a-z 0-9 _ . -)",
                    quote(tok, len, q, sizeof q));
    cmd->penalty_code = copy_span(tok, 0, len, false);
    if (!cmd->penalty_code)
        return nomem(diag);
    /* An optional ticket: a word that is a valid id; anything else starts the note. */
    if (peek_token(c, &tok, &len) && ticket_id_parse(tok, len, &cmd->ticket) == 0)
        next_token(c, &tok, &len);
    return take_rest(c, &cmd->text, diag);
}

/* /appeal|/uphold|/waive P-5 [text]: the text is optional here (an appeal or a waiver without
 * one is refused by the engine, which records the refusal on the entry). */
static int parse_appeal(struct cursor *c, enum cmd_kind k, struct command *cmd,
                        enum cmd_error *err, struct dbot_diag *diag)
{
    const char *tok;
    size_t len;
    char q[QUOTE_MAX + 4];
    if (!next_token(c, &tok, &len))
        return fail(err, diag, CMDERR_BAD_ARGUMENT, "/%s needs a penalty id like P-5",
                    names[k].en);
    if (penalty_id_parse(tok, len, &cmd->penalty) != 0)
        return fail(err, diag, CMDERR_BAD_ARGUMENT, "/%s: \"%s\" is not a penalty id like P-5",
                    names[k].en, quote(tok, len, q, sizeof q));
    return take_rest(c, &cmd->text, diag);
}

static int parse_args(enum cmd_kind k, struct cursor *c, struct command *cmd,
                      enum cmd_error *err, struct dbot_diag *diag)
{
    const char *tok;
    size_t len;
    int rc;
    switch (k) {
    case CMD_HELP:
        return take_rest(c, &cmd->text, diag);
    case CMD_ACK:
        return parse_ack(c, cmd, err, diag);
    case CMD_PLAN:
        rc = need_ticket(c, k, &cmd->ticket, err, diag);
        return rc ? rc : need_text(c, k, "the agreed solution", &cmd->text, err, diag);
    case CMD_CLOSE:
        return parse_close(c, cmd, err, diag);
    case CMD_STATUS:
    case CMD_APPROVE:
        rc = need_ticket(c, k, &cmd->ticket, err, diag);
        return rc ? rc : expect_end(c, k, err, diag);
    case CMD_LIST:
        return parse_list(c, cmd, err, diag);
    case CMD_COMMEND:
        rc = need_ticket(c, k, &cmd->ticket, err, diag);
        return rc ? rc : need_text(c, k, "a note", &cmd->text, err, diag);
    case CMD_REJECT:
    case CMD_REOPEN:
        rc = need_ticket(c, k, &cmd->ticket, err, diag);
        return rc ? rc : need_text(c, k, "a reason", &cmd->text, err, diag);
    case CMD_CANCEL:
        return parse_cancel(c, cmd, err, diag);
    case CMD_BROADCAST:
        return parse_broadcast(c, cmd, err, diag);
    case CMD_READ:
        return parse_read(c, cmd, err, diag);
    case CMD_SCORECARD:
    case CMD_PENALTIES:
    case CMD_LEDGER:
        if (next_token(c, &tok, &len)) {
            rc = take_dealer(tok, len, k, &cmd->dealer, err, diag);
            if (rc)
                return rc;
        }
        return expect_end(c, k, err, diag);
    case CMD_UNDERPERFORMERS:
        return parse_underperformers(c, cmd, err, diag);
    case CMD_HONOUR:
        return expect_end(c, k, err, diag);
    case CMD_PENALTY:
        return parse_penalty(c, cmd, err, diag);
    case CMD_APPEAL:
    case CMD_UPHOLD:
    case CMD_WAIVE:
        return parse_appeal(c, k, cmd, err, diag);
    }
    return dbot_diag_set(diag, DBOT_ERR_INTERNAL, "unhandled command kind %d", (int)k);
}

/* ---- who the message is for -------------------------------------------------------- */

/* The length of `name` (ASCII letters without case, other bytes exactly) at s[i], or 0. */
static size_t name_at(const char *s, size_t end, size_t i, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || end - i < n || !eq_ci(s + i, n, name))
        return 0;
    return n;
}

/* The punctuation a client puts after a completed nickname: ':' ',' '：' '，'. Its length at
 * s[i], or 0. */
static size_t addr_punct_at(const char *s, size_t end, size_t i)
{
    if (i < end && (s[i] == ':' || s[i] == ','))
        return 1;
    if (has_at(s, end, i, FW_COLON) || has_at(s, end, i, FW_COMMA))
        return 3;
    return 0;
}

/*
 * The address to the bot at s[i], if there is one: "@name" followed by the end, a blank or
 * the completion punctuation, or "name" followed by that punctuation ("dealerbot: ",
 * "dealerbot，"). Returns the index after it (and after the punctuation), or i when the
 * message does not start with an address to one of the bot's names. "@someone-else" is no
 * address to the bot: the message is then simply not a command (its first word is no
 * keyword).
 */
static size_t skip_address(const char *s, size_t end, size_t i, const struct command_where *w)
{
    size_t at = 0;
    if (i < end && s[i] == '@')
        at = 1;
    else if (has_at(s, end, i, FW_AT))
        at = 3;
    for (size_t k = 0; w && k < w->n_names; k++) {
        size_t n = name_at(s, end, i + at, w->names[k]);
        if (n == 0)
            continue;
        size_t j = i + at + n, p = addr_punct_at(s, end, j);
        if (p)
            return j + p;
        if (at && (j == end || sep_at(s, end, j, true)))
            return j;
    }
    return i;
}

/* The '/' '!' (or full-width '／' '！') a command word may carry: its length at s[i], or 0. */
static size_t prefix_at(const char *s, size_t end, size_t i)
{
    if (i < end && (s[i] == '/' || s[i] == '!'))
        return 1;
    if (has_at(s, end, i, FW_SLASH) || has_at(s, end, i, FW_BANG))
        return 3;
    return 0;
}

/* The token after the command word (at s[i]) is an id with this letter ('C' a ticket, 'B' a
 * broadcast; 0 never matches): the rule for unprefixed words. */
static bool id_follows(const char *s, size_t end, size_t i, char letter)
{
    size_t a = skip_seps(s, end, i, true);
    int64_t id;
    return letter && a < end && id_parse(s + a, token_end(s, end, a) - a, letter, &id) == 0;
}

/* ---- the entry points ---------------------------------------------------------------- */

/* The kind whose name s[0..len) is exactly (English without case, or the Chinese alias). */
static bool lookup(const char *s, size_t len, enum cmd_kind *out)
{
    for (size_t k = 0; k < NCOMMANDS; k++) {
        if (eq_ci(s, len, names[k].en) || eq_ci(s, len, names[k].zh)) {
            *out = (enum cmd_kind)k;
            return true;
        }
    }
    return false;
}

/* The longest Chinese alias that is a proper prefix of s[0..len) ("/受理C-1"); sets *out and
 * returns its byte length, or returns 0. Longest, because one alias may extend another:
 * "处罚记录SH001" is /penalties SH001, not /处罚 with the dealer "记录SH001". */
static size_t glued_alias(const char *s, size_t len, enum cmd_kind *out)
{
    size_t best = 0;
    for (size_t k = 0; k < NCOMMANDS; k++) {
        size_t n = strlen(names[k].zh);
        if (len > n && n > best && memcmp(s, names[k].zh, n) == 0) {
            best = n;
            *out = (enum cmd_kind)k;
        }
    }
    return best;
}

int command_kind_parse(const char *s, size_t len, enum cmd_kind *out)
{
    if (!s)
        return DBOT_ERR_INVALID;
    size_t p = prefix_at(s, len, 0);
    return lookup(s + p, len - p, out) ? 0 : DBOT_ERR_INVALID;
}

const char *command_name(enum cmd_kind k)
{
    return (unsigned)k < NCOMMANDS ? names[k].en : "help";
}



void command_cleanup(struct command *c)
{
    if (!c)
        return;
    free(c->text);
    free(c->eta);
    free(c->cause);
    free(c->fix);
    free(c->prevent);
    free(c->dealer);
    free(c->audience);
    free(c->bkind);
    free(c->penalty_code);
    memset(c, 0, sizeof *c);
}

/*
 * The order of the checks is part of the contract: first "is this a command at all" (looking
 * only at the leading bytes, so chatter of any size or encoding is simply not ours): the
 * address, the prefix, the command word and, in a room, the rule for unprefixed words; then
 * the size and encoding of the whole message, then the word's meaning, then the arguments.
 */
int command_parse(const char *text, size_t len, const struct command_where *where,
                  struct command *out, enum cmd_error *err, char *word, size_t word_len,
                  struct dbot_diag *diag)
{
    static const struct command_where direct = {0};
    struct command cmd = {0};
    char q[QUOTE_MAX + 4];
    int rc;

    assert(out && err);
    *err = CMDERR_NONE;
    if (word && word_len)
        word[0] = '\0';
    if (!text)
        return 1;
    const struct command_where *w = where ? where : &direct;

    size_t i = skip_seps(text, len, 0, true);
    size_t after = skip_address(text, len, i, w);
    /* A platform's own mark counts in a room only: a direct message is to the bot anyway,
     * and reads the same on every platform (DingTalk marks every one of them). */
    bool addressed = (w->addressed && w->group) || after != i;
    i = skip_seps(text, len, after, true);
    if (i == len) {
        if (!addressed)
            return 1;
        /* "dealerbot:" and nothing else: the help line */
        return fail(err, diag, CMDERR_NO_COMMAND, "addressed to the bot without a command");
    }
    size_t prefix = prefix_at(text, len, i);
    size_t wstart = i + prefix;
    size_t wend = token_end(text, len, wstart);
    if (prefix == 1 && text[i] == '/' && wend - wstart == 2 &&
        memcmp(text + wstart, "me", 2) == 0 && wend < len)
        return 1; /* "/me waves": an XMPP action, XEP-0245 */

    /* The word: exact, or a Chinese alias glued to its first argument ("受理C-1"). */
    enum cmd_kind kind = CMD_HELP;
    bool known = lookup(text + wstart, wend - wstart, &kind), glued = false;
    if (!known) {
        size_t n = glued_alias(text + wstart, wend - wstart, &kind);
        if (n) {
            known = true;
            glued = true;
            wend = wstart + n;
        }
    }
    /* Without '/' or '!' and without an address, a word is a command only when it cannot be
     * chatter: in a room a ticket keyword followed by a ticket id ("受理 C-12"), in a direct
     * message any keyword (a glued alias only before an id, so "受理了" stays a sentence);
     * while a closing dialogue waits for an answer, a bare sentence that does not parse is
     * that answer. */
    bool bare = !prefix && !addressed;
    if (bare) {
        if (!known)
            return 1;
        if (w->group && !id_follows(text, len, wend, names[kind].id))
            return 1;
        if (glued && !id_follows(text, len, wend, 'C') && !id_follows(text, len, wend, 'B') &&
            !id_follows(text, len, wend, 'P'))
            return 1;
    } else if (!known && w->group && !addressed) {
        return 1; /* "/foo" in a room: another bot's, or a client's own command */
    }
    fill_word(word, word_len, text + i, wend - i);

    if (len > COMMAND_MAX_BYTES)
        return fail(err, diag, CMDERR_TOO_LONG, "command message longer than %d bytes (%zu)",
                    COMMAND_MAX_BYTES, len);
    if (!utf8_valid(text, len))
        return fail(err, diag, CMDERR_BAD_UTF8,
                    memchr(text, '\0', len) ? "command message contains a NUL byte"
                                            : "command message is not valid UTF-8");
    if (has_controls(text, len))
        return fail(err, diag, CMDERR_BAD_UTF8, "command message contains control characters");
    if (!known)
        return fail(err, diag, CMDERR_UNKNOWN_COMMAND, "unknown command %s",
                    quote(text + i, wend - i, q, sizeof q));

    struct cursor cur = {text, wend, len};
    cmd.kind = kind;
    rc = parse_args(kind, &cur, &cmd, err, diag);
    if (rc) {
        command_cleanup(&cmd);
        if (bare && !w->group && w->dialogue && rc == DBOT_ERR_INVALID) {
            *err = CMDERR_NONE;
            if (word && word_len)
                word[0] = '\0';
            return 1; /* the dialogue's answer, which happens to start with a keyword */
        }
        return rc;
    }
    *out = cmd;
    return 0;
}

/* ---- commands from a form -------------------------------------------------------------- */

/* The value of field `name` (NULL when absent or empty after trimming), as a span. */
static bool form_value(const char *const *keys, const char *const *values, size_t n,
                       const char *name, size_t *a, size_t *b, const char **s)
{
    for (size_t i = 0; i < n; i++) {
        if (!keys[i] || !values[i] || strcmp(keys[i], name) != 0)
            continue;
        *s = values[i];
        *a = 0;
        *b = strlen(values[i]);
        return true;
    }
    return false;
}

/* Checks a value as a typed message is checked: size, UTF-8, control characters. */
static int form_check(const char *s, size_t len, const char *name, enum cmd_error *err,
                      struct dbot_diag *diag)
{
    if (len > COMMAND_MAX_BYTES)
        return fail(err, diag, CMDERR_TOO_LONG, "form field %s longer than %d bytes", name,
                    COMMAND_MAX_BYTES);
    if (!utf8_valid(s, len) || has_controls(s, len))
        return fail(err, diag, CMDERR_BAD_UTF8, "form field %s is not valid text", name);
    return 0;
}

/* The trimmed text of field `name` into *out (NULL when absent or blank). */
static int form_text(const char *const *keys, const char *const *values, size_t n,
                     const char *name, char **out, enum cmd_error *err, struct dbot_diag *diag)
{
    size_t a, b;
    const char *s;
    *out = NULL;
    if (!form_value(keys, values, n, name, &a, &b, &s))
        return 0;
    int rc = form_check(s, b, name, err, diag);
    if (rc)
        return rc;
    return take_text(s, a, b, out) ? nomem(diag) : 0;
}

int command_from_form(const char *command, const char *const *keys, const char *const *values,
                      size_t n, struct command *out, enum cmd_error *err,
                      struct dbot_diag *diag)
{
    struct command cmd = {0};
    char *ticket = NULL;
    int rc;

    assert(out && err);
    *err = CMDERR_NONE;
    if (!command || !lookup(command, strlen(command), &cmd.kind) ||
        !(cmd.kind == CMD_ACK || cmd.kind == CMD_PLAN || cmd.kind == CMD_CLOSE ||
          cmd.kind == CMD_STATUS))
        return fail(err, diag, CMDERR_UNKNOWN_COMMAND, "no form for command %s",
                    command ? "given" : "(none)");
    const char *name = command_name(cmd.kind);

    /* the ticket: "C-12" as typed, or the number alone */
    if ((rc = form_text(keys, values, n, "ticket", &ticket, err, diag)) != 0)
        goto out;
    if (!ticket) {
        rc = fail(err, diag, CMDERR_MISSING_TICKET, "/%s needs a ticket id like C-123", name);
        goto out;
    }
    size_t tl = strlen(ticket);
    bool digits = tl > 0 && tl <= 18 && strspn(ticket, "0123456789") == tl;
    if (digits) {
        int64_t v = 0;
        for (size_t i = 0; i < tl; i++)
            v = v * 10 + (ticket[i] - '0');
        cmd.ticket = v;
    } else if (ticket_id_parse(ticket, tl, &cmd.ticket) != 0) {
        cmd.ticket = 0;
    }
    if (cmd.ticket <= 0) {
        char q[QUOTE_MAX + 4];
        rc = fail(err, diag, CMDERR_BAD_TICKET, "/%s: \"%s\" is not a ticket id like C-123",
                  name, quote(ticket, tl, q, sizeof q));
        goto out;
    }

    switch (cmd.kind) {
    case CMD_ACK:
        if ((rc = form_text(keys, values, n, "eta", &cmd.eta, err, diag)) != 0)
            goto out;
        if (cmd.eta && !date_valid(cmd.eta, strlen(cmd.eta))) {
            rc = fail(err, diag, CMDERR_BAD_ETA, "/ack: eta is not a date like 2026-03-31");
            goto out;
        }
        rc = form_text(keys, values, n, "note", &cmd.text, err, diag);
        break;
    case CMD_PLAN:
        if ((rc = form_text(keys, values, n, "solution", &cmd.text, err, diag)) == 0 &&
            !cmd.text)
            rc = fail(err, diag, CMDERR_MISSING_TEXT, "/plan needs the agreed solution");
        break;
    case CMD_CLOSE: {
        static const char *const fields[] = {"cause", "fix", "prevent"};
        char **slot[] = {&cmd.cause, &cmd.fix, &cmd.prevent};
        for (size_t f = 0; rc == 0 && f < 3; f++) {
            if ((rc = form_text(keys, values, n, fields[f], slot[f], err, diag)) != 0)
                break;
            enum cmd_error ce = report_field_check(*slot[f]);
            if (ce == CMDERR_TOO_LONG)
                rc = fail(err, diag, ce, "/close: %s: is longer than %d characters", fields[f],
                          REPORT_FIELD_MAX);
            else if (ce != CMDERR_NONE)
                rc = fail(err, diag, CMDERR_MISSING_TEXT,
                          "/close: %s: is empty or has no words", fields[f]);
        }
        break;
    }
    default:
        break;
    }
out:
    free(ticket);
    if (rc) {
        command_cleanup(&cmd);
        return rc;
    }
    *out = cmd;
    return 0;
}
