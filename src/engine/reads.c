/*
 * reads.c — the engine's heavy reads, run on a reader thread (readers.h): what each one
 * computes there and what it hands back to the loop. The functions marked "reader thread"
 * below run off the loop and touch only their reader's store and their own job struct.
 */
#include "engine/engine_int.h"

#include <stdlib.h>
#include <string.h>

#include "dealerbot/log.h"
#include "dealerbot/readers.h"
#include "dealerbot/scorecard.h"

/* One scorecards read: the window in, the caller's hooks. */
struct scorecards_job {
    int64_t from, to, now;
    engine_scorecards_render_fn render;
    engine_read_done_fn done;
    void *arg;
};

/* Reader thread. */
static int scorecards_run(struct store *st, void *p)
{
    struct scorecards_job *j = p;
    struct scorecard_set set;
    int rc = store_scorecards(st, j->from, j->to, j->now, &set);
    if (rc)
        return rc;
    if (j->render)
        rc = j->render(&set, j->arg); /* may move the set out (then it is left zeroed) */
    scorecard_set_cleanup(&set);
    return rc;
}

/* Loop thread. */
static void scorecards_done(void *p, int rc, bool cancelled)
{
    struct scorecards_job *j = p;
    j->done(j->arg, rc, cancelled);
    free(j);
}

int engine_scorecards_start(struct engine *e, int64_t from, int64_t to, int64_t now,
                            engine_scorecards_render_fn render, engine_read_done_fn done,
                            void *arg, struct reader_job **job)
{
    if (!e->readers)
        return DBOT_ERR_UNAVAILABLE;
    struct scorecards_job *j = malloc(sizeof *j);
    if (!j)
        return DBOT_ERR_NOMEM;
    *j = (struct scorecards_job){.from = from, .to = to, .now = now, .render = render,
                                 .done = done, .arg = arg};
    int rc = readers_submit(e->readers, scorecards_run, scorecards_done, j, job);
    if (rc)
        free(j);
    return rc;
}

void engine_read_cancel(struct engine *e, struct reader_job *job)
{
    readers_cancel(e->readers, job);
}

/* ---- the scheduled underperformers evaluation ---- */

struct under_job {
    struct engine *e;
    int64_t now, slot;
    char *actor;
    struct under_result *res;
    engine_read_done_fn done;
    void *arg;
    struct scorecard_set set;   /* moved here on the reader thread */
};

/* Reader thread: keep the set for the loop. */
static int under_take(struct scorecard_set *set, void *arg)
{
    struct under_job *j = arg;
    j->set = *set;
    memset(set, 0, sizeof *set);
    return 0;
}

/* Loop thread: the decisions, in one transaction, from the reader's snapshot. */
static void under_done(void *arg, int rc, bool cancelled)
{
    struct under_job *j = arg;
    struct engine *e = j->e;
    if (!cancelled && rc == 0) {
        eng__forget(e);
        rc = store_begin(e->store);
        if (rc == 0) {
            rc = eng__under_apply(e, &j->set, j->now, j->actor, j->slot, j->res);
            if (rc == 0)
                rc = store_commit(e->store);
            else
                store_rollback(e->store);
        }
        if (rc) {
            eng__forget(e);
            log_error("engine", "underperformers not evaluated: %s", dbot_strerror(rc));
        } else {
            eng__after_commit(e);
        }
    }
    j->done(j->arg, rc, cancelled);
    scorecard_set_cleanup(&j->set);
    free(j->actor);
    free(j);
}

int engine_underperformers_evaluate_start(struct engine *e, int64_t now, const char *actor,
                                          int64_t slot, struct under_result *res,
                                          engine_read_done_fn done, void *arg,
                                          struct reader_job **job)
{
    struct under_job *j = calloc(1, sizeof *j);
    if (!j || !(j->actor = strdup(actor))) {
        free(j);
        return DBOT_ERR_NOMEM;
    }
    j->e = e;
    j->now = now;
    j->slot = slot;
    j->res = res;
    j->done = done;
    j->arg = arg;
    memset(res, 0, sizeof *res);
    /* [from, now], as eng__under_evaluate */
    int rc = engine_scorecards_start(e, now - e->cfg->underperformers.window_s, now + 1, now,
                                     under_take, under_done, j, job);
    if (rc) {
        free(j->actor);
        free(j);
    }
    return rc;
}

/* ---- lists of complaints ---- */

struct list_job {
    struct complaint_filter f;
    char *dealer;               /* f.dealer's copy */
    engine_complaint_fn each;
    engine_list_finish_fn finish;
    engine_read_done_fn done;
    void *arg;
};

/* Reader thread. */
static int list_run(struct store *st, void *p)
{
    struct list_job *j = p;
    int rc = store_complaint_each(st, &j->f, j->each, j->arg);
    if (j->finish)
        j->finish(&rc, j->arg);
    return rc;
}

/* Loop thread. */
static void list_done(void *p, int rc, bool cancelled)
{
    struct list_job *j = p;
    j->done(j->arg, rc, cancelled);
    free(j->dealer);
    free(j);
}

int engine_complaints_start(struct engine *e, const struct complaint_filter *f,
                            engine_complaint_fn each, engine_list_finish_fn finish,
                            engine_read_done_fn done, void *arg, struct reader_job **job)
{
    if (!e->readers)
        return DBOT_ERR_UNAVAILABLE;
    struct list_job *j = calloc(1, sizeof *j);
    if (!j)
        return DBOT_ERR_NOMEM;
    j->f = *f;
    if (f->dealer && !(j->dealer = strdup(f->dealer))) {
        free(j);
        return DBOT_ERR_NOMEM;
    }
    j->f.dealer = j->dealer;
    j->each = each;
    j->finish = finish;
    j->done = done;
    j->arg = arg;
    int rc = readers_submit(e->readers, list_run, list_done, j, job);
    if (rc) {
        free(j->dealer);
        free(j);
    }
    return rc;
}
