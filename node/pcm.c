/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pcm.c -- the ALSA output of the player: open, fill, delay, recovery */
#include "pcm.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cxtime.h"
#include "log.h"

#define BACKOFF_MIN_US  500000
#define BACKOFF_MAX_US  10000000

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static void alsa_error_handler(const char *file, int line, const char *function,
			       int err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void alsa_error_handler(const char *file, int line, const char *function,
			       int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("alsa-lib %s:%d (%s): %s%s%s", file, line, function, msg,
		  err ? ": " : "", err ? snd_strerror(err) : "");
}

static void alsa_quiet(void)
{
	snd_lib_error_set_handler(alsa_error_handler);
}

static pthread_once_t alsa_once = PTHREAD_ONCE_INIT;

void pcm_init(struct pcm *pc, const char *device, const char *mixer, int buffer_ms)
{
	pthread_once(&alsa_once, alsa_quiet);
	memset(pc, 0, sizeof(*pc));
	pc->device = device;
	pc->mixer = mixer;
	pcm_want(pc, buffer_ms, 4);
}

bool pcm_want(struct pcm *pc, int buffer_ms, int periods)
{
	pc->buffer_ms = buffer_ms < 20 ? 20 : buffer_ms > 2000 ? 2000 : buffer_ms;
	pc->periods = periods < 2 ? 2 : periods > 16 ? 16 : periods;
	return pc->h && (pc->open_buffer_ms != pc->buffer_ms || pc->open_periods != pc->periods);
}

/* Full volume, unmuted, on the PCM's card. Absent: a warning, once. */
static void mixer_setup(struct pcm *pc)
{
	snd_pcm_info_t *info;
	snd_mixer_selem_id_t *sid;
	snd_mixer_t *m = NULL;
	snd_mixer_elem_t *el;
	char ctl[32];
	int card, err;

	snd_pcm_info_alloca(&info);
	snd_mixer_selem_id_alloca(&sid);
	if (snd_pcm_info(pc->h, info) < 0 || (card = snd_pcm_info_get_card(info)) < 0) {
		if (!pc->mixer_warned)
			log_warn("player: mixer '%s': PCM '%s' is not on a sound card; mixer left alone",
				 pc->mixer, pc->device);
		pc->mixer_warned = true;
		return;
	}
	snprintf(ctl, sizeof(ctl), "hw:%d", card);
	if (snd_mixer_selem_id_parse(sid, pc->mixer) < 0) {
		snd_mixer_selem_id_set_name(sid, pc->mixer);
		snd_mixer_selem_id_set_index(sid, 0);
	}
	if ((err = snd_mixer_open(&m, 0)) < 0 || (err = snd_mixer_attach(m, ctl)) < 0 ||
	    (err = snd_mixer_selem_register(m, NULL, NULL)) < 0 || (err = snd_mixer_load(m)) < 0) {
		if (!pc->mixer_warned)
			log_warn("player: mixer %s: %s; mixer left alone", ctl, snd_strerror(err));
		pc->mixer_warned = true;
		goto out;
	}
	el = snd_mixer_find_selem(m, sid);
	if (!el) {
		if (!pc->mixer_warned)
			log_warn("player: no mixer element '%s' on %s; mixer left alone", pc->mixer, ctl);
		pc->mixer_warned = true;
		goto out;
	}
	if (snd_mixer_selem_has_playback_volume(el)) {
		long lo, hi;

		if (snd_mixer_selem_get_playback_volume_range(el, &lo, &hi) == 0)
			snd_mixer_selem_set_playback_volume_all(el, hi);
	}
	if (snd_mixer_selem_has_playback_switch(el))
		snd_mixer_selem_set_playback_switch_all(el, 1);
out:
	if (m)
		snd_mixer_close(m);
}

static int hw_setup(struct pcm *pc, unsigned channels)
{
	snd_pcm_hw_params_t *hw;
	snd_pcm_sw_params_t *sw;
	unsigned rate = PCM_RATE, btime = (unsigned)pc->buffer_ms * 1000;
	unsigned ptime = btime / (unsigned)pc->periods;
	int err, dir = 0;

	snd_pcm_hw_params_alloca(&hw);
	snd_pcm_sw_params_alloca(&sw);
	if ((err = snd_pcm_hw_params_any(pc->h, hw)) < 0 ||
	    (err = snd_pcm_hw_params_set_rate_resample(pc->h, hw, 1)) < 0 ||
	    (err = snd_pcm_hw_params_set_access(pc->h, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
	    (err = snd_pcm_hw_params_set_format(pc->h, hw, SND_PCM_FORMAT_S16_LE)) < 0 ||
	    (err = snd_pcm_hw_params_set_channels(pc->h, hw, channels)) < 0 ||
	    (err = snd_pcm_hw_params_set_rate_near(pc->h, hw, &rate, &dir)) < 0)
		return err;
	if (rate != PCM_RATE)
		return -EINVAL;
	if ((err = snd_pcm_hw_params_set_buffer_time_near(pc->h, hw, &btime, &dir)) < 0 ||
	    (err = snd_pcm_hw_params_set_period_time_near(pc->h, hw, &ptime, &dir)) < 0 ||
	    (err = snd_pcm_hw_params(pc->h, hw)) < 0)
		return err;
	snd_pcm_hw_params_get_buffer_size(hw, &pc->buffer_size);
	snd_pcm_hw_params_get_period_size(hw, &pc->period_size, &dir);
	if (pc->period_size == 0 || pc->period_size > pc->buffer_size)
		pc->period_size = pc->buffer_size / 2;
	/* Start once the buffer is full: it is filled with silence at once,
	 * and the pulse plugin is steadier started on a full buffer than on
	 * a single frame. */
	if ((err = snd_pcm_sw_params_current(pc->h, sw)) < 0 ||
	    (err = snd_pcm_sw_params_set_start_threshold(pc->h, sw, pc->buffer_size)) < 0 ||
	    (err = snd_pcm_sw_params_set_avail_min(pc->h, sw, pc->period_size)) < 0 ||
	    (err = snd_pcm_sw_params(pc->h, sw)) < 0)
		return err;
	pc->channels = channels;
	pc->open_buffer_ms = pc->buffer_ms;
	pc->open_periods = pc->periods;
	return 0;
}

static void stream_reset(struct pcm *pc)
{
	pc->anchor_us = 0;
	pc->anchor_frames = 0;
	pc->paced = false;
	pc->taken = false;
}

/* Count an underrun and say in the log what it means: the first few, then
 * one in a hundred. */
static void underrun(struct pcm *pc, const char *what)
{
	pc->xruns++;
	if (pc->xruns <= 5 || pc->xruns % 100 == 0)
		log_warn("player: underrun on '%s' (xrun %llu%s): the device played all it "
			 "had before more came, so a gap was heard; the player ran late (a busy "
			 "CPU) or the device or its sound server stalled", pc->device,
			 (unsigned long long)pc->xruns, what);
}

static int pcm_open(struct pcm *pc)
{
	int err;

	err = snd_pcm_open(&pc->h, pc->device, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
	if (err < 0) {
		pc->h = NULL;
		return err;
	}
	/* Mono first; a device that refuses it gets both channels the same. */
	err = hw_setup(pc, 1);
	if (err < 0) {
		snd_pcm_close(pc->h);
		err = snd_pcm_open(&pc->h, pc->device, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
		if (err < 0) {
			pc->h = NULL;
			return err;
		}
		err = hw_setup(pc, 2);
		if (err < 0) {
			snd_pcm_close(pc->h);
			pc->h = NULL;
			return err;
		}
	}
	stream_reset(pc);
	if (pc->mixer)
		mixer_setup(pc);
	log_debug("player: opened '%s': %u ch, buffer %lu, period %lu frames", pc->device,
		  pc->channels, (unsigned long)pc->buffer_size, (unsigned long)pc->period_size);
	return 0;
}

void pcm_close(struct pcm *pc)
{
	if (!pc->h)
		return;
	snd_pcm_drop(pc->h);
	snd_pcm_close(pc->h);
	pc->h = NULL;
	stream_reset(pc);
}

int pcm_try_open(struct pcm *pc)
{
	int64_t mono = cx_mono_us();
	int err;

	if (pc->h)
		return 0;
	if (pc->fault && mono < pc->retry_at)
		return -EAGAIN;
	err = pcm_open(pc);
	if (err < 0) {
		if (!pc->fault || err != pc->last_open_err)
			log_warn("player: cannot open PCM '%s': %s (retrying)", pc->device,
				 snd_strerror(err));
		snprintf(pc->fault_reason, sizeof(pc->fault_reason), "%s: %s", pc->device,
			 snd_strerror(err));
		pc->backoff_us = pc->fault ? min64(pc->backoff_us * 2, BACKOFF_MAX_US) : BACKOFF_MIN_US;
		pc->retry_at = mono + pc->backoff_us;
		pc->fault = true;
		pc->last_open_err = err;
		return err;
	}
	if (pc->fault)
		log_info("player: PCM '%s' available again", pc->device);
	pc->fault = false;
	pc->backoff_us = 0;
	return 0;
}

int pcm_stop(struct pcm *pc)
{
	int err;

	if (!pc->h)
		return 0;
	snd_pcm_drop(pc->h);
	err = snd_pcm_prepare(pc->h);
	stream_reset(pc);
	return err;
}

int64_t pcm_queued(struct pcm *pc, snd_pcm_sframes_t d, int64_t now, bool *modelled)
{
	int64_t m;

	*modelled = d <= 0;
	if (d > 0) {
		pc->anchor_us = now;
		pc->anchor_frames = d;
		return d;
	}
	if (!pc->anchor_us)
		return 0;
	m = pc->anchor_frames - (now - pc->anchor_us) * PCM_RATE / 1000000;
	return m > 0 ? m : 0;
}

static void model_wrote(struct pcm *pc, int64_t frames, int64_t now)
{
	if (!pc->anchor_us) {
		pc->anchor_us = now;
		pc->anchor_frames = 0;
	}
	pc->anchor_frames += frames;
}

int64_t pcm_current_queue(struct pcm *pc)
{
	snd_pcm_sframes_t d = 0;
	bool modelled;

	if (!pc->h || snd_pcm_delay(pc->h, &d) < 0)
		d = 0;
	return pcm_queued(pc, d, cx_mono_us(), &modelled);
}

int pcm_recover(struct pcm *pc, int err)
{
	if (err == -EAGAIN)
		return 0;
	if (err == -EPIPE) {
		underrun(pc, "");
		err = snd_pcm_prepare(pc->h);
	} else if (err == -ESTRPIPE) {
		pc->xruns++;
		log_info("player: '%s' suspended; resuming", pc->device);
		for (int k = 0; k < 20 && (err = snd_pcm_resume(pc->h)) == -EAGAIN; k++)
			usleep(5000);
		if (err < 0)
			err = snd_pcm_prepare(pc->h);
	}
	stream_reset(pc);
	if (err >= 0)
		return 0;
	/* -ENODEV, -EBADFD, -EIO...: the device went away. */
	snprintf(pc->fault_reason, sizeof(pc->fault_reason), "%s: %s", pc->device, snd_strerror(err));
	log_warn("player: PCM '%s' lost: %s", pc->device, snd_strerror(err));
	pcm_close(pc);
	pc->fault = true;
	pc->last_open_err = err;
	pc->backoff_us = BACKOFF_MIN_US;
	pc->retry_at = cx_mono_us() + pc->backoff_us;
	return err;
}

int pcm_put(struct pcm *pc, const int16_t *mono, int n, int64_t now)
{
	const int16_t *buf;
	snd_pcm_sframes_t w;

	if (pc->channels == 1 && mono) {
		buf = mono;
	} else {
		if (!mono)
			memset(pc->out, 0, (size_t)n * pc->channels * sizeof(int16_t));
		else
			for (int k = 0; k < n; k++)
				pc->out[2 * k] = pc->out[2 * k + 1] = mono[k];
		buf = pc->out;
	}
	w = snd_pcm_writei(pc->h, buf, (snd_pcm_uframes_t)n);
	if (w < 0)
		return (int)w;
	model_wrote(pc, w, now);
	return (int)w;
}


int pcm_query(struct pcm *pc, snd_pcm_sframes_t *avail, snd_pcm_sframes_t *delay, int64_t *now)
{
	int64_t t0 = cx_mono_us();
	int err = snd_pcm_avail_delay(pc->h, avail, delay);

	*now = (t0 + cx_mono_us()) / 2;
	if (err < 0 && err != -EPIPE && err != -ESTRPIPE) {
		/* The pulse plugin fails the delay query with -EIO until
		 * the server has sent timing info (alsa-plugins compares
		 * pa_stream_get_latency()'s -PA_ERR_NODATA with the wrong
		 * sign). If avail works the device is there: go on with
		 * the delay extrapolated from the last one known. */
		snd_pcm_sframes_t a = snd_pcm_avail(pc->h);

		if (a >= 0) {
			*avail = a;
			*delay = 0;
			err = 0;
		} else {
			err = (int)a;
		}
	}
	if (err < 0)
		return err;
	/* A sound server reads a new stream only from its sink's next cycle
	 * on: up to a second or two later for a PulseAudio null sink whose
	 * monitor is recorded with a long latency. Until then the pulse
	 * plugin's delay, interpolated from the start, runs down to 0 over a
	 * ring that stays full, and after such a stall it can stay at 0 for
	 * the whole stream. Nothing was played, so that is no underrun: the
	 * delay counts only once the device has taken some of the stream. */
	if (*avail > 0 && snd_pcm_state(pc->h) == SND_PCM_STATE_RUNNING)
		pc->taken = true;
	if (*delay > 0) {
		pc->paced = pc->paced || pc->taken;
	} else if (pc->paced && *avail < (snd_pcm_sframes_t)pc->period_size) {
		/* An underrun the plugin does not report (it clears its
		 * flag on the next write): the device has played
		 * everything (delay 0) while its ring says it is full.
		 * A new stream recovers. */
		underrun(pc, ", seen by its delay; stream restarted");
		return pcm_stop(pc) < 0 ? -EIO : 1;
	}
	return 0;
}
