/* SPDX-License-Identifier: GPL-2.0-or-later */
/* report.c -- the report's figures: reach, awareness, alert delivery and fleet health from the receipt store */
#include "report.h"

#include "cxtime.h"
#include "hashtab.h"
#include "query.h"
#include "vec.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Grow V, an array of CAP elements, to hold N + 1. \retval 0 / -ENOMEM */
#define RESERVE(v, cap, n) (vec_grow((void **)&(v), &(cap), (n) + 1, sizeof(*(v))) ? 0 : -ENOMEM)

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

	struct tz_entry { int64_t bucket, off; } *tz; /* UTC offsets (s) of 15-minute buckets */
	size_t ntz;                   /* a power of two covering the period */

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
	struct report_cap *caps;
	size_t ncaps, caps_cap;
	int64_t *deliveries;          /* pooled over actual alerts */
	size_t ndeliveries, deliveries_cap;

	struct store_node *status;    /* rq_nodes() */
	size_t nstatus;
	int err;
};

/* Seconds east of UTC at MS in the selected zone, cached per 15 minutes
 * (zones change their offset only at quarter hours): localtime_r() for
 * every completed play would take a good part of a report's time. The
 * cache holds every quarter of the period, which a report walks once
 * per node. */
static int64_t tz_offset(struct report *r, int64_t ms)
{
	int64_t b = (ms >= 0 ? ms : ms - 899999) / 900000;
	size_t i = (size_t)((uint64_t)b & (r->ntz - 1));
	struct tm tm;

	if (!r->ntz) {
		cx_tz_ms_to_civil(ms, &tm);
		return tm.tm_gmtoff;
	}

	if (r->tz[i].bucket != b + 1) {
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

static void fig_play(struct report_fig *f, enum play_outcome o)
{
	f->planned++;
	switch (o) {
	case PLAY_COMPLETED: f->completed++; break;
	case PLAY_INTERRUPTED: f->interrupted++; break;
	case PLAY_FAILED: f->failed++; break;
	case PLAY_SKIPPED: f->skipped++; break;
	case PLAY_EXPIRED: f->expired++; break;
	case PLAY_UNFINISHED: f->unfinished++; break;
	case PLAY_NONE: f->no_receipt++; break;
	}
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

/* The notices and villages of the packed row being read, by their index
 * in it: a row's sixteen plays name two or three strings, interned once. */
#define ROW_CACHE 16

struct play_ctx {
	struct report *r;
	size_t day;
	bool day_open;
	long node;                    /* the last play's node, -1 none yet */
	uint64_t row;                 /* the row notice_of and village_of are for */
	long notice_of[ROW_CACHE], village_of[ROW_CACHE]; /* -1 not yet */
};

/* The interned id of a play's string S, its index IX in the play's row
 * (ROW 0: none), through CACHE, else ADD. \retval id / -ENOMEM */
static long row_intern(struct play_ctx *c, uint64_t row, uint32_t ix, long *cache, const char *s,
		       long (*add)(struct report *r, const char *s))
{
	long id;

	if (row && row != c->row) {
		c->row = row;
		for (size_t i = 0; i < ROW_CACHE; i++)
			c->notice_of[i] = c->village_of[i] = -1;
	}
	if (row && ix < ROW_CACHE && cache[ix] >= 0)
		return cache[ix];
	if ((id = add(c->r, s)) >= 0 && row && ix < ROW_CACHE)
		cache[ix] = id;
	return id;
}

static long notice_add(struct report *r, const char *id)
{
	return strtab_add(&r->notices, id);
}

static int on_play(const struct store_play *p, void *ud)
{
	struct play_ctx *c = ud;
	struct report *r = c->r;
	long node, notice, village;
	enum play_outcome o = p->outcome;
	struct pair *pr;
	uint64_t key;
	bool added;
	size_t day;
	long pi;

	if (r->o.notice && strcmp(p->notice, r->o.notice))
		return 0;
	if ((village = row_intern(c, p->row, p->village_ix, c->village_of, p->village_code,
				  village_add)) < 0)
		return -ENOMEM;
	if (!village_passes(r, (uint32_t)village))
		return 0;
	if (p->start_ms >= r->end_ms) {
		r->sum.pending++;
		return 0;
	}
	if (c->node >= 0 && !strcmp(r->nodes.s[c->node], p->node))
		node = c->node;
	else if ((node = c->node = node_add(r, p->node)) < 0)
		return -ENOMEM;
	if ((notice = row_intern(c, p->row, p->notice_ix, c->notice_of, p->notice, notice_add)) < 0)
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

	fig_play(&r->sum.total, o);
	fig_play(&r->nfig[notice], o);
	fig_play(&r->vfig[village], o);
	/* A node's plays come in start order: mostly in the last one's day. */
	if (c->day_open && p->start_ms >= r->days[c->day].start_ms &&
	    (c->day + 1 == r->ndays || p->start_ms < r->days[c->day + 1].start_ms))
		day = c->day;
	else
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
	if (o == PLAY_COMPLETED) {
		double miss = 1.0 - report_presence(r, p->done_ms);

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
	struct play_ctx c = { .r = r, .node = -1 };
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

/* ---- automatic warnings (CAP) ---------------------------------------------- */

static int on_cap_alert(const char *alert_id, const char *sender, const char *identifier, void *ud)
{
	struct report *r = ud;

	for (size_t i = 0; i < r->nalerts; i++) {
		struct report_alert *a = &r->alerts[i];

		/* The first message that issued it names it. */
		if (!a->cap_identifier && !strcmp(a->id, alert_id)) {
			a->cap_sender = str(r, sender);
			a->cap_identifier = str(r, identifier);
			r->sum.alerts_cap++;
		}
	}
	return r->err;
}

static int on_cap_held(const struct store_cap *c, void *ud)
{
	struct report *r = ud;
	struct report_cap *x;

	r->sum.cap_not_broadcast++;
	if (r->ncaps >= REPORT_LIST_MAX)
		return 0;
	if (RESERVE(r->caps, r->caps_cap, r->ncaps) < 0)
		return -ENOMEM;
	x = &r->caps[r->ncaps++];
	x->received_ms = c->received_ms;
	x->sender = c->sender[0] ? str(r, c->sender) : NULL;
	x->identifier = str(r, c->identifier);
	x->title = c->title[0] ? str(r, c->title) : NULL;
	x->msg_type = c->msg_type[0] ? str(r, c->msg_type) : NULL;
	x->decision = str(r, c->decision);
	x->origin = str(r, c->origin);
	if (c->hold_reason[0]) {
		size_t n = strlen(c->reason) + strlen(c->hold_reason) + 16;
		char *j = malloc(n);

		if (!j)
			return -ENOMEM;
		snprintf(j, n, "%s (held: %s)", c->reason, c->hold_reason);
		x->reason = str(r, j);
		free(j);
	} else {
		x->reason = str(r, c->reason);
	}
	return r->err;
}

/* Which alerts came from CAP messages; the messages not broadcast. A
 * notice filter asks about one notice or alert: those are left out. */
static int caps(struct report *r, struct store *s)
{
	int rc;

	if ((rc = rq_cap_alerts(s, r->o.from_ms, r->o.to_ms, on_cap_alert, r)) != 0 || r->o.notice)
		return rc;
	return rq_cap_not_broadcast(s, r->o.from_ms, r->o.to_ms, on_cap_held, r);
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
	for (r->ntz = 1024; r->ntz < (r->ndays + 2) * 96 && r->ntz < ((size_t)1 << 20);)
		r->ntz *= 2;
	if (!(r->tz = calloc(r->ntz, sizeof(*r->tz))))
		return -ENOMEM;
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
	if (rc != 0 || (rc = alerts(r, s)) != 0 || (rc = caps(r, s)) != 0 || (rc = health(r, s)) != 0 ||
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
	free(r->tz);
	free(r->alerts);
	free(r->missed);
	free(r->health);
	free(r->unknown);
	free(r->bad);
	free(r->lost);
	free(r->caps);
	free(r->deliveries);
	free(r->status);
	free(r);
}

const struct report_opts *report_opts(const struct report *r) { return &r->o; }
const struct report_summary *report_summary(const struct report *r) { return &r->sum; }
int64_t report_counted_until(const struct report *r) { return r->end_ms; }
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
size_t report_cap_count(const struct report *r) { return r->ncaps; }
const struct report_cap *report_cap(const struct report *r, size_t i) { return i < r->ncaps ? &r->caps[i] : NULL; }
