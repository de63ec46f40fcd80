/* SPDX-License-Identifier: GPL-2.0-or-later */
/* capsrc.h -- where CAP documents come from: a watched directory, polled HTTP(S) documents and feeds */
#pragma once

#include <stddef.h>

#include "warnings.h"

/*
 * The sources of warnings.yaml as one stream of documents, read by one
 * thread. A directory: every regular file not starting with '.' already in
 * it (in name order), then each file written into it or moved there
 * (inotify). A URL: fetched every interval with a conditional request
 * (If-None-Match / If-Modified-Since from the last answer), a timeout and a
 * size limit, http and https only (redirects too, at most 5), no proxy
 * from the environment unless configured there; a CAP document is
 * delivered as it is, an Atom or RSS index yields the CAP entries it links
 * to, each fetched once. Nothing is deduplicated by content here: the
 * caller keeps each message once by sender and identifier.
 * A document that cannot be delivered whole (too large, unreadable) is
 * delivered with ERROR set and no bytes, so that the caller can record
 * that it came. Failures of a source (DNS, HTTP 500, a timeout) are logged
 * once when they start and once when they end, and retried at the interval.
 *
 * In detail:
 *  - Directory: names starting with '.' and temporary names (ending in
 *    '~', ".tmp", ".part", ".swp", any case) are never read: write to
 *    "x.tmp" and rename to "x.xml". A file is taken when closed after
 *    writing or moved in; a symbolic link when created. Links are
 *    followed (an operator may link a file in), but only a regular file is
 *    read: a FIFO, socket or device is skipped with a warning, without
 *    being opened for long or blocking. A file gone before it is read is
 *    skipped silently; one that cannot be opened is delivered with ERROR,
 *    and so is one over max_bytes ("larger than N bytes", not read).
 *    Files are read when delivered, not when queued. When inotify's queue
 *    overflows, the directories are read again from the start.
 *  - URL: due at once (the first capsrc_next() fetches it), then every
 *    interval_ms after the start of the previous poll. No proxy is used (warnings.yaml has no
 *    proxy setting). The ETag / Last-Modified kept are those of the last
 *    answer that was taken (a document or a feed that parsed); only the
 *    source URL is requested conditionally, never its entries. A 304 is
 *    nothing new. HTTP >= 400, a transport error, a timeout, or a body
 *    that is neither CAP nor Atom nor RSS (see capfeed.h) is a failure of
 *    the source (the request itself: capfetch.h); a source document over
 *    max_bytes is also one, and is delivered with ERROR once when the
 *    failure starts.
 *  - Feed entries: each entry URL is fetched once (the last 10,000 per
 *    source are remembered; a URL delivered, refused or too large counts);
 *    an entry URL that is not http or https is refused and logged once; an
 *    entry whose fetch fails is logged once and retried after the next
 *    poll of the feed, even when that poll answers 304; it goes to the end
 *    of the list, and when its server did not answer at all (DNS, connect,
 *    timeout) the other entries on that server wait for the next round
 *    too, so a dead server costs one timeout per poll, not one per entry.
 *    An entry's body is delivered as it is (origin: the entry URL), over
 *    max_bytes with ERROR. An inline alert has the origin "URL#ID" (URL:
 *    the source's, as configured) and is delivered once per id; without
 *    a usable id it is "URL#entry-N" and delivered each time the feed
 *    changes.
 *  - Limits are not checked here beyond sanity: warnings.c enforces
 *    interval 5 s .. 1 day; capsrc accepts shorter intervals (tests use
 *    200 ms) and only raises one under 100 ms to 100 ms. timeout_ms <= 0 is
 *    10 s, max_bytes 0 is CAP_MAX_BYTES. The connect phase is bounded by
 *    min(timeout_ms, 5 s).
 *  - Order: queued documents (files first when they arrive while feeds
 *    are being read), then pending feed entries, then due sources.
 *  - Logging: this module logs (common/log.h) source failures and
 *    recoveries and refused entries, since it runs in its own thread.
 */

struct capsrc;

struct capsrc_doc {
	char *origin;        /* "FILE" (the path) or the URL it was fetched from */
	char *buf;           /* the bytes, NUL-terminated; NULL when ERROR */
	size_t len;
	const char *error;   /* NULL, or why it could not be read: "larger than 1048576 bytes" */
	char why[200];       /* ERROR points here */
};

/* NULL + errno; ERR says why ("cannot watch /x: No such file or directory",
 * "ftp://x: not an http or https URL"). A directory that does not exist
 * fails: the caller decides whether to go on without it. Directories are
 * scanned here; no URL is fetched before the first capsrc_next(). */
struct capsrc *capsrc_new(const struct warn_source *src, size_t n, char *err, size_t errlen);
void capsrc_free(struct capsrc *c);

/* The next document, waiting up to TIMEOUT_MS (< 0: no limit) for one
 * (polling what is due meanwhile). Queued documents come first, then
 * pending feed entries, then due sources; each fetch blocks up to its
 * source's timeout_ms, and at most one fetch starts once TIMEOUT_MS is
 * over (so TIMEOUT_MS 0 still reads the sources). capsrc_wake() also ends
 * a fetch under way (within about a second, libcurl's progress interval);
 * the source is then fetched again at the next call.
 * \retval 1 *OUT holds one (capsrc_doc_free() it) / 0 none yet (or
 * capsrc_wake) / -errno (poll failed) */
int capsrc_next(struct capsrc *c, int timeout_ms, struct capsrc_doc *out);
void capsrc_doc_free(struct capsrc_doc *d);

/* From any thread: make a waiting capsrc_next() return 0 now. */
void capsrc_wake(struct capsrc *c);
