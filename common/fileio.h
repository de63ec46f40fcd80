/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fileio.h -- whole-file reads with limits, atomic writes, directories */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Read all of PATH into a NUL-terminated malloc'ed buffer.
 * \retval 0        *buf and *len set; free(*buf) when done
 * \retval -EFBIG   the file is larger than MAX bytes
 * \retval -errno   open/read failure */
int fio_read_all(const char *path, size_t max, char **buf, size_t *len);

/* Replace PATH with BUF so that a power cut leaves either the old or the new
 * file: write PATH.tmp.PID, fsync, rename over PATH, fsync the directory.
 * \retval 0 / -errno (ENOSPC from a full disk leaves the old file intact) */
int fio_write_atomic(const char *path, const void *buf, size_t len, mode_t mode);

/* Write all LEN bytes of BUF to FD, again after EINTR or a short write.
 * \retval 0 / -errno */
int fio_write_fd(int fd, const void *buf, size_t len);

/* Many files replaced at once, each as fio_write_atomic replaces one, with
 * one flush of the file system instead of one per file: fio_batch_put
 * writes PATH.tmp.PID unsynced; fio_batch_commit flushes each file system
 * written to once (syncfs), renames each temporary over its PATH and
 * fsyncs each directory once. A power cut leaves every PATH old or new,
 * never partial.
 * The flush must report a write-back error of any temporary. syncfs
 * reports those that happened since the descriptor it is given was
 * opened (Linux >= 5.8), so the batch holds the first temporary's
 * descriptor on each file system, opened before anything there was
 * written, until the commit: one descriptor per file system, however many
 * files. fsync (or fdatasync) of each temporary would report its errors
 * too, but costs a journal commit per file (10,000 plans: 10,000
 * commits); one syncfs costs one. Past FIO_BATCH_FS_MAX file systems in
 * one batch, a temporary is fsynced when put instead.
 * fio_batch_new: NULL + errno. */
#define FIO_BATCH_FS_MAX 8
struct fio_batch;
struct stat;
struct fio_batch *fio_batch_new(void);
/* OUT, when not NULL, receives the temporary's fstat once written: the
 * inode, size and modification time of the file the commit puts at PATH
 * (rename keeps them), not of one that replaces it later.
 * \retval 0 / -errno (the temporary is removed; the batch is unchanged) */
int fio_batch_put(struct fio_batch *b, const char *path, const void *buf, size_t len,
		  mode_t mode, struct stat *out);
/* Files put so far. */
size_t fio_batch_count(const struct fio_batch *b);
/* \retval 0 / -errno: the flush failed (no PATH replaced), or a rename or
 * a directory's fsync did (those before it replaced). The batch is empty
 * afterwards either way. */
int fio_batch_commit(struct fio_batch *b);
/* Removes the temporaries of what was put and not committed and closes
 * the descriptors held. */
void fio_batch_free(struct fio_batch *b);

/* mkdir -p. \retval 0 / -errno */
int fio_mkdir_p(const char *path, mode_t mode);

/* fsync the directory that holds PATH. \retval 0 / -errno */
int fio_fsync_dir_of(const char *path);

/* Join two path parts into a malloc'ed string; NULL on ENOMEM. */
char *fio_join(const char *dir, const char *name);
