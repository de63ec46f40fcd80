/* SPDX-License-Identifier: GPL-2.0-or-later */
/* envelope.h -- signed controller messages: JSON, newline, "sig ed25519 KEYID B64" */
#pragma once

#include <stddef.h>

#define ENV_MAX_BYTES  (8u << 20) /* largest signed message accepted */
#define ENV_PK_BYTES   32
#define ENV_SK_BYTES   64
#define ENV_SIG_BYTES  64
#define ENV_KEYID_LEN  16         /* hex digits */

struct env_key {
	unsigned char pk[ENV_PK_BYTES];
	char id[ENV_KEYID_LEN + 1];
};

/* KEYID: hex of the first 8 bytes of SHA-256(pk). */
void env_keyid(const unsigned char pk[ENV_PK_BYTES], char id[ENV_KEYID_LEN + 1]);

/* Parse a base64 (standard alphabet, padded) public key.
 * \retval 0 / -EINVAL */
int env_key_from_base64(const char *b64, struct env_key *key);

/* Generate a key pair into DIR as DIR/signing.key (base64 secret key, mode
 * 0600) and DIR/signing.pub (base64 public key).
 * \retval 0 / -EEXIST if either exists / -errno */
int env_keygen(const char *dir, struct env_key *out);

/* Create the secret key file PATH (mode 0600, a new key; fsynced with its
 * directory) unless it exists, then load it: what a pole does at its first
 * start. *CREATED tells which (may be NULL).
 * \retval 0 / -EINVAL an existing file is not a key / -errno */
int env_secret_load_or_create(const char *path, unsigned char sk[ENV_SK_BYTES],
			      struct env_key *pub, int *created);

/* The padded standard base64 of a public key (what trusted_keys and
 * `cunxiang enrol` take), NUL-terminated. */
#define ENV_PK_B64_LEN 44
void env_key_to_base64(const unsigned char pk[ENV_PK_BYTES], char out[ENV_PK_B64_LEN + 1]);

/* Load a secret key file written by env_keygen.
 * \retval 0 / -EINVAL malformed / -errno */
int env_secret_load(const char *path, unsigned char sk[ENV_SK_BYTES], struct env_key *pub);

/* Load a public key file: one base64 line (signing.pub, --print-key's).
 * \retval 0 / -EINVAL not one key / -errno reading it */
int env_pub_load(const char *path, struct env_key *key);

/* Sign the LEN bytes of JSON, which must not contain a newline or a NUL
 * (env_verify refuses both): *OUT is a malloc'ed "JSON\nsig ed25519 KEYID
 * B64SIG" of *OUTLEN bytes, not NUL-terminated beyond *OUTLEN (a NUL
 * follows for convenience).
 * \retval 0 / -EINVAL / -EMSGSIZE / -ENOMEM */
int env_sign(const char *json, size_t len, const unsigned char sk[ENV_SK_BYTES],
	     char **out, size_t *outlen);

/* Verify a signed message against the trusted KEYS. On success *JSONLEN is
 * the length of the signed JSON that starts at MSG.
 * \retval 0
 * \retval -EMSGSIZE      larger than ENV_MAX_BYTES
 * \retval -EBADMSG       no trailer, malformed trailer, truncated
 * \retval -ENOKEY        key id not among KEYS
 * \retval -EKEYREJECTED  signature does not verify */
int env_verify(const char *msg, size_t len, const struct env_key *keys, size_t nkeys,
	       size_t *jsonlen);

/* Detached signature over raw bytes (live frames). \retval 0 */
int env_sign_raw(const void *buf, size_t len, const unsigned char sk[ENV_SK_BYTES],
		 unsigned char sig[ENV_SIG_BYTES]);
/* Verify a detached signature against any of KEYS.
 * \retval 0 / -EKEYREJECTED */
int env_verify_raw(const void *buf, size_t len, const unsigned char sig[ENV_SIG_BYTES],
		   const struct env_key *keys, size_t nkeys);

/* Short human description of an env_verify error code. */
const char *env_strerror(int r);
