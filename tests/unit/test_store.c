/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_store.c -- the controller's SQLite store, on real files, killed mid-write */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "report/query.h"
#include "store.h"

#include <sodium.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T0 1796081400000LL /* 2026-12-01 07:30 Asia/Shanghai */

static const char *const enrolled[] = { "yn-01", "yn-02", "yn-03", "zz-09" };

struct fx {
	char dir[64];
	char path[128];
	struct store *s;
};

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/" STORE_FILE, f->dir);
	f->s = store_open(f->path, 0, err, sizeof(err));
	if (!f->s)
		fail_msg("store_open: %s", err);
	/* Only enrolled poles count: the nodes of these tests have keys. */
	for (size_t i = 0; i < sizeof(enrolled) / sizeof(enrolled[0]); i++) {
		unsigned char sk[crypto_sign_SECRETKEYBYTES];
		struct env_key k;

		crypto_sign_keypair(k.pk, sk);
		env_keyid(k.pk, k.id);
		assert_int_equal(store_key_enrol(f->s, enrolled[i], &k, false, T0 - 1000, NULL), 0);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	rm_dir(f->dir);
	free(f);
	return 0;
}

/* One integer from a query on a separate, plain SQLite connection. */
static int64_t sql_int(const char *path, const char *q)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void sql_exec(const char *path, const char *q)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, q, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* A receipt of NODE whose pole held its unacknowledged ones from FROM. */
static int receipt_from(struct store *s, const char *node, int64_t seq, int64_t from,
			const char *occ, const char *kind, int64_t *ack)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "{\"type\":\"receipt\",\"node\":\"%s\",\"seq\":%lld,\"from\":%lld,\"occ\":\"%s\","
		 "\"kind\":\"%s\",\"state\":\"completed\",\"scheduled_ms\":%lld,\"started_ms\":%lld,"
		 "\"ended_ms\":%lld,\"played_ms\":18400,\"start_error_us\":-310,\"volume\":80,"
		 "\"reason\":null}",
		 node, (long long)seq, (long long)from, occ, kind, T0, T0 + 1, T0 + 18401);
	return store_receipt(s, node, buf, strlen(buf), T0 + 20000, ack);
}

static int receipt(struct store *s, const char *node, int64_t seq, const char *occ, const char *kind,
		   int64_t *ack)
{
	return receipt_from(s, node, seq, 1, occ, kind, ack);
}

static int plain(struct store *s, const char *node, int64_t seq, int64_t *ack)
{
	return receipt(s, node, seq, "flood-meeting-daily@2026-12-01T07:30", "plan", ack);
}

static int plain_from(struct store *s, const char *node, int64_t seq, int64_t from, int64_t *ack)
{
	return receipt_from(s, node, seq, from, "flood-meeting-daily@2026-12-01T07:30", "plan", ack);
}

/* ---- schema ------------------------------------------------------------- */

static void schema_and_reopen(void **state)
{
	struct fx *f = *state;
	char err[256], bad[160];
	struct store *r;
	int64_t ack;
	int fd;

	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(sql_int(f->path, "PRAGMA application_id"), 0x43584331);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name IN "
				 "('nodes','planned','receipts','receipts_bad','ack_state','status',"
				 "'transitions','published','assets','alerts','alert_targets','node_keys',"
				 "'receipts_lost','quarantine')"), 14);
	assert_int_equal(plain(f->s, "yn-01", 1, &ack), 0);
	store_close(f->s);
	/* WAL survives a reopen (it is a property of the file). */
	f->s = store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	assert_int_equal(store_check(f->s, true), 0);
	assert_int_equal(plain(f->s, "yn-01", 1, &ack), 1);
	assert_int_equal(ack, 1);

	/* A read-only open beside the writer sees what was committed, and
	 * refuses to write. */
	r = store_open(f->path, STORE_READONLY, err, sizeof(err));
	if (!r)
		fail_msg("read-only: %s", err);
	assert_int_equal(store_ack_through(r, "yn-01", &ack), 0);
	assert_int_equal(ack, 1);
	assert_int_equal(plain(r, "yn-01", 2, &ack), -EROFS);
	assert_int_equal(store_begin(r), -EROFS);
	store_close(r);

	/* And with the writer closed (no -wal, no -shm). */
	store_close(f->s);
	f->s = NULL;
	r = store_open(f->path, STORE_READONLY, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(store_ack_through(r, "yn-01", &ack), 0);
	assert_int_equal(ack, 1);
	store_close(r);

	/* Missing, not SQLite, someone else's database, a newer schema. */
	snprintf(bad, sizeof(bad), "%s/missing.db", f->dir);
	assert_null(store_open(bad, STORE_READONLY, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	snprintf(bad, sizeof(bad), "%s/junk.db", f->dir);
	fd = open(bad, O_WRONLY | O_CREAT, 0644);
	assert_true(write(fd, "this is not a database, not at all. not even close. nope.....", 60) == 60);
	close(fd);
	assert_null(store_open(bad, 0, err, sizeof(err)));
	assert_int_equal(errno, EUCLEAN);
	assert_null(store_open(bad, STORE_READONLY, err, sizeof(err)));
	assert_int_equal(errno, EUCLEAN);
	snprintf(bad, sizeof(bad), "%s/other.db", f->dir);
	sql_exec(bad, "CREATE TABLE t(x)");
	assert_null(store_open(bad, 0, err, sizeof(err)));
	assert_int_equal(errno, EUCLEAN);
	assert_non_null(strstr(err, "not a cunxiang store"));
	sql_exec(f->path, "PRAGMA user_version = 99");
	assert_null(store_open(f->path, 0, err, sizeof(err)));
	assert_int_equal(errno, EPROTONOSUPPORT);
	assert_null(store_open(f->path, STORE_READONLY, err, sizeof(err)));
	assert_int_equal(errno, EPROTONOSUPPORT);
	snprintf(bad, sizeof(bad), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	sql_exec(f->path, bad);
	f->s = store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->s);
}

/* ---- receipts ----------------------------------------------------------- */

struct bad {
	const char *json;
	bool quarantined; /* node and seq readable */
};

static void receipt_validation(void **state)
{
	struct fx *f = *state;
	static char big[STORE_MSG_MAX + 64];
	char occ161[161 * 3 + 1] = "", occ160[160 * 3 + 1] = "", reason257[300] = "", buf[2048];
	static const struct bad bads[] = {
		{ "", false },
		{ "{", false },
		{ "[]", false },
		{ "null", false },
		{ "\"receipt\"", false },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":1}trailing", false },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"node\":\"yn-01\",\"seq\":1}", false },
		{ "{\"type\":\"receipt\",\"node\":\"yn-02\",\"seq\":1,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", false },
		{ "{\"type\":\"receipt\",\"seq\":1,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", false },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", false },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":0,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", false },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":-5,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", false },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":1.5,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", false },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":\"7\",\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", false },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":9007199254740992,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", false },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":99999999999999999999999,\"occ\":\"a\"}", false },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":1,\"occ\":\"a\\u0000b\"}", false },
		/* Readable node and seq: quarantined. */
		/* Not typed a receipt: not read further. */
		{ "{\"type\":\"status\",\"node\":\"yn-01\",\"seq\":10,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", false },
		{ "{\"node\":\"yn-01\",\"seq\":11,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", false },
		/* No "from": where the pole's run begins is not known. */
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":10,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":11,\"from\":12,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":12,\"kind\":\"plan\",\"state\":\"completed\"}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":13,\"occ\":\"\",\"kind\":\"plan\",\"state\":\"completed\"}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":14,\"occ\":7,\"kind\":\"plan\",\"state\":\"completed\"}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":15,\"occ\":\"a\\nb\",\"kind\":\"plan\",\"state\":\"completed\"}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":16,\"occ\":\"a\",\"kind\":\"radio\",\"state\":\"completed\"}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":17,\"occ\":\"a\",\"state\":\"completed\"}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":18,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"done\"}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":19,\"occ\":\"a\",\"kind\":\"plan\",\"state\":null}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":20,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\",\"scheduled_ms\":1.5}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":21,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\",\"started_ms\":\"1\"}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":22,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\",\"ended_ms\":-1}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":23,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\",\"played_ms\":true}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":24,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\",\"start_error_us\":[1]}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":25,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\",\"volume\":101}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":26,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"failed\",\"reason\":42}", true },
		{ "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":27,\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"failed\",\"reason\":{}}", true },
	};
	int64_t ack;
	size_t nq = 0;
	int r;

	for (int i = 1; i <= 9; i++)
		assert_int_equal(plain(f->s, "yn-01", i, &ack), 0);
	assert_int_equal(ack, 9);
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		r = store_receipt(f->s, "yn-01", bads[i].json, strlen(bads[i].json), T0, &ack);
		if (r != -EBADMSG)
			fail_msg("case %zu (%s): got %d", i, bads[i].json, r);
		assert_true(strlen(store_errmsg(f->s)) > 10);
		assert_null(strchr(store_errmsg(f->s), '\n'));
		nq += bads[i].quarantined;
		if (bads[i].quarantined)
			assert_non_null(strstr(store_errmsg(f->s), "kept apart"));
		/* A resend of a quarantined receipt is a duplicate. */
		if (bads[i].quarantined)
			assert_int_equal(store_receipt(f->s, "yn-01", bads[i].json, strlen(bads[i].json),
						       T0, &ack), 1);
	}
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM receipts_bad"), (int64_t)nq);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM receipts"), 9);
	/* 10..27 all kept apart: they count for the ack. */
	assert_int_equal(store_ack_through(f->s, "yn-01", &ack), 0);
	assert_int_equal(ack, 27);

	/* Bad topic node; oversized; a length that cuts the JSON. */
	assert_int_equal(store_receipt(f->s, "YN-01", "{}", 2, T0, &ack), -EBADMSG);
	assert_int_equal(store_receipt(f->s, "../x", "{}", 2, T0, &ack), -EBADMSG);
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"type\":\"receipt\"", 17);
	big[sizeof(big) - 1] = '}';
	assert_int_equal(store_receipt(f->s, "yn-01", big, sizeof(big), T0, &ack), -EBADMSG);
	assert_int_equal(ack, 27); /* the node's ack stands */
	snprintf(buf, sizeof(buf), "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":28,\"from\":1,"
		 "\"occ\":\"a\",\"kind\":\"plan\",\"state\":\"completed\"}");
	assert_int_equal(store_receipt(f->s, "yn-01", buf, strlen(buf) - 1, T0, &ack), -EBADMSG);
	/* Deep nesting does not crash the parser. */
	{
		char *deep = malloc(60001);

		assert_non_null(deep);
		memset(deep, '[', 30000);
		memset(deep + 30000, ']', 30000);
		deep[60000] = '\0';
		assert_int_equal(store_receipt(f->s, "yn-01", deep, 60000, T0, &ack), -EBADMSG);
		free(deep);
	}

	/* occ: 160 bytes pass (53 CJK characters and one letter), 161 do not. */
	for (int i = 0; i < 53; i++)
		strcat(occ160, "村");
	strcat(occ160, "x");
	snprintf(occ161, sizeof(occ161), "%sy", occ160);
	assert_int_equal(receipt(f->s, "yn-01", 28, occ160, "plan", &ack), 0);
	assert_int_equal(ack, 28);
	assert_int_equal(receipt(f->s, "yn-01", 29, occ161, "plan", &ack), -EBADMSG);
	assert_int_equal(ack, 29);

	/* Every state and kind, nulls and absent fields, unknown keys. */
	{
		static const char *const states[] = { "accepted", "started", "completed", "interrupted",
						      "failed", "skipped", "expired" };

		for (int i = 0; i < 7; i++) {
			snprintf(buf, sizeof(buf),
				 "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":%d,\"from\":1,\"occ\":\"x\",\"kind\":\"%s\","
				 "\"state\":\"%s\",\"scheduled_ms\":null,\"reason\":\"asset missing\",\"future\":{\"a\":1}}",
				 30 + i, i % 3 == 0 ? "plan" : i % 3 == 1 ? "alert" : "live", states[i]);
			assert_int_equal(store_receipt(f->s, "yn-01", buf, strlen(buf), T0, &ack), 0);
		}
		assert_int_equal(ack, 36);
	}
	for (int i = 0; i < 257; i++)
		strcat(reason257, "x");
	snprintf(buf, sizeof(buf), "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":37,\"from\":1,\"occ\":\"x\","
		 "\"kind\":\"plan\",\"state\":\"failed\",\"reason\":\"%s\"}", reason257);
	assert_int_equal(store_receipt(f->s, "yn-01", buf, strlen(buf), T0, &ack), -EBADMSG);
	reason257[256] = '\0';
	snprintf(buf, sizeof(buf), "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":38,\"from\":1,\"occ\":\"x\","
		 "\"kind\":\"plan\",\"state\":\"failed\",\"reason\":\"%s\"}", reason257);
	assert_int_equal(store_receipt(f->s, "yn-01", buf, strlen(buf), T0, &ack), 0);
	assert_int_equal(ack, 38);
	assert_int_equal(sql_int(f->path, "SELECT played_ms FROM receipts WHERE seq = 28"), 18400);
	assert_int_equal(sql_int(f->path, "SELECT start_error_us FROM receipts WHERE seq = 28"), -310);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM receipts WHERE seq = 30 AND scheduled_ms IS NULL"), 1);
}

static void duplicates_and_contiguity(void **state)
{
	struct fx *f = *state;
	int64_t ack;

	assert_int_equal(plain(f->s, "yn-01", 1, &ack), 0);
	assert_int_equal(ack, 1);
	assert_int_equal(plain(f->s, "yn-01", 1, &ack), 1);
	assert_int_equal(ack, 1);
	/* Same seq, other content: still the first one wins. */
	assert_int_equal(receipt(f->s, "yn-01", 1, "other", "alert", &ack), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM receipts WHERE kind = 'plan'"), 1);
	assert_int_equal(plain(f->s, "yn-01", 2, &ack), 0);
	assert_int_equal(ack, 2);
	assert_int_equal(plain(f->s, "yn-01", 4, &ack), 0);
	assert_int_equal(ack, 2);
	assert_int_equal(plain(f->s, "yn-01", 6, &ack), 0);
	assert_int_equal(ack, 2);
	assert_int_equal(plain(f->s, "yn-01", 3, &ack), 0); /* fills the gap up to 4 */
	assert_int_equal(ack, 4);
	assert_int_equal(plain(f->s, "yn-01", 5, &ack), 0);
	assert_int_equal(ack, 6);
	assert_int_equal(plain(f->s, "yn-01", 4, &ack), 1);
	assert_int_equal(ack, 6);

	/* A node's run starts where its pole says its unacknowledged
	 * receipts begin, not at whatever seq arrives first: 3998 and 3999
	 * were lost between the broker and the store (a controller crash),
	 * and 4000 must not acknowledge them away. */
	assert_int_equal(store_ack_through(f->s, "yn-02", &ack), 0);
	assert_int_equal(ack, 0);
	assert_int_equal(plain_from(f->s, "yn-02", 4000, 3998, &ack), 0);
	assert_int_equal(ack, 3997);
	assert_int_equal(plain_from(f->s, "yn-02", 4002, 3998, &ack), 0);
	assert_int_equal(ack, 3997);
	assert_int_equal(plain_from(f->s, "yn-02", 3999, 3998, &ack), 0);
	assert_int_equal(ack, 3997);
	assert_int_equal(plain_from(f->s, "yn-02", 3998, 3998, &ack), 0);
	assert_int_equal(ack, 4000);
	/* An old receipt sent again cannot lower the ack. */
	assert_int_equal(plain_from(f->s, "yn-02", 3997, 3990, &ack), 0);
	assert_int_equal(ack, 4000);
	assert_int_equal(plain_from(f->s, "yn-02", 4001, 3998, &ack), 0);
	assert_int_equal(ack, 4002);
	/* The pole says 4003..4009 were acknowledged (it dropped them): the
	 * run moves on and counts them. */
	assert_int_equal(plain_from(f->s, "yn-02", 4011, 4010, &ack), 0);
	assert_int_equal(ack, 4009);
	assert_int_equal(plain_from(f->s, "yn-02", 4010, 4010, &ack), 0);
	assert_int_equal(ack, 4011);
	assert_int_equal(sql_int(f->path, "SELECT skipped FROM ack_state WHERE node = 'yn-02'"), 7);
	/* Nodes do not mix. */
	assert_int_equal(store_ack_through(f->s, "yn-01", &ack), 0);
	assert_int_equal(ack, 6);
	/* The largest seq accepted. */
	assert_int_equal(plain_from(f->s, "yn-03", STORE_SEQ_MAX, STORE_SEQ_MAX, &ack), 0);
	assert_int_equal(ack, STORE_SEQ_MAX);
}

/* Keys: one per pole, never silently replaced; a replacing key stores its
 * seqs above everything the node had, so a pole whose state was wiped
 * (seq from 1 again) loses nothing and overwrites nothing. */
static void keys_and_epochs(void **state)
{
	struct fx *f = *state;
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct store_key k, got;
	struct env_key nk;
	int64_t ack;

	assert_int_equal(store_key_get(f->s, "yn-01", &k), 0);
	assert_int_equal(k.epoch, 1);
	assert_int_equal(k.seq_base, 0);
	assert_int_equal(store_key_enrol(f->s, "yn-01", &k.key, false, T0, &got), 1);
	crypto_sign_keypair(nk.pk, sk);
	env_keyid(nk.pk, nk.id);
	assert_int_equal(store_key_enrol(f->s, "yn-01", &nk, false, T0, NULL), -EEXIST);
	assert_int_equal(store_key_enrol(f->s, "Bad", &nk, false, T0, NULL), -EINVAL);
	assert_int_equal(store_key_get(f->s, "ab-01", &got), -ENOENT);
	assert_int_equal(plain(f->s, "ab-01", 1, &ack), -ENOKEY);
	assert_int_equal(ack, 0);

	for (int i = 1; i <= 5; i++)
		assert_int_equal(plain(f->s, "yn-01", i, &ack), 0);
	assert_int_equal(ack, 5);
	assert_int_equal(store_key_enrol(f->s, "yn-01", &nk, true, T0 + 1, &got), 0);
	assert_int_equal(got.epoch, 2);
	assert_int_equal(got.seq_base, 5);
	/* The new key starts again at 1: stored as 6, acked as 1. */
	assert_int_equal(plain(f->s, "yn-01", 1, &ack), 0);
	assert_int_equal(ack, 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM receipts WHERE node = 'yn-01'"), 6);
	assert_int_equal(sql_int(f->path, "SELECT epoch FROM receipts WHERE node = 'yn-01' AND seq = 6"), 2);
	assert_int_equal(store_key_remove(f->s, "yn-01", T0 + 2), 0);
	assert_int_equal(store_key_remove(f->s, "yn-01", T0 + 2), -ENOENT);
	assert_int_equal(plain(f->s, "yn-01", 2, &ack), -ENOKEY);
}

/* A pole's signed "lost" record: kept apart, counts for the ack. */
static void lost_records(void **state)
{
	struct fx *f = *state;
	const char *lost = "{\"type\":\"receipt\",\"node\":\"yn-01\",\"seq\":2,\"from\":1,"
			   "\"state\":\"lost\",\"reason\":\"spool file unreadable\"}";
	const struct store_fleet_node one[] = { { "yn-01", "640104100201", "永南村", 300, NULL, 0 } };
	struct store_node *v;
	int64_t ack;
	size_t n;

	assert_int_equal(store_fleet_replace(f->s, one, 1), 0);
	assert_int_equal(plain(f->s, "yn-01", 1, &ack), 0);
	assert_int_equal(plain(f->s, "yn-01", 3, &ack), 0);
	assert_int_equal(ack, 1);
	assert_int_equal(store_receipt(f->s, "yn-01", lost, strlen(lost), T0, &ack), 0);
	assert_int_equal(ack, 3);
	assert_int_equal(store_receipt(f->s, "yn-01", lost, strlen(lost), T0, &ack), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM receipts_lost"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM receipts"), 2);
	assert_int_equal(rq_nodes(f->s, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].lost, 1);
	free(v);

	/* The quarantine keeps a bounded sample of what did not verify. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_quarantine(f->s, "cx/v1/receipt/yn-01", "yn-01",
						  "signature does not verify", "xyz", 3, T0), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM quarantine"), 3);
}

static void batches(void **state)
{
	struct fx *f = *state;
	char err[256];
	struct store *r;
	int64_t ack;

	assert_int_equal(store_commit(f->s), -EINVAL);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_begin(f->s), -EINVAL);
	for (int i = 1; i <= 3; i++)
		assert_int_equal(plain(f->s, "yn-01", i, &ack), 0);
	assert_int_equal(ack, 3);
	/* A bad one inside the batch undoes only itself. */
	assert_int_equal(store_receipt(f->s, "yn-01", "{}", 2, T0, &ack), -EBADMSG);
	assert_int_equal(ack, 3);
	/* Not visible to a reader before the commit. */
	r = store_open(f->path, STORE_READONLY, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(store_ack_through(r, "yn-01", &ack), 0);
	assert_int_equal(ack, 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_ack_through(r, "yn-01", &ack), 0);
	assert_int_equal(ack, 3);

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(plain(f->s, "yn-01", 4, &ack), 0);
	assert_int_equal(ack, 4);
	store_rollback(f->s);
	assert_int_equal(store_ack_through(f->s, "yn-01", &ack), 0);
	assert_int_equal(ack, 3);
	assert_int_equal(plain(f->s, "yn-01", 4, &ack), 0); /* resent: stored now */
	assert_int_equal(ack, 4);
	store_close(r);
}

static void unknown_occ(void **state)
{
	struct fx *f = *state;
	const struct store_occ occ[] = {
		{ "flood-meeting-daily@2026-12-01T07:30", "flood-meeting", "flood-meeting-daily", NULL, T0, 18400, 10 },
	};
	const struct store_alert al = {
		"640104100000-20261201-0001", 1, "actual", T0, T0, T0 + 3600000, "山洪预警",
		"{\"areas\":[\"640104100201\"],\"tags\":[],\"nodes\":[]}", NULL,
	};
	const char *targets[] = { "yn-01", "yn-02" };
	int64_t ack;

	assert_int_equal(store_plan_replace(f->s, "yn-01", T0 - 1000, occ, 1), 0);
	assert_int_equal(store_alert_add(f->s, &al, targets, 2), 0);
	assert_int_equal(plain(f->s, "yn-01", 1, &ack), 0);
	assert_int_equal(receipt(f->s, "yn-01", 2, "flood-meeting-daily@2026-12-02T07:30", "plan", &ack), 0);
	assert_int_equal(receipt(f->s, "yn-01", 3, al.id, "alert", &ack), 0);
	assert_int_equal(receipt(f->s, "yn-01", 4, "640104100000-20261201-0002", "live", &ack), 0);
	/* A plan occ of another node is unknown for this one. */
	assert_int_equal(plain(f->s, "yn-02", 1, &ack), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM receipts WHERE unknown_occ"), 3);
	assert_int_equal(sql_int(f->path, "SELECT unknown_occ FROM receipts WHERE node='yn-01' AND seq=1"), 0);
	assert_int_equal(sql_int(f->path, "SELECT unknown_occ FROM receipts WHERE node='yn-01' AND seq=3"), 0);

	/* Alerts: once, cancel once. */
	assert_int_equal(store_alert_add(f->s, &al, NULL, 0), -EEXIST);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM alert_targets"), 2);
	assert_int_equal(store_alert_cancel(f->s, al.id, T0 + 60000), 0);
	assert_int_equal(store_alert_cancel(f->s, al.id, T0 + 60000), -EALREADY);
	assert_int_equal(store_alert_cancel(f->s, "nope", T0), -ENOENT);
	assert_int_equal(sql_int(f->path, "SELECT cancelled_ms FROM alerts"), T0 + 60000);
	{
		struct store_alert bad = al;

		bad.id = "x";
		bad.level = 5;
		assert_int_equal(store_alert_add(f->s, &bad, NULL, 0), -EINVAL);
		bad.level = 2;
		bad.targets_json = "[1]";
		assert_int_equal(store_alert_add(f->s, &bad, NULL, 0), -EINVAL);
	}
}

/* ---- plans and fleet ----------------------------------------------------- */

static void plan_replace_keeps_past(void **state)
{
	struct fx *f = *state;
	const char *tags[] = { "river", "school" };
	const struct store_fleet_node fleet[] = {
		{ "yn-01", "640104100201", "永南村", 300, tags, 2 },
	};
	const struct store_occ first[] = {
		{ "a@1", "n", "a", NULL, T0 - 86400000, 1000, 10 },
		{ "a@2", "n", "a", NULL, T0 + 1000, 1000, 10 },
		{ "a@3", "n", "a", NULL, T0 + 86400000, 1000, 10 },
	};
	const struct store_occ second[] = {
		{ "a@1", "n2", "a", NULL, T0 - 86400000, 5, 20 },    /* past: not rewritten */
		{ "a@0", "n2", "a", NULL, T0 - 2 * 86400000, 5, 20 }, /* past, absent: added */
		{ "b@2", "n2", "b", "640104100202", T0 + 2000, 2000, 20 },
	};
	const struct store_occ dup[] = {
		{ "c@1", "n", "c", NULL, T0 + 5000, 1, 10 },
		{ "c@1", "n", "c", NULL, T0 + 6000, 1, 10 },
	};
	const struct store_occ bad[] = { { "", "n", "c", NULL, T0 + 5000, 1, 10 } };

	assert_int_equal(store_fleet_replace(f->s, fleet, 1), 0);
	assert_int_equal(store_plan_replace(f->s, "yn-01", T0, first, 3), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM planned WHERE village_code = '640104100201'"), 3);
	assert_int_equal(store_plan_replace(f->s, "yn-01", T0, second, 3), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM planned"), 3);
	assert_int_equal(sql_int(f->path, "SELECT priority FROM planned WHERE occ = 'a@1'"), 10);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM planned WHERE occ IN ('a@2','a@3')"), 0);
	assert_int_equal(sql_int(f->path, "SELECT start_ms FROM planned WHERE occ = 'b@2'"), T0 + 2000);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM planned WHERE occ = 'b@2' AND village_code = '640104100202'"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM planned WHERE occ = 'a@0'"), 1);
	/* An invalid set changes nothing. */
	assert_int_equal(store_plan_replace(f->s, "yn-01", T0, dup, 2), -EINVAL);
	assert_int_equal(store_plan_replace(f->s, "yn-01", T0, bad, 1), -EINVAL);
	assert_int_equal(store_plan_replace(f->s, "YN", T0, NULL, 0), -EINVAL);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM planned WHERE occ = 'b@2'"), 1);
	/* An empty set clears the future only. */
	assert_int_equal(store_plan_replace(f->s, "yn-01", T0, NULL, 0), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM planned"), 2);
}

static void fleet_replace(void **state)
{
	struct fx *f = *state;
	const char *tags[] = { "river" };
	const struct store_fleet_node two[] = {
		{ "yn-01", "640104100201", "永南村", 300, tags, 1 },
		{ "yn-02", "640104100201", "永南村", 512, NULL, 0 },
	};
	const struct store_fleet_node dup[] = {
		{ "yn-03", "640104100202", "永北村", 1, NULL, 0 },
		{ "yn-03", "640104100202", "永北村", 1, NULL, 0 },
	};
	struct store_node *v;
	size_t n;

	assert_int_equal(store_fleet_replace(f->s, two, 2), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM nodes WHERE tags = '[\"river\"]'"), 1);
	assert_int_equal(store_fleet_replace(f->s, dup, 2), -EINVAL);
	assert_non_null(strstr(store_errmsg(f->s), "twice"));
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM nodes WHERE in_fleet"), 2);
	/* yn-02 leaves: kept for the reports, no longer listed. */
	assert_int_equal(store_fleet_replace(f->s, two, 1), 0);
	assert_int_equal(sql_int(f->path, "SELECT households FROM nodes WHERE id = 'yn-02' AND NOT in_fleet"), 512);
	assert_int_equal(rq_nodes(f->s, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].id, "yn-01");
	assert_string_equal(v[0].village_name, "永南村");
	assert_false(v[0].has_status);
	assert_int_equal(v[0].last_seen_ms, STORE_NONE);
	free(v);
	/* Back in the fleet. */
	assert_int_equal(store_fleet_replace(f->s, two, 2), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM nodes WHERE in_fleet"), 2);
	{
		struct store_fleet_node bad = two[0];

		bad.id = "Bad Id";
		assert_int_equal(store_fleet_replace(f->s, &bad, 1), -EINVAL);
		bad = two[0];
		bad.households = -1;
		assert_int_equal(store_fleet_replace(f->s, &bad, 1), -EINVAL);
	}
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM nodes WHERE in_fleet"), 2);
}

/* ---- status ---------------------------------------------------------------- */

struct trans {
	int n;
	int64_t ms[8];
	char state[8][16];
};

static int on_trans(int64_t ms, const char *state, void *ud)
{
	struct trans *t = ud;

	if (t->n < 8) {
		t->ms[t->n] = ms;
		snprintf(t->state[t->n], 16, "%s", state);
	}
	t->n++;
	return 0;
}

/* A status of yn-01 in its first start, each a fresher one (an offline one
 * is n 0). */
static int64_t status_n;
static char status_buf[1024];

static const char *status_text(const char *state, const char *extra)
{
	snprintf(status_buf, sizeof(status_buf),
		 "{\"type\":\"status\",\"node\":\"yn-01\",\"boot\":1,\"n\":%lld,\"state\":\"%s\"%s}",
		 !strcmp(state, "offline") ? 0LL : (long long)++status_n, state, extra);
	return status_buf;
}

#define STATUS(state, extra) status_text(state, extra)
#define FULL ",\"plan_issued_ms\":1764547200000,\"assets_missing\":2,\"volume\":80," \
	"\"clock_offset_us\":-212,\"spool\":5,\"rejected\":1,\"xruns\":3,\"uptime_s\":100,\"version\":\"0.1.0\""

static int put_status(struct store *s, const char *json, int64_t ms, bool retained)
{
	return store_status(s, "yn-01", json, strlen(json), ms, retained);
}

static void status_and_transitions(void **state)
{
	struct fx *f = *state;
	const struct store_fleet_node one[] = { { "yn-01", "640104100201", "永南村", 300, NULL, 0 } };
	struct store_node *v;
	struct trans t = { 0 };
	size_t n;

	/* Not in the fleet yet: stored, flagged. */
	assert_int_equal(put_status(f->s, STATUS("idle", FULL), T0, false), 1);
	assert_int_equal(store_fleet_replace(f->s, one, 1), 0);
	assert_int_equal(put_status(f->s, STATUS("idle", FULL), T0 + 60000, false), 0);
	assert_int_equal(put_status(f->s, STATUS("playing", FULL), T0 + 70000, false), 0);
	/* The will: offline keeps the counters and does not move last seen. */
	assert_int_equal(put_status(f->s, STATUS("offline", ""), T0 + 200000, false), 0);
	assert_int_equal(rq_nodes(f->s, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].state, "offline");
	assert_int_equal(v[0].last_seen_ms, T0 + 70000);
	assert_int_equal(v[0].spool, 5);
	assert_int_equal(v[0].clock_offset_us, -212);
	assert_int_equal(v[0].plan_issued_ms, 1764547200000LL);
	assert_string_equal(v[0].version, "0.1.0");
	assert_true(v[0].in_fleet);
	free(v);
	/* Retained replay of the same message: nothing. Of another: state
	 * changes, last seen does not. */
	assert_int_equal(put_status(f->s, STATUS("offline", ""), T0 + 300000, true), 0);
	assert_int_equal(put_status(f->s, STATUS("idle", ",\"spool\":0"), T0 + 400000, true), 0);
	/* Back online: counters replaced as a whole. */
	assert_int_equal(put_status(f->s, STATUS("idle", ",\"spool\":0"), T0 + 500000, false), 0);
	assert_int_equal(rq_nodes(f->s, &v, &n), 0);
	assert_string_equal(v[0].state, "idle");
	assert_int_equal(v[0].last_seen_ms, T0 + 500000);
	assert_int_equal(v[0].spool, 0);
	assert_int_equal(v[0].xruns, STORE_NONE);
	free(v);

	assert_int_equal(rq_transitions(f->s, "yn-01", 0, INT64_MAX, on_trans, &t), 0);
	assert_int_equal(t.n, 4); /* idle, playing, offline, idle (retained at +400000) */
	assert_int_equal(t.ms[0], T0);
	assert_string_equal(t.state[1], "playing");
	assert_string_equal(t.state[2], "offline");
	assert_int_equal(t.ms[3], T0 + 400000);
	/* From a point inside: the state in force first. */
	memset(&t, 0, sizeof(t));
	assert_int_equal(rq_transitions(f->s, "yn-01", T0 + 100000, T0 + 450000, on_trans, &t), 0);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.ms[0], T0 + 70000);
	assert_string_equal(t.state[0], "playing");

	/* Bad ones. */
	assert_int_equal(put_status(f->s, STATUS("asleep", ""), T0, false), -EBADMSG);
	assert_int_equal(put_status(f->s, STATUS("idle", ",\"spool\":-1"), T0, false), -EBADMSG);
	assert_int_equal(put_status(f->s, STATUS("idle", ",\"volume\":1.5"), T0, false), -EBADMSG);
	assert_int_equal(put_status(f->s, STATUS("idle", ",\"version\":5"), T0, false), -EBADMSG);
	assert_int_equal(put_status(f->s, "{\"type\":\"status\",\"node\":\"yn-02\",\"state\":\"idle\"}", T0, false), -EBADMSG);
	assert_int_equal(put_status(f->s, "{\"type\":\"receipt\",\"node\":\"yn-01\",\"state\":\"idle\"}", T0, false), -EBADMSG);
	assert_int_equal(put_status(f->s, "not json", T0, false), -EBADMSG);
	assert_int_equal(store_status(f->s, "yn-01", "", 0, T0, false), -EBADMSG);

	/* A status recorded off the broker and sent again: refused, and the
	 * pole does not look alive for it. */
	{
		char old[1024];

		snprintf(old, sizeof(old), "%s", STATUS("playing", ""));
		assert_int_equal(put_status(f->s, STATUS("idle", ""), T0 + 600000, false), 0);
		assert_int_equal(put_status(f->s, old, T0 + 700000, false), -ESTALE);
		assert_int_equal(rq_nodes(f->s, &v, &n), 0);
		assert_string_equal(v[0].state, "idle");
		assert_int_equal(v[0].last_seen_ms, T0 + 600000);
		free(v);
	}
	/* A new start: the will of the old one no longer counts. */
	{
		const char *boot2 = "{\"type\":\"status\",\"node\":\"yn-01\",\"boot\":2,\"n\":1,"
				    "\"state\":\"idle\",\"disk\":\"full\"}";
		const char *will1 = "{\"type\":\"status\",\"node\":\"yn-01\",\"boot\":1,\"n\":0,"
				    "\"state\":\"offline\"}";

		assert_int_equal(put_status(f->s, boot2, T0 + 800000, false), 0);
		assert_int_equal(put_status(f->s, will1, T0 + 810000, false), -ESTALE);
		assert_int_equal(rq_nodes(f->s, &v, &n), 0);
		assert_string_equal(v[0].state, "idle");
		assert_string_equal(v[0].disk, "full");
		free(v);
	}
	/* Not enrolled: nothing kept. */
	assert_int_equal(store_status(f->s, "ab-01", "{}", 2, T0, false), -ENOKEY);
}

/* A pole that flaps (or a flood of its statuses) cannot grow the log of
 * state changes without bound. */
static void transitions_bounded(void **state)
{
	struct fx *f = *state;
	int64_t rows;

	for (int i = 0; i < 1000; i++)
		assert_int_equal(put_status(f->s, STATUS(i % 2 ? "playing" : "idle", ""),
					    T0 + i * 100, false), 1);
	rows = sql_int(f->path, "SELECT count(*) FROM transitions WHERE node = 'yn-01'");
	assert_int_equal(rows, STORE_TRANSITIONS_HOUR);
	/* The newest state is still the one in force. */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM transitions WHERE node = 'yn-01'"
				 " AND state = 'playing' AND ms = " "1796081499900"), 1);
}

/* ---- published plans and assets ---------------------------------------- */

static void published_plans(void **state)
{
	struct fx *f = *state;
	const char *sha1 = "9f2c000000000000000000000000000000000000000000000000000000000001";
	const char *sha2 = "9f2c000000000000000000000000000000000000000000000000000000000002";
	char sha[CX_SHA256_HEX], err[256];
	int64_t issued;

	assert_int_equal(store_published_get(f->s, "yn-01", &issued, sha), -ENOENT);
	assert_int_equal(store_published_next(f->s, "yn-01", T0, &issued), 0);
	assert_int_equal(issued, T0);
	assert_int_equal(store_published_set(f->s, "yn-01", T0, sha1, T0), 0);
	assert_int_equal(store_published_get(f->s, "yn-01", &issued, sha), 0);
	assert_int_equal(issued, T0);
	assert_string_equal(sha, sha1);
	/* The clock stepped back or two publishes within a millisecond. */
	assert_int_equal(store_published_next(f->s, "yn-01", T0 - 5000, &issued), 0);
	assert_int_equal(issued, T0 + 1);
	assert_int_equal(store_published_next(f->s, "yn-01", T0, &issued), 0);
	assert_int_equal(issued, T0 + 1);
	assert_int_equal(store_published_next(f->s, "yn-01", T0 + 10, &issued), 0);
	assert_int_equal(issued, T0 + 10);
	assert_int_equal(store_published_set(f->s, "yn-01", T0, sha2, T0), -ESTALE);
	assert_int_equal(store_published_set(f->s, "yn-01", T0 + 1, "XYZ", T0), -EINVAL);
	assert_int_equal(store_published_set(f->s, "yn-01", T0 + 1, sha2, T0), 0);
	/* Across a restart. */
	store_close(f->s);
	f->s = store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(store_published_get(f->s, "yn-01", &issued, sha), 0);
	assert_int_equal(issued, T0 + 1);
	assert_string_equal(sha, sha2);
	assert_int_equal(store_published_next(f->s, "yn-01", T0, &issued), 0);
	assert_int_equal(issued, T0 + 2);
}

struct gc {
	struct store *s;
	int n;
	char seen[4][CX_SHA256_HEX];
};

static int on_stale(const struct store_asset *a, void *ud)
{
	struct gc *g = ud;

	if (g->n < 4)
		memcpy(g->seen[g->n], a->sha, CX_SHA256_HEX);
	g->n++;
	return a->published ? store_asset_forget(g->s, a->sha) : 0;
}

static void stale_assets(void **state)
{
	struct fx *f = *state;
	const int64_t day = 86400000;
	char a[CX_SHA256_HEX], b[CX_SHA256_HEX], c[CX_SHA256_HEX];
	struct store_asset as;
	struct gc g = { .s = f->s };

	memset(a, 'a', 64);
	memset(b, 'b', 64);
	memset(c, 'c', 64);
	a[64] = b[64] = c[64] = '\0';
	assert_int_equal(store_asset_ref(f->s, a, 1000, T0 - 40 * day), 0);
	assert_int_equal(store_asset_ref(f->s, b, 2000, T0 - 35 * day), 0);
	assert_int_equal(store_asset_ref(f->s, c, 3000, T0 - 40 * day), 0);
	assert_int_equal(store_asset_ref(f->s, c, 3000, T0 - 45 * day), 0); /* never goes back */
	assert_int_equal(store_asset_ref(f->s, c, 3000, T0 - day), 0);
	assert_int_equal(store_asset_ref(f->s, "nothex", 1, T0), -EINVAL);
	assert_int_equal(store_asset_get(f->s, c, &as), 0);
	assert_int_equal(as.last_referenced_ms, T0 - day);
	assert_int_equal(as.size, 3000);
	assert_false(as.published);
	assert_int_equal(store_asset_set_published(f->s, a, true), 0);
	assert_int_equal(store_asset_set_published(f->s, c, true), 0);
	assert_int_equal(store_asset_get(f->s, a, &as), 0);
	assert_true(as.published);

	assert_int_equal(store_assets_stale(f->s, T0 - 30 * day, on_stale, &g), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.seen[0], a); /* oldest first */
	assert_string_equal(g.seen[1], b);
	assert_int_equal(store_asset_get(f->s, a, &as), -ENOENT);
	assert_int_equal(store_asset_get(f->s, b, &as), 0);
	assert_int_equal(store_asset_forget(f->s, a), -ENOENT);
	assert_int_equal(store_asset_set_published(f->s, a, true), -ENOENT);
}

static void nodes_listing(void **state)
{
	struct fx *f = *state;
	const struct store_fleet_node fleet[] = {
		{ "yn-02", "640104100201", "永南村", 512, NULL, 0 },
		{ "yn-01", "640104100201", "永南村", 300, NULL, 0 },
	};
	const char *st = "{\"type\":\"status\",\"node\":\"zz-09\",\"boot\":3,\"n\":1,"
			 "\"state\":\"fault\",\"spool\":3}";
	const char *sha = "9f2c000000000000000000000000000000000000000000000000000000000001";
	struct store_node *v;
	int64_t ack;
	size_t n;

	assert_int_equal(store_fleet_replace(f->s, fleet, 2), 0);
	assert_int_equal(store_status(f->s, "zz-09", st, strlen(st), T0, false), 1);
	assert_int_equal(store_published_set(f->s, "yn-01", T0, sha, T0), 0);
	assert_int_equal(plain(f->s, "yn-01", 1, &ack), 0);
	assert_int_equal(plain(f->s, "yn-01", 3, &ack), 0);
	assert_int_equal(plain(f->s, "yn-01", 4, &ack), 0);
	assert_int_equal(rq_nodes(f->s, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].id, "yn-01");
	assert_int_equal(strlen(v[0].key_id), 16);
	assert_int_equal(v[0].published_issued_ms, T0);
	assert_int_equal(v[0].ack_through, 1);
	assert_int_equal(v[0].receipts, 3);
	assert_int_equal(v[0].held, 2);
	assert_int_equal(v[0].last_seen_ms, T0 + 20000); /* from the receipts */
	assert_false(v[0].has_status);
	assert_string_equal(v[1].id, "yn-02");
	assert_int_equal(v[1].households, 512);
	assert_int_equal(v[1].published_issued_ms, STORE_NONE);
	assert_int_equal(v[1].receipts, 0);
	assert_string_equal(v[2].id, "zz-09");
	assert_false(v[2].in_fleet);
	assert_string_equal(v[2].village_code, "");
	assert_int_equal(v[2].households, STORE_NONE);
	assert_string_equal(v[2].state, "fault");
	assert_int_equal(v[2].spool, 3);
	assert_int_equal(v[2].last_seen_ms, T0);
	free(v);
}

/* ---- durability ------------------------------------------------------------ */

/* Insert receipts for ever, alone and in batches; report each seq on the
 * pipe only after the call or commit that made it durable returned. */
static void writer(const char *path, int fd, int64_t seq)
{
	char err[256];
	struct store *s = store_open(path, 0, err, sizeof(err));
	int64_t ack;

	if (!s)
		_exit(3);
	for (;;) {
		if (seq % 7 == 0) {
			int64_t first = seq;

			if (store_begin(s) < 0)
				_exit(4);
			for (int i = 0; i < 5; i++)
				if (plain(s, "yn-01", seq++, &ack) != 0)
					_exit(5);
			if (store_commit(s) < 0)
				_exit(6);
			for (int64_t q = first; q < seq; q++)
				if (write(fd, &q, sizeof(q)) != sizeof(q))
					_exit(7);
		} else {
			if (plain(s, "yn-01", seq, &ack) != 0)
				_exit(8);
			if (write(fd, &seq, sizeof(seq)) != sizeof(seq))
				_exit(7);
			seq++;
		}
	}
}

static void killed_mid_write(void **state)
{
	struct fx *f = *state;
	char err[256];
	int64_t next = 1;

	store_close(f->s);
	f->s = NULL;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (int round = 0; round < 5; round++) {
		int64_t got, max = 0, count = 0, ack;
		struct timespec ts = { 0, (long)(10 + rand() % 150) * 1000000L };
		int pfd[2], status;
		pid_t pid;

		assert_int_equal(pipe(pfd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			writer(f->path, pfd[1], next);
		}
		close(pfd[1]);
		/* Wait for the first commit, then kill at a random moment. */
		assert_int_equal(read(pfd[0], &got, sizeof(got)), sizeof(got));
		max = got;
		count = 1;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		while (read(pfd[0], &got, sizeof(got)) == sizeof(got)) {
			assert_int_equal(got, max + 1);
			max = got;
			count++;
		}
		close(pfd[0]);

		f->s = store_open(f->path, 0, err, sizeof(err));
		if (!f->s)
			fail_msg("reopen after kill: %s", err);
		assert_int_equal(store_check(f->s, true), 0);
		assert_int_equal(store_ack_through(f->s, "yn-01", &ack), 0);
		/* Everything reported is there, contiguous from 1; at most one
		 * unreported commit (killed between commit and write) beyond. */
		assert_true(ack >= max);
		assert_true(ack <= max + 5);
		assert_int_equal(sql_int(f->path, "SELECT count(*) FROM receipts WHERE node = 'yn-01'"), ack);
		assert_int_equal(sql_int(f->path, "SELECT max(seq) FROM receipts WHERE node = 'yn-01'"), ack);
		assert_true(count > 0);
		next = ack + 1;
		store_close(f->s);
		f->s = NULL;
	}
	f->s = store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(schema_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(receipt_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(duplicates_and_contiguity, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_and_epochs, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_records, setup, teardown),
		cmocka_unit_test_setup_teardown(batches, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_occ, setup, teardown),
		cmocka_unit_test_setup_teardown(plan_replace_keeps_past, setup, teardown),
		cmocka_unit_test_setup_teardown(fleet_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(status_and_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(transitions_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(published_plans, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_assets, setup, teardown),
		cmocka_unit_test_setup_teardown(nodes_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(killed_mid_write, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
