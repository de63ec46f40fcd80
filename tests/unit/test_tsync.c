/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_tsync.c -- clock offset from ping/pong bursts: formula, median, bursts,
 * steps of the system clock */
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

static void median_of_burst(void **state)
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
	 * return path must not move the median. */
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
	/* The next burst is a minute later. */
	assert_true(tsync_next_us(t, mono) > 50000000);
	assert_true(tsync_due(t, mono + TSYNC_PERIOD_US, &t0));
	tsync_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(median_of_burst),
		cmocka_unit_test(clock_steps),
		cmocka_unit_test(step_before_measured),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
