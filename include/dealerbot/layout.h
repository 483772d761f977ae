/*
 * layout.h — where an installed dealerbot finds what it ships: the chat texts
 * (share/dealerbot/messages) and the default configuration file (etc/dealerbot/dealerbot.conf).
 *
 * The answer follows the binary, so that an installation moved at install time
 * (`cmake --install --prefix P`, DESTDIR, a package) still finds its own files: a binary in
 * PREFIX/bin looks in PREFIX/share and, for PREFIX = ROOT/usr, in ROOT/etc (else PREFIX/etc),
 * the same rule GNUInstallDirs applies. When that folder does not exist (a binary run from the
 * build tree) the paths chosen at configure time are used.
 *
 * Pure look-ups of the file system (readlink of /proc/self/exe, stat); no allocation; any
 * thread. The buffers are the caller's.
 */
#ifndef DEALERBOT_LAYOUT_H
#define DEALERBOT_LAYOUT_H

#include <stddef.h>

/* Writes the folder of the installed chat texts into buf (NUL-terminated, truncated to len). */
void layout_messages_dir(char *buf, size_t len);

/* Writes the installed default configuration file's path into buf. */
void layout_config_file(char *buf, size_t len);

#endif
