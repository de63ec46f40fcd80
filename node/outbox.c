/* SPDX-License-Identifier: GPL-2.0-or-later */
/* outbox.c -- what a pole says about itself: its receipts and statuses */
#include "config.h"

#include "outbox.h"

#include <stdio.h>
#include <string.h>

void outbox_receipt(const struct sched_act *a, struct receipt *rc)
{
	static const enum receipt_kind kinds[] = { RECEIPT_PLAN, RECEIPT_ALERT, RECEIPT_LIVE };
	static const char *const states[] = {
		"accepted", "started", "completed", "interrupted", "failed", "skipped", "expired",
	};

	receipt_init(rc);
	rc->kind = kinds[a->kind];
	rc->state = RECEIPT_FAILED;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(a->state, states[i]))
			rc->state = (enum receipt_state)i;
	snprintf(rc->occ, sizeof(rc->occ), "%s", a->id);
	rc->scheduled_ms = a->scheduled_ms >= 0 ? a->scheduled_ms : WIRE_NONE;
	rc->started_ms = a->started_ms >= 0 ? a->started_ms : WIRE_NONE;
	rc->ended_ms = a->ended_ms >= 0 ? a->ended_ms : WIRE_NONE;
	rc->played_ms = a->played_ms >= 0 ? a->played_ms : WIRE_NONE;
	rc->start_error_us = a->has_start_error ? a->start_error_us : WIRE_NONE;
	rc->volume = a->volume >= 0 && a->volume <= 100 ? a->volume : WIRE_NONE;
	if (a->reason)
		snprintf(rc->reason, sizeof(rc->reason), "%s", a->reason);
}

enum status_state outbox_state(const struct player_stats *ps, const char *playing)
{
	return ps->fault ? STATUS_FAULT : playing ? STATUS_PLAYING : STATUS_IDLE;
}

void outbox_status(const struct outbox_facts *f, struct status *st)
{
	const struct plan *p = f->plan;

	status_init(st);
	snprintf(st->node, sizeof(st->node), "%s", f->node);
	st->boot = f->boot;
	st->n = f->n;
	st->state = outbox_state(f->player, f->playing);
	st->plan_issued_ms = p ? p->issued_ms : WIRE_NONE;
	st->plan = !p ? STATUS_PLAN_NONE : f->now_ms > p->horizon_ms ? STATUS_PLAN_EXPIRED
								       : STATUS_PLAN_CURRENT;
	if (f->playing)
		snprintf(st->playing, sizeof(st->playing), "%s", f->playing);
	st->assets_missing = (int64_t)f->assets_missing;
	st->volume = f->volume;
	st->clock_offset_us = f->clock_valid ? f->clock_offset_us : WIRE_NONE;
	st->spool = (int64_t)f->spool;
	st->disk = f->disk_full ? STATUS_DISK_FULL : STATUS_DISK_OK;
	st->rejected = (int64_t)f->rejected;
	st->xruns = (int64_t)f->player->xruns;
	if (f->player->fault)
		snprintf(st->fault, sizeof(st->fault), "%s", f->player->fault_reason);
	st->uptime_s = f->uptime_s;
	st->keys_ms = f->keys_ms ? f->keys_ms : WIRE_NONE;
	snprintf(st->version, sizeof(st->version), "%s", CX_VERSION);
}

int outbox_offline(const char *node, int64_t boot, const unsigned char sk[ENV_SK_BYTES],
		   char **msg, size_t *len)
{
	struct status st;

	status_init(&st);
	snprintf(st.node, sizeof(st.node), "%s", node);
	st.boot = boot;
	st.n = 0;
	st.state = STATUS_OFFLINE;
	snprintf(st.version, sizeof(st.version), "%s", CX_VERSION);
	return status_sign(&st, sk, msg, len);
}
