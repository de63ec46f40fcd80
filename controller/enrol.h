/* SPDX-License-Identifier: GPL-2.0-or-later */
/* enrol.h -- putting poles' keys in the store: `cunxiang enrol` and `provision` */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "cconf.h"
#include "store.h"

enum enrol_outcome {
	ENROL_NEW,      /* the node had no key in force; KEY is now */
	ENROL_SAME,     /* KEY was already the node's key: nothing changed */
	ENROL_REPLACED, /* KEY took the place of another (REPLACE) */
};

struct enrol_result {
	enum enrol_outcome outcome;
	struct store_key before;   /* the key in force before (ENROL_REPLACED, -EEXIST) */
	struct store_key now;      /* the key in force after */
};

/* Open DATA_DIR/receipts.db of CF, creating DATA_DIR if needed and the
 * store unless READONLY. Prints why not to stderr, as "PROG: ...".
 * NULL + errno. */
struct store *enrol_store_open(const struct cconf *cf, bool readonly, const char *prog);

/* Enrol KEY as NODE's signing key in ST at NOW_MS, as `cunxiang enrol`
 * does: a node id that is not one, or a failing store, is printed to
 * stderr as "PROG: WHERENODE: reason" (WHERE is a prefix such as
 * "FILE:LINE: ", or ""). Another key in force without REPLACE is not
 * printed: the caller says what to do (RES->before holds that key).
 * \retval 0 RES says what happened / -EEXIST / -EINVAL / -errno */
int enrol_key(struct store *st, const char *prog, const char *where, const char *node,
	      const struct env_key *key, bool replace, int64_t now_ms, struct enrol_result *res);

/* One line to F saying what enrol_key() did for NODE:
 * "NODE: key ID enrolled", "... (already enrolled)", "... replaces ID; ...". */
void enrol_print(FILE *f, const char *node, const struct enrol_result *res);

/* Retire NODE's key, as `cunxiang enrol --remove` does: nothing it signs
 * counts any more (its receipts stay). Failures other than "not enrolled"
 * are printed to stderr as "PROG: reason".
 * \retval 0 / -ENOENT not enrolled (nothing printed) / -errno */
int enrol_retire(struct store *st, const char *prog, const char *node, int64_t now_ms);
