/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_schedule.c -- `cunxiang check`, `compile` and `plan`: the schedules directory from the command line */
#define _GNU_SOURCE /* mkdtemp, nftw's FTW_DEPTH|FTW_PHYS */
#include "config.h"

#include "asset.h"
#include "commands.h"
#include "compile.h"
#include "cxtime.h"
#include "fileio.h"
#include "hash.h"
#include "human.h"
#include "plan_out.h"
#include "schedule.h"
#include "tts.h"
#include "warnings.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DAYS 7

/* What check, compile and plan share: the options, the loaded model, the
 * compiled window and where renders are cached. */
struct run {
	const char *prog;          /* "cunxiang check" */
	const char *dir;
	const char *from;          /* NULL: today */
	int days;
	const char *voices_opt;
	const char *out;           /* compile only */
	bool warnings;             /* check: warnings.yaml too */
	struct diag *d;
	struct schedule *s;
	struct warnings *w;
	struct compile *c;
	char *voices;
	char *cache;               /* render cache root */
	char *tmp;                 /* a throw-away cache, removed at the end */
	int64_t from_day;
};

static void version(void)
{
	printf("cunxiang %s\n", CX_VERSION);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void run_free(struct run *r)
{
	compile_free(r->c);
	warnings_free(r->w);
	schedule_free(r->s);
	diag_free(r->d);
	free(r->voices);
	free(r->cache);
	if (r->tmp) {
		nftw(r->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(r->tmp);
	}
	tts_shutdown();
}

/* Renders are cached in $XDG_CACHE_HOME/cunxiang (or ~/.cache/cunxiang),
 * shared by check, plan and compile, so a notice is rendered once per
 * machine. Without a usable one, compile caches in OUT/.cache and check and
 * plan in a temporary directory. */
static int pick_cache(struct run *r)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *p = NULL, tmpl[] = "/tmp/cunxiang-cache.XXXXXX";
	const char *tmpdir = getenv("TMPDIR");

	if (xdg && xdg[0] == '/')
		p = fio_join(xdg, "cunxiang");
	else if (home && home[0] == '/')
		p = fio_join(home, ".cache/cunxiang");
	if (p && fio_mkdir_p(p, 0755) == 0 && access(p, W_OK) == 0) {
		r->cache = p;
		return 0;
	}
	free(p);
	if (r->out) {
		r->cache = fio_join(r->out, ".cache");
		return r->cache ? 0 : -ENOMEM;
	}
	if (tmpdir && tmpdir[0] == '/' && strlen(tmpdir) < 200) {
		char *t = fio_join(tmpdir, "cunxiang-cache.XXXXXX");

		if (t && mkdtemp(t)) {
			r->tmp = t;
			r->cache = strdup(t);
			return r->cache ? 0 : -ENOMEM;
		}
		free(t);
	}
	if (!mkdtemp(tmpl))
		return -errno;
	r->tmp = strdup(tmpl);
	r->cache = strdup(tmpl);
	return r->tmp && r->cache ? 0 : -ENOMEM;
}

/* Load, pick the window, compile. Returns an exit status; on CX_EXIT_OK the
 * model and plans are in R. Diagnostics are printed here. */
static int load_and_compile(struct run *r)
{
	struct compile_opts o = { 0 };
	char *assets = NULL, *renders = NULL;
	int y, m, dd, e, status = CX_EXIT_USER;

	r->d = diag_new();
	if (!r->d) {
		fprintf(stderr, "%s: out of memory\n", r->prog);
		return CX_EXIT_USER;
	}
	r->s = schedule_load(r->dir, r->d);
	if (!r->s)
		goto print;
	/* Automatic warnings are the township's too: their file is checked
	 * with the fleet whose villages it names. */
	if (r->warnings && !(r->w = warnings_load(r->dir, r->s, r->d))) {
		fprintf(stderr, "%s: out of memory\n", r->prog);
		goto out;
	}
	/* Dates and times are the township's, for the compiler and for us. */
	e = cx_tz_set(schedule_township(r->s)->timezone);
	if (e < 0) {
		fprintf(stderr, "%s: cannot select the time zone %s: %s\n", r->prog,
			schedule_township(r->s)->timezone, strerror(-e));
		goto out;
	}
	if (r->from) {
		if (cx_parse_date(r->from, &y, &m, &dd) < 0)
			goto print; /* checked by the caller */
	} else {
		struct tm tm;

		cx_tz_ms_to_civil(cx_now_ms(), &tm);
		y = tm.tm_year + 1900;
		m = tm.tm_mon + 1;
		dd = tm.tm_mday;
	}
	r->from_day = cx_days_from_civil(y, m, dd);
	r->voices = voices_dir_find(r->voices_opt, NULL, r->dir);
	e = pick_cache(r);
	if (e < 0) {
		fprintf(stderr, "%s: cannot make a cache directory: %s\n", r->prog, strerror(-e));
		goto out;
	}
	assets = fio_join(r->cache, "assets");
	renders = fio_join(r->cache, "renders");
	if (!assets || !renders) {
		fprintf(stderr, "%s: out of memory\n", r->prog);
		goto out;
	}
	o.from_day = r->from_day;
	o.days = r->days;
	o.voices_dir = r->voices;
	o.assets_dir = assets;
	o.cache_dir = renders;
	r->c = compile_run(r->s, &o, r->d);
print:
	diag_print(r->d, stderr);
	if (diag_errors(r->d) > 0) {
		size_t n = diag_errors(r->d);

		fprintf(stderr, "%s: %zu error%s in %s\n", r->prog, n, n == 1 ? "" : "s", r->dir);
		goto out;
	}
	status = r->c ? CX_EXIT_OK : CX_EXIT_USER;
out:
	free(assets);
	free(renders);
	return status;
}

/* Options common to the three commands. Returns -1 to go on, else an exit
 * status (help, version, usage error). */
enum { OPT_FROM = 0x100, OPT_DAYS, OPT_VOICES, OPT_NODE, OPT_DATE, OPT_VERSION };

static int parse_days(const char *prog, const char *s, int *days)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 1 || v > COMPILE_MAX_DAYS) {
		fprintf(stderr, "%s: --days must be a whole number from 1 to %d, not '%s'\n", prog,
			COMPILE_MAX_DAYS, s);
		return -1;
	}
	*days = (int)v;
	return 0;
}

static bool date_ok(const char *prog, const char *opt, const char *s)
{
	int y, m, d;

	if (cx_parse_date(s, &y, &m, &d) == 0)
		return true;
	fprintf(stderr, "%s: %s must be a date YYYY-MM-DD, not '%s'\n", prog, opt, s);
	return false;
}

/* ---- check ----------------------------------------------------------------- */

static void check_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang check [DIR] [--from DATE] [--days N] [--voices DIR]\n\n"
		   "Validate the schedules directory DIR (default .): every file and key (warnings.yaml\n"
		   "too), and the rules that need a compile (overlaps beyond max_delay, quiet hours)\n"
		   "over the window from DATE's midnight for N days. Errors are printed as FILE:LINE:COL.\n\n"
		   "  -f --from DATE    first day of the window, YYYY-MM-DD (default today)\n"
		   "  -d --days N       days in the window, 1..%d (default %d)\n"
		   "     --voices DIR   voice profiles (default: DIR/voices, $CUNXIANG_VOICES, installed)\n"
		   "  -h --help         show this help\n"
		   "     --version      show the version\n\n"
		   "See cunxiang(1).\n", COMPILE_MAX_DAYS, DEFAULT_DAYS);
}

static const struct option window_opts[] = {
	{ "from", required_argument, NULL, 'f' },
	{ "days", required_argument, NULL, 'd' },
	{ "voices", required_argument, NULL, OPT_VOICES },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 }
};

/* check and compile take the same options but -o. */
static int parse_window(struct run *r, int argc, char **argv, bool with_output,
			void (*help)(FILE *))
{
	int c;

	r->days = DEFAULT_DAYS;
	optind = 1;
	while ((c = getopt_long(argc, argv, with_output ? "f:d:o:h" : "f:d:h", window_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!date_ok(r->prog, "--from", optarg))
				return CX_EXIT_USAGE;
			r->from = optarg;
			break;
		case 'd':
			if (parse_days(r->prog, optarg, &r->days) < 0)
				return CX_EXIT_USAGE;
			break;
		case OPT_VOICES: r->voices_opt = optarg; break;
		case 'o':
			if (!with_output) {
				help(stderr);
				return CX_EXIT_USAGE;
			}
			r->out = optarg;
			break;
		case 'h': help(stdout); return CX_EXIT_OK;
		case OPT_VERSION: version(); return CX_EXIT_OK;
		default: help(stderr); return CX_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		help(stderr);
		return CX_EXIT_USAGE;
	}
	r->dir = optind < argc ? argv[optind] : ".";
	return -1;
}

int cmd_check(int argc, char **argv)
{
	struct run r = { .prog = "cunxiang check", .warnings = true };
	int st = parse_window(&r, argc, argv, false, check_help);
	size_t w;

	if (st >= 0)
		return st;
	st = load_and_compile(&r);
	if (st == CX_EXIT_OK) {
		w = diag_warnings(r.d);
		printf("%s: %zu village%s, %zu node%s, %zu broadcast%s", r.dir,
		       schedule_village_count(r.s), schedule_village_count(r.s) == 1 ? "" : "s",
		       schedule_node_count(r.s), schedule_node_count(r.s) == 1 ? "" : "s",
		       schedule_broadcast_count(r.s), schedule_broadcast_count(r.s) == 1 ? "" : "s");
		if (r.w && r.w->present)
			printf(", %zu warning source%s, %zu sender%s, %zu rule%s", r.w->nsources,
			       r.w->nsources == 1 ? "" : "s", r.w->nsenders, r.w->nsenders == 1 ? "" : "s",
			       r.w->nrules, r.w->nrules == 1 ? "" : "s");
		printf(", 0 errors");
		if (w)
			printf(", %zu warning%s", w, w == 1 ? "" : "s");
		printf("\n");
	}
	run_free(&r);
	return st;
}

/* ---- compile ------------------------------------------------------------- */

static void compile_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang compile [DIR] -o OUT [--from DATE] [--days N] [--voices DIR]\n\n"
		   "Compile the schedules directory DIR (default .) into unsigned plans,\n"
		   "OUT/plans/NODE.json, and the assets they play, OUT/assets/SHA256.opus. The\n"
		   "same DIR and --from give byte-identical plans; issued_ms is the window's start.\n\n"
		   "  -o --output OUT   output directory (created)\n"
		   "  -f --from DATE    first day of the window, YYYY-MM-DD (default today)\n"
		   "  -d --days N       days in the window, 1..%d (default %d)\n"
		   "     --voices DIR   voice profiles (default: DIR/voices, $CUNXIANG_VOICES, installed)\n"
		   "  -h --help         show this help\n"
		   "     --version      show the version\n\n"
		   "See cunxiang(1).\n", COMPILE_MAX_DAYS, DEFAULT_DAYS);
}

/* Assets are immutable and named by their hash: a hard link is as good as
 * a copy and costs nothing; an existing file of that name is kept. */
static int put_asset(const char *src, const char *dst)
{
	struct stat st;
	char *buf = NULL;
	size_t len;
	int e;

	if (stat(dst, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	if (link(src, dst) == 0)
		return fio_fsync_dir_of(dst);
	e = fio_read_all(src, ASSET_MAX_BYTES, &buf, &len);
	if (e == 0)
		e = fio_write_atomic(dst, buf, len, 0644);
	free(buf);
	return e;
}

/* Where compile keeps what it wrote in PLANS (the directory's real path
 * hashed), in the cache and not in OUT, whose contents stay the same from
 * the same schedules; NULL on ENOMEM. */
static char *plans_index(const struct run *r, const char *plans)
{
	char *real = realpath(plans, NULL), *dir = fio_join(r->cache, "plans"), *path = NULL;
	char hex[CX_SHA256_HEX], name[CX_SHA256_HEX + 8];

	if (dir) {
		const char *key = real ? real : plans;

		cx_sha256_hex(key, strlen(key), hex);
		snprintf(name, sizeof(name), "%s.index", hex);
		(void)fio_mkdir_p(dir, 0755); /* else plan_out_write notes it */
		path = fio_join(dir, name);
	}
	free(real);
	free(dir);
	return path;
}

static int write_output(struct run *r)
{
	size_t nn = compile_node_count(r->c), na = compile_asset_count(r->c), used = 0;
	char *plans = fio_join(r->out, "plans"), *assets = fio_join(r->out, "assets"), *index = NULL;
	bool *need = calloc(na ? na : 1, sizeof(*need));
	struct plan_out_stats pst;
	int e = -ENOMEM;

	if (!plans || !assets || !need)
		goto out;
	if ((e = fio_mkdir_p(plans, 0755)) < 0 || (e = fio_mkdir_p(assets, 0755)) < 0) {
		fprintf(stderr, "%s: cannot create %s: %s\n", r->prog, r->out, strerror(-e));
		goto out;
	}
	for (size_t i = 0; i < nn; i++) {
		const size_t *idx;
		size_t k = compile_node_assets(r->c, i, &idx);

		for (size_t j = 0; j < k; j++)
			need[idx[j]] = true;
	}
	if (!(index = plans_index(r, plans))) {
		e = -ENOMEM;
		goto out;
	}
	if ((e = plan_out_write(r->c, plans, index, r->prog, &pst)) < 0) {
		e = e == -ENOMEM ? -EIO : e; /* plan_out_write said what */
		goto out;
	}
	for (size_t i = 0; i < na; i++) {
		const struct compile_asset *a = compile_asset(r->c, i);
		char name[CX_SHA256_HEX + 5], *dst;

		if (!need[i])
			continue;
		asset_filename(a->sha, name);
		dst = fio_join(assets, name);
		e = dst ? put_asset(a->path, dst) : -ENOMEM;
		if (e < 0) {
			fprintf(stderr, "%s: cannot write %s: %s\n", r->prog, dst ? dst : name,
				strerror(-e));
			free(dst);
			goto out;
		}
		free(dst);
		used++;
	}
	{
		int y1, m1, d1, y2, m2, d2;

		cx_civil_from_days(r->from_day, &y1, &m1, &d1);
		cx_civil_from_days(r->from_day + r->days - 1, &y2, &m2, &d2);
		printf("%s: %zu plan%s, %zu plays, %zu asset%s, %04d-%02d-%02d to %04d-%02d-%02d\n",
		       r->out, nn, nn == 1 ? "" : "s", compile_total_events(r->c), used,
		       used == 1 ? "" : "s", y1, m1, d1, y2, m2, d2);
		if (pst.unchanged > 0)
			printf("%s: %zu plan%s written, %zu unchanged\n", r->out, pst.written,
			       pst.written == 1 ? "" : "s", pst.unchanged);
	}
	e = 0;
out:
	if (e == -ENOMEM)
		fprintf(stderr, "%s: out of memory\n", r->prog);
	free(plans);
	free(assets);
	free(index);
	free(need);
	return e;
}

int cmd_compile(int argc, char **argv)
{
	struct run r = { .prog = "cunxiang compile" };
	int st = parse_window(&r, argc, argv, true, compile_help);

	if (st >= 0)
		return st;
	if (!r.out) {
		fprintf(stderr, "%s: -o OUT is required\n", r.prog);
		compile_help(stderr);
		return CX_EXIT_USAGE;
	}
	st = load_and_compile(&r);
	if (st == CX_EXIT_OK && write_output(&r) < 0)
		st = CX_EXIT_USER;
	run_free(&r);
	return st;
}

/* ---- plan ------------------------------------------------------------------ */

static void plan_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang plan [DIR] [--node ID] [--date DATE] [--voices DIR]\n\n"
		   "Show what plays where and when on one day, in the township's local time,\n"
		   "after overlaps are resolved (a delayed start shows its delay).\n\n"
		   "  -n --node ID      only this node\n"
		   "  -D --date DATE    the day, YYYY-MM-DD (default today)\n"
		   "     --voices DIR   voice profiles (default: DIR/voices, $CUNXIANG_VOICES, installed)\n"
		   "  -h --help         show this help\n"
		   "     --version      show the version\n\n"
		   "See cunxiang(1).\n");
}

static void cell(const char *s, int width, bool last)
{
	if (last) {
		printf("%s\n", s);
		return;
	}
	printf("%s%*s", s, width - human_width(s) + 2, "");
}

struct row {
	int64_t start;
	const char *occ;
	size_t village, node, event;
};

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if ((c = strcmp(x->occ, y->occ)))
		return c;
	if (x->village != y->village)
		return x->village < y->village ? -1 : 1;
	return (x->node > y->node) - (x->node < y->node);
}

enum { COL_TIME, COL_DUR, COL_NODES, COL_VILLAGE, COL_BROADCAST, COL_NOTICE, COL_PRIO, COL_VOL, NCOL };

static int print_plan(struct run *r, long only)
{
	static const char *const head[NCOL] = {
		"time", "length", "node(s)", "village", "broadcast", "notice", "priority", "volume"
	};
	size_t nn = compile_node_count(r->c), nrows = 0, total = 0, ngroups = 0;
	const struct schedule_township *t = schedule_township(r->s);
	char *(*cells)[NCOL] = NULL;
	int width[NCOL] = { 0 }, y, m, d;
	struct row *rows;

	for (size_t i = 0; i < nn; i++)
		if (only < 0 || (size_t)only == i)
			total += compile_event_count(r->c, i);
	rows = calloc(total ? total : 1, sizeof(*rows));
	cells = calloc(total ? total : 1, sizeof(*cells));
	if (!rows || !cells) {
		free(rows);
		free(cells);
		fprintf(stderr, "%s: out of memory\n", r->prog);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nn; i++) {
		if (only >= 0 && (size_t)only != i)
			continue;
		for (size_t e = 0; e < compile_event_count(r->c, i); e++) {
			struct compile_event ev;

			compile_event(r->c, i, e, &ev);
			rows[nrows++] = (struct row){ ev.start_ms, ev.occ, schedule_node(r->s, i)->village, i, e };
		}
	}
	qsort(rows, nrows, sizeof(*rows), cmp_row);
	for (size_t i = 0; i < nrows;) {
		size_t j = i + 1, k;
		struct compile_event ev;
		char buf[256], dl[32];
		struct tm tm;
		int64_t s;

		while (j < nrows && rows[j].start == rows[i].start && !strcmp(rows[j].occ, rows[i].occ) &&
		       rows[j].village == rows[i].village)
			j++;
		compile_event(r->c, rows[i].node, rows[i].event, &ev);
		cx_tz_ms_to_civil(ev.start_ms, &tm);
		if (ev.start_ms != ev.scheduled_ms) {
			long long ds = (long long)((ev.start_ms - ev.scheduled_ms + 999) / 1000);

			if (ds < 60)
				snprintf(dl, sizeof(dl), " (+%llds)", ds);
			else if (ds % 60)
				snprintf(dl, sizeof(dl), " (+%lldm%02llds)", ds / 60, ds % 60);
			else
				snprintf(dl, sizeof(dl), " (+%lldm)", ds / 60);
		} else {
			dl[0] = '\0';
		}
		snprintf(buf, sizeof(buf), "%02d:%02d:%02d%s", tm.tm_hour, tm.tm_min, tm.tm_sec, dl);
		if (tm.tm_sec == 0)
			snprintf(buf, sizeof(buf), "%02d:%02d%s", tm.tm_hour, tm.tm_min, dl);
		cells[ngroups][COL_TIME] = strdup(buf);
		s = (ev.duration_ms + 999) / 1000;
		if (s >= 3600)
			snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", (long long)(s / 3600),
				 (long long)(s / 60 % 60), (long long)(s % 60));
		else
			snprintf(buf, sizeof(buf), "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
		cells[ngroups][COL_DUR] = strdup(buf);
		/* Up to three node ids; more as "first … last (N)". */
		if (j - i <= 3) {
			buf[0] = '\0';
			for (k = i; k < j; k++) {
				strncat(buf, schedule_node(r->s, rows[k].node)->id, sizeof(buf) - strlen(buf) - 1);
				if (k + 1 < j)
					strncat(buf, ",", sizeof(buf) - strlen(buf) - 1);
			}
		} else {
			snprintf(buf, sizeof(buf), "%s … %s (%zu)", schedule_node(r->s, rows[i].node)->id,
				 schedule_node(r->s, rows[j - 1].node)->id, j - i);
		}
		cells[ngroups][COL_NODES] = strdup(buf);
		cells[ngroups][COL_VILLAGE] = strdup(schedule_village(r->s, rows[i].village)->name);
		cells[ngroups][COL_BROADCAST] = strdup(ev.broadcast);
		cells[ngroups][COL_NOTICE] = strdup(schedule_notice(r->s, ev.notice_index)->title);
		cells[ngroups][COL_PRIO] = strdup(ev.priority == SCHEDULE_IMPORTANT ? "important" : "routine");
		snprintf(buf, sizeof(buf), "%d", ev.volume);
		cells[ngroups][COL_VOL] = strdup(buf);
		ngroups++;
		i = j;
	}
	cx_civil_from_days(r->from_day, &y, &m, &d);
	printf("%s (%s), %04d-%02d-%02d %s, %s\n", t->name, t->area_code, y, m, d,
	       (const char *[]){ "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" }[cx_weekday(r->from_day)],
	       t->timezone);
	if (ngroups == 0) {
		printf("nothing plays%s%s\n", only >= 0 ? " on " : "",
		       only >= 0 ? schedule_node(r->s, (size_t)only)->id : "");
	} else {
		for (int c = 0; c < NCOL; c++)
			width[c] = human_width(head[c]);
		for (size_t g = 0; g < ngroups; g++)
			for (int c = 0; c < NCOL; c++)
				if (cells[g][c] && human_width(cells[g][c]) > width[c])
					width[c] = human_width(cells[g][c]);
		printf("\n");
		for (int c = 0; c < NCOL; c++)
			cell(head[c], width[c], c == NCOL - 1);
		for (size_t g = 0; g < ngroups; g++)
			for (int c = 0; c < NCOL; c++)
				cell(cells[g][c] ? cells[g][c] : "?", width[c], c == NCOL - 1);
	}
	for (size_t g = 0; g < ngroups; g++)
		for (int c = 0; c < NCOL; c++)
			free(cells[g][c]);
	free(cells);
	free(rows);
	return 0;
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "date", required_argument, NULL, 'D' },
		{ "voices", required_argument, NULL, OPT_VOICES },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 }
	};
	struct run r = { .prog = "cunxiang plan", .days = 1 };
	const char *node = NULL;
	long only = -1;
	int c, st;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:D:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': node = optarg; break;
		case 'D':
			if (!date_ok(r.prog, "--date", optarg))
				return CX_EXIT_USAGE;
			r.from = optarg;
			break;
		case OPT_VOICES: r.voices_opt = optarg; break;
		case 'h': plan_help(stdout); return CX_EXIT_OK;
		case OPT_VERSION: version(); return CX_EXIT_OK;
		default: plan_help(stderr); return CX_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		plan_help(stderr);
		return CX_EXIT_USAGE;
	}
	r.dir = optind < argc ? argv[optind] : ".";
	st = load_and_compile(&r);
	if (st == CX_EXIT_OK && node && (only = schedule_node_find(r.s, node)) < 0) {
		fprintf(stderr, "%s: unknown node '%s' in %s\n", r.prog, node, r.dir);
		st = CX_EXIT_USER;
	}
	if (st == CX_EXIT_OK && print_plan(&r, only) < 0)
		st = CX_EXIT_USER;
	run_free(&r);
	return st;
}
