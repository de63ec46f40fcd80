/* SPDX-License-Identifier: GPL-2.0-or-later */
/* live.c -- live alert streams: verified frames, jitter buffer, Opus decode
 * with FEC and PLC, PCM for the player on the controller's clock */
#include "live.h"

#include <errno.h>
#include <opus/opus.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxtime.h"

#define GRACE_US 1000000        /* live_poll_ended waits this long for the player */

struct slot {
	bool used;
	uint8_t flags;
	uint16_t len;
	uint32_t seq;
	unsigned char data[LIVEFRAME_MAX_OPUS];
};

struct stream {
	bool used;
	char name[LIVE_STREAM_MAX + 1];
	int64_t opened_us;          /* controller clock */
	int64_t last_arrival_us;    /* of the last frame kept; opened_us before one */
	int64_t win_lo, win_hi;     /* pts_us accepted: the alert's window and slack */
	struct slot *slots;         /* LIVE_SLOTS, by seq modulo */

	/* Timeline: frame index f = seq - seq0 starts at pts0 + f * 20 ms. */
	bool anchored;
	int64_t seq0, pts0;
	int64_t hf;                 /* highest frame index received */
	bool has_last;
	int64_t last_f;

	/* The reader (the player thread). */
	OpusDecoder *dec;
	bool aligned;               /* rpos follows the player's clock */
	bool ever_aligned;          /* the anchor may no longer move */
	int64_t rpos;               /* next sample to hand out, from pts0 */
	bool dec_valid;
	int64_t dec_f;              /* frame decoded into decbuf */
	int16_t decbuf[LIVE_FRAME_SAMPLES];
	int lost_run;
	int64_t aligned_t;          /* pts due when the position was last set */
	int64_t drift_avg_us;       /* slow mean of the drift, see follow() */
	bool slewing;
	int far_reads;              /* reads in a row with a drift beyond LIVE_JUMP_US */

	struct live_stats st;
};

struct live {
	pthread_mutex_t lock;
	struct env_key *keys;
	size_t nkeys;
	int64_t latency_us;
	int64_t offset_us;
	struct stream s[LIVE_MAX_STREAMS];
};

struct live *live_new(const struct env_key *keys, size_t nkeys, int latency_ms)
{
	struct live *l;

	if (!keys || !nkeys || latency_ms < 0) {
		errno = EINVAL;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->keys = calloc(nkeys, sizeof(*keys));
	if (!l->keys) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(l->keys, keys, nkeys * sizeof(*keys));
	l->nkeys = nkeys;
	l->latency_us = (int64_t)latency_ms * 1000;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

static void stream_clear(struct stream *s)
{
	if (s->dec)
		opus_decoder_destroy(s->dec);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

void live_free(struct live *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < LIVE_MAX_STREAMS; i++)
		stream_clear(&l->s[i]);
	pthread_mutex_destroy(&l->lock);
	free(l->keys);
	free(l);
}

int live_set_keys(struct live *l, const struct env_key *keys, size_t nkeys)
{
	struct env_key *k;

	if (!keys || !nkeys)
		return -EINVAL;
	k = calloc(nkeys, sizeof(*k));
	if (!k)
		return -ENOMEM;
	memcpy(k, keys, nkeys * sizeof(*k));
	pthread_mutex_lock(&l->lock);
	free(l->keys);
	l->keys = k;
	l->nkeys = nkeys;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

void live_set_offset(struct live *l, int64_t offset_us)
{
	pthread_mutex_lock(&l->lock);
	l->offset_us = offset_us;
	pthread_mutex_unlock(&l->lock);
}

int64_t live_offset(struct live *l)
{
	int64_t o;

	pthread_mutex_lock(&l->lock);
	o = l->offset_us;
	pthread_mutex_unlock(&l->lock);
	return o;
}

static struct stream *find(struct live *l, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < LIVE_MAX_STREAMS; i++)
		if (l->s[i].used && !strcmp(l->s[i].name, name))
			return &l->s[i];
	return NULL;
}

int live_open(struct live *l, const char *name, int64_t now_us, int64_t from_us,
	      int64_t until_us)
{
	struct stream *s = NULL;
	int err, r = 0;

	if (!live_stream_name_ok(name) || until_us < from_us)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	if (find(l, name))
		goto out;
	for (size_t i = 0; i < LIVE_MAX_STREAMS && !s; i++)
		if (!l->s[i].used)
			s = &l->s[i];
	if (!s) {
		r = -ENOSPC;
		goto out;
	}
	s->slots = calloc(LIVE_SLOTS, sizeof(*s->slots));
	s->dec = opus_decoder_create(LIVE_RATE, 1, &err);
	if (!s->slots || !s->dec) {
		stream_clear(s);
		r = -ENOMEM;
		goto out;
	}
	s->used = true;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->opened_us = s->last_arrival_us = now_us;
	/* Widened by the slack, saturating at the ends of the clock. */
	s->win_lo = from_us < INT64_MIN + LIVE_WINDOW_SLACK_US ? INT64_MIN
		: from_us - LIVE_WINDOW_SLACK_US;
	s->win_hi = until_us > INT64_MAX - LIVE_WINDOW_SLACK_US ? INT64_MAX
		: until_us + LIVE_WINDOW_SLACK_US;
	s->hf = -1;
out:
	pthread_mutex_unlock(&l->lock);
	return r;
}

bool live_is_open(struct live *l, const char *name)
{
	bool r;

	pthread_mutex_lock(&l->lock);
	r = find(l, name) != NULL;
	pthread_mutex_unlock(&l->lock);
	return r;
}

static struct slot *slot_of(struct stream *s, int64_t f)
{
	int64_t seq = s->seq0 + f;
	struct slot *sl;

	if (!s->anchored || seq < 0 || seq > (int64_t)UINT32_MAX)
		return NULL;
	sl = &s->slots[seq % LIVE_SLOTS];
	return sl->used && sl->seq == (uint32_t)seq ? sl : NULL;
}

/* The first frame the reader has not consumed yet. */
static int64_t needed_from(const struct stream *s)
{
	int64_t f;

	if (!s->aligned)
		return INT64_MIN;
	f = s->rpos >= 0 ? s->rpos / LIVE_FRAME_SAMPLES : -1;
	if (s->dec_valid && s->dec_f >= f)
		f = s->dec_f + 1;
	return f;
}

int live_on_frame(struct live *l, const char *name, const void *buf, size_t len,
		  int64_t now_us)
{
	struct liveframe fr;
	struct stream *s;
	struct slot *sl;
	int64_t f;
	int r = 1;

	pthread_mutex_lock(&l->lock);
	s = find(l, name);
	if (!s)
		goto out;
	r = liveframe_verify(buf, len, s->name, l->keys, l->nkeys, &fr);
	if (r < 0)
		goto out;
	if (fr.pts_us > INT64_MAX || (int64_t)fr.pts_us < s->win_lo ||
	    (int64_t)fr.pts_us > s->win_hi) {
		r = -ERANGE;
		goto out;
	}
	r = 1;
	if (!s->anchored || (!s->ever_aligned && (int64_t)fr.seq < s->seq0)) {
		/* The first frame (or an earlier one before playout began)
		 * fixes the timeline. */
		if (!s->anchored)
			s->hf = -1;
		else
			s->hf += s->seq0 - (int64_t)fr.seq;
		if (s->has_last)
			s->last_f += s->seq0 - (int64_t)fr.seq;
		s->anchored = true;
		s->seq0 = fr.seq;
		s->pts0 = (int64_t)fr.pts_us;
	}
	f = (int64_t)fr.seq - s->seq0;
	sl = &s->slots[fr.seq % LIVE_SLOTS];
	if (sl->used && sl->seq == fr.seq) {
		s->st.dup++;
		goto out;
	}
	if (f < needed_from(s) || (sl->used && sl->seq > fr.seq)) {
		s->st.late++;
		goto out;
	}
	sl->used = true;
	sl->seq = fr.seq;
	sl->flags = fr.flags;
	sl->len = fr.opus_len;
	if (fr.opus_len)
		memcpy(sl->data, fr.opus, fr.opus_len);
	if (f > s->hf)
		s->hf = f;
	if (fr.flags & LIVEFRAME_LAST) {
		if (!s->has_last || f < s->last_f)
			s->last_f = f;
		s->has_last = true;
	}
	s->last_arrival_us = now_us;
	s->st.frames++;
	r = 0;
out:
	pthread_mutex_unlock(&l->lock);
	return r;
}

/* Frame F of the timeline into s->decbuf: itself, FEC from the next, PLC,
 * or silence. */
static void decode(struct stream *s, int64_t f)
{
	struct slot *sl = slot_of(s, f), *next;
	int n = -1;

	if (sl && sl->len) {
		n = opus_decode(s->dec, sl->data, sl->len, s->decbuf, LIVE_FRAME_SAMPLES, 0);
		s->st.decoded++;
		s->lost_run = 0;
	} else if (sl) {
		/* An empty packet carries no audio: a silent frame. */
		n = 0;
		s->st.decoded++;
		s->lost_run = 0;
	} else if ((next = slot_of(s, f + 1)) && next->len) {
		n = opus_decode(s->dec, next->data, next->len, s->decbuf, LIVE_FRAME_SAMPLES, 1);
		s->st.fec++;
		s->lost_run = 0;
	} else if (s->lost_run < LIVE_PLC_FRAMES) {
		n = opus_decode(s->dec, NULL, 0, s->decbuf, LIVE_FRAME_SAMPLES, 0);
		s->st.plc++;
		s->lost_run++;
	} else {
		s->st.silent++;
		s->lost_run++;
	}
	if (n < 0)
		n = 0;
	if (n < LIVE_FRAME_SAMPLES)
		memset(s->decbuf + n, 0, (size_t)(LIVE_FRAME_SAMPLES - n) * sizeof(int16_t));
	s->dec_f = f;
	s->dec_valid = true;
}

static int64_t pts_of_sample(const struct stream *s, int64_t pos)
{
	return s->pts0 + pos * 1000000 / LIVE_RATE;
}

static bool idle(const struct stream *s, int64_t now_us)
{
	return now_us - s->last_arrival_us > LIVE_IDLE_US;
}

/* Is the reader at the end of S (at sample position rpos)? */
static bool at_end(const struct stream *s, int64_t now_us)
{
	if (s->has_last && s->rpos >= (s->last_f + 1) * LIVE_FRAME_SAMPLES)
		return true;
	return idle(s, now_us) && s->rpos >= (s->hf + 1) * LIVE_FRAME_SAMPLES;
}

/* Keep the read position on the player's clock. T is the pts that the
 * player says is due now; the difference to the position's pts is the
 * drift. Device clocks run off the NTP-disciplined wall clock by tens of
 * ppm (a 10 min speech would drift tens of ms between poles) and the offset
 * moves a little with each tsync burst. The player's estimate itself
 * wanders: through the ALSA pulse plugin by up to 5 ms over the first ten
 * seconds of a stream, differently per stream (PulseAudio's timing
 * smoother settling), while the null sinks share one clock (measured). So:
 * nothing for the first LIVE_FOLLOW_AFTER_US (crystal drift is below
 * 2 ms by then), then a slow mean (64 reads), a dead band of
 * LIVE_SLEW_START_US, and a slew of one sample per read (about 1 ms per
 * second, inaudible) until the mean is back within LIVE_SLEW_STOP_US. A
 * step (an xrun, a clock step) beyond LIVE_JUMP_US that persists for
 * LIVE_JUMP_READS reads moves the position at once, at any time. */
static void follow(struct stream *s, int64_t t)
{
	int64_t d = t - pts_of_sample(s, s->rpos);

	if (d > LIVE_JUMP_US || d < -LIVE_JUMP_US) {
		if (++s->far_reads >= LIVE_JUMP_READS) {
			s->rpos += d * LIVE_RATE / 1000000;
			if (d < 0) {
				/* Back over frames already decoded: start the
				 * decoder afresh rather than feed it the past. */
				opus_decoder_ctl(s->dec, OPUS_RESET_STATE);
				s->dec_valid = false;
			}
			s->drift_avg_us = 0;
			s->far_reads = 0;
			s->slewing = false;
			s->st.jumps++;
		}
		return;
	}
	s->far_reads = 0;
	if (t - s->aligned_t < LIVE_FOLLOW_AFTER_US)
		return;
	s->drift_avg_us += (d - s->drift_avg_us) / 64;
	if (!s->slewing && (s->drift_avg_us > LIVE_SLEW_START_US ||
			    s->drift_avg_us < -LIVE_SLEW_START_US))
		s->slewing = true;
	if (s->slewing && s->drift_avg_us <= LIVE_SLEW_STOP_US &&
	    s->drift_avg_us >= -LIVE_SLEW_STOP_US)
		s->slewing = false;
	if (s->slewing) {
		int step = s->drift_avg_us > 0 ? 1 : -1;

		/* One sample skipped (late) or repeated (early); a repeat never
		 * steps back into the frame before, which would be decoded
		 * twice. */
		if (step < 0 && (s->rpos <= 0 || s->rpos % LIVE_FRAME_SAMPLES == 0))
			return;
		s->rpos += step;
		s->drift_avg_us -= step * 1000000 / LIVE_RATE;
		s->st.slewed++;
	}
}

int live_read(struct live *l, const char *name, int16_t *pcm, int max, int64_t play_us,
	      char *err, size_t errlen)
{
	struct stream *s;
	int64_t now, t;
	int got = 0;

	if (max <= 0)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	s = find(l, name);
	if (!s)
		goto out;
	now = cx_mono_us() + l->offset_us;
	/* The pts of the sample that leaves the device at PLAY_US. */
	t = play_us + l->offset_us - l->latency_us;
	if (!s->anchored) {
		if (idle(s, now)) {
			snprintf(err, errlen, "no live audio received on stream %s", s->name);
			got = -ENODATA;
			goto out;
		}
		memset(pcm, 0, (size_t)max * sizeof(*pcm));
		got = max;
		goto out;
	}
	/* Align on the first read, and again on every read while only the
	 * silence before the first frame is being played: moving through
	 * silence is inaudible, and by the time the first frame is due the
	 * device's delay (the player's estimate of PLAY_US) has settled. */
	if (!s->aligned || s->rpos < 0) {
		int64_t d = t - s->pts0;

		/* Round to the nearest sample, also for negative D. */
		s->rpos = d >= 0 ? (d * LIVE_RATE + 500000) / 1000000
			: -((-d * LIVE_RATE + 500000) / 1000000);
		s->aligned = s->ever_aligned = true;
		s->aligned_t = t;
		s->dec_valid = false;
		s->drift_avg_us = 0;
		s->slewing = false;
		s->far_reads = 0;
	} else {
		follow(s, t);
	}
	while (got < max) {
		int64_t f, o, k;

		if (at_end(s, now))
			break;
		if (s->rpos < 0) {
			k = -s->rpos < max - got ? -s->rpos : max - got;
			memset(pcm + got, 0, (size_t)k * sizeof(*pcm));
		} else {
			f = s->rpos / LIVE_FRAME_SAMPLES;
			o = s->rpos % LIVE_FRAME_SAMPLES;
			if (!s->dec_valid || s->dec_f != f)
				decode(s, f);
			k = LIVE_FRAME_SAMPLES - o < max - got ? LIVE_FRAME_SAMPLES - o : max - got;
			memcpy(pcm + got, s->decbuf + o, (size_t)k * sizeof(*pcm));
		}
		got += (int)k;
		s->rpos += k;
	}
out:
	pthread_mutex_unlock(&l->lock);
	return got;
}

void live_rewind(struct live *l, const char *name)
{
	struct stream *s;

	pthread_mutex_lock(&l->lock);
	s = find(l, name);
	if (s)
		s->aligned = false;
	pthread_mutex_unlock(&l->lock);
}

/* ---- the player's source ---- */

struct src {
	struct live *l;
	char name[LIVE_STREAM_MAX + 1];
	bool started;
};

static int src_read(void *ud, int16_t *pcm, int max, int64_t play_us, char *err, size_t errlen)
{
	struct src *x = ud;

	if (!x->started) {
		live_rewind(x->l, x->name);
		x->started = true;
	}
	return live_read(x->l, x->name, pcm, max, play_us, err, errlen);
}

static void src_release(void *ud)
{
	free(ud);
}

int live_player_source(struct live *l, const char *name, struct player_live *out)
{
	struct src *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->l = l;
	snprintf(x->name, sizeof(x->name), "%s", name);
	out->read = src_read;
	out->release = src_release;
	out->ud = x;
	return 0;
}

/* ---- end of streams ---- */

static int64_t over_at(const struct live *l, const struct stream *s)
{
	int64_t t;

	if (s->has_last)
		return s->pts0 + (s->last_f + 1) * LIVE_FRAME_US + l->latency_us + GRACE_US;
	t = s->last_arrival_us + LIVE_IDLE_US;
	if (s->anchored && s->pts0 + (s->hf + 1) * LIVE_FRAME_US + l->latency_us > t)
		t = s->pts0 + (s->hf + 1) * LIVE_FRAME_US + l->latency_us;
	return t + GRACE_US;
}

int live_poll_ended(struct live *l, int64_t now_us, char name[LIVE_STREAM_MAX + 1],
		    struct live_stats *st)
{
	int r = 0;

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < LIVE_MAX_STREAMS; i++) {
		struct stream *s = &l->s[i];

		if (!s->used || now_us < over_at(l, s))
			continue;
		snprintf(name, LIVE_STREAM_MAX + 1, "%s", s->name);
		if (st)
			*st = s->st;
		stream_clear(s);
		r = 1;
		break;
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

int64_t live_next_us(struct live *l)
{
	int64_t t = INT64_MAX;

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < LIVE_MAX_STREAMS; i++)
		if (l->s[i].used && over_at(l, &l->s[i]) < t)
			t = over_at(l, &l->s[i]);
	pthread_mutex_unlock(&l->lock);
	return t;
}

int live_get_stats(struct live *l, const char *name, struct live_stats *st)
{
	struct stream *s;
	int r = -ENOENT;

	pthread_mutex_lock(&l->lock);
	s = find(l, name);
	if (s) {
		*st = s->st;
		r = 0;
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}
