/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_decide.c -- what a CAP message does in the township: every branch of the decision, and the spoken text */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cxtime.h"
#include "decide.h"
#include "utf8.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOUR (3600 * 1000LL)

static char top[64], home[4096];
static struct diag *diag;
static struct schedule *sch;
static struct warnings *warn;
static int64_t now;                /* 2026-07-01 12:00 +08:00 */
static struct cap_decision d;

static const char fleet[] =
	"township: 掌政镇\n"
	"area_code: \"640104100000\"\n"
	"villages:\n"
	"  - code: \"640104100201\"\n"
	"    name: 永南村\n"
	"    nodes:\n"
	"      - {id: yn-02, households: 512, location: [38.4418, 106.3796]}\n"
	"      - {id: yn-01, households: 300, location: [38.4452, 106.3841]}\n"
	"      - {id: yn-03, households: 260}\n"
	"  - code: \"640104100203\"\n"
	"    name: 强家庙村\n"
	"    nodes:\n"
	"      - {id: qjm-01, households: 410, location: [38.4236, 106.4012]}\n"
	"      - {id: qjm-02, households: 180}\n"
	"  - code: \"640104100208\"\n"
	"    name: 杨家寨村\n"
	"    nodes:\n"
	"      - {id: yjz-01, households: 350, location: [38.4100, 106.3500]}\n";

static const char warnings_yaml[] =
	"language: zh-CN\n"
	"max_text: 100\n"
	"expires: 2h\n"
	"rules:\n"
	"  - match: {event: 地震演练}\n"                                   /* 5: rule 1 */
	"    action: ignore\n"
	"  - match: {event: 森林火险, severity: [Moderate, Minor]}\n"      /* 7: rule 2 */
	"    action: hold\n"
	"  - match: {category: Met, severity: Moderate}\n"                 /* 9: rule 3 */
	"    level: 1\n"
	"  - match: {event: 大风}\n"                                       /* 11: rule 4 */
	"areas:\n"
	"  - {scheme: Taiwan_Geocode_103, value: \"6403700\", villages: [\"640104100203\"]}\n"
	"voices:\n"
	"  en: english\n";

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

static int group_setup(void **state)
{
	(void)state;
	assert_non_null(getcwd(home, sizeof(home)));
	assert_int_equal(cx_tz_set("Asia/Shanghai"), 0);
	assert_int_equal(cx_tz_civil_to_ms(2026, 7, 1, 12, 0, &now), 0);
	strcpy(top, "/tmp/cx-test-decide.XXXXXX");
	assert_non_null(mkdtemp(top));
	assert_int_equal(chdir(top), 0);
	assert_int_equal(mkdir("s", 0755), 0);
	put("s/fleet.yaml", fleet);
	put("s/warnings.yaml", warnings_yaml);
	diag = diag_new();
	assert_non_null(diag);
	sch = schedule_load("s", diag);
	assert_non_null(sch);
	warn = warnings_load("s", sch, diag);
	assert_non_null(warn);
	if (diag_errors(diag))
		fail_msg("fixture: %s", diag_get(diag, 0));
	assert_int_equal(warn->nrules, 4);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	warnings_free(warn);
	schedule_free(sch);
	diag_free(diag);
	assert_int_equal(chdir(home), 0);
	nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int each_teardown(void **state)
{
	(void)state;
	cap_decision_free(&d);
	return 0;
}

/* ---- building messages by hand (cap.h's model) ------------------------------- */

static const char *const met[] = { "Met" };
static const char *const fire[] = { "Fire" };
static const struct cap_geocode yn_code[] = { { "ADMIN_CODE", "640104100201" } };
static const struct cap_ref one_ref[] = { { "12379@cma.gov.cn", "CN-001", "2026-07-01T10:00:00+08:00" } };
static const struct cap_ref two_refs[] = {
	{ "12379@cma.gov.cn", "CN-001", "2026-07-01T10:00:00+08:00" },
	{ "12379@cma.gov.cn", "CN-002", "2026-07-01T11:00:00+08:00" },
};

struct msg {
	struct cap_msg m;
	struct cap_info in[2];
	struct cap_area area[2];
};

/* An Actual Alert with one zh-CN block: a Severe rain warning for 永南村
 * by its village code, expiring in an hour. */
static void base(struct msg *x)
{
	memset(x, 0, sizeof(*x));
	x->m.identifier = "CN-003";
	x->m.sender = "12379@cma.gov.cn";
	x->m.sent = "2026-07-01T11:50:00+08:00";
	x->m.sent_ms = now - 10 * 60000;
	x->m.status = "Actual";
	x->m.msg_type = "Alert";
	x->m.scope = "Public";
	x->m.infos = x->in;
	x->m.ninfos = 1;
	x->in[0].language = "zh-CN";
	x->in[0].categories = met;
	x->in[0].ncategories = 1;
	x->in[0].event = "暴雨";
	x->in[0].urgency = "Immediate";
	x->in[0].severity = "Severe";
	x->in[0].certainty = "Observed";
	x->in[0].headline = "暴雨橙色预警";
	x->in[0].description = "未来3小时有强降雨";
	x->in[0].instruction = "请远离河道";
	x->in[0].effective_ms = CAP_NO_TIME;
	x->in[0].onset_ms = CAP_NO_TIME;
	x->in[0].expires_ms = now + HOUR;
	x->in[0].areas = x->area;
	x->in[0].nareas = 1;
	x->area[0].desc = "永南村";
	x->area[0].geocodes = yn_code;
	x->area[0].ngeocodes = 1;
	x->in[1] = x->in[0];
}

static void decide(const struct msg *x)
{
	cap_decision_free(&d);
	assert_int_equal(cap_decide(&x->m, warn, sch, now, &d), 0);
	assert_true(d.reason[0] != '\0');
	assert_null(strchr(d.reason, '\n'));
}

static void reason_has(const char *want)
{
	if (!strstr(d.reason, want))
		fail_msg("reason '%s' does not say '%s'", d.reason, want);
}

/* D's nodes are exactly the NULL-terminated list. */
static void nodes_are(const char *first, ...)
{
	va_list ap;
	size_t n = 0;

	va_start(ap, first);
	for (const char *id = first; id; id = va_arg(ap, const char *), n++) {
		if (n >= d.nnodes || strcmp(d.nodes[n], id))
			fail_msg("node %zu is %s, want %s (reason: %s)", n,
				 n < d.nnodes ? d.nodes[n] : "(none)", id, d.reason);
	}
	va_end(ap);
	if (d.nnodes != n)
		fail_msg("%zu nodes, want %zu (reason: %s)", d.nnodes, n, d.reason);
}

static void nothing_plays(enum cap_what what)
{
	assert_int_equal(d.what, what);
	assert_int_equal(d.level, 0);
	assert_null(d.klass);
	assert_int_equal(d.nnodes, 0);
}

/* ---- the tests ------------------------------------------------------------------------ */

static void broadcast_default(void **state)
{
	struct msg x;

	(void)state;
	base(&x);
	decide(&x);
	assert_int_equal(d.what, CAP_BROADCAST);
	assert_string_equal(cap_what_name(d.what), "broadcast");
	assert_int_equal(d.level, 2);
	assert_string_equal(d.klass, "actual");
	assert_int_equal(d.info, 0);
	nodes_are("yn-01", "yn-02", "yn-03", NULL);
	assert_string_equal(d.voice, "mandarin");
	assert_string_equal(d.title, "暴雨橙色预警");
	assert_string_equal(d.text, "暴雨橙色预警。未来3小时有强降雨。请远离河道");
	assert_int_equal(d.expires_ms, now + HOUR);
	assert_string_equal(d.reason, "level 2 by severity Severe (default rules), 3 poles");
}

static void default_table(void **state)
{
	static const char *const sev[] = { "Extreme", "Severe", "Moderate", "Minor" };
	struct msg x;

	(void)state;
	for (int i = 0; i < 4; i++) {
		base(&x);
		x.in[0].categories = fire;   /* rule 3 matches Met Moderate */
		x.in[0].severity = sev[i];
		decide(&x);
		assert_int_equal(d.what, CAP_BROADCAST);
		assert_int_equal(d.level, i + 1);
	}
	base(&x);
	x.in[0].severity = "Unknown";
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "severity Unknown has no default level");
	base(&x);
	x.in[0].urgency = "Past";
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "urgency Past: nothing to do (default rules)");
	base(&x);
	x.in[0].certainty = "Unlikely";
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "certainty Unlikely: not played (default rules)");
}

static void status_and_type(void **state)
{
	struct msg x;

	(void)state;
	base(&x);
	x.m.status = "Exercise";
	decide(&x);
	assert_int_equal(d.what, CAP_BROADCAST);
	assert_string_equal(d.klass, "drill");
	base(&x);
	x.m.status = "Test";
	decide(&x);
	assert_string_equal(d.klass, "test");
	base(&x);
	x.m.status = "Draft";
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "status Draft never plays");
	assert_int_equal(d.info, SIZE_MAX);
	base(&x);
	x.m.status = "System";
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "status System never plays");
	base(&x);
	x.m.msg_type = "Ack";
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "msgType Ack: nothing to play");
	base(&x);
	x.m.msg_type = "Error";
	decide(&x);
	nothing_plays(CAP_IGNORE);
}

static void expiry(void **state)
{
	struct msg x;

	(void)state;
	base(&x);
	x.in[0].expires_ms = now - 60000;
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "expired at 2026-07-01 11:59 +08:00");
	base(&x);
	x.in[0].expires_ms = now;              /* expires <= now: over */
	decide(&x);
	nothing_plays(CAP_IGNORE);
	base(&x);
	x.in[0].expires_ms = CAP_NO_TIME;      /* warnings.yaml: expires: 2h, from <sent> */
	decide(&x);
	assert_int_equal(d.what, CAP_BROADCAST);
	assert_int_equal(d.expires_ms, x.m.sent_ms + 2 * HOUR);
	/* Sent longer ago than that: an old message replayed never plays. */
	x.m.sent_ms = now - 2 * HOUR;
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_non_null(strstr(d.reason, "without an expiry: older than"));
	base(&x);
	x.in[0].expires_ms = now + 30 * 24 * HOUR;
	decide(&x);
	assert_int_equal(d.expires_ms, now + 7 * 24 * HOUR);
	/* An onset ahead: announced now, and said so. */
	base(&x);
	x.in[0].onset_ms = now + 3 * HOUR;
	decide(&x);
	assert_int_equal(d.what, CAP_BROADCAST);
	reason_has("; onset 2026-07-01 15:00 +08:00 is ahead, announced now");
}

static void cancel_and_update(void **state)
{
	struct msg x;

	(void)state;
	base(&x);
	x.m.msg_type = "Cancel";
	x.m.refs = two_refs;
	x.m.nrefs = 2;
	decide(&x);
	nothing_plays(CAP_CANCEL);
	assert_string_equal(cap_what_name(d.what), "cancel");
	assert_string_equal(d.reason, "a Cancel of 2 earlier messages");
	x.m.nrefs = 0;
	decide(&x);
	nothing_plays(CAP_REJECT);
	assert_string_equal(d.reason, "a Cancel that references nothing");

	base(&x);
	x.m.msg_type = "Update";
	x.m.refs = one_ref;
	x.m.nrefs = 1;
	decide(&x);
	assert_int_equal(d.what, CAP_UPDATE);
	assert_int_equal(d.level, 2);
	nodes_are("yn-01", "yn-02", "yn-03", NULL);
	assert_string_equal(d.reason, "level 2 by severity Severe (default rules), 3 poles, updating 1 message");
	/* An Update that has expired ends what it updates. */
	x.in[0].expires_ms = now - HOUR;
	decide(&x);
	nothing_plays(CAP_CANCEL);
	assert_string_equal(d.reason, "expired at 2026-07-01 11:00 +08:00: cancels the 1 message it updates");
	/* So does one without an info block. */
	x.m.ninfos = 0;
	decide(&x);
	nothing_plays(CAP_CANCEL);
	assert_string_equal(d.reason, "an Update with no info block: cancels the 1 message it updates");
	x.m.nrefs = 0;
	decide(&x);
	nothing_plays(CAP_REJECT);
	/* An Alert without one has nothing to say. */
	base(&x);
	x.m.ninfos = 0;
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "no info block");
}

static void rules(void **state)
{
	struct msg x;

	(void)state;
	/* Rule 1: ignore. */
	base(&x);
	x.in[0].event = "地震演练";
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "rule 1 (warnings.yaml:5) ignores it");
	/* Rule 2: hold, everything filled so that approving it broadcasts it. */
	base(&x);
	x.in[0].categories = fire;
	x.in[0].event = "森林火险";
	x.in[0].severity = "Moderate";
	x.in[0].headline = NULL;
	decide(&x);
	assert_int_equal(d.what, CAP_HOLD);
	assert_int_equal(d.level, 3);
	assert_string_equal(d.klass, "actual");
	nodes_are("yn-01", "yn-02", "yn-03", NULL);
	assert_string_equal(d.voice, "mandarin");
	assert_string_equal(d.title, "森林火险");  /* no headline: the event */
	assert_string_equal(d.text, "未来3小时有强降雨。请远离河道");
	assert_string_equal(d.reason, "rule 2 (warnings.yaml:7) holds it for an operator: level 3, 3 poles");
	/* Severe is not in rule 2's list: the default table. */
	x.in[0].severity = "Severe";
	decide(&x);
	assert_int_equal(d.what, CAP_BROADCAST);
	/* Rule 3: its level over the table's 3. */
	base(&x);
	x.in[0].severity = "Moderate";
	decide(&x);
	assert_int_equal(d.what, CAP_BROADCAST);
	assert_int_equal(d.level, 1);
	assert_string_equal(d.reason, "level 1 by rule 3 (warnings.yaml:9), 3 poles");
	/* Rule 4 gives no level, and severity Unknown has none. */
	base(&x);
	x.in[0].event = "大风";
	x.in[0].severity = "Unknown";
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "severity Unknown has no default level (rule 4, warnings.yaml:11, gives none)");
	/* A rule decides before the default table's urgency Past. */
	x.in[0].severity = "Minor";
	x.in[0].urgency = "Past";
	decide(&x);
	assert_int_equal(d.what, CAP_BROADCAST);
	assert_int_equal(d.level, 4);
}

static void geocodes(void **state)
{
	static const struct cap_geocode county[] = { { "ADMIN_CODE", "640104" } };
	static const struct cap_geocode county12[] = { { "行政区划代码", "640104000000" } };
	static const struct cap_geocode town12[] = { { "GB2260", "640104100000" } };
	static const struct cap_geocode other[] = { { "admin_code", "640105" } };
	static const struct cap_geocode mapped[] = { { "Taiwan_Geocode_103", "6403700" } };
	static const struct cap_geocode unknown[] = { { "FIPS6", "640104" }, { "Taiwan_Geocode_103", "1" } };
	static const struct cap_geocode bad[] = { { "ADMIN_CODE", "6401x4" } };
	struct msg x;

	(void)state;
	base(&x);
	x.area[0].geocodes = county;
	decide(&x);
	nodes_are("qjm-01", "qjm-02", "yjz-01", "yn-01", "yn-02", "yn-03", NULL);
	x.area[0].geocodes = county12;
	decide(&x);
	assert_int_equal(d.nnodes, 6);
	x.area[0].geocodes = town12;
	decide(&x);
	assert_int_equal(d.nnodes, 6);
	x.area[0].geocodes = mapped;
	decide(&x);
	nodes_are("qjm-01", "qjm-02", NULL);
	/* Another county; the scheme's name in another case is still one. */
	x.area[0].geocodes = other;
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "no pole of the fleet is in the areas (1 area: '永南村')");
	x.area[0].geocodes = unknown;
	x.area[0].ngeocodes = 2;
	decide(&x);
	nothing_plays(CAP_IGNORE);
	assert_string_equal(d.reason, "no pole of the fleet is in the areas (1 area: '永南村'); 2 geocodes of unknown schemes");
	x.area[0].geocodes = bad;
	x.area[0].ngeocodes = 1;
	decide(&x);
	nothing_plays(CAP_IGNORE);
	/* The union of two areas. */
	base(&x);
	x.in[0].nareas = 2;
	x.area[1].desc = "强家庙村\n(黄河)";
	x.area[1].geocodes = mapped;
	x.area[1].ngeocodes = 1;
	decide(&x);
	nodes_are("qjm-01", "qjm-02", "yn-01", "yn-02", "yn-03", NULL);
	x.area[0].geocodes = other;
	x.area[1].geocodes = other;
	decide(&x);
	assert_string_equal(d.reason, "no pole of the fleet is in the areas (2 areas: '永南村', '强家庙村 (黄河)')");
}

static void shapes(void **state)
{
	static const char *const around_yn[] = {
		"38.44,106.37 38.44,106.39 38.45,106.39 38.45,106.37 38.44,106.37",
	};
	static const char *const world[] = { "-80,0 -80,170 80,170 80,0 -80,0" };
	static const char *const bowtie[] = { "38.40,106.30 38.40,106.50 38.50,106.30 38.50,106.50 38.40,106.30" };
	static const char *const point_qjm[] = { "38.4236,106.4012 0" };
	static const char *const km_yn[] = { "38.4452,106.3841 1" };
	static const char *const bad_circle[] = { "38.4452,106.3841 -1" };
	struct msg x;

	(void)state;
	base(&x);
	x.area[0].ngeocodes = 0;
	x.area[0].polygons = around_yn;
	x.area[0].npolygons = 1;
	decide(&x);
	nodes_are("yn-01", "yn-02", NULL);
	/* A pole without a location is never selected by geometry. */
	x.area[0].polygons = world;
	decide(&x);
	nodes_are("qjm-01", "yjz-01", "yn-01", "yn-02", NULL);
	x.area[0].npolygons = 0;
	x.area[0].circles = point_qjm;
	x.area[0].ncircles = 1;
	decide(&x);
	nodes_are("qjm-01", NULL);
	x.area[0].circles = km_yn;
	decide(&x);
	nodes_are("yn-01", "yn-02", NULL);
	/* A self-crossing polygon alone: refused, never guessed at. */
	x.area[0].ncircles = 0;
	x.area[0].polygons = bowtie;
	x.area[0].npolygons = 1;
	decide(&x);
	nothing_plays(CAP_REJECT);
	assert_string_equal(cap_what_name(d.what), "reject");
	assert_string_equal(d.reason, "invalid area, nothing else selects a pole: polygon 1 of area '永南村': edges 2 and 4 cross (edge K starts at point K)");
	x.area[0].circles = bad_circle;
	x.area[0].ncircles = 1;
	x.area[0].npolygons = 0;
	decide(&x);
	nothing_plays(CAP_REJECT);
	reason_has("circle 1 of area '永南村': radius -1 km out of range");
	/* With a geocode that selects, the bad polygon is left out and named. */
	x.area[0].ncircles = 0;
	x.area[0].npolygons = 1;
	x.area[0].ngeocodes = 1;
	decide(&x);
	assert_int_equal(d.what, CAP_BROADCAST);
	nodes_are("yn-01", "yn-02", "yn-03", NULL);
	reason_has("3 poles; ignored 1 invalid shape (polygon 1 of area '永南村': edges 2 and 4 cross");
}

static void languages_and_voices(void **state)
{
	struct msg x;

	(void)state;
	base(&x);
	x.m.ninfos = 2;
	x.in[0].language = "en-US";
	x.in[0].headline = "Rainstorm warning";
	x.in[0].description = "Heavy rain in the next 3 hours";
	x.in[0].instruction = NULL;
	x.in[1].language = "ZH-cn";
	decide(&x);
	assert_int_equal(d.info, 1);
	assert_string_equal(d.voice, "mandarin");
	assert_string_equal(d.title, "暴雨橙色预警");
	/* Only zh-HK and en: the primary subtag zh wins; Cantonese speaks it. */
	x.in[1].language = "zh-HK";
	decide(&x);
	assert_int_equal(d.info, 1);
	assert_string_equal(d.voice, "cantonese");
	/* Neither: the first, in its own voice when warnings.yaml has one. */
	x.in[1].language = "fr";
	decide(&x);
	assert_int_equal(d.info, 0);
	assert_string_equal(d.voice, "english");
	assert_string_equal(d.text, "Rainstorm warning. Heavy rain in the next 3 hours");
	/* No voice for the block's language: the township's. */
	x.in[0].language = "de";
	decide(&x);
	assert_int_equal(d.info, 0);
	assert_string_equal(d.voice, "mandarin");
}

/* Nothing to say but the event: the event is said. */
static void empty_text(void **state)
{
	struct msg x;

	(void)state;
	base(&x);
	x.in[0].headline = NULL;
	x.in[0].description = " <br/> \n";
	x.in[0].instruction = NULL;
	decide(&x);
	assert_int_equal(d.what, CAP_BROADCAST);
	assert_string_equal(d.text, "暴雨");
	assert_string_equal(d.title, "暴雨");
}

/* ---- the spoken text ----------------------------------------------------------- */

static char *speech(const char *h, const char *desc, const char *instr, size_t max)
{
	struct cap_info in = { .headline = h, .description = desc, .instruction = instr };
	char *s = cap_speech_text(&in, max);

	assert_non_null(s);
	assert_int_equal(utf8_invalid_at(s, strlen(s)), -1);
	return s;
}

#define SPEECH_IS(want, ...)                                  \
	do {                                                  \
		char *s_ = speech(__VA_ARGS__);               \
		assert_string_equal(s_, want);                \
		free(s_);                                     \
	} while (0)

static void text_cleaning(void **state)
{
	(void)state;
	SPEECH_IS("暴雨橙色预警。未来3小时<强降雨> 请注意。转移到高处。",
		  "暴雨橙色预警", "<p>未来3小时&lt;强降雨&gt;</p>\n\n<br/>请注意", "<b>转移到高处。</b>", 500);
	SPEECH_IS("Flood warning. River & creek levels rising. Move to higher ground",
		  "Flood warning", "River &amp; creek   levels\trising.", "Move to higher ground", 500);
	SPEECH_IS("It's 中 \"quoted\" a b &foo; &#0; 1 < 2",
		  "It&#39;s &#x4E2D; &quot;quoted&quot; a&nbsp;b &foo; &#0; 1 < 2", NULL, NULL, 500);
	SPEECH_IS("abc d", "a\x01" "b\x7f" "c\r\n d", NULL, NULL, 500);
	SPEECH_IS("ab", "a\xff\xfe" "b", NULL, NULL, 500);
	SPEECH_IS("请注意! Then", "请注意!", "Then", NULL, 500);
	SPEECH_IS("Now. 请注意", "Now", NULL, "请注意", 500);
	SPEECH_IS("", NULL, "  ", "<br>", 500);
	SPEECH_IS("x <y", "x <y", NULL, NULL, 500);   /* an unclosed tag stays text */
}

static void text_cutting(void **state)
{
	char *s;

	(void)state;
	/* 20 characters, a sentence mark at 10 (keeps half): cut there. */
	SPEECH_IS("一二三四五六七八九。", "一二三四五六七八九。十一二三四五六七八九十", NULL, NULL, 15);
	/* A sentence mark at 3 (less than half): cut at the limit. */
	SPEECH_IS("一二。四五六七八", "一二。四五六七八九十一二三", NULL, NULL, 8);
	/* Latin: ". " ends a sentence, "3.5" does not. */
	SPEECH_IS("Alpha beta.", "Alpha beta. Gamma delta", NULL, NULL, 15);
	SPEECH_IS("Level 3.5 m", "Level 3.5 metres", NULL, NULL, 11);
	SPEECH_IS("One. Two t", "One. Two three four", NULL, NULL, 10);
	/* Never inside a character: 4-byte ones counted as one. */
	s = speech("𠀀𠀁𠀂𠀃𠀄𠀅", NULL, NULL, 5);
	assert_int_equal(utf8_count(s, strlen(s)), 5);
	assert_int_equal(strlen(s), 20);
	free(s);
	s = speech("ab中文字", NULL, NULL, 3);
	assert_string_equal(s, "ab中");
	free(s);
	/* Exactly the limit: untouched. */
	SPEECH_IS("12345", "12345", NULL, NULL, 5);
	SPEECH_IS("", "12345", NULL, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(broadcast_default, each_teardown),
		cmocka_unit_test_teardown(default_table, each_teardown),
		cmocka_unit_test_teardown(status_and_type, each_teardown),
		cmocka_unit_test_teardown(expiry, each_teardown),
		cmocka_unit_test_teardown(cancel_and_update, each_teardown),
		cmocka_unit_test_teardown(rules, each_teardown),
		cmocka_unit_test_teardown(geocodes, each_teardown),
		cmocka_unit_test_teardown(shapes, each_teardown),
		cmocka_unit_test_teardown(languages_and_voices, each_teardown),
		cmocka_unit_test_teardown(empty_text, each_teardown),
		cmocka_unit_test(text_cleaning),
		cmocka_unit_test(text_cutting),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
