/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cap_setup.h -- what taking CAP messages needs open: fleet, warnings.yaml, store, voices, broker */
#pragma once

#include <stddef.h>

#include "cap_run.h"
#include "cconf.h"
#include "mq.h"
#include "pub.h"
#include "schedule.h"
#include "store.h"
#include "warnings.h"

/* Opened by `cunxiang cap` and by serve's warnings thread alike. The time
 * zone is the caller's to select, before. */
struct cap_setup {
	const struct cconf *cf;
	struct schedule *sch;          /* the schedules directory (its fleet) */
	struct warnings *w;
	struct store *st;
	struct pub pub;
	struct mq *mq;                 /* publish only; NULL until cap_setup_connect */
	char *voices_dir, *assets_dir, *cache_dir;
	struct caprun run;             /* ready for a dry run; for acting after
	                                * cap_setup_connect */
};

/* Read the fleet and warnings.yaml of CF's schedules directory, find the
 * voices (VOICES_OPT, else CF's, else the default places), open the store.
 * An error in warnings.yaml or fleet.yaml fails: a rule left out would
 * change what goes on the air. \retval 0 / -errno (ERR: one line; S is
 * then closed) */
int cap_setup_open(struct cap_setup *s, const struct cconf *cf, const char *voices_opt,
		   char *err, size_t errlen);

/* Read the schedules directory again (fleet.yaml or warnings.yaml
 * changed). On an error the previous fleet and warnings stay in use.
 * \retval 0 / -errno (ERR) */
int cap_setup_reload(struct cap_setup *s, char *err, size_t errlen);

/* The signing key and an MQTT session of its own (client id cx-CMD-PID,
 * clean, no subscription) connected within CONNECT_MS; publishing waits
 * FLUSH_MS for the broker. \retval 0 / -ETIMEDOUT not connected yet (the
 * session keeps trying: publishing fails until it is) / -errno (ERR) */
int cap_setup_connect(struct cap_setup *s, const char *cmd, int connect_ms, int flush_ms,
		      char *err, size_t errlen);

void cap_setup_close(struct cap_setup *s);
