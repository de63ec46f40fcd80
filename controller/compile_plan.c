/* SPDX-License-Identifier: GPL-2.0-or-later */
/* compile_plan.c -- compiled plans as JSON, as the bytes written, and their digests */
#include "compile.h"
#include "compile_model.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static json_t *event_json(const struct compile *c, const struct ev *e)
{
	const struct occ *o = &c->occ[e->occ];
	const struct schedule_broadcast *b = schedule_broadcast(c->s, o->b);
	const struct playlist *pl = &c->pl[o->b];
	json_t *j = json_object();

	if (!j)
		return NULL;
	if (json_object_set_new(j, "occ", json_string(o->name)) < 0 ||
	    json_object_set_new(j, "notice", json_string(schedule_notice(c->s, b->notice)->id)) < 0 ||
	    json_object_set_new(j, "start_ms", json_integer(e->start)) < 0 ||
	    json_object_set_new(j, "duration_ms", json_integer(pl->duration_ms)) < 0 ||
	    json_object_set_new(j, "priority", json_integer(b->priority)) < 0 ||
	    json_object_set_new(j, "volume", json_integer(b->volume)) < 0 ||
	    json_object_set(j, "assets", pl->json) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The node's village code and tags: what it needs to tell whether an alert
 * (targets: area prefixes, tags) is for it. */
static int plan_add_place(json_t *plan, const struct schedule_node *sn)
{
	json_t *tags = json_array();

	if (!tags)
		return -1;
	for (size_t i = 0; i < sn->ntags; i++)
		if (json_array_append_new(tags, json_string(sn->tags[i])) < 0) {
			json_decref(tags);
			return -1;
		}
	if (json_object_set_new(plan, "area", json_string(sn->village_code)) < 0 ||
	    json_object_set_new(plan, "tags", tags) < 0)
		return -1;
	return 0;
}

json_t *compile_plan_head_json(const struct compile *c, size_t node)
{
	json_t *plan = json_object();

	if (!plan)
		return NULL;
	if (json_object_set_new(plan, "type", json_string("plan")) < 0 ||
	    json_object_set_new(plan, "node", json_string(schedule_node(c->s, node)->id)) < 0 ||
	    json_object_set_new(plan, "issued_ms", json_integer(c->from_ms)) < 0 ||
	    json_object_set_new(plan, "horizon_ms", json_integer(c->horizon_ms)) < 0 ||
	    json_object_set_new(plan, "max_delay_ms",
				json_integer(schedule_township(c->s)->max_delay_ms)) < 0 ||
	    plan_add_place(plan, schedule_node(c->s, node)) < 0) {
		json_decref(plan);
		return NULL;
	}
	return plan;
}

/* The event at its scheduled time is the same object on every node; build
 * it once (the model is logically const). */
static json_t *shared_event_json(const struct compile *c, const struct ev *e)
{
	struct occ *o = &c->occ[e->occ];

	if (!o->json)
		o->json = event_json(c, e);
	return o->json;
}

json_t *compile_plan_json(const struct compile *c, size_t node)
{
	const struct nodeplan *np = &c->np[node];
	json_t *plan = compile_plan_head_json(c, node), *events = json_array();

	if (!plan || !events)
		goto fail;
	for (size_t i = 0; i < np->n; i++) {
		const struct ev *e = &np->ev[i];
		json_t *j = e->start == c->occ[e->occ].schedule_ms
			? json_incref(shared_event_json(c, e)) : event_json(c, e);

		if (json_array_append_new(events, j) < 0)
			goto fail;
	}
	if (json_object_set_new(plan, "events", events) < 0) {
		events = NULL;
		goto fail;
	}
	return plan;
fail:
	json_decref(events);
	json_decref(plan);
	return NULL;
}

static char *dump_compact(json_t *j, size_t *len)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (s)
		*len = strlen(s);
	return s;
}

/* J's compact JSON and its digest; NULL on ENOMEM. */
static char *text_of(json_t *j, size_t *len, unsigned char digest[COMPILE_DIGEST])
{
	char *s = dump_compact(j, len);

	if (s)
		crypto_generichash(digest, COMPILE_DIGEST, (const unsigned char *)s, *len, NULL, 0);
	return s;
}

/* The occurrence's text at its scheduled time and its digest, made once
 * and cached together, the text (which says the cache is filled) last.
 * \retval 0 / -ENOMEM */
static int ensure_shared(const struct compile *c, uint32_t occ)
{
	struct occ *o = &c->occ[occ];
	struct ev at_time = { .occ = occ, .start = o->schedule_ms };
	unsigned char digest[COMPILE_DIGEST];
	size_t len;
	char *text;

	if (o->text)
		return 0;
	if (!(text = text_of(shared_event_json(c, &at_time), &len, digest)))
		return -ENOMEM;
	memcpy(o->digest, digest, sizeof(digest));
	o->text_len = len;
	o->text = text;
	return 0;
}

int compile_event_text(const struct compile *c, size_t node, size_t i, struct compile_text *t)
{
	const struct ev *e = &c->np[node].ev[i];
	struct occ *o = &c->occ[e->occ];
	json_t *j;

	memset(t, 0, sizeof(*t));
	if (e->start == o->schedule_ms) {
		if (ensure_shared(c, e->occ) < 0)
			return -ENOMEM;
		t->text = o->text;
		t->len = o->text_len;
		memcpy(t->digest, o->digest, sizeof(t->digest));
		return 0;
	}
	/* Moved by an overlap: this node's own. */
	j = event_json(c, e);
	t->owned = text_of(j, &t->len, t->digest);
	json_decref(j);
	if (!t->owned)
		return -ENOMEM;
	t->text = t->owned;
	return 0;
}

void compile_text_release(struct compile_text *t)
{
	free(t->owned);
	t->owned = NULL;
}

/* The compact JSON of NODE's plan without its events; NULL on ENOMEM. */
static char *head_text(const struct compile *c, size_t node, size_t *len)
{
	json_t *head = compile_plan_head_json(c, node);
	char *h = dump_compact(head, len);

	json_decref(head);
	return h;
}

/* A plan is its head less the final "}", EVENTS_OPEN, the event texts
 * separated by EVENT_SEP, and PLAN_CLOSE. PLAN_FORMAT names that
 * assembly in every digest (compile.h): a change to it that these strings
 * do not show takes a new PLAN_FORMAT. */
static const char PLAN_FORMAT[] = "plan-text-2";
static const char EVENTS_OPEN[] = ",\"events\":[";
static const char EVENT_SEP[] = ",";
static const char PLAN_CLOSE[] = "]}\n";

int compile_plan_dump(const struct compile *c, size_t node, char **buf, size_t *len)
{
	size_t n = c->np[node].n, hlen = 0, total, at;
	struct compile_text *t = calloc(n ? n : 1, sizeof(*t));
	char *h = head_text(c, node, &hlen), *out = NULL;
	int r = -ENOMEM;

	if (!t || !h || hlen < 2)
		goto out;
	total = hlen - 1 + sizeof(EVENTS_OPEN) - 1 + sizeof(PLAN_CLOSE) - 1 +
		(n ? n - 1 : 0) * (sizeof(EVENT_SEP) - 1);
	for (size_t i = 0; i < n; i++) {
		if (compile_event_text(c, node, i, &t[i]) < 0)
			goto out;
		total += t[i].len;
	}
	if (!(out = malloc(total + 1)))
		goto out;
	memcpy(out, h, hlen - 1);
	at = hlen - 1;
	memcpy(out + at, EVENTS_OPEN, sizeof(EVENTS_OPEN) - 1);
	at += sizeof(EVENTS_OPEN) - 1;
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			memcpy(out + at, EVENT_SEP, sizeof(EVENT_SEP) - 1);
			at += sizeof(EVENT_SEP) - 1;
		}
		memcpy(out + at, t[i].text, t[i].len);
		at += t[i].len;
	}
	memcpy(out + at, PLAN_CLOSE, sizeof(PLAN_CLOSE));
	*buf = out;
	*len = total;
	r = 0;
out:
	for (size_t i = 0; t && i < n; i++)
		compile_text_release(&t[i]);
	free(t);
	free(h);
	return r;
}

static void hash_i64(crypto_generichash_state *st, int64_t v)
{
	unsigned char b[8];

	for (int k = 0; k < 8; k++)
		b[k] = (unsigned char)((uint64_t)v >> (8 * k));
	crypto_generichash_update(st, b, sizeof(b));
}

static void hash_str(crypto_generichash_state *st, const char *s)
{
	size_t n = strlen(s);

	hash_i64(st, (int64_t)n);
	crypto_generichash_update(st, (const unsigned char *)s, n);
}

int compile_plan_digest(const struct compile *c, size_t node, unsigned char out[COMPILE_DIGEST])
{
	static const char *const framing[] = { PLAN_FORMAT, EVENTS_OPEN, EVENT_SEP, PLAN_CLOSE };
	const struct schedule_node *sn = schedule_node(c->s, node);
	const struct nodeplan *np = &c->np[node];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, COMPILE_DIGEST);
	for (size_t k = 0; k < sizeof(framing) / sizeof(*framing); k++)
		hash_str(&st, framing[k]);
	/* The head: what compile_plan_head_json makes it of. */
	hash_str(&st, sn->id);
	hash_i64(&st, c->from_ms);
	hash_i64(&st, c->horizon_ms);
	hash_i64(&st, schedule_township(c->s)->max_delay_ms);
	hash_str(&st, sn->village_code);
	hash_i64(&st, (int64_t)sn->ntags);
	for (size_t k = 0; k < sn->ntags; k++)
		hash_str(&st, sn->tags[k]);
	/* The events: each its occurrence's text at its scheduled time, and
	 * the time it was moved to by an overlap (all else in it is the
	 * occurrence's). */
	hash_i64(&st, (int64_t)np->n);
	for (size_t i = 0; i < np->n; i++) {
		const struct ev *e = &np->ev[i];
		const struct occ *o = &c->occ[e->occ];
		unsigned char moved = e->start != o->schedule_ms;

		if (ensure_shared(c, e->occ) < 0)
			return -ENOMEM;
		crypto_generichash_update(&st, o->digest, sizeof(o->digest));
		crypto_generichash_update(&st, &moved, 1);
		if (moved)
			hash_i64(&st, e->start);
	}
	crypto_generichash_final(&st, out, COMPILE_DIGEST);
	return 0;
}
