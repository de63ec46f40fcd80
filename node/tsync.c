/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tsync.c -- the node's offset to the controller's clock, from ping/pong bursts */
#include "tsync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sample {
	int64_t offset, rtt;
};

struct tsync {
	int64_t sent_t0[TSYNC_BURST];
	struct sample got[TSYNC_BURST];
	int nsent, ngot;
	int64_t next_ping_mono;   /* next ping of this burst, or next burst */
	int64_t burst_end_mono;   /* when late pongs stop counting */
	bool in_burst;
	int64_t offset, rtt;      /* controller - mono, once valid */
	bool valid;
	uint64_t rounds;
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

static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void finish_burst(struct tsync *t, int64_t mono_us)
{
	if (t->ngot > 0) {
		struct sample s[TSYNC_BURST];

		memcpy(s, t->got, (size_t)t->ngot * sizeof(*s));
		qsort(s, (size_t)t->ngot, sizeof(*s), cmp_sample);
		t->offset = t->ngot % 2 ? s[t->ngot / 2].offset
				       : (s[t->ngot / 2 - 1].offset + s[t->ngot / 2].offset) / 2;
		t->rtt = s[t->ngot / 2].rtt;
		t->valid = true;
		t->rounds++;
	}
	t->in_burst = false;
	t->next_ping_mono = mono_us + TSYNC_PERIOD_US;
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
	int r = -ENOENT;

	if (t2 < t1 || t3_us < t0)
		return -EINVAL;
	if (!t->in_burst || t->ngot >= TSYNC_BURST)
		return -ENOENT;
	for (int i = 0; i < t->nsent; i++) {
		if (t->sent_t0[i] != t0)
			continue;
		t->sent_t0[i] = -1; /* one pong per ping */
		t->got[t->ngot].offset = ((t1 - t0) + (t2 - t3_us)) / 2;
		t->got[t->ngot].rtt = (t3_us - t0) - (t2 - t1);
		t->ngot++;
		r = 0;
		break;
	}
	return r;
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

int64_t tsync_offset_us(const struct tsync *t)
{
	return t->valid ? t->offset : t->wall_mono;
}

int64_t tsync_wall_offset_us(const struct tsync *t, int64_t wall_us, int64_t mono_us)
{
	return tsync_offset_us(t) - (wall_us - mono_us);
}

bool tsync_valid(const struct tsync *t) { return t->valid; }
uint64_t tsync_rounds(const struct tsync *t) { return t->rounds; }
int64_t tsync_rtt_us(const struct tsync *t) { return t->rtt; }
