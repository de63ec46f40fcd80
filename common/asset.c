/* SPDX-License-Identifier: GPL-2.0-or-later */
/* asset.c -- Ogg Opus assets: verify by SHA-256, probe, decode to PCM */
#include "asset.h"

#include "fileio.h"

#include <errno.h>
#include <math.h>
#include <opusfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Largest block decoded in one op_read_float_stereo() call: 120 ms, the
 * longest Opus packet, so a call never has to stop in the middle of one. */
#define DEC_CHUNK 5760

struct asset_dec {
	OggOpusFile *of;
	float buf[2 * DEC_CHUNK];
};

void asset_filename(const char *sha, char out[CX_SHA256_HEX + 5])
{
	memcpy(out, sha, CX_SHA256_HEX - 1);
	memcpy(out + CX_SHA256_HEX - 1, ".opus", 6);
}

/* 48 kHz samples to ms, rounded to nearest. */
static int64_t samples_to_ms(int64_t n)
{
	return (n * 1000 + ASSET_RATE / 2) / ASSET_RATE;
}

/* A stream is usable when every link has a valid head and the total length
 * is known and positive; opusfile checks the page structure while opening. */
static int probe(OggOpusFile *of, int64_t *ms)
{
	ogg_int64_t total;
	int links = op_link_count(of);

	for (int li = 0; li < links; li++)
		if (!op_head(of, li) || op_head(of, li)->channel_count < 1)
			return -EMEDIUMTYPE;
	total = op_pcm_total(of, -1);
	if (total <= 0)
		return -EMEDIUMTYPE;
	if (ms)
		*ms = samples_to_ms(total);
	return 0;
}

static int probe_mem(const void *buf, size_t len, int64_t *ms)
{
	OggOpusFile *of;
	int err = 0, r;

	if (len > ASSET_MAX_BYTES)
		return -EMSGSIZE;
	of = op_open_memory(buf, len, &err);
	if (!of)
		return err == OP_EFAULT ? -ENOMEM : -EMEDIUMTYPE;
	r = probe(of, ms);
	op_free(of);
	return r;
}

int asset_verify_mem(const void *buf, size_t len, const char *sha)
{
	char got[CX_SHA256_HEX];

	if (len > ASSET_MAX_BYTES)
		return -EMSGSIZE;
	cx_sha256_hex(buf, len, got);
	/* Names are lower-case hex (cx_sha256_hex); anything else cannot match. */
	if (!sha || strcmp(got, sha) != 0)
		return -EBADMSG;
	return probe_mem(buf, len, NULL);
}

static int read_asset(const char *path, char **buf, size_t *len)
{
	int r = fio_read_all(path, ASSET_MAX_BYTES, buf, len);

	return r == -EFBIG ? -EMSGSIZE : r;
}

int asset_verify_file(const char *path, const char *sha)
{
	char *buf;
	size_t len;
	int r = read_asset(path, &buf, &len);

	if (r < 0)
		return r;
	r = asset_verify_mem(buf, len, sha);
	free(buf);
	return r;
}

int asset_duration_mem(const void *buf, size_t len, int64_t *ms)
{
	return probe_mem(buf, len, ms);
}

/* Open PATH through opusfile's stdio callbacks so that a missing or
 * unreadable file is reported with its errno, not as "not Opus". */
static OggOpusFile *open_file(const char *path, int *r)
{
	OpusFileCallbacks cb;
	OggOpusFile *of;
	struct stat st;
	void *stream;
	int err = 0;

	if (stat(path, &st) < 0) {
		*r = -errno;
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		*r = -EISDIR;
		return NULL;
	}
	if (st.st_size > (off_t)ASSET_MAX_BYTES) {
		*r = -EMSGSIZE;
		return NULL;
	}
	stream = op_fopen(&cb, path, "rb");
	if (!stream) {
		*r = errno ? -errno : -EIO;
		return NULL;
	}
	of = op_open_callbacks(stream, &cb, NULL, 0, &err);
	if (!of) {
		cb.close(stream);
		*r = err == OP_EFAULT ? -ENOMEM : err == OP_EREAD ? -EIO : -EMEDIUMTYPE;
		return NULL;
	}
	*r = 0;
	return of;
}

int asset_duration_file(const char *path, int64_t *ms)
{
	int r;
	OggOpusFile *of = open_file(path, &r);

	if (!of)
		return r;
	r = probe(of, ms);
	op_free(of);
	return r;
}

struct asset_dec *asset_dec_open(const char *path)
{
	struct asset_dec *d;
	int r;

	d = malloc(sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->of = open_file(path, &r);
	if (d->of && (r = probe(d->of, NULL)) < 0) {
		op_free(d->of);
		d->of = NULL;
	}
	if (!d->of) {
		free(d);
		errno = -r;
		return NULL;
	}
	return d;
}

static int16_t to_s16(float x)
{
	float v = x * 32768.0f;

	if (v >= 32767.0f)
		return 32767;
	if (v <= -32768.0f)
		return -32768;
	return (int16_t)lrintf(v);
}

int asset_dec_read(struct asset_dec *d, int16_t *pcm, int max)
{
	int want = max < DEC_CHUNK ? max : DEC_CHUNK;
	int n;

	if (max <= 0)
		return 0;
	/* The stereo reader downmixes any channel layout (and a chain whose
	 * links differ) with opusfile's own matrices; mono comes back as two
	 * equal channels, so averaging it is exact. Float output and our own
	 * rounding keep the result free of dither noise and reproducible. */
	do /* a gap in the pages: play on past it rather than stop the broadcast */
		n = op_read_float_stereo(d->of, d->buf, 2 * want);
	while (n == OP_HOLE);
	if (n < 0)
		return -EBADMSG;
	for (int i = 0; i < n; i++)
		pcm[i] = to_s16(0.5f * (d->buf[2 * i] + d->buf[2 * i + 1]));
	return n;
}

int asset_dec_seek(struct asset_dec *d, int64_t sample)
{
	ogg_int64_t total = op_pcm_total(d->of, -1);

	if (sample < 0 || (total >= 0 && sample > total))
		return -EINVAL;
	return op_pcm_seek(d->of, sample) == 0 ? 0 : -EINVAL;
}

void asset_dec_close(struct asset_dec *d)
{
	if (!d)
		return;
	op_free(d->of);
	free(d);
}
