/* SPDX-License-Identifier: GPL-2.0-or-later */
/* diag.h -- collected GCC-style "FILE:LINE:COL: error: MESSAGE" diagnostics */
#pragma once

#include <stddef.h>
#include <stdio.h>

struct diag;

/* NULL on ENOMEM. */
struct diag *diag_new(void);
void diag_free(struct diag *d);

/* Record an error at FILE:LINE:COL (1-based; 0 leaves the part out). FILE
 * and the formatted message are stored as diag_escape() shows them, so
 * names and values read from a file can be passed as they are. */
void diag_error(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Record a warning (printed, but does not fail a run), escaped alike. */
void diag_warning(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

size_t diag_errors(const struct diag *d);
size_t diag_warnings(const struct diag *d);

/* Print all records sorted by file, line and column (stable), one per line. */
void diag_print(const struct diag *d, FILE *f);
/* The I-th record after sorting, formatted as it is printed; NULL past the end. */
const char *diag_get(struct diag *d, size_t i);

/* Copy S to OUT (SIZE bytes) so that it is safe to show on a terminal: each
 * byte below 0x20, 0x7f, each byte of a C1 control (U+0080..U+009F, which
 * some terminals obey) and each byte that is not part of well-formed UTF-8
 * is written as \xHH (lowercase hex); all else, a backslash too, is copied
 * as it is, so the result is for reading, not for parsing back. When SIZE
 * is not 0, OUT is NUL-terminated, cut before the first character or escape
 * that does not fit whole. OUT may be NULL when SIZE is 0.
 * \retval the length of the whole escaped text, without the NUL (so a value
 *         >= SIZE means it was cut); at most 4 * strlen(S) */
size_t diag_escape(char *out, size_t size, const char *s);
