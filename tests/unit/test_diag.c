/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_diag.c -- diagnostics are shown with control characters and broken UTF-8 escaped */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "diag.h"

#include <string.h>

/* diag_escape(S) into a roomy buffer must give WANT. */
static void expect_escape(const char *s, const char *want)
{
	char out[256];

	assert_int_equal(diag_escape(out, sizeof(out), s), strlen(want));
	assert_string_equal(out, want);
}

static void passes_text_through(void **state)
{
	expect_escape("", "");
	expect_escape("unknown key 'voulme'", "unknown key 'voulme'");
	expect_escape("秸秆禁烧 ~ \\x1b", "秸秆禁烧 ~ \\x1b"); /* a backslash stays */
	expect_escape("\xc2\xa0\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
		      "\xc2\xa0\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
}

static void escapes_controls(void **state)
{
	expect_escape("\x1b[2J", "\\x1b[2J");
	expect_escape("a\tb\nc\rd\x7f", "a\\x09b\\x0ac\\x0dd\\x7f");
	expect_escape("\x01\x1f", "\\x01\\x1f");
	/* C1 controls as UTF-8: CSI U+009B, and U+0080, U+009F. */
	expect_escape("\xc2\x9b" "31m", "\\xc2\\x9b31m");
	expect_escape("\xc2\x80\xc2\x9f", "\\xc2\\x80\\xc2\\x9f");
}

static void escapes_broken_utf8(void **state)
{
	expect_escape("\x80", "\\x80");                       /* a lone continuation */
	expect_escape("\xe4\xb8", "\\xe4\\xb8");              /* cut short */
	expect_escape("\xe4\xb8x", "\\xe4\\xb8x");
	expect_escape("\xc0\xaf", "\\xc0\\xaf");              /* overlong '/' */
	expect_escape("\xe0\x80\xaf", "\\xe0\\x80\\xaf");     /* overlong */
	expect_escape("\xed\xa0\x80", "\\xed\\xa0\\x80");     /* a surrogate */
	expect_escape("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
	expect_escape("\xf5\xff", "\\xf5\\xff");
	expect_escape("\xe6\x9d\x91\xff\xe5\x93\x8d", "\xe6\x9d\x91\\xff\xe5\x93\x8d");
}

static void cuts_whole(void **state)
{
	char out[8];

	/* "ab\x1b" needs 6 + NUL: fits. */
	assert_int_equal(diag_escape(out, sizeof(out), "ab\x1b"), 6);
	assert_string_equal(out, "ab\\x1b");
	/* An escape that does not fit whole is left out, and all after it. */
	assert_int_equal(diag_escape(out, sizeof(out), "abcd\x1b" "e"), 9);
	assert_string_equal(out, "abcd");
	/* So is a character: 村 is 3 bytes. */
	assert_int_equal(diag_escape(out, sizeof(out), "abcde村"), 8);
	assert_string_equal(out, "abcde");
	assert_int_equal(diag_escape(out, 1, "x"), 1);
	assert_string_equal(out, "");
	assert_int_equal(diag_escape(NULL, 0, "\x1b"), 4);
}

static void records_are_escaped(void **state)
{
	struct diag *d = diag_new();

	assert_non_null(d);
	diag_error(d, "s/\x1b[2J.yaml", 3, 5, "unknown key '%s' in %s", "vo\x1b]0;x\x07", "a node");
	diag_warning(d, NULL, 0, 0, "%s", "\x9b");
	assert_int_equal(diag_errors(d), 1);
	assert_int_equal(diag_warnings(d), 1);
	assert_string_equal(diag_get(d, 0), "warning: \\x9b");
	assert_string_equal(diag_get(d, 1),
			    "s/\\x1b[2J.yaml:3:5: error: unknown key 'vo\\x1b]0;x\\x07' in a node");
	diag_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(passes_text_through),
		cmocka_unit_test(escapes_controls),
		cmocka_unit_test(escapes_broken_utf8),
		cmocka_unit_test(cuts_whole),
		cmocka_unit_test(records_are_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
