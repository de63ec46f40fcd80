/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_receipt.c -- a pole's receipt and its "lost" record: signed, parsed, refused */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "receipt.h"

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

static void completed(struct receipt *r)
{
	receipt_init(r);
	strcpy(r->node, "yn-01");
	r->seq = 4711;
	r->from = 4702;
	r->kind = RECEIPT_PLAN;
	r->state = RECEIPT_COMPLETED;
	strcpy(r->occ, "flood-meeting-daily@2026-12-01T07:30");
	r->scheduled_ms = T0;
	r->started_ms = T0 + 1;
	r->ended_ms = T0 + 18401;
	r->played_ms = 18400;
	r->start_error_us = -310;
	r->volume = 80;
}

/* Sign R, verify the envelope, and parse its JSON back into OUT for TOPIC_NODE. */
static int round_trip(const struct receipt *r, const char *topic_node, struct receipt *out,
		      char **json)
{
	char *msg;
	size_t len, jl;
	int rc = receipt_sign(r, sk, &msg, &len);

	if (rc < 0)
		return rc;
	assert_int_equal(env_verify(msg, len, &pub, 1, &jl), 0);
	msg[jl] = '\0';
	rc = receipt_parse(msg, jl, topic_node, out, err, sizeof(err));
	if (json)
		*json = msg;
	else
		free(msg);
	return rc;
}

static void names(void **state)
{
	static const char *const k[] = { "plan", "alert", "live" };
	static const char *const s[] = { "accepted", "started", "completed", "interrupted",
					 "failed", "skipped", "expired", "lost" };

	for (int i = 0; i < 3; i++)
		assert_string_equal(receipt_kind_name((enum receipt_kind)i), k[i]);
	assert_null(receipt_kind_name(RECEIPT_KIND_NONE));
	assert_null(receipt_kind_name((enum receipt_kind)-1));
	for (int i = 0; i < 8; i++)
		assert_string_equal(receipt_state_name((enum receipt_state)i), s[i]);
	assert_null(receipt_state_name((enum receipt_state)8));
	assert_null(receipt_state_name((enum receipt_state)-1));
}

static void init(void **state)
{
	struct receipt r;

	memset(&r, 0x5a, sizeof(r));
	receipt_init(&r);
	assert_string_equal(r.node, "");
	assert_string_equal(r.occ, "");
	assert_string_equal(r.reason, "");
	assert_int_equal(r.seq, 0);
	assert_int_equal(r.from, 0);
	assert_int_equal(r.kind, RECEIPT_KIND_NONE);
	assert_int_equal(r.scheduled_ms, WIRE_NONE);
	assert_int_equal(r.started_ms, WIRE_NONE);
	assert_int_equal(r.ended_ms, WIRE_NONE);
	assert_int_equal(r.played_ms, WIRE_NONE);
	assert_int_equal(r.start_error_us, WIRE_NONE);
	assert_int_equal(r.volume, WIRE_NONE);
}

static void full_round_trip(void **state)
{
	struct receipt r, p;
	char *json;

	completed(&r);
	assert_int_equal(round_trip(&r, "yn-01", &p, &json), 0);
	assert_string_equal(json,
			    "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":4711,\"from\":4702,"
			    "\"occ\":\"flood-meeting-daily@2026-12-01T07:30\",\"kind\":\"plan\","
			    "\"state\":\"completed\",\"scheduled_ms\":1796081400000,"
			    "\"started_ms\":1796081400001,\"ended_ms\":1796081418401,"
			    "\"played_ms\":18400,\"start_error_us\":-310,\"volume\":80,\"reason\":null}");
	free(json);
	assert_memory_equal(&p, &r, sizeof(r));

	/* Nulls for what did not happen; a reason. */
	completed(&r);
	r.kind = RECEIPT_ALERT;
	r.state = RECEIPT_FAILED;
	r.started_ms = r.ended_ms = r.played_ms = r.start_error_us = WIRE_NONE;
	strcpy(r.occ, "a-2026-0001");
	strcpy(r.reason, "cannot open hw:0: Device or resource busy");
	assert_int_equal(round_trip(&r, NULL, &p, NULL), 0);
	assert_int_equal(p.kind, RECEIPT_ALERT);
	assert_int_equal(p.state, RECEIPT_FAILED);
	assert_int_equal(p.started_ms, WIRE_NONE);
	assert_int_equal(p.played_ms, WIRE_NONE);
	assert_string_equal(p.reason, r.reason);
	assert_string_equal(p.occ, "a-2026-0001");

	/* from may equal seq; the limits of every number. */
	completed(&r);
	r.kind = RECEIPT_LIVE;
	r.seq = r.from = WIRE_SEQ_MAX;
	r.volume = 0;
	r.start_error_us = -WIRE_SEQ_MAX;
	r.played_ms = 0;
	assert_int_equal(round_trip(&r, "yn-01", &p, NULL), 0);
	assert_int_equal(p.seq, WIRE_SEQ_MAX);
	assert_int_equal(p.from, WIRE_SEQ_MAX);
	assert_int_equal(p.start_error_us, -WIRE_SEQ_MAX);
	assert_int_equal(p.volume, 0);
	r.volume = 100;
	r.seq = r.from = 1;
	assert_int_equal(round_trip(&r, "yn-01", &p, NULL), 0);
	assert_int_equal(p.volume, 100);
}

static void lost_round_trip(void **state)
{
	struct receipt r, p;
	char *json;

	receipt_init(&r);
	strcpy(r.node, "yn-01");
	r.seq = 12;
	r.from = 3;
	r.state = RECEIPT_LOST;
	strcpy(r.reason, "spool file unreadable");
	assert_int_equal(round_trip(&r, "yn-01", &p, &json), 0);
	/* No occ and no kind. */
	assert_null(strstr(json, "\"occ\""));
	assert_null(strstr(json, "\"kind\""));
	free(json);
	assert_int_equal(p.state, RECEIPT_LOST);
	assert_int_equal(p.kind, RECEIPT_KIND_NONE);
	assert_string_equal(p.occ, "");
	assert_int_equal(p.seq, 12);
	assert_int_equal(p.from, 3);
	assert_string_equal(p.reason, "spool file unreadable");
}

static void sign_refuses(void **state)
{
	struct receipt r;
	char *msg = NULL;
	size_t len;

#define REFUSED(change)                                                     \
	do {                                                                \
		completed(&r);                                              \
		change;                                                     \
		assert_int_equal(receipt_sign(&r, sk, &msg, &len), -EINVAL); \
	} while (0)
	REFUSED(strcpy(r.node, ""));
	REFUSED(strcpy(r.node, "Yn-01"));
	REFUSED(r.seq = 0);
	REFUSED(r.seq = WIRE_SEQ_MAX + 1);
	REFUSED(r.from = 0);
	REFUSED(r.from = r.seq + 1);
	REFUSED(r.state = (enum receipt_state)8);
	/* A lost record has neither occ nor kind; any other has both. */
	REFUSED(r.state = RECEIPT_LOST);
	REFUSED((r.state = RECEIPT_LOST, r.occ[0] = '\0'));
	REFUSED((r.state = RECEIPT_LOST, r.kind = RECEIPT_KIND_NONE));
	REFUSED(r.occ[0] = '\0');
	REFUSED(r.kind = RECEIPT_KIND_NONE);
	REFUSED(r.volume = 101);
	REFUSED(r.volume = -1);
	REFUSED(r.played_ms = -1);
	REFUSED(r.scheduled_ms = -1);
	REFUSED(r.started_ms = WIRE_SEQ_MAX + 1);
	REFUSED(r.start_error_us = -WIRE_SEQ_MAX - 1);
#undef REFUSED
	assert_null(msg);
}

/* Parse TEXT for topic node yn-01 into R. */
static int parse(const char *text, struct receipt *r)
{
	err[0] = '\0';
	return receipt_parse(text, strlen(text), "yn-01", r, err, sizeof(err));
}

#define HEAD "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":9,\"from\":9,"

static void parse_lenient_where_promised(void **state)
{
	struct receipt r;

	/* Unknown keys from a newer pole are ignored. */
	assert_int_equal(parse(HEAD "\"occ\":\"o\",\"kind\":\"plan\",\"state\":\"started\","
			       "\"new_field\":{\"x\":[1,2]}}", &r), 0);
	assert_int_equal(r.state, RECEIPT_STARTED);
	assert_int_equal(r.kind, RECEIPT_PLAN);
	assert_string_equal(r.occ, "o");
	/* Absent and null numbers are WIRE_NONE; a null reason is none. */
	assert_int_equal(r.volume, WIRE_NONE);
	assert_int_equal(parse(HEAD "\"occ\":\"o\",\"kind\":\"live\",\"state\":\"accepted\","
			       "\"volume\":null,\"reason\":null}", &r), 0);
	assert_int_equal(r.volume, WIRE_NONE);
	assert_string_equal(r.reason, "");
	/* A lost record may still carry occ-less numbers. */
	assert_int_equal(parse(HEAD "\"state\":\"lost\",\"ended_ms\":5}", &r), 0);
	assert_int_equal(r.kind, RECEIPT_KIND_NONE);
	assert_int_equal(r.ended_ms, 5);
}

static void parse_refuses(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ HEAD "\"occ\":\"o\",\"kind\":\"plan\"}", "state: missing" },
		{ HEAD "\"kind\":\"plan\",\"state\":\"started\"}", "occ: missing" },
		{ HEAD "\"occ\":\"o\",\"state\":\"started\"}", "kind: missing" },
		{ HEAD "\"occ\":\"o\",\"kind\":\"tts\",\"state\":\"started\"}",
		  "kind: not one of the allowed values" },
		{ HEAD "\"occ\":\"o\",\"kind\":\"plan\",\"state\":\"done\"}",
		  "state: not one of the allowed values" },
		{ HEAD "\"occ\":\"\",\"kind\":\"plan\",\"state\":\"started\"}",
		  "occ: length 0 is out of range 1..160" },
		{ HEAD "\"occ\":\"o\\u001b[2J\",\"kind\":\"plan\",\"state\":\"started\"}",
		  "occ: contains a control character" },
		{ HEAD "\"occ\":\"o\",\"kind\":\"plan\",\"state\":\"started\",\"volume\":101}",
		  "volume: 101 is out of range 0..100" },
		{ HEAD "\"occ\":\"o\",\"kind\":\"plan\",\"state\":\"started\",\"played_ms\":-1}",
		  "played_ms: -1 is out of range 0..9007199254740991" },
		{ HEAD "\"occ\":\"o\",\"kind\":\"plan\",\"state\":\"started\",\"scheduled_ms\":\"1\"}",
		  "scheduled_ms: must be an integer" },
		{ HEAD "\"occ\":\"o\",\"kind\":\"plan\",\"state\":\"started\",\"reason\":7}",
		  "reason: must be a string" },
		{ HEAD "\"occ\":\"o\",\"kind\":\"plan\",\"state\":\"started\",\"reason\":\"\"}",
		  "reason: length 0 is out of range 1..256" },
		{ HEAD "\"occ\":\"o\",\"kind\":\"plan\",\"state\":\"started\",\"state\":\"failed\"}", NULL },
		{ "{\"type\":\"status\",\"node\":\"yn-01\",\"seq\":9,\"from\":9,\"state\":\"lost\"}",
		  "type: must be \"receipt\"" },
	};
	struct receipt r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].text, &r) != -EBADMSG)
			fail_msg("taken: %s", bad[i].text);
		if (bad[i].why)
			assert_string_equal(err, bad[i].why);
	}
}

/* On -EBADMSG, node and seq say whether the pole's own malformed receipt
 * can be kept and counted. */
static void partial_on_error(void **state)
{
	struct receipt r;

	/* Readable node and seq, broken further on. */
	assert_int_equal(parse(HEAD "\"occ\":\"o\",\"kind\":\"plan\",\"state\":\"done\"}", &r),
			 -EBADMSG);
	assert_string_equal(r.node, "yn-01");
	assert_int_equal(r.seq, 9);
	/* from above seq: seq was read. */
	assert_int_equal(parse("{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":9,\"from\":10,"
			       "\"state\":\"lost\"}", &r), -EBADMSG);
	assert_string_equal(err, "from: 10 is out of range 1..9");
	assert_int_equal(r.seq, 9);
	assert_string_equal(r.node, "yn-01");
	/* No usable seq. */
	assert_int_equal(parse("{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":0,\"from\":1,"
			       "\"state\":\"lost\"}", &r), -EBADMSG);
	assert_int_equal(r.seq, 0);
	assert_int_equal(parse("{\"type\":\"receipt\",\"node\":\"yn-01\",\"from\":1}", &r), -EBADMSG);
	assert_string_equal(err, "seq: missing");
	assert_int_equal(r.seq, 0);
	/* Another node's receipt on this node's topic: nothing to keep. */
	assert_int_equal(parse("{\"type\":\"receipt\",\"node\":\"yn-02\",\"seq\":9,\"from\":9,"
			       "\"state\":\"lost\"}", &r), -EBADMSG);
	assert_string_equal(err, "node: 'yn-02' is not the node of the topic");
	assert_string_equal(r.node, "");
	assert_int_equal(r.seq, 0);
	/* Not JSON at all. */
	assert_int_equal(parse("{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":9", &r), -EBADMSG);
	assert_string_equal(r.node, "");
	assert_int_equal(r.seq, 0);
}

static void parse_limits(void **state)
{
	char text[1024], occ[RECEIPT_OCC_MAX + 2];
	struct receipt r;

	memset(occ, 'o', RECEIPT_OCC_MAX);
	occ[RECEIPT_OCC_MAX] = '\0';
	snprintf(text, sizeof(text), HEAD "\"occ\":\"%s\",\"kind\":\"plan\",\"state\":\"started\"}", occ);
	assert_int_equal(parse(text, &r), 0);
	assert_string_equal(r.occ, occ);
	strcat(occ, "o");
	snprintf(text, sizeof(text), HEAD "\"occ\":\"%s\",\"kind\":\"plan\",\"state\":\"started\"}", occ);
	assert_int_equal(parse(text, &r), -EBADMSG);
	assert_string_equal(err, "occ: length 161 is out of range 1..160");

	/* The message as a whole is bounded too. */
	size_t n = WIRE_SMALL_MAX + 100;
	char *big = malloc(n + 1);
	int k;

	assert_non_null(big);
	k = sprintf(big, HEAD "\"state\":\"lost\",\"pad\":\"");
	memset(big + k, 'x', n - (size_t)k);
	big[n - 2] = '"';
	big[n - 1] = '}';
	big[n] = '\0';
	assert_int_equal(receipt_parse(big, n, NULL, &r, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "message of 16484 bytes is larger than 16384");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(init),
		cmocka_unit_test(full_round_trip),
		cmocka_unit_test(lost_round_trip),
		cmocka_unit_test(sign_refuses),
		cmocka_unit_test(parse_lenient_where_promised),
		cmocka_unit_test(parse_refuses),
		cmocka_unit_test(partial_on_error),
		cmocka_unit_test(parse_limits),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
