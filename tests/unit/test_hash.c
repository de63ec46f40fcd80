/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_hash.c -- SHA-256 names: known digests, files, and the hex-name rule */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* FIPS 180-2 test vectors. */
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/test_hash.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void known_digests(void **state)
{
	char out[CX_SHA256_HEX];
	char *a = malloc(1000000);

	cx_sha256_hex("", 0, out);
	assert_string_equal(out, SHA_EMPTY);
	cx_sha256_hex("abc", 3, out);
	assert_string_equal(out, SHA_ABC);
	assert_non_null(a);
	memset(a, 'a', 1000000);
	cx_sha256_hex(a, 1000000, out);
	assert_string_equal(out, SHA_MILLION_A);
	free(a);
	/* Bytes, not a C string: a NUL inside counts. */
	cx_sha256_hex("abc\0", 4, out);
	assert_string_not_equal(out, SHA_ABC);
	assert_true(cx_is_sha256_hex(out));
}

static void crypto_init_repeats(void **state)
{
	char out[CX_SHA256_HEX];

	cx_crypto_init();
	cx_crypto_init();
	cx_sha256_hex("abc", 3, out);
	assert_string_equal(out, SHA_ABC);
}

static void file_digests(void **state)
{
	char path[128], out[CX_SHA256_HEX], want[CX_SHA256_HEX];
	size_t big = 3 * 65536 + 17; /* spans several reads, the last one short */
	unsigned char *b = malloc(big);

	assert_non_null(b);
	for (size_t i = 0; i < big; i++)
		b[i] = (unsigned char)(i * 31 + 7);
	snprintf(path, sizeof(path), "%s/big", dir);
	write_file(path, b, big);
	assert_int_equal(cx_sha256_file(path, out), 0);
	cx_sha256_hex(b, big, want);
	assert_string_equal(out, want);
	free(b);

	snprintf(path, sizeof(path), "%s/empty", dir);
	write_file(path, "", 0);
	assert_int_equal(cx_sha256_file(path, out), 0);
	assert_string_equal(out, SHA_EMPTY);

	snprintf(path, sizeof(path), "%s/abc", dir);
	write_file(path, "abc", 3);
	assert_int_equal(cx_sha256_file(path, out), 0);
	assert_string_equal(out, SHA_ABC);
}

static void file_errors(void **state)
{
	char path[128], out[CX_SHA256_HEX];

	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(cx_sha256_file(path, out), -ENOENT);
	/* A directory opens but cannot be read. */
	assert_int_equal(cx_sha256_file(dir, out), -EISDIR);
}

static void hex(void **state)
{
	static const unsigned char in[] = { 0x00, 0xff, 0x1a, 0xa1, 0x09, 0x90 };
	char out[2 * sizeof(in) + 1];

	memset(out, 'x', sizeof(out));
	cx_hex(in, sizeof(in), out);
	assert_string_equal(out, "00ff1aa10990");
	memset(out, 'x', sizeof(out));
	cx_hex(in, 0, out);
	assert_string_equal(out, "");
}

static void hex_name_rule(void **state)
{
	char s[80];

	assert_true(cx_is_sha256_hex(SHA_ABC));
	assert_true(cx_is_sha256_hex("0123456789abcdef0123456789abcdef"
				     "0123456789abcdef0123456789abcdef"));
	/* Upper case is another name for the same bytes: refused. */
	strcpy(s, SHA_ABC);
	s[0] = 'B';
	assert_false(cx_is_sha256_hex(s));
	strcpy(s, SHA_ABC);
	s[63] = 'g';
	assert_false(cx_is_sha256_hex(s));
	/* One digit short, one too many. */
	strcpy(s, SHA_ABC);
	s[63] = '\0';
	assert_false(cx_is_sha256_hex(s));
	strcpy(s, SHA_ABC);
	strcat(s, "0");
	assert_false(cx_is_sha256_hex(s));
	assert_false(cx_is_sha256_hex(""));
	/* A path that starts like a name. */
	strcpy(s, SHA_ABC);
	strcat(s, "/x");
	assert_false(cx_is_sha256_hex(s));
	strcpy(s, SHA_ABC);
	s[10] = ' ';
	assert_false(cx_is_sha256_hex(s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_digests),
		cmocka_unit_test(crypto_init_repeats),
		cmocka_unit_test(file_digests),
		cmocka_unit_test(file_errors),
		cmocka_unit_test(hex),
		cmocka_unit_test(hex_name_rule),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
