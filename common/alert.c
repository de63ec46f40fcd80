/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alert.c -- the alert and cancel messages: built, signed, parsed and
 * bounded; targeting and priority */
#include "alert.h"

#include "envelope.h"
#include "hash.h"
#include "wire.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DURATION_MS (3LL * 3600 * 1000)

struct ctx {
	char *err;
	size_t errlen;
};

#define WE(x) (&(struct wire_err){ (x)->err, (x)->errlen })
#define fail(x, ...) wire_fail(WE(x), __VA_ARGS__)

/* A string value V of 1..MAX bytes without control characters. */
static int str_ok(struct ctx *x, json_t *v, const char *where, size_t max, char *out)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return fail(x, "%s: must be a string", where);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > max)
		return fail(x, "%s: length %zu is out of range 1..%zu", where, n, max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fail(x, "%s: contains a control character", where);
	memcpy(out, s, n + 1);
	return 0;
}

static int get_int(struct ctx *x, json_t *o, const char *key, long long min, long long max,
		   bool required, int64_t *out)
{
	return wire_int(WE(x), o, NULL, key, min, max, required, out);
}

static int get_str(struct ctx *x, json_t *o, const char *key, size_t max, bool required,
		   char *out)
{
	return wire_str(WE(x), o, NULL, key, max, required, out);
}

enum kind { DIGITS, WORD, NODE_ID, SHA };

static bool kind_ok(enum kind k, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (k) {
		case DIGITS:
			if (*p < '0' || *p > '9')
				return false;
			break;
		case WORD:
			if (*p == ' ' || *p == ',')
				return false;
			break;
		case NODE_ID:
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
				return false;
			break;
		case SHA:
			break;
		}
	}
	return k != SHA || cx_is_sha256_hex(s);
}

/* An array of strings of kind K, each 1..W-1 bytes, at most MAX of them,
 * into *OUT (W bytes per entry). An absent or null key is an empty list. */
static int get_list(struct ctx *x, json_t *o, const char *obj, const char *key, enum kind k,
		    size_t w, size_t max, void **out, size_t *n)
{
	json_t *v = json_object_get(o, key), *e;
	char where[64];
	char *buf;
	size_t i;
	int r;

	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > max)
		return fail(x, "%s%s: must be an array of at most %zu strings", obj, key, max);
	if (json_array_size(v) == 0)
		return 0;
	buf = calloc(json_array_size(v), w);
	if (!buf)
		return -ENOMEM;
	*out = buf;
	json_array_foreach(v, i, e) {
		snprintf(where, sizeof(where), "%s%s[%zu]", obj, key, i);
		if ((r = str_ok(x, e, where, w - 1, buf + i * w)) < 0)
			return r;
		if (!kind_ok(k, buf + i * w))
			return fail(x, "%s: '%s' is not a valid entry", where, buf + i * w);
		*n = i + 1;
	}
	return 0;
}

static int parse_alert(struct ctx *x, json_t *root, struct alert *a)
{
	json_t *t = json_object_get(root, "targets");
	int64_t v;
	int r;

	if ((r = get_int(x, root, "level", 1, 4, true, &v)) < 0)
		return r;
	a->level = (int)v;
	if ((r = get_str(x, root, "class", sizeof(a->cls) - 1, true, a->cls)) < 0)
		return r;
	if (strcmp(a->cls, "actual") && strcmp(a->cls, "drill") && strcmp(a->cls, "test"))
		return fail(x, "class: must be actual, drill or test, not '%s'", a->cls);
	if ((r = get_int(x, root, "start_ms", WIRE_MIN_INSTANT_MS, WIRE_MAX_INSTANT_MS, true,
			 &a->start_ms)) < 0 ||
	    (r = get_int(x, root, "expires_ms", WIRE_MIN_INSTANT_MS, WIRE_MAX_INSTANT_MS, true,
			 &a->expires_ms)) < 0 ||
	    (r = get_int(x, root, "duration_ms", 0, MAX_DURATION_MS, false,
			 &a->duration_ms)) < 0)
		return r;
	if (a->expires_ms <= a->start_ms)
		return fail(x, "expires_ms: must be after start_ms");
	v = 1;
	if ((r = get_int(x, root, "repeat", 1, ALERT_MAX_REPEAT, false, &v)) < 0)
		return r;
	a->repeat = (int)v;
	v = 100;
	if ((r = get_int(x, root, "volume", 1, 100, false, &v)) < 0)
		return r;
	a->volume = (int)v;
	if ((r = get_str(x, root, "title", ALERT_TITLE_MAX, false, a->title)) < 0 ||
	    (r = get_str(x, root, "live", sizeof(a->live) - 1, false, a->live)) < 0)
		return r;
	if (!json_is_object(t))
		return fail(x, "targets: must be an object");
	if ((r = get_list(x, t, "targets.", "areas", DIGITS, sizeof(*a->areas),
			  ALERT_MAX_TARGETS, (void **)&a->areas, &a->nareas)) < 0 ||
	    (r = get_list(x, t, "targets.", "tags", WORD, sizeof(*a->tags),
			  ALERT_MAX_TARGETS, (void **)&a->tags, &a->ntags)) < 0 ||
	    (r = get_list(x, t, "targets.", "nodes", NODE_ID, sizeof(*a->nodes),
			  ALERT_MAX_TARGETS, (void **)&a->nodes, &a->nnodes)) < 0 ||
	    (r = get_list(x, root, "", "assets", SHA, sizeof(*a->assets),
			  ALERT_MAX_ASSETS, (void **)&a->assets, &a->nassets)) < 0)
		return r;
	if (a->nareas + a->ntags + a->nnodes == 0)
		return fail(x, "targets: names no area, tag or node");
	if (a->nassets == 0 && !a->live[0])
		return fail(x, "assets: an alert needs audio or a live stream");
	return 0;
}

int alert_parse(const char *json, size_t len, struct alert **out, char *err, size_t errlen)
{
	struct ctx x = { err, errlen };
	json_t *root, *type;
	struct alert *a = NULL;
	json_error_t je;
	int r;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (len > ENV_MAX_BYTES)
		return fail(&x, "message of %zu bytes is larger than %u", len, ENV_MAX_BYTES);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return -ENOMEM;
		return fail(&x, "JSON at line %d column %d: %s", je.line, je.column, je.text);
	}
	r = -ENOMEM;
	if (!json_is_object(root)) {
		r = fail(&x, "an alert must be a JSON object");
		goto out;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		goto out;
	type = json_object_get(root, "type");
	if (json_is_string(type) && !strcmp(json_string_value(type), "cancel"))
		a->cancel = true;
	else if (!json_is_string(type) || strcmp(json_string_value(type), "alert")) {
		r = fail(&x, "type: must be \"alert\" or \"cancel\"");
		goto out;
	}
	if ((r = get_str(&x, root, "id", ALERT_ID_MAX, true, a->id)) < 0 ||
	    (r = get_int(&x, root, "issued_ms", WIRE_MIN_INSTANT_MS, WIRE_MAX_INSTANT_MS, true,
			 &a->issued_ms)) < 0)
		goto out;
	if (a->cancel)
		r = get_str(&x, root, "ref", ALERT_ID_MAX, true, a->ref);
	else
		r = parse_alert(&x, root, a);
	if (r < 0)
		goto out;
	*out = a;
	a = NULL;
out:
	alert_free(a);
	json_decref(root);
	return r;
}

void alert_free(struct alert *a)
{
	if (!a)
		return;
	free(a->areas);
	free(a->tags);
	free(a->nodes);
	free(a->assets);
	free(a);
}

bool alert_targets(const struct alert *a, const char *node, const char *area,
		   const char (*tags)[65], size_t ntags)
{
	for (size_t i = 0; i < a->nnodes; i++)
		if (!strcmp(a->nodes[i], node))
			return true;
	if (area && area[0])
		for (size_t i = 0; i < a->nareas; i++)
			if (!strncmp(area, a->areas[i], strlen(a->areas[i])))
				return true;
	for (size_t i = 0; i < a->ntags; i++)
		for (size_t k = 0; k < ntags; k++)
			if (!strcmp(a->tags[i], tags[k]))
				return true;
	return false;
}

int alert_priority(int level)
{
	return level >= 1 && level <= 4 ? 80 - 10 * level : 40;
}

json_t *alert_targets_json(const struct alert *a)
{
	json_t *t = json_object(), *v[3] = { json_array(), json_array(), json_array() };

	for (size_t i = 0; v[0] && i < a->nareas; i++)
		json_array_append_new(v[0], json_string(a->areas[i]));
	for (size_t i = 0; v[1] && i < a->ntags; i++)
		json_array_append_new(v[1], json_string(a->tags[i]));
	for (size_t i = 0; v[2] && i < a->nnodes; i++)
		json_array_append_new(v[2], json_string(a->nodes[i]));
	/* json_object_set_new() takes the value also when it fails. */
	if (!t || json_object_set_new(t, "areas", v[0]) < 0 ||
	    json_object_set_new(t, "tags", v[1]) < 0 || json_object_set_new(t, "nodes", v[2]) < 0) {
		json_decref(t);
		return NULL;
	}
	return t;
}

static json_t *build(const struct alert *a)
{
	json_t *o, *assets;

	if (a->cancel)
		return json_pack("{s:s, s:s, s:s, s:I}", "type", "cancel", "id", a->id,
				 "ref", a->ref, "issued_ms", (json_int_t)a->issued_ms);
	assets = json_array();
	for (size_t i = 0; assets && i < a->nassets; i++)
		json_array_append_new(assets, json_string(a->assets[i]));
	o = json_pack("{s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:o, s:o, s:o}",
		      "type", "alert", "id", a->id, "level", a->level, "class", a->cls,
		      "issued_ms", (json_int_t)a->issued_ms, "start_ms", (json_int_t)a->start_ms,
		      "expires_ms", (json_int_t)a->expires_ms, "targets", alert_targets_json(a),
		      "title", a->title[0] ? json_string(a->title) : json_null(),
		      "assets", assets);
	/* Field order as DESIGN.md shows it, duration_ms after the assets. */
	if (o && a->duration_ms > 0)
		json_object_set_new(o, "duration_ms", json_integer(a->duration_ms));
	if (o) {
		json_object_set_new(o, "repeat", json_integer(a->repeat));
		json_object_set_new(o, "volume", json_integer(a->volume));
	}
	if (o)
		json_object_set_new(o, "live", a->live[0] ? json_string(a->live) : json_null());
	return o;
}

int alert_sign(const struct alert *a, const unsigned char sk[ENV_SK_BYTES], char **msg,
	       size_t *len)
{
	json_t *o = build(a);
	struct alert *check = NULL;
	char *text;
	size_t n;
	int r;

	if (!o)
		return -ENOMEM;
	text = wire_dump(o, &n);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	/* What we send obeys the rules every node reads it by. */
	r = alert_parse(text, n, &check, NULL, 0);
	alert_free(check);
	if (r == 0)
		r = env_sign(text, n, sk, msg, len);
	else if (r == -EBADMSG)
		r = -EINVAL;
	free(text);
	return r;
}

/* Copy N strings of kind K into a calloc'ed array of W-byte entries. */
static int copy_list(const char *const *v, size_t n, enum kind k, size_t w, void **out,
		     size_t *nout)
{
	char *buf;

	free(*out);
	*out = NULL;
	*nout = 0;
	if (n > ALERT_MAX_TARGETS)
		return -EINVAL;
	if (n == 0)
		return 0;
	buf = calloc(n, w);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]);

		if (len == 0 || len >= w || !kind_ok(k, v[i])) {
			free(buf);
			return -EINVAL;
		}
		memcpy(buf + i * w, v[i], len + 1);
	}
	*out = buf;
	*nout = n;
	return 0;
}

int alert_set_targets(struct alert *a, const char *const *areas, size_t nareas,
		      const char *const *tags, size_t ntags, const char *const *nodes, size_t nnodes)
{
	int r;

	if ((r = copy_list(areas, nareas, DIGITS, sizeof(*a->areas), (void **)&a->areas,
			   &a->nareas)) < 0 ||
	    (r = copy_list(tags, ntags, WORD, sizeof(*a->tags), (void **)&a->tags, &a->ntags)) < 0)
		return r;
	return copy_list(nodes, nnodes, NODE_ID, sizeof(*a->nodes), (void **)&a->nodes,
			 &a->nnodes);
}

int alert_set_assets(struct alert *a, const char (*shas)[65], size_t n)
{
	free(a->assets);
	a->assets = NULL;
	a->nassets = 0;
	if (n > ALERT_MAX_ASSETS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!cx_is_sha256_hex(shas[i]))
			return -EINVAL;
	if (n == 0)
		return 0;
	a->assets = calloc(n, sizeof(*a->assets));
	if (!a->assets)
		return -ENOMEM;
	memcpy(a->assets, shas, n * sizeof(*a->assets));
	a->nassets = n;
	return 0;
}
