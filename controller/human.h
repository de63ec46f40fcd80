/* SPDX-License-Identifier: GPL-2.0-or-later */
/* human.h -- widths and ages as a person at a terminal reads them */
#ifndef CX_HUMAN_H
#define CX_HUMAN_H

#include <stddef.h>
#include <stdint.h>

/* Terminal columns a UTF-8 string takes: East Asian wide characters (the
 * village names) take two, everything else one. A malformed sequence counts
 * each byte up to the break once. */
int human_width(const char *s);

/* MS milliseconds as "12s ago", "5m ago", "3h ago" (below 48 h) or "4d ago";
 * a negative age reads "0s ago". Writes at most SIZE bytes to OUT. */
void human_ago(int64_t ms, char *out, size_t size);

#endif
