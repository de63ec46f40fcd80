/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alert_audio.h -- an alert's audio: speech or a recording rendered into assets, and published */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "pub.h"
#include "store.h"

/*
 * What an alert plays: the voice's chime (if its profile has one) and the
 * text spoken, or a recording; each an Opus asset in DATA_DIR/assets,
 * published retained before the alert names it, so that a node that
 * subscribes when the alert arrives finds it. Used by `cunxiang alert` and
 * by automatic warnings alike. Nothing here prints: errors come back in
 * ERR (one line).
 */

struct alert_audio {
	struct {
		char sha[CX_SHA256_HEX];
		int64_t duration_ms, size;
		char *path;
	} a[2];
	size_t n;
	int64_t duration_ms;          /* one play: the sum */
};

/* TEXT spoken by voice profile VOICE of VOICES_DIR, after its chime, into
 * OUT (alert_audio_free() it, also on error). CACHE_DIR may be NULL.
 * \retval 0 / -errno (ERR) */
int alert_audio_speech(const char *voices_dir, const char *voice, const char *text,
		       const char *assets_dir, const char *cache_dir, struct alert_audio *out,
		       char *err, size_t errlen);

/* The recording PATH (wav, flac, mp3, opus) encoded into OUT.
 * \retval 0 / -errno (ERR) */
int alert_audio_file(const char *path, const char *assets_dir, const char *cache_dir,
		     struct alert_audio *out, char *err, size_t errlen);

/* Publish the assets of A (retained, QoS 1) through P, note them in ST
 * (serve clears retained assets no one referenced for 30 days) and wait up
 * to FLUSH_MS for the broker to hold them. \retval 0 / -errno (ERR) */
int alert_audio_publish(struct pub *p, struct store *st, const struct alert_audio *a,
			int64_t now, int flush_ms, char *err, size_t errlen);

void alert_audio_free(struct alert_audio *a);
