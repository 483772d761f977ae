/*
 * file.h — the one whole-file reader (the chat texts, import files, secret files). Blocking
 * I/O: for start-up, the command line and SIGHUP reloads, never for the event loop's hot
 * path. Any thread; no state.
 */
#ifndef DEALERBOT_FILE_H
#define DEALERBOT_FILE_H

#include <stddef.h>

#define FILE_REGULAR 0x1u /* refuse anything but a regular file (opened without blocking) */
#define FILE_SECRET 0x2u  /* wipe every buffer that held the content before it is freed */

/*
 * Reads the whole file at path into a new NUL-terminated buffer (*out, caller frees; wipes it
 * first when FILE_SECRET) of *out_len bytes. More than `max` bytes is DBOT_ERR_TOOBIG. The
 * size fstat gives is only a hint: a pipe or a growing file is read to its end (or the limit).
 * Returns 0; DBOT_ERR_NOTFOUND (no such file); DBOT_ERR_IO with *sys_errno set (EISDIR for a
 * directory, 0 for "not a regular file" under FILE_REGULAR); DBOT_ERR_TOOBIG; DBOT_ERR_NOMEM.
 * The outputs are written only on success (*sys_errno only on DBOT_ERR_IO).
 */
int file_read_all(const char *path, size_t max, unsigned flags, char **out, size_t *out_len,
                  int *sys_errno);

#endif
