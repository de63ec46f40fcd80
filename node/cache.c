/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cache.c -- the node's state directory: plan, assets, small state files */
#include "cache.h"

#include "asset.h"
#include "fileio.h"
#include "hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN 64

struct cache {
	char *dir;
	char *assets;
	char *spool;
	size_t removed;
	struct reserve *reserve;  /* for cache_put_vital; not owned */
};

/* [a-z0-9._-]{1,64}, not starting with '.' (so never "." or ".."), never
 * a temp name that cache_open would sweep away, and not one of the
 * directories. */
static bool valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return !strstr(name, ".tmp.") && strcmp(name, "assets") && strcmp(name, "spool");
}

/* "SHA.opus" with a valid SHA: *SHA gets the 64 digits. */
static bool asset_name(const char *name, char sha[CX_SHA256_HEX])
{
	if (strlen(name) != 64 + 5 || strcmp(name + 64, ".opus"))
		return false;
	memcpy(sha, name, 64);
	sha[64] = '\0';
	return cx_is_sha256_hex(sha);
}

static int path_in(const char *dir, const char *name, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Remove "*.tmp.*" leftovers of interrupted atomic writes in DIR; with
 * VERIFY, also every "SHA.opus" whose bytes do not hash to SHA or do not
 * decode. Other files are not ours and are left alone. */
static int sweep(struct cache *c, const char *dir, bool verify)
{
	char path[PATH_MAX], sha[CX_SHA256_HEX];
	struct dirent *de;
	bool changed = false;
	DIR *d;
	int r = 0;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		bool corrupt = false;

		if (path_in(dir, name, path, sizeof(path)) < 0)
			continue;
		if (strstr(name, ".tmp.")) {
			if (unlink(path) == 0)
				changed = true;
			continue;
		}
		if (!verify || !asset_name(name, sha))
			continue;
		r = asset_verify_file(path, sha);
		if (r == -ENOMEM)
			break;
		/* A file that cannot even be read (EIO from a bad sector)
		 * is as useless as one with the wrong bytes; the plan fetches
		 * it again. */
		corrupt = r < 0;
		r = 0;
		if (corrupt && unlink(path) == 0) {
			c->removed++;
			changed = true;
		}
	}
	if (!de && errno)
		r = -errno;
	closedir(d);
	if (changed)
		(void)fsync_dir(dir);
	return r;
}

struct cache *cache_open(const char *state_dir)
{
	struct cache *c = calloc(1, sizeof(*c));
	int r;

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->dir = strdup(state_dir);
	c->assets = fio_join(state_dir, "assets");
	c->spool = fio_join(state_dir, "spool");
	if (!c->dir || !c->assets || !c->spool) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = fio_mkdir_p(c->assets, 0750)) < 0 || (r = fio_mkdir_p(c->spool, 0750)) < 0)
		goto fail;
	if ((r = sweep(c, c->dir, false)) < 0 || (r = sweep(c, c->assets, true)) < 0)
		goto fail;
	return c;
fail:
	cache_close(c);
	errno = -r;
	return NULL;
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	free(c->dir);
	free(c->assets);
	free(c->spool);
	free(c);
}

size_t cache_removed(const struct cache *c) { return c->removed; }
const char *cache_spool_dir(const struct cache *c) { return c->spool; }

int cache_put(struct cache *c, const char *name, const void *buf, size_t len)
{
	char path[PATH_MAX];
	int r;

	if (!valid_name(name))
		return -EINVAL;
	if ((r = path_in(c->dir, name, path, sizeof(path))) < 0)
		return r;
	return fio_write_atomic(path, buf, len, 0640);
}

void cache_set_reserve(struct cache *c, struct reserve *r) { c->reserve = r; }

int cache_put_vital(struct cache *c, const char *name, const void *buf, size_t len)
{
	char path[PATH_MAX];
	int r;

	if (!valid_name(name))
		return -EINVAL;
	if ((r = path_in(c->dir, name, path, sizeof(path))) < 0)
		return r;
	r = reserve_write(c->reserve, path, buf, len, 0640);
	return r < 0 ? r : 0;
}

int cache_get(struct cache *c, const char *name, size_t max, char **buf, size_t *len)
{
	char path[PATH_MAX];
	int r;

	if (!valid_name(name))
		return -EINVAL;
	if ((r = path_in(c->dir, name, path, sizeof(path))) < 0)
		return r;
	return fio_read_all(path, max, buf, len);
}

int cache_asset_path(const struct cache *c, const char *sha, char *buf, size_t len)
{
	char name[CX_SHA256_HEX + 5];

	if (!sha || !cx_is_sha256_hex(sha))
		return -EINVAL;
	asset_filename(sha, name);
	return path_in(c->assets, name, buf, len);
}

int cache_put_asset(struct cache *c, const char *sha, const void *buf, size_t len)
{
	char path[PATH_MAX];
	int r;

	if ((r = cache_asset_path(c, sha, path, sizeof(path))) < 0)
		return r;
	if ((r = asset_verify_mem(buf, len, sha)) < 0)
		return r;
	return fio_write_atomic(path, buf, len, 0644);
}

bool cache_has_asset(struct cache *c, const char *sha)
{
	char path[PATH_MAX];
	struct stat st;

	return cache_asset_path(c, sha, path, sizeof(path)) == 0 && stat(path, &st) == 0 &&
	       S_ISREG(st.st_mode);
}

static int cmp_sha(const void *a, const void *b)
{
	return memcmp(a, b, 64);
}

int cache_gc(struct cache *c, char (*keep)[65], size_t nkeep)
{
	char (*k)[65] = NULL, path[PATH_MAX], sha[CX_SHA256_HEX];
	struct dirent *de;
	int deleted = 0, r = 0;
	DIR *d;

	/* Sort a copy to look names up in log time: a week's plan can keep
	 * thousands of assets. */
	if (nkeep) {
		k = malloc(nkeep * sizeof(*k));
		if (!k)
			return -ENOMEM;
		memcpy(k, keep, nkeep * sizeof(*k));
		qsort(k, nkeep, sizeof(*k), cmp_sha);
	}
	d = opendir(c->assets);
	if (!d) {
		free(k);
		return -errno;
	}
	while ((errno = 0, de = readdir(d))) {
		if (!asset_name(de->d_name, sha))
			continue;
		if (nkeep && bsearch(sha, k, nkeep, sizeof(*k), cmp_sha))
			continue;
		if (path_in(c->assets, de->d_name, path, sizeof(path)) < 0)
			continue;
		if (unlink(path) == 0)
			deleted++;
		else if (errno != ENOENT && !r)
			r = -errno;
	}
	if (!de && errno && !r)
		r = -errno;
	closedir(d);
	free(k);
	if (deleted)
		(void)fsync_dir(c->assets);
	return r < 0 ? r : deleted;
}
