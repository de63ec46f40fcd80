/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_wire.c -- every signed JSON message of cx/v1 (receipt, status, ack,
 * pong, cmd, want, alert, and the unsigned ping) and the envelope check
 * against arbitrary bytes */
/*
 * The same bytes go to every parser, as a hostile client on the broker could
 * send any of them on any topic. Beyond not crashing, each parser keeps its
 * contract: 0 or a documented error with a one-line reason; and what it
 * accepts, signed again, verifies and parses back to the same message (the
 * signed text of both is the same, byte for byte): a pole and the
 * controller can never disagree about a message they both took.
 *
 * libFuzzer: meson setup build-fuzz -Dlibfuzzer=true (with CC=clang), then
 *   build-fuzz/tests/fuzz/fuzz_wire -max_len=8192 tests/fuzz/corpus/wire
 * Otherwise the corpus runner (runner.c) is linked in, and meson runs it.
 */
#include "alert.h"
#include "ctlmsg.h"
#include "envelope.h"
#include "receipt.h"
#include "status.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char sk[ENV_SK_BYTES];
static struct env_key key;

static void setup(void)
{
	static int done;
	unsigned char seed[32];

	if (done)
		return;
	done = 1;
	memset(seed, 7, sizeof(seed));
	if (sodium_init() < 0 || crypto_sign_seed_keypair(key.pk, sk, seed) != 0)
		abort();
	env_keyid(key.pk, key.id);
}

/* A parse failure: a documented error and a one-line reason. */
static void failed(int r, const char *err)
{
	if ((r != -EBADMSG && r != -ENOMEM) || (r == -EBADMSG && !err[0]) || strchr(err, '\n'))
		abort();
}

/* MSG, signed, verifies with KEY; *JSONLEN its signed text. */
static void verified(const char *msg, size_t len, size_t *jsonlen)
{
	if (env_verify(msg, len, &key, 1, jsonlen) != 0 || *jsonlen > len)
		abort();
}

/* The first and the second signing of one message are the same bytes. */
static void same(char *a, size_t alen, char *b, size_t blen)
{
	if (alen != blen || memcmp(a, b, alen))
		abort();
	free(a);
	free(b);
}

static void receipt(const char *json, size_t len)
{
	struct receipt r, r2;
	char err[256] = "", *m1, *m2;
	size_t l1, l2, jl;
	int rc = receipt_parse(json, len, NULL, &r, err, sizeof(err));

	if (rc < 0) {
		failed(rc, err);
		return;
	}
	if (receipt_sign(&r, sk, &m1, &l1) != 0)
		abort();
	verified(m1, l1, &jl);
	if (receipt_parse(m1, jl, r.node, &r2, err, sizeof(err)) != 0 ||
	    receipt_sign(&r2, sk, &m2, &l2) != 0)
		abort();
	same(m1, l1, m2, l2);
}

static void status(const char *json, size_t len)
{
	struct status s, s2;
	char err[256] = "", *m1, *m2;
	size_t l1, l2, jl;
	int rc = status_parse(json, len, NULL, &s, err, sizeof(err));

	if (rc < 0) {
		failed(rc, err);
		return;
	}
	if (status_sign(&s, sk, &m1, &l1) != 0)
		abort();
	verified(m1, l1, &jl);
	if (status_parse(m1, jl, s.node, &s2, err, sizeof(err)) != 0 ||
	    status_sign(&s2, sk, &m2, &l2) != 0)
		abort();
	same(m1, l1, m2, l2);
}

static void ack(const char *json, size_t len)
{
	struct ctl_ack a, a2;
	char err[256] = "", *m1, *m2;
	size_t l1, l2, jl;
	int rc = ctl_ack_parse(json, len, NULL, &a, err, sizeof(err));

	if (rc < 0) {
		failed(rc, err);
		return;
	}
	if (ctl_ack_sign(&a, sk, &m1, &l1) != 0)
		abort();
	verified(m1, l1, &jl);
	if (ctl_ack_parse(m1, jl, a.node, &a2, err, sizeof(err)) != 0 ||
	    ctl_ack_sign(&a2, sk, &m2, &l2) != 0)
		abort();
	same(m1, l1, m2, l2);
}

static void pong(const char *json, size_t len)
{
	struct ctl_pong p, p2;
	char err[256] = "", *m1, *m2;
	size_t l1, l2, jl;
	int rc = ctl_pong_parse(json, len, NULL, &p, err, sizeof(err));

	if (rc < 0) {
		failed(rc, err);
		return;
	}
	if (ctl_pong_sign(&p, sk, &m1, &l1) != 0)
		abort();
	verified(m1, l1, &jl);
	if (ctl_pong_parse(m1, jl, p.node, &p2, err, sizeof(err)) != 0 ||
	    ctl_pong_sign(&p2, sk, &m2, &l2) != 0)
		abort();
	same(m1, l1, m2, l2);
}

static void cmd(const char *json, size_t len)
{
	struct ctl_cmd_msg c, c2;
	char err[256] = "", *m1, *m2;
	size_t l1, l2, jl;
	int rc = ctl_cmd_parse(json, len, NULL, &c, err, sizeof(err));

	if (rc < 0) {
		failed(rc, err);
		return;
	}
	if (ctl_cmd_sign(&c, sk, &m1, &l1) != 0)
		abort();
	verified(m1, l1, &jl);
	if (ctl_cmd_parse(m1, jl, c.node, &c2, err, sizeof(err)) != 0 ||
	    ctl_cmd_sign(&c2, sk, &m2, &l2) != 0)
		abort();
	same(m1, l1, m2, l2);
}

static void want(const char *json, size_t len)
{
	struct ctl_want w, w2;
	char err[256] = "", *m1, *m2;
	size_t l1, l2, jl;
	int rc = ctl_want_parse(json, len, NULL, &w, err, sizeof(err));

	if (rc < 0) {
		failed(rc, err);
		return;
	}
	if (w.nassets > CTL_WANT_MAX_ASSETS || ctl_want_sign(&w, sk, &m1, &l1) != 0)
		abort();
	verified(m1, l1, &jl);
	if (ctl_want_parse(m1, jl, w.node, &w2, err, sizeof(err)) != 0 ||
	    ctl_want_sign(&w2, sk, &m2, &l2) != 0)
		abort();
	same(m1, l1, m2, l2);
}

static void keys(const char *json, size_t len)
{
	struct ctl_keys k, k2;
	char err[256] = "", *m1, *m2;
	size_t l1, l2, jl;
	int rc = ctl_keys_parse(json, len, &k, err, sizeof(err));

	if (rc < 0) {
		failed(rc, err);
		return;
	}
	if (k.nkeys < 1 || k.nkeys > CTL_KEYS_MAX || ctl_keys_sign(&k, sk, &m1, &l1) != 0)
		abort();
	verified(m1, l1, &jl);
	if (ctl_keys_parse(m1, jl, &k2, err, sizeof(err)) != 0 ||
	    ctl_keys_sign(&k2, sk, &m2, &l2) != 0)
		abort();
	same(m1, l1, m2, l2);
}

static void ping(const char *json, size_t len)
{
	char err[256] = "", *m;
	size_t l;
	int64_t t0, t1;
	int rc = ctl_ping_parse(json, len, &t0, err, sizeof(err));

	if (rc < 0) {
		failed(rc, err);
		return;
	}
	if (ctl_ping_build(t0, &m, &l) != 0 || ctl_ping_parse(m, l, &t1, err, sizeof(err)) != 0 ||
	    t1 != t0)
		abort();
	free(m);
}

static void alert(const char *json, size_t len)
{
	struct alert *a = NULL, *a2 = NULL;
	char err[256] = "", *m1, *m2;
	size_t l1, l2, jl;
	int rc = alert_parse(json, len, &a, err, sizeof(err));

	if (rc < 0) {
		if (a)
			abort();
		failed(rc, err);
		return;
	}
	if (alert_sign(a, sk, &m1, &l1) != 0)
		abort();
	verified(m1, l1, &jl);
	if (alert_parse(m1, jl, &a2, err, sizeof(err)) != 0 || alert_sign(a2, sk, &m2, &l2) != 0)
		abort();
	same(m1, l1, m2, l2);
	alert_free(a);
	alert_free(a2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	size_t jl;
	int r;

	setup();
	r = env_verify(json, size, &key, 1, &jl);
	if (r == 0 ? jl > size : r != -EMSGSIZE && r != -EBADMSG && r != -ENOKEY && r != -EKEYREJECTED)
		abort();
	receipt(json, size);
	status(json, size);
	ack(json, size);
	pong(json, size);
	cmd(json, size);
	want(json, size);
	keys(json, size);
	ping(json, size);
	alert(json, size);
	return 0;
}
