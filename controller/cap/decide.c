/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decide.c -- what a CAP message does in this township: broadcast, cancel, update, hold, ignore, reject */
#include "decide.h"

#include "cxtime.h"
#include "geo.h"
#include "utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HOLD_MS   (7 * 24 * 3600 * 1000LL)  /* no alert stays on longer */
#define DESC_SHOWN    40                        /* bytes of an areaDesc in a reason */

const char *cap_what_name(enum cap_what w)
{
	switch (w) {
	case CAP_BROADCAST: return "broadcast";
	case CAP_CANCEL: return "cancel";
	case CAP_UPDATE: return "update";
	case CAP_HOLD: return "hold";
	case CAP_IGNORE: return "ignore";
	case CAP_REJECT: return "reject";
	}
	return "?";
}

/* ---- reasons ---------------------------------------------------------------- */

static void reason(struct cap_decision *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reason(struct cap_decision *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

/* Append to the reason, as far as it fits. */
static void more(struct cap_decision *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void more(struct cap_decision *d, const char *fmt, ...)
{
	size_t n = strlen(d->reason);
	va_list ap;

	if (n + 1 >= sizeof(d->reason))
		return;
	va_start(ap, fmt);
	vsnprintf(d->reason + n, sizeof(d->reason) - n, fmt, ap);
	va_end(ap);
}

/* Foreign text S as a reason may show it: one line, at most MAX bytes, cut
 * at a character, "..." when cut. */
static void shown(char *out, size_t size, const char *s, size_t max)
{
	size_t o = 0, i = 0, n = s ? strlen(s) : 0;

	if (max + 4 > size)
		max = size - 4;
	while (i < n) {
		uint32_t cp;
		size_t k = utf8_next(s + i, n - i, &cp);

		if (!k) {
			i++;
			continue;
		}
		if (o + k > max) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			out[o++] = ' ';
		} else {
			memcpy(out + o, s + i, k);
			o += k;
		}
		i += k;
	}
	out[o] = '\0';
}

/* "2020-01-01 08:00 +08:00" in the zone the command selected. */
static void when(int64_t ms, char out[64])
{
	struct tm tm;
	long off;

	cx_tz_ms_to_civil(ms, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(out, 64, "%04d-%02d-%02d %02d:%02d %c%02ld:%02ld", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, off < 0 ? '-' : '+',
		 labs(off) / 60, labs(off) % 60);
}

static const char *file_base(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : WARN_FILE;
}

/* ---- the info block ------------------------------------------------------------ */

static size_t primary_len(const char *tag)
{
	return strcspn(tag, "-");
}

/* The township's language first, then its primary subtag, then the first. */
static size_t choose_info(const struct cap_msg *m, const char *lang)
{
	size_t pl = primary_len(lang);

	for (size_t i = 0; i < m->ninfos; i++)
		if (m->infos[i].language && !strcasecmp(m->infos[i].language, lang))
			return i;
	for (size_t i = 0; i < m->ninfos; i++) {
		const char *l = m->infos[i].language;

		if (l && primary_len(l) == pl && !strncasecmp(l, lang, pl))
			return i;
	}
	return 0;
}

/* ---- rules ---------------------------------------------------------------------- */

static bool in_list(const struct warn_match *wm, const char *v)
{
	if (!wm->n)
		return true;
	for (size_t i = 0; v && i < wm->n; i++)
		if (!strcmp(wm->v[i], v))
			return true;
	return false;
}

static bool rule_matches(const struct warn_rule *r, const struct cap_msg *m,
			 const struct cap_info *in)
{
	bool cat = !r->category.n;

	for (size_t i = 0; !cat && i < in->ncategories; i++)
		cat = in_list(&r->category, in->categories[i]);
	return cat && in_list(&r->event, in->event) && in_list(&r->severity, in->severity) &&
	       in_list(&r->urgency, in->urgency) && in_list(&r->certainty, in->certainty) &&
	       in_list(&r->status, m->status);
}

static int default_level(const char *severity)
{
	static const char *const table[] = { "Extreme", "Severe", "Moderate", "Minor" };

	for (int i = 0; i < 4; i++)
		if (severity && !strcmp(severity, table[i]))
			return i + 1;
	return 0;
}

/* The rules, else the default table: sets D's level (and reason); returns
 * the action. */
static enum warn_action apply_rules(const struct cap_msg *m, const struct cap_info *in,
				    const struct warnings *w, struct cap_decision *d)
{
	const char *sev = in->severity ? in->severity : "(none)";

	for (size_t i = 0; i < w->nrules; i++) {
		const struct warn_rule *r = &w->rules[i];

		if (!rule_matches(r, m, in))
			continue;
		if (r->action == WARN_IGNORE) {
			reason(d, "rule %zu (%s:%d) ignores it", i + 1, file_base(r->pos.file), r->pos.line);
			return WARN_IGNORE;
		}
		d->level = r->level ? r->level : default_level(in->severity);
		if (!d->level) {
			reason(d, "severity %s has no default level (rule %zu, %s:%d, gives none)", sev,
			       i + 1, file_base(r->pos.file), r->pos.line);
			return WARN_IGNORE;
		}
		if (r->action == WARN_HOLD)
			reason(d, "rule %zu (%s:%d) holds it for an operator: level %d", i + 1,
			       file_base(r->pos.file), r->pos.line, d->level);
		else
			reason(d, "level %d by rule %zu (%s:%d)", d->level, i + 1,
			       file_base(r->pos.file), r->pos.line);
		return r->action;
	}
	if (in->urgency && !strcmp(in->urgency, "Past")) {
		reason(d, "urgency Past: nothing to do (default rules)");
		return WARN_IGNORE;
	}
	if (in->certainty && !strcmp(in->certainty, "Unlikely")) {
		reason(d, "certainty Unlikely: not played (default rules)");
		return WARN_IGNORE;
	}
	d->level = default_level(in->severity);
	if (!d->level) {
		reason(d, "severity %s has no default level", sev);
		return WARN_IGNORE;
	}
	reason(d, "level %d by severity %s (default rules)", d->level, sev);
	return WARN_BROADCAST;
}

/* ---- areas ------------------------------------------------------------------------ */

struct pick {
	const struct warnings *w;
	const struct schedule *sch;
	bool *on;                      /* per node of SCH */
	size_t unknown;                /* geocodes that meant nothing here */
	size_t bad;                    /* invalid polygons and circles */
	char bad_why[256];             /* the first one's */
};

static void mark_village(struct pick *p, const char *code)
{
	for (size_t i = 0; i < schedule_node_count(p->sch); i++)
		if (!strcmp(schedule_node(p->sch, i)->village_code, code))
			p->on[i] = true;
}

/* An administrative code stands for its shortest level prefix (2, 4, 6, 9
 * or 12 digits) after which only zeros follow: "640104000000" and
 * "640104" are the county 640104. \retval its length, 0 if not a code */
static size_t admin_prefix(const char *v)
{
	static const size_t levels[] = { 2, 4, 6, 9, 12 };
	size_t n = strlen(v);

	if (n < 1 || n > 12 || strspn(v, "0123456789") != n)
		return 0;
	for (size_t i = 0; i < 5 && levels[i] <= n; i++)
		if (strspn(v + levels[i], "0") == n - levels[i])
			return levels[i];
	return n;
}

static bool is_admin_scheme(const struct warnings *w, const char *name)
{
	for (size_t i = 0; name && i < w->nadmin_schemes; i++)
		if (!strcasecmp(w->admin_schemes[i], name))
			return true;
	return false;
}

static void pick_geocode(struct pick *p, const struct cap_geocode *g)
{
	const struct warnings *w = p->w;
	size_t len;

	if (!g->name || !g->value) {
		p->unknown++;
		return;
	}
	for (size_t i = 0; i < w->nareas; i++)
		if (!strcmp(w->areas[i].scheme, g->name) && !strcmp(w->areas[i].value, g->value)) {
			for (size_t k = 0; k < w->areas[i].nvillages; k++)
				mark_village(p, w->areas[i].villages[k]);
			return;
		}
	if (!is_admin_scheme(w, g->name) || !(len = admin_prefix(g->value))) {
		p->unknown++;
		return;
	}
	for (size_t i = 0; i < schedule_node_count(p->sch); i++)
		if (!strncmp(schedule_node(p->sch, i)->village_code, g->value, len))
			p->on[i] = true;
}

static void bad_shape(struct pick *p, const char *what, size_t k, const struct cap_area *a,
		      const char *why)
{
	char desc[DESC_SHOWN + 4], clean_why[128];

	if (p->bad++)
		return;
	shown(desc, sizeof(desc), a->desc, DESC_SHOWN);
	shown(clean_why, sizeof(clean_why), why, sizeof(clean_why) - 4);
	snprintf(p->bad_why, sizeof(p->bad_why), "%s %zu of area '%s': %s", what, k + 1, desc,
		 clean_why);
}

static void pick_shapes(struct pick *p, const struct cap_area *a)
{
	size_t nn = schedule_node_count(p->sch);
	char why[120];

	for (size_t k = 0; k < a->npolygons; k++) {
		struct geo_polygon g;

		if (geo_polygon_parse(a->polygons[k], &g, why, sizeof(why)) < 0) {
			bad_shape(p, "polygon", k, a, why);
			continue;
		}
		for (size_t i = 0; i < nn; i++) {
			const struct schedule_node *n = schedule_node(p->sch, i);

			if (n->has_location && geo_in_polygon(&g, (struct geo_point){ n->lat, n->lon }))
				p->on[i] = true;
		}
		geo_polygon_free(&g);
	}
	for (size_t k = 0; k < a->ncircles; k++) {
		struct geo_circle c;

		if (geo_circle_parse(a->circles[k], &c, why, sizeof(why)) < 0) {
			bad_shape(p, "circle", k, a, why);
			continue;
		}
		for (size_t i = 0; i < nn; i++) {
			const struct schedule_node *n = schedule_node(p->sch, i);

			if (n->has_location && geo_in_circle(&c, (struct geo_point){ n->lat, n->lon }))
				p->on[i] = true;
		}
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The poles the block's areas hold, into D (sorted, unique). */
static int pick_nodes(struct pick *p, const struct cap_info *in, struct cap_decision *d)
{
	size_t nn = schedule_node_count(p->sch), k = 0;

	p->on = calloc(nn ? nn : 1, sizeof(*p->on));
	if (!p->on)
		return -ENOMEM;
	for (size_t a = 0; a < in->nareas; a++) {
		for (size_t g = 0; g < in->areas[a].ngeocodes; g++)
			pick_geocode(p, &in->areas[a].geocodes[g]);
		pick_shapes(p, &in->areas[a]);
	}
	for (size_t i = 0; i < nn; i++)
		d->nnodes += p->on[i];
	d->nodes = calloc(d->nnodes ? d->nnodes : 1, sizeof(*d->nodes));
	if (!d->nodes)
		return -ENOMEM;
	for (size_t i = 0, j = 0; i < nn; i++)
		if (p->on[i] && !(d->nodes[j++] = strdup(schedule_node(p->sch, i)->id)))
			return -ENOMEM;
	qsort(d->nodes, d->nnodes, sizeof(*d->nodes), cmp_str);
	/* Ids are unique in a valid fleet; keep the promise whatever the model. */
	for (size_t i = 0; i < d->nnodes; i++) {
		if (k && !strcmp(d->nodes[i], d->nodes[k - 1]))
			free(d->nodes[i]);
		else
			d->nodes[k++] = d->nodes[i];
	}
	d->nnodes = k;
	return 0;
}

/* "no pole of the fleet is in the areas (2 areas: 'A', 'B')". */
static void no_pole(struct cap_decision *d, const struct cap_info *in, size_t unknown)
{
	reason(d, "no pole of the fleet is in the areas (%zu area%s", in->nareas,
	       in->nareas == 1 ? "" : "s");
	for (size_t a = 0; a < in->nareas && a < 3; a++) {
		char desc[DESC_SHOWN + 4];

		shown(desc, sizeof(desc), in->areas[a].desc, DESC_SHOWN);
		more(d, "%s'%s'", a ? ", " : ": ", desc);
	}
	more(d, "%s)", in->nareas > 3 ? ", ..." : "");
	if (unknown)
		more(d, "; %zu geocode%s of unknown schemes", unknown, unknown == 1 ? "" : "s");
}

/* ---- the decision ----------------------------------------------------------------- */

/* Status and msgType. \retval true: decided (D filled) */
static bool decide_kind(const struct cap_msg *m, struct cap_decision *d)
{
	const char *st = m->status ? m->status : "(none)", *mt = m->msg_type ? m->msg_type : "(none)";

	if (!strcmp(mt, "Ack") || !strcmp(mt, "Error")) {
		reason(d, "msgType %s: nothing to play", mt);
		return true;
	}
	if (!strcmp(st, "System") || !strcmp(st, "Draft")) {
		reason(d, "status %s never plays", st);
		return true;
	}
	if (!strcmp(st, "Actual"))
		d->klass = "actual";
	else if (!strcmp(st, "Exercise"))
		d->klass = "drill";
	else if (!strcmp(st, "Test"))
		d->klass = "test";
	else {
		d->what = CAP_REJECT;
		reason(d, "status %s is not a CAP 1.2 status", st);
		return true;
	}
	if (strcmp(mt, "Alert") && strcmp(mt, "Update") && strcmp(mt, "Cancel")) {
		d->what = CAP_REJECT;
		reason(d, "msgType %s is not a CAP 1.2 msgType", mt);
		return true;
	}
	return false;
}

/* An Update that leaves nothing to play ends what it updates. */
static void cancel_refs(const struct cap_msg *m, struct cap_decision *d, const char *why)
{
	d->klass = NULL;
	d->level = 0;
	if (!m->nrefs) {
		d->what = CAP_REJECT;
		reason(d, "%s, and it references nothing to cancel", why);
		return;
	}
	d->what = CAP_CANCEL;
	reason(d, "%s: cancels the %zu message%s it updates", why, m->nrefs, m->nrefs == 1 ? "" : "s");
}

/* The expiry of block IN, capped; false when it is over (D decided). */
static bool decide_expiry(const struct cap_msg *m, const struct cap_info *in,
			  const struct warnings *w, int64_t now, struct cap_decision *d)
{
	char t[64];

	if (in->expires_ms != CAP_NO_TIME && in->expires_ms <= now) {
		when(in->expires_ms, t);
		if (!strcmp(m->msg_type, "Update")) {
			char why[96];

			snprintf(why, sizeof(why), "expired at %s", t);
			cancel_refs(m, d, why);
		} else {
			d->klass = NULL;
			reason(d, "expired at %s", t);
		}
		return false;
	}
	if (in->expires_ms == CAP_NO_TIME && m->sent_ms + w->default_expires_ms <= now) {
		/* Without an end of its own, a warning lasts the default from
		 * when it was sent: an old one replayed never plays again. */
		when(m->sent_ms, t);
		if (!strcmp(m->msg_type, "Update")) {
			cancel_refs(m, d, "sent too long ago to play");
		} else {
			d->klass = NULL;
			reason(d, "sent at %s without an expiry: older than warnings.yaml's expires",
			       t);
		}
		return false;
	}
	d->expires_ms = in->expires_ms != CAP_NO_TIME ? in->expires_ms :
			m->sent_ms + w->default_expires_ms;
	if (d->expires_ms > now + MAX_HOLD_MS)
		d->expires_ms = now + MAX_HOLD_MS;
	return true;
}

/* Voice, title and text of block IN. \retval 0 / -ENOMEM */
static int fill_speech(const struct cap_info *in, const struct warnings *w,
		       struct cap_decision *d)
{
	const char *v = in->language ? warnings_voice(w, in->language) : NULL;
	const char *event = in->event ? in->event : "";

	if (!v)
		v = warnings_voice(w, w->language);
	d->voice = strdup(v ? v : "mandarin");
	d->title = strdup(in->headline && *in->headline ? in->headline : event);
	d->text = cap_speech_text(in, w->max_text);
	if (d->text && !*d->text) {
		free(d->text);
		d->text = strdup(event);
	}
	return d->voice && d->title && d->text ? 0 : -ENOMEM;
}

/* The areas of IN into D. \retval 0 / 1 nothing selected (D decided) / -ENOMEM */
static int decide_areas(const struct cap_info *in,
			const struct warnings *w, const struct schedule *sch,
			struct cap_decision *d, char *note, size_t notelen)
{
	struct pick p = { .w = w, .sch = sch };
	int e = pick_nodes(&p, in, d);

	free(p.on);
	if (e < 0)
		return e;
	if (!d->nnodes && p.bad) {
		d->what = CAP_REJECT;
		reason(d, "invalid area, nothing else selects a pole: %s", p.bad_why);
		return 1;
	}
	if (!d->nnodes) {
		no_pole(d, in, p.unknown);
		return 1;
	}
	if (p.bad)
		snprintf(note, notelen, "; ignored %zu invalid shape%s (%s)", p.bad,
			 p.bad == 1 ? "" : "s", p.bad_why);
	return 0;
}

static void clear_play(struct cap_decision *d)
{
	d->klass = NULL;
	d->level = 0;
	for (size_t i = 0; i < d->nnodes; i++)
		free(d->nodes[i]);
	free(d->nodes);
	d->nodes = NULL;
	d->nnodes = 0;
}

static int decide_block(const struct cap_msg *m, const struct warnings *w,
			const struct schedule *sch, int64_t now, struct cap_decision *d)
{
	const struct cap_info *in = &m->infos[d->info];
	bool update = !strcmp(m->msg_type, "Update");
	char note[320] = "", t[64];
	enum warn_action act;
	int e;

	if (!decide_expiry(m, in, w, now, d))
		return 0;
	act = apply_rules(m, in, w, d);
	if (act == WARN_IGNORE) {
		clear_play(d);
		return 0;
	}
	e = decide_areas(in, w, sch, d, note, sizeof(note));
	if (e != 0) {
		clear_play(d);
		return e < 0 ? e : 0;
	}
	if ((e = fill_speech(in, w, d)) < 0)
		return e;
	d->what = act == WARN_HOLD ? CAP_HOLD : update ? CAP_UPDATE : CAP_BROADCAST;
	more(d, ", %zu pole%s", d->nnodes, d->nnodes == 1 ? "" : "s");
	if (update)
		more(d, ", updating %zu message%s", m->nrefs, m->nrefs == 1 ? "" : "s");
	/* A warning issued is meant to be heard when it is issued: an onset
	 * ahead is announced now, in the words of the warning. */
	if (in->onset_ms != CAP_NO_TIME && in->onset_ms > now) {
		when(in->onset_ms, t);
		more(d, "; onset %s is ahead, announced now", t);
	} else if (in->effective_ms != CAP_NO_TIME && in->effective_ms > now) {
		when(in->effective_ms, t);
		more(d, "; effective %s is ahead, announced now", t);
	}
	more(d, "%s", note);
	return 0;
}

int cap_decide(const struct cap_msg *m, const struct warnings *w, const struct schedule *sch,
	       int64_t now_ms, struct cap_decision *out)
{
	int e;

	memset(out, 0, sizeof(*out));
	out->what = CAP_IGNORE;
	out->info = SIZE_MAX;
	if (decide_kind(m, out))
		return 0;
	if (!strcmp(m->msg_type, "Cancel")) {
		out->klass = NULL;
		if (!m->nrefs) {
			out->what = CAP_REJECT;
			reason(out, "a Cancel that references nothing");
		} else {
			out->what = CAP_CANCEL;
			reason(out, "a Cancel of %zu earlier message%s", m->nrefs, m->nrefs == 1 ? "" : "s");
		}
		return 0;
	}
	if (!m->ninfos) {
		if (!strcmp(m->msg_type, "Update")) {
			cancel_refs(m, out, "an Update with no info block");
		} else {
			out->klass = NULL;
			reason(out, "no info block");
		}
		return 0;
	}
	out->info = choose_info(m, w->language);
	e = decide_block(m, w, sch, now_ms, out);
	if (e < 0) {
		cap_decision_free(out);
		out->what = CAP_IGNORE;
		reason(out, "out of memory");
		return e;
	}
	if (out->what == CAP_IGNORE || out->what == CAP_REJECT || out->what == CAP_CANCEL) {
		out->klass = NULL;
		out->level = 0;
	}
	return 0;
}

void cap_decision_free(struct cap_decision *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nnodes; i++)
		free(d->nodes[i]);
	free(d->nodes);
	free((char *)d->voice);
	free(d->title);
	free(d->text);
	d->nodes = NULL;
	d->nnodes = 0;
	d->voice = NULL;
	d->title = NULL;
	d->text = NULL;
}

/* ---- the spoken text ------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_cp(struct sbuf *b, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sb_put(b, u, n);
}

/* The entity at S (after '&'): its character and *USED bytes with the
 * ';', or 0 when S is no entity we know (the '&' is then kept). */
static uint32_t entity(const char *s, size_t *used)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} named[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
		{ "apos;", '\'' }, { "nbsp;", 0xa0 },
	};
	uint32_t v = 0;
	size_t i = 1, digits = 0;
	bool hex;

	for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++)
		if (!strncmp(s, named[k].name, strlen(named[k].name))) {
			*used = strlen(named[k].name);
			return named[k].cp;
		}
	if (s[0] != '#')
		return 0;
	hex = s[1] == 'x' || s[1] == 'X';
	i += hex;
	for (; digits < 8; i++, digits++) {
		char c = s[i];
		int dv = c >= '0' && c <= '9' ? c - '0' : !hex ? -1 :
			 c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (dv < 0)
			break;
		v = v * (hex ? 16 : 10) + (uint32_t)dv;
	}
	if (!digits || s[i] != ';' || !v || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*used = i + 1;
	return v;
}

static bool space_cp(uint32_t cp)
{
	return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0xa0 || cp == 0x3000 ||
	       (cp >= 0x2000 && cp <= 0x200b) || cp == 0x202f || cp == 0x205f || cp == 0xfeff;
}

static bool control_cp(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

/* A tag starts here: '<' then a letter, '/', '!' or '?', closed by '>'.
 * \retval the bytes to skip, or 0 */
static size_t tag_len(const char *s)
{
	const char *gt;
	char c = s[1];

	if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '/' || c == '!' || c == '?'))
		return 0;
	gt = strchr(s, '>');
	return gt ? (size_t)(gt - s) + 1 : 0;
}

/* S without markup, control characters and runs of white space, into B. */
static void clean(const char *s, struct sbuf *b)
{
	size_t n = strlen(s), i = 0, k;
	bool pending = false, started = false;
	uint32_t cp;

	while (i < n) {
		if (s[i] == '<' && (k = tag_len(s + i))) {
			pending = started; /* <br/>, </p>: a word break */
			i += k;
			continue;
		}
		if (s[i] == '&' && (cp = entity(s + i + 1, &k))) {
			i += 1 + k;
		} else if (!(k = utf8_next(s + i, n - i, &cp))) {
			i++; /* not UTF-8: dropped */
			continue;
		} else {
			i += k;
		}
		if (space_cp(cp)) {
			pending = started;
		} else if (!control_cp(cp)) {
			if (pending)
				sb_put(b, " ", 1);
			pending = false;
			started = true;
			sb_cp(b, cp);
		}
	}
}

static bool cjk_cp(uint32_t cp)
{
	return (cp >= 0x2e80 && cp <= 0x9fff) || (cp >= 0xac00 && cp <= 0xd7af) ||
	       (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
	       (cp >= 0xff00 && cp <= 0xffef) || (cp >= 0x20000 && cp <= 0x3ffff);
}

static bool mark_cp(uint32_t cp)
{
	return cp == '.' || cp == '!' || cp == '?' || cp == 0x3002 || cp == 0xff01 || cp == 0xff1f;
}

/* The last character of B. */
static uint32_t last_cp(const struct sbuf *b)
{
	size_t i = b->n;
	uint32_t cp = 0;

	while (i > 0 && ((unsigned char)b->p[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0)
		i--;
	utf8_next(b->p + i, b->n - i, &cp);
	return cp;
}

/* Cut B to MAX characters: at the end of the last sentence within them if
 * that keeps at least half, else at the limit. */
static void cut(struct sbuf *b, size_t max)
{
	size_t i = 0, chars = 0, mark_end = 0, mark_chars = 0;
	uint32_t cp;

	while (i < b->n && chars < max) {
		size_t k = utf8_next(b->p + i, b->n - i, &cp);

		if (!k)
			break; /* cannot happen: B is built of whole characters */
		i += k;
		chars++;
		/* A Latin '.' ends a sentence before a space or at the end, not in 3.5. */
		if (mark_cp(cp) && (cp > 0x7f || i == b->n || b->p[i] == ' ')) {
			mark_end = i;
			mark_chars = chars;
		}
	}
	if (i >= b->n)
		return;
	if (mark_chars && mark_chars * 2 >= max)
		i = mark_end;
	while (i > 0 && b->p[i - 1] == ' ')
		i--;
	b->n = i;
	b->p[i] = '\0';
}

char *cap_speech_text(const struct cap_info *in, size_t max_chars)
{
	const char *parts[] = { in->headline, in->description, in->instruction };
	struct sbuf b = { 0 };

	sb_put(&b, "", 0);
	for (size_t i = 0; i < 3; i++) {
		struct sbuf part = { 0 };

		if (!parts[i])
			continue;
		clean(parts[i], &part);
		if (part.oom)
			b.oom = true;
		if (part.n && b.n) {
			uint32_t cp = last_cp(&b);

			if (mark_cp(cp))
				sb_put(&b, " ", 1);
			else if (cjk_cp(cp))
				sb_put(&b, "。", strlen("。"));
			else
				sb_put(&b, ". ", 2);
		}
		if (part.n)
			sb_put(&b, part.p, part.n);
		free(part.p);
	}
	if (b.oom) {
		free(b.p);
		errno = ENOMEM;
		return NULL;
	}
	cut(&b, max_chars);
	return b.p;
}
