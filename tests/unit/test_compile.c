/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_compile.c -- plans from schedules: time zones, days, overlaps, quiet hours, repeats, determinism */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "compile.h"
#include "cxtime.h"
#include "encode.h"
#include "schedule.h"
#include "tts.h"

#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Shared by all tests (made once): voices, chimes and recordings of known
 * length; the render cache, so each text is spoken once per run. */
static char top[64], home[4096], voices[128], assets[128], renders[128];
static struct diag *d;
static struct schedule *s;
static struct compile *c;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int sox(const char *out, const char *synth)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "sox -n -r 48000 -c 1 -b 16 '%s' %s 2>/dev/null", out, synth);
	return system(cmd);
}

static int group_setup(void **state)
{
	char p[256];

	if (system("sox --version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "sox is missing\n");
		exit(77);
	}
	if (!getcwd(home, sizeof(home)))
		return -1;
	strcpy(top, "/tmp/cx-test-compile.XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(voices, sizeof(voices), "%s/voices", top);
	snprintf(assets, sizeof(assets), "%s/cache/assets", top);
	snprintf(renders, sizeof(renders), "%s/cache/renders", top);
	snprintf(p, sizeof(p), "%s/chimes", voices);
	if (mkdir(voices, 0755) || mkdir(p, 0755))
		return -1;
	snprintf(p, sizeof(p), "%s/chimes/ding-dong.wav", voices);
	if (sox(p, "synth 0.25 sine 880 : synth 0.25 sine 660"))
		return -1;
	snprintf(p, sizeof(p), "%s/mandarin.yaml", voices);
	write_file(p, "name: mandarin\nengine: espeak-ng\nvoice: cmn\nrate: 150\n"
		      "chime: chimes/ding-dong.wav\n");
	snprintf(p, sizeof(p), "%s/plain.yaml", voices);
	write_file(p, "name: plain\nengine: espeak-ng\nvoice: cmn\nrate: 170\n");
	snprintf(p, sizeof(p), "%s/cantonese.yaml", voices);
	write_file(p, "name: cantonese\nengine: espeak-ng\nvoice: yue\n");
	snprintf(p, sizeof(p), "%s/audio", top);
	if (mkdir(p, 0755))
		return -1;
	snprintf(p, sizeof(p), "%s/audio/two.wav", top);
	if (sox(p, "synth 2 sine 440"))
		return -1;
	snprintf(p, sizeof(p), "%s/audio/long.wav", top);
	if (sox(p, "synth 90 sine 330"))
		return -1;
	snprintf(p, sizeof(p), "%s/audio/bad.wav", top);
	write_file(p, "RIFF? no, this is text\n");
	return 0;
}

static int group_teardown(void **state)
{
	tts_shutdown();
	if (chdir(home) == 0)
		nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int setup(void **state)
{
	char p[256];

	assert_int_equal(chdir(top), 0);
	nftw("s", rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	assert_int_equal(mkdir("s", 0755), 0);
	snprintf(p, sizeof(p), "%s/audio", top);
	assert_int_equal(symlink(p, "s/audio"), 0);
	d = NULL;
	s = NULL;
	c = NULL;
	return 0;
}

static int teardown(void **state)
{
	compile_free(c);
	schedule_free(s);
	diag_free(d);
	return 0;
}

static void put(const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "s/%s", name);
	write_file(path, text);
}

static const char *fleet_tz(const char *tz, const char *extra)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
		 "township: 掌政镇\n"
		 "area_code: \"640104100000\"\n"
		 "timezone: %s\n"
		 "%s"
		 "villages:\n"
		 "  - code: \"640104100201\"\n"
		 "    name: 永南村\n"
		 "    nodes:\n"
		 "      - { id: yn-01, households: 300, tags: [river] }\n"
		 "      - { id: yn-02, households: 512 }\n"
		 "  - code: \"640104100202\"\n"
		 "    name: 掌政村\n"
		 "    nodes:\n"
		 "      - { id: zz-01, households: 200, tags: [river] }\n", tz, extra);
	return buf;
}

/* Load s/ and compile DAYS days from FROM, with or without voices. */
static void compile_with(const char *from, int days, const char *voices_dir)
{
	struct compile_opts o = { 0 };
	int y, m, dd;

	assert_int_equal(cx_parse_date(from, &y, &m, &dd), 0);
	d = diag_new();
	s = schedule_load("s", d);
	assert_non_null(s);
	assert_int_equal(cx_tz_set(schedule_township(s)->timezone), 0);
	o.from_day = cx_days_from_civil(y, m, dd);
	o.days = days;
	o.voices_dir = voices_dir;
	o.assets_dir = assets;
	o.cache_dir = renders;
	c = compile_run(s, &o, d);
	assert_non_null(c);
}

static void compile_ok(const char *from, int days)
{
	compile_with(from, days, voices);
	if (diag_get(d, 0)) {
		for (size_t i = 0; diag_get(d, i); i++)
			fprintf(stderr, "  got: %s\n", diag_get(d, i));
		fail_msg("unexpected diagnostics");
	}
}

static void expect(const char *const *want)
{
	size_t n = 0;

	for (; want[n]; n++) {
		const char *got = diag_get(d, n);

		if (!got || strcmp(got, want[n])) {
			for (size_t i = 0; diag_get(d, i); i++)
				fprintf(stderr, "  got: %s\n", diag_get(d, i));
			fail_msg("diagnostic %zu: want '%s', got '%s'", n, want[n], got ? got : "(none)");
		}
	}
	if (diag_get(d, n))
		fail_msg("unexpected diagnostic: %s", diag_get(d, n));
}

#define EXPECT(...) expect((const char *const[]){ __VA_ARGS__, NULL })

static struct compile_event ev_at(size_t node, size_t i)
{
	struct compile_event ev;

	assert_true(i < compile_event_count(c, node));
	compile_event(c, node, i, &ev);
	return ev;
}

/* UTC instant of a civil day and time given with its UTC offset in hours. */
static int64_t utc(int y, int m, int dd, int h, int mi, int offset_h)
{
	return ((cx_days_from_civil(y, m, dd) * 86400) + (h - offset_h) * 3600 + mi * 60) * 1000;
}

/* The asset of an audio file (a cache hit: the compile encoded it already). */
static void file_sha(const char *path, char sha[CX_SHA256_HEX], int64_t *ms)
{
	assert_int_equal(enc_file_asset(path, ENC_DEFAULT_BITRATE, assets, renders, sha, ms, NULL, 0), 0);
}

static const char one_audio_notice[] =
	"notices:\n"
	"  two: { title: 两秒, audio: audio/two.wav }\n"
	"  long: { title: 长, audio: audio/long.wav }\n";

/* ---- time ------------------------------------------------------------------------ */

static void shanghai(void **state)
{
	char sha[CX_SHA256_HEX], want[1024], *buf;
	struct compile_event ev;
	int64_t ms;
	size_t len;

	put("fleet.yaml", fleet_tz("Asia/Shanghai", ""));
	put("a.yaml",
	    "notices:\n"
	    "  two: { title: 两秒, audio: audio/two.wav }\n"
	    "broadcasts:\n"
	    "  - { id: b, notice: two, at: [\"19:00\", \"07:30\"], targets: { nodes: [yn-01] } }\n");
	compile_ok("2026-12-01", 2);
	assert_int_equal(compile_from_ms(c), utc(2026, 12, 1, 0, 0, 8));
	assert_int_equal(compile_from_ms(c), 1796054400000LL);
	assert_int_equal(compile_horizon_ms(c), utc(2026, 12, 3, 0, 0, 8));
	assert_int_equal(compile_event_count(c, 0), 4);
	assert_int_equal(compile_event_count(c, 1), 0);
	assert_int_equal(compile_event_count(c, 2), 0);
	ev = ev_at(0, 0);
	assert_string_equal(ev.occ, "b@2026-12-01T07:30");
	assert_string_equal(ev.notice, "two");
	assert_int_equal(ev.start_ms, 1796081400000LL); /* 2026-11-30T23:30Z */
	assert_int_equal(ev.scheduled_ms, ev.start_ms);
	assert_int_equal(ev.duration_ms, 2000);
	assert_int_equal(ev.priority, 10);
	assert_int_equal(ev.volume, 80);
	assert_string_equal(ev_at(0, 1).occ, "b@2026-12-01T19:00");
	assert_int_equal(ev_at(0, 1).start_ms, utc(2026, 12, 1, 19, 0, 8));
	assert_string_equal(ev_at(0, 3).occ, "b@2026-12-02T19:00");

	file_sha("audio/two.wav", sha, &ms);
	assert_int_equal(ms, 2000);
	assert_int_equal(compile_plan_dump(c, 0, &buf, &len), 0);
	snprintf(want, sizeof(want),
		 "{\"type\":\"plan\",\"node\":\"yn-01\",\"issued_ms\":1796054400000,"
		 "\"horizon_ms\":1796227200000,\"max_delay_ms\":600000,"
		 "\"area\":\"640104100201\",\"tags\":[\"river\"],\"events\":["
		 "{\"occ\":\"b@2026-12-01T07:30\",\"notice\":\"two\",\"start_ms\":1796081400000,"
		 "\"duration_ms\":2000,\"priority\":10,\"volume\":80,\"assets\":[\"%s\"]},", sha);
	assert_true(len > strlen(want));
	assert_memory_equal(buf, want, strlen(want));
	assert_int_equal(buf[len - 1], '\n');
	assert_int_equal(buf[len - 2], '}');
	free(buf);
	assert_int_equal(compile_plan_dump(c, 1, &buf, &len), 0);
	assert_string_equal(buf, "{\"type\":\"plan\",\"node\":\"yn-02\",\"issued_ms\":1796054400000,"
				 "\"horizon_ms\":1796227200000,\"max_delay_ms\":600000,"
				 "\"area\":\"640104100201\",\"tags\":[],\"events\":[]}\n");
	free(buf);
}

/* Compiling in a zone other than the township's would move every
 * broadcast by the difference: refused, with the reason. */
static void zone_must_be_selected(void **state)
{
	struct compile_opts o = { .from_day = cx_days_from_civil(2026, 3, 7), .days = 1 };

	put("fleet.yaml", fleet_tz("America/New_York", ""));
	d = diag_new();
	s = schedule_load("s", d);
	assert_non_null(s);
	assert_int_equal(cx_tz_set("Asia/Shanghai"), 0);
	o.voices_dir = voices;
	o.assets_dir = assets;
	o.cache_dir = renders;
	errno = 0;
	c = compile_run(s, &o, d);
	assert_null(c);
	assert_int_equal(errno, EINVAL);
	EXPECT("error: the township's time zone America/New_York is not selected");
}

static void new_york_spring_forward(void **state)
{
	put("fleet.yaml", fleet_tz("America/New_York", ""));
	put("a.yaml",
	    "notices:\n"
	    "  two: { title: 两秒, audio: audio/two.wav }\n"
	    "broadcasts:\n"
	    "  - { id: b, notice: two, at: [\"02:30\", \"12:00\"], targets: { nodes: [yn-01] } }\n"
	    "  - { id: gap, notice: two, at: [\"02:15\", \"03:15\"], targets: { nodes: [yn-02] } }\n");
	compile_ok("2026-03-07", 3);
	/* 2026-03-08 02:00 EST jumps to 03:00 EDT. */
	assert_int_equal(compile_from_ms(c), utc(2026, 3, 7, 0, 0, -5));
	assert_int_equal(compile_horizon_ms(c), utc(2026, 3, 10, 0, 0, -4));
	assert_int_equal(compile_horizon_ms(c) - compile_from_ms(c), 71 * 3600 * 1000LL);
	assert_int_equal(compile_event_count(c, 0), 6);
	assert_int_equal(ev_at(0, 0).start_ms, utc(2026, 3, 7, 2, 30, -5));
	assert_int_equal(ev_at(0, 1).start_ms, utc(2026, 3, 7, 12, 0, -5));
	/* 02:30 does not exist that day: it plays at 03:30 EDT, and its
	 * occurrence is named by that local time. */
	assert_string_equal(ev_at(0, 2).occ, "b@2026-03-08T03:30");
	assert_int_equal(ev_at(0, 2).start_ms, utc(2026, 3, 8, 3, 30, -4));
	assert_int_equal(ev_at(0, 3).start_ms, utc(2026, 3, 8, 12, 0, -4));
	assert_int_equal(ev_at(0, 4).start_ms, utc(2026, 3, 9, 2, 30, -4));
	assert_int_equal(ev_at(0, 5).start_ms, utc(2026, 3, 9, 12, 0, -4));
	/* 02:15 moves onto 03:15, where the broadcast plays anyway: once. */
	assert_int_equal(compile_event_count(c, 1), 5);
	assert_string_equal(ev_at(1, 2).occ, "gap@2026-03-08T03:15");
	assert_int_equal(ev_at(1, 2).start_ms, utc(2026, 3, 8, 3, 15, -4));
	assert_string_equal(ev_at(1, 3).occ, "gap@2026-03-09T02:15");
}

static void new_york_fall_back(void **state)
{
	put("fleet.yaml", fleet_tz("America/New_York", ""));
	put("a.yaml",
	    "notices:\n"
	    "  two: { title: 两秒, audio: audio/two.wav }\n"
	    "broadcasts:\n"
	    "  - { id: b, notice: two, at: \"01:30\", targets: { nodes: [yn-01] } }\n");
	compile_ok("2026-10-31", 3);
	/* 2026-11-01 02:00 EDT falls back to 01:00 EST: 01:30 happens twice,
	 * and plays once, at the first. The day is 25 hours long. */
	assert_int_equal(compile_horizon_ms(c) - compile_from_ms(c), 73 * 3600 * 1000LL);
	assert_int_equal(compile_event_count(c, 0), 3);
	assert_int_equal(ev_at(0, 0).start_ms, utc(2026, 10, 31, 1, 30, -4));
	assert_int_equal(ev_at(0, 1).start_ms, utc(2026, 11, 1, 1, 30, -4));
	assert_string_equal(ev_at(0, 1).occ, "b@2026-11-01T01:30");
	assert_int_equal(ev_at(0, 2).start_ms, utc(2026, 11, 2, 1, 30, -5));
}

static void days_filters(void **state)
{
	size_t per[5] = { 0 };

	put("fleet.yaml", fleet_tz("Asia/Shanghai", ""));
	put("a.yaml",
	    "notices:\n"
	    "  two: { title: 两秒, audio: audio/two.wav }\n"
	    "broadcasts:\n"
	    "  - { id: wd, notice: two, at: \"07:00\", days: weekdays, targets: { nodes: [yn-01] } }\n"
	    "  - { id: we, notice: two, at: \"08:00\", days: weekends, targets: { nodes: [yn-01] } }\n"
	    "  - { id: mt, notice: two, at: \"09:00\", days: [mon, thu], targets: { nodes: [yn-01] } }\n"
	    "  - { id: dt, notice: two, at: \"10:00\", days: [\"2026-12-03\", \"2026-12-24\"], targets: { nodes: [yn-01] } }\n"
	    "  - { id: rg, notice: two, at: \"11:00\", from: 2026-12-02, until: 2026-12-04, targets: { nodes: [yn-01] } }\n");
	/* 2026-11-30 is a Monday; the window is one week. */
	compile_ok("2026-11-30", 7);
	for (size_t i = 0; i < compile_event_count(c, 0); i++)
		per[ev_at(0, i).broadcast_index]++;
	assert_int_equal(per[0], 5);
	assert_int_equal(per[1], 2);
	assert_int_equal(per[2], 2);
	assert_int_equal(per[3], 1);
	assert_int_equal(per[4], 3); /* from and until both inclusive */
	for (size_t i = 0; i < compile_event_count(c, 0); i++) {
		struct compile_event ev = ev_at(0, i);

		if (ev.broadcast_index == 4) {
			assert_true(ev.start_ms >= utc(2026, 12, 2, 0, 0, 8));
			assert_true(ev.start_ms < utc(2026, 12, 5, 0, 0, 8));
		}
		if (ev.broadcast_index == 1)
			assert_true(!strcmp(ev.occ, "we@2026-12-05T08:00") ||
				    !strcmp(ev.occ, "we@2026-12-06T08:00"));
	}
}

/* ---- overlaps ------------------------------------------------------------------------ */

/* compile_plan_dump assembles a plan from event texts serialised once per
 * occurrence: byte for byte jansson's compact dump of compile_plan_json,
 * and a final newline, on every node (moved events and empty plans too). */
static void dump_is_json(void)
{
	for (size_t i = 0; i < compile_node_count(c); i++) {
		json_t *j = compile_plan_json(c, i);
		char *want = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER), *got;
		size_t len;

		assert_non_null(want);
		assert_int_equal(compile_plan_dump(c, i, &got, &len), 0);
		assert_int_equal(len, strlen(want) + 1);
		assert_int_equal(strlen(got), len);
		assert_memory_equal(got, want, len - 1);
		assert_int_equal(got[len - 1], '\n');
		free(got);
		free(want);
		json_decref(j);
	}
}

static void higher_priority_first(void **state)
{
	char f[4096];

	snprintf(f, sizeof(f), "%s%s", one_audio_notice,
		 "broadcasts:\n"
		 "  - { id: r, notice: long, at: \"07:29\", targets: { nodes: [yn-01] } }\n"
		 "  - { id: i, notice: two, at: \"07:30\", targets: { nodes: [yn-01] }, priority: important }\n");
	put("fleet.yaml", fleet_tz("Asia/Shanghai", ""));
	put("a.yaml", f);
	compile_ok("2026-12-01", 1);
	/* r (90 s from 07:29) would run into i: i keeps 07:30, r waits until it
	 * ends, 62 s late, within max_delay. */
	assert_int_equal(compile_event_count(c, 0), 2);
	assert_string_equal(ev_at(0, 0).broadcast, "i");
	assert_int_equal(ev_at(0, 0).start_ms, utc(2026, 12, 1, 7, 30, 8));
	assert_int_equal(ev_at(0, 0).priority, 20);
	assert_string_equal(ev_at(0, 1).broadcast, "r");
	assert_int_equal(ev_at(0, 1).scheduled_ms, utc(2026, 12, 1, 7, 29, 8));
	assert_int_equal(ev_at(0, 1).start_ms, utc(2026, 12, 1, 7, 30, 8) + 2000);
	dump_is_json();
}

static void equal_priority_declaration_order(void **state)
{
	put("fleet.yaml", fleet_tz("Asia/Shanghai", ""));
	put("a.yaml",
	    "notices:\n"
	    "  two: { title: 两秒, audio: audio/two.wav }\n"
	    "  long: { title: 长, audio: audio/long.wav }\n"
	    "broadcasts:\n"
	    "  - { id: a, notice: two, at: \"07:31\", targets: { nodes: [yn-01] } }\n"
	    "  - { id: c, notice: two, at: \"09:00\", targets: { nodes: [yn-01] } }\n");
	put("b.yaml",
	    "broadcasts:\n"
	    "  - { id: b, notice: long, at: \"07:30\", targets: { nodes: [yn-01] } }\n"
	    "  - { id: d, notice: two, at: \"09:00\", targets: all }\n");
	compile_ok("2026-12-01", 1);
	/* a (a.yaml) is declared before b (b.yaml): it keeps 07:31, and b,
	 * 90 s from 07:30, cannot fit before it. */
	assert_int_equal(compile_event_count(c, 0), 4);
	assert_string_equal(ev_at(0, 0).broadcast, "a");
	assert_int_equal(ev_at(0, 0).start_ms, utc(2026, 12, 1, 7, 31, 8));
	assert_string_equal(ev_at(0, 1).broadcast, "b");
	assert_int_equal(ev_at(0, 1).start_ms, utc(2026, 12, 1, 7, 31, 8) + 2000);
	/* Same time: c (a.yaml) before d (b.yaml). */
	assert_string_equal(ev_at(0, 2).broadcast, "c");
	assert_int_equal(ev_at(0, 2).start_ms, utc(2026, 12, 1, 9, 0, 8));
	assert_string_equal(ev_at(0, 3).broadcast, "d");
	assert_int_equal(ev_at(0, 3).start_ms, utc(2026, 12, 1, 9, 0, 8) + 2000);
	/* On the other nodes d is alone and on time. */
	assert_int_equal(compile_event_count(c, 1), 1);
	assert_int_equal(ev_at(1, 0).start_ms, utc(2026, 12, 1, 9, 0, 8));
	dump_is_json();
}

static void beyond_max_delay(void **state)
{
	char f[4096];

	snprintf(f, sizeof(f), "%s%s", one_audio_notice,
		 "broadcasts:\n"                                                      /* 4 */
		 "  - id: imp\n"
		 "    notice: long\n"
		 "    at: \"07:30\"\n"
		 "    targets: { nodes: [yn-01, yn-02] }\n"
		 "    priority: important\n"
		 "  - id: r\n"                                                        /* 10 */
		 "    notice: two\n"
		 "    at: [\"07:00\", \"07:30\"]\n"                                   /* 12 */
		 "    targets: { nodes: [yn-01, yn-02] }\n");
	put("fleet.yaml", fleet_tz("Asia/Shanghai", "max_delay: 60s\n"));
	put("a.yaml", f);
	compile_with("2026-12-01", 2, voices);
	/* Two nodes, two days: one error, at r's 07:30, naming both and the
	 * first node and day. */
	EXPECT("s/a.yaml:12:19: error: broadcast 'r' at 2026-12-01 07:30 on node yn-01 would be "
	       "delayed 1m30s by 'imp' (important, 07:30), more than max_delay 1m (and 3 more times)");
}

static void quiet_hours(void **state)
{
	put("fleet.yaml", fleet_tz("Asia/Shanghai", "quiet_hours: \"22:00-06:00\"\n"));
	put("a.yaml",
	    "notices:\n"
	    "  two: { title: 两秒, audio: audio/two.wav }\n"
	    "  long: { title: 长, audio: audio/long.wav }\n"
	    "broadcasts:\n"
	    "  - { id: late, notice: long, at: \"21:59\", targets: { nodes: [yn-01] } }\n"           /* 5 */
	    "  - { id: imp, notice: long, at: \"21:59\", targets: { nodes: [yn-02] }, priority: important }\n" /* 6 */
	    "  - { id: ok, notice: long, at: \"21:59\", targets: { nodes: [zz-01] }, priority: important, quiet_ok: true }\n"
	    "  - { id: pushed, notice: two, at: \"21:59\", targets: { nodes: [zz-01] } }\n");        /* 8 */
	compile_with("2026-12-01", 1, voices);
	EXPECT("s/a.yaml:5:35: error: routine broadcast 'late' at 2026-12-01 21:59 on node yn-01 plays 21:59-22:00:30, into quiet hours 22:00-06:00",
	       "s/a.yaml:6:34: error: important broadcast 'imp' at 2026-12-01 21:59 on node yn-02 plays 21:59-22:00:30, into quiet hours 22:00-06:00; add quiet_ok: true to allow it",
	       "s/a.yaml:8:36: error: routine broadcast 'pushed' at 2026-12-01 21:59 on node zz-01 plays 22:00:30-22:00:32 after a delay of 1m30s, into quiet hours 22:00-06:00");
}

/* ---- assets ------------------------------------------------------------------------- */

static int64_t asset_ms(const char *sha)
{
	for (size_t i = 0; i < compile_asset_count(c); i++)
		if (!strcmp(compile_asset(c, i)->sha, sha))
			return compile_asset(c, i)->duration_ms;
	fail_msg("no asset %s", sha);
	return -1;
}

static void repeat_with_chimes(void **state)
{
	char two[CX_SHA256_HEX], chime[CX_SHA256_HEX], path[256];
	int64_t two_ms, chime_ms, t_ms;
	struct compile_event ev;
	const size_t *idx;
	size_t n;

	put("fleet.yaml", fleet_tz("Asia/Shanghai", ""));
	put("a.yaml",
	    "notices:\n"
	    "  two: { title: 两秒, audio: audio/two.wav }\n"
	    "  spoken: { title: 说, text: 各位村民请注意。, voice: mandarin }\n"
	    "  plain: { title: 说, text: 各位村民请注意。, voice: plain }\n"
	    "  yue: { title: 粤, text: 大家好, voice: cantonese }\n"
	    "broadcasts:\n"
	    "  - { id: rec, notice: two, at: \"07:00\", repeat: 3, targets: { nodes: [yn-01] } }\n"
	    "  - { id: txt, notice: spoken, at: \"08:00\", repeat: 2, targets: { nodes: [yn-01] } }\n"
	    "  - { id: pln, notice: plain, at: \"09:00\", repeat: 2, targets: { nodes: [yn-01] } }\n"
	    "  - { id: one, notice: yue, at: \"10:00\", targets: { nodes: [yn-01] } }\n");
	compile_ok("2026-12-01", 1);
	file_sha("audio/two.wav", two, &two_ms);
	snprintf(path, sizeof(path), "%s/chimes/ding-dong.wav", voices);
	file_sha(path, chime, &chime_ms);
	assert_int_equal(two_ms, 2000);
	assert_int_equal(chime_ms, 500);

	/* A recording: the voices directory's chime between repetitions. */
	ev = ev_at(0, 0);
	assert_string_equal(ev.broadcast, "rec");
	assert_int_equal(ev.nassets, 5);
	assert_string_equal(ev.assets[0], two);
	assert_string_equal(ev.assets[1], chime);
	assert_string_equal(ev.assets[2], two);
	assert_string_equal(ev.assets[3], chime);
	assert_string_equal(ev.assets[4], two);
	assert_int_equal(ev.duration_ms, 3 * 2000 + 2 * 500);

	/* A voice with a chime: the chime before each repetition. */
	ev = ev_at(0, 1);
	assert_string_equal(ev.broadcast, "txt");
	assert_int_equal(ev.nassets, 4);
	assert_string_equal(ev.assets[0], chime);
	assert_string_equal(ev.assets[2], chime);
	assert_string_equal(ev.assets[1], ev.assets[3]);
	assert_string_not_equal(ev.assets[1], chime);
	t_ms = asset_ms(ev.assets[1]);
	assert_true(t_ms > 500);
	assert_int_equal(ev.duration_ms, 2 * 500 + 2 * t_ms);

	/* A voice without one: the default chime between. */
	ev = ev_at(0, 2);
	assert_string_equal(ev.broadcast, "pln");
	assert_int_equal(ev.nassets, 3);
	assert_string_equal(ev.assets[1], chime);
	assert_string_equal(ev.assets[0], ev.assets[2]);
	assert_string_not_equal(ev.assets[0], ev_at(0, 1).assets[1]); /* other rate */
	assert_int_equal(ev.duration_ms, 500 + 2 * asset_ms(ev.assets[0]));

	ev = ev_at(0, 3);
	assert_int_equal(ev.nassets, 1);
	assert_int_equal(ev.duration_ms, asset_ms(ev.assets[0]));

	/* The node needs each of the five assets once; the others none. */
	n = compile_node_assets(c, 0, &idx);
	assert_int_equal(n, 5);
	for (size_t i = 1; i < n; i++)
		assert_true(idx[i - 1] < idx[i]);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		assert_int_equal(stat(compile_asset(c, idx[i])->path, &st), 0);
	}
	assert_int_equal(compile_node_assets(c, 1, &idx), 0);
}

static char *dump_all(void)
{
	size_t total = 0, len;
	char *all = NULL, *buf;

	for (size_t i = 0; i < compile_node_count(c); i++) {
		assert_int_equal(compile_plan_dump(c, i, &buf, &len), 0);
		all = realloc(all, total + len + 1);
		assert_non_null(all);
		memcpy(all + total, buf, len + 1);
		total += len;
		free(buf);
	}
	return all;
}

static void same_bytes(char *first, char *second)
{
	if (strcmp(first, second)) {
		size_t k = 0;

		while (first[k] == second[k])
			k++;
		fail_msg("plans differ at byte %zu: ...%.80s... vs ...%.80s...", k,
			 first + (k > 40 ? k - 40 : 0), second + (k > 40 ? k - 40 : 0));
	}
	free(first);
	free(second);
}

static void deterministic(void **state)
{
	char *first, *second, saved_assets[128], saved_renders[128];

	put("fleet.yaml", fleet_tz("Asia/Shanghai", "quiet_hours: \"22:00-06:00\"\n"));
	put("a.yaml",
	    "notices:\n"
	    "  two: { title: 两秒, audio: audio/two.wav }\n"
	    "  long: { title: 长, audio: audio/long.wav }\n"
	    "  spoken: { title: 说, text: 今天下午三点在村委会开会。 }\n"
	    "broadcasts:\n"
	    "  - { id: a, notice: spoken, at: [\"07:00\", \"12:00\"], repeat: 2, targets: all }\n"
	    "  - { id: b, notice: long, at: \"07:00\", targets: { tags: [river] }, priority: important }\n"
	    "  - { id: c, notice: two, at: \"07:01\", days: weekends, repeat: 2, targets: { villages: [\"640104100201\"] } }\n");
	compile_ok("2026-12-01", 7);
	first = dump_all();
	assert_non_null(strstr(first, "\"occ\":\"a@2026-12-05T07:00\""));
	dump_is_json();
	teardown(state);
	compile_ok("2026-12-01", 7);
	same_bytes(first, dump_all());
	teardown(state);

	/* From an empty cache, recordings encode to the same bytes again. */
	put("a.yaml",
	    "notices:\n"
	    "  two: { title: 两秒, audio: audio/two.wav }\n"
	    "  long: { title: 长, audio: audio/long.wav }\n"
	    "broadcasts:\n"
	    "  - { id: b, notice: long, at: \"07:00\", targets: { tags: [river] }, priority: important }\n"
	    "  - { id: c, notice: two, at: \"07:01\", repeat: 2, targets: all }\n");
	compile_ok("2026-12-01", 7);
	first = dump_all();
	teardown(state);
	strcpy(saved_assets, assets);
	strcpy(saved_renders, renders);
	snprintf(assets, sizeof(assets), "%s/cache2/assets", top);
	snprintf(renders, sizeof(renders), "%s/cache2/renders", top);
	compile_ok("2026-12-01", 7);
	second = dump_all();
	strcpy(assets, saved_assets);
	strcpy(renders, saved_renders);
	same_bytes(first, second);
}

/* The digest of a plan follows its bytes: the same schedules give the same
 * digests; a broadcast moved on one node changes that node's digest only. */
static void digest_follows_plan(void **state)
{
	unsigned char before[8][COMPILE_DIGEST], after[COMPILE_DIGEST];
	size_t nn;

	put("fleet.yaml", fleet_tz("Asia/Shanghai", ""));
	put("a.yaml",
	    "notices:\n"
	    "  two: { title: 两秒, audio: audio/two.wav }\n"
	    "broadcasts:\n"
	    "  - { id: a, notice: two, at: \"07:00\", targets: all }\n"
	    "  - { id: b, notice: two, at: \"08:00\", targets: { nodes: [yn-01] } }\n");
	compile_ok("2026-12-01", 7);
	nn = compile_node_count(c);
	assert_true(nn >= 2 && nn <= 8);
	for (size_t i = 0; i < nn; i++)
		assert_int_equal(compile_plan_digest(c, i, before[i]), 0);
	teardown(state);
	compile_ok("2026-12-01", 7);
	for (size_t i = 0; i < nn; i++) {
		assert_int_equal(compile_plan_digest(c, i, after), 0);
		assert_memory_equal(after, before[i], COMPILE_DIGEST);
	}
	teardown(state);
	put("a.yaml",
	    "notices:\n"
	    "  two: { title: 两秒, audio: audio/two.wav }\n"
	    "broadcasts:\n"
	    "  - { id: a, notice: two, at: \"07:00\", targets: all }\n"
	    "  - { id: b, notice: two, at: \"08:05\", targets: { nodes: [yn-01] } }\n");
	compile_ok("2026-12-01", 7);
	for (size_t i = 0; i < nn; i++) {
		bool same;

		assert_int_equal(compile_plan_digest(c, i, after), 0);
		same = memcmp(after, before[i], COMPILE_DIGEST) == 0;
		if (strcmp(schedule_node(s, i)->id, "yn-01") == 0)
			assert_false(same);
		else
			assert_true(same);
	}
}

/* One compile's plans as text and their digests, per node. */
struct plans_seen {
	size_t n;
	char *text[8];
	unsigned char digest[8][COMPILE_DIGEST];
};

static void forget_plans(struct plans_seen *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->text[i]);
	p->n = 0;
}

static void see_plans(struct plans_seen *p)
{
	size_t len;

	p->n = compile_node_count(c);
	assert_true(p->n <= 8);
	for (size_t i = 0; i < p->n; i++) {
		assert_int_equal(compile_plan_dump(c, i, &p->text[i], &len), 0);
		assert_int_equal(compile_plan_digest(c, i, p->digest[i]), 0);
	}
}

/* Across two compiles, a node's digests are equal exactly when its plans
 * are; \retval how many nodes' plans differ */
static size_t digests_follow_text(struct plans_seen *a, struct plans_seen *b)
{
	size_t differ = 0;

	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		bool same_text = strcmp(a->text[i], b->text[i]) == 0;
		bool same_digest = memcmp(a->digest[i], b->digest[i], COMPILE_DIGEST) == 0;

		assert_int_equal(same_text, same_digest);
		differ += !same_text;
	}
	return differ;
}

/* The digest is taken from what a plan is made of, not its text: it must
 * change exactly when the text does. An overlap moves a on yn-01 (b is
 * important at the same time); then b gets longer (a moves further), a's
 * volume changes (every node), zz-01's tags change, the window moves. */
static void digest_follows_text(void **state)
{
	static const char *const variants[][3] = {
		{ "two", "80", "[river]" },   /* as first compiled */
		{ "long", "80", "[river]" },  /* b longer: a moved further on yn-01 */
		{ "long", "70", "[river]" },  /* a's volume: every node */
		{ "long", "70", "[river, school]" }, /* zz-01's tags */
	};
	static const size_t want_differ[] = { 0, 1, 3, 1 };
	struct plans_seen first, next;
	char fleet[2048], sched[1024];

	for (size_t v = 0; v < sizeof(variants) / sizeof(*variants); v++) {
		snprintf(fleet, sizeof(fleet), "%s", fleet_tz("Asia/Shanghai", ""));
		if (v == 3) {
			char *z = strstr(fleet, "id: zz-01, households: 200, tags: [river]");

			assert_non_null(z);
			snprintf(fleet + (z - fleet), sizeof(fleet) - (size_t)(z - fleet),
				 "id: zz-01, households: 200, tags: %s }\n", variants[v][2]);
		}
		snprintf(sched, sizeof(sched),
			 "notices:\n"
			 "  two: { title: 两秒, audio: audio/two.wav }\n"
			 "  long: { title: 长, audio: audio/long.wav }\n"
			 "broadcasts:\n"
			 "  - { id: a, notice: two, at: \"07:00\", targets: all, volume: %s }\n"
			 "  - { id: b, notice: %s, at: \"07:00\", priority: important,\n"
			 "      targets: { nodes: [yn-01] } }\n"
			 "  - { id: c, notice: long, at: \"12:00\", targets: { nodes: [zz-01] } }\n",
			 variants[v][1], variants[v][0]);
		put("fleet.yaml", fleet);
		put("a.yaml", sched);
		compile_ok("2026-12-01", 2);
		see_plans(v == 0 ? &first : &next);
		if (v > 0) {
			assert_int_equal(digests_follow_text(&first, &next), want_differ[v]);
			forget_plans(&first);
			memcpy(&first, &next, sizeof(first));
			see_plans(&next); /* the same compile again: nothing differs */
			assert_int_equal(digests_follow_text(&first, &next), 0);
			forget_plans(&next);
		}
		teardown(state);
	}
	/* The window moves: every plan's issued_ms does. */
	compile_ok("2026-12-02", 2);
	see_plans(&next);
	assert_int_equal(digests_follow_text(&first, &next), first.n);
	forget_plans(&first);
	forget_plans(&next);
}

/* ---- errors that need voices or audio ------------------------------------------------- */

static void voice_errors(void **state)
{
	char w1[512], w2[512];

	put("fleet.yaml", fleet_tz("Asia/Shanghai", ""));
	put("a.yaml",
	    "notices:\n"
	    "  a: { title: t, text: 你好, voice: klingon }\n"          /* 2 */
	    "  b: { title: t, text: 再见, voice: klingon }\n"          /* 3 */
	    "  c: { title: t, text: 谢谢 }\n"                          /* 4 */
	    "broadcasts:\n"
	    "  - { id: a, notice: a, at: \"07:00\", targets: all }\n"
	    "  - { id: b, notice: b, at: \"08:00\", targets: all }\n"
	    "  - { id: c, notice: c, at: \"09:00\", targets: all }\n");
	compile_with("2026-12-01", 1, voices);
	snprintf(w1, sizeof(w1), "s/a.yaml:2:35: error: unknown voice 'klingon' (there is no %s/klingon.yaml)", voices);
	snprintf(w2, sizeof(w2), "s/a.yaml:3:35: error: unknown voice 'klingon' (there is no %s/klingon.yaml)", voices);
	EXPECT(w1, w2);
	/* c is fine and still compiled. */
	assert_int_equal(compile_event_count(c, 0), 1);
	teardown(state);

	compile_with("2026-12-01", 1, NULL);
	EXPECT("s/a.yaml:2:35: error: no voices directory for voice 'klingon' (give --voices DIR or set CUNXIANG_VOICES)",
	       "s/a.yaml:3:35: error: no voices directory for voice 'klingon' (give --voices DIR or set CUNXIANG_VOICES)",
	       "s/a.yaml:4:24: error: no voices directory for voice 'mandarin' (give --voices DIR or set CUNXIANG_VOICES)");
}

static void unusable_audio(void **state)
{
	const char *got;

	put("fleet.yaml", fleet_tz("Asia/Shanghai", ""));
	put("a.yaml",
	    "notices:\n"
	    "  bad:\n"
	    "    title: t\n"
	    "    audio: audio/bad.wav\n"                                    /* 4 */
	    "broadcasts:\n"
	    "  - { id: a, notice: bad, at: \"07:00\", targets: all }\n");
	compile_with("2026-12-01", 1, voices);
	assert_int_equal(diag_errors(d), 1);
	got = diag_get(d, 0);
	assert_true(!strncmp(got, "s/a.yaml:4:12: error: cannot use audio 'audio/bad.wav': ", 56));
	assert_int_equal(compile_event_count(c, 0), 0);
}

static void outside_window_still_checked(void **state)
{
	/* A notice whose broadcast never plays in the window is still
	 * rendered, so `check` finds its problems. */
	put("fleet.yaml", fleet_tz("Asia/Shanghai", ""));
	put("a.yaml",
	    "notices:\n"
	    "  bad: { title: t, audio: audio/bad.wav }\n"
	    "broadcasts:\n"
	    "  - { id: a, notice: bad, at: \"07:00\", from: 2030-01-01, targets: all }\n");
	compile_with("2026-12-01", 7, voices);
	assert_int_equal(diag_errors(d), 1);
	assert_int_equal(compile_total_events(c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(shanghai, setup, teardown),
		cmocka_unit_test_setup_teardown(zone_must_be_selected, setup, teardown),
		cmocka_unit_test_setup_teardown(new_york_spring_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(new_york_fall_back, setup, teardown),
		cmocka_unit_test_setup_teardown(days_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(higher_priority_first, setup, teardown),
		cmocka_unit_test_setup_teardown(equal_priority_declaration_order, setup, teardown),
		cmocka_unit_test_setup_teardown(beyond_max_delay, setup, teardown),
		cmocka_unit_test_setup_teardown(quiet_hours, setup, teardown),
		cmocka_unit_test_setup_teardown(repeat_with_chimes, setup, teardown),
		cmocka_unit_test_setup_teardown(deterministic, setup, teardown),
		cmocka_unit_test_setup_teardown(digest_follows_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(digest_follows_text, setup, teardown),
		cmocka_unit_test_setup_teardown(voice_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(unusable_audio, setup, teardown),
		cmocka_unit_test_setup_teardown(outside_window_still_checked, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
