/* SPDX-License-Identifier: GPL-2.0-or-later */
/* receipt.c -- the receipt a pole signs for every play, and the "lost" record */
#include "receipt.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static const char *const kinds[] = { "plan", "alert", "live", NULL };
static const char *const states[] = {
	"accepted", "started", "completed", "interrupted", "failed", "skipped", "expired",
	"lost", NULL,
};

/* The receipt's integer fields: each is null or within its range. */
static const struct num_field {
	const char *name;
	size_t off;
	int64_t min, max;
} nums[] = {
	{ "scheduled_ms", offsetof(struct receipt, scheduled_ms), 0, WIRE_SEQ_MAX },
	{ "started_ms", offsetof(struct receipt, started_ms), 0, WIRE_SEQ_MAX },
	{ "ended_ms", offsetof(struct receipt, ended_ms), 0, WIRE_SEQ_MAX },
	{ "played_ms", offsetof(struct receipt, played_ms), 0, WIRE_SEQ_MAX },
	{ "start_error_us", offsetof(struct receipt, start_error_us), -WIRE_SEQ_MAX, WIRE_SEQ_MAX },
	{ "volume", offsetof(struct receipt, volume), 0, 100 },
};
#define NUMS (sizeof(nums) / sizeof(nums[0]))

const char *receipt_kind_name(enum receipt_kind k)
{
	return k >= RECEIPT_PLAN && k <= RECEIPT_LIVE ? kinds[k] : NULL;
}

const char *receipt_state_name(enum receipt_state s)
{
	return s >= RECEIPT_ACCEPTED && s <= RECEIPT_LOST ? states[s] : NULL;
}

void receipt_init(struct receipt *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = RECEIPT_KIND_NONE;
	r->scheduled_ms = r->started_ms = r->ended_ms = WIRE_NONE;
	r->played_ms = r->start_error_us = r->volume = WIRE_NONE;
}

static int64_t *num(struct receipt *r, const struct num_field *f)
{
	return (int64_t *)((char *)r + f->off);
}

static bool valid(const struct receipt *r)
{
	bool lost = r->state == RECEIPT_LOST;

	if (!wire_node_id_ok(r->node) || r->seq < 1 || r->seq > WIRE_SEQ_MAX ||
	    r->from < 1 || r->from > r->seq || !receipt_state_name(r->state))
		return false;
	if (lost != (r->kind == RECEIPT_KIND_NONE) || lost != (r->occ[0] == '\0'))
		return false;
	for (const struct num_field *f = nums; f < nums + NUMS; f++) {
		int64_t v = *num((struct receipt *)r, f);

		if (v != WIRE_NONE && (v < f->min || v > f->max))
			return false;
	}
	return true;
}

int receipt_sign(const struct receipt *r, const unsigned char sk[ENV_SK_BYTES], char **msg,
		 size_t *len)
{
	json_t *o;
	int rc;

	if (!valid(r))
		return -EINVAL;
	o = json_object();
	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "type", json_string("receipt"));
	json_object_set_new(o, "node", json_string(r->node));
	json_object_set_new(o, "seq", json_integer(r->seq));
	json_object_set_new(o, "from", json_integer(r->from));
	if (r->state != RECEIPT_LOST) {
		json_object_set_new(o, "occ", json_string(r->occ));
		json_object_set_new(o, "kind", json_string(kinds[r->kind]));
	}
	json_object_set_new(o, "state", json_string(states[r->state]));
	for (const struct num_field *f = nums; f < nums + NUMS; f++)
		json_object_set_new(o, f->name, wire_int_or_null(*num((struct receipt *)r, f)));
	json_object_set_new(o, "reason", r->reason[0] ? json_string(r->reason) : json_null());
	rc = wire_sign(o, sk, msg, len);
	json_decref(o);
	return rc;
}

int receipt_parse(const char *json, size_t len, const char *topic_node, struct receipt *r,
		  char *err, size_t errlen)
{
	struct wire_err e = { err, errlen };
	json_t *o = NULL;
	int64_t seq = 0;
	int k = 0, st = 0, rc;

	receipt_init(r);
	if (err && errlen)
		err[0] = '\0';
	if ((rc = wire_load(json, len, WIRE_SMALL_MAX, "receipt", &o, &e)) < 0)
		return rc;
	if ((rc = wire_str(&e, o, NULL, "node", WIRE_NODE_MAX, true, r->node)) < 0)
		goto out;
	if (!wire_node_id_ok(r->node) || (topic_node && strcmp(r->node, topic_node))) {
		rc = wire_fail(&e, "node: '%s' is not the node of the topic", r->node);
		r->node[0] = '\0';
		goto out;
	}
	if ((rc = wire_int(&e, o, NULL, "seq", 1, WIRE_SEQ_MAX, true, &seq)) < 0)
		goto out;
	r->seq = seq;
	if ((rc = wire_int(&e, o, NULL, "from", 1, seq, true, &r->from)) < 0 ||
	    (rc = wire_enum(&e, o, NULL, "state", states, true, &st)) < 0)
		goto out;
	r->state = (enum receipt_state)st;
	if (r->state != RECEIPT_LOST) {
		if ((rc = wire_str(&e, o, NULL, "occ", RECEIPT_OCC_MAX, true, r->occ)) < 0 ||
		    (rc = wire_enum(&e, o, NULL, "kind", kinds, true, &k)) < 0)
			goto out;
		r->kind = (enum receipt_kind)k;
	}
	for (const struct num_field *f = nums; f < nums + NUMS; f++)
		if ((rc = wire_int(&e, o, NULL, f->name, f->min, f->max, false, num(r, f))) < 0)
			goto out;
	rc = wire_str(&e, o, NULL, "reason", RECEIPT_REASON_MAX, false, r->reason);
out:
	json_decref(o);
	return rc;
}
