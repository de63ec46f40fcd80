/* SPDX-License-Identifier: GPL-2.0-or-later */
/* capfetch.h -- one bounded HTTP(S) GET of a CAP source or feed entry, with libcurl */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * A GET restricted to http and https (redirects too, at most 5), with a
 * total timeout, a connect timeout of min(timeout, 5 s), no signals, no
 * proxy, the User-Agent "cunxiang/VERSION", an Accept header for CAP,
 * Atom and RSS, and a limit on the decoded body (a longer body aborts the
 * transfer: nothing partial is kept). Conditional when given an ETag or a
 * Last-Modified value. A write to the eventfd WAKE (capsrc_wake) ends the
 * transfer within libcurl's progress interval (about a second at most).
 * The caller owns the easy handle and must have run curl_global_init.
 */

enum capfetch_result {
	CAPFETCH_OK,            /* a 2xx answer: BUF holds the body */
	CAPFETCH_NOT_MODIFIED,  /* 304 */
	CAPFETCH_FAILED,        /* WHY: "HTTP status 500", curl's error, "out of memory" */
	CAPFETCH_TOO_BIG,       /* WHY: "larger than N bytes" */
	CAPFETCH_WOKEN,         /* WAKE was readable: the transfer was abandoned */
};

#define CAPFETCH_HDR_MAX 256    /* an ETag or Last-Modified longer than this is not kept */

struct capfetch {
	char *buf;              /* NUL-terminated, never NULL after CAPFETCH_OK */
	size_t len;
	long status;            /* the last HTTP status; 0: no answer (DNS, connect, timeout) */
	char *eff;              /* the URL after redirects, or NULL */
	char etag[CAPFETCH_HDR_MAX], lastmod[CAPFETCH_HDR_MAX];   /* of the final answer, or "" */
	char why[200];
	/* private */
	size_t cap, max;
	bool too_big, nomem, woken;
	int wake;
	char errbuf[CURL_ERROR_SIZE];
};

/* GET URL with H (reset first) into F, at most MAX bytes of body, within
 * TIMEOUT_MS; ETAG / LASTMOD (NULL: none) make it conditional.
 * \retval an enum capfetch_result; capfetch_done(F) in every case */
int capfetch_get(CURL *h, int wake, const char *url, long timeout_ms, size_t max,
		 const char *etag, const char *lastmod, struct capfetch *f);
void capfetch_done(struct capfetch *f);
