/* SPDX-License-Identifier: GPL-2.0-or-later */
/* player.c -- ALSA playout thread: sample-accurate starts, volume, recovery */
#include "player.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "asset.h"
#include "cxtime.h"
#include "log.h"

/*
 * How the thread works
 *
 * The thread owns the PCM, the amplifier line and the current item. The
 * main thread leaves requests in a slot (mutex + condition variable) and
 * collects events from a queue signalled through an eventfd.
 *
 * Playout is paced by a timer, not by blocking writes: the PCM is opened
 * non-blocking with a buffer of buffer_ms and periods of a quarter of it;
 * each round the thread reads avail and delay, tops the buffer up, and
 * sleeps on the condition variable until about one period has drained. A
 * request therefore wakes it at once, and preemption is snd_pcm_drop() plus
 * snd_pcm_prepare(): a few ms, never a drain.
 *
 * Before an item starts the buffer is kept full of silence. In every round
 * the number of silent frames still to queue is
 *     (start - now) * rate - delay
 * so the first real frame is queued exactly where, per snd_pcm_delay, it
 * leaves the device at the start instant (snapcast's alsa_player does the
 * same). The error reported is the one predicted at that moment.
 *
 * Devices that are not paced in real time (the `file`/`null` PCMs used by
 * the tests) report a delay of 0 whatever was written. For them the delay
 * is modelled as frames written minus wall-clock time elapsed, so they are
 * fed in real time and not flooded with silence; a device that reports a
 * positive delay is always taken at its word.
 */

#define RATE            ASSET_RATE
#define CHUNK           960             /* 20 ms: decode and write unit */
#define IDLE_CLOSE_MS   2000
#define OPEN_MARGIN_US  300000          /* open this long (+ warmup + buffer) ahead */
#define BACKOFF_MIN_US  500000
#define BACKOFF_MAX_US  10000000
#define GRACE_US        5000000         /* default deadline after the start */
#define AMP_SLACK_US    50000           /* warmup shortfall tolerated before delaying */
#define MAX_SLEEP_US    1000000

/* --- sources -------------------------------------------------------------
 * What an item plays: assets in sequence, or a live jitter-buffer source
 * (struct player_live) that is asked for the PCM of a given instant. */

struct source;

struct source_ops {
	const char *name;
	/* The source aligns itself to PLAY_US: never read ahead of the start
	 * (no decode-ahead), so the first read gets the right instant. */
	bool timed;
	/* On the thread, ahead of the start. \retval 0 / -errno, s->err set */
	int (*open)(struct source *s);
	/* Up to MAX mono 48 kHz frames into PCM. PLAY_US is when the first of
	 * them is expected to leave the device (a live source aligns to it).
	 * \retval frames > 0 / 0 at the end / -errno, s->err set */
	int (*read)(struct source *s, int16_t *pcm, int max, int64_t play_us);
	/* Close and free, opened or not. */
	void (*destroy)(struct source *s);
};

struct source {
	const struct source_ops *ops;
	char err[128];
};

struct seq_source {
	struct source base;
	size_t n, i;            /* i: index of the asset being decoded */
	char **paths;
	struct asset_dec *dec;
	int pending_err;        /* error met after frames were already returned */
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int seq_open_asset(struct seq_source *q)
{
	q->dec = asset_dec_open(q->paths[q->i]);
	if (!q->dec) {
		int e = errno ? errno : EIO;

		snprintf(q->base.err, sizeof(q->base.err), "cannot decode asset %s: %s",
			 base_name(q->paths[q->i]), strerror(e));
		return -e;
	}
	return 0;
}

static int seq_open(struct source *s)
{
	struct seq_source *q = (struct seq_source *)s;

	q->i = 0;
	return seq_open_asset(q);
}

static int seq_read(struct source *s, int16_t *pcm, int max, int64_t play_us)
{
	struct seq_source *q = (struct seq_source *)s;
	int got = 0;

	(void)play_us;
	if (q->pending_err)
		return q->pending_err;
	while (got < max) {
		int r;

		if (!q->dec) {
			if (q->i >= q->n)
				break;
			r = seq_open_asset(q);
			if (r < 0)
				goto fail;
		}
		r = asset_dec_read(q->dec, pcm + got, max - got);
		if (r < 0) {
			snprintf(q->base.err, sizeof(q->base.err), "decode error in asset %s: %s",
				 base_name(q->paths[q->i]), strerror(-r));
			goto fail;
		}
		if (r == 0) {
			/* Next asset right away: back to back, no gap. */
			asset_dec_close(q->dec);
			q->dec = NULL;
			q->i++;
			continue;
		}
		got += r;
		continue;
fail:
		if (got > 0) {
			q->pending_err = r;
			return got;
		}
		return r;
	}
	return got;
}

static void seq_destroy(struct source *s)
{
	struct seq_source *q = (struct seq_source *)s;

	if (!q)
		return;
	asset_dec_close(q->dec);
	for (size_t k = 0; k < q->n; k++)
		free(q->paths[k]);
	free(q->paths);
	free(q);
}

static const struct source_ops seq_ops = {
	.name = "assets",
	.open = seq_open,
	.read = seq_read,
	.destroy = seq_destroy,
};

struct live_source {
	struct source base;
	struct player_live live;
};

static int live_src_open(struct source *s)
{
	(void)s;
	return 0;
}

static int live_src_read(struct source *s, int16_t *pcm, int max, int64_t play_us)
{
	struct live_source *q = (struct live_source *)s;
	int r = q->live.read(q->live.ud, pcm, max, play_us, q->base.err, sizeof(q->base.err));

	if (r < 0 && !q->base.err[0])
		snprintf(q->base.err, sizeof(q->base.err), "live source: %s", strerror(-r));
	return r > max ? max : r;
}

static void live_src_destroy(struct source *s)
{
	struct live_source *q = (struct live_source *)s;

	if (!q)
		return;
	if (q->live.release)
		q->live.release(q->live.ud);
	free(q);
}

static const struct source_ops live_ops = {
	.name = "live",
	.timed = true,
	.open = live_src_open,
	.read = live_src_read,
	.destroy = live_src_destroy,
};

/* Takes LIVE's ud: released here on failure. */
static struct source *live_src_new(const struct player_live *live)
{
	struct live_source *q = calloc(1, sizeof(*q));

	if (!q) {
		if (live->release)
			live->release(live->ud);
		errno = ENOMEM;
		return NULL;
	}
	q->base.ops = &live_ops;
	q->live = *live;
	return &q->base;
}

static struct source *seq_new(const char *const *paths, size_t n)
{
	struct seq_source *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->base.ops = &seq_ops;
	q->paths = calloc(n, sizeof(*q->paths));
	if (!q->paths)
		goto fail;
	q->n = n;
	for (size_t k = 0; k < n; k++) {
		q->paths[k] = strdup(paths[k]);
		if (!q->paths[k])
			goto fail;
	}
	return &q->base;
fail:
	seq_destroy(&q->base);
	errno = ENOMEM;
	return NULL;
}

/* --- the player ----------------------------------------------------------- */

struct item {
	uint64_t token;
	int64_t start_us;
	int64_t deadline_us;
	int volume;
	struct source *src;
};

enum phase {
	PH_WAIT,                /* before the first real frame is queued */
	PH_PLAY,                /* queuing the source */
	PH_DRAIN,               /* source ended; silence until the tail has left */
};

struct evnode {
	struct player_ev ev;
	struct evnode *next;
};

struct player {
	char *device, *mixer, *gpiochip;
	int gpio_line, warmup_ms, buffer_ms, idle_close_ms;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* CLOCK_MONOTONIC */
	int efd;

	/* Under LOCK: the request slot, the event queue, published state. */
	bool quit;
	struct item *pending;
	bool stop_req;
	uint64_t stop_token;
	bool has_cur;
	uint64_t cur_token;
	struct evnode *ev_head, *ev_tail;
	struct player_stats stats;

	/* Thread only. */
	struct item *cur;
	enum phase phase;
	bool src_open;
	int16_t pend[CHUNK];    /* decoded, not yet queued */
	int pend_off, pend_n;
	bool src_eof;
	int64_t eff_start_us;   /* start_us, or later while the amplifier warms */
	int64_t started_us, start_error_us;
	int64_t real_written;   /* frames of the item queued */
	int64_t tail_written;   /* silence queued after its end */

	snd_pcm_t *pcm;
	unsigned channels;
	snd_pcm_uframes_t buffer_size, period_size;
	int64_t anchor_us;      /* delay model for unpaced devices; 0 = unset */
	int64_t anchor_frames;
	bool paced;             /* the device has reported a delay since the start */
	int64_t idle_since;     /* mono */
	bool fault;
	int64_t retry_at;       /* mono */
	int64_t backoff_us;
	int last_open_err;
	uint64_t xruns;
	char fault_reason[128];
	bool mixer_warned;

	int amp_fd;
	bool amp_on, amp_fault, amp_tried;
	int64_t amp_on_since;   /* wall clock */
	char amp_reason[128];

	int16_t out[CHUNK * 2];
};

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* --- events and requests ---------------------------------------------------- */

static void ev_push_locked(struct player *p, const struct player_ev *ev)
{
	struct evnode *n = malloc(sizeof(*n));
	uint64_t one = 1;

	if (!n) {
		log_err("player: out of memory, event for %llu lost",
			(unsigned long long)ev->token);
		return;
	}
	n->ev = *ev;
	n->next = NULL;
	if (p->ev_tail)
		p->ev_tail->next = n;
	else
		p->ev_head = n;
	p->ev_tail = n;
	if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_err("player: eventfd: %s", strerror(errno));
}

static void ev_push(struct player *p, const struct player_ev *ev)
{
	pthread_mutex_lock(&p->lock);
	ev_push_locked(p, ev);
	pthread_mutex_unlock(&p->lock);
}

static void item_free(struct item *it)
{
	if (!it)
		return;
	if (it->src)
		it->src->ops->destroy(it->src);
	free(it);
}

static void publish(struct player *p)
{
	pthread_mutex_lock(&p->lock);
	p->stats.xruns = p->xruns;
	p->stats.fault = p->fault;
	snprintf(p->stats.fault_reason, sizeof(p->stats.fault_reason), "%s",
		 p->fault ? p->fault_reason : "");
	p->stats.playing = p->cur && p->phase != PH_WAIT;
	p->stats.pcm_open = p->pcm != NULL;
	p->stats.amp_on = p->amp_on;
	p->stats.amp_fault = p->amp_fault;
	snprintf(p->stats.amp_reason, sizeof(p->stats.amp_reason), "%s",
		 p->amp_fault ? p->amp_reason : "");
	pthread_mutex_unlock(&p->lock);
}

/* --- amplifier: GPIO character device, uAPI v2 ------------------------------ */

static int amp_request(struct player *p)
{
	struct gpio_v2_line_request req;
	char path[128];
	int fd, e;

	if (p->gpiochip[0] == '/')
		snprintf(path, sizeof(path), "%s", p->gpiochip);
	else
		snprintf(path, sizeof(path), "/dev/%s", p->gpiochip);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(p->amp_reason, sizeof(p->amp_reason), "%.80s: %s", path, strerror(e));
		return -e;
	}
	memset(&req, 0, sizeof(req));
	req.offsets[0] = (uint32_t)p->gpio_line;
	req.num_lines = 1;
	snprintf(req.consumer, sizeof(req.consumer), "cunxiang-node");
	req.config.flags = GPIO_V2_LINE_FLAG_OUTPUT;
	req.config.num_attrs = 1;
	req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
	req.config.attrs[0].attr.values = 0;
	req.config.attrs[0].mask = 1;
	if (ioctl(fd, GPIO_V2_GET_LINE_IOCTL, &req) < 0) {
		e = errno;
		snprintf(p->amp_reason, sizeof(p->amp_reason), "%.80s line %d: %s", path,
			 p->gpio_line, strerror(e));
		close(fd);
		return -e;
	}
	close(fd);
	p->amp_fd = req.fd;
	return 0;
}

/* Drive the amplifier line. Failing is a warning (once), never fatal. */
static void amp_set(struct player *p, bool on)
{
	struct gpio_v2_line_values v;

	if (!p->gpiochip || p->amp_on == on)
		return;
	if (p->amp_fd < 0) {
		if (!on || p->amp_tried)
			return;
		p->amp_tried = true;
		if (amp_request(p) < 0) {
			if (!p->amp_fault)
				log_warn("player: amplifier %s; playing without it", p->amp_reason);
			p->amp_fault = true;
			return;
		}
		if (p->amp_fault)
			log_info("player: amplifier line available again");
		p->amp_fault = false;
	}
	memset(&v, 0, sizeof(v));
	v.bits = on ? 1 : 0;
	v.mask = 1;
	if (ioctl(p->amp_fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &v) < 0) {
		snprintf(p->amp_reason, sizeof(p->amp_reason), "set line %d: %s",
			 p->gpio_line, strerror(errno));
		if (!p->amp_fault)
			log_warn("player: amplifier %s", p->amp_reason);
		p->amp_fault = true;
		close(p->amp_fd);
		p->amp_fd = -1;
		p->amp_on = false;
		return;
	}
	p->amp_on = on;
	if (on)
		p->amp_on_since = cx_now_us();
}

/* --- PCM ---------------------------------------------------------------------- */

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

/* Full volume, unmuted, on the PCM's card. Absent: a warning, once. */
static void mixer_setup(struct player *p)
{
	snd_pcm_info_t *info;
	snd_mixer_selem_id_t *sid;
	snd_mixer_t *m = NULL;
	snd_mixer_elem_t *el;
	char ctl[32];
	int card, err;

	snd_pcm_info_alloca(&info);
	snd_mixer_selem_id_alloca(&sid);
	if (snd_pcm_info(p->pcm, info) < 0 || (card = snd_pcm_info_get_card(info)) < 0) {
		if (!p->mixer_warned)
			log_warn("player: mixer '%s': PCM '%s' is not on a sound card; mixer left alone",
				 p->mixer, p->device);
		p->mixer_warned = true;
		return;
	}
	snprintf(ctl, sizeof(ctl), "hw:%d", card);
	if (snd_mixer_selem_id_parse(sid, p->mixer) < 0) {
		snd_mixer_selem_id_set_name(sid, p->mixer);
		snd_mixer_selem_id_set_index(sid, 0);
	}
	if ((err = snd_mixer_open(&m, 0)) < 0 || (err = snd_mixer_attach(m, ctl)) < 0 ||
	    (err = snd_mixer_selem_register(m, NULL, NULL)) < 0 || (err = snd_mixer_load(m)) < 0) {
		if (!p->mixer_warned)
			log_warn("player: mixer %s: %s; mixer left alone", ctl, snd_strerror(err));
		p->mixer_warned = true;
		goto out;
	}
	el = snd_mixer_find_selem(m, sid);
	if (!el) {
		if (!p->mixer_warned)
			log_warn("player: no mixer element '%s' on %s; mixer left alone", p->mixer, ctl);
		p->mixer_warned = true;
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

static int hw_setup(struct player *p, unsigned channels)
{
	snd_pcm_hw_params_t *hw;
	snd_pcm_sw_params_t *sw;
	unsigned rate = RATE, btime = (unsigned)p->buffer_ms * 1000, ptime = btime / 4;
	int err, dir = 0;

	snd_pcm_hw_params_alloca(&hw);
	snd_pcm_sw_params_alloca(&sw);
	if ((err = snd_pcm_hw_params_any(p->pcm, hw)) < 0 ||
	    (err = snd_pcm_hw_params_set_rate_resample(p->pcm, hw, 1)) < 0 ||
	    (err = snd_pcm_hw_params_set_access(p->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
	    (err = snd_pcm_hw_params_set_format(p->pcm, hw, SND_PCM_FORMAT_S16_LE)) < 0 ||
	    (err = snd_pcm_hw_params_set_channels(p->pcm, hw, channels)) < 0 ||
	    (err = snd_pcm_hw_params_set_rate_near(p->pcm, hw, &rate, &dir)) < 0)
		return err;
	if (rate != RATE)
		return -EINVAL;
	if ((err = snd_pcm_hw_params_set_buffer_time_near(p->pcm, hw, &btime, &dir)) < 0 ||
	    (err = snd_pcm_hw_params_set_period_time_near(p->pcm, hw, &ptime, &dir)) < 0 ||
	    (err = snd_pcm_hw_params(p->pcm, hw)) < 0)
		return err;
	snd_pcm_hw_params_get_buffer_size(hw, &p->buffer_size);
	snd_pcm_hw_params_get_period_size(hw, &p->period_size, &dir);
	if (p->period_size == 0 || p->period_size > p->buffer_size)
		p->period_size = p->buffer_size / 2;
	/* Start once the buffer is full: it is filled with silence at once,
	 * and the pulse plugin is steadier started on a full buffer than on
	 * a single frame. */
	if ((err = snd_pcm_sw_params_current(p->pcm, sw)) < 0 ||
	    (err = snd_pcm_sw_params_set_start_threshold(p->pcm, sw, p->buffer_size)) < 0 ||
	    (err = snd_pcm_sw_params_set_avail_min(p->pcm, sw, p->period_size)) < 0 ||
	    (err = snd_pcm_sw_params(p->pcm, sw)) < 0)
		return err;
	p->channels = channels;
	return 0;
}

static void stream_reset(struct player *p)
{
	p->anchor_us = 0;
	p->anchor_frames = 0;
	p->paced = false;
}

static int pcm_open(struct player *p)
{
	int err;

	err = snd_pcm_open(&p->pcm, p->device, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
	if (err < 0) {
		p->pcm = NULL;
		return err;
	}
	/* Mono first; a device that refuses it gets both channels the same. */
	err = hw_setup(p, 1);
	if (err < 0) {
		snd_pcm_close(p->pcm);
		err = snd_pcm_open(&p->pcm, p->device, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
		if (err < 0) {
			p->pcm = NULL;
			return err;
		}
		err = hw_setup(p, 2);
		if (err < 0) {
			snd_pcm_close(p->pcm);
			p->pcm = NULL;
			return err;
		}
	}
	stream_reset(p);
	if (p->mixer)
		mixer_setup(p);
	log_debug("player: opened '%s': %u ch, buffer %lu, period %lu frames", p->device,
		  p->channels, (unsigned long)p->buffer_size, (unsigned long)p->period_size);
	return 0;
}

static void pcm_close(struct player *p)
{
	if (!p->pcm)
		return;
	snd_pcm_drop(p->pcm);
	snd_pcm_close(p->pcm);
	p->pcm = NULL;
	stream_reset(p);
}

/* Try to open now; on failure mark the fault and schedule the next try. */
static int pcm_try_open(struct player *p)
{
	int64_t mono = cx_mono_us();
	int err;

	if (p->pcm)
		return 0;
	if (p->fault && mono < p->retry_at)
		return -EAGAIN;
	err = pcm_open(p);
	if (err < 0) {
		if (!p->fault || err != p->last_open_err)
			log_warn("player: cannot open PCM '%s': %s (retrying)", p->device,
				 snd_strerror(err));
		snprintf(p->fault_reason, sizeof(p->fault_reason), "%s: %s", p->device,
			 snd_strerror(err));
		p->backoff_us = p->fault ? min64(p->backoff_us * 2, BACKOFF_MAX_US) : BACKOFF_MIN_US;
		p->retry_at = mono + p->backoff_us;
		p->fault = true;
		p->last_open_err = err;
		return err;
	}
	if (p->fault)
		log_info("player: PCM '%s' available again", p->device);
	p->fault = false;
	p->backoff_us = 0;
	return 0;
}

/* Stop the stream now (queued frames discarded) and make it ready again. */
static int pcm_stop(struct player *p)
{
	int err;

	if (!p->pcm)
		return 0;
	snd_pcm_drop(p->pcm);
	err = snd_pcm_prepare(p->pcm);
	stream_reset(p);
	return err;
}

/* Frames queued ahead of the next write. D is what the device says;
 * *MODELLED tells whether the model had to stand in for it. */
static int64_t queued(struct player *p, snd_pcm_sframes_t d, int64_t now, bool *modelled)
{
	int64_t m;

	*modelled = d <= 0;
	if (d > 0) {
		p->anchor_us = now;
		p->anchor_frames = d;
		return d;
	}
	if (!p->anchor_us)
		return 0;
	m = p->anchor_frames - (now - p->anchor_us) * RATE / 1000000;
	return m > 0 ? m : 0;
}

static void model_wrote(struct player *p, int64_t frames, int64_t now)
{
	if (!p->anchor_us) {
		p->anchor_us = now;
		p->anchor_frames = 0;
	}
	p->anchor_frames += frames;
}

/* --- items -------------------------------------------------------------------- */

static int64_t played_frames(struct player *p, int64_t q)
{
	/* The queue holds, oldest first: leading silence, the item, trailing
	 * silence. What of the item is not in it has been played. */
	int64_t in_q = q - p->tail_written;

	if (in_q < 0)
		in_q = 0;
	if (in_q > p->real_written)
		in_q = p->real_written;
	return p->real_written - in_q;
}

static int64_t current_queue(struct player *p)
{
	snd_pcm_sframes_t d = 0;
	bool modelled;

	if (!p->pcm || snd_pcm_delay(p->pcm, &d) < 0)
		d = 0;
	return queued(p, d, cx_now_us(), &modelled);
}

/* End the current item with TYPE. The stream is stopped first, so the
 * event is sent when the device is already quiet (and a file PCM flushed). */
static void item_end(struct player *p, enum player_ev_type type, const char *reason)
{
	struct player_ev ev;
	struct item *it = p->cur;
	int64_t played;

	if (!it)
		return;
	played = type == PLAYER_EV_DONE ? p->real_written : played_frames(p, current_queue(p));
	if (p->pcm && pcm_stop(p) < 0) {
		log_warn("player: cannot prepare PCM '%s' after stop; reopening", p->device);
		pcm_close(p);
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.token = it->token;
	if (p->phase != PH_WAIT) {
		ev.started_us = p->started_us;
		ev.start_error_us = p->start_error_us;
	}
	ev.played_ms = played * 1000 / RATE;
	if (reason)
		snprintf(ev.reason, sizeof(ev.reason), "%s", reason);
	if (type == PLAYER_EV_FAILED)
		log_warn("player: item %llu failed: %s", (unsigned long long)it->token,
			 ev.reason);
	p->cur = NULL;
	p->idle_since = cx_mono_us();
	/* Whoever sees the event sees the item's sources released. */
	item_free(it);
	pthread_mutex_lock(&p->lock);
	/* A replacement may already be registered (take_requests). */
	if (p->cur_token == ev.token)
		p->has_cur = false;
	/* Whoever sees the event sees the player idle. */
	p->stats.playing = false;
	ev_push_locked(p, &ev);
	pthread_mutex_unlock(&p->lock);
}

static void item_begin(struct player *p, struct item *it)
{
	p->cur = it;
	p->phase = PH_WAIT;
	p->src_open = false;
	p->src_eof = false;
	p->pend_off = p->pend_n = 0;
	p->real_written = p->tail_written = 0;
	p->started_us = p->start_error_us = 0;
	p->eff_start_us = it->start_us;
	p->amp_tried = false;
	pthread_mutex_lock(&p->lock);
	p->has_cur = true;
	p->cur_token = it->token;
	pthread_mutex_unlock(&p->lock);
	/* A new item retries a missing device at once. */
	if (p->fault)
		p->retry_at = cx_mono_us();
	if (!it->deadline_us)
		it->deadline_us = max64(it->start_us, cx_now_us()) + GRACE_US;
}

static int64_t lead_us(const struct player *p)
{
	return (p->gpiochip ? (int64_t)p->warmup_ms * 1000 : 0) +
	       (int64_t)p->buffer_ms * 1000 + OPEN_MARGIN_US;
}

/* Apply the volume: a square-law taper, (v/100)^2 in Q15, rounded to
 * nearest. 100 is left alone, so the decoded samples pass bit-exactly. */
static void apply_gain(int16_t *s, int n, int volume)
{
	int32_t g;

	if (volume >= 100)
		return;
	g = (int32_t)((volume * volume * 32768 + 5000) / 10000);
	for (int k = 0; k < n; k++)
		s[k] = (int16_t)(((int32_t)s[k] * g + 16384) >> 15);
}

/* Device error while streaming: recover what can be recovered.
 * \retval 0 retry the round / <0 the device is gone (PCM closed) */
static int pcm_recover(struct player *p, int err)
{
	if (err == -EAGAIN)
		return 0;
	if (err == -EPIPE) {
		p->xruns++;
		log_debug("player: underrun on '%s'", p->device);
		err = snd_pcm_prepare(p->pcm);
	} else if (err == -ESTRPIPE) {
		p->xruns++;
		log_info("player: '%s' suspended; resuming", p->device);
		for (int k = 0; k < 20 && (err = snd_pcm_resume(p->pcm)) == -EAGAIN; k++)
			usleep(5000);
		if (err < 0)
			err = snd_pcm_prepare(p->pcm);
	}
	stream_reset(p);
	if (err >= 0)
		return 0;
	/* -ENODEV, -EBADFD, -EIO...: the device went away. */
	snprintf(p->fault_reason, sizeof(p->fault_reason), "%s: %s", p->device, snd_strerror(err));
	log_warn("player: PCM '%s' lost: %s", p->device, snd_strerror(err));
	pcm_close(p);
	p->fault = true;
	p->last_open_err = err;
	p->backoff_us = BACKOFF_MIN_US;
	p->retry_at = cx_mono_us() + p->backoff_us;
	if (p->cur && p->phase != PH_WAIT) {
		char reason[160];

		snprintf(reason, sizeof(reason), "device lost: %s", p->fault_reason);
		item_end(p, PLAYER_EV_FAILED, reason);
	}
	return err;
}

/* Queue N mono frames (NULL: silence). \retval frames queued / -errno */
static int pcm_put(struct player *p, const int16_t *mono, int n, int64_t now)
{
	const int16_t *buf;
	snd_pcm_sframes_t w;

	if (p->channels == 1 && mono) {
		buf = mono;
	} else {
		if (!mono)
			memset(p->out, 0, (size_t)n * p->channels * sizeof(int16_t));
		else
			for (int k = 0; k < n; k++)
				p->out[2 * k] = p->out[2 * k + 1] = mono[k];
		buf = p->out;
	}
	w = snd_pcm_writei(p->pcm, buf, (snd_pcm_uframes_t)n);
	if (w < 0)
		return (int)w;
	model_wrote(p, w, now);
	return (int)w;
}

/* Fill the pending buffer from the source. \retval 0 / -errno (item ended) */
static int refill(struct player *p, int64_t play_us)
{
	int r;

	if (p->pend_off < p->pend_n || p->src_eof)
		return 0;
	r = p->cur->src->ops->read(p->cur->src, p->pend, CHUNK, play_us);
	if (r < 0) {
		item_end(p, PLAYER_EV_FAILED, p->cur->src->err);
		return r;
	}
	if (r == 0) {
		p->src_eof = true;
		p->pend_off = p->pend_n = 0;
		return 0;
	}
	apply_gain(p->pend, r, p->cur->volume);
	p->pend_off = 0;
	p->pend_n = r;
	return 0;
}

static void emit_started(struct player *p)
{
	struct player_ev ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = PLAYER_EV_STARTED;
	ev.token = p->cur->token;
	ev.started_us = p->started_us;
	ev.start_error_us = p->start_error_us;
	/* Whoever sees the event sees the player playing. */
	publish(p);
	ev_push(p, &ev);
}

/* One or more rounds of topping up the buffer. \retval next wake (mono) */
static int64_t feed(struct player *p)
{
	for (int round = 0; round < 32; round++) {
		snd_pcm_sframes_t avail, delay;
		int64_t t0 = cx_now_us(), now, q, fill, space, w = 0;
		bool modelled;
		int err;

		if (!p->cur || !p->pcm)
			return cx_mono_us();
		err = snd_pcm_avail_delay(p->pcm, &avail, &delay);
		now = (t0 + cx_now_us()) / 2;
		if (err < 0 && err != -EPIPE && err != -ESTRPIPE) {
			/* The pulse plugin fails the delay query with -EIO until
			 * the server has sent timing info (alsa-plugins compares
			 * pa_stream_get_latency()'s -PA_ERR_NODATA with the wrong
			 * sign). If avail works the device is there: go on with
			 * the delay extrapolated from the last one known. */
			snd_pcm_sframes_t a = snd_pcm_avail(p->pcm);

			if (a >= 0) {
				avail = a;
				delay = 0;
				err = 0;
			} else {
				err = (int)a;
			}
		}
		if (err < 0) {
			if (pcm_recover(p, err) < 0)
				return cx_mono_us();
			continue;
		}
		if (delay > 0) {
			p->paced = true;
		} else if (p->paced && avail < (snd_pcm_sframes_t)p->period_size) {
			/* An underrun the plugin does not report: the device
			 * has played everything (delay 0) while its ring says
			 * it is full. Seen with the pulse plugin on a server's
			 * first stream. A new stream recovers at once. */
			p->xruns++;
			log_debug("player: silent underrun on '%s'; restarting the stream", p->device);
			if (pcm_stop(p) < 0 && pcm_recover(p, -EIO) < 0)
				return cx_mono_us();
			continue;
		}
		q = queued(p, delay, now, &modelled);
		if (p->phase == PH_DRAIN && q <= p->tail_written) {
			item_end(p, PLAYER_EV_DONE, NULL);
			return cx_mono_us();
		}
		/* How full the buffer is: the device's word, unless it has none
		 * (its delay may also count latency beyond the buffer, e.g. a
		 * sound server's, so the delay itself is not the fill). */
		fill = (int64_t)p->buffer_size - avail;
		if (modelled)
			fill = max64(fill, q);
		space = (int64_t)p->buffer_size - fill;
		if (space < (int64_t)p->period_size / 2) {
			/* Sleep until about a period has drained (or the tail). */
			int64_t need = fill - ((int64_t)p->buffer_size - (int64_t)p->period_size);
			int64_t us;

			if (p->phase == PH_DRAIN)
				need = min64(need, q - p->tail_written);
			us = need * 1000000 / RATE;
			us = max64(500, min64(us, (int64_t)p->buffer_ms * 1000 / 2));
			return cx_mono_us() + us;
		}
		while (w < space) {
			int64_t n = min64(space - w, CHUNK);
			int r;

			if (p->phase == PH_WAIT) {
				/* Silence that still has to go before the start. */
				int64_t ahead = (p->eff_start_us - now) * RATE / 1000000 - q - w;

				if (ahead > 0) {
					r = pcm_put(p, NULL, (int)min64(n, ahead), now);
					if (r <= 0)
						goto werr;
					w += r;
					continue;
				}
				p->phase = PH_PLAY;
				p->started_us = now + (q + w) * 1000000 / RATE;
				p->start_error_us = p->started_us - p->cur->start_us;
				log_debug("player: item %llu starts: %lld frames queued (%s), error %lld us",
					  (unsigned long long)p->cur->token, (long long)(q + w),
					  modelled ? "modelled" : "device", (long long)p->start_error_us);
				emit_started(p);
			}
			if (p->phase == PH_PLAY) {
				if (refill(p, now + (q + w) * 1000000 / RATE) < 0)
					return cx_mono_us();
				if (p->src_eof) {
					p->phase = PH_DRAIN;
					continue;
				}
				n = min64(n, p->pend_n - p->pend_off);
				r = pcm_put(p, p->pend + p->pend_off, (int)n, now);
				if (r <= 0)
					goto werr;
				p->pend_off += r;
				p->real_written += r;
				w += r;
				continue;
			}
			/* PH_DRAIN: keep the device fed until the tail has left. */
			r = pcm_put(p, NULL, (int)n, now);
			if (r <= 0)
				goto werr;
			p->tail_written += r;
			w += r;
			continue;
werr:
			if (r < 0 && pcm_recover(p, r) < 0)
				return cx_mono_us();
			break;
		}
	}
	return cx_mono_us() + 1000;
}

/* Prepare the current item when its time comes; feed it. \retval next wake */
static int64_t step_item(struct player *p, int64_t mono)
{
	struct item *it = p->cur;
	int64_t now = cx_now_us(), wake = mono + MAX_SLEEP_US;

	if (now < it->start_us - lead_us(p))
		return min64(wake, mono + (it->start_us - lead_us(p) - now));

	if (!p->src_open) {
		int err = it->src->ops->open(it->src);

		if (err < 0) {
			item_end(p, PLAYER_EV_FAILED, it->src->err);
			return mono;
		}
		p->src_open = true;
		/* Decode ahead: a corrupt asset fails before STARTED. */
		if (!it->src->ops->timed && refill(p, it->start_us) < 0)
			return mono;
	}

	if (p->gpiochip && !p->amp_on) {
		int64_t amp_at = it->start_us - (int64_t)p->warmup_ms * 1000;

		if (now >= amp_at) {
			amp_set(p, true);
			if (p->amp_on && p->phase == PH_WAIT &&
			    p->amp_on_since + (int64_t)p->warmup_ms * 1000 > it->start_us + AMP_SLACK_US)
				p->eff_start_us = p->amp_on_since + (int64_t)p->warmup_ms * 1000;
		} else {
			wake = min64(wake, mono + (amp_at - now));
		}
	}

	if (!p->pcm) {
		if (pcm_try_open(p) < 0) {
			if (now >= it->deadline_us) {
				char reason[160];

				snprintf(reason, sizeof(reason), "device unavailable: %s",
					 p->fault_reason);
				item_end(p, PLAYER_EV_FAILED, reason);
				return mono;
			}
			wake = min64(wake, p->retry_at);
			return min64(wake, mono + (it->deadline_us - now));
		}
	}
	return min64(wake, feed(p));
}

/* Nothing to feed: close the PCM and power down after the idle time; keep
 * retrying a faulty device so the status recovers. \retval next wake */
static int64_t step_idle(struct player *p, int64_t mono, int64_t wake)
{
	int64_t close_at = p->idle_since + (int64_t)p->idle_close_ms * 1000;
	bool waiting = p->cur != NULL;
	int64_t now = cx_now_us();

	if (mono >= close_at) {
		if (p->pcm) {
			log_debug("player: idle, closing '%s'", p->device);
			pcm_close(p);
		}
		if (!waiting || now < p->cur->start_us - (int64_t)p->warmup_ms * 1000)
			amp_set(p, false);
	} else if (p->pcm || p->amp_on) {
		wake = min64(wake, close_at);
	}
	if (p->fault && !p->pcm) {
		if (mono >= p->retry_at) {
			if (pcm_try_open(p) == 0)
				p->idle_since = mono;  /* closes again after the idle time */
		}
		if (p->fault)
			wake = min64(wake, p->retry_at);
		else
			wake = min64(wake, p->idle_since + (int64_t)p->idle_close_ms * 1000);
	}
	return wake;
}

static int64_t step(struct player *p)
{
	int64_t mono = cx_mono_us(), wake = mono + MAX_SLEEP_US;

	if (p->cur)
		wake = step_item(p, mono);
	/* Idle: no item, or one that is not due yet. */
	if (!p->cur || (p->phase == PH_WAIT && !p->src_open))
		wake = step_idle(p, cx_mono_us(), wake);
	return wake;
}

static bool take_requests(struct player *p)
{
	struct item *it;
	bool stop, quit;
	uint64_t tok;

	pthread_mutex_lock(&p->lock);
	quit = p->quit;
	it = p->pending;
	p->pending = NULL;
	stop = p->stop_req;
	tok = p->stop_token;
	p->stop_req = false;
	if (it) {
		p->has_cur = true;
		p->cur_token = it->token;
	}
	pthread_mutex_unlock(&p->lock);
	if (quit) {
		item_free(it);
		return false;
	}
	if (stop && p->cur && p->cur->token == tok)
		item_end(p, PLAYER_EV_STOPPED, NULL);
	if (it) {
		if (p->cur)
			item_end(p, PLAYER_EV_STOPPED, NULL);
		item_begin(p, it);
	}
	return true;
}

static void *player_main(void *arg)
{
	struct player *p = arg;

	while (take_requests(p)) {
		int64_t wake = step(p);

		publish(p);
		pthread_mutex_lock(&p->lock);
		while (!p->quit && !p->pending && !p->stop_req) {
			int64_t mono = cx_mono_us();
			struct timespec ts;

			if (mono >= wake)
				break;
			ts.tv_sec = wake / 1000000;
			ts.tv_nsec = (wake % 1000000) * 1000;
			pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		}
		pthread_mutex_unlock(&p->lock);
	}
	if (p->cur) {
		item_free(p->cur);
		p->cur = NULL;
	}
	pcm_close(p);
	amp_set(p, false);
	return NULL;
}

/* --- public ------------------------------------------------------------------- */

static pthread_once_t alsa_once = PTHREAD_ONCE_INIT;

struct player *player_new(const struct player_cfg *cfg)
{
	struct player *p;
	pthread_condattr_t ca;
	int err;

	if (!cfg || !cfg->device || !*cfg->device) {
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&alsa_once, alsa_quiet);
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->efd = -1;
	p->amp_fd = -1;
	p->device = strdup(cfg->device);
	p->mixer = cfg->mixer && *cfg->mixer ? strdup(cfg->mixer) : NULL;
	p->gpiochip = cfg->gpiochip && *cfg->gpiochip ? strdup(cfg->gpiochip) : NULL;
	if (!p->device || (cfg->mixer && *cfg->mixer && !p->mixer) ||
	    (cfg->gpiochip && *cfg->gpiochip && !p->gpiochip)) {
		err = ENOMEM;
		goto fail;
	}
	p->gpio_line = cfg->gpio_line;
	p->warmup_ms = cfg->warmup_ms > 0 ? cfg->warmup_ms : 0;
	p->buffer_ms = cfg->buffer_ms > 0 ? cfg->buffer_ms : 100;
	if (p->buffer_ms < 20)
		p->buffer_ms = 20;
	if (p->buffer_ms > 1000)
		p->buffer_ms = 1000;
	p->idle_close_ms = cfg->idle_close_ms > 0 ? cfg->idle_close_ms : IDLE_CLOSE_MS;
	p->idle_since = cx_mono_us();
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		err = errno;
		goto fail;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	err = pthread_create(&p->thread, NULL, player_main, p);
	if (err) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		goto fail;
	}
	return p;
fail:
	if (p->efd >= 0)
		close(p->efd);
	free(p->device);
	free(p->mixer);
	free(p->gpiochip);
	free(p);
	errno = err;
	return NULL;
}

void player_free(struct player *p)
{
	struct evnode *n;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->quit = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	item_free(p->pending);
	while ((n = p->ev_head)) {
		p->ev_head = n->next;
		free(n);
	}
	if (p->amp_fd >= 0)
		close(p->amp_fd);
	close(p->efd);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->device);
	free(p->mixer);
	free(p->gpiochip);
	free(p);
}

int player_fd(struct player *p)
{
	return p->efd;
}

int player_next_event(struct player *p, struct player_ev *ev)
{
	struct evnode *n;
	uint64_t v;

	pthread_mutex_lock(&p->lock);
	n = p->ev_head;
	if (n) {
		p->ev_head = n->next;
		if (!p->ev_head) {
			p->ev_tail = NULL;
			/* Empty: make the descriptor unreadable again. */
			if (read(p->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_err("player: eventfd: %s", strerror(errno));
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (!n)
		return 0;
	*ev = n->ev;
	free(n);
	return 1;
}

int player_start(struct player *p, const struct player_item *it)
{
	struct item *ni;
	bool ok;

	if (it && it->live) {
		ok = it->live->read && it->npaths == 0 && it->volume >= 1 && it->volume <= 100;
		if (!ok) {
			if (it->live->release)
				it->live->release(it->live->ud);
			return -EINVAL;
		}
	} else if (!it || it->volume < 1 || it->volume > 100 || it->npaths == 0 || !it->paths) {
		return -EINVAL;
	}
	for (size_t k = 0; k < it->npaths; k++)
		if (!it->paths[k])
			return -EINVAL;
	ni = calloc(1, sizeof(*ni));
	if (!ni) {
		if (it->live && it->live->release)
			it->live->release(it->live->ud);
		return -ENOMEM;
	}
	ni->token = it->token;
	ni->start_us = it->start_us;
	ni->deadline_us = it->deadline_us;
	ni->volume = it->volume;
	ni->src = it->live ? live_src_new(it->live) : seq_new(it->paths, it->npaths);
	if (!ni->src) {
		free(ni);
		return -ENOMEM;
	}
	pthread_mutex_lock(&p->lock);
	if (p->pending) {
		/* Replaced before the thread even saw it. */
		struct player_ev ev;

		memset(&ev, 0, sizeof(ev));
		ev.type = PLAYER_EV_STOPPED;
		ev.token = p->pending->token;
		ev_push_locked(p, &ev);
		item_free(p->pending);
	}
	p->pending = ni;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int player_stop(struct player *p, uint64_t token)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&p->lock);
	if (p->pending && p->pending->token == token) {
		struct player_ev ev;

		memset(&ev, 0, sizeof(ev));
		ev.type = PLAYER_EV_STOPPED;
		ev.token = token;
		ev_push_locked(p, &ev);
		item_free(p->pending);
		p->pending = NULL;
		ret = 0;
	} else if (p->has_cur && p->cur_token == token) {
		p->stop_req = true;
		p->stop_token = token;
		pthread_cond_signal(&p->cond);
		ret = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

void player_get_stats(struct player *p, struct player_stats *st)
{
	pthread_mutex_lock(&p->lock);
	*st = p->stats;
	pthread_mutex_unlock(&p->lock);
}
