/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reserve.c -- disk space set aside so receipts and the scheduler's memory
 * are still written when the state directory's disk is full */
#include "reserve.h"

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define GROW_CHUNK (1u << 20)   /* refill in steps, so a nearly full disk fills up */

struct reserve {
	int fd;
	uint64_t size;           /* what it keeps */
	uint64_t held;           /* allocated now */
	uint64_t block;          /* the file system's block */
};

/* Make the file's size say what it holds, SIZE. If that fails too, the
 * next refill writes over the same range: the caller's own error is the
 * one to tell, and errno is left as it was. */
static void trim_to(struct reserve *r, uint64_t size)
{
	int e = errno;

	if (ftruncate(r->fd, (off_t)size) < 0)
		errno = e;
}

static bool no_room(int r)
{
	return r == -ENOSPC || r == -EDQUOT;
}

/* Allocate [FROM, TO) of the file by writing zeros, for file systems
 * without fallocate. \retval 0 / -errno */
static int write_zeros(struct reserve *r, uint64_t from, uint64_t to)
{
	static const char zeros[4096];

	for (uint64_t off = from; off < to;) {
		size_t n = to - off < sizeof(zeros) ? (size_t)(to - off) : sizeof(zeros);
		ssize_t w = pwrite(r->fd, zeros, n, (off_t)off);

		if (w < 0) {
			int e = errno;

			trim_to(r, off);
			return -e;
		}
		off += (uint64_t)w;
	}
	return fdatasync(r->fd) < 0 ? -errno : 0;
}

int reserve_refill(struct reserve *r)
{
	while (r && r->held < r->size) {
		uint64_t to = r->held + GROW_CHUNK < r->size ? r->held + GROW_CHUNK : r->size;
		int e;

		/* posix_fallocate() reports through its return value. */
		e = posix_fallocate(r->fd, (off_t)r->held, (off_t)(to - r->held));
		if (e == EOPNOTSUPP || e == EINVAL) {
			int q = write_zeros(r, r->held, to);

			if (q < 0)
				return q;
		} else if (e != 0) {
			/* What fitted of a partial allocation may be kept or
			 * not; make the file's size say what it holds. */
			trim_to(r, r->held);
			return -e;
		}
		r->held = to;
	}
	return 0;
}

struct reserve *reserve_open(const char *path, uint64_t bytes)
{
	struct reserve *r = calloc(1, sizeof(*r));
	struct statvfs vfs;
	struct stat st;
	int e;

	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (r->fd < 0 || fstat(r->fd, &st) < 0) {
		e = errno;
		if (r->fd >= 0)
			close(r->fd);
		free(r);
		errno = e;
		return NULL;
	}
	r->block = fstatvfs(r->fd, &vfs) == 0 && vfs.f_bsize > 0 ? vfs.f_bsize : 4096;
	if (r->block < 512 || r->block > (1u << 20))
		r->block = 4096;
	r->size = bytes ? bytes : RESERVE_RECEIPTS * r->block + RESERVE_EXTRA;
	r->held = (uint64_t)st.st_size;
	/* A smaller reserve than last time: give back the rest (if that
	 * fails the file keeps holding it, which is no harm). */
	if (r->held > r->size && ftruncate(r->fd, (off_t)r->size) == 0)
		r->held = r->size;
	(void)reserve_refill(r);
	(void)fsync(r->fd);
	(void)fio_fsync_dir_of(path);
	return r;
}

void reserve_close(struct reserve *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r);
}

/* Give back STEP bytes (or all that is left). \retval bytes released */
static uint64_t release(struct reserve *r, uint64_t step)
{
	uint64_t to = r->held > step ? r->held - step : 0;

	if (r->held == 0 || ftruncate(r->fd, (off_t)to) < 0)
		return 0;
	step = r->held - to;
	r->held = to;
	return step;
}

int reserve_write(struct reserve *r, const char *path, const void *buf, size_t len, mode_t mode)
{
	int w = fio_write_atomic(path, buf, len, mode), used = 0;

	/* The temporary file, the old file until the rename, and a new
	 * directory block may all need room at once: release in steps of a
	 * few blocks more than the data, and keep going while that helps. */
	while (r && no_room(w)) {
		uint64_t blocks = (len + r->block - 1) / r->block + 3;

		if (!release(r, blocks * r->block))
			break;
		used = 1;
		w = fio_write_atomic(path, buf, len, mode);
	}
	return w < 0 ? w : used;
}

bool reserve_short(const struct reserve *r) { return r && r->held < r->size; }
uint64_t reserve_held(const struct reserve *r) { return r ? r->held : 0; }
uint64_t reserve_size(const struct reserve *r) { return r ? r->size : 0; }
