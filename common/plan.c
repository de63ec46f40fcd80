/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan.c -- the plan message: a verified plan's JSON body, parsed and bounded */
#include "plan.h"

#include "envelope.h"
#include "hash.h"
#include "wire.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DURATION_MS 86400000LL  /* one event plays at most a day */
#define MAX_DELAY_MS    86400000LL
#define DEFAULT_DELAY_MS 600000LL
#define NOTICE_MAX      64
#define MIN_INSTANT_MS  WIRE_MIN_INSTANT_MS
#define MAX_INSTANT_MS  WIRE_MAX_INSTANT_MS

struct ctx {
	char *err;
	size_t errlen;
};

#define WE(x) (&(struct wire_err){ (x)->err, (x)->errlen })
#define fail(x, ...) wire_fail(WE(x), __VA_ARGS__)

/* WHERE names the field in errors: "issued_ms", "events[3].start_ms". */
static int get_int(struct ctx *x, json_t *obj, const char *key, const char *where,
		   long long min, long long max, bool required, int64_t *out)
{
	if (!required && json_is_null(json_object_get(obj, key)))
		return fail(x, "%s%s: must be an integer", where, key);
	return wire_int(WE(x), obj, where, key, min, max, required, out);
}

/* A string of 1..MAX bytes without control characters (it ends up in
 * receipts and logs). */
static int get_str(struct ctx *x, json_t *obj, const char *key, const char *where,
		   size_t max, char *out)
{
	return wire_str(WE(x), obj, where, key, max, true, out);
}

static int parse_event(struct ctx *x, json_t *o, size_t idx, struct plan_event *e)
{
	char where[48];
	json_t *a;
	int64_t v;
	int r;

	snprintf(where, sizeof(where), "events[%zu].", idx);
	if (!json_is_object(o))
		return fail(x, "events[%zu]: must be an object", idx);
	if ((r = get_str(x, o, "occ", where, PLAN_OCC_MAX, e->occ)) < 0 ||
	    (r = get_str(x, o, "notice", where, NOTICE_MAX, e->notice)) < 0 ||
	    (r = get_int(x, o, "start_ms", where, MIN_INSTANT_MS, MAX_INSTANT_MS, true,
			 &e->start_ms)) < 0 ||
	    (r = get_int(x, o, "duration_ms", where, 1, MAX_DURATION_MS, true,
			 &e->duration_ms)) < 0)
		return r;
	if ((r = get_int(x, o, "priority", where, 1, 100, true, &v)) < 0)
		return r;
	e->priority = (int)v;
	if ((r = get_int(x, o, "volume", where, 1, 100, true, &v)) < 0)
		return r;
	e->volume = (int)v;

	a = json_object_get(o, "assets");
	if (!a)
		return fail(x, "%sassets: missing", where);
	if (!json_is_array(a))
		return fail(x, "%sassets: must be an array", where);
	if (json_array_size(a) == 0 || json_array_size(a) > PLAN_MAX_ASSETS)
		return fail(x, "%sassets: %zu entries, must be 1..%d", where,
			    json_array_size(a), PLAN_MAX_ASSETS);
	e->assets = calloc(json_array_size(a), sizeof(*e->assets));
	if (!e->assets)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *s = json_array_get(a, i);

		if (!json_is_string(s) || json_string_length(s) != 64 ||
		    !cx_is_sha256_hex(json_string_value(s)))
			return fail(x, "%sassets[%zu]: must be 64 lower-case hex digits", where, i);
		memcpy(e->assets[i], json_string_value(s), 65);
		e->nassets = i + 1;
	}
	return 0;
}

static int cmp_event(const void *a, const void *b)
{
	const struct plan_event *x = a, *y = b;

	if (x->start_ms != y->start_ms)
		return x->start_ms < y->start_ms ? -1 : 1;
	return strcmp(x->occ, y->occ);
}

static int cmp_occ_ptr(const void *a, const void *b)
{
	const struct plan_event *const *x = a, *const *y = b;

	return strcmp((*x)->occ, (*y)->occ);
}

/* Receipts name an event by occ, so two events with one occ would make
 * them ambiguous. */
static int check_unique_occ(struct ctx *x, struct plan *p)
{
	const struct plan_event **v;
	int r = 0;

	if (p->nevents < 2)
		return 0;
	v = malloc(p->nevents * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->nevents; i++)
		v[i] = &p->events[i];
	qsort(v, p->nevents, sizeof(*v), cmp_occ_ptr);
	for (size_t i = 1; i < p->nevents; i++)
		if (!strcmp(v[i - 1]->occ, v[i]->occ)) {
			r = fail(x, "events: occ '%s' appears twice", v[i]->occ);
			break;
		}
	free(v);
	return r;
}

/* Optional "area" (the village's administrative code, 1..12 digits) and
 * "tags" (strings without spaces or commas), which alerts target. */
static int parse_place(struct ctx *x, json_t *root, struct plan *p)
{
	json_t *v = json_object_get(root, "area"), *t;
	size_t i;
	int r;

	if (v) {
		if ((r = get_str(x, root, "area", "", sizeof(p->area) - 1, p->area)) < 0)
			return r;
		for (const char *c = p->area; *c; c++)
			if (*c < '0' || *c > '9')
				return fail(x, "area: must be digits, not '%s'", p->area);
	}
	v = json_object_get(root, "tags");
	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > PLAN_MAX_TAGS)
		return fail(x, "tags: must be an array of at most %d strings", PLAN_MAX_TAGS);
	if (json_array_size(v) == 0)
		return 0;
	p->tags = calloc(json_array_size(v), sizeof(*p->tags));
	if (!p->tags)
		return -ENOMEM;
	json_array_foreach(v, i, t) {
		char where[32];
		json_t *wrap = json_pack("{sO}", "tag", t);

		if (!wrap)
			return -ENOMEM;
		snprintf(where, sizeof(where), "tags[%zu].", i);
		r = get_str(x, wrap, "tag", where, PLAN_TAG_MAX, p->tags[i]);
		json_decref(wrap);
		if (r < 0)
			return r;
		for (const char *c = p->tags[i]; *c; c++)
			if (*c == ' ' || *c == ',')
				return fail(x, "tags[%zu]: '%s' has a space or comma", i, p->tags[i]);
		p->ntags = i + 1;
	}
	return 0;
}

int plan_parse(const char *json, size_t len, const char *node_id, struct plan **out,
	       char *err, size_t errlen)
{
	struct ctx x = { err, errlen };
	json_error_t je;
	json_t *root = NULL, *v, *events;
	struct plan *p = NULL;
	int r;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (len > ENV_MAX_BYTES)
		return fail(&x, "plan of %zu bytes is larger than %u", len, ENV_MAX_BYTES);
	/* Jansson bounds nesting depth itself and rejects NUL in strings
	 * unless asked not to. */
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return -ENOMEM;
		return fail(&x, "JSON at line %d column %d: %s", je.line, je.column, je.text);
	}
	if (!json_is_object(root)) {
		r = fail(&x, "plan must be a JSON object");
		goto out;
	}
	v = json_object_get(root, "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), "plan")) {
		r = fail(&x, "type: must be \"plan\"");
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = get_str(&x, root, "node", "", sizeof(p->node) - 1, p->node)) < 0)
		goto out;
	if (strcmp(p->node, node_id)) {
		r = fail(&x, "node: plan is for '%s', this node is '%s'", p->node, node_id);
		goto out;
	}
	p->max_delay_ms = DEFAULT_DELAY_MS;
	if ((r = get_int(&x, root, "issued_ms", "", MIN_INSTANT_MS, MAX_INSTANT_MS, true,
			 &p->issued_ms)) < 0 ||
	    (r = get_int(&x, root, "horizon_ms", "", MIN_INSTANT_MS, MAX_INSTANT_MS, true,
			 &p->horizon_ms)) < 0 ||
	    (r = get_int(&x, root, "max_delay_ms", "", 0, MAX_DELAY_MS, false,
			 &p->max_delay_ms)) < 0)
		goto out;
	if ((r = parse_place(&x, root, p)) < 0)
		goto out;
	if (p->horizon_ms <= p->issued_ms) {
		r = fail(&x, "horizon_ms: must be after issued_ms");
		goto out;
	}
	events = json_object_get(root, "events");
	if (!events) {
		r = fail(&x, "events: missing");
		goto out;
	}
	if (!json_is_array(events)) {
		r = fail(&x, "events: must be an array");
		goto out;
	}
	if (json_array_size(events) > PLAN_MAX_EVENTS) {
		r = fail(&x, "events: %zu entries, at most %d", json_array_size(events),
			 PLAN_MAX_EVENTS);
		goto out;
	}
	if (json_array_size(events) > 0) {
		p->events = calloc(json_array_size(events), sizeof(*p->events));
		if (!p->events) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < json_array_size(events); i++) {
		/* Count first so plan_free releases a half-parsed event. */
		p->nevents = i + 1;
		if ((r = parse_event(&x, json_array_get(events, i), i, &p->events[i])) < 0)
			goto out;
	}
	if ((r = check_unique_occ(&x, p)) < 0)
		goto out;
	if (p->nevents > 1)
		qsort(p->events, p->nevents, sizeof(*p->events), cmp_event);
	*out = p;
	p = NULL;
	r = 0;
out:
	if (r == -ENOMEM)
		fail(&x, "out of memory");
	plan_free(p);
	json_decref(root);
	return r;
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nevents; i++)
		free(p->events[i].assets);
	free(p->events);
	free(p->tags);
	free(p);
}

static int cmp_sha(const void *a, const void *b)
{
	return memcmp(a, b, 64);
}

char (*plan_assets(const struct plan *p, int64_t now_ms, size_t *n))[65]
{
	char (*v)[65];
	size_t total = 0, k = 0;

	*n = 0;
	for (size_t i = 0; i < p->nevents; i++)
		total += p->events[i].nassets;
	/* One spare entry so that an empty result is still a live pointer. */
	v = malloc((total + 1) * sizeof(*v));
	if (!v) {
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < p->nevents; i++) {
		const struct plan_event *e = &p->events[i];

		/* An event may still be playing, or be delayed by up to
		 * max_delay behind a higher priority one. */
		if (now_ms > 0 && e->start_ms + e->duration_ms + p->max_delay_ms < now_ms)
			continue;
		memcpy(v + k, e->assets, e->nassets * sizeof(*v));
		k += e->nassets;
	}
	if (k > 1) {
		size_t u = 1;

		qsort(v, k, sizeof(*v), cmp_sha);
		for (size_t i = 1; i < k; i++)
			if (memcmp(v[i], v[u - 1], 64))
				memcpy(v[u++], v[i], sizeof(*v));
		k = u;
	}
	*n = k;
	return v;
}
