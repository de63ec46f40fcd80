/* SPDX-License-Identifier: GPL-2.0-or-later */
/* schedule.c -- the schedules model: loading a directory, names checked across its files, queries */
#include "schedule_model.h"

#include "cxtime.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers the readers share ---------------------------------------------- */

bool schedule_charset_ok(const char *s, size_t max, bool upper_and_underscore)
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

struct schedule_pos schedule_pos_of(const char *file, const yaml_node_t *n)
{
	struct schedule_pos p = { file, n ? ydoc_line(n) : 1, n ? ydoc_col(n) : 1 };

	return p;
}

char *schedule_concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *r = malloc(la + lb + 1);

	if (r) {
		memcpy(r, a, la);
		memcpy(r + la, b, lb + 1);
	}
	return r;
}

char *schedule_sdup(struct schedule *s, const char *str)
{
	char *r = strdup(str ? str : "");

	if (!r)
		s->oom = true;
	return r;
}

const char *schedule_add_file(struct schedule *s, const char *name)
{
	char **v = realloc(s->files, (s->nfiles + 1) * sizeof(*v));

	if (!v) {
		s->oom = true;
		return NULL;
	}
	s->files = v;
	v[s->nfiles] = schedule_concat(s->prefix, name);
	if (!v[s->nfiles]) {
		s->oom = true;
		return NULL;
	}
	return v[s->nfiles++];
}

void schedule_each_item(struct schedule *s, struct ydoc *y, const char *file, yaml_node_t *n,
			const char *what, size_t max, schedule_item_fn fn, void *ctx)
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

int schedule_cmp_day(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* ---- minutes of the day -------------------------------------------------------- */

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

/* ---- resolving names -------------------------------------------------------- */

static _Thread_local struct schedule *sort_ctx;

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

/* Index 0..N-1 sorted with CMP. qsort has no context argument, so the
 * model being sorted is in sort_ctx, one per thread: serve loads the
 * schedules on its main thread and on the automatic warnings' thread, and
 * at an edit both load at once. */
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

/* ---- loading and queries ------------------------------------------------- */

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
		s->prefix = schedule_concat(s->dir, !strcmp(s->dir, "/") ? "" : "/");
	if (!s->prefix)
		goto oom;
	schedule_fleet_load(s);
	names = schedule_file_list(s, &nnames);
	for (size_t i = 0; i < nnames && !s->oom; i++)
		schedule_file_load(s, names[i]);
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
			schedule_xfree(s->nodes[i].tags[t]);
		schedule_xfree(s->nodes[i].tags);
		schedule_xfree(s->nodes[i].id);
	}
	for (size_t i = 0; i < s->nvillages; i++) {
		schedule_xfree(s->villages[i].code);
		schedule_xfree(s->villages[i].name);
	}
	for (size_t i = 0; i < s->nnotices; i++) {
		struct schedule_notice *n = &s->notices[i];

		schedule_xfree(n->id);
		schedule_xfree(n->title);
		schedule_xfree(n->text);
		schedule_xfree(n->voice);
		schedule_xfree(n->audio);
		schedule_xfree(n->audio_shown);
	}
	for (size_t i = 0; i < s->nbcasts; i++) {
		struct bcast *b = &s->bcasts[i];
		struct refs *rs[] = { &b->villages, &b->tags, &b->nodes };

		schedule_xfree(b->pub.id);
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
	schedule_xfree(s->town.name);
	schedule_xfree(s->town.area_code);
	schedule_xfree(s->town.timezone);
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
	return b->ndates && bsearch(&day, b->dates, b->ndates, sizeof(*b->dates), schedule_cmp_day);
}

double schedule_presence_at(const struct schedule *s, int minute)
{
	if (minute < 0 || minute >= 1440)
		return 0.0;
	return s->presence_min[minute];
}
