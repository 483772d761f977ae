/*
 * layout.c — the installed layout, found from the running binary (see layout.h).
 *
 * DBOT_DATADIR and DBOT_SYSCONFDIR are the absolute share/ and etc/ folders of the configured
 * install prefix (GNUInstallDirs, set for this file only in src/CMakeLists.txt).
 */
#include "dealerbot/layout.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DBOT_DATADIR
#define DBOT_DATADIR "/usr/local/share"
#endif
#ifndef DBOT_SYSCONFDIR
#define DBOT_SYSCONFDIR "/usr/local/etc"
#endif

#define LAYOUT_PATH_MAX 4096

/* The install prefix of the running binary (PREFIX of PREFIX/bin/dealerbot) into buf, or
 * false when the binary is not in a folder called bin. */
static bool exe_prefix(char *buf, size_t len)
{
    char exe[LAYOUT_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0'; /* exe is now the binary's folder */
    slash = strrchr(exe, '/');
    if (!slash || strcmp(slash + 1, "bin") != 0)
        return false;
    *slash = '\0'; /* the prefix; "" for /bin */
    int w = snprintf(buf, len, "%s", exe);
    return w >= 0 && (size_t)w < len;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "<dir>/dealerbot/<tail>" from the binary's prefix when that dealerbot folder exists there,
 * else from the configured one. `etc` picks etc/ over share/. */
static void pick(char *buf, size_t len, bool etc, const char *fallback, const char *tail)
{
    char prefix[LAYOUT_PATH_MAX], dir[LAYOUT_PATH_MAX];
    if (exe_prefix(prefix, sizeof prefix)) {
        size_t pl = strlen(prefix);
        int w;
        if (!etc)
            w = snprintf(dir, sizeof dir, "%s/share/dealerbot", prefix);
        else if (pl >= 4 && !strcmp(prefix + pl - 4, "/usr")) /* ROOT/usr -> ROOT/etc */
            w = snprintf(dir, sizeof dir, "%.*s/etc/dealerbot", (int)(pl - 4), prefix);
        else
            w = snprintf(dir, sizeof dir, "%s/etc/dealerbot", prefix);
        if (w >= 0 && (size_t)w < sizeof dir && is_dir(dir)) {
            snprintf(buf, len, "%s/%s", dir, tail);
            return;
        }
    }
    snprintf(buf, len, "%s/dealerbot/%s", fallback, tail);
}

void layout_messages_dir(char *buf, size_t len)
{
    pick(buf, len, false, DBOT_DATADIR, "messages");
}

void layout_config_file(char *buf, size_t len)
{
    pick(buf, len, true, DBOT_SYSCONFDIR, "dealerbot.conf");
}
