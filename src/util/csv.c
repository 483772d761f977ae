/*
 * csv.c — the RFC 4180 reader behind csv.h.
 *
 * The reader walks the caller's buffer once. A record's fields are decoded ("" becomes ",
 * the surrounding quotes go) into one growable buffer owned by the reader, each field
 * NUL-terminated, and r->fields points into it. The buffer never grows past what the limits
 * allow: CSV_MAX_FIELDS fields of at most CSV_MAX_FIELD_LEN bytes plus their terminators.
 *
 * Line ends are CRLF, LF or a lone CR (old Mac Excel); inside quotes they are kept verbatim as
 * part of the field. Where the RFC is stricter than Excel, the reader follows Excel: a quote in
 * the middle of an unquoted field is an ordinary character. Text after a closing quote is an
 * error, because it almost always means a broken quote earlier on the line.
 *
 * Line numbers: r->line is where the current record started. Because a record may span lines,
 * the next record's first line is found by counting the line ends inside the previous record's
 * fields (they are copied verbatim, so the count is the same as in the raw text) plus the one
 * that ended it. This keeps the struct in csv.h free of a second cursor.
 *
 * After an error the reader is exhausted: further calls return 1.
 *
 * The writer (csv_field_format) is the reader's mirror for one cell, plus the neutralisation
 * of cells that a spreadsheet would evaluate (CSV injection, OWASP).
 */
#include "dealerbot/csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/utf8.h"

/* The most decoded bytes one record can need. */
#define ROW_BUF_MAX ((size_t)CSV_MAX_FIELDS * (CSV_MAX_FIELD_LEN + 1))

void csv_reader_init(struct csv_reader *r, const char *data, size_t len)
{
    memset(r, 0, sizeof *r);
    r->p = data;
    r->end = data ? data + len : data;
    r->line = 1;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        r->p += 3;
}

void csv_reader_cleanup(struct csv_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    r->buf = NULL;
    r->buf_cap = 0;
    r->n_fields = 0;
    r->p = r->end;
}

/* Length of the line end at p (2 for CRLF, 1 for LF or a lone CR), 0 when p is not at one. */
static size_t eol_len(const char *p, const char *end)
{
    if (p >= end)
        return 0;
    if (*p == '\n')
        return 1;
    if (*p == '\r')
        return (p + 1 < end && p[1] == '\n') ? 2 : 1;
    return 0;
}

/* Number of line ends in s[0..len), by the same rule as eol_len(). */
static size_t count_eols(const char *s, size_t len)
{
    size_t n = 0;
    const char *end = s + len;
    while (s < end) {
        size_t e = eol_len(s, end);
        if (e) {
            n++;
            s += e;
        } else {
            s++;
        }
    }
    return n;
}

/* Ensures room for `need` more bytes after `used`. The caller's limits keep used + need within
 * ROW_BUF_MAX, so the capacity is capped there. */
static int reserve(struct csv_reader *r, size_t used, size_t need)
{
    if (used + need <= r->buf_cap)
        return 0;
    size_t cap = r->buf_cap ? r->buf_cap : 256;
    while (cap < used + need)
        cap *= 2;
    if (cap > ROW_BUF_MAX)
        cap = ROW_BUF_MAX;
    if (cap < used + need)
        return DBOT_ERR_INTERNAL;
    char *nb = realloc(r->buf, cap);
    if (!nb)
        return DBOT_ERR_NOMEM;
    r->buf = nb;
    r->buf_cap = cap;
    return 0;
}

/* State of the record being decoded. */
struct row_state {
    size_t used;      /* bytes of r->buf in use */
    size_t field_off; /* where the current field starts in r->buf */
    size_t line;      /* physical line of the cursor */
};

/* Appends src[0..n) to the current field, enforcing the field length limit. */
static int append(struct csv_reader *r, struct row_state *s, const char *src, size_t n,
                  struct dbot_diag *diag)
{
    if (s->used - s->field_off + n > CSV_MAX_FIELD_LEN)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "line %zu: field longer than %d bytes",
                             s->line, CSV_MAX_FIELD_LEN);
    int rc = reserve(r, s->used, n);
    if (rc == DBOT_ERR_NOMEM)
        return dbot_diag_set(diag, rc, "line %zu: out of memory", s->line);
    if (rc)
        return dbot_diag_set(diag, rc, "line %zu: internal error in the CSV reader", s->line);
    if (n)
        memcpy(r->buf + s->used, src, n);
    s->used += n;
    return 0;
}

/* Decodes a quoted field; r->p is just past the opening quote. Leaves r->p just past the
 * closing quote. */
static int read_quoted(struct csv_reader *r, struct row_state *s, struct dbot_diag *diag)
{
    size_t open_line = s->line;
    for (;;) {
        const char *q = memchr(r->p, '"', (size_t)(r->end - r->p));
        if (!q)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "line %zu: unterminated quoted field",
                                 open_line);
        size_t n = (size_t)(q - r->p);
        int rc = append(r, s, r->p, n, diag);
        if (rc)
            return rc;
        s->line += count_eols(r->p, n);
        r->p = q + 1;
        if (r->p < r->end && *r->p == '"') {
            rc = append(r, s, "\"", 1, diag);
            if (rc)
                return rc;
            r->p++;
            continue;
        }
        return 0;
    }
}

/* Decodes an unquoted field: everything up to a comma or a line end. */
static int read_plain(struct csv_reader *r, struct row_state *s, struct dbot_diag *diag)
{
    const char *q = r->p;
    while (q < r->end && *q != ',' && *q != '\r' && *q != '\n')
        q++;
    int rc = append(r, s, r->p, (size_t)(q - r->p), diag);
    if (rc)
        return rc;
    r->p = q;
    return 0;
}

static int read_row(struct csv_reader *r, struct dbot_diag *diag)
{
    struct row_state s = {.used = 0, .field_off = 0, .line = r->line};
    size_t offs[CSV_MAX_FIELDS];
    size_t n = 0;

    for (;;) {
        if (n == CSV_MAX_FIELDS)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "line %zu: more than %d fields", s.line,
                                 CSV_MAX_FIELDS);
        s.field_off = s.used;
        size_t field_line = s.line;
        int rc;
        if (r->p < r->end && *r->p == '"') {
            r->p++;
            rc = read_quoted(r, &s, diag);
            if (rc)
                return rc;
            if (r->p < r->end && *r->p != ',' && !eol_len(r->p, r->end))
                return dbot_diag_set(diag, DBOT_ERR_INVALID, "line %zu: text after closing quote",
                                     s.line);
        } else {
            rc = read_plain(r, &s, diag);
            if (rc)
                return rc;
        }
        if (!utf8_valid(r->buf ? r->buf + s.field_off : "", s.used - s.field_off))
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "line %zu: not valid UTF-8", field_line);
        /* The terminator is outside the field length limit: reserve it directly. */
        rc = reserve(r, s.used, 1);
        if (rc)
            return dbot_diag_set(diag, rc, "line %zu: %s", s.line, dbot_strerror(rc));
        r->buf[s.used++] = '\0';
        offs[n++] = s.field_off;

        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        r->p += eol_len(r->p, r->end);
        break;
    }

    for (size_t i = 0; i < n; i++)
        r->fields[i] = r->buf + offs[i];
    r->n_fields = n;
    r->row++;
    return 0;
}

int csv_next_row(struct csv_reader *r, struct dbot_diag *diag)
{
    /* Move r->line past the record returned last time (see the top of this file). */
    if (r->n_fields > 0) {
        size_t lines = 1;
        for (size_t i = 0; i < r->n_fields; i++)
            lines += count_eols(r->fields[i], strlen(r->fields[i]));
        r->line += lines;
        r->n_fields = 0;
    }

    for (;;) {
        if (r->p >= r->end)
            return 1;
        size_t e = eol_len(r->p, r->end);
        if (!e)
            break;
        r->p += e;
        r->line++;
    }

    int rc = read_row(r, diag);
    if (rc) {
        r->p = r->end;
        r->n_fields = 0;
    }
    return rc;
}

/* "-12", "+3.5", "-0.25": an optional sign, digits, an optional fraction. */
static bool plain_number(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9')
        s++;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

size_t csv_field_format(const char *s, char *out, size_t cap)
{
    size_t len = strlen(s), n = 0;
    bool formula = s[0] && strchr("=+-@\t\r", s[0]) && !plain_number(s);
    bool quote = formula || strpbrk(s, ",\"\r\n") ||
                 (len > 0 && (s[0] == ' ' || s[len - 1] == ' '));
#define PUT(ch)                                                                                  \
    do {                                                                                         \
        if (n + 1 < cap)                                                                         \
            out[n] = (ch);                                                                       \
        n++;                                                                                     \
    } while (0)
    if (quote)
        PUT('"');
    if (formula)
        PUT('\'');
    for (const char *p = s; *p; p++) {
        if (quote && *p == '"')
            PUT('"');
        PUT(*p);
    }
    if (quote)
        PUT('"');
#undef PUT
    if (cap > 0)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}
