/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_encode.c -- recordings to assets: formats, mixdown, reproducibility, cache, errors */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "asset.h"
#include "encode.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <opusfile.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every test gets a fresh directory; inputs are made in it with libsndfile
 * (wav, flac, mp3, Ogg Vorbis) or with the encoder itself (opus). */
static char top[64], home[4096];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	strcpy(top, "/tmp/cx-test-encode.XXXXXX");
	assert_non_null(mkdtemp(top));
	assert_int_equal(chdir(top), 0);
	return 0;
}

static int teardown(void **state)
{
	assert_int_equal(chdir(home), 0);
	nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- inputs ----------------------------------------------------------- */

enum shape { SAME, OPPOSITE };

/* SECONDS of a 440 Hz tone in FORMAT at RATE Hz; with two channels the
 * second is the same tone or its negation. */
static void make_audio(const char *path, int format, int rate, int channels, double seconds,
		       enum shape shape)
{
	SF_INFO info = { .samplerate = rate, .channels = channels, .format = format };
	sf_count_t n = (sf_count_t)(seconds * rate);
	float *pcm = malloc(sizeof(*pcm) * (size_t)(n ? n : 1) * (size_t)channels);
	SNDFILE *sf;

	assert_non_null(pcm);
	for (sf_count_t i = 0; i < n; i++) {
		float x = 0.3f * sinf(2.0f * (float)M_PI * 440.0f * (float)i / (float)rate);

		pcm[i * channels] = x;
		if (channels == 2)
			pcm[i * channels + 1] = shape == SAME ? x : -x;
	}
	sf = sf_open(path, SFM_WRITE, &info);
	if (!sf)
		fail_msg("%s: %s", path, sf_strerror(NULL));
	assert_int_equal(sf_writef_float(sf, pcm, n), n);
	assert_int_equal(sf_close(sf), 0);
	free(pcm);
}

static void wav(const char *path, int rate, int channels, double seconds, enum shape shape)
{
	make_audio(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate, channels, seconds, shape);
}

/* An Ogg Opus file of SECONDS of tone, written by the encoder under test. */
static void opus_file(const char *path, double seconds)
{
	struct enc *e = enc_new(48000, 48000, 32000, 10, 99);
	int n = (int)(seconds * 48000);
	float *pcm = malloc(sizeof(*pcm) * (size_t)n);
	unsigned char *buf;
	size_t len;
	FILE *f;

	assert_non_null(e);
	assert_non_null(pcm);
	for (int i = 0; i < n; i++)
		pcm[i] = 0.3f * sinf(2.0f * (float)M_PI * 440.0f * (float)i / 48000.0f);
	assert_int_equal(enc_write_float(e, pcm, n), 0);
	assert_int_equal(enc_finish(e, &buf, &len, NULL), 0);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
	free(pcm);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A canonical 44-byte WAV header for 8-bit mono at 8000 Hz claiming DATA
 * bytes of samples; the file is extended to that size without using disk. */
static void wav_claiming(const char *path, uint32_t data)
{
	unsigned char h[44];
	uint32_t riff = 36 + data;
	int fd;

	memcpy(h, "RIFF", 4);
	for (int i = 0; i < 4; i++)
		h[4 + i] = (unsigned char)(riff >> (8 * i));
	memcpy(h + 8, "WAVEfmt ", 8);
	memcpy(h + 16, "\x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x40\x1f\0\0\x01\0\x08\0", 20);
	memcpy(h + 36, "data", 4);
	for (int i = 0; i < 4; i++)
		h[40 + i] = (unsigned char)(data >> (8 * i));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	assert_int_equal(ftruncate(fd, (off_t)sizeof(h) + data), 0);
	close(fd);
}

/* ---- outputs ---------------------------------------------------------- */

/* The asset SHA in DIR decoded to 48 kHz mono; returns the sample count. */
static size_t decode(const char *dir, const char *sha, int16_t **out)
{
	char name[CX_SHA256_HEX + 5], path[256];
	struct asset_dec *d;
	size_t n = 0, cap = 48000;
	int16_t *pcm = malloc(cap * sizeof(*pcm));
	int k;

	asset_filename(sha, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(asset_verify_file(path, sha), 0);
	d = asset_dec_open(path);
	assert_non_null(d);
	for (;;) {
		if (n + 960 > cap) {
			cap *= 2;
			pcm = realloc(pcm, cap * sizeof(*pcm));
			assert_non_null(pcm);
		}
		k = asset_dec_read(d, pcm + n, 960);
		assert_true(k >= 0);
		if (k == 0)
			break;
		n += (size_t)k;
	}
	asset_dec_close(d);
	*out = pcm;
	return n;
}

static int peak(const int16_t *pcm, size_t n)
{
	int p = 0;

	for (size_t i = 0; i < n; i++)
		p = abs(pcm[i]) > p ? abs(pcm[i]) : p;
	return p;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The one entry of a cache directory that holds exactly one. */
static void only_entry(const char *dir, char path[512])
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	assert_int_equal(count_entries(dir), 1);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			snprintf(path, 512, "%s/%s", dir, e->d_name);
	closedir(d);
}

static int encode(const char *path, const char *cache, char sha[CX_SHA256_HEX], int64_t *ms,
		  char *err)
{
	return enc_file_asset(path, ENC_DEFAULT_BITRATE, "assets", cache, sha, ms, err, 512);
}

/* ---- tests ------------------------------------------------------------ */

static void formats(void **state)
{
	static const struct { const char *name; int format; int rate; } cases[] = {
		{ "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000 },
		{ "b.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050 },
		{ "c.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000 },
		{ "d.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100 },
		{ "e.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100 },
	};
	char sha[CX_SHA256_HEX], err[512] = "";
	int64_t ms;
	int16_t *pcm;
	size_t n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_audio(cases[i].name, cases[i].format, cases[i].rate, 1, 1.0, SAME);
		ms = 0;
		if (encode(cases[i].name, NULL, sha, &ms, err) != 0)
			fail_msg("%s: %s", cases[i].name, err);
		/* mp3 may carry its encoder's padding. */
		assert_in_range(ms, 1000, strstr(cases[i].name, ".mp3") ? 1060 : 1000);
		n = decode("assets", sha, &pcm);
		assert_in_range((int64_t)n, ms * 48 - 24, ms * 48 + 24);
		/* The tone at 0.3 survives (about 9830 in s16). */
		assert_in_range(peak(pcm, n), 8000, 11800);
		free(pcm);
	}

	opus_file("f.opus", 1.5);
	ms = 0;
	if (encode("f.opus", NULL, sha, &ms, err) != 0)
		fail_msg("f.opus: %s", err);
	assert_int_equal(ms, 1500);
	assert_int_equal(count_entries("assets"), 6);
}

/* Stereo is mixed down to mono: equal channels give exactly the mono
 * signal, opposite ones cancel. */
static void mixdown(void **state)
{
	char mono[CX_SHA256_HEX], same[CX_SHA256_HEX], opp[CX_SHA256_HEX], err[512] = "";
	int16_t *a, *b, *c;
	size_t na, nb, nc;

	wav("mono.wav", 48000, 1, 1.0, SAME);
	wav("same.wav", 48000, 2, 1.0, SAME);
	wav("opposite.wav", 48000, 2, 1.0, OPPOSITE);
	make_audio("same.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 48000, 2, 1.0, SAME);
	assert_int_equal(encode("mono.wav", NULL, mono, NULL, err), 0);
	assert_int_equal(encode("same.wav", NULL, same, NULL, err), 0);
	assert_int_equal(encode("opposite.wav", NULL, opp, NULL, err), 0);
	/* Different input files: different assets (the serial number comes
	 * from the input), yet the same sound. */
	assert_string_not_equal(mono, same);
	na = decode("assets", mono, &a);
	nb = decode("assets", same, &b);
	nc = decode("assets", opp, &c);
	assert_int_equal(na, 48000);
	assert_int_equal(nb, na);
	assert_memory_equal(a, b, na * sizeof(*a));
	assert_int_equal(nc, na);
	assert_in_range(peak(c, nc), 0, 3);
	free(b);
	assert_int_equal(encode("same.flac", NULL, same, NULL, err), 0);
	nb = decode("assets", same, &b);
	assert_int_equal(nb, na);
	assert_memory_equal(a, b, na * sizeof(*a));
	free(a);
	free(b);
	free(c);
}

/* The same input gives the same bytes: in another directory, at another
 * path, in another run. Another bitrate is another asset. */
static void reproducible(void **state)
{
	char s1[CX_SHA256_HEX], s2[CX_SHA256_HEX], s3[CX_SHA256_HEX], s4[CX_SHA256_HEX];
	char err[512] = "";

	wav("x.wav", 44100, 2, 2.0, SAME);
	assert_int_equal(enc_file_asset("x.wav", 24000, "one", NULL, s1, NULL, err, sizeof(err)), 0);
	assert_int_equal(mkdir("sub", 0755), 0);
	assert_int_equal(rename("x.wav", "sub/y.wav"), 0);
	assert_int_equal(enc_file_asset("sub/y.wav", 24000, "two", NULL, s2, NULL, err, sizeof(err)), 0);
	assert_string_equal(s1, s2);
	assert_int_equal(enc_file_asset("sub/y.wav", 24000, "two", NULL, s3, NULL, err, sizeof(err)), 0);
	assert_string_equal(s1, s3);
	assert_int_equal(count_entries("two"), 1);
	assert_int_equal(enc_file_asset("sub/y.wav", 32000, "two", NULL, s4, NULL, err, sizeof(err)), 0);
	assert_string_not_equal(s1, s4);
	assert_int_equal(count_entries("two"), 2);
}

/* A cache hit answers from the cache without encoding: proven by pointing
 * the entry at another asset. A dangling or damaged entry is a miss. */
static void cache(void **state)
{
	char a[CX_SHA256_HEX], b[CX_SHA256_HEX], got[CX_SHA256_HEX], entry[512], asset[256];
	char name[CX_SHA256_HEX + 5], line[CX_SHA256_HEX + 1], err[512] = "";
	int64_t ms = 0;

	wav("a.wav", 48000, 1, 1.0, SAME);
	wav("b.wav", 48000, 1, 2.0, SAME);
	assert_int_equal(encode("a.wav", "cache-a", a, &ms, err), 0);
	assert_int_equal(ms, 1000);
	assert_int_equal(encode("b.wav", NULL, b, &ms, err), 0);
	assert_int_equal(ms, 2000);
	only_entry("cache-a", entry);

	snprintf(line, sizeof(line), "%s\n", b);
	write_text(entry, line);
	ms = 0;
	assert_int_equal(encode("a.wav", "cache-a", got, &ms, err), 0);
	assert_string_equal(got, b);
	assert_int_equal(ms, 2000);

	/* The asset it names is gone: encode again, and repair the entry. */
	asset_filename(b, name);
	snprintf(asset, sizeof(asset), "assets/%s", name);
	assert_int_equal(unlink(asset), 0);
	assert_int_equal(encode("a.wav", "cache-a", got, &ms, err), 0);
	assert_string_equal(got, a);
	assert_int_equal(ms, 1000);
	write_text(entry, line);
	assert_int_equal(encode("a.wav", "cache-a", got, NULL, err), 0);
	assert_string_equal(got, a);

	/* Garbage in the entry, or an asset damaged on disk: misses. */
	write_text(entry, "not a hash\n");
	assert_int_equal(encode("a.wav", "cache-a", got, NULL, err), 0);
	assert_string_equal(got, a);
	asset_filename(a, name);
	snprintf(asset, sizeof(asset), "assets/%s", name);
	write_text(asset, "damaged");
	assert_int_equal(encode("a.wav", "cache-a", got, NULL, err), 0);
	assert_string_equal(got, a);
	/* enc_store replaced the damaged file (another size) with the asset. */
	assert_int_equal(asset_verify_file(asset, a), 0);

	/* Changing the input's bytes changes the key: a miss. */
	wav("a.wav", 48000, 1, 1.5, SAME);
	assert_int_equal(encode("a.wav", "cache-a", got, &ms, err), 0);
	assert_string_not_equal(got, a);
	assert_int_equal(ms, 1500);
	assert_int_equal(count_entries("cache-a"), 2);
}

static void errors(void **state)
{
	char sha[CX_SHA256_HEX], err[512];

	err[0] = '\0';
	assert_int_equal(encode("missing.wav", NULL, sha, NULL, err), -ENOENT);
	assert_non_null(strstr(err, "missing.wav"));

	write_text("empty.wav", "");
	err[0] = '\0';
	assert_int_equal(encode("empty.wav", NULL, sha, NULL, err), -EMEDIUMTYPE);
	assert_non_null(strstr(err, "empty.wav: not a readable audio file"));

	write_text("text.wav", "RIFF? no, this is a text file\n");
	err[0] = '\0';
	assert_int_equal(encode("text.wav", NULL, sha, NULL, err), -EMEDIUMTYPE);
	assert_non_null(strstr(err, "text.wav"));

	/* Ogg, but neither Opus nor anything libsndfile reads. */
	write_text("bad.opus", "OggS and then nothing an Ogg reader can use, for a while ...\n");
	err[0] = '\0';
	assert_int_equal(encode("bad.opus", NULL, sha, NULL, err), -EMEDIUMTYPE);
	assert_non_null(strstr(err, "bad.opus"));

	assert_int_equal(mkdir("dir.wav", 0755), 0);
	err[0] = '\0';
	assert_int_equal(encode("dir.wav", NULL, sha, NULL, err), -EMEDIUMTYPE);
	assert_non_null(strstr(err, "dir.wav: not a regular file"));

	/* A valid header and no samples. */
	wav("silent.wav", 48000, 1, 0.0, SAME);
	err[0] = '\0';
	assert_int_equal(encode("silent.wav", NULL, sha, NULL, err), -ENODATA);
	assert_non_null(strstr(err, "silent.wav: contains no audio"));

	/* Nothing was stored for any of them. */
	assert_int_equal(count_entries("assets"), 0);
	/* A NULL or empty ERR is allowed. */
	assert_int_equal(enc_file_asset("missing.wav", 24000, "assets", NULL, sha, NULL, NULL, 0),
			 -ENOENT);
}

static void limits(void **state)
{
	char sha[CX_SHA256_HEX], err[512];
	int fd;

	/* Longer than ENC_MAX_SECONDS by its header: refused before decoding. */
	wav_claiming("long.wav", (uint32_t)ENC_MAX_SECONDS * 8000 + 8000);
	err[0] = '\0';
	assert_int_equal(encode("long.wav", NULL, sha, NULL, err), -EFBIG);
	assert_non_null(strstr(err, "long.wav: longer than 3 hours"));

	/* Larger than ENC_MAX_INPUT_BYTES: refused by its size alone. */
	fd = open("huge.wav", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)ENC_MAX_INPUT_BYTES + 1), 0);
	close(fd);
	err[0] = '\0';
	assert_int_equal(encode("huge.wav", NULL, sha, NULL, err), -EFBIG);
	assert_non_null(strstr(err, "huge.wav: larger than 4 GiB"));

	/* Sample rates outside 8..192 kHz. */
	wav("slow.wav", 4000, 1, 0.5, SAME);
	err[0] = '\0';
	assert_int_equal(encode("slow.wav", NULL, sha, NULL, err), -EMEDIUMTYPE);
	assert_non_null(strstr(err, "4000 Hz"));
	assert_int_equal(count_entries("assets"), 0);
}

static void encoder(void **state)
{
	static const int16_t s16[480] = { 0 };
	unsigned char *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;
	int64_t ms = 0;
	struct enc *e;

	errno = 0;
	assert_null(enc_new(7999, 48000, 24000, 10, 1));
	assert_int_equal(errno, EINVAL);
	assert_null(enc_new(192001, 48000, 24000, 10, 1));
	assert_null(enc_new(48000, 48000, 5999, 10, 1));
	assert_null(enc_new(48000, 48000, 256001, 10, 1));
	assert_null(enc_new(48000, 44100, 24000, 10, 1)); /* not an Opus rate */
	assert_null(enc_new(48000, 16000, 24000, 11, 1));
	assert_null(enc_new(48000, 16000, 24000, -1, 1));

	/* No sample: nothing to finish. */
	e = enc_new(48000, 48000, 24000, 10, 1);
	assert_non_null(e);
	assert_int_equal(enc_finish(e, &buf, &len, NULL), -ENODATA);
	enc_free(NULL);

	/* 16-bit input at a rate that is resampled; the same seed gives the
	 * same bytes, another seed another serial number. */
	for (int pass = 0; pass < 2; pass++) {
		e = enc_new(22050, 16000, 24000, 5, pass == 0 ? 7 : 8);
		assert_non_null(e);
		for (int i = 0; i < 46; i++)
			assert_int_equal(enc_write_s16(e, s16, 480), 0);
		assert_int_equal(enc_write_s16(e, s16, 0), 0);
		assert_int_equal(enc_finish(e, pass == 0 ? &buf : &buf2, pass == 0 ? &len : &len2, &ms), 0);
		assert_int_equal(ms, 1001); /* 22080 samples at 22.05 kHz */
	}
	assert_int_equal(len, len2);
	assert_memory_not_equal(buf, buf2, len);
	free(buf2);
	e = enc_new(22050, 16000, 24000, 5, 7);
	for (int i = 0; i < 46; i++)
		assert_int_equal(enc_write_s16(e, s16, 480), 0);
	assert_int_equal(enc_finish(e, &buf2, &len2, NULL), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	free(buf);
	free(buf2);

	assert_int_equal(enc_seed("0000000100000000"), 1);
	assert_int_equal(enc_seed("ffffffff"), 0xffffffffu);
	assert_int_equal(enc_seed("ABCDEF01"), 0xabcdef01u);
}

/* Speech coded at 16 kHz from 22,050 Hz: a stream any Opus decoder takes
 * (RFC 7845 headers on pages of their own, the input's rate recorded, a
 * pre-skip of the encoder's look-ahead), exactly the input's length at
 * 48 kHz, with the audio at its time (resampling adds no delay). */
static void speech_stream(void **state)
{
	int n = 22050 * 3 / 2 + 7, e = 0;
	int16_t *s16 = malloc(sizeof(*s16) * (size_t)n);
	float *out = malloc(sizeof(*out) * 48000 * 2);
	struct enc *enc = enc_new(22050, 16000, 24000, 5, 3);
	const OpusHead *head;
	OggOpusFile *of;
	unsigned char *buf;
	size_t len;
	int64_t got = 0;
	long best = 0;
	double bestc = -1;

	assert_non_null(s16);
	assert_non_null(out);
	assert_non_null(enc);
	for (int i = 0; i < n; i++)
		s16[i] = (int16_t)(8000 * sin(2 * M_PI * 440 * i / 22050.0));
	assert_int_equal(enc_write_s16(enc, s16, n), 0);
	assert_int_equal(enc_finish(enc, &buf, &len, NULL), 0);
	/* The identification header is the first page, alone. */
	assert_memory_equal(buf + 28, "OpusHead", 8);
	assert_int_equal(buf[26], 1);
	assert_memory_equal(buf + 28 + 19, "OggS", 4);

	of = op_open_memory(buf, len, &e);
	assert_non_null(of);
	head = op_head(of, -1);
	assert_int_equal(head->channel_count, 1);
	assert_int_equal(head->input_sample_rate, 22050);
	assert_true(head->pre_skip > 0 && head->pre_skip % 3 == 0 && head->pre_skip < 960);
	assert_int_equal(op_pcm_total(of, -1), ((int64_t)n * 48000 + 11025) / 22050);
	for (int r; got < 48000 * 2 && (r = op_read_float(of, out + got, (int)(48000 * 2 - got), NULL)) > 0;)
		got += r;
	assert_int_equal(got, op_pcm_total(of, -1));
	/* The tone lines up with the input's within 3 samples at 48 kHz
	 * (63 us: libopus's decoder brings SILK's 16 kHz to 48 kHz with a
	 * filter whose delay is not a whole sample; opusenc's renders are off
	 * by as much). */
	for (long lag = -48; lag <= 48; lag++) {
		double c = 0;

		for (long i = 4800; i < 4800 + 24000; i++)
			c += out[i + lag] * sin(2 * M_PI * 440 * i / 48000.0);
		if (c > bestc) {
			bestc = c;
			best = lag;
		}
	}
	if (labs(best) > 3)
		fail_msg("the tone is %ld samples late", best);
	op_free(of);
	free(buf);
	free(out);
	free(s16);
}

/* enc_store: named by the hash, kept when present, replaced when a file
 * of that name has another size (left by a crash). */
static void store(void **state)
{
	static const unsigned char bytes[] = "not audio, but enc_store does not care";
	char sha[CX_SHA256_HEX], name[CX_SHA256_HEX + 5], path[256];
	struct stat st1, st2;

	assert_int_equal(enc_store("a/b", bytes, sizeof(bytes), sha), 0);
	asset_filename(sha, name);
	snprintf(path, sizeof(path), "a/b/%s", name);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_size, (off_t)sizeof(bytes));
	assert_int_equal(enc_store("a/b", bytes, sizeof(bytes), sha), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	write_text(path, "short");
	assert_int_equal(enc_store("a/b", bytes, sizeof(bytes), sha), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st2.st_size, (off_t)sizeof(bytes));

	assert_int_equal(enc_cache_put("c", "not-a-key", sha), -EINVAL);
	assert_int_equal(enc_cache_put("c", sha, "not-a-sha"), -EINVAL);
	assert_int_equal(enc_cache_get("c", "not-a-key", "a/b", sha, NULL), -ENOENT);
	assert_int_equal(enc_cache_get("nowhere", sha, "a/b", sha, NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(formats, setup, teardown),
		cmocka_unit_test_setup_teardown(mixdown, setup, teardown),
		cmocka_unit_test_setup_teardown(reproducible, setup, teardown),
		cmocka_unit_test_setup_teardown(cache, setup, teardown),
		cmocka_unit_test_setup_teardown(errors, setup, teardown),
		cmocka_unit_test_setup_teardown(limits, setup, teardown),
		cmocka_unit_test_setup_teardown(encoder, setup, teardown),
		cmocka_unit_test(speech_stream),
		cmocka_unit_test_setup_teardown(store, setup, teardown),
	};

	if (!getcwd(home, sizeof(home)))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
