/*
 * store_int.h — private to src/store/: the struct store and the statement cache.
 *
 * Statements are identified by an enum; each is prepared the first time it is used and kept
 * until store_close(). store__stmt() returns it reset and with bindings cleared, ready to bind.
 */
#ifndef DEALERBOT_STORE_INT_H
#define DEALERBOT_STORE_INT_H

#include <sqlite3.h>

#include "dealerbot/store.h"

/* The column list every complaint SELECT uses, in the order store__complaint_row() reads. */
#define STORE_COMPLAINT_COLUMNS                                                              \
    "id, external_id, dealer_code, category, priority, policy, customer_name,"              \
    " customer_phone, summary, details, received_at, created_at, updated_at, state,"         \
    " owner_jid, ack_due, solution_due, close_due, ack_at, solution_at, closed_at,"          \
    " eta, solution, cause, fix, prevent, report_at, reopened, rejected,"                   \
    " satisfaction, satisfaction_comment, satisfaction_at"

enum store_sql {
    SQL_BEGIN,
    SQL_COMMIT,
    SQL_ROLLBACK,
    SQL_SAVEPOINT,
    SQL_RELEASE,
    SQL_ROLLBACK_TO,
    SQL_DEALER_UPSERT,
    SQL_DEALER_GET,
    SQL_DEALER_EACH,
    SQL_DEALER_COUNT,
    SQL_PERSON_UPSERT,
    SQL_PERSON_GET,
    SQL_PERSON_EACH_ALL,
    SQL_PERSON_EACH_BRAND,
    SQL_PERSON_EACH_DEALER,
    SQL_COMPLAINT_BY_EXTERNAL,
    SQL_COMPLAINT_INSERT,
    SQL_COMPLAINT_GET,
    SQL_COMPLAINT_TERMS_SET,
    SQL_COMPLAINT_TERMS_GET,
    SQL_COMPLAINT_CHANGE,
    SQL_COMPLAINT_OPEN,
    SQL_DIALOGUE_GET,
    SQL_DIALOGUE_PUT,
    SQL_DIALOGUE_DELETE,
    SQL_OUTBOX_FIND,
    SQL_SLA_ADD,
    SQL_SLA_CANCEL,
    SQL_SLA_NEXT,
    SQL_SLA_DUE,
    SQL_SLA_FIRE,
    SQL_SLA_OVERDUE,
    SQL_SLA_REVIVE,
    SQL_SLA_HOLD,
    SQL_SLA_UNHOLD,
    SQL_SLA_HELD,
    SQL_SLA_EACH,
    SQL_PENALTY_RULE_UPSERT,
    SQL_PENALTY_RULE_GET,
    SQL_PENALTY_RULE_EACH,
    SQL_PENALTY_ADD,
    SQL_PENALTY_EACH,
    SQL_PENALTY_TOTAL,
    SQL_SATISFACTION_SET,
    SQL_CATEGORY_COUNT,
    SQL_CATEGORY_COUNT_DEALER,
    SQL_CATEGORY_IDS,
    SQL_CATEGORY_IDS_DEALER,
    SQL_BATCH_LAST,
    SQL_BATCH_ADD,
    SQL_BC_ADD,
    SQL_BC_GET,
    SQL_BC_SENT,
    SQL_BC_NEXT,
    SQL_BC_DUE,
    SQL_BC_DONE_REMIND,
    SQL_BC_DONE_REPORT,
    SQL_BC_RCPT_ADD,
    SQL_BC_RCPT_READ,
    SQL_BC_RCPT_IS,
    SQL_BC_RCPT_EACH,
    SQL_BC_RCPT_REMINDED,
    SQL_UNDER_ALL,
    SQL_UNDER_PUT,
    SQL_UNDER_DELETE,
    SQL_UNDER_LOG,
    SQL_UNDER_EACH,
    SQL_UNDER_CHANGES,
    SQL_UNDER_EVALUATED,
    SQL_UNDER_LAST_SLOT,
    SQL_UNDER_LAST_EVAL,
    SQL_DEALERS_REGION,
    SQL_COMPLAINT_LIST,
    SQL_TIMELINE_ADD,
    SQL_TIMELINE_EACH,
    SQL_OUTBOX_ADD,
    SQL_OUTBOX_PENDING,
    SQL_OUTBOX_DELIVERED,
    SQL_OUTBOX_ATTEMPTED,
    SQL_OUTBOX_COUNT,
    SQL_OUTBOX_ROWID,
    SQL_INBOX_RECORD,
    SQL_INBOX_PRUNE,
    SQL_INBOX_HAS,
    SQL_DIRECTORY_VERSION,
    SQL_ROOM_ADDR_FREE,
    SQL_ROOM_ADDR_SET,
    SQL_ROOM_ADDR_GET,
    SQL_ROOM_ADDR_EACH,
    SQL_DIRECTORY_CHANGES,
    SQL_SCORECARD_BEGIN,
    SQL_SCORECARD_ROWS,
    SQL_SCORECARD_PENALTIES,
    SQL_PENALTY_GET,
    SQL_PENALTY_APPEAL,
    SQL_PENALTY_DECIDE,
    SQL_PENALTY_HISTORY_ADD,
    SQL_PENALTY_HISTORY_EACH,
    SQL_REWARD_ADD,
    SQL_REWARD_EACH,
    SQL_REWARD_TOTAL,
    SQL_REWARD_FIND,
    SQL_SCORECARD_REWARDS,
    SQL_MONTHLY_COUNT,
    SQL_MONTHLY_HAS,
    SQL_MONTHLY_ADD,
    SQL__COUNT
};

struct store {
    sqlite3 *db;
    char *path;
    int depth; /* > 0 while a transaction opened by store_begin() is open */
    bool reader;        /* opened by store_open_reader(): read only */
    bool scorecard_fn;  /* dbot_scorecard_add() is registered on db (scorecards.c) */
    sqlite3_stmt *stmts[SQL__COUNT];
};

/* The cached statement for `id`, reset and unbound; NULL on a prepare failure (logged). */
sqlite3_stmt *store__stmt(struct store *st, enum store_sql id);

/* Translates a SQLite result code into DBOT_ERR_* and logs the native detail once. */
int store__err(struct store *st, int rc, const char *what);
/* Runs statement `id` (with `key` bound to ?1 unless NULL) and reads the int64 in column 0
 * of its first row: 0 and *out, DBOT_ERR_NOTFOUND when there is no row, or the error. */
int store__one_int64(struct store *st, enum store_sql id, const char *key, const char *what,
                     int64_t *out);

/* Binds text or NULL. */
int store__bind_text(sqlite3_stmt *s, int idx, const char *v);

/* A heap copy of column `col` as text, or NULL when the column is NULL. Sets *oom on
 * allocation failure. */
char *store__col_dup(sqlite3_stmt *s, int col, int *oom);

/* Reads a row selected with STORE_COMPLAINT_COLUMNS into *out (heap copies). */
int store__complaint_row(sqlite3_stmt *s, struct complaint *out);

/* Runs `fn` under a transaction unless one is open already: begin, and on the way out commit
 * (when rc == 0) or roll back. */
int store__auto_begin(struct store *st, int *opened);
int store__auto_end(struct store *st, int opened, int rc);

#endif
