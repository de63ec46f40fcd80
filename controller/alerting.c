/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alerting.c -- an alert from the controller to the poles: targets, id, record, publish */
#include "alerting.h"

#include "cxtime.h"
#include "report/query.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

/* ---- the targets ---- */

static int store_node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_node *)a)->id, ((const struct store_node *)b)->id);
}

/* F->sn is sorted by id. */
static const struct store_node *store_find(const struct alerting_fleet *f, const char *id)
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

static bool area_match(const struct alerting_scope *sc, const char *code)
{
	for (size_t i = 0; i < sc->nareas; i++)
		if (prefix_of(sc->areas[i], code))
			return true;
	return false;
}

static bool tag_match(const struct alerting_scope *sc, const struct schedule_node *sn)
{
	for (size_t i = 0; sn && i < sc->ntags; i++)
		for (size_t k = 0; k < sn->ntags; k++)
			if (!strcmp(sc->tags[i], sn->tags[k]))
				return true;
	return false;
}

static bool node_named(const struct alerting_scope *sc, const char *id)
{
	for (size_t i = 0; i < sc->nnodes; i++)
		if (!strcmp(sc->nodes[i], id))
			return true;
	return false;
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct alerting_node *)a)->id, ((const struct alerting_node *)b)->id);
}

struct alerting_node *alerting_find(const struct alerting_targets *t, const char *id)
{
	struct alerting_node key = { .id = id };

	return t->n ? bsearch(&key, t->t, t->n, sizeof(*t->t), node_cmp) : NULL;
}

static void node_add(struct alerting_targets *t, const struct alerting_fleet *f, const char *id,
		     const char *code, const char *name, bool in_fleet)
{
	t->t[t->n++] = (struct alerting_node){ .id = id, .village_code = code,
		.village_name = name, .sn = store_find(f, id), .in_fleet = in_fleet,
		.started_ms = STORE_NONE, .bspool = STORE_NONE };
}

/* Named nodes that neither fleet.yaml nor the store knows. */
static void add_unknown(struct alerting_targets *t, const struct alerting_fleet *f,
			const struct alerting_scope *sc)
{
	for (size_t i = 0; i < sc->nnodes; i++) {
		bool known = store_find(f, sc->nodes[i]) ||
			     (f->sch && schedule_node_find(f->sch, sc->nodes[i]) >= 0);
		bool dup = false;

		for (size_t k = 0; k < t->n && !dup; k++)
			dup = !strcmp(t->t[k].id, sc->nodes[i]);
		if (!known && !dup) {
			t->unknown[t->nunknown++] = sc->nodes[i];
			node_add(t, f, sc->nodes[i], "", "", false);
		}
	}
}

int alerting_resolve(struct alerting_fleet *f, const struct alerting_scope *sc,
		     struct alerting_targets *out)
{
	size_t nsch = f->sch ? schedule_node_count(f->sch) : 0;

	*out = (struct alerting_targets){ 0 };
	if (f->nsn)
		qsort(f->sn, f->nsn, sizeof(*f->sn), store_node_cmp);
	out->t = calloc(nsch + f->nsn + sc->nnodes + 1, sizeof(*out->t));
	out->unknown = calloc(sc->nnodes + 1, sizeof(*out->unknown));
	if (!out->t || !out->unknown) {
		alerting_targets_free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nsch; i++) {
		const struct schedule_node *sn = schedule_node(f->sch, i);

		if (area_match(sc, sn->village_code) || tag_match(sc, sn) || node_named(sc, sn->id))
			node_add(out, f, sn->id, sn->village_code, sn->village_name, true);
	}
	for (size_t i = 0; i < f->nsn; i++) {
		const struct store_node *sn = &f->sn[i];

		if (f->sch && schedule_node_find(f->sch, sn->id) >= 0)
			continue;
		if ((sn->in_fleet && area_match(sc, sn->village_code)) || node_named(sc, sn->id))
			node_add(out, f, sn->id, sn->village_code, sn->village_name, sn->in_fleet);
	}
	add_unknown(out, f, sc);
	if (out->n)
		qsort(out->t, out->n, sizeof(*out->t), node_cmp);
	return 0;
}

void alerting_targets_free(struct alerting_targets *t)
{
	if (!t)
		return;
	free(t->t);
	free(t->unknown);
	*t = (struct alerting_targets){ 0 };
}

bool alerting_area_reached(const struct alerting_targets *t, const char *area)
{
	for (size_t k = 0; k < t->n; k++)
		if (prefix_of(area, t->t[k].village_code))
			return true;
	return false;
}

bool alerting_tag_in_fleet(const struct schedule *sch, const char *tag)
{
	size_t nsch = sch ? schedule_node_count(sch) : 0;

	for (size_t k = 0; k < nsch; k++) {
		const struct schedule_node *sn = schedule_node(sch, k);

		for (size_t j = 0; j < sn->ntags; j++)
			if (!strcmp(sn->tags[j], tag))
				return true;
	}
	return false;
}

/* ---- the message ---- */

int alerting_message(const struct alerting_desc *d, struct alert **out)
{
	const struct alerting_scope *sc = &d->scope;
	struct alert *msg = calloc(1, sizeof(*msg));
	int r;

	*out = NULL;
	if (!msg)
		return -ENOMEM;
	r = alert_set_targets(msg, sc->areas, sc->nareas, sc->tags, sc->ntags, sc->nodes,
			      sc->nnodes);
	if (r < 0) {
		alert_free(msg);
		return r;
	}
	snprintf(msg->cls, sizeof(msg->cls), "%s", d->klass);
	snprintf(msg->title, sizeof(msg->title), "%s", d->title);
	msg->level = d->level;
	msg->issued_ms = msg->start_ms = d->issued_ms;
	msg->expires_ms = d->expires_ms;
	msg->duration_ms = d->duration_ms;
	msg->repeat = d->repeat;
	msg->volume = d->volume;
	*out = msg;
	return 0;
}

/* ---- the id ---- */

struct id_scan {
	const char *prefix;
	size_t plen;
	int max;
};

/* The NNNN of an id PREFIXNNNN, 1..9999, four digits. */
static int id_scan_fn(const struct store_alert *a, int64_t cancelled_ms, void *ud)
{
	struct id_scan *s = ud;
	const char *n = a->id + s->plen;
	int k = 0;

	(void)cancelled_ms;
	if (strncmp(a->id, s->prefix, s->plen) || strlen(n) != 4)
		return 0;
	for (size_t i = 0; i < 4; i++) {
		if (n[i] < '0' || n[i] > '9')
			return 0;
		k = k * 10 + (n[i] - '0');
	}
	if (k > s->max)
		s->max = k;
	return 0;
}

/* The highest NNNN stored for PREFIX (AREA-YYYYMMDD-) among the alerts
 * issued around DAY: the id's date is the issuing day, a margin covers
 * clock steps and zone changes. \retval 0 / -errno */
static int id_highest(struct store *st, const char *prefix, int64_t day, int *max)
{
	struct id_scan s = { .prefix = prefix, .plen = strlen(prefix) };
	int64_t from = 0, to = 0;
	int y, m, dd, r;

	cx_civil_from_days(day - 2, &y, &m, &dd);
	cx_tz_civil_to_ms(y, m, dd, 0, 0, &from);
	cx_civil_from_days(day + 3, &y, &m, &dd);
	cx_tz_civil_to_ms(y, m, dd, 0, 0, &to);
	r = rq_alerts(st, from, to, id_scan_fn, &s);
	*max = s.max;
	return r < 0 ? r : 0;
}

/* Add A under the first free id from PREFIX(MAX + 1) on, into ID.
 * \retval 0 / -ENOSPC / -errno */
static int id_claim(struct store *st, struct store_alert *a, const char *prefix, int max,
		    bool live, char id[ALERTING_ID_LEN], const char *const *nodes, size_t nnodes)
{
	for (int k = max + 1; k <= 9999; k++) {
		int r;

		snprintf(id, ALERTING_ID_LEN, "%s%04d", prefix, k);
		a->id = id;
		a->live = live ? id : NULL;
		r = store_alert_add(st, a, nodes, nnodes);
		if (r != -EEXIST)
			return r;
	}
	return -ENOSPC;
}

int alerting_record(struct store *st, const char *area, struct alert *msg, bool live,
		    const char *const *nodes, size_t nnodes, char *err, size_t errlen)
{
	char prefix[ALERTING_ID_LEN], id[ALERTING_ID_LEN], *tj = NULL;
	json_t *targets = alert_targets_json(msg);
	struct store_alert a;
	struct tm tm;
	int max, r;

	if (!targets || !(tj = json_dumps(targets, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		json_decref(targets);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_decref(targets);
	cx_tz_ms_to_civil(msg->issued_ms, &tm);
	snprintf(prefix, sizeof(prefix), "%s-%04d%02d%02d-", area, tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday);
	a = (struct store_alert){ .level = msg->level, .alert_class = msg->cls,
		.issued_ms = msg->issued_ms, .start_ms = msg->start_ms,
		.expires_ms = msg->expires_ms, .title = msg->title, .targets_json = tj };
	r = id_highest(st, prefix, cx_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday),
		       &max);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the alerts: %s", store_errmsg(st));
		goto out;
	}
	r = id_claim(st, &a, prefix, max, live, id, nodes, nnodes);
	if (r == -ENOSPC)
		snprintf(err, errlen, "no alert id left for today (%s9999 is taken)", prefix);
	else if (r < 0)
		snprintf(err, errlen, "cannot record the alert: %s", store_errmsg(st));
	if (r < 0)
		goto out;
	snprintf(msg->id, sizeof(msg->id), "%s", id);
	if (live)
		snprintf(msg->live, sizeof(msg->live), "%s", id);
out:
	free(tj);
	return r;
}

/* ---- publishing ---- */

int alerting_publish(struct pub *p, const struct alert *msg, int flush_ms)
{
	char topic[WIRE_TOPIC_MAX], *signed_msg = NULL;
	size_t signed_len;
	int r = alert_sign(msg, p->sk, &signed_msg, &signed_len);

	if (r == 0) {
		wire_topic(WIRE_T_ALERT, NULL, topic);
		r = mq_publish(p->mq, topic, signed_msg, signed_len, 1, false);
	}
	if (r == 0)
		r = mq_flush(p->mq, flush_ms);
	free(signed_msg);
	return r;
}

int alerting_cancel(struct store *st, struct pub *p, const char *ref, int64_t now, int flush_ms,
		    char *err, size_t errlen)
{
	struct alert msg = { .cancel = true };
	int r = store_alert_cancel(st, ref, now), again = r == -EALREADY;

	if (r < 0 && !again) {
		snprintf(err, errlen, "cannot record the cancel of %s: %s", ref, store_errmsg(st));
		return r;
	}
	snprintf(msg.id, sizeof(msg.id), "%.100s-cancel-%" PRId64, ref, now);
	snprintf(msg.ref, sizeof(msg.ref), "%s", ref);
	msg.issued_ms = now;
	r = alerting_publish(p, &msg, flush_ms);
	if (r < 0) {
		snprintf(err, errlen, "cannot publish the cancel of %s: %s", ref, strerror(-r));
		return r;
	}
	return again;
}

/* ---- the MQTT session ---- */

struct mq *alerting_mq_new(const struct cconf *cf, const char *cmd)
{
	static const char *const subs[] = { WIRE_SUB_RECEIPTS };
	char cid[64];
	struct mq_cfg mc = {
		.client_id = cid, .host = cf->host, .port = cf->port, .tls = cf->tls,
		.ca_file = cf->ca_file, .username = cf->username, .password = cf->password,
		/* A clean session of our own: the command only watches, serve
		 * keeps acking. */
		.clean_start = true, .keepalive_s = 30, .subs = subs, .nsubs = 1,
		/* QoS 0: the watch only shows progress, and what passes it by
		 * is in the store; no PUBACK per receipt. */
		.sub_qos = 0,
	};

	snprintf(cid, sizeof(cid), "cx-%s-%ld", cmd, (long)getpid());
	return mq_new(&mc);
}

int alerting_mq_wait(struct mq *mq, int sfd, int timeout_ms)
{
	for (int64_t end = cx_mono_us() + timeout_ms * 1000LL; !mq_connected(mq);) {
		if (alerting_signalled(sfd))
			return 1;
		if (cx_mono_us() >= end)
			return -ETIMEDOUT;
		mq_wait_connected(mq, 100);
	}
	return 0;
}

int alerting_signals_fd(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

bool alerting_signalled(int sfd)
{
	struct signalfd_siginfo si;

	return sfd >= 0 && read(sfd, &si, sizeof(si)) == sizeof(si);
}
