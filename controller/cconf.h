/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cconf.h -- controller.yaml: broker, signing key, schedules, data directory */
#pragma once

#include <stdbool.h>

#include "diag.h"

struct cconf {
	char *path;          /* the file it was read from */
	char *broker;        /* as written */
	char *host;
	int port;            /* default 1883, 8883 for mqtts */
	bool tls;
	char *username;      /* optional */
	char *password;      /* from password_file */
	char *ca_file;       /* optional */
	char *signing_key;   /* path of the secret key */
	char *schedules;     /* schedules directory */
	char *voices;        /* voices directory, optional */
	char *data_dir;      /* receipts.db, assets/, caches */
	int horizon_days;    /* 1..31, default 7 */
};

/* Load PATH; relative paths inside are taken relative to the file's
 * directory. Every error goes to D as FILE:LINE:COL; NULL when any. */
struct cconf *cconf_load(const char *path, struct diag *d);
void cconf_free(struct cconf *c);
