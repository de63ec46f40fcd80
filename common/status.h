/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status.h -- the status a pole signs and retains on cx/v1/status/NODE, and
 * its will */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "wire.h"

/*
 * {"type":"status","node":"yn-01","boot":12,"n":40,"state":"idle",
 *  "plan_issued_ms":...,"plan":"current","playing":null,"assets_missing":0,
 *  "volume":80,"clock_offset_us":-212,"spool":0,"disk":"ok","rejected":0,
 *  "xruns":0,"fault":null,"uptime_s":...,"keys_ms":...,"version":"0.1.0"}
 *
 * Freshness, so that a status recorded off the broker cannot be replayed to
 * make a dead pole look alive: BOOT counts the pole's starts (kept in its
 * state directory), N counts the statuses of one start from 1. The will and
 * the status of a clean stop say "offline" with N 0; they are signed when
 * the pole starts. A controller takes a status when (BOOT, N) is above the
 * last one it took, and an offline one when BOOT is not below it.
 * Every field but type, node, boot, n and state may be absent or null.
 */

#define STATUS_FAULT_MAX   256
#define STATUS_VERSION_MAX 64

enum status_state { STATUS_IDLE, STATUS_PLAYING, STATUS_FAULT, STATUS_OFFLINE };
enum status_disk { STATUS_DISK_UNKNOWN, STATUS_DISK_OK, STATUS_DISK_FULL };
enum status_plan { STATUS_PLAN_UNKNOWN, STATUS_PLAN_NONE, STATUS_PLAN_CURRENT, STATUS_PLAN_EXPIRED };

struct status {
	char node[WIRE_NODE_MAX + 1];
	int64_t boot;                 /* 1.. */
	int64_t n;                    /* 0 (offline) or 1.. */
	enum status_state state;
	enum status_plan plan;
	enum status_disk disk;
	/* WIRE_NONE when absent or null */
	int64_t plan_issued_ms, assets_missing, volume, clock_offset_us, spool, rejected,
		xruns, uptime_s;
	int64_t keys_ms;              /* issued_ms of the keys message in force (cx/v1/keys) */
	char playing[161];            /* "" none */
	char fault[STATUS_FAULT_MAX + 1];
	char version[STATUS_VERSION_MAX + 1];
};

const char *status_state_name(enum status_state s);
const char *status_disk_name(enum status_disk d);  /* NULL for unknown */

/* Every number WIRE_NONE, no strings, state idle. */
void status_init(struct status *s);

/* Sign S with SK into *MSG (malloc'ed envelope).
 * \retval 0 / -EINVAL / -ENOMEM / -EMSGSIZE */
int status_sign(const struct status *s, const unsigned char sk[ENV_SK_BYTES], char **msg,
		size_t *len);

/* Parse signed JSON from the topic of TOPIC_NODE (NULL: any).
 * \retval 0 / -EBADMSG (ERR says why) / -ENOMEM */
int status_parse(const char *json, size_t len, const char *topic_node, struct status *s,
		 char *err, size_t errlen);

/* Is NEW fresher than the last taken status, whose (BOOT, N) is LAST_BOOT,
 * LAST_N (0, 0 when none was taken)? See the rule above. */
bool status_fresher(const struct status *s, int64_t last_boot, int64_t last_n);
