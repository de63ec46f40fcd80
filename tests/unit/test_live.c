/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_live.c -- live streams on the node: jitter buffer, timeline, FEC/PLC, end rules */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <opus/opus.h>
#include <sodium.h>

#include "cxtime.h"
#include "envelope.h"
#include "live.h"
#include "liveframe.h"

#define NFRAMES   60
#define LAT_MS    300
#define LAT_US    (LAT_MS * 1000LL)
#define FS        LIVE_FRAME_SAMPLES

static unsigned char sk[ENV_SK_BYTES], sk2[ENV_SK_BYTES];
static struct env_key key, key2;

/* NFRAMES packets of a 20 ms-framed tone, as `cunxiang live` encodes. */
static unsigned char pkt[NFRAMES][LIVEFRAME_MAX_OPUS];
static int pktlen[NFRAMES];

static int setup(void **state)
{
	OpusEncoder *enc;
	int16_t pcm[FS];
	int err;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(key.pk, sk);
	env_keyid(key.pk, key.id);
	crypto_sign_keypair(key2.pk, sk2);
	env_keyid(key2.pk, key2.id);
	enc = opus_encoder_create(LIVE_RATE, 1, OPUS_APPLICATION_VOIP, &err);
	if (!enc)
		return -1;
	opus_encoder_ctl(enc, OPUS_SET_BITRATE(24000));
	opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(1));
	opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(10));
	for (int k = 0; k < NFRAMES; k++) {
		for (int i = 0; i < FS; i++) {
			double t = (double)(k * FS + i) / LIVE_RATE;

			pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 220 * t) *
					   (0.6 + 0.4 * sin(2 * M_PI * 3 * t)));
		}
		pktlen[k] = opus_encode(enc, pcm, FS, pkt[k], LIVEFRAME_MAX_OPUS);
		if (pktlen[k] <= 0)
			return -1;
	}
	opus_encoder_destroy(enc);
	return 0;
}

/* Frame SEQ of the test packets, signed with SECRET for stream STREAM. */
static int frame(const unsigned char *secret, const char *stream, uint32_t seq, int64_t pts,
		 uint8_t flags, unsigned char *out)
{
	struct liveframe f = { .seq = seq, .pts_us = (uint64_t)pts, .flags = flags,
			       .opus_len = (uint16_t)pktlen[seq % NFRAMES], .opus = pkt[seq % NFRAMES] };

	return liveframe_build(&f, stream, secret, out, LIVEFRAME_MAX);
}

static int feed(struct live *l, const char *name, uint32_t seq, int64_t pts0, uint8_t flags)
{
	unsigned char buf[LIVEFRAME_MAX];
	int n = frame(sk, name, seq, pts0 + (int64_t)seq * LIVE_FRAME_US, flags, buf);

	assert_true(n > 0);
	return live_on_frame(l, name, buf, (size_t)n, cx_mono_us());
}

/* What a decoder fed the packets IDX[0..N) in order (-1: lost, PLC)
 * produces, one frame each. */
static int16_t *reference(const int *idx, int n)
{
	int16_t *out = calloc((size_t)n * FS, sizeof(*out));
	OpusDecoder *dec;
	int err;

	assert_non_null(out);
	dec = opus_decoder_create(LIVE_RATE, 1, &err);
	assert_non_null(dec);
	for (int k = 0; k < n; k++) {
		int r = idx[k] < 0 ? opus_decode(dec, NULL, 0, out + k * FS, FS, 0)
			: opus_decode(dec, pkt[idx[k]], pktlen[idx[k]], out + k * FS, FS, 0);

		assert_int_equal(r, FS);
	}
	opus_decoder_destroy(dec);
	return out;
}

static struct live *new_live(void)
{
	struct env_key keys[2] = { key2, key };
	struct live *l = live_new(keys, 2, LAT_MS);

	assert_non_null(l);
	return l;
}

/* Open NAME at NOW_US for an alert issued a minute before that, expiring
 * an hour after. */
static int open_stream(struct live *l, const char *name, int64_t now_us)
{
	return live_open(l, name, now_us, now_us - 60000000, now_us + 3600000000LL);
}

/* Frames in order are played bit-exactly, each at pts + latency. */
static void test_in_order(void **state)
{
	struct live *l = new_live();
	int64_t pts0 = cx_mono_us() - 100000;
	int idx[10];
	int16_t got[FS * 12], *want;
	struct live_stats st;

	(void)state;
	assert_int_equal(open_stream(l, "s1", cx_mono_us()), 0);
	for (uint32_t k = 0; k < 10; k++)
		assert_int_equal(feed(l, "s1", k, pts0, 0), 0);
	/* Ask for the instant 10 ms before frame 0 is due: 480 samples of
	 * silence, then frame 0. */
	assert_int_equal(live_read(l, "s1", got, FS, pts0 + LAT_US - 10000, NULL, 0), FS);
	for (int i = 0; i < FS * 9; i += FS)
		assert_int_equal(live_read(l, "s1", got + FS + i, FS, pts0 + LAT_US - 10000 +
					   (int64_t)(i + FS) * 1000000 / LIVE_RATE, NULL, 0), FS);
	for (int i = 0; i < 10; i++)
		idx[i] = i;
	want = reference(idx, 10);
	for (int i = 0; i < 480; i++)
		assert_int_equal(got[i], 0);
	assert_memory_equal(got + 480, want, (size_t)(FS * 10 - 480) * sizeof(int16_t));
	free(want);
	assert_int_equal(live_get_stats(l, "s1", &st), 0);
	assert_int_equal(st.frames, 10);
	assert_int_equal(st.decoded, 10);
	assert_int_equal(st.fec + st.plc + st.silent, 0);
	live_free(l);
}

/* Joining late: the read position is where the clock says, mid-stream. */
static void test_join_late(void **state)
{
	struct live *l = new_live();
	int64_t pts0 = cx_mono_us() - 100000;
	int16_t got[FS];
	struct live_stats st;

	(void)state;
	open_stream(l, "s", cx_mono_us());
	for (uint32_t k = 0; k < 10; k++)
		feed(l, "s", k, pts0, 0);
	/* Due now: frame 4 exactly, and only it is decoded; frames 0..4 are
	 * then behind the player. */
	assert_int_equal(live_read(l, "s", got, FS, pts0 + LAT_US + 4 * LIVE_FRAME_US, NULL, 0), FS);
	assert_int_equal(live_get_stats(l, "s", &st), 0);
	assert_int_equal(st.decoded, 1);
	assert_int_equal(feed(l, "s", 4, pts0, 0), 1);
	assert_int_equal(live_get_stats(l, "s", &st), 0);
	assert_int_equal(st.dup, 1);
	live_free(l);
}

static void test_rejects(void **state)
{
	struct live *l = new_live();
	unsigned char buf[LIVEFRAME_MAX];
	int64_t pts0 = cx_mono_us();
	struct live_stats st;
	int16_t pcm[FS];
	int n;

	(void)state;
	/* Not open: ignored without a look. */
	n = frame(sk2, "other", 0, pts0, 0, buf);
	buf[0] = 'X';
	assert_int_equal(live_on_frame(l, "other", buf, (size_t)n, pts0), 1);
	assert_int_equal(open_stream(l, "s", pts0), 0);
	assert_int_equal(live_on_frame(l, "s", buf, (size_t)n, pts0), -EBADMSG);
	/* Signed by a key the node does not trust. */
	{
		struct env_key only = key;
		struct live *l2 = live_new(&only, 1, LAT_MS);

		open_stream(l2, "s", pts0);
		n = frame(sk2, "s", 0, pts0, 0, buf);
		assert_int_equal(live_on_frame(l2, "s", buf, (size_t)n, pts0), -EKEYREJECTED);
		live_free(l2);
	}
	/* Signed by a trusted key, but for another stream (taped from an
	 * earlier live alert and replayed on this one's topic). */
	n = frame(sk, "earlier", 0, pts0, 0, buf);
	assert_int_equal(live_on_frame(l, "s", buf, (size_t)n, pts0), -EKEYREJECTED);
	/* Duplicates, and frames the player has already passed. */
	assert_int_equal(feed(l, "s", 0, pts0, 0), 0);
	assert_int_equal(feed(l, "s", 0, pts0, 0), 1);
	assert_int_equal(feed(l, "s", 1, pts0, 0), 0);
	assert_int_equal(live_read(l, "s", pcm, FS, pts0 + LAT_US + 2 * LIVE_FRAME_US, NULL, 0), FS);
	assert_int_equal(feed(l, "s", 2, pts0, 0), 1);  /* being played: too late */
	assert_int_equal(feed(l, "s", 3, pts0, 0), 0);
	assert_int_equal(live_get_stats(l, "s", &st), 0);
	assert_int_equal(st.dup, 1);
	assert_int_equal(st.late, 1);
	assert_int_equal(st.frames, 3);
	assert_int_equal(live_get_stats(l, "nope", &st), -ENOENT);
	live_free(l);
}

/* A lost frame comes back from the next one's FEC; two lost in a row
 * get PLC for the first; more than LIVE_PLC_FRAMES become silence. */
static void test_concealment(void **state)
{
	struct live *l = new_live();
	int64_t pts0 = cx_mono_us() - 100000;
	int16_t pcm[FS];
	struct live_stats st;
	bool silent;

	(void)state;
	open_stream(l, "s", cx_mono_us());
	for (uint32_t k = 0; k < 40; k++)
		if (k != 3 && k != 10 && k != 11 && (k < 20 || k > 30))
			assert_int_equal(feed(l, "s", k, pts0, 0), 0);
	for (int k = 0; k < 40; k++) {
		assert_int_equal(live_read(l, "s", pcm, FS, pts0 + LAT_US + (int64_t)k * LIVE_FRAME_US,
					   NULL, 0), FS);
		if (k == 28) {
			silent = true;
			for (int i = 0; i < FS; i++)
				silent = silent && pcm[i] == 0;
			assert_true(silent);
		}
	}
	assert_int_equal(live_get_stats(l, "s", &st), 0);
	/* 3: FEC from 4. 10: PLC (11 missing too), 11: FEC from 12.
	 * 20..30 (11 frames): 20..24 PLC, 25..29 silent, 30: FEC from 31. */
	assert_int_equal(st.fec, 3);
	assert_int_equal(st.plc, 6);
	assert_int_equal(st.silent, 5);
	assert_int_equal(st.decoded, 40 - 14);
	live_free(l);
}

/* Before playout starts, an earlier frame that arrives second still fixes
 * the timeline. */
static void test_reorder(void **state)
{
	struct live *l = new_live();
	int64_t pts0 = cx_mono_us() - 100000;
	int16_t got[FS * 3], *want;
	int idx[3] = { 0, 1, 2 };

	(void)state;
	open_stream(l, "s", cx_mono_us());
	feed(l, "s", 1, pts0, 0);
	feed(l, "s", 2, pts0, 0);
	feed(l, "s", 0, pts0, 0);
	for (int k = 0; k < 3; k++)
		assert_int_equal(live_read(l, "s", got + k * FS, FS,
					   pts0 + LAT_US + (int64_t)k * LIVE_FRAME_US, NULL, 0), FS);
	want = reference(idx, 3);
	assert_memory_equal(got, want, sizeof(got));
	free(want);
	live_free(l);
}

/* The last frame ends the read; the stream then closes after a grace. */
static void test_last_frame(void **state)
{
	struct live *l = new_live();
	int64_t pts0 = cx_mono_us() - 100000;
	int16_t pcm[FS * 2];
	char name[LIVE_STREAM_MAX + 1];
	int64_t over;

	(void)state;
	open_stream(l, "s", cx_mono_us());
	for (uint32_t k = 0; k < 5; k++)
		feed(l, "s", k, pts0, k == 4 ? LIVEFRAME_LAST : 0);
	/* 2.5 frames in: 2.5 frames left, then the end. */
	assert_int_equal(live_read(l, "s", pcm, FS * 2, pts0 + LAT_US + 2 * LIVE_FRAME_US + 10000,
				   NULL, 0), FS * 2);
	assert_int_equal(live_read(l, "s", pcm, FS * 2, pts0 + LAT_US + 4 * LIVE_FRAME_US + 10000,
				   NULL, 0), FS / 2);
	assert_int_equal(live_read(l, "s", pcm, FS, pts0 + LAT_US + 5 * LIVE_FRAME_US, NULL, 0), 0);
	over = pts0 + 5 * LIVE_FRAME_US + LAT_US + 1000000;
	assert_true(live_next_us(l) == over);
	assert_int_equal(live_poll_ended(l, over - 1, name, NULL), 0);
	assert_int_equal(live_poll_ended(l, over, name, NULL), 1);
	assert_string_equal(name, "s");
	assert_false(live_is_open(l, "s"));
	assert_true(live_next_us(l) == INT64_MAX);
	/* Closed: reads end, frames are ignored. */
	assert_int_equal(live_read(l, "s", pcm, FS, pts0, NULL, 0), 0);
	assert_int_equal(feed(l, "s", 5, pts0, 0), 1);
	live_free(l);
}

/* No frame for LIVE_IDLE_US: over; never any frame: the player fails. */
static void test_idle(void **state)
{
	struct live *l = new_live();
	int64_t now = cx_mono_us(), pts0 = now - 5000000;
	int16_t pcm[FS];
	char err[128] = "", name[LIVE_STREAM_MAX + 1];
	struct live_stats st;

	(void)state;
	/* Opened 4 s ago, nothing since. */
	open_stream(l, "quiet", now - 4000000);
	assert_int_equal(live_read(l, "quiet", pcm, FS, now, err, sizeof(err)), -ENODATA);
	assert_non_null(strstr(err, "no live audio"));
	/* Opened now: silence while waiting. */
	open_stream(l, "fresh", now);
	assert_int_equal(live_read(l, "fresh", pcm, FS, now, err, sizeof(err)), FS);
	/* Frames that stopped 4 s ago (the last arrival stamps now - 4 s). */
	open_stream(l, "gone", now - 4500000);
	{
		unsigned char buf[LIVEFRAME_MAX];

		for (uint32_t k = 0; k < 3; k++) {
			int n = frame(sk, "gone", k, pts0 + (int64_t)k * LIVE_FRAME_US, 0, buf);

			assert_int_equal(live_on_frame(l, "gone", buf, (size_t)n, now - 4000000), 0);
		}
	}
	/* Read from its start: the 3 frames, then the end. */
	assert_int_equal(live_read(l, "gone", pcm, FS, pts0 + LAT_US, NULL, 0), FS);
	assert_int_equal(live_read(l, "gone", pcm, FS, pts0 + LAT_US + LIVE_FRAME_US, NULL, 0), FS);
	assert_int_equal(live_read(l, "gone", pcm, FS, pts0 + LAT_US + 2 * LIVE_FRAME_US, NULL, 0), FS);
	assert_int_equal(live_read(l, "gone", pcm, FS, pts0 + LAT_US + 3 * LIVE_FRAME_US, NULL, 0), 0);
	/* "quiet" and "gone" are over now, "fresh" is not. */
	assert_int_equal(live_poll_ended(l, now, name, &st), 1);
	assert_int_equal(live_poll_ended(l, now, name, &st), 1);
	assert_int_equal(live_poll_ended(l, now, name, &st), 0);
	assert_true(live_is_open(l, "fresh"));
	live_free(l);
}

static void test_open(void **state)
{
	struct live *l = new_live();
	char name[16];

	(void)state;
	assert_int_equal(open_stream(l, "a/b", 0), -EINVAL);
	assert_int_equal(open_stream(l, "", 0), -EINVAL);
	/* A window that ends before it starts. */
	assert_int_equal(live_open(l, "x", 0, 2, 1), -EINVAL);
	assert_false(live_is_open(l, "x"));
	assert_int_equal(live_open(l, "x", 0, 1, 1), 0);
	assert_int_equal(open_stream(l, "x", 0), 0);  /* idempotent */
	for (int i = 1; i < LIVE_MAX_STREAMS; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		assert_int_equal(open_stream(l, name, 0), 0);
	}
	assert_int_equal(open_stream(l, "one-too-many", 0), -ENOSPC);
	/* Windows at the ends of the clock do not overflow. */
	live_free(l);
	l = new_live();
	assert_int_equal(live_open(l, "x", 0, INT64_MIN, INT64_MAX), 0);
	{
		unsigned char buf[LIVEFRAME_MAX];
		int n = frame(sk, "x", 0, (int64_t)1 << 62, 0, buf);

		assert_int_equal(live_on_frame(l, "x", buf, (size_t)n, 0), 0);
	}
	live_free(l);
	assert_null(live_new(&key, 0, LAT_MS));
	live_free(NULL);
}

/* Frames whose pts lies outside their alert's window, widened by
 * LIVE_WINDOW_SLACK_US at both ends, are rejected once verified: an
 * earlier alert's frames on a stream of the same name do not play. */
static void test_window(void **state)
{
	struct live *l = new_live();
	unsigned char buf[LIVEFRAME_MAX];
	int64_t now = cx_mono_us(), from = now - 1000000, until = now + 60000000;
	struct live_stats st;
	struct liveframe bad = { .seq = 0, .pts_us = UINT64_MAX, .opus_len = 0 };
	int16_t pcm[FS];
	int n;

	(void)state;
	assert_int_equal(live_open(l, "w", now, from, until), 0);
	/* An hour before the alert was issued: what a taped earlier alert
	 * with the same stream name would carry. */
	n = frame(sk, "w", 0, from - 3600000000LL, 0, buf);
	assert_int_equal(live_on_frame(l, "w", buf, (size_t)n, now), -ERANGE);
	n = frame(sk, "w", 0, from - LIVE_WINDOW_SLACK_US - 1, 0, buf);
	assert_int_equal(live_on_frame(l, "w", buf, (size_t)n, now), -ERANGE);
	n = frame(sk, "w", 0, until + LIVE_WINDOW_SLACK_US + 1, 0, buf);
	assert_int_equal(live_on_frame(l, "w", buf, (size_t)n, now), -ERANGE);
	n = liveframe_build(&bad, "w", sk, buf, sizeof(buf));
	assert_int_equal(live_on_frame(l, "w", buf, (size_t)n, now), -ERANGE);
	/* The signature is looked at first. */
	n = frame(sk, "other", 0, from - 3600000000LL, 0, buf);
	assert_int_equal(live_on_frame(l, "w", buf, (size_t)n, now), -EKEYREJECTED);
	/* None of them was kept, nor fixed the timeline. */
	assert_int_equal(live_get_stats(l, "w", &st), 0);
	assert_int_equal(st.frames + st.dup + st.late, 0);
	/* Opening the stream again does not move its window. */
	assert_int_equal(live_open(l, "w", now, until, until + 1000000), 0);
	/* The edges of the window, slack included, are inside; the first
	 * frame kept fixes the timeline. */
	n = frame(sk, "w", 0, from - LIVE_WINDOW_SLACK_US, 0, buf);
	assert_int_equal(live_on_frame(l, "w", buf, (size_t)n, now), 0);
	n = frame(sk, "w", 1, until + LIVE_WINDOW_SLACK_US, 0, buf);
	assert_int_equal(live_on_frame(l, "w", buf, (size_t)n, now), 0);
	assert_int_equal(live_get_stats(l, "w", &st), 0);
	assert_int_equal(st.frames, 2);
	assert_int_equal(live_read(l, "w", pcm, FS, from - LIVE_WINDOW_SLACK_US + LAT_US, NULL, 0),
			 FS);
	assert_int_equal(live_get_stats(l, "w", &st), 0);
	assert_int_equal(st.decoded, 1);
	live_free(l);
}

/* The clock offset moves the timeline: controller = local + offset. */
static void test_offset(void **state)
{
	struct live *l = new_live();
	int64_t pts0 = cx_mono_us() - 100000, off = 7000;
	int16_t a[FS], b[FS];

	(void)state;
	open_stream(l, "s", cx_mono_us());
	for (uint32_t k = 0; k < 5; k++)
		feed(l, "s", k, pts0, 0);
	live_set_offset(l, off);
	/* Local instant pts0 + LAT - off is controller pts0 + LAT: frame 0. */
	assert_int_equal(live_read(l, "s", a, FS, pts0 + LAT_US - off, NULL, 0), FS);
	live_rewind(l, "s");
	live_set_offset(l, 0);
	assert_int_equal(live_read(l, "s", b, FS, pts0 + LAT_US, NULL, 0), FS);
	/* Both start at frame 0 (b decoded after a: compare the first
	 * frame's energy, not bits). */
	{
		double ea = 0, eb = 0;

		for (int i = 0; i < FS; i++) {
			ea += (double)a[i] * a[i];
			eb += (double)b[i] * b[i];
		}
		assert_true(ea > 0 && eb > 0);
	}
	live_free(l);
}

/* Following the player's clock: nothing in the first LIVE_FOLLOW_AFTER_US,
 * then a slew back into the dead band; a lasting step is jumped. */
static void test_follow(void **state)
{
	struct live *l = new_live();
	int64_t pts0 = cx_mono_us() - 100000, drift = 0;
	int16_t pcm[FS];
	struct live_stats st;
	int k;

	(void)state;
	open_stream(l, "s", cx_mono_us());
	for (uint32_t f = 0; f < 10; f++)
		feed(l, "s", f, pts0, 0);
	/* The device runs late by 8 ms from the second read on. */
	for (k = 0; k < 900; k++) {
		assert_int_equal(live_read(l, "s", pcm, FS, pts0 + LAT_US + (int64_t)k * LIVE_FRAME_US +
					   drift, NULL, 0), FS);
		drift = 8000;
	}
	assert_int_equal(live_get_stats(l, "s", &st), 0);
	assert_int_equal(st.slewed, 0);
	for (; k < 1600; k++)
		assert_int_equal(live_read(l, "s", pcm, FS, pts0 + LAT_US + (int64_t)k * LIVE_FRAME_US +
					   drift, NULL, 0), FS);
	assert_int_equal(live_get_stats(l, "s", &st), 0);
	/* From 8 ms back to 2 ms: about 6 ms of 20.8 us samples. */
	assert_true(st.slewed > 200 && st.slewed < 400);
	assert_int_equal(st.jumps, 0);
	/* An xrun: 100 ms more, for good. */
	drift += 100000;
	for (int j = 0; j < LIVE_JUMP_READS + 2; j++, k++)
		assert_int_equal(live_read(l, "s", pcm, FS, pts0 + LAT_US + (int64_t)k * LIVE_FRAME_US +
					   drift, NULL, 0), FS);
	assert_int_equal(live_get_stats(l, "s", &st), 0);
	assert_int_equal(st.jumps, 1);
	live_free(l);
}

/* The player's view: a source that rewinds on its first read. */
static void test_player_source(void **state)
{
	struct live *l = new_live();
	struct player_live src;
	int64_t pts0 = cx_mono_us() - 100000;
	int16_t pcm[FS];
	char err[64];

	(void)state;
	open_stream(l, "s", cx_mono_us());
	for (uint32_t k = 0; k < 3; k++)
		feed(l, "s", k, pts0, k == 2 ? LIVEFRAME_LAST : 0);
	assert_int_equal(live_player_source(l, "s", &src), 0);
	assert_int_equal(src.read(src.ud, pcm, FS, pts0 + LAT_US, err, sizeof(err)), FS);
	assert_int_equal(src.read(src.ud, pcm, FS, pts0 + LAT_US + LIVE_FRAME_US, err, sizeof(err)), FS);
	assert_int_equal(src.read(src.ud, pcm, FS, pts0 + LAT_US + 2 * LIVE_FRAME_US, err, sizeof(err)), FS);
	assert_int_equal(src.read(src.ud, pcm, FS, pts0 + LAT_US + 3 * LIVE_FRAME_US, err, sizeof(err)), 0);
	src.release(src.ud);
	live_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_join_late),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_concealment),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_last_frame),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_offset),
		cmocka_unit_test(test_follow),
		cmocka_unit_test(test_player_source),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
