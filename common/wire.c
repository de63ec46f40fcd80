/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire.c -- the MQTT topics of cx/v1, their limits, the node-id rule, and
 * strict JSON field readers for the message modules */
#include "wire.h"

#include "diag.h"
#include "hash.h"
#include "liveframe.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "cx/v1/"

bool wire_node_id_okn(const char *s, size_t n)
{
	if (!s || n == 0 || n > WIRE_NODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool wire_node_id_ok(const char *s)
{
	return s && wire_node_id_okn(s, strnlen(s, WIRE_NODE_MAX + 1));
}

/* The kinds whose topic is PREFIX KIND "/" ARG, and the rule for ARG. */
enum arg_rule { ARG_NODE, ARG_SHA, ARG_STREAM };

static const struct {
	enum wire_topic t;
	const char *kind;
	enum arg_rule rule;
} simple[] = {
	{ WIRE_T_PLAN, "plan", ARG_NODE },
	{ WIRE_T_ASSET, "asset", ARG_SHA },
	{ WIRE_T_LIVE, "live", ARG_STREAM },
	{ WIRE_T_CMD, "cmd", ARG_NODE },
	{ WIRE_T_RECEIPT, "receipt", ARG_NODE },
	{ WIRE_T_ACK, "ack", ARG_NODE },
	{ WIRE_T_STATUS, "status", ARG_NODE },
	{ WIRE_T_WANT, "want", ARG_NODE },
};

static bool arg_ok(enum arg_rule rule, const char *arg)
{
	switch (rule) {
	case ARG_NODE: return wire_node_id_ok(arg);
	case ARG_SHA: return cx_is_sha256_hex(arg);
	case ARG_STREAM: return live_stream_name_ok(arg);
	}
	return false;
}

int wire_topic(enum wire_topic t, const char *arg, char out[WIRE_TOPIC_MAX])
{
	if (t == WIRE_T_ALERT || t == WIRE_T_KEYS) {
		snprintf(out, WIRE_TOPIC_MAX, PREFIX "%s", t == WIRE_T_ALERT ? "alert" : "keys");
		return 0;
	}
	if (t == WIRE_T_PING || t == WIRE_T_PONG) {
		if (!wire_node_id_ok(arg))
			return -EINVAL;
		snprintf(out, WIRE_TOPIC_MAX, PREFIX "time/%s/%s", arg,
			 t == WIRE_T_PING ? "ping" : "pong");
		return 0;
	}
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (simple[i].t != t)
			continue;
		if (!arg || !arg_ok(simple[i].rule, arg))
			return -EINVAL;
		snprintf(out, WIRE_TOPIC_MAX, PREFIX "%s/%s", simple[i].kind, arg);
		return 0;
	}
	return -EINVAL;
}

enum wire_topic wire_topic_parse(const char *topic, char arg[WIRE_ARG_MAX + 1])
{
	const char *p, *slash;
	size_t n;

	arg[0] = '\0';
	if (!topic || strncmp(topic, PREFIX, strlen(PREFIX)))
		return WIRE_T_NONE;
	p = topic + strlen(PREFIX);
	if (!strcmp(p, "alert"))
		return WIRE_T_ALERT;
	if (!strcmp(p, "keys"))
		return WIRE_T_KEYS;
	if (!strncmp(p, "time/", 5)) {
		p += 5;
		slash = strchr(p, '/');
		if (!slash || !wire_node_id_okn(p, (size_t)(slash - p)))
			return WIRE_T_NONE;
		n = (size_t)(slash - p);
		memcpy(arg, p, n);
		arg[n] = '\0';
		if (!strcmp(slash + 1, "ping"))
			return WIRE_T_PING;
		if (!strcmp(slash + 1, "pong"))
			return WIRE_T_PONG;
		arg[0] = '\0';
		return WIRE_T_NONE;
	}
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		size_t k = strlen(simple[i].kind);

		if (strncmp(p, simple[i].kind, k) || p[k] != '/')
			continue;
		n = strlen(p + k + 1);
		if (n == 0 || n > WIRE_ARG_MAX)
			return WIRE_T_NONE;
		memcpy(arg, p + k + 1, n + 1);
		if (!arg_ok(simple[i].rule, arg)) {
			arg[0] = '\0';
			return WIRE_T_NONE;
		}
		return simple[i].t;
	}
	return WIRE_T_NONE;
}

/* ---- reading ------------------------------------------------------------ */

int wire_fail(struct wire_err *e, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (e && e->buf && e->len) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		/* One line whatever came in: jansson's errors quote the bytes
		 * near the fault. */
		diag_escape(e->buf, e->len, msg);
	}
	return -EBADMSG;
}

int wire_load(const char *json, size_t len, size_t max, const char *type, json_t **out,
	      struct wire_err *e)
{
	json_error_t je;
	json_t *o, *t;

	*out = NULL;
	if (!json || len == 0)
		return wire_fail(e, "empty message");
	if (len > max)
		return wire_fail(e, "message of %zu bytes is larger than %zu", len, max);
	/* Jansson bounds the nesting depth itself, checks UTF-8 and rejects
	 * NUL inside strings. */
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return -ENOMEM;
		return wire_fail(e, "JSON at line %d column %d: %s", je.line, je.column, je.text);
	}
	if (!json_is_object(o)) {
		json_decref(o);
		return wire_fail(e, "not a JSON object");
	}
	if (type) {
		t = json_object_get(o, "type");
		if (!json_is_string(t) || strcmp(json_string_value(t), type)) {
			json_decref(o);
			return wire_fail(e, "type: must be \"%s\"", type);
		}
	}
	*out = o;
	return 0;
}

static json_t *field(json_t *o, const char *key, bool required, struct wire_err *e,
		     const char *where, int *r)
{
	json_t *v = json_object_get(o, key);

	*r = 0;
	if (!v || (json_is_null(v) && !required)) {
		if (required)
			*r = wire_fail(e, "%s%s: missing", where ? where : "", key);
		return NULL;
	}
	return v;
}

int wire_int(struct wire_err *e, json_t *o, const char *where, const char *key, int64_t min,
	     int64_t max, bool required, int64_t *out)
{
	int r;
	json_t *v = field(o, key, required, e, where, &r);
	long long n;

	if (!v)
		return r;
	if (!json_is_integer(v))
		return wire_fail(e, "%s%s: must be an integer", where ? where : "", key);
	n = json_integer_value(v);
	if (n < min || n > max)
		return wire_fail(e, "%s%s: %lld is out of range %lld..%lld", where ? where : "",
				 key, n, (long long)min, (long long)max);
	*out = n;
	return 0;
}

int wire_str(struct wire_err *e, json_t *o, const char *where, const char *key, size_t max,
	     bool required, char *out)
{
	int r;
	json_t *v = field(o, key, required, e, where, &r);
	const char *s;
	size_t n;

	if (!v)
		return r;
	if (!json_is_string(v))
		return wire_fail(e, "%s%s: must be a string", where ? where : "", key);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > max)
		return wire_fail(e, "%s%s: length %zu is out of range 1..%zu", where ? where : "",
				 key, n, max);
	/* What is read here ends up in logs, terminals and reports. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return wire_fail(e, "%s%s: contains a control character",
					 where ? where : "", key);
	memcpy(out, s, n + 1);
	return 0;
}

int wire_enum(struct wire_err *e, json_t *o, const char *where, const char *key,
	      const char *const *names, bool required, int *out)
{
	int r;
	json_t *v = field(o, key, required, e, where, &r);

	if (!v)
		return r;
	if (json_is_string(v))
		for (int i = 0; names[i]; i++)
			if (!strcmp(json_string_value(v), names[i])) {
				*out = i;
				return 0;
			}
	return wire_fail(e, "%s%s: not one of the allowed values", where ? where : "", key);
}

int wire_bool(struct wire_err *e, json_t *o, const char *where, const char *key, bool required,
	      bool *out)
{
	int r;
	json_t *v = field(o, key, required, e, where, &r);

	if (!v)
		return r;
	if (!json_is_boolean(v))
		return wire_fail(e, "%s%s: must be true or false", where ? where : "", key);
	*out = json_is_true(v);
	return 0;
}

int wire_shas(struct wire_err *e, json_t *o, const char *where, const char *key, size_t max,
	      char (**out)[65], size_t *n)
{
	json_t *v = json_object_get(o, key), *s;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > max)
		return wire_fail(e, "%s%s: must be an array of at most %zu hashes",
				 where ? where : "", key, max);
	if (json_array_size(v) == 0)
		return 0;
	*out = calloc(json_array_size(v), sizeof(**out));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(v, i, s) {
		if (!json_is_string(s) || json_string_length(s) != 64 ||
		    !cx_is_sha256_hex(json_string_value(s))) {
			free(*out);
			*out = NULL;
			*n = 0;
			return wire_fail(e, "%s%s[%zu]: must be 64 lower-case hex digits",
					 where ? where : "", key, i);
		}
		memcpy((*out)[i], json_string_value(s), 65);
		*n = i + 1;
	}
	return 0;
}

/* ---- writing ----------------------------------------------------------- */

char *wire_dump(json_t *o, size_t *len)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s && len)
		*len = strlen(s);
	return s;
}

int wire_sign(json_t *o, const unsigned char sk[ENV_SK_BYTES], char **msg, size_t *len)
{
	size_t n;
	char *s = o ? wire_dump(o, &n) : NULL;
	int r;

	if (!s)
		return -ENOMEM;
	r = env_sign(s, n, sk, msg, len);
	free(s);
	return r;
}

json_t *wire_int_or_null(int64_t v)
{
	return v == WIRE_NONE ? json_null() : json_integer(v);
}
