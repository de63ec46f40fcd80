/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store_schema.c -- the store's tables, and the migrations that bring an older store up to date */
#include "store_schema.h"
#include "store_days.h"
#include "store_db.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>

#define STORE_APP_ID 0x43584331 /* "CXC1": PRAGMA application_id of a cunxiang store */

/* Each entry upgrades the schema from version I to I + 1. Append only:
 * a shipped step is never edited. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1 */
	"PRAGMA application_id = 1129857841;" /* STORE_APP_ID */
	"CREATE TABLE nodes("
	" id TEXT PRIMARY KEY NOT NULL,"
	" village_code TEXT NOT NULL,"
	" village_name TEXT NOT NULL,"
	" households INTEGER NOT NULL CHECK(households >= 0),"
	" tags TEXT NOT NULL DEFAULT '[]',"
	" in_fleet INTEGER NOT NULL DEFAULT 1"
	") WITHOUT ROWID;"
	"CREATE TABLE planned("
	" node TEXT NOT NULL,"
	" occ TEXT NOT NULL,"
	" notice TEXT NOT NULL,"
	" broadcast TEXT NOT NULL,"
	" start_ms INTEGER NOT NULL,"
	" duration_ms INTEGER NOT NULL,"
	" priority INTEGER NOT NULL,"
	" village_code TEXT NOT NULL,"
	" PRIMARY KEY(node, occ)"
	") WITHOUT ROWID;"
	"CREATE INDEX planned_node_start ON planned(node, start_ms);"
	"CREATE INDEX planned_notice ON planned(notice, start_ms);"
	"CREATE INDEX planned_start ON planned(start_ms);"
	"CREATE TABLE receipts("
	" node TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" occ TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK(kind IN ('plan','alert','live')),"
	" state TEXT NOT NULL CHECK(state IN ('accepted','started','completed',"
	"  'interrupted','failed','skipped','expired')),"
	" scheduled_ms INTEGER, started_ms INTEGER, ended_ms INTEGER, played_ms INTEGER,"
	" start_error_us INTEGER, volume INTEGER, reason TEXT,"
	" received_ms INTEGER NOT NULL,"
	" unknown_occ INTEGER NOT NULL,"
	" PRIMARY KEY(node, seq)"
	") WITHOUT ROWID;"
	"CREATE INDEX receipts_occ ON receipts(occ, node);"
	/* Receipts whose node and seq were readable but the rest was not:
	 * kept raw for inspection, and counted for the ack. */
	"CREATE TABLE receipts_bad("
	" node TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" received_ms INTEGER NOT NULL,"
	" error TEXT NOT NULL,"
	" raw BLOB NOT NULL,"
	" PRIMARY KEY(node, seq)"
	") WITHOUT ROWID;"
	"CREATE TABLE ack_state("
	" node TEXT PRIMARY KEY NOT NULL,"
	" first_seq INTEGER NOT NULL,"
	" through INTEGER NOT NULL,"
	" count INTEGER NOT NULL,"
	" last_ms INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE status("
	" node TEXT PRIMARY KEY NOT NULL,"
	" state TEXT NOT NULL,"
	" plan_issued_ms INTEGER, assets_missing INTEGER, volume INTEGER,"
	" clock_offset_us INTEGER, spool INTEGER, rejected INTEGER, xruns INTEGER,"
	" uptime_s INTEGER, version TEXT,"
	" json TEXT NOT NULL,"
	" status_ms INTEGER NOT NULL,"
	" last_seen_ms INTEGER"
	") WITHOUT ROWID;"
	"CREATE TABLE transitions("
	" node TEXT NOT NULL,"
	" ms INTEGER NOT NULL,"
	" state TEXT NOT NULL"
	");"
	"CREATE INDEX transitions_node_ms ON transitions(node, ms);"
	"CREATE TABLE published("
	" node TEXT PRIMARY KEY NOT NULL,"
	" issued_ms INTEGER NOT NULL,"
	" sha TEXT NOT NULL,"
	" published_ms INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE assets("
	" sha TEXT PRIMARY KEY NOT NULL,"
	" size INTEGER NOT NULL,"
	" last_referenced_ms INTEGER NOT NULL,"
	" published INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE INDEX assets_last_ref ON assets(last_referenced_ms);"
	"CREATE TABLE alerts("
	" id TEXT PRIMARY KEY NOT NULL,"
	" level INTEGER NOT NULL CHECK(level BETWEEN 1 AND 4),"
	" class TEXT NOT NULL CHECK(class IN ('actual','drill','test')),"
	" issued_ms INTEGER NOT NULL,"
	" start_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL,"
	" title TEXT NOT NULL,"
	" targets TEXT NOT NULL,"
	" live TEXT,"
	" cancelled_ms INTEGER"
	") WITHOUT ROWID;"
	"CREATE TABLE alert_targets("
	" alert TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,"
	" node TEXT NOT NULL,"
	" PRIMARY KEY(alert, node)"
	") WITHOUT ROWID;"
	"CREATE INDEX alert_targets_node ON alert_targets(node);",
	/* 1 -> 2: poles sign what they say. Each pole's enrolled keys; a key
	 * that replaces another starts its seqs above every seq stored for
	 * the node (seq_base), so seqs stay unique and ordered per node. */
	"CREATE TABLE node_keys("
	" node TEXT NOT NULL,"
	" epoch INTEGER NOT NULL,"
	" pk TEXT NOT NULL,"
	" key_id TEXT NOT NULL,"
	" seq_base INTEGER NOT NULL,"
	" enrolled_ms INTEGER NOT NULL,"
	" retired_ms INTEGER,"
	" PRIMARY KEY(node, epoch)"
	") WITHOUT ROWID;"
	"ALTER TABLE receipts ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE receipts_bad ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;"
	/* Seqs the pole signed as lost: its spool could not keep them. */
	"CREATE TABLE receipts_lost("
	" node TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" epoch INTEGER NOT NULL,"
	" reason TEXT NOT NULL,"
	" received_ms INTEGER NOT NULL,"
	" PRIMARY KEY(node, seq)"
	") WITHOUT ROWID;"
	"ALTER TABLE ack_state ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE ack_state ADD COLUMN seq_base INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE ack_state ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE status ADD COLUMN boot INTEGER;"
	"ALTER TABLE status ADD COLUMN n INTEGER;"
	"ALTER TABLE status ADD COLUMN disk TEXT;"
	/* What came on a pole topic and did not verify: never counted, kept
	 * (bounded) for inspection. */
	"CREATE TABLE quarantine("
	" id INTEGER PRIMARY KEY,"
	" received_ms INTEGER NOT NULL,"
	" topic TEXT NOT NULL,"
	" node TEXT,"
	" reason TEXT NOT NULL,"
	" raw BLOB NOT NULL"
	");"
	"CREATE INDEX quarantine_ms ON quarantine(received_ms);",
	/* 2 -> 3: automatic warnings. Every CAP message that arrived, with
	 * what was decided and why, and its document: kept for ever. A
	 * document that could not be parsed has sender '' and identifier
	 * 'sha256:' + the digest of its bytes. The UNIQUE index also finds a
	 * message by identifier alone. */
	"CREATE TABLE cap_messages("
	" id INTEGER PRIMARY KEY,"
	" sender TEXT NOT NULL,"
	" identifier TEXT NOT NULL CHECK(identifier <> ''),"
	" sent_ms INTEGER,"
	" received_ms INTEGER NOT NULL,"
	" origin TEXT NOT NULL,"
	" msg_type TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" decision TEXT NOT NULL CHECK(decision IN ('broadcast','cancel','update','hold','ignore',"
	"  'reject','approved','expired')),"
	" reason TEXT NOT NULL,"
	" hold_reason TEXT,"
	" level INTEGER NOT NULL CHECK(level BETWEEN 0 AND 4),"
	" class TEXT CHECK(class IN ('actual','drill','test')),"
	" alert_id TEXT,"
	" nodes INTEGER NOT NULL CHECK(nodes >= 0),"
	" voice TEXT,"
	" title TEXT,"
	" expires_ms INTEGER,"
	" refs TEXT,"
	" doc BLOB,"
	" doc_size INTEGER NOT NULL,"
	" decided_ms INTEGER NOT NULL,"
	" UNIQUE(identifier, sender)"
	");"
	"CREATE INDEX cap_messages_received ON cap_messages(received_ms);"
	"CREATE INDEX cap_messages_alert ON cap_messages(alert_id) WHERE alert_id IS NOT NULL;"
	"CREATE INDEX cap_messages_held ON cap_messages(received_ms) WHERE decision = 'hold';",
	/* 3 -> 4: each play's outcome, folded from its plan receipts as they
	 * arrive (store_receipt) and when the play is planned again
	 * (store_plan_replace), so that a report reads plays and not their
	 * receipts. done_seq: the first 'completed' receipt, done_ms when
	 * that play started (NULL: not said); end_seq and end_state: the last
	 * 'interrupted', 'failed', 'skipped' or 'expired' one; began: an
	 * 'accepted' or 'started' one came. The plays already stored are
	 * folded here from what they hold. */
	"ALTER TABLE planned ADD COLUMN done_seq INTEGER;"
	"ALTER TABLE planned ADD COLUMN done_ms INTEGER;"
	"ALTER TABLE planned ADD COLUMN end_seq INTEGER;"
	"ALTER TABLE planned ADD COLUMN end_state TEXT;"
	"ALTER TABLE planned ADD COLUMN began INTEGER NOT NULL DEFAULT 0;"
	"UPDATE planned SET done_seq = r.seq, done_ms = COALESCE(r.started_ms, r.scheduled_ms)"
	" FROM (SELECT node, occ, min(seq) AS seq, started_ms, scheduled_ms FROM receipts"
	"  WHERE kind = 'plan' AND state = 'completed' GROUP BY node, occ) AS r"
	" WHERE planned.node = r.node AND planned.occ = r.occ;"
	"UPDATE planned SET end_seq = r.seq, end_state = r.state"
	" FROM (SELECT node, occ, max(seq) AS seq, state FROM receipts WHERE kind = 'plan'"
	"  AND state IN ('interrupted','failed','skipped','expired') GROUP BY node, occ) AS r"
	" WHERE planned.node = r.node AND planned.occ = r.occ;"
	/* Receipts for what was neither planned nor an alert, by arrival:
	 * few, and listed by every report. */
	"CREATE INDEX receipts_unknown ON receipts(received_ms) WHERE unknown_occ;"
	"UPDATE planned SET began = 1"
	" FROM (SELECT DISTINCT node, occ FROM receipts WHERE kind = 'plan'"
	"  AND state IN ('accepted','started')) AS r"
	" WHERE planned.node = r.node AND planned.occ = r.occ;",
	/* 4 -> 5: each node's plays of a UTC day (day = start_ms / 86400000)
	 * packed into one row for reports (store_days.h). The triggers note
	 * every day a change to `planned` touches, whoever makes it; the
	 * store repacks the noted days before it commits. Every day stored is
	 * noted here, and packed as this step commits. */
	"CREATE TABLE play_days("
	" node TEXT NOT NULL,"
	" day INTEGER NOT NULL,"
	" plays BLOB NOT NULL,"
	" PRIMARY KEY(node, day)"
	") WITHOUT ROWID;"
	"CREATE TABLE play_days_dirty("
	" node TEXT NOT NULL,"
	" day INTEGER NOT NULL,"
	" PRIMARY KEY(node, day)"
	") WITHOUT ROWID;"
	"CREATE TRIGGER planned_days_ins AFTER INSERT ON planned BEGIN"
	" INSERT OR IGNORE INTO play_days_dirty VALUES(new.node, new.start_ms / 86400000); END;"
	"CREATE TRIGGER planned_days_del AFTER DELETE ON planned BEGIN"
	" INSERT OR IGNORE INTO play_days_dirty VALUES(old.node, old.start_ms / 86400000); END;"
	"CREATE TRIGGER planned_days_upd AFTER UPDATE ON planned BEGIN"
	" INSERT OR IGNORE INTO play_days_dirty VALUES(old.node, old.start_ms / 86400000);"
	" INSERT OR IGNORE INTO play_days_dirty VALUES(new.node, new.start_ms / 86400000); END;"
	"INSERT OR IGNORE INTO play_days_dirty SELECT DISTINCT node, start_ms / 86400000 FROM planned;"
	/* A report reads every receipt of each alert in its period: from
	 * this index alone, without a step into the table per receipt. */
	"CREATE INDEX receipts_alert ON receipts(occ, node, seq, kind, state, reason, scheduled_ms,"
	" started_ms, ended_ms, played_ms, start_error_us, volume, received_ms)"
	" WHERE kind IN ('alert','live');",
};

/* One integer from the query Q. \retval an SQLite result code */
static int exec_int(sqlite3 *db, const char *q, int64_t *v)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, q, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store_schema_check(struct store *s, int64_t version)
{
	sqlite3 *db = store_db(s);
	int64_t app = 0, tables = 0;
	int rc;

	if ((rc = exec_int(db, "PRAGMA application_id", &app)) != SQLITE_OK ||
	    (rc = exec_int(db, "SELECT count(*) FROM sqlite_master", &tables)) != SQLITE_OK)
		return store_db_err(s, "read the schema", rc);
	if (app != STORE_APP_ID && (app != 0 || version != 0 || tables != 0)) {
		store_db_seterr(s, "not a cunxiang store (application_id %#llx)", (unsigned long long)app);
		return -EUCLEAN;
	}
	if (version > STORE_SCHEMA_VERSION) {
		store_db_seterr(s, "schema version %lld is newer than this cunxiang's %d; upgrade cunxiang",
				(long long)version, STORE_SCHEMA_VERSION);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

int store_schema_migrate(struct store *s)
{
	sqlite3 *db = store_db(s);
	char *msg = NULL;
	int64_t v = 0;
	int rc, r;

	if ((rc = exec_int(db, "PRAGMA user_version", &v)) != SQLITE_OK)
		return store_db_err(s, "read the schema version", rc);
	if (v == STORE_SCHEMA_VERSION)
		return store_schema_check(s, v);
	/* Another process may be migrating too: decide under the write lock. */
	if ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
		return store_db_err(s, "lock the store for migration", rc);
	if ((rc = exec_int(db, "PRAGMA user_version", &v)) != SQLITE_OK) {
		r = store_db_err(s, "read the schema version", rc);
		goto fail;
	}
	if ((r = store_schema_check(s, v)) < 0)
		goto fail;
	for (; v < STORE_SCHEMA_VERSION; v++) {
		char bump[64];

		snprintf(bump, sizeof(bump), "PRAGMA user_version = %lld", (long long)v + 1);
		if ((rc = sqlite3_exec(db, migrations[v], NULL, NULL, &msg)) != SQLITE_OK ||
		    (rc = sqlite3_exec(db, bump, NULL, NULL, &msg)) != SQLITE_OK) {
			store_db_seterr(s, "migrate the schema to version %lld: %s", (long long)v + 1,
					msg ? msg : sqlite3_errstr(rc));
			sqlite3_free(msg);
			r = store_db_errno(rc) < 0 ? store_db_errno(rc) : -EIO;
			goto fail;
		}
	}
	if ((r = store_days_flush(s)) < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", store_errmsg(s));
		store_db_seterr(s, "migrate the schema to version %d: %s", STORE_SCHEMA_VERSION, why);
		goto fail;
	}
	if ((rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
		r = store_db_err(s, "commit the migration", rc);
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

const char *store_schema_step(int64_t from)
{
	return from >= 0 && from < STORE_SCHEMA_VERSION ? migrations[from] : NULL;
}

int store_schema_version(sqlite3 *db, int64_t *v)
{
	return exec_int(db, "PRAGMA user_version", v);
}
