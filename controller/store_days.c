/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store_days.c -- each node's plays of a day kept as one packed row, for reports */
#include "store_days.h"
#include "store_db.h"
#include "vec.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A packed day, all numbers unsigned LEB128:
 *   version (PACK_VERSION)
 *   n strings, each: length, bytes       the notices, broadcasts and
 *                                        villages of the day, each once
 *   n plays, by start_ms then occ, each:
 *     start_ms - day * STORE_DAY_MS
 *     occ: length, bytes
 *     notice, broadcast, village         indexes into the strings
 *     duration_ms, priority
 *     outcome (enum play_outcome), | DONE_GIVEN when done_ms follows
 *     [done_ms - start_ms, zigzag]       when the completed receipt said
 *                                        when that play started */
#define PACK_VERSION 1
#define DONE_GIVEN 0x80

static const char *const sql[S__COUNT] = {
	[S_DAYS_DIRTY] = "SELECT node, day FROM play_days_dirty ORDER BY node, day",
	[S_DAYS_ROWS] = "SELECT " STORE_DAYS_PLAY_COLS " FROM planned"
		" WHERE node = ?1 AND start_ms >= ?2 AND start_ms < ?3 ORDER BY start_ms, occ",
	[S_DAYS_PUT] = "INSERT INTO play_days(node, day, plays) VALUES(?1, ?2, ?3)"
		" ON CONFLICT(node, day) DO UPDATE SET plays = excluded.plays",
	[S_DAYS_DEL] = "DELETE FROM play_days WHERE node = ?1 AND day = ?2",
	[S_DAYS_CLEAN] = "DELETE FROM play_days_dirty",
};

static sqlite3_stmt *stmt(struct store *s, enum store_sid id)
{
	return store_db_stmt(s, id, sql[id]);
}

enum play_outcome store_days_outcome(sqlite3_stmt *st, int i0, int64_t *done_ms)
{
	static const char *const ended[] = {
		[PLAY_INTERRUPTED] = "interrupted", [PLAY_FAILED] = "failed",
		[PLAY_SKIPPED] = "skipped", [PLAY_EXPIRED] = "expired",
	};
	const char *end = (const char *)sqlite3_column_text(st, i0 + 2);

	*done_ms = STORE_NONE;
	if (sqlite3_column_int(st, i0)) {
		*done_ms = store_db_column_opt(st, i0 + 1);
		return PLAY_COMPLETED;
	}
	for (int o = PLAY_INTERRUPTED; end && o <= PLAY_EXPIRED; o++)
		if (!strcmp(end, ended[o]))
			return (enum play_outcome)o;
	return sqlite3_column_int(st, i0 + 3) ? PLAY_UNFINISHED : PLAY_NONE;
}

/* ---- packing ------------------------------------------------------------- */

struct pack {
	uint8_t *b;
	size_t n, cap;
	bool oom;
	const char **str;            /* the day's strings so far */
	size_t nstr, scap;
	uint8_t *body;               /* the plays, packed after the strings */
	size_t nbody, bcap;
};

static void put_bytes(uint8_t **b, size_t *n, size_t *cap, bool *oom, const void *p, size_t len)
{
	if (!len)
		return;
	if (*oom || !vec_grow((void **)b, cap, *n + len, 1)) {
		*oom = true;
		return;
	}
	memcpy(*b + *n, p, len);
	*n += len;
}

static void put_uv(uint8_t **b, size_t *n, size_t *cap, bool *oom, uint64_t v)
{
	uint8_t t[10];
	size_t k = 0;

	do {
		t[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	put_bytes(b, n, cap, oom, t, k);
}

static void body_uv(struct pack *p, uint64_t v)
{
	put_uv(&p->body, &p->nbody, &p->bcap, &p->oom, v);
}

static void body_str(struct pack *p, const char *t)
{
	size_t len = t ? strlen(t) : 0;

	body_uv(p, len);
	put_bytes(&p->body, &p->nbody, &p->bcap, &p->oom, t, len);
}

/* T's index in the day's strings, added when new. A day holds few. */
static uint64_t intern(struct pack *p, const char *t)
{
	t = t ? t : "";
	for (size_t i = 0; i < p->nstr; i++)
		if (!strcmp(p->str[i], t))
			return i;
	if (!vec_grow((void **)&p->str, &p->scap, p->nstr + 1, sizeof(*p->str)) ||
	    !(t = strdup(t))) {
		p->oom = true;
		return 0;
	}
	p->str[p->nstr] = t;
	return p->nstr++;
}

static void pack_reset(struct pack *p)
{
	for (size_t i = 0; i < p->nstr; i++)
		free((char *)p->str[i]);
	p->n = p->nstr = p->nbody = 0;
	p->oom = false;
}

static void pack_free(struct pack *p)
{
	pack_reset(p);
	free(p->b);
	free(p->str);
	free(p->body);
}

/* One row of S_DAYS_ROWS into the body. */
static void pack_play(struct pack *p, sqlite3_stmt *st, int64_t day)
{
	int64_t start = sqlite3_column_int64(st, 4), done;
	enum play_outcome o = store_days_outcome(st, STORE_DAYS_OUTCOME_COL, &done);

	body_uv(p, (uint64_t)(start - day * STORE_DAY_MS));
	body_str(p, (const char *)sqlite3_column_text(st, 0));
	for (int k = 1; k <= 3; k++)
		body_uv(p, intern(p, (const char *)sqlite3_column_text(st, k)));
	body_uv(p, (uint64_t)sqlite3_column_int64(st, 5));
	body_uv(p, (uint64_t)sqlite3_column_int64(st, 6));
	body_uv(p, (uint64_t)o | (done != STORE_NONE ? DONE_GIVEN : 0));
	if (done != STORE_NONE) {
		int64_t d = (int64_t)((uint64_t)done - (uint64_t)start);

		body_uv(p, (uint64_t)d << 1 ^ (uint64_t)(d >> 63));
	}
}

/* Repack NODE's DAY from `planned`. \retval 0 / -errno */
static int repack(struct store *s, struct pack *p, const char *node, int64_t day)
{
	sqlite3_stmt *rows = stmt(s, S_DAYS_ROWS), *w;
	size_t nplay = 0;
	int rc, r;

	if (!rows)
		return -EIO;
	pack_reset(p);
	sqlite3_bind_text(rows, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(rows, 2, day * STORE_DAY_MS);
	sqlite3_bind_int64(rows, 3, (day + 1) * STORE_DAY_MS);
	while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
		pack_play(p, rows, day);
		nplay++;
	}
	store_db_release(rows);
	if (rc != SQLITE_DONE)
		return store_db_err(s, "pack the plays of a day", rc);
	put_uv(&p->b, &p->n, &p->cap, &p->oom, PACK_VERSION);
	put_uv(&p->b, &p->n, &p->cap, &p->oom, p->nstr);
	for (size_t i = 0; i < p->nstr; i++) {
		put_uv(&p->b, &p->n, &p->cap, &p->oom, strlen(p->str[i]));
		put_bytes(&p->b, &p->n, &p->cap, &p->oom, p->str[i], strlen(p->str[i]));
	}
	put_uv(&p->b, &p->n, &p->cap, &p->oom, nplay);
	put_bytes(&p->b, &p->n, &p->cap, &p->oom, p->body, p->nbody);
	if (p->oom) {
		store_db_seterr(s, "out of memory");
		return -ENOMEM;
	}
	if (!(w = stmt(s, nplay ? S_DAYS_PUT : S_DAYS_DEL)))
		return -EIO;
	sqlite3_bind_text(w, 1, node, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(w, 2, day);
	if (nplay)
		sqlite3_bind_blob(w, 3, p->b, (int)p->n, SQLITE_STATIC);
	r = store_db_run(s, w, "pack the plays of a day");
	return r;
}

int store_days_flush(struct store *s)
{
	sqlite3_stmt *dirty = stmt(s, S_DAYS_DIRTY), *clean;
	struct pack p = { 0 };
	struct day { char *node; int64_t day; } *v = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;

	if (!dirty)
		return -EIO;
	/* Read the notes before repacking: repacking writes play_days only,
	 * but a cursor open on a table being changed is not to be relied on. */
	while ((rc = sqlite3_step(dirty)) == SQLITE_ROW) {
		const char *node = (const char *)sqlite3_column_text(dirty, 0);

		if (!vec_grow((void **)&v, &cap, n + 1, sizeof(*v)) ||
		    !(v[n].node = strdup(node ? node : ""))) {
			r = -ENOMEM;
			store_db_seterr(s, "out of memory");
			break;
		}
		v[n++].day = sqlite3_column_int64(dirty, 1);
	}
	store_db_release(dirty);
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, "read the days to pack", rc);
	for (size_t i = 0; i < n && r == 0; i++)
		r = repack(s, &p, v[i].node, v[i].day);
	if (r == 0 && n) {
		if (!(clean = stmt(s, S_DAYS_CLEAN)))
			r = -EIO;
		else
			r = store_db_run(s, clean, "pack the plays of a day");
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].node);
	free(v);
	pack_free(&p);
	return r;
}

/* ---- reading --------------------------------------------------------------- */

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t get_uv(struct cursor *c)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (c->p >= c->end)
			break;
		b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

/* LEN bytes of C, checked. */
static const uint8_t *get_bytes(struct cursor *c, uint64_t len)
{
	const uint8_t *b = c->p;

	if (c->bad || len > (uint64_t)(c->end - c->p)) {
		c->bad = true;
		return NULL;
	}
	c->p += len;
	return b;
}

/* Append B[0..LEN) and a NUL to the reader's text. \retval offset / SIZE_MAX */
static size_t text_add(struct days_reader *rd, size_t *tlen, const uint8_t *b, size_t len)
{
	size_t off = *tlen;

	if (!vec_grow((void **)&rd->text, &rd->tcap, off + len + 1, 1))
		return SIZE_MAX;
	memcpy(rd->text + off, b, len);
	rd->text[off + len] = '\0';
	*tlen = off + len + 1;
	return off;
}

void days_reader_free(struct days_reader *rd)
{
	free(rd->text);
	free(rd->off);
	memset(rd, 0, sizeof(*rd));
}

/* FN and what it returned, to tell its errors from the row's. */
struct each {
	int (*fn)(const struct store_play *p, void *ud);
	void *ud;
	int r;
};

static int each_play(const struct store_play *p, void *ud)
{
	struct each *e = ud;

	e->r = e->fn(p, e->ud);
	return e->r;
}

/* The day's string I, or NULL when there is none such. */
static const char *string_at(const struct days_reader *rd, uint64_t nstr, uint64_t i)
{
	return i < nstr ? rd->text + rd->off[i] : NULL;
}

static int days_each(struct days_reader *rd, const char *node, int64_t day, const void *b, size_t n,
		    int64_t from_ms, int64_t to_ms, int (*fn)(const struct store_play *p, void *ud),
		    void *ud)
{
	struct cursor c = { b, (const uint8_t *)b + n, false };
	uint64_t nstr, nplay;
	size_t tlen = 0, occ_at;

	if (get_uv(&c) != PACK_VERSION || (nstr = get_uv(&c)) > n)
		return -EUCLEAN;
	if (!vec_grow((void **)&rd->off, &rd->ocap, nstr + 1, sizeof(*rd->off)))
		return -ENOMEM;
	for (uint64_t i = 0; i < nstr; i++) {
		uint64_t len = get_uv(&c);
		const uint8_t *t = get_bytes(&c, len);

		if (!t)
			return -EUCLEAN;
		if ((rd->off[i] = text_add(rd, &tlen, t, len)) == SIZE_MAX)
			return -ENOMEM;
	}
	occ_at = tlen;
	nplay = get_uv(&c);
	rd->rows++;
	for (uint64_t i = 0; i < nplay && !c.bad; i++) {
		struct store_play p = { .node = node, .row = rd->rows };
		uint64_t off = get_uv(&c), len = get_uv(&c), o, ix;
		const uint8_t *occ = get_bytes(&c, len);
		size_t at;
		int r;

		tlen = occ_at;
		if (!occ || off >= (uint64_t)STORE_DAY_MS || (at = text_add(rd, &tlen, occ, len)) == SIZE_MAX)
			return occ && off < (uint64_t)STORE_DAY_MS ? -ENOMEM : -EUCLEAN;
		p.notice = string_at(rd, nstr, ix = get_uv(&c));
		p.notice_ix = (uint32_t)ix;
		p.broadcast = string_at(rd, nstr, get_uv(&c));
		p.village_code = string_at(rd, nstr, ix = get_uv(&c));
		p.village_ix = (uint32_t)ix;
		p.duration_ms = (int64_t)(get_uv(&c) & INT64_MAX);
		p.priority = (int)(get_uv(&c) & 0xff);
		o = get_uv(&c);
		if (c.bad || !p.notice || !p.broadcast || !p.village_code || (o & ~(uint64_t)DONE_GIVEN) > PLAY_NONE)
			return -EUCLEAN;
		p.occ = rd->text + at;
		p.start_ms = day * STORE_DAY_MS + (int64_t)off;
		p.outcome = (enum play_outcome)(o & ~(uint64_t)DONE_GIVEN);
		p.done_ms = p.start_ms;
		if (o & DONE_GIVEN) {
			uint64_t z = get_uv(&c);

			p.done_ms = (int64_t)((uint64_t)p.start_ms + ((z >> 1) ^ -(z & 1)));
		}
		if (c.bad)
			return -EUCLEAN;
		if (p.outcome != PLAY_COMPLETED)
			p.done_ms = STORE_NONE;
		if (p.start_ms < from_ms || p.start_ms >= to_ms)
			continue;
		if ((r = fn(&p, ud)) != 0)
			return r;
	}
	return c.bad || c.p != c.end ? -EUCLEAN : 0;
}

int store_days_each(struct days_reader *rd, const char *node, int64_t day, const void *b, size_t n,
		    int64_t from_ms, int64_t to_ms, int (*fn)(const struct store_play *p, void *ud),
		    void *ud)
{
	struct each e = { fn, ud, 0 };
	int r = days_each(rd, node, day, b, n, from_ms, to_ms, each_play, &e);

	rd->damaged = r != 0 && !e.r;
	return e.r ? e.r : r;
}
