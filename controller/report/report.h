/* SPDX-License-Identifier: GPL-2.0-or-later */
/* report.h -- reach, awareness and alert delivery from the receipt store, as text, CSV, JSON or HTML */
#pragma once

/* The module's rooms: report_compute() counts the figures (report.c, with
 * hashtab.c); report_write() (render.c) lays them out as tables (table.c)
 * and hands those to the renderer of the format (render_text.c,
 * render_csv.c, render_json.c, render_html.c). What it reads of the
 * store, it reads through query.c (rq_). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "schedule.h"
#include "store.h"

/* Absent integer figures (no alert started: no delivery time). */
#define REPORT_NONE INT64_MIN

/* A node reporting a clock offset beyond this is listed (DESIGN: poles in
 * earshot of each other must not echo). */
#define REPORT_CLOCK_LIMIT_US 10000
/* A node offline longer than this in one stretch is listed. */
#define REPORT_OFFLINE_LIMIT_MS (24 * 3600 * 1000LL)
/* Receipts for unknown occurrences and quarantined receipts listed one by
 * one; all of them are counted. */
#define REPORT_LIST_MAX 500

struct report;

struct report_opts {
	/* The period [FROM_MS, TO_MS): midnights of civil days in the zone
	 * selected with cx_tz_set(), which also gives the days and the local
	 * times the presence profile is read at. */
	int64_t from_ms, to_ms;
	/* Plays planned to start at or after NOW_MS are not due yet: listed
	 * as pending, not counted. */
	int64_t now_ms;
	const char *notice;          /* only this notice (and an alert with this id); NULL all */
	const char *village;         /* only this village, by code or name; NULL all */
	/* fleet.yaml's presence profile; minutes outside every range have
	 * presence 0. */
	const struct schedule_presence *presence;
	size_t npresence;
	const char *township;        /* for the heading; may be NULL */
	const char *timezone;        /* the zone's name, for the heading */
	/* The title of notice ID, or NULL when it is not known (optional). */
	const char *(*title)(const char *id, void *ud);
	void *title_ud;
};

/* Counts and ratios of one notice, village, day or of everything.
 * A target is one (node, notice) pair: a notice's targets are its targeted
 * nodes; a village's or day's are the pairs planned there or then. */
struct report_fig {
	int64_t planned;             /* due plays */
	/* What became of them: each play counts once, as completed when any of
	 * its receipts says so, else as its last end state (interrupted,
	 * failed, skipped, expired), else unfinished (started or accepted,
	 * no end yet), else no_receipt. */
	int64_t completed, interrupted, failed, skipped, expired, unfinished, no_receipt;
	int64_t targets, reached;    /* reached: at least one completed play */
	int64_t households, households_reached;
	double aware_households;     /* Σ h·P */
	/* reached ÷ targets, households_reached ÷ households,
	 * aware_households ÷ households; NaN when the divisor is 0. */
	double reach, household_reach, awareness;
};

struct report_notice {
	const char *id;
	const char *title;           /* NULL when unknown */
	struct report_fig f;
};

struct report_village {
	const char *code;
	const char *name;            /* "" when no node of the store names it */
	struct report_fig f;
};

struct report_day {
	int year, month, day;        /* civil date */
	int64_t start_ms;            /* its midnight */
	struct report_fig f;
};

/* A targeted node an alert never started on. */
struct report_missed {
	const char *node;
	const char *village_code, *village_name; /* "" when unknown */
	const char *last_receipt;    /* state of its last receipt for the alert, NULL none */
	const char *reason;          /* of that receipt, NULL none */
	const char *status;          /* idle|playing|fault|offline as last reported, "never" */
	int64_t last_seen_ms;        /* STORE_NONE never */
};

struct report_alert {
	const char *id, *title, *alert_class, *live;
	int level;
	int64_t issued_ms, start_ms, expires_ms, cancelled_ms; /* cancelled: STORE_NONE */
	int64_t targeted;            /* nodes */
	int64_t accepted;            /* targeted nodes that accepted it (or started it) */
	int64_t started;             /* ... that started it: reached */
	int64_t completed;           /* ... that played it to the end */
	int64_t other_nodes;         /* nodes not targeted that sent receipts for it */
	/* Issue → first start, over the targeted nodes that started it;
	 * nearest-rank percentiles; REPORT_NONE when none started. */
	int64_t p50_ms, p95_ms, max_ms;
	const struct report_missed *missed;
	size_t nmissed;
	/* The CAP message it was issued for (an automatic warning, or a held
	 * one an operator approved); NULL for an alert typed by a person. */
	const char *cap_sender, *cap_identifier;
};

/* A CAP message received in the period and not broadcast: held (still
 * waiting for an operator), ignored, rejected, or expired while held. */
struct report_cap {
	int64_t received_ms;
	const char *sender;          /* NULL: the document could not be parsed */
	const char *identifier;      /* then "sha256:" + its digest */
	const char *title;           /* headline, else event; NULL none */
	const char *msg_type;        /* Alert Update Cancel ...; NULL unknown */
	const char *decision;        /* hold ignore reject expired */
	const char *reason;          /* with the reason it was held, for an expired or refused hold */
	const char *origin;          /* the file's path or the URL */
};

/* Fleet health of one node over the period. */
struct report_node {
	const char *id, *village_code, *village_name;
	bool in_fleet;
	int64_t households;          /* STORE_NONE when not in the fleet */
	const char *state;           /* as last reported; "never" without a status */
	int64_t last_seen_ms;        /* STORE_NONE never */
	/* Time in idle or playing ÷ the period up to now (time before the
	 * first status counts as not up); NaN for an empty period. */
	int64_t up_ms;
	double up_share;
	int64_t longest_offline_ms;  /* longest stretch in state offline */
	int64_t offline_from_ms;     /* its start; STORE_NONE when none */
	/* As of the last status (the store keeps no history of these). */
	int64_t spool, rejected, clock_offset_us; /* STORE_NONE unknown */
	int64_t held;                /* receipts stored but not yet acknowledged */
	bool offline_long;           /* longest_offline_ms > REPORT_OFFLINE_LIMIT_MS */
	bool clock_off;              /* |clock_offset_us| > REPORT_CLOCK_LIMIT_US */
};

/* A receipt whose occurrence is not planned for its node nor an alert. */
struct report_unknown {
	const char *node, *occ, *kind, *state;
	int64_t seq, at_ms;          /* at: scheduled, else started, else received */
};

struct report_bad {
	const char *node, *error;
	int64_t seq, received_ms;
};

/* Totals over the report. Drills and tests are counted apart from actual
 * alerts and never enter their figures. */
struct report_summary {
	struct report_fig total;     /* every due play of the report */
	int64_t pending;             /* planned in the period, not yet due */
	int64_t notices, villages, nodes; /* with due plays */
	int64_t alerts_actual, alerts_drill; /* drill and test */
	/* Over every (actual alert, targeted node): REPORT_NONE when none. */
	int64_t actual_targeted, actual_started;
	int64_t actual_p50_ms, actual_p95_ms, actual_max_ms;
	int64_t drill_targeted, drill_started;
	int64_t unknown_receipts, quarantined;
	int64_t lost_on_poles;       /* "lost" records: receipts a pole could not keep */
	int64_t unverified;          /* messages on pole topics that did not verify */
	int64_t alerts_cap;          /* alerts of the report issued for a CAP message */
	int64_t cap_not_broadcast;   /* CAP messages received and not broadcast */
	int64_t nodes_offline_long, nodes_spool, nodes_rejected, nodes_clock_off;
	double fleet_up_share;       /* mean over the nodes; NaN without nodes */
};

/* Compute the report from S. NULL + errno: ENOMEM, or EIO with the reason
 * in *ERRMSG (store_errmsg() of S, copied, up to ERRLEN). */
struct report *report_compute(struct store *s, const struct report_opts *o,
			      char *errmsg, size_t errlen);
void report_free(struct report *r);

const struct report_opts *report_opts(const struct report *r);
const struct report_summary *report_summary(const struct report *r);
/* Where due plays end: the earlier of NOW_MS and the period's end, not
 * before its start. */
int64_t report_counted_until(const struct report *r);
/* By notice id. */
size_t report_notice_count(const struct report *r);
const struct report_notice *report_notice(const struct report *r, size_t i);
/* By village code. */
size_t report_village_count(const struct report *r);
const struct report_village *report_village(const struct report *r, size_t i);
/* Every civil day of the period up to now, in order. */
size_t report_day_count(const struct report *r);
const struct report_day *report_day(const struct report *r, size_t i);
/* Alerts issued in the period, by issue time: actual ones, then drills
 * and tests (ALERT_CLASS says which). */
size_t report_alert_count(const struct report *r);
const struct report_alert *report_alert(const struct report *r, size_t i);
/* Every node of the fleet and every node that sent a status, by village
 * code, then id. */
size_t report_node_count(const struct report *r);
const struct report_node *report_node(const struct report *r, size_t i);
/* Up to REPORT_LIST_MAX of them; the summary counts all. */
size_t report_unknown_count(const struct report *r);
const struct report_unknown *report_unknown(const struct report *r, size_t i);
size_t report_bad_count(const struct report *r);
const struct report_bad *report_bad(const struct report *r, size_t i);
/* Receipts lost on poles; ERROR is the pole's reason. */
size_t report_lost_count(const struct report *r);
const struct report_bad *report_lost(const struct report *r, size_t i);
/* CAP messages received in the period and not broadcast, by arrival; up
 * to REPORT_LIST_MAX (the summary counts all). Not filtered by village (a
 * message that played nowhere has none); none with a notice filter. */
size_t report_cap_count(const struct report *r);
const struct report_cap *report_cap(const struct report *r, size_t i);

/* Presence at UTC instant MS under the report's profile. */
double report_presence(const struct report *r, int64_t ms);

enum report_format { REPORT_TEXT, REPORT_CSV, REPORT_JSON, REPORT_HTML };

/* Parse "text", "csv", "json" or "html". \retval 0 / -EINVAL */
int report_format_parse(const char *name, enum report_format *f);

/* Write R to F as FORMAT; GENERATED_MS is the time printed as the
 * report's. \retval 0 / -ENOMEM / -EIO (errno of the stream in errno) */
int report_write(const struct report *r, enum report_format format, int64_t generated_ms, FILE *f);
