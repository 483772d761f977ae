/* lang.c — the language list (see lang.h). */
#include "dealerbot/lang.h"

#include <string.h>
#include <strings.h>

const char *const lang_names[LANG_COUNT + 1] = {"zh-CN", "en", NULL};

const char *lang_find(const char *s, size_t len)
{
    for (size_t i = 0; i < LANG_COUNT; i++)
        if (s && strlen(lang_names[i]) == len && strncasecmp(s, lang_names[i], len) == 0)
            return lang_names[i];
    return NULL;
}
