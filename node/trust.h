/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trust.h -- the controller keys a pole trusts: node.yaml's trusted_keys
 * until a keys message (cx/v1/keys, `cunxiang trust`) replaces them */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ctlmsg.h"
#include "envelope.h"

#define TRUST_FILE "keys.msg"   /* in the state directory */

struct trust {
	struct env_key keys[CTL_KEYS_MAX];
	size_t nkeys;                  /* at least 1 */
	int64_t issued_ms;             /* of the keys message in force; 0: node.yaml's */
	char base[65];                 /* SHA-256 (hex) of node.yaml's keys */
	char *path;                    /* STATE_DIR/keys.msg */
};

/* Start from node.yaml's CONF keys (1..CTL_KEYS_MAX), then take the keys
 * message saved in STATE_DIR if it was taken while node.yaml listed the
 * same keys: an edited trusted_keys is newer than any message. A saved
 * message that cannot be read or is not well formed is ignored; WHY (if
 * not NULL) then says why.
 * \retval 1 the saved message is in force / 0 node.yaml's keys / -ENOMEM / -EINVAL */
int trust_open(struct trust *t, const char *state_dir, const struct env_key *conf, size_t nconf,
	       char *why, size_t whylen);
void trust_close(struct trust *t);

/* A keys message MSG of LEN bytes from the broker: signed by a key trusted
 * now, well formed, and issued after the one in force. It is saved
 * (fsynced) before it is taken.
 * \retval 1 taken / 0 the one in force or an older one (nothing changes)
 * \retval -EKEYREJECTED, -ENOKEY, -EBADMSG (ERR says why) / -errno saving */
int trust_take(struct trust *t, const char *msg, size_t len, char *err, size_t errlen);
