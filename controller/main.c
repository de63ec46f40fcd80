/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c -- `cunxiang`: the township controller's command dispatcher */
#include "config.h"

#include "commands.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "check",   cmd_check,   "validate a schedules directory" },
	{ "compile", cmd_compile, "compile schedules into plans and Opus assets" },
	{ "plan",    cmd_plan,    "show what plays where and when" },
	{ "tts",     cmd_tts,     "render a notice to Ogg Opus" },
	{ "keygen",  cmd_keygen,  "make an Ed25519 key pair for signing" },
	{ "enrol",   cmd_enrol,   "register the key a pole signs its receipts with" },
	{ "provision", cmd_provision, "TLS, broker accounts, ACL and pole bundles from the fleet" },
	{ "trust",   cmd_trust,   "change the controller keys the poles trust (key rotation)" },
	{ "serve",   cmd_serve,   "publish plans, ingest receipts, track nodes" },
	{ "alert",   cmd_alert,   "put an alert on the air now and show who started it" },
	{ "cancel",  cmd_cancel,  "take an alert off the air" },
	{ "cap",     cmd_cap,     "what a CAP warning does here, and doing it" },
	{ "live",    cmd_live,    "speak to villages now: a live microphone alert" },
	{ "nodes",   cmd_nodes,   "fleet status: online, playing, last seen, spool" },
	{ "report",  cmd_report,  "reach, awareness and alert delivery over a period" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: cunxiang COMMAND [OPTIONS]\n\n"
		   "Run a township's village loudspeakers.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nOptions:\n"
		   "  -h --help     show this help\n"
		   "     --version  show the version\n\n"
		   "`cunxiang COMMAND --help` describes each command. See cunxiang(1).\n");
}

int main(int argc, char **argv)
{
	cx_log_init("cunxiang");
	if (argc < 2) {
		usage(stderr);
		return CX_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CX_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("cunxiang %s\n", CX_VERSION);
		return CX_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cunxiang: unknown command '%s'; see cunxiang --help\n", argv[1]);
	return CX_EXIT_USAGE;
}
