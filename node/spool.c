/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spool.c -- signed receipts on disk until the controller acknowledges them */
#include "spool.h"

#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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
#define FILE_MAX    (WIRE_SMALL_MAX + 1)

struct ent {
	uint64_t seq;
	char *msg;    /* non-NULL: held in memory only, not yet on disk */
	size_t len;
};

struct spool {
	char *dir;
	int dfd;
	char node[WIRE_NODE_MAX + 1];
	const unsigned char *sk;
	struct env_key pub;
	struct reserve *res;
	struct ent *v;          /* pending receipts are v[head..n), by seq */
	size_t head, n, cap;
	size_t nmem;            /* entries with msg != NULL */
	uint64_t last_seq;      /* last seq handed out */
	uint64_t seq_on_disk;   /* what DIR/seq durably says */
	uint64_t acked;         /* what DIR/acked durably says */
	size_t bad, lost;
	uint64_t dropped;
};

/* What a receipt file holds, as spool_open sees it. */
enum found { F_NONE, F_GOOD, F_LEGACY, F_BAD };

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

static int file_path(const struct spool *s, const char *name, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", s->dir, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int receipt_path(const struct spool *s, uint64_t seq, char *buf, size_t len)
{
	char name[NAME_LEN + 1];

	receipt_name(seq, name);
	return file_path(s, name, buf, len);
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
		if (v > (uint64_t)(WIRE_SEQ_MAX - (name[i] - '0')) / 10)
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
		if (v > (uint64_t)(WIRE_SEQ_MAX - (buf[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(buf[i] - '0');
	}
	*out = v;
	return true;
}

/* Write a number file ("seq" or "acked"); *ON_DISK follows. */
static int write_number(struct spool *s, const char *name, uint64_t want, uint64_t *on_disk)
{
	char text[SEQ_TEXT + 1], path[PATH_MAX];
	int fd, r;

	if (*on_disk == want)
		return 0;
	snprintf(text, sizeof(text), "%020llu\n", (unsigned long long)want);
	if ((r = file_path(s, name, path, sizeof(path))) < 0)
		return r;
	r = reserve_write(s->res, path, text, SEQ_TEXT, 0644);
	if (r >= 0) {
		*on_disk = want;
		return 0;
	}
	if (!keep_in_memory(r))
		return r;
	/* No room for a temp file: overwrite the fixed-width number in place.
	 * That needs no new block, and 21 bytes inside one sector do not tear
	 * on the storage we run on; a seq that goes backwards would sign two
	 * receipts with one seq. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return r;
	if (pwrite(fd, text, SEQ_TEXT, 0) != SEQ_TEXT || fdatasync(fd) < 0) {
		close(fd);
		return r;
	}
	close(fd);
	*on_disk = want;
	return 0;
}

static int write_seq(struct spool *s)
{
	return write_number(s, "seq", s->last_seq, &s->seq_on_disk);
}

static int read_number(struct spool *s, const char *name, uint64_t *out, bool *present)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len;
	int r;

	*present = false;
	*out = 0;
	if ((r = file_path(s, name, path, sizeof(path))) < 0)
		return r;
	r = fio_read_all(path, 64, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r == 0 && parse_seq_text(buf, len, out))
		*present = true;
	else if (r != 0 && r != -EFBIG) {
		free(buf);
		return r;
	}
	free(buf);
	return 0;
}

/* Keep what cannot be read: DIR/bad/NAME (or NAME.1, NAME.2, ... when an
 * earlier one is there) for a person to look at; TO gets the name there. */
static int move_bad(struct spool *s, const char *name, char to[NAME_MAX + 16])
{
	struct stat st;
	int r;

	if (mkdirat(s->dfd, "bad", 0750) < 0 && errno != EEXIST)
		return -errno;
	snprintf(to, NAME_MAX + 16, "bad/%s", name);
	for (int i = 1; fstatat(s->dfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0; i++) {
		if (i > 9999)
			return -EEXIST;
		snprintf(to, NAME_MAX + 16, "bad/%s.%d", name, i);
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

	if (e->msg) {
		free(e->msg);
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

uint64_t spool_head(const struct spool *s)
{
	return s->head < s->n ? s->v[s->head].seq : s->last_seq + 1;
}

/* Store the signed MSG as receipt SEQ: on disk, else in memory.
 * \retval 0 / 1 in memory / -errno */
static int store(struct spool *s, uint64_t seq, char *msg, size_t len)
{
	char path[PATH_MAX];
	int r;

	if ((r = receipt_path(s, seq, path, sizeof(path))) < 0 || (r = grow(s)) < 0)
		return r;
	r = reserve_write(s->res, path, msg, len, 0644);
	if (r >= 0) {
		s->v[s->n++] = (struct ent){ .seq = seq };
		free(msg);
		return 0;
	}
	if (!keep_in_memory(r))
		return r;
	s->v[s->n++] = (struct ent){ .seq = seq, .msg = msg, .len = len };
	s->nmem++;
	return 1;
}

/* A good receipt file: signed by this pole, a receipt of this node whose
 * seq is its name. A file of plain JSON from before receipts were signed is
 * F_LEGACY and *JSON holds it. */
static enum found check_file(struct spool *s, const char *name, uint64_t seq, json_t **legacy)
{
	char path[PATH_MAX], *buf = NULL;
	struct receipt rc;
	enum found f = F_BAD;
	size_t len, jl;
	int r;

	*legacy = NULL;
	if (file_path(s, name, path, sizeof(path)) < 0 ||
	    fio_read_all(path, FILE_MAX, &buf, &len) < 0)
		return F_BAD;
	r = env_verify(buf, len, &s->pub, 1, &jl);
	if (r == 0) {
		if (receipt_parse(buf, jl, s->node, &rc, NULL, 0) == 0 && rc.seq == (int64_t)seq)
			f = F_GOOD;
	} else if (r == -EBADMSG && !memchr(buf, '\n', len > 0 ? len - 1 : 0)) {
		json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
		json_t *v = json_object_get(o, "seq");

		if (json_is_object(o) && json_is_integer(v) &&
		    (uint64_t)json_integer_value(v) == seq) {
			*legacy = o;
			o = NULL;
			f = F_LEGACY;
		}
		json_decref(o);
	}
	free(buf);
	return f;
}

/* Sign a pre-signing receipt as it is, with "from" added. \retval 0 / -errno */
static int resign_legacy(struct spool *s, uint64_t seq, uint64_t from, json_t *o)
{
	struct receipt rc;
	char *text, *msg = NULL;
	size_t n, len;
	int r;

	json_object_set_new(o, "from", json_integer((json_int_t)from));
	text = wire_dump(o, &n);
	if (!text)
		return -ENOMEM;
	r = receipt_parse(text, n, s->node, &rc, NULL, 0);
	if (r == 0)
		r = env_sign(text, n, s->sk, &msg, &len);
	free(text);
	if (r < 0)
		return r;
	r = store(s, seq, msg, len);
	if (r < 0)
		free(msg);
	return r < 0 ? r : 0;
}

/* A signed "lost" record for SEQ, made when FROM was the lowest pending seq.
 * \retval 0 / -errno */
static int add_lost(struct spool *s, uint64_t seq, uint64_t from, const char *why)
{
	struct receipt rc;
	char *msg = NULL;
	size_t len;
	int r;

	receipt_init(&rc);
	snprintf(rc.node, sizeof(rc.node), "%s", s->node);
	rc.seq = (int64_t)seq;
	rc.from = (int64_t)(from < seq ? from : seq);
	rc.state = RECEIPT_LOST;
	snprintf(rc.reason, sizeof(rc.reason), "%s", why);
	if ((r = receipt_sign(&rc, s->sk, &msg, &len)) < 0)
		return r;
	r = store(s, seq, msg, len);
	if (r < 0) {
		free(msg);
		return r;
	}
	s->lost++;
	return 0;
}

struct found_ent {
	uint64_t seq;
	enum found f;
	json_t *legacy;
	char bad_as[NAME_MAX + 16];
};

static int cmp_found(const void *a, const void *b)
{
	const struct found_ent *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Every receipt file of DIR: *V (malloc'ed) of *N, by seq; files of
 * acknowledged receipts are removed, unreadable ones moved to bad/. */
static int scan(struct spool *s, struct found_ent **v, size_t *n, uint64_t *max_name)
{
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	*v = NULL;
	*n = 0;
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
		struct found_ent e = { 0 };
		bool ours;

		if (strstr(name, ".tmp.")) {
			/* A write that a crash interrupted: the receipt was never
			 * handed out, so its bytes are not needed. */
			(void)unlinkat(s->dfd, name, 0);
			continue;
		}
		if (!parse_name(name, &e.seq, &ours)) {
			if (ours)
				(void)move_bad(s, name, e.bad_as);
			continue;
		}
		if (e.seq > *max_name)
			*max_name = e.seq;
		if (e.seq <= s->acked) {
			(void)unlinkat(s->dfd, name, 0); /* acked, then a crash */
			continue;
		}
		e.f = check_file(s, name, e.seq, &e.legacy);
		if (e.f == F_BAD && move_bad(s, name, e.bad_as) < 0)
			snprintf(e.bad_as, sizeof(e.bad_as), "%s", name);
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct found_ent *nv = realloc(*v, nc * sizeof(*nv));

			if (!nv) {
				json_decref(e.legacy);
				r = -ENOMEM;
				break;
			}
			*v = nv;
			cap = nc;
		}
		(*v)[(*n)++] = e;
	}
	if (!de && errno)
		r = -errno;
	closedir(d);
	if (*n > 1)
		qsort(*v, *n, sizeof(**v), cmp_found);
	return r;
}

/* Rebuild the pending list from what scan found: every seq after FLOOR up to
 * the last gets its receipt, its re-signed legacy file, or a lost record. */
static int recover(struct spool *s, struct found_ent *v, size_t n, uint64_t floor)
{
	size_t k = 0;
	int r = 0;

	while (k < n && v[k].seq <= floor)
		k++;
	for (uint64_t seq = floor + 1; seq <= s->last_seq && r >= 0; seq++) {
		struct found_ent *e = k < n && v[k].seq == seq ? &v[k++] : NULL;
		char why[RECEIPT_REASON_MAX + 1];

		if (e && e->f == F_GOOD) {
			if ((r = grow(s)) == 0)
				s->v[s->n++] = (struct ent){ .seq = seq };
			continue;
		}
		if (e && e->f == F_LEGACY && resign_legacy(s, seq, floor + 1, e->legacy) == 0)
			continue;
		if (e && e->f == F_LEGACY) {
			char name[NAME_LEN + 1];

			receipt_name(seq, name);
			(void)move_bad(s, name, e->bad_as);
		}
		if (e)
			snprintf(why, sizeof(why), "spool file unreadable, kept as %.200s", e->bad_as);
		else
			snprintf(why, sizeof(why), "not on disk at start: held in memory while "
				 "the disk was full, or removed");
		r = add_lost(s, seq, floor + 1, why);
	}
	return r;
}

struct spool *spool_open(const char *dir, const struct spool_signer *sig, struct reserve *res)
{
	struct spool *s = calloc(1, sizeof(*s));
	struct found_ent *found = NULL;
	uint64_t max_name = 0, seq_file = 0, floor;
	bool has_seq, has_acked;
	size_t nfound = 0;
	int r;

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->dfd = -1;
	if (!sig || !wire_node_id_ok(sig->node) || !sig->sk || !sig->pub) {
		r = -EINVAL;
		goto fail;
	}
	snprintf(s->node, sizeof(s->node), "%s", sig->node);
	s->sk = sig->sk;
	s->pub = *sig->pub;
	s->res = res;
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
	if ((r = read_number(s, "seq", &seq_file, &has_seq)) < 0 ||
	    (r = read_number(s, "acked", &s->acked, &has_acked)) < 0)
		goto fail;
	if (has_seq) {
		s->seq_on_disk = seq_file;
	} else {
		char bad[NAME_MAX + 16];

		if (faccessat(s->dfd, "seq", F_OK, 0) == 0)
			(void)move_bad(s, "seq", bad);
	}
	if ((r = scan(s, &found, &nfound, &max_name)) < 0)
		goto fail;
	s->last_seq = seq_file > max_name ? seq_file : max_name;
	if (s->acked > s->last_seq)
		s->last_seq = s->acked;
	/* Where the pending receipts begin: after the last acknowledged one;
	 * without an ack file (a spool from before it), at the oldest file. */
	if (has_acked)
		floor = s->acked;
	else
		floor = nfound ? found[0].seq - 1 : s->last_seq;
	if (s->last_seq - floor > SPOOL_MAX) {
		s->dropped = s->last_seq - floor - SPOOL_MAX;
		floor = s->last_seq - SPOOL_MAX;
	}
	r = recover(s, found, nfound, floor);
	for (size_t i = 0; i < nfound; i++) {
		json_decref(found[i].legacy);
		if (found[i].seq <= floor && found[i].f != F_BAD) {
			char name[NAME_LEN + 1];

			receipt_name(found[i].seq, name);
			(void)unlinkat(s->dfd, name, 0);
		}
	}
	free(found);
	if (r < 0)
		goto fail;
	/* A crash between a receipt and the seq file, or a lost seq file:
	 * catch the file up now, before acks can remove the evidence. */
	(void)write_seq(s);
	(void)fsync(s->dfd);
	return s;
fail:
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
		free(s->v[i].msg);
	free(s->v);
	if (s->dfd >= 0)
		close(s->dfd);
	free(s->dir);
	free(s);
}

int spool_append(struct spool *s, struct receipt *rc, char **msg, size_t *len)
{
	uint64_t next;
	char *m = NULL, *copy = NULL;
	size_t mlen;
	int r;

	if (s->last_seq >= (uint64_t)WIRE_SEQ_MAX)
		return -EOVERFLOW;
	next = s->last_seq + 1;
	snprintf(rc->node, sizeof(rc->node), "%s", s->node);
	rc->seq = (int64_t)next;
	rc->from = (int64_t)spool_head(s);
	if ((r = receipt_sign(rc, s->sk, &m, &mlen)) < 0)
		return r;
	if (msg && !(copy = malloc(mlen + 1))) {
		free(m);
		return -ENOMEM;
	}
	if (copy)
		memcpy(copy, m, mlen + 1);
	r = store(s, next, m, mlen);
	if (r < 0) {
		free(m);
		free(copy);
		return r;
	}
	s->last_seq = next;
	if (s->n - s->head > SPOOL_MAX) {
		pop_oldest(s, false);
		s->dropped++;
	}
	/* Failure is survivable: the receipt file itself carries the seq and
	 * spool_open takes the larger of the two; spool_flush retries. */
	(void)write_seq(s);
	if (msg) {
		*msg = copy;
		if (len)
			*len = mlen;
	}
	return r;
}

int spool_ack(struct spool *s, uint64_t seq)
{
	bool sync = false, acked_ok;
	int removed = 0;

	if (seq > s->last_seq)
		seq = s->last_seq;
	if (seq <= s->acked && (s->head == s->n || s->v[s->head].seq > seq))
		return 0;
	/* The last seq must be on disk before the file that may be the only
	 * other record of it goes; the acked file is such a record too. */
	if (seq >= s->last_seq)
		(void)write_seq(s);
	acked_ok = seq <= s->acked || write_number(s, "acked", seq, &s->acked) == 0;
	while (s->head < s->n && s->v[s->head].seq <= seq) {
		bool keep = !acked_ok && s->v[s->head].seq == s->last_seq &&
			    s->seq_on_disk < s->last_seq;

		/* Kept, that file comes back as pending after a restart and is
		 * resent; the controller ignores the duplicate. */
		sync |= pop_oldest(s, keep);
		removed++;
	}
	if (sync)
		(void)fsync(s->dfd);
	return removed;
}

int spool_foreach(struct spool *s, int (*fn)(uint64_t seq, const char *msg, size_t len,
					  void *ud), void *ud)
{
	for (size_t i = s->head; i < s->n; i++) {
		const struct ent *e = &s->v[i];
		char path[PATH_MAX], *buf;
		size_t len;
		int r;

		if (e->msg) {
			r = fn(e->seq, e->msg, e->len, ud);
		} else {
			if (receipt_path(s, e->seq, path, sizeof(path)) < 0 ||
			    fio_read_all(path, FILE_MAX, &buf, &len) < 0)
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
size_t spool_lost(const struct spool *s) { return s->lost; }
uint64_t spool_dropped(const struct spool *s) { return s->dropped; }

size_t spool_flush(struct spool *s)
{
	for (size_t i = s->head; i < s->n && s->nmem; i++) {
		struct ent *e = &s->v[i];
		char path[PATH_MAX];

		if (!e->msg)
			continue;
		if (receipt_path(s, e->seq, path, sizeof(path)) < 0 ||
		    reserve_write(s->res, path, e->msg, e->len, 0644) < 0)
			break; /* still full: keep the order, try again later */
		free(e->msg);
		e->msg = NULL;
		e->len = 0;
		s->nmem--;
	}
	(void)write_seq(s);
	return s->nmem;
}
