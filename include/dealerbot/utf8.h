/*
 * utf8.h — pure UTF-8 checks, counting and cutting. No allocation; any thread.
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

/*
 * The one way a text is shortened: returns the length in bytes of the longest prefix of
 * s[0..len) that holds at most `max_cps` code points and at most `max_bytes` bytes and ends on
 * a character boundary (a multi-byte sequence is kept whole or left out whole). Pass SIZE_MAX
 * for a limit that does not apply. *cut (may be NULL) says whether anything was left out.
 * A run of continuation bytes with no lead byte counts as one character, so the cut is also
 * safe on text not yet validated.
 */
size_t utf8_cut(const char *s, size_t len, size_t max_cps, size_t max_bytes, bool *cut);

/* Replaces, in place, each byte of the NUL-terminated s that is not part of a well-formed
 * UTF-8 sequence with '?', so that text echoed from outside can always go into JSON or XML. */
void utf8_scrub(char *s);

#endif
