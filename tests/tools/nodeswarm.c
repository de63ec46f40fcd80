/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nodeswarm.c -- many simulated nodes in one process, for the alert fan-out
 * benchmark (test tool)
 *
 * Each simulated node is an MQTT session that does what cunxiang-node does
 * with an alert, minus the sound: it verifies the signature against the
 * trusted key (once per distinct message for all of them: see
 * verify_once), parses and targets the alert (node/alert.c, the node's own
 * code), drops replays and expired ones, fetches every asset from its
 * retained topic and checks its SHA-256, then sends the receipts
 * `accepted` and `started` (and `completed` once the audio would have
 * played), QoS 1, with its own seq, signed with its own pole key (the
 * start stamped when the audio is complete, the signing done when no
 * session has anything to read: see advance). It announces itself with a
 * signed retained status and a signed will, and sends its status when it
 * starts playing an alert (with the receipts) and when it stops, as a node
 * does. Each pole key is derived from the node id (SHA-256 of "nodeswarm "
 * ID as the Ed25519 seed): `--print-keys` prints "ID KEY" lines for
 * `cunxiang enrol --file`.
 *
 * libmosquitto's own loops use select() and stop working past ~300
 * sessions (DESIGN "Testing"): here one epoll loop drives them all through
 * mosquitto_socket() and mosquitto_loop_read/write/misc(). A session that
 * is lost (the broker restarted) reconnects, 50 per turn; once all are
 * subscribed again it prints "ready N again at MS" (wall clock). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <signal.h>
#include <sodium.h>
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
#include "mqauth.h"
#include "receipt.h"
#include "status.h"

#define MAX_SEEN     64  /* alert ids remembered per node (a ring) */
#define MAX_PENDING  8   /* alerts waiting for audio or completion, per node */
#define MAX_PAYLOAD  (ENV_MAX_BYTES + 1024)

struct pending {
	struct alert *a;
	bool have[ALERT_MAX_ASSETS];
	bool started;
	bool unsent;                /* started, its receipts not yet signed */
	int64_t start_ms;           /* when its audio was all here */
	int64_t done_ms;            /* when `completed` is due */
};

struct sim {
	struct mosquitto *m;
	char id[33];
	char t_receipt[64];
	char t_status[64];
	unsigned char sk[ENV_SK_BYTES];
	int64_t nstatus;
	int fd;
	bool connected, ready;
	bool down;                  /* lost; reconnecting from next_try_us */
	bool queued;                /* in wq */
	bool signq;                 /* in sq */
	int64_t next_try_us;
	int subacks;
	uint64_t seq;
	char seen[MAX_SEEN][ALERT_ID_MAX + 1];
	unsigned nseen;
	struct pending p[MAX_PENDING];
	int floor_round;            /* --floor: the round being answered */
	char floor_sha[CX_SHA256_HEX];
};

static struct env_key key;
static const char *area = "";
static char tags[1][65];
static size_t ntags;
static struct sim *sims;
static int nsims, nready;
static bool floor_mode;
/* The sessions that may have something to write (a read answered, a
 * receipt queued): the loop writes for these, not for all of them. */
static int *wq, nwq;

static void want_write(struct sim *s)
{
	if (!s->queued) {
		s->queued = true;
		wq[nwq++] = (int)(s - sims);
	}
}

/* The sessions with receipts to sign (see advance). */
static int *sq, nsq;

static void want_sign(struct sim *s)
{
	if (!s->signq) {
		s->signq = true;
		sq[nsq++] = (int)(s - sims);
	}
}
static volatile sig_atomic_t stop;
/* SIGUSR1: from then on each pole signs its receipts at once, as the
 * swarm did before: the bound on the other side (see advance). */
static volatile sig_atomic_t sign_at_once;
static uint64_t n_alerts, n_accepted, n_started, n_completed, n_rejected, n_ignored;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		sign_at_once = 1;
	else
		stop = 1;
}

/* The pole key of node ID, the same in every run. */
static void sim_key(const char *id, unsigned char sk[ENV_SK_BYTES], unsigned char pk[ENV_PK_BYTES])
{
	unsigned char seed[crypto_sign_SEEDBYTES];
	char text[64];

	snprintf(text, sizeof(text), "nodeswarm %s", id);
	crypto_hash_sha256(seed, (const unsigned char *)text, strlen(text));
	crypto_sign_seed_keypair(pk, sk, seed);
}

/* The simulated pole never drops a receipt: its unacknowledged ones
 * begin at 1. */
static void receipt(struct sim *s, const struct alert *a, enum receipt_state state, int64_t now)
{
	struct receipt r;
	char *msg;
	size_t len;

	receipt_init(&r);
	snprintf(r.node, sizeof(r.node), "%s", s->id);
	r.seq = (int64_t)++s->seq;
	r.from = 1;
	r.kind = RECEIPT_ALERT;
	r.state = state;
	snprintf(r.occ, sizeof(r.occ), "%s", a->id);
	r.scheduled_ms = a->start_ms;
	if (state != RECEIPT_ACCEPTED)
		r.started_ms = now;
	if (state == RECEIPT_COMPLETED)
		r.ended_ms = now;
	r.played_ms = state == RECEIPT_COMPLETED ? a->duration_ms * a->repeat : 0;
	r.start_error_us = 0;
	r.volume = a->volume;
	if (receipt_sign(&r, s->sk, &msg, &len) < 0) {
		fprintf(stderr, "nodeswarm: %s: cannot sign a receipt\n", s->id);
		return;
	}
	want_write(s);
	if (mosquitto_publish(s->m, NULL, s->t_receipt, (int)len, msg, 1, false) != MOSQ_ERR_SUCCESS)
		fprintf(stderr, "nodeswarm: %s: cannot publish a receipt\n", s->id);
	free(msg);
}

/* The signed status: idle or playing PLAYING (N counts up), or the
 * offline will (N 0). */
static char *sim_status(struct sim *s, bool offline, const char *playing, size_t *len)
{
	struct status st;
	char *msg;

	status_init(&st);
	snprintf(st.node, sizeof(st.node), "%s", s->id);
	st.boot = 1;
	st.n = offline ? 0 : ++s->nstatus;
	st.state = offline ? STATUS_OFFLINE : playing ? STATUS_PLAYING : STATUS_IDLE;
	if (playing)
		snprintf(st.playing, sizeof(st.playing), "%s", playing);
	if (!offline) {
		st.assets_missing = 0;
		st.volume = 100;
		st.spool = 0;
		st.rejected = 0;
		st.xruns = 0;
		st.uptime_s = 0;
		st.disk = STATUS_DISK_OK;
	}
	snprintf(st.version, sizeof(st.version), "nodeswarm");
	return status_sign(&st, s->sk, &msg, len) == 0 ? msg : NULL;
}

/* A pole sends its status at once when it starts or stops playing. */
static void send_status(struct sim *s, const char *playing)
{
	char *msg;
	size_t len;

	msg = sim_status(s, false, playing, &len);
	if (!msg) {
		fprintf(stderr, "nodeswarm: %s: cannot sign a status\n", s->id);
		return;
	}
	want_write(s);
	if (mosquitto_publish(s->m, NULL, s->t_status, (int)len, msg, 1, true) != MOSQ_ERR_SUCCESS)
		fprintf(stderr, "nodeswarm: %s: cannot publish a status\n", s->id);
	free(msg);
}

static bool seen(struct sim *s, const char *id)
{
	for (unsigned i = 0; i < s->nseen && i < MAX_SEEN; i++)
		if (!strcmp(s->seen[i], id))
			return true;
	return false;
}

/* Sign and send the `accepted` and `started` of S's alerts that started. */
static void send_started(struct sim *s)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &s->p[i];

		if (!p->a || !p->unsent)
			continue;
		receipt(s, p->a, RECEIPT_ACCEPTED, p->start_ms);
		receipt(s, p->a, RECEIPT_STARTED, p->start_ms);
		send_status(s, p->a->id);
		n_accepted++;
		n_started++;
		p->unsent = false;
		for (size_t k = 0; k < p->a->nassets; k++) {
			char topic[96];

			snprintf(topic, sizeof(topic), "cx/v1/asset/%s", p->a->assets[k]);
			mosquitto_unsubscribe(s->m, NULL, topic);
			want_write(s);
		}
	}
}

static bool playing_any(const struct sim *s)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (s->p[i].a && s->p[i].started)
			return true;
	return false;
}

/* Start every pending alert whose audio is all here. A real pole stamps
 * the start the moment its audio is complete and signs its receipts on its
 * own CPU, while the broker goes on fanning out to the others. Here one
 * thread stands in for thousands of CPUs, and signing at once (two Ed25519
 * signatures a pole) would put every earlier pole's signing into the next
 * one's stamp: the receipts are left to send_started(), which the loop
 * runs only when no session has anything to read. Their traffic then
 * reaches the broker later than real poles' would, after the fan-out
 * rather than during it; SIGUSR1 signs at once instead, and the benchmark
 * measures both, the two bounds of the real figure. */
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
			p->started = true;
			p->unsent = true;
			p->start_ms = now;
			p->done_ms = now + p->a->duration_ms * p->a->repeat;
			if (sign_at_once)
				send_started(s);
			else
				want_sign(s);
		} else if (!p->unsent && now >= p->done_ms) {
			receipt(s, p->a, RECEIPT_COMPLETED, now);
			n_completed++;
			alert_free(p->a);
			p->a = NULL;
			if (!playing_any(s))
				send_status(s, NULL);
		}
	}
}

/* env_verify of an alert, once per distinct message: 1,000 poles verify it
 * at the same moment on their own CPUs, but here on one core in series,
 * which would add every other pole's verification to the last one's delay.
 * A message that differs in any byte is verified again. */
static int verify_once(const void *payload, size_t len, size_t *jl)
{
	static struct { unsigned char h[crypto_generichash_BYTES]; size_t jl; } ok[8];
	static unsigned nok;
	unsigned char h[crypto_generichash_BYTES];
	int r;

	crypto_generichash(h, sizeof(h), payload, len, NULL, 0);
	for (unsigned i = 0; i < 8 && i < nok; i++)
		if (!memcmp(ok[i].h, h, sizeof(h))) {
			*jl = ok[i].jl;
			return 0;
		}
	r = env_verify(payload, len, &key, 1, jl);
	if (r == 0) {
		memcpy(ok[nok % 8].h, h, sizeof(h));
		ok[nok++ % 8].jl = *jl;
	}
	return r;
}

static void on_alert(struct sim *s, const struct mosquitto_message *msg, int64_t now)
{
	struct alert *a = NULL;
	char err[200];
	size_t jl;
	int slot = -1;

	n_alerts++;
	if (verify_once(msg->payload, (size_t)msg->payloadlen, &jl) < 0 ||
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

/* --floor: a round of mqfloor's, "ROUND SHA". Fetch the asset, then
 * answer (on_asset). */
static void on_floor(struct sim *s, const struct mosquitto_message *msg)
{
	char text[96], sha[CX_SHA256_HEX], topic[96];
	int r, len = msg->payloadlen < 95 ? msg->payloadlen : 95;

	memcpy(text, msg->payload, (size_t)len);
	text[len] = '\0';
	if (sscanf(text, "%d %64s", &r, sha) != 2 || r < 1 || !cx_is_sha256_hex(sha))
		return;
	s->floor_round = r;
	memcpy(s->floor_sha, sha, sizeof(sha));
	snprintf(topic, sizeof(topic), "cx/v1/asset/%s", sha);
	mosquitto_subscribe(s->m, NULL, topic, 1);
	want_write(s);
}

static void floor_answer(struct sim *s, const char *sha)
{
	char topic[96], text[16];
	int len = snprintf(text, sizeof(text), "%d", s->floor_round);

	snprintf(topic, sizeof(topic), "cx/v1/asset/%s", sha);
	mosquitto_unsubscribe(s->m, NULL, topic);
	mosquitto_publish(s->m, NULL, s->t_receipt, len, text, 1, false);
	s->floor_round = 0;
	want_write(s);
}

static void on_asset(struct sim *s, const struct mosquitto_message *msg, int64_t now)
{
	const char *sha = msg->topic + strlen("cx/v1/asset/");
	char got[CX_SHA256_HEX];

	if (msg->payloadlen <= 0)
		return;
	if (s->floor_round && !strcmp(sha, s->floor_sha)) {
		floor_answer(s, sha);
		return;
	}
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
	else if (floor_mode && !strcmp(msg->topic, "cx/v1/live/floor"))
		on_floor(s, msg);
	else if (!strncmp(msg->topic, "cx/v1/asset/", 12) && cx_is_sha256_hex(msg->topic + 12))
		on_asset(s, msg, now);
	/* cx/v1/ack/ID: the controller committed; nothing to keep here. */
}

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
	struct sim *s = ud;
	char topic[64];

	if (rc != 0) {
		fprintf(stderr, "nodeswarm: %s: connection refused (%d)\n", s->id, rc);
		return;
	}
	s->connected = true;
	snprintf(topic, sizeof(topic), "cx/v1/ack/%s", s->id);
	mosquitto_subscribe(m, NULL, "cx/v1/alert", 1);
	mosquitto_subscribe(m, NULL, topic, 1);
	if (floor_mode)
		mosquitto_subscribe(m, NULL, "cx/v1/live/floor", 1);
	send_status(s, NULL);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos)
{
	struct sim *s = ud;

	(void)m;
	(void)mid;
	(void)n;
	(void)qos;
	/* Two subscriptions at connect (three with --floor); asset ones
	 * later do not count. */
	if (!s->ready && ++s->subacks >= (floor_mode ? 3 : 2)) {
		s->ready = true;
		nready++;
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: nodeswarm -p PORT -k PUBKEY [-h HOST] [-n N] [--prefix P] [--area CODE] [--tag T]\n"
		   "       [--first K] [--floor]\n"
		   "       nodeswarm --print-keys [-n N] [--prefix P]\n"
		   "Run N simulated nodes P0001..PN (default 1000, sim-; --first K: from PK on)\n"
		   "in village CODE with tag T, trusting the base64 Ed25519 key PUBKEY. A session\n"
		   "takes 3 descriptors (libmosquitto's socket and socket pair): run several\n"
		   "swarms where the open-file limit is low. Prints \"ready N\" once every\n"
		   "session is subscribed; on SIGINT/SIGTERM prints its counters and exits.\n"
		   "A pole signs its receipts once no session has anything to read; after\n"
		   "SIGUSR1, at once.\n"
		   "--print-keys prints \"NODE KEY\" per node, for `cunxiang enrol --file`.\n"
		   "--floor: each node also answers mqfloor's rounds on cx/v1/live/floor: it\n"
		   "fetches the round's asset and sends the round's number on its receipt topic.\n"
		   MQAUTH_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' }, { "port", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' }, { "nodes", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, 'P' }, { "area", required_argument, NULL, 'a' },
		{ "tag", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'H' },
		{ "print-keys", no_argument, NULL, 'K' }, { "floor", no_argument, NULL, 'F' },
		{ "first", required_argument, NULL, 'f' },
		MQAUTH_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1", *prefix = "sim-", *pub = NULL;
	struct mqauth auth = { 0 };
	int port = 0, c, ep, next = 0, rr = 0, first = 1;
	uint64_t nlost = 0;
	bool said_ready = false;
	bool print_keys = false;
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
		case 'K': print_keys = true; break;
		case 'F': floor_mode = true; break;
		case 'f': first = atoi(optarg); break;
		default:
			if (mqauth_opt(&auth, c, optarg))
				break;
			usage(stderr);
			return 2;
		}
	}
	if (!nsims)
		nsims = 1000;
	if (first < 1 || first > 100000) {
		usage(stderr);
		return 2;
	}
	if (print_keys && nsims >= 1 && nsims <= 20000 && strlen(prefix) <= 24) {
		cx_crypto_init();
		for (int i = 0; i < nsims; i++) {
			unsigned char sk[ENV_SK_BYTES], pk[ENV_PK_BYTES];
			char id[33], b64[ENV_PK_B64_LEN + 1];

			snprintf(id, sizeof(id), "%s%04d", prefix, first + i);
			sim_key(id, sk, pk);
			env_key_to_base64(pk, b64);
			printf("%s %s\n", id, b64);
		}
		return 0;
	}
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
	signal(SIGUSR1, on_signal);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	sims = calloc((size_t)nsims, sizeof(*sims));
	wq = calloc((size_t)nsims, sizeof(*wq));
	sq = calloc((size_t)nsims, sizeof(*sq));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!sims || !wq || !sq || ep < 0) {
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
			char *will;
			unsigned char pk[ENV_PK_BYTES];
			size_t wlen;
			struct epoll_event ev = { .events = EPOLLIN };

			snprintf(s->id, sizeof(s->id), "%s%04d", prefix, first + next);
			snprintf(s->t_receipt, sizeof(s->t_receipt), "cx/v1/receipt/%s", s->id);
			snprintf(s->t_status, sizeof(s->t_status), "cx/v1/status/%s", s->id);
			sim_key(s->id, s->sk, pk);
			s->m = mosquitto_new(s->id, true, s);
			if (!s->m) {
				fprintf(stderr, "nodeswarm: out of memory\n");
				return 1;
			}
			if (mqauth_apply(&auth, s->m, s->id) < 0)
				return 1;
			mosquitto_int_option(s->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
			mosquitto_int_option(s->m, MOSQ_OPT_TCP_NODELAY, 1);
			mosquitto_connect_callback_set(s->m, on_connect);
			mosquitto_subscribe_callback_set(s->m, on_subscribe);
			mosquitto_message_callback_set(s->m, on_message);
			will = sim_status(s, true, NULL, &wlen);
			if (will)
				mosquitto_will_set(s->m, s->t_status, (int)wlen, will, 1, true);
			free(will);
			if (mosquitto_connect(s->m, host, port, 60) != MOSQ_ERR_SUCCESS) {
				fprintf(stderr, "nodeswarm: %s: cannot connect to %s:%d\n", s->id, host, port);
				return 1;
			}
			want_write(s);
			s->fd = mosquitto_socket(s->m);
			ev.data.ptr = s;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
				fprintf(stderr, "nodeswarm: epoll: %s (raise ulimit -n)\n", strerror(errno));
				return 1;
			}
		}
		n = epoll_wait(ep, evs, 256, nsq ? 0 : 20);
		for (int i = 0; i < n; i++) {
			struct sim *s = evs[i].data.ptr;

			want_write(s); /* PUBACKs, SUBSCRIBEs, receipts from the callbacks */
			if (!s->down && mosquitto_loop_read(s->m, 1) != MOSQ_ERR_SUCCESS && !stop) {
				if (!nlost++)
					fprintf(stderr, "nodeswarm: %s: connection lost; reconnecting\n",
						s->id);
				epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
				s->connected = false;
				s->down = true;
				s->next_try_us = cx_mono_us() + 100000;
				if (s->ready)
					nready--;
				s->ready = false;
				s->subacks = 0;
				said_ready = false;
			}
		}
		/* Receipts are signed only once nothing is waiting to be read,
		 * 64 sessions at a time. */
		if (n == 0 && nsq) {
			int k = nsq < 64 ? nsq : 64;

			for (int i = 0; i < k; i++) {
				sims[sq[i]].signq = false;
				send_started(&sims[sq[i]]);
			}
			memmove(sq, sq + k, sizeof(*sq) * (size_t)(nsq - k));
			nsq -= k;
		}
		now = cx_mono_us();
		/* Reconnect lost sessions, 50 per turn, each at most every 200 ms. */
		for (int i = 0, k = 0; i < next && k < 50; i++) {
			struct sim *s = &sims[(i + rr) % next];
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

			if (!s->down || s->next_try_us > now)
				continue;
			k++;
			s->next_try_us = now + 200000;
			if (mosquitto_reconnect(s->m) != MOSQ_ERR_SUCCESS)
				continue;
			want_write(s);
			s->fd = mosquitto_socket(s->m);
			if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
				fprintf(stderr, "nodeswarm: epoll: %s\n", strerror(errno));
				return 1;
			}
			s->down = false;
		}
		rr = next ? (rr + 50) % next : 0;
		if (now - last_tick >= 20000) {
			int64_t wall = cx_now_ms();

			for (int i = 0; i < next; i++)
				advance(&sims[i], wall);
			last_tick = now;
		}
		{
			int keep = 0;

			for (int i = 0; i < nwq; i++) {
				struct sim *s = &sims[wq[i]];

				if (!s->down && mosquitto_want_write(s->m))
					mosquitto_loop_write(s->m, 1);
				if (!s->down && mosquitto_want_write(s->m))
					wq[keep++] = wq[i];  /* the socket took part of it */
				else
					s->queued = false;
			}
			nwq = keep;
		}
		if (now - last_misc >= 1000000) {
			for (int i = 0; i < next; i++)
				if (!sims[i].down) {
					mosquitto_loop_misc(sims[i].m); /* keepalive */
					want_write(&sims[i]);
				}
			last_misc = now;
		}
		if (nready == nsims && !said_ready) {
			if (nlost)
				printf("ready %d again at %" PRId64 " (%" PRIu64 " sessions were lost)\n",
				       nsims, cx_now_ms(), nlost);
			else
				printf("ready %d\n", nsims);
			fflush(stdout);
			said_ready = true;
			nlost = 0;
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
	free(wq);
	free(sq);
	close(ep);
	mosquitto_lib_cleanup();
	return 0;
}
