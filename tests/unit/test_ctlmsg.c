/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_ctlmsg.c -- ack, ping, pong, cmd, want and keys: round trips and every refusal */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctlmsg.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA2 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define T0 1796081400000LL /* 2026-12-01 07:30 Asia/Shanghai */

static unsigned char sk[ENV_SK_BYTES];
static struct env_key pub;
static char err[256];

static int setup(void **state)
{
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pub.pk, sk);
	env_keyid(pub.pk, pub.id);
	return 0;
}

/* The signed JSON of the envelope MSG (checked against PUB), NUL-terminated
 * in place; *JL its length. */
static char *opened(char *msg, size_t len, size_t *jl)
{
	assert_int_equal(env_verify(msg, len, &pub, 1, jl), 0);
	msg[*jl] = '\0';
	assert_null(strchr(msg, '\n'));
	return msg;
}

/* ---- ack ----------------------------------------------------------------- */

static void ack_round_trip(void **state)
{
	struct ctl_ack a = { .node = "yn-01", .seq = 4711 }, b;
	char *msg;
	size_t len, jl;

	strcpy(a.key, pub.id);
	assert_int_equal(ctl_ack_sign(&a, sk, &msg, &len), 0);
	opened(msg, len, &jl);
	char want[128];
	snprintf(want, sizeof(want), "{\"type\":\"ack\",\"node\":\"yn-01\",\"key\":\"%s\",\"seq\":4711}",
		 pub.id);
	assert_string_equal(msg, want);
	assert_int_equal(ctl_ack_parse(msg, jl, "yn-01", &b, err, sizeof(err)), 0);
	assert_string_equal(b.node, "yn-01");
	assert_string_equal(b.key, pub.id);
	assert_int_equal(b.seq, 4711);
	/* Any node when the topic names none. */
	assert_int_equal(ctl_ack_parse(msg, jl, NULL, &b, err, sizeof(err)), 0);
	/* Another pole's ack is not this pole's. */
	assert_int_equal(ctl_ack_parse(msg, jl, "yn-02", &b, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "node: 'yn-01' is not the node of the topic");
	free(msg);

	a.seq = WIRE_SEQ_MAX;
	assert_int_equal(ctl_ack_sign(&a, sk, &msg, &len), 0);
	opened(msg, len, &jl);
	assert_int_equal(ctl_ack_parse(msg, jl, "yn-01", &b, err, sizeof(err)), 0);
	assert_int_equal(b.seq, WIRE_SEQ_MAX);
	free(msg);
}

static void ack_sign_refuses(void **state)
{
	struct ctl_ack a = { .node = "yn-01", .seq = 1 };
	char *msg = NULL;
	size_t len;

	strcpy(a.key, pub.id);
	a.seq = 0;
	assert_int_equal(ctl_ack_sign(&a, sk, &msg, &len), -EINVAL);
	a.seq = WIRE_SEQ_MAX + 1;
	assert_int_equal(ctl_ack_sign(&a, sk, &msg, &len), -EINVAL);
	a.seq = 1;
	strcpy(a.node, "YN-01");
	assert_int_equal(ctl_ack_sign(&a, sk, &msg, &len), -EINVAL);
	strcpy(a.node, "yn-01");
	strcpy(a.key, "0123456789ABCDEF");
	assert_int_equal(ctl_ack_sign(&a, sk, &msg, &len), -EINVAL);
	strcpy(a.key, "0123456789abcde");
	assert_int_equal(ctl_ack_sign(&a, sk, &msg, &len), -EINVAL);
	strcpy(a.key, "0123456789abcdeg");
	assert_int_equal(ctl_ack_sign(&a, sk, &msg, &len), -EINVAL);
	assert_null(msg);
}

/* Parse TEXT as an ack for yn-01: its result, ERR holds the reason. */
static int ack(const char *text)
{
	struct ctl_ack a;

	err[0] = '\0';
	return ctl_ack_parse(text, strlen(text), "yn-01", &a, err, sizeof(err));
}

static void ack_parse_refuses(void **state)
{
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"yn-01\",\"key\":\"0123456789abcdef\",\"seq\":1}"), 0);

	assert_int_equal(ack(""), -EBADMSG);
	assert_string_equal(err, "empty message");
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"yn-01\""), -EBADMSG);
	assert_non_null(strstr(err, "JSON at line 1"));
	assert_int_equal(ack("{\"type\":\"pong\",\"node\":\"yn-01\",\"key\":\"0123456789abcdef\",\"seq\":1}"), -EBADMSG);
	assert_string_equal(err, "type: must be \"ack\"");
	assert_int_equal(ack("{\"node\":\"yn-01\",\"key\":\"0123456789abcdef\",\"seq\":1}"), -EBADMSG);
	assert_int_equal(ack("{\"type\":\"ack\",\"key\":\"0123456789abcdef\",\"seq\":1}"), -EBADMSG);
	assert_string_equal(err, "node: missing");
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"yn-01\",\"seq\":1}"), -EBADMSG);
	assert_string_equal(err, "key: missing");
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"yn-01\",\"key\":\"0123456789abcdef\"}"), -EBADMSG);
	assert_string_equal(err, "seq: missing");
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"yn-01\",\"key\":\"0123456789ABCDEF\",\"seq\":1}"), -EBADMSG);
	assert_string_equal(err, "key: must be 16 lower-case hex digits");
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"yn-01\",\"key\":\"0123456789abcdef0\",\"seq\":1}"), -EBADMSG);
	assert_string_equal(err, "key: length 17 is out of range 1..16");
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"yn-01\",\"key\":\"0123456789abcdef\",\"seq\":0}"), -EBADMSG);
	assert_string_equal(err, "seq: 0 is out of range 1..9007199254740991");
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"yn-01\",\"key\":\"0123456789abcdef\",\"seq\":9007199254740992}"), -EBADMSG);
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"yn-01\",\"key\":\"0123456789abcdef\",\"seq\":\"1\"}"), -EBADMSG);
	assert_string_equal(err, "seq: must be an integer");
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"yn-01\",\"key\":\"0123456789abcdef\",\"seq\":1.5}"), -EBADMSG);
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"yn-01\",\"key\":\"0123456789abcdef\",\"seq\":1,\"seq\":9}"), -EBADMSG);
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":[\"yn-01\"],\"key\":\"0123456789abcdef\",\"seq\":1}"), -EBADMSG);
	assert_string_equal(err, "node: must be a string");
	assert_int_equal(ack("{\"type\":\"ack\",\"node\":\"YN-01\",\"key\":\"0123456789abcdef\",\"seq\":1}"), -EBADMSG);
	assert_string_equal(err, "node: 'YN-01' is not the node of the topic");
	assert_int_equal(ack("[{\"type\":\"ack\"}]"), -EBADMSG);
	assert_string_equal(err, "not a JSON object");
}

static void oversize_and_null_err(void **state)
{
	size_t n = WIRE_SMALL_MAX + 1;
	char *big = malloc(n + 1);
	struct ctl_ack a;
	int k;

	assert_non_null(big);
	k = sprintf(big, "{\"type\":\"ack\",\"node\":\"yn-01\",\"key\":\"0123456789abcdef\",\"seq\":1,\"pad\":\"");
	memset(big + k, 'x', n - (size_t)k - 2);
	memcpy(big + n - 2, "\"}", 3);
	assert_int_equal(strlen(big), n);
	assert_int_equal(ctl_ack_parse(big, n, NULL, &a, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "message of 16385 bytes is larger than 16384");
	/* One byte less passes. */
	memcpy(big + n - 3, "\"}", 3);
	assert_int_equal(ctl_ack_parse(big, n - 1, NULL, &a, err, sizeof(err)), 0);
	free(big);
	/* No room for a reason is fine. */
	assert_int_equal(ctl_ack_parse("{}", 2, NULL, &a, NULL, 0), -EBADMSG);
}

/* ---- ping, pong ---------------------------------------------------------- */

static void ping(void **state)
{
	int64_t t = -1;
	char *json;
	size_t len;

	assert_int_equal(ctl_ping_build(1764547200123456LL, &json, &len), 0);
	assert_string_equal(json, "{\"type\":\"ping\",\"t0_us\":1764547200123456}");
	assert_int_equal(len, strlen(json));
	assert_int_equal(ctl_ping_parse(json, len, &t, err, sizeof(err)), 0);
	assert_int_equal(t, 1764547200123456LL);
	free(json);

	/* DESIGN's form has no type. */
	assert_int_equal(ctl_ping_parse("{\"t0_us\":5}", 11, &t, err, sizeof(err)), 0);
	assert_int_equal(t, 5);
	assert_int_equal(ctl_ping_parse("{\"type\":\"pong\",\"t0_us\":5}", 25, &t, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "type: must be \"ping\"");
	assert_int_equal(ctl_ping_parse("{\"type\":7,\"t0_us\":5}", 20, &t, err, sizeof(err)), -EBADMSG);
	assert_int_equal(ctl_ping_parse("{}", 2, &t, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "t0_us: missing");
	assert_int_equal(ctl_ping_parse("{\"t0_us\":-1}", 12, &t, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "t0_us: -1 is out of range 0..4102444800000000");
	assert_int_equal(ctl_ping_parse("{\"t0_us\":4102444800000001}", 26, &t, err, sizeof(err)), -EBADMSG);
	assert_int_equal(ctl_ping_parse("{\"t0_us\":4102444800000000}", 26, &t, err, sizeof(err)), 0);
	assert_int_equal(ctl_ping_parse("{\"t0_us\":1,\"t0_us\":2}", 21, &t, err, sizeof(err)), -EBADMSG);
	assert_int_equal(ctl_ping_parse("{\"t0_us\":null}", 14, &t, err, sizeof(err)), -EBADMSG);
}

static void pong(void **state)
{
	struct ctl_pong p = { .node = "yn-01", .t0_us = 1, .t1_us = 2000, .t2_us = 3000 }, q;
	char *msg;
	size_t len, jl;

	assert_int_equal(ctl_pong_sign(&p, sk, &msg, &len), 0);
	opened(msg, len, &jl);
	assert_string_equal(msg, "{\"type\":\"pong\",\"node\":\"yn-01\",\"t0_us\":1,\"t1_us\":2000,\"t2_us\":3000}");
	assert_int_equal(ctl_pong_parse(msg, jl, "yn-01", &q, err, sizeof(err)), 0);
	assert_string_equal(q.node, "yn-01");
	assert_int_equal(q.t0_us, 1);
	assert_int_equal(q.t1_us, 2000);
	assert_int_equal(q.t2_us, 3000);
	assert_int_equal(ctl_pong_parse(msg, jl, "yn-02", &q, err, sizeof(err)), -EBADMSG);
	free(msg);

	strcpy(p.node, "");
	assert_int_equal(ctl_pong_sign(&p, sk, &msg, &len), -EINVAL);

	static const char *const bad[] = {
		"{\"type\":\"pong\",\"node\":\"yn-01\",\"t0_us\":1,\"t1_us\":2}",
		"{\"type\":\"pong\",\"node\":\"yn-01\",\"t0_us\":-1,\"t1_us\":2,\"t2_us\":3}",
		"{\"type\":\"pong\",\"node\":\"yn-01\",\"t0_us\":1,\"t1_us\":\"2\",\"t2_us\":3}",
		"{\"type\":\"pong\",\"t0_us\":1,\"t1_us\":2,\"t2_us\":3}",
		"{\"type\":\"ping\",\"node\":\"yn-01\",\"t0_us\":1,\"t1_us\":2,\"t2_us\":3}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ctl_pong_parse(bad[i], strlen(bad[i]), NULL, &q, err, sizeof(err)),
				 -EBADMSG);
}

/* ---- cmd ----------------------------------------------------------------- */

static void cmd(void **state)
{
	struct ctl_cmd_msg c = { .node = "yn-01", .issued_ms = T0, .cmd = CTL_CMD_RESEND }, d;
	char *msg = NULL;
	size_t len, jl;

	assert_int_equal(ctl_cmd_sign(&c, sk, &msg, &len), 0);
	opened(msg, len, &jl);
	assert_string_equal(msg, "{\"type\":\"cmd\",\"node\":\"yn-01\",\"issued_ms\":1796081400000,"
			    "\"cmd\":\"resend\"}");
	memset(&d, 0x55, sizeof(d));
	assert_int_equal(ctl_cmd_parse(msg, jl, "yn-01", &d, err, sizeof(err)), 0);
	assert_string_equal(d.node, "yn-01");
	assert_int_equal(d.issued_ms, T0);
	assert_int_equal(d.cmd, CTL_CMD_RESEND);
	free(msg);
	msg = NULL;

	c.cmd = (enum ctl_cmd)1;
	assert_int_equal(ctl_cmd_sign(&c, sk, &msg, &len), -EINVAL);
	c.cmd = CTL_CMD_RESEND;
	c.issued_ms = WIRE_MIN_INSTANT_MS - 1;
	assert_int_equal(ctl_cmd_sign(&c, sk, &msg, &len), -EINVAL);
	c.issued_ms = WIRE_MAX_INSTANT_MS + 1;
	assert_int_equal(ctl_cmd_sign(&c, sk, &msg, &len), -EINVAL);
	c.issued_ms = T0;
	strcpy(c.node, "a b");
	assert_int_equal(ctl_cmd_sign(&c, sk, &msg, &len), -EINVAL);
	assert_null(msg);

	static const char reboot[] = "{\"type\":\"cmd\",\"node\":\"yn-01\",\"issued_ms\":1796081400000,\"cmd\":\"reboot\"}";
	assert_int_equal(ctl_cmd_parse(reboot, strlen(reboot), "yn-01", &d, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "cmd: not one of the allowed values");
	/* Seconds for milliseconds is a bug, not a command. */
	static const char secs[] = "{\"type\":\"cmd\",\"node\":\"yn-01\",\"issued_ms\":1796081400,\"cmd\":\"resend\"}";
	assert_int_equal(ctl_cmd_parse(secs, strlen(secs), "yn-01", &d, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "issued_ms: 1796081400 is out of range 946684800000..4102444800000");
	static const char nocmd[] = "{\"type\":\"cmd\",\"node\":\"yn-01\",\"issued_ms\":1796081400000}";
	assert_int_equal(ctl_cmd_parse(nocmd, strlen(nocmd), "yn-01", &d, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "cmd: missing");
}

/* ---- want ---------------------------------------------------------------- */

static void want(void **state)
{
	struct ctl_want w = { .node = "yn-01", .issued_ms = T0, .plan = true, .nassets = 2 }, v;
	char *msg = NULL;
	size_t len, jl;

	strcpy(w.assets[0], SHA);
	strcpy(w.assets[1], SHA2);
	assert_int_equal(ctl_want_sign(&w, sk, &msg, &len), 0);
	opened(msg, len, &jl);
	assert_string_equal(msg, "{\"type\":\"want\",\"node\":\"yn-01\",\"issued_ms\":1796081400000,"
			    "\"plan\":true,\"assets\":[\"" SHA "\",\"" SHA2 "\"]}");
	assert_int_equal(ctl_want_parse(msg, jl, "yn-01", &v, err, sizeof(err)), 0);
	assert_string_equal(v.node, "yn-01");
	assert_int_equal(v.issued_ms, T0);
	assert_true(v.plan);
	assert_int_equal(v.nassets, 2);
	assert_string_equal(v.assets[0], SHA);
	assert_string_equal(v.assets[1], SHA2);
	assert_int_equal(ctl_want_parse(msg, jl, "yn-02", &v, err, sizeof(err)), -EBADMSG);
	free(msg);

	/* Nothing but the plan; as many assets as allowed. */
	w.plan = false;
	w.nassets = 0;
	assert_int_equal(ctl_want_sign(&w, sk, &msg, &len), 0);
	opened(msg, len, &jl);
	assert_int_equal(ctl_want_parse(msg, jl, NULL, &v, err, sizeof(err)), 0);
	assert_false(v.plan);
	assert_int_equal(v.nassets, 0);
	free(msg);
	w.nassets = CTL_WANT_MAX_ASSETS;
	for (size_t i = 0; i < CTL_WANT_MAX_ASSETS; i++)
		strcpy(w.assets[i], i % 2 ? SHA : SHA2);
	assert_int_equal(ctl_want_sign(&w, sk, &msg, &len), 0);
	opened(msg, len, &jl);
	assert_int_equal(ctl_want_parse(msg, jl, NULL, &v, err, sizeof(err)), 0);
	assert_int_equal(v.nassets, CTL_WANT_MAX_ASSETS);
	assert_string_equal(v.assets[15], SHA);
	free(msg);
	msg = NULL;

	w.nassets = CTL_WANT_MAX_ASSETS + 1;
	assert_int_equal(ctl_want_sign(&w, sk, &msg, &len), -EINVAL);
	w.nassets = 1;
	strcpy(w.assets[0], "not a hash");
	assert_int_equal(ctl_want_sign(&w, sk, &msg, &len), -EINVAL);
	strcpy(w.assets[0], SHA);
	w.issued_ms = 0;
	assert_int_equal(ctl_want_sign(&w, sk, &msg, &len), -EINVAL);
	assert_null(msg);
}

static void want_parse_refuses(void **state)
{
	char text[2048];
	struct ctl_want v;
	int n;

	/* Absent plan and assets: nothing asked. */
	n = sprintf(text, "{\"type\":\"want\",\"node\":\"yn-01\",\"issued_ms\":1796081400000}");
	assert_int_equal(ctl_want_parse(text, (size_t)n, "yn-01", &v, err, sizeof(err)), 0);
	assert_false(v.plan);
	assert_int_equal(v.nassets, 0);

	n = sprintf(text, "{\"type\":\"want\",\"node\":\"yn-01\",\"issued_ms\":1796081400000,\"plan\":1}");
	assert_int_equal(ctl_want_parse(text, (size_t)n, "yn-01", &v, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "plan: must be true or false");
	n = sprintf(text, "{\"type\":\"want\",\"node\":\"yn-01\",\"issued_ms\":1796081400000,"
		    "\"assets\":[\"" SHA "\",\"x\"]}");
	assert_int_equal(ctl_want_parse(text, (size_t)n, "yn-01", &v, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "assets[1]: must be 64 lower-case hex digits");
	assert_int_equal(v.nassets, 0);
	n = sprintf(text, "{\"type\":\"want\",\"node\":\"yn-01\",\"issued_ms\":1796081400000,"
		    "\"assets\":\"" SHA "\"}");
	assert_int_equal(ctl_want_parse(text, (size_t)n, "yn-01", &v, err, sizeof(err)), -EBADMSG);

	/* One more asset than a want may name. */
	n = sprintf(text, "{\"type\":\"want\",\"node\":\"yn-01\",\"issued_ms\":1796081400000,\"assets\":[");
	for (int i = 0; i <= CTL_WANT_MAX_ASSETS; i++)
		n += sprintf(text + n, "%s\"" SHA "\"", i ? "," : "");
	n += sprintf(text + n, "]}");
	assert_int_equal(ctl_want_parse(text, (size_t)n, "yn-01", &v, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "assets: must be an array of at most 16 hashes");
	assert_int_equal(v.nassets, 0);

	n = sprintf(text, "{\"type\":\"want\",\"node\":\"yn-01\"}");
	assert_int_equal(ctl_want_parse(text, (size_t)n, "yn-01", &v, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "issued_ms: missing");
}

/* ---- keys ---------------------------------------------------------------- */

static void new_key(struct env_key *k)
{
	unsigned char s[ENV_SK_BYTES];

	crypto_sign_keypair(k->pk, s);
	env_keyid(k->pk, k->id);
}

static void keys(void **state)
{
	struct ctl_keys k = { .issued_ms = T0, .nkeys = 2 }, l;
	char *msg = NULL, b64[ENV_PK_B64_LEN + 1], want[256];
	size_t len, jl;

	k.keys[0] = pub;
	new_key(&k.keys[1]);
	assert_int_equal(ctl_keys_sign(&k, sk, &msg, &len), 0);
	opened(msg, len, &jl);
	env_key_to_base64(pub.pk, b64);
	snprintf(want, sizeof(want), "{\"type\":\"keys\",\"issued_ms\":1796081400000,\"keys\":[\"%s\",", b64);
	assert_memory_equal(msg, want, strlen(want));
	assert_int_equal(ctl_keys_parse(msg, jl, &l, err, sizeof(err)), 0);
	assert_int_equal(l.issued_ms, T0);
	assert_int_equal(l.nkeys, 2);
	assert_memory_equal(l.keys[0].pk, pub.pk, ENV_PK_BYTES);
	assert_string_equal(l.keys[0].id, pub.id);
	assert_memory_equal(l.keys[1].pk, k.keys[1].pk, ENV_PK_BYTES);
	assert_string_equal(l.keys[1].id, k.keys[1].id);
	free(msg);

	k.nkeys = CTL_KEYS_MAX;
	for (size_t i = 1; i < CTL_KEYS_MAX; i++)
		new_key(&k.keys[i]);
	assert_int_equal(ctl_keys_sign(&k, sk, &msg, &len), 0);
	opened(msg, len, &jl);
	assert_int_equal(ctl_keys_parse(msg, jl, &l, err, sizeof(err)), 0);
	assert_int_equal(l.nkeys, CTL_KEYS_MAX);
	free(msg);
	msg = NULL;

	k.nkeys = 0;
	assert_int_equal(ctl_keys_sign(&k, sk, &msg, &len), -EINVAL);
	k.nkeys = CTL_KEYS_MAX + 1;
	assert_int_equal(ctl_keys_sign(&k, sk, &msg, &len), -EINVAL);
	k.nkeys = 3;
	k.keys[2] = k.keys[0];
	assert_int_equal(ctl_keys_sign(&k, sk, &msg, &len), -EINVAL);
	new_key(&k.keys[2]);
	k.issued_ms = WIRE_MAX_INSTANT_MS + 1;
	assert_int_equal(ctl_keys_sign(&k, sk, &msg, &len), -EINVAL);
	assert_null(msg);
}

static void keys_parse_refuses(void **state)
{
	char a[ENV_PK_B64_LEN + 1], text[2048];
	struct ctl_keys l;
	int n;

	env_key_to_base64(pub.pk, a);
	n = sprintf(text, "{\"type\":\"keys\",\"issued_ms\":1796081400000,\"keys\":[\"%s\",\"%s\"]}", a, a);
	assert_int_equal(ctl_keys_parse(text, (size_t)n, &l, err, sizeof(err)), -EBADMSG);
	char want[128];
	snprintf(want, sizeof(want), "keys[1]: key %s is listed twice", pub.id);
	assert_string_equal(err, want);

	n = sprintf(text, "{\"type\":\"keys\",\"issued_ms\":1796081400000,\"keys\":[]}");
	assert_int_equal(ctl_keys_parse(text, (size_t)n, &l, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "keys: not a list of 1 to 16 keys");
	n = sprintf(text, "{\"type\":\"keys\",\"issued_ms\":1796081400000,\"keys\":\"%s\"}", a);
	assert_int_equal(ctl_keys_parse(text, (size_t)n, &l, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "keys: not a list of 1 to 16 keys");
	n = sprintf(text, "{\"type\":\"keys\",\"issued_ms\":1796081400000}");
	assert_int_equal(ctl_keys_parse(text, (size_t)n, &l, err, sizeof(err)), -EBADMSG);
	n = sprintf(text, "{\"type\":\"keys\",\"issued_ms\":1796081400000,\"keys\":[\"%s\",\"AAAA\"]}", a);
	assert_int_equal(ctl_keys_parse(text, (size_t)n, &l, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "keys[1]: not a base64 Ed25519 public key");
	n = sprintf(text, "{\"type\":\"keys\",\"issued_ms\":1796081400000,\"keys\":[7]}");
	assert_int_equal(ctl_keys_parse(text, (size_t)n, &l, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "keys[0]: not a base64 Ed25519 public key");
	n = sprintf(text, "{\"type\":\"keys\",\"keys\":[\"%s\"]}", a);
	assert_int_equal(ctl_keys_parse(text, (size_t)n, &l, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "issued_ms: missing");

	/* Seventeen keys. */
	n = sprintf(text, "{\"type\":\"keys\",\"issued_ms\":1796081400000,\"keys\":[");
	for (int i = 0; i <= CTL_KEYS_MAX; i++) {
		struct env_key k;

		new_key(&k);
		env_key_to_base64(k.pk, a);
		n += sprintf(text + n, "%s\"%s\"", i ? "," : "", a);
	}
	n += sprintf(text + n, "]}");
	assert_int_equal(ctl_keys_parse(text, (size_t)n, &l, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "keys: not a list of 1 to 16 keys");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ack_round_trip),
		cmocka_unit_test(ack_sign_refuses),
		cmocka_unit_test(ack_parse_refuses),
		cmocka_unit_test(oversize_and_null_err),
		cmocka_unit_test(ping),
		cmocka_unit_test(pong),
		cmocka_unit_test(cmd),
		cmocka_unit_test(want),
		cmocka_unit_test(want_parse_refuses),
		cmocka_unit_test(keys),
		cmocka_unit_test(keys_parse_refuses),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
