/* SPDX-License-Identifier: GPL-2.0-or-later */
/* serve.c -- `cunxiang serve`: publish plans and assets, ingest receipts, track nodes */
#include "config.h"

#include "cconf.h"
#include "commands.h"
#include "compile.h"
#include "cxtime.h"
#include "diag.h"
#include "fileio.h"
#include "hash.h"
#include "log.h"
#include "mq.h"
#include "notify.h"
#include "pub.h"
#include "schedule.h"
#include "store.h"
#include "tts.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <unistd.h>


#define ASSET_GRACE_MS (30LL * 86400000) /* clear retained assets unused this long */
#define DEBOUNCE_MS 500                  /* let an editor finish saving */
#define MAX_BATCH 500                    /* receipts per transaction */

struct ack_pending {
	char node[33];
	uint64_t seq;
};

struct serve {
	struct cconf *cf;
	struct store *store;
	struct pub pub;
	struct mq *mq;
	char *voices;
	char *assets_dir, *cache_dir;
	int ino;
	int64_t rebuild_at_ms;     /* debounced schedule change, 0 = none */
	int64_t from_day;          /* local day number of the plans on the air */
	int64_t next_gc_ms;
	bool published_once;
	struct ack_pending *acks;
	size_t nacks, cap_acks;
};

/* ---- plans ---- */

static int64_t local_day(int64_t ms)
{
	struct tm tm;

	cx_tz_ms_to_civil(ms, &tm);
	return cx_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}


static int publish_assets(struct serve *s, const struct compile *c, int64_t now)
{
	size_t nassets = compile_asset_count(c), nnodes = compile_node_count(c);
	bool *used = calloc(nassets ? nassets : 1, sizeof(*used));
	int failed = 0;

	if (!used)
		return -ENOMEM;
	for (size_t k = 0; k < nnodes; k++) {
		const size_t *idx;
		size_t n = compile_node_assets(c, k, &idx);

		for (size_t i = 0; i < n; i++)
			used[idx[i]] = true;
	}
	for (size_t i = 0; i < nassets; i++) {
		const struct compile_asset *a = compile_asset(c, i);
		struct store_asset sa;
		char topic[96];
		struct stat st;
		int r;

		if (!used[i])
			continue;
		if (stat(a->path, &st) < 0) {
			log_err("asset %s is gone: %s", a->path, strerror(errno));
			failed++;
			continue;
		}
		store_asset_ref(s->store, a->sha, (int64_t)st.st_size, now);
		if (store_asset_get(s->store, a->sha, &sa) == 0 && sa.published)
			continue;
		snprintf(topic, sizeof(topic), "cx/v1/asset/%s", a->sha);
		r = pub_file(&s->pub, topic, a->path, 64u << 20);
		if (r < 0) {
			log_err("cannot publish asset %.12s: %s", a->sha, strerror(-r));
			failed++;
			continue;
		}
		store_asset_set_published(s->store, a->sha, true);
	}
	free(used);
	return failed ? -EIO : 0;
}

/* The planned occurrences of NODE, for the report's denominator. */
static int store_planned(struct serve *s, const struct compile *c, size_t node, const char *id)
{
	size_t n = compile_event_count(c, node);
	struct store_occ *v = calloc(n ? n : 1, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct compile_event ev;

		compile_event(c, node, i, &ev);
		v[i] = (struct store_occ){ .occ = ev.occ, .notice = ev.notice,
			.broadcast = ev.broadcast, .start_ms = ev.start_ms,
			.duration_ms = ev.duration_ms, .priority = ev.priority };
	}
	r = store_plan_replace(s->store, id, compile_from_ms(c), v, n);
	free(v);
	return r;
}

/* Sign and publish the plans whose content changed since the store last saw
 * them; issued_ms grows strictly so nodes take the newest. */
static int publish_plans(struct serve *s, const struct schedule *m, const struct compile *c)
{
	size_t n = compile_node_count(c), changed = 0;

	for (size_t i = 0; i < n; i++) {
		const char *node = schedule_node(m, i)->id;
		char sha[CX_SHA256_HEX], last_sha[CX_SHA256_HEX] = "", topic[96];
		int64_t last_issued = 0, issued;
		size_t len;
		char *body;
		json_t *j;
		int r;

		if (compile_plan_dump(c, i, &body, &len) < 0)
			return -ENOMEM;
		while (len > 0 && body[len - 1] == '\n')
			body[--len] = '\0';
		cx_sha256_hex(body, len, sha);
		if (store_published_get(s->store, node, &last_issued, last_sha) == 0 &&
		    !strcmp(sha, last_sha)) {
			free(body);
			continue;
		}
		j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
		free(body);
		if (!j || store_published_next(s->store, node, cx_now_ms(), &issued) < 0) {
			json_decref(j);
			return -EIO;
		}
		json_object_set_new(j, "issued_ms", json_integer(issued));
		snprintf(topic, sizeof(topic), "cx/v1/plan/%s", node);
		r = pub_signed(&s->pub, topic, j, 1, true);
		json_decref(j);
		if (r < 0) {
			log_err("cannot publish plan of %s: %s", node, strerror(-r));
			return -EIO;
		}
		if (store_published_set(s->store, node, issued, sha, cx_now_ms()) < 0 ||
		    store_planned(s, c, i, node) < 0)
			log_err("cannot record the plan of %s: %s", node, store_errmsg(s->store));
		changed++;
	}
	log_info("plans: %zu nodes, %zu republished", n, changed);
	return 0;
}

static int store_fleet(struct serve *s, const struct schedule *m)
{
	size_t n = schedule_node_count(m);
	struct store_fleet_node *v = calloc(n ? n : 1, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct schedule_node *sn = schedule_node(m, i);

		v[i] = (struct store_fleet_node){ .id = sn->id, .village_code = sn->village_code,
			.village_name = sn->village_name, .households = sn->households,
			.tags = sn->tags, .ntags = sn->ntags };
	}
	r = store_fleet_replace(s->store, v, n);
	free(v);
	return r;
}

static int rebuild(struct serve *s)
{
	struct diag *d = diag_new();
	struct schedule *m = NULL;
	struct compile *c = NULL;
	struct compile_opts o;
	int64_t now = cx_now_ms();
	int r = -EINVAL;

	if (!d)
		return -ENOMEM;
	m = schedule_load(s->cf->schedules, d);
	if (m && !diag_errors(d) && cx_tz_set(schedule_township(m)->timezone) == 0) {
		s->from_day = local_day(now);
		o = (struct compile_opts){ .from_day = s->from_day, .days = s->cf->horizon_days,
			.voices_dir = s->voices, .assets_dir = s->assets_dir,
			.cache_dir = s->cache_dir };
		c = compile_run(m, &o, d);
	}
	if (!c || diag_errors(d)) {
		log_err("schedules in %s have errors; the plans on the air stay as they are:",
			s->cf->schedules);
		diag_print(d, stderr);
		goto out;
	}
	diag_print(d, stderr); /* warnings */
	r = store_begin(s->store);
	if (r == 0) {
		if (store_fleet(s, m) < 0)
			log_err("cannot record the fleet: %s", store_errmsg(s->store));
		r = publish_assets(s, c, now);
		if (r == 0)
			r = publish_plans(s, m, c);
		if (store_commit(s->store) < 0)
			log_err("cannot commit: %s", store_errmsg(s->store));
	}
	if (r == 0)
		s->published_once = true;
out:
	compile_free(c);
	schedule_free(m);
	diag_free(d);
	return r;
}

/* ---- incoming ---- */

static void queue_ack(struct serve *s, const char *node, uint64_t seq)
{
	for (size_t i = 0; i < s->nacks; i++) {
		if (!strcmp(s->acks[i].node, node)) {
			if (seq > s->acks[i].seq)
				s->acks[i].seq = seq;
			return;
		}
	}
	if (s->nacks == s->cap_acks) {
		size_t cap = s->cap_acks ? s->cap_acks * 2 : 64;
		struct ack_pending *v = realloc(s->acks, cap * sizeof(*v));

		if (!v)
			return;
		s->acks = v;
		s->cap_acks = cap;
	}
	snprintf(s->acks[s->nacks].node, sizeof(s->acks[s->nacks].node), "%s", node);
	s->acks[s->nacks++].seq = seq;
}

static void send_acks(struct serve *s)
{
	for (size_t i = 0; i < s->nacks; i++) {
		char topic[96], body[64];

		snprintf(topic, sizeof(topic), "cx/v1/ack/%s", s->acks[i].node);
		snprintf(body, sizeof(body), "{\"seq\":%llu}", (unsigned long long)s->acks[i].seq);
		pub_signed_text(&s->pub, topic, body, strlen(body), 1, false);
	}
	s->nacks = 0;
}

/* The node id in "cx/v1/KIND/NODE[/...]", copied to OUT; false if malformed. */
static bool topic_node(const char *topic, size_t prefix, char out[33])
{
	const char *p = topic + prefix, *end = strchr(p, '/');
	size_t n = end ? (size_t)(end - p) : strlen(p);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
			return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static void on_ping(struct serve *s, const char *node, const struct mq_event *ev)
{
	json_t *j = json_loadb((const char *)ev->payload, ev->len, JSON_REJECT_DUPLICATES, NULL);
	json_t *t0 = json_object_get(j, "t0_us");
	char topic[96], body[160];

	if (ev->len <= 256 && json_is_integer(t0)) {
		snprintf(topic, sizeof(topic), "cx/v1/time/%s/pong", node);
		snprintf(body, sizeof(body), "{\"t0_us\":%lld,\"t1_us\":%lld,\"t2_us\":%lld}",
			 (long long)json_integer_value(t0), (long long)ev->recv_us,
			 (long long)cx_now_us());
		pub_signed_text(&s->pub, topic, body, strlen(body), 0, false);
	}
	json_decref(j);
}

static void on_message(struct serve *s, const struct mq_event *ev, bool *in_tx)
{
	char node[33];
	int64_t ack = 0;
	int r;

	if (!strncmp(ev->topic, "cx/v1/receipt/", 14) && topic_node(ev->topic, 14, node)) {
		if (!*in_tx) {
			store_begin(s->store);
			*in_tx = true;
		}
		r = store_receipt(s->store, node, (const char *)ev->payload, ev->len,
				  cx_now_ms(), &ack);
		if (r == -EBADMSG)
			log_warn("bad receipt from %s: %s", node, store_errmsg(s->store));
		else if (r < 0)
			log_err("cannot store receipt from %s: %s", node, store_errmsg(s->store));
		if ((r >= 0 || r == -EBADMSG) && ack > 0)
			queue_ack(s, node, (uint64_t)ack);
	} else if (!strncmp(ev->topic, "cx/v1/status/", 13) && topic_node(ev->topic, 13, node)) {
		if (ev->len == 0)
			return; /* a cleared retained status */
		r = store_status(s->store, node, (const char *)ev->payload, ev->len, cx_now_ms(),
				 ev->retain);
		if (r == -EBADMSG)
			log_warn("bad status from %s: %s", node, store_errmsg(s->store));
	} else if (!strncmp(ev->topic, "cx/v1/time/", 11) && topic_node(ev->topic, 11, node)) {
		on_ping(s, node, ev);
	}
}

static int drain(struct serve *s)
{
	struct mq_event ev;
	bool in_tx = false;
	int n = 0, r = 0;

	while (n < MAX_BATCH && mq_next(s->mq, &ev) == 1) {
		if (ev.type == MQ_EV_MESSAGE)
			on_message(s, &ev, &in_tx);
		else if (ev.type == MQ_EV_CONNECTED)
			log_info("connected to the broker %s", s->cf->broker);
		else
			log_warn("broker connection lost: %s", ev.reason);
		mq_event_clear(&ev);
		n++;
	}
	/* Receipts are acknowledged only once they are durable. */
	if (in_tx) {
		r = store_commit(s->store);
		if (r < 0) {
			log_err("cannot commit receipts: %s; not acknowledging them",
				store_errmsg(s->store));
			s->nacks = 0;
		} else {
			send_acks(s);
		}
	}
	return n;
}

/* ---- housekeeping ---- */

static int clear_stale_asset(const struct store_asset *a, void *ud)
{
	struct serve *s = ud;
	const char *sha = a->sha;
	char topic[96];

	if (!a->published)
		return 0;
	snprintf(topic, sizeof(topic), "cx/v1/asset/%s", sha);
	/* An empty retained message removes the retained one. */
	if (mq_publish(s->mq, topic, "", 0, 1, true) == 0) {
		store_asset_set_published(s->store, sha, false);
		log_info("cleared retained asset %.12s (unused for 30 days)", sha);
	}
	return 0;
}

static void watch_dir(struct serve *s, const char *dir)
{
	if (inotify_add_watch(s->ino, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
			      IN_DELETE | IN_CREATE) < 0)
		log_warn("cannot watch %s: %s; changes there need a restart", dir, strerror(errno));
}

static void serve_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang serve -c controller.yaml\n\n"
		   "The township's daemon: compiles the schedules directory, publishes every\n"
		   "asset and a signed plan per node, republishes what changes when a file\n"
		   "changes and every day, stores planned plays and receipts in SQLite and\n"
		   "acknowledges receipts once stored, and tracks node status.\n\n"
		   "  -c --config FILE  controller configuration (default /etc/cunxiang/controller.yaml)\n"
		   "  -h --help         show this help\n"
		   "     --version      show the version\n\n"
		   "See cunxiang(1).\n");
}

static int serve_setup(struct serve *s, const char *config)
{
	static const char *const subs[] = {
		"cx/v1/receipt/+", "cx/v1/status/+", "cx/v1/time/+/ping",
	};
	struct diag *d = diag_new();
	char err[300], *dbpath;
	int r;

	s->cf = cconf_load(config, d);
	if (!s->cf) {
		diag_print(d, stderr);
		diag_free(d);
		return -EINVAL;
	}
	diag_free(d);
	s->voices = voices_dir_find(NULL, s->cf->voices, s->cf->schedules);
	if (!s->voices) {
		log_err("no voices directory found (set voices: in %s)", config);
		return -ENOENT;
	}
	s->assets_dir = fio_join(s->cf->data_dir, "assets");
	s->cache_dir = fio_join(s->cf->data_dir, "cache");
	dbpath = fio_join(s->cf->data_dir, "receipts.db");
	if (!s->assets_dir || !s->cache_dir || !dbpath)
		return -ENOMEM;
	if ((r = fio_mkdir_p(s->assets_dir, 0755)) < 0 || (r = fio_mkdir_p(s->cache_dir, 0755)) < 0) {
		log_err("cannot create %s: %s", s->cf->data_dir, strerror(-r));
		free(dbpath);
		return r;
	}
	s->store = store_open(dbpath, 0, err, sizeof(err));
	free(dbpath);
	if (!s->store) {
		log_err("%s", err);
		return -EIO;
	}
	r = pub_init(&s->pub, s->cf->signing_key, err, sizeof(err));
	if (r < 0) {
		log_err("%s", err);
		return r;
	}
	struct mq_cfg mc = {
		.client_id = "cx-controller", .host = s->cf->host, .port = s->cf->port,
		.tls = s->cf->tls, .ca_file = s->cf->ca_file,
		.username = s->cf->username, .password = s->cf->password,
		/* A persistent session: receipts sent while serve restarts wait
		 * in the broker. */
		.clean_start = false, .session_expiry_s = 7 * 86400,
		.keepalive_s = 30, .subs = subs, .nsubs = 3, .sub_qos = 1,
	};
	s->mq = mq_new(&mc);
	if (!s->mq) {
		log_err("cannot start the MQTT session: %s", strerror(errno));
		return -errno;
	}
	s->pub.mq = s->mq;
	s->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (s->ino >= 0) {
		char *audio = fio_join(s->cf->schedules, "audio");

		watch_dir(s, s->cf->schedules);
		if (audio && access(audio, F_OK) == 0)
			watch_dir(s, audio);
		free(audio);
		watch_dir(s, s->voices);
	}
	return 0;
}

static void serve_teardown(struct serve *s)
{
	if (s->mq) {
		mq_flush(s->mq, 2000);
		mq_free(s->mq);
	}
	pub_wipe(&s->pub);
	store_close(s->store);
	if (s->ino >= 0)
		close(s->ino);
	free(s->voices);
	free(s->assets_dir);
	free(s->cache_dir);
	free(s->acks);
	cconf_free(s->cf);
	tts_shutdown();
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *config = "/etc/cunxiang/controller.yaml";
	struct serve s = { .ino = -1 };
	sigset_t mask;
	int c, sfd, rc = CX_EXIT_OK;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'h': serve_help(stdout); return CX_EXIT_OK;
		case 'V': printf("cunxiang %s\n", CX_VERSION); return CX_EXIT_OK;
		default: serve_help(stderr); return CX_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		serve_help(stderr);
		return CX_EXIT_USAGE;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (serve_setup(&s, config) < 0) {
		serve_teardown(&s);
		close(sfd);
		return CX_EXIT_USER;
	}
	if (mq_wait_connected(s.mq, 10000) < 0)
		log_warn("broker %s not reachable yet; retrying in the background", s.cf->broker);
	s.rebuild_at_ms = cx_now_ms();
	cx_notify("READY=1");
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = mq_fd(s.mq), .events = POLLIN },
			{ .fd = s.ino, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		int64_t now = cx_now_ms(), timeout = 1000;

		while (drain(&s) == MAX_BATCH)
			;
		if (s.rebuild_at_ms && now >= s.rebuild_at_ms && mq_connected(s.mq)) {
			s.rebuild_at_ms = 0;
			if (rebuild(&s) == -EIO)
				s.rebuild_at_ms = now + 5000; /* the broker went away; retry */
		}
		/* Roll the horizon when the township's day changes. */
		if (s.published_once && local_day(now) != s.from_day && !s.rebuild_at_ms)
			s.rebuild_at_ms = now;
		if (now >= s.next_gc_ms && mq_connected(s.mq)) {
			store_assets_stale(s.store, now - ASSET_GRACE_MS, clear_stale_asset, &s);
			s.next_gc_ms = now + 3600000;
		}
		if (s.rebuild_at_ms && s.rebuild_at_ms - now < timeout)
			timeout = s.rebuild_at_ms > now ? s.rebuild_at_ms - now : 0;
		cx_notify_watchdog();
		if (poll(pfd, 3, (int)timeout) < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			rc = CX_EXIT_USER;
			break;
		}
		if (pfd[1].revents & POLLIN) {
			char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

			while (read(s.ino, buf, sizeof(buf)) > 0)
				;
			s.rebuild_at_ms = cx_now_ms() + DEBOUNCE_MS;
		}
		if (pfd[2].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					s.rebuild_at_ms = cx_now_ms();
					continue;
				}
				log_info("stopping on signal %u", si.ssi_signo);
				break;
			}
		}
	}
	cx_notify("STOPPING=1");
	serve_teardown(&s);
	close(sfd);
	return rc;
}
