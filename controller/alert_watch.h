/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alert_watch.h -- what the poles report about an alert, read strictly and shown to the operator */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerting.h"
#include "keyring.h"
#include "mq.h"
#include "store.h"
#include "wire.h"

/* One receipt for an alert, as a pole signed it. */
struct alert_watch_rcpt {
	char node[WIRE_NODE_MAX + 1];
	char state[16];                      /* "accepted" ... "expired" */
	char reason[STORE_REASON_MAX + 1];   /* "" for none */
	int64_t started_ms;                  /* node clock, STORE_NONE unknown */
};

/* Is EV a receipt for alert ID? It must come on cx/v1/receipt/NODE, be
 * signed with NODE's enrolled key in KEYS, parse strictly (common/receipt.h:
 * duplicate keys, a "node" other than the topic's, or a control character
 * in a string reject it), not be a "lost" record, and name ID; what it says
 * is then in *OUT, with any control character left replaced by '?' (it goes
 * to the operator's terminal). A receipt that does not even contain ID is
 * refused before its signature is checked. \retval true when it is one */
bool alert_watch_receipt(struct keyring *keys, const struct mq_event *ev, const char *id,
			 struct alert_watch_rcpt *out);

/* Watching an alert: what its targeted nodes reported. The caller fills the
 * first fields and calls alert_watch_start(); the counts follow. */
struct alert_watch {
	struct alerting_targets *tg;   /* the targets; their nodes' receipt fields are the state */
	struct keyring *keys;          /* what counts is what a pole signed */
	const char *id;
	int64_t issued_ms;
	bool tty;                      /* stdout is a terminal: one line, redrawn */
	/* filled by the watch */
	int64_t t0_us;                 /* monotonic, when the watch started */
	size_t accepted, started, failed, unreached;
	size_t ended;                  /* nodes whose last receipt is final
	                                * (completed, interrupted, failed, ...) */
	bool changed;
	char last[STORE_REASON_MAX + 64]; /* the latest event, for the progress line */
	int64_t shown_left_s;          /* the countdown on the tty line */
};

/* Start the clock (t0_us: now) and count the targets' states. */
void alert_watch_start(struct alert_watch *w);

/* Take an MQTT event: a receipt for the alert (of any node: *R gets it and
 * 1 is returned; a targeted node's state moves on) or a targeted node's
 * status. \retval 1 a receipt for the alert / 0 anything else */
int alert_watch_event(struct alert_watch *w, const struct mq_event *ev,
		      struct alert_watch_rcpt *r);

/* Take receipt STATE (REASON, NULL for none; STARTED_MS or STORE_NONE) of
 * node T, from the broker or the store. The same receipt may come from both,
 * and resent ones out of order: a state never goes back (accepted, started,
 * then a final one). Control characters in STATE and REASON are replaced
 * by '?'. */
void alert_watch_take(struct alert_watch *w, struct alerting_node *t, const char *state,
		      const char *reason, int64_t started_ms);

/* Take the receipts for the alert that ST holds (serve stored them, also
 * those that passed the watch by). \retval 0 / -errno */
int alert_watch_store(struct alert_watch *w, struct store *st);

/* `cunxiang alert`'s live view: until every target started, WAIT_S seconds
 * passed since alert_watch_start(), or SFD delivered a signal, take what MQ
 * brings and, each second, what ST holds, and show the progress on stdout
 * (a line redrawn in place on a tty, a line per change otherwise). Then,
 * when some did not start, subscribe MQ to the poles' retained statuses
 * and take theirs (up to a second), for the summary.
 * \retval true when interrupted by a signal */
bool alert_watch_run(struct alert_watch *w, struct mq *mq, struct store *st, int sfd,
		     int wait_s);

/* `cunxiang alert`'s summary on stdout: on how many nodes it started, how
 * soon, each node that did not with its last known status, and, when some
 * did not or INTERRUPTED, that the alert stays on the air until EXPIRES_MS
 * and how to cancel it (with CONFIG). */
void alert_watch_summary(const struct alert_watch *w, const char *config, int64_t expires_ms,
			 bool interrupted);

/* `cunxiang live`'s summary on stdout: on how many nodes it completed, and
 * up to MAX_SHOWN that did not. \retval the number of nodes that did not */
size_t alert_watch_completed(const struct alert_watch *w, size_t max_shown);

/* MS as the operator reads it: "HH:MM:SS" today, else "YYYY-MM-DD
 * HH:MM:SS", in the zone cx_tz_set() selected. */
void alert_watch_clock(int64_t ms, char *out, size_t size);
