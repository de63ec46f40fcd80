/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mqtape.c -- record a topic's payloads with their arrival times, replay them at that pace (test tool) */
#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqauth.h"

/*
 * The tape is a sequence of records, integers big-endian:
 *
 *   at_us     u64, arrival, µs after the first record arrived
 *   len       u32, 0..TAPE_MAX_PAYLOAD
 *   payload   len bytes
 */
#define TAPE_MAX_PAYLOAD (256 * 1024)
#define TAPE_MAX_BYTES   (64 * 1024 * 1024)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mqtape record -p PORT -t TOPIC -o FILE [--count N] [--idle S]\n"
		"       mqtape replay -p PORT -t TOPIC -i FILE [--lead-ms MS]\n"
		"record: subscribe to TOPIC (wildcards allowed) and append every message's\n"
		"payload with its arrival time to FILE; prints \"subscribed\" once the broker\n"
		"has granted the subscription. Ends on SIGINT/SIGTERM, after N messages, or\n"
		"S seconds after the last message once one came.\n"
		"replay: publish every payload of FILE to TOPIC (QoS 0) at the pace it\n"
		"arrived; --lead-ms sends the first MS of the tape at once, so the rest runs\n"
		"that far ahead of its original pace.\n\n"
		"  -H, --host HOST    broker host (default 127.0.0.1)\n"
		"  -p, --port PORT    broker port\n"
		"  -t, --topic TOPIC  topic to record from or replay to\n"
		"  -o, --out FILE     tape to write (record)\n"
		"  -i, --in FILE      tape to read (replay)\n"
		"  -n, --count N      record: stop after N messages\n"
		"  -w, --idle S       record: stop S seconds after the last message\n"
		"  -l, --lead-ms MS   replay: run this far ahead (default 0)\n"
		"  -h, --help         this help\n" MQAUTH_USAGE);
}

struct rec {
	FILE *out;
	const char *topic;
	bool subscribed;
	long n;
	int64_t first_us, last_us;
};

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
	for (int k = bytes - 1; k >= 0; k--)
		*p++ = (unsigned char)(v >> (8 * k));
}

static void rec_on_connect(struct mosquitto *m, void *ud, int rc)
{
	struct rec *r = ud;

	if (rc == 0)
		mosquitto_subscribe(m, NULL, r->topic, 0);
}

static void rec_on_subscribe(struct mosquitto *m, void *ud, int mid, int qn, const int *granted)
{
	struct rec *r = ud;

	(void)m;
	(void)mid;
	if (qn >= 1 && granted[0] <= 2 && !r->subscribed) {
		r->subscribed = true;
		printf("subscribed %s\n", r->topic);
		fflush(stdout);
	}
}

static void rec_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
	struct rec *r = ud;
	unsigned char hdr[12];
	int64_t now = mono_us();

	(void)m;
	if (msg->payloadlen < 0 || msg->payloadlen > TAPE_MAX_PAYLOAD) {
		fprintf(stderr, "mqtape: a message of %d bytes left out\n", msg->payloadlen);
		return;
	}
	if (r->n == 0)
		r->first_us = now;
	r->last_us = now;
	put_be(hdr, (uint64_t)(now - r->first_us), 8);
	put_be(hdr + 8, (uint32_t)msg->payloadlen, 4);
	if (fwrite(hdr, 1, sizeof(hdr), r->out) != sizeof(hdr) ||
	    fwrite(msg->payload, 1, (size_t)msg->payloadlen, r->out) != (size_t)msg->payloadlen ||
	    fflush(r->out) != 0) {
		fprintf(stderr, "mqtape: cannot write the tape: %s\n", strerror(errno));
		stop = 1;
		return;
	}
	r->n++;
}

static int do_record(struct mosquitto *m, const char *host, int port, const char *topic,
		     const char *path, long count, long idle_s)
{
	struct rec r = { .topic = topic };
	int rc;

	r.out = fopen(path, "wb");
	if (!r.out) {
		fprintf(stderr, "mqtape: %s: %s\n", path, strerror(errno));
		return 1;
	}
	mosquitto_user_data_set(m, &r);
	mosquitto_connect_callback_set(m, rec_on_connect);
	mosquitto_subscribe_callback_set(m, rec_on_subscribe);
	mosquitto_message_callback_set(m, rec_on_message);
	if (mosquitto_connect(m, host, port, 30) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqtape: cannot connect to %s:%d\n", host, port);
		fclose(r.out);
		return 1;
	}
	while (!stop) {
		rc = mosquitto_loop(m, 100, 1);
		if (rc != MOSQ_ERR_SUCCESS && !stop) {
			fprintf(stderr, "mqtape: connection lost: %s\n", mosquitto_strerror(rc));
			break;
		}
		if (count > 0 && r.n >= count)
			break;
		if (idle_s > 0 && r.n > 0 && mono_us() - r.last_us > idle_s * 1000000)
			break;
	}
	mosquitto_disconnect(m);
	printf("recorded %ld messages over %.3f s\n", r.n,
	       r.n ? (double)(r.last_us - r.first_us) / 1e6 : 0.0);
	return fclose(r.out) == 0 ? 0 : 1;
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int k = 0; k < bytes; k++)
		v = v << 8 | p[k];
	return v;
}

/* The whole tape into memory, its size checked first. NULL on error. */
static unsigned char *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long sz;

	if (!f) {
		fprintf(stderr, "mqtape: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (sz = ftell(f)) < 0 || sz > TAPE_MAX_BYTES ||
	    fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "mqtape: %s: cannot size it, or larger than %d bytes\n", path,
			TAPE_MAX_BYTES);
		goto out;
	}
	buf = malloc(sz ? (size_t)sz : 1);
	if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		fprintf(stderr, "mqtape: %s: cannot read\n", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = (size_t)sz;
out:
	fclose(f);
	return buf;
}

static void rep_on_connect(struct mosquitto *m, void *ud, int rc)
{
	(void)m;
	*(int *)ud = rc == 0 ? 1 : -1;
}

static int do_replay(struct mosquitto *m, const char *host, int port, const char *topic,
		     const char *path, long lead_ms)
{
	size_t len = 0, pos = 0;
	unsigned char *tape = load(path, &len);
	int64_t t0;
	long n = 0;
	int rc = 1, connected = 0;

	if (!tape)
		return 1;
	mosquitto_user_data_set(m, &connected);
	mosquitto_connect_callback_set(m, rep_on_connect);
	if (mosquitto_connect(m, host, port, 30) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqtape: cannot connect to %s:%d\n", host, port);
		goto out;
	}
	for (int k = 0; k < 100 && !connected && !stop; k++)
		mosquitto_loop(m, 50, 1);
	if (connected != 1) {
		fprintf(stderr, "mqtape: the broker at %s:%d did not accept the session\n", host, port);
		goto out;
	}
	t0 = mono_us();
	while (pos < len && !stop) {
		struct timespec ts;
		uint64_t at;
		uint32_t plen;
		int64_t due;

		if (len - pos < 12) {
			fprintf(stderr, "mqtape: %s: a truncated record header at byte %zu\n", path, pos);
			goto out;
		}
		at = get_be(tape + pos, 8);
		plen = (uint32_t)get_be(tape + pos + 8, 4);
		pos += 12;
		if (plen > TAPE_MAX_PAYLOAD || plen > len - pos || at > INT64_MAX / 2) {
			fprintf(stderr, "mqtape: %s: a bad record at byte %zu\n", path, pos - 12);
			goto out;
		}
		due = t0 + (int64_t)at - lead_ms * 1000;
		if (due > mono_us()) {
			ts.tv_sec = due / 1000000;
			ts.tv_nsec = (due % 1000000) * 1000;
			while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		if (mosquitto_publish(m, NULL, topic, (int)plen, tape + pos, 0, false) != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "mqtape: publish failed\n");
			goto out;
		}
		pos += plen;
		n++;
		mosquitto_loop(m, 0, 1);
	}
	/* Everything written out before the goodbye. */
	for (int k = 0; k < 50 && mosquitto_want_write(m); k++)
		mosquitto_loop(m, 20, 1);
	mosquitto_disconnect(m);
	mosquitto_loop(m, 20, 1);
	printf("replayed %ld messages over %.3f s\n", n, (double)(mono_us() - t0) / 1e6);
	rc = 0;
out:
	free(tape);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "topic", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "in", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "idle", required_argument, NULL, 'w' },
		{ "lead-ms", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' }, MQAUTH_OPTIONS,
		{ 0 }
	};
	const char *host = "127.0.0.1", *topic = NULL, *out = NULL, *in = NULL, *mode;
	long port = 0, count = 0, idle_s = 0, lead_ms = 0;
	struct mqauth auth = { 0 };
	struct mosquitto *m;
	struct sigaction sa;
	char cid[64];
	int c, rc;

	if (argc < 2 || (strcmp(argv[1], "record") && strcmp(argv[1], "replay"))) {
		usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	mode = argv[1];
	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "H:p:t:o:i:n:w:l:h", lo, NULL)) != -1) {
		char *end;
		long v = 0;

		if (c == 'p' || c == 'n' || c == 'w' || c == 'l') {
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 0 || v > 65535) {
				fprintf(stderr, "mqtape: bad number '%s'\n", optarg);
				return 2;
			}
		}
		switch (c) {
		case 'H': host = optarg; break;
		case 'p': port = v; break;
		case 't': topic = optarg; break;
		case 'o': out = optarg; break;
		case 'i': in = optarg; break;
		case 'n': count = v; break;
		case 'w': idle_s = v; break;
		case 'l': lead_ms = v; break;
		case 'h': usage(stdout); return 0;
		default:
			if (mqauth_opt(&auth, c, optarg))
				break;
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !port || !topic || (!strcmp(mode, "record") ? !out : !in)) {
		usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	mosquitto_lib_init();
	snprintf(cid, sizeof(cid), "mqtape-%s-%ld", mode, (long)mono_us());
	m = mosquitto_new(cid, true, NULL);
	if (!m) {
		fprintf(stderr, "mqtape: %s\n", strerror(errno));
		mosquitto_lib_cleanup();
		return 1;
	}
	if (mqauth_apply(&auth, m, NULL) < 0) {
		mosquitto_destroy(m);
		mosquitto_lib_cleanup();
		return 1;
	}
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	if (!strcmp(mode, "record"))
		rc = do_record(m, host, (int)port, topic, out, count, idle_s);
	else
		rc = do_replay(m, host, (int)port, topic, in, lead_ms);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return rc;
}
