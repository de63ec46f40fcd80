/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_cap.c -- `cunxiang cap`: what a CAP warning does here, and doing it */
#include "config.h"

#include "alert_watch.h"
#include "alerting.h"
#include "cap_run.h"
#include "cap_setup.h"
#include "cconf.h"
#include "commands.h"
#include "cxtime.h"
#include "diag.h"
#include "fileio.h"
#include "schedule.h"
#include "tts.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONNECT_MS 10000
#define FLUSH_MS   10000

struct cap_opts {
	const char *config, *approve, *sender, *voices;
	bool dry_run, json, list;
};

static void cap_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang cap -c controller.yaml [--dry-run] [--format text|json] FILE...\n"
		   "       cunxiang cap -c controller.yaml --approve IDENTIFIER [--sender SENDER]\n"
		   "       cunxiang cap -c controller.yaml --list\n\n"
		   "What a CAP 1.2 warning does in this township, and doing it. Each FILE is\n"
		   "parsed and checked against the CAP 1.2 schema; its sender must be listed in\n"
		   "the schedules directory's warnings.yaml, with a valid XML signature where\n"
		   "that file requires one; then its rules decide: broadcast (an alert on the\n"
		   "selected poles, through the same path as `cunxiang alert`), update (the\n"
		   "referenced alerts cancelled and the new one issued), cancel, hold (until an\n"
		   "operator approves it), ignore or reject, each with its reason. Every message\n"
		   "is recorded in DATA_DIR/receipts.db with its decision, once: a message\n"
		   "already received does nothing. `cunxiang serve` does the same by itself\n"
		   "for the sources warnings.yaml names.\n\n"
		   "  -c --config FILE      controller configuration (default /etc/cunxiang/controller.yaml)\n"
		   "     --dry-run          only print the decisions: nothing recorded or sent\n"
		   "     --format F         text (default) or json: an array, one object per FILE\n"
		   "     --approve ID       put the held message ID on the air\n"
		   "     --sender S         the sender of --approve's message, when several used ID\n"
		   "     --list             the messages held for an operator\n"
		   "     --voices DIR       the voices directory (default: see cunxiang(1))\n"
		   "  -h --help             show this help\n"
		   "     --version          show the version\n\n"
		   "Exit status: 0 every message was decided (and what was decided, done);\n"
		   "1 a file could not be read, the store failed, or an alert or cancel could not\n"
		   "be sent (it is recorded, and `cunxiang serve` tries again); 2 usage error.\n\n"
		   "See cunxiang(1).\n");
}

enum { O_DRY = 256, O_FORMAT, O_APPROVE, O_SENDER, O_LIST, O_VOICES, O_VERSION };

/* \retval 0 / 1 done (help, version) / -1 usage error (said why) */
static int cap_args(int argc, char **argv, struct cap_opts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "approve", required_argument, NULL, O_APPROVE },
		{ "sender", required_argument, NULL, O_SENDER },
		{ "list", no_argument, NULL, O_LIST },
		{ "voices", required_argument, NULL, O_VOICES },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case O_DRY: o->dry_run = true; break;
		case O_FORMAT:
			if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
				fprintf(stderr, "cunxiang cap: --format must be text or json, not '%s'\n",
					optarg);
				return -1;
			}
			o->json = !strcmp(optarg, "json");
			break;
		case O_APPROVE: o->approve = optarg; break;
		case O_SENDER: o->sender = optarg; break;
		case O_LIST: o->list = true; break;
		case O_VOICES: o->voices = optarg; break;
		case 'h': cap_help(stdout); return 1;
		case O_VERSION: printf("cunxiang %s\n", CX_VERSION); return 1;
		default: cap_help(stderr); return -1;
		}
	}
	if ((o->approve || o->list) && optind != argc) {
		fprintf(stderr, "cunxiang cap: --approve and --list take no FILE\n");
		return -1;
	}
	if (o->approve && o->list) {
		fprintf(stderr, "cunxiang cap: --approve and --list do not go together\n");
		return -1;
	}
	if (o->sender && !o->approve) {
		fprintf(stderr, "cunxiang cap: --sender goes with --approve\n");
		return -1;
	}
	if (!o->approve && !o->list && optind == argc) {
		cap_help(stderr);
		return -1;
	}
	return 0;
}

/* ---- output ---- */

static void print_text(const struct caprun_out *o, const char *file)
{
	const struct cap_decision *d = &o->d;

	if (!o->decided) {
		printf("%s: %s%s%s: not decided: %s\n", file, o->identifier,
		       *o->sender ? " from " : "", o->sender, o->error);
		return;
	}
	printf("%s: %s%s%s: %s", file, o->identifier, *o->sender ? " from " : "", o->sender,
	       cap_what_name(d->what));
	if (d->what == CAP_BROADCAST || d->what == CAP_UPDATE || d->what == CAP_HOLD)
		printf(" level %d %s to %zu node%s, voice %s", d->level, d->klass ? d->klass : "",
		       d->nnodes, d->nnodes == 1 ? "" : "s", d->voice ? d->voice : "");
	printf(" (%s)\n", d->reason);
	if (*o->alert_id)
		printf("  alert %s is on the air\n", o->alert_id);
	for (size_t i = 0; i < o->ncancelled; i++)
		printf("  alert %s cancelled\n", o->cancelled[i]);
	if (*o->error)
		printf("  NOT SENT: %s\n", o->error);
}

static int emit(const struct cap_opts *o, json_t *all, const struct caprun_out *out,
		const char *file)
{
	json_t *j;

	if (!o->json) {
		print_text(out, file);
		return 0;
	}
	j = caprun_json(out);
	if (!j || json_array_append_new(all, j) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- the runs ---- */

/* A FILE that could not be read: said on stderr, and in JSON an object
 * of its own, so that the array still has one object per FILE. */
static int unread(const struct cap_opts *o, json_t *all, const char *file, int r)
{
	struct caprun_out out = { .d = { .info = SIZE_MAX } };

	snprintf(out.origin, sizeof(out.origin), "%s", file);
	snprintf(out.error, sizeof(out.error), "%s", r == -EFBIG ?
		 "larger than a CAP message may be (1 MiB)" : strerror(-r));
	fprintf(stderr, "cunxiang cap: %s: %s\n", file, out.error);
	return o->json ? emit(o, all, &out, file) : 0;
}

static int run_files(struct cap_setup *s, const struct cap_opts *o, char **files, size_t n)
{
	json_t *all = o->json ? json_array() : NULL;
	int rc = CX_EXIT_OK;

	if (o->json && !all)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct caprun_out out;
		char *buf = NULL;
		size_t len = 0;
		int r = fio_read_all(files[i], CAP_MAX_BYTES, &buf, &len);

		if (r < 0) {
			rc = CX_EXIT_USER;
			if (unread(o, all, files[i], r) < 0)
				goto oom;
			continue;
		}
		r = caprun_doc(&s->run, files[i], buf, len, cx_now_ms(), &out);
		free(buf);
		if (r == -ENOMEM) {
			caprun_out_free(&out);
			goto oom;
		}
		if (r < 0)
			rc = CX_EXIT_USER;
		r = emit(o, all, &out, files[i]);
		caprun_out_free(&out);
		if (r < 0)
			goto oom;
	}
	if (all) {
		json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(all);
	}
	return rc;
oom:
	json_decref(all);
	fprintf(stderr, "cunxiang cap: out of memory\n");
	return CX_EXIT_USER;
}

static int run_approve(struct cap_setup *s, const struct cap_opts *o)
{
	struct caprun_out out;
	int r = caprun_approve(&s->run, o->sender, o->approve, cx_now_ms(), &out);

	if (r < 0 && r != -EAGAIN) {
		fprintf(stderr, "cunxiang cap: %s: %s\n", o->approve, out.error);
		caprun_out_free(&out);
		return CX_EXIT_USER;
	}
	print_text(&out, "approved");
	caprun_out_free(&out);
	return r < 0 ? CX_EXIT_USER : CX_EXIT_OK;
}

static int held_fn(const struct store_cap *c, bool expired, void *ud)
{
	char when[64];

	(void)ud;
	if (expired)
		return 0;
	alert_watch_clock(c->received_ms, when, sizeof(when));
	printf("%s  %s  %s  level %d  %s  (%s)\n", when, c->identifier, c->sender, c->level,
	       c->title, c->reason);
	return 0;
}

static int run_list(struct cap_setup *s)
{
	if (store_cap_held(s->run.st, cx_now_ms(), held_fn, NULL) < 0) {
		fprintf(stderr, "cunxiang cap: cannot read the held messages: %s\n",
			store_errmsg(s->run.st));
		return CX_EXIT_USER;
	}
	return CX_EXIT_OK;
}

int cmd_cap(int argc, char **argv)
{
	struct cap_opts o = { .config = "/etc/cunxiang/controller.yaml" };
	struct cap_setup s = { 0 };
	struct cconf *cf = NULL;
	struct diag *d = NULL;
	char err[600], *zone = NULL;
	int rc = CX_EXIT_USER, sfd, r = cap_args(argc, argv, &o);

	if (r != 0)
		return r > 0 ? CX_EXIT_OK : CX_EXIT_USAGE;
	/* Before any thread starts (the renderer's, the MQTT session's). */
	sfd = alerting_signals_fd();
	if (!(d = diag_new()) || !(cf = cconf_load(o.config, d))) {
		if (d)
			diag_print(d, stderr);
		goto out;
	}
	/* The alert ids carry the township's date; times are shown in its zone. */
	zone = schedule_read_zone(cf->schedules);
	if (!zone || (r = cx_tz_set(zone)) < 0) {
		fprintf(stderr, "cunxiang cap: cannot select the time zone %s\n", zone ? zone : "");
		goto out;
	}
	r = cap_setup_open(&s, cf, o.voices, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "cunxiang cap: %s\n", err);
		rc = CX_EXIT_USER;
		goto out;
	}
	if (!o.dry_run && !o.list && cap_setup_connect(&s, "cap", CONNECT_MS, FLUSH_MS, err,
							 sizeof(err)) < 0) {
		fprintf(stderr, "cunxiang cap: %s; nothing was recorded or sent\n", err);
		rc = CX_EXIT_USER;
		goto out;
	}
	if (o.list)
		rc = run_list(&s);
	else if (o.approve)
		rc = run_approve(&s, &o);
	else
		rc = run_files(&s, &o, argv + optind, (size_t)(argc - optind));
out:
	cap_setup_close(&s);
	cconf_free(cf);
	diag_free(d);
	free(zone);
	tts_shutdown();
	if (sfd >= 0)
		close(sfd);
	return rc;
}
