/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_outbox.c -- what a pole says: receipts from the scheduler's acts,
 * statuses from its state, and the offline status of the will */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "outbox.h"

#include <jansson.h>
#include <sodium.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char sk[ENV_SK_BYTES];
static struct env_key pub;

static int setup(void **state)
{
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pub.pk, sk);
	env_keyid(pub.pk, pub.id);
	return 0;
}

/* Verify MSG with the pole's key and parse it as its status. */
static void parse_signed(const char *msg, size_t len, struct status *st)
{
	char err[200];
	size_t jl;

	assert_int_equal(env_verify(msg, len, &pub, 1, &jl), 0);
	assert_int_equal(status_parse(msg, jl, "yn-01", st, err, sizeof(err)), 0);
}

static void receipt_of_act(void **state)
{
	struct sched_act a = {
		.type = SCHED_ACT_RECEIPT, .kind = SCHED_ALERT, .id = "flood-7",
		.state = "completed", .scheduled_ms = 1000, .started_ms = 1200,
		.ended_ms = 19000, .played_ms = 17800, .start_error_us = -310,
		.has_start_error = true, .volume = 80,
	};
	struct receipt rc;

	outbox_receipt(&a, &rc);
	assert_int_equal(rc.kind, RECEIPT_ALERT);
	assert_int_equal(rc.state, RECEIPT_COMPLETED);
	assert_string_equal(rc.occ, "flood-7");
	assert_int_equal(rc.scheduled_ms, 1000);
	assert_int_equal(rc.started_ms, 1200);
	assert_int_equal(rc.ended_ms, 19000);
	assert_int_equal(rc.played_ms, 17800);
	assert_int_equal(rc.start_error_us, -310);
	assert_int_equal(rc.volume, 80);
	assert_string_equal(rc.reason, "");
	/* Left to the spool, which numbers and signs it. */
	assert_string_equal(rc.node, "");
}

/* Unknown instants, no start error, a volume out of range: null. */
static void receipt_nulls(void **state)
{
	static const char *const states[] = {
		"accepted", "started", "completed", "interrupted", "failed", "skipped", "expired",
	};
	struct sched_act a = {
		.type = SCHED_ACT_RECEIPT, .kind = SCHED_PLAN, .id = "bc@2026-12-01T07:30",
		.state = "failed", .reason = "asset missing", .scheduled_ms = 5,
		.started_ms = -1, .ended_ms = -1, .played_ms = -1, .start_error_us = 77,
		.has_start_error = false, .volume = 101,
	};
	struct receipt rc;

	outbox_receipt(&a, &rc);
	assert_int_equal(rc.kind, RECEIPT_PLAN);
	assert_int_equal(rc.state, RECEIPT_FAILED);
	assert_string_equal(rc.reason, "asset missing");
	assert_int_equal(rc.scheduled_ms, 5);
	assert_int_equal(rc.started_ms, WIRE_NONE);
	assert_int_equal(rc.ended_ms, WIRE_NONE);
	assert_int_equal(rc.played_ms, WIRE_NONE);
	assert_int_equal(rc.start_error_us, WIRE_NONE);
	assert_int_equal(rc.volume, WIRE_NONE);
	a.volume = -1;
	outbox_receipt(&a, &rc);
	assert_int_equal(rc.volume, WIRE_NONE);
	a.volume = 0;
	outbox_receipt(&a, &rc);
	assert_int_equal(rc.volume, 0);
	/* Every state by name; one the receipt does not know is "failed". */
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		a.state = states[i];
		outbox_receipt(&a, &rc);
		assert_string_equal(receipt_state_name(rc.state), states[i]);
	}
	a.state = "exploded";
	outbox_receipt(&a, &rc);
	assert_int_equal(rc.state, RECEIPT_FAILED);
	a.kind = SCHED_LIVE;
	outbox_receipt(&a, &rc);
	assert_int_equal(rc.kind, RECEIPT_LIVE);
}

static void state_of_pole(void **state)
{
	struct player_stats ps = { 0 };

	assert_int_equal(outbox_state(&ps, NULL), STATUS_IDLE);
	assert_int_equal(outbox_state(&ps, "bc@x"), STATUS_PLAYING);
	ps.fault = true;
	assert_int_equal(outbox_state(&ps, "bc@x"), STATUS_FAULT);
	assert_int_equal(outbox_state(&ps, NULL), STATUS_FAULT);
}

static void status_of_pole(void **state)
{
	struct player_stats ps = { .xruns = 3 };
	struct plan p = { .issued_ms = 1700000000000, .horizon_ms = 1700000100000 };
	struct outbox_facts f = {
		.node = "yn-01", .boot = 12, .n = 40, .player = &ps, .playing = "bc@x",
		.plan = &p, .now_ms = 1700000050000, .assets_missing = 2, .volume = 80,
		.clock_valid = true, .clock_offset_us = -212, .spool = 5, .disk_full = false,
		.rejected = 1, .uptime_s = 3600, .keys_ms = 1690000000000,
	};
	struct status st, back;
	char *msg = NULL;
	size_t len;

	outbox_status(&f, &st);
	assert_int_equal(status_sign(&st, sk, &msg, &len), 0);
	parse_signed(msg, len, &back);
	free(msg);
	assert_string_equal(back.node, "yn-01");
	assert_int_equal(back.boot, 12);
	assert_int_equal(back.n, 40);
	assert_int_equal(back.state, STATUS_PLAYING);
	assert_string_equal(back.playing, "bc@x");
	assert_int_equal(back.plan, STATUS_PLAN_CURRENT);
	assert_int_equal(back.plan_issued_ms, 1700000000000);
	assert_int_equal(back.assets_missing, 2);
	assert_int_equal(back.volume, 80);
	assert_int_equal(back.clock_offset_us, -212);
	assert_int_equal(back.spool, 5);
	assert_int_equal(back.disk, STATUS_DISK_OK);
	assert_int_equal(back.rejected, 1);
	assert_int_equal(back.xruns, 3);
	assert_string_equal(back.fault, "");
	assert_int_equal(back.uptime_s, 3600);
	assert_int_equal(back.keys_ms, 1690000000000);
	assert_string_equal(back.version, CX_VERSION);

	/* Past the horizon, clock not measured, disk full, device at fault,
	 * no keys message taken. */
	f.now_ms = p.horizon_ms + 1;
	f.clock_valid = false;
	f.disk_full = true;
	f.keys_ms = 0;
	ps.fault = true;
	snprintf(ps.fault_reason, sizeof(ps.fault_reason), "hw:0: No such device");
	outbox_status(&f, &st);
	assert_int_equal(st.state, STATUS_FAULT);
	assert_int_equal(st.plan, STATUS_PLAN_EXPIRED);
	assert_int_equal(st.clock_offset_us, WIRE_NONE);
	assert_int_equal(st.disk, STATUS_DISK_FULL);
	assert_string_equal(st.fault, "hw:0: No such device");
	assert_int_equal(st.keys_ms, WIRE_NONE);
	/* No plan. */
	f.plan = NULL;
	f.playing = NULL;
	outbox_status(&f, &st);
	assert_int_equal(st.plan, STATUS_PLAN_NONE);
	assert_int_equal(st.plan_issued_ms, WIRE_NONE);
	assert_string_equal(st.playing, "");
}

/* The will and the status of a clean stop: offline, N 0, signed by the
 * pole's key, and nothing but who, which start and the version. */
static void offline_status(void **state)
{
	struct status back;
	char *msg = NULL, *copy;
	size_t len, jl;
	json_t *o;

	assert_int_equal(outbox_offline("yn-01", 12, sk, &msg, &len), 0);
	parse_signed(msg, len, &back);
	assert_int_equal(back.state, STATUS_OFFLINE);
	assert_int_equal(back.n, 0);
	assert_int_equal(back.boot, 12);
	assert_string_equal(back.node, "yn-01");
	assert_string_equal(back.version, CX_VERSION);
	assert_true(status_fresher(&back, 12, 40));
	assert_false(status_fresher(&back, 13, 1));
	assert_int_equal(env_verify(msg, len, &pub, 1, &jl), 0);
	copy = strndup(msg, jl);
	o = json_loads(copy, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 6);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "status");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "offline");
	assert_null(json_object_get(o, "playing"));
	assert_null(json_object_get(o, "xruns"));
	json_decref(o);
	free(copy);
	free(msg);
	/* Not a node id, or no start number: refused. */
	assert_int_equal(outbox_offline("Not A Node", 12, sk, &msg, &len), -EINVAL);
	assert_int_equal(outbox_offline("yn-01", 0, sk, &msg, &len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(receipt_of_act),
		cmocka_unit_test(receipt_nulls),
		cmocka_unit_test(state_of_pole),
		cmocka_unit_test(status_of_pole),
		cmocka_unit_test(offline_status),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
