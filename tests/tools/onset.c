/* SPDX-License-Identifier: GPL-2.0-or-later */
/* onset.c -- find where sound starts in raw s16le audio, per channel (test tool) */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CH 32

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: onset [OPTION]... [FILE]\n"
		"Read raw interleaved s16le audio (FILE or standard input, e.g. from\n"
		"`parec --format=s16le --rate=48000 --channels=N`) and print where each\n"
		"channel first reaches the threshold:\n"
		"  CHANNEL SAMPLE SECONDS [WALL_US]\n"
		"or \"CHANNEL - -\" for a channel that never does.\n"
		"\n"
		"  -c, --channels N     interleaved channels (default 1)\n"
		"  -r, --rate HZ        sample rate (default 48000)\n"
		"  -t, --threshold A    magnitude 1..32767 that counts as sound (default 1000)\n"
		"  -g, --gap MS         print every onset that follows at least MS of\n"
		"                       samples below the threshold, one line each in\n"
		"                       time order, not just the first per channel\n"
		"  -d, --duration S     stop after S seconds of audio\n"
		"  -w, --wall           also print the CLOCK_REALTIME instant (us) of each\n"
		"                       onset, estimated from when the data arrived; the\n"
		"                       input must be a live recording read as it is made\n"
		"  -h, --help           this text\n"
		"\n"
		"Exit status 0, or 1 when no channel had an onset, 2 on a usage error.\n");
}

struct chan {
	int64_t below;          /* samples below the threshold since the last sound */
	int64_t onsets;
};

struct onset {
	int ch;
	int64_t sample;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "channels", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "threshold", required_argument, NULL, 't' },
		{ "gap", required_argument, NULL, 'g' },
		{ "duration", required_argument, NULL, 'd' },
		{ "wall", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct chan ch[MAX_CH];
	struct onset *list = NULL;
	size_t nlist = 0, cap = 0;
	long channels = 1, rate = 48000, threshold = 1000;
	double gap_ms = -1, duration = -1;
	bool wall = false;
	int64_t frames = 0, max_frames = -1, gap = 0, t0 = INT64_MAX;
	unsigned char buf[8192];
	size_t have = 0;
	FILE *in = stdin;
	int c, found = 0;

	while ((c = getopt_long(argc, argv, "c:r:t:g:d:wh", opts, NULL)) != -1) {
		char *end = NULL;

		errno = 0;
		switch (c) {
		case 'c': channels = strtol(optarg, &end, 10); break;
		case 'r': rate = strtol(optarg, &end, 10); break;
		case 't': threshold = strtol(optarg, &end, 10); break;
		case 'g': gap_ms = strtod(optarg, &end); break;
		case 'd': duration = strtod(optarg, &end); break;
		case 'w': wall = true; continue;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (errno || !end || *end || end == optarg) {
			fprintf(stderr, "onset: bad value '%s' for -%c\n", optarg, c);
			return 2;
		}
	}
	if (channels < 1 || channels > MAX_CH || rate < 1 || threshold < 1 ||
	    threshold > 32767 || argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	if (gap_ms >= 0)
		gap = (int64_t)(gap_ms * rate / 1000);
	if (duration >= 0)
		max_frames = (int64_t)(duration * rate);
	if (optind < argc) {
		in = fopen(argv[optind], "rb");
		if (!in) {
			fprintf(stderr, "onset: %s: %s\n", argv[optind], strerror(errno));
			return 1;
		}
	}
	memset(ch, 0, sizeof(ch));
	for (;;) {
		size_t fsz = (size_t)channels * 2, n, k;
		ssize_t r;

		/* read(2), not stdio: the arrival time of each piece matters. */
		r = read(fileno(in), buf + have, sizeof(buf) - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		n = have / fsz;
		if (wall) {
			/* The last frame of this piece was recorded no later than
			 * now; the piece that arrived soonest bounds sample 0 best. */
			int64_t cand = now_us() - (frames + (int64_t)n) * 1000000 / rate;

			if (cand < t0)
				t0 = cand;
		}
		for (k = 0; k < n && (max_frames < 0 || frames < max_frames); k++, frames++) {
			for (long j = 0; j < channels; j++) {
				const unsigned char *s = buf + k * fsz + (size_t)j * 2;
				int v = (int16_t)(uint16_t)(s[0] | s[1] << 8);
				struct chan *q = &ch[j];

				if (v < 0)
					v = -v;
				if (v < threshold) {
					q->below++;
					continue;
				}
				if (q->onsets == 0 || (gap > 0 && q->below >= gap)) {
					if (nlist == cap) {
						struct onset *nl;

						cap = cap ? cap * 2 : 16;
						nl = realloc(list, cap * sizeof(*list));
						if (!nl) {
							fprintf(stderr, "onset: out of memory\n");
							return 1;
						}
						list = nl;
					}
					list[nlist].ch = (int)j;
					list[nlist].sample = frames;
					nlist++;
					q->onsets++;
				}
				q->below = 0;
			}
		}
		memmove(buf, buf + n * fsz, have - n * fsz);
		have -= n * fsz;
		if (max_frames >= 0 && frames >= max_frames)
			break;
	}
	if (in != stdin)
		fclose(in);
	/* First onset of each channel in channel order, or all in time order. */
	for (long j = 0; j < channels; j++) {
		bool any = false;

		for (size_t k = 0; k < nlist; k++) {
			if (list[k].ch != j)
				continue;
			any = true;
			if (gap > 0)
				continue;
			printf("%ld %lld %.6f", j, (long long)list[k].sample,
			       (double)list[k].sample / rate);
			if (wall)
				printf(" %lld", (long long)(t0 + list[k].sample * 1000000 / rate));
			printf("\n");
			break;
		}
		if (any)
			found = 1;
		else if (gap <= 0)
			printf("%ld - -\n", j);
	}
	if (gap > 0) {
		for (size_t k = 0; k < nlist; k++) {
			printf("%d %lld %.6f", list[k].ch, (long long)list[k].sample,
			       (double)list[k].sample / rate);
			if (wall)
				printf(" %lld", (long long)(t0 + list[k].sample * 1000000 / rate));
			printf("\n");
		}
	}
	free(list);
	return found ? 0 : 1;
}
