/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store.c -- the controller's SQLite store: open, batches, fleet, plans, keys, assets, alerts */
#include "store.h"
#include "store_days.h"
#include "store_db.h"
#include "store_schema.h"
#include "utf8.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUSY_TIMEOUT_MS 5000

/* S_PLAN_FOLD: the plan receipts of play (?1, ?2), and the states that end one. */
#define RCPTS_OF "occ = ?2 AND node = ?1 AND kind = 'plan'"
#define ENDING "('interrupted','failed','skipped','expired')"

static const char *const sql[S__COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT store_op",
	[S_RELEASE] = "RELEASE store_op",
	[S_ROLLBACK_TO] = "ROLLBACK TO store_op",
	[S_FLEET_CLEAR] = "UPDATE nodes SET in_fleet = 0 WHERE in_fleet",
	/* The WHERE makes a second entry for one id in the same snapshot
	 * change nothing, which is how duplicates are found. */
	[S_FLEET_PUT] = "INSERT INTO nodes(id, village_code, village_name, households, tags, in_fleet)"
		" VALUES(?1, ?2, ?3, ?4, ?5, 1) ON CONFLICT(id) DO UPDATE SET"
		" village_code = excluded.village_code, village_name = excluded.village_name,"
		" households = excluded.households, tags = excluded.tags, in_fleet = 1"
		" WHERE nodes.in_fleet = 0",
	[S_PLAN_DELETE] = "DELETE FROM planned WHERE node = ?1 AND start_ms >= ?2",
	[S_PLAN_PUT] = "INSERT INTO planned(node, occ, notice, broadcast, start_ms, duration_ms, priority, village_code)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
		" COALESCE(?8, (SELECT village_code FROM nodes WHERE id = ?1), ''))"
		" ON CONFLICT(node, occ) DO NOTHING",
	[S_PLAN_START] = "SELECT start_ms FROM planned WHERE node = ?1 AND occ = ?2",
	/* A play planned again after receipts for it came: its outcome
	 * folded from them, as S_PLAY_NOTE folds one. */
	[S_PLAN_FOLD] = "UPDATE planned SET"
		" done_seq = (SELECT min(seq) FROM receipts WHERE " RCPTS_OF " AND state = 'completed'),"
		" done_ms = (SELECT COALESCE(started_ms, scheduled_ms) FROM receipts WHERE " RCPTS_OF
		"  AND state = 'completed' ORDER BY seq LIMIT 1),"
		" end_seq = (SELECT max(seq) FROM receipts WHERE " RCPTS_OF " AND state IN " ENDING "),"
		" end_state = (SELECT state FROM receipts WHERE " RCPTS_OF " AND state IN " ENDING
		"  ORDER BY seq DESC LIMIT 1),"
		" began = EXISTS(SELECT 1 FROM receipts WHERE " RCPTS_OF " AND state IN ('accepted','started'))"
		" WHERE node = ?1 AND occ = ?2 AND EXISTS(SELECT 1 FROM receipts WHERE occ = ?2 AND node = ?1)",
	[S_ALERT_EXISTS] = "SELECT EXISTS(SELECT 1 FROM alerts WHERE id = ?1)",
	[S_KEY_CUR] = "SELECT epoch, pk, key_id, seq_base, enrolled_ms FROM node_keys"
		" WHERE node = ?1 AND retired_ms IS NULL ORDER BY epoch DESC LIMIT 1",
	[S_KEY_MAX_EPOCH] = "SELECT COALESCE(max(epoch), 0) FROM node_keys WHERE node = ?1",
	[S_KEY_ADD] = "INSERT INTO node_keys(node, epoch, pk, key_id, seq_base, enrolled_ms)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[S_KEY_RETIRE] = "UPDATE node_keys SET retired_ms = ?2 WHERE node = ?1 AND retired_ms IS NULL",
	[S_KEYS_ALL] = "SELECT node, epoch, pk, key_id, seq_base, enrolled_ms FROM node_keys k"
		" WHERE retired_ms IS NULL AND epoch = (SELECT max(epoch) FROM node_keys"
		" WHERE node = k.node AND retired_ms IS NULL) ORDER BY node",
	[S_SEQ_MAX] = "SELECT max(COALESCE((SELECT max(seq) FROM receipts WHERE node = ?1), 0),"
		" COALESCE((SELECT max(seq) FROM receipts_bad WHERE node = ?1), 0),"
		" COALESCE((SELECT max(seq) FROM receipts_lost WHERE node = ?1), 0),"
		" COALESCE((SELECT through FROM ack_state WHERE node = ?1), 0))",
	[S_PUB_GET] = "SELECT issued_ms, sha FROM published WHERE node = ?1",
	[S_PUB_SET] = "INSERT INTO published(node, issued_ms, sha, published_ms) VALUES(?1, ?2, ?3, ?4)"
		" ON CONFLICT(node) DO UPDATE SET issued_ms = excluded.issued_ms, sha = excluded.sha,"
		" published_ms = excluded.published_ms WHERE excluded.issued_ms > published.issued_ms",
	[S_ASSET_REF] = "INSERT INTO assets(sha, size, last_referenced_ms, published) VALUES(?1, ?2, ?3, 0)"
		" ON CONFLICT(sha) DO UPDATE SET size = excluded.size,"
		" last_referenced_ms = max(last_referenced_ms, excluded.last_referenced_ms)",
	[S_ASSET_GET] = "SELECT sha, size, last_referenced_ms, published FROM assets WHERE sha = ?1",
	[S_ASSET_PUB] = "UPDATE assets SET published = ?2 WHERE sha = ?1",
	[S_ASSET_STALE] = "SELECT sha, size, last_referenced_ms, published FROM assets"
		" WHERE last_referenced_ms < ?1 ORDER BY last_referenced_ms, sha",
	[S_ASSET_DEL] = "DELETE FROM assets WHERE sha = ?1",
	[S_ALERT_ADD] = "INSERT INTO alerts(id, level, class, issued_ms, start_ms, expires_ms, title, targets, live)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[S_ALERT_TARGET] = "INSERT OR IGNORE INTO alert_targets(alert, node) VALUES(?1, ?2)",
	[S_ALERT_CANCEL] = "UPDATE alerts SET cancelled_ms = ?2 WHERE id = ?1 AND cancelled_ms IS NULL",
};

struct store {
	sqlite3 *db;
	bool readonly;
	bool batch;                    /* between store_begin() and store_commit() */
	sqlite3_stmt *st[S__COUNT];    /* prepared on first use */
	char err[512];
};

/* ---- errors ----------------------------------------------------------- */

int store_db_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE: return 0;
	case SQLITE_BUSY: case SQLITE_LOCKED: return -EBUSY;
	case SQLITE_NOMEM: return -ENOMEM;
	case SQLITE_READONLY: return -EROFS;
	case SQLITE_INTERRUPT: return -EINTR;
	case SQLITE_FULL: return -ENOSPC;
	case SQLITE_CANTOPEN: return -ENOENT;
	case SQLITE_PERM: case SQLITE_AUTH: return -EACCES;
	case SQLITE_CORRUPT: case SQLITE_NOTADB: return -EUCLEAN;
	case SQLITE_TOOBIG: return -E2BIG;
	case SQLITE_CONSTRAINT: return -EINVAL;
	case SQLITE_MISMATCH: case SQLITE_RANGE: case SQLITE_MISUSE: return -EINVAL;
	default: return -EIO;
	}
}

sqlite3 *store_db(struct store *s)
{
	return s->db;
}

bool store_db_batch(const struct store *s)
{
	return s->batch;
}

void store_db_seterr(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

int store_db_err(struct store *s, const char *what, int rc)
{
	store_db_seterr(s, "%s: %s", what, sqlite3_errmsg(s->db));
	return store_db_errno(rc) < 0 ? store_db_errno(rc) : -EIO;
}

/* ---- statements and transactions -------------------------------------- */

sqlite3_stmt *store_db_stmt(struct store *s, enum store_sid id, const char *q)
{
	if (!s->st[id]) {
		int rc = sqlite3_prepare_v3(s->db, q, -1, SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL);

		if (rc != SQLITE_OK) {
			store_db_err(s, "prepare", rc);
			s->st[id] = NULL;
			return NULL;
		}
	}
	return s->st[id];
}

/* A statement of this file, from sql[] above. */
static sqlite3_stmt *stmt(struct store *s, enum store_sid id)
{
	return store_db_stmt(s, id, sql[id]);
}

int store_db_run(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st), r = 0;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = store_db_err(s, what, rc);
	store_db_release(st);
	return r;
}

static int run_id(struct store *s, enum store_sid id, const char *what)
{
	sqlite3_stmt *st = stmt(s, id);

	return st ? store_db_run(s, st, what) : -EIO;
}

int store_db_query_int(struct store *s, sqlite3_stmt *st, const char *what, int64_t *v)
{
	int rc = sqlite3_step(st), r;

	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		r = 1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	} else {
		r = store_db_err(s, what, rc);
	}
	store_db_release(st);
	return r;
}

/* Rollback without touching the recorded error message. */
static void quiet(struct store *s, enum store_sid id)
{
	sqlite3_stmt *st = stmt(s, id);

	if (st) {
		sqlite3_step(st);
		store_db_release(st);
	}
}

/* Its own transaction is IMMEDIATE: it takes the write lock up front, so
 * WAL never has to upgrade a read snapshot. */
int store_db_txn_enter(struct store *s, bool *own)
{
	if (s->readonly) {
		store_db_seterr(s, "the store is open read-only");
		return -EROFS;
	}
	if (sqlite3_get_autocommit(s->db)) {
		if (s->batch) {
			store_db_seterr(s, "the batch was rolled back by an earlier error");
			return -EIO;
		}
		*own = true;
		return run_id(s, S_BEGIN, "begin");
	}
	*own = false;
	return run_id(s, S_SAVEPOINT, "savepoint");
}

int store_db_txn_leave(struct store *s, bool own, int r)
{
	if (r >= 0) {
		int q = own ? store_days_flush(s) : 0;

		if (q == 0)
			q = run_id(s, own ? S_COMMIT : S_RELEASE, "commit");

		if (q == 0)
			return r;
		r = q;
	}
	if (own) {
		if (!sqlite3_get_autocommit(s->db))
			quiet(s, S_ROLLBACK);
	} else if (!sqlite3_get_autocommit(s->db)) {
		quiet(s, S_ROLLBACK_TO);
		quiet(s, S_RELEASE);
	}
	return r;
}

int store_begin(struct store *s)
{
	int r;

	if (s->readonly) {
		store_db_seterr(s, "the store is open read-only");
		return -EROFS;
	}
	if (s->batch || !sqlite3_get_autocommit(s->db)) {
		store_db_seterr(s, "a batch is already open");
		return -EINVAL;
	}
	r = run_id(s, S_BEGIN, "begin");
	if (r == 0)
		s->batch = true;
	return r;
}

int store_commit(struct store *s)
{
	int r;

	if (!s->batch) {
		store_db_seterr(s, "no batch is open");
		return -EINVAL;
	}
	s->batch = false;
	if (sqlite3_get_autocommit(s->db)) {
		store_db_seterr(s, "the batch was rolled back by an earlier error");
		return -EIO;
	}
	r = store_days_flush(s);
	if (r == 0)
		r = run_id(s, S_COMMIT, "commit");
	if (r < 0 && !sqlite3_get_autocommit(s->db))
		quiet(s, S_ROLLBACK);
	return r;
}

void store_rollback(struct store *s)
{
	if (!s)
		return;
	if (!sqlite3_get_autocommit(s->db))
		quiet(s, S_ROLLBACK);
	s->batch = false;
}

const char *store_errmsg(const struct store *s)
{
	return s->err[0] ? s->err : "no error";
}

/* ---- open, close ------------------------------------------------------- */

/* "file:" URI of PATH with everything but unreserved characters escaped. */
static char *path_uri(const char *path, const char *query)
{
	size_t n = strlen(path);
	char *u = malloc(5 + 3 * n + strlen(query) + 2), *p;

	if (!u)
		return NULL;
	p = u + sprintf(u, "file:");
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    strchr("/-._~", *c))
			*p++ = (char)*c;
		else
			p += sprintf(p, "%%%02X", *c);
	}
	sprintf(p, "?%s", query);
	return u;
}

static int open_db(struct store *s, const char *path, bool ro, const char *query)
{
	char *uri = NULL;
	int rc;

	if (ro && !(uri = path_uri(path, query))) {
		store_db_seterr(s, "out of memory");
		return -ENOMEM;
	}
	/* A store is used by one thread: no mutex around every call (a
	 * report's reads spent a tenth of their time taking it). */
	rc = sqlite3_open_v2(ro ? uri : path, &s->db,
			     (ro ? SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
				 : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX,
			     NULL);
	free(uri);
	if (!s->db) {
		store_db_seterr(s, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (rc != SQLITE_OK) {
		store_db_seterr(s, "%s: %s", path, sqlite3_errmsg(s->db));
		return store_db_errno(rc) < 0 ? store_db_errno(rc) : -EIO;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	return 0;
}

static void close_db(struct store *s)
{
	for (size_t i = 0; i < S__COUNT; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
	sqlite3_close(s->db);
	s->db = NULL;
}

static int open_readonly(struct store *s, const char *path)
{
	struct stat stb;
	char *wal;
	bool has_wal;
	int64_t v = 0;
	int rc, r;

	if (stat(path, &stb) < 0) {
		r = -errno;
		store_db_seterr(s, "%s: %s", path, strerror(errno));
		return r;
	}
	if ((r = open_db(s, path, true, "mode=ro")) < 0)
		return r;
	rc = store_schema_version(s->db, &v);
	if (rc != SQLITE_OK && ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN)) {
		/* A WAL database needs its -shm file, which a reader cannot
		 * create in a directory it may not write. When no -wal file
		 * exists nobody is writing, and the file alone is the whole
		 * truth: read it as immutable. */
		if (!(wal = malloc(strlen(path) + 5))) {
			store_db_seterr(s, "out of memory");
			return -ENOMEM;
		}
		sprintf(wal, "%s-wal", path);
		has_wal = stat(wal, &stb) == 0 && stb.st_size > 0;
		free(wal);
		if (!has_wal) {
			close_db(s);
			if ((r = open_db(s, path, true, "immutable=1")) < 0)
				return r;
			rc = store_schema_version(s->db, &v);
		}
	}
	if (rc != SQLITE_OK) {
		store_db_seterr(s, "%s: %s", path, sqlite3_errmsg(s->db));
		return store_db_errno(rc) < 0 ? store_db_errno(rc) : -EIO;
	}
	if ((r = store_schema_check(s, v)) < 0)
		return r;
	if (v != STORE_SCHEMA_VERSION) {
		store_db_seterr(s, "schema version %lld is older than this cunxiang's %d; "
				"`cunxiang serve` upgrades it", (long long)v, STORE_SCHEMA_VERSION);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

static int open_readwrite(struct store *s, const char *path)
{
	char mode[16] = "";
	sqlite3_stmt *st;
	int rc, r;

	if ((r = open_db(s, path, false, NULL)) < 0)
		return r;
	if ((rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL)) != SQLITE_OK)
		return store_db_err(s, path, rc);
	/* WAL: readers (`nodes`, `report`) never block the writer. The
	 * answer says whether it took effect. */
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			store_db_column_copy(st, 0, mode, sizeof(mode));
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK)
		return store_db_err(s, path, rc);
	if (strcmp(mode, "wal")) {
		store_db_seterr(s, "%s: cannot switch to WAL mode (journal mode is '%s')", path, mode);
		return -EIO;
	}
	/* FULL: the WAL is fsynced at every commit, so a receipt is on disk
	 * before its ack is published. */
	if ((rc = sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL)) != SQLITE_OK)
		return store_db_err(s, path, rc);
	if ((r = store_schema_migrate(s)) < 0) {
		char tmp[sizeof(s->err)];

		snprintf(tmp, sizeof(tmp), "%s", s->err);
		store_db_seterr(s, "%s: %s", path, tmp);
		return r;
	}
	return 0;
}

struct store *store_open(const char *path, unsigned flags, char *errmsg, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		if (errmsg && errlen)
			snprintf(errmsg, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->readonly = flags & STORE_READONLY;
	r = s->readonly ? open_readonly(s, path) : open_readwrite(s, path);
	if (r < 0) {
		if (errmsg && errlen)
			snprintf(errmsg, errlen, "%s", s->err);
		close_db(s);
		free(s);
		errno = -r;
		return NULL;
	}
	s->err[0] = '\0';
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->db && !sqlite3_get_autocommit(s->db))
		quiet(s, S_ROLLBACK);
	close_db(s);
	free(s);
}

int store_check(struct store *s, bool full)
{
	sqlite3_stmt *st;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db, full ? "PRAGMA integrity_check" : "PRAGMA quick_check",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_db_err(s, "check", rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		if (!t || strcmp(t, "ok")) {
			store_db_seterr(s, "integrity check: %s", t ? t : "(no answer)");
			r = -EUCLEAN;
		}
	} else {
		r = store_db_err(s, "check", rc);
	}
	sqlite3_finalize(st);
	return r;
}

/* ---- validation helpers ------------------------------------------------ */

bool store_db_valid_node_id(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++)
		if (!((id[n] >= 'a' && id[n] <= 'z') || (id[n] >= '0' && id[n] <= '9') || id[n] == '-'))
			return false;
	return n >= 1 && n <= STORE_ID_MAX;
}

/* A non-empty string of at most MAX characters without control characters. */
static bool valid_text(const char *t, size_t max)
{
	if (!t || !*t || strlen(t) > max * 4 || utf8_count(t, strlen(t)) > max)
		return false;
	for (const unsigned char *c = (const unsigned char *)t; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

static bool valid_sha(const char *sha)
{
	return sha && cx_is_sha256_hex(sha);
}

/* ---- fleet ------------------------------------------------------------- */

static int fleet_put(struct store *s, sqlite3_stmt *put, const struct store_fleet_node *n)
{
	json_t *tags;
	char *tj;
	int r;

	if (!store_db_valid_node_id(n->id)) {
		store_db_seterr(s, "fleet: bad node id '%s'", n->id ? n->id : "(null)");
		return -EINVAL;
	}
	if (!valid_text(n->village_code, STORE_TEXT_MAX) || !valid_text(n->village_name, STORE_TEXT_MAX) ||
	    n->households < 0 || n->ntags > STORE_TAGS_MAX || (n->ntags && !n->tags)) {
		store_db_seterr(s, "fleet: node %s: bad village, households or tags", n->id);
		return -EINVAL;
	}
	if (!(tags = json_array())) {
		store_db_seterr(s, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n->ntags; i++) {
		if (!valid_text(n->tags[i], STORE_TEXT_MAX) ||
		    json_array_append_new(tags, json_string(n->tags[i])) < 0) {
			json_decref(tags);
			store_db_seterr(s, "fleet: node %s: bad tag", n->id);
			return -EINVAL;
		}
	}
	tj = json_dumps(tags, JSON_COMPACT);
	json_decref(tags);
	if (!tj) {
		store_db_seterr(s, "out of memory");
		return -ENOMEM;
	}
	sqlite3_bind_text(put, 1, n->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(put, 2, n->village_code, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(put, 3, n->village_name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(put, 4, n->households);
	sqlite3_bind_text(put, 5, tj, -1, free);
	if ((r = store_db_run(s, put, "fleet")) < 0)
		return r;
	if (sqlite3_changes(s->db) == 0) {
		store_db_seterr(s, "fleet: node %s is listed twice", n->id);
		return -EINVAL;
	}
	return 0;
}

int store_fleet_replace(struct store *s, const struct store_fleet_node *nodes, size_t n)
{
	sqlite3_stmt *put;
	bool own;
	int r;

	if (n > STORE_FLEET_MAX || (n && !nodes)) {
		store_db_seterr(s, "fleet: %zu nodes, at most %d", n, STORE_FLEET_MAX);
		return -EINVAL;
	}
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	if ((r = run_id(s, S_FLEET_CLEAR, "fleet")) < 0)
		goto out;
	if (!(put = stmt(s, S_FLEET_PUT))) {
		r = -EIO;
		goto out;
	}
	for (size_t i = 0; i < n && r == 0; i++)
		r = fleet_put(s, put, &nodes[i]);
out:
	return store_db_txn_leave(s, own, r);
}

/* ---- planned occurrences ---------------------------------------------- */

static int plan_put(struct store *s, sqlite3_stmt *put, const char *node, int64_t from_ms,
		    const struct store_occ *o)
{
	sqlite3_stmt *get;
	int64_t start;
	int r;

	if (!valid_text(o->occ, STORE_OCC_MAX) || !valid_text(o->notice, STORE_TEXT_MAX) ||
	    !valid_text(o->broadcast, STORE_TEXT_MAX) ||
	    (o->village_code && !valid_text(o->village_code, STORE_TEXT_MAX)) ||
	    o->duration_ms < 0 || o->priority < 0 || o->priority > 100 ||
	    o->start_ms < 0 || o->start_ms > STORE_SEQ_MAX) {
		store_db_seterr(s, "plan for %s: bad occurrence '%s'", node, o->occ ? o->occ : "(null)");
		return -EINVAL;
	}
	sqlite3_bind_text(put, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(put, 2, o->occ, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(put, 3, o->notice, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(put, 4, o->broadcast, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(put, 5, o->start_ms);
	sqlite3_bind_int64(put, 6, o->duration_ms);
	sqlite3_bind_int(put, 7, o->priority);
	store_db_bind_text(put, 8, o->village_code);
	if ((r = store_db_run(s, put, "plan")) < 0)
		return r;
	if (sqlite3_changes(s->db) > 0) {
		sqlite3_stmt *fold = stmt(s, S_PLAN_FOLD);

		if (!fold)
			return -EIO;
		sqlite3_bind_text(fold, 1, node, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(fold, 2, o->occ, -1, SQLITE_TRANSIENT);
		return store_db_run(s, fold, "plan");
	}
	/* Not inserted: a past row (kept as it is), or a second element with
	 * the same occ in this call (every future row was just deleted). */
	if (!(get = stmt(s, S_PLAN_START)))
		return -EIO;
	sqlite3_bind_text(get, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(get, 2, o->occ, -1, SQLITE_TRANSIENT);
	if ((r = store_db_query_int(s, get, "plan", &start)) < 0)
		return r;
	if (r == 1 && start >= from_ms) {
		store_db_seterr(s, "plan for %s: occurrence '%s' is listed twice", node, o->occ);
		return -EINVAL;
	}
	return 0;
}

int store_plan_replace(struct store *s, const char *node, int64_t from_ms,
		       const struct store_occ *occ, size_t n)
{
	sqlite3_stmt *del, *put;
	bool own;
	int r;

	if (!store_db_valid_node_id(node) || n > STORE_PLAN_MAX || (n && !occ)) {
		store_db_seterr(s, "plan: bad node id or more than %d occurrences", STORE_PLAN_MAX);
		return -EINVAL;
	}
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	if (!(del = stmt(s, S_PLAN_DELETE)) || !(put = stmt(s, S_PLAN_PUT))) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_text(del, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(del, 2, from_ms);
	r = store_db_run(s, del, "plan");
	for (size_t i = 0; i < n && r == 0; i++)
		r = plan_put(s, put, node, from_ms, &occ[i]);
out:
	return store_db_txn_leave(s, own, r);
}

/* ---- pole keys ---------------------------------------------------------- */

static int key_row(struct store *s, sqlite3_stmt *st, int i0, const char *node, struct store_key *k)
{
	const char *pk = (const char *)sqlite3_column_text(st, i0 + 1);

	memset(k, 0, sizeof(*k));
	snprintf(k->node, sizeof(k->node), "%s", node);
	k->epoch = sqlite3_column_int64(st, i0);
	k->seq_base = sqlite3_column_int64(st, i0 + 3);
	k->enrolled_ms = sqlite3_column_int64(st, i0 + 4);
	if (!pk || env_key_from_base64(pk, &k->key) < 0) {
		store_db_seterr(s, "node %s: the enrolled key is damaged", node);
		return -EUCLEAN;
	}
	return 0;
}

int store_key_get(struct store *s, const char *node, struct store_key *k)
{
	sqlite3_stmt *st = stmt(s, S_KEY_CUR);
	int rc, r;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = key_row(s, st, 0, node, k);
	else if (rc == SQLITE_DONE) {
		store_db_seterr(s, "node %s is not enrolled", node);
		r = -ENOENT;
	} else
		r = store_db_err(s, "keys", rc);
	store_db_release(st);
	return r;
}

int store_key_enrol(struct store *s, const char *node, const struct env_key *key, bool replace,
		    int64_t now_ms, struct store_key *out)
{
	struct store_key cur;
	char b64[ENV_PK_B64_LEN + 1];
	sqlite3_stmt *st;
	int64_t epoch = 0, base = 0;
	bool own;
	int r;

	if (!store_db_valid_node_id(node)) {
		store_db_seterr(s, "'%s' is not a node id", node ? node : "(null)");
		return -EINVAL;
	}
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	r = store_key_get(s, node, &cur);
	if (r == 0 && !memcmp(cur.key.pk, key->pk, ENV_PK_BYTES)) {
		if (out)
			*out = cur;
		r = 1;
		goto out;
	}
	if (r == 0 && !replace) {
		store_db_seterr(s, "node %s already has the key %s", node, cur.key.id);
		r = -EEXIST;
		goto out;
	}
	if (r < 0 && r != -ENOENT)
		goto out;
	/* A key that replaces another counts its seqs from above everything
	 * stored for the node; the first one continues the node's seqs. */
	if (r == 0) {
		if (!(st = stmt(s, S_SEQ_MAX))) {
			r = -EIO;
			goto out;
		}
		sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
		if ((r = store_db_query_int(s, st, "keys", &base)) < 0)
			goto out;
		if (!(st = stmt(s, S_KEY_RETIRE))) {
			r = -EIO;
			goto out;
		}
		sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, now_ms);
		if ((r = store_db_run(s, st, "keys")) < 0)
			goto out;
	}
	if (!(st = stmt(s, S_KEY_MAX_EPOCH))) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	if ((r = store_db_query_int(s, st, "keys", &epoch)) < 0 || !(st = stmt(s, S_KEY_ADD))) {
		r = r < 0 ? r : -EIO;
		goto out;
	}
	env_key_to_base64(key->pk, b64);
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, epoch + 1);
	sqlite3_bind_text(st, 3, b64, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, key->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, base);
	sqlite3_bind_int64(st, 6, now_ms);
	if ((r = store_db_run(s, st, "keys")) < 0)
		goto out;
	if (out) {
		memset(out, 0, sizeof(*out));
		snprintf(out->node, sizeof(out->node), "%s", node);
		out->key = *key;
		out->epoch = epoch + 1;
		out->seq_base = base;
		out->enrolled_ms = now_ms;
	}
out:
	return store_db_txn_leave(s, own, r);
}

int store_key_remove(struct store *s, const char *node, int64_t now_ms)
{
	sqlite3_stmt *st = stmt(s, S_KEY_RETIRE);
	bool own;
	int r;

	if (!st)
		return -EIO;
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now_ms);
	r = store_db_run(s, st, "keys");
	if (r == 0 && sqlite3_changes(s->db) == 0) {
		store_db_seterr(s, "node %s is not enrolled", node);
		r = -ENOENT;
	}
	return store_db_txn_leave(s, own, r);
}

int store_keys(struct store *s, int (*fn)(const struct store_key *k, void *ud), void *ud)
{
	sqlite3_stmt *st = stmt(s, S_KEYS_ALL);
	struct store_key *v = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;

	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct store_key *nv = realloc(v, nc * sizeof(*v));

			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		if (key_row(s, st, 1, (const char *)sqlite3_column_text(st, 0), &v[n]) == 0)
			n++;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = store_db_err(s, "keys", rc);
	store_db_release(st);
	for (size_t i = 0; i < n && r == 0; i++)
		r = fn(&v[i], ud);
	free(v);
	return r;
}

/* ---- published plans ---------------------------------------------------- */

int store_published_get(struct store *s, const char *node, int64_t *issued_ms, char sha[CX_SHA256_HEX])
{
	sqlite3_stmt *st = stmt(s, S_PUB_GET);
	int rc, r = 0;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*issued_ms = sqlite3_column_int64(st, 0);
		if (sha)
			store_db_column_copy(st, 1, sha, CX_SHA256_HEX);
	} else if (rc == SQLITE_DONE) {
		r = -ENOENT;
	} else {
		r = store_db_err(s, "published plan", rc);
	}
	store_db_release(st);
	return r;
}

int store_published_next(struct store *s, const char *node, int64_t now_ms, int64_t *issued_ms)
{
	int64_t last;
	int r = store_published_get(s, node, &last, NULL);

	if (r == -ENOENT) {
		*issued_ms = now_ms;
		return 0;
	}
	if (r < 0)
		return r;
	*issued_ms = last >= now_ms ? last + 1 : now_ms;
	return 0;
}

int store_published_set(struct store *s, const char *node, int64_t issued_ms, const char *sha, int64_t now_ms)
{
	sqlite3_stmt *st;
	bool own;
	int r;

	if (!store_db_valid_node_id(node) || !valid_sha(sha) || issued_ms < 0) {
		store_db_seterr(s, "published plan: bad node id, digest or issued_ms");
		return -EINVAL;
	}
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	if (!(st = stmt(s, S_PUB_SET))) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, issued_ms);
	sqlite3_bind_text(st, 3, sha, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now_ms);
	if ((r = store_db_run(s, st, "published plan")) == 0 && sqlite3_changes(s->db) == 0) {
		store_db_seterr(s, "published plan for %s: issued_ms %lld is not newer than the stored one",
				node, (long long)issued_ms);
		r = -ESTALE;
	}
out:
	return store_db_txn_leave(s, own, r);
}

/* ---- assets ------------------------------------------------------------- */

/* Run a one-statement write with a text key, in its own transaction.
 * \retval 0 / -ENOENT nothing changed (when NEED_CHANGE) / -errno */
static int write_one(struct store *s, sqlite3_stmt *st, const char *what, bool need_change)
{
	bool own;
	int r;

	if ((r = store_db_txn_enter(s, &own)) < 0) {
		store_db_release(st);
		return r;
	}
	r = store_db_run(s, st, what);
	if (r == 0 && need_change && sqlite3_changes(s->db) == 0) {
		store_db_seterr(s, "%s: no such entry", what);
		r = -ENOENT;
	}
	return store_db_txn_leave(s, own, r);
}

int store_asset_ref(struct store *s, const char *sha, int64_t size, int64_t now_ms)
{
	sqlite3_stmt *st;

	if (!valid_sha(sha) || size < 0) {
		store_db_seterr(s, "asset: bad digest or size");
		return -EINVAL;
	}
	if (!(st = stmt(s, S_ASSET_REF)))
		return -EIO;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, size);
	sqlite3_bind_int64(st, 3, now_ms);
	return write_one(s, st, "asset", false);
}

static void asset_row(sqlite3_stmt *st, struct store_asset *a)
{
	store_db_column_copy(st, 0, a->sha, sizeof(a->sha));
	a->size = sqlite3_column_int64(st, 1);
	a->last_referenced_ms = sqlite3_column_int64(st, 2);
	a->published = sqlite3_column_int(st, 3) != 0;
}

int store_asset_get(struct store *s, const char *sha, struct store_asset *a)
{
	sqlite3_stmt *st = stmt(s, S_ASSET_GET);
	int rc, r = 0;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		asset_row(st, a);
	else if (rc == SQLITE_DONE)
		r = -ENOENT;
	else
		r = store_db_err(s, "asset", rc);
	store_db_release(st);
	return r;
}

int store_asset_set_published(struct store *s, const char *sha, bool published)
{
	sqlite3_stmt *st = stmt(s, S_ASSET_PUB);

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, published);
	return write_one(s, st, "asset", true);
}

int store_asset_forget(struct store *s, const char *sha)
{
	sqlite3_stmt *st = stmt(s, S_ASSET_DEL);

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_TRANSIENT);
	return write_one(s, st, "asset", true);
}

int store_assets_stale(struct store *s, int64_t cutoff_ms,
		       int (*fn)(const struct store_asset *a, void *ud), void *ud)
{
	sqlite3_stmt *st = stmt(s, S_ASSET_STALE);
	struct store_asset *v = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, cutoff_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct store_asset *nv = realloc(v, nc * sizeof(*v));

			if (!nv) {
				store_db_seterr(s, "out of memory");
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		asset_row(st, &v[n++]);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, "stale assets", rc);
	store_db_release(st);
	for (size_t i = 0; i < n && r == 0; i++)
		r = fn(&v[i], ud);
	free(v);
	return r;
}

/* ---- alerts ------------------------------------------------------------- */

static bool valid_alert_id(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++)
		if (id[n] <= ' ' || id[n] > '~')
			return false;
	return n >= 1 && n <= STORE_OCC_MAX;
}

int store_alert_add(struct store *s, const struct store_alert *a, const char *const *nodes, size_t nnodes)
{
	static const char *const classes[] = { "actual", "drill", "test", NULL };
	bool ok_class = false, own;
	sqlite3_stmt *st;
	json_t *t;
	int r, rc;

	for (size_t i = 0; a->alert_class && classes[i]; i++)
		ok_class |= !strcmp(a->alert_class, classes[i]);
	t = a->targets_json ? json_loads(a->targets_json, JSON_REJECT_DUPLICATES, NULL) : NULL;
	r = json_is_object(t);
	json_decref(t);
	if (!valid_alert_id(a->id) || a->level < 1 || a->level > 4 || !ok_class || !r ||
	    !valid_text(a->title, STORE_TEXT_MAX) || (a->live && !valid_text(a->live, STORE_TEXT_MAX)) ||
	    nnodes > STORE_FLEET_MAX || (nnodes && !nodes)) {
		store_db_seterr(s, "alert: bad id, level, class, title, targets or live stream");
		return -EINVAL;
	}
	for (size_t i = 0; i < nnodes; i++)
		if (!store_db_valid_node_id(nodes[i])) {
			store_db_seterr(s, "alert %s: bad node id", a->id);
			return -EINVAL;
		}
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	if (!(st = stmt(s, S_ALERT_ADD))) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, a->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, a->level);
	sqlite3_bind_text(st, 3, a->alert_class, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, a->issued_ms);
	sqlite3_bind_int64(st, 5, a->start_ms);
	sqlite3_bind_int64(st, 6, a->expires_ms);
	sqlite3_bind_text(st, 7, a->title, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, a->targets_json, -1, SQLITE_TRANSIENT);
	store_db_bind_text(st, 9, a->live);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		store_db_seterr(s, "alert %s is already stored", a->id);
		r = -EEXIST;
	} else if (rc != SQLITE_DONE) {
		r = store_db_err(s, "alert", rc);
	}
	store_db_release(st);
	if (r < 0)
		goto out;
	if (!(st = stmt(s, S_ALERT_TARGET))) {
		r = -EIO;
		goto out;
	}
	for (size_t i = 0; i < nnodes && r == 0; i++) {
		sqlite3_bind_text(st, 1, a->id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, nodes[i], -1, SQLITE_TRANSIENT);
		r = store_db_run(s, st, "alert");
	}
out:
	return store_db_txn_leave(s, own, r);
}

int store_alert_cancel(struct store *s, const char *id, int64_t cancelled_ms)
{
	sqlite3_stmt *st;
	int64_t exists = 0;
	bool own;
	int r;

	if (!valid_alert_id(id)) {
		store_db_seterr(s, "cancel: bad alert id");
		return -EINVAL;
	}
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	if (!(st = stmt(s, S_ALERT_CANCEL))) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, cancelled_ms);
	if ((r = store_db_run(s, st, "cancel")) < 0 || sqlite3_changes(s->db) > 0)
		goto out;
	if (!(st = stmt(s, S_ALERT_EXISTS))) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if ((r = store_db_query_int(s, st, "cancel", &exists)) < 0)
		goto out;
	if (exists) {
		store_db_seterr(s, "alert %s is already cancelled", id);
		r = -EALREADY;
	} else {
		store_db_seterr(s, "no alert %s", id);
		r = -ENOENT;
	}
out:
	return store_db_txn_leave(s, own, r);
}
