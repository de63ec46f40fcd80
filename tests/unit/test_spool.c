/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_spool.c -- receipt spool: seq for ever, signed, acks, crashes, corrupt
 * files become "lost" records, full disks and the reserve */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spool.h"

#include <jansson.h>
#include <sodium.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];
static unsigned char sk[ENV_SK_BYTES];
static struct env_key pub;
static const struct spool_signer signer = { .node = "yn-01", .sk = sk, .pub = &pub };

static struct spool *open_spool(const char *dir)
{
	return spool_open(dir, &signer, NULL);
}

static void new_dir(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", base, name);
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Contents of DIR/NAME, or NULL when it does not exist. */
static char *get_file(const char *dir, const char *name)
{
	static char buf[4096];
	char path[512];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static size_t count_json(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strlen(de->d_name) > 5 && !strcmp(de->d_name + strlen(de->d_name) - 5, ".json"))
			n++;
	closedir(d);
	return n;
}

/* Append a receipt for OCC; returns spool_append's result. */
static int add(struct spool *s, const char *occ, uint64_t *seq)
{
	struct receipt rc, back;
	char *msg = NULL;
	size_t len = 0, jl;
	int r;

	receipt_init(&rc);
	rc.kind = RECEIPT_PLAN;
	rc.state = RECEIPT_COMPLETED;
	snprintf(rc.occ, sizeof(rc.occ), "%s", occ);
	r = spool_append(s, &rc, &msg, &len);
	if (r >= 0) {
		*seq = (uint64_t)rc.seq;
		assert_int_equal(env_verify(msg, len, &pub, 1, &jl), 0);
		assert_int_equal(receipt_parse(msg, jl, "yn-01", &back, NULL, 0), 0);
		assert_int_equal(back.seq, rc.seq);
		assert_int_equal(back.from, rc.from);
		assert_string_equal(back.occ, occ);
	}
	free(msg);
	return r;
}

struct walk {
	uint64_t seqs[64];
	int64_t from[64];
	char occs[64][RECEIPT_OCC_MAX + 1];
	char states[64][16];
	char reasons[64][RECEIPT_REASON_MAX + 1];
	size_t n, stop_after;
};

static int collect(uint64_t seq, const char *msg, size_t len, void *ud)
{
	struct walk *w = ud;
	struct receipt rc;
	size_t jl;

	assert_int_equal(env_verify(msg, len, &pub, 1, &jl), 0);
	assert_int_equal(receipt_parse(msg, jl, "yn-01", &rc, NULL, 0), 0);
	assert_int_equal(rc.seq, (int64_t)seq);
	w->seqs[w->n] = seq;
	w->from[w->n] = rc.from;
	snprintf(w->occs[w->n], sizeof(w->occs[0]), "%s", rc.occ);
	snprintf(w->states[w->n], sizeof(w->states[0]), "%s", receipt_state_name(rc.state));
	snprintf(w->reasons[w->n], sizeof(w->reasons[0]), "%s", rc.reason);
	w->n++;
	return w->stop_after && w->n == w->stop_after ? 42 : 0;
}

static int setup(void **state)
{
	strcpy(base, "/tmp/test_spool.XXXXXX");
	assert_non_null(mkdtemp(base));
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pub.pk, sk);
	env_keyid(pub.pk, pub.id);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	/* A failed assertion may have left the tmpfs mounted. */
	snprintf(cmd, sizeof(cmd), "%s/mnt", base);
	(void)umount2(cmd, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "%s/mnt2", base);
	(void)umount2(cmd, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd);
}

static void seq_increments(void **state)
{
	char dir[256];
	struct spool *s;
	uint64_t seq = 0;

	new_dir(dir, sizeof(dir), "inc/spool");
	s = open_spool(dir); /* creates the directory */
	assert_non_null(s);
	assert_int_equal(spool_last_seq(s), 0);
	assert_int_equal(spool_pending(s), 0);
	for (uint64_t i = 1; i <= 3; i++) {
		assert_int_equal(add(s, "a", &seq), 0);
		assert_int_equal(seq, i);
	}
	assert_int_equal(spool_pending(s), 3);
	assert_int_equal(spool_last_seq(s), 3);
	assert_true(exists(dir, "00000000000000000001.json"));
	assert_true(exists(dir, "00000000000000000003.json"));
	assert_string_equal(get_file(dir, "seq"), "00000000000000000003\n");
	spool_close(s);
}

static void survives_reopen_and_ack(void **state)
{
	struct walk w = { .n = 0 };
	char dir[256];
	struct spool *s;
	uint64_t seq;

	new_dir(dir, sizeof(dir), "reopen");
	s = open_spool(dir);
	assert_non_null(s);
	assert_int_equal(add(s, "one", &seq), 0);
	assert_int_equal(add(s, "two", &seq), 0);
	assert_int_equal(add(s, "three", &seq), 0);
	spool_close(s);

	s = open_spool(dir);
	assert_non_null(s);
	assert_int_equal(spool_pending(s), 3);
	assert_int_equal(spool_last_seq(s), 3);
	assert_int_equal(spool_bad(s), 0);
	assert_int_equal(spool_foreach(s, collect, &w), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.seqs[0], 1);
	assert_string_equal(w.occs[0], "one");
	assert_int_equal(w.seqs[2], 3);
	assert_string_equal(w.occs[2], "three");
	/* A non-zero return stops the walk and comes back. */
	w = (struct walk){ .stop_after = 2 };
	assert_int_equal(spool_foreach(s, collect, &w), 42);
	assert_int_equal(w.n, 2);

	assert_int_equal(spool_ack(s, 2), 2);
	assert_int_equal(spool_pending(s), 1);
	assert_false(exists(dir, "00000000000000000001.json"));
	assert_false(exists(dir, "00000000000000000002.json"));
	assert_true(exists(dir, "00000000000000000003.json"));
	assert_int_equal(spool_ack(s, 2), 0);
	assert_int_equal(spool_ack(s, 0), 0);
	assert_int_equal(spool_ack(s, 1000), 1);
	assert_int_equal(spool_pending(s), 0);
	assert_int_equal(count_json(dir), 0);
	spool_close(s);

	/* Everything acknowledged: the seq file alone carries the count on. */
	s = open_spool(dir);
	assert_non_null(s);
	assert_int_equal(spool_pending(s), 0);
	assert_int_equal(spool_last_seq(s), 3);
	assert_int_equal(add(s, "four", &seq), 0);
	assert_int_equal(seq, 4);
	spool_close(s);
}

static void seq_file_cases(void **state)
{
	char dir[256];
	struct spool *s;
	uint64_t seq;

	/* Lost: the receipt files still name the seqs. */
	new_dir(dir, sizeof(dir), "lost");
	s = open_spool(dir);
	for (int i = 0; i < 5; i++)
		assert_int_equal(add(s, "x", &seq), 0);
	assert_int_equal(spool_ack(s, 2), 2);
	spool_close(s);
	assert_true(exists(dir, "seq"));
	{
		char p[300];

		snprintf(p, sizeof(p), "%s/seq", dir);
		assert_int_equal(unlink(p), 0);
	}
	s = open_spool(dir);
	assert_non_null(s);
	assert_int_equal(spool_last_seq(s), 5);
	assert_int_equal(spool_pending(s), 3);
	/* Caught up at open, before an ack can remove the evidence. */
	assert_string_equal(get_file(dir, "seq"), "00000000000000000005\n");
	assert_int_equal(add(s, "x", &seq), 0);
	assert_int_equal(seq, 6);
	spool_close(s);

	/* Ahead, nothing pending: the receipts up to it were acknowledged. */
	new_dir(dir, sizeof(dir), "ahead");
	assert_int_equal(mkdir(dir, 0755), 0);
	put_file(dir, "seq", "100\n");
	s = open_spool(dir);
	assert_non_null(s);
	assert_int_equal(spool_last_seq(s), 100);
	assert_int_equal(spool_pending(s), 0);
	assert_int_equal(spool_lost(s), 0);
	assert_int_equal(add(s, "x", &seq), 0);
	assert_int_equal(seq, 101);
	spool_close(s);

	/* Ahead of what was acknowledged, with no file for the seqs between:
	 * each of them is reported lost, so the controller's acks go on. */
	new_dir(dir, sizeof(dir), "gap");
	assert_int_equal(mkdir(dir, 0755), 0);
	put_file(dir, "seq", "100\n");
	put_file(dir, "acked", "97\n");
	s = open_spool(dir);
	assert_non_null(s);
	assert_int_equal(spool_pending(s), 3);
	assert_int_equal(spool_lost(s), 3);
	{
		struct walk w = { .n = 0 };

		assert_int_equal(spool_foreach(s, collect, &w), 0);
		assert_int_equal(w.seqs[0], 98);
		assert_string_equal(w.states[2], "lost");
		assert_int_equal(w.from[2], 98);
		assert_non_null(strstr(w.reasons[0], "not on disk"));
	}
	assert_int_equal(add(s, "x", &seq), 0);
	assert_int_equal(seq, 101);
	spool_close(s);

	/* Behind: a receipt written, then the power went before the seq file. */
	new_dir(dir, sizeof(dir), "behind");
	s = open_spool(dir);
	for (int i = 0; i < 3; i++)
		assert_int_equal(add(s, "x", &seq), 0);
	spool_close(s);
	put_file(dir, "seq", "00000000000000000001\n");
	s = open_spool(dir);
	assert_int_equal(spool_last_seq(s), 3);
	assert_string_equal(get_file(dir, "seq"), "00000000000000000003\n");
	/* Even when everything is acknowledged right away. */
	assert_int_equal(spool_ack(s, 3), 3);
	spool_close(s);
	s = open_spool(dir);
	assert_int_equal(spool_last_seq(s), 3);
	assert_int_equal(add(s, "x", &seq), 0);
	assert_int_equal(seq, 4);
	spool_close(s);
}

static void simulated_crash(void **state)
{
	char dir[256];
	struct spool *s;
	uint64_t seq;

	new_dir(dir, sizeof(dir), "crash");
	s = open_spool(dir);
	for (int i = 0; i < 6; i++)
		assert_int_equal(add(s, "x", &seq), 0);
	assert_int_equal(spool_ack(s, 4), 4);
	spool_close(s);
	/* State a power cut can leave: 7.json renamed in, the seq file still
	 * at 6 (its rename never happened), and a temp file of the next one.
	 * 7.json is from a cunxiang-node of before signed receipts: it is
	 * signed as it is. */
	put_file(dir, "00000000000000000007.json", "{\"type\":\"receipt\",\"node\":\"yn-01\","
		 "\"seq\":7,\"occ\":\"y\",\"kind\":\"plan\",\"state\":\"completed\"}");
	put_file(dir, "seq.tmp.4242", "00000000000000000007\n");
	put_file(dir, "00000000000000000008.json.tmp.4242", "{\"type\":\"rec");
	s = open_spool(dir);
	assert_non_null(s);
	assert_int_equal(spool_last_seq(s), 7);
	assert_int_equal(spool_pending(s), 3);
	assert_false(exists(dir, "seq.tmp.4242"));
	assert_false(exists(dir, "00000000000000000008.json.tmp.4242"));
	assert_string_equal(get_file(dir, "seq"), "00000000000000000007\n");
	{
		struct walk w = { .n = 0 };

		assert_int_equal(spool_foreach(s, collect, &w), 0);
		assert_int_equal(w.n, 3);
		assert_string_equal(w.occs[2], "y");
		assert_string_equal(w.states[2], "completed");
		assert_int_equal(w.from[2], 5);
	}
	assert_int_equal(add(s, "x", &seq), 0);
	assert_int_equal(seq, 8);
	spool_close(s);
}

static void corrupt_files_become_lost(void **state)
{
	char dir[256], bad[300];
	struct walk w = { .n = 0 };
	struct spool *s;
	uint64_t seq;

	new_dir(dir, sizeof(dir), "corrupt");
	s = open_spool(dir);
	for (int i = 0; i < 3; i++)
		assert_int_equal(add(s, "x", &seq), 0);
	spool_close(s);
	put_file(dir, "00000000000000000002.json", "{\"seq\":2,\"occ\":"); /* truncated */
	put_file(dir, "00000000000000000003.json", "{\"seq\":33,\"occ\":\"x\"}"); /* wrong seq */
	put_file(dir, "00000000000000000009.json", "\xff\xfe garbage");  /* highest, corrupt */
	put_file(dir, "00000000000000000000.json", "{\"seq\":0}");       /* seq 0 is never used */
	put_file(dir, "README", "not ours\n");
	s = open_spool(dir);
	assert_non_null(s);
	assert_int_equal(spool_bad(s), 4);
	/* A corrupt file still proves its seq was handed out; every seq from
	 * the first pending one to the last has its receipt or a signed
	 * "lost" record, so nothing stalls the acks. */
	assert_int_equal(spool_last_seq(s), 9);
	assert_int_equal(spool_pending(s), 9);
	assert_int_equal(spool_lost(s), 8);
	assert_int_equal(spool_foreach(s, collect, &w), 0);
	assert_int_equal(w.n, 9);
	assert_int_equal(w.seqs[0], 1);
	assert_string_equal(w.states[0], "completed");
	assert_string_equal(w.states[1], "lost");
	assert_string_equal(w.reasons[1], "spool file unreadable, kept as bad/00000000000000000002.json");
	assert_string_equal(w.states[4], "lost");
	assert_non_null(strstr(w.reasons[4], "not on disk"));
	assert_string_equal(w.states[8], "lost");
	assert_int_equal(w.from[8], 1);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	assert_string_equal(get_file(bad, "00000000000000000002.json"), "{\"seq\":2,\"occ\":");
	assert_true(exists(bad, "00000000000000000003.json"));
	assert_true(exists(bad, "00000000000000000009.json"));
	assert_true(exists(bad, "00000000000000000000.json"));
	assert_true(exists(dir, "README"));
	assert_int_equal(add(s, "x", &seq), 0);
	assert_int_equal(seq, 10);
	spool_close(s);

	/* A receipt signed by another key is not this pole's: lost too. The
	 * same name going bad again does not overwrite the first copy; an
	 * unreadable seq file goes to bad/ too. */
	put_file(dir, "00000000000000000002.json", "[]");
	put_file(dir, "seq", "12x\n");
	s = open_spool(dir);
	assert_non_null(s);
	assert_int_equal(spool_bad(s), 2);
	assert_true(exists(bad, "00000000000000000002.json.1"));
	assert_string_equal(get_file(bad, "seq"), "12x\n");
	assert_int_equal(spool_last_seq(s), 10);
	assert_int_equal(spool_pending(s), 10);
	assert_string_equal(get_file(dir, "seq"), "00000000000000000010\n");
	spool_close(s);
}

static void from_and_acks(void **state)
{
	struct walk w = { .n = 0 };
	char dir[256];
	struct spool *s;
	uint64_t seq;

	new_dir(dir, sizeof(dir), "from");
	s = open_spool(dir);
	for (int i = 0; i < 3; i++)
		assert_int_equal(add(s, "x", &seq), 0);
	assert_int_equal(spool_head(s), 1);
	assert_int_equal(spool_ack(s, 1), 1);
	assert_string_equal(get_file(dir, "acked"), "00000000000000000001\n");
	assert_int_equal(spool_head(s), 2);
	assert_int_equal(add(s, "y", &seq), 0);
	assert_int_equal(spool_foreach(s, collect, &w), 0);
	/* Every receipt says where the unacknowledged ones began. */
	assert_int_equal(w.from[0], 1);
	assert_int_equal(w.from[1], 1);
	assert_int_equal(w.from[2], 2);
	assert_int_equal(spool_ack(s, 4), 3);
	assert_int_equal(spool_head(s), 5);
	spool_close(s);

	/* A crash after the ack file and before the unlinks: the files of
	 * acknowledged receipts are dropped at open, never resent. */
	put_file(dir, "acked", "00000000000000000002\n");
	s = open_spool(dir);
	assert_int_equal(spool_pending(s), 2);
	assert_int_equal(spool_lost(s), 2);
	spool_close(s);
}

static void bad_arguments(void **state)
{
	struct spool_signer nosig = { .node = "Bad Id", .sk = sk, .pub = &pub };
	char dir[256];
	struct receipt rc;
	struct spool *s;
	char *msg = NULL;

	new_dir(dir, sizeof(dir), "args");
	s = open_spool(dir);
	receipt_init(&rc);
	rc.state = RECEIPT_COMPLETED; /* no occ, no kind */
	assert_int_equal(spool_append(s, &rc, &msg, NULL), -EINVAL);
	assert_null(msg);
	assert_int_equal(spool_last_seq(s), 0);
	rc.kind = RECEIPT_ALERT;
	strcpy(rc.occ, "a-1");
	/* MSG may be NULL. */
	assert_int_equal(spool_append(s, &rc, NULL, NULL), 0);
	assert_int_equal(spool_last_seq(s), 1);
	spool_close(s);

	errno = 0;
	assert_null(spool_open(dir, &nosig, NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(spool_open("/proc/version/spool", &signer, NULL));
	assert_int_not_equal(errno, 0);
}

/* The disk-full path, whichever way the disk is full: receipts go to
 * memory, are published and walked like the others, and reach the disk
 * with spool_flush once there is room. FILL makes the disk full, ROOM
 * makes room again. */
static void full_disk_cycle(const char *dir, void (*fill)(void), void (*room)(void))
{
	struct walk w = { .n = 0 };
	struct spool *s;
	uint64_t seq;

	s = open_spool(dir);
	assert_non_null(s);
	assert_int_equal(add(s, "before", &seq), 0);
	fill();
	assert_int_equal(add(s, "during-1", &seq), 1);
	assert_int_equal(seq, 2);
	assert_int_equal(add(s, "during-2", &seq), 1);
	assert_int_equal(seq, 3);
	assert_int_equal(spool_pending(s), 3);
	assert_false(exists(dir, "00000000000000000002.json"));
	/* The seq file still moved on (in place), so a restart now would not
	 * hand out 2 and 3 again. */
	assert_string_equal(get_file(dir, "seq"), "00000000000000000003\n");
	assert_int_equal(spool_foreach(s, collect, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.occs[1], "during-1");
	assert_string_equal(w.occs[2], "during-2");
	assert_int_equal(spool_flush(s), 2);
	/* An ack of a memory-only receipt forgets it. */
	assert_int_equal(spool_ack(s, 2), 2);
	assert_int_equal(spool_pending(s), 1);
	room();
	assert_int_equal(spool_flush(s), 0);
	assert_true(exists(dir, "00000000000000000003.json"));
	assert_int_equal(add(s, "after", &seq), 0);
	assert_int_equal(seq, 4);
	spool_close(s);

	s = open_spool(dir);
	assert_int_equal(spool_pending(s), 2);
	assert_int_equal(spool_last_seq(s), 4);
	w = (struct walk){ .n = 0 };
	assert_int_equal(spool_foreach(s, collect, &w), 0);
	assert_string_equal(w.occs[0], "during-2");
	assert_string_equal(w.occs[1], "after");
	spool_close(s);
}

static char filler[300];

static void fill_tmpfs(void)
{
	static char block[4096];
	int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t k;

	assert_true(fd >= 0);
	while ((k = write(fd, block, sizeof(block))) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
}

static void room_tmpfs(void)
{
	assert_int_equal(unlink(filler), 0);
}

static void disk_full_tmpfs(void **state)
{
	char mnt[256], dir[300];

	new_dir(mnt, sizeof(mnt), "mnt");
	assert_int_equal(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0) {
		fprintf(stderr, "cannot mount a tmpfs (%s): testing the disk-full path "
			"with RLIMIT_FSIZE only\n", strerror(errno));
		skip();
	}
	snprintf(dir, sizeof(dir), "%s/spool", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	full_disk_cycle(dir, fill_tmpfs, room_tmpfs);
	assert_int_equal(umount(mnt), 0);
}

/* A power cut while receipts were held in memory on a full disk: at the
 * next start their seqs become signed "lost" records; with the reserve
 * they are not lost at all. */
static void power_cut_on_full_disk(void **state)
{
	char mnt[256], dir[300], rpath[300];
	struct walk w = { .n = 0 };
	struct reserve *res;
	struct spool *s;
	uint64_t seq;

	new_dir(mnt, sizeof(mnt), "mnt2");
	assert_int_equal(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") < 0) {
		fprintf(stderr, "cannot mount a tmpfs: %s\n", strerror(errno));
		skip();
	}
	snprintf(dir, sizeof(dir), "%s/spool", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	s = open_spool(dir);
	assert_int_equal(add(s, "before", &seq), 0);
	fill_tmpfs();
	assert_int_equal(add(s, "held", &seq), 1);
	spool_close(s); /* cannot flush: the disk is still full */
	room_tmpfs();
	s = open_spool(dir);
	assert_int_equal(spool_pending(s), 2);
	assert_int_equal(spool_lost(s), 1);
	assert_int_equal(spool_foreach(s, collect, &w), 0);
	assert_string_equal(w.occs[0], "before");
	assert_string_equal(w.states[1], "lost");
	assert_int_equal(w.seqs[1], 2);
	assert_non_null(strstr(w.reasons[1], "disk was full"));
	spool_close(s);

	/* The same with a reserve of 64 KiB: every receipt reaches the disk. */
	snprintf(dir, sizeof(dir), "%s/spool2", mnt);
	snprintf(rpath, sizeof(rpath), "%s/reserve", mnt);
	res = reserve_open(rpath, 64 * 1024);
	assert_non_null(res);
	assert_false(reserve_short(res));
	s = spool_open(dir, &signer, res);
	assert_non_null(s);
	fill_tmpfs();
	for (int i = 0; i < 5; i++)
		assert_int_equal(add(s, "kept", &seq), 0);
	assert_true(reserve_short(res));
	spool_close(s);
	s = spool_open(dir, &signer, res);
	assert_int_equal(spool_pending(s), 5);
	assert_int_equal(spool_lost(s), 0);
	/* Room again: acks and a refill give the reserve back its size. */
	room_tmpfs();
	assert_int_equal(spool_ack(s, 5), 5);
	assert_int_equal(reserve_refill(res), 0);
	assert_false(reserve_short(res));
	spool_close(s);
	reserve_close(res);
	assert_int_equal(umount(mnt), 0);
}

static struct rlimit saved;

static void fill_rlimit(void)
{
	struct rlimit rl = saved;

	/* The seq file (21 bytes) still fits, a receipt does not: EFBIG. */
	rl.rlim_cur = 40;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void room_rlimit(void)
{
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
}

static void disk_full_rlimit(void **state)
{
	char dir[256];

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	new_dir(dir, sizeof(dir), "rlimit");
	full_disk_cycle(dir, fill_rlimit, room_rlimit);
	signal(SIGXFSZ, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seq_increments),
		cmocka_unit_test(survives_reopen_and_ack),
		cmocka_unit_test(seq_file_cases),
		cmocka_unit_test(simulated_crash),
		cmocka_unit_test(corrupt_files_become_lost),
		cmocka_unit_test(from_and_acks),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(disk_full_tmpfs),
		cmocka_unit_test(disk_full_rlimit),
		cmocka_unit_test(power_cut_on_full_disk),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
