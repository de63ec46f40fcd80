/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_mqpw.c -- mosquitto 2.0 password entries: mosquitto_passwd's, ours, and broken ones */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mqpw.h"

#include <errno.h>
#include <string.h>

/* Written by mosquitto_passwd 2.0.11 (`mosquitto_passwd -c -b pw alice secret`). */
static const char from_mosquitto[] =
	"$7$101$OAXBK3IaNpvhQbUH$zxoSKU7jtSre/fXN8MVWVD2i85BI23D+8x207uFHPgNoD3I7fBFsmZhQu15OFP3"
	"DRiAv+02LTMUtMEFDP5jcTw==";

static void verifies_mosquitto_passwd(void **state)
{
	assert_int_equal(mqpw_verify(from_mosquitto, "secret"), 0);
	assert_int_equal(mqpw_verify(from_mosquitto, "Secret"), -EKEYREJECTED);
	assert_int_equal(mqpw_verify(from_mosquitto, ""), -EKEYREJECTED);
}

static void hash_roundtrip(void **state)
{
	char h[MQPW_HASH_LEN], h2[MQPW_HASH_LEN];

	assert_int_equal(mqpw_hash("correct horse", h), 0);
	/* "$7$101$" + 16 salt + "$" + 88 key */
	assert_int_equal(strlen(h), 7 + 16 + 1 + 88);
	assert_memory_equal(h, "$7$101$", 7);
	assert_int_equal(mqpw_verify(h, "correct horse"), 0);
	assert_int_equal(mqpw_verify(h, "correct horsf"), -EKEYREJECTED);
	/* A new salt every time. */
	assert_int_equal(mqpw_hash("correct horse", h2), 0);
	assert_string_not_equal(h, h2);
}

static void malformed_rejected(void **state)
{
	static const char *const bad[] = {
		"",
		"secret",
		"$6$OAXBK3IaNpvhQbUH$zxoS",
		"$7$$OAXBK3IaNpvhQbUH$zxoSKU7jtSre",
		"$7$0$OAXBK3IaNpvhQbUH$zxoSKU7jtSre",
		"$7$-1$OAXBK3IaNpvhQbUH$zxoSKU7jtSre",
		"$7$101x$OAXBK3IaNpvhQbUH$zxoSKU7jtSre",
		"$7$99999999999$OAXBK3IaNpvhQbUH$zxoSKU7jtSre",
		"$7$101$OAXBK3IaNpvh$zxoSKU7jtSre",              /* short salt */
		"$7$101$OAXBK3IaNpvhQbUH$zxoSKU7jtSre",          /* short key */
		"$7$101$OAXBK3IaNpvhQbUH",                       /* no key */
		"$7$101$OAXBK3IaNpvhQbUH$a$b",
		"$7$101$!!!!!!!!!!!!!!!!$zxoSKU7jtSre",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mqpw_verify(bad[i], "secret"), -EINVAL);
}

static void random_passwords(void **state)
{
	char a[MQPW_PASSWORD_LEN + 1], b[MQPW_PASSWORD_LEN + 1];

	mqpw_random(a);
	mqpw_random(b);
	assert_int_equal(strlen(a), MQPW_PASSWORD_LEN);
	assert_string_not_equal(a, b);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
			 MQPW_PASSWORD_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(verifies_mosquitto_passwd),
		cmocka_unit_test(hash_roundtrip),
		cmocka_unit_test(malformed_rejected),
		cmocka_unit_test(random_passwords),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
