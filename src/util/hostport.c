/* hostport.c — listen-address splitting (see hostport.h). */
#include "dealerbot/hostport.h"

#include <string.h>

const char *hostport_split(const char *s, const char **host, size_t *host_len,
                           const char **port)
{
    const char *h, *p;
    size_t hl;
    if (!s)
        return "expected host:port";
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return "expected [address]:port";
        h = s + 1;
        hl = (size_t)(rb - h);
        p = rb + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return "expected host:port";
        h = s;
        hl = (size_t)(colon - s);
        if (memchr(h, ':', hl))
            return "put an IPv6 address in brackets: [address]:port";
        p = colon + 1;
    }
    *host = h;
    *host_len = hl;
    *port = p;
    return NULL;
}

long hostport_port(const char *port)
{
    long v = 0;
    size_t n = 0;
    for (; port[n]; n++) {
        if (port[n] < '0' || port[n] > '9' || n >= 5)
            return -1;
        v = v * 10 + (port[n] - '0');
    }
    return n == 0 || v > 65535 ? -1 : v;
}
