/*
 * bench_commit — the floor under a durable intake: how long one SQLite commit of one small row
 * takes on this disk with the settings the bot uses (WAL, synchronous=FULL), measured in the
 * same run as the bot (bench/bench_latency.py prints it beside the bot's figures).
 *
 * usage: bench_commit DIR [COUNT]   (COUNT commits, default 1000, each one INSERT in its own
 * transaction; DIR must be on the disk the bot's database is on; DIR/floor.db is made and
 * removed). Prints "commit p50 us: N", p90, p99 and max, and "fdatasync p50 us: N" of a bare
 * 4 kB write + fdatasync on the same disk. One thread; exit 1 on any error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void print_quantiles(const char *what, int64_t *v, long n)
{
    qsort(v, (size_t)n, sizeof *v, cmp64);
    printf("%s p50 us: %lld\n%s p90 us: %lld\n%s p99 us: %lld\n%s max us: %lld\n", what,
           (long long)v[n / 2], what, (long long)v[n * 9 / 10], what, (long long)v[n * 99 / 100],
           what, (long long)v[n - 1]);
}

static int fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "bench_commit: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_commit DIR [COUNT]\n");
        return 2;
    }
    char *end = NULL;
    long count = argc == 3 ? strtol(argv[2], &end, 10) : 1000;
    if ((argc == 3 && (!end || *end)) || count < 10 || count > 1000000) {
        fprintf(stderr, "bench_commit: COUNT must be in 10..1000000\n");
        return 2;
    }
    char path[4096], raw[4096];
    if (snprintf(path, sizeof path, "%s/floor.db", argv[1]) >= (int)sizeof path ||
        snprintf(raw, sizeof raw, "%s/floor.raw", argv[1]) >= (int)sizeof raw) {
        fprintf(stderr, "bench_commit: DIR is too long\n");
        return 2;
    }
    int64_t *lat = calloc((size_t)count, sizeof *lat);
    if (!lat)
        return fail(NULL, "latencies");

    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return fail(db, "open");
    if (sqlite3_exec(db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                     "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, at INTEGER, v TEXT)",
                     NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, "set-up");
    if (sqlite3_prepare_v2(db, "INSERT INTO t (at, v) VALUES (?1, ?2)", -1, &ins, NULL) !=
        SQLITE_OK)
        return fail(db, "prepare");
    for (long i = 0; i < count; i++) {
        int64_t t0 = mono_us();
        sqlite3_bind_int64(ins, 1, t0);
        sqlite3_bind_text(ins, 2, "新车交付延期两周，销售顾问不回电话", -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            return fail(db, "insert");
        sqlite3_reset(ins);
        lat[i] = mono_us() - t0;
    }
    sqlite3_finalize(ins);
    sqlite3_close(db);
    print_quantiles("commit", lat, count);

    /* the disk alone: one 4 kB page rewritten and flushed */
    int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "bench_commit: %s: %s\n", raw, strerror(errno));
        return 1;
    }
    static char page[4096];
    long n = count < 1000 ? count : 1000;
    for (long i = 0; i < n; i++) {
        memset(page, (int)(i & 0xff), sizeof page);
        int64_t t0 = mono_us();
        if (pwrite(fd, page, sizeof page, (off_t)(i % 64) * 4096) != (ssize_t)sizeof page ||
            fdatasync(fd) != 0) {
            fprintf(stderr, "bench_commit: write: %s\n", strerror(errno));
            close(fd);
            return 1;
        }
        lat[i] = mono_us() - t0;
    }
    close(fd);
    print_quantiles("fdatasync", lat, n);

    unlink(raw);
    unlink(path);
    char side[4200];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    free(lat);
    return 0;
}
