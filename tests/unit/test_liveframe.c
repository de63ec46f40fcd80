/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_liveframe.c -- live frames: layout, signatures bound to their stream, hostile bytes */
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

#define STREAM "640104100000-20261201-0001"

static int build(uint32_t seq, uint64_t pts, uint8_t flags, const unsigned char *opus,
		 uint16_t len, unsigned char *out, size_t cap)
{
	struct liveframe f = { .seq = seq, .pts_us = pts, .flags = flags, .opus_len = len,
			       .opus = opus };

	return liveframe_build(&f, STREAM, sk, out, cap);
}

static void test_layout(void **state)
{
	static const unsigned char opus[3] = { 0xaa, 0xbb, 0xcc };
	unsigned char buf[LIVEFRAME_MAX];
	static const unsigned char want[] = {
		'C', 'X', 'L', '2',
		0x01, 0x02, 0x03, 0x04,                          /* seq */
		0x00, 0x06, 0x5a, 0x0b, 0x1c, 0x2d, 0x3e, 0x4f,  /* pts_us */
		0x01,                                            /* flags */
		0x00, 0x03,                                      /* opus_len */
		0xaa, 0xbb, 0xcc,
	};
	unsigned char msg[1 + sizeof(STREAM) - 1 + sizeof(want)];
	int n;

	(void)state;
	n = build(0x01020304, 0x00065a0b1c2d3e4fULL, LIVEFRAME_LAST, opus, 3, buf, sizeof(buf));
	assert_int_equal(n, LIVEFRAME_HDR + 3 + ENV_SIG_BYTES);
	assert_memory_equal(buf, want, sizeof(want));
	/* The signature is Ed25519 over the stream name's length (one byte),
	 * the name, and every frame byte before the signature. */
	msg[0] = sizeof(STREAM) - 1;
	memcpy(msg + 1, STREAM, sizeof(STREAM) - 1);
	memcpy(msg + sizeof(STREAM), want, sizeof(want));
	assert_int_equal(crypto_sign_verify_detached(buf + n - ENV_SIG_BYTES, msg, sizeof(msg),
						     key.pk), 0);
	/* ... and not over the frame alone, as CXL1 signed it. */
	assert_int_not_equal(crypto_sign_verify_detached(buf + n - ENV_SIG_BYTES, buf,
							 (unsigned long long)(n - ENV_SIG_BYTES),
							 key.pk), 0);
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
	assert_int_equal(liveframe_verify(buf, (size_t)n, STREAM, keys, 2, &f), 0);
	assert_int_equal(f.seq, 4000000000u);
	assert_true(f.pts_us == UINT64_MAX - 5);
	assert_int_equal(f.flags, 0);
	assert_int_equal(f.opus_len, LIVEFRAME_MAX_OPUS);
	assert_ptr_equal(f.opus, buf + LIVEFRAME_HDR);
	assert_memory_equal(f.opus, opus, LIVEFRAME_MAX_OPUS);

	/* An empty packet is allowed (no audio in the frame). */
	n = build(7, 1, LIVEFRAME_LAST, NULL, 0, buf, sizeof(buf));
	assert_int_equal(n, LIVEFRAME_MIN);
	assert_int_equal(liveframe_verify(buf, (size_t)n, STREAM, &key, 1, &f), 0);
	assert_int_equal(f.opus_len, 0);
	assert_null(f.opus);
	assert_int_equal(f.flags, LIVEFRAME_LAST);
}

static void test_build_errors(void **state)
{
	unsigned char opus[LIVEFRAME_MAX_OPUS + 1] = { 0 }, buf[LIVEFRAME_MAX + 8];
	char longname[LIVE_STREAM_MAX + 2];
	struct liveframe f = { .seq = 1, .pts_us = 1, .opus_len = 10, .opus = opus };

	(void)state;
	assert_int_equal(build(1, 1, 0, opus, LIVEFRAME_MAX_OPUS + 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(build(1, 1, 0, NULL, 5, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(build(1, 1, 0, opus, 10, buf, LIVEFRAME_HDR + 10 + ENV_SIG_BYTES - 1),
			 -ENOBUFS);
	assert_int_equal(build(1, 1, 0, opus, 10, NULL, 0), -ENOBUFS);
	assert_int_equal(liveframe_build(NULL, STREAM, sk, buf, sizeof(buf)), -EINVAL);
	/* The stream the frame is signed for must be a valid name. */
	memset(longname, 'x', sizeof(longname));
	longname[LIVE_STREAM_MAX + 1] = '\0';
	assert_int_equal(liveframe_build(&f, NULL, sk, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(liveframe_build(&f, "", sk, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(liveframe_build(&f, "cx/v1/live/x", sk, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(liveframe_build(&f, longname, sk, buf, sizeof(buf)), -EINVAL);
	longname[LIVE_STREAM_MAX] = '\0';
	assert_int_equal(liveframe_build(&f, longname, sk, buf, sizeof(buf)),
			 LIVEFRAME_HDR + 10 + ENV_SIG_BYTES);
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
	assert_int_equal(liveframe_verify(buf, (size_t)n, STREAM, &key2, 1, &f), -EKEYREJECTED);
	assert_int_equal(f.opus_len, 0);
	assert_int_equal(liveframe_verify(buf, (size_t)n, STREAM, &key, 0, &f), -EKEYREJECTED);
	/* Any changed bit anywhere breaks it. */
	for (int i = 0; i < n; i++) {
		memcpy(bad, buf, (size_t)n);
		bad[i] ^= 0x10;
		if (i < 4 || (i >= 17 && i < 19)) {
			/* magic or length: malformed before the signature */
			assert_int_equal(liveframe_verify(bad, (size_t)n, STREAM, &key, 1, &f), -EBADMSG);
		} else {
			assert_int_equal(liveframe_verify(bad, (size_t)n, STREAM, &key, 1, &f),
					 -EKEYREJECTED);
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
	buf[3] = '3';
	assert_int_equal(liveframe_parse(buf, (size_t)n, &f), -EBADMSG);
	buf[3] = '2';
	/* A length that claims more than is there, or than Opus allows. */
	buf[17] = 0xff;
	buf[18] = 0xff;
	assert_int_equal(liveframe_parse(buf, (size_t)n, &f), -EBADMSG);
	memset(big, 0, sizeof(big));
	memcpy(big, "CXL2", 4);
	big[17] = (1276 >> 8) & 0xff;
	big[18] = 1276 & 0xff;
	assert_int_equal(liveframe_parse(big, LIVEFRAME_HDR + 1276 + ENV_SIG_BYTES, &f), -EBADMSG);
	assert_int_equal(f.opus_len, 0);
	assert_null(f.opus);
}

/* A frame signed for one stream verifies for that stream only: frames taped
 * from one live alert cannot be replayed into another. */
static void test_stream_bound(void **state)
{
	unsigned char opus[40], buf[LIVEFRAME_MAX];
	struct liveframe f;
	int n;

	(void)state;
	memset(opus, 0x33, sizeof(opus));
	n = build(0, 1764547200000000ULL, 0, opus, sizeof(opus), buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(liveframe_verify(buf, (size_t)n, STREAM, &key, 1, &f), 0);
	assert_int_equal(liveframe_verify(buf, (size_t)n, "640104100000-20261201-0002", &key, 1, &f),
			 -EKEYREJECTED);
	assert_int_equal(f.opus_len, 0);
	assert_null(f.opus);
	/* Neither a longer nor a shorter name (the length byte). */
	assert_int_equal(liveframe_verify(buf, (size_t)n, STREAM "0", &key, 1, &f), -EKEYREJECTED);
	assert_int_equal(liveframe_verify(buf, (size_t)n, "640104100000-20261201-000", &key, 1, &f),
			 -EKEYREJECTED);
	/* A name that could not be a stream is an error of the caller. */
	assert_int_equal(liveframe_verify(buf, (size_t)n, NULL, &key, 1, &f), -EINVAL);
	assert_int_equal(liveframe_verify(buf, (size_t)n, "a/b", &key, 1, &f), -EINVAL);
	assert_null(f.opus);
}

/* A frame of the old layout (magic CXL1, signed over its own bytes only) is
 * malformed, whatever its signature. */
static void test_old_magic(void **state)
{
	unsigned char buf[LIVEFRAME_MAX];
	struct liveframe f;
	size_t n = LIVEFRAME_HDR + 2 + ENV_SIG_BYTES;

	(void)state;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "CXL1", 4);
	buf[18] = 2;
	crypto_sign_detached(buf + n - ENV_SIG_BYTES, NULL, buf, n - ENV_SIG_BYTES, sk);
	assert_int_equal(liveframe_parse(buf, n, &f), -EBADMSG);
	assert_int_equal(liveframe_verify(buf, n, STREAM, &key, 1, &f), -EBADMSG);
	/* The same bytes under the new magic parse, but do not verify. */
	buf[3] = '2';
	assert_int_equal(liveframe_parse(buf, n, &f), 0);
	assert_int_equal(liveframe_verify(buf, n, STREAM, &key, 1, &f), -EKEYREJECTED);
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
		cmocka_unit_test(test_stream_bound),
		cmocka_unit_test(test_old_magic),
		cmocka_unit_test(test_stream_names),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
