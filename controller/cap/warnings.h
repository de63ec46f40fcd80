/* SPDX-License-Identifier: GPL-2.0-or-later */
/* warnings.h -- warnings.yaml: which CAP warnings go on the air, where, at what level, in which voice */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "schedule.h"

/*
 * The township's reviewed decision, made once, about automatic warnings:
 * where CAP messages come from, whose are trusted, which go on the air and
 * at which level, how CAP areas map to villages, which voice speaks which
 * language. The file is DIR/warnings.yaml; without it nothing is automatic
 * (warnings_load returns an empty model, present = false). Every problem is
 * reported to the diag as FILE:LINE:COL like the other schedule files.
 * The format is cunxiang-schedules(5), WARNINGS.YAML.
 *
 * Every key is optional and checked; an unknown one is an error. An entry
 * of a list (source, sender, rule, area) with any error, an unknown key
 * included, is left out whole: a misspelt "signatrue: required" must not
 * leave a sender trusted unsigned, nor a misspelt severity make a rule
 * match more. A dir source must be an existing directory; each trust
 * anchor a readable file holding "-----BEGIN CERTIFICATE-----" (what
 * cap_verify reads it for is not checked here). Values of a rule's
 * category, severity, urgency, certainty and status must be CAP 1.2's
 * words, spelt exactly. Voice profiles are names only: whether the profile
 * exists is known where the voices directory is (the renderer).
 */

#define WARN_FILE "warnings.yaml"
#define WARN_MAX_ITEMS 1000          /* sources, senders, rules, areas, voices: each */

struct warn_source {
	bool is_url;
	const char *dir;               /* !is_url: resolved against the schedules directory */
	const char *url;               /* is_url: http:// or https:// */
	int64_t interval_ms;           /* polling, default 60 s, 5 s .. 1 day */
	int64_t timeout_ms;            /* per request, default 10 s, 1 s .. 10 min */
	size_t max_bytes;              /* per document, default CAP_MAX_BYTES, 1 KiB .. 16 MiB */
	struct schedule_pos pos;
};

struct warn_sender {
	const char *sender;            /* as CAP's <sender> must read */
	bool require_signature;
	const char *const *anchors;    /* PEM files, resolved against the directory */
	size_t nanchors;               /* > 0 when require_signature */
	struct schedule_pos pos;          /* its sender: value */
};

enum warn_action { WARN_BROADCAST, WARN_HOLD, WARN_IGNORE };

/* A rule matches an info block when every list it has contains the
 * block's value (category: any of the block's categories; status: the
 * message's). An empty list matches anything. The first match decides. */
struct warn_match {
	const char *const *v;
	size_t n;
};

struct warn_rule {
	struct warn_match event, category, severity, urgency, certainty, status;
	enum warn_action action;
	int level;                     /* 1..4; 0: by severity (the default table) */
	struct schedule_pos pos;
};

/* A geocode of a scheme other than administrative codes, mapped. */
struct warn_area {
	const char *scheme, *value;
	const char *const *villages;   /* village codes of fleet.yaml */
	size_t nvillages;
	struct schedule_pos pos;
};

struct warn_voice {
	const char *language;          /* an RFC 3066 tag as CAP writes it, e.g. "zh-CN" */
	const char *voice;             /* a profile in the voices directory */
};

struct warnings {
	bool present;                  /* DIR/warnings.yaml exists */
	const char *language;          /* the township's: its info block is chosen first; default "zh-CN" */
	size_t max_text;               /* characters spoken at most, default 500, 50 .. 5000 */
	int64_t default_expires_ms;    /* when a block has no <expires>, default 1 h, 1 min .. 7 days */
	/* valueNames read as administrative codes (compared ignoring case);
	 * default ADMIN_CODE, AdminCode, administrative_code, GB/T 2260,
	 * GB2260, 行政区划代码; the file's list replaces them. */
	const char *const *admin_schemes;
	size_t nadmin_schemes;
	const struct warn_source *sources;
	size_t nsources;
	const struct warn_sender *senders;
	size_t nsenders;
	const struct warn_rule *rules;
	size_t nrules;
	const struct warn_area *areas;
	size_t nareas;
	/* The file's, then the built-in: zh, zh-CN, zh-Hans, cmn -> mandarin;
	 * yue, zh-HK, zh-Yue -> cantonese; hak -> hakka. */
	const struct warn_voice *voices;
	size_t nvoices;
};

/* Load DIR/warnings.yaml, checking village codes against FLEET (may be
 * NULL: not checked). Never NULL but on ENOMEM (errno); errors are in D
 * and what has errors is left out. */
struct warnings *warnings_load(const char *dir, const struct schedule *fleet, struct diag *d);
void warnings_free(struct warnings *w);

/* The sender entry for SENDER, or NULL: not allowed. */
const struct warn_sender *warnings_sender(const struct warnings *w, const char *sender);
/* The voice profile for LANGUAGE: an exact (case-insensitive) entry, else
 * its primary subtag's ("zh-TW" -> "zh"), else NULL. */
const char *warnings_voice(const struct warnings *w, const char *language);
