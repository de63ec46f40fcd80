/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c -- `cunxiang-node`: the pole daemon that plays its plan and reports */
#include "config.h"

#include "alert.h"
#include "seen.h"
#include "asset.h"
#include "cache.h"
#include "ctlmsg.h"
#include "cxtime.h"
#include "diag.h"
#include "envelope.h"
#include "fileio.h"
#include "live.h"
#include "log.h"
#include "mq.h"
#include "notify.h"
#include "nconf.h"
#include "plan.h"
#include "player.h"
#include "receipt.h"
#include "reserve.h"
#include "sched.h"
#include "spool.h"
#include "status.h"
#include "trust.h"
#include "tsync.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>


#define TOPIC_MAX WIRE_TOPIC_MAX
#define LEAD_MS 1500            /* hand items to the player this early */
#define RESEND_AFTER_MS 30000   /* resend unacknowledged receipts this old */
#define SESSION_EXPIRY_S (14u * 86400)
#define WANT_AFTER_MS 20000     /* ask for a plan or asset not here this long */
#define WANT_EVERY_MS 30000     /* ... and not more often than this */
#define KEY_FILE "node.key"     /* the pole's own signing key, in state_dir */
#define BOOT_FILE "boot"        /* how many times the node started */
#define RESERVE_FILE "reserve"

struct node {
	struct nconf *cf;
	struct trust trust;          /* the controller keys trusted now */
	char *keys_unsaved;          /* a keys message the disk could not take yet */
	size_t keys_unsaved_len;
	unsigned char sk[ENV_SK_BYTES];  /* the pole's own key: receipts, status, wants */
	struct env_key pub;
	struct reserve *reserve;
	int64_t boot;                /* this start's number (status freshness) */
	int64_t status_n;            /* statuses sent in this start */
	char *offline_msg;           /* signed "offline" status: the will, and a clean stop */
	size_t offline_len;
	int64_t connected_ms;        /* when the session last came up, 0 when down */
	int64_t next_want_ms;
	bool plan_wanted;            /* the broker's plan for us did not verify or parse */
	int64_t last_cmd_ms;         /* issued_ms of the newest command taken */
	struct cache *cache;
	struct spool *spool;
	struct sched *sched;
	struct player *player;
	struct live *live;           /* live alert streams */
	uint64_t live_rejected;      /* bad live frames, for rate-limited logging */
	bool seen_dirty;             /* alerts.json to be written (run_sched) */
	struct mq *mq;
	struct tsync *tsync;
	struct plan *plan;
	char *plan_msg;              /* the signed plan as received */
	size_t plan_len;
	uint64_t rejected;
	int64_t started_mono_us;
	int64_t next_status_ms, next_resend_ms;
	int last_volume;
	char last_state[16];
	bool status_dirty;
	bool state_dirty;
	char t_plan[TOPIC_MAX], t_alert[TOPIC_MAX], t_cmd[TOPIC_MAX], t_ack[TOPIC_MAX];
	char t_pong[TOPIC_MAX], t_ping[TOPIC_MAX], t_status[TOPIC_MAX], t_receipt[TOPIC_MAX];
	char t_want[TOPIC_MAX], t_keys[TOPIC_MAX];
	/* asset topics we subscribed to because the plan needs them, and since when */
	char (*wanted)[65];
	int64_t *wanted_ms;
	size_t nwanted;
	/* alerts for this node: waiting for their assets (not yet handed to
	 * the scheduler) or on the air until they expire */
	struct seen *seen;
	struct alert **alerts;
	size_t nalerts;
	bool *alert_added;
};

static int64_t ctrl_now_ms(const struct node *n)
{
	return (cx_now_us() + tsync_offset_us(n->tsync)) / 1000;
}

static void reject(struct node *n, const char *what, const char *why)
{
	n->rejected++;
	n->status_dirty = true;
	log_warn("rejected %s: %s", what, why);
}

/* ---- receipts ---- */

static void publish_receipt(struct node *n, const char *json, size_t len)
{
	if (mq_connected(n->mq))
		mq_publish(n->mq, n->t_receipt, json, len, 1, false);
}

static void emit_receipt(struct node *n, const struct sched_act *a)
{
	static const enum receipt_kind kinds[] = { RECEIPT_PLAN, RECEIPT_ALERT, RECEIPT_LIVE };
	static const char *const states[] = {
		"accepted", "started", "completed", "interrupted", "failed", "skipped", "expired",
	};
	struct receipt rc;
	char *msg = NULL;
	size_t len = 0;
	int r;

	receipt_init(&rc);
	rc.kind = kinds[a->kind];
	rc.state = RECEIPT_FAILED;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(a->state, states[i]))
			rc.state = (enum receipt_state)i;
	snprintf(rc.occ, sizeof(rc.occ), "%s", a->id);
	rc.scheduled_ms = a->scheduled_ms >= 0 ? a->scheduled_ms : WIRE_NONE;
	rc.started_ms = a->started_ms >= 0 ? a->started_ms : WIRE_NONE;
	rc.ended_ms = a->ended_ms >= 0 ? a->ended_ms : WIRE_NONE;
	rc.played_ms = a->played_ms >= 0 ? a->played_ms : WIRE_NONE;
	rc.start_error_us = a->has_start_error ? a->start_error_us : WIRE_NONE;
	rc.volume = a->volume >= 0 && a->volume <= 100 ? a->volume : WIRE_NONE;
	if (a->reason)
		snprintf(rc.reason, sizeof(rc.reason), "%s", a->reason);
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

/* ---- state ---- */

static void save_sched(struct node *n)
{
	json_t *st = sched_export(n->sched, ctrl_now_ms(n) - 86400000);
	char *s = json_dumps(st, JSON_COMPACT);
	int r;

	json_decref(st);
	if (!s)
		return;
	r = cache_put_vital(n->cache, "sched.json", s, strlen(s));
	if (r < 0)
		log_warn("cannot save scheduler state: %s", strerror(-r));
	free(s);
	n->state_dirty = false;
}

static size_t assets_missing(struct node *n)
{
	size_t k, missing = 0;
	char (*v)[65];

	if (!n->plan)
		return 0;
	v = plan_assets(n->plan, ctrl_now_ms(n), &k);
	for (size_t i = 0; i < k; i++)
		if (!cache_has_asset(n->cache, v[i]))
			missing++;
	free(v);
	return missing;
}

static void publish_status(struct node *n, bool force)
{
	struct player_stats ps;
	struct status st;
	const char *cur = sched_current(n->sched);
	enum status_state state;
	char *msg = NULL;
	size_t len;
	int64_t now = ctrl_now_ms(n);
	int r;

	player_get_stats(n->player, &ps);
	state = ps.fault ? STATUS_FAULT : cur ? STATUS_PLAYING : STATUS_IDLE;
	if (!force && !n->status_dirty && !strcmp(status_state_name(state), n->last_state))
		return;
	snprintf(n->last_state, sizeof(n->last_state), "%s", status_state_name(state));
	status_init(&st);
	snprintf(st.node, sizeof(st.node), "%s", n->cf->id);
	st.boot = n->boot;
	st.n = ++n->status_n;
	st.state = state;
	st.plan_issued_ms = n->plan ? n->plan->issued_ms : WIRE_NONE;
	st.plan = !n->plan ? STATUS_PLAN_NONE : now > n->plan->horizon_ms ? STATUS_PLAN_EXPIRED
									     : STATUS_PLAN_CURRENT;
	if (cur)
		snprintf(st.playing, sizeof(st.playing), "%s", cur);
	st.assets_missing = (int64_t)assets_missing(n);
	st.volume = n->last_volume;
	st.clock_offset_us = tsync_valid(n->tsync) ? tsync_offset_us(n->tsync) : WIRE_NONE;
	st.spool = (int64_t)spool_pending(n->spool);
	st.disk = reserve_short(n->reserve) ? STATUS_DISK_FULL : STATUS_DISK_OK;
	st.rejected = (int64_t)n->rejected;
	st.xruns = (int64_t)ps.xruns;
	if (ps.fault)
		snprintf(st.fault, sizeof(st.fault), "%s", ps.fault_reason);
	st.uptime_s = (cx_mono_us() - n->started_mono_us) / 1000000;
	st.keys_ms = n->trust.issued_ms ? n->trust.issued_ms : WIRE_NONE;
	snprintf(st.version, sizeof(st.version), "%s", CX_VERSION);
	r = status_sign(&st, n->sk, &msg, &len);
	if (r < 0)
		log_err("cannot sign the status: %s", strerror(-r));
	else if (mq_connected(n->mq))
		mq_publish(n->mq, n->t_status, msg, len, 1, true);
	free(msg);
	n->status_dirty = false;
	n->next_status_ms = now + (int64_t)n->cf->status_interval_s * 1000;
}

/* ---- plan ---- */

/* Subscribe to the retained topic of an asset the cache lacks. */
static void want_asset(struct node *n, const char *sha)
{
	char topic[TOPIC_MAX];
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
		n->wanted_ms[n->nwanted++] = ctrl_now_ms(n);
	}
}

static void want_assets(struct node *n)
{
	size_t k;
	char (*v)[65];

	for (size_t i = 0; i < n->nalerts; i++)
		for (size_t j = 0; j < n->alerts[i]->nassets; j++)
			want_asset(n, n->alerts[i]->assets[j]);
	if (!n->plan)
		return;
	v = plan_assets(n->plan, ctrl_now_ms(n), &k);
	for (size_t i = 0; i < k; i++)
		want_asset(n, v[i]);
	free(v);
}

static void install_plan(struct node *n, struct plan *p)
{
	struct sched_item_in *in = calloc(p->nevents ? p->nevents : 1, sizeof(*in));
	int64_t now = ctrl_now_ms(n);

	if (!in) {
		plan_free(p);
		return;
	}
	for (size_t i = 0; i < p->nevents; i++) {
		const struct plan_event *e = &p->events[i];

		in[i] = (struct sched_item_in){
			.kind = SCHED_PLAN, .id = e->occ, .notice = e->notice,
			.start_ms = e->start_ms, .duration_ms = e->duration_ms,
			.deadline_ms = e->start_ms + p->max_delay_ms,
			.priority = e->priority, .volume = e->volume,
			.nassets = e->nassets, .assets = (const char (*)[65])e->assets,
		};
	}
	sched_set_plan(n->sched, in, p->nevents, now);
	free(in);
	plan_free(n->plan);
	n->plan = p;
	n->status_dirty = true;
}

/* Verify and parse a signed plan. \retval 0 installed / 1 same as held / <0 rejected */
static int take_plan(struct node *n, const char *msg, size_t len, bool from_disk)
{
	struct plan *p = NULL;
	size_t jl;
	char err[200];
	int r;

	r = env_verify(msg, len, n->trust.keys, n->trust.nkeys, &jl);
	if (r < 0) {
		if (!from_disk) {
			reject(n, "plan", len ? env_strerror(r) : "empty (the retained plan was cleared)");
			n->plan_wanted = true;
		}
		return r;
	}
	r = plan_parse(msg, jl, n->cf->id, &p, err, sizeof(err));
	if (r < 0) {
		if (!from_disk) {
			reject(n, "plan", err);
			n->plan_wanted = true;
		}
		return r;
	}
	if (n->plan && p->issued_ms <= n->plan->issued_ms) {
		bool same = n->plan_len == len && !memcmp(n->plan_msg, msg, len);

		plan_free(p);
		if (same)
			return 1; /* the retained plan again after a reconnect */
		reject(n, "plan", "older than the plan in force (issued_ms)");
		return -ESTALE;
	}
	if (!from_disk) {
		r = cache_put(n->cache, "plan.msg", msg, len);
		if (r < 0)
			log_err("cannot store plan: %s (playing it from memory)", strerror(-r));
	}
	free(n->plan_msg);
	n->plan_msg = malloc(len);
	if (n->plan_msg)
		memcpy(n->plan_msg, msg, len);
	n->plan_len = n->plan_msg ? len : 0;
	n->plan_wanted = false;
	log_info("plan issued %lld: %zu events", (long long)p->issued_ms, p->nevents);
	install_plan(n, p);
	return 0;
}

static void gc_assets(struct node *n)
{
	size_t k;
	char (*v)[65];

	if (!n->plan)
		return;
	/* Keep everything the plan still references (past events too: a
	 * restart may replay them) and whatever an alert holds. */
	v = plan_assets(n->plan, 0, &k);
	for (size_t i = 0; v && i < n->nalerts; i++) {
		const struct alert *a = n->alerts[i];
		char (*w)[65] = realloc(v, (k + a->nassets) * sizeof(*v));

		if (!w) {
			free(v);
			return;
		}
		v = w;
		memcpy(v[k], a->assets, a->nassets * sizeof(*v));
		k += a->nassets;
	}
	if (v) {
		int r = cache_gc(n->cache, v, k);

		if (r > 0)
			log_info("removed %d unreferenced assets", r);
	}
	free(v);
}

/* ---- messages ---- */

static void hand_alerts(struct node *n);

static void on_asset(struct node *n, const char *sha, const struct mq_event *ev)
{
	char topic[TOPIC_MAX];
	int r;

	if (!cx_is_sha256_hex(sha))
		return;
	if (!cache_has_asset(n->cache, sha)) {
		r = cache_put_asset(n->cache, sha, ev->payload, ev->len);
		if (r == -EBADMSG || r == -EMEDIUMTYPE || r == -EMSGSIZE) {
			reject(n, "asset", r == -EBADMSG ? "bytes do not match the hash" : "not Ogg Opus");
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
		n->status_dirty = true;
		hand_alerts(n);
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
		reject(n, "ack", env_strerror(r));
		return;
	}
	if (ctl_ack_parse((const char *)ev->payload, jl, n->cf->id, &a, err, sizeof(err)) < 0) {
		reject(n, "ack", err);
	} else if (strcmp(a.key, n->pub.id)) {
		reject(n, "ack", "for another key of this node");
	} else if ((uint64_t)a.seq > spool_last_seq(n->spool)) {
		reject(n, "ack", "acknowledges receipts never sent");
	} else if (spool_ack(n->spool, (uint64_t)a.seq) > 0) {
		n->status_dirty = true;
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
		reject(n, "command", env_strerror(r));
		return;
	}
	if (ctl_cmd_parse((const char *)ev->payload, jl, n->cf->id, &c, err, sizeof(err)) < 0) {
		reject(n, "command", err);
		return;
	}
	/* A command replayed off the broker is older than the last one taken. */
	if (c.issued_ms <= n->last_cmd_ms) {
		reject(n, "command", "not newer than the last command");
		return;
	}
	n->last_cmd_ms = c.issued_ms;
	if (c.cmd == CTL_CMD_RESEND) {
		log_info("the controller asks for the unacknowledged receipts (%zu)",
			 spool_pending(n->spool));
		spool_flush(n->spool);
		spool_foreach(n->spool, resend_one, n);
		n->next_resend_ms = ctrl_now_ms(n) + RESEND_AFTER_MS;
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
		reject(n, "keys", err);
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
		reject(n, "time pong", env_strerror(r));
	else if (ctl_pong_parse((const char *)ev->payload, jl, n->cf->id, &p, err, sizeof(err)) < 0)
		reject(n, "time pong", err);
	else
		(void)tsync_on_pong(n->tsync, &p, ev->recv_us);
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

/* ---- alerts ---- */

static void save_seen(struct node *n)
{
	char *s = seen_dump(n->seen);
	int r = s ? cache_put_vital(n->cache, "alerts.json", s, strlen(s)) : -ENOMEM;

	if (r < 0)
		log_err("cannot store the alerts seen: %s", strerror(-r));
	free(s);
}

static void drop_alert(struct node *n, size_t i)
{
	alert_free(n->alerts[i]);
	memmove(&n->alerts[i], &n->alerts[i + 1], (n->nalerts - i - 1) * sizeof(*n->alerts));
	memmove(&n->alert_added[i], &n->alert_added[i + 1],
		(n->nalerts - i - 1) * sizeof(*n->alert_added));
	n->nalerts--;
}

/* Hand alerts whose assets are all here to the scheduler (which says
 * "accepted"); fail those that expired waiting; forget those long over. */
static void hand_alerts(struct node *n)
{
	int64_t now = ctrl_now_ms(n);

	for (size_t i = 0; i < n->nalerts;) {
		struct alert *a = n->alerts[i];
		int64_t over = a->expires_ms + a->duration_ms * a->repeat + 60000;
		bool ready = true;

		if (n->alert_added[i]) {
			if (now > over && !(sched_current(n->sched) &&
					    !strcmp(sched_current(n->sched), a->id))) {
				drop_alert(n, i);
				continue;
			}
			i++;
			continue;
		}
		for (size_t j = 0; j < a->nassets; j++)
			ready = ready && cache_has_asset(n->cache, a->assets[j]);
		if (!ready && now >= a->expires_ms) {
			struct sched_act f = { .type = SCHED_ACT_RECEIPT, .kind = SCHED_ALERT,
				.state = "failed", .reason = "asset missing",
				.scheduled_ms = a->start_ms, .started_ms = -1, .ended_ms = now,
				.played_ms = 0, .volume = a->volume };

			snprintf(f.id, sizeof(f.id), "%s", a->id);
			log_warn("alert %s expired before its audio arrived", a->id);
			emit_receipt(n, &f);
			drop_alert(n, i);
			continue;
		}
		if (ready) {
			size_t na = a->nassets * (size_t)a->repeat;
			char (*v)[65] = calloc(na ? na : 1, sizeof(*v));
			struct sched_item_in in = {
				.kind = SCHED_ALERT, .id = a->id,
				.notice = a->title[0] ? a->title : NULL,
				.start_ms = a->start_ms, .duration_ms = a->duration_ms * a->repeat,
				.deadline_ms = a->expires_ms, .priority = alert_priority(a->level),
				.volume = a->volume, .nassets = na,
			};
			int r;

			if (!v)
				break;
			for (int k = 0; k < a->repeat; k++)
				memcpy(v[(size_t)k * a->nassets], a->assets, a->nassets * sizeof(*v));
			in.assets = (const char (*)[65])v;
			r = sched_add_alert(n->sched, &in, now);
			free(v);
			if (r < 0 && r != -EEXIST) {
				log_err("cannot schedule alert %s: %s", a->id, strerror(-r));
				break;
			}
			log_info("alert %s (level %d, %s) accepted", a->id, a->level, a->cls);
			n->alert_added[i] = true;
			n->status_dirty = true;
		}
		i++;
	}
}

/* A live alert (a stream and no recording): its frames are expected from
 * now on, and the scheduler plays it as a SCHED_LIVE item. */
static void take_live_alert(struct node *n, const struct alert *a, int64_t now)
{
	struct sched_item_in in = {
		.kind = SCHED_LIVE, .id = a->id, .notice = a->title[0] ? a->title : NULL,
		.start_ms = a->start_ms, .duration_ms = 0, .deadline_ms = a->expires_ms,
		.priority = alert_priority(a->level), .volume = a->volume, .stream = a->live,
	};
	/* Its frames carry pts from the alert's issue (or start, if earlier)
	 * to its expiry (live.h, LIVE_WINDOW_SLACK_US). */
	int r = live_open(n->live, a->live, now * 1000,
			  (a->issued_ms < a->start_ms ? a->issued_ms : a->start_ms) * 1000,
			  a->expires_ms * 1000);

	if (r < 0) {
		reject(n, "alert", r == -EINVAL ? "live: not a valid stream name"
			   : r == -ENOSPC ? "live: too many streams at once" : "out of memory");
		return;
	}
	seen_add(n->seen, a->id, a->expires_ms + 86400000);
	n->seen_dirty = true;
	r = sched_add_alert(n->sched, &in, now);
	if (r < 0 && r != -EEXIST) {
		log_err("cannot schedule live alert %s: %s", a->id, strerror(-r));
		return;
	}
	log_info("live alert %s (level %d, %s) on stream %s accepted", a->id, a->level, a->cls,
		 a->live);
	n->status_dirty = true;
}

/* A frame on cx/v1/live/STREAM. */
static void on_live(struct node *n, const char *stream, const struct mq_event *ev)
{
	int r = live_on_frame(n->live, stream, ev->payload, ev->len,
			      ev->recv_us + tsync_offset_us(n->tsync));

	if (r >= 0)
		return;
	/* A stream is 50 frames a second: count every bad one, log a few. */
	n->rejected++;
	n->status_dirty = true;
	if (n->live_rejected++ < 5 || n->live_rejected % 500 == 0)
		log_warn("rejected live frame on %s: %s (%llu so far)", stream,
			 r == -EBADMSG ? "malformed" : env_strerror(r),
			 (unsigned long long)n->live_rejected);
}

/* On the MQTT thread, as each message arrives: a frame of an open stream
 * goes straight into the jitter buffer, so live audio never waits behind
 * the main loop (an fsync of the spool can take hundreds of ms on an SD
 * card, and the receipts of a live alert are written as it starts). The
 * rest, and frames this does not keep (a stream not opened yet, a bad
 * frame, to be counted), are queued for the main loop in order. */
static bool direct_live(void *ud, const char *topic, const void *payload, size_t len,
			int64_t recv_us)
{
	struct node *n = ud;
	char arg[WIRE_ARG_MAX + 1];

	if (wire_topic_parse(topic, arg) != WIRE_T_LIVE || !live_is_open(n->live, arg))
		return false;
	return live_on_frame(n->live, arg, payload, len, recv_us + live_offset(n->live)) >= 0;
}

/* Streams that are over: their item completes (if the player has not
 * ended it already). */
static void end_live(struct node *n)
{
	char name[LIVE_STREAM_MAX + 1];
	struct live_stats st;

	live_set_offset(n->live, tsync_offset_us(n->tsync));
	while (live_poll_ended(n->live, ctrl_now_ms(n) * 1000, name, &st) == 1) {
		log_info("live stream %s over: %llu frames, %llu late, %llu duplicate; "
			 "lost frames: %llu FEC, %llu PLC, %llu silent; clock: %llu samples slewed, "
			 "%llu jumps", name,
			 (unsigned long long)st.frames, (unsigned long long)st.late,
			 (unsigned long long)st.dup, (unsigned long long)st.fec,
			 (unsigned long long)st.plc, (unsigned long long)st.silent,
			 (unsigned long long)st.slewed, (unsigned long long)st.jumps);
		sched_live_end(n->sched, name, ctrl_now_ms(n));
	}
}

static void on_alert(struct node *n, const struct mq_event *ev)
{
	struct alert *a = NULL, **v;
	int64_t now = ctrl_now_ms(n);
	size_t jl;
	bool *b;
	char err[200];
	int r = env_verify((const char *)ev->payload, ev->len, n->trust.keys, n->trust.nkeys, &jl);

	if (r < 0) {
		reject(n, "alert", env_strerror(r));
		return;
	}
	r = alert_parse((const char *)ev->payload, jl, &a, err, sizeof(err));
	if (r < 0) {
		reject(n, "alert", r == -ENOMEM ? "out of memory" : err);
		return;
	}
	if (a->cancel) {
		/* Remembered for a day, so the alert cannot play should it
		 * arrive after its cancel. */
		seen_add(n->seen, a->ref, now + 86400000);
		n->seen_dirty = true;
		for (size_t i = 0; i < n->nalerts; i++)
			if (!strcmp(n->alerts[i]->id, a->ref) && !n->alert_added[i]) {
				drop_alert(n, i);
				break;
			}
		if (sched_cancel(n->sched, a->ref, now) == 0)
			log_info("alert %s cancelled", a->ref);
		alert_free(a);
		return;
	}
	if (!alert_targets(a, n->cf->id, n->plan ? n->plan->area : NULL,
			   n->plan ? (const char (*)[65])n->plan->tags : NULL,
			   n->plan ? n->plan->ntags : 0)) {
		alert_free(a);
		return;
	}
	if (seen_has(n->seen, a->id)) {
		reject(n, "alert", "already seen (replayed or cancelled)");
		alert_free(a);
		return;
	}
	if (a->expires_ms <= now) {
		reject(n, "alert", "expired");
		alert_free(a);
		return;
	}
	if (a->nassets == 0) {
		take_live_alert(n, a, now);
		alert_free(a);
		return;
	}
	seen_add(n->seen, a->id, a->expires_ms + 86400000);
	n->seen_dirty = true;
	v = realloc(n->alerts, (n->nalerts + 1) * sizeof(*v));
	b = v ? realloc(n->alert_added, (n->nalerts + 1) * sizeof(*b)) : NULL;
	if (v)
		n->alerts = v;
	if (b)
		n->alert_added = b;
	if (!v || !b) {
		log_err("out of memory for alert %s", a->id);
		alert_free(a);
		return;
	}
	n->alerts[n->nalerts] = a;
	n->alert_added[n->nalerts++] = false;
	for (size_t j = 0; j < a->nassets; j++)
		want_asset(n, a->assets[j]);
	hand_alerts(n);
}

static void on_message(struct node *n, const struct mq_event *ev)
{
	const char *t = ev->topic;

	if (!strcmp(t, n->t_plan)) {
		if (take_plan(n, (const char *)ev->payload, ev->len, false) == 0) {
			want_assets(n);
			gc_assets(n);
		}
	} else if (!strcmp(t, n->t_ack)) {
		on_ack(n, ev);
	} else if (!strcmp(t, n->t_pong)) {
		on_pong(n, ev);
	} else if (!strcmp(t, n->t_alert)) {
		on_alert(n, ev);
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
			on_live(n, arg, ev);
	}
}

/* ---- scheduler actions ---- */

static bool have_asset(const char *sha, void *ud)
{
	return cache_has_asset(((struct node *)ud)->cache, sha);
}

/* Play a live stream: the player pulls its PCM from the jitter buffer. */
static void play_live(struct node *n, const struct sched_act *a)
{
	struct player_live src;
	struct player_item it = {
		.token = a->token,
		.start_us = a->at_ms * 1000 - tsync_offset_us(n->tsync),
		.volume = a->volume,
		.live = &src,
	};
	int r;

	/* Open after a restart too (idempotent; the alert's window is then
	 * its start to its expiry): a stream that no longer sends ends after
	 * LIVE_IDLE_US with "no live audio received". */
	r = live_open(n->live, a->stream, ctrl_now_ms(n) * 1000, a->scheduled_ms * 1000,
		      a->deadline_ms * 1000);
	if (r == 0)
		r = live_player_source(n->live, a->stream, &src);
	if (r < 0) {
		sched_on_failed(n->sched, a->token, ctrl_now_ms(n),
				r == -ENOSPC ? "too many live streams" : "out of memory");
		return;
	}
	n->last_volume = a->volume;
	log_info("play live %s (stream %s) now (priority %d, volume %d)", a->id, a->stream,
		 a->priority, a->volume);
	if (player_start(n->player, &it) < 0)
		sched_on_failed(n->sched, a->token, ctrl_now_ms(n), "out of memory");
}

static void do_play(struct node *n, const struct sched_act *a)
{
	char (*paths)[512] = calloc(a->nassets ? a->nassets : 1, sizeof(*paths));
	const char **pp = calloc(a->nassets ? a->nassets : 1, sizeof(*pp));
	struct player_item it = {
		.token = a->token,
		.start_us = a->at_ms * 1000 - tsync_offset_us(n->tsync),
		.volume = a->volume,
		.npaths = a->nassets,
	};

	if (a->stream) {
		play_live(n, a);
		goto out;
	}
	if (!paths || !pp) {
		sched_on_failed(n->sched, a->token, ctrl_now_ms(n), "out of memory");
		goto out;
	}
	for (size_t i = 0; i < a->nassets; i++) {
		cache_asset_path(n->cache, a->assets[i], paths[i], sizeof(paths[i]));
		pp[i] = paths[i];
	}
	it.paths = pp;
	n->last_volume = a->volume;
	log_info("play %s at %lld (priority %d, volume %d)", a->id, (long long)a->at_ms,
		 a->priority, a->volume);
	if (player_start(n->player, &it) < 0)
		sched_on_failed(n->sched, a->token, ctrl_now_ms(n), "out of memory");
out:
	free(paths);
	free(pp);
}

static int64_t run_sched(struct node *n)
{
	struct sched_act acts[16];
	int64_t wake = INT64_MAX;
	size_t k;

	do {
		k = sched_tick(n->sched, ctrl_now_ms(n), acts, 16, &wake);
		/* The player first: a receipt is fsynced (hundreds of ms on a
		 * busy SD card), and an alert must not start that much late. */
		for (size_t i = 0; i < k; i++) {
			if (acts[i].type == SCHED_ACT_PLAY)
				do_play(n, &acts[i]);
			else if (acts[i].type == SCHED_ACT_STOP)
				player_stop(n->player, acts[i].token);
		}
		for (size_t i = 0; i < k; i++)
			if (acts[i].type == SCHED_ACT_RECEIPT)
				emit_receipt(n, &acts[i]);
	} while (k == 16);
	if (n->state_dirty)
		save_sched(n);
	/* The alerts seen, after the player has what it must play. */
	if (n->seen_dirty) {
		save_seen(n);
		n->seen_dirty = false;
	}
	return wake;
}

static void on_player(struct node *n)
{
	struct player_ev ev;

	while (player_next_event(n->player, &ev) == 1) {
		int64_t now = ctrl_now_ms(n);
		int64_t off = tsync_offset_us(n->tsync);

		switch (ev.type) {
		case PLAYER_EV_STARTED:
			sched_on_started(n->sched, ev.token, (ev.started_us + off) / 1000,
					 ev.start_error_us);
			break;
		case PLAYER_EV_DONE:
			sched_on_done(n->sched, ev.token, now, ev.played_ms);
			break;
		case PLAYER_EV_STOPPED:
			sched_on_stopped(n->sched, ev.token, now, ev.played_ms);
			break;
		case PLAYER_EV_FAILED:
			log_warn("playback failed: %s", ev.reason);
			sched_on_failed(n->sched, ev.token, now, ev.reason);
			break;
		}
		n->status_dirty = true;
	}
}

static void on_connected(struct node *n)
{
	log_info("connected to %s:%d", n->cf->host, n->cf->port);
	n->nwanted = 0;
	n->connected_ms = ctrl_now_ms(n);
	want_assets(n);
	spool_flush(n->spool);
	spool_foreach(n->spool, resend_one, n);
	n->next_resend_ms = ctrl_now_ms(n) + RESEND_AFTER_MS;
	tsync_start_burst(n->tsync, cx_mono_us());
	publish_status(n, true);
}

/* ---- startup ---- */

static void restore(struct node *n)
{
	char *buf = NULL;
	size_t len;

	if (cache_get(n->cache, "plan.msg", ENV_MAX_BYTES, &buf, &len) == 0) {
		if (take_plan(n, buf, len, true) < 0)
			log_warn("the stored plan no longer verifies; waiting for a new one");
		free(buf);
	}
	if (cache_get(n->cache, "alerts.json", 16u << 20, &buf, &len) == 0) {
		if (seen_load(n->seen, buf, len) < 0)
			log_warn("alerts.json unreadable; alerts seen before are forgotten");
		seen_prune(n->seen, ctrl_now_ms(n));
		free(buf);
	}
	if (cache_get(n->cache, "sched.json", 64u << 20, &buf, &len) == 0) {
		json_t *st = json_loadb(buf, len, 0, NULL);

		if (!st || sched_import(n->sched, st, ctrl_now_ms(n)) < 0)
			log_warn("scheduler state unreadable; starting afresh");
		json_decref(st);
		free(buf);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: cunxiang-node -c node.yaml\n\n"
		   "The speaker node daemon: plays its plan at the planned instants, keeps\n"
		   "playing from its cache when the broker is away, and reports receipts.\n\n"
		   "  -c --config FILE  node configuration (default /etc/cunxiang/node.yaml)\n"
		   "     --print-key    print this pole's public key (creating the key in\n"
		   "                    state_dir if it has none) for `cunxiang enrol`, and exit\n"
		   "  -h --help         show this help\n"
		   "     --version      show the version\n\n"
		   "See cunxiang-node(8).\n");
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

/* The signed offline status of this start: the will, and a clean stop. */
static int sign_offline(struct node *n)
{
	struct status st;

	status_init(&st);
	snprintf(st.node, sizeof(st.node), "%s", n->cf->id);
	st.boot = n->boot;
	st.n = 0;
	st.state = STATUS_OFFLINE;
	snprintf(st.version, sizeof(st.version), "%s", CX_VERSION);
	return status_sign(&st, n->sk, &n->offline_msg, &n->offline_len);
}

static int setup(struct node *n, const char *config)
{
	struct diag *d = diag_new();
	struct player_cfg pc;
	const char *subs[7];
	struct spool_signer sig;
	struct mq_cfg mc;
	char *rpath;
	char cid[64], why[PATH_MAX + 300];
	int r;

	n->cf = nconf_load(config, d);
	if (!n->cf) {
		diag_print(d, stderr);
		diag_free(d);
		return -EINVAL;
	}
	diag_free(d);
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
	n->sched = sched_new(LEAD_MS + n->cf->warmup_ms);
	n->tsync = tsync_new();
	n->seen = seen_new();
	if (!n->sched || !n->tsync || !n->seen)
		return -ENOMEM;
	sched_set_have(n->sched, have_asset, n);
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
	restore(n);

	if ((r = sign_offline(n)) < 0) {
		log_err("cannot sign the offline status: %s", strerror(-r));
		return r;
	}
	subs[0] = n->t_plan;
	subs[1] = n->t_alert;
	subs[2] = n->t_cmd;
	subs[3] = n->t_ack;
	subs[4] = n->t_pong;
	subs[5] = WIRE_SUB_LIVE;
	subs[6] = n->t_keys;
	snprintf(cid, sizeof(cid), "cx-node-%s", n->cf->id);
	mc = (struct mq_cfg){
		.client_id = cid, .host = n->cf->host, .port = n->cf->port,
		.tls = n->cf->tls, .ca_file = n->cf->ca_file,
		.username = n->cf->username, .password = n->cf->password,
		.clean_start = false, .session_expiry_s = SESSION_EXPIRY_S,
		.max_packet = ASSET_MAX_BYTES + 65536, .keepalive_s = 30,
		.will_topic = n->t_status, .will_payload = n->offline_msg,
		.will_len = n->offline_len, .will_retain = true,
		.subs = subs, .nsubs = 7, .sub_qos = 1,
		.direct = direct_live, .direct_ud = n,
	};
	n->mq = mq_new(&mc);
	if (!n->mq) {
		log_err("cannot start the MQTT session: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void teardown(struct node *n)
{
	if (n->sched && n->cache)
		save_sched(n);
	if (n->mq && mq_connected(n->mq) && n->offline_msg) {
		/* A clean stop sends no will, so say "offline" ourselves. */
		mq_publish(n->mq, n->t_status, n->offline_msg, n->offline_len, 1, true);
		mq_flush(n->mq, 1000);
	}
	mq_free(n->mq);
	player_free(n->player);
	live_free(n->live);         /* after the player: it reads from it */
	tsync_free(n->tsync);
	sched_free(n->sched);
	spool_close(n->spool);
	reserve_close(n->reserve);
	cache_close(n->cache);
	plan_free(n->plan);
	free(n->plan_msg);
	free(n->offline_msg);
	free(n->wanted);
	free(n->wanted_ms);
	while (n->nalerts)
		drop_alert(n, n->nalerts - 1);
	free(n->alerts);
	free(n->alert_added);
	seen_free(n->seen);
	sodium_memzero(n->sk, sizeof(n->sk));
	trust_close(&n->trust);
	free(n->keys_unsaved);
	nconf_free(n->cf);
}

/* --print-key: the public key to enrol this pole with. */
static int print_key(const char *config)
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "print-key", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *config = "/etc/cunxiang/node.yaml";
	struct node n = { 0 };
	bool show_key = false;
	sigset_t mask;
	int c, sfd, rc = 0;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'K': show_key = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("cunxiang-node %s\n", CX_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	cx_log_init("cunxiang-node");
	if (show_key)
		return print_key(config);
	n.started_mono_us = cx_mono_us();
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (setup(&n, config) < 0) {
		teardown(&n);
		return 1;
	}
	{
		char b64[ENV_PK_B64_LEN + 1];

		env_key_to_base64(n.pub.pk, b64);
		log_info("node %s up (boot %lld); state in %s, audio on '%s'; node key %s, "
			 "enrolled with: cunxiang enrol %s %s", n.cf->id, (long long)n.boot,
			 n.cf->state_dir, n.cf->device, n.pub.id, n.cf->id, b64);
	}
	cx_notify("READY=1");
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = mq_fd(n.mq), .events = POLLIN },
			{ .fd = player_fd(n.player), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		struct mq_event ev;
		int64_t now, wake, timeout;

		while (mq_next(n.mq, &ev) == 1) {
			if (ev.type == MQ_EV_CONNECTED)
				on_connected(&n);
			else if (ev.type == MQ_EV_DISCONNECTED) {
				log_warn("broker connection lost: %s; playing from cache", ev.reason);
				n.connected_ms = 0;
			}
			else
				on_message(&n, &ev);
			mq_event_clear(&ev);
		}
		on_player(&n);
		hand_alerts(&n);
		end_live(&n);
		wake = run_sched(&n);
		now = ctrl_now_ms(&n);
		if (mq_connected(n.mq)) {
			char *ping;
			size_t plen;
			int64_t t0;

			while (tsync_due(n.tsync, cx_mono_us(), &t0)) {
				if (ctl_ping_build(t0, &ping, &plen) == 0)
					mq_publish(n.mq, n.t_ping, ping, plen, 0, false);
				free(ping);
			}
			if (now >= n.next_resend_ms) {
				spool_flush(n.spool);
				spool_foreach(n.spool, resend_one, &n);
				n.next_resend_ms = now + RESEND_AFTER_MS;
				if (n.keys_unsaved)
					take_keys(&n, n.keys_unsaved, n.keys_unsaved_len);
			}
			send_want(&n, now);
			if (now >= n.next_status_ms && reserve_short(n.reserve) &&
			    reserve_refill(n.reserve) == 0)
				log_info("the disk has room again; the reserve is whole");
			publish_status(&n, now >= n.next_status_ms);
		}
		if (live_next_us(n.live) / 1000 < wake)
			wake = live_next_us(n.live) / 1000;
		timeout = wake == INT64_MAX ? 1000 : wake - now;
		if (timeout > 1000)
			timeout = 1000;
		if (timeout < 0)
			timeout = 0;
		if (tsync_next_us(n.tsync, cx_mono_us()) / 1000 < timeout)
			timeout = tsync_next_us(n.tsync, cx_mono_us()) / 1000;
		cx_notify_watchdog();
		if (poll(pfd, 3, (int)timeout) < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			rc = 1;
			break;
		}
		if (pfd[2].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP) {
				log_info("stopping on signal %u", si.ssi_signo);
				break;
			}
		}
	}
	cx_notify("STOPPING=1");
	teardown(&n);
	close(sfd);
	return rc;
}
