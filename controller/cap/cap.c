/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cap.c -- CAP 1.2 documents read safely, checked against the schema, and turned into a model */
#include "cap.h"

#include "cap_xml.h"
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlschemas.h>

/* Where the schema is: installed, else the source tree (tests, a build run
 * in place). */
#define CX_CAP_XSD     CX_DATADIR "/cunxiang/cap/cap-1.2.xsd"
#define CX_CAP_XSD_SRC CX_SOURCE_ROOT "/data/cap/cap-1.2.xsd"

#define CAP_NS_11 "urn:oasis:names:tc:emergency:cap:1.1"
#define CAP_NS_10 "http://www.incident.com/cap/1.0"

/* ---- errors ---------------------------------------------------------- */

/* The first error of a document, one line. */
struct xerr {
	char *buf;
	size_t len;
	int set;
	int nomem;
	int stopped;   /* we stopped the parser (a DTD, too deep): our reason stands */
};

static void xerr_set(struct xerr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void xerr_set(struct xerr *e, const char *fmt, ...)
{
	va_list ap;

	if (e->set || !e->len)
		return;
	e->set = 1;
	va_start(ap, fmt);
	vsnprintf(e->buf, e->len, fmt, ap);
	va_end(ap);
}

/* libxml2's message, on one line, without the CAP namespace that schema
 * messages put in front of every element name. */
static void clean_message(char *s)
{
	static const char ns[] = "{" CAP_NS_12 "}";
	char *p;
	size_t n;

	while ((p = strstr(s, ns)))
		memmove(p, p + sizeof(ns) - 1, strlen(p + sizeof(ns) - 1) + 1);
	for (p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	n = strlen(s);
	while (n && s[n - 1] == ' ')
		s[--n] = '\0';
}

static void xerr_lib(struct xerr *e, const xmlError *x)
{
	char msg[512];

	if (x->level < XML_ERR_ERROR || e->set)
		return;
	if (x->code == XML_ERR_NO_MEMORY)
		e->nomem = 1;
	snprintf(msg, sizeof(msg), "%s", x->message ? x->message : "error");
	clean_message(msg);
	if (x->line > 0)
		xerr_set(e, "line %d: %s", x->line, msg);
	else
		xerr_set(e, "%s", msg);
}

/* Parser errors: the structured handler of this parser context only
 * (ctxt->sax->serror), so nothing goes to stderr and threads do not share
 * a handler. */
static void parser_error(void *ctx, xmlErrorPtr x)
{
	xmlParserCtxtPtr ctxt = ctx;

	xerr_lib(ctxt->_private, x);
}

static void schema_error(void *ctx, xmlErrorPtr x)
{
	xerr_lib(ctx, x);
}

/* ---- reading --------------------------------------------------------- */

/* Any <!DOCTYPE>: stop before its internal subset is read, so that no
 * entity is ever declared, let alone expanded or fetched. */
static void refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xerr *e = ctxt->_private;

	xerr_set(e, "line %d: a DTD is not allowed in a CAP message", xmlSAX2GetLineNumber(ctx));
	e->stopped = 1;
	xmlStopParser(ctxt);
}

static void start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
			  const xmlChar *uri, int nns, const xmlChar **ns, int nattrs, int ndefaulted,
			  const xmlChar **attrs)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xerr *e = ctxt->_private;

	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nns, ns, nattrs, ndefaulted, attrs);
	if (ctxt->nodeNr > CAP_MAX_DEPTH) {
		xerr_set(e, "line %d: element '%s' is nested deeper than %d elements",
			 xmlSAX2GetLineNumber(ctx), (const char *)localname, CAP_MAX_DEPTH);
		e->stopped = 1;
		xmlStopParser(ctxt);
	}
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

static void quiet_generic(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

int cap_xml_read(const char *buf, size_t len, xmlDocPtr *out, char *err, size_t errlen)
{
	struct xerr e = { err, errlen, 0, 0, 0 };
	xmlParserCtxtPtr ctxt;
	int r = 0;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (len > CAP_MAX_BYTES) {
		xerr_set(&e, "larger than %u bytes (%zu)", CAP_MAX_BYTES, len);
		return -EFBIG;
	}
	if (!len) {
		xerr_set(&e, "an empty document");
		return -EINVAL;
	}
	pthread_once(&xml_once, xml_init);
	/* What libxml2 reports outside a context (an input that is not the
	 * encoding it declares) goes to the thread's generic handler, which
	 * would print on stderr: the context's handler has said it already. */
	xmlSetGenericErrorFunc(NULL, quiet_generic);
	ctxt = xmlCreateMemoryParserCtxt(buf, (int)len);
	if (!ctxt) {
		xerr_set(&e, "out of memory");
		return -ENOMEM;
	}
	/* No XML_PARSE_NOENT, DTDLOAD, DTDATTR, XINCLUDE or HUGE: entities stay
	 * unexpanded, nothing is loaded, libxml2's own limits stay on. */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOCDATA);
	/* Whatever another library set as the thread's libxml2 defaults
	 * (xmlSubstituteEntitiesDefault, xmlLoadExtDtdDefaultValue), not here. */
	ctxt->replaceEntities = 0;
	ctxt->loadsubset = 0;
	ctxt->validate = 0;
	ctxt->_private = &e;
	ctxt->sax->serror = parser_error;
	ctxt->sax->internalSubset = refuse_dtd;
	ctxt->sax->externalSubset = NULL;
	ctxt->sax->entityDecl = NULL;
	ctxt->sax->startElementNs = start_element;

	xmlParseDocument(ctxt);
	if (e.stopped || !ctxt->wellFormed || !ctxt->myDoc) {
		r = e.nomem ? -ENOMEM : -EINVAL;
		xerr_set(&e, "not well-formed XML");
		xmlFreeDoc(ctxt->myDoc);
	} else if (!xmlDocGetRootElement(ctxt->myDoc)) {
		r = -EINVAL;
		xerr_set(&e, "no root element");
		xmlFreeDoc(ctxt->myDoc);
	} else {
		*out = ctxt->myDoc;
	}
	ctxt->myDoc = NULL;
	xmlFreeParserCtxt(ctxt);
	return r;
}

int cap_xml_is(const xmlNode *node, const char *ns, const char *name)
{
	return node && node->type == XML_ELEMENT_NODE && node->ns && node->ns->href &&
	       !strcmp((const char *)node->ns->href, ns) && !strcmp((const char *)node->name, name);
}

/* ---- the schema ------------------------------------------------------ */

static pthread_once_t schema_once = PTHREAD_ONCE_INIT;
static xmlSchemaPtr schema;
static char schema_err[400];
static int schema_rc;

static void schema_load(void)
{
	const char *path = access(CX_CAP_XSD, R_OK) == 0 ? CX_CAP_XSD : CX_CAP_XSD_SRC;
	struct xerr e = { schema_err, sizeof(schema_err), 0, 0, 0 };
	xmlSchemaParserCtxtPtr pc;

	pthread_once(&xml_once, xml_init);
	if (access(path, R_OK) != 0) {
		schema_rc = -ENOENT;
		snprintf(schema_err, sizeof(schema_err),
			 "the CAP 1.2 schema is missing: neither %s nor %s can be read", CX_CAP_XSD,
			 CX_CAP_XSD_SRC);
		return;
	}
	pc = xmlSchemaNewParserCtxt(path);
	if (!pc) {
		schema_rc = -ENOMEM;
		snprintf(schema_err, sizeof(schema_err), "out of memory");
		return;
	}
	xmlSchemaSetParserStructuredErrors(pc, schema_error, &e);
	schema = xmlSchemaParse(pc);
	xmlSchemaFreeParserCtxt(pc);
	if (!schema) {
		char why[300];

		snprintf(why, sizeof(why), "%.250s", e.set ? schema_err : "unreadable");
		snprintf(schema_err, sizeof(schema_err), "the CAP 1.2 schema %s is broken: %s", path,
			 why);
		schema_rc = -EINVAL;
	}
}

static int validate(xmlDocPtr doc, char *err, size_t errlen)
{
	struct xerr e = { err, errlen, 0, 0, 0 };
	xmlSchemaValidCtxtPtr v;
	int r;

	pthread_once(&schema_once, schema_load);
	if (!schema) {
		xerr_set(&e, "%s", schema_err);
		return schema_rc;
	}
	v = xmlSchemaNewValidCtxt(schema);
	if (!v) {
		xerr_set(&e, "out of memory");
		return -ENOMEM;
	}
	xmlSchemaSetValidStructuredErrors(v, schema_error, &e);
	r = xmlSchemaValidateDoc(v, doc);
	xmlSchemaFreeValidCtxt(v);
	if (r == 0)
		return 0;
	xerr_set(&e, "not valid against the CAP 1.2 schema");
	return e.nomem ? -ENOMEM : -EINVAL;
}

/* ---- times ----------------------------------------------------------- */

/* N digits at S as a number, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): no time zone, no mktime. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Exactly "YYYY-MM-DDThh:mm:ss(+|-)hh:mm", as CAP 1.2 section 3.3.2 and the
 * schema's pattern have it: no "Z" (the specification writes UTC as
 * "-00:00"), no fractional seconds, no leap second, no hour 24; an offset
 * of at most 14:00 as in xs:dateTime.
 */
int capmsg_time(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, oh, om, sign;
	int64_t t;

	if (!s || strlen(s) != 25 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || (s[19] != '+' && s[19] != '-') || s[22] != ':')
		return -EINVAL;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	oh = digits(s + 20, 2);
	om = digits(s + 23, 2);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 59 || oh < 0 || om < 0 || om > 59 ||
	    oh * 60 + om > 14 * 60)
		return -EINVAL;
	sign = s[19] == '+' ? 1 : -1;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (oh * 3600 + om * 60);
	*ms = t * 1000;
	return 0;
}

/* ---- the model's memory ------------------------------------------------ */

/* The model is one cap_box: the message, then chunks that hold every
 * string and array of it; capmsg_free() frees the chunks and the box. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

struct cap_box {
	struct cap_msg msg;   /* first: capmsg_free() gets this pointer */
	struct chunk *chunks;
};

#define CHUNK_SIZE 16384

static void *box_alloc(struct cap_box *b, size_t n)
{
	size_t a = alignof(max_align_t);
	struct chunk *c = b->chunks;
	void *p;

	n = (n + a - 1) / a * a;
	if (!n)
		n = a;
	if (!c || c->size - c->used < n) {
		size_t size = n > CHUNK_SIZE ? n : CHUNK_SIZE;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = size;
		c->next = b->chunks;
		b->chunks = c;
	}
	p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

static char *box_strndup(struct cap_box *b, const char *s, size_t n)
{
	char *p = box_alloc(b, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void capmsg_free(struct cap_msg *m)
{
	struct cap_box *b = (struct cap_box *)m;
	struct chunk *c, *next;

	if (!b)
		return;
	for (c = b->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(b);
}

/* ---- the model ---------------------------------------------------------- */

struct build {
	struct cap_box *b;
	char *err;
	size_t errlen;
};

static int fail(struct build *bd, int r, const xmlNode *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct build *bd, int r, const xmlNode *n, const char *fmt, ...)
{
	char why[300];
	va_list ap;

	if (r == -ENOMEM) {
		snprintf(bd->err, bd->errlen, "out of memory");
		return r;
	}
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(bd->err, bd->errlen, "line %ld: %s", n ? xmlGetLineNo(n) : 0L, why);
	return r;
}

static int is_cap(const xmlNode *n, const char *name)
{
	return cap_xml_is(n, CAP_NS_12, name);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The text of N, trimmed of surrounding white space, copied into the box. */
static int text(struct build *bd, const xmlNode *n, const char **out)
{
	xmlChar *c = xmlNodeGetContent(n);
	const char *s = c ? (const char *)c : "", *e;

	while (is_space(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space(e[-1]))
		e--;
	*out = box_strndup(bd->b, s, (size_t)(e - s));
	xmlFree(c);
	return *out ? 0 : fail(bd, -ENOMEM, n, "out of memory");
}

static int time_of(struct build *bd, const xmlNode *n, int64_t *ms)
{
	const char *s;
	int r = text(bd, n, &s);

	if (r < 0)
		return r;
	if (capmsg_time(s, ms) < 0)
		return fail(bd, -EINVAL, n, "<%s> '%s' is not a CAP time (YYYY-MM-DDThh:mm:ss+hh:mm)",
			    (const char *)n->name, s);
	return 0;
}

static size_t count(const xmlNode *parent, const char *name)
{
	size_t k = 0;

	for (const xmlNode *n = parent->children; n; n = n->next)
		k += is_cap(n, name);
	return k;
}

static void *array(struct build *bd, const xmlNode *parent, size_t n, size_t size)
{
	void *p = box_alloc(bd->b, n * size);

	if (!p)
		fail(bd, -ENOMEM, parent, "out of memory");
	return p;
}

/* Every NAME child of PARENT, as strings. */
static int strings(struct build *bd, const xmlNode *parent, const char *name,
		   const char *const **out, size_t *nout)
{
	size_t n = count(parent, name), k = 0;
	const char **v = array(bd, parent, n, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	for (const xmlNode *c = parent->children; c; c = c->next)
		if (is_cap(c, name) && (r = text(bd, c, &v[k++])) < 0)
			return r;
	*out = v;
	*nout = n;
	return 0;
}

/* A geocode: valueName and value. */
static int named(struct build *bd, const xmlNode *n, struct cap_geocode *g)
{
	int r;

	for (const xmlNode *c = n->children; c; c = c->next) {
		if (is_cap(c, "valueName") && (r = text(bd, c, &g->name)) < 0)
			return r;
		if (is_cap(c, "value") && (r = text(bd, c, &g->value)) < 0)
			return r;
	}
	if (!g->name || !g->value)
		return fail(bd, -EINVAL, n, "<%s> without valueName or value", (const char *)n->name);
	return 0;
}

static int build_area(struct build *bd, const xmlNode *n, struct cap_area *a)
{
	struct cap_geocode *g;
	size_t k = 0;
	int r;

	if ((r = strings(bd, n, "polygon", &a->polygons, &a->npolygons)) < 0 ||
	    (r = strings(bd, n, "circle", &a->circles, &a->ncircles)) < 0)
		return r;
	a->ngeocodes = count(n, "geocode");
	a->geocodes = g = array(bd, n, a->ngeocodes, sizeof(*g));
	if (!g)
		return -ENOMEM;
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (is_cap(c, "areaDesc") && (r = text(bd, c, &a->desc)) < 0)
			return r;
		if (is_cap(c, "geocode") && (r = named(bd, c, &g[k++])) < 0)
			return r;
	}
	if (!a->desc)
		return fail(bd, -EINVAL, n, "<area> without <areaDesc>");
	return 0;
}

/* The simple text elements of an info block, and where they go. */
static const struct {
	const char *name;
	size_t off;
} info_text[] = {
	{ "language", offsetof(struct cap_info, language) },
	{ "event", offsetof(struct cap_info, event) },
	{ "urgency", offsetof(struct cap_info, urgency) },
	{ "severity", offsetof(struct cap_info, severity) },
	{ "certainty", offsetof(struct cap_info, certainty) },
	{ "senderName", offsetof(struct cap_info, sender_name) },
	{ "headline", offsetof(struct cap_info, headline) },
	{ "description", offsetof(struct cap_info, description) },
	{ "instruction", offsetof(struct cap_info, instruction) },
	{ "web", offsetof(struct cap_info, web) },
}, info_time[] = {
	{ "effective", offsetof(struct cap_info, effective_ms) },
	{ "onset", offsetof(struct cap_info, onset_ms) },
	{ "expires", offsetof(struct cap_info, expires_ms) },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int info_field(struct build *bd, const xmlNode *c, struct cap_info *i)
{
	for (size_t k = 0; k < NELEM(info_text); k++)
		if (is_cap(c, info_text[k].name))
			return text(bd, c, (const char **)((char *)i + info_text[k].off));
	for (size_t k = 0; k < NELEM(info_time); k++)
		if (is_cap(c, info_time[k].name))
			return time_of(bd, c, (int64_t *)(void *)((char *)i + info_time[k].off));
	return 0;
}

static int build_info(struct build *bd, const xmlNode *n, struct cap_info *i)
{
	struct cap_area *a;
	size_t k = 0;
	int r;

	i->effective_ms = i->onset_ms = i->expires_ms = CAP_NO_TIME;
	if ((r = strings(bd, n, "category", &i->categories, &i->ncategories)) < 0)
		return r;
	i->nareas = count(n, "area");
	i->areas = a = array(bd, n, i->nareas, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (const xmlNode *c = n->children; c; c = c->next) {
		if ((r = info_field(bd, c, i)) < 0)
			return r;
		if (is_cap(c, "area") && (r = build_area(bd, c, &a[k++])) < 0)
			return r;
	}
	if (!i->language || !i->language[0])
		i->language = "en-US";
	if (!i->event || !i->urgency || !i->severity || !i->certainty || !i->ncategories)
		return fail(bd, -EINVAL, n, "<info> without category, event, urgency, severity or certainty");
	return 0;
}

/* <references>: entries "sender,identifier,sent" separated by white space.
 * Each must have its three parts, none empty; the time is kept as written. */
static int build_refs(struct build *bd, const xmlNode *n, struct cap_msg *m)
{
	const char *s, *p, *e;
	struct cap_ref *refs;
	size_t k = 0, nrefs = 0;
	int r;

	if ((r = text(bd, n, &s)) < 0)
		return r;
	for (p = s; *p;) {
		while (is_space(*p))
			p++;
		if (*p)
			nrefs++;
		while (*p && !is_space(*p))
			p++;
	}
	m->refs = refs = array(bd, n, nrefs, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (p = s; *p; p = e) {
		const char *c1, *c2;
		char *entry;

		while (is_space(*p))
			p++;
		for (e = p; *e && !is_space(*e); e++)
			;
		if (e == p)
			break;
		entry = box_strndup(bd->b, p, (size_t)(e - p));
		if (!entry)
			return fail(bd, -ENOMEM, n, "out of memory");
		c1 = strchr(entry, ',');
		c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (!c2 || strchr(c2 + 1, ',') || c1 == entry || c2 == c1 + 1 || !c2[1])
			return fail(bd, -EINVAL, n,
				    "<references>: malformed entry '%s' (sender,identifier,sent)", entry);
		entry[c1 - entry] = entry[c2 - entry] = '\0';
		refs[k++] = (struct cap_ref){ entry, c1 + 1, c2 + 1 };
	}
	m->nrefs = k;
	return 0;
}

static const struct {
	const char *name;
	size_t off;
} msg_text[] = {
	{ "identifier", offsetof(struct cap_msg, identifier) },
	{ "sender", offsetof(struct cap_msg, sender) },
	{ "sent", offsetof(struct cap_msg, sent) },
	{ "status", offsetof(struct cap_msg, status) },
	{ "msgType", offsetof(struct cap_msg, msg_type) },
	{ "scope", offsetof(struct cap_msg, scope) },
	{ "source", offsetof(struct cap_msg, source) },
	{ "note", offsetof(struct cap_msg, note) },
};

static int msg_field(struct build *bd, const xmlNode *c, struct cap_msg *m)
{
	for (size_t k = 0; k < NELEM(msg_text); k++)
		if (is_cap(c, msg_text[k].name))
			return text(bd, c, (const char **)((char *)m + msg_text[k].off));
	if (is_cap(c, "references"))
		return build_refs(bd, c, m);
	if (cap_xml_is(c, CAP_DSIG_NS, "Signature"))
		m->has_signature = true;
	return 0;
}

static int build_msg(struct build *bd, const xmlNode *root, struct cap_msg *m)
{
	struct cap_info *infos;
	size_t k = 0;
	int r;

	for (const xmlNode *c = root->children; c; c = c->next)
		if ((r = msg_field(bd, c, m)) < 0)
			return r;
	if (!m->identifier || !m->sender || !m->sent || !m->status || !m->msg_type || !m->scope)
		return fail(bd, -EINVAL, root,
			    "<alert> without identifier, sender, sent, status, msgType or scope");
	if (capmsg_time(m->sent, &m->sent_ms) < 0)
		return fail(bd, -EINVAL, root, "<sent> '%s' is not a CAP time", m->sent);
	m->ninfos = count(root, "info");
	m->infos = infos = array(bd, root, m->ninfos, sizeof(*infos));
	if (!infos)
		return -ENOMEM;
	for (const xmlNode *c = root->children; c; c = c->next)
		if (is_cap(c, "info") && (r = build_info(bd, c, &infos[k++])) < 0)
			return r;
	return 0;
}

/* ---- the parser ------------------------------------------------------- */

/* The root is a CAP 1.2 alert, or the reason why not. */
static int check_root(const xmlNode *root, char *err, size_t errlen)
{
	const char *ns = root->ns && root->ns->href ? (const char *)root->ns->href : "";
	long line = xmlGetLineNo(root);

	if (!strcmp(ns, CAP_NS_12) && !strcmp((const char *)root->name, "alert"))
		return 0;
	if (!strcmp(ns, CAP_NS_11) || !strcmp(ns, CAP_NS_10)) {
		snprintf(err, errlen, "line %ld: CAP %s is not supported: only CAP 1.2 (%s)", line,
			 strcmp(ns, CAP_NS_11) ? "1.0" : "1.1", CAP_NS_12);
		return -EPROTO;
	}
	snprintf(err, errlen, "line %ld: not a CAP message: the root element is '%s'%s%s%s", line,
		 (const char *)root->name, ns[0] ? " in namespace '" : " in no namespace", ns,
		 ns[0] ? "'" : "");
	return -EINVAL;
}

int capmsg_parse(const char *buf, size_t len, struct cap_msg **out, char *err, size_t errlen)
{
	struct build bd = { NULL, err, errlen };
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	int r;

	*out = NULL;
	if ((r = cap_xml_read(buf, len, &doc, err, errlen)) < 0)
		return r;
	root = xmlDocGetRootElement(doc);
	if ((r = check_root(root, err, errlen)) < 0 || (r = validate(doc, err, errlen)) < 0)
		goto out;
	bd.b = calloc(1, sizeof(*bd.b));
	if (!bd.b) {
		r = fail(&bd, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	r = build_msg(&bd, root, &bd.b->msg);
	if (r < 0)
		capmsg_free(&bd.b->msg);
	else
		*out = &bd.b->msg;
out:
	xmlFreeDoc(doc);
	return r;
}
