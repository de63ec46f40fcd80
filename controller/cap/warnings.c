/* SPDX-License-Identifier: GPL-2.0-or-later */
/* warnings.c -- warnings.yaml: which CAP warnings go on the air, where, at what level, in which voice */
#define _GNU_SOURCE /* memmem */
#include "warnings.h"

#include "cap.h"
#include "cxtime.h"
#include "fileio.h"
#include "vec.h"
#include "ydoc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define DEFAULT_LANGUAGE    "zh-CN"
#define DEFAULT_MAX_TEXT    500
#define MIN_MAX_TEXT        50
#define MAX_MAX_TEXT        5000
#define DEFAULT_EXPIRES_MS  (3600 * 1000LL)
#define MIN_EXPIRES_MS      (60 * 1000LL)
#define MAX_EXPIRES_MS      (7 * 24 * 3600 * 1000LL)
#define DEFAULT_INTERVAL_MS (60 * 1000LL)
#define MIN_INTERVAL_MS     (5 * 1000LL)
#define MAX_INTERVAL_MS     (24 * 3600 * 1000LL)
#define DEFAULT_TIMEOUT_MS  (10 * 1000LL)
#define MIN_TIMEOUT_MS      1000LL
#define MAX_TIMEOUT_MS      (10 * 60 * 1000LL)
#define MIN_MAX_BYTES       1024L
#define MAX_MAX_BYTES       (16L << 20)
#define MAX_URL             2048
#define MAX_SENDER          255
#define MAX_PEM_BYTES       (1u << 20)
#define MAX_VALUE           200     /* bytes of a scheme, value or event */

/* The model and everything it points to, freed together. */
struct wown {
	struct warnings pub;           /* first: warnings_free() casts back */
	char *file;                    /* how the file is shown; positions point here */
	void **mem;
	size_t nmem, capmem;
	bool oom;
};

/* While loading. */
struct wload {
	struct wown *o;
	struct ydoc *y;
	const char *dir;
	const struct schedule *fleet;
};

static const char *const default_schemes[] = {
	"ADMIN_CODE", "AdminCode", "administrative_code", "GB/T 2260", "GB2260", "行政区划代码",
};

static const struct warn_voice default_voices[] = {
	{ "zh", "mandarin" },  { "zh-CN", "mandarin" },   { "zh-Hans", "mandarin" },
	{ "cmn", "mandarin" }, { "yue", "cantonese" },    { "zh-HK", "cantonese" },
	{ "zh-Yue", "cantonese" }, { "hak", "hakka" },
};

/* The words CAP 1.2 allows, NULL-terminated; what a rule may match. */
static const char *const cap_categories[] = {
	"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
	"Infra", "CBRNE", "Other", NULL
};
static const char *const cap_severities[] = { "Extreme", "Severe", "Moderate", "Minor", "Unknown", NULL };
static const char *const cap_urgencies[] = { "Immediate", "Expected", "Future", "Past", "Unknown", NULL };
static const char *const cap_certainties[] = { "Observed", "Likely", "Possible", "Unlikely", "Unknown", NULL };
static const char *const cap_statuses[] = { "Actual", "Exercise", "System", "Test", "Draft", NULL };

/* ---- memory ----------------------------------------------------------------- */

static void *keep(struct wown *o, void *p)
{
	if (!p) {
		o->oom = true;
		return NULL;
	}
	if (!vec_grow((void **)&o->mem, &o->capmem, o->nmem + 1, sizeof(*o->mem))) {
		free(p);
		o->oom = true;
		return NULL;
	}
	o->mem[o->nmem++] = p;
	return p;
}

static const char *sdup(struct wown *o, const char *s)
{
	return keep(o, strdup(s));
}

static void *zalloc(struct wown *o, size_t n, size_t size)
{
	return keep(o, calloc(n ? n : 1, size));
}

static struct schedule_pos pos_of(const struct wload *L, const yaml_node_t *n)
{
	struct schedule_pos p = { L->o->file, 1, 1 };

	if (n) {
		p.line = ydoc_line(n);
		p.col = ydoc_col(n);
	}
	return p;
}

/* ---- small checks -------------------------------------------------------- */

static bool printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n < 1 || n > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* An RFC 3066 tag: 1-8 letters, then "-" and 1-8 letters or digits, again. */
static bool language_ok(const char *s)
{
	size_t run = 0;
	bool first = true;

	for (const char *p = s;; p++) {
		bool letter = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
		bool digit = *p >= '0' && *p <= '9';

		if (*p == '-' || !*p) {
			if (run < 1 || run > 8)
				return false;
			if (!*p)
				return true;
			run = 0;
			first = false;
		} else if (letter || (digit && !first)) {
			run++;
		} else {
			return false;
		}
	}
}

/* A voice profile name: 1 to 32 of A-Z a-z 0-9 - _. */
static bool voice_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 32)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

static bool code12_ok(const char *s)
{
	return strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

/* A duration at N within [MIN, MAX] into *MS; WHAT names it. */
static bool duration(struct wload *L, yaml_node_t *n, const char *what, int64_t min, int64_t max,
		     const char *range, int64_t *ms)
{
	const char *s = ydoc_str(L->y, n, what);
	int64_t v;

	if (!s)
		return false;
	if (cx_parse_duration(s, &v) < 0) {
		ydoc_error(L->y, n, "%s must be a duration such as 90s, 30m or 2h, not '%s'", what, s);
		return false;
	}
	if (v < min || v > max) {
		ydoc_error(L->y, n, "%s must be %s, not %s", what, range, s);
		return false;
	}
	*ms = v;
	return true;
}

/* A path of the file resolved against the schedules directory. */
static const char *resolve(struct wload *L, const char *path)
{
	if (path[0] == '/')
		return sdup(L->o, path);
	return keep(L->o, fio_join(L->dir, path));
}

/* ---- lists of values -------------------------------------------------------- */

/* Checks one value of a list; false: reported, left out. */
typedef bool (*item_ok_fn)(struct wload *L, yaml_node_t *n, const char *text, const void *ctx);

/* N: a single value or a list of up to MAX; the values that pass OK (may
 * be NULL) into *OUT. Returns how many. */
static size_t str_list(struct wload *L, yaml_node_t *n, const char *what, size_t max,
		       item_ok_fn ok, const void *ctx, const char *const **out)
{
	size_t len = ydoc_is_seq(n) ? ydoc_seq_len(n) : 1, k = 0;
	const char **v;

	*out = NULL;
	if (!ydoc_is_scalar(n) && !ydoc_is_seq(n)) {
		ydoc_error(L->y, n, "%s must be a value or a list of values, not a mapping", what);
		return 0;
	}
	if (len > max) {
		ydoc_error(L->y, n, "%s lists %zu entries; at most %zu are allowed", what, len, max);
		return 0;
	}
	v = zalloc(L->o, len, sizeof(*v));
	if (!v)
		return 0;
	for (size_t i = 0; i < len; i++) {
		yaml_node_t *it = ydoc_is_seq(n) ? ydoc_seq_at(L->y, n, i) : n;
		const char *t = ydoc_str(L->y, it, what);

		if (t && (!ok || ok(L, it, t, ctx)) && (v[k] = sdup(L->o, t)))
			k++;
	}
	*out = v;
	return k;
}

/* A list of mappings under KEY of ROOT, each passed to FN. */
static void each_map(struct wload *L, yaml_node_t *root, const char *key, const char *one,
		     void (*fn)(struct wload *L, yaml_node_t *m, size_t i))
{
	yaml_node_t *n = ydoc_get(L->y, root, key);

	if (!n)
		return;
	if (!ydoc_is_seq(n)) {
		ydoc_error(L->y, n, "%s must be a list of mappings", key);
		return;
	}
	if (ydoc_seq_len(n) > WARN_MAX_ITEMS) {
		ydoc_error(L->y, n, "%s lists %zu entries; at most %d are allowed", key,
			   ydoc_seq_len(n), WARN_MAX_ITEMS);
		return;
	}
	for (size_t i = 0; i < ydoc_seq_len(n) && !L->o->oom; i++) {
		yaml_node_t *m = ydoc_seq_at(L->y, n, i);

		if (!ydoc_is_map(m))
			ydoc_error(L->y, m, "each entry of %s must be a mapping (%s)", key, one);
		else
			fn(L, m, i);
	}
}

/* ---- sources ------------------------------------------------------------------ */

static bool url_ok(const char *s)
{
	size_t n = strlen(s), skip;

	if (!strncasecmp(s, "http://", 7))
		skip = 7;
	else if (!strncasecmp(s, "https://", 8))
		skip = 8;
	else
		return false;
	if (n > MAX_URL || !s[skip] || s[skip] == '/')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static void source_url(struct wload *L, yaml_node_t *m, yaml_node_t *v, struct warn_source *src)
{
	const char *s = ydoc_str(L->y, v, "url");
	yaml_node_t *n;
	long b;

	if (!s)
		return;
	if (!url_ok(s)) {
		ydoc_error(L->y, v, "url must be http:// or https:// and a host, without spaces, at most %d bytes, not '%s'",
			   MAX_URL, s);
		return;
	}
	src->is_url = true;
	src->url = sdup(L->o, s);
	src->interval_ms = DEFAULT_INTERVAL_MS;
	src->timeout_ms = DEFAULT_TIMEOUT_MS;
	src->max_bytes = CAP_MAX_BYTES;
	if ((n = ydoc_get(L->y, m, "interval")) &&
	    !duration(L, n, "interval", MIN_INTERVAL_MS, MAX_INTERVAL_MS, "from 5s to 24h", &src->interval_ms))
		src->url = NULL;
	if ((n = ydoc_get(L->y, m, "timeout")) &&
	    !duration(L, n, "timeout", MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, "from 1s to 10m", &src->timeout_ms))
		src->url = NULL;
	if ((n = ydoc_get(L->y, m, "max_bytes"))) {
		if (ydoc_long(L->y, n, MIN_MAX_BYTES, MAX_MAX_BYTES, "max_bytes", &b))
			src->max_bytes = (size_t)b;
		else
			src->url = NULL;
	}
}

static void source_dir(struct wload *L, yaml_node_t *v, struct warn_source *src)
{
	const char *s = ydoc_str(L->y, v, "dir"), *path;
	struct stat st;

	if (!s)
		return;
	if (!printable(s, 4096)) {
		ydoc_error(L->y, v, "dir must be a directory's path");
		return;
	}
	path = resolve(L, s);
	if (!path)
		return;
	if (stat(path, &st) < 0) {
		ydoc_error(L->y, v, "source directory '%s' cannot be watched: %s", s, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		ydoc_error(L->y, v, "source directory '%s' is not a directory", s);
		return;
	}
	src->dir = path;
}

static void load_source(struct wload *L, yaml_node_t *m, size_t i)
{
	static const char *const dir_keys[] = { "dir", NULL };
	static const char *const url_keys[] = { "url", "interval", "timeout", "max_bytes", NULL };
	struct warn_source *src = (struct warn_source *)&L->o->pub.sources[L->o->pub.nsources];
	yaml_node_t *d = ydoc_get(L->y, m, "dir"), *u = ydoc_get(L->y, m, "url");

	(void)i;
	memset(src, 0, sizeof(*src));
	src->pos = pos_of(L, m);
	if (!d == !u) {
		ydoc_error(L->y, m, "a source needs exactly one of dir: (a directory to watch) and url: (a document or feed to poll)");
		return;
	}
	if (ydoc_map_check(L->y, m, d ? dir_keys : url_keys, d ? "a dir source" : "a url source") > 0)
		return;
	if (d)
		source_dir(L, d, src);
	else
		source_url(L, m, u, src);
	if (src->dir || src->url)
		L->o->pub.nsources++;
}

/* ---- senders ------------------------------------------------------------------ */

static bool anchor_ok(struct wload *L, yaml_node_t *n, const char *text, const void *ctx)
{
	const char *path = resolve(L, text);
	char *buf = NULL;
	size_t len;
	struct stat st;
	int e;

	(void)ctx;
	if (!path)
		return false;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		ydoc_error(L->y, n, "trust anchor '%s' is not a file", text);
		return false;
	}
	e = fio_read_all(path, MAX_PEM_BYTES, &buf, &len);
	if (e < 0) {
		ydoc_error(L->y, n, "trust anchor '%s' cannot be read: %s", text,
			   e == -EFBIG ? "larger than 1 MiB" : strerror(-e));
		return false;
	}
	if (!memmem(buf, len, "-----BEGIN CERTIFICATE-----", 27)) {
		ydoc_error(L->y, n, "trust anchor '%s' holds no PEM certificate (-----BEGIN CERTIFICATE-----)", text);
		free(buf);
		return false;
	}
	free(buf);
	return true;
}

static void load_sender(struct wload *L, yaml_node_t *m, size_t i)
{
	static const char *const keys[] = { "sender", "signature", "trust", NULL };
	struct wown *o = L->o;
	struct warn_sender *sd = (struct warn_sender *)&o->pub.senders[o->pub.nsenders];
	yaml_node_t *v;
	const char *s;
	size_t wanted = 0;
	bool bad;

	(void)i;
	memset(sd, 0, sizeof(*sd));
	sd->pos = pos_of(L, m);
	/* A misspelt signature: must not leave a sender trusted unsigned. */
	bad = ydoc_map_check(L->y, m, keys, "a sender") > 0;
	if (!(v = ydoc_get(L->y, m, "sender"))) {
		ydoc_error(L->y, m, "a sender needs sender: (what the CAP <sender> element reads)");
		return;
	}
	if (!(s = ydoc_str(L->y, v, "sender")))
		return;
	if (!printable(s, MAX_SENDER)) {
		ydoc_error(L->y, v, "sender must be 1 to %d bytes without control characters", MAX_SENDER);
		return;
	}
	for (size_t k = 0; k < o->pub.nsenders; k++)
		if (!strcmp(o->pub.senders[k].sender, s)) {
			ydoc_error(L->y, v, "sender '%s' is listed twice (first at %s:%d:%d)", s,
				   o->file, o->pub.senders[k].pos.line, o->pub.senders[k].pos.col);
			return;
		}
	sd->sender = sdup(o, s);
	sd->pos = pos_of(L, v);
	if ((v = ydoc_get(L->y, m, "signature")) && (s = ydoc_str(L->y, v, "signature"))) {
		if (!strcmp(s, "required"))
			sd->require_signature = true;
		else if (strcmp(s, "none")) {
			ydoc_error(L->y, v, "signature must be required or none, not '%s'", s);
			bad = true;
		}
	} else if (v) {
		bad = true;
	}
	if ((v = ydoc_get(L->y, m, "trust"))) {
		wanted = ydoc_is_seq(v) ? ydoc_seq_len(v) : 1;
		sd->nanchors = str_list(L, v, "trust", WARN_MAX_ITEMS, anchor_ok, NULL, &sd->anchors);
		for (size_t k = 0; k < sd->nanchors; k++)
			((const char **)sd->anchors)[k] = resolve(L, sd->anchors[k]);
	}
	if (sd->require_signature && !v) {
		ydoc_error(L->y, m, "sender '%s' requires a signature: trust: must name its PEM trust anchors",
			   sd->sender);
		return;
	}
	if (sd->require_signature && (!sd->nanchors || sd->nanchors != wanted)) {
		if (!wanted)
			ydoc_error(L->y, v, "trust must name at least one PEM file when signature is required");
		return; /* a sender whose anchors are wrong is left out */
	}
	if (sd->sender && !bad)
		o->pub.nsenders++;
}

/* ---- rules ---------------------------------------------------------------------- */

struct match_key {
	const char *key, *what;
	const char *const *words;      /* NULL: any text */
	size_t off;                    /* of the struct warn_match in struct warn_rule */
};

static const struct match_key match_keys[] = {
	{ "event", "event", NULL, offsetof(struct warn_rule, event) },
	{ "category", "category", cap_categories, offsetof(struct warn_rule, category) },
	{ "severity", "severity", cap_severities, offsetof(struct warn_rule, severity) },
	{ "urgency", "urgency", cap_urgencies, offsetof(struct warn_rule, urgency) },
	{ "certainty", "certainty", cap_certainties, offsetof(struct warn_rule, certainty) },
	{ "status", "status", cap_statuses, offsetof(struct warn_rule, status) },
};

static bool word_ok(struct wload *L, yaml_node_t *n, const char *text, const void *ctx)
{
	const struct match_key *k = ctx;
	char all[200] = "";

	if (!k->words) {
		if (printable(text, MAX_VALUE))
			return true;
		ydoc_error(L->y, n, "event must be 1 to %d bytes without control characters", MAX_VALUE);
		return false;
	}
	for (size_t i = 0; k->words[i]; i++) {
		if (!strcmp(text, k->words[i]))
			return true;
		strcat(all, i ? (k->words[i + 1] ? ", " : " or ") : "");
		strcat(all, k->words[i]);
	}
	ydoc_error(L->y, n, "%s '%s' is not a CAP 1.2 %s: %s", k->key, text, k->what, all);
	return false;
}

/* False when anything of M is wrong: the rule would match more than was
 * written, so it is left out. */
static bool load_match(struct wload *L, yaml_node_t *m, struct warn_rule *r)
{
	static const char *const keys[] = {
		"event", "category", "severity", "urgency", "certainty", "status", NULL
	};
	bool ok = true;

	if (!ydoc_is_map(m)) {
		ydoc_error(L->y, m, "match must be a mapping of event, category, severity, urgency, certainty, status");
		return false;
	}
	if (ydoc_map_check(L->y, m, keys, "match") > 0)
		ok = false;
	for (size_t i = 0; i < sizeof(match_keys) / sizeof(match_keys[0]); i++) {
		const struct match_key *k = &match_keys[i];
		struct warn_match *wm = (struct warn_match *)((char *)r + k->off);
		yaml_node_t *v = ydoc_get(L->y, m, k->key);
		size_t want;

		if (!v)
			continue;
		want = ydoc_is_seq(v) ? ydoc_seq_len(v) : 1;
		wm->n = str_list(L, v, k->key, 100, word_ok, k, &wm->v);
		if (wm->n != want || !want)
			ok = false;
		if (!want)
			ydoc_error(L->y, v, "%s must list at least one value", k->key);
	}
	return ok;
}

static void load_rule(struct wload *L, yaml_node_t *m, size_t i)
{
	static const char *const keys[] = { "match", "action", "level", NULL };
	struct wown *o = L->o;
	struct warn_rule *r = (struct warn_rule *)&o->pub.rules[o->pub.nrules];
	yaml_node_t *v;
	const char *s;
	long level;
	bool ok = true;

	(void)i;
	memset(r, 0, sizeof(*r));
	r->pos = pos_of(L, m);
	if (ydoc_map_check(L->y, m, keys, "a rule") > 0)
		ok = false;
	if ((v = ydoc_get(L->y, m, "match")) && !load_match(L, v, r))
		ok = false;
	r->action = WARN_BROADCAST;
	if ((v = ydoc_get(L->y, m, "action")) && (s = ydoc_str(L->y, v, "action"))) {
		if (!strcmp(s, "hold"))
			r->action = WARN_HOLD;
		else if (!strcmp(s, "ignore"))
			r->action = WARN_IGNORE;
		else if (strcmp(s, "broadcast")) {
			ydoc_error(L->y, v, "action must be broadcast, hold or ignore, not '%s'", s);
			ok = false;
		}
	} else if (v) {
		ok = false;
	}
	if ((v = ydoc_get(L->y, m, "level"))) {
		if (ydoc_long(L->y, v, 1, 4, "level", &level))
			r->level = (int)level;
		else
			ok = false;
	}
	if (ok)
		o->pub.nrules++;
}

/* ---- areas ---------------------------------------------------------------------- */

static bool village_ok(struct wload *L, yaml_node_t *n, const char *text, const void *ctx)
{
	(void)ctx;
	if (!code12_ok(text)) {
		ydoc_error(L->y, n, "village code must be 12 digits, not '%s'", text);
		return false;
	}
	if (!L->fleet)
		return true;
	for (size_t i = 0; i < schedule_village_count(L->fleet); i++)
		if (!strcmp(schedule_village(L->fleet, i)->code, text))
			return true;
	ydoc_error(L->y, n, "unknown village '%s' (not in fleet.yaml)", text);
	return false;
}

/* The text of KEY in M, 1 to MAX_VALUE printable bytes, or NULL (reported). */
static const char *need_str(struct wload *L, yaml_node_t *m, const char *key, const char *what)
{
	yaml_node_t *v = ydoc_get(L->y, m, key);
	const char *s;

	if (!v) {
		ydoc_error(L->y, m, "%s needs %s:", what, key);
		return NULL;
	}
	if (!(s = ydoc_str(L->y, v, key)))
		return NULL;
	if (!printable(s, MAX_VALUE)) {
		ydoc_error(L->y, v, "%s must be 1 to %d bytes without control characters", key, MAX_VALUE);
		return NULL;
	}
	return s;
}

static void load_area(struct wload *L, yaml_node_t *m, size_t i)
{
	static const char *const keys[] = { "scheme", "value", "villages", NULL };
	struct wown *o = L->o;
	struct warn_area *a = (struct warn_area *)&o->pub.areas[o->pub.nareas];
	const char *scheme, *value;
	yaml_node_t *v;
	size_t want;
	bool bad;

	(void)i;
	memset(a, 0, sizeof(*a));
	a->pos = pos_of(L, m);
	bad = ydoc_map_check(L->y, m, keys, "an area") > 0;
	scheme = need_str(L, m, "scheme", "an area");
	value = need_str(L, m, "value", "an area");
	if (!(v = ydoc_get(L->y, m, "villages"))) {
		ydoc_error(L->y, m, "an area needs villages: (the village codes it stands for)");
		return;
	}
	want = ydoc_is_seq(v) ? ydoc_seq_len(v) : 1;
	a->nvillages = str_list(L, v, "villages", SCHEDULE_MAX_VILLAGES, village_ok, NULL, &a->villages);
	if (!want)
		ydoc_error(L->y, v, "villages must list at least one village code");
	if (bad || !scheme || !value || !want || a->nvillages != want)
		return;
	for (size_t k = 0; k < o->pub.nareas; k++)
		if (!strcmp(o->pub.areas[k].scheme, scheme) && !strcmp(o->pub.areas[k].value, value)) {
			ydoc_error(L->y, m, "area %s '%s' is listed twice (first at %s:%d:%d)", scheme,
				   value, o->file, o->pub.areas[k].pos.line, o->pub.areas[k].pos.col);
			return;
		}
	a->scheme = sdup(o, scheme);
	a->value = sdup(o, value);
	if (a->scheme && a->value)
		o->pub.nareas++;
}

/* ---- voices, schemes, the top ---------------------------------------------------------- */

static void load_voices(struct wload *L, yaml_node_t *n)
{
	struct wown *o = L->o;
	size_t nd = sizeof(default_voices) / sizeof(default_voices[0]), len = 0;
	struct warn_voice *v;

	if (n && !ydoc_is_map(n)) {
		ydoc_error(L->y, n, "voices must be a mapping of languages to voice profiles (zh-CN: mandarin)");
		n = NULL;
	}
	if (n && (len = ydoc_map_len(n)) > WARN_MAX_ITEMS) {
		ydoc_error(L->y, n, "voices lists %zu languages; at most %d are allowed", len, WARN_MAX_ITEMS);
		n = NULL;
		len = 0;
	}
	v = zalloc(o, len + nd, sizeof(*v));
	if (!v)
		return;
	o->pub.voices = v;
	o->pub.nvoices = 0;
	for (size_t i = 0; i < len; i++) {
		yaml_node_t *k, *val;
		const char *lang = ydoc_map_at(L->y, n, i, &k, &val), *name;

		if (!lang || !language_ok(lang)) {
			ydoc_error(L->y, k, "voices: '%s' is not a language tag such as zh-CN", lang ? lang : "");
			continue;
		}
		if (!(name = ydoc_str(L->y, val, "a voice")))
			continue;
		if (!voice_name_ok(name)) {
			ydoc_error(L->y, val, "voice '%s' must be a profile name: 1 to 32 of A-Z, a-z, 0-9, - and _", name);
			continue;
		}
		v[o->pub.nvoices].language = sdup(o, lang);
		v[o->pub.nvoices].voice = sdup(o, name);
		o->pub.nvoices++;
	}
	memcpy(&v[o->pub.nvoices], default_voices, sizeof(default_voices));
	o->pub.nvoices += nd;
}

static bool scheme_ok(struct wload *L, yaml_node_t *n, const char *text, const void *ctx)
{
	(void)ctx;
	if (printable(text, MAX_VALUE))
		return true;
	ydoc_error(L->y, n, "admin_schemes: a valueName must be 1 to %d bytes", MAX_VALUE);
	return false;
}

static void load_scalars(struct wload *L, yaml_node_t *root)
{
	struct warnings *w = &L->o->pub;
	yaml_node_t *v;
	const char *s;
	long n;

	if ((v = ydoc_get(L->y, root, "language")) && (s = ydoc_str(L->y, v, "language"))) {
		if (language_ok(s))
			w->language = sdup(L->o, s);
		else
			ydoc_error(L->y, v, "language must be a language tag such as zh-CN, not '%s'", s);
	}
	if ((v = ydoc_get(L->y, root, "max_text")) &&
	    ydoc_long(L->y, v, MIN_MAX_TEXT, MAX_MAX_TEXT, "max_text (characters)", &n))
		w->max_text = (size_t)n;
	if ((v = ydoc_get(L->y, root, "expires")))
		duration(L, v, "expires", MIN_EXPIRES_MS, MAX_EXPIRES_MS, "from 1m to 168h",
			 &w->default_expires_ms);
	if ((v = ydoc_get(L->y, root, "admin_schemes"))) {
		const char *const *list;
		size_t k = str_list(L, v, "admin_schemes", WARN_MAX_ITEMS, scheme_ok, NULL, &list);

		if (k) {
			w->admin_schemes = list;
			w->nadmin_schemes = k;
		}
	}
}

/* Room for each list of ROOT, before the entries are read into it. */
static bool make_room(struct wload *L, yaml_node_t *root)
{
	static const char *const keys[] = { "sources", "senders", "rules", "areas" };
	static const size_t sizes[] = {
		sizeof(struct warn_source), sizeof(struct warn_sender), sizeof(struct warn_rule),
		sizeof(struct warn_area),
	};
	struct warnings *w = &L->o->pub;
	const void **where[] = {
		(const void **)&w->sources, (const void **)&w->senders, (const void **)&w->rules,
		(const void **)&w->areas,
	};

	for (size_t i = 0; i < 4; i++) {
		yaml_node_t *n = root ? ydoc_get(L->y, root, keys[i]) : NULL;
		size_t len = n && ydoc_is_seq(n) ? ydoc_seq_len(n) : 0;

		*where[i] = zalloc(L->o, len > WARN_MAX_ITEMS ? 0 : len, sizes[i]);
		if (!*where[i])
			return false;
	}
	return true;
}

static void load_file(struct wload *L, yaml_node_t *root)
{
	static const char *const keys[] = {
		"language", "max_text", "expires", "admin_schemes", "sources", "senders", "rules",
		"areas", "voices", NULL
	};

	if (!ydoc_is_map(root)) {
		ydoc_error(L->y, root, "warnings.yaml must be a mapping (sources:, senders:, rules: ...)");
		return;
	}
	ydoc_map_check(L->y, root, keys, "warnings.yaml");
	load_scalars(L, root);
	if (!make_room(L, root))
		return;
	each_map(L, root, "sources", "dir: or url:", load_source);
	each_map(L, root, "senders", "sender:, signature:, trust:", load_sender);
	each_map(L, root, "rules", "match:, action:, level:", load_rule);
	each_map(L, root, "areas", "scheme:, value:, villages:", load_area);
	load_voices(L, ydoc_get(L->y, root, "voices"));
}

/* The defaults of a file that says nothing. */
static void defaults(struct wown *o)
{
	o->pub.language = DEFAULT_LANGUAGE;
	o->pub.max_text = DEFAULT_MAX_TEXT;
	o->pub.default_expires_ms = DEFAULT_EXPIRES_MS;
	o->pub.admin_schemes = default_schemes;
	o->pub.nadmin_schemes = sizeof(default_schemes) / sizeof(default_schemes[0]);
	o->pub.voices = default_voices;
	o->pub.nvoices = sizeof(default_voices) / sizeof(default_voices[0]);
}

/* DIR as the schedules loader shows it: "DIR/NAME", or NAME for ".". */
static char *shown_name(const char *dir)
{
	size_t len = strlen(dir);
	char *s;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len == 1 && dir[0] == '.')
		return strdup(WARN_FILE);
	s = malloc(len + sizeof(WARN_FILE) + 1);
	if (s)
		sprintf(s, "%.*s%s%s", (int)len, dir, len == 1 && dir[0] == '/' ? "" : "/", WARN_FILE);
	return s;
}

struct warnings *warnings_load(const char *dir, const struct schedule *fleet, struct diag *d)
{
	struct wown *o = calloc(1, sizeof(*o));
	struct wload L = { .o = o, .dir = dir && *dir ? dir : ".", .fleet = fleet };
	char *path = NULL;
	struct stat st;
	bool empty = false;

	if (!o)
		goto oom;
	defaults(o);
	o->file = shown_name(L.dir);
	path = fio_join(L.dir, WARN_FILE);
	if (!o->file || !path)
		goto oom;
	if (stat(path, &st) < 0 && errno == ENOENT) {
		free(path);
		return &o->pub;
	}
	o->pub.present = true;
	L.y = ydoc_load(path, o->file, d, &empty);
	if (L.y)
		load_file(&L, ydoc_root(L.y));
	ydoc_free(L.y);
	free(path);
	if (o->oom)
		goto oom_freed;
	return &o->pub;
oom:
	free(path);
oom_freed:
	warnings_free(o ? &o->pub : NULL);
	errno = ENOMEM;
	return NULL;
}

void warnings_free(struct warnings *w)
{
	struct wown *o = (struct wown *)w;

	if (!o)
		return;
	for (size_t i = 0; i < o->nmem; i++)
		free(o->mem[i]);
	free(o->mem);
	free(o->file);
	free(o);
}

const struct warn_sender *warnings_sender(const struct warnings *w, const char *sender)
{
	if (!w || !sender)
		return NULL;
	for (size_t i = 0; i < w->nsenders; i++)
		if (!strcmp(w->senders[i].sender, sender))
			return &w->senders[i];
	return NULL;
}

const char *warnings_voice(const struct warnings *w, const char *language)
{
	size_t primary;

	if (!w || !language || !*language)
		return NULL;
	for (size_t i = 0; i < w->nvoices; i++)
		if (!strcasecmp(w->voices[i].language, language))
			return w->voices[i].voice;
	primary = strcspn(language, "-");
	for (size_t i = 0; i < w->nvoices; i++)
		if (strlen(w->voices[i].language) == primary &&
		    !strncasecmp(w->voices[i].language, language, primary))
			return w->voices[i].voice;
	return NULL;
}
