/* SPDX-License-Identifier: GPL-2.0-or-later */
/* node.h -- the pole daemon's state, shared by the files of cunxiang-node
 * (node.c, session.c, playout.c, alerts.c), and its life: start, run, stop */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "cache.h"
#include "envelope.h"
#include "live.h"
#include "mq.h"
#include "nconf.h"
#include "plan.h"
#include "player.h"
#include "reserve.h"
#include "sched.h"
#include "seen.h"
#include "spool.h"
#include "trust.h"
#include "tsync.h"
#include "wire.h"

#define NODE_TOPIC_MAX WIRE_TOPIC_MAX

/* The modules below are the pole's library (each with its own header);
 * this struct is what the daemon's own files share, grouped by the file
 * that keeps each part up to date. */
struct node {
	/* node.c: configuration, keys, the modules */
	struct nconf *cf;
	unsigned char sk[ENV_SK_BYTES];  /* the pole's own key: receipts, status, wants */
	struct env_key pub;
	struct reserve *reserve;
	int64_t boot;                /* this start's number (status freshness) */
	int64_t started_mono_us;
	struct cache *cache;
	struct spool *spool;
	struct sched *sched;
	struct player *player;
	struct live *live;           /* live alert streams */
	struct tsync *tsync;
	uint64_t rejected;           /* messages rejected (node_reject) */
	bool status_dirty;           /* a status to send (session_status) */
	bool status_soon;            /* one to send within STATUS_HOLD_MS: only the
				      spool or the assets held changed */
	int64_t status_sent_ms;      /* when the last status was sent */

	/* session.c: the broker, what the pole sends, the controller's keys */
	struct mq *mq;
	struct trust trust;          /* the controller keys trusted now */
	char *keys_unsaved;          /* a keys message the disk could not take yet */
	size_t keys_unsaved_len;
	int64_t status_n;            /* statuses sent in this start */
	char *offline_msg;           /* signed "offline" status: the will, and a clean stop */
	size_t offline_len;
	int64_t connected_ms;        /* when the session last came up, 0 when down */
	int64_t next_want_ms;
	int64_t last_cmd_ms;         /* issued_ms of the newest command taken */
	int64_t next_status_ms, next_resend_ms;
	char last_state[16];
	bool clock_settled;          /* the offset has its full pool of exchanges (logged once) */
	bool clock_reported;         /* the last status carried a measured offset ... */
	int64_t reported_offset_us;  /* ... this one (controller - system clock) */
	char t_plan[NODE_TOPIC_MAX], t_alert[NODE_TOPIC_MAX], t_cmd[NODE_TOPIC_MAX];
	char t_ack[NODE_TOPIC_MAX], t_pong[NODE_TOPIC_MAX], t_ping[NODE_TOPIC_MAX];
	char t_status[NODE_TOPIC_MAX], t_receipt[NODE_TOPIC_MAX], t_want[NODE_TOPIC_MAX];
	char t_keys[NODE_TOPIC_MAX];
	/* asset topics we subscribed to because the plan needs them, and since when */
	char (*wanted)[65];
	int64_t *wanted_ms;
	size_t nwanted;

	/* playout.c: the plan, the scheduler's memory, the player */
	struct plan *plan;
	char *plan_msg;              /* the signed plan as received */
	size_t plan_len;
	bool plan_wanted;            /* the broker's plan for us did not verify or parse */
	int last_volume;
	bool state_dirty;            /* sched.json to be written */

	/* alerts.c: alerts for this node, waiting for their assets (not yet
	 * handed to the scheduler) or on the air until they expire */
	struct seen *seen;
	bool seen_dirty;             /* alerts.json to be written (playout_run) */
	uint64_t live_rejected;      /* bad live frames, for rate-limited logging */
	struct alert **alerts;
	size_t nalerts;
	bool *alert_added;
};

/* Now on the controller's clock (the local clock corrected by tsync). */
int64_t node_now_ms(const struct node *n);

/* Count and log a message not taken: WHAT (plan, alert...) and WHY. The
 * next status says so. */
void node_reject(struct node *n, const char *what, const char *why);

/* Start the pole with the configuration file CONFIG: keys, state, player,
 * what the last run left, and the MQTT session. Errors are logged.
 * NULL on failure. */
struct node *node_open(const char *config);

/* Play, listen and report until a signal on SFD (a signalfd of SIGTERM,
 * SIGINT and SIGHUP) other than SIGHUP asks to stop.
 * \retval 0 stopped on a signal / 1 poll failed (logged) */
int node_run(struct node *n, int sfd);

/* Save the scheduler's state, say "offline" on a clean stop and free
 * everything. Accepts NULL and a node half set up. */
void node_close(struct node *n);

/* --print-key: print the pole's public key (creating the key in state_dir
 * if it has none) for `cunxiang enrol`. \retval exit status 0 / 1 (logged) */
int node_print_key(const char *config);
