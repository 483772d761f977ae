/*
 * lang.h — the languages dealerbot speaks, listed once. The config's `language` choices, the
 * directory's language column and the chat-text files (<dir>/<name>.msg) all come from this
 * list. Pure data and a pure look-up; any thread.
 */
#ifndef DEALERBOT_LANG_H
#define DEALERBOT_LANG_H

#include <stddef.h>

#define LANG_COUNT 2

/* "zh-CN" (the default, first) and "en", then NULL. */
extern const char *const lang_names[LANG_COUNT + 1];

/* The list's spelling of s[0..len), compared ignoring ASCII case ("ZH-cn" -> "zh-CN"), or
 * NULL when it names no language we have. Static; never freed. */
const char *lang_find(const char *s, size_t len);

#endif
