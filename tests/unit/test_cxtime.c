/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_cxtime.c -- civil time to UTC instants, parsing of dates and times */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cxtime.h"

#include <errno.h>

static void shanghai(void **state)
{
	int64_t ms;

	assert_int_equal(cx_tz_set("Asia/Shanghai"), 0);
	/* 2026-12-01 07:30 +08:00 = 2026-11-30T23:30:00Z */
	assert_int_equal(cx_tz_civil_to_ms(2026, 12, 1, 7, 30, &ms), 0);
	assert_int_equal(ms, 1796081400000LL);
	struct tm tm;
	cx_tz_ms_to_civil(ms, &tm);
	assert_int_equal(tm.tm_hour, 7);
	assert_int_equal(tm.tm_mday, 1);
}

static void daylight_saving(void **state)
{
	int64_t ms;

	assert_int_equal(cx_tz_set("America/New_York"), 0);
	/* Summer: EDT, -4h. 2026-07-01 12:00 = 16:00Z */
	assert_int_equal(cx_tz_civil_to_ms(2026, 7, 1, 12, 0, &ms), 0);
	assert_int_equal(ms, (cx_days_from_civil(2026, 7, 1) * 86400 + 16 * 3600) * 1000);
	/* Winter: EST, -5h. */
	assert_int_equal(cx_tz_civil_to_ms(2026, 12, 1, 12, 0, &ms), 0);
	assert_int_equal(ms, (cx_days_from_civil(2026, 12, 1) * 86400 + 17 * 3600) * 1000);
	/* Gap: 2026-03-08 02:30 does not exist; it becomes 03:30 EDT = 07:30Z. */
	assert_int_equal(cx_tz_civil_to_ms(2026, 3, 8, 2, 30, &ms), 0);
	assert_int_equal(ms, (cx_days_from_civil(2026, 3, 8) * 86400 + 7 * 3600 + 1800) * 1000);
	/* Overlap: 2026-11-01 01:30 happens twice; the first (EDT) = 05:30Z. */
	assert_int_equal(cx_tz_civil_to_ms(2026, 11, 1, 1, 30, &ms), 0);
	assert_int_equal(ms, (cx_days_from_civil(2026, 11, 1) * 86400 + 5 * 3600 + 1800) * 1000);
	assert_int_equal(cx_tz_set("Asia/Shanghai"), 0);
}

static void bad_zone(void **state)
{
	assert_int_equal(cx_tz_check("Europe/Berlin"), 0);
	assert_string_equal(cx_tz_selected(), "Asia/Shanghai"); /* checking selects nothing */
	assert_int_equal(cx_tz_check("Asia/Shangai"), -ENOENT);
	assert_int_equal(cx_tz_set("Asia/Shangai"), -ENOENT);
	assert_string_equal(cx_tz_selected(), "Asia/Shanghai");
	assert_int_equal(cx_tz_set("../etc/passwd"), -EINVAL);
	assert_int_equal(cx_tz_set(""), -EINVAL);
}

static void parsing(void **state)
{
	int a, b, c;
	int64_t ms;

	assert_int_equal(cx_parse_hhmm("07:30", &a, &b), 0);
	assert_int_equal(a, 7);
	assert_int_equal(b, 30);
	assert_int_equal(cx_parse_hhmm("25:00", &a, &b), -EINVAL);
	assert_int_equal(cx_parse_hhmm("7:3", &a, &b), -EINVAL);
	assert_int_equal(cx_parse_hhmm("07:60", &a, &b), -EINVAL);
	assert_int_equal(cx_parse_date("2026-12-01", &a, &b, &c), 0);
	assert_int_equal(cx_parse_date("2026-02-29", &a, &b, &c), -EINVAL);
	assert_int_equal(cx_parse_date("2028-02-29", &a, &b, &c), 0);
	assert_int_equal(cx_parse_date("2026-13-01", &a, &b, &c), -EINVAL);
	assert_int_equal(cx_parse_date("2026-1-01", &a, &b, &c), -EINVAL);
	assert_int_equal(cx_parse_duration("90s", &ms), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(cx_parse_duration("10m", &ms), 0);
	assert_int_equal(ms, 600000);
	assert_int_equal(cx_parse_duration("2h", &ms), 0);
	assert_int_equal(ms, 7200000);
	assert_int_equal(cx_parse_duration("10", &ms), -EINVAL);
	assert_int_equal(cx_parse_duration("m", &ms), -EINVAL);
	assert_int_equal(cx_parse_duration("1.5h", &ms), -EINVAL);
}

static void calendar(void **state)
{
	int y, m, d;

	assert_int_equal(cx_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(cx_weekday(cx_days_from_civil(2026, 12, 1)), 1); /* Tuesday */
	cx_civil_from_days(cx_days_from_civil(2028, 2, 29), &y, &m, &d);
	assert_int_equal(y, 2028);
	assert_int_equal(m, 2);
	assert_int_equal(d, 29);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shanghai),
		cmocka_unit_test(daylight_saving),
		cmocka_unit_test(bad_zone),
		cmocka_unit_test(parsing),
		cmocka_unit_test(calendar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
