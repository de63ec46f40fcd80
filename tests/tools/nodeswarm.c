/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nodeswarm.c -- many simulated nodes in one process, for the alert fan-out
 * benchmark (test tool)
 *
 * Each simulated node is an MQTT session that does what cunxiang-node does
 * with an alert, minus the sound: it verifies the signature against the
 * trusted key, parses and targets the alert (node/alert.c, the node's own
 * code), drops replays and expired ones, fetches every asset from its
 * retained topic and checks its SHA-256, then sends the receipts
 * `accepted` and `started` (and `completed` once the audio would have
 * played), QoS 1, with its own seq. It announces itself with a retained
 * status and a will, as a node does.
 *
 * libmosquitto's own loops use select() and stop working past ~300
 * sessions (DESIGN "Testing"): here one epoll loop drives them all through
 * mosquitto_socket() and mosquitto_loop_read/write/misc(). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "alert.h"
#include "cxtime.h"
#include "envelope.h"
#include "hash.h"

#define MAX_SEEN     64  /* alert ids remembered per node (a ring) */
#define MAX_PENDING  8   /* alerts waiting for audio or completion, per node */
#define MAX_PAYLOAD  (ENV_MAX_BYTES + 1024)

struct pending {
	struct alert *a;
	bool have[ALERT_MAX_ASSETS];
	bool started;
	int64_t done_ms;            /* when `completed` is due */
};

struct sim {
	struct mosquitto *m;
	char id[33];
	char t_receipt[64];
	int fd;
	bool connected, ready;
	int subacks;
	uint64_t seq;
	char seen[MAX_SEEN][ALERT_ID_MAX + 1];
	unsigned nseen;
	struct pending p[MAX_PENDING];
};

static struct env_key key;
static const char *area = "";
static char tags[1][65];
static size_t ntags;
static struct sim *sims;
static int nsims, nready;
static volatile sig_atomic_t stop;
static uint64_t n_alerts, n_accepted, n_started, n_completed, n_rejected, n_ignored;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void receipt(struct sim *s, const struct alert *a, const char *state, int64_t now)
{
	char buf[1024], started[24] = "null", ended[24] = "null";
	bool done = !strcmp(state, "completed");
	int len;

	if (strcmp(state, "accepted") != 0)
		snprintf(started, sizeof(started), "%" PRId64, now);
	if (done)
		snprintf(ended, sizeof(ended), "%" PRId64, now);
	s->seq++;
	len = snprintf(buf, sizeof(buf),
		       "{\"type\":\"receipt\",\"node\":\"%s\",\"seq\":%" PRIu64 ",\"occ\":\"%s\","
		       "\"kind\":\"alert\",\"state\":\"%s\",\"scheduled_ms\":%" PRId64 ","
		       "\"started_ms\":%s,\"ended_ms\":%s,\"played_ms\":%" PRId64 ","
		       "\"start_error_us\":0,\"volume\":%d,\"reason\":null}",
		       s->id, s->seq, a->id, state, a->start_ms, started, ended,
		       done ? a->duration_ms * a->repeat : 0, a->volume);
	if (len <= 0 || (size_t)len >= sizeof(buf))
		return;
	if (mosquitto_publish(s->m, NULL, s->t_receipt, len, buf, 1, false) != MOSQ_ERR_SUCCESS)
		fprintf(stderr, "nodeswarm: %s: cannot publish a receipt\n", s->id);
}

static bool seen(struct sim *s, const char *id)
{
	for (unsigned i = 0; i < s->nseen && i < MAX_SEEN; i++)
		if (!strcmp(s->seen[i], id))
			return true;
	return false;
}

/* Accept and start every pending alert whose audio is all here. */
static void advance(struct sim *s, int64_t now)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &s->p[i];
		bool all = true;

		if (!p->a)
			continue;
		if (!p->started) {
			for (size_t k = 0; k < p->a->nassets; k++)
				all = all && p->have[k];
			if (!all)
				continue;
			receipt(s, p->a, "accepted", now);
			receipt(s, p->a, "started", now);
			n_accepted++;
			n_started++;
			p->started = true;
			p->done_ms = now + p->a->duration_ms * p->a->repeat;
			for (size_t k = 0; k < p->a->nassets; k++) {
				char topic[96];

				snprintf(topic, sizeof(topic), "cx/v1/asset/%s", p->a->assets[k]);
				mosquitto_unsubscribe(s->m, NULL, topic);
			}
		} else if (now >= p->done_ms) {
			receipt(s, p->a, "completed", now);
			n_completed++;
			alert_free(p->a);
			p->a = NULL;
		}
	}
}

static void on_alert(struct sim *s, const struct mosquitto_message *msg, int64_t now)
{
	struct alert *a = NULL;
	char err[200];
	size_t jl;
	int slot = -1;

	n_alerts++;
	if (env_verify(msg->payload, (size_t)msg->payloadlen, &key, 1, &jl) < 0 ||
	    alert_parse(msg->payload, jl, &a, err, sizeof(err)) < 0) {
		n_rejected++;
		return;
	}
	if (a->cancel || !alert_targets(a, s->id, area, (const char (*)[65])tags, ntags) ||
	    a->nassets == 0) {
		n_ignored++;
		alert_free(a);
		return;
	}
	if (seen(s, a->id) || a->expires_ms <= now) {
		n_rejected++;
		alert_free(a);
		return;
	}
	for (int i = 0; i < MAX_PENDING && slot < 0; i++)
		if (!s->p[i].a)
			slot = i;
	if (slot < 0) {
		n_rejected++;
		alert_free(a);
		return;
	}
	snprintf(s->seen[s->nseen++ % MAX_SEEN], ALERT_ID_MAX + 1, "%s", a->id);
	memset(&s->p[slot], 0, sizeof(s->p[slot]));
	s->p[slot].a = a;
	for (size_t k = 0; k < a->nassets; k++) {
		char topic[96];

		snprintf(topic, sizeof(topic), "cx/v1/asset/%s", a->assets[k]);
		mosquitto_subscribe(s->m, NULL, topic, 1);
	}
}

static void on_asset(struct sim *s, const struct mosquitto_message *msg, int64_t now)
{
	const char *sha = msg->topic + strlen("cx/v1/asset/");
	char got[CX_SHA256_HEX];

	if (msg->payloadlen <= 0)
		return;
	cx_sha256_hex(msg->payload, (size_t)msg->payloadlen, got);
	if (strcmp(got, sha) != 0) {
		n_rejected++;
		return;
	}
	for (int i = 0; i < MAX_PENDING; i++)
		for (size_t k = 0; s->p[i].a && k < s->p[i].a->nassets; k++)
			if (!strcmp(s->p[i].a->assets[k], sha))
				s->p[i].have[k] = true;
	advance(s, now);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
	struct sim *s = ud;
	int64_t now = cx_now_ms();

	(void)m;
	if (!msg->topic || msg->payloadlen < 0 || (size_t)msg->payloadlen > MAX_PAYLOAD)
		return;
	if (!strcmp(msg->topic, "cx/v1/alert"))
		on_alert(s, msg, now);
	else if (!strncmp(msg->topic, "cx/v1/asset/", 12) && cx_is_sha256_hex(msg->topic + 12))
		on_asset(s, msg, now);
	/* cx/v1/ack/ID: the controller committed; nothing to keep here. */
}

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
	struct sim *s = ud;
	char topic[64], status[256];
	int len;

	if (rc != 0) {
		fprintf(stderr, "nodeswarm: %s: connection refused (%d)\n", s->id, rc);
		return;
	}
	s->connected = true;
	snprintf(topic, sizeof(topic), "cx/v1/ack/%s", s->id);
	mosquitto_subscribe(m, NULL, "cx/v1/alert", 1);
	mosquitto_subscribe(m, NULL, topic, 1);
	snprintf(topic, sizeof(topic), "cx/v1/status/%s", s->id);
	len = snprintf(status, sizeof(status),
		       "{\"type\":\"status\",\"node\":\"%s\",\"state\":\"idle\",\"assets_missing\":0,"
		       "\"volume\":100,\"spool\":0,\"rejected\":0,\"xruns\":0,\"uptime_s\":0,"
		       "\"version\":\"nodeswarm\"}", s->id);
	mosquitto_publish(m, NULL, topic, len, status, 1, true);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos)
{
	struct sim *s = ud;

	(void)m;
	(void)mid;
	(void)n;
	(void)qos;
	/* Two subscriptions at connect; asset ones later do not count. */
	if (!s->ready && ++s->subacks >= 2) {
		s->ready = true;
		nready++;
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: nodeswarm -p PORT -k PUBKEY [-h HOST] [-n N] [--prefix P] [--area CODE] [--tag T]\n"
		   "Run N simulated nodes P0001..PN (default 1000, sim-) in village CODE with tag\n"
		   "T, trusting the base64 Ed25519 key PUBKEY. Prints \"ready N\" once every\n"
		   "session is subscribed; on SIGINT/SIGTERM prints its counters and exits.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' }, { "port", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' }, { "nodes", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, 'P' }, { "area", required_argument, NULL, 'a' },
		{ "tag", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1", *prefix = "sim-", *pub = NULL;
	int port = 0, c, ep, next = 0;
	int64_t last_misc = 0, last_tick = 0;
	struct epoll_event evs[256];

	while ((c = getopt_long(argc, argv, "h:p:k:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'h': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'k': pub = optarg; break;
		case 'n': nsims = atoi(optarg); break;
		case 'P': prefix = optarg; break;
		case 'a': area = optarg; break;
		case 't':
			snprintf(tags[0], sizeof(tags[0]), "%s", optarg);
			ntags = 1;
			break;
		case 'H': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!nsims)
		nsims = 1000;
	if (port <= 0 || !pub || nsims < 1 || nsims > 20000 || strlen(prefix) > 24) {
		usage(stderr);
		return 2;
	}
	if (env_key_from_base64(pub, &key) < 0) {
		fprintf(stderr, "nodeswarm: not a public key: %s\n", pub);
		return 2;
	}
	cx_crypto_init();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	sims = calloc((size_t)nsims, sizeof(*sims));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!sims || ep < 0) {
		fprintf(stderr, "nodeswarm: %s\n", strerror(errno));
		return 1;
	}
	while (!stop) {
		int64_t now = cx_mono_us();
		int n;

		/* Connect gradually: 50 sessions per turn keep the broker's
		 * accept queue short. */
		for (int k = 0; k < 50 && next < nsims; k++, next++) {
			struct sim *s = &sims[next];
			char topic[64], will[128];
			struct epoll_event ev = { .events = EPOLLIN };

			snprintf(s->id, sizeof(s->id), "%s%04d", prefix, next + 1);
			snprintf(s->t_receipt, sizeof(s->t_receipt), "cx/v1/receipt/%s", s->id);
			s->m = mosquitto_new(s->id, true, s);
			if (!s->m) {
				fprintf(stderr, "nodeswarm: out of memory\n");
				return 1;
			}
			mosquitto_int_option(s->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
			mosquitto_int_option(s->m, MOSQ_OPT_TCP_NODELAY, 1);
			mosquitto_connect_callback_set(s->m, on_connect);
			mosquitto_subscribe_callback_set(s->m, on_subscribe);
			mosquitto_message_callback_set(s->m, on_message);
			snprintf(topic, sizeof(topic), "cx/v1/status/%s", s->id);
			snprintf(will, sizeof(will), "{\"type\":\"status\",\"node\":\"%s\",\"state\":\"offline\"}",
				 s->id);
			mosquitto_will_set(s->m, topic, (int)strlen(will), will, 1, true);
			if (mosquitto_connect(s->m, host, port, 60) != MOSQ_ERR_SUCCESS) {
				fprintf(stderr, "nodeswarm: %s: cannot connect to %s:%d\n", s->id, host, port);
				return 1;
			}
			s->fd = mosquitto_socket(s->m);
			ev.data.ptr = s;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
				fprintf(stderr, "nodeswarm: epoll: %s (raise ulimit -n)\n", strerror(errno));
				return 1;
			}
		}
		n = epoll_wait(ep, evs, 256, 20);
		for (int i = 0; i < n; i++) {
			struct sim *s = evs[i].data.ptr;

			if (mosquitto_loop_read(s->m, 1) != MOSQ_ERR_SUCCESS && !stop) {
				fprintf(stderr, "nodeswarm: %s: connection lost\n", s->id);
				epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
				s->connected = false;
			}
		}
		now = cx_mono_us();
		if (now - last_tick >= 20000) {
			int64_t wall = cx_now_ms();

			for (int i = 0; i < next; i++)
				advance(&sims[i], wall);
			last_tick = now;
		}
		for (int i = 0; i < next; i++)
			if (mosquitto_want_write(sims[i].m))
				mosquitto_loop_write(sims[i].m, 1);
		if (now - last_misc >= 1000000) {
			for (int i = 0; i < next; i++)
				mosquitto_loop_misc(sims[i].m);
			last_misc = now;
		}
		if (nready == nsims) {
			printf("ready %d\n", nsims);
			fflush(stdout);
			nready++; /* once */
		}
	}
	printf("alerts %" PRIu64 ", accepted %" PRIu64 ", started %" PRIu64 ", completed %" PRIu64
	       ", rejected %" PRIu64 ", not for us %" PRIu64 "\n", n_alerts, n_accepted, n_started,
	       n_completed, n_rejected, n_ignored);
	for (int i = 0; i < next; i++) {
		mosquitto_disconnect(sims[i].m);
		mosquitto_loop_write(sims[i].m, 1);
		mosquitto_destroy(sims[i].m);
		for (int k = 0; k < MAX_PENDING; k++)
			alert_free(sims[i].p[k].a);
	}
	free(sims);
	close(ep);
	mosquitto_lib_cleanup();
	return 0;
}
