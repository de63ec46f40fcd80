/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store.h -- the controller's SQLite store: fleet, plans, receipts, node status */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "hash.h"

/* DATA_DIR/receipts.db. SQLite in WAL mode with synchronous=FULL: when a
 * call that writes returns 0 outside store_begin(), or store_commit()
 * returns 0, the change is on disk. One writer at a time across processes
 * (`serve`, `alert`); readers (`nodes`, `report`) never block it. */
#define STORE_FILE "receipts.db"

/* Schema version kept in PRAGMA user_version; store_open() migrates older
 * stores step by step, and refuses newer ones. */
#define STORE_SCHEMA_VERSION 2

/* Limits on what comes from outside. */
#define STORE_MSG_MAX      (64 * 1024) /* bytes of one receipt or status */
#define STORE_ID_MAX       32          /* node id: [a-z0-9-]{1,32} */
#define STORE_OCC_MAX      160         /* occ / alert id, in characters */
#define STORE_REASON_MAX   256         /* receipt reason, in characters */
#define STORE_TEXT_MAX     256         /* notice/broadcast ids, titles, names, in characters */
#define STORE_VERSION_MAX  64          /* status "version", in characters */
#define STORE_SEQ_MAX      9007199254740991LL /* 2^53 - 1: exact in every JSON reader */
#define STORE_FLEET_MAX    100000      /* nodes in one fleet snapshot */
#define STORE_PLAN_MAX     100000      /* occurrences in one store_plan_replace() */
#define STORE_TAGS_MAX     64          /* tags of one node */
#define STORE_QUARANTINE_MAX 10000     /* rows kept in the quarantine */
#define STORE_QUARANTINE_RAW 4096      /* bytes of each kept */
#define STORE_TRANSITIONS_HOUR 120     /* status changes stored per node and hour */

/* Values absent from a status or never received. */
#define STORE_NONE INT64_MIN

struct store;

enum store_flags {
	STORE_READONLY = 1 << 0, /* no writes, no migration; the file must exist */
};

/* Open (and with write access create and migrate) the store at PATH.
 * A read-only open works whether or not `serve` has the store open, also
 * from a directory the caller may not write to.
 * NULL + errno: ENOENT (read-only, no such store), EPROTONOSUPPORT (written
 * by a newer cunxiang, or read-only and older than this one: run `serve`
 * once to migrate), EUCLEAN (not an SQLite database or corrupt), EACCES,
 * EROFS, EBUSY (locked longer than the busy timeout), ENOMEM, EIO.
 * When ERRMSG is not NULL it receives a one-line reason (up to ERRLEN). */
struct store *store_open(const char *path, unsigned flags, char *errmsg, size_t errlen);
/* Finalize statements and close; an open transaction is rolled back.
 * Accepts NULL. */
void store_close(struct store *s);

/* One-line reason for the last failure (or the last rejected message) on S:
 * "receipt from yn-01: 'state' must be one of accepted, started, ...". */
const char *store_errmsg(const struct store *s);

/* Group many writes in one transaction (one fsync): serve batches the
 * receipts that arrived together, then acks them once store_commit()
 * returned 0. Every write call below also works on its own, outside a
 * batch. No nesting. \retval 0 / -EBUSY / -EROFS / -EINVAL already in one
 * / -errno */
int store_begin(struct store *s);
/* \retval 0 durable / -errno: the whole batch is rolled back and nothing in
 * it may be acknowledged. */
int store_commit(struct store *s);
/* Discard the batch. Safe to call when none is open. */
void store_rollback(struct store *s);

/* PRAGMA quick_check (FULL = integrity_check). \retval 0 / -EUCLEAN (reason
 * in store_errmsg) / -errno */
int store_check(struct store *s, bool full);

/* ---- Fleet snapshot --------------------------------------------------- */

struct store_fleet_node {
	const char *id;            /* node id */
	const char *village_code;  /* 12-digit administrative code */
	const char *village_name;
	int64_t households;        /* >= 0 */
	const char *const *tags;   /* NTAGS tags, each ≤ STORE_TEXT_MAX */
	size_t ntags;
};

/* Replace the fleet by NODES[0..N) in one transaction. Nodes that left the
 * fleet are kept, marked out of it (reports of the past still need their
 * village and households), and no longer listed unless they send status.
 * \retval 0 / -EINVAL (bad id, duplicate id, a limit exceeded; nothing
 * changed) / -errno */
int store_fleet_replace(struct store *s, const struct store_fleet_node *nodes, size_t n);

/* ---- Planned occurrences (the report's denominator) ------------------- */

struct store_occ {
	const char *occ;           /* plan event occ, ≤ STORE_OCC_MAX chars */
	const char *notice;        /* notice id */
	const char *broadcast;     /* broadcast id */
	const char *village_code;  /* NULL: the node's village in the fleet */
	int64_t start_ms;
	int64_t duration_ms;       /* >= 0 */
	int priority;              /* 0..100 */
};

/* Replace NODE's planned occurrences that start at or after FROM_MS by
 * OCC[0..N), keeping the past: rows before FROM_MS are never deleted or
 * rewritten, and an element of OCC that starts before FROM_MS is added only
 * if its (node, occ) is not stored yet. \retval 0 / -EINVAL (a bad element;
 * nothing changed) / -errno */
int store_plan_replace(struct store *s, const char *node, int64_t from_ms,
		       const struct store_occ *occ, size_t n);

/* ---- Pole keys ------------------------------------------------------- */

/* Every pole signs its receipts and status with its own Ed25519 key; the
 * store keeps the key each pole was enrolled with. A key replacing another
 * opens a new epoch whose seqs are stored above every seq the node had
 * (seq_base), so stored seqs stay unique and ordered per node. */
struct store_key {
	char node[STORE_ID_MAX + 1];
	struct env_key key;
	int64_t epoch;             /* 1.. */
	int64_t seq_base;          /* stored seq = the pole's seq + seq_base */
	int64_t enrolled_ms;
};

/* Enrol KEY for NODE at NOW_MS. With REPLACE a different key takes the
 * place of the current one; without, it is refused. *OUT (may be NULL)
 * gets the key in force.
 * \retval 0 enrolled / 1 already enrolled with this key / -EEXIST another
 * key is enrolled / -EINVAL bad node id / -errno */
int store_key_enrol(struct store *s, const char *node, const struct env_key *key, bool replace,
		    int64_t now_ms, struct store_key *out);
/* The key NODE signs with now. \retval 0 / -ENOENT not enrolled / -errno */
int store_key_get(struct store *s, const char *node, struct store_key *k);
/* Retire NODE's key: nothing it signs counts any more (its receipts stay).
 * \retval 0 / -ENOENT / -errno */
int store_key_remove(struct store *s, const char *node, int64_t now_ms);
/* FN for the key in force of every enrolled node, by node id; FN returning
 * non-zero stops the walk and is returned. \retval 0 / FN's / -errno */
int store_keys(struct store *s, int (*fn)(const struct store_key *k, void *ud), void *ud);

/* ---- Receipts --------------------------------------------------------- */

/* Store the receipt JSON[0..LEN) that NODE signed (the caller has verified
 * the envelope with NODE's key in force, store_key_get) and that arrived at
 * NOW_MS: common/receipt.h's message, "node" equal to NODE. Unknown keys
 * are ignored so that newer nodes keep working. A receipt whose occ is
 * neither a planned (node, occ) (kind plan) nor a stored alert id (alert,
 * live) is kept and flagged unknown_occ; a "lost" record goes to
 * receipts_lost, counted by reports as lost on the pole.
 *
 * The ack: *ACK_THROUGH receives the pole's highest seq such that every seq
 * from where the pole said its unacknowledged receipts begin ("from" of its
 * first receipt of this key) up to it is stored (0 when none is): publish
 * it on cx/v1/ack/NODE once this call (outside a batch) or store_commit()
 * (inside one) has returned 0. It never decreases for one key, and never
 * passes a seq that was not stored: a receipt lost between the broker's
 * PUBACK and the commit is resent by the pole, never acked away.
 *
 * \retval 0        stored
 * \retval 1        a duplicate (node, seq): ignored, nothing written
 * \retval -ENOKEY  NODE is not enrolled: nothing stored, no ack
 * \retval -EBADMSG invalid (reason in store_errmsg). If its seq could be
 *                   read, the pole's own malformed receipt is kept raw in
 *                   receipts_bad and counts as stored for *ACK_THROUGH, so
 *                   it cannot block the pole's spool for ever; a resend
 *                   then returns 1.
 * \retval -errno    SQLite failure; *ACK_THROUGH is 0 */
int store_receipt(struct store *s, const char *node, const char *json, size_t len,
		  int64_t now_ms, int64_t *ack_through);

/* The current *ACK_THROUGH of NODE (0 when nothing is stored). \retval 0 / -errno */
int store_ack_through(struct store *s, const char *node, int64_t *ack_through);

/* Keep what came on TOPIC (claiming to be from NODE, or NULL) and did not
 * verify, with WHY: at most STORE_QUARANTINE_RAW bytes of it, and only the
 * newest STORE_QUARANTINE_MAX rows. Nothing there counts anywhere.
 * \retval 0 / -errno */
int store_quarantine(struct store *s, const char *topic, const char *node, const char *why,
		     const void *raw, size_t len, int64_t now_ms);

/* ---- Node status ------------------------------------------------------ */

/* Keep the status JSON[0..LEN) that NODE signed (verified by the caller
 * with its key in force) and that arrived at NOW_MS: common/status.h's
 * message, "node" equal to NODE. A status whose (boot, n) is not fresher
 * than the last taken one (status_fresher) is refused: a status recorded
 * off the broker cannot make a dead pole look alive. An offline status
 * keeps the counters of the last online one. A change of state is appended
 * to the transitions log at NOW_MS, at most STORE_TRANSITIONS_HOUR per
 * node and hour (beyond, the newest row moves).
 * RETAINED: the broker replayed a retained message on subscribe. It does
 * not move last_seen_ms, and is ignored if it equals the stored status.
 * \retval 0 / 1 stored, but the node is not in the fleet / -ESTALE not
 * fresher / -ENOKEY not enrolled / -EBADMSG / -errno */
int store_status(struct store *s, const char *node, const char *json, size_t len,
		 int64_t now_ms, bool retained);

/* Call FN for each state change of NODE with FROM_MS ≤ ms < TO_MS, in
 * order, plus (first) the state in force at FROM_MS if one is known, with
 * its own ms. FN returning non-zero stops the walk and is returned.
 * \retval 0 / FN's value / -errno */
int store_transitions(struct store *s, const char *node, int64_t from_ms, int64_t to_ms,
		      int (*fn)(int64_t ms, const char *state, void *ud), void *ud);

/* ---- Published plans -------------------------------------------------- */

/* The plan last published to NODE: its issued_ms and the digest serve chose
 * (lower-case hex SHA-256). \retval 0 / -ENOENT never published / -errno */
int store_published_get(struct store *s, const char *node, int64_t *issued_ms,
			char sha[CX_SHA256_HEX]);
/* An issued_ms for NODE's next plan: NOW_MS, or one more than the last
 * published one if that is not earlier, so it increases across restarts
 * and clock steps. \retval 0 / -errno */
int store_published_next(struct store *s, const char *node, int64_t now_ms, int64_t *issued_ms);
/* Record that the plan ISSUED_MS with digest SHA was published to NODE.
 * \retval 0 / -ESTALE ISSUED_MS is not above the stored one / -EINVAL / -errno */
int store_published_set(struct store *s, const char *node, int64_t issued_ms,
			const char *sha, int64_t now_ms);

/* ---- Assets ----------------------------------------------------------- */

struct store_asset {
	char sha[CX_SHA256_HEX];
	int64_t size;
	int64_t last_referenced_ms;
	bool published;            /* retained on cx/v1/asset/SHA */
};

/* A plan or alert referenced asset SHA of SIZE bytes at NOW_MS (adds it,
 * or moves last_referenced_ms forward). \retval 0 / -EINVAL / -errno */
int store_asset_ref(struct store *s, const char *sha, int64_t size, int64_t now_ms);
/* \retval 0 / -ENOENT / -errno */
int store_asset_get(struct store *s, const char *sha, struct store_asset *a);
/* Set or clear the published flag. \retval 0 / -ENOENT / -errno */
int store_asset_set_published(struct store *s, const char *sha, bool published);
/* Call FN for every asset last referenced before CUTOFF_MS, oldest first.
 * The list is read before the first call, so FN may call
 * store_asset_forget(). FN returning non-zero stops the walk and is
 * returned. \retval 0 / FN's value / -errno */
int store_assets_stale(struct store *s, int64_t cutoff_ms,
		       int (*fn)(const struct store_asset *a, void *ud), void *ud);
/* Drop SHA from the store. \retval 0 / -ENOENT / -errno */
int store_asset_forget(struct store *s, const char *sha);

/* ---- Alerts ----------------------------------------------------------- */

struct store_alert {
	const char *id;            /* ≤ STORE_OCC_MAX printable ASCII */
	int level;                 /* 1..4 */
	const char *alert_class;   /* actual | drill | test */
	int64_t issued_ms, start_ms, expires_ms;
	const char *title;
	const char *targets_json;  /* the alert's "targets" object, as sent */
	const char *live;          /* stream name or NULL */
};

/* Record an issued alert and the nodes it targets.
 * \retval 0 / -EEXIST id already stored / -EINVAL / -errno */
int store_alert_add(struct store *s, const struct store_alert *a,
		    const char *const *nodes, size_t nnodes);
/* \retval 0 / -ENOENT unknown id / -EALREADY already cancelled / -errno */
int store_alert_cancel(struct store *s, const char *id, int64_t cancelled_ms);

/* ---- Fleet at a glance (`cunxiang nodes`) ----------------------------- */

struct store_node {
	char id[STORE_ID_MAX + 1];
	char village_code[STORE_TEXT_MAX * 4 + 1];   /* "" when not in the fleet */
	char village_name[STORE_TEXT_MAX * 4 + 1];
	int64_t households;        /* STORE_NONE when not in the fleet */
	bool in_fleet;
	bool has_status;           /* a status was ever received */
	char state[16];            /* idle|playing|fault|offline, "" without status */
	int64_t last_seen_ms;      /* last status or receipt; STORE_NONE never */
	int64_t status_ms;         /* when the current status was received */
	int64_t plan_issued_ms;    /* from the status; STORE_NONE if absent */
	int64_t published_issued_ms; /* STORE_NONE when none was published */
	int64_t assets_missing, volume, clock_offset_us, spool, rejected, xruns, uptime_s;
	char version[STORE_VERSION_MAX * 4 + 1];
	int64_t ack_through;       /* 0 when no receipt */
	int64_t receipts;          /* stored, quarantined included */
	int64_t held;              /* stored above ack_through: waiting for a gap */
	char disk[8];              /* "ok", "full", "" unknown */
	int64_t lost;              /* receipts the pole reported lost, or dropped */
	char key_id[ENV_KEYID_LEN + 1]; /* "" not enrolled */
	int64_t keys_ms;           /* the keys message it trusts (`cunxiang trust`);
				    * STORE_NONE: node.yaml's trusted_keys */
};

/* Every node of the fleet plus every node that sent a status, by id.
 * *OUT is malloc'ed (free() it), *N its length. \retval 0 / -errno */
int store_nodes(struct store *s, struct store_node **out, size_t *n);

/* ---- Reading for reports (`cunxiang report`) -------------------------- */

/* Read everything from one snapshot until store_snapshot_end(): the
 * figures of one report then agree with each other while `serve` keeps
 * writing (and the reads skip re-checking the WAL each time). Also on a
 * read-only store. No writes in between. \retval 0 / -EINVAL one is open
 * / -errno */
int store_snapshot(struct store *s);
/* End the snapshot. Safe to call when none is open. */
void store_snapshot_end(struct store *s);

/* One stored receipt. Strings are valid during the callback only; absent
 * numbers are STORE_NONE. */
struct store_rcpt {
	const char *node, *occ;
	const char *kind;          /* plan | alert | live */
	const char *state;         /* accepted ... expired */
	const char *reason;        /* NULL when none */
	int64_t seq;
	int64_t scheduled_ms, started_ms, ended_ms, played_ms, start_error_us, volume;
	int64_t received_ms;
};

/* A planned (node, occurrence) with the receipts stored for it. */
struct store_play {
	const char *node, *occ, *notice, *broadcast, *village_code;
	int64_t start_ms, duration_ms;
	int priority;
	/* Its receipts (kind plan, same node and occ) by seq; played_ms,
	 * start_error_us and volume are left STORE_NONE. */
	const struct store_rcpt *receipts;
	size_t nreceipts;
};

/* Call FN for every planned (node, occ) with FROM_MS ≤ start_ms < TO_MS,
 * ordered by node, then start_ms, then occ. Receipts sent more than a day
 * before FROM_MS (by the controller's clock when they arrived) are not
 * looked at. FN returning non-zero stops the walk and is returned.
 * \retval 0 / FN's value / -errno */
int store_plays(struct store *s, int64_t from_ms, int64_t to_ms,
		int (*fn)(const struct store_play *p, void *ud), void *ud);

/* Call FN for every node the store knows, in the fleet or not (reports of
 * the past need both), by id. TAGS are not filled in. \retval 0 / FN's
 * value / -errno */
int store_fleet_each(struct store *s,
		     int (*fn)(const struct store_fleet_node *n, bool in_fleet, void *ud), void *ud);

/* Call FN for every alert issued at FROM_MS ≤ issued_ms < TO_MS, by
 * issued_ms then id; CANCELLED_MS is STORE_NONE for one never cancelled.
 * The alerts are read before the first call, so FN may call
 * store_alert_receipts(). \retval 0 / FN's value / -errno */
int store_alerts(struct store *s, int64_t from_ms, int64_t to_ms,
		 int (*fn)(const struct store_alert *a, int64_t cancelled_ms, void *ud), void *ud);

/* Call FN, by node id, for each node alert ID targeted and each other node
 * that sent a receipt for it (TARGETED false), with that node's receipts
 * for it (kind alert or live, occ ID) by seq; N is 0 for a node that sent
 * none. \retval 0 / FN's value / -errno */
int store_alert_receipts(struct store *s, const char *id,
			 int (*fn)(const char *node, bool targeted, const struct store_rcpt *r,
				   size_t n, void *ud),
			 void *ud);

/* Call FN for every receipt flagged unknown_occ whose occ is still neither
 * planned for its node (kind plan) nor a stored alert (alert, live), with
 * FROM_MS ≤ its instant < TO_MS, where its instant is scheduled_ms, else
 * started_ms, else received_ms; by node, then seq. \retval 0 / FN's value
 * / -errno */
int store_receipts_unknown(struct store *s, int64_t from_ms, int64_t to_ms,
			   int (*fn)(const struct store_rcpt *r, void *ud), void *ud);

/* Call FN for every quarantined receipt received at FROM_MS ≤ received_ms
 * < TO_MS, by received_ms, node and seq, with the reason it was refused.
 * \retval 0 / FN's value / -errno */
int store_receipts_quarantined(struct store *s, int64_t from_ms, int64_t to_ms,
			       int (*fn)(const char *node, int64_t seq, int64_t received_ms,
					 const char *error, void *ud),
			       void *ud);

/* Call FN for every "lost" record (a receipt its pole could not keep)
 * received at FROM_MS ≤ received_ms < TO_MS, by received_ms, node and seq,
 * with the pole's reason. \retval 0 / FN's value / -errno */
int store_receipts_lost(struct store *s, int64_t from_ms, int64_t to_ms,
			int (*fn)(const char *node, int64_t seq, int64_t received_ms,
				  const char *reason, void *ud),
			void *ud);

/* Call FN for every message kept in the quarantine (it did not verify)
 * received at FROM_MS ≤ received_ms < TO_MS, with the node its topic named
 * ("" none), its row id and why. \retval 0 / FN's value / -errno */
int store_unverified(struct store *s, int64_t from_ms, int64_t to_ms,
		     int (*fn)(const char *node, int64_t id, int64_t received_ms,
			       const char *reason, void *ud),
		     void *ud);
