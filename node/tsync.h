/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tsync.h -- the node's offset to the controller's clock, from ping/pong bursts */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlmsg.h"

#define TSYNC_BURST 20          /* pings per burst */
#define TSYNC_SPACING_US 50000  /* between pings of a burst */
#define TSYNC_PERIOD_US 60000000 /* between bursts */

/* offset = ((t1 - t0) + (t2 - t3)) / 2 per exchange; the offset in force is
 * the median of the last complete burst (pongs that do not come back within
 * the burst are left out). controller_clock = local_clock + offset. */
struct tsync;

struct tsync *tsync_new(void);
void tsync_free(struct tsync *t);

/* Begin a burst now (at connect). */
void tsync_start_burst(struct tsync *t, int64_t mono_us);
/* True when a ping is due at MONO_US; *T0_US is the wall-clock stamp to send. */
bool tsync_due(struct tsync *t, int64_t mono_us, int64_t *t0_us);
/* Microseconds until the next ping is due (0 when due now). */
int64_t tsync_next_us(const struct tsync *t, int64_t mono_us);
/* A verified pong P, received at wall-clock T3_US. \retval 0 / -EINVAL
 * (times out of order) / -ENOENT (not the answer to a ping of this burst) */
int tsync_on_pong(struct tsync *t, const struct ctl_pong *p, int64_t t3_us);

int64_t tsync_offset_us(const struct tsync *t);  /* 0 until measured */
bool tsync_valid(const struct tsync *t);
/* Round-trip time of the median sample, µs. */
int64_t tsync_rtt_us(const struct tsync *t);
