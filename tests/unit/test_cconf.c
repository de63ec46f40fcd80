/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_cconf.c -- controller.yaml loading: defaults, every key, errors at FILE:LINE:COL */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], cfg[128];

/* The four keys every file needs, after which a test adds its own. */
#define BASE "broker: mqtt://h\nsigning_key: signing.key\nschedules: sch\ndata_dir: data\n"

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static struct cconf *load(const char *text, struct diag **dp)
{
	write_file(cfg, text, 0644);
	*dp = diag_new();
	assert_non_null(*dp);
	return cconf_load(cfg, *dp);
}

/* The errors are exactly "CFG:LINE:COL: error: MSG", in the order given
 * (diag sorts them by position). */
static void expect_errors(const char *text, size_t n, const int *lines, const int *cols,
			  const char *const *msgs)
{
	char want[1024];
	struct diag *d;
	struct cconf *c = load(text, &d);

	assert_null(c);
	if (diag_errors(d) != n) {
		diag_print(d, stderr);
		fprintf(stderr, "wanted %zu error(s), the first: %s\n", n, msgs[0]);
	}
	assert_int_equal(diag_errors(d), n);
	for (size_t i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%s:%d:%d: error: %s", cfg, lines[i], cols[i], msgs[i]);
		assert_string_equal(diag_get(d, i), want);
	}
	diag_free(d);
}

static void expect_error(const char *text, int line, int col, const char *msg)
{
	expect_errors(text, 1, &line, &col, &msg);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/test_cconf.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cfg, sizeof(cfg), "%s/controller.yaml", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void in_dir(char *out, size_t size, const char *name)
{
	assert_true((size_t)snprintf(out, size, "%s/%s", dir, name) < size);
}

static void minimal_defaults(void **state)
{
	char p[160];
	struct diag *d;
	struct cconf *c = load(BASE, &d);

	if (!c)
		diag_print(d, stderr);
	assert_non_null(c);
	assert_int_equal(diag_errors(d), 0);
	assert_int_equal(diag_warnings(d), 0);
	assert_string_equal(c->path, cfg);
	assert_string_equal(c->broker, "mqtt://h");
	assert_string_equal(c->host, "h");
	assert_int_equal(c->port, 1883);
	assert_false(c->tls);
	assert_null(c->username);
	assert_null(c->password);
	assert_null(c->ca_file);
	assert_null(c->voices);
	/* Relative to the file's directory. */
	in_dir(p, sizeof(p), "signing.key");
	assert_string_equal(c->signing_key, p);
	in_dir(p, sizeof(p), "sch");
	assert_string_equal(c->schedules, p);
	in_dir(p, sizeof(p), "data");
	assert_string_equal(c->data_dir, p);
	assert_int_equal(c->horizon_days, 7);
	cconf_free(c);
	diag_free(d);
	cconf_free(NULL);
}

/* The example of cunxiang.yaml(5). */
static void manual_example(void **state)
{
	char pw[160], p[160];
	struct diag *d;
	struct cconf *c;

	in_dir(pw, sizeof(pw), "controller.pass");
	write_file(pw, "s3cret\n\n", 0600);
	c = load("broker: mqtts://township.example:8883\n"
		 "username: controller\n"
		 "password_file: controller.pass\n"
		 "ca_file: ca.crt\n"
		 "signing_key: signing.key\n"
		 "schedules: /etc/cunxiang/schedules\n"
		 "voices: /usr/share/cunxiang/voices\n"
		 "data_dir: /var/lib/cunxiang\n"
		 "horizon_days: 7\n", &d);
	if (!c)
		diag_print(d, stderr);
	assert_non_null(c);
	assert_int_equal(diag_warnings(d), 0);
	assert_string_equal(c->broker, "mqtts://township.example:8883");
	assert_string_equal(c->host, "township.example");
	assert_int_equal(c->port, 8883);
	assert_true(c->tls);
	assert_string_equal(c->username, "controller");
	/* Trailing newlines are not part of the password. */
	assert_string_equal(c->password, "s3cret");
	in_dir(p, sizeof(p), "ca.crt");
	assert_string_equal(c->ca_file, p);
	in_dir(p, sizeof(p), "signing.key");
	assert_string_equal(c->signing_key, p);
	/* Absolute paths stay as they are. */
	assert_string_equal(c->schedules, "/etc/cunxiang/schedules");
	assert_string_equal(c->voices, "/usr/share/cunxiang/voices");
	assert_string_equal(c->data_dir, "/var/lib/cunxiang");
	assert_int_equal(c->horizon_days, 7);
	cconf_free(c);
	diag_free(d);
}

static void other_values(void **state)
{
	char pw[160], p[160];
	struct diag *d;
	struct cconf *c;

	in_dir(pw, sizeof(pw), "crlf.pass");
	write_file(pw, "pw with spaces \r\n", 0600);
	c = load("broker: \"mqtt://[::1]:1884\"\nsigning_key: keys/signing.key\n"
		 "schedules: ./sch\ndata_dir: ../data\nvoices: v\nhorizon_days: 31\n"
		 "username: u\npassword_file: crlf.pass\n", &d);
	if (!c)
		diag_print(d, stderr);
	assert_non_null(c);
	assert_string_equal(c->host, "::1");
	assert_int_equal(c->port, 1884);
	assert_false(c->tls);
	assert_string_equal(c->password, "pw with spaces ");
	in_dir(p, sizeof(p), "keys/signing.key");
	assert_string_equal(c->signing_key, p);
	in_dir(p, sizeof(p), "./sch");
	assert_string_equal(c->schedules, p);
	in_dir(p, sizeof(p), "../data");
	assert_string_equal(c->data_dir, p);
	in_dir(p, sizeof(p), "v");
	assert_string_equal(c->voices, p);
	assert_int_equal(c->horizon_days, 31);
	cconf_free(c);
	diag_free(d);

	/* mqtts defaults to 8883; a username needs no password on plain mqtt. */
	c = load("broker: mqtts://h\nsigning_key: k\nschedules: s\ndata_dir: d\nhorizon_days: 1\n",
		 &d);
	assert_non_null(c);
	assert_int_equal(c->port, 8883);
	assert_true(c->tls);
	assert_int_equal(c->horizon_days, 1);
	cconf_free(c);
	diag_free(d);
	c = load(BASE "username: u\n", &d);
	assert_non_null(c);
	assert_string_equal(c->username, "u");
	assert_null(c->password);
	cconf_free(c);
	diag_free(d);
}

static void unknown_and_duplicate_keys(void **state)
{
	expect_error(BASE "sigining_key: k\n", 5, 1,
		     "unknown key 'sigining_key' in controller configuration");
	expect_error("broker: mqtt://h\nsigning_key: k\nschedules: s\ndata_dir: d\nbroker: mqtt://i\n",
		     5, 1, "duplicate key 'broker' in controller configuration");
	expect_error(BASE "[a]: 1\n", 5, 1, "a key in controller configuration must be a plain name");
	/* A key's name is shown escaped. */
	expect_error(BASE "\"x\\e[2J\": 1\n", 5, 1,
		     "unknown key 'x\\x1b[2J' in controller configuration");
}

static void missing_keys(void **state)
{
	expect_error("signing_key: k\nschedules: s\ndata_dir: d\n", 1, 1, "missing key 'broker'");
	expect_error("broker: mqtt://h\nschedules: s\ndata_dir: d\n", 1, 1,
		     "missing key 'signing_key' (make one with `cunxiang keygen`)");
	expect_error("broker: mqtt://h\nsigning_key: k\ndata_dir: d\n", 1, 1,
		     "missing key 'schedules'");
	expect_error("broker: mqtt://h\nsigning_key: k\nschedules: s\n", 1, 1,
		     "missing key 'data_dir'");
	/* Every error of a run, not just the first. */
	static const int l[] = { 1, 1, 1, 1, 2 }, c[] = { 1, 1, 1, 1, 1 };
	static const char *const m[] = {
		"missing key 'broker'",
		"missing key 'signing_key' (make one with `cunxiang keygen`)",
		"missing key 'schedules'",
		"missing key 'data_dir'",
		"unknown key 'x' in controller configuration",
	};
	expect_errors("voices: v\nx: 1\n", 5, l, c, m);
}

static void bad_broker(void **state)
{
	static const char *const bad[] = {
		"http://h", "mqtt://", "mqtt://h:0", "mqtt://h:65536", "mqtt://h:", "mqtt://h:1a",
		"mqtt://h/x", "mqtt://u@h", "mqtt://[::1", "mqtt://[::1]x", "MQTT://h",
		"mqtt://h:-1", "mqtt://h:+1", "tcp://h:1883", "h:1883",
	};
	char text[256], msg[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "signing_key: k\nbroker: \"%s\"\nschedules: s\ndata_dir: d\n",
			 bad[i]);
		snprintf(msg, sizeof(msg), "broker must be mqtt://HOST[:PORT] or "
			 "mqtts://HOST[:PORT], not '%s'", bad[i]);
		expect_error(text, 2, 9, msg);
	}
}

static void wrong_shapes(void **state)
{
	/* A required key that is empty or not a single value is also missing. */
	static const int l[] = { 1, 1 }, c1[] = { 1, 9 }, c2[] = { 1, 12 };
	static const char *const m1[] = { "missing key 'broker'", "broker must not be empty" };
	static const char *const m2[] = { "missing key 'schedules'",
					  "schedules must be a single value, not a list" };
	static const char *const m3[] = { "missing key 'data_dir'",
					  "data_dir must be a single value, not a mapping" };

	expect_errors("broker: \"\"\nsigning_key: k\nschedules: s\ndata_dir: d\n", 2, l, c1, m1);
	expect_errors("schedules: [a, b]\nbroker: mqtt://h\nsigning_key: k\ndata_dir: d\n", 2, l, c2,
		      m2);
	static const int l3[] = { 1, 4 }, c3[] = { 1, 11 };
	expect_errors("broker: mqtt://h\nsigning_key: k\nschedules: s\ndata_dir: {a: b}\n", 2, l3,
		      c3, m3);
	expect_error(BASE "voices: \"\"\n", 5, 9, "voices must not be empty");
	expect_error(BASE "username: [u]\n", 5, 11, "username must be a single value, not a list");
	expect_error(BASE "ca_file: {a: 1}\n", 5, 10, "ca_file must be a single value, not a mapping");
	expect_error(BASE "password_file: [p]\n", 5, 16,
		     "password_file must be a single value, not a list");
}

static void horizon(void **state)
{
	expect_error(BASE "horizon_days: 0\n", 5, 15, "horizon_days must be between 1 and 31, not 0");
	expect_error(BASE "horizon_days: 32\n", 5, 15,
		     "horizon_days must be between 1 and 31, not 32");
	expect_error(BASE "horizon_days: -1\n", 5, 15,
		     "horizon_days must be between 1 and 31, not -1");
	expect_error(BASE "horizon_days: 7.5\n", 5, 15,
		     "horizon_days must be a whole number from 1 to 31");
	expect_error(BASE "horizon_days: seven\n", 5, 15,
		     "horizon_days must be a whole number from 1 to 31");
	expect_error(BASE "horizon_days: \"7\"\n", 5, 15,
		     "horizon_days must be a whole number from 1 to 31");
	expect_error(BASE "horizon_days: [7]\n", 5, 15,
		     "horizon_days must be a whole number from 1 to 31");
	expect_error(BASE "horizon_days: 99999999999999999999\n", 5, 15,
		     "horizon_days must be a whole number from 1 to 31");
}

static void password_file(void **state)
{
	char msg[512], pw[160];
	char *big;
	FILE *f;

	expect_error(BASE "username: u\npassword_file: /nonexistent/controller.pass\n", 6, 16,
		     "cannot read password file '/nonexistent/controller.pass': "
		     "No such file or directory");
	snprintf(msg, sizeof(msg), "cannot read password file '%s/missing.pass': "
		 "No such file or directory", dir);
	expect_error(BASE "username: u\npassword_file: missing.pass\n", 6, 16, msg);

	/* At most 4096 bytes. */
	in_dir(pw, sizeof(pw), "big.pass");
	big = malloc(5000);
	assert_non_null(big);
	memset(big, 'p', 4999);
	big[4999] = '\0';
	f = fopen(pw, "w");
	assert_non_null(f);
	fputs(big, f);
	fclose(f);
	free(big);
	snprintf(msg, sizeof(msg), "cannot read password file '%s': File too large", pw);
	expect_error(BASE "username: u\npassword_file: big.pass\n", 6, 16, msg);

	/* TLS with a username and no password. */
	expect_error("broker: mqtts://h\nsigning_key: k\nschedules: s\ndata_dir: d\nusername: u\n",
		     1, 1, "username without password_file");
}

static void whole_file_errors(void **state)
{
	struct diag *d;

	expect_error("", 1, 1, "the file is empty; it needs at least broker, signing_key, "
		     "schedules and data_dir");
	expect_error("# only a comment\n", 1, 1, "the file is empty; it needs at least broker, "
		     "signing_key, schedules and data_dir");
	expect_error("- broker: mqtt://h\n", 1, 1, "controller configuration must be a mapping of keys");
	expect_error("just words\n", 1, 1, "controller configuration must be a mapping of keys");
	expect_error("broker: [mqtt://h\n", 2, 1, "YAML syntax: did not find expected ',' or ']' "
		     "while parsing a flow sequence");

	d = diag_new();
	assert_null(cconf_load("/nonexistent/controller.yaml", d));
	assert_int_equal(diag_errors(d), 1);
	assert_string_equal(diag_get(d, 0),
			    "/nonexistent/controller.yaml: error: cannot read: No such file or directory");
	diag_free(d);

	/* Errors already in D are not this load's. */
	d = diag_new();
	diag_error(d, "earlier.yaml", 1, 1, "an earlier error");
	write_file(cfg, BASE, 0644);
	struct cconf *c = cconf_load(cfg, d);
	assert_non_null(c);
	assert_int_equal(diag_errors(d), 1);
	cconf_free(c);
	diag_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_defaults),
		cmocka_unit_test(manual_example),
		cmocka_unit_test(other_values),
		cmocka_unit_test(unknown_and_duplicate_keys),
		cmocka_unit_test(missing_keys),
		cmocka_unit_test(bad_broker),
		cmocka_unit_test(wrong_shapes),
		cmocka_unit_test(horizon),
		cmocka_unit_test(password_file),
		cmocka_unit_test(whole_file_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
