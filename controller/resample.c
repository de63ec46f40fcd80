/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resample.c -- one conversion of mono audio from one sample rate to another
 *
 * A polyphase windowed-sinc filter. The rates are reduced to IN:OUT by
 * their greatest common divisor; output sample n lies at input position
 * n * IN / OUT, whose fractional part is one of OUT phases. When OUT is
 * small (22050 -> 16000 is 441:320) every phase has its own row of taps
 * and each output is one dot product; otherwise rows at 1/PHASES steps are
 * interpolated. */
#include "resample.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ZEROS 32	  /* zero crossings of the sinc each side */
#define BETA 8.5	  /* Kaiser window: about 85 dB of stop band */
#define CUTOFF 0.92	  /* of the lower rate's Nyquist frequency */
#define EXACT_MAX 1024	  /* most phases given rows of their own */
#define PHASES 512	  /* rows otherwise, interpolated */
#define BLOCK 1024	  /* output samples per call of emit */

struct rs {
	int64_t in, out;  /* reduced rates */
	int half, taps;	  /* taps each side of the centre; 2 * half */
	int rows;	  /* phases with a row in TAB */
	int exact;	  /* rows == out: no interpolation */
	float *tab;	  /* (rows + 1) x taps */
	float *hist;	  /* input from absolute index BASE on */
	int hlen, hcap;
	int64_t base;
	int64_t n_in, n_out;
	float obuf[BLOCK];
	int ofill;
};

static int64_t gcd(int64_t a, int64_t b)
{
	while (b) {
		int64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Modified Bessel function of the first kind, order 0. */
static double bessel_i0(double x)
{
	double sum = 1, term = 1, q = x * x / 4;

	for (int k = 1; k < 50 && term > sum * 1e-12; k++) {
		term *= q / ((double)k * k);
		sum += term;
	}
	return sum;
}

/* The filter at X input samples from the centre. FC: the cut-off in cycles
 * per input sample. */
static double kernel(double x, double fc, double half)
{
	double s, w, t = x / half;

	if (fabs(t) >= 1)
		return 0;
	s = fabs(x) < 1e-12 ? 2 * fc : sin(2 * M_PI * fc * x) / (M_PI * x);
	w = bessel_i0(BETA * sqrt(1 - t * t)) / bessel_i0(BETA);
	return s * w;
}

struct rs *rs_new(int in, int out)
{
	struct rs *r;
	double fc, span;
	int64_t g;

	if (in < 8000 || in > 192000 || out < 8000 || out > 192000) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	g = gcd(in, out);
	r->in = in / g;
	r->out = out / g;
	fc = CUTOFF * 0.5 * (in < out ? 1.0 : (double)out / in);
	span = ZEROS / (2 * fc); /* input samples each side */
	r->half = (int)ceil(span);
	r->taps = 2 * r->half;
	r->exact = r->out <= EXACT_MAX;
	r->rows = r->exact ? (int)r->out : PHASES;
	r->hcap = 4 * r->taps + 4096;
	r->tab = malloc(sizeof(float) * (size_t)(r->rows + 1) * (size_t)r->taps);
	r->hist = calloc((size_t)r->hcap, sizeof(float));
	if (!r->tab || !r->hist) {
		rs_free(r);
		errno = ENOMEM;
		return NULL;
	}
	for (int p = 0; p <= r->rows; p++)
		for (int k = 0; k < r->taps; k++)
			r->tab[(size_t)p * r->taps + k] =
				(float)kernel(k - r->half + 1 - (double)p / r->rows, fc, span);
	/* Silence before the first sample. */
	r->hlen = r->half;
	r->base = -r->half;
	return r;
}

void rs_free(struct rs *r)
{
	if (!r)
		return;
	free(r->tab);
	free(r->hist);
	free(r);
}

static float dot(const float *a, const float *b, int n)
{
	float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int k = 0;

	for (; k + 4 <= n; k += 4) {
		s0 += a[k] * b[k];
		s1 += a[k + 1] * b[k + 1];
		s2 += a[k + 2] * b[k + 2];
		s3 += a[k + 3] * b[k + 3];
	}
	for (; k < n; k++)
		s0 += a[k] * b[k];
	return (s0 + s1) + (s2 + s3);
}

static int flush(struct rs *r, rs_emit_fn emit, void *ud)
{
	int n = r->ofill;

	r->ofill = 0;
	return n ? emit(ud, r->obuf, n) : 0;
}

/* Emit the outputs the history allows, at most up to output LIMIT. */
static int run(struct rs *r, int64_t limit, rs_emit_fn emit, void *ud)
{
	int64_t keep;
	int e;

	for (; r->n_out < limit; r->n_out++) {
		int64_t num = r->n_out * r->in, i0 = num / r->out, rem = num % r->out;
		const float *x = r->hist + (i0 - r->half + 1 - r->base);
		float y;

		if (i0 + r->half >= r->base + r->hlen)
			break;
		if (r->exact) {
			y = dot(r->tab + (size_t)rem * r->taps, x, r->taps);
		} else {
			double f = (double)rem * r->rows / r->out;
			int p = (int)f;
			float a = (float)(f - p);
			const float *row = r->tab + (size_t)p * r->taps;

			y = (1 - a) * dot(row, x, r->taps) + a * dot(row + r->taps, x, r->taps);
		}
		r->obuf[r->ofill++] = y;
		if (r->ofill == BLOCK && (e = flush(r, emit, ud)) != 0)
			return e;
	}
	/* Drop what no later output reaches. */
	keep = r->n_out * r->in / r->out - r->half + 1 - r->base;
	if (keep > 0) {
		if (keep > r->hlen)
			keep = r->hlen;
		memmove(r->hist, r->hist + keep, sizeof(float) * (size_t)(r->hlen - keep));
		r->hlen -= (int)keep;
		r->base += keep;
	}
	return 0;
}

/* Append N samples (silence when PCM is NULL) and run. */
static int feed(struct rs *r, const float *pcm, int n, int64_t limit, rs_emit_fn emit, void *ud)
{
	while (n > 0) {
		int room = r->hcap - r->hlen, m = n < room ? n : room, e;

		if (pcm)
			memcpy(r->hist + r->hlen, pcm, sizeof(float) * (size_t)m);
		else
			memset(r->hist + r->hlen, 0, sizeof(float) * (size_t)m);
		r->hlen += m;
		n -= m;
		if (pcm)
			pcm += m;
		e = run(r, limit, emit, ud);
		if (e)
			return e;
	}
	return 0;
}

int rs_write(struct rs *r, const float *pcm, int n, rs_emit_fn emit, void *ud)
{
	if (n <= 0)
		return 0;
	r->n_in += n;
	return feed(r, pcm, n, INT64_MAX, emit, ud);
}

int rs_finish(struct rs *r, rs_emit_fn emit, void *ud)
{
	int64_t total = (r->n_in * r->out + r->in / 2) / r->in;
	int e;

	while (r->n_out < total) {
		e = feed(r, NULL, r->half + 1, total, emit, ud);
		if (e)
			return e;
	}
	return flush(r, emit, ud);
}
