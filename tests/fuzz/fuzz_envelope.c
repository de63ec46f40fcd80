/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_envelope.c -- env_verify, env_verify_raw and env_key_from_base64 against arbitrary bytes */
/*
 * Every message a pole or the controller trusts went through env_verify
 * first. Beyond not crashing, it keeps its contract: 0 or one of its four
 * documented errors (each with a description); what it accepts is the
 * signed JSON (no newline, no NUL) followed by one newline and the trailer,
 * and is byte for byte what env_sign makes of that JSON with the key it
 * names (an optional final newline aside): a signed message has one
 * spelling, so no copy of it can pass for another message. A key that
 * env_key_from_base64 takes prints back as the same text.
 *
 * The trusted keys come from fixed seeds, so the corpus carries messages
 * that verify (signed-*.msg) for the fuzzer to mutate.
 *
 * libFuzzer: meson setup build-fuzz -Dlibfuzzer=true (with CC=clang), then
 *   build-fuzz/tests/fuzz/fuzz_envelope -max_len=4096 tests/fuzz/corpus/envelope
 * Otherwise the corpus runner (runner.c) is linked in, and meson runs it.
 */
#include "envelope.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NKEYS 2
static unsigned char sk[NKEYS][ENV_SK_BYTES];
static struct env_key keys[NKEYS];

static void setup(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < NKEYS; i++) {
		unsigned char seed[32];

		memset(seed, 7 + 2 * i, sizeof(seed));
		if (crypto_sign_seed_keypair(keys[i].pk, sk[i], seed) != 0)
			abort();
		env_keyid(keys[i].pk, keys[i].id);
	}
}

/* MSG[0..LEN) verified as JSON[0..JLEN): it is what signing that JSON with
 * the key it names makes, with at most one final newline more. */
static void one_spelling(const char *msg, size_t len, size_t jlen)
{
	const char *id = msg + jlen + 1 + strlen("sig ed25519 ");
	char *again = NULL;
	size_t alen = 0;
	int k;

	if (jlen >= len || msg[jlen] != '\n' || memchr(msg, '\n', jlen) || memchr(msg, '\0', jlen))
		abort();
	for (k = 0; k < NKEYS; k++)
		if (!memcmp(id, keys[k].id, ENV_KEYID_LEN))
			break;
	if (k == NKEYS || env_sign(msg, jlen, sk[k], &again, &alen) != 0)
		abort();
	if (!(len == alen || (len == alen + 1 && msg[alen] == '\n')) || memcmp(again, msg, alen))
		abort();
	free(again);
}

static void key_text(const uint8_t *data, size_t size)
{
	char text[128], back[ENV_PK_B64_LEN + 1];
	struct env_key k;

	if (size >= sizeof(text) || memchr(data, '\0', size))
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&k, 0x5a, sizeof(k));
	if (env_key_from_base64(text, &k) != 0)
		return;
	env_key_to_base64(k.pk, back);
	if (strcmp(back, text))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	size_t jlen = SIZE_MAX;
	int r;

	setup();
	for (size_t n = 0; n <= NKEYS; n++) {
		r = env_verify(msg, size, keys, n, &jlen);
		if (r == 0)
			one_spelling(msg, size, jlen);
		else if (r != -EMSGSIZE && r != -EBADMSG && r != -ENOKEY && r != -EKEYREJECTED)
			abort();
		if (!env_strerror(r) || strchr(env_strerror(r), '\n'))
			abort();
	}
	/* Live frames: a detached signature over what follows it. Nobody
	 * holds the keys but this harness, so nothing can verify. */
	if (size >= ENV_SIG_BYTES &&
	    env_verify_raw(data + ENV_SIG_BYTES, size - ENV_SIG_BYTES, data, keys, NKEYS) !=
		    -EKEYREJECTED)
		abort();
	key_text(data, size);
	return 0;
}
