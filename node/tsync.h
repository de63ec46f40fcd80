/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tsync.h -- the node's offset to the controller's clock, from ping/pong bursts */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlmsg.h"

#define TSYNC_BURST 20          /* pings per burst */
/* Between pings of a burst: at least a 4G link's jitter (+-50 ms), so that
 * over a link that keeps order, as TCP does, a ping that is quick does not
 * wait behind the one before it, nor its pong behind that one's. At 50 ms
 * about half the trips could come near the link's floor and 13 of 100
 * simulated poles were more than 2.5 ms off (test_tsync, jitter_pool). */
#define TSYNC_SPACING_US 100000
#define TSYNC_PERIOD_US 60000000 /* between bursts */
/* Between bursts while the pool holds fewer than TSYNC_POOL samples (after
 * start or a move of the controller's clock); a burst nobody answered
 * waits the whole period. */
#define TSYNC_FAST_US 5000000
#define TSYNC_POOL 100          /* samples wanted in the pool */
#define TSYNC_POOL_MAX 256      /* samples kept at most */
/* The pool's age limit: until the drift is known, two periods and a
 * burst, so that the periodic bursts keep it near full; then long. */
#define TSYNC_WINDOW_US 150000000
#define TSYNC_WINDOW_DRIFT_US 300000000
#define TSYNC_HIST 64           /* burst estimates (one per half period) */
#define TSYNC_DRIFT_SPAN_US 600000000 /* ... spanning at least this */
#define TSYNC_DRIFT_MAX 0.0002  /* 200 ppm: beyond is no crystal's drift */
/* A burst whose fastest trip up or down beats the pool's by more than
 * this saw the controller's clock move: the pool starts over. */
#define TSYNC_FLOOR_US 5000
/* The system clock moving against the monotonic one by more than this
 * between two looks is a step (NTP slews at most 0.5 ms a second). */
#define TSYNC_STEP_US 50000

/* The pole keeps the controller's time on its monotonic clock
 * (CLOCK_MONOTONIC), which a step of the system clock does not move:
 * controller_clock = mono + offset. Pings are stamped with the monotonic
 * clock (t0, t3); each exchange gives fwd = t1 - t0 = offset + delay up and
 * back = t2 - t3 = offset - delay down. A link's delays have a floor and
 * wander above it (queues, radio retries, jitter), so the estimate is
 * (min fwd + max back) / 2 over a pool of the last samples: the two
 * fastest one-way trips, whose error is half the difference of how far
 * each is above its floor, where the mean of per-exchange offsets keeps
 * half of all the jitter. The pool spans bursts (100 samples: ±50 ms of
 * jitter each way leaves poles within a few milliseconds of each other).
 * The offset drifts (the two clocks' rates differ): its drift is the
 * median slope between the bursts' own estimates (Theil-Sen) over at
 * least ten minutes; samples are carried to the present with it, and so
 * is the offset between bursts. Until the drift is known the pool
 * reaches back two and a half minutes only. A burst that beats a full
 * pool's floor in either direction (by TSYNC_FLOOR_US, and until the drift
 * is known by what it can have moved the floor in the window) starts the
 * pool over, keeping the drift: the controller's clock moved. Until a burst completes the system clock
 * stands in for the controller's. The system clock itself is only watched
 * (tsync_observe), for the status and to re-measure at once when it
 * steps. */
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

/* controller_clock - monotonic clock at MONO_US, µs: measured (carried
 * from the last burst with the drift), or until then the system clock's as
 * last observed. */
int64_t tsync_offset_us(const struct tsync *t, int64_t mono_us);
/* controller_clock - system clock, µs, with the clocks read together (what
 * the status reports: how far the pole's system clock is off). */
int64_t tsync_wall_offset_us(const struct tsync *t, int64_t wall_us, int64_t mono_us);
/* A burst has completed. */
bool tsync_valid(const struct tsync *t);
/* Bursts taken into the estimate so far (to notice a new estimate). */
uint64_t tsync_rounds(const struct tsync *t);
/* The pool's floor of the round trip (the fastest trip up plus the fastest
 * down), µs. */
int64_t tsync_rtt_us(const struct tsync *t);
/* The fitted drift of the offset (µs per µs of the monotonic clock), 0
 * until bursts first span TSYNC_DRIFT_SPAN_US. */
double tsync_drift(const struct tsync *t);
/* Samples in the pool. */
int tsync_pool_size(const struct tsync *t);
/* Times the pool started over (the controller's clock moved). */
uint64_t tsync_restarts(const struct tsync *t);
