/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mqpw.h -- mosquitto 2.0 password file entries: "$7$" PBKDF2-SHA512 hashes */
#pragma once

#include <stddef.h>

/* mosquitto 2.0's own format (src/password_mosq.[ch], mosquitto_passwd):
 * "$7$ITERATIONS$SALT$HASH", PBKDF2-HMAC-SHA512 over the password bytes,
 * a 12-byte random salt, a 64-byte key, both in padded standard base64;
 * mosquitto_passwd uses 101 iterations. */
#define MQPW_ITERATIONS   101
#define MQPW_SALT_BYTES   12
#define MQPW_HASH_BYTES   64
#define MQPW_MAX_ITER     10000000
/* Room for "$7$ITER$" + 16 + "$" + 88 and a NUL. */
#define MQPW_HASH_LEN     128
/* Characters of a password from mqpw_random(): 24 random bytes. */
#define MQPW_PASSWORD_LEN 32

/* The hash field of PASSWORD with a new random salt, NUL-terminated in OUT.
 * \retval 0 / -EIO libcrypto failed */
int mqpw_hash(const char *password, char out[MQPW_HASH_LEN]);

/* Whether HASH (a password file entry's part after "USER:") is PASSWORD's.
 * \retval 0 it is / -EKEYREJECTED it is not / -EINVAL not a "$7$" entry
 *         mosquitto would take / -EIO libcrypto failed */
int mqpw_verify(const char *hash, const char *password);

/* A new random password: MQPW_PASSWORD_LEN characters of URL-safe base64
 * (letters, digits, - and _), NUL-terminated. */
void mqpw_random(char out[MQPW_PASSWORD_LEN + 1]);
