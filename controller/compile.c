/* SPDX-License-Identifier: GPL-2.0-or-later */
/* compile.c -- a schedules model to per-node plans: occurrences, assets, overlaps, quiet hours */
#include "compile.h"
#include "compile_model.h"

#include "asset.h"
#include "cxtime.h"
#include "encode.h"
#include "fileio.h"
#include "tts.h"
#include "vec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_CHIME "chimes/ding-dong.wav"
#define MAX_ERROR_RECORDS (1u << 20)
#define NONE UINT32_MAX

struct render {                    /* one notice, rendered once */
	bool done, ok;
	uint32_t asset;
};

struct voice_slot {
	const char *name;
	struct voice *v;
	char why[160];             /* when it cannot be used */
};

struct chime_slot {
	char *path;
	bool ok;
	uint32_t asset;
};

enum { ERR_DELAY, ERR_QUIET };

struct cerr {
	int kind;
	uint32_t b, at, other_b;   /* other_b: the blocker (delay) or NONE */
	uint32_t occ, other_occ;
	size_t node;
	int64_t start, delay;
	int quiet;                 /* quiet range index */
};

struct quiet_iv {
	int64_t start, end;
	int range;
};

/* ---- helpers ----------------------------------------------------------- */

static void fmt_dur(int64_t ms, char *out, size_t n)
{
	int64_t s = (ms + 999) / 1000;

	if (s < 60)
		snprintf(out, n, "%llds", (long long)s);
	else if (s < 3600 && s % 60)
		snprintf(out, n, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 3600)
		snprintf(out, n, "%lldm", (long long)(s / 60));
	else if ((s / 60) % 60)
		snprintf(out, n, "%lldh%02lldm", (long long)(s / 3600), (long long)((s / 60) % 60));
	else
		snprintf(out, n, "%lldh", (long long)(s / 3600));
}

static void fmt_local(int64_t ms, bool with_date, char *out, size_t n)
{
	struct tm tm;

	cx_tz_ms_to_civil(ms, &tm);
	if (with_date)
		snprintf(out, n, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min);
	else if (tm.tm_sec)
		snprintf(out, n, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(out, n, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

static const char *prio_name(int p)
{
	return p == SCHEDULE_IMPORTANT ? "important" : "routine";
}

static int64_t day_ms(int64_t day, int minute)
{
	int y, m, d;
	int64_t ms = 0;

	if (minute >= 1440) {
		day += minute / 1440;
		minute %= 1440;
	}
	cx_civil_from_days(day, &y, &m, &d);
	if (cx_tz_civil_to_ms(y, m, d, minute / 60, minute % 60, &ms) < 0)
		ms = (day * 1440 + minute) * 60000LL; /* out of range; checked by callers */
	return ms;
}

/* ---- assets ------------------------------------------------------------- */

static uint32_t sha_hash(const char *sha)
{
	uint32_t h = 0;

	for (int i = 0; i < 8; i++)
		h = h * 16 + (uint32_t)(sha[i] <= '9' ? sha[i] - '0' : sha[i] - 'a' + 10);
	return h;
}

static bool hash_rebuild(struct compile *c, size_t cap)
{
	uint32_t *h = malloc(cap * sizeof(*h));

	if (!h)
		return false;
	for (size_t i = 0; i < cap; i++)
		h[i] = NONE;
	for (size_t i = 0; i < c->nassets; i++) {
		size_t k = sha_hash(c->assets[i].sha) & (cap - 1);

		while (h[k] != NONE)
			k = (k + 1) & (cap - 1);
		h[k] = (uint32_t)i;
	}
	free(c->asset_hash);
	c->asset_hash = h;
	c->hash_cap = cap;
	return true;
}

/* Index of asset SHA, added when new; NONE on ENOMEM. */
static uint32_t asset_add(struct compile *c, const char *sha, int64_t duration_ms)
{
	char name[CX_SHA256_HEX + 5];
	struct compile_asset *a;
	size_t k;

	if (c->hash_cap) {
		for (k = sha_hash(sha) & (c->hash_cap - 1); c->asset_hash[k] != NONE;
		     k = (k + 1) & (c->hash_cap - 1))
			if (!strcmp(c->assets[c->asset_hash[k]].sha, sha))
				return c->asset_hash[k];
	}
	if (!vec_grow((void **)&c->assets, &c->assets_cap, c->nassets + 1, sizeof(*c->assets)))
		goto oom;
	a = &c->assets[c->nassets];
	asset_filename(sha, name);
	a->sha = strdup(sha);
	a->path = fio_join(c->o.assets_dir, name);
	a->duration_ms = duration_ms;
	if (!a->sha || !a->path) {
		free((char *)a->sha);
		free((char *)a->path);
		goto oom;
	}
	c->nassets++;
	if (c->nassets * 2 > c->hash_cap && !hash_rebuild(c, c->hash_cap ? c->hash_cap * 2 : 64)) {
		c->nassets--;
		free((char *)a->sha);
		free((char *)a->path);
		goto oom;
	}
	if (c->nassets * 2 <= c->hash_cap) {
		k = sha_hash(sha) & (c->hash_cap - 1);
		while (c->asset_hash[k] != NONE && c->asset_hash[k] != c->nassets - 1)
			k = (k + 1) & (c->hash_cap - 1);
		c->asset_hash[k] = (uint32_t)(c->nassets - 1);
	}
	return (uint32_t)(c->nassets - 1);
oom:
	c->oom = true;
	return NONE;
}

static struct voice *get_voice(struct compile *c, struct voice_slot *vs, size_t *nvs,
			       const struct schedule_notice *nt, struct diag *d)
{
	const struct schedule_pos *p = &nt->voice_pos;
	struct voice_slot *slot = NULL;
	char file[128];
	struct stat st;
	char *path;

	for (size_t i = 0; i < *nvs && !slot; i++)
		if (!strcmp(vs[i].name, nt->voice))
			slot = &vs[i];
	if (!slot) {
		slot = &vs[(*nvs)++];
		slot->name = nt->voice;
		if (!c->o.voices_dir) {
			snprintf(slot->why, sizeof(slot->why),
				 "no voices directory for voice '%s' (give --voices DIR or set CUNXIANG_VOICES)",
				 nt->voice);
			goto out;
		}
		snprintf(file, sizeof(file), "%s.yaml", nt->voice);
		path = fio_join(c->o.voices_dir, file);
		if (!path) {
			c->oom = true;
			return NULL;
		}
		if (stat(path, &st) < 0)
			snprintf(slot->why, sizeof(slot->why), "unknown voice '%s' (there is no %s)",
				 nt->voice, path);
		else if (!(slot->v = voice_load(c->o.voices_dir, nt->voice, d)))
			snprintf(slot->why, sizeof(slot->why),
				 "voice '%s' cannot be used (see the errors in its profile)", nt->voice);
		free(path);
	}
out:
	if (!slot->v)
		diag_error(d, p->file, p->line, p->col, "%s", slot->why);
	return slot->v;
}

static uint32_t get_chime(struct compile *c, struct chime_slot *cs, size_t *ncs, const char *path,
			  const struct schedule_pos *p, struct diag *d)
{
	char sha[CX_SHA256_HEX], err[512] = "";
	int64_t ms;
	int r;

	for (size_t i = 0; i < *ncs; i++)
		if (!strcmp(cs[i].path, path))
			return cs[i].ok ? cs[i].asset : NONE;
	cs[*ncs].path = strdup(path);
	cs[*ncs].ok = false;
	if (!cs[*ncs].path) {
		c->oom = true;
		return NONE;
	}
	(*ncs)++;
	r = enc_file_asset(path, ENC_DEFAULT_BITRATE, c->o.assets_dir, c->o.cache_dir, sha, &ms,
			   err, sizeof(err));
	if (r < 0) {
		diag_error(d, p->file, p->line, p->col, "cannot use chime %s: %s", path,
			   *err ? err : strerror(-r));
		return NONE;
	}
	cs[*ncs - 1].asset = asset_add(c, sha, ms);
	cs[*ncs - 1].ok = cs[*ncs - 1].asset != NONE;
	return cs[*ncs - 1].asset;
}

static bool render_notice(struct compile *c, size_t i, struct render *rn, struct voice *v,
			  struct diag *d)
{
	const struct schedule_notice *nt = schedule_notice(c->s, i);
	char sha[CX_SHA256_HEX], err[512] = "";
	int64_t ms = 0;
	int r;

	if (rn->done)
		return rn->ok;
	rn->done = true;
	if (nt->text) {
		r = tts_asset(v, nt->text, c->o.assets_dir, c->o.cache_dir, sha, &ms, err, sizeof(err));
		if (r < 0) {
			diag_error(d, nt->text_pos.file, nt->text_pos.line, nt->text_pos.col,
				   "cannot render notice '%s': %s", nt->id, *err ? err : strerror(-r));
			return false;
		}
	} else {
		r = enc_file_asset(nt->audio, ENC_DEFAULT_BITRATE, c->o.assets_dir, c->o.cache_dir,
				   sha, &ms, err, sizeof(err));
		if (r < 0) {
			diag_error(d, nt->audio_pos.file, nt->audio_pos.line, nt->audio_pos.col,
				   "cannot use audio '%s': %s", nt->audio_shown,
				   *err ? err : strerror(-r));
			return false;
		}
	}
	rn->asset = asset_add(c, sha, ms);
	rn->ok = rn->asset != NONE;
	return rn->ok;
}

/* Build each valid broadcast's playlist. A text notice's voice chime plays
 * before every repetition (the profile says "before the text"); otherwise
 * the voices directory's chimes/ding-dong.wav separates repetitions, for
 * recordings as for voices without a chime. */
static void build_playlists(struct compile *c, struct diag *d)
{
	size_t nn = schedule_notice_count(c->s), nb = schedule_broadcast_count(c->s);
	struct render *rn = calloc(nn ? nn : 1, sizeof(*rn));
	struct voice_slot *vs = calloc(nn ? nn : 1, sizeof(*vs));
	struct chime_slot *cs = calloc(nn + 2, sizeof(*cs));
	size_t nvs = 0, ncs = 0;
	char *def_chime = NULL;
	struct stat st;

	if (!rn || !vs || !cs) {
		c->oom = true;
		goto out;
	}
	if (c->o.voices_dir) {
		def_chime = fio_join(c->o.voices_dir, DEFAULT_CHIME);
		if (def_chime && (stat(def_chime, &st) < 0 || !S_ISREG(st.st_mode))) {
			free(def_chime);
			def_chime = NULL;
		}
	}
	for (size_t bi = 0; bi < nb && !c->oom; bi++) {
		const struct schedule_broadcast *b = schedule_broadcast(c->s, bi);
		const struct schedule_notice *nt;
		struct playlist *pl = &c->pl[bi];
		uint32_t body, lead = NONE, between = NONE;
		struct voice *v = NULL;
		size_t k = 0;

		if (!b->valid)
			continue;
		nt = schedule_notice(c->s, b->notice);
		if (nt->text && !rn[b->notice].done) {
			v = get_voice(c, vs, &nvs, nt, d);
			if (!v) {
				rn[b->notice].done = true;
				continue;
			}
		} else if (nt->text) {
			for (size_t i = 0; i < nvs; i++)
				if (!strcmp(vs[i].name, nt->voice))
					v = vs[i].v;
		}
		if (!render_notice(c, b->notice, &rn[b->notice], v, d))
			continue;
		body = rn[b->notice].asset;
		if (v && voice_chime(v)) {
			lead = get_chime(c, cs, &ncs, voice_chime(v), &nt->voice_pos, d);
			if (lead == NONE)
				continue;
			between = lead;
		} else if (b->repeat > 1 && def_chime) {
			between = get_chime(c, cs, &ncs, def_chime, &b->pos, d);
			if (between == NONE)
				continue;
		}
		pl->assets = calloc((size_t)b->repeat * 2 + 1, sizeof(*pl->assets));
		pl->shas = calloc((size_t)b->repeat * 2 + 1, sizeof(*pl->shas));
		if (!pl->assets || !pl->shas) {
			c->oom = true;
			break;
		}
		for (int r = 0; r < b->repeat; r++) {
			if (r == 0 && lead != NONE)
				pl->assets[k++] = lead;
			else if (r > 0 && between != NONE)
				pl->assets[k++] = between;
			pl->assets[k++] = body;
		}
		pl->n = k;
		pl->json = json_array();
		if (!pl->json) {
			c->oom = true;
			break;
		}
		for (size_t i = 0; i < k; i++) {
			pl->shas[i] = c->assets[pl->assets[i]].sha;
			pl->duration_ms += c->assets[pl->assets[i]].duration_ms;
			if (json_array_append_new(pl->json, json_string(pl->shas[i])) < 0)
				c->oom = true;
		}
		pl->ok = true;
	}
out:
	for (size_t i = 0; i < nvs; i++)
		voice_free(vs[i].v);
	for (size_t i = 0; i < ncs; i++)
		free(cs[i].path);
	free(def_chime);
	free(rn);
	free(vs);
	free(cs);
}

/* ---- occurrences -------------------------------------------------------- */

static int cmp_occ_time(const void *a, const void *b)
{
	const struct occ *x = a, *y = b;

	if (x->schedule_ms != y->schedule_ms)
		return x->schedule_ms < y->schedule_ms ? -1 : 1;
	return (x->at > y->at) - (x->at < y->at);
}

static void build_occurrences(struct compile *c)
{
	size_t nb = schedule_broadcast_count(c->s);

	for (size_t bi = 0; bi < nb && !c->oom; bi++) {
		const struct schedule_broadcast *b = schedule_broadcast(c->s, bi);
		struct playlist *pl = &c->pl[bi];
		size_t first = c->nocc, w;

		pl->first_occ = (uint32_t)first;
		if (!pl->ok)
			continue;
		for (int64_t day = c->o.from_day; day < c->o.from_day + c->o.days; day++) {
			if (!schedule_broadcast_on(c->s, bi, day))
				continue;
			if (!vec_grow((void **)&c->occ, &c->occ_cap, c->nocc + b->nat, sizeof(*c->occ))) {
				c->oom = true;
				return;
			}
			for (size_t a = 0; a < b->nat; a++) {
				struct occ *o = &c->occ[c->nocc++];

				memset(o, 0, sizeof(*o));
				o->b = (uint32_t)bi;
				o->at = (uint32_t)a;
				o->schedule_ms = day_ms(day, b->at[a].minute);
			}
		}
		/* A zone's spring-forward gap moves a time onto the next hour,
		 * where the broadcast may already play: one playing is enough. */
		if (c->nocc - first > 1)
			qsort(c->occ + first, c->nocc - first, sizeof(*c->occ), cmp_occ_time);
		w = first;
		for (size_t i = first; i < c->nocc; i++)
			if (w == first || c->occ[w - 1].schedule_ms != c->occ[i].schedule_ms)
				c->occ[w++] = c->occ[i];
		c->nocc = w;
		pl->nocc = (uint32_t)(c->nocc - first);
		for (size_t i = first; i < c->nocc; i++) {
			struct occ *o = &c->occ[i];
			struct tm tm;
			char buf[128];

			cx_tz_ms_to_civil(o->schedule_ms, &tm);
			snprintf(buf, sizeof(buf), "%s@%04d-%02d-%02dT%02d:%02d", b->id,
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
			o->name = strdup(buf);
			if (!o->name)
				c->oom = true;
		}
	}
}

/* Quiet hours of every day the window (and delays out of it) may touch,
 * as UTC instants, sorted and merged. */
static void build_quiet(struct compile *c)
{
	const struct schedule_township *t = schedule_township(c->s);
	size_t cap = ((size_t)c->o.days + 3) * (t->nquiet ? t->nquiet : 1), w = 0;

	c->quiet = calloc(cap, sizeof(*c->quiet));
	if (!c->quiet) {
		c->oom = true;
		return;
	}
	for (int64_t day = c->o.from_day - 1; day <= c->o.from_day + c->o.days + 1; day++)
		for (size_t q = 0; q < t->nquiet; q++) {
			const struct schedule_range *r = &t->quiet[q];
			struct quiet_iv *iv = &c->quiet[c->nquiet++];

			iv->start = day_ms(day, r->start);
			iv->end = day_ms(day, r->end > r->start ? r->end : r->end + 1440);
			iv->range = (int)q;
		}
	for (size_t i = 1; i < c->nquiet; i++) { /* insertion sort: few, nearly sorted */
		struct quiet_iv x = c->quiet[i];
		size_t j = i;

		while (j > 0 && c->quiet[j - 1].start > x.start) {
			c->quiet[j] = c->quiet[j - 1];
			j--;
		}
		c->quiet[j] = x;
	}
	for (size_t i = 0; i < c->nquiet; i++) {
		if (w > 0 && c->quiet[i].start <= c->quiet[w - 1].end) {
			if (c->quiet[i].end > c->quiet[w - 1].end)
				c->quiet[w - 1].end = c->quiet[i].end;
			continue;
		}
		c->quiet[w++] = c->quiet[i];
	}
	c->nquiet = w;
}

/* ---- placement per node ------------------------------------------------- */

static void add_error(struct compile *c, const struct cerr *e)
{
	if (c->nerrs >= MAX_ERROR_RECORDS)
		return;
	if (!vec_grow((void **)&c->errs, &c->errs_cap, c->nerrs + 1, sizeof(*c->errs))) {
		c->oom = true;
		return;
	}
	c->errs[c->nerrs++] = *e;
}

static int64_t occ_dur(const struct compile *c, uint32_t o)
{
	return c->pl[c->occ[o].b].duration_ms;
}

static _Thread_local const struct compile *cmp_ctx;

/* The end of the run of EV sorted by start that begins at I. */
static size_t run_end(const struct ev *ev, size_t i, size_t n)
{
	while (i + 1 < n && ev[i].start <= ev[i + 1].start)
		i++;
	return i + 1;
}

/* Sort EV by start, stably. A node's events come as runs already in
 * order (a broadcast's occurrences, by time), so neighbouring runs are
 * merged until one is left. TMP has room for N. */
static void sort_by_start(struct ev *ev, struct ev *tmp, size_t n)
{
	while (n > 1 && run_end(ev, 0, n) < n) {
		for (size_t i = 0; i < n;) {
			size_t b = run_end(ev, i, n), e = b < n ? run_end(ev, b, n) : b;
			size_t x = i, y = b, k = i;

			while (x < b && y < e)
				tmp[k++] = ev[y].start < ev[x].start ? ev[y++] : ev[x++];
			while (x < b)
				tmp[k++] = ev[x++];
			while (y < e)
				tmp[k++] = ev[y++];
			i = e;
		}
		memcpy(ev, tmp, n * sizeof(*ev));
	}
}

/* Place the events of one node. IN is in placement order (priority, then
 * declaration, then time); OUT receives them sorted by start. TMP has
 * room for N events. */
static void place(struct compile *c, size_t node, const struct ev *in, size_t n, struct ev *out,
		  struct ev *tmp)
{
	int64_t max_delay = schedule_township(c->s)->max_delay_ms;
	bool conflict = false;
	size_t m = 0;

	/* Most nodes have no overlap at all: sort by time and look. Equal
	 * times keep placement order. */
	for (size_t i = 0; i < n; i++) {
		out[i].occ = in[i].occ;
		out[i].start = c->occ[in[i].occ].schedule_ms;
	}
	sort_by_start(out, tmp, n);
	for (size_t i = 0; i + 1 < n && !conflict; i++)
		conflict = out[i].start + occ_dur(c, out[i].occ) > out[i + 1].start;
	if (!conflict)
		return;
	/* Greedy in placement order into a sorted array of disjoint
	 * intervals: each event takes the first gap at or after its time that
	 * is long enough, so a higher priority or earlier declaration is never
	 * moved by a later one. Intervals are disjoint, so their ends are
	 * sorted too and a binary search finds where to look. */
	for (size_t i = 0; i < n; i++) {
		uint32_t o = in[i].occ, blocker = NONE;
		int64_t sched = c->occ[o].schedule_ms, t = sched, dur = occ_dur(c, o);
		size_t lo = 0, hi = m;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (out[mid].start + occ_dur(c, out[mid].occ) <= t)
				lo = mid + 1;
			else
				hi = mid;
		}
		while (lo < m && out[lo].start < t + dur) {
			if (blocker == NONE)
				blocker = out[lo].occ;
			t = out[lo].start + occ_dur(c, out[lo].occ);
			lo++;
		}
		memmove(out + lo + 1, out + lo, (m - lo) * sizeof(*out));
		out[lo].occ = o;
		out[lo].start = t;
		m++;
		if (t - sched > max_delay) {
			struct cerr e = {
				.kind = ERR_DELAY, .b = c->occ[o].b, .at = c->occ[o].at,
				.other_b = c->occ[blocker].b, .occ = o, .other_occ = blocker,
				.node = node, .start = t, .delay = t - sched,
			};

			add_error(c, &e);
		}
	}
}

static void check_quiet(struct compile *c, size_t node, const struct ev *ev, size_t n)
{
	size_t q = 0;

	for (size_t i = 0; i < n && c->nquiet; i++) {
		const struct occ *o = &c->occ[ev[i].occ];
		const struct schedule_broadcast *b = schedule_broadcast(c->s, o->b);
		int64_t end = ev[i].start + occ_dur(c, ev[i].occ);

		if (b->priority == SCHEDULE_IMPORTANT && b->quiet_ok)
			continue;
		/* Events come sorted by start, so the quiet cursor only moves on. */
		while (q < c->nquiet && c->quiet[q].end <= ev[i].start)
			q++;
		if (q < c->nquiet && c->quiet[q].start < end) {
			struct cerr e = {
				.kind = ERR_QUIET, .b = o->b, .at = o->at, .other_b = NONE,
				.occ = ev[i].occ, .other_occ = NONE, .node = node,
				.start = ev[i].start, .delay = ev[i].start - o->schedule_ms,
				.quiet = c->quiet[q].range,
			};

			add_error(c, &e);
		}
	}
}

static void build_nodes(struct compile *c)
{
	size_t nn = schedule_node_count(c->s), nb = schedule_broadcast_count(c->s), off = 0, maxn = 0;
	size_t *count = calloc(nn ? nn : 1, sizeof(*count));
	uint32_t *stamp = NULL;
	struct ev *in = NULL, *tmp = NULL;

	c->np = calloc(nn ? nn : 1, sizeof(*c->np));
	if (!count || !c->np)
		goto oom;
	for (size_t bi = 0; bi < nb; bi++) {
		const struct schedule_broadcast *b = schedule_broadcast(c->s, bi);

		if (!c->pl[bi].ok)
			continue;
		for (size_t t = 0; t < b->ntargets; t++)
			count[b->targets[t]] += c->pl[bi].nocc;
		c->total += b->ntargets * c->pl[bi].nocc;
		if (c->total > COMPILE_MAX_EVENTS)
			break;
	}
	if (c->total > COMPILE_MAX_EVENTS) {
		c->too_big = true;
		goto fail;
	}
	c->evpool = malloc((c->total ? c->total : 1) * sizeof(*c->evpool));
	if (!c->evpool)
		goto oom;
	for (size_t i = 0; i < nn; i++) {
		c->np[i].ev = c->evpool + off;
		off += count[i];
		if (count[i] > maxn)
			maxn = count[i];
	}
	in = malloc((maxn ? maxn : 1) * sizeof(*in));
	tmp = malloc((maxn ? maxn : 1) * sizeof(*tmp));
	stamp = calloc(c->nassets ? c->nassets : 1, sizeof(*stamp));
	if (!in || !tmp || !stamp)
		goto oom;
	/* Fill in placement order: important first, then routine; within a
	 * priority in declaration order; within a broadcast by time. Filled
	 * into the node's final slot, then placed from a copy. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t bi = 0; bi < nb; bi++) {
			const struct schedule_broadcast *b = schedule_broadcast(c->s, bi);
			const struct playlist *pl = &c->pl[bi];

			if (!pl->ok || (b->priority == SCHEDULE_IMPORTANT) != (pass == 0))
				continue;
			for (size_t t = 0; t < b->ntargets; t++) {
				struct nodeplan *np = &c->np[b->targets[t]];

				for (uint32_t k = 0; k < pl->nocc; k++)
					np->ev[np->n++].occ = pl->first_occ + k;
			}
		}
	for (size_t i = 0; i < nn && !c->oom; i++) {
		struct nodeplan *np = &c->np[i];

		if (np->n)
			memcpy(in, np->ev, np->n * sizeof(*in));
		place(c, i, in, np->n, np->ev, tmp);
		check_quiet(c, i, np->ev, np->n);
		/* The node's assets, each once, in table order. */
		np->assets = malloc((c->nassets ? c->nassets : 1) * sizeof(*np->assets));
		if (!np->assets)
			goto oom;
		for (size_t e = 0; e < np->n; e++) {
			const struct playlist *pl = &c->pl[c->occ[np->ev[e].occ].b];

			for (size_t a = 0; a < pl->n; a++)
				if (stamp[pl->assets[a]] != i + 1) {
					stamp[pl->assets[a]] = (uint32_t)(i + 1);
					np->assets[np->nassets++] = pl->assets[a];
				}
		}
		for (size_t x = 1; x < np->nassets; x++) {
			size_t v = np->assets[x], j = x;

			while (j > 0 && np->assets[j - 1] > v) {
				np->assets[j] = np->assets[j - 1];
				j--;
			}
			np->assets[j] = v;
		}
	}
	free(count);
	free(in);
	free(tmp);
	free(stamp);
	return;
oom:
fail:
	c->oom = true;
	free(count);
	free(in);
	free(tmp);
	free(stamp);
}

/* ---- errors --------------------------------------------------------------- */

static int cmp_err(const void *a, const void *b)
{
	const struct cerr *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind - y->kind;
	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->other_b != y->other_b)
		return x->other_b < y->other_b ? -1 : 1;
	if (cmp_ctx->occ[x->occ].schedule_ms != cmp_ctx->occ[y->occ].schedule_ms)
		return cmp_ctx->occ[x->occ].schedule_ms < cmp_ctx->occ[y->occ].schedule_ms ? -1 : 1;
	return (x->node > y->node) - (x->node < y->node);
}

static void report_errors(struct compile *c, struct diag *d)
{
	const struct schedule_township *t = schedule_township(c->s);
	char maxd[32];

	fmt_dur(t->max_delay_ms, maxd, sizeof(maxd));
	cmp_ctx = c;
	if (c->nerrs)
		qsort(c->errs, c->nerrs, sizeof(*c->errs), cmp_err);
	for (size_t i = 0; i < c->nerrs;) {
		const struct cerr *e = &c->errs[i];
		const struct schedule_broadcast *b = schedule_broadcast(c->s, e->b);
		const struct schedule_pos *p = &b->at[e->at].pos;
		const char *node = schedule_node(c->s, e->node)->id;
		char when[64], more[64] = "", dl[32], s1[64], s2[64], r[12];
		size_t j = i + 1;

		while (j < c->nerrs && c->errs[j].kind == e->kind && c->errs[j].b == e->b &&
		       c->errs[j].at == e->at && c->errs[j].other_b == e->other_b)
			j++;
		if (j - i > 1)
			snprintf(more, sizeof(more), " (and %zu more time%s)", j - i - 1,
				 j - i - 1 > 1 ? "s" : "");
		fmt_local(c->occ[e->occ].schedule_ms, true, when, sizeof(when));
		fmt_dur(e->delay, dl, sizeof(dl));
		if (e->kind == ERR_DELAY) {
			const struct schedule_broadcast *o = schedule_broadcast(c->s, e->other_b);

			fmt_local(c->occ[e->other_occ].schedule_ms, false, s1, sizeof(s1));
			diag_error(d, p->file, p->line, p->col,
				   "broadcast '%s' at %s on node %s would be delayed %s by '%s' (%s, %s), more than max_delay %s%s",
				   b->id, when, node, dl, o->id, prio_name(o->priority), s1, maxd, more);
		} else {
			fmt_local(e->start, false, s1, sizeof(s1));
			fmt_local(e->start + c->pl[e->b].duration_ms, false, s2, sizeof(s2));
			schedule_range_format(&t->quiet[e->quiet], r);
			diag_error(d, p->file, p->line, p->col,
				   "%s broadcast '%s' at %s on node %s plays %s-%s%s%s, into quiet hours %s%s%s",
				   prio_name(b->priority), b->id, when, node, s1, s2,
				   e->delay ? " after a delay of " : "", e->delay ? dl : "", r,
				   b->priority == SCHEDULE_IMPORTANT ? "; add quiet_ok: true to allow it" : "",
				   more);
		}
		i = j;
	}
}

/* ---- public --------------------------------------------------------------- */

struct compile *compile_run(const struct schedule *s, const struct compile_opts *opts,
			    struct diag *d)
{
	const struct schedule_township *t = schedule_township(s);
	struct compile *c;
	int y, m, dd, r;

	if (opts->days < 1 || opts->days > COMPILE_MAX_DAYS || !opts->assets_dir) {
		diag_error(d, NULL, 0, 0, "the window must be 1 to %d days", COMPILE_MAX_DAYS);
		errno = EINVAL;
		return NULL;
	}
	cx_civil_from_days(opts->from_day, &y, &m, &dd);
	if (!cx_date_valid(y, m, dd) || opts->from_day + opts->days > cx_days_from_civil(9999, 1, 1)) {
		diag_error(d, NULL, 0, 0, "the window starts outside 1970..9998");
		errno = EINVAL;
		return NULL;
	}
	/* Every instant below is computed in the selected zone; a command that
	 * forgot to select the township's would shift every broadcast. */
	if (!cx_tz_selected() || strcmp(cx_tz_selected(), t->timezone) != 0) {
		diag_error(d, NULL, 0, 0, "the township's time zone %s is not selected", t->timezone);
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto oom;
	c->s = s;
	c->o = *opts;
	c->from_ms = day_ms(opts->from_day, 0);
	c->horizon_ms = day_ms(opts->from_day + opts->days, 0);
	c->pl = calloc(schedule_broadcast_count(s) + 1, sizeof(*c->pl));
	if (!c->pl)
		goto oom;
	r = fio_mkdir_p(opts->assets_dir, 0755);
	if (r < 0) {
		diag_error(d, opts->assets_dir, 0, 0, "cannot create the assets directory: %s",
			   strerror(-r));
		compile_free(c);
		errno = -r;
		return NULL;
	}
	build_playlists(c, d);
	if (!c->oom)
		build_occurrences(c);
	if (!c->oom)
		build_quiet(c);
	if (!c->oom)
		build_nodes(c);
	if (c->too_big) {
		diag_error(d, schedule_dir(s), 0, 0,
			   "the schedules make more than %u plays in %d days; compile fewer days",
			   COMPILE_MAX_EVENTS, opts->days);
		compile_free(c);
		errno = EFBIG;
		return NULL;
	}
	if (c->oom)
		goto oom;
	report_errors(c, d);
	if (c->oom)
		goto oom;
	return c;
oom:
	compile_free(c);
	diag_error(d, NULL, 0, 0, "out of memory");
	errno = ENOMEM;
	return NULL;
}

void compile_free(struct compile *c)
{
	size_t nb;

	if (!c)
		return;
	nb = schedule_broadcast_count(c->s);
	for (size_t i = 0; i < c->nassets; i++) {
		free((char *)c->assets[i].sha);
		free((char *)c->assets[i].path);
	}
	for (size_t i = 0; i < nb && c->pl; i++) {
		free(c->pl[i].assets);
		free(c->pl[i].shas);
		json_decref(c->pl[i].json);
	}
	for (size_t i = 0; i < c->nocc; i++) {
		free(c->occ[i].name);
		json_decref(c->occ[i].json);
		free(c->occ[i].text);
	}
	if (c->np)
		for (size_t i = 0; i < schedule_node_count(c->s); i++)
			free(c->np[i].assets);
	free(c->np);
	free(c->evpool);
	free(c->assets);
	free(c->asset_hash);
	free(c->pl);
	free(c->occ);
	free(c->errs);
	free(c->quiet);
	free(c);
}

int64_t compile_from_ms(const struct compile *c) { return c->from_ms; }
int64_t compile_horizon_ms(const struct compile *c) { return c->horizon_ms; }
size_t compile_node_count(const struct compile *c) { return schedule_node_count(c->s); }
size_t compile_total_events(const struct compile *c) { return c->total; }
size_t compile_asset_count(const struct compile *c) { return c->nassets; }

const struct compile_asset *compile_asset(const struct compile *c, size_t i)
{
	return i < c->nassets ? &c->assets[i] : NULL;
}

size_t compile_event_count(const struct compile *c, size_t node)
{
	return node < schedule_node_count(c->s) ? c->np[node].n : 0;
}

void compile_event(const struct compile *c, size_t node, size_t i, struct compile_event *ev)
{
	const struct ev *e = &c->np[node].ev[i];
	const struct occ *o = &c->occ[e->occ];
	const struct schedule_broadcast *b = schedule_broadcast(c->s, o->b);
	const struct playlist *pl = &c->pl[o->b];

	ev->occ = o->name;
	ev->broadcast = b->id;
	ev->broadcast_index = o->b;
	ev->notice_index = b->notice;
	ev->notice = schedule_notice(c->s, b->notice)->id;
	ev->scheduled_ms = o->schedule_ms;
	ev->start_ms = e->start;
	ev->duration_ms = pl->duration_ms;
	ev->priority = b->priority;
	ev->volume = b->volume;
	ev->assets = pl->shas;
	ev->nassets = pl->n;
}

size_t compile_node_assets(const struct compile *c, size_t node, const size_t **idx)
{
	*idx = c->np[node].assets;
	return c->np[node].nassets;
}

const struct schedule *compile_schedule(const struct compile *c)
{
	return c->s;
}
