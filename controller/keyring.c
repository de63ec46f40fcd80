/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keyring.c -- the poles' enrolled keys, to verify what they sign */
#include "keyring.h"

#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TRAILER "sig ed25519 "

struct entry {
	struct store_key key;
	double credit;             /* failures it may still have */
	int64_t credit_ms;         /* when CREDIT was last brought up to date */
};

struct keyring {
	struct store *st;
	struct entry *v;           /* by node id */
	size_t n, cap;
	int64_t loaded_ms;
};

static int add_fn(const struct store_key *key, void *ud)
{
	struct keyring *k = ud;

	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		struct entry *v = realloc(k->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		k->v = v;
		k->cap = cap;
	}
	k->v[k->n++] = (struct entry){ .key = *key, .credit = KEYRING_FAIL_BURST };
	return 0;
}

static struct entry *find(struct keyring *k, const char *node)
{
	size_t lo = 0, hi = k->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(k->v[mid].key.node, node);

		if (c == 0)
			return &k->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Reload, keeping each node's credit. */
static int reload(struct keyring *k, int64_t now_ms)
{
	struct keyring fresh = { .st = k->st };
	int r;

	k->loaded_ms = now_ms;
	r = store_keys(k->st, add_fn, &fresh);
	if (r < 0) {
		free(fresh.v);
		return r;
	}
	for (size_t i = 0; i < fresh.n; i++) {
		struct entry *old = find(k, fresh.v[i].key.node);

		if (old && !memcmp(old->key.key.pk, fresh.v[i].key.key.pk, ENV_PK_BYTES)) {
			fresh.v[i].credit = old->credit;
			fresh.v[i].credit_ms = old->credit_ms;
		}
	}
	free(k->v);
	k->v = fresh.v;
	k->n = fresh.n;
	k->cap = fresh.cap;
	return 0;
}

struct keyring *keyring_new(struct store *st)
{
	struct keyring *k = calloc(1, sizeof(*k));
	int r;

	if (!k) {
		errno = ENOMEM;
		return NULL;
	}
	k->st = st;
	r = reload(k, 0);
	if (r < 0) {
		keyring_free(k);
		errno = -r;
		return NULL;
	}
	return k;
}

void keyring_free(struct keyring *k)
{
	if (!k)
		return;
	free(k->v);
	free(k);
}

size_t keyring_count(const struct keyring *k) { return k->n; }

static struct entry *lookup(struct keyring *k, const char *node, const char *keyid,
			    int64_t now_ms)
{
	struct entry *e = find(k, node);

	if ((!e || (keyid && memcmp(e->key.key.id, keyid, ENV_KEYID_LEN))) &&
	    now_ms - k->loaded_ms >= 1000) {
		(void)reload(k, now_ms);
		e = find(k, node);
	}
	return e;
}

const struct store_key *keyring_get(struct keyring *k, const char *node, int64_t now_ms)
{
	struct entry *e = lookup(k, node, NULL, now_ms);

	return e ? &e->key : NULL;
}

/* The key id a signed message names, or NULL when it has no trailer. */
static const char *trailer_keyid(const char *msg, size_t len)
{
	const size_t tlen = strlen(TRAILER) + ENV_KEYID_LEN + 1 + 88;

	if (len > 0 && msg[len - 1] == '\n')
		len--;
	if (len < tlen + 2 || memcmp(msg + len - tlen, TRAILER, strlen(TRAILER)))
		return NULL;
	return msg + len - tlen + strlen(TRAILER);
}

int keyring_verify(struct keyring *k, const char *node, const char *msg, size_t len,
		   size_t *jsonlen, int64_t now_ms)
{
	const char *keyid = trailer_keyid(msg, len);
	struct entry *e = lookup(k, node, keyid, now_ms);
	int r;

	if (!e)
		return -ENOKEY;
	/* A wall clock stepped back adds nothing and takes nothing. */
	if (now_ms > e->credit_ms)
		e->credit += (double)(now_ms - e->credit_ms) * KEYRING_FAIL_RATE / 1000.0;
	if (e->credit > KEYRING_FAIL_BURST)
		e->credit = KEYRING_FAIL_BURST;
	e->credit_ms = now_ms;
	if (e->credit < 1)
		return -EBUSY;
	r = env_verify(msg, len, &e->key.key, 1, jsonlen);
	if (r == -ENOKEY)
		r = -EKEYEXPIRED;
	/* Only a signature that failed to verify took time; a wrong key id
	 * or a malformed trailer is refused before that, at no cost. */
	if (r == -EKEYREJECTED)
		e->credit -= 1;
	return r;
}

/* The node of TOPIC if it is of kind T, verified payload's JSON length. */
static int open_topic(struct keyring *k, enum wire_topic t, const char *topic,
		      const void *payload, size_t len, int64_t now_ms,
		      char node[WIRE_ARG_MAX + 1], size_t *jl)
{
	if (wire_topic_parse(topic, node) != t)
		return -EBADMSG;
	return keyring_verify(k, node, payload, len, jl, now_ms);
}

int keyring_receipt(struct keyring *k, const char *topic, const void *payload, size_t len,
		    int64_t now_ms, struct receipt *out)
{
	char node[WIRE_ARG_MAX + 1];
	size_t jl;
	int r = open_topic(k, WIRE_T_RECEIPT, topic, payload, len, now_ms, node, &jl);

	return r < 0 ? r : receipt_parse(payload, jl, node, out, NULL, 0);
}

int keyring_status(struct keyring *k, const char *topic, const void *payload, size_t len,
		   int64_t now_ms, struct status *out)
{
	char node[WIRE_ARG_MAX + 1];
	size_t jl;
	int r = open_topic(k, WIRE_T_STATUS, topic, payload, len, now_ms, node, &jl);

	return r < 0 ? r : status_parse(payload, jl, node, out, NULL, 0);
}
