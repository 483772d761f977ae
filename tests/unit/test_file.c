/*
 * test_file.c — the whole-file reader: exact sizes at the limit, one byte over, empty files,
 * a pipe read to its end, a FIFO and a directory refused under FILE_REGULAR, a missing file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dealerbot/error.h"
#include "dealerbot/file.h"

static char dir[64];

static void put(const char *name, const char *text, size_t n, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
}

static void test_sizes(void **state)
{
    (void)state;
    char path[128], *buf = NULL;
    size_t len = 0;
    int e = -1;
    put("empty", "", 0, path, sizeof path);
    assert_int_equal(file_read_all(path, 10, FILE_REGULAR, &buf, &len, &e), 0);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
    put("ten", "0123456789", 10, path, sizeof path);
    assert_int_equal(file_read_all(path, 10, FILE_SECRET, &buf, &len, &e), 0);
    assert_int_equal(len, 10);
    assert_string_equal(buf, "0123456789");
    free(buf);
    buf = (char *)0x1;
    assert_int_equal(file_read_all(path, 9, 0, &buf, &len, &e), DBOT_ERR_TOOBIG);
    assert_ptr_equal(buf, (char *)0x1);
    /* a file larger than the first buffer of a pipe, through a pipe */
    static char big[200000];
    memset(big, 'x', sizeof big);
    put("big", big, sizeof big, path, sizeof path);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cat %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", fileno(p));
    assert_int_equal(file_read_all(fdpath, sizeof big, 0, &buf, &len, &e), 0);
    assert_int_equal(len, sizeof big);
    assert_int_equal(buf[len - 1], 'x');
    free(buf);
    pclose(p);
    p = popen(cmd, "r");
    snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", fileno(p));
    assert_int_equal(file_read_all(fdpath, sizeof big - 1, 0, &buf, &len, &e), DBOT_ERR_TOOBIG);
    pclose(p);
}

static void test_refusals(void **state)
{
    (void)state;
    char path[128], *buf = NULL;
    size_t len = 0;
    int e = -1;
    snprintf(path, sizeof path, "%s/none", dir);
    assert_int_equal(file_read_all(path, 10, 0, &buf, &len, &e), DBOT_ERR_NOTFOUND);
    assert_int_equal(file_read_all(dir, 10, 0, &buf, &len, &e), DBOT_ERR_IO);
    assert_int_equal(e, EISDIR);
    assert_int_equal(file_read_all(dir, 10, FILE_REGULAR, &buf, &len, &e), DBOT_ERR_IO);
    assert_int_equal(e, 0);
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(file_read_all(path, 10, FILE_REGULAR, &buf, &len, &e), DBOT_ERR_IO);
    assert_int_equal(e, 0); /* refused without blocking on the FIFO */
    unlink(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dbot-file-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
