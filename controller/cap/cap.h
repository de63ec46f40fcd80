/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cap.h -- a CAP 1.2 message (OASIS Common Alerting Protocol): parsed safely, schema-checked */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A CAP document is foreign input from a warning authority or from anyone
 * who can write to a watched directory or answer a polled URL. The parser
 * never touches the network, never expands entities, refuses a DTD,
 * refuses documents over CAP_MAX_BYTES before parsing them and nesting
 * deeper than CAP_MAX_DEPTH, and validates against the CAP 1.2 schema
 * shipped with the project (CX_CAP_XSD, data/cap/cap-1.2.xsd) before
 * anything is read from it. What it returns is a model of plain strings:
 * the enumerated values (status, msgType, urgency, ...) are as written,
 * which the schema has already restricted to the specification's words.
 * Geometry is kept as written ("lat,lon lat,lon ..." and "lat,lon r");
 * geo.h reads and checks it.
 * The functions' prefix is capmsg_: libcap (linked in through libsystemd)
 * owns cap_free and the like.
 */

#define CAP_NS_12     "urn:oasis:names:tc:emergency:cap:1.2"
#define CAP_MAX_BYTES (1u << 20)   /* a document larger than this is refused unread */
#define CAP_MAX_DEPTH 32           /* element nesting */
#define CAP_NO_TIME   INT64_MIN    /* an optional time that is absent */

struct cap_geocode {
	const char *name;          /* valueName, e.g. "Taiwan_Geocode_103", "ADMIN_CODE" */
	const char *value;
};

struct cap_area {
	const char *desc;                  /* areaDesc */
	const char *const *polygons;       /* as written: "lat,lon lat,lon ..." */
	size_t npolygons;
	const char *const *circles;        /* as written: "lat,lon radius_km" */
	size_t ncircles;
	const struct cap_geocode *geocodes;
	size_t ngeocodes;
};

struct cap_info {
	const char *language;              /* default "en-US" when absent */
	const char *const *categories;     /* at least one */
	size_t ncategories;
	const char *event;
	const char *urgency, *severity, *certainty;
	const char *sender_name;           /* NULL when absent; likewise below */
	const char *headline, *description, *instruction, *web;
	int64_t effective_ms, onset_ms, expires_ms;   /* CAP_NO_TIME when absent */
	const struct cap_area *areas;
	size_t nareas;
};

/* One entry of <references>: "sender,identifier,sent". */
struct cap_ref {
	const char *sender, *identifier, *sent;
};

struct cap_msg {
	const char *identifier, *sender;
	const char *sent;                  /* as written */
	int64_t sent_ms;
	const char *status;                /* Actual Exercise System Test Draft */
	const char *msg_type;              /* Alert Update Cancel Ack Error */
	const char *scope;                 /* Public Restricted Private */
	const char *source, *note;         /* NULL when absent */
	const struct cap_ref *refs;
	size_t nrefs;
	const struct cap_info *infos;
	size_t ninfos;
	bool has_signature;                /* an enveloped ds:Signature is present */
};

/* Parse the CAP 1.2 document BUF[0..LEN). On success *OUT is the model (all
 * of it one allocation tree; capmsg_free() it).
 * \retval 0
 * \retval -EFBIG   LEN > CAP_MAX_BYTES
 * \retval -EPROTO  a CAP document of another version (1.0, 1.1: its namespace)
 * \retval -EINVAL  not well-formed XML, a DTD or entity, too deep, not CAP,
 *                  or not valid against the schema
 * \retval -ENOENT  the schema is not installed (ERR names where it was looked for)
 * \retval -ENOMEM
 * ERR (ERRLEN bytes) gets a one-line reason on every error, naming the line
 * of the document where there is one ("line 12: element 'urgency': 'Soon'
 * is not an element of the set {...}").
 * The entries of <references> must have their three parts (else -EINVAL
 * naming the entry); their sent time is kept as written, not read. Any
 * number of threads may call this at once. */
int capmsg_parse(const char *buf, size_t len, struct cap_msg **out, char *err, size_t errlen);
void capmsg_free(struct cap_msg *m);

/* Parse a CAP dateTime ("2003-06-17T14:57:00-07:00"; the specification
 * requires the offset, "-00:00" meaning UTC) into Unix milliseconds.
 * Exactly that form, as the schema's pattern: "Z", a missing offset,
 * fractions of a second, hour 24, second 60, a day the month does not
 * have and an offset beyond 14:00 are refused. No time zone database.
 * \retval 0 / -EINVAL (*MS untouched) */
int capmsg_time(const char *s, int64_t *ms);

/* Verify the enveloped XML signature of BUF[0..LEN) (xmlsec1): the
 * signature covers the whole alert, its certificate (in ds:KeyInfo) chains
 * to one of the PEM trust anchors ANCHORS[0..N), and the digest and
 * signature values match. No network (no key retrieval, no CRL fetch).
 * \retval 0       verified
 * \retval -ENOENT no signature
 * \retval -EBADMSG the signature does not match the document (tampered)
 * \retval -EPERM  the signer's certificate does not chain to an anchor
 * \retval -EINVAL the document or a trust anchor cannot be read (also: N == 0,
 *                 LEN > CAP_MAX_BYTES)
 * \retval -ENOMEM
 * ERR gets a one-line reason on every error.
 * Accepted: one ds:Signature, a child of alert, with exactly one Reference,
 * URI="" and the enveloped-signature transform (any other Reference is
 * -EBADMSG before anything is computed); C14N 1.0/1.1 or exclusive C14N;
 * SHA-256/384/512 digests; RSA or ECDSA with those (no SHA-1); the key
 * only from a certificate in ds:X509Data. An anchor is a PEM file with one
 * CA certificate, a root (self-signed): the chain must end at one of them.
 * The document is read as capmsg_parse reads it (no DTD, no network).
 * Thread-safe. */
int capmsg_verify(const char *buf, size_t len, const char *const *anchors, size_t n, char *err,
	       size_t errlen);
