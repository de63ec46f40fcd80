/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_liveframe.c -- liveframe_parse against arbitrary bytes (libFuzzer, or a corpus runner) */
/*
 * libFuzzer: meson setup build-fuzz -Dlibfuzzer=true (with CC=clang), then
 *   build-fuzz/tests/fuzz/fuzz_liveframe -max_len=2048 tests/fuzz/corpus/liveframe
 * Otherwise the corpus runner (runner.c) is linked in, and meson runs it.
 */
#include "liveframe.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct env_key key;      /* all zero: verifies nothing */
	struct liveframe f;
	int r = liveframe_parse(data, size, &f);

	if (r == 0) {
		/* What the parser promised: the packet lies inside the input and
		 * the signature fills the rest exactly. */
		if (f.opus_len > LIVEFRAME_MAX_OPUS ||
		    size != (size_t)LIVEFRAME_HDR + f.opus_len + ENV_SIG_BYTES ||
		    (f.opus_len && f.opus != data + LIVEFRAME_HDR) || (!f.opus_len && f.opus) ||
		    memcmp(data, LIVEFRAME_MAGIC, 4))
			abort();
		if (liveframe_verify(data, size, "fuzz-stream", &key, 1, &f) != -EKEYREJECTED ||
		    f.opus || f.opus_len)
			abort();
	} else if (r != -EBADMSG || f.opus || f.opus_len) {
		abort();
	}
	return 0;
}
