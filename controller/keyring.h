/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keyring.h -- the poles' enrolled keys, to verify what they sign */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "receipt.h"
#include "status.h"
#include "store.h"

/* A copy of the store's keys in force, by node id. A message from a node
 * the copy does not know, or signed with a key id that is not the node's,
 * reloads it from the store (at most once a second), so a pole enrolled by
 * `cunxiang enrol` while serve runs counts from its next message. Each node
 * may fail verification KEYRING_FAIL_BURST times, refilled at
 * KEYRING_FAIL_RATE a second; beyond, its messages are dropped unverified
 * until it has credit again (a flood of forgeries for one pole cannot take
 * serve's time; the pole resends what was dropped). Only signatures that
 * were checked and failed count: a wrong key id costs nothing to refuse. */
#define KEYRING_FAIL_RATE  20
#define KEYRING_FAIL_BURST 100

struct keyring;

/* Load the keys of ST (kept for reloads). NULL + errno. */
struct keyring *keyring_new(struct store *st);
void keyring_free(struct keyring *k);

/* The key in force of NODE, or NULL when NODE is not enrolled. */
const struct store_key *keyring_get(struct keyring *k, const char *node, int64_t now_ms);

/* Verify MSG (LEN bytes), which came on a topic of NODE, against NODE's key
 * in force; *JSONLEN is the length of the signed JSON.
 * \retval 0
 * \retval -ENOKEY       NODE is not enrolled
 * \retval -EBUSY        NODE has failed too often lately: not looked at
 * \retval -EBADMSG / -EMSGSIZE  not a signed message (env_verify)
 * \retval -EKEYREJECTED  the signature does not verify (counts as a failure)
 * \retval -EKEYEXPIRED  signed by another key than NODE's */
int keyring_verify(struct keyring *k, const char *node, const char *msg, size_t len,
		   size_t *jsonlen, int64_t now_ms);

/* A message that came on TOPIC (LEN bytes at PAYLOAD): a receipt, or a
 * status, verified with its node's key in force and parsed strictly
 * (common/receipt.h, common/status.h), the node named in the topic. This is
 * how everything that counts receipts or shows a status reads them.
 * \retval 0 / keyring_verify's errors / -EBADMSG (not that topic, or the
 * signed JSON breaks a rule) / -ENOMEM */
int keyring_receipt(struct keyring *k, const char *topic, const void *payload, size_t len,
		    int64_t now_ms, struct receipt *out);
int keyring_status(struct keyring *k, const char *topic, const void *payload, size_t len,
		   int64_t now_ms, struct status *out);

/* Number of enrolled nodes in the copy. */
size_t keyring_count(const struct keyring *k);
