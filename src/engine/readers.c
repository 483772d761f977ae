/*
 * readers.c — the reader pool (readers.h): threads with a read-only connection each, a
 * bounded queue of jobs in, a list of finished jobs out, and the lws wake-up between them.
 *
 * One mutex guards everything the threads share: the waiting queue, the finished list, the
 * counters and each job's state and cancelled flag. A thread holds it only to take a job and
 * to hand one back, never while a job runs. The condition variable wakes idle threads when a
 * job is queued or the pool stops.
 *
 * A job's memory belongs to the pool from submit until its done has returned; the caller's
 * handle is valid for exactly that span, which is why cancel (a loop-thread call made before
 * done) can always find it. Cancelling a waiting job takes it out of the queue at once and
 * puts it on the finished list; cancelling a running one only sets the flag, and the thread
 * hands it back as usual when run returns.
 */
#include "dealerbot/readers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "dealerbot/log.h"
#include "dealerbot/store.h"

#define MOD "readers"

/* The reader threads' nice value. On a machine with as many busy readers as cores, the loop
 * thread (nice 0) still gets the CPU it needs: at nice 10 a reader weighs about a tenth of it
 * in the kernel's fair scheduler, so intake and commands keep their latency and the reports
 * take the time that is left. */
#define READER_NICE 10

enum job_state { JOB_WAITING, JOB_RUNNING, JOB_FINISHED };

struct reader_job {
    reader_run_fn run;
    reader_done_fn done;
    void *arg;
    int rc;
    bool ran;
    bool cancelled;
    enum job_state state;
    struct reader_job *prev, *next; /* in the waiting queue or the finished list */
};

struct job_list {
    struct reader_job *head, *tail;
    int n;
};

struct reader_thread {
    struct readers *pool;
    struct store *st;          /* this thread's connection; touched by no other thread */
    pthread_t tid;
    bool started;
};

struct readers {
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    struct lws_protocols protocols[2];

    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job_list waiting, finished;
    int queue_max;
    int running;
    bool stopping;
    uint64_t n_run, n_refused;

    int n_threads;
    struct reader_thread threads[READERS_THREADS_MAX];
};

static void list_push(struct job_list *l, struct reader_job *j)
{
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->n++;
}

static void list_remove(struct job_list *l, struct reader_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        l->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        l->tail = j->prev;
    j->prev = j->next = NULL;
    l->n--;
}

/* ---- the threads ---- */

static void *reader_main(void *p)
{
    struct reader_thread *t = p;
    struct readers *r = t->pool;

    /* Linux: the nice value of one thread (its tid), not of the process. Best effort. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), READER_NICE) != 0)
        log_debug(MOD, "cannot lower the reader thread's priority");

    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->stopping && !r->waiting.head)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stopping)
            break;
        struct reader_job *j = r->waiting.head;
        list_remove(&r->waiting, j);
        j->state = JOB_RUNNING;
        r->running++;
        pthread_mutex_unlock(&r->mu);

        int rc = j->run(t->st, j->arg);

        pthread_mutex_lock(&r->mu);
        j->rc = rc;
        j->ran = true;
        j->state = JOB_FINISHED;
        list_push(&r->finished, j);
        r->running--;
        r->n_run++;
        /* Wakes lws_service() on the loop thread, which then broadcasts
         * LWS_CALLBACK_EVENT_WAIT_CANCELLED (see on_lws). The context outlives the threads:
         * readers_stop() joins them before the loop destroys it. */
        lws_cancel_service(r->ctx);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- the loop side ---- */

void readers_complete(struct readers *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    struct reader_job *j = r->finished.head;
    r->finished.head = r->finished.tail = NULL;
    r->finished.n = 0;
    pthread_mutex_unlock(&r->mu);
    /* The done callbacks run unlocked: they may submit or cancel other jobs. */
    while (j) {
        struct reader_job *next = j->next;
        j->done(j->arg, j->ran ? j->rc : DBOT_ERR_UNAVAILABLE, j->cancelled);
        free(j);
        j = next;
    }
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    if (reason != LWS_CALLBACK_EVENT_WAIT_CANCELLED)
        return 0;
    const struct lws_protocols *p = lws_get_protocol(wsi);
    if (p && p->user)
        readers_complete(p->user);
    return 0;
}

int readers_submit(struct readers *r, reader_run_fn run, reader_done_fn done, void *arg,
                   struct reader_job **job)
{
    if (!r || !run || !done)
        return DBOT_ERR_UNAVAILABLE;
    struct reader_job *j = calloc(1, sizeof *j);
    if (!j)
        return DBOT_ERR_NOMEM;
    j->run = run;
    j->done = done;
    j->arg = arg;
    j->state = JOB_WAITING;

    pthread_mutex_lock(&r->mu);
    int err = 0;
    if (r->stopping) {
        err = DBOT_ERR_UNAVAILABLE;
    } else if (r->waiting.n >= r->queue_max) {
        err = DBOT_ERR_BUSY;
        r->n_refused++;
    } else {
        list_push(&r->waiting, j);
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    if (err) {
        free(j);
        return err;
    }
    if (job)
        *job = j;
    return 0;
}

void readers_cancel(struct readers *r, struct reader_job *j)
{
    if (!r || !j)
        return;
    pthread_mutex_lock(&r->mu);
    j->cancelled = true;
    if (j->state == JOB_WAITING) {
        list_remove(&r->waiting, j);
        j->state = JOB_FINISHED;
        list_push(&r->finished, j);
        /* done is called at the next wake-up, never from inside cancel: the caller is in
         * the middle of tearing its side down */
        if (!r->stopping)
            lws_cancel_service(r->ctx);
    }
    pthread_mutex_unlock(&r->mu);
}

/* ---- lifecycle ---- */

int readers_start(struct lws_context *ctx, const char *path, int threads, int queue,
                  struct readers **out, struct dbot_diag *diag)
{
    if (threads < 1 || threads > READERS_THREADS_MAX || queue < 1)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "readers: %d threads, queue %d: out of range",
                             threads, queue);
    struct readers *r = calloc(1, sizeof *r);
    if (!r)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    r->ctx = ctx;
    r->queue_max = queue;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);

    int err = 0;
    for (int i = 0; i < threads && !err; i++) {
        r->threads[i].pool = r;
        err = store_open_reader(path, &r->threads[i].st, diag);
        if (!err)
            r->n_threads++;
    }
    if (!err) {
        r->protocols[0].name = "dealerbot-readers";
        r->protocols[0].callback = on_lws;
        r->protocols[0].user = r;
        struct lws_context_creation_info info;
        memset(&info, 0, sizeof info);
        info.vhost_name = "readers";
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = r->protocols;
        r->vhost = lws_create_vhost(ctx, &info);
        if (!r->vhost)
            err = dbot_diag_set(diag, DBOT_ERR_INTERNAL, "readers: cannot create the vhost");
    }
    for (int i = 0; i < r->n_threads && !err; i++) {
        if (pthread_create(&r->threads[i].tid, NULL, reader_main, &r->threads[i]) != 0)
            err = dbot_diag_set(diag, DBOT_ERR_NOMEM, "readers: cannot start thread %d", i + 1);
        else
            r->threads[i].started = true;
    }
    if (err) {
        readers_free(r);
        return err;
    }
    log_info(MOD, "%d reader thread(s), at most %d job(s) waiting", r->n_threads, queue);
    *out = r;
    return 0;
}

void readers_stop(struct readers *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < r->n_threads; i++) {
        if (r->threads[i].started) {
            pthread_join(r->threads[i].tid, NULL);
            r->threads[i].started = false;
        }
    }
    /* No wake-up can reach the protocol (whose array lives in *r) after this: lws takes a
     * vhost without connections off the context's list and frees it at once. */
    if (r->vhost) {
        lws_vhost_destroy(r->vhost);
        r->vhost = NULL;
    }
}

void readers_free(struct readers *r)
{
    if (!r)
        return;
    readers_stop(r);
    /* The threads are gone: what still waits never runs, and nothing that comes back now is
     * wanted — its owner may already be gone (the daemon frees the chat before the pool), so
     * every job left is handed back as cancelled, only for its owner to free its argument. */
    while (r->waiting.head) {
        struct reader_job *j = r->waiting.head;
        list_remove(&r->waiting, j);
        j->state = JOB_FINISHED;
        list_push(&r->finished, j);
    }
    for (struct reader_job *j = r->finished.head; j; j = j->next)
        j->cancelled = true;
    readers_complete(r);
    for (int i = 0; i < r->n_threads; i++)
        store_close(r->threads[i].st);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void readers_metrics(FILE *f, struct readers *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    uint64_t n_run = r->n_run, n_refused = r->n_refused;
    int waiting = r->waiting.n, running = r->running;
    pthread_mutex_unlock(&r->mu);
    fprintf(f,
            "# HELP dealerbot_reader_jobs_total Reads run on the reader threads.\n"
            "# TYPE dealerbot_reader_jobs_total counter\n"
            "dealerbot_reader_jobs_total %llu\n"
            "# HELP dealerbot_reader_refused_total Reads refused because the queue was full "
            "(answered 503).\n"
            "# TYPE dealerbot_reader_refused_total counter\n"
            "dealerbot_reader_refused_total %llu\n"
            "# HELP dealerbot_reader_waiting Reads waiting for a reader thread.\n"
            "# TYPE dealerbot_reader_waiting gauge\n"
            "dealerbot_reader_waiting %d\n"
            "# HELP dealerbot_reader_running Reads running now.\n"
            "# TYPE dealerbot_reader_running gauge\n"
            "dealerbot_reader_running %d\n",
            (unsigned long long)n_run, (unsigned long long)n_refused, waiting, running);
}
