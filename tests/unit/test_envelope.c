/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_envelope.c -- signing and every rejection rule of the envelope */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "envelope.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned char sk[ENV_SK_BYTES], sk2[ENV_SK_BYTES];
static struct env_key pub, pub2;

static int setup(void **state)
{
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pub.pk, sk);
	env_keyid(pub.pk, pub.id);
	crypto_sign_keypair(pub2.pk, sk2);
	env_keyid(pub2.pk, pub2.id);
	return 0;
}

static const char plan[] = "{\"type\":\"plan\",\"node\":\"yn-01\",\"issued_ms\":1764547200000}";

static void roundtrip(void **state)
{
	char *m;
	size_t n, jl = 0;

	assert_int_equal(env_sign(plan, strlen(plan), sk, &m, &n), 0);
	assert_int_equal(env_verify(m, n, &pub, 1, &jl), 0);
	assert_int_equal(jl, strlen(plan));
	assert_memory_equal(m, plan, jl);
	/* The trailer names the key by the first 8 bytes of SHA-256(pk). */
	assert_non_null(strstr(m, "\nsig ed25519 "));
	assert_non_null(strstr(m, pub.id));
	/* A final newline is tolerated. */
	m = realloc(m, n + 1);
	m[n] = '\n';
	assert_int_equal(env_verify(m, n + 1, &pub, 1, NULL), 0);
	free(m);
}

static void unsigned_rejected(void **state)
{
	assert_int_equal(env_verify(plan, strlen(plan), &pub, 1, NULL), -EBADMSG);
	assert_int_equal(env_verify("", 0, &pub, 1, NULL), -EBADMSG);
}

static void unknown_key_rejected(void **state)
{
	char *m;
	size_t n;

	assert_int_equal(env_sign(plan, strlen(plan), sk2, &m, &n), 0);
	assert_int_equal(env_verify(m, n, &pub, 1, NULL), -ENOKEY);
	/* Trusting both keys accepts it. */
	struct env_key both[2] = { pub, pub2 };
	assert_int_equal(env_verify(m, n, both, 2, NULL), 0);
	free(m);
}

static void every_changed_byte_rejected(void **state)
{
	char *m;
	size_t n;

	assert_int_equal(env_sign(plan, strlen(plan), sk, &m, &n), 0);
	for (size_t i = 0; i < n; i++) {
		char saved = m[i];

		m[i] ^= 0x01;
		assert_int_not_equal(env_verify(m, n, &pub, 1, NULL), 0);
		m[i] = saved;
	}
	assert_int_equal(env_verify(m, n, &pub, 1, NULL), 0);
	free(m);
}

/* The signature is read as base64 and nothing else: libsodium alone takes
 * any byte from 0x80 up for '/', which gave one message 128 spellings. */
static void only_base64_in_signature(void **state)
{
	char json[80], *m = NULL, *slash = NULL;
	size_t n, tested = 0;

	/* A signature with a '/' (most have one). */
	for (int i = 0; !slash && i < 1000; i++) {
		free(m);
		snprintf(json, sizeof(json), "{\"type\":\"plan\",\"n\":%d}", i);
		assert_int_equal(env_sign(json, strlen(json), sk, &m, &n), 0);
		slash = memchr(m + strlen(json), '/', n - strlen(json));
	}
	assert_non_null(slash);
	for (int b = 0x80; b <= 0xff; b++) {
		*slash = (char)b;
		assert_int_equal(env_verify(m, n, &pub, 1, NULL), -EBADMSG);
		tested++;
	}
	*slash = '/';
	assert_int_equal(env_verify(m, n, &pub, 1, NULL), 0);
	assert_int_equal(tested, 128);
	free(m);
}

static void truncated_rejected(void **state)
{
	char *m;
	size_t n;

	assert_int_equal(env_sign(plan, strlen(plan), sk, &m, &n), 0);
	for (size_t k = 0; k < n; k++)
		assert_int_not_equal(env_verify(m, k, &pub, 1, NULL), 0);
	free(m);
}

static void oversized_rejected(void **state)
{
	size_t big = ENV_MAX_BYTES + 1;
	char *m = malloc(big);

	memset(m, 'x', big);
	assert_int_equal(env_verify(m, big, &pub, 1, NULL), -EMSGSIZE);
	assert_int_equal(env_sign(m, big, sk, &(char *){ NULL }, &(size_t){ 0 }), -EMSGSIZE);
	free(m);
}

static void json_with_newline_refused(void **state)
{
	char *m;
	size_t n;

	assert_int_equal(env_sign("{\n}", 3, sk, &m, &n), -EINVAL);
	/* Nor a NUL: env_verify would refuse what it made. */
	assert_int_equal(env_sign("{\0}", 3, sk, &m, &n), -EINVAL);
}

static void keygen_files(void **state)
{
	char dir[] = "/tmp/cx-keygen-XXXXXX", path[256];
	unsigned char lsk[ENV_SK_BYTES];
	struct env_key k, loaded;
	struct stat st;
	char *m;
	size_t n;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(env_keygen(dir, &k), 0);
	snprintf(path, sizeof(path), "%s/signing.key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(env_secret_load(path, lsk, &loaded), 0);
	assert_string_equal(loaded.id, k.id);
	assert_int_equal(env_keygen(dir, NULL), -EEXIST);

	/* The public file parses back into the same key. */
	char pubpath[256], line[128];
	snprintf(pubpath, sizeof(pubpath), "%s/signing.pub", dir);
	FILE *f = fopen(pubpath, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	struct env_key parsed;
	assert_int_equal(env_key_from_base64(line, &parsed), 0);
	assert_memory_equal(parsed.pk, k.pk, ENV_PK_BYTES);
	assert_int_equal(env_key_from_base64("not base64!", &parsed), -EINVAL);
	assert_int_equal(env_key_from_base64("AAAA", &parsed), -EINVAL);

	assert_int_equal(env_sign(plan, strlen(plan), lsk, &m, &n), 0);
	assert_int_equal(env_verify(m, n, &parsed, 1, NULL), 0);
	free(m);
	unlink(path);
	unlink(pubpath);
	rmdir(dir);
}

static void raw_signatures(void **state)
{
	unsigned char frame[100], sig[ENV_SIG_BYTES];

	memset(frame, 7, sizeof(frame));
	env_sign_raw(frame, sizeof(frame), sk, sig);
	assert_int_equal(env_verify_raw(frame, sizeof(frame), sig, &pub, 1), 0);
	frame[50] ^= 1;
	assert_int_equal(env_verify_raw(frame, sizeof(frame), sig, &pub, 1), -EKEYREJECTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(unsigned_rejected),
		cmocka_unit_test(unknown_key_rejected),
		cmocka_unit_test(every_changed_byte_rejected),
		cmocka_unit_test(only_base64_in_signature),
		cmocka_unit_test(truncated_rejected),
		cmocka_unit_test(oversized_rejected),
		cmocka_unit_test(json_with_newline_refused),
		cmocka_unit_test(keygen_files),
		cmocka_unit_test(raw_signatures),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
