/* SPDX-License-Identifier: GPL-2.0-or-later */
/* schedule_fleet.c -- fleet.yaml into the schedules model: township, time zone, villages, nodes */
#include "schedule_model.h"

#include "cxtime.h"
#include "fileio.h"
#include "vec.h"

#include <errno.h>
#include <string.h>

#define DEFAULT_TZ "Asia/Shanghai"
#define DEFAULT_MAX_DELAY_MS (10 * 60 * 1000LL)
#define MAX_HOUSEHOLDS 1000000L
#define MAX_QUIET 24
#define MAX_TAG_BYTES 64

/* ---- small parsers ------------------------------------------------------ */

static bool node_id_ok(const char *s) { return schedule_charset_ok(s, 32, false); }

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

/* ---- the township -------------------------------------------------------- */

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

/* ---- villages and nodes -------------------------------------------------- */

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
	c->tags[c->node->ntags++] = schedule_sdup(s, text);
}

/* location: [LAT, LON], WGS 84 decimal degrees (where automatic warnings
 * look for the pole in a CAP polygon or circle). */
static void load_location(struct ydoc *y, yaml_node_t *v, struct schedule_node *nd)
{
	double lat, lon;

	if (!ydoc_is_seq(v) || ydoc_seq_len(v) != 2) {
		ydoc_error(y, v, "location must be [LAT, LON] in decimal degrees, such as [38.43, 106.37]");
		return;
	}
	if (!ydoc_double(y, ydoc_seq_at(y, v, 0), -90.0, 90.0, "location latitude", &lat) ||
	    !ydoc_double(y, ydoc_seq_at(y, v, 1), -180.0, 180.0, "location longitude", &lon))
		return;
	nd->has_location = true;
	nd->lat = lat;
	nd->lon = lon;
}

static void load_node(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *m,
		      size_t village, size_t *cap)
{
	static const char *const keys[] = { "id", "households", "tags", "location", NULL };
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
	nd->id = schedule_sdup(s, id);
	nd->village = village;
	nd->pos = schedule_pos_of(file, v);
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
			schedule_each_item(s, y, file, v, "tags", SCHEDULE_MAX_TAGS * 4, tag_item, &c);
			nd->tags = (const char *const *)tags;
		}
	}
	if ((v = ydoc_get(y, m, "location")))
		load_location(y, v, nd);
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
	vg->pos = schedule_pos_of(file, m);
	ydoc_map_check(y, m, keys, "a village");
	if (!(v = ydoc_get(y, m, "code"))) {
		ydoc_error(y, m, "a village needs a code (its 12-digit administrative code)");
	} else if ((str = ydoc_str(y, v, "village code"))) {
		vg->pos = schedule_pos_of(file, v);
		if (!code12_ok(str)) {
			ydoc_error(y, v, "village code must be 12 digits, not '%s'", str);
		} else if (s->town.area_code) {
			const char *area = s->town.area_code;
			size_t l = area_prefix_len(area);

			if (strncmp(str, area, l) || (l < 12 && !strcmp(str, area)))
				ydoc_error(y, v, "village code '%s' is not inside the township's area %.*s (area_code %s)",
					   str, (int)l, area, area);
		}
		vg->code = schedule_sdup(s, str);
	}
	if (!(v = ydoc_get(y, m, "name"))) {
		ydoc_error(y, m, "a village needs a name");
	} else if ((str = ydoc_str(y, v, "village name"))) {
		if (!*str || strlen(str) > SCHEDULE_MAX_NAME)
			ydoc_error(y, v, "village name must be 1 to %d bytes", SCHEDULE_MAX_NAME);
		vg->name = schedule_sdup(s, str);
	}
	if (!vg->code)
		vg->code = schedule_sdup(s, "");
	if (!vg->name)
		vg->name = schedule_sdup(s, "");
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

/* ---- fleet.yaml ---------------------------------------------------------- */

/* The township's keys of fleet.yaml (ROOT): all but villages. */
static void load_township(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *root)
{
	yaml_node_t *v;
	const char *str;

	if (!(v = ydoc_get(y, root, "township"))) {
		ydoc_error(y, root, "missing key 'township' (the township's name)");
	} else if ((str = ydoc_str(y, v, "township"))) {
		if (!*str || strlen(str) > SCHEDULE_MAX_NAME)
			ydoc_error(y, v, "township must be 1 to %d bytes", SCHEDULE_MAX_NAME);
		s->town.name = schedule_sdup(s, str);
	}
	if (!(v = ydoc_get(y, root, "area_code"))) {
		ydoc_error(y, root, "missing key 'area_code' (the township's 12-digit administrative code)");
	} else if ((str = ydoc_str(y, v, "area_code"))) {
		if (!code12_ok(str) || !strncmp(str, "00", 2))
			ydoc_error(y, v, "area_code must be 12 digits such as \"640104100000\", not '%s'", str);
		else
			s->town.area_code = schedule_sdup(s, str);
	}
	s->town.timezone = schedule_sdup(s, DEFAULT_TZ);
	if ((v = ydoc_get(y, root, "timezone")) && (str = ydoc_str(y, v, "timezone"))) {
		int e = cx_tz_check(str);

		if (e == -ENOENT)
			ydoc_error(y, v, "unknown time zone '%s'", str);
		else if (e < 0)
			ydoc_error(y, v, "timezone must be an IANA zone name such as Asia/Shanghai, not '%s'", str);
		else {
			schedule_xfree(s->town.timezone);
			s->town.timezone = schedule_sdup(s, str);
		}
	}
	s->quiet = calloc(MAX_QUIET, sizeof(*s->quiet));
	if (!s->quiet)
		s->oom = true;
	else if ((v = ydoc_get(y, root, "quiet_hours")))
		schedule_each_item(s, y, file, v, "quiet_hours", MAX_QUIET, quiet_item, NULL);
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
}

void schedule_fleet_load(struct schedule *s)
{
	static const char *const keys[] = {
		"township", "area_code", "timezone", "quiet_hours", "presence", "max_delay",
		"villages", NULL
	};
	const char *file = schedule_add_file(s, "fleet.yaml");
	char *path = fio_join(s->dir, "fleet.yaml");
	size_t vcap = 0, ncap = 0;
	yaml_node_t *root, *v;
	struct ydoc *y = NULL;
	bool empty;

	if (!file || !path) {
		s->oom = true;
		goto out;
	}
	y = ydoc_load(path, file, s->d, &empty);
	if (!y) {
		if (empty)
			diag_error(s->d, file, 1, 1, "fleet.yaml is empty; it needs township, area_code and villages");
		goto out;
	}
	root = ydoc_root(y);
	if (!ydoc_is_map(root)) {
		ydoc_error(y, root, "fleet.yaml must be a mapping (township:, area_code:, villages: ...)");
		goto out;
	}
	ydoc_map_check(y, root, keys, "fleet.yaml");
	load_township(s, y, file, root);
	if (!(v = ydoc_get(y, root, "villages")))
		ydoc_error(y, root, "missing key 'villages'");
	else if (!ydoc_is_seq(v) || ydoc_seq_len(v) == 0)
		ydoc_error(y, v, "villages must be a list of at least one village");
	else
		for (size_t i = 0; i < ydoc_seq_len(v); i++)
			load_village(s, y, file, ydoc_seq_at(y, v, i), &vcap, &ncap);
out:
	if (!s->town.timezone)
		s->town.timezone = schedule_sdup(s, DEFAULT_TZ);
	if (!s->town.name)
		s->town.name = schedule_sdup(s, "");
	if (!s->town.area_code)
		s->town.area_code = schedule_sdup(s, "");
	for (size_t i = 0; i < s->nnodes; i++) {
		s->nodes[i].village_code = s->villages[s->nodes[i].village].code;
		s->nodes[i].village_name = s->villages[s->nodes[i].village].name;
	}
	s->town.quiet = s->quiet;
	s->town.presence = s->presence;
	ydoc_free(y);
	free(path);
}

/* ---- the time zone alone ------------------------------------------------- */

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
