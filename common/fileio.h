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

/* mkdir -p. \retval 0 / -errno */
int fio_mkdir_p(const char *path, mode_t mode);

/* fsync the directory that holds PATH. \retval 0 / -errno */
int fio_fsync_dir_of(const char *path);

/* Join two path parts into a malloc'ed string; NULL on ENOMEM. */
char *fio_join(const char *dir, const char *name);
