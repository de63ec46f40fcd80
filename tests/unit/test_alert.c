/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_alert.c -- alert and cancel parsing, targeting, priority, seen ids */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alert.h"
#include "seen.h"

#define SHA_A "9f2c000000000000000000000000000000000000000000000000000000000001"
#define HEAD "{\"type\":\"alert\",\"id\":\"640104100000-20261201-0001\",\"level\":1," \
	     "\"class\":\"actual\",\"issued_ms\":1764547200000,\"start_ms\":1764547200000," \
	     "\"expires_ms\":1764550800000,"
#define TARGETS "\"targets\":{\"areas\":[\"640104100201\",\"640105\"],\"tags\":[\"river\"]," \
		"\"nodes\":[\"zz-09\"]}"
#define REST ",\"title\":\"山洪预警\",\"assets\":[\"" SHA_A "\"],\"duration_ms\":12000," \
	     "\"repeat\":3,\"volume\":90,\"live\":null}"

static int parse(const char *json, struct alert **a, char *err)
{
	return alert_parse(json, strlen(json), a, err, 256);
}

static void valid_alert(void **state)
{
	struct alert *a;
	char err[256];

	(void)state;
	assert_int_equal(parse(HEAD TARGETS REST, &a, err), 0);
	assert_false(a->cancel);
	assert_string_equal(a->id, "640104100000-20261201-0001");
	assert_int_equal(a->level, 1);
	assert_string_equal(a->cls, "actual");
	assert_int_equal(a->start_ms, 1764547200000LL);
	assert_int_equal(a->expires_ms, 1764550800000LL);
	assert_int_equal(a->duration_ms, 12000);
	assert_int_equal(a->repeat, 3);
	assert_int_equal(a->volume, 90);
	assert_string_equal(a->title, "山洪预警");
	assert_int_equal(a->nareas, 2);
	assert_int_equal(a->ntags, 1);
	assert_int_equal(a->nnodes, 1);
	assert_int_equal(a->nassets, 1);
	assert_string_equal(a->assets[0], SHA_A);
	assert_string_equal(a->live, "");
	alert_free(a);
}

static void valid_cancel(void **state)
{
	struct alert *a;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"type\":\"cancel\",\"id\":\"c-1\",\"ref\":\"640104100000-20261201-0001\","
			       "\"issued_ms\":1764547300000}", &a, err), 0);
	assert_true(a->cancel);
	assert_string_equal(a->ref, "640104100000-20261201-0001");
	alert_free(a);
}

static void malformed(void **state)
{
	static const struct {
		const char *json, *err;
	} bad[] = {
		{ "[]", "an alert must be a JSON object" },
		{ "{\"type\":\"plan\"}", "type: must be \"alert\" or \"cancel\"" },
		{ HEAD "\"targets\":{}" REST, "targets: names no area, tag or node" },
		{ HEAD "\"targets\":{\"areas\":[\"6401a\"]}" REST,
		  "targets.areas[0]: '6401a' is not a valid entry" },
		{ HEAD "\"targets\":{\"nodes\":[\"YN-01\"]}" REST,
		  "targets.nodes[0]: 'YN-01' is not a valid entry" },
		{ HEAD "\"targets\":[]" REST, "targets: must be an object" },
		{ "{\"type\":\"alert\",\"id\":\"x\",\"level\":5,\"class\":\"actual\","
		  "\"issued_ms\":1764547200000}", "level: 5 is out of range 1..4" },
		{ "{\"type\":\"alert\",\"id\":\"x\",\"level\":2,\"class\":\"real\","
		  "\"issued_ms\":1764547200000}", "class: must be actual, drill or test, not 'real'" },
		{ "{\"type\":\"alert\",\"id\":\"x\",\"level\":2,\"class\":\"test\","
		  "\"issued_ms\":1764547200000,\"start_ms\":1764547200000,\"expires_ms\":1764547200000}",
		  "expires_ms: must be after start_ms" },
		{ HEAD TARGETS ",\"assets\":[\"abc\"]}", "assets[0]: 'abc' is not a valid entry" },
		{ HEAD TARGETS ",\"assets\":[]}", "assets: an alert needs audio or a live stream" },
		{ HEAD TARGETS ",\"assets\":[\"" SHA_A "\"],\"repeat\":11}",
		  "repeat: 11 is out of range 1..10" },
		{ HEAD TARGETS ",\"assets\":[\"" SHA_A "\"],\"title\":\"a\\u0007b\"}",
		  "title: contains a control character" },
		{ "{\"type\":\"cancel\",\"id\":\"c\",\"issued_ms\":1764547200000}", "ref: missing" },
		{ "{\"type\":\"cancel\",\"id\":\"c\",\"id\":\"d\"}", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct alert *a = (struct alert *)1;
		char err[256];

		assert_int_equal(parse(bad[i].json, &a, err), -EBADMSG);
		assert_null(a);
		if (bad[i].err)
			assert_string_equal(err, bad[i].err);
	}
}

static void targeting(void **state)
{
	const char tags[][65] = { "school", "river" };
	struct alert *a;
	char err[256];

	(void)state;
	assert_int_equal(parse(HEAD TARGETS REST, &a, err), 0);
	/* area prefix: the whole code or a district prefix */
	assert_true(alert_targets(a, "yn-01", "640104100201", NULL, 0));
	assert_true(alert_targets(a, "x-01", "640105200301", NULL, 0));
	assert_false(alert_targets(a, "yn-02", "640104100202", NULL, 0));
	/* a shared tag */
	assert_true(alert_targets(a, "yn-02", "640104100202", tags, 2));
	assert_false(alert_targets(a, "yn-02", "640104100202", tags, 1));
	/* listed by id, even without a known area */
	assert_true(alert_targets(a, "zz-09", NULL, NULL, 0));
	assert_false(alert_targets(a, "zz-1", "", NULL, 0));
	alert_free(a);

	assert_int_equal(alert_priority(1), 70);
	assert_int_equal(alert_priority(2), 60);
	assert_int_equal(alert_priority(3), 50);
	assert_int_equal(alert_priority(4), 40);
}

static void seen(void **state)
{
	struct seen *s = seen_new(), *t = seen_new();
	char *dump;

	(void)state;
	assert_int_equal(seen_add(s, "a", 1000), 0);
	assert_int_equal(seen_add(s, "b", 3000), 0);
	assert_int_equal(seen_add(s, "a", 2000), 0); /* extends */
	assert_true(seen_has(s, "a"));
	assert_false(seen_has(s, "c"));
	dump = seen_dump(s);
	assert_non_null(dump);
	assert_int_equal(seen_load(t, dump, strlen(dump)), 0);
	assert_true(seen_has(t, "a"));
	assert_true(seen_has(t, "b"));
	seen_prune(t, 2500);
	assert_false(seen_has(t, "a"));
	assert_true(seen_has(t, "b"));
	free(dump);
	/* Malformed entries are skipped, a non-list refused. */
	dump = "[{\"id\":3},{\"id\":\"z\",\"until_ms\":9}]";
	assert_int_equal(seen_load(t, dump, strlen(dump)), 0);
	assert_true(seen_has(t, "z"));
	assert_int_equal(seen_load(t, "{}", 2), -EBADMSG);
	seen_free(s);
	seen_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_alert),
		cmocka_unit_test(valid_cancel),
		cmocka_unit_test(malformed),
		cmocka_unit_test(targeting),
		cmocka_unit_test(seen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
