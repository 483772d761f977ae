/*
 * utf8.c — well-formedness checks for UTF-8 text coming from outside (API bodies, chat
 * messages, CSV files), following the table of well-formed byte sequences in Unicode 15,
 * section 3.9 (table 3-7). Rejecting at the edge keeps malformed bytes out of SQLite and out
 * of the XML we send.
 */
#include "dealerbot/utf8.h"

#include <stdint.h>
#include <string.h>

/*
 * The length of the well-formed sequence at p[0..avail), or 0 when there is none (a NUL, a
 * byte that cannot start a sequence, a bad or missing continuation byte).
 *
 * Each lead byte fixes the sequence length and the allowed range of the SECOND byte; every
 * later byte is a plain continuation (80..BF). The narrowed second-byte ranges are what rule
 * out overlong forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points above
 * U+10FFFF (F4 90..BF); C0, C1 and F5..FF never start a valid sequence.
 */
static size_t seq_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;

    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (avail < n)
        return 0; /* truncated */
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    return n;
}

bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    if (!s)
        return len == 0;
    while (i < len) {
        size_t n = seq_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/*
 * Walks whole characters: a lead byte and the continuation bytes (10xxxxxx) that follow it.
 * Only the byte pattern matters here, not well-formedness: a run of continuation bytes at the
 * start is one "character" and an over-long run stays with its lead byte; either way no cut
 * lands between a lead byte and its continuations.
 */
size_t utf8_cut(const char *s, size_t len, size_t max_cps, size_t max_bytes, bool *cut)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, cps = 0;
    if (!s)
        len = 0;
    while (i < len && cps < max_cps) {
        size_t step = 1;
        while (i + step < len && (p[i + step] & 0xC0) == 0x80)
            step++;
        if (step > max_bytes - i)
            break;
        i += step;
        cps++;
    }
    if (cut)
        *cut = i < len;
    return i;
}

void utf8_scrub(char *s)
{
    if (!s)
        return;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        size_t n = seq_len((const unsigned char *)s + i, len - i);
        if (n) {
            i += n;
        } else {
            s[i] = '?';
            i++;
        }
    }
}
