/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mq.c -- an MQTT 5 session on its own thread: reconnects, queues what arrives */
#include "mq.h"

#include "cxtime.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Reconnecting. A pole's link (4G) comes and goes; while it is gone every
 * attempt fails before the broker answers (no route, a reset, a handshake
 * that dies), and the first attempt after it is back must come soon: an
 * alert sent meanwhile waits for it (issue: within 1 s of the link coming
 * back). Such attempts are repeated every RETRY_LINK_MS; a failed TCP
 * connect costs the broker nothing and the link a SYN. After
 * OFFLINE_LONG_MS offline (the link is not flapping, it is gone) they slow
 * to RETRY_LINK_LONG_MS, which keeps a dead link's traffic down at the
 * price of a later return. A broker that answered and refused (a CONNACK
 * with an error: a bad password, a broker over its limits) is asked again
 * after RETRY_REFUSED_MS, doubling up to RETRY_REFUSED_MAX_MS: asking at
 * once would add to its load. Each wait is spread +-25 %. */
#define RETRY_LINK_MS         500
#define RETRY_LINK_LONG_MS    2000
#define OFFLINE_LONG_MS       (10 * 60 * 1000)
#define RETRY_REFUSED_MS      1000
#define RETRY_REFUSED_MAX_MS  30000
/* From the TCP connect to the CONNACK, TLS included: a handshake over 4G
 * (150 ms each way, a 2 s stall) takes a few seconds at worst. */
#define CONNECT_TIMEOUT_MS    10000
/* How long mq_free() waits for its DISCONNECT to go out. */
#define CLOSE_MS              1000

struct qnode {
	struct mq_event ev;
	struct qnode *next;
};

struct mq {
	struct mq_cfg cfg;
	char *client_id, *host, *username, *password, *ca_file, *will_topic;
	void *will_payload;
	char **subs;
	int *sub_qos;                 /* each of subs */
	struct mosquitto *mosq;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct qnode *head, *tail;
	int efd;
	atomic_bool stop;             /* set by mq_free(), read by the session thread */
	bool connected;
	bool refused;                 /* the broker's CONNACK said no (session thread) */
	int refused_ms;               /* the last wait after a refusal (session thread) */
	unsigned seed;                /* for the spread of the waits (session thread) */
	int inflight;                 /* QoS 1 publishes in PENDING */
	/* One bit per packet id of a QoS 1 publish not yet acknowledged.
	 * libmosquitto keeps those across a reconnect and sends them again,
	 * so they stay pending until their PUBACK, connection or not. */
	uint8_t pending[65536 / 8];
	bool started;
	size_t queued_bytes;
	uint64_t dropped;
	bool lib_held;                /* holds a reference on libmosquitto (lib_ref) */
};

/* libmosquitto is set up once per process (mosquitto_lib_init) and torn
 * down by the last user (mosquitto_lib_cleanup): sessions come and go, in
 * any thread. Without the cleanup, what a TLS connection made libmosquitto
 * allocate (its OpenSSL UI method) is never freed, and every daemon and
 * command ends with a leak under LeakSanitizer. A later lib_ref() after the
 * last cleanup sets libmosquitto up again; only that UI method, which it
 * needs for engine-held client keys (not used here), is not recreated. */
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned lib_users;

static int lib_ref(void)
{
	int r = 0;

	pthread_mutex_lock(&lib_lock);
	if (lib_users == 0 && mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
		r = -EIO;
	else
		lib_users++;
	pthread_mutex_unlock(&lib_lock);
	return r;
}

static void lib_unref(void)
{
	pthread_mutex_lock(&lib_lock);
	if (lib_users > 0 && --lib_users == 0)
		mosquitto_lib_cleanup();
	pthread_mutex_unlock(&lib_lock);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void enqueue(struct mq *m, struct qnode *n)
{
	uint64_t one = 1;
	bool was_empty;

	pthread_mutex_lock(&m->lock);
	was_empty = !m->head;
	if (m->tail)
		m->tail->next = n;
	else
		m->head = n;
	m->tail = n;
	pthread_mutex_unlock(&m->lock);
	/* The fd is readable while anything is queued (mq_next drains it only
	 * once it finds the queue empty): a wake-up per message would cost a
	 * system call each under a flood. */
	if (was_empty && write(m->efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow in practice; nothing to do. */
	}
}

static void push_simple(struct mq *m, enum mq_ev_type type, const char *reason)
{
	struct qnode *n = calloc(1, sizeof(*n));

	if (!n)
		return;
	n->ev.type = type;
	if (reason)
		snprintf(n->ev.reason, sizeof(n->ev.reason), "%s", reason);
	enqueue(m, n);
}

static void on_connect(struct mosquitto *mosq, void *ud, int rc, int flags,
		       const mosquitto_property *props)
{
	struct mq *m = ud;

	if (rc != 0) {
		m->refused = true;
		return;
	}
	m->refused_ms = 0;
	/* One SUBSCRIBE per QoS. */
	for (int qos = 0; qos <= 2; qos++) {
		char *t[16];
		int k = 0;

		for (size_t i = 0; i < m->cfg.nsubs && k < 16; i++)
			if (m->sub_qos[i] == qos)
				t[k++] = m->subs[i];
		if (k)
			mosquitto_subscribe_multiple(mosq, NULL, k, t, qos, m->cfg.sub_opts, NULL);
	}
	pthread_mutex_lock(&m->lock);
	m->connected = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	push_simple(m, MQ_EV_CONNECTED, NULL);
}

/* Why the session ended: libmosquitto hands over its own error codes
 * (MOSQ_ERR_*) here, or an MQTT 5 reason code (128 and up) from the broker's
 * DISCONNECT. */
static const char *disconnect_reason(int rc)
{
	if (rc == 0)
		return "closed";
	return rc >= 128 ? mosquitto_reason_string(rc) : mosquitto_strerror(rc);
}

static void on_disconnect(struct mosquitto *mosq, void *ud, int rc,
			  const mosquitto_property *props)
{
	struct mq *m = ud;
	bool was;

	pthread_mutex_lock(&m->lock);
	was = m->connected;
	m->connected = false;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	if (was)
		push_simple(m, MQ_EV_DISCONNECTED, disconnect_reason(rc));
}

static void on_publish(struct mosquitto *mosq, void *ud, int mid, int rc,
		       const mosquitto_property *props)
{
	struct mq *m = ud;
	unsigned id = (unsigned)mid & 0xffff;

	/* Called for QoS 0 publishes too (once written): only the ids taken
	 * by a QoS 1 publish count. */
	pthread_mutex_lock(&m->lock);
	if (m->pending[id / 8] & (1u << (id % 8))) {
		m->pending[id / 8] &= (uint8_t)~(1u << (id % 8));
		m->inflight--;
	}
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

static void on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	int64_t now = cx_now_us(), mono = cx_mono_us();
	struct mq *m = ud;
	struct qnode *n;

	if (m->cfg.max_packet && (uint32_t)msg->payloadlen > m->cfg.max_packet)
		return;
	if (m->cfg.direct &&
	    m->cfg.direct(m->cfg.direct_ud, msg->topic, msg->payload, (size_t)msg->payloadlen, mono))
		return;
	/* A flood must not grow the queue without end: what is dropped here
	 * was acknowledged to the broker, so only messages whose sender
	 * repeats them (receipts until acked, statuses, pings) may be. */
	pthread_mutex_lock(&m->lock);
	if (m->cfg.max_queue_bytes &&
	    m->queued_bytes + (size_t)msg->payloadlen > m->cfg.max_queue_bytes) {
		m->dropped++;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	m->queued_bytes += (size_t)msg->payloadlen;
	pthread_mutex_unlock(&m->lock);
	n = calloc(1, sizeof(*n));
	if (!n)
		return;
	n->ev.type = MQ_EV_MESSAGE;
	n->ev.recv_us = now;
	n->ev.recv_mono_us = mono;
	n->ev.topic = strdup(msg->topic);
	n->ev.payload = malloc((size_t)msg->payloadlen + 1);
	if (!n->ev.topic || !n->ev.payload) {
		mq_event_clear(&n->ev);
		free(n);
		pthread_mutex_lock(&m->lock);
		m->queued_bytes -= (size_t)msg->payloadlen;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	if (msg->payloadlen)
		memcpy(n->ev.payload, msg->payload, (size_t)msg->payloadlen);
	n->ev.payload[msg->payloadlen] = '\0';
	n->ev.len = (size_t)msg->payloadlen;
	n->ev.retain = msg->retain;
	enqueue(m, n);
}

static int do_connect(struct mq *m)
{
	mosquitto_property *props = NULL;
	int rc;

	if (m->cfg.session_expiry_s)
		mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
					     m->cfg.session_expiry_s);
	if (m->cfg.max_packet)
		mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE,
					     m->cfg.max_packet);
	rc = mosquitto_connect_bind_v5(m->mosq, m->host, m->cfg.port,
				       m->cfg.keepalive_s > 0 ? m->cfg.keepalive_s : 30, NULL, props);
	mosquitto_property_free_all(&props);
	return rc;
}

/* libmosquitto sets OpenSSL up for itself (a UI method, an ex_data index)
 * in the first TLS connect of the process, without a lock: two sessions
 * connecting at once in their threads (serve has two) would both do it,
 * and the UI method of one would never be freed. So TLS connects go one at
 * a time until one has got through; after that, setting up is done. */
static pthread_mutex_t tls_gate = PTHREAD_MUTEX_INITIALIZER;
static bool tls_set_up;          /* under tls_gate */

static int connect_session(struct mq *m)
{
	int rc;

	if (!m->cfg.tls)
		return do_connect(m);
	pthread_mutex_lock(&tls_gate);
	if (tls_set_up) {
		pthread_mutex_unlock(&tls_gate);
		return do_connect(m);
	}
	rc = do_connect(m);
	if (rc == MOSQ_ERR_SUCCESS)
		tls_set_up = true;
	pthread_mutex_unlock(&tls_gate);
	return rc;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Sleep MS, or less when mq_free() asks the thread to stop. */
static void pause_ms(struct mq *m, int ms)
{
	for (int waited = 0; waited < ms && !m->stop; waited += 100)
		sleep_ms(ms - waited < 100 ? ms - waited : 100);
}

/* Whether the connection died before the broker answered. libmosquitto
 * 2.0.11 takes an SSL_ERROR_SYSCALL in the TLS handshake (the peer reset
 * the connection, as a 4G link that drops does) for "try again later": it
 * keeps calling SSL_connect on the dead socket, which fails at once, and
 * reports success, so the thread spins until the keepalive (30 s) expires.
 * The socket itself tells: after a reset it is in TCP_CLOSE (POLLHUP) or
 * holds the error (POLLERR). */
static bool handshake_dead(struct mosquitto *mosq)
{
	struct pollfd p = { .fd = mosquitto_socket(mosq), .events = POLLIN | POLLOUT };

	if (p.fd < 0)
		return true;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* Run one connection until it ends: \retval a MOSQ_ERR_* code (why). It
 * ends when libmosquitto says so, when it dies or takes longer than the
 * connect timeout before the broker's CONNACK, and at mq_free(): once the
 * DISCONNECT that mq_free() queued is out (the broker then discards the
 * will), or at once when there is no session to close. */
static int run_connection(struct mq *m)
{
	int64_t now = cx_mono_us();
	int64_t deadline = now + (int64_t)(m->cfg.connect_timeout_ms > 0 ?
					   m->cfg.connect_timeout_ms : CONNECT_TIMEOUT_MS) * 1000;
	int64_t stop_by = 0;
	int rc;

	for (;;) {
		rc = mosquitto_loop(m->mosq, 100, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			return rc;
		now = cx_mono_us();
		if (m->stop) {
			if (!m->connected)
				return MOSQ_ERR_SUCCESS;
			if (!stop_by)
				stop_by = now + (int64_t)CLOSE_MS * 1000;
			else if (now > stop_by)
				return MOSQ_ERR_SUCCESS;
		}
		if (m->connected)
			continue;
		if (handshake_dead(m->mosq))
			return MOSQ_ERR_CONN_LOST;
		if (now > deadline)
			return MOSQ_ERR_TIMEOUT;
	}
}

/* How long to wait before the next attempt (see RETRY_LINK_MS). */
static int next_wait(struct mq *m, int64_t offline_us)
{
	int base;

	if (m->refused) {
		m->refused = false;
		m->refused_ms = m->refused_ms ? m->refused_ms * 2 : RETRY_REFUSED_MS;
		if (m->refused_ms > RETRY_REFUSED_MAX_MS)
			m->refused_ms = RETRY_REFUSED_MAX_MS;
		base = m->refused_ms;
	} else {
		base = cx_mono_us() - offline_us > (int64_t)OFFLINE_LONG_MS * 1000 ?
		       RETRY_LINK_LONG_MS : RETRY_LINK_MS;
	}
	/* +-25 %, so that a fleet that lost its broker does not come back in step. */
	return base * 3 / 4 + (int)(rand_r(&m->seed) % (unsigned)(base / 2 + 1));
}

static void *run(void *ud)
{
	struct mq *m = ud;
	int64_t offline_us = cx_mono_us();

	while (!m->stop) {
		int rc = connect_session(m);

		if (rc == MOSQ_ERR_SUCCESS) {
			rc = run_connection(m);
			if (m->stop)
				break;
			if (m->connected)
				offline_us = cx_mono_us();
			on_disconnect(m->mosq, m, rc, NULL);
		}
		pause_ms(m, next_wait(m, offline_us));
	}
	return NULL;
}

struct mq *mq_new(const struct mq_cfg *cfg)
{
	struct mq *m;
	int rc, err = ENOMEM;

	if ((rc = lib_ref()) < 0) {
		errno = -rc;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		lib_unref();
		errno = ENOMEM;
		return NULL;
	}
	m->lib_held = true;
	m->efd = -1;
	m->cfg = *cfg;
	m->client_id = dup_or_null(cfg->client_id);
	m->host = dup_or_null(cfg->host);
	m->username = dup_or_null(cfg->username);
	m->password = dup_or_null(cfg->password);
	m->ca_file = dup_or_null(cfg->ca_file);
	m->will_topic = dup_or_null(cfg->will_topic);
	if (cfg->nsubs > MQ_MAX_SUBS) {
		err = EINVAL;
		goto fail;
	}
	if (cfg->nsubs) {
		m->subs = calloc(cfg->nsubs, sizeof(char *));
		m->sub_qos = calloc(cfg->nsubs, sizeof(int));
		if (!m->subs || !m->sub_qos)
			goto fail;
		for (size_t i = 0; i < cfg->nsubs; i++) {
			if (!(m->subs[i] = strdup(cfg->subs[i])))
				goto fail;
			m->sub_qos[i] = cfg->sub_qos_each ? cfg->sub_qos_each[i] : cfg->sub_qos;
		}
	}
	m->seed = (unsigned)cx_mono_us() ^ (unsigned)(uintptr_t)m;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->efd < 0) {
		err = errno;
		goto fail;
	}
	m->mosq = mosquitto_new(m->client_id, cfg->clean_start, m);
	if (!m->mosq) {
		err = errno ? errno : ENOMEM;
		goto fail;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_threaded_set(m->mosq, true);
	/* Small messages (pongs, live frames, acks) go out at once: with Nagle
	 * a second one waits for the peer's delayed ACK, which skewed clock
	 * offsets by ~6 ms and makes live frames bunch up. */
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_v5_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
	mosquitto_message_v5_callback_set(m->mosq, on_message);
	mosquitto_publish_v5_callback_set(m->mosq, on_publish);
	if (cfg->username &&
	    mosquitto_username_pw_set(m->mosq, cfg->username, cfg->password) != MOSQ_ERR_SUCCESS) {
		err = EINVAL;
		goto fail;
	}
	if (cfg->tls) {
		rc = mosquitto_tls_set(m->mosq, cfg->ca_file, cfg->ca_file ? NULL : "/etc/ssl/certs",
				       NULL, NULL, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			err = EINVAL;
			goto fail;
		}
	}
	if (cfg->will_topic) {
		m->will_payload = malloc(cfg->will_len ? cfg->will_len : 1);
		if (!m->will_payload)
			goto fail;
		memcpy(m->will_payload, cfg->will_payload, cfg->will_len);
		rc = mosquitto_will_set_v5(m->mosq, cfg->will_topic, (int)cfg->will_len,
					   m->will_payload, 1, cfg->will_retain, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			err = EINVAL;
			goto fail;
		}
	}
	if (pthread_create(&m->thread, NULL, run, m) != 0) {
		err = EAGAIN;
		goto fail;
	}
	m->started = true;
	return m;
fail:
	mq_free(m);
	errno = err;
	return NULL;
}

void mq_event_clear(struct mq_event *ev)
{
	free(ev->topic);
	free(ev->payload);
	ev->topic = NULL;
	ev->payload = NULL;
}

void mq_free(struct mq *m)
{
	if (!m)
		return;
	if (m->started) {
		/* A clean DISCONNECT: the broker discards the will. The session
		 * thread, told to stop, runs the connection until it is out
		 * (run_connection). */
		m->stop = true;
		mosquitto_disconnect_v5(m->mosq, 0, NULL);
		pthread_join(m->thread, NULL);
	}
	while (m->head) {
		struct qnode *n = m->head;

		m->head = n->next;
		mq_event_clear(&n->ev);
		free(n);
	}
	if (m->mosq)
		mosquitto_destroy(m->mosq);
	if (m->efd >= 0)
		close(m->efd);
	if (m->subs)
		for (size_t i = 0; i < m->cfg.nsubs; i++)
			free(m->subs[i]);
	free(m->subs);
	free(m->sub_qos);
	free(m->client_id);
	free(m->host);
	free(m->username);
	free(m->password);
	free(m->ca_file);
	free(m->will_topic);
	free(m->will_payload);
	if (m->lib_held)
		lib_unref();
	free(m);
}

int mq_fd(struct mq *m)
{
	return m->efd;
}

int mq_next(struct mq *m, struct mq_event *ev)
{
	struct qnode *n;
	uint64_t v;

	pthread_mutex_lock(&m->lock);
	n = m->head;
	if (n) {
		m->head = n->next;
		if (!m->head)
			m->tail = NULL;
		if (n->ev.type == MQ_EV_MESSAGE)
			m->queued_bytes -= n->ev.len;
	}
	pthread_mutex_unlock(&m->lock);
	if (!n) {
		/* Drain the counter only when the queue is empty, so the fd
		 * stays readable while anything is queued. */
		if (read(m->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: already drained */
		}
		pthread_mutex_lock(&m->lock);
		bool more = m->head != NULL;
		pthread_mutex_unlock(&m->lock);
		if (more) {
			v = 1;
			if (write(m->efd, &v, sizeof(v)) < 0) {
				/* cannot fail short of overflow */
			}
		}
		return 0;
	}
	*ev = n->ev;
	free(n);
	return 1;
}

int mq_publish(struct mq *m, const char *topic, const void *buf, size_t len, int qos,
	       bool retain)
{
	int rc, mid = 0;

	if (len > 256u << 20)
		return -EMSGSIZE;
	if (!mq_connected(m))
		return -ENOTCONN;
	if (qos == 0) {
		rc = mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, buf, 0, retain, NULL);
	} else {
		/* Under the lock, so that a PUBACK that comes back before the id
		 * is noted (on_publish waits for the lock) still finds it. The
		 * session thread never holds a lock of libmosquitto's that this
		 * call takes while it waits for this one. */
		pthread_mutex_lock(&m->lock);
		rc = mosquitto_publish_v5(m->mosq, &mid, topic, (int)len, buf, qos, retain, NULL);
		if (rc == MOSQ_ERR_SUCCESS) {
			unsigned id = (unsigned)mid & 0xffff;

			if (!(m->pending[id / 8] & (1u << (id % 8)))) {
				m->pending[id / 8] |= (uint8_t)(1u << (id % 8));
				m->inflight++;
			}
		}
		pthread_mutex_unlock(&m->lock);
	}
	if (rc != MOSQ_ERR_SUCCESS)
		return rc == MOSQ_ERR_NO_CONN ? -ENOTCONN :
		       rc == MOSQ_ERR_OVERSIZE_PACKET ? -EMSGSIZE : -EIO;
	return 0;
}

int mq_subscribe(struct mq *m, const char *topic, int qos)
{
	int rc = mosquitto_subscribe_v5(m->mosq, NULL, topic, qos, 0, NULL);

	return rc == MOSQ_ERR_SUCCESS ? 0 : rc == MOSQ_ERR_NO_CONN ? -ENOTCONN : -EIO;
}

int mq_unsubscribe(struct mq *m, const char *topic)
{
	int rc = mosquitto_unsubscribe_v5(m->mosq, NULL, topic, NULL);

	return rc == MOSQ_ERR_SUCCESS ? 0 : rc == MOSQ_ERR_NO_CONN ? -ENOTCONN : -EIO;
}

bool mq_connected(struct mq *m)
{
	bool c;

	pthread_mutex_lock(&m->lock);
	c = m->connected;
	pthread_mutex_unlock(&m->lock);
	return c;
}

uint64_t mq_dropped(struct mq *m)
{
	uint64_t n;

	pthread_mutex_lock(&m->lock);
	n = m->dropped;
	pthread_mutex_unlock(&m->lock);
	return n;
}

int mq_inflight(struct mq *m)
{
	int n;

	pthread_mutex_lock(&m->lock);
	n = m->inflight;
	pthread_mutex_unlock(&m->lock);
	return n;
}

static int wait_until(struct mq *m, int timeout_ms, bool (*cond)(struct mq *))
{
	struct timespec ts;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&m->lock);
	while (!cond(m)) {
		if (pthread_cond_timedwait(&m->cond, &m->lock, &ts) == ETIMEDOUT) {
			r = cond(m) ? 0 : -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

static bool is_connected(struct mq *m) { return m->connected; }
static bool is_flushed(struct mq *m) { return m->inflight == 0; }

int mq_wait_connected(struct mq *m, int timeout_ms)
{
	return wait_until(m, timeout_ms, is_connected);
}

int mq_flush(struct mq *m, int timeout_ms)
{
	int r = wait_until(m, timeout_ms, is_flushed);

	if (r < 0 && !mq_connected(m))
		return -ENOTCONN;
	return r;
}

int mq_parse_url(const char *url, char **host, int *port, bool *tls)
{
	const char *h, *colon;
	size_t hl;
	long p;

	if (!strncmp(url, "mqtt://", 7)) {
		*tls = false;
		h = url + 7;
		p = 1883;
	} else if (!strncmp(url, "mqtts://", 8)) {
		*tls = true;
		h = url + 8;
		p = 8883;
	} else {
		return -EINVAL;
	}
	if (h[0] == '[') { /* [::1]:1883 */
		const char *end = strchr(h, ']');

		if (!end)
			return -EINVAL;
		hl = (size_t)(end - h - 1);
		h++;
		if (end[1] == ':')
			colon = end + 1;
		else if (end[1] == '\0')
			colon = NULL;
		else
			return -EINVAL;
	} else {
		colon = strchr(h, ':');
		hl = colon ? (size_t)(colon - h) : strlen(h);
	}
	if (hl == 0 || hl > 253)
		return -EINVAL;
	for (size_t i = 0; i < hl; i++)
		if ((unsigned char)h[i] <= ' ' || strchr("/?#@[]", h[i]))
			return -EINVAL;
	if (colon) {
		char *end;

		if (colon[1] < '0' || colon[1] > '9')
			return -EINVAL;
		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (errno || *end || p < 1 || p > 65535)
			return -EINVAL;
	}
	*host = strndup(h, hl);
	if (!*host)
		return -ENOMEM;
	*port = (int)p;
	return 0;
}
