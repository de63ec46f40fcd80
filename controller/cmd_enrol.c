/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_enrol.c -- `cunxiang enrol`: register the key each pole signs with */
#include "config.h"

#include "cconf.h"
#include "commands.h"
#include "cxtime.h"
#include "enrol.h"
#include "envelope.h"
#include "store.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_LEN 256

static void enrol_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang enrol -c controller.yaml [--replace] NODE KEY\n"
		   "       cunxiang enrol -c controller.yaml [--replace] --file FILE\n"
		   "       cunxiang enrol -c controller.yaml --remove NODE\n"
		   "       cunxiang enrol -c controller.yaml --list [--format text|json]\n\n"
		   "Register the Ed25519 public key a pole signs its receipts and status with\n"
		   "(`cunxiang-node -c node.yaml --print-key` prints it on the pole; its log\n"
		   "says it too). Nothing a pole sends counts before its key is enrolled, and\n"
		   "a pole's key is never taken from the broker. KEY is the base64 key or\n"
		   "@PATH of a file holding it. Compare the key id printed here with the one\n"
		   "the pole shows before trusting a key sent over a network.\n\n"
		   "  -c --config FILE  controller configuration (default /etc/cunxiang/controller.yaml)\n"
		   "     --replace      put a new key in the place of the node's current one\n"
		   "                    (a pole whose state directory was lost); let the old\n"
		   "                    key's receipts arrive first: what it signs stops counting\n"
		   "     --file FILE    enrol every \"NODE KEY\" line of FILE (- for standard input;\n"
		   "                    blank lines and lines starting with # are skipped)\n"
		   "     --remove NODE  retire the node's key: nothing it signs counts any more\n"
		   "     --list         the enrolled nodes, their key ids and since when\n"
		   "     --format F     text (default) or json, for --list\n"
		   "  -h --help         show this help\n"
		   "     --version      show the version\n\n"
		   "See cunxiang(1).\n");
}

/* KEY as given: base64, or @PATH. \retval 0 / -errno (said why) */
static int read_key(const char *arg, struct env_key *key)
{
	int r;

	if (arg[0] != '@')
		return env_key_from_base64(arg, key);
	r = env_pub_load(arg + 1, key);
	if (r < 0 && r != -EINVAL)
		fprintf(stderr, "cunxiang enrol: cannot read %s: %s\n", arg + 1, strerror(-r));
	return r;
}

/* Enrol one; prints what happened. \retval 0 / -errno */
static int enrol_one(struct store *st, const char *node, const char *arg, bool replace,
		     const char *where)
{
	struct enrol_result res;
	struct env_key key;
	int r;

	if (read_key(arg, &key) < 0) {
		fprintf(stderr, "cunxiang enrol: %snot a public key for %s (want the 44 characters "
			"that --print-key shows)\n", where, node);
		return -EINVAL;
	}
	r = enrol_key(st, "cunxiang enrol", where, node, &key, replace, cx_now_ms(), &res);
	if (r == -EEXIST)
		fprintf(stderr, "cunxiang enrol: %s%s already signs with key %s; --replace puts "
			"key %s in its place\n", where, node, res.before.key.id, key.id);
	if (r < 0)
		return r;
	enrol_print(stdout, node, &res);
	return 0;
}

static int enrol_file(struct store *st, const char *path, bool replace)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char line[LINE_MAX_LEN], where[300];
	int lineno = 0, failed = 0, r;

	if (!f) {
		int e = errno;

		fprintf(stderr, "cunxiang enrol: cannot read %s: %s\n", path, strerror(e));
		return -e;
	}
	if ((r = store_begin(st)) < 0) {
		fprintf(stderr, "cunxiang enrol: %s\n", store_errmsg(st));
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		char *node, *key, *extra, *save = NULL;

		lineno++;
		snprintf(where, sizeof(where), "%s:%d: ", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(stderr, "cunxiang enrol: %sline too long\n", where);
			failed++;
			break;
		}
		node = strtok_r(line, " \t\r\n", &save);
		if (!node || node[0] == '#')
			continue;
		key = strtok_r(NULL, " \t\r\n", &save);
		extra = strtok_r(NULL, " \t\r\n", &save);
		if (!key || extra) {
			fprintf(stderr, "cunxiang enrol: %swant \"NODE KEY\"\n", where);
			failed++;
			continue;
		}
		if (enrol_one(st, node, key, replace, where) < 0)
			failed++;
	}
	/* All or nothing: a file with a mistake changes no key. */
	if (failed) {
		store_rollback(st);
		fprintf(stderr, "cunxiang enrol: %d error%s in %s; nothing enrolled\n", failed,
			failed == 1 ? "" : "s", path);
		r = -EINVAL;
	} else if ((r = store_commit(st)) < 0) {
		fprintf(stderr, "cunxiang enrol: %s\n", store_errmsg(st));
	}
out:
	if (f != stdin)
		fclose(f);
	return r;
}

static int list_fn(const struct store_key *k, void *ud)
{
	json_t *a = ud;
	char b64[ENV_PK_B64_LEN + 1], when[40];
	time_t t = (time_t)(k->enrolled_ms / 1000);
	struct tm tm;

	env_key_to_base64(k->key.pk, b64);
	if (a) {
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I, s:I}", "node", k->node,
						   "key_id", k->key.id, "key", b64,
						   "epoch", (json_int_t)k->epoch,
						   "enrolled_ms", (json_int_t)k->enrolled_ms));
		return 0;
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	printf("%-32s %s  %s  since %s\n", k->node, k->key.id, b64, when);
	return 0;
}

int cmd_enrol(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "replace", no_argument, NULL, 'R' },
		{ "file", required_argument, NULL, 'f' },
		{ "remove", required_argument, NULL, 'X' },
		{ "list", no_argument, NULL, 'L' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *config = "/etc/cunxiang/controller.yaml", *file = NULL, *remove = NULL;
	const char *format = "text";
	bool replace = false, list = false;
	struct cconf *cf = NULL;
	struct store *st = NULL;
	struct diag *d;
	int c, r, rc = CX_EXIT_USER;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'R': replace = true; break;
		case 'f': file = optarg; break;
		case 'X': remove = optarg; break;
		case 'L': list = true; break;
		case 'F': format = optarg; break;
		case 'h': enrol_help(stdout); return CX_EXIT_OK;
		case 'V': printf("cunxiang %s\n", CX_VERSION); return CX_EXIT_OK;
		default: enrol_help(stderr); return CX_EXIT_USAGE;
		}
	}
	if ((list + !!file + !!remove) > 1 || (strcmp(format, "text") && strcmp(format, "json")) ||
	    ((list || file || remove) ? optind != argc : optind + 2 != argc)) {
		enrol_help(stderr);
		return CX_EXIT_USAGE;
	}
	d = diag_new();
	cf = d ? cconf_load(config, d) : NULL;
	if (!cf) {
		diag_print(d, stderr);
		diag_free(d);
		return CX_EXIT_USER;
	}
	diag_free(d);
	if (!(st = enrol_store_open(cf, list, "cunxiang enrol")))
		goto out;
	if (list) {
		json_t *a = strcmp(format, "json") ? NULL : json_array();

		r = store_keys(st, list_fn, a);
		if (a) {
			char *text = json_dumps(a, JSON_INDENT(2));

			if (text)
				printf("%s\n", text);
			free(text);
			json_decref(a);
		}
		if (r < 0)
			fprintf(stderr, "cunxiang enrol: %s\n", store_errmsg(st));
		else
			rc = CX_EXIT_OK;
	} else if (remove) {
		r = enrol_retire(st, "cunxiang enrol", remove, cx_now_ms());
		if (r == -ENOENT)
			fprintf(stderr, "cunxiang enrol: %s\n", store_errmsg(st));
		else if (r == 0) {
			printf("%s: key retired; nothing it signs counts any more\n", remove);
			rc = CX_EXIT_OK;
		}
	} else if (file) {
		rc = enrol_file(st, file, replace) < 0 ? CX_EXIT_USER : CX_EXIT_OK;
	} else {
		rc = enrol_one(st, argv[optind], argv[optind + 1], replace, "") < 0 ? CX_EXIT_USER
										   : CX_EXIT_OK;
	}
out:
	store_close(st);
	cconf_free(cf);
	return rc;
}
