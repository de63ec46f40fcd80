/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spool.c -- receipts on disk until the controller acknowledges them */
#include "spool.h"

#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_DIGITS 20                 /* %020llu */
#define NAME_LEN    (NAME_DIGITS + 5)  /* + ".json" */
#define SEQ_TEXT    (NAME_DIGITS + 1)  /* "%020llu\n" */

struct ent {
	uint64_t seq;
	char *json;   /* non-NULL: held in memory only, not yet on disk */
	size_t len;
};

struct spool {
	char *dir;
	int dfd;
	struct ent *v;          /* pending receipts are v[head..n), by seq */
	size_t head, n, cap;
	size_t nmem;            /* entries with json != NULL */
	uint64_t last_seq;      /* last seq handed out */
	uint64_t seq_on_disk;   /* what DIR/seq durably says */
	size_t bad;
	uint64_t dropped;
};

/* Errors after which a receipt is worth keeping in memory rather than
 * lost: the disk is full (EFBIG is RLIMIT_FSIZE or a file-size limit) or
 * failing (an SD card remounted read-only). */
static bool keep_in_memory(int r)
{
	return r == -ENOSPC || r == -EDQUOT || r == -EFBIG || r == -EIO || r == -EROFS;
}

static void receipt_name(uint64_t seq, char name[NAME_LEN + 1])
{
	snprintf(name, NAME_LEN + 1, "%020llu.json", (unsigned long long)seq);
}

static int receipt_path(const struct spool *s, uint64_t seq, char *buf, size_t len)
{
	char name[NAME_LEN + 1];

	receipt_name(seq, name);
	if ((size_t)snprintf(buf, len, "%s/%s", s->dir, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Exactly 20 digits, then ".json", and a value that fits a JSON integer. */
static bool parse_name(const char *name, uint64_t *seq, bool *ours)
{
	uint64_t v = 0;

	*ours = false;
	if (strlen(name) != NAME_LEN || strcmp(name + NAME_DIGITS, ".json"))
		return false;
	for (int i = 0; i < NAME_DIGITS; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	*ours = true;
	for (int i = 0; i < NAME_DIGITS; i++) {
		if (v > (uint64_t)(INT64_MAX - (name[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*seq = v;
	return v > 0;
}

/* A decimal number, optionally followed by one newline. */
static bool parse_seq_text(const char *buf, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0 || len > NAME_DIGITS)
		return false;
	for (i = 0; i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return false;
		if (v > (uint64_t)(INT64_MAX - (buf[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(buf[i] - '0');
	}
	*out = v;
	return true;
}

static int write_seq(struct spool *s)
{
	char text[SEQ_TEXT + 1], path[PATH_MAX];
	uint64_t want = s->last_seq;
	int fd, r;

	if (s->seq_on_disk == want)
		return 0;
	snprintf(text, sizeof(text), "%020llu\n", (unsigned long long)want);
	if ((size_t)snprintf(path, sizeof(path), "%s/seq", s->dir) >= sizeof(path))
		return -ENAMETOOLONG;
	r = fio_write_atomic(path, text, SEQ_TEXT, 0644);
	if (r == 0) {
		s->seq_on_disk = want;
		return 0;
	}
	if (!keep_in_memory(r))
		return r;
	/* No room for a temp file: overwrite the fixed-width number in place.
	 * That needs no new block, and 21 bytes inside one sector do not tear
	 * on the storage we run on; a seq that goes backwards would make the
	 * controller drop the next receipts as duplicates. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return r;
	if (pwrite(fd, text, SEQ_TEXT, 0) != SEQ_TEXT || fdatasync(fd) < 0) {
		close(fd);
		return r;
	}
	close(fd);
	s->seq_on_disk = want;
	return 0;
}

/* Keep what cannot be read: DIR/bad/NAME (or NAME.1, NAME.2, ... when an
 * earlier one is there) for a person to look at. */
static int move_bad(struct spool *s, const char *name)
{
	char to[NAME_MAX + 16];
	struct stat st;
	int r;

	if (mkdirat(s->dfd, "bad", 0750) < 0 && errno != EEXIST)
		return -errno;
	snprintf(to, sizeof(to), "bad/%s", name);
	for (int i = 1; fstatat(s->dfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0; i++) {
		if (i > 9999)
			return -EEXIST;
		snprintf(to, sizeof(to), "bad/%s.%d", name, i);
	}
	if (renameat(s->dfd, name, s->dfd, to) < 0)
		return -errno;
	r = openat(s->dfd, "bad", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r >= 0) {
		(void)fsync(r);
		close(r);
	}
	s->bad++;
	return 0;
}

static int grow(struct spool *s)
{
	struct ent *v;
	size_t cap;

	if (s->n < s->cap)
		return 0;
	if (s->head > 0 && s->head >= s->cap / 2) {
		memmove(s->v, s->v + s->head, (s->n - s->head) * sizeof(*s->v));
		s->n -= s->head;
		s->head = 0;
		return 0;
	}
	cap = s->cap ? s->cap * 2 : 64;
	v = realloc(s->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	s->cap = cap;
	return 0;
}

/* Forget V[HEAD]. KEEP_FILE leaves its file on disk (see spool_ack). */
static bool pop_oldest(struct spool *s, bool keep_file)
{
	struct ent *e = &s->v[s->head];
	bool unlinked = false;

	if (e->json) {
		free(e->json);
		s->nmem--;
	} else if (!keep_file) {
		char name[NAME_LEN + 1];

		receipt_name(e->seq, name);
		unlinked = unlinkat(s->dfd, name, 0) == 0;
	}
	if (++s->head == s->n)
		s->head = s->n = 0;
	return unlinked;
}

/* A receipt file is good when it is a JSON object whose "seq" is its name. */
static bool check_file(struct spool *s, const char *name, uint64_t seq)
{
	char path[PATH_MAX], *buf = NULL;
	json_t *o, *v;
	size_t len;
	bool ok;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, name) >= sizeof(path) ||
	    fio_read_all(path, SPOOL_RECEIPT_MAX, &buf, &len) < 0)
		return false;
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	v = json_object_get(o, "seq");
	ok = json_is_object(o) && json_is_integer(v) && (uint64_t)json_integer_value(v) == seq &&
	     json_integer_value(v) > 0;
	json_decref(o);
	free(buf);
	return ok;
}

static int cmp_ent(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int scan(struct spool *s, uint64_t *max_name)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = openat(s->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		uint64_t seq = 0;
		bool ours;

		if (strstr(name, ".tmp.")) {
			/* A write that a crash interrupted: the receipt was never
			 * handed out, so its bytes are not needed. */
			(void)unlinkat(s->dfd, name, 0);
			continue;
		}
		if (!parse_name(name, &seq, &ours)) {
			if (ours)
				(void)move_bad(s, name);
			continue;
		}
		if (seq > *max_name)
			*max_name = seq;
		if (!check_file(s, name, seq)) {
			(void)move_bad(s, name);
			continue;
		}
		if ((r = grow(s)) < 0)
			break;
		s->v[s->n++] = (struct ent){ .seq = seq };
	}
	if (!de && errno)
		r = -errno;
	closedir(d);
	return r;
}

struct spool *spool_open(const char *dir)
{
	struct spool *s = calloc(1, sizeof(*s));
	char path[PATH_MAX], *buf = NULL;
	uint64_t max_name = 0, seq_file = 0;
	size_t len;
	int r;

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->dfd = -1;
	if (!(s->dir = strdup(dir))) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = fio_mkdir_p(dir, 0750)) < 0)
		goto fail;
	s->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dfd < 0) {
		r = -errno;
		goto fail;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/seq", dir) >= sizeof(path)) {
		r = -ENAMETOOLONG;
		goto fail;
	}
	r = fio_read_all(path, 64, &buf, &len);
	if (r == 0 && parse_seq_text(buf, len, &seq_file)) {
		s->seq_on_disk = seq_file;
	} else if (r == 0 || r == -EFBIG) {
		seq_file = 0;
		(void)move_bad(s, "seq");
	} else if (r != -ENOENT) {
		goto fail;
	}
	free(buf);
	buf = NULL;
	if ((r = scan(s, &max_name)) < 0)
		goto fail;
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_ent);
	s->last_seq = seq_file > max_name ? seq_file : max_name;
	while (s->n - s->head > SPOOL_MAX) {
		pop_oldest(s, false);
		s->dropped++;
	}
	/* A crash between a receipt and the seq file, or a lost seq file:
	 * catch the file up now, before acks can remove the evidence. */
	(void)write_seq(s);
	(void)fsync(s->dfd);
	return s;
fail:
	free(buf);
	spool_close(s);
	errno = -r;
	return NULL;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	if (s->nmem && s->dfd >= 0)
		(void)spool_flush(s);
	for (size_t i = s->head; i < s->n; i++)
		free(s->v[i].json);
	free(s->v);
	if (s->dfd >= 0)
		close(s->dfd);
	free(s->dir);
	free(s);
}

int spool_append(struct spool *s, json_t *receipt, uint64_t *seq, char **json)
{
	char path[PATH_MAX], *str;
	uint64_t next;
	size_t len;
	int r;

	if (!json_is_object(receipt))
		return -EINVAL;
	if (s->last_seq >= (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	next = s->last_seq + 1;
	if ((r = receipt_path(s, next, path, sizeof(path))) < 0)
		return r;
	if ((r = grow(s)) < 0)
		return r;
	if (json_object_set_new(receipt, "seq", json_integer((json_int_t)next)) < 0)
		return -ENOMEM;
	str = json_dumps(receipt, JSON_COMPACT);
	if (!str) {
		r = -ENOMEM;
		goto undo;
	}
	len = strlen(str);
	if (len > SPOOL_RECEIPT_MAX) {
		r = -EMSGSIZE;
		goto undo;
	}
	r = fio_write_atomic(path, str, len, 0644);
	if (r == 0) {
		s->v[s->n++] = (struct ent){ .seq = next };
	} else if (keep_in_memory(r)) {
		char *copy = malloc(len + 1);

		if (!copy) {
			r = -ENOMEM;
			goto undo;
		}
		memcpy(copy, str, len + 1);
		s->v[s->n++] = (struct ent){ .seq = next, .json = copy, .len = len };
		s->nmem++;
		r = 1;
	} else {
		goto undo;
	}
	s->last_seq = next;
	if (s->n - s->head > SPOOL_MAX) {
		pop_oldest(s, false);
		s->dropped++;
	}
	/* Failure is survivable: the receipt file itself carries the seq and
	 * spool_open takes the larger of the two; spool_flush retries. */
	(void)write_seq(s);
	if (seq)
		*seq = next;
	if (json)
		*json = str;
	else
		free(str);
	return r;
undo:
	free(str);
	json_object_del(receipt, "seq");
	return r;
}

int spool_ack(struct spool *s, uint64_t seq)
{
	bool sync = false;
	int removed = 0;

	/* The seq file must hold the last seq before the file that is the
	 * only other record of it goes. */
	if (seq >= s->last_seq)
		(void)write_seq(s);
	while (s->head < s->n && s->v[s->head].seq <= seq) {
		bool keep = s->v[s->head].seq == s->last_seq && s->seq_on_disk < s->last_seq;

		/* Kept, that file comes back as pending after a restart and is
		 * resent; the controller ignores the duplicate. */
		sync |= pop_oldest(s, keep);
		removed++;
	}
	if (sync)
		(void)fsync(s->dfd);
	return removed;
}

int spool_foreach(struct spool *s, int (*fn)(uint64_t seq, const char *json, size_t len,
					  void *ud), void *ud)
{
	for (size_t i = s->head; i < s->n; i++) {
		const struct ent *e = &s->v[i];
		char path[PATH_MAX], *buf;
		size_t len;
		int r;

		if (e->json) {
			r = fn(e->seq, e->json, e->len, ud);
		} else {
			if (receipt_path(s, e->seq, path, sizeof(path)) < 0 ||
			    fio_read_all(path, SPOOL_RECEIPT_MAX, &buf, &len) < 0)
				continue; /* checked at open or written by us; gone since */
			r = fn(e->seq, buf, len, ud);
			free(buf);
		}
		if (r)
			return r;
	}
	return 0;
}

size_t spool_pending(const struct spool *s) { return s->n - s->head; }
uint64_t spool_last_seq(const struct spool *s) { return s->last_seq; }
size_t spool_bad(const struct spool *s) { return s->bad; }
uint64_t spool_dropped(const struct spool *s) { return s->dropped; }

size_t spool_flush(struct spool *s)
{
	for (size_t i = s->head; i < s->n && s->nmem; i++) {
		struct ent *e = &s->v[i];
		char path[PATH_MAX];

		if (!e->json)
			continue;
		if (receipt_path(s, e->seq, path, sizeof(path)) < 0 ||
		    fio_write_atomic(path, e->json, e->len, 0644) < 0)
			break; /* still full: keep the order, try again later */
		free(e->json);
		e->json = NULL;
		e->len = 0;
		s->nmem--;
	}
	(void)write_seq(s);
	return s->nmem;
}
