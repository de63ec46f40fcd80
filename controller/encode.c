/* SPDX-License-Identifier: GPL-2.0-or-later */
/* encode.c -- audio to assets: mono voice-tuned Ogg Opus named by SHA-256
 *
 * The input is resampled once (resample.c) to the rate it is coded at,
 * coded by libopus in 20 ms packets and framed by libogg as RFC 7845 asks:
 * the identification and comment headers on pages of their own, granule
 * positions in 48 kHz samples whatever the coded rate. */
#include "encode.h"

#include "asset.h"
#include "fileio.h"
#include "resample.h"

#include <errno.h>
#include <fcntl.h>
#include <ogg/ogg.h>
#include <opus.h>
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

/* One Opus packet: 20 ms, SILK's own frame (40 and 60 ms measured no
 * faster and no closer). */
#define FRAME_MS 20

struct enc {
	OpusEncoder *oe;
	struct rs *rs;	     /* NULL when the input is at the coded rate */
	ogg_stream_state os;
	bool os_ready;
	int rate;	     /* coded */
	int in_rate;
	int frame;	     /* samples per frame at RATE */
	int scale;	     /* 48000 / RATE: granule positions count at 48 kHz */
	int preskip;	     /* at 48 kHz */
	float *fbuf;	     /* the frame being filled */
	int fill;
	float *conv;	     /* s16 input as float */
	int64_t in_samples;
	int64_t coded;	     /* samples at RATE in frames sent to the encoder */
	int64_t packetno;
	unsigned char *buf;  /* the pages so far */
	size_t len, cap;
	int err;	     /* first failure, -errno */
};

static bool coded_rate_ok(int rate)
{
	return rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000 || rate == 48000;
}

/* Pages accumulate in memory: an asset is named by the hash of all its
 * bytes anyway. */
static int append(struct enc *e, const unsigned char *p, size_t n)
{
	if (e->len + n > ASSET_MAX_BYTES)
		return e->err = -EFBIG;
	if (e->len + n > e->cap) {
		size_t cap = e->cap ? e->cap : 64 * 1024;
		unsigned char *b;

		while (cap < e->len + n)
			cap *= 2;
		b = realloc(e->buf, cap);
		if (!b)
			return e->err = -ENOMEM;
		e->buf = b;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, p, n);
	e->len += n;
	return 0;
}

/* Move the pages libogg has made (all of them when FLUSH) into BUF. */
static int pages(struct enc *e, bool flush)
{
	ogg_page pg;

	while (flush ? ogg_stream_flush(&e->os, &pg) : ogg_stream_pageout(&e->os, &pg)) {
		if (append(e, pg.header, (size_t)pg.header_len) < 0 ||
		    append(e, pg.body, (size_t)pg.body_len) < 0)
			return e->err;
	}
	return 0;
}

static int packet(struct enc *e, unsigned char *data, size_t n, int64_t granule, bool bos,
		  bool eos)
{
	ogg_packet op = { .packet = data, .bytes = (long)n, .b_o_s = bos, .e_o_s = eos,
			  .granulepos = granule, .packetno = e->packetno++ };

	if (ogg_stream_packetin(&e->os, &op) != 0)
		return e->err = -ENOMEM;
	return 0;
}

static void le16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void le32(unsigned char *p, uint32_t v)
{
	le16(p, v & 0xffff);
	le16(p + 2, v >> 16);
}

/* The identification and comment headers (RFC 7845 5.1, 5.2), each on a
 * page of its own; no comment, so no padding for later edits either. */
static int headers(struct enc *e)
{
	unsigned char head[19] = "OpusHead", tags[8 + 4 + 64 + 4] = "OpusTags";
	const char *vendor = opus_get_version_string();
	size_t vl = strlen(vendor);

	if (vl > 64)
		vl = 64;
	head[8] = 1;		 /* version */
	head[9] = 1;		 /* channels */
	le16(head + 10, (unsigned)e->preskip);
	le32(head + 12, (uint32_t)e->in_rate);
	le16(head + 16, 0);	 /* output gain */
	head[18] = 0;		 /* mapping family: mono/stereo */
	le32(tags + 8, (uint32_t)vl);
	memcpy(tags + 12, vendor, vl);
	le32(tags + 12 + vl, 0); /* comments */
	if (packet(e, head, sizeof(head), 0, true, false) < 0 || pages(e, true) < 0 ||
	    packet(e, tags, 16 + vl, 0, false, false) < 0 || pages(e, true) < 0)
		return e->err;
	return 0;
}

struct enc *enc_new(int rate, int coded_rate, int bitrate, int complexity, uint32_t seed)
{
	struct enc *e;
	int err = 0, look = 0;

	if (rate < 8000 || rate > 192000 || !coded_rate_ok(coded_rate) || bitrate < 6000 ||
	    bitrate > 256000 || complexity < 0 || complexity > 10) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	e->rate = coded_rate;
	e->in_rate = rate;
	e->frame = coded_rate / 1000 * FRAME_MS;
	e->scale = 48000 / coded_rate;
	e->fbuf = malloc(sizeof(float) * (size_t)e->frame);
	e->conv = malloc(sizeof(float) * BLOCK);
	if (!e->fbuf || !e->conv || ogg_stream_init(&e->os, (int)seed) != 0)
		goto nomem;
	e->os_ready = true;
	if (rate != coded_rate && !(e->rs = rs_new(rate, coded_rate)))
		goto nomem;
	e->oe = opus_encoder_create(coded_rate, 1, OPUS_APPLICATION_AUDIO, &err);
	if (!e->oe) {
		if (err == OPUS_ALLOC_FAIL)
			goto nomem;
		enc_free(e);
		errno = EINVAL;
		return NULL;
	}
	/* Everything that decides the bytes is pinned, so that a library
	 * upgrade cannot silently change every asset's quality or cost. */
	if (opus_encoder_ctl(e->oe, OPUS_SET_BITRATE(bitrate)) != OPUS_OK ||
	    opus_encoder_ctl(e->oe, OPUS_SET_VBR(1)) != OPUS_OK ||
	    opus_encoder_ctl(e->oe, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) != OPUS_OK ||
	    opus_encoder_ctl(e->oe, OPUS_SET_COMPLEXITY(complexity)) != OPUS_OK ||
	    opus_encoder_ctl(e->oe, OPUS_GET_LOOKAHEAD(&look)) != OPUS_OK) {
		enc_free(e);
		errno = EINVAL;
		return NULL;
	}
	e->preskip = look * e->scale;
	if (headers(e) < 0)
		goto nomem;
	return e;
nomem:
	enc_free(e);
	errno = ENOMEM;
	return NULL;
}

/* Encode the full frame in FBUF as one packet. */
static int encode_frame(struct enc *e, bool last, int64_t end_granule)
{
	unsigned char out[4000];
	opus_int32 n = opus_encode_float(e->oe, e->fbuf, e->frame, out, sizeof(out));
	int64_t granule;

	if (n < 0)
		return e->err = -EIO;
	e->coded += e->frame;
	e->fill = 0;
	granule = last ? end_granule : e->coded * e->scale;
	if (packet(e, out, (size_t)n, granule, false, last) < 0 || pages(e, last) < 0)
		return e->err;
	return 0;
}

/* Samples at the coded rate into frames. */
static int to_frames(void *ud, const float *pcm, int n)
{
	struct enc *e = ud;

	while (n > 0) {
		int m = e->frame - e->fill < n ? e->frame - e->fill : n;

		memcpy(e->fbuf + e->fill, pcm, sizeof(float) * (size_t)m);
		e->fill += m;
		pcm += m;
		n -= m;
		if (e->fill == e->frame && encode_frame(e, false, 0) < 0)
			return e->err;
	}
	return 0;
}

int enc_write_float(struct enc *e, const float *pcm, int samples)
{
	if (e->err)
		return e->err;
	if (samples <= 0)
		return 0;
	e->in_samples += samples;
	return e->rs ? rs_write(e->rs, pcm, samples, to_frames, e) : to_frames(e, pcm, samples);
}

int enc_write_s16(struct enc *e, const int16_t *pcm, int samples)
{
	while (samples > 0) {
		int m = samples < BLOCK ? samples : BLOCK, r;

		for (int i = 0; i < m; i++)
			e->conv[i] = (float)pcm[i] * (1.0f / 32768);
		r = enc_write_float(e, e->conv, m);
		if (r < 0)
			return r;
		pcm += m;
		samples -= m;
	}
	return e->err;
}

/* The end of the input: the resampler's tail, then silence through the
 * encoder's look-ahead. A granule position counts the samples decoded,
 * pre-skip included, at 48 kHz; the last packet's marks where the audio
 * really ends, and a decoder drops what its frame holds beyond (RFC 7845
 * 4.4). */
static int drain(struct enc *e)
{
	int64_t end = e->preskip + (e->in_samples * 48000 + e->in_rate / 2) / e->in_rate;
	int64_t total, frames;

	if (e->rs && rs_finish(e->rs, to_frames, e) < 0)
		return e->err ? e->err : -EIO;
	total = e->coded + e->fill + e->preskip / e->scale;
	frames = (total + e->frame - 1) / e->frame;
	for (;;) {
		bool last = e->coded / e->frame + 1 >= frames;

		memset(e->fbuf + e->fill, 0, sizeof(float) * (size_t)(e->frame - e->fill));
		e->fill = e->frame;
		if (last) {
			int64_t most = (e->coded + e->frame) * e->scale;

			return encode_frame(e, true, end < most ? end : most);
		}
		if (encode_frame(e, false, 0) < 0)
			return e->err;
	}
}

int enc_finish(struct enc *e, unsigned char **buf, size_t *len, int64_t *duration_ms)
{
	int64_t ms = 0;
	int r;

	if (e->in_samples == 0) {
		r = -ENODATA;
		goto out;
	}
	r = e->err ? e->err : drain(e);
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
	if (e->oe)
		opus_encoder_destroy(e->oe);
	rs_free(e->rs);
	if (e->os_ready)
		ogg_stream_clear(&e->os);
	free(e->fbuf);
	free(e->conv);
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
	*ep = enc_new(info.samplerate, ENC_FILE_RATE, bitrate, ENC_FILE_COMPLEXITY, seed);
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
	*ep = enc_new(48000, ENC_FILE_RATE, bitrate, ENC_FILE_COMPLEXITY, seed);
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
	char fsha[CX_SHA256_HEX], key[CX_SHA256_HEX], material[256];
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
	snprintf(material, sizeof(material),
		 "cunxiang-enc 2\n%s\ncoded %d Hz\nbitrate %d\ncomplexity %d\nsha256 %s\n",
		 opus_get_version_string(), ENC_FILE_RATE, bitrate, ENC_FILE_COMPLEXITY, fsha);
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
