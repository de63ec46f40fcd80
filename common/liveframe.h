/* SPDX-License-Identifier: GPL-2.0-or-later */
/* liveframe.h -- the signed binary frames of a live alert on cx/v1/live/STREAM */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

/*
 * A frame, integers big-endian (DESIGN "Live alerts"):
 *
 *   "CXL2"        4 bytes magic
 *   seq           u32, +1 per frame of a stream, from 0
 *   pts_us        u64, controller clock (CLOCK_REALTIME µs) of the first sample
 *   flags         u8, bit 0: the last frame of the stream; others reserved (0)
 *   opus_len      u16, 0..LIVEFRAME_MAX_OPUS
 *   opus          opus_len bytes: one 20 ms Opus packet, 48 kHz mono
 *   signature     64 bytes, Ed25519 over: one byte with the length of the
 *                 stream's name, the name (the topic level after
 *                 cx/v1/live/), then every frame byte before the signature
 *
 * Nothing may follow the signature. The stream is not in the frame: the
 * receiver knows it from the topic, and a frame signed for another stream
 * (taped from an earlier live alert, say) does not verify. Frames of the
 * first layout, "CXL1", signed over the frame bytes alone, are malformed
 * here, and CXL2 frames are malformed to a node that knows only CXL1.
 */

#define LIVEFRAME_MAGIC     "CXL2"
#define LIVEFRAME_HDR       19          /* magic, seq, pts_us, flags, opus_len */
#define LIVEFRAME_MAX_OPUS  1275        /* the largest Opus packet (RFC 6716) */
#define LIVEFRAME_MIN       (LIVEFRAME_HDR + ENV_SIG_BYTES)
#define LIVEFRAME_MAX       (LIVEFRAME_HDR + LIVEFRAME_MAX_OPUS + ENV_SIG_BYTES)
#define LIVEFRAME_LAST      0x01        /* flags: the stream ends after this frame */

#define LIVE_RATE           48000
#define LIVE_FRAME_SAMPLES  960         /* 20 ms at 48 kHz */
#define LIVE_FRAME_US       20000

/* Stream names are one topic level: 1..LIVE_STREAM_MAX of [A-Za-z0-9._-]. */
#define LIVE_STREAM_MAX     64

struct liveframe {
	uint32_t seq;
	uint64_t pts_us;
	uint8_t flags;
	uint16_t opus_len;
	const unsigned char *opus;  /* parse: points into the buffer parsed */
};

/* Write F (OPUS_LEN bytes at F->OPUS) into OUT (CAP bytes), signed with SK
 * for the stream STREAM.
 * \retval bytes written
 * \retval -EINVAL STREAM not a valid stream name (live_stream_name_ok),
 * opus_len over LIVEFRAME_MAX_OPUS, NULL opus with a length
 * \retval -ENOBUFS CAP too small */
int liveframe_build(const struct liveframe *f, const char *stream,
		    const unsigned char sk[ENV_SK_BYTES], unsigned char *out, size_t cap);

/* Read the fields of the LEN bytes at BUF without checking the signature;
 * F->opus then points into BUF. Every read is bounds-checked first.
 * \retval 0 / -EBADMSG (wrong magic, truncated, bytes after the signature,
 * opus_len over LIVEFRAME_MAX_OPUS) */
int liveframe_parse(const unsigned char *buf, size_t len, struct liveframe *f);

/* liveframe_parse, then the signature against the trusted KEYS, for the
 * stream STREAM (the topic the frame arrived on). F is zeroed unless 0.
 * \retval 0
 * \retval -EINVAL STREAM not a valid stream name
 * \retval -EBADMSG malformed (see liveframe_parse; also a CXL1 frame)
 * \retval -EKEYREJECTED no key verifies it for STREAM */
int liveframe_verify(const unsigned char *buf, size_t len, const char *stream,
		     const struct env_key *keys, size_t nkeys, struct liveframe *f);

/* Is S a valid stream name (see LIVE_STREAM_MAX)? \retval 1 / 0 */
int live_stream_name_ok(const char *s);
