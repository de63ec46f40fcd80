/* SPDX-License-Identifier: GPL-2.0-or-later */
/* render.c -- report_write(): a computed report as tables, through the renderer of one format */
#include "render.h"

#include "report.h"

#include <errno.h>
#include <string.h>

int report_format_parse(const char *name, enum report_format *f)
{
	static const char *const names[] = { "text", "csv", "json", "html" };

	for (int i = 0; i < 4; i++)
		if (name && !strcmp(name, names[i])) {
			*f = (enum report_format)i;
			return 0;
		}
	return -EINVAL;
}

int report_write(const struct report *r, enum report_format format, int64_t generated_ms, FILE *f)
{
	struct table_set o;
	int rc;

	if ((rc = table_set_build(&o, r, generated_ms)) == 0) {
		switch (format) {
		case REPORT_TEXT: rc = render_text(&o, f); break;
		case REPORT_CSV: rc = render_csv(&o, f); break;
		case REPORT_JSON: rc = render_json(&o, f); break;
		case REPORT_HTML: rc = render_html(&o, f); break;
		}
	}
	table_set_free(&o);
	if (rc == 0 && (fflush(f) != 0 || ferror(f)))
		rc = -EIO;
	return rc;
}
