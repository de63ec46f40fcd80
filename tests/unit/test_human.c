/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_human.c -- terminal widths and ages */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "human.h"

#include <string.h>

static void widths(void **state)
{
	assert_int_equal(human_width(""), 0);
	assert_int_equal(human_width("yn-01"), 5);
	assert_int_equal(human_width("永南村"), 6);             /* CJK: two columns each */
	assert_int_equal(human_width("Café"), 4);               /* two-byte, narrow */
	assert_int_equal(human_width("ＡＢ"), 4);               /* fullwidth forms */
	assert_int_equal(human_width("한"), 2);                 /* Hangul syllable */
	assert_int_equal(human_width("\xf0\xa0\x80\x80"), 2);   /* U+20000, plane 2 */
	assert_int_equal(human_width("é"), 1);
	/* A sequence cut short counts once and the next byte starts afresh. */
	assert_int_equal(human_width("\xe6\xb0" "a"), 2);
	assert_int_equal(human_width("\xe6"), 1);
}

static void ages(void **state)
{
	char b[16];

	human_ago(-5000, b, sizeof(b));
	assert_string_equal(b, "0s ago");
	human_ago(59999, b, sizeof(b));
	assert_string_equal(b, "59s ago");
	human_ago(60000, b, sizeof(b));
	assert_string_equal(b, "1m ago");
	human_ago(3599999, b, sizeof(b));
	assert_string_equal(b, "59m ago");
	human_ago(3600000, b, sizeof(b));
	assert_string_equal(b, "1h ago");
	human_ago(48LL * 3600000 - 1, b, sizeof(b));
	assert_string_equal(b, "47h ago");
	human_ago(48LL * 3600000, b, sizeof(b));
	assert_string_equal(b, "2d ago");
	human_ago(INT64_MAX, b, 4);
	assert_int_equal(strlen(b), 3);                         /* truncated, terminated */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(widths),
		cmocka_unit_test(ages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
