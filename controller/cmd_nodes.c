/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_nodes.c -- `cunxiang nodes`: the fleet at a glance, problems first */
#include "config.h"

#include "cconf.h"
#include "commands.h"
#include "cxtime.h"
#include "diag.h"
#include "fileio.h"
#include "human.h"
#include "report/query.h"
#include "report/report.h"
#include "schedule.h"
#include "store.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Nodes send a status every 60 s; three missed ones make a node silent. */
#define SILENT_AFTER_MS (3 * 60 * 1000)

enum rank { RANK_PROBLEM, RANK_NEVER, RANK_OK };

struct row {
	const struct store_node *n;
	const char *state;  /* idle, playing, fault, offline, silent, never */
	const char *plan;   /* current, old, none, unknown */
	enum rank rank;
};

static void nodes_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang nodes -c controller.yaml [--format text|json]\n\n"
		   "Show every speaker node of the fleet, and any other node that sent a\n"
		   "status, as the controller last heard from it: offline, silent and faulty\n"
		   "nodes first, then nodes never seen, then working ones, each group by\n"
		   "village and node id. Reads DATA_DIR/receipts.db without changing it, so\n"
		   "it works whether or not `cunxiang serve` is running.\n\n"
		   "  -c --config FILE    controller configuration\n"
		   "  -f --format FORMAT  text (default) or json\n"
		   "  -h --help           show this help\n"
		   "     --version        show the version\n\n"
		   "STATE is idle, playing or fault as the node said; offline when the broker\n"
		   "reported it gone; silent when nothing came from it for 3 minutes (while\n"
		   "serve is not running every node turns silent); never when no status was\n"
		   "ever received. PLAN is current when the node runs the plan last published\n"
		   "to it, old when it runs an older one, none when it has none, unknown when\n"
		   "this store did not publish the one it runs. DISK is full when the pole's\n"
		   "state directory is out of space (it lives on its reserve); LOST counts\n"
		   "receipts the pole could not keep; KEY is the id of the pole's enrolled key,\n"
		   "none when it is not enrolled (nothing it sends counts). OFFSET MS is how\n"
		   "far the controller's clock is ahead of the pole's system clock; CLOCK is\n"
		   "off when that is more than 10 ms either way (the pole's NTP is not\n"
		   "working; it still plays on the controller's time), ok when not.\n\n"
		   "See cunxiang(1).\n");
}

static struct row classify(const struct store_node *n, int64_t now)
{
	struct row r = { .n = n, .rank = RANK_OK };

	if (!n->has_status) {
		r.state = "never";
		r.rank = RANK_NEVER;
	} else if (!strcmp(n->state, "offline")) {
		r.state = "offline";
		r.rank = RANK_PROBLEM;
	} else if (n->last_seen_ms == STORE_NONE || now - n->last_seen_ms > SILENT_AFTER_MS) {
		r.state = "silent";
		r.rank = RANK_PROBLEM;
	} else {
		r.state = !strcmp(n->state, "fault") ? "fault" : !strcmp(n->state, "playing") ? "playing" : "idle";
		if (!strcmp(r.state, "fault"))
			r.rank = RANK_PROBLEM;
	}
	if (!strcmp(n->disk, "full"))
		r.rank = RANK_PROBLEM;
	if (n->plan_issued_ms == STORE_NONE || n->plan_issued_ms <= 0)
		r.plan = "none";
	else if (n->published_issued_ms == STORE_NONE || n->plan_issued_ms > n->published_issued_ms)
		r.plan = "unknown";
	else if (n->plan_issued_ms == n->published_issued_ms)
		r.plan = "current";
	else
		r.plan = "old";
	return r;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	/* Nodes outside the fleet have no village: after the villages. */
	if (!x->n->village_code[0] != !y->n->village_code[0])
		return x->n->village_code[0] ? -1 : 1;
	if ((c = strcmp(x->n->village_code, y->n->village_code)))
		return c;
	return strcmp(x->n->id, y->n->id);
}

/* Times in the township's zone, as the other commands show them; only
 * fleet.yaml's timezone is read, since the fleet's state is wanted most when
 * something in the schedules is wrong. */
static int select_zone(const char *schedules)
{
	char *zone = schedule_read_zone(schedules);
	int r = zone ? cx_tz_set(zone) : -ENOMEM;

	free(zone);
	return r;
}

static void last_seen_text(int64_t ms, int64_t now, char *out, size_t size)
{
	char rel[32];
	struct tm tm;

	if (ms == STORE_NONE) {
		snprintf(out, size, "never");
		return;
	}
	cx_tz_ms_to_civil(ms, &tm);
	human_ago(now - ms, rel, sizeof(rel));
	snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d (%s)", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rel);
}

static void num_text(int64_t v, char *out, size_t size)
{
	if (v == STORE_NONE)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%" PRId64, v);
}

enum { C_NODE, C_VILLAGE, C_STATE, C_SEEN, C_PLAN, C_MISSING, C_SPOOL, C_OFFSET, C_CLOCK,
       C_REJECTED, C_XRUNS, C_DISK, C_LOST, C_KEY, NCOLS };

static const char *const headers[NCOLS] = {
	"NODE", "VILLAGE", "STATE", "LAST SEEN", "PLAN", "MISSING", "SPOOL", "OFFSET MS", "CLOCK",
	"REJECTED", "XRUNS", "DISK", "LOST", "KEY",
};

/* The pole's system clock is off the controller's by more than the
 * report's limit (the same flag as its fleet health). */
static bool clock_off(const struct store_node *n)
{
	return n->clock_offset_us != STORE_NONE && (n->clock_offset_us > REPORT_CLOCK_LIMIT_US ||
						    n->clock_offset_us < -REPORT_CLOCK_LIMIT_US);
}

#define CELL 1100 /* the longest village name (STORE_TEXT_MAX characters) fits */

static void cells(const struct row *r, int64_t now, char c[NCOLS][CELL])
{
	const struct store_node *n = r->n;

	snprintf(c[C_NODE], CELL, "%s", n->id);
	snprintf(c[C_VILLAGE], CELL, "%s", n->in_fleet ? n->village_name : "(not in fleet)");
	snprintf(c[C_STATE], CELL, "%s", r->state);
	last_seen_text(n->last_seen_ms, now, c[C_SEEN], CELL);
	snprintf(c[C_PLAN], CELL, "%s", r->plan);
	num_text(n->assets_missing, c[C_MISSING], CELL);
	num_text(n->spool, c[C_SPOOL], CELL);
	if (n->clock_offset_us == STORE_NONE)
		snprintf(c[C_OFFSET], CELL, "-");
	else
		snprintf(c[C_OFFSET], CELL, "%.1f", (double)n->clock_offset_us / 1000.0);
	snprintf(c[C_CLOCK], CELL, "%s", n->clock_offset_us == STORE_NONE ? "-" :
					 clock_off(n) ? "off" : "ok");
	num_text(n->rejected, c[C_REJECTED], CELL);
	num_text(n->xruns, c[C_XRUNS], CELL);
	snprintf(c[C_DISK], CELL, "%s", n->disk[0] ? n->disk : "-");
	num_text(n->lost, c[C_LOST], CELL);
	snprintf(c[C_KEY], CELL, "%s", n->key_id[0] ? n->key_id : "none");
}

static void put_cell(const char *s, int width, bool right, bool last)
{
	int pad = width - human_width(s);

	if (right)
		printf("%*s%s", pad > 0 ? pad : 0, "", s);
	else if (last)
		printf("%s", s);
	else
		printf("%s%*s", s, pad > 0 ? pad : 0, "");
	printf(last ? "\n" : "  ");
}

/* Numbers are aligned right. */
static bool right(int k)
{
	return k >= C_MISSING && k != C_DISK && k != C_KEY && k != C_CLOCK;
}

static int print_text(const struct row *rows, size_t n, int64_t now)
{
	char c[NCOLS][CELL];
	int width[NCOLS];
	size_t online = 0, playing = 0, fault = 0, offline = 0, silent = 0, never = 0;

	/* Two passes over the rows rather than holding every cell. */
	for (int k = 0; k < NCOLS; k++)
		width[k] = human_width(headers[k]);
	for (size_t i = 0; i < n; i++) {
		cells(&rows[i], now, c);
		for (int k = 0; k < NCOLS; k++) {
			int w = human_width(c[k]);

			if (w > width[k])
				width[k] = w;
		}
	}
	for (int k = 0; k < NCOLS; k++)
		put_cell(headers[k], width[k], right(k), k == NCOLS - 1);
	for (size_t i = 0; i < n; i++) {
		cells(&rows[i], now, c);
		for (int k = 0; k < NCOLS; k++)
			put_cell(c[k], width[k], right(k), k == NCOLS - 1);
	}

	for (size_t i = 0; i < n; i++) {
		const char *s = rows[i].state;

		if (!strcmp(s, "idle") || !strcmp(s, "playing")) {
			online++;
			playing += !strcmp(s, "playing");
		}
		fault += !strcmp(s, "fault");
		offline += !strcmp(s, "offline");
		silent += !strcmp(s, "silent");
		never += !strcmp(s, "never");
	}
	printf("\n%zu node%s: %zu online (%zu playing), %zu fault, %zu offline, %zu silent, %zu never seen\n",
	       n, n == 1 ? "" : "s", online, playing, fault, offline, silent, never);
	return CX_EXIT_OK;
}

static json_t *opt_json(int64_t v)
{
	return v == STORE_NONE ? json_null() : json_integer(v);
}

static int print_json(const struct row *rows, size_t n, int64_t now)
{
	json_t *root = json_object(), *arr = json_array();
	char *out;

	if (!root || !arr)
		goto oom;
	json_object_set_new(root, "now_ms", json_integer(now));
	json_object_set(root, "nodes", arr);
	for (size_t i = 0; i < n; i++) {
		const struct store_node *x = rows[i].n;
		json_t *o = json_object();

		if (!o || json_array_append_new(arr, o) < 0)
			goto oom;
		json_object_set_new(o, "node", json_string(x->id));
		json_object_set_new(o, "in_fleet", json_boolean(x->in_fleet));
		json_object_set_new(o, "village_code", x->in_fleet ? json_string(x->village_code) : json_null());
		json_object_set_new(o, "village", x->in_fleet ? json_string(x->village_name) : json_null());
		json_object_set_new(o, "households", opt_json(x->households));
		json_object_set_new(o, "state", json_string(rows[i].state));
		json_object_set_new(o, "reported_state", x->has_status ? json_string(x->state) : json_null());
		json_object_set_new(o, "last_seen_ms", opt_json(x->last_seen_ms));
		json_object_set_new(o, "plan", json_string(rows[i].plan));
		json_object_set_new(o, "plan_issued_ms", opt_json(x->plan_issued_ms));
		json_object_set_new(o, "published_issued_ms", opt_json(x->published_issued_ms));
		json_object_set_new(o, "assets_missing", opt_json(x->assets_missing));
		json_object_set_new(o, "spool", opt_json(x->spool));
		json_object_set_new(o, "clock_offset_us", opt_json(x->clock_offset_us));
		json_object_set_new(o, "clock_off", x->clock_offset_us == STORE_NONE
						    ? json_null() : json_boolean(clock_off(x)));
		json_object_set_new(o, "rejected", opt_json(x->rejected));
		json_object_set_new(o, "xruns", opt_json(x->xruns));
		json_object_set_new(o, "volume", opt_json(x->volume));
		json_object_set_new(o, "uptime_s", opt_json(x->uptime_s));
		json_object_set_new(o, "version", x->version[0] ? json_string(x->version) : json_null());
		json_object_set_new(o, "ack_through", json_integer(x->ack_through));
		json_object_set_new(o, "receipts", json_integer(x->receipts));
		json_object_set_new(o, "receipts_held", json_integer(x->held));
		json_object_set_new(o, "receipts_lost", json_integer(x->lost));
		json_object_set_new(o, "disk", x->disk[0] ? json_string(x->disk) : json_null());
		json_object_set_new(o, "key_id", x->key_id[0] ? json_string(x->key_id) : json_null());
	}
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!out)
		goto oom;
	puts(out);
	free(out);
	json_decref(arr);
	json_decref(root);
	return CX_EXIT_OK;
oom:
	json_decref(arr);
	json_decref(root);
	fprintf(stderr, "cunxiang nodes: out of memory\n");
	return CX_EXIT_USER;
}

int cmd_nodes(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *config = NULL, *format = "text";
	struct store_node *nodes = NULL;
	struct cconf *cf = NULL;
	struct diag *d = NULL;
	struct store *st = NULL;
	struct row *rows = NULL;
	char err[600], *path = NULL;
	int c, ret = CX_EXIT_USER;
	size_t n = 0;
	int64_t now;

	while ((c = getopt_long(argc, argv, "c:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'f': format = optarg; break;
		case 'h': nodes_help(stdout); return CX_EXIT_OK;
		case 'V': printf("cunxiang %s\n", CX_VERSION); return CX_EXIT_OK;
		default: nodes_help(stderr); return CX_EXIT_USAGE;
		}
	}
	if (!config || optind != argc || (strcmp(format, "text") && strcmp(format, "json"))) {
		nodes_help(stderr);
		return CX_EXIT_USAGE;
	}
	if (!(d = diag_new())) {
		fprintf(stderr, "cunxiang nodes: out of memory\n");
		return CX_EXIT_USER;
	}
	if (!(cf = cconf_load(config, d))) {
		diag_print(d, stderr);
		goto out;
	}
	if (select_zone(cf->schedules) < 0 || !(path = fio_join(cf->data_dir, STORE_FILE))) {
		fprintf(stderr, "cunxiang nodes: out of memory\n");
		goto out;
	}
	if (!(st = store_open(path, STORE_READONLY, err, sizeof(err)))) {
		if (errno == ENOENT)
			fprintf(stderr, "cunxiang nodes: %s does not exist yet; `cunxiang serve` creates it\n", path);
		else
			fprintf(stderr, "cunxiang nodes: cannot read the store: %s\n", err);
		goto out;
	}
	if (rq_nodes(st, &nodes, &n) < 0) {
		fprintf(stderr, "cunxiang nodes: cannot read %s: %s\n", path, store_errmsg(st));
		goto out;
	}
	now = cx_now_ms();
	if (n && !(rows = calloc(n, sizeof(*rows)))) {
		fprintf(stderr, "cunxiang nodes: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		rows[i] = classify(&nodes[i], now);
	if (n)
		qsort(rows, n, sizeof(*rows), row_cmp);
	ret = !strcmp(format, "json") ? print_json(rows, n, now) : print_text(rows, n, now);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "cunxiang nodes: cannot write the output: %s\n", strerror(errno));
		ret = CX_EXIT_USER;
	}
out:
	free(rows);
	free(nodes);
	store_close(st);
	free(path);
	cconf_free(cf);
	diag_free(d);
	return ret;
}
