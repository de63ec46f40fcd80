/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_alert.c -- `cunxiang alert` and `cunxiang cancel`: an alert on the air now, and who heard it */
#include "config.h"

#include "alert.h"
#include "alert_audio.h"
#include "alert_watch.h"
#include "alerting.h"
#include "cconf.h"
#include "commands.h"
#include "cxtime.h"
#include "diag.h"
#include "encode.h"
#include "fileio.h"
#include "hash.h"
#include "keyring.h"
#include "mq.h"
#include "pub.h"
#include "report/query.h"
#include "schedule.h"
#include "store.h"
#include "tts.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* `alert` only: the alert is on the air, but some targeted node did not
 * report `started` within --wait. */
#define CX_EXIT_NOT_STARTED 3

#define MAX_TARGETS      1000               /* areas, tags, nodes: each, as the node accepts */
#define TITLE_MAX_BYTES  256                /* the node's limit */
#define MAX_EXPIRES_MS   (7 * 86400000LL)
#define DEFAULT_EXPIRES_MS 3600000LL
#define MAX_WAIT_S       3600
#define CONNECT_MS       10000              /* to reach the broker */
#define FLUSH_MS         10000              /* for the broker's PUBACKs */

static const char *const level_names[] = { "", "Ⅰ 特别重大", "Ⅱ 重大", "Ⅲ 较大", "Ⅳ 一般" };

/* ---- arguments ---- */

static bool digits(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool node_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > STORE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* As the node reads a tag: 1..64 bytes, no space or comma. */
static bool tag_ok(const char *s)
{
	return *s && strlen(s) <= 64 && !strpbrk(s, " ,");
}

static bool title_ok(const char *s)
{
	if (!*s || strlen(s) > TITLE_MAX_BYTES)
		return false;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

/* A whole number LO..HI. */
static bool parse_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

struct alert_opts {
	const char *config, *text, *voice, *audio, *title, *klass, *voices;
	int level, repeat, volume, wait_s;
	int64_t expires_ms;
	const char *areas[MAX_TARGETS], *tags[MAX_TARGETS], *nodes[MAX_TARGETS];
	size_t nareas, ntags, nnodes;
};

static void alert_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang alert -c controller.yaml --level N --area CODE... [--tag T]... [--node ID]...\n"
		   "                      (--text TEXT [--voice NAME] | --audio FILE) [--title T] [--repeat N]\n"
		   "                      [--volume N] [--expires DURATION] [--wait S] [--drill|--test]\n\n"
		   "Put an alert on the air now. The targeted nodes are those of the fleet (the\n"
		   "schedules directory's fleet.yaml, and the fleet `cunxiang serve` last stored)\n"
		   "whose village code starts with an --area, that carry a --tag, or that are\n"
		   "named by --node. TEXT is spoken with the voice (the profile's chime first),\n"
		   "or FILE (wav, flac, mp3, opus) is encoded; the audio is published retained,\n"
		   "the alert is recorded in DATA_DIR/receipts.db with its id\n"
		   "AREA_CODE-YYYYMMDD-NNNN, then published signed. Nodes play it at once,\n"
		   "before any broadcast of lower priority.\n\n"
		   "Then it shows, live, how many targeted nodes accepted and started it, until\n"
		   "all started or S seconds passed, and names each node that did not with its\n"
		   "last known status. Ctrl-C stops watching; the alert stays on the air until\n"
		   "it expires or `cunxiang cancel ALERT-ID`.\n\n"
		   "  -c --config FILE      controller configuration (default /etc/cunxiang/controller.yaml)\n"
		   "  -l --level N          1 (Ⅰ 特别重大) .. 4 (Ⅳ 一般)\n"
		   "  -a --area CODE        administrative-code prefix, 1..12 digits (repeatable)\n"
		   "  -t --tag T            nodes with this tag in fleet.yaml (repeatable)\n"
		   "  -n --node ID          this node (repeatable)\n"
		   "     --text TEXT        speak TEXT\n"
		   "     --voice NAME       voice profile for --text (default mandarin)\n"
		   "     --audio FILE       play this recording instead\n"
		   "     --title T          the alert's title (default 应急广播)\n"
		   "     --repeat N         plays back to back, 1..10 (default 1)\n"
		   "     --volume N         1..100 (default 100)\n"
		   "     --expires DURATION how long nodes may still start it: 90s, 30m, 2h (default 1h)\n"
		   "     --wait S           watch the receipts up to S seconds, 0..3600 (default 10)\n"
		   "     --drill            a drill: recorded apart in reports\n"
		   "     --test             a test: recorded apart in reports\n"
		   "     --voices DIR       the voices directory (default: see cunxiang(1))\n"
		   "  -h --help             show this help\n"
		   "     --version          show the version\n\n"
		   "At least one of --area, --tag and --node is needed. Exit status: 0 every\n"
		   "targeted node started the alert; 3 the alert was sent but some node did not\n"
		   "start it within S seconds (they are listed); 1 nothing usable was sent\n"
		   "(reason on stderr); 2 usage error.\n\n"
		   "See cunxiang(1).\n");
}

enum { O_TEXT = 256, O_VOICE, O_AUDIO, O_TITLE, O_REPEAT, O_VOLUME, O_EXPIRES, O_WAIT,
       O_DRILL, O_TEST, O_VOICES, O_VERSION };

/* --level, --repeat, --volume, --wait or --expires (option C).
 * \retval 0 / -1 usage error (said why) */
static int args_number(int c, const char *arg, struct alert_opts *o)
{
	switch (c) {
	case 'l':
		if (!parse_int(arg, 1, 4, &o->level)) {
			fprintf(stderr, "cunxiang alert: --level must be 1..4, not '%s'\n", arg);
			return -1;
		}
		break;
	case O_REPEAT:
		if (!parse_int(arg, 1, 10, &o->repeat)) {
			fprintf(stderr, "cunxiang alert: --repeat must be 1..10, not '%s'\n", arg);
			return -1;
		}
		break;
	case O_VOLUME:
		if (!parse_int(arg, 1, 100, &o->volume)) {
			fprintf(stderr, "cunxiang alert: --volume must be 1..100, not '%s'\n", arg);
			return -1;
		}
		break;
	case O_WAIT:
		if (!parse_int(arg, 0, MAX_WAIT_S, &o->wait_s)) {
			fprintf(stderr, "cunxiang alert: --wait must be 0..%d seconds, not '%s'\n",
				MAX_WAIT_S, arg);
			return -1;
		}
		break;
	default: /* O_EXPIRES */
		if (cx_parse_duration(arg, &o->expires_ms) < 0 || o->expires_ms <= 0 ||
		    o->expires_ms > MAX_EXPIRES_MS) {
			fprintf(stderr, "cunxiang alert: --expires must be a duration such as 90s, 30m "
				"or 2h, at most 168h, not '%s'\n", arg);
			return -1;
		}
	}
	return 0;
}

/* --area, --tag or --node (option C). \retval 0 / -1 usage error (said why) */
static int args_target(int c, const char *arg, struct alert_opts *o)
{
	if (c == 'a') {
		if (!digits(arg, 1, 12) || o->nareas == MAX_TARGETS) {
			fprintf(stderr, "cunxiang alert: --area needs an administrative-code prefix "
				"(1..12 digits), not '%s'\n", arg);
			return -1;
		}
		o->areas[o->nareas++] = arg;
	} else if (c == 't') {
		if (!tag_ok(arg) || o->ntags == MAX_TARGETS) {
			fprintf(stderr, "cunxiang alert: bad tag '%s' (1..64 bytes, no space or comma)\n",
				arg);
			return -1;
		}
		o->tags[o->ntags++] = arg;
	} else {
		if (!node_id_ok(arg) || o->nnodes == MAX_TARGETS) {
			fprintf(stderr, "cunxiang alert: bad node id '%s' (want [a-z0-9-]{1,32})\n",
				arg);
			return -1;
		}
		o->nodes[o->nnodes++] = arg;
	}
	return 0;
}

/* What the options say together. \retval 0 / -1 usage error (said why) */
static int args_check(struct alert_opts *o)
{
	if (!o->level) {
		fprintf(stderr, "cunxiang alert: --level is required (1 most severe .. 4)\n");
		return -1;
	}
	if (o->nareas + o->ntags + o->nnodes == 0) {
		fprintf(stderr, "cunxiang alert: name the villages to reach: --area, --tag or --node\n");
		return -1;
	}
	if (!o->text == !o->audio) {
		fprintf(stderr, "cunxiang alert: give either --text or --audio\n");
		return -1;
	}
	if (o->text && !*o->text) {
		fprintf(stderr, "cunxiang alert: --text is empty\n");
		return -1;
	}
	if (o->voice && !o->text) {
		fprintf(stderr, "cunxiang alert: --voice goes with --text\n");
		return -1;
	}
	if (!o->voice)
		o->voice = "mandarin";
	if (!title_ok(o->title)) {
		fprintf(stderr, "cunxiang alert: --title must be 1..%d bytes without control characters\n",
			TITLE_MAX_BYTES);
		return -1;
	}
	return 0;
}

/* \retval 0 run / 1 done (help, version) / -1 usage error (said why) */
static int alert_args(int argc, char **argv, struct alert_opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "level", required_argument, NULL, 'l' },
		{ "area", required_argument, NULL, 'a' },
		{ "tag", required_argument, NULL, 't' },
		{ "node", required_argument, NULL, 'n' },
		{ "text", required_argument, NULL, O_TEXT },
		{ "voice", required_argument, NULL, O_VOICE },
		{ "audio", required_argument, NULL, O_AUDIO },
		{ "title", required_argument, NULL, O_TITLE },
		{ "repeat", required_argument, NULL, O_REPEAT },
		{ "volume", required_argument, NULL, O_VOLUME },
		{ "expires", required_argument, NULL, O_EXPIRES },
		{ "wait", required_argument, NULL, O_WAIT },
		{ "drill", no_argument, NULL, O_DRILL },
		{ "test", no_argument, NULL, O_TEST },
		{ "voices", required_argument, NULL, O_VOICES },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:l:a:t:n:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case O_TEXT: o->text = optarg; break;
		case O_VOICE: o->voice = optarg; break;
		case O_AUDIO: o->audio = optarg; break;
		case O_TITLE: o->title = optarg; break;
		case O_VOICES: o->voices = optarg; break;
		case O_DRILL: case O_TEST:
			if (strcmp(o->klass, "actual")) {
				fprintf(stderr, "cunxiang alert: --drill and --test exclude each other\n");
				return -1;
			}
			o->klass = c == O_DRILL ? "drill" : "test";
			break;
		case 'l': case O_REPEAT: case O_VOLUME: case O_WAIT: case O_EXPIRES:
			if (args_number(c, optarg, o) < 0)
				return -1;
			break;
		case 'a': case 't': case 'n':
			if (args_target(c, optarg, o) < 0)
				return -1;
			break;
		case 'h': alert_help(stdout); return 1;
		case O_VERSION: printf("cunxiang %s\n", CX_VERSION); return 1;
		default: alert_help(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cunxiang alert: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return args_check(o);
}

/* ---- the broker ---- */

/* A session of its own for command CMD, connected; *STOP when a signal came
 * meanwhile. NULL: cannot (said why). */
static struct mq *connect_broker(const struct cconf *cf, const char *cmd, int sfd, bool *stop)
{
	struct mq *mq = alerting_mq_new(cf, cmd);
	int r;

	if (!mq) {
		fprintf(stderr, "cunxiang %s: cannot start the MQTT session: %s\n", cmd, strerror(errno));
		return NULL;
	}
	r = alerting_mq_wait(mq, sfd, CONNECT_MS);
	if (r < 0) {
		fprintf(stderr, "cunxiang %s: cannot reach the broker %s; nothing was sent\n",
			cmd, cf->broker);
		mq_free(mq);
		return NULL;
	}
	if (r == 1)
		*stop = true;
	return mq;
}

/* ---- `cunxiang alert` ---- */

/* One run of `cunxiang alert`. */
struct alert_run {
	struct alert_opts o;
	int sfd;
	struct diag *d;
	struct cconf *cf;
	struct schedule *sch;
	struct alerting_fleet fleet;
	const char *area;            /* the township's, in the alert's id */
	char *assets_dir, *cache_dir, *dbpath;
	struct store *st;
	struct keyring *keys;
	struct alerting_targets tg;
	struct pub pub;
	struct alert_audio audio;
	struct mq *mq;
	struct alert *msg;
};

/* The configuration, the fleet, the time zone. \retval 0 / -1 said why */
static int run_fleet(struct alert_run *a)
{
	int r;

	if (!(a->d = diag_new())) {
		fprintf(stderr, "cunxiang alert: out of memory\n");
		return -1;
	}
	if (!(a->cf = cconf_load(a->o.config, a->d))) {
		diag_print(a->d, stderr);
		return -1;
	}
	/* The fleet: only fleet.yaml matters here, so a broken broadcast
	 * file must not stop an emergency. */
	a->sch = schedule_load(a->cf->schedules, a->d);
	a->area = a->sch ? schedule_township(a->sch)->area_code : NULL;
	if (!a->area) {
		diag_print(a->d, stderr);
		fprintf(stderr, "cunxiang alert: cannot read the township's area_code from %s/fleet.yaml\n",
			a->cf->schedules);
		return -1;
	}
	if (diag_errors(a->d))
		fprintf(stderr, "cunxiang alert: warning: %zu error%s in %s (`cunxiang check` shows "
			"them); the fleet is usable\n", diag_errors(a->d),
			diag_errors(a->d) == 1 ? "" : "s", a->cf->schedules);
	/* The alert's id carries the township's date. */
	if ((r = cx_tz_set(schedule_township(a->sch)->timezone)) < 0) {
		fprintf(stderr, "cunxiang alert: cannot select the time zone %s: %s\n",
			schedule_township(a->sch)->timezone, strerror(-r));
		return -1;
	}
	return 0;
}

/* DATA_DIR, the store, its nodes and keys. \retval 0 / -1 said why */
static int run_store(struct alert_run *a)
{
	char err[600];
	int r;

	a->assets_dir = fio_join(a->cf->data_dir, "assets");
	a->cache_dir = fio_join(a->cf->data_dir, "cache");
	a->dbpath = fio_join(a->cf->data_dir, STORE_FILE);
	if (!a->assets_dir || !a->cache_dir || !a->dbpath) {
		fprintf(stderr, "cunxiang alert: out of memory\n");
		return -1;
	}
	if ((r = fio_mkdir_p(a->assets_dir, 0755)) < 0 || (r = fio_mkdir_p(a->cache_dir, 0755)) < 0) {
		fprintf(stderr, "cunxiang alert: cannot create %s: %s\n", a->cf->data_dir, strerror(-r));
		return -1;
	}
	if (!(a->st = store_open(a->dbpath, 0, err, sizeof(err)))) {
		fprintf(stderr, "cunxiang alert: %s\n", err);
		return -1;
	}
	if (rq_nodes(a->st, &a->fleet.sn, &a->fleet.nsn) < 0) {
		fprintf(stderr, "cunxiang alert: cannot read %s: %s\n", a->dbpath, store_errmsg(a->st));
		return -1;
	}
	if (!(a->keys = keyring_new(a->st))) {
		fprintf(stderr, "cunxiang alert: cannot read the enrolled node keys: %s\n",
			store_errmsg(a->st));
		return -1;
	}
	return 0;
}

/* The targeted nodes, and warnings about what reaches none. \retval 0 /
 * -1 said why */
static int run_targets(struct alert_run *a)
{
	const struct alert_opts *o = &a->o;
	struct alerting_scope sc = { .areas = o->areas, .nareas = o->nareas, .tags = o->tags,
		.ntags = o->ntags, .nodes = o->nodes, .nnodes = o->nnodes };

	a->fleet.sch = a->sch;
	if (alerting_resolve(&a->fleet, &sc, &a->tg) < 0) {
		fprintf(stderr, "cunxiang alert: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < a->tg.nunknown; i++)
		fprintf(stderr, "cunxiang alert: warning: node %s is not in the fleet and was "
			"never heard from; targeting it anyway\n", a->tg.unknown[i]);
	if (!a->tg.n) {
		fprintf(stderr, "cunxiang alert: the targets name no node of the fleet (%zu node%s in "
			"%s/fleet.yaml); nothing was sent\n", schedule_node_count(a->sch),
			schedule_node_count(a->sch) == 1 ? "" : "s", a->cf->schedules);
		return -1;
	}
	for (size_t i = 0; i < o->nareas; i++)
		if (!alerting_area_reached(&a->tg, o->areas[i]))
			fprintf(stderr, "cunxiang alert: warning: --area %s matches no node of the fleet\n",
				o->areas[i]);
	for (size_t i = 0; i < o->ntags; i++)
		if (!alerting_tag_in_fleet(a->sch, o->tags[i]))
			fprintf(stderr, "cunxiang alert: warning: no node of fleet.yaml has tag %s\n",
				o->tags[i]);
	return 0;
}

/* The signing key and the audio. \retval 0 / -1 said why */
static int run_audio(struct alert_run *a)
{
	char err[600], *vdir = NULL;
	int r;

	if (pub_init(&a->pub, a->cf->signing_key, err, sizeof(err)) < 0) {
		fprintf(stderr, "cunxiang alert: %s\n", err);
		return -1;
	}
	if (a->o.audio) {
		r = alert_audio_file(a->o.audio, a->assets_dir, a->cache_dir, &a->audio, err,
				     sizeof(err));
	} else if (!(vdir = voices_dir_find(a->o.voices, a->cf->voices, a->cf->schedules))) {
		fprintf(stderr, "cunxiang alert: no voices directory found; set voices: in %s or "
			"use --voices DIR\n", a->cf->path);
		return -1;
	} else {
		r = alert_audio_speech(vdir, a->o.voice, a->o.text, a->assets_dir, a->cache_dir,
				       &a->audio, err, sizeof(err));
	}
	free(vdir);
	if (r < 0)
		fprintf(stderr, "cunxiang alert: %s\n", err);
	return r < 0 ? -1 : 0;
}

/* The alert message, recorded under its new id. \retval 0 / -1 said why */
static int run_record(struct alert_run *a, int64_t now)
{
	const struct alert_opts *o = &a->o;
	struct alerting_desc desc = { .level = o->level, .klass = o->klass, .title = o->title,
		.issued_ms = now, .expires_ms = now + o->expires_ms, .duration_ms = a->audio.duration_ms,
		.repeat = o->repeat, .volume = o->volume,
		.scope = { .areas = o->areas, .nareas = o->nareas, .tags = o->tags,
			   .ntags = o->ntags, .nodes = o->nodes, .nnodes = o->nnodes } };
	const char **ids = NULL;
	char err[600];
	int r = alerting_message(&desc, &a->msg);

	if (r < 0 && r != -ENOMEM) {
		fprintf(stderr, "cunxiang alert: the targets do not fit an alert message\n");
		return -1;
	}
	if (r == 0 && (ids = calloc(a->tg.n, sizeof(*ids)))) {
		for (size_t i = 0; i < a->tg.n; i++)
			ids[i] = a->tg.t[i].id;
		r = alerting_record(a->st, a->area, a->msg, false, ids, a->tg.n, err, sizeof(err));
		free(ids);
		if (r < 0)
			fprintf(stderr, "cunxiang alert: %s\n", err);
		return r < 0 ? -1 : 0;
	}
	fprintf(stderr, "cunxiang alert: out of memory\n");
	return -1;
}

/* The audio, then the alert, published. \retval 0 / -1 said why */
static int run_publish(struct alert_run *a, int64_t now)
{
	char shas[2][65], err[600];
	const char *id = a->msg->id;
	int r;

	r = alert_audio_publish(&a->pub, a->st, &a->audio, now, FLUSH_MS, err, sizeof(err));
	if (r < 0) {
		/* Certainly not on the air: keep the record truthful. */
		store_alert_cancel(a->st, id, cx_now_ms());
		fprintf(stderr, "cunxiang alert: alert %s: %s; the alert was NOT sent (recorded as "
			"cancelled)\n", id, err);
		return -1;
	}
	for (size_t i = 0; i < a->audio.n; i++)
		memcpy(shas[i], a->audio.a[i].sha, sizeof(shas[i]));
	if (alert_set_assets(a->msg, (const char (*)[65])shas, a->audio.n) < 0) {
		fprintf(stderr, "cunxiang alert: out of memory\n");
		return -1;
	}
	r = alerting_publish(&a->pub, a->msg, FLUSH_MS);
	if (r < 0)
		fprintf(stderr, "cunxiang alert: alert %s: %s: the broker did not confirm it, so it "
			"may or may not reach the nodes; `cunxiang cancel -c %s %s` makes sure it does "
			"not\n", id, strerror(-r), a->o.config, id);
	return r < 0 ? -1 : 0;
}

/* Say it is on the air, watch the receipts, sum up. \retval the exit status */
static int run_follow(struct alert_run *a, int64_t now)
{
	const struct alert_opts *o = &a->o;
	struct alert_watch w = { .tg = &a->tg, .keys = a->keys, .id = a->msg->id,
				 .issued_ms = now, .tty = isatty(STDOUT_FILENO) };
	char when[64];
	bool stop;

	alert_watch_clock(now + o->expires_ms, when, sizeof(when));
	printf("alert %s sent: level %s, %s, \"%s\", %.1f s x %d, to %zu node%s; expires %s\n",
	       w.id, level_names[o->level], o->klass, o->title, (double)a->audio.duration_ms / 1000.0,
	       o->repeat, a->tg.n, a->tg.n == 1 ? "" : "s", when);
	fflush(stdout);
	alert_watch_start(&w);
	stop = alert_watch_run(&w, a->mq, a->st, a->sfd, o->wait_s);
	alert_watch_summary(&w, o->config, now + o->expires_ms, stop);
	return w.started == a->tg.n ? CX_EXIT_OK : CX_EXIT_NOT_STARTED;
}

static void alert_run_free(struct alert_run *a)
{
	if (a->mq) {
		mq_flush(a->mq, 2000);
		mq_free(a->mq);
	}
	if (a->sfd >= 0)
		close(a->sfd);
	pub_wipe(&a->pub);
	alert_free(a->msg);
	keyring_free(a->keys);
	alert_audio_free(&a->audio);
	alerting_targets_free(&a->tg);
	free(a->fleet.sn);
	schedule_free(a->sch);
	store_close(a->st);
	free(a->dbpath);
	free(a->assets_dir);
	free(a->cache_dir);
	cconf_free(a->cf);
	diag_free(a->d);
	tts_shutdown();
}

int cmd_alert(int argc, char **argv)
{
	struct alert_run a = { .o = { .config = "/etc/cunxiang/controller.yaml",
		.title = "应急广播", .klass = "actual", .repeat = 1, .volume = 100, .wait_s = 10,
		.expires_ms = DEFAULT_EXPIRES_MS }, .sfd = -1 };
	int rc = CX_EXIT_USER, r;
	bool stop = false;
	int64_t now;

	r = alert_args(argc, argv, &a.o);
	if (r != 0)
		return r > 0 ? CX_EXIT_OK : CX_EXIT_USAGE;
	/* Before any thread starts (the renderer's, the MQTT session's), so
	 * that all of them leave SIGINT and SIGTERM to the signalfd. */
	a.sfd = alerting_signals_fd();
	if (run_fleet(&a) < 0 || run_store(&a) < 0 || run_targets(&a) < 0 ||
	    run_audio(&a) < 0)
		goto out;
	stop = alerting_signalled(a.sfd);
	if (!stop && !(a.mq = connect_broker(a.cf, "alert", a.sfd, &stop)))
		goto out;
	if (stop) {
		fprintf(stderr, "cunxiang alert: interrupted; nothing was sent\n");
		goto out;
	}
	a.pub.mq = a.mq;
	now = cx_now_ms();
	if (run_record(&a, now) < 0 || run_publish(&a, now) < 0)
		goto out;
	rc = run_follow(&a, now);
out:
	alert_run_free(&a);
	return rc;
}

/* ---- `cunxiang cancel` ---- */

static void cancel_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang cancel -c controller.yaml [--wait S] ALERT-ID\n\n"
		   "Take an alert off the air: record it cancelled in DATA_DIR/receipts.db and\n"
		   "publish a signed cancel. Nodes playing or holding it stop at once and\n"
		   "report `interrupted`; a node that gets the alert later never plays it.\n"
		   "Cancelling an alert again publishes the cancel again.\n\n"
		   "  -c --config FILE  controller configuration (default /etc/cunxiang/controller.yaml)\n"
		   "     --wait S       show the nodes' receipts for up to S seconds, 0..3600\n"
		   "                    (default 5; less when every node known to hold it answered)\n"
		   "  -h --help         show this help\n"
		   "     --version      show the version\n\n"
		   "Exit status: 0 the cancel was sent; 1 unknown alert or nothing sent (reason\n"
		   "on stderr); 2 usage error.\n\n"
		   "See cunxiang(1).\n");
}

struct find_alert {
	const char *id;
	bool found;
	int64_t cancelled_ms;
	char title[STORE_TEXT_MAX * 4 + 1];
};

static int find_alert_fn(const struct store_alert *a, int64_t cancelled_ms, void *ud)
{
	struct find_alert *fa = ud;

	if (strcmp(a->id, fa->id))
		return 0;
	fa->found = true;
	fa->cancelled_ms = cancelled_ms;
	snprintf(fa->title, sizeof(fa->title), "%s", a->title);
	return 1;
}

/* Nodes that, as far as the store knows, hold the alert: they accepted or
 * started it and sent no final receipt. */
struct holders {
	char (*id)[STORE_ID_MAX + 1];
	bool *answered;
	size_t n, cap, answers;
};

static int holders_fn(const char *node, bool targeted, const struct store_rcpt *r, size_t n,
		      void *ud)
{
	struct holders *h = ud;
	const char *last = n ? r[n - 1].state : NULL;

	(void)targeted;
	if (!last || (strcmp(last, "accepted") && strcmp(last, "started")))
		return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		void *v = realloc(h->id, cap * sizeof(*h->id)), *b;

		if (!v)
			return -ENOMEM;
		h->id = v;
		if (!(b = realloc(h->answered, cap * sizeof(*h->answered))))
			return -ENOMEM;
		h->answered = b;
		h->cap = cap;
	}
	snprintf(h->id[h->n], sizeof(h->id[h->n]), "%s", node);
	h->answered[h->n++] = false;
	return 0;
}

/* \retval 0 run / 1 done (help, version) / -1 usage error (said why) */
static int cancel_args(int argc, char **argv, const char **config, int *wait_s, const char **ref)
{
	enum { C_WAIT = 256, C_VERSION };
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "wait", required_argument, NULL, C_WAIT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, C_VERSION },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': *config = optarg; break;
		case C_WAIT:
			if (!parse_int(optarg, 0, MAX_WAIT_S, wait_s)) {
				fprintf(stderr, "cunxiang cancel: --wait must be 0..%d seconds, not '%s'\n",
					MAX_WAIT_S, optarg);
				return -1;
			}
			break;
		case 'h': cancel_help(stdout); return 1;
		case C_VERSION: printf("cunxiang %s\n", CX_VERSION); return 1;
		default: cancel_help(stderr); return -1;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "cunxiang cancel: %s\n", optind == argc ? "which alert? give its id"
			: "give one alert id");
		return -1;
	}
	*ref = argv[optind];
	return 0;
}

/* One run of `cunxiang cancel`. */
struct cancel_run {
	const char *config, *ref;
	int wait_s, sfd;
	struct diag *d;
	struct cconf *cf;
	char *dbpath;
	struct store *st;
	struct find_alert fa;
	struct keyring *keys;
	struct holders h;
	struct pub pub;
	struct mq *mq;
	bool stop;
};

/* The configuration, the zone, the alert in the store, who holds it.
 * \retval 0 / -1 said why */
static int cancel_lookup(struct cancel_run *c)
{
	char err[600], *zone;
	int r;

	if (!(c->d = diag_new()))
		goto oom;
	if (!(c->cf = cconf_load(c->config, c->d))) {
		diag_print(c->d, stderr);
		return -1;
	}
	/* Times are shown in the township's zone. */
	zone = schedule_read_zone(c->cf->schedules);
	r = zone ? cx_tz_set(zone) : -ENOMEM;
	free(zone);
	if (r < 0 || !(c->dbpath = fio_join(c->cf->data_dir, STORE_FILE)))
		goto oom;
	if (!(c->st = store_open(c->dbpath, 0, err, sizeof(err)))) {
		fprintf(stderr, "cunxiang cancel: %s\n", err);
		return -1;
	}
	if (rq_alerts(c->st, INT64_MIN, INT64_MAX, find_alert_fn, &c->fa) < 0) {
		fprintf(stderr, "cunxiang cancel: cannot read the alerts: %s\n", store_errmsg(c->st));
		return -1;
	}
	if (!c->fa.found) {
		fprintf(stderr, "cunxiang cancel: no alert %s in %s\n", c->ref, c->dbpath);
		return -1;
	}
	if (!(c->keys = keyring_new(c->st))) {
		fprintf(stderr, "cunxiang cancel: cannot read the enrolled node keys: %s\n",
			store_errmsg(c->st));
		return -1;
	}
	r = rq_alert_receipts(c->st, c->ref, holders_fn, &c->h);
	if (r == -ENOMEM)
		goto oom;
	if (r < 0) {
		fprintf(stderr, "cunxiang cancel: cannot read the receipts of %s: %s\n", c->ref,
			store_errmsg(c->st));
		return -1;
	}
	return 0;
oom:
	fprintf(stderr, "cunxiang cancel: out of memory\n");
	return -1;
}

/* Record the cancel and publish it. \retval 0 / -1 said why */
static int cancel_send(struct cancel_run *c)
{
	char err[600];
	int64_t now;
	int r;

	if (pub_init(&c->pub, c->cf->signing_key, err, sizeof(err)) < 0) {
		fprintf(stderr, "cunxiang cancel: %s\n", err);
		return -1;
	}
	if (!(c->mq = connect_broker(c->cf, "cancel", c->sfd, &c->stop)))
		return -1;
	if (c->stop) {
		fprintf(stderr, "cunxiang cancel: interrupted; nothing was sent\n");
		return -1;
	}
	c->pub.mq = c->mq;
	now = cx_now_ms();
	r = alerting_cancel(c->st, &c->pub, c->ref, now, FLUSH_MS, err, sizeof(err));
	if (r == 1) {
		char when[64];

		alert_watch_clock(c->fa.cancelled_ms, when, sizeof(when));
		printf("alert %s was already cancelled at %s; sent the cancel again\n", c->ref, when);
	} else if (r < 0) {
		fprintf(stderr, "cunxiang cancel: %s; %s\n", err, strncmp(err, "cannot record", 13) ?
			"it is recorded, run the command again" : "nothing was sent");
		return -1;
	}
	return 0;
}

/* Node R answered: one that held the alert and now sent a final receipt. */
static void cancel_answer(struct holders *h, const struct alert_watch_rcpt *r)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->id[i], r->node) && !h->answered[i] &&
		    strcmp(r->state, "accepted") && strcmp(r->state, "started")) {
			h->answered[i] = true;
			h->answers++;
		}
}

/* Show the receipts for the alert for up to --wait seconds, or until every
 * node that held it answered. \retval the number of receipts shown */
static size_t cancel_watch(struct cancel_run *c)
{
	size_t seen = 0;

	for (int64_t end = cx_mono_us() + (int64_t)c->wait_s * 1000000; !c->stop;) {
		struct pollfd pfd[2] = {
			{ .fd = mq_fd(c->mq), .events = POLLIN },
			{ .fd = c->sfd, .events = POLLIN },
		};
		struct alert_watch_rcpt r;
		struct mq_event ev;
		int64_t t = cx_mono_us(), timeout = (end - t + 999) / 1000;

		while (mq_next(c->mq, &ev) == 1) {
			if (alert_watch_receipt(c->keys, &ev, c->ref, &r)) {
				printf("  %-12s %s%s%s%s\n", r.node, r.state, *r.reason ? " (" : "",
				       r.reason, *r.reason ? ")" : "");
				seen++;
				cancel_answer(&c->h, &r);
				fflush(stdout);
			}
			mq_event_clear(&ev);
		}
		if (t >= end || (c->h.n && c->h.answers == c->h.n))
			break;
		if (poll(pfd, 2, timeout > 250 ? 250 : (int)timeout) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			c->stop = alerting_signalled(c->sfd);
	}
	return seen;
}

static void cancel_summary(const struct cancel_run *c, size_t seen)
{
	const struct holders *h = &c->h;

	printf("%zu receipt%s for %s", seen, seen == 1 ? "" : "s", c->ref);
	if (h->n)
		printf("; %zu of the %zu node%s that held it answered", h->answers, h->n,
		       h->n == 1 ? "" : "s");
	printf("\n");
	for (size_t i = 0; i < h->n; i++)
		if (!h->answered[i])
			printf("  %-12s no answer yet (it drops the alert when the cancel reaches it)\n",
			       h->id[i]);
}

static void cancel_run_free(struct cancel_run *c)
{
	if (c->mq) {
		mq_flush(c->mq, 2000);
		mq_free(c->mq);
	}
	if (c->sfd >= 0)
		close(c->sfd);
	pub_wipe(&c->pub);
	keyring_free(c->keys);
	free(c->h.id);
	free(c->h.answered);
	store_close(c->st);
	free(c->dbpath);
	cconf_free(c->cf);
	diag_free(c->d);
}

int cmd_cancel(int argc, char **argv)
{
	struct cancel_run c = { .config = "/etc/cunxiang/controller.yaml", .wait_s = 5, .sfd = -1 };
	int rc = CX_EXIT_USER, r;
	size_t seen;

	r = cancel_args(argc, argv, &c.config, &c.wait_s, &c.ref);
	if (r != 0)
		return r > 0 ? CX_EXIT_OK : CX_EXIT_USAGE;
	c.fa.id = c.ref;
	c.sfd = alerting_signals_fd();
	if (cancel_lookup(&c) < 0 || cancel_send(&c) < 0)
		goto out;
	printf("cancel of alert %s (\"%s\") sent", c.ref, c.fa.title);
	if (c.h.n)
		printf("; by the stored receipts %zu node%s held it", c.h.n, c.h.n == 1 ? "" : "s");
	printf("\n");
	fflush(stdout);
	rc = CX_EXIT_OK;
	seen = cancel_watch(&c);
	if (c.wait_s > 0)
		cancel_summary(&c, seen);
out:
	cancel_run_free(&c);
	return rc;
}
