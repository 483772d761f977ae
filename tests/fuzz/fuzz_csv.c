/*
 * fuzz_csv.c — libFuzzer target for the CSV reader and the directory row validators behind
 * it (the path every byte of an imported file takes before the store).
 *
 * Besides "no crash, no sanitizer report, no leak", it checks the reader's promises on every
 * row: 1..32 fields, each at most 4096 bytes of valid UTF-8 with no NUL, row numbers counting
 * up by one, line numbers never going back, and an error ending the input for good.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/csv.h"
#include "dealerbot/directory.h"
#include "dealerbot/utf8.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void try_validators(const struct csv_reader *r)
{
    const char *f[6];
    for (size_t i = 0; i < 6; i++)
        f[i] = i < r->n_fields ? r->fields[i] : "";

    struct dealer d;
    struct dbot_diag diag;
    if (dealer_from_fields(f[0], f[1], f[2], f[3], f[4], f[5], &d, &diag) == 0) {
        check(d.code && d.name && d.region && strlen(d.code) <= DEALER_CODE_MAX);
        check(d.sales_volume >= -1);
        if (d.timezone)
            check(!strstr(d.timezone, "..") && d.timezone[0] != '/');
        dealer_cleanup(&d);
    } else {
        check(diag.msg[0] != '\0' && !strchr(diag.msg, '\n'));
    }

    struct person p;
    if (person_from_fields(f[0], f[1], f[2], f[3], f[4], &p, &diag) == 0) {
        check(p.jid && strchr(p.jid, '@') && p.name && p.language);
        for (const char *s = p.jid; *s; s++)
            check(!(*s >= 'A' && *s <= 'Z'));
        check((unsigned)p.role <= ROLE_ADMIN);
        person_cleanup(&p);
    } else {
        check(diag.msg[0] != '\0' && !strchr(diag.msg, '\n'));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv_reader r;
    struct dbot_diag diag;
    size_t last_line = 1, rows = 0;
    int rc;

    csv_reader_init(&r, (const char *)data, size);
    while ((rc = csv_next_row(&r, &diag)) == 0) {
        rows++;
        check(r.row == rows);
        check(r.line >= last_line);
        last_line = r.line;
        check(r.n_fields >= 1 && r.n_fields <= CSV_MAX_FIELDS);
        for (size_t i = 0; i < r.n_fields; i++) {
            size_t len = strlen(r.fields[i]);
            check(len <= CSV_MAX_FIELD_LEN);
            check(utf8_valid(r.fields[i], len));
        }
        try_validators(&r);
    }
    if (rc != 1) {
        check(rc == DBOT_ERR_INVALID || rc == DBOT_ERR_NOMEM);
        check(strncmp(diag.msg, "line ", 5) == 0 && !strchr(diag.msg, '\n'));
        check(csv_next_row(&r, &diag) == 1);
    }
    csv_reader_cleanup(&r);
    return 0;
}
