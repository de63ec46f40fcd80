/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alert.c -- a verified alert or cancel's JSON body, parsed and bounded;
 * targeting, priority, and the memory of alerts already seen */
#include "alert.h"

#include "envelope.h"
#include "hash.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_INSTANT_MS 946684800000LL  /* 2000-01-01 */
#define MAX_INSTANT_MS 4102444800000LL /* 2100-01-01 */
#define MAX_DURATION_MS (3LL * 3600 * 1000)
#define SEEN_MAX 10000

struct ctx {
	char *err;
	size_t errlen;
};

static int fail(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->err && x->errlen) {
		va_start(ap, fmt);
		vsnprintf(x->err, x->errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static int get_int(struct ctx *x, json_t *o, const char *key, long long min, long long max,
		   bool required, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	long long n;

	if (!v || (json_is_null(v) && !required)) {
		if (required)
			return fail(x, "%s: missing", key);
		return 0;
	}
	if (!json_is_integer(v))
		return fail(x, "%s: must be an integer", key);
	n = json_integer_value(v);
	if (n < min || n > max)
		return fail(x, "%s: %lld is out of range %lld..%lld", key, n, min, max);
	*out = n;
	return 0;
}

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

static int get_str(struct ctx *x, json_t *o, const char *key, size_t max, bool required,
		   char *out)
{
	json_t *v = json_object_get(o, key);

	if (!v || (json_is_null(v) && !required)) {
		if (required)
			return fail(x, "%s: missing", key);
		return 0;
	}
	return str_ok(x, v, key, max, out);
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
	if ((r = get_int(x, root, "start_ms", MIN_INSTANT_MS, MAX_INSTANT_MS, true,
			 &a->start_ms)) < 0 ||
	    (r = get_int(x, root, "expires_ms", MIN_INSTANT_MS, MAX_INSTANT_MS, true,
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
	    (r = get_int(&x, root, "issued_ms", MIN_INSTANT_MS, MAX_INSTANT_MS, true,
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

/* ---- seen ids ---- */

struct seen_entry {
	char id[ALERT_ID_MAX + 1];
	int64_t until_ms;
};

struct alert_seen {
	struct seen_entry *v;
	size_t n, cap;
};

struct alert_seen *alert_seen_new(void)
{
	return calloc(1, sizeof(struct alert_seen));
}

void alert_seen_free(struct alert_seen *s)
{
	if (s)
		free(s->v);
	free(s);
}

bool alert_seen_has(const struct alert_seen *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].id, id))
			return true;
	return false;
}

int alert_seen_add(struct alert_seen *s, const char *id, int64_t until_ms)
{
	if (strlen(id) > ALERT_ID_MAX)
		return -EINVAL;
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].id, id)) {
			if (until_ms > s->v[i].until_ms)
				s->v[i].until_ms = until_ms;
			return 0;
		}
	if (s->n == SEEN_MAX) {
		/* Full: forget the one that expires first. */
		size_t k = 0;

		for (size_t i = 1; i < s->n; i++)
			if (s->v[i].until_ms < s->v[k].until_ms)
				k = i;
		s->v[k] = s->v[--s->n];
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct seen_entry *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	snprintf(s->v[s->n].id, sizeof(s->v[s->n].id), "%s", id);
	s->v[s->n++].until_ms = until_ms;
	return 0;
}

void alert_seen_prune(struct alert_seen *s, int64_t now_ms)
{
	for (size_t i = 0; i < s->n;)
		if (s->v[i].until_ms < now_ms)
			s->v[i] = s->v[--s->n];
		else
			i++;
}

char *alert_seen_dump(const struct alert_seen *s)
{
	json_t *a = json_array();
	char *out;

	if (!a)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a, json_pack("{s:s,s:I}", "id", s->v[i].id, "until_ms",
						   (json_int_t)s->v[i].until_ms));
	out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return out;
}

int alert_seen_load(struct alert_seen *s, const char *json, size_t len)
{
	json_t *a = json_loadb(json, len, 0, NULL), *e;
	size_t i;
	int r = 0;

	if (!json_is_array(a)) {
		json_decref(a);
		return -EBADMSG;
	}
	json_array_foreach(a, i, e) {
		json_t *id = json_object_get(e, "id"), *until = json_object_get(e, "until_ms");

		if (!json_is_string(id) || !json_is_integer(until) ||
		    json_string_length(id) > ALERT_ID_MAX)
			continue;
		if ((r = alert_seen_add(s, json_string_value(id), json_integer_value(until))) < 0)
			break;
	}
	json_decref(a);
	return r;
}
