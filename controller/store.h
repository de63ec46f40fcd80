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
#define STORE_SCHEMA_VERSION 5

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
 * When ERRMSG is not NULL it receives a one-line reason (up to ERRLEN).
 * The store it returns is used by one thread at a time: SQLite takes no
 * mutex for it. */
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

/* ---- CAP messages (automatic warnings) -------------------------------- */

/*
 * Every CAP document that arrives is kept with what was decided about it
 * and why: the evidence of the automatic warnings. Rows are never deleted,
 * and the key (sender, identifier) is stored once. A document that could
 * not be parsed (or whose sender or identifier cannot be a key, see
 * store_cap_add) is kept under sender "" and identifier "sha256:" + the hex
 * SHA-256 of its bytes (store_cap_anon), so the same bad file arriving
 * twice is one row.
 */

#define STORE_CAP_ID_MAX     255      /* bytes of a sender or an identifier */
#define STORE_CAP_ORIGIN_MAX 4095     /* bytes of an origin (path or URL) */
#define STORE_CAP_REASON_MAX 1023     /* bytes of a reason */
#define STORE_CAP_REFS_MAX   8191     /* bytes of <references> as written */
#define STORE_CAP_DOC_MAX    (1u << 20) /* bytes of a document kept (CAP_MAX_BYTES) */

/* The decisions a stored message can carry: decide.h's six, then what
 * became of a hold. */
#define STORE_CAP_DECISIONS "broadcast cancel update hold ignore reject approved expired"

/* One stored CAP message. Every text member is a NUL-terminated string
 * that fits its array; "" is "absent". Text other than the key is stored
 * as given but for control characters (each becomes a space) and bytes
 * that are not UTF-8 (each becomes U+FFFD), so it is safe in every report
 * format; a caller filling the arrays cuts long text itself (snprintf):
 * the document is the full record. About 15 KiB: allocate it, or make it
 * static, rather than put several on a thread's stack. */
struct store_cap {
	char sender[STORE_CAP_ID_MAX + 1];     /* "" when the document could not be parsed */
	char identifier[STORE_CAP_ID_MAX + 1]; /* never "" */
	int64_t sent_ms;                       /* <sent>; STORE_NONE unknown */
	int64_t received_ms;                   /* when the controller got it */
	char origin[STORE_CAP_ORIGIN_MAX + 1]; /* the file's path or the URL */
	char msg_type[16];                     /* Alert Update Cancel Ack Error; "" unknown */
	char status[16];                       /* Actual Exercise System Test Draft; "" unknown */
	char decision[16];                     /* one of STORE_CAP_DECISIONS */
	char reason[STORE_CAP_REASON_MAX + 1]; /* one line, never "" */
	/* Once a hold became approved, expired or reject (store_cap_decide):
	 * the reason it was held. "" otherwise; ignored by store_cap_add. */
	char hold_reason[STORE_CAP_REASON_MAX + 1];
	int level;                             /* 1..4; 0 when nothing plays */
	char alert_class[8];                   /* actual drill test; "" */
	char alert_id[STORE_OCC_MAX + 1];      /* the alert it issued; "" none */
	int64_t nodes;                         /* nodes targeted (>= 0) */
	char voice[STORE_TEXT_MAX + 1];        /* voice profile; "" */
	char title[STORE_TEXT_MAX * 4 + 1];    /* headline, else event; "" */
	int64_t expires_ms;                    /* STORE_NONE none */
	char refs[STORE_CAP_REFS_MAX + 1];     /* <references> as written; "" */
	int64_t doc_size;                      /* bytes that arrived (the kept
						* document is the first
						* STORE_CAP_DOC_MAX); set by the store */
	int64_t decided_ms;                    /* last decision; STORE_NONE: received_ms */
};

/* Key C by its document DOC[0..LEN) (NULL, 0: nothing could be read):
 * sender "", identifier "sha256:" + hex SHA-256 of the bytes. For a
 * document that did not parse, or whose sender or identifier store_cap_add
 * refuses. Touches nothing else of C. */
void store_cap_anon(struct store_cap *c, const void *doc, size_t len);

/* Keep message C and its document DOC[0..LEN) (DOC may be NULL when LEN is
 * 0: a document that could not be read; one longer than STORE_CAP_DOC_MAX
 * is kept cut to that, with doc_size telling its length).
 * A key (sender, identifier) is stored once: a second arrival returns
 * -EEXIST and changes nothing. If its document differs (store_cap_get to
 * compare), the caller keeps the newcomer too, under store_cap_anon()
 * with decision reject, so that nothing said vanishes.
 * \retval 0
 * \retval -EEXIST (sender, identifier) is already stored
 * \retval -EINVAL a bad member: identifier "", a sender or identifier with
 *                 a control character or bytes that are not UTF-8 (keep
 *                 it under store_cap_anon() instead), an unknown decision
 *                 or class, level outside 0..4, nodes < 0, a bad alert
 *                 id, an unterminated array, reason ""
 * \retval -errno  SQLite failure; store_errmsg() says why */
int store_cap_add(struct store *s, const struct store_cap *c, const void *doc, size_t len);

/* The message (SENDER, IDENTIFIER) into *OUT (may be NULL); with DOC not
 * NULL, *DOC gets its document, malloc'd (free() it) with a NUL after the
 * *LEN bytes, or NULL and *LEN 0 when none was kept.
 * \retval 0 / -ENOENT / -ENOMEM / -errno */
int store_cap_get(struct store *s, const char *sender, const char *identifier,
		  struct store_cap *out, void **doc, size_t *len);

/* The same by IDENTIFIER alone (`cunxiang cap --approve IDENTIFIER`).
 * \retval 0 / -ENOENT / -EEXIST several senders used it: ambiguous,
 * store_errmsg() names them; ask for the sender and use store_cap_get()
 * / -ENOMEM / -errno */
int store_cap_find(struct store *s, const char *identifier, struct store_cap *out,
		   void **doc, size_t *len);

/* What became of a held message at NOW_MS: DECISION "approved" with the
 * ALERT_ID it issued, or "expired" or "reject" (an operator refused it)
 * with ALERT_ID NULL; REASON (one line) replaces the reason, which moves to
 * hold_reason. Only a message whose decision is "hold" changes, once: an
 * approval racing an expiry, or a second approval, gets -EALREADY.
 * \retval 0 / -ENOENT no such message / -EALREADY not (or no longer) held,
 * store_errmsg() says what it is / -EINVAL / -errno */
int store_cap_decide(struct store *s, const char *sender, const char *identifier,
		     const char *decision, const char *reason, const char *alert_id,
		     int64_t now_ms);

/* The alerts to cancel or replace when a message references (SENDER,
 * IDENTIFIER): the alert that message issued, and the alerts issued by
 * every message that references it, transitively (an Update's own
 * alert: a chain Alert → Update → Cancel reaches the alert on the air), in
 * order of arrival, each once, into IDS[0..*N). Cancelled ones are listed
 * too (store_alert_cancel then says -EALREADY).
 * \retval 0 (*N may be 0: stored, but nothing was issued) / -ENOENT the
 * message is not stored / -E2BIG more than MAX (the first MAX are in IDS)
 * / -errno */
int store_cap_alerts_of(struct store *s, const char *sender, const char *identifier,
			char ids[][STORE_OCC_MAX + 1], size_t max, size_t *n);

/* Did a Cancel or Update of SENDER that references (SENDER, IDENTIFIER)
 * arrive already (a feed or a directory may hand them over before what they
 * replace)? Its identifier into BY and its msgType into TYPE.
 * \retval 0 yes / -ENOENT no / -errno */
int store_cap_superseded(struct store *s, const char *sender, const char *identifier,
			 char by[STORE_CAP_ID_MAX + 1], char type[16]);

/* The reason of a message whose decision is still being acted on, or
 * could not be (the broker away): "not sent: WHY". */
#define STORE_CAP_NOT_SENT "not sent: "
#define STORE_CAP_NOT_SENT_LEN "10"

/* What acting on a stored message's decision came to at NOW_MS: REASON
 * replaces its reason; ALERT_ID (NULL: keep the one stored) is the alert
 * it issued. Any decision. \retval 0 / -ENOENT / -EINVAL / -errno */
int store_cap_outcome(struct store *s, const char *sender, const char *identifier,
		      const char *reason, const char *alert_id, int64_t now_ms);

/* FN for every broadcast, update or cancel whose reason still says
 * STORE_CAP_NOT_SENT, that issued no alert and has not expired at NOW_MS,
 * by arrival. The list is read first, so FN may change the rows. FN
 * returning non-zero stops the walk and is returned.
 * \retval 0 / FN's / -ENOMEM / -errno */
int store_cap_unsent(struct store *s, int64_t now_ms,
		     int (*fn)(const struct store_cap *c, void *ud), void *ud);

/* FN for every message held now (decision "hold"), by arrival, EXPIRED
 * true when its expires_ms is at or before NOW_MS. The list is read before
 * the first call, so FN may call store_cap_decide(). FN returning non-zero
 * stops the walk and is returned. \retval 0 / FN's / -ENOMEM / -errno */
int store_cap_held(struct store *s, int64_t now_ms,
		   int (*fn)(const struct store_cap *c, bool expired, void *ud), void *ud);

/* Reading for `cunxiang report`, `nodes` and `alert`: report/query.h. */
