/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_store_cap.c -- the store's CAP messages on a real SQLite file, and the upgrade of an older store */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"
#include "store_schema.h"

#include <dirent.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1796081400000LL /* 2026-12-01 07:30 Asia/Shanghai */
#define SENDER "w-nws-webmaster@noaa.gov"
#define DOC "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">...</alert>"

struct fx {
	char dir[64];
	char path[128];
	struct store *s;
};

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_cap.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/" STORE_FILE, f->dir);
	f->s = store_open(f->path, 0, err, sizeof(err));
	if (!f->s)
		fail_msg("store_open: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	rm_dir(f->dir);
	free(f);
	return 0;
}

static int64_t sql_int(const char *path, const char *q)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void sql_exec(const char *path, const char *q)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, q, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* A message of SENDER as the decision would hand it over. */
static struct store_cap *msg(const char *sender, const char *identifier, const char *decision,
			     const char *alert_id, const char *refs, int64_t received_ms)
{
	static struct store_cap c;

	memset(&c, 0, sizeof(c));
	snprintf(c.sender, sizeof(c.sender), "%s", sender);
	snprintf(c.identifier, sizeof(c.identifier), "%s", identifier);
	c.sent_ms = received_ms - 5000;
	c.received_ms = received_ms;
	snprintf(c.origin, sizeof(c.origin), "https://alerts.example.cn/cap/%s.xml", identifier);
	snprintf(c.msg_type, sizeof(c.msg_type), "%s", refs ? "Update" : "Alert");
	snprintf(c.status, sizeof(c.status), "Actual");
	snprintf(c.decision, sizeof(c.decision), "%s", decision);
	snprintf(c.reason, sizeof(c.reason), "rule 'flood-red' matched: level 1, 3 villages");
	c.level = 1;
	snprintf(c.alert_class, sizeof(c.alert_class), "actual");
	snprintf(c.alert_id, sizeof(c.alert_id), "%s", alert_id ? alert_id : "");
	c.nodes = 12;
	snprintf(c.voice, sizeof(c.voice), "zh-female");
	snprintf(c.title, sizeof(c.title), "山洪红色预警");
	c.expires_ms = received_ms + 3600000;
	snprintf(c.refs, sizeof(c.refs), "%s", refs ? refs : "");
	c.decided_ms = STORE_NONE;
	return &c;
}

/* ---- add, duplicates, get ------------------------------------------------- */

static void add_and_get(void **state)
{
	struct fx *f = *state;
	struct store_cap *c = msg(SENDER, "ID-1", "broadcast", "640104100000-20261201-0001", NULL, T0);
	struct store_cap *got = calloc(1, sizeof(*got));
	void *doc = NULL;
	size_t len = 0;

	assert_non_null(got);
	assert_int_equal(store_cap_add(f->s, c, DOC, strlen(DOC)), 0);
	assert_int_equal(store_cap_get(f->s, SENDER, "ID-1", got, &doc, &len), 0);
	assert_string_equal(got->sender, SENDER);
	assert_string_equal(got->identifier, "ID-1");
	assert_int_equal(got->sent_ms, T0 - 5000);
	assert_int_equal(got->received_ms, T0);
	assert_int_equal(got->decided_ms, T0); /* STORE_NONE: when it arrived */
	assert_string_equal(got->origin, "https://alerts.example.cn/cap/ID-1.xml");
	assert_string_equal(got->msg_type, "Alert");
	assert_string_equal(got->status, "Actual");
	assert_string_equal(got->decision, "broadcast");
	assert_string_equal(got->reason, "rule 'flood-red' matched: level 1, 3 villages");
	assert_string_equal(got->hold_reason, "");
	assert_int_equal(got->level, 1);
	assert_string_equal(got->alert_class, "actual");
	assert_string_equal(got->alert_id, "640104100000-20261201-0001");
	assert_int_equal(got->nodes, 12);
	assert_string_equal(got->voice, "zh-female");
	assert_string_equal(got->title, "山洪红色预警");
	assert_int_equal(got->expires_ms, T0 + 3600000);
	assert_string_equal(got->refs, "");
	assert_int_equal(got->doc_size, strlen(DOC));
	assert_int_equal(len, strlen(DOC));
	assert_memory_equal(doc, DOC, len);
	assert_int_equal(((char *)doc)[len], '\0');
	free(doc);

	/* The same key again: a duplicate, and nothing changes. */
	c = msg(SENDER, "ID-1", "reject", NULL, NULL, T0 + 60000);
	assert_int_equal(store_cap_add(f->s, c, "other", 5), -EEXIST);
	assert_non_null(strstr(store_errmsg(f->s), "already stored"));
	assert_int_equal(store_cap_get(f->s, SENDER, "ID-1", got, &doc, &len), 0);
	assert_string_equal(got->decision, "broadcast");
	assert_int_equal(got->received_ms, T0);
	assert_memory_equal(doc, DOC, len);
	free(doc);
	/* The same identifier of another sender is another message. */
	assert_int_equal(store_cap_add(f->s, msg("other@example.cn", "ID-1", "ignore", NULL, NULL, T0), NULL, 0), 0);

	assert_int_equal(store_cap_get(f->s, SENDER, "ID-2", got, NULL, NULL), -ENOENT);
	assert_int_equal(store_cap_get(f->s, "", "ID-1", got, NULL, NULL), -ENOENT);
	/* Without a document: NULL back. */
	doc = (void *)1;
	assert_int_equal(store_cap_get(f->s, "other@example.cn", "ID-1", got, &doc, &len), 0);
	assert_null(doc);
	assert_int_equal(len, 0);
	assert_int_equal(got->doc_size, 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM cap_messages"), 2);
	free(got);
}

static void refused_and_cleaned(void **state)
{
	struct fx *f = *state;
	struct store_cap *c, *got = calloc(1, sizeof(*got));

	assert_non_null(got);
	/* Keys that cannot be keys; members out of their range. */
	c = msg(SENDER, "", "broadcast", NULL, NULL, T0);
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), -EINVAL);
	c = msg(SENDER, "ID\n2", "broadcast", NULL, NULL, T0);
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), -EINVAL);
	c = msg("s\xff", "ID-2", "broadcast", NULL, NULL, T0);
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), -EINVAL);
	c = msg(SENDER, "ID-2", "broadcasted", NULL, NULL, T0);
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), -EINVAL);
	assert_non_null(strstr(store_errmsg(f->s), "decision must be one of"));
	c = msg(SENDER, "ID-2", "broadcast", "bad id", NULL, T0);
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), -EINVAL);
	c = msg(SENDER, "ID-2", "broadcast", NULL, NULL, T0);
	c->level = 5;
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), -EINVAL);
	c = msg(SENDER, "ID-2", "broadcast", NULL, NULL, T0);
	c->reason[0] = '\0';
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), -EINVAL);
	c = msg(SENDER, "ID-2", "broadcast", NULL, NULL, T0);
	memset(c->title, 'x', sizeof(c->title));
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), -EINVAL);
	c = msg(SENDER, "ID-2", "broadcast", NULL, NULL, T0);
	assert_int_equal(store_cap_add(f->s, c, NULL, 3), -EINVAL);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM cap_messages"), 0);

	/* Other text is kept, made safe for every report format. */
	c = msg(SENDER, "ID-2", "ignore", NULL, NULL, T0);
	snprintf(c->title, sizeof(c->title), "a\tb\nc\xff" "d");
	snprintf(c->reason, sizeof(c->reason), "status Test\r\n");
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), 0);
	assert_int_equal(store_cap_get(f->s, SENDER, "ID-2", got, NULL, NULL), 0);
	assert_string_equal(got->title, "a b c\xef\xbf\xbd" "d");
	assert_string_equal(got->reason, "status Test  ");
	/* Cut at a character boundary where U+FFFD made it longer. */
	c = msg(SENDER, "ID-3", "ignore", NULL, NULL, T0);
	memset(c->title, '\xff', sizeof(c->title) - 1);
	c->title[sizeof(c->title) - 1] = '\0';
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), 0);
	assert_int_equal(store_cap_get(f->s, SENDER, "ID-3", got, NULL, NULL), 0);
	assert_int_equal(strlen(got->title), (sizeof(c->title) - 1) / 3 * 3);
	free(got);
}

static void unparsed_documents(void **state)
{
	struct fx *f = *state;
	struct store_cap *c = msg("", "", "reject", NULL, NULL, T0), *got = calloc(1, sizeof(*got));
	const char *bad = "abc";
	char *big = malloc(STORE_CAP_DOC_MAX + 100);
	void *doc;
	size_t len;

	assert_non_null(got);
	assert_non_null(big);
	c->msg_type[0] = c->status[0] = c->alert_class[0] = c->title[0] = '\0';
	c->level = 0;
	c->nodes = 0;
	snprintf(c->reason, sizeof(c->reason), "line 1: not well-formed XML");
	store_cap_anon(c, bad, 3);
	assert_string_equal(c->identifier,
			    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_string_equal(c->sender, "");
	assert_int_equal(store_cap_add(f->s, c, bad, 3), 0);
	/* The same bad file again is the same row. */
	c->received_ms = T0 + 1000;
	assert_int_equal(store_cap_add(f->s, c, bad, 3), -EEXIST);
	assert_int_equal(store_cap_find(f->s, c->identifier, got, &doc, &len), 0);
	assert_string_equal(got->sender, "");
	assert_int_equal(got->received_ms, T0);
	assert_int_equal(got->sent_ms, T0 - 5000);
	assert_int_equal(len, 3);
	free(doc);

	/* A document that could not be read at all. */
	store_cap_anon(c, NULL, 0);
	assert_string_equal(c->identifier,
			    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	snprintf(c->reason, sizeof(c->reason), "larger than 1048576 bytes");
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), 0);

	/* One over the limit is kept cut, with its real size. */
	memset(big, 'x', STORE_CAP_DOC_MAX + 100);
	store_cap_anon(c, big, STORE_CAP_DOC_MAX + 100);
	assert_int_equal(store_cap_add(f->s, c, big, STORE_CAP_DOC_MAX + 100), 0);
	assert_int_equal(store_cap_get(f->s, "", c->identifier, got, &doc, &len), 0);
	assert_int_equal(len, STORE_CAP_DOC_MAX);
	assert_int_equal(got->doc_size, STORE_CAP_DOC_MAX + 100);
	free(doc);
	free(big);
	free(got);
}

static void find_by_identifier(void **state)
{
	struct fx *f = *state;
	struct store_cap *got = calloc(1, sizeof(*got));
	void *doc = NULL;
	size_t len;

	assert_non_null(got);
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "X-1", "hold", NULL, NULL, T0), DOC, strlen(DOC)), 0);
	assert_int_equal(store_cap_find(f->s, "X-1", got, &doc, &len), 0);
	assert_string_equal(got->sender, SENDER);
	assert_string_equal(got->decision, "hold");
	assert_int_equal(len, strlen(DOC));
	free(doc);
	assert_int_equal(store_cap_find(f->s, "X-2", got, NULL, NULL), -ENOENT);
	/* A second sender used it: ambiguous, and the reason names both. */
	assert_int_equal(store_cap_add(f->s, msg("cma@example.cn", "X-1", "hold", NULL, NULL, T0 + 1), NULL, 0), 0);
	doc = NULL;
	assert_int_equal(store_cap_find(f->s, "X-1", got, &doc, &len), -EEXIST);
	assert_null(doc);
	assert_non_null(strstr(store_errmsg(f->s), "'" SENDER "'"));
	assert_non_null(strstr(store_errmsg(f->s), "'cma@example.cn'"));
	/* Then the sender tells them apart. */
	assert_int_equal(store_cap_get(f->s, "cma@example.cn", "X-1", got, NULL, NULL), 0);
	assert_int_equal(got->received_ms, T0 + 1);
	free(got);
}

/* ---- decisions after the fact ---------------------------------------------- */

struct held {
	char ids[8][STORE_CAP_ID_MAX + 1];
	bool expired[8];
	size_t n;
	struct store *s;       /* expire the expired ones from the walk */
};

static int on_held(const struct store_cap *c, bool expired, void *ud)
{
	struct held *h = ud;

	snprintf(h->ids[h->n], sizeof(h->ids[h->n]), "%s", c->identifier);
	h->expired[h->n++] = expired;
	if (h->s && expired)
		assert_int_equal(store_cap_decide(h->s, c->sender, c->identifier, "expired",
						  "not approved before it expired", NULL, T0 + 7200000), 0);
	return 0;
}

static int stop_at_first(const struct store_cap *c, bool expired, void *ud)
{
	(void)c;
	(void)expired;
	(void)ud;
	return 42;
}

static void decide_and_held(void **state)
{
	struct fx *f = *state;
	struct store_cap *c, *got = calloc(1, sizeof(*got));
	struct held h = { 0 };

	assert_non_null(got);
	c = msg(SENDER, "H-1", "hold", NULL, NULL, T0);
	snprintf(c->reason, sizeof(c->reason), "level 1 needs an operator's approval");
	assert_int_equal(store_cap_add(f->s, c, DOC, strlen(DOC)), 0);
	c = msg(SENDER, "H-2", "hold", NULL, NULL, T0 + 1000);
	c->expires_ms = T0 + 60000;
	assert_int_equal(store_cap_add(f->s, c, DOC, strlen(DOC)), 0);
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "B-1", "broadcast", "a-1", NULL, T0), NULL, 0), 0);

	assert_int_equal(store_cap_held(f->s, T0 + 120000, on_held, &h), 0);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.ids[0], "H-1");
	assert_false(h.expired[0]);
	assert_string_equal(h.ids[1], "H-2");
	assert_true(h.expired[1]);
	assert_int_equal(store_cap_held(f->s, T0, stop_at_first, NULL), 42);

	/* Wrong shapes of a decision. */
	assert_int_equal(store_cap_decide(f->s, SENDER, "H-1", "approved", "ok", NULL, T0), -EINVAL);
	assert_int_equal(store_cap_decide(f->s, SENDER, "H-1", "expired", "x", "a-9", T0), -EINVAL);
	assert_int_equal(store_cap_decide(f->s, SENDER, "H-1", "broadcast", "x", NULL, T0), -EINVAL);
	assert_int_equal(store_cap_decide(f->s, SENDER, "H-1", "expired", "", NULL, T0), -EINVAL);
	assert_int_equal(store_cap_decide(f->s, SENDER, "H-9", "expired", "x", NULL, T0), -ENOENT);
	assert_int_equal(store_cap_decide(f->s, SENDER, "B-1", "expired", "x", NULL, T0), -EALREADY);
	assert_non_null(strstr(store_errmsg(f->s), "broadcast"));

	/* Approved once; a second approval or an expiry after it is refused. */
	assert_int_equal(store_cap_decide(f->s, SENDER, "H-1", "approved", "approved by operator wang",
					  "640104100000-20261201-0007", T0 + 30000), 0);
	assert_int_equal(store_cap_decide(f->s, SENDER, "H-1", "approved", "again", "a-8", T0 + 31000),
			 -EALREADY);
	assert_int_equal(store_cap_decide(f->s, SENDER, "H-1", "expired", "late", NULL, T0 + 31000), -EALREADY);
	assert_int_equal(store_cap_get(f->s, SENDER, "H-1", got, NULL, NULL), 0);
	assert_string_equal(got->decision, "approved");
	assert_string_equal(got->alert_id, "640104100000-20261201-0007");
	assert_string_equal(got->reason, "approved by operator wang");
	assert_string_equal(got->hold_reason, "level 1 needs an operator's approval");
	assert_int_equal(got->decided_ms, T0 + 30000);
	assert_int_equal(got->received_ms, T0);

	/* The walk may expire what it lists; afterwards nothing is held. */
	memset(&h, 0, sizeof(h));
	h.s = f->s;
	assert_int_equal(store_cap_held(f->s, T0 + 120000, on_held, &h), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(store_cap_get(f->s, SENDER, "H-2", got, NULL, NULL), 0);
	assert_string_equal(got->decision, "expired");
	assert_string_equal(got->alert_id, "");
	memset(&h, 0, sizeof(h));
	assert_int_equal(store_cap_held(f->s, T0 + 120000, on_held, &h), 0);
	assert_int_equal(h.n, 0);
	free(got);
}

static void alert_chains(void **state)
{
	struct fx *f = *state;
	char ids[4][STORE_OCC_MAX + 1];
	size_t n = 9;

	/* Alert A → Update U (its own alert) → Cancel C, each naming only its
	 * predecessor; B is unrelated; H was held, and an update of it issued
	 * nothing either. */
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "A", "broadcast", "al-a", NULL, T0), NULL, 0), 0);
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "B", "broadcast", "al-b", NULL, T0 + 1), NULL, 0), 0);
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "U", "update", "al-u",
						 SENDER ",A,2026-12-01T07:29:55+08:00", T0 + 2), NULL, 0), 0);
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "C", "cancel", NULL,
						 SENDER ",U,2026-12-01T07:29:57+08:00", T0 + 3), NULL, 0), 0);
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "H", "hold", NULL, NULL, T0 + 4), NULL, 0), 0);
	/* References written with a newline between entries. */
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "V", "update", "al-v",
						 "x@y,zz,2026-12-01T07:00:00+08:00\n" SENDER ",U,2026-12-01T07:29:57+08:00",
						 T0 + 5), NULL, 0), 0);

	assert_int_equal(store_cap_alerts_of(f->s, SENDER, "A", ids, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ids[0], "al-a");
	assert_string_equal(ids[1], "al-u");
	assert_string_equal(ids[2], "al-v");
	assert_int_equal(store_cap_alerts_of(f->s, SENDER, "U", ids, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "al-u");
	assert_int_equal(store_cap_alerts_of(f->s, SENDER, "B", ids, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "al-b");
	assert_int_equal(store_cap_alerts_of(f->s, SENDER, "H", ids, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_cap_alerts_of(f->s, SENDER, "nope", ids, 4, &n), -ENOENT);
	assert_int_equal(store_cap_alerts_of(f->s, SENDER, "A", ids, 1, &n), -E2BIG);
	assert_int_equal(n, 1);
	/* A prefix of an identifier is not a reference to it. */
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "A2", "broadcast", "al-a2",
						 SENDER ",AA,2026-12-01T07:29:55+08:00", T0 + 6), NULL, 0), 0);
	assert_int_equal(store_cap_alerts_of(f->s, SENDER, "A", ids, 4, &n), 0);
	assert_int_equal(n, 3);
}

struct unsent {
	char ids[8][STORE_CAP_ID_MAX + 1];
	size_t n;
};

static int unsent_fn(const struct store_cap *c, void *ud)
{
	struct unsent *u = ud;

	assert_true(u->n < 8);
	snprintf(u->ids[u->n++], sizeof(u->ids[0]), "%s", c->identifier);
	return 0;
}

/* A decision being acted on is stored "not sent" first; its outcome then
 * replaces the reason (and names the alert); what stays "not sent" and has
 * not expired is listed again, whatever its decision but holds. */
static void outcome_and_unsent(void **state)
{
	struct fx *f = *state;
	struct store_cap *c, got;
	struct unsent u = { 0 };

	c = msg(SENDER, "S1", "broadcast", NULL, NULL, T0);
	snprintf(c->reason, sizeof(c->reason), STORE_CAP_NOT_SENT "being sent");
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), 0);
	c = msg(SENDER, "S2", "cancel", NULL, NULL, T0 + 1);
	snprintf(c->reason, sizeof(c->reason), STORE_CAP_NOT_SENT "the broker is away");
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), 0);
	c = msg(SENDER, "S3", "broadcast", NULL, NULL, T0 + 2);
	snprintf(c->reason, sizeof(c->reason), STORE_CAP_NOT_SENT "being sent");
	c->expires_ms = T0 + 10;
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), 0);
	c = msg(SENDER, "S4", "hold", NULL, NULL, T0 + 3);
	snprintf(c->reason, sizeof(c->reason), STORE_CAP_NOT_SENT "looks like it, but held");
	assert_int_equal(store_cap_add(f->s, c, NULL, 0), 0);
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "S5", "ignore", NULL, NULL, T0 + 4), NULL, 0), 0);

	assert_int_equal(store_cap_unsent(f->s, T0 + 100, unsent_fn, &u), 0);
	assert_int_equal(u.n, 2);
	assert_string_equal(u.ids[0], "S1");
	assert_string_equal(u.ids[1], "S2");

	/* S1 went on the air: it names its alert and leaves the list. */
	assert_int_equal(store_cap_outcome(f->s, SENDER, "S1", "severity Severe: level 2", "al-s1",
					   T0 + 200), 0);
	assert_int_equal(store_cap_get(f->s, SENDER, "S1", &got, NULL, NULL), 0);
	assert_string_equal(got.reason, "severity Severe: level 2");
	assert_string_equal(got.alert_id, "al-s1");
	assert_string_equal(got.decision, "broadcast");
	assert_true(got.decided_ms == T0 + 200);
	/* S2 done without an alert (a cancel): the reason alone changes. */
	assert_int_equal(store_cap_outcome(f->s, SENDER, "S2", "cancelled al-x", NULL, T0 + 201), 0);
	u.n = 0;
	assert_int_equal(store_cap_unsent(f->s, T0 + 300, unsent_fn, &u), 0);
	assert_int_equal(u.n, 0);
	/* An outcome keeps an alert id it does not name. */
	assert_int_equal(store_cap_outcome(f->s, SENDER, "S1", STORE_CAP_NOT_SENT "again", NULL,
					   T0 + 400), 0);
	assert_int_equal(store_cap_get(f->s, SENDER, "S1", &got, NULL, NULL), 0);
	assert_string_equal(got.alert_id, "al-s1");
	/* Errors. */
	assert_int_equal(store_cap_outcome(f->s, SENDER, "nope", "x", NULL, T0), -ENOENT);
	assert_int_equal(store_cap_outcome(f->s, SENDER, "S1", "", NULL, T0), -EINVAL);
	assert_int_equal(store_cap_outcome(f->s, SENDER, "S1", "x", "bad id\n", T0), -EINVAL);
}

static void batches_and_readonly(void **state)
{
	struct fx *f = *state;
	char err[256];
	struct store *r;

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "T-1", "ignore", NULL, NULL, T0), NULL, 0), 0);
	/* A duplicate inside a batch undoes only itself. */
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "T-1", "ignore", NULL, NULL, T0), NULL, 0), -EEXIST);
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "T-2", "ignore", NULL, NULL, T0), NULL, 0), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_cap_add(f->s, msg(SENDER, "T-3", "ignore", NULL, NULL, T0), NULL, 0), 0);
	store_rollback(f->s);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM cap_messages"), 2);

	r = store_open(f->path, STORE_READONLY, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(store_cap_add(r, msg(SENDER, "T-4", "ignore", NULL, NULL, T0), NULL, 0), -EROFS);
	assert_int_equal(store_cap_get(r, SENDER, "T-2", NULL, NULL, NULL), 0);
	store_close(r);
}

/* ---- an older store --------------------------------------------------------- */

static void upgrade_from_v2(void **state)
{
	struct fx *f = *state;
	char path[160], err[256];
	struct store *s;
	sqlite3 *db;

	/* A store as cunxiang with schema version 2 left it, with data. */
	snprintf(path, sizeof(path), "%s/old.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, store_schema_step(0), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, store_schema_step(1), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2;"
				      "INSERT INTO alerts(id, level, class, issued_ms, start_ms, expires_ms,"
				      " title, targets) VALUES('al-old', 2, 'actual', 1, 1, 2, 'old', '{}');"
				      "INSERT INTO receipts(node, seq, occ, kind, state, received_ms, unknown_occ)"
				      " VALUES('yn-01', 1, 'al-old', 'alert', 'completed', 5, 0);",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_schema_step(STORE_SCHEMA_VERSION));
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'cap_messages'"), 0);

	/* A read-only open cannot migrate it. */
	assert_null(store_open(path, STORE_READONLY, err, sizeof(err)));
	assert_int_equal(errno, EPROTONOSUPPORT);
	/* A writer upgrades it in place, keeping what it held. */
	s = store_open(path, 0, err, sizeof(err));
	if (!s)
		fail_msg("store_open: %s", err);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(STORE_SCHEMA_VERSION, 5);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM alerts WHERE id = 'al-old'"), 1);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM receipts"), 1);
	assert_int_equal(store_cap_add(s, msg(SENDER, "N-1", "broadcast", "al-old", NULL, T0), DOC,
				       strlen(DOC)), 0);
	assert_int_equal(store_check(s, true), 0);
	store_close(s);
	/* Reopened, it is current: no second migration. */
	s = store_open(path, 0, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(store_cap_get(s, SENDER, "N-1", NULL, NULL, NULL), 0);
	store_close(s);
	sql_exec(path, "PRAGMA user_version = 2");
	/* A version-2 number on a version-3 file fails its migration and
	 * leaves the file as it was. */
	assert_null(store_open(path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "migrate the schema to version 3"));
	assert_int_equal(sql_int(path, "PRAGMA user_version"), 2);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM cap_messages"), 1);
}

/* A store of schema 3 with plays and their receipts: the upgrade folds
 * each play's outcome from what it holds, as ingest would have. */
static void upgrade_from_v3_folds_outcomes(void **state)
{
	struct fx *f = *state;
	char path[160], err[256];
	struct store *s;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/v3.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sqlite3_exec(db, store_schema_step(i), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 3;"
		"INSERT INTO planned(node, occ, notice, broadcast, start_ms, duration_ms, priority,"
		" village_code) VALUES('yn-01', 'a', 'n', 'b', 100, 10, 10, 'v'),"
		" ('yn-01', 'b', 'n', 'b', 200, 10, 10, 'v'), ('yn-01', 'c', 'n', 'b', 300, 10, 10, 'v'),"
		" ('yn-01', 'd', 'n', 'b', 400, 10, 10, 'v');"
		"INSERT INTO receipts(node, seq, occ, kind, state, scheduled_ms, started_ms, received_ms,"
		" unknown_occ) VALUES('yn-01', 1, 'a', 'plan', 'started', 100, 101, 1, 0),"
		" ('yn-01', 2, 'a', 'plan', 'completed', 100, 101, 2, 0),"
		" ('yn-01', 3, 'a', 'plan', 'completed', 100, 150, 3, 0),"
		" ('yn-01', 5, 'b', 'plan', 'failed', 200, NULL, 5, 0),"
		" ('yn-01', 4, 'b', 'plan', 'interrupted', 200, 201, 4, 0),"
		" ('yn-01', 6, 'c', 'plan', 'accepted', 300, NULL, 6, 0),"
		" ('yn-01', 7, 'd', 'alert', 'completed', 400, 401, 7, 1);",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	s = store_open(path, 0, err, sizeof(err));
	if (!s)
		fail_msg("store_open: %s", err);
	store_close(s);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	/* The first completed receipt, and when that play started. */
	assert_int_equal(sql_int(path, "SELECT done_seq FROM planned WHERE occ = 'a'"), 2);
	assert_int_equal(sql_int(path, "SELECT done_ms FROM planned WHERE occ = 'a'"), 101);
	assert_int_equal(sql_int(path, "SELECT began FROM planned WHERE occ = 'a'"), 1);
	/* The last receipt that ended it otherwise, by seq, not by arrival. */
	assert_int_equal(sql_int(path, "SELECT end_seq FROM planned WHERE occ = 'b'"), 5);
	assert_int_equal(sql_int(path, "SELECT end_state = 'failed' FROM planned WHERE occ = 'b'"), 1);
	assert_int_equal(sql_int(path, "SELECT done_seq IS NULL FROM planned WHERE occ = 'b'"), 1);
	assert_int_equal(sql_int(path, "SELECT began + (end_seq IS NULL) FROM planned WHERE occ = 'c'"), 2);
	/* An alert's receipt with the same occ is not the play's. */
	assert_int_equal(sql_int(path, "SELECT (done_seq IS NULL) + (end_seq IS NULL) + (began = 0)"
				 " FROM planned WHERE occ = 'd'"), 3);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'receipts_unknown'"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(add_and_get, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_and_cleaned, setup, teardown),
		cmocka_unit_test_setup_teardown(unparsed_documents, setup, teardown),
		cmocka_unit_test_setup_teardown(find_by_identifier, setup, teardown),
		cmocka_unit_test_setup_teardown(decide_and_held, setup, teardown),
		cmocka_unit_test_setup_teardown(alert_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(upgrade_from_v3_folds_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(outcome_and_unsent, setup, teardown),
		cmocka_unit_test_setup_teardown(batches_and_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(upgrade_from_v2, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
