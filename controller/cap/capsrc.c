/* SPDX-License-Identifier: GPL-2.0-or-later */
/* capsrc.c -- CAP documents from watched directories and from polled HTTP(S) documents, Atom and RSS feeds */
#define _GNU_SOURCE /* strndup, O_CLOEXEC on older libcs */
#include "capsrc.h"

#include "cap.h"
#include "capfeed.h"
#include "capfetch.h"
#include "cxtime.h"
#include "log.h"
#include "vec.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEEN_MAX        10000   /* entry URLs remembered per source; the oldest is forgotten first */
#define MIN_INTERVAL_US 100000  /* only against a busy loop: warnings.c enforces 5 s */

#define CAPSRC_DEFAULT_MAX        CAP_MAX_BYTES
#define CAPSRC_DEFAULT_TIMEOUT_MS 10000L

/* One document to deliver. A file is read only when it is delivered, so
 * that a long queue costs names, not contents, and a file removed
 * meanwhile is skipped. */
struct item {
	struct item *next;
	char *origin;
	char *buf;
	size_t len;
	size_t max;        /* file: its source's limit */
	bool file;
	bool err;
	char why[200];
};

/* A bounded set of strings, forgetting the oldest. */
struct ring {
	char **v;
	size_t n, cap, head;
};

struct entry {
	char *url;
	bool tried;        /* failed since the last poll of its feed */
};

struct usrc {
	char *url;
	int64_t interval_us;
	long timeout_ms;
	size_t max_bytes;
	int64_t due_us;
	char *etag, *lastmod;      /* of the last answer that was taken */
	bool failing;
	struct ring fetched;       /* entry URLs fetched or refused, inline entries delivered */
	struct ring warned;        /* entry URLs whose failure was logged */
	struct entry *pend;        /* entries of the last feed not fetched yet */
	size_t npend;
};

struct dsrc {
	char *dir;
	int wd;
	size_t max_bytes;
};

struct capsrc {
	struct dsrc *d;
	size_t nd;
	struct usrc *u;
	size_t nu;
	int ino;
	int wake;
	struct item *head, **tail;
	CURL *curl;
};

/* ---- global initialisation ---- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	/* Neither is thread-safe; both are idempotent for later callers. */
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
}

/* ---- small helpers ---- */

static bool is_http(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

/* No spaces or control characters: a URL as a server may be asked for it,
 * and safe to put in a log line. */
static bool printable(const char *url)
{
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool ring_has(const struct ring *r, const char *s)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i], s) == 0)
			return true;
	return false;
}

/* Out of memory only costs a second fetch later: nothing to report. */
static void ring_add(struct ring *r, const char *s)
{
	char *dup = strdup(s);

	if (!dup)
		return;
	if (r->n == SEEN_MAX) {
		free(r->v[r->head]);
		r->v[r->head] = dup;
		r->head = (r->head + 1) % SEEN_MAX;
		return;
	}
	if (!vec_grow((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v))) {
		free(dup);
		return;
	}
	r->v[r->n++] = dup;
}

static void ring_free(struct ring *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
}

/* A name that is a document and not a hidden or temporary file. */
static bool name_wanted(const char *name)
{
	static const char *const temp[] = { "~", ".tmp", ".part", ".swp" };
	size_t len = strlen(name);

	if (len == 0 || name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof(temp) / sizeof(temp[0]); i++) {
		size_t k = strlen(temp[i]);

		if (len >= k && strcasecmp(name + len - k, temp[i]) == 0)
			return false;
	}
	return true;
}

/* ---- the queue ---- */

static void item_free(struct item *it)
{
	if (!it)
		return;
	free(it->origin);
	free(it->buf);
	free(it);
}

static struct item *item_new(const char *origin)
{
	struct item *it = calloc(1, sizeof(*it));

	if (!it)
		return NULL;
	it->origin = strdup(origin);
	if (!it->origin) {
		free(it);
		return NULL;
	}
	return it;
}

static void queue_push(struct capsrc *c, struct item *it)
{
	it->next = NULL;
	*c->tail = it;
	c->tail = &it->next;
}

/* Takes BUF (NUL-terminated, LEN bytes) whatever happens. */
static void queue_doc(struct capsrc *c, const char *origin, char *buf, size_t len)
{
	struct item *it = item_new(origin);

	if (!it) {
		log_err("out of memory: document from %s dropped", origin);
		free(buf);
		return;
	}
	it->buf = buf;
	it->len = len;
	queue_push(c, it);
}

static void __attribute__((format(printf, 3, 4)))
queue_error(struct capsrc *c, const char *origin, const char *fmt, ...)
{
	struct item *it = item_new(origin);
	va_list ap;

	if (!it) {
		log_err("out of memory: document from %s dropped", origin);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(it->why, sizeof(it->why), fmt, ap);
	va_end(ap);
	it->err = true;
	queue_push(c, it);
}

static void queue_file(struct capsrc *c, const struct dsrc *d, const char *name)
{
	struct item *it = calloc(1, sizeof(*it));

	if (it && asprintf(&it->origin, "%s/%s", d->dir, name) < 0)
		it->origin = NULL;
	if (!it || !it->origin) {
		log_err("out of memory: %s/%s dropped", d->dir, name);
		free(it);
		return;
	}
	it->file = true;
	it->max = d->max_bytes;
	queue_push(c, it);
}

/* ---- directories ---- */

static int name_filter(const struct dirent *e)
{
	return name_wanted(e->d_name);
}

/* Byte order, whatever the locale. */
static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int scan_dir(struct capsrc *c, const struct dsrc *d)
{
	struct dirent **v;
	int n = scandir(d->dir, &v, name_filter, name_cmp);

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		queue_file(c, d, v[i]->d_name);
		free(v[i]);
	}
	free(v);
	return 0;
}

static void rescan(struct capsrc *c)
{
	for (size_t i = 0; i < c->nd; i++) {
		int r;

		if (c->d[i].wd < 0)
			continue;
		r = scan_dir(c, &c->d[i]);
		if (r < 0)
			log_warn("cannot read %s: %s", c->d[i].dir, strerror(-r));
	}
}

static struct dsrc *dsrc_of(struct capsrc *c, int wd)
{
	for (size_t i = 0; i < c->nd; i++)
		if (c->d[i].wd == wd)
			return &c->d[i];
	return NULL;
}

static void on_event(struct capsrc *c, const struct inotify_event *ev, const char *name)
{
	struct dsrc *d;
	char *path;
	struct stat st;

	if (ev->mask & IN_Q_OVERFLOW) {
		log_warn("too many files at once: rescanning the CAP directories");
		rescan(c);
		return;
	}
	d = dsrc_of(c, ev->wd);
	if (!d)
		return;
	if (ev->mask & IN_IGNORED) {
		log_warn("%s: no longer watched (removed or unmounted); CAP files put there are not seen",
			 d->dir);
		for (size_t i = 0; i < c->nd; i++)
			if (c->d[i].wd == ev->wd)
				c->d[i].wd = -1;
		return;
	}
	if ((ev->mask & IN_ISDIR) || !name || !name_wanted(name))
		return;
	if (ev->mask & IN_CREATE) {
		/* Only a symbolic link is complete when created; a file is
		 * taken when it is closed after writing. */
		if (asprintf(&path, "%s/%s", d->dir, name) < 0)
			return;
		bool link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);

		free(path);
		if (!link)
			return;
	}
	queue_file(c, d, name);
}

static void read_events(struct capsrc *c)
{
	/* inotify(7): a buffer aligned for struct inotify_event. */
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(c->ino, buf, sizeof(buf));
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				log_warn("reading inotify events: %s", strerror(errno));
			return;
		}
		if (n == 0)
			return;
		while ((size_t)n - off >= sizeof(struct inotify_event)) {
			struct inotify_event ev;
			const char *name = NULL;

			memcpy(&ev, buf + off, sizeof(ev));
			off += sizeof(ev);
			if (ev.len > (size_t)n - off)
				break;
			/* The kernel pads the name with NULs; make sure of one. */
			if (ev.len > 0 && memchr(buf + off, '\0', ev.len))
				name = buf + off;
			on_event(c, &ev, name);
			off += ev.len;
		}
	}
}

/* Make *BUF (CAP bytes, LEN used) larger: first SIZE + 2 bytes, then
 * doubling, never past MAX + 2 (the limit, one byte more to notice a file
 * over it, and the NUL). */
static int grow(char **buf, size_t *cap, size_t len, size_t size, size_t max)
{
	size_t n = *cap ? *cap * 2 : size + 2;
	char *b;

	if (n < len + 2)
		n = len + 2;
	if (n > max + 2)
		n = max + 2;
	b = realloc(*buf, n);
	if (!b)
		return -ENOMEM;
	*buf = b;
	*cap = n;
	return 0;
}

/* Read a queued file into OUT. \retval 1 delivered (maybe with an error) / 0 skip it */
static int read_item_file(struct item *it, struct capsrc_doc *out)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd;

	/* stat first: a FIFO or a device is not even opened. A symbolic link
	 * is followed: an operator may link a file in. */
	if (stat(it->origin, &st) < 0) {
		if (errno == ENOENT)
			return 0;               /* gone before it was read: nothing came */
		snprintf(it->why, sizeof(it->why), "cannot read: %s", strerror(errno));
		goto err;
	}
	if (S_ISDIR(st.st_mode))
		return 0;
	if (!S_ISREG(st.st_mode)) {
		log_warn("%s: not a regular file: skipped", it->origin);
		return 0;
	}
	fd = open(it->origin, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(it->why, sizeof(it->why), "cannot open: %s", strerror(errno));
		goto err;
	}
	/* Replaced between stat and open: check what was opened. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		log_warn("%s: not a regular file: skipped", it->origin);
		return 0;
	}
	if ((uint64_t)st.st_size > it->max) {
		close(fd);
		goto too_big;
	}
	/* Read one byte past the limit: the file may grow after fstat. */
	while (len <= it->max) {
		ssize_t n;

		if (len + 1 >= cap && grow(&buf, &cap, len, (size_t)st.st_size, it->max) < 0) {
			close(fd);
			free(buf);
			snprintf(it->why, sizeof(it->why), "out of memory");
			goto err;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(it->why, sizeof(it->why), "cannot read: %s", strerror(errno));
			close(fd);
			free(buf);
			goto err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > it->max) {
		free(buf);
		goto too_big;
	}
	buf[len] = '\0';
	out->buf = buf;
	out->len = len;
	return 1;
too_big:
	snprintf(it->why, sizeof(it->why), "larger than %zu bytes", it->max);
err:
	snprintf(out->why, sizeof(out->why), "%s", it->why);
	out->error = out->why;
	return 1;
}

/* ---- URL sources ---- */

static void source_failed(struct capsrc *c, struct usrc *u, const char *why, bool deliver)
{
	if (u->failing)
		return;
	u->failing = true;
	if (u->interval_us % 1000000)
		log_warn("CAP source %s: %s; retried every %lld ms", u->url, why,
			 (long long)(u->interval_us / 1000));
	else
		log_warn("CAP source %s: %s; retried every %lld s", u->url, why,
			 (long long)(u->interval_us / 1000000));
	/* A document too large is delivered once, as the header promises,
	 * not at every poll. */
	if (deliver)
		queue_error(c, u->url, "%s", why);
}

static void source_ok(struct usrc *u)
{
	if (!u->failing)
		return;
	u->failing = false;
	log_info("CAP source %s: recovered", u->url);
}

static void remember(char **slot, const char *value)
{
	free(*slot);
	*slot = value[0] ? strdup(value) : NULL;
}

static bool pending(const struct entry *v, size_t n, const char *url)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].url, url) == 0)
			return true;
	return false;
}

/* An alert carried inline, as "URL#ID", delivered once per id; without
 * an id as "URL#entry-N", delivered each time the feed changes. */
static void take_inline(struct capsrc *c, struct usrc *u, struct capfeed_entry *fo)
{
	char *origin;

	if (fo->id ? asprintf(&origin, "%s#%s", u->url, fo->id) < 0
		   : asprintf(&origin, "%s#entry-%zu", u->url, fo->pos) < 0) {
		log_err("out of memory: document from %s dropped", u->url);
		return;
	}
	if (fo->id && ring_has(&u->fetched, origin)) {
		free(origin);
		return;
	}
	if (fo->id)
		ring_add(&u->fetched, origin);
	queue_doc(c, origin, fo->doc, fo->len);
	fo->doc = NULL;
	free(origin);
}

/* A new feed document: deliver its new inline alerts; its entries not
 * fetched yet become the pending list (entries gone from it are dropped). */
static void take_entries(struct capsrc *c, struct usrc *u, struct capfeed *ix)
{
	struct entry *pend = calloc(ix->n ? ix->n : 1, sizeof(*pend));
	size_t np = 0;

	if (!pend) {
		log_err("out of memory: CAP source %s not read", u->url);
		return;
	}
	for (size_t i = 0; i < ix->n; i++) {
		struct capfeed_entry *fo = &ix->v[i];

		if (fo->doc) {
			take_inline(c, u, fo);
			continue;
		}
		if (ring_has(&u->fetched, fo->url) || pending(pend, np, fo->url))
			continue;
		if (!is_http(fo->url) || !printable(fo->url)) {
			/* Logged once: remembered as if fetched. */
			log_warn("CAP source %s: entry link %.200s refused: not a plain http or https URL",
				 u->url, printable(fo->url) ? fo->url : "(with spaces or control characters)");
			ring_add(&u->fetched, fo->url);
			continue;
		}
		pend[np++].url = fo->url;
		fo->url = NULL;
	}
	for (size_t i = 0; i < u->npend; i++)
		free(u->pend[i].url);
	free(u->pend);
	u->pend = pend;
	u->npend = np;
}

static void take_body(struct capsrc *c, struct usrc *u, struct capfetch *f)
{
	struct capfeed ix = { 0 };
	char why[200];
	int kind = capfeed_parse(f->buf, f->len, f->eff ? f->eff : u->url, &ix, why, sizeof(why));

	if (kind < 0) {
		source_failed(c, u, why, false);
		goto out;
	}
	source_ok(u);
	/* Validators only of an answer that was taken: after a failure the
	 * next poll asks for the whole document again. */
	remember(&u->etag, f->etag);
	remember(&u->lastmod, f->lastmod);
	if (kind == CAPFEED_ALERT) {
		queue_doc(c, u->url, f->buf, f->len);
		f->buf = NULL;
	} else {
		take_entries(c, u, &ix);
	}
out:
	capfeed_free(&ix);
}

/* \retval 0 / -EINTR woken */
static int poll_source(struct capsrc *c, struct usrc *u, int64_t now)
{
	struct capfetch f;
	int r = capfetch_get(c->curl, c->wake, u->url, u->timeout_ms, u->max_bytes, u->etag, u->lastmod, &f);

	if (r != CAPFETCH_WOKEN) {
		u->due_us = now + u->interval_us;
		/* Entries that failed get another try after each poll. */
		for (size_t i = 0; i < u->npend; i++)
			u->pend[i].tried = false;
	}
	switch (r) {
	case CAPFETCH_NOT_MODIFIED:
		source_ok(u);
		break;
	case CAPFETCH_TOO_BIG:
		source_failed(c, u, f.why, true);
		break;
	case CAPFETCH_FAILED:
		source_failed(c, u, f.why, false);
		break;
	case CAPFETCH_OK:
		take_body(c, u, &f);
		break;
	}
	capfetch_done(&f);
	return r == CAPFETCH_WOKEN ? -EINTR : 0;
}

/* Whether URLs A and B name the same scheme, host and port. */
static bool same_server(const char *a, const char *b)
{
	const char *pa = strstr(a, "://"), *pb = strstr(b, "://");
	size_t na, nb;

	if (!pa || !pb)
		return false;
	na = (size_t)(pa - a) + 3 + strcspn(pa + 3, "/?#");
	nb = (size_t)(pb - b) + 3 + strcspn(pb + 3, "/?#");
	return na == nb && strncasecmp(a, b, na) == 0;
}

/* \retval 0 / -EINTR woken */
static int fetch_entry(struct capsrc *c, struct usrc *u, size_t i)
{
	struct entry *e = &u->pend[i];
	struct capfetch f;
	int r = capfetch_get(c->curl, c->wake, e->url, u->timeout_ms, u->max_bytes, NULL, NULL, &f);

	switch (r) {
	case CAPFETCH_WOKEN:
		capfetch_done(&f);
		return -EINTR;
	case CAPFETCH_OK:
		queue_doc(c, e->url, f.buf, f.len);
		f.buf = NULL;
		break;
	case CAPFETCH_TOO_BIG:
		queue_error(c, e->url, "%s", f.why);
		break;
	default:
		/* Retried after the next poll of the feed; logged once. A
		 * server that did not answer at all is not asked again in
		 * this round: one timeout, not one per entry. */
		if (!ring_has(&u->warned, e->url)) {
			log_warn("CAP source %s: entry %.200s: %s; retried at the next poll",
				 u->url, e->url, f.why);
			ring_add(&u->warned, e->url);
		}
		e->tried = true;
		for (size_t k = 0; f.status == 0 && k < u->npend; k++)
			if (same_server(u->pend[k].url, e->url))
				u->pend[k].tried = true;
		/* To the end of the list: the next round starts with another. */
		struct entry moved = *e;

		memmove(e, e + 1, (u->npend - i - 1) * sizeof(*e));
		u->pend[u->npend - 1] = moved;
		capfetch_done(&f);
		return 0;
	}
	ring_add(&u->fetched, e->url);
	free(e->url);
	memmove(e, e + 1, (u->npend - i - 1) * sizeof(*e));
	u->npend--;
	capfetch_done(&f);
	return 0;
}

/* One fetch if one is due: a pending entry first, then a source.
 * \retval 1 fetched / 0 nothing due / -EINTR woken */
static int fetch_one(struct capsrc *c, int64_t now)
{
	for (size_t s = 0; s < c->nu; s++)
		for (size_t i = 0; i < c->u[s].npend; i++)
			if (!c->u[s].pend[i].tried)
				return fetch_entry(c, &c->u[s], i) < 0 ? -EINTR : 1;
	for (size_t s = 0; s < c->nu; s++)
		if (c->u[s].due_us <= now)
			return poll_source(c, &c->u[s], now) < 0 ? -EINTR : 1;
	return 0;
}

/* ---- the public verbs ---- */

static int add_dir(struct capsrc *c, const struct warn_source *s, char *err, size_t errlen)
{
	struct dsrc *d = &c->d[c->nd];

	d->dir = strdup(s->dir);
	if (!d->dir)
		return -ENOMEM;
	d->max_bytes = s->max_bytes ? s->max_bytes : CAPSRC_DEFAULT_MAX;
	c->nd++;
	/* Watch first, then scan: a file arriving in between is seen twice
	 * rather than never (the caller keeps each message once). */
	d->wd = inotify_add_watch(c->ino, d->dir,
				  IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR);
	if (d->wd < 0) {
		int e = errno;

		snprintf(err, errlen, "cannot watch %s: %s", d->dir, strerror(e));
		return -e;
	}
	int r = scan_dir(c, d);

	if (r < 0)
		snprintf(err, errlen, "cannot read %s: %s", d->dir, strerror(-r));
	return r;
}

static int add_url(struct capsrc *c, const struct warn_source *s, int64_t now, char *err, size_t errlen)
{
	struct usrc *u = &c->u[c->nu];

	if (!s->url || !is_http(s->url) || !printable(s->url)) {
		snprintf(err, errlen, "%s: not an http or https URL", s->url ? s->url : "(none)");
		return -EINVAL;
	}
	u->url = strdup(s->url);
	if (!u->url)
		return -ENOMEM;
	c->nu++;
	u->interval_us = s->interval_ms * 1000 > MIN_INTERVAL_US ? s->interval_ms * 1000 : MIN_INTERVAL_US;
	u->timeout_ms = s->timeout_ms > 0 && s->timeout_ms < LONG_MAX ? (long)s->timeout_ms : CAPSRC_DEFAULT_TIMEOUT_MS;
	u->max_bytes = s->max_bytes ? s->max_bytes : CAPSRC_DEFAULT_MAX;
	u->due_us = now;
	return 0;
}

struct capsrc *capsrc_new(const struct warn_source *src, size_t n, char *err, size_t errlen)
{
	struct capsrc *c = calloc(1, sizeof(*c));
	int64_t now = cx_mono_us();
	int r = -ENOMEM;

	snprintf(err, errlen, "out of memory");
	if (!c)
		goto fail;
	c->ino = c->wake = -1;
	c->tail = &c->head;
	c->d = calloc(n ? n : 1, sizeof(*c->d));
	c->u = calloc(n ? n : 1, sizeof(*c->u));
	if (!c->d || !c->u)
		goto fail;
	pthread_once(&once, global_init);
	if (global_rc != CURLE_OK) {
		snprintf(err, errlen, "cannot initialise libcurl: %s", curl_easy_strerror(global_rc));
		r = -EIO;
		goto fail;
	}
	c->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	c->curl = curl_easy_init();
	if (c->wake < 0 || c->ino < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create %s: %s", c->wake < 0 ? "an eventfd" : "an inotify instance",
			 strerror(errno));
		goto fail;
	}
	if (!c->curl)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		r = src[i].is_url ? add_url(c, &src[i], now, err, errlen) : add_dir(c, &src[i], err, errlen);
		if (r < 0)
			goto fail;
	}
	err[0] = '\0';
	return c;
fail:
	capsrc_free(c);
	errno = -r;
	return NULL;
}

void capsrc_free(struct capsrc *c)
{
	if (!c)
		return;
	while (c->head) {
		struct item *it = c->head;

		c->head = it->next;
		item_free(it);
	}
	for (size_t i = 0; i < c->nd; i++)
		free(c->d[i].dir);
	for (size_t i = 0; i < c->nu; i++) {
		struct usrc *u = &c->u[i];

		free(u->url);
		free(u->etag);
		free(u->lastmod);
		ring_free(&u->fetched);
		ring_free(&u->warned);
		for (size_t k = 0; k < u->npend; k++)
			free(u->pend[k].url);
		free(u->pend);
	}
	free(c->d);
	free(c->u);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	if (c->ino >= 0)
		close(c->ino);
	if (c->wake >= 0)
		close(c->wake);
	free(c);
}

/* The first queued document into OUT. \retval 1 / 0 queue empty */
static int pop(struct capsrc *c, struct capsrc_doc *out)
{
	struct item *it;

	while ((it = c->head)) {
		int r = 1;

		c->head = it->next;
		if (!c->head)
			c->tail = &c->head;
		memset(out, 0, sizeof(*out));
		if (it->file) {
			r = read_item_file(it, out);
		} else if (it->err) {
			snprintf(out->why, sizeof(out->why), "%s", it->why);
			out->error = out->why;
		} else {
			out->buf = it->buf;
			out->len = it->len;
			it->buf = NULL;
		}
		if (r) {
			out->origin = it->origin;
			it->origin = NULL;
		}
		item_free(it);
		if (r)
			return 1;
	}
	return 0;
}

static void drain_wake(struct capsrc *c)
{
	uint64_t v;

	while (read(c->wake, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

static bool woken(struct capsrc *c)
{
	struct pollfd p = { .fd = c->wake, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

int capsrc_next(struct capsrc *c, int timeout_ms, struct capsrc_doc *out)
{
	int64_t now = cx_mono_us();
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : now + (int64_t)timeout_ms * 1000;
	bool fetched = false;

	memset(out, 0, sizeof(*out));
	for (;;) {
		struct pollfd p[2] = { { .fd = c->wake, .events = POLLIN }, { .fd = c->ino, .events = POLLIN } };
		int64_t until = deadline, wait_ms;
		int r;

		if (pop(c, out))
			return 1;
		/* Files dropped in go first, even while feeds are slow. */
		if (c->nd > 0 && c->nu > 0) {
			read_events(c);
			if (pop(c, out))
				return 1;
		}
		now = cx_mono_us();
		/* At most one fetch once the time is up: a caller polling
		 * with timeout 0 still gets the sources read. */
		if (fetched && now >= deadline)
			return 0;
		if (fetched && woken(c)) {
			drain_wake(c);
			return 0;
		}
		r = fetch_one(c, now);
		if (r < 0) {
			drain_wake(c);
			return 0;
		}
		if (r > 0) {
			fetched = true;
			continue;
		}
		for (size_t i = 0; i < c->nu; i++)
			if (c->u[i].due_us < until)
				until = c->u[i].due_us;
		wait_ms = until <= now ? 0 : until == INT64_MAX ? -1 : (until - now + 999) / 1000;
		if (wait_ms > INT_MAX)
			wait_ms = INT_MAX;
		r = poll(p, 2, (int)wait_ms);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0 && (p[0].revents & POLLIN)) {
			drain_wake(c);
			return 0;
		}
		if (r > 0 && (p[1].revents & POLLIN))
			read_events(c);
		if (cx_mono_us() >= deadline && !c->head)
			return 0;
	}
}

void capsrc_doc_free(struct capsrc_doc *d)
{
	if (!d)
		return;
	free(d->origin);
	free(d->buf);
	d->origin = NULL;
	d->buf = NULL;
	d->len = 0;
	d->error = NULL;
}

void capsrc_wake(struct capsrc *c)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is already non-zero, a wake is pending. */
	while (write(c->wake, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}
