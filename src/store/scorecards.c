/*
 * scorecards.c — what the scorecards measure (store.h, scorecard.h): the dealers, one pass
 * over the window's complaints summed per dealer, the ledger's points, exact P50/P90 per
 * dealer and for the network; then the pure ranking of src/domain/scorecard.c.
 *
 * How the pass is made, and why. A per-dealer aggregate written as SQL is a GROUP BY, and
 * SQLite has no hash aggregate: it either sorts the window's rows (a million rows: ~2 s on
 * the bench machine) or walks the (dealer_code, received_at) index and looks every row up
 * in the table in random order (~5 s). Instead the window's rows are read once, by one
 * SELECT whose aggregate is a C function of ours (dbot_scorecard_add, below) that adds each
 * row to its dealer through a hash of the codes. The rows come from the covering
 * complaints_window index (received_at first, then every column the pass sums), so the cost
 * follows the window, not the history, and the scan reads the index's narrow entries instead
 * of the table's wide rows (summaries, details, customers).
 *
 * The per-row work is kept to a few cache lines: the hash is a small array of (index, hash)
 * pairs, and everything a row adds to sits in one struct acc per dealer with the code copied
 * in, so that matching a code does not chase the dealer's heap string.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/scorecard.h"

/* The most complaints one computation holds durations for (4 bytes each, twice). */
#define DURATIONS_MAX (INT64_C(64) * 1024 * 1024)

/* A growable list of durations (seconds) of one dealer. */
struct durations {
    int32_t *v;
    size_t n, cap;
};

/* One dealer while the rows are read. */
struct acc {
    uint32_t len;                  /* of the code */
    char code[DEALER_CODE_MAX + 1]; /* a copy of the code ("" when longer: see same_code) */
    struct scorecard_counts raw;
    struct durations ack, close;
};

struct slot {
    uint32_t idx;                  /* dealer index + 1; 0 = empty */
    uint32_t hash;
};

struct build {
    struct scorecard_set set;
    size_t cap;                    /* of set.dealers */
    struct acc *accs;              /* set.n of them once the dealers are read */
    struct slot *slots;            /* open addressing over the codes */
    size_t n_slots;                /* a power of two, at least twice the dealers */
    int64_t total;                 /* durations held, all dealers */
    int err;                       /* the first error met while summing the rows */
};

/* Frees the working state; the set itself only when `set_too`. */
static void build_cleanup(struct build *b, bool set_too)
{
    if (b->accs) {
        for (size_t i = 0; i < b->set.n; i++) {
            free(b->accs[i].ack.v);
            free(b->accs[i].close.v);
        }
    }
    free(b->accs);
    free(b->slots);
    if (set_too)
        scorecard_set_cleanup(&b->set);
}

/* ---- the dealers, and finding one by its code ---- */

static int add_dealer(const struct dealer *d, void *arg)
{
    struct build *b = arg;
    if (b->set.n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        struct scorecard *p = realloc(b->set.dealers, cap * sizeof *p);
        if (!p)
            return DBOT_ERR_NOMEM;
        b->set.dealers = p;
        b->cap = cap;
    }
    struct scorecard *sc = &b->set.dealers[b->set.n];
    memset(sc, 0, sizeof *sc);
    sc->code = strdup(d->code);
    sc->name = strdup(d->name ? d->name : "");
    sc->region = strdup(d->region ? d->region : "");
    sc->sales_volume = d->sales_volume;
    b->set.n++; /* counted before the check so that cleanup frees what was copied */
    if (!sc->code || !sc->name || !sc->region)
        return DBOT_ERR_NOMEM;
    return 0;
}

/* FNV-1a over the code (len bytes) in ASCII lower case: codes match case-insensitively, as
 * in SQL. */
static uint32_t code_hash(const char *s, size_t len)
{
    uint32_t h = UINT32_C(2166136261);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        h = (h ^ c) * UINT32_C(16777619);
    }
    return h;
}

/* Whether dealer i's code is `code` (len bytes). Complaints keep the dealer's own spelling of
 * its code, so the byte comparison is almost always the answer. A code too long to copy into
 * the acc (the directory never makes one) is compared with the dealer's own string. */
static bool same_code(const struct build *b, size_t i, const char *code, size_t len)
{
    const struct acc *a = &b->accs[i];
    if (a->len != len)
        return false;
    const char *mine = len <= DEALER_CODE_MAX ? a->code : b->set.dealers[i].code;
    return memcmp(mine, code, len) == 0 || strncasecmp(mine, code, len) == 0;
}

static int index_dealers(struct build *b)
{
    size_t n = b->set.n;
    if (n >= UINT32_MAX / 4)
        return DBOT_ERR_TOOBIG;
    b->n_slots = 16;
    while (b->n_slots < 2 * n)
        b->n_slots *= 2;
    b->slots = calloc(b->n_slots, sizeof *b->slots);
    b->accs = calloc(n ? n : 1, sizeof *b->accs);
    if (!b->slots || !b->accs)
        return DBOT_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct acc *a = &b->accs[i];
        size_t len = strlen(b->set.dealers[i].code);
        uint32_t h = code_hash(b->set.dealers[i].code, len);
        a->len = (uint32_t)len;
        if (len <= DEALER_CODE_MAX)
            memcpy(a->code, b->set.dealers[i].code, len + 1);
        a->raw.ack_p50 = a->raw.ack_p90 = a->raw.close_p50 = a->raw.close_p90 = -1;
        size_t k = h & (b->n_slots - 1);
        while (b->slots[k].idx)
            k = (k + 1) & (b->n_slots - 1);
        b->slots[k] = (struct slot){.idx = (uint32_t)(i + 1), .hash = h};
    }
    return 0;
}

/* The working state of the dealer with this code (len bytes, not terminated), or NULL (a row
 * of a dealer the directory did not list when it was read: not counted). */
static struct acc *dealer_of(struct build *b, const char *code, size_t len)
{
    if (!code)
        return NULL;
    uint32_t h = code_hash(code, len);
    for (size_t k = h & (b->n_slots - 1); b->slots[k].idx; k = (k + 1) & (b->n_slots - 1)) {
        if (b->slots[k].hash == h && same_code(b, b->slots[k].idx - 1, code, len))
            return &b->accs[b->slots[k].idx - 1];
    }
    return NULL;
}

/* ---- the complaints ---- */

static int push(struct build *b, struct durations *d, int64_t secs)
{
    if (b->total >= DURATIONS_MAX)
        return DBOT_ERR_TOOBIG;
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 64;
        int32_t *p = realloc(d->v, cap * sizeof *p);
        if (!p)
            return DBOT_ERR_NOMEM;
        d->v = p;
        d->cap = cap;
    }
    d->v[d->n++] = secs < 0 ? 0 : secs > INT32_MAX ? INT32_MAX : (int32_t)secs;
    b->total++;
    return 0;
}

/*
 * The rows are summed by an aggregate function of our own, dbot_scorecard_add(build, columns
 * of one complaint), that SQLite calls from inside its scan: a row then never leaves the
 * virtual machine as a result row, which makes the pass about a third cheaper than stepping
 * through the rows and reading their columns (0.36 s instead of 0.58 s for a million rows
 * on the bench machine). The struct build travels as a bound pointer (sqlite3_bind_pointer,
 * typed, so nothing else can hand one in), and the function is DIRECTONLY (not usable from
 * the schema). The first error (out of memory, too many) is kept in the build and stops the
 * work of the remaining rows.
 */
#define BUILD_PTR_TYPE "dbot_scorecard_build"

enum { A_BUILD, A_DEALER, A_RECEIVED, A_ACK_DUE, A_ACK_AT, A_SOL_DUE, A_SOL_AT, A_CLOSE_DUE,
       A_CLOSED_AT, A_REOPENED, A_REJECTED, A_SATISFACTION, A__COUNT };

static bool arg_null(sqlite3_value **v, int i)
{
    return sqlite3_value_type(v[i]) == SQLITE_NULL;
}

/* One milestone of one row. */
static void milestone(struct scorecard_counts *r, enum sla_milestone ms, sqlite3_value **v,
                      int due, int at, int64_t now)
{
    int64_t due_at = sqlite3_value_int64(v[due]);
    if (!arg_null(v, at)) {
        r->counted[ms]++;
        if (sqlite3_value_int64(v[at]) <= due_at)
            r->on_time[ms]++;
    } else if (due_at < now) {
        r->counted[ms]++;
    }
}

static void add_step(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
    (void)ctx;
    if (argc != A__COUNT)
        return;
    struct build *b = sqlite3_value_pointer(v[A_BUILD], BUILD_PTR_TYPE);
    if (!b || b->err)
        return;
    /* the blob accessor gives the text where it lies in the page; the text accessor would
     * copy it to add a terminating NUL */
    const char *code = sqlite3_value_type(v[A_DEALER]) == SQLITE_TEXT
                           ? (const char *)sqlite3_value_blob(v[A_DEALER])
                           : NULL;
    struct acc *a = dealer_of(b, code, code ? (size_t)sqlite3_value_bytes(v[A_DEALER]) : 0);
    if (!a)
        return;
    struct scorecard_counts *r = &a->raw;
    int64_t received = sqlite3_value_int64(v[A_RECEIVED]);
    r->complaints++;
    milestone(r, MS_ACK, v, A_ACK_DUE, A_ACK_AT, b->set.now);
    milestone(r, MS_SOLUTION, v, A_SOL_DUE, A_SOL_AT, b->set.now);
    milestone(r, MS_CLOSE, v, A_CLOSE_DUE, A_CLOSED_AT, b->set.now);
    if (!arg_null(v, A_ACK_AT)) {
        r->acked++;
        b->err = push(b, &a->ack, sqlite3_value_int64(v[A_ACK_AT]) - received);
    }
    if (!arg_null(v, A_CLOSED_AT) && !b->err) {
        r->closed++;
        b->err = push(b, &a->close, sqlite3_value_int64(v[A_CLOSED_AT]) - received);
    }
    r->reopened += sqlite3_value_int64(v[A_REOPENED]);
    r->rejected += sqlite3_value_int64(v[A_REJECTED]);
    if (!arg_null(v, A_SATISFACTION)) {
        int64_t score = sqlite3_value_int64(v[A_SATISFACTION]);
        if (score >= 1 && score <= 5) {
            r->satisfaction_sum += score;
            r->answers++;
        }
    }
}

static void add_final(sqlite3_context *ctx)
{
    sqlite3_result_null(ctx);
}

/* The function is registered once per connection, when its first scorecard is computed; the
 * flag lives in the struct store, so that each reader thread's connection (store_open_reader)
 * has its own and nothing is shared between threads. */
static int ensure_function(struct store *st)
{
    if (st->scorecard_fn)
        return 0;
    int rc = sqlite3_create_function_v2(st->db, "dbot_scorecard_add", A__COUNT,
                                        SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL, NULL, add_step,
                                        add_final, NULL);
    if (rc != SQLITE_OK)
        return store__err(st, rc, "scorecard function");
    st->scorecard_fn = true;
    return 0;
}

static int read_complaints(struct store *st, struct build *b, int64_t from, int64_t to)
{
    int err = ensure_function(st);
    if (err)
        return err;
    sqlite3_stmt *s = store__stmt(st, SQL_SCORECARD_ROWS);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, from);
    sqlite3_bind_int64(s, 2, to);
    sqlite3_bind_pointer(s, 3, b, BUILD_PTR_TYPE, NULL);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    if (!b->err && rc != SQLITE_DONE)
        b->err = store__err(st, rc, "scorecard rows");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s); /* the pointer is not to outlive this call */
    return b->err;
}

static int read_penalties(struct store *st, struct build *b, int64_t from, int64_t to)
{
    sqlite3_stmt *s = store__stmt(st, SQL_SCORECARD_PENALTIES);
    if (!s)
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, from);
    sqlite3_bind_int64(s, 2, to);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(s, 0);
        struct acc *a = dealer_of(b, code, code ? strlen(code) : 0);
        if (a)
            a->raw.penalty_points += sqlite3_column_int64(s, 1);
    }
    int err = rc == SQLITE_DONE ? 0 : store__err(st, rc, "scorecard penalties");
    sqlite3_reset(s);
    if (err)
        return err;
    /* the rewards beside them (commendations, automatic rewards) */
    if (!(s = store__stmt(st, SQL_SCORECARD_REWARDS)))
        return DBOT_ERR_DB;
    sqlite3_bind_int64(s, 1, from);
    sqlite3_bind_int64(s, 2, to);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(s, 0);
        struct acc *a = dealer_of(b, code, code ? strlen(code) : 0);
        if (a)
            a->raw.reward_points += sqlite3_column_int64(s, 1);
    }
    err = rc == SQLITE_DONE ? 0 : store__err(st, rc, "scorecard rewards");
    sqlite3_reset(s);
    return err;
}

/* P50 and P90 of every dealer, and of the whole network over one copy of all the lists;
 * then the counts go to the set. */
static int finish(struct build *b)
{
    size_t n_ack = 0, n_close = 0;
    for (size_t i = 0; i < b->set.n; i++) {
        n_ack += b->accs[i].ack.n;
        n_close += b->accs[i].close.n;
    }
    size_t most = n_ack > n_close ? n_ack : n_close;
    int32_t *all = malloc((most ? most : 1) * sizeof *all);
    if (!all)
        return DBOT_ERR_NOMEM;
    struct scorecard_counts *net = &b->set.network.raw;
    for (int which = 0; which < 2; which++) {
        size_t k = 0;
        for (size_t i = 0; i < b->set.n; i++) {
            struct acc *a = &b->accs[i];
            struct durations *d = which == 0 ? &a->ack : &a->close;
            if (d->n)
                memcpy(all + k, d->v, d->n * sizeof *all);
            k += d->n;
            *(which == 0 ? &a->raw.ack_p50 : &a->raw.close_p50) =
                scorecard_percentile(d->v, d->n, 50);
            *(which == 0 ? &a->raw.ack_p90 : &a->raw.close_p90) =
                scorecard_percentile(d->v, d->n, 90);
        }
        *(which == 0 ? &net->ack_p50 : &net->close_p50) = scorecard_percentile(all, k, 50);
        *(which == 0 ? &net->ack_p90 : &net->close_p90) = scorecard_percentile(all, k, 90);
    }
    free(all);
    for (size_t i = 0; i < b->set.n; i++)
        b->set.dealers[i].raw = b->accs[i].raw;
    return 0;
}

/* Runs a cached statement that returns no rows. */
static int exec_stmt(struct store *st, enum store_sql id, const char *what)
{
    sqlite3_stmt *s = store__stmt(st, id);
    if (!s)
        return DBOT_ERR_DB;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store__err(st, rc, what);
}

int store_scorecards(struct store *st, int64_t from, int64_t to, int64_t now,
                     struct scorecard_set *out)
{
    if (from >= to)
        return DBOT_ERR_INVALID;
    struct build b = {0};
    b.set.from = from;
    b.set.to = to;
    b.set.now = now;
    b.set.network.sales_volume = -1;
    b.set.network.raw.ack_p50 = b.set.network.raw.ack_p90 = -1;
    b.set.network.raw.close_p50 = b.set.network.raw.close_p90 = -1;

    /* One snapshot for the dealers, the complaints and the ledger, unless the caller's
     * transaction already gives one. */
    bool snapshot = sqlite3_get_autocommit(st->db) != 0;
    int err = snapshot ? exec_stmt(st, SQL_SCORECARD_BEGIN, "scorecard begin") : 0;
    if (err)
        return err;
    err = store_dealer_each(st, add_dealer, &b);
    if (!err)
        err = index_dealers(&b);
    if (!err)
        err = read_complaints(st, &b, from, to);
    if (!err)
        err = read_penalties(st, &b, from, to);
    if (snapshot) {
        /* read only: ending it cannot lose anything, so a failure here is only logged */
        exec_stmt(st, SQL_COMMIT, "scorecard end");
        if (!sqlite3_get_autocommit(st->db))
            exec_stmt(st, SQL_ROLLBACK, "scorecard rollback");
    }
    if (!err)
        err = finish(&b);
    if (!err)
        err = scorecards_rank(&b.set);
    build_cleanup(&b, err != 0);
    if (err)
        return err;
    *out = b.set;
    return 0;
}
