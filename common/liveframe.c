/* SPDX-License-Identifier: GPL-2.0-or-later */
/* liveframe.c -- the signed binary frames of a live alert on cx/v1/live/STREAM */
#include "liveframe.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* A cursor over untrusted bytes: every read checks what is left first. */
struct rd {
	const unsigned char *p;
	size_t left;
};

static bool rd_bytes(struct rd *r, size_t n, const unsigned char **out)
{
	if (r->left < n)
		return false;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

static bool rd_u8(struct rd *r, uint8_t *v)
{
	const unsigned char *b;

	if (!rd_bytes(r, 1, &b))
		return false;
	*v = b[0];
	return true;
}

static bool rd_u16(struct rd *r, uint16_t *v)
{
	const unsigned char *b;

	if (!rd_bytes(r, 2, &b))
		return false;
	*v = (uint16_t)((unsigned)b[0] << 8 | b[1]);
	return true;
}

static bool rd_u32(struct rd *r, uint32_t *v)
{
	const unsigned char *b;

	if (!rd_bytes(r, 4, &b))
		return false;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return true;
}

static bool rd_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (!rd_u32(r, &hi) || !rd_u32(r, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

static unsigned char *put_be(unsigned char *p, uint64_t v, int bytes)
{
	for (int k = bytes - 1; k >= 0; k--)
		*p++ = (unsigned char)(v >> (8 * k));
	return p;
}

/* The longest message a frame's signature covers. */
#define SIGNED_MAX (1 + LIVE_STREAM_MAX + LIVEFRAME_MAX - ENV_SIG_BYTES)

/* Write what a frame's signature covers into MSG: the stream name's length
 * (one byte), the name, then the LEN frame bytes before the signature.
 * STREAM is a valid name, LEN at most LIVEFRAME_MAX - ENV_SIG_BYTES.
 * Returns the length of the message. */
static size_t signed_message(const char *stream, const unsigned char *frame, size_t len,
			     unsigned char msg[SIGNED_MAX])
{
	size_t sl = strlen(stream);

	msg[0] = (unsigned char)sl;
	memcpy(msg + 1, stream, sl);
	memcpy(msg + 1 + sl, frame, len);
	return 1 + sl + len;
}

int liveframe_build(const struct liveframe *f, const char *stream,
		    const unsigned char sk[ENV_SK_BYTES], unsigned char *out, size_t cap)
{
	unsigned char *p = out, msg[SIGNED_MAX];
	size_t n;

	if (!f || f->opus_len > LIVEFRAME_MAX_OPUS || (f->opus_len && !f->opus) ||
	    !live_stream_name_ok(stream))
		return -EINVAL;
	n = LIVEFRAME_HDR + f->opus_len + ENV_SIG_BYTES;
	if (!out || cap < n)
		return -ENOBUFS;
	memcpy(p, LIVEFRAME_MAGIC, 4);
	p += 4;
	p = put_be(p, f->seq, 4);
	p = put_be(p, f->pts_us, 8);
	p = put_be(p, f->flags, 1);
	p = put_be(p, f->opus_len, 2);
	if (f->opus_len)
		memcpy(p, f->opus, f->opus_len);
	p += f->opus_len;
	env_sign_raw(msg, signed_message(stream, out, (size_t)(p - out), msg), sk, p);
	return (int)n;
}

int liveframe_parse(const unsigned char *buf, size_t len, struct liveframe *f)
{
	struct rd r = { .p = buf, .left = buf ? len : 0 };
	const unsigned char *magic, *sig;

	memset(f, 0, sizeof(*f));
	if (!rd_bytes(&r, 4, &magic) || memcmp(magic, LIVEFRAME_MAGIC, 4) ||
	    !rd_u32(&r, &f->seq) || !rd_u64(&r, &f->pts_us) || !rd_u8(&r, &f->flags) ||
	    !rd_u16(&r, &f->opus_len) || f->opus_len > LIVEFRAME_MAX_OPUS ||
	    !rd_bytes(&r, f->opus_len, &f->opus) || !rd_bytes(&r, ENV_SIG_BYTES, &sig) ||
	    r.left != 0) {
		memset(f, 0, sizeof(*f));
		return -EBADMSG;
	}
	if (!f->opus_len)
		f->opus = NULL;
	return 0;
}

int liveframe_verify(const unsigned char *buf, size_t len, const char *stream,
		     const struct env_key *keys, size_t nkeys, struct liveframe *f)
{
	unsigned char msg[SIGNED_MAX];
	int r;

	if (!live_stream_name_ok(stream)) {
		memset(f, 0, sizeof(*f));
		return -EINVAL;
	}
	r = liveframe_parse(buf, len, f);
	if (r < 0)
		return r;
	/* parse guarantees LEN = frame bytes before the signature (at most
	 * LIVEFRAME_MAX - ENV_SIG_BYTES) + signature */
	r = env_verify_raw(msg, signed_message(stream, buf, len - ENV_SIG_BYTES, msg),
			   buf + len - ENV_SIG_BYTES, keys, nkeys);
	if (r < 0)
		memset(f, 0, sizeof(*f));
	return r;
}

int live_stream_name_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
		if (n >= LIVE_STREAM_MAX)
			return 0;
	}
	return n >= 1;
}
