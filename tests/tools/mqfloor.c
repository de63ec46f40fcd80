/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mqfloor.c -- the broker's own floor for an alert's fan-out (test tool)
 *
 * What the alert path costs with nothing of cunxiang in it: this session
 * (the controller's account) publishes an asset of SIZE bytes retained on
 * cx/v1/asset/SHA, then each round publishes "ROUND SHA" at QoS 1 on
 * cx/v1/live/floor. Each simulated pole (nodeswarm --floor) fetches the
 * asset from its retained topic and answers "ROUND" at QoS 1 on its
 * receipt topic: a message out to every pole, a fetch, a message back, with
 * no signing, no verifying, no store. Each answer's time is taken from
 * just before the round's publish; per round and over all rounds it prints
 * p50, p95 and max in ms. */
#include <getopt.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "mqauth.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int round_now;          /* the round being answered; 0 none */
static int64_t t0_us;          /* its publish */
static int64_t *lat_us;        /* answers of this round */
static int nlat, want;
static bool subscribed;

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
	if (rc == 0)
		mosquitto_subscribe(m, NULL, "cx/v1/receipt/+", 1);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos)
{
	pthread_mutex_lock(&lock);
	subscribed = true;
	pthread_mutex_unlock(&lock);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
	int64_t now = mono_us();
	char buf[16];
	int len = msg->payloadlen < 15 ? msg->payloadlen : 15;

	memcpy(buf, msg->payload, (size_t)len);
	buf[len] = '\0';
	pthread_mutex_lock(&lock);
	if (round_now && atoi(buf) == round_now && nlat < want)
		lat_us[nlat++] = now - t0_us;
	pthread_mutex_unlock(&lock);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The P-th percentile of sorted V (nearest rank). */
static double pct(const int64_t *v, int n, double p)
{
	int k = (int)(p / 100 * n + 0.999999) - 1;

	if (k < 0)
		k = 0;
	return n ? (double)v[k < n ? k : n - 1] / 1000 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: mqfloor -p PORT -n POLES [-r ROUNDS] [-s SIZE] [TLS and account]\n"
		   "  -H, --host HOST  broker host (default 127.0.0.1)\n"
		   "  -n, --poles N    answers expected per round (nodeswarm --floor -n N)\n"
		   "  -r, --rounds R   rounds (default 5), 1 s apart\n"
		   "  -s, --size B     the asset's bytes (default 4000)\n"
		   "  -w, --wait S     longest wait for a round's answers (default 30)\n" MQAUTH_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' }, { "port", required_argument, NULL, 'p' },
		{ "poles", required_argument, NULL, 'n' }, { "rounds", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' }, { "wait", required_argument, NULL, 'w' },
		MQAUTH_OPTIONS, { NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1";
	int port = 0, rounds = 5, size = 4000, wait_s = 30, c, nall = 0, missing = 0;
	struct mqauth auth = { 0 };
	char sha[CX_SHA256_HEX], topic[128], ping[128];
	unsigned char *asset;
	int64_t *all;
	struct mosquitto *m;

	while ((c = getopt_long(argc, argv, "H:p:n:r:s:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'H': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'n': want = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 's': size = atoi(optarg); break;
		case 'w': wait_s = atoi(optarg); break;
		default:
			if (mqauth_opt(&auth, c, optarg))
				break;
			usage(stderr);
			return 2;
		}
	}
	if (port <= 0 || want < 1 || rounds < 1 || size < 1 || size > (1 << 20) || wait_s < 1) {
		usage(stderr);
		return 2;
	}
	asset = malloc((size_t)size);
	lat_us = malloc(sizeof(*lat_us) * (size_t)want);
	all = malloc(sizeof(*all) * (size_t)want * (size_t)rounds);
	if (!asset || !lat_us || !all)
		return 1;
	for (int i = 0; i < size; i++)
		asset[i] = (unsigned char)(i * 131 + 7);
	cx_sha256_hex(asset, (size_t)size, sha);
	mosquitto_lib_init();
	m = mosquitto_new(NULL, true, NULL);
	if (!m || mqauth_apply(&auth, m, NULL) < 0)
		return 1;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_message_callback_set(m, on_message);
	if (mosquitto_connect(m, host, port, 60) != MOSQ_ERR_SUCCESS || mosquitto_loop_start(m)) {
		fprintf(stderr, "mqfloor: cannot connect to %s:%d\n", host, port);
		return 1;
	}
	for (int i = 0; i < 1000; i++) {
		bool s;

		pthread_mutex_lock(&lock);
		s = subscribed;
		pthread_mutex_unlock(&lock);
		if (s)
			break;
		usleep(10000);
	}
	snprintf(topic, sizeof(topic), "cx/v1/asset/%s", sha);
	mosquitto_publish(m, NULL, topic, size, asset, 1, true);
	usleep(500000);
	for (int r = 1; r <= rounds; r++) {
		int64_t deadline;
		int got;

		pthread_mutex_lock(&lock);
		nlat = 0;
		round_now = r;
		t0_us = mono_us();
		pthread_mutex_unlock(&lock);
		snprintf(ping, sizeof(ping), "%d %s", r, sha);
		mosquitto_publish(m, NULL, "cx/v1/live/floor", (int)strlen(ping), ping, 1, false);
		deadline = mono_us() + (int64_t)wait_s * 1000000;
		do {
			usleep(2000);
			pthread_mutex_lock(&lock);
			got = nlat;
			pthread_mutex_unlock(&lock);
		} while (got < want && mono_us() < deadline);
		pthread_mutex_lock(&lock);
		round_now = 0;
		qsort(lat_us, (size_t)nlat, sizeof(*lat_us), cmp64);
		printf("round %d: %d of %d answered, p50 %.0f ms, p95 %.0f ms, max %.0f ms\n", r, nlat,
		       want, pct(lat_us, nlat, 50), pct(lat_us, nlat, 95), pct(lat_us, nlat, 100));
		memcpy(all + nall, lat_us, sizeof(*lat_us) * (size_t)nlat);
		nall += nlat;
		missing += want - nlat;
		pthread_mutex_unlock(&lock);
		fflush(stdout);
		sleep(1);
	}
	qsort(all, (size_t)nall, sizeof(*all), cmp64);
	printf("floor %d: %d answers, p50 %.0f ms, p95 %.0f ms, max %.0f ms\n", want, nall,
	       pct(all, nall, 50), pct(all, nall, 95), pct(all, nall, 100));
	mosquitto_publish(m, NULL, topic, 0, NULL, 1, true); /* the retained asset goes */
	usleep(200000);
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	free(asset);
	free(lat_us);
	free(all);
	return missing ? 1 : 0;
}
