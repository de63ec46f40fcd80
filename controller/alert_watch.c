/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alert_watch.c -- what the poles report about an alert, read strictly and shown to the operator */
#define _GNU_SOURCE /* memmem */
#include "alert_watch.h"

#include "cxtime.h"
#include "human.h"
#include "receipt.h"
#include "report/query.h"
#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define RECEIPT_PREFIX "cx/v1/receipt/"
#define STATUS_PREFIX  "cx/v1/status/"
#define STATUS_WAIT_MS 1000 /* for the retained statuses of those that did not start */

/* ---- reading what a pole sent ---- */

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

	if (strncmp(topic, prefix, n) || !wire_node_id_ok(topic + n))
		return NULL;
	return topic + n;
}

bool alert_watch_receipt(struct keyring *keys, const struct mq_event *ev, const char *id,
			 struct alert_watch_rcpt *out)
{
	struct receipt rc;
	char quoted[ALERT_ID_MAX + 3];
	const char *node = ev->type == MQ_EV_MESSAGE ? topic_node(ev->topic, RECEIPT_PREFIX) : NULL;
	int n = snprintf(quoted, sizeof(quoted), "\"%s\"", id);

	/* A receipt that does not even name ID is another's: no need to
	 * check its signature (the store, read each second, has the rest). */
	if (!node || n < 0 || (size_t)n >= sizeof(quoted) ||
	    !memmem(ev->payload, ev->len, quoted, (size_t)n))
		return false;
	/* keyring_receipt() parses strictly: duplicate keys, a body of
	 * another node than the topic's, control characters are refused. */
	if (keyring_receipt(keys, ev->topic, ev->payload, ev->len, cx_now_ms(), &rc) < 0 ||
	    rc.state == RECEIPT_LOST || strcmp(rc.occ, id) || strcmp(rc.node, node))
		return false;
	snprintf(out->node, sizeof(out->node), "%s", node);
	snprintf(out->state, sizeof(out->state), "%s", receipt_state_name(rc.state));
	snprintf(out->reason, sizeof(out->reason), "%s", rc.reason);
	out->started_ms = rc.started_ms == WIRE_NONE ? STORE_NONE : rc.started_ms;
	clean_text(out->reason);
	return true;
}

/* ---- the states of the targets ---- */

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
static void tally(struct alert_watch *w, const struct alerting_node *t, bool add)
{
	size_t d[5] = { t->accepted, t->started, !t->started && failed_state(t->state),
			!*t->state, state_rank(t->state) == 3 };

	if (add) {
		w->accepted += d[0];
		w->started += d[1];
		w->failed += d[2];
		w->unreached += d[3];
		w->ended += d[4];
	} else {
		w->accepted -= d[0];
		w->started -= d[1];
		w->failed -= d[2];
		w->unreached -= d[3];
		w->ended -= d[4];
	}
}

void alert_watch_start(struct alert_watch *w)
{
	w->t0_us = cx_mono_us();
	w->accepted = w->started = w->failed = w->unreached = w->ended = 0;
	for (size_t i = 0; i < w->tg->n; i++)
		tally(w, &w->tg->t[i], true);
}

void alert_watch_take(struct alert_watch *w, struct alerting_node *t, const char *state,
		      const char *reason, int64_t started_ms)
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

static void take_status(struct alert_watch *w, struct alerting_node *t, const struct mq_event *ev)
{
	struct status st;

	if (ev->len == 0 ||
	    keyring_status(w->keys, ev->topic, ev->payload, ev->len, cx_now_ms(), &st) < 0)
		return;
	snprintf(t->bstate, sizeof(t->bstate), "%s", status_state_name(st.state));
	if (st.spool != WIRE_NONE)
		t->bspool = st.spool;
	if (st.rejected != WIRE_NONE)
		t->brejected = st.rejected;
	/* The store's last status before the alert is what "meanwhile"
	 * counts from; a node it knows no status of has no baseline. */
	if (!t->bstatus)
		t->brejected0 = t->sn && t->sn->has_status && t->sn->rejected != STORE_NONE
				? t->sn->rejected : t->brejected;
	t->bstatus = true;
}

int alert_watch_event(struct alert_watch *w, const struct mq_event *ev,
		      struct alert_watch_rcpt *r)
{
	struct alerting_node *t;
	const char *node;

	if (ev->type != MQ_EV_MESSAGE)
		return 0;
	if (alert_watch_receipt(w->keys, ev, w->id, r)) {
		if ((t = alerting_find(w->tg, r->node)))
			alert_watch_take(w, t, r->state, r->reason, r->started_ms);
		return 1;
	}
	if ((node = topic_node(ev->topic, STATUS_PREFIX)) && (t = alerting_find(w->tg, node)))
		take_status(w, t, ev);
	return 0;
}

static int store_rcpt_fn(const char *node, bool targeted, const struct store_rcpt *r, size_t n,
			 void *ud)
{
	struct alert_watch *w = ud;
	struct alerting_node *t = alerting_find(w->tg, node);

	(void)targeted;
	for (size_t i = 0; t && i < n; i++)
		alert_watch_take(w, t, r[i].state, r[i].reason, r[i].started_ms);
	return 0;
}

int alert_watch_store(struct alert_watch *w, struct store *st)
{
	return rq_alert_receipts(st, w->id, store_rcpt_fn, w);
}

/* ---- `cunxiang alert`: the live view ---- */

void alert_watch_clock(int64_t ms, char *out, size_t size)
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

static void progress(struct alert_watch *w, int64_t left_ms)
{
	size_t n = w->tg->n;
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

/* Take what MQ holds now. */
static void drain(struct alert_watch *w, struct mq *mq)
{
	struct alert_watch_rcpt r;
	struct mq_event ev;

	while (mq_next(mq, &ev) == 1) {
		if (ev.type == MQ_EV_MESSAGE)
			alert_watch_event(w, &ev, &r);
		else if (ev.type == MQ_EV_DISCONNECTED)
			fprintf(stderr, "%scunxiang alert: broker connection lost: %s\n",
				w->tty ? "\r\033[K" : "", ev.reason);
		mq_event_clear(&ev);
	}
}

/* Whether every target that did not start has a status from the broker. */
static bool whereabouts_known(const struct alert_watch *w)
{
	for (size_t i = 0; i < w->tg->n; i++)
		if (!w->tg->t[i].started && !w->tg->t[i].bstatus)
			return false;
	return true;
}

/* The broker's retained statuses, for the targets that did not start:
 * asked for only now, so that thousands of them (each a signature to
 * check) do not arrive while the alert goes out. Waits up to
 * STATUS_WAIT_MS for them. \retval true when interrupted by a signal */
static bool whereabouts(struct alert_watch *w, struct mq *mq, int sfd)
{
	int64_t end = cx_mono_us() + STATUS_WAIT_MS * 1000LL;
	struct pollfd pfd[2] = {
		{ .fd = mq_fd(mq), .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};

	if (mq_subscribe(mq, WIRE_SUB_STATUS, 0) < 0)
		return false;
	for (;;) {
		int64_t now = cx_mono_us();

		drain(w, mq);
		if (whereabouts_known(w) || now >= end)
			return false;
		if (poll(pfd, 2, (int)((end - now + 999) / 1000)) < 0 && errno != EINTR)
			return false;
		if ((pfd[1].revents & POLLIN) && alerting_signalled(sfd))
			return true;
	}
}

bool alert_watch_run(struct alert_watch *w, struct mq *mq, struct store *st, int sfd,
		     int wait_s)
{
	int64_t end = w->t0_us + (int64_t)wait_s * 1000000, next_store = 0;
	bool stop = false;

	progress(w, (int64_t)wait_s * 1000);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = mq_fd(mq), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		int64_t now = cx_mono_us(), timeout;

		drain(w, mq);
		/* What serve stored covers receipts that passed us by. */
		if (now >= next_store) {
			alert_watch_store(w, st);
			next_store = now + 1000000;
		}
		if (w->changed || (w->tty && now < end && (end - now + 999999) / 1000000 != w->shown_left_s))
			progress(w, (end - now) / 1000);
		if (w->started == w->tg->n || now >= end || stop)
			break;
		timeout = (end - now + 999) / 1000;
		if (timeout > 250)
			timeout = 250;
		if (poll(pfd, 2, (int)timeout) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			stop = alerting_signalled(sfd);
	}
	if (w->changed)
		progress(w, -1);
	if (!stop && w->started < w->tg->n)
		stop = whereabouts(w, mq, sfd);
	return stop;
}

/* ---- the summaries ---- */

/* Where a node that did not start was last known to be: the broker's
 * status, else the store's. */
static void node_whereabouts(const struct alerting_node *t, int64_t now)
{
	const struct store_node *sn = t->sn;
	const char *state = t->bstatus ? t->bstate : sn && sn->has_status ? sn->state : NULL;
	char when[64], rel[32];

	if (!state) {
		printf("never seen");
	} else if (!strcmp(state, "offline")) {
		/* The store knows since when; a broker status alone does not say. */
		if (sn && sn->has_status && !strcmp(sn->state, "offline") && sn->status_ms != STORE_NONE) {
			alert_watch_clock(sn->status_ms, when, sizeof(when));
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
}

/* One line about a node that did not start: what it said, and what the
 * store and the broker last knew of it. */
static void not_started_line(const struct alerting_node *t, int64_t now)
{
	const struct store_node *sn = t->sn;
	int64_t spool = t->bstatus && t->bspool != STORE_NONE ? t->bspool : sn ? sn->spool : STORE_NONE;
	char what[STORE_REASON_MAX + 64];

	if (!*t->state)
		snprintf(what, sizeof(what), "no receipt");
	else if (!strcmp(t->state, "accepted"))
		snprintf(what, sizeof(what), "accepted, not started");
	else
		snprintf(what, sizeof(what), "%s%s%s", t->state, *t->reason ? ": " : "", t->reason);
	printf("  %-12s %s  %s; ", t->id, t->village_name && *t->village_name ? t->village_name :
	       t->in_fleet ? "-" : "(not in fleet)", what);
	node_whereabouts(t, now);
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

/* "started on N of M nodes (after ... median, ... at most)" */
static void started_line(const struct alert_watch *w)
{
	const struct alerting_targets *tg = w->tg;
	int64_t *d = calloc(tg->n + 1, sizeof(*d));
	size_t nd = 0;

	for (size_t i = 0; d && i < tg->n; i++)
		if (tg->t[i].started)
			d[nd++] = tg->t[i].started_ms != STORE_NONE ? tg->t[i].started_ms - w->issued_ms
				: (tg->t[i].seen_us - w->t0_us) / 1000;
	printf("started on %zu of %zu node%s", w->started, tg->n, tg->n == 1 ? "" : "s");
	if (nd) {
		qsort(d, nd, sizeof(*d), delay_cmp);
		printf(" (after %.1f s median, %.1f s at most)", (double)d[(nd - 1) / 2] / 1000.0,
		       (double)d[nd - 1] / 1000.0);
	}
	printf("\n");
	free(d);
}

void alert_watch_summary(const struct alert_watch *w, const char *config, int64_t expires_ms,
			 bool interrupted)
{
	const struct alerting_targets *tg = w->tg;
	int64_t now = cx_now_ms();
	size_t missing = tg->n - w->started;
	char when[64];

	if (w->tty)
		printf("\n");
	started_line(w);
	if (missing) {
		printf("not started on %zu node%s:\n", missing, missing == 1 ? "" : "s");
		for (size_t i = 0; i < tg->n; i++)
			if (!tg->t[i].started)
				not_started_line(&tg->t[i], now);
	}
	alert_watch_clock(expires_ms, when, sizeof(when));
	if (interrupted || missing)
		printf("%sAlert %s stays on the air until %s: a node that receives it before "
		       "then still plays it.\nTo stop it: cunxiang cancel -c %s %s\n",
		       interrupted ? "Stopped watching. " : "", w->id, when, config, w->id);
	fflush(stdout);
}

size_t alert_watch_completed(const struct alert_watch *w, size_t max_shown)
{
	const struct alerting_targets *tg = w->tg;
	size_t shown = 0, missing = 0;

	for (size_t i = 0; i < tg->n; i++)
		if (strcmp(tg->t[i].state, "completed"))
			missing++;
	printf("completed on %zu of %zu node%s\n", tg->n - missing, tg->n, tg->n == 1 ? "" : "s");
	for (size_t i = 0; i < tg->n && shown < max_shown; i++)
		if (strcmp(tg->t[i].state, "completed")) {
			printf("  not completed: %s (%s)\n", tg->t[i].id,
			       tg->t[i].state[0] ? tg->t[i].state : "no receipt");
			shown++;
		}
	if (missing > shown)
		printf("  ... and %zu more\n", missing - shown);
	return missing;
}
