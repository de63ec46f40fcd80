/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_fileio.c -- bounded reads, atomic replacement and its failures, batches, mkdir -p */
#define _GNU_SOURCE /* unshare */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state)
{
	umask(022);
	strcpy(dir, "/tmp/test_fileio.XXXXXX");
	assert_non_null(mkdtemp(dir));
	/* Other users may look in (the read-only test runs as nobody). */
	assert_int_equal(chmod(dir, 0755), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s'; rm -rf '%s'", dir, dir);
	return system(cmd);
}

static void path_of(char *out, size_t size, const char *name)
{
	assert_true((size_t)snprintf(out, size, "%s/%s", dir, name) < size);
}

static void write_plain(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Entries of directory D other than . and .., and whether one is a
 * leftover temporary file. */
static int entries(const char *d, bool *tmp_left)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	if (!dp)
		return -1;
	*tmp_left = false;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			n++;
			if (strstr(e->d_name, ".tmp."))
				*tmp_left = true;
		}
	closedir(dp);
	return n;
}

/* Run FN in a child process; its exit status (77: skip). */
static int in_child(int (*fn)(const char *arg), const char *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* In children: no cmocka, a line on stderr and exit 1. */
#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                               \
			return 1;                                                     \
		}                                                                     \
	} while (0)

static bool file_is(const char *path, const char *text)
{
	char *b;
	size_t n;
	bool same;

	if (fio_read_all(path, 1 << 20, &b, &n) < 0)
		return false;
	same = n == strlen(text) && !memcmp(b, text, n);
	free(b);
	return same;
}

/* ---- fio_read_all ------------------------------------------------------ */

static void read_whole(void **state)
{
	char path[128], *b;
	size_t n;

	path_of(path, sizeof(path), "r1");
	write_plain(path, "hello\n", 6, 0644);
	assert_int_equal(fio_read_all(path, 100, &b, &n), 0);
	assert_int_equal(n, 6);
	assert_string_equal(b, "hello\n");
	free(b);

	/* Bytes, NULs included; a NUL follows them. */
	write_plain(path, "a\0b", 3, 0644);
	assert_int_equal(fio_read_all(path, 100, &b, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(b, "a\0b\0", 4);
	free(b);

	write_plain(path, "", 0, 0644);
	assert_int_equal(fio_read_all(path, 0, &b, &n), 0);
	assert_int_equal(n, 0);
	assert_string_equal(b, "");
	free(b);
}

static void read_limits(void **state)
{
	char path[128], text[101], *b = NULL;
	size_t n = 0;

	memset(text, 'q', 100);
	text[100] = '\0';
	path_of(path, sizeof(path), "r2");
	write_plain(path, text, 100, 0644);
	assert_int_equal(fio_read_all(path, 100, &b, &n), 0);
	assert_int_equal(n, 100);
	assert_string_equal(b, text);
	free(b);
	b = NULL;
	assert_int_equal(fio_read_all(path, 99, &b, &n), -EFBIG);
	assert_null(b);
	assert_int_equal(fio_read_all(path, 0, &b, &n), -EFBIG);
	assert_null(b);
}

static void read_errors(void **state)
{
	char path[128], *b = NULL;
	size_t n;

	path_of(path, sizeof(path), "missing");
	assert_int_equal(fio_read_all(path, 100, &b, &n), -ENOENT);
	assert_int_equal(fio_read_all(dir, 100, &b, &n), -EISDIR);
	path_of(path, sizeof(path), "r3");
	write_plain(path, "x", 1, 0644);
	path_of(path, sizeof(path), "r3/below-a-file");
	assert_int_equal(fio_read_all(path, 100, &b, &n), -ENOTDIR);
	assert_null(b);
}

/* Something whose size stat() does not tell: a FIFO fed by a child. */
static void feed_fifo(const char *path, size_t len)
{
	char *buf = malloc(len);
	int fd;

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + i % 26);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		size_t off = 0;

		while (off < len) {
			ssize_t k = write(fd, buf + off, len - off);

			if (k <= 0)
				break;
			off += (size_t)k;
		}
		close(fd);
	}
	free(buf);
	_exit(0);
}

static void read_unsized(void **state)
{
	char path[128], *b = NULL;
	size_t n = 0, len = 10000;
	pid_t pid;

	path_of(path, sizeof(path), "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		feed_fifo(path, len);
	assert_int_equal(fio_read_all(path, 1 << 20, &b, &n), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(n, len);
	assert_int_equal(strlen(b), len);
	for (size_t i = 0; i < len; i++)
		if (b[i] != (char)('a' + i % 26))
			fail_msg("byte %zu is '%c'", i, b[i]);
	free(b);
	b = NULL;

	/* Over the limit while reading. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		feed_fifo(path, len);
	assert_int_equal(fio_read_all(path, 5000, &b, &n), -EFBIG);
	assert_null(b);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	unlink(path);
}

/* ---- fio_write_atomic -------------------------------------------------- */

static void write_new(void **state)
{
	char sub[128], path[160];
	struct stat st;
	bool tmp;

	path_of(sub, sizeof(sub), "w1");
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/state.json", sub);
	assert_int_equal(fio_write_atomic(path, "{\"a\":1}\n", 8, 0640), 0);
	assert_true(file_is(path, "{\"a\":1}\n"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(entries(sub, &tmp), 1);
	assert_false(tmp);

	/* Nothing to write still makes the file. */
	snprintf(path, sizeof(path), "%s/empty", sub);
	assert_int_equal(fio_write_atomic(path, "", 0, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(entries(sub, &tmp), 2);
	assert_false(tmp);
}

static void write_replaces(void **state)
{
	char sub[128], path[160], old[16] = { 0 };
	struct stat before, after;
	bool tmp;
	int fd;

	path_of(sub, sizeof(sub), "w2");
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/seen", sub);
	write_plain(path, "old", 3, 0644);
	assert_int_equal(stat(path, &before), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);

	assert_int_equal(fio_write_atomic(path, "new content", 11, 0600), 0);
	assert_true(file_is(path, "new content"));
	assert_int_equal(stat(path, &after), 0);
	/* A new file took the name: whoever had the old one open still reads
	 * it whole, never a mix. */
	assert_int_not_equal(after.st_ino, before.st_ino);
	assert_int_equal(read(fd, old, sizeof(old) - 1), 3);
	assert_string_equal(old, "old");
	close(fd);
	/* The mode is the one asked for, not the old file's. */
	assert_int_equal(after.st_mode & 07777, 0600);
	assert_int_equal(entries(sub, &tmp), 1);
	assert_false(tmp);

	/* Shorter than before: nothing of the old bytes remains. */
	assert_int_equal(fio_write_atomic(path, "ab", 2, 0600), 0);
	assert_true(file_is(path, "ab"));
}

static void write_missing_dir(void **state)
{
	char path[160], sub[128];
	struct stat st;

	path_of(path, sizeof(path), "no-such-dir/state.json");
	assert_int_equal(fio_write_atomic(path, "x", 1, 0644), -ENOENT);
	path_of(sub, sizeof(sub), "no-such-dir");
	assert_int_equal(stat(sub, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void write_over_directory(void **state)
{
	char sub[128], path[160];
	struct stat st;
	bool tmp;

	path_of(sub, sizeof(sub), "w3");
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/taken", sub);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(fio_write_atomic(path, "x", 1, 0644), -EISDIR);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* The temporary file is gone again. */
	assert_int_equal(entries(sub, &tmp), 1);
	assert_false(tmp);
}

static void write_name_too_long(void **state)
{
	char *path = malloc(4200);

	assert_non_null(path);
	memset(path, 'a', 4199);
	path[0] = '/';
	path[4199] = '\0';
	assert_int_equal(fio_write_atomic(path, "x", 1, 0644), -ENAMETOOLONG);
	free(path);
}

/* As a user who may not write the directory (nobody, when run as root). */
static int ro_child(const char *sub)
{
	char path[160];
	bool tmp;

	if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
		return 77;
	snprintf(path, sizeof(path), "%s/state", sub);
	CHECK(fio_write_atomic(path, "new", 3, 0644) == -EACCES);
	CHECK(file_is(path, "old"));
	CHECK(entries(sub, &tmp) == 1 && !tmp);
	return 0;
}

static void write_read_only_dir(void **state)
{
	char sub[128], path[160];
	int r;

	path_of(sub, sizeof(sub), "ro");
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/state", sub);
	write_plain(path, "old", 3, 0644);
	assert_int_equal(chmod(sub, 0555), 0);
	r = in_child(ro_child, sub);
	assert_int_equal(chmod(sub, 0755), 0);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

/* A write that fails half-way (the file size limit) leaves the old file
 * and no temporary one. */
static int fsize_child(const char *sub)
{
	struct rlimit rl = { 1000, 1000 };
	char path[160], *big = calloc(1, 5000);
	bool tmp;

	signal(SIGXFSZ, SIG_IGN);
	CHECK(big && setrlimit(RLIMIT_FSIZE, &rl) == 0);
	snprintf(path, sizeof(path), "%s/state", sub);
	CHECK(fio_write_atomic(path, big, 5000, 0644) == -EFBIG);
	CHECK(file_is(path, "old"));
	CHECK(entries(sub, &tmp) == 1 && !tmp);
	free(big);
	return 0;
}

static void write_fails_midway(void **state)
{
	char sub[128], path[160];

	path_of(sub, sizeof(sub), "fsize");
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(path, sizeof(path), "%s/state", sub);
	write_plain(path, "old", 3, 0644);
	assert_int_equal(in_child(fsize_child, sub), 0);
	assert_true(file_is(path, "old"));
}

/* A full disk and a read-only one: a 64 KiB tmpfs in a mount namespace of
 * its own, so nothing is left mounted (skipped without the privilege). */
static int tmpfs_child(const char *mnt)
{
	char path[160], *big;
	bool tmp;

	if (unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0)
		return 77;
	snprintf(path, sizeof(path), "%s/state", mnt);
	CHECK(fio_write_atomic(path, "old", 3, 0644) == 0);
	big = calloc(1, 1 << 20);
	CHECK(big);
	CHECK(fio_write_atomic(path, big, 1 << 20, 0644) == -ENOSPC);
	free(big);
	CHECK(file_is(path, "old"));
	CHECK(entries(mnt, &tmp) == 1 && !tmp);
	/* The space came back: a small write works again. */
	CHECK(fio_write_atomic(path, "again", 5, 0644) == 0);
	CHECK(file_is(path, "again"));

	CHECK(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, "size=64k") == 0);
	CHECK(fio_write_atomic(path, "new", 3, 0644) == -EROFS);
	CHECK(file_is(path, "again"));
	return 0;
}

static void write_full_and_read_only_fs(void **state)
{
	char mnt[128];
	int r;

	path_of(mnt, sizeof(mnt), "mnt");
	assert_int_equal(mkdir(mnt, 0755), 0);
	r = in_child(tmpfs_child, mnt);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

/* ---- fio_batch ---------------------------------------------------------- */

/* Nothing changes until the commit; then every file is new and no
 * temporary is left, in two directories. */
static void batch_commit(void **state)
{
	char d[128], a[160], b[160], sub[160], c[200];
	struct fio_batch *fb = fio_batch_new();
	bool tmp;

	assert_non_null(fb);
	path_of(d, sizeof(d), "batch1");
	assert_int_equal(mkdir(d, 0755), 0);
	snprintf(a, sizeof(a), "%s/a.json", d);
	snprintf(b, sizeof(b), "%s/b.json", d);
	snprintf(sub, sizeof(sub), "%s/sub", d);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(c, sizeof(c), "%s/c.json", sub);
	write_plain(a, "old a", 5, 0644);
	assert_int_equal(fio_batch_put(fb, a, "new a", 5, 0644, NULL), 0);
	assert_int_equal(fio_batch_put(fb, b, "new b", 5, 0644, NULL), 0);
	assert_int_equal(fio_batch_put(fb, c, "new c", 5, 0600, NULL), 0);
	assert_int_equal(fio_batch_count(fb), 3);
	assert_true(file_is(a, "old a"));
	assert_int_equal(access(b, F_OK), -1);
	assert_int_equal(fio_batch_commit(fb), 0);
	assert_int_equal(fio_batch_count(fb), 0);
	assert_true(file_is(a, "new a"));
	assert_true(file_is(b, "new b"));
	assert_true(file_is(c, "new c"));
	assert_int_equal(entries(d, &tmp), 3);
	assert_false(tmp);
	assert_int_equal(entries(sub, &tmp), 1);
	assert_false(tmp);
	/* The batch can be used again. */
	assert_int_equal(fio_batch_put(fb, a, "third", 5, 0644, NULL), 0);
	assert_int_equal(fio_batch_commit(fb), 0);
	assert_true(file_is(a, "third"));
	fio_batch_free(fb);
}

/* Freed uncommitted: the files stay as they were, the temporaries go. */
static void batch_abandoned(void **state)
{
	char d[128], a[160], b[160];
	struct fio_batch *fb = fio_batch_new();
	bool tmp;

	path_of(d, sizeof(d), "batch2");
	assert_int_equal(mkdir(d, 0755), 0);
	snprintf(a, sizeof(a), "%s/a.json", d);
	snprintf(b, sizeof(b), "%s/missing/b.json", d);
	write_plain(a, "old a", 5, 0644);
	assert_int_equal(fio_batch_put(fb, a, "new a", 5, 0644, NULL), 0);
	/* A put that cannot be made leaves the batch as it was. */
	assert_int_equal(fio_batch_put(fb, b, "new b", 5, 0644, NULL), -ENOENT);
	assert_int_equal(fio_batch_count(fb), 1);
	fio_batch_free(fb);
	assert_true(file_is(a, "old a"));
	assert_int_equal(entries(d, &tmp), 1);
	assert_false(tmp);
}

/* A full disk in the middle of a batch: that put fails and leaves no
 * temporary; what was put before still commits. */
static int batch_tmpfs_child(const char *mnt)
{
	char a[160], b[160], *big;
	struct fio_batch *fb;
	bool tmp;

	if (unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0)
		return 77;
	snprintf(a, sizeof(a), "%s/a.json", mnt);
	snprintf(b, sizeof(b), "%s/b.json", mnt);
	CHECK(fio_write_atomic(a, "old", 3, 0644) == 0);
	CHECK((fb = fio_batch_new()) != NULL);
	CHECK(fio_batch_put(fb, a, "new", 3, 0644, NULL) == 0);
	big = calloc(1, 1 << 20);
	CHECK(big);
	CHECK(fio_batch_put(fb, b, big, 1 << 20, 0644, NULL) == -ENOSPC);
	free(big);
	CHECK(fio_batch_count(fb) == 1);
	CHECK(fio_batch_commit(fb) == 0);
	CHECK(file_is(a, "new"));
	CHECK(access(b, F_OK) < 0);
	CHECK(entries(mnt, &tmp) == 1 && !tmp);
	fio_batch_free(fb);
	return 0;
}

static void batch_full_fs(void **state)
{
	char mnt[128];
	int r;

	path_of(mnt, sizeof(mnt), "batch-mnt");
	assert_int_equal(mkdir(mnt, 0755), 0);
	r = in_child(batch_tmpfs_child, mnt);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

/* What a put tells of its temporary is what PATH is after the commit
 * (rename keeps the inode, size and time), whoever writes PATH later. */
static void batch_put_stat(void **state)
{
	char a[160];
	struct fio_batch *fb = fio_batch_new();
	struct stat put, now;

	assert_non_null(fb);
	path_of(a, sizeof(a), "batch-stat.json");
	write_plain(a, "old", 3, 0644);
	memset(&put, 0, sizeof(put));
	assert_int_equal(fio_batch_put(fb, a, "newer", 5, 0644, &put), 0);
	assert_int_equal(stat(a, &now), 0);
	assert_true(now.st_ino != put.st_ino);
	assert_int_equal(fio_batch_commit(fb), 0);
	assert_int_equal(stat(a, &now), 0);
	assert_int_equal(put.st_size, 5);
	assert_int_equal(now.st_ino, put.st_ino);
	assert_int_equal(now.st_dev, put.st_dev);
	assert_int_equal(now.st_size, put.st_size);
	assert_int_equal(now.st_mtim.tv_sec, put.st_mtim.tv_sec);
	assert_int_equal(now.st_mtim.tv_nsec, put.st_mtim.tv_nsec);
	/* Replaced by another writer: what was put no longer matches. */
	assert_int_equal(fio_write_atomic(a, "other", 5, 0644), 0);
	assert_int_equal(stat(a, &now), 0);
	assert_true(now.st_ino != put.st_ino);
	fio_batch_free(fb);
}

/* Descriptors this process has open. */
static int open_fds(void)
{
	DIR *dp = opendir("/proc/self/fd");
	int n = 0;

	if (!dp)
		return -1;
	while (readdir(dp))
		n++;
	closedir(dp);
	return n;
}

/* The commit's flush must report a write-back error of any temporary, so
 * the batch holds a descriptor of each file system from before its first
 * temporary is written to the commit: one, however many files and
 * directories. */
static void batch_holds_one_fd(void **state)
{
	char d[128], sub[160], p[200];
	struct fio_batch *fb = fio_batch_new();
	int base = open_fds();
	bool tmp;

	assert_non_null(fb);
	assert_true(base > 0);
	path_of(d, sizeof(d), "batch-fds");
	assert_int_equal(mkdir(d, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/sub", d);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(p, sizeof(p), "%s/f0", d);
	assert_int_equal(fio_batch_put(fb, p, "0", 1, 0644, NULL), 0);
	assert_int_equal(open_fds(), base + 1);
	for (int i = 1; i < 300; i++) {
		snprintf(p, sizeof(p), "%s/f%d", i % 2 ? sub : d, i);
		assert_int_equal(fio_batch_put(fb, p, "x", 1, 0644, NULL), 0);
	}
	assert_int_equal(open_fds(), base + 1);
	assert_int_equal(fio_batch_commit(fb), 0);
	assert_int_equal(open_fds(), base);
	assert_int_equal(entries(d, &tmp), 151); /* and sub */
	assert_false(tmp);
	/* Freed uncommitted, it lets go of it too. */
	snprintf(p, sizeof(p), "%s/f0", d);
	assert_int_equal(fio_batch_put(fb, p, "1", 1, 0644, NULL), 0);
	assert_int_equal(open_fds(), base + 1);
	fio_batch_free(fb);
	assert_int_equal(open_fds(), base);
	assert_true(file_is(p, "0"));
}

/* Past FIO_BATCH_FS_MAX file systems a batch holds no more descriptors:
 * the temporaries there are each flushed when put. */
static int batch_many_fs_child(const char *top)
{
	char mnt[160], p[200];
	struct fio_batch *fb;
	int base;

	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 77;
	for (int i = 0; i < FIO_BATCH_FS_MAX + 2; i++) {
		snprintf(mnt, sizeof(mnt), "%s/%d", top, i);
		CHECK(mkdir(mnt, 0755) == 0);
		if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0)
			return 77;
	}
	CHECK((fb = fio_batch_new()) != NULL);
	base = open_fds();
	for (int i = 0; i < FIO_BATCH_FS_MAX + 2; i++) {
		snprintf(p, sizeof(p), "%s/%d/a", top, i);
		CHECK(fio_batch_put(fb, p, "new", 3, 0644, NULL) == 0);
		CHECK(open_fds() == base + (i < FIO_BATCH_FS_MAX ? i + 1 : FIO_BATCH_FS_MAX));
	}
	CHECK(fio_batch_commit(fb) == 0);
	CHECK(open_fds() == base);
	for (int i = 0; i < FIO_BATCH_FS_MAX + 2; i++) {
		snprintf(p, sizeof(p), "%s/%d/a", top, i);
		CHECK(file_is(p, "new"));
	}
	fio_batch_free(fb);
	return 0;
}

static void batch_many_fs(void **state)
{
	char top[128];
	int r;

	path_of(top, sizeof(top), "batch-many");
	assert_int_equal(mkdir(top, 0755), 0);
	r = in_child(batch_many_fs_child, top);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

/* ---- fio_fsync_dir_of, fio_mkdir_p, fio_join --------------------------- */

static void fsync_dir(void **state)
{
	char path[160];

	path_of(path, sizeof(path), "anything");
	assert_int_equal(fio_fsync_dir_of(path), 0);
	assert_int_equal(fio_fsync_dir_of("relative-name"), 0); /* "." */
	path_of(path, sizeof(path), "no-such-dir/x");
	assert_int_equal(fio_fsync_dir_of(path), -ENOENT);
	path_of(path, sizeof(path), "afile");
	write_plain(path, "x", 1, 0644);
	path_of(path, sizeof(path), "afile/x");
	assert_int_equal(fio_fsync_dir_of(path), -ENOTDIR);
}

static void mkdir_p(void **state)
{
	char path[200], part[200];
	struct stat st;

	path_of(path, sizeof(path), "m/a/b/c");
	assert_int_equal(fio_mkdir_p(path, 0750), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	path_of(part, sizeof(part), "m/a");
	assert_int_equal(stat(part, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	/* Again: nothing to do. */
	assert_int_equal(fio_mkdir_p(path, 0750), 0);
	/* A file where a directory is wanted is not a directory made. */
	path_of(part, sizeof(part), "m/afile");
	write_plain(part, "x", 1, 0644);
	assert_int_equal(fio_mkdir_p(part, 0750), -ENOTDIR);
	path_of(part, sizeof(part), "m/afile/below");
	assert_int_equal(fio_mkdir_p(part, 0750), -ENOTDIR);
	/* Trailing and doubled slashes. */
	path_of(path, sizeof(path), "m/x//y/");
	assert_int_equal(fio_mkdir_p(path, 0755), 0);
	path_of(part, sizeof(part), "m/x/y");
	assert_int_equal(stat(part, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* Relative to the working directory. */
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(fio_mkdir_p("rel/one", 0755), 0);
	path_of(part, sizeof(part), "rel/one");
	assert_int_equal(stat(part, &st), 0);
	assert_int_equal(chdir("/"), 0);
}

static void mkdir_p_errors(void **state)
{
	char path[200], *big = malloc(5000);

	assert_int_equal(fio_mkdir_p("", 0755), -EINVAL);
	assert_non_null(big);
	memset(big, 'a', 4999);
	big[0] = '/';
	big[4999] = '\0';
	assert_int_equal(fio_mkdir_p(big, 0755), -EINVAL);
	free(big);
	/* Below a regular file. */
	path_of(path, sizeof(path), "plain");
	write_plain(path, "x", 1, 0644);
	path_of(path, sizeof(path), "plain/sub/dir");
	assert_int_equal(fio_mkdir_p(path, 0755), -ENOTDIR);
}

static void join(void **state)
{
	char *s = fio_join("/var/lib/cunxiang", "receipts.db");

	assert_string_equal(s, "/var/lib/cunxiang/receipts.db");
	free(s);
	s = fio_join("", "x");
	assert_string_equal(s, "/x");
	free(s);
	s = fio_join("d", "");
	assert_string_equal(s, "d/");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(read_whole),
		cmocka_unit_test(read_limits),
		cmocka_unit_test(read_errors),
		cmocka_unit_test(read_unsized),
		cmocka_unit_test(write_new),
		cmocka_unit_test(write_replaces),
		cmocka_unit_test(write_missing_dir),
		cmocka_unit_test(write_over_directory),
		cmocka_unit_test(write_name_too_long),
		cmocka_unit_test(write_read_only_dir),
		cmocka_unit_test(write_fails_midway),
		cmocka_unit_test(write_full_and_read_only_fs),
		cmocka_unit_test(batch_commit),
		cmocka_unit_test(batch_abandoned),
		cmocka_unit_test(batch_full_fs),
		cmocka_unit_test(batch_put_stat),
		cmocka_unit_test(batch_holds_one_fd),
		cmocka_unit_test(batch_many_fs),
		cmocka_unit_test(fsync_dir),
		cmocka_unit_test(mkdir_p),
		cmocka_unit_test(mkdir_p_errors),
		cmocka_unit_test(join),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
