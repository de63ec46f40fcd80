/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan_out.c -- compiled plans written to a directory: only those that changed, with one flush */
#include "plan_out.h"

#include "fileio.h"
#include "hash.h"
#include "schedule.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INDEX_MAX (64u << 20)
#define ID_MAX 32

struct entry {
	char id[ID_MAX + 1];
	unsigned char digest[COMPILE_DIGEST];
	uint64_t size, ino;
	int64_t mtime_ns;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->id, ((const struct entry *)b)->id);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* N bytes from 2N lower-case hex digits. */
static int unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);

		if (lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* One line: ID DIGEST SIZE MTIME_NS INO, tab-separated. */
static int parse_line(const char *line, struct entry *e)
{
	char hex[2 * COMPILE_DIGEST + 1];
	int used = 0;

	if (sscanf(line, "%32[a-z0-9-]\t%64[0-9a-f]\t%" SCNu64 "\t%" SCNd64 "\t%" SCNu64 "%n",
		   e->id, hex, &e->size, &e->mtime_ns, &e->ino, &used) != 5 ||
	    line[used] != '\0' || strlen(hex) != 2 * COMPILE_DIGEST)
		return -1;
	return unhex(hex, e->digest, COMPILE_DIGEST);
}

/* The index as sorted entries; an index that does not read or parse is
 * empty (every plan is written again). */
static struct entry *load_index(const char *path, size_t *n)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len, cap = 0;
	struct entry *v = NULL;

	*n = 0;
	if (fio_read_all(path, INDEX_MAX, &buf, &len) < 0)
		return NULL;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (*n == cap) {
			size_t c2 = cap ? 2 * cap : 256;
			struct entry *p = realloc(v, c2 * sizeof(*v));

			if (!p)
				goto bad;
			v = p;
			cap = c2;
		}
		if (parse_line(line, &v[*n]) < 0)
			goto bad;
		(*n)++;
	}
	free(buf);
	if (v)
		qsort(v, *n, sizeof(*v), cmp_entry);
	return v;
bad:
	free(buf);
	free(v);
	*n = 0;
	return NULL;
}

static bool file_matches(const char *path, const struct entry *e)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == e->size &&
	       (uint64_t)st.st_ino == e->ino &&
	       (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == e->mtime_ns;
}

static void stat_entry(const struct stat *st, struct entry *e)
{
	e->size = (uint64_t)st->st_size;
	e->ino = (uint64_t)st->st_ino;
	e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int save_index(const char *path, const struct entry *v, size_t n)
{
	size_t cap = n * (ID_MAX + 2 * COMPILE_DIGEST + 80) + 1, at = 0;
	char *buf = malloc(cap);
	int r;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		at += (size_t)snprintf(buf + at, cap - at, "%s\t", v[i].id);
		cx_hex(v[i].digest, COMPILE_DIGEST, buf + at);
		at += 2 * COMPILE_DIGEST;
		at += (size_t)snprintf(buf + at, cap - at, "\t%" PRIu64 "\t%" PRId64 "\t%" PRIu64 "\n",
				       v[i].size, v[i].mtime_ns, v[i].ino);
	}
	r = fio_write_atomic(path, buf, at, 0644);
	free(buf);
	return r;
}

/* Put the plan of NODE in the batch unless the index says DIR holds it.
 * E is filled with its id and digest; *PUT tells which. */
static int one_plan(const struct compile *c, size_t node, const char *dir,
		    const struct entry *old, size_t nold, struct fio_batch *b, struct entry *e,
		    bool *put)
{
	const struct schedule_node *sn = schedule_node(compile_schedule(c), node);
	const struct entry *was;
	char name[ID_MAX + 8], *path, *buf = NULL;
	struct stat st;
	size_t len;
	int r;

	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", sn->id);
	snprintf(name, sizeof(name), "%s.json", sn->id);
	if (!(path = fio_join(dir, name)))
		return -ENOMEM;
	if ((r = compile_plan_digest(c, node, e->digest)) < 0)
		goto out;
	was = old ? bsearch(e, old, nold, sizeof(*old), cmp_entry) : NULL;
	*put = !(was && memcmp(was->digest, e->digest, COMPILE_DIGEST) == 0 &&
		 file_matches(path, was));
	if (!*put) {
		*e = *was;
		goto out;
	}
	/* The file as written, not what PATH is after the commit: another
	 * writer may have replaced it by then. */
	if ((r = compile_plan_dump(c, node, &buf, &len)) == 0 &&
	    (r = fio_batch_put(b, path, buf, len, 0644, &st)) == 0)
		stat_entry(&st, e);
out:
	free(buf);
	free(path);
	return r;
}

int plan_out_write(const struct compile *c, const char *dir, const char *index,
		   const char *prog, struct plan_out_stats *st)
{
	size_t nn = compile_node_count(c), nold;
	struct entry *old = load_index(index, &nold), *now = calloc(nn ? nn : 1, sizeof(*now));
	struct fio_batch *b = fio_batch_new();
	int r = -ENOMEM;

	memset(st, 0, sizeof(*st));
	if (!now || !b) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	for (size_t i = 0; i < nn; i++) {
		bool put;

		if ((r = one_plan(c, i, dir, old, nold, b, &now[i], &put)) < 0) {
			fprintf(stderr, "%s: cannot write the plan of %s in %s: %s\n", prog, now[i].id,
				dir, strerror(-r));
			goto out;
		}
		if (put)
			st->written++;
		else
			st->unchanged++;
	}
	if ((r = fio_batch_commit(b)) < 0) {
		fprintf(stderr, "%s: cannot write the plans in %s: %s\n", prog, dir, strerror(-r));
		goto out;
	}
	qsort(now, nn, sizeof(*now), cmp_entry);
	/* The plans are written; without the index the next run writes them
	 * all again, which is only slower. */
	if ((r = save_index(index, now, nn)) < 0)
		fprintf(stderr, "%s: note: cannot write %s (%s): every plan will be written next "
			"time\n", prog, index, strerror(-r));
	r = 0;
out:
	fio_batch_free(b);
	free(old);
	free(now);
	return r;
}
