/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_resample.c -- rate conversion: length, no delay, pass band, stop band, chunking */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "resample.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct out {
	float *s;
	size_t n, cap;
};

static int collect(void *ud, const float *pcm, int n)
{
	struct out *o = ud;

	if (o->n + (size_t)n > o->cap) {
		o->cap = (o->n + (size_t)n) * 2;
		o->s = realloc(o->s, o->cap * sizeof(float));
		assert_non_null(o->s);
	}
	memcpy(o->s + o->n, pcm, sizeof(float) * (size_t)n);
	o->n += (size_t)n;
	return 0;
}

/* N samples of a sine of F Hz at RATE, amplitude 0.5. */
static float *sine(double f, int rate, size_t n)
{
	float *s = malloc(sizeof(float) * n);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = (float)(0.5 * sin(2 * M_PI * f * (double)i / rate));
	return s;
}

/* IN through a converter IN_RATE -> OUT_RATE, fed CHUNK samples at a time
 * (varying when CHUNK is 0). */
static struct out convert(const float *in, size_t n, int in_rate, int out_rate, int chunk)
{
	struct rs *r = rs_new(in_rate, out_rate);
	struct out o = { 0 };
	size_t at = 0;

	assert_non_null(r);
	for (int k = 1; at < n; k++) {
		size_t m = chunk ? (size_t)chunk : (size_t)(k * 37 % 1000 + 1);

		if (m > n - at)
			m = n - at;
		assert_int_equal(rs_write(r, in + at, (int)m, collect, &o), 0);
		at += m;
	}
	assert_int_equal(rs_finish(r, collect, &o), 0);
	rs_free(r);
	return o;
}

/* The error of OUT against the same sine at OUT_RATE, as a ratio in dB to
 * the sine's power, away from both ends. */
static double error_db(const struct out *o, double f, int out_rate)
{
	double e = 0, p = 0;

	for (size_t i = 2000; i + 2000 < o->n; i++) {
		double want = 0.5 * sin(2 * M_PI * f * (double)i / out_rate);

		e += (o->s[i] - want) * (o->s[i] - want);
		p += want * want;
	}
	return 10 * log10(e / p);
}

static double power_db(const struct out *o)
{
	double p = 0;
	size_t k = 0;

	for (size_t i = 2000; i + 2000 < o->n; i++, k++)
		p += (double)o->s[i] * o->s[i];
	return 10 * log10(p / (double)k / 0.125); /* against a 0.5 sine's power */
}

/* espeak-ng's 22,050 Hz to the speech coder's 16 kHz, and the other rates
 * a recording comes at to 48 kHz: the output has exactly the input's
 * length at the new rate, and a tone in the pass band comes through at its
 * time (no delay) within -60 dB. */
static void passband(void **state)
{
	static const int rates[][2] = { { 22050, 16000 }, { 44100, 48000 }, { 8000, 48000 },
					{ 96000, 48000 }, { 48000, 16000 }, { 48000, 48000 },
					{ 11025, 16000 } };

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		int in = rates[i][0], out = rates[i][1];
		size_t n = (size_t)in * 2 + 17;
		float *s = sine(1000, in, n);
		struct out o = convert(s, n, in, out, 0);
		size_t want = (size_t)(((int64_t)n * out + in / 2) / in);

		assert_int_equal(o.n, want);
		if (error_db(&o, 1000, out) > -60)
			fail_msg("%d -> %d Hz: error %.1f dB", in, out, error_db(&o, 1000, out));
		free(o.s);
		free(s);
	}
}

/* Tones just above the lower rate's Nyquist frequency do not fold back
 * into the output (at least 80 dB down), and one at 6.8 kHz comes through
 * within 0.1 dB. */
static void stopband(void **state)
{
	static const double above[] = { 8200, 9000, 10000 };
	size_t n = 22050 * 2;
	float *s;
	struct out o;

	for (size_t i = 0; i < sizeof(above) / sizeof(above[0]); i++) {
		s = sine(above[i], 22050, n);
		o = convert(s, n, 22050, 16000, 4096);
		if (power_db(&o) > -80)
			fail_msg("%.0f Hz at 16 kHz: %.1f dB", above[i], power_db(&o));
		free(o.s);
		free(s);
	}
	s = sine(6800, 22050, n);
	o = convert(s, n, 22050, 16000, 4096);
	if (fabs(power_db(&o)) > 0.1)
		fail_msg("6800 Hz at 16 kHz: %.2f dB", power_db(&o));
	free(o.s);
	free(s);
}

/* The output does not depend on how the input is cut: one call, one
 * sample at a time, uneven pieces. A rate pair whose phases do not all get
 * a row (44,056 Hz is 5,507:6,000 against 48 kHz) is interpolated and
 * still exact in length and close in value. */
static void chunking(void **state)
{
	size_t n = 30011;
	float *s = sine(440, 22050, n);
	struct out a = convert(s, n, 22050, 16000, (int)n);
	struct out b = convert(s, n, 22050, 16000, 1);
	struct out c = convert(s, n, 22050, 16000, 0);

	assert_int_equal(a.n, b.n);
	assert_int_equal(a.n, c.n);
	assert_memory_equal(a.s, b.s, a.n * sizeof(float));
	assert_memory_equal(a.s, c.s, a.n * sizeof(float));
	free(a.s);
	free(b.s);
	free(c.s);
	free(s);

	n = 44056 * 2;
	s = sine(1000, 44056, n);
	a = convert(s, n, 44056, 48000, 0);
	assert_int_equal(a.n, (size_t)(((int64_t)n * 48000 + 22028) / 44056));
	if (error_db(&a, 1000, 48000) > -60)
		fail_msg("44056 -> 48000 Hz: error %.1f dB", error_db(&a, 1000, 48000));
	free(a.s);
	free(s);
}

/* A short input still gives its length; none gives none. */
static void edges(void **state)
{
	struct rs *r;
	struct out o = { 0 };
	float one = 1;

	errno = 0;
	assert_null(rs_new(7999, 16000));
	assert_int_equal(errno, EINVAL);
	assert_null(rs_new(22050, 192001));
	rs_free(NULL);

	r = rs_new(22050, 16000);
	assert_non_null(r);
	assert_int_equal(rs_finish(r, collect, &o), 0);
	assert_int_equal(o.n, 0);
	rs_free(r);

	r = rs_new(8000, 48000);
	assert_int_equal(rs_write(r, &one, 1, collect, &o), 0);
	assert_int_equal(rs_write(r, &one, 0, collect, &o), 0);
	assert_int_equal(rs_finish(r, collect, &o), 0);
	assert_int_equal(o.n, 6);
	for (int i = 1; i < 6; i++) /* the sample itself, at its time */
		assert_true(fabsf(o.s[0]) > fabsf(o.s[i]));
	rs_free(r);
	free(o.s);
}

static int stop_at_first(void *ud, const float *pcm, int n)
{
	return 42;
}

/* An emitter's failure stops the conversion and is passed on. */
static void emit_error(void **state)
{
	struct rs *r = rs_new(22050, 16000);
	float *s = sine(440, 22050, 22050);

	assert_int_equal(rs_write(r, s, 22050, stop_at_first, NULL), 42);
	rs_free(r);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(passband),
		cmocka_unit_test(stopband),
		cmocka_unit_test(chunking),
		cmocka_unit_test(edges),
		cmocka_unit_test(emit_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
