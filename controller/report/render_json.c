/* SPDX-License-Identifier: GPL-2.0-or-later */
/* render_json.c -- a report as one JSON object: a member per table, an object or an array of rows */
#include "render.h"

#include <errno.h>
#include <jansson.h>

static json_t *json_cell(const struct table_col *k, const struct table_cell *c)
{
	char buf[64];

	if (c->null)
		return json_null();
	switch (k->t) {
	case T_STR: case T_TEXT: return json_string(c->s);
	case T_INT: case T_DUR: return json_integer(c->i);
	case T_RATIO: return json_real(table_ratio6(c->d));
	case T_TIME: table_fmt_iso(c->i, buf, sizeof(buf)); return json_string(buf);
	case T_DATE: table_fmt_date(c->i, buf, sizeof(buf)); return json_string(buf);
	case T_BOOL: return json_boolean(c->i);
	}
	return json_null();
}

static json_t *json_row(const struct table *t, size_t r)
{
	json_t *o = json_object();

	for (size_t k = 0; o && k < t->ncols; k++) {
		json_t *v = json_cell(&t->cols[k], &t->cells[r * t->ncols + k]);

		if (!v || json_object_set_new(o, t->cols[k].key, v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int render_json(const struct table_set *o, FILE *f)
{
	json_t *root = json_object();
	int rc = -ENOMEM;

	if (!root)
		return -ENOMEM;
	for (int i = 0; i < TB__COUNT; i++) {
		const struct table *t = &o->t[i];
		json_t *v = t->single ? json_row(t, 0) : json_array();

		if (!v || json_object_set_new(root, t->key, v) < 0)
			goto out;
		for (size_t r = 0; !t->single && r < t->nrows; r++)
			if (json_array_append_new(v, json_row(t, r)) < 0)
				goto out;
	}
	rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) < 0 ? -EIO : 0;
	fputc('\n', f);
out:
	json_decref(root);
	return rc;
}
