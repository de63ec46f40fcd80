/* SPDX-License-Identifier: GPL-2.0-or-later */
/* render_csv.c -- a report as CSV: every table a section of its own, rows named by the section */
#include "render.h"

#include <string.h>

static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && (!s[0] || s[strlen(s) - 1] != ' ')) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int render_csv(const struct table_set *o, FILE *f)
{
	char buf[TABLE_CELL_MAX];

	/* Every section: a header row, then its rows, each starting with the
	 * section's name, and a blank line. */
	for (int i = 0; i < TB__COUNT; i++) {
		const struct table *t = &o->t[i];

		if (i)
			fputs("\r\n", f);
		fputs("section", f);
		for (size_t k = 0; k < t->ncols; k++) {
			fputc(',', f);
			csv_field(f, t->cols[k].key);
		}
		fputs("\r\n", f);
		for (size_t r = 0; r < t->nrows; r++) {
			fputs(t->key, f);
			for (size_t k = 0; k < t->ncols; k++) {
				fputc(',', f);
				table_machine(&t->cols[k], &t->cells[r * t->ncols + k], buf, sizeof(buf));
				csv_field(f, buf);
			}
			fputs("\r\n", f);
		}
	}
	return 0;
}
