/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_cap.c -- CAP 1.2 messages parsed, refused and their signatures verified (real libxml2, xmlsec1) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cap.h"
#include "config.h"
#include "fileio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char fixtures[4200];
static char sigdir[64];
static char err[1024];

static const char *root(void)
{
	const char *r = getenv("CX_SOURCE_ROOT");

	return r ? r : CX_SOURCE_ROOT;
}

static int setup(void **state)
{
	char cmd[8600];

	snprintf(fixtures, sizeof(fixtures), "%s/tests/cap", root());
	snprintf(sigdir, sizeof(sigdir), "/tmp/test_cap.XXXXXX");
	if (!mkdtemp(sigdir))
		return -1;
	/* The signed messages are made now, with keys that live only here.
	 * Without openssl or xmlsec1 this fails: it is not skipped. */
	snprintf(cmd, sizeof(cmd), "'%s/make-signed.sh' '%s'", fixtures, sigdir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_cap: %s failed\n", cmd);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sigdir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_cap: %s failed\n", cmd);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sigdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* DIR/NAME read whole; free() it. */
static char *slurp_in(const char *dir, const char *name, size_t *len)
{
	char path[4400], *buf = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(fio_read_all(path, 1 << 22, &buf, len), 0);
	return buf;
}

static char *slurp(const char *name, size_t *len)
{
	return slurp_in(fixtures, name, len);
}

/* Parse fixture NAME; it must parse. */
static struct cap_msg *parse_ok(const char *name)
{
	struct cap_msg *m = NULL;
	size_t len;
	char *buf = slurp(name, &len);
	int r = capmsg_parse(buf, len, &m, err, sizeof(err));

	if (r != 0)
		fprintf(stderr, "%s: %d %s\n", name, r, err);
	assert_int_equal(r, 0);
	assert_non_null(m);
	free(buf);
	return m;
}

/* Parse BUF; it must fail with R and a reason containing WANT. */
static void parse_fails(const char *buf, size_t len, int r, const char *want)
{
	struct cap_msg *m = (struct cap_msg *)1;

	err[0] = '\0';
	assert_int_equal(capmsg_parse(buf, len, &m, err, sizeof(err)), r);
	assert_null(m);
	if (!strstr(err, want))
		fprintf(stderr, "reason '%s' lacks '%s'\n", err, want);
	assert_non_null(strstr(err, want));
	assert_null(strchr(err, '\n'));
}

static void fixture_fails(const char *name, int r, const char *want)
{
	size_t len;
	char *buf = slurp(name, &len);

	parse_fails(buf, len, r, want);
	free(buf);
}

/* BUF with the first FROM replaced by TO; free() it. */
static char *replace(const char *buf, const char *from, const char *to)
{
	const char *p = strstr(buf, from);
	size_t n = strlen(buf) - strlen(from) + strlen(to);
	char *s = malloc(n + 1);

	assert_non_null(p);
	assert_non_null(s);
	snprintf(s, n + 1, "%.*s%s%s", (int)(p - buf), buf, to, p + strlen(from));
	return s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A TCP listener on 127.0.0.1 that nobody should ever connect to. */
static int listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void no_connection(int fd)
{
	int c = accept(fd, NULL, NULL);

	assert_int_equal(c, -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	close(fd);
}

/* ---- the model ---------------------------------------------------------- */

static void thunderstorm(void **state)
{
	struct cap_msg *m = parse_ok("thunderstorm.xml");
	const struct cap_info *i;
	const struct cap_area *a;

	assert_string_equal(m->identifier, "WX-2024-07-18-0042");
	assert_string_equal(m->sender, "warnings@weather.example.org");
	assert_string_equal(m->sent, "2024-07-18T15:20:00-05:00");
	assert_int_equal(m->sent_ms, 1721334000000LL);   /* 20:20 UTC */
	assert_string_equal(m->status, "Actual");
	assert_string_equal(m->msg_type, "Alert");
	assert_string_equal(m->scope, "Public");
	assert_null(m->source);
	assert_null(m->note);
	assert_int_equal(m->nrefs, 0);
	assert_false(m->has_signature);
	assert_int_equal(m->ninfos, 1);
	i = &m->infos[0];
	assert_string_equal(i->language, "en-US");   /* absent: the default */
	assert_int_equal(i->ncategories, 1);
	assert_string_equal(i->categories[0], "Met");
	assert_string_equal(i->event, "Severe Thunderstorm");
	assert_string_equal(i->urgency, "Immediate");
	assert_string_equal(i->severity, "Severe");
	assert_string_equal(i->certainty, "Observed");
	assert_string_equal(i->sender_name, "Example Weather Office");
	/* surrounding white space trimmed */
	assert_string_equal(i->headline, "Severe thunderstorm warning for Lake County");
	assert_string_equal(i->web, "http://weather.example.org/warnings/0042");
	assert_non_null(strstr(i->description, "hail up to 4 cm"));
	assert_string_equal(i->instruction, "Go indoors now and stay away from windows.");
	assert_true(i->effective_ms == CAP_NO_TIME);
	assert_true(i->onset_ms == CAP_NO_TIME);
	assert_int_equal(i->expires_ms, 1721337300000LL);
	assert_int_equal(i->nareas, 1);
	a = &i->areas[0];
	assert_string_equal(a->desc, "Lake County, northern half");
	assert_int_equal(a->npolygons, 1);
	assert_string_equal(a->polygons[0],
			    "41.20,-88.10 41.45,-88.10 41.45,-87.70 41.20,-87.70 41.20,-88.10");
	assert_int_equal(a->ncircles, 0);
	assert_int_equal(a->ngeocodes, 1);
	assert_string_equal(a->geocodes[0].name, "FIPS6");
	assert_string_equal(a->geocodes[0].value, "017097");
	capmsg_free(m);
}

static void earthquake_update(void **state)
{
	struct cap_msg *m = parse_ok("earthquake-update.xml");
	const struct cap_area *a;

	assert_string_equal(m->msg_type, "Update");
	assert_int_equal(m->sent_ms, 1709282530000LL);
	assert_string_equal(m->note, "Magnitude revised after review");
	assert_int_equal(m->nrefs, 1);
	assert_string_equal(m->refs[0].sender, "quakes@seismo.example.net");
	assert_string_equal(m->refs[0].identifier, "EQ-20240301-7");
	assert_string_equal(m->refs[0].sent, "2024-03-01T08:31:55+00:00");
	assert_int_equal(m->infos[0].onset_ms, 1709281900000LL);
	assert_true(m->infos[0].expires_ms == CAP_NO_TIME);
	a = &m->infos[0].areas[0];
	assert_int_equal(a->npolygons, 0);
	assert_int_equal(a->ncircles, 1);
	assert_string_equal(a->circles[0], "38.4123,-122.6071 0");
	assert_int_equal(a->ngeocodes, 0);
	capmsg_free(m);
}

static void amber_two_languages(void **state)
{
	struct cap_msg *m = parse_ok("amber.xml");

	assert_string_equal(m->source, "State Police Dispatch");
	assert_int_equal(m->ninfos, 2);
	assert_string_equal(m->infos[0].language, "en-US");
	assert_string_equal(m->infos[1].language, "es-US");
	assert_string_equal(m->infos[0].categories[0], "Rescue");
	assert_string_equal(m->infos[1].event, "Secuestro de menor");
	assert_string_equal(m->infos[1].headline, "Alerta AMBER: niña de 7 años, sedán blanco");
	assert_int_equal(m->infos[0].expires_ms, m->infos[1].expires_ms);
	assert_int_equal(m->infos[0].expires_ms, 1715529840000LL);
	capmsg_free(m);
}

static void chinese_rainstorm(void **state)
{
	struct cap_msg *m = parse_ok("zh-rainstorm.xml");
	const struct cap_info *i = &m->infos[0];
	const struct cap_area *a = &i->areas[0];

	assert_string_equal(m->identifier, "64010441600000_20240723153000");
	assert_int_equal(m->sent_ms, 1721719800000LL);   /* 07:30 UTC */
	assert_string_equal(i->language, "zh-CN");
	assert_int_equal(i->ncategories, 2);
	assert_string_equal(i->categories[0], "Met");
	assert_string_equal(i->categories[1], "Geo");
	assert_string_equal(i->event, "暴雨");
	assert_string_equal(i->urgency, "Expected");
	assert_string_equal(i->sender_name, "银川市气象台");
	assert_non_null(strstr(i->description, "累计雨量50毫米以上"));
	assert_int_equal(i->effective_ms, 1721719800000LL);
	assert_int_equal(i->onset_ms, 1721725200000LL);
	assert_int_equal(i->expires_ms, 1721763000000LL);
	assert_string_equal(a->desc, "兴庆区掌政镇永南村、强家庙村");
	assert_int_equal(a->ngeocodes, 2);
	assert_string_equal(a->geocodes[0].name, "ADMIN_CODE");
	assert_string_equal(a->geocodes[0].value, "640104100201");
	assert_string_equal(a->geocodes[1].name, "ADMIN_CODE");
	assert_string_equal(a->geocodes[1].value, "640104100203");
	capmsg_free(m);
}

static void cancel_expired_unlisted(void **state)
{
	struct cap_msg *m = parse_ok("zh-cancel.xml");

	assert_string_equal(m->msg_type, "Cancel");
	assert_int_equal(m->nrefs, 1);
	assert_string_equal(m->refs[0].sender, "yinchuan-met@weather.example.cn");
	assert_string_equal(m->refs[0].identifier, "64010441600000_20240723153000");
	assert_string_equal(m->refs[0].sent, "2024-07-23T15:30:00+08:00");
	capmsg_free(m);

	m = parse_ok("expired.xml");
	assert_int_equal(m->infos[0].expires_ms, 1591966800000LL);   /* 2020-06-12 13:00 UTC */
	capmsg_free(m);

	/* Whether this sender is allowed is decided elsewhere. */
	m = parse_ok("unlisted-sender.xml");
	assert_string_equal(m->sender, "someone@elsewhere.example.com");
	assert_string_equal(m->infos[0].event, "山洪");
	capmsg_free(m);
}

static void references_several_and_malformed(void **state)
{
	size_t len;
	char *buf = slurp("earthquake-update.xml", &len), *s;
	const char *two = "<references>\n a@x,ID-1,2024-03-01T08:31:55+00:00\t"
			  "b@y,ID-2,2024-03-01T08:35:00+00:00 </references>";
	struct cap_msg *m;

	s = replace(buf, "<references>quakes@seismo.example.net,EQ-20240301-7,"
			 "2024-03-01T08:31:55+00:00</references>", two);
	assert_int_equal(capmsg_parse(s, strlen(s), &m, err, sizeof(err)), 0);
	assert_int_equal(m->nrefs, 2);
	assert_string_equal(m->refs[1].sender, "b@y");
	assert_string_equal(m->refs[1].identifier, "ID-2");
	assert_string_equal(m->refs[1].sent, "2024-03-01T08:35:00+00:00");
	capmsg_free(m);
	free(s);

	s = replace(buf, "EQ-20240301-7,2024", "EQ-20240301-7 2024");
	parse_fails(s, strlen(s), -EINVAL, "malformed entry 'quakes@seismo.example.net,EQ-20240301-7'");
	assert_non_null(strstr(err, "line 10"));
	free(s);
	s = replace(buf, "EQ-20240301-7,2024", ",2024");
	parse_fails(s, strlen(s), -EINVAL, "malformed entry");
	free(s);
	free(buf);
}

/* ---- refused ------------------------------------------------------------ */

static void other_versions_and_documents(void **state)
{
	const char *rss = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel/></rss>";
	const char *cap10 = "<alert xmlns=\"http://www.incident.com/cap/1.0\"/>";

	fixture_fails("cap11.xml", -EPROTO,
		      "CAP 1.1 is not supported: only CAP 1.2 (urn:oasis:names:tc:emergency:cap:1.2)");
	parse_fails(cap10, strlen(cap10), -EPROTO, "CAP 1.0 is not supported");
	parse_fails(rss, strlen(rss), -EINVAL, "not a CAP message: the root element is 'rss'");
	parse_fails("", 0, -EINVAL, "an empty document");
	parse_fails("   ", 3, -EINVAL, "line 1: ");
}

static void not_well_formed_or_invalid(void **state)
{
	size_t len;
	char *buf, *s;

	fixture_fails("not-well-formed.xml", -EINVAL, "line 12: Opening and ending tag mismatch");
	fixture_fails("invalid-urgency.xml", -EINVAL, "line 12: Element 'urgency'");
	assert_non_null(strstr(err, "'Soon'"));
	fixture_fails("missing-identifier.xml", -EINVAL, "line 3: Element 'sender'");
	assert_non_null(strstr(err, "identifier"));

	/* CAP 1.2 writes UTC as -00:00: "Z" is refused, as is a missing offset,
	 * a fraction of a second and a day that does not exist. */
	buf = slurp("thunderstorm.xml", &len);
	s = replace(buf, "2024-07-18T15:20:00-05:00", "2024-07-18T20:20:00Z");
	parse_fails(s, strlen(s), -EINVAL, "line 5: Element 'sent'");
	free(s);
	s = replace(buf, "2024-07-18T15:20:00-05:00", "2024-07-18T20:20:00");
	parse_fails(s, strlen(s), -EINVAL, "line 5: Element 'sent'");
	free(s);
	s = replace(buf, "2024-07-18T15:20:00-05:00", "2024-07-18T20:20:00.5-05:00");
	parse_fails(s, strlen(s), -EINVAL, "line 5: Element 'sent'");
	free(s);
	s = replace(buf, "2024-07-18T16:15:00-05:00", "2023-02-30T16:15:00-05:00");
	parse_fails(s, strlen(s), -EINVAL, "Element 'expires'");
	free(s);
	s = replace(buf, "<sent>2024-07-18T15:20:00-05:00</sent>",
		    "<sent>2024-07-18T15:20:00-00:00</sent>");
	{
		struct cap_msg *m;

		assert_int_equal(capmsg_parse(s, strlen(s), &m, err, sizeof(err)), 0);
		assert_int_equal(m->sent_ms, 1721316000000LL);
		capmsg_free(m);
	}
	free(s);
	free(buf);
}

static void entities_never_expand(void **state)
{
	double t0 = now_s();
	size_t len;
	char *buf;

	fixture_fails("billion-laughs.xml", -EINVAL, "line 2: a DTD is not allowed in a CAP message");
	assert_true(now_s() - t0 < 1.0);

	/* Not read: the reason carries nothing of the file. */
	fixture_fails("xxe-file.xml", -EINVAL, "a DTD is not allowed in a CAP message");
	assert_null(strstr(err, "root:"));
	buf = slurp_in("/etc", "passwd", &len);
	if (len > 8) {
		buf[8] = '\0';
		assert_null(strstr(err, buf));
	}
	free(buf);

	/* An entity alone, without a DTD to declare it, is not well-formed. */
	buf = slurp("thunderstorm.xml", &len);
	{
		char *s = replace(buf, "Example Weather Office", "&who;");

		parse_fails(s, strlen(s), -EINVAL, "line 21: Entity 'who' not defined");
		free(s);
	}
	free(buf);
}

static void nothing_fetched(void **state)
{
	char doc[2048], *buf, *s;
	size_t len;
	int port, fd = listener(&port);
	struct cap_msg *m;

	/* An external DTD and an external entity on a port that listens. */
	snprintf(doc, sizeof(doc),
		 "<?xml version=\"1.0\"?>\n"
		 "<!DOCTYPE alert SYSTEM \"http://127.0.0.1:%d/cap.dtd\" [\n"
		 "  <!ENTITY far SYSTEM \"http://127.0.0.1:%d/x\">\n]>\n"
		 "<alert xmlns=\"" CAP_NS_12 "\"><identifier>&far;</identifier></alert>\n",
		 port, port);
	parse_fails(doc, strlen(doc), -EINVAL, "a DTD is not allowed");
	fixture_fails("xxe-http.xml", -EINVAL, "a DTD is not allowed");

	/* A schema location is not followed: the shipped schema decides. */
	buf = slurp("thunderstorm.xml", &len);
	snprintf(doc, sizeof(doc),
		 "<alert xmlns=\"" CAP_NS_12 "\" "
		 "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
		 "xsi:schemaLocation=\"" CAP_NS_12 " http://127.0.0.1:%d/cap.xsd\">", port);
	s = replace(buf, "<alert xmlns=\"" CAP_NS_12 "\">", doc);
	assert_int_equal(capmsg_parse(s, strlen(s), &m, err, sizeof(err)), 0);
	capmsg_free(m);
	free(s);
	free(buf);
	no_connection(fd);
}

/* An alert with DEPTH levels of elements in all. */
static char *nested(int depth, size_t *len)
{
	const char *head = "<alert xmlns=\"" CAP_NS_12 "\">", *tail = "</alert>";
	size_t n = strlen(head) + strlen(tail) + (size_t)depth * 7 + 1;
	char *s = malloc(n), *p = s;

	if (!s)   /* not assert_non_null: the compiler must see that s is set below */
		abort();
	p += sprintf(p, "%s", head);
	for (int i = 1; i < depth; i++)
		p += sprintf(p, "<x>");
	for (int i = 1; i < depth; i++)
		p += sprintf(p, "</x>");
	p += sprintf(p, "%s", tail);
	*len = (size_t)(p - s);
	return s;
}

static void too_deep_or_too_large(void **state)
{
	double t0 = now_s();
	size_t len;
	char *s = nested(10000, &len);

	parse_fails(s, len, -EINVAL, "line 1: element 'x' is nested deeper than 32 elements");
	free(s);
	s = nested(CAP_MAX_DEPTH + 1, &len);
	parse_fails(s, len, -EINVAL, "nested deeper than 32");
	free(s);
	s = nested(CAP_MAX_DEPTH, &len);   /* deep enough to pass the reader; the schema refuses x */
	parse_fails(s, len, -EINVAL, "Element 'x'");
	free(s);

	len = 50u << 20;
	s = malloc(len);
	assert_non_null(s);
	memset(s, ' ', len);
	memcpy(s, "<alert>", 7);
	parse_fails(s, len, -EFBIG, "larger than 1048576 bytes");
	parse_fails(s, CAP_MAX_BYTES + 1, -EFBIG, "larger than");
	free(s);
	assert_true(now_s() - t0 < 2.0);
}

/* ---- times ------------------------------------------------------------ */

static void times(void **state)
{
	static const char *const bad[] = {
		"2024-07-18T20:20:00Z", "2024-07-18T20:20:00", "2024-07-18T20:20:00+0800",
		"2023-02-30T00:00:00+00:00", "2023-02-29T00:00:00+00:00", "2024-13-01T00:00:00+00:00",
		"2024-00-10T00:00:00+00:00", "2024-04-31T00:00:00+00:00", "2024-07-18T24:00:00+00:00",
		"2024-07-18T23:60:00+00:00", "2024-07-18T23:59:60+00:00", "2024-07-18T20:20:00+15:00",
		"2024-07-18T20:20:00+14:30", "2024-07-18T20:20:00+08:60", "2024-07-18 20:20:00+08:00",
		"2024-07-18T20:20:00.1+08:00", "0000-01-01T00:00:00+00:00", " 2024-07-18T20:20:00+08:00",
		"2024-07-18T20:20:00+08:00 ", "2024-7-18T20:20:00+08:00", "", "+024-07-18T20:20:00+08:00",
	};
	int64_t ms;

	assert_int_equal(capmsg_time("1970-01-01T00:00:00+00:00", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(capmsg_time("1970-01-01T00:00:00-00:00", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(capmsg_time("1970-01-01T08:00:00+08:00", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(capmsg_time("1969-12-31T19:00:00-05:00", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(capmsg_time("1969-12-31T23:59:59+00:00", &ms), 0);
	assert_int_equal(ms, -1000);
	assert_int_equal(capmsg_time("2003-06-17T14:57:00-07:00", &ms), 0);
	assert_int_equal(ms, 1055887020000LL);
	assert_int_equal(capmsg_time("2024-02-29T12:00:00+05:30", &ms), 0);
	assert_int_equal(ms, 1709188200000LL);
	assert_int_equal(capmsg_time("2000-02-29T00:00:00+00:00", &ms), 0);
	assert_int_equal(ms, 951782400000LL);
	assert_int_equal(capmsg_time("2024-12-31T23:59:59+14:00", &ms), 0);
	assert_int_equal(ms, 1735639199000LL);
	assert_int_equal(capmsg_time("2038-01-19T03:14:08+00:00", &ms), 0);
	assert_int_equal(ms, 2147483648000LL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 42;
		if (capmsg_time(bad[i], &ms) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(ms, 42);
	}
	assert_int_equal(capmsg_time("1900-02-29T00:00:00+00:00", &ms), -EINVAL);
	assert_int_equal(capmsg_time(NULL, &ms), -EINVAL);
}

/* ---- signatures ------------------------------------------------------- */

static char *sig_path(const char *name)
{
	static char p[4][128];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", sigdir, name);
	return p[k];
}

static int verify(const char *buf, size_t len, const char *anchor)
{
	const char *a[] = { sig_path(anchor) };

	err[0] = '\0';
	return capmsg_verify(buf, len, a, 1, err, sizeof(err));
}

static void signed_verifies(void **state)
{
	size_t len;
	char *buf = slurp_in(sigdir, "signed.xml", &len);
	const char *two[2];
	struct cap_msg *m;

	assert_int_equal(verify(buf, len, "ca.pem"), 0);
	/* Any one of several anchors will do. */
	two[0] = sig_path("other-ca.pem");
	two[1] = sig_path("ca.pem");
	assert_int_equal(capmsg_verify(buf, len, two, 2, err, sizeof(err)), 0);
	/* And the signed message parses, signature noticed. */
	assert_int_equal(capmsg_parse(buf, len, &m, err, sizeof(err)), 0);
	assert_true(m->has_signature);
	assert_string_equal(m->infos[0].event, "暴雨");
	capmsg_free(m);

	/* A comment is not signed (canonical XML without comments); nor is it
	 * part of any text the model holds, so what is read is what was signed. */
	{
		char *s = replace(buf, "50毫米", "5<!-- 9 -->0毫米");

		assert_int_equal(verify(s, strlen(s), "ca.pem"), 0);
		assert_int_equal(capmsg_parse(s, strlen(s), &m, err, sizeof(err)), 0);
		assert_non_null(strstr(m->infos[0].description, "累计雨量50毫米以上"));
		capmsg_free(m);
		free(s);
	}
	free(buf);
}

static void tampered_untrusted_unsigned(void **state)
{
	size_t len;
	char *buf = slurp_in(sigdir, "tampered.xml", &len);

	assert_int_equal(verify(buf, len, "ca.pem"), -EBADMSG);
	assert_non_null(strstr(err, "changed after it was signed"));
	free(buf);

	buf = slurp_in(sigdir, "signed.xml", &len);
	assert_int_equal(verify(buf, len, "other-ca.pem"), -EPERM);
	assert_non_null(strstr(err, "does not chain to a trust anchor"));
	assert_int_equal(verify(buf, len, "missing.pem"), -EINVAL);
	assert_non_null(strstr(err, "missing.pem"));
	assert_int_equal(verify(buf, len, "signed.xml"), -EINVAL);
	assert_non_null(strstr(err, "not a PEM certificate"));
	assert_int_equal(capmsg_verify(buf, len, NULL, 0, err, sizeof(err)), -EINVAL);
	free(buf);

	/* What canonical XML cannot take (a relative namespace URI): libxml2's
	 * reason comes back here rather than on stderr. */
	buf = slurp_in(sigdir, "signed.xml", &len);
	{
		char *s = replace(buf, "<alert xmlns=\"" CAP_NS_12 "\"",
				  "<alert xmlns=\"" CAP_NS_12 "\" xmlns:rel=\"relative/uri\"");

		assert_int_equal(verify(s, strlen(s), "ca.pem"), -EBADMSG);
		assert_non_null(strstr(err, "Relative namespace"));
		free(s);
	}
	free(buf);

	/* A weak algorithm, even from the trusted signer; a bare key. */
	buf = slurp_in(sigdir, "sha1.xml", &len);
	assert_int_equal(verify(buf, len, "ca.pem"), -EBADMSG);
	assert_non_null(strstr(err, "algorithm that is not accepted: "
				    "http://www.w3.org/2000/09/xmldsig#rsa-sha1"));
	free(buf);
	buf = slurp_in(sigdir, "keyvalue.xml", &len);
	assert_int_equal(verify(buf, len, "ca.pem"), -EPERM);
	assert_non_null(strstr(err, "no X509 certificate"));
	free(buf);

	buf = slurp("zh-rainstorm.xml", &len);
	assert_int_equal(verify(buf, len, "ca.pem"), -ENOENT);
	assert_non_null(strstr(err, "not signed"));
	free(buf);

	assert_int_equal(verify("<alert", 6, "ca.pem"), -EINVAL);
}

static void reference_outside_refused(void **state)
{
	size_t len;
	char *buf = slurp_in(sigdir, "signed.xml", &len), *s, uri[128];
	int port, fd = listener(&port);

	snprintf(uri, sizeof(uri), "URI=\"http://127.0.0.1:%d/x\"", port);
	s = replace(buf, "URI=\"\"", uri);
	assert_int_equal(verify(s, strlen(s), "ca.pem"), -EBADMSG);
	assert_non_null(strstr(err, "does not cover the whole alert"));
	free(s);
	s = replace(buf, "URI=\"\"", "URI=\"file:///etc/passwd\"");
	assert_int_equal(verify(s, strlen(s), "ca.pem"), -EBADMSG);
	assert_non_null(strstr(err, "file:///etc/passwd"));
	free(s);
	/* A part of the alert only, or no URI at all. */
	s = replace(buf, "URI=\"\"", "URI=\"#info\"");
	assert_int_equal(verify(s, strlen(s), "ca.pem"), -EBADMSG);
	free(s);
	s = replace(buf, "URI=\"\"", "");
	assert_int_equal(verify(s, strlen(s), "ca.pem"), -EBADMSG);
	free(s);
	free(buf);
	no_connection(fd);
}

/* ---- threads ------------------------------------------------------------ */

struct job {
	const char *buf;
	size_t len;
	int verify;          /* capmsg_verify with ANCHOR, else capmsg_parse */
	const char *anchor;
	int want;
	const char *reason;  /* in the error of every run */
	int bad;             /* runs that did not give WANT and REASON */
};

static void *run_job(void *arg)
{
	struct job *j = arg;
	char e[512];

	for (int k = 0; k < 40; k++) {
		struct cap_msg *m = NULL;
		int r;

		e[0] = '\0';
		if (j->verify)
			r = capmsg_verify(j->buf, j->len, &j->anchor, 1, e, sizeof(e));
		else
			r = capmsg_parse(j->buf, j->len, &m, e, sizeof(e));
		capmsg_free(m);
		if (r != j->want || (j->reason && !strstr(e, j->reason)))
			j->bad++;
	}
	return NULL;
}

/* Parsing and verifying in several threads at once: each call's error is
 * its own, whatever the others are doing. */
static void threads(void **state)
{
	size_t ls, lt, li, lz;
	char *sig = slurp_in(sigdir, "signed.xml", &ls), *tam = slurp_in(sigdir, "tampered.xml", &lt);
	char *inv = slurp("invalid-urgency.xml", &li), *zh = slurp("zh-rainstorm.xml", &lz);
	struct job jobs[] = {
		{ sig, ls, 1, sig_path("ca.pem"), 0, NULL, 0 },
		{ sig, ls, 1, sig_path("other-ca.pem"), -EPERM, "does not chain", 0 },
		{ tam, lt, 1, sig_path("ca.pem"), -EBADMSG, "changed after", 0 },
		{ inv, li, 0, NULL, -EINVAL, "'Soon'", 0 },
		{ zh, lz, 0, NULL, 0, NULL, 0 },
		{ zh, lz, 1, sig_path("ca.pem"), -ENOENT, "not signed", 0 },
	};
	pthread_t t[sizeof(jobs) / sizeof(jobs[0])];

	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		assert_int_equal(pthread_create(&t[i], NULL, run_job, &jobs[i]), 0);
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(jobs[i].bad, 0);
	}
	free(sig);
	free(tam);
	free(inv);
	free(zh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(thunderstorm),
		cmocka_unit_test(earthquake_update),
		cmocka_unit_test(amber_two_languages),
		cmocka_unit_test(chinese_rainstorm),
		cmocka_unit_test(cancel_expired_unlisted),
		cmocka_unit_test(references_several_and_malformed),
		cmocka_unit_test(other_versions_and_documents),
		cmocka_unit_test(not_well_formed_or_invalid),
		cmocka_unit_test(entities_never_expand),
		cmocka_unit_test(nothing_fetched),
		cmocka_unit_test(too_deep_or_too_large),
		cmocka_unit_test(times),
		cmocka_unit_test(signed_verifies),
		cmocka_unit_test(tampered_untrusted_unsigned),
		cmocka_unit_test(reference_outside_refused),
		cmocka_unit_test(threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
