/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tts.h -- voice profiles and speech rendered by libespeak-ng into assets */
#pragma once

#include <stdint.h>

#include "diag.h"
#include "hash.h"

struct voice;

/* Find the voices directory in DESIGN order: OPT (--voices), CONF (voices:
 * in controller.yaml), SCHEDULES_DIR/voices, $CUNXIANG_VOICES, the installed
 * DATADIR/cunxiang/voices, and the source tree's voices/ for a binary run
 * from its build tree. Any argument may be NULL. Returns a malloc'ed path or
 * NULL when none exists. */
char *voices_dir_find(const char *opt, const char *conf, const char *schedules_dir);

/* Load VOICES_DIR/NAME.yaml, reporting errors (unknown keys, bad values,
 * missing chime or lexicon files, unknown espeak-ng voice) to D with file,
 * line and column. NULL when it cannot be used. */
struct voice *voice_load(const char *voices_dir, const char *name, struct diag *d);
void voice_free(struct voice *v);
const char *voice_name(const struct voice *v);
/* Absolute path of the profile's chime, or NULL when it has none. */
const char *voice_chime(const struct voice *v);

/* Render TEXT with V to an asset in ASSETS_DIR through libespeak-ng and
 * libopusenc (no temporary WAV). Renders are cached in CACHE_DIR (may be
 * NULL) by SHA-256 of (espeak-ng version, profile, text). ERR (may be NULL)
 * gets a one-line reason on failure.
 * \retval 0 / -EINVAL empty text / -EIO synthesis failed / -errno */
int tts_asset(const struct voice *v, const char *text, const char *assets_dir,
	      const char *cache_dir, char sha[CX_SHA256_HEX], int64_t *duration_ms,
	      char *err, size_t errlen);

/* Release espeak-ng (at exit). */
void tts_shutdown(void);
