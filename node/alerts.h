/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alerts.h -- the alerts for this pole: verified, targeted, remembered so a
 * replay never plays, held until their audio is here, live streams fed */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mq.h"
#include "node.h"

/* A message on cx/v1/alert: an alert or a cancel, signed by a trusted key.
 * A recorded alert for this pole waits for its assets (subscribed to); a
 * live one is scheduled at once. Rejected ones are counted (node_reject). */
void alerts_on_alert(struct node *n, const struct mq_event *ev);

/* Hand alerts whose assets are all here to the scheduler (which says
 * "accepted"); fail those that expired waiting (receipt "failed"); forget
 * those long over. */
void alerts_hand(struct node *n);

/* A frame on cx/v1/live/STREAM from the main loop: bad ones are counted
 * and a few logged. */
void alerts_on_live(struct node *n, const char *stream, const struct mq_event *ev);

/* The mq_cfg.direct callback (UD is the node), on the MQTT thread: a frame
 * of an open stream goes straight into its jitter buffer. \retval true
 * taken / false to be queued for the main loop */
bool alerts_direct_live(void *ud, const char *topic, const void *payload, size_t len,
			int64_t recv_mono_us);

/* Streams that are over: their scheduler item completes. */
void alerts_end_live(struct node *n);

/* Write the alerts seen to state_dir/alerts.json. Errors are logged. */
void alerts_save_seen(struct node *n);

/* Free the alerts held (at the stop). */
void alerts_free(struct node *n);
