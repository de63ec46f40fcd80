/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flood.c -- an intruder's flood of forged statuses and receipts against
 * serve, and the ack latency of honest poles meanwhile (test tool)
 *
 *   flood -p PORT [-r RATE] [-s SECS] [--probe NODE KEYFILE] [--seq N] [--watch NODE]
 *
 * For SECS seconds it publishes RATE forged messages a second (QoS 1, as
 * fast as the broker takes them), a mix of: unsigned statuses of made-up
 * nodes, statuses and receipts of the --watch node signed by a key of the
 * intruder's own (seqs far ahead of the real ones), and unsigned receipts
 * of made-up nodes. RATE 0 floods nothing: the unloaded reference.
 *
 * Meanwhile --probe NODE, an enrolled pole whose secret key is KEYFILE,
 * sends a signed receipt every 100 ms (seq N.., default 1, from N: every
 * earlier one was acknowledged; an unknown alert)
 * and times each until serve's ack covers it; --watch NODE times the real
 * pole's receipts (as the broker sees them) until their ack. At the end:
 *   sent N forged in S s (R/s)
 *   probe acks: N of M, p50 X ms, p95 Y ms, max Z ms
 *   watch acks: N of M, p50 ..., or "watch acks: none" */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cxtime.h"
#include "envelope.h"
#include "hash.h"
#include "mqauth.h"
#include "receipt.h"
#include "status.h"

#define POOL      1024          /* forged messages made ahead, cycled */
#define MAX_TRACK 100000        /* receipts timed per stream */

struct track {
	int64_t sent_us[MAX_TRACK]; /* by seq; 0 not seen */
	int64_t lat_us[MAX_TRACK];  /* 0 not acked yet */
	int64_t acked;              /* highest seq acked */
	int64_t maxseq;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct track probe, watch;
static const char *probe_node, *watch_node;
static char t_probe_ack[80], t_watch_ack[80], t_watch_rcpt[80];

static int64_t json_seq(const char *buf, size_t len)
{
	char tmp[2048];
	const char *p;

	if (len >= sizeof(tmp))
		len = sizeof(tmp) - 1;
	memcpy(tmp, buf, len);
	tmp[len] = '\0';
	p = strstr(tmp, "\"seq\":");
	return p ? strtoll(p + 6, NULL, 10) : -1;
}

static void acked(struct track *t, int64_t seq, int64_t now)
{
	if (seq <= t->acked)
		return;
	for (int64_t k = t->acked + 1; k <= seq && k < MAX_TRACK; k++)
		if (t->sent_us[k] && !t->lat_us[k])
			t->lat_us[k] = now - t->sent_us[k];
	t->acked = seq;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
	int64_t now = cx_mono_us(), seq;

	(void)m;
	(void)ud;
	if (msg->payloadlen <= 0)
		return;
	seq = json_seq(msg->payload, (size_t)msg->payloadlen);
	if (seq <= 0)
		return;
	pthread_mutex_lock(&lock);
	if (!strcmp(msg->topic, t_probe_ack))
		acked(&probe, seq, now);
	else if (!strcmp(msg->topic, t_watch_ack))
		acked(&watch, seq, now);
	else if (!strcmp(msg->topic, t_watch_rcpt) && seq < MAX_TRACK && !watch.sent_us[seq] &&
		 seq > watch.acked) {
		watch.sent_us[seq] = now;
		if (seq > watch.maxseq)
			watch.maxseq = seq;
	}
	pthread_mutex_unlock(&lock);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, struct track *t)
{
	int64_t v[MAX_TRACK];
	size_t n = 0, sent = 0;

	for (int64_t k = 1; k <= t->maxseq && k < MAX_TRACK; k++) {
		sent += t->sent_us[k] != 0;
		if (t->lat_us[k])
			v[n++] = t->lat_us[k];
	}
	if (!n) {
		printf("%s acks: none of %zu\n", name, sent);
		return;
	}
	qsort(v, n, sizeof(v[0]), cmp_i64);
	printf("%s acks: %zu of %zu, p50 %.1f ms, p95 %.1f ms, max %.1f ms\n", name, n, sent,
	       (double)v[n / 2] / 1000.0, (double)v[(n * 95 + 99) / 100 - 1] / 1000.0,
	       (double)v[n - 1] / 1000.0);
}

static struct mqauth auth;

static struct mosquitto *session(const char *host, int port, const char *id)
{
	struct mosquitto *m = mosquitto_new(id, true, NULL);

	if (!m)
		return NULL;
	if (mqauth_apply(&auth, m, NULL) < 0) {
		mosquitto_destroy(m);
		return NULL;
	}
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_max_inflight_messages_set(m, 0);
	mosquitto_message_callback_set(m, on_message);
	if (mosquitto_connect(m, host, port, 60) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
		mosquitto_destroy(m);
		return NULL;
	}
	return m;
}

struct forged {
	char topic[80];
	char *msg;
	size_t len;
};

/* The mix described at the top, made ahead with key SK. */
static int make_pool(struct forged *pool, const unsigned char sk[ENV_SK_BYTES])
{
	for (int i = 0; i < POOL; i++) {
		struct forged *f = &pool[i];
		char buf[1024];
		int k = i % 4;

		if (k == 0 || !watch_node) {
			snprintf(f->topic, sizeof(f->topic), "cx/v1/status/fake-%05d", i);
			snprintf(buf, sizeof(buf),
				 "{\"type\":\"status\",\"node\":\"fake-%05d\",\"boot\":%d,\"n\":%d,"
				 "\"state\":\"idle\",\"disk\":\"ok\",\"version\":\"0.1.0\"}", i, i + 1, i + 1);
			f->msg = strdup(buf);
			f->len = strlen(buf);
		} else if (k == 1) {
			struct receipt r;

			receipt_init(&r);
			snprintf(r.node, sizeof(r.node), "%s", watch_node);
			r.seq = 1000000 + i;
			r.from = r.seq;
			r.kind = RECEIPT_PLAN;
			r.state = RECEIPT_COMPLETED;
			snprintf(r.occ, sizeof(r.occ), "forged@2026-01-01T00:00");
			snprintf(f->topic, sizeof(f->topic), "cx/v1/receipt/%s", watch_node);
			if (receipt_sign(&r, sk, &f->msg, &f->len) < 0)
				return -1;
		} else if (k == 2) {
			struct status st;

			status_init(&st);
			snprintf(st.node, sizeof(st.node), "%s", watch_node);
			st.boot = 1000000000 + i;
			st.n = 1;
			st.state = STATUS_IDLE;
			snprintf(f->topic, sizeof(f->topic), "cx/v1/status/%s", watch_node);
			if (status_sign(&st, sk, &f->msg, &f->len) < 0)
				return -1;
		} else {
			snprintf(f->topic, sizeof(f->topic), "cx/v1/receipt/fake-%05d", i);
			snprintf(buf, sizeof(buf),
				 "{\"type\":\"receipt\",\"node\":\"fake-%05d\",\"seq\":%d,\"from\":1,"
				 "\"occ\":\"forged@2026-01-01T00:00\",\"kind\":\"plan\","
				 "\"state\":\"completed\"}", i, i + 1);
			f->msg = strdup(buf);
			f->len = strlen(buf);
		}
		if (!f->msg)
			return -1;
	}
	return 0;
}

static void sleep_until(int64_t mono_us)
{
	int64_t d = mono_us - cx_mono_us();

	if (d > 0) {
		struct timespec ts = { d / 1000000, (d % 1000000) * 1000 };

		nanosleep(&ts, NULL);
	}
}

static void usage(void)
{
	fprintf(stderr, "Usage: flood -p PORT [-h HOST] [-r RATE] [-s SECS] [--probe NODE KEYFILE] "
			"[--seq N] [--watch NODE]\n" MQAUTH_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' }, { "port", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' }, { "secs", required_argument, NULL, 's' },
		{ "probe", required_argument, NULL, 'P' }, { "watch", required_argument, NULL, 'w' },
		{ "seq", required_argument, NULL, 'S' }, MQAUTH_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	static struct forged pool[POOL];
	const char *host = "127.0.0.1", *probe_key = NULL;
	int port = 0, rate = 10000, secs = 10, c;
	unsigned char intruder[ENV_SK_BYTES], ipk[ENV_PK_BYTES], psk[ENV_SK_BYTES];
	struct mosquitto *fm = NULL, *pm = NULL;
	uint64_t sent = 0;
	int64_t t0, end, next_probe, pseq, first_seq = 1;

	while ((c = getopt_long(argc, argv, "h:p:r:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'h': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'r': rate = atoi(optarg); break;
		case 's': secs = atoi(optarg); break;
		case 'P':
			if (optind >= argc) {
				usage();
				return 2;
			}
			probe_node = optarg;
			probe_key = argv[optind++];
			break;
		case 'w': watch_node = optarg; break;
		case 'S': first_seq = atoll(optarg); break;
		default:
			if (mqauth_opt(&auth, c, optarg))
				break;
			usage();
			return 2;
		}
	}
	if (port <= 0 || rate < 0 || secs <= 0 || first_seq < 1 ||
	    first_seq + secs * 10 + 10 >= MAX_TRACK) {
		usage();
		return 2;
	}
	cx_crypto_init();
	mosquitto_lib_init();
	/* The intruder's own key: made here, known to nobody. */
	crypto_sign_keypair(ipk, intruder);
	if (probe_key && env_secret_load(probe_key, psk, NULL) < 0) {
		fprintf(stderr, "flood: cannot read %s\n", probe_key);
		return 1;
	}
	if (make_pool(pool, intruder) < 0) {
		fprintf(stderr, "flood: cannot make the forged messages\n");
		return 1;
	}
	pm = session(host, port, NULL);
	if (rate > 0)
		fm = session(host, port, NULL);
	if (!pm || (rate > 0 && !fm)) {
		fprintf(stderr, "flood: cannot connect to %s:%d\n", host, port);
		return 1;
	}
	if (probe_node) {
		snprintf(t_probe_ack, sizeof(t_probe_ack), "cx/v1/ack/%s", probe_node);
		mosquitto_subscribe(pm, NULL, t_probe_ack, 1);
	}
	if (watch_node) {
		snprintf(t_watch_ack, sizeof(t_watch_ack), "cx/v1/ack/%s", watch_node);
		snprintf(t_watch_rcpt, sizeof(t_watch_rcpt), "cx/v1/receipt/%s", watch_node);
		mosquitto_subscribe(pm, NULL, t_watch_ack, 1);
		mosquitto_subscribe(pm, NULL, t_watch_rcpt, 1);
	}
	sleep_until(cx_mono_us() + 300000); /* the subscriptions are in place */

	pseq = first_seq - 1;
	probe.acked = pseq;
	t0 = cx_mono_us();
	end = t0 + (int64_t)secs * 1000000;
	next_probe = t0;
	while (cx_mono_us() < end) {
		int64_t now = cx_mono_us();
		/* Forged messages due by now, in 1 ms steps. */
		uint64_t due = rate > 0 ? (uint64_t)((now - t0) * (int64_t)rate / 1000000) : 0;

		while (sent < due) {
			struct forged *f = &pool[sent % POOL];

			if (mosquitto_publish(fm, NULL, f->topic, (int)f->len, f->msg, 1, false) !=
			    MOSQ_ERR_SUCCESS)
				break;
			sent++;
		}
		if (probe_node && now >= next_probe) {
			struct receipt r;
			char *msg;
			size_t len;
			char topic[80];

			receipt_init(&r);
			snprintf(r.node, sizeof(r.node), "%s", probe_node);
			r.seq = ++pseq;
			r.from = first_seq;
			r.kind = RECEIPT_ALERT;
			r.state = RECEIPT_ACCEPTED;
			snprintf(r.occ, sizeof(r.occ), "probe-%" PRId64, pseq);
			snprintf(topic, sizeof(topic), "cx/v1/receipt/%s", probe_node);
			if (pseq < MAX_TRACK && receipt_sign(&r, psk, &msg, &len) == 0) {
				pthread_mutex_lock(&lock);
				probe.sent_us[pseq] = cx_mono_us();
				probe.maxseq = pseq;
				pthread_mutex_unlock(&lock);
				mosquitto_publish(pm, NULL, topic, (int)len, msg, 1, false);
				free(msg);
			}
			next_probe += 100000;
		}
		sleep_until(now + 1000);
	}
	/* Acks still on their way. */
	sleep_until(cx_mono_us() + 3000000);
	pthread_mutex_lock(&lock);
	printf("sent %" PRIu64 " forged in %d s (%.0f/s)\n", sent, secs, (double)sent / secs);
	if (probe_node)
		report("probe", &probe);
	if (watch_node)
		report("watch", &watch);
	pthread_mutex_unlock(&lock);
	for (struct mosquitto *m = pm; m; m = m == pm ? fm : NULL) {
		mosquitto_disconnect(m);
		mosquitto_loop_stop(m, false);
		mosquitto_destroy(m);
	}
	for (int i = 0; i < POOL; i++)
		free(pool[i].msg);
	mosquitto_lib_cleanup();
	return 0;
}
