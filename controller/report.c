/* SPDX-License-Identifier: GPL-2.0-or-later */
/* report.c -- reach, awareness and alert delivery from the receipt store, as text, CSV, JSON or HTML */
#define _GNU_SOURCE /* vasprintf */
#include "report.h"

#include "cxtime.h"
#include "human.h"
#include "report/query.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- small containers ------------------------------------------------------ */

/* Interned strings: each distinct string once, numbered from 0. */
struct strtab {
	char **s;
	size_t n, cap;
	uint32_t *slot;               /* index + 1; 0 empty */
	size_t nslot;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static int strtab_grow(struct strtab *t)
{
	size_t ns = t->nslot ? t->nslot * 2 : 64;
	uint32_t *slot = calloc(ns, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = hash_str(t->s[i]) & (ns - 1);

		while (slot[j])
			j = (j + 1) & (ns - 1);
		slot[j] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->nslot = ns;
	return 0;
}

/* Index of S, or -1 when absent. */
static long strtab_find(const struct strtab *t, const char *s)
{
	size_t j;

	if (!t->nslot)
		return -1;
	for (j = hash_str(s) & (t->nslot - 1); t->slot[j]; j = (j + 1) & (t->nslot - 1))
		if (!strcmp(t->s[t->slot[j] - 1], s))
			return (long)t->slot[j] - 1;
	return -1;
}

/* Index of S, added when absent; -ENOMEM. */
static long strtab_add(struct strtab *t, const char *s)
{
	long i = strtab_find(t, s);
	size_t j;

	if (i >= 0)
		return i;
	if ((t->n + 1) * 2 > t->nslot && strtab_grow(t) < 0)
		return -ENOMEM;
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 64;
		char **ns = realloc(t->s, nc * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		t->s = ns;
		t->cap = nc;
	}
	if (!(t->s[t->n] = strdup(s)))
		return -ENOMEM;
	for (j = hash_str(s) & (t->nslot - 1); t->slot[j]; j = (j + 1) & (t->nslot - 1))
		;
	t->slot[j] = (uint32_t)t->n + 1;
	return (long)t->n++;
}

static void strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	free(t->slot);
}

/* uint64 key -> uint32 value. */
struct u64map {
	uint64_t *key;
	uint32_t *val;                /* value + 1; 0 empty */
	size_t n, nslot;
};

static int u64map_grow(struct u64map *m)
{
	size_t ns = m->nslot ? m->nslot * 2 : 1024;
	uint64_t *key = calloc(ns, sizeof(*key));
	uint32_t *val = calloc(ns, sizeof(*val));

	if (!key || !val) {
		free(key);
		free(val);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nslot; i++) {
		size_t j;

		if (!m->val[i])
			continue;
		for (j = hash_u64(m->key[i]) & (ns - 1); val[j]; j = (j + 1) & (ns - 1))
			;
		key[j] = m->key[i];
		val[j] = m->val[i];
	}
	free(m->key);
	free(m->val);
	m->key = key;
	m->val = val;
	m->nslot = ns;
	return 0;
}

/* The value of K, or NEXT stored for it when absent (*ADDED set).
 * \retval value / -ENOMEM */
static long u64map_get(struct u64map *m, uint64_t k, uint32_t next, bool *added)
{
	size_t j;

	*added = false;
	if ((m->n + 1) * 2 > m->nslot && u64map_grow(m) < 0)
		return -ENOMEM;
	for (j = hash_u64(k) & (m->nslot - 1); m->val[j]; j = (j + 1) & (m->nslot - 1))
		if (m->key[j] == k)
			return (long)m->val[j] - 1;
	m->key[j] = k;
	m->val[j] = next + 1;
	m->n++;
	*added = true;
	return (long)next;
}

static void u64map_free(struct u64map *m)
{
	free(m->key);
	free(m->val);
}

/* Grow *V (of *CAP elements of SIZE) to hold N + 1. \retval 0 / -ENOMEM */
static int reserve(void **v, size_t *cap, size_t n, size_t size)
{
	size_t nc;
	void *nv;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	if (!(nv = realloc(*v, nc * size)))
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

#define RESERVE(v, cap, n) reserve((void **)&(v), &(cap), (n), sizeof(*(v)))

/* ---- the report ------------------------------------------------------------ */

#define NONE_IDX UINT32_MAX

struct ninfo {                    /* per interned node */
	int64_t households;           /* 0 when unknown */
	uint32_t village;             /* interned village code, NONE_IDX unknown */
	bool known, in_fleet;
	const struct store_node *st;  /* its row in the status listing, or NULL */
	bool targeted;                /* has due plays in the report */
};

struct pair {                     /* one (node, notice, village) */
	uint32_t node, notice, village;
	bool reached;
	double miss;                  /* Π (1 − presence(t_i)) */
	/* the same within the current day */
	uint32_t day;                 /* day index the two below belong to */
	bool dreached;
	double dmiss;
};

struct report {
	struct report_opts o;
	char *opt_notice, *opt_village, *opt_township, *opt_timezone;
	struct schedule_presence *presence;
	double presence_min[1440];
	int64_t end_ms;               /* min(to, now): where due plays end */

	struct strtab nodes, notices, villages, strings;
	struct ninfo *ninfo;
	size_t ninfo_cap;
	char **vname;                 /* per interned village: its name or NULL */
	size_t vname_cap;

	struct report_fig *nfig, *vfig;  /* per interned notice / village */
	size_t nfig_cap, vfig_cap;
	bool *vseen;                  /* village listed */
	size_t vseen_cap;

	struct pair *pairs;
	size_t npairs, pairs_cap;
	struct u64map pair_map;
	uint32_t *touched;            /* pairs with plays in the current day */
	size_t ntouched, touched_cap;

	struct { int64_t bucket, off; } tz[1024]; /* UTC offsets (s) of 15-minute buckets */

	struct report_summary sum;
	struct report_notice *notice_rows;
	size_t nnotice_rows;
	struct report_village *village_rows;
	size_t nvillage_rows;
	struct report_day *days;
	size_t ndays;
	struct report_alert *alerts;
	size_t nalerts, alerts_cap;
	struct report_missed *missed; /* all alerts' missed nodes, in alert order */
	size_t nmissed, missed_cap;
	struct report_node *health;
	size_t nhealth;
	struct report_unknown *unknown;
	size_t nunknown, unknown_cap;
	struct report_bad *bad;
	size_t nbad, bad_cap;
	struct report_bad *lost;
	size_t nlost, lost_cap;
	int64_t *deliveries;          /* pooled over actual alerts */
	size_t ndeliveries, deliveries_cap;

	struct store_node *status;    /* store_nodes() */
	size_t nstatus;
	int err;
};

/* Seconds east of UTC at MS in the selected zone, cached per 15 minutes
 * (zones change their offset only at quarter hours): localtime_r() for
 * every completed play would take a good part of a report's time. */
static int64_t tz_offset(struct report *r, int64_t ms)
{
	int64_t b = (ms >= 0 ? ms : ms - 899999) / 900000;
	size_t i = (size_t)((uint64_t)b % 1024);

	if (r->tz[i].bucket != b + 1) {
		struct tm tm;

		cx_tz_ms_to_civil(ms, &tm);
		r->tz[i].off = tm.tm_gmtoff;
		r->tz[i].bucket = b + 1;   /* 0 is an empty entry */
	}
	return r->tz[i].off;
}

static int minute_of_day(struct report *r, int64_t ms)
{
	int64_t local = (ms >= 0 ? ms / 1000 : (ms - 999) / 1000) + tz_offset(r, ms);
	int64_t sec = local % 86400;

	if (sec < 0)
		sec += 86400;
	return (int)(sec / 60);
}

double report_presence(const struct report *r, int64_t ms)
{
	return r->presence_min[minute_of_day((struct report *)r, ms)];
}

static void fig_ratios(struct report_fig *f)
{
	f->reach = f->targets ? (double)f->reached / (double)f->targets : NAN;
	f->household_reach = f->households ? (double)f->households_reached / (double)f->households : NAN;
	f->awareness = f->households ? f->aware_households / (double)f->households : NAN;
}

/* A target's contribution: reached or not, households, h·P. */
static void fig_target(struct report_fig *f, int64_t households, bool reached, double miss)
{
	f->targets++;
	f->households += households;
	if (reached) {
		f->reached++;
		f->households_reached += households;
		f->aware_households += (double)households * (1.0 - miss);
	}
}

enum outcome { O_COMPLETED, O_INTERRUPTED, O_FAILED, O_SKIPPED, O_EXPIRED, O_UNFINISHED, O_NONE };

static void fig_play(struct report_fig *f, enum outcome o)
{
	f->planned++;
	switch (o) {
	case O_COMPLETED: f->completed++; break;
	case O_INTERRUPTED: f->interrupted++; break;
	case O_FAILED: f->failed++; break;
	case O_SKIPPED: f->skipped++; break;
	case O_EXPIRED: f->expired++; break;
	case O_UNFINISHED: f->unfinished++; break;
	case O_NONE: f->no_receipt++; break;
	}
}

/* What became of a play, and when its first completed play started. */
static enum outcome play_outcome(const struct store_play *p, int64_t *at_ms)
{
	enum outcome o = O_NONE;

	for (size_t i = 0; i < p->nreceipts; i++) {
		const struct store_rcpt *x = &p->receipts[i];
		const char *s = x->state;

		if (!strcmp(s, "completed")) {
			*at_ms = x->started_ms != STORE_NONE ? x->started_ms
				 : x->scheduled_ms != STORE_NONE ? x->scheduled_ms : p->start_ms;
			return O_COMPLETED;
		}
		if (!strcmp(s, "interrupted"))
			o = O_INTERRUPTED;
		else if (!strcmp(s, "failed"))
			o = O_FAILED;
		else if (!strcmp(s, "skipped"))
			o = O_SKIPPED;
		else if (!strcmp(s, "expired"))
			o = O_EXPIRED;
		else if (o == O_NONE)
			o = O_UNFINISHED;   /* accepted or started */
	}
	return o;
}

static int grow_village(struct report *r, size_t n)
{
	while (r->vname_cap < n) {
		size_t old = r->vname_cap;

		if (RESERVE(r->vname, r->vname_cap, old) < 0)
			return -ENOMEM;
		memset(r->vname + old, 0, (r->vname_cap - old) * sizeof(*r->vname));
	}
	while (r->vfig_cap < n) {
		size_t old = r->vfig_cap;

		if (RESERVE(r->vfig, r->vfig_cap, old) < 0)
			return -ENOMEM;
		memset(r->vfig + old, 0, (r->vfig_cap - old) * sizeof(*r->vfig));
	}
	while (r->vseen_cap < n) {
		size_t old = r->vseen_cap;

		if (RESERVE(r->vseen, r->vseen_cap, old) < 0)
			return -ENOMEM;
		memset(r->vseen + old, 0, (r->vseen_cap - old) * sizeof(*r->vseen));
	}
	return 0;
}

/* Intern village CODE. \retval index / -ENOMEM */
static long village_add(struct report *r, const char *code)
{
	long v = strtab_add(&r->villages, code);

	if (v < 0 || grow_village(r, r->villages.n) < 0)
		return -ENOMEM;
	return v;
}

static bool village_passes(const struct report *r, uint32_t v)
{
	const char *want = r->o.village;

	if (!want)
		return true;
	if (v == NONE_IDX)
		return false;
	return !strcmp(r->villages.s[v], want) || (r->vname[v] && !strcmp(r->vname[v], want));
}

/* Intern node ID. \retval index / -ENOMEM */
static long node_add(struct report *r, const char *id)
{
	long n = strtab_add(&r->nodes, id);

	if (n < 0)
		return -ENOMEM;
	while (r->ninfo_cap < r->nodes.n) {
		size_t old = r->ninfo_cap;

		if (RESERVE(r->ninfo, r->ninfo_cap, old) < 0)
			return -ENOMEM;
		for (size_t i = old; i < r->ninfo_cap; i++)
			r->ninfo[i] = (struct ninfo){ .village = NONE_IDX };
	}
	return n;
}

static int on_fleet(const struct store_fleet_node *n, bool in_fleet, void *ud)
{
	struct report *r = ud;
	long i = node_add(r, n->id), v = village_add(r, n->village_code);

	if (i < 0 || v < 0)
		return -ENOMEM;
	r->ninfo[i].known = true;
	r->ninfo[i].in_fleet = in_fleet;
	r->ninfo[i].households = n->households;
	r->ninfo[i].village = (uint32_t)v;
	/* A village is named as its nodes in the fleet name it. */
	if (!r->vname[v] || in_fleet) {
		char *name = strdup(n->village_name);

		if (!name)
			return -ENOMEM;
		free(r->vname[v]);
		r->vname[v] = name;
	}
	if (in_fleet)
		r->vseen[v] = true;
	return 0;
}

/* ---- plays ----------------------------------------------------------------- */

static size_t day_index(const struct report *r, int64_t ms)
{
	size_t lo = 0, hi = r->ndays;

	/* The last day whose midnight is at or before MS. */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (r->days[mid].start_ms <= ms)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Fold the current day's targets into its figures. */
static void day_flush(struct report *r, size_t day)
{
	struct report_fig *f = &r->days[day].f;

	for (size_t i = 0; i < r->ntouched; i++) {
		const struct pair *p = &r->pairs[r->touched[i]];

		fig_target(f, r->ninfo[p->node].households, p->dreached, p->dmiss);
	}
	r->ntouched = 0;
}

struct play_ctx {
	struct report *r;
	size_t day;
	bool day_open;
};

static int on_play(const struct store_play *p, void *ud)
{
	struct play_ctx *c = ud;
	struct report *r = c->r;
	long node, notice, village;
	int64_t at = STORE_NONE;
	enum outcome o;
	struct pair *pr;
	uint64_t key;
	bool added;
	size_t day;
	long pi;

	if (r->o.notice && strcmp(p->notice, r->o.notice))
		return 0;
	if ((village = village_add(r, p->village_code)) < 0)
		return -ENOMEM;
	if (!village_passes(r, (uint32_t)village))
		return 0;
	if (p->start_ms >= r->end_ms) {
		r->sum.pending++;
		return 0;
	}
	if ((node = node_add(r, p->node)) < 0 || (notice = strtab_add(&r->notices, p->notice)) < 0)
		return -ENOMEM;
	while (r->nfig_cap < r->notices.n) {
		size_t old = r->nfig_cap;

		if (RESERVE(r->nfig, r->nfig_cap, old) < 0)
			return -ENOMEM;
		memset(r->nfig + old, 0, (r->nfig_cap - old) * sizeof(*r->nfig));
	}
	if (node >= (1L << 24) || notice >= (1L << 20) || village >= (1L << 20))
		return -E2BIG;
	r->vseen[village] = true;
	r->ninfo[node].targeted = true;

	o = play_outcome(p, &at);
	fig_play(&r->sum.total, o);
	fig_play(&r->nfig[notice], o);
	fig_play(&r->vfig[village], o);
	day = day_index(r, p->start_ms);
	fig_play(&r->days[day].f, o);

	key = (uint64_t)node << 40 | (uint64_t)notice << 20 | (uint64_t)village;
	if (RESERVE(r->pairs, r->pairs_cap, r->npairs) < 0)
		return -ENOMEM;
	if ((pi = u64map_get(&r->pair_map, key, (uint32_t)r->npairs, &added)) < 0)
		return -ENOMEM;
	if (added)
		r->pairs[r->npairs++] = (struct pair){ .node = (uint32_t)node, .notice = (uint32_t)notice,
			.village = (uint32_t)village, .miss = 1.0, .day = NONE_IDX };
	pr = &r->pairs[pi];

	/* A node's plays come together, in start order: its targets of a day
	 * are complete once a play of another day (or node) comes. */
	if (c->day_open && day != c->day)
		day_flush(r, c->day);
	c->day = day;
	c->day_open = true;
	if (pr->day != day) {
		if (RESERVE(r->touched, r->touched_cap, r->ntouched) < 0)
			return -ENOMEM;
		r->touched[r->ntouched++] = (uint32_t)pi;
		pr->day = (uint32_t)day;
		pr->dreached = false;
		pr->dmiss = 1.0;
	}
	if (o == O_COMPLETED) {
		double miss = 1.0 - report_presence(r, at);

		pr->reached = pr->dreached = true;
		pr->miss *= miss;
		pr->dmiss *= miss;
	}
	return 0;
}

static int cmp_notice(const void *a, const void *b)
{
	return strcmp(((const struct report_notice *)a)->id, ((const struct report_notice *)b)->id);
}

static int cmp_village(const void *a, const void *b)
{
	return strcmp(((const struct report_village *)a)->code, ((const struct report_village *)b)->code);
}

static int plays(struct report *r, struct store *s)
{
	struct play_ctx c = { .r = r };
	bool *seen_node;
	int rc;

	if ((rc = rq_plays(s, r->o.from_ms, r->o.to_ms, on_play, &c)) != 0)
		return rc;
	if (c.day_open)
		day_flush(r, c.day);
	for (size_t i = 0; i < r->npairs; i++) {
		const struct pair *p = &r->pairs[i];
		int64_t h = r->ninfo[p->node].households;

		fig_target(&r->sum.total, h, p->reached, p->miss);
		fig_target(&r->nfig[p->notice], h, p->reached, p->miss);
		fig_target(&r->vfig[p->village], h, p->reached, p->miss);
	}
	fig_ratios(&r->sum.total);
	for (size_t i = 0; i < r->ndays; i++)
		fig_ratios(&r->days[i].f);

	if (r->notices.n && !(r->notice_rows = calloc(r->notices.n, sizeof(*r->notice_rows))))
		return -ENOMEM;
	for (size_t i = 0; i < r->notices.n; i++) {
		struct report_notice *n = &r->notice_rows[r->nnotice_rows++];
		const char *t = r->o.title ? r->o.title(r->notices.s[i], r->o.title_ud) : NULL;
		long ti = t ? strtab_add(&r->strings, t) : -1;

		if (t && ti < 0)
			return -ENOMEM;
		n->id = r->notices.s[i];
		n->title = t ? r->strings.s[ti] : NULL;
		n->f = r->nfig[i];
		fig_ratios(&n->f);
	}
	if (r->nnotice_rows)
		qsort(r->notice_rows, r->nnotice_rows, sizeof(*r->notice_rows), cmp_notice);

	if (r->villages.n && !(r->village_rows = calloc(r->villages.n, sizeof(*r->village_rows))))
		return -ENOMEM;
	for (size_t i = 0; i < r->villages.n; i++) {
		struct report_village *v;

		if (!r->vseen[i] || !village_passes(r, (uint32_t)i))
			continue;
		v = &r->village_rows[r->nvillage_rows++];
		v->code = r->villages.s[i];
		v->name = r->vname[i] ? r->vname[i] : "";
		v->f = r->vfig[i];
		fig_ratios(&v->f);
		r->sum.villages += v->f.planned > 0;
	}
	if (r->nvillage_rows)
		qsort(r->village_rows, r->nvillage_rows, sizeof(*r->village_rows), cmp_village);
	r->sum.notices = (int64_t)r->notices.n;
	if (!(seen_node = calloc(r->nodes.n + 1, 1)))
		return -ENOMEM;
	for (size_t i = 0; i < r->npairs; i++) {
		r->sum.nodes += !seen_node[r->pairs[i].node];
		seen_node[r->pairs[i].node] = true;
	}
	free(seen_node);
	return 0;
}

/* ---- alerts ---------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least Q of them at or below. */
static int64_t rank(const int64_t *v, size_t n, double q)
{
	size_t k;

	if (!n)
		return REPORT_NONE;
	k = (size_t)ceil(q * (double)n);
	return v[k ? k - 1 : 0];
}

static const struct store_node *status_of(const struct report *r, const char *node)
{
	long i = strtab_find(&r->nodes, node);

	return i >= 0 ? r->ninfo[i].st : NULL;
}

static const char *str(struct report *r, const char *s)
{
	long i;

	if (!s)
		return NULL;
	if ((i = strtab_add(&r->strings, s)) < 0) {
		r->err = -ENOMEM;
		return "";
	}
	return r->strings.s[i];
}

struct alert_ctx {
	struct report *r;
	struct report_alert *a;
	int64_t *delays;
	size_t ndelays, delays_cap;
	bool any;                     /* a node of the village filter took part */
};

static int on_alert_node(const char *node, bool targeted, const struct store_rcpt *x, size_t n, void *ud)
{
	struct alert_ctx *c = ud;
	struct report *r = c->r;
	struct report_alert *a = c->a;
	bool accepted = false, started = false, completed = false;
	int64_t first = STORE_NONE;
	long ni = strtab_find(&r->nodes, node);
	uint32_t v = ni >= 0 ? r->ninfo[ni].village : NONE_IDX;

	if (r->o.village && !village_passes(r, v))
		return 0;
	c->any = true;
	if (!targeted) {
		a->other_nodes += n > 0;
		return 0;
	}
	a->targeted++;
	for (size_t i = 0; i < n; i++) {
		const char *s = x[i].state;
		bool st = !strcmp(s, "started"), done = !strcmp(s, "completed");

		accepted |= st || done || !strcmp(s, "accepted");
		completed |= done;
		if (st || done) {
			int64_t t = x[i].started_ms != STORE_NONE ? x[i].started_ms : x[i].received_ms;

			started = true;
			if (first == STORE_NONE || t < first)
				first = t;
		}
	}
	a->accepted += accepted;
	a->started += started;
	a->completed += completed;
	if (started) {
		if (RESERVE(c->delays, c->delays_cap, c->ndelays) < 0)
			return -ENOMEM;
		c->delays[c->ndelays++] = first - a->issued_ms;
	} else {
		const struct store_node *st = status_of(r, node);
		struct report_missed *m;

		if (RESERVE(r->missed, r->missed_cap, r->nmissed) < 0)
			return -ENOMEM;
		m = &r->missed[r->nmissed++];
		m->node = str(r, node);
		m->village_code = v != NONE_IDX ? r->villages.s[v] : "";
		m->village_name = v != NONE_IDX && r->vname[v] ? r->vname[v] : "";
		m->last_receipt = n ? x[n - 1].state : NULL; /* interned by the store */
		m->reason = n ? str(r, x[n - 1].reason) : NULL;
		m->status = st && st->has_status ? str(r, st->state) : "never";
		m->last_seen_ms = st ? st->last_seen_ms : STORE_NONE;
	}
	return r->err;
}

struct alerts_ctx {
	struct report *r;
	struct store *s;
	bool drills;                  /* this pass takes drills and tests */
};

static int on_alert(const struct store_alert *al, int64_t cancelled_ms, void *ud)
{
	struct alerts_ctx *ac = ud;
	struct report *r = ac->r;
	struct alert_ctx c = { .r = r };
	bool actual = !strcmp(al->alert_class, "actual");
	size_t missed0 = r->nmissed;
	struct report_alert *a;
	int rc;

	if (actual == ac->drills || (r->o.notice && strcmp(al->id, r->o.notice)))
		return 0;
	if (RESERVE(r->alerts, r->alerts_cap, r->nalerts) < 0)
		return -ENOMEM;
	a = &r->alerts[r->nalerts];
	*a = (struct report_alert){
		.id = str(r, al->id), .title = str(r, al->title), .alert_class = str(r, al->alert_class),
		.live = str(r, al->live), .level = al->level, .issued_ms = al->issued_ms,
		.start_ms = al->start_ms, .expires_ms = al->expires_ms, .cancelled_ms = cancelled_ms,
	};
	c.a = a;
	if ((rc = rq_alert_receipts(ac->s, al->id, on_alert_node, &c)) != 0) {
		free(c.delays);
		return rc;
	}
	if (r->o.village && !c.any) {
		r->nmissed = missed0;
		free(c.delays);
		return 0;
	}
	if (c.ndelays)
		qsort(c.delays, c.ndelays, sizeof(*c.delays), cmp_i64);
	a->p50_ms = rank(c.delays, c.ndelays, 0.50);
	a->p95_ms = rank(c.delays, c.ndelays, 0.95);
	a->max_ms = c.ndelays ? c.delays[c.ndelays - 1] : REPORT_NONE;
	/* r->missed may still move: pointers are set once every alert is in. */
	a->missed = NULL;
	a->nmissed = r->nmissed - missed0;
	if (actual) {
		r->sum.alerts_actual++;
		r->sum.actual_targeted += a->targeted;
		r->sum.actual_started += a->started;
		for (size_t i = 0; i < c.ndelays; i++) {
			if (RESERVE(r->deliveries, r->deliveries_cap, r->ndeliveries) < 0) {
				free(c.delays);
				return -ENOMEM;
			}
			r->deliveries[r->ndeliveries++] = c.delays[i];
		}
	} else {
		r->sum.alerts_drill++;
		r->sum.drill_targeted += a->targeted;
		r->sum.drill_started += a->started;
	}
	r->nalerts++;
	free(c.delays);
	return r->err;
}

static int alerts(struct report *r, struct store *s)
{
	struct alerts_ctx c = { .r = r, .s = s };
	int rc;

	if ((rc = rq_alerts(s, r->o.from_ms, r->o.to_ms, on_alert, &c)) != 0)
		return rc;
	c.drills = true;
	if ((rc = rq_alerts(s, r->o.from_ms, r->o.to_ms, on_alert, &c)) != 0)
		return rc;
	/* Each alert's missed nodes were appended after the previous one's. */
	for (size_t i = 0, off = 0; i < r->nalerts; off += r->alerts[i++].nmissed)
		r->alerts[i].missed = r->alerts[i].nmissed ? r->missed + off : NULL;
	if (r->ndeliveries)
		qsort(r->deliveries, r->ndeliveries, sizeof(*r->deliveries), cmp_i64);
	r->sum.actual_p50_ms = rank(r->deliveries, r->ndeliveries, 0.50);
	r->sum.actual_p95_ms = rank(r->deliveries, r->ndeliveries, 0.95);
	r->sum.actual_max_ms = r->ndeliveries ? r->deliveries[r->ndeliveries - 1] : REPORT_NONE;
	return 0;
}

/* ---- fleet health ---------------------------------------------------------- */

struct up_ctx {
	int64_t from, end;
	bool have;
	int64_t ms;
	char state[16];
	int64_t up, longest, longest_from;
};

static void up_segment(struct up_ctx *u, int64_t a, int64_t b, const char *state)
{
	int64_t ca = a > u->from ? a : u->from, cb = b < u->end ? b : u->end;

	if (cb <= ca)
		return;
	if (!strcmp(state, "idle") || !strcmp(state, "playing"))
		u->up += cb - ca;
	else if (!strcmp(state, "offline") && cb - a > u->longest) {
		/* The whole stretch, also the part before the period. */
		u->longest = cb - a;
		u->longest_from = a;
	}
}

static int on_transition(int64_t ms, const char *state, void *ud)
{
	struct up_ctx *u = ud;

	if (u->have)
		up_segment(u, u->ms, ms, u->state);
	u->have = true;
	u->ms = ms;
	snprintf(u->state, sizeof(u->state), "%s", state);
	return 0;
}

static int cmp_health(const void *a, const void *b)
{
	const struct report_node *x = a, *y = b;
	int c;

	if (!x->village_code[0] != !y->village_code[0])
		return x->village_code[0] ? -1 : 1;
	if ((c = strcmp(x->village_code, y->village_code)))
		return c;
	return strcmp(x->id, y->id);
}

static int health(struct report *r, struct store *s)
{
	int64_t span = r->end_ms - r->o.from_ms;
	double up_sum = 0;
	int rc;

	if (r->nstatus && !(r->health = calloc(r->nstatus, sizeof(*r->health))))
		return -ENOMEM;
	for (size_t i = 0; i < r->nstatus; i++) {
		const struct store_node *n = &r->status[i];
		long ni = strtab_find(&r->nodes, n->id);
		uint32_t v = ni >= 0 ? r->ninfo[ni].village : NONE_IDX;
		struct up_ctx u = { .from = r->o.from_ms, .end = r->end_ms, .longest_from = STORE_NONE };
		struct report_node *h;

		if (!village_passes(r, v))
			continue;
		if (span > 0) {
			if ((rc = rq_transitions(s, n->id, r->o.from_ms, r->end_ms, on_transition, &u)) != 0)
				return rc;
			if (u.have)
				up_segment(&u, u.ms, r->end_ms, u.state);
		}
		h = &r->health[r->nhealth++];
		h->id = n->id;
		h->village_code = v != NONE_IDX ? r->villages.s[v] : "";
		h->village_name = v != NONE_IDX && r->vname[v] ? r->vname[v] : "";
		h->in_fleet = n->in_fleet;
		h->households = n->households;
		h->state = n->has_status ? n->state : "never";
		h->last_seen_ms = n->last_seen_ms;
		h->up_ms = u.up;
		h->up_share = span > 0 ? (double)u.up / (double)span : NAN;
		h->longest_offline_ms = u.longest;
		h->offline_from_ms = u.longest_from;
		h->spool = n->spool;
		h->rejected = n->rejected;
		h->clock_offset_us = n->clock_offset_us;
		h->held = n->held;
		h->offline_long = u.longest > REPORT_OFFLINE_LIMIT_MS;
		h->clock_off = n->clock_offset_us != STORE_NONE &&
			       (n->clock_offset_us > REPORT_CLOCK_LIMIT_US ||
				n->clock_offset_us < -REPORT_CLOCK_LIMIT_US);
		r->sum.nodes_offline_long += h->offline_long;
		r->sum.nodes_spool += (n->spool != STORE_NONE && n->spool > 0) || n->held > 0;
		r->sum.nodes_rejected += n->rejected != STORE_NONE && n->rejected > 0;
		r->sum.nodes_clock_off += h->clock_off;
		if (span > 0)
			up_sum += h->up_share;
	}
	if (r->nhealth)
		qsort(r->health, r->nhealth, sizeof(*r->health), cmp_health);
	r->sum.fleet_up_share = r->nhealth && span > 0 ? up_sum / (double)r->nhealth : NAN;
	return 0;
}

/* ---- receipts that fit nowhere --------------------------------------------- */

static bool node_passes(const struct report *r, const char *node)
{
	long ni;

	if (!r->o.village)
		return true;
	ni = strtab_find(&r->nodes, node);
	return ni >= 0 && village_passes(r, r->ninfo[ni].village);
}

static int on_unknown(const struct store_rcpt *x, void *ud)
{
	struct report *r = ud;
	struct report_unknown *u;

	if (!node_passes(r, x->node))
		return 0;
	r->sum.unknown_receipts++;
	if (r->nunknown >= REPORT_LIST_MAX)
		return 0;
	if (RESERVE(r->unknown, r->unknown_cap, r->nunknown) < 0)
		return -ENOMEM;
	u = &r->unknown[r->nunknown++];
	u->node = str(r, x->node);
	u->occ = str(r, x->occ);
	u->kind = str(r, x->kind);
	u->state = str(r, x->state);
	u->seq = x->seq;
	u->at_ms = x->scheduled_ms != STORE_NONE ? x->scheduled_ms
		   : x->started_ms != STORE_NONE ? x->started_ms : x->received_ms;
	return r->err;
}

static int on_bad(const char *node, int64_t seq, int64_t received_ms, const char *error, void *ud)
{
	struct report *r = ud;
	struct report_bad *b;

	if (!node_passes(r, node))
		return 0;
	r->sum.quarantined++;
	if (r->nbad >= REPORT_LIST_MAX)
		return 0;
	if (RESERVE(r->bad, r->bad_cap, r->nbad) < 0)
		return -ENOMEM;
	b = &r->bad[r->nbad++];
	b->node = str(r, node);
	b->error = str(r, error);
	b->seq = seq;
	b->received_ms = received_ms;
	return r->err;
}

static int on_lost(const char *node, int64_t seq, int64_t received_ms, const char *reason,
		   void *ud)
{
	struct report *r = ud;
	struct report_bad *b;

	if (!node_passes(r, node))
		return 0;
	r->sum.lost_on_poles++;
	if (r->nlost >= REPORT_LIST_MAX)
		return 0;
	if (RESERVE(r->lost, r->lost_cap, r->nlost) < 0)
		return -ENOMEM;
	b = &r->lost[r->nlost++];
	b->node = str(r, node);
	b->error = str(r, reason);
	b->seq = seq;
	b->received_ms = received_ms;
	return r->err;
}

static int on_unverified(const char *node, int64_t id, int64_t received_ms, const char *reason,
			 void *ud)
{
	struct report *r = ud;

	(void)id;
	(void)received_ms;
	(void)reason;
	if (node_passes(r, node))
		r->sum.unverified++;
	return 0;
}

/* ---- compute --------------------------------------------------------------- */

static int make_days(struct report *r)
{
	struct tm tm;
	int64_t d;
	size_t cap = 0;

	cx_tz_ms_to_civil(r->o.from_ms, &tm);
	d = cx_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	for (;; d++) {
		struct report_day *x;
		int64_t ms;
		int y, m, dd;

		cx_civil_from_days(d, &y, &m, &dd);
		if (cx_tz_civil_to_ms(y, m, dd, 0, 0, &ms) < 0)
			return -EINVAL;
		if (ms >= r->end_ms)
			break;
		if (RESERVE(r->days, cap, r->ndays) < 0)
			return -ENOMEM;
		x = &r->days[r->ndays++];
		memset(x, 0, sizeof(*x));
		x->year = y;
		x->month = m;
		x->day = dd;
		x->start_ms = ms < r->o.from_ms ? r->o.from_ms : ms;
	}
	return 0;
}

static char *dup_opt(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*err = -ENOMEM;
	return d;
}

struct report *report_compute(struct store *s, const struct report_opts *o, char *errmsg, size_t errlen)
{
	struct report *r = calloc(1, sizeof(*r));
	int rc = 0;

	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->o = *o;
	r->o.notice = r->opt_notice = dup_opt(o->notice, &rc);
	r->o.village = r->opt_village = dup_opt(o->village, &rc);
	r->o.township = r->opt_township = dup_opt(o->township, &rc);
	r->o.timezone = r->opt_timezone = dup_opt(o->timezone, &rc);
	r->o.title = NULL;
	if (o->npresence) {
		if (!(r->presence = calloc(o->npresence, sizeof(*r->presence))))
			rc = -ENOMEM;
		else
			memcpy(r->presence, o->presence, o->npresence * sizeof(*r->presence));
	}
	r->o.presence = r->presence;
	if (rc < 0)
		goto fail;
	for (int m = 0; m < 1440; m++)
		for (size_t i = 0; i < o->npresence; i++)
			if (schedule_range_contains(&o->presence[i].range, m)) {
				r->presence_min[m] = o->presence[i].share;
				break;
			}
	r->end_ms = o->now_ms < o->to_ms ? o->now_ms : o->to_ms;
	if (r->end_ms < o->from_ms)
		r->end_ms = o->from_ms;
	r->sum.actual_p50_ms = r->sum.actual_p95_ms = r->sum.actual_max_ms = REPORT_NONE;

	if ((rc = make_days(r)) < 0 || (rc = rq_snapshot(s)) < 0)
		goto fail;
	if ((rc = rq_fleet_each(s, on_fleet, r)) != 0 ||
	    (rc = rq_nodes(s, &r->status, &r->nstatus)) < 0)
		goto fail;
	for (size_t i = 0; i < r->nstatus; i++) {
		long ni = node_add(r, r->status[i].id);

		if (ni < 0) {
			rc = -ENOMEM;
			goto fail;
		}
		r->ninfo[ni].st = &r->status[i];
	}
	{
		/* The titles are looked up while computing, through the caller's
		 * function. */
		r->o.title = o->title;
		r->o.title_ud = o->title_ud;
		rc = plays(r, s);
		r->o.title = NULL;
		r->o.title_ud = NULL;
	}
	if (rc != 0 || (rc = alerts(r, s)) != 0 || (rc = health(r, s)) != 0 ||
	    (rc = rq_receipts_unknown(s, o->from_ms, o->to_ms, on_unknown, r)) != 0 ||
	    (rc = rq_receipts_quarantined(s, o->from_ms, o->to_ms, on_bad, r)) != 0 ||
	    (rc = rq_receipts_lost(s, o->from_ms, o->to_ms, on_lost, r)) != 0 ||
	    (rc = rq_unverified(s, o->from_ms, o->to_ms, on_unverified, r)) != 0 ||
	    (rc = r->err) != 0)
		goto fail;
	rq_snapshot_end(s);
	/* Only the rows are needed from here on. */
	u64map_free(&r->pair_map);
	memset(&r->pair_map, 0, sizeof(r->pair_map));
	free(r->pairs);
	r->pairs = NULL;
	free(r->touched);
	r->touched = NULL;
	return r;
fail:
	rq_snapshot_end(s);
	if (errmsg && errlen)
		snprintf(errmsg, errlen, "%s", rc == -ENOMEM ? "out of memory"
			 : rc == -E2BIG ? "too many nodes, notices or villages"
			 : rc == -EINVAL ? "the period is outside the calendar" : store_errmsg(s));
	report_free(r);
	errno = rc == -ENOMEM ? ENOMEM : EIO;
	return NULL;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	free(r->opt_notice);
	free(r->opt_village);
	free(r->opt_township);
	free(r->opt_timezone);
	free(r->presence);
	for (size_t i = 0; i < r->villages.n && i < r->vname_cap; i++)
		free(r->vname[i]);
	free(r->vname);
	strtab_free(&r->nodes);
	strtab_free(&r->notices);
	strtab_free(&r->villages);
	strtab_free(&r->strings);
	free(r->ninfo);
	free(r->nfig);
	free(r->vfig);
	free(r->vseen);
	free(r->pairs);
	u64map_free(&r->pair_map);
	free(r->touched);
	free(r->notice_rows);
	free(r->village_rows);
	free(r->days);
	free(r->alerts);
	free(r->missed);
	free(r->health);
	free(r->unknown);
	free(r->bad);
	free(r->lost);
	free(r->deliveries);
	free(r->status);
	free(r);
}

const struct report_opts *report_opts(const struct report *r) { return &r->o; }
const struct report_summary *report_summary(const struct report *r) { return &r->sum; }
size_t report_notice_count(const struct report *r) { return r->nnotice_rows; }
const struct report_notice *report_notice(const struct report *r, size_t i) { return i < r->nnotice_rows ? &r->notice_rows[i] : NULL; }
size_t report_village_count(const struct report *r) { return r->nvillage_rows; }
const struct report_village *report_village(const struct report *r, size_t i) { return i < r->nvillage_rows ? &r->village_rows[i] : NULL; }
size_t report_day_count(const struct report *r) { return r->ndays; }
const struct report_day *report_day(const struct report *r, size_t i) { return i < r->ndays ? &r->days[i] : NULL; }
size_t report_alert_count(const struct report *r) { return r->nalerts; }
const struct report_alert *report_alert(const struct report *r, size_t i) { return i < r->nalerts ? &r->alerts[i] : NULL; }
size_t report_node_count(const struct report *r) { return r->nhealth; }
const struct report_node *report_node(const struct report *r, size_t i) { return i < r->nhealth ? &r->health[i] : NULL; }
size_t report_unknown_count(const struct report *r) { return r->nunknown; }
const struct report_unknown *report_unknown(const struct report *r, size_t i) { return i < r->nunknown ? &r->unknown[i] : NULL; }
size_t report_bad_count(const struct report *r) { return r->nbad; }
const struct report_bad *report_bad(const struct report *r, size_t i) { return i < r->nbad ? &r->bad[i] : NULL; }
size_t report_lost_count(const struct report *r) { return r->nlost; }
const struct report_bad *report_lost(const struct report *r, size_t i) { return i < r->nlost ? &r->lost[i] : NULL; }

/* ---- output: every format renders the same tables -------------------------- */

enum ctype { T_STR, T_TEXT, T_INT, T_RATIO, T_TIME, T_DATE, T_DUR, T_BOOL }; /* TEXT: a long string */

struct col {
	const char *key;              /* CSV column and JSON field: stable */
	const char *head;             /* text and HTML heading */
	enum ctype t;
};

struct cell {
	bool null;
	const char *s;
	int64_t i;
	double d;
};

struct table {
	const char *key, *title;
	const struct col *cols;
	size_t ncols;
	struct cell *cells;           /* nrows × ncols */
	size_t nrows, cap;
	bool single;                  /* one row: an object in JSON */
	bool oom;
};

static struct cell *row_new(struct table *t)
{
	struct cell *c;

	if (t->nrows == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;

		if (!(c = realloc(t->cells, nc * t->ncols * sizeof(*c)))) {
			t->oom = true;
			return NULL;
		}
		t->cells = c;
		t->cap = nc;
	}
	c = &t->cells[t->nrows++ * t->ncols];
	memset(c, 0, t->ncols * sizeof(*c));
	return c;
}

static void c_str(struct cell *c, const char *s) { c->s = s; c->null = !s; }
static void c_int(struct cell *c, int64_t v) { c->i = v; c->null = v == STORE_NONE; }
static void c_dbl(struct cell *c, double v) { c->d = v; c->null = isnan(v); }

#define FIG_COLS \
	{ "planned", "PLANNED", T_INT }, { "completed", "DONE", T_INT }, \
	{ "interrupted", "INTERR", T_INT }, { "failed", "FAILED", T_INT }, \
	{ "skipped", "SKIPPED", T_INT }, { "expired", "EXPIRED", T_INT }, \
	{ "unfinished", "UNFIN", T_INT }, { "no_receipt", "NO RCPT", T_INT }, \
	{ "targets", "TARGETS", T_INT }, { "reached", "REACHED", T_INT }, \
	{ "reach", "REACH 到达率", T_RATIO }, { "households", "HOUSEHOLDS", T_INT }, \
	{ "households_reached", "HH REACHED", T_INT }, \
	{ "household_reach", "HH REACH", T_RATIO }, { "awareness", "AWARE 知晓率", T_RATIO }
#define NFIG 15
/* The same, as lines of the summary. */
#define FIG_COLS_LONG \
	{ "planned", "Plays due", T_INT }, { "completed", "Completed", T_INT }, \
	{ "interrupted", "Interrupted", T_INT }, { "failed", "Failed", T_INT }, \
	{ "skipped", "Skipped", T_INT }, { "expired", "Expired", T_INT }, \
	{ "unfinished", "Started, no end yet", T_INT }, { "no_receipt", "No receipt", T_INT }, \
	{ "targets", "Targets (node, notice)", T_INT }, { "reached", "Targets reached", T_INT }, \
	{ "reach", "Reach 到达率", T_RATIO }, { "households", "Households targeted", T_INT }, \
	{ "households_reached", "Households reached", T_INT }, \
	{ "household_reach", "Household reach", T_RATIO }, \
	{ "awareness", "Awareness estimate 知晓率", T_RATIO }

static void c_fig(struct cell *c, const struct report_fig *f)
{
	c_int(&c[0], f->planned);
	c_int(&c[1], f->completed);
	c_int(&c[2], f->interrupted);
	c_int(&c[3], f->failed);
	c_int(&c[4], f->skipped);
	c_int(&c[5], f->expired);
	c_int(&c[6], f->unfinished);
	c_int(&c[7], f->no_receipt);
	c_int(&c[8], f->targets);
	c_int(&c[9], f->reached);
	c_dbl(&c[10], f->reach);
	c_int(&c[11], f->households);
	c_int(&c[12], f->households_reached);
	c_dbl(&c[13], f->household_reach);
	c_dbl(&c[14], f->awareness);
}

static const struct col cols_report[] = {
	{ "township", "Township", T_STR }, { "timezone", "Time zone", T_STR },
	{ "from", "From", T_DATE }, { "to", "To", T_DATE },
	{ "counted_until", "Plays counted until", T_TIME }, { "generated", "Generated", T_TIME },
	{ "notice_filter", "Notice", T_STR }, { "village_filter", "Village", T_STR },
};

static const struct col cols_summary[] = {
	FIG_COLS_LONG,
	{ "pending", "Plays still to come (not counted)", T_INT },
	{ "notices", "Notices", T_INT }, { "villages", "Villages", T_INT },
	{ "nodes", "Targeted nodes", T_INT },
	{ "alerts_actual", "Actual alerts", T_INT },
	{ "actual_targeted", "Actual alerts: targeted nodes", T_INT },
	{ "actual_started", "Actual alerts: nodes started", T_INT },
	{ "actual_delivery_p50_ms", "Actual alerts: delivery p50", T_DUR },
	{ "actual_delivery_p95_ms", "Actual alerts: delivery p95", T_DUR },
	{ "actual_delivery_max_ms", "Actual alerts: delivery max", T_DUR },
	{ "alerts_drill", "Drills and tests", T_INT },
	{ "drill_targeted", "Drills and tests: targeted nodes", T_INT },
	{ "drill_started", "Drills and tests: nodes started", T_INT },
	{ "unknown_receipts", "Receipts for unknown occurrences", T_INT },
	{ "quarantined_receipts", "Quarantined receipts", T_INT },
	{ "lost_on_poles", "Receipts lost on poles", T_INT },
	{ "unverified_messages", "Messages that failed verification (not counted)", T_INT },
	{ "nodes_offline_long", "Nodes offline longer than a day", T_INT },
	{ "nodes_spool_backlog", "Nodes with a receipt backlog", T_INT },
	{ "nodes_rejected", "Nodes that rejected messages", T_INT },
	{ "nodes_clock_off", "Nodes with clock offset beyond 10 ms", T_INT },
	{ "fleet_up_share", "Fleet uptime (mean)", T_RATIO },
};

static const struct col cols_presence[] = {
	{ "from", "FROM", T_STR }, { "to", "TO", T_STR }, { "presence", "PRESENCE", T_RATIO },
};

static const struct col cols_assumptions[] = { { "text", "", T_STR } };

static const struct col cols_notices[] = {
	{ "notice", "NOTICE", T_STR }, { "title", "TITLE", T_TEXT }, FIG_COLS,
};

static const struct col cols_villages[] = {
	{ "village_code", "CODE", T_STR }, { "village", "VILLAGE", T_STR }, FIG_COLS,
};

static const struct col cols_days[] = { { "date", "DATE", T_DATE }, FIG_COLS };

static const struct col cols_alerts[] = {
	{ "alert", "ALERT", T_STR }, { "class", "CLASS", T_STR }, { "level", "LEVEL", T_INT },
	{ "title", "TITLE", T_TEXT }, { "issued", "ISSUED", T_TIME },
	{ "cancelled", "CANCELLED", T_TIME }, { "live", "LIVE", T_STR },
	{ "targeted", "TARGETED", T_INT }, { "accepted", "ACCEPTED", T_INT },
	{ "started", "STARTED", T_INT }, { "completed", "COMPLETED", T_INT },
	{ "other_nodes", "OTHERS", T_INT }, { "delivery_p50_ms", "P50", T_DUR },
	{ "delivery_p95_ms", "P95", T_DUR }, { "delivery_max_ms", "MAX", T_DUR },
	{ "never_reached", "NOT REACHED", T_INT },
};

static const struct col cols_missed[] = {
	{ "alert", "ALERT", T_STR }, { "class", "CLASS", T_STR }, { "node", "NODE", T_STR },
	{ "village_code", "CODE", T_STR }, { "village", "VILLAGE", T_STR },
	{ "last_receipt", "LAST RECEIPT", T_STR }, { "reason", "REASON", T_TEXT },
	{ "status", "STATUS", T_STR }, { "last_seen", "LAST SEEN", T_TIME },
};

static const struct col cols_unknown[] = {
	{ "node", "NODE", T_STR }, { "seq", "SEQ", T_INT }, { "occ", "OCC", T_TEXT },
	{ "kind", "KIND", T_STR }, { "state", "STATE", T_STR }, { "at", "AT", T_TIME },
};

static const struct col cols_bad[] = {
	{ "node", "NODE", T_STR }, { "seq", "SEQ", T_INT }, { "received", "RECEIVED", T_TIME },
	{ "error", "ERROR", T_TEXT },
};

static const struct col cols_lost[] = {
	{ "node", "NODE", T_STR }, { "seq", "SEQ", T_INT }, { "received", "RECEIVED", T_TIME },
	{ "reason", "REASON", T_TEXT },
};

static const struct col cols_nodes[] = {
	{ "node", "NODE", T_STR }, { "village_code", "CODE", T_STR }, { "village", "VILLAGE", T_STR },
	{ "in_fleet", "IN FLEET", T_BOOL }, { "households", "HOUSEHOLDS", T_INT },
	{ "state", "STATE", T_STR }, { "last_seen", "LAST SEEN", T_TIME },
	{ "up_share", "UPTIME", T_RATIO }, { "longest_offline_ms", "LONGEST OFFLINE", T_DUR },
	{ "offline_from", "OFFLINE FROM", T_TIME }, { "spool", "SPOOL", T_INT },
	{ "held", "HELD", T_INT }, { "rejected", "REJECTED", T_INT },
	{ "clock_offset_us", "OFFSET US", T_INT }, { "offline_long", "OFFLINE >1D", T_BOOL },
	{ "clock_off", "CLOCK >10MS", T_BOOL },
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

enum { TB_REPORT, TB_SUMMARY, TB_PRESENCE, TB_ASSUMPTIONS, TB_NOTICES, TB_VILLAGES, TB_DAYS,
       TB_ALERTS, TB_MISSED, TB_UNKNOWN, TB_BAD, TB_LOST, TB_NODES,
       TB__COUNT };

struct out {
	const struct report *r;
	int64_t generated_ms;
	struct table t[TB__COUNT];
	char **texts;                 /* owned strings the cells point to */
	size_t ntexts, texts_cap;
	bool oom;
};

static const char *own(struct out *o, char *s)
{
	if (!s || RESERVE(o->texts, o->texts_cap, o->ntexts) < 0) {
		free(s);
		o->oom = true;
		return "";
	}
	return o->texts[o->ntexts++] = s;
}

static const char *ownf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *ownf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return own(o, n < 0 ? NULL : s);
}

static void fmt_date(int64_t ms, char *out, size_t size)
{
	struct tm tm;

	cx_tz_ms_to_civil(ms, &tm);
	snprintf(out, size, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static void fmt_percent(double v, char *out, size_t size)
{
	snprintf(out, size, "%.1f%%", v * 100.0);
}

static void fmt_share(double v, char *out, size_t size)
{
	snprintf(out, size, "%.0f%%", v * 100.0);
}

/* Human duration: "850 ms", "1.25 s", "3 min 20 s", "5 h 12 min", "2 d 4 h". */
static void fmt_dur(int64_t ms, char *out, size_t size)
{
	const char *sign = ms < 0 ? "-" : "";
	int64_t a = ms < 0 ? -ms : ms;

	if (a < 1000)
		snprintf(out, size, "%s%lld ms", sign, (long long)a);
	else if (a < 60000)
		snprintf(out, size, "%s%.2f s", sign, (double)a / 1000.0);
	else if (a < 3600000)
		snprintf(out, size, "%s%lld min %lld s", sign, (long long)(a / 60000), (long long)(a / 1000 % 60));
	else if (a < 86400000)
		snprintf(out, size, "%s%lld h %lld min", sign, (long long)(a / 3600000), (long long)(a / 60000 % 60));
	else
		snprintf(out, size, "%s%lld d %lld h", sign, (long long)(a / 86400000), (long long)(a / 3600000 % 24));
}

static void fmt_time(int64_t ms, char *out, size_t size)
{
	struct tm tm;

	cx_tz_ms_to_civil(ms, &tm);
	snprintf(out, size, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min);
}

/* ISO 8601 with the zone's offset: 2026-12-01T07:30:00+08:00. */
static void fmt_iso(int64_t ms, char *out, size_t size)
{
	struct tm tm;
	long off;

	cx_tz_ms_to_civil(ms, &tm);
	off = tm.tm_gmtoff;
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
		 labs(off) / 3600, labs(off) / 60 % 60);
}

/* Ratios are written rounded to 6 decimals, the same in CSV and JSON. */
static double ratio6(double v)
{
	return round(v * 1e6) / 1e6;
}

/* 0.5 as "0.5", 1/3 as "0.333333": fixed notation, no trailing zeros. */
static void fmt_ratio(double v, char *out, size_t size)
{
	size_t n;

	snprintf(out, size, "%.6f", ratio6(v));
	n = strlen(out);
	while (n > 1 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 1 && out[n - 1] == '.')
		out[--n] = '\0';
	if (!strcmp(out, "-0"))
		snprintf(out, size, "0");
}

/* A cell as people read it (text, HTML). "-" for absent values. */
static void cell_human(const struct col *k, const struct cell *c, char *out, size_t size)
{
	if (c->null) {
		snprintf(out, size, "-");
		return;
	}
	switch (k->t) {
	case T_STR: case T_TEXT: snprintf(out, size, "%s", c->s); break;
	case T_INT: snprintf(out, size, "%lld", (long long)c->i); break;
	case T_RATIO: fmt_percent(c->d, out, size); break;
	case T_TIME: fmt_time(c->i, out, size); break;
	case T_DATE: fmt_date(c->i, out, size); break;
	case T_DUR: fmt_dur(c->i, out, size); break;
	case T_BOOL: snprintf(out, size, "%s", c->i ? "yes" : "no"); break;
	}
}

/* A cell as programs read it (CSV); "" for absent values. */
static void cell_machine(const struct col *k, const struct cell *c, char *out, size_t size)
{
	if (c->null) {
		out[0] = '\0';
		return;
	}
	switch (k->t) {
	case T_STR: case T_TEXT: snprintf(out, size, "%s", c->s); break;
	case T_INT: case T_DUR: snprintf(out, size, "%lld", (long long)c->i); break;
	case T_RATIO: fmt_ratio(c->d, out, size); break;
	case T_TIME: fmt_iso(c->i, out, size); break;
	case T_DATE: fmt_date(c->i, out, size); break;
	case T_BOOL: snprintf(out, size, "%s", c->i ? "true" : "false"); break;
	}
}

static bool numeric(enum ctype t)
{
	return t == T_INT || t == T_RATIO || t == T_DUR;
}

static void table_init(struct table *t, const char *key, const char *title, const struct col *cols,
		       size_t ncols, bool single)
{
	*t = (struct table){ .key = key, .title = title, .cols = cols, .ncols = ncols, .single = single };
}

static void assumptions(struct out *o, struct table *t)
{
	const struct report *r = o->r;
	const struct report_summary *s = &r->sum;
	char until[32], prof[1024] = "";
	size_t off = 0;
	struct cell *c;
	const char *lines[12];
	size_t n = 0;

	fmt_time(r->end_ms, until, sizeof(until));
	for (size_t i = 0; i < r->o.npresence && off < sizeof(prof); i++) {
		char range[12], share[16];

		schedule_range_format(&r->o.presence[i].range, range);
		fmt_share(r->o.presence[i].share, share, sizeof(share));
		off += (size_t)snprintf(prof + off, sizeof(prof) - off, "%s%s %s", i ? ", " : "", range, share);
	}
	lines[n++] = "Reach (到达率) of a notice = targeted nodes with at least one completed play of it "
		     "÷ targeted nodes; a node is targeted when the notice was planned on it in the period. "
		     "Villages, days and the total count (node, notice) targets the same way.";
	lines[n++] = "Household reach = households of the reached targets ÷ households of all targets "
		     "(households within earshot of each pole, as the fleet in the store gives them).";
	lines[n++] = "Awareness (知晓率) = Σ h_n·P_n ÷ Σ h_n, P_n = 1 − Π_i (1 − presence(t_i)) over node n's "
		     "completed plays of the notice, t_i the local time each play started; "
		     "a day's figure uses that day's plays only.";
	lines[n++] = ownf(o, "Presence profile (share of people within earshot, from fleet.yaml as it is "
			  "now): %s; 0%% at every other time.", r->o.npresence ? prof : "none given");
	lines[n++] = "Only a completed receipt reaches: interrupted, failed, skipped, expired and "
		     "unfinished plays, and plays without any receipt (missing receipts), do not.";
	lines[n++] = ownf(o, "A play counts when its planned start is in the period and before %s; "
			  "plays planned later (%lld) are still to come and not counted.", until,
			  (long long)s->pending);
	lines[n++] = "A duplicate receipt (same node and seq) is stored once; several receipts of one play "
		     "count it once. Receipts for unknown occurrences and quarantined receipts are "
		     "listed, not counted.";
	lines[n++] = "Alerts: a targeted node is reached when it started the alert; delivery time = its "
		     "first start − the alert's issue time; p50/p95 are nearest-rank percentiles. Drills "
		     "and tests are reported apart and never enter the actual figures; alerts never "
		     "enter the notices' figures.";
	lines[n++] = "Fleet health: uptime = time idle or playing ÷ the period up to the report (time "
		     "before a node's first status counts as down); spool, held receipts, rejected "
		     "messages and clock offset are as of each node's last status.";
	for (size_t i = 0; i < n; i++)
		if ((c = row_new(t)))
			c_str(&c[0], lines[i]);
}

static int build(struct out *o)
{
	const struct report *r = o->r;
	const struct report_summary *s = &r->sum;
	struct table *t = o->t;
	struct cell *c;

	table_init(&t[TB_REPORT], "report", "Report", cols_report, NCOLS(cols_report), true);
	table_init(&t[TB_SUMMARY], "summary", "Summary", cols_summary, NCOLS(cols_summary), true);
	table_init(&t[TB_PRESENCE], "presence", "Presence profile", cols_presence, NCOLS(cols_presence), false);
	table_init(&t[TB_ASSUMPTIONS], "assumptions", "Model and assumptions", cols_assumptions,
		   NCOLS(cols_assumptions), false);
	table_init(&t[TB_NOTICES], "notices", "Notices", cols_notices, NCOLS(cols_notices), false);
	table_init(&t[TB_VILLAGES], "villages", "Villages", cols_villages, NCOLS(cols_villages), false);
	table_init(&t[TB_DAYS], "days", "Days", cols_days, NCOLS(cols_days), false);
	table_init(&t[TB_ALERTS], "alerts", "Alerts", cols_alerts, NCOLS(cols_alerts), false);
	table_init(&t[TB_MISSED], "alert_not_reached", "Alerts: targeted nodes never reached",
		   cols_missed, NCOLS(cols_missed), false);
	table_init(&t[TB_UNKNOWN], "unknown_receipts", "Receipts for unknown occurrences", cols_unknown,
		   NCOLS(cols_unknown), false);
	table_init(&t[TB_BAD], "quarantined_receipts", "Quarantined receipts", cols_bad, NCOLS(cols_bad), false);
	table_init(&t[TB_LOST], "receipts_lost", "Receipts lost on poles", cols_lost, NCOLS(cols_lost),
		   false);
	table_init(&t[TB_NODES], "nodes", "Fleet health", cols_nodes, NCOLS(cols_nodes), false);

	if ((c = row_new(&t[TB_REPORT]))) {
		c_str(&c[0], r->o.township);
		c_str(&c[1], r->o.timezone);
		c_int(&c[2], r->o.from_ms);
		c_int(&c[3], r->o.to_ms - 1);
		c_int(&c[4], r->end_ms);
		c_int(&c[5], o->generated_ms);
		c_str(&c[6], r->o.notice);
		c_str(&c[7], r->o.village);
	}
	if ((c = row_new(&t[TB_SUMMARY]))) {
		c_fig(c, &s->total);
		c += NFIG;
		c_int(&c[0], s->pending);
		c_int(&c[1], s->notices);
		c_int(&c[2], s->villages);
		c_int(&c[3], s->nodes);
		c_int(&c[4], s->alerts_actual);
		c_int(&c[5], s->actual_targeted);
		c_int(&c[6], s->actual_started);
		c_int(&c[7], s->actual_p50_ms);
		c_int(&c[8], s->actual_p95_ms);
		c_int(&c[9], s->actual_max_ms);
		c_int(&c[10], s->alerts_drill);
		c_int(&c[11], s->drill_targeted);
		c_int(&c[12], s->drill_started);
		c_int(&c[13], s->unknown_receipts);
		c_int(&c[14], s->quarantined);
		c_int(&c[15], s->lost_on_poles);
		c_int(&c[16], s->unverified);
		c_int(&c[17], s->nodes_offline_long);
		c_int(&c[18], s->nodes_spool);
		c_int(&c[19], s->nodes_rejected);
		c_int(&c[20], s->nodes_clock_off);
		c_dbl(&c[21], s->fleet_up_share);
	}
	for (size_t i = 0; i < r->o.npresence; i++) {
		char range[12];

		if (!(c = row_new(&t[TB_PRESENCE])))
			break;
		schedule_range_format(&r->o.presence[i].range, range);
		range[5] = '\0';
		c_str(&c[0], ownf(o, "%s", range));
		c_str(&c[1], ownf(o, "%s", range + 6));
		c_dbl(&c[2], r->o.presence[i].share);
	}
	assumptions(o, &t[TB_ASSUMPTIONS]);
	for (size_t i = 0; i < r->nnotice_rows; i++) {
		if (!(c = row_new(&t[TB_NOTICES])))
			break;
		c_str(&c[0], r->notice_rows[i].id);
		c_str(&c[1], r->notice_rows[i].title);
		c_fig(c + 2, &r->notice_rows[i].f);
	}
	for (size_t i = 0; i < r->nvillage_rows; i++) {
		if (!(c = row_new(&t[TB_VILLAGES])))
			break;
		c_str(&c[0], r->village_rows[i].code);
		c_str(&c[1], r->village_rows[i].name);
		c_fig(c + 2, &r->village_rows[i].f);
	}
	for (size_t i = 0; i < r->ndays; i++) {
		if (!(c = row_new(&t[TB_DAYS])))
			break;
		c_int(&c[0], r->days[i].start_ms);
		c_fig(c + 1, &r->days[i].f);
	}
	for (size_t i = 0; i < r->nalerts; i++) {
		const struct report_alert *a = &r->alerts[i];

		if (!(c = row_new(&t[TB_ALERTS])))
			break;
		c_str(&c[0], a->id);
		c_str(&c[1], a->alert_class);
		c_int(&c[2], a->level);
		c_str(&c[3], a->title);
		c_int(&c[4], a->issued_ms);
		c_int(&c[5], a->cancelled_ms);
		c_str(&c[6], a->live);
		c_int(&c[7], a->targeted);
		c_int(&c[8], a->accepted);
		c_int(&c[9], a->started);
		c_int(&c[10], a->completed);
		c_int(&c[11], a->other_nodes);
		c_int(&c[12], a->p50_ms);
		c_int(&c[13], a->p95_ms);
		c_int(&c[14], a->max_ms);
		c_int(&c[15], (int64_t)a->nmissed);
		for (size_t k = 0; k < a->nmissed; k++) {
			const struct report_missed *m = &a->missed[k];
			struct cell *d = row_new(&t[TB_MISSED]);

			if (!d)
				break;
			c_str(&d[0], a->id);
			c_str(&d[1], a->alert_class);
			c_str(&d[2], m->node);
			c_str(&d[3], m->village_code);
			c_str(&d[4], m->village_name);
			c_str(&d[5], m->last_receipt);
			c_str(&d[6], m->reason);
			c_str(&d[7], m->status);
			c_int(&d[8], m->last_seen_ms);
		}
	}
	for (size_t i = 0; i < r->nunknown; i++) {
		const struct report_unknown *u = &r->unknown[i];

		if (!(c = row_new(&t[TB_UNKNOWN])))
			break;
		c_str(&c[0], u->node);
		c_int(&c[1], u->seq);
		c_str(&c[2], u->occ);
		c_str(&c[3], u->kind);
		c_str(&c[4], u->state);
		c_int(&c[5], u->at_ms);
	}
	for (size_t i = 0; i < r->nbad; i++) {
		const struct report_bad *b = &r->bad[i];

		if (!(c = row_new(&t[TB_BAD])))
			break;
		c_str(&c[0], b->node);
		c_int(&c[1], b->seq);
		c_int(&c[2], b->received_ms);
		c_str(&c[3], b->error);
	}
	for (size_t i = 0; i < r->nlost; i++) {
		const struct report_bad *b = &r->lost[i];

		if (!(c = row_new(&t[TB_LOST])))
			break;
		c_str(&c[0], b->node);
		c_int(&c[1], b->seq);
		c_int(&c[2], b->received_ms);
		c_str(&c[3], b->error);
	}
	for (size_t i = 0; i < r->nhealth; i++) {
		const struct report_node *h = &r->health[i];

		if (!(c = row_new(&t[TB_NODES])))
			break;
		c_str(&c[0], h->id);
		c_str(&c[1], h->village_code[0] ? h->village_code : NULL);
		c_str(&c[2], h->village_code[0] ? h->village_name : NULL);
		c_int(&c[3], h->in_fleet);
		c_int(&c[4], h->households);
		c_str(&c[5], h->state);
		c_int(&c[6], h->last_seen_ms);
		c_dbl(&c[7], h->up_share);
		c_int(&c[8], h->longest_offline_ms);
		c_int(&c[9], h->offline_from_ms);
		c_int(&c[10], h->spool);
		c_int(&c[11], h->held);
		c_int(&c[12], h->rejected);
		c_int(&c[13], h->clock_offset_us);
		c_int(&c[14], h->offline_long);
		c_int(&c[15], h->clock_off);
	}
	for (int i = 0; i < TB__COUNT; i++)
		if (t[i].oom)
			o->oom = true;
	return o->oom ? -ENOMEM : 0;
}

static void out_free(struct out *o)
{
	for (int i = 0; i < TB__COUNT; i++)
		free(o->t[i].cells);
	for (size_t i = 0; i < o->ntexts; i++)
		free(o->texts[i]);
	free(o->texts);
}

/* ---- text ---- */

#define CELL_MAX 2048

static void text_pad(FILE *f, const char *s, int width, bool right, bool last)
{
	int pad = width - human_width(s);

	if (pad < 0)
		pad = 0;
	if (right)
		fprintf(f, "%*s%s", pad, "", s);
	else
		fprintf(f, "%s%*s", s, last ? 0 : pad, "");
	fputs(last ? "\n" : "  ", f);
}

/* Strings from the store may hold anything but control characters (the
 * store refuses those), so a cell never breaks a line. */
static int text_table(FILE *f, const struct table *t)
{
	char buf[CELL_MAX];
	int *w = calloc(t->ncols, sizeof(*w));

	if (!w)
		return -ENOMEM;
	fprintf(f, "\n%s\n", t->title);
	if (!t->nrows) {
		fprintf(f, "  (none)\n");
		free(w);
		return 0;
	}
	for (size_t k = 0; k < t->ncols; k++)
		w[k] = human_width(t->cols[k].head);
	for (size_t i = 0; i < t->nrows; i++)
		for (size_t k = 0; k < t->ncols; k++) {
			int x;

			cell_human(&t->cols[k], &t->cells[i * t->ncols + k], buf, sizeof(buf));
			if ((x = human_width(buf)) > w[k])
				w[k] = x;
		}
	for (size_t k = 0; k < t->ncols; k++)
		text_pad(f, t->cols[k].head, w[k], numeric(t->cols[k].t), k + 1 == t->ncols);
	for (size_t i = 0; i < t->nrows; i++)
		for (size_t k = 0; k < t->ncols; k++) {
			cell_human(&t->cols[k], &t->cells[i * t->ncols + k], buf, sizeof(buf));
			text_pad(f, buf, w[k], numeric(t->cols[k].t), k + 1 == t->ncols);
		}
	free(w);
	return 0;
}

/* A single-row table as "Heading: value" lines. */
static void text_pairs(FILE *f, const struct table *t, size_t from, size_t to)
{
	char buf[CELL_MAX];
	int w = 0;

	for (size_t k = from; k < to; k++)
		if (human_width(t->cols[k].head) > w)
			w = human_width(t->cols[k].head);
	for (size_t k = from; k < to; k++) {
		cell_human(&t->cols[k], &t->cells[k], buf, sizeof(buf));
		fprintf(f, "  %s%*s  %s\n", t->cols[k].head, w - human_width(t->cols[k].head), "", buf);
	}
}

static int write_text(struct out *o, FILE *f)
{
	const struct report *r = o->r;
	const struct table *t = o->t;
	char from[48], to[48], gen[32];
	int rc = 0;

	fmt_date(r->o.from_ms, from, sizeof(from));
	fmt_date(r->o.to_ms - 1, to, sizeof(to));
	fmt_time(o->generated_ms, gen, sizeof(gen));
	fprintf(f, "cunxiang report%s%s: %s to %s (%s), generated %s\n", r->o.township ? " — " : "",
		r->o.township ? r->o.township : "", from, to, r->o.timezone ? r->o.timezone : "", gen);
	if (r->o.notice || r->o.village)
		fprintf(f, "Only%s%s%s%s\n", r->o.notice ? " notice " : "", r->o.notice ? r->o.notice : "",
			r->o.village ? " village " : "", r->o.village ? r->o.village : "");
	fprintf(f, "\nSummary\n");
	text_pairs(f, &t[TB_SUMMARY], 0, t[TB_SUMMARY].ncols);
	fprintf(f, "\n%s\n", t[TB_ASSUMPTIONS].title);
	for (size_t i = 0; i < t[TB_ASSUMPTIONS].nrows; i++)
		fprintf(f, "  - %s\n", t[TB_ASSUMPTIONS].cells[i].s);
	for (int i = TB_PRESENCE; i < TB__COUNT && rc == 0; i++)
		if (i != TB_ASSUMPTIONS)
			rc = text_table(f, &t[i]);
	return rc;
}

/* ---- CSV ---- */

static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && (!s[0] || s[strlen(s) - 1] != ' ')) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int write_csv(struct out *o, FILE *f)
{
	char buf[CELL_MAX];

	/* Every section: a header row, then its rows, each starting with the
	 * section's name, and a blank line. */
	for (int i = 0; i < TB__COUNT; i++) {
		const struct table *t = &o->t[i];

		if (i)
			fputs("\r\n", f);
		fputs("section", f);
		for (size_t k = 0; k < t->ncols; k++) {
			fputc(',', f);
			csv_field(f, t->cols[k].key);
		}
		fputs("\r\n", f);
		for (size_t r = 0; r < t->nrows; r++) {
			fputs(t->key, f);
			for (size_t k = 0; k < t->ncols; k++) {
				fputc(',', f);
				cell_machine(&t->cols[k], &t->cells[r * t->ncols + k], buf, sizeof(buf));
				csv_field(f, buf);
			}
			fputs("\r\n", f);
		}
	}
	return 0;
}

/* ---- JSON ---- */

static json_t *json_cell(const struct col *k, const struct cell *c)
{
	char buf[64];

	if (c->null)
		return json_null();
	switch (k->t) {
	case T_STR: case T_TEXT: return json_string(c->s);
	case T_INT: case T_DUR: return json_integer(c->i);
	case T_RATIO: return json_real(ratio6(c->d));
	case T_TIME: fmt_iso(c->i, buf, sizeof(buf)); return json_string(buf);
	case T_DATE: fmt_date(c->i, buf, sizeof(buf)); return json_string(buf);
	case T_BOOL: return json_boolean(c->i);
	}
	return json_null();
}

static json_t *json_row(const struct table *t, size_t r)
{
	json_t *o = json_object();

	for (size_t k = 0; o && k < t->ncols; k++) {
		json_t *v = json_cell(&t->cols[k], &t->cells[r * t->ncols + k]);

		if (!v || json_object_set_new(o, t->cols[k].key, v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static int write_json(struct out *o, FILE *f)
{
	json_t *root = json_object();
	int rc = -ENOMEM;

	if (!root)
		return -ENOMEM;
	for (int i = 0; i < TB__COUNT; i++) {
		const struct table *t = &o->t[i];
		json_t *v = t->single ? json_row(t, 0) : json_array();

		if (!v || json_object_set_new(root, t->key, v) < 0)
			goto out;
		for (size_t r = 0; !t->single && r < t->nrows; r++)
			if (json_array_append_new(v, json_row(t, r)) < 0)
				goto out;
	}
	rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) < 0 ? -EIO : 0;
	fputc('\n', f);
out:
	json_decref(root);
	return rc;
}

/* ---- HTML: one self-contained file ---- */

static void h(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char css[] =
	":root{--ink:#1a202c;--mute:#5a6472;--line:#d9dee5;--reach:#2b6cb0;--aware:#c05621;--drill:#a0aec0}"
	"*{box-sizing:border-box}"
	"body{margin:0;color:var(--ink);background:#fff;font:15px/1.45 system-ui,-apple-system,"
	"\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"WenQuanYi Micro Hei\",\"Microsoft YaHei\",sans-serif}"
	"main{max-width:1120px;margin:0 auto;padding:16px}"
	"h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid var(--line)}"
	".meta{color:var(--mute);margin:0 0 12px}"
	".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;margin:12px 0}"
	".card{border:1px solid var(--line);border-radius:6px;padding:8px 10px}"
	".card .v{font-size:26px;font-weight:600}.card .k{color:var(--mute);font-size:13px}"
	".card.warn .v{color:#b7791f}"
	".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
	"table{border-collapse:collapse;width:100%;font-size:13px}"
	"th,td{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}"
	"th{background:#f4f6f8;white-space:nowrap}td{white-space:nowrap}td.t{white-space:normal;min-width:12em}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"table.kv td:first-child{color:var(--mute)}"
	"figure{margin:8px 0;overflow-x:auto}svg{display:block;width:100%;max-width:960px;height:auto}"
	"svg text{font-size:13px;fill:var(--ink)}svg .axis{fill:var(--mute);font-size:11px}"
	"svg .grid{stroke:var(--line);stroke-width:1}"
	"svg .bar{fill:var(--reach)}svg .mark{stroke:var(--aware);stroke-width:3}"
	"svg .lreach{stroke:var(--reach);fill:none;stroke-width:2}svg .laware{stroke:var(--aware);fill:none;stroke-width:2}"
	"svg .preach{fill:var(--reach)}svg .paware{fill:var(--aware)}"
	"svg .p95{fill:var(--reach);opacity:.75}svg .p95.drill{fill:var(--drill)}"
	"svg .p50{stroke:var(--ink);stroke-width:2}svg .whisker{stroke:var(--ink);stroke-width:1}"
	".legend{color:var(--mute);font-size:13px}.legend i{display:inline-block;width:12px;height:12px;"
	"margin:0 4px -1px 10px;border-radius:2px}"
	".none{color:var(--mute)}ul.model li{margin:2px 0}"
	"@media (max-width:600px){main{padding:10px}h1{font-size:20px}.card .v{font-size:22px}"
	"table{font-size:12px}figure svg{min-width:540px}}"
	"@media print{@page{size:A4 landscape;margin:10mm}body{font-size:10pt}main{max-width:none;padding:0}"
	".scroll,figure{overflow:visible}figure svg{min-width:0}table{font-size:7.5pt}th,td{padding:1px 3px}"
	"th,th.n,td{white-space:normal}td.n,td.d{white-space:nowrap}"
	"h2{break-after:avoid}figure,.cards,tr{break-inside:avoid}thead{display:table-header-group}"
	".card{border-color:#999}}";

/* Formatting helpers that go straight to the file. */
static void h_pct(FILE *f, double v)
{
	if (isnan(v))
		fputs("–", f);
	else
		fprintf(f, "%.1f%%", v * 100.0);
}

static void h_dur(FILE *f, int64_t ms)
{
	char buf[64];

	if (ms == REPORT_NONE) {
		fputs("–", f);
		return;
	}
	fmt_dur(ms, buf, sizeof(buf));
	h(f, buf);
}

static void html_cards(FILE *f, const struct report *r)
{
	const struct report_summary *s = &r->sum;

	fputs("<section class=\"cards\">", f);
	fputs("<div class=\"card\"><div class=\"v\">", f);
	h_pct(f, s->total.reach);
	fprintf(f, "</div><div class=\"k\">Reach 到达率 · %lld of %lld targets</div></div>",
		(long long)s->total.reached, (long long)s->total.targets);
	fputs("<div class=\"card\"><div class=\"v\">", f);
	h_pct(f, s->total.household_reach);
	fprintf(f, "</div><div class=\"k\">Household reach · %lld of %lld</div></div>",
		(long long)s->total.households_reached, (long long)s->total.households);
	fputs("<div class=\"card\"><div class=\"v\">", f);
	h_pct(f, s->total.awareness);
	fputs("</div><div class=\"k\">Awareness estimate 知晓率</div></div>", f);
	fprintf(f, "<div class=\"card\"><div class=\"v\">%lld</div><div class=\"k\">plays completed of %lld due"
		" (%lld no receipt)</div></div>", (long long)s->total.completed, (long long)s->total.planned,
		(long long)s->total.no_receipt);
	fprintf(f, "<div class=\"card\"><div class=\"v\">%lld</div><div class=\"k\">actual alerts · "
		"%lld of %lld nodes started · p95 ", (long long)s->alerts_actual,
		(long long)s->actual_started, (long long)s->actual_targeted);
	h_dur(f, s->actual_p95_ms);
	fputs("</div></div>", f);
	fprintf(f, "<div class=\"card\"><div class=\"v\">%lld</div><div class=\"k\">drills and tests "
		"(kept apart)</div></div>", (long long)s->alerts_drill);
	fputs("<div class=\"card\"><div class=\"v\">", f);
	h_pct(f, s->fleet_up_share);
	fprintf(f, "</div><div class=\"k\">fleet uptime · %lld offline &gt; 1 day · %lld clock &gt; 10 ms"
		"</div></div>", (long long)s->nodes_offline_long, (long long)s->nodes_clock_off);
	fprintf(f, "<div class=\"card%s\"><div class=\"v\">%lld</div><div class=\"k\">receipts for unknown "
		"occurrences · %lld quarantined · %lld lost on poles · %lld failed verification"
		"</div></div>", s->unknown_receipts || s->lost_on_poles || s->unverified ? " warn" : "",
		(long long)s->unknown_receipts, (long long)s->quarantined,
		(long long)s->lost_on_poles, (long long)s->unverified);
	fputs("</section>\n", f);
}

#define CW 720 /* chart width in SVG units */

static void chart_villages(FILE *f, const struct report *r)
{
	const int lw = 150, bw = 380, rh = 26, top = 10;
	int hgt = top + (int)r->nvillage_rows * rh + 24;

	fputs("<h2>Reach by village 各村到达率</h2>\n", f);
	if (!r->nvillage_rows) {
		fputs("<p class=\"none\">No village in the report.</p>\n", f);
		return;
	}
	fprintf(f, "<figure><svg id=\"chart-villages\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"Reach by village\" xmlns=\"http://www.w3.org/2000/svg\">", CW, hgt);
	for (int p = 0; p <= 100; p += 25) {
		int x = lw + bw * p / 100;

		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
			"<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d%%</text>",
			x, x, top - 4, hgt - 20, x, hgt - 6, p);
	}
	for (size_t i = 0; i < r->nvillage_rows; i++) {
		const struct report_village *v = &r->village_rows[i];
		const char *name = v->name[0] ? v->name : v->code;
		double reach = isnan(v->f.reach) ? 0 : v->f.reach;
		int y = top + (int)i * rh;
		double w = reach * bw;

		fprintf(f, "<g><text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 8, y + 17);
		h(f, name);
		fprintf(f, "</text><rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"18\"><title>",
			lw, y + 4, w);
		h(f, name);
		fputs(": reach ", f);
		h_pct(f, v->f.reach);
		fputs(", awareness ", f);
		h_pct(f, v->f.awareness);
		fputs("</title></rect>", f);
		if (!isnan(v->f.awareness)) {
			double ax = lw + v->f.awareness * bw;

			fprintf(f, "<line class=\"mark\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>", ax, ax,
				y + 2, y + 24);
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\">", lw + bw + 8, y + 17);
		if (isnan(v->f.reach)) {
			fputs("no plays", f);
		} else {
			h_pct(f, v->f.reach);
			fputs(" · 知晓 ", f);
			h_pct(f, v->f.awareness);
		}
		fputs("</text></g>", f);
	}
	fputs("</svg><figcaption class=\"legend\"><i style=\"background:var(--reach)\"></i>reach 到达率"
	      "<i style=\"background:var(--aware)\"></i>awareness 知晓率 (mark)</figcaption></figure>\n", f);
}

static void trend_path(FILE *f, const struct report *r, bool aware, int x0, int x1, int y0, int y1)
{
	bool pen = false;

	fprintf(f, "<path class=\"%s\" d=\"", aware ? "laware" : "lreach");
	for (size_t i = 0; i < r->ndays; i++) {
		double v = aware ? r->days[i].f.awareness : r->days[i].f.reach;
		double x = r->ndays > 1 ? x0 + (double)(x1 - x0) * (double)i / (double)(r->ndays - 1)
					: (x0 + x1) / 2.0;

		if (isnan(v)) {
			pen = false;
			continue;
		}
		fprintf(f, "%s%.1f %.1f ", pen ? "L" : "M", x, y1 - v * (y1 - y0));
		pen = true;
	}
	fputs("\"/>", f);
	for (size_t i = 0; i < r->ndays; i++) {
		double v = aware ? r->days[i].f.awareness : r->days[i].f.reach;
		double x = r->ndays > 1 ? x0 + (double)(x1 - x0) * (double)i / (double)(r->ndays - 1)
					: (x0 + x1) / 2.0;
		char d[48];

		if (isnan(v))
			continue;
		fmt_date(r->days[i].start_ms, d, sizeof(d));
		fprintf(f, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>%s %s ",
			aware ? "paware" : "preach", x, y1 - v * (y1 - y0), d, aware ? "awareness" : "reach");
		h_pct(f, v);
		fputs("</title></circle>", f);
	}
}

static void chart_days(FILE *f, const struct report *r)
{
	const int x0 = 48, x1 = CW - 16, y0 = 12, y1 = 200, hgt = 236;
	size_t step;

	fputs("<h2>Daily trend 每日趋势</h2>\n", f);
	if (!r->ndays) {
		fputs("<p class=\"none\">The period has not begun.</p>\n", f);
		return;
	}
	fprintf(f, "<figure><svg id=\"chart-days\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"Reach and awareness by day\" xmlns=\"http://www.w3.org/2000/svg\">", CW, hgt);
	for (int p = 0; p <= 100; p += 25) {
		int y = y1 - (y1 - y0) * p / 100;

		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
			"<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%d%%</text>",
			x0, x1, y, y, x0 - 6, y + 4, p);
	}
	step = (r->ndays + 9) / 10;
	for (size_t i = 0; i < r->ndays; i += step) {
		double x = r->ndays > 1 ? x0 + (double)(x1 - x0) * (double)i / (double)(r->ndays - 1)
					: (x0 + x1) / 2.0;

		fprintf(f, "<text class=\"axis\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%02d-%02d</text>",
			x, y1 + 18, r->days[i].month, r->days[i].day);
	}
	trend_path(f, r, false, x0, x1, y0, y1);
	trend_path(f, r, true, x0, x1, y0, y1);
	fputs("</svg><figcaption class=\"legend\"><i style=\"background:var(--reach)\"></i>reach 到达率"
	      "<i style=\"background:var(--aware)\"></i>awareness 知晓率</figcaption></figure>\n", f);
}

static void chart_alerts(FILE *f, const struct report *r)
{
	const int lw = 200, bw = 330, rh = 28, top = 10;
	int hgt = top + (int)r->nalerts * rh + 24;
	int64_t scale = 1000;

	fputs("<h2>Alert delivery 预警送达</h2>\n", f);
	if (!r->nalerts) {
		fputs("<p class=\"none\">No alert was issued in the period.</p>\n", f);
		return;
	}
	for (size_t i = 0; i < r->nalerts; i++)
		if (r->alerts[i].max_ms != REPORT_NONE && r->alerts[i].max_ms > scale)
			scale = r->alerts[i].max_ms;
	/* A round axis in quarters: 1, 2 or 4 s times a power of ten. */
	for (int64_t p = 1000; ; p *= 10) {
		if (scale <= p) { scale = p; break; }
		if (scale <= 2 * p) { scale = 2 * p; break; }
		if (scale <= 4 * p) { scale = 4 * p; break; }
		if (p > INT64_MAX / 100) break;
	}
	fprintf(f, "<figure><svg id=\"chart-alerts\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"Alert delivery times\" xmlns=\"http://www.w3.org/2000/svg\">", CW, hgt);
	for (int p = 0; p <= 4; p++) {
		int x = lw + bw * p / 4;

		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
			"<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", x, x, top - 4,
			hgt - 20, x, hgt - 6);
		h_dur(f, scale * p / 4);
		fputs("</text>", f);
	}
	for (size_t i = 0; i < r->nalerts; i++) {
		const struct report_alert *a = &r->alerts[i];
		bool drill = strcmp(a->alert_class, "actual") != 0;
		int y = top + (int)i * rh;

		fprintf(f, "<g><text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 8, y + 18);
		h(f, a->title);
		if (drill) {
			fputs(" (", f);
			h(f, a->alert_class);
			fputs(")", f);
		}
		fputs("<title>", f);
		h(f, a->id);
		fputs("</title></text>", f);
		if (a->max_ms != REPORT_NONE) {
			double p50 = lw + (double)bw * (double)(a->p50_ms > 0 ? a->p50_ms : 0) / (double)scale;
			double p95 = (double)bw * (double)(a->p95_ms > 0 ? a->p95_ms : 0) / (double)scale;
			double mx = lw + (double)bw * (double)(a->max_ms > 0 ? a->max_ms : 0) / (double)scale;

			fprintf(f, "<rect class=\"p95%s\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"16\"/>"
				"<line class=\"whisker\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
				"<line class=\"whisker\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
				"<line class=\"p50\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>",
				drill ? " drill" : "", lw, y + 5, p95, lw + p95, mx, y + 13, y + 13, mx, mx, y + 8,
				y + 18, p50, p50, y + 3, y + 23);
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\">%lld/%lld started", lw + bw + 8, y + 18,
			(long long)a->started, (long long)a->targeted);
		if (a->max_ms != REPORT_NONE) {
			fputs(" · p95 ", f);
			h_dur(f, a->p95_ms);
		}
		fputs("</text></g>", f);
	}
	fputs("</svg><figcaption class=\"legend\">bar: issue → start, 95% of the nodes; black tick: p50 "
	      "(median); thin line: the slowest node. Grey: drill or test.</figcaption></figure>\n", f);
}

static void html_table(FILE *f, const struct table *t, const char *id)
{
	char buf[CELL_MAX];

	fprintf(f, "<h2>");
	h(f, t->title);
	fprintf(f, "</h2>\n");
	if (!t->nrows) {
		fputs("<p class=\"none\">None.</p>\n", f);
		return;
	}
	fprintf(f, "<div class=\"scroll\"><table id=\"%s\"><thead><tr>", id);
	for (size_t k = 0; k < t->ncols; k++) {
		fprintf(f, "<th%s>", numeric(t->cols[k].t) ? " class=\"n\"" : "");
		h(f, t->cols[k].head);
		fputs("</th>", f);
	}
	fputs("</tr></thead><tbody>\n", f);
	for (size_t i = 0; i < t->nrows; i++) {
		fputs("<tr>", f);
		for (size_t k = 0; k < t->ncols; k++) {
			cell_human(&t->cols[k], &t->cells[i * t->ncols + k], buf, sizeof(buf));
			fprintf(f, "<td%s>", numeric(t->cols[k].t) ? " class=\"n\""
				    : t->cols[k].t == T_TEXT ? " class=\"t\""
				    : t->cols[k].t == T_DATE ? " class=\"d\"" : "");
			h(f, buf);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table></div>\n", f);
}

static int write_html(struct out *o, FILE *f)
{
	const struct report *r = o->r;
	const struct table *t = o->t;
	char from[48], to[48], gen[32], buf[CELL_MAX];

	fmt_date(r->o.from_ms, from, sizeof(from));
	fmt_date(r->o.to_ms - 1, to, sizeof(to));
	fmt_time(o->generated_ms, gen, sizeof(gen));
	fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
	h(f, r->o.township ? r->o.township : "cunxiang");
	fprintf(f, " 广播报告 %s – %s</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n<h1>", from, to, css);
	h(f, r->o.township ? r->o.township : "cunxiang");
	fputs(" 广播效果报告</h1>\n<p class=\"meta\">", f);
	fprintf(f, "%s – %s (", from, to);
	h(f, r->o.timezone ? r->o.timezone : "");
	fprintf(f, ") · generated %s", gen);
	if (r->o.notice) {
		fputs(" · notice ", f);
		h(f, r->o.notice);
	}
	if (r->o.village) {
		fputs(" · village ", f);
		h(f, r->o.village);
	}
	fputs("</p>\n", f);
	html_cards(f, r);
	chart_villages(f, r);
	chart_days(f, r);
	chart_alerts(f, r);
	html_table(f, &t[TB_NOTICES], "notices");
	html_table(f, &t[TB_VILLAGES], "villages");
	html_table(f, &t[TB_DAYS], "days");
	html_table(f, &t[TB_ALERTS], "alerts");
	html_table(f, &t[TB_MISSED], "alert-not-reached");
	html_table(f, &t[TB_NODES], "nodes");
	html_table(f, &t[TB_UNKNOWN], "unknown-receipts");
	html_table(f, &t[TB_BAD], "quarantined-receipts");
	html_table(f, &t[TB_LOST], "receipts-lost");
	fputs("<h2>All figures</h2>\n<div class=\"scroll\"><table class=\"kv\" id=\"summary\"><tbody>\n", f);
	for (size_t k = 0; k < t[TB_SUMMARY].ncols; k++) {
		cell_human(&t[TB_SUMMARY].cols[k], &t[TB_SUMMARY].cells[k], buf, sizeof(buf));
		fputs("<tr><td>", f);
		h(f, t[TB_SUMMARY].cols[k].head);
		fputs("</td><td class=\"n\">", f);
		h(f, buf);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table></div>\n<h2>Model and assumptions 模型与假设</h2>\n<ul class=\"model\">\n", f);
	for (size_t i = 0; i < t[TB_ASSUMPTIONS].nrows; i++) {
		fputs("<li>", f);
		h(f, t[TB_ASSUMPTIONS].cells[i].s);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
	html_table(f, &t[TB_PRESENCE], "presence");
	fputs("</main>\n</body>\n</html>\n", f);
	return 0;
}

/* ---- entry points ---- */

int report_format_parse(const char *name, enum report_format *f)
{
	static const char *const names[] = { "text", "csv", "json", "html" };

	for (int i = 0; i < 4; i++)
		if (name && !strcmp(name, names[i])) {
			*f = (enum report_format)i;
			return 0;
		}
	return -EINVAL;
}

int report_write(const struct report *r, enum report_format format, int64_t generated_ms, FILE *f)
{
	struct out o = { .r = r, .generated_ms = generated_ms };
	int rc;

	if ((rc = build(&o)) == 0) {
		switch (format) {
		case REPORT_TEXT: rc = write_text(&o, f); break;
		case REPORT_CSV: rc = write_csv(&o, f); break;
		case REPORT_JSON: rc = write_json(&o, f); break;
		case REPORT_HTML: rc = write_html(&o, f); break;
		}
	}
	out_free(&o);
	if (rc == 0 && (fflush(f) != 0 || ferror(f)))
		rc = -EIO;
	return rc;
}
