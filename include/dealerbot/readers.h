/*
 * readers.h — heavy reads off the event loop: a small pool of reader threads, each with its
 * own read-only SQLite connection (store_open_reader), that run jobs and hand the results
 * back to the loop thread.
 *
 * Why: the loop thread owns lws, the writer connection and the domain; a read that takes
 * hundreds of milliseconds there (the network scorecards over a million complaints) stops
 * intake, chat commands, reminders and keepalives for that long. WAL lets a reader
 * connection read one consistent snapshot while the writer commits beside it, so the loop
 * stays the only writer and the reports run beside it.
 *
 * A job is two functions and an argument:
 *   run(st, arg)              on a reader thread, with that thread's read-only store. It may
 *                             call the store's read functions on `st` and pure code (domain,
 *                             JSON rendering into its own buffers); it must touch nothing that
 *                             belongs to the loop thread (the engine, the writer store, lws,
 *                             connections, config it did not copy: the config is read-only
 *                             after start, so borrowing it is fine). Returns 0 or a DBOT_ERR_*.
 *   done(arg, rc, cancelled)  on the loop thread, exactly once per submitted job, after run
 *                             (or instead of it when the job was cancelled before it started
 *                             or the pool stopped first): rc is run's result, or
 *                             DBOT_ERR_UNAVAILABLE when run never ran. `arg` is the caller's
 *                             to free here.
 * Results come back the lws-safe way: the reader puts the finished job on a locked list and
 * calls lws_cancel_service() (the one lws call safe from another thread); the loop takes the
 * list in LWS_CALLBACK_EVENT_WAIT_CANCELLED of the pool's own vhost and calls each done.
 *
 * The queue is bounded: readers_submit() refuses with DBOT_ERR_BUSY when `queue` jobs already
 * wait for a thread (the HTTP server answers 503 with Retry-After), never an unbounded list.
 *
 * Threads: readers_start/submit/cancel/stop/free and readers_metrics are loop-thread only.
 * Nothing else here may be called from a job.
 */
#ifndef DEALERBOT_READERS_H
#define DEALERBOT_READERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dealerbot/error.h"

struct lws_context;
struct store;
struct readers;
struct reader_job;

#define READERS_THREADS_MAX 8

typedef int (*reader_run_fn)(struct store *st, void *arg);
typedef void (*reader_done_fn)(void *arg, int rc, bool cancelled);

/* Opens `threads` (1..READERS_THREADS_MAX) read-only connections to the database at `path`,
 * starts one thread for each and a vhost without a listener on `ctx` whose protocol takes
 * the finished jobs back. At most `queue` (>= 1) jobs wait for a thread. Returns 0 and *out,
 * or an error with diag (nothing left running). */
int readers_start(struct lws_context *ctx, const char *path, int threads, int queue,
                  struct readers **out, struct dbot_diag *diag);

/* Queues a job. Returns 0 (and *job, a handle valid until done is called, when job is not
 * NULL), DBOT_ERR_BUSY when the queue is full, DBOT_ERR_UNAVAILABLE once stopping, or
 * DBOT_ERR_NOMEM; on an error nothing was queued and done will not be called. */
int readers_submit(struct readers *r, reader_run_fn run, reader_done_fn done, void *arg,
                   struct reader_job **job);

/* The submitter no longer wants the result (its client went away). A job still waiting is
 * not run; a running one finishes (reads are bounded) and its result is dropped. done is
 * still called once, with cancelled = true, so that the caller frees `arg` there. */
void readers_cancel(struct readers *r, struct reader_job *job);

/* Takes the finished jobs and calls their done. The pool's vhost does it when woken; it is
 * public for loops that want to drain at a moment of their choosing (the stop). */
void readers_complete(struct readers *r);

/* Stops taking jobs, joins the threads (a running job finishes first) and destroys the
 * pool's vhost, so it must be called while the lws context is alive. Jobs still queued or
 * finished stay for readers_free(), which calls their done. NULL allowed. After this
 * nothing of the pool touches the lws context, so it may be destroyed. */
void readers_stop(struct readers *r);

/* Stops (if not yet: then the context must still be alive), calls done for every job left
 * with cancelled = true (run or not: nobody waits for a result at this point), closes the
 * connections and frees. NULL allowed. */
void readers_free(struct readers *r);

/* Prometheus lines: jobs run, refused (queue full), waiting, running. */
void readers_metrics(FILE *f, struct readers *r);

#endif
