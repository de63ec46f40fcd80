/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_plan.c -- plan_parse against arbitrary bytes (libFuzzer, or a corpus runner) */
/*
 * libFuzzer: meson setup build-fuzz -Dlibfuzzer=true (with CC=clang), then
 *   build-fuzz/tests/fuzz/fuzz_plan -max_len=65536 tests/fuzz/corpus/plan
 * Otherwise the corpus runner (runner.c) is linked in, and meson runs it.
 */
#include "plan.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan *p = NULL;
	char err[256];
	int r;

	r = plan_parse((const char *)data, size, "yn-01", &p, err, sizeof(err));
	if (r == 0) {
		size_t n;
		char (*a)[65] = plan_assets(p, 0, &n);

		/* What the parser promised: sorted events, bounded counts. */
		if (!a || p->nevents > PLAN_MAX_EVENTS)
			abort();
		for (size_t i = 0; i < p->nevents; i++) {
			const struct plan_event *e = &p->events[i];

			if (e->nassets < 1 || e->nassets > PLAN_MAX_ASSETS ||
			    e->priority < 1 || e->priority > 100 ||
			    e->volume < 1 || e->volume > 100 || e->duration_ms < 1)
				abort();
			if (i && (p->events[i - 1].start_ms > e->start_ms ||
				  (p->events[i - 1].start_ms == e->start_ms &&
				   strcmp(p->events[i - 1].occ, e->occ) >= 0)))
				abort();
		}
		free(a);
		plan_free(p);
	} else if (p || (r != -EBADMSG && r != -ENOMEM) || (r == -EBADMSG && !err[0]) ||
		   strchr(err, '\n')) {
		/* The reason is one line even where it quotes the input, as
		 * jansson's do ("invalid escape near '"\u12<newline>'"): it
		 * goes to the node's log as it is, and a newline there would
		 * let whoever can publish write log lines of their own. So the
		 * product escapes (wire_fail), and this check stays strict.
		 * Out of memory may come without a reason. */
		abort();
	}
	return 0;
}
