/* SPDX-License-Identifier: GPL-2.0-or-later */
/* table.h -- a computed report as tables of typed cells, the one model every output format renders */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* What a column holds; T_TEXT is a long string (wraps in HTML). */
enum table_type { T_STR, T_TEXT, T_INT, T_RATIO, T_TIME, T_DATE, T_DUR, T_BOOL };

struct table_col {
	const char *key;              /* CSV column and JSON field: stable */
	const char *head;             /* text and HTML heading */
	enum table_type t;
};

/* The value is S for T_STR and T_TEXT, D for T_RATIO, else I: UTC ms
 * for T_TIME and T_DATE (the day it falls on), ms for T_DUR, 0 or 1 for
 * T_BOOL. NULL when the value is absent. */
struct table_cell {
	bool null;
	const char *s;
	int64_t i;
	double d;
};

struct table {
	const char *key, *title;
	const struct table_col *cols;
	size_t ncols;
	struct table_cell *cells;     /* nrows × ncols */
	size_t nrows, cap;
	bool single;                  /* one row: an object in JSON */
	bool oom;
};

/* The tables, in the order CSV and JSON write them. */
enum { TB_REPORT, TB_SUMMARY, TB_PRESENCE, TB_ASSUMPTIONS, TB_NOTICES, TB_VILLAGES, TB_DAYS,
       TB_ALERTS, TB_MISSED, TB_CAP, TB_UNKNOWN, TB_BAD, TB_LOST, TB_NODES,
       TB__COUNT };

struct table_set {
	const struct report *r;
	int64_t generated_ms;
	struct table t[TB__COUNT];
	char **texts;                 /* owned strings the cells point to */
	size_t ntexts, texts_cap;
	bool oom;
};

/* The longest cell a renderer formats, with its terminating NUL. */
#define TABLE_CELL_MAX 2048

/* Fill *O with the tables of R, which must outlive *O; GENERATED_MS is the
 * time printed as the report's. Free *O with table_set_free() whatever
 * the result. \retval 0 / -ENOMEM */
int table_set_build(struct table_set *o, const struct report *r, int64_t generated_ms);
void table_set_free(struct table_set *o);

/* Cell C of column K as people read it (text, HTML), "-" when absent; as
 * programs read it (CSV), "" when absent: ISO 8601 times, ratios with up
 * to 6 decimals. Cut to SIZE. */
void table_human(const struct table_col *k, const struct table_cell *c, char *out, size_t size);
void table_machine(const struct table_col *k, const struct table_cell *c, char *out, size_t size);
/* Whether a column of type T is right-aligned (numbers). */
bool table_numeric(enum table_type t);

/* Formatting in the zone selected with cx_tz_set(), cut to SIZE:
 * "2026-12-01"; "2026-12-01 07:30"; ISO 8601 with the zone's offset,
 * "2026-12-01T07:30:00+08:00"; a human duration, "850 ms", "1.25 s",
 * "3 min 20 s", "5 h 12 min", "2 d 4 h". */
void table_fmt_date(int64_t ms, char *out, size_t size);
void table_fmt_time(int64_t ms, char *out, size_t size);
void table_fmt_iso(int64_t ms, char *out, size_t size);
void table_fmt_dur(int64_t ms, char *out, size_t size);
/* V rounded to 6 decimals, as CSV and JSON write ratios. */
double table_ratio6(double v);
