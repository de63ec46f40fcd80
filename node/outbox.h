/* SPDX-License-Identifier: GPL-2.0-or-later */
/* outbox.h -- what a pole says about itself: its receipts and statuses,
 * built from the scheduler's acts and the pole's state (no I/O) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "plan.h"
#include "player.h"
#include "receipt.h"
#include "sched.h"
#include "status.h"

/* The receipt of A (a SCHED_ACT_RECEIPT) before the spool numbers and signs
 * it: kind, state, occ, instants, volume and reason. A state the receipt
 * does not know becomes "failed"; negative instants and a volume outside
 * 0..100 become WIRE_NONE, and so does the start error when A has none. */
void outbox_receipt(const struct sched_act *a, struct receipt *rc);

/* What a status reports, as the pole knows it now. */
struct outbox_facts {
	const char *node;
	int64_t boot;                     /* this start's number */
	int64_t n;                        /* this status's number in the start: 1.. */
	const struct player_stats *player;
	const char *playing;              /* the item playing (sched_current), NULL none */
	const struct plan *plan;          /* the plan in force, NULL none */
	int64_t now_ms;                   /* on the controller's clock */
	size_t assets_missing;            /* assets the plan needs and the cache lacks */
	int volume;                       /* of the last item started */
	bool clock_valid;                 /* CLOCK_OFFSET_US is measured */
	int64_t clock_offset_us;
	size_t spool;                     /* receipts not acknowledged */
	bool disk_full;
	uint64_t rejected;                /* messages rejected since the start */
	int64_t uptime_s;
	int64_t keys_ms;                  /* issued_ms of the keys in force, 0 none */
};

/* The state a status says: fault while the device cannot be opened, else
 * playing while an item plays, else idle. */
enum status_state outbox_state(const struct player_stats *ps, const char *playing);

/* The status of F (state per outbox_state, the version of this build). */
void outbox_status(const struct outbox_facts *f, struct status *st);

/* The signed "offline" status of a start: the will left with the broker,
 * and what the pole retains itself on a clean stop (status.h: N 0).
 * *MSG is malloc'ed. \retval 0 / -EINVAL / -ENOMEM / -EMSGSIZE */
int outbox_offline(const char *node, int64_t boot, const unsigned char sk[ENV_SK_BYTES],
		   char **msg, size_t *len);
