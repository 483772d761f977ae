/*
 * reads.c — the engine's heavy reads, run on a reader thread (readers.h): what each one
 * computes there and what it hands back to the loop. The functions marked "reader thread"
 * below run off the loop and touch only their reader's store and their own job struct.
 */
#include "engine/engine_int.h"

#include <stdlib.h>
#include <string.h>

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
        rc = j->render(&set, j->arg);
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
