/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_trust.c -- `cunxiang trust`: which controller keys the poles trust,
 * changed over the air (rotating the controller's key) */
#include "config.h"

#include "cconf.h"
#include "commands.h"
#include "ctlmsg.h"
#include "cxtime.h"
#include "diag.h"
#include "enrol.h"
#include "mq.h"
#include "pub.h"
#include "report/query.h"
#include "store.h"
#include "wire.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG        "cunxiang trust"
#define CONNECT_MS  10000
#define FLUSH_MS    10000

static void trust_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang trust [-c controller.yaml] KEY... [--wait SECONDS]\n"
		   "       cunxiang trust [-c controller.yaml] --status\n\n"
		   "Tell every pole, over the broker, which controller keys it trusts from now\n"
		   "on: exactly the KEYs, each a public key file (signing.pub) or its base64\n"
		   "line. The message (cx/v1/keys, retained, so poles that are off get it when\n"
		   "they come back) is signed with controller.yaml's signing_key, which must be\n"
		   "one of the KEYs. A pole takes it only if it trusts that key now and the\n"
		   "message is newer than the last it took; it keeps it across restarts until\n"
		   "its node.yaml's trusted_keys are edited.\n\n"
		   "Rotating the controller's key, without a visit to any pole:\n"
		   "  1. cunxiang keygen -o NEW\n"
		   "  2. cunxiang trust OLD.pub NEW/signing.pub --wait 600   (poles trust both)\n"
		   "  3. set signing_key: NEW/signing.key in controller.yaml, restart serve\n"
		   "     (it signs and publishes every plan again with the new key)\n"
		   "  4. cunxiang trust NEW/signing.pub --wait 600   (signed with the new key:\n"
		   "     the old key is no longer trusted anywhere)\n\n"
		   "  -c --config FILE  controller configuration (default /etc/cunxiang/controller.yaml)\n"
		   "     --wait S       then wait up to S seconds until every pole of the fleet\n"
		   "                    reports (in its signed status, received by serve) that it\n"
		   "                    holds this message; exit 1 naming those that do not\n"
		   "     --status       per pole, the keys message it reports holding\n"
		   "  -h --help         show this help\n"
		   "     --version      show the version\n\n"
		   "See cunxiang(1).\n");
}

/* A public key from ARG: a file holding its base64 line, or the line. */
static int key_arg(const char *arg, struct env_key *key)
{
	int r;

	if (env_key_from_base64(arg, key) == 0)
		return 0;
	r = env_pub_load(arg, key);
	if (r == -EINVAL)
		fprintf(stderr, "%s: %s does not hold one base64 Ed25519 public key\n", PROG, arg);
	else if (r < 0)
		fprintf(stderr, "%s: %s is neither a base64 public key nor a readable file: %s\n",
			PROG, arg, strerror(-r));
	return r;
}

static int publish(const struct cconf *cf, struct pub *p, const struct ctl_keys *k)
{
	char cid[64], topic[WIRE_TOPIC_MAX], *msg = NULL;
	size_t len;
	struct mq *mq;
	struct mq_cfg mc = {
		.client_id = cid, .host = cf->host, .port = cf->port, .tls = cf->tls,
		.ca_file = cf->ca_file, .username = cf->username, .password = cf->password,
		.clean_start = true, .keepalive_s = 30,
	};
	int r;

	if ((r = ctl_keys_sign(k, p->sk, &msg, &len)) < 0) {
		fprintf(stderr, "%s: cannot sign the keys message: %s\n", PROG, strerror(-r));
		return r;
	}
	wire_topic(WIRE_T_KEYS, NULL, topic);
	snprintf(cid, sizeof(cid), "cx-trust-%ld", (long)getpid());
	if (!(mq = mq_new(&mc))) {
		fprintf(stderr, "%s: cannot start the MQTT session: %s\n", PROG, strerror(errno));
		free(msg);
		return -EIO;
	}
	if (mq_wait_connected(mq, CONNECT_MS) < 0) {
		fprintf(stderr, "%s: cannot reach the broker %s; nothing was sent\n", PROG, cf->broker);
		r = -EHOSTUNREACH;
	} else if ((r = mq_publish(mq, topic, msg, len, 1, true)) < 0 ||
		   (r = mq_flush(mq, FLUSH_MS)) < 0) {
		fprintf(stderr, "%s: the broker did not take the keys message: %s\n", PROG,
			strerror(-r));
	}
	mq_free(mq);
	free(msg);
	return r;
}

static void when(int64_t ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The poles of the fleet that do not report holding a keys message of
 * ISSUED_MS or later, printed to F (unless NULL) as "ID ..." lines;
 * ISSUED_MS 0: print every pole's. \retval the count / -errno */
static long behind(struct store *st, int64_t issued_ms, FILE *f, long *total)
{
	struct store_node *v;
	size_t n;
	long k = 0;
	int r = rq_nodes(st, &v, &n);

	*total = 0;
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", PROG, store_errmsg(st));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		char w[40];

		if (!v[i].in_fleet)
			continue;
		++*total;
		if (issued_ms && v[i].keys_ms != STORE_NONE && v[i].keys_ms >= issued_ms)
			continue;
		k++;
		if (!f)
			continue;
		if (v[i].keys_ms == STORE_NONE) {
			fprintf(f, "%-32s %s\n", v[i].id, v[i].has_status ?
				"node.yaml's trusted_keys" : "no status yet");
		} else {
			when(v[i].keys_ms, w, sizeof(w));
			fprintf(f, "%-32s keys message of %s (%lld)\n", v[i].id, w,
				(long long)v[i].keys_ms);
		}
	}
	free(v);
	return k;
}

static int wait_poles(const struct cconf *cf, int64_t issued_ms, long secs)
{
	struct store *st = enrol_store_open(cf, true, PROG);
	int64_t end = cx_mono_us() + (int64_t)secs * 1000000;
	long left, total;

	if (!st)
		return CX_EXIT_USER;
	for (;;) {
		left = behind(st, issued_ms, NULL, &total);
		if (left <= 0 || cx_mono_us() >= end)
			break;
		usleep(500000);
	}
	if (left == 0)
		printf("all %ld poles of the fleet hold it\n", total);
	else if (left > 0) {
		printf("%ld of %ld poles do not report holding it after %ld s:\n", left, total, secs);
		behind(st, issued_ms, stdout, &total);
	}
	store_close(st);
	return left == 0 ? CX_EXIT_OK : CX_EXIT_USER;
}

int cmd_trust(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "wait", required_argument, NULL, 'w' },
		{ "status", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *config = "/etc/cunxiang/controller.yaml";
	long wait_s = -1;
	bool status = false, self = false;
	struct ctl_keys k = { 0 };
	struct cconf *cf;
	struct pub p;
	struct diag *d;
	char err[300], *end;
	int c, rc = CX_EXIT_USER;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'w':
			errno = 0;
			wait_s = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || wait_s < 0 || wait_s > 86400) {
				fprintf(stderr, "%s: --wait takes 0 to 86400 seconds, not '%s'\n",
					PROG, optarg);
				return CX_EXIT_USAGE;
			}
			break;
		case 's': status = true; break;
		case 'h': trust_help(stdout); return CX_EXIT_OK;
		case 'V': printf("cunxiang %s\n", CX_VERSION); return CX_EXIT_OK;
		default: trust_help(stderr); return CX_EXIT_USAGE;
		}
	}
	if (status ? (optind != argc || wait_s >= 0) : optind == argc) {
		trust_help(stderr);
		return CX_EXIT_USAGE;
	}
	if (argc - optind > CTL_KEYS_MAX) {
		fprintf(stderr, "%s: at most %d keys\n", PROG, CTL_KEYS_MAX);
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
	if (status) {
		struct store *st = enrol_store_open(cf, true, PROG);
		long total;

		if (st && behind(st, 0, stdout, &total) >= 0) {
			if (!total)
				printf("no pole of the fleet in %s/receipts.db yet: `cunxiang serve` "
				       "records the fleet when it runs\n", cf->data_dir);
			rc = CX_EXIT_OK;
		}
		store_close(st);
		cconf_free(cf);
		return rc;
	}
	if (pub_init(&p, cf->signing_key, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		cconf_free(cf);
		return CX_EXIT_USER;
	}
	for (int i = optind; i < argc; i++) {
		struct env_key key;

		if (key_arg(argv[i], &key) < 0)
			goto out;
		for (size_t j = 0; j < k.nkeys; j++)
			if (!memcmp(k.keys[j].pk, key.pk, ENV_PK_BYTES)) {
				fprintf(stderr, "%s: key %s is given twice\n", PROG, key.id);
				goto out;
			}
		self |= !memcmp(key.pk, p.key.pk, ENV_PK_BYTES);
		k.keys[k.nkeys++] = key;
	}
	if (!self) {
		fprintf(stderr, "%s: the poles would no longer trust the key that signs for them "
			"(signing_key %s, key %s): list it too, and leave it out only once "
			"signing_key is the new key\n", PROG, cf->signing_key, p.key.id);
		goto out;
	}
	k.issued_ms = cx_now_ms();
	if (publish(cf, &p, &k) < 0)
		goto out;
	printf("keys message of %lld, signed by %s: the poles trust", (long long)k.issued_ms,
	       p.key.id);
	for (size_t j = 0; j < k.nkeys; j++)
		printf(" %s", k.keys[j].id);
	printf("\n");
	fflush(stdout);
	rc = wait_s >= 0 ? wait_poles(cf, k.issued_ms, wait_s) : CX_EXIT_OK;
out:
	pub_wipe(&p);
	cconf_free(cf);
	return rc;
}
