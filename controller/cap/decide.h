/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decide.h -- what a CAP message does in this township: broadcast, cancel, update, hold, ignore, reject */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cap.h"
#include "schedule.h"
#include "warnings.h"

enum cap_what { CAP_BROADCAST, CAP_CANCEL, CAP_UPDATE, CAP_HOLD, CAP_IGNORE, CAP_REJECT };

/* "broadcast", "cancel", "update", "hold", "ignore", "reject" */
const char *cap_what_name(enum cap_what w);

#define CAP_REASON_MAX 300

struct cap_decision {
	enum cap_what what;
	char reason[CAP_REASON_MAX];   /* always set, one line */
	int level;                     /* 1..4; 0 when nothing plays */
	const char *klass;             /* "actual" "drill" "test"; NULL when nothing plays */
	size_t info;                   /* the chosen block; SIZE_MAX none */
	char **nodes;                  /* sorted, unique node ids */
	size_t nnodes;
	const char *voice;             /* profile name; NULL when nothing plays */
	char *title;                   /* the block's headline, else its event */
	char *text;                    /* what is spoken */
	int64_t expires_ms;
};

/* What M does at NOW_MS under W for the fleet SCH. The sender and its
 * signature are checked before (the caller: cap_run); this is the rest:
 * status, msgType, the chosen block, expiry, the rules and the default
 * table, the areas, the voice and the text. The result is written to OUT
 * (cap_decision_free() it) for every message. \retval 0 / -ENOMEM */
int cap_decide(const struct cap_msg *m, const struct warnings *w, const struct schedule *sch,
	       int64_t now_ms, struct cap_decision *out);
void cap_decision_free(struct cap_decision *d);

/* The spoken text of block I: headline, description and instruction, each
 * cleaned of markup (tags, entities, control characters, runs of white
 * space), joined with sentence breaks and cut to MAX_CHARS characters at a
 * character boundary (preferring the end of a sentence). malloc'd, or NULL
 * (ENOMEM). */
char *cap_speech_text(const struct cap_info *i, size_t max_chars);
