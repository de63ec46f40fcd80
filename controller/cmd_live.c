/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_live.c -- `cunxiang live`: a live microphone alert, signed 20 ms Opus frames */
#include "config.h"

#include "alert.h"
#include "alert_watch.h"
#include "alerting.h"
#include "capture.h"
#include "cconf.h"
#include "commands.h"
#include "cxtime.h"
#include "diag.h"
#include "fileio.h"
#include "keyring.h"
#include "liveframe.h"
#include "mq.h"
#include "pub.h"
#include "schedule.h"
#include "store.h"
#include "wire.h"

#include <errno.h>
#include <getopt.h>
#include <opus.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIVE_MAX_MS      (3600 * 1000LL) /* a live alert expires an hour after it starts */
#define MAX_TARGETS      1000            /* areas, tags, nodes: each (as the node accepts) */
#define DEFAULT_BITRATE  24000
#define MAX_NODES_SHOWN  20
#define CONNECT_MS       10000           /* to reach the broker */
#define FLUSH_MS         5000            /* for the broker's PUBACK of the alert */
#define CX_EXIT_NOT_COMPLETED 3                   /* as `cunxiang alert`: some node did not */

/* ---- arguments ---- */

struct opts {
	const char *config, *input, *title, *klass;
	int level, volume, bitrate, wait_s;
	const char *areas[MAX_TARGETS], *tags[MAX_TARGETS], *nodes[MAX_TARGETS];
	size_t nareas, ntags, nnodes;
};

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

	if (n < 1 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static bool tag_ok(const char *s)
{
	return *s && strlen(s) <= 64 && !strpbrk(s, " ,");
}

static volatile sig_atomic_t stop_sig, nsig;

static void on_signal(int sig)
{
	stop_sig = sig;
	nsig++;
}

static void live_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang live -c controller.yaml --level N [--area CODE]... [--tag T]...\n"
		   "                     [--node ID]... [--input alsa:DEVICE|FILE] [--drill|--test]\n\n"
		   "Speak to the targeted villages now. Publishes a signed alert that names a\n"
		   "live stream (the alert id), then captures the microphone (or reads FILE:\n"
		   "wav, flac, ogg, ... in real time), encodes 20 ms Opus frames (VOIP, in-band\n"
		   "FEC) and publishes each, signed, on cx/v1/live/STREAM. Nodes play every\n"
		   "frame at its capture instant plus their live.latency_ms (default 300 ms),\n"
		   "all in step. Ctrl-C, the end of FILE or an hour ends the stream; receipts\n"
		   "are shown as they come.\n\n"
		   "  -c --config FILE     controller configuration (default /etc/cunxiang/controller.yaml)\n"
		   "  -l --level N         1 (Ⅰ, most severe) .. 4 (Ⅳ)\n"
		   "  -a --area CODE       administrative-code prefix to reach (repeatable)\n"
		   "  -t --tag T           nodes with this tag (repeatable)\n"
		   "  -n --node ID         this node (repeatable)\n"
		   "  -i --input SRC       alsa:DEVICE (default alsa:default) or an audio file\n"
		   "     --title T         the alert's title (default 现场喊话)\n"
		   "     --volume N        1..100 (default 100)\n"
		   "     --bitrate BPS     Opus bit rate, 16000..64000 (default 24000)\n"
		   "     --wait S          after the end, wait up to S s for the nodes' receipts (default 5)\n"
		   "     --drill           a drill: recorded apart in reports\n"
		   "     --test            a test: recorded apart in reports\n"
		   "  -h --help            show this help\n"
		   "     --version         show the version\n\n"
		   "Environment: CUNXIANG_LIVE_DROP=N leaves every Nth frame unpublished (a\n"
		   "test hook for loss concealment).\n\n"
		   "See cunxiang(1).\n");
}

/* --level, --volume, --bitrate or --wait (option C). \retval 0 / -1 said why */
static int number_arg(int c, const char *arg, struct opts *o)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end ||
	    (c == 'l' && (v < 1 || v > 4)) || (c == 'v' && (v < 1 || v > 100)) ||
	    (c == 'b' && (v < 16000 || v > 64000)) || (c == 'w' && (v < 0 || v > 600))) {
		fprintf(stderr, "cunxiang live: bad value '%s' for --%s\n", arg,
			c == 'l' ? "level" : c == 'v' ? "volume" : c == 'b' ? "bitrate" : "wait");
		return -1;
	}
	if (c == 'l')
		o->level = (int)v;
	else if (c == 'v')
		o->volume = (int)v;
	else if (c == 'b')
		o->bitrate = (int)v;
	else
		o->wait_s = (int)v;
	return 0;
}

/* --area, --tag or --node (option C). \retval 0 / -1 said why */
static int target_arg(int c, const char *arg, struct opts *o)
{
	if (c == 'a') {
		if (!digits(arg, 1, 12) || o->nareas == MAX_TARGETS) {
			fprintf(stderr, "cunxiang live: --area needs an administrative-code prefix (1..12 digits), not '%s'\n", arg);
			return -1;
		}
		o->areas[o->nareas++] = arg;
	} else if (c == 't') {
		if (!tag_ok(arg) || o->ntags == MAX_TARGETS) {
			fprintf(stderr, "cunxiang live: bad tag '%s'\n", arg);
			return -1;
		}
		o->tags[o->ntags++] = arg;
	} else {
		if (!node_id_ok(arg) || o->nnodes == MAX_TARGETS) {
			fprintf(stderr, "cunxiang live: bad node id '%s' (want [a-z0-9-]{1,32})\n", arg);
			return -1;
		}
		o->nodes[o->nnodes++] = arg;
	}
	return 0;
}

/* \retval 0 run / 1 done (help, version) / -1 usage error (said why) */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "level", required_argument, NULL, 'l' },
		{ "area", required_argument, NULL, 'a' },
		{ "tag", required_argument, NULL, 't' },
		{ "node", required_argument, NULL, 'n' },
		{ "input", required_argument, NULL, 'i' },
		{ "title", required_argument, NULL, 'T' },
		{ "volume", required_argument, NULL, 'v' },
		{ "bitrate", required_argument, NULL, 'b' },
		{ "wait", required_argument, NULL, 'w' },
		{ "drill", no_argument, NULL, 'D' },
		{ "test", no_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:l:a:t:n:i:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'i': o->input = optarg; break;
		case 'T': o->title = optarg; break;
		case 'D': o->klass = "drill"; break;
		case 'X': o->klass = "test"; break;
		case 'l': case 'v': case 'b': case 'w':
			if (number_arg(c, optarg, o) < 0)
				return -1;
			break;
		case 'a': case 't': case 'n':
			if (target_arg(c, optarg, o) < 0)
				return -1;
			break;
		case 'h': live_help(stdout); return 1;
		case 'V': printf("cunxiang %s\n", CX_VERSION); return 1;
		default: live_help(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cunxiang live: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->level) {
		fprintf(stderr, "cunxiang live: --level is required (1..4)\n");
		return -1;
	}
	if (o->nareas + o->ntags + o->nnodes == 0) {
		fprintf(stderr, "cunxiang live: name the villages to reach: --area, --tag or --node\n");
		return -1;
	}
	return 0;
}

/* ---- the alert ---- */

/* One run of the command. */
struct live {
	struct opts o;
	int drop_every;              /* CUNXIANG_LIVE_DROP */
	struct diag *d;
	struct cconf *cf;
	struct schedule *sch;
	const char *area;            /* the township's, in the alert's id */
	struct store_node *sn;       /* the store's nodes, for the targets */
	struct alerting_targets tg;
	struct capture *cap;
	OpusEncoder *enc;
	int64_t lookahead_us;
	struct pub pub;
	char *dbpath;
	struct store *st;
	struct keyring *keys;
	struct mq *mq;
	struct alert *msg;
	int64_t expires_ms;
	char topic[WIRE_TOPIC_MAX];  /* the stream's */
	struct alert_watch w;
};

/* The fleet, the time zone, the targets. \retval 0 / -1 said why */
static int live_fleet(struct live *l)
{
	struct alerting_fleet fleet;
	struct alerting_scope sc = { .areas = l->o.areas, .nareas = l->o.nareas,
		.tags = l->o.tags, .ntags = l->o.ntags, .nodes = l->o.nodes, .nnodes = l->o.nnodes };
	int r;

	l->d = diag_new();
	l->cf = l->d ? cconf_load(l->o.config, l->d) : NULL;
	if (!l->cf) {
		if (l->d)
			diag_print(l->d, stderr);
		return -1;
	}
	/* Only the fleet is needed; a broken broadcast file must not stop
	 * an emergency. */
	l->sch = schedule_load(l->cf->schedules, l->d);
	l->area = l->sch ? schedule_township(l->sch)->area_code : NULL;
	if (!l->area) {
		diag_print(l->d, stderr);
		fprintf(stderr, "cunxiang live: cannot read the fleet in %s\n", l->cf->schedules);
		return -1;
	}
	if (diag_errors(l->d))
		fprintf(stderr, "cunxiang live: warning: %zu errors in %s (`cunxiang check` shows "
			"them); the fleet is usable\n", diag_errors(l->d), l->cf->schedules);
	/* The alert's id carries the township's date. */
	if ((r = cx_tz_set(schedule_township(l->sch)->timezone)) < 0) {
		fprintf(stderr, "cunxiang live: cannot select the time zone %s: %s\n",
			schedule_township(l->sch)->timezone, strerror(-r));
		return -1;
	}
	/* The targets of fleet.yaml (not the fleet serve stored). */
	fleet = (struct alerting_fleet){ .sch = l->sch };
	if (alerting_resolve(&fleet, &sc, &l->tg) < 0) {
		fprintf(stderr, "cunxiang live: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < l->tg.nunknown; i++)
		fprintf(stderr, "cunxiang live: warning: node %s is not in the fleet\n",
			l->tg.unknown[i]);
	if (!l->tg.n) {
		fprintf(stderr, "cunxiang live: the targets name no node of the fleet\n");
		return -1;
	}
	return 0;
}

/* The input first, so that a missing microphone fails before anything is
 * sent; then the encoder. \retval 0 / -1 said why */
static int live_audio(struct live *l)
{
	char err[512];
	int e;

	if (capture_open(l->o.input, &l->cap, err, sizeof(err)) < 0) {
		fprintf(stderr, "cunxiang live: %s\n", err);
		return -1;
	}
	l->enc = opus_encoder_create(LIVE_RATE, 1, OPUS_APPLICATION_VOIP, &e);
	if (!l->enc) {
		fprintf(stderr, "cunxiang live: out of memory\n");
		return -1;
	}
	opus_encoder_ctl(l->enc, OPUS_SET_BITRATE(l->o.bitrate));
	opus_encoder_ctl(l->enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	opus_encoder_ctl(l->enc, OPUS_SET_INBAND_FEC(1));
	opus_encoder_ctl(l->enc, OPUS_SET_PACKET_LOSS_PERC(10));
	/* A decoded frame starts this much before the frame that went in:
	 * pts is the instant of the first decoded sample, so that each sample
	 * plays exactly latency_ms after it was spoken. */
	if (opus_encoder_ctl(l->enc, OPUS_GET_LOOKAHEAD(&e)) == OPUS_OK && e > 0)
		l->lookahead_us = (int64_t)e * 1000000 / LIVE_RATE;
	return 0;
}

/* The signing key, the store, the enrolled keys. \retval 0 / -1 said why */
static int live_store(struct live *l)
{
	char err[512];

	if (pub_init(&l->pub, l->cf->signing_key, err, sizeof(err)) < 0) {
		fprintf(stderr, "cunxiang live: %s\n", err);
		return -1;
	}
	l->dbpath = fio_join(l->cf->data_dir, STORE_FILE);
	if (!l->dbpath || fio_mkdir_p(l->cf->data_dir, 0755) < 0) {
		fprintf(stderr, "cunxiang live: out of memory\n");
		return -1;
	}
	l->st = store_open(l->dbpath, 0, err, sizeof(err));
	if (!l->st) {
		fprintf(stderr, "cunxiang live: %s\n", err);
		return -1;
	}
	if (!(l->keys = keyring_new(l->st))) {
		fprintf(stderr, "cunxiang live: cannot read the enrolled node keys: %s\n",
			store_errmsg(l->st));
		return -1;
	}
	return 0;
}

/* The MQTT session, and the signals: the MQTT thread must not take them,
 * the capture loop must see them (no SA_RESTART: a blocking read returns).
 * \retval 0 / -1 said why */
static int live_session(struct live *l)
{
	struct sigaction sact;
	sigset_t mask, old;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	l->mq = alerting_mq_new(l->cf, "live");
	memset(&sact, 0, sizeof(sact));
	sact.sa_handler = on_signal;
	sigaction(SIGINT, &sact, NULL);
	sigaction(SIGTERM, &sact, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!l->mq) {
		fprintf(stderr, "cunxiang live: cannot start the MQTT session: %s\n", strerror(errno));
		return -1;
	}
	l->pub.mq = l->mq;
	if (alerting_mq_wait(l->mq, -1, CONNECT_MS) < 0) {
		fprintf(stderr, "cunxiang live: broker %s not reachable\n", l->cf->broker);
		return -1;
	}
	return 0;
}

/* Record and publish the alert that names the stream. \retval 0 / -1 said why */
static int live_announce(struct live *l)
{
	int64_t now_ms = cx_now_ms();
	struct alerting_desc desc = { .level = l->o.level, .klass = l->o.klass,
		.title = l->o.title, .issued_ms = now_ms, .expires_ms = now_ms + LIVE_MAX_MS,
		.repeat = 1, .volume = l->o.volume,
		.scope = { .areas = l->o.areas, .nareas = l->o.nareas, .tags = l->o.tags,
			   .ntags = l->o.ntags, .nodes = l->o.nodes, .nnodes = l->o.nnodes } };
	const char **ids = calloc(l->tg.n, sizeof(*ids));
	char err[512];
	int r;

	l->expires_ms = desc.expires_ms;
	r = ids ? alerting_message(&desc, &l->msg) : -ENOMEM;
	if (r < 0) {
		fprintf(stderr, "cunxiang live: %s\n", r == -ENOMEM ? "out of memory"
			: "the targets do not fit an alert message");
		goto out;
	}
	for (size_t i = 0; i < l->tg.n; i++)
		ids[i] = l->tg.t[i].id;
	r = alerting_record(l->st, l->area, l->msg, true, ids, l->tg.n, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "cunxiang live: %s\n", r == -ENOMEM ? "out of memory" : err);
		goto out;
	}
	r = alerting_publish(&l->pub, l->msg, FLUSH_MS);
	if (r < 0)
		fprintf(stderr, "cunxiang live: cannot publish alert %s: %s\n", l->msg->id,
			strerror(-r));
out:
	free(ids);
	return r < 0 ? -1 : 0;
}

/* Show the receipts for the alert as they come. */
static void live_drain(struct live *l)
{
	struct alert_watch_rcpt r;
	struct mq_event ev;

	while (mq_next(l->mq, &ev) == 1) {
		if (ev.type == MQ_EV_MESSAGE && alert_watch_event(&l->w, &ev, &r) == 1) {
			/* alert_watch_event() let no control character through. */
			printf("  %-12s %s%s%s\n", r.node, r.state, r.reason[0] ? ": " : "", r.reason);
			fflush(stdout);
		} else if (ev.type == MQ_EV_DISCONNECTED) {
			fprintf(stderr, "cunxiang live: broker connection lost: %s\n", ev.reason);
		}
		mq_event_clear(&ev);
	}
}

/* ---- the stream ---- */

/* Frames: pts = pts0 + seq × 20 ms, always; a capture overrun skips seqs
 * instead of bending the timeline. */
struct stream {
	int64_t pts0, seq, sent, dropped;
	bool last;
};

/* The next frame into PCM (S->last set on the last one).
 * \retval 0 / 1 none this time (an overrun) */
static int next_frame(struct live *l, struct stream *s, int16_t *pcm)
{
	int64_t first_us = INT64_MIN;
	char err[512];
	int n = capture_read(l->cap, pcm, &first_us, err, sizeof(err));

	if (n == -EPIPE) {
		fprintf(stderr, "cunxiang live: capture overrun; audio lost\n");
		return 1;
	}
	if (n < 0) {
		fprintf(stderr, "cunxiang live: %s\n", err);
		n = 0;
	}
	if (n < LIVE_FRAME_SAMPLES) {
		/* the end, or interrupted: silence for the rest */
		memset(pcm + n, 0, (size_t)(LIVE_FRAME_SAMPLES - n) * sizeof(*pcm));
		s->last = true;
	}
	if (first_us != INT64_MIN) {
		if (s->sent == 0 && s->dropped == 0) {
			s->pts0 = first_us;
		} else {
			/* Where the capture clock puts it, if far from the count. */
			int64_t k = (first_us - s->pts0 + LIVE_FRAME_US / 2) / LIVE_FRAME_US;

			if (k > s->seq + 2)
				s->seq = k;
		}
	}
	if (stop_sig || cx_now_ms() >= l->expires_ms)
		s->last = true;
	return 0;
}

/* Encode PCM, sign it as frame S->seq and publish it (or hold it back, the
 * test hook). */
static void send_frame(struct live *l, struct stream *s, const int16_t *pcm)
{
	unsigned char opus[LIVEFRAME_MAX_OPUS], frame[LIVEFRAME_MAX];
	struct liveframe lf;
	int r, n;

	r = opus_encode(l->enc, pcm, LIVE_FRAME_SAMPLES, opus, sizeof(opus));
	if (r < 0) {
		fprintf(stderr, "cunxiang live: Opus encoder: %s\n", opus_strerror(r));
		r = 0;
	}
	lf = (struct liveframe){ .seq = (uint32_t)s->seq,
		.pts_us = (uint64_t)(s->pts0 - l->lookahead_us + s->seq * LIVE_FRAME_US),
		.flags = s->last ? LIVEFRAME_LAST : 0, .opus_len = (uint16_t)r, .opus = opus };
	n = liveframe_build(&lf, l->msg->id, l->pub.sk, frame, sizeof(frame));
	if (l->drop_every > 1 && !s->last && s->seq % l->drop_every == l->drop_every - 1)
		s->dropped++;
	else if (n > 0 && mq_publish(l->mq, l->topic, frame, (size_t)n, 0, false) == 0)
		s->sent++;
	if (s->seq == 0) {
		printf("on the air: first frame pts_us=%lld; Ctrl-C ends\n",
		       (long long)(s->pts0 - l->lookahead_us));
		fflush(stdout);
	}
	s->seq++;
}

/* Capture, encode and publish until the end. \retval 0 / -1 said why */
static int live_stream(struct live *l)
{
	struct stream s = { 0 };
	char err[512];

	if (capture_start(l->cap, err, sizeof(err)) < 0) {
		fprintf(stderr, "cunxiang live: %s\n", err);
		return -1;
	}
	while (!s.last) {
		int16_t pcm[LIVE_FRAME_SAMPLES];

		if (next_frame(l, &s, pcm))
			continue;
		send_frame(l, &s, pcm);
		live_drain(l);
	}
	printf("stream ended: %lld frames (%.1f s), %lld published, %lld held back%s\n",
	       (long long)s.seq, (double)s.seq * LIVE_FRAME_US / 1e6, (long long)s.sent,
	       (long long)s.dropped, stop_sig ? " (interrupted)" : "");
	fflush(stdout);
	return 0;
}

/* The nodes finish latency_ms later; show their receipts meanwhile
 * (another Ctrl-C stops waiting), then which did not complete.
 * \retval the exit status */
static int live_finish(struct live *l)
{
	for (int64_t until = cx_mono_us() + (int64_t)l->o.wait_s * 1000000, n0 = nsig;
	     cx_mono_us() < until && l->w.ended < l->tg.n && nsig == n0;) {
		live_drain(l);
		usleep(50000);
	}
	live_drain(l);
	return alert_watch_completed(&l->w, MAX_NODES_SHOWN) ? CX_EXIT_NOT_COMPLETED : CX_EXIT_OK;
}

static void live_free(struct live *l)
{
	if (l->mq) {
		mq_flush(l->mq, 2000);
		mq_free(l->mq);
	}
	pub_wipe(&l->pub);
	alert_free(l->msg);
	keyring_free(l->keys);
	if (l->enc)
		opus_encoder_destroy(l->enc);
	capture_close(l->cap);
	store_close(l->st);
	free(l->dbpath);
	alerting_targets_free(&l->tg);
	schedule_free(l->sch);
	cconf_free(l->cf);
	diag_free(l->d);
}

int cmd_live(int argc, char **argv)
{
	struct live l = { .o = { .config = "/etc/cunxiang/controller.yaml",
		.input = "alsa:default", .title = "现场喊话", .klass = "actual", .volume = 100,
		.bitrate = DEFAULT_BITRATE, .wait_s = 5 } };
	int rc = CX_EXIT_USER, r;
	r = parse_args(argc, argv, &l.o);
	if (r != 0)
		return r > 0 ? CX_EXIT_OK : CX_EXIT_USAGE;
	if (getenv("CUNXIANG_LIVE_DROP"))
		l.drop_every = atoi(getenv("CUNXIANG_LIVE_DROP"));
	if (live_fleet(&l) < 0 || live_audio(&l) < 0 || live_store(&l) < 0 ||
	    live_session(&l) < 0 || live_announce(&l) < 0)
		goto out;
	l.w = (struct alert_watch){ .tg = &l.tg, .keys = l.keys, .id = l.msg->id,
				    .issued_ms = l.msg->issued_ms };
	alert_watch_start(&l.w);
	wire_topic(WIRE_T_LIVE, l.msg->id, l.topic);
	printf("live alert %s (level %d, %s) to %zu node%s; stream %s\n", l.msg->id, l.o.level,
	       l.o.klass, l.tg.n, l.tg.n == 1 ? "" : "s", l.topic);
	if (l.drop_every > 1)
		printf("test hook: every %dth frame is not published (CUNXIANG_LIVE_DROP)\n",
		       l.drop_every);
	fflush(stdout);
	if (live_stream(&l) == 0)
		rc = live_finish(&l);
out:
	live_free(&l);
	return rc;
}
