/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sched.c -- what a node plays when: plan events and alerts, priority, preemption */
#include "sched.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum state { WAITING, HANDED, PLAYING, DONE };

struct item {
	enum sched_kind kind;
	char id[161];
	char notice[161];
	char stream[65];
	int64_t start_ms, duration_ms, deadline_ms;
	int priority, volume;
	size_t nassets;
	char (*assets)[65];
	uint64_t order;          /* declaration order, ties after start */
	enum state state;
	uint64_t token;          /* current hand-over, 0 when none */
	int64_t started_ms;      /* of the current run */
	bool started_once;       /* a run has started at some point */
	bool interrupted;        /* interrupted; may restart until deadline */
	bool blocked;            /* was due while something else played */
	bool present;            /* mark for plan replacement */
};

struct sched {
	struct item **items;
	size_t n, cap;
	uint64_t next_token, next_order;
	int64_t lead_ms;
	struct sched_act *q;     /* queued actions */
	size_t qn, qcap, qhead;
	sched_have_fn have;
	void *have_ud;
};

struct sched *sched_new(int64_t lead_ms)
{
	struct sched *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->lead_ms = lead_ms;
	s->next_token = 1;
	return s;
}

static void item_free(struct item *it)
{
	if (!it)
		return;
	free(it->assets);
	free(it);
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		item_free(s->items[i]);
	free(s->items);
	free(s->q);
	free(s);
}

void sched_set_have(struct sched *s, sched_have_fn fn, void *ud)
{
	s->have = fn;
	s->have_ud = ud;
}

static struct sched_act *push(struct sched *s, enum sched_act_type type, const struct item *it)
{
	struct sched_act *a;

	if (s->qn == s->qcap) {
		size_t cap = s->qcap ? s->qcap * 2 : 16;
		struct sched_act *q = realloc(s->q, cap * sizeof(*q));

		if (!q)
			return NULL;
		s->q = q;
		s->qcap = cap;
	}
	a = &s->q[s->qn++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->token = it->token;
	a->kind = it->kind;
	snprintf(a->id, sizeof(a->id), "%s", it->id);
	a->scheduled_ms = it->start_ms;
	a->volume = it->volume;
	a->priority = it->priority;
	a->started_ms = -1;
	a->ended_ms = -1;
	a->played_ms = -1;
	return a;
}

static void receipt(struct sched *s, const struct item *it, const char *state,
		    const char *reason, int64_t now_ms)
{
	struct sched_act *a = push(s, SCHED_ACT_RECEIPT, it);

	if (!a)
		return;
	a->state = state;
	if (reason) {
		snprintf(a->reason_buf, sizeof(a->reason_buf), "%s", reason);
		a->reason = a->reason_buf;
	}
	if (it->started_once && it->started_ms > 0)
		a->started_ms = it->started_ms;
	if (strcmp(state, "accepted") && strcmp(state, "started"))
		a->ended_ms = now_ms;
}

static struct item *find(struct sched *s, const char *id, enum sched_kind kind)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i]->kind == kind && !strcmp(s->items[i]->id, id))
			return s->items[i];
	return NULL;
}

static struct item *find_token(struct sched *s, uint64_t token)
{
	if (!token)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i]->token == token)
			return s->items[i];
	return NULL;
}

static int add(struct sched *s, struct item *it)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct item **v = realloc(s->items, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->items = v;
		s->cap = cap;
	}
	s->items[s->n++] = it;
	return 0;
}

static int fill(struct item *it, const struct sched_item_in *in)
{
	char (*assets)[65] = NULL;

	if (in->nassets) {
		assets = malloc(in->nassets * sizeof(*assets));
		if (!assets)
			return -ENOMEM;
		memcpy(assets, in->assets, in->nassets * sizeof(*assets));
	}
	free(it->assets);
	it->assets = assets;
	it->nassets = in->nassets;
	it->kind = in->kind;
	snprintf(it->id, sizeof(it->id), "%s", in->id);
	snprintf(it->notice, sizeof(it->notice), "%s", in->notice ? in->notice : "");
	snprintf(it->stream, sizeof(it->stream), "%s", in->stream ? in->stream : "");
	it->start_ms = in->start_ms;
	it->duration_ms = in->duration_ms;
	it->deadline_ms = in->deadline_ms;
	it->priority = in->priority;
	it->volume = in->volume;
	return 0;
}

static struct item *item_new(struct sched *s, const struct sched_item_in *in)
{
	struct item *it = calloc(1, sizeof(*it));

	if (!it || fill(it, in) < 0 || add(s, it) < 0) {
		item_free(it);
		return NULL;
	}
	it->order = s->next_order++;
	return it;
}

static void remove_at(struct sched *s, size_t i)
{
	item_free(s->items[i]);
	memmove(&s->items[i], &s->items[i + 1], (s->n - i - 1) * sizeof(*s->items));
	s->n--;
}

static int64_t played(const struct item *it, int64_t now_ms)
{
	return it->state == PLAYING && it->started_ms > 0 && now_ms > it->started_ms
		? now_ms - it->started_ms : 0;
}

int sched_set_plan(struct sched *s, const struct sched_item_in *ev, size_t n, int64_t now_ms)
{
	for (size_t i = 0; i < s->n; i++)
		s->items[i]->present = s->items[i]->kind != SCHED_PLAN;
	for (size_t k = 0; k < n; k++) {
		struct item *it = find(s, ev[k].id, SCHED_PLAN);

		if (!it) {
			it = item_new(s, &ev[k]);
			if (!it)
				return -ENOMEM;
		} else if (it->state == WAITING && !it->started_once) {
			/* Same occurrence, possibly new audio: take the new one. */
			if (fill(it, &ev[k]) < 0)
				return -ENOMEM;
		} else {
			it->deadline_ms = ev[k].deadline_ms;
		}
		it->present = true;
	}
	for (size_t i = s->n; i-- > 0;) {
		struct item *it = s->items[i];

		if (it->present)
			continue;
		if (it->state == PLAYING || it->state == HANDED) {
			struct sched_act *a = push(s, SCHED_ACT_STOP, it);

			(void)a;
			if (it->state == PLAYING) {
				receipt(s, it, "interrupted", "removed from plan", now_ms);
				if (s->qn)
					s->q[s->qn - 1].played_ms = played(it, now_ms);
			}
		}
		remove_at(s, i);
	}
	/* Declaration order of plan events follows the plan's order. */
	return 0;
}

int sched_add_alert(struct sched *s, const struct sched_item_in *al, int64_t now_ms)
{
	struct item *it;

	if (find(s, al->id, al->kind))
		return -EEXIST;
	it = item_new(s, al);
	if (!it)
		return -ENOMEM;
	receipt(s, it, "accepted", NULL, now_ms);
	return 0;
}

int sched_cancel(struct sched *s, const char *id, int64_t now_ms)
{
	struct item *it = find(s, id, SCHED_ALERT);

	if (!it)
		it = find(s, id, SCHED_LIVE);
	if (!it)
		return -ENOENT;
	if (it->state == DONE && !it->interrupted)
		return 0;
	if (it->state == PLAYING || it->state == HANDED)
		push(s, SCHED_ACT_STOP, it);
	receipt(s, it, "interrupted", "cancelled", now_ms);
	if (s->qn)
		s->q[s->qn - 1].played_ms = played(it, now_ms);
	it->state = DONE;
	it->interrupted = false;
	it->token = 0;
	return 0;
}

int sched_live_end(struct sched *s, const char *stream, int64_t now_ms)
{
	for (size_t i = 0; i < s->n; i++) {
		struct item *it = s->items[i];

		if (it->kind != SCHED_LIVE || strcmp(it->stream, stream) || it->state == DONE)
			continue;
		if (it->state == PLAYING || it->state == HANDED)
			push(s, SCHED_ACT_STOP, it);
		if (it->started_once) {
			receipt(s, it, "completed", NULL, now_ms);
			if (s->qn)
				s->q[s->qn - 1].played_ms = played(it, now_ms);
		} else {
			receipt(s, it, "expired", "stream ended before it could play", now_ms);
		}
		it->state = DONE;
		it->token = 0;
		return 0;
	}
	return -ENOENT;
}

void sched_on_started(struct sched *s, uint64_t token, int64_t started_ms, int64_t start_error_us)
{
	struct item *it = find_token(s, token);
	struct sched_act *a;

	if (!it || it->state != HANDED)
		return;
	it->state = PLAYING;
	it->started_ms = started_ms;
	it->started_once = true;
	receipt(s, it, "started", NULL, started_ms);
	a = s->qn ? &s->q[s->qn - 1] : NULL;
	if (a) {
		a->started_ms = started_ms;
		a->start_error_us = start_error_us;
		a->has_start_error = true;
	}
}

static void finish(struct sched *s, struct item *it, const char *state, const char *reason,
		   int64_t now_ms, int64_t played_ms)
{
	receipt(s, it, state, reason, now_ms);
	if (s->qn)
		s->q[s->qn - 1].played_ms = played_ms;
	it->state = DONE;
	it->interrupted = false;
	it->token = 0;
}

void sched_on_done(struct sched *s, uint64_t token, int64_t now_ms, int64_t played_ms)
{
	struct item *it = find_token(s, token);

	if (!it || (it->state != PLAYING && it->state != HANDED))
		return;
	finish(s, it, "completed", NULL, now_ms, played_ms);
}

void sched_on_stopped(struct sched *s, uint64_t token, int64_t now_ms, int64_t played_ms)
{
	struct item *it = find_token(s, token);

	/* Stops the scheduler asked for were accounted for when asked; one it
	 * did not ask for (the player gave up) ends the item. */
	if (!it || (it->state != PLAYING && it->state != HANDED))
		return;
	finish(s, it, "interrupted", "stopped by the player", now_ms, played_ms);
}

void sched_on_failed(struct sched *s, uint64_t token, int64_t now_ms, const char *reason)
{
	struct item *it = find_token(s, token);

	if (!it || (it->state != PLAYING && it->state != HANDED))
		return;
	finish(s, it, "failed", reason ? reason : "playback failed", now_ms, played(it, now_ms));
}

/* Higher priority first; then the earlier start; then declaration order. */
static bool better(const struct item *a, const struct item *b)
{
	if (!b)
		return true;
	if (a->priority != b->priority)
		return a->priority > b->priority;
	if (a->start_ms != b->start_ms)
		return a->start_ms < b->start_ms;
	return a->order < b->order;
}

static bool assets_ok(struct sched *s, const struct item *it)
{
	if (!s->have)
		return true;
	for (size_t i = 0; i < it->nassets; i++)
		if (!s->have(it->assets[i], s->have_ud))
			return false;
	return true;
}

static void hand(struct sched *s, struct item *it, int64_t now_ms)
{
	struct sched_act *a;

	it->token = s->next_token++;
	it->state = HANDED;
	a = push(s, SCHED_ACT_PLAY, it);
	if (!a)
		return;
	a->at_ms = it->start_ms > now_ms ? it->start_ms : now_ms;
	a->nassets = it->nassets;
	a->assets = (const char (*)[65])it->assets;
	a->stream = it->stream[0] ? it->stream : NULL;
	a->deadline_ms = it->deadline_ms;
}

static void expire(struct sched *s, int64_t now_ms)
{
	for (size_t i = 0; i < s->n; i++) {
		struct item *it = s->items[i];

		if (it->state != WAITING || now_ms <= it->deadline_ms)
			continue;
		if (it->interrupted) {
			/* Its "interrupted" receipt was sent when it was cut off. */
			it->state = DONE;
			it->interrupted = false;
		} else if (it->kind == SCHED_PLAN) {
			finish(s, it, it->blocked ? "skipped" : "expired",
			       it->blocked ? "delayed beyond max_delay by other broadcasts"
					   : "missed its start time", now_ms, 0);
		} else {
			finish(s, it, "expired", "expired before it could play", now_ms, 0);
		}
	}
}

size_t sched_tick(struct sched *s, int64_t now_ms, struct sched_act *acts, size_t max,
		  int64_t *wake_ms)
{
	struct item *cur = NULL, *handed = NULL, *best;
	int64_t wake = INT64_MAX;
	size_t n = 0;

	expire(s, now_ms);
	for (;;) {
		cur = handed = best = NULL;
		for (size_t i = 0; i < s->n; i++) {
			struct item *it = s->items[i];

			if (it->state == PLAYING)
				cur = it;
			else if (it->state == HANDED)
				handed = it;
			if ((it->state == WAITING || it->state == HANDED) &&
			    it->start_ms <= now_ms + s->lead_ms && better(it, best))
				best = it;
		}
		if (!best)
			break;
		if (best->state == WAITING && !assets_ok(s, best)) {
			finish(s, best, "failed", "asset missing", now_ms, 0);
			continue;
		}
		if (cur) {
			if (best->state == HANDED || best->priority <= cur->priority ||
			    best->start_ms > now_ms)
				break;
			/* Cut in: the interrupted item may restart from its
			 * beginning until its deadline. */
			char why[200];

			snprintf(why, sizeof(why), "preempted by %s", best->id);
			receipt(s, cur, "interrupted", why, now_ms);
			if (s->qn)
				s->q[s->qn - 1].played_ms = played(cur, now_ms);
			cur->state = WAITING;
			cur->interrupted = true;
			cur->token = 0;
		} else if (handed && handed != best) {
			handed->state = WAITING;
			handed->token = 0;
		} else if (handed == best) {
			break;
		}
		hand(s, best, now_ms);
		break;
	}
	/* Whatever is due but waits behind another is delayed, not missed. */
	for (size_t i = 0; i < s->n; i++) {
		struct item *it = s->items[i];

		if (it->state == WAITING && it->start_ms <= now_ms && (cur || handed))
			it->blocked = true;
		if (it->state == WAITING) {
			int64_t w = it->start_ms - s->lead_ms;

			if (w <= now_ms)
				w = it->deadline_ms + 1;
			if (w < wake)
				wake = w;
		}
	}
	/* Drop finished items whose deadline is long past. */
	for (size_t i = s->n; i-- > 0;)
		if (s->items[i]->state == DONE && s->items[i]->deadline_ms + 86400000 < now_ms)
			remove_at(s, i);
	while (n < max && s->qhead < s->qn)
		acts[n++] = s->q[s->qhead++];
	if (s->qhead == s->qn)
		s->qhead = s->qn = 0;
	*wake_ms = wake;
	return n;
}

bool sched_busy(const struct sched *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i]->state == PLAYING || s->items[i]->state == HANDED)
			return true;
	return false;
}

const char *sched_current(const struct sched *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i]->state == PLAYING)
			return s->items[i]->id;
	return NULL;
}

static json_t *item_json(const struct item *it, const char *st)
{
	json_t *o = json_object(), *a = json_array();

	json_object_set_new(o, "kind", json_integer(it->kind));
	json_object_set_new(o, "id", json_string(it->id));
	json_object_set_new(o, "st", json_string(st));
	json_object_set_new(o, "started_ms", json_integer(it->started_ms));
	if (it->kind != SCHED_PLAN) {
		json_object_set_new(o, "notice", json_string(it->notice));
		json_object_set_new(o, "stream", json_string(it->stream));
		json_object_set_new(o, "start_ms", json_integer(it->start_ms));
		json_object_set_new(o, "duration_ms", json_integer(it->duration_ms));
		json_object_set_new(o, "deadline_ms", json_integer(it->deadline_ms));
		json_object_set_new(o, "priority", json_integer(it->priority));
		json_object_set_new(o, "volume", json_integer(it->volume));
		for (size_t i = 0; i < it->nassets; i++)
			json_array_append_new(a, json_string(it->assets[i]));
	}
	json_object_set_new(o, "assets", a);
	return o;
}

json_t *sched_export(const struct sched *s, int64_t keep_after_ms)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < s->n; i++) {
		const struct item *it = s->items[i];
		const char *st;

		if (it->deadline_ms < keep_after_ms)
			continue;
		if (it->state == DONE)
			st = "done";
		else if (it->state == PLAYING)
			st = "playing"; /* on the air: a restart cuts this run short */
		else if (it->started_once || it->interrupted)
			st = "started";
		else if (it->kind != SCHED_PLAN)
			st = "waiting"; /* alerts must survive a restart */
		else
			continue;
		json_array_append_new(arr, item_json(it, st));
	}
	return arr;
}

int sched_import(struct sched *s, const json_t *state, int64_t now_ms)
{
	size_t i;
	json_t *o;

	if (!json_is_array(state))
		return -EINVAL;
	json_array_foreach(state, i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *st = json_string_value(json_object_get(o, "st"));
		json_int_t kind = json_integer_value(json_object_get(o, "kind"));
		struct item *it;

		if (!id || !st || kind < SCHED_PLAN || kind > SCHED_LIVE || strlen(id) > 160)
			continue;
		it = find(s, id, (enum sched_kind)kind);
		if (!it && kind != SCHED_PLAN) {
			json_t *a = json_object_get(o, "assets");
			size_t na = json_array_size(a);
			char (*assets)[65] = na ? calloc(na, 65) : NULL;
			struct sched_item_in in = {
				.kind = (enum sched_kind)kind, .id = id,
				.notice = json_string_value(json_object_get(o, "notice")),
				.stream = json_string_value(json_object_get(o, "stream")),
				.start_ms = json_integer_value(json_object_get(o, "start_ms")),
				.duration_ms = json_integer_value(json_object_get(o, "duration_ms")),
				.deadline_ms = json_integer_value(json_object_get(o, "deadline_ms")),
				.priority = (int)json_integer_value(json_object_get(o, "priority")),
				.volume = (int)json_integer_value(json_object_get(o, "volume")),
			};

			if (na && !assets)
				return -ENOMEM;
			for (size_t k = 0; k < na; k++) {
				const char *sha = json_string_value(json_array_get(a, k));

				snprintf(assets[k], 65, "%s", sha ? sha : "");
			}
			in.nassets = na;
			in.assets = (const char (*)[65])assets;
			if (in.stream && !*in.stream)
				in.stream = NULL;
			it = item_new(s, &in);
			free(assets);
			if (!it)
				return -ENOMEM;
		}
		if (!it)
			continue;
		it->started_ms = json_integer_value(json_object_get(o, "started_ms"));
		if (!strcmp(st, "done")) {
			it->state = DONE;
		} else if (!strcmp(st, "started") || !strcmp(st, "playing")) {
			bool over = now_ms > it->deadline_ms || it->kind == SCHED_LIVE;

			it->started_once = true;
			it->interrupted = true;
			it->state = WAITING;
			/* A run that was on the air when the node stopped ended
			 * there: it is reported as a preempted one is, and the
			 * item restarts from its beginning within its deadline. */
			if (over || !strcmp(st, "playing"))
				receipt(s, it, "interrupted", "node restarted", now_ms);
			if (over) {
				it->state = DONE;
				it->interrupted = false;
			}
		}
	}
	return 0;
}
