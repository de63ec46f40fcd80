/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cap_run.c -- a CAP document through the whole path: parse, trust, decide, record, put on the air */
#include "cap_run.h"

#include "alert.h"
#include "alert_audio.h"
#include "cap.h"
#include "hash.h"
#include "log.h"
#include "utf8.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOT_SENT STORE_CAP_NOT_SENT   /* the reason of a message still to act on */
#define BEING_SENT NOT_SENT "being sent"  /* ... while a process acts on it */
/* How long a message "being sent" is left to the process acting on it
 * (`cunxiang cap`, or serve itself) before a retry takes it up: longer
 * than rendering and publishing take, short enough after a crash. */
#define CLAIM_MS (5 * 60 * 1000)

/* ---- the evidence ---- */

/* The store's record of a message: heap, it is large. NULL: ENOMEM. */
static struct store_cap *cap_row(void)
{
	return calloc(1, sizeof(struct store_cap));
}

/* Fill C with what arrived and what was decided; REASON is the stored one. */
static void row_fill(struct store_cap *c, const struct cap_msg *m, const struct caprun_out *o,
		     const char *reason, int64_t now)
{
	const struct cap_decision *d = &o->d;
	const struct cap_info *in = m && d->info < m->ninfos ? &m->infos[d->info] : NULL;
	const char *title = d->title ? d->title : in && in->event ? in->event : "";

	c->sent_ms = m ? m->sent_ms : STORE_NONE;
	c->received_ms = c->decided_ms = now;
	c->level = d->level;
	c->nodes = (int64_t)d->nnodes;
	c->expires_ms = d->expires_ms ? d->expires_ms : STORE_NONE;
	snprintf(c->sender, sizeof(c->sender), "%s", o->sender);
	snprintf(c->identifier, sizeof(c->identifier), "%s", o->identifier);
	snprintf(c->origin, sizeof(c->origin), "%s", o->origin);
	snprintf(c->msg_type, sizeof(c->msg_type), "%s", m ? m->msg_type : "");
	snprintf(c->status, sizeof(c->status), "%s", m ? m->status : "");
	snprintf(c->decision, sizeof(c->decision), "%s", cap_what_name(d->what));
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	snprintf(c->alert_class, sizeof(c->alert_class), "%s", d->klass ? d->klass : "");
	snprintf(c->voice, sizeof(c->voice), "%s", d->voice ? d->voice : "");
	snprintf(c->title, sizeof(c->title), "%s", title);
	for (size_t i = 0; m && i < m->nrefs; i++) {
		size_t l = strlen(c->refs);

		snprintf(c->refs + l, sizeof(c->refs) - l, "%s%s,%s,%s", l ? " " : "",
			 m->refs[i].sender, m->refs[i].identifier, m->refs[i].sent);
	}
}

/* Does the decision put anything on the air or take it off? */
static bool acts(enum cap_what w)
{
	return w == CAP_BROADCAST || w == CAP_UPDATE || w == CAP_CANCEL;
}

/* Record what arrived and what was decided, before anything is done
 * about it: a message to act on is stored "not sent" until it was.
 * \retval 0 / -EEXIST / -ENOMEM / -errno */
static int ev_add(struct caprun *r, const struct cap_msg *m, struct caprun_out *o,
		  const char *buf, size_t len, int64_t now)
{
	struct store_cap *c = cap_row();
	int rc;

	if (!c)
		return -ENOMEM;
	row_fill(c, m, o, acts(o->d.what) ? BEING_SENT : o->d.reason, now);
	if (o->untrusted)
		store_cap_anon(c, buf, len);
	rc = store_cap_add(r->st, c, buf, len);
	free(c);
	return rc;
}

/* The outcome of acting on O's decision. */
static void ev_outcome(struct caprun *r, const struct caprun_out *o, const char *reason,
		       int64_t now)
{
	if (store_cap_outcome(r->st, o->sender, o->identifier, reason,
			      *o->alert_id ? o->alert_id : NULL, now) < 0)
		log_err("CAP %s: cannot record what was done: %s", o->identifier,
			store_errmsg(r->st));
}

/* ---- trust ---- */

static void decide_as(struct cap_decision *d, enum cap_what w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void decide_as(struct cap_decision *d, enum cap_what w, const char *fmt, ...)
{
	va_list ap;

	d->what = w;
	d->info = SIZE_MAX;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

/* Is the sender listed, and its signature good when required? Decides a
 * reject into O->d when not. \retval 1 trusted / 0 not / -ENOMEM (verifying
 * failed, not the signature: a reject would be kept under its bytes for a
 * message that may well be genuine) */
static int trusted(struct caprun *r, const struct cap_msg *m, const char *buf, size_t len,
		   struct caprun_out *o)
{
	const struct warn_sender *s = warnings_sender(r->w, m->sender);
	char why[300];
	int rc;

	if (!s) {
		decide_as(&o->d, CAP_REJECT, "sender %s is not listed in %s", m->sender, WARN_FILE);
		return 0;
	}
	if (!s->require_signature)
		return 1;
	rc = capmsg_verify(buf, len, s->anchors, s->nanchors, why, sizeof(why));
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		decide_as(&o->d, CAP_REJECT, "signature required for %s: %s", m->sender, why);
		return 0;
	}
	return 1;
}

/* ---- acting ---- */

/* The node ids as alert targets: a village all of whose nodes are
 * selected by its code, the others one by one. *AREAS and *NODES point
 * into SCH and D. */
static int targets_of(const struct schedule *sch, const struct cap_decision *d,
		      const char ***areas, size_t *nareas, const char ***nodes, size_t *nnodes)
{
	size_t nv = schedule_village_count(sch);
	size_t *hit = calloc(nv ? nv : 1, sizeof(*hit));

	*areas = calloc(nv ? nv : 1, sizeof(**areas));
	*nodes = calloc(d->nnodes ? d->nnodes : 1, sizeof(**nodes));
	*nareas = *nnodes = 0;
	if (!hit || !*areas || !*nodes) {
		free(hit);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->nnodes; i++) {
		long k = schedule_node_find(sch, d->nodes[i]);

		if (k >= 0)
			hit[schedule_node(sch, (size_t)k)->village]++;
	}
	for (size_t v = 0; v < nv; v++)
		if (hit[v] && hit[v] == schedule_village(sch, v)->nnodes)
			(*areas)[(*nareas)++] = schedule_village(sch, v)->code;
	for (size_t i = 0; i < d->nnodes; i++) {
		long k = schedule_node_find(sch, d->nodes[i]);
		size_t v = k >= 0 ? schedule_node(sch, (size_t)k)->village : 0;

		if (k < 0 || hit[v] != schedule_village(sch, v)->nnodes)
			(*nodes)[(*nnodes)++] = d->nodes[i];
	}
	free(hit);
	return 0;
}

/* The title cut to what an alert carries, at a character boundary. */
static void title_of(const char *t, char out[ALERT_TITLE_MAX + 1])
{
	size_t n = 0, len;

	while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
		t++;
	len = strlen(t);
	while (len && (t[len - 1] == ' ' || t[len - 1] == '\t' || t[len - 1] == '\n' ||
		       t[len - 1] == '\r'))
		len--;

	while (n < len) {
		uint32_t cp;
		size_t k = utf8_next(t + n, len - n, &cp);

		if (!k || n + k > ALERT_TITLE_MAX)
			break;
		n += k;
	}
	memcpy(out, t, n);
	out[n] = '\0';
}

/* The alert of O->d on the air: audio, record, publish. The audio goes
 * first: with the broker away that fails before the alert is recorded, so
 * that retrying every few seconds does not use up the day's alert ids
 * (AREA-YYYYMMDD-NNNN, 9999 a day, shared with `cunxiang alert`) nor
 * leave a cancelled alert behind each time. With APPROVAL (the reason),
 * the hold is claimed as approved with the alert's id before the alert is
 * published: a second approval, an expiry or a Cancel that withdrew the
 * hold meanwhile wins, and the alert is then never sent.
 * \retval 0 / -EALREADY (APPROVAL: no longer held) / -errno (O->error) */
static int issue(struct caprun *r, struct caprun_out *o, int64_t now, const char *approval)
{
	const struct cap_decision *d = &o->d;
	const char **areas = NULL, **nodes = NULL;
	char title[ALERT_TITLE_MAX + 1], shas[2][65];
	struct alerting_desc desc = { .level = d->level, .klass = d->klass, .title = title,
		.issued_ms = now, .expires_ms = d->expires_ms, .repeat = 1, .volume = 100 };
	struct alert_audio au = { 0 };
	struct alert *msg = NULL;
	size_t nareas, nnodes;
	int rc;

	title_of(d->title && *d->title ? d->title : "应急广播", title);
	rc = targets_of(r->sch, d, &areas, &nareas, &nodes, &nnodes);
	if (rc == 0)
		rc = alert_audio_speech(r->voices_dir, d->voice, d->text, r->assets_dir,
					r->cache_dir, &au, o->error, sizeof(o->error));
	if (rc < 0)
		goto out;
	desc.duration_ms = au.duration_ms;
	desc.scope = (struct alerting_scope){ .areas = areas, .nareas = nareas, .nodes = nodes,
					      .nnodes = nnodes };
	if ((rc = alerting_message(&desc, &msg)) < 0) {
		if (rc != -ENOMEM)
			snprintf(o->error, sizeof(o->error), "the targets do not fit an alert message");
		goto out;
	}
	for (size_t i = 0; i < au.n; i++)
		memcpy(shas[i], au.a[i].sha, sizeof(shas[i]));
	if ((rc = alert_set_assets(msg, (const char (*)[65])shas, au.n)) < 0)
		goto out;
	rc = alert_audio_publish(r->pub, r->st, &au, now, r->flush_ms, o->error, sizeof(o->error));
	if (rc < 0)
		goto out;
	rc = alerting_record(r->st, r->area, msg, false, (const char *const *)d->nodes, d->nnodes,
			     o->error, sizeof(o->error));
	if (rc < 0)
		goto out;
	if (approval && (rc = store_cap_decide(r->st, o->sender, o->identifier, "approved",
					       approval, msg->id, now)) < 0) {
		snprintf(o->error, sizeof(o->error), "%s", store_errmsg(r->st));
		store_alert_cancel(r->st, msg->id, now);      /* never sent */
		goto out;
	}
	/* From here the alert may be on the air: its id is the evidence. */
	snprintf(o->alert_id, sizeof(o->alert_id), "%s", msg->id);
	rc = alerting_publish(r->pub, msg, r->flush_ms);
	if (rc < 0)
		snprintf(o->error, sizeof(o->error), "the broker did not confirm alert %s: %s",
			 msg->id, strerror(-rc));
out:
	if (rc == -ENOMEM && !*o->error)
		snprintf(o->error, sizeof(o->error), "out of memory");
	alert_free(msg);
	alert_audio_free(&au);
	free(areas);
	free(nodes);
	return rc;
}

/* The alerts of message (SENDER, IDENTIFIER) and of those referencing it
 * (store_cap_alerts_of) into *IDS (malloc'd, grown as needed up to
 * CANCEL_MAX: a warning updated every hour for days has many, and the one
 * on the air is the newest). \retval 0 / -ENOENT / -ENOMEM / -errno */
#define CANCEL_MAX 4096

static int alerts_of(struct store *st, const char *sender, const char *identifier,
		     char (**ids)[STORE_OCC_MAX + 1], size_t *n)
{
	size_t max = 64;
	int rc;

	for (;;) {
		void *p = realloc(*ids, max * sizeof(**ids));

		if (!p)
			return -ENOMEM;
		*ids = p;
		rc = store_cap_alerts_of(st, sender, identifier, *ids, max, n);
		if (rc != -E2BIG)
			return rc;
		if (max == CANCEL_MAX)
			return 0;       /* the first CANCEL_MAX: a sender gone mad */
		max *= 4;
	}
}

/* Cancel what the references of M put on the air (and what messages
 * referencing them did); withdraw holds among them. Only references to
 * M's own sender are followed: a listed sender speaks for itself, and
 * must not take another's warning off the air. \retval 0 / -errno
 * (O->error) */
static int cancel_refs(struct caprun *r, const struct cap_msg *m, struct caprun_out *o,
		       int64_t now)
{
	char (*ids)[STORE_OCC_MAX + 1] = NULL, why[300];
	size_t foreign = 0;
	int rc = 0;

	snprintf(why, sizeof(why), "withdrawn by %s %s", m->msg_type, m->identifier);
	for (size_t i = 0; i < m->nrefs && rc != -ENOMEM; i++) {
		const struct cap_ref *ref = &m->refs[i];
		size_t n = 0;
		int a;

		if (strcmp(ref->sender, m->sender)) {
			foreign++;
			continue;
		}
		a = alerts_of(r->st, ref->sender, ref->identifier, &ids, &n);
		if (a == -ENOENT)
			continue;
		if (a < 0) {
			snprintf(o->error, sizeof(o->error), "cannot read what %.100s put on the air: %s",
				 ref->identifier, a == -ENOMEM ? "out of memory" : store_errmsg(r->st));
			rc = a;
			continue;
		}
		/* A hold among them never plays now. */
		(void)store_cap_decide(r->st, ref->sender, ref->identifier, "expired", why, NULL, now);
		for (size_t k = 0; k < n; k++) {
			int c = alerting_cancel(r->st, r->pub, ids[k], now, r->flush_ms, o->error,
						sizeof(o->error));

			if (c < 0)
				rc = c;
			else if (c == 0 && o->ncancelled < CAPRUN_MAX_CANCEL)
				memcpy(o->cancelled[o->ncancelled++], ids[k], sizeof(ids[k]));
		}
	}
	free(ids);
	if (foreign) {
		size_t l = strlen(o->d.reason);

		snprintf(o->d.reason + l, sizeof(o->d.reason) - l, "; %zu reference%s to another "
			 "sender's message not followed", foreign, foreign == 1 ? "" : "s");
	}
	return rc;
}

/* What the decision in O says, done, and its outcome recorded.
 * \retval 0 / -EAGAIN (O->error) */
static int act(struct caprun *r, const struct cap_msg *m, struct caprun_out *o, int64_t now)
{
	enum cap_what w = o->d.what;
	char reason[CAP_REASON_MAX + 400];
	int rc = 0;

	if (w == CAP_CANCEL || w == CAP_UPDATE)
		rc = cancel_refs(r, m, o, now);
	if (rc == 0 && (w == CAP_BROADCAST || w == CAP_UPDATE))
		rc = issue(r, o, now, NULL);
	if (rc < 0) {
		snprintf(reason, sizeof(reason), NOT_SENT "%s", o->error);
		ev_outcome(r, o, reason, now);
		return -EAGAIN;
	}
	if (w == CAP_CANCEL && o->ncancelled) {
		size_t l = (size_t)snprintf(reason, sizeof(reason), "%s; cancelled", o->d.reason);

		for (size_t i = 0; i < o->ncancelled && l < sizeof(reason); i++)
			l += (size_t)snprintf(reason + l, sizeof(reason) - l, " %s", o->cancelled[i]);
	} else {
		snprintf(reason, sizeof(reason), "%s", o->d.reason);
	}
	ev_outcome(r, o, reason, now);
	return 0;
}

/* ---- a document ---- */

/* Can S be a key of the store (store_cap_add): at most STORE_CAP_ID_MAX
 * bytes of UTF-8 without control characters? Checked before anything is
 * looked up, so that a longer one is never cut into another's key. */
static bool key_fits(const char *s)
{
	size_t n = strlen(s);

	if (n > STORE_CAP_ID_MAX || utf8_invalid_at(s, n) >= 0)
		return false;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

/* The key of O: the message's sender and identifier when M parsed and
 * they can be a key, else the document's bytes (store_cap_anon). */
static void identity(struct caprun_out *o, const struct cap_msg *m, const char *buf, size_t len)
{
	char hex[CX_SHA256_HEX];

	if (m)
		snprintf(o->msg_type, sizeof(o->msg_type), "%s", m->msg_type);
	if (m && key_fits(m->sender) && key_fits(m->identifier)) {
		snprintf(o->sender, sizeof(o->sender), "%s", m->sender);
		snprintf(o->identifier, sizeof(o->identifier), "%s", m->identifier);
		return;
	}
	cx_sha256_hex(buf, len, hex);
	snprintf(o->identifier, sizeof(o->identifier), "sha256:%s", hex);
}

/* An Update that puts nothing on the air here (an all-clear with urgency
 * Past, areas that no longer hold a pole, a rule that ignores it) still
 * replaces what it updates: that comes off the air. */
static void superseded(const struct cap_msg *m, struct cap_decision *d)
{
	char why[CAP_REASON_MAX];

	if (strcmp(m->msg_type, "Update") || d->what != CAP_IGNORE || !m->nrefs ||
	    !strcmp(m->status, "Draft") || !strcmp(m->status, "System"))
		return;                 /* not actionable: decide.h ignores it */
	snprintf(why, sizeof(why), "%s", d->reason);
	d->what = CAP_CANCEL;
	snprintf(d->reason, sizeof(d->reason), "an update that plays nothing here (%.200s): what "
		 "it updates comes off the air", why);
}

/* A message that would play, replaced before it arrived by a Cancel or
 * Update of its sender that came first: it never plays. \retval 0 / -EIO */
static int overtaken(struct caprun *r, const struct cap_msg *m, struct cap_decision *d)
{
	char by[STORE_CAP_ID_MAX + 1], type[16];
	int rc;

	if (d->what != CAP_BROADCAST && d->what != CAP_UPDATE && d->what != CAP_HOLD)
		return 0;
	rc = store_cap_superseded(r->st, m->sender, m->identifier, by, type);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return -EIO;
	d->what = CAP_IGNORE;
	snprintf(d->reason, sizeof(d->reason), "the %s %.200s that references it came first: it "
		 "does not play", type, by);
	return 0;
}

/* The message of O arrived before. A document that differs under the same
 * key is kept too, as a rejected anonymous one: nothing said vanishes.
 * \retval 0 */
static int duplicate(struct caprun *r, struct caprun_out *o, const struct store_cap *c,
		     const char *buf, size_t len, int64_t now)
{
	void *doc = NULL;
	size_t dlen = 0;
	bool same;

	o->duplicate = o->decided = true;
	o->d.what = CAP_IGNORE;
	snprintf(o->d.reason, sizeof(o->d.reason), "already received (%s: %.200s)", c->decision,
		 c->reason);
	if (!r->pub || store_cap_get(r->st, c->sender, c->identifier, NULL, &doc, &dlen) < 0)
		return 0;
	same = dlen == len && (!len || !memcmp(doc, buf, len));
	free(doc);
	if (!same) {
		struct store_cap *n = cap_row();

		if (!n)
			return 0;
		o->d.what = CAP_REJECT;
		snprintf(o->d.reason, sizeof(o->d.reason), "identifier %.100s of %.100s reused by a "
			 "different document", c->identifier, c->sender);
		store_cap_anon(n, buf, len);
		snprintf(n->origin, sizeof(n->origin), "%s", o->origin);
		snprintf(n->decision, sizeof(n->decision), "reject");
		snprintf(n->reason, sizeof(n->reason), "%s", o->d.reason);
		n->received_ms = n->decided_ms = now;
		n->sent_ms = n->expires_ms = STORE_NONE;
		(void)store_cap_add(r->st, n, buf, len);
		free(n);
	}
	return 0;
}

int caprun_doc(struct caprun *r, const char *origin, const char *buf, size_t len, int64_t now,
	       struct caprun_out *out)
{
	struct store_cap *c = cap_row();
	struct cap_msg *m = NULL;
	char why[300];
	int rc;

	*out = (struct caprun_out){ .d = { .info = SIZE_MAX } };
	if (!c)
		return -ENOMEM;
	snprintf(out->origin, sizeof(out->origin), "%s", origin);
	rc = capmsg_parse(buf, len, &m, why, sizeof(why));
	if (rc == -ENOMEM)
		goto done;
	if (rc == -ENOENT) {
		/* The schema is not installed: the document was not judged, and
		 * kept as rejected it would stay a duplicate once it is. */
		snprintf(out->error, sizeof(out->error), "cannot check the document: %s", why);
		rc = -EIO;
		goto done;
	}
	identity(out, rc == 0 ? m : NULL, buf, len);
	if (rc < 0) {
		decide_as(&out->d, CAP_REJECT, "%s", why);
	} else if (!*out->sender) {
		/* Nothing could tell its next arrival apart, nor a reference
		 * find it: it must not play. */
		decide_as(&out->d, CAP_REJECT, "its sender or identifier cannot be kept (control "
			  "characters, not UTF-8 or longer than %d bytes)", STORE_CAP_ID_MAX);
		capmsg_free(m);
		m = NULL;
	}
	rc = store_cap_get(r->st, out->sender, out->identifier, c, NULL, NULL);
	if (rc == 0) {
		rc = duplicate(r, out, c, buf, len, now);
		goto done;
	}
	if (rc != -ENOENT) {
		snprintf(out->error, sizeof(out->error), "cannot read the store: %s",
			 store_errmsg(r->st));
		rc = -EIO;
		goto done;
	}
	if (m && (rc = trusted(r, m, buf, len, out)) < 0)
		goto done;
	if (m && rc == 0) {
		/* Untrusted, its sender and identifier are only claims: it is
		 * kept under its bytes, so that a forgery never takes the key
		 * of the genuine message that may follow. */
		size_t l = strlen(out->d.reason);

		snprintf(out->d.reason + l, sizeof(out->d.reason) - l, " (it claims identifier %.80s)",
			 m->identifier);
		out->untrusted = true;
	} else if (m && (rc = cap_decide(m, r->w, r->sch, now, &out->d)) < 0) {
		goto done;
	} else if (m) {
		superseded(m, &out->d);
		if (overtaken(r, m, &out->d) < 0) {
			snprintf(out->error, sizeof(out->error), "cannot read the store: %s",
				 store_errmsg(r->st));
			rc = -EIO;
			goto done;
		}
	}
	rc = 0;
	out->decided = true;
	if (!r->pub)
		goto done;              /* a dry run */
	rc = ev_add(r, m, out, buf, len, now);
	if (rc == -EEXIST) {            /* another process took it meanwhile */
		cap_decision_free(&out->d);
		out->d = (struct cap_decision){ .what = CAP_IGNORE, .info = SIZE_MAX };
		snprintf(out->d.reason, sizeof(out->d.reason), "already received");
		out->duplicate = true;
		rc = 0;
		goto done;
	}
	if (rc < 0) {
		snprintf(out->error, sizeof(out->error), "cannot record the message: %s",
			 rc == -ENOMEM ? "out of memory" : store_errmsg(r->st));
		rc = -EIO;
		goto done;
	}
	if (m && acts(out->d.what))
		rc = act(r, m, out, now);
done:
	free(c);
	capmsg_free(m);
	return rc;
}

/* The stored document of a message, parsed, and its row into C.
 * \retval 0 / -errno (O->error) */
static int stored_msg(struct caprun *r, const char *sender, const char *identifier,
		      struct store_cap *c, struct cap_msg **m, struct caprun_out *o)
{
	void *doc = NULL;
	size_t len = 0;
	char why[300];
	int rc = sender ? store_cap_get(r->st, sender, identifier, c, &doc, &len) :
		 store_cap_find(r->st, identifier, c, &doc, &len);

	if (rc < 0) {
		snprintf(o->error, sizeof(o->error), "%s", rc == -ENOENT ? "no such message" :
			 rc == -EEXIST ? "several senders used this identifier: name the sender" :
			 store_errmsg(r->st));
		return rc;
	}
	snprintf(o->sender, sizeof(o->sender), "%s", c->sender);
	snprintf(o->identifier, sizeof(o->identifier), "%s", c->identifier);
	snprintf(o->origin, sizeof(o->origin), "%s", c->origin);
	snprintf(o->msg_type, sizeof(o->msg_type), "%s", c->msg_type);
	rc = doc ? capmsg_parse(doc, len, m, why, sizeof(why)) : -ENOENT;
	if (rc < 0)
		snprintf(o->error, sizeof(o->error), "the stored document does not parse: %s",
			 doc ? why : "none kept");
	free(doc);
	return rc;
}

/* Decide the held message M again at NOW; put it on the air. */
static int approve(struct caprun *r, const struct cap_msg *m, const struct store_cap *c,
		   struct caprun_out *o, int64_t now)
{
	int rc;

	if (strcmp(c->decision, "hold")) {
		snprintf(o->error, sizeof(o->error), "it is not held: %s (%.200s)", c->decision,
			 c->reason);
		return -EALREADY;
	}
	if ((rc = cap_decide(m, r->w, r->sch, now, &o->d)) < 0)
		return rc;
	o->decided = true;
	if (o->d.what != CAP_HOLD) {
		snprintf(o->error, sizeof(o->error), "it no longer waits: %s (%.300s)",
			 cap_what_name(o->d.what), o->d.reason);
		if (r->pub)
			(void)store_cap_decide(r->st, o->sender, o->identifier, "expired",
					       o->d.reason, NULL, now);
		return -EALREADY;
	}
	o->d.what = strcmp(m->msg_type, "Update") ? CAP_BROADCAST : CAP_UPDATE;
	snprintf(o->d.reason, sizeof(o->d.reason), "approved by an operator");
	if (!r->pub)
		return 0;
	if (o->d.what == CAP_UPDATE && (rc = cancel_refs(r, m, o, now)) < 0)
		return -EAGAIN;
	rc = issue(r, o, now, o->d.reason);
	if (rc == -EALREADY || (rc < 0 && !*o->alert_id))
		return rc == -EALREADY ? rc : -EAGAIN;  /* not claimed: still held, try again */
	return rc < 0 ? -EAGAIN : 0;    /* claimed; the broker did not confirm (O->error) */
}

int caprun_approve(struct caprun *r, const char *sender, const char *identifier, int64_t now,
		   struct caprun_out *out)
{
	struct store_cap *c = cap_row();
	struct cap_msg *m = NULL;
	int rc = -ENOMEM;

	*out = (struct caprun_out){ .d = { .info = SIZE_MAX } };
	if (c && (rc = stored_msg(r, sender, identifier, c, &m, out)) == 0)
		rc = approve(r, m, c, out, now);
	free(c);
	capmsg_free(m);
	return rc;
}

struct retry {
	struct caprun *r;
	int64_t now;
	int done;
};

static int expire_fn(const struct store_cap *c, bool expired, void *ud)
{
	struct retry *t = ud;

	if (expired)
		(void)store_cap_decide(t->r->st, c->sender, c->identifier, "expired",
				       "expired while held for an operator", NULL, t->now);
	return 0;
}

static int unsent_fn(const struct store_cap *c, void *ud)
{
	struct retry *t = ud;
	struct caprun_out o = { .d = { .info = SIZE_MAX } };
	struct store_cap *row = cap_row();
	struct cap_msg *m = NULL;

	/* Another process (`cunxiang cap`) is acting on it now: acting too
	 * would put it on the air twice. */
	if (!strcmp(c->reason, BEING_SENT) && c->decided_ms > t->now - CLAIM_MS)
		goto out;
	if (row && stored_msg(t->r, c->sender, c->identifier, row, &m, &o) == 0 &&
	    cap_decide(m, t->r->w, t->r->sch, t->now, &o.d) == 0) {
		superseded(m, &o.d);    /* as when it arrived: an all-clear cancels */
		if (acts(o.d.what)) {
			ev_outcome(t->r, &o, BEING_SENT, t->now);
			t->done += act(t->r, m, &o, t->now) == 0;
		} else {
			ev_outcome(t->r, &o, o.d.reason, t->now);
		}
	}
out:
	capmsg_free(m);
	free(row);
	caprun_out_free(&o);
	return 0;
}

int caprun_unread(struct caprun *r, const char *origin, const char *why, int64_t now,
		  struct caprun_out *out)
{
	struct store_cap *c = cap_row();
	char key[STORE_CAP_ORIGIN_MAX + 300], hex[CX_SHA256_HEX];
	int n, rc;

	*out = (struct caprun_out){ .d = { .info = SIZE_MAX, .what = CAP_REJECT } };
	if (!c)
		return -ENOMEM;
	n = snprintf(key, sizeof(key), "unread\n%s\n%s", origin, why);
	cx_sha256_hex(key, n < (int)sizeof(key) ? (size_t)n : sizeof(key) - 1, hex);
	snprintf(out->identifier, sizeof(out->identifier), "sha256:%s", hex);
	snprintf(out->origin, sizeof(out->origin), "%s", origin);
	snprintf(out->d.reason, sizeof(out->d.reason), "not read: %.500s", why);
	out->decided = true;
	rc = 0;
	if (r->pub) {
		memcpy(c->identifier, out->identifier, sizeof(c->identifier));
		snprintf(c->origin, sizeof(c->origin), "%s", origin);
		snprintf(c->decision, sizeof(c->decision), "reject");
		snprintf(c->reason, sizeof(c->reason), "%s", out->d.reason);
		c->received_ms = c->decided_ms = now;
		c->sent_ms = c->expires_ms = STORE_NONE;
		rc = store_cap_add(r->st, c, NULL, 0);
		out->duplicate = rc == -EEXIST;
		if (rc == -EEXIST)
			rc = 0;
		else if (rc < 0)
			snprintf(out->error, sizeof(out->error), "cannot record it: %s",
				 store_errmsg(r->st));
	}
	free(c);
	return rc < 0 ? -EIO : 0;
}

int caprun_retry(struct caprun *r, int64_t now)
{
	struct retry t = { .r = r, .now = now };
	int rc;

	if (!r->pub)
		return 0;               /* a dry run changes nothing */
	rc = store_cap_held(r->st, now, expire_fn, &t);

	if (rc == 0)
		rc = store_cap_unsent(r->st, now, unsent_fn, &t);
	return rc < 0 ? rc : t.done;
}

void caprun_out_free(struct caprun_out *o)
{
	cap_decision_free(&o->d);
}

/* ---- JSON ---- */

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *caprun_json(const struct caprun_out *o)
{
	const struct cap_decision *d = &o->d;
	json_t *j = json_object(), *nodes = json_array(), *cancelled = json_array();
	bool plays = o->decided &&
		     (d->what == CAP_BROADCAST || d->what == CAP_UPDATE || d->what == CAP_HOLD);

	if (!j || !nodes || !cancelled)
		goto oom;
	for (size_t i = 0; i < d->nnodes; i++)
		json_array_append_new(nodes, json_string(d->nodes[i]));
	for (size_t i = 0; i < o->ncancelled; i++)
		json_array_append_new(cancelled, json_string(o->cancelled[i]));
	json_object_set_new(j, "identifier", str_or_null(o->identifier));
	json_object_set_new(j, "sender", json_string(o->sender));
	json_object_set_new(j, "origin", json_string(o->origin));
	json_object_set_new(j, "decision", o->decided ? json_string(cap_what_name(d->what)) :
			    json_null());
	json_object_set_new(j, "reason", o->decided ? json_string(d->reason) : json_null());
	json_object_set_new(j, "duplicate", json_boolean(o->duplicate));
	json_object_set_new(j, "untrusted", json_boolean(o->untrusted));
	json_object_set_new(j, "level", plays && d->level ? json_integer(d->level) : json_null());
	json_object_set_new(j, "class", plays ? str_or_null(d->klass) : json_null());
	json_object_set_new(j, "nodes", nodes);
	json_object_set_new(j, "voice", plays ? str_or_null(d->voice) : json_null());
	json_object_set_new(j, "text", plays ? str_or_null(d->text) : json_null());
	json_object_set_new(j, "expires_ms", plays && d->expires_ms ?
			    json_integer(d->expires_ms) : json_null());
	json_object_set_new(j, "alert_id", str_or_null(o->alert_id));
	json_object_set_new(j, "cancelled", cancelled);
	json_object_set_new(j, "error", str_or_null(o->error));
	return j;
oom:
	json_decref(j);
	json_decref(nodes);
	json_decref(cancelled);
	return NULL;
}
