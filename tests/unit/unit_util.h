/*
 * unit_util.h — small helpers the cmocka tests share (header only: each test is one program).
 */
#ifndef DEALERBOT_UNIT_UTIL_H
#define DEALERBOT_UNIT_UTIL_H

#include <stdlib.h>

/* The source tree (config/ and the shipped data files): $DBOT_SOURCE_DIR as CTest sets it,
 * else the path CMake compiled in, else ".". */
static inline const char *source_dir(void)
{
    const char *e = getenv("DBOT_SOURCE_DIR");
    if (e && *e)
        return e;
#ifdef DBOT_SOURCE_DIR
    return DBOT_SOURCE_DIR;
#else
    return ".";
#endif
}

#endif
