/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_tsync.c -- clock offset from ping/pong bursts: formula, the pool's
 * fastest trips, jitter, stalls, drift, steps of either clock */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tsync.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int pong(struct tsync *t, int64_t t0, int64_t t1, int64_t t2, int64_t t3)
{
	struct ctl_pong p = { .node = "n1", .t0_us = t0, .t1_us = t1, .t2_us = t2 };

	return tsync_on_pong(t, &p, t3);
}

#define WALL0 1700000000000000LL /* the system clock at the start, µs */

/* Run a burst from MONO against a controller whose clock reads mono + OFF,
 * 2 ms each way. \retval the monotonic time after it */
static int64_t burst(struct tsync *t, int64_t mono, int64_t off)
{
	int64_t t0;
	int n = 0;

	while (n < TSYNC_BURST) {
		if (tsync_due(t, mono, &t0)) {
			int64_t t1 = t0 + 2000 + off;

			assert_int_equal(t0, mono);
			assert_int_equal(pong(t, t0, t1, t1 + 100, t0 + 4100), 0);
			n++;
		}
		mono += 10000;
	}
	mono += 2000000;
	assert_false(tsync_due(t, mono, &t0));
	return mono;
}

/* The system clock stepped +30 s, then -30 s: each step is seen at the next
 * look, starts a burst at once, and changes what the status says of the
 * system clock, but not the controller's time the pole plays by. */
static void clock_steps(void **state)
{
	const int64_t off = 1700000000000000LL + 7000; /* controller - mono */
	struct tsync *t = tsync_new(WALL0, 500000);
	int64_t mono = 500000, wall_mono = WALL0 - 500000, t0, before;

	assert_int_equal(tsync_observe(t, mono + wall_mono, mono), 0);
	tsync_start_burst(t, mono);
	mono = burst(t, mono, off);
	assert_int_equal(tsync_offset_us(t), off);
	assert_int_equal(tsync_wall_offset_us(t, mono + wall_mono, mono), off - wall_mono);

	/* NTP slewing (0.5 ms in a second) is no step. */
	mono += 1000000;
	wall_mono += 500;
	assert_int_equal(tsync_observe(t, mono + wall_mono, mono), 0);
	assert_true(tsync_next_us(t, mono) > 0);

	/* +30 s: seen, a burst is due now; the offset the pole plays by stays. */
	mono += 20000000;
	wall_mono += 30000000;
	assert_int_equal(tsync_observe(t, mono + wall_mono, mono), 30000000);
	assert_int_equal(tsync_next_us(t, mono), 0);
	assert_int_equal(tsync_offset_us(t), off);
	assert_int_equal(tsync_wall_offset_us(t, mono + wall_mono, mono), off - wall_mono);
	assert_int_equal(tsync_observe(t, mono + wall_mono, mono), 0);
	/* A pong to a ping of the burst the step cut short is not counted. */
	before = mono;
	assert_true(tsync_due(t, mono, &t0));
	tsync_observe(t, mono + wall_mono - 30000000, mono);
	assert_int_equal(pong(t, t0, t0 + off, t0 + off + 10, t0 + 20), -ENOENT);
	tsync_observe(t, mono + wall_mono, mono);
	/* The new burst agrees: one round re-measures it. */
	mono = burst(t, mono, off);
	assert_int_equal(tsync_offset_us(t), off);
	assert_true(mono - before < TSYNC_PERIOD_US);
	assert_int_equal(tsync_rounds(t), 2);

	/* -30 s back: the same. */
	mono += 5000000;
	wall_mono -= 30000000;
	assert_int_equal(tsync_observe(t, mono + wall_mono, mono), -30000000);
	assert_int_equal(tsync_next_us(t, mono), 0);
	assert_int_equal(tsync_wall_offset_us(t, mono + wall_mono, mono), off - wall_mono);
	mono = burst(t, mono, off);
	assert_int_equal(tsync_offset_us(t), off);
	assert_int_equal(tsync_rounds(t), 3);
	tsync_free(t);
}

/* Before any measurement a step moves the stand-in with the system clock:
 * nothing better is known. */
static void step_before_measured(void **state)
{
	struct tsync *t = tsync_new(WALL0, 100);

	assert_int_equal(tsync_observe(t, WALL0 + 1000 + 30000000, 1100), 30000000);
	assert_false(tsync_valid(t));
	assert_int_equal(tsync_offset_us(t), WALL0 - 100 + 30000000);
	assert_int_equal(tsync_wall_offset_us(t, WALL0 + 2000 + 30000000, 2100), 0);
	tsync_free(t);
}

static void fastest_trips_of_burst(void **state)
{
	struct tsync *t = tsync_new(WALL0, 1000000);
	int64_t mono = 1000000, t0, sent[TSYNC_BURST];
	int n = 0;

	/* Until measured, the system clock stands in for the controller's. */
	assert_false(tsync_valid(t));
	assert_int_equal(tsync_offset_us(t), WALL0 - 1000000);
	assert_int_equal(tsync_wall_offset_us(t, WALL0 + 5, 1000005), 0);
	tsync_start_burst(t, mono);
	while (n < TSYNC_BURST) {
		if (tsync_due(t, mono, &t0))
			sent[n++] = t0;
		mono += 10000;
	}
	assert_false(tsync_due(t, mono, &t0));
	/* Controller 5 ms ahead, 2 ms each way; two outliers with a slow
	 * return path must not move the estimate. */
	for (int i = 0; i < TSYNC_BURST; i++) {
		int64_t back = i < 2 ? 80000 : 2000;
		int64_t t1 = sent[i] + 2000 + 5000, t2 = t1 + 100;

		assert_int_equal(pong(t, sent[i], t1, t2, t2 - 5000 + back), 0);
	}
	/* A pong for a ping never sent, and a replayed one, are not ours. */
	assert_int_equal(pong(t, 42, 50, 60, 70), -ENOENT);
	assert_int_equal(pong(t, sent[5], sent[5] + 7000, sent[5] + 7100, sent[5] + 9100), -ENOENT);
	/* Times out of order. */
	assert_int_equal(pong(t, sent[6], sent[6] + 7000, sent[6] + 6000, sent[6] + 9000), -EINVAL);
	/* The burst closes a second after its last ping. */
	mono += 2000000;
	assert_false(tsync_due(t, mono, &t0));
	assert_true(tsync_valid(t));
	assert_int_equal(tsync_offset_us(t), 5000);
	assert_int_equal(tsync_rtt_us(t), 4000);
	assert_int_equal(tsync_rounds(t), 1);
	assert_int_equal(tsync_pool_size(t), TSYNC_BURST);
	/* The pool is not full: the next burst is soon, not a minute later. */
	assert_true(tsync_next_us(t, mono) > 0);
	assert_true(tsync_next_us(t, mono) <= TSYNC_FAST_US);
	assert_true(tsync_due(t, mono + TSYNC_FAST_US, &t0));
	tsync_free(t);
}

/* A simulated link: a floor BASE each way, uniform jitter of +-JITTER, the
 * trip up held STALL_UP more, a controller clock that reads
 * OFF0 + mono * (1 + DRIFT). */
struct link {
	uint64_t rng;
	int64_t base, jitter, stall_up, off0;
	double drift;
};

static int64_t jit(struct link *l)
{
	l->rng = l->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (int64_t)((l->rng >> 33) % (uint64_t)(2 * l->jitter + 1)) - l->jitter;
}

static int64_t true_offset(const struct link *l, int64_t mono)
{
	return l->off0 + (int64_t)(l->drift * (double)mono);
}

/* Run the next burst to its end. \retval the monotonic time then */
static int64_t sim_burst(struct tsync *t, int64_t mono, struct link *l)
{
	int64_t t0;

	mono += tsync_next_us(t, mono);
	do {
		if (tsync_due(t, mono, &t0)) {
			int64_t up = l->base + jit(l) + l->stall_up, down = l->base + jit(l);
			int64_t t1 = t0 + up + true_offset(l, t0 + up);

			assert_int_equal(pong(t, t0, t1, t1 + 200, t0 + up + 200 + down), 0);
		}
		mono += 10000;
		/* tsync_due closes the burst once it is over */
	} while (tsync_next_us(t, mono) <= 2 * TSYNC_BURST * TSYNC_SPACING_US);
	return mono;
}

/* Run bursts until one is taken into the estimate. */
static int64_t sim_round(struct tsync *t, int64_t mono, struct link *l)
{
	uint64_t r0 = tsync_rounds(t);

	for (int guard = 0; tsync_rounds(t) == r0 && guard < 100; guard++)
		mono = sim_burst(t, mono, l);
	assert_int_not_equal(tsync_rounds(t), r0);
	return mono;
}

/* 100 poles on a 4G-like link (150 ms each way, +-50 ms jitter): with a
 * full pool each is within 2.5 ms of the controller's clock, so any two
 * within 5 ms. The mean (or median) of per-exchange offsets keeps so much
 * of the jitter that a third of them would be off by more. */
static void jitter_pool(void **state)
{
	int within = 0;
	int64_t worst = 0;

	for (int p = 0; p < 100; p++) {
		struct link l = { .rng = 7919u * (unsigned)p + 1, .base = 150000, .jitter = 50000,
				  .off0 = 1700000000000000LL + p * 1000 };
		struct tsync *t = tsync_new(WALL0, 1000000);
		int64_t mono = 1000000, err;

		tsync_start_burst(t, mono);
		while (tsync_pool_size(t) < TSYNC_POOL)
			mono = sim_round(t, mono, &l);
		/* Filled by fast bursts, within the first minute. */
		assert_true(mono - 1000000 < 60000000);
		err = tsync_offset_us(t) - true_offset(&l, mono);
		err = err < 0 ? -err : err;
		within += err <= 2500;
		worst = err > worst ? err : worst;
		tsync_free(t);
	}
	printf("jitter_pool: %d of 100 poles within 2.5 ms, worst %.2f ms\n", within,
	       (double)worst / 1000);
	assert_true(within >= 97);
	assert_true(worst < 5000);
}

/* A 2 s stall of the trip up (a handover) during a burst does not move the
 * estimate; the controller's clock stepped by 1 s is believed only when a
 * second burst agrees. */
static void stall_and_step(void **state)
{
	struct link l = { .rng = 42, .base = 150000, .jitter = 50000, .off0 = 5000000 };
	struct tsync *t = tsync_new(WALL0, 1000000);
	int64_t mono = 1000000, before;
	uint64_t rounds;

	tsync_start_burst(t, mono);
	while (tsync_pool_size(t) < TSYNC_POOL)
		mono = sim_round(t, mono, &l);
	before = tsync_offset_us(t);
	rounds = tsync_rounds(t);
	l.stall_up = 2000000;
	mono = sim_burst(t, mono, &l);
	l.stall_up = 0;
	assert_int_equal(tsync_rounds(t), rounds);
	assert_int_equal(tsync_offset_us(t), before);
	/* The next burst is like the ones before it: taken, and the held one
	 * is forgotten. */
	mono = sim_round(t, mono, &l);
	assert_int_equal(tsync_rounds(t), rounds + 1);
	assert_true(tsync_offset_us(t) - before <= 1000 && before - tsync_offset_us(t) <= 1000);
	before = tsync_offset_us(t);

	/* The controller's clock steps 1 s ahead: the first burst is held
	 * back (the estimate stays, the next burst comes soon), the second
	 * confirms it and the pool starts over. */
	l.off0 += 1000000;
	rounds = tsync_rounds(t);
	mono = sim_burst(t, mono, &l);
	assert_int_equal(tsync_rounds(t), rounds);
	assert_int_equal(tsync_offset_us(t), before);
	assert_true(tsync_next_us(t, mono) <= TSYNC_FAST_US);
	mono = sim_burst(t, mono, &l);
	assert_int_equal(tsync_rounds(t), rounds + 1);
	assert_int_equal(tsync_pool_size(t), 2 * TSYNC_BURST);
	assert_true(tsync_offset_us(t) - true_offset(&l, mono) <= 50000 &&
		    true_offset(&l, mono) - tsync_offset_us(t) <= 50000);
	assert_true(tsync_offset_us(t) - before > 900000);
	tsync_free(t);
}

/* The controller's clock runs 20 ppm fast of the pole's monotonic clock:
 * after a quarter of an hour the drift is fitted, the pool reaches back five
 * minutes and the estimate is still within 2.5 ms. */
static void drift(void **state)
{
	struct link l = { .rng = 99, .base = 150000, .jitter = 50000, .off0 = 3000000,
			  .drift = 20e-6 };
	struct tsync *t = tsync_new(WALL0, 1000000);
	int64_t mono = 1000000, err;

	tsync_start_burst(t, mono);
	while (mono < 1000000 + 15 * 60000000LL) {
		mono = sim_round(t, mono, &l);
		err = tsync_offset_us(t) - true_offset(&l, mono);
		if (tsync_pool_size(t) >= TSYNC_POOL)
			assert_true(err <= 3500 && err >= -3500);
	}
	printf("drift: fitted %.1f ppm (true 20), error %.2f ms, pool %d\n",
	       tsync_drift(t) * 1e6, (double)err / 1000, tsync_pool_size(t));
	assert_true(tsync_drift(t) > 15e-6 && tsync_drift(t) < 25e-6);
	assert_true(err <= 2500 && err >= -2500);
	assert_true(tsync_pool_size(t) >= TSYNC_POOL);
	tsync_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fastest_trips_of_burst),
		cmocka_unit_test(jitter_pool),
		cmocka_unit_test(stall_and_step),
		cmocka_unit_test(drift),
		cmocka_unit_test(clock_steps),
		cmocka_unit_test(step_before_measured),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
