/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store_ingest.c -- taking in what poles sign: receipts and their acks, status, the quarantine */
#include "store.h"
#include "store_db.h"

#include "receipt.h"
#include "status.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>

/* The parameters of S_RCPT_PUT, numbered as in its VALUES(?1, ...). */
enum rcpt_put_param {
	RP_NODE = 1, RP_SEQ, RP_OCC, RP_KIND, RP_STATE,
	RP_SCHEDULED_MS, RP_STARTED_MS, RP_ENDED_MS, RP_PLAYED_MS, RP_START_ERROR_US, RP_VOLUME,
	RP_REASON, RP_RECEIVED_MS, RP_UNKNOWN_OCC, RP_EPOCH,
};
_Static_assert(RP_EPOCH == 15, "S_RCPT_PUT binds ?1 to ?15");

/* The parameters of S_STATUS_PUT, numbered as in its VALUES(?1, ...). */
enum status_put_param {
	SP_NODE = 1, SP_STATE,
	SP_PLAN_ISSUED_MS, SP_ASSETS_MISSING, SP_VOLUME, SP_CLOCK_OFFSET_US, SP_SPOOL, SP_REJECTED,
	SP_XRUNS, SP_UPTIME_S,
	SP_VERSION, SP_JSON, SP_STATUS_MS, SP_LAST_SEEN_MS, SP_BOOT, SP_N, SP_DISK,
};
_Static_assert(SP_DISK == 17, "S_STATUS_PUT binds ?1 to ?17");

/* S_PLAY_NOTE's receipt is the play's first completed one, or its last
 * that ended it otherwise. */
#define DONE "(?3 = 'completed' AND (done_seq IS NULL OR ?4 < done_seq))"
#define ENDED "(?3 IN ('interrupted','failed','skipped','expired') AND (end_seq IS NULL OR ?4 > end_seq))"

/* For an offline status (the will), keep what the last online one said. */
#define KEEP(c) c " = CASE WHEN excluded.state = 'offline' THEN COALESCE(excluded." c ", status." c ") ELSE excluded." c " END"

static const char *const sql[S__COUNT] = {
	[S_RCPT_EXISTS] = "SELECT EXISTS(SELECT 1 FROM receipts WHERE node = ?1 AND seq = ?2)"
		" OR EXISTS(SELECT 1 FROM receipts_bad WHERE node = ?1 AND seq = ?2)"
		" OR EXISTS(SELECT 1 FROM receipts_lost WHERE node = ?1 AND seq = ?2)",
	[S_RCPT_PUT] = "INSERT INTO receipts(node, seq, occ, kind, state, scheduled_ms, started_ms,"
		" ended_ms, played_ms, start_error_us, volume, reason, received_ms, unknown_occ, epoch)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[S_RCPT_BAD] = "INSERT INTO receipts_bad(node, seq, received_ms, error, raw, epoch)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[S_RCPT_LOST] = "INSERT INTO receipts_lost(node, seq, epoch, reason, received_ms)"
		" VALUES(?1, ?2, ?3, ?4, ?5)",
	/* A plan receipt folded into its play's outcome (schema step 3 -> 4
	 * says how); ?3 is its state, ?4 its seq, ?5 when the play started.
	 * No row changed: the occurrence is not planned for the node. Every
	 * SET reads the row as it was, so the order of receipts of one play
	 * does not matter. */
	[S_PLAY_NOTE] = "UPDATE planned SET"
		" done_seq = CASE WHEN " DONE " THEN ?4 ELSE done_seq END,"
		" done_ms = CASE WHEN " DONE " THEN ?5 ELSE done_ms END,"
		" end_seq = CASE WHEN " ENDED " THEN ?4 ELSE end_seq END,"
		" end_state = CASE WHEN " ENDED " THEN ?3 ELSE end_state END,"
		" began = began OR ?3 IN ('accepted','started')"
		" WHERE node = ?1 AND occ = ?2",
	[S_OCC_ALERT] = "SELECT EXISTS(SELECT 1 FROM alerts WHERE id = ?1)",
	[S_ACK_GET] = "SELECT through, epoch, seq_base, count, skipped FROM ack_state WHERE node = ?1",
	[S_ACK_PUT] = "INSERT INTO ack_state(node, first_seq, through, count, last_ms, epoch, seq_base,"
		" skipped) VALUES(?1, ?2 + 1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(node) DO UPDATE SET"
		" through = excluded.through, count = excluded.count,"
		" last_ms = max(last_ms, excluded.last_ms), epoch = excluded.epoch,"
		" seq_base = excluded.seq_base, skipped = excluded.skipped",
	[S_QUAR_PUT] = "INSERT INTO quarantine(received_ms, topic, node, reason, raw)"
		" VALUES(?1, ?2, ?3, ?4, ?5)",
	[S_QUAR_TRIM] = "DELETE FROM quarantine WHERE id <= (SELECT max(id) FROM quarantine) - ?1",
	[S_STATUS_GET] = "SELECT state, json, COALESCE(boot, 0), COALESCE(n, 0) FROM status WHERE node = ?1",
	/* boot and n: the freshest status taken (an offline one moves boot
	 * forward only, and n with it when it does). */
	[S_STATUS_PUT] = "INSERT INTO status(node, state, plan_issued_ms, assets_missing, volume,"
		" clock_offset_us, spool, rejected, xruns, uptime_s, version, json, status_ms, last_seen_ms,"
		" boot, n, disk)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
		" ON CONFLICT(node) DO UPDATE SET state = excluded.state, "
		KEEP("plan_issued_ms") ", " KEEP("assets_missing") ", " KEEP("volume") ", "
		KEEP("clock_offset_us") ", " KEEP("spool") ", " KEEP("rejected") ", "
		KEEP("xruns") ", " KEEP("uptime_s") ", " KEEP("version") ", " KEEP("disk") ", "
		" json = excluded.json, status_ms = excluded.status_ms,"
		" last_seen_ms = COALESCE(excluded.last_seen_ms, status.last_seen_ms),"
		" n = CASE WHEN excluded.state <> 'offline' THEN excluded.n"
		"  WHEN excluded.boot > COALESCE(status.boot, 0) THEN 0 ELSE status.n END,"
		" boot = max(excluded.boot, COALESCE(status.boot, 0))",
	[S_IN_FLEET] = "SELECT EXISTS(SELECT 1 FROM nodes WHERE id = ?1 AND in_fleet)",
	[S_TRANS_ADD] = "INSERT INTO transitions(node, ms, state) VALUES(?1, ?2, ?3)",
	[S_TRANS_RECENT] = "SELECT count(*) FROM transitions WHERE node = ?1 AND ms >= ?2",
	[S_TRANS_SQUASH] = "UPDATE transitions SET ms = ?2, state = ?3 WHERE rowid ="
		" (SELECT rowid FROM transitions WHERE node = ?1 ORDER BY ms DESC, rowid DESC LIMIT 1)",
};

/* A statement of this file, from sql[] above. */
static sqlite3_stmt *stmt(struct store *s, enum store_sid id)
{
	return store_db_stmt(s, id, sql[id]);
}

/* ---- receipts ---------------------------------------------------------- */

static int seq_stored(struct store *s, const char *node, int64_t seq)
{
	sqlite3_stmt *st = stmt(s, S_RCPT_EXISTS);
	int64_t v = 0;
	int r;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, seq);
	r = store_db_query_int(s, st, "receipt", &v);
	return r < 0 ? r : v != 0;
}

/* A node's ack run, in the store's seqs (the pole's seq + seq_base). */
struct ack_row {
	bool found;
	int64_t through, epoch, base, count, skipped;
};

static int ack_get(struct store *s, const char *node, struct ack_row *a)
{
	sqlite3_stmt *st = stmt(s, S_ACK_GET);
	int rc;

	memset(a, 0, sizeof(*a));
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		a->found = true;
		a->through = sqlite3_column_int64(st, 0);
		a->epoch = sqlite3_column_int64(st, 1);
		a->base = sqlite3_column_int64(st, 2);
		a->count = sqlite3_column_int64(st, 3);
		a->skipped = sqlite3_column_int64(st, 4);
	}
	store_db_release(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_db_err(s, "ack", rc);
}

static int ack_put(struct store *s, const char *node, const struct ack_row *a, int64_t now_ms)
{
	sqlite3_stmt *st = stmt(s, S_ACK_PUT);

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, a->through);
	sqlite3_bind_int64(st, 3, a->count);
	sqlite3_bind_int64(st, 4, now_ms);
	sqlite3_bind_int64(st, 5, a->epoch);
	sqlite3_bind_int64(st, 6, a->base);
	sqlite3_bind_int64(st, 7, a->skipped);
	return store_db_run(s, st, "ack");
}

int store_ack_through(struct store *s, const char *node, int64_t *ack_through)
{
	struct ack_row a;
	int r = ack_get(s, node, &a);

	*ack_through = r == 0 && a.through > a.base ? a.through - a.base : 0;
	return r;
}

static int receipt_insert(struct store *s, const char *node, int64_t seq, int64_t epoch,
			  const struct receipt *rc, int64_t now_ms)
{
	/* The receipt's optional numbers, each with the parameter it binds. */
	const struct {
		enum rcpt_put_param param;
		int64_t v;
	} nums[] = {
		{ RP_SCHEDULED_MS, rc->scheduled_ms }, { RP_STARTED_MS, rc->started_ms },
		{ RP_ENDED_MS, rc->ended_ms }, { RP_PLAYED_MS, rc->played_ms },
		{ RP_START_ERROR_US, rc->start_error_us }, { RP_VOLUME, rc->volume },
	};
	sqlite3_stmt *chk, *put;
	int64_t known = 0;
	int r;

	if (rc->kind == RECEIPT_PLAN) {
		int64_t began = rc->started_ms != WIRE_NONE ? rc->started_ms : rc->scheduled_ms;

		if (!(chk = stmt(s, S_PLAY_NOTE)))
			return -EIO;
		sqlite3_bind_text(chk, 1, node, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(chk, 2, rc->occ, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(chk, 3, receipt_state_name(rc->state), -1, SQLITE_STATIC);
		sqlite3_bind_int64(chk, 4, seq);
		store_db_bind_opt(chk, 5, began == WIRE_NONE ? STORE_NONE : began);
		if ((r = store_db_run(s, chk, "receipt")) < 0)
			return r;
		known = sqlite3_changes(store_db(s)) > 0;
	} else {
		if (!(chk = stmt(s, S_OCC_ALERT)))
			return -EIO;
		sqlite3_bind_text(chk, 1, rc->occ, -1, SQLITE_TRANSIENT);
		if ((r = store_db_query_int(s, chk, "receipt", &known)) < 0)
			return r;
	}
	if (!(put = stmt(s, S_RCPT_PUT)))
		return -EIO;
	sqlite3_bind_text(put, RP_NODE, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(put, RP_SEQ, seq);
	sqlite3_bind_text(put, RP_OCC, rc->occ, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(put, RP_KIND, receipt_kind_name(rc->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(put, RP_STATE, receipt_state_name(rc->state), -1, SQLITE_STATIC);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		store_db_bind_opt(put, nums[i].param, nums[i].v == WIRE_NONE ? STORE_NONE : nums[i].v);
	store_db_bind_text(put, RP_REASON, rc->reason[0] ? rc->reason : NULL);
	sqlite3_bind_int64(put, RP_RECEIVED_MS, now_ms);
	sqlite3_bind_int(put, RP_UNKNOWN_OCC, !known);
	sqlite3_bind_int64(put, RP_EPOCH, epoch);
	return store_db_run(s, put, "receipt");
}

static int receipt_lost(struct store *s, const char *node, int64_t seq, int64_t epoch,
			const struct receipt *rc, int64_t now_ms)
{
	sqlite3_stmt *put = stmt(s, S_RCPT_LOST);

	if (!put)
		return -EIO;
	sqlite3_bind_text(put, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(put, 2, seq);
	sqlite3_bind_int64(put, 3, epoch);
	sqlite3_bind_text(put, 4, rc->reason[0] ? rc->reason : "no reason given", -1,
			  SQLITE_TRANSIENT);
	sqlite3_bind_int64(put, 5, now_ms);
	return store_db_run(s, put, "receipt");
}

static int receipt_bad(struct store *s, const char *node, int64_t seq, int64_t epoch,
		       const char *why, const char *json, size_t len, int64_t now_ms)
{
	sqlite3_stmt *put = stmt(s, S_RCPT_BAD);

	if (!put)
		return -EIO;
	sqlite3_bind_text(put, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(put, 2, seq);
	sqlite3_bind_int64(put, 3, now_ms);
	sqlite3_bind_text(put, 4, why, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(put, 5, json, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(put, 6, epoch);
	return store_db_run(s, put, "receipt");
}

/* Where the run of NODE stands for key K, once a receipt said its pole's
 * unacknowledged receipts begin at FROM (store seqs; 0: not known). */
static void ack_begin(struct ack_row *a, const struct store_key *k, int64_t from)
{
	if (!a->found || a->epoch != k->epoch) {
		/* The first receipt of this key: the run starts where the pole
		 * says, never at whatever seq happens to arrive first. */
		int64_t start = from > 0 ? from - 1 : k->seq_base;

		a->through = start;
		if (a->through < k->seq_base)
			a->through = k->seq_base;
		a->epoch = k->epoch;
		a->base = k->seq_base;
		a->found = true;
	} else if (from > 0 && from - 1 > a->through) {
		/* The pole dropped receipts we never stored (its spool was
		 * over its limit): they are gone, count them. */
		a->skipped += from - 1 - a->through;
		a->through = from - 1;
	}
}

int store_receipt(struct store *s, const char *node, const char *json, size_t len,
		  int64_t now_ms, int64_t *ack_through)
{
	struct store_key k;
	struct receipt rc;
	struct ack_row a;
	char why[256] = "";
	int64_t seq, from;
	bool own, bad;
	int r;

	*ack_through = 0;
	if (!store_db_valid_node_id(node)) {
		store_db_seterr(s, "receipt: bad node id");
		return -EBADMSG;
	}
	if ((r = store_key_get(s, node, &k)) < 0)
		return r == -ENOENT ? -ENOKEY : r;
	r = receipt_parse(json, len, node, &rc, why, sizeof(why));
	if (r == -ENOMEM) {
		store_db_seterr(s, "out of memory");
		return r;
	}
	bad = r < 0;
	if (bad && rc.seq <= 0) {
		store_db_seterr(s, "receipt from %s: %s", node, why);
		if (store_ack_through(s, node, ack_through) < 0)
			*ack_through = 0;
		return -EBADMSG;
	}
	seq = k.seq_base + rc.seq;
	from = rc.from > 0 ? k.seq_base + rc.from : 0;
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	if ((r = ack_get(s, node, &a)) < 0)
		goto leave;
	ack_begin(&a, &k, from);
	r = seq_stored(s, node, seq);
	if (r == 0) {
		if (bad)
			r = receipt_bad(s, node, seq, k.epoch, why, json, len, now_ms);
		else if (rc.state == RECEIPT_LOST)
			r = receipt_lost(s, node, seq, k.epoch, &rc, now_ms);
		else
			r = receipt_insert(s, node, seq, k.epoch, &rc, now_ms);
		a.count++;
	} else if (r == 1) {
		r = 1;
	}
	/* Move over every seq now stored without a hole. */
	while (r >= 0 && a.through < STORE_SEQ_MAX) {
		int q = seq_stored(s, node, a.through + 1);

		if (q < 0)
			r = q;
		if (q != 1)
			break;
		a.through++;
	}
	if (r >= 0) {
		int q = ack_put(s, node, &a, now_ms);

		if (q < 0)
			r = q;
	}
leave:
	r = store_db_txn_leave(s, own, r);
	if (r < 0)
		return r;
	*ack_through = a.through > a.base ? a.through - a.base : 0;
	if (bad && r == 0) {
		store_db_seterr(s, "receipt from %s seq %lld kept apart: %s", node, (long long)rc.seq, why);
		r = -EBADMSG;
	}
	return r;
}

/* ---- quarantine ---------------------------------------------------------- */

int store_quarantine(struct store *s, const char *topic, const char *node, const char *why,
		     const void *raw, size_t len, int64_t now_ms)
{
	sqlite3_stmt *st = stmt(s, S_QUAR_PUT);
	bool own;
	int r;

	if (!st)
		return -EIO;
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_text(st, 2, topic, -1, SQLITE_TRANSIENT);
	store_db_bind_text(st, 3, node);
	sqlite3_bind_text(st, 4, why, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 5, raw ? raw : "", (int)(len < STORE_QUARANTINE_RAW ? len
						      : STORE_QUARANTINE_RAW), SQLITE_TRANSIENT);
	r = store_db_run(s, st, "quarantine");
	if (r == 0 && (st = stmt(s, S_QUAR_TRIM))) {
		sqlite3_bind_int64(st, 1, STORE_QUARANTINE_MAX);
		r = store_db_run(s, st, "quarantine");
	}
	return store_db_txn_leave(s, own, r);
}

/* ---- status ------------------------------------------------------------ */

/* Store STT, parsed from the status JSON[0..LEN) that NODE sent, received
 * at NOW_MS. \retval 0 / -errno */
static int status_put(struct store *s, const char *node, const struct status *stt,
		      const char *json, size_t len, int64_t now_ms, bool retained)
{
	/* The status's optional numbers, each with the parameter it binds. */
	const struct {
		enum status_put_param param;
		int64_t v;
	} nums[] = {
		{ SP_PLAN_ISSUED_MS, stt->plan_issued_ms }, { SP_ASSETS_MISSING, stt->assets_missing },
		{ SP_VOLUME, stt->volume }, { SP_CLOCK_OFFSET_US, stt->clock_offset_us },
		{ SP_SPOOL, stt->spool }, { SP_REJECTED, stt->rejected },
		{ SP_XRUNS, stt->xruns }, { SP_UPTIME_S, stt->uptime_s },
	};
	sqlite3_stmt *st = stmt(s, S_STATUS_PUT);

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, SP_NODE, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, SP_STATE, status_state_name(stt->state), -1, SQLITE_STATIC);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		store_db_bind_opt(st, nums[i].param, nums[i].v == WIRE_NONE ? STORE_NONE : nums[i].v);
	store_db_bind_text(st, SP_VERSION, stt->version[0] ? stt->version : NULL);
	sqlite3_bind_text(st, SP_JSON, json, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, SP_STATUS_MS, now_ms);
	/* A retained replay or the broker's will says nothing about when the
	 * node itself last spoke. */
	if (retained || stt->state == STATUS_OFFLINE)
		sqlite3_bind_null(st, SP_LAST_SEEN_MS);
	else
		sqlite3_bind_int64(st, SP_LAST_SEEN_MS, now_ms);
	sqlite3_bind_int64(st, SP_BOOT, stt->boot);
	sqlite3_bind_int64(st, SP_N, stt->n);
	store_db_bind_text(st, SP_DISK, status_disk_name(stt->disk));
	return store_db_run(s, st, "status");
}

/* Log that NODE went to STATE at NOW_MS. Bounded per node: past
 * STORE_TRANSITIONS_HOUR changes in an hour, the newest row is moved
 * instead of adding one. \retval 0 / -errno */
static int transition_add(struct store *s, const char *node, enum status_state state,
			  int64_t now_ms)
{
	sqlite3_stmt *st = stmt(s, S_TRANS_RECENT);
	int64_t recent = 0;
	int r;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now_ms - 3600000);
	if ((r = store_db_query_int(s, st, "status", &recent)) < 0)
		return r;
	if (!(st = stmt(s, recent >= STORE_TRANSITIONS_HOUR ? S_TRANS_SQUASH : S_TRANS_ADD)))
		return -EIO;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_text(st, 3, status_state_name(state), -1, SQLITE_STATIC);
	return store_db_run(s, st, "status");
}

int store_status(struct store *s, const char *node, const char *json, size_t len,
		 int64_t now_ms, bool retained)
{
	struct status stt;
	struct store_key k;
	char why[256], prev_state[16] = "";
	int64_t prev_boot = 0, prev_n = 0, in_fleet = 0;
	bool own, had = false, same = false;
	sqlite3_stmt *st;
	int r, rc;

	if (!store_db_valid_node_id(node)) {
		store_db_seterr(s, "status: bad node id");
		return -EBADMSG;
	}
	if ((r = store_key_get(s, node, &k)) < 0)
		return r == -ENOENT ? -ENOKEY : r;
	if (status_parse(json, len, node, &stt, why, sizeof(why)) < 0) {
		store_db_seterr(s, "status from %s: %s", node, why);
		return -EBADMSG;
	}
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	if (!(st = stmt(s, S_STATUS_GET))) {
		r = -EIO;
		goto leave;
	}
	sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *old = sqlite3_column_blob(st, 1);

		had = true;
		store_db_column_copy(st, 0, prev_state, sizeof(prev_state));
		same = (size_t)sqlite3_column_bytes(st, 1) == len && old && !memcmp(old, json, len);
		prev_boot = sqlite3_column_int64(st, 2);
		prev_n = sqlite3_column_int64(st, 3);
	} else if (rc != SQLITE_DONE) {
		r = store_db_err(s, "status", rc);
	}
	store_db_release(st);
	if (r < 0 || same)
		goto fleet;
	/* A status recorded off the broker and sent again is not news. */
	if (!status_fresher(&stt, prev_boot, prev_n)) {
		store_db_seterr(s, "status from %s: boot %lld n %lld is not newer than the last one "
				"(boot %lld n %lld)", node, (long long)stt.boot, (long long)stt.n,
				(long long)prev_boot, (long long)prev_n);
		r = -ESTALE;
		goto leave;
	}
	if ((r = status_put(s, node, &stt, json, len, now_ms, retained)) < 0)
		goto leave;
	if ((!had || strcmp(prev_state, status_state_name(stt.state))) &&
	    (r = transition_add(s, node, stt.state, now_ms)) < 0)
		goto leave;
fleet:
	if (r == 0) {
		if (!(st = stmt(s, S_IN_FLEET))) {
			r = -EIO;
			goto leave;
		}
		sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
		if ((r = store_db_query_int(s, st, "status", &in_fleet)) >= 0)
			r = in_fleet ? 0 : 1;
	}
leave:
	return store_db_txn_leave(s, own, r);
}
