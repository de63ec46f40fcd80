/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_player.c -- the ALSA playout thread against real ALSA `file` PCMs */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <opus/opusenc.h>

#include "asset.h"
#include "cxtime.h"
#include "log.h"
#include "player.h"

#define SYS_ALSA_CONF "/usr/share/alsa/alsa.conf"

static char dir[64];
static char conf[128];

struct ref {
	char path[128];
	int16_t *pcm;
	int n;
};

static struct ref ra, rb, rlong;
static char bad_path[128], missing_path[128];

/* --- fixtures ---------------------------------------------------------------- */

/* The PCMs: one file PCM per test so outputs do not mix. */
static const char *const pcms[] = {
	"warm", "exact", "gain", "seq", "preempt", "stop", "corrupt", "amp", "late", "live",
	"kinds",
};

static void write_conf(bool with_later)
{
	char tmp[160], line[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", conf);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fprintf(f, "<%s>\n", SYS_ALSA_CONF);
	for (size_t k = 0; k < sizeof(pcms) / sizeof(pcms[0]); k++) {
		snprintf(line, sizeof(line),
			 "pcm.cx_%s { type file slave.pcm \"null\" file \"%s/%s.raw\" format \"raw\" }\n",
			 pcms[k], dir, pcms[k]);
		fputs(line, f);
	}
	/* A device that refuses mono: a multi with exactly two channels. */
	fprintf(f, "pcm.cx_stereo_file { type file slave.pcm \"null\" file \"%s/stereo.raw\" format \"raw\" }\n"
		   "pcm.cx_stereo { type multi slaves.a { pcm \"cx_stereo_file\" channels 2 }"
		   " bindings.0 { slave a channel 0 } bindings.1 { slave a channel 1 } }\n", dir);
	if (with_later)
		fprintf(f, "pcm.cx_later { type file slave.pcm \"null\" file \"%s/later.raw\" format \"raw\" }\n",
			dir);
	fclose(f);
	/* A new inode, so ALSA sees the change whatever the mtime granularity. */
	assert_int_equal(rename(tmp, conf), 0);
}

static void make_asset(struct ref *r, const char *name, double seconds, double hz, unsigned seed)
{
	OggOpusComments *com = ope_comments_create();
	OggOpusEnc *enc;
	int n = (int)(seconds * 48000), err = 0, got = 0, cap;
	int16_t *pcm = malloc((size_t)n * sizeof(*pcm));
	struct asset_dec *d;

	assert_non_null(com);
	assert_non_null(pcm);
	/* Loud from the first sample: a tone plus some noise. */
	for (int k = 0; k < n; k++) {
		seed = seed * 1103515245u + 12345u;
		pcm[k] = (int16_t)(12000 * sin(2 * M_PI * hz * k / 48000) +
				   (int)((seed >> 16) % 2001) - 1000);
	}
	snprintf(r->path, sizeof(r->path), "%s/%s.opus", dir, name);
	enc = ope_encoder_create_file(r->path, com, 48000, 1, 0, &err);
	assert_non_null(enc);
	assert_int_equal(ope_encoder_write(enc, pcm, n), OPE_OK);
	assert_int_equal(ope_encoder_drain(enc), OPE_OK);
	ope_encoder_destroy(enc);
	ope_comments_destroy(com);
	free(pcm);

	/* The reference is what the decoder makes of it. */
	cap = n + 48000;
	r->pcm = malloc((size_t)cap * sizeof(int16_t));
	assert_non_null(r->pcm);
	d = asset_dec_open(r->path);
	assert_non_null(d);
	for (;;) {
		int k = asset_dec_read(d, r->pcm + got, cap - got < 960 ? cap - got : 960);

		assert_true(k >= 0);
		if (k == 0)
			break;
		got += k;
	}
	asset_dec_close(d);
	r->n = got;
	assert_true(got > n / 2);
}

static int group_setup(void **state)
{
	FILE *f;

	(void)state;
	cx_log_init("test_player");
	if (access(SYS_ALSA_CONF, R_OK) != 0) {
		fprintf(stderr, "skip: no %s\n", SYS_ALSA_CONF);
		exit(77);
	}
	snprintf(dir, sizeof(dir), "/tmp/cx-player-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/asound.conf", dir);
	write_conf(false);
	/* Before the first ALSA call of the process. */
	setenv("ALSA_CONFIG_PATH", conf, 1);

	make_asset(&ra, "a", 0.5, 440, 1);
	make_asset(&rb, "b", 0.4, 660, 2);
	make_asset(&rlong, "long", 3.0, 330, 3);
	snprintf(bad_path, sizeof(bad_path), "%s/bad.opus", dir);
	f = fopen(bad_path, "w");
	assert_non_null(f);
	for (int k = 0; k < 4000; k++)
		fputc((k * 7919) & 0xff, f);
	fclose(f);
	snprintf(missing_path, sizeof(missing_path), "%s/missing.opus", dir);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	free(ra.pcm);
	free(rb.pcm);
	free(rlong.pcm);
	if (!getenv("CX_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return 0;
}

/* --- helpers ----------------------------------------------------------------- */

static struct player *new_player(const char *dev, int idle_close_ms)
{
	struct player_cfg cfg = {
		.device = dev,
		.buffer_ms = 100,
		.warmup_ms = 0,
		.idle_close_ms = idle_close_ms,
	};
	struct player *p = player_new(&cfg);

	assert_non_null(p);
	return p;
}

static int wait_ev(struct player *p, struct player_ev *ev, int timeout_ms)
{
	int64_t end = cx_mono_us() + (int64_t)timeout_ms * 1000;

	for (;;) {
		struct pollfd pfd = { .fd = player_fd(p), .events = POLLIN };
		int64_t left;

		if (player_next_event(p, ev))
			return 0;
		left = end - cx_mono_us();
		if (left <= 0)
			return -ETIMEDOUT;
		poll(&pfd, 1, (int)(left / 1000) + 1);
	}
}

static void expect_ev(struct player *p, enum player_ev_type type, uint64_t token,
		      int timeout_ms, struct player_ev *ev)
{
	assert_int_equal(wait_ev(p, ev, timeout_ms), 0);
	if (ev->type != type || ev->token != token)
		fail_msg("expected event %d for %llu, got %d for %llu (%s)", type,
			 (unsigned long long)token, ev->type, (unsigned long long)ev->token,
			 ev->reason);
}

static int play(struct player *p, uint64_t token, int64_t start_us, int volume,
		const char *const *paths, size_t n)
{
	struct player_item it = {
		.token = token,
		.start_us = start_us,
		.volume = volume,
		.npaths = n,
		.paths = paths,
	};

	return player_start(p, &it);
}

/* The process's first PCM reads ALSA's configuration and plugins, and the
 * first asset its pages, from disk. On a busy machine with a cold cache that
 * took 100-350 ms: done once before the timed tests, so the test measures
 * the player, not the disk. */
static void warm_up(void)
{
	static bool done;
	const char *paths[] = { ra.path };
	struct player *p;
	struct player_ev ev;

	if (done)
		return;
	done = true;
	p = new_player("cx_warm", 0);
	assert_int_equal(play(p, 1, cx_mono_us(), 100, paths, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 1, 5000, &ev);
	expect_ev(p, PLAYER_EV_DONE, 1, 5000, &ev);
	player_free(p);
}

static int16_t *read_raw(const char *name, int *n)
{
	char path[160];
	struct stat st;
	int16_t *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.raw", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc((size_t)st.st_size + 2);
	assert_non_null(buf);
	*n = (int)fread(buf, sizeof(int16_t), (size_t)st.st_size / 2, f);
	fclose(f);
	return buf;
}

static int expected(const int16_t *ref, int k, int vol)
{
	double g = (vol / 100.0) * (vol / 100.0);

	return (int)lrint(ref[k] * g);
}

/* Offset in OUT where REF (at volume VOL, within TOL) starts, or -1. */
static int find(const int16_t *out, int nout, int stride, int ch, const int16_t *ref,
		int nref, int vol, int tol)
{
	for (int off = 0; off + nref <= nout / stride; off++) {
		int k;

		for (k = 0; k < nref; k++)
			if (abs(out[(off + k) * stride + ch] - expected(ref, k, vol)) > tol)
				break;
		if (k == nref)
			return off;
	}
	return -1;
}

static void assert_silent(const int16_t *s, int from, int to)
{
	for (int k = from; k < to; k++)
		if (s[k] != 0)
			fail_msg("sample %d is %d, expected silence", k, s[k]);
}

/* Anonymous resident memory: what the process allocated, without the
 * shared libraries' pages (the test links more of them than the node). */
static long rss_anon_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A bound on a measured latency (the player thread's reaction). Under CPU
 * emulation (CX_EMULATED: a cross build's tests under qemu-user) each
 * instruction costs several times more and the bound is 5x; the native suite
 * keeps the real bound. */
static int64_t latency_bound_us(int64_t us)
{
	const char *e = getenv("CX_EMULATED");

	if (e && *e) {
		print_message("under emulation: bound %lld us\n", (long long)us * 5);
		return us * 5;
	}
	return us;
}

/* --- tests ------------------------------------------------------------------- */

/* Volume 100 is the decoded asset, bit for bit, after leading silence. */
static void test_exact(void **state)
{
	const char *paths[] = { ra.path };
	struct player *p = new_player("cx_exact", 0);
	struct player_stats st;
	struct player_ev ev;
	struct pollfd pfd;
	int64_t start;
	int16_t *out;
	int n, off;

	(void)state;
	warm_up();
	start = cx_mono_us() + 300000;
	assert_int_equal(play(p, 11, start, 100, paths, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 11, 2000, &ev);
	printf("start error %lld us\n", (long long)ev.start_error_us);
	/* The file PCM is fed in real time by the delay model: the predicted
	 * start is the planned one. */
	assert_true(llabs(ev.start_error_us) < 1000);
	assert_true(llabs(ev.started_us - start) < 1000);
	player_get_stats(p, &st);
	assert_true(st.playing);
	assert_true(st.pcm_open);
	assert_false(st.fault);
	expect_ev(p, PLAYER_EV_DONE, 11, 3000, &ev);
	assert_int_equal(ev.played_ms, ra.n * 1000 / 48000);
	/* Nothing pending: the descriptor is quiet again. */
	pfd.fd = player_fd(p);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(player_next_event(p, &ev), 0);
	player_get_stats(p, &st);
	assert_int_equal(st.xruns, 0);
	assert_false(st.playing);

	out = read_raw("exact", &n);
	off = find(out, n, 1, 0, ra.pcm, ra.n, 100, 0);
	assert_true(off >= 0);
	/* Silence before it was queued from ~400 ms ahead; none after it. */
	assert_true(off > 48000 / 10);
	assert_silent(out, 0, off);
	assert_silent(out, off + ra.n, n);
	free(out);
	player_free(p);
}

/* A live source: pulled on the thread, never ahead of the start, each read
 * with the instant its first sample leaves; released once. */
struct fake_live {
	int reads, released;
	int64_t first_play_us, last_play_us;
	int next;
};

static int fake_read(void *ud, int16_t *pcm, int max, int64_t play_us, char *err, size_t errlen)
{
	struct fake_live *f = ud;
	int n = max < 960 ? max : 960;

	(void)err;
	(void)errlen;
	if (f->reads++ == 0)
		f->first_play_us = play_us;
	else if (play_us < f->last_play_us)
		return -EINVAL;
	f->last_play_us = play_us;
	if (f->next >= 20 * 960)
		return 0;
	for (int k = 0; k < n; k++)
		pcm[k] = (int16_t)(1 + (f->next + k) % 30000);
	f->next += n;
	return n;
}

static void fake_release(void *ud)
{
	((struct fake_live *)ud)->released++;
}

static void test_live_source(void **state)
{
	struct player *p = new_player("cx_live", 0);
	struct fake_live fl = { 0 };
	struct player_live src = { .read = fake_read, .release = fake_release, .ud = &fl };
	struct player_item it = { .token = 5, .volume = 100, .live = &src };
	const char *paths[] = { ra.path };
	struct player_ev ev;
	int16_t *out;
	int n, off;

	(void)state;
	it.start_us = cx_mono_us() + 300000;
	assert_int_equal(player_start(p, &it), 0);
	expect_ev(p, PLAYER_EV_STARTED, 5, 2000, &ev);
	expect_ev(p, PLAYER_EV_DONE, 5, 3000, &ev);
	assert_int_equal(ev.played_ms, 400);
	assert_int_equal(fl.released, 1);
	/* Not read ahead: the first read is for the start instant. */
	assert_true(llabs(fl.first_play_us - it.start_us) < 1000);
	out = read_raw("live", &n);
	for (off = 0; off < n && out[off] == 0; off++)
		;
	assert_true(off + 20 * 960 <= n);
	for (int k = 0; k < 20 * 960; k++)
		assert_int_equal(out[off + k], 1 + k % 30000);
	free(out);
	/* A live source with paths too is refused, and still released. */
	it.paths = paths;
	it.npaths = 1;
	assert_int_equal(player_start(p, &it), -EINVAL);
	assert_int_equal(fl.released, 2);
	player_free(p);
}

/* Volume 50: square law, gain 0.25, rounded. */
static void test_gain(void **state)
{
	const char *paths[] = { ra.path };
	struct player *p = new_player("cx_gain", 0);
	struct player_ev ev;
	int16_t *out;
	int n;

	(void)state;
	assert_int_equal(play(p, 12, cx_mono_us() + 100000, 50, paths, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 12, 2000, &ev);
	expect_ev(p, PLAYER_EV_DONE, 12, 3000, &ev);
	out = read_raw("gain", &n);
	assert_true(find(out, n, 1, 0, ra.pcm, ra.n, 50, 1) >= 0);
	free(out);
	player_free(p);
}

/* Two assets play back to back without a gap, then a second item. */
static void test_sequence(void **state)
{
	const char *paths[] = { ra.path, rb.path };
	struct player *p = new_player("cx_seq", 0);
	struct player_ev ev;
	int16_t *out, *both;
	int n, off;

	(void)state;
	assert_int_equal(play(p, 21, cx_mono_us() + 50000, 100, paths, 2), 0);
	expect_ev(p, PLAYER_EV_STARTED, 21, 2000, &ev);
	expect_ev(p, PLAYER_EV_DONE, 21, 3000, &ev);
	assert_int_equal(ev.played_ms, (ra.n + rb.n) * 1000 / 48000);

	both = malloc((size_t)(ra.n + rb.n) * sizeof(int16_t));
	assert_non_null(both);
	memcpy(both, ra.pcm, (size_t)ra.n * sizeof(int16_t));
	memcpy(both + ra.n, rb.pcm, (size_t)rb.n * sizeof(int16_t));
	out = read_raw("seq", &n);
	off = find(out, n, 1, 0, both, ra.n + rb.n, 100, 0);
	assert_true(off >= 0);
	assert_silent(out, off + ra.n + rb.n, n);
	free(out);
	free(both);
	player_free(p);
}

/* A device that refuses mono gets both channels the same. */
static void test_stereo_fallback(void **state)
{
	const char *paths[] = { rb.path };
	struct player *p = new_player("cx_stereo", 0);
	struct player_ev ev;
	int16_t *out;
	int n, off;

	(void)state;
	assert_int_equal(play(p, 31, cx_mono_us(), 100, paths, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 31, 2000, &ev);
	expect_ev(p, PLAYER_EV_DONE, 31, 3000, &ev);
	out = read_raw("stereo", &n);
	off = find(out, n, 2, 0, rb.pcm, rb.n, 100, 0);
	assert_true(off >= 0);
	assert_int_equal(find(out, n, 2, 1, rb.pcm, rb.n, 100, 0), off);
	free(out);
	player_free(p);
}

/* B started while A plays: A stops at once with what it played, B plays. */
static void test_preempt(void **state)
{
	const char *pa[] = { rlong.path }, *pb[] = { rb.path };
	long rss0 = rss_anon_kb(), rss;
	struct player *p = new_player("cx_preempt", 0);
	struct player_ev ev;
	int64_t t0, dt;
	int16_t *out;
	int n, off_a, off_b;

	(void)state;
	assert_int_equal(play(p, 41, cx_mono_us() + 100000, 100, pa, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 41, 2000, &ev);
	usleep(400000);
	/* Decoding in 20 ms chunks: the player adds little memory. */
	rss = rss_anon_kb();
	print_message("anonymous RSS %ld kB before the player, %ld kB while playing\n",
		      rss0, rss);
	assert_true(rss0 > 0 && rss - rss0 < 2048);
	t0 = cx_mono_us();
	assert_int_equal(play(p, 42, cx_mono_us(), 100, pb, 1), 0);
	expect_ev(p, PLAYER_EV_STOPPED, 41, 1000, &ev);
	dt = cx_mono_us() - t0;
	print_message("preemption took %lld us; A played %lld ms\n", (long long)dt,
		      (long long)ev.played_ms);
	assert_true(dt < latency_bound_us(20000));
	assert_true(ev.played_ms >= 200 && ev.played_ms <= 600);
	assert_true(ev.started_us > 0);
	expect_ev(p, PLAYER_EV_STARTED, 42, 1000, &ev);
	/* Late by no more than the preemption itself. */
	assert_true(ev.start_error_us >= 0 &&
		    ev.start_error_us < latency_bound_us(20000));
	expect_ev(p, PLAYER_EV_DONE, 42, 3000, &ev);

	out = read_raw("preempt", &n);
	off_a = find(out, n, 1, 0, rlong.pcm, 9600, 100, 0);
	assert_true(off_a >= 0);
	off_b = find(out + off_a, n - off_a, 1, 0, rb.pcm, rb.n, 100, 0);
	assert_true(off_b > 0);
	/* What was queued of A (played + at most a buffer) came before B. */
	assert_true(off_b < 48000 * 7 / 10);
	free(out);
	player_free(p);
}

static void test_stop(void **state)
{
	const char *pa[] = { rlong.path };
	struct player *p = new_player("cx_stop", 0);
	struct player_ev ev;

	(void)state;
	assert_int_equal(player_stop(p, 51), -ENOENT);
	assert_int_equal(play(p, 51, cx_mono_us(), 100, pa, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 51, 2000, &ev);
	usleep(200000);
	assert_int_equal(player_stop(p, 999), -ENOENT);
	assert_int_equal(player_stop(p, 51), 0);
	expect_ev(p, PLAYER_EV_STOPPED, 51, 200, &ev);
	assert_true(ev.played_ms >= 100 && ev.played_ms <= 400);
	assert_int_equal(player_stop(p, 51), -ENOENT);

	/* A waiting item stops too, without having started. */
	assert_int_equal(play(p, 52, cx_mono_us() + 10000000, 100, pa, 1), 0);
	usleep(20000);
	assert_int_equal(player_stop(p, 52), 0);
	expect_ev(p, PLAYER_EV_STOPPED, 52, 200, &ev);
	assert_int_equal(ev.played_ms, 0);
	assert_int_equal(ev.started_us, 0);

	/* Replaced before the thread saw it: still one STOPPED for it. */
	assert_int_equal(play(p, 53, cx_mono_us() + 10000000, 100, pa, 1), 0);
	assert_int_equal(play(p, 54, cx_mono_us() + 10000000, 100, pa, 1), 0);
	expect_ev(p, PLAYER_EV_STOPPED, 53, 200, &ev);
	assert_int_equal(player_stop(p, 54), 0);
	expect_ev(p, PLAYER_EV_STOPPED, 54, 200, &ev);
	assert_int_equal(wait_ev(p, &ev, 100), -ETIMEDOUT);

	/* Bad requests. */
	assert_int_equal(play(p, 55, cx_mono_us(), 0, pa, 1), -EINVAL);
	assert_int_equal(play(p, 55, cx_mono_us(), 101, pa, 1), -EINVAL);
	assert_int_equal(play(p, 55, cx_mono_us(), 100, pa, 0), -EINVAL);
	player_free(p);
}

/* A corrupt or missing asset fails its item; the thread plays on. */
static void test_corrupt(void **state)
{
	const char *bad[] = { bad_path }, *missing[] = { missing_path };
	const char *half[] = { ra.path, bad_path }, *good[] = { rb.path };
	struct player *p = new_player("cx_corrupt", 0);
	struct player_ev ev;

	(void)state;
	assert_int_equal(play(p, 61, cx_mono_us(), 100, bad, 1), 0);
	expect_ev(p, PLAYER_EV_FAILED, 61, 2000, &ev);
	assert_non_null(strstr(ev.reason, "bad.opus"));
	assert_int_equal(ev.started_us, 0);

	assert_int_equal(play(p, 62, cx_mono_us(), 100, missing, 1), 0);
	expect_ev(p, PLAYER_EV_FAILED, 62, 2000, &ev);
	assert_non_null(strstr(ev.reason, "No such file"));

	/* Fails where the bad asset begins, after the good one played to
	 * its end (the buffer queued ahead of the error is not dropped). */
	assert_int_equal(play(p, 63, cx_mono_us(), 100, half, 2), 0);
	expect_ev(p, PLAYER_EV_STARTED, 63, 2000, &ev);
	expect_ev(p, PLAYER_EV_FAILED, 63, 3000, &ev);
	assert_non_null(strstr(ev.reason, "bad.opus"));
	assert_int_equal(ev.played_ms, ra.n * 1000 / 48000);

	assert_int_equal(play(p, 64, cx_mono_us(), 100, good, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 64, 2000, &ev);
	expect_ev(p, PLAYER_EV_DONE, 64, 3000, &ev);
	player_free(p);
}

/* An item that arrives late starts at once from its first sample. */
static void test_late(void **state)
{
	const char *paths[] = { ra.path };
	struct player *p = new_player("cx_late", 0);
	struct player_ev ev;
	int64_t start = cx_mono_us() - 250000;
	int16_t *out;
	int n;

	(void)state;
	assert_int_equal(play(p, 71, start, 100, paths, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 71, 2000, &ev);
	assert_true(ev.start_error_us >= 250000 &&
		    ev.start_error_us < 250000 + latency_bound_us(50000));
	expect_ev(p, PLAYER_EV_DONE, 71, 3000, &ev);
	out = read_raw("late", &n);
	assert_true(find(out, n, 1, 0, ra.pcm, ra.n, 100, 0) >= 0);
	free(out);
	player_free(p);
}

/* No device: FAILED and fault, thread alive; the device appears: plays. */
static void test_missing_device(void **state)
{
	const char *paths[] = { rb.path };
	struct player *p = new_player("cx_later", 300);
	struct player_item it = {
		.token = 81, .start_us = cx_mono_us(), .volume = 100,
		.npaths = 1, .paths = paths,
		.deadline_us = cx_mono_us() + 400000,
	};
	struct player_stats st;
	struct player_ev ev;
	int16_t *out;
	int n;

	(void)state;
	assert_int_equal(player_start(p, &it), 0);
	expect_ev(p, PLAYER_EV_FAILED, 81, 2000, &ev);
	assert_non_null(strstr(ev.reason, "device unavailable"));
	assert_non_null(strstr(ev.reason, "cx_later"));
	player_get_stats(p, &st);
	assert_true(st.fault);
	assert_non_null(strstr(st.fault_reason, "cx_later"));
	assert_false(st.pcm_open);

	/* The device appears; the retry (backoff 0.5 s, 1 s) finds it. */
	write_conf(true);
	for (int k = 0; k < 40; k++) {
		player_get_stats(p, &st);
		if (!st.fault)
			break;
		usleep(100000);
	}
	assert_false(st.fault);

	assert_int_equal(play(p, 82, cx_mono_us() + 100000, 100, paths, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 82, 2000, &ev);
	expect_ev(p, PLAYER_EV_DONE, 82, 3000, &ev);
	out = read_raw("later", &n);
	assert_true(find(out, n, 1, 0, rb.pcm, rb.n, 100, 0) >= 0);
	free(out);

	/* Idle: the PCM is closed after idle_close_ms (300 here). */
	player_get_stats(p, &st);
	assert_true(st.pcm_open);
	usleep(500000);
	player_get_stats(p, &st);
	assert_false(st.pcm_open);
	player_free(p);
}

/* An amplifier line that cannot be had is a warning, not a failure. */
static void test_amp_missing(void **state)
{
	const char *paths[] = { rb.path };
	struct player_cfg cfg = {
		.device = "cx_amp", .buffer_ms = 100,
		.gpiochip = "/nonexistent/gpiochip9", .gpio_line = 17, .warmup_ms = 200,
	};
	struct player *p = player_new(&cfg);
	struct player_stats st;
	struct player_ev ev;

	(void)state;
	assert_non_null(p);
	assert_int_equal(play(p, 91, cx_mono_us() + 100000, 100, paths, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 91, 2000, &ev);
	/* No amplifier came on, so nothing waits for it to warm up. */
	assert_true(llabs(ev.start_error_us) < 1000);
	expect_ev(p, PLAYER_EV_DONE, 91, 3000, &ev);
	player_get_stats(p, &st);
	assert_true(st.amp_fault);
	assert_false(st.amp_on);
	assert_non_null(strstr(st.amp_reason, "gpiochip9"));
	assert_false(st.fault);
	player_free(p);
}

/* Assets play with a 500 ms buffer in two periods, a live source with
 * buffer_ms (100) in four; a live item preempting a file reopens the PCM
 * with its own buffer and still starts at once, and the next file gets
 * the large buffer back. */
static void test_buffer_kinds(void **state)
{
	const char *pa[] = { rlong.path }, *pb[] = { rb.path };
	struct player *p = new_player("cx_kinds", 0);
	struct fake_live fl = { 0 };
	struct player_live src = { .read = fake_read, .release = fake_release, .ud = &fl };
	struct player_item it = { .token = 102, .volume = 100, .live = &src };
	struct player_stats st;
	struct player_ev ev;
	int16_t *out;
	int n;

	(void)state;
	assert_int_equal(play(p, 101, cx_mono_us() + 100000, 100, pa, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 101, 2000, &ev);
	player_get_stats(p, &st);
	print_message("file item: buffer %lld, period %lld frames\n",
		      (long long)st.buffer_frames, (long long)st.period_frames);
	assert_true(st.buffer_frames >= 48000 * 45 / 100 && st.buffer_frames <= 48000 * 55 / 100);
	assert_true(st.period_frames >= st.buffer_frames / 2 - 480 &&
		    st.period_frames <= st.buffer_frames / 2 + 480);
	usleep(300000);

	it.start_us = cx_mono_us();
	assert_int_equal(player_start(p, &it), 0);
	expect_ev(p, PLAYER_EV_STOPPED, 101, 1000, &ev);
	expect_ev(p, PLAYER_EV_STARTED, 102, 1000, &ev);
	print_message("live item after the reopen: start error %lld us\n",
		      (long long)ev.start_error_us);
	assert_true(ev.start_error_us >= 0 && ev.start_error_us < 20000);
	player_get_stats(p, &st);
	print_message("live item: buffer %lld, period %lld frames\n",
		      (long long)st.buffer_frames, (long long)st.period_frames);
	assert_true(st.buffer_frames >= 48000 * 9 / 100 && st.buffer_frames <= 48000 * 11 / 100);
	assert_true(st.period_frames >= st.buffer_frames / 4 - 240 &&
		    st.period_frames <= st.buffer_frames / 4 + 240);
	expect_ev(p, PLAYER_EV_DONE, 102, 3000, &ev);
	assert_int_equal(ev.played_ms, 400);

	assert_int_equal(play(p, 103, cx_mono_us() + 50000, 100, pb, 1), 0);
	expect_ev(p, PLAYER_EV_STARTED, 103, 2000, &ev);
	player_get_stats(p, &st);
	assert_true(st.buffer_frames >= 48000 * 45 / 100 && st.buffer_frames <= 48000 * 55 / 100);
	expect_ev(p, PLAYER_EV_DONE, 103, 3000, &ev);
	assert_int_equal(ev.played_ms, rb.n * 1000 / 48000);
	player_free(p);

	/* Each open truncates the file PCM's output: B's is all there is,
	 * and the live item was read whole, from the instant it started. */
	assert_int_equal(fl.next, 20 * 960);
	assert_int_equal(fl.released, 1);
	out = read_raw("kinds", &n);
	assert_true(find(out, n, 1, 0, rb.pcm, rb.n, 100, 0) >= 0);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_live_source),
		cmocka_unit_test(test_gain),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_stereo_fallback),
		cmocka_unit_test(test_preempt),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_late),
		cmocka_unit_test(test_missing_device),
		cmocka_unit_test(test_amp_missing),
		cmocka_unit_test(test_buffer_kinds),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
