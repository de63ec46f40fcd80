/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alert.h -- a verified alert or cancel's JSON body, parsed and bounded;
 * targeting, priority, and the memory of alerts already seen */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALERT_ID_MAX      160
#define ALERT_MAX_TARGETS 1000   /* areas, tags or nodes, each */
#define ALERT_MAX_ASSETS  16
#define ALERT_MAX_REPEAT  10
#define ALERT_TITLE_MAX   256    /* bytes of UTF-8 */

struct alert {
	bool cancel;                 /* a cancel: REF names the alert */
	char id[ALERT_ID_MAX + 1];
	char ref[ALERT_ID_MAX + 1];  /* cancel only */
	int64_t issued_ms;
	/* alert only: */
	int level;                   /* 1..4 */
	char cls[8];                 /* actual | drill | test */
	int64_t start_ms, expires_ms;
	int64_t duration_ms;         /* one play of the assets; 0 when not given */
	int repeat;                  /* 1..ALERT_MAX_REPEAT */
	int volume;                  /* 1..100 */
	char title[ALERT_TITLE_MAX + 1];
	size_t nareas, ntags, nnodes, nassets;
	char (*areas)[13];           /* administrative-code prefixes, digits */
	char (*tags)[65];
	char (*nodes)[33];
	char (*assets)[65];          /* lower-case hex SHA-256 */
	char live[65];               /* live stream name, "" for none */
};

/* Parse the JSON body of a verified "alert" or "cancel" message. Keys the
 * node does not know are ignored; every known one is type- and
 * range-checked; an alert needs at least one asset or a live stream.
 * \retval 0 / -EBADMSG (ERR says why) / -ENOMEM */
int alert_parse(const char *json, size_t len, struct alert **out, char *err, size_t errlen);
void alert_free(struct alert *a);

/* Does A target the node NODE in village AREA with TAGS? The union of: an
 * area that is a prefix of AREA, a shared tag, NODE listed. */
bool alert_targets(const struct alert *a, const char *node, const char *area,
		   const char (*tags)[65], size_t ntags);

/* DESIGN's priority of an alert of LEVEL 1..4: Ⅰ 70, Ⅱ 60, Ⅲ 50, Ⅳ 40. */
int alert_priority(int level);

/* Ids already seen (alerts, and alerts cancelled before they arrived), each
 * remembered until its expiry, so a replay never plays. */
struct alert_seen;

struct alert_seen *alert_seen_new(void);
void alert_seen_free(struct alert_seen *s);
bool alert_seen_has(const struct alert_seen *s, const char *id);
/* \retval 0 / -ENOMEM */
int alert_seen_add(struct alert_seen *s, const char *id, int64_t until_ms);
/* Forget entries whose until_ms is before NOW_MS. */
void alert_seen_prune(struct alert_seen *s, int64_t now_ms);
/* The list as JSON text (malloc'ed) for the state file, and back. Loading
 * skips malformed entries. \retval 0 / -ENOMEM / -EBADMSG */
char *alert_seen_dump(const struct alert_seen *s);
int alert_seen_load(struct alert_seen *s, const char *json, size_t len);
