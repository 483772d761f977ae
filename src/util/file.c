/*
 * file.c — the whole-file reader behind file.h.
 *
 * The buffer starts at the size fstat reports (plus a byte to see the end, plus the NUL), or
 * 64 KiB for a pipe, and doubles up to max + 1 bytes of content: one byte more than allowed is
 * how "too big" is seen without trusting the size. Growing copies into a new buffer rather than realloc, so that under
 * FILE_SECRET the old one can be wiped.
 */
#include "dealerbot/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dealerbot/error.h"

static void release(char *buf, size_t cap, bool secret)
{
    if (buf && secret)
        explicit_bzero(buf, cap);
    free(buf);
}

int file_read_all(const char *path, size_t max, unsigned flags, char **out, size_t *out_len,
                  int *sys_errno)
{
    bool secret = flags & FILE_SECRET;
    int fd = open(path, O_RDONLY | O_CLOEXEC | ((flags & FILE_REGULAR) ? O_NONBLOCK : 0));
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            return DBOT_ERR_NOTFOUND;
        *sys_errno = e;
        return DBOT_ERR_IO;
    }
    int rc = 0, e = 0;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        e = errno;
        goto io;
    }
    if ((flags & FILE_REGULAR) && !S_ISREG(st.st_mode))
        goto io; /* e = 0: not a regular file (a directory included) */
    if (S_ISDIR(st.st_mode)) {
        e = EISDIR;
        goto io;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        rc = DBOT_ERR_TOOBIG;
        goto out;
    }
    /* room for max bytes, one more (to see "too big") and the NUL */
    size_t limit = max + 2;
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 65536;
    if (cap > limit)
        cap = limit;
    if (!(buf = malloc(cap)))
        goto nomem;
    for (;;) {
        if (len + 1 == cap) { /* only the NUL's room is left */
            if (cap == limit)
                break; /* len = max + 1: too big */
            size_t ncap = cap * 2 > limit ? limit : cap * 2;
            char *nb = malloc(ncap);
            if (!nb)
                goto nomem;
            memcpy(nb, buf, len);
            release(buf, cap, secret);
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            goto io;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > max) {
        rc = DBOT_ERR_TOOBIG;
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    goto out;
io:
    rc = DBOT_ERR_IO;
    *sys_errno = e;
    goto out;
nomem:
    rc = DBOT_ERR_NOMEM;
out:
    release(buf, cap, secret);
    close(fd);
    return rc;
}
