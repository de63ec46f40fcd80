/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sched.c -- the node's play decisions: timing, preemption, queueing, restarts */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sched.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char A1[1][65] = { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
static const char B1[1][65] = { "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" };

static struct sched_item_in plan_ev(const char *occ, int64_t start, int64_t dur, int prio)
{
	return (struct sched_item_in){ .kind = SCHED_PLAN, .id = occ, .notice = "n",
		.start_ms = start, .duration_ms = dur, .deadline_ms = start + 600000,
		.priority = prio, .volume = 80, .nassets = 1, .assets = A1 };
}

static struct sched_item_in alert(const char *id, int64_t start, int prio)
{
	return (struct sched_item_in){ .kind = SCHED_ALERT, .id = id, .notice = "alert",
		.start_ms = start, .duration_ms = 10000, .deadline_ms = start + 3600000,
		.priority = prio, .volume = 100, .nassets = 1, .assets = B1 };
}

struct run {
	struct sched_act a[32];
	size_t n;
	int64_t wake;
};

static void tick(struct sched *s, int64_t now, struct run *r)
{
	r->n = sched_tick(s, now, r->a, 32, &r->wake);
}

/* Index of the first action of TYPE (and receipt STATE, and ID) or -1. */
static int has(const struct run *r, enum sched_act_type type, const char *state, const char *id)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->a[i].type != type)
			continue;
		if (state && (!r->a[i].state || strcmp(r->a[i].state, state)))
			continue;
		if (id && strcmp(r->a[i].id, id))
			continue;
		return (int)i;
	}
	return -1;
}

static uint64_t play_token(const struct run *r, const char *id)
{
	int i = has(r, SCHED_ACT_PLAY, NULL, id);

	assert_true(i >= 0);
	return r->a[i].token;
}

static void plays_on_time(void **state)
{
	struct sched *s = sched_new(1500);
	struct sched_item_in ev = plan_ev("b@2026-12-01T07:30", 100000, 20000, 10);
	struct run r;
	uint64_t t;

	assert_int_equal(sched_set_plan(s, &ev, 1, 0), 0);
	tick(s, 50000, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.wake, 98500);
	tick(s, 98500, &r);
	t = play_token(&r, "b@2026-12-01T07:30");
	assert_int_equal(r.a[0].at_ms, 100000);
	sched_on_started(s, t, 100002, 2100);
	tick(s, 100002, &r);
	int i = has(&r, SCHED_ACT_RECEIPT, "started", NULL);
	assert_true(i >= 0);
	assert_int_equal(r.a[i].start_error_us, 2100);
	assert_int_equal(r.a[i].scheduled_ms, 100000);
	sched_on_done(s, t, 120002, 20000);
	tick(s, 120002, &r);
	i = has(&r, SCHED_ACT_RECEIPT, "completed", NULL);
	assert_true(i >= 0);
	assert_int_equal(r.a[i].played_ms, 20000);
	assert_false(sched_busy(s));
	sched_free(s);
}

static void alert_preempts_and_routine_restarts(void **state)
{
	struct sched *s = sched_new(1000);
	struct sched_item_in ev = plan_ev("daily@x", 10000, 60000, 10);
	struct sched_item_in al = alert("640104-0001", 20000, 50);
	struct run r;
	uint64_t t1, t2, t3;

	sched_set_plan(s, &ev, 1, 0);
	tick(s, 9000, &r);
	t1 = play_token(&r, "daily@x");
	sched_on_started(s, t1, 10000, 0);
	tick(s, 10000, &r);

	assert_int_equal(sched_add_alert(s, &al, 20000), 0);
	assert_int_equal(sched_add_alert(s, &al, 20000), -EEXIST);
	tick(s, 20000, &r);
	assert_true(has(&r, SCHED_ACT_RECEIPT, "accepted", "640104-0001") >= 0);
	int i = has(&r, SCHED_ACT_RECEIPT, "interrupted", "daily@x");
	assert_true(i >= 0);
	assert_string_equal(r.a[i].reason, "preempted by 640104-0001");
	assert_int_equal(r.a[i].played_ms, 10000);
	t2 = play_token(&r, "640104-0001");
	assert_int_equal(r.a[has(&r, SCHED_ACT_PLAY, NULL, NULL)].at_ms, 20000);
	/* The replaced item's stop report is not a second receipt. */
	sched_on_stopped(s, t1, 20001, 10001);
	sched_on_started(s, t2, 20010, 10000);
	tick(s, 20010, &r);
	assert_int_equal(has(&r, SCHED_ACT_RECEIPT, "interrupted", NULL), -1);
	sched_on_done(s, t2, 30010, 10000);
	tick(s, 30010, &r);
	assert_true(has(&r, SCHED_ACT_RECEIPT, "completed", "640104-0001") >= 0);
	/* Within max_delay: the routine event starts again from its beginning. */
	t3 = play_token(&r, "daily@x");
	assert_int_not_equal(t3, t1);
	sched_on_started(s, t3, 30020, 0);
	sched_on_done(s, t3, 90020, 60000);
	tick(s, 90020, &r);
	assert_true(has(&r, SCHED_ACT_RECEIPT, "started", "daily@x") >= 0);
	assert_true(has(&r, SCHED_ACT_RECEIPT, "completed", "daily@x") >= 0);
	sched_free(s);
}

static void no_restart_beyond_max_delay(void **state)
{
	struct sched *s = sched_new(1000);
	struct sched_item_in ev = plan_ev("daily@x", 10000, 60000, 10);
	struct sched_item_in al = alert("long", 20000, 70);
	struct run r;
	uint64_t t1, t2;

	sched_set_plan(s, &ev, 1, 0);
	tick(s, 9000, &r);
	t1 = play_token(&r, "daily@x");
	sched_on_started(s, t1, 10000, 0);
	sched_add_alert(s, &al, 20000);
	tick(s, 20000, &r);
	t2 = play_token(&r, "long");
	sched_on_started(s, t2, 20000, 0);
	sched_on_done(s, t2, 700000, 680000); /* past 10000 + 600000 */
	tick(s, 700000, &r);
	assert_int_equal(has(&r, SCHED_ACT_PLAY, NULL, NULL), -1);
	assert_int_equal(has(&r, SCHED_ACT_RECEIPT, "skipped", NULL), -1);
	assert_false(sched_busy(s));
	sched_free(s);
}

static void equal_priority_queues_higher_cuts(void **state)
{
	struct sched *s = sched_new(1000);
	struct sched_item_in a3 = alert("III-a", 1000, 50), b3 = alert("III-b", 1100, 50);
	struct sched_item_in a1 = alert("I", 3000, 70);
	struct run r;
	uint64_t ta, tb, tI;

	sched_add_alert(s, &a3, 1000);
	tick(s, 1000, &r);
	ta = play_token(&r, "III-a");
	sched_on_started(s, ta, 1000, 0);
	sched_add_alert(s, &b3, 1100);
	tick(s, 1100, &r);
	assert_int_equal(has(&r, SCHED_ACT_PLAY, NULL, NULL), -1); /* queues */
	sched_add_alert(s, &a1, 3000);
	tick(s, 3000, &r);
	assert_true(has(&r, SCHED_ACT_RECEIPT, "interrupted", "III-a") >= 0);
	tI = play_token(&r, "I");
	sched_on_started(s, tI, 3000, 0);
	sched_on_done(s, tI, 13000, 10000);
	tick(s, 13000, &r);
	/* III-a was issued first and restarts before III-b. */
	ta = play_token(&r, "III-a");
	sched_on_started(s, ta, 13000, 0);
	sched_on_done(s, ta, 23000, 10000);
	tick(s, 23000, &r);
	tb = play_token(&r, "III-b");
	(void)tb;
	sched_free(s);
}

static void cancel_stops(void **state)
{
	struct sched *s = sched_new(1000);
	struct sched_item_in a = alert("x", 1000, 50);
	struct run r;
	uint64_t t;

	sched_add_alert(s, &a, 1000);
	tick(s, 1000, &r);
	t = play_token(&r, "x");
	sched_on_started(s, t, 1000, 0);
	assert_int_equal(sched_cancel(s, "x", 4000), 0);
	assert_int_equal(sched_cancel(s, "nope", 4000), -ENOENT);
	tick(s, 4000, &r);
	assert_true(has(&r, SCHED_ACT_STOP, NULL, "x") >= 0);
	int i = has(&r, SCHED_ACT_RECEIPT, "interrupted", "x");
	assert_true(i >= 0);
	assert_string_equal(r.a[i].reason, "cancelled");
	assert_int_equal(r.a[i].played_ms, 3000);
	assert_false(sched_busy(s));
	sched_free(s);
}

static bool have_none(const char *sha, void *ud)
{
	return false;
}

static void missing_asset_fails(void **state)
{
	struct sched *s = sched_new(1000);
	struct sched_item_in ev = plan_ev("e@1", 5000, 1000, 10);
	struct run r;

	sched_set_have(s, have_none, NULL);
	sched_set_plan(s, &ev, 1, 0);
	tick(s, 4000, &r);
	int i = has(&r, SCHED_ACT_RECEIPT, "failed", "e@1");
	assert_true(i >= 0);
	assert_string_equal(r.a[i].reason, "asset missing");
	assert_int_equal(has(&r, SCHED_ACT_PLAY, NULL, NULL), -1);
	sched_free(s);
}

static void missed_and_skipped(void **state)
{
	struct sched *s = sched_new(1000);
	struct sched_item_in ev[2] = { plan_ev("imp@1", 1000, 700000, 20), plan_ev("rout@1", 2000, 1000, 10) };
	struct run r;
	uint64_t t;

	sched_set_plan(s, ev, 2, 0);
	tick(s, 500, &r);
	t = play_token(&r, "imp@1");
	sched_on_started(s, t, 1000, 0);
	tick(s, 2000, &r);
	tick(s, 602001, &r); /* rout's deadline passed while imp played */
	int i = has(&r, SCHED_ACT_RECEIPT, "skipped", "rout@1");
	assert_true(i >= 0);

	/* An event whose whole window passed with nothing playing: expired. */
	struct sched *s2 = sched_new(1000);
	struct sched_item_in late = plan_ev("late@1", 1000, 1000, 10);
	sched_set_plan(s2, &late, 1, 0);
	tick(s2, 700000, &r);
	assert_true(has(&r, SCHED_ACT_RECEIPT, "expired", "late@1") >= 0);
	sched_free(s2);
	sched_free(s);
}

static void restart_memory(void **state)
{
	struct sched *s = sched_new(1000);
	struct sched_item_in ev[2] = { plan_ev("done@1", 1000, 1000, 10), plan_ev("mid@1", 5000, 60000, 10) };
	struct run r;
	uint64_t t;

	sched_set_plan(s, ev, 2, 0);
	tick(s, 1000, &r);
	t = play_token(&r, "done@1");
	sched_on_started(s, t, 1000, 0);
	sched_on_done(s, t, 2000, 1000);
	tick(s, 5000, &r);
	t = play_token(&r, "mid@1");
	sched_on_started(s, t, 5000, 0);
	tick(s, 6000, &r);
	json_t *st = sched_export(s, 0);
	sched_free(s);

	/* Power cut; back at 20 s: mid@1 restarts, done@1 does not replay. */
	s = sched_new(1000);
	sched_set_plan(s, ev, 2, 20000);
	assert_int_equal(sched_import(s, st, 20000), 0);
	tick(s, 20000, &r);
	assert_int_equal(has(&r, SCHED_ACT_PLAY, NULL, "done@1"), -1);
	assert_true(has(&r, SCHED_ACT_PLAY, NULL, "mid@1") >= 0);
	sched_free(s);

	/* Back after max_delay: the started event is recorded interrupted. */
	s = sched_new(1000);
	sched_set_plan(s, ev, 2, 900000);
	assert_int_equal(sched_import(s, st, 900000), 0);
	tick(s, 900000, &r);
	int i = has(&r, SCHED_ACT_RECEIPT, "interrupted", "mid@1");
	assert_true(i >= 0);
	assert_string_equal(r.a[i].reason, "node restarted");
	assert_int_equal(has(&r, SCHED_ACT_PLAY, NULL, NULL), -1);
	json_decref(st);
	sched_free(s);
}

static void plan_replacement(void **state)
{
	struct sched *s = sched_new(1000);
	struct sched_item_in ev[2] = { plan_ev("keep@1", 1000, 100000, 10), plan_ev("gone@1", 500000, 1000, 10) };
	struct run r;
	uint64_t t;

	sched_set_plan(s, ev, 2, 0);
	tick(s, 1000, &r);
	t = play_token(&r, "keep@1");
	sched_on_started(s, t, 1000, 0);
	tick(s, 1000, &r);
	/* New plan without gone@1; keep@1 keeps playing. */
	sched_set_plan(s, ev, 1, 2000);
	tick(s, 2000, &r);
	assert_int_equal(r.n, 0);
	assert_string_equal(sched_current(s), "keep@1");
	/* New plan without keep@1: it stops, recorded interrupted. */
	sched_set_plan(s, &ev[1], 1, 3000);
	tick(s, 3000, &r);
	assert_true(has(&r, SCHED_ACT_STOP, NULL, "keep@1") >= 0);
	assert_true(has(&r, SCHED_ACT_RECEIPT, "interrupted", "keep@1") >= 0);
	sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plays_on_time),
		cmocka_unit_test(alert_preempts_and_routine_restarts),
		cmocka_unit_test(no_restart_beyond_max_delay),
		cmocka_unit_test(equal_priority_queues_higher_cuts),
		cmocka_unit_test(cancel_stops),
		cmocka_unit_test(missing_asset_fails),
		cmocka_unit_test(missed_and_skipped),
		cmocka_unit_test(restart_memory),
		cmocka_unit_test(plan_replacement),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
