/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_keyring.c -- verifying what poles sign: keys in force, reloads, the failure budget */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "keyring.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1796081400000LL /* 2026-12-01 07:30 Asia/Shanghai */

struct pole {
	unsigned char sk[ENV_SK_BYTES];
	struct env_key key;
};

struct fx {
	char dir[64], path[128];
	struct store *st;
	struct keyring *k;
	struct pole p1, p2, other;
};

static void new_pole(struct pole *p)
{
	crypto_sign_keypair(p->key.pk, p->sk);
	env_keyid(p->key.pk, p->key.id);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	strcpy(f->dir, "/tmp/test_keyring.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/" STORE_FILE, f->dir);
	f->st = store_open(f->path, 0, err, sizeof(err));
	if (!f->st)
		fail_msg("store_open: %s", err);
	new_pole(&f->p1);
	new_pole(&f->p2);
	new_pole(&f->other);
	assert_int_equal(store_key_enrol(f->st, "yn-01", &f->p1.key, false, T0 - 1000, NULL), 0);
	assert_int_equal(store_key_enrol(f->st, "yn-02", &f->p2.key, false, T0 - 1000, NULL), 0);
	f->k = keyring_new(f->st);
	assert_non_null(f->k);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	keyring_free(f->k);
	store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	free(f);
	return system(cmd);
}

/* A receipt of NODE, signed by P; *LEN its length, *JL its JSON's. */
static char *receipt_of(const struct pole *p, const char *node, int64_t seq, size_t *len,
			size_t *jl)
{
	struct receipt r;
	char *msg;

	receipt_init(&r);
	strcpy(r.node, node);
	r.seq = seq;
	r.from = 1;
	r.kind = RECEIPT_PLAN;
	r.state = RECEIPT_COMPLETED;
	strcpy(r.occ, "flood-meeting-daily@2026-12-01T07:30");
	r.volume = 80;
	assert_int_equal(receipt_sign(&r, p->sk, &msg, len), 0);
	if (jl)
		*jl = (size_t)(strchr(msg, '\n') - msg);
	return msg;
}

/* The same message with one byte of its JSON changed: a forgery. */
static char *forged(const char *msg, size_t len)
{
	char *m = malloc(len);

	assert_non_null(m);
	memcpy(m, msg, len);
	m[10] ^= 0x01;
	return m;
}

static void keys_in_force(void **state)
{
	struct fx *f = *state;
	const struct store_key *k;

	assert_int_equal(keyring_count(f->k), 2);
	k = keyring_get(f->k, "yn-01", T0);
	assert_non_null(k);
	assert_string_equal(k->node, "yn-01");
	assert_memory_equal(k->key.pk, f->p1.key.pk, ENV_PK_BYTES);
	assert_string_equal(k->key.id, f->p1.key.id);
	k = keyring_get(f->k, "yn-02", T0);
	assert_non_null(k);
	assert_string_equal(k->key.id, f->p2.key.id);
	assert_null(keyring_get(f->k, "yn-09", T0));
	assert_null(keyring_get(f->k, "", T0));
}

static void verifies(void **state)
{
	struct fx *f = *state;
	size_t len, jl, want;
	char *m = receipt_of(&f->p1, "yn-01", 7, &len, &want);

	jl = 0;
	assert_int_equal(keyring_verify(f->k, "yn-01", m, len, &jl, T0), 0);
	assert_int_equal(jl, want);
	/* The same bytes on another pole's topic: not its key. */
	assert_int_equal(keyring_verify(f->k, "yn-02", m, len, &jl, T0), -EKEYEXPIRED);
	/* A pole the store does not know. */
	assert_int_equal(keyring_verify(f->k, "yn-09", m, len, &jl, T0), -ENOKEY);
	free(m);

	/* A key that is not the pole's. */
	m = receipt_of(&f->other, "yn-01", 7, &len, NULL);
	assert_int_equal(keyring_verify(f->k, "yn-01", m, len, &jl, T0), -EKEYEXPIRED);
	free(m);

	/* Not a signed message at all; truncated; a changed byte. */
	assert_int_equal(keyring_verify(f->k, "yn-01", "{\"type\":\"receipt\"}", 18, &jl, T0),
			 -EBADMSG);
	assert_int_equal(keyring_verify(f->k, "yn-01", "", 0, &jl, T0), -EBADMSG);
	m = receipt_of(&f->p1, "yn-01", 7, &len, NULL);
	assert_int_equal(keyring_verify(f->k, "yn-01", m, len - 10, &jl, T0), -EBADMSG);
	char *bad = forged(m, len);
	assert_int_equal(keyring_verify(f->k, "yn-01", bad, len, &jl, T0), -EKEYREJECTED);
	free(bad);
	free(m);

	/* Larger than any envelope. */
	size_t big = ENV_MAX_BYTES + 1;
	char *huge = calloc(1, big);
	assert_non_null(huge);
	assert_int_equal(keyring_verify(f->k, "yn-01", huge, big, &jl, T0), -EMSGSIZE);
	free(huge);
}

static void failure_budget(void **state)
{
	struct fx *f = *state;
	int64_t t = T0 + 10000;
	size_t len, olen, jl;
	char *good = receipt_of(&f->p1, "yn-01", 7, &len, NULL);
	char *bad = forged(good, len);
	char *other = receipt_of(&f->p2, "yn-02", 7, &olen, NULL);

	for (int i = 0; i < KEYRING_FAIL_BURST; i++)
		assert_int_equal(keyring_verify(f->k, "yn-01", bad, len, &jl, t), -EKEYREJECTED);
	/* Out of credit: not even a good message is looked at. */
	assert_int_equal(keyring_verify(f->k, "yn-01", bad, len, &jl, t), -EBUSY);
	assert_int_equal(keyring_verify(f->k, "yn-01", good, len, &jl, t), -EBUSY);
	/* Another pole is not held up. */
	assert_int_equal(keyring_verify(f->k, "yn-02", other, olen, &jl, t), 0);

	/* KEYRING_FAIL_RATE a second: one more after 1/20 s. */
	t += 1000 / KEYRING_FAIL_RATE;
	assert_int_equal(keyring_verify(f->k, "yn-01", good, len, &jl, t), 0);
	assert_int_equal(keyring_verify(f->k, "yn-01", bad, len, &jl, t), -EKEYREJECTED);
	assert_int_equal(keyring_verify(f->k, "yn-01", good, len, &jl, t), -EBUSY);

	/* A long quiet time refills to KEYRING_FAIL_BURST, not more. */
	t += 3600 * 1000;
	for (int i = 0; i < KEYRING_FAIL_BURST; i++)
		assert_int_equal(keyring_verify(f->k, "yn-01", bad, len, &jl, t), -EKEYREJECTED);
	assert_int_equal(keyring_verify(f->k, "yn-01", bad, len, &jl, t), -EBUSY);

	/* The wall clock stepped back does not lock out a pole that never
	 * failed, nor give one out of credit more than it had. */
	t += 3600 * 1000;
	assert_int_equal(keyring_verify(f->k, "yn-02", other, olen, &jl, t), 0);
	assert_int_equal(keyring_verify(f->k, "yn-02", other, olen, &jl, t - 10000), 0);
	assert_int_equal(keyring_verify(f->k, "yn-02", other, olen, &jl, t - 9000), 0);
	for (int i = 0; i < KEYRING_FAIL_BURST; i++)
		assert_int_equal(keyring_verify(f->k, "yn-01", bad, len, &jl, t), -EKEYREJECTED);
	assert_int_equal(keyring_verify(f->k, "yn-01", good, len, &jl, t - 30000), -EBUSY);
	free(good);
	free(bad);
	free(other);
}

static void refusals_that_cost_nothing(void **state)
{
	struct fx *f = *state;
	int64_t t = T0 + 20000;
	size_t len, olen, jl;
	char *good = receipt_of(&f->p1, "yn-01", 7, &len, NULL);
	char *wrong = receipt_of(&f->other, "yn-01", 7, &olen, NULL);

	/* A wrong key id or no trailer is refused before any signature
	 * check. */
	for (int i = 0; i < 5 * KEYRING_FAIL_BURST; i++) {
		assert_int_equal(keyring_verify(f->k, "yn-01", wrong, olen, &jl, t), -EKEYEXPIRED);
		assert_int_equal(keyring_verify(f->k, "yn-01", "{}", 2, &jl, t), -EBADMSG);
	}
	assert_int_equal(keyring_verify(f->k, "yn-01", good, len, &jl, t), 0);
	free(good);
	free(wrong);
}

static void reloads(void **state)
{
	struct fx *f = *state;
	struct pole p3, p1b;
	int64_t t = T0 + 100000;
	size_t len, jl;
	char *m;

	/* Bring the copy up to date at T. */
	assert_null(keyring_get(f->k, "nobody", t));
	new_pole(&p3);
	assert_int_equal(store_key_enrol(f->st, "yn-03", &p3.key, false, t, NULL), 0);
	/* At most one reload a second. */
	assert_null(keyring_get(f->k, "yn-03", t + 999));
	assert_int_equal(keyring_count(f->k), 2);
	assert_non_null(keyring_get(f->k, "yn-03", t + 1000));
	assert_int_equal(keyring_count(f->k), 3);
	t += 1000;

	/* A replaced key counts from the first message it signs. */
	new_pole(&p1b);
	assert_int_equal(store_key_enrol(f->st, "yn-01", &p1b.key, true, t, NULL), 0);
	m = receipt_of(&p1b, "yn-01", 1, &len, NULL);
	assert_int_equal(keyring_verify(f->k, "yn-01", m, len, &jl, t + 500), -EKEYEXPIRED);
	assert_int_equal(keyring_verify(f->k, "yn-01", m, len, &jl, t + 1000), 0);
	assert_string_equal(keyring_get(f->k, "yn-01", t + 1000)->key.id, p1b.key.id);
	free(m);
	/* and the old one no longer does. */
	m = receipt_of(&f->p1, "yn-01", 8, &len, NULL);
	assert_int_equal(keyring_verify(f->k, "yn-01", m, len, &jl, t + 1000), -EKEYEXPIRED);
	free(m);
	t += 1000;

	/* A retired key is gone once the copy is reloaded. */
	assert_int_equal(store_key_remove(f->st, "yn-03", t), 0);
	assert_null(keyring_get(f->k, "nobody", t + 1000));
	assert_int_equal(keyring_count(f->k), 2);
	m = receipt_of(&p3, "yn-03", 1, &len, NULL);
	assert_int_equal(keyring_verify(f->k, "yn-03", m, len, &jl, t + 1000), -ENOKEY);
	free(m);
}

static void reload_keeps_budget(void **state)
{
	struct fx *f = *state;
	int64_t t = T0 + 200000;
	struct pole p2b;
	size_t len, jl;
	char *good = receipt_of(&f->p2, "yn-02", 7, &len, NULL);
	char *bad = forged(good, len);
	char *m;

	for (int i = 0; i < KEYRING_FAIL_BURST; i++)
		assert_int_equal(keyring_verify(f->k, "yn-02", bad, len, &jl, t), -EKEYREJECTED);
	assert_int_equal(keyring_verify(f->k, "yn-02", good, len, &jl, t), -EBUSY);
	/* A reload (a message from an unknown pole) keeps the pole's debt. */
	assert_int_equal(keyring_verify(f->k, "yn-77", good, len, &jl, t), -ENOKEY);
	assert_int_equal(keyring_verify(f->k, "yn-02", good, len, &jl, t), -EBUSY);
	/* A new key starts with a full budget (the second that passed
	 * would give the old debt only KEYRING_FAIL_RATE). */
	new_pole(&p2b);
	assert_int_equal(store_key_enrol(f->st, "yn-02", &p2b.key, true, t, NULL), 0);
	m = receipt_of(&p2b, "yn-02", 1, &len, NULL);
	assert_int_equal(keyring_verify(f->k, "yn-02", m, len, &jl, t + 1000), 0);
	free(bad);
	bad = forged(m, len);
	for (int i = 0; i < KEYRING_FAIL_BURST; i++)
		assert_int_equal(keyring_verify(f->k, "yn-02", bad, len, &jl, t + 1000),
				 -EKEYREJECTED);
	assert_int_equal(keyring_verify(f->k, "yn-02", bad, len, &jl, t + 1000), -EBUSY);
	free(m);
	free(good);
	free(bad);
}

static void receipts_and_statuses(void **state)
{
	struct fx *f = *state;
	int64_t t = T0 + 300000;
	struct receipt r;
	struct status s;
	size_t len;
	char *m, *msg;

	m = receipt_of(&f->p1, "yn-01", 42, &len, NULL);
	assert_int_equal(keyring_receipt(f->k, "cx/v1/receipt/yn-01", m, len, t, &r), 0);
	assert_string_equal(r.node, "yn-01");
	assert_int_equal(r.seq, 42);
	assert_int_equal(r.volume, 80);
	assert_int_equal(r.state, RECEIPT_COMPLETED);
	/* Only on its own kind of topic, of its own node. */
	assert_int_equal(keyring_receipt(f->k, "cx/v1/status/yn-01", m, len, t, &r), -EBADMSG);
	assert_int_equal(keyring_receipt(f->k, "cx/v1/receipt/YN-01", m, len, t, &r), -EBADMSG);
	assert_int_equal(keyring_receipt(f->k, "cx/v1/receipt/yn-02", m, len, t, &r), -EKEYEXPIRED);
	assert_int_equal(keyring_receipt(f->k, "cx/v1/receipt/yn-09", m, len, t, &r), -ENOKEY);
	assert_int_equal(keyring_status(f->k, "cx/v1/receipt/yn-01", m, len, t, &s), -EBADMSG);
	/* Rightly signed, but a status is not a receipt. */
	assert_int_equal(keyring_status(f->k, "cx/v1/status/yn-01", m, len, t, &s), -EBADMSG);
	free(m);

	/* Signed by yn-01's key, but naming yn-02: refused by the parser. */
	m = receipt_of(&f->p1, "yn-02", 42, &len, NULL);
	assert_int_equal(keyring_receipt(f->k, "cx/v1/receipt/yn-01", m, len, t, &r), -EBADMSG);
	free(m);

	/* Signed, but breaking a receipt rule. */
	static const char json[] = "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":1,\"from\":1,"
				   "\"occ\":\"o\",\"kind\":\"plan\",\"state\":\"completed\","
				   "\"volume\":101}";
	assert_int_equal(env_sign(json, strlen(json), f->p1.sk, &msg, &len), 0);
	assert_int_equal(keyring_receipt(f->k, "cx/v1/receipt/yn-01", msg, len, t, &r), -EBADMSG);
	free(msg);

	status_init(&s);
	strcpy(s.node, "yn-01");
	s.boot = 3;
	s.n = 9;
	s.state = STATUS_IDLE;
	s.volume = 70;
	assert_int_equal(status_sign(&s, f->p1.sk, &msg, &len), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(keyring_status(f->k, "cx/v1/status/yn-01", msg, len, t, &s), 0);
	assert_string_equal(s.node, "yn-01");
	assert_int_equal(s.boot, 3);
	assert_int_equal(s.n, 9);
	assert_int_equal(s.volume, 70);
	assert_int_equal(keyring_status(f->k, "cx/v1/status/yn-02", msg, len, t, &s), -EKEYEXPIRED);
	assert_int_equal(keyring_status(f->k, "cx/v1/status", msg, len, t, &s), -EBADMSG);
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(keys_in_force, setup, teardown),
		cmocka_unit_test_setup_teardown(verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(failure_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(refusals_that_cost_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(reloads, setup, teardown),
		cmocka_unit_test_setup_teardown(reload_keeps_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(receipts_and_statuses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
