/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tts_quality.c -- how close a coded render is to the synthesiser's output
 *
 *   tts_quality encode REF.wav OUT.opus [COMPLEXITY]
 *	code REF.wav as `cunxiang tts` codes speech (encode.c, ENC_SPEECH_*),
 *	at COMPLEXITY (0..10) instead of ENC_SPEECH_COMPLEXITY if given
 *   tts_quality compare REF.wav A.opus [B.opus...]
 *	for each file, against REF.wav: segmental SNR and log-spectral
 *	distance in the band 50 Hz..7 kHz, and how much of REF's energy
 *	above 7 kHz it keeps
 *
 * Each file is decoded by opusfile (48 kHz, pre-skip and end trim applied)
 * and brought to REF's rate by resample.c, the same way for every file,
 * then aligned on REF by the lag (within +-20 ms) of greatest
 * cross-correlation. Frames: 512 samples, Hann window, hop 256. Frames
 * quieter than 40 dB below REF's loudest are left out. Per frame,
 * segmental SNR = 10 log10(sum |X|^2 / sum |X - Y|^2) over the band's bins,
 * clamped to -10..35 dB; log-spectral distance = the RMS over the band's
 * bins of 10 log10(|X|^2 / |Y|^2) in dB. Both are averaged over frames.
 * Above 7 kHz: 10 log10(sum |Y|^2 / sum |X|^2) over those frames. */
#include "encode.h"
#include "resample.h"

#include <complex.h>
#include <math.h>
#include <opusfile.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 512
#define HOP 256
#define MAXLAG_MS 20

struct pcm {
	float *s;
	size_t n, cap;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "tts_quality: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void push(struct pcm *p, const float *s, size_t n)
{
	if (p->n + n > p->cap) {
		p->cap = (p->n + n) * 2;
		p->s = realloc(p->s, p->cap * sizeof(float));
		if (!p->s)
			die("%s", "out of memory");
	}
	memcpy(p->s + p->n, s, n * sizeof(float));
	p->n += n;
}

static int push_cb(void *ud, const float *s, int n)
{
	push(ud, s, (size_t)n);
	return 0;
}

/* REF as mono float; its rate in *RATE. */
static struct pcm read_wav(const char *path, int *rate)
{
	SF_INFO info = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	struct pcm p = { 0 };
	float buf[4096];
	sf_count_t n;

	if (!sf || info.channels != 1)
		die("%s: not a mono audio file", path);
	while ((n = sf_read_float(sf, buf, 4096)) > 0)
		push(&p, buf, (size_t)n);
	sf_close(sf);
	*rate = info.samplerate;
	return p;
}

/* PATH decoded and brought to RATE. */
static struct pcm read_opus(const char *path, int rate)
{
	OggOpusFile *of = op_open_file(path, NULL);
	struct pcm p = { 0 };
	struct rs *rs;
	float buf[5760 * 2];
	int n;

	if (!of)
		die("%s: not Ogg Opus", path);
	rs = rs_new(48000, rate);
	if (!rs)
		die("%s", "cannot make a resampler");
	while ((n = op_read_float(of, buf, 5760 * 2, NULL)) != 0) {
		if (n == OP_HOLE)
			continue;
		if (n < 0)
			die("%s: corrupt", path);
		if (op_head(of, -1)->channel_count != 1)
			die("%s: not mono", path);
		rs_write(rs, buf, n, push_cb, &p);
	}
	rs_finish(rs, push_cb, &p);
	rs_free(rs);
	op_free(of);
	return p;
}

static void fft(float complex *x, int n)
{
	for (int i = 1, j = 0; i < n; i++) {
		int bit = n >> 1;

		for (; j & bit; bit >>= 1)
			j ^= bit;
		j ^= bit;
		if (i < j) {
			float complex t = x[i];

			x[i] = x[j];
			x[j] = t;
		}
	}
	for (int len = 2; len <= n; len <<= 1) {
		float complex w = cexpf(-2.0f * (float)M_PI * I / (float)len);

		for (int i = 0; i < n; i += len) {
			float complex u = 1;

			for (int k = 0; k < len / 2; k++, u *= w) {
				float complex a = x[i + k], b = x[i + k + len / 2] * u;

				x[i + k] = a + b;
				x[i + k + len / 2] = a - b;
			}
		}
	}
}

static float sample(const struct pcm *p, long i)
{
	return i >= 0 && (size_t)i < p->n ? p->s[i] : 0;
}

/* The lag of Y against X, within +-MAXLAG, from 10 s in the middle. */
static long best_lag(const struct pcm *x, const struct pcm *y, int rate)
{
	long maxlag = rate * MAXLAG_MS / 1000, len = 10L * rate, from = (long)x->n / 2 - len / 2;
	long best = 0;
	double bestc = -1e300;

	if (from < 0)
		from = 0;
	for (long lag = -maxlag; lag <= maxlag; lag++) {
		double c = 0;

		for (long i = from; i < from + len && (size_t)i < x->n; i++)
			c += (double)x->s[i] * sample(y, i + lag);
		if (c > bestc) {
			bestc = c;
			best = lag;
		}
	}
	return best;
}

static void spectrum(const struct pcm *p, long at, const float *win, float complex *out)
{
	for (int i = 0; i < N; i++)
		out[i] = sample(p, at + i) * win[i];
	fft(out, N);
}

/* Segmental SNR and LSD of Y against X over bins LO..HI; the energy of Y
 * against X's over bins HI+1..N/2-1. */
static void measure(const struct pcm *x, const struct pcm *y, long lag, int lo, int hi,
		    double *snr, double *lsd, double *above)
{
	double ex = 0, ey = 0;
	float win[N];
	float complex a[N], b[N];
	double emax = 0, ssnr = 0, slsd = 0;
	long frames = ((long)x->n - N) / HOP + 1, used = 0;
	double *energy = calloc((size_t)(frames > 0 ? frames : 1), sizeof(double));

	if (!energy)
		die("%s", "out of memory");
	for (int i = 0; i < N; i++)
		win[i] = 0.5f - 0.5f * cosf(2.0f * (float)M_PI * (float)i / N);
	for (long f = 0; f < frames; f++) {
		spectrum(x, f * HOP, win, a);
		for (int k = lo; k <= hi; k++)
			energy[f] += crealf(a[k] * conjf(a[k]));
		if (energy[f] > emax)
			emax = energy[f];
	}
	for (long f = 0; f < frames; f++) {
		double noise = 0, d2 = 0, s;

		if (energy[f] < emax * 1e-4)
			continue;
		spectrum(x, f * HOP, win, a);
		spectrum(y, f * HOP + lag, win, b);
		for (int k = lo; k <= hi; k++) {
			double px = crealf(a[k] * conjf(a[k])) + 1e-10;
			double py = crealf(b[k] * conjf(b[k])) + 1e-10;
			double d = 10 * log10(px / py);
			float complex e = a[k] - b[k];

			noise += crealf(e * conjf(e));
			d2 += d * d;
		}
		for (int k = hi + 1; k < N / 2; k++) {
			ex += crealf(a[k] * conjf(a[k]));
			ey += crealf(b[k] * conjf(b[k]));
		}
		s = 10 * log10(energy[f] / (noise > 1e-20 ? noise : 1e-20));
		ssnr += s < -10 ? -10 : s > 35 ? 35 : s;
		slsd += sqrt(d2 / (hi - lo + 1));
		used++;
	}
	free(energy);
	*snr = used ? ssnr / used : 0;
	*lsd = used ? slsd / used : 0;
	*above = 10 * log10((ey + 1e-20) / (ex + 1e-20));
}

static int encode(const char *ref, const char *out, int complexity)
{
	int rate;
	struct pcm x = read_wav(ref, &rate);
	struct enc *e = enc_new(rate, ENC_SPEECH_RATE, ENC_DEFAULT_BITRATE, complexity, 1);
	unsigned char *buf;
	size_t len;
	FILE *f;

	if (!e || enc_write_float(e, x.s, (int)x.n) < 0 || enc_finish(e, &buf, &len, NULL) < 0)
		die("%s: cannot encode", ref);
	f = fopen(out, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die("%s: cannot write", out);
	free(buf);
	free(x.s);
	return 0;
}

int main(int argc, char **argv)
{
	struct pcm x;
	int rate, lo, hi;

	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "encode")) {
		char *end = NULL;
		long c = argc == 5 ? strtol(argv[4], &end, 10) : ENC_SPEECH_COMPLEXITY;

		if (argc == 5 && (end == argv[4] || *end || c < 0 || c > 10))
			die("complexity %s: not 0..10", argv[4]);
		return encode(argv[2], argv[3], (int)c);
	}
	if (argc < 4 || strcmp(argv[1], "compare"))
		die("%s", "usage: tts_quality encode REF.wav OUT.opus [COMPLEXITY] | compare REF.wav X.opus...");
	x = read_wav(argv[2], &rate);
	lo = (int)lround(50.0 * N / rate);
	hi = (int)(7000.0 * N / rate);
	printf("%-24s %5s %9s %8s %14s\n", "against the synthesiser", "lag", "segSNR", "LSD",
	       "above 7 kHz");
	for (int i = 3; i < argc; i++) {
		struct pcm y = read_opus(argv[i], rate);
		long lag = best_lag(&x, &y, rate);
		double snr, lsd, above;
		const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];

		measure(&x, &y, lag, lo, hi, &snr, &lsd, &above);
		printf("%-24s %5ld %6.2f dB %5.2f dB %11.1f dB\n", name, lag, snr, lsd, above);
		free(y.s);
	}
	free(x.s);
	return 0;
}
