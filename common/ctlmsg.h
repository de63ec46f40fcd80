/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctlmsg.h -- the small messages of cx/v1: ack, ping, pong, command, want, keys */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "wire.h"

/*
 * ack   controller -> cx/v1/ack/NODE, QoS 1, signed by the controller:
 *       {"type":"ack","node":"yn-01","key":"KEYID","seq":4711}
 *       Every receipt of NODE signed by its key KEYID with a seq up to SEQ,
 *       from where the pole said its unacknowledged receipts begin, is
 *       committed. A pole takes only an ack naming itself and its own key.
 * ping  node -> cx/v1/time/NODE/ping, QoS 0, unsigned (it asks; the
 *       controller answers only enrolled poles, at a bounded rate):
 *       {"type":"ping","t0_us":...}
 * pong  controller -> cx/v1/time/NODE/pong, QoS 0, signed:
 *       {"type":"pong","node":"yn-01","t0_us":...,"t1_us":...,"t2_us":...}
 *       names its node and its ping's t0_us.
 * cmd   controller -> cx/v1/cmd/NODE, QoS 1, signed:
 *       {"type":"cmd","node":"yn-01","issued_ms":...,"cmd":"resend"}
 *       "resend": publish every unacknowledged receipt now.
 * want  node -> cx/v1/want/NODE, QoS 1, signed by the pole:
 *       {"type":"want","node":"yn-01","issued_ms":...,"plan":true,
 *        "assets":["9f2c..."]}
 *       the pole lacks its plan or these assets (absent on the broker, or
 *       what the broker held was not what the controller published).
 * keys  controller -> cx/v1/keys, QoS 1, retained, signed by a key the
 *       poles trust now (`cunxiang trust`):
 *       {"type":"keys","issued_ms":...,"keys":["BASE64",...]}
 *       From now on the poles trust exactly these controller keys (1 to
 *       CTL_KEYS_MAX, no key twice), in place of their node.yaml's
 *       trusted_keys; a pole takes it only when issued_ms is later than
 *       that of the keys message it holds (README, "Rotating the
 *       controller's key").
 */

#define CTL_WANT_MAX_ASSETS 16
#define CTL_KEYS_MAX        16

struct ctl_ack {
	char node[WIRE_NODE_MAX + 1];
	char key[ENV_KEYID_LEN + 1];
	int64_t seq;                   /* 1..WIRE_SEQ_MAX */
};

struct ctl_pong {
	char node[WIRE_NODE_MAX + 1];
	int64_t t0_us, t1_us, t2_us;
};

enum ctl_cmd { CTL_CMD_RESEND };

struct ctl_cmd_msg {
	char node[WIRE_NODE_MAX + 1];
	int64_t issued_ms;
	enum ctl_cmd cmd;
};

struct ctl_keys {
	int64_t issued_ms;
	size_t nkeys;                  /* 1..CTL_KEYS_MAX */
	struct env_key keys[CTL_KEYS_MAX];
};

struct ctl_want {
	char node[WIRE_NODE_MAX + 1];
	int64_t issued_ms;
	bool plan;
	size_t nassets;
	char assets[CTL_WANT_MAX_ASSETS][65];
};

/* Each *_sign builds the message and signs it with SK into a malloc'ed *MSG
 * of *LEN bytes. \retval 0 / -EINVAL (a field out of its range) / -ENOMEM /
 * -EMSGSIZE. Each *_parse reads the JSON of a verified envelope (or the
 * plain JSON of a ping) and checks that it names TOPIC_NODE (NULL: any).
 * \retval 0 / -EBADMSG (ERR says why) / -ENOMEM */

int ctl_ack_sign(const struct ctl_ack *a, const unsigned char sk[ENV_SK_BYTES], char **msg,
		 size_t *len);
int ctl_ack_parse(const char *json, size_t len, const char *topic_node, struct ctl_ack *a,
		  char *err, size_t errlen);

/* The ping is not signed: *JSON (malloc'ed) is its text. \retval 0 / -ENOMEM */
int ctl_ping_build(int64_t t0_us, char **json, size_t *len);
int ctl_ping_parse(const char *json, size_t len, int64_t *t0_us, char *err, size_t errlen);

int ctl_pong_sign(const struct ctl_pong *p, const unsigned char sk[ENV_SK_BYTES], char **msg,
		  size_t *len);
int ctl_pong_parse(const char *json, size_t len, const char *topic_node, struct ctl_pong *p,
		   char *err, size_t errlen);

int ctl_cmd_sign(const struct ctl_cmd_msg *c, const unsigned char sk[ENV_SK_BYTES], char **msg,
		 size_t *len);
int ctl_cmd_parse(const char *json, size_t len, const char *topic_node, struct ctl_cmd_msg *c,
		  char *err, size_t errlen);

int ctl_want_sign(const struct ctl_want *w, const unsigned char sk[ENV_SK_BYTES], char **msg,
		  size_t *len);
int ctl_want_parse(const char *json, size_t len, const char *topic_node, struct ctl_want *w,
		   char *err, size_t errlen);

/* (keys name no node: there is no TOPIC_NODE) */
int ctl_keys_sign(const struct ctl_keys *k, const unsigned char sk[ENV_SK_BYTES], char **msg,
		  size_t *len);
int ctl_keys_parse(const char *json, size_t len, struct ctl_keys *k, char *err, size_t errlen);
