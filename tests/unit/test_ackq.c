/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_ackq.c -- serve's acks held back: one per burst, only what was committed, never lost */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ackq.h"

#include <stdio.h>
#include <string.h>

struct sent {
	char node[40][16], key[40][20];
	uint64_t seq[40];
	size_t n;
};

static void on_ack(const char *node, const char *key, uint64_t seq, void *ud)
{
	struct sent *s = ud;

	assert_true(s->n < 40);
	snprintf(s->node[s->n], sizeof(s->node[0]), "%s", node);
	snprintf(s->key[s->n], sizeof(s->key[0]), "%s", key);
	s->seq[s->n++] = seq;
}

/* A burst from one pole is one ack, sent once it has been quiet. */
static void one_ack_per_burst(void **state)
{
	struct ackq *q = ackq_new();
	struct sent s = { 0 };

	(void)state;
	assert_non_null(q);
	assert_int_equal(ackq_due(q, 0, false, on_ack, &s), -1);
	assert_int_equal(ackq_add(q, "yn-01", "k1", 1, 1000), 0);
	/* Not committed: nothing to send, even when all are asked for. */
	assert_int_equal(ackq_due(q, 1000, true, on_ack, &s), -1);
	assert_int_equal(s.n, 0);
	ackq_commit(q, true);
	assert_int_equal(ackq_add(q, "yn-01", "k1", 2, 1100), 0);
	assert_int_equal(ackq_add(q, "yn-01", "k1", 3, 1150), 0);
	ackq_commit(q, true);
	/* Quiet for 1 s after the last receipt, at 1150. */
	assert_int_equal(ackq_due(q, 1500, false, on_ack, &s), 650);
	assert_int_equal(s.n, 0);
	assert_int_equal(ackq_due(q, 2149, false, on_ack, &s), 1);
	assert_int_equal(ackq_due(q, 2150, false, on_ack, &s), -1);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.node[0], "yn-01");
	assert_string_equal(s.key[0], "k1");
	assert_int_equal(s.seq[0], 3);
	/* Given once. */
	assert_int_equal(ackq_due(q, 5000, true, on_ack, &s), -1);
	assert_int_equal(s.n, 1);
	ackq_free(q);
}

/* A pole that keeps sending is acked no later than 2 s after the first
 * receipt the ack covers. */
static void a_steady_pole_waits_at_most(void **state)
{
	struct ackq *q = ackq_new();
	struct sent s = { 0 };
	int64_t t;

	(void)state;
	for (t = 0; t < 2000; t += 500) {
		assert_int_equal(ackq_add(q, "yn-01", "k1", (uint64_t)t / 500 + 1, t), 0);
		ackq_commit(q, true);
		ackq_due(q, t, false, on_ack, &s);
		assert_int_equal(s.n, 0);
	}
	assert_int_equal(ackq_due(q, 1999, false, on_ack, &s), 1);
	assert_int_equal(ackq_due(q, 2000, false, on_ack, &s), -1);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.seq[0], 4);
	ackq_free(q);
}

/* A commit that failed acks nothing of its own, and keeps what an earlier
 * commit is still to ack. */
static void a_failed_commit_acks_nothing(void **state)
{
	struct ackq *q = ackq_new();
	struct sent s = { 0 };

	(void)state;
	assert_int_equal(ackq_add(q, "yn-01", "k1", 5, 0), 0);
	ackq_commit(q, true);
	assert_int_equal(ackq_add(q, "yn-01", "k1", 9, 10), 0);
	assert_int_equal(ackq_add(q, "yn-02", "k2", 4, 10), 0);
	ackq_commit(q, false);
	assert_int_equal(ackq_due(q, 10, true, on_ack, &s), -1);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.node[0], "yn-01");
	assert_int_equal(s.seq[0], 5);
	/* What was not committed comes again and is acked then. */
	assert_int_equal(ackq_add(q, "yn-02", "k2", 4, 20), 0);
	ackq_commit(q, true);
	assert_int_equal(ackq_due(q, 20, true, on_ack, &s), -1);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.node[1], "yn-02");
	ackq_free(q);
}

/* The last word for a node wins: a new key (re-enrolled) starts over
 * below the old seqs. */
static void the_last_key_wins(void **state)
{
	struct ackq *q = ackq_new();
	struct sent s = { 0 };

	(void)state;
	assert_int_equal(ackq_add(q, "yn-01", "old", 50, 0), 0);
	ackq_commit(q, true);
	assert_int_equal(ackq_add(q, "yn-01", "new", 2, 100), 0);
	ackq_commit(q, true);
	assert_int_equal(ackq_due(q, 100, true, on_ack, &s), -1);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.key[0], "new");
	assert_int_equal(s.seq[0], 2);
	ackq_free(q);
}

/* Many poles, each acked once, and names that do not fit refused. */
static void many_poles(void **state)
{
	struct ackq *q = ackq_new();
	struct sent s = { 0 };
	char node[16], long_name[80];

	(void)state;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 30; i++) {
			snprintf(node, sizeof(node), "p-%02d", i);
			assert_int_equal(ackq_add(q, node, "k", (uint64_t)round + 1, round), 0);
		}
		ackq_commit(q, true);
	}
	assert_int_equal(ackq_due(q, 1000, false, on_ack, &s), 2);
	assert_int_equal(ackq_due(q, 1002, false, on_ack, &s), -1);
	assert_int_equal(s.n, 30);
	for (size_t i = 0; i < s.n; i++)
		assert_int_equal(s.seq[i], 3);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(ackq_add(q, long_name, "k", 1, 0), -22);
	ackq_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_ack_per_burst),
		cmocka_unit_test(a_steady_pole_waits_at_most),
		cmocka_unit_test(a_failed_commit_acks_nothing),
		cmocka_unit_test(the_last_key_wins),
		cmocka_unit_test(many_poles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
