/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_plan.c -- plan bodies: valid, every malformed field, hostile input */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA_A "9f2c000000000000000000000000000000000000000000000000000000000001"
#define SHA_B "77ab000000000000000000000000000000000000000000000000000000000002"
#define SHA_C "0000000000000000000000000000000000000000000000000000000000000003"

#define TYPE    "\"type\":\"plan\""
#define NODE    "\"node\":\"yn-01\""
#define ISSUED  "\"issued_ms\":1764547200000"
#define HORIZON "\"horizon_ms\":1765152000000"
#define HEAD    "{" TYPE "," NODE "," ISSUED "," HORIZON ","

#define OCC    "\"occ\":\"flood-meeting-daily@2026-12-01T07:30\""
#define NOTICE "\"notice\":\"flood-meeting\""
#define START  "\"start_ms\":1764545400000"
#define DUR    "\"duration_ms\":18400"
#define PRI    "\"priority\":10"
#define VOL    "\"volume\":80"
#define ASSETS "\"assets\":[\"" SHA_A "\",\"" SHA_B "\"]"

/* One event whose fields are the seven above with one replaced. */
#define EVENT(o, n, s, d, p, v, a) "{" o "," n "," s "," d "," p "," v "," a "}"
#define GOOD_EVENT EVENT(OCC, NOTICE, START, DUR, PRI, VOL, ASSETS)
#define PLAN1(ev) HEAD "\"events\":[" ev "]}"

static int parse(const char *json, struct plan **p, char *err)
{
	return plan_parse(json, strlen(json), "yn-01", p, err, 256);
}

static void valid(void **state)
{
	const char *json = HEAD "\"max_delay_ms\":90000,\"future_key\":{\"x\":[1,2]},\"events\":["
		EVENT("\"occ\":\"b@2\"", NOTICE, "\"start_ms\":1764545500000", DUR, PRI, VOL,
		      "\"assets\":[\"" SHA_C "\"]") ","
		EVENT("\"occ\":\"z@1\"", NOTICE, START, DUR, "\"priority\":20", VOL, ASSETS) ","
		EVENT("\"occ\":\"a@1\"", "\"notice\":\"防汛\"", START, DUR, PRI,
		      "\"volume\":100", "\"assets\":[\"" SHA_A "\"]") "]}";
	struct plan *p;
	char err[256];

	assert_int_equal(parse(json, &p, err), 0);
	assert_string_equal(err, "");
	assert_string_equal(p->node, "yn-01");
	assert_int_equal(p->issued_ms, 1764547200000LL);
	assert_int_equal(p->horizon_ms, 1765152000000LL);
	assert_int_equal(p->max_delay_ms, 90000);
	assert_int_equal(p->nevents, 3);
	/* Sorted by start, then occ. */
	assert_string_equal(p->events[0].occ, "a@1");
	assert_string_equal(p->events[0].notice, "防汛");
	assert_int_equal(p->events[0].volume, 100);
	assert_int_equal(p->events[0].nassets, 1);
	assert_string_equal(p->events[1].occ, "z@1");
	assert_int_equal(p->events[1].priority, 20);
	assert_int_equal(p->events[1].start_ms, 1764545400000LL);
	assert_int_equal(p->events[1].duration_ms, 18400);
	assert_int_equal(p->events[1].nassets, 2);
	assert_string_equal(p->events[1].assets[0], SHA_A);
	assert_string_equal(p->events[1].assets[1], SHA_B);
	assert_string_equal(p->events[2].occ, "b@2");
	plan_free(p);

	/* max_delay_ms defaults to ten minutes; an empty plan is valid. */
	assert_int_equal(parse(HEAD "\"events\":[]}", &p, err), 0);
	assert_int_equal(p->max_delay_ms, 600000);
	assert_int_equal(p->nevents, 0);
	plan_free(p);
}

/* The node's place, which alerts target: optional, checked when present. */
static void place(void **state)
{
	struct plan *p;
	char err[256];

	(void)state;
	assert_int_equal(parse(HEAD "\"area\":\"640104100201\",\"tags\":[\"river\",\"学校\"],"
			       "\"events\":[]}", &p, err), 0);
	assert_string_equal(p->area, "640104100201");
	assert_int_equal(p->ntags, 2);
	assert_string_equal(p->tags[0], "river");
	assert_string_equal(p->tags[1], "学校");
	plan_free(p);
	assert_int_equal(parse(HEAD "\"events\":[]}", &p, err), 0);
	assert_string_equal(p->area, "");
	assert_int_equal(p->ntags, 0);
	plan_free(p);
	assert_int_equal(parse(HEAD "\"area\":\"64010x\",\"events\":[]}", &p, err), -EBADMSG);
	assert_string_equal(err, "area: must be digits, not '64010x'");
	assert_int_equal(parse(HEAD "\"area\":\"6401041002011\",\"events\":[]}", &p, err), -EBADMSG);
	assert_int_equal(parse(HEAD "\"tags\":\"river\",\"events\":[]}", &p, err), -EBADMSG);
	assert_int_equal(parse(HEAD "\"tags\":[\"a b\"],\"events\":[]}", &p, err), -EBADMSG);
	assert_string_equal(err, "tags[0]: 'a b' has a space or comma");
	assert_int_equal(parse(HEAD "\"tags\":[3],\"events\":[]}", &p, err), -EBADMSG);
	assert_string_equal(err, "tags[0].tag: must be a string");
}

static void assets_list(void **state)
{
	const char *json = HEAD "\"max_delay_ms\":0,\"events\":["
		EVENT("\"occ\":\"x\"", NOTICE, "\"start_ms\":1764545400000", "\"duration_ms\":1000",
		      PRI, VOL, "\"assets\":[\"" SHA_C "\",\"" SHA_A "\"]") ","
		EVENT("\"occ\":\"y\"", NOTICE, "\"start_ms\":1764545500000", "\"duration_ms\":1000",
		      PRI, VOL, "\"assets\":[\"" SHA_B "\",\"" SHA_A "\",\"" SHA_B "\"]") "]}";
	char (*v)[65];
	struct plan *p;
	char err[256];
	size_t n;

	assert_int_equal(parse(json, &p, err), 0);
	v = plan_assets(p, 0, &n);
	assert_non_null(v);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], SHA_C);
	assert_string_equal(v[1], SHA_B);
	assert_string_equal(v[2], SHA_A);
	free(v);
	/* The first event ended at ...401000: from then on only the second. */
	v = plan_assets(p, 1764545401001LL, &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], SHA_B);
	assert_string_equal(v[1], SHA_A);
	free(v);
	/* Still playing at its last millisecond. */
	v = plan_assets(p, 1764545401000LL, &n);
	assert_int_equal(n, 3);
	free(v);
	v = plan_assets(p, 1764545600000LL, &n);
	assert_non_null(v);
	assert_int_equal(n, 0);
	free(v);
	plan_free(p);
}

struct bad {
	const char *json;
	const char *err;
};

static const struct bad bad[] = {
	/* top level */
	{ "", "JSON at line 1 column 0: '[' or '{' expected near end of file" },
	{ "[]", "plan must be a JSON object" },
	{ "{\"type\":\"plan\"", "JSON at line 1" },
	{ "{" NODE "," ISSUED "," HORIZON ",\"events\":[]}", "type: must be \"plan\"" },
	{ "{\"type\":\"alert\"," NODE "," ISSUED "," HORIZON ",\"events\":[]}",
	  "type: must be \"plan\"" },
	{ "{\"type\":1," NODE "," ISSUED "," HORIZON ",\"events\":[]}", "type: must be \"plan\"" },
	{ "{" TYPE "," ISSUED "," HORIZON ",\"events\":[]}", "node: missing" },
	{ "{" TYPE ",\"node\":7," ISSUED "," HORIZON ",\"events\":[]}", "node: must be a string" },
	{ "{" TYPE ",\"node\":\"yn-02\"," ISSUED "," HORIZON ",\"events\":[]}",
	  "node: plan is for 'yn-02', this node is 'yn-01'" },
	{ "{" TYPE ",\"node\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"," ISSUED "," HORIZON
	  ",\"events\":[]}", "node: length 33 is out of range 1..32" },
	{ "{" TYPE "," NODE "," HORIZON ",\"events\":[]}", "issued_ms: missing" },
	{ "{" TYPE "," NODE ",\"issued_ms\":\"1764547200000\"," HORIZON ",\"events\":[]}",
	  "issued_ms: must be an integer" },
	{ "{" TYPE "," NODE ",\"issued_ms\":1764547200000.0," HORIZON ",\"events\":[]}",
	  "issued_ms: must be an integer" },
	{ "{" TYPE "," NODE ",\"issued_ms\":1764547200," HORIZON ",\"events\":[]}",
	  "issued_ms: 1764547200 is out of range" },
	{ "{" TYPE "," NODE ",\"issued_ms\":-1," HORIZON ",\"events\":[]}",
	  "issued_ms: -1 is out of range" },
	{ "{" TYPE "," NODE ",\"issued_ms\":99999999999999999999," HORIZON ",\"events\":[]}",
	  "JSON at line 1" },
	{ "{" TYPE "," NODE "," ISSUED ",\"events\":[]}", "horizon_ms: missing" },
	{ "{" TYPE "," NODE "," ISSUED ",\"horizon_ms\":1764547200000,\"events\":[]}",
	  "horizon_ms: must be after issued_ms" },
	{ "{" TYPE "," NODE "," ISSUED ",\"horizon_ms\":null,\"events\":[]}",
	  "horizon_ms: must be an integer" },
	{ HEAD "\"max_delay_ms\":-5,\"events\":[]}", "max_delay_ms: -5 is out of range" },
	{ HEAD "\"max_delay_ms\":86400001,\"events\":[]}", "max_delay_ms: 86400001 is out of range" },
	{ HEAD "\"max_delay_ms\":true,\"events\":[]}", "max_delay_ms: must be an integer" },
	{ "{" TYPE "," NODE "," ISSUED "," HORIZON "}", "events: missing" },
	{ HEAD "\"events\":{}}", "events: must be an array" },
	{ HEAD "\"events\":[1]}", "events[0]: must be an object" },
	{ HEAD "\"events\":[" GOOD_EVENT ",[]]}", "events[1]: must be an object" },
	/* event fields */
	{ PLAN1(EVENT("\"x\":1", NOTICE, START, DUR, PRI, VOL, ASSETS)), "events[0].occ: missing" },
	{ PLAN1(EVENT("\"occ\":\"\"", NOTICE, START, DUR, PRI, VOL, ASSETS)),
	  "events[0].occ: length 0 is out of range 1..160" },
	{ PLAN1(EVENT("\"occ\":\"a\\nb\"", NOTICE, START, DUR, PRI, VOL, ASSETS)),
	  "events[0].occ: contains a control character" },
	{ PLAN1(EVENT("\"occ\":\"a\\u0000b\"", NOTICE, START, DUR, PRI, VOL, ASSETS)),
	  "JSON at line 1" },
	{ PLAN1(EVENT("\"occ\":[]", NOTICE, START, DUR, PRI, VOL, ASSETS)),
	  "events[0].occ: must be a string" },
	{ PLAN1(EVENT(OCC, "\"x\":1", START, DUR, PRI, VOL, ASSETS)), "events[0].notice: missing" },
	{ PLAN1(EVENT(OCC, "\"notice\":3", START, DUR, PRI, VOL, ASSETS)),
	  "events[0].notice: must be a string" },
	{ PLAN1(EVENT(OCC, "\"notice\":\"0123456789012345678901234567890123456789012345678901"
		      "2345678901234\"", START, DUR, PRI, VOL, ASSETS)),
	  "events[0].notice: length 65 is out of range 1..64" },
	{ PLAN1(EVENT(OCC, NOTICE, "\"x\":1", DUR, PRI, VOL, ASSETS)), "events[0].start_ms: missing" },
	{ PLAN1(EVENT(OCC, NOTICE, "\"start_ms\":1.5", DUR, PRI, VOL, ASSETS)),
	  "events[0].start_ms: must be an integer" },
	{ PLAN1(EVENT(OCC, NOTICE, "\"start_ms\":0", DUR, PRI, VOL, ASSETS)),
	  "events[0].start_ms: 0 is out of range" },
	{ PLAN1(EVENT(OCC, NOTICE, "\"start_ms\":9223372036854775807", DUR, PRI, VOL, ASSETS)),
	  "events[0].start_ms: 9223372036854775807 is out of range" },
	{ PLAN1(EVENT(OCC, NOTICE, START, "\"x\":1", PRI, VOL, ASSETS)),
	  "events[0].duration_ms: missing" },
	{ PLAN1(EVENT(OCC, NOTICE, START, "\"duration_ms\":0", PRI, VOL, ASSETS)),
	  "events[0].duration_ms: 0 is out of range 1..86400000" },
	{ PLAN1(EVENT(OCC, NOTICE, START, "\"duration_ms\":-18400", PRI, VOL, ASSETS)),
	  "events[0].duration_ms: -18400 is out of range" },
	{ PLAN1(EVENT(OCC, NOTICE, START, "\"duration_ms\":86400001", PRI, VOL, ASSETS)),
	  "events[0].duration_ms: 86400001 is out of range" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, "\"x\":1", VOL, ASSETS)),
	  "events[0].priority: missing" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, "\"priority\":0", VOL, ASSETS)),
	  "events[0].priority: 0 is out of range 1..100" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, "\"priority\":101", VOL, ASSETS)),
	  "events[0].priority: 101 is out of range 1..100" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, "\"priority\":\"routine\"", VOL, ASSETS)),
	  "events[0].priority: must be an integer" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, PRI, "\"x\":1", ASSETS)), "events[0].volume: missing" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, PRI, "\"volume\":0", ASSETS)),
	  "events[0].volume: 0 is out of range 1..100" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, PRI, "\"volume\":4294967376", ASSETS)),
	  "events[0].volume: 4294967376 is out of range 1..100" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, PRI, VOL, "\"x\":1")), "events[0].assets: missing" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, PRI, VOL, "\"assets\":\"" SHA_A "\"")),
	  "events[0].assets: must be an array" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, PRI, VOL, "\"assets\":[]")),
	  "events[0].assets: 0 entries, must be 1..64" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, PRI, VOL, "\"assets\":[\"" SHA_A "\",5]")),
	  "events[0].assets[1]: must be 64 lower-case hex digits" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, PRI, VOL,
		      "\"assets\":[\"9F2C000000000000000000000000000000000000000000000000000000000001\"]")),
	  "events[0].assets[0]: must be 64 lower-case hex digits" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, PRI, VOL, "\"assets\":[\"" SHA_A "0\"]")),
	  "events[0].assets[0]: must be 64 lower-case hex digits" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, PRI, VOL, "\"assets\":[\"../../etc/passwd\"]")),
	  "events[0].assets[0]: must be 64 lower-case hex digits" },
	/* duplicates */
	{ "{" TYPE "," TYPE "," NODE "," ISSUED "," HORIZON ",\"events\":[]}",
	  "JSON at line 1 column 21: duplicate object key near '\"type\"'" },
	{ PLAN1(EVENT(OCC, NOTICE, START, DUR, PRI, "\"volume\":80,\"volume\":100", ASSETS)),
	  "duplicate object key" },
	{ HEAD "\"events\":[" GOOD_EVENT "," GOOD_EVENT "]}",
	  "events: occ 'flood-meeting-daily@2026-12-01T07:30' appears twice" },
	/* not UTF-8 */
	{ PLAN1(EVENT("\"occ\":\"\xff\xfe\"", NOTICE, START, DUR, PRI, VOL, ASSETS)),
	  "JSON at line 1" },
};

static void malformed(void **state)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct plan *p = (struct plan *)1;
		char err[256] = "";
		int r = parse(bad[i].json, &p, err);

		if (r != -EBADMSG || !strstr(err, bad[i].err))
			fprintf(stderr, "case %zu: r=%d err='%s' wanted '%s'\n", i, r, err,
				bad[i].err);
		assert_int_equal(r, -EBADMSG);
		assert_null(p);
		assert_non_null(strstr(err, bad[i].err));
		assert_null(strchr(err, '\n'));
	}
}

static char *repeat(const char *head, const char *item, size_t n, const char *tail)
{
	size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
	char *s = malloc(hl + n * (il + 1) + tl + 1), *o = s;

	assert_non_null(s);
	memcpy(o, head, hl);
	o += hl;
	for (size_t i = 0; i < n; i++) {
		if (i)
			*o++ = ',';
		memcpy(o, item, il);
		o += il;
	}
	memcpy(o, tail, tl + 1);
	return s;
}

#define ASSETS_HEAD HEAD "\"events\":[{" OCC "," NOTICE "," START "," DUR "," PRI "," VOL ",\"assets\":["

static void oversized(void **state)
{
	struct plan *p;
	char err[256];
	char *s;

	/* 65 assets in one event. */
	s = repeat(ASSETS_HEAD, "\"" SHA_A "\"",
		   PLAN_MAX_ASSETS + 1, "]}]}");
	assert_int_equal(parse(s, &p, err), -EBADMSG);
	assert_string_equal(err, "events[0].assets: 65 entries, must be 1..64");
	free(s);
	/* Exactly 64 is fine. */
	s = repeat(ASSETS_HEAD, "\"" SHA_A "\"",
		   PLAN_MAX_ASSETS, "]}]}");
	assert_int_equal(parse(s, &p, err), 0);
	assert_int_equal(p->events[0].nassets, 64);
	plan_free(p);
	free(s);
	/* One event too many: rejected by count before any event is looked at. */
	s = repeat(HEAD "\"events\":[", "0", PLAN_MAX_EVENTS + 1, "]}");
	assert_int_equal(parse(s, &p, err), -EBADMSG);
	assert_string_equal(err, "events: 100001 entries, at most 100000");
	free(s);
	/* Larger than any signed message. */
	assert_int_equal(plan_parse("{}", (size_t)9 << 20, "yn-01", &p, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "larger than"));
	/* A tiny error buffer is fine, and so is none. */
	assert_int_equal(plan_parse("[]", 2, "yn-01", &p, err, 4), -EBADMSG);
	assert_string_equal(err, "pla");
	assert_int_equal(plan_parse("[]", 2, "yn-01", &p, NULL, 0), -EBADMSG);
}

static void hostile_nesting(void **state)
{
	size_t depth = 200000;
	char *s = malloc(2 * depth + 1);
	struct plan *p;
	char err[256];

	assert_non_null(s);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	assert_int_equal(parse(s, &p, err), -EBADMSG);
	assert_non_null(strstr(err, "JSON at line 1"));
	/* Deep inside a field the node does not know. */
	memcpy(s, HEAD "\"x\":", strlen(HEAD "\"x\":"));
	assert_int_equal(plan_parse(s, 2 * depth, "yn-01", &p, err, sizeof(err)), -EBADMSG);
	free(s);
}

static void not_nul_terminated(void **state)
{
	/* LEN bounds the read: the byte after the plan is not looked at. */
	const char body[] = PLAN1(GOOD_EVENT) "garbage";
	char *copy = malloc(sizeof(body) - 1 - 7);
	struct plan *p;
	char err[256];

	memcpy(copy, body, sizeof(body) - 1 - 7);
	assert_int_equal(plan_parse(copy, sizeof(body) - 1 - 7, "yn-01", &p, err, sizeof(err)), 0);
	assert_int_equal(p->nevents, 1);
	plan_free(p);
	free(copy);
	assert_int_equal(plan_parse(body, sizeof(body) - 1, "yn-01", &p, err, sizeof(err)),
			 -EBADMSG);
	plan_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid),
		cmocka_unit_test(place),
		cmocka_unit_test(assets_list),
		cmocka_unit_test(malformed),
		cmocka_unit_test(oversized),
		cmocka_unit_test(hostile_nesting),
		cmocka_unit_test(not_nul_terminated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
