/* SPDX-License-Identifier: GPL-2.0-or-later */
/* report_fill.c -- a township's month of plays, receipts, alerts and status through the store API, for the report benchmark */
#include "cxtime.h"
#include "store.h"

#include <sodium.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Usage: report_fill DIR [NODES [DAYS [PLAYS]]]
 * Writes DIR/data/receipts.db and DIR/schedules/fleet.yaml: NODES nodes
 * (default 2000) in villages of 20, DAYS days (default 30) ending
 * yesterday, PLAYS plays a day (8, the default, or 16) on every node
 * (about 1,000,000 receipts for 2,000 nodes, 30 days and 8 plays;
 * started + completed for most plays, 6% interrupted, 1% failed, 1%
 * missing; an alert to the whole fleet every few days, every seventh a
 * drill). Prints the first and last day and the number of receipts. */

#define PER_VILLAGE 20
#define SLOTS_MAX 16
#define NOTICES 10
#define ALERTS 14
#define BATCH 5000

static const int slot_8[8] = { 420, 510, 600, 750, 900, 1080, 1170, 1260 };
static const int slot_16[SLOTS_MAX] = { 420, 450, 510, 540, 600, 660, 750, 810,
					900, 960, 1080, 1110, 1170, 1200, 1260, 1290 };
static int slots = 8;             /* plays a day */
static const int *slot_min = slot_8;
static const char *const name_a[10] = { "永", "红", "新", "东", "西", "南", "北", "和", "兴", "丰" };
static const char *const name_b[10] = { "安", "平", "乐", "宁", "光", "明", "星", "旗", "河", "山" };
static const char *const name_c[5] = { "", "上", "下", "前", "后" };

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

struct filler {
	struct store *s;
	size_t pending;
	int64_t receipts;
};

static void die(struct filler *f, const char *what, int r)
{
	fprintf(stderr, "report_fill: %s: %s (%s)\n", what, strerror(r < 0 ? -r : EIO), store_errmsg(f->s));
	exit(1);
}

static void batch(struct filler *f)
{
	int r;

	if (++f->pending < BATCH)
		return;
	if ((r = store_commit(f->s)) < 0)
		die(f, "commit", r);
	if ((r = store_begin(f->s)) < 0)
		die(f, "begin", r);
	f->pending = 0;
}

static void receipt(struct filler *f, const char *node, int64_t seq, const char *occ, const char *kind,
		    const char *state, int64_t scheduled, int64_t started, int64_t received)
{
	char buf[512], st[32] = "null";
	int64_t ack;
	int r;

	if (started >= 0)
		snprintf(st, sizeof(st), "%" PRId64, started);
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"receipt\",\"node\":\"%s\",\"seq\":%" PRId64 ",\"from\":1,\"occ\":\"%s\",\"kind\":\"%s\","
		 "\"state\":\"%s\",\"scheduled_ms\":%" PRId64 ",\"started_ms\":%s,\"ended_ms\":null,"
		 "\"played_ms\":18400,\"start_error_us\":-310,\"volume\":80,\"reason\":null}",
		 node, seq, occ, kind, state, scheduled, st);
	if ((r = store_receipt(f->s, node, buf, strlen(buf), received, &ack)) != 0)
		die(f, "receipt", r);
	f->receipts++;
	batch(f);
}

static void status(struct filler *f, const char *node, const char *state, int64_t ms, const char *extra)
{
	static int64_t n;
	char buf[256];
	int r;

	snprintf(buf, sizeof(buf), "{\"type\":\"status\",\"node\":\"%s\",\"boot\":1,\"n\":%" PRId64
		 ",\"state\":\"%s\"%s}", node, strcmp(state, "offline") ? ++n : 0, state, extra);
	if ((r = store_status(f->s, node, buf, strlen(buf), ms, false)) < 0)
		die(f, "status", r);
	batch(f);
}

int main(int argc, char **argv)
{
	struct filler f = { 0 };
	size_t nodes = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
	int days = argc > 3 ? atoi(argv[3]) : 30;
	size_t nvill = (nodes + PER_VILLAGE - 1) / PER_VILLAGE;
	struct store_fleet_node *fleet;
	struct store_occ *occ;
	const char **idp;
	char (*ids)[16], (*codes)[16], (*names)[32], (*occs)[64], path[4096];
	int64_t *seq, first_day, now = cx_now_ms();
	struct tm tm;
	FILE *y;
	int r;

	if (argc > 4 && atoi(argv[4]) == SLOTS_MAX) {
		slots = SLOTS_MAX;
		slot_min = slot_16;
	}
	if (argc < 2 || !nodes || nodes > 500 * PER_VILLAGE || days < 1 || days > 365 ||
	    (argc > 4 && slots != atoi(argv[4]))) {
		fprintf(stderr, "usage: report_fill DIR [NODES (1..10000) [DAYS (1..365) [PLAYS (8 or 16)]]]\n");
		return 2;
	}
	cx_tz_set("Asia/Shanghai");
	cx_tz_ms_to_civil(now, &tm);
	first_day = cx_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) - days;

	fleet = calloc(nodes, sizeof(*fleet));
	ids = calloc(nodes, sizeof(*ids));
	codes = calloc(nvill, sizeof(*codes));
	names = calloc(nvill, sizeof(*names));
	seq = calloc(nodes, sizeof(*seq));
	idp = calloc(nodes, sizeof(*idp));
	occ = calloc((size_t)days * slots, sizeof(*occ));
	occs = calloc((size_t)days * slots, sizeof(*occs));
	if (!fleet || !ids || !codes || !names || !seq || !idp || !occ || !occs)
		return 1;

	/* fleet.yaml, for the zone and the presence profile. */
	snprintf(path, sizeof(path), "%s/schedules/fleet.yaml", argv[1]);
	if (!(y = fopen(path, "w"))) {
		perror(path);
		return 1;
	}
	fprintf(y, "township: 掌政镇\narea_code: \"640104100000\"\ntimezone: Asia/Shanghai\n"
		   "presence:\n  \"06:00-08:00\": 0.7\n  \"08:00-12:00\": 0.3\n  \"12:00-14:00\": 0.8\n"
		   "  \"14:00-18:00\": 0.3\n  \"18:00-22:00\": 0.9\nvillages:\n");
	for (unsigned v = 0; v < nvill; v++) {
		snprintf(codes[v], sizeof(codes[v]), "640104100%03u", (201 + v) % 1000);
		snprintf(names[v], sizeof(names[v]), "%s%s%s村", name_c[v / 100 % 5], name_a[v / 10 % 10], name_b[v % 10]);
		fprintf(y, "  - code: \"%s\"\n    name: %s\n    nodes:\n", codes[v], names[v]);
		for (size_t i = v * PER_VILLAGE; i < nodes && i < (v + 1) * PER_VILLAGE; i++) {
			snprintf(ids[i], sizeof(ids[i]), "v%03u-%02u", v % 1000, (unsigned)(i % PER_VILLAGE));
			idp[i] = ids[i];
			fleet[i] = (struct store_fleet_node){ .id = ids[i], .village_code = codes[v],
				.village_name = names[v], .households = 50 + rnd(450) };
			fprintf(y, "      - { id: %s, households: %" PRId64 " }\n", ids[i], fleet[i].households);
		}
	}
	if (fclose(y) != 0) {
		perror(path);
		return 1;
	}

	snprintf(path, sizeof(path), "%s/data/receipts.db", argv[1]);
	if (!(f.s = store_open(path, 0, NULL, 0))) {
		perror(path);
		return 1;
	}
	if ((r = store_fleet_replace(f.s, fleet, nodes)) < 0)
		die(&f, "fleet", r);
	/* Every pole enrolled, as serve stores only what they signed. */
	for (size_t n = 0; n < nodes; n++) {
		unsigned char sk[crypto_sign_SECRETKEYBYTES];
		struct env_key k;

		crypto_sign_keypair(k.pk, sk);
		env_keyid(k.pk, k.id);
		if ((r = store_key_enrol(f.s, ids[n], &k, false, now, NULL)) < 0)
			die(&f, "enrol", r);
	}
	if ((r = store_begin(f.s)) < 0)
		die(&f, "begin", r);

	/* Plans: the same broadcasts on every node. */
	for (int d = 0; d < days; d++)
		for (int k = 0; k < slots; k++) {
			struct store_occ *o = &occ[d * slots + k];
			int yy, mm, dd;
			int64_t ms;

			cx_civil_from_days(first_day + d, &yy, &mm, &dd);
			cx_tz_civil_to_ms(yy, mm, dd, slot_min[k] / 60, slot_min[k] % 60, &ms);
			snprintf(occs[d * slots + k], sizeof(occs[0]), "slot%d@%04d-%02d-%02dT%02d:%02d", k, yy, mm, dd,
				 slot_min[k] / 60, slot_min[k] % 60);
			*o = (struct store_occ){ .occ = occs[d * slots + k], .notice = NULL,
				.broadcast = "daily", .start_ms = ms, .duration_ms = 18400, .priority = 10 };
		}
	{
		static const char *const notice_ids[NOTICES] = {
			"notice-0", "notice-1", "notice-2", "notice-3", "notice-4",
			"notice-5", "notice-6", "notice-7", "notice-8", "notice-9",
		};

		for (int i = 0; i < days * slots; i++)
			occ[i].notice = notice_ids[(i / slots + i % slots) % NOTICES];
	}
	for (size_t n = 0; n < nodes; n++) {
		if ((r = store_plan_replace(f.s, ids[n], 0, occ, (size_t)days * slots)) < 0)
			die(&f, "plan", r);
		batch(&f);
	}

	/* Status: idle from the start, an outage every few days. */
	for (size_t n = 0; n < nodes; n++) {
		int64_t t0 = occ[0].start_ms - 3600000;

		status(&f, ids[n], "idle", t0, ",\"clock_offset_us\":-200,\"spool\":0,\"rejected\":0");
		for (int d = rnd(4); d < days; d += 3 + rnd(5)) {
			int64_t off = occ[d * slots].start_ms + (int64_t)rnd(12) * 3600000;

			status(&f, ids[n], "offline", off, "");
			status(&f, ids[n], "idle", off + 600000 + (int64_t)rnd(8) * 3600000,
			       n % 97 == 0 ? ",\"clock_offset_us\":14000,\"spool\":3,\"rejected\":1"
					   : ",\"clock_offset_us\":-200,\"spool\":0,\"rejected\":0");
		}
	}

	/* Receipts, in time order as they would arrive. */
	for (int i = 0; i < days * slots; i++) {
		const struct store_occ *o = &occ[i];

		for (size_t n = 0; n < nodes; n++) {
			unsigned x = rnd(100);
			int64_t t = o->start_ms + rnd(400);

			if (x < 1)
				continue;   /* missing */
			if (x < 2) {
				receipt(&f, ids[n], ++seq[n], o->occ, "plan", "failed", o->start_ms, t, t + 20000);
				continue;
			}
			receipt(&f, ids[n], ++seq[n], o->occ, "plan", "started", o->start_ms, t, t + 500);
			receipt(&f, ids[n], ++seq[n], o->occ, "plan", x < 8 ? "interrupted" : "completed",
				o->start_ms, t, t + 19000);
		}
		/* An alert to everyone every couple of days, after the 10:00 slot. */
		if (slot_min[i % slots] == 600 && (i / slots) % ((days + ALERTS - 1) / ALERTS) == 0 &&
		    (i / slots) / ((days + ALERTS - 1) / ALERTS) < ALERTS) {
			int a = (i / slots) / ((days + ALERTS - 1) / ALERTS);
			char id[64];
			int64_t issued = o->start_ms + 3600000;
			struct store_alert al = { .id = id, .level = 1 + a % 4,
				.alert_class = a % 7 == 3 ? "drill" : "actual", .issued_ms = issued,
				.start_ms = issued, .expires_ms = issued + 3600000, .title = "山洪预警",
				.targets_json = "{\"areas\":[\"640104\"],\"tags\":[],\"nodes\":[]}" };

			snprintf(id, sizeof(id), "640104100000-bench-%04d", a);
			if ((r = store_alert_add(f.s, &al, idp, nodes)) < 0)
				die(&f, "alert", r);
			for (size_t n = 0; n < nodes; n++) {
				int64_t t = issued + 300 + rnd(2500);

				if (rnd(100) < 2)
					continue;
				receipt(&f, ids[n], ++seq[n], id, "alert", "accepted", issued, -1, t - 100);
				receipt(&f, ids[n], ++seq[n], id, "alert", "started", issued, t, t + 50);
				receipt(&f, ids[n], ++seq[n], id, "alert", "completed", issued, t, t + 30000);
			}
		}
	}
	if ((r = store_commit(f.s)) < 0)
		die(&f, "commit", r);
	store_close(f.s);
	{
		int y0, m0, d0, y1, m1, d1;

		cx_civil_from_days(first_day, &y0, &m0, &d0);
		cx_civil_from_days(first_day + days - 1, &y1, &m1, &d1);
		printf("%04d-%02d-%02d %04d-%02d-%02d %" PRId64 "\n", y0, m0, d0, y1, m1, d1, f.receipts);
	}
	free(fleet);
	free(ids);
	free(codes);
	free(names);
	free(seq);
	free(idp);
	free(occ);
	free(occs);
	return 0;
}
