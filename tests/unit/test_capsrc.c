/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_capsrc.c -- CAP sources: a watched directory and HTTP documents and feeds over loopback */
#define _GNU_SOURCE /* asprintf */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "capfeed.h"
#include "capsrc.h"
#include "cxtime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CAP_NS "urn:oasis:names:tc:emergency:cap:1.2"

static char dir[64];

/* ---- a small HTTP/1.1 server on loopback ---- */

struct route {
	char path[128];
	int status;
	char headers[512];       /* extra header lines, each ending in \r\n */
	char etag[64];           /* answer 304 to a matching If-None-Match */
	char *body;
};

struct req {
	char method[16];
	char path[256];
	char inm[128];           /* If-None-Match */
	char ims[128];           /* If-Modified-Since */
};

#define NROUTES 32
#define NREQS   512

static struct {
	int fd, port;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct route routes[NROUTES];
	size_t nroutes;
	struct req reqs[NREQS];
	size_t nreqs;
	int active;
	bool stop;
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void route(const char *path, int status, const char *etag, const char *headers, const char *body)
{
	struct route *r = NULL;

	pthread_mutex_lock(&srv.mu);
	for (size_t i = 0; i < srv.nroutes; i++)
		if (strcmp(srv.routes[i].path, path) == 0)
			r = &srv.routes[i];
	if (!r) {
		assert_true(srv.nroutes < NROUTES);
		r = &srv.routes[srv.nroutes++];
		memset(r, 0, sizeof(*r));
	}
	free(r->body);
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->status = status;
	snprintf(r->etag, sizeof(r->etag), "%s", etag ? etag : "");
	snprintf(r->headers, sizeof(r->headers), "%s", headers ? headers : "");
	r->body = strdup(body ? body : "");
	pthread_mutex_unlock(&srv.mu);
}

static size_t hits(const char *path)
{
	size_t n = 0;

	pthread_mutex_lock(&srv.mu);
	for (size_t i = 0; i < srv.nreqs; i++)
		if (strcmp(srv.reqs[i].path, path) == 0)
			n++;
	pthread_mutex_unlock(&srv.mu);
	return n;
}

/* The Kth (0-based) request for PATH, copied. */
static struct req request(const char *path, size_t k)
{
	struct req r = { 0 };

	pthread_mutex_lock(&srv.mu);
	for (size_t i = 0; i < srv.nreqs; i++)
		if (strcmp(srv.reqs[i].path, path) == 0 && k-- == 0) {
			r = srv.reqs[i];
			break;
		}
	pthread_mutex_unlock(&srv.mu);
	return r;
}

static char *url(const char *path)
{
	char *s;

	assert_true(asprintf(&s, "http://127.0.0.1:%d%s", srv.port, path) > 0);
	return s;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

static void header_copy(const char *head, const char *name, char *out, size_t size)
{
	const char *p = head;
	size_t k = strlen(name);

	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (strncasecmp(p, name, k) == 0 && p[k] == ':') {
			p += k + 1;
			while (*p == ' ')
				p++;
			snprintf(out, size, "%.*s", (int)strcspn(p, "\r\n"), p);
			return;
		}
	}
}

/* Waits until the client goes away, at most 10 s: longer than any timeout. */
static void stall(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b[256];

	for (int i = 0; i < 100; i++)
		if (poll(&p, 1, 100) > 0 && recv(fd, b, sizeof(b), 0) <= 0)
			return;
}

/* Streams 4 MiB, with or without announcing its length. */
static void huge(int fd, bool announce)
{
	char head[256], chunk[8192];

	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/cap+xml\r\n%s"
		 "Connection: close\r\n\r\n", announce ? "Content-Length: 4194304\r\n" : "");
	send_all(fd, head, strlen(head));
	memset(chunk, 'x', sizeof(chunk));
	memcpy(chunk, "<alert>", 7);
	for (int i = 0; i < 512; i++)
		if (send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) <= 0)
			return;
}

static void answer(int fd, const struct req *rq)
{
	char head[1024], *body = NULL;
	struct route r = { .status = 404 };

	pthread_mutex_lock(&srv.mu);
	for (size_t i = 0; i < srv.nroutes; i++)
		if (strcmp(srv.routes[i].path, rq->path) == 0) {
			r = srv.routes[i];
			body = strdup(r.body);
		}
	pthread_mutex_unlock(&srv.mu);
	if (r.etag[0] && strcmp(r.etag, rq->inm) == 0)
		r.status = 304;
	if (r.status == 304 || !body) {
		free(body);
		body = strdup("");
	}
	snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s%s%s%s\r\n",
		 r.status, strlen(body), r.etag[0] ? "ETag: " : "", r.etag, r.etag[0] ? "\r\n" : "", r.headers);
	send_all(fd, head, strlen(head));
	send_all(fd, body, strlen(body));
	free(body);
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char head[8192];
	size_t n = 0;
	struct req rq = { 0 };

	while (n < sizeof(head) - 1) {
		ssize_t k = recv(fd, head + n, sizeof(head) - 1 - n, 0);

		if (k <= 0)
			break;
		n += (size_t)k;
		head[n] = '\0';
		if (strstr(head, "\r\n\r\n"))
			break;
	}
	head[n] = '\0';
	if (sscanf(head, "%15s %255s", rq.method, rq.path) == 2) {
		header_copy(head, "If-None-Match", rq.inm, sizeof(rq.inm));
		header_copy(head, "If-Modified-Since", rq.ims, sizeof(rq.ims));
		pthread_mutex_lock(&srv.mu);
		if (srv.nreqs < NREQS)
			srv.reqs[srv.nreqs++] = rq;
		pthread_mutex_unlock(&srv.mu);
		if (strncmp(rq.path, "/stall", 6) == 0)
			stall(fd);
		else if (strncmp(rq.path, "/huge", 5) == 0)
			huge(fd, strcmp(rq.path, "/huge-announced") == 0);
		else
			answer(fd, &rq);
	}
	close(fd);
	pthread_mutex_lock(&srv.mu);
	srv.active--;
	pthread_cond_broadcast(&srv.cv);
	pthread_mutex_unlock(&srv.mu);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct pollfd p = { .fd = srv.fd, .events = POLLIN };

	for (;;) {
		pthread_t th;
		int fd;

		pthread_mutex_lock(&srv.mu);
		bool stop = srv.stop;
		pthread_mutex_unlock(&srv.mu);
		if (stop)
			return NULL;
		if (poll(&p, 1, 50) <= 0)
			continue;
		fd = accept(srv.fd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&srv.mu);
		srv.active++;
		pthread_mutex_unlock(&srv.mu);
		if (pthread_create(&th, NULL, conn_main, (void *)(intptr_t)fd) != 0) {
			close(fd);
			pthread_mutex_lock(&srv.mu);
			srv.active--;
			pthread_mutex_unlock(&srv.mu);
			continue;
		}
		pthread_detach(th);
	}
}

static void server_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	srv.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(srv.fd >= 0);
	assert_int_equal(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(srv.fd, 64), 0);
	assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&a, &len), 0);
	srv.port = ntohs(a.sin_port);
	srv.stop = false;
	assert_int_equal(pthread_create(&srv.th, NULL, accept_main, NULL), 0);
}

static void server_stop(void)
{
	pthread_mutex_lock(&srv.mu);
	srv.stop = true;
	pthread_mutex_unlock(&srv.mu);
	pthread_join(srv.th, NULL);
	close(srv.fd);
	pthread_mutex_lock(&srv.mu);
	while (srv.active > 0)
		pthread_cond_wait(&srv.cv, &srv.mu);
	for (size_t i = 0; i < srv.nroutes; i++)
		free(srv.routes[i].body);
	srv.nroutes = 0;
	srv.nreqs = 0;
	pthread_mutex_unlock(&srv.mu);
}

/* ---- fixtures and helpers ---- */

static int setup(void **state)
{
	strcpy(dir, "/tmp/test_capsrc.XXXXXX");
	assert_non_null(mkdtemp(dir));
	server_start();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	server_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void put(const char *name, const char *text)
{
	char *path;
	FILE *f;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static struct warn_source dsrc(const char *d, size_t max)
{
	return (struct warn_source){ .dir = d, .max_bytes = max };
}

static struct warn_source usrc(const char *u, int64_t timeout_ms, size_t max)
{
	return (struct warn_source){ .is_url = true, .url = u, .interval_ms = 200,
				     .timeout_ms = timeout_ms, .max_bytes = max };
}

static struct capsrc *open1(struct warn_source s)
{
	char err[256];
	struct capsrc *c = capsrc_new(&s, 1, err, sizeof(err));

	if (!c)
		fail_msg("capsrc_new: %s", err);
	return c;
}

/* The next document within MS. \retval true D holds it */
static bool next_within(struct capsrc *c, int ms, struct capsrc_doc *d)
{
	int64_t end = cx_mono_us() + (int64_t)ms * 1000;

	for (;;) {
		int64_t left = (end - cx_mono_us()) / 1000;
		int r = capsrc_next(c, left > 0 ? (int)left : 0, d);

		assert_true(r >= 0);
		if (r == 1)
			return true;
		if (left <= 0)
			return false;
	}
}

static void expect_doc(struct capsrc *c, const char *origin, const char *body)
{
	struct capsrc_doc d;

	if (!next_within(c, 3000, &d))
		fail_msg("no document from %s", origin);
	assert_string_equal(d.origin, origin);
	if (d.error)
		fail_msg("%s: %s", d.origin, d.error);
	assert_non_null(d.buf);
	assert_int_equal(d.len, strlen(body));
	assert_string_equal(d.buf, body);
	capsrc_doc_free(&d);
}

static void expect_nothing(struct capsrc *c, int ms)
{
	struct capsrc_doc d;

	if (next_within(c, ms, &d))
		fail_msg("unexpected document from %s (%s)", d.origin, d.error ? d.error : "no error");
}

static void expect_error(struct capsrc *c, const char *origin, const char *error)
{
	struct capsrc_doc d;

	assert_true(next_within(c, 3000, &d));
	assert_string_equal(d.origin, origin);
	assert_non_null(d.error);
	assert_string_equal(d.error, error);
	assert_null(d.buf);
	assert_int_equal(d.len, 0);
	capsrc_doc_free(&d);
}

static char *dpath(const char *name)
{
	char *s;

	assert_true(asprintf(&s, "%s/%s", dir, name) > 0);
	return s;
}

/* ---- directories ---- */

static void test_dir_initial_in_name_order(void **state)
{
	char *a = dpath("a.xml"), *b = dpath("b.xml"), *z = dpath("Z"), *sub = dpath("sub");
	struct capsrc *c;

	put("b.xml", "B");
	put("a.xml", "A");
	put("Z", "z");                /* 'Z' sorts before 'a' in byte order */
	put(".hidden.xml", "H");
	put("x.xml.tmp", "T");
	put("y.xml~", "Y");
	put("w.part", "P");
	put(".x.swp", "S");
	assert_int_equal(mkdir(sub, 0755), 0);
	c = open1(dsrc(dir, 1000));
	expect_doc(c, z, "z");
	expect_doc(c, a, "A");
	expect_doc(c, b, "B");
	expect_nothing(c, 200);
	capsrc_free(c);
	free(a), free(b), free(z), free(sub);
}

static void test_dir_new_file_once(void **state)
{
	char *tmp = dpath("n.xml.tmp"), *fin = dpath("n.xml"), *w = dpath("w.xml");
	char *l = dpath("l.xml"), *target;
	struct capsrc *c = open1(dsrc(dir, 1000));

	expect_nothing(c, 100);
	put("n.xml.tmp", "NEW");
	expect_nothing(c, 200);       /* a temporary name is not read */
	assert_int_equal(rename(tmp, fin), 0);
	expect_doc(c, fin, "NEW");
	expect_nothing(c, 300);       /* once */
	put("w.xml", "WRITTEN");      /* written in place: taken when closed */
	expect_doc(c, w, "WRITTEN");
	expect_nothing(c, 200);
	/* An operator links a file in: followed. */
	assert_true(asprintf(&target, "%s/../%s-target", dir, strrchr(dir, '/') + 1) > 0);
	{
		FILE *f = fopen(target, "w");

		assert_non_null(f);
		fputs("LINKED", f);
		fclose(f);
	}
	assert_int_equal(symlink(target, l), 0);
	expect_doc(c, l, "LINKED");
	expect_nothing(c, 200);
	capsrc_free(c);
	unlink(target);
	free(tmp), free(fin), free(w), free(l), free(target);
}

static void test_dir_fifo_and_hidden_do_not_block(void **state)
{
	char *fifo = dpath("f.xml"), *fifo2 = dpath("g.xml"), *link = dpath("h.xml");
	char *z = dpath("z.xml");
	struct capsrc *c;
	int64_t t0;

	assert_int_equal(mkfifo(fifo, 0644), 0);
	c = open1(dsrc(dir, 1000));
	t0 = cx_mono_us();
	expect_nothing(c, 200);
	assert_int_equal(mkfifo(fifo2, 0644), 0);
	assert_int_equal(symlink(fifo, link), 0);   /* a link to a FIFO: refused too */
	put(".hidden", "H");
	put("z.xml", "Z");
	expect_doc(c, z, "Z");
	expect_nothing(c, 200);
	assert_true(cx_mono_us() - t0 < 2000000);
	capsrc_free(c);
	free(fifo), free(fifo2), free(link), free(z);
}

static void test_dir_file_too_large(void **state)
{
	char *big = dpath("big.xml"), *fit = dpath("fit.xml"), *late = dpath("late.xml");
	char text[102];
	struct capsrc *c;

	memset(text, 'x', 101);
	text[101] = '\0';
	put("big.xml", text);
	text[100] = '\0';
	put("fit.xml", text);
	c = open1(dsrc(dir, 100));
	expect_error(c, big, "larger than 100 bytes");
	expect_doc(c, fit, text);
	text[100] = 'x';
	put("late.xml", text);
	expect_error(c, late, "larger than 100 bytes");
	capsrc_free(c);
	free(big), free(fit), free(late);
}

static void test_dir_file_gone_before_read(void **state)
{
	char *a = dpath("a.xml"), *b = dpath("b.xml");
	struct capsrc *c;

	put("a.xml", "A");
	put("b.xml", "B");
	c = open1(dsrc(dir, 100));
	assert_int_equal(unlink(a), 0);     /* queued by name, gone when read */
	expect_doc(c, b, "B");
	expect_nothing(c, 100);
	capsrc_free(c);
	free(a), free(b);
}

static void test_dir_missing(void **state)
{
	char *missing = dpath("nope");
	struct warn_source s[2] = { dsrc(dir, 100), dsrc(missing, 100) };
	char err[256];

	errno = 0;
	assert_null(capsrc_new(s, 2, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, missing));
	assert_non_null(strstr(err, "No such file or directory"));
	free(missing);
}

static void test_url_not_http(void **state)
{
	struct warn_source s = usrc("file:///etc/passwd", 1000, 1000);
	char err[256];

	assert_null(capsrc_new(&s, 1, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "file:///etc/passwd"));
}

/* ---- URL: a CAP document ---- */

static const char alert1[] =
	"<?xml version=\"1.0\"?>\n<alert xmlns=\"" CAP_NS "\"><identifier>a1</identifier></alert>\n";

static void test_url_cap_conditional(void **state)
{
	char *u = url("/cap.xml");
	struct capsrc *c;
	struct req r;

	route("/cap.xml", 200, "\"v1\"", "Last-Modified: Tue, 01 Dec 2026 07:30:00 GMT\r\n", alert1);
	c = open1(usrc(u, 1000, 10000));
	expect_doc(c, u, alert1);
	r = request("/cap.xml", 0);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.inm, "");
	expect_nothing(c, 500);       /* two more polls, both 304 */
	assert_true(hits("/cap.xml") >= 2);
	r = request("/cap.xml", 1);
	assert_string_equal(r.inm, "\"v1\"");
	assert_string_equal(r.ims, "Tue, 01 Dec 2026 07:30:00 GMT");
	/* Changed: delivered again (the caller dedupes by identifier). */
	route("/cap.xml", 200, "\"v2\"", NULL, alert1);
	expect_doc(c, u, alert1);
	capsrc_free(c);
	free(u);
}

/* ---- URL: Atom ---- */

static char *atom(const char *id, const char *entries)
{
	char *s;

	assert_true(asprintf(&s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			     "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:cap=\"" CAP_NS "\">\n"
			     "<id>%s</id><title>t</title>%s</feed>\n", id, entries) > 0);
	return s;
}

static void test_atom_entries_fetched_once(void **state)
{
	char *u = url("/feed/index.atom"), *e1 = url("/e/1.xml"), *e2 = url("/feed/e/2.xml"), *e3 = url("/e/3.xml");
	char *entries, *f;
	struct capsrc *c;

	assert_true(asprintf(&entries,
			     "<entry><id>1</id><link href=\"%s\"/></entry>\n"
			     "<entry><id>2</id><link rel=\"alternate\" type=\"text/html\" href=\"/page.html\"/>"
			     "<link rel=\"related\" type=\"application/cap+xml; charset=utf-8\" href=\"e/2.xml\"/></entry>\n",
			     e1) > 0);
	f = atom("feed", entries);
	route("/feed/index.atom", 200, "\"f1\"", NULL, f);
	route("/e/1.xml", 200, NULL, NULL, "ONE");
	route("/feed/e/2.xml", 200, NULL, NULL, "TWO");
	route("/e/3.xml", 200, NULL, NULL, "THREE");
	c = open1(usrc(u, 1000, 10000));
	expect_doc(c, e1, "ONE");
	expect_doc(c, e2, "TWO");      /* relative, resolved against the feed's URL */
	expect_nothing(c, 300);
	free(f);
	free(entries);
	/* A new version: the same two entries and a third. */
	assert_true(asprintf(&entries,
			     "<entry><id>3</id><link href=\"/e/3.xml\"/></entry>\n"
			     "<entry><id>1</id><link href=\"%s\"/></entry>\n"
			     "<entry><id>2</id><link type=\"application/cap+xml\" href=\"e/2.xml\"/></entry>\n",
			     e1) > 0);
	f = atom("feed", entries);
	route("/feed/index.atom", 200, "\"f2\"", NULL, f);
	expect_doc(c, e3, "THREE");
	expect_nothing(c, 500);
	assert_int_equal(hits("/e/1.xml"), 1);
	assert_int_equal(hits("/feed/e/2.xml"), 1);
	assert_int_equal(hits("/e/3.xml"), 1);
	assert_int_equal(hits("/page.html"), 0);
	assert_true(hits("/feed/index.atom") >= 3);
	capsrc_free(c);
	free(f), free(entries), free(u), free(e1), free(e2), free(e3);
}

static void test_atom_inline_alert(void **state)
{
	char *u = url("/inline.atom"), *origin;
	char *f = atom("inl",
		       "<entry><id>urn:x:1</id><title>t</title><content type=\"application/cap+xml\">"
		       "<cap:alert><cap:identifier>in1</cap:identifier><cap:sender>s@x</cap:sender></cap:alert>"
		       "</content></entry>");
	struct capsrc *c;
	struct capsrc_doc d;
	xmlDoc *doc;
	xmlNode *root;

	route("/inline.atom", 200, "\"i1\"", NULL, f);
	c = open1(usrc(u, 1000, 10000));
	assert_true(next_within(c, 3000, &d));
	assert_true(asprintf(&origin, "%s#urn:x:1", u) > 0);
	assert_string_equal(d.origin, origin);
	assert_null(d.error);
	/* A document of its own: the namespace declared on the feed came along. */
	doc = xmlReadMemory(d.buf, (int)d.len, NULL, NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	root = xmlDocGetRootElement(doc);
	assert_string_equal((const char *)root->name, "alert");
	assert_non_null(root->ns);
	assert_string_equal((const char *)root->ns->href, CAP_NS);
	assert_non_null(strstr(d.buf, "in1"));
	xmlFreeDoc(doc);
	capsrc_doc_free(&d);
	/* The feed changes; the inline entry is not delivered twice. */
	route("/inline.atom", 200, "\"i2\"", NULL, f);
	expect_nothing(c, 500);
	assert_true(hits("/inline.atom") >= 2);
	capsrc_free(c);
	free(f), free(u), free(origin);
}

static void test_rss_item_link(void **state)
{
	char *u = url("/rss.xml"), *e = url("/r/1.xml"), *e2 = url("/r/2.xml"), *f;
	struct capsrc *c;

	assert_true(asprintf(&f, "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>"
			     "<item><title>a</title><link>\n  %s\n</link></item>"
			     "<item><title>b</title><link>http://example.invalid/page</link>"
			     "<enclosure url=\"/r/2.xml\" type=\"application/common-alerting-protocol+xml\" length=\"1\"/>"
			     "</item></channel></rss>", e) > 0);
	route("/rss.xml", 200, "\"r1\"", NULL, f);
	route("/r/1.xml", 200, NULL, NULL, "R1");
	route("/r/2.xml", 200, NULL, NULL, "R2");
	c = open1(usrc(u, 1000, 10000));
	expect_doc(c, e, "R1");
	expect_doc(c, e2, "R2");       /* the enclosure typed as CAP, not the link */
	expect_nothing(c, 300);
	assert_int_equal(hits("/r/1.xml"), 1);
	capsrc_free(c);
	free(f), free(u), free(e), free(e2);
}

/* ---- failures ---- */

/* Run FN with stderr in a file; return what was logged. */
static char *logged(void (*fn)(void))
{
	char path[] = "/tmp/test_capsrc.log.XXXXXX", *s;
	int fd = mkstemp(path), saved = dup(2);
	FILE *f;
	long n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fdopen(fd, "r");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	fputs(s, stderr);
	return s;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s++;
	}
	return n;
}

static void run_500(void)
{
	char *u = url("/bad.xml");
	struct capsrc *c;

	route("/bad.xml", 500, NULL, NULL, "oops");
	c = open1(usrc(u, 1000, 10000));
	expect_nothing(c, 700);
	assert_true(hits("/bad.xml") >= 3);      /* retried at the interval */
	route("/bad.xml", 200, NULL, NULL, alert1);
	expect_doc(c, u, alert1);
	capsrc_free(c);
	free(u);
}

static void test_http_500_logged_once_and_retried(void **state)
{
	char *log = logged(run_500);

	assert_int_equal(count(log, "HTTP status 500"), 1);
	assert_int_equal(count(log, "/bad.xml: recovered"), 1);
	free(log);
}

static void run_not_cap(void)
{
	char *h = url("/page.html"), *d = url("/dtd.xml"), *j = url("/x.json");
	struct warn_source s[3] = { usrc(h, 1000, 10000), usrc(d, 1000, 10000), usrc(j, 1000, 10000) };
	char err[256];
	struct capsrc *c;

	route("/page.html", 200, NULL, NULL, "<!DOCTYPE html><html><body>hi</body></html>");
	route("/dtd.xml", 200, NULL, NULL,
	      "<?xml version=\"1.0\"?><!DOCTYPE alert [<!ENTITY x \"y\">]><alert>&x;</alert>");
	route("/x.json", 200, NULL, NULL, "{\"alert\": 1}");
	c = capsrc_new(s, 3, err, sizeof(err));
	assert_non_null(c);
	expect_nothing(c, 500);
	capsrc_free(c);
	free(h), free(d), free(j);
}

static void test_not_cap_is_a_failure(void **state)
{
	char *log = logged(run_not_cap);

	assert_int_equal(count(log, "/page.html: a document with a DTD is refused"), 1);
	assert_int_equal(count(log, "/dtd.xml: a document with a DTD is refused"), 1);
	assert_int_equal(count(log, "/x.json: not XML"), 1);
	free(log);
}

static void test_stall_bounded_by_timeout(void **state)
{
	char *u = url("/stall");
	struct capsrc *c = open1(usrc(u, 300, 10000));
	struct capsrc_doc d;
	int64_t t0 = cx_mono_us();

	assert_int_equal(capsrc_next(c, 100, &d), 0);
	assert_true(cx_mono_us() - t0 < 1300000);
	assert_true(cx_mono_us() - t0 >= 250000);
	assert_int_equal(hits("/stall"), 1);
	capsrc_free(c);
	free(u);
}

static void test_huge_body_aborted(void **state)
{
	char *u = url("/huge"), *ua = url("/huge-announced"), *fu = url("/hfeed.atom"), *f;
	struct warn_source s[3] = { usrc(u, 3000, 10000), usrc(ua, 3000, 10000), usrc(fu, 3000, 10000) };
	char err[256];
	struct capsrc *c;

	f = atom("h", "<entry><id>h</id><link href=\"/huge?entry\"/></entry>");
	route("/hfeed.atom", 200, NULL, NULL, f);
	c = capsrc_new(s, 3, err, sizeof(err));
	assert_non_null(c);
	expect_error(c, u, "larger than 10000 bytes");
	expect_error(c, ua, "larger than 10000 bytes");
	free(u);
	u = url("/huge?entry");
	expect_error(c, u, "larger than 10000 bytes");
	/* Once: the source keeps failing, the entry is not fetched again. */
	expect_nothing(c, 600);
	assert_int_equal(hits("/huge?entry"), 1);
	capsrc_free(c);
	free(u), free(ua), free(fu), free(f);
}

static void run_file_link(void)
{
	char *u = url("/evil.atom"), *ok = url("/ok.xml"), *f;
	struct capsrc *c;

	f = atom("evil", "<entry><id>1</id><link href=\"file:///etc/passwd\"/></entry>"
		 "<entry><id>2</id><link href=\"ftp://127.0.0.1/x\"/></entry>"
		 "<entry><id>3</id><link href=\"/redirect\"/></entry>"
		 "<entry><id>5</id><link href=\"/x&#10;y\"/></entry>"
		 "<entry><id>4</id><link href=\"/ok.xml\"/></entry>");
	route("/evil.atom", 200, NULL, NULL, f);
	route("/redirect", 302, NULL, "Location: file:///etc/passwd\r\n", "");
	route("/ok.xml", 200, NULL, NULL, "OK");
	c = open1(usrc(u, 1000, 10000));
	expect_doc(c, ok, "OK");
	expect_nothing(c, 500);
	assert_true(hits("/redirect") >= 1);   /* asked, the redirect not followed */
	assert_int_equal(hits("/ok.xml"), 1);
	capsrc_free(c);
	free(u), free(ok), free(f);
}

static void test_entry_file_link_refused(void **state)
{
	char *log = logged(run_file_link);

	assert_int_equal(count(log, "entry link file:///etc/passwd refused: not a plain http or https URL"), 1);
	assert_int_equal(count(log, "entry link ftp://127.0.0.1/x refused"), 1);
	assert_int_equal(count(log, "/redirect: Protocol \"file\" not supported"), 1);
	assert_int_equal(count(log, "/ok.xml:"), 0);
	free(log);
}

static void test_entry_failure_retried(void **state)
{
	char *u = url("/retry.atom"), *e = url("/flaky.xml"), *f;
	struct capsrc *c;

	f = atom("r", "<entry><id>1</id><link href=\"/flaky.xml\"/></entry>");
	/* The feed answers 304 after the first poll: the entry that failed is
	 * retried anyway. */
	route("/retry.atom", 200, "\"same\"", NULL, f);
	route("/flaky.xml", 503, NULL, NULL, "");
	c = open1(usrc(u, 1000, 10000));
	expect_nothing(c, 500);
	assert_true(hits("/flaky.xml") >= 2);
	route("/flaky.xml", 200, NULL, NULL, "FINALLY");
	expect_doc(c, e, "FINALLY");
	expect_nothing(c, 300);
	capsrc_free(c);
	free(u), free(e), free(f);
}

/* An entry whose server hangs costs one timeout per round, and does not
 * keep the other entries from being fetched. */
static void test_entry_stall_does_not_starve_others(void **state)
{
	char *u = url("/slow.atom"), *ok = url("/s/ok.xml"), *f;
	struct capsrc *c;
	struct capsrc_doc d;

	f = atom("s", "<entry><id>1</id><link href=\"/stall?a\"/></entry>"
		 "<entry><id>2</id><link href=\"/stall?b\"/></entry>"
		 "<entry><id>3</id><link href=\"/s/ok.xml\"/></entry>");
	route("/slow.atom", 200, "\"s\"", NULL, f);
	route("/s/ok.xml", 200, NULL, NULL, "OK");
	c = open1(usrc(u, 300, 10000));
	/* First round: /stall?a times out, the rest of the server waits. */
	assert_int_equal(capsrc_next(c, 0, &d), 0);   /* the feed */
	assert_int_equal(capsrc_next(c, 0, &d), 0);   /* /stall?a, 300 ms */
	assert_int_equal(hits("/stall?a"), 1);
	assert_int_equal(hits("/stall?b"), 0);
	assert_int_equal(hits("/s/ok.xml"), 0);
	/* Next rounds start elsewhere: ok.xml comes after at most one more timeout. */
	expect_doc(c, ok, "OK");
	assert_int_equal(hits("/s/ok.xml"), 1);
	assert_true(hits("/stall?a") + hits("/stall?b") <= 3);
	capsrc_free(c);
	free(u), free(ok), free(f);
}

/* ---- the feed reader alone ---- */

static int parse(const char *doc, struct capfeed *f, char *why)
{
	memset(f, 0, sizeof(*f));
	return capfeed_parse(doc, strlen(doc), "http://h.example/a/feed.xml", f, why, 200);
}

static void test_capfeed_choices(void **state)
{
	struct capfeed f;
	char why[200], *many;
	size_t n = 0;

	/* Inline first, then a CAP-typed link, then alternate / no rel;
	 * an entry with only rel="self" or no link yields nothing. */
	assert_int_equal(parse("<feed xmlns='http://www.w3.org/2005/Atom' xml:base='http://b.example/x/'>"
			       "<entry><link rel='self' href='self.xml'/></entry>"
			       "<entry><id>i</id><link type='application/cap+xml' href='c.xml'/>"
			       "<content><alert xmlns='" CAP_NS "'/></content></entry>"
			       "<entry><link rel='alternate' href='alt.html'/>"
			       "<link rel='enclosure' type='application/common-alerting-protocol+xml' href='/cap/2'/></entry>"
			       "<entry><link href='../plain'/></entry>"
			       "<entry><title>none</title></entry>"
			       "</feed>", &f, why), CAPFEED_FEED);
	assert_int_equal(f.n, 3);
	assert_null(f.v[0].url);
	assert_string_equal(f.v[0].id, "i");
	assert_int_equal(f.v[0].pos, 2);
	assert_non_null(strstr(f.v[0].doc, "<alert xmlns=\"" CAP_NS "\"/>"));
	assert_string_equal(f.v[1].url, "http://b.example/cap/2");   /* xml:base */
	assert_string_equal(f.v[2].url, "http://b.example/plain");
	capfeed_free(&f);

	/* RSS: a typed enclosure, else the link, else any enclosure. */
	assert_int_equal(parse("<rss version='2.0'><channel>"
			       "<item><link>l1</link><enclosure url='e1' type='application/cap+xml'/></item>"
			       "<item><link> /l2 </link><enclosure url='e2' type='audio/mpeg'/></item>"
			       "<item><enclosure url='e3'/></item>"
			       "<item><title>nothing</title></item>"
			       "</channel></rss>", &f, why), CAPFEED_FEED);
	assert_int_equal(f.n, 3);
	assert_string_equal(f.v[0].url, "http://h.example/a/e1");
	assert_string_equal(f.v[1].url, "http://h.example/l2");
	assert_string_equal(f.v[2].url, "http://h.example/a/e3");
	capfeed_free(&f);

	/* A CAP alert in any namespace is passed on; anything else is not. */
	assert_int_equal(parse("<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'/>", &f, why), CAPFEED_ALERT);
	capfeed_free(&f);
	assert_int_equal(parse("<feed><entry/></feed>", &f, why), -1);   /* not Atom's namespace */
	assert_non_null(strstr(why, "root element <feed>"));
	capfeed_free(&f);
	assert_int_equal(parse("", &f, why), -1);
	assert_non_null(strstr(why, "not XML"));
	capfeed_free(&f);
	assert_int_equal(parse("<!DOCTYPE rss SYSTEM 'http://h.example/rss.dtd'><rss/>", &f, why), -1);
	assert_string_equal(why, "a document with a DTD is refused");
	capfeed_free(&f);

	/* At most CAPFEED_MAX_ENTRIES entries. */
	many = calloc(CAPFEED_MAX_ENTRIES + 10, 40);
	assert_non_null(many);
	n = (size_t)sprintf(many, "<rss><channel>");
	for (int i = 0; i < CAPFEED_MAX_ENTRIES + 5; i++)
		n += (size_t)sprintf(many + n, "<item><link>/%d</link></item>", i);
	strcpy(many + n, "</channel></rss>");
	assert_int_equal(parse(many, &f, why), CAPFEED_FEED);
	assert_int_equal(f.n, CAPFEED_MAX_ENTRIES);
	capfeed_free(&f);
	free(many);
}

/* ---- waking ---- */

static void *waker(void *arg)
{
	usleep(300000);
	capsrc_wake(arg);
	return NULL;
}

static void test_wake_from_another_thread(void **state)
{
	struct capsrc *c = open1(dsrc(dir, 100));
	struct capsrc_doc d;
	pthread_t th;
	int64_t t0 = cx_mono_us();

	assert_int_equal(pthread_create(&th, NULL, waker, c), 0);
	assert_int_equal(capsrc_next(c, 10000, &d), 0);
	assert_true(cx_mono_us() - t0 < 1500000);
	pthread_join(th, NULL);
	capsrc_free(c);
}

static void test_wake_during_fetch(void **state)
{
	char *u = url("/stall");
	struct capsrc *c = open1(usrc(u, 8000, 10000));
	struct capsrc_doc d;
	pthread_t th;
	int64_t t0 = cx_mono_us();

	assert_int_equal(pthread_create(&th, NULL, waker, c), 0);
	assert_int_equal(capsrc_next(c, 10000, &d), 0);
	assert_true(cx_mono_us() - t0 < 2500000);
	pthread_join(th, NULL);
	capsrc_free(c);
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dir_initial_in_name_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_new_file_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_fifo_and_hidden_do_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_file_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_file_gone_before_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_url_not_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_url_cap_conditional, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atom_entries_fetched_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atom_inline_alert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rss_item_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_500_logged_once_and_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_cap_is_a_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stall_bounded_by_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_body_aborted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_file_link_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_failure_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_stall_does_not_starve_others, setup, teardown),
		cmocka_unit_test(test_capfeed_choices),
		cmocka_unit_test_setup_teardown(test_wake_from_another_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_during_fetch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
