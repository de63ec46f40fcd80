/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_tts.c -- voice profiles, lexicons, rendering, the render cache, reproducibility */
#define _GNU_SOURCE /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"

#include "asset.h"
#include "diag.h"
#include "encode.h"
#include "tts.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <opusfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every test runs in a fresh directory with its profiles in "v", so
 * diagnostics read "v/FILE:LINE:COL". */
static char top[64], home[4096];
static struct diag *d;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "v/%s", name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	strcpy(top, "/tmp/cx-test-tts.XXXXXX");
	assert_non_null(mkdtemp(top));
	assert_int_equal(chdir(top), 0);
	assert_int_equal(mkdir("v", 0755), 0);
	assert_int_equal(mkdir("v/lexicon", 0755), 0);
	put("plain.yaml", "name: plain\nengine: espeak-ng\nvoice: cmn-latn-pinyin\n");
	put("fast.yaml", "name: fast\nengine: espeak-ng\nvoice: cmn-latn-pinyin\nrate: 400\n");
	put("lex.yaml", "name: lex\nengine: espeak-ng\nvoice: cmn-latn-pinyin\n"
			"lexicon: lexicon/lex.txt\n");
	put("lexicon/lex.txt", "# test lexicon\r\n"
			       "六\t一\n"
			       "\n"
			       "六安\t北京   \n"
			       "   \n"
			       "ZZ\t[[l'u51]]\n");
	tts_set_jobs(0);
	d = diag_new();
	assert_non_null(d);
	return 0;
}

static int teardown(void **state)
{
	diag_free(d);
	d = NULL;
	unsetenv("CUNXIANG_VOICES");
	assert_int_equal(chdir(home), 0);
	nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* The diagnostics must be exactly WANT (NULL-terminated), in any order. */
static void expect(const char *const *want)
{
	size_t n = 0, got = 0;

	while (diag_get(d, got))
		got++;
	for (; want[n]; n++) {
		bool found = false;

		for (size_t i = 0; i < got && !found; i++)
			found = !strcmp(diag_get(d, i), want[n]);
		if (!found) {
			for (size_t i = 0; i < got; i++)
				fprintf(stderr, "  got: %s\n", diag_get(d, i));
			fail_msg("missing diagnostic: %s", want[n]);
		}
	}
	if (got != n) {
		for (size_t i = 0; i < got; i++)
			fprintf(stderr, "  got: %s\n", diag_get(d, i));
		fail_msg("%zu diagnostics, want %zu", got, n);
	}
}

#define EXPECT(...) expect((const char *const[]){ __VA_ARGS__, NULL })

static struct voice *load(const char *name)
{
	struct voice *v = voice_load("v", name, d);

	if (!v) {
		diag_print(d, stderr);
		fail_msg("voice '%s' did not load", name);
	}
	return v;
}

static void render(const struct voice *v, const char *text, unsigned char **buf, size_t *len)
{
	char err[256] = "";
	int64_t ms = 0, ms2 = 0;

	if (tts_render(v, text, buf, len, &ms, err, sizeof(err)) != 0)
		fail_msg("tts_render '%s': %s", text, err);
	assert_int_equal(asset_duration_mem(*buf, *len, &ms2), 0);
	assert_int_equal(ms, ms2);
	assert_true(ms > 100);
}

/* TEXT spoken by V, decoded to 48 kHz float: the sound itself. (op_read()
 * would dither, seeded by the Ogg serial number, which depends on the
 * profile: the same sound in two assets would not compare equal.) */
static size_t pcm_of(const struct voice *v, const char *text, float **out)
{
	unsigned char *buf;
	size_t len, n = 0, cap = 48000;
	float *pcm = malloc(cap * sizeof(*pcm));
	OggOpusFile *of;
	int k;

	render(v, text, &buf, &len);
	of = op_open_memory(buf, len, NULL);
	assert_non_null(of);
	for (;;) {
		if (n + 5760 > cap) {
			cap *= 2;
			pcm = realloc(pcm, cap * sizeof(*pcm));
			assert_non_null(pcm);
		}
		k = op_read_float(of, pcm + n, 5760, NULL);
		assert_true(k >= 0);
		if (k == 0)
			break;
		n += (size_t)k;
	}
	op_free(of);
	free(buf);
	*out = pcm;
	return n;
}

static bool same_speech(const struct voice *a, const char *ta, const struct voice *b, const char *tb)
{
	float *x, *y;
	size_t nx = pcm_of(a, ta, &x), ny = pcm_of(b, tb, &y);
	bool same = nx == ny && !memcmp(x, y, nx * sizeof(*x));

	free(x);
	free(y);
	return same;
}

static size_t count_entries(const char *dir)
{
	DIR *dd = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!dd)
		return 0;
	while ((e = readdir(dd)))
		n += e->d_name[0] != '.';
	closedir(dd);
	return n;
}

/* ---- profiles --------------------------------------------------------- */

static void profile_ok(void **state)
{
	struct voice *v;
	char want[4200];

	assert_int_equal(mkdir("v/chimes", 0755), 0);
	put("chimes/ding.wav", "not checked here: compile encodes it");
	put("full.yaml", "# a comment\n"
			 "name: full\n"
			 "engine: espeak-ng\n"
			 "voice: yue\n"
			 "variant: f2\n"
			 "rate: 80\n"
			 "pitch: 0\n"
			 "chime: chimes/ding.wav\n"
			 "lexicon: lexicon/lex.txt\n");
	v = load("full");
	expect((const char *const[]){ NULL });
	assert_string_equal(voice_name(v), "full");
	snprintf(want, sizeof(want), "%s/v/chimes/ding.wav", top);
	assert_string_equal(voice_chime(v), want);
	voice_free(v);

	v = load("plain");
	assert_null(voice_chime(v));
	voice_free(v);
	voice_free(NULL);
	assert_non_null(tts_engine_version());
}

static void profile_errors(void **state)
{
	put("bad.yaml", "name: bad\n"                 /* 1 */
			"engine: espeak-ng\n"         /* 2 */
			"voice: xx-nosuch\n"          /* 3 */
			"rate: 500\n"                 /* 4 */
			"pitch: 50\n"                 /* 5 */
			"chime: chimes/nope.wav\n"    /* 6 */
			"colour: red\n");             /* 7 */
	assert_null(voice_load("v", "bad", d));
	EXPECT("v/bad.yaml:3:8: error: unknown espeak-ng voice 'xx-nosuch' (see `espeak-ng --voices`)",
	       "v/bad.yaml:4:7: error: rate must be between 80 and 450, not 500",
	       "v/bad.yaml:6:8: error: chime file 'chimes/nope.wav' does not exist",
	       "v/bad.yaml:7:1: error: unknown key 'colour' in voice profile");
}

static void profile_values(void **state)
{
	put("odd.yaml", "name: other\n"               /* 1 */
			"engine: festival\n"          /* 2 */
			"voice: cmn-latn-pinyin\n"    /* 3 */
			"variant: nosuch\n"           /* 4 */
			"rate: fast\n"                /* 5 */
			"pitch: 101\n"                /* 6 */
			"lexicon: lexicon/none.txt\n" /* 7 */
			"rate: 100\n");               /* 8 */
	assert_null(voice_load("v", "odd", d));
	EXPECT("v/odd.yaml:1:7: error: name 'other' does not match the file name 'odd.yaml'",
	       "v/odd.yaml:2:9: error: engine must be espeak-ng, not 'festival'",
	       "v/odd.yaml:4:10: error: unknown espeak-ng variant 'nosuch' (see `espeak-ng --voices=variant`)",
	       "v/odd.yaml:5:7: error: rate must be a whole number from 80 to 450",
	       "v/odd.yaml:6:8: error: pitch must be between 0 and 100, not 101",
	       "v/odd.yaml:7:10: error: lexicon file 'lexicon/none.txt' does not exist",
	       "v/odd.yaml:8:1: error: duplicate key 'rate' in voice profile");
}

static void profile_missing(void **state)
{
	assert_null(voice_load("v", "nosuch", d));
	EXPECT("v/nosuch.yaml: error: no voice profile 'nosuch' in v; available: fast, lex, plain");
	diag_free(d);
	d = diag_new();
	assert_null(voice_load("v", "../etc", d));
	EXPECT("v: error: '../etc' is not a voice name (a-z, 0-9, '-', '_')");
	diag_free(d);
	d = diag_new();
	put("empty.yaml", "");
	put("list.yaml", "- name\n");
	put("novoice.yaml", "name: novoice\nengine: espeak-ng\n");
	assert_null(voice_load("v", "empty", d));
	assert_null(voice_load("v", "list", d));
	assert_null(voice_load("v", "novoice", d));
	EXPECT("v/empty.yaml:1:1: error: the profile is empty; it needs name, engine and voice",
	       "v/list.yaml:1:1: error: a voice profile must be a mapping of keys",
	       "v/novoice.yaml:1:1: error: missing key 'voice'");
}

static void lexicon_errors(void **state)
{
	put("bad.yaml", "name: bad\nengine: espeak-ng\nvoice: cmn-latn-pinyin\nlexicon: lexicon/bad.txt\n");
	put("lexicon/bad.txt", "# comment\n"          /* 1 */
			       "六安\t路安\n"         /* 2 */
			       "no tab here\n"        /* 3 */
			       "\tleading tab\n"      /* 4 */
			       "空\t \n"              /* 5 */
			       "a\tb\tc\n"            /* 6 */
			       "x[[y\tz\n"            /* 7 */
			       "村\t[[tsh'u@55n\n"    /* 8 */
			       "六安\t陆安\n"         /* 9 */
			       "好\xff\tx\n"          /* 10 */
			       "ok\tfine");           /* 11, no final newline */
	assert_null(voice_load("v", "bad", d));
	EXPECT("v/lexicon/bad.txt:3:1: error: expected WORD, a tab, and its REPLACEMENT",
	       "v/lexicon/bad.txt:4:1: error: empty WORD before the tab",
	       "v/lexicon/bad.txt:5:3: error: empty REPLACEMENT for '空'",
	       "v/lexicon/bad.txt:6:4: error: a second tab; REPLACEMENT is the rest of the line",
	       "v/lexicon/bad.txt:7:2: error: '[[' cannot be part of a WORD",
	       "v/lexicon/bad.txt:8:3: error: '[[' without a closing ']]'",
	       "v/lexicon/bad.txt:9:1: error: duplicate WORD '六安' (first on line 2)",
	       "v/lexicon/bad.txt:10:2: error: not valid UTF-8");
}

/* Comments, blank lines, CRLF and trailing blanks are fine; an empty
 * lexicon is a lexicon with no entries. */
static void lexicon_ok(void **state)
{
	struct voice *v = load("lex");

	voice_free(v);
	put("lexicon/empty.txt", "# nothing yet\n\n");
	put("e.yaml", "name: e\nengine: espeak-ng\nvoice: cmn-latn-pinyin\nlexicon: lexicon/empty.txt\n");
	v = load("e");
	expect((const char *const[]){ NULL });
	voice_free(v);
}

/* Every occurrence is replaced, the longest WORD winning where several
 * start at the same place; the result is exactly what the replacement
 * text sounds like without a lexicon. */
static void lexicon_replaces(void **state)
{
	struct voice *plain = load("plain"), *lex = load("lex");

	/* The texts sound different, so the tests below mean something. */
	assert_false(same_speech(plain, "六安", plain, "北京"));
	assert_true(same_speech(lex, "六安", plain, "北京"));
	assert_true(same_speech(lex, "六", plain, "一"));
	assert_true(same_speech(lex, "六合", plain, "一合"));
	assert_true(same_speech(lex, "去六安，六安六。", plain, "去北京，北京一。"));
	/* Phonemes in [[ ]] come only from the lexicon: typed into a notice,
	 * they are read as text. */
	assert_false(same_speech(lex, "ZZ", plain, "[[l'u51]]"));
	assert_true(same_speech(plain, "[[l'u51]]", plain, "[ [l'u51]]"));
	voice_free(plain);
	voice_free(lex);
}

/* ---- rendering -------------------------------------------------------- */

static void bad_text(void **state)
{
	static const struct { const char *text, *why; } cases[] = {
		{ "", "the text is empty" },
		{ " \t\r\n ", "the text is empty" },
		{ "\xff", "the text is not valid UTF-8 (byte 1)" },
		{ "各位\xc0\xaf", "the text is not valid UTF-8 (byte 7)" },  /* overlong '/' */
		{ "ab\xed\xa0\x80", "the text is not valid UTF-8 (byte 3)" }, /* surrogate */
		{ "村民\xe4\xb8", "the text is not valid UTF-8 (byte 7)" },   /* cut short */
	};
	struct voice *v = load("plain");
	unsigned char *buf = NULL;
	size_t len = 0;
	char err[256], sha[CX_SHA256_HEX];
	char *big;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(tts_render(v, cases[i].text, &buf, &len, NULL, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, cases[i].why);
		err[0] = '\0';
		assert_int_equal(tts_asset(v, cases[i].text, "assets", "renders", sha, NULL, err,
					   sizeof(err)), -EINVAL);
		assert_string_equal(err, cases[i].why);
	}
	big = malloc(TTS_MAX_TEXT_BYTES + 2);
	assert_non_null(big);
	memset(big, 'a', TTS_MAX_TEXT_BYTES + 1);
	big[TTS_MAX_TEXT_BYTES + 1] = '\0';
	assert_int_equal(tts_render(v, big, &buf, &len, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "the text is longer than 65536 bytes");
	free(big);
	assert_null(buf);
	/* Nothing was stored or cached. */
	assert_int_equal(count_entries("assets"), 0);
	assert_int_equal(count_entries("renders"), 0);
	/* ERR may be NULL. */
	assert_int_equal(tts_render(v, "", &buf, &len, NULL, NULL, 0), -EINVAL);
	voice_free(v);
}

/* A notice long enough to be cut into parts (each a link of a chained
 * stream) comes out byte for byte the same whatever the number of
 * workers and whatever the process rendered before. */
static void reproducible(void **state)
{
	static const char sentence[] = "各位村民请注意，今天下午三点在村委会开会。";
	struct voice *v = load("fast");
	unsigned char *a, *b, *c, *x;
	size_t la, lb, lc, lx;
	char text[2048] = "";
	OggOpusFile *of;

	for (int i = 0; i < 19; i++)
		strcat(text, sentence);
	tts_set_jobs(1);
	render(v, text, &a, &la);
	of = op_open_memory(a, la, NULL);
	assert_non_null(of);
	assert_true(op_link_count(of) >= 2);
	op_free(of);

	tts_set_jobs(2);
	render(v, text, &b, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);

	/* espeak-ng keeps state between syntheses; none of it may leak into
	 * the next notice. */
	tts_set_jobs(1);
	render(v, "村委会。", &x, &lx);
	render(v, text, &c, &lc);
	assert_int_equal(la, lc);
	assert_memory_equal(a, c, la);
	free(x);
	free(c);
	render(v, "村委会。", &x, &lx);
	render(v, "村委会。", &c, &lc);
	assert_int_equal(lx, lc);
	assert_memory_equal(x, c, lx);
	free(a);
	free(b);
	free(c);
	free(x);
	voice_free(v);
}

/* tts_asset stores what tts_render renders; a second call is answered by
 * the render cache (proven by pointing the entry at another asset). */
static void render_cache(void **state)
{
	struct voice *v = load("plain");
	char s1[CX_SHA256_HEX], s2[CX_SHA256_HEX], got[CX_SHA256_HEX], err[256] = "";
	char entry[512] = "", line[CX_SHA256_HEX + 1], name[CX_SHA256_HEX + 5], path[256];
	unsigned char *buf;
	size_t len;
	int64_t ms = 0, ms2 = 0;
	DIR *dd;
	struct dirent *e;
	FILE *f;

	assert_int_equal(tts_asset(v, "村民请注意。", "assets", "renders", s1, &ms, err, sizeof(err)), 0);
	render(v, "村民请注意。", &buf, &len);
	cx_sha256_hex(buf, len, got);
	assert_string_equal(got, s1);
	free(buf);
	asset_filename(s1, name);
	snprintf(path, sizeof(path), "assets/%s", name);
	assert_int_equal(asset_verify_file(path, s1), 0);
	assert_int_equal(asset_duration_file(path, &ms2), 0);
	assert_int_equal(ms, ms2);
	assert_int_equal(count_entries("renders"), 1);
	dd = opendir("renders");
	assert_non_null(dd);
	while ((e = readdir(dd)))
		if (e->d_name[0] != '.')
			snprintf(entry, sizeof(entry), "renders/%s", e->d_name);
	closedir(dd);

	/* Another text, stored without a cache. */
	assert_int_equal(tts_asset(v, "开会。", "assets", NULL, s2, &ms2, err, sizeof(err)), 0);
	assert_string_not_equal(s1, s2);
	assert_int_equal(count_entries("renders"), 1);

	snprintf(line, sizeof(line), "%s\n", s2);
	f = fopen(entry, "w");
	assert_non_null(f);
	fputs(line, f);
	fclose(f);
	ms = 0;
	assert_int_equal(tts_asset(v, "村民请注意。", "assets", "renders", got, &ms, err, sizeof(err)), 0);
	assert_string_equal(got, s2);
	assert_int_equal(ms, ms2);

	/* Gone from the store: rendered again, and the entry repaired. */
	asset_filename(s2, name);
	snprintf(path, sizeof(path), "assets/%s", name);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(tts_asset(v, "村民请注意。", "assets", "renders", got, NULL, err, sizeof(err)), 0);
	assert_string_equal(got, s1);
	assert_int_equal(count_entries("renders"), 1);
	voice_free(v);

	/* The key is the effective profile, not its wording: comments and key
	 * order do not matter; the rate and the lexicon's bytes do. */
	put("same.yaml", "# the plain voice, written differently\n"
			 "voice: cmn-latn-pinyin\nname: same\nengine: espeak-ng\npitch: 50\nrate: 175\n");
	v = load("same");
	assert_int_equal(tts_asset(v, "村民请注意。", "assets", "renders", got, NULL, err, sizeof(err)), 0);
	assert_string_equal(got, s1);
	assert_int_equal(count_entries("renders"), 1);
	voice_free(v);
	v = load("lex");
	assert_int_equal(tts_asset(v, "村民请注意。", "assets", "renders", got, NULL, err, sizeof(err)), 0);
	assert_int_equal(count_entries("renders"), 2);
	voice_free(v);
	put("lexicon/lex.txt", "六\t一\n");
	v = load("lex");
	assert_int_equal(tts_asset(v, "村民请注意。", "assets", "renders", got, NULL, err, sizeof(err)), 0);
	assert_int_equal(count_entries("renders"), 3);
	voice_free(v);
}

/* ---- the voices directory and the profiles shipped in voices/ --------- */

static void voices_dir(void **state)
{
	char *p, want[4200];
	struct stat st;

	p = voices_dir_find("opt", "conf", "sched");
	assert_string_equal(p, "opt");
	free(p);
	p = voices_dir_find(NULL, "conf", "sched");
	assert_string_equal(p, "conf");
	free(p);
	/* A schedules directory counts only when it has voices/ in it. */
	assert_int_equal(mkdir("sched", 0755), 0);
	setenv("CUNXIANG_VOICES", "from-env", 1);
	p = voices_dir_find(NULL, NULL, "sched");
	assert_string_equal(p, "from-env");
	free(p);
	assert_int_equal(mkdir("sched/voices", 0755), 0);
	p = voices_dir_find("", "", "sched");
	assert_string_equal(p, "sched/voices");
	free(p);
	unsetenv("CUNXIANG_VOICES");
	/* This test runs from the build tree: the source tree's voices/, unless
	 * an installed copy comes first. */
	p = voices_dir_find(NULL, NULL, NULL);
	assert_non_null(p);
	snprintf(want, sizeof(want), "%s/cunxiang/voices", CX_DATADIR);
	if (stat(want, &st) != 0)
		snprintf(want, sizeof(want), "%s/voices", CX_SOURCE_ROOT);
	assert_string_equal(p, want);
	free(p);
}

static void shipped_voices(void **state)
{
	static const char *const names[] = { "mandarin", "cantonese", "hakka" };
	const char *root = getenv("CX_SOURCE_ROOT");
	char dir[4200], sha[CX_SHA256_HEX], err[512] = "";
	struct voice *v;
	int64_t ms = 0;

	snprintf(dir, sizeof(dir), "%s/voices", root ? root : CX_SOURCE_ROOT);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = voice_load(dir, names[i], d);
		if (!v) {
			diag_print(d, stderr);
			fail_msg("voices/%s.yaml does not load", names[i]);
		}
		assert_non_null(voice_chime(v));
		assert_non_null(strstr(voice_chime(v), "/voices/chimes/ding-dong.wav"));
		voice_free(v);
	}
	expect((const char *const[]){ NULL });

	/* The chime is a short mono recording the encoder takes. */
	snprintf(dir, sizeof(dir), "%s/voices/chimes/ding-dong.wav", root ? root : CX_SOURCE_ROOT);
	if (enc_file_asset(dir, ENC_DEFAULT_BITRATE, "assets", NULL, sha, &ms, err, sizeof(err)))
		fail_msg("%s", err);
	assert_in_range(ms, 1000, 1500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(profile_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(profile_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(profile_values, setup, teardown),
		cmocka_unit_test_setup_teardown(profile_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(lexicon_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(lexicon_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(lexicon_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_text, setup, teardown),
		cmocka_unit_test_setup_teardown(reproducible, setup, teardown),
		cmocka_unit_test_setup_teardown(render_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(voices_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(shipped_voices, setup, teardown),
	};
	int r;

	if (!getcwd(home, sizeof(home)))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	tts_shutdown();
	return r;
}
