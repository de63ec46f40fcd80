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

/* Length of the well-formed UTF-8 sequence of 2 to 4 bytes at P, or 0
 * (overlong forms, surrogates and code points past U+10FFFF are not
 * well-formed). Stops at the first byte that does not fit, so it never reads
 * past a NUL. */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

size_t diag_escape(char *out, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0;
	bool cut = false;

	while (*p) {
		size_t n = *p < 0x80 ? 1 : utf8_seq(p);
		bool esc = n == 0 || *p < 0x20 || *p == 0x7f || (*p == 0xc2 && p[1] < 0xa0);
		size_t escn = n ? n : 1; /* bytes this step covers */
		size_t w = esc ? 4 * escn : n;

		if (!cut && len + w < size) {
			if (esc) {
				for (size_t i = 0; i < escn; i++) {
					out[len + 4 * i] = '\\';
					out[len + 4 * i + 1] = 'x';
					out[len + 4 * i + 2] = hex[p[i] >> 4];
					out[len + 4 * i + 3] = hex[p[i] & 15];
				}
			} else {
				memcpy(out + len, p, n);
			}
		} else {
			if (!cut && size)
				out[len] = '\0';
			cut = true;
		}
		len += w;
		p += escn;
	}
	if (!cut && size)
		out[len] = '\0';
	return len;
}

__attribute__((format(printf, 6, 0)))
static void add(struct diag *d, bool error, const char *file, int line, int col,
		const char *fmt, va_list ap)
{
	/* Each byte escapes to at most 4. */
	char msg[1024], shown[4 * sizeof(msg)], where[1024], loc[1200];
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
	diag_escape(shown, sizeof(shown), msg);
	diag_escape(where, sizeof(where), file ? file : "");
	if (line > 0 && col > 0)
		snprintf(loc, sizeof(loc), "%s:%d:%d: ", where, line, col);
	else if (line > 0)
		snprintf(loc, sizeof(loc), "%s:%d: ", where, line);
	else if (file)
		snprintf(loc, sizeof(loc), "%s: ", where);
	else
		loc[0] = '\0';
	n = strlen(loc) + strlen(shown) + 16;
	r = &d->v[d->n];
	r->text = malloc(n);
	r->file = strdup(file ? file : "");
	if (!r->text || !r->file) {
		free(r->text);
		free(r->file);
		return;
	}
	snprintf(r->text, n, "%s%s: %s", loc, error ? "error" : "warning", shown);
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
