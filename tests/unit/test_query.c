/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_query.c -- reading the store for reports: plays, alerts, odd receipts, snapshots */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report/query.h"
#include "store.h"

#include <sodium.h>
#include <sqlite3.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1796081400000LL /* 2026-12-01 07:30 Asia/Shanghai */
#define HOUR 3600000LL
#define DAY (24 * HOUR)

static const char *const enrolled[] = { "yn-01", "yn-02", "yn-03" };

struct fx {
	char dir[64];
	char path[128];
	struct store *s;
};

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_query.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/" STORE_FILE, f->dir);
	f->s = store_open(f->path, 0, err, sizeof(err));
	if (!f->s)
		fail_msg("store_open: %s", err);
	for (size_t i = 0; i < sizeof(enrolled) / sizeof(enrolled[0]); i++) {
		unsigned char sk[crypto_sign_SECRETKEYBYTES];
		struct env_key k;

		crypto_sign_keypair(k.pk, sk);
		env_keyid(k.pk, k.id);
		assert_int_equal(store_key_enrol(f->s, enrolled[i], &k, false, T0 - DAY, NULL), 0);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	rm_dir(f->dir);
	free(f);
	return 0;
}

/* Store NODE's receipt SEQ for OCC (KIND, STATE), scheduled at SCHED and
 * received at NOW; REASON NULL for none. */
static void rcpt(struct store *s, const char *node, int64_t seq, const char *occ, const char *kind,
		 const char *state, int64_t sched, int64_t now, const char *reason)
{
	char buf[1024], rs[300] = "null";
	int64_t ack;

	if (reason)
		snprintf(rs, sizeof(rs), "\"%s\"", reason);
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"receipt\",\"node\":\"%s\",\"seq\":%lld,\"from\":1,\"occ\":\"%s\","
		 "\"kind\":\"%s\",\"state\":\"%s\",\"scheduled_ms\":%lld,\"started_ms\":%lld,"
		 "\"ended_ms\":%lld,\"played_ms\":18400,\"start_error_us\":-310,\"volume\":80,"
		 "\"reason\":%s}",
		 node, (long long)seq, occ, kind, state, (long long)sched, (long long)sched + 1,
		 (long long)sched + 18401, rs);
	assert_int_equal(store_receipt(s, node, buf, strlen(buf), now, &ack), 0);
}

static const struct store_fleet_node fleet[] = {
	{ "yn-01", "640104100201", "永南村", 300, NULL, 0 },
	{ "yn-02", "640104100202", "永北村", 120, NULL, 0 },
};

/* ---- plays ------------------------------------------------------------- */

struct seen_play {
	char node[16], occ[64], notice[32], broadcast[32], village[16];
	int64_t start_ms, duration_ms, done_ms;
	int priority;
	enum play_outcome outcome;
};

struct plays {
	struct seen_play v[8];
	size_t n;
	int stop_at;           /* return 7 from this call (1..), 0 never */
};

/* *X as what P says, every byte of it set (listings are compared whole). */
static void seen_copy(struct seen_play *x, const struct store_play *p)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->node, sizeof(x->node), "%s", p->node);
	snprintf(x->occ, sizeof(x->occ), "%s", p->occ);
	snprintf(x->notice, sizeof(x->notice), "%s", p->notice);
	snprintf(x->broadcast, sizeof(x->broadcast), "%s", p->broadcast);
	snprintf(x->village, sizeof(x->village), "%s", p->village_code);
	x->start_ms = p->start_ms;
	x->duration_ms = p->duration_ms;
	x->priority = p->priority;
	x->outcome = p->outcome;
	x->done_ms = p->outcome == PLAY_COMPLETED ? p->done_ms : -1;
}

static int on_play(const struct store_play *p, void *ud)
{
	struct plays *ps = ud;
	struct seen_play *x;

	assert_true(ps->n < 8);
	x = &ps->v[ps->n++];
	seen_copy(x, p);
	return (int)ps->n == ps->stop_at ? 7 : 0;
}

static void plays_with_their_outcomes(void **state)
{
	struct fx *f = *state;
	const struct store_occ one[] = {
		{ "meet@T0", "meeting", "meeting-daily", NULL, T0, 18400, 10 },
		{ "meet@T1", "meeting", "meeting-daily", NULL, T0 + HOUR, 18400, 10 },
		{ "meet@D2", "meeting", "meeting-daily", NULL, T0 + 2 * DAY, 18400, 10 },
	};
	const struct store_occ two[] = {
		{ "flood@T0", "flood", "flood-now", "640104100299", T0 + 60000, 9000, 80 },
	};
	struct plays ps = { 0 };

	assert_int_equal(store_fleet_replace(f->s, fleet, 2), 0);
	assert_int_equal(store_plan_replace(f->s, "yn-01", T0 - HOUR, one, 3), 0);
	assert_int_equal(store_plan_replace(f->s, "yn-02", T0 - HOUR, two, 1), 0);
	rcpt(f->s, "yn-01", 1, "meet@T0", "plan", "started", T0, T0 + 100, NULL);
	rcpt(f->s, "yn-01", 2, "meet@T0", "plan", "completed", T0, T0 + 20000, NULL);
	rcpt(f->s, "yn-01", 3, "meet@T1", "plan", "started", T0 + HOUR, T0 + HOUR + 100, NULL);
	/* Same occ, but an alert's receipt: not the play's. */
	rcpt(f->s, "yn-01", 4, "meet@D2", "alert", "completed", T0, T0 + 30000, NULL);
	rcpt(f->s, "yn-02", 1, "flood@T0", "plan", "failed", T0 + 60000, T0 + 61000, "no sound card");

	/* A day: by node, then start; the third play of yn-01 is outside. */
	assert_int_equal(rq_plays(f->s, T0, T0 + DAY, on_play, &ps), 0);
	assert_int_equal(ps.n, 3);
	assert_string_equal(ps.v[0].node, "yn-01");
	assert_string_equal(ps.v[0].occ, "meet@T0");
	assert_string_equal(ps.v[0].notice, "meeting");
	assert_string_equal(ps.v[0].broadcast, "meeting-daily");
	assert_string_equal(ps.v[0].village, "640104100201"); /* the fleet's */
	assert_int_equal(ps.v[0].start_ms, T0);
	assert_int_equal(ps.v[0].duration_ms, 18400);
	assert_int_equal(ps.v[0].priority, 10);
	assert_int_equal(ps.v[0].outcome, PLAY_COMPLETED);
	assert_int_equal(ps.v[0].done_ms, T0 + 1);    /* its started_ms */
	assert_string_equal(ps.v[1].occ, "meet@T1");
	assert_int_equal(ps.v[1].outcome, PLAY_UNFINISHED);
	assert_string_equal(ps.v[2].node, "yn-02");
	assert_string_equal(ps.v[2].village, "640104100299"); /* the plan's own */
	assert_int_equal(ps.v[2].priority, 80);
	assert_int_equal(ps.v[2].outcome, PLAY_FAILED);

	memset(&ps, 0, sizeof(ps));
	assert_int_equal(rq_plays(f->s, T0 + 2 * DAY, T0 + 3 * DAY, on_play, &ps), 0);
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.v[0].outcome, PLAY_NONE);

	/* The period is [from, to). */
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(rq_plays(f->s, T0 + 1, T0 + HOUR + 1, on_play, &ps), 0);
	assert_int_equal(ps.n, 2);
	assert_string_equal(ps.v[0].occ, "meet@T1");
	assert_string_equal(ps.v[1].occ, "flood@T0");
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(rq_plays(f->s, T0, T0 + HOUR, on_play, &ps), 0);
	assert_int_equal(ps.n, 2);
	assert_string_equal(ps.v[0].occ, "meet@T0");
	assert_string_equal(ps.v[1].occ, "flood@T0");
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(rq_plays(f->s, T0 + 3 * DAY, T0 + 4 * DAY, on_play, &ps), 0);
	assert_int_equal(ps.n, 0);

	/* A callback's non-zero stops the walk and is returned. */
	memset(&ps, 0, sizeof(ps));
	ps.stop_at = 1;
	assert_int_equal(rq_plays(f->s, T0, T0 + DAY, on_play, &ps), 7);
	assert_int_equal(ps.n, 1);
}

/* What a play's receipts say, from all of them at once in seq order:
 * the rule the store folds them by as they come. */
struct ref_rcpt {
	int64_t seq, sched;
	const char *state;
};

static enum play_outcome ref_outcome(const struct ref_rcpt *v, size_t n, int64_t *done_ms)
{
	enum play_outcome o = PLAY_NONE;
	int64_t best = INT64_MAX, last = -1;

	for (size_t i = 0; i < n; i++) {
		const char *s = v[i].state;

		if (!strcmp(s, "completed") && v[i].seq < best) {
			best = v[i].seq;
			*done_ms = v[i].sched + 1;
		} else if (!strcmp(s, "accepted") || !strcmp(s, "started")) {
			if (o == PLAY_NONE)
				o = PLAY_UNFINISHED;
		} else if (strcmp(s, "completed") && v[i].seq > last) {
			last = v[i].seq;
			o = !strcmp(s, "interrupted") ? PLAY_INTERRUPTED : !strcmp(s, "failed") ? PLAY_FAILED
			    : !strcmp(s, "skipped") ? PLAY_SKIPPED : PLAY_EXPIRED;
		}
	}
	return best != INT64_MAX ? PLAY_COMPLETED : o;
}

static uint64_t rng = 88172645463325252ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* Receipts in any order, before or after their play is planned, and a
 * play planned again: its outcome is the one all its receipts give. */
static void outcomes_folded_in_any_order(void **state)
{
	static const char *const states[] = {
		"accepted", "started", "completed", "interrupted", "failed", "skipped", "expired",
	};
	enum { PLAYS = 6, PER = 5 };
	struct fx *f = *state;
	struct store_occ occ[PLAYS];
	struct ref_rcpt r[PLAYS][PER];
	size_t nr[PLAYS] = { 0 }, order[PLAYS * PER], n = 0;
	char names[PLAYS][16];
	struct plays ps;
	int64_t seq = 0;

	assert_int_equal(store_fleet_replace(f->s, fleet, 2), 0);
	for (int round = 0; round < 40; round++) {
		char node[16];

		/* Each round a node of its own, so seqs start afresh. */
		snprintf(node, sizeof(node), "yn-0%d", 1 + round % 2);
		for (int i = 0; i < PLAYS; i++) {
			snprintf(names[i], sizeof(names[i]), "p%d-r%d", i, round);
			occ[i] = (struct store_occ){ names[i], "n", "b", NULL, T0 + round * DAY + i * HOUR,
				1000, 10 };
			nr[i] = rnd(PER + 1);
			for (size_t k = 0; k < nr[i]; k++)
				r[i][k] = (struct ref_rcpt){ 0, occ[i].start_ms + rnd(5) * 1000, states[rnd(7)] };
		}
		/* Seqs handed out, then stored in a shuffled order. */
		n = 0;
		for (int i = 0; i < PLAYS; i++)
			for (size_t k = 0; k < nr[i]; k++) {
				r[i][k].seq = ++seq;
				order[n++] = (size_t)i * PER + k;
			}
		for (size_t i = n; i > 1; i--) {
			size_t j = rnd((unsigned)i), t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
		/* Half of the receipts before the plan, half after; half the
		 * rounds plan again after all of them. */
		for (size_t i = 0; i < n; i++) {
			const struct ref_rcpt *x = &r[order[i] / PER][order[i] % PER];

			if (i == n / 2)
				assert_int_equal(store_plan_replace(f->s, node, T0 + round * DAY, occ, PLAYS), 0);
			rcpt(f->s, node, x->seq, names[order[i] / PER], "plan", x->state, x->sched, T0, NULL);
		}
		if (n < 2 || round % 2)
			assert_int_equal(store_plan_replace(f->s, node, T0 + round * DAY, occ, PLAYS), 0);

		memset(&ps, 0, sizeof(ps));
		assert_int_equal(rq_plays(f->s, T0 + round * DAY, T0 + (round + 1) * DAY, on_play, &ps), 0);
		assert_int_equal(ps.n, PLAYS);
		for (int i = 0; i < PLAYS; i++) {
			int64_t done = -1;
			enum play_outcome want = ref_outcome(r[i], nr[i], &done);

			assert_string_equal(ps.v[i].occ, names[i]);
			if (ps.v[i].outcome != want || ps.v[i].done_ms != done)
				fail_msg("round %d, play %d: outcome %d at %lld, want %d at %lld", round, i,
					 ps.v[i].outcome, (long long)ps.v[i].done_ms, want, (long long)done);
		}
	}
}

/* ---- packed days ----------------------------------------------------------- */

struct listing {
	struct seen_play v[64];
	size_t n;
};

static int on_list(const struct store_play *p, void *ud)
{
	struct listing *l = ud;
	struct seen_play *x;

	assert_true(l->n < 64);
	x = &l->v[l->n++];
	seen_copy(x, p);
	return 0;
}

static void list(struct store *s, int64_t from, int64_t to, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	if (rq_plays(s, from, to, on_list, l) != 0)
		fail_msg("rq_plays: %s", store_errmsg(s));
}

static void same_listing(const struct listing *a, const struct listing *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(&a->v[i], &b->v[i], sizeof(a->v[i])))
			fail_msg("play %zu: %s %s %s at %lld outcome %d done %lld, against %s %s %s at %lld"
				 " outcome %d done %lld", i, a->v[i].node, a->v[i].occ, a->v[i].notice,
				 (long long)a->v[i].start_ms, a->v[i].outcome, (long long)a->v[i].done_ms,
				 b->v[i].node, b->v[i].occ, b->v[i].notice, (long long)b->v[i].start_ms,
				 b->v[i].outcome, (long long)b->v[i].done_ms);
}

static int64_t sql_count(const char *path, const char *q)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int64_t v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void exec_sql(const char *path, const char *q)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, q, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Plays read from their packed days are the plays read from their rows,
 * field for field and in the same order: across a UTC midnight, with
 * ties at one instant, a completed play that started before its planned
 * instant, and a change made by another program. */
static void packed_days_read_as_rows(void **state)
{
	static const char *const states[] = { "completed", "interrupted", "failed", "started", "expired" };
	const int64_t utc_midnight = T0 + 30 * 60000; /* T0 is 23:30 UTC */
	struct fx *f = *state;
	struct store_occ occ[24];
	char names[24][16];
	struct listing packed, rows, part;
	size_t k = 0;

	/* A store with no plays has none to read. */
	list(f->s, T0 - DAY, T0 + DAY, &packed);
	assert_int_equal(packed.n, 0);
	assert_int_equal(store_fleet_replace(f->s, fleet, 2), 0);
	for (int i = 0; i < 12; i++) {
		snprintf(names[i], sizeof(names[i]), "x%d", i);
		occ[i] = (struct store_occ){ names[i], i % 3 ? "meeting" : "flood",
			i % 2 ? "daily" : "weekly", i == 5 ? "640104100299" : NULL,
			T0 + (i / 2) * 7 * 60000, 18400 + i, 10 + i };
	}
	assert_int_equal(store_plan_replace(f->s, "yn-01", T0 - HOUR, occ, 12), 0);
	assert_int_equal(store_plan_replace(f->s, "yn-03", T0 - HOUR, occ + 4, 8), 0);
	for (int i = 0; i < 12; i++, k++)
		rcpt(f->s, "yn-01", (int64_t)k + 1, names[i], "plan", states[i % 5],
		     occ[i].start_ms - (i == 0 ? 5000 : 0), T0, NULL);
	rcpt(f->s, "yn-03", 1, "x6", "plan", "completed", occ[6].start_ms, T0, NULL);

	list(f->s, T0 - DAY, T0 + DAY, &packed);
	assert_int_equal(packed.n, 20);
	assert_int_equal(packed.v[0].done_ms, T0 - 5000 + 1);
	assert_true(packed.v[11].start_ms >= utc_midnight);
	/* Another program's change is noted; the node's rows are read. */
	exec_sql(f->path, "INSERT INTO play_days_dirty SELECT DISTINCT node, start_ms / 86400000 FROM planned");
	list(f->s, T0 - DAY, T0 + DAY, &rows);
	same_listing(&packed, &rows);
	exec_sql(f->path, "UPDATE planned SET notice = 'edited' WHERE occ = 'x7'");
	list(f->s, T0 - DAY, T0 + DAY, &rows);
	assert_string_equal(rows.v[7].notice, "edited");
	/* The next commit of the store packs every noted day. */
	assert_int_equal(sql_count(f->path, "SELECT count(*) FROM play_days_dirty"), 4); /* two nodes, two UTC days each */
	occ[12] = (struct store_occ){ "later", "n", "b", NULL, T0 + 2 * DAY, 1000, 10 };
	assert_int_equal(store_plan_replace(f->s, "yn-02", T0 + DAY, occ + 12, 1), 0);
	list(f->s, T0 - DAY, T0 + DAY, &packed);
	same_listing(&packed, &rows);
	assert_int_equal(sql_count(f->path, "SELECT count(*) FROM play_days_dirty"), 0);
	/* A part of a day, cut as the rows are. */
	list(f->s, T0 + 10 * 60000, utc_midnight + 10 * 60000, &part);
	for (size_t i = 0, j = 0; i < rows.n; i++)
		if (rows.v[i].start_ms >= T0 + 10 * 60000 && rows.v[i].start_ms < utc_midnight + 10 * 60000) {
			assert_true(j < part.n);
			assert_int_equal(memcmp(&rows.v[i], &part.v[j++], sizeof(rows.v[i])), 0);
		}
	/* A damaged packed day is an error that names it. */
	exec_sql(f->path, "UPDATE play_days SET plays = substr(plays, 1, length(plays) - 1)"
		 " WHERE node = 'yn-03'");
	memset(&part, 0, sizeof(part));
	assert_int_equal(rq_plays(f->s, T0 - DAY, T0 + DAY, on_list, &part), -EUCLEAN);
	assert_non_null(strstr(store_errmsg(f->s), "node yn-03"));
	assert_non_null(strstr(store_errmsg(f->s), "damaged"));
}

/* ---- alerts ------------------------------------------------------------ */

struct seen_node {
	char node[16];
	bool targeted;
	size_t n;
	int64_t seq[4];
	char state[4][16];
	char kind[4][8];
	int64_t played_ms, volume;
};

struct seen_alert {
	char id[64], title[64], live[32], alert_class[8];
	int level;
	int64_t issued_ms, cancelled_ms;
	struct seen_node nodes[4];
	size_t nnodes;
};

struct alerts {
	struct store *s;
	struct seen_alert v[4];
	size_t n;
};

static int on_alert_node(const char *node, bool targeted, const struct store_rcpt *r, size_t n,
			 void *ud)
{
	struct seen_alert *a = ud;
	struct seen_node *x;

	assert_true(a->nnodes < 4 && n <= 4);
	x = &a->nodes[a->nnodes++];
	snprintf(x->node, sizeof(x->node), "%s", node);
	x->targeted = targeted;
	x->n = n;
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(r[i].node, node);
		assert_string_equal(r[i].occ, a->id);
		x->seq[i] = r[i].seq;
		snprintf(x->state[i], sizeof(x->state[i]), "%s", r[i].state);
		snprintf(x->kind[i], sizeof(x->kind[i]), "%s", r[i].kind);
		x->played_ms = r[i].played_ms;
		x->volume = r[i].volume;
	}
	return 0;
}

static int on_alert(const struct store_alert *al, int64_t cancelled_ms, void *ud)
{
	struct alerts *as = ud;
	struct seen_alert *x;

	assert_true(as->n < 4);
	x = &as->v[as->n++];
	snprintf(x->id, sizeof(x->id), "%s", al->id);
	snprintf(x->title, sizeof(x->title), "%s", al->title);
	snprintf(x->live, sizeof(x->live), "%s", al->live ? al->live : "-");
	snprintf(x->alert_class, sizeof(x->alert_class), "%s", al->alert_class);
	x->level = al->level;
	x->issued_ms = al->issued_ms;
	x->cancelled_ms = cancelled_ms;
	/* Documented: the alerts are read first, so this may query. */
	return rq_alert_receipts(as->s, al->id, on_alert_node, x);
}

static void alerts_and_their_receipts(void **state)
{
	struct fx *f = *state;
	const struct store_alert flood = {
		"640104100000-20261201-0001", 3, "actual", T0, T0, T0 + HOUR, "山洪预警",
		"{\"areas\":[\"640104100201\"],\"tags\":[],\"nodes\":[]}", NULL,
	};
	const struct store_alert drill = {
		"640104100000-20261201-0002", 1, "drill", T0 + 1000, T0 + 1000, T0 + HOUR, "演练",
		"{\"areas\":[],\"tags\":[],\"nodes\":[\"yn-02\"]}", "drill-stream",
	};
	const char *flood_to[] = { "yn-02", "yn-01" };
	const char *drill_to[] = { "yn-02" };
	struct alerts as = { .s = f->s };

	assert_int_equal(store_alert_add(f->s, &flood, flood_to, 2), 0);
	assert_int_equal(store_alert_add(f->s, &drill, drill_to, 1), 0);
	assert_int_equal(store_alert_cancel(f->s, drill.id, T0 + 5000), 0);
	rcpt(f->s, "yn-01", 1, flood.id, "alert", "accepted", T0, T0 + 10, NULL);
	rcpt(f->s, "yn-01", 2, flood.id, "alert", "completed", T0, T0 + 20000, NULL);
	/* Not targeted, but it heard the alert (a tag moved, say). */
	rcpt(f->s, "yn-03", 1, flood.id, "alert", "completed", T0, T0 + 20000, NULL);
	/* A plan receipt with the same occ is not the alert's. */
	rcpt(f->s, "yn-03", 2, flood.id, "plan", "completed", T0, T0 + 20000, NULL);
	rcpt(f->s, "yn-02", 1, drill.id, "live", "interrupted", T0 + 1000, T0 + 6000, "cancelled");

	assert_int_equal(rq_alerts(f->s, T0, T0 + DAY, on_alert, &as), 0);
	assert_int_equal(as.n, 2);
	assert_string_equal(as.v[0].id, flood.id);
	assert_string_equal(as.v[0].title, "山洪预警");
	assert_string_equal(as.v[0].alert_class, "actual");
	assert_string_equal(as.v[0].live, "-");
	assert_int_equal(as.v[0].level, 3);
	assert_int_equal(as.v[0].issued_ms, T0);
	assert_int_equal(as.v[0].cancelled_ms, STORE_NONE);
	/* By node id: targets with or without receipts, then the others. */
	assert_int_equal(as.v[0].nnodes, 3);
	assert_string_equal(as.v[0].nodes[0].node, "yn-01");
	assert_true(as.v[0].nodes[0].targeted);
	assert_int_equal(as.v[0].nodes[0].n, 2);
	assert_int_equal(as.v[0].nodes[0].seq[0], 1);
	assert_string_equal(as.v[0].nodes[0].state[0], "accepted");
	assert_string_equal(as.v[0].nodes[0].state[1], "completed");
	assert_string_equal(as.v[0].nodes[0].kind[1], "alert");
	assert_int_equal(as.v[0].nodes[0].played_ms, 18400);
	assert_int_equal(as.v[0].nodes[0].volume, 80);
	assert_string_equal(as.v[0].nodes[1].node, "yn-02");
	assert_true(as.v[0].nodes[1].targeted);
	assert_int_equal(as.v[0].nodes[1].n, 0);
	assert_string_equal(as.v[0].nodes[2].node, "yn-03");
	assert_false(as.v[0].nodes[2].targeted);
	assert_int_equal(as.v[0].nodes[2].n, 1);

	assert_string_equal(as.v[1].id, drill.id);
	assert_string_equal(as.v[1].live, "drill-stream");
	assert_int_equal(as.v[1].cancelled_ms, T0 + 5000);
	assert_int_equal(as.v[1].nnodes, 1);
	assert_string_equal(as.v[1].nodes[0].kind[0], "live");
	assert_string_equal(as.v[1].nodes[0].state[0], "interrupted");

	/* Issued in [from, to). */
	memset(as.v, 0, sizeof(as.v));
	as.n = 0;
	assert_int_equal(rq_alerts(f->s, T0 + 1, T0 + 1001, on_alert, &as), 0);
	assert_int_equal(as.n, 1);
	assert_string_equal(as.v[0].id, drill.id);

	/* An alert nobody heard, or that the store does not know. */
	{
		struct seen_alert none = { .id = "640104100000-20261201-0009" };

		assert_int_equal(rq_alert_receipts(f->s, none.id, on_alert_node, &none), 0);
		assert_int_equal(none.nnodes, 0);
	}
}

/* ---- receipts that count nowhere else ---------------------------------- */

struct rows {
	char node[4][16], text[4][64];
	int64_t seq[4], received_ms[4];
	size_t n;
};

static int on_row(const char *node, int64_t seq, int64_t received_ms, const char *text, void *ud)
{
	struct rows *r = ud;

	assert_true(r->n < 4);
	snprintf(r->node[r->n], sizeof(r->node[0]), "%s", node);
	snprintf(r->text[r->n], sizeof(r->text[0]), "%s", text);
	r->seq[r->n] = seq;
	r->received_ms[r->n] = received_ms;
	r->n++;
	return 0;
}

static int on_unknown(const struct store_rcpt *x, void *ud)
{
	struct rows *r = ud;

	assert_true(r->n < 4);
	snprintf(r->node[r->n], sizeof(r->node[0]), "%s", x->node);
	snprintf(r->text[r->n], sizeof(r->text[0]), "%s", x->occ);
	r->seq[r->n] = x->seq;
	r->received_ms[r->n] = x->received_ms;
	r->n++;
	return 0;
}

static void odd_receipts(void **state)
{
	struct fx *f = *state;
	const char *bad = "{\"type\":\"receipt\",\"node\":\"yn-02\",\"seq\":2,\"from\":1,"
			  "\"kind\":\"plan\",\"state\":\"completed\"}";
	const char *lost = "{\"type\":\"receipt\",\"node\":\"yn-02\",\"seq\":3,\"from\":1,"
			   "\"state\":\"lost\",\"reason\":\"spool file unreadable\"}";
	const struct store_occ late[] = {
		{ "meet@D1", "meeting", "meeting-daily", NULL, T0 + DAY, 18400, 10 },
	};
	const struct store_alert al = {
		"640104100000-20261201-0003", 2, "test", T0, T0, T0 + HOUR, "试播",
		"{\"areas\":[],\"tags\":[],\"nodes\":[]}", NULL,
	};
	struct rows r = { 0 };
	int64_t ack;

	/* Neither planned nor a stored alert. */
	rcpt(f->s, "yn-01", 1, "meet@D1", "plan", "completed", T0 + DAY, T0 + 20000, NULL);
	rcpt(f->s, "yn-01", 2, al.id, "alert", "completed", T0 + 10, T0 + 20000, NULL);
	rcpt(f->s, "yn-02", 1, "meet@D1", "plan", "completed", T0 + 5, T0 + 20000, NULL);
	/* By node, then seq; the instant is scheduled_ms. */
	assert_int_equal(rq_receipts_unknown(f->s, T0, T0 + 2 * DAY, on_unknown, &r), 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.node[0], "yn-01");
	assert_int_equal(r.seq[0], 1);
	assert_string_equal(r.text[0], "meet@D1");
	assert_int_equal(r.seq[1], 2);
	assert_string_equal(r.node[2], "yn-02");
	memset(&r, 0, sizeof(r));
	assert_int_equal(rq_receipts_unknown(f->s, T0, T0 + 10, on_unknown, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.node[0], "yn-02");
	/* Planned or stored later: known now, no longer listed. */
	assert_int_equal(store_plan_replace(f->s, "yn-01", T0, late, 1), 0);
	assert_int_equal(store_alert_add(f->s, &al, NULL, 0), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(rq_receipts_unknown(f->s, T0, T0 + 2 * DAY, on_unknown, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.node[0], "yn-02"); /* planned for yn-01 only */

	/* Readable node and seq, the rest not: quarantined, with why. */
	assert_int_equal(store_receipt(f->s, "yn-02", bad, strlen(bad), T0 + 30000, &ack), -EBADMSG);
	memset(&r, 0, sizeof(r));
	assert_int_equal(rq_receipts_quarantined(f->s, T0, T0 + HOUR, on_row, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.node[0], "yn-02");
	assert_int_equal(r.seq[0], 2);
	assert_int_equal(r.received_ms[0], T0 + 30000);
	assert_true(strlen(r.text[0]) > 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(rq_receipts_quarantined(f->s, T0, T0 + 30000, on_row, &r), 0);
	assert_int_equal(r.n, 0);

	/* What the pole could not keep. */
	assert_int_equal(store_receipt(f->s, "yn-02", lost, strlen(lost), T0 + 40000, &ack), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(rq_receipts_lost(f->s, T0, T0 + HOUR, on_row, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.node[0], "yn-02");
	assert_int_equal(r.seq[0], 3);
	assert_int_equal(r.received_ms[0], T0 + 40000);
	assert_string_equal(r.text[0], "spool file unreadable");

	/* What did not verify, with the node its topic named or none. */
	assert_int_equal(store_quarantine(f->s, "cx/v1/receipt/yn-03", "yn-03",
					  "signature does not verify", "xyz", 3, T0 + 50000), 0);
	assert_int_equal(store_quarantine(f->s, "cx/v1/receipt/", NULL, "no node in the topic",
					  "", 0, T0 + 60000), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(rq_unverified(f->s, T0, T0 + HOUR, on_row, &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.node[0], "yn-03");
	assert_string_equal(r.text[0], "signature does not verify");
	assert_int_equal(r.received_ms[0], T0 + 50000);
	assert_string_equal(r.node[1], "");
	assert_true(r.seq[1] > r.seq[0]); /* row ids */
	memset(&r, 0, sizeof(r));
	assert_int_equal(rq_unverified(f->s, T0 + 50001, T0 + HOUR, on_row, &r), 0);
	assert_int_equal(r.n, 1);
}

/* ---- the fleet and one snapshot ---------------------------------------- */

struct fleet_seen {
	char id[4][16], village[4][16];
	int64_t households[4];
	bool in_fleet[4];
	size_t n;
};

static int on_fleet(const struct store_fleet_node *n, bool in_fleet, void *ud)
{
	struct fleet_seen *fs = ud;

	assert_true(fs->n < 4);
	assert_int_equal(n->ntags, 0);
	snprintf(fs->id[fs->n], sizeof(fs->id[0]), "%s", n->id);
	snprintf(fs->village[fs->n], sizeof(fs->village[0]), "%s", n->village_code);
	fs->households[fs->n] = n->households;
	fs->in_fleet[fs->n] = in_fleet;
	fs->n++;
	return 0;
}

static int count_play(const struct store_play *p, void *ud)
{
	(void)p;
	(*(int *)ud)++;
	return 0;
}

static void fleet_and_snapshot(void **state)
{
	struct fx *f = *state;
	const struct store_occ a[] = { { "a", "n", "b", NULL, T0, 1000, 10 } };
	const struct store_occ ab[] = { { "a", "n", "b", NULL, T0, 1000, 10 },
					{ "b", "n", "b", NULL, T0 + 1000, 1000, 10 } };
	struct fleet_seen fs = { 0 };
	struct store *rd;
	char err[256];
	int n = 0;

	/* Nodes that left the fleet are still known to reports. */
	assert_int_equal(store_fleet_replace(f->s, fleet, 2), 0);
	assert_int_equal(store_fleet_replace(f->s, &fleet[1], 1), 0);
	assert_int_equal(rq_fleet_each(f->s, on_fleet, &fs), 0);
	assert_int_equal(fs.n, 2);
	assert_string_equal(fs.id[0], "yn-01");
	assert_false(fs.in_fleet[0]);
	assert_string_equal(fs.village[0], "640104100201");
	assert_int_equal(fs.households[0], 300);
	assert_string_equal(fs.id[1], "yn-02");
	assert_true(fs.in_fleet[1]);

	/* A reader's snapshot does not see what is written meanwhile. */
	assert_int_equal(store_plan_replace(f->s, "yn-02", T0 - HOUR, a, 1), 0);
	rd = store_open(f->path, STORE_READONLY, err, sizeof(err));
	if (!rd)
		fail_msg("store_open: %s", err);
	assert_int_equal(rq_snapshot(rd), 0);
	assert_int_equal(rq_snapshot(rd), -EINVAL);
	assert_int_equal(rq_plays(rd, T0, T0 + DAY, count_play, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_plan_replace(f->s, "yn-02", T0 - HOUR, ab, 2), 0);
	n = 0;
	assert_int_equal(rq_plays(rd, T0, T0 + DAY, count_play, &n), 0);
	assert_int_equal(n, 1);
	rq_snapshot_end(rd);
	rq_snapshot_end(rd); /* none open: nothing */
	n = 0;
	assert_int_equal(rq_plays(rd, T0, T0 + DAY, count_play, &n), 0);
	assert_int_equal(n, 2);
	store_close(rd);
	rq_snapshot_end(NULL);

	/* Not inside a writer's batch. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(rq_snapshot(f->s), -EINVAL);
	store_rollback(f->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(plays_with_their_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(outcomes_folded_in_any_order, setup, teardown),
		cmocka_unit_test_setup_teardown(packed_days_read_as_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(alerts_and_their_receipts, setup, teardown),
		cmocka_unit_test_setup_teardown(odd_receipts, setup, teardown),
		cmocka_unit_test_setup_teardown(fleet_and_snapshot, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
