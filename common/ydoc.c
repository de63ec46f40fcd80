/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ydoc.c -- a libyaml document with checked accessors that report to a diag */
#include "ydoc.h"

#include "fileio.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct ydoc {
	yaml_document_t doc;
	char *name;
	struct diag *d;
};

static void syntax_error(struct diag *d, const char *name, const yaml_parser_t *p)
{
	yaml_mark_t m = p->problem_mark;

	diag_error(d, name, (int)m.line + 1, (int)m.column + 1, "YAML syntax: %s%s%s",
		   p->problem ? p->problem : "invalid document",
		   p->context ? " " : "", p->context ? p->context : "");
}

/* A node with an anchor (&name): how much of the file an alias (*name)
 * repeats, as the bytes of its scalars plus one per node. */
struct anchor {
	char *name;
	size_t size;
	bool open;                    /* a collection not ended yet */
};

struct scan {
	struct diag *d;
	const char *name;
	int depth;                    /* open collections */
	size_t size[YDOC_MAX_DEPTH + 1];     /* of each open collection; [0] the document */
	int anchor[YDOC_MAX_DEPTH + 1];      /* its anchor in anchors[], or -1 */
	struct anchor anchors[YDOC_MAX_ANCHORS];
	int nanchors;
	size_t repeated;              /* by the aliases so far */
};

static int scan_error(struct scan *s, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int scan_error(struct scan *s, yaml_mark_t m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(s->d, s->name, (int)m.line + 1, (int)m.column + 1, "%s", msg);
	return -EINVAL;
}

/* Record ANCHOR (NULL: none) of the node that EV starts; its index in
 * *IDX (-1 for none). */
static int scan_anchor(struct scan *s, const yaml_event_t *ev, const yaml_char_t *anchor,
		       size_t size, bool open, int *idx)
{
	struct anchor *a;

	*idx = -1;
	if (!anchor)
		return 0;
	if (s->nanchors == YDOC_MAX_ANCHORS)
		return scan_error(s, ev->start_mark, "more than %d anchors", YDOC_MAX_ANCHORS);
	a = &s->anchors[s->nanchors];
	a->name = strdup((const char *)anchor);
	if (!a->name)
		return -ENOMEM;
	a->size = size;
	a->open = open;
	*idx = s->nanchors++;
	return 0;
}

/* What the alias EV repeats; an unknown name is left for the loader to
 * report. */
static int scan_alias(struct scan *s, const yaml_event_t *ev, size_t *size)
{
	const char *name = (const char *)ev->data.alias.anchor;

	*size = 1;
	for (int i = s->nanchors - 1; i >= 0; i--) {
		if (strcmp(s->anchors[i].name, name))
			continue;
		/* The loader would make this a cycle in the document. */
		if (s->anchors[i].open)
			return scan_error(s, ev->start_mark,
					  "alias '*%s' is inside the node it refers to", name);
		*size = s->anchors[i].size;
		break;
	}
	s->repeated += *size;
	if (s->repeated > YDOC_MAX_REPEAT)
		return scan_error(s, ev->start_mark, "aliases repeat more than %u MiB of the file",
				  YDOC_MAX_REPEAT >> 20);
	return 0;
}

/* One event of the document; 0, -EINVAL reported, -ENOMEM. */
static int scan_event(struct scan *s, const yaml_event_t *ev)
{
	size_t size = 0;
	int idx, r;

	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (s->depth == YDOC_MAX_DEPTH)
			return scan_error(s, ev->start_mark, "nested deeper than %d levels",
					  YDOC_MAX_DEPTH);
		r = scan_anchor(s, ev, ev->type == YAML_SEQUENCE_START_EVENT ?
				ev->data.sequence_start.anchor : ev->data.mapping_start.anchor,
				0, true, &idx);
		if (r < 0)
			return r;
		s->depth++;
		s->size[s->depth] = 1;
		s->anchor[s->depth] = idx;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		size = s->size[s->depth];
		if (s->anchor[s->depth] >= 0) {
			s->anchors[s->anchor[s->depth]].size = size;
			s->anchors[s->anchor[s->depth]].open = false;
		}
		s->depth--;
		break;
	case YAML_SCALAR_EVENT:
		size = ev->data.scalar.length + 1;
		r = scan_anchor(s, ev, ev->data.scalar.anchor, size, false, &idx);
		if (r < 0)
			return r;
		break;
	case YAML_ALIAS_EVENT:
		r = scan_alias(s, ev, &size);
		if (r < 0)
			return r;
		break;
	default:
		return 0;
	}
	s->size[s->depth] += size;
	return 0;
}

/* The first document of BUF as events, without building it, to refuse
 * what would make building or walking it costly:
 * - nesting: libyaml's scanner keeps a slot per open flow collection and
 *   walks them all for every token, so a file of '[' costs time in the
 *   square of its length (200 KB took a minute). Stopping at the
 *   collection one level too deep leaves the scanner at most its
 *   simple-key lookahead (1024 characters) past it.
 * - anchors: the loader looks each anchor and alias up among all anchors
 *   before it (a megabyte of anchors took 9 s).
 * - aliases: the loader shares an aliased node, but a caller walking the
 *   document visits it at every alias (a 41 KB fleet.yaml listed a million
 *   poles that way, each a duplicate-id error).
 * \retval 0 fine, -EINVAL reported (a limit, or a syntax error), -ENOMEM */
static int prescan(const unsigned char *buf, size_t len, const char *name, struct diag *d)
{
	struct scan *s = calloc(1, sizeof(*s));
	yaml_parser_t parser;
	yaml_event_t ev;
	int r = 0;

	if (!s)
		return -ENOMEM;
	s->d = d;
	s->name = name;
	if (!yaml_parser_initialize(&parser)) {
		free(s);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	for (;;) {
		yaml_event_type_t type;

		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR) {
				r = -ENOMEM;
			} else {
				syntax_error(d, name, &parser);
				r = -EINVAL;
			}
			break;
		}
		type = ev.type;
		r = scan_event(s, &ev);
		yaml_event_delete(&ev);
		/* yaml_parser_load reads the first document only. */
		if (r || type == YAML_DOCUMENT_END_EVENT || type == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&parser);
	for (int i = 0; i < s->nanchors; i++)
		free(s->anchors[i].name);
	free(s);
	return r;
}

struct ydoc *ydoc_load(const char *path, const char *name, struct diag *d, bool *empty)
{
	yaml_parser_t parser;
	struct ydoc *y = NULL;
	char *buf = NULL;
	size_t len;
	int r;

	if (empty)
		*empty = false;
	r = fio_read_all(path, YDOC_MAX_BYTES, &buf, &len);
	if (r < 0) {
		diag_error(d, name, 0, 0, "cannot read: %s",
			   r == -EFBIG ? "file too large" : strerror(-r));
		return NULL;
	}
	r = prescan((const unsigned char *)buf, len, name, d);
	if (r < 0) {
		if (r == -ENOMEM)
			diag_error(d, name, 0, 0, "out of memory");
		free(buf);
		return NULL;
	}
	y = calloc(1, sizeof(*y));
	if (!y || !(y->name = strdup(name))) {
		free(y);
		free(buf);
		diag_error(d, name, 0, 0, "out of memory");
		return NULL;
	}
	y->d = d;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &y->doc)) {
		syntax_error(d, name, &parser);
		yaml_parser_delete(&parser);
		free(buf);
		free(y->name);
		free(y);
		return NULL;
	}
	yaml_parser_delete(&parser);
	free(buf);
	if (!yaml_document_get_root_node(&y->doc)) {
		if (empty)
			*empty = true;
		ydoc_free(y);
		return NULL;
	}
	return y;
}

void ydoc_free(struct ydoc *y)
{
	if (!y)
		return;
	yaml_document_delete(&y->doc);
	free(y->name);
	free(y);
}

const char *ydoc_name(const struct ydoc *y) { return y->name; }
yaml_node_t *ydoc_root(struct ydoc *y) { return yaml_document_get_root_node(&y->doc); }
int ydoc_line(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }
int ydoc_col(const yaml_node_t *n) { return n ? (int)n->start_mark.column + 1 : 0; }

void ydoc_error(struct ydoc *y, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(y->d, y->name, n ? ydoc_line(n) : 1, n ? ydoc_col(n) : 1, "%s", msg);
}

bool ydoc_is_map(const yaml_node_t *n) { return n && n->type == YAML_MAPPING_NODE; }
bool ydoc_is_seq(const yaml_node_t *n) { return n && n->type == YAML_SEQUENCE_NODE; }
bool ydoc_is_scalar(const yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }

size_t ydoc_map_len(const yaml_node_t *map)
{
	if (!ydoc_is_map(map))
		return 0;
	return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

const char *ydoc_map_at(struct ydoc *y, yaml_node_t *map, size_t i,
			yaml_node_t **key, yaml_node_t **value)
{
	yaml_node_pair_t *p = map->data.mapping.pairs.start + i;
	yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
	yaml_node_t *v = yaml_document_get_node(&y->doc, p->value);

	if (key)
		*key = k;
	if (value)
		*value = v;
	return ydoc_is_scalar(k) ? (const char *)k->data.scalar.value : NULL;
}

int ydoc_map_check(struct ydoc *y, yaml_node_t *map, const char *const *allowed,
		   const char *what)
{
	size_t n = ydoc_map_len(map);
	int errors = 0;

	for (size_t i = 0; i < n; i++) {
		yaml_node_t *k;
		const char *name = ydoc_map_at(y, map, i, &k, NULL);
		bool ok = false;

		if (!name) {
			ydoc_error(y, k, "a key in %s must be a plain name", what);
			errors++;
			continue;
		}
		for (const char *const *a = allowed; *a; a++)
			if (!strcmp(*a, name))
				ok = true;
		if (!ok) {
			ydoc_error(y, k, "unknown key '%s' in %s", name, what);
			errors++;
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			const char *prev = ydoc_map_at(y, map, j, NULL, NULL);

			if (prev && !strcmp(prev, name)) {
				ydoc_error(y, k, "duplicate key '%s' in %s", name, what);
				errors++;
				break;
			}
		}
	}
	return errors;
}

yaml_node_t *ydoc_get(struct ydoc *y, yaml_node_t *map, const char *key)
{
	size_t n = ydoc_map_len(map);

	for (size_t i = 0; i < n; i++) {
		yaml_node_t *v;
		const char *name = ydoc_map_at(y, map, i, NULL, &v);

		if (name && !strcmp(name, key))
			return v;
	}
	return NULL;
}

size_t ydoc_seq_len(const yaml_node_t *seq)
{
	if (!ydoc_is_seq(seq))
		return 0;
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

yaml_node_t *ydoc_seq_at(struct ydoc *y, yaml_node_t *seq, size_t i)
{
	return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

const char *ydoc_str(struct ydoc *y, yaml_node_t *n, const char *what)
{
	if (!ydoc_is_scalar(n)) {
		ydoc_error(y, n, "%s must be a single value, not a %s", what,
			   ydoc_is_map(n) ? "mapping" : "list");
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

bool ydoc_long(struct ydoc *y, yaml_node_t *n, long min, long max, const char *what,
	       long *out)
{
	const char *s = ydoc_is_scalar(n) ? (const char *)n->data.scalar.value : NULL;
	char *end;
	long v;

	if (s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && *s) {
		errno = 0;
		v = strtol(s, &end, 10);
		if (!errno && !*end && *s != ' ' && *s != '+') {
			if (v < min || v > max) {
				ydoc_error(y, n, "%s must be between %ld and %ld, not %ld",
					   what, min, max, v);
				return false;
			}
			*out = v;
			return true;
		}
	}
	ydoc_error(y, n, "%s must be a whole number from %ld to %ld", what, min, max);
	return false;
}

bool ydoc_double(struct ydoc *y, yaml_node_t *n, double min, double max, const char *what,
		 double *out)
{
	const char *s = ydoc_is_scalar(n) ? (const char *)n->data.scalar.value : NULL;
	char *end;
	double v;

	if (s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && *s) {
		errno = 0;
		v = strtod(s, &end);
		if (!errno && !*end && isfinite(v) && *s != ' ') {
			if (v < min || v > max) {
				ydoc_error(y, n, "%s must be between %g and %g, not %g",
					   what, min, max, v);
				return false;
			}
			*out = v;
			return true;
		}
	}
	ydoc_error(y, n, "%s must be a number from %g to %g", what, min, max);
	return false;
}

bool ydoc_bool(struct ydoc *y, yaml_node_t *n, const char *what, bool *out)
{
	const char *s = ydoc_is_scalar(n) ? (const char *)n->data.scalar.value : NULL;

	if (s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (!strcmp(s, "true")) {
			*out = true;
			return true;
		}
		if (!strcmp(s, "false")) {
			*out = false;
			return true;
		}
	}
	ydoc_error(y, n, "%s must be true or false", what);
	return false;
}
