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
 */

struct capsrc;

struct capsrc_doc {
	char *origin;        /* "FILE" (the path) or the URL it was fetched from */
	char *buf;           /* the bytes, NUL-terminated; NULL when ERROR */
	size_t len;
	const char *error;   /* NULL, or why it could not be read: "larger than 1048576 bytes" */
	char why[200];       /* ERROR points here */
};

/* NULL + errno; ERR says why ("cannot watch /x: No such file or directory"). */
struct capsrc *capsrc_new(const struct warn_source *src, size_t n, char *err, size_t errlen);
void capsrc_free(struct capsrc *c);

/* The next document, waiting up to TIMEOUT_MS for one (polling what is
 * due meanwhile). \retval 1 *OUT holds one (capsrc_doc_free() it) / 0 none
 * yet (or capsrc_wake) / -errno */
int capsrc_next(struct capsrc *c, int timeout_ms, struct capsrc_doc *out);
void capsrc_doc_free(struct capsrc_doc *d);

/* From any thread: make a waiting capsrc_next() return 0 now. */
void capsrc_wake(struct capsrc *c);
