/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_report.c -- `cunxiang report`: reach, awareness and alert delivery over a period */
#include "config.h"

#include "cconf.h"
#include "commands.h"
#include "cxtime.h"
#include "diag.h"
#include "fileio.h"
#include "report.h"
#include "schedule.h"
#include "store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DAYS 7
#define MAX_DAYS 3660

static void report_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang report -c controller.yaml [--from DATE] [--to DATE] [--notice ID]\n"
		   "                       [--village CODE] [--format text|csv|json|html] [-o FILE]\n\n"
		   "Reach (到达率), household reach and the awareness estimate (知晓率) per notice,\n"
		   "per village and per day; alert delivery (drills and tests apart); fleet\n"
		   "health; receipts that fit no planned play. Reads DATA_DIR/receipts.db without\n"
		   "changing it, and the presence profile and time zone from the schedules'\n"
		   "fleet.yaml. Dates are civil dates in the township's time zone.\n\n"
		   "  -c --config FILE    controller configuration\n"
		   "     --from DATE      first day, YYYY-MM-DD (default: 6 days before --to)\n"
		   "     --to DATE        last day, included (default: today)\n"
		   "     --notice ID      only this notice (or the alert with this id)\n"
		   "     --village CODE   only this village, by code or name\n"
		   "  -f --format FORMAT  text (default), csv, json or html (one self-contained file)\n"
		   "  -o --output FILE    write to FILE (replaced atomically) instead of stdout\n"
		   "  -h --help           show this help\n"
		   "     --version        show the version\n\n"
		   "Plays planned to start after the time of the report are not counted yet.\n"
		   "Every report prints the model and its assumptions.\n\n"
		   "See cunxiang(1).\n");
}

struct titles {
	const struct schedule *m;
};

static const char *title_of(const char *id, void *ud)
{
	const struct titles *t = ud;

	for (size_t i = 0; t->m && i < schedule_notice_count(t->m); i++) {
		const struct schedule_notice *n = schedule_notice(t->m, i);

		if (n->id && !strcmp(n->id, id))
			return n->title;
	}
	return NULL;
}

/* Errors in fleet.yaml make the presence profile or the zone unreliable;
 * errors in broadcast files do not matter to a report of the past.
 * \retval 0 usable / -1 not (printed) */
static int check_schedules(struct schedule *m, struct diag *d)
{
	const char *dir = schedule_dir(m);
	char prefix[4200];
	size_t bad = 0, other = 0, plen;

	if (!strcmp(dir, "."))
		prefix[0] = '\0';
	else
		snprintf(prefix, sizeof(prefix), "%s%s", dir, !strcmp(dir, "/") ? "" : "/");
	plen = strlen(prefix);
	for (size_t i = 0; diag_get(d, i); i++) {
		const char *t = diag_get(d, i), *name = t + plen, *colon;

		if (!strstr(t, ": error: "))
			continue;
		/* DIR/NAME.yaml:LINE:COL: with NAME not fleet: a broadcast file. */
		colon = strchr(name, ':');
		if (!strncmp(t, prefix, plen) && colon && !strchr(name, '/') && colon - name > 5 &&
		    !strncmp(colon - 5, ".yaml", 5) && strncmp(name, "fleet.yaml:", 11)) {
			other++;
		} else {
			fprintf(stderr, "%s\n", t);
			bad++;
		}
	}
	if (bad) {
		fprintf(stderr, "cunxiang report: the schedules' fleet.yaml in %s has errors; the report "
			"needs its time zone and presence profile\n", dir);
		return -1;
	}
	if (other)
		fprintf(stderr, "cunxiang report: warning: %zu error%s in the broadcast files of %s "
			"(`cunxiang check`); the report uses fleet.yaml only\n", other,
			other == 1 ? "" : "s", dir);
	return 0;
}

static int parse_day(const char *s, const char *what, int64_t *day)
{
	int y, m, d;

	if (cx_parse_date(s, &y, &m, &d) < 0 || !cx_date_valid(y, m, d)) {
		fprintf(stderr, "cunxiang report: %s must be a date YYYY-MM-DD, not '%s'\n", what, s);
		return -1;
	}
	*day = cx_days_from_civil(y, m, d);
	return 0;
}

static int midnight(int64_t day, int64_t *ms)
{
	int y, m, d;

	cx_civil_from_days(day, &y, &m, &d);
	return cx_tz_civil_to_ms(y, m, d, 0, 0, ms);
}

static int write_out(const char *path, const char *buf, size_t len)
{
	int r;

	if (!path) {
		if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
			fprintf(stderr, "cunxiang report: cannot write the output: %s\n", strerror(errno));
			return -1;
		}
		return 0;
	}
	if ((r = fio_write_atomic(path, buf, len, 0644)) < 0) {
		fprintf(stderr, "cunxiang report: cannot write %s: %s\n", path, strerror(-r));
		return -1;
	}
	return 0;
}

/* What the command line asks for. */
struct args {
	const char *config, *from_s, *to_s, *output;
	const char *notice, *village;  /* NULL: all */
	enum report_format format;
	int64_t from_day, to_day;      /* days since the epoch, set with FROM_S, TO_S */
};

/* \retval -1 go on / the exit code */
static int parse_args(int argc, char **argv, struct args *a)
{
	enum { O_FROM = 256, O_TO, O_NOTICE, O_VILLAGE, O_VERSION };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "notice", required_argument, NULL, O_NOTICE },
		{ "village", required_argument, NULL, O_VILLAGE },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	const char *format_s = "text";
	int c;

	*a = (struct args){ 0 };
	while ((c = getopt_long(argc, argv, "c:f:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case O_FROM: a->from_s = optarg; break;
		case O_TO: a->to_s = optarg; break;
		case O_NOTICE: a->notice = optarg; break;
		case O_VILLAGE: a->village = optarg; break;
		case 'f': format_s = optarg; break;
		case 'o': a->output = optarg; break;
		case 'h': report_help(stdout); return CX_EXIT_OK;
		case O_VERSION: printf("cunxiang %s\n", CX_VERSION); return CX_EXIT_OK;
		default: report_help(stderr); return CX_EXIT_USAGE;
		}
	}
	if (!a->config || optind != argc || report_format_parse(format_s, &a->format) < 0 ||
	    (a->notice && !a->notice[0]) || (a->village && !a->village[0]) ||
	    (a->output && !a->output[0])) {
		report_help(stderr);
		return CX_EXIT_USAGE;
	}
	if ((a->from_s && parse_day(a->from_s, "--from", &a->from_day) < 0) ||
	    (a->to_s && parse_day(a->to_s, "--to", &a->to_day) < 0))
		return CX_EXIT_USAGE;
	return -1;
}

/* The configuration, and the schedules for the zone (selected here) and
 * the presence profile. \retval 0 / -1 (printed) */
static int load_config(const char *config, struct diag *d, struct cconf **cf, struct schedule **m)
{
	if (!(*cf = cconf_load(config, d))) {
		diag_print(d, stderr);
		return -1;
	}
	if (!(*m = schedule_load((*cf)->schedules, d))) {
		fprintf(stderr, "cunxiang report: out of memory\n");
		return -1;
	}
	if (check_schedules(*m, d) < 0)
		return -1;
	if (cx_tz_set(schedule_township(*m)->timezone) < 0) {
		fprintf(stderr, "cunxiang report: unknown time zone '%s'\n", schedule_township(*m)->timezone);
		return -1;
	}
	return 0;
}

/* The period in RO from A's days: up to today and DEFAULT_DAYS long
 * unless given. \retval 0 / -1 (printed) */
static int resolve_period(const struct args *a, int64_t now, struct report_opts *ro)
{
	int64_t from_day = a->from_day, to_day = a->to_day;

	if (!a->to_s) {
		struct tm tm;

		cx_tz_ms_to_civil(now, &tm);
		to_day = cx_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		/* From a day after today: the default length from there. */
		if (a->from_s && to_day < from_day)
			to_day = from_day + DEFAULT_DAYS - 1;
	}
	if (!a->from_s)
		from_day = to_day - (DEFAULT_DAYS - 1);
	if (to_day < from_day) {
		fprintf(stderr, "cunxiang report: --to %s is before --from %s\n", a->to_s,
			a->from_s ? a->from_s : "");
		return -1;
	}
	if (to_day - from_day >= MAX_DAYS) {
		fprintf(stderr, "cunxiang report: the period is longer than %d days\n", MAX_DAYS);
		return -1;
	}
	if (midnight(from_day, &ro->from_ms) < 0 || midnight(to_day + 1, &ro->to_ms) < 0) {
		fprintf(stderr, "cunxiang report: the period is outside the years the calendar knows\n");
		return -1;
	}
	return 0;
}

/* Compute the report from DATA_DIR's store and write it to OUTPUT
 * (stdout when NULL). \retval 0 / -1 (printed) */
static int run(const char *data_dir, const struct report_opts *ro, enum report_format format,
	       const char *output)
{
	struct report *rep = NULL;
	struct store *st = NULL;
	char err[600], *path, *buf = NULL;
	size_t len = 0;
	int ret = -1, c;
	FILE *mem;

	if (!(path = fio_join(data_dir, STORE_FILE))) {
		fprintf(stderr, "cunxiang report: out of memory\n");
		return -1;
	}
	if (!(st = store_open(path, STORE_READONLY, err, sizeof(err)))) {
		if (errno == ENOENT)
			fprintf(stderr, "cunxiang report: %s does not exist yet; `cunxiang serve` creates it\n", path);
		else
			fprintf(stderr, "cunxiang report: cannot read the store: %s\n", err);
		goto out;
	}
	if (!(rep = report_compute(st, ro, err, sizeof(err)))) {
		fprintf(stderr, "cunxiang report: cannot read %s: %s\n", path, err);
		goto out;
	}
	if (!(mem = open_memstream(&buf, &len))) {
		fprintf(stderr, "cunxiang report: out of memory\n");
		goto out;
	}
	c = report_write(rep, format, ro->now_ms, mem);
	if (fclose(mem) != 0 || c < 0) {
		fprintf(stderr, "cunxiang report: cannot render the report: %s\n", strerror(c < 0 ? -c : ENOMEM));
		goto out;
	}
	ret = write_out(output, buf, len);
out:
	free(buf);
	report_free(rep);
	store_close(st);
	free(path);
	return ret;
}

int cmd_report(int argc, char **argv)
{
	struct report_opts ro = { 0 };
	struct schedule *m = NULL;
	struct cconf *cf = NULL;
	struct diag *d = NULL;
	struct titles titles;
	struct args a;
	int ret = parse_args(argc, argv, &a);

	if (ret >= 0)
		return ret;
	ret = CX_EXIT_USER;
	if (!(d = diag_new())) {
		fprintf(stderr, "cunxiang report: out of memory\n");
		return CX_EXIT_USER;
	}
	if (load_config(a.config, d, &cf, &m) < 0)
		goto out;
	ro.now_ms = cx_now_ms();
	if (resolve_period(&a, ro.now_ms, &ro) < 0)
		goto out;
	ro.notice = a.notice;
	ro.village = a.village;
	ro.presence = schedule_township(m)->presence;
	ro.npresence = schedule_township(m)->npresence;
	ro.township = schedule_township(m)->name[0] ? schedule_township(m)->name : NULL;
	ro.timezone = schedule_township(m)->timezone;
	titles.m = m;
	ro.title = title_of;
	ro.title_ud = &titles;
	if (run(cf->data_dir, &ro, a.format, a.output) == 0)
		ret = CX_EXIT_OK;
out:
	schedule_free(m);
	cconf_free(cf);
	diag_free(d);
	return ret;
}
