/* SPDX-License-Identifier: GPL-2.0-or-later */
/* capfetch.c -- one bounded HTTP(S) GET of a CAP source or feed entry, with libcurl */
#include "capfetch.h"

#include "config.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONNECT_MAX_MS  5000
#define MAX_REDIRS      5L

static const char ACCEPT[] =
	"Accept: application/cap+xml, application/common-alerting-protocol+xml, "
	"application/atom+xml, application/rss+xml, application/xml;q=0.9, "
	"text/xml;q=0.9, */*;q=0.1";

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct capfetch *f = ud;
	size_t n = size * nmemb;      /* size is 1 (curl's documentation) */

	if (n > f->max - f->len) {
		f->too_big = true;
		return 0;             /* aborts the transfer */
	}
	if (f->len + n + 1 > f->cap) {
		size_t cap = f->cap ? f->cap : 16384;
		char *b;

		while (cap < f->len + n + 1)
			cap *= 2;
		if (cap > f->max + 1)
			cap = f->max + 1;
		b = realloc(f->buf, cap);
		if (!b) {
			f->nomem = true;
			return 0;
		}
		f->buf = b;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	f->buf[f->len] = '\0';
	return n;
}

/* If line P (N bytes) is header NAME, keep its value in OUT; a value too
 * long or with control characters is not kept. */
static void header_value(const char *p, size_t n, const char *name, char out[CAPFETCH_HDR_MAX])
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(p, name, k) != 0 || p[k] != ':')
		return;
	p += k + 1;
	n -= k + 1;
	while (n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	out[0] = '\0';
	if (n == 0 || n >= CAPFETCH_HDR_MAX)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return;
	memcpy(out, p, n);
	out[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct capfetch *f = ud;
	size_t n = size * nmemb;

	/* A new response (after a redirect): forget the previous one's. */
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		f->etag[0] = '\0';
		f->lastmod[0] = '\0';
		return n;
	}
	header_value(p, n, "ETag", f->etag);
	header_value(p, n, "Last-Modified", f->lastmod);
	return n;
}

/* capsrc_wake() during a transfer ends it: the caller stops waiting. */
static int on_progress(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	struct capfetch *f = ud;
	struct pollfd p = { .fd = f->wake, .events = POLLIN };

	if (poll(&p, 1, 0) > 0) {
		f->woken = true;
		return 1;
	}
	return 0;
}

/* Append "NAME: VALUE" to *H when VALUE is set; out of memory frees *H. */
static void add_header(struct curl_slist **h, const char *name, const char *value)
{
	char line[CAPFETCH_HDR_MAX + 32];
	struct curl_slist *t;

	if (!*h || !value)
		return;
	snprintf(line, sizeof(line), "%s: %s", name, value);
	t = curl_slist_append(*h, line);
	if (!t)
		curl_slist_free_all(*h);
	*h = t;
}

static struct curl_slist *request_headers(const char *etag, const char *lastmod)
{
	struct curl_slist *h = curl_slist_append(NULL, ACCEPT);

	add_header(&h, "If-None-Match", etag);
	add_header(&h, "If-Modified-Since", lastmod);
	return h;
}

static bool set_options(CURL *h, const char *url, long timeout_ms, size_t max,
			struct curl_slist *hdr, struct capfetch *f)
{
	long connect_ms = timeout_ms < CONNECT_MAX_MS ? timeout_ms : CONNECT_MAX_MS;
	bool bad = false;

	bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_MAXREDIRS, MAX_REDIRS) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	/* No proxy from the environment: warnings.yaml has none to configure. */
	bad |= curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "cunxiang/" CX_VERSION) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) != CURLE_OK;
	/* The size limit is on the decoded bytes (on_body), so compression
	 * cannot inflate past it. */
	bad |= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
				(curl_off_t)(max < (size_t)INT64_MAX ? max : (size_t)INT64_MAX)) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, f) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, f) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, f) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->errbuf) != CURLE_OK;
	return !bad;
}

int capfetch_get(CURL *h, int wake, const char *url, long timeout_ms, size_t max,
		 const char *etag, const char *lastmod, struct capfetch *f)
{
	struct curl_slist *hdr;
	long status = 0;
	char *eff = NULL;
	CURLcode rc;

	memset(f, 0, sizeof(*f));
	f->wake = wake;
	f->max = max;
	curl_easy_reset(h);
	hdr = request_headers(etag, lastmod);
	if (!hdr || !set_options(h, url, timeout_ms, max, hdr, f)) {
		curl_slist_free_all(hdr);
		snprintf(f->why, sizeof(f->why), "cannot set up the request (libcurl)");
		return CAPFETCH_FAILED;
	}
	rc = curl_easy_perform(h);
	curl_slist_free_all(hdr);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	f->status = status;
	if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
		f->eff = strdup(eff);
	if (f->woken)
		return CAPFETCH_WOKEN;
	if (status >= 400) {
		snprintf(f->why, sizeof(f->why), "HTTP status %ld", status);
		return CAPFETCH_FAILED;
	}
	if (f->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(f->why, sizeof(f->why), "larger than %zu bytes", max);
		return CAPFETCH_TOO_BIG;
	}
	if (f->nomem) {
		snprintf(f->why, sizeof(f->why), "out of memory");
		return CAPFETCH_FAILED;
	}
	if (rc != CURLE_OK) {
		size_t n = strlen(f->errbuf);

		while (n > 0 && f->errbuf[n - 1] == '\n')
			f->errbuf[--n] = '\0';
		snprintf(f->why, sizeof(f->why), "%s", n ? f->errbuf : curl_easy_strerror(rc));
		return CAPFETCH_FAILED;
	}
	if (status == 304)
		return CAPFETCH_NOT_MODIFIED;
	if (status < 200 || status > 299) {
		snprintf(f->why, sizeof(f->why), "HTTP status %ld", status);
		return CAPFETCH_FAILED;
	}
	if (!f->buf) {
		f->buf = strdup("");
		if (!f->buf) {
			snprintf(f->why, sizeof(f->why), "out of memory");
			return CAPFETCH_FAILED;
		}
	}
	return CAPFETCH_OK;
}

void capfetch_done(struct capfetch *f)
{
	free(f->buf);
	free(f->eff);
}
