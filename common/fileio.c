/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fileio.c -- whole-file reads with limits, atomic writes, directories */
#define _GNU_SOURCE /* syncfs */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fio_read_all(const char *path, size_t max, char **buf, size_t *len)
{
	struct stat st;
	char *b = NULL;
	size_t n = 0, cap;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto fail;
	}
	if (st.st_size > 0 && (size_t)st.st_size > max) {
		r = -EFBIG;
		goto fail;
	}
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	b = malloc(cap);
	if (!b) {
		r = -ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t k;

		if (n + 1 >= cap) {
			char *nb;

			if (cap > max + 1) {
				r = -EFBIG;
				goto fail;
			}
			cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				r = -ENOMEM;
				goto fail;
			}
			b = nb;
		}
		k = read(fd, b + n, cap - n - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max) {
			r = -EFBIG;
			goto fail;
		}
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	free(b);
	close(fd);
	return r;
}

int fio_fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		r = -errno;
	else if (fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

int fio_write_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	const char *p = buf;
	char tmp[4096];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail;
		}
		p += k;
		len -= (size_t)k;
	}
	if (fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	return fio_fsync_dir_of(path);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

int fio_mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, n + 1);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(buf, mode) < 0) {
		struct stat st;

		if (errno != EEXIST)
			return -errno;
		/* Something is there: it must be a directory (or lead to one). */
		if (stat(buf, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	return 0;
}

char *fio_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *s = malloc(a + b + 2);

	if (!s)
		return NULL;
	memcpy(s, dir, a);
	s[a] = '/';
	memcpy(s + a + 1, name, b + 1);
	return s;
}

/* A write-back error is reported once: syncfs on a descriptor reports
 * (Linux >= 5.8) those of its file system since the descriptor was opened
 * that no one has seen yet, and a descriptor opened at the commit would
 * miss one seen in between, by another process's syncfs say. So the batch
 * holds, per file system, the first temporary's own descriptor, opened
 * before any temporary there was written, from its put to the commit. */
struct fio_batch {
	char **path;               /* each PATH; its temporary is tmp_name() */
	size_t n, cap;
	int fs_fd[FIO_BATCH_FS_MAX];
	dev_t fs_dev[FIO_BATCH_FS_MAX];
	size_t nfs;
};

static int tmp_name(char *tmp, size_t size, const char *path)
{
	return (size_t)snprintf(tmp, size, "%s.tmp.%ld", path, (long)getpid()) >= size
		? -ENAMETOOLONG : 0;
}

struct fio_batch *fio_batch_new(void)
{
	return calloc(1, sizeof(struct fio_batch));
}

size_t fio_batch_count(const struct fio_batch *b)
{
	return b->n;
}

int fio_write_fd(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Make sure the commit's flush reaches the temporary FD (on ST's file
 * system): nothing to do when the batch holds a descriptor there; else FD
 * becomes that descriptor, or past FIO_BATCH_FS_MAX file systems it is
 * flushed now. \retval 1 FD is held / 0 FD is to be closed / -errno */
static int cover(struct fio_batch *b, int fd, const struct stat *st)
{
	for (size_t i = 0; i < b->nfs; i++)
		if (b->fs_dev[i] == st->st_dev)
			return 0;
	if (b->nfs < FIO_BATCH_FS_MAX) {
		b->fs_dev[b->nfs] = st->st_dev;
		b->fs_fd[b->nfs++] = fd;
		return 1;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

int fio_batch_put(struct fio_batch *b, const char *path, const void *buf, size_t len,
		  mode_t mode, struct stat *out)
{
	char tmp[PATH_MAX], *copy;
	struct stat st;
	int fd, r;

	if ((r = tmp_name(tmp, sizeof(tmp), path)) < 0)
		return r;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		char **p = realloc(b->path, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		b->path = p;
		b->cap = cap;
	}
	if (!(copy = strdup(path)))
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		r = -errno;
		free(copy);
		return r;
	}
	r = fio_write_fd(fd, buf, len);
	/* Start the write-back now, so that the disk works while the next
	 * files are made and the commit's flush has less left to wait for.
	 * Its errors are the flush's to report. */
	if (r == 0)
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (r == 0 && fstat(fd, &st) < 0)
		r = -errno;
	if (r == 0)
		r = cover(b, fd, &st);
	if (r == 1)
		r = 0;
	else if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		free(copy);
		return r;
	}
	b->path[b->n++] = copy;
	if (out)
		*out = st;
	return 0;
}

/* Run FN on each directory of the batch's paths once (runs of the same
 * directory; a directory that comes back later is done again, which is
 * only slower). \retval 0 / the first -errno */
static int each_dir(const struct fio_batch *b, int (*fn)(int dirfd))
{
	char prev[PATH_MAX] = "", cur[PATH_MAX], copy[PATH_MAX];
	int first = 0;

	for (size_t i = 0; i < b->n; i++) {
		int fd, r;

		snprintf(copy, sizeof(copy), "%s", b->path[i]);
		snprintf(cur, sizeof(cur), "%s", dirname(copy));
		if (i > 0 && strcmp(cur, prev) == 0)
			continue;
		memcpy(prev, cur, sizeof(prev));
		fd = open(cur, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = fd < 0 ? -errno : fn(fd);
		if (fd >= 0)
			close(fd);
		if (r < 0 && first == 0)
			first = r;
	}
	return first;
}

static int do_fsync(int fd) { return fsync(fd) < 0 ? -errno : 0; }

/* Flush each file system held (when SYNC) and let go of its descriptor.
 * \retval 0 / the first -errno */
static int release_fs(struct fio_batch *b, bool sync)
{
	int first = 0;

	for (size_t i = 0; i < b->nfs; i++) {
		if (sync && syncfs(b->fs_fd[i]) < 0 && first == 0)
			first = -errno;
		if (close(b->fs_fd[i]) < 0 && first == 0)
			first = -errno;
	}
	b->nfs = 0;
	return first;
}

static void drop_all(struct fio_batch *b, size_t from)
{
	char tmp[PATH_MAX];

	(void)release_fs(b, false);
	for (size_t i = from; i < b->n; i++) {
		if (tmp_name(tmp, sizeof(tmp), b->path[i]) == 0)
			unlink(tmp);
	}
	for (size_t i = 0; i < b->n; i++)
		free(b->path[i]);
	b->n = 0;
}

int fio_batch_commit(struct fio_batch *b)
{
	char tmp[PATH_MAX];
	int r;

	if (b->n == 0)
		return 0;
	if ((r = release_fs(b, true)) < 0) {
		drop_all(b, 0);
		return r;
	}
	for (size_t i = 0; i < b->n; i++) {
		r = tmp_name(tmp, sizeof(tmp), b->path[i]);
		if (r == 0 && rename(tmp, b->path[i]) < 0)
			r = -errno;
		if (r < 0) {
			drop_all(b, i);
			return r;
		}
	}
	r = each_dir(b, do_fsync);
	drop_all(b, b->n);
	return r;
}

void fio_batch_free(struct fio_batch *b)
{
	if (!b)
		return;
	drop_all(b, 0);
	free(b->path);
	free(b);
}
