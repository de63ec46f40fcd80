/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_wire.c -- cx/v1 topics, the node-id rule, and the strict JSON field readers */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "wire.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA2 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char err[256];
static struct wire_err e = { err, sizeof(err) };

/* O parsed from TEXT with wire_load (any type); the test fails otherwise. */
static json_t *obj(const char *text)
{
	json_t *o = NULL;

	if (wire_load(text, strlen(text), WIRE_SMALL_MAX, NULL, &o, &e) < 0)
		fail_msg("wire_load(%s): %s", text, err);
	return o;
}

/* ---- node ids ------------------------------------------------------------ */

static void node_ids(void **state)
{
	char n32[33], n33[34];

	memset(n32, 'a', 32);
	n32[32] = '\0';
	memset(n33, 'a', 33);
	n33[33] = '\0';
	assert_true(wire_node_id_ok("yn-01"));
	assert_true(wire_node_id_ok("0"));
	assert_true(wire_node_id_ok("-"));
	assert_true(wire_node_id_ok(n32));
	assert_false(wire_node_id_ok(n33));
	assert_false(wire_node_id_ok(""));
	assert_false(wire_node_id_ok(NULL));
	assert_false(wire_node_id_ok("YN-01"));
	assert_false(wire_node_id_ok("yn_01"));
	assert_false(wire_node_id_ok("yn 01"));
	assert_false(wire_node_id_ok("yn/01"));
	assert_false(wire_node_id_ok("yn+"));
	assert_false(wire_node_id_ok("yn#"));
	assert_false(wire_node_id_ok("\xe6\x9d\x91")); /* 村 */

	/* The N variant looks only at N bytes. */
	assert_true(wire_node_id_okn("yn-01/ping", 5));
	assert_false(wire_node_id_okn("yn-01/ping", 6));
	assert_false(wire_node_id_okn("yn", 0));
	assert_false(wire_node_id_okn(NULL, 3));
	assert_true(wire_node_id_okn(n33, 32));
	assert_false(wire_node_id_okn(n33, 33));
}

/* ---- topics -------------------------------------------------------------- */

static void topics_built(void **state)
{
	char t[WIRE_TOPIC_MAX];

	assert_int_equal(wire_topic(WIRE_T_PLAN, "yn-01", t), 0);
	assert_string_equal(t, "cx/v1/plan/yn-01");
	assert_int_equal(wire_topic(WIRE_T_ASSET, SHA, t), 0);
	assert_string_equal(t, "cx/v1/asset/" SHA);
	assert_int_equal(wire_topic(WIRE_T_ALERT, NULL, t), 0);
	assert_string_equal(t, "cx/v1/alert");
	assert_int_equal(wire_topic(WIRE_T_ALERT, "ignored", t), 0);
	assert_string_equal(t, "cx/v1/alert");
	assert_int_equal(wire_topic(WIRE_T_KEYS, NULL, t), 0);
	assert_string_equal(t, "cx/v1/keys");
	assert_int_equal(wire_topic(WIRE_T_LIVE, "Town.Hall_2-b", t), 0);
	assert_string_equal(t, "cx/v1/live/Town.Hall_2-b");
	assert_int_equal(wire_topic(WIRE_T_CMD, "yn-01", t), 0);
	assert_string_equal(t, "cx/v1/cmd/yn-01");
	assert_int_equal(wire_topic(WIRE_T_RECEIPT, "yn-01", t), 0);
	assert_string_equal(t, "cx/v1/receipt/yn-01");
	assert_int_equal(wire_topic(WIRE_T_ACK, "yn-01", t), 0);
	assert_string_equal(t, "cx/v1/ack/yn-01");
	assert_int_equal(wire_topic(WIRE_T_STATUS, "yn-01", t), 0);
	assert_string_equal(t, "cx/v1/status/yn-01");
	assert_int_equal(wire_topic(WIRE_T_PING, "yn-01", t), 0);
	assert_string_equal(t, "cx/v1/time/yn-01/ping");
	assert_int_equal(wire_topic(WIRE_T_PONG, "yn-01", t), 0);
	assert_string_equal(t, "cx/v1/time/yn-01/pong");
	assert_int_equal(wire_topic(WIRE_T_WANT, "yn-01", t), 0);
	assert_string_equal(t, "cx/v1/want/yn-01");
}

static void topics_refused(void **state)
{
	char t[WIRE_TOPIC_MAX];

	assert_int_equal(wire_topic(WIRE_T_NONE, "yn-01", t), -EINVAL);
	assert_int_equal(wire_topic((enum wire_topic)99, "yn-01", t), -EINVAL);
	assert_int_equal(wire_topic(WIRE_T_PLAN, NULL, t), -EINVAL);
	assert_int_equal(wire_topic(WIRE_T_PLAN, "", t), -EINVAL);
	assert_int_equal(wire_topic(WIRE_T_PLAN, "yn/01", t), -EINVAL);
	assert_int_equal(wire_topic(WIRE_T_PLAN, "+", t), -EINVAL);
	assert_int_equal(wire_topic(WIRE_T_RECEIPT, "#", t), -EINVAL);
	assert_int_equal(wire_topic(WIRE_T_PING, NULL, t), -EINVAL);
	assert_int_equal(wire_topic(WIRE_T_PONG, "YN", t), -EINVAL);
	/* An asset is named by its lower-case hash, nothing else. */
	assert_int_equal(wire_topic(WIRE_T_ASSET, "yn-01", t), -EINVAL);
	assert_int_equal(wire_topic(WIRE_T_ASSET, "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", t), -EINVAL);
	assert_int_equal(wire_topic(WIRE_T_LIVE, "a/b", t), -EINVAL);
	assert_int_equal(wire_topic(WIRE_T_LIVE, "", t), -EINVAL);
}

static void topics_parsed(void **state)
{
	static const struct {
		const char *topic;
		enum wire_topic t;
		const char *arg;
	} ok[] = {
		{ "cx/v1/plan/yn-01", WIRE_T_PLAN, "yn-01" },
		{ "cx/v1/asset/" SHA, WIRE_T_ASSET, SHA },
		{ "cx/v1/alert", WIRE_T_ALERT, "" },
		{ "cx/v1/keys", WIRE_T_KEYS, "" },
		{ "cx/v1/live/main", WIRE_T_LIVE, "main" },
		{ "cx/v1/cmd/a", WIRE_T_CMD, "a" },
		{ "cx/v1/receipt/yn-01", WIRE_T_RECEIPT, "yn-01" },
		{ "cx/v1/ack/yn-01", WIRE_T_ACK, "yn-01" },
		{ "cx/v1/status/yn-01", WIRE_T_STATUS, "yn-01" },
		{ "cx/v1/time/yn-01/ping", WIRE_T_PING, "yn-01" },
		{ "cx/v1/time/yn-01/pong", WIRE_T_PONG, "yn-01" },
		{ "cx/v1/want/yn-01", WIRE_T_WANT, "yn-01" },
	};
	char arg[WIRE_ARG_MAX + 1], t[WIRE_TOPIC_MAX];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(arg, 'x', sizeof(arg));
		assert_int_equal(wire_topic_parse(ok[i].topic, arg), ok[i].t);
		assert_string_equal(arg, ok[i].arg);
		/* And back. */
		assert_int_equal(wire_topic(ok[i].t, arg, t), 0);
		assert_string_equal(t, ok[i].topic);
	}
}

static void topics_malformed(void **state)
{
	static const char *const bad[] = {
		"", "cx/v1/", "cx/v1", "cx/v2/plan/yn-01", "/cx/v1/plan/yn-01", "CX/v1/plan/yn-01",
		"cx/v1/plan", "cx/v1/plan/", "cx/v1/plan/YN", "cx/v1/plan/yn-01/x",
		"cx/v1/plan/+", "cx/v1/plan/#", "cx/v1/planx/yn-01", "cx/v1/pla/yn-01",
		"cx/v1/alert/", "cx/v1/alert/x", "cx/v1/alerts", "cx/v1/keys/x",
		"cx/v1/asset/" SHA "0", "cx/v1/asset/yn-01", "cx/v1/asset/" SHA "/x",
		"cx/v1/time/yn-01", "cx/v1/time/yn-01/", "cx/v1/time/yn-01/pingx",
		"cx/v1/time//ping", "cx/v1/time/YN/ping", "cx/v1/time/yn-01/ping/x",
		"cx/v1/time/a/b/ping", "cx/v1/live/a b", "cx/v1/live/",
		"cx/v1/receipt/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"cx/v1/receipt/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"cx/v1/live/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	char arg[WIRE_ARG_MAX + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(arg, 'x', sizeof(arg));
		if (wire_topic_parse(bad[i], arg) != WIRE_T_NONE)
			fail_msg("'%s' was taken", bad[i]);
		assert_string_equal(arg, "");
	}
	assert_int_equal(wire_topic_parse(NULL, arg), WIRE_T_NONE);
	assert_string_equal(arg, "");
	/* The longest stream name there is still fits. */
	assert_int_equal(wire_topic_parse("cx/v1/live/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
					  "aaaaaaaaaaaaaaaaaaaaaaaa", arg), WIRE_T_LIVE);
	assert_int_equal(strlen(arg), 64);
}

/* ---- wire_load ----------------------------------------------------------- */

static int load(const char *text, size_t len, size_t max, const char *type, json_t **o)
{
	err[0] = '\0';
	return wire_load(text, len, max, type, o, &e);
}

static void load_ok(void **state)
{
	static const char t[] = "{\"type\":\"ack\",\"seq\":1}";
	json_t *o = NULL;

	assert_int_equal(load(t, strlen(t), WIRE_SMALL_MAX, "ack", &o), 0);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "seq")), 1);
	json_decref(o);
	/* TYPE NULL takes any object, with a type or without. */
	assert_int_equal(load("{}", 2, 2, NULL, &o), 0);
	json_decref(o);
	/* Only LEN bytes count. */
	assert_int_equal(load("{}garbage", 2, 100, NULL, &o), 0);
	json_decref(o);
}

static void load_refused(void **state)
{
	json_t *o = (json_t *)1;

	assert_int_equal(load("", 0, 100, NULL, &o), -EBADMSG);
	assert_null(o);
	assert_string_equal(err, "empty message");
	assert_int_equal(load(NULL, 5, 100, NULL, &o), -EBADMSG);
	assert_string_equal(err, "empty message");

	assert_int_equal(load("{\"a\":1}", 7, 6, NULL, &o), -EBADMSG);
	assert_string_equal(err, "message of 7 bytes is larger than 6");

	assert_int_equal(load("{\"a\":1", 6, 100, NULL, &o), -EBADMSG);
	assert_null(o);
	assert_non_null(strstr(err, "JSON at line 1 column"));

	assert_int_equal(load("[1,2]", 5, 100, NULL, &o), -EBADMSG);
	assert_string_equal(err, "not a JSON object");
	/* jansson itself takes only an object or an array at the top. */
	assert_int_equal(load("\"s\"", 3, 100, NULL, &o), -EBADMSG);
	assert_non_null(strstr(err, "'[' or '{' expected"));
	assert_int_equal(load("17", 2, 100, NULL, &o), -EBADMSG);
	assert_int_equal(load("null", 4, 100, NULL, &o), -EBADMSG);
	assert_null(o);

	assert_int_equal(load("{\"type\":\"ack\"}", 14, 100, "nak", &o), -EBADMSG);
	assert_string_equal(err, "type: must be \"nak\"");
	assert_int_equal(load("{\"seq\":1}", 9, 100, "ack", &o), -EBADMSG);
	assert_string_equal(err, "type: must be \"ack\"");
	assert_int_equal(load("{\"type\":1}", 10, 100, "ack", &o), -EBADMSG);
	assert_int_equal(load("{\"type\":null}", 13, 100, "ack", &o), -EBADMSG);
	assert_int_equal(load("{\"type\":\"ack \"}", 15, 100, "ack", &o), -EBADMSG);

	/* A key twice: which one would a reader take? */
	assert_int_equal(load("{\"seq\":1,\"seq\":2}", 17, 100, NULL, &o), -EBADMSG);
	assert_non_null(strstr(err, "duplicate"));
	assert_null(o);

	/* Two values, trailing garbage, a NUL inside a string, bad UTF-8. */
	assert_int_equal(load("{}{}", 4, 100, NULL, &o), -EBADMSG);
	assert_int_equal(load("{} x", 4, 100, NULL, &o), -EBADMSG);
	assert_int_equal(load("{\"a\":\"x\\u0000y\"}", 15, 100, NULL, &o), -EBADMSG);
	assert_int_equal(load("{\"a\":\"\xc3\x28\"}", 10, 100, NULL, &o), -EBADMSG);
	assert_int_equal(load("{\"a\":\"\0\"}", 8, 100, NULL, &o), -EBADMSG);
}

static void load_deep_nesting(void **state)
{
	size_t depth = 5000, n = 0;
	char *t = malloc(2 * depth + 16);
	json_t *o = NULL;

	assert_non_null(t);
	n += (size_t)sprintf(t, "{\"a\":");
	for (size_t i = 0; i < depth; i++)
		t[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		t[n++] = ']';
	t[n++] = '}';
	assert_int_equal(load(t, n, n, NULL, &o), -EBADMSG);
	assert_null(o);
	free(t);
}

static void load_reason_is_one_line(void **state)
{
	/* jansson quotes what it read near the fault; a control character
	 * there must not reach a log line as it is. */
	static const char t[] = "{\"a\":\x1b[2J\n\"b\"}";
	json_t *o = NULL;

	assert_int_equal(load(t, strlen(t), 100, NULL, &o), -EBADMSG);
	assert_true(err[0] != '\0');
	for (const char *p = err; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
}

/* ---- field readers ------------------------------------------------------- */

static void ints(void **state)
{
	json_t *o = obj("{\"n\":5,\"neg\":-3,\"big\":9007199254740991,\"r\":1.0,\"s\":\"5\","
			"\"b\":true,\"z\":null,\"huge\":9223372036854775807}");
	int64_t v = 77;

	assert_int_equal(wire_int(&e, o, NULL, "n", 1, 10, true, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(wire_int(&e, o, NULL, "neg", -5, 0, true, &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(wire_int(&e, o, NULL, "big", 1, WIRE_SEQ_MAX, true, &v), 0);
	assert_int_equal(v, WIRE_SEQ_MAX);

	v = 77;
	assert_int_equal(wire_int(&e, o, NULL, "n", 6, 10, true, &v), -EBADMSG);
	assert_string_equal(err, "n: 5 is out of range 6..10");
	assert_int_equal(v, 77);
	assert_int_equal(wire_int(&e, o, NULL, "n", 1, 4, true, &v), -EBADMSG);
	assert_int_equal(wire_int(&e, o, NULL, "huge", 1, WIRE_SEQ_MAX, true, &v), -EBADMSG);
	assert_string_equal(err, "huge: 9223372036854775807 is out of range 1..9007199254740991");
	assert_int_equal(wire_int(&e, o, "events[3].", "r", 0, 10, true, &v), -EBADMSG);
	assert_string_equal(err, "events[3].r: must be an integer");
	assert_int_equal(wire_int(&e, o, NULL, "s", 0, 10, true, &v), -EBADMSG);
	assert_string_equal(err, "s: must be an integer");
	assert_int_equal(wire_int(&e, o, NULL, "b", 0, 10, true, &v), -EBADMSG);
	assert_int_equal(v, 77);

	/* Absent: an error only when required; null likewise. */
	assert_int_equal(wire_int(&e, o, NULL, "absent", 0, 10, false, &v), 0);
	assert_int_equal(v, 77);
	assert_int_equal(wire_int(&e, o, "x.", "absent", 0, 10, true, &v), -EBADMSG);
	assert_string_equal(err, "x.absent: missing");
	assert_int_equal(wire_int(&e, o, NULL, "z", 0, 10, false, &v), 0);
	assert_int_equal(v, 77);
	assert_int_equal(wire_int(&e, o, NULL, "z", 0, 10, true, &v), -EBADMSG);
	assert_int_equal(v, 77);
	json_decref(o);
}

static void strs(void **state)
{
	json_t *o = obj("{\"s\":\"yn-01\",\"empty\":\"\",\"ctl\":\"a\\u0007b\",\"del\":\"a\\u007fb\","
			"\"nl\":\"a\\nb\",\"cjk\":\"\xe6\x9d\x91\xe5\x93\x8d\",\"n\":1,\"z\":null}");
	char out[8];

	memset(out, 'x', sizeof(out));
	assert_int_equal(wire_str(&e, o, NULL, "s", 7, true, out), 0);
	assert_string_equal(out, "yn-01");
	assert_int_equal(wire_str(&e, o, NULL, "s", 5, true, out), 0);
	assert_int_equal(wire_str(&e, o, NULL, "s", 4, true, out), -EBADMSG);
	assert_string_equal(err, "s: length 5 is out of range 1..4");
	/* Lengths are bytes. */
	assert_int_equal(wire_str(&e, o, NULL, "cjk", 6, true, out), 0);
	assert_string_equal(out, "\xe6\x9d\x91\xe5\x93\x8d");
	assert_int_equal(wire_str(&e, o, NULL, "cjk", 5, true, out), -EBADMSG);

	strcpy(out, "keep");
	assert_int_equal(wire_str(&e, o, NULL, "empty", 7, false, out), -EBADMSG);
	assert_string_equal(err, "empty: length 0 is out of range 1..7");
	assert_int_equal(wire_str(&e, o, NULL, "ctl", 7, true, out), -EBADMSG);
	assert_string_equal(err, "ctl: contains a control character");
	assert_int_equal(wire_str(&e, o, NULL, "del", 7, true, out), -EBADMSG);
	assert_int_equal(wire_str(&e, o, NULL, "nl", 7, true, out), -EBADMSG);
	assert_int_equal(wire_str(&e, o, "w.", "n", 7, true, out), -EBADMSG);
	assert_string_equal(err, "w.n: must be a string");
	assert_string_equal(out, "keep");

	assert_int_equal(wire_str(&e, o, NULL, "absent", 7, false, out), 0);
	assert_int_equal(wire_str(&e, o, NULL, "z", 7, false, out), 0);
	assert_string_equal(out, "keep");
	assert_int_equal(wire_str(&e, o, NULL, "absent", 7, true, out), -EBADMSG);
	assert_string_equal(err, "absent: missing");
	assert_int_equal(wire_str(&e, o, NULL, "z", 7, true, out), -EBADMSG);
	json_decref(o);
}

static void enums_and_bools(void **state)
{
	static const char *const names[] = { "resend", "reboot", NULL };
	json_t *o = obj("{\"a\":\"reboot\",\"b\":\"RESEND\",\"c\":0,\"t\":true,\"f\":false,"
			"\"one\":1,\"str\":\"true\",\"z\":null}");
	int k = -1;
	bool v = false;

	assert_int_equal(wire_enum(&e, o, NULL, "a", names, true, &k), 0);
	assert_int_equal(k, 1);
	k = -1;
	assert_int_equal(wire_enum(&e, o, NULL, "b", names, true, &k), -EBADMSG);
	assert_string_equal(err, "b: not one of the allowed values");
	assert_int_equal(wire_enum(&e, o, "p.", "c", names, true, &k), -EBADMSG);
	assert_string_equal(err, "p.c: not one of the allowed values");
	assert_int_equal(wire_enum(&e, o, NULL, "z", names, false, &k), 0);
	assert_int_equal(wire_enum(&e, o, NULL, "absent", names, false, &k), 0);
	assert_int_equal(k, -1);
	assert_int_equal(wire_enum(&e, o, NULL, "absent", names, true, &k), -EBADMSG);

	assert_int_equal(wire_bool(&e, o, NULL, "t", true, &v), 0);
	assert_true(v);
	assert_int_equal(wire_bool(&e, o, NULL, "f", true, &v), 0);
	assert_false(v);
	assert_int_equal(wire_bool(&e, o, NULL, "one", true, &v), -EBADMSG);
	assert_string_equal(err, "one: must be true or false");
	assert_int_equal(wire_bool(&e, o, NULL, "str", true, &v), -EBADMSG);
	v = true;
	assert_int_equal(wire_bool(&e, o, NULL, "absent", false, &v), 0);
	assert_int_equal(wire_bool(&e, o, NULL, "z", false, &v), 0);
	assert_true(v);
	assert_int_equal(wire_bool(&e, o, NULL, "absent", true, &v), -EBADMSG);
	json_decref(o);
}

static void shas(void **state)
{
	json_t *o = obj("{\"two\":[\"" SHA "\",\"" SHA2 "\"],\"none\":[],\"z\":null,"
			"\"upper\":[\"" SHA "\",\"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\"],"
			"\"short\":[\"abc\"],\"num\":[1],\"obj\":{\"a\":\"" SHA "\"},"
			"\"str\":\"" SHA "\"}");
	char (*v)[65] = (void *)1;
	size_t n = 99;

	assert_int_equal(wire_shas(&e, o, NULL, "two", 2, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], SHA);
	assert_string_equal(v[1], SHA2);
	free(v);

	assert_int_equal(wire_shas(&e, o, NULL, "two", 1, &v, &n), -EBADMSG);
	assert_string_equal(err, "two: must be an array of at most 1 hashes");
	assert_null(v);
	assert_int_equal(n, 0);

	/* Empty, null and absent are all "none". */
	n = 99;
	assert_int_equal(wire_shas(&e, o, NULL, "none", 2, &v, &n), 0);
	assert_null(v);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(wire_shas(&e, o, NULL, "z", 2, &v, &n), 0);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(wire_shas(&e, o, NULL, "absent", 2, &v, &n), 0);
	assert_null(v);

	assert_int_equal(wire_shas(&e, o, "want.", "upper", 2, &v, &n), -EBADMSG);
	assert_string_equal(err, "want.upper[1]: must be 64 lower-case hex digits");
	assert_null(v);
	assert_int_equal(n, 0);
	assert_int_equal(wire_shas(&e, o, NULL, "short", 2, &v, &n), -EBADMSG);
	assert_int_equal(wire_shas(&e, o, NULL, "num", 2, &v, &n), -EBADMSG);
	assert_int_equal(wire_shas(&e, o, NULL, "obj", 2, &v, &n), -EBADMSG);
	assert_int_equal(wire_shas(&e, o, NULL, "str", 2, &v, &n), -EBADMSG);
	json_decref(o);
}

static void fail_reasons(void **state)
{
	struct wire_err none = { NULL, 0 }, small;
	char tiny[8];

	assert_int_equal(wire_fail(NULL, "x %d", 1), -EBADMSG);
	assert_int_equal(wire_fail(&none, "x %d", 1), -EBADMSG);
	small = (struct wire_err){ tiny, sizeof(tiny) };
	assert_int_equal(wire_fail(&small, "%s", "a long reason that is cut"), -EBADMSG);
	assert_true(strlen(tiny) < sizeof(tiny));
	assert_memory_equal(tiny, "a long", 6);
	/* What came in is escaped. */
	assert_int_equal(wire_fail(&e, "node: '%s'", "a\x1b[2Jb\n"), -EBADMSG);
	assert_string_equal(err, "node: 'a\\x1b[2Jb\\x0a'");
}

/* ---- writing ------------------------------------------------------------- */

static void dump_and_sign(void **state)
{
	unsigned char sk[ENV_SK_BYTES];
	struct env_key pub;
	json_t *o = json_object();
	char *s, *msg;
	size_t n, len, jl;

	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pub.pk, sk);
	env_keyid(pub.pk, pub.id);
	/* In the order the keys were set, compact. */
	json_object_set_new(o, "type", json_string("ack"));
	json_object_set_new(o, "node", json_string("yn-01"));
	json_object_set_new(o, "seq", json_integer(4711));
	json_object_set_new(o, "none", wire_int_or_null(WIRE_NONE));
	json_object_set_new(o, "zero", wire_int_or_null(0));
	json_object_set_new(o, "a", json_string("\xe6\x9d\x91"));
	s = wire_dump(o, &n);
	assert_string_equal(s, "{\"type\":\"ack\",\"node\":\"yn-01\",\"seq\":4711,\"none\":null,"
			    "\"zero\":0,\"a\":\"\xe6\x9d\x91\"}");
	assert_int_equal(n, strlen(s));
	free(s);
	s = wire_dump(o, NULL);
	assert_non_null(s);
	free(s);

	assert_int_equal(wire_sign(o, sk, &msg, &len), 0);
	assert_int_equal(env_verify(msg, len, &pub, 1, &jl), 0);
	s = wire_dump(o, &n);
	assert_int_equal(jl, n);
	assert_memory_equal(msg, s, n);
	free(s);
	free(msg);
	json_decref(o);
	assert_int_equal(wire_sign(NULL, sk, &msg, &len), -ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(node_ids),
		cmocka_unit_test(topics_built),
		cmocka_unit_test(topics_refused),
		cmocka_unit_test(topics_parsed),
		cmocka_unit_test(topics_malformed),
		cmocka_unit_test(load_ok),
		cmocka_unit_test(load_refused),
		cmocka_unit_test(load_deep_nesting),
		cmocka_unit_test(load_reason_is_one_line),
		cmocka_unit_test(ints),
		cmocka_unit_test(strs),
		cmocka_unit_test(enums_and_bools),
		cmocka_unit_test(shas),
		cmocka_unit_test(fail_reasons),
		cmocka_unit_test(dump_and_sign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
