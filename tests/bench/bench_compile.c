/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench_compile.c -- the schedule compiler on a large township: 2,000 nodes, 500 broadcasts, 7 days */
#define _GNU_SOURCE /* mkdtemp, nftw's FTW_DEPTH|FTW_PHYS */
#include "compile.h"
#include "cxtime.h"
#include "diag.h"
#include "fileio.h"
#include "schedule.h"
#include "tts.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Usage: bench_compile [NODES [BROADCASTS [DAYS]]]   (default 2000 500 7)
 *
 * Writes a schedules directory (villages of 20 nodes, 2 of 20 tags per
 * node; 30 notices: 20 Mandarin and 4 Cantonese texts, 6 WAV recordings;
 * broadcasts with 1-3 times a day, every kind of days: rule, some date
 * ranges, targets all / a tag / a village / villages and nodes, some
 * repeated or important), then:
 *
 *  1. renders every notice once, untimed, into a render cache of its own
 *     (XDG_CACHE_HOME in the temporary directory): espeak-ng and the
 *     encoder are not what is measured;
 *  2. runs schedule_load + compile_run in a fresh process (this program
 *     again, "--run"), three times, with that warm cache, and reports the
 *     wall time of each phase and the process's peak RSS (getrusage
 *     ru_maxrss) — goal: load + compile_run <= 1 s and <= 200 MB;
 *  3. if $CUNXIANG names the binary, times `cunxiang compile DIR -o OUT`
 *     end to end (plans written to disk) the same way: into a new OUT
 *     (goal <= 3 s at 10,000 nodes), again with nothing changed, and
 *     after one broadcast changed (goal <= 1 s).
 *
 * The window starts on a fixed Monday, 2026-11-23, so runs compare. */

#define PER_VILLAGE 20
#define NTAGS 20
#define NTEXT 24
#define NREC 6
#define FILES 10
#define FROM "2026-11-23"
#define RUNS 3

static const char *const tags[NTAGS] = {
	"river", "school", "market", "fields", "clinic", "park", "orchard", "dairy",
	"canal", "highway", "temple", "square", "mine", "forest", "bridge", "station",
	"greenhouse", "fishpond", "kiln", "depot"
};

static const char *const sentences[] = {
	"各位村民请注意，",
	"新一年度城乡居民医疗保险集中缴费正在进行，请抓紧时间办理。",
	"焚烧秸秆污染空气，容易引发火灾，请大家不要在田间地头焚烧秸秆。",
	"冬季天干物燥，请安全用火用电，睡前检查炉火，谨防煤气中毒。",
	"近期电信网络诈骗案件多发，请不要点击陌生链接，不要把验证码告诉别人。",
	"黄河进入凌汛期，请不要到冰面上行走、滑冰、捕鱼。",
	"镇卫生院医生明天上午到村卫生室义诊，免费量血压、测血糖。",
	"请各家各户清理房前屋后的柴草和垃圾，生活垃圾投放到指定地点。",
	"学生上学高峰，请过往车辆减速慢行，注意避让行人。",
	"本周六上午九点在村委会召开村民代表大会，请准时参加。",
	"红白喜事要从简办理，不攀比、不铺张。",
	"春耕备耕即将开始，请大家提前检修农机，备好种子化肥。",
};

static const char *const yue_text[] = {
	"各位工友请注意：天气转冷，开工之前请检查好电线同埋取暖设备。",
	"唔好喺宿舍用电炉，离开之前记得熄火断电，多谢大家合作。",
	"有咩困难可以揾园区服务站，我哋会尽快帮大家解决。",
	"落雨路滑，揸车请慢慢嚟，注意安全。",
};

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static FILE *open_w(const char *dir, const char *name)
{
	char *p = fio_join(dir, name);
	FILE *f = p ? fopen(p, "w") : NULL;

	if (!f) {
		fprintf(stderr, "bench_compile: cannot write %s/%s: %s\n", dir, name, strerror(errno));
		exit(1);
	}
	free(p);
	return f;
}

static void put_le(FILE *f, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		fputc((int)((v >> (8 * i)) & 0xff), f);
}

/* A recording: SECONDS of mono 16 kHz PCM, a few tones one after another. */
static void write_wav(const char *dir, const char *name, int seconds, int seed)
{
	FILE *f = open_w(dir, name);
	uint32_t n = (uint32_t)seconds * 16000;

	fwrite("RIFF", 1, 4, f);
	put_le(f, 36 + n * 2, 4);
	fwrite("WAVEfmt ", 1, 8, f);
	put_le(f, 16, 4);
	put_le(f, 1, 2);           /* PCM */
	put_le(f, 1, 2);           /* mono */
	put_le(f, 16000, 4);
	put_le(f, 32000, 4);
	put_le(f, 2, 2);
	put_le(f, 16, 2);
	fwrite("data", 1, 4, f);
	put_le(f, n * 2, 4);
	for (uint32_t i = 0; i < n; i++) {
		/* A square-ish tone that changes every half second: cheap, not silence. */
		uint32_t step = i / 8000, period = 16000 / (300 + 40 * ((step + (uint32_t)seed) % 12));
		int16_t v = (int16_t)(((i / (period / 2 ? period / 2 : 1)) & 1) ? 6000 : -6000);

		put_le(f, (uint16_t)v, 2);
	}
	fclose(f);
}

static void write_fleet(const char *dir, int nodes)
{
	FILE *f = open_w(dir, "fleet.yaml");
	int villages = (nodes + PER_VILLAGE - 1) / PER_VILLAGE;

	fprintf(f, "township: 基准镇\narea_code: \"640104100000\"\ntimezone: Asia/Shanghai\n"
		   "quiet_hours: \"22:00-06:00\"\nmax_delay: 30m\n"
		   "presence:\n  \"06:00-12:00\": 0.5\n  \"12:00-22:00\": 0.7\nvillages:\n");
	for (int v = 0; v < villages; v++) {
		fprintf(f, "  - code: \"640104100%03d\"\n    name: 村%03d\n    nodes:\n", v + 1, v + 1);
		for (int k = 0; k < PER_VILLAGE && v * PER_VILLAGE + k < nodes; k++) {
			unsigned a = rnd(NTAGS), b = (a + 1 + rnd(NTAGS - 1)) % NTAGS;

			fprintf(f, "      - id: v%03d-%02d\n        households: %u\n"
				   "        tags: [%s, %s]\n", v + 1, k + 1, 50 + rnd(500), tags[a], tags[b]);
		}
	}
	fclose(f);
}

static void write_notices(FILE *f)
{
	const size_t ns = sizeof(sentences) / sizeof(sentences[0]);

	fprintf(f, "notices:\n");
	for (int i = 0; i < NTEXT; i++) {
		fprintf(f, "  text-%02d:\n    title: 通知%02d\n", i, i);
		if (i >= NTEXT - 4) {
			fprintf(f, "    voice: cantonese\n    text: \"第%d号通知。%s%s\"\n", i + 1,
				yue_text[i % 4], yue_text[(i + 1) % 4]);
			continue;
		}
		/* A number and two or three sentences, so every text differs. */
		fprintf(f, "    text: \"第%d号通知。%s%s%s%s\"\n", i + 1, sentences[0], sentences[1 + i % (ns - 1)],
			sentences[1 + (i * 7 + 3) % (ns - 1)], i % 3 ? sentences[1 + (i * 5 + 1) % (ns - 1)] : "");
	}
	for (int i = 0; i < NREC; i++)
		fprintf(f, "  rec-%02d:\n    title: 录音%02d\n    audio: audio/rec-%02d.wav\n", i, i, i);
}

static void write_broadcast(FILE *f, int k, int nodes)
{
	static const char *const dayrules[] = { "daily", "weekdays", "weekends", "[mon, thu]",
						"[tue, fri, sun]" };
	int villages = (nodes + PER_VILLAGE - 1) / PER_VILLAGE, nat = 1 + (int)rnd(3);
	unsigned kind = rnd(100), d = rnd(100);
	int mins[3];

	fprintf(f, "  - id: b%04d\n", k);
	if (k % 5 == 4)
		fprintf(f, "    notice: rec-%02d\n", (k / 5) % NREC);
	else
		fprintf(f, "    notice: text-%02d\n", k % NTEXT);
	/* 06:30 .. 20:30, on 5-minute marks, distinct. */
	for (int i = 0; i < nat; i++) {
		bool dup;

		do {
			mins[i] = 390 + 5 * (int)rnd(169);
			dup = false;
			for (int j = 0; j < i; j++)
				dup |= mins[j] == mins[i];
		} while (dup);
	}
	fprintf(f, "    at: [");
	for (int i = 0; i < nat; i++)
		fprintf(f, "%s\"%02d:%02d\"", i ? ", " : "", mins[i] / 60, mins[i] % 60);
	fprintf(f, "]\n");
	if (d < 40)
		fprintf(f, "    days: %s\n", dayrules[0]);
	else if (d < 90)
		fprintf(f, "    days: %s\n", dayrules[1 + (d - 40) % 4]);
	else
		fprintf(f, "    days: [\"2026-11-24\", \"2026-11-27\", \"2026-12-%02u\"]\n", 1 + rnd(28));
	if (rnd(5) == 0)
		fprintf(f, "    from: 2026-11-%02u\n    until: 2027-%02u-01\n", 1 + rnd(26), 1 + rnd(12));
	/* Targets: 4% everyone, 16% a tag (1/10 of the nodes), 60% one village,
	 * 20% three villages and two nodes elsewhere. */
	if (kind < 4) {
		fprintf(f, "    targets: all\n");
	} else if (kind < 20) {
		fprintf(f, "    targets: { tags: [%s] }\n", tags[rnd(NTAGS)]);
	} else if (kind < 80) {
		fprintf(f, "    targets: { villages: [\"640104100%03u\"] }\n", 1 + rnd((unsigned)villages));
	} else {
		unsigned n1 = rnd((unsigned)nodes), n2 = rnd((unsigned)nodes);

		fprintf(f, "    targets: { villages: [\"640104100%03u\", \"640104100%03u\", \"640104100%03u\"],"
			   " nodes: [v%03u-%02u, v%03u-%02u] }\n",
			1 + rnd((unsigned)villages), 1 + rnd((unsigned)villages), 1 + rnd((unsigned)villages),
			n1 / PER_VILLAGE + 1, n1 % PER_VILLAGE + 1, n2 / PER_VILLAGE + 1, n2 % PER_VILLAGE + 1);
	}
	if (rnd(5) == 0)
		fprintf(f, "    repeat: 2\n");
	fprintf(f, "    volume: %u\n", 60 + rnd(41));
	if (rnd(10) == 0)
		fprintf(f, "    priority: important\n");
}

static void generate(const char *dir, int nodes, int broadcasts)
{
	char *audio = fio_join(dir, "audio");

	if (!audio || fio_mkdir_p(audio, 0755) < 0) {
		fprintf(stderr, "bench_compile: cannot create %s\n", dir);
		exit(1);
	}
	write_fleet(dir, nodes);
	for (int i = 0; i < NREC; i++) {
		char name[32];

		snprintf(name, sizeof(name), "rec-%02d.wav", i);
		write_wav(audio, name, 8 + 4 * i, i);
	}
	for (int fi = 0; fi < FILES; fi++) {
		char name[32];
		FILE *f;

		snprintf(name, sizeof(name), "b%02d.yaml", fi);
		f = open_w(dir, name);
		if (fi == 0)
			write_notices(f);
		fprintf(f, "broadcasts:\n");
		for (int k = fi; k < broadcasts; k += FILES)
			write_broadcast(f, k, nodes);
		fclose(f);
	}
	free(audio);
}

/* --run DIR DAYS: one measured compile in this (fresh) process. Prints
 * "load_ms compile_ms plans_ms rss_after_compile_kib rss_after_plans_kib
 * nodes events assets errors" on stdout. */
static int run_once(const char *dir, int days)
{
	struct compile_opts o = { 0 };
	char *cache, *voices, *assets, *renders;
	struct schedule *s;
	struct compile *c = NULL;
	struct diag *d = diag_new();
	double t0, t1, t2, t3;
	long rss_c, rss_p;
	size_t bytes = 0;
	int y, m, dd;

	cache = fio_join(getenv("XDG_CACHE_HOME"), "cunxiang");
	assets = cache ? fio_join(cache, "assets") : NULL;
	renders = cache ? fio_join(cache, "renders") : NULL;
	voices = voices_dir_find(NULL, NULL, dir);
	if (!d || !assets || !renders || !voices) {
		fprintf(stderr, "bench_compile: %s\n", voices ? "out of memory" : "no voices directory");
		return 1;
	}
	cx_parse_date(FROM, &y, &m, &dd);
	o.from_day = cx_days_from_civil(y, m, dd);
	o.days = days;
	o.voices_dir = voices;
	o.assets_dir = assets;
	o.cache_dir = renders;
	t0 = now_s();
	s = schedule_load(dir, d);
	t1 = now_s();
	if (s && cx_tz_set(schedule_township(s)->timezone) == 0)
		c = compile_run(s, &o, d);
	t2 = now_s();
	rss_c = maxrss_kib();
	if (diag_errors(d)) {
		diag_print(d, stderr);
		fprintf(stderr, "bench_compile: %zu errors\n", diag_errors(d));
	}
	if (!c)
		return 1;
	/* What `compile` writes: every node's plan as JSON, here into memory. */
	for (size_t i = 0; i < compile_node_count(c); i++) {
		char *buf;
		size_t len;

		if (compile_plan_dump(c, i, &buf, &len) < 0)
			return 1;
		bytes += len;
		free(buf);
	}
	t3 = now_s();
	rss_p = maxrss_kib();
	printf("%.0f %.0f %.0f %ld %ld %zu %zu %zu %zu %zu\n", (t1 - t0) * 1e3, (t2 - t1) * 1e3,
	       (t3 - t2) * 1e3, rss_c, rss_p, compile_node_count(c), compile_total_events(c),
	       compile_asset_count(c), diag_errors(d), bytes);
	compile_free(c);
	schedule_free(s);
	diag_free(d);
	tts_shutdown();
	free(cache);
	free(assets);
	free(renders);
	free(voices);
	return 0;
}

/* Run ARGV, its stdout into OUT (may be NULL: discarded); wall seconds and
 * the child's peak RSS in KiB. */
static int spawn(char *const argv[], char *out, size_t outlen, double *wall, long *rss)
{
	int pfd[2], status;
	struct rusage ru;
	double t0 = now_s();
	size_t n = 0;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char tmp[4096];
		ssize_t r = read(pfd[0], tmp, sizeof(tmp));

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r && out && n + 1 < outlen; i++)
			out[n++] = tmp[i];
	}
	close(pfd[0]);
	if (out)
		out[n] = '\0';
	if (wait4(pid, &status, 0, &ru) < 0)
		return -errno;
	*wall = now_s() - t0;
	*rss = ru.ru_maxrss;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Give the first broadcast of b01.yaml volume 59 (the generator writes
 * 60..100): one broadcast changed, on the nodes it targets. */
static int change_one_broadcast(const char *dir)
{
	char *path = fio_join(dir, "b01.yaml"), *buf = NULL, *v, *eol;
	size_t len;
	FILE *f;
	int r = -1;

	if (!path || fio_read_all(path, 1 << 26, &buf, &len) < 0 ||
	    !(v = strstr(buf, "    volume: ")) || !(eol = strchr(v, '\n')) ||
	    !(f = fopen(path, "w"))) {
		fprintf(stderr, "bench_compile: cannot change a broadcast in %s\n", dir);
		goto out;
	}
	fprintf(f, "%.*s    volume: 59%s", (int)(v - buf), buf, eol);
	r = fclose(f) == 0 ? 0 : -1;
out:
	free(buf);
	free(path);
	return r;
}

int main(int argc, char **argv)
{
	char top[] = "/tmp/cx-bench-compile.XXXXXX", self[4096], dir[64], cache[64], out[64];
	char days_s[16], line[512];
	const char *cx = getenv("CUNXIANG");
	int nodes = 2000, broadcasts = 500, days = 7, st;
	double best = 1e9, wall, load = 0, comp = 0, plans = 0;
	long rss, worst_rss_c = 0, worst_rss_p = 0;
	size_t nn = 0, events = 0, nassets = 0, errors = 0, bytes = 0;
	ssize_t sl;

	if (argc == 4 && !strcmp(argv[1], "--run"))
		return run_once(argv[2], atoi(argv[3]));
	if (argc > 1)
		nodes = atoi(argv[1]);
	if (argc > 2)
		broadcasts = atoi(argv[2]);
	if (argc > 3)
		days = atoi(argv[3]);
	if (nodes < 1 || nodes > PER_VILLAGE * 999 || broadcasts < 1 || broadcasts > 9999 ||
	    days < 1 || days > COMPILE_MAX_DAYS) {
		fprintf(stderr, "usage: bench_compile [NODES [BROADCASTS [DAYS]]]\n");
		return 2;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl < 0 || !mkdtemp(top)) {
		perror("bench_compile");
		return 1;
	}
	self[sl] = '\0';
	snprintf(dir, sizeof(dir), "%s/schedules", top);
	snprintf(cache, sizeof(cache), "%s/cache", top);
	snprintf(out, sizeof(out), "%s/out", top);
	snprintf(days_s, sizeof(days_s), "%d", days);
	setenv("XDG_CACHE_HOME", cache, 1);
	unsetenv("CUNXIANG_VOICES");
	generate(dir, nodes, broadcasts);

	{
		char *args[] = { self, "--run", dir, days_s, NULL };

		/* 1. Warm the render cache: every notice spoken or encoded once. */
		st = spawn(args, line, sizeof(line), &wall, &rss);
		if (st) {
			fprintf(stderr, "bench_compile: the warm-up compile failed (%d)\n", st);
			goto out;
		}
		sscanf(line, "%*f %*f %*f %*d %*d %zu %zu %zu %zu %zu", &nn, &events, &nassets, &errors,
		       &bytes);
		printf("township: %zu nodes, %d broadcasts, %d days from %s: %zu plays, %zu assets, "
		       "%zu errors, %.1f MB of plan JSON\n", nn, broadcasts, days, FROM, events,
		       nassets, errors, (double)bytes / 1e6);
		printf("warm-up (untimed): %d text notices rendered with espeak-ng and %d WAV recordings "
		       "encoded into the render cache in %.1f s; the runs below hit that cache\n",
		       NTEXT, NREC, wall);
		/* 2. The compiler itself, in a fresh process each time. */
		for (int r = 0; r < RUNS; r++) {
			double l, c, p;
			long rc, rp;

			st = spawn(args, line, sizeof(line), &wall, &rss);
			if (st || sscanf(line, "%lf %lf %lf %ld %ld", &l, &c, &p, &rc, &rp) != 5) {
				fprintf(stderr, "bench_compile: run %d failed (%d)\n", r + 1, st);
				goto out;
			}
			printf("run %d: schedule_load %.0f ms, compile_run %.0f ms, plan JSON %.0f ms; "
			       "peak RSS %ld MiB after compile_run, %ld MiB after the plans\n",
			       r + 1, l, c, p, rc / 1024, rp / 1024);
			if (l + c < best) {
				best = l + c;
				load = l;
				comp = c;
				plans = p;
			}
			if (rc > worst_rss_c)
				worst_rss_c = rc;
			if (rp > worst_rss_p)
				worst_rss_p = rp;
		}
	}
	printf("compiler (best of %d): schedule_load + compile_run %.0f ms (%.0f + %.0f), peak RSS "
	       "%ld MiB; goals <= 1000 ms: %s, <= 200 MB: %s; plan JSON for all nodes another %.0f ms\n",
	       RUNS, best, load, comp, worst_rss_c / 1024, best <= 1000 ? "met" : "MISSED",
	       worst_rss_c * 1024L <= 200L * 1000 * 1000 ? "met" : "MISSED", plans);
	/* 3. The command, plans written to disk: into a new OUT, again with
	 * nothing changed, and after one broadcast changed. */
	if (cx && *cx) {
		char *args[] = { (char *)cx, "compile", dir, "-o", out, "--from", FROM, "--days", days_s, NULL };
		static const char *const what[] = { "new OUT", "OUT exists, nothing changed",
						    "one broadcast changed" };
		static const double goal[] = { 3000, 1000, 1000 };

		for (int r = 0; r < 3; r++) {
			if (r == 2 && change_one_broadcast(dir) < 0)
				goto out;
			st = spawn(args, NULL, 0, &wall, &rss);
			if (st) {
				fprintf(stderr, "bench_compile: cunxiang compile failed (%d)\n", st);
				goto out;
			}
			printf("cunxiang compile -o OUT (%s): %.0f ms wall, peak RSS %ld MiB; "
			       "goal <= %.0f ms: %s\n", what[r], wall * 1e3, rss / 1024, goal[r],
			       wall * 1e3 <= goal[r] ? "met" : "MISSED");
		}
	}
	st = 0;
out:
	nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return st ? 1 : 0;
}
