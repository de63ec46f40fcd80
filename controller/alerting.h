/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alerting.h -- an alert from the controller to the poles: targets, id, record, publish */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "cconf.h"
#include "mq.h"
#include "pub.h"
#include "schedule.h"
#include "store.h"

/*
 * What `cunxiang alert` and `cunxiang live` (and anything else that raises
 * an alert) share: the targeted nodes, the alert's id, its record in the
 * store and its publication. The input is structured (no argv): a caller
 * validates its own arguments, this module checks what the wire demands.
 * Watching the poles' receipts is alert_watch.h. Nothing here prints.
 */

#define ALERTING_ID_LEN 64     /* AREA_CODE-YYYYMMDD-NNNN and its NUL, with room */

/* What an alert names (the union): administrative-code prefixes (1..12
 * digits), tags of fleet.yaml, node ids. */
struct alerting_scope {
	const char *const *areas;
	size_t nareas;
	const char *const *tags;
	size_t ntags;
	const char *const *nodes;
	size_t nnodes;
};

/* The nodes that may be targeted: fleet.yaml and what the store knows. */
struct alerting_fleet {
	const struct schedule *sch;   /* fleet.yaml; NULL when not read */
	struct store_node *sn;        /* store_nodes(): the fleet `serve` stored last
	                               * and every node heard from; NULL / 0: none.
	                               * alerting_resolve() sorts it by id. */
	size_t nsn;
};

/* A targeted node: what the fleet says, and what the alert has heard of it
 * (alert_watch.h fills the second part). */
struct alerting_node {
	const char *id;
	const char *village_code, *village_name;      /* "" when unknown */
	const struct store_node *sn;                  /* NULL: the store does not know it */
	bool in_fleet;                                /* fleet.yaml or the stored fleet */
	/* receipts for the alert */
	bool accepted, started;
	char state[16];                               /* last receipt state, "" none */
	char reason[STORE_REASON_MAX + 1];
	int64_t started_ms;                           /* node clock, STORE_NONE unknown */
	int64_t seen_us;                              /* when we learnt it started */
	/* the broker's (retained or fresh) status */
	bool bstatus;
	char bstate[16];
	int64_t bspool, brejected0, brejected;
};

/* The targeted nodes, sorted by id. */
struct alerting_targets {
	struct alerting_node *t;
	size_t n;
	const char **unknown;   /* nodes named by id that neither fleet.yaml nor the
	                         * store knows: targeted all the same (callers warn) */
	size_t nunknown;
};

/* The targets of SC in F: every node of fleet.yaml whose village code starts
 * with an area, that has a tag or that is named; every node the store holds
 * as in the fleet (not in fleet.yaml: serve's last snapshot, the fleet on
 * the air) whose village code starts with an area, or that is named; any
 * other named node (listed in OUT->unknown too). Tags are known from
 * fleet.yaml only. Each node once. OUT points into F and SC: they outlive
 * it. \retval 0 / -ENOMEM */
int alerting_resolve(struct alerting_fleet *f, const struct alerting_scope *sc,
		     struct alerting_targets *out);
void alerting_targets_free(struct alerting_targets *t);

/* The targeted node ID, or NULL. */
struct alerting_node *alerting_find(const struct alerting_targets *t, const char *id);

/* Does AREA (a prefix) reach any targeted node? */
bool alerting_area_reached(const struct alerting_targets *t, const char *area);
/* Does any node of fleet.yaml (SCH, may be NULL) carry TAG? */
bool alerting_tag_in_fleet(const struct schedule *sch, const char *tag);

/* An alert to raise. */
struct alerting_desc {
	int level;                 /* 1..4 */
	const char *klass;         /* actual | drill | test */
	const char *title;
	int64_t issued_ms;         /* also its start */
	int64_t expires_ms;
	int64_t duration_ms;       /* one play of the assets; 0 for a live stream */
	int repeat, volume;
	struct alerting_scope scope;
};

/* The unsigned alert message of D, without id and assets yet (*OUT,
 * alert_free() it). \retval 0 / -EINVAL (the targets do not fit an alert
 * message, alert_set_targets) / -ENOMEM */
int alerting_message(const struct alerting_desc *d, struct alert **out);

/* Record MSG in ST under the next id of the township's day,
 * AREA-YYYYMMDD-NNNN (the date in the zone cx_tz_set() selected): one more
 * than the highest stored for that day, and on -EEXIST (another operator
 * took it meanwhile) the one after. Sets MSG->id, and MSG->live too when
 * LIVE (a live alert's stream is named after it). NODES are the targeted
 * node ids. It is recorded before it is published, so that no receipt for
 * it is ever an unknown occurrence.
 * \retval 0 / -ENOSPC (no id left that day) / -ENOMEM / -errno (ERR says
 * why: "cannot read the alerts: ...", "cannot record the alert: ...") */
int alerting_record(struct store *st, const char *area, struct alert *msg, bool live,
		    const char *const *nodes, size_t nnodes, char *err, size_t errlen);

/* Sign MSG (an alert or a cancel) with P's key, publish it on cx/v1/alert
 * with QoS 1 through P->mq and wait up to FLUSH_MS for the broker to
 * confirm it. \retval 0 / -EINVAL (MSG breaks a rule of alert_parse) /
 * -ENOMEM / -EMSGSIZE / mq_publish's and mq_flush's errors */
int alerting_publish(struct pub *p, const struct alert *msg, int flush_ms);

/* Cancel alert REF: record the cancel in ST (unless it is already) and
 * publish it signed through P, waiting up to FLUSH_MS for the broker. The
 * cancel's own id names what it cancels: REF-cancel-NOW.
 * \retval 0 cancelled now / 1 it was cancelled already, sent again /
 * -errno (ERR: "cannot record the cancel: ...", "cannot publish the
 * cancel: ...") */
int alerting_cancel(struct store *st, struct pub *p, const char *ref, int64_t now, int flush_ms,
		    char *err, size_t errlen);

/* A clean MQTT session of its own for command CMD ("alert"): client id
 * cx-CMD-PID, subscribed with QoS 0 to the receipts (what passes it by is
 * in the store). Not yet connected. NULL + errno. */
struct mq *alerting_mq_new(const struct cconf *cf, const char *cmd);

/* Wait up to TIMEOUT_MS for MQ to connect, or for a signal on SFD (a
 * signalfd, or -1). \retval 0 connected / 1 signalled / -ETIMEDOUT */
int alerting_mq_wait(struct mq *mq, int sfd, int timeout_ms);

/* Block SIGINT and SIGTERM in the calling thread, and so in every thread it
 * starts afterwards (call it before any: the MQTT session's, the
 * renderer's), ignore SIGPIPE, and return a signalfd that reads the two
 * (non-blocking), or -1 + errno. */
int alerting_signals_fd(void);
/* Did SFD (alerting_signals_fd(), or -1) deliver a signal? Takes it. */
bool alerting_signalled(int sfd);
