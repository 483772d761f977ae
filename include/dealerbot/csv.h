/*
 * csv.h — a pure RFC 4180 reader for the directory files that Excel writes: UTF-8 with or
 * without a BOM, quoted fields with "" escapes and embedded newlines, CRLF or LF line ends,
 * a final line with or without a line end. Bytes in, rows out; no I/O.
 *
 * Usage: csv_reader_init() over a buffer the caller keeps alive, then csv_next_row() until it
 * returns 1 (end). Each row's fields are valid until the next call or csv_reader_cleanup().
 */
#ifndef DEALERBOT_CSV_H
#define DEALERBOT_CSV_H

#include <stddef.h>

#include "dealerbot/error.h"

#define CSV_MAX_FIELDS 32
#define CSV_MAX_FIELD_LEN 4096

struct csv_reader {
    const char *p;        /* cursor */
    const char *end;
    size_t line;          /* physical line number where the current row started (1-based) */
    size_t row;           /* record number, the header being row 1 */
    char *buf;            /* decoded field storage for the current row */
    size_t buf_cap;
    const char *fields[CSV_MAX_FIELDS];
    size_t n_fields;
};

/* Starts reading data[0..len). A leading UTF-8 BOM is skipped. */
void csv_reader_init(struct csv_reader *r, const char *data, size_t len);

/* Reads the next record. Returns 0 with r->fields/r->n_fields set, 1 at the end of input, or
 * DBOT_ERR_INVALID with diag "line N: unterminated quoted field" / "line N: more than 32
 * fields" / "line N: field longer than 4096 bytes" / "line N: text after closing quote" /
 * "line N: not valid UTF-8". Blank lines are skipped. */
int csv_next_row(struct csv_reader *r, struct dbot_diag *diag);

void csv_reader_cleanup(struct csv_reader *r);

#endif
