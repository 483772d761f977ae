/*
 * notify.c — the sd_notify protocol without libsystemd (see notify.h). The protocol is a
 * stable interface of systemd: a datagram to $NOTIFY_SOCKET; an address starting with '@' is
 * in the abstract namespace (the '@' becomes a NUL byte).
 */
#include "dealerbot/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dealerbot/error.h"

int notify_send(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    size_t n = strlen(path);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path)
        return DBOT_ERR_INVALID;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                                (path[0] == '/' ? 1 : 0));

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return DBOT_ERR_IO;
    ssize_t sent;
    do {
        sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&sa, len);
    } while (sent < 0 && errno == EINTR);
    close(fd);
    return sent == (ssize_t)strlen(state) ? 0 : DBOT_ERR_IO;
}
