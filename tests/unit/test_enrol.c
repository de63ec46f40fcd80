/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_enrol.c -- enrolling, replacing and retiring poles' keys, and what is said about it */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "enrol.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1796081400000LL /* 2026-12-01 07:30 Asia/Shanghai */
#define PROG "cunxiang enrol"

static char dir[64];
static char captured[4096];
static int saved_fd = -1;
static FILE *cap;

static int setup(void **state)
{
	assert_true(sodium_init() >= 0);
	strcpy(dir, "/tmp/test_enrol.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void begin_capture(void)
{
	fflush(stderr);
	cap = tmpfile();
	assert_non_null(cap);
	saved_fd = dup(STDERR_FILENO);
	assert_true(dup2(fileno(cap), STDERR_FILENO) >= 0);
}

/* What went to stderr since begin_capture(). */
static const char *end_capture(void)
{
	size_t n;

	fflush(stderr);
	assert_true(dup2(saved_fd, STDERR_FILENO) >= 0);
	close(saved_fd);
	rewind(cap);
	n = fread(captured, 1, sizeof(captured) - 1, cap);
	captured[n] = '\0';
	fclose(cap);
	return captured;
}

/* What enrol_print() writes. */
static const char *printed(const char *node, const struct enrol_result *res)
{
	static char out[512];
	FILE *f = fmemopen(out, sizeof(out), "w");

	assert_non_null(f);
	enrol_print(f, node, res);
	fclose(f);
	return out;
}

static void new_key(struct env_key *k)
{
	unsigned char sk[ENV_SK_BYTES];

	crypto_sign_keypair(k->pk, sk);
	env_keyid(k->pk, k->id);
}

static struct store *open_in(const char *sub, bool readonly)
{
	char data[160];
	struct cconf cf = { .data_dir = data };

	snprintf(data, sizeof(data), "%s/%s", dir, sub);
	return enrol_store_open(&cf, readonly, PROG);
}

static void store_open_creates(void **state)
{
	char p[200];
	struct stat st;
	struct store *s;

	begin_capture();
	s = open_in("var/lib/cunxiang", false);
	assert_string_equal(end_capture(), "");
	assert_non_null(s);
	snprintf(p, sizeof(p), "%s/var/lib/cunxiang/" STORE_FILE, dir);
	assert_int_equal(stat(p, &st), 0);
	store_close(s);

	/* Read-only, once it exists. */
	s = open_in("var/lib/cunxiang", true);
	assert_non_null(s);
	store_close(s);
}

static void store_open_fails(void **state)
{
	char p[200], want[400];
	struct store *s;
	FILE *f;

	/* Read-only needs a store. */
	begin_capture();
	errno = 0;
	s = open_in("empty", true);
	end_capture();
	assert_null(s);
	assert_int_equal(errno, ENOENT);
	assert_memory_equal(captured, PROG ": ", strlen(PROG ": "));
	assert_int_equal(captured[strlen(captured) - 1], '\n');
	assert_non_null(strchr(captured, '\n'));
	assert_int_equal(strchr(captured, '\n') - captured, (long)strlen(captured) - 1);

	/* DATA_DIR cannot be made. */
	snprintf(p, sizeof(p), "%s/file", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	begin_capture();
	errno = 0;
	s = open_in("file/data", false);
	end_capture();
	assert_null(s);
	assert_int_equal(errno, ENOTDIR);
	snprintf(want, sizeof(want), PROG ": cannot use %s/file/data: Not a directory\n", dir);
	assert_string_equal(captured, want);

	/* Not a store. */
	snprintf(p, sizeof(p), "%s/junk", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/junk/" STORE_FILE, dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("this is not an SQLite database, not even close; it is long enough to look at\n", f);
	fclose(f);
	begin_capture();
	errno = 0;
	s = open_in("junk", false);
	end_capture();
	assert_null(s);
	assert_int_equal(errno, EUCLEAN);
	assert_memory_equal(captured, PROG ": ", strlen(PROG ": "));
}

static void enrol_new_same_replace(void **state)
{
	struct store *s = open_in("keys", false);
	struct enrol_result res;
	struct env_key a, b;
	struct store_key k;
	char want[256];

	assert_non_null(s);
	new_key(&a);
	new_key(&b);

	begin_capture();
	assert_int_equal(enrol_key(s, PROG, "", "yn-01", &a, false, T0, &res), 0);
	assert_string_equal(end_capture(), "");
	assert_int_equal(res.outcome, ENROL_NEW);
	assert_string_equal(res.now.node, "yn-01");
	assert_string_equal(res.now.key.id, a.id);
	assert_memory_equal(res.now.key.pk, a.pk, ENV_PK_BYTES);
	assert_int_equal(res.now.enrolled_ms, T0);
	assert_int_equal(store_key_get(s, "yn-01", &k), 0);
	assert_string_equal(k.key.id, a.id);
	snprintf(want, sizeof(want), "yn-01: key %s enrolled\n", a.id);
	assert_string_equal(printed("yn-01", &res), want);

	/* The same key again: nothing changes. */
	assert_int_equal(enrol_key(s, PROG, "", "yn-01", &a, false, T0 + 1, &res), 0);
	assert_int_equal(res.outcome, ENROL_SAME);
	assert_string_equal(res.now.key.id, a.id);
	assert_int_equal(res.now.enrolled_ms, T0);
	snprintf(want, sizeof(want), "yn-01: key %s (already enrolled)\n", a.id);
	assert_string_equal(printed("yn-01", &res), want);
	/* also with REPLACE. */
	assert_int_equal(enrol_key(s, PROG, "", "yn-01", &a, true, T0 + 1, &res), 0);
	assert_int_equal(res.outcome, ENROL_SAME);

	/* Another key without REPLACE: refused silently, the caller is told
	 * which key is in force. */
	begin_capture();
	assert_int_equal(enrol_key(s, PROG, "", "yn-01", &b, false, T0 + 2, &res), -EEXIST);
	assert_string_equal(end_capture(), "");
	assert_string_equal(res.before.key.id, a.id);
	assert_int_equal(store_key_get(s, "yn-01", &k), 0);
	assert_string_equal(k.key.id, a.id);

	/* With REPLACE. */
	assert_int_equal(enrol_key(s, PROG, "", "yn-01", &b, true, T0 + 3, &res), 0);
	assert_int_equal(res.outcome, ENROL_REPLACED);
	assert_string_equal(res.before.key.id, a.id);
	assert_string_equal(res.now.key.id, b.id);
	assert_true(res.now.epoch > res.before.epoch);
	snprintf(want, sizeof(want), "yn-01: key %s replaces %s; its seqs are stored from %lld on\n",
		 b.id, a.id, (long long)res.now.seq_base + 1);
	assert_string_equal(printed("yn-01", &res), want);
	assert_int_equal(store_key_get(s, "yn-01", &k), 0);
	assert_string_equal(k.key.id, b.id);
	store_close(s);
}

static void replace_after_receipts(void **state)
{
	static const char json[] = "{\"type\":\"receipt\",\"node\":\"yn-02\",\"seq\":41,\"from\":41,"
				   "\"state\":\"lost\",\"reason\":\"disk\"}";
	struct store *s = open_in("seqs", false);
	struct enrol_result res;
	struct env_key a, b;
	int64_t ack = 0;
	char want[256];

	assert_non_null(s);
	new_key(&a);
	new_key(&b);
	assert_int_equal(enrol_key(s, PROG, "", "yn-02", &a, false, T0, &res), 0);
	assert_int_equal(store_receipt(s, "yn-02", json, strlen(json), T0 + 10, &ack), 0);
	assert_int_equal(ack, 41);
	assert_int_equal(enrol_key(s, PROG, "", "yn-02", &b, true, T0 + 20, &res), 0);
	assert_int_equal(res.outcome, ENROL_REPLACED);
	/* The new key's seqs go above every one the pole had. */
	assert_int_equal(res.now.seq_base, 41);
	snprintf(want, sizeof(want), "yn-02: key %s replaces %s; its seqs are stored from 42 on\n",
		 b.id, a.id);
	assert_string_equal(printed("yn-02", &res), want);
	store_close(s);
}

static void bad_node_ids(void **state)
{
	struct store *s = open_in("ids", false);
	struct enrol_result res;
	struct env_key a;

	assert_non_null(s);
	new_key(&a);
	begin_capture();
	assert_int_equal(enrol_key(s, PROG, "fleet.yaml:12: ", "Yn_01", &a, false, T0, &res),
			 -EINVAL);
	assert_string_equal(end_capture(),
			    PROG ": fleet.yaml:12: 'Yn_01' is not a node id ([a-z0-9-]{1,32})\n");
	begin_capture();
	assert_int_equal(enrol_key(s, PROG, "", "", &a, false, T0, &res), -EINVAL);
	assert_string_equal(end_capture(), PROG ": '' is not a node id ([a-z0-9-]{1,32})\n");
	begin_capture();
	assert_int_equal(enrol_key(s, PROG, "", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &a, false, T0,
				   &res), -EINVAL);
	end_capture();
	/* Nothing was stored. */
	struct store_key k;
	assert_int_equal(store_key_get(s, "Yn_01", &k), -ENOENT);
	store_close(s);
}

static void retire(void **state)
{
	struct store *s = open_in("retire", false);
	struct enrol_result res;
	struct env_key a, b;
	struct store_key k;

	assert_non_null(s);
	new_key(&a);
	new_key(&b);
	assert_int_equal(enrol_key(s, PROG, "", "yn-03", &a, false, T0, &res), 0);
	begin_capture();
	assert_int_equal(enrol_retire(s, PROG, "yn-03", T0 + 1), 0);
	assert_int_equal(store_key_get(s, "yn-03", &k), -ENOENT);
	/* Not enrolled: said by the return value only. */
	assert_int_equal(enrol_retire(s, PROG, "yn-03", T0 + 2), -ENOENT);
	assert_int_equal(enrol_retire(s, PROG, "yn-99", T0 + 2), -ENOENT);
	assert_string_equal(end_capture(), "");
	/* Enrolling after retiring is a new key, not a replacement. */
	assert_int_equal(enrol_key(s, PROG, "", "yn-03", &b, false, T0 + 3, &res), 0);
	assert_int_equal(res.outcome, ENROL_NEW);
	assert_string_equal(res.now.key.id, b.id);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(store_open_creates),
		cmocka_unit_test(store_open_fails),
		cmocka_unit_test(enrol_new_same_replace),
		cmocka_unit_test(replace_after_receipts),
		cmocka_unit_test(bad_node_ids),
		cmocka_unit_test(retire),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
