/* SPDX-License-Identifier: GPL-2.0-or-later */
/* capd.c -- serve's automatic warnings: a thread that takes CAP documents from their sources to the air */
#include "capd.h"

#include "cap_run.h"
#include "cap_setup.h"
#include "capsrc.h"
#include "cxtime.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define CONNECT_MS  10000
#define FLUSH_MS    10000
#define RETRY_MS    5000          /* act again on what could not be sent */
#define RELOAD_MS   30000         /* retry a schedules directory that did not load */

struct capd {
	const struct cconf *cf;
	pthread_t thread;
	int efd;                       /* wakes the thread when it has no source */
	atomic_bool stop, reload;
	struct cap_setup s;
	bool open;
	int64_t reread_at;             /* read the sources again then (a document was
	                                * not recorded: a full disk, ENOMEM); 0 none */
	pthread_mutex_t lock;          /* SRC, as wake() sees it */
	struct capsrc *src;            /* replaced by the thread only */
};

static void wake(struct capd *c)
{
	uint64_t one = 1;

	pthread_mutex_lock(&c->lock);
	if (c->src)
		capsrc_wake(c->src);
	pthread_mutex_unlock(&c->lock);
	if (write(c->efd, &one, sizeof(one)) < 0) {
		/* the counter is full: a wake is pending anyway */
	}
}

static void set_src(struct capd *c, struct capsrc *src)
{
	struct capsrc *old;

	pthread_mutex_lock(&c->lock);
	old = c->src;
	c->src = src;
	pthread_mutex_unlock(&c->lock);
	capsrc_free(old);
}

static bool warnings_file_exists(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, WARN_FILE);
	return access(path, F_OK) == 0;
}

/* The schedules directory, and the sources it names. */
static void load(struct capd *c)
{
	struct capsrc *src;
	char err[600];
	int r;

	set_src(c, NULL);
	r = c->open ? cap_setup_reload(&c->s, err, sizeof(err)) :
	    cap_setup_open(&c->s, c->cf, NULL, err, sizeof(err));
	if (r < 0) {
		/* Quiet for a township without automatic warnings. */
		if (c->open || warnings_file_exists(c->cf->schedules))
			log_err("automatic warnings: %s; %s", err, c->open ?
				"keeping the rules read before" :
				"none until the schedules directory is fixed");
		if (!c->open)
			return;
	}
	c->open = true;
	if (!c->s.w->nsources)
		return;
	/* The broker only once there is something to read. */
	if (!c->s.mq) {
		r = cap_setup_connect(&c->s, "controller-cap", CONNECT_MS, FLUSH_MS, err,
				      sizeof(err));
		if (r == -ETIMEDOUT)
			log_warn("automatic warnings: %s yet; retrying in the background", err);
		else if (r < 0)
			log_err("automatic warnings: %s", err);
	}
	src = capsrc_new(c->s.w->sources, c->s.w->nsources, err, sizeof(err));
	set_src(c, src);
	if (!src)
		log_err("automatic warnings: %s; no source is read until the schedules directory "
			"changes", err);
	else
		log_info("automatic warnings: reading %zu source%s of %s", c->s.w->nsources,
			 c->s.w->nsources == 1 ? "" : "s", WARN_FILE);
}

static void log_outcome(const struct caprun_out *o, int r)
{
	const struct cap_decision *d = &o->d;

	if (o->duplicate)
		return;
	if (r < 0) {
		log_warn("CAP %s from %s (%s): %s, NOT SENT: %s; trying again", o->identifier,
			 o->sender, o->origin, cap_what_name(d->what), o->error);
		return;
	}
	log_info("CAP %s from %s (%s): %s (%s)%s%s", o->identifier, *o->sender ? o->sender : "?",
		 o->origin, cap_what_name(d->what), d->reason, *o->alert_id ? "; alert " : "",
		 o->alert_id);
	for (size_t i = 0; i < o->ncancelled; i++)
		log_info("CAP %s: alert %s cancelled", o->identifier, o->cancelled[i]);
}

static void take(struct capd *c, const struct capsrc_doc *doc)
{
	struct caprun_out o;
	int r;

	if (doc->error) {
		r = caprun_unread(&c->s.run, doc->origin, doc->error, cx_now_ms(), &o);
		log_warn("CAP document %s not read: %s%s%s", doc->origin, doc->error,
			 r < 0 ? "; " : "", r < 0 ? o.error : "");
		caprun_out_free(&o);
		return;
	}
	if (!c->s.run.pub) {
		log_err("CAP document %s not taken: the controller cannot sign (see above); it is "
			"read again when the schedules directory changes", doc->origin);
		return;
	}
	r = caprun_doc(&c->s.run, doc->origin, doc->buf, doc->len, cx_now_ms(), &o);
	if (r == -EIO || r == -ENOMEM) {
		/* Nothing was recorded: the sources are read again in a while, so
		 * that a full disk or a store error does not lose the warning. */
		log_err("CAP document %s: %s; reading it again in %d s", doc->origin,
			r == -EIO ? o.error : strerror(-r), RETRY_MS / 1000);
		if (!c->reread_at)
			c->reread_at = cx_now_ms() + RETRY_MS;
	} else {
		log_outcome(&o, r);
	}
	caprun_out_free(&o);
}

/* Wait up to MS for a document or a wake. */
static void next(struct capd *c, int ms)
{
	struct capsrc_doc doc;
	uint64_t v;

	if (c->src) {
		int r = capsrc_next(c->src, ms, &doc);

		if (r == 1) {
			take(c, &doc);
			capsrc_doc_free(&doc);
		} else if (r < 0) {
			log_err("automatic warnings: reading the sources: %s", strerror(-r));
			poll(NULL, 0, 1000);
		}
		return;
	}
	struct pollfd p = { .fd = c->efd, .events = POLLIN };

	if (poll(&p, 1, ms) > 0 && read(c->efd, &v, sizeof(v)) < 0) {
		/* drained */
	}
}

static void *run(void *ud)
{
	struct capd *c = ud;
	int64_t retry_at = 0, reload_at = 0;

	load(c);
	while (!atomic_load(&c->stop)) {
		int64_t now = cx_now_ms();

		if (atomic_exchange(&c->reload, false) || (!c->open && now >= reload_at) ||
		    (c->reread_at && now >= c->reread_at)) {
			c->reread_at = 0;
			load(c);
			reload_at = now + RELOAD_MS;
		}
		if (c->s.run.pub && now >= retry_at) {
			int n = caprun_retry(&c->s.run, now);

			if (n > 0)
				log_info("automatic warnings: %d message%s sent after all", n,
					 n == 1 ? "" : "s");
			retry_at = now + RETRY_MS;
		}
		next(c, 1000);
	}
	return NULL;
}

struct capd *capd_start(const struct cconf *cf, char *err, size_t errlen)
{
	struct capd *c = calloc(1, sizeof(*c));
	int r;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->cf = cf;
	pthread_mutex_init(&c->lock, NULL);
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r = c->efd < 0 ? errno : pthread_create(&c->thread, NULL, run, c);
	if (r != 0) {
		snprintf(err, errlen, "cannot start the automatic warnings: %s", strerror(r));
		if (c->efd >= 0)
			close(c->efd);
		pthread_mutex_destroy(&c->lock);
		free(c);
		errno = r;
		return NULL;
	}
	return c;
}

void capd_reload(struct capd *c)
{
	if (!c)
		return;
	atomic_store(&c->reload, true);
	wake(c);
}

void capd_stop(struct capd *c)
{
	if (!c)
		return;
	atomic_store(&c->stop, true);
	wake(c);
	pthread_join(c->thread, NULL);
	set_src(c, NULL);
	if (c->open)
		cap_setup_close(&c->s);
	close(c->efd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
