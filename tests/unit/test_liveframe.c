/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_liveframe.c -- live frames: layout, signatures, hostile bytes */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "envelope.h"
#include "liveframe.h"

static unsigned char sk[ENV_SK_BYTES], sk2[ENV_SK_BYTES];
static struct env_key key, key2;

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(key.pk, sk);
	env_keyid(key.pk, key.id);
	crypto_sign_keypair(key2.pk, sk2);
	env_keyid(key2.pk, key2.id);
	return 0;
}

static int build(uint32_t seq, uint64_t pts, uint8_t flags, const unsigned char *opus,
		 uint16_t len, unsigned char *out, size_t cap)
{
	struct liveframe f = { .seq = seq, .pts_us = pts, .flags = flags, .opus_len = len,
			       .opus = opus };

	return liveframe_build(&f, sk, out, cap);
}

static void test_layout(void **state)
{
	static const unsigned char opus[3] = { 0xaa, 0xbb, 0xcc };
	unsigned char buf[LIVEFRAME_MAX];
	static const unsigned char want[] = {
		'C', 'X', 'L', '1',
		0x01, 0x02, 0x03, 0x04,                          /* seq */
		0x00, 0x06, 0x5a, 0x0b, 0x1c, 0x2d, 0x3e, 0x4f,  /* pts_us */
		0x01,                                            /* flags */
		0x00, 0x03,                                      /* opus_len */
		0xaa, 0xbb, 0xcc,
	};
	int n;

	(void)state;
	n = build(0x01020304, 0x00065a0b1c2d3e4fULL, LIVEFRAME_LAST, opus, 3, buf, sizeof(buf));
	assert_int_equal(n, LIVEFRAME_HDR + 3 + ENV_SIG_BYTES);
	assert_memory_equal(buf, want, sizeof(want));
	/* The signature is Ed25519 over everything before it. */
	assert_int_equal(crypto_sign_verify_detached(buf + n - ENV_SIG_BYTES, buf,
						     (unsigned long long)(n - ENV_SIG_BYTES), key.pk), 0);
}

static void test_roundtrip(void **state)
{
	unsigned char opus[LIVEFRAME_MAX_OPUS], buf[LIVEFRAME_MAX];
	struct liveframe f;
	struct env_key keys[2] = { key2, key };
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(opus); i++)
		opus[i] = (unsigned char)(i * 7);
	n = build(4000000000u, UINT64_MAX - 5, 0, opus, LIVEFRAME_MAX_OPUS, buf, sizeof(buf));
	assert_int_equal(n, LIVEFRAME_MAX);
	assert_int_equal(liveframe_verify(buf, (size_t)n, keys, 2, &f), 0);
	assert_int_equal(f.seq, 4000000000u);
	assert_true(f.pts_us == UINT64_MAX - 5);
	assert_int_equal(f.flags, 0);
	assert_int_equal(f.opus_len, LIVEFRAME_MAX_OPUS);
	assert_ptr_equal(f.opus, buf + LIVEFRAME_HDR);
	assert_memory_equal(f.opus, opus, LIVEFRAME_MAX_OPUS);

	/* An empty packet is allowed (no audio in the frame). */
	n = build(7, 1, LIVEFRAME_LAST, NULL, 0, buf, sizeof(buf));
	assert_int_equal(n, LIVEFRAME_MIN);
	assert_int_equal(liveframe_verify(buf, (size_t)n, &key, 1, &f), 0);
	assert_int_equal(f.opus_len, 0);
	assert_null(f.opus);
	assert_int_equal(f.flags, LIVEFRAME_LAST);
}

static void test_build_errors(void **state)
{
	unsigned char opus[LIVEFRAME_MAX_OPUS + 1] = { 0 }, buf[LIVEFRAME_MAX + 8];

	(void)state;
	assert_int_equal(build(1, 1, 0, opus, LIVEFRAME_MAX_OPUS + 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(build(1, 1, 0, NULL, 5, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(build(1, 1, 0, opus, 10, buf, LIVEFRAME_HDR + 10 + ENV_SIG_BYTES - 1),
			 -ENOBUFS);
	assert_int_equal(build(1, 1, 0, opus, 10, NULL, 0), -ENOBUFS);
	assert_int_equal(liveframe_build(NULL, sk, buf, sizeof(buf)), -EINVAL);
}

static void test_signature(void **state)
{
	unsigned char opus[40], buf[LIVEFRAME_MAX], bad[LIVEFRAME_MAX];
	struct liveframe f;
	int n;

	(void)state;
	memset(opus, 0x5c, sizeof(opus));
	n = build(9, 123456789, 0, opus, sizeof(opus), buf, sizeof(buf));
	assert_true(n > 0);
	/* Not signed by a trusted key. */
	assert_int_equal(liveframe_verify(buf, (size_t)n, &key2, 1, &f), -EKEYREJECTED);
	assert_int_equal(f.opus_len, 0);
	assert_int_equal(liveframe_verify(buf, (size_t)n, &key, 0, &f), -EKEYREJECTED);
	/* Any changed bit anywhere breaks it. */
	for (int i = 0; i < n; i++) {
		memcpy(bad, buf, (size_t)n);
		bad[i] ^= 0x10;
		if (i < 4 || (i >= 17 && i < 19)) {
			/* magic or length: malformed before the signature */
			assert_int_equal(liveframe_verify(bad, (size_t)n, &key, 1, &f), -EBADMSG);
		} else {
			assert_int_equal(liveframe_verify(bad, (size_t)n, &key, 1, &f), -EKEYREJECTED);
		}
	}
}

static void test_hostile(void **state)
{
	unsigned char opus[100], buf[LIVEFRAME_MAX + 16], big[LIVEFRAME_HDR + 1300 + ENV_SIG_BYTES];
	struct liveframe f;
	int n;

	(void)state;
	memset(opus, 1, sizeof(opus));
	n = build(1, 2, 0, opus, sizeof(opus), buf, sizeof(buf));
	/* Every truncation, and a byte too many. */
	for (int len = 0; len < n; len++)
		assert_int_equal(liveframe_parse(buf, (size_t)len, &f), -EBADMSG);
	assert_int_equal(liveframe_parse(buf, (size_t)n + 1, &f), -EBADMSG);
	assert_int_equal(liveframe_parse(NULL, 100, &f), -EBADMSG);
	assert_int_equal(liveframe_parse(buf, (size_t)n, &f), 0);
	/* Wrong magic. */
	buf[3] = '2';
	assert_int_equal(liveframe_parse(buf, (size_t)n, &f), -EBADMSG);
	buf[3] = '1';
	/* A length that claims more than is there, or than Opus allows. */
	buf[17] = 0xff;
	buf[18] = 0xff;
	assert_int_equal(liveframe_parse(buf, (size_t)n, &f), -EBADMSG);
	memset(big, 0, sizeof(big));
	memcpy(big, "CXL1", 4);
	big[17] = (1276 >> 8) & 0xff;
	big[18] = 1276 & 0xff;
	assert_int_equal(liveframe_parse(big, LIVEFRAME_HDR + 1276 + ENV_SIG_BYTES, &f), -EBADMSG);
	assert_int_equal(f.opus_len, 0);
	assert_null(f.opus);
}

static void test_stream_names(void **state)
{
	char longname[LIVE_STREAM_MAX + 2];

	(void)state;
	assert_true(live_stream_name_ok("640104100000-20261201-0001"));
	assert_true(live_stream_name_ok("a"));
	assert_true(live_stream_name_ok("Mic_1.test"));
	assert_false(live_stream_name_ok(""));
	assert_false(live_stream_name_ok(NULL));
	assert_false(live_stream_name_ok("a/b"));
	assert_false(live_stream_name_ok("+"));
	assert_false(live_stream_name_ok("#"));
	assert_false(live_stream_name_ok("a b"));
	assert_false(live_stream_name_ok("村"));
	memset(longname, 'x', sizeof(longname));
	longname[LIVE_STREAM_MAX] = '\0';
	assert_true(live_stream_name_ok(longname));
	longname[LIVE_STREAM_MAX] = 'x';
	longname[LIVE_STREAM_MAX + 1] = '\0';
	assert_false(live_stream_name_ok(longname));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_stream_names),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
