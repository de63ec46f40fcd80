/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tts.h -- voice profiles and speech rendered by libespeak-ng into assets */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "hash.h"

/* Longest notice text accepted, in bytes of UTF-8 (about 21,000 characters
 * of Chinese, over two hours of speech). */
#define TTS_MAX_TEXT_BYTES (64u << 10)

struct voice;

/* Find the voices directory in DESIGN order: OPT (--voices), CONF (voices:
 * in controller.yaml), SCHEDULES_DIR/voices, $CUNXIANG_VOICES, the installed
 * DATADIR/cunxiang/voices, and the source tree's voices/ for a binary run
 * from its build tree. Any argument may be NULL. Returns a malloc'ed path or
 * NULL when none exists. OPT, CONF and $CUNXIANG_VOICES are explicit
 * choices and are returned even when they do not exist, so that a typo is
 * reported by voice_load() instead of silently replaced; the others are
 * used only when they are directories. "Run from its build tree" means the
 * executable (/proc/self/exe) lies below a meson build directory (one that
 * holds meson-private/). */
char *voices_dir_find(const char *opt, const char *conf, const char *schedules_dir);

/* Load VOICES_DIR/NAME.yaml, reporting errors (unknown keys, bad values,
 * missing chime or lexicon files, unknown espeak-ng voice) to D with file,
 * line and column. NULL when it cannot be used.
 *
 * Keys: name (must equal NAME), engine (espeak-ng), voice (an espeak-ng
 * voice), variant (optional, a file of espeak-ng's voices/!v), rate (80..450
 * words per minute, default 175), pitch (0..100, default 50), chime and
 * lexicon (optional paths relative to VOICES_DIR).
 *
 * A lexicon is UTF-8 text, one entry per line: WORD, a tab, REPLACEMENT.
 * Blank lines and lines starting with '#' are ignored. Before synthesis
 * every occurrence of a WORD is replaced, the longest WORD winning where
 * several start at the same place; REPLACEMENT is text (homophone
 * characters) or espeak-ng phonemes in [[ ]]. Errors are reported as
 * FILE:LINE:COL. Loading initialises espeak-ng (once per process). */
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

/* Render TEXT with V to Ogg Opus bytes in *BUF (malloc'ed, *LEN bytes),
 * neither cached nor stored; the bytes are those tts_asset() would store.
 * Text longer than a few sentences is cut at sentence ends into parts that
 * are synthesised and encoded in parallel worker processes (see
 * tts_set_jobs) and joined as a chained Ogg Opus stream (RFC 7845), one
 * link per part; where the cuts fall depends only on the text, so the
 * bytes do not depend on the number of workers.
 * \retval 0 / -EINVAL empty, too long (TTS_MAX_TEXT_BYTES) or invalid
 * UTF-8 text / -EIO synthesis failed / -EFBIG / -errno */
int tts_render(const struct voice *v, const char *text, unsigned char **buf, size_t *len,
	       int64_t *duration_ms, char *err, size_t errlen);

/* Worker processes for tts_render(): N > 0 fixes the number, 0 (the
 * default) uses one per CPU this process may run on. */
void tts_set_jobs(int n);

/* The espeak-ng version string ("1.51"), initialising it if needed; NULL
 * when espeak-ng cannot start. */
const char *tts_engine_version(void);

/* Release espeak-ng (at exit). The renderer keeps process-wide state, as
 * libespeak-ng does; voice_load, tts_render, tts_asset, tts_engine_version
 * and this take one process-wide lock, so threads may call them and wait their turn. */
void tts_shutdown(void);
