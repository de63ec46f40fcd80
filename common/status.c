/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status.c -- the status a pole signs and retains, and its will */
#include "status.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static const char *const states[] = { "idle", "playing", "fault", "offline", NULL };
static const char *const disks[] = { "ok", "full", NULL };
static const char *const plans[] = { "none", "current", "expired", NULL };

/* The status's integer fields: each is absent or within its range. */
static const struct num_field {
	const char *name;
	size_t off;
	int64_t min, max;
} nums[] = {
	{ "plan_issued_ms", offsetof(struct status, plan_issued_ms), 0, WIRE_SEQ_MAX },
	{ "assets_missing", offsetof(struct status, assets_missing), 0, WIRE_SEQ_MAX },
	{ "volume", offsetof(struct status, volume), 0, 100 },
	{ "clock_offset_us", offsetof(struct status, clock_offset_us), -WIRE_SEQ_MAX, WIRE_SEQ_MAX },
	{ "spool", offsetof(struct status, spool), 0, WIRE_SEQ_MAX },
	{ "rejected", offsetof(struct status, rejected), 0, WIRE_SEQ_MAX },
	{ "xruns", offsetof(struct status, xruns), 0, WIRE_SEQ_MAX },
	{ "uptime_s", offsetof(struct status, uptime_s), 0, WIRE_SEQ_MAX },
	{ "keys_ms", offsetof(struct status, keys_ms), 0, WIRE_SEQ_MAX },
};
#define NUMS (sizeof(nums) / sizeof(nums[0]))

const char *status_state_name(enum status_state s)
{
	return s >= STATUS_IDLE && s <= STATUS_OFFLINE ? states[s] : NULL;
}

const char *status_disk_name(enum status_disk d)
{
	return d == STATUS_DISK_OK ? "ok" : d == STATUS_DISK_FULL ? "full" : NULL;
}

void status_init(struct status *s)
{
	memset(s, 0, sizeof(*s));
	s->plan_issued_ms = s->assets_missing = s->volume = s->clock_offset_us = WIRE_NONE;
	s->spool = s->rejected = s->xruns = s->uptime_s = s->keys_ms = WIRE_NONE;
}

static int64_t *num(struct status *s, const struct num_field *f)
{
	return (int64_t *)((char *)s + f->off);
}

static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

int status_sign(const struct status *s, const unsigned char sk[ENV_SK_BYTES], char **msg,
		size_t *len)
{
	json_t *o;
	int rc;

	if (!wire_node_id_ok(s->node) || s->boot < 1 || s->boot > WIRE_SEQ_MAX || s->n < 0 ||
	    s->n > WIRE_SEQ_MAX || !status_state_name(s->state) ||
	    (s->n == 0) != (s->state == STATUS_OFFLINE))
		return -EINVAL;
	o = json_object();
	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "type", json_string("status"));
	json_object_set_new(o, "node", json_string(s->node));
	json_object_set_new(o, "boot", json_integer(s->boot));
	json_object_set_new(o, "n", json_integer(s->n));
	json_object_set_new(o, "state", json_string(states[s->state]));
	if (s->plan != STATUS_PLAN_UNKNOWN)
		json_object_set_new(o, "plan", json_string(plans[s->plan - 1]));
	if (s->disk != STATUS_DISK_UNKNOWN)
		json_object_set_new(o, "disk", json_string(disks[s->disk - 1]));
	for (const struct num_field *f = nums; f < nums + NUMS; f++)
		if (*num((struct status *)s, f) != WIRE_NONE)
			json_object_set_new(o, f->name, json_integer(*num((struct status *)s, f)));
	if (s->state != STATUS_OFFLINE) {
		json_object_set_new(o, "playing", str_or_null(s->playing));
		json_object_set_new(o, "fault", str_or_null(s->fault));
	}
	if (s->version[0])
		json_object_set_new(o, "version", json_string(s->version));
	rc = wire_sign(o, sk, msg, len);
	json_decref(o);
	return rc;
}

int status_parse(const char *json, size_t len, const char *topic_node, struct status *s,
		 char *err, size_t errlen)
{
	struct wire_err e = { err, errlen };
	json_t *o = NULL;
	int v = 0, rc;

	status_init(s);
	if (err && errlen)
		err[0] = '\0';
	if ((rc = wire_load(json, len, WIRE_SMALL_MAX, "status", &o, &e)) < 0)
		return rc;
	if ((rc = wire_str(&e, o, NULL, "node", WIRE_NODE_MAX, true, s->node)) < 0)
		goto out;
	if (!wire_node_id_ok(s->node) || (topic_node && strcmp(s->node, topic_node))) {
		rc = wire_fail(&e, "node: '%s' is not the node of the topic", s->node);
		goto out;
	}
	if ((rc = wire_int(&e, o, NULL, "boot", 1, WIRE_SEQ_MAX, true, &s->boot)) < 0 ||
	    (rc = wire_int(&e, o, NULL, "n", 0, WIRE_SEQ_MAX, true, &s->n)) < 0 ||
	    (rc = wire_enum(&e, o, NULL, "state", states, true, &v)) < 0)
		goto out;
	s->state = (enum status_state)v;
	if ((s->n == 0) != (s->state == STATUS_OFFLINE)) {
		rc = wire_fail(&e, "n: 0 exactly when the state is offline");
		goto out;
	}
	v = -1;
	if ((rc = wire_enum(&e, o, NULL, "plan", plans, false, &v)) < 0)
		goto out;
	s->plan = (enum status_plan)(v + 1);
	v = -1;
	if ((rc = wire_enum(&e, o, NULL, "disk", disks, false, &v)) < 0)
		goto out;
	s->disk = (enum status_disk)(v + 1);
	for (const struct num_field *f = nums; f < nums + NUMS; f++)
		if ((rc = wire_int(&e, o, NULL, f->name, f->min, f->max, false, num(s, f))) < 0)
			goto out;
	if ((rc = wire_str(&e, o, NULL, "playing", sizeof(s->playing) - 1, false, s->playing)) < 0 ||
	    (rc = wire_str(&e, o, NULL, "fault", STATUS_FAULT_MAX, false, s->fault)) < 0)
		goto out;
	rc = wire_str(&e, o, NULL, "version", STATUS_VERSION_MAX, false, s->version);
out:
	json_decref(o);
	return rc;
}

bool status_fresher(const struct status *s, int64_t last_boot, int64_t last_n)
{
	if (s->state == STATUS_OFFLINE)
		return s->boot >= last_boot;
	return s->boot > last_boot || (s->boot == last_boot && s->n > last_n);
}
