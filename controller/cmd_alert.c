/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_alert.c -- `cunxiang alert` and `cunxiang cancel`: an alert on the air now, and who heard it */
#define _GNU_SOURCE /* memmem */
#include "config.h"

#include "alert.h"
#include "cconf.h"
#include "commands.h"
#include "cxtime.h"
#include "diag.h"
#include "encode.h"
#include "fileio.h"
#include "hash.h"
#include "human.h"
#include "keyring.h"
#include "mq.h"
#include "pub.h"
#include "report/query.h"
#include "schedule.h"
#include "store.h"
#include "tts.h"
#include "wire.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
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
#define MAX_ASSET_BYTES  (64u << 20)
#define ALERT_ID_LEN     64

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

/* \retval 0 run / 1 done (help, version) / -1 usage error (said why) */
static int alert_args(int argc, char **argv, struct alert_opts *o)
{
	enum { O_TEXT = 256, O_VOICE, O_AUDIO, O_TITLE, O_REPEAT, O_VOLUME, O_EXPIRES, O_WAIT,
	       O_DRILL, O_TEST, O_VOICES, O_VERSION };
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
		case 'l':
			if (!parse_int(optarg, 1, 4, &o->level)) {
				fprintf(stderr, "cunxiang alert: --level must be 1..4, not '%s'\n", optarg);
				return -1;
			}
			break;
		case O_REPEAT:
			if (!parse_int(optarg, 1, 10, &o->repeat)) {
				fprintf(stderr, "cunxiang alert: --repeat must be 1..10, not '%s'\n", optarg);
				return -1;
			}
			break;
		case O_VOLUME:
			if (!parse_int(optarg, 1, 100, &o->volume)) {
				fprintf(stderr, "cunxiang alert: --volume must be 1..100, not '%s'\n", optarg);
				return -1;
			}
			break;
		case O_WAIT:
			if (!parse_int(optarg, 0, MAX_WAIT_S, &o->wait_s)) {
				fprintf(stderr, "cunxiang alert: --wait must be 0..%d seconds, not '%s'\n",
					MAX_WAIT_S, optarg);
				return -1;
			}
			break;
		case O_EXPIRES:
			if (cx_parse_duration(optarg, &o->expires_ms) < 0 || o->expires_ms <= 0 ||
			    o->expires_ms > MAX_EXPIRES_MS) {
				fprintf(stderr, "cunxiang alert: --expires must be a duration such as 90s, 30m "
					"or 2h, at most 168h, not '%s'\n", optarg);
				return -1;
			}
			break;
		case 'a':
			if (!digits(optarg, 1, 12) || o->nareas == MAX_TARGETS) {
				fprintf(stderr, "cunxiang alert: --area needs an administrative-code prefix "
					"(1..12 digits), not '%s'\n", optarg);
				return -1;
			}
			o->areas[o->nareas++] = optarg;
			break;
		case 't':
			if (!tag_ok(optarg) || o->ntags == MAX_TARGETS) {
				fprintf(stderr, "cunxiang alert: bad tag '%s' (1..64 bytes, no space or comma)\n",
					optarg);
				return -1;
			}
			o->tags[o->ntags++] = optarg;
			break;
		case 'n':
			if (!node_id_ok(optarg) || o->nnodes == MAX_TARGETS) {
				fprintf(stderr, "cunxiang alert: bad node id '%s' (want [a-z0-9-]{1,32})\n",
					optarg);
				return -1;
			}
			o->nodes[o->nnodes++] = optarg;
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

/* ---- the fleet and the targets ---- */

/* A targeted node: what the fleet says, and what the alert has heard. */
struct tnode {
	const char *id;
	const char *village_code, *village_name;      /* "" when unknown */
	const struct store_node *sn;                  /* NULL: the store does not know it */
	bool in_fleet;                                /* fleet.yaml or the stored fleet */
	/* receipts for the alert */
	bool accepted, started;
	char state[16];                               /* last receipt state, "" none */
	char reason[STORE_REASON_MAX + 1];
	int64_t started_ms;                           /* node clock, STORE_NONE unknown */
	int64_t seen_us;                              /* when we learnt it started */
	/* the broker's (retained or fresh) status */
	bool bstatus;
	char bstate[16];
	int64_t bspool, brejected0, brejected;
};

struct fleet {
	struct schedule *sch;
	struct store_node *sn;
	size_t nsn;
	struct tnode *t;
	size_t n;
};

static int store_node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_node *)a)->id, ((const struct store_node *)b)->id);
}

/* F->sn is sorted by id. */
static const struct store_node *store_find(const struct fleet *f, const char *id)
{
	struct store_node key;

	if (!f->nsn || strlen(id) > STORE_ID_MAX)
		return NULL;
	snprintf(key.id, sizeof(key.id), "%s", id);
	return bsearch(&key, f->sn, f->nsn, sizeof(*f->sn), store_node_cmp);
}

static bool prefix_of(const char *prefix, const char *code)
{
	return !strncmp(code, prefix, strlen(prefix));
}

static bool area_match(const struct alert_opts *o, const char *code)
{
	for (size_t i = 0; i < o->nareas; i++)
		if (prefix_of(o->areas[i], code))
			return true;
	return false;
}

static bool tag_match(const struct alert_opts *o, const struct schedule_node *sn)
{
	for (size_t i = 0; sn && i < o->ntags; i++)
		for (size_t k = 0; k < sn->ntags; k++)
			if (!strcmp(o->tags[i], sn->tags[k]))
				return true;
	return false;
}

static bool node_named(const struct alert_opts *o, const char *id)
{
	for (size_t i = 0; i < o->nnodes; i++)
		if (!strcmp(o->nodes[i], id))
			return true;
	return false;
}

static int tnode_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tnode *)a)->id, ((const struct tnode *)b)->id);
}

static struct tnode *tnode_find(struct fleet *f, const char *id)
{
	struct tnode key = { .id = id };

	return f->n ? bsearch(&key, f->t, f->n, sizeof(*f->t), tnode_cmp) : NULL;
}

static void tnode_add(struct fleet *f, const char *id, const char *code, const char *name,
		      bool in_fleet)
{
	f->t[f->n++] = (struct tnode){ .id = id, .village_code = code, .village_name = name,
		.sn = store_find(f, id), .in_fleet = in_fleet, .started_ms = STORE_NONE,
		.bspool = STORE_NONE };
}

/* The union DESIGN's targets describe, over every node fleet.yaml lists and
 * every node the store holds as in the fleet (serve's last snapshot: the
 * fleet on the air when fleet.yaml has changed since, or has errors). Tags
 * are known from fleet.yaml only. --node may also name a node outside both
 * (it is warned about, and counted). \retval 0 / -ENOMEM */
static int resolve_targets(struct fleet *f, const struct alert_opts *o)
{
	size_t nsch = f->sch ? schedule_node_count(f->sch) : 0;

	f->t = calloc(nsch + f->nsn + o->nnodes + 1, sizeof(*f->t));
	if (!f->t)
		return -ENOMEM;
	for (size_t i = 0; i < nsch; i++) {
		const struct schedule_node *sn = schedule_node(f->sch, i);

		if (area_match(o, sn->village_code) || tag_match(o, sn) || node_named(o, sn->id))
			tnode_add(f, sn->id, sn->village_code, sn->village_name, true);
	}
	for (size_t i = 0; i < f->nsn; i++) {
		const struct store_node *sn = &f->sn[i];

		if (f->sch && schedule_node_find(f->sch, sn->id) >= 0)
			continue;
		if ((sn->in_fleet && area_match(o, sn->village_code)) || node_named(o, sn->id))
			tnode_add(f, sn->id, sn->village_code, sn->village_name, sn->in_fleet);
	}
	for (size_t i = 0; i < o->nnodes; i++) {
		bool known = store_find(f, o->nodes[i]) ||
			     (f->sch && schedule_node_find(f->sch, o->nodes[i]) >= 0);
		bool dup = false;

		for (size_t k = 0; k < f->n && !dup; k++)
			dup = !strcmp(f->t[k].id, o->nodes[i]);
		if (!known && !dup) {
			fprintf(stderr, "cunxiang alert: warning: node %s is not in the fleet and was "
				"never heard from; targeting it anyway\n", o->nodes[i]);
			tnode_add(f, o->nodes[i], "", "", false);
		}
	}
	if (f->n)
		qsort(f->t, f->n, sizeof(*f->t), tnode_cmp);
	return 0;
}

/* A target that reaches nobody is most likely a typo. */
static void warn_unmatched(const struct fleet *f, const struct alert_opts *o)
{
	size_t nsch = f->sch ? schedule_node_count(f->sch) : 0;

	for (size_t i = 0; i < o->nareas; i++) {
		bool hit = false;

		for (size_t k = 0; k < f->n && !hit; k++)
			hit = prefix_of(o->areas[i], f->t[k].village_code);
		if (!hit)
			fprintf(stderr, "cunxiang alert: warning: --area %s matches no node of the fleet\n",
				o->areas[i]);
	}
	for (size_t i = 0; i < o->ntags; i++) {
		bool hit = false;

		for (size_t k = 0; f->sch && k < nsch && !hit; k++) {
			const struct schedule_node *sn = schedule_node(f->sch, k);

			for (size_t j = 0; j < sn->ntags && !hit; j++)
				hit = !strcmp(sn->tags[j], o->tags[i]);
		}
		if (!hit)
			fprintf(stderr, "cunxiang alert: warning: no node of fleet.yaml has tag %s\n",
				o->tags[i]);
	}
}

/* ---- audio ---- */

struct asset {
	char sha[CX_SHA256_HEX];
	int64_t duration_ms, size;
	char *path;
};

/* Render the alert's audio into DATA_DIR/assets: the voice's chime (if the
 * profile has one) and the speech, or the recording. \retval 0 / -errno
 * (said why) */
static int render(const struct alert_opts *o, const struct cconf *cf, const char *assets_dir,
		  const char *cache_dir, struct asset a[2], size_t *na)
{
	char err[600] = "", *vdir = NULL;
	struct voice *v = NULL;
	struct diag *d = NULL;
	int r = -EINVAL;

	*na = 0;
	if (o->audio) {
		r = enc_file_asset(o->audio, ENC_DEFAULT_BITRATE, assets_dir, cache_dir, a[0].sha,
				   &a[0].duration_ms, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "cunxiang alert: cannot use %s: %s\n", o->audio,
				*err ? err : strerror(-r));
			return r;
		}
		*na = 1;
		goto paths;
	}
	vdir = voices_dir_find(o->voices, cf->voices, cf->schedules);
	if (!vdir) {
		fprintf(stderr, "cunxiang alert: no voices directory found; set voices: in %s or "
			"use --voices DIR\n", cf->path);
		return -ENOENT;
	}
	d = diag_new();
	v = d ? voice_load(vdir, o->voice, d) : NULL;
	if (!v) {
		if (d)
			diag_print(d, stderr);
		fprintf(stderr, "cunxiang alert: cannot load voice '%s' from %s\n", o->voice, vdir);
		goto out;
	}
	if (voice_chime(v)) {
		r = enc_file_asset(voice_chime(v), ENC_DEFAULT_BITRATE, assets_dir, cache_dir,
				   a[0].sha, &a[0].duration_ms, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "cunxiang alert: cannot use the chime of voice '%s': %s\n",
				o->voice, *err ? err : strerror(-r));
			goto out;
		}
		(*na)++;
	}
	r = tts_asset(v, o->text, assets_dir, cache_dir, a[*na].sha, &a[*na].duration_ms, err,
		      sizeof(err));
	if (r < 0) {
		fprintf(stderr, "cunxiang alert: cannot speak the text: %s\n",
			*err ? err : strerror(-r));
		goto out;
	}
	(*na)++;
paths:
	for (size_t i = 0; i < *na; i++) {
		char name[CX_SHA256_HEX + 8];
		struct stat st;

		snprintf(name, sizeof(name), "%.64s.opus", a[i].sha);
		a[i].path = fio_join(assets_dir, name);
		if (!a[i].path || stat(a[i].path, &st) < 0) {
			r = a[i].path ? -errno : -ENOMEM;
			fprintf(stderr, "cunxiang alert: asset %s: %s\n", name, strerror(-r));
			goto out;
		}
		a[i].size = (int64_t)st.st_size;
	}
	r = 0;
out:
	voice_free(v);
	diag_free(d);
	free(vdir);
	return r;
}

/* ---- the id ---- */

struct id_scan {
	const char *prefix;
	size_t plen;
	int max;
};

static int id_scan_fn(const struct store_alert *a, int64_t cancelled_ms, void *ud)
{
	struct id_scan *s = ud;
	int k;

	(void)cancelled_ms;
	if (!strncmp(a->id, s->prefix, s->plen) && parse_int(a->id + s->plen, 1, 9999, &k) &&
	    strlen(a->id + s->plen) == 4 && k > s->max)
		s->max = k;
	return 0;
}

/* Record A under the next id of the township's day, AREA-YYYYMMDD-NNNN:
 * one more than the highest stored for that day, and on -EEXIST (another
 * operator took it meanwhile) the one after. \retval 0 / -errno (said why) */
static int record_alert(struct store *st, const char *area, struct store_alert *a,
			char id[ALERT_ID_LEN], const char *const *nodes, size_t nnodes)
{
	char prefix[ALERT_ID_LEN];
	struct id_scan s;
	struct tm tm;
	int64_t day, from = 0, to = 0;
	int y, m, dd, r;

	cx_tz_ms_to_civil(a->issued_ms, &tm);
	snprintf(prefix, sizeof(prefix), "%s-%04d%02d%02d-", area, tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday);
	s = (struct id_scan){ .prefix = prefix, .plen = strlen(prefix) };
	/* Alerts issued around that day: the id's date is the issuing day, a
	 * margin covers clock steps and zone changes. */
	day = cx_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	cx_civil_from_days(day - 2, &y, &m, &dd);
	cx_tz_civil_to_ms(y, m, dd, 0, 0, &from);
	cx_civil_from_days(day + 3, &y, &m, &dd);
	cx_tz_civil_to_ms(y, m, dd, 0, 0, &to);
	r = rq_alerts(st, from, to, id_scan_fn, &s);
	if (r < 0) {
		fprintf(stderr, "cunxiang alert: cannot read the alerts: %s\n", store_errmsg(st));
		return r;
	}
	for (int k = s.max + 1; k <= 9999; k++) {
		snprintf(id, ALERT_ID_LEN, "%s%04d", prefix, k);
		a->id = id;
		r = store_alert_add(st, a, nodes, nnodes);
		if (r != -EEXIST) {
			if (r < 0)
				fprintf(stderr, "cunxiang alert: cannot record the alert: %s\n",
					store_errmsg(st));
			return r;
		}
	}
	fprintf(stderr, "cunxiang alert: no alert id left for today (%s9999 is taken)\n", prefix);
	return -ENOSPC;
}

/* ---- time, for people ---- */

/* "HH:MM:SS" today, else "YYYY-MM-DD HH:MM:SS", in the township's zone. */
static void clock_text(int64_t ms, char *out, size_t size)
{
	struct tm tm, now;

	cx_tz_ms_to_civil(ms, &tm);
	cx_tz_ms_to_civil(cx_now_ms(), &now);
	if (tm.tm_year == now.tm_year && tm.tm_yday == now.tm_yday)
		snprintf(out, size, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- MQTT ---- */

static const char *const watch_subs[] = { "cx/v1/receipt/+", "cx/v1/status/+" };

/* Block SIGINT and SIGTERM in this thread (and so in the MQTT thread it
 * starts) and read them from a signalfd instead. */
static int signals_fd(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

static bool signalled(int sfd)
{
	struct signalfd_siginfo si;

	return sfd >= 0 && read(sfd, &si, sizeof(si)) == sizeof(si);
}

/* A clean session of our own: the alert only watches, serve keeps acking. */
static struct mq *connect_broker(const struct cconf *cf, const char *cmd, int sfd, bool *stop)
{
	char cid[64];
	struct mq *mq;
	struct mq_cfg mc = {
		.client_id = cid, .host = cf->host, .port = cf->port, .tls = cf->tls,
		.ca_file = cf->ca_file, .username = cf->username, .password = cf->password,
		.clean_start = true, .keepalive_s = 30, .subs = watch_subs, .nsubs = 2,
		/* QoS 0: the watch only shows progress, and what passes it by
		 * it reads from the store each second; no PUBACK per receipt. */
		.sub_qos = 0,
	};

	snprintf(cid, sizeof(cid), "cx-%s-%ld", cmd, (long)getpid());
	mq = mq_new(&mc);
	if (!mq) {
		fprintf(stderr, "cunxiang %s: cannot start the MQTT session: %s\n", cmd, strerror(errno));
		return NULL;
	}
	for (int64_t end = cx_mono_us() + CONNECT_MS * 1000LL; !mq_connected(mq);) {
		if (signalled(sfd)) {
			*stop = true;
			break;
		}
		if (cx_mono_us() >= end) {
			fprintf(stderr, "cunxiang %s: cannot reach the broker %s; nothing was sent\n",
				cmd, cf->broker);
			mq_free(mq);
			return NULL;
		}
		mq_wait_connected(mq, 100);
	}
	return mq;
}

/* What a node sent is shown on the operator's terminal: no control
 * characters (escape sequences) get through. */
static void clean_text(char *s)
{
	for (unsigned char *c = (unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			*c = '?';
}

/* The node id in "cx/v1/KIND/NODE", or NULL. */
static const char *topic_node(const char *topic, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(topic, prefix, n) || !node_id_ok(topic + n))
		return NULL;
	return topic + n;
}

/* A receipt for alert ID that NODE signed with its enrolled key: its
 * state, reason, started_ms. Anything else (unsigned, another key, another
 * alert) is not one. \retval true when it is one */
static bool receipt_for(struct keyring *keys, const struct mq_event *ev, const char *id,
			char state[16], char *reason, size_t rlen, int64_t *started_ms)
{
	struct receipt rc;
	char quoted[ALERT_ID_MAX + 3];
	int n = snprintf(quoted, sizeof(quoted), "\"%s\"", id);

	/* A receipt that does not even name ID is another's: no need to
	 * check its signature (the store, read each second, has the rest). */
	if (n < 0 || (size_t)n >= sizeof(quoted) || !memmem(ev->payload, ev->len, quoted, (size_t)n))
		return false;
	if (keyring_receipt(keys, ev->topic, ev->payload, ev->len, cx_now_ms(), &rc) < 0 ||
	    rc.state == RECEIPT_LOST || strcmp(rc.occ, id))
		return false;
	snprintf(state, 16, "%s", receipt_state_name(rc.state));
	snprintf(reason, rlen, "%s", rc.reason);
	*started_ms = rc.started_ms == WIRE_NONE ? STORE_NONE : rc.started_ms;
	clean_text(reason);
	return true;
}

/* ---- watching the alert ---- */

struct watch {
	struct fleet *f;
	struct keyring *keys;      /* what counts is what a pole signed */
	const char *id;
	int64_t issued_ms;
	int64_t t0_us;             /* monotonic, when the alert was sent */
	size_t accepted, started, failed, unreached;
	bool tty, changed;
	char last[STORE_REASON_MAX + 64]; /* the latest event, for the progress line */
	int64_t shown_left_s;      /* the countdown on the tty line */
};

static bool started_state(const char *s)
{
	return !strcmp(s, "started") || !strcmp(s, "completed");
}

static bool failed_state(const char *s)
{
	return !strcmp(s, "failed") || !strcmp(s, "skipped") || !strcmp(s, "expired");
}

/* How far along a receipt state is: the same receipts come from the broker
 * and, later, from the store, and resent ones may come out of order. */
static int state_rank(const char *s)
{
	return !*s ? 0 : !strcmp(s, "accepted") ? 1 : !strcmp(s, "started") ? 2 : 3;
}

/* Add node T to the counts, or take it out of them (ADD false). */
static void tally(struct watch *w, const struct tnode *t, bool add)
{
	size_t d[4] = { t->accepted, t->started, !t->started && failed_state(t->state),
			!*t->state };

	if (add) {
		w->accepted += d[0];
		w->started += d[1];
		w->failed += d[2];
		w->unreached += d[3];
	} else {
		w->accepted -= d[0];
		w->started -= d[1];
		w->failed -= d[2];
		w->unreached -= d[3];
	}
}

static void recount(struct watch *w)
{
	w->accepted = w->started = w->failed = w->unreached = 0;
	for (size_t i = 0; i < w->f->n; i++)
		tally(w, &w->f->t[i], true);
}

/* Take a receipt STATE of node T (from the broker or the store). */
static void take_state(struct watch *w, struct tnode *t, const char *state, const char *reason,
		       int64_t started_ms)
{
	if (!reason)
		reason = "";
	if (state_rank(state) < state_rank(t->state) ||
	    (!strcmp(t->state, state) && !strcmp(t->reason, reason)))
		return;
	tally(w, t, false);
	if (!t->started && (started_state(state) ||
			    (!strcmp(state, "interrupted") && started_ms != STORE_NONE))) {
		t->started = true;
		t->started_ms = started_ms;
		t->seen_us = cx_mono_us();
	}
	if (!failed_state(state))
		t->accepted = true;
	snprintf(t->state, sizeof(t->state), "%s", state);
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
	clean_text(t->state);
	clean_text(t->reason);
	snprintf(w->last, sizeof(w->last), "%s %s%s%s", t->id, t->state, *t->reason ? ": " : "",
		 t->reason);
	w->changed = true;
	tally(w, t, true);
}

static void take_status(struct watch *w, struct tnode *t, const struct mq_event *ev)
{
	struct status st;

	if (ev->len == 0 ||
	    keyring_status(w->keys, ev->topic, ev->payload, ev->len, cx_now_ms(), &st) < 0)
		return;
	snprintf(t->bstate, sizeof(t->bstate), "%s", status_state_name(st.state));
	if (st.spool != WIRE_NONE)
		t->bspool = st.spool;
	if (st.rejected != WIRE_NONE) {
		t->brejected = st.rejected;
		if (!t->bstatus)
			t->brejected0 = t->brejected;
	}
	t->bstatus = true;
}

static void on_event(struct watch *w, const struct mq_event *ev)
{
	const char *node;
	struct tnode *t;

	if ((node = topic_node(ev->topic, "cx/v1/receipt/")) && (t = tnode_find(w->f, node))) {
		char state[16], reason[STORE_REASON_MAX + 1];
		int64_t started_ms;

		if (receipt_for(w->keys, ev, w->id, state, reason, sizeof(reason), &started_ms))
			take_state(w, t, state, reason, started_ms);
	} else if ((node = topic_node(ev->topic, "cx/v1/status/")) && (t = tnode_find(w->f, node))) {
		take_status(w, t, ev);
	}
}

static int store_rcpt_fn(const char *node, bool targeted, const struct store_rcpt *r, size_t n,
			 void *ud)
{
	struct watch *w = ud;
	struct tnode *t = tnode_find(w->f, node);

	(void)targeted;
	for (size_t i = 0; t && i < n; i++)
		take_state(w, t, r[i].state, r[i].reason, r[i].started_ms);
	return 0;
}

/* Cut LINE to the terminal's width, so that \r returns to its start. It is
 * ASCII but for what a node sent; a UTF-8 sequence is not split. */
static void fit_terminal(char *line)
{
	struct winsize ws;
	size_t n = strlen(line), max;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col < 2)
		return;
	max = (size_t)ws.ws_col - 1;
	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)line[max] & 0xc0) == 0x80)
		max--;
	line[max] = '\0';
}

static void progress(struct watch *w, int64_t left_ms)
{
	size_t n = w->f->n;
	char line[400];
	int len;

	len = snprintf(line, sizeof(line), "accepted %zu/%zu, started %zu/%zu, not reached %zu",
		       w->accepted, n, w->started, n, w->unreached);
	if (w->failed)
		len += snprintf(line + len, sizeof(line) - (size_t)len, ", failed %zu", w->failed);
	if (w->tty) {
		w->shown_left_s = (left_ms + 999) / 1000;
		if (left_ms >= 0)
			len += snprintf(line + len, sizeof(line) - (size_t)len, "  (%" PRId64 " s left)",
					w->shown_left_s);
		if (*w->last)
			snprintf(line + len, sizeof(line) - (size_t)len, "  last: %s", w->last);
		fit_terminal(line);
		printf("\r\033[K%s", line);
	} else {
		double t = (double)(cx_mono_us() - w->t0_us) / 1e6;

		if (*w->last)
			printf("%+7.1fs  %-40s %s\n", t, w->last, line);
		else
			printf("%+7.1fs  %s\n", t, line);
	}
	fflush(stdout);
	w->changed = false;
}

/* One line about a node that did not start: what it said, and what the
 * store and the broker last knew of it. */
static void not_started_line(const struct tnode *t, int64_t now)
{
	const struct store_node *sn = t->sn;
	const char *state = t->bstatus ? t->bstate : sn && sn->has_status ? sn->state : NULL;
	int64_t spool = t->bstatus && t->bspool != STORE_NONE ? t->bspool : sn ? sn->spool : STORE_NONE;
	char what[STORE_REASON_MAX + 64], when[64], rel[32];

	if (!*t->state)
		snprintf(what, sizeof(what), "no receipt");
	else if (!strcmp(t->state, "accepted"))
		snprintf(what, sizeof(what), "accepted, not started");
	else
		snprintf(what, sizeof(what), "%s%s%s", t->state, *t->reason ? ": " : "", t->reason);
	printf("  %-12s %s  %s; ", t->id, t->village_name && *t->village_name ? t->village_name :
	       t->in_fleet ? "-" : "(not in fleet)", what);
	if (!state) {
		printf("never seen");
	} else if (!strcmp(state, "offline")) {
		/* The store knows since when; a broker status alone does not say. */
		if (sn && sn->has_status && !strcmp(sn->state, "offline") && sn->status_ms != STORE_NONE) {
			clock_text(sn->status_ms, when, sizeof(when));
			human_ago(now - sn->status_ms, rel, sizeof(rel));
			printf("offline since %s (%s)", when, rel);
		} else {
			printf("offline");
		}
	} else {
		printf("%s", state);
		if (sn && sn->last_seen_ms != STORE_NONE) {
			human_ago(now - sn->last_seen_ms, rel, sizeof(rel));
			printf(", last seen %s", rel);
		}
	}
	if (spool != STORE_NONE)
		printf(", spool %" PRId64, spool);
	if (t->bstatus && t->brejected > t->brejected0)
		printf(", rejected %" PRId64 " message%s meanwhile (does it trust this key?)",
		       t->brejected - t->brejected0, t->brejected - t->brejected0 == 1 ? "" : "s");
	printf("\n");
}

static int delay_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void summary(struct watch *w, const char *config, int64_t expires_ms, bool interrupted)
{
	struct fleet *f = w->f;
	int64_t now = cx_now_ms(), *d = calloc(f->n + 1, sizeof(*d));
	size_t nd = 0, missing = f->n - w->started;
	char when[64];

	if (w->tty)
		printf("\n");
	for (size_t i = 0; d && i < f->n; i++)
		if (f->t[i].started)
			d[nd++] = f->t[i].started_ms != STORE_NONE ? f->t[i].started_ms - w->issued_ms
				: (f->t[i].seen_us - w->t0_us) / 1000;
	printf("started on %zu of %zu node%s", w->started, f->n, f->n == 1 ? "" : "s");
	if (nd) {
		qsort(d, nd, sizeof(*d), delay_cmp);
		printf(" (after %.1f s median, %.1f s at most)", (double)d[(nd - 1) / 2] / 1000.0,
		       (double)d[nd - 1] / 1000.0);
	}
	printf("\n");
	free(d);
	if (missing) {
		printf("not started on %zu node%s:\n", missing, missing == 1 ? "" : "s");
		for (size_t i = 0; i < f->n; i++)
			if (!f->t[i].started)
				not_started_line(&f->t[i], now);
	}
	clock_text(expires_ms, when, sizeof(when));
	if (interrupted || missing)
		printf("%sAlert %s stays on the air until %s: a node that receives it before "
		       "then still plays it.\nTo stop it: cunxiang cancel -c %s %s\n",
		       interrupted ? "Stopped watching. " : "", w->id, when, config, w->id);
	fflush(stdout);
}

/* Watch until every target started, WAIT_S passed, or a signal. Returns
 * true if interrupted. */
static bool watch_alert(struct watch *w, struct mq *mq, struct store *st, int sfd, int wait_s)
{
	int64_t end = w->t0_us + (int64_t)wait_s * 1000000, next_store = 0;
	bool stop = false;

	recount(w);
	progress(w, (int64_t)wait_s * 1000);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = mq_fd(mq), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		struct mq_event ev;
		int64_t now = cx_mono_us(), timeout;

		while (mq_next(mq, &ev) == 1) {
			if (ev.type == MQ_EV_MESSAGE)
				on_event(w, &ev);
			else if (ev.type == MQ_EV_DISCONNECTED)
				fprintf(stderr, "%scunxiang alert: broker connection lost: %s\n",
					w->tty ? "\r\033[K" : "", ev.reason);
			mq_event_clear(&ev);
		}
		/* What serve stored covers receipts that passed us by. */
		if (now >= next_store) {
			rq_alert_receipts(st, w->id, store_rcpt_fn, w);
			next_store = now + 1000000;
		}
		if (w->changed || (w->tty && now < end && (end - now + 999999) / 1000000 != w->shown_left_s))
			progress(w, (end - now) / 1000);
		if (w->started == w->f->n || now >= end || stop)
			break;
		timeout = (end - now + 999) / 1000;
		if (timeout > 250)
			timeout = 250;
		if (poll(pfd, 2, (int)timeout) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			stop = signalled(sfd);
	}
	if (w->changed)
		progress(w, -1);
	return stop;
}

/* ---- `cunxiang alert` ---- */

/* Publish the assets (retained, QoS 1) and wait for the broker to hold
 * them, so a node that subscribes when the alert arrives finds them. */
static int publish_assets(struct pub *pub, struct mq *mq, struct store *st, struct asset *a,
			  size_t na, int64_t now)
{
	int r = 0;

	for (size_t i = 0; i < na && r == 0; i++) {
		char topic[96];

		/* serve clears retained assets no one referenced for 30 days. */
		if (store_asset_ref(st, a[i].sha, a[i].size, now) < 0)
			fprintf(stderr, "cunxiang alert: warning: cannot record asset %.12s: %s\n",
				a[i].sha, store_errmsg(st));
		snprintf(topic, sizeof(topic), "cx/v1/asset/%.64s", a[i].sha);
		r = pub_file(pub, topic, a[i].path, MAX_ASSET_BYTES);
	}
	if (r == 0)
		r = mq_flush(mq, FLUSH_MS);
	for (size_t i = 0; i < na && r == 0; i++)
		store_asset_set_published(st, a[i].sha, true);
	return r;
}

int cmd_alert(int argc, char **argv)
{
	struct alert_opts o = { .config = "/etc/cunxiang/controller.yaml",
				.title = "应急广播", .klass = "actual", .repeat = 1, .volume = 100,
				.wait_s = 10, .expires_ms = DEFAULT_EXPIRES_MS };
	struct fleet f = { 0 };
	struct asset assets[2] = { 0 };
	struct store_alert sa;
	struct watch w = { 0 };
	struct keyring *keys = NULL;
	struct alert *msg = NULL;
	char *signed_msg = NULL;
	size_t signed_len;
	struct pub pub = { 0 };
	struct cconf *cf = NULL;
	struct diag *d = NULL;
	struct store *st = NULL;
	struct mq *mq = NULL;
	const char **ids = NULL, *area;
	char err[600], id[ALERT_ID_LEN] = "", *dbpath = NULL, *assets_dir = NULL, *cache_dir = NULL;
	char *tj = NULL;
	json_t *targets = NULL;
	char (*shas)[65] = NULL;
	int64_t now, duration_ms = 0;
	size_t na = 0;
	int rc = CX_EXIT_USER, sfd = -1, r;
	bool stop = false;

	r = alert_args(argc, argv, &o);
	if (r != 0)
		return r > 0 ? CX_EXIT_OK : CX_EXIT_USAGE;

	/* Before any thread starts (the renderer's, the MQTT session's), so
	 * that all of them leave SIGINT and SIGTERM to the signalfd. */
	sfd = signals_fd();
	if (!(d = diag_new()))
		goto oom;
	if (!(cf = cconf_load(o.config, d))) {
		diag_print(d, stderr);
		goto out;
	}
	/* The fleet: only fleet.yaml matters here, so a broken broadcast
	 * file must not stop an emergency. */
	f.sch = schedule_load(cf->schedules, d);
	area = f.sch ? schedule_township(f.sch)->area_code : NULL;
	if (!area) {
		diag_print(d, stderr);
		fprintf(stderr, "cunxiang alert: cannot read the township's area_code from %s/fleet.yaml\n",
			cf->schedules);
		goto out;
	}
	if (diag_errors(d))
		fprintf(stderr, "cunxiang alert: warning: %zu error%s in %s (`cunxiang check` shows "
			"them); the fleet is usable\n", diag_errors(d), diag_errors(d) == 1 ? "" : "s",
			cf->schedules);
	/* The alert's id carries the township's date. */
	if ((r = cx_tz_set(schedule_township(f.sch)->timezone)) < 0) {
		fprintf(stderr, "cunxiang alert: cannot select the time zone %s: %s\n",
			schedule_township(f.sch)->timezone, strerror(-r));
		goto out;
	}
	assets_dir = fio_join(cf->data_dir, "assets");
	cache_dir = fio_join(cf->data_dir, "cache");
	dbpath = fio_join(cf->data_dir, STORE_FILE);
	if (!assets_dir || !cache_dir || !dbpath)
		goto oom;
	if ((r = fio_mkdir_p(assets_dir, 0755)) < 0 || (r = fio_mkdir_p(cache_dir, 0755)) < 0) {
		fprintf(stderr, "cunxiang alert: cannot create %s: %s\n", cf->data_dir, strerror(-r));
		goto out;
	}
	if (!(st = store_open(dbpath, 0, err, sizeof(err)))) {
		fprintf(stderr, "cunxiang alert: %s\n", err);
		goto out;
	}
	if (rq_nodes(st, &f.sn, &f.nsn) < 0) {
		fprintf(stderr, "cunxiang alert: cannot read %s: %s\n", dbpath, store_errmsg(st));
		goto out;
	}
	if (f.nsn)
		qsort(f.sn, f.nsn, sizeof(*f.sn), store_node_cmp);
	if (!(keys = keyring_new(st))) {
		fprintf(stderr, "cunxiang alert: cannot read the enrolled node keys: %s\n",
			store_errmsg(st));
		goto out;
	}
	if (resolve_targets(&f, &o) < 0)
		goto oom;
	if (!f.n) {
		fprintf(stderr, "cunxiang alert: the targets name no node of the fleet (%zu node%s in "
			"%s/fleet.yaml); nothing was sent\n", schedule_node_count(f.sch),
			schedule_node_count(f.sch) == 1 ? "" : "s", cf->schedules);
		goto out;
	}
	warn_unmatched(&f, &o);
	if (pub_init(&pub, cf->signing_key, err, sizeof(err)) < 0) {
		fprintf(stderr, "cunxiang alert: %s\n", err);
		goto out;
	}
	if (render(&o, cf, assets_dir, cache_dir, assets, &na) < 0)
		goto out;
	for (size_t i = 0; i < na; i++)
		duration_ms += assets[i].duration_ms;

	stop = signalled(sfd);
	if (!stop && !(mq = connect_broker(cf, "alert", sfd, &stop)))
		goto out;
	if (stop) {
		fprintf(stderr, "cunxiang alert: interrupted; nothing was sent\n");
		goto out;
	}
	pub.mq = mq;

	/* Recorded before it is published, so that no receipt for it is ever
	 * an unknown occurrence. */
	if (!(msg = calloc(1, sizeof(*msg))))
		goto oom;
	r = alert_set_targets(msg, o.areas, o.nareas, o.tags, o.ntags, o.nodes, o.nnodes);
	if (r == -ENOMEM)
		goto oom;
	if (r < 0) {
		fprintf(stderr, "cunxiang alert: the targets do not fit an alert message\n");
		goto out;
	}
	if (!(targets = alert_targets_json(msg)) ||
	    !(tj = json_dumps(targets, JSON_COMPACT | JSON_PRESERVE_ORDER)) ||
	    !(ids = calloc(f.n, sizeof(*ids))))
		goto oom;
	for (size_t i = 0; i < f.n; i++)
		ids[i] = f.t[i].id;
	now = cx_now_ms();
	sa = (struct store_alert){ .level = o.level, .alert_class = o.klass, .issued_ms = now,
		.start_ms = now, .expires_ms = now + o.expires_ms, .title = o.title,
		.targets_json = tj, .live = NULL };
	if (record_alert(st, area, &sa, id, ids, f.n) < 0)
		goto out;

	r = publish_assets(&pub, mq, st, assets, na, now);
	if (r < 0) {
		/* Certainly not on the air: keep the record truthful. */
		store_alert_cancel(st, id, cx_now_ms());
		fprintf(stderr, "cunxiang alert: cannot publish the audio of alert %s: %s; the alert "
			"was NOT sent (recorded as cancelled)\n", id, strerror(-r));
		goto out;
	}
	if (!(shas = calloc(na ? na : 1, sizeof(*shas))))
		goto oom;
	for (size_t i = 0; i < na; i++)
		memcpy(shas[i], assets[i].sha, sizeof(shas[i]));
	snprintf(msg->id, sizeof(msg->id), "%s", id);
	snprintf(msg->cls, sizeof(msg->cls), "%s", o.klass);
	snprintf(msg->title, sizeof(msg->title), "%s", o.title);
	msg->level = o.level;
	msg->issued_ms = msg->start_ms = now;
	msg->expires_ms = now + o.expires_ms;
	msg->duration_ms = duration_ms;
	msg->repeat = o.repeat;
	msg->volume = o.volume;
	if (alert_set_assets(msg, (const char (*)[65])shas, na) < 0)
		goto oom;
	r = alert_sign(msg, pub.sk, &signed_msg, &signed_len);
	if (r == 0) {
		char topic[WIRE_TOPIC_MAX];

		wire_topic(WIRE_T_ALERT, NULL, topic);
		r = mq_publish(mq, topic, signed_msg, signed_len, 1, false);
	}
	if (r == 0)
		r = mq_flush(mq, FLUSH_MS);
	if (r < 0) {
		fprintf(stderr, "cunxiang alert: alert %s: %s: the broker did not confirm it, so it "
			"may or may not reach the nodes; `cunxiang cancel -c %s %s` makes sure it does "
			"not\n", id, strerror(-r), o.config, id);
		goto out;
	}

	{
		char when[64];

		clock_text(now + o.expires_ms, when, sizeof(when));
		printf("alert %s sent: level %s, %s, \"%s\", %.1f s x %d, to %zu node%s; expires %s\n",
		       id, level_names[o.level], o.klass, o.title, (double)duration_ms / 1000.0,
		       o.repeat, f.n, f.n == 1 ? "" : "s", when);
		fflush(stdout);
	}
	w = (struct watch){ .f = &f, .keys = keys, .id = id, .issued_ms = now,
			    .t0_us = cx_mono_us(), .tty = isatty(STDOUT_FILENO) };
	stop = watch_alert(&w, mq, st, sfd, o.wait_s);
	summary(&w, o.config, now + o.expires_ms, stop);
	rc = w.started == f.n ? CX_EXIT_OK : CX_EXIT_NOT_STARTED;
	goto out;
oom:
	fprintf(stderr, "cunxiang alert: out of memory\n");
out:
	if (mq) {
		mq_flush(mq, 2000);
		mq_free(mq);
	}
	if (sfd >= 0)
		close(sfd);
	pub_wipe(&pub);
	alert_free(msg);
	free(signed_msg);
	free(shas);
	keyring_free(keys);
	json_decref(targets);
	free(tj);
	free(ids);
	for (size_t i = 0; i < na; i++)
		free(assets[i].path);
	free(f.t);
	free(f.sn);
	schedule_free(f.sch);
	store_close(st);
	free(dbpath);
	free(assets_dir);
	free(cache_dir);
	cconf_free(cf);
	diag_free(d);
	tts_shutdown();
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

int cmd_cancel(int argc, char **argv)
{
	enum { O_WAIT = 256, O_VERSION };
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "wait", required_argument, NULL, O_WAIT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	const char *config = "/etc/cunxiang/controller.yaml", *ref;
	struct find_alert fa = { 0 };
	struct holders h = { 0 };
	struct pub pub = { 0 };
	struct cconf *cf = NULL;
	struct diag *d = NULL;
	struct store *st = NULL;
	struct mq *mq = NULL;
	char err[600], *dbpath = NULL, *signed_msg = NULL, topic[WIRE_TOPIC_MAX];
	struct alert msg = { .cancel = true };
	struct keyring *keys = NULL;
	size_t signed_len;
	int c, wait_s = 5, rc = CX_EXIT_USER, sfd = -1, r;
	size_t seen = 0;
	bool stop = false;
	int64_t now;

	while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case O_WAIT:
			if (!parse_int(optarg, 0, MAX_WAIT_S, &wait_s)) {
				fprintf(stderr, "cunxiang cancel: --wait must be 0..%d seconds, not '%s'\n",
					MAX_WAIT_S, optarg);
				return CX_EXIT_USAGE;
			}
			break;
		case 'h': cancel_help(stdout); return CX_EXIT_OK;
		case O_VERSION: printf("cunxiang %s\n", CX_VERSION); return CX_EXIT_OK;
		default: cancel_help(stderr); return CX_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "cunxiang cancel: %s\n", optind == argc ? "which alert? give its id"
			: "give one alert id");
		return CX_EXIT_USAGE;
	}
	ref = argv[optind];
	fa.id = ref;

	sfd = signals_fd();
	if (!(d = diag_new()))
		goto oom;
	if (!(cf = cconf_load(config, d))) {
		diag_print(d, stderr);
		goto out;
	}
	/* Times are shown in the township's zone. */
	{
		char *zone = schedule_read_zone(cf->schedules);

		if (!zone || cx_tz_set(zone) < 0) {
			free(zone);
			goto oom;
		}
		free(zone);
	}
	if (!(dbpath = fio_join(cf->data_dir, STORE_FILE)))
		goto oom;
	if (!(st = store_open(dbpath, 0, err, sizeof(err)))) {
		fprintf(stderr, "cunxiang cancel: %s\n", err);
		goto out;
	}
	r = rq_alerts(st, INT64_MIN, INT64_MAX, find_alert_fn, &fa);
	if (r < 0) {
		fprintf(stderr, "cunxiang cancel: cannot read the alerts: %s\n", store_errmsg(st));
		goto out;
	}
	if (!fa.found) {
		fprintf(stderr, "cunxiang cancel: no alert %s in %s\n", ref, dbpath);
		goto out;
	}
	if (!(keys = keyring_new(st))) {
		fprintf(stderr, "cunxiang cancel: cannot read the enrolled node keys: %s\n",
			store_errmsg(st));
		goto out;
	}
	r = rq_alert_receipts(st, ref, holders_fn, &h);
	if (r == -ENOMEM)
		goto oom;
	if (r < 0) {
		fprintf(stderr, "cunxiang cancel: cannot read the receipts of %s: %s\n", ref,
			store_errmsg(st));
		goto out;
	}
	if (pub_init(&pub, cf->signing_key, err, sizeof(err)) < 0) {
		fprintf(stderr, "cunxiang cancel: %s\n", err);
		goto out;
	}
	if (!(mq = connect_broker(cf, "cancel", sfd, &stop)))
		goto out;
	if (stop) {
		fprintf(stderr, "cunxiang cancel: interrupted; nothing was sent\n");
		goto out;
	}
	pub.mq = mq;

	now = cx_now_ms();
	r = store_alert_cancel(st, ref, now);
	if (r == -EALREADY) {
		char when[64];

		clock_text(fa.cancelled_ms, when, sizeof(when));
		printf("alert %s was already cancelled at %s; sending the cancel again\n", ref, when);
	} else if (r < 0) {
		fprintf(stderr, "cunxiang cancel: cannot record the cancel of %s: %s; nothing was sent\n",
			ref, store_errmsg(st));
		goto out;
	}
	/* The cancel's own id: unique, and naming what it cancels. */
	snprintf(msg.id, sizeof(msg.id), "%.100s-cancel-%" PRId64, ref, now);
	snprintf(msg.ref, sizeof(msg.ref), "%s", ref);
	msg.issued_ms = now;
	r = alert_sign(&msg, pub.sk, &signed_msg, &signed_len);
	if (r == 0) {
		wire_topic(WIRE_T_ALERT, NULL, topic);
		r = mq_publish(mq, topic, signed_msg, signed_len, 1, false);
	}
	if (r == 0)
		r = mq_flush(mq, FLUSH_MS);
	if (r < 0) {
		fprintf(stderr, "cunxiang cancel: cannot publish the cancel of %s: %s; it is recorded, "
			"run the command again\n", ref, strerror(-r));
		goto out;
	}
	printf("cancel of alert %s (\"%s\") sent", ref, fa.title);
	if (h.n)
		printf("; by the stored receipts %zu node%s held it", h.n, h.n == 1 ? "" : "s");
	printf("\n");
	fflush(stdout);
	rc = CX_EXIT_OK;

	for (int64_t end = cx_mono_us() + (int64_t)wait_s * 1000000; !stop;) {
		struct pollfd pfd[2] = {
			{ .fd = mq_fd(mq), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		struct mq_event ev;
		int64_t t = cx_mono_us(), timeout = (end - t + 999) / 1000;

		while (mq_next(mq, &ev) == 1) {
			const char *node = ev.type == MQ_EV_MESSAGE ?
					   topic_node(ev.topic, "cx/v1/receipt/") : NULL;
			char state[16], reason[STORE_REASON_MAX + 1];
			int64_t started_ms;

			if (node && receipt_for(keys, &ev, ref, state, reason, sizeof(reason),
						&started_ms)) {
				printf("  %-12s %s%s%s%s\n", node, state, *reason ? " (" : "", reason,
				       *reason ? ")" : "");
				seen++;
				for (size_t i = 0; i < h.n; i++)
					if (!strcmp(h.id[i], node) && !h.answered[i] &&
					    strcmp(state, "accepted") && strcmp(state, "started")) {
						h.answered[i] = true;
						h.answers++;
					}
				fflush(stdout);
			}
			mq_event_clear(&ev);
		}
		if (t >= end || (h.n && h.answers == h.n))
			break;
		if (poll(pfd, 2, timeout > 250 ? 250 : (int)timeout) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			stop = signalled(sfd);
	}
	if (wait_s > 0) {
		printf("%zu receipt%s for %s", seen, seen == 1 ? "" : "s", ref);
		if (h.n)
			printf("; %zu of the %zu node%s that held it answered", h.answers, h.n,
			       h.n == 1 ? "" : "s");
		printf("\n");
		for (size_t i = 0; i < h.n; i++)
			if (!h.answered[i])
				printf("  %-12s no answer yet (it drops the alert when the cancel reaches it)\n",
				       h.id[i]);
	}
	goto out;
oom:
	fprintf(stderr, "cunxiang cancel: out of memory\n");
out:
	if (mq) {
		mq_flush(mq, 2000);
		mq_free(mq);
	}
	if (sfd >= 0)
		close(sfd);
	pub_wipe(&pub);
	free(signed_msg);
	keyring_free(keys);
	free(h.id);
	free(h.answered);
	store_close(st);
	free(dbpath);
	cconf_free(cf);
	diag_free(d);
	return rc;
}
