/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pki.c -- the township's CA and the broker's TLS certificate (libcrypto) */
#include "pki.h"

#include "fileio.h"
#include "hash.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PEM_MAX (1 << 20)
/* Certificates start an hour back, for poles whose clock is a little slow. */
#define BACKDATE_S 3600

struct pki_ca {
	EVP_PKEY *key;
	X509 *crt;
	char *pem;
	size_t pem_len;
};

static void say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* libcrypto must never ask a terminal for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---- PEM in and out ---- */

static int read_pem(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	int r = fio_read_all(path, PEM_MAX, buf, len);

	if (r < 0)
		say(err, errlen, "cannot read %s: %s", path,
		    r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
	return r;
}

static int load_key(const char *path, EVP_PKEY **key, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	BIO *b;
	int r;

	if ((r = read_pem(path, &buf, &len, err, errlen)) < 0)
		return r;
	b = BIO_new_mem_buf(buf, (int)len);
	*key = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
	BIO_free(b);
	sodium_memzero(buf, len);
	free(buf);
	if (!*key) {
		say(err, errlen, "%s is not an unencrypted PEM private key", path);
		return -EBADMSG;
	}
	return 0;
}

static X509 *parse_cert(const char *buf, size_t len)
{
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, no_passphrase, NULL) : NULL;

	BIO_free(b);
	return x;
}

static int load_cert(const char *path, X509 **crt, char **pem, size_t *pem_len, char *err,
		     size_t errlen)
{
	char *buf;
	size_t len;
	int r;

	if ((r = read_pem(path, &buf, &len, err, errlen)) < 0)
		return r;
	if (!(*crt = parse_cert(buf, len))) {
		free(buf);
		say(err, errlen, "%s is not a PEM certificate", path);
		return -EBADMSG;
	}
	if (pem) {
		*pem = buf;
		*pem_len = len;
	} else {
		free(buf);
	}
	return 0;
}

/* Write the bytes of the memory BIO B to PATH atomically, with MODE. */
static int write_bio(const char *path, BIO *b, mode_t mode, char *err, size_t errlen)
{
	char *data;
	long len = BIO_get_mem_data(b, &data);
	int r;

	if (len <= 0) {
		say(err, errlen, "cannot encode %s", path);
		return -EIO;
	}
	r = fio_write_atomic(path, data, (size_t)len, mode);
	if (r < 0)
		say(err, errlen, "cannot write %s: %s", path, strerror(-r));
	return r;
}

static int save_key(const char *path, EVP_PKEY *key, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_secmem());
	int r = -ENOMEM;

	if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))
		r = write_bio(path, b, 0600, err, errlen);
	else
		say(err, errlen, "cannot encode the key for %s", path);
	BIO_free(b);
	return r;
}

static int save_cert(const char *path, X509 *crt, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r = -ENOMEM;

	if (b && PEM_write_bio_X509(b, crt))
		r = write_bio(path, b, 0644, err, errlen);
	else
		say(err, errlen, "cannot encode the certificate for %s", path);
	BIO_free(b);
	return r;
}

/* ---- making keys and certificates ---- */

static EVP_PKEY *new_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* A random positive 128-bit serial number (RFC 5280: at most 20 octets). */
static int set_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	cx_crypto_init();
	randombytes_buf(b, sizeof(b));
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	return ok ? 0 : -EIO;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (!(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)))
		return -EINVAL;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -EIO;
}

struct ext {
	int nid;
	const char *value;
};

/* A certificate for KEY named CN, valid DAYS, with EXTS, signed by ISSUER
 * (certificate and key; NULL and KEY: self-signed). NULL on failure. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
		       long days, const struct ext *exts, size_t nexts)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (!x || !X509_set_version(x, X509_VERSION_3) || set_serial(x) < 0 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					(const unsigned char *)"cunxiang", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) ||
	    !X509_set_pubkey(x, key))
		goto fail;
	for (size_t i = 0; i < nexts; i++)
		if (add_ext(x, issuer ? issuer : x, exts[i].nid, exts[i].value) < 0)
			goto fail;
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

/* ---- the CA ---- */

static int ca_make_cert(struct pki_ca *ca, const char *crt_path, const char *name, char *err,
			size_t errlen)
{
	static const struct ext exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	char cn[64];
	int r;

	snprintf(cn, sizeof(cn), "%s", name);
	ca->crt = make_cert(ca->key, cn, NULL, ca->key, PKI_CA_DAYS, exts,
			    sizeof(exts) / sizeof(exts[0]));
	if (!ca->crt) {
		say(err, errlen, "cannot make the CA certificate %s", crt_path);
		return -EIO;
	}
	if ((r = save_cert(crt_path, ca->crt, err, errlen)) < 0)
		return r;
	X509_free(ca->crt);
	ca->crt = NULL;
	/* Load back what was written, so pki_ca_pem() is the file's bytes. */
	return load_cert(crt_path, &ca->crt, &ca->pem, &ca->pem_len, err, errlen);
}

int pki_ca_open(const char *key_path, const char *crt_path, const char *name,
		struct pki_ca **out, bool *created, char *err, size_t errlen)
{
	struct pki_ca *ca = calloc(1, sizeof(*ca));
	bool have_key = exists(key_path), have_crt = exists(crt_path);
	int r;

	if (created)
		*created = false;
	if (!ca)
		return -ENOMEM;
	if (!have_key && have_crt) {
		say(err, errlen, "%s exists but its key %s does not: restore the key, or move "
		    "%s away to make a new CA (every pole then needs the new one)",
		    crt_path, key_path, crt_path);
		r = -ENOENT;
		goto fail;
	}
	if (!have_key) {
		if (!(ca->key = new_key())) {
			say(err, errlen, "cannot make a key for %s", key_path);
			r = -EIO;
			goto fail;
		}
		if ((r = save_key(key_path, ca->key, err, errlen)) < 0)
			goto fail;
	} else if ((r = load_key(key_path, &ca->key, err, errlen)) < 0) {
		goto fail;
	}
	if (!have_crt) {
		if ((r = ca_make_cert(ca, crt_path, name, err, errlen)) < 0)
			goto fail;
		if (created)
			*created = true;
	} else if ((r = load_cert(crt_path, &ca->crt, &ca->pem, &ca->pem_len, err, errlen)) < 0) {
		goto fail;
	}
	if (X509_check_private_key(ca->crt, ca->key) != 1) {
		say(err, errlen, "%s is not the certificate of the key %s", crt_path, key_path);
		r = -EKEYREJECTED;
		goto fail;
	}
	if (X509_check_ca(ca->crt) < 1) {
		say(err, errlen, "%s is not a CA certificate", crt_path);
		r = -EKEYREJECTED;
		goto fail;
	}
	*out = ca;
	return 0;
fail:
	pki_ca_free(ca);
	return r;
}

void pki_ca_free(struct pki_ca *ca)
{
	if (!ca)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->crt);
	free(ca->pem);
	free(ca);
}

const char *pki_ca_pem(const struct pki_ca *ca, size_t *len)
{
	*len = ca->pem_len;
	return ca->pem;
}

/* ---- names ---- */

static bool dns_name_ok(const char *h)
{
	size_t n = strlen(h), label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = h[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)c) || (c == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

static void ip_entry(int af, const void *addr, char out[PKI_SAN_LEN])
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(af, addr, buf, sizeof(buf));
	snprintf(out, PKI_SAN_LEN, "IP:%s", buf);
}

int pki_san_entry(const char *host, char out[PKI_SAN_LEN])
{
	unsigned char addr[16];
	char buf[256];
	size_t n = strlen(host);

	if (n >= sizeof(buf))
		return -EINVAL;
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return -EINVAL;
		ip_entry(AF_INET6, addr, out);
		return 0;
	}
	if (inet_pton(AF_INET, host, addr) == 1) {
		ip_entry(AF_INET, addr, out);
		return 0;
	}
	if (inet_pton(AF_INET6, host, addr) == 1) {
		ip_entry(AF_INET6, addr, out);
		return 0;
	}
	if (!dns_name_ok(host))
		return -EINVAL;
	for (size_t i = 0; i <= n; i++)
		buf[i] = (char)tolower((unsigned char)host[i]);
	snprintf(out, PKI_SAN_LEN, "DNS:%s", buf);
	return 0;
}

void pki_sans_free(char **sans, size_t n)
{
	for (size_t i = 0; sans && i < n; i++)
		free(sans[i]);
	free(sans);
}

/* The DNS and IP names of X in order. */
static int sans_of(X509 *x, char ***out, size_t *n)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int count = gens ? sk_GENERAL_NAME_num(gens) : 0;
	char **v = calloc(count > 0 ? (size_t)count : 1, sizeof(*v));
	char e[PKI_SAN_LEN];
	size_t k = 0;

	if (!v) {
		GENERAL_NAMES_free(gens);
		return -ENOMEM;
	}
	for (int i = 0; i < count; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		int len;

		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			len = ASN1_STRING_length(g->d.dNSName);
			if (len <= 0 || len > 253 || memchr(d, '\0', (size_t)len))
				continue;
			snprintf(e, sizeof(e), "DNS:%.*s", len, (const char *)d);
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			len = ASN1_STRING_length(g->d.iPAddress);
			if (len != 4 && len != 16)
				continue;
			ip_entry(len == 4 ? AF_INET : AF_INET6, d, e);
		} else {
			continue;
		}
		if (!(v[k++] = strdup(e))) {
			GENERAL_NAMES_free(gens);
			pki_sans_free(v, k);
			return -ENOMEM;
		}
	}
	GENERAL_NAMES_free(gens);
	*out = v;
	*n = k;
	return 0;
}

int pki_cert_sans(const char *crt_path, char ***sans, size_t *n, char *err, size_t errlen)
{
	X509 *x;
	int r;

	if ((r = load_cert(crt_path, &x, NULL, NULL, err, errlen)) < 0)
		return r;
	r = sans_of(x, sans, n);
	X509_free(x);
	return r;
}

/* ---- the broker's certificate ---- */

/* Whether the names of X are exactly SANS[0..N) (no two alike), in any order. */
static bool same_names(X509 *x, char *const *sans, size_t n)
{
	char **have = NULL;
	size_t nhave = 0;
	bool same;

	if (sans_of(x, &have, &nhave) < 0)
		return false;
	same = nhave == n;
	for (size_t i = 0; same && i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < nhave && !found; j++)
			found = !strcasecmp(sans[i], have[j]);
		same = found;
	}
	pki_sans_free(have, nhave);
	return same;
}

/* Why X cannot stay the broker's certificate for KEY and SANS, or NULL. */
static const char *unfit(struct pki_ca *ca, X509 *x, EVP_PKEY *key, char *const *sans, size_t n)
{
	time_t renew = time(NULL) + (time_t)PKI_RENEW_DAYS * 86400;

	if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca->crt)) ||
	    X509_verify(x, X509_get0_pubkey(ca->crt)) != 1)
		return "it is not signed by this CA";
	if (X509_check_private_key(x, key) != 1)
		return "it is not the certificate of the key";
	if (!same_names(x, sans, n))
		return "the broker's names changed";
	if (X509_cmp_time(X509_get0_notAfter(x), &renew) < 0)
		return "it expires within 30 days";
	return NULL;
}

/* The SANS as one subjectAltName value: "DNS:a,IP:127.0.0.1". */
static char *san_value(char *const *sans, size_t n)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(sans[i]) + 1;
	if (!(s = calloc(1, len)))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, sans[i]);
	}
	return s;
}

static int issue_server(struct pki_ca *ca, EVP_PKEY *key, const char *crt_path,
			char *const *sans, size_t n, char *err, size_t errlen)
{
	char *value = san_value(sans, n);
	struct ext exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "serverAuth" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid" },
		{ NID_subject_alt_name, value },
	};
	X509 *x;
	int r;

	if (!value)
		return -ENOMEM;
	x = make_cert(key, "cunxiang broker", ca->crt, ca->key, PKI_SERVER_DAYS, exts,
		      sizeof(exts) / sizeof(exts[0]));
	free(value);
	if (!x) {
		say(err, errlen, "cannot make the certificate %s", crt_path);
		return -EIO;
	}
	r = save_cert(crt_path, x, err, errlen);
	X509_free(x);
	return r;
}

int pki_server_ensure(struct pki_ca *ca, const char *key_path, const char *crt_path,
		      char *const *sans, size_t n, enum pki_server_state *state,
		      const char **why, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int r;

	*why = NULL;
	if (n == 0 || n > PKI_SAN_MAX) {
		say(err, errlen, "a server certificate needs 1 to %d names, not %zu",
		    PKI_SAN_MAX, n);
		return -EINVAL;
	}
	if (!exists(key_path)) {
		if (!(key = new_key())) {
			say(err, errlen, "cannot make a key for %s", key_path);
			return -EIO;
		}
		if ((r = save_key(key_path, key, err, errlen)) < 0)
			goto out;
	} else if ((r = load_key(key_path, &key, err, errlen)) < 0) {
		return r;
	}
	if (!exists(crt_path)) {
		*state = PKI_SERVER_ISSUED;
	} else if ((r = load_cert(crt_path, &x, NULL, NULL, err, errlen)) < 0) {
		goto out;
	} else if ((*why = unfit(ca, x, key, sans, n))) {
		*state = PKI_SERVER_REISSUED;
	} else {
		*state = PKI_SERVER_KEPT;
		r = 0;
		goto out;
	}
	r = issue_server(ca, key, crt_path, sans, n, err, errlen);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}
