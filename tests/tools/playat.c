/* SPDX-License-Identifier: GPL-2.0-or-later */
/* playat.c -- play assets through the node's player at planned instants (test tool) */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cxtime.h"
#include "log.h"
#include "player.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: playat [OPTION]... ASSET...\n"
		"Play the Ogg Opus ASSETs (back to back, as one item) through the node's\n"
		"ALSA player, COUNT times, the first sample of item K planned at\n"
		"AT + K*PERIOD, and print one line per event:\n"
		"  EVENT K planned_us=P started_us=S error_us=E played_ms=M reason=R\n"
		"\n"
		"  -D, --device PCM     ALSA PCM (default \"default\")\n"
		"  -v, --volume V       1..100 (default 100)\n"
		"  -b, --buffer MS      ALSA buffer (default 100)\n"
		"  -a, --at US          CLOCK_REALTIME instant of the first start, us\n"
		"  -i, --in MS          or that many ms from now (default 1000; may be < 0)\n"
		"  -n, --count N        items (default 1)\n"
		"  -p, --period MS      between planned starts (default 2000); an item\n"
		"                       still playing at the next start is preempted\n"
		"  -h, --help           this text\n"
		"\n"
		"Exit status 0 when every item started, else 1; 2 on a usage error.\n");
}

static const char *const names[] = { "STARTED", "DONE", "STOPPED", "FAILED" };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'D' },
		{ "volume", required_argument, NULL, 'v' },
		{ "buffer", required_argument, NULL, 'b' },
		{ "at", required_argument, NULL, 'a' },
		{ "in", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "period", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct player_cfg cfg = { .device = "default", .buffer_ms = 100 };
	long long at = 0, in_ms = 1000, count = 1, period_ms = 2000, volume = 100;
	long long *dst;
	int64_t *planned;
	struct player *p;
	int c, started = 0, ended = 0, next = 0;

	while ((c = getopt_long(argc, argv, "D:v:b:a:i:n:p:h", opts, NULL)) != -1) {
		char *end = NULL;
		long long bufms = 0;

		switch (c) {
		case 'D': cfg.device = optarg; continue;
		case 'v': dst = &volume; break;
		case 'b': dst = &bufms; break;
		case 'a': dst = &at; break;
		case 'i': dst = &in_ms; break;
		case 'n': dst = &count; break;
		case 'p': dst = &period_ms; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		errno = 0;
		*dst = strtoll(optarg, &end, 10);
		if (errno || !end || *end || end == optarg) {
			fprintf(stderr, "playat: bad value '%s' for -%c\n", optarg, c);
			return 2;
		}
		if (c == 'b')
			cfg.buffer_ms = (int)bufms;
	}
	if (optind >= argc || count < 1 || count > 10000 || volume < 1 || volume > 100) {
		usage(stderr);
		return 2;
	}
	cx_log_init("playat");
	if (!at)
		at = cx_now_us() + in_ms * 1000;
	planned = calloc((size_t)count, sizeof(*planned));
	if (!planned)
		return 1;
	p = player_new(&cfg);
	if (!p) {
		fprintf(stderr, "playat: %s\n", strerror(errno));
		return 1;
	}
	while (ended < count) {
		struct pollfd pfd = { .fd = player_fd(p), .events = POLLIN };
		struct player_ev ev;
		int64_t wait_us = -1;

		/* Hand each item over 600 ms before its start, or when the
		 * previous one has ended, whichever comes first. */
		if (next < count) {
			int64_t start = at + next * period_ms * 1000;
			int64_t due = start - 600000, now = cx_now_us();

			if (now >= due || next == ended) {
				struct player_item it = {
					.token = (uint64_t)next, .start_us = start,
					.volume = (int)volume,
					.npaths = (size_t)(argc - optind),
					.paths = (const char *const *)argv + optind,
				};

				if (player_start(p, &it) < 0) {
					fprintf(stderr, "playat: cannot start item %d\n", next);
					return 1;
				}
				planned[next++] = start;
				continue;
			}
			wait_us = due - now;
		}
		poll(&pfd, 1, wait_us < 0 ? -1 : (int)(wait_us / 1000) + 1);
		while (player_next_event(p, &ev)) {
			printf("%s %llu planned_us=%lld started_us=%lld error_us=%lld played_ms=%lld reason=%s\n",
			       names[ev.type], (unsigned long long)ev.token,
			       (long long)planned[ev.token], (long long)ev.started_us,
			       (long long)ev.start_error_us, (long long)ev.played_ms,
			       ev.reason[0] ? ev.reason : "-");
			fflush(stdout);
			if (ev.type == PLAYER_EV_STARTED)
				started++;
			else
				ended++;
		}
	}
	player_free(p);
	free(planned);
	return started == count ? 0 : 1;
}
