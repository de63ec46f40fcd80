/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cap_sig.c -- the enveloped XML signature of a CAP message checked against trust anchors (xmlsec1, OpenSSL) */
#include "cap.h"

#include "cap_xml.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

/*
 * What is accepted, and why:
 * - one ds:Signature, a child of alert, with one Reference whose URI is ""
 *   (the whole document) and the enveloped-signature transform: a
 *   signature over a part of the message (URI="#...") could leave the rest
 *   unsigned, and any other URI would make xmlsec read a file or the
 *   network. Such a Reference is refused before xmlsec sees it.
 * - canonicalization: C14N 1.0/1.1 and exclusive C14N; digests SHA-256,
 *   -384, -512; signatures RSA and ECDSA with those. No SHA-1, no XPath,
 *   no XSLT.
 * - the key only from an X509Data certificate that chains to an anchor
 *   (no KeyValue, KeyName, RetrievalMethod or EncryptedKey); ds:Manifest
 *   references are ignored.
 * xmlsec reports errors through one global callback; it is set once and
 * writes into the calling thread's own record.
 */

static __thread struct {
	char first[240];     /* the first error xmlsec reported in this call */
	char cert[240];      /* why a certificate did not verify */
	char disabled[160];  /* an algorithm that is not accepted */
	int key_missing;     /* no key was found for the signature */
} seen;

static void note(char *dst, size_t size, const char *subj, const char *msg)
{
	if (!dst[0])
		snprintf(dst, size, "%s%s%s", subj ? subj : "", subj && msg ? ": " : "",
			 msg ? msg : "");
}

static void sig_error(const char *file, int line, const char *func, const char *obj,
		      const char *subj, int reason, const char *msg)
{
	switch (reason) {
	case XMLSEC_ERRORS_R_CERT_VERIFY_FAILED:
	case XMLSEC_ERRORS_R_CERT_REVOKED:
	case XMLSEC_ERRORS_R_CERT_ISSUER_FAILED:
	case XMLSEC_ERRORS_R_CERT_NOT_YET_VALID:
	case XMLSEC_ERRORS_R_CERT_HAS_EXPIRED:
		note(seen.cert, sizeof(seen.cert), subj, msg);
		break;
	case XMLSEC_ERRORS_R_CERT_NOT_FOUND:
	case XMLSEC_ERRORS_R_KEY_NOT_FOUND:
		seen.key_missing = 1;
		break;
	case XMLSEC_ERRORS_R_TRANSFORM_DISABLED:
		if (msg && !strncmp(msg, "href=", 5))
			msg += 5;
		note(seen.disabled, sizeof(seen.disabled), NULL, msg);
		break;
	}
	note(seen.first, sizeof(seen.first), subj, msg);
}

/* libxml2's own errors while xmlsec works (canonicalization, say): into
 * the same record, never to stderr. */
static void xml_error(void *ctx, xmlErrorPtr x)
{
	char msg[200];
	size_t n;

	if (x->level < XML_ERR_ERROR)
		return;
	snprintf(msg, sizeof(msg), "%s", x->message ? x->message : "libxml2 error");
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	note(seen.first, sizeof(seen.first), NULL, msg);
}

static pthread_once_t sig_once = PTHREAD_ONCE_INIT;
static int sig_ready;

/* Once per process, never shut down: xmlsec and its OpenSSL backend. */
static void sig_init(void)
{
	xmlInitParser();
	xmlSecErrorsSetCallback(sig_error);
	if (xmlSecInit() < 0 || xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0 ||
	    xmlSecCryptoInit() < 0)
		return;
	xmlSecErrorsSetCallback(sig_error);
	sig_ready = 1;
}

static int failf(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int failf(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

/* The signature under ROOT: -ENOENT none, -EBADMSG more than one. */
static int find_signature(xmlNodePtr root, xmlNodePtr *sig, char *err, size_t errlen)
{
	*sig = NULL;
	for (xmlNodePtr c = root->children; c; c = c->next) {
		if (!cap_xml_is(c, CAP_DSIG_NS, "Signature"))
			continue;
		if (*sig)
			return failf(err, errlen, -EBADMSG, "line %ld: a second ds:Signature",
				     xmlGetLineNo(c));
		*sig = c;
	}
	if (!*sig)
		return failf(err, errlen, -ENOENT, "the message is not signed (no ds:Signature under alert)");
	return 0;
}

/* Exactly one Reference, URI="": the whole alert, nothing from outside. */
static int check_reference(xmlNodePtr sig, char *err, size_t errlen)
{
	xmlNodePtr si = NULL, ref = NULL;
	int nref = 0, r = 0;
	xmlChar *uri;

	for (xmlNodePtr c = sig->children; c && !si; c = c->next)
		if (cap_xml_is(c, CAP_DSIG_NS, "SignedInfo"))
			si = c;
	if (!si)
		return failf(err, errlen, -EBADMSG, "line %ld: ds:Signature without SignedInfo",
			     xmlGetLineNo(sig));
	for (xmlNodePtr c = si->children; c; c = c->next)
		if (cap_xml_is(c, CAP_DSIG_NS, "Reference") && nref++ == 0)
			ref = c;
	if (nref != 1)
		return failf(err, errlen, -EBADMSG,
			     "line %ld: the signature has %d references; exactly one (URI=\"\") is accepted",
			     xmlGetLineNo(si), nref);
	uri = xmlGetNoNsProp(ref, BAD_CAST "URI");
	if (!uri || uri[0])
		r = failf(err, errlen, -EBADMSG,
			  "line %ld: the signature does not cover the whole alert: Reference URI '%.100s' "
			  "(only URI=\"\" is accepted)", xmlGetLineNo(ref),
			  uri ? (const char *)uri : "(none)");
	xmlFree(uri);
	return r;
}

/* A keys manager that trusts the certificates ANCHORS[0..N) and nothing else. */
static int load_anchors(xmlSecKeysMngrPtr *out, const char *const *anchors, size_t n, char *err,
			size_t errlen)
{
	xmlSecKeysMngrPtr mngr;

	*out = NULL;
	if (!n)
		return failf(err, errlen, -EINVAL, "no trust anchor to verify the signature with");
	mngr = xmlSecKeysMngrCreate();
	if (!mngr || xmlSecCryptoAppDefaultKeysMngrInit(mngr) < 0) {
		if (mngr)
			xmlSecKeysMngrDestroy(mngr);
		return failf(err, errlen, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (access(anchors[i], R_OK) != 0) {
			failf(err, errlen, -EINVAL, "trust anchor %s: %s", anchors[i], strerror(errno));
			xmlSecKeysMngrDestroy(mngr);
			return -EINVAL;
		}
		if (xmlSecCryptoAppKeysMngrCertLoad(mngr, anchors[i], xmlSecKeyDataFormatPem,
						    xmlSecKeyDataTypeTrusted) < 0) {
			failf(err, errlen, -EINVAL, "trust anchor %s: not a PEM certificate (%s)",
			      anchors[i], seen.first);
			xmlSecKeysMngrDestroy(mngr);
			return -EINVAL;
		}
	}
	*out = mngr;
	return 0;
}

static int add_ids(xmlSecPtrListPtr list, const xmlSecTransformId *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (xmlSecPtrListAdd(list, (xmlSecPtr)ids[i]) < 0)
			return -ENOMEM;
	return 0;
}

/* Restrict CTX to what the comment at the top accepts. REFS holds the
 * Reference transforms (the caller destroys it). */
static int restrict_ctx(xmlSecDSigCtxPtr ctx, xmlSecPtrListPtr refs)
{
	const xmlSecTransformId c14n[] = {
		xmlSecTransformInclC14NId, xmlSecTransformInclC14NWithCommentsId,
		xmlSecTransformInclC14N11Id, xmlSecTransformInclC14N11WithCommentsId,
		xmlSecTransformExclC14NId, xmlSecTransformExclC14NWithCommentsId,
	};
	const xmlSecTransformId sign[] = {
		xmlSecTransformRsaSha256Id, xmlSecTransformRsaSha384Id, xmlSecTransformRsaSha512Id,
		xmlSecTransformEcdsaSha256Id, xmlSecTransformEcdsaSha384Id,
		xmlSecTransformEcdsaSha512Id,
	};
	const xmlSecTransformId ref[] = {
		xmlSecTransformEnvelopedId, xmlSecTransformSha256Id, xmlSecTransformSha384Id,
		xmlSecTransformSha512Id,
	};
	xmlSecTransformUriType same = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;

	/* Only the one Reference of SignedInfo counts: a ds:Manifest in a
	 * ds:Object is neither followed nor taken as signed content. */
	ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
	ctx->enabledReferenceUris = same;
	ctx->enabledReferenceTransforms = refs;
	ctx->keyInfoReadCtx.retrievalMethodCtx.enabledUris = same;
	ctx->keyInfoReadCtx.flags |= XMLSEC_KEYINFO_FLAGS_X509DATA_STOP_ON_INVALID_CERT;
	if (xmlSecPtrListAdd(&ctx->keyInfoReadCtx.enabledKeyData, (xmlSecPtr)xmlSecKeyDataX509Id) < 0 ||
	    add_ids(&ctx->transformCtx.enabledTransforms, c14n, sizeof(c14n) / sizeof(c14n[0])) < 0 ||
	    add_ids(&ctx->transformCtx.enabledTransforms, sign, sizeof(sign) / sizeof(sign[0])) < 0 ||
	    add_ids(refs, c14n, sizeof(c14n) / sizeof(c14n[0])) < 0 ||
	    add_ids(refs, ref, sizeof(ref) / sizeof(ref[0])) < 0)
		return -ENOMEM;
	return 0;
}

/* The outcome of xmlSecDSigCtxVerify (R) as cap.h's codes. */
static int outcome(xmlSecDSigCtxPtr ctx, int r, char *err, size_t errlen)
{
	xmlSecDSigReferenceCtxPtr ref;

	if (r < 0 && seen.cert[0])
		return failf(err, errlen, -EPERM,
			     "the signer's certificate does not chain to a trust anchor (%s)", seen.cert);
	if (r < 0 && seen.key_missing)
		return failf(err, errlen, -EPERM,
			     "no key to check the signature with: ds:KeyInfo holds no X509 certificate "
			     "that chains to a trust anchor");
	if (r < 0 && seen.disabled[0])
		return failf(err, errlen, -EBADMSG, "the signature uses an algorithm that is not accepted: %s",
			     seen.disabled);
	if (r < 0)
		return failf(err, errlen, -EBADMSG, "the signature cannot be checked: %s",
			     seen.first[0] ? seen.first : "xmlsec failed");
	if (ctx->status == xmlSecDSigStatusSucceeded)
		return 0;
	ref = xmlSecPtrListGetSize(&ctx->signedInfoReferences) ?
		      xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0) : NULL;
	if (ref && ref->status != xmlSecDSigStatusSucceeded)
		return failf(err, errlen, -EBADMSG,
			     "the signature does not match: the alert was changed after it was signed "
			     "(digest mismatch)");
	return failf(err, errlen, -EBADMSG,
		     "the signature does not match: the signature value is wrong for the signed content");
}

int capmsg_verify(const char *buf, size_t len, const char *const *anchors, size_t n, char *err,
	       size_t errlen)
{
	xmlSecKeysMngrPtr mngr = NULL;
	xmlSecDSigCtxPtr ctx = NULL;
	xmlSecPtrListPtr refs = NULL;
	xmlDocPtr doc = NULL;
	xmlNodePtr root, sig;
	int r;

	if (errlen)
		err[0] = '\0';
	memset(&seen, 0, sizeof(seen));
	pthread_once(&sig_once, sig_init);
	if (!sig_ready)
		return failf(err, errlen, -EINVAL, "xmlsec cannot be initialised: %s", seen.first);
	if ((r = cap_xml_read(buf, len, &doc, err, errlen)) < 0)
		return r == -EFBIG ? -EINVAL : r;
	root = xmlDocGetRootElement(doc);
	if (!cap_xml_is(root, CAP_NS_12, "alert")) {
		r = failf(err, errlen, -EINVAL, "not a CAP 1.2 alert");
		goto out;
	}
	if ((r = find_signature(root, &sig, err, errlen)) < 0 ||
	    (r = check_reference(sig, err, errlen)) < 0 ||
	    (r = load_anchors(&mngr, anchors, n, err, errlen)) < 0)
		goto out;
	ctx = xmlSecDSigCtxCreate(mngr);
	refs = xmlSecPtrListCreate(xmlSecTransformIdListId);
	if (!ctx || !refs || restrict_ctx(ctx, refs) < 0) {
		r = failf(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	{
		/* Per thread in libxml2 built with threads: set for this call only. */
		xmlStructuredErrorFunc old = xmlStructuredError;
		void *old_ctx = xmlStructuredErrorContext;

		xmlSetStructuredErrorFunc(NULL, xml_error);
		r = xmlSecDSigCtxVerify(ctx, sig);
		xmlSetStructuredErrorFunc(old_ctx, old);
	}
	r = outcome(ctx, r, err, errlen);
out:
	/* xmlsec's destructors complain about NULL. */
	if (ctx) {
		ctx->enabledReferenceTransforms = NULL;
		xmlSecDSigCtxDestroy(ctx);
	}
	if (refs)
		xmlSecPtrListDestroy(refs);
	if (mngr)
		xmlSecKeysMngrDestroy(mngr);
	xmlFreeDoc(doc);
	return r;
}
