/* SPDX-License-Identifier: GPL-2.0-or-later */
/* seen.c -- the alert ids a node has seen, each kept until it expires */
#include "seen.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen_entry {
	char id[ALERT_ID_MAX + 1];
	int64_t until_ms;
};

struct seen {
	struct seen_entry *v;
	size_t n, cap;
};

struct seen *seen_new(void)
{
	return calloc(1, sizeof(struct seen));
}

void seen_free(struct seen *s)
{
	if (s)
		free(s->v);
	free(s);
}

bool seen_has(const struct seen *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].id, id))
			return true;
	return false;
}

int seen_add(struct seen *s, const char *id, int64_t until_ms)
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

void seen_prune(struct seen *s, int64_t now_ms)
{
	for (size_t i = 0; i < s->n;)
		if (s->v[i].until_ms < now_ms)
			s->v[i] = s->v[--s->n];
		else
			i++;
}

char *seen_dump(const struct seen *s)
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

int seen_load(struct seen *s, const char *json, size_t len)
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
		if ((r = seen_add(s, json_string_value(id), json_integer_value(until))) < 0)
			break;
	}
	json_decref(a);
	return r;
}
