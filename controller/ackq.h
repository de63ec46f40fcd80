/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ackq.h -- serve's acks, held back a moment so that a pole sending a burst of receipts gets one */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* A pole is acked once what it sent has been committed and it has sent
 * nothing more for ACKQ_QUIET_MS, or ACKQ_MAX_MS after the first receipt
 * that ack covers, whichever comes first: far inside the 30 s after which
 * a pole sends an unacknowledged receipt again, and the alert's accepted,
 * started and completed go out of the moment it fans out as one ack. */
#define ACKQ_QUIET_MS 1000
#define ACKQ_MAX_MS 2000

struct ackq;

/* An empty queue. NULL + errno. */
struct ackq *ackq_new(void);
void ackq_free(struct ackq *q);

/* NODE's receipts are stored through SEQ, acked under its key KEY, in the
 * transaction now open; NOW_MS when they came. The last call for a node
 * wins (the store's ack never goes down for one key, and a new key starts
 * over). \retval 0 / -ENOMEM / -EINVAL (a name too long) */
int ackq_add(struct ackq *q, const char *node, const char *key, uint64_t seq, int64_t now_ms);

/* The open transaction was committed (OK), or was not: then what it added
 * is forgotten, and acks already committed stay as they were. */
void ackq_commit(struct ackq *q, bool ok);

/* FN for each ack that is due at NOW_MS, or for every committed one when
 * ALL; each is given once, until more is committed for its node.
 * \retval ms until the next is due, -1 when none is waiting */
int64_t ackq_due(struct ackq *q, int64_t now_ms, bool all,
		 void (*fn)(const char *node, const char *key, uint64_t seq, void *ud), void *ud);
