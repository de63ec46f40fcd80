/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_cap.c -- capmsg_parse and capmsg_time against arbitrary bytes (libFuzzer, or a corpus runner) */
/*
 * Beyond not crashing: a refusal is one of the documented codes with a
 * one-line reason and no model; what is accepted has every field cap.h
 * promises (the required strings, a language, a category per block, a
 * sent time that capmsg_time reads to sent_ms, references of three parts).
 *
 * libFuzzer: meson setup build-fuzz -Dlibfuzzer=true (with CC=clang), then
 *   build-fuzz/tests/fuzz/fuzz_cap -max_len=65536 -dict=... tests/fuzz/corpus/cap
 * Otherwise the corpus runner (runner.c) is linked in, and meson runs it.
 */
#include "cap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_info(const struct cap_info *i)
{
	if (!i->language || !i->language[0] || i->ncategories < 1 || !i->event || !i->urgency ||
	    !i->severity || !i->certainty)
		abort();
	for (size_t k = 0; k < i->ncategories; k++)
		if (!i->categories[k])
			abort();
	for (size_t a = 0; a < i->nareas; a++) {
		const struct cap_area *ar = &i->areas[a];

		if (!ar->desc)
			abort();
		for (size_t k = 0; k < ar->npolygons; k++)
			if (!ar->polygons[k])
				abort();
		for (size_t k = 0; k < ar->ncircles; k++)
			if (!ar->circles[k])
				abort();
		for (size_t k = 0; k < ar->ngeocodes; k++)
			if (!ar->geocodes[k].name || !ar->geocodes[k].value)
				abort();
	}
}

static void check_msg(const struct cap_msg *m)
{
	int64_t ms;

	if (!m->identifier || !m->sender || !m->sent || !m->status || !m->msg_type || !m->scope ||
	    capmsg_time(m->sent, &ms) != 0 || ms != m->sent_ms)
		abort();
	for (size_t k = 0; k < m->nrefs; k++) {
		const struct cap_ref *r = &m->refs[k];

		if (!r->sender[0] || !r->identifier[0] || !r->sent[0] || strchr(r->sender, ',') ||
		    strchr(r->identifier, ',') || strchr(r->sent, ','))
			abort();
	}
	for (size_t k = 0; k < m->ninfos; k++)
		check_info(&m->infos[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cap_msg *m = NULL;
	char err[256] = "", t[32];
	int64_t ms;
	int r;

	r = capmsg_parse((const char *)data, size, &m, err, sizeof(err));
	if (r == 0) {
		if (!m)
			abort();
		check_msg(m);
		capmsg_free(m);
	} else if (m || (r != -EINVAL && r != -EPROTO && r != -EFBIG && r != -ENOMEM) || !err[0] ||
		   strchr(err, '\n')) {
		abort();
	}

	/* The first bytes as a time. */
	memcpy(t, data, size < sizeof(t) - 1 ? size : sizeof(t) - 1);
	t[size < sizeof(t) - 1 ? size : sizeof(t) - 1] = '\0';
	if (capmsg_time(t, &ms) == 0 && strlen(t) != 25)
		abort();
	return 0;
}
