/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pub.h -- signing and publishing controller messages on the broker */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "envelope.h"
#include "mq.h"

struct pub {
	struct mq *mq;
	unsigned char sk[ENV_SK_BYTES];
	struct env_key key;
};

/* Load the signing key. \retval 0 / -errno (ERR gets a one-line reason) */
int pub_init(struct pub *p, const char *key_path, char *err, size_t errlen);
void pub_wipe(struct pub *p);

/* Serialise OBJ compactly in its key order, sign it, publish on TOPIC.
 * \retval 0 / -ENOTCONN / -EMSGSIZE / -errno */
int pub_signed(struct pub *p, const char *topic, json_t *obj, int qos, bool retain);
/* Same for a JSON text that is already serialised (no newline). */
int pub_signed_text(struct pub *p, const char *topic, const char *json, size_t len, int qos,
		    bool retain);
/* Publish a file's bytes (an asset) retained with QoS 1. \retval 0 / -errno */
int pub_file(struct pub *p, const char *topic, const char *path, size_t max);
