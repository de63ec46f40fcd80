/* SPDX-License-Identifier: GPL-2.0-or-later */
/* render_text.c -- a report as plain text: the summary as lines, every other table in aligned columns */
#include "render.h"

#include "human.h"

#include <errno.h>
#include <stdlib.h>

static void text_pad(FILE *f, const char *s, int width, bool right, bool last)
{
	int pad = width - human_width(s);

	if (pad < 0)
		pad = 0;
	if (right)
		fprintf(f, "%*s%s", pad, "", s);
	else
		fprintf(f, "%s%*s", s, last ? 0 : pad, "");
	fputs(last ? "\n" : "  ", f);
}

/* Strings from the store may hold anything but control characters (the
 * store refuses those), so a cell never breaks a line. */
static int text_table(FILE *f, const struct table *t)
{
	char buf[TABLE_CELL_MAX];
	int *w = calloc(t->ncols, sizeof(*w));

	if (!w)
		return -ENOMEM;
	fprintf(f, "\n%s\n", t->title);
	if (!t->nrows) {
		fprintf(f, "  (none)\n");
		free(w);
		return 0;
	}
	for (size_t k = 0; k < t->ncols; k++)
		w[k] = human_width(t->cols[k].head);
	for (size_t i = 0; i < t->nrows; i++)
		for (size_t k = 0; k < t->ncols; k++) {
			int x;

			table_human(&t->cols[k], &t->cells[i * t->ncols + k], buf, sizeof(buf));
			if ((x = human_width(buf)) > w[k])
				w[k] = x;
		}
	for (size_t k = 0; k < t->ncols; k++)
		text_pad(f, t->cols[k].head, w[k], table_numeric(t->cols[k].t), k + 1 == t->ncols);
	for (size_t i = 0; i < t->nrows; i++)
		for (size_t k = 0; k < t->ncols; k++) {
			table_human(&t->cols[k], &t->cells[i * t->ncols + k], buf, sizeof(buf));
			text_pad(f, buf, w[k], table_numeric(t->cols[k].t), k + 1 == t->ncols);
		}
	free(w);
	return 0;
}

/* A single-row table as "Heading: value" lines. */
static void text_pairs(FILE *f, const struct table *t, size_t from, size_t to)
{
	char buf[TABLE_CELL_MAX];
	int w = 0;

	for (size_t k = from; k < to; k++)
		if (human_width(t->cols[k].head) > w)
			w = human_width(t->cols[k].head);
	for (size_t k = from; k < to; k++) {
		table_human(&t->cols[k], &t->cells[k], buf, sizeof(buf));
		fprintf(f, "  %s%*s  %s\n", t->cols[k].head, w - human_width(t->cols[k].head), "", buf);
	}
}

int render_text(const struct table_set *o, FILE *f)
{
	const struct report_opts *ro = report_opts(o->r);
	const struct table *t = o->t;
	char from[48], to[48], gen[32];
	int rc = 0;

	table_fmt_date(ro->from_ms, from, sizeof(from));
	table_fmt_date(ro->to_ms - 1, to, sizeof(to));
	table_fmt_time(o->generated_ms, gen, sizeof(gen));
	fprintf(f, "cunxiang report%s%s: %s to %s (%s), generated %s\n", ro->township ? " — " : "",
		ro->township ? ro->township : "", from, to, ro->timezone ? ro->timezone : "", gen);
	if (ro->notice || ro->village)
		fprintf(f, "Only%s%s%s%s\n", ro->notice ? " notice " : "", ro->notice ? ro->notice : "",
			ro->village ? " village " : "", ro->village ? ro->village : "");
	fprintf(f, "\nSummary\n");
	text_pairs(f, &t[TB_SUMMARY], 0, t[TB_SUMMARY].ncols);
	fprintf(f, "\n%s\n", t[TB_ASSUMPTIONS].title);
	for (size_t i = 0; i < t[TB_ASSUMPTIONS].nrows; i++)
		fprintf(f, "  - %s\n", t[TB_ASSUMPTIONS].cells[i].s);
	for (int i = TB_PRESENCE; i < TB__COUNT && rc == 0; i++)
		if (i != TB_ASSUMPTIONS)
			rc = text_table(f, &t[i]);
	return rc;
}
