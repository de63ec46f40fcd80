/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cap_run.h -- a CAP document through the whole path: parse, trust, decide, record, put on the air */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alerting.h"
#include "decide.h"
#include "pub.h"
#include "schedule.h"
#include "store.h"
#include "warnings.h"

/*
 * What `cunxiang cap` and `cunxiang serve` do with a CAP document:
 *  1. parse it (cap.h); a document that does not parse is rejected and
 *     kept as the sender "" and the identifier "sha256:HEX" of its bytes;
 *  2. keep each message once, by sender and identifier: a second arrival
 *     is a duplicate and does nothing;
 *  3. the sender must be listed in warnings.yaml, and its signature verify
 *     against the sender's trust anchors when required; a message that
 *     fails is rejected and kept under its bytes, never under the sender
 *     and identifier it claims, so that a forgery cannot take the key of
 *     the genuine message;
 *  4. decide (decide.h);
 *  5. record the message, its decision and reason in the store BEFORE
 *     anything goes on the air, then act: a broadcast or update speaks the
 *     text with the voice and issues an alert through the same path as
 *     `cunxiang alert` (alerting.h, alert_audio.h); a cancel or update
 *     cancels every alert issued for the messages of its own sender that
 *     it references (and withdraws a hold among them): a reference to
 *     another sender's message is not followed; and the alert's id is then
 *     recorded with the message.
 * When acting fails (the broker away), the message stays recorded as
 * "not sent" and caprun_retry() (serve, every 5 s) acts again; another
 * arrival of the same document is a duplicate that only says so (two
 * processes acting at once would put it on the air twice). A message
 * being acted on is recorded "not sent: being sent"; a retry leaves it to
 * the process acting on it for 5 minutes. Nothing else is ever done twice.
 * What stays: a power cut between publishing an alert and recording its
 * id makes the retry issue it again.
 */

#define CAPRUN_MAX_CANCEL 16         /* alerts listed in caprun_out.cancelled (all
                                      * that a message cancels are cancelled) */

struct caprun {
	struct store *st;
	const struct schedule *sch;      /* fleet.yaml */
	const struct warnings *w;
	const char *voices_dir, *assets_dir, *cache_dir;
	const char *area;                /* the township's area code, in alert ids */
	struct pub *pub;                 /* signing key and session; NULL: a dry run,
	                                  * that decides and changes nothing */
	int flush_ms;                    /* for the broker's PUBACKs */
};

struct caprun_out {
	char sender[STORE_CAP_ID_MAX + 1], identifier[STORE_CAP_ID_MAX + 1];
	char origin[STORE_CAP_ORIGIN_MAX + 1];
	char msg_type[16];
	struct cap_decision d;
	bool decided;                    /* D holds a decision; false when the store
	                                  * or memory failed before one was made */
	bool duplicate;                  /* already received: nothing done */
	bool untrusted;                  /* rejected for its sender or signature: its
	                                  * sender and identifier are claims, and it
	                                  * is kept under its bytes (store_cap_anon) */
	char alert_id[STORE_OCC_MAX + 1];  /* the alert issued, "" none */
	char cancelled[CAPRUN_MAX_CANCEL][STORE_OCC_MAX + 1];
	size_t ncancelled;
	char error[400];                 /* acting failed: why ("" none) */
};

/* Take document BUF[0..LEN) that came from ORIGIN (a path or a URL) at NOW.
 * OUT says what it was and what was done (caprun_out_free() it).
 * \retval 0 done (also for a rejected or duplicate message)
 * \retval -EAGAIN recorded, but putting it on the air failed (OUT->error):
 *                 caprun_retry() tries again
 * \retval -EIO    the store failed, or the CAP schema is not installed
 *                 (OUT->error): nothing was recorded
 * \retval -ENOMEM */
int caprun_doc(struct caprun *r, const char *origin, const char *buf, size_t len, int64_t now,
	       struct caprun_out *out);

/* Approve the held message IDENTIFIER (of SENDER, or of the only sender
 * that used it when SENDER is NULL): decide it again at NOW and put it on
 * the air whatever the rules said about holding.
 * \retval 0 / -ENOENT no such message / -EEXIST ambiguous without SENDER /
 * -EALREADY not held (OUT->error says what it is) / as caprun_doc */
int caprun_approve(struct caprun *r, const char *sender, const char *identifier, int64_t now,
		   struct caprun_out *out);

/* A document from ORIGIN that could not be read at all (WHY: "larger than
 * 1048576 bytes", a read error): recorded as rejected, keyed by its origin
 * and WHY (the same failure again is a duplicate), so that its arrival is
 * on record. \retval 0 / -EIO (OUT->error) / -ENOMEM */
int caprun_unread(struct caprun *r, const char *origin, const char *why, int64_t now,
		  struct caprun_out *out);

/* Act again on the messages recorded as not sent that have not expired,
 * and expire holds past their expiry. \retval how many were put on the air,
 * or -errno */
int caprun_retry(struct caprun *r, int64_t now);

void caprun_out_free(struct caprun_out *o);

/* OUT as a JSON object: identifier, sender, origin, decision, reason,
 * duplicate, untrusted, level, class, nodes, voice, text, expires_ms,
 * alert_id, cancelled, error. Without a decision (OUT->decided false)
 * decision, reason, level, class, voice, text and expires_ms are null;
 * identifier is null when there is none (a document never read). NULL on
 * ENOMEM. */
json_t *caprun_json(const struct caprun_out *o);
