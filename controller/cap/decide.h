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

#define CAP_REASON_MAX 600

struct cap_decision {
	enum cap_what what;
	char reason[CAP_REASON_MAX];   /* always set, one line */
	int level;                     /* 1..4; 0 when nothing plays */
	const char *klass;             /* "actual" "drill" "test"; NULL when nothing plays */
	size_t info;                   /* the chosen block; SIZE_MAX none */
	char **nodes;                  /* sorted, unique node ids */
	size_t nnodes;
	const char *voice;             /* profile name (malloc'd); NULL when nothing plays */
	char *title;                   /* the block's headline, else its event */
	char *text;                    /* what is spoken */
	int64_t expires_ms;
};

/* What M does at NOW_MS under W for the fleet SCH. The sender and its
 * signature are checked before (the caller: cap_run); this is the rest:
 * status, msgType, the chosen block, expiry, the rules and the default
 * table, the areas, the voice and the text. The result is written to OUT
 * (cap_decision_free() it) for every message. \retval 0 / -ENOMEM
 *
 * In this order, the first step that decides ends it:
 * - msgType Ack or Error, status System or Draft: ignore. Status Actual
 *   plays as class "actual", Exercise as "drill", Test as "test".
 * - Cancel: cancel (of its references); none: reject.
 * - The block: the first whose language is W's (case-insensitive), else
 *   whose primary subtag is W's, else the first. No block: ignore (an
 *   Update: cancel its references).
 * - Expired (expires <= NOW): ignore (an Update: cancel its references).
 *   No expires: its <sent> + W's default, and when that has passed,
 *   ignore (an Update: cancel its references), so that an old message
 *   replayed never plays; never more than 7 days from NOW.
 *   An onset or effective time ahead does not delay it: a warning issued
 *   is meant to be heard when it is issued, and its words say when the
 *   danger comes; the reason says "onset ... is ahead, announced now".
 * - The rules, first match: ignore, or a level (its own, else by
 *   severity); no match: urgency Past or certainty Unlikely ignore,
 *   Extreme 1, Severe 2, Moderate 3, Minor 4; severity Unknown (or none)
 *   has no level: ignore.
 * - The areas, all of the block's together: geocodes mapped in W's areas
 *   (their villages' poles), administrative codes (schemes in
 *   W->admin_schemes; a code stands for its shortest 2/4/6/9/12-digit
 *   prefix followed by zeros only, so "640104000000" and "640104" select
 *   every village of county 640104), polygons and circles (poles with a
 *   location). An invalid polygon or circle is never guessed at: when
 *   nothing else selects a pole, reject with its reason; otherwise it is
 *   left out and the reason says so. No pole: ignore.
 * - Rule action hold: hold, with everything filled as a broadcast would
 *   be; else Alert: broadcast, Update: update.
 * Reasons are one line of short English naming the values ("status Draft
 * never plays", "level 2 by rule 3 (warnings.yaml:27), 4 poles"); text
 * from the message (areaDesc) is shown cut and without control
 * characters. Times in reasons are civil times of the zone the process
 * selected (cx_tz_set). No clock is read: NOW_MS decides. */
int cap_decide(const struct cap_msg *m, const struct warnings *w, const struct schedule *sch,
	       int64_t now_ms, struct cap_decision *out);
void cap_decision_free(struct cap_decision *d);

/* The spoken text of block I: headline, description and instruction, each
 * cleaned of markup (tags, entities, control characters, runs of white
 * space), joined with sentence breaks and cut to MAX_CHARS characters at a
 * character boundary (preferring the end of a sentence). malloc'd, or NULL
 * (ENOMEM).
 * Tags are '<' and a letter, '/', '!' or '?' up to the next '>' (a word
 * break); a '<' otherwise stays. Entities: &amp; &lt; &gt; &quot; &apos;
 * &nbsp; and numeric ones (&#39; &#x4E2D;); an unknown one stays as
 * written. Bytes that are not UTF-8 are dropped. A part is joined to the
 * one before with a space when that ends a sentence (. ! ? 。 ！ ？), with
 * "。" when it ends in a CJK character, else with ". ". Too long, the text
 * is cut after the last sentence mark within MAX_CHARS characters when
 * that keeps at least half of them, else at MAX_CHARS characters; a Latin
 * '.' marks a sentence only before a space or at the end (not in "3.5"). */
char *cap_speech_text(const struct cap_info *i, size_t max_chars);
