/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_ydoc.c -- loading YAML documents: nesting and alias limits, and keys echoed escaped */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ydoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Far above what a rejected file takes (milliseconds), far below what
 * parsing it whole took (tens of seconds for 200 KB), so it cannot flake. */
#define FAST_S 2.0

static char dir[64], path[128];
static struct diag *d;
static struct ydoc *y;

static int setup(void **state)
{
	strcpy(dir, "/tmp/cx-test-ydoc.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f.yaml", dir);
	d = diag_new();
	assert_non_null(d);
	y = NULL;
	return 0;
}

static int teardown(void **state)
{
	ydoc_free(y);
	diag_free(d);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void put(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Load the file as "f.yaml"; returns the seconds it took. */
static double load(void)
{
	double t0 = now_s();

	y = ydoc_load(path, "f.yaml", d, NULL);
	return now_s() - t0;
}

/* The only diagnostic is exactly WANT. */
static void expect_one(const char *want)
{
	for (size_t i = 0; diag_get(d, i); i++)
		if (i > 0 || strcmp(diag_get(d, i), want))
			fail_msg("want only '%s', got '%s'", want, diag_get(d, i));
	if (!diag_get(d, 0))
		fail_msg("want '%s', got nothing", want);
}

static void expect_none(void)
{
	if (diag_get(d, 0))
		fail_msg("unexpected diagnostic: %s", diag_get(d, 0));
}

/* LEN bytes of C, ending in a newline. */
static char *repeat(char c, size_t len)
{
	char *s = malloc(len);

	assert_non_null(s);
	memset(s, c, len);
	s[len - 1] = '\n';
	return s;
}

/* "- - - ... x": DEPTH block sequences on one line. */
static size_t compact_seqs(char *buf, int depth)
{
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		n += (size_t)sprintf(buf + n, "- ");
	n += (size_t)sprintf(buf + n, "x\n");
	return n;
}

/* "a:\n  a:\n    a: x": DEPTH block mappings, one per line. */
static size_t indented_maps(char *buf, int depth)
{
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		n += (size_t)sprintf(buf + n, "%*sa:%s", 2 * i, "", i == depth - 1 ? " x\n" : "\n");
	return n;
}

/* ---- nesting ---------------------------------------------------------------- */

static void deep_flow(void **state)
{
	char *s = repeat('[', 200 * 1024);
	double t;

	put(s, 200 * 1024);
	free(s);
	t = load();
	fprintf(stderr, "200 KB of '[': %.1f ms\n", t * 1e3);
	assert_null(y);
	/* The 65th '[' opens the collection one level too deep. */
	expect_one("f.yaml:1:65: error: nested deeper than 64 levels");
	assert_true(t < FAST_S);
}

static void deep_flow_largest_file(void **state)
{
	char *s = repeat('{', YDOC_MAX_BYTES);
	double t;

	put(s, YDOC_MAX_BYTES);
	free(s);
	t = load();
	fprintf(stderr, "%u MiB of '{': %.1f ms\n", YDOC_MAX_BYTES >> 20, t * 1e3);
	assert_null(y);
	expect_one("f.yaml:1:65: error: nested deeper than 64 levels");
	assert_true(t < FAST_S);
}

static void deep_block(void **state)
{
	char *s = malloc(2 * 100000 + 3);   /* "- " each, "x\n" and the NUL */
	size_t n;
	double t;

	assert_non_null(s);
	n = compact_seqs(s, 100000);
	put(s, n);
	t = load();
	fprintf(stderr, "%zu bytes of '- ': %.1f ms\n", n, t * 1e3);
	assert_null(y);
	expect_one("f.yaml:1:129: error: nested deeper than 64 levels");
	assert_true(t < FAST_S);

	/* Mappings by indentation: the 65th starts at its key, line 65. */
	diag_free(d);
	d = diag_new();
	assert_non_null(d);
	free(s);
	s = malloc(100 * 210);
	assert_non_null(s);
	n = indented_maps(s, 100);
	put(s, n);
	load();
	free(s);
	assert_null(y);
	expect_one("f.yaml:65:129: error: nested deeper than 64 levels");
}

static void deep_mixed(void **state)
{
	/* Block and flow collections count alike: 62 block levels, then
	 * "[[[": the third '[' is the 65th collection. */
	char s[4096];
	size_t n = 0;

	for (int i = 0; i < 62; i++)
		n += (size_t)sprintf(s + n, "- ");
	n += (size_t)sprintf(s + n, "[[[x]]]\n");
	put(s, n);
	load();
	assert_null(y);
	expect_one("f.yaml:1:127: error: nested deeper than 64 levels");
}

static void at_the_limit(void **state)
{
	char s[64 * 210];
	yaml_node_t *n;
	size_t len;
	int depth;

	/* 64 flow sequences. */
	memset(s, '[', 64);
	memset(s + 64, ']', 64);
	s[128] = '\n';
	put(s, 129);
	load();
	expect_none();
	assert_non_null(y);
	for (n = ydoc_root(y), depth = 0; ydoc_is_seq(n); depth++)
		n = ydoc_seq_len(n) ? ydoc_seq_at(y, n, 0) : NULL;
	assert_int_equal(depth, 64);
	ydoc_free(y);
	y = NULL;

	/* 64 block sequences, 64 block mappings. */
	len = compact_seqs(s, 64);
	put(s, len);
	load();
	expect_none();
	assert_non_null(y);
	ydoc_free(y);
	y = NULL;
	len = indented_maps(s, 64);
	put(s, len);
	load();
	expect_none();
	assert_non_null(y);
	for (n = ydoc_root(y), depth = 0; ydoc_is_map(n); depth++)
		n = ydoc_get(y, n, "a");
	assert_int_equal(depth, 64);
}

/* ---- anchors and aliases ------------------------------------------------------ */

static void aliases_share_nodes(void **state)
{
	static const char text[] =
		"river: &river { tags: [river, school] }\n"
		"a: *river\n"
		"b: *river\n";
	yaml_node_t *root;

	put(text, sizeof(text) - 1);
	load();
	expect_none();
	assert_non_null(y);
	root = ydoc_root(y);
	assert_ptr_equal(ydoc_get(y, root, "a"), ydoc_get(y, root, "river"));
	assert_ptr_equal(ydoc_get(y, root, "b"), ydoc_get(y, root, "river"));
}

static void aliases_repeat_at_most_a_mebibyte(void **state)
{
	/* A scalar of 1023 bytes counts 1024; 1024 aliases of it repeat
	 * exactly 1 MiB, one more is too much. */
	size_t cap = 1100 + 1025 * 5, n;
	char *s = malloc(cap);
	double t;

	assert_non_null(s);
	n = (size_t)sprintf(s, "- &a ");
	memset(s + n, 'x', 1023);
	n += 1023;
	s[n++] = '\n';
	for (int i = 0; i < 1024; i++)
		n += (size_t)sprintf(s + n, "- *a\n");
	put(s, n);
	load();
	expect_none();
	assert_non_null(y);
	assert_int_equal(ydoc_seq_len(ydoc_root(y)), 1025);
	ydoc_free(y);
	y = NULL;

	n += (size_t)sprintf(s + n, "- *a\n");
	put(s, n);
	free(s);
	t = load();
	assert_null(y);
	expect_one("f.yaml:1026:3: error: aliases repeat more than 1 MiB of the file");
	assert_true(t < FAST_S);
}

static void anchors_at_most_256(void **state)
{
	char s[256 * 16 + 64];
	size_t n = 0;

	for (int i = 0; i < 256; i++)
		n += (size_t)sprintf(s + n, "- &a%d x\n", i);
	put(s, n);
	load();
	expect_none();
	assert_non_null(y);
	ydoc_free(y);
	y = NULL;

	n += (size_t)sprintf(s + n, "- &b [x]\n");
	put(s, n);
	load();
	assert_null(y);
	expect_one("f.yaml:257:3: error: more than 256 anchors");
}

static void alias_cycles_refused(void **state)
{
	static const char text[] = "a: &x [1, *x]\n";

	put(text, sizeof(text) - 1);
	load();
	assert_null(y);
	expect_one("f.yaml:1:11: error: alias '*x' is inside the node it refers to");
}

static void undefined_alias(void **state)
{
	static const char text[] = "a: 1\nb: *nope\n";

	put(text, sizeof(text) - 1);
	load();
	assert_null(y);
	expect_one("f.yaml:2:4: error: YAML syntax: found undefined alias");
}

/* ---- what is echoed --------------------------------------------------------- */

static const char *const allowed[] = { "volume", NULL };

static void control_characters_escaped(void **state)
{
	/* YAML refuses raw control characters in a file, but a double-quoted
	 * key spells them as escapes: ESC, DEL and the C1 CSI (U+009B). */
	static const char text[] =
		"\"vo\\e[2Jlume\": 1\n"
		"\"\\x7f\\x9b31m\": 2\n"
		"volume: 3\n";

	put(text, sizeof(text) - 1);
	load();
	assert_non_null(y);
	assert_int_equal(ydoc_map_check(y, ydoc_root(y), allowed, "a test"), 2);
	assert_string_equal(diag_get(d, 0), "f.yaml:1:1: error: unknown key 'vo\\x1b[2Jlume' in a test");
	assert_string_equal(diag_get(d, 1), "f.yaml:2:1: error: unknown key '\\x7f\\xc2\\x9b31m' in a test");
	assert_null(diag_get(d, 2));
}

static void values_escaped(void **state)
{
	static const char text[] = "n: \"1\\e]0;owned\\a\"\n";
	long v;

	put(text, sizeof(text) - 1);
	load();
	assert_non_null(y);
	assert_false(ydoc_long(y, ydoc_get(y, ydoc_root(y), "n"), 0, 9, "n", &v));
	ydoc_error(y, ydoc_get(y, ydoc_root(y), "n"), "n is '%s'",
		   ydoc_str(y, ydoc_get(y, ydoc_root(y), "n"), "n"));
	assert_string_equal(diag_get(d, 0), "f.yaml:1:4: error: n must be a whole number from 0 to 9");
	assert_string_equal(diag_get(d, 1), "f.yaml:1:4: error: n is '1\\x1b]0;owned\\x07'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(deep_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(deep_flow_largest_file, setup, teardown),
		cmocka_unit_test_setup_teardown(deep_block, setup, teardown),
		cmocka_unit_test_setup_teardown(deep_mixed, setup, teardown),
		cmocka_unit_test_setup_teardown(at_the_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(aliases_share_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(aliases_repeat_at_most_a_mebibyte, setup, teardown),
		cmocka_unit_test_setup_teardown(anchors_at_most_256, setup, teardown),
		cmocka_unit_test_setup_teardown(alias_cycles_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(undefined_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(control_characters_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(values_escaped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
