/* SPDX-License-Identifier: GPL-2.0-or-later */
/* query.c -- reading the store for reports, `cunxiang nodes` and alert delivery */
#include "report/query.h"
#include "store_days.h"
#include "store_db.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The statements kept prepared in the store's slots: those of calls made
 * once per node or per command. The walks below prepare theirs per call. */
static const char *const sql[S__COUNT] = {
	[S_TRANS_BEFORE] = "SELECT ms, state FROM transitions WHERE node = ?1 AND ms < ?2"
		" ORDER BY ms DESC, rowid DESC LIMIT 1",
	[S_TRANS_RANGE] = "SELECT ms, state FROM transitions WHERE node = ?1 AND ms >= ?2 AND ms < ?3"
		" ORDER BY ms, rowid",
	[S_NODES] = "WITH ids(id) AS (SELECT id FROM nodes WHERE in_fleet UNION SELECT node FROM status)"
		" SELECT ids.id, n.village_code, n.village_name, n.households, COALESCE(n.in_fleet, 0),"
		" st.state, max(COALESCE(st.last_seen_ms, a.last_ms), COALESCE(a.last_ms, st.last_seen_ms)),"
		" st.status_ms, st.plan_issued_ms, p.issued_ms,"
		" st.assets_missing, st.volume, st.clock_offset_us, st.spool, st.rejected, st.xruns,"
		" st.uptime_s, st.version, a.through - a.seq_base, a.count,"
		" (SELECT count(*) FROM receipts r WHERE r.node = ids.id AND r.seq > a.through)"
		" + (SELECT count(*) FROM receipts_bad b WHERE b.node = ids.id AND b.seq > a.through)"
		" + (SELECT count(*) FROM receipts_lost l WHERE l.node = ids.id AND l.seq > a.through),"
		" st.disk, (SELECT count(*) FROM receipts_lost l WHERE l.node = ids.id) + COALESCE(a.skipped, 0),"
		" (SELECT key_id FROM node_keys k WHERE k.node = ids.id AND k.retired_ms IS NULL"
		"  ORDER BY epoch DESC LIMIT 1),"
		" json_extract(st.json, '$.keys_ms')"
		" FROM ids LEFT JOIN nodes n ON n.id = ids.id LEFT JOIN status st ON st.node = ids.id"
		" LEFT JOIN published p ON p.node = ids.id LEFT JOIN ack_state a ON a.node = ids.id"
		" ORDER BY ids.id",
};

/* A statement of this file, from sql[] above. */
static sqlite3_stmt *stmt(struct store *s, enum store_sid id)
{
	return store_db_stmt(s, id, sql[id]);
}

/* ---- one snapshot -------------------------------------------------------- */

int rq_snapshot(struct store *s)
{
	int rc;

	if (store_db_batch(s) || !sqlite3_get_autocommit(store_db(s))) {
		store_db_seterr(s, "a transaction is already open");
		return -EINVAL;
	}
	/* BEGIN takes no lock; the first read does and holds it. */
	if ((rc = sqlite3_exec(store_db(s), "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
		return store_db_err(s, "snapshot", rc);
	return 0;
}

void rq_snapshot_end(struct store *s)
{
	if (s && !store_db_batch(s) && !sqlite3_get_autocommit(store_db(s)))
		sqlite3_exec(store_db(s), "COMMIT", NULL, NULL, NULL);
}

/* ---- fleet at a glance -------------------------------------------------- */

int rq_nodes(struct store *s, struct store_node **out, size_t *n)
{
	sqlite3_stmt *st = stmt(s, S_NODES);
	struct store_node *v = NULL, *x;
	size_t cap = 0;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct store_node *nv = realloc(v, nc * sizeof(*v));

			if (!nv) {
				store_db_seterr(s, "out of memory");
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		x = &v[(*n)++];
		memset(x, 0, sizeof(*x));
		store_db_column_copy(st, 0, x->id, sizeof(x->id));
		store_db_column_copy(st, 1, x->village_code, sizeof(x->village_code));
		store_db_column_copy(st, 2, x->village_name, sizeof(x->village_name));
		x->households = store_db_column_opt(st, 3);
		x->in_fleet = sqlite3_column_int(st, 4) != 0;
		x->has_status = sqlite3_column_type(st, 5) != SQLITE_NULL;
		store_db_column_copy(st, 5, x->state, sizeof(x->state));
		x->last_seen_ms = store_db_column_opt(st, 6);
		x->status_ms = store_db_column_opt(st, 7);
		x->plan_issued_ms = store_db_column_opt(st, 8);
		x->published_issued_ms = store_db_column_opt(st, 9);
		x->assets_missing = store_db_column_opt(st, 10);
		x->volume = store_db_column_opt(st, 11);
		x->clock_offset_us = store_db_column_opt(st, 12);
		x->spool = store_db_column_opt(st, 13);
		x->rejected = store_db_column_opt(st, 14);
		x->xruns = store_db_column_opt(st, 15);
		x->uptime_s = store_db_column_opt(st, 16);
		store_db_column_copy(st, 17, x->version, sizeof(x->version));
		x->ack_through = sqlite3_column_int64(st, 18);
		x->receipts = sqlite3_column_int64(st, 19);
		x->held = sqlite3_column_int64(st, 20);
		store_db_column_copy(st, 21, x->disk, sizeof(x->disk));
		x->lost = sqlite3_column_int64(st, 22);
		store_db_column_copy(st, 23, x->key_id, sizeof(x->key_id));
		x->keys_ms = store_db_column_opt(st, 24);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, "nodes", rc);
	store_db_release(st);
	if (r < 0) {
		free(v);
		*n = 0;
		return r;
	}
	*out = v;
	return 0;
}

/* ---- status history ---------------------------------------------------- */

struct transition {
	int64_t ms;
	char state[16];
};

static int transitions_collect(struct store *s, sqlite3_stmt *st, struct transition **v, size_t *n,
			       size_t *cap)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			struct transition *nv = realloc(*v, nc * sizeof(**v));

			if (!nv) {
				store_db_release(st);
				store_db_seterr(s, "out of memory");
				return -ENOMEM;
			}
			*v = nv;
			*cap = nc;
		}
		(*v)[*n].ms = sqlite3_column_int64(st, 0);
		store_db_column_copy(st, 1, (*v)[*n].state, sizeof((*v)[*n].state));
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		int r = store_db_err(s, "transitions", rc);

		store_db_release(st);
		return r;
	}
	store_db_release(st);
	return 0;
}

int rq_transitions(struct store *s, const char *node, int64_t from_ms, int64_t to_ms,
		   int (*fn)(int64_t ms, const char *state, void *ud), void *ud)
{
	struct transition *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *before = stmt(s, S_TRANS_BEFORE), *range = stmt(s, S_TRANS_RANGE);
	int r;

	if (!before || !range)
		return -EIO;
	sqlite3_bind_text(before, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(before, 2, from_ms);
	if ((r = transitions_collect(s, before, &v, &n, &cap)) < 0)
		goto out;
	sqlite3_bind_text(range, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(range, 2, from_ms);
	sqlite3_bind_int64(range, 3, to_ms);
	if ((r = transitions_collect(s, range, &v, &n, &cap)) < 0)
		goto out;
	for (size_t i = 0; i < n && r == 0; i++)
		r = fn(v[i].ms, v[i].state, ud);
out:
	free(v);
	return r;
}

/* ---- plays, alerts and receipts ------------------------------------------ */

/* These run once per report, so their statements are prepared per call
 * rather than kept. */
static int prepare(struct store *s, const char *q, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(store_db(s), q, -1, st, NULL);

	if (rc != SQLITE_OK) {
		*st = NULL;
		return store_db_err(s, "prepare", rc);
	}
	return 0;
}

static const char *column_str(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* The receipt columns every report query selects, in this order. */
#define RCPT_COLS(p) p "kind, " p "state, " p "reason, " p "seq, " p "scheduled_ms, " \
	p "started_ms, " p "ended_ms, " p "played_ms, " p "start_error_us, " p "volume, " p "received_ms"

/* Fill R from RCPT_COLS at column I; strings point into the row. */
static void rcpt_read(sqlite3_stmt *st, int i, struct store_rcpt *r)
{
	r->kind = column_str(st, i);
	r->state = column_str(st, i + 1);
	r->reason = column_str(st, i + 2);
	r->seq = sqlite3_column_int64(st, i + 3);
	r->scheduled_ms = store_db_column_opt(st, i + 4);
	r->started_ms = store_db_column_opt(st, i + 5);
	r->ended_ms = store_db_column_opt(st, i + 6);
	r->played_ms = store_db_column_opt(st, i + 7);
	r->start_error_us = store_db_column_opt(st, i + 8);
	r->volume = store_db_column_opt(st, i + 9);
	r->received_ms = sqlite3_column_int64(st, i + 10);
}

/* A value of a CHECKed column as one of our constants, so it outlives the row. */
static const char *rcpt_intern(const char *t)
{
	static const char *const known[] = {
		"plan", "alert", "live", "accepted", "started", "completed", "interrupted",
		"failed", "skipped", "expired", NULL
	};

	for (size_t i = 0; t && known[i]; i++)
		if (!strcmp(t, known[i]))
			return known[i];
	return "?";
}

/* Grow *V (of *CAP elements of SIZE) to hold N + 1. \retval 0 / -ENOMEM */
static int reserve_n(void **v, size_t *cap, size_t n, size_t size)
{
	size_t nc;
	void *nv;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	if (!(nv = realloc(*v, nc * size)))
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

#define RESERVE_N(v, cap, n) reserve_n((void **)&(v), &(cap), (n), sizeof(*(v)))

/* The receipts of one node for an alert, copied out of their rows. */
struct rcpt_group {
	struct store_rcpt *v;
	size_t n, cap;
};

static int rcpt_group_add(struct store *s, struct rcpt_group *g, sqlite3_stmt *st, int i,
			  const char *node, const char *occ)
{
	struct store_rcpt *r;

	if (RESERVE_N(g->v, g->cap, g->n) < 0) {
		store_db_seterr(s, "out of memory");
		return -ENOMEM;
	}
	r = &g->v[g->n];
	rcpt_read(st, i, r);
	r->node = node;
	r->occ = occ;
	r->kind = rcpt_intern(r->kind);
	r->state = rcpt_intern(r->state);
	if (r->reason && !(r->reason = strdup(r->reason))) {
		store_db_seterr(s, "out of memory");
		return -ENOMEM;
	}
	g->n++;
	return 0;
}

static void rcpt_group_clear(struct rcpt_group *g)
{
	for (size_t i = 0; i < g->n; i++)
		free((char *)g->v[i].reason);
	g->n = 0;
}

static void rcpt_group_free(struct rcpt_group *g)
{
	rcpt_group_clear(g);
	free(g->v);
}

/* A receipt for an instant in a period arrived no earlier than the
 * period's start less this: a node hands an event to its player 1.5 s
 * ahead, and its clock follows the controller's. A day covers any
 * reasonable clock error. */
#define RCPT_SLACK_MS (24 * 3600 * 1000LL)

/* What walking a period keeps from node to node: statements used once per
 * node, and buffers reused for each. */
struct walk {
	sqlite3_stmt *next_node;      /* next planned node after ?1 */
	sqlite3_stmt *plays_idx;      /* a node's plays in [?2, ?3), through (node, start_ms) */
	sqlite3_stmt *plays_pk;       /* the same, scanning all the node's plays */
	sqlite3_stmt *first_play;     /* min(start_ms) of a node */
	sqlite3_stmt *last_play;      /* max(start_ms) of a node */
	sqlite3_stmt *days;           /* a node's packed days ?2 to ?3 */
	sqlite3_stmt *dirty;          /* whether a node has a day not packed */
	struct days_reader rd;
	struct wplay {
		struct store_play p;
		size_t off[4];        /* occ, notice, broadcast, village in text */
	} *v;
	size_t nv, vcap;
	char *text;                   /* the node's strings */
	size_t tlen, tcap;
};

static void walk_free(struct walk *w)
{
	sqlite3_finalize(w->next_node);
	sqlite3_finalize(w->plays_idx);
	sqlite3_finalize(w->plays_pk);
	sqlite3_finalize(w->first_play);
	sqlite3_finalize(w->last_play);
	sqlite3_finalize(w->days);
	sqlite3_finalize(w->dirty);
	days_reader_free(&w->rd);
	free(w->v);
	free(w->text);
}

/* Append T (NULL as "") to the node's strings. \retval offset / SIZE_MAX */
static size_t text_push(struct walk *w, const char *t)
{
	size_t len = t ? strlen(t) + 1 : 1, off = w->tlen;

	if (w->tlen + len > w->tcap) {
		size_t nc = w->tcap ? w->tcap : 4096;
		char *nt;

		while (nc < w->tlen + len)
			nc *= 2;
		if (!(nt = realloc(w->text, nc)))
			return SIZE_MAX;
		w->text = nt;
		w->tcap = nc;
	}
	memcpy(w->text + off, t ? t : "", len);
	w->tlen += len;
	return off;
}

/* One integer from ST bound to NODE. \retval 1 / 0 no row or NULL / -errno */
static int node_int(struct store *s, sqlite3_stmt *st, const char *node, int64_t *v)
{
	int rc;

	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*v = sqlite3_column_int64(st, 0);
		store_db_release(st);
		return 1;
	}
	store_db_release(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_db_err(s, "plays", rc);
}

static int play_cmp(const void *a, const void *b)
{
	const struct wplay *x = a, *y = b;

	if (x->p.start_ms != y->p.start_ms)
		return x->p.start_ms < y->p.start_ms ? -1 : 1;
	return strcmp(x->p.occ, y->p.occ);
}

/* The node's plays in the period, by start_ms then occ. \retval 0 / -errno */
static int walk_plays(struct store *s, struct walk *w, const char *node, int64_t from_ms, int64_t to_ms)
{
	int64_t first, last, span, overlap;
	sqlite3_stmt *st;
	int rc;

	w->nv = w->tlen = 0;
	if ((rc = node_int(s, w->first_play, node, &first)) <= 0 ||
	    (rc = node_int(s, w->last_play, node, &last)) <= 0)
		return rc;
	span = last - first + 1;
	overlap = (to_ms < last + 1 ? to_ms : last + 1) - (from_ms > first ? from_ms : first);
	if (overlap <= 0)
		return 0;
	/* When the period holds a good part of the node's plans, one pass
	 * over its primary key range beats a row lookup per play from the
	 * (node, start_ms) index; when the store holds much more history, the
	 * index wins. */
	st = overlap >= span / 4 ? w->plays_pk : w->plays_idx;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from_ms);
	sqlite3_bind_int64(st, 3, to_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct wplay *x;

		if (RESERVE_N(w->v, w->vcap, w->nv) < 0)
			goto oom;
		x = &w->v[w->nv++];
		memset(x, 0, sizeof(*x));
		for (int k = 0; k < 4; k++)
			if ((x->off[k] = text_push(w, column_str(st, k))) == SIZE_MAX)
				goto oom;
		x->p.node = node;
		x->p.start_ms = sqlite3_column_int64(st, 4);
		x->p.duration_ms = sqlite3_column_int64(st, 5);
		x->p.priority = sqlite3_column_int(st, 6);
		x->p.outcome = store_days_outcome(st, STORE_DAYS_OUTCOME_COL, &x->p.done_ms);
		if (x->p.outcome == PLAY_COMPLETED && x->p.done_ms == STORE_NONE)
			x->p.done_ms = x->p.start_ms;
	}
	store_db_release(st);
	if (rc != SQLITE_DONE)
		return store_db_err(s, "plays", rc);
	/* The strings are in place now that the text no longer moves. */
	for (size_t i = 0; i < w->nv; i++) {
		struct wplay *x = &w->v[i];

		x->p.occ = w->text + x->off[0];
		x->p.notice = w->text + x->off[1];
		x->p.broadcast = w->text + x->off[2];
		x->p.village_code = w->text + x->off[3];
	}
	qsort(w->v, w->nv, sizeof(*w->v), play_cmp);
	return 0;
oom:
	store_db_release(st);
	store_db_seterr(s, "out of memory");
	return -ENOMEM;
}

/* Hand FN NODE's plays in the period from its packed days, in order.
 * \retval 0 / FN's value / -errno */
static int walk_days(struct store *s, struct walk *w, const char *node, int64_t from_ms,
		     int64_t to_ms, int (*fn)(const struct store_play *p, void *ud), void *ud)
{
	int64_t day = 0;
	int rc, r = 0;

	if (to_ms <= from_ms || to_ms <= 0)
		return 0;
	sqlite3_bind_text(w->days, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(w->days, 2, from_ms > 0 ? from_ms / STORE_DAY_MS : 0);
	sqlite3_bind_int64(w->days, 3, (to_ms - 1) / STORE_DAY_MS);
	while (r == 0 && (rc = sqlite3_step(w->days)) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(w->days, 1);
		size_t n = (size_t)sqlite3_column_bytes(w->days, 1);

		day = sqlite3_column_int64(w->days, 0);
		r = store_days_each(&w->rd, node, day, b, n, from_ms, to_ms, fn, ud);
	}
	store_db_release(w->days);
	if (r == -EUCLEAN && w->rd.damaged) {
		store_db_seterr(s, "plays: the packed plays of node %s on day %lld (UTC) are damaged",
				node, (long long)day);
	} else if (r == -ENOMEM && w->rd.damaged) {
		store_db_seterr(s, "out of memory");
	} else if (r == 0 && rc != SQLITE_DONE) {
		r = store_db_err(s, "plays", rc);
	}
	return r;
}

int rq_plays(struct store *s, int64_t from_ms, int64_t to_ms,
	     int (*fn)(const struct store_play *p, void *ud), void *ud)
{
	/* Node by node, each node's plays sorted by start: a report folds a
	 * node's plays of one day together. A node's packed days are read
	 * unless one of them is still noted as changed (written by another
	 * program than cunxiang), then its rows of `planned`. */
	struct walk w = { 0 };
	char node[STORE_ID_MAX * 4 + 1] = "";
	int64_t any_dirty = 0, dirty;
	sqlite3_stmt *st;
	int rc, r;

	if ((r = prepare(s, "SELECT node FROM planned WHERE node > ?1 ORDER BY node LIMIT 1",
			 &w.next_node)) < 0 ||
	    (r = prepare(s, "SELECT " STORE_DAYS_PLAY_COLS " FROM planned WHERE node = ?1 AND start_ms >= ?2"
			 " AND start_ms < ?3", &w.plays_idx)) < 0 ||
	    /* "+" keeps the planner off the (node, start_ms) index. */
	    (r = prepare(s, "SELECT " STORE_DAYS_PLAY_COLS " FROM planned WHERE node = ?1 AND +start_ms >= ?2"
			 " AND +start_ms < ?3", &w.plays_pk)) < 0 ||
	    (r = prepare(s, "SELECT min(start_ms) FROM planned WHERE node = ?1", &w.first_play)) < 0 ||
	    (r = prepare(s, "SELECT max(start_ms) FROM planned WHERE node = ?1", &w.last_play)) < 0 ||
	    (r = prepare(s, "SELECT day, plays FROM play_days WHERE node = ?1 AND day >= ?2"
			 " AND day <= ?3 ORDER BY day", &w.days)) < 0 ||
	    (r = prepare(s, "SELECT 1 FROM play_days_dirty WHERE node = ?1 LIMIT 1", &w.dirty)) < 0 ||
	    (r = prepare(s, "SELECT EXISTS(SELECT 1 FROM play_days_dirty)", &st)) < 0)
		goto out;
	r = store_db_query_int(s, st, "plays", &any_dirty);
	sqlite3_finalize(st);
	if (r < 0)
		goto out;
	r = 0;
	for (;;) {
		sqlite3_bind_text(w.next_node, 1, node, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(w.next_node);
		if (rc == SQLITE_DONE) {
			store_db_release(w.next_node);
			break;
		}
		if (rc != SQLITE_ROW) {
			r = store_db_err(s, "plays", rc);
			store_db_release(w.next_node);
			break;
		}
		store_db_column_copy(w.next_node, 0, node, sizeof(node));
		store_db_release(w.next_node);
		if (any_dirty && (r = node_int(s, w.dirty, node, &dirty)) < 0)
			break;
		if (!any_dirty || r == 0) {
			if ((r = walk_days(s, &w, node, from_ms, to_ms, fn, ud)) != 0)
				break;
			continue;
		}
		if ((r = walk_plays(s, &w, node, from_ms, to_ms)) < 0)
			break;
		for (size_t i = 0; i < w.nv && r == 0; i++)
			r = fn(&w.v[i].p, ud);
		if (r != 0)
			break;
	}
out:
	walk_free(&w);
	return r;
}

int rq_fleet_each(struct store *s,
		  int (*fn)(const struct store_fleet_node *n, bool in_fleet, void *ud), void *ud)
{
	sqlite3_stmt *st;
	int rc, r;

	if ((r = prepare(s, "SELECT id, village_code, village_name, households, in_fleet FROM nodes"
			 " ORDER BY id", &st)) < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_fleet_node n = {
			.id = column_str(st, 0), .village_code = column_str(st, 1),
			.village_name = column_str(st, 2), .households = sqlite3_column_int64(st, 3),
		};

		if (n.id && n.village_code && n.village_name &&
		    (r = fn(&n, sqlite3_column_int(st, 4) != 0, ud)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, "fleet", rc);
	sqlite3_finalize(st);
	return r;
}

struct alert_row {
	struct store_alert a;
	int64_t cancelled_ms;
};

static void alert_rows_free(struct alert_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)v[i].a.id);
		free((char *)v[i].a.alert_class);
		free((char *)v[i].a.title);
		free((char *)v[i].a.targets_json);
		free((char *)v[i].a.live);
	}
	free(v);
}

static char *dup_or_null(const char *t, bool *oom)
{
	char *d;

	if (!t)
		return NULL;
	if (!(d = strdup(t)))
		*oom = true;
	return d;
}

int rq_alerts(struct store *s, int64_t from_ms, int64_t to_ms,
	      int (*fn)(const struct store_alert *a, int64_t cancelled_ms, void *ud), void *ud)
{
	struct alert_row *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	bool oom = false;
	int rc, r;

	if ((r = prepare(s, "SELECT id, level, class, issued_ms, start_ms, expires_ms, title, targets,"
			 " live, cancelled_ms FROM alerts WHERE issued_ms >= ?1 AND issued_ms < ?2"
			 " ORDER BY issued_ms, id", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, from_ms);
	sqlite3_bind_int64(st, 2, to_ms);
	while (!oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct alert_row *x;

		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct alert_row *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				oom = true;
				break;
			}
			v = nv;
			cap = nc;
		}
		x = &v[n++];
		memset(x, 0, sizeof(*x));
		x->a.id = dup_or_null(column_str(st, 0), &oom);
		x->a.level = sqlite3_column_int(st, 1);
		x->a.alert_class = dup_or_null(column_str(st, 2), &oom);
		x->a.issued_ms = sqlite3_column_int64(st, 3);
		x->a.start_ms = sqlite3_column_int64(st, 4);
		x->a.expires_ms = sqlite3_column_int64(st, 5);
		x->a.title = dup_or_null(column_str(st, 6), &oom);
		x->a.targets_json = dup_or_null(column_str(st, 7), &oom);
		x->a.live = dup_or_null(column_str(st, 8), &oom);
		x->cancelled_ms = store_db_column_opt(st, 9);
	}
	if (oom) {
		store_db_seterr(s, "out of memory");
		r = -ENOMEM;
	} else if (rc != SQLITE_DONE) {
		r = store_db_err(s, "alerts", rc);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n && r == 0; i++)
		r = fn(&v[i].a, v[i].cancelled_ms, ud);
	alert_rows_free(v, n);
	return r;
}

int rq_alert_receipts(struct store *s, const char *id,
		      int (*fn)(const char *node, bool targeted, const struct store_rcpt *r,
				size_t n, void *ud),
		      void *ud)
{
	/* Two ordered lists merged here: the targets (by the primary key) and
	 * the receipts (receipts(occ, node) holds (occ, node, seq)). Without
	 * INDEXED BY the planner, which has no ANALYZE statistics, may walk
	 * every receipt of the store instead. */
	char tnode[STORE_ID_MAX * 4 + 1] = "", rnode[STORE_ID_MAX * 4 + 1] = "";
	sqlite3_stmt *tg = NULL, *rc_st = NULL;
	struct rcpt_group g = { 0 };
	bool have_t, have_r;
	int rc, r;

	if ((r = prepare(s, "SELECT node FROM alert_targets WHERE alert = ?1 ORDER BY node", &tg)) < 0 ||
	    (r = prepare(s, "SELECT node, " RCPT_COLS("") " FROM receipts INDEXED BY receipts_alert"
			 " WHERE occ = ?1 AND kind IN ('alert', 'live') ORDER BY node, seq", &rc_st)) < 0)
		goto out;
	sqlite3_bind_text(tg, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(rc_st, 1, id, -1, SQLITE_STATIC);
	have_t = (rc = sqlite3_step(tg)) == SQLITE_ROW;
	if (!have_t && rc != SQLITE_DONE)
		goto fail_t;
	have_r = (rc = sqlite3_step(rc_st)) == SQLITE_ROW;
	if (!have_r && rc != SQLITE_DONE)
		goto fail_r;
	while (have_t || have_r) {
		const char *t = have_t ? column_str(tg, 0) : NULL;
		const char *x = have_r ? column_str(rc_st, 0) : NULL;
		int c = !t ? 1 : !x ? -1 : strcmp(t, x);
		bool targeted = c <= 0;
		char *node = c <= 0 ? tnode : rnode;

		snprintf(node, sizeof(tnode), "%s", c <= 0 ? t : x);
		/* This node's receipts. */
		while (have_r && !strcmp(column_str(rc_st, 0) ? column_str(rc_st, 0) : "", node)) {
			if ((r = rcpt_group_add(s, &g, rc_st, 1, node, id)) < 0)
				goto out;
			have_r = (rc = sqlite3_step(rc_st)) == SQLITE_ROW;
			if (!have_r && rc != SQLITE_DONE)
				goto fail_r;
		}
		if (targeted) {
			have_t = (rc = sqlite3_step(tg)) == SQLITE_ROW;
			if (!have_t && rc != SQLITE_DONE)
				goto fail_t;
		}
		r = fn(node, targeted, g.v, g.n, ud);
		rcpt_group_clear(&g);
		if (r != 0)
			goto out;
	}
	goto out;
fail_t:
	r = store_db_err(s, "alert targets", rc);
	goto out;
fail_r:
	r = store_db_err(s, "alert receipts", rc);
out:
	sqlite3_finalize(tg);
	sqlite3_finalize(rc_st);
	rcpt_group_free(&g);
	return r;
}

int rq_receipts_unknown(struct store *s, int64_t from_ms, int64_t to_ms,
			int (*fn)(const struct store_rcpt *r, void *ud), void *ud)
{
	/* Through the partial index of such receipts by arrival, so that
	 * the cost follows them and the period, not the store: named, since
	 * the planner would rather walk every receipt in the ORDER BY's order
	 * than sort the few it finds. */
	static const char q[] =
		"SELECT r.node, r.occ, " RCPT_COLS("r.") " FROM receipts r INDEXED BY receipts_unknown"
		" WHERE r.unknown_occ AND r.received_ms >= ?1"
		" AND COALESCE(r.scheduled_ms, r.started_ms, r.received_ms) >= ?2"
		" AND COALESCE(r.scheduled_ms, r.started_ms, r.received_ms) < ?3"
		" AND NOT CASE WHEN r.kind = 'plan'"
		"  THEN EXISTS(SELECT 1 FROM planned p WHERE p.node = r.node AND p.occ = r.occ)"
		"  ELSE EXISTS(SELECT 1 FROM alerts a WHERE a.id = r.occ) END"
		" ORDER BY r.node, r.seq";
	sqlite3_stmt *st;
	int rc, r;

	if ((r = prepare(s, q, &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, from_ms - RCPT_SLACK_MS);
	sqlite3_bind_int64(st, 2, from_ms);
	sqlite3_bind_int64(st, 3, to_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_rcpt x;

		rcpt_read(st, 2, &x);
		x.node = column_str(st, 0);
		x.occ = column_str(st, 1);
		if (x.node && x.occ && (r = fn(&x, ud)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, "unknown receipts", rc);
	sqlite3_finalize(st);
	return r;
}

/* FN(node, seq, received_ms, text) for every row of QUERY (those four
 * columns, bound ?1 = FROM_MS, ?2 = TO_MS); a NULL node is passed as "". */
static int walk_rows(struct store *s, const char *query, const char *what, int64_t from_ms,
		     int64_t to_ms,
		     int (*fn)(const char *node, int64_t seq, int64_t received_ms,
			       const char *text, void *ud),
		     void *ud)
{
	sqlite3_stmt *st;
	int rc, r;

	if ((r = prepare(s, query, &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, from_ms);
	sqlite3_bind_int64(st, 2, to_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *node = column_str(st, 0), *text = column_str(st, 3);

		if ((r = fn(node ? node : "", sqlite3_column_int64(st, 1),
			    sqlite3_column_int64(st, 2), text ? text : "", ud)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, what, rc);
	sqlite3_finalize(st);
	return r;
}

int rq_receipts_quarantined(struct store *s, int64_t from_ms, int64_t to_ms,
			    int (*fn)(const char *node, int64_t seq, int64_t received_ms,
				      const char *error, void *ud),
			    void *ud)
{
	return walk_rows(s, "SELECT node, seq, received_ms, error FROM receipts_bad"
			 " WHERE received_ms >= ?1 AND received_ms < ?2"
			 " ORDER BY received_ms, node, seq", "quarantined receipts",
			 from_ms, to_ms, fn, ud);
}

int rq_receipts_lost(struct store *s, int64_t from_ms, int64_t to_ms,
		     int (*fn)(const char *node, int64_t seq, int64_t received_ms,
			       const char *reason, void *ud),
		     void *ud)
{
	return walk_rows(s, "SELECT node, seq, received_ms, reason FROM receipts_lost"
			 " WHERE received_ms >= ?1 AND received_ms < ?2"
			 " ORDER BY received_ms, node, seq", "receipts lost on poles",
			 from_ms, to_ms, fn, ud);
}

int rq_unverified(struct store *s, int64_t from_ms, int64_t to_ms,
		  int (*fn)(const char *node, int64_t id, int64_t received_ms,
			    const char *reason, void *ud),
		  void *ud)
{
	return walk_rows(s, "SELECT node, id, received_ms, reason FROM quarantine"
			 " WHERE received_ms >= ?1 AND received_ms < ?2"
			 " ORDER BY received_ms, id", "unverified messages", from_ms, to_ms, fn, ud);
}

/* ---- automatic warnings (CAP) -------------------------------------------- */

int rq_cap_alerts(struct store *s, int64_t from_ms, int64_t to_ms,
		  int (*fn)(const char *alert_id, const char *sender, const char *identifier,
			    void *ud),
		  void *ud)
{
	sqlite3_stmt *st;
	int rc, r;

	if ((r = prepare(s, "SELECT c.alert_id, c.sender, c.identifier FROM cap_messages c"
			 " JOIN alerts a ON a.id = c.alert_id"
			 " WHERE a.issued_ms >= ?1 AND a.issued_ms < ?2"
			 " ORDER BY c.received_ms, c.id", &st)) < 0)
		return r;
	sqlite3_bind_int64(st, 1, from_ms);
	sqlite3_bind_int64(st, 2, to_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = fn(column_str(st, 0), column_str(st, 1), column_str(st, 2), ud)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, "CAP alerts", rc);
	sqlite3_finalize(st);
	return r;
}

int rq_cap_not_broadcast(struct store *s, int64_t from_ms, int64_t to_ms,
			 int (*fn)(const struct store_cap *c, void *ud), void *ud)
{
	struct store_cap *c = malloc(sizeof(*c));
	sqlite3_stmt *st;
	int rc, r;

	if (!c) {
		store_db_seterr(s, "out of memory");
		return -ENOMEM;
	}
	if ((r = prepare(s, "SELECT " STORE_DB_CAP_COLS " FROM cap_messages"
			 " WHERE received_ms >= ?1 AND received_ms < ?2"
			 " AND decision IN ('hold', 'ignore', 'reject', 'expired')"
			 " ORDER BY received_ms, id", &st)) < 0) {
		free(c);
		return r;
	}
	sqlite3_bind_int64(st, 1, from_ms);
	sqlite3_bind_int64(st, 2, to_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_db_cap_row(st, 0, c);
		if ((r = fn(c, ud)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, "CAP messages not broadcast", rc);
	sqlite3_finalize(st);
	free(c);
	return r;
}
