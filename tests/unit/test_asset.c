/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_asset.c -- asset verification (hash, Ogg Opus, size), durations and the decoder */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "asset.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <opusenc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[64], home[4096];

/* ---- Ogg Opus made in memory with libopusenc ------------------------- */

struct mem {
	unsigned char *b;
	size_t len;
};

static int on_page(void *user, const unsigned char *p, opus_int32 n)
{
	struct mem *m = user;

	m->b = realloc(m->b, m->len + (size_t)n);
	assert_non_null(m->b);
	memcpy(m->b + m->len, p, (size_t)n);
	m->len += (size_t)n;
	return 0;
}

static int on_close(void *user)
{
	return 0;
}

/* SECONDS of a 440 Hz tone at RATE Hz in CHANNELS channels (all equal),
 * appended to M as one Ogg Opus stream with serial number SERIAL. */
static void tone(struct mem *m, double seconds, int rate, int channels, int serial)
{
	static const OpusEncCallbacks cb = { on_page, on_close };
	OggOpusComments *com = ope_comments_create();
	OggOpusEnc *e;
	int n = (int)(seconds * rate), err = 0;
	float *pcm = malloc(sizeof(*pcm) * (size_t)n * (size_t)channels);

	assert_non_null(com);
	assert_non_null(pcm);
	for (int i = 0; i < n; i++)
		for (int c = 0; c < channels; c++)
			pcm[i * channels + c] = 0.25f * sinf(2.0f * (float)M_PI * 440.0f * (float)i / (float)rate);
	e = ope_encoder_create_callbacks(&cb, m, com, rate, channels, channels > 2 ? 1 : 0, &err);
	assert_non_null(e);
	assert_int_equal(ope_encoder_ctl(e, OPE_SET_SERIALNO(serial)), OPE_OK);
	assert_int_equal(ope_encoder_write_float(e, pcm, n), OPE_OK);
	assert_int_equal(ope_encoder_drain(e), OPE_OK);
	ope_encoder_destroy(e);
	ope_comments_destroy(com);
	free(pcm);
}

static void sha_of(const struct mem *m, char sha[CX_SHA256_HEX])
{
	cx_sha256_hex(m->b, m->len, sha);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A file of SIZE bytes that takes no disk space. */
static void sparse_file(const char *path, off_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

/* ---- fixtures --------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	strcpy(top, "/tmp/cx-test-asset.XXXXXX");
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

/* ---- tests ------------------------------------------------------------ */

static void filename(void **state)
{
	char sha[CX_SHA256_HEX], name[CX_SHA256_HEX + 5];

	cx_sha256_hex("x", 1, sha);
	asset_filename(sha, name);
	assert_int_equal(strlen(name), 64 + 5);
	assert_memory_equal(name, sha, 64);
	assert_string_equal(name + 64, ".opus");
}

static void good_asset(void **state)
{
	struct mem m = { 0 };
	char sha[CX_SHA256_HEX], name[CX_SHA256_HEX + 5];
	int64_t ms = 0;

	tone(&m, 1.0, 48000, 1, 1);
	sha_of(&m, sha);
	assert_int_equal(asset_verify_mem(m.b, m.len, sha), 0);
	assert_int_equal(asset_duration_mem(m.b, m.len, &ms), 0);
	assert_int_equal(ms, 1000);

	asset_filename(sha, name);
	write_file(name, m.b, m.len);
	assert_int_equal(asset_verify_file(name, sha), 0);
	ms = 0;
	assert_int_equal(asset_duration_file(name, &ms), 0);
	assert_int_equal(ms, 1000);
	free(m.b);
}

/* Other input rates: the duration is still in 48 kHz granules, rounded. */
static void durations(void **state)
{
	static const struct { double s; int rate; int64_t ms; } cases[] = {
		{ 0.5, 16000, 500 }, { 2.0, 44100, 2000 }, { 0.0205, 48000, 21 }, { 3.0, 8000, 3000 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mem m = { 0 };
		int64_t ms = -1;

		tone(&m, cases[i].s, cases[i].rate, 1, 7);
		assert_int_equal(asset_duration_mem(m.b, m.len, &ms), 0);
		assert_int_equal(ms, cases[i].ms);
		free(m.b);
	}
}

static void wrong_hash(void **state)
{
	struct mem m = { 0 };
	char sha[CX_SHA256_HEX], other[CX_SHA256_HEX];

	tone(&m, 0.5, 48000, 1, 1);
	sha_of(&m, sha);
	cx_sha256_hex("something else", 14, other);
	assert_int_equal(asset_verify_mem(m.b, m.len, other), -EBADMSG);
	assert_int_equal(asset_verify_mem(m.b, m.len, NULL), -EBADMSG);
	assert_int_equal(asset_verify_mem(m.b, m.len, ""), -EBADMSG);
	/* Names are lower-case hex: the same digits in upper case are not it. */
	for (char *p = sha; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(asset_verify_mem(m.b, m.len, sha), -EBADMSG);
	/* Nor a prefix of it. */
	sha_of(&m, sha);
	sha[40] = '\0';
	assert_int_equal(asset_verify_mem(m.b, m.len, sha), -EBADMSG);

	sha_of(&m, sha);
	write_file("a.opus", m.b, m.len);
	assert_int_equal(asset_verify_file("a.opus", other), -EBADMSG);
	free(m.b);
}

/* Any changed byte is caught by the hash, wherever it is. */
static void corrupt(void **state)
{
	struct mem m = { 0 };
	char sha[CX_SHA256_HEX];

	tone(&m, 0.5, 48000, 1, 1);
	sha_of(&m, sha);
	for (size_t i = 0; i < m.len; i += 97) {
		m.b[i] ^= 0x40;
		assert_int_equal(asset_verify_mem(m.b, m.len, sha), -EBADMSG);
		m.b[i] ^= 0x40;
	}
	assert_int_equal(asset_verify_mem(m.b, m.len, sha), 0);

	/* Damaged so that it is no Ogg Opus any more: even with the hash of
	 * the damaged bytes (a sender that hashed garbage) it is refused. */
	{
		unsigned char *head = memmem(m.b, m.len, "OpusHead", 8);

		assert_non_null(head);
		head[0] = 'X';
		sha_of(&m, sha);
		assert_int_equal(asset_verify_mem(m.b, m.len, sha), -EMEDIUMTYPE);
		write_file("bad.opus", m.b, m.len);
		assert_int_equal(asset_verify_file("bad.opus", sha), -EMEDIUMTYPE);
		assert_int_equal(asset_duration_file("bad.opus", NULL), -EMEDIUMTYPE);
		errno = 0;
		assert_null(asset_dec_open("bad.opus"));
		assert_int_equal(errno, EMEDIUMTYPE);
	}
	free(m.b);
}

static void truncated(void **state)
{
	struct mem m = { 0 };
	char sha[CX_SHA256_HEX], tsha[CX_SHA256_HEX];
	size_t cuts[] = { 0, 1, 27, 60, 0 };

	tone(&m, 1.0, 48000, 1, 1);
	sha_of(&m, sha);
	cuts[4] = m.len / 2;
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		/* A download cut short does not match the name it was asked by. */
		assert_int_equal(asset_verify_mem(m.b, cuts[i], sha), -EBADMSG);
		write_file("cut.opus", m.b, cuts[i]);
		assert_int_equal(asset_verify_file("cut.opus", sha), -EBADMSG);
	}
	assert_int_equal(asset_verify_mem(m.b, m.len - 1, sha), -EBADMSG);

	/* Cut inside the headers: not Ogg Opus, whatever the hash. */
	for (size_t i = 0; i < 4; i++) {
		cx_sha256_hex(m.b, cuts[i], tsha);
		assert_int_equal(asset_verify_mem(m.b, cuts[i], tsha), -EMEDIUMTYPE);
		assert_int_equal(asset_duration_mem(m.b, cuts[i], NULL), -EMEDIUMTYPE);
	}
	free(m.b);
}

static void not_opus(void **state)
{
	static const char text[] = "RIFF....WAVEfmt this is not an asset\n";
	char sha[CX_SHA256_HEX];
	unsigned char junk[4096];

	cx_sha256_hex(text, sizeof(text) - 1, sha);
	assert_int_equal(asset_verify_mem(text, sizeof(text) - 1, sha), -EMEDIUMTYPE);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 2654435761u >> 13);
	memcpy(junk, "OggS", 4);
	cx_sha256_hex(junk, sizeof(junk), sha);
	assert_int_equal(asset_verify_mem(junk, sizeof(junk), sha), -EMEDIUMTYPE);
	write_file("junk.opus", junk, sizeof(junk));
	assert_int_equal(asset_verify_file("junk.opus", sha), -EMEDIUMTYPE);
	assert_int_equal(asset_duration_file("junk.opus", NULL), -EMEDIUMTYPE);
}

static void oversize(void **state)
{
	size_t big = (size_t)ASSET_MAX_BYTES + 1;
	unsigned char *b = calloc(1, big); /* untouched pages cost nothing */
	char sha[CX_SHA256_HEX];

	assert_non_null(b);
	cx_sha256_hex("", 0, sha);
	/* Refused by size before it is hashed or parsed. */
	assert_int_equal(asset_verify_mem(b, big, sha), -EMSGSIZE);
	assert_int_equal(asset_duration_mem(b, big, NULL), -EMSGSIZE);
	free(b);

	sparse_file("big.opus", (off_t)big);
	assert_int_equal(asset_verify_file("big.opus", sha), -EMSGSIZE);
	assert_int_equal(asset_duration_file("big.opus", NULL), -EMSGSIZE);
	errno = 0;
	assert_null(asset_dec_open("big.opus"));
	assert_int_equal(errno, EMSGSIZE);

	/* Exactly the limit is not refused for its size (it is no Opus). */
	sparse_file("limit.opus", (off_t)ASSET_MAX_BYTES);
	assert_int_equal(asset_duration_file("limit.opus", NULL), -EMEDIUMTYPE);
}

static void missing_and_odd_files(void **state)
{
	char sha[CX_SHA256_HEX];

	cx_sha256_hex("", 0, sha);
	assert_int_equal(asset_verify_file("nope.opus", sha), -ENOENT);
	assert_int_equal(asset_duration_file("nope.opus", NULL), -ENOENT);
	errno = 0;
	assert_null(asset_dec_open("nope.opus"));
	assert_int_equal(errno, ENOENT);

	assert_int_equal(mkdir("dir.opus", 0755), 0);
	assert_true(asset_verify_file("dir.opus", sha) < 0);
	assert_int_equal(asset_duration_file("dir.opus", NULL), -EISDIR);

	write_file("empty.opus", "", 0);
	assert_int_equal(asset_verify_file("empty.opus", sha), -EMEDIUMTYPE);
	assert_int_equal(asset_duration_file("empty.opus", NULL), -EMEDIUMTYPE);
}

/* The decoder gives every sample at 48 kHz mono, seeks exactly, and mixes
 * several channels down. */
static void decode(void **state)
{
	struct mem m = { 0 };
	struct asset_dec *d;
	int16_t pcm[4000];
	int64_t total = 0, peak = 0;
	int n;

	tone(&m, 1.0, 48000, 2, 3);
	write_file("st.opus", m.b, m.len);
	d = asset_dec_open("st.opus");
	assert_non_null(d);
	while ((n = asset_dec_read(d, pcm, (int)(sizeof(pcm) / sizeof(pcm[0])))) > 0) {
		for (int i = 0; i < n; i++)
			peak = abs(pcm[i]) > peak ? abs(pcm[i]) : peak;
		total += n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(total, 48000);
	/* Both channels carry the tone at 0.25: the mix is the tone. */
	assert_in_range(peak, 7000, 9400);

	assert_int_equal(asset_dec_seek(d, 24000), 0);
	total = 0;
	while ((n = asset_dec_read(d, pcm, 960)) > 0)
		total += n;
	assert_int_equal(total, 24000);
	assert_int_equal(asset_dec_seek(d, 47999), 0);
	assert_int_equal(asset_dec_read(d, pcm, 960), 1);
	assert_int_equal(asset_dec_read(d, pcm, 960), 0);
	assert_int_equal(asset_dec_seek(d, 48001), -EINVAL);
	assert_int_equal(asset_dec_seek(d, -1), -EINVAL);
	assert_int_equal(asset_dec_read(d, pcm, 0), 0);
	asset_dec_close(d);
	asset_dec_close(NULL);
	free(m.b);
}

/* A chained stream (as TTS writes, one link per part) is one asset: its
 * duration is the sum and the decoder plays through the links. */
static void chained(void **state)
{
	struct mem m = { 0 };
	char sha[CX_SHA256_HEX];
	struct asset_dec *d;
	int16_t pcm[2048];
	int64_t ms = 0, total = 0;
	int n;

	tone(&m, 0.5, 48000, 1, 11);
	tone(&m, 0.25, 16000, 1, 12);
	tone(&m, 1.0, 48000, 2, 13);
	sha_of(&m, sha);
	assert_int_equal(asset_verify_mem(m.b, m.len, sha), 0);
	assert_int_equal(asset_duration_mem(m.b, m.len, &ms), 0);
	assert_int_equal(ms, 1750);
	write_file("chain.opus", m.b, m.len);
	d = asset_dec_open("chain.opus");
	assert_non_null(d);
	while ((n = asset_dec_read(d, pcm, 2048)) > 0)
		total += n;
	assert_int_equal(n, 0);
	assert_int_equal(total, 1750 * 48);
	asset_dec_close(d);
	free(m.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(filename, setup, teardown),
		cmocka_unit_test_setup_teardown(good_asset, setup, teardown),
		cmocka_unit_test_setup_teardown(durations, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(not_opus, setup, teardown),
		cmocka_unit_test_setup_teardown(oversize, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_and_odd_files, setup, teardown),
		cmocka_unit_test_setup_teardown(decode, setup, teardown),
		cmocka_unit_test_setup_teardown(chained, setup, teardown),
	};

	if (!getcwd(home, sizeof(home)))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
