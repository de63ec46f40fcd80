/* SPDX-License-Identifier: GPL-2.0-or-later */
/* asset.h -- Ogg Opus assets: verify by SHA-256, probe, decode to PCM */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* Largest asset accepted anywhere (a 3-hour notice at 24 kbit/s is ~33 MB). */
#define ASSET_MAX_BYTES (64u << 20)
/* Decoded assets are 48 kHz mono, 16-bit. */
#define ASSET_RATE 48000

/* File name of an asset in a directory: "SHA.opus". OUT holds 64+5+1. */
void asset_filename(const char *sha, char out[CX_SHA256_HEX + 5]);

/* Check that the LEN bytes hash to SHA and are a decodable Ogg Opus stream.
 * \retval 0
 * \retval -EBADMSG   hash mismatch
 * \retval -EMEDIUMTYPE not Ogg Opus
 * \retval -EMSGSIZE  larger than ASSET_MAX_BYTES */
int asset_verify_mem(const void *buf, size_t len, const char *sha);
/* Same for a file; -errno when it cannot be read. */
int asset_verify_file(const char *path, const char *sha);

/* Duration in ms of an Ogg Opus file/buffer (from the granule position,
 * pre-skip removed). \retval 0 / -EMEDIUMTYPE / -errno */
int asset_duration_file(const char *path, int64_t *ms);
int asset_duration_mem(const void *buf, size_t len, int64_t *ms);

struct asset_dec;
/* Open an Ogg Opus file for decoding to 48 kHz mono s16. NULL + errno. */
struct asset_dec *asset_dec_open(const char *path);
/* Decode up to MAX samples. \retval samples (0 at end) / -EBADMSG on corrupt data */
int asset_dec_read(struct asset_dec *d, int16_t *pcm, int max);
/* Seek to sample offset (48 kHz). \retval 0 / -EINVAL */
int asset_dec_seek(struct asset_dec *d, int64_t sample);
void asset_dec_close(struct asset_dec *d);
