/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pki.h -- the township's CA and the broker's TLS certificate (libcrypto) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define PKI_CA_DAYS     3652  /* 10 years */
#define PKI_SERVER_DAYS 825   /* what browsers and most TLS stacks still accept */
#define PKI_RENEW_DAYS  30    /* a server certificate closer to its end is re-issued */
#define PKI_SAN_MAX     64    /* names in one server certificate */
#define PKI_SAN_LEN     300   /* "DNS:" + 253, or "IP:" + an IPv6 address, and a NUL */

struct pki_ca;

/* The CA whose key is in KEY_PATH and certificate in CRT_PATH: loaded when
 * both exist; made when neither does (EC P-256, self-signed, CA:TRUE,
 * PKI_CA_DAYS, subject "O=cunxiang, CN=NAME"; the key mode 0600, the
 * certificate 0644, each written atomically); a certificate lost beside
 * its key is made again from the key. *CREATED (may be NULL) says whether
 * the certificate was made. ERR gets a one-line reason naming the file.
 * \retval 0
 * \retval -ENOENT       the certificate exists but its key does not
 * \retval -EBADMSG      a file is not a PEM key or certificate
 * \retval -EKEYREJECTED the certificate is not a CA's or not the key's
 * \retval -errno        reading or writing failed */
int pki_ca_open(const char *key_path, const char *crt_path, const char *name,
		struct pki_ca **ca, bool *created, char *err, size_t errlen);
void pki_ca_free(struct pki_ca *ca);

/* The CA certificate file's bytes, as in CRT_PATH. */
const char *pki_ca_pem(const struct pki_ca *ca, size_t *len);

/* HOST (a DNS name, or an IPv4 or IPv6 address, which may be in [ ]) as
 * a subjectAltName entry in OUT (PKI_SAN_LEN): "IP:" and the address as
 * inet_ntop() writes it, or "DNS:" and the name in lower case.
 * \retval 0 / -EINVAL not a host name (labels of a-z, 0-9 and '-', at most
 *         253 characters) nor an address */
int pki_san_entry(const char *host, char out[PKI_SAN_LEN]);

/* The subjectAltName entries of the certificate in CRT_PATH, in order, as
 * pki_san_entry() writes them (other kinds of names are left out): a
 * malloc'ed array of *N malloc'ed strings; free with pki_sans_free().
 * \retval 0 / -ENOENT no such file / -EBADMSG / -ENOMEM / -errno */
int pki_cert_sans(const char *crt_path, char ***sans, size_t *n, char *err, size_t errlen);
void pki_sans_free(char **sans, size_t n);

enum pki_server_state {
	PKI_SERVER_KEPT,     /* the certificate is kept as it is */
	PKI_SERVER_ISSUED,   /* there was none */
	PKI_SERVER_REISSUED, /* *WHY says why; the key is the same */
};

/* Make sure the broker's key KEY_PATH (EC P-256, mode 0600; made when
 * missing) has a certificate CRT_PATH signed by CA for exactly the names
 * SANS[0..N) (pki_san_entry() form, no two alike) with the serverAuth
 * extended key usage, valid PKI_SERVER_DAYS. An existing certificate is
 * kept when it is CA's, for this key, has the same set of names and is not
 * within PKI_RENEW_DAYS of its end; otherwise it is issued anew. *WHY is a
 * static phrase for REISSUED ("the names changed").
 * \retval 0 *STATE set / -EBADMSG a file is not PEM / -EINVAL bad names /
 *         -errno; ERR says which file and why */
int pki_server_ensure(struct pki_ca *ca, const char *key_path, const char *crt_path,
		      char *const *sans, size_t n, enum pki_server_state *state,
		      const char **why, char *err, size_t errlen);
