/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trust.c -- the controller keys a pole trusts */
#include "trust.h"

#include "fileio.h"
#include "hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file: "base HEX\n" (SHA-256 of node.yaml's keys when it was taken),
 * "signer BASE64\n" (the key that verified it then), then the signed keys
 * message as it came. Written atomically; the signature guards it
 * against a torn or damaged disk. */
#define BASE_TAG   "base "
#define SIGNER_TAG "signer "

static void base_of(const struct env_key *keys, size_t n, char out[65])
{
	unsigned char buf[CTL_KEYS_MAX * ENV_PK_BYTES];

	for (size_t i = 0; i < n; i++)
		memcpy(buf + i * ENV_PK_BYTES, keys[i].pk, ENV_PK_BYTES);
	cx_sha256_hex(buf, n * ENV_PK_BYTES, out);
}

/* Verify MSG against KEYS and parse it; *SIGNER (if not NULL) is the key
 * that verified it. One key at a time: a key whose id is not the
 * trailer's is passed over without any cryptography, so the message is
 * verified once. */
static int parse_signed(const char *msg, size_t len, const struct env_key *keys, size_t nkeys,
			struct ctl_keys *k, const struct env_key **signer, char *err, size_t errlen)
{
	size_t jl = 0, i;
	int r = -ENOKEY;

	for (i = 0; i < nkeys && (r = env_verify(msg, len, &keys[i], 1, &jl)) == -ENOKEY; i++)
		;
	if (r < 0) {
		snprintf(err, errlen, "%s", env_strerror(r));
		return r;
	}
	if (signer)
		*signer = &keys[i];
	return ctl_keys_parse(msg, jl, k, err, errlen);
}

/* The next line of [*P, END) without its newline, NUL-terminated in place
 * of it; NULL when there is none. */
static char *next_line(char **p, char *end)
{
	char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));

	if (!nl)
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	return s;
}

int trust_open(struct trust *t, const char *state_dir, const struct env_key *conf, size_t nconf,
	       char *why, size_t whylen)
{
	struct ctl_keys k;
	struct env_key signer;
	char *buf = NULL, *p, *end, *base, *sig, err[200] = "";
	size_t len;
	int r;

	memset(t, 0, sizeof(*t));
	if (nconf < 1 || nconf > CTL_KEYS_MAX)
		return -EINVAL;
	memcpy(t->keys, conf, nconf * sizeof(*conf));
	t->nkeys = nconf;
	base_of(conf, nconf, t->base);
	if (why && whylen)
		why[0] = '\0';
	if (!(t->path = fio_join(state_dir, TRUST_FILE)))
		return -ENOMEM;
	r = fio_read_all(t->path, ENV_MAX_BYTES + 256, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		snprintf(err, sizeof(err), "cannot read it: %s", strerror(-r));
		goto ignored;
	}
	p = buf;
	end = buf + len;
	base = next_line(&p, end);
	sig = base ? next_line(&p, end) : NULL;
	if (!sig || strncmp(base, BASE_TAG, strlen(BASE_TAG)) ||
	    strncmp(sig, SIGNER_TAG, strlen(SIGNER_TAG)) ||
	    env_key_from_base64(sig + strlen(SIGNER_TAG), &signer) < 0) {
		snprintf(err, sizeof(err), "not a saved keys message");
		goto ignored;
	}
	if (strcmp(base + strlen(BASE_TAG), t->base)) {
		snprintf(err, sizeof(err), "node.yaml's trusted_keys changed since it was taken; "
			 "they are in force");
		goto ignored;
	}
	if (parse_signed(p, (size_t)(end - p), &signer, 1, &k, NULL, err, sizeof(err)) < 0)
		goto ignored;
	memcpy(t->keys, k.keys, k.nkeys * sizeof(k.keys[0]));
	t->nkeys = k.nkeys;
	t->issued_ms = k.issued_ms;
	free(buf);
	return 1;
ignored:
	if (why && whylen)
		snprintf(why, whylen, "%s ignored: %s", t->path, err);
	free(buf);
	return 0;
}

void trust_close(struct trust *t)
{
	free(t->path);
	t->path = NULL;
}

int trust_take(struct trust *t, const char *msg, size_t len, char *err, size_t errlen)
{
	const struct env_key *signer = NULL;
	char b64[ENV_PK_B64_LEN + 1], *buf;
	struct ctl_keys k;
	int n, r;

	if ((r = parse_signed(msg, len, t->keys, t->nkeys, &k, &signer, err, errlen)) < 0)
		return r;
	if (k.issued_ms <= t->issued_ms)
		return 0;
	env_key_to_base64(signer->pk, b64);
	if (!(buf = malloc(len + 256)))
		return -ENOMEM;
	n = snprintf(buf, 256, BASE_TAG "%s\n" SIGNER_TAG "%s\n", t->base, b64);
	memcpy(buf + n, msg, len);
	r = fio_write_atomic(t->path, buf, (size_t)n + len, 0644);
	free(buf);
	if (r < 0) {
		snprintf(err, errlen, "cannot save %s: %s", t->path, strerror(-r));
		return r;
	}
	memcpy(t->keys, k.keys, k.nkeys * sizeof(k.keys[0]));
	t->nkeys = k.nkeys;
	t->issued_ms = k.issued_ms;
	return 1;
}
