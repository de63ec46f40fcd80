/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctlmsg.c -- the small messages of cx/v1: ack, ping, pong, command, want, keys */
#include "ctlmsg.h"

#include "hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define US_MAX (WIRE_MAX_INSTANT_MS * 1000)

static const char *const cmds[] = { "resend", NULL };

/* "type" and "node" (equal to TOPIC_NODE when that is given). */
static int open_msg(const char *json, size_t len, const char *type, const char *topic_node,
		    char node[WIRE_NODE_MAX + 1], json_t **o, struct wire_err *e)
{
	int r;

	if (e->buf && e->len)
		e->buf[0] = '\0';
	if ((r = wire_load(json, len, WIRE_SMALL_MAX, type, o, e)) < 0)
		return r;
	if (!node)
		return 0;
	if ((r = wire_str(e, *o, NULL, "node", WIRE_NODE_MAX, true, node)) < 0)
		goto fail;
	if (!wire_node_id_ok(node) || (topic_node && strcmp(node, topic_node))) {
		r = wire_fail(e, "node: '%s' is not the node of the topic", node);
		goto fail;
	}
	return 0;
fail:
	json_decref(*o);
	*o = NULL;
	return r;
}

static int sign_new(json_t *o, const unsigned char sk[ENV_SK_BYTES], char **msg, size_t *len)
{
	int r = wire_sign(o, sk, msg, len);

	json_decref(o);
	return r;
}

/* ---- ack ---- */

static bool keyid_ok(const char *k)
{
	if (strlen(k) != ENV_KEYID_LEN)
		return false;
	for (const char *p = k; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int ctl_ack_sign(const struct ctl_ack *a, const unsigned char sk[ENV_SK_BYTES], char **msg,
		 size_t *len)
{
	if (!wire_node_id_ok(a->node) || !keyid_ok(a->key) || a->seq < 1 || a->seq > WIRE_SEQ_MAX)
		return -EINVAL;
	return sign_new(json_pack("{sssssssI}", "type", "ack", "node", a->node, "key", a->key,
				  "seq", (json_int_t)a->seq), sk, msg, len);
}

int ctl_ack_parse(const char *json, size_t len, const char *topic_node, struct ctl_ack *a,
		  char *err, size_t errlen)
{
	struct wire_err e = { err, errlen };
	json_t *o;
	int r;

	memset(a, 0, sizeof(*a));
	if ((r = open_msg(json, len, "ack", topic_node, a->node, &o, &e)) < 0)
		return r;
	if ((r = wire_str(&e, o, NULL, "key", ENV_KEYID_LEN, true, a->key)) == 0 &&
	    !keyid_ok(a->key))
		r = wire_fail(&e, "key: must be %d lower-case hex digits", ENV_KEYID_LEN);
	if (r == 0)
		r = wire_int(&e, o, NULL, "seq", 1, WIRE_SEQ_MAX, true, &a->seq);
	json_decref(o);
	return r;
}

/* ---- ping, pong ---- */

int ctl_ping_build(int64_t t0_us, char **json, size_t *len)
{
	json_t *o = json_pack("{sssI}", "type", "ping", "t0_us", (json_int_t)t0_us);

	*json = o ? wire_dump(o, len) : NULL;
	json_decref(o);
	return *json ? 0 : -ENOMEM;
}

int ctl_ping_parse(const char *json, size_t len, int64_t *t0_us, char *err, size_t errlen)
{
	struct wire_err e = { err, errlen };
	json_t *o;
	int r;

	/* DESIGN.md's ping is {"t0_us":...}: "type" may be absent. */
	if ((r = open_msg(json, len, NULL, NULL, NULL, &o, &e)) < 0)
		return r;
	json_t *t = json_object_get(o, "type");
	if (t && (!json_is_string(t) || strcmp(json_string_value(t), "ping")))
		r = wire_fail(&e, "type: must be \"ping\"");
	else
		r = wire_int(&e, o, NULL, "t0_us", 0, US_MAX, true, t0_us);
	json_decref(o);
	return r;
}

int ctl_pong_sign(const struct ctl_pong *p, const unsigned char sk[ENV_SK_BYTES], char **msg,
		  size_t *len)
{
	if (!wire_node_id_ok(p->node))
		return -EINVAL;
	return sign_new(json_pack("{sssssIsIsI}", "type", "pong", "node", p->node,
				  "t0_us", (json_int_t)p->t0_us, "t1_us", (json_int_t)p->t1_us,
				  "t2_us", (json_int_t)p->t2_us), sk, msg, len);
}

int ctl_pong_parse(const char *json, size_t len, const char *topic_node, struct ctl_pong *p,
		   char *err, size_t errlen)
{
	struct wire_err e = { err, errlen };
	json_t *o;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = open_msg(json, len, "pong", topic_node, p->node, &o, &e)) < 0)
		return r;
	if ((r = wire_int(&e, o, NULL, "t0_us", 0, US_MAX, true, &p->t0_us)) == 0 &&
	    (r = wire_int(&e, o, NULL, "t1_us", 0, US_MAX, true, &p->t1_us)) == 0)
		r = wire_int(&e, o, NULL, "t2_us", 0, US_MAX, true, &p->t2_us);
	json_decref(o);
	return r;
}

/* ---- cmd ---- */

int ctl_cmd_sign(const struct ctl_cmd_msg *c, const unsigned char sk[ENV_SK_BYTES], char **msg,
		 size_t *len)
{
	if (!wire_node_id_ok(c->node) || c->cmd != CTL_CMD_RESEND ||
	    c->issued_ms < WIRE_MIN_INSTANT_MS || c->issued_ms > WIRE_MAX_INSTANT_MS)
		return -EINVAL;
	return sign_new(json_pack("{sssssIss}", "type", "cmd", "node", c->node,
				  "issued_ms", (json_int_t)c->issued_ms, "cmd", cmds[c->cmd]),
			sk, msg, len);
}

int ctl_cmd_parse(const char *json, size_t len, const char *topic_node, struct ctl_cmd_msg *c,
		  char *err, size_t errlen)
{
	struct wire_err e = { err, errlen };
	json_t *o;
	int r, k = 0;

	memset(c, 0, sizeof(*c));
	if ((r = open_msg(json, len, "cmd", topic_node, c->node, &o, &e)) < 0)
		return r;
	if ((r = wire_int(&e, o, NULL, "issued_ms", WIRE_MIN_INSTANT_MS, WIRE_MAX_INSTANT_MS, true,
			  &c->issued_ms)) == 0 &&
	    (r = wire_enum(&e, o, NULL, "cmd", cmds, true, &k)) == 0)
		c->cmd = (enum ctl_cmd)k;
	json_decref(o);
	return r;
}

/* ---- want ---- */

int ctl_want_sign(const struct ctl_want *w, const unsigned char sk[ENV_SK_BYTES], char **msg,
		  size_t *len)
{
	json_t *o, *a;

	if (!wire_node_id_ok(w->node) || w->nassets > CTL_WANT_MAX_ASSETS ||
	    w->issued_ms < WIRE_MIN_INSTANT_MS || w->issued_ms > WIRE_MAX_INSTANT_MS)
		return -EINVAL;
	a = json_array();
	for (size_t i = 0; a && i < w->nassets; i++) {
		if (!cx_is_sha256_hex(w->assets[i])) {
			json_decref(a);
			return -EINVAL;
		}
		json_array_append_new(a, json_string(w->assets[i]));
	}
	if (!a)
		return -ENOMEM;
	o = json_pack("{sssssIsbso}", "type", "want", "node", w->node,
		      "issued_ms", (json_int_t)w->issued_ms, "plan", (int)w->plan, "assets", a);
	return sign_new(o, sk, msg, len);
}

int ctl_want_parse(const char *json, size_t len, const char *topic_node, struct ctl_want *w,
		   char *err, size_t errlen)
{
	struct wire_err e = { err, errlen };
	char (*v)[65] = NULL;
	json_t *o;
	size_t n = 0;
	int r;

	memset(w, 0, sizeof(*w));
	if ((r = open_msg(json, len, "want", topic_node, w->node, &o, &e)) < 0)
		return r;
	if ((r = wire_int(&e, o, NULL, "issued_ms", WIRE_MIN_INSTANT_MS, WIRE_MAX_INSTANT_MS,
			  true, &w->issued_ms)) == 0 &&
	    (r = wire_bool(&e, o, NULL, "plan", false, &w->plan)) == 0 &&
	    (r = wire_shas(&e, o, NULL, "assets", CTL_WANT_MAX_ASSETS, &v, &n)) == 0) {
		if (n)
			memcpy(w->assets, v, n * sizeof(*v));
		w->nassets = n;
	}
	free(v);
	json_decref(o);
	return r;
}

/* ---- keys ---- */

int ctl_keys_sign(const struct ctl_keys *k, const unsigned char sk[ENV_SK_BYTES], char **msg,
		  size_t *len)
{
	char b64[ENV_PK_B64_LEN + 1];
	json_t *a;

	if (k->nkeys < 1 || k->nkeys > CTL_KEYS_MAX ||
	    k->issued_ms < WIRE_MIN_INSTANT_MS || k->issued_ms > WIRE_MAX_INSTANT_MS)
		return -EINVAL;
	for (size_t i = 0; i < k->nkeys; i++)
		for (size_t j = 0; j < i; j++)
			if (!memcmp(k->keys[i].pk, k->keys[j].pk, ENV_PK_BYTES))
				return -EINVAL;
	a = json_array();
	for (size_t i = 0; a && i < k->nkeys; i++) {
		env_key_to_base64(k->keys[i].pk, b64);
		if (json_array_append_new(a, json_string(b64)) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	if (!a)
		return -ENOMEM;
	return sign_new(json_pack("{sssIso}", "type", "keys", "issued_ms",
				  (json_int_t)k->issued_ms, "keys", a),
			sk, msg, len);
}

int ctl_keys_parse(const char *json, size_t len, struct ctl_keys *k, char *err, size_t errlen)
{
	struct wire_err e = { err, errlen };
	json_t *o, *a, *v;
	size_t i;
	int r;

	memset(k, 0, sizeof(*k));
	if ((r = open_msg(json, len, "keys", NULL, NULL, &o, &e)) < 0)
		return r;
	if ((r = wire_int(&e, o, NULL, "issued_ms", WIRE_MIN_INSTANT_MS, WIRE_MAX_INSTANT_MS,
			  true, &k->issued_ms)) < 0)
		goto out;
	a = json_object_get(o, "keys");
	if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > CTL_KEYS_MAX) {
		r = wire_fail(&e, "keys: not a list of 1 to %d keys", CTL_KEYS_MAX);
		goto out;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || env_key_from_base64(json_string_value(v), &k->keys[i]) < 0) {
			r = wire_fail(&e, "keys[%zu]: not a base64 Ed25519 public key", i);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (!memcmp(k->keys[i].pk, k->keys[j].pk, ENV_PK_BYTES)) {
				r = wire_fail(&e, "keys[%zu]: key %s is listed twice", i,
					      k->keys[i].id);
				goto out;
			}
		k->nkeys = i + 1;
	}
out:
	json_decref(o);
	return r;
}
