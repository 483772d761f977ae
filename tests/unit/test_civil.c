/*
 * test_civil.c — the calendar helpers every module counts days with: day numbers against known
 * dates and a round trip over 800 years, date validity (leap years), "YYYY-MM-DD", "HH:MM".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dealerbot/civil.h"
#include "dealerbot/error.h"

static void test_days(void **state)
{
    (void)state;
    assert_int_equal(civil_days(1970, 1, 1), 0);
    assert_int_equal(civil_days(2000, 3, 1), 11017);
    assert_int_equal(civil_days(1969, 12, 31), -1);
    assert_int_equal(civil_days(2026, 12, 7), 20794);
    /* round trip, and consecutive days, from 1600 to 2400 */
    int64_t prev = civil_days(1600, 1, 1) - 1;
    for (int64_t z = civil_days(1600, 1, 1); z < civil_days(2400, 1, 1); z++) {
        int64_t y;
        int m, d;
        civil_from_days(z, &y, &m, &d);
        assert_true(civil_date_valid(y, m, d));
        assert_int_equal(civil_days(y, m, d), z);
        assert_int_equal(z, prev + 1);
        prev = z;
    }
}

static void test_valid_and_parse(void **state)
{
    (void)state;
    assert_true(civil_date_valid(2024, 2, 29));
    assert_false(civil_date_valid(2023, 2, 29));
    assert_false(civil_date_valid(1900, 2, 29));
    assert_true(civil_date_valid(2000, 2, 29));
    assert_false(civil_date_valid(2026, 4, 31));
    assert_false(civil_date_valid(2026, 13, 1));
    assert_false(civil_date_valid(2026, 0, 1));
    assert_false(civil_date_valid(2026, 1, 0));

    int y = -1, m = -1, d = -1;
    assert_int_equal(civil_date_parse("2026-02-28", 10, &y, &m, &d), 0);
    assert_true(y == 2026 && m == 2 && d == 28);
    static const char *const bad[] = {"2026-02-29", "2026-2-28", "2026-02-28x", "2026/02/28",
                                      "20x6-02-28", "2026-02-+8", "", "2026-00-10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        y = -1;
        assert_int_equal(civil_date_parse(bad[i], strlen(bad[i]), &y, &m, &d),
                         DBOT_ERR_INVALID);
        assert_int_equal(y, -1);
    }
    assert_int_equal(civil_date_parse(NULL, 0, &y, &m, &d), DBOT_ERR_INVALID);
}

static void test_hhmm(void **state)
{
    (void)state;
    int32_t s = -1;
    assert_true(civil_hhmm_parse("00:00", false, &s) && s == 0);
    assert_true(civil_hhmm_parse("23:59", false, &s) && s == 86340);
    assert_true(civil_hhmm_parse("24:00", true, &s) && s == 86400);
    s = -1;
    static const char *const bad[] = {"24:00", "24:01", "23:60", "7:00", "07-00", "0a:00", "",
                                      "12", "12:", "12:5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(civil_hhmm_parse(bad[i], false, &s));
    assert_false(civil_hhmm_parse("24:01", true, &s));
    assert_int_equal(s, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_valid_and_parse),
        cmocka_unit_test(test_hhmm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
