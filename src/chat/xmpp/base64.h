/*
 * base64.h — strict RFC 4648 base64 (standard alphabet, '=' padding) for SASL payloads.
 *
 * Pure, no allocation except the returned buffers, callable from any thread. The decoder is
 * strict on purpose (RFC 6120 §6.4.2 forbids whitespace and line breaks in SASL data): it
 * rejects whitespace, missing or misplaced padding and non-zero pad bits, so one text has
 * exactly one decoding. Neither function logs.
 */
#ifndef DBOT_CHAT_XMPP_BASE64_H
#define DBOT_CHAT_XMPP_BASE64_H

#include <stddef.h>

/* Encodes data[0..len) (len 0 gives ""). Returns a new NUL-terminated string in *out (caller
 * frees with free()) and its length in *out_len (may be NULL). 0 or DBOT_ERR_NOMEM /
 * DBOT_ERR_TOOBIG (len too large to encode). */
int base64_encode(const void *data, size_t len, char **out, size_t *out_len);

/* Decodes text[0..len). Returns a new buffer in *out (caller frees with free()), always
 * NUL-terminated one past *out_len for convenience (the payload itself may contain NULs).
 * 0, DBOT_ERR_INVALID (not canonical base64) or DBOT_ERR_NOMEM. */
int base64_decode(const char *text, size_t len, unsigned char **out, size_t *out_len);

#endif
