/*
 * db.c — opening the database, the statement cache, transactions, migrations and backups.
 *
 * The schema is a list of migrations; PRAGMA user_version holds how many have been applied.
 * A migration never changes once released: a new schema is a new entry at the end, and the
 * store tests migrate a file from every older version to the head with data in it.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dealerbot/log.h"

static const char *const migrations[] = {
    /* 1: the directory, complaints and their audit trail. */
    "CREATE TABLE dealers ("
    "  code TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,"
    "  name TEXT NOT NULL,"
    "  region TEXT NOT NULL DEFAULT '',"
    "  sales_volume INTEGER,"           /* NULL: unknown */
    "  timezone TEXT,"                  /* NULL: the configured default */
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE people ("
    "  jid TEXT PRIMARY KEY,"
    "  dealer_code TEXT REFERENCES dealers(code),"   /* NULL: brand staff */
    "  role TEXT NOT NULL CHECK (role IN ('agent','manager','supervisor','admin')),"
    "  name TEXT NOT NULL,"
    "  language TEXT NOT NULL DEFAULT 'zh-CN',"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX people_dealer ON people(dealer_code);"
    "CREATE TABLE complaints ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  external_id TEXT UNIQUE,"
    "  dealer_code TEXT NOT NULL REFERENCES dealers(code),"
    "  category TEXT NOT NULL,"
    "  priority TEXT NOT NULL CHECK (priority IN ('normal','urgent','vip')),"
    "  policy TEXT NOT NULL,"
    "  customer_name TEXT NOT NULL,"
    "  customer_phone TEXT NOT NULL,"
    "  summary TEXT NOT NULL,"
    "  details TEXT,"
    "  received_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  owner_jid TEXT,"
    "  ack_due INTEGER NOT NULL,"
    "  solution_due INTEGER NOT NULL,"
    "  close_due INTEGER NOT NULL,"
    "  ack_at INTEGER,"
    "  solution_at INTEGER,"
    "  closed_at INTEGER);"
    "CREATE INDEX complaints_dealer_state ON complaints(dealer_code, state);"
    "CREATE TABLE timeline ("
    "  id INTEGER PRIMARY KEY,"
    "  complaint_id INTEGER NOT NULL REFERENCES complaints(id),"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  detail TEXT,"
    "  message_id TEXT);"
    "CREATE INDEX timeline_complaint ON timeline(complaint_id, id);",

    /* 2: delivery — the outbox of chat messages, the inbox of seen platform message ids, and
     * the index that finds open complaints by state and deadline. */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  created_at INTEGER NOT NULL,"
    "  complaint_id INTEGER REFERENCES complaints(id),"
    "  channel TEXT NOT NULL CHECK (channel IN ('group','direct')),"
    "  target TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  stanza_id TEXT NOT NULL UNIQUE,"
    "  state TEXT NOT NULL DEFAULT 'pending'"
    "    CHECK (state IN ('pending','sent','delivered','failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  sent_at INTEGER,"
    "  delivered_at INTEGER);"
    "CREATE INDEX outbox_state ON outbox(state, id);"
    "CREATE TABLE inbox ("
    "  platform_id TEXT PRIMARY KEY,"
    "  received_at INTEGER NOT NULL);"
    "CREATE INDEX complaints_state_due ON complaints(state, close_due);",

    /* 3: the lifecycle in chat — what each step records on the complaint, the kind of each
     * outbox message (a delivered "card" notifies its complaint), and the guided /close
     * dialogues, kept here so that they survive a restart. */
    "ALTER TABLE complaints ADD COLUMN eta TEXT;"
    "ALTER TABLE complaints ADD COLUMN solution TEXT;"
    "ALTER TABLE complaints ADD COLUMN cause TEXT;"
    "ALTER TABLE complaints ADD COLUMN fix TEXT;"
    "ALTER TABLE complaints ADD COLUMN prevent TEXT;"
    "ALTER TABLE complaints ADD COLUMN report_at INTEGER;"
    "ALTER TABLE complaints ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE complaints ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'reply';"
    "CREATE TABLE dialogues ("
    "  jid TEXT PRIMARY KEY,"
    "  complaint_id INTEGER NOT NULL REFERENCES complaints(id),"
    "  cause TEXT,"
    "  fix TEXT,"
    "  prevent TEXT,"
    "  started_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);",

    /* 4: the SLA engine — every reminder, breach and escalation of a complaint planned at
     * intake (snapshotted), found by its due time, fired once; the penalty catalogue and each
     * dealer's ledger; a dealer's business calendar. */
    "ALTER TABLE dealers ADD COLUMN calendar TEXT;"
    "CREATE TABLE sla_events ("
    "  id INTEGER PRIMARY KEY,"
    "  complaint_id INTEGER NOT NULL REFERENCES complaints(id),"
    "  milestone TEXT NOT NULL CHECK (milestone IN ('ack','solution','close')),"
    "  kind TEXT NOT NULL CHECK (kind IN ('remind','breach','escalate')),"
    "  level INTEGER NOT NULL,"
    "  due_at INTEGER NOT NULL,"
    "  notify TEXT NOT NULL DEFAULT '',"
    "  state TEXT NOT NULL DEFAULT 'pending'"
    "    CHECK (state IN ('pending','fired','cancelled')),"
    "  fired_at INTEGER,"
    "  late INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX sla_events_due ON sla_events(due_at) WHERE state = 'pending';"
    "CREATE INDEX sla_events_complaint ON sla_events(complaint_id, milestone);"
    "CREATE TABLE penalty_rules ("
    "  code TEXT PRIMARY KEY COLLATE NOCASE,"
    "  violation TEXT NOT NULL,"
    "  points INTEGER NOT NULL,"
    "  standard TEXT NOT NULL DEFAULT '',"
    "  how_to_avoid TEXT NOT NULL DEFAULT '',"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE penalties ("
    "  id INTEGER PRIMARY KEY,"
    "  dealer_code TEXT NOT NULL REFERENCES dealers(code),"
    "  code TEXT NOT NULL,"
    "  points INTEGER NOT NULL,"
    "  complaint_id INTEGER REFERENCES complaints(id),"
    "  note TEXT,"
    "  actor TEXT NOT NULL,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX penalties_dealer ON penalties(dealer_code COLLATE NOCASE, at);",

    /* 5: the network programme — the return visit's score on the complaint, what finds
     * complaints of one category in a window (batch warnings), and the warnings given. */
    "ALTER TABLE complaints ADD COLUMN satisfaction INTEGER;"
    "ALTER TABLE complaints ADD COLUMN satisfaction_comment TEXT;"
    "ALTER TABLE complaints ADD COLUMN satisfaction_at INTEGER;"
    "CREATE INDEX complaints_category ON complaints(category, received_at);"
    "CREATE INDEX complaints_dealer_received ON complaints(dealer_code, received_at);"
    "CREATE TABLE batch_warnings ("
    "  id INTEGER PRIMARY KEY,"
    "  scope TEXT NOT NULL,"               /* a dealer code, or '*' for the whole network */
    "  category TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  count INTEGER NOT NULL);"
    "CREATE INDEX batch_warnings_scope ON batch_warnings(scope, category, at);",

    /* 6: broadcasts to the network with read confirmation, and the underperformers list they
     * can be addressed to. A recipient row per person: the room message that reached them
     * (its outbox id gives "delivered"), and when they confirmed reading. */
    "CREATE TABLE broadcasts ("
    "  id INTEGER PRIMARY KEY,"
    "  audience TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  require_read INTEGER NOT NULL DEFAULT 0,"
    "  created_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  send_at INTEGER NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled','sent')),"
    "  sent_at INTEGER,"
    "  remind_at INTEGER,"
    "  report_at INTEGER);"
    "CREATE INDEX broadcasts_send ON broadcasts(send_at) WHERE state = 'scheduled';"
    "CREATE INDEX broadcasts_remind ON broadcasts(remind_at) WHERE remind_at IS NOT NULL;"
    "CREATE INDEX broadcasts_report ON broadcasts(report_at) WHERE report_at IS NOT NULL;"
    "CREATE TABLE broadcast_recipients ("
    "  broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),"
    "  jid TEXT NOT NULL,"
    "  dealer_code TEXT,"
    "  stanza_id TEXT,"
    "  read_at INTEGER,"
    "  reminded_at INTEGER,"
    "  PRIMARY KEY (broadcast_id, jid));"
    "CREATE TABLE underperformers ("
    "  dealer_code TEXT PRIMARY KEY REFERENCES dealers(code),"
    "  since INTEGER NOT NULL,"
    "  reasons TEXT NOT NULL DEFAULT '',"
    "  pinned TEXT CHECK (pinned IN ('in','out')),"
    "  under_since INTEGER);"
    "CREATE TABLE underperformer_changes ("
    "  id INTEGER PRIMARY KEY,"
    "  dealer_code TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  change TEXT NOT NULL,"
    "  reasons TEXT NOT NULL DEFAULT '',"
    "  actor TEXT NOT NULL);",

    /* 7: batch warnings count one dealer's complaints of one category without a scan */
    "CREATE INDEX complaints_category_dealer ON complaints(category, dealer_code, received_at);",

    /* 8: a dealer's people are looked up in any case (reminders, escalations, room sync): the
     * index must use the same collation or every look-up scans the table */
    "CREATE INDEX people_dealer_nocase ON people(dealer_code COLLATE NOCASE);",

    /* 9: every evaluation of the underperformers group with what it did; a scheduled one
     * names the daily evaluate_at slot it was for, so that a restart neither repeats a day's
     * evaluation nor skips one missed while the bot was down */
    "CREATE TABLE underperformer_evaluations ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  slot INTEGER,"
    "  entered INTEGER NOT NULL,"
    "  left INTEGER NOT NULL,"
    "  listed INTEGER NOT NULL);"
    "CREATE INDEX underperformer_evaluations_slot ON underperformer_evaluations(slot);",

    /* 10: the scorecards read a window's complaints from an index that holds every column
     * they sum, in received_at order: a third of the bytes of the table's rows, and no
     * search for the window's id range first */
    "CREATE INDEX complaints_window ON complaints(received_at, dealer_code, state, ack_due,"
    " ack_at, solution_due, solution_at, close_due, closed_at, reopened, rejected,"
    " satisfaction);",

    /* 11: the SLA terms a complaint was filed under (policy durations, reminder offsets, the
     * escalation ladder; sla_terms_format()), so that planning its clock again on a reopen
     * never takes a config edited since. NULL on complaints filed before: those are planned
     * again from the config as it is, as they were until now. */
    "ALTER TABLE complaints ADD COLUMN sla_terms TEXT;",

    /* 12: an SLA event whose firing failed (a row it cannot use) is held back for a while
     * and tried again later, so that it does not hold up every event due after it */
    "CREATE TABLE sla_holds ("
    "  event_id INTEGER PRIMARY KEY REFERENCES sla_events(id),"
    "  until INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL,"
    "  error TEXT NOT NULL);",

    /* 13: which rooms the directory changed, for a daemon that runs while another process
     * (dealers/people import) or the API writes the directory. Triggers bump a version per
     * scope — the dealer whose room changed, or 'brand' when brand staff changed (they are in
     * every room) — on whatever writes the tables, so no writer can forget it. A reader keeps
     * the highest version it has acted on: max(version) on the index tells it cheaply whether
     * anything changed, and the rows above it say what. One row per scope: no growth. */
    "CREATE TABLE directory_changes ("
    "  scope TEXT PRIMARY KEY COLLATE NOCASE,"
    "  version INTEGER NOT NULL);"
    "CREATE INDEX directory_changes_version ON directory_changes(version);"
    "CREATE TRIGGER directory_dealer_added AFTER INSERT ON dealers BEGIN"
    "  INSERT INTO directory_changes (scope, version) VALUES (NEW.code,"
    "   (SELECT coalesce(max(version), 0) + 1 FROM directory_changes))"
    "   ON CONFLICT(scope) DO UPDATE SET version = excluded.version;"
    " END;"
    "CREATE TRIGGER directory_dealer_renamed AFTER UPDATE OF name ON dealers"
    " WHEN OLD.name IS NOT NEW.name BEGIN"
    "  INSERT INTO directory_changes (scope, version) VALUES (NEW.code,"
    "   (SELECT coalesce(max(version), 0) + 1 FROM directory_changes))"
    "   ON CONFLICT(scope) DO UPDATE SET version = excluded.version;"
    " END;"
    "CREATE TRIGGER directory_person_added AFTER INSERT ON people BEGIN"
    "  INSERT INTO directory_changes (scope, version)"
    "   VALUES (coalesce(NEW.dealer_code, 'brand'),"
    "   (SELECT coalesce(max(version), 0) + 1 FROM directory_changes))"
    "   ON CONFLICT(scope) DO UPDATE SET version = excluded.version;"
    " END;"
    "CREATE TRIGGER directory_person_moved AFTER UPDATE OF jid, dealer_code ON people"
    " WHEN OLD.jid IS NOT NEW.jid OR OLD.dealer_code IS NOT NEW.dealer_code BEGIN"
    "  INSERT INTO directory_changes (scope, version)"
    "   VALUES (coalesce(OLD.dealer_code, 'brand'),"
    "   (SELECT coalesce(max(version), 0) + 1 FROM directory_changes))"
    "   ON CONFLICT(scope) DO UPDATE SET version = excluded.version;"
    "  INSERT INTO directory_changes (scope, version)"
    "   VALUES (coalesce(NEW.dealer_code, 'brand'),"
    "   (SELECT coalesce(max(version), 0) + 1 FROM directory_changes))"
    "   ON CONFLICT(scope) DO UPDATE SET version = excluded.version;"
    " END;"
    "CREATE TRIGGER directory_person_removed AFTER DELETE ON people BEGIN"
    "  INSERT INTO directory_changes (scope, version)"
    "   VALUES (coalesce(OLD.dealer_code, 'brand'),"
    "   (SELECT coalesce(max(version), 0) + 1 FROM directory_changes))"
    "   ON CONFLICT(scope) DO UPDATE SET version = excluded.version;"
    " END;",

    /* 14: the inbox of seen message ids is pruned by age (a platform delivers a message again
     * within minutes — a resumed stream, a rejoin — not weeks later) */
    "CREATE INDEX inbox_received ON inbox(received_at);",

    /* 15: the CHECKs that list three or more values become OR chains. SQLite (3.40) tests
     * `x IN ('a','b','c')` by building a temporary b-tree of the list each time a statement
     * runs (two values it compares directly), so every SLA event inserted built three of
     * them: two thirds of an intake's CPU. Same constraints, same rows, nothing rewritten on
     * disk: only the schema text changes, the way SQLite documents for editing a CHECK
     * (writable_schema, inside this migration's transaction); then this connection reads the
     * schema again (RESET) and a table made and dropped bumps the schema version, so that
     * every other connection reads it again too. */
    "PRAGMA writable_schema = ON;"
    "UPDATE sqlite_schema SET sql ="
    " replace(replace(replace(replace(replace(replace(sql,"
    "  'CHECK (role IN (''agent'',''manager'',''supervisor'',''admin''))',"
    "  'CHECK (role = ''agent'' OR role = ''manager'' OR role = ''supervisor'''"
    "   || ' OR role = ''admin'')'),"
    "  'CHECK (priority IN (''normal'',''urgent'',''vip''))',"
    "  'CHECK (priority = ''normal'' OR priority = ''urgent'' OR priority = ''vip'')'),"
    "  'CHECK (state IN (''pending'',''sent'',''delivered'',''failed''))',"
    "  'CHECK (state = ''pending'' OR state = ''sent'' OR state = ''delivered'''"
    "   || ' OR state = ''failed'')'),"
    "  'CHECK (milestone IN (''ack'',''solution'',''close''))',"
    "  'CHECK (milestone = ''ack'' OR milestone = ''solution'' OR milestone = ''close'')'),"
    "  'CHECK (kind IN (''remind'',''breach'',''escalate''))',"
    "  'CHECK (kind = ''remind'' OR kind = ''breach'' OR kind = ''escalate'')'),"
    "  'CHECK (state IN (''pending'',''fired'',''cancelled''))',"
    "  'CHECK (state = ''pending'' OR state = ''fired'' OR state = ''cancelled'')')"
    " WHERE type = 'table' AND name IN ('people', 'complaints', 'outbox', 'sla_events');"
    "PRAGMA writable_schema = RESET;"
    "CREATE TABLE schema_bump (x);"
    "DROP TABLE schema_bump;",

    /* 16: where a room lives on a platform that cannot name rooms itself (DingTalk: the
     * group's openConversationId), from `dealerbot rooms import` or `bind` in the group. A
     * group is one room's at most. A change is a directory change of every room ('brand'),
     * so a running daemon picks it up like the other imports. */
    "CREATE TABLE room_addresses ("
    "  room TEXT PRIMARY KEY COLLATE NOCASE,"
    "  address TEXT NOT NULL UNIQUE,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TRIGGER directory_room_mapped AFTER INSERT ON room_addresses BEGIN"
    "  INSERT INTO directory_changes (scope, version) VALUES ('brand',"
    "   (SELECT coalesce(max(version), 0) + 1 FROM directory_changes))"
    "   ON CONFLICT(scope) DO UPDATE SET version = excluded.version;"
    " END;"
    "CREATE TRIGGER directory_room_remapped AFTER UPDATE OF address ON room_addresses"
    " WHEN OLD.address IS NOT NEW.address BEGIN"
    "  INSERT INTO directory_changes (scope, version) VALUES ('brand',"
    "   (SELECT coalesce(max(version), 0) + 1 FROM directory_changes))"
    "   ON CONFLICT(scope) DO UPDATE SET version = excluded.version;"
    " END;"
    "CREATE TRIGGER directory_room_unmapped AFTER DELETE ON room_addresses BEGIN"
    "  INSERT INTO directory_changes (scope, version) VALUES ('brand',"
    "   (SELECT coalesce(max(version), 0) + 1 FROM directory_changes))"
    "   ON CONFLICT(scope) DO UPDATE SET version = excluded.version;"
    " END;",

    /* 17: appeals and rewards — a ledger entry is standing, under appeal, upheld or waived
     * (a waived entry stops counting but stays); who appealed and decided with their words; every appeal,
     * decision and refusal on an entry in its history. */
    "ALTER TABLE penalties ADD COLUMN state TEXT NOT NULL DEFAULT 'standing'"
    "  CHECK (state = 'standing' OR state = 'appealed' OR state = 'upheld'"
    "   OR state = 'waived');"
    "ALTER TABLE penalties ADD COLUMN appeal_reason TEXT;"
    "ALTER TABLE penalties ADD COLUMN appealed_by TEXT;"
    "ALTER TABLE penalties ADD COLUMN appealed_at INTEGER;"
    "ALTER TABLE penalties ADD COLUMN decision_note TEXT;"
    "ALTER TABLE penalties ADD COLUMN decided_by TEXT;"
    "ALTER TABLE penalties ADD COLUMN decided_at INTEGER;"
    "CREATE INDEX penalties_state ON penalties(state) WHERE state = 'appealed';"
    "CREATE TABLE penalty_history ("
    "  id INTEGER PRIMARY KEY,"
    "  penalty_id INTEGER NOT NULL REFERENCES penalties(id),"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  detail TEXT);"
    "CREATE INDEX penalty_history_penalty ON penalty_history(penalty_id, id);"
    /* and rewards beside the penalties: a commendation by brand staff, or an automatic one
     * (a complaint closed right first time, a return-visit score of 5) */
    "CREATE TABLE rewards ("
    "  id INTEGER PRIMARY KEY,"
    "  dealer_code TEXT NOT NULL REFERENCES dealers(code),"
    "  kind TEXT NOT NULL,"
    "  points INTEGER NOT NULL,"
    "  complaint_id INTEGER REFERENCES complaints(id),"
    "  note TEXT,"
    "  actor TEXT NOT NULL,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX rewards_dealer ON rewards(dealer_code COLLATE NOCASE, at);"
    "CREATE INDEX rewards_at ON rewards(at);"
    /* and the monthly dealer report, recorded per month ("YYYY-MM", the month reported on)
     * so that a restart never sends it twice and one missed while the bot was down is sent
     * once, late; `sent` 0 marks the month a new database starts after */
    "CREATE TABLE monthly_reports ("
    "  month TEXT PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  sent INTEGER NOT NULL,"
    "  late INTEGER NOT NULL DEFAULT 0);",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static const char *const sql_text[SQL__COUNT] = {
    [SQL_BEGIN] = "BEGIN IMMEDIATE",
    [SQL_COMMIT] = "COMMIT",
    [SQL_ROLLBACK] = "ROLLBACK",
    [SQL_SAVEPOINT] = "SAVEPOINT one",
    [SQL_RELEASE] = "RELEASE one",
    [SQL_ROLLBACK_TO] = "ROLLBACK TO one",
    [SQL_DEALER_UPSERT] =
        "INSERT INTO dealers (code, name, region, sales_volume, timezone, calendar, created_at,"
        " updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?6, ?6)"
        " ON CONFLICT(code) DO UPDATE SET name = excluded.name, region = excluded.region,"
        " sales_volume = excluded.sales_volume, timezone = excluded.timezone,"
        " calendar = excluded.calendar, updated_at = excluded.updated_at",
    [SQL_DEALER_GET] =
        "SELECT code, name, region, sales_volume, timezone, calendar FROM dealers"
        " WHERE code = ?1",
    [SQL_DEALER_EACH] =
        "SELECT code, name, region, sales_volume, timezone, calendar FROM dealers ORDER BY code",
    [SQL_DEALER_COUNT] = "SELECT count(*) FROM dealers",
    [SQL_PERSON_UPSERT] =
        "INSERT INTO people (jid, dealer_code, role, name, language, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT(jid) DO UPDATE SET dealer_code = excluded.dealer_code,"
        " role = excluded.role, name = excluded.name, language = excluded.language,"
        " updated_at = excluded.updated_at",
    [SQL_PERSON_GET] =
        "SELECT jid, dealer_code, role, name, language FROM people WHERE jid = ?1",
    [SQL_PERSON_EACH_ALL] =
        "SELECT jid, dealer_code, role, name, language FROM people"
        " ORDER BY dealer_code IS NOT NULL, dealer_code, jid",
    [SQL_PERSON_EACH_BRAND] =
        "SELECT jid, dealer_code, role, name, language FROM people"
        " WHERE dealer_code IS NULL ORDER BY jid",
    [SQL_PERSON_EACH_DEALER] =
        "SELECT jid, dealer_code, role, name, language FROM people"
        " WHERE dealer_code = ?1 COLLATE NOCASE ORDER BY jid",
    [SQL_COMPLAINT_BY_EXTERNAL] = "SELECT id FROM complaints WHERE external_id = ?1",
    [SQL_COMPLAINT_INSERT] =
        "INSERT INTO complaints (external_id, dealer_code, category, priority, policy,"
        " customer_name, customer_phone, summary, details, received_at, created_at,"
        " updated_at, state, ack_due, solution_due, close_due)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, 'new', ?12, ?13, ?14)",
    [SQL_COMPLAINT_GET] = "SELECT " STORE_COMPLAINT_COLUMNS " FROM complaints WHERE id = ?1",
    [SQL_COMPLAINT_TERMS_SET] = "UPDATE complaints SET sla_terms = ?2 WHERE id = ?1",
    [SQL_COMPLAINT_TERMS_GET] = "SELECT sla_terms FROM complaints WHERE id = ?1",
    [SQL_COMPLAINT_CHANGE] =
        "UPDATE complaints SET state = ?3, updated_at = ?4,"
        " owner_jid = COALESCE(?5, owner_jid), eta = COALESCE(?6, eta),"
        " solution = COALESCE(?7, solution), cause = COALESCE(?8, cause),"
        " fix = COALESCE(?9, fix), prevent = COALESCE(?10, prevent),"
        " ack_at = COALESCE(?11, ack_at), solution_at = COALESCE(?12, solution_at),"
        " report_at = COALESCE(?13, report_at),"
        " closed_at = CASE WHEN ?14 THEN NULL ELSE COALESCE(?15, closed_at) END,"
        " close_due = COALESCE(?16, close_due),"
        " reopened = reopened + ?17, rejected = rejected + ?18"
        " WHERE id = ?1 AND state = ?2",
    [SQL_COMPLAINT_OPEN] =
        "SELECT " STORE_COMPLAINT_COLUMNS " FROM complaints"
        " WHERE state NOT IN ('closed','cancelled')"
        " AND (?1 IS NULL OR dealer_code = ?1 COLLATE NOCASE)"
        " ORDER BY CASE WHEN state IN ('new','notified') THEN ack_due"
        "  WHEN state = 'acknowledged' THEN solution_due ELSE close_due END, id LIMIT ?2",
    [SQL_DIALOGUE_GET] =
        "SELECT complaint_id, cause, fix, prevent FROM dialogues WHERE jid = ?1",
    [SQL_DIALOGUE_PUT] =
        "INSERT INTO dialogues (jid, complaint_id, cause, fix, prevent, started_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
        " ON CONFLICT(jid) DO UPDATE SET complaint_id = excluded.complaint_id,"
        " cause = excluded.cause, fix = excluded.fix, prevent = excluded.prevent,"
        " updated_at = excluded.updated_at,"
        " started_at = CASE WHEN dialogues.complaint_id = excluded.complaint_id"
        "   THEN dialogues.started_at ELSE excluded.started_at END",
    [SQL_DIALOGUE_DELETE] = "DELETE FROM dialogues WHERE jid = ?1",
    [SQL_OUTBOX_FIND] = "SELECT complaint_id, kind FROM outbox WHERE stanza_id = ?1",
    [SQL_SLA_ADD] =
        "INSERT INTO sla_events (complaint_id, milestone, kind, level, due_at, notify)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_SLA_CANCEL] =
        "UPDATE sla_events SET state = 'cancelled', fired_at = ?3"
        " WHERE complaint_id = ?1 AND state = 'pending'"
        " AND ((?2 & 1 AND milestone = 'ack') OR (?2 & 2 AND milestone = 'solution')"
        "  OR (?2 & 4 AND milestone = 'close'))",
    /* the earliest pending event not held back, or the end of the earliest hold (CROSS JOIN:
     * the few holds drive the join, not the millions of pending events) */
    [SQL_SLA_NEXT] =
        "SELECT min(t) FROM (SELECT (SELECT due_at FROM sla_events WHERE state = 'pending'"
        " AND id NOT IN (SELECT event_id FROM sla_holds) ORDER BY due_at LIMIT 1) AS t"
        " UNION ALL SELECT min(h.until) FROM sla_holds h CROSS JOIN sla_events e"
        " ON e.id = h.event_id AND e.state = 'pending')",
    [SQL_SLA_DUE] =
        "SELECT id, complaint_id, milestone, kind, level, due_at, notify FROM sla_events"
        " WHERE state = 'pending' AND due_at <= ?1"
        " AND id NOT IN (SELECT event_id FROM sla_holds WHERE until > ?1)"
        " ORDER BY due_at, id LIMIT ?2",
    /* held for 1 min after the first failure, doubling up to an hour */
    [SQL_SLA_HOLD] =
        "INSERT INTO sla_holds (event_id, until, attempts, error) VALUES (?1, ?2 + 60, 1, ?3)"
        " ON CONFLICT(event_id) DO UPDATE SET attempts = attempts + 1,"
        " until = ?2 + min(3600, 60 << min(attempts, 6)), error = excluded.error",
    [SQL_SLA_UNHOLD] = "DELETE FROM sla_holds WHERE event_id = ?1",
    [SQL_SLA_HELD] = "SELECT count(*) FROM sla_holds h CROSS JOIN sla_events e"
                     " ON e.id = h.event_id AND e.state = 'pending'",
    [SQL_SLA_FIRE] =
        "UPDATE sla_events SET state = ?3, fired_at = ?2, late = ?4"
        " WHERE id = ?1 AND state = 'pending'",
    [SQL_SLA_OVERDUE] =
        "SELECT count(*), min(due_at) FROM sla_events WHERE state = 'pending' AND due_at < ?1",
    [SQL_SLA_REVIVE] =
        "UPDATE sla_events SET state = 'pending', fired_at = NULL, late = 0"
        " WHERE id = ?1 AND state = 'cancelled'",
    [SQL_SLA_EACH] =
        "SELECT id, complaint_id, milestone, kind, level, due_at, notify, state, fired_at, late"
        " FROM sla_events WHERE complaint_id = ?1 ORDER BY due_at, id",
    [SQL_PENALTY_RULE_UPSERT] =
        "INSERT INTO penalty_rules (code, violation, points, standard, how_to_avoid, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT(code) DO UPDATE SET violation = excluded.violation,"
        " points = excluded.points, standard = excluded.standard,"
        " how_to_avoid = excluded.how_to_avoid, updated_at = excluded.updated_at",
    [SQL_PENALTY_RULE_GET] =
        "SELECT code, violation, points, standard, how_to_avoid FROM penalty_rules"
        " WHERE code = ?1",
    [SQL_PENALTY_RULE_EACH] =
        "SELECT code, violation, points, standard, how_to_avoid FROM penalty_rules ORDER BY code",
    [SQL_PENALTY_ADD] =
        "INSERT INTO penalties (dealer_code, code, points, complaint_id, note, actor, at)"
        " VALUES ((SELECT code FROM dealers WHERE code = ?1), ?2, ?3, ?4, ?5, ?6, ?7)",
    [SQL_PENALTY_EACH] =
        "SELECT id, dealer_code, code, points, complaint_id, note, actor, at, state FROM penalties"
        " WHERE (?1 IS NULL OR dealer_code = ?1 COLLATE NOCASE) AND at >= ?2"
        " AND (?4 IS NULL OR state = ?4)"
        " ORDER BY at, id LIMIT ?3",
    [SQL_SATISFACTION_SET] =
        "UPDATE complaints SET satisfaction = ?2, satisfaction_comment = ?3,"
        " satisfaction_at = ?4, updated_at = ?4 WHERE id = ?1",
    /* one statement per scope, so that each uses its index to the full (an "?3 IS NULL OR"
     * would make the dealer's count scan the whole category) */
    [SQL_CATEGORY_COUNT] =
        "SELECT count(*) FROM (SELECT 1 FROM complaints WHERE category = ?1"
        " AND received_at >= ?2 LIMIT ?4)",
    [SQL_CATEGORY_COUNT_DEALER] =
        "SELECT count(*) FROM (SELECT 1 FROM complaints WHERE category = ?1"
        " AND dealer_code = ?3 AND received_at >= ?2 LIMIT ?4)",
    [SQL_CATEGORY_IDS] =
        "SELECT id FROM complaints WHERE category = ?1 AND received_at >= ?2"
        " ORDER BY id DESC LIMIT ?4",
    [SQL_CATEGORY_IDS_DEALER] =
        "SELECT id FROM complaints WHERE category = ?1 AND dealer_code = ?3"
        " AND received_at >= ?2 ORDER BY id DESC LIMIT ?4",
    [SQL_BATCH_LAST] =
        "SELECT max(at) FROM batch_warnings WHERE scope = ?1 AND category = ?2",
    [SQL_BATCH_ADD] =
        "INSERT INTO batch_warnings (scope, category, at, count) VALUES (?1, ?2, ?3, ?4)",
    [SQL_BC_ADD] =
        "INSERT INTO broadcasts (audience, kind, text, require_read, created_by, created_at,"
        " send_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [SQL_BC_GET] =
        "SELECT id, audience, kind, text, require_read, created_by, created_at, send_at, state,"
        " sent_at, remind_at, report_at FROM broadcasts WHERE id = ?1",
    [SQL_BC_SENT] =
        "UPDATE broadcasts SET state = 'sent', sent_at = ?2, remind_at = ?3, report_at = ?4"
        " WHERE id = ?1 AND state = 'scheduled'",
    [SQL_BC_NEXT] =
        "SELECT min(t) FROM ("
        " SELECT min(send_at) AS t FROM broadcasts WHERE state = 'scheduled'"
        " UNION ALL SELECT min(remind_at) FROM broadcasts WHERE remind_at IS NOT NULL"
        " UNION ALL SELECT min(report_at) FROM broadcasts WHERE report_at IS NOT NULL)",
    [SQL_BC_DUE] =
        "SELECT id, CASE WHEN state = 'scheduled' AND send_at <= ?1 THEN 'send'"
        " WHEN remind_at IS NOT NULL AND remind_at <= ?1 THEN 'remind' ELSE 'report' END"
        " FROM broadcasts WHERE (state = 'scheduled' AND send_at <= ?1)"
        " OR (remind_at IS NOT NULL AND remind_at <= ?1)"
        " OR (report_at IS NOT NULL AND report_at <= ?1) ORDER BY id LIMIT ?2",
    [SQL_BC_DONE_REMIND] = "UPDATE broadcasts SET remind_at = NULL WHERE id = ?1",
    [SQL_BC_DONE_REPORT] = "UPDATE broadcasts SET report_at = NULL WHERE id = ?1",
    [SQL_BC_RCPT_ADD] =
        "INSERT OR IGNORE INTO broadcast_recipients (broadcast_id, jid, dealer_code, stanza_id)"
        " VALUES (?1, ?2, ?3, ?4)",
    [SQL_BC_RCPT_READ] =
        "UPDATE broadcast_recipients SET read_at = ?3"
        " WHERE broadcast_id = ?1 AND jid = ?2 AND read_at IS NULL",
    [SQL_BC_RCPT_IS] =
        "SELECT 1 FROM broadcast_recipients WHERE broadcast_id = ?1 AND jid = ?2",
    [SQL_BC_RCPT_EACH] =
        "SELECT r.jid, r.dealer_code, o.delivered_at, r.read_at, r.reminded_at"
        " FROM broadcast_recipients r LEFT JOIN outbox o ON o.stanza_id = r.stanza_id"
        " WHERE r.broadcast_id = ?1 AND (?2 = 0 OR r.read_at IS NULL) ORDER BY r.jid",
    [SQL_BC_RCPT_REMINDED] =
        "UPDATE broadcast_recipients SET reminded_at = ?3 WHERE broadcast_id = ?1 AND jid = ?2",
    [SQL_UNDER_ALL] =
        "SELECT dealer_code, since, reasons, pinned, under_since FROM underperformers"
        " ORDER BY dealer_code",
    [SQL_UNDER_PUT] =
        "INSERT INTO underperformers (dealer_code, since, reasons, pinned, under_since)"
        " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(dealer_code) DO UPDATE SET"
        " since = excluded.since, reasons = excluded.reasons, pinned = excluded.pinned,"
        " under_since = excluded.under_since",
    [SQL_UNDER_DELETE] = "DELETE FROM underperformers WHERE dealer_code = ?1",
    [SQL_UNDER_LOG] =
        "INSERT INTO underperformer_changes (dealer_code, at, change, reasons, actor)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [SQL_UNDER_CHANGES] =
        "SELECT id, dealer_code, at, change, reasons, actor FROM underperformer_changes"
        " ORDER BY id DESC LIMIT ?1",
    [SQL_UNDER_EVALUATED] =
        "INSERT INTO underperformer_evaluations (at, actor, slot, entered, left, listed)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_UNDER_LAST_SLOT] = "SELECT max(slot) FROM underperformer_evaluations",
    [SQL_UNDER_LAST_EVAL] =
        "SELECT at, actor FROM underperformer_evaluations ORDER BY id DESC LIMIT 1",
    [SQL_UNDER_EACH] =
        "SELECT dealer_code, since, reasons, pinned FROM underperformers"
        " WHERE since > 0 AND pinned IS NOT 'out' ORDER BY dealer_code",
    [SQL_DEALERS_REGION] =
        "SELECT code FROM dealers WHERE region = ?1 COLLATE NOCASE ORDER BY code",
    [SQL_PENALTY_TOTAL] =
        "SELECT coalesce(sum(points), 0) FROM penalties"
        " WHERE dealer_code = ?1 COLLATE NOCASE AND at >= ?2 AND state <> 'waived'",
    [SQL_COMPLAINT_LIST] =
        "SELECT " STORE_COMPLAINT_COLUMNS " FROM complaints"
        " WHERE (?1 IS NULL OR dealer_code = ?1 COLLATE NOCASE)"
        " AND (?2 IS NULL OR state = ?2)"
        " AND (?3 = 0"
        "  OR (state IN ('new','notified') AND ack_due < ?4)"
        "  OR (state IN ('new','notified','acknowledged') AND solution_due < ?4)"
        "  OR (state NOT IN ('closed','cancelled') AND close_due < ?4))"
        " ORDER BY id LIMIT ?5",
    [SQL_TIMELINE_ADD] =
        "INSERT INTO timeline (complaint_id, at, actor, kind, detail, message_id)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_TIMELINE_EACH] =
        "SELECT id, complaint_id, at, actor, kind, detail, message_id FROM timeline"
        " WHERE complaint_id = ?1 ORDER BY id",
    [SQL_OUTBOX_ADD] =
        "INSERT INTO outbox (created_at, complaint_id, channel, target, body, kind, stanza_id)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'dbot-' || lower(hex(randomblob(8))))"
        " RETURNING stanza_id",
    [SQL_OUTBOX_PENDING] =
        "SELECT id, complaint_id, channel, target, body, stanza_id, attempts FROM outbox"
        " WHERE state IN ('pending','sent') AND id > ?1 ORDER BY id LIMIT ?2",
    [SQL_OUTBOX_DELIVERED] =
        "UPDATE outbox SET state = 'delivered', delivered_at = ?2"
        " WHERE stanza_id = ?1 AND state <> 'delivered'",
    [SQL_OUTBOX_ATTEMPTED] =
        "UPDATE outbox SET attempts = attempts + 1, sent_at = ?2,"
        " state = CASE state WHEN 'delivered' THEN 'delivered' ELSE 'sent' END WHERE id = ?1",
    [SQL_OUTBOX_COUNT] =
        "SELECT count(*) FILTER (WHERE state <> 'delivered'),"
        " count(*) FILTER (WHERE state = 'delivered') FROM outbox",
    [SQL_OUTBOX_ROWID] =
        "SELECT id FROM outbox WHERE stanza_id = ?1 AND state IN ('pending','sent')",
    [SQL_INBOX_RECORD] = "INSERT OR IGNORE INTO inbox (platform_id, received_at) VALUES (?1, ?2)",
    [SQL_INBOX_HAS] = "SELECT 1 FROM inbox WHERE platform_id = ?1",
    [SQL_INBOX_PRUNE] =
        "DELETE FROM inbox WHERE rowid IN"
        " (SELECT rowid FROM inbox WHERE received_at < ?1 ORDER BY received_at LIMIT ?2)",
    [SQL_DIRECTORY_VERSION] = "SELECT coalesce(max(version), 0) FROM directory_changes",
    /* rooms.c */
    [SQL_ROOM_ADDR_FREE] = "DELETE FROM room_addresses WHERE address = ?1 AND room <> ?2",
    [SQL_ROOM_ADDR_SET] =
        "INSERT INTO room_addresses (room, address, updated_at) VALUES (?1, ?2, ?3)"
        " ON CONFLICT(room) DO UPDATE SET address = excluded.address,"
        " updated_at = excluded.updated_at WHERE address IS NOT excluded.address",
    [SQL_ROOM_ADDR_GET] = "SELECT address FROM room_addresses WHERE room = ?1",
    [SQL_ROOM_ADDR_EACH] = "SELECT room, address FROM room_addresses ORDER BY room",
    [SQL_DIRECTORY_CHANGES] =
        "SELECT scope, version FROM directory_changes WHERE version > ?1"
        " ORDER BY version LIMIT ?2",
    /* scorecards.c: a read snapshot (ended with SQL_COMMIT); the window's rows [?1, ?2),
     * read from the covering complaints_window index and summed by scorecards.c's own
     * aggregate function (?3 is its bound struct); the ledger entries of the window. */
    [SQL_SCORECARD_BEGIN] = "BEGIN",
    [SQL_SCORECARD_ROWS] =
        "SELECT dbot_scorecard_add(?3, dealer_code, received_at, ack_due, ack_at,"
        " solution_due, solution_at, close_due, closed_at, reopened, rejected, satisfaction)"
        " FROM complaints INDEXED BY complaints_window"
        " WHERE received_at >= ?1 AND received_at < ?2 AND state <> 'cancelled'",
    [SQL_SCORECARD_PENALTIES] =
        "SELECT dealer_code, points FROM penalties WHERE at >= ?1 AND at < ?2"
        " AND state <> 'waived'",
    [SQL_PENALTY_GET] =
        "SELECT id, dealer_code, code, points, complaint_id, at, state FROM penalties"
        " WHERE id = ?1",
    [SQL_PENALTY_APPEAL] =
        "UPDATE penalties SET state = 'appealed', appeal_reason = ?2, appealed_by = ?3,"
        " appealed_at = ?4 WHERE id = ?1 AND state = 'standing'",
    [SQL_PENALTY_DECIDE] =
        "UPDATE penalties SET state = ?2, decision_note = ?3, decided_by = ?4, decided_at = ?5"
        " WHERE id = ?1 AND (state = 'appealed' OR (?2 = 'waived' AND state = 'standing'))",
    [SQL_PENALTY_HISTORY_ADD] =
        "INSERT INTO penalty_history (penalty_id, at, actor, kind, detail)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [SQL_REWARD_ADD] =
        "INSERT INTO rewards (dealer_code, kind, points, complaint_id, note, actor, at)"
        " VALUES ((SELECT code FROM dealers WHERE code = ?1 COLLATE NOCASE), ?2, ?3, ?4, ?5, ?6,"
        " ?7)",
    [SQL_REWARD_EACH] =
        "SELECT id, dealer_code, kind, points, complaint_id, note, actor, at FROM rewards"
        " WHERE (?1 IS NULL OR dealer_code = ?1 COLLATE NOCASE) AND at >= ?2"
        " ORDER BY at, id LIMIT ?3",
    [SQL_REWARD_TOTAL] =
        "SELECT coalesce(sum(points), 0) FROM rewards WHERE dealer_code = ?1 COLLATE NOCASE"
        " AND at >= ?2",
    [SQL_REWARD_FIND] =
        "SELECT count(*) FROM rewards WHERE complaint_id = ?1 AND kind = ?2",
    [SQL_SCORECARD_REWARDS] =
        "SELECT dealer_code, points FROM rewards WHERE at >= ?1 AND at < ?2",
    [SQL_MONTHLY_COUNT] = "SELECT count(*) FROM monthly_reports",
    [SQL_MONTHLY_HAS] = "SELECT count(*) FROM monthly_reports WHERE month = ?1",
    [SQL_MONTHLY_ADD] =
        "INSERT INTO monthly_reports (month, at, sent, late) VALUES (?1, ?2, ?3, ?4)",
    [SQL_PENALTY_HISTORY_EACH] =
        "SELECT at, actor, kind, detail FROM penalty_history WHERE penalty_id = ?1 ORDER BY id",
};

int store__err(struct store *st, int rc, const char *what)
{
    log_error("store", "%s: %s (sqlite %d)", what, st && st->db ? sqlite3_errmsg(st->db)
                                                                 : sqlite3_errstr(rc), rc);
    if (rc == SQLITE_NOMEM)
        return DBOT_ERR_NOMEM;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return DBOT_ERR_BUSY;
    if (rc == SQLITE_IOERR || rc == SQLITE_FULL || rc == SQLITE_CANTOPEN)
        return DBOT_ERR_IO;
    return DBOT_ERR_DB;
}

sqlite3_stmt *store__stmt(struct store *st, enum store_sql id)
{
    sqlite3_stmt *s = st->stmts[id];
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return s;
    }
    int rc = sqlite3_prepare_v3(st->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        store__err(st, rc, "prepare");
        return NULL;
    }
    st->stmts[id] = s;
    return s;
}

int store__bind_text(sqlite3_stmt *s, int idx, const char *v)
{
    if (!v)
        return sqlite3_bind_null(s, idx);
    return sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT);
}

char *store__col_dup(sqlite3_stmt *s, int col, int *oom)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    if (!t)
        return NULL;
    char *copy = strdup((const char *)t);
    if (!copy)
        *oom = 1;
    return copy;
}

static int exec_simple(struct store *st, enum store_sql id)
{
    sqlite3_stmt *s = store__stmt(st, id);
    if (!s)
        return DBOT_ERR_DB;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store__err(st, rc, sql_text[id]);
    return 0;
}

int store_begin(struct store *st)
{
    if (st->depth > 0)
        return DBOT_ERR_INTERNAL;
    int rc = exec_simple(st, SQL_BEGIN);
    if (rc == 0)
        st->depth = 1;
    return rc;
}

int store_commit(struct store *st)
{
    int rc = exec_simple(st, SQL_COMMIT);
    if (rc == 0)
        st->depth = 0;
    else
        store_rollback(st);
    return rc;
}

void store_rollback(struct store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        exec_simple(st, SQL_ROLLBACK);
    st->depth = 0;
}

int store__one_int64(struct store *st, enum store_sql id, const char *key, const char *what,
                     int64_t *out)
{
    sqlite3_stmt *s = store__stmt(st, id);
    if (!s)
        return DBOT_ERR_DB;
    if (key)
        store__bind_text(s, 1, key);
    int rc = sqlite3_step(s);
    int err = 0;
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_DONE)
        err = DBOT_ERR_NOTFOUND;
    else
        err = store__err(st, rc, what);
    sqlite3_reset(s);
    return err;
}

int store_savepoint(struct store *st)
{
    if (st->depth != 1)
        return DBOT_ERR_INTERNAL;
    int rc = exec_simple(st, SQL_SAVEPOINT);
    if (rc == 0)
        st->depth = 2;
    return rc;
}

int store_savepoint_end(struct store *st, bool keep)
{
    if (st->depth != 2)
        return DBOT_ERR_INTERNAL;
    int rc = keep ? 0 : exec_simple(st, SQL_ROLLBACK_TO);
    if (rc == 0)
        rc = exec_simple(st, SQL_RELEASE);
    if (rc == 0)
        st->depth = 1;
    return rc;
}

bool store_in_transaction(struct store *st)
{
    return st->depth > 0;
}

int store__auto_begin(struct store *st, int *opened)
{
    *opened = 0;
    if (st->depth > 0)
        return 0;
    int rc = store_begin(st);
    if (rc == 0)
        *opened = 1;
    return rc;
}

int store__auto_end(struct store *st, int opened, int rc)
{
    if (!opened)
        return rc;
    if (rc == 0)
        return store_commit(st);
    store_rollback(st);
    return rc;
}

static int exec_script(struct store *st, const char *sql, struct dbot_diag *diag)
{
    char *msg = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        dbot_diag_set(diag, 0, "%s: %s", st->path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return store__err(st, rc, "exec");
    }
    return 0;
}

int store_schema_head(void)
{
    return N_MIGRATIONS;
}

int store_schema_version(struct store *st, int *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store__err(st, rc, "user_version");
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(s);
        return store__err(st, rc, "user_version");
    }
    *out = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return 0;
}

int store_migrate(struct store *st, int target, struct dbot_diag *diag)
{
    if (target < 0 || target > N_MIGRATIONS)
        target = N_MIGRATIONS;
    int version;
    int rc = store_schema_version(st, &version);
    if (rc)
        return dbot_diag_set(diag, rc, "%s: cannot read the schema version", st->path);
    if (version > N_MIGRATIONS)
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "%s: schema version %d is newer than this dealerbot (%d)", st->path,
                             version, N_MIGRATIONS);
    for (int v = version; v < target; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if ((rc = store_begin(st)) != 0)
            return dbot_diag_set(diag, rc, "%s: cannot begin migration %d", st->path, v + 1);
        rc = exec_script(st, migrations[v], diag);
        if (rc == 0)
            rc = exec_script(st, pragma, diag);
        if (rc == 0)
            rc = store_commit(st);
        else
            store_rollback(st);
        if (rc) {
            if (!diag || !diag->msg[0])
                dbot_diag_set(diag, rc, "%s: migration %d failed", st->path, v + 1);
            return rc;
        }
        log_info("store", "%s: migrated to schema %d", st->path, v + 1);
    }
    return 0;
}

int store_open_nomigrate(const char *path, struct store **out, struct dbot_diag *diag)
{
    struct store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    }
    int rc = sqlite3_open_v2(path, &st->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        dbot_diag_set(diag, 0, "%s: cannot open database: %s", path,
                      st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        store_close(st);
        return DBOT_ERR_IO;
    }
    sqlite3_busy_timeout(st->db, 5000);
    /* WAL: readers never block the writer. FULL: a commit is on disk when it returns, which is
     * what a 201 promises. */
    rc = exec_script(st,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                     " PRAGMA foreign_keys = ON;",
                     diag);
    if (rc) {
        store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

int store_open(const char *path, struct store **out, struct dbot_diag *diag)
{
    struct store *st;
    int rc = store_open_nomigrate(path, &st, diag);
    if (rc)
        return rc;
    rc = store_migrate(st, -1, diag);
    if (rc) {
        store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

int store_open_reader(const char *path, struct store **out, struct dbot_diag *diag)
{
    struct store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    }
    st->reader = true;
    /* NOMUTEX: the connection is used by one thread at a time (handed over once, at the
     * reader thread's start). */
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        dbot_diag_set(diag, 0, "%s: cannot open database for reading: %s", path,
                      st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        store_close(st);
        return DBOT_ERR_IO;
    }
    sqlite3_busy_timeout(st->db, 5000);
    /* query_only: even a statement that would write is refused on this connection. The
     * journal mode is the file's (WAL, set by the writer), which lets this connection read
     * one snapshot while the writer commits beside it. */
    rc = exec_script(st, "PRAGMA query_only = ON;", diag);
    int version = 0;
    if (rc == 0)
        rc = store_schema_version(st, &version);
    if (rc == 0 && version != N_MIGRATIONS)
        rc = dbot_diag_set(diag, DBOT_ERR_INVALID,
                           "%s: schema version %d, expected %d (open it for writing first)",
                           path, version, N_MIGRATIONS);
    if (rc) {
        store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    for (int i = 0; i < SQL__COUNT; i++)
        sqlite3_finalize(st->stmts[i]);
    if (st->db)
        sqlite3_close(st->db);
    free(st->path);
    free(st);
}

int store_backup(struct store *st, const char *dest, struct dbot_diag *diag)
{
    sqlite3 *to = NULL;
    int rc = sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        dbot_diag_set(diag, 0, "%s: cannot open: %s", dest,
                      to ? sqlite3_errmsg(to) : sqlite3_errstr(rc));
        sqlite3_close(to);
        return DBOT_ERR_IO;
    }
    sqlite3_backup *b = sqlite3_backup_init(to, "main", st->db, "main");
    if (!b) {
        dbot_diag_set(diag, 0, "%s: backup failed: %s", dest, sqlite3_errmsg(to));
        sqlite3_close(to);
        return DBOT_ERR_DB;
    }
    /* Copy in steps so a long backup lets the daemon's writes interleave. */
    do {
        rc = sqlite3_backup_step(b, 256);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(10);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    int err = 0;
    if (rc != SQLITE_DONE) {
        dbot_diag_set(diag, 0, "%s: backup failed: %s", dest, sqlite3_errstr(rc));
        err = DBOT_ERR_IO;
    }
    sqlite3_close(to);
    return err;
}
