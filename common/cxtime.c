/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cxtime.c -- wall and monotonic clocks, civil time in the township's zone */
#include "cxtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t cx_now_ms(void) { return clock_us(CLOCK_REALTIME) / 1000; }
int64_t cx_now_us(void) { return clock_us(CLOCK_REALTIME); }
int64_t cx_mono_us(void) { return clock_us(CLOCK_MONOTONIC); }

int cx_tz_check(const char *name)
{
	char path[512];

	if (!name || !*name || name[0] == '/' || strstr(name, "..") || strlen(name) > 200)
		return -EINVAL;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("/_-+", *p)))
			return -EINVAL;
	/* glibc silently falls back to UTC for an unknown zone; check the
	 * zone database ourselves so a typo is an error, not a shifted day. */
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	if (access(path, R_OK) != 0)
		return -ENOENT;
	return 0;
}

/* The name cx_tz_set() selected; cx_tz_check() bounds it to 200 bytes. */
static char tz_selected[208];

int cx_tz_set(const char *name)
{
	int r = cx_tz_check(name);

	if (r < 0)
		return r;
	if (setenv("TZ", name, 1) < 0)
		return -errno;
	tzset();
	snprintf(tz_selected, sizeof(tz_selected), "%s", name);
	return 0;
}

const char *cx_tz_selected(void)
{
	return tz_selected[0] ? tz_selected : NULL;
}

int64_t cx_days_from_civil(int y, int m, int d)
{
	/* Howard Hinnant's days_from_civil. */
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153u * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

void cx_civil_from_days(int64_t z, int *year, int *month, int *day)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	const unsigned d = doy - (153 * mp + 2) / 5 + 1;
	const unsigned m = mp < 10 ? mp + 3 : mp - 9;

	*year = (int)((int64_t)yoe + era * 400 + (m <= 2));
	*month = (int)m;
	*day = (int)d;
}

int cx_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday (3 with Monday = 0). */
	int64_t w = (days + 3) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

bool cx_date_valid(int y, int m, int d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

static int64_t utc_offset_at(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	localtime_r(&tt, &tm);
	return tm.tm_gmtoff;
}

static bool civil_matches(int64_t t, int y, int mo, int d, int h, int mi)
{
	struct tm tm;
	time_t tt = (time_t)t;

	localtime_r(&tt, &tm);
	return tm.tm_year + 1900 == y && tm.tm_mon + 1 == mo && tm.tm_mday == d &&
	       tm.tm_hour == h && tm.tm_min == mi;
}

int cx_tz_civil_to_ms(int y, int mo, int d, int h, int mi, int64_t *ms)
{
	int64_t as_utc, off_before, off_after, a, b;

	if (!cx_date_valid(y, mo, d) || h < 0 || h > 23 || mi < 0 || mi > 59)
		return -EINVAL;
	as_utc = cx_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
	/* Zone offsets never change twice within two days, so the offsets a
	 * day either side are the only candidates. */
	off_before = utc_offset_at(as_utc - 86400);
	off_after = utc_offset_at(as_utc + 86400);
	a = as_utc - off_before;
	b = as_utc - off_after;
	if (a > b) {
		int64_t t = a;

		a = b;
		b = t;
	}
	if (civil_matches(a, y, mo, d, h, mi))
		*ms = a * 1000;
	else if (civil_matches(b, y, mo, d, h, mi))
		*ms = b * 1000;
	else
		*ms = (as_utc - off_before) * 1000; /* in the gap: shift forward */
	return 0;
}

void cx_tz_ms_to_civil(int64_t ms, struct tm *tm)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);

	localtime_r(&t, tm);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int cx_parse_date(const char *s, int *y, int *m, int *d)
{
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -EINVAL;
	if (digits(s, 4, y) || digits(s + 5, 2, m) || digits(s + 8, 2, d))
		return -EINVAL;
	return cx_date_valid(*y, *m, *d) ? 0 : -EINVAL;
}

int cx_parse_hhmm(const char *s, int *h, int *mi)
{
	if (!s || strlen(s) != 5 || s[2] != ':')
		return -EINVAL;
	if (digits(s, 2, h) || digits(s + 3, 2, mi))
		return -EINVAL;
	return (*h <= 23 && *mi <= 59) ? 0 : -EINVAL;
}

int cx_parse_duration(const char *s, int64_t *ms)
{
	int64_t v = 0, unit;
	size_t n;

	if (!s || (n = strlen(s)) < 2 || n > 12)
		return -EINVAL;
	switch (s[n - 1]) {
	case 's': unit = 1000; break;
	case 'm': unit = 60000; break;
	case 'h': unit = 3600000; break;
	default: return -EINVAL;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*ms = v * unit;
	return 0;
}
