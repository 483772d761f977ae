/*
 * import.h — loading the brand's directory from the CSV files that Excel exports
 * (`dealerbot dealers import FILE`, `dealerbot people import FILE`).
 *
 * An import is all-or-nothing: the whole file (at most 64 MiB) is read and parsed, every row
 * is validated, and only then are all rows upserted in ONE store transaction. A bad row, a
 * duplicate key or a store failure leaves the database exactly as it was, and the diag is one
 * line naming the file by its base name and the row (the header being row 1), e.g.
 * "people.csv: row 7: role: must be agent or manager for a dealer".
 *
 * Files:
 *   dealers  header `code,name,region,sales_volume[,timezone[,calendar]]`
 *   people   header `jid,dealer,role,name,language`; dealer `brand` for brand staff; the first
 *            column may be named `chat_id` instead: a platform user id (DingTalk's userid)
 *   rooms    header `room,address` (see import_rooms)
 *   penalties header `code,violation,points[,standard[,how_to_avoid]]` (the catalogue)
 * Header names are matched case-insensitively after trimming spaces; the columns must come
 * in this order and there must be no others. Every data row has as many fields as the header.
 * Rows whose fields are all empty (what Excel writes for an empty sheet row) are skipped.
 * A dealer's timezone, when given, must be a compiled zone under /usr/share/zoneinfo (or
 * $TZDIR), and its calendar one of the configuration's `calendars`. A person's dealer must
 * already be in the store (its code is matched case-insensitively and stored as the store
 * spells it).
 *
 * Main thread only (it uses the store). Must be called outside a transaction.
 */
#ifndef DEALERBOT_IMPORT_H
#define DEALERBOT_IMPORT_H

#include <stddef.h>

#include "dealerbot/config.h"
#include "dealerbot/error.h"
#include "dealerbot/store.h"

#define IMPORT_FILE_MAX ((size_t)64 * 1024 * 1024)

/* Imports dealers from the CSV file at `path`. Borrows cfg, which says which calendars a
 * row may name (NULL: none). Returns 0 with *count = rows upserted, or DBOT_ERR_INVALID (bad
 * content, an unknown calendar), DBOT_ERR_NOTFOUND (no such file), DBOT_ERR_IO,
 * DBOT_ERR_TOOBIG (over IMPORT_FILE_MAX), DBOT_ERR_NOMEM or DBOT_ERR_DB, with diag. */
int import_dealers(struct store *st, const struct config *cfg, const char *path, size_t *count,
                   struct dbot_diag *diag);

/* Imports people likewise; an unknown dealer is DBOT_ERR_INVALID naming the row. */
int import_people(struct store *st, const char *path, size_t *count, struct dbot_diag *diag);

/* Imports where rooms live on the chat platform likewise: header `room,address`; room is
 * staff, underperformers, a dealer code of the store or a room name, address the group's
 * platform id (DingTalk: openConversationId). A group named twice ends with the later row. */
int import_rooms(struct store *st, const struct config *cfg, const char *path, size_t *count,
                 struct dbot_diag *diag);

/* Imports the penalty catalogue likewise (upsert by code). */
int import_penalties(struct store *st, const char *path, size_t *count,
                     struct dbot_diag *diag);

#endif
