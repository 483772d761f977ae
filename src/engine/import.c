/*
 * import.c — directory CSV import (see import.h for the contract).
 *
 * One driver, import_file(), serves both files; a small table (struct import_kind) says what
 * the header is, how a row becomes a record, what the record's key is and how it is stored.
 * The driver works in three passes so that nothing is written unless everything is right:
 *
 *   1. read the file and parse every row into a record, stopping at the first bad row;
 *   2. look for a key that appears twice among the rows read (sorting the keys, so a large
 *      file costs n log n, not n^2) — a duplicate before the bad row is the first error in
 *      file order and is reported instead of it;
 *   3. upsert every record in one store transaction, rolled back on any failure.
 *
 * Messages name the file by its base name, so a long temporary path cannot push the reason
 * out of the one-line diag.
 */
#include "dealerbot/import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dealerbot/config.h"
#include "dealerbot/csv.h"
#include "dealerbot/directory.h"
#include "dealerbot/file.h"
#include "dealerbot/rooms.h"
#include "dealerbot/timeutil.h"
#include "dealerbot/utf8.h"


static void trimmed(const char *s, char *buf, size_t cap);

/* What differs between the dealers file and the people file. */
struct import_kind {
    const char *header;         /* for messages: "jid,dealer,role,name,language" */
    const char *const *columns; /* expected header names, in order */
    const char *alt_first;      /* another accepted name of the first column, or NULL */
    size_t n_required;          /* columns that must be there */
    size_t n_columns;           /* columns that may be there */
    const char *key_name;       /* the key column, for duplicate messages */
    size_t rec_size;
    /* Validates one row (n fields, as many as the header had) into *rec; alt: the header
     * named the first column alt_first. */
    int (*parse)(struct store *st, const struct config *cfg, const char *const *f, size_t n,
                 bool alt, void *rec, struct dbot_diag *diag);
    const char *(*key)(const void *rec);
    int (*upsert)(struct store *st, const void *rec);
    void (*cleanup)(void *rec);
};

/* ---- dealers ---- */

/* Validates the row, then what the row alone cannot tell: the time zone must be a compiled
 * zone and the calendar one the configuration defines. */
static int dealer_parse(struct store *st, const struct config *cfg, const char *const *f,
                        size_t n, bool alt, void *rec, struct dbot_diag *diag)
{
    (void)alt;
    (void)st;
    struct dealer *d = rec;
    int rc = dealer_from_fields(f[0], f[1], f[2], f[3], n > 4 ? f[4] : "", n > 5 ? f[5] : "", d,
                                diag);
    if (rc)
        return rc;
    if (d->timezone && !timeutil_zone_exists(d->timezone))
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "timezone: unknown zone \"%s\"", d->timezone);
    else if (d->calendar && !config_calendar(cfg, d->calendar))
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "calendar: unknown calendar \"%s\"",
                           d->calendar);
    if (rc)
        dealer_cleanup(d);
    return rc;
}

static const char *dealer_key(const void *rec)
{
    return ((const struct dealer *)rec)->code;
}

static int dealer_upsert(struct store *st, const void *rec)
{
    return store_dealer_upsert(st, rec);
}

static void dealer_rec_cleanup(void *rec)
{
    dealer_cleanup(rec);
}

static const char *const dealer_columns[] = {"code",         "name",     "region",
                                             "sales_volume", "timezone", "calendar"};

static const struct import_kind dealer_kind = {
    .header = "code,name,region,sales_volume[,timezone[,calendar]]",
    .columns = dealer_columns,
    .n_required = 4,
    .n_columns = 6,
    .key_name = "code",
    .rec_size = sizeof(struct dealer),
    .parse = dealer_parse,
    .key = dealer_key,
    .upsert = dealer_upsert,
    .cleanup = dealer_rec_cleanup,
};

/* ---- people ---- */

/* Validates the row, then resolves the dealer against the store: it must exist, and the
 * person gets the code as the store spells it. */
static int person_parse(struct store *st, const struct config *cfg, const char *const *f,
                        size_t n, bool alt, void *rec, struct dbot_diag *diag)
{
    (void)cfg;
    (void)n;
    struct person *p = rec;
    int rc = alt ? person_from_fields_chat_id(f[0], f[1], f[2], f[3], f[4], p, diag)
                 : person_from_fields(f[0], f[1], f[2], f[3], f[4], p, diag);
    if (rc || !p->dealer)
        return rc;
    struct dealer d = {0};
    rc = store_dealer_get(st, p->dealer, &d);
    if (rc == DBOT_ERR_NOTFOUND)
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID,
                           "dealer: unknown dealer \"%s\" (import the dealers first)", p->dealer);
    else if (rc)
        rc = dbot_diag_set(diag, rc, "dealer: cannot look up \"%s\": %s", p->dealer,
                           dbot_strerror(rc));
    if (rc) {
        person_cleanup(p);
        return rc;
    }
    free(p->dealer);
    p->dealer = d.code;
    d.code = NULL;
    dealer_cleanup(&d);
    return 0;
}

static const char *person_key(const void *rec)
{
    return ((const struct person *)rec)->jid;
}

static int person_upsert(struct store *st, const void *rec)
{
    return store_person_upsert(st, rec);
}

static void person_rec_cleanup(void *rec)
{
    person_cleanup(rec);
}

static const char *const person_columns[] = {"jid", "dealer", "role", "name", "language"};

static const struct import_kind person_kind = {
    .header = "jid,dealer,role,name,language",
    .columns = person_columns,
    .alt_first = "chat_id",
    .n_required = 5,
    .n_columns = 5,
    .key_name = "jid",
    .rec_size = sizeof(struct person),
    .parse = person_parse,
    .key = person_key,
    .upsert = person_upsert,
    .cleanup = person_rec_cleanup,
};

/* ---- the penalty catalogue ---- */

static int rule_parse(struct store *st, const struct config *cfg, const char *const *f,
                      size_t n, bool alt, void *rec, struct dbot_diag *diag)
{
    (void)alt;
    (void)st;
    (void)cfg;
    return penalty_rule_from_fields(f[0], f[1], f[2], n > 3 ? f[3] : "", n > 4 ? f[4] : "",
                                    rec, diag);
}

static const char *rule_key(const void *rec)
{
    return ((const struct penalty_rule *)rec)->code;
}

static int rule_upsert(struct store *st, const void *rec)
{
    return store_penalty_rule_upsert(st, rec);
}

static void rule_rec_cleanup(void *rec)
{
    penalty_rule_cleanup(rec);
}

static const char *const rule_columns[] = {"code", "violation", "points", "standard",
                                           "how_to_avoid"};

static const struct import_kind rule_kind = {
    .header = "code,violation,points[,standard[,how_to_avoid]]",
    .columns = rule_columns,
    .n_required = 3,
    .n_columns = 5,
    .key_name = "code",
    .rec_size = sizeof(struct penalty_rule),
    .parse = rule_parse,
    .key = rule_key,
    .upsert = rule_upsert,
    .cleanup = rule_rec_cleanup,
};

/* ---- rooms: where each room lives on the platform (schema 18) ---- */

struct room_rec {
    char *room;
    char *address;
};

static int room_parse(struct store *st, const struct config *cfg, const char *const *f,
                      size_t n, bool alt, void *rec, struct dbot_diag *diag)
{
    (void)n;
    (void)alt;
    struct room_rec *r = rec;
    char name[128], addr[ROOM_ADDRESS_MAX + 2];
    trimmed(f[0], name, sizeof name);
    trimmed(f[1], addr, sizeof addr);
    int rc = rooms_resolve(st, cfg, name, name, sizeof name, diag);
    if (rc)
        return rc == DBOT_ERR_NOTFOUND ? DBOT_ERR_INVALID : rc;
    if (!rooms_address_ok(addr))
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "address: must be 1-%d characters of printable ASCII without "
                             "spaces, quotes or commas (the group's openConversationId)",
                             ROOM_ADDRESS_MAX);
    r->room = strdup(name);
    r->address = strdup(addr);
    if (!r->room || !r->address) {
        free(r->room);
        free(r->address);
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    }
    return 0;
}

static const char *room_key(const void *rec)
{
    return ((const struct room_rec *)rec)->room;
}

static int room_upsert(struct store *st, const void *rec)
{
    const struct room_rec *r = rec;
    return store_room_address_set(st, r->room, r->address, timeutil_now());
}

static void room_rec_cleanup(void *rec)
{
    struct room_rec *r = rec;
    free(r->room);
    free(r->address);
}

static const char *const room_columns[] = {"room", "address"};

static const struct import_kind room_kind = {
    .header = "room,address",
    .columns = room_columns,
    .n_required = 2,
    .n_columns = 2,
    .key_name = "room",
    .rec_size = sizeof(struct room_rec),
    .parse = room_parse,
    .key = room_key,
    .upsert = room_upsert,
    .cleanup = room_rec_cleanup,
};

/* ---- the driver ---- */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* Reads the whole file into a new buffer (caller frees), refusing more than IMPORT_FILE_MAX
 * bytes; a pipe is read to its end. */
static int read_file(const char *path, const char *base, char **out, size_t *out_len,
                     struct dbot_diag *diag)
{
    int e = 0;
    int rc = file_read_all(path, IMPORT_FILE_MAX, 0, out, out_len, &e);
    switch (rc) {
    case 0: return 0;
    case DBOT_ERR_NOTFOUND:
        return dbot_diag_set(diag, rc, "%s: cannot open: %s", base, strerror(ENOENT));
    case DBOT_ERR_TOOBIG:
        return dbot_diag_set(diag, rc, "%s: larger than %zu MiB", base,
                             IMPORT_FILE_MAX / (1024 * 1024));
    case DBOT_ERR_NOMEM: return dbot_diag_set(diag, rc, "%s: out of memory", base);
    default:
        if (e == EISDIR)
            return dbot_diag_set(diag, DBOT_ERR_IO, "%s: is a directory", base);
        return dbot_diag_set(diag, DBOT_ERR_IO, "%s: cannot read: %s", base, strerror(e));
    }
}

/* Copies the trimmed field into buf for header comparison, truncated to fit on a UTF-8
 * boundary (it may end up in the message). */
static void trimmed(const char *s, char *buf, size_t cap)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    n = utf8_cut(s, n, SIZE_MAX, cap - 1, NULL);
    memcpy(buf, s, n);
    buf[n] = '\0';
}

static int check_header(const struct csv_reader *r, const struct import_kind *k, const char *base,
                        bool *alt, struct dbot_diag *diag)
{
    *alt = false;
    if (r->n_fields < k->n_required || r->n_fields > k->n_columns)
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "%s: row 1: header must be %s, got %zu columns", base, k->header,
                             r->n_fields);
    for (size_t i = 0; i < r->n_fields; i++) {
        char name[40];
        trimmed(r->fields[i], name, sizeof name);
        if (i == 0 && k->alt_first && strcasecmp(name, k->alt_first) == 0) {
            *alt = true;
            continue;
        }
        if (strcasecmp(name, k->columns[i]) != 0)
            return dbot_diag_set(diag, DBOT_ERR_INVALID,
                                 "%s: row 1: header must be %s, column %zu is \"%s\"", base,
                                 k->header, i + 1, name);
    }
    return 0;
}

static bool row_is_empty(const struct csv_reader *r)
{
    for (size_t i = 0; i < r->n_fields; i++)
        for (const char *s = r->fields[i]; *s; s++)
            if (*s != ' ' && *s != '\t')
                return false;
    return true;
}

struct key_ref {
    const char *key;
    size_t row;
};

static int key_ref_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    int c = strcasecmp(x->key, y->key);
    if (c)
        return c;
    return (x->row > y->row) - (x->row < y->row);
}

/* Finds the earliest row whose key already appeared on an earlier row. Returns 0 and sets
 * *dup_row (0 when there is none) and *first_row, or DBOT_ERR_NOMEM. Keys are compared
 * case-insensitively, as the store matches them. */
static int find_duplicate(const struct import_kind *k, const char *recs, const size_t *rows,
                          size_t n, size_t *dup_row, size_t *first_row, const char **dup_key)
{
    *dup_row = 0;
    if (n < 2)
        return 0;
    struct key_ref *refs = calloc(n, sizeof *refs);
    if (!refs)
        return DBOT_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        refs[i].key = k->key(recs + i * k->rec_size);
        refs[i].row = rows[i];
    }
    qsort(refs, n, sizeof *refs, key_ref_cmp);
    /* Equal keys now form runs ordered by row: a run's second member is its earliest
     * duplicate, and the run's first is the row it repeats. */
    size_t run = 0;
    for (size_t i = 1; i < n; i++) {
        if (strcasecmp(refs[i].key, refs[run].key) != 0) {
            run = i;
            continue;
        }
        if (i == run + 1 && (*dup_row == 0 || refs[i].row < *dup_row)) {
            *dup_row = refs[i].row;
            *first_row = refs[run].row;
            *dup_key = refs[i].key;
        }
    }
    free(refs);
    return 0;
}

static int import_file(struct store *st, const struct config *cfg, const char *path,
                       const struct import_kind *k, size_t *count, struct dbot_diag *diag)
{
    const char *base = base_name(path);
    struct dbot_diag tmp = {{0}};
    struct csv_reader r;
    bool reader_live = false;
    char *data = NULL, *recs = NULL;
    size_t len = 0, n = 0, cap = 0, *rows = NULL;
    size_t bad_row = 0; /* first bad row (0: none); its whole message is in bad */
    struct dbot_diag bad = {{0}};
    int bad_rc = 0;
    int rc;

    if (store_in_transaction(st))
        return dbot_diag_set(diag, DBOT_ERR_INTERNAL, "%s: import inside a transaction", base);

    if ((rc = read_file(path, base, &data, &len, diag)))
        goto out;

    csv_reader_init(&r, data, len);
    reader_live = true;
    rc = csv_next_row(&r, &tmp);
    if (rc == 1) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "%s: empty file, expected the header %s", base,
                           k->header);
        goto out;
    }
    if (rc) {
        dbot_diag_set(diag, rc, "%s: %s", base, tmp.msg);
        goto out;
    }
    bool alt = false;
    if ((rc = check_header(&r, k, base, &alt, diag)))
        goto out;
    size_t width = r.n_fields;

    /* Pass 1: every row into a record, up to the first bad one. */
    for (;;) {
        rc = csv_next_row(&r, &tmp);
        if (rc == 1)
            break;
        if (rc) {
            /* A broken record has no row number yet; the reader's message names its line. */
            bad_row = r.row + 1;
            bad_rc = dbot_diag_set(&bad, rc, "%s: %s", base, tmp.msg);
            break;
        }
        if (r.n_fields != width) {
            bad_row = r.row;
            bad_rc =
                dbot_diag_set(&bad, DBOT_ERR_INVALID, "%s: row %zu: expected %zu columns, got %zu",
                              base, r.row, width, r.n_fields);
            break;
        }
        if (row_is_empty(&r))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char *nr = realloc(recs, ncap * k->rec_size);
            if (!nr) {
                rc = dbot_diag_set(diag, DBOT_ERR_NOMEM, "%s: out of memory", base);
                goto out;
            }
            recs = nr;
            size_t *nrows = realloc(rows, ncap * sizeof *rows);
            if (!nrows) {
                rc = dbot_diag_set(diag, DBOT_ERR_NOMEM, "%s: out of memory", base);
                goto out;
            }
            rows = nrows;
            cap = ncap;
        }
        rc = k->parse(st, cfg, r.fields, r.n_fields, alt, recs + n * k->rec_size, &tmp);
        if (rc) {
            bad_row = r.row;
            bad_rc = dbot_diag_set(&bad, rc, "%s: row %zu: %s", base, r.row, tmp.msg);
            break;
        }
        rows[n++] = r.row;
    }

    /* Pass 2: a duplicate before the bad row is the earlier error. */
    size_t dup_row = 0, first_row = 0;
    const char *dup_key = NULL;
    if ((rc = find_duplicate(k, recs, rows, n, &dup_row, &first_row, &dup_key))) {
        dbot_diag_set(diag, rc, "%s: out of memory", base);
        goto out;
    }
    if (dup_row && (!bad_row || dup_row < bad_row)) {
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID, "%s: row %zu: %s: \"%s\" is already on row %zu",
                           base, dup_row, k->key_name, dup_key, first_row);
        goto out;
    }
    if (bad_row) {
        rc = bad_rc;
        if (diag)
            *diag = bad;
        goto out;
    }

    /* Pass 3: all or nothing. */
    if ((rc = store_begin(st))) {
        dbot_diag_set(diag, rc, "%s: cannot start a transaction: %s", base, dbot_strerror(rc));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rc = k->upsert(st, recs + i * k->rec_size);
        if (rc) {
            store_rollback(st);
            dbot_diag_set(diag, rc, "%s: row %zu: cannot store: %s", base, rows[i],
                          dbot_strerror(rc));
            goto out;
        }
    }
    if ((rc = store_commit(st))) {
        dbot_diag_set(diag, rc, "%s: cannot commit: %s", base, dbot_strerror(rc));
        goto out;
    }
    *count = n;

out:
    for (size_t i = 0; i < n; i++)
        k->cleanup(recs + i * k->rec_size);
    free(recs);
    free(rows);
    if (reader_live)
        csv_reader_cleanup(&r);
    free(data);
    return rc;
}

int import_dealers(struct store *st, const struct config *cfg, const char *path, size_t *count,
                   struct dbot_diag *diag)
{
    return import_file(st, cfg, path, &dealer_kind, count, diag);
}

int import_people(struct store *st, const char *path, size_t *count, struct dbot_diag *diag)
{
    return import_file(st, NULL, path, &person_kind, count, diag);
}

int import_penalties(struct store *st, const char *path, size_t *count, struct dbot_diag *diag)
{
    return import_file(st, NULL, path, &rule_kind, count, diag);
}

int import_rooms(struct store *st, const struct config *cfg, const char *path, size_t *count,
                 struct dbot_diag *diag)
{
    return import_file(st, cfg, path, &room_kind, count, diag);
}
