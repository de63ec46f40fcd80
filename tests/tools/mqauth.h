/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mqauth.h -- TLS and a broker account for the test tools' MQTT sessions */
#pragma once

#include <getopt.h>
#include <mosquitto.h>
#include <stddef.h>

/* How a tool reaches a broker `cunxiang provision` configured. All NULL:
 * plain TCP, anonymous (a broker configured so on purpose). */
struct mqauth {
	const char *ca_file;    /* --cafile: TLS, the broker's CA */
	const char *user;       /* --user */
	const char *pw_file;    /* --pw-file: the password, one line */
	const char *pki;        /* --pki DIR: `cunxiang provision` output; each
				 * session is the pole it simulates */
};

/* The getopt_long entries of the options above, for a tool's table. */
#define MQAUTH_OPTIONS                                             \
	{ "cafile", required_argument, NULL, 0x1001 },             \
	{ "user", required_argument, NULL, 0x1002 },               \
	{ "pw-file", required_argument, NULL, 0x1003 },            \
	{ "pki", required_argument, NULL, 0x1004 }

#define MQAUTH_USAGE \
	"  --cafile FILE  TLS, trusting FILE; --user USER --pw-file FILE: an account;\n" \
	"  --pki DIR      TLS and each simulated pole's own account from `cunxiang provision -o DIR`\n"

/* Take getopt's C and OPTARG if they are one of MQAUTH_OPTIONS.
 * \retval 1 taken / 0 not one of them */
int mqauth_opt(struct mqauth *a, int c, const char *optarg);

/* Set TLS and the account on M before it connects, as pole NODE when A
 * has --pki (NODE may be NULL otherwise). Prints why not to stderr.
 * \retval 0 / -1 */
int mqauth_apply(const struct mqauth *a, struct mosquitto *m, const char *node);
