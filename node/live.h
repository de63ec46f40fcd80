/* SPDX-License-Identifier: GPL-2.0-or-later */
/* live.h -- live alert streams: verified frames, jitter buffer, Opus decode
 * with FEC and PLC, PCM for the player on the controller's clock */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "liveframe.h"
#include "player.h"

/*
 * Timeline. Every frame of a stream is 20 ms; frame SEQ starts at
 * pts(first frame received) + (SEQ - its seq) × 20 ms on the controller's
 * clock (`cunxiang live` keeps pts_us = pts of seq 0 + seq × 20 ms, also
 * across capture overruns, by skipping seqs). The sample at pts P leaves
 * the speaker at P + latency on the controller's clock, i.e. at local time
 * P + latency - offset. The local clock is CLOCK_MONOTONIC (tsync.h).
 *
 * Concealment, decided when the player first needs a frame (about
 * buffer_ms before it is heard): the frame itself; else the in-band FEC
 * copy in the next frame (opus_decode decode_fec=1); else Opus PLC for up
 * to LIVE_PLC_FRAMES frames in a row; then silence.
 *
 * Window: a stream belongs to one alert, and a frame whose pts_us lies
 * outside the alert's window [issued or start, expires], widened by
 * LIVE_WINDOW_SLACK_US at both ends, is rejected after its signature
 * verified. The signature binds a frame to its stream name (liveframe.h);
 * the window binds it to the alert's time, should a stream name ever be
 * used again.
 *
 * End: a stream is over once the player has passed the frame flagged last,
 * or once LIVE_IDLE_US have passed without a frame (counted from the open
 * when none ever came) and everything received has been played.
 *
 * Thread safety: every call takes the object's lock; the player thread
 * reads while the main thread adds frames.
 */

#define LIVE_MAX_STREAMS   8         /* open at once */
#define LIVE_SLOTS         256       /* frames kept per stream (5.12 s) */
#define LIVE_PLC_FRAMES    5         /* 100 ms of PLC, then silence */
#define LIVE_IDLE_US       3000000   /* no frame for this long: the stream ended */
#define LIVE_FOLLOW_AFTER_US 20000000 /* playout follows the clock after this (live.c follow()) */
#define LIVE_SLEW_START_US 5000      /* playout drift that starts a slew */
#define LIVE_SLEW_STOP_US  2000      /* ... and where it stops */
#define LIVE_JUMP_US       40000     /* a drift this large ... */
#define LIVE_JUMP_READS    25        /* ... for this many reads (0.5 s) is jumped */
/* How far outside its alert's window a frame's pts may lie. `cunxiang live`
 * issues the alert, reads the wall clock once as capture starts (pts of
 * frame 0, less the 6.5 ms Opus lookahead and any error of the ALSA delay
 * estimate), then counts captured frames, which the sound card's crystal
 * (tens of ppm) moves off the wall clock by a few tenths of a second in
 * the hour a live alert may last, either way, while the stream ends by the
 * wall clock. 5 s covers these and a step of the controller's clock
 * between issue and capture. Another alert's frames fail their signature
 * anyway; the window keeps out frames of the same stream name from
 * another time, minutes or more away. */
#define LIVE_WINDOW_SLACK_US 5000000

struct live;

struct live_stats {
	uint64_t frames;        /* verified and stored */
	uint64_t dup;           /* already held */
	uint64_t late;          /* arrived after the player needed them */
	uint64_t decoded;       /* frames played from their own packet */
	uint64_t fec;           /* lost frames rebuilt from the next one's FEC */
	uint64_t plc;           /* lost frames concealed by PLC */
	uint64_t silent;        /* lost frames played as silence */
	uint64_t slewed;        /* samples skipped or repeated to follow the clock */
	uint64_t jumps;         /* playout re-aligned at once (xrun, clock step) */
};

/* KEYS (copied) sign the frames; LATENCY_MS is node.yaml's live.latency_ms.
 * NULL + errno. */
struct live *live_new(const struct env_key *keys, size_t nkeys, int latency_ms);
/* Accepts NULL. The player must no longer read from it. */
void live_free(struct live *l);

/* controller clock = CLOCK_MONOTONIC + OFFSET_US (tsync). */
void live_set_offset(struct live *l, int64_t offset_us);

/* From now on frames verify against KEYS (1..), as the node's trust changed.
 * \retval 0 / -EINVAL / -ENOMEM (the keys in force stay) */
int live_set_keys(struct live *l, const struct env_key *keys, size_t nkeys);
int64_t live_offset(struct live *l);

/* Expect stream NAME, opened at NOW_US, of an alert whose window is
 * [FROM_US, UNTIL_US] (all on the controller clock): frames whose pts_us
 * lies within it, LIVE_WINDOW_SLACK_US either side included, are kept.
 * Frames of streams not opened are ignored. Opening an open stream does
 * nothing (its window stays).
 * \retval 0
 * \retval -EINVAL bad name, or UNTIL_US before FROM_US
 * \retval -ENOSPC LIVE_MAX_STREAMS open / -ENOMEM */
int live_open(struct live *l, const char *name, int64_t now_us, int64_t from_us,
	      int64_t until_us);
bool live_is_open(struct live *l, const char *name);

/* The LEN bytes at BUF arrived on cx/v1/live/NAME at NOW_US (controller
 * clock). Only frames of open streams are verified (for NAME) and kept.
 * \retval 0 kept
 * \retval 1 ignored: stream not open, a duplicate, or too late to play
 * \retval -EBADMSG malformed / -EKEYREJECTED signature does not verify
 * for NAME / -ERANGE verified, but pts_us outside the stream's window */
int live_on_frame(struct live *l, const char *name, const void *buf, size_t len,
		  int64_t now_us);

/* Up to MAX samples (mono, 48 kHz) of stream NAME whose first leaves the
 * device at PLAY_US (local clock), continuing the previous call; the first
 * call after live_rewind() aligns to PLAY_US.
 * \retval samples > 0 / 0 the stream is over (or not open)
 * \retval -ENODATA nothing ever arrived within LIVE_IDLE_US (ERR says so)
 * \retval -ENOMEM */
int live_read(struct live *l, const char *name, int16_t *pcm, int max, int64_t play_us,
	      char *err, size_t errlen);
/* The next live_read of NAME aligns afresh (a new playout of the stream). */
void live_rewind(struct live *l, const char *name);

/* A player source reading stream NAME (live_rewind + live_read), for
 * player_item.live. OUT->ud is allocated; the player releases it.
 * \retval 0 / -ENOMEM */
int live_player_source(struct live *l, const char *name, struct player_live *out);

/* Close one stream that is over at NOW_US (controller clock) — its last
 * frame played, or idle — with a grace of a second for the player to end it
 * first; its name goes to NAME, its counters to ST (may be NULL).
 * \retval 1 one closed (call again) / 0 none */
int live_poll_ended(struct live *l, int64_t now_us, char name[LIVE_STREAM_MAX + 1],
		    struct live_stats *st);
/* When live_poll_ended should be called next (controller µs), INT64_MAX
 * when no stream is open. */
int64_t live_next_us(struct live *l);

/* Counters of stream NAME. \retval 0 / -ENOENT */
int live_get_stats(struct live *l, const char *name, struct live_stats *st);
