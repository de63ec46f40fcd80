/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_tts.c -- `cunxiang tts`: render a notice to Ogg Opus */
#include "config.h"

#include "commands.h"
#include "diag.h"
#include "fileio.h"
#include "tts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void tts_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang tts --voice NAME [-o FILE] TEXT\n"
		   "       cunxiang tts --voice NAME [-o FILE] -f FILE\n\n"
		   "Render a notice through espeak-ng straight into Ogg Opus (mono, 24 kbit/s,\n"
		   "the asset format nodes play), applying the profile's lexicon. Without -o\n"
		   "the Opus file goes to standard output. -f - reads the text from standard\n"
		   "input.\n\n"
		   "  -v --voice NAME     voice profile (voices/NAME.yaml)\n"
		   "  -f --file FILE      read the text from FILE (UTF-8)\n"
		   "  -o --output FILE    write the Opus file here (atomically)\n"
		   "     --voices DIR     the voices directory (default: see cunxiang(1))\n"
		   "  -j --jobs N         worker processes (default: one per CPU)\n"
		   "  -h --help           show this help\n"
		   "     --version        show the version\n\n"
		   "See cunxiang(1).\n");
}

static int write_out(const char *path, const unsigned char *buf, size_t len)
{
	size_t off = 0;

	if (path)
		return fio_write_atomic(path, buf, len, 0644);
	while (off < len) {
		ssize_t n = write(STDOUT_FILENO, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

int cmd_tts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "voice", required_argument, NULL, 'v' },
		{ "file", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "voices", required_argument, NULL, 'D' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *name = NULL, *file = NULL, *out = NULL, *vopt = NULL;
	char *text = NULL, *vdir = NULL, err[512] = "";
	unsigned char *buf = NULL;
	struct voice *v = NULL;
	struct diag *d = NULL;
	int64_t ms = 0;
	size_t len = 0;
	int c, r, rc = CX_EXIT_USER;

	while ((c = getopt_long(argc, argv, "v:f:o:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': name = optarg; break;
		case 'f': file = optarg; break;
		case 'o': out = optarg; break;
		case 'D': vopt = optarg; break;
		case 'j': {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (*end || n < 1 || n > 64) {
				fprintf(stderr, "cunxiang tts: --jobs must be 1..64, not '%s'\n", optarg);
				return CX_EXIT_USAGE;
			}
			tts_set_jobs((int)n);
			break;
		}
		case 'h': tts_help(stdout); return CX_EXIT_OK;
		case 'V': printf("cunxiang %s\n", CX_VERSION); return CX_EXIT_OK;
		default: tts_help(stderr); return CX_EXIT_USAGE;
		}
	}
	if (!name || (file ? optind != argc : optind != argc - 1)) {
		tts_help(stderr);
		return CX_EXIT_USAGE;
	}
	if (!out && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "cunxiang tts: not writing Opus to a terminal; use -o FILE\n");
		return CX_EXIT_USAGE;
	}
	if (file) {
		size_t tlen = 0;

		r = fio_read_all(strcmp(file, "-") ? file : "/dev/stdin", TTS_MAX_TEXT_BYTES,
				 &text, &tlen);
		if (r < 0) {
			fprintf(stderr, "cunxiang tts: %s: %s\n", file,
				r == -EFBIG ? "text longer than 64 KiB" : strerror(-r));
			return CX_EXIT_USER;
		}
	} else {
		text = strdup(argv[optind]);
		if (!text)
			return CX_EXIT_USER;
	}
	vdir = voices_dir_find(vopt, NULL, NULL);
	if (!vdir) {
		fprintf(stderr, "cunxiang tts: no voices directory found; use --voices DIR\n");
		goto out;
	}
	d = diag_new();
	v = d ? voice_load(vdir, name, d) : NULL;
	if (!v) {
		if (d)
			diag_print(d, stderr);
		if (!d || !diag_errors(d))
			fprintf(stderr, "cunxiang tts: cannot load voice '%s' from %s\n", name, vdir);
		goto out;
	}
	r = tts_render(v, text, &buf, &len, &ms, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "cunxiang tts: %s\n", err[0] ? err : strerror(-r));
		goto out;
	}
	r = write_out(out, buf, len);
	if (r < 0) {
		fprintf(stderr, "cunxiang tts: cannot write %s: %s\n", out ? out : "standard output",
			strerror(-r));
		goto out;
	}
	if (out)
		fprintf(stderr, "%s: %lld.%03lld s, %zu bytes\n", out, (long long)(ms / 1000),
			(long long)(ms % 1000), len);
	rc = CX_EXIT_OK;
out:
	free(buf);
	voice_free(v);
	diag_free(d);
	free(vdir);
	free(text);
	tts_shutdown();
	return rc;
}
