/* SPDX-License-Identifier: GPL-2.0-or-later */
/* diag.c -- collected GCC-style "FILE:LINE:COL: error: MESSAGE" diagnostics */
#include "diag.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct rec {
	char *file;
	int line, col;
	bool error;
	size_t order;
	char *text; /* formatted line */
};

struct diag {
	struct rec *v;
	size_t n, cap, errors, warnings;
	bool sorted;
};

struct diag *diag_new(void)
{
	return calloc(1, sizeof(struct diag));
}

void diag_free(struct diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].text);
	}
	free(d->v);
	free(d);
}

static void add(struct diag *d, bool error, const char *file, int line, int col,
		const char *fmt, va_list ap)
{
	char msg[1024], loc[1200];
	size_t n;
	struct rec *r;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct rec *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0 && col > 0)
		snprintf(loc, sizeof(loc), "%s:%d:%d: ", file ? file : "", line, col);
	else if (line > 0)
		snprintf(loc, sizeof(loc), "%s:%d: ", file ? file : "", line);
	else if (file)
		snprintf(loc, sizeof(loc), "%s: ", file);
	else
		loc[0] = '\0';
	n = strlen(loc) + strlen(msg) + 16;
	r = &d->v[d->n];
	r->text = malloc(n);
	r->file = strdup(file ? file : "");
	if (!r->text || !r->file) {
		free(r->text);
		free(r->file);
		return;
	}
	snprintf(r->text, n, "%s%s: %s", loc, error ? "error" : "warning", msg);
	r->line = line;
	r->col = col;
	r->error = error;
	r->order = d->n;
	d->n++;
	d->sorted = false;
	if (error)
		d->errors++;
	else
		d->warnings++;
}

void diag_error(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, true, file, line, col, fmt, ap);
	va_end(ap);
}

void diag_warning(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, false, file, line, col, fmt, ap);
	va_end(ap);
}

size_t diag_errors(const struct diag *d) { return d->errors; }
size_t diag_warnings(const struct diag *d) { return d->warnings; }

static int cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void sort(struct diag *d)
{
	if (!d->sorted && d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), cmp);
	d->sorted = true;
}

void diag_print(const struct diag *d, FILE *f)
{
	sort((struct diag *)d);
	for (size_t i = 0; i < d->n; i++)
		fprintf(f, "%s\n", d->v[i].text);
}

const char *diag_get(struct diag *d, size_t i)
{
	sort(d);
	return i < d->n ? d->v[i].text : NULL;
}
