/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c -- `cunxiang-node`: the pole daemon that plays its plan and reports */
#include "config.h"

#include "log.h"
#include "node.h"
#include "notify.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "Usage: cunxiang-node -c node.yaml\n\n"
		   "The speaker node daemon: plays its plan at the planned instants, keeps\n"
		   "playing from its cache when the broker is away, and reports receipts.\n\n"
		   "  -c --config FILE  node configuration (default /etc/cunxiang/node.yaml)\n"
		   "     --print-key    print this pole's public key (creating the key in\n"
		   "                    state_dir if it has none) for `cunxiang enrol`, and exit\n"
		   "  -h --help         show this help\n"
		   "     --version      show the version\n\n"
		   "See cunxiang-node(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "print-key", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *config = "/etc/cunxiang/node.yaml";
	struct node *n;
	bool show_key = false;
	sigset_t mask;
	int c, sfd, rc;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'K': show_key = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("cunxiang-node %s\n", CX_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	cx_log_init("cunxiang-node");
	if (show_key)
		return node_print_key(config);
	/* Signals are read from a descriptor in the main loop. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	n = node_open(config);
	if (!n)
		return 1;
	cx_notify("READY=1");
	rc = node_run(n, sfd);
	cx_notify("STOPPING=1");
	node_close(n);
	close(sfd);
	return rc;
}
