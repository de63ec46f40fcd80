/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_pub.c -- loading the signing key, and what is signed and published, as a
 * scripted MQTT peer on loopback receives it */
#define _GNU_SOURCE /* accept4 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAIT_MS 5000

static char dir[64], keypath[128];

static int setup(void **state)
{
	struct env_key k;

	assert_true(sodium_init() >= 0);
	strcpy(dir, "/tmp/test_pub.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(env_keygen(dir, &k), 0);
	snprintf(keypath, sizeof(keypath), "%s/signing.key", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* ---- a scripted MQTT 5 peer (no broker is started) -------------------- */

struct peer {
	int lfd, fd, port;
};

static void peer_listen(struct peer *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->fd = -1;
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->lfd >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(p->lfd, 4), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &al), 0);
	p->port = ntohs(a.sin_port);
}

static void peer_free(struct peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	close(p->lfd);
}

static bool read_full(int fd, unsigned char *buf, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < n) {
		ssize_t k;

		if (poll(&pfd, 1, WAIT_MS) != 1)
			return false;
		k = read(fd, buf + got, n - got);
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

struct pkt {
	unsigned char type;
	size_t len;
	unsigned char b[70000];
};

/* The next packet that is not a PINGREQ. */
static void peer_read(struct peer *p, struct pkt *k)
{
	do {
		unsigned char c;
		size_t mult = 1;

		assert_true(read_full(p->fd, &k->type, 1));
		k->len = 0;
		do {
			assert_true(read_full(p->fd, &c, 1));
			k->len += (c & 127) * mult;
			mult *= 128;
		} while (c & 128);
		assert_true(k->len <= sizeof(k->b));
		assert_true(read_full(p->fd, k->b, k->len));
	} while (k->type == 0xc0);
}

/* Accept the session of M, take its CONNECT, answer it. */
static void peer_connect(struct peer *p, struct mq *m)
{
	static const unsigned char connack[] = { 0x20, 3, 0, 0, 0 };
	struct pollfd pfd = { .fd = p->lfd, .events = POLLIN };
	struct pkt *k = malloc(sizeof(*k));

	assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
	p->fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(p->fd >= 0);
	peer_read(p, k);
	assert_int_equal(k->type, 0x10);
	assert_int_equal(write(p->fd, connack, sizeof(connack)), (ssize_t)sizeof(connack));
	assert_int_equal(mq_wait_connected(m, WAIT_MS), 0);
	free(k);
}

/* A PUBLISH the session sent: its flags, topic and payload (malloc'ed). */
struct published {
	bool retain;
	int qos;
	char topic[128];
	unsigned char *payload;
	size_t len;
};

static void peer_published(struct peer *p, struct published *out)
{
	struct pkt *k = malloc(sizeof(*k));
	size_t i, tl, pl = 0, mult = 1;

	peer_read(p, k);
	assert_int_equal(k->type & 0xf0, 0x30);
	out->retain = k->type & 1;
	out->qos = (k->type >> 1) & 3;
	tl = (size_t)k->b[0] << 8 | k->b[1];
	assert_true(tl < sizeof(out->topic));
	memcpy(out->topic, k->b + 2, tl);
	out->topic[tl] = '\0';
	i = 2 + tl;
	if (out->qos) {
		/* Acknowledge it. */
		const unsigned char puback[] = { 0x40, 2, k->b[i], k->b[i + 1] };

		assert_int_equal(write(p->fd, puback, 4), 4);
		i += 2;
	}
	do {
		pl += (k->b[i] & 127) * mult;
		mult *= 128;
	} while (k->b[i++] & 128);
	i += pl;
	out->len = k->len - i;
	out->payload = malloc(out->len + 1);
	memcpy(out->payload, k->b + i, out->len);
	out->payload[out->len] = '\0';
	free(k);
}

static struct mq *session(int port)
{
	struct mq_cfg cfg = {
		.client_id = "cx-test-pub",
		.host = "127.0.0.1",
		.port = port,
		.clean_start = true,
	};
	struct mq *m = mq_new(&cfg);

	assert_non_null(m);
	return m;
}

/* ---- tests ----------------------------------------------------------------- */

static void init_and_wipe(void **state)
{
	struct pub p = { 0 }, empty = { 0 };
	struct env_key pubkey;
	char path[160], err[512] = "", want[512];

	assert_int_equal(pub_init(&p, keypath, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/signing.pub", dir);
	assert_int_equal(env_pub_load(path, &pubkey), 0);
	assert_memory_equal(p.key.pk, pubkey.pk, ENV_PK_BYTES);
	assert_string_equal(p.key.id, pubkey.id);
	assert_memory_not_equal(p.sk, empty.sk, ENV_SK_BYTES);
	pub_wipe(&p);
	assert_memory_equal(p.sk, empty.sk, ENV_SK_BYTES);

	snprintf(path, sizeof(path), "%s/missing.key", dir);
	assert_int_equal(pub_init(&p, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "cannot load signing key %s: No such file or directory", path);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/bad.key", dir);
	write_file(path, "not a key\n", 10);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(pub_init(&p, path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "cannot load signing key %s: not a key written by "
		 "`cunxiang keygen`", path);
	assert_string_equal(err, want);

	/* The public half is not the secret key. */
	snprintf(path, sizeof(path), "%s/signing.pub", dir);
	assert_int_equal(pub_init(&p, path, err, sizeof(err)), -EINVAL);
}

static void refused_before_publishing(void **state)
{
	struct peer l;
	struct pub p = { 0 };
	char err[256], path[160], *big;
	json_t *o = json_pack("{ss}", "type", "plan");

	assert_int_equal(pub_init(&p, keypath, err, sizeof(err)), 0);
	/* A port where nothing listens. */
	peer_listen(&l);
	close(l.lfd);
	p.mq = session(l.port);
	assert_int_equal(pub_signed(&p, "cx/v1/plan/yn-01", o, 1, true), -ENOTCONN);
	assert_int_equal(pub_signed_text(&p, "cx/v1/plan/yn-01", "{}", 2, 1, true), -ENOTCONN);
	/* A JSON text with a newline cannot be signed. */
	assert_int_equal(pub_signed_text(&p, "cx/v1/plan/yn-01", "{\n}", 3, 1, true), -EINVAL);
	/* Files: missing, too large, a directory. */
	snprintf(path, sizeof(path), "%s/missing.opus", dir);
	assert_int_equal(pub_file(&p, "cx/v1/asset/x", path, 1000), -ENOENT);
	snprintf(path, sizeof(path), "%s/big.opus", dir);
	big = calloc(1, 2000);
	write_file(path, big, 2000);
	free(big);
	assert_int_equal(pub_file(&p, "cx/v1/asset/x", path, 1999), -EFBIG);
	assert_int_equal(pub_file(&p, "cx/v1/asset/x", path, 2000), -ENOTCONN);
	assert_int_equal(pub_file(&p, "cx/v1/asset/x", dir, 2000), -EISDIR);
	json_decref(o);
	mq_free(p.mq);
	pub_wipe(&p);
}

static void signed_and_published(void **state)
{
	struct published got;
	struct peer l;
	struct pub p = { 0 };
	char err[256], path[160];
	unsigned char bytes[300];
	size_t jl;
	json_t *o;

	assert_int_equal(pub_init(&p, keypath, err, sizeof(err)), 0);
	peer_listen(&l);
	p.mq = session(l.port);
	peer_connect(&l, p.mq);

	/* An object: compact, in its key order, signed with the key. */
	o = json_pack("{sssssI}", "type", "plan", "node", "yn-01", "issued_ms",
		      (json_int_t)1796081400000LL);
	assert_int_equal(pub_signed(&p, "cx/v1/plan/yn-01", o, 1, true), 0);
	json_decref(o);
	peer_published(&l, &got);
	assert_string_equal(got.topic, "cx/v1/plan/yn-01");
	assert_int_equal(got.qos, 1);
	assert_true(got.retain);
	assert_int_equal(env_verify((char *)got.payload, got.len, &p.key, 1, &jl), 0);
	got.payload[jl] = '\0';
	assert_string_equal((char *)got.payload,
			    "{\"type\":\"plan\",\"node\":\"yn-01\",\"issued_ms\":1796081400000}");
	free(got.payload);

	/* A text as it is, QoS 0, not retained. */
	assert_int_equal(pub_signed_text(&p, "cx/v1/ack/yn-01", "{\"type\":\"ack\"}xyz", 14, 0,
					 false), 0);
	peer_published(&l, &got);
	assert_string_equal(got.topic, "cx/v1/ack/yn-01");
	assert_int_equal(got.qos, 0);
	assert_false(got.retain);
	assert_int_equal(env_verify((char *)got.payload, got.len, &p.key, 1, &jl), 0);
	assert_int_equal(jl, 14);
	assert_memory_equal(got.payload, "{\"type\":\"ack\"}\n", 15);
	free(got.payload);

	/* A file's bytes as they are, retained at QoS 1, unsigned. */
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 7);
	snprintf(path, sizeof(path), "%s/asset.opus", dir);
	write_file(path, bytes, sizeof(bytes));
	assert_int_equal(pub_file(&p, "cx/v1/asset/abc", path, sizeof(bytes)), 0);
	peer_published(&l, &got);
	assert_string_equal(got.topic, "cx/v1/asset/abc");
	assert_int_equal(got.qos, 1);
	assert_true(got.retain);
	assert_int_equal(got.len, sizeof(bytes));
	assert_memory_equal(got.payload, bytes, sizeof(bytes));
	free(got.payload);

	assert_int_equal(mq_flush(p.mq, WAIT_MS), 0);
	mq_free(p.mq);
	peer_free(&l);
	pub_wipe(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_and_wipe),
		cmocka_unit_test(refused_before_publishing),
		cmocka_unit_test(signed_and_published),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
