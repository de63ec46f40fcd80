/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_cap_run.c -- a CAP document through cap_run on a real store, fleet and warnings.yaml: decisions, evidence, the broker away */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"

#include "cap_run.h"
#include "cxtime.h"
#include "envelope.h"
#include "hash.h"
#include "mq.h"
#include "tts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define A "a@example.cn"
#define B "b@example.cn"
#define S "signed@example.cn"
#define MIN (60 * 1000LL)

/* ---- the township: fleet.yaml, warnings.yaml, a store, a key ---------------- */

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
	"      - {id: qjm-01, households: 410, location: [38.4236, 106.4012]}\n";

static const char warnings_yaml[] =
	"language: zh-CN\n"
	"senders:\n"
	"  - sender: " A "\n"
	"    signature: none\n"
	"  - sender: " B "\n"
	"    signature: none\n"
	"  - sender: " S "\n"
	"    signature: required\n"
	"    trust: [anchor.pem]\n"
	"rules:\n"
	"  - match: {event: 山体滑坡}\n"
	"    action: hold\n";

static char top[64], home[4096], voices[4096], assets[128], cache[128], keypath[128];
static struct diag *diag;
static struct schedule *sch;
static struct warnings *warn;
static struct pub away;            /* a key, and a session to a broker that is not there */
static struct pub live;            /* the key, and a session to a real mosquitto (if any) */
static pid_t broker = -1;

struct fx {
	char db[128];
	struct store *st;
	struct caprun r;
	struct caprun_out o;
};

static void put(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A TCP port on loopback that nothing listens on. */
static int dead_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* mosquitto on a loopback port, and LIVE connected to it; without
 * mosquitto the tests that need it are skipped. */
static void start_broker(void)
{
	struct mq_cfg mc = { .client_id = "test-cap-run-live", .host = "127.0.0.1",
			     .clean_start = true, .keepalive_s = 30 };
	char port[16];

	live = away;
	live.mq = NULL;
	if (access("/usr/sbin/mosquitto", X_OK) && system("command -v mosquitto >/dev/null") != 0)
		return;
	mc.port = dead_port();
	snprintf(port, sizeof(port), "%d", mc.port);
	broker = fork();
	assert_true(broker >= 0);
	if (broker == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execlp("mosquitto", "mosquitto", "-p", port, (char *)NULL);
		execl("/usr/sbin/mosquitto", "mosquitto", "-p", port, (char *)NULL);
		_exit(127);
	}
	live.mq = mq_new(&mc);
	assert_non_null(live.mq);
	if (mq_wait_connected(live.mq, 10000) < 0)
		fail_msg("mosquitto -p %s did not answer", port);
}

static int group_setup(void **state)
{
	struct env_key k;
	struct mq_cfg mc = { .client_id = "test-cap-run", .host = "127.0.0.1", .clean_start = true,
			     .keepalive_s = 30 };
	char err[300];

	(void)state;
	assert_non_null(getcwd(home, sizeof(home)));
	assert_int_equal(cx_tz_set("Asia/Shanghai"), 0);
	strcpy(top, "/tmp/cx-test-cap-run.XXXXXX");
	assert_non_null(mkdtemp(top));
	assert_int_equal(chdir(top), 0);
	assert_int_equal(mkdir("s", 0755), 0);
	put("s/fleet.yaml", fleet);
	put("s/warnings.yaml", warnings_yaml);
	put("s/anchor.pem", "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n");
	diag = diag_new();
	assert_non_null(diag);
	sch = schedule_load("s", diag);
	assert_non_null(sch);
	warn = warnings_load("s", sch, diag);
	assert_non_null(warn);
	if (diag_errors(diag))
		fail_msg("fixture: %s", diag_get(diag, 0));
	assert_int_equal(warn->nsenders, 3);
	snprintf(voices, sizeof(voices), "%s/voices", CX_SOURCE_ROOT);
	snprintf(assets, sizeof(assets), "%s/assets", top);
	snprintf(cache, sizeof(cache), "%s/cache", top);
	assert_int_equal(mkdir(assets, 0755), 0);
	assert_int_equal(mkdir(cache, 0755), 0);
	assert_int_equal(env_keygen(top, &k), 0);
	snprintf(keypath, sizeof(keypath), "%s/signing.key", top);
	if (pub_init(&away, keypath, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	mc.port = dead_port();
	away.mq = mq_new(&mc);
	assert_non_null(away.mq);
	start_broker();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	mq_free(away.mq);
	if (live.mq)
		mq_free(live.mq);
	if (broker > 0) {
		kill(broker, SIGTERM);
		waitpid(broker, NULL, 0);
	}
	pub_wipe(&away);
	warnings_free(warn);
	schedule_free(sch);
	diag_free(diag);
	tts_shutdown();
	assert_int_equal(chdir(home), 0);
	nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int setup(void **state)
{
	static int n;
	struct fx *f = calloc(1, sizeof(*f));
	char err[300];

	assert_non_null(f);
	snprintf(f->db, sizeof(f->db), "%s/receipts-%d.db", top, ++n);
	f->st = store_open(f->db, 0, err, sizeof(err));
	if (!f->st)
		fail_msg("store_open: %s", err);
	f->r = (struct caprun){ .st = f->st, .sch = sch, .w = warn, .voices_dir = voices,
				.assets_dir = assets, .cache_dir = cache, .area = "640104100000",
				.pub = &away, .flush_ms = 500 };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	caprun_out_free(&f->o);
	store_close(f->st);
	free(f);
	return 0;
}

/* ---- documents ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
	return cx_now_ms();
}

/* MS as CAP writes a time, in UTC. */
static void cap_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S-00:00", &tm);
}

struct d {
	const char *id, *sender, *type, *status, *refs, *event, *urgency, *headline, *area;
};

/* A CAP 1.2 document of D (defaults: an Actual Alert of A, a severe
 * rainstorm over 永南村, expiring in 2 hours). malloc'd. */
static char *doc(struct d d)
{
	char sent[32], expires[32], refs[1200] = "", *s;
	int64_t now = now_ms();

	cap_time(now - MIN, sent);
	cap_time(now + 120 * MIN, expires);
	if (d.refs)
		snprintf(refs, sizeof(refs), "<references>%s</references>", d.refs);
	assert_true(asprintf(&s,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n"
		"  <identifier>%s</identifier>\n  <sender>%s</sender>\n  <sent>%s</sent>\n"
		"  <status>%s</status>\n  <msgType>%s</msgType>\n  <scope>Public</scope>\n  %s\n"
		"  <info>\n    <language>zh-CN</language>\n    <category>Met</category>\n"
		"    <event>%s</event>\n    <urgency>%s</urgency>\n    <severity>Severe</severity>\n"
		"    <certainty>Likely</certainty>\n    <expires>%s</expires>\n"
		"    <headline>%s</headline>\n"
		"    <description>未来三小时内永南村将出现50毫米以上降水。</description>\n"
		"    <area>\n      <areaDesc>永南村</areaDesc>\n"
		"      <geocode><valueName>ADMIN_CODE</valueName><value>%s</value></geocode>\n"
		"    </area>\n  </info>\n</alert>\n",
		d.id ? d.id : "id-1", d.sender ? d.sender : A, sent, d.status ? d.status : "Actual",
		d.type ? d.type : "Alert", refs, d.event ? d.event : "暴雨",
		d.urgency ? d.urgency : "Immediate", expires, d.headline ? d.headline : "暴雨橙色预警",
		d.area ? d.area : "640104100201") > 0);
	return s;
}

/* caprun_doc of D into F->o (freed first). */
static int take(struct fx *f, const char *s)
{
	caprun_out_free(&f->o);
	return caprun_doc(&f->r, "test.xml", s, strlen(s), now_ms(), &f->o);
}

static int take_doc(struct fx *f, struct d d)
{
	char *s = doc(d);
	int r = take(f, s);

	free(s);
	return r;
}

/* ---- the store, read directly ------------------------------------------------- */

static int64_t sql_int(struct fx *f, const char *q)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static struct store_cap *row(struct fx *f, const char *sender, const char *identifier)
{
	static struct store_cap c;

	if (store_cap_get(f->st, sender, identifier, &c, NULL, NULL) < 0)
		return NULL;
	return &c;
}

static void anon_id(const char *s, char out[STORE_CAP_ID_MAX + 1])
{
	char hex[CX_SHA256_HEX];

	cx_sha256_hex(s, strlen(s), hex);
	snprintf(out, STORE_CAP_ID_MAX + 1, "sha256:%s", hex);
}

/* ---- deciding without acting (a dry run) ----------------------------------------- */

static void dry_run_decides_and_records_nothing(void **state)
{
	struct fx *f = *state;

	f->r.pub = NULL;
	assert_int_equal(take_doc(f, (struct d){ 0 }), 0);
	assert_int_equal(f->o.d.what, CAP_BROADCAST);
	assert_string_equal(f->o.sender, A);
	assert_string_equal(f->o.identifier, "id-1");
	assert_int_equal(f->o.d.level, 2);
	assert_int_equal(f->o.d.nnodes, 3);
	assert_string_equal(f->o.d.nodes[0], "yn-01");
	assert_false(f->o.duplicate);
	assert_string_equal(f->o.error, "");
	assert_int_equal(sql_int(f, "select count(*) from cap_messages"), 0);
	assert_int_equal(sql_int(f, "select count(*) from alerts"), 0);
}

static void json_has_the_promised_fields(void **state)
{
	struct fx *f = *state;
	json_t *j;

	f->r.pub = NULL;
	assert_int_equal(take_doc(f, (struct d){ 0 }), 0);
	j = caprun_json(&f->o);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "identifier")), "id-1");
	assert_string_equal(json_string_value(json_object_get(j, "sender")), A);
	assert_string_equal(json_string_value(json_object_get(j, "origin")), "test.xml");
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "broadcast");
	assert_non_null(json_string_value(json_object_get(j, "reason")));
	assert_true(json_is_false(json_object_get(j, "duplicate")));
	assert_int_equal(json_integer_value(json_object_get(j, "level")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "class")), "actual");
	assert_int_equal(json_array_size(json_object_get(j, "nodes")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "nodes"), 2)), "yn-03");
	assert_string_equal(json_string_value(json_object_get(j, "voice")), "mandarin");
	assert_non_null(strstr(json_string_value(json_object_get(j, "text")), "暴雨橙色预警"));
	assert_true(json_integer_value(json_object_get(j, "expires_ms")) > now_ms());
	assert_true(json_is_null(json_object_get(j, "alert_id")));
	assert_int_equal(json_array_size(json_object_get(j, "cancelled")), 0);
	assert_true(json_is_null(json_object_get(j, "error")));
	json_decref(j);
}

/* The store failing before anything was decided: the output must not
 * claim a decision (a zeroed decision reads "broadcast"). */
static void store_failure_decides_nothing(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	json_t *j;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "drop table cap_messages", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(take_doc(f, (struct d){ 0 }), -EIO);
	assert_false(f->o.decided);
	assert_non_null(strstr(f->o.error, "cannot read the store"));
	j = caprun_json(&f->o);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(j, "decision")));
	assert_true(json_is_null(json_object_get(j, "level")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "cannot read"));
	json_decref(j);
}

/* A forgery's sender and identifier are claims: JSON says so. */
static void json_says_untrusted(void **state)
{
	struct fx *f = *state;
	json_t *j;

	assert_int_equal(take_doc(f, (struct d){ .id = "u-2", .sender = "intruder@example.com" }), 0);
	assert_true(f->o.decided);
	j = caprun_json(&f->o);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "untrusted")));
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "reject");
	json_decref(j);
	assert_int_equal(take_doc(f, (struct d){ .id = "u-2" }), -EAGAIN);
	j = caprun_json(&f->o);
	assert_true(json_is_false(json_object_get(j, "untrusted")));
	json_decref(j);
}

/* ---- the evidence: what is kept, under which key ---------------------------------- */

static void parse_failure_is_kept_under_its_bytes(void **state)
{
	struct fx *f = *state;
	const char *bad = "<alert>not CAP</alert>";
	char id[STORE_CAP_ID_MAX + 1];
	struct store_cap *c;

	anon_id(bad, id);
	assert_int_equal(take(f, bad), 0);
	assert_int_equal(f->o.d.what, CAP_REJECT);
	assert_string_equal(f->o.sender, "");
	assert_string_equal(f->o.identifier, id);
	assert_non_null(c = row(f, "", id));
	assert_string_equal(c->decision, "reject");
	assert_string_equal(c->origin, "test.xml");
	/* The same bad file again is the same row. */
	assert_int_equal(take(f, bad), 0);
	assert_true(f->o.duplicate);
	assert_int_equal(sql_int(f, "select count(*) from cap_messages"), 1);
}

static void unlisted_sender_never_takes_its_claimed_key(void **state)
{
	struct fx *f = *state;
	char *forged = doc((struct d){ .id = "u-1", .sender = "intruder@example.com",
				       .event = "山体滑坡" });
	char id[STORE_CAP_ID_MAX + 1];

	anon_id(forged, id);
	assert_int_equal(take(f, forged), 0);
	assert_int_equal(f->o.d.what, CAP_REJECT);
	assert_true(f->o.untrusted);
	assert_non_null(strstr(f->o.d.reason, "not listed"));
	assert_null(row(f, "intruder@example.com", "u-1"));
	assert_non_null(row(f, "", id));
	assert_string_equal(row(f, "", id)->decision, "reject");
	/* The same forgery again: one row. */
	assert_int_equal(take(f, forged), 0);
	assert_true(f->o.duplicate);
	free(forged);
	/* A listed sender's message with that identifier is new (held here). */
	assert_int_equal(take_doc(f, (struct d){ .id = "u-1", .event = "山体滑坡" }), 0);
	assert_false(f->o.duplicate);
	assert_int_equal(f->o.d.what, CAP_HOLD);
	assert_string_equal(row(f, A, "u-1")->decision, "hold");
	assert_int_equal(sql_int(f, "select count(*) from cap_messages"), 2);
}

static void unsigned_copy_of_a_signed_sender_is_kept_under_its_bytes(void **state)
{
	struct fx *f = *state;
	char *forged = doc((struct d){ .id = "s-1", .sender = S, .event = "山体滑坡" });
	char id[STORE_CAP_ID_MAX + 1];

	anon_id(forged, id);
	assert_int_equal(take(f, forged), 0);
	free(forged);
	assert_int_equal(f->o.d.what, CAP_REJECT);
	assert_true(f->o.untrusted);
	assert_non_null(strstr(f->o.d.reason, "signature required"));
	assert_null(row(f, S, "s-1"));
	assert_non_null(row(f, "", id));
}

static void same_document_twice_is_a_duplicate(void **state)
{
	struct fx *f = *state;

	assert_int_equal(take_doc(f, (struct d){ .id = "h-1", .event = "山体滑坡" }), 0);
	assert_int_equal(f->o.d.what, CAP_HOLD);
	assert_false(f->o.duplicate);
	assert_int_equal(take_doc(f, (struct d){ .id = "h-1", .event = "山体滑坡" }), 0);
	assert_true(f->o.duplicate);
	assert_int_equal(f->o.d.what, CAP_IGNORE);
	assert_non_null(strstr(f->o.d.reason, "already received"));
	assert_int_equal(sql_int(f, "select count(*) from cap_messages"), 1);
}

static void different_document_under_a_stored_key_is_kept_rejected(void **state)
{
	struct fx *f = *state;
	char *other = doc((struct d){ .id = "h-2", .event = "山体滑坡", .headline = "另一个" });
	char id[STORE_CAP_ID_MAX + 1];

	anon_id(other, id);
	assert_int_equal(take_doc(f, (struct d){ .id = "h-2", .event = "山体滑坡" }), 0);
	assert_int_equal(f->o.d.what, CAP_HOLD);
	assert_int_equal(take(f, other), 0);
	free(other);
	assert_true(f->o.duplicate);
	assert_int_equal(f->o.d.what, CAP_REJECT);
	assert_non_null(strstr(f->o.d.reason, "reused by a different document"));
	assert_string_equal(row(f, "", id)->decision, "reject");
	assert_string_equal(row(f, A, "h-2")->decision, "hold");
	assert_int_equal(sql_int(f, "select count(*) from cap_messages"), 2);
}

/* A Draft or System Update is not actionable (decide.h ignores it, as it
 * ignores a Draft Cancel): it must not take the warning it updates off the
 * air either. An Actual all-clear does. */
static void draft_update_cancels_nothing(void **state)
{
	struct fx *f = *state;
	const char *refs = A ",w-1,2026-07-01T10:00:00+08:00";

	f->r.pub = NULL;
	assert_int_equal(take_doc(f, (struct d){ .id = "w-2", .type = "Update", .status = "Draft",
						 .refs = refs, .urgency = "Past" }), 0);
	assert_int_equal(f->o.d.what, CAP_IGNORE);
	assert_int_equal(take_doc(f, (struct d){ .id = "w-2", .type = "Update", .status = "System",
						 .refs = refs }), 0);
	assert_int_equal(f->o.d.what, CAP_IGNORE);
	assert_int_equal(take_doc(f, (struct d){ .id = "w-2", .type = "Update", .refs = refs,
						 .urgency = "Past" }), 0);
	assert_int_equal(f->o.d.what, CAP_CANCEL);
}

/* An identifier longer than the store keeps is not cut into another
 * message's key: it is rejected and kept under its bytes, like one that
 * holds a control character. Cut, two messages sharing the first 255
 * bytes would be one (the second never plays), and a Cancel naming the
 * whole identifier would find nothing. */
static char long_id[300];

static void long_identifier_is_kept_under_its_bytes(void **state)
{
	struct fx *f = *state;
	char *s;

	memset(long_id, 'x', sizeof(long_id) - 2);
	long_id[sizeof(long_id) - 2] = '1';
	f->r.pub = NULL;
	assert_int_equal(take_doc(f, (struct d){ .id = long_id, .event = "山体滑坡" }), 0);
	assert_int_equal(f->o.d.what, CAP_REJECT);
	assert_non_null(strstr(f->o.d.reason, "cannot be kept"));
	f->r.pub = &away;
	assert_int_equal(take_doc(f, (struct d){ .id = long_id, .event = "山体滑坡" }), 0);
	assert_int_equal(f->o.d.what, CAP_REJECT);
	assert_string_equal(f->o.sender, "");
	assert_memory_equal(f->o.identifier, "sha256:", 7);
	long_id[sizeof(long_id) - 2] = '2';
	s = doc((struct d){ .id = long_id, .event = "山体滑坡" });
	assert_int_equal(take(f, s), 0);
	assert_false(f->o.duplicate);
	free(s);
	assert_int_equal(sql_int(f, "select count(*) from cap_messages where sender = ''"), 2);
	assert_int_equal(sql_int(f, "select count(*) from cap_messages where sender != ''"), 0);
}

/* ---- cancels and updates ----------------------------------------------------------- */

static char sent_at[32];

/* A stored message of SENDER, IDENTIFIER that issued alert ALERT_ID
 * (cancelled already when CANCELLED), referencing REFS. */
static void stored(struct fx *f, const char *sender, const char *identifier, const char *type,
		   const char *refs, const char *alert_id, bool cancelled)
{
	int64_t now = now_ms();
	struct store_alert a = { .id = alert_id, .level = 2, .alert_class = "actual",
		.issued_ms = now, .start_ms = now, .expires_ms = now + 60 * MIN, .title = "暴雨",
		.targets_json = "{\"nodes\":[\"yn-01\"]}" };
	const char *nodes[] = { "yn-01" };
	struct store_cap *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_int_equal(store_alert_add(f->st, &a, nodes, 1), 0);
	if (cancelled)
		assert_int_equal(store_alert_cancel(f->st, alert_id, now), 0);
	snprintf(c->sender, sizeof(c->sender), "%s", sender);
	snprintf(c->identifier, sizeof(c->identifier), "%s", identifier);
	snprintf(c->msg_type, sizeof(c->msg_type), "%s", type);
	snprintf(c->status, sizeof(c->status), "Actual");
	snprintf(c->decision, sizeof(c->decision), "%s", *refs ? "update" : "broadcast");
	snprintf(c->reason, sizeof(c->reason), "level 2");
	snprintf(c->alert_id, sizeof(c->alert_id), "%s", alert_id);
	snprintf(c->refs, sizeof(c->refs), "%s", refs);
	c->sent_ms = c->received_ms = c->decided_ms = now;
	c->expires_ms = now + 60 * MIN;
	c->level = 2;
	c->nodes = 1;
	assert_int_equal(store_cap_add(f->st, c, "<alert/>", 8), 0);
	free(c);
}

static int64_t cancelled_ms(struct fx *f, const char *alert_id)
{
	char q[200];

	snprintf(q, sizeof(q), "select coalesce(cancelled_ms, 0) from alerts where id = '%s'", alert_id);
	return sql_int(f, q);
}

/* A listed sender cancels its own messages only: B (perhaps listed
 * unsigned, so that anyone who can write into the watched directory can
 * speak as B) must not take A's warning off the air, nor withdraw A's
 * hold. */
static void cancel_follows_only_its_senders_references(void **state)
{
	struct fx *f = *state;
	char refs[300];

	cap_time(now_ms(), sent_at);
	stored(f, A, "w-1", "Alert", "", "640104100000-20260701-0001", false);
	snprintf(refs, sizeof(refs), A ",w-1,%s", sent_at);
	assert_int_equal(take_doc(f, (struct d){ .id = "c-1", .sender = B, .type = "Cancel",
						 .refs = refs }), 0);
	assert_int_equal(f->o.d.what, CAP_CANCEL);
	assert_int_equal(f->o.ncancelled, 0);
	assert_non_null(strstr(f->o.d.reason, "another sender"));
	assert_int_equal(cancelled_ms(f, "640104100000-20260701-0001"), 0);
	/* A's own Cancel does (recorded, though the broker is away). */
	assert_int_equal(take_doc(f, (struct d){ .id = "c-2", .type = "Cancel", .refs = refs }),
			 -EAGAIN);
	assert_true(cancelled_ms(f, "640104100000-20260701-0001") > 0);
}

/* A warning updated many times: every Update references the first
 * message, so the Cancel of the first reaches more than 16 alerts; the one
 * on the air is the newest, and must come off it. */
static void cancel_reaches_the_newest_of_a_long_chain(void **state)
{
	struct fx *f = *state;
	char refs[300], id[40], alert[64];

	cap_time(now_ms(), sent_at);
	snprintf(refs, sizeof(refs), A ",w-1,%s", sent_at);
	stored(f, A, "w-1", "Alert", "", "640104100000-20260701-0001", true);
	for (int i = 2; i <= 24; i++) {
		snprintf(id, sizeof(id), "w-%d", i);
		snprintf(alert, sizeof(alert), "640104100000-20260701-%04d", i);
		stored(f, A, id, "Update", refs, alert, i < 24);
	}
	assert_int_equal(cancelled_ms(f, "640104100000-20260701-0024"), 0);
	assert_int_equal(take_doc(f, (struct d){ .id = "c-3", .type = "Cancel", .refs = refs }),
			 -EAGAIN);
	assert_true(cancelled_ms(f, "640104100000-20260701-0024") > 0);
}

/* ---- the broker away -------------------------------------------------------------- */

static void broker_away_is_recorded_not_sent(void **state)
{
	struct fx *f = *state;

	assert_int_equal(take_doc(f, (struct d){ .id = "b-1" }), -EAGAIN);
	assert_int_equal(f->o.d.what, CAP_BROADCAST);
	assert_string_not_equal(f->o.error, "");
	assert_string_equal(f->o.alert_id, "");
	assert_string_equal(row(f, A, "b-1")->decision, "broadcast");
	assert_memory_equal(row(f, A, "b-1")->reason, STORE_CAP_NOT_SENT,
			    strlen(STORE_CAP_NOT_SENT));
	assert_string_equal(row(f, A, "b-1")->alert_id, "");
	/* A second arrival is a duplicate that says it was not sent:
	 * caprun_retry acts again. */
	assert_int_equal(take_doc(f, (struct d){ .id = "b-1" }), 0);
	assert_true(f->o.duplicate);
	assert_non_null(strstr(f->o.d.reason, "already received (broadcast: not sent: "));
	assert_int_equal(caprun_retry(&f->r, now_ms()), 0);
	assert_memory_equal(row(f, A, "b-1")->reason, STORE_CAP_NOT_SENT,
			    strlen(STORE_CAP_NOT_SENT));
}

/* Every retry while the broker is away must not take one of the day's
 * 9999 alert ids (nor leave a cancelled alert in the reports): the audio
 * is published before the alert is recorded, as `cunxiang alert` does. */
static void broker_away_takes_no_alert_id(void **state)
{
	struct fx *f = *state;

	assert_int_equal(take_doc(f, (struct d){ .id = "b-2" }), -EAGAIN);
	for (int i = 0; i < 3; i++)
		assert_int_equal(caprun_retry(&f->r, now_ms()), 0);
	assert_int_equal(sql_int(f, "select count(*) from alerts"), 0);
}

/* A message recorded "not sent: being sent" DECIDED_MS, as caprun_doc
 * leaves it while it acts. */
static void being_sent(struct fx *f, const char *identifier, int64_t decided_ms)
{
	char *s = doc((struct d){ .id = identifier });
	struct store_cap *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	snprintf(c->sender, sizeof(c->sender), A);
	snprintf(c->identifier, sizeof(c->identifier), "%s", identifier);
	snprintf(c->msg_type, sizeof(c->msg_type), "Alert");
	snprintf(c->decision, sizeof(c->decision), "broadcast");
	snprintf(c->reason, sizeof(c->reason), STORE_CAP_NOT_SENT "being sent");
	c->sent_ms = STORE_NONE;
	c->received_ms = c->decided_ms = decided_ms;
	c->expires_ms = now_ms() + 60 * MIN;
	c->level = 2;
	assert_int_equal(store_cap_add(f->st, c, s, strlen(s)), 0);
	free(c);
	free(s);
}

/* `cunxiang cap FILE` records the message "being sent" and then renders
 * and publishes it, which takes seconds; serve's retry every 5 s must not
 * issue it a second time meanwhile (the warning would play twice). One
 * left "being sent" by a process that died is taken up after a while. */
static void retry_leaves_a_message_being_sent_alone(void **state)
{
	struct fx *f = *state;
	int64_t now = now_ms();

	being_sent(f, "r-1", now - 2000);
	being_sent(f, "r-2", now - 30 * MIN);
	assert_int_equal(caprun_retry(&f->r, now), 0);
	assert_string_equal(row(f, A, "r-1")->reason, STORE_CAP_NOT_SENT "being sent");
	assert_string_not_equal(row(f, A, "r-2")->reason, STORE_CAP_NOT_SENT "being sent");
	assert_memory_equal(row(f, A, "r-2")->reason, STORE_CAP_NOT_SENT,
			    strlen(STORE_CAP_NOT_SENT));
}

/* The all-clear (an Update that plays nothing here) is a cancel of what
 * it updates; when the broker was away, the retry must still cancel, not
 * decide it again as nothing to do and leave the warning on the air. */
static void retried_all_clear_still_cancels(void **state)
{
	struct fx *f = *state;
	char refs[300];

	cap_time(now_ms(), sent_at);
	snprintf(refs, sizeof(refs), A ",w-1,%s", sent_at);
	stored(f, A, "w-1", "Alert", "", "640104100000-20260701-0001", false);
	/* The cancel is recorded, not published: cancel it again on retry. */
	assert_int_equal(take_doc(f, (struct d){ .id = "w-2", .type = "Update", .refs = refs,
						 .urgency = "Past" }), -EAGAIN);
	assert_int_equal(f->o.d.what, CAP_CANCEL);
	assert_int_equal(caprun_retry(&f->r, now_ms()), 0);
	assert_memory_equal(row(f, A, "w-2")->reason, STORE_CAP_NOT_SENT,
			    strlen(STORE_CAP_NOT_SENT));
}

/* ---- on the air, through a real broker ------------------------------------------- */

static void need_broker(struct fx *f)
{
	if (!live.mq)
		skip();
	f->r.pub = &live;
	f->r.flush_ms = 10000;
}

static void broadcast_goes_on_the_air(void **state)
{
	struct fx *f = *state;
	struct store_cap *c;
	char refs[300];

	need_broker(f);
	assert_int_equal(take_doc(f, (struct d){ .id = "air-1" }), 0);
	assert_string_equal(f->o.error, "");
	assert_string_not_equal(f->o.alert_id, "");
	assert_non_null(c = row(f, A, "air-1"));
	assert_string_equal(c->alert_id, f->o.alert_id);
	assert_string_equal(c->decision, "broadcast");
	assert_memory_not_equal(c->reason, STORE_CAP_NOT_SENT, strlen(STORE_CAP_NOT_SENT));
	assert_int_equal(sql_int(f, "select count(*) from alerts where cancelled_ms is null"), 1);
	/* Its Cancel takes it off the air. */
	snprintf(refs, sizeof(refs), A ",air-1,2026-07-01T10:00:00+08:00");
	assert_int_equal(take_doc(f, (struct d){ .id = "air-2", .type = "Cancel", .refs = refs }), 0);
	assert_int_equal(f->o.ncancelled, 1);
	assert_int_equal(sql_int(f, "select count(*) from alerts where cancelled_ms is null"), 0);
	assert_int_equal(caprun_retry(&f->r, now_ms()), 0);
}

/* An approval claims the hold before its alert is sent: when the hold was
 * withdrawn meanwhile (here by the held Update itself, as a Cancel racing
 * the operator would), nothing goes on the air. */
static void approval_claims_the_hold_before_sending(void **state)
{
	struct fx *f = *state;
	char refs[300];

	need_broker(f);
	snprintf(refs, sizeof(refs), A ",h-9,2026-07-01T10:00:00+08:00");
	assert_int_equal(take_doc(f, (struct d){ .id = "h-9", .type = "Update", .refs = refs,
						 .event = "山体滑坡" }), 0);
	assert_int_equal(f->o.d.what, CAP_HOLD);
	caprun_out_free(&f->o);
	assert_int_equal(caprun_approve(&f->r, A, "h-9", now_ms(), &f->o), -EALREADY);
	assert_int_equal(sql_int(f, "select count(*) from alerts where cancelled_ms is null"), 0);
	assert_string_equal(row(f, A, "h-9")->decision, "expired");
	/* An ordinary hold is approved once. */
	assert_int_equal(take_doc(f, (struct d){ .id = "h-10", .event = "山体滑坡" }), 0);
	caprun_out_free(&f->o);
	assert_int_equal(caprun_approve(&f->r, NULL, "h-10", now_ms(), &f->o), 0);
	assert_string_not_equal(f->o.alert_id, "");
	assert_string_equal(row(f, A, "h-10")->decision, "approved");
	assert_string_equal(row(f, A, "h-10")->alert_id, f->o.alert_id);
	caprun_out_free(&f->o);
	assert_int_equal(caprun_approve(&f->r, NULL, "h-10", now_ms(), &f->o), -EALREADY);
	assert_int_equal(sql_int(f, "select count(*) from alerts where cancelled_ms is null"), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(dry_run_decides_and_records_nothing),
		T(json_has_the_promised_fields),
		T(store_failure_decides_nothing),
		T(json_says_untrusted),
		T(parse_failure_is_kept_under_its_bytes),
		T(unlisted_sender_never_takes_its_claimed_key),
		T(unsigned_copy_of_a_signed_sender_is_kept_under_its_bytes),
		T(same_document_twice_is_a_duplicate),
		T(different_document_under_a_stored_key_is_kept_rejected),
		T(draft_update_cancels_nothing),
		T(long_identifier_is_kept_under_its_bytes),
		T(cancel_follows_only_its_senders_references),
		T(cancel_reaches_the_newest_of_a_long_chain),
		T(broker_away_is_recorded_not_sent),
		T(broker_away_takes_no_alert_id),
		T(retry_leaves_a_message_being_sent_alone),
		T(retried_all_clear_still_cancels),
		T(broadcast_goes_on_the_air),
		T(approval_claims_the_hold_before_sending),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
