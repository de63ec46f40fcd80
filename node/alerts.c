/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alerts.c -- the alerts for this pole: verified, targeted, remembered,
 * held until their audio is here, live streams fed */
#include "alerts.h"

#include "cxtime.h"
#include "log.h"
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void alerts_save_seen(struct node *n)
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

void alerts_hand(struct node *n)
{
	int64_t now = node_now_ms(n);

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
			session_receipt(n, &f);
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
		node_reject(n, "alert", r == -EINVAL ? "live: not a valid stream name"
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
void alerts_on_live(struct node *n, const char *stream, const struct mq_event *ev)
{
	int r = live_on_frame(n->live, stream, ev->payload, ev->len,
			      ev->recv_mono_us + tsync_offset_us(n->tsync, ev->recv_mono_us));

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
bool alerts_direct_live(void *ud, const char *topic, const void *payload, size_t len,
			int64_t recv_mono_us)
{
	struct node *n = ud;
	char arg[WIRE_ARG_MAX + 1];

	if (wire_topic_parse(topic, arg) != WIRE_T_LIVE || !live_is_open(n->live, arg))
		return false;
	return live_on_frame(n->live, arg, payload, len, recv_mono_us + live_offset(n->live)) >= 0;
}

/* Streams that are over: their item completes (if the player has not
 * ended it already). */
void alerts_end_live(struct node *n)
{
	char name[LIVE_STREAM_MAX + 1];
	struct live_stats st;

	live_set_offset(n->live, tsync_offset_us(n->tsync, cx_mono_us()));
	while (live_poll_ended(n->live, node_now_ms(n) * 1000, name, &st) == 1) {
		log_info("live stream %s over: %llu frames, %llu late, %llu duplicate; "
			 "lost frames: %llu FEC, %llu PLC, %llu silent; clock: %llu samples slewed, "
			 "%llu jumps", name,
			 (unsigned long long)st.frames, (unsigned long long)st.late,
			 (unsigned long long)st.dup, (unsigned long long)st.fec,
			 (unsigned long long)st.plc, (unsigned long long)st.silent,
			 (unsigned long long)st.slewed, (unsigned long long)st.jumps);
		sched_live_end(n->sched, name, node_now_ms(n));
	}
}

void alerts_on_alert(struct node *n, const struct mq_event *ev)
{
	struct alert *a = NULL, **v;
	int64_t now = node_now_ms(n);
	size_t jl;
	bool *b;
	char err[200];
	int r = env_verify((const char *)ev->payload, ev->len, n->trust.keys, n->trust.nkeys, &jl);

	if (r < 0) {
		node_reject(n, "alert", env_strerror(r));
		return;
	}
	r = alert_parse((const char *)ev->payload, jl, &a, err, sizeof(err));
	if (r < 0) {
		node_reject(n, "alert", r == -ENOMEM ? "out of memory" : err);
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
		node_reject(n, "alert", "already seen (replayed or cancelled)");
		alert_free(a);
		return;
	}
	if (a->expires_ms <= now) {
		node_reject(n, "alert", "expired");
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
		session_want_asset(n, a->assets[j]);
	alerts_hand(n);
}

void alerts_free(struct node *n)
{
	while (n->nalerts)
		drop_alert(n, n->nalerts - 1);
	free(n->alerts);
	free(n->alert_added);
	n->alerts = NULL;
	n->alert_added = NULL;
}
