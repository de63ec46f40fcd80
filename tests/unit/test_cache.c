/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_cache.c -- state directory: small files, verified assets, sweep at open, gc */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cache.h"
#include "hash.h"

#include <errno.h>
#include <math.h>
#include <opus/opusenc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

struct blob {
	char *buf;
	size_t len;
	char sha[CX_SHA256_HEX];
};

static struct blob opus[3];

static void read_whole(const char *path, struct blob *b)
{
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	b->len = (size_t)n;
	b->buf = malloc(b->len);
	assert_non_null(b->buf);
	assert_int_equal(fread(b->buf, 1, b->len, f), b->len);
	fclose(f);
	cx_sha256_hex(b->buf, b->len, b->sha);
}

/* A short real Ogg Opus file, different for each HZ. */
static void make_opus(struct blob *b, double hz)
{
	OggOpusComments *com = ope_comments_create();
	int n = 48000 / 5, err = 0;
	int16_t *pcm = malloc((size_t)n * sizeof(*pcm));
	char path[128];
	OggOpusEnc *enc;

	assert_non_null(com);
	assert_non_null(pcm);
	for (int k = 0; k < n; k++)
		pcm[k] = (int16_t)(8000 * sin(2 * M_PI * hz * k / 48000));
	snprintf(path, sizeof(path), "%s/src.opus", base);
	enc = ope_encoder_create_file(path, com, 48000, 1, 0, &err);
	assert_non_null(enc);
	assert_int_equal(ope_encoder_write(enc, pcm, n), OPE_OK);
	assert_int_equal(ope_encoder_drain(enc), OPE_OK);
	ope_encoder_destroy(enc);
	ope_comments_destroy(com);
	free(pcm);
	read_whole(path, b);
	assert_int_equal(unlink(path), 0);
}

static int setup(void **state)
{
	strcpy(base, "/tmp/test_cache.XXXXXX");
	assert_non_null(mkdtemp(base));
	make_opus(&opus[0], 440);
	make_opus(&opus[1], 660);
	make_opus(&opus[2], 880);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	for (int i = 0; i < 3; i++)
		free(opus[i].buf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd);
}

static void state_dir(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", base, name);
}

static void put_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void small_files(void **state)
{
	char dir[256], *buf;
	struct cache *c;
	size_t len;

	state_dir(dir, sizeof(dir), "small/state");
	c = cache_open(dir); /* creates the directories */
	assert_non_null(c);
	assert_int_equal(cache_removed(c), 0);
	assert_true(exists(dir, "assets"));
	assert_true(exists(dir, "spool"));
	assert_non_null(strstr(cache_spool_dir(c), "/small/state/spool"));

	assert_int_equal(cache_get(c, "clock", 64, &buf, &len), -ENOENT);
	assert_int_equal(cache_put(c, "clock", "-212\n", 5), 0);
	assert_int_equal(cache_put(c, "seen_alerts.json", "[]", 2), 0);
	assert_int_equal(cache_get(c, "clock", 64, &buf, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "-212\n");
	free(buf);
	/* Replaced whole. */
	assert_int_equal(cache_put(c, "clock", "7", 1), 0);
	assert_int_equal(cache_get(c, "clock", 64, &buf, &len), 0);
	assert_string_equal(buf, "7");
	free(buf);
	assert_int_equal(cache_put(c, "plan.msg", "0123456789", 10), 0);
	assert_int_equal(cache_get(c, "plan.msg", 9, &buf, &len), -EFBIG);
	assert_int_equal(cache_put(c, "empty", "", 0), 0);
	assert_int_equal(cache_get(c, "empty", 9, &buf, &len), 0);
	assert_int_equal(len, 0);
	free(buf);
	cache_close(c);
	cache_close(NULL);
}

static void names_checked(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "../escape", "a/b", "/etc/passwd", ".hidden", "Clock", "a b",
		"x.tmp.1", "assets", "spool", "a\\b", "名字",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
	};
	char dir[256], *buf, path[512];
	struct cache *c;
	size_t len;

	state_dir(dir, sizeof(dir), "names");
	c = cache_open(dir);
	assert_non_null(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cache_put(c, bad[i], "x", 1), -EINVAL);
		assert_int_equal(cache_get(c, bad[i], 10, &buf, &len), -EINVAL);
	}
	assert_false(exists(base, "escape"));
	assert_int_equal(cache_put(c, "a-b_c.9", "x", 1), 0);

	/* Asset names are SHA-256 hex and nothing else. */
	assert_false(cache_has_asset(c, "../../../etc/passwd"));
	assert_false(cache_has_asset(c, "ABCDEF0000000000000000000000000000000000000000000000000000000000"));
	assert_int_equal(cache_asset_path(c, "../x", path, sizeof(path)), -EINVAL);
	assert_int_equal(cache_put_asset(c, "../x", opus[0].buf, opus[0].len), -EINVAL);
	assert_int_equal(cache_asset_path(c, opus[0].sha, path, 20), -ENAMETOOLONG);
	cache_close(c);
}

static void assets(void **state)
{
	char dir[256], path[512], want[512], wrong[CX_SHA256_HEX];
	struct blob got;
	struct cache *c;

	state_dir(dir, sizeof(dir), "assets");
	c = cache_open(dir);
	assert_non_null(c);
	assert_false(cache_has_asset(c, opus[0].sha));
	assert_int_equal(cache_put_asset(c, opus[0].sha, opus[0].buf, opus[0].len), 0);
	assert_true(cache_has_asset(c, opus[0].sha));
	assert_int_equal(cache_asset_path(c, opus[0].sha, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/assets/%s.opus", dir, opus[0].sha);
	assert_string_equal(path, want);
	read_whole(path, &got);
	assert_int_equal(got.len, opus[0].len);
	assert_memory_equal(got.buf, opus[0].buf, got.len);
	free(got.buf);

	/* Bytes that do not hash to the name are refused, and nothing is written. */
	assert_int_equal(cache_put_asset(c, opus[1].sha, opus[0].buf, opus[0].len), -EBADMSG);
	assert_false(cache_has_asset(c, opus[1].sha));
	/* Right hash, but not Ogg Opus. */
	cx_sha256_hex("hello", 5, wrong);
	assert_int_equal(cache_put_asset(c, wrong, "hello", 5), -EMEDIUMTYPE);
	assert_false(cache_has_asset(c, wrong));
	cache_close(c);
}

static void sweep_at_open(void **state)
{
	char dir[256], adir[300], name[80], hello[CX_SHA256_HEX];
	struct cache *c;
	char *bent;

	state_dir(dir, sizeof(dir), "sweep");
	c = cache_open(dir);
	assert_non_null(c);
	for (int i = 0; i < 3; i++)
		assert_int_equal(cache_put_asset(c, opus[i].sha, opus[i].buf, opus[i].len), 0);
	assert_int_equal(cache_put(c, "plan.msg", "plan", 4), 0);
	cache_close(c);

	snprintf(adir, sizeof(adir), "%s/assets", dir);
	/* A bad sector in asset 0: one byte flipped. */
	bent = malloc(opus[0].len);
	memcpy(bent, opus[0].buf, opus[0].len);
	bent[opus[0].len / 2] ^= 0x40;
	snprintf(name, sizeof(name), "%s.opus", opus[0].sha);
	put_file(adir, name, bent, opus[0].len);
	free(bent);
	/* Asset 1 cut short. */
	snprintf(name, sizeof(name), "%s.opus", opus[1].sha);
	put_file(adir, name, opus[1].buf, opus[1].len / 3);
	/* A file named by its hash that is not Ogg Opus. */
	cx_sha256_hex("hello", 5, hello);
	snprintf(name, sizeof(name), "%s.opus", hello);
	put_file(adir, name, "hello", 5);
	/* Leftovers of writes a power cut interrupted, and files not ours. */
	snprintf(name, sizeof(name), "%s.opus.tmp.4242", opus[1].sha);
	put_file(adir, name, opus[1].buf, 10);
	put_file(dir, "plan.msg.tmp.77", "half", 4);
	put_file(adir, "README", "mine", 4);
	put_file(dir, "notes", "mine", 4);

	c = cache_open(dir);
	assert_non_null(c);
	assert_int_equal(cache_removed(c), 3);
	assert_false(cache_has_asset(c, opus[0].sha));
	assert_false(cache_has_asset(c, opus[1].sha));
	assert_false(cache_has_asset(c, hello));
	assert_true(cache_has_asset(c, opus[2].sha));
	snprintf(name, sizeof(name), "%s.opus.tmp.4242", opus[1].sha);
	assert_false(exists(adir, name));
	assert_false(exists(dir, "plan.msg.tmp.77"));
	assert_true(exists(dir, "plan.msg"));
	assert_true(exists(adir, "README"));
	assert_true(exists(dir, "notes"));
	cache_close(c);

	/* Nothing left to remove the next time. */
	c = cache_open(dir);
	assert_int_equal(cache_removed(c), 0);
	cache_close(c);
}

static void gc(void **state)
{
	char dir[256], adir[300], keep[3][65];
	struct cache *c;

	state_dir(dir, sizeof(dir), "gc");
	c = cache_open(dir);
	assert_non_null(c);
	for (int i = 0; i < 3; i++)
		assert_int_equal(cache_put_asset(c, opus[i].sha, opus[i].buf, opus[i].len), 0);
	snprintf(adir, sizeof(adir), "%s/assets", dir);
	put_file(adir, "README", "mine", 4);

	memcpy(keep[0], opus[2].sha, 65);
	memcpy(keep[1], "0000000000000000000000000000000000000000000000000000000000000000", 65);
	memcpy(keep[2], opus[0].sha, 65);
	assert_int_equal(cache_gc(c, keep, 3), 1);
	assert_true(cache_has_asset(c, opus[0].sha));
	assert_false(cache_has_asset(c, opus[1].sha));
	assert_true(cache_has_asset(c, opus[2].sha));
	assert_int_equal(cache_gc(c, keep, 3), 0);
	/* An empty plan keeps nothing. */
	assert_int_equal(cache_gc(c, NULL, 0), 2);
	assert_false(cache_has_asset(c, opus[0].sha));
	assert_true(exists(adir, "README"));
	cache_close(c);
}

static void open_fails(void **state)
{
	errno = 0;
	assert_null(cache_open("/proc/version/state"));
	assert_int_not_equal(errno, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_files),
		cmocka_unit_test(names_checked),
		cmocka_unit_test(assets),
		cmocka_unit_test(sweep_at_open),
		cmocka_unit_test(gc),
		cmocka_unit_test(open_fails),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
