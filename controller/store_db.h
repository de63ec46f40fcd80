/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store_db.h -- inside the store: its SQLite handle, kept statements, transactions and errors */
#pragma once

/* Internal to the store (store.c, store_ingest.c, store_cap.c, store_days.c, store_schema.c) and its
 * report queries (report/query.c): nothing else includes it. Everyone else
 * sees struct store as opaque, through store.h and report/query.h. All of
 * it is defined in store.c but for the static inline helpers below. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "store.h"

/* Statements kept prepared for the life of the store, one slot each. The
 * file that uses a statement holds its SQL (a table indexed by these) and
 * fetches it with store_db_stmt(). */
enum store_sid {
	/* store.c */
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
	S_FLEET_CLEAR, S_FLEET_PUT,
	S_PLAN_DELETE, S_PLAN_PUT, S_PLAN_START, S_PLAN_FOLD,
	S_KEY_CUR, S_KEY_MAX_EPOCH, S_KEY_ADD, S_KEY_RETIRE, S_KEYS_ALL, S_SEQ_MAX,
	S_PUB_GET, S_PUB_SET,
	S_ASSET_REF, S_ASSET_GET, S_ASSET_PUB, S_ASSET_STALE, S_ASSET_DEL,
	S_ALERT_ADD, S_ALERT_TARGET, S_ALERT_CANCEL, S_ALERT_EXISTS,
	/* store_ingest.c */
	S_RCPT_EXISTS, S_RCPT_PUT, S_RCPT_BAD, S_RCPT_LOST, S_PLAY_NOTE, S_OCC_ALERT,
	S_ACK_GET, S_ACK_PUT,
	S_QUAR_PUT, S_QUAR_TRIM,
	S_STATUS_GET, S_STATUS_PUT, S_IN_FLEET, S_TRANS_ADD, S_TRANS_RECENT, S_TRANS_SQUASH,
	/* store_cap.c */
	S_CAP_ADD, S_CAP_GET, S_CAP_FIND, S_CAP_DECIDE, S_CAP_DECISION, S_CAP_CHAIN, S_CAP_HELD,
	S_CAP_OUTCOME, S_CAP_UNSENT, S_CAP_SUPERSEDED,
	/* store_days.c */
	S_DAYS_DIRTY, S_DAYS_ROWS, S_DAYS_PUT, S_DAYS_DEL, S_DAYS_CLEAN,
	/* report/query.c */
	S_TRANS_BEFORE, S_TRANS_RANGE, S_NODES,
	S__COUNT
};

/* The SQLite connection of S. */
sqlite3 *store_db(struct store *s);
/* True between store_begin() and store_commit()/store_rollback(). */
bool store_db_batch(const struct store *s);

/* The statement in slot ID, prepared from SQL on first use and kept until
 * store_close(). NULL on failure (reason in store_errmsg). */
sqlite3_stmt *store_db_stmt(struct store *s, enum store_sid id, const char *sql);

/* SQLite result code RC as 0 (OK, ROW, DONE) or -errno; -EIO for those
 * without a better match. */
int store_db_errno(int rc);

/* Set the one-line reason store_errmsg() returns. */
void store_db_seterr(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record SQLite's message for the failed call WHAT that returned RC.
 * \retval the matching -errno (-EIO when there is none) */
int store_db_err(struct store *s, const char *what, int rc);

/* Step ST, a statement that returns no rows, then reset it.
 * \retval 0 / -errno */
int store_db_run(struct store *s, sqlite3_stmt *st, const char *what);
/* Step ST for one integer, then reset it. \retval 1 row (*V set) / 0 no
 * row / -errno */
int store_db_query_int(struct store *s, sqlite3_stmt *st, const char *what, int64_t *v);

/* Start a write: its own IMMEDIATE transaction (*OWN true), or a savepoint
 * inside the caller's batch so a failed call undoes only itself.
 * \retval 0 / -EROFS / -EIO the batch was rolled back / -errno */
int store_db_txn_enter(struct store *s, bool *own);
/* Finish what store_db_txn_enter() began: commit on R >= 0, else undo.
 * \retval R, or the commit's -errno */
int store_db_txn_leave(struct store *s, bool own, int r);

/* A node id: [a-z0-9-]{1,STORE_ID_MAX}. */
bool store_db_valid_node_id(const char *id);

/* The columns of cap_messages that make a struct store_cap, in the order
 * store_db_cap_row() reads them (the document and its BLOB excluded). */
#define STORE_DB_CAP_COLS \
	"sender, identifier, sent_ms, received_ms, origin, msg_type, status, decision, reason," \
	" hold_reason, level, class, alert_id, nodes, voice, title, expires_ms, refs, doc_size," \
	" decided_ms"
#define STORE_DB_CAP_NCOLS 20
/* Columns I0 .. I0 + STORE_DB_CAP_NCOLS of ST (STORE_DB_CAP_COLS) into *C
 * (store_cap.c). */
void store_db_cap_row(sqlite3_stmt *st, int i0, struct store_cap *c);

/* Reset ST and clear its bindings, ready for the next use. */
static inline void store_db_release(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Bind V, or NULL when V is NULL. */
static inline int store_db_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Bind V, or NULL when V is STORE_NONE. */
static inline int store_db_bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
	return v == STORE_NONE ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
}

/* Column I as an integer, STORE_NONE when NULL. */
static inline int64_t store_db_column_opt(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? STORE_NONE : sqlite3_column_int64(st, i);
}

/* Column I as text into OUT[0..SIZE), "" when NULL. */
static inline void store_db_column_copy(sqlite3_stmt *st, int i, char *out, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, size, "%s", t ? (const char *)t : "");
}
