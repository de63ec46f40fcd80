/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store_cap.c -- the store's CAP messages: every automatic warning that arrived, its decision and its document */
#include "store.h"
#include "store_db.h"
#include "utf8.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How far store_cap_alerts_of() follows references from message to message. */
#define CHAIN_DEPTH 32

static const char *const sql[S__COUNT] = {
	[S_CAP_ADD] = "INSERT INTO cap_messages(sender, identifier, sent_ms, received_ms, origin,"
		" msg_type, status, decision, reason, level, class, alert_id, nodes, voice, title,"
		" expires_ms, refs, doc, doc_size, decided_ms)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
		" ?18, ?19, ?20) ON CONFLICT(identifier, sender) DO NOTHING",
	[S_CAP_GET] = "SELECT " STORE_DB_CAP_COLS ", doc FROM cap_messages"
		" WHERE identifier = ?2 AND sender = ?1",
	[S_CAP_FIND] = "SELECT " STORE_DB_CAP_COLS ", doc FROM cap_messages"
		" WHERE identifier = ?1 ORDER BY received_ms, id LIMIT 4",
	/* The right-hand sides see the row as it was: the old reason moves. */
	[S_CAP_DECIDE] = "UPDATE cap_messages SET decision = ?3, hold_reason = reason, reason = ?4,"
		" alert_id = ?5, decided_ms = ?6"
		" WHERE identifier = ?2 AND sender = ?1 AND decision = 'hold'",
	[S_CAP_DECISION] = "SELECT decision FROM cap_messages WHERE identifier = ?2 AND sender = ?1",
	/* Stored references are cleaned, so entries are separated by single
	 * characters of white space, all spaces: " sender,identifier," finds
	 * one. UNION keeps each (message, depth) once; the depth bounds a
	 * cycle. */
	[S_CAP_CHAIN] = "WITH RECURSIVE chain(id, sender, identifier, depth) AS ("
		" SELECT id, sender, identifier, 0 FROM cap_messages WHERE identifier = ?2 AND sender = ?1"
		" UNION"
		" SELECT m.id, m.sender, m.identifier, c.depth + 1 FROM chain c JOIN cap_messages m"
		" ON m.refs IS NOT NULL"
		" AND instr(' ' || m.refs || ' ', ' ' || c.sender || ',' || c.identifier || ',') > 0"
		" WHERE c.depth < ?3)"
		" SELECT alert_id FROM cap_messages WHERE id IN (SELECT id FROM chain)"
		" AND alert_id IS NOT NULL ORDER BY received_ms, id",
	[S_CAP_HELD] = "SELECT " STORE_DB_CAP_COLS " FROM cap_messages WHERE decision = 'hold'"
		" ORDER BY received_ms, id",
	/* A Cancel or Update of the same sender naming the message (the
	 * references are stored cleaned: single spaces between entries). */
	[S_CAP_SUPERSEDED] = "SELECT identifier, msg_type FROM cap_messages"
		" WHERE sender = ?1 AND msg_type IN ('Cancel', 'Update') AND refs IS NOT NULL"
		" AND instr(' ' || refs || ' ', ' ' || ?1 || ',' || ?2 || ',') > 0"
		" ORDER BY received_ms, id LIMIT 1",
	[S_CAP_OUTCOME] = "UPDATE cap_messages SET reason = ?3, alert_id = coalesce(?4, alert_id),"
		" decided_ms = ?5 WHERE identifier = ?2 AND sender = ?1",
	[S_CAP_UNSENT] = "SELECT " STORE_DB_CAP_COLS " FROM cap_messages"
		" WHERE substr(reason, 1, " STORE_CAP_NOT_SENT_LEN ") = '" STORE_CAP_NOT_SENT "'"
		" AND decision IN ('broadcast', 'update', 'cancel') AND alert_id IS NULL"
		" AND (expires_ms IS NULL OR expires_ms > ?1) ORDER BY received_ms, id",
};

static sqlite3_stmt *stmt(struct store *s, enum store_sid id)
{
	return store_db_stmt(s, id, sql[id]);
}

/* ---- checking and cleaning ---------------------------------------------- */

/* The array X holds a NUL. */
#define TERMINATED(x) (memchr((x), '\0', sizeof(x)) != NULL)

static bool one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(v, *set))
			return true;
	return false;
}

static const char *const decisions[] = {
	"broadcast", "cancel", "update", "hold", "ignore", "reject", "approved", "expired", NULL
};

/* Valid UTF-8 without control characters: fit for a key. */
static bool clean_key(const char *k)
{
	size_t n = strlen(k);

	if (utf8_invalid_at(k, n) >= 0)
		return false;
	for (const unsigned char *c = (const unsigned char *)k; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

/* Printable ASCII, 1..STORE_OCC_MAX: an alert id as store_alert_add takes it. */
static bool valid_alert_id(const char *id)
{
	size_t n = 0;

	for (; id[n]; n++)
		if (id[n] <= ' ' || id[n] > '~')
			return false;
	return n >= 1 && n <= STORE_OCC_MAX;
}

/* S with each control character as a space and each byte that does not
 * begin a UTF-8 sequence as U+FFFD, cut at a character boundary to at most
 * MAX bytes. malloc'd; NULL on ENOMEM. */
static char *cleaned(const char *s, size_t max)
{
	size_t n = strlen(s), o = 0;
	char *d = malloc(max + 1);

	if (!d)
		return NULL;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_next(s + i, n - i, &cp);

		if (k == 0) {
			if (o + 3 > max)
				break;
			memcpy(d + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (o + k > max)
			break;
		if (cp < 0x20 || cp == 0x7f)
			d[o] = ' ';
		else
			memcpy(d + o, s + i, k);
		o += cp < 0x20 || cp == 0x7f ? 1 : k;
		i += k;
	}
	d[o] = '\0';
	return d;
}

/* Bind S cleaned (SIZE: the array it came from), or NULL when S is "" and
 * EMPTY_NULL. \retval 0 / -ENOMEM */
static int bind_clean(sqlite3_stmt *st, int i, const char *s, size_t size, bool empty_null)
{
	char *c;

	if (!*s && empty_null)
		return sqlite3_bind_null(st, i) == SQLITE_OK ? 0 : -ENOMEM;
	if (!(c = cleaned(s, size - 1)))
		return -ENOMEM;
	return sqlite3_bind_text(st, i, c, -1, free) == SQLITE_OK ? 0 : -ENOMEM;
}

#define BIND_CLEAN(st, i, field, empty_null) bind_clean((st), (i), (field), sizeof(field), (empty_null))

/* Everything store_cap_add checks of C but its key. */
static bool valid_cap(struct store *s, const struct store_cap *c)
{
	static const char *const classes[] = { "actual", "drill", "test", NULL };
	const char *bad = NULL;

	if (!TERMINATED(c->origin) || !TERMINATED(c->msg_type) || !TERMINATED(c->status) ||
	    !TERMINATED(c->decision) || !TERMINATED(c->reason) || !TERMINATED(c->alert_class) ||
	    !TERMINATED(c->alert_id) || !TERMINATED(c->voice) || !TERMINATED(c->title) ||
	    !TERMINATED(c->refs))
		bad = "a text member is not terminated";
	else if (!one_of(c->decision, decisions))
		bad = "decision must be one of " STORE_CAP_DECISIONS;
	else if (!c->reason[0])
		bad = "no reason";
	else if (c->level < 0 || c->level > 4)
		bad = "level must be 0..4";
	else if (c->alert_class[0] && !one_of(c->alert_class, classes))
		bad = "class must be actual, drill or test";
	else if (c->alert_id[0] && !valid_alert_id(c->alert_id))
		bad = "bad alert id";
	else if (c->nodes < 0)
		bad = "nodes < 0";
	if (bad)
		store_db_seterr(s, "CAP message '%s' of '%s': %s", c->identifier, c->sender, bad);
	return !bad;
}

/* ---- keeping a message -------------------------------------------------- */

void store_cap_anon(struct store_cap *c, const void *doc, size_t len)
{
	char hex[CX_SHA256_HEX];

	cx_sha256_hex(doc ? doc : "", doc ? len : 0, hex);
	c->sender[0] = '\0';
	snprintf(c->identifier, sizeof(c->identifier), "sha256:%s", hex);
}

static int bind_add(sqlite3_stmt *st, const struct store_cap *c, const void *doc, size_t len)
{
	size_t keep = len > STORE_CAP_DOC_MAX ? STORE_CAP_DOC_MAX : len;
	int r = 0;

	sqlite3_bind_text(st, 1, c->sender, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, c->identifier, -1, SQLITE_TRANSIENT);
	store_db_bind_opt(st, 3, c->sent_ms);
	sqlite3_bind_int64(st, 4, c->received_ms);
	r |= BIND_CLEAN(st, 5, c->origin, false);
	r |= BIND_CLEAN(st, 6, c->msg_type, false);
	r |= BIND_CLEAN(st, 7, c->status, false);
	sqlite3_bind_text(st, 8, c->decision, -1, SQLITE_TRANSIENT);
	r |= BIND_CLEAN(st, 9, c->reason, false);
	sqlite3_bind_int(st, 10, c->level);
	store_db_bind_text(st, 11, c->alert_class[0] ? c->alert_class : NULL);
	store_db_bind_text(st, 12, c->alert_id[0] ? c->alert_id : NULL);
	sqlite3_bind_int64(st, 13, c->nodes);
	r |= BIND_CLEAN(st, 14, c->voice, true);
	r |= BIND_CLEAN(st, 15, c->title, true);
	store_db_bind_opt(st, 16, c->expires_ms);
	r |= BIND_CLEAN(st, 17, c->refs, true);
	if (doc)
		sqlite3_bind_blob(st, 18, doc, (int)keep, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 18);
	sqlite3_bind_int64(st, 19, doc ? (int64_t)len : 0);
	sqlite3_bind_int64(st, 20, c->decided_ms != STORE_NONE ? c->decided_ms : c->received_ms);
	return r ? -ENOMEM : 0;
}

int store_cap_add(struct store *s, const struct store_cap *c, const void *doc, size_t len)
{
	sqlite3_stmt *st;
	bool own;
	int r;

	if (!TERMINATED(c->sender) || !TERMINATED(c->identifier) || !c->identifier[0] ||
	    !clean_key(c->sender) || !clean_key(c->identifier)) {
		store_db_seterr(s, "CAP message: sender or identifier is empty, too long, or holds control "
				"characters or bytes that are not UTF-8");
		return -EINVAL;
	}
	if (!valid_cap(s, c))
		return -EINVAL;
	if (!doc && len) {
		store_db_seterr(s, "CAP message '%s' of '%s': %zu bytes without a document", c->identifier,
				c->sender, len);
		return -EINVAL;
	}
	if (!(st = stmt(s, S_CAP_ADD)))
		return -EIO;
	if ((r = bind_add(st, c, doc, len)) < 0) {
		store_db_release(st);
		store_db_seterr(s, "out of memory");
		return r;
	}
	if ((r = store_db_txn_enter(s, &own)) < 0) {
		store_db_release(st);
		return r;
	}
	r = store_db_run(s, st, "CAP message");
	if (r == 0 && sqlite3_changes(store_db(s)) == 0) {
		store_db_seterr(s, "CAP message '%s' of '%s' is already stored", c->identifier, c->sender);
		r = -EEXIST;
	}
	return store_db_txn_leave(s, own, r);
}

/* ---- reading ------------------------------------------------------------ */

void store_db_cap_row(sqlite3_stmt *st, int i0, struct store_cap *c)
{
	store_db_column_copy(st, i0 + 0, c->sender, sizeof(c->sender));
	store_db_column_copy(st, i0 + 1, c->identifier, sizeof(c->identifier));
	c->sent_ms = store_db_column_opt(st, i0 + 2);
	c->received_ms = sqlite3_column_int64(st, i0 + 3);
	store_db_column_copy(st, i0 + 4, c->origin, sizeof(c->origin));
	store_db_column_copy(st, i0 + 5, c->msg_type, sizeof(c->msg_type));
	store_db_column_copy(st, i0 + 6, c->status, sizeof(c->status));
	store_db_column_copy(st, i0 + 7, c->decision, sizeof(c->decision));
	store_db_column_copy(st, i0 + 8, c->reason, sizeof(c->reason));
	store_db_column_copy(st, i0 + 9, c->hold_reason, sizeof(c->hold_reason));
	c->level = sqlite3_column_int(st, i0 + 10);
	store_db_column_copy(st, i0 + 11, c->alert_class, sizeof(c->alert_class));
	store_db_column_copy(st, i0 + 12, c->alert_id, sizeof(c->alert_id));
	c->nodes = sqlite3_column_int64(st, i0 + 13);
	store_db_column_copy(st, i0 + 14, c->voice, sizeof(c->voice));
	store_db_column_copy(st, i0 + 15, c->title, sizeof(c->title));
	c->expires_ms = store_db_column_opt(st, i0 + 16);
	store_db_column_copy(st, i0 + 17, c->refs, sizeof(c->refs));
	c->doc_size = sqlite3_column_int64(st, i0 + 18);
	c->decided_ms = sqlite3_column_int64(st, i0 + 19);
}

/* The row ST stands on into *OUT (may be NULL) and, when DOC is not NULL,
 * its document. \retval 0 / -ENOMEM */
static int take_row(struct store *s, sqlite3_stmt *st, struct store_cap *out, void **doc, size_t *len)
{
	if (out)
		store_db_cap_row(st, 0, out);
	if (doc) {
		const void *b = sqlite3_column_blob(st, STORE_DB_CAP_NCOLS);
		size_t n = (size_t)sqlite3_column_bytes(st, STORE_DB_CAP_NCOLS);
		bool null = sqlite3_column_type(st, STORE_DB_CAP_NCOLS) == SQLITE_NULL;
		char *d = NULL;

		if (!null) {
			if (!(d = malloc(n + 1))) {
				store_db_seterr(s, "out of memory");
				return -ENOMEM;
			}
			if (n)
				memcpy(d, b, n);
			d[n] = '\0';
		}
		*doc = d;
		if (len)
			*len = null ? 0 : n;
	}
	return 0;
}

int store_cap_get(struct store *s, const char *sender, const char *identifier,
		  struct store_cap *out, void **doc, size_t *len)
{
	sqlite3_stmt *st = stmt(s, S_CAP_GET);
	int rc, r = 0;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, identifier, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r = take_row(s, st, out, doc, len);
	} else if (rc == SQLITE_DONE) {
		store_db_seterr(s, "no CAP message '%s' of '%s'", identifier, sender);
		r = -ENOENT;
	} else {
		r = store_db_err(s, "CAP message", rc);
	}
	store_db_release(st);
	return r;
}

int store_cap_find(struct store *s, const char *identifier, struct store_cap *out, void **doc,
		   size_t *len)
{
	sqlite3_stmt *st = stmt(s, S_CAP_FIND);
	char names[3 * (STORE_CAP_ID_MAX + 4)] = "";
	size_t off = 0, n = 0;
	int rc, r = 0;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, identifier, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *who = sqlite3_column_text(st, 0);

		if (n < 3 && off < sizeof(names))
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s'%s'", n ? ", " : "",
						who ? (const char *)who : "");
		if (n++ == 0 && (r = take_row(s, st, out, doc, len)) < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, "CAP message", rc);
	store_db_release(st);
	if (r < 0)
		return r;
	if (n == 0) {
		store_db_seterr(s, "no CAP message '%s'", identifier);
		return -ENOENT;
	}
	if (n > 1) {
		if (doc) {
			free(*doc);
			*doc = NULL;
		}
		store_db_seterr(s, "CAP identifier '%s' was used by several senders (%s%s): name the sender",
				identifier, names, n > 3 ? ", ..." : "");
		return -EEXIST;
	}
	return 0;
}

/* ---- what became of a hold ---------------------------------------------- */

/* Why (SENDER, IDENTIFIER) did not change: not stored, or not held.
 * \retval -ENOENT / -EALREADY / -errno */
static int not_held(struct store *s, const char *sender, const char *identifier)
{
	sqlite3_stmt *st = stmt(s, S_CAP_DECISION);
	int rc, r;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, identifier, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_db_seterr(s, "CAP message '%s' of '%s' is not held: its decision is %s", identifier,
				sender, (const char *)sqlite3_column_text(st, 0));
		r = -EALREADY;
	} else if (rc == SQLITE_DONE) {
		store_db_seterr(s, "no CAP message '%s' of '%s'", identifier, sender);
		r = -ENOENT;
	} else {
		r = store_db_err(s, "CAP message", rc);
	}
	store_db_release(st);
	return r;
}

int store_cap_decide(struct store *s, const char *sender, const char *identifier,
		     const char *decision, const char *reason, const char *alert_id,
		     int64_t now_ms)
{
	static const char *const outcomes[] = { "approved", "expired", "reject", NULL };
	bool approve = decision && !strcmp(decision, "approved");
	bool has_id = alert_id && *alert_id;
	sqlite3_stmt *st;
	bool own;
	int r;

	if (!sender || !identifier || !decision || !one_of(decision, outcomes) || !reason ||
	    !*reason || approve != has_id || (has_id && !valid_alert_id(alert_id))) {
		store_db_seterr(s, "CAP decision: a hold becomes approved (with its alert id), expired or "
				"reject (without one), with a reason");
		return -EINVAL;
	}
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	if (!(st = stmt(s, S_CAP_DECIDE))) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, identifier, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, decision, -1, SQLITE_TRANSIENT);
	if ((r = bind_clean(st, 4, reason, STORE_CAP_REASON_MAX + 1, false)) < 0) {
		store_db_release(st);
		store_db_seterr(s, "out of memory");
		goto out;
	}
	store_db_bind_text(st, 5, has_id ? alert_id : NULL);
	sqlite3_bind_int64(st, 6, now_ms);
	if ((r = store_db_run(s, st, "CAP decision")) == 0 && sqlite3_changes(store_db(s)) == 0)
		r = not_held(s, sender, identifier);
out:
	return store_db_txn_leave(s, own, r);
}

/* ---- the alerts of a chain, the holds ----------------------------------- */

int store_cap_alerts_of(struct store *s, const char *sender, const char *identifier,
			char ids[][STORE_OCC_MAX + 1], size_t max, size_t *n)
{
	sqlite3_stmt *st;
	int rc, r;

	*n = 0;
	if ((r = store_cap_get(s, sender, identifier, NULL, NULL, NULL)) < 0)
		return r;
	if (!(st = stmt(s, S_CAP_CHAIN)))
		return -EIO;
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, identifier, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, CHAIN_DEPTH);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		bool seen = false;

		for (size_t i = 0; i < *n && !seen; i++)
			seen = !strcmp(ids[i], id);
		if (seen)
			continue;
		if (*n == max) {
			store_db_seterr(s, "CAP message '%s' of '%s' led to more than %zu alerts", identifier,
					sender, max);
			r = -E2BIG;
			break;
		}
		snprintf(ids[(*n)++], STORE_OCC_MAX + 1, "%s", id);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, "CAP references", rc);
	store_db_release(st);
	return r;
}

int store_cap_held(struct store *s, int64_t now_ms,
		   int (*fn)(const struct store_cap *c, bool expired, void *ud), void *ud)
{
	sqlite3_stmt *st = stmt(s, S_CAP_HELD);
	struct store_cap *v = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;

	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct store_cap *nv = realloc(v, nc * sizeof(*v));

			if (!nv) {
				store_db_seterr(s, "out of memory");
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		store_db_cap_row(st, 0, &v[n++]);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, "held CAP messages", rc);
	store_db_release(st);
	for (size_t i = 0; i < n && r == 0; i++)
		r = fn(&v[i], v[i].expires_ms != STORE_NONE && v[i].expires_ms <= now_ms, ud);
	free(v);
	return r;
}

/* ---- acting on a decision ----------------------------------------------- */

int store_cap_outcome(struct store *s, const char *sender, const char *identifier,
		      const char *reason, const char *alert_id, int64_t now_ms)
{
	bool has_id = alert_id && *alert_id;
	sqlite3_stmt *st;
	bool own;
	int r;

	if (!sender || !identifier || !reason || !*reason || (has_id && !valid_alert_id(alert_id))) {
		store_db_seterr(s, "CAP outcome: a reason, and a valid alert id or none");
		return -EINVAL;
	}
	if ((r = store_db_txn_enter(s, &own)) < 0)
		return r;
	if (!(st = stmt(s, S_CAP_OUTCOME))) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, identifier, -1, SQLITE_TRANSIENT);
	if ((r = bind_clean(st, 3, reason, STORE_CAP_REASON_MAX + 1, false)) < 0) {
		store_db_release(st);
		store_db_seterr(s, "out of memory");
		goto out;
	}
	store_db_bind_text(st, 4, has_id ? alert_id : NULL);
	sqlite3_bind_int64(st, 5, now_ms);
	if ((r = store_db_run(s, st, "CAP outcome")) == 0 && sqlite3_changes(store_db(s)) == 0) {
		store_db_seterr(s, "CAP message '%s' of '%s' is not stored", identifier, sender);
		r = -ENOENT;
	}
out:
	return store_db_txn_leave(s, own, r);
}

int store_cap_unsent(struct store *s, int64_t now_ms,
		     int (*fn)(const struct store_cap *c, void *ud), void *ud)
{
	sqlite3_stmt *st = stmt(s, S_CAP_UNSENT);
	char (*key)[2][STORE_CAP_ID_MAX + 1] = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, now_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_cap c;

		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			void *nv = realloc(key, nc * sizeof(*key));

			if (!nv) {
				store_db_seterr(s, "out of memory");
				r = -ENOMEM;
				break;
			}
			key = nv;
			cap = nc;
		}
		store_db_cap_row(st, 0, &c);
		memcpy(key[n][0], c.sender, sizeof(key[n][0]));
		memcpy(key[n][1], c.identifier, sizeof(key[n][1]));
		n++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_err(s, "unsent CAP messages", rc);
	store_db_release(st);
	/* The list is read first, so FN may change the rows. */
	for (size_t i = 0; i < n && r == 0; i++) {
		struct store_cap c;

		if ((r = store_cap_get(s, key[i][0], key[i][1], &c, NULL, NULL)) == 0)
			r = fn(&c, ud);
	}
	free(key);
	return r;
}

int store_cap_superseded(struct store *s, const char *sender, const char *identifier,
			 char by[STORE_CAP_ID_MAX + 1], char type[16])
{
	sqlite3_stmt *st = stmt(s, S_CAP_SUPERSEDED);
	int rc, r = -ENOENT;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, sender, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, identifier, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(by, STORE_CAP_ID_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(type, 16, "%s", (const char *)sqlite3_column_text(st, 1));
		r = 0;
	} else if (rc != SQLITE_DONE) {
		r = store_db_err(s, "CAP references", rc);
	}
	store_db_release(st);
	return r;
}
