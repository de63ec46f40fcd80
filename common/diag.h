/* SPDX-License-Identifier: GPL-2.0-or-later */
/* diag.h -- collected GCC-style "FILE:LINE:COL: error: MESSAGE" diagnostics */
#pragma once

#include <stddef.h>
#include <stdio.h>

struct diag;

/* NULL on ENOMEM. */
struct diag *diag_new(void);
void diag_free(struct diag *d);

/* Record an error at FILE:LINE:COL (1-based; 0 leaves the part out). */
void diag_error(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Record a warning (printed, but does not fail a run). */
void diag_warning(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

size_t diag_errors(const struct diag *d);
size_t diag_warnings(const struct diag *d);

/* Print all records sorted by file, line and column (stable), one per line. */
void diag_print(const struct diag *d, FILE *f);
/* The I-th record after sorting, formatted as it is printed; NULL past the end. */
const char *diag_get(struct diag *d, size_t i);
