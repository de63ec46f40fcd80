/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mqauth.c -- TLS and a broker account for the test tools' MQTT sessions */
#include "mqauth.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

int mqauth_opt(struct mqauth *a, int c, const char *optarg)
{
	switch (c) {
	case 0x1001: a->ca_file = optarg; return 1;
	case 0x1002: a->user = optarg; return 1;
	case 0x1003: a->pw_file = optarg; return 1;
	case 0x1004: a->pki = optarg; return 1;
	default: return 0;
	}
}

/* The first line of PATH into BUF, without its newline. */
static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f || !fgets(buf, (int)size, f)) {
		fprintf(stderr, "mqauth: cannot read %s: %s\n", path, f ? "empty" : strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return 0;
}

int mqauth_apply(const struct mqauth *a, struct mosquitto *m, const char *node)
{
	char ca[PATH_MAX], path[PATH_MAX], pw[512];
	const char *ca_file = a->ca_file, *user = a->user, *pw_file = a->pw_file;
	int rc;

	if (a->pki) {
		if (!node) {
			fprintf(stderr, "mqauth: --pki needs a pole\n");
			return -1;
		}
		snprintf(ca, sizeof(ca), "%s/ca/ca.crt", a->pki);
		snprintf(path, sizeof(path), "%s/poles/%s/node.pass", a->pki, node);
		ca_file = ca;
		user = node;
		pw_file = path;
	}
	if (ca_file && (rc = mosquitto_tls_set(m, ca_file, NULL, NULL, NULL, NULL)) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqauth: TLS with %s: %s\n", ca_file, mosquitto_strerror(rc));
		return -1;
	}
	if (!user)
		return 0;
	if (pw_file && read_line(pw_file, pw, sizeof(pw)) < 0)
		return -1;
	rc = mosquitto_username_pw_set(m, user, pw_file ? pw : NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqauth: account %s: %s\n", user, mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}
