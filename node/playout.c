/* SPDX-License-Identifier: GPL-2.0-or-later */
/* playout.c -- from plan to loudspeaker: the plan taken, the scheduler's
 * actions run on the player, the player's events told back */
#include "playout.h"

#include "alerts.h"
#include "cxtime.h"
#include "log.h"
#include "session.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the plan ---- */

static void install_plan(struct node *n, struct plan *p)
{
	struct sched_item_in *in = calloc(p->nevents ? p->nevents : 1, sizeof(*in));
	int64_t now = node_now_ms(n);

	if (!in) {
		plan_free(p);
		return;
	}
	for (size_t i = 0; i < p->nevents; i++) {
		const struct plan_event *e = &p->events[i];

		in[i] = (struct sched_item_in){
			.kind = SCHED_PLAN, .id = e->occ, .notice = e->notice,
			.start_ms = e->start_ms, .duration_ms = e->duration_ms,
			.deadline_ms = e->start_ms + p->max_delay_ms,
			.priority = e->priority, .volume = e->volume,
			.nassets = e->nassets, .assets = (const char (*)[65])e->assets,
		};
	}
	sched_set_plan(n->sched, in, p->nevents, now);
	free(in);
	plan_free(n->plan);
	n->plan = p;
	n->status_dirty = true;
}

int playout_take_plan(struct node *n, const char *msg, size_t len, bool from_disk)
{
	struct plan *p = NULL;
	size_t jl;
	char err[200];
	int r;

	r = env_verify(msg, len, n->trust.keys, n->trust.nkeys, &jl);
	if (r < 0) {
		if (!from_disk) {
			node_reject(n, "plan", len ? env_strerror(r) : "empty (the retained plan was cleared)");
			n->plan_wanted = true;
		}
		return r;
	}
	r = plan_parse(msg, jl, n->cf->id, &p, err, sizeof(err));
	if (r < 0) {
		if (!from_disk) {
			node_reject(n, "plan", err);
			n->plan_wanted = true;
		}
		return r;
	}
	if (n->plan && p->issued_ms <= n->plan->issued_ms) {
		bool same = n->plan_len == len && !memcmp(n->plan_msg, msg, len);

		plan_free(p);
		if (same)
			return 1; /* the retained plan again after a reconnect */
		node_reject(n, "plan", "older than the plan in force (issued_ms)");
		return -ESTALE;
	}
	if (!from_disk) {
		r = cache_put(n->cache, "plan.msg", msg, len);
		if (r < 0)
			log_err("cannot store plan: %s (playing it from memory)", strerror(-r));
	}
	free(n->plan_msg);
	n->plan_msg = malloc(len);
	if (n->plan_msg)
		memcpy(n->plan_msg, msg, len);
	n->plan_len = n->plan_msg ? len : 0;
	n->plan_wanted = false;
	log_info("plan issued %lld: %zu events", (long long)p->issued_ms, p->nevents);
	install_plan(n, p);
	return 0;
}

void playout_gc_assets(struct node *n)
{
	size_t k;
	char (*v)[65];

	if (!n->plan)
		return;
	/* Keep everything the plan still references (past events too: a
	 * restart may replay them) and whatever an alert holds. */
	v = plan_assets(n->plan, 0, &k);
	for (size_t i = 0; v && i < n->nalerts; i++) {
		const struct alert *a = n->alerts[i];
		char (*w)[65] = realloc(v, (k + a->nassets) * sizeof(*v));

		if (!w) {
			free(v);
			return;
		}
		v = w;
		memcpy(v[k], a->assets, a->nassets * sizeof(*v));
		k += a->nassets;
	}
	if (v) {
		int r = cache_gc(n->cache, v, k);

		if (r > 0)
			log_info("removed %d unreferenced assets", r);
	}
	free(v);
}

void playout_save(struct node *n)
{
	json_t *st = sched_export(n->sched, node_now_ms(n) - 86400000);
	char *s = json_dumps(st, JSON_COMPACT);
	int r;

	json_decref(st);
	if (!s)
		return;
	r = cache_put_vital(n->cache, "sched.json", s, strlen(s));
	if (r < 0)
		log_warn("cannot save scheduler state: %s", strerror(-r));
	free(s);
	n->state_dirty = false;
}

size_t playout_assets_missing(struct node *n)
{
	size_t k, missing = 0;
	char (*v)[65];

	if (!n->plan)
		return 0;
	v = plan_assets(n->plan, node_now_ms(n), &k);
	for (size_t i = 0; i < k; i++)
		if (!cache_has_asset(n->cache, v[i]))
			missing++;
	free(v);
	return missing;
}

/* ---- scheduler actions ---- */

bool playout_have_asset(const char *sha, void *ud)
{
	return cache_has_asset(((struct node *)ud)->cache, sha);
}

/* Play a live stream: the player pulls its PCM from the jitter buffer. */
static void play_live(struct node *n, const struct sched_act *a)
{
	struct player_live src;
	struct player_item it = {
		.token = a->token,
		.start_us = a->at_ms * 1000 - tsync_offset_us(n->tsync, cx_mono_us()),
		.volume = a->volume,
		.live = &src,
	};
	int r;

	/* Open after a restart too (idempotent; the alert's window is then
	 * its start to its expiry): a stream that no longer sends ends after
	 * LIVE_IDLE_US with "no live audio received". */
	r = live_open(n->live, a->stream, node_now_ms(n) * 1000, a->scheduled_ms * 1000,
		      a->deadline_ms * 1000);
	if (r == 0)
		r = live_player_source(n->live, a->stream, &src);
	if (r < 0) {
		sched_on_failed(n->sched, a->token, node_now_ms(n),
				r == -ENOSPC ? "too many live streams" : "out of memory");
		return;
	}
	n->last_volume = a->volume;
	log_info("play live %s (stream %s) now (priority %d, volume %d)", a->id, a->stream,
		 a->priority, a->volume);
	if (player_start(n->player, &it) < 0)
		sched_on_failed(n->sched, a->token, node_now_ms(n), "out of memory");
}

static void do_play(struct node *n, const struct sched_act *a)
{
	char (*paths)[512] = calloc(a->nassets ? a->nassets : 1, sizeof(*paths));
	const char **pp = calloc(a->nassets ? a->nassets : 1, sizeof(*pp));
	struct player_item it = {
		.token = a->token,
		.start_us = a->at_ms * 1000 - tsync_offset_us(n->tsync, cx_mono_us()),
		.volume = a->volume,
		.npaths = a->nassets,
	};

	if (a->stream) {
		play_live(n, a);
		goto out;
	}
	if (!paths || !pp) {
		sched_on_failed(n->sched, a->token, node_now_ms(n), "out of memory");
		goto out;
	}
	for (size_t i = 0; i < a->nassets; i++) {
		cache_asset_path(n->cache, a->assets[i], paths[i], sizeof(paths[i]));
		pp[i] = paths[i];
	}
	it.paths = pp;
	n->last_volume = a->volume;
	log_info("play %s at %lld (priority %d, volume %d)", a->id, (long long)a->at_ms,
		 a->priority, a->volume);
	if (player_start(n->player, &it) < 0)
		sched_on_failed(n->sched, a->token, node_now_ms(n), "out of memory");
out:
	free(paths);
	free(pp);
}

int64_t playout_run(struct node *n)
{
	struct sched_act acts[16];
	int64_t wake = INT64_MAX;
	size_t k;

	do {
		k = sched_tick(n->sched, node_now_ms(n), acts, 16, &wake);
		/* The player first: a receipt is fsynced (hundreds of ms on a
		 * busy SD card), and an alert must not start that much late. */
		for (size_t i = 0; i < k; i++) {
			if (acts[i].type == SCHED_ACT_PLAY)
				do_play(n, &acts[i]);
			else if (acts[i].type == SCHED_ACT_STOP)
				player_stop(n->player, acts[i].token);
		}
		for (size_t i = 0; i < k; i++)
			if (acts[i].type == SCHED_ACT_RECEIPT)
				session_receipt(n, &acts[i]);
	} while (k == 16);
	if (n->state_dirty)
		playout_save(n);
	/* The alerts seen, after the player has what it must play. */
	if (n->seen_dirty) {
		alerts_save_seen(n);
		n->seen_dirty = false;
	}
	return wake;
}

void playout_player_events(struct node *n)
{
	struct player_ev ev;

	while (player_next_event(n->player, &ev) == 1) {
		int64_t now = node_now_ms(n);
		int64_t off = tsync_offset_us(n->tsync, cx_mono_us());

		switch (ev.type) {
		case PLAYER_EV_STARTED:
			sched_on_started(n->sched, ev.token, (ev.started_us + off) / 1000,
					 ev.start_error_us);
			break;
		case PLAYER_EV_DONE:
			sched_on_done(n->sched, ev.token, now, ev.played_ms);
			break;
		case PLAYER_EV_STOPPED:
			sched_on_stopped(n->sched, ev.token, now, ev.played_ms);
			break;
		case PLAYER_EV_FAILED:
			log_warn("playback failed: %s", ev.reason);
			sched_on_failed(n->sched, ev.token, now, ev.reason);
			break;
		}
		n->status_dirty = true;
	}
}
