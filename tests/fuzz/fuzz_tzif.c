/*
 * fuzz_tzif.c — libFuzzer target for the TZif reader behind the zone cache (timeutil.c):
 * the file's counts and tables, and the POSIX TZ rule of its footer.
 *
 * Besides "no crash, no sanitizer report, no leak", it checks that a refused input says
 * DBOT_ERR_INVALID (or NOMEM), and that a table that parsed answers for instants across the
 * whole range an int64 allows without going wild: an offset within +-26 hours.
 */
#include <stdint.h>
#include <stdlib.h>

#include "dealerbot/error.h"
#include "dealerbot/timeutil.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tz_table *z = NULL;
    int rc = timeutil_zone_parse(data, size, &z);
    if (rc != 0) {
        check(rc == DBOT_ERR_INVALID || rc == DBOT_ERR_NOMEM);
        check(z == NULL);
        return 0;
    }
    static const int64_t at[] = {INT64_MIN,        -(INT64_C(1) << 40), -2208988800, -1, 0,
                                 1700000000,       2147483647,        4102444800,
                                 INT64_C(1) << 40, INT64_MAX};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        int32_t off = timeutil_zone_at(z, at[i]);
        check(off > -26 * 3600 && off < 26 * 3600);
    }
    timeutil_zone_free(z);
    return 0;
}
