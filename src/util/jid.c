/*
 * jid.c — JID folding through libidn's stringprep profiles (see jid.h).
 *
 * stringprep() works in place on a NUL-terminated UTF-8 buffer and may make the text longer
 * (a case fold can grow a character, NFKC can expand a ligature), so each part is copied into
 * a scratch buffer with room to spare before it is prepared. The profiles themselves refuse
 * what they prohibit (for nodeprep the characters " & ' / : < > @ and spaces; for both,
 * controls, private use, and bidirectional text that breaks the rules). Code points that
 * libidn's Unicode 3.2 tables do not know are let through unchanged (a query, not a stored
 * identifier: refusing them would refuse JIDs that newer servers accept).
 */
#include "dealerbot/jid.h"

#include <stdbool.h>
#include <string.h>

#include <stringprep.h>

#include "dealerbot/error.h"
#include "dealerbot/utf8.h"

/* Prepared parts may grow: a fold of a 1023-byte part fits in four times that. */
#define PREP_CAP (4 * JID_PART_MAX + 1)

/* Prepares s[0..len) with the profile into buf[0..PREP_CAP). Returns the prepared length, or
 * -1 when the profile refuses it. */
static long prep(const char *s, size_t len, const Stringprep_profile *profile, char *buf)
{
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (stringprep(buf, PREP_CAP, 0, profile) != STRINGPREP_OK)
        return -1;
    size_t n = strlen(buf);
    return n == 0 || n > JID_PART_MAX ? -1 : (long)n;
}

/* The local part may not hold " & ' / : < > @ or spaces; the domain is a host name or an IP
 * literal without spaces or slashes, not starting or ending with a dot, with no empty label. */
bool jid_bare_valid(const char *s, size_t len)
{
    if (!s || !utf8_valid(s, len))
        return false;
    const char *at = memchr(s, '@', len);
    if (!at)
        return false;
    size_t llen = (size_t)(at - s);
    const char *dom = at + 1;
    size_t dlen = len - llen - 1;
    if (llen == 0 || llen > JID_PART_MAX || dlen == 0 || dlen > JID_PART_MAX)
        return false;
    for (size_t i = 0; i < llen; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch == 0x7f || strchr("\"&'/:<>@", ch))
            return false;
    }
    if (dom[0] == '.' || dom[dlen - 1] == '.')
        return false;
    for (size_t i = 0; i < dlen; i++) {
        unsigned char ch = (unsigned char)dom[i];
        if (ch <= 0x20 || ch == 0x7f || ch == '@' || ch == '/' || ch == '\\')
            return false;
        if (ch == '.' && i + 1 < dlen && dom[i + 1] == '.')
            return false;
    }
    return true;
}

int jid_fold(const char *s, size_t len, char *out, size_t cap)
{
    char local[PREP_CAP], domain[PREP_CAP];
    if (!s)
        return DBOT_ERR_INVALID;
    const char *slash = memchr(s, '/', len);
    if (slash)
        len = (size_t)(slash - s);
    if (!utf8_valid(s, len))
        return DBOT_ERR_INVALID;
    const char *at = memchr(s, '@', len);
    size_t llen = at ? (size_t)(at - s) : 0;
    const char *dom = at ? at + 1 : s;
    size_t dlen = len - (size_t)(dom - s);
    if ((at && llen == 0) || llen > JID_PART_MAX || dlen == 0 || dlen > JID_PART_MAX)
        return DBOT_ERR_INVALID;

    long ln = 0, dn;
    if (at && (ln = prep(s, llen, stringprep_xmpp_nodeprep, local)) < 0)
        return DBOT_ERR_INVALID;
    if ((dn = prep(dom, dlen, stringprep_nameprep, domain)) < 0)
        return DBOT_ERR_INVALID;
    size_t need = (size_t)ln + (at ? 1 : 0) + (size_t)dn + 1;
    if (need > cap)
        return DBOT_ERR_TOOBIG;
    size_t n = 0;
    if (at) {
        memcpy(out, local, (size_t)ln);
        n = (size_t)ln;
        out[n++] = '@';
    }
    memcpy(out + n, domain, (size_t)dn);
    out[n + (size_t)dn] = '\0';
    return 0;
}
