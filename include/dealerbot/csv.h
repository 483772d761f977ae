/*
 * csv.h — a pure RFC 4180 reader for the directory files that Excel writes: UTF-8 with or
 * without a BOM, quoted fields with "" escapes and embedded newlines, CRLF or LF line ends,
 * a final line with or without a line end. Bytes in, rows out; no I/O.
 *
 * Usage: csv_reader_init() over a buffer the caller keeps alive, then csv_next_row() until it
 * returns 1 (end). Each row's fields are valid until the next call or csv_reader_cleanup().
 *
 * The writing side is one function, csv_field_format(): every CSV cell the project writes goes
 * through it, so quoting and formula neutralisation are done the same way everywhere.
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

/*
 * Formats the NUL-terminated s as one CSV cell (RFC 4180) into out[0..cap), NUL-terminated, the
 * way snprintf does: returns the length the whole cell needs (without the NUL), so a return
 * >= cap means it was cut and the caller retries with a buffer of that size + 1.
 *
 * The cell is quoted ("" for a quote inside) when it holds a comma, a quote or a line break,
 * or begins or ends with a space (which Excel would drop). A cell that a spreadsheet would run
 * as a formula — one that begins with =, +, -, @, a tab or a CR — is neutralised as OWASP
 * recommends for CSV export: a single quote goes before it and the cell is quoted, so Excel
 * and LibreOffice show the text as it is. A plain decimal number ("-12", "-0.5") is left
 * alone: it cannot run, and a quote would make it text.
 */
size_t csv_field_format(const char *s, char *out, size_t cap);

#endif
