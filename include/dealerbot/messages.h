/*
 * messages.h — every text the bot writes into chat, as templates loaded from data files, one
 * file per language: DIR/zh-CN.msg (the default language) and DIR/en.msg. Brand staff reword
 * them without a rebuild; a restart picks them up.
 *
 * File format (also in the comment header of each file):
 *   - UTF-8 (a leading BOM is skipped); LF or CRLF line ends.
 *   - Blank lines and lines whose first non-blank character is '#' are ignored.
 *   - Every other line is `key = text`. Blanks around '=' and at the end of the line are
 *     ignored, so a text never starts or ends with a blank. An empty text is allowed.
 *   - In the text, `\n` is a line break and `\\` a backslash; any other '\' is an error.
 *   - `{name}` is a placeholder; `{{` and `}}` are a literal '{' and '}'.
 * A load fails with DBOT_ERR_INVALID and one line "FILE:LINE: reason" on: a line that is not
 * `key = text`, invalid UTF-8 (or a NUL byte), a key that is not in the table of
 * src/util/messages.c, a key given twice, a bad escape, a stray brace, or a placeholder the key
 * does not allow ("FILE:LINE: ack_ok: unknown placeholder {x}"). A key missing from a file is
 * not an error: messages_get() falls back to the other language and messages_missing() lists
 * the gaps (`dealerbot check-config` prints them).
 *
 * Ownership: messages_load() returns a new set, read-only afterwards, freed with
 * messages_free(); the strings messages_get() returns are borrowed from it. Rendering
 * (messages_render) is pure and allocates its result, which the caller frees with free().
 * No clock, no logging; any thread may read a loaded set.
 */
#ifndef DEALERBOT_MESSAGES_H
#define DEALERBOT_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "dealerbot/error.h"

#define MESSAGES_FILE_MAX (1024 * 1024) /* bytes per .msg file */

struct messages;

/* One placeholder value: `{name}` renders as `value` (NULL renders as nothing). Borrowed. */
struct msg_var {
    const char *name;
    const char *value;
};

/* Loads DIR/zh-CN.msg and DIR/en.msg. Returns 0 and *out = a new set (free with
 * messages_free), or DBOT_ERR_INVALID (diag "FILE:LINE: reason"), DBOT_ERR_IO (a file cannot be
 * opened or read; both files must exist, but either may leave keys out), DBOT_ERR_TOOBIG (a file
 * over MESSAGES_FILE_MAX) or DBOT_ERR_NOMEM. *out is written only on success. */
int messages_load(const char *dir, struct messages **out, struct dbot_diag *diag);

/* Frees a set; NULL is allowed. */
void messages_free(struct messages *m);

/* The template (escapes already decoded, placeholders not yet filled) for key in lang. lang
 * is "zh-CN" or "en": "en" and "en-..." in any case mean English, anything else (NULL too)
 * means zh-CN. A key missing in lang falls back to the other language. Returns NULL only for
 * a key missing in both files or not in the table. Borrowed from m. */
const char *messages_get(const struct messages *m, const char *lang, const char *key);

/* Calls fn(lang, key, arg) for every key of the table that a file leaves out (lang is
 * "zh-CN" or "en"; strings are static) and returns how many there are. fn may be NULL to
 * count only. */
size_t messages_missing(const struct messages *m,
                        void (*fn)(const char *lang, const char *key, void *arg), void *arg);

/* Pure: fills tmpl's placeholders from vars[0..n). `{{` and `}}` give '{' and '}'. A
 * placeholder with no var stays as written, "{name}", so the mistake is visible; a '{' or '}'
 * that is neither is copied as it is. Values are inserted verbatim (never re-scanned). NULL
 * tmpl renders as "". Returns a new string (caller frees with free()) or NULL when out of
 * memory. */
char *messages_render(const char *tmpl, const struct msg_var *vars, size_t n);

/* messages_get() + messages_render(). A key missing everywhere (or a NULL m) renders as
 * "[key]", so the gap shows in chat instead of nothing. Returns a new string (caller frees
 * with free()) or NULL when out of memory. */
char *messages_format(const struct messages *m, const char *lang, const char *key,
                      const struct msg_var *vars, size_t n);

/* Describes the i-th key of the table (0-based): its name and the placeholders it may use,
 * space-separated ("" for none). Returns true and fills the outputs, or false past the last.
 * Strings are static. For tests and `check-config`. */
bool messages_key_at(size_t i, const char **key, const char **placeholders);

/* Tests only: makes the n-th allocation from now fail (n = 0: the next one); -1 turns the
 * failure injection off. */
void messages__fail_alloc_after(long n);

#endif
