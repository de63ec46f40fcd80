/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_live.c -- `cunxiang live`: a live microphone alert, signed 20 ms Opus frames */
#include "config.h"

#include "alert.h"
#include "cconf.h"
#include "commands.h"
#include "cxtime.h"
#include "diag.h"
#include "fileio.h"
#include "keyring.h"
#include "liveframe.h"
#include "log.h"
#include "mq.h"
#include "pub.h"
#include "report/query.h"
#include "schedule.h"
#include "store.h"
#include "wire.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <opus.h>
#include <signal.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LIVE_MAX_MS      (3600 * 1000LL) /* a live alert expires an hour after it starts */
#define MAX_TARGETS      1000            /* areas, tags, nodes: each (as the node accepts) */
#define DEFAULT_BITRATE  24000
#define FILE_CHUNK       4096            /* frames read from a file at once */
#define MAX_NODES_SHOWN  20
#define CX_EXIT_NOT_COMPLETED 3                   /* as `cunxiang alert`: some node did not */

/* ---- input: ALSA capture or a file, as 48 kHz mono S16 ---- */

struct input {
	/* ALSA */
	snd_pcm_t *pcm;
	unsigned channels;
	int16_t cap[LIVE_FRAME_SAMPLES * 2];
	/* file */
	SNDFILE *sf;
	int fch, frate;
	int16_t *raw;                /* FILE_CHUNK × fch */
	int16_t *mono;               /* buffered input samples, mono */
	size_t nmono, capmono;
	int64_t mono_base;           /* input index of mono[0] */
	int64_t out_idx;             /* output samples produced */
	bool eof;
};

/* ALSA's own messages to stderr; the command says what failed itself. */
static void alsa_quiet(const char *file, int line, const char *fn, int err, const char *fmt, ...)
{
	(void)file;
	(void)line;
	(void)fn;
	(void)err;
	(void)fmt;
}

static int alsa_open(struct input *in, const char *dev, char *err, size_t errlen)
{
	snd_pcm_hw_params_t *hw;
	snd_pcm_uframes_t period = LIVE_FRAME_SAMPLES, buffer = LIVE_FRAME_SAMPLES * 8;
	unsigned rate = LIVE_RATE;
	int r, dir = 0;

	snd_lib_error_set_handler(alsa_quiet);
	r = snd_pcm_open(&in->pcm, dev, SND_PCM_STREAM_CAPTURE, 0);
	if (r < 0) {
		in->pcm = NULL;
		snprintf(err, errlen, "cannot open capture device '%s': %s", dev, snd_strerror(r));
		return r;
	}
	snd_pcm_hw_params_alloca(&hw);
	for (in->channels = 1; in->channels <= 2; in->channels++) {
		if ((r = snd_pcm_hw_params_any(in->pcm, hw)) < 0 ||
		    (r = snd_pcm_hw_params_set_rate_resample(in->pcm, hw, 1)) < 0 ||
		    (r = snd_pcm_hw_params_set_access(in->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
		    (r = snd_pcm_hw_params_set_format(in->pcm, hw, SND_PCM_FORMAT_S16_LE)) < 0 ||
		    (r = snd_pcm_hw_params_set_channels(in->pcm, hw, in->channels)) < 0 ||
		    (r = snd_pcm_hw_params_set_rate_near(in->pcm, hw, &rate, &dir)) < 0)
			continue;
		if (rate != LIVE_RATE) {
			r = -EINVAL;
			continue;
		}
		if ((r = snd_pcm_hw_params_set_period_size_near(in->pcm, hw, &period, &dir)) < 0 ||
		    (r = snd_pcm_hw_params_set_buffer_size_near(in->pcm, hw, &buffer)) < 0 ||
		    (r = snd_pcm_hw_params(in->pcm, hw)) < 0)
			continue;
		break;
	}
	if (in->channels > 2) {
		snprintf(err, errlen, "capture device '%s' cannot record 48 kHz S16 mono or stereo: %s",
			 dev, snd_strerror(r));
		snd_pcm_close(in->pcm);
		in->pcm = NULL;
		return r < 0 ? r : -EINVAL;
	}
	if ((r = snd_pcm_prepare(in->pcm)) < 0) {
		snprintf(err, errlen, "cannot prepare capture on '%s': %s", dev, snd_strerror(r));
		snd_pcm_close(in->pcm);
		in->pcm = NULL;
		return r;
	}
	return 0;
}

/* Start capturing now (opened earlier, so a missing microphone fails
 * before anything is sent). \retval 0 / -errno */
static int alsa_start(struct input *in)
{
	int r;

	snd_pcm_drop(in->pcm);
	if ((r = snd_pcm_prepare(in->pcm)) < 0)
		return r;
	return snd_pcm_start(in->pcm);
}

/* One frame from ALSA; *FIRST_US is the wall clock of its first sample.
 * \retval 1 / 0 interrupted / -errno (device lost). -EPIPE: an overrun,
 * recovered; the caller re-anchors its timeline. */
static int alsa_frame(struct input *in, int16_t *pcm, int64_t *first_us)
{
	int got = 0;

	while (got < LIVE_FRAME_SAMPLES) {
		snd_pcm_sframes_t r = snd_pcm_readi(in->pcm, in->cap + got * (int)in->channels,
						    (snd_pcm_uframes_t)(LIVE_FRAME_SAMPLES - got));

		if (r == -EINTR)
			return 0;
		if (r == -EAGAIN)
			continue;
		if (r == -EPIPE || r == -ESTRPIPE) {
			int e = r == -ESTRPIPE ? snd_pcm_resume(in->pcm) : -1;

			if (e < 0)
				e = snd_pcm_prepare(in->pcm);
			if (e < 0)
				return e;
			snd_pcm_start(in->pcm);
			return -EPIPE;
		}
		if (r < 0)
			return (int)r;
		got += (int)r;
	}
	{
		snd_pcm_sframes_t delay = 0;
		int64_t now = cx_now_us();

		if (snd_pcm_delay(in->pcm, &delay) < 0 || delay < 0)
			delay = 0;
		*first_us = now - ((int64_t)delay + LIVE_FRAME_SAMPLES) * 1000000 / LIVE_RATE;
	}
	for (int k = 0; k < LIVE_FRAME_SAMPLES; k++)
		pcm[k] = in->channels == 1 ? in->cap[k]
			: (int16_t)(((int32_t)in->cap[2 * k] + in->cap[2 * k + 1]) / 2);
	return 1;
}

static int file_open(struct input *in, const char *path, char *err, size_t errlen)
{
	SF_INFO info;

	memset(&info, 0, sizeof(info));
	in->sf = sf_open(path, SFM_READ, &info);
	if (!in->sf) {
		snprintf(err, errlen, "cannot read %s: %s", path, sf_strerror(NULL));
		return -EINVAL;
	}
	if (info.channels < 1 || info.channels > 64 || info.samplerate < 8000 ||
	    info.samplerate > 192000) {
		snprintf(err, errlen, "%s: unsupported audio (%d channels at %d Hz)", path,
			 info.channels, info.samplerate);
		return -EINVAL;
	}
	in->fch = info.channels;
	in->frate = info.samplerate;
	in->raw = malloc((size_t)FILE_CHUNK * (size_t)in->fch * sizeof(*in->raw));
	in->capmono = FILE_CHUNK + 2;
	in->mono = malloc(in->capmono * sizeof(*in->mono));
	if (!in->raw || !in->mono) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Keep mono samples from input index KEEP on, append a chunk read from the
 * file (mixed down). \retval 0 / -EIO */
static int file_refill(struct input *in, int64_t keep)
{
	sf_count_t n;
	size_t drop = 0;

	if (keep > in->mono_base)
		drop = (size_t)(keep - in->mono_base) < in->nmono ? (size_t)(keep - in->mono_base)
			: in->nmono;
	memmove(in->mono, in->mono + drop, (in->nmono - drop) * sizeof(*in->mono));
	in->nmono -= drop;
	in->mono_base += (int64_t)drop;
	if (in->nmono + FILE_CHUNK > in->capmono) {
		int16_t *m = realloc(in->mono, (in->nmono + FILE_CHUNK) * sizeof(*m));

		if (!m)
			return -ENOMEM;
		in->mono = m;
		in->capmono = in->nmono + FILE_CHUNK;
	}
	n = sf_readf_short(in->sf, in->raw, FILE_CHUNK);
	if (n <= 0) {
		in->eof = true;
		return sf_error(in->sf) ? -EIO : 0;
	}
	for (sf_count_t k = 0; k < n; k++) {
		int32_t sum = 0;

		for (int c = 0; c < in->fch; c++)
			sum += in->raw[k * in->fch + c];
		in->mono[in->nmono++] = (int16_t)(sum / in->fch);
	}
	return 0;
}

/* Up to 960 samples at 48 kHz (linear interpolation from other rates:
 * enough for speech). \retval samples (fewer only at the end) / -errno */
static int file_frame(struct input *in, int16_t *pcm)
{
	int k;

	for (k = 0; k < LIVE_FRAME_SAMPLES; k++) {
		int64_t num = in->out_idx * in->frate;
		int64_t i = num / LIVE_RATE;
		int64_t frac = num % LIVE_RATE;
		int32_t a, b;
		int r;

		while (i + 1 >= in->mono_base + (int64_t)in->nmono && !in->eof)
			if ((r = file_refill(in, i)) < 0)
				return r;
		if (i >= in->mono_base + (int64_t)in->nmono)
			break;
		a = in->mono[i - in->mono_base];
		b = i + 1 < in->mono_base + (int64_t)in->nmono ? in->mono[i + 1 - in->mono_base] : a;
		pcm[k] = (int16_t)(a + (b - a) * frac / LIVE_RATE);
		in->out_idx++;
	}
	return k;
}

static void input_close(struct input *in)
{
	if (in->pcm)
		snd_pcm_close(in->pcm);
	if (in->sf)
		sf_close(in->sf);
	free(in->raw);
	free(in->mono);
}

/* ---- the alert ---- */

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

static bool targets_node(const struct opts *o, const struct schedule_node *sn)
{
	for (size_t i = 0; i < o->nareas; i++)
		if (!strncmp(sn->village_code, o->areas[i], strlen(o->areas[i])))
			return true;
	for (size_t i = 0; i < o->ntags; i++)
		for (size_t k = 0; k < sn->ntags; k++)
			if (!strcmp(o->tags[i], sn->tags[k]))
				return true;
	for (size_t i = 0; i < o->nnodes; i++)
		if (!strcmp(o->nodes[i], sn->id))
			return true;
	return false;
}

/* ---- progress: receipts for the alert, as serve also sees them ---- */

struct watch {
	const char *id;
	struct keyring *keys;      /* what counts is what a pole signed */
	char (*nodes)[33];
	char (*state)[16];
	size_t n;
	size_t started, ended;
};

static void watch_receipt(struct watch *w, const struct mq_event *ev)
{
	struct receipt rc;
	const char *state;

	if (keyring_receipt(w->keys, ev->topic, ev->payload, ev->len, cx_now_ms(), &rc) < 0 ||
	    rc.state == RECEIPT_LOST || strcmp(rc.occ, w->id))
		return;
	state = receipt_state_name(rc.state);
	for (size_t i = 0; i < w->n; i++) {
		if (strcmp(w->nodes[i], rc.node))
			continue;
		if (rc.state == RECEIPT_STARTED && strcmp(w->state[i], "started"))
			w->started++;
		if (rc.state != RECEIPT_ACCEPTED && rc.state != RECEIPT_STARTED)
			w->ended++;
		snprintf(w->state[i], sizeof(w->state[i]), "%s", state);
		break;
	}
	/* The parser let no control character through to the terminal. */
	printf("  %-12s %s%s%s\n", rc.node, state, rc.reason[0] ? ": " : "", rc.reason);
	fflush(stdout);
}

static void watch_drain(struct watch *w, struct mq *m)
{
	struct mq_event ev;

	while (mq_next(m, &ev) == 1) {
		if (ev.type == MQ_EV_MESSAGE)
			watch_receipt(w, &ev);
		else if (ev.type == MQ_EV_DISCONNECTED)
			fprintf(stderr, "cunxiang live: broker connection lost: %s\n", ev.reason);
		mq_event_clear(&ev);
	}
}

/* ---- main ---- */

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
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "c:l:a:t:n:i:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'i': o->input = optarg; break;
		case 'T': o->title = optarg; break;
		case 'D': o->klass = "drill"; break;
		case 'X': o->klass = "test"; break;
		case 'l': case 'v': case 'b': case 'w':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end ||
			    (c == 'l' && (v < 1 || v > 4)) || (c == 'v' && (v < 1 || v > 100)) ||
			    (c == 'b' && (v < 16000 || v > 64000)) || (c == 'w' && (v < 0 || v > 600))) {
				fprintf(stderr, "cunxiang live: bad value '%s' for --%s\n", optarg,
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
			break;
		case 'a':
			if (!digits(optarg, 1, 12) || o->nareas == MAX_TARGETS) {
				fprintf(stderr, "cunxiang live: --area needs an administrative-code prefix (1..12 digits), not '%s'\n", optarg);
				return -1;
			}
			o->areas[o->nareas++] = optarg;
			break;
		case 't':
			if (!tag_ok(optarg) || o->ntags == MAX_TARGETS) {
				fprintf(stderr, "cunxiang live: bad tag '%s'\n", optarg);
				return -1;
			}
			o->tags[o->ntags++] = optarg;
			break;
		case 'n':
			if (!node_id_ok(optarg) || o->nnodes == MAX_TARGETS) {
				fprintf(stderr, "cunxiang live: bad node id '%s' (want [a-z0-9-]{1,32})\n", optarg);
				return -1;
			}
			o->nodes[o->nnodes++] = optarg;
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

struct id_scan {
	const char *prefix;
	size_t plen;
	long max;
};

static int id_scan_fn(const struct store_alert *a, int64_t cancelled_ms, void *ud)
{
	struct id_scan *s = ud;
	const char *n;
	char *end;
	long k;

	(void)cancelled_ms;
	if (strncmp(a->id, s->prefix, s->plen))
		return 0;
	n = a->id + s->plen;
	k = strtol(n, &end, 10);
	if (strlen(n) == 4 && digits(n, 4, 4) && *end == '\0' && k > s->max)
		s->max = k;
	return 0;
}

/* Store the alert under the next id of the township's day,
 * AREA-YYYYMMDD-NNNN, as `cunxiang alert` numbers them: one more than the
 * highest stored for that day, and on -EEXIST (another operator took it
 * meanwhile) the one after. The stream is named after the alert.
 * \retval 0 / -errno (ERR says why) */
static int store_live_alert(struct store *st, const char *area, struct store_alert *a,
			    char id[64], const char *const *nodes, size_t nnodes,
			    char *err, size_t errlen)
{
	char prefix[48];
	struct id_scan sc;
	struct tm tm;
	int64_t day, from = 0, to = 0;
	int y, m, dd, r;

	cx_tz_ms_to_civil(a->issued_ms, &tm);
	snprintf(prefix, sizeof(prefix), "%s-%04d%02d%02d-", area, tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday);
	sc = (struct id_scan){ .prefix = prefix, .plen = strlen(prefix) };
	/* Alerts issued around that day (clock steps, zone changes). */
	day = cx_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	cx_civil_from_days(day - 2, &y, &m, &dd);
	cx_tz_civil_to_ms(y, m, dd, 0, 0, &from);
	cx_civil_from_days(day + 3, &y, &m, &dd);
	cx_tz_civil_to_ms(y, m, dd, 0, 0, &to);
	r = rq_alerts(st, from, to, id_scan_fn, &sc);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the alerts: %s", store_errmsg(st));
		return r;
	}
	for (long k = sc.max + 1; k <= 9999; k++) {
		snprintf(id, 64, "%s%04ld", prefix, k);
		a->id = id;
		a->live = id;
		r = store_alert_add(st, a, nodes, nnodes);
		if (r == 0)
			return 0;
		if (r != -EEXIST) {
			snprintf(err, errlen, "cannot record the alert: %s", store_errmsg(st));
			return r;
		}
	}
	snprintf(err, errlen, "no alert id left for today (%s9999 is taken)", prefix);
	return -ENOSPC;
}

int cmd_live(int argc, char **argv)
{
	struct opts o = { .config = "/etc/cunxiang/controller.yaml", .input = "alsa:default",
			  .title = "现场喊话", .klass = "actual", .volume = 100,
			  .bitrate = DEFAULT_BITRATE, .wait_s = 5 };
	struct cconf *cf = NULL;
	struct schedule *sch = NULL;
	struct store *st = NULL;
	struct mq *mq = NULL;
	struct pub pub = { 0 };
	struct input in = { 0 };
	struct watch w = { 0 };
	OpusEncoder *enc = NULL;
	struct diag *d = NULL;
	const char **tnodes = NULL;
	json_t *targets = NULL;
	struct alert *msg = NULL;
	char *signed_msg = NULL;
	size_t signed_len;
	struct store_alert sa;
	struct sigaction sact;
	sigset_t mask, old;
	char err[512], id[64], topic[WIRE_TOPIC_MAX], cid[64], *dbpath = NULL;
	const char *area;
	int64_t now_ms, pts0 = 0, mono0 = 0, sent = 0, dropped = 0, seq = 0, expires_ms;
	int64_t lookahead_us = 0;
	int drop_every = 0, rc = CX_EXIT_USER, r, e;
	bool is_alsa;

	r = parse_args(argc, argv, &o);
	if (r != 0)
		return r > 0 ? CX_EXIT_OK : CX_EXIT_USAGE;
	if (getenv("CUNXIANG_LIVE_DROP"))
		drop_every = atoi(getenv("CUNXIANG_LIVE_DROP"));
	is_alsa = !strncmp(o.input, "alsa:", 5);

	d = diag_new();
	cf = d ? cconf_load(o.config, d) : NULL;
	if (!cf) {
		if (d)
			diag_print(d, stderr);
		goto out;
	}
	/* Only the fleet is needed; a broken broadcast file must not stop
	 * an emergency. */
	sch = schedule_load(cf->schedules, d);
	area = sch ? schedule_township(sch)->area_code : NULL;
	if (!area) {
		diag_print(d, stderr);
		fprintf(stderr, "cunxiang live: cannot read the fleet in %s\n", cf->schedules);
		goto out;
	}
	if (diag_errors(d))
		fprintf(stderr, "cunxiang live: warning: %zu errors in %s (`cunxiang check` shows "
			"them); the fleet is usable\n", diag_errors(d), cf->schedules);
	/* The alert's id carries the township's date. */
	if ((r = cx_tz_set(schedule_township(sch)->timezone)) < 0) {
		fprintf(stderr, "cunxiang live: cannot select the time zone %s: %s\n",
			schedule_township(sch)->timezone, strerror(-r));
		goto out;
	}
	tnodes = calloc(schedule_node_count(sch) + o.nnodes + 1, sizeof(*tnodes));
	if (!tnodes)
		goto oom;
	for (size_t i = 0; i < schedule_node_count(sch); i++)
		if (targets_node(&o, schedule_node(sch, i)))
			tnodes[w.n++] = schedule_node(sch, i)->id;
	for (size_t i = 0; i < o.nnodes; i++)
		if (schedule_node_find(sch, o.nodes[i]) < 0) {
			fprintf(stderr, "cunxiang live: warning: node %s is not in the fleet\n", o.nodes[i]);
			tnodes[w.n++] = o.nodes[i];
		}
	if (!w.n) {
		fprintf(stderr, "cunxiang live: the targets name no node of the fleet\n");
		goto out;
	}

	/* The input first: a missing microphone fails before anything is sent. */
	r = is_alsa ? alsa_open(&in, o.input + 5, err, sizeof(err))
		    : file_open(&in, o.input, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "cunxiang live: %s\n", err);
		goto out;
	}
	enc = opus_encoder_create(LIVE_RATE, 1, OPUS_APPLICATION_VOIP, &e);
	if (!enc)
		goto oom;
	opus_encoder_ctl(enc, OPUS_SET_BITRATE(o.bitrate));
	opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(1));
	opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(10));
	/* A decoded frame starts this much before the frame that went in:
	 * pts is the instant of the first decoded sample, so that each sample
	 * plays exactly latency_ms after it was spoken. */
	if (opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(&e)) == OPUS_OK && e > 0)
		lookahead_us = (int64_t)e * 1000000 / LIVE_RATE;

	if (pub_init(&pub, cf->signing_key, err, sizeof(err)) < 0) {
		fprintf(stderr, "cunxiang live: %s\n", err);
		goto out;
	}
	dbpath = fio_join(cf->data_dir, STORE_FILE);
	if (!dbpath || fio_mkdir_p(cf->data_dir, 0755) < 0)
		goto oom;
	st = store_open(dbpath, 0, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "cunxiang live: %s\n", err);
		goto out;
	}
	if (!(w.keys = keyring_new(st))) {
		fprintf(stderr, "cunxiang live: cannot read the enrolled node keys: %s\n",
			store_errmsg(st));
		goto out;
	}

	/* Signals: the MQTT thread must not take them, the capture loop must
	 * see them (no SA_RESTART: a blocking read returns). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	snprintf(cid, sizeof(cid), "cx-live-%ld", (long)getpid());
	{
		static const char *const subs[] = { WIRE_SUB_RECEIPTS };
		struct mq_cfg mc = {
			.client_id = cid, .host = cf->host, .port = cf->port, .tls = cf->tls,
			.ca_file = cf->ca_file, .username = cf->username, .password = cf->password,
			.clean_start = true, .keepalive_s = 30, .subs = subs, .nsubs = 1,
			.sub_qos = 0,
		};

		mq = mq_new(&mc);
	}
	memset(&sact, 0, sizeof(sact));
	sact.sa_handler = on_signal;
	sigaction(SIGINT, &sact, NULL);
	sigaction(SIGTERM, &sact, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!mq) {
		fprintf(stderr, "cunxiang live: cannot start the MQTT session: %s\n", strerror(errno));
		goto out;
	}
	pub.mq = mq;
	if (mq_wait_connected(mq, 10000) < 0) {
		fprintf(stderr, "cunxiang live: broker %s not reachable\n", cf->broker);
		goto out;
	}

	now_ms = cx_now_ms();
	expires_ms = now_ms + LIVE_MAX_MS;
	if (!(msg = calloc(1, sizeof(*msg))))
		goto oom;
	r = alert_set_targets(msg, o.areas, o.nareas, o.tags, o.ntags, o.nodes, o.nnodes);
	if (r == -ENOMEM)
		goto oom;
	if (r < 0 || !(targets = alert_targets_json(msg))) {
		fprintf(stderr, "cunxiang live: the targets do not fit an alert message\n");
		goto out;
	}
	{
		char *tj = json_dumps(targets, JSON_COMPACT | JSON_PRESERVE_ORDER);

		sa = (struct store_alert){ .level = o.level, .alert_class = o.klass,
			.issued_ms = now_ms, .start_ms = now_ms, .expires_ms = expires_ms,
			.title = o.title, .targets_json = tj };
		r = tj ? store_live_alert(st, area, &sa, id, tnodes, w.n, err, sizeof(err)) : -ENOMEM;
		free(tj);
	}
	if (r < 0) {
		fprintf(stderr, "cunxiang live: %s\n", r == -ENOMEM ? "out of memory" : err);
		goto out;
	}
	snprintf(msg->id, sizeof(msg->id), "%s", id);
	snprintf(msg->cls, sizeof(msg->cls), "%s", o.klass);
	snprintf(msg->title, sizeof(msg->title), "%s", o.title);
	snprintf(msg->live, sizeof(msg->live), "%s", id);
	msg->level = o.level;
	msg->issued_ms = msg->start_ms = now_ms;
	msg->expires_ms = expires_ms;
	msg->repeat = 1;
	msg->volume = o.volume;
	r = alert_sign(msg, pub.sk, &signed_msg, &signed_len);
	if (r == 0) {
		wire_topic(WIRE_T_ALERT, NULL, topic);
		r = mq_publish(mq, topic, signed_msg, signed_len, 1, false);
	}
	if (r == 0)
		r = mq_flush(mq, 5000);
	if (r < 0) {
		fprintf(stderr, "cunxiang live: cannot publish alert %s: %s\n", id, strerror(-r));
		goto out;
	}
	w.id = id;
	w.nodes = calloc(w.n, sizeof(*w.nodes));
	w.state = calloc(w.n, sizeof(*w.state));
	if (!w.nodes || !w.state)
		goto oom;
	for (size_t i = 0; i < w.n; i++)
		snprintf(w.nodes[i], sizeof(w.nodes[i]), "%s", tnodes[i]);
	wire_topic(WIRE_T_LIVE, id, topic);
	printf("live alert %s (level %d, %s) to %zu node%s; stream %s\n", id, o.level, o.klass,
	       w.n, w.n == 1 ? "" : "s", topic);
	if (drop_every > 1)
		printf("test hook: every %dth frame is not published (CUNXIANG_LIVE_DROP)\n",
		       drop_every);
	fflush(stdout);

	if (is_alsa && (r = alsa_start(&in)) < 0) {
		fprintf(stderr, "cunxiang live: cannot start capture on '%s': %s\n", o.input + 5,
			snd_strerror(r));
		goto out;
	}
	/* Frames: pts = pts0 + seq × 20 ms, always; a capture overrun skips
	 * seqs instead of bending the timeline. */
	for (bool last = false; !last;) {
		int16_t pcm[LIVE_FRAME_SAMPLES];
		unsigned char opus[LIVEFRAME_MAX_OPUS], frame[LIVEFRAME_MAX];
		struct liveframe lf;
		int64_t first_us = 0;
		int n;

		if (is_alsa) {
			n = alsa_frame(&in, pcm, &first_us);
			if (n == -EPIPE) {
				fprintf(stderr, "cunxiang live: capture overrun; audio lost\n");
				continue;
			}
			if (n < 0) {
				fprintf(stderr, "cunxiang live: capture failed: %s\n", snd_strerror(n));
				memset(pcm, 0, sizeof(pcm));
				last = true;
			} else if (n == 0) {
				memset(pcm, 0, sizeof(pcm)); /* interrupted: a silent last frame */
				last = true;
			} else if (sent == 0 && dropped == 0) {
				pts0 = first_us;
			} else {
				/* Where the capture clock puts it, if far from the count. */
				int64_t s = (first_us - pts0 + LIVE_FRAME_US / 2) / LIVE_FRAME_US;

				if (s > seq + 2)
					seq = s;
			}
		} else {
			struct timespec ts;
			int64_t due;

			if (sent == 0 && dropped == 0) {
				pts0 = cx_now_us();
				mono0 = cx_mono_us();
			}
			n = file_frame(&in, pcm);
			if (n < 0) {
				fprintf(stderr, "cunxiang live: cannot read %s: %s\n", o.input, strerror(-n));
				n = 0;
			}
			if (n < LIVE_FRAME_SAMPLES) {
				memset(pcm + n, 0, (size_t)(LIVE_FRAME_SAMPLES - n) * sizeof(*pcm));
				last = true;
			}
			/* A frame exists once its last sample has been "spoken". */
			due = mono0 + (seq + 1) * LIVE_FRAME_US;
			ts.tv_sec = due / 1000000;
			ts.tv_nsec = (due % 1000000) * 1000;
			while (!stop_sig && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		if (stop_sig || cx_now_ms() >= expires_ms)
			last = true;
		r = opus_encode(enc, pcm, LIVE_FRAME_SAMPLES, opus, sizeof(opus));
		if (r < 0) {
			fprintf(stderr, "cunxiang live: Opus encoder: %s\n", opus_strerror(r));
			r = 0;
		}
		lf = (struct liveframe){ .seq = (uint32_t)seq,
			.pts_us = (uint64_t)(pts0 - lookahead_us + seq * LIVE_FRAME_US),
			.flags = last ? LIVEFRAME_LAST : 0, .opus_len = (uint16_t)r, .opus = opus };
		n = liveframe_build(&lf, id, pub.sk, frame, sizeof(frame));
		if (drop_every > 1 && !last && seq % drop_every == drop_every - 1)
			dropped++;
		else if (n > 0 && mq_publish(mq, topic, frame, (size_t)n, 0, false) == 0)
			sent++;
		if (seq == 0) {
			printf("on the air: first frame pts_us=%lld; Ctrl-C ends\n",
			       (long long)(pts0 - lookahead_us));
			fflush(stdout);
		}
		seq++;
		watch_drain(&w, mq);
	}
	printf("stream ended: %lld frames (%.1f s), %lld published, %lld held back%s\n",
	       (long long)seq, (double)seq * LIVE_FRAME_US / 1e6, (long long)sent,
	       (long long)dropped, stop_sig ? " (interrupted)" : "");
	fflush(stdout);
	/* The nodes finish latency_ms later; show their receipts meanwhile
	 * (another Ctrl-C stops waiting). */
	for (int64_t until = cx_mono_us() + (int64_t)o.wait_s * 1000000, n0 = nsig;
	     cx_mono_us() < until && w.ended < w.n && nsig == n0;) {
		watch_drain(&w, mq);
		usleep(50000);
	}
	watch_drain(&w, mq);
	{
		size_t shown = 0, missing = 0;

		for (size_t i = 0; i < w.n; i++)
			if (strcmp(w.state[i], "completed"))
				missing++;
		printf("completed on %zu of %zu node%s\n", w.n - missing, w.n, w.n == 1 ? "" : "s");
		rc = missing ? CX_EXIT_NOT_COMPLETED : CX_EXIT_OK;
		for (size_t i = 0; i < w.n && shown < MAX_NODES_SHOWN; i++)
			if (strcmp(w.state[i], "completed")) {
				printf("  not completed: %s (%s)\n", w.nodes[i],
				       w.state[i][0] ? w.state[i] : "no receipt");
				shown++;
			}
		if (missing > shown)
			printf("  ... and %zu more\n", missing - shown);
	}
	goto out;
oom:
	fprintf(stderr, "cunxiang live: out of memory\n");
out:
	if (mq) {
		mq_flush(mq, 2000);
		mq_free(mq);
	}
	pub_wipe(&pub);
	alert_free(msg);
	free(signed_msg);
	json_decref(targets);
	keyring_free(w.keys);
	if (enc)
		opus_encoder_destroy(enc);
	input_close(&in);
	store_close(st);
	free(dbpath);
	free(tnodes);
	free(w.nodes);
	free(w.state);
	schedule_free(sch);
	cconf_free(cf);
	diag_free(d);
	return rc;
}
