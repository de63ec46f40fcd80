/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_trust.c -- the controller keys a pole trusts: node.yaml's, replaced
 * by a newer keys message signed by a key trusted now, kept across restarts
 * until node.yaml's change */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctlmsg.h"
#include "envelope.h"
#include "fileio.h"
#include "hash.h"
#include "trust.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static unsigned char sk_a[ENV_SK_BYTES], sk_b[ENV_SK_BYTES], sk_c[ENV_SK_BYTES];
static struct env_key a, b, c;

static void pair(unsigned char sk[ENV_SK_BYTES], struct env_key *k)
{
	crypto_sign_keypair(k->pk, sk);
	env_keyid(k->pk, k->id);
}

static int setup(void **state)
{
	(void)state;
	cx_crypto_init();
	snprintf(dir, sizeof(dir), "/tmp/cx-trust.XXXXXX");
	assert_non_null(mkdtemp(dir));
	pair(sk_a, &a);
	pair(sk_b, &b);
	pair(sk_c, &c);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A keys message of ISSUED naming K1 (and K2 unless NULL), signed with SK. */
static char *msg(const unsigned char *sk, int64_t issued, const struct env_key *k1,
		 const struct env_key *k2, size_t *len)
{
	struct ctl_keys k = { .issued_ms = issued, .nkeys = k2 ? 2 : 1 };
	char *m;

	k.keys[0] = *k1;
	if (k2)
		k.keys[1] = *k2;
	assert_int_equal(ctl_keys_sign(&k, sk, &m, len), 0);
	return m;
}

static bool trusts(const struct trust *t, const struct env_key *k)
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (!memcmp(t->keys[i].pk, k->pk, ENV_PK_BYTES))
			return true;
	return false;
}

static void take(struct trust *t, char *m, size_t len, int want)
{
	char err[200];

	int r = trust_take(t, m, len, err, sizeof(err));

	if (r != want)
		fprintf(stderr, "trust_take: %d (%s)\n", r, err);
	assert_int_equal(r, want);
	free(m);
}

static void test_rotation(void **state)
{
	struct trust t;
	char why[512], err[200];
	size_t len;
	int64_t t0 = 1796000000000;
	char *m;

	(void)state;
	/* No message yet: node.yaml's key. */
	assert_int_equal(trust_open(&t, dir, &a, 1, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(t.issued_ms, 0);
	assert_true(trusts(&t, &a) && !trusts(&t, &b));

	/* Signed by an untrusted key: refused. */
	m = msg(sk_b, t0, &a, &b, &len);
	assert_int_equal(trust_take(&t, m, len, err, sizeof(err)), -ENOKEY);
	free(m);
	/* Signed by a trusted key, but not a keys message. */
	m = NULL;
	assert_int_equal(env_sign("{\"type\":\"cmd\"}", 14, sk_a, &m, &len), 0);
	assert_int_equal(trust_take(&t, m, len, err, sizeof(err)), -EBADMSG);
	free(m);

	/* A and B, signed with A. */
	m = msg(sk_a, t0, &a, &b, &len);
	take(&t, m, len, 1);
	assert_int_equal(t.issued_ms, t0);
	assert_true(trusts(&t, &a) && trusts(&t, &b));
	/* The same again (the retained one on a reconnect): nothing. */
	m = msg(sk_a, t0, &a, &b, &len);
	take(&t, m, len, 0);

	/* Only B, signed with B: A is retired. */
	m = msg(sk_b, t0 + 10, &b, NULL, &len);
	take(&t, m, len, 1);
	assert_true(!trusts(&t, &a) && trusts(&t, &b));
	/* The older message (A and B) replayed: nothing changes. */
	m = msg(sk_b, t0 + 5, &a, &b, &len);
	take(&t, m, len, 0);
	assert_true(!trusts(&t, &a));
	/* Signed with the retired key: refused. */
	m = msg(sk_a, t0 + 20, &a, NULL, &len);
	assert_int_equal(trust_take(&t, m, len, err, sizeof(err)), -ENOKEY);
	free(m);
	trust_close(&t);

	/* A restart keeps B. */
	assert_int_equal(trust_open(&t, dir, &a, 1, why, sizeof(why)), 1);
	assert_int_equal(t.issued_ms, t0 + 10);
	assert_true(!trusts(&t, &a) && trusts(&t, &b));
	/* B hands over to C directly (B not in the new list). */
	m = msg(sk_b, t0 + 30, &c, NULL, &len);
	take(&t, m, len, 1);
	trust_close(&t);
	assert_int_equal(trust_open(&t, dir, &a, 1, why, sizeof(why)), 1);
	assert_true(trusts(&t, &c) && t.nkeys == 1);
	trust_close(&t);

	/* node.yaml edited: its keys win, and say why. */
	assert_int_equal(trust_open(&t, dir, &b, 1, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "node.yaml's trusted_keys changed"));
	assert_true(trusts(&t, &b) && !trusts(&t, &c));
	trust_close(&t);
}

static void test_damaged(void **state)
{
	struct trust t;
	char why[512], path[128], *buf;
	char *m;
	size_t len;
	int64_t t0 = 1796000000000;

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", dir, TRUST_FILE);
	unlink(path);
	assert_int_equal(trust_open(&t, dir, &a, 1, why, sizeof(why)), 0);
	m = msg(sk_a, t0, &b, NULL, &len);
	take(&t, m, len, 1);
	trust_close(&t);
	assert_int_equal(fio_read_all(path, 1 << 20, &buf, &len), 0);
	/* One flipped bit in the saved message: set aside. */
	buf[len - 20] ^= 1;
	assert_int_equal(fio_write_atomic(path, buf, len, 0644), 0);
	assert_int_equal(trust_open(&t, dir, &a, 1, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "ignored"));
	assert_true(trusts(&t, &a) && !trusts(&t, &b));
	trust_close(&t);
	/* Cut short: set aside too. */
	assert_int_equal(fio_write_atomic(path, buf, 30, 0644), 0);
	assert_int_equal(trust_open(&t, dir, &a, 1, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "not a saved keys message"));
	trust_close(&t);
	free(buf);
}

/* A disk that cannot take the message (here its path is a directory, so
 * the atomic rename fails as it would on a full or failing disk): it is
 * not taken, the keys in force stay, nothing half-written is left, and
 * the same message is taken once the disk can hold it. */
static void test_unsaved(void **state)
{
	struct trust t;
	char why[512], err[200], path[128];
	size_t len;
	int64_t t0 = 1797000000000;
	char *m;
	int r;

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", dir, TRUST_FILE);
	unlink(path);
	assert_int_equal(trust_open(&t, dir, &a, 1, why, sizeof(why)), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	m = msg(sk_a, t0, &b, NULL, &len);
	r = trust_take(&t, m, len, err, sizeof(err));
	assert_true(r < 0 && r != -ENOKEY && r != -EKEYREJECTED && r != -EBADMSG);
	assert_non_null(strstr(err, "cannot save"));
	assert_true(trusts(&t, &a) && !trusts(&t, &b));
	assert_int_equal(t.issued_ms, 0);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(trust_take(&t, m, len, err, sizeof(err)), 1);
	assert_true(trusts(&t, &b) && !trusts(&t, &a));
	free(m);
	trust_close(&t);
	assert_int_equal(trust_open(&t, dir, &a, 1, why, sizeof(why)), 1);
	assert_true(trusts(&t, &b));
	trust_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_unsaved),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
