/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hash.h -- SHA-256 names for assets and caches */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CX_SHA256_HEX 65 /* 64 hex digits and a NUL */

/* Initialise libsodium once; aborts if the system has no entropy source,
 * since no signature or key could be trusted then. Safe to call often. */
void cx_crypto_init(void);
/* Lower-case hex SHA-256 of BUF. Calls sodium_init() itself. */
void cx_sha256_hex(const void *buf, size_t len, char out[CX_SHA256_HEX]);
/* Lower-case hex SHA-256 of a file's bytes. \retval 0 / -errno */
int cx_sha256_file(const char *path, char out[CX_SHA256_HEX]);
/* True if S is exactly 64 lower-case hex digits. */
bool cx_is_sha256_hex(const char *s);
/* Lower-case hex of LEN bytes into OUT (2*LEN+1 bytes). */
void cx_hex(const unsigned char *in, size_t len, char *out);
