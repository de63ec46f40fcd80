/* SPDX-License-Identifier: GPL-2.0-or-later */
/* capture.h -- live audio in: an ALSA capture device or a file read in real time, as 20 ms frames */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "liveframe.h"

/*
 * One backend per source, chosen by its name: "alsa:DEVICE" captures from
 * that ALSA PCM (48 kHz S16, mono or stereo mixed down); anything else is
 * an audio file (libsndfile: wav, flac, ogg, ...; any channel count, mixed
 * down; any rate from 8 to 192 kHz, resampled linearly: enough for speech)
 * handed out at the pace it would be spoken. Either way a read gives one
 * frame of LIVE_FRAME_SAMPLES mono samples at LIVE_RATE.
 */

struct capture;

/* Open SRC, so that a missing microphone or an unreadable file fails
 * before anything is sent; nothing is captured before capture_start().
 * \retval 0 (*OUT set) / -errno (ERR says why: "cannot open capture device
 * 'hw:9': No such file or directory", "cannot read speech.wav: ...") */
int capture_open(const char *src, struct capture **out, char *err, size_t errlen);

/* Start capturing now (a device drops what it held). A file starts its
 * clock at the first read. \retval 0 / -errno (ERR says why) */
int capture_start(struct capture *c, char *err, size_t errlen);

/* The next frame into PCM.
 * *FIRST_US: the wall clock (CLOCK_REALTIME µs) of the frame's first
 * sample: when a device captured it (from snd_pcm_delay), or, for a file,
 * the instant it stands for (the first read's instant plus 20 ms a frame).
 * Left as it was when unknown (a device read that failed or was
 * interrupted). A file's read returns once the frame's last sample would
 * have been spoken (earlier when a signal interrupts the wait).
 * \retval LIVE_FRAME_SAMPLES  a whole frame
 * \retval 0..LIVE_FRAME_SAMPLES-1  the end (of the file; a device read
 *         interrupted by a signal gives 0): only that many samples are set
 * \retval -EPIPE   a device overrun, recovered: audio was lost, the caller
 *                  re-anchors its timeline on the next frame's *FIRST_US
 * \retval -errno   the source failed (ERR says why); the stream ends */
int capture_read(struct capture *c, int16_t pcm[LIVE_FRAME_SAMPLES], int64_t *first_us,
		 char *err, size_t errlen);

/* Close C (NULL is fine). */
void capture_close(struct capture *c);
