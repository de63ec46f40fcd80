/* SPDX-License-Identifier: GPL-2.0-or-later */
/* capfeed.h -- what a fetched document is: a CAP alert, or an Atom or RSS feed and the CAP entries it names */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * The body of a polled URL, read with libxml2 without network access and
 * refused outright when it has a DTD (no entity is ever expanded). Its
 * root decides:
 *  - <alert> in any namespace: a CAP document, passed on as it is (the CAP
 *    parser judges it).
 *  - an Atom <feed> (http://www.w3.org/2005/Atom): for each <entry>, in
 *    this order of preference, a CAP <alert> element inside its <content>
 *    (made a document of its own, namespaces declared); else its first
 *    <link> whose type is application/cap+xml or
 *    application/common-alerting-protocol+xml (parameters allowed); else
 *    its first <link> with rel="alternate" or no rel. An entry with none
 *    of these yields nothing.
 *  - an RSS <rss>/<channel>/<item>: an <enclosure> typed as CAP, else the
 *    item's <link> text, else its first <enclosure>.
 * Links are resolved against xml:base, else BASE (the URL the feed was
 * fetched from after redirects). Their scheme is not checked here.
 * At most CAPFEED_MAX_ENTRIES entries are taken from one feed.
 */

#define CAPFEED_MAX_ENTRIES 1000
#define CAPFEED_MAX_ID      512    /* bytes of an entry id kept */

enum capfeed_kind { CAPFEED_ALERT, CAPFEED_FEED };

struct capfeed_entry {
	char *url;         /* the document to fetch, or NULL when inline */
	char *doc;         /* inline: the alert as a document, NUL-terminated */
	size_t len;
	char *id;          /* inline: the entry's <id>, or NULL (none, too long, control characters) */
	size_t pos;        /* inline: the entry's place in the feed, from 1 */
};

struct capfeed {
	struct capfeed_entry *v;
	size_t n, cap;
};

/* Classify BUF (LEN bytes) fetched from BASE; a feed's entries are added
 * to OUT (zeroed by the caller; capfeed_free() it in every case).
 * \retval CAPFEED_ALERT / CAPFEED_FEED
 * \retval -1  neither: WHY says what it is ("not XML (line 1: ...)",
 *             "a document with a DTD is refused", "neither CAP nor an
 *             Atom or RSS feed (root element <html>)") */
int capfeed_parse(const char *buf, size_t len, const char *base, struct capfeed *out,
		  char *why, size_t whylen);
void capfeed_free(struct capfeed *f);
