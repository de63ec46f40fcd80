/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_pki.c -- the CA and the broker certificate: made, kept, re-issued */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fileio.h"
#include "pki.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], ca_key[128], ca_crt[128], srv_key[128], srv_crt[128];
static char err[1024];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_pki.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", dir);
	snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", dir);
	snprintf(srv_key, sizeof(srv_key), "%s/server.key", dir);
	snprintf(srv_crt, sizeof(srv_crt), "%s/server.crt", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len;

	assert_int_equal(fio_read_all(path, 1 << 20, &buf, &len), 0);
	return buf;
}

static void san_entries(void **state)
{
	char e[PKI_SAN_LEN];

	assert_int_equal(pki_san_entry("127.0.0.1", e), 0);
	assert_string_equal(e, "IP:127.0.0.1");
	assert_int_equal(pki_san_entry("::1", e), 0);
	assert_string_equal(e, "IP:::1");
	assert_int_equal(pki_san_entry("[2001:DB8:0:0::1]", e), 0);
	assert_string_equal(e, "IP:2001:db8::1");
	assert_int_equal(pki_san_entry("Township.Example", e), 0);
	assert_string_equal(e, "DNS:township.example");
	assert_int_equal(pki_san_entry("broker-1", e), 0);
	assert_string_equal(e, "DNS:broker-1");
	assert_int_equal(pki_san_entry("", e), -EINVAL);
	assert_int_equal(pki_san_entry("a..b", e), -EINVAL);
	assert_int_equal(pki_san_entry("-a.b", e), -EINVAL);
	assert_int_equal(pki_san_entry("a-.b", e), -EINVAL);
	assert_int_equal(pki_san_entry("a b", e), -EINVAL);
	assert_int_equal(pki_san_entry("a,IP:1.2.3.4", e), -EINVAL);
	assert_int_equal(pki_san_entry("*.example", e), -EINVAL);
	assert_int_equal(pki_san_entry("[1.2.3.4]", e), -EINVAL);
}

static void ca_made_then_kept(void **state)
{
	struct pki_ca *ca = NULL;
	struct stat st;
	bool created;
	char *pem, *again;
	size_t len;

	assert_int_equal(pki_ca_open(ca_key, ca_crt, "cunxiang CA test", &ca, &created, err,
				     sizeof(err)), 0);
	assert_true(created);
	assert_int_equal(stat(ca_key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	pem = slurp(ca_crt);
	assert_string_equal(pki_ca_pem(ca, &len), pem);
	pki_ca_free(ca);

	assert_int_equal(pki_ca_open(ca_key, ca_crt, "ignored", &ca, &created, err, sizeof(err)), 0);
	assert_false(created);
	again = slurp(ca_crt);
	assert_string_equal(pem, again);
	pki_ca_free(ca);
	free(again);
	free(pem);
}

static void server_kept_and_reissued(void **state)
{
	char *one[] = { "DNS:broker.example", "IP:127.0.0.1", "DNS:localhost" };
	char *reordered[] = { "IP:127.0.0.1", "DNS:localhost", "DNS:broker.example" };
	char *other[] = { "DNS:broker2.example", "IP:127.0.0.1", "DNS:localhost" };
	enum pki_server_state s;
	struct pki_ca *ca = NULL;
	char *a, *b, *k1, *k2, **sans;
	const char *why;
	size_t n;

	assert_int_equal(pki_ca_open(ca_key, ca_crt, "x", &ca, NULL, err, sizeof(err)), 0);
	assert_int_equal(pki_server_ensure(ca, srv_key, srv_crt, one, 3, &s, &why, err,
					   sizeof(err)), 0);
	assert_int_equal(s, PKI_SERVER_ISSUED);
	assert_int_equal(pki_cert_sans(srv_crt, &sans, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(sans[i], one[i]);
	pki_sans_free(sans, n);
	a = slurp(srv_crt);
	k1 = slurp(srv_key);

	/* Same names in another order: kept, byte for byte. */
	assert_int_equal(pki_server_ensure(ca, srv_key, srv_crt, reordered, 3, &s, &why, err,
					   sizeof(err)), 0);
	assert_int_equal(s, PKI_SERVER_KEPT);
	b = slurp(srv_crt);
	assert_string_equal(a, b);
	free(b);

	/* Other names: re-issued, same key. */
	assert_int_equal(pki_server_ensure(ca, srv_key, srv_crt, other, 3, &s, &why, err,
					   sizeof(err)), 0);
	assert_int_equal(s, PKI_SERVER_REISSUED);
	assert_non_null(why);
	b = slurp(srv_crt);
	k2 = slurp(srv_key);
	assert_string_not_equal(a, b);
	assert_string_equal(k1, k2);
	free(a);
	free(b);
	free(k1);
	free(k2);
	pki_ca_free(ca);
}

static void new_ca_reissues(void **state)
{
	char *names[] = { "DNS:broker2.example", "IP:127.0.0.1", "DNS:localhost" };
	enum pki_server_state s;
	struct pki_ca *ca = NULL;
	const char *why;

	assert_int_equal(unlink(ca_key), 0);
	assert_int_equal(unlink(ca_crt), 0);
	assert_int_equal(pki_ca_open(ca_key, ca_crt, "y", &ca, NULL, err, sizeof(err)), 0);
	assert_int_equal(pki_server_ensure(ca, srv_key, srv_crt, names, 3, &s, &why, err,
					   sizeof(err)), 0);
	assert_int_equal(s, PKI_SERVER_REISSUED);
	assert_string_equal(why, "it is not signed by this CA");
	pki_ca_free(ca);
}

static void lost_key_refused(void **state)
{
	struct pki_ca *ca = NULL;

	assert_int_equal(unlink(ca_key), 0);
	assert_int_equal(pki_ca_open(ca_key, ca_crt, "z", &ca, NULL, err, sizeof(err)), -ENOENT);
	assert_null(ca);
	assert_non_null(strstr(err, "ca.key"));
	/* A file that is no key. */
	assert_int_equal(fio_write_atomic(ca_key, "hello\n", 6, 0600), 0);
	assert_int_equal(pki_ca_open(ca_key, ca_crt, "z", &ca, NULL, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "not an unencrypted PEM private key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(san_entries),
		cmocka_unit_test(ca_made_then_kept),
		cmocka_unit_test(server_kept_and_reissued),
		cmocka_unit_test(new_ca_reissues),
		cmocka_unit_test(lost_key_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
