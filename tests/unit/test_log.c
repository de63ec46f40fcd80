/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_log.c -- log lines on stderr: prefixes, levels, the journal's form */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char captured[8192];
static int saved_fd = -1;
static FILE *cap;

/* Send stderr to a temporary file until end_capture(). */
static void begin_capture(void)
{
	fflush(stderr);
	cap = tmpfile();
	assert_non_null(cap);
	saved_fd = dup(STDERR_FILENO);
	assert_true(saved_fd >= 0);
	assert_true(dup2(fileno(cap), STDERR_FILENO) >= 0);
}

/* Restore stderr; what was written is in CAPTURED. */
static const char *end_capture(void)
{
	size_t n;

	fflush(stderr);
	assert_true(dup2(saved_fd, STDERR_FILENO) >= 0);
	close(saved_fd);
	rewind(cap);
	n = fread(captured, 1, sizeof(captured) - 1, cap);
	captured[n] = '\0';
	fclose(cap);
	return captured;
}

/* Before cx_log_init, lines carry the default name and the default level
 * is info. Runs first. */
static void defaults(void **state)
{
	begin_capture();
	log_info("started %d poles", 3);
	log_debug("not shown");
	assert_string_equal(end_capture(), "cunxiang: info: started 3 poles\n");
}

static void prefixes_and_names(void **state)
{
	unsetenv("JOURNAL_STREAM");
	unsetenv("CUNXIANG_LOG");
	cx_log_init("cunxiang-node");
	cx_log_set_level(CX_LOG_DEBUG);
	begin_capture();
	log_err("cannot open %s: %s", "hw:0", "Device or resource busy");
	log_warn("w");
	log_info("i");
	log_debug("d");
	assert_string_equal(end_capture(),
			    "cunxiang-node: error: cannot open hw:0: Device or resource busy\n"
			    "cunxiang-node: warning: w\n"
			    "cunxiang-node: info: i\n"
			    "cunxiang-node: debug: d\n");
}

static void levels(void **state)
{
	unsetenv("JOURNAL_STREAM");
	unsetenv("CUNXIANG_LOG");
	cx_log_init("t");
	cx_log_set_level(CX_LOG_INFO);
	begin_capture();
	log_debug("dropped");
	log_info("kept");
	assert_string_equal(end_capture(), "t: info: kept\n");

	cx_log_set_level(CX_LOG_WARN);
	begin_capture();
	log_info("dropped");
	log_warn("kept");
	log_err("kept too");
	assert_string_equal(end_capture(), "t: warning: kept\nt: error: kept too\n");

	cx_log_set_level(CX_LOG_ERR);
	begin_capture();
	log_warn("dropped");
	log_err("only this");
	assert_string_equal(end_capture(), "t: error: only this\n");
}

static void journal_form(void **state)
{
	setenv("JOURNAL_STREAM", "8:12345", 1);
	unsetenv("CUNXIANG_LOG");
	cx_log_init("cunxiang");
	cx_log_set_level(CX_LOG_DEBUG);
	begin_capture();
	log_err("e");
	log_warn("w");
	log_info("i");
	log_debug("d");
	assert_string_equal(end_capture(), "<3>e\n<4>w\n<6>i\n<7>d\n");
	unsetenv("JOURNAL_STREAM");
	cx_log_init("back");
	begin_capture();
	log_info("x");
	assert_string_equal(end_capture(), "back: info: x\n");
}

static void env_debug(void **state)
{
	unsetenv("JOURNAL_STREAM");
	cx_log_set_level(CX_LOG_INFO);
	setenv("CUNXIANG_LOG", "debug", 1);
	cx_log_init("t");
	begin_capture();
	log_debug("now shown");
	assert_string_equal(end_capture(), "t: debug: now shown\n");

	/* Anything else leaves the level alone. */
	cx_log_set_level(CX_LOG_INFO);
	setenv("CUNXIANG_LOG", "info", 1);
	cx_log_init("t");
	begin_capture();
	log_debug("dropped");
	assert_string_equal(end_capture(), "");
	unsetenv("CUNXIANG_LOG");
}

static void long_line_cut(void **state)
{
	char *big = malloc(5000), want[2200];

	assert_non_null(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	unsetenv("JOURNAL_STREAM");
	cx_log_init("t");
	cx_log_set_level(CX_LOG_INFO);
	begin_capture();
	log_info("%s", big);
	end_capture();
	/* The message is cut to 2047 bytes; the line still ends. */
	snprintf(want, sizeof(want), "t: info: %.2047s\n", big);
	assert_string_equal(captured, want);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(prefixes_and_names),
		cmocka_unit_test(levels),
		cmocka_unit_test(journal_form),
		cmocka_unit_test(env_debug),
		cmocka_unit_test(long_line_cut),
	};

	/* The first test needs the state before any cx_log_init. */
	unsetenv("JOURNAL_STREAM");
	unsetenv("CUNXIANG_LOG");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
