/*
 * utf8.c — well-formedness checks for UTF-8 text coming from outside (API bodies, chat
 * messages, CSV files), following the table of well-formed byte sequences in Unicode 15,
 * section 3.9 (table 3-7). Rejecting at the edge keeps malformed bytes out of SQLite and out
 * of the XML we send.
 */
#include "dealerbot/utf8.h"

#include <stdint.h>

/*
 * Each lead byte fixes the sequence length and the allowed range of the SECOND byte; every
 * later byte is a plain continuation (80..BF). The narrowed second-byte ranges are what rule
 * out overlong forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points above
 * U+10FFFF (F4 90..BF); C0, C1 and F5..FF never start a valid sequence.
 */
bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    if (!s)
        return len == 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }

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
            return false;
        }
        if (len - i < n)
            return false; /* truncated */
        if (p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t k = 2; k < n; k++)
            if ((p[i + k] & 0xC0) != 0x80)
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
