/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan.h -- a verified plan's JSON body, parsed and bounded */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define PLAN_MAX_EVENTS 100000
#define PLAN_MAX_ASSETS 64    /* per event */
#define PLAN_OCC_MAX    160

struct plan_event {
	char occ[PLAN_OCC_MAX + 1];
	char notice[65];
	int64_t start_ms;
	int64_t duration_ms;
	int priority;          /* 1..100 */
	int volume;            /* 1..100 */
	size_t nassets;
	char (*assets)[65];    /* lower-case hex SHA-256 each */
};

#define PLAN_MAX_TAGS   32
#define PLAN_TAG_MAX    64

struct plan {
	char node[33];
	char area[13];         /* the node's village code, "" when not given */
	size_t ntags;
	char (*tags)[PLAN_TAG_MAX + 1];
	int64_t issued_ms;
	int64_t horizon_ms;
	int64_t max_delay_ms;  /* default 600000 when absent */
	size_t nevents;
	struct plan_event *events; /* sorted by start_ms, then occ */
};

/* Parse and validate the JSON body of a plan (already signature-checked)
 * for node NODE_ID: type "plan", node matches, every field typed and in
 * range, limits above respected. ERR gets a one-line reason.
 * Rules: LEN <= ENV_MAX_BYTES; duplicate keys rejected; instants
 * (issued_ms, horizon_ms, start_ms) in 2000..2100 and horizon_ms >
 * issued_ms; duration_ms 1..86400000; max_delay_ms 0..86400000; priority
 * and volume 1..100; occ 1..PLAN_OCC_MAX and notice 1..64 bytes without
 * control characters, occ unique in the plan; assets 1..PLAN_MAX_ASSETS.
 * Keys the node does not know are ignored, so a newer controller can add
 * fields within cx/v1 without silencing older nodes.
 * \retval 0 / -EBADMSG / -ENOMEM */
int plan_parse(const char *json, size_t len, const char *node_id, struct plan **out,
	       char *err, size_t errlen);
void plan_free(struct plan *p);
/* Every distinct asset the plan references, sorted, for events that may
 * still play at NOW_MS (start + duration + max_delay >= NOW_MS; pass 0 for
 * all). Returns a malloc'ed array of *N entries (non-NULL even when *N is
 * 0); NULL + errno ENOMEM. */
char (*plan_assets(const struct plan *p, int64_t now_ms, size_t *n))[65];
