/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_keygen.c -- `cunxiang keygen`: an Ed25519 key pair for signing */
#include "config.h"

#include "commands.h"
#include "envelope.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static void keygen_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang keygen -o DIR\n\n"
		   "Write an Ed25519 key pair: DIR/signing.key (secret, mode 0600) for\n"
		   "controller.yaml's signing_key, and DIR/signing.pub, whose line goes into\n"
		   "each node.yaml's trusted_keys. Existing keys are never overwritten.\n\n"
		   "  -o --output DIR  directory for the key pair (created if missing)\n"
		   "  -h --help        show this help\n"
		   "     --version     show the version\n\n"
		   "See cunxiang(1).\n");
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	char b64[sodium_base64_ENCODED_LEN(ENV_PK_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	const char *dir = NULL;
	struct env_key key;
	int c, r;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': dir = optarg; break;
		case 'h': keygen_help(stdout); return CX_EXIT_OK;
		case 'V': printf("cunxiang %s\n", CX_VERSION); return CX_EXIT_OK;
		default: keygen_help(stderr); return CX_EXIT_USAGE;
		}
	}
	if (!dir || optind != argc) {
		keygen_help(stderr);
		return CX_EXIT_USAGE;
	}
	r = env_keygen(dir, &key);
	if (r == -EEXIST) {
		fprintf(stderr, "cunxiang keygen: %s already holds a key pair; not overwriting it\n", dir);
		return CX_EXIT_USER;
	}
	if (r < 0) {
		fprintf(stderr, "cunxiang keygen: cannot write keys to %s: %s\n", dir, strerror(-r));
		return CX_EXIT_USER;
	}
	sodium_bin2base64(b64, sizeof(b64), key.pk, sizeof(key.pk), sodium_base64_VARIANT_ORIGINAL);
	printf("secret key: %s/signing.key\npublic key: %s/signing.pub\nkey id:     %s\n"
	       "node.yaml:  trusted_keys: [\"%s\"]\n", dir, dir, key.id, b64);
	return CX_EXIT_OK;
}
