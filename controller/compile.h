/* SPDX-License-Identifier: GPL-2.0-or-later */
/* compile.h -- a schedules model to per-node plans: occurrences, assets, overlaps, quiet hours */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "schedule.h"

#define COMPILE_MAX_DAYS   366
/* Node events of one run (16 bytes each), so memory stays bounded. */
#define COMPILE_MAX_EVENTS (8u << 20)

struct compile_opts {
	int64_t from_day;          /* civil day (cx_days_from_civil); the window starts
	                              at its midnight in the township's zone */
	int days;                  /* 1..COMPILE_MAX_DAYS */
	const char *voices_dir;    /* NULL: no voices, every text notice is an error */
	const char *assets_dir;    /* renders and encodes land here (created) */
	const char *cache_dir;     /* render cache for tts/encode; may be NULL */
};

/* One playing of a broadcast on one node. Pointers stay valid until
 * compile_free(). */
struct compile_event {
	const char *occ;           /* "BROADCAST@YYYY-MM-DDTHH:MM", local scheduled time */
	const char *broadcast;
	const char *notice;
	size_t broadcast_index, notice_index;
	int64_t scheduled_ms;      /* as written */
	int64_t start_ms;          /* after overlap delays */
	int64_t duration_ms;       /* sum of its assets */
	int priority, volume;
	const char *const *assets; /* SHA-256 hex, in playing order */
	size_t nassets;
};

struct compile_asset {
	const char *sha;
	const char *path;          /* ASSETS_DIR/SHA.opus */
	int64_t duration_ms;
};

struct compile;

/* Compile S over [from_day, from_day + days) into one plan per node.
 * Every broadcast and notice S marks valid is rendered (text through
 * voices/tts, recordings through the encoder) whether or not it plays in
 * the window, so that a check finds a broken notice early. Overlaps on a
 * node are resolved as DESIGN says: higher priority keeps its time, then
 * declaration order; a broadcast delayed beyond max_delay is an error at
 * its at: time naming both broadcasts and the node; a broadcast playing
 * into quiet hours (after delays) is an error unless it is important with
 * quiet_ok. Repeated errors are reported once per (broadcast, time) with a
 * count. Errors go to D; the result is returned even when there are some,
 * so that `check` reports everything — callers must not publish it then.
 * The caller has selected the township's time zone (cx_tz_set); compiling
 * in another is refused.
 * Returns NULL with errno = ENOMEM, or EINVAL for bad OPTS or an unselected
 * zone (reported). */
struct compile *compile_run(const struct schedule *s, const struct compile_opts *opts,
			    struct diag *d);
void compile_free(struct compile *c);

/* The window: midnight of from_day and of from_day + days, local time. */
int64_t compile_from_ms(const struct compile *c);
int64_t compile_horizon_ms(const struct compile *c);

/* Nodes are those of the model, in the same order. */
size_t compile_node_count(const struct compile *c);
/* Events of NODE sorted by start_ms. */
size_t compile_event_count(const struct compile *c, size_t node);
void compile_event(const struct compile *c, size_t node, size_t i, struct compile_event *ev);
size_t compile_total_events(const struct compile *c);

/* Every asset rendered, and the sorted indices of those NODE's plan uses. */
size_t compile_asset_count(const struct compile *c);
const struct compile_asset *compile_asset(const struct compile *c, size_t i);
size_t compile_node_assets(const struct compile *c, size_t node, const size_t **idx);

/* The plan body of DESIGN "Plan" for NODE, unsigned, keys in order: type,
 * node, issued_ms (= compile_from_ms; `serve` sets its own when it signs),
 * horizon_ms, max_delay_ms, events. NULL on ENOMEM. */
json_t *compile_plan_json(const struct compile *c, size_t node);
/* The same as compact JSON and a final newline, malloc'ed.
 * \retval 0 / -ENOMEM */
int compile_plan_dump(const struct compile *c, size_t node, char **buf, size_t *len);
/* The schedule C was compiled from. */
const struct schedule *compile_schedule(const struct compile *c);
/* The plan body without its events: what comes before "events". */
json_t *compile_plan_head_json(const struct compile *c, size_t node);

#define COMPILE_DIGEST 32
/* The compact JSON of the I-th event of NODE's plan, byte for byte as in
 * compile_plan_dump, and its BLAKE2b digest. An event at its scheduled
 * time is the same on every node and serialised once; one moved by an
 * overlap is this node's own (OWNED). TEXT is valid until
 * compile_text_release and compile_free. \retval 0 / -ENOMEM */
struct compile_text {
	const char *text;
	size_t len;
	unsigned char digest[COMPILE_DIGEST];
	char *owned;
};
int compile_event_text(const struct compile *c, size_t node, size_t i, struct compile_text *t);
void compile_text_release(struct compile_text *t);
/* A digest of the plan compile_plan_dump writes, from what it is made of,
 * without serialising it: BLAKE2b-256 of the format's version,
 * "plan-text-2", and the framing around and between the events, each
 * with its length; the head's parts (node, issued_ms, horizon_ms,
 * max_delay_ms, area, tags); the number of events and, for each, the
 * digest of its occurrence's text at its scheduled time and, when an
 * overlap moved it, the time it starts. Integers are 8 bytes,
 * little-endian; strings their length, then their bytes. Equal digests,
 * equal plans. A change to what the text is made of, or how, comes with a
 * new version, so that every digest changes. \retval 0 / -ENOMEM */
int compile_plan_digest(const struct compile *c, size_t node, unsigned char out[COMPILE_DIGEST]);
