/* SPDX-License-Identifier: GPL-2.0-or-later */
/* schedule.c -- the schedules directory (fleet.yaml + broadcast files) as a checked model */
#include "schedule.h"

#include "cxtime.h"
#include "fileio.h"
#include "vec.h"
#include "ydoc.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_TZ "Asia/Shanghai"
#define DEFAULT_VOICE "mandarin"
#define DEFAULT_VOLUME 80
#define DEFAULT_MAX_DELAY_MS (10 * 60 * 1000LL)
#define MAX_HOUSEHOLDS 1000000L
#define MAX_QUIET 24
#define MAX_TAG_BYTES 64

/* A name written in a broadcast, resolved once every file is read. */
struct ref {
	char *name;
	struct schedule_pos pos;
};

struct refs {
	struct ref *v;
	size_t n;
};

struct bcast {
	struct schedule_broadcast pub;
	struct schedule_at *at;
	size_t *targets;
	struct ref notice;
	bool all;
	struct refs villages, tags, nodes;
	struct schedule_pos targets_pos;
	uint8_t wmask;                /* bit 0 = Monday */
	int64_t *dates;               /* sorted day numbers */
	size_t ndates;
	int64_t from, until;          /* inclusive day numbers */
};

struct tagent {
	const char *tag;
	size_t node;
};

struct schedule {
	char *dir;
	char *prefix;                 /* how file names are shown: "DIR/" or "" */
	char **files;                 /* shown names; schedule_pos.file points here */
	size_t nfiles;
	struct schedule_township town;
	struct schedule_range *quiet;
	struct schedule_presence *presence;
	double presence_min[1440];
	struct schedule_village *villages;
	size_t nvillages;
	struct schedule_node *nodes;
	size_t nnodes;
	struct schedule_notice *notices;
	size_t nnotices, notices_cap;
	struct bcast *bcasts;
	size_t nbcasts, bcasts_cap;
	size_t *node_by_id, *village_by_code, *notice_by_id, *bcast_by_id;
	struct tagent *tagidx;
	size_t ntagidx;
	struct diag *d;               /* while loading */
	bool oom;
};

static void xfree(const void *p)
{
	free((void *)p);
}

/* ---- small parsers ------------------------------------------------------ */

static bool charset_ok(const char *s, size_t max, bool upper_and_underscore)
{
	size_t n = strlen(s);

	if (n < 1 || n > max)
		return false;
	for (const char *p = s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')
			continue;
		if (upper_and_underscore && ((*p >= 'A' && *p <= 'Z') || *p == '_'))
			continue;
		return false;
	}
	return true;
}

static bool node_id_ok(const char *s) { return charset_ok(s, 32, false); }
/* Notice and broadcast ids end up in occurrence names ("ID@DATE") and
 * reports, so they keep to a charset that needs no quoting anywhere. */
static bool item_id_ok(const char *s) { return charset_ok(s, 64, true); }
static bool voice_name_ok(const char *s) { return charset_ok(s, 32, true); }

static bool tag_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > MAX_TAG_BYTES)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == ',')
			return false;
	return true;
}

static bool code12_ok(const char *s)
{
	if (strlen(s) != 12)
		return false;
	for (int i = 0; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Administrative division codes have levels of 2, 4, 6, 9 and 12 digits
 * (province, city, county, township, village). The area an area_code
 * stands for is its shortest level prefix after which only zeros follow. */
static size_t area_prefix_len(const char *code)
{
	static const size_t levels[] = { 2, 4, 6, 9, 12 };

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		bool zeros = true;

		for (size_t j = levels[i]; j < 12; j++)
			if (code[j] != '0')
				zeros = false;
		if (zeros)
			return levels[i];
	}
	return 12;
}

/* "HH:MM-HH:MM"; the end may be "24:00". */
static int parse_range(const char *s, struct schedule_range *r)
{
	char a[6], b[6];
	int h, m;

	if (strlen(s) != 11 || s[5] != '-')
		return -EINVAL;
	memcpy(a, s, 5);
	a[5] = '\0';
	memcpy(b, s + 6, 5);
	b[5] = '\0';
	if (cx_parse_hhmm(a, &h, &m) < 0)
		return -EINVAL;
	r->start = h * 60 + m;
	if (!strcmp(b, "24:00"))
		r->end = 1440;
	else if (cx_parse_hhmm(b, &h, &m) < 0)
		return -EINVAL;
	else
		r->end = h * 60 + m;
	if (r->end == r->start)
		return -ERANGE;
	return 0;
}

bool schedule_range_contains(const struct schedule_range *r, int minute)
{
	if (r->end > r->start)
		return minute >= r->start && minute < r->end;
	return minute >= r->start || minute < r->end;
}

void schedule_range_format(const struct schedule_range *r, char out[12])
{
	unsigned a = (unsigned)r->start % 1441, b = (unsigned)r->end % 1441;

	snprintf(out, 12, "%02u:%02u-%02u:%02u", (a / 60) % 25, a % 60, (b / 60) % 25, b % 60);
}

static const char *const weekday_names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

/* ---- positions and storage ------------------------------------------------- */

static struct schedule_pos pos_of(struct ydoc *y, const char *file, const yaml_node_t *n)
{
	struct schedule_pos p = { file, n ? ydoc_line(n) : 1, n ? ydoc_col(n) : 1 };

	(void)y; /* positions come from the node; y keeps call sites uniform */
	return p;
}

static void pos_error(struct diag *d, struct schedule_pos p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void pos_error(struct diag *d, struct schedule_pos p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(d, p.file, p.line, p.col, "%s", msg);
}

static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *r = malloc(la + lb + 1);

	if (r) {
		memcpy(r, a, la);
		memcpy(r + la, b, lb + 1);
	}
	return r;
}

static char *sdup(struct schedule *s, const char *str)
{
	char *r = strdup(str ? str : "");

	if (!r)
		s->oom = true;
	return r;
}

static const char *add_file(struct schedule *s, const char *name)
{
	char **v = realloc(s->files, (s->nfiles + 1) * sizeof(*v));

	if (!v) {
		s->oom = true;
		return NULL;
	}
	s->files = v;
	v[s->nfiles] = concat(s->prefix, name);
	if (!v[s->nfiles]) {
		s->oom = true;
		return NULL;
	}
	return v[s->nfiles++];
}

/* A single scalar or a list of scalars, as a list: calls FN per item. */
typedef void (*item_fn)(struct schedule *s, struct ydoc *y, const char *file,
			yaml_node_t *item, const char *text, void *ctx);

static void each_item(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *n,
		      const char *what, size_t max, item_fn fn, void *ctx)
{
	if (ydoc_is_scalar(n)) {
		fn(s, y, file, n, (const char *)n->data.scalar.value, ctx);
		return;
	}
	if (!ydoc_is_seq(n)) {
		ydoc_error(y, n, "%s must be a value or a list of values, not a mapping", what);
		return;
	}
	if (ydoc_seq_len(n) > max) {
		ydoc_error(y, n, "%s lists %zu entries; at most %zu are allowed", what,
			   ydoc_seq_len(n), max);
		return;
	}
	for (size_t i = 0; i < ydoc_seq_len(n); i++) {
		yaml_node_t *it = ydoc_seq_at(y, n, i);
		const char *t = ydoc_str(y, it, what);

		if (t)
			fn(s, y, file, it, t, ctx);
	}
}

/* ---- fleet.yaml ----------------------------------------------------------- */

static void quiet_item(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *n,
		       const char *text, void *ctx)
{
	struct schedule_range r;
	int e = parse_range(text, &r);

	(void)file;
	(void)ctx;
	if (e == -ERANGE) {
		ydoc_error(y, n, "quiet_hours range '%s' is empty", text);
		return;
	}
	if (e < 0) {
		ydoc_error(y, n, "quiet_hours must be \"HH:MM-HH:MM\" (e.g. \"22:00-06:00\"), not '%s'", text);
		return;
	}
	if (s->town.nquiet >= MAX_QUIET) {
		ydoc_error(y, n, "at most %d quiet_hours ranges are allowed", MAX_QUIET);
		return;
	}
	s->quiet[s->town.nquiet++] = r;
}

static void load_presence(struct schedule *s, struct ydoc *y, yaml_node_t *map)
{
	/* Which range claimed each minute, to find overlaps (index + 1). */
	short owner[1440] = { 0 };
	size_t n;

	if (!ydoc_is_map(map)) {
		ydoc_error(y, map, "presence must be a mapping of \"HH:MM-HH:MM\": share (0..1)");
		return;
	}
	n = ydoc_map_len(map);
	if (n > 1440) {
		ydoc_error(y, map, "presence has too many ranges");
		return;
	}
	s->presence = calloc(n ? n : 1, sizeof(*s->presence));
	if (!s->presence) {
		s->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *k, *v;
		const char *key = ydoc_map_at(y, map, i, &k, &v);
		struct schedule_range r;
		double share;
		int e, clash = -1;

		if (!key) {
			ydoc_error(y, k, "presence keys must be \"HH:MM-HH:MM\" ranges");
			continue;
		}
		e = parse_range(key, &r);
		if (e < 0) {
			ydoc_error(y, k, e == -ERANGE ? "presence range '%s' is empty"
				   : "presence range must be \"HH:MM-HH:MM\", not '%s'", key);
			continue;
		}
		if (!ydoc_double(y, v, 0.0, 1.0, "presence share", &share))
			continue;
		for (int m = 0; m < 1440; m++)
			if (schedule_range_contains(&r, m) && owner[m]) {
				clash = owner[m] - 1;
				break;
			}
		if (clash >= 0) {
			char other[12];

			schedule_range_format(&s->presence[clash].range, other);
			ydoc_error(y, k, "presence range '%s' overlaps '%s'", key, other);
			continue;
		}
		for (int m = 0; m < 1440; m++)
			if (schedule_range_contains(&r, m)) {
				owner[m] = (short)(s->town.npresence + 1);
				s->presence_min[m] = share;
			}
		s->presence[s->town.npresence].range = r;
		s->presence[s->town.npresence].share = share;
		s->town.npresence++;
	}
}

struct node_ctx {
	struct schedule_node *node;
	char **tags;
};

static void tag_item(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *n,
		     const char *text, void *ctx)
{
	struct node_ctx *c = ctx;

	(void)file;
	if (!tag_ok(text)) {
		ydoc_error(y, n, "tag '%s' must be 1 to %d characters without spaces or commas",
			   text, MAX_TAG_BYTES);
		return;
	}
	for (size_t i = 0; i < c->node->ntags; i++)
		if (!strcmp(c->tags[i], text))
			return; /* listed twice: harmless */
	if (c->node->ntags >= SCHEDULE_MAX_TAGS) {
		ydoc_error(y, n, "a node may have at most %d tags", SCHEDULE_MAX_TAGS);
		return;
	}
	c->tags[c->node->ntags++] = sdup(s, text);
}

static void load_node(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *m,
		      size_t village, size_t *cap)
{
	static const char *const keys[] = { "id", "households", "tags", NULL };
	struct schedule_node *nd;
	yaml_node_t *v;
	const char *id;
	long hh;

	if (!ydoc_is_map(m)) {
		ydoc_error(y, m, "a node must be a mapping with id, households and tags");
		return;
	}
	if (s->nnodes >= SCHEDULE_MAX_NODES) {
		ydoc_error(y, m, "more than %d nodes", SCHEDULE_MAX_NODES);
		return;
	}
	if (!vec_grow((void **)&s->nodes, cap, s->nnodes + 1, sizeof(*s->nodes))) {
		s->oom = true;
		return;
	}
	ydoc_map_check(y, m, keys, "a node");
	v = ydoc_get(y, m, "id");
	if (!v) {
		ydoc_error(y, m, "a node needs an id");
		return;
	}
	id = ydoc_str(y, v, "node id");
	if (!id)
		return;
	if (!node_id_ok(id)) {
		ydoc_error(y, v, "node id '%s' must be 1 to 32 of a-z, 0-9 and '-'", id);
		return;
	}
	nd = &s->nodes[s->nnodes];
	memset(nd, 0, sizeof(*nd));
	nd->id = sdup(s, id);
	nd->village = village;
	nd->pos = pos_of(y, file, v);
	if (!(v = ydoc_get(y, m, "households")))
		ydoc_error(y, m, "node '%s' needs households (households within earshot)", id);
	else if (ydoc_long(y, v, 0, MAX_HOUSEHOLDS, "households", &hh))
		nd->households = hh;
	if ((v = ydoc_get(y, m, "tags"))) {
		char **tags = calloc(SCHEDULE_MAX_TAGS, sizeof(char *));
		struct node_ctx c = { nd, tags };

		if (!tags) {
			s->oom = true;
		} else {
			each_item(s, y, file, v, "tags", SCHEDULE_MAX_TAGS * 4, tag_item, &c);
			nd->tags = (const char *const *)tags;
		}
	}
	s->nnodes++;
}

static void load_village(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *m,
			 size_t *vcap, size_t *ncap)
{
	static const char *const keys[] = { "code", "name", "nodes", NULL };
	struct schedule_village *vg;
	yaml_node_t *v;
	const char *str;

	if (!ydoc_is_map(m)) {
		ydoc_error(y, m, "a village must be a mapping with code, name and nodes");
		return;
	}
	if (s->nvillages >= SCHEDULE_MAX_VILLAGES) {
		ydoc_error(y, m, "more than %d villages", SCHEDULE_MAX_VILLAGES);
		return;
	}
	if (!vec_grow((void **)&s->villages, vcap, s->nvillages + 1, sizeof(*s->villages))) {
		s->oom = true;
		return;
	}
	vg = &s->villages[s->nvillages];
	memset(vg, 0, sizeof(*vg));
	vg->pos = pos_of(y, file, m);
	ydoc_map_check(y, m, keys, "a village");
	if (!(v = ydoc_get(y, m, "code"))) {
		ydoc_error(y, m, "a village needs a code (its 12-digit administrative code)");
	} else if ((str = ydoc_str(y, v, "village code"))) {
		vg->pos = pos_of(y, file, v);
		if (!code12_ok(str)) {
			ydoc_error(y, v, "village code must be 12 digits, not '%s'", str);
		} else if (s->town.area_code) {
			const char *area = s->town.area_code;
			size_t l = area_prefix_len(area);

			if (strncmp(str, area, l) || (l < 12 && !strcmp(str, area)))
				ydoc_error(y, v, "village code '%s' is not inside the township's area %.*s (area_code %s)",
					   str, (int)l, area, area);
		}
		vg->code = sdup(s, str);
	}
	if (!(v = ydoc_get(y, m, "name"))) {
		ydoc_error(y, m, "a village needs a name");
	} else if ((str = ydoc_str(y, v, "village name"))) {
		if (!*str || strlen(str) > SCHEDULE_MAX_NAME)
			ydoc_error(y, v, "village name must be 1 to %d bytes", SCHEDULE_MAX_NAME);
		vg->name = sdup(s, str);
	}
	if (!vg->code)
		vg->code = sdup(s, "");
	if (!vg->name)
		vg->name = sdup(s, "");
	vg->first_node = s->nnodes;
	v = ydoc_get(y, m, "nodes");
	if (!v) {
		ydoc_error(y, m, "village '%s' needs nodes (its loudspeaker poles)", vg->name);
	} else if (!ydoc_is_seq(v) || ydoc_seq_len(v) == 0) {
		ydoc_error(y, v, "nodes must be a list of at least one node");
	} else {
		for (size_t i = 0; i < ydoc_seq_len(v); i++)
			load_node(s, y, file, ydoc_seq_at(y, v, i), s->nvillages, ncap);
	}
	vg = &s->villages[s->nvillages];
	vg->nnodes = s->nnodes - vg->first_node;
	s->nvillages++;
}

static void load_fleet(struct schedule *s, struct diag *d)
{
	static const char *const keys[] = {
		"township", "area_code", "timezone", "quiet_hours", "presence", "max_delay",
		"villages", NULL
	};
	const char *file = add_file(s, "fleet.yaml");
	char *path = fio_join(s->dir, "fleet.yaml");
	size_t vcap = 0, ncap = 0;
	yaml_node_t *root, *v;
	struct ydoc *y = NULL;
	const char *str;
	bool empty;

	if (!file || !path) {
		s->oom = true;
		goto out;
	}
	y = ydoc_load(path, file, d, &empty);
	if (!y) {
		if (empty)
			diag_error(d, file, 1, 1, "fleet.yaml is empty; it needs township, area_code and villages");
		goto out;
	}
	root = ydoc_root(y);
	if (!ydoc_is_map(root)) {
		ydoc_error(y, root, "fleet.yaml must be a mapping (township:, area_code:, villages: ...)");
		goto out;
	}
	ydoc_map_check(y, root, keys, "fleet.yaml");
	if (!(v = ydoc_get(y, root, "township"))) {
		ydoc_error(y, root, "missing key 'township' (the township's name)");
	} else if ((str = ydoc_str(y, v, "township"))) {
		if (!*str || strlen(str) > SCHEDULE_MAX_NAME)
			ydoc_error(y, v, "township must be 1 to %d bytes", SCHEDULE_MAX_NAME);
		s->town.name = sdup(s, str);
	}
	if (!(v = ydoc_get(y, root, "area_code"))) {
		ydoc_error(y, root, "missing key 'area_code' (the township's 12-digit administrative code)");
	} else if ((str = ydoc_str(y, v, "area_code"))) {
		if (!code12_ok(str) || !strncmp(str, "00", 2))
			ydoc_error(y, v, "area_code must be 12 digits such as \"640104100000\", not '%s'", str);
		else
			s->town.area_code = sdup(s, str);
	}
	s->town.timezone = sdup(s, DEFAULT_TZ);
	if ((v = ydoc_get(y, root, "timezone")) && (str = ydoc_str(y, v, "timezone"))) {
		int e = cx_tz_check(str);

		if (e == -ENOENT)
			ydoc_error(y, v, "unknown time zone '%s'", str);
		else if (e < 0)
			ydoc_error(y, v, "timezone must be an IANA zone name such as Asia/Shanghai, not '%s'", str);
		else {
			xfree(s->town.timezone);
			s->town.timezone = sdup(s, str);
		}
	}
	s->quiet = calloc(MAX_QUIET, sizeof(*s->quiet));
	if (!s->quiet)
		s->oom = true;
	else if ((v = ydoc_get(y, root, "quiet_hours")))
		each_item(s, y, file, v, "quiet_hours", MAX_QUIET, quiet_item, NULL);
	if ((v = ydoc_get(y, root, "presence")))
		load_presence(s, y, v);
	s->town.max_delay_ms = DEFAULT_MAX_DELAY_MS;
	if ((v = ydoc_get(y, root, "max_delay")) && (str = ydoc_str(y, v, "max_delay"))) {
		int64_t ms;

		if (cx_parse_duration(str, &ms) < 0)
			ydoc_error(y, v, "max_delay must be a duration such as 90s, 10m or 2h, not '%s'", str);
		else if (ms > SCHEDULE_MAX_DELAY_MS)
			ydoc_error(y, v, "max_delay must be at most 6h");
		else
			s->town.max_delay_ms = ms;
	}
	if (!(v = ydoc_get(y, root, "villages")))
		ydoc_error(y, root, "missing key 'villages'");
	else if (!ydoc_is_seq(v) || ydoc_seq_len(v) == 0)
		ydoc_error(y, v, "villages must be a list of at least one village");
	else
		for (size_t i = 0; i < ydoc_seq_len(v); i++)
			load_village(s, y, file, ydoc_seq_at(y, v, i), &vcap, &ncap);
out:
	if (!s->town.timezone)
		s->town.timezone = sdup(s, DEFAULT_TZ);
	if (!s->town.name)
		s->town.name = sdup(s, "");
	if (!s->town.area_code)
		s->town.area_code = sdup(s, "");
	for (size_t i = 0; i < s->nnodes; i++) {
		s->nodes[i].village_code = s->villages[s->nodes[i].village].code;
		s->nodes[i].village_name = s->villages[s->nodes[i].village].name;
	}
	s->town.quiet = s->quiet;
	s->town.presence = s->presence;
	ydoc_free(y);
	free(path);
}

/* ---- broadcast files ------------------------------------------------------ */

static bool audio_ext_ok(const char *p)
{
	static const char *const exts[] = { ".wav", ".flac", ".mp3", ".opus", ".ogg", NULL };
	size_t n = strlen(p);

	for (const char *const *e = exts; *e; e++) {
		size_t k = strlen(*e);

		if (n > k && !strcasecmp(p + n - k, *e))
			return true;
	}
	return false;
}

static void load_notice(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *k,
			const char *id, yaml_node_t *m)
{
	static const char *const keys[] = { "title", "text", "audio", "voice", NULL };
	size_t before = diag_errors(s->d);
	yaml_node_t *v, *text, *audio, *voice;
	struct schedule_notice *nt;
	const char *str;

	if (s->nnotices >= SCHEDULE_MAX_NOTICES) {
		ydoc_error(y, k, "more than %d notices", SCHEDULE_MAX_NOTICES);
		return;
	}
	if (!vec_grow((void **)&s->notices, &s->notices_cap, s->nnotices + 1, sizeof(*s->notices))) {
		s->oom = true;
		return;
	}
	nt = &s->notices[s->nnotices++];
	memset(nt, 0, sizeof(*nt));
	nt->id = sdup(s, id);
	nt->pos = pos_of(y, file, k);
	if (!item_id_ok(id))
		ydoc_error(y, k, "notice id '%s' must be 1 to 64 of A-Z, a-z, 0-9, '-' and '_'", id);
	if (!ydoc_is_map(m)) {
		ydoc_error(y, m, "notice '%s' must be a mapping with title and text or audio", id);
		goto out;
	}
	ydoc_map_check(y, m, keys, "a notice");
	if (!(v = ydoc_get(y, m, "title"))) {
		ydoc_error(y, k, "notice '%s' needs a title", id);
	} else if ((str = ydoc_str(y, v, "title"))) {
		if (!*str || strlen(str) > SCHEDULE_MAX_NAME)
			ydoc_error(y, v, "title must be 1 to %d bytes", SCHEDULE_MAX_NAME);
		else
			nt->title = sdup(s, str);
	}
	text = ydoc_get(y, m, "text");
	audio = ydoc_get(y, m, "audio");
	voice = ydoc_get(y, m, "voice");
	if (text && audio) {
		/* Point at the later of the two keys: that is the one to drop. */
		ydoc_error(y, ydoc_line(audio) > ydoc_line(text) ||
				      (ydoc_line(audio) == ydoc_line(text) && ydoc_col(audio) > ydoc_col(text))
			      ? audio : text,
			   "notice '%s' has both text and audio; give one of them", id);
		goto out;
	}
	if (!text && !audio) {
		ydoc_error(y, k, "notice '%s' needs text (spoken by a voice) or audio (a recording)", id);
		goto out;
	}
	if (text && (str = ydoc_str(y, text, "text"))) {
		nt->text_pos = pos_of(y, file, text);
		if (!*str)
			ydoc_error(y, text, "text must not be empty");
		else if (strlen(str) > SCHEDULE_MAX_TEXT)
			ydoc_error(y, text, "text is longer than %d bytes", SCHEDULE_MAX_TEXT);
		else
			nt->text = sdup(s, str);
		nt->voice_pos = nt->text_pos;
		nt->voice = sdup(s, DEFAULT_VOICE);
		if (voice && (str = ydoc_str(y, voice, "voice"))) {
			nt->voice_pos = pos_of(y, file, voice);
			if (!voice_name_ok(str)) {
				ydoc_error(y, voice, "voice must name a profile in voices/, not '%s'", str);
			} else {
				xfree(nt->voice);
				nt->voice = sdup(s, str);
			}
		}
	}
	if (audio && (str = ydoc_str(y, audio, "audio"))) {
		struct stat st;

		nt->audio_pos = pos_of(y, file, audio);
		nt->audio_shown = sdup(s, str);
		nt->audio = str[0] == '/' ? sdup(s, str) : fio_join(s->dir, str);
		if (!nt->audio)
			s->oom = true;
		if (voice)
			ydoc_error(y, voice, "voice applies only to text notices");
		if (!*str)
			ydoc_error(y, audio, "audio must name a file");
		else if (!audio_ext_ok(str))
			ydoc_error(y, audio, "audio '%s' must be a .wav, .flac, .mp3 or .opus file", str);
		else if (nt->audio && stat(nt->audio, &st) < 0)
			ydoc_error(y, audio, "cannot read audio file '%s': %s", str, strerror(errno));
		else if (nt->audio && !S_ISREG(st.st_mode))
			ydoc_error(y, audio, "audio '%s' is not a regular file", str);
		else if (nt->audio && access(nt->audio, R_OK) < 0)
			ydoc_error(y, audio, "cannot read audio file '%s': %s", str, strerror(errno));
	}
out:
	nt->valid = diag_errors(s->d) == before;
}

static void load_notices(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *m)
{
	if (!ydoc_is_map(m)) {
		ydoc_error(y, m, "notices must be a mapping of notice ids to notices");
		return;
	}
	for (size_t i = 0; i < ydoc_map_len(m); i++) {
		yaml_node_t *k, *v;
		const char *id = ydoc_map_at(y, m, i, &k, &v);

		if (!id) {
			ydoc_error(y, k, "a notice id must be a plain name");
			continue;
		}
		/* A duplicate key inside one mapping is the same mistake as a
		 * duplicate across files; resolve() reports both alike. */
		load_notice(s, y, file, k, id, v);
	}
}

/* --- one broadcast --- */

struct at_ctx {
	struct bcast *b;
};

static void at_item(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *n,
		    const char *text, void *ctx)
{
	struct bcast *b = ((struct at_ctx *)ctx)->b;
	int h, m;

	if (cx_parse_hhmm(text, &h, &m) < 0) {
		ydoc_error(y, n, "time must be \"HH:MM\" from 00:00 to 23:59, not '%s'", text);
		return;
	}
	for (size_t i = 0; i < b->pub.nat; i++)
		if (b->at[i].minute == h * 60 + m) {
			ydoc_error(y, n, "time %s is listed twice", text);
			return;
		}
	b->at[b->pub.nat].minute = h * 60 + m;
	b->at[b->pub.nat].pos = pos_of(y, file, n);
	b->pub.nat++;
	(void)s;
}

static int cmp_at(const void *a, const void *b)
{
	const struct schedule_at *x = a, *y = b;

	return (x->minute > y->minute) - (x->minute < y->minute);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static bool days_word(struct bcast *b, const char *w, bool list)
{
	if (!list && !strcmp(w, "daily")) {
		b->wmask = 0x7f;
		return true;
	}
	if (!list && !strcmp(w, "weekdays")) {
		b->wmask = 0x1f;
		return true;
	}
	if (!list && !strcmp(w, "weekends")) {
		b->wmask = 0x60;
		return true;
	}
	for (int i = 0; i < 7; i++)
		if (!strcmp(w, weekday_names[i])) {
			b->wmask |= (uint8_t)(1u << i);
			return true;
		}
	return false;
}

static void load_days(struct schedule *s, struct ydoc *y, struct bcast *b, yaml_node_t *n)
{
	static const char hint[] =
		"daily, weekdays, weekends, or a list of mon..sun and \"YYYY-MM-DD\" dates";
	const char *str;
	size_t len;

	b->wmask = 0;
	if (ydoc_is_scalar(n)) {
		str = (const char *)n->data.scalar.value;
		if (!days_word(b, str, false))
			ydoc_error(y, n, "days must be %s, not '%s'", hint, str);
		return;
	}
	if (!ydoc_is_seq(n)) {
		ydoc_error(y, n, "days must be %s", hint);
		return;
	}
	len = ydoc_seq_len(n);
	if (len == 0 || len > SCHEDULE_MAX_DAYS_LIST) {
		ydoc_error(y, n, "days must list 1 to %d days", SCHEDULE_MAX_DAYS_LIST);
		return;
	}
	b->dates = calloc(len, sizeof(*b->dates));
	if (!b->dates) {
		s->oom = true;
		return;
	}
	for (size_t i = 0; i < len; i++) {
		yaml_node_t *it = ydoc_seq_at(y, n, i);
		int yy, mm, dd;

		if (!(str = ydoc_str(y, it, "a day")))
			continue;
		if (days_word(b, str, true))
			continue;
		if (cx_parse_date(str, &yy, &mm, &dd) == 0) {
			int64_t day = cx_days_from_civil(yy, mm, dd);
			bool dup = false;

			for (size_t j = 0; j < b->ndates; j++)
				dup |= b->dates[j] == day;
			if (!dup)
				b->dates[b->ndates++] = day;
			continue;
		}
		if (strlen(str) == 10 && str[4] == '-' && str[7] == '-')
			ydoc_error(y, it, "'%s' is not a valid date", str);
		else
			ydoc_error(y, it, "a day must be one of mon, tue, wed, thu, fri, sat, sun or a date \"YYYY-MM-DD\", not '%s'", str);
	}
	qsort(b->dates, b->ndates, sizeof(*b->dates), cmp_i64);
}

static bool load_date(struct ydoc *y, yaml_node_t *n, const char *what, int64_t *day)
{
	const char *str = ydoc_str(y, n, what);
	int yy, mm, dd;

	if (!str)
		return false;
	if (cx_parse_date(str, &yy, &mm, &dd) < 0) {
		ydoc_error(y, n, "%s must be a date \"YYYY-MM-DD\", not '%s'", what, str);
		return false;
	}
	*day = cx_days_from_civil(yy, mm, dd);
	return true;
}

static void ref_item(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *n,
		     const char *text, void *ctx)
{
	struct refs *r = ctx;
	struct ref *v = realloc(r->v, (r->n + 1) * sizeof(*v));

	(void)y;
	if (!v) {
		s->oom = true;
		return;
	}
	r->v = v;
	v[r->n].name = sdup(s, text);
	v[r->n].pos = pos_of(y, file, n);
	r->n++;
}

static void load_targets(struct schedule *s, struct ydoc *y, const char *file, struct bcast *b,
			 yaml_node_t *n)
{
	static const char *const keys[] = { "villages", "tags", "nodes", NULL };
	static const char hint[] = "targets must be all, or a mapping of villages:, tags: and nodes: lists";
	yaml_node_t *v;

	b->targets_pos = pos_of(y, file, n);
	if (ydoc_is_scalar(n)) {
		if (strcmp((const char *)n->data.scalar.value, "all"))
			ydoc_error(y, n, "%s, not '%s'", hint, (const char *)n->data.scalar.value);
		else
			b->all = true;
		return;
	}
	if (!ydoc_is_map(n) || ydoc_map_len(n) == 0) {
		ydoc_error(y, n, "%s", hint);
		return;
	}
	ydoc_map_check(y, n, keys, "targets");
	if ((v = ydoc_get(y, n, "villages")))
		each_item(s, y, file, v, "villages", SCHEDULE_MAX_VILLAGES, ref_item, &b->villages);
	if ((v = ydoc_get(y, n, "tags")))
		each_item(s, y, file, v, "tags", SCHEDULE_MAX_NODES, ref_item, &b->tags);
	if ((v = ydoc_get(y, n, "nodes")))
		each_item(s, y, file, v, "nodes", SCHEDULE_MAX_NODES, ref_item, &b->nodes);
}

static void load_broadcast(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *m)
{
	static const char *const keys[] = {
		"id", "notice", "at", "days", "from", "until", "targets", "repeat", "volume",
		"priority", "quiet_ok", NULL
	};
	size_t before = diag_errors(s->d);
	yaml_node_t *v, *from_n = NULL;
	struct bcast *b;
	const char *str;
	long l;

	if (!ydoc_is_map(m)) {
		ydoc_error(y, m, "a broadcast must be a mapping with id, notice, at and targets");
		return;
	}
	if (s->nbcasts >= SCHEDULE_MAX_BROADCASTS) {
		ydoc_error(y, m, "more than %d broadcasts", SCHEDULE_MAX_BROADCASTS);
		return;
	}
	if (!vec_grow((void **)&s->bcasts, &s->bcasts_cap, s->nbcasts + 1, sizeof(*s->bcasts))) {
		s->oom = true;
		return;
	}
	b = &s->bcasts[s->nbcasts];
	memset(b, 0, sizeof(*b));
	b->pub.order = s->nbcasts;
	b->pub.priority = SCHEDULE_ROUTINE;
	b->pub.volume = DEFAULT_VOLUME;
	b->pub.repeat = 1;
	b->wmask = 0x7f;
	b->from = INT64_MIN;
	b->until = INT64_MAX;
	b->pub.pos = pos_of(y, file, m);
	s->nbcasts++;
	ydoc_map_check(y, m, keys, "a broadcast");
	if (!(v = ydoc_get(y, m, "id"))) {
		ydoc_error(y, m, "a broadcast needs an id");
	} else if ((str = ydoc_str(y, v, "broadcast id"))) {
		b->pub.pos = pos_of(y, file, v);
		if (!item_id_ok(str))
			ydoc_error(y, v, "broadcast id '%s' must be 1 to 64 of A-Z, a-z, 0-9, '-' and '_'", str);
		else
			b->pub.id = sdup(s, str);
	}
	if (!(v = ydoc_get(y, m, "notice"))) {
		ydoc_error(y, m, "broadcast needs a notice");
	} else if ((str = ydoc_str(y, v, "notice"))) {
		b->notice.name = sdup(s, str);
		b->notice.pos = pos_of(y, file, v);
	}
	b->at = calloc(SCHEDULE_MAX_AT, sizeof(*b->at));
	if (!b->at) {
		s->oom = true;
	} else if (!(v = ydoc_get(y, m, "at"))) {
		ydoc_error(y, m, "broadcast needs at: (a time \"HH:MM\" or a list of them)");
	} else if (ydoc_is_seq(v) && ydoc_seq_len(v) == 0) {
		ydoc_error(y, v, "at must list at least one time");
	} else {
		struct at_ctx c = { b };

		each_item(s, y, file, v, "at", SCHEDULE_MAX_AT, at_item, &c);
		qsort(b->at, b->pub.nat, sizeof(*b->at), cmp_at);
	}
	b->pub.at = b->at;
	if ((v = ydoc_get(y, m, "days")))
		load_days(s, y, b, v);
	if ((from_n = ydoc_get(y, m, "from")))
		load_date(y, from_n, "from", &b->from);
	if ((v = ydoc_get(y, m, "until")) && load_date(y, v, "until", &b->until) &&
	    b->from != INT64_MIN && b->until < b->from)
		ydoc_error(y, v, "until %s is before from %s",
			   (const char *)v->data.scalar.value, (const char *)from_n->data.scalar.value);
	if (!(v = ydoc_get(y, m, "targets")))
		ydoc_error(y, m, "broadcast needs targets (all, or villages:, tags:, nodes:)");
	else
		load_targets(s, y, file, b, v);
	if ((v = ydoc_get(y, m, "repeat")) && ydoc_long(y, v, 1, SCHEDULE_MAX_REPEAT, "repeat", &l))
		b->pub.repeat = (int)l;
	if ((v = ydoc_get(y, m, "volume")) && ydoc_long(y, v, 1, 100, "volume", &l))
		b->pub.volume = (int)l;
	if ((v = ydoc_get(y, m, "priority")) && (str = ydoc_str(y, v, "priority"))) {
		if (!strcmp(str, "routine"))
			b->pub.priority = SCHEDULE_ROUTINE;
		else if (!strcmp(str, "important"))
			b->pub.priority = SCHEDULE_IMPORTANT;
		else
			ydoc_error(y, v, "priority must be routine or important, not '%s'", str);
	}
	if ((v = ydoc_get(y, m, "quiet_ok")) && ydoc_bool(y, v, "quiet_ok", &b->pub.quiet_ok) &&
	    b->pub.quiet_ok && b->pub.priority != SCHEDULE_IMPORTANT)
		ydoc_error(y, v, "quiet_ok is allowed only with priority: important");
	b = &s->bcasts[s->nbcasts - 1];
	b->pub.valid = diag_errors(s->d) == before;
}

static void load_file(struct schedule *s, const char *name)
{
	static const char *const keys[] = { "notices", "broadcasts", NULL };
	const char *file = add_file(s, name);
	char *path = fio_join(s->dir, name);
	yaml_node_t *root, *v;
	struct ydoc *y = NULL;

	if (!file || !path) {
		s->oom = true;
		goto out;
	}
	y = ydoc_load(path, file, s->d, NULL);
	if (!y)
		goto out; /* unreadable or bad YAML (reported), or empty (fine) */
	root = ydoc_root(y);
	if (!ydoc_is_map(root)) {
		ydoc_error(y, root, "a broadcast file must be a mapping with notices: and broadcasts:");
		goto out;
	}
	ydoc_map_check(y, root, keys, "a broadcast file");
	if ((v = ydoc_get(y, root, "notices")))
		load_notices(s, y, file, v);
	if ((v = ydoc_get(y, root, "broadcasts"))) {
		if (!ydoc_is_seq(v))
			ydoc_error(y, v, "broadcasts must be a list");
		else
			for (size_t i = 0; i < ydoc_seq_len(v); i++)
				load_broadcast(s, y, file, ydoc_seq_at(y, v, i));
	}
out:
	ydoc_free(y);
	free(path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **list_files(struct schedule *s, size_t *count)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *dir = opendir(s->dir);

	*count = 0;
	if (!dir) {
		diag_error(s->d, s->dir, 0, 0, "cannot open schedules directory: %s", strerror(errno));
		return NULL;
	}
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		struct stat st;
		char *p;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "fleet.yaml"))
			continue;
		if (len > 4 && !strcmp(e->d_name + len - 4, ".yml")) {
			char *shown = concat(s->prefix, e->d_name);

			if (shown)
				diag_warning(s->d, shown, 0, 0, "ignored: only *.yaml files are read");
			free(shown);
			continue;
		}
		if (len <= 5 || strcmp(e->d_name + len - 5, ".yaml"))
			continue;
		p = fio_join(s->dir, e->d_name);
		if (!p || stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		free(p);
		if (n >= SCHEDULE_MAX_FILES) {
			diag_error(s->d, s->dir, 0, 0, "more than %d broadcast files", SCHEDULE_MAX_FILES);
			break;
		}
		if (!vec_grow((void **)&v, &cap, n + 1, sizeof(*v)) || !(v[n] = strdup(e->d_name))) {
			s->oom = true;
			break;
		}
		n++;
	}
	closedir(dir);
	if (v)
		qsort(v, n, sizeof(*v), cmp_str);
	*count = n;
	return v;
}

/* ---- resolving names -------------------------------------------------------- */

static struct schedule *sort_ctx;

static int cmp_node_id(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_ctx->nodes[x].id, sort_ctx->nodes[y].id);

	return c ? c : (x > y) - (x < y);
}

static int cmp_village_code(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_ctx->villages[x].code, sort_ctx->villages[y].code);

	return c ? c : (x > y) - (x < y);
}

static int cmp_notice_id(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_ctx->notices[x].id, sort_ctx->notices[y].id);

	return c ? c : (x > y) - (x < y);
}

static const char *bcast_key(const struct bcast *b)
{
	return b->pub.id ? b->pub.id : "";
}

static int cmp_bcast_id(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(bcast_key(&sort_ctx->bcasts[x]), bcast_key(&sort_ctx->bcasts[y]));

	return c ? c : (x > y) - (x < y);
}

static int cmp_tagent(const void *a, const void *b)
{
	const struct tagent *x = a, *y = b;
	int c = strcmp(x->tag, y->tag);

	return c ? c : (x->node > y->node) - (x->node < y->node);
}

/* Index 0..N-1 sorted with CMP; the model is not re-entrant while sorting
 * (qsort has no context argument), which loading never needs. */
static size_t *sorted_index(struct schedule *s, size_t n, int (*cmp)(const void *, const void *))
{
	size_t *v = malloc((n ? n : 1) * sizeof(*v));

	if (!v) {
		s->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = i;
	sort_ctx = s;
	qsort(v, n, sizeof(*v), cmp);
	sort_ctx = NULL;
	return v;
}

typedef const char *(*key_fn)(const struct schedule *s, size_t i);
typedef struct schedule_pos (*pos_fn)(const struct schedule *s, size_t i);

static void report_duplicates(struct schedule *s, const size_t *idx, size_t n, key_fn key,
			      pos_fn pos, const char *what, void (*invalidate)(struct schedule *s, size_t i))
{
	for (size_t i = 1; i < n; i++) {
		size_t first = idx[i - 1];
		struct schedule_pos fp, p;

		if (!*key(s, idx[i]) || strcmp(key(s, first), key(s, idx[i])))
			continue;
		/* idx is sorted by key then index, so walk back to the first. */
		for (size_t j = i - 1; j > 0 && !strcmp(key(s, idx[j - 1]), key(s, idx[i])); j--)
			first = idx[j - 1];
		fp = pos(s, first);
		p = pos(s, idx[i]);
		pos_error(s->d, p, "duplicate %s '%s' (first defined at %s:%d:%d)", what,
			  key(s, idx[i]), fp.file, fp.line, fp.col);
		if (invalidate)
			invalidate(s, idx[i]);
	}
}

static const char *node_key(const struct schedule *s, size_t i) { return s->nodes[i].id; }
static struct schedule_pos node_pos(const struct schedule *s, size_t i) { return s->nodes[i].pos; }
static const char *village_key(const struct schedule *s, size_t i) { return s->villages[i].code; }
static struct schedule_pos village_pos(const struct schedule *s, size_t i) { return s->villages[i].pos; }
static const char *notice_key(const struct schedule *s, size_t i) { return s->notices[i].id; }
static struct schedule_pos notice_pos(const struct schedule *s, size_t i) { return s->notices[i].pos; }
static const char *bc_key(const struct schedule *s, size_t i) { return bcast_key(&s->bcasts[i]); }
static struct schedule_pos bc_pos(const struct schedule *s, size_t i) { return s->bcasts[i].pub.pos; }

static void notice_invalidate(struct schedule *s, size_t i) { s->notices[i].valid = false; }
static void bc_invalidate(struct schedule *s, size_t i) { s->bcasts[i].pub.valid = false; }

static long find(const struct schedule *s, const size_t *idx, size_t n, key_fn key, const char *name)
{
	size_t lo = 0, hi = n;

	/* First entry with that key, so a duplicate resolves to the first. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(key(s, idx[mid]), name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && !strcmp(key(s, idx[lo]), name))
		return (long)idx[lo];
	return -1;
}

static void build_indexes(struct schedule *s)
{
	size_t n = 0;

	s->node_by_id = sorted_index(s, s->nnodes, cmp_node_id);
	s->village_by_code = sorted_index(s, s->nvillages, cmp_village_code);
	s->notice_by_id = sorted_index(s, s->nnotices, cmp_notice_id);
	s->bcast_by_id = sorted_index(s, s->nbcasts, cmp_bcast_id);
	if (s->oom)
		return;
	report_duplicates(s, s->node_by_id, s->nnodes, node_key, node_pos, "node id", NULL);
	report_duplicates(s, s->village_by_code, s->nvillages, village_key, village_pos,
			  "village code", NULL);
	report_duplicates(s, s->notice_by_id, s->nnotices, notice_key, notice_pos, "notice id",
			  notice_invalidate);
	report_duplicates(s, s->bcast_by_id, s->nbcasts, bc_key, bc_pos, "broadcast id",
			  bc_invalidate);
	for (size_t i = 0; i < s->nnodes; i++)
		n += s->nodes[i].ntags;
	s->tagidx = malloc((n ? n : 1) * sizeof(*s->tagidx));
	if (!s->tagidx) {
		s->oom = true;
		return;
	}
	for (size_t i = 0; i < s->nnodes; i++)
		for (size_t t = 0; t < s->nodes[i].ntags; t++)
			s->tagidx[s->ntagidx++] = (struct tagent){ s->nodes[i].tags[t], i };
	qsort(s->tagidx, s->ntagidx, sizeof(*s->tagidx), cmp_tagent);
}

static void resolve_targets(struct schedule *s, struct bcast *b, unsigned char *mark)
{
	size_t n = 0;

	if (b->all) {
		memset(mark, 1, s->nnodes);
	} else {
		memset(mark, 0, s->nnodes);
		for (size_t i = 0; i < b->villages.n; i++) {
			struct ref *r = &b->villages.v[i];
			long v = find(s, s->village_by_code, s->nvillages, village_key, r->name);

			if (v < 0) {
				pos_error(s->d, r->pos, "unknown village '%s'", r->name);
				continue;
			}
			memset(mark + s->villages[v].first_node, 1, s->villages[v].nnodes);
		}
		for (size_t i = 0; i < b->tags.n; i++) {
			struct ref *r = &b->tags.v[i];
			struct tagent key = { r->name, 0 }, *e;
			size_t lo = 0, hi = s->ntagidx;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (cmp_tagent(&s->tagidx[mid], &key) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo >= s->ntagidx || strcmp(s->tagidx[lo].tag, r->name)) {
				pos_error(s->d, r->pos, "unknown tag '%s' (no node has it)", r->name);
				continue;
			}
			for (e = &s->tagidx[lo]; e < s->tagidx + s->ntagidx && !strcmp(e->tag, r->name); e++)
				mark[e->node] = 1;
		}
		for (size_t i = 0; i < b->nodes.n; i++) {
			struct ref *r = &b->nodes.v[i];
			long v = find(s, s->node_by_id, s->nnodes, node_key, r->name);

			if (v < 0) {
				pos_error(s->d, r->pos, "unknown node '%s'", r->name);
				continue;
			}
			mark[v] = 1;
		}
	}
	for (size_t i = 0; i < s->nnodes; i++)
		n += mark[i];
	b->targets = malloc((n ? n : 1) * sizeof(*b->targets));
	if (!b->targets) {
		s->oom = true;
		return;
	}
	for (size_t i = 0; i < s->nnodes; i++)
		if (mark[i])
			b->targets[b->pub.ntargets++] = i;
	b->pub.targets = b->targets;
}

static void check_quiet(struct schedule *s, struct bcast *b)
{
	if (b->pub.priority == SCHEDULE_IMPORTANT && b->pub.quiet_ok)
		return;
	for (size_t i = 0; i < b->pub.nat; i++)
		for (size_t q = 0; q < s->town.nquiet; q++) {
			char r[12];

			if (!schedule_range_contains(&s->quiet[q], b->at[i].minute))
				continue;
			schedule_range_format(&s->quiet[q], r);
			if (b->pub.priority == SCHEDULE_IMPORTANT)
				pos_error(s->d, b->at[i].pos,
					  "%02d:%02d is in quiet hours %s; an important broadcast may play there with quiet_ok: true",
					  b->at[i].minute / 60, b->at[i].minute % 60, r);
			else
				pos_error(s->d, b->at[i].pos,
					  "%02d:%02d is in quiet hours %s, where routine broadcasts may not play",
					  b->at[i].minute / 60, b->at[i].minute % 60, r);
			break;
		}
}

static void resolve(struct schedule *s)
{
	unsigned char *mark = malloc(s->nnodes ? s->nnodes : 1);
	bool *used = calloc(s->nnotices ? s->nnotices : 1, sizeof(*used));

	build_indexes(s);
	if (!mark || !used || s->oom) {
		s->oom = true;
		goto out;
	}
	for (size_t i = 0; i < s->nbcasts; i++) {
		struct bcast *b = &s->bcasts[i];
		size_t before = diag_errors(s->d);

		if (b->notice.name) {
			long n = find(s, s->notice_by_id, s->nnotices, notice_key, b->notice.name);

			if (n < 0) {
				pos_error(s->d, b->notice.pos, "unknown notice '%s'", b->notice.name);
			} else {
				b->pub.notice = (size_t)n;
				used[n] = true;
				if (!s->notices[n].valid)
					b->pub.valid = false;
			}
		}
		resolve_targets(s, b, mark);
		check_quiet(s, b);
		if (diag_errors(s->d) != before)
			b->pub.valid = false;
	}
	for (size_t i = 0; i < s->nnotices; i++)
		if (!used[i] && s->notices[i].valid)
			diag_warning(s->d, s->notices[i].pos.file, s->notices[i].pos.line,
				     s->notices[i].pos.col, "notice '%s' is not used by any broadcast",
				     s->notices[i].id);
out:
	free(mark);
	free(used);
}

/* ---- public ------------------------------------------------------------------ */

char *schedule_read_zone(const char *dir)
{
	char *path = fio_join(dir, "fleet.yaml"), *zone = NULL;
	struct diag *d = diag_new();
	struct ydoc *y = NULL;
	yaml_node_t *root, *v;
	const char *str;
	bool empty;

	if (!path || !d)
		goto out;
	if ((y = ydoc_load(path, "fleet.yaml", d, &empty)) && ydoc_is_map(root = ydoc_root(y)) &&
	    (v = ydoc_get(y, root, "timezone")) && (str = ydoc_str(y, v, "timezone")) &&
	    cx_tz_check(str) == 0)
		zone = strdup(str);
	else
		zone = strdup(DEFAULT_TZ);
out:
	ydoc_free(y);
	diag_free(d);
	free(path);
	if (!zone)
		errno = ENOMEM;
	return zone;
}

struct schedule *schedule_load(const char *dir, struct diag *d)
{
	struct schedule *s = calloc(1, sizeof(*s));
	char **names = NULL;
	size_t nnames = 0, len;

	if (!s)
		goto oom;
	s->d = d;
	s->dir = strdup(dir && *dir ? dir : ".");
	if (!s->dir)
		goto oom;
	len = strlen(s->dir);
	while (len > 1 && s->dir[len - 1] == '/')
		s->dir[--len] = '\0';
	if (!strcmp(s->dir, "."))
		s->prefix = strdup("");
	else
		s->prefix = concat(s->dir, !strcmp(s->dir, "/") ? "" : "/");
	if (!s->prefix)
		goto oom;
	load_fleet(s, d);
	names = list_files(s, &nnames);
	for (size_t i = 0; i < nnames && !s->oom; i++)
		load_file(s, names[i]);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (!s->oom)
		resolve(s);
	if (s->oom)
		goto oom;
	s->d = NULL;
	return s;
oom:
	schedule_free(s);
	diag_error(d, dir, 0, 0, "out of memory");
	errno = ENOMEM;
	return NULL;
}

void schedule_free(struct schedule *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nnodes; i++) {
		for (size_t t = 0; t < s->nodes[i].ntags; t++)
			xfree(s->nodes[i].tags[t]);
		xfree(s->nodes[i].tags);
		xfree(s->nodes[i].id);
	}
	for (size_t i = 0; i < s->nvillages; i++) {
		xfree(s->villages[i].code);
		xfree(s->villages[i].name);
	}
	for (size_t i = 0; i < s->nnotices; i++) {
		struct schedule_notice *n = &s->notices[i];

		xfree(n->id);
		xfree(n->title);
		xfree(n->text);
		xfree(n->voice);
		xfree(n->audio);
		xfree(n->audio_shown);
	}
	for (size_t i = 0; i < s->nbcasts; i++) {
		struct bcast *b = &s->bcasts[i];
		struct refs *rs[] = { &b->villages, &b->tags, &b->nodes };

		xfree(b->pub.id);
		free(b->at);
		free(b->targets);
		free(b->dates);
		free(b->notice.name);
		for (size_t k = 0; k < 3; k++) {
			for (size_t j = 0; j < rs[k]->n; j++)
				free(rs[k]->v[j].name);
			free(rs[k]->v);
		}
	}
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	xfree(s->town.name);
	xfree(s->town.area_code);
	xfree(s->town.timezone);
	free(s->files);
	free(s->quiet);
	free(s->presence);
	free(s->villages);
	free(s->nodes);
	free(s->notices);
	free(s->bcasts);
	free(s->node_by_id);
	free(s->village_by_code);
	free(s->notice_by_id);
	free(s->bcast_by_id);
	free(s->tagidx);
	free(s->dir);
	free(s->prefix);
	free(s);
}

const char *schedule_dir(const struct schedule *s) { return s->dir; }
const struct schedule_township *schedule_township(const struct schedule *s) { return &s->town; }
size_t schedule_village_count(const struct schedule *s) { return s->nvillages; }
const struct schedule_village *schedule_village(const struct schedule *s, size_t i)
{
	return i < s->nvillages ? &s->villages[i] : NULL;
}
size_t schedule_node_count(const struct schedule *s) { return s->nnodes; }
const struct schedule_node *schedule_node(const struct schedule *s, size_t i)
{
	return i < s->nnodes ? &s->nodes[i] : NULL;
}
long schedule_node_find(const struct schedule *s, const char *id)
{
	return find(s, s->node_by_id, s->nnodes, node_key, id);
}
size_t schedule_notice_count(const struct schedule *s) { return s->nnotices; }
const struct schedule_notice *schedule_notice(const struct schedule *s, size_t i)
{
	return i < s->nnotices ? &s->notices[i] : NULL;
}
size_t schedule_broadcast_count(const struct schedule *s) { return s->nbcasts; }
const struct schedule_broadcast *schedule_broadcast(const struct schedule *s, size_t i)
{
	return i < s->nbcasts ? &s->bcasts[i].pub : NULL;
}

bool schedule_broadcast_on(const struct schedule *s, size_t i, int64_t day)
{
	const struct bcast *b = &s->bcasts[i];

	if (day < b->from || day > b->until)
		return false;
	if (b->wmask & (1u << cx_weekday(day)))
		return true;
	return b->ndates && bsearch(&day, b->dates, b->ndates, sizeof(*b->dates), cmp_i64);
}

double schedule_presence_at(const struct schedule *s, int minute)
{
	if (minute < 0 || minute >= 1440)
		return 0.0;
	return s->presence_min[minute];
}
