/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_liveframe.c -- liveframe_parse against arbitrary bytes (libFuzzer, or a corpus runner) */
/*
 * With libFuzzer:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DCX_LIBFUZZER \
 *     -Icommon -IBUILD tests/fuzz/fuzz_liveframe.c common/liveframe.c \
 *     common/envelope.c common/hash.c common/fileio.c -lsodium -o fuzz_liveframe
 *   ./fuzz_liveframe -max_len=2048 tests/fuzz/corpus/liveframe
 * Without it (meson, gcc): fuzz_liveframe FILE|DIR... runs every file, and
 * every truncation and a few byte mutations of it, once.
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

#ifndef CX_LIBFUZZER
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

/* Each input goes through an exact-size heap copy so that a read past the
 * end is caught by ASan/valgrind, as under libFuzzer. */
static void run(const unsigned char *buf, size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);

	if (!copy)
		abort();
	memcpy(copy, buf, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
}

static int run_file(const char *path, size_t *count)
{
	static const unsigned char flips[] = { 0x00, 0xff, 0x01, 0x80, 'C', '2', 0x04, 0xfe };
	unsigned char *buf, *mut;
	size_t len;
	long sz;
	FILE *f = fopen(path, "rb");

	if (!f) {
		perror(path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (sz = ftell(f)) < 0 || sz > (1 << 20) ||
	    fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "%s: cannot size, or larger than 1 MiB\n", path);
		fclose(f);
		return -1;
	}
	len = (size_t)sz;
	buf = malloc(len + 1);
	mut = malloc(len + 1);
	if (!buf || !mut || fread(buf, 1, len, f) != len) {
		fprintf(stderr, "%s: cannot read\n", path);
		fclose(f);
		free(buf);
		free(mut);
		return -1;
	}
	fclose(f);
	run(buf, len);
	for (size_t i = 0; i < len; i++)
		run(buf, i);
	/* Byte mutations in the header (where the structure is) and a sample
	 * of the rest. */
	*count += 1 + len;
	for (size_t i = 0; i < len; i += i < 32 ? 1 : 61) {
		memcpy(mut, buf, len);
		for (size_t j = 0; j < sizeof(flips); j++) {
			mut[i] = flips[j];
			run(mut, len);
		}
		*count += sizeof(flips);
	}
	free(buf);
	free(mut);
	return 0;
}

int main(int argc, char **argv)
{
	size_t count = 0, files = 0;
	int fails = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *de;

		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			fails++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			fails += run_file(argv[i], &count) < 0;
			files++;
			continue;
		}
		d = opendir(argv[i]);
		if (!d) {
			perror(argv[i]);
			fails++;
			continue;
		}
		while ((de = readdir(d))) {
			char path[4096];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			fails += run_file(path, &count) < 0;
			files++;
		}
		closedir(d);
	}
	printf("%zu files, %zu inputs, %d unreadable\n", files, count, fails);
	return fails || files == 0 ? 1 : 0;
}
#endif
