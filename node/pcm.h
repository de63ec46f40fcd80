/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pcm.h -- the ALSA output of the player: opening with backoff, mono or
 * stereo S16_LE 48 kHz, the fill and delay of the device, xrun recovery */
#pragma once

#include <alsa/asoundlib.h>
#include <stdbool.h>
#include <stdint.h>

#include "asset.h"

#define PCM_RATE  ASSET_RATE
#define PCM_CHUNK 4800          /* 100 ms: the most pcm_put() takes at once */

/* The PCM is opened non-blocking with the buffer and periods last asked
 * for by pcm_want; it starts once its buffer is full.
 *
 * Devices that are not paced in real time (the `file`/`null` PCMs used by
 * the tests) report a delay of 0 whatever was written. For them the delay
 * is modelled as frames written minus CLOCK_MONOTONIC time elapsed
 * (pcm_queued); a device that reports a positive delay is always taken at
 * its word. */
struct pcm {
	const char *device;     /* ALSA PCM name (not copied) */
	const char *mixer;      /* simple mixer element set to full and unmuted, or NULL */
	int buffer_ms;          /* what the next open asks for (pcm_want) */
	int periods;

	/* Read by the caller, written here. */
	snd_pcm_t *h;           /* NULL while closed */
	unsigned channels;
	snd_pcm_uframes_t buffer_size, period_size;
	int open_buffer_ms;     /* what the open PCM was asked for */
	int open_periods;
	uint64_t xruns;         /* underruns and suspends recovered */
	bool fault;             /* the device cannot be opened now, or was lost */
	char fault_reason[128];
	int64_t retry_at;       /* mono: the next try to open while at fault */

	/* Here only. */
	int64_t backoff_us;
	int last_open_err;
	int64_t anchor_us;      /* delay model for unpaced devices; 0 = unset */
	int64_t anchor_frames;
	bool taken;             /* the device has taken audio since the start */
	bool paced;             /* ... and reported a delay since then */
	bool mixer_warned;
	int16_t out[PCM_CHUNK * 2];
};

/* Closed, no fault, asking for BUFFER_MS in 4 periods. ALSA's own error
 * messages are routed to log_debug (a process-wide setting, done once).
 * The strings are not copied. */
void pcm_init(struct pcm *pc, const char *device, const char *mixer, int buffer_ms);

/* Ask for a buffer of BUFFER_MS (20..2000) in PERIODS periods (2..16)
 * from the next open on; the values are clamped to those ranges.
 * \retval true the PCM is open with another buffer: close it (when it is
 * quiet) and open it again to get this one / false it has this one, or is
 * closed */
bool pcm_want(struct pcm *pc, int buffer_ms, int periods);

/* Open the device unless it is open, or at fault and its retry time has
 * not come; a failure marks the fault (logged when new) and schedules the
 * next try with backoff (0.5 s doubling to 10 s).
 * \retval 0 open / -EAGAIN not yet / -errno from ALSA */
int pcm_try_open(struct pcm *pc);

/* Drop what is queued and close. Accepts a closed PCM. */
void pcm_close(struct pcm *pc);

/* Stop the stream now (queued frames discarded) and make it ready again.
 * \retval 0 / -errno from snd_pcm_prepare */
int pcm_stop(struct pcm *pc);

/* Room in the ring (*AVAIL frames) and frames ahead of the next write per
 * the device (*DELAY, 0 when it has none), at *NOW (CLOCK_MONOTONIC, µs, the
 * middle of the query). An underrun the device does not report (its delay
 * runs out while its ring stays full) is counted in xruns and the stream
 * restarted. \retval 0 / 1 the stream was restarted: ask again / -errno
 * for pcm_recover */
int pcm_query(struct pcm *pc, snd_pcm_sframes_t *avail, snd_pcm_sframes_t *delay, int64_t *now);

/* Frames queued ahead of the next write at NOW. D is what the device says;
 * *MODELLED tells whether the model had to stand in for it. */
int64_t pcm_queued(struct pcm *pc, snd_pcm_sframes_t d, int64_t now, bool *modelled);
/* The same, asking the device now. 0 when closed. */
int64_t pcm_current_queue(struct pcm *pc);

/* Queue N (at most PCM_CHUNK) mono frames, NULL for silence, at NOW.
 * \retval frames queued / -errno (for pcm_recover) */
int pcm_put(struct pcm *pc, const int16_t *mono, int n, int64_t now);

/* Recover from ERR met while streaming: -EAGAIN is nothing, -EPIPE (an
 * underrun) and -ESTRPIPE (a suspend) are counted in xruns and recovered.
 * Anything else, or a failed recovery, means the device went away: it is
 * closed, marked at fault (logged) and retried with backoff.
 * \retval 0 go on / <0 the device is gone */
int pcm_recover(struct pcm *pc, int err);
