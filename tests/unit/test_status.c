/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_status.c -- a pole's signed status and will: round trips, refusals, freshness */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "status.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1796081400000LL /* 2026-12-01 07:30 Asia/Shanghai */

static unsigned char sk[ENV_SK_BYTES];
static struct env_key pub;
static char err[256];

static int setup(void **state)
{
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pub.pk, sk);
	env_keyid(pub.pk, pub.id);
	return 0;
}

static void playing(struct status *s)
{
	status_init(s);
	strcpy(s->node, "yn-01");
	s->boot = 12;
	s->n = 40;
	s->state = STATUS_PLAYING;
	s->plan = STATUS_PLAN_CURRENT;
	s->disk = STATUS_DISK_OK;
	s->plan_issued_ms = T0;
	s->assets_missing = 0;
	s->volume = 80;
	s->clock_offset_us = -212;
	s->spool = 3;
	s->rejected = 1;
	s->xruns = 2;
	s->uptime_s = 86400;
	s->keys_ms = T0 - 1000;
	strcpy(s->playing, "flood-meeting-daily@2026-12-01T07:30");
	strcpy(s->version, "0.1.0");
}

static int round_trip(const struct status *s, const char *topic_node, struct status *out,
		      char **json)
{
	char *msg;
	size_t len, jl;
	int rc = status_sign(s, sk, &msg, &len);

	if (rc < 0)
		return rc;
	assert_int_equal(env_verify(msg, len, &pub, 1, &jl), 0);
	msg[jl] = '\0';
	rc = status_parse(msg, jl, topic_node, out, err, sizeof(err));
	if (json)
		*json = msg;
	else
		free(msg);
	return rc;
}

static void names_and_init(void **state)
{
	struct status s;

	assert_string_equal(status_state_name(STATUS_IDLE), "idle");
	assert_string_equal(status_state_name(STATUS_PLAYING), "playing");
	assert_string_equal(status_state_name(STATUS_FAULT), "fault");
	assert_string_equal(status_state_name(STATUS_OFFLINE), "offline");
	assert_null(status_state_name((enum status_state)4));
	assert_null(status_state_name((enum status_state)-1));
	assert_string_equal(status_disk_name(STATUS_DISK_OK), "ok");
	assert_string_equal(status_disk_name(STATUS_DISK_FULL), "full");
	assert_null(status_disk_name(STATUS_DISK_UNKNOWN));

	memset(&s, 0x5a, sizeof(s));
	status_init(&s);
	assert_int_equal(s.state, STATUS_IDLE);
	assert_int_equal(s.plan, STATUS_PLAN_UNKNOWN);
	assert_int_equal(s.disk, STATUS_DISK_UNKNOWN);
	assert_int_equal(s.boot, 0);
	assert_int_equal(s.n, 0);
	assert_string_equal(s.node, "");
	assert_string_equal(s.playing, "");
	assert_string_equal(s.fault, "");
	assert_string_equal(s.version, "");
	assert_int_equal(s.plan_issued_ms, WIRE_NONE);
	assert_int_equal(s.assets_missing, WIRE_NONE);
	assert_int_equal(s.volume, WIRE_NONE);
	assert_int_equal(s.clock_offset_us, WIRE_NONE);
	assert_int_equal(s.spool, WIRE_NONE);
	assert_int_equal(s.rejected, WIRE_NONE);
	assert_int_equal(s.xruns, WIRE_NONE);
	assert_int_equal(s.uptime_s, WIRE_NONE);
	assert_int_equal(s.keys_ms, WIRE_NONE);
}

static void full_round_trip(void **state)
{
	struct status s, p;
	char *json;

	playing(&s);
	assert_int_equal(round_trip(&s, "yn-01", &p, &json), 0);
	assert_string_equal(json,
			    "{\"type\":\"status\",\"node\":\"yn-01\",\"boot\":12,\"n\":40,"
			    "\"state\":\"playing\",\"plan\":\"current\",\"disk\":\"ok\","
			    "\"plan_issued_ms\":1796081400000,\"assets_missing\":0,\"volume\":80,"
			    "\"clock_offset_us\":-212,\"spool\":3,\"rejected\":1,\"xruns\":2,"
			    "\"uptime_s\":86400,\"keys_ms\":1796081399000,"
			    "\"playing\":\"flood-meeting-daily@2026-12-01T07:30\",\"fault\":null,"
			    "\"version\":\"0.1.0\"}");
	free(json);
	assert_memory_equal(&p, &s, sizeof(s));

	/* Another pole's status on this topic. */
	assert_int_equal(round_trip(&s, "yn-02", &p, NULL), -EBADMSG);
	assert_string_equal(err, "node: 'yn-01' is not the node of the topic");

	/* A fault, the disk full, the plan expired, nothing optional. */
	status_init(&s);
	strcpy(s.node, "yn-01");
	s.boot = 1;
	s.n = 1;
	s.state = STATUS_FAULT;
	s.plan = STATUS_PLAN_EXPIRED;
	s.disk = STATUS_DISK_FULL;
	strcpy(s.fault, "amplifier GPIO: Device or resource busy");
	assert_int_equal(round_trip(&s, NULL, &p, &json), 0);
	assert_string_equal(json, "{\"type\":\"status\",\"node\":\"yn-01\",\"boot\":1,\"n\":1,"
			    "\"state\":\"fault\",\"plan\":\"expired\",\"disk\":\"full\","
			    "\"playing\":null,\"fault\":\"amplifier GPIO: Device or resource busy\"}");
	free(json);
	assert_memory_equal(&p, &s, sizeof(s));

	s.plan = STATUS_PLAN_NONE;
	assert_int_equal(round_trip(&s, NULL, &p, NULL), 0);
	assert_int_equal(p.plan, STATUS_PLAN_NONE);
}

static void offline_will(void **state)
{
	struct status s, p;
	char *json;

	status_init(&s);
	strcpy(s.node, "yn-01");
	s.boot = 13;
	s.n = 0;
	s.state = STATUS_OFFLINE;
	strcpy(s.version, "0.1.0");
	/* playing and fault are left out of an offline status. */
	strcpy(s.playing, "ignored");
	assert_int_equal(round_trip(&s, "yn-01", &p, &json), 0);
	assert_string_equal(json, "{\"type\":\"status\",\"node\":\"yn-01\",\"boot\":13,\"n\":0,"
			    "\"state\":\"offline\",\"version\":\"0.1.0\"}");
	free(json);
	assert_int_equal(p.state, STATUS_OFFLINE);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.boot, 13);
	assert_string_equal(p.playing, "");
}

static void sign_refuses(void **state)
{
	struct status s;
	char *msg = NULL;
	size_t len;

#define REFUSED(change)                                                    \
	do {                                                               \
		playing(&s);                                               \
		change;                                                    \
		assert_int_equal(status_sign(&s, sk, &msg, &len), -EINVAL); \
	} while (0)
	REFUSED(strcpy(s.node, ""));
	REFUSED(strcpy(s.node, "yn_01"));
	REFUSED(s.boot = 0);
	REFUSED(s.boot = WIRE_SEQ_MAX + 1);
	REFUSED(s.n = -1);
	REFUSED(s.n = WIRE_SEQ_MAX + 1);
	REFUSED(s.state = (enum status_state)4);
	/* n is 0 exactly when the state is offline. */
	REFUSED(s.n = 0);
	REFUSED(s.state = STATUS_OFFLINE);
#undef REFUSED
	assert_null(msg);
}

static int parse(const char *text, struct status *s)
{
	err[0] = '\0';
	return status_parse(text, strlen(text), "yn-01", s, err, sizeof(err));
}

#define HEAD "{\"type\":\"status\",\"node\":\"yn-01\",\"boot\":2,"

static void parse_minimal_and_unknown(void **state)
{
	struct status s;

	/* Only type, node, boot, n and state are required. */
	assert_int_equal(parse(HEAD "\"n\":1,\"state\":\"idle\"}", &s), 0);
	assert_int_equal(s.state, STATUS_IDLE);
	assert_int_equal(s.plan, STATUS_PLAN_UNKNOWN);
	assert_int_equal(s.disk, STATUS_DISK_UNKNOWN);
	assert_int_equal(s.volume, WIRE_NONE);
	assert_int_equal(s.keys_ms, WIRE_NONE);
	assert_string_equal(s.version, "");
	/* Null is absent; unknown keys are ignored. */
	assert_int_equal(parse(HEAD "\"n\":1,\"state\":\"idle\",\"plan\":null,\"disk\":null,"
			       "\"volume\":null,\"version\":null,\"later\":[1]}", &s), 0);
	assert_int_equal(s.plan, STATUS_PLAN_UNKNOWN);
	assert_int_equal(s.volume, WIRE_NONE);
	/* The widest numbers. */
	assert_int_equal(parse(HEAD "\"n\":9007199254740991,\"state\":\"idle\","
			       "\"clock_offset_us\":-9007199254740991,\"volume\":100}", &s), 0);
	assert_int_equal(s.n, WIRE_SEQ_MAX);
	assert_int_equal(s.clock_offset_us, -WIRE_SEQ_MAX);
	assert_int_equal(s.volume, 100);
}

static void parse_refuses(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ HEAD "\"n\":0,\"state\":\"idle\"}", "n: 0 exactly when the state is offline" },
		{ HEAD "\"n\":3,\"state\":\"offline\"}", "n: 0 exactly when the state is offline" },
		{ HEAD "\"n\":1,\"state\":\"sleeping\"}", "state: not one of the allowed values" },
		{ HEAD "\"n\":1}", "state: missing" },
		{ HEAD "\"state\":\"idle\"}", "n: missing" },
		{ "{\"type\":\"status\",\"node\":\"yn-01\",\"n\":1,\"state\":\"idle\"}", "boot: missing" },
		{ "{\"type\":\"status\",\"node\":\"yn-01\",\"boot\":0,\"n\":1,\"state\":\"idle\"}",
		  "boot: 0 is out of range 1..9007199254740991" },
		{ HEAD "\"n\":-1,\"state\":\"idle\"}", "n: -1 is out of range 0..9007199254740991" },
		{ HEAD "\"n\":1,\"state\":\"idle\",\"plan\":\"unknown\"}",
		  "plan: not one of the allowed values" },
		{ HEAD "\"n\":1,\"state\":\"idle\",\"disk\":\"unknown\"}",
		  "disk: not one of the allowed values" },
		{ HEAD "\"n\":1,\"state\":\"idle\",\"volume\":101}", "volume: 101 is out of range 0..100" },
		{ HEAD "\"n\":1,\"state\":\"idle\",\"spool\":-1}",
		  "spool: -1 is out of range 0..9007199254740991" },
		{ HEAD "\"n\":1,\"state\":\"idle\",\"uptime_s\":1.5}", "uptime_s: must be an integer" },
		{ HEAD "\"n\":1,\"state\":\"idle\",\"keys_ms\":\"x\"}", "keys_ms: must be an integer" },
		{ HEAD "\"n\":1,\"state\":\"idle\",\"fault\":\"a\\nb\"}",
		  "fault: contains a control character" },
		{ HEAD "\"n\":1,\"state\":\"idle\",\"playing\":\"\"}",
		  "playing: length 0 is out of range 1..160" },
		{ HEAD "\"n\":1,\"state\":\"idle\",\"version\":1}", "version: must be a string" },
		{ HEAD "\"n\":1,\"n\":2,\"state\":\"idle\"}", NULL },
		{ "{\"type\":\"status\",\"node\":\"yn-02\",\"boot\":2,\"n\":1,\"state\":\"idle\"}",
		  "node: 'yn-02' is not the node of the topic" },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"boot\":2,\"n\":1,\"state\":\"idle\"}",
		  "type: must be \"status\"" },
	};
	struct status s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].text, &s) != -EBADMSG)
			fail_msg("taken: %s", bad[i].text);
		if (bad[i].why)
			assert_string_equal(err, bad[i].why);
	}
}

static void parse_string_limits(void **state)
{
	char text[1024], v[200];
	struct status s;

	memset(v, 'p', 160);
	v[160] = '\0';
	snprintf(text, sizeof(text), HEAD "\"n\":1,\"state\":\"playing\",\"playing\":\"%s\"}", v);
	assert_int_equal(parse(text, &s), 0);
	assert_string_equal(s.playing, v);
	strcat(v, "p");
	snprintf(text, sizeof(text), HEAD "\"n\":1,\"state\":\"playing\",\"playing\":\"%s\"}", v);
	assert_int_equal(parse(text, &s), -EBADMSG);
	assert_string_equal(err, "playing: length 161 is out of range 1..160");

	memset(v, 'v', STATUS_VERSION_MAX + 1);
	v[STATUS_VERSION_MAX + 1] = '\0';
	snprintf(text, sizeof(text), HEAD "\"n\":1,\"state\":\"idle\",\"version\":\"%s\"}", v);
	assert_int_equal(parse(text, &s), -EBADMSG);
	assert_string_equal(err, "version: length 65 is out of range 1..64");
	v[STATUS_VERSION_MAX] = '\0';
	snprintf(text, sizeof(text), HEAD "\"n\":1,\"state\":\"idle\",\"version\":\"%s\"}", v);
	assert_int_equal(parse(text, &s), 0);
	assert_string_equal(s.version, v);
}

static void freshness(void **state)
{
	struct status s;

	status_init(&s);
	s.state = STATUS_IDLE;
	s.boot = 5;
	s.n = 10;
	/* Nothing taken yet. */
	assert_true(status_fresher(&s, 0, 0));
	/* Same start: only a later n. */
	assert_true(status_fresher(&s, 5, 9));
	assert_false(status_fresher(&s, 5, 10));
	assert_false(status_fresher(&s, 5, 11));
	/* A later start beats any n; an earlier one loses to any. */
	assert_true(status_fresher(&s, 4, 1000));
	assert_false(status_fresher(&s, 6, 0));

	/* The will: taken unless from an earlier start, even after statuses
	 * of its own start (it says that start ended). */
	s.state = STATUS_OFFLINE;
	s.n = 0;
	assert_true(status_fresher(&s, 5, 10));
	assert_true(status_fresher(&s, 4, 10));
	assert_true(status_fresher(&s, 0, 0));
	assert_false(status_fresher(&s, 6, 1));
	/* A replayed will of the same start, after the fact, still counts:
	 * the rule is "BOOT not below". */
	assert_true(status_fresher(&s, 5, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_and_init),
		cmocka_unit_test(full_round_trip),
		cmocka_unit_test(offline_will),
		cmocka_unit_test(sign_refuses),
		cmocka_unit_test(parse_minimal_and_unknown),
		cmocka_unit_test(parse_refuses),
		cmocka_unit_test(parse_string_limits),
		cmocka_unit_test(freshness),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
