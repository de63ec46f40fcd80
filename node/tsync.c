/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tsync.c -- the node's offset to the controller's clock, from ping/pong bursts */
#include "tsync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sample {
	int64_t t;              /* monotonic time of the ping */
	int64_t fwd, back;      /* t1 - t0 and t2 - t3 */
};

struct estimate {
	int64_t t, offset;
};

struct tsync {
	int64_t sent_t0[TSYNC_BURST];
	struct sample got[TSYNC_BURST];
	int nsent, ngot;
	int64_t next_ping_mono;   /* next ping of this burst, or next burst */
	int64_t burst_end_mono;   /* when late pongs stop counting */
	bool in_burst;
	struct sample pool[TSYNC_POOL_MAX];  /* oldest first */
	int npool;
	struct estimate hist[TSYNC_HIST];    /* each burst's own, oldest first */
	int nhist;
	double drift;
	bool drift_known;
	int64_t offset, rtt;      /* controller - mono at t_est, once valid */
	int64_t t_est;
	bool valid;
	uint64_t rounds, restarts;
	int64_t wall_mono;        /* system clock - mono, as last observed */
};

struct tsync *tsync_new(int64_t wall_us, int64_t mono_us)
{
	struct tsync *t = calloc(1, sizeof(*t));

	if (t) {
		t->next_ping_mono = INT64_MAX;
		t->wall_mono = wall_us - mono_us;
	}
	return t;
}

void tsync_free(struct tsync *t)
{
	free(t);
}

/* (min fwd + max back) / 2 over S, each sample carried to NOW with DRIFT;
 * *RTT the floor of the round trip. */
/* The fastest trip up (*LO, min fwd) and down (*HI, max back) of S, each
 * sample carried to AT with DRIFT. */
static void floors(const struct sample *s, int n, int64_t at, double drift, int64_t *lo,
		   int64_t *hi)
{
	*lo = INT64_MAX;
	*hi = INT64_MIN;
	for (int i = 0; i < n; i++) {
		int64_t carry = (int64_t)(drift * (double)(at - s[i].t));

		if (s[i].fwd + carry < *lo)
			*lo = s[i].fwd + carry;
		if (s[i].back + carry > *hi)
			*hi = s[i].back + carry;
	}
}

static int64_t min_max(const struct sample *s, int n, int64_t now, double drift, int64_t *rtt)
{
	int64_t lo, hi;

	floors(s, n, now, drift, &lo, &hi);
	*rtt = lo - hi;
	return lo + (hi - lo) / 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The drift into *DRIFT: the median of the slopes between every two burst
 * estimates (Theil-Sen), which a few bursts off by their jitter or a stall
 * cannot pull. false (*DRIFT untouched) until they span long enough. */
static bool fit_drift(const struct tsync *t, double *drift)
{
	double slope[TSYNC_HIST * (TSYNC_HIST - 1) / 2];
	size_t n = 0;
	double r;

	if (t->nhist < 3 || t->hist[t->nhist - 1].t - t->hist[0].t < TSYNC_DRIFT_SPAN_US)
		return false;
	for (int i = 0; i < t->nhist; i++)
		for (int j = i + 1; j < t->nhist; j++)
			if (t->hist[j].t > t->hist[i].t)
				slope[n++] = (double)(t->hist[j].offset - t->hist[i].offset) /
					     (double)(t->hist[j].t - t->hist[i].t);
	if (n == 0)
		return false;
	qsort(slope, n, sizeof(*slope), cmp_double);
	r = n % 2 ? slope[n / 2] : (slope[n / 2 - 1] + slope[n / 2]) / 2;
	*drift = r > TSYNC_DRIFT_MAX ? TSYNC_DRIFT_MAX : r < -TSYNC_DRIFT_MAX ? -TSYNC_DRIFT_MAX : r;
	return true;
}

static void pool_add(struct tsync *t, const struct sample *s, int n)
{
	for (int i = 0; i < n; i++) {
		if (t->npool == TSYNC_POOL_MAX)
			memmove(t->pool, t->pool + 1, --t->npool * sizeof(*t->pool));
		t->pool[t->npool++] = s[i];
	}
}

/* One estimate per half period at most: fast bursts must not crowd the span
 * the drift is fitted over out of the history. */
static void hist_add(struct tsync *t, int64_t now, int64_t offset)
{
	if (t->nhist > 0 && now - t->hist[t->nhist - 1].t < TSYNC_PERIOD_US / 2)
		return;
	if (t->nhist == TSYNC_HIST)
		memmove(t->hist, t->hist + 1, --t->nhist * sizeof(*t->hist));
	t->hist[t->nhist++] = (struct estimate){ now, offset };
}

/* Delays never go below their floor: a burst whose fastest trip up is
 * faster than the pool's, or whose fastest trip down is, by more than
 * TSYNC_FLOOR_US saw the controller's clock move (or a faster path
 * appear), and what the pool holds is stale. A stall, a slow burst, only
 * adds slower trips, which change neither. Judged against a full pool
 * only (a young one's floor is itself a few ms above the link's), and
 * until the drift is known with room for what it can have moved the
 * floor over the window. */
static bool beats_floor(const struct tsync *t)
{
	int64_t lo, hi, plo, phi, at = t->got[0].t;
	int64_t slack = TSYNC_FLOOR_US +
		(t->drift_known ? 0 : (int64_t)(TSYNC_DRIFT_MAX * (double)TSYNC_WINDOW_US));

	if (t->npool < TSYNC_POOL)
		return false;
	floors(t->got, t->ngot, at, t->drift, &lo, &hi);
	floors(t->pool, t->npool, at, t->drift, &plo, &phi);
	return lo < plo - slack || hi > phi + slack;
}

/* Take the burst's samples in; the pool starts over from them when they
 * beat its floor. The drift stays: a clock that moved keeps its rate. */
static void take_burst(struct tsync *t, int64_t now)
{
	int64_t rtt, own = min_max(t->got, t->ngot, now, t->drift, &rtt);

	if (beats_floor(t)) {
		t->npool = t->nhist = 0;
		t->restarts++;
	}
	pool_add(t, t->got, t->ngot);
	hist_add(t, now, own);
}

static void finish_burst(struct tsync *t, int64_t now)
{
	int64_t window, next = TSYNC_PERIOD_US;
	int drop = 0;

	if (t->ngot > 0) {
		take_burst(t, now);
		if (fit_drift(t, &t->drift))
			t->drift_known = true;
		window = t->drift_known ? TSYNC_WINDOW_DRIFT_US : TSYNC_WINDOW_US;
		while (drop < t->npool - t->ngot && now - t->pool[drop].t > window)
			drop++;
		memmove(t->pool, t->pool + drop, (size_t)(t->npool - drop) * sizeof(*t->pool));
		t->npool -= drop;
		t->offset = min_max(t->pool, t->npool, now, t->drift, &t->rtt);
		t->t_est = now;
		t->valid = true;
		t->rounds++;
		/* Fill the pool soon; a burst nobody answered waits the period. */
		if (t->npool < TSYNC_POOL)
			next = TSYNC_FAST_US;
	}
	t->in_burst = false;
	t->next_ping_mono = now + next;
}

void tsync_start_burst(struct tsync *t, int64_t mono_us)
{
	t->nsent = t->ngot = 0;
	t->in_burst = true;
	t->next_ping_mono = mono_us;
	t->burst_end_mono = mono_us + TSYNC_BURST * TSYNC_SPACING_US + 1000000;
}

bool tsync_due(struct tsync *t, int64_t mono_us, int64_t *t0_us)
{
	if (t->in_burst && t->nsent == TSYNC_BURST && mono_us >= t->burst_end_mono)
		finish_burst(t, mono_us);
	if (mono_us < t->next_ping_mono)
		return false;
	if (!t->in_burst)
		tsync_start_burst(t, mono_us);
	if (t->nsent >= TSYNC_BURST)
		return false;
	*t0_us = mono_us;
	t->sent_t0[t->nsent++] = *t0_us;
	t->next_ping_mono = t->nsent < TSYNC_BURST ? mono_us + TSYNC_SPACING_US : t->burst_end_mono;
	return true;
}

int64_t tsync_next_us(const struct tsync *t, int64_t mono_us)
{
	int64_t d = t->next_ping_mono - mono_us;

	return d < 0 ? 0 : d;
}

int tsync_on_pong(struct tsync *t, const struct ctl_pong *p, int64_t t3_us)
{
	int64_t t0 = p->t0_us, t1 = p->t1_us, t2 = p->t2_us;

	if (t2 < t1 || t3_us < t0)
		return -EINVAL;
	if (!t->in_burst || t->ngot >= TSYNC_BURST)
		return -ENOENT;
	for (int i = 0; i < t->nsent; i++) {
		if (t->sent_t0[i] != t0)
			continue;
		t->sent_t0[i] = -1; /* one pong per ping */
		t->got[t->ngot++] = (struct sample){ t0, t1 - t0, t2 - t3_us };
		return 0;
	}
	return -ENOENT;
}

int64_t tsync_observe(struct tsync *t, int64_t wall_us, int64_t mono_us)
{
	int64_t d = wall_us - mono_us, step = d - t->wall_mono;

	t->wall_mono = d;
	if (step >= -TSYNC_STEP_US && step <= TSYNC_STEP_US)
		return 0;
	/* Playout does not move (it runs on the monotonic clock); measure
	 * again now so what the status says of the system clock is fresh. */
	tsync_start_burst(t, mono_us);
	return step;
}

int64_t tsync_offset_us(const struct tsync *t, int64_t mono_us)
{
	if (!t->valid)
		return t->wall_mono;
	return t->offset + (int64_t)(t->drift * (double)(mono_us - t->t_est));
}

int64_t tsync_wall_offset_us(const struct tsync *t, int64_t wall_us, int64_t mono_us)
{
	return tsync_offset_us(t, mono_us) - (wall_us - mono_us);
}

bool tsync_valid(const struct tsync *t) { return t->valid; }
uint64_t tsync_rounds(const struct tsync *t) { return t->rounds; }
int64_t tsync_rtt_us(const struct tsync *t) { return t->rtt; }
double tsync_drift(const struct tsync *t) { return t->drift; }
int tsync_pool_size(const struct tsync *t) { return t->npool; }
uint64_t tsync_restarts(const struct tsync *t) { return t->restarts; }
