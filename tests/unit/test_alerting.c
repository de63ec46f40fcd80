/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_alerting.c -- alert targets, alert ids, and the strict reading of what poles report */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert_watch.h"
#include "alerting.h"
#include "cxtime.h"
#include "diag.h"
#include "envelope.h"
#include "keyring.h"
#include "report/query.h"
#include "schedule.h"
#include "store.h"

#include <sodium.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1796081400000LL /* 2026-12-01 07:30 Asia/Shanghai, 2026-11-30 23:30 UTC */

static const char fleet_yaml[] =
	"township: 测试镇\n"
	"area_code: \"640104100000\"\n"
	"timezone: Asia/Shanghai\n"
	"villages:\n"
	"  - code: \"640104100201\"\n"
	"    name: 永南村\n"
	"    nodes:\n"
	"      - { id: n1, households: 300, tags: [river] }\n"
	"      - { id: n2, households: 200, tags: [river] }\n"
	"  - code: \"640104100202\"\n"
	"    name: 永北村\n"
	"    nodes:\n"
	"      - { id: n3, households: 100, tags: [hill] }\n";

struct fx {
	char dir[64];
	struct diag *d;
	struct schedule *sch;
	struct store *st;
	struct keyring *keys;
	unsigned char sk[2][crypto_sign_SECRETKEYBYTES]; /* n1's, n2's */
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[128], err[256];
	FILE *fp;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_alerting.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/fleet.yaml", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs(fleet_yaml, fp);
	fclose(fp);
	assert_non_null(f->d = diag_new());
	f->sch = schedule_load(f->dir, f->d);
	if (!f->sch)
		diag_print(f->d, stderr);
	assert_non_null(f->sch);
	snprintf(path, sizeof(path), "%s/" STORE_FILE, f->dir);
	f->st = store_open(path, 0, err, sizeof(err));
	if (!f->st)
		fail_msg("store_open: %s", err);
	for (int i = 0; i < 2; i++) {
		struct env_key k;

		crypto_sign_keypair(k.pk, f->sk[i]);
		env_keyid(k.pk, k.id);
		assert_int_equal(store_key_enrol(f->st, i ? "n2" : "n1", &k, false,
						 cx_now_ms() - 60000, NULL), 0);
	}
	assert_non_null(f->keys = keyring_new(f->st));
	assert_int_equal(cx_tz_set("Asia/Shanghai"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	keyring_free(f->keys);
	store_close(f->st);
	schedule_free(f->sch);
	diag_free(f->d);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- targets ---- */

static struct store_node stored(const char *id, const char *code, const char *name, bool in_fleet)
{
	struct store_node n;

	memset(&n, 0, sizeof(n));
	snprintf(n.id, sizeof(n.id), "%s", id);
	snprintf(n.village_code, sizeof(n.village_code), "%s", code);
	snprintf(n.village_name, sizeof(n.village_name), "%s", name);
	n.in_fleet = in_fleet;
	return n;
}

/* The ids of T, space-separated. */
static const char *ids(const struct alerting_targets *t)
{
	static char buf[256];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "", t->t[i].id);
	return buf;
}

static void resolve(struct fx *f, struct store_node *sn, size_t nsn, const char *const *areas,
		    const char *const *tags, const char *const *nodes, struct alerting_targets *out)
{
	struct alerting_fleet fleet = { .sch = f->sch, .sn = sn, .nsn = nsn };
	struct alerting_scope sc = { .areas = areas, .tags = tags, .nodes = nodes };

	while (areas && areas[sc.nareas])
		sc.nareas++;
	while (tags && tags[sc.ntags])
		sc.ntags++;
	while (nodes && nodes[sc.nnodes])
		sc.nnodes++;
	assert_int_equal(alerting_resolve(&fleet, &sc, out), 0);
}

static void targets_union(void **state)
{
	struct fx *f = *state;
	/* n9: in the fleet serve stored, no longer in fleet.yaml; n7: heard
	 * from, never in the fleet; n1: in both. */
	struct store_node sn[3] = { stored("n9", "640104100203", "永西村", true),
				    stored("n7", "", "", false),
				    stored("n1", "640104100201", "永南村", true) };
	const char *const district[] = { "6401041002", NULL };
	const char *const river[] = { "river", NULL };
	const char *const hill[] = { "hill", NULL };
	const char *const named[] = { "n7", "n1", NULL };
	struct alerting_targets t;
	struct alerting_node *n;

	resolve(f, sn, 3, district, NULL, NULL, &t);
	assert_string_equal(ids(&t), "n1 n2 n3 n9");
	assert_int_equal(t.nunknown, 0);
	assert_non_null(n = alerting_find(&t, "n9"));
	assert_true(n->in_fleet);
	assert_string_equal(n->village_name, "永西村");
	assert_non_null(n->sn);
	assert_null(alerting_find(&t, "n7"));
	assert_true(alerting_area_reached(&t, "640104100203"));
	assert_false(alerting_area_reached(&t, "640105"));
	alerting_targets_free(&t);

	/* Tags come from fleet.yaml only; a named node is targeted once. */
	resolve(f, sn, 3, NULL, river, named, &t);
	assert_string_equal(ids(&t), "n1 n2 n7");
	assert_false(alerting_find(&t, "n7")->in_fleet);
	assert_non_null(alerting_find(&t, "n7")->sn);
	assert_int_equal(t.nunknown, 0);
	alerting_targets_free(&t);

	resolve(f, sn, 3, NULL, hill, NULL, &t);
	assert_string_equal(ids(&t), "n3");
	assert_null(alerting_find(&t, "n3")->sn);
	alerting_targets_free(&t);

	assert_true(alerting_tag_in_fleet(f->sch, "hill"));
	assert_false(alerting_tag_in_fleet(f->sch, "nowhere"));
	assert_false(alerting_tag_in_fleet(NULL, "hill"));
}

static void targets_unknown(void **state)
{
	struct fx *f = *state;
	const char *const nodes[] = { "zz-9", "n3", "zz-9", NULL };
	const char *const nowhere[] = { "640105", NULL };
	struct alerting_targets t;

	/* Without the store: only fleet.yaml is known. */
	resolve(f, NULL, 0, nowhere, NULL, nodes, &t);
	assert_string_equal(ids(&t), "n3 zz-9");
	assert_int_equal(t.nunknown, 1);
	assert_string_equal(t.unknown[0], "zz-9");
	assert_false(alerting_find(&t, "zz-9")->in_fleet);
	assert_string_equal(alerting_find(&t, "zz-9")->village_code, "");
	assert_int_equal(alerting_find(&t, "n3")->started_ms, STORE_NONE);
	alerting_targets_free(&t);

	resolve(f, NULL, 0, nowhere, NULL, NULL, &t);
	assert_int_equal(t.n, 0);
	assert_null(alerting_find(&t, "n1"));
	alerting_targets_free(&t);
	alerting_targets_free(NULL);
}

/* ---- ids ---- */

static struct alert *message(int64_t issued_ms)
{
	const char *const areas[] = { "640104" };
	struct alerting_desc d = { .level = 2, .klass = "drill", .title = "山洪预警",
		.issued_ms = issued_ms, .expires_ms = issued_ms + 3600000, .duration_ms = 5000,
		.repeat = 2, .volume = 90, .scope = { .areas = areas, .nareas = 1 } };
	struct alert *msg;

	assert_int_equal(alerting_message(&d, &msg), 0);
	assert_string_equal(msg->cls, "drill");
	assert_int_equal(msg->start_ms, issued_ms);
	assert_int_equal(msg->nareas, 1);
	return msg;
}

static void record(struct fx *f, int64_t issued_ms, bool live, const char *want)
{
	const char *const nodes[] = { "n1", "n2" };
	struct alert *msg = message(issued_ms);
	char err[256] = "";
	int r = alerting_record(f->st, "640104100000", msg, live, nodes, 2, err, sizeof(err));

	if (r < 0)
		fail_msg("alerting_record: %s", err);
	assert_string_equal(msg->id, want);
	assert_string_equal(msg->live, live ? want : "");
	alert_free(msg);
}

struct found {
	const char *id;
	char live[64];
	int n;
};

static int find_fn(const struct store_alert *a, int64_t cancelled_ms, void *ud)
{
	struct found *fd = ud;

	(void)cancelled_ms;
	if (strcmp(a->id, fd->id))
		return 0;
	fd->n++;
	snprintf(fd->live, sizeof(fd->live), "%s", a->live ? a->live : "");
	return 0;
}

static void ids_by_day(void **state)
{
	struct fx *f = *state;
	struct found fd = { .id = "640104100000-20261201-0002" };
	struct store_alert later = { .id = "640104100000-20261201-0004", .level = 1,
		.alert_class = "actual", .issued_ms = T0 + 10 * 86400000LL,
		.start_ms = T0 + 10 * 86400000LL, .expires_ms = T0 + 11 * 86400000LL, .title = "x",
		.targets_json = "{\"areas\":[\"640104\"],\"tags\":[],\"nodes\":[]}" };

	record(f, T0, false, "640104100000-20261201-0001");
	record(f, T0 + 60000, true, "640104100000-20261201-0002");
	/* The township's next day starts 16.5 h later (16:00 UTC). */
	record(f, T0 + 17 * 3600000LL, false, "640104100000-20261202-0001");
	record(f, T0 + 60000, false, "640104100000-20261201-0003");
	assert_int_equal(rq_alerts(f->st, INT64_MIN, INT64_MAX, find_fn, &fd), 0);
	assert_int_equal(fd.n, 1);
	assert_string_equal(fd.live, "640104100000-20261201-0002");

	/* The date is the zone's that cx_tz_set() selected. */
	assert_int_equal(cx_tz_set("UTC"), 0);
	record(f, T0, false, "640104100000-20261130-0001");
	assert_int_equal(cx_tz_set("Asia/Shanghai"), 0);

	/* An alert issued days later (not looked at) holding the next id:
	 * the one after it is taken. */
	assert_int_equal(store_alert_add(f->st, &later, NULL, 0), 0);
	record(f, T0 + 120000, false, "640104100000-20261201-0005");
}

/* ---- receipts ---- */

/* A receipt JSON signed with the key of pole K (0: n1, 1: n2) as it came on
 * TOPIC. */
static struct mq_event signed_event(struct fx *f, int k, const char *topic, const char *json)
{
	struct mq_event ev = { .type = MQ_EV_MESSAGE };
	char *out;
	size_t len;

	assert_int_equal(env_sign(json, strlen(json), f->sk[k], &out, &len), 0);
	ev.topic = strdup(topic);
	ev.payload = (unsigned char *)out;
	ev.len = len;
	return ev;
}

static bool receipt(struct fx *f, int k, const char *topic, const char *json,
		    struct alert_watch_rcpt *r)
{
	struct mq_event ev = signed_event(f, k, topic, json);
	bool ok = alert_watch_receipt(f->keys, &ev, "A-1", r);

	free(ev.topic);
	free(ev.payload);
	return ok;
}

#define RCPT(node, seq, occ, state, more) \
	"{\"type\":\"receipt\",\"node\":\"" node "\",\"seq\":" #seq ",\"from\":" #seq \
	",\"occ\":\"" occ "\",\"kind\":\"alert\",\"state\":\"" state "\"" more "}"

static void receipts_strict(void **state)
{
	struct fx *f = *state;
	struct alert_watch_rcpt r;
	char json[512];

	snprintf(json, sizeof(json), RCPT("n1", 1, "A-1", "started", ",\"started_ms\":%lld"),
		 (long long)T0);
	assert_true(receipt(f, 0, "cx/v1/receipt/n1", json, &r));
	assert_string_equal(r.node, "n1");
	assert_string_equal(r.state, "started");
	assert_string_equal(r.reason, "");
	assert_int_equal(r.started_ms, T0);

	assert_true(receipt(f, 0, "cx/v1/receipt/n1",
			    RCPT("n1", 2, "A-1", "failed", ",\"reason\":\"no amplifier\""), &r));
	assert_string_equal(r.reason, "no amplifier");
	assert_int_equal(r.started_ms, STORE_NONE);

	/* duplicate keys */
	assert_false(receipt(f, 0, "cx/v1/receipt/n1",
			     RCPT("n1", 3, "A-1", "accepted", ",\"state\":\"started\""), &r));
	/* the body's node is not the topic's: signed with the topic's key,
	 * and with its own */
	assert_false(receipt(f, 0, "cx/v1/receipt/n1", RCPT("n2", 4, "A-1", "started", ""), &r));
	assert_false(receipt(f, 1, "cx/v1/receipt/n1", RCPT("n2", 4, "A-1", "started", ""), &r));
	/* a control character for the operator's terminal */
	assert_false(receipt(f, 0, "cx/v1/receipt/n1",
			     RCPT("n1", 5, "A-1", "failed", ",\"reason\":\"\\u001b[2J\""), &r));
	/* another alert, a status topic, a lost record, another key */
	assert_false(receipt(f, 0, "cx/v1/receipt/n1", RCPT("n1", 6, "A-10", "started", ""), &r));
	assert_false(receipt(f, 0, "cx/v1/status/n1", RCPT("n1", 7, "A-1", "started", ""), &r));
	assert_false(receipt(f, 0, "cx/v1/receipt/n1",
			     "{\"type\":\"receipt\",\"node\":\"n1\",\"seq\":8,\"from\":8,"
			     "\"state\":\"lost\",\"reason\":\"A-1\"}", &r));
	assert_false(receipt(f, 1, "cx/v1/receipt/n1", RCPT("n1", 9, "A-1", "started", ""), &r));
}

static void watch_states(void **state)
{
	struct fx *f = *state;
	const char *const nodes[] = { "n1", "n3", NULL };
	struct alerting_targets t;
	struct alert_watch w = { 0 };
	struct alert_watch_rcpt r;
	struct mq_event ev;
	struct alerting_node *n1, *n3;

	resolve(f, NULL, 0, NULL, NULL, nodes, &t);
	w = (struct alert_watch){ .tg = &t, .keys = f->keys, .id = "A-1", .issued_ms = T0 };
	alert_watch_start(&w);
	assert_int_equal(w.unreached, 2);
	n1 = alerting_find(&t, "n1");
	n3 = alerting_find(&t, "n3");

	ev = signed_event(f, 0, "cx/v1/receipt/n1", RCPT("n1", 1, "A-1", "started", ""));
	assert_int_equal(alert_watch_event(&w, &ev, &r), 1);
	free(ev.topic);
	free(ev.payload);
	assert_string_equal(n1->state, "started");
	assert_int_equal(w.started, 1);
	assert_int_equal(w.accepted, 1);
	assert_int_equal(w.unreached, 1);

	/* A resent, older state does not take it back. */
	ev = signed_event(f, 0, "cx/v1/receipt/n1", RCPT("n1", 2, "A-1", "accepted", ""));
	assert_int_equal(alert_watch_event(&w, &ev, &r), 1);
	free(ev.topic);
	free(ev.payload);
	assert_string_equal(n1->state, "started");
	assert_int_equal(w.started, 1);

	/* An untargeted node's receipt is one, but counts for no target. */
	ev = signed_event(f, 1, "cx/v1/receipt/n2", RCPT("n2", 1, "A-1", "completed", ""));
	assert_int_equal(alert_watch_event(&w, &ev, &r), 1);
	free(ev.topic);
	free(ev.payload);
	assert_string_equal(r.node, "n2");
	assert_int_equal(w.started, 1);
	assert_int_equal(w.ended, 0);

	/* What comes from elsewhere (the store) loses its control characters. */
	alert_watch_take(&w, n3, "failed", "bad\x1b[31m\x7f", STORE_NONE);
	assert_string_equal(n3->reason, "bad?[31m?");
	assert_int_equal(w.failed, 1);
	assert_int_equal(w.ended, 1);
	assert_string_equal(w.last, "n3 failed: bad?[31m?");
	alert_watch_take(&w, n1, "completed", NULL, T0 + 900);
	assert_int_equal(w.ended, 2);
	assert_int_equal(w.started, 1);
	assert_int_equal(w.unreached, 0);
	alerting_targets_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(targets_union, setup, teardown),
		cmocka_unit_test_setup_teardown(targets_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(ids_by_day, setup, teardown),
		cmocka_unit_test_setup_teardown(receipts_strict, setup, teardown),
		cmocka_unit_test_setup_teardown(watch_states, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
