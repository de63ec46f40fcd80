/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cap_xml.h -- the one safe way a CAP document becomes a libxml2 tree (private to cap.c and cap_sig.c) */
#pragma once

#include <stddef.h>

#include <libxml/tree.h>

#define CAP_DSIG_NS "http://www.w3.org/2000/09/xmldsig#"

/* Read BUF[0..LEN) into *OUT (xmlFreeDoc() it): no network, no entity
 * expansion, no DTD (refused as soon as "<!DOCTYPE" is seen, before its
 * internal subset is read), nesting up to CAP_MAX_DEPTH, libxml2's errors
 * into ERR ("line 3: ...") and never to stderr. Thread-safe.
 * \retval 0
 * \retval -EFBIG  LEN > CAP_MAX_BYTES
 * \retval -EINVAL not well-formed, a DTD, too deep
 * \retval -ENOMEM */
int cap_xml_read(const char *buf, size_t len, xmlDocPtr *out, char *err, size_t errlen);

/* NODE is an element named NAME in the namespace NS. */
int cap_xml_is(const xmlNode *node, const char *ns, const char *name);
