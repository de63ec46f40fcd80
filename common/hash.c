/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hash.c -- SHA-256 names for assets and caches */
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void cx_crypto_init(void)
{
	if (sodium_init() < 0) {
		fputs("libsodium cannot initialise (no entropy source)\n", stderr);
		abort();
	}
}

void cx_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void cx_sha256_hex(const void *buf, size_t len, char out[CX_SHA256_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	cx_crypto_init();
	crypto_hash_sha256(h, buf, len);
	cx_hex(h, sizeof(h), out);
}

int cx_sha256_file(const char *path, char out[CX_SHA256_HEX])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES], buf[65536];
	int fd;

	cx_crypto_init();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	crypto_hash_sha256_init(&st);
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));

		if (k < 0) {
			int r = -errno;

			if (errno == EINTR)
				continue;
			close(fd);
			return r;
		}
		if (k == 0)
			break;
		crypto_hash_sha256_update(&st, buf, (unsigned long long)k);
	}
	close(fd);
	crypto_hash_sha256_final(&st, h);
	cx_hex(h, sizeof(h), out);
	return 0;
}

bool cx_is_sha256_hex(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}
