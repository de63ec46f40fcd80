/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_plan.c -- plan_parse against arbitrary bytes (libFuzzer, or a corpus runner) */
/*
 * With libFuzzer:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DCX_LIBFUZZER \
 *     -Icommon -Inode -IBUILD tests/fuzz/fuzz_plan.c node/plan.c common/hash.c \
 *     -ljansson -lsodium -o fuzz_plan
 *   ./fuzz_plan -max_len=65536 tests/fuzz/corpus/plan
 * Without it (meson, gcc): fuzz_plan FILE|DIR... runs every file, and every
 * truncation and a few byte mutations of it, once.
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
	} else if (p || (r != -EBADMSG && r != -ENOMEM) || !err[0] || strchr(err, '\n')) {
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
static void run(const char *buf, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		abort();
	memcpy(copy, buf, len);
	LLVMFuzzerTestOneInput((const uint8_t *)copy, len);
	free(copy);
}

static int run_file(const char *path, size_t *count)
{
	static const char flips[] = { '\0', '"', '{', ']', '9', '-', '\\', '\xff' };
	char *buf, *mut;
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
	for (size_t i = 0; i < len; i++) {
		memcpy(mut, buf, len);
		for (size_t j = 0; j < sizeof(flips); j++) {
			mut[i] = flips[j];
			run(mut, len);
		}
	}
	*count += 1 + len + len * sizeof(flips);
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
