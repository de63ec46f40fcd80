/* SPDX-License-Identifier: GPL-2.0-or-later */
/* node.c -- the pole daemon's life: start from the configuration and what
 * the last run left, the main loop, a clean stop */
#include "config.h"

#include "node.h"

#include "alerts.h"
#include "cxtime.h"
#include "diag.h"
#include "fileio.h"
#include "log.h"
#include "notify.h"
#include "playout.h"
#include "session.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define LEAD_MS 1500            /* hand items to the player this early */
#define KEY_FILE "node.key"     /* the pole's own signing key, in state_dir */
#define BOOT_FILE "boot"        /* how many times the node started */
#define RESERVE_FILE "reserve"

int64_t node_now_ms(const struct node *n)
{
	int64_t mono = cx_mono_us();

	return (mono + tsync_offset_us(n->tsync, mono)) / 1000;
}

void node_reject(struct node *n, const char *what, const char *why)
{
	n->rejected++;
	n->status_dirty = true;
	log_warn("rejected %s: %s", what, why);
}

/* ---- startup ---- */

static void restore(struct node *n)
{
	char *buf = NULL;
	size_t len;

	if (cache_get(n->cache, "plan.msg", ENV_MAX_BYTES, &buf, &len) == 0) {
		if (playout_take_plan(n, buf, len, true) < 0)
			log_warn("the stored plan no longer verifies; waiting for a new one");
		free(buf);
	}
	if (cache_get(n->cache, "alerts.json", 16u << 20, &buf, &len) == 0) {
		if (seen_load(n->seen, buf, len) < 0)
			log_warn("alerts.json unreadable; alerts seen before are forgotten");
		seen_prune(n->seen, node_now_ms(n));
		free(buf);
	}
	if (cache_get(n->cache, "sched.json", 64u << 20, &buf, &len) == 0) {
		json_t *st = json_loadb(buf, len, 0, NULL);

		if (!st || sched_import(n->sched, st, node_now_ms(n)) < 0)
			log_warn("scheduler state unreadable; starting afresh");
		json_decref(st);
		free(buf);
	}
}

/* The pole's own key, created at the first start. \retval 0 / -errno (logged) */
static int load_key(struct node *n)
{
	char *path = fio_join(n->cf->state_dir, KEY_FILE);
	int created = 0, r;

	if (!path)
		return -ENOMEM;
	r = fio_mkdir_p(n->cf->state_dir, 0750);
	if (r == 0)
		r = env_secret_load_or_create(path, n->sk, &n->pub, &created);
	if (r < 0)
		log_err("cannot %s the node key %s: %s", created ? "create" : "load", path,
			r == -EINVAL ? "not a key" : strerror(-r));
	else if (created)
		log_info("created the node key %s (key id %s)", path, n->pub.id);
	free(path);
	return r;
}

/* One more start: the counter in state_dir/boot. Without a readable one the
 * count restarts above the clock's seconds, so it still only grows. */
static void next_boot(struct node *n)
{
	char *buf = NULL, text[32];
	size_t len;
	long long v = 0;

	if (cache_get(n->cache, BOOT_FILE, 64, &buf, &len) == 0 && sscanf(buf, "%lld", &v) == 1 &&
	    v > 0 && v < WIRE_SEQ_MAX - 1)
		n->boot = v + 1;
	else
		n->boot = cx_now_ms() / 1000;
	free(buf);
	snprintf(text, sizeof(text), "%lld\n", (long long)n->boot);
	if (cache_put_vital(n->cache, BOOT_FILE, text, strlen(text)) < 0)
		log_warn("cannot write %s/%s; the next start counts from the clock",
			 n->cf->state_dir, BOOT_FILE);
}

/* The pole's key, the state directory and what it holds: the controller
 * keys trusted, the disk reserve, the start count, the receipt spool.
 * \retval 0 / -errno (logged) */
static int open_state(struct node *n)
{
	struct spool_signer sig;
	char *rpath;
	char why[PATH_MAX + 300];
	int r;

	if ((r = load_key(n)) < 0)
		return r;
	n->cache = cache_open(n->cf->state_dir);
	if (!n->cache) {
		log_err("cannot use state directory %s: %s", n->cf->state_dir, strerror(errno));
		return -errno;
	}
	if (cache_removed(n->cache))
		log_warn("removed %zu corrupt assets from the cache", cache_removed(n->cache));
	r = trust_open(&n->trust, n->cf->state_dir, n->cf->keys, n->cf->nkeys, why, sizeof(why));
	if (r < 0)
		return r;
	if (why[0])
		log_warn("%s", why);
	if (r == 1)
		log_info("trusting the controller keys of the keys message of %lld (%zu keys)",
			 (long long)n->trust.issued_ms, n->trust.nkeys);
	rpath = fio_join(n->cf->state_dir, RESERVE_FILE);
	n->reserve = rpath ? reserve_open(rpath, 0) : NULL;
	if (!n->reserve)
		log_err("cannot keep the disk reserve %s: %s; receipts may be lost on a full disk",
			rpath ? rpath : RESERVE_FILE, strerror(errno));
	else if (reserve_short(n->reserve))
		log_warn("the disk of %s is full: the reserve holds %llu of %llu bytes",
			 n->cf->state_dir, (unsigned long long)reserve_held(n->reserve),
			 (unsigned long long)reserve_size(n->reserve));
	free(rpath);
	cache_set_reserve(n->cache, n->reserve);
	next_boot(n);
	sig = (struct spool_signer){ .node = n->cf->id, .sk = n->sk, .pub = &n->pub };
	n->spool = spool_open(cache_spool_dir(n->cache), &sig, n->reserve);
	if (!n->spool) {
		log_err("cannot open receipt spool: %s", strerror(errno));
		return -errno;
	}
	if (spool_bad(n->spool) || spool_lost(n->spool))
		log_warn("receipt spool: %zu unreadable files moved to spool/bad, %zu receipts "
			 "reported lost", spool_bad(n->spool), spool_lost(n->spool));
	if (spool_dropped(n->spool))
		log_warn("receipt spool: %llu oldest receipts dropped (more than %d pending)",
			 (unsigned long long)spool_dropped(n->spool), SPOOL_MAX);
	return 0;
}

/* The scheduler, the clock, the alerts seen, the player and the live
 * streams. \retval 0 / -errno (the player's logged) */
static int open_playout(struct node *n)
{
	struct player_cfg pc;

	n->sched = sched_new(LEAD_MS + n->cf->warmup_ms);
	n->tsync = tsync_new(cx_now_us(), cx_mono_us());
	n->seen = seen_new();
	if (!n->sched || !n->tsync || !n->seen)
		return -ENOMEM;
	sched_set_have(n->sched, playout_have_asset, n);
	pc = (struct player_cfg){ .device = n->cf->device, .mixer = n->cf->mixer,
		.buffer_ms = n->cf->buffer_ms, .gpiochip = n->cf->gpiochip,
		.gpio_line = n->cf->gpio_line, .warmup_ms = n->cf->warmup_ms };
	n->player = player_new(&pc);
	if (!n->player) {
		log_err("cannot start the player: %s", strerror(errno));
		return -errno;
	}
	n->live = live_new(n->trust.keys, n->trust.nkeys, n->cf->latency_ms);
	if (!n->live)
		return -ENOMEM;
	return 0;
}

struct node *node_open(const char *config)
{
	struct node *n = calloc(1, sizeof(*n));
	struct diag *d = diag_new();
	char b64[ENV_PK_B64_LEN + 1];

	if (!n) {
		log_err("out of memory");
		diag_free(d);
		return NULL;
	}
	n->started_mono_us = cx_mono_us();
	n->cf = nconf_load(config, d);
	if (!n->cf) {
		diag_print(d, stderr);
		diag_free(d);
		goto fail;
	}
	diag_free(d);
	if (session_topics(n) < 0 || open_state(n) < 0 || open_playout(n) < 0)
		goto fail;
	restore(n);
	if (session_open(n) < 0)
		goto fail;
	env_key_to_base64(n->pub.pk, b64);
	log_info("node %s up (boot %lld); state in %s, audio on '%s'; node key %s, "
		 "enrolled with: cunxiang enrol %s %s", n->cf->id, (long long)n->boot,
		 n->cf->state_dir, n->cf->device, n->pub.id, n->cf->id, b64);
	return n;
fail:
	node_close(n);
	return NULL;
}

void node_close(struct node *n)
{
	if (!n)
		return;
	if (n->sched && n->cache)
		playout_save(n);
	session_close(n);           /* before the player and live: its thread feeds them */
	player_free(n->player);
	live_free(n->live);         /* after the player: it reads from it */
	tsync_free(n->tsync);
	sched_free(n->sched);
	spool_close(n->spool);
	reserve_close(n->reserve);
	cache_close(n->cache);
	plan_free(n->plan);
	free(n->plan_msg);
	alerts_free(n);
	seen_free(n->seen);
	sodium_memzero(n->sk, sizeof(n->sk));
	trust_close(&n->trust);
	nconf_free(n->cf);
	free(n);
}

/* ---- the main loop ---- */

/* A step of the system clock (NTP after a long outage, someone setting
 * the date) moves nothing that plays: the controller's time is kept on the
 * monotonic clock. It is logged, re-measured at once, and reported. */
static void watch_clock(struct node *n)
{
	int64_t wall = cx_now_us(), mono = cx_mono_us();
	int64_t step = tsync_observe(n->tsync, wall, mono);

	if (!step)
		return;
	log_warn("the system clock stepped %+.3f s; it is %+.3f s off the controller's "
		 "(playout keeps the controller's time)", (double)step / 1e6,
		 -(double)tsync_wall_offset_us(n->tsync, wall, mono) / 1e6);
	n->status_dirty = true;
}

/* One round: what came in, then the scheduler, then what goes out.
 * \retval how long the loop may sleep, ms */
static int64_t step(struct node *n)
{
	int64_t now, wake, timeout;

	watch_clock(n);
	session_pump(n);
	playout_player_events(n);
	alerts_hand(n);
	alerts_end_live(n);
	wake = playout_run(n);
	now = node_now_ms(n);
	session_tick(n, now);
	if (live_next_us(n->live) / 1000 < wake)
		wake = live_next_us(n->live) / 1000;
	timeout = wake == INT64_MAX ? 1000 : wake - now;
	if (timeout > 1000)
		timeout = 1000;
	if (timeout < 0)
		timeout = 0;
	if (tsync_next_us(n->tsync, cx_mono_us()) / 1000 < timeout)
		timeout = tsync_next_us(n->tsync, cx_mono_us()) / 1000;
	return timeout;
}

int node_run(struct node *n, int sfd)
{
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = mq_fd(n->mq), .events = POLLIN },
			{ .fd = player_fd(n->player), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		int64_t timeout = step(n);

		cx_notify_watchdog();
		if (poll(pfd, 3, (int)timeout) < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			return 1;
		}
		if (pfd[2].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP) {
				log_info("stopping on signal %u", si.ssi_signo);
				return 0;
			}
		}
	}
}

int node_print_key(const char *config)
{
	struct node n = { 0 };
	struct diag *d = diag_new();
	char b64[ENV_PK_B64_LEN + 1];
	int r;

	n.cf = nconf_load(config, d);
	if (!n.cf) {
		diag_print(d, stderr);
		diag_free(d);
		return 1;
	}
	diag_free(d);
	r = load_key(&n);
	if (r == 0) {
		env_key_to_base64(n.pub.pk, b64);
		printf("%s\n", b64);
	}
	sodium_memzero(n.sk, sizeof(n.sk));
	nconf_free(n.cf);
	return r < 0 ? 1 : 0;
}
