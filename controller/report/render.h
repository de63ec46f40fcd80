/* SPDX-License-Identifier: GPL-2.0-or-later */
/* render.h -- the renderers: a report's tables written as text, CSV, JSON or HTML */
#pragma once

#include <stdio.h>

#include "table.h"

/* Write the tables O to F; each renderer reads the report O->r through
 * report.h for what its format adds (headings, cards, charts). The
 * caller checks F for write errors.
 * \retval 0 / -ENOMEM / -EIO (JSON: the encoder failed) */
int render_text(const struct table_set *o, FILE *f);   /* aligned columns for a terminal */
int render_csv(const struct table_set *o, FILE *f);    /* CRLF lines, a section per table */
int render_json(const struct table_set *o, FILE *f);   /* one object, a member per table */
int render_html(const struct table_set *o, FILE *f);   /* one self-contained page with SVG charts */
