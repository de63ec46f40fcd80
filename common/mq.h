/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mq.h -- an MQTT 5 session on its own thread: reconnects, queues what arrives */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libmosquitto 2.0.11's mosquitto_reconnect() (and so its loop_forever)
 * sends CONNECT without the properties of the first connect, which would
 * set the session expiry to 0 and lose queued QoS 1 messages while a pole
 * is offline. This module therefore reconnects with mosquitto_connect_bind_v5
 * itself, with the same properties each time: every 0.5 s while the link
 * fails (every 2 s after 10 minutes of it), 1 s .. 30 s after the broker
 * refused, each spread +-25 % (mq.c says why). A connection that dies or
 * hangs before the broker's CONNACK (TCP or TLS) is given up at once or
 * after connect_timeout_ms. */

struct mq_cfg {
	const char *client_id;
	const char *host;
	int port;
	bool tls;
	const char *ca_file;          /* NULL: system CA store */
	const char *username;         /* optional */
	const char *password;
	bool clean_start;
	uint32_t session_expiry_s;    /* 0: session ends with the connection */
	uint32_t max_packet;          /* largest packet we accept (broker drops larger); 0 = none */
	int keepalive_s;              /* default 30 */
	int connect_timeout_ms;       /* TCP connect to CONNACK; 0: 10 s */
	const char *will_topic;       /* optional */
	const void *will_payload;
	size_t will_len;
	bool will_retain;
	const char *const *subs;      /* subscribed at every connect, QoS SUB_QOS;
				       * at most MQ_MAX_SUBS */
	size_t nsubs;
	int sub_qos;
	const int *sub_qos_each;      /* optional: the QoS of each of SUBS, for sub_qos */
	int sub_opts;                 /* MQTT 5 subscription options of SUBS: MQ_SUB_NO_LOCAL */
	size_t max_queue_bytes;       /* payload bytes queued for mq_next before messages
				       * are dropped (counted, mq_dropped); 0 = no limit */
	/* Optional: offered each message on the session thread as it arrives,
	 * before it is queued; true if it took the message, which is then not
	 * queued. For traffic that must not wait behind the main loop (live
	 * audio while the main loop is in an fsync). Must not block.
	 * RECV_MONO_US: CLOCK_MONOTONIC when it arrived. */
	bool (*direct)(void *ud, const char *topic, const void *payload, size_t len,
		       int64_t recv_mono_us);
	void *direct_ud;
};

/* Do not send back what this session published (retained messages that
 * were are still sent at subscribe). */
#define MQ_SUB_NO_LOCAL 0x04
#define MQ_MAX_SUBS 16

enum mq_ev_type { MQ_EV_CONNECTED, MQ_EV_DISCONNECTED, MQ_EV_MESSAGE };

struct mq_event {
	enum mq_ev_type type;
	char *topic;                  /* MESSAGE: malloc'ed */
	unsigned char *payload;       /* MESSAGE: malloc'ed (NUL-terminated beyond len) */
	size_t len;
	bool retain;
	int64_t recv_us;              /* MESSAGE: wall clock when it arrived */
	int64_t recv_mono_us;         /* MESSAGE: CLOCK_MONOTONIC then (steps of the
				       * wall clock do not move it) */
	char reason[128];             /* DISCONNECTED: why */
};

struct mq;

/* Split "mqtt://HOST[:PORT]" or "mqtts://HOST[:PORT]" (IPv6 as [ADDR]);
 * *HOST is malloc'ed. Ports default to 1883 and 8883.
 * \retval 0 / -EINVAL / -ENOMEM */
int mq_parse_url(const char *url, char **host, int *port, bool *tls);

/* Start the session thread; it connects in the background. NULL + errno. */
struct mq *mq_new(const struct mq_cfg *cfg);
/* Disconnect cleanly (the broker does not publish the will), join, free. */
void mq_free(struct mq *m);

/* Readable (eventfd) while events are queued. */
int mq_fd(struct mq *m);
/* Take the next event. \retval 1 / 0 none. Free it with mq_event_clear. */
int mq_next(struct mq *m, struct mq_event *ev);
void mq_event_clear(struct mq_event *ev);

/* Publish. QoS 0 or 1. Thread-safe. \retval 0 queued / -ENOTCONN / -EMSGSIZE / -EIO */
int mq_publish(struct mq *m, const char *topic, const void *buf, size_t len, int qos,
	       bool retain);
/* Subscribe / unsubscribe one topic now (persistent sessions keep it across
 * reconnects). \retval 0 / -ENOTCONN / -EIO */
int mq_subscribe(struct mq *m, const char *topic, int qos);
int mq_unsubscribe(struct mq *m, const char *topic);
bool mq_connected(struct mq *m);
/* Messages dropped because the queue held max_queue_bytes. */
uint64_t mq_dropped(struct mq *m);
/* Number of QoS 1 publishes not yet acknowledged by the broker. */
int mq_inflight(struct mq *m);
/* Wait up to TIMEOUT_MS for the first connection. \retval 0 / -ETIMEDOUT */
int mq_wait_connected(struct mq *m, int timeout_ms);
/* Wait up to TIMEOUT_MS until every QoS 1 publish is acknowledged. A
 * connection lost meanwhile does not end the wait: libmosquitto sends them
 * again once it is back. \retval 0 / -ETIMEDOUT / -ENOTCONN (not all
 * acknowledged and the connection is down) */
int mq_flush(struct mq *m, int timeout_ms);
