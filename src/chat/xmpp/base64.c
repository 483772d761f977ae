/*
 * base64.c — strict RFC 4648 base64; see base64.h.
 */
#include "chat/xmpp/base64.h"

#include <stdint.h>
#include <stdlib.h>

#include "dealerbot/error.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(const void *data, size_t len, char **out, size_t *out_len)
{
    const unsigned char *in = data;
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
        return DBOT_ERR_TOOBIG;
    size_t n = (len + 2) / 3 * 4;
    char *buf = malloc(n + 1);
    if (!buf)
        return DBOT_ERR_NOMEM;
    char *o = buf;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = alphabet[v >> 6 & 63];
        *o++ = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = alphabet[v >> 6 & 63];
        *o++ = '=';
    }
    *o = '\0';
    *out = buf;
    if (out_len)
        *out_len = n;
    return 0;
}

/* Value of one alphabet character, or -1. */
static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int base64_decode(const char *text, size_t len, unsigned char **out, size_t *out_len)
{
    if (len % 4 != 0)
        return DBOT_ERR_INVALID;
    size_t pad = 0;
    if (len >= 4 && text[len - 1] == '=') {
        pad = 1;
        if (text[len - 2] == '=')
            pad = 2;
    }
    size_t n = len / 4 * 3 - pad;
    unsigned char *buf = malloc(n + 1);
    if (!buf)
        return DBOT_ERR_NOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int v[4];
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)text[i + (size_t)k];
            if (c == '=' && last && k >= 4 - (int)pad) {
                v[k] = 0;
                continue;
            }
            v[k] = value_of(c);
            if (v[k] < 0)
                goto bad;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        buf[o++] = (unsigned char)(w >> 16);
        if (!(last && pad == 2))
            buf[o++] = (unsigned char)(w >> 8 & 0xff);
        else if (w & 0xffff)
            goto bad; /* non-zero pad bits: not the canonical encoding */
        if (!(last && pad >= 1))
            buf[o++] = (unsigned char)(w & 0xff);
        else if (w & 0xff)
            goto bad;
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return 0;
bad:
    free(buf);
    return DBOT_ERR_INVALID;
}
