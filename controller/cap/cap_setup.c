/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cap_setup.c -- what taking CAP messages needs open: fleet, warnings.yaml, store, voices, broker */
#include "cap_setup.h"

#include "fileio.h"
#include "tts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The fleet and the warnings, or an error naming the first problem. */
static int load(const struct cconf *cf, struct schedule **sch, struct warnings **w,
		char *err, size_t errlen)
{
	struct diag *d = diag_new();
	int r = 0;

	*sch = NULL;
	*w = NULL;
	if (!d || !(*sch = schedule_load(cf->schedules, d)) ||
	    !(*w = warnings_load(cf->schedules, *sch, d))) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	} else if (!schedule_township(*sch)->area_code) {
		snprintf(err, errlen, "cannot read the township's area_code from %s/fleet.yaml%s%s",
			 cf->schedules, diag_get(d, 0) ? ": " : "", diag_get(d, 0) ? diag_get(d, 0) : "");
		r = -EINVAL;
	} else {
		/* Only fleet.yaml's and warnings.yaml's errors matter here: a
		 * broken broadcast file must not stop a warning. */
		for (size_t i = 0; diag_get(d, i); i++) {
			const char *line = diag_get(d, i);

			if (strstr(line, ": error: ") && (strstr(line, "fleet.yaml:") ||
							 strstr(line, WARN_FILE ":"))) {
				snprintf(err, errlen, "%s", line);
				r = -EINVAL;
				break;
			}
		}
	}
	diag_free(d);
	if (r < 0) {
		warnings_free(*w);
		schedule_free(*sch);
		*w = NULL;
		*sch = NULL;
	}
	return r;
}

static void run_init(struct cap_setup *s)
{
	struct pub *p = s->run.pub;

	s->run = (struct caprun){ .st = s->st, .sch = s->sch, .w = s->w,
		.voices_dir = s->voices_dir, .assets_dir = s->assets_dir, .cache_dir = s->cache_dir,
		.area = schedule_township(s->sch)->area_code, .pub = p, .flush_ms = s->run.flush_ms };
}

int cap_setup_open(struct cap_setup *s, const struct cconf *cf, const char *voices_opt,
		   char *err, size_t errlen)
{
	char *db;
	int r;

	*s = (struct cap_setup){ .cf = cf };
	if ((r = load(cf, &s->sch, &s->w, err, errlen)) < 0)
		return r;
	if (!(s->voices_dir = voices_dir_find(voices_opt, cf->voices, cf->schedules))) {
		snprintf(err, errlen, "no voices directory found; set voices: in %s", cf->path);
		cap_setup_close(s);
		return -ENOENT;
	}
	s->assets_dir = fio_join(cf->data_dir, "assets");
	s->cache_dir = fio_join(cf->data_dir, "cache");
	db = fio_join(cf->data_dir, STORE_FILE);
	r = !s->assets_dir || !s->cache_dir || !db ? -ENOMEM : 0;
	if (r == 0 && ((r = fio_mkdir_p(s->assets_dir, 0755)) < 0 ||
		       (r = fio_mkdir_p(s->cache_dir, 0755)) < 0))
		snprintf(err, errlen, "cannot create %s: %s", cf->data_dir, strerror(-r));
	else if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (r == 0 && !(s->st = store_open(db, 0, err, errlen)))
		r = -EIO;
	free(db);
	if (r < 0) {
		cap_setup_close(s);
		return r;
	}
	run_init(s);
	return 0;
}

int cap_setup_reload(struct cap_setup *s, char *err, size_t errlen)
{
	struct schedule *sch;
	struct warnings *w;
	int r = load(s->cf, &sch, &w, err, errlen);

	if (r < 0)
		return r;
	warnings_free(s->w);
	schedule_free(s->sch);
	s->sch = sch;
	s->w = w;
	run_init(s);
	return 0;
}

int cap_setup_connect(struct cap_setup *s, const char *cmd, int connect_ms, int flush_ms,
		      char *err, size_t errlen)
{
	const struct cconf *cf = s->cf;
	char cid[64];
	struct mq_cfg mc = {
		.client_id = cid, .host = cf->host, .port = cf->port, .tls = cf->tls,
		.ca_file = cf->ca_file, .username = cf->username, .password = cf->password,
		.clean_start = true, .keepalive_s = 30,
	};
	int r;

	if ((r = pub_init(&s->pub, cf->signing_key, err, errlen)) < 0)
		return r;
	snprintf(cid, sizeof(cid), "cx-%s-%ld", cmd, (long)getpid());
	if (!(s->mq = mq_new(&mc))) {
		r = -errno;
		snprintf(err, errlen, "cannot start the MQTT session: %s", strerror(-r));
		return r;
	}
	s->pub.mq = s->mq;
	s->run.pub = &s->pub;
	s->run.flush_ms = flush_ms;
	if (mq_wait_connected(s->mq, connect_ms) < 0) {
		snprintf(err, errlen, "cannot reach the broker %s", cf->broker);
		return -ETIMEDOUT;
	}
	return 0;
}

void cap_setup_close(struct cap_setup *s)
{
	if (s->mq) {
		mq_flush(s->mq, 2000);
		mq_free(s->mq);
	}
	pub_wipe(&s->pub);
	store_close(s->st);
	warnings_free(s->w);
	schedule_free(s->sch);
	free(s->voices_dir);
	free(s->assets_dir);
	free(s->cache_dir);
	*s = (struct cap_setup){ 0 };
}
