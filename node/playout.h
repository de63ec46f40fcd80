/* SPDX-License-Identifier: GPL-2.0-or-later */
/* playout.h -- from plan to loudspeaker: the signed plan taken and handed to
 * the scheduler, the scheduler's actions run on the player, the player's
 * events told back to the scheduler */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node.h"

/* Verify and parse the signed plan MSG (LEN bytes) and install it; one
 * that came from the broker (not FROM_DISK) is stored in the cache.
 * Rejections from the broker are counted (node_reject) and make the pole
 * ask for the plan. \retval 0 installed / 1 the plan held already / -errno
 * rejected (-ESTALE older than the plan in force) */
int playout_take_plan(struct node *n, const char *msg, size_t len, bool from_disk);

/* Remove cached assets that neither the plan (past events too) nor an
 * alert held refers to. */
void playout_gc_assets(struct node *n);

/* Assets the plan needs from now on and the cache lacks. */
size_t playout_assets_missing(struct node *n);

/* The sched_set_have callback (UD is the node): is asset SHA cached? */
bool playout_have_asset(const char *sha, void *ud);

/* Run the scheduler: start and stop on the player, emit receipts, then
 * save the scheduler's state and the alerts seen when changed.
 * \retval when to run it again (controller ms; INT64_MAX nothing due) */
int64_t playout_run(struct node *n);

/* Tell the scheduler what the player reported. */
void playout_player_events(struct node *n);

/* Write the scheduler's state to state_dir/sched.json (a day of history).
 * Errors are logged. */
void playout_save(struct node *n);
