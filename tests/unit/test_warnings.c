/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_warnings.c -- warnings.yaml: the model, the defaults, and each error at its FILE:LINE:COL */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "schedule.h"
#include "warnings.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[64], home[4096];
static struct diag *d;
static struct schedule *s;
static struct warnings *w;

static const char fleet[] =
	"township: 掌政镇\n"
	"area_code: \"640104100000\"\n"
	"villages:\n"
	"  - code: \"640104100201\"\n"
	"    name: 永南村\n"
	"    nodes:\n"
	"      - id: yn-01\n"
	"        households: 300\n"
	"        location: [38.4452, 106.3841]\n"
	"  - code: \"640104100203\"\n"
	"    name: 强家庙村\n"
	"    nodes:\n"
	"      - id: qjm-01\n"
	"        households: 410\n";

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "s/%s", name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Each test: a fresh directory "s" with the fleet, a trust anchor and a
 * watched directory, so diagnostics read "s/warnings.yaml:LINE:COL". */
static int setup(void **state)
{
	(void)state;
	strcpy(top, "/tmp/cx-test-warnings.XXXXXX");
	assert_non_null(mkdtemp(top));
	assert_int_equal(chdir(top), 0);
	assert_int_equal(mkdir("s", 0755), 0);
	assert_int_equal(mkdir("s/incoming", 0755), 0);
	assert_int_equal(mkdir("s/dir.pem", 0755), 0);
	put("fleet.yaml", fleet);
	put("cma.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
	put("not.pem", "hello\n");
	d = NULL;
	s = NULL;
	w = NULL;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	warnings_free(w);
	schedule_free(s);
	diag_free(d);
	assert_int_equal(chdir(home), 0);
	nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* The fleet, then warnings.yaml checked against it. */
static void load(void)
{
	d = diag_new();
	assert_non_null(d);
	s = schedule_load("s", d);
	assert_non_null(s);
	assert_int_equal(diag_errors(d), 0);
	w = warnings_load("s", s, d);
	assert_non_null(w);
}

/* The diagnostics, sorted, must be exactly WANT (NULL-terminated). */
static void expect(const char *const *want)
{
	size_t n = 0;

	for (; want[n]; n++) {
		const char *got = diag_get(d, n);

		if (!got || strcmp(got, want[n])) {
			for (size_t k = 0; diag_get(d, k); k++)
				print_message("  %s\n", diag_get(d, k));
			fail_msg("diagnostic %zu:\n got: %s\nwant: %s", n, got ? got : "(none)", want[n]);
		}
	}
	if (diag_get(d, n))
		fail_msg("unexpected diagnostic: %s", diag_get(d, n));
}
#define EXPECT(...) expect((const char *const[]){ __VA_ARGS__, NULL })

static void no_file(void **state)
{
	(void)state;
	load();
	assert_int_equal(diag_errors(d), 0);
	assert_false(w->present);
	assert_string_equal(w->language, "zh-CN");
	assert_int_equal(w->max_text, 500);
	assert_int_equal(w->default_expires_ms, 3600000);
	assert_int_equal(w->nadmin_schemes, 6);
	assert_string_equal(w->admin_schemes[0], "ADMIN_CODE");
	assert_string_equal(w->admin_schemes[5], "行政区划代码");
	assert_int_equal(w->nsources + w->nsenders + w->nrules + w->nareas, 0);
	assert_null(warnings_sender(w, "anyone"));
	/* The built-in voices. */
	assert_string_equal(warnings_voice(w, "zh-CN"), "mandarin");
	assert_string_equal(warnings_voice(w, "ZH-cn"), "mandarin");
	assert_string_equal(warnings_voice(w, "zh-TW"), "mandarin");    /* by "zh" */
	assert_string_equal(warnings_voice(w, "cmn"), "mandarin");
	assert_string_equal(warnings_voice(w, "zh-HK"), "cantonese");
	assert_string_equal(warnings_voice(w, "yue-Hant-HK"), "cantonese");
	assert_string_equal(warnings_voice(w, "hak"), "hakka");
	assert_null(warnings_voice(w, "en-US"));
	assert_null(warnings_voice(w, ""));
	assert_null(warnings_voice(w, NULL));
}

static void empty_file(void **state)
{
	(void)state;
	put("warnings.yaml", "# nothing automatic yet\n");
	load();
	assert_int_equal(diag_errors(d), 0);
	assert_true(w->present);
	assert_int_equal(w->max_text, 500);
	assert_int_equal(w->nvoices, 8);
}

static void full_file(void **state)
{
	(void)state;
	put("warnings.yaml",
	    "language: zh-cn\n"
	    "max_text: 300\n"
	    "expires: 90m\n"
	    "admin_schemes: [ADMIN_CODE, 行政区划代码]\n"
	    "sources:\n"                                                   /* 5 */
	    "  - dir: incoming\n"
	    "  - url: https://alerts.example.cn/cap/feed.atom\n"
	    "    interval: 2m\n"
	    "    timeout: 20s\n"
	    "    max_bytes: 65536\n"                                       /* 10 */
	    "  - url: HTTP://10.0.0.7/cap/latest.xml\n"
	    "senders:\n"
	    "  - sender: 12379@cma.gov.cn\n"
	    "    signature: required\n"
	    "    trust: [cma.pem]\n"                                       /* 15 */
	    "  - sender: yinchuan-qx@example.cn\n"
	    "rules:\n"
	    "  - match: {event: 地震演练, status: Exercise}\n"
	    "    action: ignore\n"
	    "  - match:\n"                                                 /* 20 */
	    "      category: [Met, Geo]\n"
	    "      severity: Severe\n"
	    "      urgency: [Immediate, Expected]\n"
	    "      certainty: Observed\n"
	    "    action: hold\n"                                           /* 25 */
	    "    level: 2\n"
	    "  - level: 1\n"
	    "areas:\n"
	    "  - {scheme: Taiwan_Geocode_103, value: \"6403700\", villages: [\"640104100201\", \"640104100203\"]}\n"
	    "  - scheme: 流域\n"                                           /* 30 */
	    "    value: 黄河银川段\n"
	    "    villages: \"640104100203\"\n"
	    "voices:\n"
	    "  zh-CN: hakka\n"
	    "  en: english\n");                                            /* 35 */
	load();
	EXPECT(NULL);
	assert_true(w->present);
	assert_string_equal(w->language, "zh-cn");
	assert_int_equal(w->max_text, 300);
	assert_int_equal(w->default_expires_ms, 90 * 60000);
	assert_int_equal(w->nadmin_schemes, 2);
	assert_string_equal(w->admin_schemes[1], "行政区划代码");

	assert_int_equal(w->nsources, 3);
	assert_false(w->sources[0].is_url);
	assert_string_equal(w->sources[0].dir, "s/incoming");
	assert_string_equal(w->sources[0].pos.file, "s/warnings.yaml");
	assert_int_equal(w->sources[0].pos.line, 6);
	assert_true(w->sources[1].is_url);
	assert_string_equal(w->sources[1].url, "https://alerts.example.cn/cap/feed.atom");
	assert_int_equal(w->sources[1].interval_ms, 120000);
	assert_int_equal(w->sources[1].timeout_ms, 20000);
	assert_int_equal(w->sources[1].max_bytes, 65536);
	assert_int_equal(w->sources[2].interval_ms, 60000);
	assert_int_equal(w->sources[2].timeout_ms, 10000);
	assert_int_equal(w->sources[2].max_bytes, 1u << 20);

	assert_int_equal(w->nsenders, 2);
	assert_ptr_equal(warnings_sender(w, "12379@cma.gov.cn"), &w->senders[0]);
	assert_true(w->senders[0].require_signature);
	assert_int_equal(w->senders[0].nanchors, 1);
	assert_string_equal(w->senders[0].anchors[0], "s/cma.pem");
	assert_false(w->senders[1].require_signature);
	assert_int_equal(w->senders[1].nanchors, 0);
	assert_null(warnings_sender(w, "12379@CMA.gov.cn"));

	assert_int_equal(w->nrules, 3);
	assert_int_equal(w->rules[0].action, WARN_IGNORE);
	assert_int_equal(w->rules[0].event.n, 1);
	assert_string_equal(w->rules[0].event.v[0], "地震演练");
	assert_string_equal(w->rules[0].status.v[0], "Exercise");
	assert_int_equal(w->rules[0].severity.n, 0);
	assert_int_equal(w->rules[0].level, 0);
	assert_int_equal(w->rules[1].action, WARN_HOLD);
	assert_int_equal(w->rules[1].level, 2);
	assert_int_equal(w->rules[1].category.n, 2);
	assert_string_equal(w->rules[1].urgency.v[1], "Expected");
	assert_int_equal(w->rules[1].pos.line, 20);
	assert_int_equal(w->rules[2].action, WARN_BROADCAST);
	assert_int_equal(w->rules[2].level, 1);

	assert_int_equal(w->nareas, 2);
	assert_string_equal(w->areas[0].scheme, "Taiwan_Geocode_103");
	assert_string_equal(w->areas[0].value, "6403700");
	assert_int_equal(w->areas[0].nvillages, 2);
	assert_string_equal(w->areas[1].villages[0], "640104100203");

	/* The file's voices first, then the built-in ones. */
	assert_int_equal(w->nvoices, 2 + 8);
	assert_string_equal(warnings_voice(w, "zh-CN"), "hakka");
	assert_string_equal(warnings_voice(w, "en-GB"), "english");
	assert_string_equal(warnings_voice(w, "zh-HK"), "cantonese");
}

/* Each kind of error at its place, and the entry it spoils left out. */
static void errors(void **state)
{
	(void)state;
	put("warnings.yaml",
	    "language: chinese mandarin\n"
	    "max_text: 20\n"
	    "expires: soon\n"
	    "sources:\n"
	    "  - url: ftp://alerts.example.cn/cap\n"                       /* 5 */
	    "  - dir: nowhere\n"
	    "  - dir: incoming\n"
	    "    url: https://x.example/\n"
	    "  - url: https://x.example/\n"
	    "    intreval: 5m\n"                                           /* 10 */
	    "senders:\n"
	    "  - sender: a@example.cn\n"
	    "    signature: required\n"
	    "  - sender: b@example.cn\n"
	    "    signature: required\n"                                    /* 15 */
	    "    trust: [cma.pem, missing.pem, dir.pem, not.pem]\n"
	    "  - sender: c@example.cn\n"
	    "    signatrue: required\n"
	    "  - sender: d@example.cn\n"
	    "    signature: yes\n"                                         /* 20 */
	    "rules:\n"
	    "  - match: {severity: severe}\n"
	    "  - match: {category: Weather}\n"
	    "    level: 5\n"
	    "  - match: {sevrity: Extreme}\n"                              /* 25 */
	    "    action: broadcast-now\n"
	    "areas:\n"
	    "  - {scheme: X, value: \"1\", villages: [\"640104100299\"]}\n"
	    "  - {scheme: X, value: \"2\", villages: [\"6401\"]}\n"
	    "  - {scheme: X, value: \"3\"}\n"                              /* 30 */
	    "voices:\n"
	    "  zh_CN: mandarin\n"
	    "  en: english voice\n"
	    "colour: red\n");                                              /* 34 */
	load();
	EXPECT("s/warnings.yaml:1:11: error: language must be a language tag such as zh-CN, not 'chinese mandarin'",
	       "s/warnings.yaml:2:11: error: max_text (characters) must be between 50 and 5000, not 20",
	       "s/warnings.yaml:3:10: error: expires must be a duration such as 90s, 30m or 2h, not 'soon'",
	       "s/warnings.yaml:5:10: error: url must be http:// or https:// and a host, without spaces, at most 2048 bytes, not 'ftp://alerts.example.cn/cap'",
	       "s/warnings.yaml:6:10: error: source directory 'nowhere' cannot be watched: No such file or directory",
	       "s/warnings.yaml:7:5: error: a source needs exactly one of dir: (a directory to watch) and url: (a document or feed to poll)",
	       "s/warnings.yaml:10:5: error: unknown key 'intreval' in a url source",
	       "s/warnings.yaml:12:5: error: sender 'a@example.cn' requires a signature: trust: must name its PEM trust anchors",
	       "s/warnings.yaml:16:22: error: trust anchor 'missing.pem' cannot be read: No such file or directory",
	       "s/warnings.yaml:16:35: error: trust anchor 'dir.pem' is not a file",
	       "s/warnings.yaml:16:44: error: trust anchor 'not.pem' holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
	       "s/warnings.yaml:18:5: error: unknown key 'signatrue' in a sender",
	       "s/warnings.yaml:20:16: error: signature must be required or none, not 'yes'",
	       "s/warnings.yaml:22:23: error: severity 'severe' is not a CAP 1.2 severity: Extreme, Severe, Moderate, Minor or Unknown",
	       "s/warnings.yaml:23:23: error: category 'Weather' is not a CAP 1.2 category: Geo, Met, Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE or Other",
	       "s/warnings.yaml:24:12: error: level must be between 1 and 4, not 5",
	       "s/warnings.yaml:25:13: error: unknown key 'sevrity' in match",
	       "s/warnings.yaml:26:13: error: action must be broadcast, hold or ignore, not 'broadcast-now'",
	       "s/warnings.yaml:28:40: error: unknown village '640104100299' (not in fleet.yaml)",
	       "s/warnings.yaml:29:40: error: village code must be 12 digits, not '6401'",
	       "s/warnings.yaml:30:5: error: an area needs villages: (the village codes it stands for)",
	       "s/warnings.yaml:32:3: error: voices: 'zh_CN' is not a language tag such as zh-CN",
	       "s/warnings.yaml:33:7: error: voice 'english voice' must be a profile name: 1 to 32 of A-Z, a-z, 0-9, - and _",
	       "s/warnings.yaml:34:1: error: unknown key 'colour' in warnings.yaml");
	/* Defaults where the value was wrong; nothing half-read is kept. */
	assert_string_equal(w->language, "zh-CN");
	assert_int_equal(w->max_text, 500);
	assert_int_equal(w->default_expires_ms, 3600000);
	assert_int_equal(w->nsources, 0);
	assert_int_equal(w->nsenders, 0);
	assert_int_equal(w->nrules, 0);
	assert_int_equal(w->nareas, 0);
	assert_int_equal(w->nvoices, 8);
}

static void duplicates_and_shapes(void **state)
{
	(void)state;
	put("warnings.yaml",
	    "senders:\n"
	    "  - sender: a@example.cn\n"
	    "  - sender: a@example.cn\n"
	    "  - just-a-name\n"
	    "rules: {match: {}}\n"                                          /* 5 */
	    "areas:\n"
	    "  - {scheme: X, value: \"1\", villages: \"640104100201\"}\n"
	    "  - {scheme: X, value: \"1\", villages: \"640104100203\"}\n"
	    "  - {scheme: X, value: \"2\", villages: []}\n"
	    "admin_schemes: GB2260\n");                                     /* 10 */
	load();
	EXPECT("s/warnings.yaml:3:13: error: sender 'a@example.cn' is listed twice (first at s/warnings.yaml:2:13)",
	       "s/warnings.yaml:4:5: error: each entry of senders must be a mapping (sender:, signature:, trust:)",
	       "s/warnings.yaml:5:8: error: rules must be a list of mappings",
	       "s/warnings.yaml:8:5: error: area X '1' is listed twice (first at s/warnings.yaml:7:5)",
	       "s/warnings.yaml:9:39: error: villages must list at least one village code");
	assert_int_equal(w->nsenders, 1);
	assert_int_equal(w->nareas, 1);
	assert_int_equal(w->nadmin_schemes, 1);
	assert_string_equal(w->admin_schemes[0], "GB2260");
}

static void not_a_mapping(void **state)
{
	(void)state;
	put("warnings.yaml", "- sources\n");
	load();
	EXPECT("s/warnings.yaml:1:1: error: warnings.yaml must be a mapping (sources:, senders:, rules: ...)");
	assert_true(w->present);
	assert_int_equal(w->nvoices, 8);
}

static void bad_yaml(void **state)
{
	(void)state;
	put("warnings.yaml", "rules: [\n");
	load();
	assert_int_equal(diag_errors(d), 1);
	assert_non_null(strstr(diag_get(d, 0), "s/warnings.yaml:"));
	assert_true(w->present);
	assert_string_equal(warnings_voice(w, "zh"), "mandarin");
}

/* Without a fleet, village codes are checked for their form only. */
static void without_fleet(void **state)
{
	(void)state;
	put("warnings.yaml", "areas:\n  - {scheme: X, value: \"1\", villages: [\"640104100299\"]}\n");
	d = diag_new();
	assert_non_null(d);
	w = warnings_load("s", NULL, d);
	assert_non_null(w);
	EXPECT(NULL);
	assert_int_equal(w->nareas, 1);
}

/* The schedules loader does not read warnings.yaml as a broadcast file,
 * and a directory given as "." shows the bare name. */
static void schedules_skip_it(void **state)
{
	(void)state;
	put("warnings.yaml", "sources:\n  - dir: incoming\nbogus: 1\n");
	assert_int_equal(chdir("s"), 0);
	d = diag_new();
	assert_non_null(d);
	s = schedule_load(".", d);
	assert_non_null(s);
	EXPECT(NULL);
	w = warnings_load(".", s, d);
	assert_non_null(w);
	EXPECT("warnings.yaml:3:1: error: unknown key 'bogus' in warnings.yaml");
	assert_string_equal(w->sources[0].dir, "./incoming");
	assert_int_equal(chdir(".."), 0);
}

/* fleet.yaml's location: its form and range, at the value. */
static void fleet_location(void **state)
{
	(void)state;
	put("fleet.yaml",
	    "township: 掌政镇\n"
	    "area_code: \"640104100000\"\n"
	    "villages:\n"
	    "  - code: \"640104100201\"\n"
	    "    name: 永南村\n"                                          /* 5 */
	    "    nodes:\n"
	    "      - {id: a, households: 1, location: [38.4452, 106.3841]}\n"
	    "      - {id: b, households: 1, location: [91, 106]}\n"
	    "      - {id: c, households: 1, location: [38.4, east]}\n"
	    "      - {id: d, households: 1, location: 38.4}\n"                /* 10 */
	    "      - {id: e, households: 1, location: [1, 2, 3]}\n"
	    "      - {id: f, households: 1}\n");
	d = diag_new();
	assert_non_null(d);
	s = schedule_load("s", d);
	assert_non_null(s);
	EXPECT("s/fleet.yaml:8:43: error: location latitude must be between -90 and 90, not 91",
	       "s/fleet.yaml:9:49: error: location longitude must be a number from -180 to 180",
	       "s/fleet.yaml:10:42: error: location must be [LAT, LON] in decimal degrees, such as [38.43, 106.37]",
	       "s/fleet.yaml:11:42: error: location must be [LAT, LON] in decimal degrees, such as [38.43, 106.37]");
	assert_true(schedule_node(s, 0)->has_location);
	assert_true(schedule_node(s, 0)->lat == 38.4452);
	assert_true(schedule_node(s, 0)->lon == 106.3841);
	assert_false(schedule_node(s, 1)->has_location);
	assert_false(schedule_node(s, 5)->has_location);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(no_file, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(full_file, setup, teardown),
		cmocka_unit_test_setup_teardown(errors, setup, teardown),
		cmocka_unit_test_setup_teardown(duplicates_and_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(not_a_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_yaml, setup, teardown),
		cmocka_unit_test_setup_teardown(without_fleet, setup, teardown),
		cmocka_unit_test_setup_teardown(schedules_skip_it, setup, teardown),
		cmocka_unit_test_setup_teardown(fleet_location, setup, teardown),
	};

	assert_non_null(getcwd(home, sizeof(home)));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
