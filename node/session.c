/* SPDX-License-Identifier: GPL-2.0-or-later */
/* session.c -- the pole's MQTT session with the controller: subscriptions,
 * the will, messages by topic, and what the pole sends */
#include "session.h"

#include "alerts.h"
#include "asset.h"
#include "ctlmsg.h"
#include "cxtime.h"
#include "log.h"
#include "outbox.h"
#include "playout.h"
#include "receipt.h"
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESEND_AFTER_MS 30000   /* resend unacknowledged receipts this old */
#define SESSION_EXPIRY_S (14u * 86400)
#define WANT_AFTER_MS 20000     /* ask for a plan or asset not here this long */
#define WANT_EVERY_MS 30000     /* ... and not more often than this */
/* A status for a change of the spool or of the assets held waits until
 * this long after the last one: an alert's acks and its audio then ride
 * with the statuses its start and end send anyway, rather than each
 * sending one of its own to every subscriber at the moment of fan-out.
 * A change of state, plan, keys, clock or counters of trouble is sent at
 * once. */
#define STATUS_HOLD_MS 5000
#define CLOCK_REPORT_US 1000    /* a new clock offset this far from the one
				 * reported is reported at once */

/* ---- what the pole sends ---- */

static void publish_receipt(struct node *n, const char *json, size_t len)
{
	if (mq_connected(n->mq))
		mq_publish(n->mq, n->t_receipt, json, len, 1, false);
}

void session_receipt(struct node *n, const struct sched_act *a)
{
	struct receipt rc;
	char *msg = NULL;
	size_t len = 0;
	int r;

	outbox_receipt(a, &rc);
	r = spool_append(n->spool, &rc, &msg, &len);
	if (r < 0) {
		log_err("cannot spool receipt for %s: %s", a->id, strerror(-r));
		return;
	}
	if (r == 1)
		log_warn("receipt %lld held in memory: the state directory is full",
			 (long long)rc.seq);
	log_info("receipt %lld: %s %s%s%s", (long long)rc.seq, a->id, a->state,
		 a->reason ? " — " : "", a->reason ? a->reason : "");
	publish_receipt(n, msg, len);
	free(msg);
	n->state_dirty = true;
}

static int resend_one(uint64_t seq, const char *json, size_t len, void *ud)
{
	publish_receipt(ud, json, len);
	return 0;
}

/* controller - system clock now: how far the pole's clock is off. */
static int64_t wall_offset(const struct node *n)
{
	int64_t wall = cx_now_us(), mono = cx_mono_us();

	return tsync_wall_offset_us(n->tsync, wall, mono);
}

/* The status, when FORCE or when it changed. */
static void publish_status(struct node *n, bool force)
{
	struct player_stats ps;
	struct outbox_facts f;
	struct status st;
	const char *cur = sched_current(n->sched);
	enum status_state state;
	char *msg = NULL;
	size_t len;
	int64_t now = node_now_ms(n);
	int r;

	player_get_stats(n->player, &ps);
	state = outbox_state(&ps, cur);
	if (!force && !n->status_dirty && !strcmp(status_state_name(state), n->last_state) &&
	    (!n->status_soon || now - n->status_sent_ms < STATUS_HOLD_MS))
		return;
	snprintf(n->last_state, sizeof(n->last_state), "%s", status_state_name(state));
	f = (struct outbox_facts){
		.node = n->cf->id, .boot = n->boot, .n = ++n->status_n, .player = &ps,
		.playing = cur, .plan = n->plan, .now_ms = now,
		.assets_missing = playout_assets_missing(n), .volume = n->last_volume,
		.clock_valid = tsync_valid(n->tsync), .clock_offset_us = wall_offset(n),
		.spool = spool_pending(n->spool), .disk_full = reserve_short(n->reserve),
		.rejected = n->rejected, .uptime_s = (cx_mono_us() - n->started_mono_us) / 1000000,
		.keys_ms = n->trust.issued_ms,
	};
	outbox_status(&f, &st);
	n->clock_reported = f.clock_valid;
	n->reported_offset_us = f.clock_offset_us;
	r = status_sign(&st, n->sk, &msg, &len);
	if (r < 0)
		log_err("cannot sign the status: %s", strerror(-r));
	else if (mq_connected(n->mq))
		mq_publish(n->mq, n->t_status, msg, len, 1, true);
	free(msg);
	n->status_dirty = n->status_soon = false;
	n->status_sent_ms = now;
	n->next_status_ms = now + (int64_t)n->cf->status_interval_s * 1000;
}

/* ---- assets wanted ---- */

void session_want_asset(struct node *n, const char *sha)
{
	char topic[NODE_TOPIC_MAX];
	char (*w)[65];
	int64_t *t;

	if (cache_has_asset(n->cache, sha) || !mq_connected(n->mq))
		return;
	for (size_t i = 0; i < n->nwanted; i++)
		if (!strcmp(n->wanted[i], sha))
			return;
	w = realloc(n->wanted, (n->nwanted + 1) * sizeof(*w));
	if (w)
		n->wanted = w;
	t = w ? realloc(n->wanted_ms, (n->nwanted + 1) * sizeof(*t)) : NULL;
	if (!t)
		return;
	n->wanted_ms = t;
	if (wire_topic(WIRE_T_ASSET, sha, topic) == 0 && mq_subscribe(n->mq, topic, 1) == 0) {
		memcpy(n->wanted[n->nwanted], sha, 65);
		n->wanted_ms[n->nwanted++] = node_now_ms(n);
	}
}

void session_want_assets(struct node *n)
{
	size_t k;
	char (*v)[65];

	for (size_t i = 0; i < n->nalerts; i++)
		for (size_t j = 0; j < n->alerts[i]->nassets; j++)
			session_want_asset(n, n->alerts[i]->assets[j]);
	if (!n->plan)
		return;
	v = plan_assets(n->plan, node_now_ms(n), &k);
	for (size_t i = 0; i < k; i++)
		session_want_asset(n, v[i]);
	free(v);
}

/* ---- messages ---- */

static void on_asset(struct node *n, const char *sha, const struct mq_event *ev)
{
	char topic[NODE_TOPIC_MAX];
	int r;

	if (!cx_is_sha256_hex(sha))
		return;
	if (!cache_has_asset(n->cache, sha)) {
		r = cache_put_asset(n->cache, sha, ev->payload, ev->len);
		if (r == -EBADMSG || r == -EMEDIUMTYPE || r == -EMSGSIZE) {
			node_reject(n, "asset", r == -EBADMSG ? "bytes do not match the hash" : "not Ogg Opus");
			/* Ask for it at once: what the broker holds is wrong. */
			for (size_t i = 0; i < n->nwanted; i++)
				if (!strcmp(n->wanted[i], sha))
					n->wanted_ms[i] = 0;
			return;
		}
		if (r < 0) {
			log_err("cannot store asset %.12s: %s", sha, strerror(-r));
			return;
		}
		log_info("asset %.12s stored (%zu bytes)", sha, ev->len);
		n->status_soon = true;
		alerts_hand(n);
	}
	for (size_t i = 0; i < n->nwanted; i++) {
		if (strcmp(n->wanted[i], sha))
			continue;
		if (wire_topic(WIRE_T_ASSET, sha, topic) == 0)
			mq_unsubscribe(n->mq, topic);
		memmove(&n->wanted[i], &n->wanted[i + 1], (n->nwanted - i - 1) * sizeof(*n->wanted));
		memmove(&n->wanted_ms[i], &n->wanted_ms[i + 1],
			(n->nwanted - i - 1) * sizeof(*n->wanted_ms));
		n->nwanted--;
		break;
	}
}

/* An ack counts only when the controller signed it for this node and this
 * node's key: an ack copied from another pole's topic, or from before this
 * pole's key changed, removes nothing. */
static void on_ack(struct node *n, const struct mq_event *ev)
{
	struct ctl_ack a;
	char err[160];
	size_t jl;
	int r = env_verify((const char *)ev->payload, ev->len, n->trust.keys, n->trust.nkeys, &jl);

	if (r < 0) {
		node_reject(n, "ack", env_strerror(r));
		return;
	}
	if (ctl_ack_parse((const char *)ev->payload, jl, n->cf->id, &a, err, sizeof(err)) < 0) {
		node_reject(n, "ack", err);
	} else if (strcmp(a.key, n->pub.id)) {
		node_reject(n, "ack", "for another key of this node");
	} else if ((uint64_t)a.seq > spool_last_seq(n->spool)) {
		node_reject(n, "ack", "acknowledges receipts never sent");
	} else if (spool_ack(n->spool, (uint64_t)a.seq) > 0) {
		n->status_soon = true;
		(void)reserve_refill(n->reserve);
	}
}

/* A signed command for this node. */
static void on_cmd(struct node *n, const struct mq_event *ev)
{
	struct ctl_cmd_msg c;
	char err[160];
	size_t jl;
	int r = env_verify((const char *)ev->payload, ev->len, n->trust.keys, n->trust.nkeys, &jl);

	if (r < 0) {
		node_reject(n, "command", env_strerror(r));
		return;
	}
	if (ctl_cmd_parse((const char *)ev->payload, jl, n->cf->id, &c, err, sizeof(err)) < 0) {
		node_reject(n, "command", err);
		return;
	}
	/* A command replayed off the broker is older than the last one taken. */
	if (c.issued_ms <= n->last_cmd_ms) {
		node_reject(n, "command", "not newer than the last command");
		return;
	}
	n->last_cmd_ms = c.issued_ms;
	if (c.cmd == CTL_CMD_RESEND) {
		log_info("the controller asks for the unacknowledged receipts (%zu)",
			 spool_pending(n->spool));
		spool_flush(n->spool);
		spool_foreach(n->spool, resend_one, n);
		n->next_resend_ms = node_now_ms(n) + RESEND_AFTER_MS;
	}
}

/* A keys message: from now on trust the keys it names (README, "Rotating
 * the controller's key"). The retained one comes again on every connect.
 * One the disk cannot take (full, failing) is kept and tried again with
 * the resends, so a pole does not wait for its next connect to take it. */
static void take_keys(struct node *n, const char *msg, size_t len)
{
	char err[200], ids[CTL_KEYS_MAX * (ENV_KEYID_LEN + 1) + 1] = "";
	int r = trust_take(&n->trust, msg, len, err, sizeof(err));

	if (r < 0 && r != -EKEYREJECTED && r != -ENOKEY && r != -EBADMSG && r != -EMSGSIZE) {
		if (msg != n->keys_unsaved) {
			char *copy = malloc(len);

			if (copy) {
				memcpy(copy, msg, len);
				free(n->keys_unsaved);
				n->keys_unsaved = copy;
				n->keys_unsaved_len = len;
			}
			log_warn("keys message not taken yet: %s; trying again", err);
		}
		return;
	}
	/* Taken, refused or older: nothing to try again (MSG is not used
	 * past here, even when it was the kept copy). */
	free(n->keys_unsaved);
	n->keys_unsaved = NULL;
	if (r < 0) {
		node_reject(n, "keys", err);
		return;
	}
	if (r == 0)
		return;
	for (size_t i = 0; i < n->trust.nkeys; i++)
		snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%s", i ? " " : "",
			 n->trust.keys[i].id);
	live_set_keys(n->live, n->trust.keys, n->trust.nkeys);
	n->status_dirty = true;
	log_info("now trusting the controller keys %s (keys message of %lld)", ids,
		 (long long)n->trust.issued_ms);
}

static void on_keys(struct node *n, const struct mq_event *ev)
{
	take_keys(n, (const char *)ev->payload, ev->len);
}

static void on_pong(struct node *n, const struct mq_event *ev)
{
	struct ctl_pong p;
	char err[160];
	size_t jl;
	int r = env_verify((const char *)ev->payload, ev->len, n->trust.keys, n->trust.nkeys, &jl);

	if (r < 0)
		node_reject(n, "time pong", env_strerror(r));
	else if (ctl_pong_parse((const char *)ev->payload, jl, n->cf->id, &p, err, sizeof(err)) < 0)
		node_reject(n, "time pong", err);
	else
		(void)tsync_on_pong(n->tsync, &p, ev->recv_mono_us);
}

/* Ask the controller for what the broker should hold for us and does not:
 * the plan (none came, or it did not verify) and assets subscribed to for
 * WANT_AFTER_MS without arriving intact. */
static void send_want(struct node *n, int64_t now)
{
	struct ctl_want w = { .issued_ms = now };
	char *msg = NULL;
	size_t len;

	if (!n->connected_ms || now < n->next_want_ms || now - n->connected_ms < WANT_AFTER_MS)
		return;
	w.plan = n->plan_wanted || !n->plan;
	for (size_t i = 0; i < n->nwanted && w.nassets < CTL_WANT_MAX_ASSETS; i++)
		if (now - n->wanted_ms[i] >= WANT_AFTER_MS)
			memcpy(w.assets[w.nassets++], n->wanted[i], 65);
	if (!w.plan && !w.nassets)
		return;
	snprintf(w.node, sizeof(w.node), "%s", n->cf->id);
	if (ctl_want_sign(&w, n->sk, &msg, &len) == 0) {
		log_info("asking the controller for %s%s%zu asset%s", w.plan ? "the plan" : "",
			 w.plan ? " and " : "", w.nassets, w.nassets == 1 ? "" : "s");
		mq_publish(n->mq, n->t_want, msg, len, 1, false);
	}
	free(msg);
	n->next_want_ms = now + WANT_EVERY_MS;
}

/* ---- the session ---- */

/* A message, handed on by its topic. */
static void on_message(struct node *n, const struct mq_event *ev)
{
	const char *t = ev->topic;

	if (!strcmp(t, n->t_plan)) {
		if (playout_take_plan(n, (const char *)ev->payload, ev->len, false) == 0) {
			session_want_assets(n);
			playout_gc_assets(n);
		}
	} else if (!strcmp(t, n->t_ack)) {
		on_ack(n, ev);
	} else if (!strcmp(t, n->t_pong)) {
		on_pong(n, ev);
	} else if (!strcmp(t, n->t_alert)) {
		alerts_on_alert(n, ev);
	} else if (!strcmp(t, n->t_cmd)) {
		on_cmd(n, ev);
	} else if (!strcmp(t, n->t_keys)) {
		on_keys(n, ev);
	} else {
		char arg[WIRE_ARG_MAX + 1];
		enum wire_topic k = wire_topic_parse(t, arg);

		if (k == WIRE_T_ASSET)
			on_asset(n, arg, ev);
		else if (k == WIRE_T_LIVE)
			alerts_on_live(n, arg, ev);
	}
}

static void on_connected(struct node *n)
{
	log_info("connected to %s:%d", n->cf->host, n->cf->port);
	n->nwanted = 0;
	n->connected_ms = node_now_ms(n);
	session_want_assets(n);
	spool_flush(n->spool);
	spool_foreach(n->spool, resend_one, n);
	n->next_resend_ms = node_now_ms(n) + RESEND_AFTER_MS;
	tsync_start_burst(n->tsync, cx_mono_us());
	publish_status(n, true);
}

int session_topics(struct node *n)
{
	if (wire_topic(WIRE_T_PLAN, n->cf->id, n->t_plan) < 0 ||
	    wire_topic(WIRE_T_ALERT, NULL, n->t_alert) < 0 ||
	    wire_topic(WIRE_T_CMD, n->cf->id, n->t_cmd) < 0 ||
	    wire_topic(WIRE_T_ACK, n->cf->id, n->t_ack) < 0 ||
	    wire_topic(WIRE_T_PONG, n->cf->id, n->t_pong) < 0 ||
	    wire_topic(WIRE_T_PING, n->cf->id, n->t_ping) < 0 ||
	    wire_topic(WIRE_T_STATUS, n->cf->id, n->t_status) < 0 ||
	    wire_topic(WIRE_T_RECEIPT, n->cf->id, n->t_receipt) < 0 ||
	    wire_topic(WIRE_T_WANT, n->cf->id, n->t_want) < 0 ||
	    wire_topic(WIRE_T_KEYS, NULL, n->t_keys) < 0)
		return -EINVAL;
	return 0;
}

int session_open(struct node *n)
{
	const char *subs[] = {
		n->t_plan, n->t_alert, n->t_cmd, n->t_ack, n->t_pong, WIRE_SUB_LIVE, n->t_keys,
	};
	struct mq_cfg mc;
	char cid[64];
	int r;

	r = outbox_offline(n->cf->id, n->boot, n->sk, &n->offline_msg, &n->offline_len);
	if (r < 0) {
		log_err("cannot sign the offline status: %s", strerror(-r));
		return r;
	}
	snprintf(cid, sizeof(cid), "cx-node-%s", n->cf->id);
	mc = (struct mq_cfg){
		.client_id = cid, .host = n->cf->host, .port = n->cf->port,
		.tls = n->cf->tls, .ca_file = n->cf->ca_file,
		.username = n->cf->username, .password = n->cf->password,
		.clean_start = false, .session_expiry_s = SESSION_EXPIRY_S,
		.max_packet = ASSET_MAX_BYTES + 65536, .keepalive_s = 30,
		.will_topic = n->t_status, .will_payload = n->offline_msg,
		.will_len = n->offline_len, .will_retain = true,
		.subs = subs, .nsubs = sizeof(subs) / sizeof(subs[0]), .sub_qos = 1,
		.direct = alerts_direct_live, .direct_ud = n,
	};
	n->mq = mq_new(&mc);
	if (!n->mq) {
		log_err("cannot start the MQTT session: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

void session_close(struct node *n)
{
	if (n->mq && mq_connected(n->mq) && n->offline_msg) {
		/* A clean stop sends no will, so say "offline" ourselves. */
		mq_publish(n->mq, n->t_status, n->offline_msg, n->offline_len, 1, true);
		mq_flush(n->mq, 1000);
	}
	mq_free(n->mq);
	n->mq = NULL;
	free(n->offline_msg);
	n->offline_msg = NULL;
	free(n->wanted);
	free(n->wanted_ms);
	n->wanted = NULL;
	n->wanted_ms = NULL;
	n->nwanted = 0;
	free(n->keys_unsaved);
	n->keys_unsaved = NULL;
}

void session_pump(struct node *n)
{
	struct mq_event ev;

	while (mq_next(n->mq, &ev) == 1) {
		if (ev.type == MQ_EV_CONNECTED) {
			on_connected(n);
		} else if (ev.type == MQ_EV_DISCONNECTED) {
			log_warn("broker connection lost: %s; playing from cache", ev.reason);
			n->connected_ms = 0;
		} else {
			on_message(n, &ev);
		}
		mq_event_clear(&ev);
	}
}

/* A burst completed: say so, and tell the controller when what the pole's
 * system clock is off by changed (a step, NTP catching up). */
static void clock_measured(struct node *n)
{
	int64_t off = wall_offset(n);
	bool moved = !n->clock_reported || llabs(off - n->reported_offset_us) > CLOCK_REPORT_US;

	if (moved)
		n->status_dirty = true;
	cx_log(moved ? CX_LOG_INFO : CX_LOG_DEBUG, "clock measured: the system clock is %+.3f ms "
	       "off the controller's (round trip %.1f ms)", -(double)off / 1000.0,
	       (double)tsync_rtt_us(n->tsync) / 1000.0);
	if (!n->clock_settled && tsync_pool_size(n->tsync) >= TSYNC_POOL) {
		log_info("clock settled: measured from %d exchanges", tsync_pool_size(n->tsync));
		n->clock_settled = true;
	}
}

void session_tick(struct node *n, int64_t now)
{
	char *ping;
	size_t plen;
	int64_t t0;
	uint64_t rounds = tsync_rounds(n->tsync);

	if (!mq_connected(n->mq))
		return;
	while (tsync_due(n->tsync, cx_mono_us(), &t0)) {
		if (ctl_ping_build(t0, &ping, &plen) == 0)
			mq_publish(n->mq, n->t_ping, ping, plen, 0, false);
		free(ping);
	}
	if (tsync_rounds(n->tsync) != rounds)
		clock_measured(n);
	if (now >= n->next_resend_ms) {
		spool_flush(n->spool);
		spool_foreach(n->spool, resend_one, n);
		n->next_resend_ms = now + RESEND_AFTER_MS;
		if (n->keys_unsaved)
			take_keys(n, n->keys_unsaved, n->keys_unsaved_len);
	}
	send_want(n, now);
	if (now >= n->next_status_ms && reserve_short(n->reserve) &&
	    reserve_refill(n->reserve) == 0)
		log_info("the disk has room again; the reserve is whole");
	publish_status(n, now >= n->next_status_ms);
}
