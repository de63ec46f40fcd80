/* SPDX-License-Identifier: GPL-2.0-or-later */
/* player.c -- ALSA playout thread: sample-accurate starts, volume, recovery */
#include "player.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "amp.h"
#include "cxtime.h"
#include "log.h"
#include "pcm.h"
#include "source.h"

/*
 * How the thread works
 *
 * The thread owns the PCM, the amplifier line and the current item. The
 * main thread leaves requests in a slot (mutex + condition variable) and
 * collects events from a queue signalled through an eventfd.
 *
 * Playout is paced by a timer, not by blocking writes: the PCM (pcm.h) is
 * opened non-blocking; each round the thread reads avail and delay, tops the
 * buffer up, and sleeps on the condition variable until about one period has
 * drained. A request therefore wakes it at once, and preemption is
 * snd_pcm_drop() plus snd_pcm_prepare(): a few ms, never a drain.
 *
 * The buffer depends on what the item plays. Assets are decoded ahead, so
 * latency does not matter for them: FILE_BUFFER_MS (or buffer_ms if that is
 * larger) in FILE_PERIODS periods, written CHUNK frames at a time, so the
 * thread wakes a few times a second rather than forty (on a PulseAudio
 * device every query and write is a round of locking and messages with the
 * server, which cost the node twice the CPU of `opusdec | aplay` at 100 ms).
 * A live source is read for the instant it will be heard, so its buffer is
 * latency: buffer_ms in 4 periods, read LIVE_CHUNK frames at a time. The
 * PCM is quiet between items (item_end stops it), and one open with the
 * other kind's buffer is closed and opened again as the next item is
 * prepared: tens of ms on a sound server, a few on a hw device, before the
 * item's silence is queued.
 *
 * Before an item starts the buffer is kept full of silence. In every round
 * the number of silent frames still to queue is
 *     (start - now) * rate - delay
 * so the first real frame is queued exactly where, per snd_pcm_delay, it
 * leaves the device at the start instant (snapcast's alsa_player does the
 * same). The error reported is the one predicted at that moment. Devices
 * without a delay of their own (the `file`/`null` PCMs of the tests) are fed
 * in real time by the delay pcm.c models for them, not flooded with
 * silence.
 */

#define RATE            PCM_RATE
#define CHUNK           PCM_CHUNK       /* 100 ms: decode and write unit of assets */
#define LIVE_CHUNK      960             /* 20 ms: read unit of a live source */
#define FILE_BUFFER_MS  500             /* the least buffer of an item of assets */
#define FILE_PERIODS    2
#define LIVE_PERIODS    4
#define IDLE_CLOSE_MS   2000
#define OPEN_MARGIN_US  300000          /* open this long (+ warmup + buffer) ahead */
#define GRACE_US        5000000         /* default deadline after the start */
#define AMP_SLACK_US    50000           /* warmup shortfall tolerated before delaying */
#define MAX_SLEEP_US    1000000

/* --- the player ----------------------------------------------------------- */

struct item {
	uint64_t token;
	int64_t start_us;
	int64_t deadline_us;
	int volume;
	struct source *src;
	int buffer_ms, periods; /* the PCM buffer it plays with */
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
	int src_err;            /* the source failed after frames were queued */
	char src_reason[128];   /* ... with this: the item fails once they played */
	int64_t eff_start_us;   /* start_us, or later while the amplifier warms */
	int64_t started_us, start_error_us;
	int64_t real_written;   /* frames of the item queued */
	int64_t tail_written;   /* silence queued after its end */

	struct pcm dev;         /* the ALSA device */
	struct amp amp;         /* the amplifier line */
	int64_t idle_since;     /* mono */
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
	p->stats.xruns = p->dev.xruns;
	p->stats.fault = p->dev.fault;
	snprintf(p->stats.fault_reason, sizeof(p->stats.fault_reason), "%s",
		 p->dev.fault ? p->dev.fault_reason : "");
	p->stats.playing = p->cur && p->phase != PH_WAIT;
	p->stats.pcm_open = p->dev.h != NULL;
	p->stats.buffer_frames = p->dev.h ? (int64_t)p->dev.buffer_size : 0;
	p->stats.period_frames = p->dev.h ? (int64_t)p->dev.period_size : 0;
	p->stats.amp_on = p->amp.on;
	p->stats.amp_fault = p->amp.fault;
	snprintf(p->stats.amp_reason, sizeof(p->stats.amp_reason), "%s",
		 p->amp.fault ? p->amp.reason : "");
	pthread_mutex_unlock(&p->lock);
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

/* End the current item with TYPE. The stream is stopped first, so the
 * event is sent when the device is already quiet (and a file PCM flushed). */
static void item_end(struct player *p, enum player_ev_type type, const char *reason)
{
	struct player_ev ev;
	struct item *it = p->cur;
	int64_t played;

	if (!it)
		return;
	played = type == PLAYER_EV_DONE ? p->real_written : played_frames(p, pcm_current_queue(&p->dev));
	if (p->dev.h && pcm_stop(&p->dev) < 0) {
		log_warn("player: cannot prepare PCM '%s' after stop; reopening", p->device);
		pcm_close(&p->dev);
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
	p->src_err = 0;
	p->pend_off = p->pend_n = 0;
	p->real_written = p->tail_written = 0;
	p->started_us = p->start_error_us = 0;
	p->eff_start_us = it->start_us;
	amp_retry(&p->amp);
	pthread_mutex_lock(&p->lock);
	p->has_cur = true;
	p->cur_token = it->token;
	pthread_mutex_unlock(&p->lock);
	/* A new item retries a missing device at once. */
	if (p->dev.fault)
		p->dev.retry_at = cx_mono_us();
	if (!it->deadline_us)
		it->deadline_us = max64(it->start_us, cx_mono_us()) + GRACE_US;
	if (it->src->ops->timed) {
		it->buffer_ms = p->buffer_ms;
		it->periods = LIVE_PERIODS;
	} else {
		it->buffer_ms = (int)max64(p->buffer_ms, FILE_BUFFER_MS);
		it->periods = FILE_PERIODS;
	}
}

static int64_t lead_us(const struct player *p, const struct item *it)
{
	return (p->gpiochip ? (int64_t)p->warmup_ms * 1000 : 0) +
	       (int64_t)it->buffer_ms * 1000 + OPEN_MARGIN_US;
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

/* Device error while streaming: recover what can be recovered; a device
 * that went away fails the item on the air.
 * \retval 0 retry the round / <0 the device is gone (PCM closed) */
static int recover(struct player *p, int err)
{
	err = pcm_recover(&p->dev, err);
	if (err < 0 && p->cur && p->phase != PH_WAIT) {
		char reason[160];

		snprintf(reason, sizeof(reason), "device lost: %s", p->dev.fault_reason);
		item_end(p, PLAYER_EV_FAILED, reason);
	}
	return err;
}

/* Fill the pending buffer from the source. A source that fails after
 * some of the item was queued ends like one at its end, and the item
 * fails once that has played out (up to a buffer of it).
 * \retval 0 / -errno (item ended) */
static int refill(struct player *p, int64_t play_us)
{
	int r;

	if (p->pend_off < p->pend_n || p->src_eof)
		return 0;
	r = p->cur->src->ops->read(p->cur->src, p->pend,
				   p->cur->src->ops->timed ? LIVE_CHUNK : CHUNK, play_us);
	if (r < 0 && p->real_written > 0) {
		p->src_err = r;
		snprintf(p->src_reason, sizeof(p->src_reason), "%s", p->cur->src->err);
		r = 0;
	} else if (r < 0) {
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
		int64_t now, q, fill, space, w = 0;
		bool modelled;
		int err;

		if (!p->cur || !p->dev.h)
			return cx_mono_us();
		err = pcm_query(&p->dev, &avail, &delay, &now);
		if (err < 0) {
			if (recover(p, err) < 0)
				return cx_mono_us();
			continue;
		}
		if (err == 1)
			continue;
		q = pcm_queued(&p->dev, delay, now, &modelled);
		if (p->phase == PH_DRAIN && q <= p->tail_written) {
			if (p->src_err)
				item_end(p, PLAYER_EV_FAILED, p->src_reason);
			else
				item_end(p, PLAYER_EV_DONE, NULL);
			return cx_mono_us();
		}
		/* How full the buffer is: the device's word, unless it has none
		 * (its delay may also count latency beyond the buffer, e.g. a
		 * sound server's, so the delay itself is not the fill). */
		fill = (int64_t)p->dev.buffer_size - avail;
		if (modelled)
			fill = max64(fill, q);
		space = (int64_t)p->dev.buffer_size - fill;
		if (space < (int64_t)p->dev.period_size / 2) {
			/* Sleep until about a period has drained (or the tail). */
			int64_t need = fill - ((int64_t)p->dev.buffer_size - (int64_t)p->dev.period_size);
			int64_t us;

			if (p->phase == PH_DRAIN)
				need = min64(need, q - p->tail_written);
			us = need * 1000000 / RATE;
			us = max64(500, min64(us, (int64_t)p->dev.buffer_size * 1000000 / RATE / 2));
			return cx_mono_us() + us;
		}
		while (w < space) {
			int64_t n = min64(space - w, CHUNK);
			int r;

			if (p->phase == PH_WAIT) {
				/* Silence that still has to go before the start. */
				int64_t ahead = (p->eff_start_us - now) * RATE / 1000000 - q - w;

				if (ahead > 0) {
					r = pcm_put(&p->dev, NULL, (int)min64(n, ahead), now);
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
				r = pcm_put(&p->dev, p->pend + p->pend_off, (int)n, now);
				if (r <= 0)
					goto werr;
				p->pend_off += r;
				p->real_written += r;
				w += r;
				continue;
			}
			/* PH_DRAIN: keep the device fed until the tail has left. */
			r = pcm_put(&p->dev, NULL, (int)n, now);
			if (r <= 0)
				goto werr;
			p->tail_written += r;
			w += r;
			continue;
werr:
			if (r < 0 && recover(p, r) < 0)
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
	int64_t now = cx_mono_us(), wake = mono + MAX_SLEEP_US;

	if (now < it->start_us - lead_us(p, it))
		return min64(wake, mono + (it->start_us - lead_us(p, it) - now));

	if (!p->src_open) {
		int err;

		/* The buffer for this kind of item; an open PCM with the other
		 * kind's is quiet (item_end stopped it): open it again. */
		if (pcm_want(&p->dev, it->buffer_ms, it->periods)) {
			log_debug("player: reopening '%s' with a %d ms buffer", p->device,
				  it->buffer_ms);
			pcm_close(&p->dev);
		}
		err = it->src->ops->open(it->src);

		if (err < 0) {
			item_end(p, PLAYER_EV_FAILED, it->src->err);
			return mono;
		}
		p->src_open = true;
		/* Decode ahead: a corrupt asset fails before STARTED. */
		if (!it->src->ops->timed && refill(p, it->start_us) < 0)
			return mono;
	}

	if (p->gpiochip && !p->amp.on) {
		int64_t amp_at = it->start_us - (int64_t)p->warmup_ms * 1000;

		if (now >= amp_at) {
			amp_set(&p->amp, true);
			if (p->amp.on && p->phase == PH_WAIT &&
			    p->amp.on_since + (int64_t)p->warmup_ms * 1000 > it->start_us + AMP_SLACK_US)
				p->eff_start_us = p->amp.on_since + (int64_t)p->warmup_ms * 1000;
		} else {
			wake = min64(wake, mono + (amp_at - now));
		}
	}

	if (!p->dev.h) {
		if (pcm_try_open(&p->dev) < 0) {
			if (now >= it->deadline_us) {
				char reason[160];

				snprintf(reason, sizeof(reason), "device unavailable: %s",
					 p->dev.fault_reason);
				item_end(p, PLAYER_EV_FAILED, reason);
				return mono;
			}
			wake = min64(wake, p->dev.retry_at);
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
	int64_t now = cx_mono_us();

	if (mono >= close_at) {
		if (p->dev.h) {
			log_debug("player: idle, closing '%s'", p->device);
			pcm_close(&p->dev);
		}
		if (!waiting || now < p->cur->start_us - (int64_t)p->warmup_ms * 1000)
			amp_set(&p->amp, false);
	} else if (p->dev.h || p->amp.on) {
		wake = min64(wake, close_at);
	}
	if (p->dev.fault && !p->dev.h) {
		if (mono >= p->dev.retry_at) {
			if (pcm_try_open(&p->dev) == 0)
				p->idle_since = mono;  /* closes again after the idle time */
		}
		if (p->dev.fault)
			wake = min64(wake, p->dev.retry_at);
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
	pcm_close(&p->dev);
	amp_set(&p->amp, false);
	return NULL;
}

/* --- public ------------------------------------------------------------------- */

struct player *player_new(const struct player_cfg *cfg)
{
	struct player *p;
	pthread_condattr_t ca;
	int err;

	if (!cfg || !cfg->device || !*cfg->device) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->efd = -1;
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
	pcm_init(&p->dev, p->device, p->mixer, p->buffer_ms);
	amp_init(&p->amp, p->gpiochip, p->gpio_line);
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
	amp_close(&p->amp);
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
	ni->src = it->live ? source_live_new(it->live) : source_assets_new(it->paths, it->npaths);
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
