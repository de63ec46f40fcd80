/* SPDX-License-Identifier: GPL-2.0-or-later */
/* compile_model.h -- a compile as compile_run fills it, shared by compile*.c only */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile.h"

struct occ {
	uint32_t b;                /* broadcast */
	uint32_t at;               /* index into the broadcast's at: */
	int64_t schedule_ms;
	char *name;
	json_t *json;              /* event at its scheduled time, shared across nodes */
	char *text;                /* ... its compact JSON, serialised once */
	size_t text_len;
	unsigned char digest[COMPILE_DIGEST];  /* of text */
};

/* What one broadcast plays: its notice, repeated, with chimes. */
struct playlist {
	bool ok;
	uint32_t *assets;
	const char **shas;
	size_t n;
	int64_t duration_ms;
	json_t *json;              /* the "assets" array, shared */
	uint32_t first_occ, nocc;
};

struct ev {
	uint32_t occ;
	int64_t start;
};

struct nodeplan {
	struct ev *ev;
	size_t n;
	size_t *assets;
	size_t nassets;
};

struct cerr;
struct quiet_iv;

struct compile {
	const struct schedule *s;
	struct compile_opts o;
	int64_t from_ms, horizon_ms;
	struct compile_asset *assets;
	size_t nassets, assets_cap;
	uint32_t *asset_hash;      /* open addressing over assets, UINT32_MAX = empty */
	size_t hash_cap;
	struct playlist *pl;       /* per broadcast */
	struct occ *occ;
	size_t nocc, occ_cap;
	struct nodeplan *np;
	struct ev *evpool;
	size_t total;
	struct cerr *errs;
	size_t nerrs, errs_cap;
	struct quiet_iv *quiet;
	size_t nquiet;
	bool oom, too_big;
};
