/*
 * fuzz_stanza.c — libFuzzer target for the XMPP frame parser (every byte the server sends goes
 * through stanza_parse()), with the writer and base64 checked against it.
 *
 * Besides "no crash, no sanitizer report, no leak", it checks the parser's promises:
 *  - on success every string is valid UTF-8 without NUL, counts stay within their bounds, an
 *    iq has an id and a get/set/result/error type, an <a/> has h, kinds and types are in range;
 *  - on failure the code is INVALID/TOOBIG/NOMEM and the diag is one non-empty line;
 *  - the size limit holds: the same bytes with a limit one byte smaller are TOOBIG;
 *  - writer round trip: any body/id/from the parser returns can be rebuilt into a message that
 *    parses back to exactly the same text (the parser only returns XML-legal characters, so the
 *    writer must neither fail nor alter them);
 *  - base64: SASL data that decodes re-encodes to the identical text (one canonical form).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The fuzz targets are not given src/ as an include directory (tests/CMakeLists.txt), and the
 * XMPP headers are module-private under src/chat/xmpp/, so they are reached relative to here. */
#include "../../src/chat/xmpp/base64.h"
#include "../../src/chat/xmpp/stanza.h"
#include "../../src/chat/xmpp/xml.h"
#include "dealerbot/utf8.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_str(const char *s)
{
    if (s)
        check(utf8_valid(s, strlen(s)));
}

static void check_strings(const struct stanza *st)
{
    const char *strings[] = {
        st->type_raw, st->from, st->to, st->id, st->lang, st->error_type, st->condition,
        st->text, st->body, st->subject, st->delay_stamp, st->origin_id, st->muc_jid,
        st->muc_affiliation, st->muc_role, st->muc_nick, st->invite_from, st->bind_jid,
        st->mechanisms_text, st->sasl_data, st->sm_id,
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        check_str(strings[i]);
    check(st->n_sids <= STANZA_MAX_IDS);
    for (size_t i = 0; i < st->n_sids; i++) {
        check(st->sids[i].id && st->sids[i].by);
        check_str(st->sids[i].id);
        check_str(st->sids[i].by);
    }
    check(st->n_items == 0 || st->items);
    for (size_t i = 0; i < st->n_items; i++) {
        check_str(st->items[i].jid);
        check_str(st->items[i].affiliation);
        check_str(st->items[i].role);
        check_str(st->items[i].nick);
    }
    check(st->n_muc_status <= STANZA_MAX_STATUS);
    for (size_t i = 0; i < st->n_muc_status; i++)
        check(st->muc_status[i] >= 100 && st->muc_status[i] <= 999);
}

static void check_rules(const struct stanza *st)
{
    check(st->kind >= STANZA_UNKNOWN && st->kind <= STANZA_SM_REQUEST);
    check(st->type >= STYPE_NONE && st->type <= STYPE_OTHER);
    if (st->kind == STANZA_IQ) {
        check(st->id && *st->id);
        check(st->type >= STYPE_GET && st->type <= STYPE_ERROR);
    }
    if (st->kind == STANZA_MESSAGE)
        check(st->type == STYPE_ERROR || (st->type >= STYPE_NORMAL && st->type <= STYPE_HEADLINE));
    if (st->kind == STANZA_SM_ACK || st->kind == STANZA_SM_RESUMED)
        check(st->has_h);
    if (st->kind != STANZA_PRESENCE)
        check(!st->muc_jid); /* the trust rule: real JIDs only from presence */
    if (st->has_subject)
        check(st->subject != NULL);
    if (st->mechanisms)
        check(st->features & FEATURE_SASL);
}

/* Rebuilds a message from what the parser returned and checks it parses back identically. */
static void check_writer_roundtrip(const struct stanza *st)
{
    if (st->kind != STANZA_MESSAGE || !st->body)
        return;
    const char *to = st->from && *st->from ? st->from : "room@conference.localhost";
    const char *id = st->id && *st->id ? st->id : "fuzz-id";
    struct xml_buf b;
    xml_buf_init(&b, 0, 0);
    int rc = xml_build_message(&b, XML_MSG_GROUPCHAT, to, id, st->body);
    if (rc == DBOT_ERR_TOOBIG || rc == DBOT_ERR_NOMEM) {
        xml_buf_cleanup(&b);
        return;
    }
    check(rc == 0);
    struct stanza back;
    struct dbot_diag d;
    rc = stanza_parse(xml_buf_data(&b), xml_buf_len(&b), 0, &back, &d);
    if (rc == DBOT_ERR_TOOBIG || rc == DBOT_ERR_NOMEM) {
        xml_buf_cleanup(&b);
        return;
    }
    check(rc == 0);
    check(back.kind == STANZA_MESSAGE && back.type == STYPE_GROUPCHAT);
    check(back.body && strcmp(back.body, st->body) == 0);
    check(back.to && strcmp(back.to, to) == 0);
    check(back.id && strcmp(back.id, id) == 0);
    check(back.origin_id && strcmp(back.origin_id, id) == 0);
    stanza_cleanup(&back);
    xml_buf_cleanup(&b);
}

static void check_base64(const char *text)
{
    if (!text)
        return;
    unsigned char *raw = NULL;
    size_t n = 0;
    if (base64_decode(text, strlen(text), &raw, &n) != 0)
        return;
    char *again = NULL;
    check(base64_encode(raw, n, &again, NULL) == 0);
    check(strcmp(again, text) == 0);
    free(again);
    free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stanza st;
    struct dbot_diag diag = {{0}};
    int rc = stanza_parse((const char *)data, size, 0, &st, &diag);
    if (rc == 0) {
        check_strings(&st);
        check_rules(&st);
        check_writer_roundtrip(&st);
        check_base64(st.sasl_data);
        stanza_cleanup(&st);
        if (size > 1) {
            struct stanza small;
            check(stanza_parse((const char *)data, size, size - 1, &small, &diag) ==
                  DBOT_ERR_TOOBIG);
        }
    } else {
        check(rc == DBOT_ERR_INVALID || rc == DBOT_ERR_TOOBIG || rc == DBOT_ERR_NOMEM);
        check(diag.msg[0] != '\0' && !strchr(diag.msg, '\n'));
    }
    /* Every input is also a candidate base64 text. */
    if (size < 4096) {
        char *text = malloc(size + 1);
        if (text) {
            memcpy(text, data, size);
            text[size] = '\0';
            check_base64(text);
            free(text);
        }
    }
    return 0;
}
