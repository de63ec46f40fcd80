/* SPDX-License-Identifier: GPL-2.0-or-later */
/* schedule.h -- the schedules directory (fleet.yaml + broadcast files) as a checked model */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* Limits on what a schedules directory may hold. */
#define SCHEDULE_MAX_FILES      1000
#define SCHEDULE_MAX_VILLAGES   5000
#define SCHEDULE_MAX_NODES      20000
#define SCHEDULE_MAX_NOTICES    20000
#define SCHEDULE_MAX_BROADCASTS 20000
#define SCHEDULE_MAX_AT         96     /* times per broadcast */
#define SCHEDULE_MAX_DAYS_LIST  400    /* entries of a days: list */
#define SCHEDULE_MAX_TAGS       32     /* tags per node */
#define SCHEDULE_MAX_TEXT       20000  /* bytes of a notice's text */
#define SCHEDULE_MAX_NAME       200    /* bytes of a title, village or township name */
#define SCHEDULE_MAX_REPEAT     10
#define SCHEDULE_MAX_DELAY_MS   (6 * 3600 * 1000LL)

/* Priorities of DESIGN "Priority and preemption". */
enum { SCHEDULE_ROUTINE = 10, SCHEDULE_IMPORTANT = 20 };

struct schedule;

/* Where something was written: the file as shown in diagnostics, 1-based
 * line and column. */
struct schedule_pos {
	const char *file;
	int line, col;
};

/* Minutes of the civil day, [start, end). end > start: within one day
 * (end may be 1440, written "24:00"); end <= start: wraps past midnight. */
struct schedule_range {
	int start, end;
};

struct schedule_presence {
	struct schedule_range range;
	double share;                  /* 0..1 */
};

struct schedule_township {
	const char *name;
	const char *area_code;         /* 12 digits */
	const char *timezone;          /* IANA name, default Asia/Shanghai */
	int64_t max_delay_ms;          /* default 10 min */
	const struct schedule_range *quiet;
	size_t nquiet;
	const struct schedule_presence *presence;
	size_t npresence;
};

struct schedule_village {
	const char *code;              /* 12 digits, inside the township's area */
	const char *name;
	size_t first_node, nnodes;     /* its nodes are contiguous */
	struct schedule_pos pos;
};

struct schedule_node {
	const char *id;                /* [a-z0-9-]{1,32} */
	size_t village;                /* index */
	const char *village_code;
	const char *village_name;
	long households;
	const char *const *tags;
	size_t ntags;
	bool has_location;             /* fleet.yaml gave location: [LAT, LON] */
	double lat, lon;               /* WGS 84 decimal degrees, when has_location */
	struct schedule_pos pos;
};

struct schedule_notice {
	const char *id;
	const char *title;
	const char *text;              /* exactly one of text and audio */
	const char *voice;             /* text notices; default "mandarin" */
	const char *audio;             /* path to open (resolved against the directory) */
	const char *audio_shown;       /* as written */
	struct schedule_pos pos;          /* the notice's id */
	struct schedule_pos text_pos, voice_pos, audio_pos;
	bool valid;                    /* no error in its definition */
};

struct schedule_at {
	int minute;                    /* of the civil day */
	struct schedule_pos pos;
};

struct schedule_broadcast {
	const char *id;
	size_t notice;                 /* index; meaningful only when valid */
	const struct schedule_at *at;     /* sorted by minute, no duplicates */
	size_t nat;
	int priority;                  /* SCHEDULE_ROUTINE / SCHEDULE_IMPORTANT */
	int volume;                    /* 1..100, default 80 */
	int repeat;                    /* 1..SCHEDULE_MAX_REPEAT, default 1 */
	bool quiet_ok;
	const size_t *targets;         /* node indices, sorted, unique, non-empty */
	size_t ntargets;
	size_t order;                  /* declaration order: file name, then position */
	struct schedule_pos pos;          /* the broadcast's id */
	bool valid;                    /* no error in it or in its notice */
};

/* Load the schedules directory DIR: fleet.yaml and every other regular
 * *.yaml file in it, in byte order of their names (subdirectories,
 * names starting with '.' and warnings.yaml, which warnings.h reads, are
 * skipped). Files are shown in diagnostics as
 * DIR/NAME exactly as DIR was given ("schedules/flood.yaml"), or NAME alone
 * when DIR is ".". Every problem is reported to D; loading continues after
 * an error, and items with errors are kept but marked not valid. Selects no
 * time zone: the command does, with the township's (cx_tz_set).
 * Returns the model, or NULL with errno = ENOMEM. */
struct schedule *schedule_load(const char *dir, struct diag *d);

/* The township's time zone as DIR/fleet.yaml names it, reading that key
 * alone, for the commands that need nothing else of the schedules:
 * Asia/Shanghai when the file cannot be read or names none or a zone this
 * machine does not know (`cunxiang check` reports those). Returns a string
 * to free(), or NULL with errno = ENOMEM. */
char *schedule_read_zone(const char *dir);
void schedule_free(struct schedule *s);

/* The directory as given. */
const char *schedule_dir(const struct schedule *s);

const struct schedule_township *schedule_township(const struct schedule *s);

size_t schedule_village_count(const struct schedule *s);
const struct schedule_village *schedule_village(const struct schedule *s, size_t i);

size_t schedule_node_count(const struct schedule *s);
const struct schedule_node *schedule_node(const struct schedule *s, size_t i);
/* Index of node ID, or -1. */
long schedule_node_find(const struct schedule *s, const char *id);

size_t schedule_notice_count(const struct schedule *s);
const struct schedule_notice *schedule_notice(const struct schedule *s, size_t i);

/* Broadcasts in declaration order. */
size_t schedule_broadcast_count(const struct schedule *s);
const struct schedule_broadcast *schedule_broadcast(const struct schedule *s, size_t i);
/* True if broadcast I plays on civil DAY (cx_days_from_civil): inside its
 * from/until range and matching its days: rule. */
bool schedule_broadcast_on(const struct schedule *s, size_t i, int64_t day);

/* True if MINUTE of the civil day lies in range R. */
bool schedule_range_contains(const struct schedule_range *r, int minute);
/* Share of people within earshot at MINUTE of the day; 0 where the
 * presence profile says nothing. */
double schedule_presence_at(const struct schedule *s, int minute);
/* "HH:MM-HH:MM" of R into OUT (12 bytes). */
void schedule_range_format(const struct schedule_range *r, char out[12]);
