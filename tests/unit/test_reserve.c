/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_reserve.c -- the disk reserve: allocated ahead, given back to writes
 * that find the disk full, taken back when there is room */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reserve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static char base[64];

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", base, name);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void read_back(const char *path, const char *want)
{
	char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static int setup(void **state)
{
	strcpy(base, "/tmp/test_reserve.XXXXXX");
	assert_non_null(mkdtemp(base));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	/* A failed assertion may have left the tmpfs mounted. */
	snprintf(cmd, sizeof(cmd), "%s/mnt", base);
	(void)umount2(cmd, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd);
}

/* Created at its size; kept for the next start, which trims a larger file
 * and grows a smaller one. */
static void open_sizes(void **state)
{
	char path[128];
	struct reserve *r;

	path_of(path, sizeof(path), "reserve");
	r = reserve_open(path, 256 * 1024);
	assert_non_null(r);
	assert_int_equal(reserve_size(r), 256 * 1024);
	assert_int_equal(reserve_held(r), 256 * 1024);
	assert_false(reserve_short(r));
	assert_int_equal(file_size(path), 256 * 1024);
	reserve_close(r);
	assert_int_equal(file_size(path), 256 * 1024);

	r = reserve_open(path, 64 * 1024);
	assert_int_equal(reserve_held(r), 64 * 1024);
	assert_int_equal(file_size(path), 64 * 1024);
	reserve_close(r);
	r = reserve_open(path, 3 * 1024 * 1024);
	assert_int_equal(reserve_held(r), 3 * 1024 * 1024);
	assert_int_equal(file_size(path), 3 * 1024 * 1024);
	assert_int_equal(reserve_refill(r), 0);
	reserve_close(r);
}

/* Size 0: room for RESERVE_RECEIPTS blocks and RESERVE_EXTRA. */
static void default_size(void **state)
{
	struct statvfs vfs;
	char path[128];
	struct reserve *r;
	uint64_t block;

	path_of(path, sizeof(path), "reserve-default");
	r = reserve_open(path, 0);
	assert_non_null(r);
	assert_int_equal(statvfs(base, &vfs), 0);
	block = vfs.f_bsize >= 512 && vfs.f_bsize <= (1u << 20) ? vfs.f_bsize : 4096;
	assert_int_equal(reserve_size(r), RESERVE_RECEIPTS * block + RESERVE_EXTRA);
	assert_int_equal(reserve_held(r), reserve_size(r));
	reserve_close(r);
	assert_int_equal(unlink(path), 0);
}

static void bad_path(void **state)
{
	char path[128];

	path_of(path, sizeof(path), "no/such/dir/reserve");
	errno = 0;
	assert_null(reserve_open(path, 4096));
	assert_int_equal(errno, ENOENT);
}

/* With room, a write goes through as fio_write_atomic does and takes
 * nothing; without a reserve it is a plain write. NULL is "no reserve". */
static void write_with_room(void **state)
{
	char path[128], file[128];
	struct reserve *r;

	path_of(path, sizeof(path), "reserve-room");
	path_of(file, sizeof(file), "state.json");
	r = reserve_open(path, 64 * 1024);
	assert_int_equal(reserve_write(r, file, "{\"a\":1}", 7, 0644), 0);
	read_back(file, "{\"a\":1}");
	assert_int_equal(reserve_held(r), 64 * 1024);
	assert_int_equal(reserve_write(NULL, file, "{\"a\":2}", 7, 0644), 0);
	read_back(file, "{\"a\":2}");
	reserve_close(r);

	assert_false(reserve_short(NULL));
	assert_int_equal(reserve_held(NULL), 0);
	assert_int_equal(reserve_size(NULL), 0);
	assert_int_equal(reserve_refill(NULL), 0);
	reserve_close(NULL);
}

static void fill(const char *path)
{
	static char block[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	while (write(fd, block, sizeof(block)) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
}

/* On a full disk a write takes blocks of the reserve (\retval 1), which is
 * then short; with room again a refill makes it whole. A reserve that
 * cannot give enough leaves the write failing with ENOSPC. */
static void full_disk(void **state)
{
	char mnt[128], path[192], file[192], filler[192];
	static char big[40 * 1024];
	struct reserve *r;

	path_of(mnt, sizeof(mnt), "mnt");
	assert_int_equal(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") < 0) {
		fprintf(stderr, "cannot mount a tmpfs: %s\n", strerror(errno));
		skip();
	}
	snprintf(path, sizeof(path), "%s/reserve", mnt);
	snprintf(file, sizeof(file), "%s/state.json", mnt);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	r = reserve_open(path, 32 * 1024);
	assert_non_null(r);
	assert_false(reserve_short(r));
	fill(filler);

	assert_int_equal(reserve_write(r, file, "{\"b\":1}", 7, 0644), 1);
	read_back(file, "{\"b\":1}");
	assert_true(reserve_short(r));
	assert_true(reserve_held(r) < 32 * 1024);
	/* Still full: a refill gets nothing back. */
	assert_int_equal(reserve_refill(r), -ENOSPC);
	assert_true(reserve_short(r));
	/* More than what is left of the reserve. */
	memset(big, 'x', sizeof(big));
	assert_int_equal(reserve_write(r, file, big, sizeof(big), 0644), -ENOSPC);
	assert_int_equal(reserve_held(r), 0);
	read_back(file, "{\"b\":1}");

	assert_int_equal(unlink(filler), 0);
	assert_int_equal(reserve_refill(r), 0);
	assert_false(reserve_short(r));
	assert_int_equal(reserve_held(r), 32 * 1024);
	assert_int_equal(file_size(path), 32 * 1024);
	reserve_close(r);
	assert_int_equal(umount(mnt), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_sizes),
		cmocka_unit_test(default_size),
		cmocka_unit_test(bad_path),
		cmocka_unit_test(write_with_room),
		cmocka_unit_test(full_disk),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
