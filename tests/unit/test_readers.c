/*
 * test_readers.c — the reader pool (readers.h) on a real lws context and a real SQLite file:
 * a job runs on a reader thread and its done on the loop thread, woken through
 * lws_cancel_service(); the queue's bound (DBOT_ERR_BUSY, never a longer queue); cancelling a
 * waiting job (never run) and a running one (its result dropped), with done called exactly
 * once either way; a reader reads its snapshot while the writer holds a transaction open and
 * sees the commit afterwards; a reader connection cannot write; stopping with jobs left.
 * Jobs that must stay busy wait on a gate the test opens, so nothing here depends on timing.
 * Built and run under ThreadSanitizer by the `tsan` preset (scripts/test.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "dealerbot/readers.h"
#include "dealerbot/scorecard.h"
#include "dealerbot/store.h"

static char dir[256];
static char dbpath[300];
static struct lws_context *ctx;
static pthread_t loop_thread;

/* A gate that jobs wait at until the test opens it, and that tells how many arrived. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int gate_arrived;

static void gate_reset(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = false;
    gate_arrived = 0;
    pthread_mutex_unlock(&gate_mu);
}

static void gate_release(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = true;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static int gate_count(void)
{
    pthread_mutex_lock(&gate_mu);
    int n = gate_arrived;
    pthread_mutex_unlock(&gate_mu);
    return n;
}

/* What one job saw. Written by the reader thread before the hand-back (which orders it
 * before the loop thread reads it, through the pool's mutex) and by the loop thread. */
struct job {
    bool wait_at_gate;
    int result;           /* what run returns */
    bool ran, ran_off_loop;
    int done_calls;
    bool done_on_loop;
    int done_rc;
    bool cancelled;
    int64_t complaints;   /* a scorecards job: the network's count */
};

static int run_job(struct store *st, void *arg)
{
    (void)st;
    struct job *j = arg;
    j->ran = true;
    j->ran_off_loop = !pthread_equal(pthread_self(), loop_thread);
    if (j->wait_at_gate) {
        pthread_mutex_lock(&gate_mu);
        gate_arrived++;
        while (!gate_open)
            pthread_cond_wait(&gate_cv, &gate_mu);
        pthread_mutex_unlock(&gate_mu);
    }
    return j->result;
}

static int run_scorecards(struct store *st, void *arg)
{
    struct job *j = arg;
    j->ran = true;
    j->ran_off_loop = !pthread_equal(pthread_self(), loop_thread);
    struct scorecard_set set;
    int rc = store_scorecards(st, 0, INT64_C(4000000000), 10000, &set);
    if (rc == 0) {
        j->complaints = set.network.raw.complaints;
        scorecard_set_cleanup(&set);
    }
    return rc;
}

/* A reader connection must refuse to write: a job that tries, through the store's API. */
static int run_write(struct store *st, void *arg)
{
    struct job *j = arg;
    j->ran = true;
    struct dealer d = {.code = (char *)"X001", .name = (char *)"Writer", .region = (char *)"",
                       .sales_volume = -1};
    return store_dealer_upsert(st, &d);
}

static void done_job(void *arg, int rc, bool cancelled)
{
    struct job *j = arg;
    j->done_calls++;
    j->done_on_loop = pthread_equal(pthread_self(), loop_thread);
    j->done_rc = rc;
    j->cancelled = cancelled;
}

/* Turns the loop until every job in jobs[] had its done, or fails after 20 s. */
static void serve_until_done(struct job **jobs, int n)
{
    time_t limit = time(NULL) + 20;
    for (;;) {
        int left = 0;
        for (int i = 0; i < n; i++)
            left += jobs[i]->done_calls == 0;
        if (!left)
            return;
        if (time(NULL) > limit)
            fail_msg("%d job(s) not handed back within 20 s", left);
        lws_service(ctx, 0);
    }
}

/* Waits (without turning the loop) until `n` jobs wait at the gate. */
static void wait_at_gate(int n)
{
    time_t limit = time(NULL) + 20;
    while (gate_count() < n) {
        if (time(NULL) > limit)
            fail_msg("%d job(s) at the gate after 20 s, expected %d", gate_count(), n);
        usleep(1000);
    }
}

static struct store *writer;

static void add_dealer(const char *code)
{
    struct dealer d = {.code = (char *)code, .name = (char *)"Dealer", .region = (char *)"East",
                       .sales_volume = 1000};
    assert_int_equal(store_dealer_upsert(writer, &d), 0);
}

static void add_complaint(const char *ext, int64_t received)
{
    struct intake in = {.external_id = (char *)ext, .dealer = (char *)"D001",
                        .category = (char *)"paint", .priority = PRIORITY_NORMAL,
                        .customer_name = (char *)"Zhang", .customer_phone = (char *)"138",
                        .summary = (char *)"Scratch", .received_at = received};
    struct deadlines due = {.ack_due = received + 3600, .solution_due = received + 7200,
                            .close_due = received + 86400};
    int64_t id;
    bool created;
    assert_int_equal(
        store_complaint_insert(writer, &in, "default", &due, received, "test", &id, &created), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dbot-readers-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(dbpath, sizeof dbpath, "%s/test.db", dir);
    struct dbot_diag diag = {0};
    if (store_open(dbpath, &writer, &diag) != 0)
        return -1;
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.gid = -1;
    info.uid = -1;
    ctx = lws_create_context(&info);
    loop_thread = pthread_self();
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    lws_context_destroy(ctx);
    store_close(writer);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct readers *start_pool(int threads, int queue)
{
    struct readers *r = NULL;
    struct dbot_diag diag = {0};
    int rc = readers_start(ctx, dbpath, threads, queue, &r, &diag);
    if (rc)
        fail_msg("readers_start: %s", diag.msg);
    return r;
}

static void test_job_comes_back_on_the_loop(void **state)
{
    (void)state;
    struct readers *r = start_pool(2, 4);
    struct job a = {.result = 0}, b = {.result = DBOT_ERR_NOTFOUND};
    assert_int_equal(readers_submit(r, run_job, done_job, &a, NULL), 0);
    assert_int_equal(readers_submit(r, run_job, done_job, &b, NULL), 0);
    struct job *all[] = {&a, &b};
    serve_until_done(all, 2);
    for (int i = 0; i < 2; i++) {
        assert_true(all[i]->ran);
        assert_true(all[i]->ran_off_loop);
        assert_int_equal(all[i]->done_calls, 1);
        assert_true(all[i]->done_on_loop);
        assert_false(all[i]->cancelled);
    }
    assert_int_equal(a.done_rc, 0);
    assert_int_equal(b.done_rc, DBOT_ERR_NOTFOUND); /* run's result, passed through */
    readers_free(r);
    assert_int_equal(a.done_calls, 1); /* nothing called twice at the end */
}

static void test_queue_is_bounded(void **state)
{
    (void)state;
    gate_reset();
    struct readers *r = start_pool(1, 2);
    struct job busy = {.wait_at_gate = true}, w1 = {0}, w2 = {0}, over = {0};
    assert_int_equal(readers_submit(r, run_job, done_job, &busy, NULL), 0);
    wait_at_gate(1); /* the only thread is taken */
    assert_int_equal(readers_submit(r, run_job, done_job, &w1, NULL), 0);
    assert_int_equal(readers_submit(r, run_job, done_job, &w2, NULL), 0);
    /* two wait: the third is refused, and its done is never called */
    assert_int_equal(readers_submit(r, run_job, done_job, &over, NULL), DBOT_ERR_BUSY);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    readers_metrics(f, r);
    fclose(f);
    assert_non_null(strstr(text, "dealerbot_reader_refused_total 1\n"));
    assert_non_null(strstr(text, "dealerbot_reader_waiting 2\n"));
    assert_non_null(strstr(text, "dealerbot_reader_running 1\n"));
    free(text);
    gate_release();
    struct job *all[] = {&busy, &w1, &w2};
    serve_until_done(all, 3);
    assert_false(over.ran);
    assert_int_equal(over.done_calls, 0);
    /* room again once they are through */
    assert_int_equal(readers_submit(r, run_job, done_job, &over, NULL), 0);
    struct job *again[] = {&over};
    serve_until_done(again, 1);
    assert_true(over.ran);
    readers_free(r);
}

static void test_cancel(void **state)
{
    (void)state;
    gate_reset();
    struct readers *r = start_pool(1, 4);
    struct job running = {.wait_at_gate = true, .result = 0}, waiting = {0};
    struct reader_job *h_running, *h_waiting;
    assert_int_equal(readers_submit(r, run_job, done_job, &running, &h_running), 0);
    wait_at_gate(1);
    assert_int_equal(readers_submit(r, run_job, done_job, &waiting, &h_waiting), 0);
    /* the waiting one: never run, handed back as cancelled at the next turn */
    readers_cancel(r, h_waiting);
    assert_int_equal(waiting.done_calls, 0); /* not from inside cancel */
    struct job *w[] = {&waiting};
    serve_until_done(w, 1);
    assert_false(waiting.ran);
    assert_true(waiting.cancelled);
    assert_int_equal(waiting.done_rc, DBOT_ERR_UNAVAILABLE);
    /* the running one finishes; its done says cancelled */
    readers_cancel(r, h_running);
    gate_release();
    struct job *all[] = {&running};
    serve_until_done(all, 1);
    assert_true(running.ran);
    assert_true(running.cancelled);
    assert_int_equal(running.done_calls, 1);
    readers_free(r);
    assert_int_equal(running.done_calls, 1);
    assert_int_equal(waiting.done_calls, 1);
}

static void test_stop_with_jobs_left(void **state)
{
    (void)state;
    gate_reset();
    struct readers *r = start_pool(1, 4);
    struct job running = {.wait_at_gate = true}, waiting = {0};
    assert_int_equal(readers_submit(r, run_job, done_job, &running, NULL), 0);
    wait_at_gate(1);
    assert_int_equal(readers_submit(r, run_job, done_job, &waiting, NULL), 0);
    gate_release();
    readers_free(r); /* joins the thread; every job's done runs once, here, on this thread */
    assert_int_equal(running.done_calls, 1);
    assert_int_equal(waiting.done_calls, 1);
    assert_true(running.done_on_loop && waiting.done_on_loop);
    /* nobody is waiting for results at the end: both are handed back as cancelled (the one
     * that ran keeps its rc), so that their owners only free what they hold */
    assert_true(running.ran);
    assert_true(running.cancelled && waiting.cancelled);
    assert_int_equal(running.done_rc, 0);
}

static void test_reads_beside_the_writer(void **state)
{
    (void)state;
    add_dealer("D001");
    add_complaint("R-1", 1000);
    add_complaint("R-2", 2000);
    struct readers *r = start_pool(1, 4);

    /* the writer holds a transaction with a third complaint: the reader is not blocked and
     * reads the committed snapshot */
    assert_int_equal(store_begin(writer), 0);
    add_complaint("R-3", 3000);
    struct job before = {0};
    assert_int_equal(readers_submit(r, run_scorecards, done_job, &before, NULL), 0);
    struct job *b[] = {&before};
    serve_until_done(b, 1);
    assert_int_equal(before.done_rc, 0);
    assert_true(before.ran_off_loop);
    assert_int_equal(before.complaints, 2);
    assert_int_equal(store_commit(writer), 0);

    struct job after = {0};
    assert_int_equal(readers_submit(r, run_scorecards, done_job, &after, NULL), 0);
    struct job *a[] = {&after};
    serve_until_done(a, 1);
    assert_int_equal(after.done_rc, 0);
    assert_int_equal(after.complaints, 3);

    /* a reader's connection refuses to write */
    struct job wr = {0};
    assert_int_equal(readers_submit(r, run_write, done_job, &wr, NULL), 0);
    struct job *w[] = {&wr};
    serve_until_done(w, 1);
    assert_true(wr.ran);
    assert_int_not_equal(wr.done_rc, 0);
    struct dealer d;
    assert_int_equal(store_dealer_get(writer, "X001", &d), DBOT_ERR_NOTFOUND);
    readers_free(r);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct readers *r = NULL;
    struct dbot_diag diag = {0};
    assert_int_equal(readers_start(ctx, dbpath, 0, 4, &r, &diag), DBOT_ERR_INVALID);
    assert_int_equal(readers_start(ctx, dbpath, READERS_THREADS_MAX + 1, 4, &r, &diag),
                     DBOT_ERR_INVALID);
    assert_int_equal(readers_start(ctx, dbpath, 1, 0, &r, &diag), DBOT_ERR_INVALID);
    /* a file that is not at the newest schema is refused (the writer migrates, not a reader) */
    char other[320];
    snprintf(other, sizeof other, "%s/old.db", dir);
    struct store *st = NULL;
    assert_int_equal(store_open_nomigrate(other, &st, &diag), 0);
    store_close(st);
    assert_int_equal(readers_start(ctx, other, 1, 4, &r, &diag), DBOT_ERR_INVALID);
    assert_non_null(strstr(diag.msg, "schema version 0"));
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_comes_back_on_the_loop),
        cmocka_unit_test(test_queue_is_bounded),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_stop_with_jobs_left),
        cmocka_unit_test(test_reads_beside_the_writer),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
