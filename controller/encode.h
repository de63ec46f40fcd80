/* SPDX-License-Identifier: GPL-2.0-or-later */
/* encode.h -- audio to assets: mono voice-tuned Ogg Opus named by SHA-256 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define ENC_DEFAULT_BITRATE 24000
/* Recordings are coded full band at the slowest and best complexity. */
#define ENC_FILE_RATE 48000
#define ENC_FILE_COMPLEXITY 10
/* Speech is coded at 16 kHz (Opus wideband, SILK): a horn loudspeaker
 * gives little above 7 kHz, and the coder spends its effort and its bits on
 * the band a listener understands a voice by. Complexity 5 is the lowest at
 * which three notices (two Mandarin, one English) all came out at least as
 * close to espeak-ng's output as opusenc's 48 kHz render at complexity 10
 * (tests/bench/tts_quality.c: segmental SNR and log-spectral distance,
 * 50 Hz..7 kHz); at 1 to 3 the English one came out further. */
#define ENC_SPEECH_RATE 16000
#define ENC_SPEECH_COMPLEXITY 5
/* Limits on an input file, checked before it is decoded: its size in bytes
 * and its length (3 hours, the longest asset ASSET_MAX_BYTES allows). */
#define ENC_MAX_INPUT_BYTES (4ull << 30)
#define ENC_MAX_SECONDS (3 * 3600)
/* Most channels accepted in an input file (they are mixed down to mono). */
#define ENC_MAX_CHANNELS 64

struct enc;

/* Start an asset encoder for mono PCM at RATE Hz (8000..192000), coded at
 * CODED_RATE Hz (8000, 12000, 16000, 24000 or 48000; the input is resampled
 * once, by resample.c, when the rates differ), BITRATE bit/s (6000..256000)
 * VBR, voice signal, COMPLEXITY 0..10. The Ogg serial number is SEED, so
 * the same input gives byte-identical output. NULL + errno (EINVAL a bad
 * setting, ENOMEM). */
struct enc *enc_new(int rate, int coded_rate, int bitrate, int complexity, uint32_t seed);
/* Feed mono samples. \retval 0 / -EIO / -EFBIG the asset would exceed
 * ASSET_MAX_BYTES */
int enc_write_float(struct enc *e, const float *pcm, int samples);
int enc_write_s16(struct enc *e, const int16_t *pcm, int samples);
/* Finish: the complete Ogg Opus file in *BUF (malloc'ed, *LEN bytes) and its
 * duration as a decoder reports it. Frees E whatever the result.
 * \retval 0 / -EIO / -ENOMEM / -EFBIG / -ENODATA no sample was written */
int enc_finish(struct enc *e, unsigned char **buf, size_t *len, int64_t *duration_ms);
void enc_free(struct enc *e);

/* An Ogg serial number from a cache KEY (its first 8 hex digits), so that
 * the serial is as reproducible as the key. */
uint32_t enc_seed(const char *key);

/* Store BUF as DIR/SHA.opus (atomic; an existing file of that name is kept)
 * and return its SHA. \retval 0 / -errno */
int enc_store(const char *dir, const unsigned char *buf, size_t len, char sha[CX_SHA256_HEX]);

/* The render caches: CACHE_DIR/KEY (KEY is 64 hex digits, a SHA-256 of
 * whatever determines the output) holds the SHA of the asset it produced.
 * enc_cache_get() succeeds only when ASSETS_DIR/SHA.opus exists and
 * verifies, and then gives its duration; a missing, corrupt or dangling
 * entry is a miss. \retval 0 hit / -ENOENT miss */
int enc_cache_get(const char *cache_dir, const char *key, const char *assets_dir,
		  char sha[CX_SHA256_HEX], int64_t *duration_ms);
/* Record KEY -> SHA (atomic). \retval 0 / -errno */
int enc_cache_put(const char *cache_dir, const char *key, const char *sha);

/* Re-encode an audio file (wav, flac, mp3 through libsndfile; opus through
 * opusfile; multichannel is mixed down) to an asset in ASSETS_DIR.
 * CACHE_DIR (may be NULL) remembers input-hash -> asset so an unchanged file
 * is never encoded twice (the key is the file's SHA-256 and BITRATE). The
 * file's size and length are checked against ENC_MAX_INPUT_BYTES and
 * ENC_MAX_SECONDS before decoding. ERR (may be NULL) receives a one-line
 * reason naming PATH.
 * \retval 0 / -ENOENT / -EMEDIUMTYPE unreadable audio / -EFBIG too large or
 * too long / -ENODATA no audio in it / -errno */
int enc_file_asset(const char *path, int bitrate, const char *assets_dir,
		   const char *cache_dir, char sha[CX_SHA256_HEX], int64_t *duration_ms,
		   char *err, size_t errlen);
