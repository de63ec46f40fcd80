/* SPDX-License-Identifier: GPL-2.0-or-later */
/* capfeed.c -- what a fetched document is: a CAP alert, or an Atom or RSS feed and the CAP entries it names */
#define _GNU_SOURCE /* strndup */
#include "capfeed.h"

#include "vec.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ATOM_NS "http://www.w3.org/2005/Atom"

void capfeed_free(struct capfeed *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].url);
		free(f->v[i].doc);
		free(f->v[i].id);
	}
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

static struct capfeed_entry *feed_add(struct capfeed *ix)
{
	if (ix->n >= CAPFEED_MAX_ENTRIES || !vec_grow((void **)&ix->v, &ix->cap, ix->n + 1, sizeof(*ix->v)))
		return NULL;
	memset(&ix->v[ix->n], 0, sizeof(ix->v[0]));
	return &ix->v[ix->n++];
}

static bool is_el(const xmlNode *n, const char *name, const char *ns)
{
	if (n->type != XML_ELEMENT_NODE || !xmlStrEqual(n->name, BAD_CAST name))
		return false;
	if (!ns)
		return n->ns == NULL;
	return n->ns && xmlStrEqual(n->ns->href, BAD_CAST ns);
}

static bool is_cap_type(const xmlChar *type)
{
	static const char *const t[] = { "application/cap+xml", "application/common-alerting-protocol+xml" };

	if (!type)
		return false;
	for (size_t i = 0; i < 2; i++) {
		size_t k = strlen(t[i]);

		/* Parameters (";charset=...") may follow. */
		if (strncasecmp((const char *)type, t[i], k) == 0 &&
		    (type[k] == '\0' || type[k] == ';' || type[k] == ' '))
			return true;
	}
	return false;
}

/* HREF resolved against the base of node N (xml:base, else the feed's URL). */
static char *resolve(xmlDoc *doc, xmlNode *n, const xmlChar *href)
{
	xmlChar *base = xmlNodeGetBase(doc, n), *uri;
	char *s = NULL;

	uri = xmlBuildURI(href, base);
	xmlFree(base);
	if (uri) {
		s = strdup((const char *)uri);
		xmlFree(uri);
	}
	return s;
}

static char *trimmed_text(xmlNode *n)
{
	xmlChar *t = xmlNodeGetContent(n);
	const char *p = (const char *)t;
	char *s;
	size_t len;

	if (!t)
		return NULL;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	len = strlen(p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' || p[len - 1] == '\n'))
		len--;
	s = len ? strndup(p, len) : NULL;
	xmlFree(t);
	return s;
}

/* An entry's id, or NULL when it has none fit to name it in an origin
 * and in logs (too long, or with control characters). */
static char *entry_id(xmlNode *n)
{
	char *id = trimmed_text(n);

	if (!id)
		return NULL;
	for (const char *p = id; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || p - id >= CAPFEED_MAX_ID) {
			free(id);
			return NULL;
		}
	return id;
}

/* The element ALERT as a document of its own, its namespaces declared. */
static int serialise(xmlNode *alert, char **buf, size_t *len)
{
	xmlDoc *d = xmlNewDoc(BAD_CAST "1.0");
	xmlNode *copy;
	xmlChar *mem = NULL;
	int n = 0;

	if (!d)
		return -ENOMEM;
	copy = xmlDocCopyNode(alert, d, 1);
	if (!copy) {
		xmlFreeDoc(d);
		return -ENOMEM;
	}
	xmlDocSetRootElement(d, copy);
	xmlDocDumpMemoryEnc(d, &mem, &n, "UTF-8");
	xmlFreeDoc(d);
	if (!mem || n < 0) {
		xmlFree(mem);
		return -ENOMEM;
	}
	*buf = malloc((size_t)n + 1);
	if (*buf) {
		memcpy(*buf, mem, (size_t)n);
		(*buf)[n] = '\0';
		*len = (size_t)n;
	}
	xmlFree(mem);
	return *buf ? 0 : -ENOMEM;
}

static xmlNode *inline_alert(xmlNode *entry)
{
	for (xmlNode *n = entry->children; n; n = n->next) {
		if (!is_el(n, "content", ATOM_NS))
			continue;
		for (xmlNode *a = n->children; a; a = a->next)
			if (a->type == XML_ELEMENT_NODE && xmlStrEqual(a->name, BAD_CAST "alert"))
				return a;
	}
	return NULL;
}

/* An Atom entry: its inline alert, else its link typed as CAP, else its
 * first link with rel="alternate" or no rel. */
static void atom_entry(xmlDoc *doc, xmlNode *e, size_t pos, struct capfeed *ix)
{
	xmlNode *alert = inline_alert(e), *cap = NULL, *alt = NULL;
	struct capfeed_entry *fo;
	char *id = NULL;

	for (xmlNode *n = e->children; n; n = n->next) {
		if (is_el(n, "id", ATOM_NS) && !id)
			id = entry_id(n);
		if (!is_el(n, "link", ATOM_NS) || !xmlHasProp(n, BAD_CAST "href"))
			continue;
		xmlChar *type = xmlGetProp(n, BAD_CAST "type"), *rel = xmlGetProp(n, BAD_CAST "rel");

		if (!cap && is_cap_type(type))
			cap = n;
		if (!alt && (!rel || xmlStrEqual(rel, BAD_CAST "alternate")))
			alt = n;
		xmlFree(type);
		xmlFree(rel);
	}
	if (!alert && !cap)
		cap = alt;
	if ((!alert && !cap) || !(fo = feed_add(ix)))
		goto out;
	if (alert) {
		fo->pos = pos + 1;
		fo->id = id;
		id = NULL;
		if (serialise(alert, &fo->doc, &fo->len) < 0) {
			free(fo->id);
			ix->n--;
		}
	} else {
		xmlChar *href = xmlGetProp(cap, BAD_CAST "href");

		fo->url = resolve(doc, cap, href);
		xmlFree(href);
		if (!fo->url)
			ix->n--;
	}
out:
	free(id);
}

/* An RSS item: an enclosure typed as CAP, else its link, else any enclosure. */
static void rss_item(xmlDoc *doc, xmlNode *item, struct capfeed *ix)
{
	xmlNode *cap = NULL, *link = NULL, *encl = NULL;
	char *text = NULL;
	struct capfeed_entry *fo;

	for (xmlNode *n = item->children; n; n = n->next) {
		if (is_el(n, "link", NULL) && !link)
			link = n;
		if (!is_el(n, "enclosure", NULL) || !xmlHasProp(n, BAD_CAST "url"))
			continue;
		xmlChar *type = xmlGetProp(n, BAD_CAST "type");

		if (!cap && is_cap_type(type))
			cap = n;
		if (!encl)
			encl = n;
		xmlFree(type);
	}
	if (!cap && link && !(text = trimmed_text(link)))
		link = NULL;
	if (!cap && !link)
		cap = encl;
	if ((!cap && !link) || !(fo = feed_add(ix)))
		goto out;
	if (cap) {
		xmlChar *url = xmlGetProp(cap, BAD_CAST "url");

		fo->url = resolve(doc, cap, url);
		xmlFree(url);
	} else {
		fo->url = resolve(doc, link, BAD_CAST text);
	}
	if (!fo->url)
		ix->n--;
out:
	free(text);
}

static void refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	xmlParserCtxt *ctxt = ctx;

	*(bool *)ctxt->_private = true;
	xmlStopParser(ctxt);
}

int capfeed_parse(const char *buf, size_t len, const char *base, struct capfeed *ix,
		       char *why, size_t whylen)
{
	xmlParserCtxt *ctxt = xmlNewParserCtxt();
	xmlDoc *doc = NULL;
	xmlNode *root, *ch;
	bool dtd = false;
	int kind = -1;
	size_t pos = 0;

	if (!ctxt || len > INT_MAX) {
		snprintf(why, whylen, "%s", ctxt ? "too large to parse" : "out of memory");
		goto out;
	}
	/* No DTD at all: no entity to expand, nothing to fetch. */
	ctxt->sax->internalSubset = refuse_dtd;
	ctxt->_private = &dtd;
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, base, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (dtd) {
		snprintf(why, whylen, "a document with a DTD is refused");
		goto out;
	}
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root) {
		const char *m = ctxt->lastError.message ? ctxt->lastError.message : "no root element";
		size_t k = strcspn(m, "\n");

		snprintf(why, whylen, "not XML (line %d: %.*s)", ctxt->lastError.line, (int)k, m);
		goto out;
	}
	if (xmlStrEqual(root->name, BAD_CAST "alert")) {
		kind = CAPFEED_ALERT;
	} else if (is_el(root, "feed", ATOM_NS)) {
		kind = CAPFEED_FEED;
		for (ch = root->children; ch; ch = ch->next)
			if (is_el(ch, "entry", ATOM_NS))
				atom_entry(doc, ch, pos++, ix);
	} else if (is_el(root, "rss", NULL)) {
		kind = CAPFEED_FEED;
		for (ch = root->children; ch; ch = ch->next)
			if (is_el(ch, "channel", NULL))
				for (xmlNode *it = ch->children; it; it = it->next)
					if (is_el(it, "item", NULL))
						rss_item(doc, it, ix);
	} else {
		snprintf(why, whylen, "neither CAP nor an Atom or RSS feed (root element <%.40s>)",
			 (const char *)root->name);
	}
out:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return kind;
}

