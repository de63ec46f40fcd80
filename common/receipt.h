/* SPDX-License-Identifier: GPL-2.0-or-later */
/* receipt.h -- the receipt a pole signs for every play, and the "lost"
 * record that stands in for a receipt its spool could not keep */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "wire.h"

/*
 * On cx/v1/receipt/NODE, QoS 1, signed by the pole's own key:
 *
 *   {"type":"receipt","node":"yn-01","seq":4711,"from":4702,
 *    "occ":"flood-meeting-daily@2026-12-01T07:30","kind":"plan",
 *    "state":"completed","scheduled_ms":...,"started_ms":...,"ended_ms":...,
 *    "played_ms":18400,"start_error_us":-310,"volume":80,"reason":null}
 *
 * seq    1.., +1 per receipt of the pole's key, for ever.
 * from   1..seq: the lowest seq the pole held unacknowledged when it made
 *        this receipt. The controller never acknowledges past a seq it has
 *        not stored from there on, so a receipt lost between the broker's
 *        PUBACK and the controller's commit is resent, never acked away.
 * state  "lost": the pole could not keep receipt SEQ (its spool file was
 *        unreadable, or the disk failed); occ and kind are absent, reason
 *        says why. The seq still counts for the ack.
 *
 * Unknown keys are ignored (a newer pole may add some); every known one is
 * type- and range-checked, duplicates are rejected.
 */

#define RECEIPT_OCC_MAX    160   /* bytes: plan occ or alert id */
#define RECEIPT_REASON_MAX 256   /* bytes */

enum receipt_kind { RECEIPT_PLAN, RECEIPT_ALERT, RECEIPT_LIVE, RECEIPT_KIND_NONE };
enum receipt_state {
	RECEIPT_ACCEPTED, RECEIPT_STARTED, RECEIPT_COMPLETED, RECEIPT_INTERRUPTED,
	RECEIPT_FAILED, RECEIPT_SKIPPED, RECEIPT_EXPIRED, RECEIPT_LOST,
};

struct receipt {
	char node[WIRE_NODE_MAX + 1];
	int64_t seq;
	int64_t from;
	enum receipt_kind kind;         /* RECEIPT_KIND_NONE for a lost record */
	enum receipt_state state;
	char occ[RECEIPT_OCC_MAX + 1];  /* "" for a lost record */
	/* WIRE_NONE when null or absent */
	int64_t scheduled_ms, started_ms, ended_ms, played_ms, start_error_us, volume;
	char reason[RECEIPT_REASON_MAX + 1]; /* "" for none */
};

/* "plan", "alert", "live" / "accepted" ... "lost"; NULL out of range. */
const char *receipt_kind_name(enum receipt_kind k);
const char *receipt_state_name(enum receipt_state s);

/* A receipt with every number WIRE_NONE and no strings. */
void receipt_init(struct receipt *r);

/* Sign R with SK: *MSG (malloc'ed) is the envelope to publish and spool.
 * \retval 0 / -EINVAL (R breaks a rule above) / -ENOMEM / -EMSGSIZE */
int receipt_sign(const struct receipt *r, const unsigned char sk[ENV_SK_BYTES], char **msg,
		 size_t *len);

/* Parse the signed JSON (the envelope's first line, LEN bytes) that came on
 * the topic of TOPIC_NODE (NULL: any node). *R is filled as far as it
 * could be read: on -EBADMSG, R->seq > 0 and R->node set mean node and seq
 * were readable (the pole's own malformed receipt: keep it, count its seq).
 * \retval 0 / -EBADMSG (ERR says why) / -ENOMEM */
int receipt_parse(const char *json, size_t len, const char *topic_node, struct receipt *r,
		  char *err, size_t errlen);
