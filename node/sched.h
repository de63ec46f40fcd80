/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sched.h -- what a node plays when: plan events and alerts, priority, preemption */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The scheduler is pure logic: it is told the time, the plan, alerts and
 * what the player reported, and answers with actions. All instants are on
 * the controller's clock, in ms. It never touches a file or a device. */

enum sched_kind { SCHED_PLAN, SCHED_ALERT, SCHED_LIVE };

struct sched_item_in {
	enum sched_kind kind;
	const char *id;          /* plan: occ; alert: alert id */
	const char *notice;      /* plan: notice id; alert: title (may be NULL) */
	int64_t start_ms;
	int64_t duration_ms;     /* 0 when unknown (live) */
	int64_t deadline_ms;     /* latest start (plan: start + max_delay; alert: expires) */
	int priority;
	int volume;
	size_t nassets;
	const char (*assets)[65];
	const char *stream;      /* live stream name, else NULL */
};

enum sched_act_type {
	SCHED_ACT_PLAY,          /* hand ITEM to the player to start at AT_MS */
	SCHED_ACT_STOP,          /* stop ITEM (cancelled; nothing replaces it) */
	SCHED_ACT_RECEIPT,       /* emit a receipt for ITEM */
};

struct sched_act {
	enum sched_act_type type;
	uint64_t token;          /* the item's handle, for the player */
	enum sched_kind kind;
	char id[161];
	int64_t at_ms;           /* PLAY: first-sample instant */
	/* RECEIPT fields */
	const char *state;       /* accepted, started, completed, interrupted, failed, skipped, expired */
	const char *reason;      /* NULL or a short reason (static or in reason_buf) */
	char reason_buf[200];
	int64_t scheduled_ms, started_ms, ended_ms, played_ms, start_error_us;
	bool has_start_error;
	int volume;
	/* PLAY fields */
	int priority;
	size_t nassets;
	const char (*assets)[65];
	const char *stream;
	int64_t deadline_ms;     /* the item's latest start (alert: its expiry) */
};

struct sched;

/* LEAD_MS: how long before its start an item is handed to the player (so it
 * can open the device and power the amplifier). NULL + errno. */
struct sched *sched_new(int64_t lead_ms);
void sched_free(struct sched *s);

/* Replace the plan's events by EV (N of them). Events already started or
 * finished keep their state when their id is still there; a waiting event
 * that is gone is dropped silently; a playing one that is gone is stopped
 * with "interrupted" (reason "removed from plan"). */
int sched_set_plan(struct sched *s, const struct sched_item_in *ev, size_t n, int64_t now_ms);

/* Add an alert (already verified, not expired, not seen). Emits "accepted".
 * \retval 0 / -EEXIST same id known / -ENOMEM */
int sched_add_alert(struct sched *s, const struct sched_item_in *al, int64_t now_ms);
/* Cancel alert ID: stop it if playing, drop it if waiting; "interrupted",
 * reason "cancelled". \retval 0 / -ENOENT */
int sched_cancel(struct sched *s, const char *id, int64_t now_ms);
/* A live stream ended (last frame or silence); its item completes. */
int sched_live_end(struct sched *s, const char *stream, int64_t now_ms);

/* Player reports. PLAYED_MS / START_ERROR_US as measured. REASON for
 * failures. */
void sched_on_started(struct sched *s, uint64_t token, int64_t started_ms, int64_t start_error_us);
void sched_on_done(struct sched *s, uint64_t token, int64_t now_ms, int64_t played_ms);
void sched_on_stopped(struct sched *s, uint64_t token, int64_t now_ms, int64_t played_ms);
void sched_on_failed(struct sched *s, uint64_t token, int64_t now_ms, const char *reason);

/* Asset availability, asked of the caller when an item is about to play:
 * return false to fail the item with "asset missing". */
typedef bool (*sched_have_fn)(const char *sha, void *ud);
void sched_set_have(struct sched *s, sched_have_fn fn, void *ud);

/* Advance to NOW_MS: decide, and append up to MAX actions to ACTS.
 * Returns the number of actions; call again while it returns MAX.
 * *WAKE_MS is the next instant the scheduler wants to be called. */
size_t sched_tick(struct sched *s, int64_t now_ms, struct sched_act *acts, size_t max,
		  int64_t *wake_ms);

/* True while something is playing or handed to the player. */
bool sched_busy(const struct sched *s);
/* Id of the item playing now, or NULL. */
const char *sched_current(const struct sched *s);

/* Durable memory of what was started and finished, so a restart neither
 * replays a completed event nor forgets an interrupted one. Entries older
 * than KEEP_AFTER_MS are left out. */
json_t *sched_export(const struct sched *s, int64_t keep_after_ms);
/* Restore after sched_set_plan/before the first tick: items recorded as
 * finished are not played again; items recorded as started but not
 * finished restart when within their deadline, else get "interrupted"
 * (reason "node restarted"). An item that was playing when the state was
 * saved gets that "interrupted" receipt for the run cut short in any case,
 * as a preempted one does, before it restarts. */
int sched_import(struct sched *s, const json_t *state, int64_t now_ms);
