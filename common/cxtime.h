/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cxtime.h -- wall and monotonic clocks, civil time in the township's zone */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds / microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t cx_now_ms(void);
int64_t cx_now_us(void);
/* Microseconds of CLOCK_MONOTONIC. */
int64_t cx_mono_us(void);

/* Whether NAME is an IANA zone name (e.g. "Asia/Shanghai") that the zone
 * database on this machine knows. Selects nothing.
 * \retval 0 / -ENOENT unknown zone / -EINVAL malformed name */
int cx_tz_check(const char *name);

/* Select the zone NAME for the cx_tz_* calls below. This sets TZ for the
 * whole process, so only a command's main path calls it, once, before any
 * thread starts; no library module does.
 * \retval 0 / -ENOENT unknown zone / -EINVAL malformed name / -ENOMEM */
int cx_tz_set(const char *name);

/* The zone cx_tz_set() selected, or NULL when none was. */
const char *cx_tz_selected(void);

/* Civil date and time in the selected zone to a UTC instant in ms.
 * A time that the zone skips (spring-forward gap) is moved forward by the
 * gap, as a wall clock would show it; a time that occurs twice (fall-back)
 * is its first occurrence. \retval 0 / -EINVAL out of range */
int cx_tz_civil_to_ms(int year, int month, int day, int hour, int min, int64_t *ms);

/* UTC instant in ms to civil fields in the selected zone. */
void cx_tz_ms_to_civil(int64_t ms, struct tm *tm);

/* Proleptic Gregorian helpers. */
bool cx_date_valid(int year, int month, int day);
/* Day number since 1970-01-01 and back; weekday 0 = Monday. */
int64_t cx_days_from_civil(int year, int month, int day);
void cx_civil_from_days(int64_t days, int *year, int *month, int *day);
int cx_weekday(int64_t days);

/* Parse "YYYY-MM-DD" strictly. \retval 0 / -EINVAL */
int cx_parse_date(const char *s, int *year, int *month, int *day);
/* Parse "HH:MM" strictly (two digits each, 00..23, 00..59). \retval 0 / -EINVAL */
int cx_parse_hhmm(const char *s, int *hour, int *min);
/* Parse a duration "90s", "10m", "2h" into ms. \retval 0 / -EINVAL */
int cx_parse_duration(const char *s, int64_t *ms);
