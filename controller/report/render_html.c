/* SPDX-License-Identifier: GPL-2.0-or-later */
/* render_html.c -- a report as one self-contained HTML page: cards, SVG charts and the tables */
#include "render.h"

#include <math.h>
#include <string.h>

static void h(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char css[] =
	":root{--ink:#1a202c;--mute:#5a6472;--line:#d9dee5;--reach:#2b6cb0;--aware:#c05621;--drill:#a0aec0}"
	"*{box-sizing:border-box}"
	"body{margin:0;color:var(--ink);background:#fff;font:15px/1.45 system-ui,-apple-system,"
	"\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"WenQuanYi Micro Hei\",\"Microsoft YaHei\",sans-serif}"
	"main{max-width:1120px;margin:0 auto;padding:16px}"
	"h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid var(--line)}"
	".meta{color:var(--mute);margin:0 0 12px}"
	".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;margin:12px 0}"
	".card{border:1px solid var(--line);border-radius:6px;padding:8px 10px}"
	".card .v{font-size:26px;font-weight:600}.card .k{color:var(--mute);font-size:13px}"
	".card.warn .v{color:#b7791f}"
	".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}"
	"table{border-collapse:collapse;width:100%;font-size:13px}"
	"th,td{padding:3px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}"
	"th{background:#f4f6f8;white-space:nowrap}td{white-space:nowrap}td.t{white-space:normal;min-width:12em}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"table.kv td:first-child{color:var(--mute)}"
	"figure{margin:8px 0;overflow-x:auto}svg{display:block;width:100%;max-width:960px;height:auto}"
	"svg text{font-size:13px;fill:var(--ink)}svg .axis{fill:var(--mute);font-size:11px}"
	"svg .grid{stroke:var(--line);stroke-width:1}"
	"svg .bar{fill:var(--reach)}svg .mark{stroke:var(--aware);stroke-width:3}"
	"svg .lreach{stroke:var(--reach);fill:none;stroke-width:2}svg .laware{stroke:var(--aware);fill:none;stroke-width:2}"
	"svg .preach{fill:var(--reach)}svg .paware{fill:var(--aware)}"
	"svg .p95{fill:var(--reach);opacity:.75}svg .p95.drill{fill:var(--drill)}"
	"svg .p50{stroke:var(--ink);stroke-width:2}svg .whisker{stroke:var(--ink);stroke-width:1}"
	".legend{color:var(--mute);font-size:13px}.legend i{display:inline-block;width:12px;height:12px;"
	"margin:0 4px -1px 10px;border-radius:2px}"
	".none{color:var(--mute)}ul.model li{margin:2px 0}"
	"@media (max-width:600px){main{padding:10px}h1{font-size:20px}.card .v{font-size:22px}"
	"table{font-size:12px}figure svg{min-width:540px}}"
	"@media print{@page{size:A4 landscape;margin:10mm}body{font-size:10pt}main{max-width:none;padding:0}"
	".scroll,figure{overflow:visible}figure svg{min-width:0}table{font-size:7.5pt}th,td{padding:1px 3px}"
	"th,th.n,td{white-space:normal}td.n,td.d{white-space:nowrap}"
	"h2{break-after:avoid}figure,.cards,tr{break-inside:avoid}thead{display:table-header-group}"
	".card{border-color:#999}}";

/* Formatting helpers that go straight to the file. */
static void h_pct(FILE *f, double v)
{
	if (isnan(v))
		fputs("–", f);
	else
		fprintf(f, "%.1f%%", v * 100.0);
}

static void h_dur(FILE *f, int64_t ms)
{
	char buf[64];

	if (ms == REPORT_NONE) {
		fputs("–", f);
		return;
	}
	table_fmt_dur(ms, buf, sizeof(buf));
	h(f, buf);
}

static void html_cards(FILE *f, const struct report *r)
{
	const struct report_summary *s = report_summary(r);

	fputs("<section class=\"cards\">", f);
	fputs("<div class=\"card\"><div class=\"v\">", f);
	h_pct(f, s->total.reach);
	fprintf(f, "</div><div class=\"k\">Reach 到达率 · %lld of %lld targets</div></div>",
		(long long)s->total.reached, (long long)s->total.targets);
	fputs("<div class=\"card\"><div class=\"v\">", f);
	h_pct(f, s->total.household_reach);
	fprintf(f, "</div><div class=\"k\">Household reach · %lld of %lld</div></div>",
		(long long)s->total.households_reached, (long long)s->total.households);
	fputs("<div class=\"card\"><div class=\"v\">", f);
	h_pct(f, s->total.awareness);
	fputs("</div><div class=\"k\">Awareness estimate 知晓率</div></div>", f);
	fprintf(f, "<div class=\"card\"><div class=\"v\">%lld</div><div class=\"k\">plays completed of %lld due"
		" (%lld no receipt)</div></div>", (long long)s->total.completed, (long long)s->total.planned,
		(long long)s->total.no_receipt);
	fprintf(f, "<div class=\"card\"><div class=\"v\">%lld</div><div class=\"k\">actual alerts · "
		"%lld of %lld nodes started · p95 ", (long long)s->alerts_actual,
		(long long)s->actual_started, (long long)s->actual_targeted);
	h_dur(f, s->actual_p95_ms);
	fputs("</div></div>", f);
	fprintf(f, "<div class=\"card\"><div class=\"v\">%lld</div><div class=\"k\">drills and tests "
		"(kept apart)</div></div>", (long long)s->alerts_drill);
	fputs("<div class=\"card\"><div class=\"v\">", f);
	h_pct(f, s->fleet_up_share);
	fprintf(f, "</div><div class=\"k\">fleet uptime · %lld offline &gt; 1 day · %lld clock &gt; 10 ms"
		"</div></div>", (long long)s->nodes_offline_long, (long long)s->nodes_clock_off);
	fprintf(f, "<div class=\"card%s\"><div class=\"v\">%lld</div><div class=\"k\">receipts for unknown "
		"occurrences · %lld quarantined · %lld lost on poles · %lld failed verification"
		"</div></div>", s->unknown_receipts || s->lost_on_poles || s->unverified ? " warn" : "",
		(long long)s->unknown_receipts, (long long)s->quarantined,
		(long long)s->lost_on_poles, (long long)s->unverified);
	fputs("</section>\n", f);
}

#define CW 720 /* chart width in SVG units */

static void chart_villages(FILE *f, const struct report *r)
{
	const int lw = 150, bw = 380, rh = 26, top = 10;
	size_t n = report_village_count(r);
	int hgt = top + (int)n * rh + 24;

	fputs("<h2>Reach by village 各村到达率</h2>\n", f);
	if (!n) {
		fputs("<p class=\"none\">No village in the report.</p>\n", f);
		return;
	}
	fprintf(f, "<figure><svg id=\"chart-villages\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"Reach by village\" xmlns=\"http://www.w3.org/2000/svg\">", CW, hgt);
	for (int p = 0; p <= 100; p += 25) {
		int x = lw + bw * p / 100;

		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
			"<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d%%</text>",
			x, x, top - 4, hgt - 20, x, hgt - 6, p);
	}
	for (size_t i = 0; i < n; i++) {
		const struct report_village *v = report_village(r, i);
		const char *name = v->name[0] ? v->name : v->code;
		double reach = isnan(v->f.reach) ? 0 : v->f.reach;
		int y = top + (int)i * rh;
		double w = reach * bw;

		fprintf(f, "<g><text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 8, y + 17);
		h(f, name);
		fprintf(f, "</text><rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"18\"><title>",
			lw, y + 4, w);
		h(f, name);
		fputs(": reach ", f);
		h_pct(f, v->f.reach);
		fputs(", awareness ", f);
		h_pct(f, v->f.awareness);
		fputs("</title></rect>", f);
		if (!isnan(v->f.awareness)) {
			double ax = lw + v->f.awareness * bw;

			fprintf(f, "<line class=\"mark\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>", ax, ax,
				y + 2, y + 24);
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\">", lw + bw + 8, y + 17);
		if (isnan(v->f.reach)) {
			fputs("no plays", f);
		} else {
			h_pct(f, v->f.reach);
			fputs(" · 知晓 ", f);
			h_pct(f, v->f.awareness);
		}
		fputs("</text></g>", f);
	}
	fputs("</svg><figcaption class=\"legend\"><i style=\"background:var(--reach)\"></i>reach 到达率"
	      "<i style=\"background:var(--aware)\"></i>awareness 知晓率 (mark)</figcaption></figure>\n", f);
}

/* Where day I of ND sits between X0 and X1; a single day in the middle. */
static double day_x(size_t i, size_t nd, int x0, int x1)
{
	return nd > 1 ? x0 + (double)(x1 - x0) * (double)i / (double)(nd - 1) : (x0 + x1) / 2.0;
}

static void trend_path(FILE *f, const struct report *r, bool aware, int x0, int x1, int y0, int y1)
{
	size_t nd = report_day_count(r);
	bool pen = false;

	fprintf(f, "<path class=\"%s\" d=\"", aware ? "laware" : "lreach");
	for (size_t i = 0; i < nd; i++) {
		const struct report_fig *fig = &report_day(r, i)->f;
		double v = aware ? fig->awareness : fig->reach;
		double x = day_x(i, nd, x0, x1);

		if (isnan(v)) {
			pen = false;
			continue;
		}
		fprintf(f, "%s%.1f %.1f ", pen ? "L" : "M", x, y1 - v * (y1 - y0));
		pen = true;
	}
	fputs("\"/>", f);
	for (size_t i = 0; i < nd; i++) {
		const struct report_fig *fig = &report_day(r, i)->f;
		double v = aware ? fig->awareness : fig->reach;
		double x = day_x(i, nd, x0, x1);
		char d[48];

		if (isnan(v))
			continue;
		table_fmt_date(report_day(r, i)->start_ms, d, sizeof(d));
		fprintf(f, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>%s %s ",
			aware ? "paware" : "preach", x, y1 - v * (y1 - y0), d, aware ? "awareness" : "reach");
		h_pct(f, v);
		fputs("</title></circle>", f);
	}
}

static void chart_days(FILE *f, const struct report *r)
{
	const int x0 = 48, x1 = CW - 16, y0 = 12, y1 = 200, hgt = 236;
	size_t nd = report_day_count(r), step;

	fputs("<h2>Daily trend 每日趋势</h2>\n", f);
	if (!nd) {
		fputs("<p class=\"none\">The period has not begun.</p>\n", f);
		return;
	}
	fprintf(f, "<figure><svg id=\"chart-days\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"Reach and awareness by day\" xmlns=\"http://www.w3.org/2000/svg\">", CW, hgt);
	for (int p = 0; p <= 100; p += 25) {
		int y = y1 - (y1 - y0) * p / 100;

		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
			"<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%d%%</text>",
			x0, x1, y, y, x0 - 6, y + 4, p);
	}
	step = (nd + 9) / 10;
	for (size_t i = 0; i < nd; i += step) {
		double x = day_x(i, nd, x0, x1);

		fprintf(f, "<text class=\"axis\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%02d-%02d</text>",
			x, y1 + 18, report_day(r, i)->month, report_day(r, i)->day);
	}
	trend_path(f, r, false, x0, x1, y0, y1);
	trend_path(f, r, true, x0, x1, y0, y1);
	fputs("</svg><figcaption class=\"legend\"><i style=\"background:var(--reach)\"></i>reach 到达率"
	      "<i style=\"background:var(--aware)\"></i>awareness 知晓率</figcaption></figure>\n", f);
}

static void chart_alerts(FILE *f, const struct report *r)
{
	const int lw = 200, bw = 330, rh = 28, top = 10;
	size_t n = report_alert_count(r);
	int hgt = top + (int)n * rh + 24;
	int64_t scale = 1000;

	fputs("<h2>Alert delivery 预警送达</h2>\n", f);
	if (!n) {
		fputs("<p class=\"none\">No alert was issued in the period.</p>\n", f);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (report_alert(r, i)->max_ms != REPORT_NONE && report_alert(r, i)->max_ms > scale)
			scale = report_alert(r, i)->max_ms;
	/* A round axis in quarters: 1, 2 or 4 s times a power of ten. */
	for (int64_t p = 1000; ; p *= 10) {
		if (scale <= p) { scale = p; break; }
		if (scale <= 2 * p) { scale = 2 * p; break; }
		if (scale <= 4 * p) { scale = 4 * p; break; }
		if (p > INT64_MAX / 100) break;
	}
	fprintf(f, "<figure><svg id=\"chart-alerts\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-label=\"Alert delivery times\" xmlns=\"http://www.w3.org/2000/svg\">", CW, hgt);
	for (int p = 0; p <= 4; p++) {
		int x = lw + bw * p / 4;

		fprintf(f, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
			"<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", x, x, top - 4,
			hgt - 20, x, hgt - 6);
		h_dur(f, scale * p / 4);
		fputs("</text>", f);
	}
	for (size_t i = 0; i < n; i++) {
		const struct report_alert *a = report_alert(r, i);
		bool drill = strcmp(a->alert_class, "actual") != 0;
		int y = top + (int)i * rh;

		fprintf(f, "<g><text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 8, y + 18);
		h(f, a->title);
		if (drill) {
			fputs(" (", f);
			h(f, a->alert_class);
			fputs(")", f);
		}
		fputs("<title>", f);
		h(f, a->id);
		fputs("</title></text>", f);
		if (a->max_ms != REPORT_NONE) {
			double p50 = lw + (double)bw * (double)(a->p50_ms > 0 ? a->p50_ms : 0) / (double)scale;
			double p95 = (double)bw * (double)(a->p95_ms > 0 ? a->p95_ms : 0) / (double)scale;
			double mx = lw + (double)bw * (double)(a->max_ms > 0 ? a->max_ms : 0) / (double)scale;

			fprintf(f, "<rect class=\"p95%s\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"16\"/>"
				"<line class=\"whisker\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
				"<line class=\"whisker\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
				"<line class=\"p50\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>",
				drill ? " drill" : "", lw, y + 5, p95, lw + p95, mx, y + 13, y + 13, mx, mx, y + 8,
				y + 18, p50, p50, y + 3, y + 23);
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\">%lld/%lld started", lw + bw + 8, y + 18,
			(long long)a->started, (long long)a->targeted);
		if (a->max_ms != REPORT_NONE) {
			fputs(" · p95 ", f);
			h_dur(f, a->p95_ms);
		}
		fputs("</text></g>", f);
	}
	fputs("</svg><figcaption class=\"legend\">bar: issue → start, 95% of the nodes; black tick: p50 "
	      "(median); thin line: the slowest node. Grey: drill or test.</figcaption></figure>\n", f);
}

static void html_table(FILE *f, const struct table *t, const char *id)
{
	char buf[TABLE_CELL_MAX];

	fprintf(f, "<h2>");
	h(f, t->title);
	fprintf(f, "</h2>\n");
	if (!t->nrows) {
		fputs("<p class=\"none\">None.</p>\n", f);
		return;
	}
	fprintf(f, "<div class=\"scroll\"><table id=\"%s\"><thead><tr>", id);
	for (size_t k = 0; k < t->ncols; k++) {
		fprintf(f, "<th%s>", table_numeric(t->cols[k].t) ? " class=\"n\"" : "");
		h(f, t->cols[k].head);
		fputs("</th>", f);
	}
	fputs("</tr></thead><tbody>\n", f);
	for (size_t i = 0; i < t->nrows; i++) {
		fputs("<tr>", f);
		for (size_t k = 0; k < t->ncols; k++) {
			table_human(&t->cols[k], &t->cells[i * t->ncols + k], buf, sizeof(buf));
			fprintf(f, "<td%s>", table_numeric(t->cols[k].t) ? " class=\"n\""
				    : t->cols[k].t == T_TEXT ? " class=\"t\""
				    : t->cols[k].t == T_DATE ? " class=\"d\"" : "");
			h(f, buf);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table></div>\n", f);
}

int render_html(const struct table_set *o, FILE *f)
{
	const struct report *r = o->r;
	const struct report_opts *ro = report_opts(r);
	const struct table *t = o->t;
	char from[48], to[48], gen[32], buf[TABLE_CELL_MAX];

	table_fmt_date(ro->from_ms, from, sizeof(from));
	table_fmt_date(ro->to_ms - 1, to, sizeof(to));
	table_fmt_time(o->generated_ms, gen, sizeof(gen));
	fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
	h(f, ro->township ? ro->township : "cunxiang");
	fprintf(f, " 广播报告 %s – %s</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n<h1>", from, to, css);
	h(f, ro->township ? ro->township : "cunxiang");
	fputs(" 广播效果报告</h1>\n<p class=\"meta\">", f);
	fprintf(f, "%s – %s (", from, to);
	h(f, ro->timezone ? ro->timezone : "");
	fprintf(f, ") · generated %s", gen);
	if (ro->notice) {
		fputs(" · notice ", f);
		h(f, ro->notice);
	}
	if (ro->village) {
		fputs(" · village ", f);
		h(f, ro->village);
	}
	fputs("</p>\n", f);
	html_cards(f, r);
	chart_villages(f, r);
	chart_days(f, r);
	chart_alerts(f, r);
	html_table(f, &t[TB_NOTICES], "notices");
	html_table(f, &t[TB_VILLAGES], "villages");
	html_table(f, &t[TB_DAYS], "days");
	html_table(f, &t[TB_ALERTS], "alerts");
	html_table(f, &t[TB_MISSED], "alert-not-reached");
	html_table(f, &t[TB_CAP], "cap-not-broadcast");
	html_table(f, &t[TB_NODES], "nodes");
	html_table(f, &t[TB_UNKNOWN], "unknown-receipts");
	html_table(f, &t[TB_BAD], "quarantined-receipts");
	html_table(f, &t[TB_LOST], "receipts-lost");
	fputs("<h2>All figures</h2>\n<div class=\"scroll\"><table class=\"kv\" id=\"summary\"><tbody>\n", f);
	for (size_t k = 0; k < t[TB_SUMMARY].ncols; k++) {
		table_human(&t[TB_SUMMARY].cols[k], &t[TB_SUMMARY].cells[k], buf, sizeof(buf));
		fputs("<tr><td>", f);
		h(f, t[TB_SUMMARY].cols[k].head);
		fputs("</td><td class=\"n\">", f);
		h(f, buf);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table></div>\n<h2>Model and assumptions 模型与假设</h2>\n<ul class=\"model\">\n", f);
	for (size_t i = 0; i < t[TB_ASSUMPTIONS].nrows; i++) {
		fputs("<li>", f);
		h(f, t[TB_ASSUMPTIONS].cells[i].s);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
	html_table(f, &t[TB_PRESENCE], "presence");
	fputs("</main>\n</body>\n</html>\n", f);
	return 0;
}
