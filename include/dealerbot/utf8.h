/*
 * utf8.h — pure UTF-8 checks.
 */
#ifndef DEALERBOT_UTF8_H
#define DEALERBOT_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF)
 * and contains no NUL byte. */
bool utf8_valid(const char *s, size_t len);

/* Number of code points in a valid UTF-8 string. */
size_t utf8_count(const char *s, size_t len);

#endif
