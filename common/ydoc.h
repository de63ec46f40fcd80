/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ydoc.h -- a libyaml document with checked accessors that report to a diag */
#pragma once

#include "diag.h"

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

/* Largest YAML file accepted. */
#define YDOC_MAX_BYTES (16u << 20)
/* Deepest nesting of collections (block or flow, mappings and sequences
 * alike) accepted; the schedules and configs nest fewer than 8 levels. */
#define YDOC_MAX_DEPTH 64
/* Most anchors (&name) in a file: libyaml looks every anchor and alias up
 * among all the anchors before it. */
#define YDOC_MAX_ANCHORS 256
/* Aliases (*name) may repeat at most this much of a file, counted as the
 * bytes of the scalars they stand for plus one per node: the document
 * shares an aliased node, but whoever walks it visits it at every alias. */
#define YDOC_MAX_REPEAT (1u << 20)

struct ydoc;

/* Parse PATH; errors are reported to D as NAME:LINE:COL (NAME is how the
 * file is shown, e.g. "schedules/flood.yaml"). Lines and columns are
 * 1-based, columns counted in characters, as libyaml marks them.
 * The file's events are walked before the document is built, and a file
 * nested deeper than YDOC_MAX_DEPTH is refused at the first collection
 * too deep ("nested deeper than 64 levels") after a few milliseconds of
 * parsing, whatever its size (building it would take time in the square of
 * the depth of flow collections: a minute for 200 KB of "["). So is one
 * with more than YDOC_MAX_ANCHORS anchors ("more than 256 anchors"), whose
 * aliases repeat more than YDOC_MAX_REPEAT ("aliases repeat more than 1 MiB
 * of the file"), or with an alias inside the node it refers to (which
 * would make the document a cycle), each at the node or alias that crosses
 * the line.
 * Returns NULL when the file cannot be read, is not valid YAML or is
 * refused (the reason reported), or is empty (no error; *EMPTY set if
 * non-NULL). */
struct ydoc *ydoc_load(const char *path, const char *name, struct diag *d, bool *empty);
void ydoc_free(struct ydoc *y);

const char *ydoc_name(const struct ydoc *y);
yaml_node_t *ydoc_root(struct ydoc *y);

/* Report an error at node N (or at the start of the file when N is NULL). */
void ydoc_error(struct ydoc *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* 1-based line and column of N. */
int ydoc_line(const yaml_node_t *n);
int ydoc_col(const yaml_node_t *n);

bool ydoc_is_map(const yaml_node_t *n);
bool ydoc_is_seq(const yaml_node_t *n);
bool ydoc_is_scalar(const yaml_node_t *n);

/* Mappings. */
size_t ydoc_map_len(const yaml_node_t *map);
/* I-th pair: the key's text (NULL if the key is not a scalar), and the nodes. */
const char *ydoc_map_at(struct ydoc *y, yaml_node_t *map, size_t i,
			yaml_node_t **key, yaml_node_t **value);
/* Report every key of MAP that is not in ALLOWED (NULL-terminated), every
 * duplicate key and every non-scalar key, each at the key itself, as
 * "unknown key 'voulme' in WHAT". Returns the number of errors. */
int ydoc_map_check(struct ydoc *y, yaml_node_t *map, const char *const *allowed,
		   const char *what);
/* The value of KEY in MAP, or NULL. */
yaml_node_t *ydoc_get(struct ydoc *y, yaml_node_t *map, const char *key);

/* Sequences. */
size_t ydoc_seq_len(const yaml_node_t *seq);
yaml_node_t *ydoc_seq_at(struct ydoc *y, yaml_node_t *seq, size_t i);

/* Scalars: each reports "WHAT must be ..." at N and returns false/NULL on a
 * wrong type or range. */
const char *ydoc_str(struct ydoc *y, yaml_node_t *n, const char *what);
bool ydoc_long(struct ydoc *y, yaml_node_t *n, long min, long max, const char *what,
	       long *out);
bool ydoc_double(struct ydoc *y, yaml_node_t *n, double min, double max, const char *what,
		 double *out);
bool ydoc_bool(struct ydoc *y, yaml_node_t *n, const char *what, bool *out);
