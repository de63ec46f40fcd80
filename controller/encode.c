/* SPDX-License-Identifier: GPL-2.0-or-later */
/* encode.c -- audio to assets: mono voice-tuned Ogg Opus named by SHA-256 */
#include "encode.h"

#include "asset.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <opusenc.h>
#include <opusfile.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Frames decoded per block when re-encoding a file: memory stays bounded
 * whatever the file's length. */
#define BLOCK 4096

struct enc {
	OggOpusEnc *ope;
	OggOpusComments *com;
	unsigned char *buf;
	size_t len, cap;
	bool too_big, oom;
	int64_t samples;
};

/* libopusenc hands over finished pages; they accumulate in memory because
 * an asset is named by the hash of all its bytes anyway. */
static int on_page(void *user, const unsigned char *p, opus_int32 n)
{
	struct enc *e = user;

	if (e->len + (size_t)n > ASSET_MAX_BYTES) {
		e->too_big = true;
		return 1;
	}
	if (e->len + (size_t)n > e->cap) {
		size_t cap = e->cap ? e->cap : 64 * 1024;
		unsigned char *b;

		while (cap < e->len + (size_t)n)
			cap *= 2;
		b = realloc(e->buf, cap);
		if (!b) {
			e->oom = true;
			return 1;
		}
		e->buf = b;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, p, (size_t)n);
	e->len += (size_t)n;
	return 0;
}

static int on_close(void *user)
{
	return 0;
}

static const OpusEncCallbacks callbacks = { on_page, on_close };

struct enc *enc_new(int rate, int bitrate, uint32_t seed)
{
	struct enc *e;
	int err = 0;

	if (rate < 8000 || rate > 192000 || bitrate < 6000 || bitrate > 256000) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->com = ope_comments_create())) {
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	e->ope = ope_encoder_create_callbacks(&callbacks, e, e->com, rate, 1, 0, &err);
	if (!e->ope) {
		enc_free(e);
		errno = err == OPE_ALLOC_FAIL ? ENOMEM : EINVAL;
		return NULL;
	}
	/* A random serial number (libopusenc's default) would make every
	 * render of the same input a different asset. Assets are written once
	 * and never edited, so the tags need no padding for later edits.
	 * Complexity is pinned rather than left to the library's default so an
	 * upgrade cannot silently change every asset's quality or cost. */
	if (ope_encoder_ctl(e->ope, OPE_SET_SERIALNO((opus_int32)seed)) != OPE_OK ||
	    ope_encoder_ctl(e->ope, OPE_SET_COMMENT_PADDING(0)) != OPE_OK ||
	    ope_encoder_ctl(e->ope, OPUS_SET_BITRATE(bitrate)) != OPE_OK ||
	    ope_encoder_ctl(e->ope, OPUS_SET_VBR(1)) != OPE_OK ||
	    ope_encoder_ctl(e->ope, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) != OPE_OK ||
	    ope_encoder_ctl(e->ope, OPUS_SET_COMPLEXITY(ENC_COMPLEXITY)) != OPE_OK) {
		enc_free(e);
		errno = EINVAL;
		return NULL;
	}
	return e;
}

static int write_result(struct enc *e, int r)
{
	if (r == OPE_OK)
		return 0;
	return e->too_big ? -EFBIG : e->oom ? -ENOMEM : -EIO;
}

int enc_write_float(struct enc *e, const float *pcm, int samples)
{
	if (samples <= 0)
		return 0;
	e->samples += samples;
	return write_result(e, ope_encoder_write_float(e->ope, pcm, samples));
}

int enc_write_s16(struct enc *e, const int16_t *pcm, int samples)
{
	if (samples <= 0)
		return 0;
	e->samples += samples;
	return write_result(e, ope_encoder_write(e->ope, pcm, samples));
}

int enc_finish(struct enc *e, unsigned char **buf, size_t *len, int64_t *duration_ms)
{
	int64_t ms = 0;
	int r;

	if (e->samples == 0) {
		r = -ENODATA;
		goto out;
	}
	r = write_result(e, ope_encoder_drain(e->ope));
	if (r < 0)
		goto out;
	/* The duration a node will compute, from the last granule position. */
	r = asset_duration_mem(e->buf, e->len, &ms);
	if (r < 0) {
		r = r == -ENOMEM ? r : -EIO;
		goto out;
	}
	*buf = e->buf;
	*len = e->len;
	e->buf = NULL;
	if (duration_ms)
		*duration_ms = ms;
out:
	enc_free(e);
	return r;
}

void enc_free(struct enc *e)
{
	if (!e)
		return;
	if (e->ope)
		ope_encoder_destroy(e->ope);
	if (e->com)
		ope_comments_destroy(e->com);
	free(e->buf);
	free(e);
}

uint32_t enc_seed(const char *key)
{
	uint32_t s = 0;

	for (int i = 0; i < 8 && key[i]; i++) {
		char c = key[i];

		s = s << 4 | (uint32_t)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
	}
	return s;
}

int enc_store(const char *dir, const unsigned char *buf, size_t len, char sha[CX_SHA256_HEX])
{
	char name[CX_SHA256_HEX + 5], *path;
	struct stat st;
	int r;

	cx_sha256_hex(buf, len, sha);
	asset_filename(sha, name);
	r = fio_mkdir_p(dir, 0755);
	if (r < 0)
		return r;
	path = fio_join(dir, name);
	if (!path)
		return -ENOMEM;
	/* Same name, same size: the same bytes (or a collision in SHA-256).
	 * A file of another size is a leftover of a crash or a disk fault. */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len)
		r = 0;
	else
		r = fio_write_atomic(path, buf, len, 0644);
	free(path);
	return r;
}

static char *cache_path(const char *cache_dir, const char *key)
{
	if (!cx_is_sha256_hex(key))
		return NULL;
	return fio_join(cache_dir, key);
}

int enc_cache_get(const char *cache_dir, const char *key, const char *assets_dir,
		  char sha[CX_SHA256_HEX], int64_t *duration_ms)
{
	char name[CX_SHA256_HEX + 5], got[CX_SHA256_HEX], *path, *buf = NULL, *asset = NULL;
	size_t len;
	int64_t ms;
	int r = -ENOENT;

	path = cache_path(cache_dir, key);
	if (!path || fio_read_all(path, 256, &buf, &len) < 0)
		goto out;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (!cx_is_sha256_hex(buf))
		goto out;
	memcpy(got, buf, CX_SHA256_HEX);
	asset_filename(got, name);
	asset = fio_join(assets_dir, name);
	/* The asset may have been garbage-collected or damaged since. */
	if (!asset || asset_verify_file(asset, got) < 0 || asset_duration_file(asset, &ms) < 0)
		goto out;
	memcpy(sha, got, CX_SHA256_HEX);
	if (duration_ms)
		*duration_ms = ms;
	r = 0;
out:
	free(asset);
	free(buf);
	free(path);
	return r;
}

int enc_cache_put(const char *cache_dir, const char *key, const char *sha)
{
	char line[CX_SHA256_HEX + 1], *path;
	int r;

	if (!cx_is_sha256_hex(sha))
		return -EINVAL;
	r = fio_mkdir_p(cache_dir, 0755);
	if (r < 0)
		return r;
	path = cache_path(cache_dir, key);
	if (!path)
		return -EINVAL;
	snprintf(line, sizeof(line), "%s\n", sha);
	r = fio_write_atomic(path, line, CX_SHA256_HEX, 0644);
	free(path);
	return r;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Mix N interleaved frames of CH channels down to mono in place. */
static void downmix(float *pcm, sf_count_t n, int ch)
{
	if (ch == 1)
		return;
	for (sf_count_t i = 0; i < n; i++) {
		float s = 0;

		for (int c = 0; c < ch; c++)
			s += pcm[i * ch + c];
		pcm[i] = s / (float)ch;
	}
}

static int encode_sndfile(const char *path, struct enc **ep, uint32_t seed, int bitrate,
			  char *err, size_t errlen)
{
	SF_INFO info = { 0 };
	SNDFILE *sf;
	float *pcm = NULL;
	int64_t max_frames, done = 0;
	int r;

	sf = sf_open(path, SFM_READ, &info);
	if (!sf) {
		seterr(err, errlen, "%s: not a readable audio file (wav, flac, mp3 or opus): %s",
		       path, sf_strerror(NULL));
		return -EMEDIUMTYPE;
	}
	if (info.channels < 1 || info.channels > ENC_MAX_CHANNELS) {
		seterr(err, errlen, "%s: %d channels; at most %d are accepted", path,
		       info.channels, ENC_MAX_CHANNELS);
		r = -EMEDIUMTYPE;
		goto out;
	}
	if (info.samplerate < 8000 || info.samplerate > 192000) {
		seterr(err, errlen, "%s: sample rate %d Hz is outside 8000..192000", path,
		       info.samplerate);
		r = -EMEDIUMTYPE;
		goto out;
	}
	max_frames = (int64_t)ENC_MAX_SECONDS * info.samplerate;
	if (info.frames > max_frames) {
		seterr(err, errlen, "%s: longer than %d hours", path, ENC_MAX_SECONDS / 3600);
		r = -EFBIG;
		goto out;
	}
	pcm = malloc(sizeof(*pcm) * BLOCK * (size_t)info.channels);
	*ep = enc_new(info.samplerate, bitrate, seed);
	if (!pcm || !*ep) {
		r = pcm ? -errno : -ENOMEM;
		seterr(err, errlen, "%s: cannot start the encoder: %s", path, strerror(-r));
		goto out;
	}
	for (;;) {
		sf_count_t n = sf_readf_float(sf, pcm, BLOCK);

		if (n <= 0)
			break;
		/* The header's frame count can be wrong (mp3 estimates, damaged
		 * files); the limit holds for what is really decoded. */
		done += n;
		if (done > max_frames) {
			seterr(err, errlen, "%s: longer than %d hours", path, ENC_MAX_SECONDS / 3600);
			r = -EFBIG;
			goto out;
		}
		downmix(pcm, n, info.channels);
		r = enc_write_float(*ep, pcm, (int)n);
		if (r < 0) {
			seterr(err, errlen, "%s: encoding failed: %s", path,
			       r == -EFBIG ? "the asset would be too large" : strerror(-r));
			goto out;
		}
	}
	if (sf_error(sf) != SF_ERR_NO_ERROR) {
		seterr(err, errlen, "%s: cannot decode: %s", path, sf_strerror(sf));
		r = -EMEDIUMTYPE;
		goto out;
	}
	if (done == 0) {
		seterr(err, errlen, "%s: contains no audio", path);
		r = -ENODATA;
		goto out;
	}
	r = 0;
out:
	free(pcm);
	sf_close(sf);
	return r;
}

/* Returns -EMEDIUMTYPE without a message when PATH is not Ogg Opus, so the
 * caller can try libsndfile (Ogg Vorbis, say). */
static int encode_opusfile(const char *path, struct enc **ep, uint32_t seed, int bitrate,
			   char *err, size_t errlen)
{
	OggOpusFile *of;
	float *pcm = NULL;
	ogg_int64_t total;
	int64_t max = (int64_t)ENC_MAX_SECONDS * 48000, done = 0;
	int e = 0, r;

	of = op_open_file(path, &e);
	if (!of)
		return -EMEDIUMTYPE;
	total = op_pcm_total(of, -1);
	if (total > max) {
		seterr(err, errlen, "%s: longer than %d hours", path, ENC_MAX_SECONDS / 3600);
		r = -EFBIG;
		goto out;
	}
	pcm = malloc(sizeof(*pcm) * 2 * 5760);
	/* opusfile always decodes at 48 kHz. */
	*ep = enc_new(48000, bitrate, seed);
	if (!pcm || !*ep) {
		r = pcm ? -errno : -ENOMEM;
		seterr(err, errlen, "%s: cannot start the encoder: %s", path, strerror(-r));
		goto out;
	}
	for (;;) {
		int n = op_read_float_stereo(of, pcm, 2 * 5760);

		if (n == OP_HOLE)
			continue;
		if (n < 0) {
			seterr(err, errlen, "%s: corrupt Opus data", path);
			r = -EMEDIUMTYPE;
			goto out;
		}
		if (n == 0)
			break;
		done += n;
		if (done > max) {
			seterr(err, errlen, "%s: longer than %d hours", path, ENC_MAX_SECONDS / 3600);
			r = -EFBIG;
			goto out;
		}
		downmix(pcm, n, 2);
		r = enc_write_float(*ep, pcm, n);
		if (r < 0) {
			seterr(err, errlen, "%s: encoding failed: %s", path,
			       r == -EFBIG ? "the asset would be too large" : strerror(-r));
			goto out;
		}
	}
	if (done == 0) {
		seterr(err, errlen, "%s: contains no audio", path);
		r = -ENODATA;
		goto out;
	}
	r = 0;
out:
	free(pcm);
	op_free(of);
	return r;
}

static bool is_ogg(const char *path)
{
	unsigned char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ogg;

	if (fd < 0)
		return false;
	ogg = read(fd, magic, 4) == 4 && !memcmp(magic, "OggS", 4);
	close(fd);
	return ogg;
}

int enc_file_asset(const char *path, int bitrate, const char *assets_dir,
		   const char *cache_dir, char sha[CX_SHA256_HEX], int64_t *duration_ms,
		   char *err, size_t errlen)
{
	char fsha[CX_SHA256_HEX], key[CX_SHA256_HEX], material[160];
	unsigned char *buf = NULL;
	struct enc *e = NULL;
	struct stat st;
	size_t len;
	int64_t ms;
	int r;

	if (stat(path, &st) < 0) {
		r = -errno;
		seterr(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		return -EMEDIUMTYPE;
	}
	if ((unsigned long long)st.st_size > ENC_MAX_INPUT_BYTES) {
		seterr(err, errlen, "%s: larger than %llu GiB", path, ENC_MAX_INPUT_BYTES >> 30);
		return -EFBIG;
	}
	r = cx_sha256_file(path, fsha);
	if (r < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	/* The key covers everything that decides the output bytes. */
	snprintf(material, sizeof(material), "cunxiang-enc 1\nbitrate %d\nsha256 %s\n",
		 bitrate, fsha);
	cx_sha256_hex(material, strlen(material), key);
	if (cache_dir && enc_cache_get(cache_dir, key, assets_dir, sha, duration_ms) == 0)
		return 0;

	r = -EMEDIUMTYPE;
	if (is_ogg(path))
		r = encode_opusfile(path, &e, enc_seed(key), bitrate, err, errlen);
	if (r == -EMEDIUMTYPE && !e)
		r = encode_sndfile(path, &e, enc_seed(key), bitrate, err, errlen);
	if (r < 0) {
		enc_free(e);
		return r;
	}
	r = enc_finish(e, &buf, &len, &ms);
	if (r < 0) {
		seterr(err, errlen, "%s: encoding failed: %s", path,
		       r == -EFBIG ? "the asset would be too large" : strerror(-r));
		return r;
	}
	r = enc_store(assets_dir, buf, len, sha);
	free(buf);
	if (r < 0) {
		seterr(err, errlen, "cannot store the asset in %s: %s", assets_dir, strerror(-r));
		return r;
	}
	/* A cache that cannot be written costs a re-encode next time, no more. */
	if (cache_dir)
		(void)enc_cache_put(cache_dir, key, sha);
	if (duration_ms)
		*duration_ms = ms;
	return 0;
}
