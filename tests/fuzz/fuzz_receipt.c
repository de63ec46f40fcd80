/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_receipt.c -- a pole's receipt as serve takes it, into a real store, against arbitrary bytes */
/*
 * What arrives on cx/v1/receipt/yn-01 goes to serve's path into a real
 * SQLite store in a temporary directory where yn-01 is enrolled: the bytes
 * as they are (a forgery), and the bytes signed with yn-01's own key as
 * their JSON (a pole's own malformed receipt), each inside a batch that is
 * rolled back, so every input starts from the same store. Beyond not
 * crashing, it keeps its contract (controller/store.h, keyring.h):
 *  - keyring_verify: 0 or a documented error; what yn-01 signed verifies;
 *  - store_receipt: 0, 1 (duplicate) or -EBADMSG with a one-line reason,
 *    never an SQLite failure or -ENOKEY; taken (0 or 1) exactly when the
 *    strict parser takes it, and when keyring_receipt (what every reader
 *    of receipts uses) does; the same receipt again is a duplicate (also
 *    a malformed one whose seq could be read) and moves no ack.
 *
 * libFuzzer: meson setup build-fuzz -Dlibfuzzer=true (with CC=clang), then
 *   build-fuzz/tests/fuzz/fuzz_receipt -max_len=4096 tests/fuzz/corpus/receipt
 * Otherwise the corpus runner (runner.c) is linked in, and meson runs it.
 */
#include "envelope.h"
#include "keyring.h"
#include "receipt.h"
#include "store.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NODE  "yn-01"
#define TOPIC "cx/v1/receipt/" NODE

static char dir[64];
static struct store *st;
static struct keyring *kr;
static unsigned char sk[ENV_SK_BYTES];
static int64_t now = 1764545400000;

static void cleanup(void)
{
	static const char *const files[] = { STORE_FILE, STORE_FILE "-wal", STORE_FILE "-shm" };
	char path[128];

	keyring_free(kr);
	store_close(st);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Every input writes files (or a database): in a directory in memory the
 * disk stays out of it, which makes the corpus run ten times faster on a
 * busy machine. TMPDIR when set, else /dev/shm, else /tmp. */
static const char *scratch_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp && *tmp)
		return tmp;
	return access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
}

static void setup(void)
{
	unsigned char seed[32];
	struct env_key key;
	char path[128], err[256];

	if (st)
		return;
	/* fuzz_wire's key: its signed corpus verifies here too. */
	memset(seed, 7, sizeof(seed));
	if (sodium_init() < 0 || crypto_sign_seed_keypair(key.pk, sk, seed) != 0)
		abort();
	env_keyid(key.pk, key.id);
	snprintf(dir, sizeof(dir), "%s/cx-fuzz-receipt.XXXXXX", scratch_dir());
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE);
	if (!(st = store_open(path, 0, err, sizeof(err)))) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	atexit(cleanup);
	if (store_key_enrol(st, NODE, &key, false, now, NULL) != 0 || !(kr = keyring_new(st)))
		abort();
}

/* Serve's path for the signed JSON[0..JLEN) of MSG[0..LEN). */
static void take(const char *msg, size_t len, size_t jlen)
{
	struct receipt rc, viak;
	int64_t ack = -1, ack2 = -1;
	int r, r2, parsed, readers;
	bool kept;
	const char *why;

	r = store_receipt(st, NODE, msg, jlen, now, &ack);
	if ((r != 0 && r != 1 && r != -EBADMSG) || ack < 0)
		abort();
	if (r == -EBADMSG) {
		why = store_errmsg(st);
		if (!why || !why[0] || strchr(why, '\n'))
			abort();
	}
	parsed = receipt_parse(msg, jlen, NODE, &rc, NULL, 0);
	readers = keyring_receipt(kr, TOPIC, msg, len, now, &viak);
	if ((parsed == 0) != (r >= 0) || (readers == 0) != (parsed == 0) ||
	    (parsed == 0 && (viak.seq != rc.seq || strcmp(viak.occ, rc.occ))))
		abort();
	/* The same again: a duplicate if anything was kept, the same ack. */
	r2 = store_receipt(st, NODE, msg, jlen, now, &ack2);
	kept = r >= 0 || rc.seq > 0;
	if (ack2 != ack || r2 != (kept ? 1 : -EBADMSG))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	char *signed_msg = NULL;
	size_t jl, slen;
	int r;

	setup();
	/* A new second each time: no input runs out of verification credit. */
	now += 10000;
	if (store_begin(st) != 0)
		abort();
	r = keyring_verify(kr, NODE, msg, size, &jl, now);
	if (r == 0)
		take(msg, size, jl);
	else if (r != -EBADMSG && r != -EMSGSIZE && r != -EKEYREJECTED && r != -EKEYEXPIRED &&
		 r != -EBUSY)
		abort();
	store_rollback(st);

	r = env_sign(msg, size, sk, &signed_msg, &slen);
	if (r == 0) {
		if (store_begin(st) != 0 || keyring_verify(kr, NODE, signed_msg, slen, &jl, now) != 0 ||
		    jl != size)
			abort();
		take(signed_msg, slen, jl);
		store_rollback(st);
	} else if (r != -EINVAL && r != -EMSGSIZE) {
		abort();
	}
	free(signed_msg);
	return 0;
}
