/* SPDX-License-Identifier: GPL-2.0-or-later */
/* capd.h -- serve's automatic warnings: a thread that takes CAP documents from their sources to the air */
#pragma once

#include <stddef.h>

#include "cconf.h"

/*
 * The sources of warnings.yaml (capsrc.h) read by a thread of its own,
 * each document taken through cap_run.h with its own store connection and
 * MQTT session, so that neither a slow source nor the speech renderer ever
 * holds up receipts. Every 5 s it acts again on what could not be sent and
 * expires holds. Each decision is logged in one line. The time zone must
 * be selected and SIGINT/SIGTERM/SIGHUP blocked before capd_start.
 */

struct capd;

/* Start the thread for CF (which must outlive it). Without warnings.yaml
 * or sources it waits for capd_reload. NULL + errno (ERR) when it cannot
 * start at all. */
struct capd *capd_start(const struct cconf *cf, char *err, size_t errlen);

/* The schedules directory changed: read fleet.yaml and warnings.yaml again
 * (and restart the sources) at the thread's next turn. Any thread. */
void capd_reload(struct capd *c);

/* Stop the thread and free C (NULL: nothing). */
void capd_stop(struct capd *c);
