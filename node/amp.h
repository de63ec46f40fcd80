/* SPDX-License-Identifier: GPL-2.0-or-later */
/* amp.h -- the amplifier's power line: a GPIO output (character device,
 * uAPI v2) driven high while the pole plays */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct amp {
	const char *chip;       /* "gpiochip0" or a path; NULL: no amplifier line */
	int line;
	int fd;                 /* the line request, -1 none */
	bool on;                /* the line is driven high now */
	bool fault;             /* the line could not be requested or set */
	bool tried;             /* a request failed since amp_retry() */
	int64_t on_since;       /* CLOCK_MONOTONIC, when it went on */
	char reason[128];       /* why it is at fault */
};

/* No line requested yet: that happens at the first amp_set(A, true). CHIP
 * is not copied. */
void amp_init(struct amp *a, const char *chip, int line);

/* Drive the line. Without a chip this does nothing. The line is requested
 * when first switched on, and once per amp_retry() after a failure.
 * Failing is a warning (logged once), never fatal: the pole plays without
 * its amplifier line and a->fault says so. */
void amp_set(struct amp *a, bool on);

/* Let the next amp_set(A, true) request the line again after a failure. */
void amp_retry(struct amp *a);

/* Release the line (it keeps its value). */
void amp_close(struct amp *a);
