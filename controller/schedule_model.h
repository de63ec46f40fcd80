/* SPDX-License-Identifier: GPL-2.0-or-later */
/* schedule_model.h -- the schedules model as its readers fill it, shared by schedule*.c only */
#pragma once

#include "schedule.h"

#include "ydoc.h"

#include <stdbool.h>
#include <stdlib.h>

/* A name written in a broadcast, resolved once every file is read. */
struct ref {
	char *name;
	struct schedule_pos pos;
};

struct refs {
	struct ref *v;
	size_t n;
};

struct bcast {
	struct schedule_broadcast pub;
	struct schedule_at *at;
	size_t *targets;
	struct ref notice;
	bool all;
	struct refs villages, tags, nodes;
	struct schedule_pos targets_pos;
	uint8_t wmask;                /* bit 0 = Monday */
	int64_t *dates;               /* sorted day numbers */
	size_t ndates;
	int64_t from, until;          /* inclusive day numbers */
};

struct tagent {
	const char *tag;
	size_t node;
};

struct schedule {
	char *dir;
	char *prefix;                 /* how file names are shown: "DIR/" or "" */
	char **files;                 /* shown names; schedule_pos.file points here */
	size_t nfiles;
	struct schedule_township town;
	struct schedule_range *quiet;
	struct schedule_presence *presence;
	double presence_min[1440];
	struct schedule_village *villages;
	size_t nvillages;
	struct schedule_node *nodes;
	size_t nnodes;
	struct schedule_notice *notices;
	size_t nnotices, notices_cap;
	struct bcast *bcasts;
	size_t nbcasts, bcasts_cap;
	size_t *node_by_id, *village_by_code, *notice_by_id, *bcast_by_id;
	struct tagent *tagidx;
	size_t ntagidx;
	struct diag *d;               /* while loading */
	bool oom;
};

static inline void schedule_xfree(const void *p)
{
	free((void *)p);
}

/* The readers: schedule_fleet.c reads fleet.yaml, schedule_file.c the
 * broadcast files; both report to S->d and set S->oom when memory runs
 * out. What is left to check across files is schedule.c's (resolve). */

/* Read S->dir/fleet.yaml into S: the township, its villages and nodes.
 * Unless memory runs out, leaves the township's name, area_code and
 * timezone set (empty strings or the default zone when missing). */
void schedule_fleet_load(struct schedule *s);

/* Names of the broadcast files of S->dir (every regular *.yaml but
 * fleet.yaml and warnings.yaml, not starting with '.'), sorted bytewise; *COUNT of them.
 * Each name and the array are to free(). NULL when there are none or the
 * directory cannot be read (reported). */
char **schedule_file_list(struct schedule *s, size_t *count);

/* Read the broadcast file NAME of S->dir: its notices and broadcasts. */
void schedule_file_load(struct schedule *s, const char *name);

/* Helpers the readers share, in schedule.c. */

/* True if S is 1 to MAX bytes of a-z, 0-9 and '-', plus A-Z and '_' when
 * UPPER_AND_UNDERSCORE. */
bool schedule_charset_ok(const char *s, size_t max, bool upper_and_underscore);

/* Where node N (may be NULL: 1:1) of FILE was written. */
struct schedule_pos schedule_pos_of(const char *file, const yaml_node_t *n);

/* A + B, malloc'ed; NULL when out of memory. */
char *schedule_concat(const char *a, const char *b);

/* strdup(STR, or "" when NULL); sets S->oom on failure. */
char *schedule_sdup(struct schedule *s, const char *str);

/* Record NAME of S->dir as read: returns its shown name ("DIR/NAME"),
 * which lives as long as S, or NULL with S->oom set. */
const char *schedule_add_file(struct schedule *s, const char *name);

/* A single scalar or a list of scalars, as a list: calls FN per item. */
typedef void (*schedule_item_fn)(struct schedule *s, struct ydoc *y, const char *file,
				 yaml_node_t *item, const char *text, void *ctx);

/* N as such a list, WHAT naming it in errors and MAX its longest. */
void schedule_each_item(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *n,
			const char *what, size_t max, schedule_item_fn fn, void *ctx);

/* qsort/bsearch comparison of int64_t day numbers. */
int schedule_cmp_day(const void *a, const void *b);
