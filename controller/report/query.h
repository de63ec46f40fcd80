/* SPDX-License-Identifier: GPL-2.0-or-later */
/* query.h -- reading the store for reports, `cunxiang nodes` and alert delivery */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Every call here only reads, also on a store opened STORE_READONLY, and
 * leaves the reason for a failure in store_errmsg(). Strings handed to a
 * callback are valid during that call only. */

/* ---- One snapshot ------------------------------------------------------ */

/* Read everything from one snapshot until rq_snapshot_end(): the figures
 * of one report then agree with each other while `serve` keeps writing
 * (and the reads skip re-checking the WAL each time). Also on a read-only
 * store. No writes in between. \retval 0 / -EINVAL one is open / -errno */
int rq_snapshot(struct store *s);
/* End the snapshot. Safe to call when none is open. */
void rq_snapshot_end(struct store *s);

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
int rq_nodes(struct store *s, struct store_node **out, size_t *n);

/* Call FN for each state change of NODE with FROM_MS ≤ ms < TO_MS, in
 * order, plus (first) the state in force at FROM_MS if one is known, with
 * its own ms. FN returning non-zero stops the walk and is returned.
 * \retval 0 / FN's value / -errno */
int rq_transitions(struct store *s, const char *node, int64_t from_ms, int64_t to_ms,
		   int (*fn)(int64_t ms, const char *state, void *ud), void *ud);

/* ---- Plays, alerts and receipts (`cunxiang report`) ------------------- */

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

/* What became of a play, by the plan receipts of its node and occurrence:
 * a completed one; else the last that ended it otherwise; else one that
 * says it was accepted or started; else none. */
enum play_outcome {
	PLAY_COMPLETED, PLAY_INTERRUPTED, PLAY_FAILED, PLAY_SKIPPED, PLAY_EXPIRED,
	PLAY_UNFINISHED, PLAY_NONE,
};

/* A planned (node, occurrence) and what its receipts said. The store
 * folds each receipt into its play as it arrives, so a walk over plays
 * reads no receipts. */
struct store_play {
	const char *node, *occ, *notice, *broadcast, *village_code;
	int64_t start_ms, duration_ms;
	int priority;
	enum play_outcome outcome;
	int64_t done_ms;           /* PLAY_COMPLETED: when the first completed
				      play started (start_ms when its receipt
				      did not say) */
	uint64_t row;              /* 0, or the packed day it was read from:
				      plays of one row with the same notice_ix
				      have the same notice, and so village_ix */
	uint32_t notice_ix, village_ix;
};

/* Call FN for every planned (node, occ) with FROM_MS ≤ start_ms < TO_MS,
 * ordered by node, then start_ms, then occ. FN returning non-zero stops
 * the walk and is returned. \retval 0 / FN's value / -errno */
int rq_plays(struct store *s, int64_t from_ms, int64_t to_ms,
	     int (*fn)(const struct store_play *p, void *ud), void *ud);

/* Call FN for every node the store knows, in the fleet or not (reports of
 * the past need both), by id. TAGS are not filled in. \retval 0 / FN's
 * value / -errno */
int rq_fleet_each(struct store *s,
		  int (*fn)(const struct store_fleet_node *n, bool in_fleet, void *ud), void *ud);

/* Call FN for every alert issued at FROM_MS ≤ issued_ms < TO_MS, by
 * issued_ms then id; CANCELLED_MS is STORE_NONE for one never cancelled.
 * The alerts are read before the first call, so FN may call
 * rq_alert_receipts(). \retval 0 / FN's value / -errno */
int rq_alerts(struct store *s, int64_t from_ms, int64_t to_ms,
	      int (*fn)(const struct store_alert *a, int64_t cancelled_ms, void *ud), void *ud);

/* Call FN, by node id, for each node alert ID targeted and each other node
 * that sent a receipt for it (TARGETED false), with that node's receipts
 * for it (kind alert or live, occ ID) by seq; N is 0 for a node that sent
 * none. \retval 0 / FN's value / -errno */
int rq_alert_receipts(struct store *s, const char *id,
		      int (*fn)(const char *node, bool targeted, const struct store_rcpt *r,
				size_t n, void *ud),
		      void *ud);

/* Call FN for every receipt flagged unknown_occ whose occ is still neither
 * planned for its node (kind plan) nor a stored alert (alert, live), with
 * FROM_MS ≤ its instant < TO_MS, where its instant is scheduled_ms, else
 * started_ms, else received_ms; by node, then seq. \retval 0 / FN's value
 * / -errno */
int rq_receipts_unknown(struct store *s, int64_t from_ms, int64_t to_ms,
			int (*fn)(const struct store_rcpt *r, void *ud), void *ud);

/* Call FN for every quarantined receipt received at FROM_MS ≤ received_ms
 * < TO_MS, by received_ms, node and seq, with the reason it was refused.
 * \retval 0 / FN's value / -errno */
int rq_receipts_quarantined(struct store *s, int64_t from_ms, int64_t to_ms,
			    int (*fn)(const char *node, int64_t seq, int64_t received_ms,
				      const char *error, void *ud),
			    void *ud);

/* Call FN for every "lost" record (a receipt its pole could not keep)
 * received at FROM_MS ≤ received_ms < TO_MS, by received_ms, node and seq,
 * with the pole's reason. \retval 0 / FN's value / -errno */
int rq_receipts_lost(struct store *s, int64_t from_ms, int64_t to_ms,
		     int (*fn)(const char *node, int64_t seq, int64_t received_ms,
			       const char *reason, void *ud),
		     void *ud);

/* Call FN for every message kept in the quarantine (it did not verify)
 * received at FROM_MS ≤ received_ms < TO_MS, with the node its topic named
 * ("" none), its row id and why. \retval 0 / FN's value / -errno */
int rq_unverified(struct store *s, int64_t from_ms, int64_t to_ms,
		  int (*fn)(const char *node, int64_t id, int64_t received_ms,
			    const char *reason, void *ud),
		  void *ud);

/* ---- Automatic warnings (CAP) ----------------------------------------- */

/* Call FN for every stored CAP message whose alert (alert_id) was issued
 * at FROM_MS ≤ issued_ms < TO_MS, with that alert's id and the message's
 * sender and identifier, by arrival. \retval 0 / FN's value / -errno */
int rq_cap_alerts(struct store *s, int64_t from_ms, int64_t to_ms,
		  int (*fn)(const char *alert_id, const char *sender, const char *identifier,
			    void *ud),
		  void *ud);

/* Call FN for every CAP message received at FROM_MS ≤ received_ms < TO_MS
 * that was not broadcast: decision hold, ignore, reject or expired; by
 * received_ms, then arrival. *C is valid during the call only.
 * \retval 0 / FN's value / -ENOMEM / -errno */
int rq_cap_not_broadcast(struct store *s, int64_t from_ms, int64_t to_ms,
			 int (*fn)(const struct store_cap *c, void *ud), void *ud);
