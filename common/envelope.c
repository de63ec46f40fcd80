/* SPDX-License-Identifier: GPL-2.0-or-later */
/* envelope.c -- signed controller messages: JSON, newline, "sig ed25519 KEYID B64" */
#include "envelope.h"

#include "fileio.h"
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRAILER_PREFIX "sig ed25519 "
#define SIG_B64_LEN 88 /* padded base64 of 64 bytes */

void env_keyid(const unsigned char pk[ENV_PK_BYTES], char id[ENV_KEYID_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	cx_crypto_init();
	crypto_hash_sha256(h, pk, ENV_PK_BYTES);
	cx_hex(h, ENV_KEYID_LEN / 2, id);
}

static int b64_decode_exact(const char *s, size_t slen, unsigned char *out, size_t want)
{
	size_t got = 0;
	const char *end = NULL;

	/* libsodium 1.0.18 reads each character as a (signed) char: every
	 * byte from 0x80 up decodes as '/', so one signature would have
	 * 128 spellings. Only the alphabet is base64. */
	for (size_t i = 0; i < slen; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/' || s[i] == '='))
			return -EINVAL;
	if (sodium_base642bin(out, want, s, slen, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -EINVAL;
	if (got != want || end != s + slen)
		return -EINVAL;
	return 0;
}

int env_key_from_base64(const char *b64, struct env_key *key)
{
	unsigned char pk[ENV_PK_BYTES];

	cx_crypto_init();
	/* Decode aside: a failed decode must leave KEY as it was. */
	if (!b64 || b64_decode_exact(b64, strlen(b64), pk, sizeof(pk)) < 0)
		return -EINVAL;
	memcpy(key->pk, pk, sizeof(pk));
	env_keyid(key->pk, key->id);
	return 0;
}

static int write_new(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text);
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}

int env_keygen(const char *dir, struct env_key *out)
{
	unsigned char pk[ENV_PK_BYTES], sk[ENV_SK_BYTES];
	char skb[sodium_base64_ENCODED_LEN(ENV_SK_BYTES, sodium_base64_VARIANT_ORIGINAL) + 1];
	char pkb[sodium_base64_ENCODED_LEN(ENV_PK_BYTES, sodium_base64_VARIANT_ORIGINAL) + 1];
	char *skpath = NULL, *pkpath = NULL;
	int r;

	cx_crypto_init();
	r = fio_mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	skpath = fio_join(dir, "signing.key");
	pkpath = fio_join(dir, "signing.pub");
	if (!skpath || !pkpath) {
		r = -ENOMEM;
		goto out;
	}
	if (access(skpath, F_OK) == 0 || access(pkpath, F_OK) == 0) {
		r = -EEXIST;
		goto out;
	}
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(skb, sizeof(skb) - 1, sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(pkb, sizeof(pkb) - 1, pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
	strcat(skb, "\n");
	strcat(pkb, "\n");
	r = write_new(skpath, skb, 0600);
	if (r < 0)
		goto out;
	r = write_new(pkpath, pkb, 0644);
	if (r < 0) {
		unlink(skpath);
		goto out;
	}
	r = fio_fsync_dir_of(skpath);
	if (out) {
		memcpy(out->pk, pk, sizeof(pk));
		env_keyid(pk, out->id);
	}
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(skb, sizeof(skb));
	free(skpath);
	free(pkpath);
	return r;
}

int env_secret_load(const char *path, unsigned char sk[ENV_SK_BYTES], struct env_key *pub)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	cx_crypto_init();
	r = fio_read_all(path, 4096, &buf, &len);
	if (r < 0)
		return r;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		len--;
	r = b64_decode_exact(buf, len, sk, ENV_SK_BYTES);
	sodium_memzero(buf, len);
	free(buf);
	if (r < 0)
		return -EINVAL;
	if (pub) {
		crypto_sign_ed25519_sk_to_pk(pub->pk, sk);
		env_keyid(pub->pk, pub->id);
	}
	return 0;
}

int env_secret_load_or_create(const char *path, unsigned char sk[ENV_SK_BYTES],
			      struct env_key *pub, int *created)
{
	unsigned char pk[ENV_PK_BYTES], nsk[ENV_SK_BYTES];
	char skb[sodium_base64_ENCODED_LEN(ENV_SK_BYTES, sodium_base64_VARIANT_ORIGINAL) + 1];
	int r;

	cx_crypto_init();
	if (created)
		*created = 0;
	if (access(path, F_OK) == 0)
		return env_secret_load(path, sk, pub);
	if (errno != ENOENT)
		return -errno;
	crypto_sign_keypair(pk, nsk);
	sodium_bin2base64(skb, sizeof(skb) - 1, nsk, sizeof(nsk), sodium_base64_VARIANT_ORIGINAL);
	strcat(skb, "\n");
	r = write_new(path, skb, 0600);
	sodium_memzero(skb, sizeof(skb));
	sodium_memzero(nsk, sizeof(nsk));
	if (r == -EEXIST)
		return env_secret_load(path, sk, pub);
	if (r < 0 || (r = fio_fsync_dir_of(path)) < 0)
		return r;
	if (created)
		*created = 1;
	return env_secret_load(path, sk, pub);
}

void env_key_to_base64(const unsigned char pk[ENV_PK_BYTES], char out[ENV_PK_B64_LEN + 1])
{
	sodium_bin2base64(out, ENV_PK_B64_LEN + 1, pk, ENV_PK_BYTES, sodium_base64_VARIANT_ORIGINAL);
}

int env_sign(const char *json, size_t len, const unsigned char sk[ENV_SK_BYTES],
	     char **out, size_t *outlen)
{
	unsigned char sig[ENV_SIG_BYTES], pk[ENV_PK_BYTES];
	char id[ENV_KEYID_LEN + 1];
	size_t tlen = strlen(TRAILER_PREFIX) + ENV_KEYID_LEN + 1 + SIG_B64_LEN;
	size_t total = len + 1 + tlen;
	char *m, *p;

	cx_crypto_init();
	/* Nothing env_verify would refuse: no newline, no NUL. */
	if (len == 0 || memchr(json, '\n', len) || memchr(json, '\0', len))
		return -EINVAL;
	if (total > ENV_MAX_BYTES)
		return -EMSGSIZE;
	m = malloc(total + 1);
	if (!m)
		return -ENOMEM;
	crypto_sign_detached(sig, NULL, (const unsigned char *)json, len, sk);
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	env_keyid(pk, id);
	memcpy(m, json, len);
	p = m + len;
	*p++ = '\n';
	memcpy(p, TRAILER_PREFIX, strlen(TRAILER_PREFIX));
	p += strlen(TRAILER_PREFIX);
	memcpy(p, id, ENV_KEYID_LEN);
	p += ENV_KEYID_LEN;
	*p++ = ' ';
	sodium_bin2base64(p, SIG_B64_LEN + 1, sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	m[total] = '\0';
	*out = m;
	*outlen = total;
	return 0;
}

int env_verify(const char *msg, size_t len, const struct env_key *keys, size_t nkeys,
	       size_t *jsonlen)
{
	const size_t plen = strlen(TRAILER_PREFIX);
	const size_t tlen = plen + ENV_KEYID_LEN + 1 + SIG_B64_LEN;
	unsigned char sig[ENV_SIG_BYTES];
	const char *nl, *t;
	size_t jlen;

	cx_crypto_init();
	if (len > ENV_MAX_BYTES)
		return -EMSGSIZE;
	if (!msg || len == 0)
		return -EBADMSG;
	/* One optional final newline after the trailer is tolerated. */
	if (msg[len - 1] == '\n')
		len--;
	if (len < tlen + 2)
		return -EBADMSG;
	t = msg + len - tlen;
	nl = t - 1;
	if (*nl != '\n')
		return -EBADMSG;
	jlen = (size_t)(nl - msg);
	if (memchr(msg, '\n', jlen) || memchr(msg, '\0', jlen))
		return -EBADMSG;
	if (memcmp(t, TRAILER_PREFIX, plen) != 0 || t[plen + ENV_KEYID_LEN] != ' ')
		return -EBADMSG;
	if (b64_decode_exact(t + plen + ENV_KEYID_LEN + 1, SIG_B64_LEN, sig, sizeof(sig)) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < nkeys; i++) {
		if (memcmp(keys[i].id, t + plen, ENV_KEYID_LEN) != 0)
			continue;
		if (crypto_sign_verify_detached(sig, (const unsigned char *)msg, jlen,
						keys[i].pk) != 0)
			return -EKEYREJECTED;
		if (jsonlen)
			*jsonlen = jlen;
		return 0;
	}
	return -ENOKEY;
}

int env_sign_raw(const void *buf, size_t len, const unsigned char sk[ENV_SK_BYTES],
		 unsigned char sig[ENV_SIG_BYTES])
{
	cx_crypto_init();
	crypto_sign_detached(sig, NULL, buf, len, sk);
	return 0;
}

int env_verify_raw(const void *buf, size_t len, const unsigned char sig[ENV_SIG_BYTES],
		   const struct env_key *keys, size_t nkeys)
{
	cx_crypto_init();
	for (size_t i = 0; i < nkeys; i++)
		if (crypto_sign_verify_detached(sig, buf, len, keys[i].pk) == 0)
			return 0;
	return -EKEYREJECTED;
}

const char *env_strerror(int r)
{
	switch (r) {
	case 0: return "ok";
	case -EMSGSIZE: return "message too large";
	case -EBADMSG: return "not a signed message (missing or malformed signature trailer)";
	case -ENOKEY: return "signed by an unknown key";
	case -EKEYREJECTED: return "signature does not verify";
	default: return "invalid message";
	}
}

int env_pub_load(const char *path, struct env_key *key)
{
	char *buf = NULL;
	size_t len;
	int r = fio_read_all(path, 4096, &buf, &len);

	if (r < 0)
		return r;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	r = memchr(buf, '\n', len) || env_key_from_base64(buf, key) < 0 ? -EINVAL : 0;
	free(buf);
	return r;
}
