/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_seen.c -- the alert ids a node has seen: kept until they expire,
 * extended, bounded, pruned, saved and loaded back */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "seen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_has_prune(void **state)
{
	struct seen *s = seen_new();

	assert_non_null(s);
	assert_false(seen_has(s, "a1"));
	assert_int_equal(seen_add(s, "a1", 1000), 0);
	assert_int_equal(seen_add(s, "a2", 2000), 0);
	assert_true(seen_has(s, "a1"));
	assert_true(seen_has(s, "a2"));
	assert_false(seen_has(s, "a"));
	assert_false(seen_has(s, "a12"));
	/* Kept up to its instant, forgotten after it. */
	seen_prune(s, 1000);
	assert_true(seen_has(s, "a1"));
	seen_prune(s, 1001);
	assert_false(seen_has(s, "a1"));
	assert_true(seen_has(s, "a2"));
	seen_prune(s, 5000);
	assert_false(seen_has(s, "a2"));
	seen_free(s);
	seen_free(NULL);
}

/* A later instant extends an entry; an earlier one does not shorten it. */
static void add_again_extends(void **state)
{
	struct seen *s = seen_new();

	assert_int_equal(seen_add(s, "x", 1000), 0);
	assert_int_equal(seen_add(s, "x", 3000), 0);
	assert_int_equal(seen_add(s, "x", 2000), 0);
	seen_prune(s, 2500);
	assert_true(seen_has(s, "x"));
	seen_prune(s, 3001);
	assert_false(seen_has(s, "x"));
	seen_free(s);
}

static void id_length(void **state)
{
	struct seen *s = seen_new();
	char id[ALERT_ID_MAX + 2];

	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	assert_int_equal(seen_add(s, id, 1000), -EINVAL);
	assert_false(seen_has(s, id));
	id[ALERT_ID_MAX] = '\0';
	assert_int_equal(seen_add(s, id, 1000), 0);
	assert_true(seen_has(s, id));
	seen_free(s);
}

/* Full: the entry that expires first makes room for the new one. */
static void bounded(void **state)
{
	struct seen *s = seen_new();
	char id[32];

	for (int i = 0; i < SEEN_MAX; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		/* id-7 expires first. */
		assert_int_equal(seen_add(s, id, i == 7 ? 10 : 100000 + i), 0);
	}
	assert_true(seen_has(s, "id-7"));
	assert_int_equal(seen_add(s, "new", 500000), 0);
	assert_true(seen_has(s, "new"));
	assert_false(seen_has(s, "id-7"));
	assert_true(seen_has(s, "id-0"));
	assert_true(seen_has(s, "id-8"));
	snprintf(id, sizeof(id), "id-%d", SEEN_MAX - 1);
	assert_true(seen_has(s, id));
	/* An id already held takes no room. */
	assert_int_equal(seen_add(s, "id-0", 100000), 0);
	assert_true(seen_has(s, "id-1"));
	seen_free(s);
}

static void dump_and_load(void **state)
{
	struct seen *s = seen_new(), *t = seen_new();
	char *text;

	assert_int_equal(seen_add(s, "flood-1", 1000), 0);
	assert_int_equal(seen_add(s, "cancelled \"quoted\"", 2000), 0);
	text = seen_dump(s);
	assert_non_null(text);
	assert_int_equal(seen_load(t, text, strlen(text)), 0);
	assert_true(seen_has(t, "flood-1"));
	assert_true(seen_has(t, "cancelled \"quoted\""));
	/* The instants came along too. */
	seen_prune(t, 1500);
	assert_false(seen_has(t, "flood-1"));
	assert_true(seen_has(t, "cancelled \"quoted\""));
	free(text);
	/* Empty. */
	seen_free(s);
	s = seen_new();
	text = seen_dump(s);
	assert_string_equal(text, "[]");
	free(text);
	seen_free(s);
	seen_free(t);
}

/* A state file that is not a list is refused; malformed entries in a list
 * are skipped, the rest kept. */
static void load_malformed(void **state)
{
	static const char *const bad[] = { "", "{}", "not json", "\"a\"", "[" };
	const char *mixed = "[{\"id\":\"ok\",\"until_ms\":5},{\"id\":7,\"until_ms\":5},"
			    "{\"id\":\"no-until\"},{\"until_ms\":5},42,"
			    "{\"id\":\"float\",\"until_ms\":1.5},{\"id\":\"ok2\",\"until_ms\":9}]";
	struct seen *s = seen_new();
	char longer[ALERT_ID_MAX + 64], cut[ALERT_ID_MAX + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(seen_load(s, bad[i], strlen(bad[i])), -EBADMSG);
	assert_int_equal(seen_load(s, mixed, strlen(mixed)), 0);
	assert_true(seen_has(s, "ok"));
	assert_true(seen_has(s, "ok2"));
	assert_false(seen_has(s, "no-until"));
	assert_false(seen_has(s, "float"));
	/* An id over the limit is skipped, not truncated. */
	snprintf(longer, sizeof(longer), "[{\"id\":\"%0*d\",\"until_ms\":5}]", ALERT_ID_MAX + 1, 0);
	assert_int_equal(seen_load(s, longer, strlen(longer)), 0);
	memset(cut, '0', ALERT_ID_MAX);
	cut[ALERT_ID_MAX] = '\0';
	assert_false(seen_has(s, cut));
	seen_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_has_prune),
		cmocka_unit_test(add_again_extends),
		cmocka_unit_test(id_length),
		cmocka_unit_test(bounded),
		cmocka_unit_test(dump_and_load),
		cmocka_unit_test(load_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
