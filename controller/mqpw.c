/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mqpw.c -- mosquitto 2.0 password file entries: "$7$" PBKDF2-SHA512 hashes */
#include "mqpw.h"

#include "hash.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_B64_LEN sodium_base64_ENCODED_LEN(MQPW_SALT_BYTES, sodium_base64_VARIANT_ORIGINAL)
#define HASH_B64_LEN sodium_base64_ENCODED_LEN(MQPW_HASH_BYTES, sodium_base64_VARIANT_ORIGINAL)

static int derive(const char *password, const unsigned char *salt, int iterations,
		  unsigned char key[MQPW_HASH_BYTES])
{
	if (!PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, MQPW_SALT_BYTES,
			       iterations, EVP_sha512(), MQPW_HASH_BYTES, key))
		return -EIO;
	return 0;
}

static void format_entry(const unsigned char *salt, int iterations,
			 const unsigned char key[MQPW_HASH_BYTES], char out[MQPW_HASH_LEN])
{
	char s[SALT_B64_LEN], k[HASH_B64_LEN];

	sodium_bin2base64(s, sizeof(s), salt, MQPW_SALT_BYTES, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(k, sizeof(k), key, MQPW_HASH_BYTES, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, MQPW_HASH_LEN, "$7$%d$%s$%s", iterations, s, k);
}

int mqpw_hash(const char *password, char out[MQPW_HASH_LEN])
{
	unsigned char salt[MQPW_SALT_BYTES], key[MQPW_HASH_BYTES];
	int r;

	cx_crypto_init();
	randombytes_buf(salt, sizeof(salt));
	if ((r = derive(password, salt, MQPW_ITERATIONS, key)) < 0)
		return r;
	format_entry(salt, MQPW_ITERATIONS, key, out);
	sodium_memzero(key, sizeof(key));
	return 0;
}

/* Decode the base64 field [S, END) into exactly WANT bytes. */
static int decode_exact(const char *s, const char *end, unsigned char *out, size_t want)
{
	size_t got;

	if (sodium_base642bin(out, want, s, (size_t)(end - s), NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0 || got != want)
		return -EINVAL;
	return 0;
}

int mqpw_verify(const char *hash, const char *password)
{
	unsigned char salt[MQPW_SALT_BYTES], want[MQPW_HASH_BYTES], key[MQPW_HASH_BYTES];
	const char *salt_s, *key_s;
	char *end;
	long iter;
	int r;

	if (strncmp(hash, "$7$", 3) || hash[3] < '1' || hash[3] > '9')
		return -EINVAL;
	errno = 0;
	iter = strtol(hash + 3, &end, 10);
	if (errno || *end != '$' || iter < 1 || iter > MQPW_MAX_ITER)
		return -EINVAL;
	salt_s = end + 1;
	key_s = strchr(salt_s, '$');
	if (!key_s || strchr(key_s + 1, '$') ||
	    decode_exact(salt_s, key_s, salt, sizeof(salt)) < 0 ||
	    decode_exact(key_s + 1, key_s + 1 + strlen(key_s + 1), want, sizeof(want)) < 0)
		return -EINVAL;
	if ((r = derive(password, salt, (int)iter, key)) < 0)
		return r;
	r = CRYPTO_memcmp(key, want, sizeof(key)) ? -EKEYREJECTED : 0;
	sodium_memzero(key, sizeof(key));
	return r;
}

void mqpw_random(char out[MQPW_PASSWORD_LEN + 1])
{
	unsigned char b[MQPW_PASSWORD_LEN / 4 * 3];

	cx_crypto_init();
	randombytes_buf(b, sizeof(b));
	sodium_bin2base64(out, MQPW_PASSWORD_LEN + 1, b, sizeof(b),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(b, sizeof(b));
}
