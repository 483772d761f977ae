/*
 * hostport.h — splitting a listen address, "host:port" or "[IPv6]:port", in one place: the
 * config check of http.listen and the HTTP server's bind both read it through here. Pure; any
 * thread; points into the caller's string.
 */
#ifndef DEALERBOT_HOSTPORT_H
#define DEALERBOT_HOSTPORT_H

#include <stddef.h>

/*
 * Splits s into the host s[*host .. *host + *host_len) (without brackets) and the port text
 * *port (after the last ':', not checked). Returns NULL, or what is wrong, as a short phrase
 * for a message: "expected host:port", "expected [address]:port" or "put an IPv6 address in
 * brackets: [address]:port". The outputs are written only on success.
 */
const char *hostport_split(const char *s, const char **host, size_t *host_len,
                           const char **port);

/* The port text as a number 0..65535 (digits only, at most 5), or -1. */
long hostport_port(const char *port);

#endif
