/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alert.h -- the alert and cancel messages on cx/v1/alert: built, signed,
 * parsed and bounded; targeting and priority */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "envelope.h"

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

/* Sign A (an alert or, with A->cancel, a cancel naming A->ref) with SK into
 * *MSG (malloc'ed envelope): the keys of DESIGN "Alert and cancel" plus
 * duration_ms; the rules of alert_parse hold for what it builds.
 * \retval 0 / -EINVAL (A breaks a rule of alert_parse) / -ENOMEM /
 * -EMSGSIZE */
int alert_sign(const struct alert *a, const unsigned char sk[ENV_SK_BYTES], char **msg,
	       size_t *len);
/* Copy the target lists into A (replacing any), each entry checked as
 * alert_parse checks it. \retval 0 / -EINVAL (an entry too long or of the
 * wrong characters, or too many) / -ENOMEM */
int alert_set_targets(struct alert *a, const char *const *areas, size_t nareas,
		      const char *const *tags, size_t ntags, const char *const *nodes, size_t nnodes);
/* Copy the asset hashes into A. \retval 0 / -EINVAL / -ENOMEM */
int alert_set_assets(struct alert *a, const char (*shas)[65], size_t n);

/* A's "targets" object ({"areas":[...],"tags":[...],"nodes":[...]}), a new
 * reference; NULL on ENOMEM. */
json_t *alert_targets_json(const struct alert *a);

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
