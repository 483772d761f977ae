/*
 * adhoc.c — XEP-0050 ad-hoc commands over XEP-0004 forms (adhoc.h).
 *
 * One request, one answer, no state kept between them: "execute" (or a <command/> without a
 * form) answers with the empty form and status "executing"; a submitted form with a required
 * field left empty answers with the same form, the values given so far, <required/> on the
 * required fields and a note naming the missing ones; a complete form goes to the engine and
 * the command is "completed" with the engine's answer as its note. "cancel" is "canceled".
 * Titles and labels come from the messages files through the handler's label().
 */
#include "chat/xmpp/adhoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/xmpp/session_util.h"
#include "dealerbot/log.h"

#define MOD "xmpp"
#define JID_MAX 3072
#define ANSWER_NOTE_MAX 16384 /* bytes of the engine's answer put into the note */

static const char *label(const struct chat_handler *h, const char *key, const char *jid)
{
    const char *l = h->label ? h->label(key, jid, h->arg) : NULL;
    return l ? l : key;
}

static const struct chat_form_spec *spec_of(const char *node)
{
    for (size_t i = 0; node && i < chat_forms_count; i++)
        if (strcmp(chat_forms[i].command, node) == 0)
            return &chat_forms[i];
    return NULL;
}

/* The submitted value of field `name` (NULL when absent), and whether it is blank. */
static const char *field_value(const struct stanza *st, const char *name)
{
    for (size_t i = 0; i < st->n_fields; i++)
        if (strcmp(st->fields[i].var, name) == 0)
            return st->fields[i].value;
    return NULL;
}

static bool blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* <iq type='result' to=FROM id=ID> opened. */
static void iq_result_start(struct xml_buf *xb, const struct stanza *st)
{
    xml_buf_reset(xb);
    xml_elem_start(xb, "iq");
    xml_attr(xb, "type", "result");
    xml_attr(xb, "to", st->from);
    xml_attr(xb, "id", st->id);
}

static void feature(struct xml_buf *xb, const char *var)
{
    xml_elem_start(xb, "feature");
    xml_attr(xb, "var", var);
    xml_elem_end(xb);
}

static void identity(struct xml_buf *xb, const char *category, const char *type,
                     const char *name)
{
    xml_elem_start(xb, "identity");
    xml_attr(xb, "category", category);
    xml_attr(xb, "type", type);
    xml_attr(xb, "name", name);
    xml_elem_end(xb);
}

static int disco_info(const struct stanza *st, const char *bare, const struct chat_handler *h,
                      struct xml_buf *xb)
{
    const struct chat_form_spec *spec = spec_of(st->node);
    if (st->node && !spec && strcmp(st->node, XMLNS_COMMANDS) != 0)
        return xml_build_iq_error(xb, st->id, st->from, "cancel", "item-not-found");
    iq_result_start(xb, st);
    xml_elem_start(xb, "query");
    xml_attr(xb, "xmlns", XMLNS_DISCO_INFO);
    xml_attr(xb, "node", st->node);
    if (!st->node) {
        identity(xb, "client", "bot", "dealerbot");
        feature(xb, XMLNS_DISCO_INFO);
        feature(xb, XMLNS_DISCO_ITEMS);
        feature(xb, XMLNS_COMMANDS);
        feature(xb, XMLNS_DATA);
        feature(xb, XMLNS_PING);
    } else if (!spec) {
        identity(xb, "automation", "command-list", NULL);
    } else {
        char key[32];
        snprintf(key, sizeof key, "form_%s", spec->command);
        identity(xb, "automation", "command-node", label(h, key, bare));
        feature(xb, XMLNS_COMMANDS);
        feature(xb, XMLNS_DATA);
    }
    xml_elem_end(xb);
    xml_elem_end(xb);
    return xml_finish(xb);
}

static int disco_items(const struct stanza *st, const char *self_full, const char *bare,
                       const struct chat_handler *h, struct xml_buf *xb)
{
    iq_result_start(xb, st);
    xml_elem_start(xb, "query");
    xml_attr(xb, "xmlns", XMLNS_DISCO_ITEMS);
    xml_attr(xb, "node", st->node);
    if (st->node && strcmp(st->node, XMLNS_COMMANDS) == 0) {
        for (size_t i = 0; i < chat_forms_count; i++) {
            char key[32];
            snprintf(key, sizeof key, "form_%s", chat_forms[i].command);
            xml_elem_start(xb, "item");
            xml_attr(xb, "jid", self_full);
            xml_attr(xb, "node", chat_forms[i].command);
            xml_attr(xb, "name", label(h, key, bare));
            xml_elem_end(xb);
        }
    }
    xml_elem_end(xb);
    xml_elem_end(xb);
    return xml_finish(xb);
}

/* <command xmlns=… node= sessionid= status=> opened. */
static void command_start(struct xml_buf *xb, const struct stanza *st, const char *status)
{
    char sid[96];
    if (st->cmd_sessionid && strlen(st->cmd_sessionid) < sizeof sid)
        snprintf(sid, sizeof sid, "%s", st->cmd_sessionid);
    else
        snprintf(sid, sizeof sid, "%s-%.60s", st->node, st->id);
    xml_elem_start(xb, "command");
    xml_attr(xb, "xmlns", XMLNS_COMMANDS);
    xml_attr(xb, "node", st->node);
    xml_attr(xb, "sessionid", sid);
    xml_attr(xb, "status", status);
}

static void note(struct xml_buf *xb, const char *type, const char *text)
{
    xml_elem_start(xb, "note");
    xml_attr(xb, "type", type);
    xml_text(xb, text);
    xml_elem_end(xb);
}

/* Writes the values of a (possibly multi-line) field, one <value> per line. */
static void values(struct xml_buf *xb, const char *v, bool multiline)
{
    while (v && *v) {
        size_t n = multiline ? strcspn(v, "\n") : strlen(v);
        char *line = strndup(v, n);
        if (!line) {
            xml_text(xb, NULL);
            return;
        }
        xml_elem_text(xb, "value", line);
        free(line);
        v += n;
        if (*v == '\n')
            v++;
    }
}

/* The form of `spec`: empty, or (missing != NULL) with the submitted values, every
 * required field marked and a note naming those left empty. */
static int form(const struct stanza *st, const char *bare, const struct chat_handler *h,
                const struct chat_form_spec *spec, bool refill, struct xml_buf *xb)
{
    char key[32], missing[1024] = "";
    size_t ml = 0;
    if (refill)
        for (size_t i = 0; i < spec->n_fields; i++) {
            const struct chat_form_field *f = &spec->fields[i];
            if (!f->required || !blank(field_value(st, f->name)))
                continue;
            snprintf(key, sizeof key, "field_%s", f->name);
            int n = snprintf(missing + ml, sizeof missing - ml, "%s%s", ml ? "; " : "",
                             label(h, key, bare));
            if (n > 0 && (size_t)n < sizeof missing - ml)
                ml += (size_t)n;
        }
    iq_result_start(xb, st);
    command_start(xb, st, "executing");
    xml_elem_start(xb, "actions");
    xml_attr(xb, "execute", "complete");
    xml_elem_start(xb, "complete");
    xml_elem_end(xb);
    xml_elem_end(xb);
    if (ml) {
        char text[1200];
        snprintf(text, sizeof text, "%s %s", label(h, "form_missing", bare), missing);
        note(xb, "error", text);
    }
    xml_elem_start(xb, "x");
    xml_attr(xb, "xmlns", XMLNS_DATA);
    xml_attr(xb, "type", "form");
    snprintf(key, sizeof key, "form_%s", spec->command);
    xml_elem_text(xb, "title", label(h, key, bare));
    for (size_t i = 0; i < spec->n_fields; i++) {
        const struct chat_form_field *f = &spec->fields[i];
        snprintf(key, sizeof key, "field_%s", f->name);
        xml_elem_start(xb, "field");
        xml_attr(xb, "var", f->name);
        xml_attr(xb, "type", f->multiline ? "text-multi" : "text-single");
        xml_attr(xb, "label", label(h, key, bare));
        if (f->required) {
            xml_elem_start(xb, "required");
            xml_elem_end(xb);
        }
        if (refill)
            values(xb, field_value(st, f->name), f->multiline);
        xml_elem_end(xb);
    }
    xml_elem_end(xb); /* x */
    xml_elem_end(xb); /* command */
    xml_elem_end(xb); /* iq */
    return xml_finish(xb);
}

static int completed(const struct stanza *st, const char *status, const char *type,
                     const char *text, struct xml_buf *xb)
{
    iq_result_start(xb, st);
    command_start(xb, st, status);
    if (text)
        note(xb, type, text);
    xml_elem_end(xb);
    xml_elem_end(xb);
    return xml_finish(xb);
}

static int command(const struct stanza *st, const char *bare, const struct chat_handler *h,
                   struct xml_buf *xb)
{
    const struct chat_form_spec *spec = spec_of(st->node);
    if (!spec)
        return xml_build_iq_error(xb, st->id, st->from, "cancel", "item-not-found");
    const char *action = st->cmd_action ? st->cmd_action : "execute";
    if (strcmp(action, "cancel") == 0 || (st->form_type && strcmp(st->form_type, "cancel") == 0))
        return completed(st, "canceled", NULL, NULL, xb);
    bool submitted = st->has_form && st->form_type && strcmp(st->form_type, "submit") == 0;
    if (!submitted)
        return form(st, bare, h, spec, false, xb);
    for (size_t i = 0; i < spec->n_fields; i++)
        if (spec->fields[i].required && blank(field_value(st, spec->fields[i].name)))
            return form(st, bare, h, spec, true, xb);

    const char *names[STANZA_MAX_FIELDS], *vals[STANZA_MAX_FIELDS];
    size_t n = 0;
    for (size_t i = 0; i < spec->n_fields && n < STANZA_MAX_FIELDS; i++) {
        names[n] = spec->fields[i].name;
        vals[n++] = field_value(st, spec->fields[i].name);
    }
    struct chat_form f = {.sender = bare, .command = spec->command, .names = names,
                          .values = vals, .n_fields = n};
    char *answer = NULL;
    int err = h->on_form(&f, &answer, h->arg);
    if (err) {
        free(answer);
        return xml_build_iq_error(xb, st->id, st->from, "wait", "internal-server-error");
    }
    if (answer && strlen(answer) > ANSWER_NOTE_MAX) {
        size_t cut = ANSWER_NOTE_MAX;
        while (cut > 0 && ((unsigned char)answer[cut] & 0xC0) == 0x80)
            cut--;
        answer[cut] = '\0';
    }
    err = completed(st, "completed", "info", answer ? answer : "", xb);
    free(answer);
    return err;
}

bool xs_adhoc_handle(const struct stanza *st, const char *self_full,
                     const struct chat_handler *h, struct xml_buf *xb, xs_emit_fn emit,
                     void *arg)
{
    if (!h->on_form || st->kind != STANZA_IQ || !st->from || !st->id)
        return false;
    bool get = st->type == STYPE_GET, set = st->type == STYPE_SET;
    bool ours = (get && (st->payload == PAYLOAD_DISCO_INFO ||
                         st->payload == PAYLOAD_DISCO_ITEMS)) ||
                (set && st->payload == PAYLOAD_COMMAND);
    if (!ours)
        return false;
    /* only what is addressed to the bot itself (not a room's disco, not the server's) */
    char self_bare[JID_MAX];
    if (!self_full || xs_jid_bare(self_full, self_bare, sizeof self_bare) != 0 ||
        (st->to && !xs_jid_bare_eq(st->to, self_bare)))
        return false;
    char bare[JID_MAX];
    if (xs_jid_bare(st->from, bare, sizeof bare) != 0 || !strchr(bare, '@'))
        return false;
    int rc;
    if (st->payload == PAYLOAD_DISCO_INFO)
        rc = disco_info(st, bare, h, xb);
    else if (st->payload == PAYLOAD_DISCO_ITEMS)
        rc = disco_items(st, self_full, bare, h, xb);
    else {
        log_info(MOD, "ad-hoc command %s (%s) from %s", st->node ? st->node : "-",
                 st->cmd_action ? st->cmd_action : "execute", bare);
        rc = command(st, bare, h, xb);
    }
    if (rc == 0)
        emit(arg);
    else
        log_error(MOD, "cannot build the ad-hoc answer for %s: %s", bare, dbot_strerror(rc));
    return true;
}
