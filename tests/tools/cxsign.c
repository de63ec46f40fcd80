/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cxsign.c -- sign a JSON text with a key file, as the controller does (test tool) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"

int main(int argc, char **argv)
{
	unsigned char sk[ENV_SK_BYTES];
	static char buf[ENV_MAX_BYTES];
	size_t len = 0, n;
	char *out;
	int r;

	if (argc != 2) {
		fprintf(stderr, "Usage: cxsign KEYFILE < json > signed\n");
		return 2;
	}
	r = env_secret_load(argv[1], sk, NULL);
	if (r < 0) {
		fprintf(stderr, "cxsign: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	while ((n = fread(buf + len, 1, sizeof(buf) - len, stdin)) > 0)
		len += n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	r = env_sign(buf, len, sk, &out, &n);
	if (r < 0) {
		fprintf(stderr, "cxsign: %s\n", strerror(-r));
		return 1;
	}
	fwrite(out, 1, n, stdout);
	free(out);
	return 0;
}
