/* SPDX-License-Identifier: GPL-2.0-or-later */
/* table.c -- a computed report as tables of typed cells, the one model every output format renders */
#define _GNU_SOURCE /* vasprintf */
#include "table.h"

#include "cxtime.h"
#include "schedule.h"
#include "store.h"
#include "vec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct table_cell *row_new(struct table *t)
{
	struct table_cell *c;

	if (t->nrows == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;

		if (!(c = realloc(t->cells, nc * t->ncols * sizeof(*c)))) {
			t->oom = true;
			return NULL;
		}
		t->cells = c;
		t->cap = nc;
	}
	c = &t->cells[t->nrows++ * t->ncols];
	memset(c, 0, t->ncols * sizeof(*c));
	return c;
}

static void c_str(struct table_cell *c, const char *s) { c->s = s; c->null = !s; }
static void c_int(struct table_cell *c, int64_t v) { c->i = v; c->null = v == STORE_NONE; }
static void c_dbl(struct table_cell *c, double v) { c->d = v; c->null = isnan(v); }

#define FIG_COLS \
	{ "planned", "PLANNED", T_INT }, { "completed", "DONE", T_INT }, \
	{ "interrupted", "INTERR", T_INT }, { "failed", "FAILED", T_INT }, \
	{ "skipped", "SKIPPED", T_INT }, { "expired", "EXPIRED", T_INT }, \
	{ "unfinished", "UNFIN", T_INT }, { "no_receipt", "NO RCPT", T_INT }, \
	{ "targets", "TARGETS", T_INT }, { "reached", "REACHED", T_INT }, \
	{ "reach", "REACH 到达率", T_RATIO }, { "households", "HOUSEHOLDS", T_INT }, \
	{ "households_reached", "HH REACHED", T_INT }, \
	{ "household_reach", "HH REACH", T_RATIO }, { "awareness", "AWARE 知晓率", T_RATIO }
#define NFIG 15
/* The same, as lines of the summary. */
#define FIG_COLS_LONG \
	{ "planned", "Plays due", T_INT }, { "completed", "Completed", T_INT }, \
	{ "interrupted", "Interrupted", T_INT }, { "failed", "Failed", T_INT }, \
	{ "skipped", "Skipped", T_INT }, { "expired", "Expired", T_INT }, \
	{ "unfinished", "Started, no end yet", T_INT }, { "no_receipt", "No receipt", T_INT }, \
	{ "targets", "Targets (node, notice)", T_INT }, { "reached", "Targets reached", T_INT }, \
	{ "reach", "Reach 到达率", T_RATIO }, { "households", "Households targeted", T_INT }, \
	{ "households_reached", "Households reached", T_INT }, \
	{ "household_reach", "Household reach", T_RATIO }, \
	{ "awareness", "Awareness estimate 知晓率", T_RATIO }

static void c_fig(struct table_cell *c, const struct report_fig *f)
{
	c_int(&c[0], f->planned);
	c_int(&c[1], f->completed);
	c_int(&c[2], f->interrupted);
	c_int(&c[3], f->failed);
	c_int(&c[4], f->skipped);
	c_int(&c[5], f->expired);
	c_int(&c[6], f->unfinished);
	c_int(&c[7], f->no_receipt);
	c_int(&c[8], f->targets);
	c_int(&c[9], f->reached);
	c_dbl(&c[10], f->reach);
	c_int(&c[11], f->households);
	c_int(&c[12], f->households_reached);
	c_dbl(&c[13], f->household_reach);
	c_dbl(&c[14], f->awareness);
}

static const struct table_col cols_report[] = {
	{ "township", "Township", T_STR }, { "timezone", "Time zone", T_STR },
	{ "from", "From", T_DATE }, { "to", "To", T_DATE },
	{ "counted_until", "Plays counted until", T_TIME }, { "generated", "Generated", T_TIME },
	{ "notice_filter", "Notice", T_STR }, { "village_filter", "Village", T_STR },
};

static const struct table_col cols_summary[] = {
	FIG_COLS_LONG,
	{ "pending", "Plays still to come (not counted)", T_INT },
	{ "notices", "Notices", T_INT }, { "villages", "Villages", T_INT },
	{ "nodes", "Targeted nodes", T_INT },
	{ "alerts_actual", "Actual alerts", T_INT },
	{ "actual_targeted", "Actual alerts: targeted nodes", T_INT },
	{ "actual_started", "Actual alerts: nodes started", T_INT },
	{ "actual_delivery_p50_ms", "Actual alerts: delivery p50", T_DUR },
	{ "actual_delivery_p95_ms", "Actual alerts: delivery p95", T_DUR },
	{ "actual_delivery_max_ms", "Actual alerts: delivery max", T_DUR },
	{ "alerts_drill", "Drills and tests", T_INT },
	{ "drill_targeted", "Drills and tests: targeted nodes", T_INT },
	{ "drill_started", "Drills and tests: nodes started", T_INT },
	{ "alerts_cap", "Alerts from automatic warnings (CAP)", T_INT },
	{ "cap_not_broadcast", "Automatic warnings not broadcast", T_INT },
	{ "unknown_receipts", "Receipts for unknown occurrences", T_INT },
	{ "quarantined_receipts", "Quarantined receipts", T_INT },
	{ "lost_on_poles", "Receipts lost on poles", T_INT },
	{ "unverified_messages", "Messages that failed verification (not counted)", T_INT },
	{ "nodes_offline_long", "Nodes offline longer than a day", T_INT },
	{ "nodes_spool_backlog", "Nodes with a receipt backlog", T_INT },
	{ "nodes_rejected", "Nodes that rejected messages", T_INT },
	{ "nodes_clock_off", "Nodes with clock offset beyond 10 ms", T_INT },
	{ "fleet_up_share", "Fleet uptime (mean)", T_RATIO },
};

static const struct table_col cols_presence[] = {
	{ "from", "FROM", T_STR }, { "to", "TO", T_STR }, { "presence", "PRESENCE", T_RATIO },
};

static const struct table_col cols_assumptions[] = { { "text", "", T_STR } };

static const struct table_col cols_notices[] = {
	{ "notice", "NOTICE", T_STR }, { "title", "TITLE", T_TEXT }, FIG_COLS,
};

static const struct table_col cols_villages[] = {
	{ "village_code", "CODE", T_STR }, { "village", "VILLAGE", T_STR }, FIG_COLS,
};

static const struct table_col cols_days[] = { { "date", "DATE", T_DATE }, FIG_COLS };

static const struct table_col cols_alerts[] = {
	{ "alert", "ALERT", T_STR }, { "class", "CLASS", T_STR }, { "level", "LEVEL", T_INT },
	{ "title", "TITLE", T_TEXT }, { "issued", "ISSUED", T_TIME },
	{ "cancelled", "CANCELLED", T_TIME }, { "live", "LIVE", T_STR },
	{ "targeted", "TARGETED", T_INT }, { "accepted", "ACCEPTED", T_INT },
	{ "started", "STARTED", T_INT }, { "completed", "COMPLETED", T_INT },
	{ "other_nodes", "OTHERS", T_INT }, { "delivery_p50_ms", "P50", T_DUR },
	{ "delivery_p95_ms", "P95", T_DUR }, { "delivery_max_ms", "MAX", T_DUR },
	{ "never_reached", "NOT REACHED", T_INT },
	{ "cap_sender", "CAP SENDER", T_STR }, { "cap_identifier", "CAP IDENTIFIER", T_TEXT },
};

static const struct table_col cols_missed[] = {
	{ "alert", "ALERT", T_STR }, { "class", "CLASS", T_STR }, { "node", "NODE", T_STR },
	{ "village_code", "CODE", T_STR }, { "village", "VILLAGE", T_STR },
	{ "last_receipt", "LAST RECEIPT", T_STR }, { "reason", "REASON", T_TEXT },
	{ "status", "STATUS", T_STR }, { "last_seen", "LAST SEEN", T_TIME },
};

static const struct table_col cols_cap[] = {
	{ "received", "RECEIVED", T_TIME }, { "sender", "SENDER", T_STR },
	{ "identifier", "IDENTIFIER", T_TEXT }, { "msg_type", "TYPE", T_STR },
	{ "title", "EVENT/TITLE", T_TEXT }, { "decision", "DECISION", T_STR },
	{ "reason", "REASON", T_TEXT }, { "origin", "ORIGIN", T_TEXT },
};

static const struct table_col cols_unknown[] = {
	{ "node", "NODE", T_STR }, { "seq", "SEQ", T_INT }, { "occ", "OCC", T_TEXT },
	{ "kind", "KIND", T_STR }, { "state", "STATE", T_STR }, { "at", "AT", T_TIME },
};

static const struct table_col cols_bad[] = {
	{ "node", "NODE", T_STR }, { "seq", "SEQ", T_INT }, { "received", "RECEIVED", T_TIME },
	{ "error", "ERROR", T_TEXT },
};

static const struct table_col cols_lost[] = {
	{ "node", "NODE", T_STR }, { "seq", "SEQ", T_INT }, { "received", "RECEIVED", T_TIME },
	{ "reason", "REASON", T_TEXT },
};

static const struct table_col cols_nodes[] = {
	{ "node", "NODE", T_STR }, { "village_code", "CODE", T_STR }, { "village", "VILLAGE", T_STR },
	{ "in_fleet", "IN FLEET", T_BOOL }, { "households", "HOUSEHOLDS", T_INT },
	{ "state", "STATE", T_STR }, { "last_seen", "LAST SEEN", T_TIME },
	{ "up_share", "UPTIME", T_RATIO }, { "longest_offline_ms", "LONGEST OFFLINE", T_DUR },
	{ "offline_from", "OFFLINE FROM", T_TIME }, { "spool", "SPOOL", T_INT },
	{ "held", "HELD", T_INT }, { "rejected", "REJECTED", T_INT },
	{ "clock_offset_us", "OFFSET US", T_INT }, { "offline_long", "OFFLINE >1D", T_BOOL },
	{ "clock_off", "CLOCK >10MS", T_BOOL },
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const char *own(struct table_set *o, char *s)
{
	if (!s || !vec_grow((void **)&o->texts, &o->texts_cap, o->ntexts + 1, sizeof(*o->texts))) {
		free(s);
		o->oom = true;
		return "";
	}
	return o->texts[o->ntexts++] = s;
}

static const char *ownf(struct table_set *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *ownf(struct table_set *o, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return own(o, n < 0 ? NULL : s);
}

void table_fmt_date(int64_t ms, char *out, size_t size)
{
	struct tm tm;

	cx_tz_ms_to_civil(ms, &tm);
	snprintf(out, size, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static void fmt_percent(double v, char *out, size_t size)
{
	snprintf(out, size, "%.1f%%", v * 100.0);
}

static void fmt_share(double v, char *out, size_t size)
{
	snprintf(out, size, "%.0f%%", v * 100.0);
}

/* Human duration: "850 ms", "1.25 s", "3 min 20 s", "5 h 12 min", "2 d 4 h". */
void table_fmt_dur(int64_t ms, char *out, size_t size)
{
	const char *sign = ms < 0 ? "-" : "";
	int64_t a = ms < 0 ? -ms : ms;

	if (a < 1000)
		snprintf(out, size, "%s%lld ms", sign, (long long)a);
	else if (a < 60000)
		snprintf(out, size, "%s%.2f s", sign, (double)a / 1000.0);
	else if (a < 3600000)
		snprintf(out, size, "%s%lld min %lld s", sign, (long long)(a / 60000), (long long)(a / 1000 % 60));
	else if (a < 86400000)
		snprintf(out, size, "%s%lld h %lld min", sign, (long long)(a / 3600000), (long long)(a / 60000 % 60));
	else
		snprintf(out, size, "%s%lld d %lld h", sign, (long long)(a / 86400000), (long long)(a / 3600000 % 24));
}

void table_fmt_time(int64_t ms, char *out, size_t size)
{
	struct tm tm;

	cx_tz_ms_to_civil(ms, &tm);
	snprintf(out, size, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min);
}

/* ISO 8601 with the zone's offset: 2026-12-01T07:30:00+08:00. */
void table_fmt_iso(int64_t ms, char *out, size_t size)
{
	struct tm tm;
	long off;

	cx_tz_ms_to_civil(ms, &tm);
	off = tm.tm_gmtoff;
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
		 labs(off) / 3600, labs(off) / 60 % 60);
}

/* Ratios are written rounded to 6 decimals, the same in CSV and JSON. */
double table_ratio6(double v)
{
	return round(v * 1e6) / 1e6;
}

/* 0.5 as "0.5", 1/3 as "0.333333": fixed notation, no trailing zeros. */
static void fmt_ratio(double v, char *out, size_t size)
{
	size_t n;

	snprintf(out, size, "%.6f", table_ratio6(v));
	n = strlen(out);
	while (n > 1 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 1 && out[n - 1] == '.')
		out[--n] = '\0';
	if (!strcmp(out, "-0"))
		snprintf(out, size, "0");
}

/* A cell as people read it (text, HTML). "-" for absent values. */
void table_human(const struct table_col *k, const struct table_cell *c, char *out, size_t size)
{
	if (c->null) {
		snprintf(out, size, "-");
		return;
	}
	switch (k->t) {
	case T_STR: case T_TEXT: snprintf(out, size, "%s", c->s); break;
	case T_INT: snprintf(out, size, "%lld", (long long)c->i); break;
	case T_RATIO: fmt_percent(c->d, out, size); break;
	case T_TIME: table_fmt_time(c->i, out, size); break;
	case T_DATE: table_fmt_date(c->i, out, size); break;
	case T_DUR: table_fmt_dur(c->i, out, size); break;
	case T_BOOL: snprintf(out, size, "%s", c->i ? "yes" : "no"); break;
	}
}

/* A cell as programs read it (CSV); "" for absent values. */
void table_machine(const struct table_col *k, const struct table_cell *c, char *out, size_t size)
{
	if (c->null) {
		out[0] = '\0';
		return;
	}
	switch (k->t) {
	case T_STR: case T_TEXT: snprintf(out, size, "%s", c->s); break;
	case T_INT: case T_DUR: snprintf(out, size, "%lld", (long long)c->i); break;
	case T_RATIO: fmt_ratio(c->d, out, size); break;
	case T_TIME: table_fmt_iso(c->i, out, size); break;
	case T_DATE: table_fmt_date(c->i, out, size); break;
	case T_BOOL: snprintf(out, size, "%s", c->i ? "true" : "false"); break;
	}
}

bool table_numeric(enum table_type t)
{
	return t == T_INT || t == T_RATIO || t == T_DUR;
}

static void table_init(struct table *t, const char *key, const char *title, const struct table_col *cols,
		       size_t ncols, bool single)
{
	*t = (struct table){ .key = key, .title = title, .cols = cols, .ncols = ncols, .single = single };
}

static void tables_init(struct table_set *o, const struct report *r, int64_t generated_ms)
{
	struct table *t = o->t;

	*o = (struct table_set){ .r = r, .generated_ms = generated_ms };
	table_init(&t[TB_REPORT], "report", "Report", cols_report, NCOLS(cols_report), true);
	table_init(&t[TB_SUMMARY], "summary", "Summary", cols_summary, NCOLS(cols_summary), true);
	table_init(&t[TB_PRESENCE], "presence", "Presence profile", cols_presence, NCOLS(cols_presence), false);
	table_init(&t[TB_ASSUMPTIONS], "assumptions", "Model and assumptions", cols_assumptions,
		   NCOLS(cols_assumptions), false);
	table_init(&t[TB_NOTICES], "notices", "Notices", cols_notices, NCOLS(cols_notices), false);
	table_init(&t[TB_VILLAGES], "villages", "Villages", cols_villages, NCOLS(cols_villages), false);
	table_init(&t[TB_DAYS], "days", "Days", cols_days, NCOLS(cols_days), false);
	table_init(&t[TB_ALERTS], "alerts", "Alerts", cols_alerts, NCOLS(cols_alerts), false);
	table_init(&t[TB_MISSED], "alert_not_reached", "Alerts: targeted nodes never reached",
		   cols_missed, NCOLS(cols_missed), false);
	table_init(&t[TB_CAP], "cap_not_broadcast", "Automatic warnings not broadcast", cols_cap,
		   NCOLS(cols_cap), false);
	table_init(&t[TB_UNKNOWN], "unknown_receipts", "Receipts for unknown occurrences", cols_unknown,
		   NCOLS(cols_unknown), false);
	table_init(&t[TB_BAD], "quarantined_receipts", "Quarantined receipts", cols_bad, NCOLS(cols_bad), false);
	table_init(&t[TB_LOST], "receipts_lost", "Receipts lost on poles", cols_lost, NCOLS(cols_lost),
		   false);
	table_init(&t[TB_NODES], "nodes", "Fleet health", cols_nodes, NCOLS(cols_nodes), false);
}

/* The period, the filters and the times of the report; its totals. */
static void rows_heading(struct table_set *o)
{
	const struct report_opts *ro = report_opts(o->r);
	const struct report_summary *s = report_summary(o->r);
	struct table_cell *c;

	if ((c = row_new(&o->t[TB_REPORT]))) {
		c_str(&c[0], ro->township);
		c_str(&c[1], ro->timezone);
		c_int(&c[2], ro->from_ms);
		c_int(&c[3], ro->to_ms - 1);
		c_int(&c[4], report_counted_until(o->r));
		c_int(&c[5], o->generated_ms);
		c_str(&c[6], ro->notice);
		c_str(&c[7], ro->village);
	}
	if ((c = row_new(&o->t[TB_SUMMARY]))) {
		c_fig(c, &s->total);
		c += NFIG;
		c_int(&c[0], s->pending);
		c_int(&c[1], s->notices);
		c_int(&c[2], s->villages);
		c_int(&c[3], s->nodes);
		c_int(&c[4], s->alerts_actual);
		c_int(&c[5], s->actual_targeted);
		c_int(&c[6], s->actual_started);
		c_int(&c[7], s->actual_p50_ms);
		c_int(&c[8], s->actual_p95_ms);
		c_int(&c[9], s->actual_max_ms);
		c_int(&c[10], s->alerts_drill);
		c_int(&c[11], s->drill_targeted);
		c_int(&c[12], s->drill_started);
		c_int(&c[13], s->alerts_cap);
		c_int(&c[14], s->cap_not_broadcast);
		c_int(&c[15], s->unknown_receipts);
		c_int(&c[16], s->quarantined);
		c_int(&c[17], s->lost_on_poles);
		c_int(&c[18], s->unverified);
		c_int(&c[19], s->nodes_offline_long);
		c_int(&c[20], s->nodes_spool);
		c_int(&c[21], s->nodes_rejected);
		c_int(&c[22], s->nodes_clock_off);
		c_dbl(&c[23], s->fleet_up_share);
	}
}

/* The presence profile and the model the figures follow. */
static void rows_model(struct table_set *o)
{
	const struct report_opts *ro = report_opts(o->r);
	const struct report_summary *s = report_summary(o->r);
	char until[32], prof[1024] = "";
	const char *lines[12];
	struct table_cell *c;
	size_t off = 0, n = 0;

	for (size_t i = 0; i < ro->npresence; i++) {
		char range[12];

		if (!(c = row_new(&o->t[TB_PRESENCE])))
			break;
		schedule_range_format(&ro->presence[i].range, range);
		range[5] = '\0';
		c_str(&c[0], ownf(o, "%s", range));
		c_str(&c[1], ownf(o, "%s", range + 6));
		c_dbl(&c[2], ro->presence[i].share);
	}
	table_fmt_time(report_counted_until(o->r), until, sizeof(until));
	for (size_t i = 0; i < ro->npresence && off < sizeof(prof); i++) {
		char range[12], share[16];

		schedule_range_format(&ro->presence[i].range, range);
		fmt_share(ro->presence[i].share, share, sizeof(share));
		off += (size_t)snprintf(prof + off, sizeof(prof) - off, "%s%s %s", i ? ", " : "", range, share);
	}
	lines[n++] = "Reach (到达率) of a notice = targeted nodes with at least one completed play of it "
		     "÷ targeted nodes; a node is targeted when the notice was planned on it in the period. "
		     "Villages, days and the total count (node, notice) targets the same way.";
	lines[n++] = "Household reach = households of the reached targets ÷ households of all targets "
		     "(households within earshot of each pole, as the fleet in the store gives them).";
	lines[n++] = "Awareness (知晓率) = Σ h_n·P_n ÷ Σ h_n, P_n = 1 − Π_i (1 − presence(t_i)) over node n's "
		     "completed plays of the notice, t_i the local time each play started; "
		     "a day's figure uses that day's plays only.";
	lines[n++] = ownf(o, "Presence profile (share of people within earshot, from fleet.yaml as it is "
			  "now): %s; 0%% at every other time.", ro->npresence ? prof : "none given");
	lines[n++] = "Only a completed receipt reaches: interrupted, failed, skipped, expired and "
		     "unfinished plays, and plays without any receipt (missing receipts), do not.";
	lines[n++] = ownf(o, "A play counts when its planned start is in the period and before %s; "
			  "plays planned later (%lld) are still to come and not counted.", until,
			  (long long)s->pending);
	lines[n++] = "A duplicate receipt (same node and seq) is stored once; several receipts of one play "
		     "count it once. Receipts for unknown occurrences and quarantined receipts are "
		     "listed, not counted.";
	lines[n++] = "Alerts: a targeted node is reached when it started the alert; delivery time = its "
		     "first start − the alert's issue time; p50/p95 are nearest-rank percentiles. Drills "
		     "and tests are reported apart and never enter the actual figures; alerts never "
		     "enter the notices' figures.";
	lines[n++] = "Automatic warnings: an alert issued for a CAP message shows the message's sender "
		     "and identifier. Every CAP message received in the period and not broadcast (held "
		     "for an operator, ignored, rejected, or expired while held) is listed with the "
		     "reason, whatever the village filter; none with a notice filter.";
	lines[n++] = "Fleet health: uptime = time idle or playing ÷ the period up to the report (time "
		     "before a node's first status counts as down); spool, held receipts, rejected "
		     "messages and clock offset are as of each node's last status.";
	for (size_t i = 0; i < n; i++)
		if ((c = row_new(&o->t[TB_ASSUMPTIONS])))
			c_str(&c[0], lines[i]);
}

/* Notices, villages and days: an id or a date, then the figures. */
static void rows_figures(struct table_set *o)
{
	const struct report *r = o->r;
	struct table_cell *c;

	for (size_t i = 0; i < report_notice_count(r); i++) {
		const struct report_notice *x = report_notice(r, i);

		if (!(c = row_new(&o->t[TB_NOTICES])))
			break;
		c_str(&c[0], x->id);
		c_str(&c[1], x->title);
		c_fig(c + 2, &x->f);
	}
	for (size_t i = 0; i < report_village_count(r); i++) {
		const struct report_village *x = report_village(r, i);

		if (!(c = row_new(&o->t[TB_VILLAGES])))
			break;
		c_str(&c[0], x->code);
		c_str(&c[1], x->name);
		c_fig(c + 2, &x->f);
	}
	for (size_t i = 0; i < report_day_count(r); i++) {
		const struct report_day *x = report_day(r, i);

		if (!(c = row_new(&o->t[TB_DAYS])))
			break;
		c_int(&c[0], x->start_ms);
		c_fig(c + 1, &x->f);
	}
}

/* The targeted nodes alert A never started on. */
static void rows_missed(struct table_set *o, const struct report_alert *a)
{
	for (size_t k = 0; k < a->nmissed; k++) {
		const struct report_missed *m = &a->missed[k];
		struct table_cell *d = row_new(&o->t[TB_MISSED]);

		if (!d)
			break;
		c_str(&d[0], a->id);
		c_str(&d[1], a->alert_class);
		c_str(&d[2], m->node);
		c_str(&d[3], m->village_code);
		c_str(&d[4], m->village_name);
		c_str(&d[5], m->last_receipt);
		c_str(&d[6], m->reason);
		c_str(&d[7], m->status);
		c_int(&d[8], m->last_seen_ms);
	}
}

static void rows_alerts(struct table_set *o)
{
	struct table_cell *c;

	for (size_t i = 0; i < report_alert_count(o->r); i++) {
		const struct report_alert *a = report_alert(o->r, i);

		if (!(c = row_new(&o->t[TB_ALERTS])))
			break;
		c_str(&c[0], a->id);
		c_str(&c[1], a->alert_class);
		c_int(&c[2], a->level);
		c_str(&c[3], a->title);
		c_int(&c[4], a->issued_ms);
		c_int(&c[5], a->cancelled_ms);
		c_str(&c[6], a->live);
		c_int(&c[7], a->targeted);
		c_int(&c[8], a->accepted);
		c_int(&c[9], a->started);
		c_int(&c[10], a->completed);
		c_int(&c[11], a->other_nodes);
		c_int(&c[12], a->p50_ms);
		c_int(&c[13], a->p95_ms);
		c_int(&c[14], a->max_ms);
		c_int(&c[15], (int64_t)a->nmissed);
		c_str(&c[16], a->cap_sender);
		c_str(&c[17], a->cap_identifier);
		rows_missed(o, a);
	}
}

/* CAP messages received and not broadcast. */
static void rows_cap(struct table_set *o)
{
	struct table_cell *c;

	for (size_t i = 0; i < report_cap_count(o->r); i++) {
		const struct report_cap *x = report_cap(o->r, i);

		if (!(c = row_new(&o->t[TB_CAP])))
			break;
		c_int(&c[0], x->received_ms);
		c_str(&c[1], x->sender);
		c_str(&c[2], x->identifier);
		c_str(&c[3], x->msg_type);
		c_str(&c[4], x->title);
		c_str(&c[5], x->decision);
		c_str(&c[6], x->reason);
		c_str(&c[7], x->origin);
	}
}

/* Receipts that fit no planned play, quarantined ones, ones lost on poles. */
static void rows_receipts(struct table_set *o)
{
	const struct report *r = o->r;
	struct table_cell *c;

	for (size_t i = 0; i < report_unknown_count(r); i++) {
		const struct report_unknown *u = report_unknown(r, i);

		if (!(c = row_new(&o->t[TB_UNKNOWN])))
			break;
		c_str(&c[0], u->node);
		c_int(&c[1], u->seq);
		c_str(&c[2], u->occ);
		c_str(&c[3], u->kind);
		c_str(&c[4], u->state);
		c_int(&c[5], u->at_ms);
	}
	for (size_t i = 0; i < report_bad_count(r); i++) {
		const struct report_bad *b = report_bad(r, i);

		if (!(c = row_new(&o->t[TB_BAD])))
			break;
		c_str(&c[0], b->node);
		c_int(&c[1], b->seq);
		c_int(&c[2], b->received_ms);
		c_str(&c[3], b->error);
	}
	for (size_t i = 0; i < report_lost_count(r); i++) {
		const struct report_bad *b = report_lost(r, i);

		if (!(c = row_new(&o->t[TB_LOST])))
			break;
		c_str(&c[0], b->node);
		c_int(&c[1], b->seq);
		c_int(&c[2], b->received_ms);
		c_str(&c[3], b->error);
	}
}

static void rows_nodes(struct table_set *o)
{
	struct table_cell *c;

	for (size_t i = 0; i < report_node_count(o->r); i++) {
		const struct report_node *h = report_node(o->r, i);

		if (!(c = row_new(&o->t[TB_NODES])))
			break;
		c_str(&c[0], h->id);
		c_str(&c[1], h->village_code[0] ? h->village_code : NULL);
		c_str(&c[2], h->village_code[0] ? h->village_name : NULL);
		c_int(&c[3], h->in_fleet);
		c_int(&c[4], h->households);
		c_str(&c[5], h->state);
		c_int(&c[6], h->last_seen_ms);
		c_dbl(&c[7], h->up_share);
		c_int(&c[8], h->longest_offline_ms);
		c_int(&c[9], h->offline_from_ms);
		c_int(&c[10], h->spool);
		c_int(&c[11], h->held);
		c_int(&c[12], h->rejected);
		c_int(&c[13], h->clock_offset_us);
		c_int(&c[14], h->offline_long);
		c_int(&c[15], h->clock_off);
	}
}

int table_set_build(struct table_set *o, const struct report *r, int64_t generated_ms)
{
	tables_init(o, r, generated_ms);
	rows_heading(o);
	rows_model(o);
	rows_figures(o);
	rows_alerts(o);
	rows_cap(o);
	rows_receipts(o);
	rows_nodes(o);
	for (int i = 0; i < TB__COUNT; i++)
		if (o->t[i].oom)
			o->oom = true;
	return o->oom ? -ENOMEM : 0;
}

void table_set_free(struct table_set *o)
{
	for (int i = 0; i < TB__COUNT; i++)
		free(o->t[i].cells);
	for (size_t i = 0; i < o->ntexts; i++)
		free(o->texts[i]);
	free(o->texts);
}
