/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_cap_fixtures.c -- the real CAP messages of tests/cap through the whole path (cap_run, dry run): the right decision for each */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cap.h"
#include "cap_run.h"
#include "config.h"
#include "cxtime.h"
#include "diag.h"
#include "fileio.h"
#include "schedule.h"
#include "store.h"
#include "warnings.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Each message goes through caprun_doc() with pub = NULL: parsed, its
 * sender and signature checked against a real warnings.yaml, decided
 * against a real fleet.yaml, with a real store, and nothing recorded or
 * sent. Several schedules directories share one fleet and differ in
 * warnings.yaml only:
 *   main    every fixture's sender listed (but the unlisted one's), no rules
 *   es      the same, in a township whose language is es-US
 *   rules   the same, with a hold, an ignore and two level rules
 *   signed  the Chinese sender requires a signature by make-signed.sh's CA
 *   other   the same, but trusting another CA
 */

#define HOUR (3600 * 1000LL)

/* The fleet: the Chinese villages of the fixtures' geocodes, and villages
 * (codes inside the township, poles far away) for the geometry of the US
 * fixtures, each pole just inside or just outside a shape. */
static const char fleet[] =
	"township: 掌政镇\n"
	"area_code: \"640104100000\"\n"
	"villages:\n"
	"  - code: \"640104100201\"\n"
	"    name: 永南村\n"
	"    nodes:\n"
	"      - {id: yn-01, households: 300, location: [38.4452, 106.3841]}\n"
	"      - {id: yn-02, households: 512, location: [38.4418, 106.3796]}\n"
	"      - {id: yn-03, households: 260}\n"
	"  - code: \"640104100203\"\n"
	"    name: 强家庙村\n"
	"    nodes:\n"
	"      - {id: qjm-01, households: 410, location: [38.4236, 106.4012]}\n"
	"      - {id: qjm-02, households: 180}\n"
	"  - code: \"640104100208\"\n"
	"    name: 杨家寨村\n"
	"    nodes:\n"
	"      - {id: yjz-01, households: 350, location: [38.4100, 106.3500]}\n"
	/* The thunderstorm's polygon is 41.20..41.45 N, 88.10..87.70 W. */
	"  - code: \"640104100301\"\n"
	"    name: Lake County north\n"
	"    nodes:\n"
	"      - {id: lk-in-1, households: 10, location: [41.30, -87.90]}\n"
	"      - {id: lk-in-2, households: 10, location: [41.4495, -87.7005]}\n"   /* ~50 m in */
	"      - {id: lk-edge-s, households: 10, location: [41.20, -87.90]}\n"    /* on an edge */
	"      - {id: lk-out-n, households: 10, location: [41.4505, -87.90]}\n"   /* ~55 m out */
	"      - {id: lk-out-e, households: 10, location: [41.30, -87.6995]}\n"   /* ~42 m out */
	"      - {id: lk-out-sw, households: 10, location: [41.1995, -88.1005]}\n"
	"  - code: \"640104100302\"\n"
	"    name: Lake County seat\n"
	"    nodes:\n"
	"      - {id: lk-seat, households: 10}\n"
	/* The earthquake's circle: 38.4123,-122.6071 radius 0 (50 m). */
	"  - code: \"640104100303\"\n"
	"    name: Ridgefield\n"
	"    nodes:\n"
	"      - {id: eq-33m-n, households: 10, location: [38.4126, -122.6071]}\n"
	"      - {id: eq-45m-e, households: 10, location: [38.4123, -122.60658]}\n"
	"      - {id: eq-60m-w, households: 10, location: [38.4123, -122.60779]}\n"
	"      - {id: eq-67m-n, households: 10, location: [38.4129, -122.6071]}\n"
	"  - code: \"640104100304\"\n"
	"    name: Maple Park\n"
	"    nodes:\n"
	"      - {id: am-01, households: 10}\n";

#define MET_SENDER "yinchuan-met@weather.example.cn"

static const char senders_common[] =
	"senders:\n"
	"  - sender: warnings@weather.example.org\n"
	"  - sender: quakes@seismo.example.net\n"
	"  - sender: amber@statepolice.example.gov\n"
	"  - sender: a@example.org\n";     /* the hostile fixtures' */

static const char areas_voices[] =
	"areas:\n"
	"  - {scheme: FIPS6, value: \"017097\", villages: [\"640104100302\"]}\n"
	"  - {scheme: FIPS6, value: \"006000\", villages: [\"640104100304\"]}\n"
	"voices:\n"
	"  en: english\n"
	"  es: spanish\n";

static const char rules[] =
	"rules:\n"
	"  - match: {event: Severe Thunderstorm}\n"
	"    action: ignore\n"
	"  - match: {event: Child Abduction, category: Rescue}\n"
	"    action: hold\n"
	"  - match: {event: 暴雨, severity: Severe}\n"
	"    level: 1\n"
	"  - match: {event: Earthquake}\n"
	"    level: 4\n";

enum { T_MAIN, T_ES, T_RULES, T_SIGNED, T_OTHER, T_N };

struct town {
	char dir[128];
	struct schedule *sch;
	struct warnings *w;
};

static struct town towns[T_N];
static char top[64], fixtures[4200], sigdir[200];
static struct diag *diag;
static struct store *st;
static struct caprun_out out;

static const char *root(void)
{
	const char *r = getenv("CX_SOURCE_ROOT");

	return r ? r : CX_SOURCE_ROOT;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Schedules directory T: the fleet and a warnings.yaml of LANGUAGE, the
 * Chinese sender as MET, and RULES_YAML. */
static void town(int t, const char *name, const char *language, const char *met,
		 const char *rules_yaml)
{
	struct town *tw = &towns[t];
	char yaml[4096];

	snprintf(tw->dir, sizeof(tw->dir), "%s/%s", top, name);
	assert_int_equal(mkdir(tw->dir, 0755), 0);
	put(tw->dir, "fleet.yaml", fleet);
	snprintf(yaml, sizeof(yaml), "language: %s\n%s%s%s%s", language, senders_common, met,
		 rules_yaml, areas_voices);
	put(tw->dir, WARN_FILE, yaml);
	tw->sch = schedule_load(tw->dir, diag);
	assert_non_null(tw->sch);
	tw->w = warnings_load(tw->dir, tw->sch, diag);
	assert_non_null(tw->w);
	if (diag_errors(diag))
		fail_msg("%s: %s", name, diag_get(diag, 0));
	assert_true(tw->w->present);
}

static int group_setup(void **state)
{
	char cmd[8600], met_signed[512], met_other[512], path[256], err[256];

	(void)state;
	assert_int_equal(cx_tz_set("Asia/Shanghai"), 0);
	snprintf(fixtures, sizeof(fixtures), "%s/tests/cap", root());
	strcpy(top, "/tmp/test_cap_fixtures.XXXXXX");
	assert_non_null(mkdtemp(top));
	/* The signed messages are made now, with keys that live only here.
	 * Without openssl or xmlsec1 this fails: it is not skipped. */
	snprintf(sigdir, sizeof(sigdir), "%s/sig", top);
	snprintf(cmd, sizeof(cmd), "'%s/make-signed.sh' '%s'", fixtures, sigdir);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
	diag = diag_new();
	assert_non_null(diag);
	snprintf(met_signed, sizeof(met_signed),
		 "  - sender: " MET_SENDER "\n    signature: required\n    trust: [\"%s/ca.pem\"]\n",
		 sigdir);
	snprintf(met_other, sizeof(met_other),
		 "  - sender: " MET_SENDER "\n    signature: required\n    trust: \"%s/other-ca.pem\"\n",
		 sigdir);
	town(T_MAIN, "main", "zh-CN", "  - sender: " MET_SENDER "\n", "");
	town(T_ES, "es", "es-US", "  - sender: " MET_SENDER "\n", "");
	town(T_RULES, "rules", "zh-CN", "  - sender: " MET_SENDER "\n", rules);
	town(T_SIGNED, "signed", "zh-CN", met_signed, "");
	town(T_OTHER, "other", "zh-CN", met_other, "");
	assert_int_equal(towns[T_RULES].w->nrules, 4);
	assert_true(towns[T_SIGNED].w->senders[4].require_signature);
	snprintf(path, sizeof(path), "%s/" STORE_FILE, top);
	st = store_open(path, 0, err, sizeof(err));
	if (!st)
		fail_msg("store_open: %s", err);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	caprun_out_free(&out);
	store_close(st);
	for (int t = 0; t < T_N; t++) {
		warnings_free(towns[t].w);
		schedule_free(towns[t].sch);
	}
	diag_free(diag);
	nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int each_teardown(void **state)
{
	(void)state;
	caprun_out_free(&out);
	memset(&out, 0, sizeof(out));
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static int64_t at(const char *t)
{
	int64_t ms = 0;

	if (capmsg_time(t, &ms) < 0)
		fail_msg("not a CAP time: %s", t);
	return ms;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* DIR/NAME read whole; free() it. */
static char *slurp_in(const char *dir, const char *name, size_t *len)
{
	char path[4400], *buf = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (fio_read_all(path, 1 << 22, &buf, len) < 0)
		fail_msg("cannot read %s", path);
	return buf;
}

/* BUF with the first FROM replaced by TO; free() it. */
static char *replace(const char *buf, const char *from, const char *to)
{
	const char *p = strstr(buf, from);
	size_t n = strlen(buf) - strlen(from) + strlen(to);
	char *s = malloc(n + 1);

	assert_non_null(p);
	assert_non_null(s);
	snprintf(s, n + 1, "%.*s%s%s", (int)(p - buf), buf, to, p + strlen(from));
	return s;
}

static double last_run_s;         /* how long the last caprun_doc took */

/* BUF through the whole path in town T at NOW, as a dry run. */
static void run_buf(int t, const char *origin, const char *buf, size_t len, int64_t now)
{
	struct caprun r = { .st = st, .sch = towns[t].sch, .w = towns[t].w,
			    .area = "640104100000", .pub = NULL };
	struct store_cap *anon;
	double t0;
	int rc;

	caprun_out_free(&out);
	memset(&out, 0, sizeof(out));
	t0 = mono_s();
	rc = caprun_doc(&r, origin, buf, len, now, &out);
	last_run_s = mono_s() - t0;
	if (rc != 0)
		fail_msg("%s: caprun_doc %d (%s)", origin, rc, out.error);
	assert_false(out.duplicate);     /* a dry run records nothing */
	assert_string_equal(out.error, "");
	assert_string_equal(out.alert_id, "");
	assert_true(out.d.reason[0] != '\0');
	assert_null(strchr(out.d.reason, '\n'));
	assert_string_equal(out.origin, origin);
	/* Nothing kept: under the key it claims, nor under its bytes. */
	assert_int_equal(store_cap_get(st, out.sender, out.identifier, NULL, NULL, NULL), -ENOENT);
	assert_int_equal(store_cap_find(st, out.identifier, NULL, NULL, NULL), -ENOENT);
	anon = calloc(1, sizeof(*anon));
	assert_non_null(anon);
	store_cap_anon(anon, buf, len);
	assert_int_equal(store_cap_get(st, anon->sender, anon->identifier, NULL, NULL, NULL),
			 -ENOENT);
	free(anon);
}

/* Fixture NAME of DIR through town T at NOW (a CAP time). */
static void run_in(int t, const char *dir, const char *name, const char *now)
{
	size_t len;
	char *buf = slurp_in(dir, name, &len);

	run_buf(t, name, buf, len, at(now));
	free(buf);
}

static void run(int t, const char *name, const char *now)
{
	run_in(t, fixtures, name, now);
}

static void reason_has(const char *want)
{
	if (!strstr(out.d.reason, want))
		fail_msg("reason '%s' does not say '%s'", out.d.reason, want);
}

static void decision_is(const char *what)
{
	if (strcmp(cap_what_name(out.d.what), what))
		fail_msg("%s: decided %s, not %s (%s)", out.origin, cap_what_name(out.d.what), what,
			 out.d.reason);
}

/* A decision that plays: WHAT, LEVEL, KLASS, VOICE, text beginning with
 * TEXT, EXPIRES. The nodes are checked by nodes_are(). */
static void plays(const char *what, int level, const char *klass, const char *voice,
		  const char *text, int64_t expires)
{
	decision_is(what);
	assert_int_equal(out.d.level, level);
	assert_non_null(out.d.klass);
	assert_string_equal(out.d.klass, klass);
	assert_non_null(out.d.voice);
	assert_string_equal(out.d.voice, voice);
	assert_non_null(out.d.text);
	if (strncmp(out.d.text, text, strlen(text)))
		fail_msg("text '%s' does not begin with '%s'", out.d.text, text);
	assert_non_null(out.d.title);
	assert_true(out.d.info < SIZE_MAX);
	assert_int_equal(out.d.expires_ms, expires);
	assert_true(out.d.nnodes > 0);
}

/* A decision that plays nothing: WHAT, no level, class, pole, voice or text. */
static void silent(const char *what, int64_t expires)
{
	decision_is(what);
	assert_int_equal(out.d.level, 0);
	assert_null(out.d.klass);
	assert_int_equal(out.d.nnodes, 0);
	assert_null(out.d.voice);
	assert_null(out.d.text);
	assert_int_equal(out.d.expires_ms, expires);
}

/* The decision's nodes are exactly the NULL-terminated list, in order. */
static void nodes_are(const char *first, ...)
{
	va_list ap;
	size_t n = 0;

	va_start(ap, first);
	for (const char *id = first; id; id = va_arg(ap, const char *), n++)
		if (n >= out.d.nnodes || strcmp(out.d.nodes[n], id))
			fail_msg("node %zu is %s, not %s", n, n < out.d.nnodes ? out.d.nodes[n] : "(none)",
				 id);
	va_end(ap);
	if (n != out.d.nnodes)
		fail_msg("%zu nodes, not %zu (the %zu-th is %s)", out.d.nnodes, n, n + 1,
			 out.d.nodes[n]);
}

/* Refused unread or unparsed: rejected under the hash of its bytes. */
static void rejected_unparsed(const char *want)
{
	silent("reject", 0);
	reason_has(want);
	assert_string_equal(out.sender, "");
	assert_memory_equal(out.identifier, "sha256:", 7);
	assert_int_equal(strlen(out.identifier), 7 + 64);
	assert_false(out.untrusted);
}

/* ---- the fixtures ------------------------------------------------------------ */

static void thunderstorm(void **state)
{
	(void)state;
	/* Ten minutes after it was sent, 45 minutes before it expires. */
	run(T_MAIN, "thunderstorm.xml", "2024-07-18T15:30:00-05:00");
	assert_string_equal(out.sender, "warnings@weather.example.org");
	assert_string_equal(out.identifier, "WX-2024-07-18-0042");
	assert_string_equal(out.msg_type, "Alert");
	assert_false(out.untrusted);
	plays("broadcast", 2, "actual", "english",
	      "Severe thunderstorm warning for Lake County. Radar shows a line of storms",
	      at("2024-07-18T16:15:00-05:00"));
	/* The polygon's poles (one on its edge) and the village its FIPS
	 * geocode maps to; none of the poles just outside. */
	nodes_are("lk-edge-s", "lk-in-1", "lk-in-2", "lk-seat", NULL);
	reason_has("level 2 by severity Severe");
	reason_has("4 poles");
	assert_non_null(strstr(out.d.title, "Severe thunderstorm warning for Lake County"));

	/* At its expiry it is over. */
	run(T_MAIN, "thunderstorm.xml", "2024-07-18T16:15:00-05:00");
	silent("ignore", 0);
	reason_has("expired at 2024-07-19 05:15 +08:00");
}

static void earthquake_update(void **state)
{
	(void)state;
	/* Urgency Past: by the default rules nothing plays, and an Update that
	 * plays nothing takes what it updates off the air. */
	run(T_MAIN, "earthquake-update.xml", "2024-03-01T08:45:00+00:00");
	assert_string_equal(out.msg_type, "Update");
	decision_is("cancel");
	assert_int_equal(out.d.level, 0);
	assert_null(out.d.klass);
	assert_int_equal(out.d.nnodes, 0);
	assert_null(out.d.voice);
	assert_null(out.d.text);
	reason_has("urgency Past");
	reason_has("what it updates comes off the air");
	/* The block has no expiry: the default hour from when it was sent,
	 * kept with the record. */
	assert_int_equal(out.d.expires_ms, at("2024-03-01T08:42:10+00:00") + HOUR);

	/* A rule giving it a level: it plays as an update, on the poles
	 * within 50 m of the epicentre (a zero radius). */
	run(T_RULES, "earthquake-update.xml", "2024-03-01T08:45:00+00:00");
	plays("update", 4, "actual", "english",
	      "M 4.6 earthquake, 12 km NE of Ridgefield. A magnitude 4.6 earthquake",
	      at("2024-03-01T08:42:10+00:00") + HOUR); /* sent + the default */
	nodes_are("eq-33m-n", "eq-45m-e", NULL);
	reason_has("level 4 by rule 4 (warnings.yaml:");
	reason_has("updating 1 message");
}

static void amber(void **state)
{
	(void)state;
	/* A zh-CN township: no zh block, the first (en-US) is chosen. */
	run(T_MAIN, "amber.xml", "2024-05-11T21:30:00-07:00");
	plays("broadcast", 2, "actual", "english",
	      "AMBER Alert: 7-year-old girl, white sedan. A 7-year-old girl was taken",
	      at("2024-05-12T09:04:00-07:00"));
	assert_int_equal(out.d.info, 0);
	nodes_are("am-01", NULL);
	reason_has("level 2 by severity Severe");

	/* An es-US township: the Spanish block, the Spanish voice. */
	run(T_ES, "amber.xml", "2024-05-11T21:30:00-07:00");
	plays("broadcast", 2, "actual", "spanish",
	      "Alerta AMBER: niña de 7 años, sedán blanco. Una niña de 7 años",
	      at("2024-05-12T09:04:00-07:00"));
	assert_int_equal(out.d.info, 1);
	assert_string_equal(out.d.title, "Alerta AMBER: niña de 7 años, sedán blanco");
	nodes_are("am-01", NULL);
}

static void rainstorm(void **state)
{
	(void)state;
	/* Half an hour after it was issued, before its onset. */
	run(T_MAIN, "zh-rainstorm.xml", "2024-07-23T16:00:00+08:00");
	assert_string_equal(out.sender, MET_SENDER);
	assert_string_equal(out.identifier, "64010441600000_20240723153000");
	plays("broadcast", 2, "actual", "mandarin",
	      "银川市气象台发布暴雨橙色预警和山洪灾害风险预警。预计今天傍晚到夜间",
	      at("2024-07-24T03:30:00+08:00"));
	assert_int_equal(out.d.info, 0);
	/* Every pole of the two villages, located or not; not 杨家寨村's. */
	nodes_are("qjm-01", "qjm-02", "yn-01", "yn-02", "yn-03", NULL);
	reason_has("level 2 by severity Severe (default rules)");
	reason_has("5 poles");
	reason_has("onset 2024-07-23 17:00 +08:00 is ahead, announced now");
	assert_non_null(strstr(out.d.text, "请远离河道"));

	/* After its expiry: nothing. */
	run(T_MAIN, "zh-rainstorm.xml", "2024-07-24T03:30:00+08:00");
	silent("ignore", 0);
	reason_has("expired at 2024-07-24 03:30 +08:00");
}

static void rainstorm_cancel(void **state)
{
	(void)state;
	run(T_MAIN, "zh-cancel.xml", "2024-07-23T22:15:00+08:00");
	assert_string_equal(out.msg_type, "Cancel");
	silent("cancel", 0);
	reason_has("a Cancel of 1 earlier message");
}

static void expired(void **state)
{
	(void)state;
	/* Dated 2020, received in 2024. */
	run(T_MAIN, "expired.xml", "2024-07-23T16:00:00+08:00");
	silent("ignore", 0);
	reason_has("expired at 2020-06-12 21:00 +08:00");

	/* Within its day it would have played: Moderate, level 3, on every
	 * village of county 640104 (its code 640104000000). */
	run(T_MAIN, "expired.xml", "2020-06-12T10:00:00+08:00");
	plays("broadcast", 3, "actual", "mandarin", "银川市气象台发布大风蓝色预警",
	      at("2020-06-12T21:00:00+08:00"));
	assert_int_equal(out.d.nnodes, schedule_node_count(towns[T_MAIN].sch));
}

static void unlisted_sender(void **state)
{
	(void)state;
	run(T_MAIN, "unlisted-sender.xml", "2024-07-23T16:05:00+08:00");
	silent("reject", 0);
	assert_true(out.untrusted);
	reason_has("sender someone@elsewhere.example.com is not listed in warnings.yaml");
	reason_has("PRANK-0001");
}

static void signed_and_tampered(void **state)
{
	(void)state;
	run_in(T_SIGNED, sigdir, "signed.xml", "2024-07-23T16:00:00+08:00");
	assert_false(out.untrusted);
	plays("broadcast", 2, "actual", "mandarin",
	      "银川市气象台发布暴雨橙色预警和山洪灾害风险预警。预计今天傍晚到夜间",
	      at("2024-07-24T03:30:00+08:00"));
	nodes_are("qjm-01", "qjm-02", "yn-01", "yn-02", "yn-03", NULL);

	/* One character changed after signing. */
	run_in(T_SIGNED, sigdir, "tampered.xml", "2024-07-23T16:00:00+08:00");
	silent("reject", 0);
	assert_true(out.untrusted);
	reason_has("signature required for " MET_SENDER);
	reason_has("the signature does not match");

	/* The same sender unsigned, when it must sign. */
	run(T_SIGNED, "zh-rainstorm.xml", "2024-07-23T16:00:00+08:00");
	silent("reject", 0);
	assert_true(out.untrusted);
	reason_has("signature required");
	reason_has("not signed");

	/* Signed, but by a CA this township does not trust. */
	run_in(T_OTHER, sigdir, "signed.xml", "2024-07-23T16:00:00+08:00");
	silent("reject", 0);
	assert_true(out.untrusted);
	reason_has("does not chain to a trust anchor");

	/* SHA-1, and a bare key without a certificate. */
	run_in(T_SIGNED, sigdir, "sha1.xml", "2024-07-23T16:00:00+08:00");
	silent("reject", 0);
	reason_has("signature");
	run_in(T_SIGNED, sigdir, "keyvalue.xml", "2024-07-23T16:00:00+08:00");
	silent("reject", 0);
	reason_has("signature");
}

static void cap11(void **state)
{
	(void)state;
	run(T_MAIN, "cap11.xml", "2024-07-18T15:30:00-05:00");
	rejected_unparsed("CAP 1.1 is not supported");
}

static void hostile(void **state)
{
	static const struct {
		const char *name, *why;
	} cases[] = {
		{ "billion-laughs.xml", "line 2: a DTD is not allowed in a CAP message" },
		{ "xxe-file.xml", "a DTD is not allowed" },
		{ "xxe-http.xml", "a DTD is not allowed" },
		{ "not-well-formed.xml", "line 12: Opening and ending tag mismatch" },
		{ "invalid-urgency.xml", "line 12: Element 'urgency'" },
		{ "missing-identifier.xml", "line 3: Element 'sender'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(T_MAIN, cases[i].name, "2024-07-18T15:30:00-05:00");
		rejected_unparsed(cases[i].why);
		if (last_run_s > 1.0)
			fail_msg("%s took %.2f s", cases[i].name, last_run_s);
		/* Nothing of /etc/passwd in the reason. */
		assert_null(strstr(out.d.reason, "root:"));
	}
	run(T_MAIN, "invalid-urgency.xml", "2024-07-18T15:30:00-05:00");
	reason_has("'Soon'");
	run(T_MAIN, "missing-identifier.xml", "2024-07-18T15:30:00-05:00");
	reason_has("identifier");
}

/* An alert with DEPTH levels of elements in all. */
static char *nested(int depth, size_t *len)
{
	const char *head = "<alert xmlns=\"" CAP_NS_12 "\">", *tail = "</alert>";
	size_t n = strlen(head) + strlen(tail) + (size_t)depth * 7 + 1;
	char *s = malloc(n), *p = s;

	if (!s)
		abort();
	p += sprintf(p, "%s", head);
	for (int i = 1; i < depth; i++)
		p += sprintf(p, "<x>");
	for (int i = 1; i < depth; i++)
		p += sprintf(p, "</x>");
	p += sprintf(p, "%s", tail);
	*len = (size_t)(p - s);
	return s;
}

static void generated(void **state)
{
	size_t len;
	char *s = nested(10000, &len);

	(void)state;
	run_buf(T_MAIN, "deep.xml", s, len, at("2024-07-18T15:30:00-05:00"));
	rejected_unparsed("nested deeper than 32 elements");
	assert_true(last_run_s < 1.0);
	free(s);

	/* 50 MB: refused unread (its bytes are only hashed, for the record). */
	len = 50u << 20;
	s = malloc(len);
	assert_non_null(s);
	memset(s, ' ', len);
	memcpy(s, "<alert>", 7);
	run_buf(T_MAIN, "large.xml", s, len, at("2024-07-18T15:30:00-05:00"));
	rejected_unparsed("larger than 1048576 bytes");
	assert_true(last_run_s < 10.0);
	free(s);
}

/* ---- warnings.yaml's rules through real fixtures ------------------------------ */

static void rules_change_decisions(void **state)
{
	(void)state;
	/* ignore: the thunderstorm, which the main township broadcasts. */
	run(T_RULES, "thunderstorm.xml", "2024-07-18T15:30:00-05:00");
	decision_is("ignore");
	assert_int_equal(out.d.level, 0);
	assert_null(out.d.klass);
	assert_int_equal(out.d.nnodes, 0);
	assert_null(out.d.voice);
	assert_null(out.d.text);
	assert_int_equal(out.d.expires_ms, at("2024-07-18T16:15:00-05:00"));
	reason_has("rule 1 (warnings.yaml:");
	reason_has("ignores it");

	/* hold: the AMBER alert, filled as its broadcast would be. */
	run(T_RULES, "amber.xml", "2024-05-11T21:30:00-07:00");
	plays("hold", 2, "actual", "english", "AMBER Alert: 7-year-old girl, white sedan.",
	      at("2024-05-12T09:04:00-07:00"));
	nodes_are("am-01", NULL);
	reason_has("rule 2 (warnings.yaml:");
	reason_has("holds it for an operator: level 2");

	/* level: the rainstorm at 1 instead of 2 by its severity. */
	run(T_RULES, "zh-rainstorm.xml", "2024-07-23T16:00:00+08:00");
	plays("broadcast", 1, "actual", "mandarin", "银川市气象台发布暴雨橙色预警",
	      at("2024-07-24T03:30:00+08:00"));
	nodes_are("qjm-01", "qjm-02", "yn-01", "yn-02", "yn-03", NULL);
	reason_has("level 1 by rule 3 (warnings.yaml:");

	/* A rule that does not match leaves the default: the cancel. */
	run(T_RULES, "zh-cancel.xml", "2024-07-23T22:15:00+08:00");
	silent("cancel", 0);
}

static void exercise_and_test(void **state)
{
	static const struct {
		const char *status, *klass;
	} cases[] = { { "Exercise", "drill" }, { "Test", "test" } };
	size_t len;
	char *buf = slurp_in(fixtures, "zh-rainstorm.xml", &len), *s;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char to[64];

		snprintf(to, sizeof(to), "<status>%s</status>", cases[i].status);
		s = replace(buf, "<status>Actual</status>", to);
		run_buf(T_MAIN, cases[i].status, s, strlen(s), at("2024-07-23T16:00:00+08:00"));
		plays("broadcast", 2, cases[i].klass, "mandarin", "银川市气象台发布暴雨橙色预警",
		      at("2024-07-24T03:30:00+08:00"));
		nodes_are("qjm-01", "qjm-02", "yn-01", "yn-02", "yn-03", NULL);
		free(s);
	}
	/* System and Draft never play. */
	s = replace(buf, "<status>Actual</status>", "<status>Draft</status>");
	run_buf(T_MAIN, "Draft", s, strlen(s), at("2024-07-23T16:00:00+08:00"));
	silent("ignore", 0);
	reason_has("status Draft never plays");
	free(s);
	free(buf);
}

/* Copies of fixtures with one thing changed, written by the test. */
static void changed_copies(void **state)
{
	const char *poly = "41.20,-88.10 41.45,-88.10 41.45,-87.70 41.20,-87.70 41.20,-88.10";
	size_t len;
	char *buf = slurp_in(fixtures, "thunderstorm.xml", &len), *s, *t;

	(void)state;
	/* The polygon's last point is not its first: never guessed at. The
	 * FIPS geocode still selects its village; the reason says what was
	 * left out. */
	s = replace(buf, poly, "41.20,-88.10 41.45,-88.10 41.45,-87.70 41.20,-87.70");
	run_buf(T_MAIN, "open-polygon", s, strlen(s), at("2024-07-18T15:30:00-05:00"));
	plays("broadcast", 2, "actual", "english", "Severe thunderstorm warning",
	      at("2024-07-18T16:15:00-05:00"));
	nodes_are("lk-seat", NULL);
	reason_has("ignored 1 invalid shape (polygon 1 of area 'Lake County, northern half': not closed");
	/* Without the geocode nothing else selects a pole: rejected. */
	t = replace(s, "<value>017097</value>", "<value>017031</value>");
	run_buf(T_MAIN, "open-polygon-alone", t, strlen(t), at("2024-07-18T15:30:00-05:00"));
	/* The block's expiry stays in the decision (the record keeps it). */
	silent("reject", at("2024-07-18T16:15:00-05:00"));
	reason_has("invalid area, nothing else selects a pole: polygon 1");
	free(t);
	free(s);
	free(buf);

	/* The earthquake Update given an expiry already past: it cancels what
	 * it updates. */
	buf = slurp_in(fixtures, "earthquake-update.xml", &len);
	s = replace(buf, "</onset>", "</onset>\n    <expires>2024-03-01T08:40:00+00:00</expires>");
	run_buf(T_RULES, "expired-update", s, strlen(s), at("2024-03-01T08:45:00+00:00"));
	silent("cancel", 0);
	reason_has("expired at 2024-03-01 16:40 +08:00: cancels the 1 message it updates");
	free(s);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(thunderstorm, each_teardown),
		cmocka_unit_test_teardown(earthquake_update, each_teardown),
		cmocka_unit_test_teardown(amber, each_teardown),
		cmocka_unit_test_teardown(rainstorm, each_teardown),
		cmocka_unit_test_teardown(rainstorm_cancel, each_teardown),
		cmocka_unit_test_teardown(expired, each_teardown),
		cmocka_unit_test_teardown(unlisted_sender, each_teardown),
		cmocka_unit_test_teardown(signed_and_tampered, each_teardown),
		cmocka_unit_test_teardown(cap11, each_teardown),
		cmocka_unit_test_teardown(hostile, each_teardown),
		cmocka_unit_test_teardown(generated, each_teardown),
		cmocka_unit_test_teardown(rules_change_decisions, each_teardown),
		cmocka_unit_test_teardown(exercise_and_test, each_teardown),
		cmocka_unit_test_teardown(changed_copies, each_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
