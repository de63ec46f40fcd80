/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_tsync.c -- clock offset from ping/pong bursts: formula, median, bursts */
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

static void median_of_burst(void **state)
{
	struct tsync *t = tsync_new();
	int64_t mono = 1000000, t0, sent[TSYNC_BURST];
	int n = 0;

	assert_false(tsync_valid(t));
	assert_int_equal(tsync_offset_us(t), 0);
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
	/* The next burst is a minute later. */
	assert_true(tsync_next_us(t, mono) > 50000000);
	assert_true(tsync_due(t, mono + TSYNC_PERIOD_US, &t0));
	tsync_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(median_of_burst),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
