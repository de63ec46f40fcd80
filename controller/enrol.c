/* SPDX-License-Identifier: GPL-2.0-or-later */
/* enrol.c -- putting poles' keys in the store: `cunxiang enrol` and `provision` */
#include "enrol.h"

#include "fileio.h"
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct store *enrol_store_open(const struct cconf *cf, bool readonly, const char *prog)
{
	struct store *st = NULL;
	char err[300], *dbpath = NULL;
	int r, e;

	if ((r = fio_mkdir_p(cf->data_dir, 0755)) < 0) {
		fprintf(stderr, "%s: cannot use %s: %s\n", prog, cf->data_dir, strerror(-r));
		errno = -r;
		return NULL;
	}
	if (!(dbpath = fio_join(cf->data_dir, STORE_FILE))) {
		fprintf(stderr, "%s: out of memory\n", prog);
		errno = ENOMEM;
		return NULL;
	}
	st = store_open(dbpath, readonly ? STORE_READONLY : 0, err, sizeof(err));
	e = errno;
	if (!st)
		fprintf(stderr, "%s: %s\n", prog, err);
	free(dbpath);
	errno = e;
	return st;
}

int enrol_key(struct store *st, const char *prog, const char *where, const char *node,
	      const struct env_key *key, bool replace, int64_t now_ms, struct enrol_result *res)
{
	bool had;
	int r;

	memset(res, 0, sizeof(*res));
	if (!wire_node_id_ok(node)) {
		fprintf(stderr, "%s: %s'%s' is not a node id ([a-z0-9-]{1,%d})\n", prog, where, node,
			WIRE_NODE_MAX);
		return -EINVAL;
	}
	had = store_key_get(st, node, &res->before) == 0;
	r = store_key_enrol(st, node, key, replace, now_ms, &res->now);
	if (r == -EEXIST)
		return r;
	if (r < 0) {
		fprintf(stderr, "%s: %s%s: %s\n", prog, where, node, store_errmsg(st));
		return r;
	}
	res->outcome = r == 1 ? ENROL_SAME : had ? ENROL_REPLACED : ENROL_NEW;
	return 0;
}

void enrol_print(FILE *f, const char *node, const struct enrol_result *res)
{
	switch (res->outcome) {
	case ENROL_SAME:
		fprintf(f, "%s: key %s (already enrolled)\n", node, res->now.key.id);
		break;
	case ENROL_REPLACED:
		fprintf(f, "%s: key %s replaces %s; its seqs are stored from %lld on\n", node,
			res->now.key.id, res->before.key.id, (long long)res->now.seq_base + 1);
		break;
	case ENROL_NEW:
		fprintf(f, "%s: key %s enrolled\n", node, res->now.key.id);
		break;
	}
}

int enrol_retire(struct store *st, const char *prog, const char *node, int64_t now_ms)
{
	int r = store_key_remove(st, node, now_ms);

	if (r < 0 && r != -ENOENT)
		fprintf(stderr, "%s: %s\n", prog, store_errmsg(st));
	return r;
}
