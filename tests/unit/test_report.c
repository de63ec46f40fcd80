/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_report.c -- report figures from a store filled through the real ingest path, against hand-computed values */
#define _GNU_SOURCE /* open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cxtime.h"
#include "report.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The fixture (Asia/Shanghai, period 2026-12-01 .. 2026-12-02, report at
 * 2026-12-02 20:00):
 *
 *   node   village                households
 *   yn-01  640104100201 永南村      300
 *   yn-02  640104100201 永南村      512
 *   yb-01  640104100202 永北村      200
 *   yb-02  640104100202 永北村       80
 *   xx-01  640104100202 永北村      100   left the fleet after its plan was stored
 *   zz-01  640104100203 (HTML)        0   no plays, no status
 *
 *   play                               outcome (receipts)                    presence at start
 *       yn-01 flood 11-20 07:30, 19:00 completed, long before the period
 *   P0  yn-01 flood 11-30 19:00        completed, before the period: ignored
 *   P1  yn-01 flood 12-01 07:30        completed (+ the same seq resent,      0.7
 *                                      + a second completed with a new seq)
 *   P2  yn-01 flood 12-01 19:00        started, completed                    0.9
 *   P3  yn-02 flood 12-01 07:30        started, interrupted
 *   P4  yn-02 flood 12-01 19:00        none
 *   P5  yb-01 flood 12-01 07:30        failed
 *   P6  yb-01 flood 12-01 19:00        started, interrupted
 *   P7  yb-01 news  12-01 12:30        completed                             0.8
 *   P8  yb-02 news  12-01 12:30        skipped
 *   P9  xx-01 news  12-01 12:30        completed                             0.8
 *   P10 yn-01 flood 12-02 07:30        completed                             0.7
 *   P11 yn-01 flood 12-02 19:00        expired
 *   P12 yn-02 flood 12-02 07:30        started, interrupted, started 08:05,  0.3 (08:05)
 *                                      completed
 *   P13 yn-02 flood 12-02 19:00        started (no end yet)
 *   P14 yb-01 flood 12-02 07:30        none
 *   P15 yb-01 flood 12-02 19:00        none
 *   P16 yn-01 flood 12-02 21:00        after the report's time: pending
 *
 * Presence: 06-08 0.7, 08-12 0.3, 12-14 0.8, 14-18 0.3, 18-22 0.9. */

static const struct schedule_presence presence[] = {
	{ { 6 * 60, 8 * 60 }, 0.7 },   { { 8 * 60, 12 * 60 }, 0.3 }, { { 12 * 60, 14 * 60 }, 0.8 },
	{ { 14 * 60, 18 * 60 }, 0.3 }, { { 18 * 60, 22 * 60 }, 0.9 },
};

#define A1 "640104100000-20261201-0001"
#define A2 "640104100000-20261202-0002"
#define HOSTILE "沙<script>alert('x')</script>&村"
#define CAP_SENDER "cma-nx@weather.example.cn"
#define CAP_ID "NX20261201100000-flood"
#define CAP_BAD_ID "NX<script>alert(1)</script>"

struct fx {
	char dir[64], path[128];
	struct store *s;
	struct report *r;
	struct { const char *node; int64_t seq; } seqs[8];
};

static int64_t at(int day, int h, int m)
{
	int64_t ms;

	/* Days of December 2026; 0 is 30 November. */
	if (day == 0)
		assert_int_equal(cx_tz_civil_to_ms(2026, 11, 30, h, m, &ms), 0);
	else
		assert_int_equal(cx_tz_civil_to_ms(2026, 12, day, h, m, &ms), 0);
	return ms;
}

static int64_t next_seq(struct fx *f, const char *node)
{
	size_t i = 0;

	for (; i < 8 && f->seqs[i].node; i++)
		if (!strcmp(f->seqs[i].node, node))
			return ++f->seqs[i].seq;
	assert_true(i < 8);
	f->seqs[i].node = node;
	return f->seqs[i].seq = 1;
}

static int64_t last_seq(struct fx *f, const char *node)
{
	for (size_t i = 0; i < 8 && f->seqs[i].node; i++)
		if (!strcmp(f->seqs[i].node, node))
			return f->seqs[i].seq;
	return 0;
}

/* Only an enrolled pole counts: each node gets a key the first time. */
static void enrol(struct fx *f, const char *node)
{
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct store_key have;
	struct env_key k;

	if (store_key_get(f->s, node, &have) == 0)
		return;
	crypto_sign_keypair(k.pk, sk);
	env_keyid(k.pk, k.id);
	assert_int_equal(store_key_enrol(f->s, node, &k, false, 0, NULL), 0);
}

/* A receipt as a node sends it; SEQ 0 takes the node's next one.
 * \retval what store_receipt() returned */
static int rcpt_seq(struct fx *f, const char *node, int64_t seq, const char *occ, const char *kind,
		    const char *state, int64_t scheduled, int64_t started, const char *reason, int64_t received)
{
	char buf[1024], sched[32] = "null", start[32] = "null", rsn[128] = "null";
	int64_t ack;

	enrol(f, node);
	if (!seq)
		seq = next_seq(f, node);
	if (scheduled != STORE_NONE)
		snprintf(sched, sizeof(sched), "%lld", (long long)scheduled);
	if (started != STORE_NONE)
		snprintf(start, sizeof(start), "%lld", (long long)started);
	if (reason)
		snprintf(rsn, sizeof(rsn), "\"%s\"", reason);
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"receipt\",\"node\":\"%s\",\"seq\":%lld,\"from\":1,\"occ\":\"%s\","
		 "\"kind\":\"%s\",\"state\":\"%s\",\"scheduled_ms\":%s,\"started_ms\":%s,\"ended_ms\":null,"
		 "\"played_ms\":18400,\"start_error_us\":-310,\"volume\":80,\"reason\":%s}",
		 node, (long long)seq, occ, kind, state, sched, start, rsn);
	return store_receipt(f->s, node, buf, strlen(buf), received, &ack);
}

static void rcpt(struct fx *f, const char *node, const char *occ, const char *state, int64_t scheduled,
		 int64_t started, const char *reason)
{
	assert_int_equal(rcpt_seq(f, node, 0, occ, "plan", state, scheduled, started, reason,
				  scheduled + 60000), 0);
}

static void alert_rcpt(struct fx *f, const char *node, const char *id, const char *state, int64_t started,
		       int64_t received)
{
	assert_int_equal(rcpt_seq(f, node, 0, id, "alert", state, STORE_NONE, started, NULL, received), 0);
}

static void status(struct fx *f, const char *node, const char *state, int64_t ms, const char *extra)
{
	static int64_t n;
	char buf[512];

	enrol(f, node);
	snprintf(buf, sizeof(buf), "{\"type\":\"status\",\"node\":\"%s\",\"boot\":1,\"n\":%lld,"
		 "\"state\":\"%s\"%s%s}", node, strcmp(state, "offline") ? (long long)++n : 0LL,
		 state, extra ? "," : "", extra ? extra : "");
	assert_true(store_status(f->s, node, buf, strlen(buf), ms, false) >= 0);
}

static void plan(struct fx *f, const char *node, const char *const *occs, size_t n)
{
	struct store_occ v[8];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		/* occ "BROADCAST@YYYY-MM-DDTHH:MM" */
		const char *a = strchr(occs[i], '@');
		int y, mo, d, h, mi;
		int64_t ms;
		static char bc[8][64];

		assert_non_null(a);
		assert_int_equal(sscanf(a + 1, "%d-%d-%dT%d:%d", &y, &mo, &d, &h, &mi), 5);
		assert_int_equal(cx_tz_civil_to_ms(y, mo, d, h, mi, &ms), 0);
		snprintf(bc[i], sizeof(bc[i]), "%.*s", (int)(a - occs[i]), occs[i]);
		v[i] = (struct store_occ){ .occ = occs[i], .notice = !strncmp(bc[i], "news", 4) ? "news" : "flood",
			.broadcast = bc[i], .start_ms = ms, .duration_ms = 18400, .priority = 10 };
	}
	assert_int_equal(store_plan_replace(f->s, node, 0, v, n), 0);
}

static const char *title_of(const char *id, void *ud)
{
	(void)ud;
	return !strcmp(id, "flood") ? "防汛工作会议通知" : NULL;
}

static struct report_opts opts(void)
{
	return (struct report_opts){
		.from_ms = at(1, 0, 0), .to_ms = at(3, 0, 0), .now_ms = at(2, 20, 0),
		.presence = presence, .npresence = sizeof(presence) / sizeof(presence[0]),
		.township = "掌政镇", .timezone = "Asia/Shanghai", .title = title_of,
	};
}

/* A CAP message as the decision stores it. */
static void cap(struct fx *f, const char *sender, const char *id, const char *decision, const char *alert_id,
		int64_t received, const char *title, const char *reason)
{
	struct store_cap *c = calloc(1, sizeof(*c));
	static const char doc[] = "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"/>";

	assert_non_null(c);
	snprintf(c->sender, sizeof(c->sender), "%s", sender ? sender : "");
	if (sender)
		snprintf(c->identifier, sizeof(c->identifier), "%s", id);
	else
		store_cap_anon(c, id, strlen(id));
	c->sent_ms = STORE_NONE;
	c->received_ms = received;
	snprintf(c->origin, sizeof(c->origin), "/var/spool/cunxiang/cap/%s.xml", sender ? "in" : "bad");
	snprintf(c->msg_type, sizeof(c->msg_type), "%s", sender ? "Alert" : "");
	snprintf(c->status, sizeof(c->status), "%s", sender ? "Actual" : "");
	snprintf(c->decision, sizeof(c->decision), "%s", decision);
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	snprintf(c->alert_id, sizeof(c->alert_id), "%s", alert_id ? alert_id : "");
	snprintf(c->title, sizeof(c->title), "%s", title ? title : "");
	c->level = alert_id ? 2 : 0;
	snprintf(c->alert_class, sizeof(c->alert_class), "%s", alert_id ? "actual" : "");
	c->expires_ms = STORE_NONE;
	c->decided_ms = STORE_NONE;
	assert_int_equal(store_cap_add(f->s, c, sender ? doc : id, sender ? strlen(doc) : strlen(id)), 0);
	free(c);
}

/* A1 came from a CAP message; five were not broadcast in the period, one
 * before it. */
static void fill_cap(struct fx *f)
{
	cap(f, CAP_SENDER, CAP_ID, "broadcast", A1, at(1, 9, 59), "山洪预警", "rule flood-red matched");
	cap(f, CAP_SENDER, "NX-old", "ignore", NULL, at(0, 12, 0), "old", "status Test");
	cap(f, "stranger@example.org", CAP_BAD_ID, "reject", NULL, at(1, 11, 0), "Fake <b>flood</b>",
	    "sender 'stranger@example.org' is not in warnings.yaml");
	cap(f, CAP_SENDER, "NX-ignored", "ignore", NULL, at(1, 15, 0), "Test message", "status Test: ignored");
	cap(f, CAP_SENDER, "NX-hold-1", "hold", NULL, at(2, 9, 30), "暴雨红色预警", "level 1 waits for an operator");
	assert_int_equal(store_cap_decide(f->s, CAP_SENDER, "NX-hold-1", "expired", "not approved before it expired",
					  NULL, at(2, 12, 0)), 0);
	cap(f, NULL, "<alert>not xml", "reject", NULL, at(2, 10, 0), NULL, "line 1: not well-formed XML");
	cap(f, CAP_SENDER, "NX-hold-2", "hold", NULL, at(2, 18, 0), "大风蓝色预警", "level 1 waits for an operator");
}

static void fill(struct fx *f)
{
	struct store_fleet_node fleet[] = {
		{ .id = "yn-01", .village_code = "640104100201", .village_name = "永南村", .households = 300 },
		{ .id = "yn-02", .village_code = "640104100201", .village_name = "永南村", .households = 512 },
		{ .id = "yb-01", .village_code = "640104100202", .village_name = "永北村", .households = 200 },
		{ .id = "yb-02", .village_code = "640104100202", .village_name = "永北村", .households = 80 },
		{ .id = "zz-01", .village_code = "640104100203", .village_name = HOSTILE, .households = 0 },
		{ .id = "xx-01", .village_code = "640104100202", .village_name = "永北村", .households = 100 },
	};
	static const char *const yn01[] = {
		"flood-daily@2026-11-30T19:00", "flood-daily@2026-12-01T07:30", "flood-daily@2026-12-01T19:00",
		"flood-daily@2026-12-02T07:30", "flood-daily@2026-12-02T19:00", "flood-late@2026-12-02T21:00",
		"flood-daily@2026-11-20T07:30", "flood-daily@2026-11-20T19:00",
	};
	static const char *const yn02[] = {
		"flood-daily@2026-12-01T07:30", "flood-daily@2026-12-01T19:00",
		"flood-daily@2026-12-02T07:30", "flood-daily@2026-12-02T19:00",
	};
	static const char *const yb01[] = {
		"flood-daily@2026-12-01T07:30", "flood-daily@2026-12-01T19:00", "news-noon@2026-12-01T12:30",
		"flood-daily@2026-12-02T07:30", "flood-daily@2026-12-02T19:00",
	};
	static const char *const yb02[] = { "news-noon@2026-12-01T12:30" };
	static const char *const xx01[] = { "news-noon@2026-12-01T12:30" };
	const char *a1_nodes[] = { "yn-01", "yn-02", "yb-01", "yb-02" };
	const char *a2_nodes[] = { "yn-01", "yb-01" };
	struct store_alert a1 = { .id = A1, .level = 2, .alert_class = "actual", .issued_ms = at(1, 10, 0),
		.start_ms = at(1, 10, 0), .expires_ms = at(1, 11, 0), .title = "山洪预警",
		.targets_json = "{\"areas\":[\"640104\"],\"tags\":[],\"nodes\":[]}" };
	struct store_alert a2 = { .id = A2, .level = 4, .alert_class = "drill", .issued_ms = at(2, 9, 0),
		.start_ms = at(2, 9, 0), .expires_ms = at(2, 10, 0), .title = "演练",
		.targets_json = "{\"areas\":[],\"tags\":[],\"nodes\":[\"yn-01\",\"yb-01\"]}" };
	int64_t t;

	/* Statuses first: the state in force at the period's start. */
	status(f, "yn-01", "idle", at(0, 23, 0), "\"clock_offset_us\":-9000,\"spool\":0,\"rejected\":0");
	status(f, "yn-02", "idle", at(1, 0, 0), "\"spool\":0,\"rejected\":0");
	status(f, "yn-02", "offline", at(1, 6, 0), NULL);
	status(f, "yn-02", "idle", at(1, 8, 0), "\"spool\":0,\"rejected\":0");
	status(f, "yb-02", "idle", at(1, 0, 0), "\"spool\":5,\"rejected\":2,\"clock_offset_us\":400");
	status(f, "yb-02", "offline", at(1, 1, 0), NULL);
	status(f, "yb-01", "playing", at(1, 12, 0), "\"clock_offset_us\":15000,\"spool\":0,\"rejected\":0");

	assert_int_equal(store_fleet_replace(f->s, fleet, 6), 0);
	plan(f, "yn-01", yn01, 8);
	plan(f, "yn-02", yn02, 4);
	plan(f, "yb-01", yb01, 5);
	plan(f, "yb-02", yb02, 1);
	plan(f, "xx-01", xx01, 1);
	assert_int_equal(store_fleet_replace(f->s, fleet, 5), 0); /* xx-01 leaves */
	assert_int_equal(store_alert_add(f->s, &a1, a1_nodes, 4), 0);
	assert_int_equal(store_alert_add(f->s, &a2, a2_nodes, 2), 0);
	fill_cap(f);

	/* Older history: the store skips these receipts by their seq. */
	rcpt(f, "yn-01", yn01[6], "completed", at(0, 7, 30) - 10 * 86400000LL, at(0, 7, 30) - 10 * 86400000LL, NULL);
	rcpt(f, "yn-01", yn01[7], "completed", at(0, 19, 0) - 10 * 86400000LL, at(0, 19, 0) - 10 * 86400000LL, NULL);
	/* P0, before the period. */
	rcpt(f, "yn-01", yn01[0], "completed", at(0, 19, 0), at(0, 19, 0), NULL);
	/* P1, its receipt resent with the same seq, then a second completed. */
	t = at(1, 7, 30);
	rcpt(f, "yn-01", yn01[1], "completed", t, t + 300, NULL);
	assert_int_equal(rcpt_seq(f, "yn-01", last_seq(f, "yn-01"), yn01[1], "plan", "completed", t, t + 300,
				  NULL, t + 90000), 1);
	rcpt(f, "yn-01", yn01[1], "completed", t, t + 300, NULL);
	/* P2 */
	t = at(1, 19, 0);
	rcpt(f, "yn-01", yn01[2], "started", t, t + 10, NULL);
	rcpt(f, "yn-01", yn01[2], "completed", t, t + 10, NULL);
	/* P3, P4 */
	t = at(1, 7, 30);
	rcpt(f, "yn-02", yn02[0], "started", t, t, NULL);
	rcpt(f, "yn-02", yn02[0], "interrupted", t, t, "preempted by " A1);
	/* P5, P6 */
	rcpt(f, "yb-01", yb01[0], "failed", t, STORE_NONE, "asset missing");
	t = at(1, 19, 0);
	rcpt(f, "yb-01", yb01[1], "started", t, t, NULL);
	rcpt(f, "yb-01", yb01[1], "interrupted", t, t, "stopped by the player");
	/* P7, P8, P9 */
	t = at(1, 12, 30);
	rcpt(f, "yb-01", yb01[2], "completed", t, t + 5, NULL);
	rcpt(f, "yb-02", yb02[0], "skipped", t, STORE_NONE, "delayed beyond max_delay by other broadcasts");
	rcpt(f, "xx-01", xx01[0], "completed", t, t, NULL);
	/* P10, P11 */
	t = at(2, 7, 30);
	rcpt(f, "yn-01", yn01[3], "completed", t, t, NULL);
	rcpt(f, "yn-01", yn01[4], "expired", at(2, 19, 0), STORE_NONE, "missed its start time");
	/* P12: cut off, restarted at 08:05 (presence 0.3), completed. P13. */
	rcpt(f, "yn-02", yn02[2], "started", t, t, NULL);
	rcpt(f, "yn-02", yn02[2], "interrupted", t, t, "preempted by " A2);
	rcpt(f, "yn-02", yn02[2], "started", t, at(2, 8, 5), NULL);
	rcpt(f, "yn-02", yn02[2], "completed", t, at(2, 8, 5), NULL);
	rcpt(f, "yn-02", yn02[3], "started", at(2, 19, 0), at(2, 19, 0), NULL);
	/* P14, P15: nothing. P16 is not due. */

	/* A1 (actual): yn-01 after 800 ms, yn-02 after 1.5 s then cancelled,
	 * yb-01 accepted but expired, yb-02 silent; xx-01 was not targeted. */
	t = at(1, 10, 0);
	alert_rcpt(f, "yn-01", A1, "accepted", STORE_NONE, t + 200);
	alert_rcpt(f, "yn-01", A1, "started", t + 800, t + 900);
	alert_rcpt(f, "yn-01", A1, "completed", t + 800, t + 30000);
	alert_rcpt(f, "yn-02", A1, "accepted", STORE_NONE, t + 300);
	alert_rcpt(f, "yn-02", A1, "started", t + 1500, t + 1600);
	alert_rcpt(f, "yn-02", A1, "interrupted", t + 1500, t + 9000);
	alert_rcpt(f, "yb-01", A1, "accepted", STORE_NONE, t + 400);
	alert_rcpt(f, "yb-01", A1, "expired", STORE_NONE, t + 3600000);
	alert_rcpt(f, "xx-01", A1, "accepted", STORE_NONE, t + 400);
	/* A2 (drill): 300 ms and 5 s. */
	t = at(2, 9, 0);
	alert_rcpt(f, "yn-01", A2, "started", t + 300, t + 400);
	alert_rcpt(f, "yn-01", A2, "completed", t + 300, t + 20000);
	alert_rcpt(f, "yb-01", A2, "started", t + 5000, t + 5100);
	alert_rcpt(f, "yb-01", A2, "completed", t + 5000, t + 25000);

	/* Receipts that fit nothing: a plan occ never planned, an unknown alert. */
	assert_int_equal(rcpt_seq(f, "yn-01", 0, "bogus@2026-12-01T10:00", "plan", "completed",
				  at(1, 10, 0), at(1, 10, 0), NULL, at(1, 10, 1)), 0);
	assert_int_equal(rcpt_seq(f, "yb-01", 0, "640104100000-20261201-9999", "alert", "accepted",
				  STORE_NONE, STORE_NONE, NULL, at(1, 11, 0)), 0);
	/* A quarantined one. */
	{
		char bad[256];
		int64_t ack;

		snprintf(bad, sizeof(bad), "{\"type\":\"receipt\",\"node\":\"yb-02\",\"seq\":%lld,\"from\":1,\"occ\":\"%s\","
			 "\"kind\":\"plan\",\"state\":\"exploded\"}", (long long)next_seq(f, "yb-02"), yb02[0]);
		assert_int_equal(store_receipt(f->s, "yb-02", bad, strlen(bad), at(1, 12, 31), &ack), -EBADMSG);
	}
}

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

static struct report *compute(struct fx *f, const struct report_opts *o)
{
	char err[256];
	struct report *r = report_compute(f->s, o, err, sizeof(err));

	if (!r)
		fail_msg("report_compute: %s", err);
	return r;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct report_opts o;
	char err[256];

	assert_non_null(f);
	assert_int_equal(cx_tz_set("Asia/Shanghai"), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_report.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/" STORE_FILE, f->dir);
	f->s = store_open(f->path, 0, err, sizeof(err));
	if (!f->s)
		fail_msg("store_open: %s", err);
	fill(f);
	/* Report from a read-only open, as the command does. */
	store_close(f->s);
	f->s = store_open(f->path, STORE_READONLY, err, sizeof(err));
	if (!f->s)
		fail_msg("store_open: %s", err);
	o = opts();
	f->r = compute(f, &o);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	report_free(f->r);
	store_close(f->s);
	rm_dir(f->dir);
	free(f);
	return 0;
}

#define EPS 1e-9

static void expect_fig(const struct report_fig *g, int64_t planned, int64_t completed, int64_t interrupted,
		       int64_t failed, int64_t skipped, int64_t expired, int64_t unfinished, int64_t none,
		       int64_t targets, int64_t reached, int64_t hh, int64_t hh_reached, double aware_hh)
{
	assert_int_equal(g->planned, planned);
	assert_int_equal(g->completed, completed);
	assert_int_equal(g->interrupted, interrupted);
	assert_int_equal(g->failed, failed);
	assert_int_equal(g->skipped, skipped);
	assert_int_equal(g->expired, expired);
	assert_int_equal(g->unfinished, unfinished);
	assert_int_equal(g->no_receipt, none);
	assert_int_equal(g->targets, targets);
	assert_int_equal(g->reached, reached);
	assert_int_equal(g->households, hh);
	assert_int_equal(g->households_reached, hh_reached);
	assert_true(fabs(g->aware_households - aware_hh) < 1e-6);
	assert_true(fabs(g->reach - (double)reached / (double)targets) < EPS);
	assert_true(fabs(g->household_reach - (double)hh_reached / (double)hh) < EPS);
	assert_true(fabs(g->awareness - aware_hh / (double)hh) < EPS);
}

/* ---- the figures --------------------------------------------------------- */

static void presence_profile(void **state)
{
	struct fx *f = *state;

	assert_true(fabs(report_presence(f->r, at(1, 7, 30)) - 0.7) < EPS);
	assert_true(fabs(report_presence(f->r, at(1, 8, 0)) - 0.3) < EPS);  /* ranges are [start, end) */
	assert_true(fabs(report_presence(f->r, at(1, 7, 59)) - 0.7) < EPS);
	assert_true(fabs(report_presence(f->r, at(1, 21, 59)) - 0.9) < EPS);
	assert_true(report_presence(f->r, at(1, 22, 0)) == 0.0);
	assert_true(report_presence(f->r, at(1, 3, 0)) == 0.0);
}

static void per_notice(void **state)
{
	struct fx *f = *state;
	const struct report_notice *n;

	assert_int_equal(report_notice_count(f->r), 2);
	n = report_notice(f->r, 0);
	assert_string_equal(n->id, "flood");
	assert_string_equal(n->title, "防汛工作会议通知");
	/* 12 due plays; yn-01 and yn-02 reached, yb-01 not.
	 * P(yn-01) = 1 − 0.3·0.1·0.3 = 0.991 (07:30, 19:00, 07:30; P1 once),
	 * P(yn-02) = 0.3 (the restart at 08:05), P(yb-01) = 0. */
	expect_fig(&n->f, 12, 4, 2, 1, 0, 1, 1, 3, 3, 2, 1012, 812, 300 * 0.991 + 512 * 0.3);
	assert_true(fabs(n->f.awareness - 450.9 / 1012) < EPS);

	n = report_notice(f->r, 1);
	assert_string_equal(n->id, "news");
	assert_null(n->title);
	/* yb-01 and xx-01 (out of the fleet now, households kept) reached at 12:30. */
	expect_fig(&n->f, 3, 2, 0, 0, 1, 0, 0, 0, 3, 2, 380, 300, 200 * 0.8 + 100 * 0.8);
}

static void per_village(void **state)
{
	struct fx *f = *state;
	const struct report_village *v;

	assert_int_equal(report_village_count(f->r), 3);
	v = report_village(f->r, 0);
	assert_string_equal(v->code, "640104100201");
	assert_string_equal(v->name, "永南村");
	expect_fig(&v->f, 8, 4, 1, 0, 0, 1, 1, 1, 2, 2, 812, 812, 450.9);
	v = report_village(f->r, 1);
	assert_string_equal(v->name, "永北村");
	/* Targets (node, notice): yb-01 flood, yb-01 news, yb-02 news, xx-01 news. */
	expect_fig(&v->f, 7, 2, 1, 1, 1, 0, 0, 2, 4, 2, 580, 300, 240);
	v = report_village(f->r, 2);
	assert_string_equal(v->name, HOSTILE);
	assert_int_equal(v->f.planned, 0);
	assert_true(isnan(v->f.reach) && isnan(v->f.awareness));
}

static void per_day(void **state)
{
	struct fx *f = *state;
	const struct report_day *d;

	assert_int_equal(report_day_count(f->r), 2);
	d = report_day(f->r, 0);
	assert_int_equal(d->day, 1);
	assert_int_equal(d->start_ms, at(1, 0, 0));
	/* P(yn-01) that day = 1 − 0.3·0.1 = 0.97. */
	expect_fig(&d->f, 9, 4, 2, 1, 1, 0, 0, 1, 6, 3, 1392, 600, 300 * 0.97 + 200 * 0.8 + 100 * 0.8);
	d = report_day(f->r, 1);
	assert_int_equal(d->day, 2);
	expect_fig(&d->f, 6, 2, 0, 0, 0, 1, 1, 2, 3, 2, 1012, 812, 300 * 0.7 + 512 * 0.3);
}

static void totals(void **state)
{
	struct fx *f = *state;
	const struct report_summary *s = report_summary(f->r);

	expect_fig(&s->total, 15, 6, 2, 1, 1, 1, 1, 3, 6, 4, 1392, 1112, 450.9 + 240);
	assert_int_equal(s->pending, 1);   /* P16 */
	assert_int_equal(s->notices, 2);
	assert_int_equal(s->villages, 2);
	assert_int_equal(s->nodes, 5);  /* xx-01 too */
	assert_int_equal(s->unknown_receipts, 2);
	assert_int_equal(s->quarantined, 1);
}

static void alerts_apart(void **state)
{
	struct fx *f = *state;
	const struct report_summary *s = report_summary(f->r);
	const struct report_alert *a;

	assert_int_equal(report_alert_count(f->r), 2);
	a = report_alert(f->r, 0);
	assert_string_equal(a->id, A1);
	assert_string_equal(a->alert_class, "actual");
	assert_int_equal(a->level, 2);
	assert_int_equal(a->targeted, 4);
	assert_int_equal(a->accepted, 3);
	assert_int_equal(a->started, 2);
	assert_int_equal(a->completed, 1);
	assert_int_equal(a->other_nodes, 1);
	assert_int_equal(a->p50_ms, 800);
	assert_int_equal(a->p95_ms, 1500);
	assert_int_equal(a->max_ms, 1500);
	assert_int_equal(a->nmissed, 2);
	assert_string_equal(a->missed[0].node, "yb-01");
	assert_string_equal(a->missed[0].last_receipt, "expired");
	assert_string_equal(a->missed[0].status, "playing");
	assert_string_equal(a->missed[0].village_name, "永北村");
	assert_string_equal(a->missed[1].node, "yb-02");
	assert_null(a->missed[1].last_receipt);
	assert_string_equal(a->missed[1].status, "offline");

	a = report_alert(f->r, 1);
	assert_string_equal(a->id, A2);
	assert_string_equal(a->alert_class, "drill");
	assert_int_equal(a->targeted, 2);
	assert_int_equal(a->started, 2);
	assert_int_equal(a->p50_ms, 300);
	assert_int_equal(a->p95_ms, 5000);
	assert_int_equal(a->nmissed, 0);

	/* The drill's 300 ms and 5 s never enter the actual figures. */
	assert_int_equal(s->alerts_actual, 1);
	assert_int_equal(s->alerts_drill, 1);
	assert_int_equal(s->actual_targeted, 4);
	assert_int_equal(s->actual_started, 2);
	assert_int_equal(s->actual_p50_ms, 800);
	assert_int_equal(s->actual_p95_ms, 1500);
	assert_int_equal(s->actual_max_ms, 1500);
	assert_int_equal(s->drill_targeted, 2);
	assert_int_equal(s->drill_started, 2);
}

static void unknown_and_quarantined(void **state)
{
	struct fx *f = *state;

	assert_int_equal(report_unknown_count(f->r), 2);
	assert_string_equal(report_unknown(f->r, 0)->node, "yb-01");
	assert_string_equal(report_unknown(f->r, 0)->kind, "alert");
	assert_int_equal(report_unknown(f->r, 0)->at_ms, at(1, 11, 0));
	assert_string_equal(report_unknown(f->r, 1)->occ, "bogus@2026-12-01T10:00");
	assert_int_equal(report_unknown(f->r, 1)->at_ms, at(1, 10, 0));
	assert_int_equal(report_bad_count(f->r), 1);
	assert_string_equal(report_bad(f->r, 0)->node, "yb-02");
	assert_int_equal(report_bad(f->r, 0)->received_ms, at(1, 12, 31));
	assert_non_null(strstr(report_bad(f->r, 0)->error, "state"));
}

static void fleet_health(void **state)
{
	struct fx *f = *state;
	const struct report_summary *s = report_summary(f->r);
	const int64_t span = 44 * 3600000LL; /* 12-01 00:00 .. 12-02 20:00 */
	const struct report_node *n;

	/* yn-01, yn-02 (201), yb-01, yb-02 (202), zz-01 (203); xx-01 left
	 * the fleet and sent no status. */
	assert_int_equal(report_node_count(f->r), 5);
	n = report_node(f->r, 0);
	assert_string_equal(n->id, "yn-01");
	assert_int_equal(n->up_ms, span);
	assert_false(n->clock_off);
	n = report_node(f->r, 1);
	assert_string_equal(n->id, "yn-02");
	assert_int_equal(n->up_ms, span - 2 * 3600000LL);
	assert_int_equal(n->longest_offline_ms, 2 * 3600000LL);
	assert_false(n->offline_long);
	n = report_node(f->r, 2);
	assert_string_equal(n->id, "yb-01");
	assert_int_equal(n->up_ms, 32 * 3600000LL);  /* no status before 12-01 12:00 */
	assert_true(n->clock_off);
	n = report_node(f->r, 3);
	assert_string_equal(n->id, "yb-02");
	assert_int_equal(n->up_ms, 3600000LL);
	assert_int_equal(n->longest_offline_ms, 43 * 3600000LL);
	assert_int_equal(n->offline_from_ms, at(1, 1, 0));
	assert_true(n->offline_long);
	assert_int_equal(n->spool, 5);                /* kept from the last online status */
	assert_int_equal(n->rejected, 2);
	n = report_node(f->r, 4);
	assert_string_equal(n->id, "zz-01");
	assert_string_equal(n->state, "never");
	assert_int_equal(n->up_ms, 0);
	assert_int_equal(s->nodes_offline_long, 1);
	assert_int_equal(s->nodes_spool, 1);
	assert_int_equal(s->nodes_rejected, 1);
	assert_int_equal(s->nodes_clock_off, 1);
	assert_true(fabs(s->fleet_up_share - 119.0 / 220.0) < EPS);
}

static void filters(void **state)
{
	struct fx *f = *state;
	struct report_opts o = opts();
	struct report *r;

	/* One village, by name: only yb-01's flood plays and the news. */
	o.village = "永北村";
	r = compute(f, &o);
	assert_int_equal(report_notice_count(r), 2);
	expect_fig(&report_notice(r, 0)->f, 4, 0, 1, 1, 0, 0, 0, 2, 1, 0, 200, 0, 0);
	assert_int_equal(report_village_count(r), 1);
	assert_int_equal(report_node_count(r), 2);
	/* A1 in that village: yb-01 and yb-02 targeted, neither started; the
	 * drill reached yb-01. */
	assert_int_equal(report_alert_count(r), 2);
	assert_int_equal(report_alert(r, 0)->targeted, 2);
	assert_int_equal(report_alert(r, 0)->started, 0);
	assert_int_equal(report_alert(r, 0)->p50_ms, REPORT_NONE);
	assert_int_equal(report_alert(r, 0)->nmissed, 2);
	assert_int_equal(report_summary(r)->unknown_receipts, 1);
	report_free(r);

	/* By code gives the same. One notice: no alert carries its id. */
	o.village = "640104100202";
	o.notice = "news";
	r = compute(f, &o);
	assert_int_equal(report_notice_count(r), 1);
	expect_fig(&report_summary(r)->total, 3, 2, 0, 0, 1, 0, 0, 0, 3, 2, 380, 300, 240);
	assert_int_equal(report_alert_count(r), 0);
	report_free(r);

	/* An alert id as --notice shows that alert alone. */
	o = opts();
	o.notice = A2;
	r = compute(f, &o);
	assert_int_equal(report_notice_count(r), 0);
	assert_int_equal(report_alert_count(r), 1);
	assert_string_equal(report_alert(r, 0)->id, A2);
	report_free(r);

	/* Before the period began: nothing due, every play pending. */
	o = opts();
	o.now_ms = at(0, 12, 0);
	r = compute(f, &o);
	assert_int_equal(report_day_count(r), 0);
	assert_int_equal(report_summary(r)->total.planned, 0);
	assert_int_equal(report_summary(r)->pending, 16);
	assert_true(isnan(report_summary(r)->total.reach));
	report_free(r);
}

/* ---- the formats ----------------------------------------------------------- */

static char *render(const struct report *r, enum report_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(report_write(r, fmt, at(2, 20, 0), m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static void csv_and_json_agree(void **state)
{
	struct fx *f = *state;
	char *csv = render(f->r, REPORT_CSV), *js = render(f->r, REPORT_JSON);
	json_error_t e;
	json_t *root = json_loads(js, 0, &e), *n;

	if (!root)
		fail_msg("JSON: %s at line %d", e.text, e.line);
	assert_non_null(strstr(csv, "section,notice,title,planned,completed,interrupted,failed,skipped,"
				"expired,unfinished,no_receipt,targets,reached,reach,households,"
				"households_reached,household_reach,awareness\r\n"));
	assert_non_null(strstr(csv, "\r\nnotices,flood,防汛工作会议通知,12,4,2,1,0,1,1,3,3,2,0.666667,"
				"1012,812,0.802372,0.445553\r\n"));
	assert_non_null(strstr(csv, "\r\nnotices,news,,3,2,0,0,1,0,0,0,3,2,0.666667,380,300,0.789474,"
				"0.631579\r\n"));
	assert_non_null(strstr(csv, "\r\ndays,2026-12-01,9,4,2,1,1,0,0,1,6,3,0.5,1392,600,0.431034,0.381466\r\n"));
	assert_non_null(strstr(csv, "\r\nalerts," A1 ",actual,2,山洪预警,2026-12-01T10:00:00+08:00,,,4,3,2,1,1,"
				"800,1500,1500,2," CAP_SENDER "," CAP_ID "\r\n"));
	/* The drill was typed by a person: no CAP columns. */
	assert_non_null(strstr(csv, ",0,,\r\n"));
	/* The hostile village name is one quoted-when-needed field. */
	assert_non_null(strstr(csv, "\r\nvillages,640104100203," HOSTILE ",0,"));

	n = json_array_get(json_object_get(root, "notices"), 0);
	assert_string_equal(json_string_value(json_object_get(n, "notice")), "flood");
	assert_int_equal(json_integer_value(json_object_get(n, "planned")), 12);
	assert_int_equal(json_integer_value(json_object_get(n, "no_receipt")), 3);
	assert_true(fabs(json_real_value(json_object_get(n, "reach")) - 0.666667) < EPS);
	assert_true(fabs(json_real_value(json_object_get(n, "awareness")) - 0.445553) < EPS);
	n = json_object_get(root, "summary");
	assert_int_equal(json_integer_value(json_object_get(n, "planned")), 15);
	assert_int_equal(json_integer_value(json_object_get(n, "actual_delivery_p95_ms")), 1500);
	assert_int_equal(json_integer_value(json_object_get(n, "alerts_drill")), 1);
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(root, "villages"), 2), "reach")));
	assert_int_equal(json_array_size(json_object_get(root, "alert_not_reached")), 2);
	assert_int_equal(json_array_size(json_object_get(root, "unknown_receipts")), 2);
	assert_int_equal(json_array_size(json_object_get(root, "assumptions")), 10);
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "report"), "from")),
			    "2026-12-01");
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "report"), "to")),
			    "2026-12-02");
	json_decref(root);
	free(csv);
	free(js);
}

static void text_and_html(void **state)
{
	struct fx *f = *state;
	char *txt = render(f->r, REPORT_TEXT), *html = render(f->r, REPORT_HTML);
	const char *svg, *end, *p;
	int bars = 0;

	/* The model is printed with the report. */
	assert_non_null(strstr(txt, "Model and assumptions"));
	assert_non_null(strstr(txt, "06:00-08:00 70%"));
	assert_non_null(strstr(txt, "plays planned later (1) are still to come"));
	assert_non_null(strstr(txt, "66.7%"));
	/* HTML: self-contained, escaped, one bar per village. */
	assert_non_null(strstr(html, "<meta charset=\"utf-8\">"));
	assert_non_null(strstr(html, "name=\"viewport\""));
	assert_non_null(strstr(html, "@media print"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "href="));
	assert_null(strstr(html, "url("));
	assert_non_null(strstr(html, "沙&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;村"));
	svg = strstr(html, "<svg id=\"chart-villages\"");
	assert_non_null(svg);
	end = strstr(svg, "</svg>");
	for (p = svg; (p = strstr(p, "class=\"bar\"")) && p < end; p++)
		bars++;
	assert_int_equal(bars, 3);
	assert_non_null(strstr(html, "<svg id=\"chart-days\""));
	assert_non_null(strstr(html, "<svg id=\"chart-alerts\""));
	free(txt);
	free(html);
}

/* ---- automatic warnings ---------------------------------------------------- */

static void cap_evidence(void **state)
{
	struct fx *f = *state;
	const struct report_summary *s = report_summary(f->r);
	const struct report_cap *c;
	struct report_opts o = opts();
	struct report *r;

	assert_string_equal(report_alert(f->r, 0)->cap_sender, CAP_SENDER);
	assert_string_equal(report_alert(f->r, 0)->cap_identifier, CAP_ID);
	assert_null(report_alert(f->r, 1)->cap_sender);
	assert_null(report_alert(f->r, 1)->cap_identifier);
	assert_int_equal(s->alerts_cap, 1);
	assert_int_equal(s->cap_not_broadcast, 5);
	assert_int_equal(report_cap_count(f->r), 5);
	c = report_cap(f->r, 0);
	assert_int_equal(c->received_ms, at(1, 11, 0));
	assert_string_equal(c->sender, "stranger@example.org");
	assert_string_equal(c->identifier, CAP_BAD_ID);
	assert_string_equal(c->decision, "reject");
	assert_string_equal(c->reason, "sender 'stranger@example.org' is not in warnings.yaml");
	assert_string_equal(report_cap(f->r, 1)->decision, "ignore");
	c = report_cap(f->r, 2);
	assert_string_equal(c->decision, "expired");
	assert_string_equal(c->reason, "not approved before it expired (held: level 1 waits for an operator)");
	c = report_cap(f->r, 3);
	assert_null(c->sender);
	assert_null(c->msg_type);
	assert_null(c->title);
	assert_int_equal(strncmp(c->identifier, "sha256:", 7), 0);
	assert_string_equal(c->origin, "/var/spool/cunxiang/cap/bad.xml");
	assert_string_equal(report_cap(f->r, 4)->decision, "hold");

	/* The village filter keeps them (they played nowhere); a notice
	 * filter leaves them out, and only its alert's CAP columns remain. */
	o.village = "永北村";
	r = compute(f, &o);
	assert_int_equal(report_cap_count(r), 5);
	assert_string_equal(report_alert(r, 0)->cap_identifier, CAP_ID);
	report_free(r);
	o = opts();
	o.notice = A1;
	r = compute(f, &o);
	assert_int_equal(report_cap_count(r), 0);
	assert_int_equal(report_summary(r)->cap_not_broadcast, 0);
	assert_int_equal(report_alert_count(r), 1);
	assert_string_equal(report_alert(r, 0)->cap_sender, CAP_SENDER);
	report_free(r);
	/* The day before: only the message received then. */
	o = opts();
	o.from_ms = at(0, 0, 0);
	o.to_ms = at(1, 0, 0);
	r = compute(f, &o);
	assert_int_equal(report_cap_count(r), 1);
	assert_string_equal(report_cap(r, 0)->identifier, "NX-old");
	assert_int_equal(report_alert_count(r), 0);
	report_free(r);
}

static void cap_in_every_format(void **state)
{
	struct fx *f = *state;
	char *txt = render(f->r, REPORT_TEXT), *js = render(f->r, REPORT_JSON);
	char *csv = render(f->r, REPORT_CSV), *html = render(f->r, REPORT_HTML);
	json_error_t e;
	json_t *root = json_loads(js, 0, &e), *a, *c;

	/* Text: the alert's row names its message; the section lists the rest. */
	assert_non_null(strstr(txt, "CAP SENDER"));
	assert_non_null(strstr(txt, CAP_SENDER "  " CAP_ID "\n"));
	assert_non_null(strstr(txt, "\nAutomatic warnings not broadcast\n"));
	assert_non_null(strstr(txt, "\n2026-12-01 11:00  stranger@example.org       " CAP_BAD_ID " "));
	assert_non_null(strstr(txt, "sender 'stranger@example.org' is not in warnings.yaml"));
	assert_non_null(strstr(txt, "(held: level 1 waits for an operator)"));

	/* JSON. */
	if (!root)
		fail_msg("JSON: %s at line %d", e.text, e.line);
	a = json_object_get(root, "alerts");
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "cap_sender")), CAP_SENDER);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "cap_identifier")), CAP_ID);
	assert_true(json_is_null(json_object_get(json_array_get(a, 1), "cap_sender")));
	assert_true(json_is_null(json_object_get(json_array_get(a, 1), "cap_identifier")));
	c = json_object_get(root, "cap_not_broadcast");
	assert_true(json_is_array(c));
	assert_int_equal(json_array_size(c), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "received")),
			    "2026-12-01T11:00:00+08:00");
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "sender")),
			    "stranger@example.org");
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "identifier")), CAP_BAD_ID);
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "decision")), "reject");
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "reason")),
			    "sender 'stranger@example.org' is not in warnings.yaml");
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "title")), "Fake <b>flood</b>");
	assert_true(json_is_null(json_object_get(json_array_get(c, 3), "sender")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 2), "decision")), "expired");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "summary"), "cap_not_broadcast")), 5);

	/* CSV: a section of its own. */
	assert_non_null(strstr(csv, "\r\nsection,received,sender,identifier,msg_type,title,decision,reason,origin\r\n"));
	assert_non_null(strstr(csv, "\r\ncap_not_broadcast,2026-12-01T11:00:00+08:00,stranger@example.org,"
				CAP_BAD_ID ",Alert,Fake <b>flood</b>,reject,"));

	/* HTML: everything from the message escaped. */
	assert_non_null(strstr(html, "<table id=\"cap-not-broadcast\">"));
	assert_non_null(strstr(html, "NX&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(html, "Fake &lt;b&gt;flood&lt;/b&gt;"));
	assert_non_null(strstr(html, "sender &#39;stranger@example.org&#39; is not in warnings.yaml"));
	assert_non_null(strstr(html, "<td>" CAP_SENDER "</td>"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<b>"));
	json_decref(root);
	free(txt);
	free(js);
	free(csv);
	free(html);
}

static void cap_none(void **state)
{
	struct fx *f = *state;
	struct report_opts o = opts();
	struct report *r;
	char *txt, *js, *html;
	json_t *root;

	o.notice = A2;
	r = compute(f, &o);
	txt = render(r, REPORT_TEXT);
	js = render(r, REPORT_JSON);
	html = render(r, REPORT_HTML);
	assert_non_null(strstr(txt, "\nAutomatic warnings not broadcast\n  (none)\n"));
	assert_non_null(strstr(html, "Automatic warnings not broadcast</h2>\n<p class=\"none\">None.</p>"));
	root = json_loads(js, 0, NULL);
	assert_non_null(root);
	assert_true(json_is_array(json_object_get(root, "cap_not_broadcast")));
	assert_int_equal(json_array_size(json_object_get(root, "cap_not_broadcast")), 0);
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(root, "alerts"), 0), "cap_sender")));
	json_decref(root);
	free(txt);
	free(js);
	free(html);
	report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(presence_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(per_notice, setup, teardown),
		cmocka_unit_test_setup_teardown(per_village, setup, teardown),
		cmocka_unit_test_setup_teardown(per_day, setup, teardown),
		cmocka_unit_test_setup_teardown(totals, setup, teardown),
		cmocka_unit_test_setup_teardown(alerts_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_and_quarantined, setup, teardown),
		cmocka_unit_test_setup_teardown(fleet_health, setup, teardown),
		cmocka_unit_test_setup_teardown(filters, setup, teardown),
		cmocka_unit_test_setup_teardown(csv_and_json_agree, setup, teardown),
		cmocka_unit_test_setup_teardown(text_and_html, setup, teardown),
		cmocka_unit_test_setup_teardown(cap_evidence, setup, teardown),
		cmocka_unit_test_setup_teardown(cap_in_every_format, setup, teardown),
		cmocka_unit_test_setup_teardown(cap_none, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
