/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cxdecode.c -- decode assets back to back to raw s16le mono 48 kHz (test tool) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "asset.h"

int main(int argc, char **argv)
{
	int16_t pcm[4800];

	if (argc < 2) {
		fprintf(stderr, "Usage: cxdecode ASSET... > out.raw\n"
				"Decode Ogg Opus assets as the node does, one after another, to\n"
				"raw s16le mono 48 kHz on standard output.\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct asset_dec *d = asset_dec_open(argv[i]);
		int n;

		if (!d) {
			fprintf(stderr, "cxdecode: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		while ((n = asset_dec_read(d, pcm, 4800)) > 0)
			fwrite(pcm, sizeof(int16_t), (size_t)n, stdout);
		asset_dec_close(d);
		if (n < 0) {
			fprintf(stderr, "cxdecode: %s: corrupt stream\n", argv[i]);
			return 1;
		}
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
