/* SPDX-License-Identifier: GPL-2.0-or-later */
/* serve.c -- `cunxiang serve`: publish plans and assets, ingest receipts, track nodes */
#include "config.h"

#include "ackq.h"
#include "asset.h"
#include "capd.h"
#include "cconf.h"
#include "commands.h"
#include "compile.h"
#include "ctlmsg.h"
#include "cxtime.h"
#include "diag.h"
#include "fileio.h"
#include "hash.h"
#include "keyring.h"
#include "log.h"
#include "mq.h"
#include "notify.h"
#include "pub.h"
#include "receipt.h"
#include "report/query.h"
#include "schedule.h"
#include "store.h"
#include "tts.h"
#include "wire.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
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
/* The session for what poles send: receipts, status, pings and wants are
 * small, so the broker never hands it anything large, and what waits for
 * the main loop is bounded (a pole resends what is dropped). */
#define INGEST_MAX_PACKET (WIRE_SMALL_MAX + 4096)
#define INGEST_MAX_QUEUE (16u << 20)
/* The session that publishes and watches the retained plans and assets. */
#define RETAINED_MAX_PACKET (ASSET_MAX_BYTES + 65536)
#define RETAINED_MAX_QUEUE (128u << 20)
#define AUDIT_WAIT_MS 5000          /* after (re)connecting, retained messages arrive by then */
#define REPAIR_EVERY_MS 10000       /* republish one topic at most this often */
#define QUARANTINE_PER_S 20         /* rows stored per second; the rest are counted */
#define PONGS_PER_S 50              /* per node */
#define RESEND_EVERY_MS 10000       /* ask a pole with a hole for its receipts */

/* When a name (node or asset) was last acted on: repairs, pongs, resends. */
struct stamp {
	char name[WIRE_ARG_MAX + 1];
	int64_t ms;
	int count;
};

struct stamps {
	struct stamp *v;
	size_t n, cap;
};

/* Names seen on the retained session since it (re)connected. */
struct seen_set {
	char (*v)[WIRE_ARG_MAX + 1];
	size_t n, cap;
	bool sorted;
};

struct serve {
	struct cconf *cf;
	struct store *store;
	struct pub pub;              /* acks, pongs, commands: on mq */
	struct pub pubr;             /* plans and assets: on mqr */
	struct mq *mq;               /* what poles send */
	struct mq *mqr;              /* retained plans and assets, published and watched */
	struct keyring *keys;
	char *plans_dir;             /* the signed plan last published per node */
	int64_t audit_at_ms;         /* check what the broker holds then; 0 none due */
	bool in_tx;                  /* a drain's batch transaction is open */
	struct seen_set seen_plans, seen_assets;
	struct stamps repaired, pongs, resends;
	int64_t quar_second;         /* quarantine rows stored this second */
	int quar_n;
	uint64_t forged, forged_logged, dropped_logged;
	int64_t next_report_ms;
	char *voices;
	char *assets_dir, *cache_dir;
	int ino;
	int64_t rebuild_at_ms;     /* debounced schedule change, 0 = none */
	int64_t from_day;          /* local day number of the plans on the air */
	int64_t next_gc_ms;
	bool published_once;
	struct ackq *acks;           /* committed receipts not acked yet */
	struct capd *capd;           /* automatic warnings (CAP), on a thread of their own */
};

/* ---- plans ---- */

static void seen_add(struct seen_set *t, const char *name);

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
		char topic[WIRE_TOPIC_MAX];
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
		if (wire_topic(WIRE_T_ASSET, a->sha, topic) < 0)
			continue;
		r = pub_file(&s->pubr, topic, a->path, ASSET_MAX_BYTES);
		if (r < 0) {
			log_err("cannot publish asset %.12s: %s", a->sha, strerror(-r));
			failed++;
			continue;
		}
		store_asset_set_published(s->store, a->sha, true);
		seen_add(&s->seen_assets, a->sha);
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

/* PLANS_DIR/NODE.msg: the signed plan last published to NODE, which the
 * broker must hold retained (see audit). */
static char *plan_file(const struct serve *s, const char *node)
{
	char name[WIRE_NODE_MAX + 8];

	snprintf(name, sizeof(name), "%.32s.msg", node);
	return fio_join(s->plans_dir, name);
}

/* Sign PLAN, keep the signed bytes, publish them retained. \retval 0 / -errno */
static int publish_plan(struct serve *s, const char *node, json_t *plan)
{
	char topic[WIRE_TOPIC_MAX], *msg = NULL, *path = NULL;
	size_t len;
	int r;

	if ((r = wire_topic(WIRE_T_PLAN, node, topic)) < 0 ||
	    (r = wire_sign(plan, s->pubr.sk, &msg, &len)) < 0)
		return r;
	path = plan_file(s, node);
	r = path ? fio_write_atomic(path, msg, len, 0644) : -ENOMEM;
	if (r == 0)
		r = mq_publish(s->mqr, topic, msg, len, 1, true);
	/* Our own publishes do not come back (no-local): count it as held. */
	if (r == 0)
		seen_add(&s->seen_plans, node);
	free(path);
	free(msg);
	return r;
}

/* What the store keeps of a plan it published: the SHA-256 of its content
 * (BODY) and of the id of the key that signs it, so that a new signing_key
 * (README, "Rotating the controller's key") publishes every plan again. */
static void plan_sha(const struct serve *s, const char *body, size_t len,
		     char sha[CX_SHA256_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)body, len);
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)s->pubr.key.id, ENV_KEYID_LEN);
	crypto_hash_sha256_final(&st, h);
	cx_hex(h, sizeof(h), sha);
}

/* Sign and publish the plans whose content or signing key changed since
 * the store last saw them; issued_ms grows strictly so nodes take the
 * newest. */
static int publish_plans(struct serve *s, const struct schedule *m, const struct compile *c)
{
	size_t n = compile_node_count(c), changed = 0;

	for (size_t i = 0; i < n; i++) {
		const char *node = schedule_node(m, i)->id;
		char sha[CX_SHA256_HEX], last_sha[CX_SHA256_HEX] = "";
		int64_t last_issued = 0, issued;
		size_t len;
		char *body;
		json_t *j;
		int r;

		if (compile_plan_dump(c, i, &body, &len) < 0)
			return -ENOMEM;
		while (len > 0 && body[len - 1] == '\n')
			body[--len] = '\0';
		plan_sha(s, body, len, sha);
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
		r = publish_plan(s, node, j);
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
	if (m && strcmp(schedule_township(m)->timezone, cx_tz_selected()) != 0)
		diag_error(d, NULL, 0, 0, "the township's time zone changed from %s to %s: "
			   "restart cunxiang serve to apply it", cx_tz_selected(),
			   schedule_township(m)->timezone);
	if (m && !diag_errors(d)) {
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

/* ---- small sets and rate limits ---- */

/* The stamp of NAME in T, made if missing; NULL on ENOMEM. */
static struct stamp *stamp_of(struct stamps *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct stamp *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	memset(&t->v[t->n], 0, sizeof(t->v[0]));
	snprintf(t->v[t->n].name, sizeof(t->v[0].name), "%s", name);
	t->v[t->n].ms = INT64_MIN / 2;
	return &t->v[t->n++];
}

/* True (and stamped) if NAME was not acted on in the last EVERY_MS. */
static bool due(struct stamps *t, const char *name, int64_t now, int64_t every_ms)
{
	struct stamp *x = stamp_of(t, name);

	if (!x || now - x->ms < every_ms)
		return false;
	x->ms = now;
	return true;
}

/* At most PER_S times a second for NAME. */
static bool within_rate(struct stamps *t, const char *name, int64_t now, int per_s)
{
	struct stamp *x = stamp_of(t, name);

	if (!x)
		return false;
	if (now - x->ms >= 1000) {
		x->ms = now;
		x->count = 0;
	}
	return x->count++ < per_s;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void seen_sort(struct seen_set *t)
{
	size_t k = 0;

	if (t->sorted)
		return;
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(t->v[0]), cmp_name);
	for (size_t i = 0; i < t->n; i++)
		if (!k || strcmp(t->v[k - 1], t->v[i]))
			memmove(t->v[k++], t->v[i], sizeof(t->v[0]));
	t->n = t->n ? k : 0;
	t->sorted = true;
}

static bool seen_has(struct seen_set *t, const char *name)
{
	seen_sort(t);
	return t->n && bsearch(name, t->v, t->n, sizeof(t->v[0]), cmp_name);
}

/* Duplicates are dropped at the next sort: the set holds at most the
 * plans and assets this controller published, plus what came in between. */
static void seen_add(struct seen_set *t, const char *name)
{
	if (t->sorted && t->n && bsearch(name, t->v, t->n, sizeof(t->v[0]), cmp_name))
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		char (*v)[WIRE_ARG_MAX + 1] = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return;
		t->v = v;
		t->cap = cap;
	}
	snprintf(t->v[t->n++], sizeof(t->v[0]), "%s", name);
	t->sorted = false;
}

static void seen_del(struct seen_set *t, const char *name)
{
	char (*x)[WIRE_ARG_MAX + 1];

	seen_sort(t);
	x = t->n ? bsearch(name, t->v, t->n, sizeof(t->v[0]), cmp_name) : NULL;
	if (!x)
		return;
	memmove(x, x + 1, (size_t)(t->v + t->n - (x + 1)) * sizeof(*x));
	t->n--;
}

/* ---- what does not verify ---- */

/* What one drain writes goes into one transaction: a flood costs one
 * commit per batch, not one per message. */
static bool batch_begin(struct serve *s)
{
	if (!s->in_tx && store_begin(s->store) == 0)
		s->in_tx = true;
	return s->in_tx;
}

/* Count, keep a bounded sample in the store's quarantine, log sparingly. */
static void forged(struct serve *s, const struct mq_event *ev, const char *node, const char *why)
{
	int64_t now = cx_now_ms();

	s->forged++;
	if (now / 1000 != s->quar_second) {
		s->quar_second = now / 1000;
		s->quar_n = 0;
	}
	if (s->quar_n++ < QUARANTINE_PER_S && batch_begin(s) &&
	    store_quarantine(s->store, ev->topic, node, why, ev->payload, ev->len, now) < 0)
		log_err("cannot keep a refused message: %s", store_errmsg(s->store));
	if (s->forged - s->forged_logged == 1 && s->forged < 20)
		log_warn("refused a message on %s: %s", ev->topic, why);
}

static const char *verify_error(int r)
{
	switch (r) {
	case -ENOKEY: return "the node is not enrolled";
	case -EBUSY: return "too many bad signatures from this node lately; not checked";
	case -EKEYEXPIRED: return "not signed by the node's enrolled key";
	default: return env_strerror(r);
	}
}

/* ---- incoming ---- */

static void send_ack(const char *node, const char *key, uint64_t seq, void *ud)
{
	struct serve *s = ud;
	struct ctl_ack a = { .seq = (int64_t)seq };
	char topic[WIRE_TOPIC_MAX], *msg = NULL;
	size_t len;

	snprintf(a.node, sizeof(a.node), "%s", node);
	snprintf(a.key, sizeof(a.key), "%s", key);
	if (wire_topic(WIRE_T_ACK, a.node, topic) == 0 && ctl_ack_sign(&a, s->pub.sk, &msg, &len) == 0)
		mq_publish(s->mq, topic, msg, len, 1, false);
	free(msg);
}

/* Send the acks that are due (all of them when ALL). \retval ms until the
 * next one is, -1 none */
static int64_t send_acks(struct serve *s, bool all)
{
	return ackq_due(s->acks, cx_mono_us() / 1000, all, send_ack, s);
}

/* Ask NODE for its unacknowledged receipts now: a hole in what is stored
 * closes without waiting for the pole's own resend. */
static void ask_resend(struct serve *s, const char *node, int64_t now)
{
	struct ctl_cmd_msg c = { .issued_ms = now, .cmd = CTL_CMD_RESEND };
	char topic[WIRE_TOPIC_MAX], *msg = NULL;
	size_t len;

	if (!due(&s->resends, node, now, RESEND_EVERY_MS))
		return;
	snprintf(c.node, sizeof(c.node), "%.32s", node);
	if (wire_topic(WIRE_T_CMD, node, topic) == 0 && ctl_cmd_sign(&c, s->pub.sk, &msg, &len) == 0 &&
	    mq_publish(s->mq, topic, msg, len, 1, false) == 0)
		log_info("receipts of %s have a hole; asked it to resend", node);
	free(msg);
}

static void on_receipt(struct serve *s, const char *node, const struct mq_event *ev)
{
	const struct store_key *k;
	struct receipt rc;
	int64_t now = cx_now_ms(), ack = 0;
	size_t jl;
	int r = keyring_verify(s->keys, node, (const char *)ev->payload, ev->len, &jl, now);

	if (r < 0) {
		forged(s, ev, node, verify_error(r));
		return;
	}
	batch_begin(s);
	r = store_receipt(s->store, node, (const char *)ev->payload, jl, now, &ack);
	if (r == -ENOKEY) {
		forged(s, ev, node, "the node is not enrolled");
		return;
	}
	if (r == -EBADMSG)
		log_warn("bad receipt from %s: %s", node, store_errmsg(s->store));
	else if (r < 0)
		log_err("cannot store receipt from %s: %s", node, store_errmsg(s->store));
	k = keyring_get(s->keys, node, now);
	if ((r >= 0 || r == -EBADMSG) && ack > 0 && k)
		if (ackq_add(s->acks, node, k->key.id, (uint64_t)ack, cx_mono_us() / 1000) < 0)
			log_err("out of memory: receipts of %s are not acknowledged until it sends again",
				node);
	if (r >= 0 && receipt_parse((const char *)ev->payload, jl, node, &rc, NULL, 0) == 0 &&
	    rc.seq > ack + 1)
		ask_resend(s, node, now);
}

static void on_status(struct serve *s, const char *node, const struct mq_event *ev)
{
	int64_t now = cx_now_ms();
	size_t jl;
	int r;

	if (ev->len == 0)
		return; /* a cleared retained status */
	r = keyring_verify(s->keys, node, (const char *)ev->payload, ev->len, &jl, now);
	if (r < 0) {
		forged(s, ev, node, verify_error(r));
		return;
	}
	batch_begin(s);
	r = store_status(s->store, node, (const char *)ev->payload, jl, now, ev->retain);
	if (r == -ESTALE)
		forged(s, ev, node, "an old status sent again");
	else if (r == -EBADMSG)
		log_warn("bad status from %s: %s", node, store_errmsg(s->store));
	else if (r < 0 && r != -ENOKEY)
		log_err("cannot store status of %s: %s", node, store_errmsg(s->store));
}

/* Pings are not signed: they are answered for enrolled nodes only, at most
 * PONGS_PER_S a second each; the pong names the node and the ping. */
static void on_ping(struct serve *s, const char *node, const struct mq_event *ev)
{
	struct ctl_pong p = { .t1_us = ev->recv_us };
	char topic[WIRE_TOPIC_MAX], *msg = NULL;
	int64_t now = cx_now_ms();
	size_t len;

	if (!keyring_get(s->keys, node, now) || !within_rate(&s->pongs, node, now, PONGS_PER_S) ||
	    ctl_ping_parse((const char *)ev->payload, ev->len, &p.t0_us, NULL, 0) < 0)
		return;
	snprintf(p.node, sizeof(p.node), "%.32s", node);
	p.t2_us = cx_now_us();
	if (wire_topic(WIRE_T_PONG, node, topic) == 0 && ctl_pong_sign(&p, s->pub.sk, &msg, &len) == 0)
		mq_publish(s->mq, topic, msg, len, 0, false);
	free(msg);
}

/* ---- what the broker holds ---- */

/* A topic repaired a moment ago is wrong again: the audit, once its
 * REPAIR_EVERY_MS are up, republishes whatever is not held as published. */
static void repair_later(struct serve *s)
{
	int64_t at = cx_now_ms() + REPAIR_EVERY_MS;

	if (!s->audit_at_ms || s->audit_at_ms > at)
		s->audit_at_ms = at;
}

static void republish_plan(struct serve *s, const char *node, const char *why)
{
	char topic[WIRE_TOPIC_MAX], *path, *buf = NULL;
	size_t len;
	int r;

	if (!due(&s->repaired, node, cx_now_ms(), REPAIR_EVERY_MS)) {
		repair_later(s);
		return;
	}
	path = plan_file(s, node);
	r = path ? fio_read_all(path, ENV_MAX_BYTES, &buf, &len) : -ENOMEM;
	if (r == 0 && (r = wire_topic(WIRE_T_PLAN, node, topic)) == 0)
		r = mq_publish(s->mqr, topic, buf, len, 1, true);
	if (r == 0) {
		seen_add(&s->seen_plans, node);
		log_warn("republished the plan of %s: %s", node, why);
	}
	else if (r != -ENOENT)
		log_err("cannot republish the plan of %s: %s", node, strerror(-r));
	free(buf);
	free(path);
}

static void republish_asset(struct serve *s, const char *sha, const char *why)
{
	char topic[WIRE_TOPIC_MAX], name[CX_SHA256_HEX + 8], *path;
	struct store_asset sa;
	int r;

	if (store_asset_get(s->store, sha, &sa) < 0 || !sa.published)
		return;
	if (!due(&s->repaired, sha, cx_now_ms(), REPAIR_EVERY_MS)) {
		repair_later(s);
		return;
	}
	snprintf(name, sizeof(name), "%s.opus", sha);
	path = fio_join(s->assets_dir, name);
	r = path && wire_topic(WIRE_T_ASSET, sha, topic) == 0 ?
		pub_file(&s->pubr, topic, path, ASSET_MAX_BYTES) : -ENOMEM;
	if (r == 0) {
		seen_add(&s->seen_assets, sha);
		log_warn("republished asset %.12s: %s", sha, why);
	}
	else
		log_err("cannot republish asset %.12s: %s", sha, strerror(-r));
	free(path);
}

/* A message on a retained topic that this session did not publish (its
 * subscription is no-local), or the broker's retained copy at subscribe. */
static void on_retained(struct serve *s, const struct mq_event *ev)
{
	char arg[WIRE_ARG_MAX + 1], *path, *buf = NULL, sha[CX_SHA256_HEX];
	enum wire_topic k = wire_topic_parse(ev->topic, arg);
	struct store_asset sa;
	size_t len;

	if (k == WIRE_T_PLAN) {
		path = plan_file(s, arg);
		/* Only the plans this controller published are its to keep. */
		if (path && fio_read_all(path, ENV_MAX_BYTES, &buf, &len) == 0) {
			if (len == ev->len && !memcmp(buf, ev->payload, len)) {
				seen_add(&s->seen_plans, arg);
			} else {
				seen_del(&s->seen_plans, arg);
				republish_plan(s, arg, ev->len ? "the broker held another" :
					       "the broker's copy was cleared");
			}
		}
		free(buf);
		free(path);
	} else if (k == WIRE_T_ASSET && store_asset_get(s->store, arg, &sa) == 0 &&
		   sa.published) {
		if (ev->len)
			cx_sha256_hex(ev->payload, ev->len, sha);
		if (ev->len && !strcmp(sha, arg)) {
			seen_add(&s->seen_assets, arg);
		} else {
			seen_del(&s->seen_assets, arg);
			republish_asset(s, arg, ev->len ? "the broker held other bytes" :
					"the broker's copy was cleared");
		}
	}
}

static int audit_asset(const struct store_asset *a, void *ud)
{
	struct serve *s = ud;

	if (a->published && !seen_has(&s->seen_assets, a->sha))
		republish_asset(s, a->sha, "the broker did not hold it");
	return 0;
}

/* AUDIT_WAIT_MS after the retained session (re)connected, and after a
 * repair that had to wait: every plan and asset published that the broker
 * did not send back (or sent back wrong) is missing there. */
static void audit(struct serve *s)
{
	struct store_node *v = NULL;
	size_t n = 0;

	s->audit_at_ms = 0; /* a repair not yet due sets it again */
	if (rq_nodes(s->store, &v, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (v[i].in_fleet && v[i].published_issued_ms != STORE_NONE &&
			    !seen_has(&s->seen_plans, v[i].id))
				republish_plan(s, v[i].id, "the broker did not hold it");
	free(v);
	store_assets_stale(s->store, INT64_MAX, audit_asset, s);
}

/* A pole lacks its plan or assets (absent or wrong on the broker). */
static void on_want(struct serve *s, const char *node, const struct mq_event *ev)
{
	struct ctl_want w;
	int64_t now = cx_now_ms();
	char err[160];
	size_t jl;
	int r = keyring_verify(s->keys, node, (const char *)ev->payload, ev->len, &jl, now);

	if (r < 0) {
		forged(s, ev, node, verify_error(r));
		return;
	}
	if (ctl_want_parse((const char *)ev->payload, jl, node, &w, err, sizeof(err)) < 0) {
		log_warn("bad request from %s: %s", node, err);
		return;
	}
	if (w.plan)
		republish_plan(s, node, "the node asked for it");
	for (size_t i = 0; i < w.nassets; i++)
		republish_asset(s, w.assets[i], "a node asked for it");
}

static void on_message(struct serve *s, const struct mq_event *ev)
{
	char node[WIRE_ARG_MAX + 1];

	switch (wire_topic_parse(ev->topic, node)) {
	case WIRE_T_RECEIPT: on_receipt(s, node, ev); break;
	case WIRE_T_STATUS: on_status(s, node, ev); break;
	case WIRE_T_PING: on_ping(s, node, ev); break;
	case WIRE_T_WANT: on_want(s, node, ev); break;
	default: break;
	}
}

static int drain(struct serve *s)
{
	struct mq_event ev;
	int n = 0, r = 0;

	while (n < MAX_BATCH && mq_next(s->mq, &ev) == 1) {
		if (ev.type == MQ_EV_MESSAGE)
			on_message(s, &ev);
		else if (ev.type == MQ_EV_CONNECTED)
			log_info("connected to the broker %s", s->cf->broker);
		else
			log_warn("broker connection lost: %s", ev.reason);
		mq_event_clear(&ev);
		n++;
	}
	/* Receipts are acknowledged only once they are durable. */
	if (s->in_tx) {
		s->in_tx = false;
		r = store_commit(s->store);
		if (r < 0)
			log_err("cannot commit receipts: %s; not acknowledging them",
				store_errmsg(s->store));
		ackq_commit(s->acks, r == 0);
	}
	return n;
}

static void drain_retained(struct serve *s)
{
	struct mq_event ev;

	for (int n = 0; n < MAX_BATCH && mq_next(s->mqr, &ev) == 1; n++) {
		if (ev.type == MQ_EV_MESSAGE) {
			on_retained(s, &ev);
		} else if (ev.type == MQ_EV_CONNECTED) {
			s->audit_at_ms = cx_now_ms() + AUDIT_WAIT_MS;
		} else {
			/* What the broker holds is known again from the copies it
			 * sends at the next subscribe; what we publish from now on
			 * is queued and sent after the reconnect, so it counts. */
			s->seen_plans.n = s->seen_assets.n = 0;
		}
		mq_event_clear(&ev);
	}
}

/* ---- housekeeping ---- */

static int clear_stale_asset(const struct store_asset *a, void *ud)
{
	struct serve *s = ud;
	const char *sha = a->sha;
	char topic[WIRE_TOPIC_MAX];

	if (!a->published || wire_topic(WIRE_T_ASSET, sha, topic) < 0)
		return 0;
	/* An empty retained message removes the retained one. */
	if (mq_publish(s->mqr, topic, "", 0, 1, true) == 0) {
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
		   "acknowledges receipts once stored, and tracks node status. Only what a\n"
		   "pole signed with its enrolled key counts (see `cunxiang enrol`); what the\n"
		   "broker holds retained is checked, and republished when missing or wrong.\n\n"
		   "  -c --config FILE  controller configuration (default /etc/cunxiang/controller.yaml)\n"
		   "  -h --help         show this help\n"
		   "     --version      show the version\n\n"
		   "See cunxiang(1).\n");
}

static int serve_setup(struct serve *s, const char *config)
{
	static const char *const subs[] = {
		WIRE_SUB_RECEIPTS, WIRE_SUB_STATUS, WIRE_SUB_PINGS, WIRE_SUB_WANTS,
	};
	/* Statuses and pings at QoS 0: a status is retained and sent again,
	 * a ping repeats; no PUBACK for each spares serve a write per message
	 * under a flood. Receipts and wants must arrive: QoS 1. */
	static const int subs_qos[] = { 1, 0, 0, 1 };
	static const char *const rsubs[] = { WIRE_SUB_PLANS, WIRE_SUB_ASSETS };
	struct diag *d = diag_new();
	char err[300], *dbpath, *zone;
	int r;

	s->cf = cconf_load(config, d);
	if (!s->cf) {
		diag_print(d, stderr);
		diag_free(d);
		return -EINVAL;
	}
	diag_free(d);
	/* The township's zone, selected once before the MQTT threads start;
	 * a rebuild that finds it changed keeps the plans on the air. */
	if (!(zone = schedule_read_zone(s->cf->schedules)))
		return -ENOMEM;
	r = cx_tz_set(zone);
	if (r < 0)
		log_err("cannot select the time zone %s: %s", zone, strerror(-r));
	free(zone);
	if (r < 0)
		return r;
	s->voices = voices_dir_find(NULL, s->cf->voices, s->cf->schedules);
	if (!s->voices) {
		log_err("no voices directory found (set voices: in %s)", config);
		return -ENOENT;
	}
	s->assets_dir = fio_join(s->cf->data_dir, "assets");
	s->cache_dir = fio_join(s->cf->data_dir, "cache");
	s->plans_dir = fio_join(s->cf->data_dir, "plans");
	dbpath = fio_join(s->cf->data_dir, "receipts.db");
	if (!s->assets_dir || !s->cache_dir || !s->plans_dir || !dbpath) {
		free(dbpath);
		return -ENOMEM;
	}
	if ((r = fio_mkdir_p(s->assets_dir, 0755)) < 0 || (r = fio_mkdir_p(s->cache_dir, 0755)) < 0 ||
	    (r = fio_mkdir_p(s->plans_dir, 0755)) < 0) {
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
	s->keys = keyring_new(s->store);
	if (!s->keys || !(s->acks = ackq_new())) {
		log_err("cannot read the enrolled node keys: %s", store_errmsg(s->store));
		return -EIO;
	}
	if (!keyring_count(s->keys))
		log_warn("no node is enrolled: nothing a pole sends will count until its key is "
			 "enrolled with `cunxiang enrol`");
	r = pub_init(&s->pub, s->cf->signing_key, err, sizeof(err));
	if (r < 0) {
		log_err("%s", err);
		return r;
	}
	s->pubr = s->pub;
	struct mq_cfg mc = {
		.client_id = "cx-controller", .host = s->cf->host, .port = s->cf->port,
		.tls = s->cf->tls, .ca_file = s->cf->ca_file,
		.username = s->cf->username, .password = s->cf->password,
		/* A persistent session: receipts sent while serve restarts wait
		 * in the broker. */
		.clean_start = false, .session_expiry_s = 7 * 86400,
		.keepalive_s = 30, .subs = subs, .nsubs = 4, .sub_qos_each = subs_qos,
		.max_packet = INGEST_MAX_PACKET, .max_queue_bytes = INGEST_MAX_QUEUE,
	};
	/* Plans and assets on their own session, which also watches what the
	 * broker holds for them: no-local, so only others' writes and the
	 * retained copies (at every connect) come back. */
	struct mq_cfg rc = {
		.client_id = "cx-controller-retained", .host = s->cf->host, .port = s->cf->port,
		.tls = s->cf->tls, .ca_file = s->cf->ca_file,
		.username = s->cf->username, .password = s->cf->password,
		.clean_start = true, .keepalive_s = 30, .subs = rsubs, .nsubs = 2, .sub_qos = 1,
		.sub_opts = MQ_SUB_NO_LOCAL, .max_packet = RETAINED_MAX_PACKET,
		.max_queue_bytes = RETAINED_MAX_QUEUE,
	};
	s->mq = mq_new(&mc);
	s->mqr = s->mq ? mq_new(&rc) : NULL;
	if (!s->mq || !s->mqr) {
		int e = errno;

		log_err("cannot start the MQTT session: %s", strerror(e));
		return -e;
	}
	s->pub.mq = s->mq;
	s->pubr.mq = s->mqr;
	s->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (s->ino >= 0) {
		char *audio = fio_join(s->cf->schedules, "audio");

		watch_dir(s, s->cf->schedules);
		if (audio && access(audio, F_OK) == 0)
			watch_dir(s, audio);
		free(audio);
		watch_dir(s, s->voices);
	}
	/* After the zone and with the signals blocked: it inherits both. */
	if (!(s->capd = capd_start(s->cf, err, sizeof(err))))
		log_err("%s; no CAP warning will be taken", err);
	return 0;
}

static void serve_teardown(struct serve *s)
{
	capd_stop(s->capd);
	if (s->mqr) {
		mq_flush(s->mqr, 2000);
		mq_free(s->mqr);
	}
	if (s->mq) {
		if (s->acks)
			send_acks(s, true);
		mq_flush(s->mq, 2000);
		mq_free(s->mq);
	}
	keyring_free(s->keys);
	pub_wipe(&s->pub);
	pub_wipe(&s->pubr);
	free(s->plans_dir);
	free(s->seen_plans.v);
	free(s->seen_assets.v);
	free(s->repaired.v);
	free(s->pongs.v);
	free(s->resends.v);
	store_close(s->store);
	if (s->ino >= 0)
		close(s->ino);
	free(s->voices);
	free(s->assets_dir);
	free(s->cache_dir);
	ackq_free(s->acks);
	cconf_free(s->cf);
	tts_shutdown();
}

/* How long the main loop may sleep at NOW: a second at most, less when a
 * rebuild, an audit or an ack (due in ACK_IN ms, -1 none) comes sooner. */
static int64_t poll_timeout(const struct serve *s, int64_t now, int64_t ack_in)
{
	int64_t timeout = 1000;

	if (s->rebuild_at_ms && s->rebuild_at_ms - now < timeout)
		timeout = s->rebuild_at_ms > now ? s->rebuild_at_ms - now : 0;
	if (s->audit_at_ms && s->audit_at_ms - now < timeout)
		timeout = s->audit_at_ms > now ? s->audit_at_ms - now : 0;
	if (ack_in >= 0 && ack_in < timeout)
		timeout = ack_in;
	return timeout;
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
	if (mq_wait_connected(s.mq, 10000) < 0 || mq_wait_connected(s.mqr, 10000) < 0)
		log_warn("broker %s not reachable yet; retrying in the background", s.cf->broker);
	s.rebuild_at_ms = cx_now_ms();
	cx_notify("READY=1");
	for (;;) {
		struct pollfd pfd[4] = {
			{ .fd = mq_fd(s.mq), .events = POLLIN },
			{ .fd = s.ino, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = mq_fd(s.mqr), .events = POLLIN },
		};
		int64_t now = cx_now_ms(), ack_in;

		while (drain(&s) == MAX_BATCH)
			;
		drain_retained(&s);
		ack_in = send_acks(&s, false);
		if (s.audit_at_ms && now >= s.audit_at_ms && !s.rebuild_at_ms)
			audit(&s);
		if (now >= s.next_report_ms) {
			uint64_t dropped = mq_dropped(s.mq);

			if (s.forged > s.forged_logged)
				log_warn("refused %llu messages that did not verify in the last minute "
					 "(a sample is kept in the store's quarantine)",
					 (unsigned long long)(s.forged - s.forged_logged));
			if (dropped > s.dropped_logged)
				log_warn("dropped %llu incoming messages: more came than could be "
					 "stored", (unsigned long long)(dropped - s.dropped_logged));
			s.forged_logged = s.forged;
			s.dropped_logged = dropped;
			s.next_report_ms = now + 60000;
		}
		if (s.rebuild_at_ms && now >= s.rebuild_at_ms && mq_connected(s.mqr)) {
			s.rebuild_at_ms = 0;
			if (s.published_once)
				capd_reload(s.capd); /* it read the directory when it started */
			if (rebuild(&s) == -EIO)
				s.rebuild_at_ms = now + 5000; /* the broker went away; retry */
		}
		/* Roll the horizon when the township's day changes. */
		if (s.published_once && local_day(now) != s.from_day && !s.rebuild_at_ms)
			s.rebuild_at_ms = now;
		if (now >= s.next_gc_ms && mq_connected(s.mqr)) {
			store_assets_stale(s.store, now - ASSET_GRACE_MS, clear_stale_asset, &s);
			s.next_gc_ms = now + 3600000;
		}
		cx_notify_watchdog();
		if (poll(pfd, 4, (int)poll_timeout(&s, now, ack_in)) < 0 && errno != EINTR) {
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
