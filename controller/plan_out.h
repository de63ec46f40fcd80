/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plan_out.h -- compiled plans written to a directory: only those that changed, with one flush */
#pragma once

#include <stddef.h>

#include "compile.h"

struct plan_out_stats {
	size_t written;            /* plans (re)written */
	size_t unchanged;          /* plans left as they were */
};

/* Write each plan of C as DIR/NODE.json (compile_plan_dump) where the
 * file does not already hold it, and the index INDEX: per node the plan's
 * digest (compile_plan_digest) and the size, modification time and inode
 * of the file written, as written (not as found after the commit, when
 * another writer may have replaced it). A plan whose digest and file
 * match the index is neither serialised nor written. Every file written
 * goes through one fio_batch: old or new after a power cut, never
 * partial; the index is replaced last, so a crash before that only means
 * plans are written again. A missing or unreadable index means every
 * plan is written; one that cannot be written is a note, not an error.
 * Errors are reported on stderr with PROG and the path.
 * \retval 0 / -errno */
int plan_out_write(const struct compile *c, const char *dir, const char *index,
		   const char *prog, struct plan_out_stats *st);
