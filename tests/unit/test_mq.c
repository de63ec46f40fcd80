/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_mq.c -- the MQTT session against a scripted peer on loopback: what it
 * sends at connect, reconnects, subscriptions, the queue and its limits */
#define _GNU_SOURCE /* accept4 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/*
 * No broker is started: the test itself plays the broker's side of MQTT 5
 * on a loopback socket, packet by packet, so that it can see exactly what
 * the session sends and choose what it answers (or drop the connection).
 */

#define WAIT_MS 5000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the scripted peer ---------------------------------------------------- */

struct peer {
	int lfd, fd, port;
};

static void peer_listen(struct peer *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->fd = -1;
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->lfd >= 0);
	setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(p->lfd, 4), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &al), 0);
	p->port = ntohs(a.sin_port);
}

static void peer_close(struct peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static void peer_free(struct peer *p)
{
	peer_close(p);
	close(p->lfd);
}

/* Wait for the session to connect; false on timeout. */
static bool peer_accept(struct peer *p, int ms)
{
	struct pollfd pfd = { .fd = p->lfd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return false;
	p->fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
	return p->fd >= 0;
}

static bool read_full(int fd, unsigned char *buf, size_t n, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < n) {
		ssize_t k;

		if (poll(&pfd, 1, ms) != 1)
			return false;
		k = read(fd, buf + got, n - got);
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

struct pkt {
	unsigned char type;           /* first byte: type << 4 | flags */
	size_t len;
	unsigned char b[70000];
};

/* The next packet other than PINGREQ (answered); false on timeout or EOF. */
static bool peer_read(struct peer *p, struct pkt *k, int ms)
{
	for (;;) {
		unsigned char c;
		size_t mult = 1;

		if (!read_full(p->fd, &k->type, 1, ms))
			return false;
		k->len = 0;
		for (int i = 0; i < 4; i++) {
			if (!read_full(p->fd, &c, 1, ms))
				return false;
			k->len += (c & 127) * mult;
			mult *= 128;
			if (!(c & 128))
				break;
		}
		if (k->len > sizeof(k->b) || !read_full(p->fd, k->b, k->len, ms))
			return false;
		if (k->type == 0xc0) {
			static const unsigned char pingresp[] = { 0xd0, 0 };

			assert_int_equal(write(p->fd, pingresp, 2), 2);
			continue;
		}
		return true;
	}
}

/* Is the connection closed by the session (EOF within MS)? */
static bool peer_eof(struct peer *p, int ms)
{
	struct pkt *k = malloc(sizeof(*k));
	bool eof = !peer_read(p, k, ms);

	free(k);
	return eof;
}

static size_t put_varint(unsigned char *o, size_t v)
{
	size_t n = 0;

	do {
		unsigned char c = v % 128;

		v /= 128;
		o[n++] = c | (v ? 128 : 0);
	} while (v);
	return n;
}

static void peer_send(struct peer *p, unsigned char type, const void *body, size_t len)
{
	unsigned char *b = malloc(len + 5);
	size_t n = 0;

	b[n++] = type;
	n += put_varint(b + n, len);
	memcpy(b + n, body, len);
	assert_int_equal(write(p->fd, b, n + len), (ssize_t)(n + len));
	free(b);
}

static void peer_connack(struct peer *p, unsigned char reason)
{
	const unsigned char body[] = { 0, reason, 0 };

	peer_send(p, 0x20, body, sizeof(body));
}

/* A PUBLISH at QoS 0 from the broker. */
static void peer_publish(struct peer *p, const char *topic, const void *payload, size_t len,
			 bool retain)
{
	size_t tl = strlen(topic), n = 0;
	unsigned char *b = malloc(tl + len + 3);

	b[n++] = (unsigned char)(tl >> 8);
	b[n++] = (unsigned char)tl;
	memcpy(b + n, topic, tl);
	n += tl;
	b[n++] = 0; /* no properties */
	memcpy(b + n, payload, len);
	peer_send(p, 0x30 | (retain ? 1 : 0), b, n + len);
	free(b);
}

static unsigned get16(const unsigned char *b)
{
	return (unsigned)b[0] << 8 | b[1];
}

static uint32_t get32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static size_t get_varint(const unsigned char *b, size_t *v)
{
	size_t n = 0, mult = 1;

	*v = 0;
	do {
		*v += (b[n] & 127) * mult;
		mult *= 128;
	} while (b[n++] & 128 && n < 4);
	return n;
}

/* What the session said in a CONNECT. */
struct connect {
	char proto[8];
	int level;
	unsigned flags;
	unsigned keepalive;
	int64_t session_expiry, max_packet; /* -1: absent */
	char client_id[64];
	char will_topic[64], will_payload[64], username[64], password[64];
	size_t will_len;
};

/* MQTT 5 properties at B (LEN bytes): the two the session sets. */
static void props(const unsigned char *b, size_t len, struct connect *c)
{
	size_t i = 0;

	while (i < len) {
		unsigned id = b[i++];

		switch (id) {
		case 0x11: c->session_expiry = get32(b + i); i += 4; break;
		case 0x27: c->max_packet = get32(b + i); i += 4; break;
		case 0x02: case 0x18: i += 4; break;               /* four-byte integers */
		case 0x21: case 0x22: case 0x13: case 0x23: i += 2; break;
		case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29:
		case 0x2a: i += 1; break;
		default: fail_msg("CONNECT property 0x%02x not expected", id);
		}
	}
}

static size_t get_str(const unsigned char *b, char *out, size_t size)
{
	size_t n = get16(b);

	assert_true(n < size);
	memcpy(out, b + 2, n);
	out[n] = '\0';
	return n + 2;
}

static void parse_connect(const struct pkt *k, struct connect *c)
{
	const unsigned char *b = k->b;
	size_t i = 0, pl;

	memset(c, 0, sizeof(*c));
	c->session_expiry = c->max_packet = -1;
	assert_int_equal(k->type, 0x10);
	i += get_str(b, c->proto, sizeof(c->proto));
	c->level = b[i++];
	c->flags = b[i++];
	c->keepalive = get16(b + i);
	i += 2;
	i += get_varint(b + i, &pl);
	props(b + i, pl, c);
	i += pl;
	i += get_str(b + i, c->client_id, sizeof(c->client_id));
	if (c->flags & 0x04) {
		i += get_varint(b + i, &pl);
		i += pl; /* will properties */
		i += get_str(b + i, c->will_topic, sizeof(c->will_topic));
		c->will_len = get16(b + i);
		i += get_str(b + i, c->will_payload, sizeof(c->will_payload));
	}
	if (c->flags & 0x80)
		i += get_str(b + i, c->username, sizeof(c->username));
	if (c->flags & 0x40)
		i += get_str(b + i, c->password, sizeof(c->password));
	assert_int_equal(i, k->len);
}

/* A SUBSCRIBE: its packet id, and each filter with its options byte. */
struct sub {
	unsigned mid;
	size_t n;
	char topic[8][64];
	unsigned opts[8];
};

static void parse_subscribe(const struct pkt *k, struct sub *s)
{
	size_t i = 2, pl;

	memset(s, 0, sizeof(*s));
	assert_int_equal(k->type, 0x82);
	s->mid = get16(k->b);
	i += get_varint(k->b + i, &pl);
	i += pl;
	while (i < k->len) {
		assert_true(s->n < 8);
		i += get_str(k->b + i, s->topic[s->n], sizeof(s->topic[0]));
		s->opts[s->n++] = k->b[i++];
	}
}

static void peer_suback(struct peer *p, const struct sub *s)
{
	unsigned char b[16] = { (unsigned char)(s->mid >> 8), (unsigned char)s->mid, 0 };

	for (size_t i = 0; i < s->n; i++)
		b[3 + i] = s->opts[i] & 3;
	peer_send(p, 0x90, b, 3 + s->n);
}

/* ---- the session's side ------------------------------------------------- */

/* The next event within MS; false when none came. */
static bool next_event(struct mq *m, struct mq_event *ev, int ms)
{
	int64_t end = mono_ms() + ms;

	for (;;) {
		struct pollfd pfd = { .fd = mq_fd(m), .events = POLLIN };
		int64_t left = end - mono_ms();

		if (mq_next(m, ev))
			return true;
		if (left <= 0 || poll(&pfd, 1, (int)left) == 0)
			return mq_next(m, ev) == 1;
	}
}

static bool fd_readable(struct mq *m)
{
	struct pollfd pfd = { .fd = mq_fd(m), .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

static const char *const subs[] = { "cx/v1/receipt/+", "cx/v1/status/+", "cx/v1/time/+/ping" };
static const int sub_qos[] = { 1, 1, 0 };

static struct mq_cfg base_cfg(int port)
{
	return (struct mq_cfg){
		.client_id = "cx-test",
		.host = "127.0.0.1",
		.port = port,
		.clean_start = false,
		.session_expiry_s = 3600,
		.max_packet = 65536,
		.subs = subs,
		.nsubs = 3,
		.sub_qos_each = sub_qos,
		.sub_opts = MQ_SUB_NO_LOCAL,
	};
}

/* Accept the session's connection, check its CONNECT against CFG, answer
 * it, and take its subscriptions. */
static void handshake(struct peer *p, struct mq *m, const struct mq_cfg *cfg)
{
	struct pkt *k = malloc(sizeof(*k));
	struct connect c;
	struct mq_event ev;

	assert_true(peer_accept(p, WAIT_MS));
	assert_true(peer_read(p, k, WAIT_MS));
	parse_connect(k, &c);
	assert_string_equal(c.client_id, cfg->client_id);
	assert_int_equal(c.session_expiry, cfg->session_expiry_s ? (int64_t)cfg->session_expiry_s : -1);
	peer_connack(p, 0);
	assert_int_equal(mq_wait_connected(m, WAIT_MS), 0);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.type, MQ_EV_CONNECTED);
	for (int qos = 0; qos <= 2; qos++) {
		bool any = false;

		for (size_t i = 0; i < cfg->nsubs; i++)
			any |= (cfg->sub_qos_each ? cfg->sub_qos_each[i] : cfg->sub_qos) == qos;
		if (any) {
			struct sub s;

			assert_true(peer_read(p, k, WAIT_MS));
			parse_subscribe(k, &s);
			peer_suback(p, &s);
		}
	}
	free(k);
}

/* ---- tests ----------------------------------------------------------------- */

static void parse_url(void **state)
{
	static const struct {
		const char *url, *host;
		int port;
		bool tls;
	} ok[] = {
		{ "mqtt://township.local", "township.local", 1883, false },
		{ "mqtts://township.example", "township.example", 8883, true },
		{ "mqtt://h:1884", "h", 1884, false },
		{ "mqtts://h:1", "h", 1, true },
		{ "mqtt://h:65535", "h", 65535, false },
		{ "mqtt://10.0.0.1:1883", "10.0.0.1", 1883, false },
		{ "mqtt://[::1]", "::1", 1883, false },
		{ "mqtts://[fe80::1%eth0]:8884", "fe80::1%eth0", 8884, true },
	};
	static const char *const bad[] = {
		"", "mqtt:/h", "http://h", "MQTT://h", "mqtt://", "mqtts://", "mqtt://:1883",
		"mqtt://h:", "mqtt://h:0", "mqtt://h:65536", "mqtt://h:-1", "mqtt://h:+1",
		"mqtt://h:1a", "mqtt://h:1883/", "mqtt://h/x", "mqtt://u@h", "mqtt://u:p@h",
		"mqtt://h?x", "mqtt://h#x", "mqtt://[::1", "mqtt://[::1]x", "mqtt://[]:1883",
		"mqtt://h h", "mqtt://h:99999999999999999999", " mqtt://h",
	};
	char *host;
	int port;
	bool tls;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		host = NULL;
		if (mq_parse_url(ok[i].url, &host, &port, &tls) != 0)
			fail_msg("'%s' refused", ok[i].url);
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
		assert_int_equal(tls, ok[i].tls);
		free(host);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		host = NULL;
		if (mq_parse_url(bad[i], &host, &port, &tls) != -EINVAL)
			fail_msg("'%s' taken", bad[i]);
		assert_null(host);
	}

	/* A host name of 253 bytes, not 254. */
	char url[300];
	snprintf(url, sizeof(url), "mqtt://%0253d", 0);
	assert_int_equal(mq_parse_url(url, &host, &port, &tls), 0);
	assert_int_equal(strlen(host), 253);
	free(host);
	snprintf(url, sizeof(url), "mqtt://%0254d", 0);
	assert_int_equal(mq_parse_url(url, &host, &port, &tls), -EINVAL);
}

static void too_many_subs(void **state)
{
	const char *many[MQ_MAX_SUBS + 1];
	struct mq_cfg cfg = base_cfg(1);

	for (size_t i = 0; i <= MQ_MAX_SUBS; i++)
		many[i] = "cx/v1/x";
	cfg.subs = many;
	cfg.nsubs = MQ_MAX_SUBS + 1;
	cfg.sub_qos_each = NULL;
	errno = 0;
	assert_null(mq_new(&cfg));
	assert_int_equal(errno, EINVAL);
}

static void no_broker(void **state)
{
	struct peer p;
	struct mq_cfg cfg;
	struct mq_event ev;
	struct mq *m;
	int64_t t;
	int port;

	/* A port where nothing listens. */
	peer_listen(&p);
	port = p.port;
	peer_free(&p);
	cfg = base_cfg(port);
	m = mq_new(&cfg);
	assert_non_null(m);
	assert_false(mq_connected(m));
	assert_int_equal(mq_wait_connected(m, 300), -ETIMEDOUT);
	assert_int_equal(mq_publish(m, "cx/v1/x", "a", 1, 1, false), -ENOTCONN);
	assert_int_equal(mq_publish(m, "cx/v1/x", "a", 1, 0, false), -ENOTCONN);
	/* The size is checked first. */
	assert_int_equal(mq_publish(m, "cx/v1/x", "a", (256u << 20) + 1, 1, false), -EMSGSIZE);
	assert_int_equal(mq_inflight(m), 0);
	assert_int_equal(mq_flush(m, 100), 0);
	assert_false(next_event(m, &ev, 200));
	assert_false(fd_readable(m));
	assert_int_equal(mq_dropped(m), 0);
	/* Stops at once, between attempts. */
	t = mono_ms();
	mq_free(m);
	assert_true(mono_ms() - t < 2000);
	mq_free(NULL);
}

static void connect_packet(void **state)
{
	static const char *const one[] = { "cx/v1/plan/yn-01" };
	struct pkt *k = malloc(sizeof(*k));
	struct mq_cfg cfg;
	struct connect c;
	struct peer p;
	struct mq *m;

	peer_listen(&p);
	cfg = base_cfg(p.port);
	cfg.username = "controller";
	cfg.password = "s3cret";
	cfg.will_topic = "cx/v1/status/yn-01";
	cfg.will_payload = "offline";
	cfg.will_len = 7;
	cfg.will_retain = true;
	m = mq_new(&cfg);
	assert_non_null(m);
	assert_true(peer_accept(&p, WAIT_MS));
	assert_true(peer_read(&p, k, WAIT_MS));
	parse_connect(k, &c);
	assert_string_equal(c.proto, "MQTT");
	assert_int_equal(c.level, 5);
	/* username, password, will retained at QoS 1, not a clean start */
	assert_int_equal(c.flags, 0x80 | 0x40 | 0x20 | 0x08 | 0x04);
	assert_int_equal(c.keepalive, 30);
	assert_int_equal(c.session_expiry, 3600);
	assert_int_equal(c.max_packet, 65536);
	assert_string_equal(c.client_id, "cx-test");
	assert_string_equal(c.will_topic, "cx/v1/status/yn-01");
	assert_int_equal(c.will_len, 7);
	assert_string_equal(c.will_payload, "offline");
	assert_string_equal(c.username, "controller");
	assert_string_equal(c.password, "s3cret");
	peer_close(&p);
	mq_free(m);

	/* The other way round: a clean start, no session, no limits, a
	 * keepalive of its own; no will, no account. */
	cfg = base_cfg(p.port);
	cfg.clean_start = true;
	cfg.session_expiry_s = 0;
	cfg.max_packet = 0;
	cfg.keepalive_s = 7;
	cfg.subs = one;
	cfg.nsubs = 1;
	cfg.sub_qos_each = NULL;
	cfg.sub_qos = 1;
	cfg.sub_opts = 0;
	m = mq_new(&cfg);
	assert_non_null(m);
	assert_true(peer_accept(&p, WAIT_MS));
	assert_true(peer_read(&p, k, WAIT_MS));
	parse_connect(k, &c);
	assert_int_equal(c.flags, 0x02);
	assert_int_equal(c.keepalive, 7);
	assert_int_equal(c.session_expiry, -1);
	assert_int_equal(c.max_packet, -1);
	peer_connack(&p, 0);
	assert_int_equal(mq_wait_connected(m, WAIT_MS), 0);
	/* One filter at the one QoS, without no-local. */
	struct sub s;
	assert_true(peer_read(&p, k, WAIT_MS));
	parse_subscribe(k, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.topic[0], "cx/v1/plan/yn-01");
	assert_int_equal(s.opts[0], 1);
	mq_free(m);
	peer_free(&p);
	free(k);
}

static void subscribes_by_qos(void **state)
{
	struct pkt *k = malloc(sizeof(*k));
	struct mq_cfg cfg;
	struct mq_event ev;
	struct peer p;
	struct sub s;
	struct mq *m;

	peer_listen(&p);
	cfg = base_cfg(p.port);
	m = mq_new(&cfg);
	assert_non_null(m);
	assert_true(peer_accept(&p, WAIT_MS));
	assert_true(peer_read(&p, k, WAIT_MS));
	assert_false(mq_connected(m));
	peer_connack(&p, 0);
	assert_int_equal(mq_wait_connected(m, WAIT_MS), 0);
	assert_true(mq_connected(m));
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.type, MQ_EV_CONNECTED);

	/* One SUBSCRIBE per QoS, QoS 0 first, each filter no-local. */
	assert_true(peer_read(&p, k, WAIT_MS));
	parse_subscribe(k, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.topic[0], "cx/v1/time/+/ping");
	assert_int_equal(s.opts[0], 0x04 | 0);
	peer_suback(&p, &s);
	assert_true(peer_read(&p, k, WAIT_MS));
	parse_subscribe(k, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.topic[0], "cx/v1/receipt/+");
	assert_string_equal(s.topic[1], "cx/v1/status/+");
	assert_int_equal(s.opts[0], 0x04 | 1);
	assert_int_equal(s.opts[1], 0x04 | 1);
	peer_suback(&p, &s);

	/* And one topic now, then not. */
	assert_int_equal(mq_subscribe(m, "cx/v1/keys", 1), 0);
	assert_true(peer_read(&p, k, WAIT_MS));
	parse_subscribe(k, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.topic[0], "cx/v1/keys");
	assert_int_equal(s.opts[0], 1);
	peer_suback(&p, &s);
	assert_int_equal(mq_unsubscribe(m, "cx/v1/keys"), 0);
	assert_true(peer_read(&p, k, WAIT_MS));
	assert_int_equal(k->type, 0xa2);
	size_t i = 2, pl;
	i += get_varint(k->b + i, &pl) + pl;
	char t[64];
	get_str(k->b + i, t, sizeof(t));
	assert_string_equal(t, "cx/v1/keys");
	assert_int_equal(mq_subscribe(m, "cx/v1/#/x", 1), -EIO);
	mq_free(m);
	peer_free(&p);
	free(k);
}

static void messages_in(void **state)
{
	struct mq_cfg cfg;
	struct mq_event ev;
	struct peer p;
	struct mq *m;
	int64_t before;
	char topic[64], body[64];

	peer_listen(&p);
	cfg = base_cfg(p.port);
	m = mq_new(&cfg);
	assert_non_null(m);
	handshake(&p, m, &cfg);
	/* Readable until mq_next() has found the queue empty once. */
	assert_true(fd_readable(m));
	assert_int_equal(mq_next(m, &ev), 0);
	assert_false(fd_readable(m));

	before = (int64_t)time(NULL) * 1000000 - 1000000;
	peer_publish(&p, "cx/v1/status/yn-01", "{\"s\":1}", 7, true);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.type, MQ_EV_MESSAGE);
	assert_string_equal(ev.topic, "cx/v1/status/yn-01");
	assert_int_equal(ev.len, 7);
	assert_memory_equal(ev.payload, "{\"s\":1}", 8); /* NUL-terminated beyond len */
	assert_true(ev.retain);
	assert_true(ev.recv_us >= before && ev.recv_us < before + 60000000);
	mq_event_clear(&ev);
	assert_null(ev.topic);
	assert_null(ev.payload);

	/* Empty and binary payloads. */
	peer_publish(&p, "cx/v1/receipt/yn-01", "", 0, false);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.len, 0);
	assert_non_null(ev.payload);
	assert_int_equal(ev.payload[0], '\0');
	assert_false(ev.retain);
	mq_event_clear(&ev);
	peer_publish(&p, "cx/v1/receipt/yn-01", "a\0b", 3, false);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.len, 3);
	assert_memory_equal(ev.payload, "a\0b\0", 4);
	mq_event_clear(&ev);

	/* Many, in order; the fd stays readable until the queue is empty. */
	for (int i = 0; i < 200; i++) {
		snprintf(topic, sizeof(topic), "cx/v1/receipt/n%d", i);
		snprintf(body, sizeof(body), "%d", i);
		peer_publish(&p, topic, body, strlen(body), false);
	}
	for (int i = 0; i < 200; i++) {
		assert_true(next_event(m, &ev, WAIT_MS));
		snprintf(topic, sizeof(topic), "cx/v1/receipt/n%d", i);
		snprintf(body, sizeof(body), "%d", i);
		assert_string_equal(ev.topic, topic);
		assert_string_equal((char *)ev.payload, body);
		mq_event_clear(&ev);
		if (i == 199)
			break;
		/* While any is queued, or on its way. */
		if (!fd_readable(m)) {
			struct pollfd pfd = { .fd = mq_fd(m), .events = POLLIN };

			assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
		}
	}
	assert_int_equal(mq_next(m, &ev), 0);
	assert_false(fd_readable(m));
	mq_free(m);
	peer_free(&p);
}

static bool wait_dropped(struct mq *m, uint64_t n)
{
	int64_t end = mono_ms() + WAIT_MS;

	while (mq_dropped(m) < n && mono_ms() < end)
		usleep(10000);
	return mq_dropped(m) == n;
}

static void queue_limit(void **state)
{
	char hundred[100];
	struct mq_cfg cfg;
	struct mq_event ev;
	struct peer p;
	struct mq *m;

	memset(hundred, 'x', sizeof(hundred));
	peer_listen(&p);
	cfg = base_cfg(p.port);
	cfg.max_queue_bytes = 250;
	m = mq_new(&cfg);
	assert_non_null(m);
	handshake(&p, m, &cfg);

	/* Two fit, the third is dropped and counted. */
	peer_publish(&p, "cx/v1/receipt/a", hundred, 100, false);
	peer_publish(&p, "cx/v1/receipt/b", hundred, 100, false);
	peer_publish(&p, "cx/v1/receipt/c", hundred, 100, false);
	assert_true(wait_dropped(m, 1));
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_string_equal(ev.topic, "cx/v1/receipt/a");
	mq_event_clear(&ev);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_string_equal(ev.topic, "cx/v1/receipt/b");
	mq_event_clear(&ev);
	assert_int_equal(mq_next(m, &ev), 0);

	/* Taking them made room again. */
	peer_publish(&p, "cx/v1/receipt/d", hundred, 100, false);
	peer_publish(&p, "cx/v1/receipt/e", hundred, 100, false);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_string_equal(ev.topic, "cx/v1/receipt/d");
	mq_event_clear(&ev);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_string_equal(ev.topic, "cx/v1/receipt/e");
	mq_event_clear(&ev);
	assert_int_equal(mq_dropped(m), 1);

	/* Connection events are not payload: they always queue. */
	peer_publish(&p, "cx/v1/receipt/f", hundred, 100, false);
	peer_publish(&p, "cx/v1/receipt/g", hundred, 100, false);
	peer_publish(&p, "cx/v1/receipt/h", hundred, 100, false);
	assert_true(wait_dropped(m, 2));
	peer_close(&p);
	assert_true(next_event(m, &ev, WAIT_MS));
	mq_event_clear(&ev);
	assert_true(next_event(m, &ev, WAIT_MS));
	mq_event_clear(&ev);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.type, MQ_EV_DISCONNECTED);
	mq_free(m);
	peer_free(&p);
}

struct direct_log {
	atomic_int n;
	char topic[64];
	char payload[16];
	size_t len;
	int64_t recv_us;
};

static bool take_live(void *ud, const char *topic, const void *payload, size_t len,
		      int64_t recv_us)
{
	struct direct_log *d = ud;

	if (strncmp(topic, "cx/v1/live/", 11))
		return false;
	snprintf(d->topic, sizeof(d->topic), "%s", topic);
	d->len = len;
	memcpy(d->payload, payload, len < sizeof(d->payload) ? len : sizeof(d->payload));
	d->recv_us = recv_us;
	atomic_fetch_add(&d->n, 1);
	return true;
}

static void direct_handler(void **state)
{
	struct direct_log d = { 0 };
	struct mq_cfg cfg;
	struct mq_event ev;
	struct peer p;
	struct mq *m;

	peer_listen(&p);
	cfg = base_cfg(p.port);
	cfg.direct = take_live;
	cfg.direct_ud = &d;
	m = mq_new(&cfg);
	assert_non_null(m);
	handshake(&p, m, &cfg);
	peer_publish(&p, "cx/v1/live/main", "frame", 5, false);
	peer_publish(&p, "cx/v1/receipt/yn-01", "r", 1, false);
	/* What the handler took is not queued; the rest is. */
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_string_equal(ev.topic, "cx/v1/receipt/yn-01");
	mq_event_clear(&ev);
	assert_int_equal(atomic_load(&d.n), 1);
	assert_string_equal(d.topic, "cx/v1/live/main");
	assert_int_equal(d.len, 5);
	assert_memory_equal(d.payload, "frame", 5);
	assert_true(d.recv_us > 0);
	assert_int_equal(mq_next(m, &ev), 0);
	mq_free(m);
	peer_free(&p);
}

static void oversize_dropped(void **state)
{
	char *big = calloc(1, 2000);
	struct mq_cfg cfg;
	struct mq_event ev;
	struct peer p;
	struct mq *m;

	peer_listen(&p);
	cfg = base_cfg(p.port);
	cfg.max_packet = 1000;
	m = mq_new(&cfg);
	assert_non_null(m);
	handshake(&p, m, &cfg);
	/* Larger than the session accepts, though the broker sent it. */
	peer_publish(&p, "cx/v1/receipt/big", big, 2000, false);
	peer_publish(&p, "cx/v1/receipt/small", "s", 1, false);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.type, MQ_EV_MESSAGE);
	assert_string_equal(ev.topic, "cx/v1/receipt/small");
	mq_event_clear(&ev);
	assert_int_equal(mq_next(m, &ev), 0);
	mq_free(m);
	peer_free(&p);
	free(big);
}

static void publishes(void **state)
{
	struct pkt *k = malloc(sizeof(*k));
	struct mq_cfg cfg;
	struct peer p;
	struct mq *m;
	char t[64];
	unsigned mid;
	size_t i, pl;

	peer_listen(&p);
	cfg = base_cfg(p.port);
	m = mq_new(&cfg);
	assert_non_null(m);
	handshake(&p, m, &cfg);

	/* QoS 1, retained: in flight until the broker's PUBACK. */
	assert_int_equal(mq_publish(m, "cx/v1/plan/yn-01", "plan", 4, 1, true), 0);
	assert_int_equal(mq_inflight(m), 1);
	assert_true(peer_read(&p, k, WAIT_MS));
	assert_int_equal(k->type, 0x30 | 0x02 | 0x01);
	i = get_str(k->b, t, sizeof(t));
	assert_string_equal(t, "cx/v1/plan/yn-01");
	mid = get16(k->b + i);
	i += 2;
	i += get_varint(k->b + i, &pl) + pl;
	assert_int_equal(k->len - i, 4);
	assert_memory_equal(k->b + i, "plan", 4);
	assert_int_equal(mq_flush(m, 200), -ETIMEDOUT);
	assert_int_equal(mq_inflight(m), 1);
	const unsigned char puback[] = { (unsigned char)(mid >> 8), (unsigned char)mid };
	peer_send(&p, 0x40, puback, 2);
	assert_int_equal(mq_flush(m, WAIT_MS), 0);
	assert_int_equal(mq_inflight(m), 0);

	/* QoS 0 is not waited for. */
	assert_int_equal(mq_publish(m, "cx/v1/live/main", "f", 1, 0, false), 0);
	assert_int_equal(mq_inflight(m), 0);
	assert_true(peer_read(&p, k, WAIT_MS));
	assert_int_equal(k->type, 0x30);
	i = get_str(k->b, t, sizeof(t));
	assert_string_equal(t, "cx/v1/live/main");
	assert_int_equal(mq_flush(m, WAIT_MS), 0);

	/* A packet larger than 256 MiB is refused before anything is sent. */
	assert_int_equal(mq_publish(m, "cx/v1/x", "a", (256u << 20) + 1, 1, false), -EMSGSIZE);
	assert_int_equal(mq_inflight(m), 0);
	/* A topic that is not one. */
	assert_int_equal(mq_publish(m, "cx/v1/+", "a", 1, 1, false), -EIO);
	assert_int_equal(mq_inflight(m), 0);
	mq_free(m);
	peer_free(&p);
	free(k);
}

static void reconnects_with_same_session(void **state)
{
	struct pkt *k = malloc(sizeof(*k));
	struct mq_cfg cfg;
	struct mq_event ev;
	struct connect c1, c2;
	struct peer p;
	struct sub s;
	struct mq *m;
	int64_t closed;

	peer_listen(&p);
	cfg = base_cfg(p.port);
	m = mq_new(&cfg);
	assert_non_null(m);
	assert_true(peer_accept(&p, WAIT_MS));
	assert_true(peer_read(&p, k, WAIT_MS));
	parse_connect(k, &c1);
	peer_connack(&p, 0);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.type, MQ_EV_CONNECTED);
	assert_true(peer_read(&p, k, WAIT_MS));
	assert_true(peer_read(&p, k, WAIT_MS));

	/* The broker goes away. */
	peer_close(&p);
	closed = mono_ms();
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.type, MQ_EV_DISCONNECTED);
	assert_true(ev.reason[0] != '\0');
	assert_string_not_equal(ev.reason, "Unknown reason");
	assert_false(mq_connected(m));
	assert_int_equal(mq_publish(m, "cx/v1/x", "a", 1, 1, false), -ENOTCONN);
	/* Only one event for one loss. */
	assert_false(next_event(m, &ev, 100));

	/* It comes back after the first wait (0.5 s, spread +-25 %), with the
	 * same CONNECT: the session expiry is what keeps queued QoS 1 messages. */
	assert_true(peer_accept(&p, WAIT_MS));
	assert_true(mono_ms() - closed >= 350);
	assert_true(peer_read(&p, k, WAIT_MS));
	parse_connect(k, &c2);
	assert_int_equal(c2.flags, c1.flags);
	assert_false(c2.flags & 0x02);
	assert_int_equal(c2.session_expiry, 3600);
	assert_int_equal(c2.max_packet, 65536);
	assert_int_equal(c2.keepalive, c1.keepalive);
	assert_string_equal(c2.client_id, c1.client_id);
	peer_connack(&p, 0);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.type, MQ_EV_CONNECTED);
	assert_true(mq_connected(m));
	/* Subscribed again at every connect. */
	assert_true(peer_read(&p, k, WAIT_MS));
	parse_subscribe(k, &s);
	assert_string_equal(s.topic[0], "cx/v1/time/+/ping");
	peer_suback(&p, &s);
	assert_true(peer_read(&p, k, WAIT_MS));
	parse_subscribe(k, &s);
	assert_string_equal(s.topic[0], "cx/v1/receipt/+");
	peer_suback(&p, &s);
	assert_int_equal(mq_publish(m, "cx/v1/x", "a", 1, 0, false), 0);
	mq_free(m);
	peer_free(&p);
	free(k);
}

static void refused_connack_retried(void **state)
{
	struct pkt *k = malloc(sizeof(*k));
	struct mq_cfg cfg;
	struct mq_event ev;
	struct connect c;
	struct peer p;
	struct mq *m;
	int64_t refused;

	peer_listen(&p);
	cfg = base_cfg(p.port);
	m = mq_new(&cfg);
	assert_non_null(m);
	assert_true(peer_accept(&p, WAIT_MS));
	assert_true(peer_read(&p, k, WAIT_MS));
	peer_connack(&p, 0x87); /* not authorized */
	refused = mono_ms();
	/* The session closes it and says nothing: it never was connected. */
	assert_true(peer_eof(&p, WAIT_MS));
	peer_close(&p);
	assert_false(mq_connected(m));
	assert_false(next_event(m, &ev, 100));

	/* and tries again, backing off. */
	assert_true(peer_accept(&p, WAIT_MS));
	assert_true(mono_ms() - refused >= 400);
	assert_true(peer_read(&p, k, WAIT_MS));
	parse_connect(k, &c);
	assert_int_equal(c.session_expiry, 3600);
	peer_connack(&p, 0);
	assert_int_equal(mq_wait_connected(m, WAIT_MS), 0);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.type, MQ_EV_CONNECTED);
	mq_free(m);
	peer_free(&p);
	free(k);
}

static void clean_disconnect(void **state)
{
	struct pkt *k = malloc(sizeof(*k));
	struct mq_cfg cfg;
	struct peer p;
	struct mq *m;

	peer_listen(&p);
	cfg = base_cfg(p.port);
	cfg.will_topic = "cx/v1/status/yn-01";
	cfg.will_payload = "offline";
	cfg.will_len = 7;
	m = mq_new(&cfg);
	assert_non_null(m);
	handshake(&p, m, &cfg);
	/* (The session thread idle, waiting for traffic.) */
	usleep(300000);
	mq_free(m);
	/* A DISCONNECT with "normal disconnection" (0): the broker drops the
	 * will. */
	assert_true(peer_read(&p, k, WAIT_MS));
	assert_int_equal(k->type, 0xe0);
	assert_true(k->len == 0 || k->b[0] == 0);
	assert_true(peer_eof(&p, WAIT_MS));
	peer_free(&p);
	free(k);
}

/* Close the accepted connection with a reset, as a link that drops does. */
static void peer_reset(struct peer *p)
{
	struct linger lg = { 1, 0 };

	setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	peer_close(p);
}

static int64_t cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* A TLS handshake the link resets (libmosquitto takes the reset for "try
 * again" and would spin on the dead socket until the keepalive, 30 s): the
 * session gives the connection up at once and tries again after the short
 * wait, without burning the CPU meanwhile. No certificate is needed: the
 * handshake never gets past the ClientHello. */
static void tls_reset_in_handshake(void **state)
{
	struct pkt *k = malloc(sizeof(*k));
	struct mq_cfg cfg;
	struct peer p;
	struct mq *m;
	int64_t reset, cpu, again;

	peer_listen(&p);
	cfg = base_cfg(p.port);
	cfg.tls = true;
	m = mq_new(&cfg);
	assert_non_null(m);
	assert_true(peer_accept(&p, WAIT_MS));
	for (int i = 0; i < 4; i++) {
		/* A reset as soon as the connection is there (the ClientHello
		 * may meet it: the case that spun), or after the ClientHello. */
		if (i % 2) {
			assert_true(read_full(p.fd, k->b, 1, WAIT_MS));
			assert_int_equal(k->b[0], 0x16);
		}
		peer_reset(&p);
		reset = mono_ms();
		cpu = cpu_ms();
		assert_true(peer_accept(&p, WAIT_MS));
		again = mono_ms() - reset;
		cpu = cpu_ms() - cpu;
		printf("attempt %d: again after %lld ms, %lld ms of CPU meanwhile\n", i,
		       (long long)again, (long long)cpu);
		assert_true(again <= 1500);
		assert_true(cpu <= again / 2 + 20);
	}
	assert_false(mq_connected(m));
	mq_free(m);
	peer_free(&p);
	free(k);
}

/* A broker (or a link) that takes the connection and never answers the
 * CONNECT: given up after connect_timeout_ms, and tried again. */
static void stalled_connect_given_up(void **state)
{
	struct pkt *k = malloc(sizeof(*k));
	struct mq_cfg cfg;
	struct mq_event ev;
	struct peer p;
	struct mq *m;
	int64_t t0, took;

	peer_listen(&p);
	cfg = base_cfg(p.port);
	cfg.connect_timeout_ms = 400;
	m = mq_new(&cfg);
	assert_non_null(m);
	assert_true(peer_accept(&p, WAIT_MS));
	assert_true(peer_read(&p, k, WAIT_MS));
	assert_int_equal(k->type, 0x10);
	t0 = mono_ms();
	/* No CONNACK: the session closes the connection... */
	assert_true(peer_eof(&p, WAIT_MS));
	took = mono_ms() - t0;
	printf("given up after %lld ms\n", (long long)took);
	assert_true(took >= 300 && took <= 2000);
	peer_close(&p);
	assert_false(next_event(m, &ev, 50));
	/* ...and connects again. */
	handshake(&p, m, &cfg);
	mq_free(m);
	peer_free(&p);
	free(k);
}

/* QoS 1 publishes stay in flight across a lost connection (mq_flush does
 * not take the loss for an acknowledgement) and are sent again after the
 * reconnect; a QoS 0 publish written meanwhile acknowledges nothing. */
static void inflight_across_reconnect(void **state)
{
	struct pkt *k = malloc(sizeof(*k));
	struct mq_cfg cfg;
	struct mq_event ev;
	struct peer p;
	struct mq *m;
	char t[64];
	unsigned mid, mid2;
	size_t i;

	peer_listen(&p);
	cfg = base_cfg(p.port);
	m = mq_new(&cfg);
	assert_non_null(m);
	handshake(&p, m, &cfg);
	assert_int_equal(mq_publish(m, "cx/v1/receipt/yn-01", "r1", 2, 1, false), 0);
	assert_int_equal(mq_publish(m, "cx/v1/time/yn-01/ping", "p", 1, 0, false), 0);
	assert_true(peer_read(&p, k, WAIT_MS));
	assert_int_equal(k->type, 0x32);
	i = get_str(k->b, t, sizeof(t));
	mid = get16(k->b + i);
	assert_true(peer_read(&p, k, WAIT_MS));
	assert_int_equal(k->type, 0x30);
	assert_int_equal(mq_flush(m, 200), -ETIMEDOUT);
	assert_int_equal(mq_inflight(m), 1);

	/* The link drops before the PUBACK. */
	peer_reset(&p);
	assert_true(next_event(m, &ev, WAIT_MS));
	assert_int_equal(ev.type, MQ_EV_DISCONNECTED);
	assert_int_equal(mq_inflight(m), 1);
	assert_int_equal(mq_flush(m, 100), -ENOTCONN);

	/* Back: the same publish again, marked a duplicate, then acknowledged. */
	handshake(&p, m, &cfg);
	assert_true(peer_read(&p, k, WAIT_MS));
	assert_int_equal(k->type, 0x32 | 0x08);
	i = get_str(k->b, t, sizeof(t));
	assert_string_equal(t, "cx/v1/receipt/yn-01");
	mid2 = get16(k->b + i);
	assert_int_equal(mid2, mid);
	assert_int_equal(mq_inflight(m), 1);
	const unsigned char puback[] = { (unsigned char)(mid >> 8), (unsigned char)mid };
	peer_send(&p, 0x40, puback, 2);
	assert_int_equal(mq_flush(m, WAIT_MS), 0);
	assert_int_equal(mq_inflight(m), 0);
	mq_free(m);
	peer_free(&p);
	free(k);
}

/* mq_free() while the session is busy sending: the DISCONNECT still goes
 * out after what was queued, so the broker does not publish the will. */
static void clean_disconnect_busy(void **state)
{
	struct pkt *k = malloc(sizeof(*k));
	static char big[1024];     /* 20 of them fit in the socket buffers */
	struct mq_cfg cfg;
	struct peer p;
	struct mq *m;

	memset(big, 'a', sizeof(big));
	peer_listen(&p);
	cfg = base_cfg(p.port);
	cfg.will_topic = "cx/v1/status/yn-01";
	cfg.will_payload = "offline";
	cfg.will_len = 7;
	for (int round = 0; round < 5; round++) {
		int n = 0;

		m = mq_new(&cfg);
		assert_non_null(m);
		handshake(&p, m, &cfg);
		/* Until the session has read the SUBACKs: a socket closed with
		 * bytes unread resets, and the reset would take the publishes
		 * still in our receive buffer with it. */
		usleep(200000);
		for (int i = 0; i < 20; i++)
			assert_int_equal(mq_publish(m, "cx/v1/live/main", big, sizeof(big), 0, false), 0);
		mq_free(m);
		while (peer_read(&p, k, WAIT_MS) && k->type == 0x30)
			n++;
		printf("round %d: %d publishes, then 0x%02x\n", round, n, k->type);
		assert_int_equal(n, 20);
		assert_int_equal(k->type, 0xe0);
		assert_true(peer_eof(&p, WAIT_MS));
		peer_close(&p);
	}
	peer_free(&p);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_url),
		cmocka_unit_test(too_many_subs),
		cmocka_unit_test(no_broker),
		cmocka_unit_test(connect_packet),
		cmocka_unit_test(subscribes_by_qos),
		cmocka_unit_test(messages_in),
		cmocka_unit_test(queue_limit),
		cmocka_unit_test(direct_handler),
		cmocka_unit_test(oversize_dropped),
		cmocka_unit_test(publishes),
		cmocka_unit_test(reconnects_with_same_session),
		cmocka_unit_test(refused_connack_retried),
		cmocka_unit_test(clean_disconnect),
		cmocka_unit_test(tls_reset_in_handshake),
		cmocka_unit_test(stalled_connect_given_up),
		cmocka_unit_test(inflight_across_reconnect),
		cmocka_unit_test(clean_disconnect_busy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
