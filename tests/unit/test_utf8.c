/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_utf8.c -- strict UTF-8 decoding, checking and counting */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "utf8.h"

#include <string.h>

static void decodes(void **state)
{
	uint32_t cp = 0;

	assert_int_equal(utf8_next("a", 1, &cp), 1);
	assert_int_equal(cp, 'a');
	assert_int_equal(utf8_next("é", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(utf8_next("。", 3, &cp), 3);
	assert_int_equal(cp, 0x3002);
	assert_int_equal(utf8_next("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);
}

static void rejects(void **state)
{
	uint32_t cp = 7;

	assert_int_equal(utf8_next("", 0, &cp), 0);
	assert_int_equal(utf8_next("\xc0\xaf", 2, &cp), 0);         /* overlong '/' */
	assert_int_equal(utf8_next("\xe0\x80\xaf", 3, &cp), 0);     /* overlong, 3 bytes */
	assert_int_equal(utf8_next("\xed\xa0\x80", 3, &cp), 0);     /* surrogate */
	assert_int_equal(utf8_next("\xf4\x90\x80\x80", 4, &cp), 0); /* past U+10FFFF */
	assert_int_equal(utf8_next("\xe3\x80", 2, &cp), 0);         /* cut short */
	assert_int_equal(utf8_next("\xe3\x80\x82", 2, &cp), 0);     /* N ends it early */
	assert_int_equal(utf8_next("\x80", 1, &cp), 0);             /* lone continuation */
	assert_int_equal(utf8_next("\xf8\x88\x80\x80\x80", 5, &cp), 0);
	assert_int_equal(cp, 7);                                    /* left alone */
}

static void checks_and_counts(void **state)
{
	const char *ok = "六安 ok";
	const char *bad = "ab\xe6\xb0" "c";

	assert_int_equal(utf8_invalid_at(ok, strlen(ok)), -1);
	assert_int_equal(utf8_invalid_at("", 0), -1);
	assert_int_equal(utf8_invalid_at(bad, strlen(bad)), 2);
	assert_int_equal(utf8_count(ok, strlen(ok)), 5);
	assert_int_equal(utf8_count(ok, 3), 1);
	assert_int_equal(utf8_count("", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes),
		cmocka_unit_test(rejects),
		cmocka_unit_test(checks_and_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
