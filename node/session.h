/* SPDX-License-Identifier: GPL-2.0-or-later */
/* session.h -- the pole's MQTT session with the controller: topics,
 * subscriptions and will, (re)connects, messages dispatched by topic, and
 * what the pole sends (receipts, status, clock pings, wants) */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "node.h"
#include "sched.h"

/* Fill the topics of N's node id. \retval 0 / -EINVAL (not a node id) */
int session_topics(struct node *n);

/* Sign the "offline" status of this start (the will) and start the MQTT
 * session: it connects in the background and reconnects by itself
 * (mq.h). Errors are logged. \retval 0 / -errno */
int session_open(struct node *n);

/* On a clean stop, retain the "offline" status (a clean stop sends no
 * will); then end the session. Accepts a node without one. */
void session_close(struct node *n);

/* Take what the broker sent since the last call: connects (resubscribe the
 * assets wanted, resend receipts, start a clock burst, send the status),
 * disconnects, and each message handed to its handler by topic. */
void session_pump(struct node *n);

/* While connected: clock pings that are due, the periodic resend of
 * unacknowledged receipts (and of a keys message the disk refused), the
 * want message, the reserve refill and the status when due or changed.
 * NOW is node_now_ms(). */
void session_tick(struct node *n, int64_t now);

/* Spool the receipt of A (a SCHED_ACT_RECEIPT) and publish it when
 * connected. Errors are logged. */
void session_receipt(struct node *n, const struct sched_act *a);

/* Subscribe to the retained topic of asset SHA (64 hex digits) when the
 * cache lacks it and the session is up; once only. */
void session_want_asset(struct node *n, const char *sha);
/* ... for every asset of the alerts held and of the plan from now on. */
void session_want_assets(struct node *n);
