/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire.h -- the MQTT topics of cx/v1, their limits, the node-id rule, and the
 * strict JSON field readers every message module (plan, alert, receipt,
 * status, ctlmsg) is built on */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "envelope.h"

/* ---- limits ------------------------------------------------------------ */

#define WIRE_NODE_MAX    32            /* node id: [a-z0-9-]{1,32} */
#define WIRE_ARG_MAX     64            /* a topic's variable level: node, sha, stream */
#define WIRE_TOPIC_MAX   160
/* Every message a pole sends (receipt, status, want, ping) and every small
 * controller message (ack, pong, cmd) is at most this many bytes, signature
 * included; the controller's session refuses larger packets at the broker. */
#define WIRE_SMALL_MAX   16384
#define WIRE_SEQ_MAX     9007199254740991LL /* 2^53 - 1: exact in every JSON reader */
/* Instants in 2000-01-01 .. 2100-01-01: anything else is a bug (seconds for
 * ms, a clock at 1970), not a message. */
#define WIRE_MIN_INSTANT_MS 946684800000LL
#define WIRE_MAX_INSTANT_MS 4102444800000LL
/* An optional number that was absent or null. */
#define WIRE_NONE INT64_MIN

/* ---- topics ------------------------------------------------------------ */

enum wire_topic {
	WIRE_T_NONE,        /* not a cx/v1 topic, or a malformed one */
	WIRE_T_PLAN,        /* cx/v1/plan/NODE       controller -> node, retained */
	WIRE_T_ASSET,       /* cx/v1/asset/SHA256    controller -> nodes, retained */
	WIRE_T_ALERT,       /* cx/v1/alert           controller -> all nodes */
	WIRE_T_LIVE,        /* cx/v1/live/STREAM     controller -> nodes, QoS 0 */
	WIRE_T_CMD,         /* cx/v1/cmd/NODE        controller -> node */
	WIRE_T_RECEIPT,     /* cx/v1/receipt/NODE    node -> controller */
	WIRE_T_ACK,         /* cx/v1/ack/NODE        controller -> node */
	WIRE_T_STATUS,      /* cx/v1/status/NODE     node -> all, retained */
	WIRE_T_PING,        /* cx/v1/time/NODE/ping  node -> controller, QoS 0 */
	WIRE_T_PONG,        /* cx/v1/time/NODE/pong  controller -> node, QoS 0 */
	WIRE_T_WANT,        /* cx/v1/want/NODE       node -> controller: resend a plan or assets */
	WIRE_T_KEYS,        /* cx/v1/keys            controller -> all nodes, retained: keys to trust */
};

/* Subscription filters. */
#define WIRE_SUB_PLANS    "cx/v1/plan/+"
#define WIRE_SUB_ASSETS   "cx/v1/asset/+"
#define WIRE_SUB_LIVE     "cx/v1/live/+"
#define WIRE_SUB_RECEIPTS "cx/v1/receipt/+"
#define WIRE_SUB_STATUS   "cx/v1/status/+"
#define WIRE_SUB_PINGS    "cx/v1/time/+/ping"
#define WIRE_SUB_WANTS    "cx/v1/want/+"

/* Is S a node id ([a-z0-9-]{1,WIRE_NODE_MAX})? The N variant looks at N bytes. */
bool wire_node_id_ok(const char *s);
bool wire_node_id_okn(const char *s, size_t n);

/* The topic of kind T about ARG (a node id, an asset's lower-case hex
 * SHA-256, a live stream name; ignored for WIRE_T_ALERT and WIRE_T_KEYS) into OUT.
 * \retval 0 / -EINVAL (T unknown, ARG not valid for T) */
int wire_topic(enum wire_topic t, const char *arg, char out[WIRE_TOPIC_MAX]);

/* The kind of TOPIC; its variable level, validated for that kind, is copied
 * to ARG ("" for the alert topic). Anything malformed is WIRE_T_NONE. */
enum wire_topic wire_topic_parse(const char *topic, char arg[WIRE_ARG_MAX + 1]);

/* ---- reading JSON fields, for the message modules ---------------------- */

/* Where a parser writes its one-line reason ("seq: 0 is out of range
 * 1..9007199254740991"); BUF may be NULL. */
struct wire_err {
	char *buf;
	size_t len;
};

/* Format the reason, escaped as diag_escape() shows it (it may quote what
 * came in, which is not to reach a log line as it is); returns -EBADMSG. */
int wire_fail(struct wire_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse LEN bytes (at most MAX) as one JSON object whose "type" is TYPE
 * (NULL: any), duplicate keys rejected. \retval 0 (*OUT set) / -EBADMSG /
 * -ENOMEM */
int wire_load(const char *json, size_t len, size_t max, const char *type, json_t **out,
	      struct wire_err *e);

/* In the readers below WHERE prefixes KEY in reasons ("events[3]."); NULL
 * for none. An absent key, or null when not REQUIRED, leaves *OUT alone and
 * returns 0. */

/* An integer in MIN..MAX. \retval 0 / -EBADMSG */
int wire_int(struct wire_err *e, json_t *o, const char *where, const char *key, int64_t min,
	     int64_t max, bool required, int64_t *out);
/* A string of 1..MAX bytes without control characters, copied to OUT
 * (MAX + 1 bytes). \retval 0 / -EBADMSG */
int wire_str(struct wire_err *e, json_t *o, const char *where, const char *key, size_t max,
	     bool required, char *out);
/* A string equal to one of NAMES (NULL-terminated); *OUT its index.
 * \retval 0 / -EBADMSG */
int wire_enum(struct wire_err *e, json_t *o, const char *where, const char *key,
	      const char *const *names, bool required, int *out);
/* true or false. \retval 0 / -EBADMSG */
int wire_bool(struct wire_err *e, json_t *o, const char *where, const char *key, bool required,
	      bool *out);
/* An array of at most MAX asset hashes (64 lower-case hex digits each) into
 * a calloc'ed *OUT of *N entries (NULL when none); absent or null is empty.
 * \retval 0 / -EBADMSG / -ENOMEM */
int wire_shas(struct wire_err *e, json_t *o, const char *where, const char *key, size_t max,
	      char (**out)[65], size_t *n);

/* ---- writing ----------------------------------------------------------- */

/* Serialise O compactly, in its key order, and sign it with SK: *MSG is the
 * malloc'ed envelope (DESIGN "Envelope and signatures") of *LEN bytes.
 * \retval 0 / -ENOMEM / -EINVAL / -EMSGSIZE */
int wire_sign(json_t *o, const unsigned char sk[ENV_SK_BYTES], char **msg, size_t *len);
/* Serialise O compactly in its key order: a malloc'ed NUL-terminated text.
 * NULL on ENOMEM. */
char *wire_dump(json_t *o, size_t *len);
/* An integer, or null for WIRE_NONE; for building messages. */
json_t *wire_int_or_null(int64_t v);
