/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nconf.h -- node.yaml: identity, broker, trusted keys, audio, amplifier, state */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "envelope.h"

#define NCONF_MAX_KEYS 16
/* Where an mqtts:// session finds CA certificates when ca_file is absent. */
#define NCONF_SYSTEM_CA_DIR "/etc/ssl/certs"

struct nconf {
	char *id;            /* [a-z0-9-]{1,32} */
	char *broker;        /* mqtt://host:port or mqtts://host:port */
	char *host;          /* parsed from broker */
	int port;            /* default 1883, 8883 for mqtts */
	bool tls;
	char *username;      /* optional */
	char *password;      /* read from password_file, trailing newline cut */
	char *ca_file;       /* optional, for mqtts; NULL: the system's CAs
			      * (NCONF_SYSTEM_CA_DIR) */
	struct env_key keys[NCONF_MAX_KEYS];
	size_t nkeys;        /* at least 1 */
	char *device;        /* audio.device, default "default" */
	char *mixer;         /* audio.mixer, optional (NULL: leave the mixer alone) */
	int buffer_ms;       /* audio.buffer_ms: the live buffer, default 100, 20..1000 */
	char *gpiochip;      /* amplifier.gpiochip, optional */
	int gpio_line;       /* amplifier.line, 0..1023; -1 without amplifier */
	int warmup_ms;       /* amplifier.warmup_ms, default 800, 0..10000 */
	int latency_ms;      /* live.latency_ms, default 300, 40..5000 */
	char *state_dir;     /* default /var/lib/cunxiang-node */
	int status_interval_s; /* status_interval: 60 or "1m"; default 60, 5..3600 */
};

/* Load PATH, every key checked, every error reported to D as
 * FILE:LINE:COL. Relative paths (password_file, ca_file, state_dir) are
 * taken relative to the file's directory. password_file needs username and
 * must hold one non-empty line; a password file that other users can read is
 * a warning. amplifier, when present, needs gpiochip and line. Returns NULL
 * when D has errors (warnings alone do not fail). */
struct nconf *nconf_load(const char *path, struct diag *d);
void nconf_free(struct nconf *c);
