/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_schedule.c -- loading a schedules directory: the model, and every error class at its FILE:LINE:COL */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cxtime.h"
#include "schedule.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[64], home[4096];
static struct diag *d;
static struct schedule *s;

/* Each test gets a fresh directory; the schedules are always "s" inside
 * it, so diagnostics read "s/FILE:LINE:COL". */
static int setup(void **state)
{
	strcpy(top, "/tmp/cx-test-schedule.XXXXXX");
	assert_non_null(mkdtemp(top));
	assert_int_equal(chdir(top), 0);
	assert_int_equal(mkdir("s", 0755), 0);
	d = NULL;
	s = NULL;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	schedule_free(s);
	diag_free(d);
	assert_int_equal(chdir(home), 0);
	nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

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

static void load_dir(const char *dir)
{
	d = diag_new();
	assert_non_null(d);
	s = schedule_load(dir, d);
	assert_non_null(s);
}

static void load(void) { load_dir("s"); }

/* The diagnostics, sorted, must be exactly WANT (NULL-terminated). */
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
	if (diag_get(d, n)) {
		for (size_t i = 0; diag_get(d, i); i++)
			fprintf(stderr, "  got: %s\n", diag_get(d, i));
		fail_msg("unexpected diagnostic: %s", diag_get(d, n));
	}
}

#define EXPECT(...) expect((const char *const[]){ __VA_ARGS__, NULL })

static const char fleet[] =
	"township: 掌政镇\n"                      /* 1 */
	"area_code: \"640104100000\"\n"           /* 2 */
	"timezone: Asia/Shanghai\n"               /* 3 */
	"quiet_hours: \"22:00-06:00\"\n"          /* 4 */
	"max_delay: 10m\n"                        /* 5 */
	"presence:\n"                             /* 6 */
	"  \"06:00-08:00\": 0.7\n"                /* 7 */
	"  \"18:00-22:00\": 0.9\n"                /* 8 */
	"villages:\n"                             /* 9 */
	"  - code: \"640104100201\"\n"            /* 10 */
	"    name: 永南村\n"                      /* 11 */
	"    nodes:\n"                            /* 12 */
	"      - id: yn-01\n"                     /* 13 */
	"        households: 300\n"               /* 14 */
	"        tags: [river, school]\n"         /* 15 */
	"      - id: yn-02\n"                     /* 16 */
	"        households: 512\n"               /* 17 */
	"  - code: \"640104100202\"\n"            /* 18 */
	"    name: 掌政村\n"                      /* 19 */
	"    nodes:\n"                            /* 20 */
	"      - id: zz-01\n"                     /* 21 */
	"        households: 200\n"               /* 22 */
	"        tags: [river]\n";                /* 23 */

/* A broadcast file around one broadcast's extra lines (from line 6 on). */
static void put_broadcast(const char *name, const char *extra)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "notices:\n"                          /* 1 */
		 "  hello:\n"                          /* 2 */
		 "    title: 问候\n"                   /* 3 */
		 "    text: 你好\n"                    /* 4 */
		 "broadcasts:\n"                       /* 5 */
		 "  - id: b\n"                         /* 6 */
		 "    notice: hello\n"                 /* 7 */
		 "    targets: all\n"                  /* 8 */
		 "%s", extra);                         /* 9.. */
	put(name, buf);
}

static int64_t day(int y, int m, int dd) { return cx_days_from_civil(y, m, dd); }

/* ---- the model ------------------------------------------------------------- */

static void good_directory(void **state)
{
	const struct schedule_township *t;
	const struct schedule_node *n;
	const struct schedule_broadcast *b;

	put("fleet.yaml", fleet);
	assert_int_equal(mkdir("s/audio", 0755), 0);
	put("audio/news.mp3", "not checked until compile");
	put("b.yaml",
	    "broadcasts:\n"
	    "  - id: second\n"
	    "    notice: hello\n"
	    "    at: [\"19:00\", \"07:30\"]\n"
	    "    days: [mon, thu, \"2026-12-06\"]\n"
	    "    from: 2026-12-01\n"
	    "    until: 2026-12-31\n"
	    "    targets: { villages: [\"640104100202\"], tags: [school], nodes: [yn-02] }\n"
	    "    repeat: 2\n"
	    "    volume: 60\n"
	    "    priority: important\n"
	    "    quiet_ok: true\n");
	put("a.yaml",
	    "notices:\n"
	    "  hello:\n"
	    "    title: 问候\n"
	    "    text: 你好\n"
	    "    voice: cantonese\n"
	    "  news:\n"
	    "    title: 新闻\n"
	    "    audio: audio/news.mp3\n"
	    "broadcasts:\n"
	    "  - id: first\n"
	    "    notice: news\n"
	    "    at: \"06:30\"\n"
	    "    days: weekdays\n"
	    "    targets: { tags: [river] }\n");
	load();
	EXPECT(NULL);
	assert_int_equal(diag_warnings(d), 0);

	t = schedule_township(s);
	assert_string_equal(t->name, "掌政镇");
	assert_string_equal(t->area_code, "640104100000");
	assert_string_equal(t->timezone, "Asia/Shanghai");
	assert_int_equal(t->max_delay_ms, 600000);
	assert_int_equal(t->nquiet, 1);
	assert_true(schedule_range_contains(&t->quiet[0], 23 * 60));
	assert_true(schedule_range_contains(&t->quiet[0], 5 * 60 + 59));
	assert_false(schedule_range_contains(&t->quiet[0], 6 * 60));
	assert_int_equal(t->npresence, 2);
	assert_true(schedule_presence_at(s, 7 * 60) == 0.7);
	assert_true(schedule_presence_at(s, 21 * 60 + 59) == 0.9);
	assert_true(schedule_presence_at(s, 12 * 60) == 0.0);

	assert_int_equal(schedule_village_count(s), 2);
	assert_int_equal(schedule_node_count(s), 3);
	n = schedule_node(s, 0);
	assert_string_equal(n->id, "yn-01");
	assert_string_equal(n->village_code, "640104100201");
	assert_string_equal(n->village_name, "永南村");
	assert_int_equal(n->households, 300);
	assert_int_equal(n->ntags, 2);
	assert_string_equal(n->tags[1], "school");
	assert_string_equal(n->pos.file, "s/fleet.yaml");
	assert_int_equal(n->pos.line, 13);
	assert_int_equal(n->pos.col, 13);
	assert_int_equal(schedule_node_find(s, "zz-01"), 2);
	assert_int_equal(schedule_node_find(s, "zz-02"), -1);
	assert_int_equal(schedule_village(s, 1)->first_node, 2);

	/* Files in name order: a.yaml's broadcast is declared first. */
	assert_int_equal(schedule_broadcast_count(s), 2);
	b = schedule_broadcast(s, 0);
	assert_string_equal(b->id, "first");
	assert_true(b->valid);
	assert_int_equal(b->priority, SCHEDULE_ROUTINE);
	assert_int_equal(b->volume, 80);
	assert_int_equal(b->repeat, 1);
	assert_int_equal(b->ntargets, 2); /* river: yn-01, zz-01 */
	assert_int_equal(b->targets[0], 0);
	assert_int_equal(b->targets[1], 2);
	assert_string_equal(schedule_notice(s, b->notice)->id, "news");
	assert_string_equal(schedule_notice(s, b->notice)->audio, "s/audio/news.mp3");
	assert_string_equal(schedule_notice(s, b->notice)->audio_shown, "audio/news.mp3");
	/* 2026-12-04 is a Friday, 12-05 a Saturday. */
	assert_true(schedule_broadcast_on(s, 0, day(2026, 12, 4)));
	assert_false(schedule_broadcast_on(s, 0, day(2026, 12, 5)));

	b = schedule_broadcast(s, 1);
	assert_string_equal(b->id, "second");
	assert_int_equal(b->priority, SCHEDULE_IMPORTANT);
	assert_true(b->quiet_ok);
	assert_int_equal(b->volume, 60);
	assert_int_equal(b->repeat, 2);
	assert_int_equal(b->nat, 2);
	assert_int_equal(b->at[0].minute, 7 * 60 + 30); /* sorted */
	assert_int_equal(b->at[0].pos.line, 4);
	assert_int_equal(b->at[0].pos.col, 19);
	assert_int_equal(b->ntargets, 3); /* union of all three */
	assert_string_equal(schedule_notice(s, b->notice)->voice, "cantonese");
	/* mon/thu, a listed Sunday, inside from..until inclusive */
	assert_false(schedule_broadcast_on(s, 1, day(2026, 11, 30))); /* Monday before from */
	assert_true(schedule_broadcast_on(s, 1, day(2026, 12, 3)));   /* Thursday */
	assert_false(schedule_broadcast_on(s, 1, day(2026, 12, 4)));  /* Friday */
	assert_true(schedule_broadcast_on(s, 1, day(2026, 12, 6)));   /* listed date */
	assert_true(schedule_broadcast_on(s, 1, day(2026, 12, 31)));  /* Thursday = until */
	assert_false(schedule_broadcast_on(s, 1, day(2027, 1, 4)));   /* Monday after */
}

static void defaults(void **state)
{
	put("fleet.yaml",
	    "township: 掌政镇\n"
	    "area_code: \"640104100000\"\n"
	    "villages:\n"
	    "  - code: \"640104100201\"\n"
	    "    name: 永南村\n"
	    "    nodes: [{ id: yn-01, households: 3 }]\n");
	put_broadcast("a.yaml", "    at: \"12:00\"\n");
	load();
	EXPECT(NULL);
	assert_string_equal(schedule_township(s)->timezone, "Asia/Shanghai");
	assert_int_equal(schedule_township(s)->max_delay_ms, 600000);
	assert_int_equal(schedule_township(s)->nquiet, 0);
	assert_string_equal(schedule_notice(s, 0)->voice, "mandarin");
	assert_true(schedule_broadcast_on(s, 0, day(2026, 12, 5)));
}

/* ---- error classes ----------------------------------------------------------- */

static void yaml_syntax(void **state)
{
	put("fleet.yaml", fleet);
	put("a.yaml",
	    "notices:\n"
	    "  hello: {title: x, text: y\n"
	    "broadcasts: []\n");
	put("b.yaml", "broadcasts:\n  - id: x\n   notice: y\n");
	load();
	EXPECT("s/a.yaml:3:11: error: YAML syntax: did not find expected ',' or '}' while parsing a flow mapping",
	       "s/b.yaml:3:4: error: YAML syntax: did not find expected '-' indicator while parsing a block collection");
}

static void unknown_keys(void **state)
{
	char f[2048];

	snprintf(f, sizeof(f), "%s%s", fleet, "      - id: zz-02\n"          /* 24 */
					     "        households: 1\n"       /* 25 */
					     "        voulme: 3\n"           /* 26 */
					     "    mayor: 王\n"               /* 27 */
					     "max_dealy: 5m\n");             /* 28 */
	put("fleet.yaml", f);
	put("a.yaml",
	    "notices:\n"
	    "  hello:\n"
	    "    title: 问候\n"
	    "    text: 你好\n"
	    "    speed: 3\n"                                  /* 5 */
	    "broadcasts:\n"
	    "  - id: b\n"
	    "    notice: hello\n"
	    "    at: \"07:00\"\n"
	    "    targets: { village: [\"640104100201\"] }\n"  /* 10 */
	    "    voulme: 80\n"                                /* 11 */
	    "schedule: x\n");                                 /* 12 */
	load();
	EXPECT("s/a.yaml:5:5: error: unknown key 'speed' in a notice",
	       "s/a.yaml:10:16: error: unknown key 'village' in targets",
	       "s/a.yaml:11:5: error: unknown key 'voulme' in a broadcast",
	       "s/a.yaml:12:1: error: unknown key 'schedule' in a broadcast file",
	       "s/fleet.yaml:26:9: error: unknown key 'voulme' in a node",
	       "s/fleet.yaml:27:5: error: unknown key 'mayor' in a village",
	       "s/fleet.yaml:28:1: error: unknown key 'max_dealy' in fleet.yaml");
}

static void wrong_types(void **state)
{
	put("fleet.yaml",
	    "township: [掌政镇]\n"
	    "area_code: \"640104100000\"\n"
	    "villages:\n"
	    "  - code: \"640104100201\"\n"
	    "    name: 永南村\n"
	    "    nodes:\n"
	    "      - id: yn-01\n"
	    "        households: many\n"              /* 8 */
	    "        tags: { a: b }\n");              /* 9 */
	put("a.yaml",
	    "notices:\n"
	    "  hello:\n"
	    "    title: 问候\n"
	    "    text: 你好\n"
	    "broadcasts:\n"
	    "  - id: b\n"
	    "    notice: hello\n"
	    "    targets: all\n"
	    "    at: { morning: \"07:00\" }\n"        /* 9 */
	    "    volume: loud\n"                      /* 10 */
	    "    quiet_ok: yes\n"                     /* 11 */
	    "  - just a string\n");                   /* 12 */
	load();
	EXPECT("s/a.yaml:9:9: error: at must be a value or a list of values, not a mapping",
	       "s/a.yaml:10:13: error: volume must be a whole number from 1 to 100",
	       "s/a.yaml:11:15: error: quiet_ok must be true or false",
	       "s/a.yaml:12:5: error: a broadcast must be a mapping with id, notice, at and targets",
	       "s/fleet.yaml:1:11: error: township must be a single value, not a list",
	       "s/fleet.yaml:8:21: error: households must be a whole number from 0 to 1000000",
	       "s/fleet.yaml:9:15: error: tags must be a value or a list of values, not a mapping");
}

static void bad_times(void **state)
{
	put("fleet.yaml", fleet);
	put_broadcast("a.yaml", "    at: [\"07:30\", \"25:00\", \"7:3\", \"07:60\", \"07:30\"]\n");
	load();
	EXPECT("s/a.yaml:9:19: error: time must be \"HH:MM\" from 00:00 to 23:59, not '25:00'",
	       "s/a.yaml:9:28: error: time must be \"HH:MM\" from 00:00 to 23:59, not '7:3'",
	       "s/a.yaml:9:35: error: time must be \"HH:MM\" from 00:00 to 23:59, not '07:60'",
	       "s/a.yaml:9:44: error: time 07:30 is listed twice");
	assert_false(schedule_broadcast(s, 0)->valid);
}

static void bad_dates(void **state)
{
	put("fleet.yaml", fleet);
	put_broadcast("a.yaml",
		      "    at: \"07:30\"\n"                          /* 9 */
		      "    days: [mon, \"2026-02-30\", someday]\n"   /* 10 */
		      "    from: 2026-12-15\n"                       /* 11 */
		      "    until: 2026-12-01\n"                      /* 12 */
		      "  - id: c\n"                                  /* 13 */
		      "    notice: hello\n"
		      "    targets: all\n"
		      "    at: \"07:30\"\n"
		      "    days: fortnightly\n"                      /* 17 */
		      "    from: 2026-1-5\n");                       /* 18 */
	load();
	EXPECT("s/a.yaml:10:17: error: '2026-02-30' is not a valid date",
	       "s/a.yaml:10:31: error: a day must be one of mon, tue, wed, thu, fri, sat, sun or a date \"YYYY-MM-DD\", not 'someday'",
	       "s/a.yaml:12:12: error: until 2026-12-01 is before from 2026-12-15",
	       "s/a.yaml:17:11: error: days must be daily, weekdays, weekends, or a list of mon..sun and \"YYYY-MM-DD\" dates, not 'fortnightly'",
	       "s/a.yaml:18:11: error: from must be a date \"YYYY-MM-DD\", not '2026-1-5'");
}

static void unknown_references(void **state)
{
	put("fleet.yaml", fleet);
	put("a.yaml",
	    "broadcasts:\n"
	    "  - id: b\n"
	    "    notice: flod-meeting\n"                                              /* 3 */
	    "    at: \"07:30\"\n"
	    "    targets:\n"
	    "      villages: [\"640104100209\"]\n"                                    /* 6 */
	    "      tags: [river, rivr]\n"                                             /* 7 */
	    "      nodes: yn-09\n");                                                  /* 8 */
	load();
	EXPECT("s/a.yaml:3:13: error: unknown notice 'flod-meeting'",
	       "s/a.yaml:6:18: error: unknown village '640104100209'",
	       "s/a.yaml:7:21: error: unknown tag 'rivr' (no node has it)",
	       "s/a.yaml:8:14: error: unknown node 'yn-09'");
}

static void echoed_text_escaped(void **state)
{
	/* A file name and double-quoted YAML escapes can carry terminal
	 * control sequences; errors show them as \xHH. */
	put("fleet.yaml", fleet);
	put("\x1b[2J.yaml",
	    "broadcasts:\n"
	    "  - id: b\n"
	    "    notice: \"flood\\e]0;owned\\a\"\n"                                /* 3 */
	    "    at: \"07:30\"\n"
	    "    targets: { tags: [\"\\x9b31m\"] }\n"                               /* 5 */
	    "    \"vo\\elume\": 3\n");                                              /* 6 */
	load();
	EXPECT("s/\\x1b[2J.yaml:3:13: error: unknown notice 'flood\\x1b]0;owned\\x07'",
	       "s/\\x1b[2J.yaml:5:23: error: unknown tag '\\xc2\\x9b31m' (no node has it)",
	       "s/\\x1b[2J.yaml:6:5: error: unknown key 'vo\\x1blume' in a broadcast");
}

static void duplicates(void **state)
{
	char f[2048];

	snprintf(f, sizeof(f), "%s%s", fleet,
		 "  - code: \"640104100201\"\n"   /* 24 */
		 "    name: 又一村\n"
		 "    nodes:\n"
		 "      - id: yn-02\n"            /* 27 */
		 "        households: 1\n");
	put("fleet.yaml", f);
	put_broadcast("a.yaml", "    at: \"07:30\"\n");
	put_broadcast("b.yaml", "    at: \"08:30\"\n");
	load();
	EXPECT("s/b.yaml:2:3: error: duplicate notice id 'hello' (first defined at s/a.yaml:2:3)",
	       "s/b.yaml:6:9: error: duplicate broadcast id 'b' (first defined at s/a.yaml:6:9)",
	       "s/fleet.yaml:24:11: error: duplicate village code '640104100201' (first defined at s/fleet.yaml:10:11)",
	       "s/fleet.yaml:27:13: error: duplicate node id 'yn-02' (first defined at s/fleet.yaml:16:13)");
	assert_true(schedule_broadcast(s, 0)->valid);
	assert_false(schedule_broadcast(s, 1)->valid);
}

static void node_ids(void **state)
{
	put("fleet.yaml",
	    "township: 掌政镇\n"
	    "area_code: \"640104100000\"\n"
	    "villages:\n"
	    "  - code: \"640104100201\"\n"
	    "    name: 永南村\n"
	    "    nodes:\n"
	    "      - { id: Yn_01, households: 1 }\n"                                   /* 7 */
	    "      - { id: a123456789012345678901234567890bc, households: 1 }\n"      /* 8 */
	    "      - { id: a123456789012345678901234567890b, households: 1 }\n"       /* 9 ok: 32 */
	    "      - { households: 1 }\n");                                           /* 10 */
	load();
	EXPECT("s/fleet.yaml:7:15: error: node id 'Yn_01' must be 1 to 32 of a-z, 0-9 and '-'",
	       "s/fleet.yaml:8:15: error: node id 'a123456789012345678901234567890bc' must be 1 to 32 of a-z, 0-9 and '-'",
	       "s/fleet.yaml:10:9: error: a node needs an id");
}

static void value_ranges(void **state)
{
	put("fleet.yaml", fleet);
	put_broadcast("a.yaml",
		      "    at: \"07:30\"\n"
		      "    volume: 101\n"        /* 10 */
		      "    repeat: 0\n"          /* 11 */
		      "  - id: c\n"
		      "    notice: hello\n"
		      "    targets: all\n"
		      "    at: \"08:30\"\n"
		      "    volume: 0\n"          /* 16 */
		      "    repeat: 11\n"         /* 17 */
		      "    priority: urgent\n"); /* 18 */
	load();
	EXPECT("s/a.yaml:10:13: error: volume must be between 1 and 100, not 101",
	       "s/a.yaml:11:13: error: repeat must be between 1 and 10, not 0",
	       "s/a.yaml:16:13: error: volume must be between 1 and 100, not 0",
	       "s/a.yaml:17:13: error: repeat must be between 1 and 10, not 11",
	       "s/a.yaml:18:15: error: priority must be routine or important, not 'urgent'");
}

static void area_and_village_codes(void **state)
{
	put("fleet.yaml",
	    "township: 掌政镇\n"
	    "area_code: \"640104100000\"\n"
	    "villages:\n"
	    "  - { code: \"640105100201\", name: a, nodes: [{ id: a, households: 1 }] }\n"  /* 4 */
	    "  - { code: \"640104101201\", name: b, nodes: [{ id: b, households: 1 }] }\n"  /* 5 */
	    "  - { code: \"64010410020\", name: c, nodes: [{ id: c, households: 1 }] }\n"   /* 6 */
	    "  - { code: \"640104100000\", name: d, nodes: [{ id: d, households: 1 }] }\n"  /* 7 */
	    "  - { code: \"640104100299\", name: e, nodes: [{ id: e, households: 1 }] }\n"); /* 8 ok */
	load();
	EXPECT("s/fleet.yaml:4:13: error: village code '640105100201' is not inside the township's area 640104100 (area_code 640104100000)",
	       "s/fleet.yaml:5:13: error: village code '640104101201' is not inside the township's area 640104100 (area_code 640104100000)",
	       "s/fleet.yaml:6:13: error: village code must be 12 digits, not '64010410020'",
	       "s/fleet.yaml:7:13: error: village code '640104100000' is not inside the township's area 640104100 (area_code 640104100000)");
}

static void area_code_format(void **state)
{
	put("fleet.yaml",
	    "township: 掌政镇\n"
	    "area_code: 6401041000\n"
	    "villages:\n"
	    "  - { code: \"640104100201\", name: a, nodes: [{ id: a, households: 1 }] }\n");
	load();
	EXPECT("s/fleet.yaml:2:12: error: area_code must be 12 digits such as \"640104100000\", not '6401041000'");
}

static void county_area(void **state)
{
	/* A county-wide area_code admits every village of the county. */
	put("fleet.yaml",
	    "township: 兴庆区\n"
	    "area_code: \"640104000000\"\n"
	    "villages:\n"
	    "  - { code: \"640104100201\", name: a, nodes: [{ id: a, households: 1 }] }\n"
	    "  - { code: \"640104101201\", name: b, nodes: [{ id: b, households: 1 }] }\n"
	    "  - { code: \"640105101201\", name: c, nodes: [{ id: c, households: 1 }] }\n");
	load();
	EXPECT("s/fleet.yaml:6:13: error: village code '640105101201' is not inside the township's area 640104 (area_code 640104000000)");
}

static void audio_files(void **state)
{
	put("fleet.yaml", fleet);
	assert_int_equal(mkdir("s/audio", 0755), 0);
	assert_int_equal(mkdir("s/audio/dir.wav", 0755), 0);
	put("audio/ok.wav", "x");
	put("audio/song.m4a", "x");
	put("a.yaml",
	    "notices:\n"
	    "  missing:\n"
	    "    title: a\n"
	    "    audio: audio/missing.mp3\n"          /* 4 */
	    "  dir:\n"
	    "    title: b\n"
	    "    audio: audio/dir.wav\n"              /* 7 */
	    "  m4a:\n"
	    "    title: c\n"
	    "    audio: audio/song.m4a\n"             /* 10 */
	    "  both:\n"
	    "    title: d\n"
	    "    text: 你好\n"
	    "    audio: audio/ok.wav\n"               /* 14 */
	    "  neither:\n"                            /* 15 */
	    "    title: e\n"
	    "  voiced:\n"
	    "    title: f\n"
	    "    audio: audio/ok.wav\n"
	    "    voice: mandarin\n");                 /* 20 */
	load();
	EXPECT("s/a.yaml:4:12: error: cannot read audio file 'audio/missing.mp3': No such file or directory",
	       "s/a.yaml:7:12: error: audio 'audio/dir.wav' is not a regular file",
	       "s/a.yaml:10:12: error: audio 'audio/song.m4a' must be a .wav, .flac, .mp3 or .opus file",
	       "s/a.yaml:14:12: error: notice 'both' has both text and audio; give one of them",
	       "s/a.yaml:15:3: error: notice 'neither' needs text (spoken by a voice) or audio (a recording)",
	       "s/a.yaml:20:12: error: voice applies only to text notices");
	for (size_t i = 0; i < schedule_notice_count(s); i++)
		assert_false(schedule_notice(s, i)->valid);
}

static void unreadable_audio(void **state)
{
	put("fleet.yaml", fleet);
	assert_int_equal(mkdir("s/audio", 0755), 0);
	put("audio/secret.wav", "x");
	if (geteuid() != 0) {
		assert_int_equal(chmod("s/audio/secret.wav", 0), 0);
		put("a.yaml", "notices:\n  n:\n    title: a\n    audio: audio/secret.wav\n");
		load();
		EXPECT("s/a.yaml:4:12: error: cannot read audio file 'audio/secret.wav': Permission denied");
		return;
	}
	/* root reads any file; a path through a file fails for everyone */
	put("a.yaml", "notices:\n  n:\n    title: a\n    audio: audio/secret.wav/x.wav\n");
	load();
	EXPECT("s/a.yaml:4:12: error: cannot read audio file 'audio/secret.wav/x.wav': Not a directory");
}

static void notice_fields(void **state)
{
	put("fleet.yaml", fleet);
	put("a.yaml",
	    "notices:\n"
	    "  bad id:\n"                          /* 2 */
	    "    title: a\n"
	    "    text: b\n"
	    "  no-title:\n"                        /* 5 */
	    "    text: b\n"
	    "  empty:\n"
	    "    title: a\n"
	    "    text: \"\"\n"                     /* 9 */
	    "  voice:\n"
	    "    title: a\n"
	    "    text: b\n"
	    "    voice: ../etc\n"                  /* 13 */
	    "broadcasts:\n"
	    "  - id: b\n"
	    "    notice: empty\n"
	    "    at: \"07:30\"\n"
	    "    targets: all\n");
	load();
	EXPECT("s/a.yaml:2:3: error: notice id 'bad id' must be 1 to 64 of A-Z, a-z, 0-9, '-' and '_'",
	       "s/a.yaml:5:3: error: notice 'no-title' needs a title",
	       "s/a.yaml:9:11: error: text must not be empty",
	       "s/a.yaml:13:12: error: voice must name a profile in voices/, not '../etc'");
	/* The broadcast is fine, but its notice is not. */
	assert_false(schedule_broadcast(s, 0)->valid);
}

static void presence_profile(void **state)
{
	put("fleet.yaml",
	    "township: 掌政镇\n"
	    "area_code: \"640104100000\"\n"
	    "presence:\n"
	    "  \"06:00-08:00\": 0.7\n"
	    "  \"07:30-09:00\": 0.3\n"              /* 5: overlap */
	    "  \"12:00-14:00\": 1.5\n"              /* 6 */
	    "  \"6:00-8:00\": 0.1\n"                /* 7 */
	    "  \"14:00-14:00\": 0.1\n"              /* 8 */
	    "  \"22:00-02:00\": -0.1\n"             /* 9 */
	    "  \"23:00-01:00\": 0.2\n"              /* 10 ok, wraps */
	    "villages:\n"
	    "  - { code: \"640104100201\", name: a, nodes: [{ id: a, households: 1 }] }\n");
	load();
	EXPECT("s/fleet.yaml:5:3: error: presence range '07:30-09:00' overlaps '06:00-08:00'",
	       "s/fleet.yaml:6:18: error: presence share must be between 0 and 1, not 1.5",
	       "s/fleet.yaml:7:3: error: presence range must be \"HH:MM-HH:MM\", not '6:00-8:00'",
	       "s/fleet.yaml:8:3: error: presence range '14:00-14:00' is empty",
	       "s/fleet.yaml:9:18: error: presence share must be between 0 and 1, not -0.1");
	assert_true(schedule_presence_at(s, 0) == 0.2);
	assert_true(schedule_presence_at(s, 60) == 0.0);
}

static void quiet_hours(void **state)
{
	put("fleet.yaml",
	    "township: 掌政镇\n"
	    "area_code: \"640104100000\"\n"
	    "quiet_hours: [\"22:00-06:00\", \"22-06\", \"12:30-13:00\"]\n"   /* 3 */
	    "villages:\n"
	    "  - { code: \"640104100201\", name: a, nodes: [{ id: a, households: 1 }] }\n");
	put_broadcast("a.yaml",
		      "    at: [\"21:59\", \"23:00\", \"12:45\"]\n"        /* 9 */
		      "  - id: imp\n"
		      "    notice: hello\n"
		      "    targets: all\n"
		      "    priority: important\n"
		      "    at: \"05:00\"\n"                                /* 14 */
		      "  - id: ok\n"
		      "    notice: hello\n"
		      "    targets: all\n"
		      "    priority: important\n"
		      "    quiet_ok: true\n"
		      "    at: \"05:00\"\n"
		      "  - id: routine-ok\n"
		      "    notice: hello\n"
		      "    targets: all\n"
		      "    quiet_ok: true\n"                               /* 24 */
		      "    at: \"07:00\"\n");
	load();
	EXPECT("s/a.yaml:9:19: error: 23:00 is in quiet hours 22:00-06:00, where routine broadcasts may not play",
	       "s/a.yaml:9:28: error: 12:45 is in quiet hours 12:30-13:00, where routine broadcasts may not play",
	       "s/a.yaml:14:9: error: 05:00 is in quiet hours 22:00-06:00; an important broadcast may play there with quiet_ok: true",
	       "s/a.yaml:24:15: error: quiet_ok is allowed only with priority: important",
	       "s/fleet.yaml:3:30: error: quiet_hours must be \"HH:MM-HH:MM\" (e.g. \"22:00-06:00\"), not '22-06'");
	assert_true(schedule_broadcast(s, 2)->valid);
}

static void timezone_unknown(void **state)
{
	put("fleet.yaml",
	    "township: 掌政镇\n"
	    "area_code: \"640104100000\"\n"
	    "timezone: Asia/Shangai\n"
	    "villages:\n"
	    "  - { code: \"640104100201\", name: a, nodes: [{ id: a, households: 1 }] }\n");
	load();
	EXPECT("s/fleet.yaml:3:11: error: unknown time zone 'Asia/Shangai'");
	assert_string_equal(schedule_township(s)->timezone, "Asia/Shanghai");
}

/* Loading selects no zone (commands do, once); the zone alone is read
 * without the rest of the schedules, broken files or not. */
static void zone_not_selected(void **state)
{
	char *z;

	assert_int_equal(cx_tz_set("UTC"), 0);
	put("fleet.yaml",
	    "township: a\n"
	    "area_code: \"640104100000\"\n"
	    "timezone: Europe/Berlin\n"
	    "villages: 7\n");
	put("broken.yaml", "broadcasts: [\n");
	load();
	assert_string_equal(schedule_township(s)->timezone, "Europe/Berlin");
	assert_string_equal(cx_tz_selected(), "UTC");
	assert_string_equal(getenv("TZ"), "UTC");
	z = schedule_read_zone("s");
	assert_string_equal(z, "Europe/Berlin");
	free(z);
	assert_string_equal(cx_tz_selected(), "UTC");
	put("fleet.yaml", "timezone: Asia/Shangai\n");
	z = schedule_read_zone("s");
	assert_string_equal(z, "Asia/Shanghai");
	free(z);
	z = schedule_read_zone("no-such-dir");
	assert_string_equal(z, "Asia/Shanghai");
	free(z);
	put("fleet.yaml", "[not, a, map\n");
	z = schedule_read_zone("s");
	assert_string_equal(z, "Asia/Shanghai");
	free(z);
}

static void max_delay_format(void **state)
{
	put("fleet.yaml",
	    "township: 掌政镇\n"
	    "area_code: \"640104100000\"\n"
	    "max_delay: 10 min\n"
	    "villages:\n"
	    "  - { code: \"640104100201\", name: a, nodes: [{ id: a, households: 1 }] }\n");
	load();
	EXPECT("s/fleet.yaml:3:12: error: max_delay must be a duration such as 90s, 10m or 2h, not '10 min'");
	schedule_free(s);
	diag_free(d);
	put("fleet.yaml",
	    "township: 掌政镇\n"
	    "area_code: \"640104100000\"\n"
	    "max_delay: 7h\n"
	    "villages:\n"
	    "  - { code: \"640104100201\", name: a, nodes: [{ id: a, households: 1 }] }\n");
	load();
	EXPECT("s/fleet.yaml:3:12: error: max_delay must be at most 6h");
	schedule_free(s);
	diag_free(d);
	put("fleet.yaml",
	    "township: 掌政镇\n"
	    "area_code: \"640104100000\"\n"
	    "max_delay: 90s\n"
	    "villages:\n"
	    "  - { code: \"640104100201\", name: a, nodes: [{ id: a, households: 1 }] }\n");
	load();
	EXPECT(NULL);
	assert_int_equal(schedule_township(s)->max_delay_ms, 90000);
}

static void missing_required(void **state)
{
	put("fleet.yaml",
	    "area_code: \"640104100000\"\n"
	    "villages:\n"
	    "  - code: \"640104100201\"\n"       /* 3 */
	    "    nodes: []\n"                    /* 4 */
	    "  - name: x\n"                      /* 5 */
	    "    nodes: [{ id: y }]\n");         /* 6 */
	put("a.yaml",
	    "broadcasts:\n"
	    "  - notice: n\n");                  /* 2 */
	load();
	EXPECT("s/a.yaml:2:5: error: a broadcast needs an id",
	       "s/a.yaml:2:5: error: broadcast needs at: (a time \"HH:MM\" or a list of them)",
	       "s/a.yaml:2:5: error: broadcast needs targets (all, or villages:, tags:, nodes:)",
	       "s/a.yaml:2:13: error: unknown notice 'n'",
	       "s/fleet.yaml:1:1: error: missing key 'township' (the township's name)",
	       "s/fleet.yaml:3:5: error: a village needs a name",
	       "s/fleet.yaml:4:12: error: nodes must be a list of at least one node",
	       "s/fleet.yaml:5:5: error: a village needs a code (its 12-digit administrative code)",
	       "s/fleet.yaml:6:13: error: node 'y' needs households (households within earshot)");
}

static void missing_fleet(void **state)
{
	put("a.yaml", "notices: {}\n");
	load();
	EXPECT("s/fleet.yaml: error: cannot read: No such file or directory");
	schedule_free(s);
	diag_free(d);
	load_dir("nowhere");
	EXPECT("nowhere: error: cannot open schedules directory: No such file or directory",
	       "nowhere/fleet.yaml: error: cannot read: No such file or directory");
}

/* ---- the directory ------------------------------------------------------------- */

static void file_names_as_given(void **state)
{
	put("fleet.yaml", fleet);
	put("a.yaml", "notices: 3\n");
	load_dir("./s//");
	EXPECT("./s/a.yaml:1:10: error: notices must be a mapping of notice ids to notices");
	schedule_free(s);
	diag_free(d);
	assert_int_equal(chdir("s"), 0);
	load_dir(".");
	EXPECT("a.yaml:1:10: error: notices must be a mapping of notice ids to notices");
	schedule_free(s);
	diag_free(d);
	{
		char abs[128];

		snprintf(abs, sizeof(abs), "%s/s", top);
		load_dir(abs);
	}
	assert_int_equal(diag_errors(d), 1);
	assert_true(!strncmp(diag_get(d, 0), top, strlen(top)));
	assert_true(strstr(diag_get(d, 0), "/s/a.yaml:1:10: error:") != NULL);
}

static void skips_what_is_not_a_broadcast_file(void **state)
{
	put("fleet.yaml", fleet);
	assert_int_equal(mkdir("s/audio", 0755), 0);
	assert_int_equal(mkdir("s/voices", 0755), 0);
	assert_int_equal(mkdir("s/dir.yaml", 0755), 0);
	put("voices/mandarin.yaml", "name: mandarin\nengine: espeak-ng\nvoice: cmn\n");
	put("audio/x.yaml", "garbage: [\n");
	put(".#a.yaml", "garbage: [\n");
	put("notes.txt", "garbage: [\n");
	put("old.yml", "garbage: [\n");
	put("empty.yaml", "");
	load();
	EXPECT("s/old.yml: warning: ignored: only *.yaml files are read");
	assert_int_equal(diag_errors(d), 0);
}

static void reports_every_error(void **state)
{
	/* Errors in several files and several broadcasts all come out, sorted
	 * by file, line and column, and the good broadcasts stay valid. */
	put("fleet.yaml", fleet);
	put("b.yaml",
	    "broadcasts:\n"
	    "  - { id: b1, notice: n, at: \"07:00\", targets: all, volume: 0 }\n"
	    "  - { id: b2, notice: n, at: \"07:10\", targets: all }\n"
	    "  - { id: b3, notice: n, at: \"7:20\", targets: all }\n");
	put("a.yaml",
	    "notices:\n"
	    "  n: { title: t, text: x }\n"
	    "  unused: { title: t, text: x }\n"
	    "broadcasts:\n"
	    "  - { id: a1, notice: n, at: \"07:00\", targets: { nodes: [nobody] } }\n");
	load();
	EXPECT("s/a.yaml:3:3: warning: notice 'unused' is not used by any broadcast",
	       "s/a.yaml:5:58: error: unknown node 'nobody'",
	       "s/b.yaml:2:61: error: volume must be between 1 and 100, not 0",
	       "s/b.yaml:4:30: error: time must be \"HH:MM\" from 00:00 to 23:59, not '7:20'");
	assert_false(schedule_broadcast(s, 0)->valid);
	assert_false(schedule_broadcast(s, 1)->valid);
	assert_true(schedule_broadcast(s, 2)->valid);
	assert_false(schedule_broadcast(s, 3)->valid);
}

static void limits(void **state)
{
	char *big;
	size_t n = 0;

	put("fleet.yaml", fleet);
	big = malloc(64 * 1024);
	assert_non_null(big);
	n += (size_t)sprintf(big, "notices:\n  n: { title: t, text: x }\nbroadcasts:\n  - id: b\n"
			     "    notice: n\n    targets: all\n    at: [");
	for (int i = 0; i < SCHEDULE_MAX_AT + 1; i++)
		n += (size_t)sprintf(big + n, "%s\"%02d:%02d\"", i ? ", " : "", i / 60, i % 60);
	sprintf(big + n, "]\n");
	put("a.yaml", big);
	free(big);
	load();
	EXPECT("s/a.yaml:7:9: error: at lists 97 entries; at most 96 are allowed");
}

/* serve loads the schedules on its main thread and, for automatic
 * warnings, on another, both at an edit: two loads at once must each get
 * the whole fleet (the sorts they make once shared one context). */
enum { MT_VILLAGES = 20, MT_NODES = 40, MT_LOADS = 40 };

static void *load_repeatedly(void *arg)
{
	intptr_t bad = 0;

	(void)arg;
	for (int i = 0; i < MT_LOADS; i++) {
		struct diag *dd = diag_new();
		struct schedule *m = dd ? schedule_load("s", dd) : NULL;

		bad += !m || schedule_node_count(m) != MT_VILLAGES * MT_NODES || diag_get(dd, 0);
		schedule_free(m);
		diag_free(dd);
	}
	return (void *)bad;
}

static void loads_on_two_threads(void **state)
{
	FILE *f = fopen("s/fleet.yaml", "w");
	pthread_t t[2];
	void *bad[2];

	assert_non_null(f);
	fputs("township: 掌政镇\narea_code: \"640104100000\"\ntimezone: Asia/Shanghai\nvillages:\n", f);
	/* Villages and nodes written in reverse, so the sorts have work. */
	for (int v = MT_VILLAGES - 1; v >= 0; v--) {
		fprintf(f, "  - code: \"6401041002%02d\"\n    name: 村%d\n    nodes:\n", v, v);
		for (int n = MT_NODES - 1; n >= 0; n--)
			fprintf(f, "      - { id: v%02d-%02d, households: 10, tags: [t%d] }\n", v, n, n % 7);
	}
	fclose(f);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, load_repeatedly, NULL), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], &bad[i]), 0);
		assert_int_equal((intptr_t)bad[i], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(good_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(yaml_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_types, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_times, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_dates, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_references, setup, teardown),
		cmocka_unit_test_setup_teardown(echoed_text_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(node_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(value_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(area_and_village_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(area_code_format, setup, teardown),
		cmocka_unit_test_setup_teardown(county_area, setup, teardown),
		cmocka_unit_test_setup_teardown(audio_files, setup, teardown),
		cmocka_unit_test_setup_teardown(unreadable_audio, setup, teardown),
		cmocka_unit_test_setup_teardown(notice_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(presence_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(quiet_hours, setup, teardown),
		cmocka_unit_test_setup_teardown(timezone_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(zone_not_selected, setup, teardown),
		cmocka_unit_test_setup_teardown(max_delay_format, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_required, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_fleet, setup, teardown),
		cmocka_unit_test_setup_teardown(file_names_as_given, setup, teardown),
		cmocka_unit_test_setup_teardown(skips_what_is_not_a_broadcast_file, setup, teardown),
		cmocka_unit_test_setup_teardown(reports_every_error, setup, teardown),
		cmocka_unit_test_setup_teardown(limits, setup, teardown),
		cmocka_unit_test_setup_teardown(loads_on_two_threads, setup, teardown),
	};

	if (!getcwd(home, sizeof(home)))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
