/* SPDX-License-Identifier: GPL-2.0-or-later */
/* capture.c -- live audio in: an ALSA capture device or a file read in real time, as 20 ms frames */
#include "capture.h"

#include "cxtime.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FILE_CHUNK 4096            /* frames read from a file at once */

struct capture_ops {
	int (*start)(struct capture *c, char *err, size_t errlen);
	/* As capture_read(). */
	int (*read)(struct capture *c, int16_t *pcm, int64_t *first_us, char *err, size_t errlen);
	/* Close and free. */
	void (*destroy)(struct capture *c);
};

struct capture {
	const struct capture_ops *ops;
};

/* ---- ALSA ---- */

struct alsa_capture {
	struct capture base;
	snd_pcm_t *pcm;
	char *dev;
	unsigned channels;
	int16_t cap[LIVE_FRAME_SAMPLES * 2];
};

/* ALSA's own messages to stderr; the command says what failed itself. */
static void alsa_quiet(const char *file, int line, const char *fn, int err, const char *fmt, ...)
{
	(void)file;
	(void)line;
	(void)fn;
	(void)err;
	(void)fmt;
}

/* 48 kHz S16 with CHANNELS, 20 ms periods. \retval 0 / -errno */
static int alsa_params(snd_pcm_t *pcm, snd_pcm_hw_params_t *hw, unsigned channels)
{
	snd_pcm_uframes_t period = LIVE_FRAME_SAMPLES, buffer = LIVE_FRAME_SAMPLES * 8;
	unsigned rate = LIVE_RATE;
	int r, dir = 0;

	if ((r = snd_pcm_hw_params_any(pcm, hw)) < 0 ||
	    (r = snd_pcm_hw_params_set_rate_resample(pcm, hw, 1)) < 0 ||
	    (r = snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
	    (r = snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE)) < 0 ||
	    (r = snd_pcm_hw_params_set_channels(pcm, hw, channels)) < 0 ||
	    (r = snd_pcm_hw_params_set_rate_near(pcm, hw, &rate, &dir)) < 0)
		return r;
	if (rate != LIVE_RATE)
		return -EINVAL;
	if ((r = snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, &dir)) < 0 ||
	    (r = snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer)) < 0 ||
	    (r = snd_pcm_hw_params(pcm, hw)) < 0)
		return r;
	return 0;
}

static int alsa_open(struct alsa_capture *a, char *err, size_t errlen)
{
	snd_pcm_hw_params_t *hw;
	int r;

	snd_lib_error_set_handler(alsa_quiet);
	r = snd_pcm_open(&a->pcm, a->dev, SND_PCM_STREAM_CAPTURE, 0);
	if (r < 0) {
		a->pcm = NULL;
		snprintf(err, errlen, "cannot open capture device '%s': %s", a->dev, snd_strerror(r));
		return r;
	}
	snd_pcm_hw_params_alloca(&hw);
	for (a->channels = 1; a->channels <= 2; a->channels++)
		if ((r = alsa_params(a->pcm, hw, a->channels)) == 0)
			break;
	if (a->channels > 2) {
		snprintf(err, errlen, "capture device '%s' cannot record 48 kHz S16 mono or stereo: %s",
			 a->dev, snd_strerror(r));
		return r < 0 ? r : -EINVAL;
	}
	if ((r = snd_pcm_prepare(a->pcm)) < 0) {
		snprintf(err, errlen, "cannot prepare capture on '%s': %s", a->dev, snd_strerror(r));
		return r;
	}
	return 0;
}

static int alsa_start(struct capture *c, char *err, size_t errlen)
{
	struct alsa_capture *a = (struct alsa_capture *)c;
	int r;

	snd_pcm_drop(a->pcm);
	if ((r = snd_pcm_prepare(a->pcm)) >= 0)
		r = snd_pcm_start(a->pcm);
	if (r < 0)
		snprintf(err, errlen, "cannot start capture on '%s': %s", a->dev, snd_strerror(r));
	return r;
}

/* After an overrun or a suspend (R). \retval -EPIPE recovered / -errno */
static int alsa_recover(struct alsa_capture *a, snd_pcm_sframes_t r)
{
	int e = r == -ESTRPIPE ? snd_pcm_resume(a->pcm) : -1;

	if (e < 0)
		e = snd_pcm_prepare(a->pcm);
	if (e < 0)
		return e;
	snd_pcm_start(a->pcm);
	return -EPIPE;
}

static int alsa_read(struct capture *c, int16_t *pcm, int64_t *first_us, char *err, size_t errlen)
{
	struct alsa_capture *a = (struct alsa_capture *)c;
	snd_pcm_sframes_t delay = 0;
	int got = 0;
	int64_t now;

	while (got < LIVE_FRAME_SAMPLES) {
		snd_pcm_sframes_t r = snd_pcm_readi(a->pcm, a->cap + got * (int)a->channels,
						    (snd_pcm_uframes_t)(LIVE_FRAME_SAMPLES - got));

		if (r == -EINTR)
			return 0;
		if (r == -EAGAIN)
			continue;
		if (r == -EPIPE || r == -ESTRPIPE)
			r = alsa_recover(a, r);
		if (r < 0) {
			if (r != -EPIPE)
				snprintf(err, errlen, "capture failed: %s", snd_strerror((int)r));
			return (int)r;
		}
		got += (int)r;
	}
	now = cx_now_us();
	if (snd_pcm_delay(a->pcm, &delay) < 0 || delay < 0)
		delay = 0;
	*first_us = now - ((int64_t)delay + LIVE_FRAME_SAMPLES) * 1000000 / LIVE_RATE;
	for (int k = 0; k < LIVE_FRAME_SAMPLES; k++)
		pcm[k] = a->channels == 1 ? a->cap[k]
			: (int16_t)(((int32_t)a->cap[2 * k] + a->cap[2 * k + 1]) / 2);
	return LIVE_FRAME_SAMPLES;
}

static void alsa_destroy(struct capture *c)
{
	struct alsa_capture *a = (struct alsa_capture *)c;

	if (a->pcm)
		snd_pcm_close(a->pcm);
	free(a->dev);
	free(a);
}

static const struct capture_ops alsa_ops = {
	.start = alsa_start,
	.read = alsa_read,
	.destroy = alsa_destroy,
};

/* ---- a file, in real time ---- */

struct file_capture {
	struct capture base;
	char *path;
	SNDFILE *sf;
	int fch, frate;
	int16_t *raw;                /* FILE_CHUNK × fch */
	int16_t *mono;               /* buffered input samples, mono */
	size_t nmono, capmono;
	int64_t mono_base;           /* input index of mono[0] */
	int64_t out_idx;             /* output samples produced */
	bool eof;
	/* the clock: frame K stands for t0_us + K × 20 ms, and is handed out
	 * at mono0_us + (K + 1) × 20 ms */
	int64_t frames, t0_us, mono0_us;
};

static int file_open(struct file_capture *f, char *err, size_t errlen)
{
	SF_INFO info;

	memset(&info, 0, sizeof(info));
	f->sf = sf_open(f->path, SFM_READ, &info);
	if (!f->sf) {
		snprintf(err, errlen, "cannot read %s: %s", f->path, sf_strerror(NULL));
		return -EINVAL;
	}
	if (info.channels < 1 || info.channels > 64 || info.samplerate < 8000 ||
	    info.samplerate > 192000) {
		snprintf(err, errlen, "%s: unsupported audio (%d channels at %d Hz)", f->path,
			 info.channels, info.samplerate);
		return -EINVAL;
	}
	f->fch = info.channels;
	f->frate = info.samplerate;
	f->raw = malloc((size_t)FILE_CHUNK * (size_t)f->fch * sizeof(*f->raw));
	f->capmono = FILE_CHUNK + 2;
	f->mono = malloc(f->capmono * sizeof(*f->mono));
	if (!f->raw || !f->mono) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Keep mono samples from input index KEEP on, append a chunk read from the
 * file (mixed down). \retval 0 / -EIO / -ENOMEM */
static int file_refill(struct file_capture *f, int64_t keep)
{
	sf_count_t n;
	size_t drop = 0;

	if (keep > f->mono_base)
		drop = (size_t)(keep - f->mono_base) < f->nmono ? (size_t)(keep - f->mono_base)
			: f->nmono;
	memmove(f->mono, f->mono + drop, (f->nmono - drop) * sizeof(*f->mono));
	f->nmono -= drop;
	f->mono_base += (int64_t)drop;
	if (f->nmono + FILE_CHUNK > f->capmono) {
		int16_t *m = realloc(f->mono, (f->nmono + FILE_CHUNK) * sizeof(*m));

		if (!m)
			return -ENOMEM;
		f->mono = m;
		f->capmono = f->nmono + FILE_CHUNK;
	}
	n = sf_readf_short(f->sf, f->raw, FILE_CHUNK);
	if (n <= 0) {
		f->eof = true;
		return sf_error(f->sf) ? -EIO : 0;
	}
	for (sf_count_t k = 0; k < n; k++) {
		int32_t sum = 0;

		for (int c = 0; c < f->fch; c++)
			sum += f->raw[k * f->fch + c];
		f->mono[f->nmono++] = (int16_t)(sum / f->fch);
	}
	return 0;
}

/* Up to 960 samples at 48 kHz (linear interpolation from other rates:
 * enough for speech). \retval samples (fewer only at the end) / -errno */
static int file_frame(struct file_capture *f, int16_t *pcm)
{
	int k;

	for (k = 0; k < LIVE_FRAME_SAMPLES; k++) {
		int64_t num = f->out_idx * f->frate;
		int64_t i = num / LIVE_RATE;
		int64_t frac = num % LIVE_RATE;
		int32_t a, b;
		int r;

		while (i + 1 >= f->mono_base + (int64_t)f->nmono && !f->eof)
			if ((r = file_refill(f, i)) < 0)
				return r;
		if (i >= f->mono_base + (int64_t)f->nmono)
			break;
		a = f->mono[i - f->mono_base];
		b = i + 1 < f->mono_base + (int64_t)f->nmono ? f->mono[i + 1 - f->mono_base] : a;
		pcm[k] = (int16_t)(a + (b - a) * frac / LIVE_RATE);
		f->out_idx++;
	}
	return k;
}

static int file_start(struct capture *c, char *err, size_t errlen)
{
	(void)c;
	(void)err;
	(void)errlen;
	return 0;
}

static int file_read(struct capture *c, int16_t *pcm, int64_t *first_us, char *err, size_t errlen)
{
	struct file_capture *f = (struct file_capture *)c;
	struct timespec ts;
	int64_t due;
	int n;

	if (f->frames == 0) {
		f->t0_us = cx_now_us();
		f->mono0_us = cx_mono_us();
	}
	*first_us = f->t0_us + f->frames * LIVE_FRAME_US;
	n = file_frame(f, pcm);
	if (n < 0)
		snprintf(err, errlen, "cannot read %s: %s", f->path, strerror(-n));
	/* A frame exists once its last sample has been "spoken"; a signal
	 * (the operator's Ctrl-C) ends the wait. */
	f->frames++;
	due = f->mono0_us + f->frames * LIVE_FRAME_US;
	ts.tv_sec = due / 1000000;
	ts.tv_nsec = (due % 1000000) * 1000;
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	return n;
}

static void file_destroy(struct capture *c)
{
	struct file_capture *f = (struct file_capture *)c;

	if (f->sf)
		sf_close(f->sf);
	free(f->raw);
	free(f->mono);
	free(f->path);
	free(f);
}

static const struct capture_ops file_ops = {
	.start = file_start,
	.read = file_read,
	.destroy = file_destroy,
};

/* ---- the interface ---- */

static struct capture *alsa_new(const char *dev)
{
	struct alsa_capture *a = calloc(1, sizeof(*a));

	if (!a || !(a->dev = strdup(dev))) {
		free(a);
		return NULL;
	}
	a->base.ops = &alsa_ops;
	return &a->base;
}

static struct capture *file_new(const char *path)
{
	struct file_capture *f = calloc(1, sizeof(*f));

	if (!f || !(f->path = strdup(path))) {
		free(f);
		return NULL;
	}
	f->base.ops = &file_ops;
	return &f->base;
}

int capture_open(const char *src, struct capture **out, char *err, size_t errlen)
{
	bool alsa = !strncmp(src, "alsa:", 5);
	struct capture *c = alsa ? alsa_new(src + 5) : file_new(src);
	int r;

	*out = NULL;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = alsa ? alsa_open((struct alsa_capture *)c, err, errlen)
		 : file_open((struct file_capture *)c, err, errlen);
	if (r < 0) {
		c->ops->destroy(c);
		return r;
	}
	*out = c;
	return 0;
}

int capture_start(struct capture *c, char *err, size_t errlen)
{
	return c->ops->start(c, err, errlen);
}

int capture_read(struct capture *c, int16_t pcm[LIVE_FRAME_SAMPLES], int64_t *first_us,
		 char *err, size_t errlen)
{
	return c->ops->read(c, pcm, first_us, err, errlen);
}

void capture_close(struct capture *c)
{
	if (c)
		c->ops->destroy(c);
}
