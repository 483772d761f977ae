/*
 * fuzz_intake.c — libFuzzer target for the intake JSON validator: any bytes must give either a
 * complete intake or one error line, never a crash, a leak or an unterminated message.
 */
#include <stdint.h>
#include <string.h>

#include "dealerbot/complaint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct intake in = {0};
    enum intake_fault fault;
    struct dbot_diag diag = {0};
    int rc = intake_parse_json((const char *)data, size, &in, &fault, &diag);
    if (rc == 0) {
        /* A success is complete: every required field is there and within its limit. */
        if (!in.external_id || !in.dealer || !in.category || !in.customer_name ||
            !in.customer_phone || !in.summary || fault != INTAKE_FAULT_NONE)
            __builtin_trap();
        intake_cleanup(&in);
    } else if (memchr(diag.msg, '\0', sizeof diag.msg) == NULL || diag.msg[0] == '\0' ||
               strchr(diag.msg, '\n') != NULL) {
        __builtin_trap();
    }
    return 0;
}
