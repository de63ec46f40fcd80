/* SPDX-License-Identifier: GPL-2.0-or-later */
/* encode.h -- audio to assets: mono voice-tuned Ogg Opus named by SHA-256 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define ENC_DEFAULT_BITRATE 24000

struct enc;

/* Start an asset encoder for mono PCM at RATE Hz (libopusenc resamples),
 * BITRATE bit/s VBR, voice signal. The Ogg serial number is derived from
 * SEED so the same input gives byte-identical output. NULL + errno. */
struct enc *enc_new(int rate, int bitrate, uint32_t seed);
/* Feed mono samples. \retval 0 / -EIO */
int enc_write_float(struct enc *e, const float *pcm, int samples);
int enc_write_s16(struct enc *e, const int16_t *pcm, int samples);
/* Finish: the complete Ogg Opus file in *BUF (malloc'ed, *LEN bytes) and its
 * duration. Frees E whatever the result. \retval 0 / -EIO / -ENOMEM */
int enc_finish(struct enc *e, unsigned char **buf, size_t *len, int64_t *duration_ms);
void enc_free(struct enc *e);

/* Store BUF as DIR/SHA.opus (atomic; an existing file of that name is kept)
 * and return its SHA. \retval 0 / -errno */
int enc_store(const char *dir, const unsigned char *buf, size_t len, char sha[CX_SHA256_HEX]);

/* Re-encode an audio file (wav, flac, mp3 through libsndfile; opus through
 * opusfile; multichannel is mixed down) to an asset in ASSETS_DIR.
 * CACHE_DIR (may be NULL) remembers input-hash -> asset so an unchanged file
 * is never encoded twice. ERR (may be NULL) receives a one-line reason.
 * \retval 0 / -ENOENT / -EMEDIUMTYPE unreadable audio / -errno */
int enc_file_asset(const char *path, int bitrate, const char *assets_dir,
		   const char *cache_dir, char sha[CX_SHA256_HEX], int64_t *duration_ms,
		   char *err, size_t errlen);
