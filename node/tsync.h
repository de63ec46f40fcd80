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
/* The system clock moving against the monotonic one by more than this
 * between two looks is a step (NTP slews at most 0.5 ms a second). */
#define TSYNC_STEP_US 50000

/* The pole keeps the controller's time on its monotonic clock
 * (CLOCK_MONOTONIC), which a step of the system clock does not move:
 * controller_clock = mono + offset. Pings are stamped with the monotonic
 * clock (t0, t3); offset = ((t1 - t0) + (t2 - t3)) / 2 per exchange; the
 * offset in force is the median of the last complete burst (pongs that do
 * not come back within the burst are left out). Until a burst completes the
 * system clock stands in for the controller's. The system clock itself is
 * only watched (tsync_observe), for the status and to re-measure at once
 * when it steps. */
struct tsync;

/* WALL_US and MONO_US: the system and monotonic clocks read together.
 * NULL + errno. */
struct tsync *tsync_new(int64_t wall_us, int64_t mono_us);
void tsync_free(struct tsync *t);

/* Begin a burst now (at connect). */
void tsync_start_burst(struct tsync *t, int64_t mono_us);
/* True when a ping is due at MONO_US; *T0_US is the stamp to send (MONO_US). */
bool tsync_due(struct tsync *t, int64_t mono_us, int64_t *t0_us);
/* Microseconds until the next ping is due (0 when due now). */
int64_t tsync_next_us(const struct tsync *t, int64_t mono_us);
/* A verified pong P, received at monotonic T3_US. \retval 0 / -EINVAL
 * (times out of order) / -ENOENT (not the answer to a ping of this burst) */
int tsync_on_pong(struct tsync *t, const struct ctl_pong *p, int64_t t3_us);

/* Look at the system clock (WALL_US, read with MONO_US). When it moved
 * against the monotonic clock by more than TSYNC_STEP_US since the last
 * look, a burst begins at once (the next ping is due now) and the step is
 * returned (µs, positive when the system clock jumped ahead); else 0. */
int64_t tsync_observe(struct tsync *t, int64_t wall_us, int64_t mono_us);

/* controller_clock - monotonic clock, µs: measured, or until then the
 * system clock's as last observed. */
int64_t tsync_offset_us(const struct tsync *t);
/* controller_clock - system clock, µs, with the clocks read together (what
 * the status reports: how far the pole's system clock is off). */
int64_t tsync_wall_offset_us(const struct tsync *t, int64_t wall_us, int64_t mono_us);
/* A burst has completed. */
bool tsync_valid(const struct tsync *t);
/* Bursts completed so far (to notice a new estimate). */
uint64_t tsync_rounds(const struct tsync *t);
/* Round-trip time of the median sample, µs. */
int64_t tsync_rtt_us(const struct tsync *t);
