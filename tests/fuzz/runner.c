/* SPDX-License-Identifier: GPL-2.0-or-later */
/* runner.c -- a corpus runner for the fuzz harnesses when they are built
 * without libFuzzer: FILE|DIR... runs every file, every truncation of it and
 * a few byte mutations of it, once, through LLVMFuzzerTestOneInput */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	/* Bytes that matter to the JSON parsers and to the binary headers. */
	static const unsigned char flips[] = { 0x00, 0xff, 0x01, 0x80, '"', '{', ']', '9', '-',
					       '\\', 'C', '2' };
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
	/* Byte mutations: every byte of a small input; of a larger one the
	 * first 32 (a binary header) and a sample of the rest. */
	*count += 1 + len;
	for (size_t i = 0; i < len; i += len <= 4096 || i < 32 ? 1 : 61) {
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
