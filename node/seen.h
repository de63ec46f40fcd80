/* SPDX-License-Identifier: GPL-2.0-or-later */
/* seen.h -- the alert ids a node has seen (and the ids cancelled before their
 * alert arrived), each kept until it expires, so a replay never plays */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "alert.h"

#define SEEN_MAX 10000   /* ids kept; when full the one expiring first goes */

struct seen;

/* NULL on ENOMEM. */
struct seen *seen_new(void);
void seen_free(struct seen *s);
bool seen_has(const struct seen *s, const char *id);
/* Remember ID until UNTIL_MS (a later UNTIL_MS extends it).
 * \retval 0 / -EINVAL id over ALERT_ID_MAX / -ENOMEM */
int seen_add(struct seen *s, const char *id, int64_t until_ms);
/* Forget entries whose until_ms is before NOW_MS. */
void seen_prune(struct seen *s, int64_t now_ms);
/* The list as JSON text (malloc'ed) for the state file, and back. Loading
 * skips malformed entries. \retval 0 / -ENOMEM / -EBADMSG */
char *seen_dump(const struct seen *s);
int seen_load(struct seen *s, const char *json, size_t len);
