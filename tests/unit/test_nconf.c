/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_nconf.c -- node.yaml loading: defaults, every key, errors at FILE:LINE:COL */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "nconf.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], cfg[128], key[64], key2[64];
static struct env_key pub;

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Load TEXT as node.yaml; %K in TEXT is replaced by a valid key, %L by
 * another one. */
static struct nconf *load(const char *text, struct diag **dp)
{
	char buf[4096], *o = buf;

	for (const char *s = text; *s; s++) {
		if (s[0] == '%' && (s[1] == 'K' || s[1] == 'L')) {
			o += sprintf(o, "%s", s[1] == 'K' ? key : key2);
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	write_file(cfg, buf, 0644);
	*dp = diag_new();
	assert_non_null(*dp);
	return nconf_load(cfg, *dp);
}

/* The only error is exactly "CFG:LINE:COL: error: MSG". */
static void expect_error(const char *text, int line, int col, const char *msg)
{
	char want[1024];
	struct diag *d;
	struct nconf *c = load(text, &d);

	assert_null(c);
	snprintf(want, sizeof(want), "%s:%d:%d: error: %s", cfg, line, col, msg);
	if (diag_errors(d) != 1 || strcmp(diag_get(d, 0), want)) {
		diag_print(d, stderr);
		fprintf(stderr, "wanted: %s\n", want);
	}
	assert_int_equal(diag_errors(d), 1);
	assert_string_equal(diag_get(d, 0), want);
	diag_free(d);
}

static int setup(void **state)
{
	unsigned char pk[32], sk[64];

	assert_true(sodium_init() >= 0);
	strcpy(dir, "/tmp/test_nconf.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cfg, sizeof(cfg), "%s/node.yaml", dir);
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(key, sizeof(key), pk, 32, sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(env_key_from_base64(key, &pub), 0);
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(key2, sizeof(key2), pk, 32, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void minimal_defaults(void **state)
{
	struct diag *d;
	struct nconf *c = load("id: yn-01\nbroker: mqtt://township.local\ntrusted_keys: [\"%K\"]\n", &d);

	assert_non_null(c);
	assert_int_equal(diag_errors(d), 0);
	assert_int_equal(diag_warnings(d), 0);
	assert_string_equal(c->id, "yn-01");
	assert_string_equal(c->host, "township.local");
	assert_int_equal(c->port, 1883);
	assert_false(c->tls);
	assert_null(c->username);
	assert_null(c->password);
	assert_null(c->ca_file);
	assert_int_equal(c->nkeys, 1);
	assert_memory_equal(c->keys[0].pk, pub.pk, 32);
	assert_string_equal(c->keys[0].id, pub.id);
	assert_string_equal(c->device, "default");
	assert_null(c->mixer);
	assert_int_equal(c->buffer_ms, 100);
	assert_null(c->gpiochip);
	assert_int_equal(c->gpio_line, -1);
	assert_int_equal(c->warmup_ms, 800);
	assert_int_equal(c->latency_ms, 300);
	assert_string_equal(c->state_dir, "/var/lib/cunxiang-node");
	assert_int_equal(c->status_interval_s, 60);
	nconf_free(c);
	diag_free(d);
}

static void full(void **state)
{
	char pw[128], ca[128], sd[128];
	struct diag *d;
	struct nconf *c;

	snprintf(pw, sizeof(pw), "%s/node.pass", dir);
	write_file(pw, "s3cret\n", 0600);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	write_file(ca, "-----BEGIN CERTIFICATE-----\n", 0644);
	c = load("id: yn-01\n"
		 "broker: mqtts://[::1]:8884\n"
		 "username: yn-01\n"
		 "password_file: node.pass\n"
		 "ca_file: ca.crt\n"
		 "trusted_keys:\n  - \"%K\"\n  - \"%L\"\n"
		 "audio: { device: \"hw:0\", mixer: Master, buffer_ms: 200 }\n"
		 "amplifier: { gpiochip: gpiochip0, line: 17, warmup_ms: 500 }\n"
		 "live: { latency_ms: 250 }\n"
		 "state_dir: state\n"
		 "status_interval: 2m\n", &d);
	if (!c)
		diag_print(d, stderr);
	assert_non_null(c);
	assert_int_equal(diag_warnings(d), 0);
	assert_string_equal(c->host, "::1");
	assert_int_equal(c->port, 8884);
	assert_true(c->tls);
	assert_string_equal(c->username, "yn-01");
	assert_string_equal(c->password, "s3cret");
	assert_string_equal(c->ca_file, ca);
	assert_int_equal(c->nkeys, 2);
	assert_string_equal(c->device, "hw:0");
	assert_string_equal(c->mixer, "Master");
	assert_int_equal(c->buffer_ms, 200);
	assert_string_equal(c->gpiochip, "gpiochip0");
	assert_int_equal(c->gpio_line, 17);
	assert_int_equal(c->warmup_ms, 500);
	assert_int_equal(c->latency_ms, 250);
	snprintf(sd, sizeof(sd), "%s/state", dir);
	assert_string_equal(c->state_dir, sd);
	assert_int_equal(c->status_interval_s, 120);
	nconf_free(c);
	diag_free(d);

	c = load("id: a\nbroker: mqtts://h\ntrusted_keys: [\"%K\"]\nstatus_interval: 30\n", &d);
	assert_non_null(c);
	assert_int_equal(c->port, 8883);
	assert_null(c->ca_file); /* system CAs */
	assert_int_equal(c->status_interval_s, 30);
	nconf_free(c);
	diag_free(d);
}

static void unknown_keys(void **state)
{
	expect_error("id: yn-01\nbroker: mqtt://h\nvoulme: 80\ntrusted_keys: [\"%K\"]\n",
		     3, 1, "unknown key 'voulme' in node configuration");
	expect_error("id: yn-01\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\n"
		     "audio: { device: default, bufer_ms: 100 }\n",
		     4, 27, "unknown key 'bufer_ms' in audio");
	expect_error("id: yn-01\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\n"
		     "amplifier:\n  gpiochip: gpiochip0\n  line: 4\n  warmup: 3\n",
		     7, 3, "unknown key 'warmup' in amplifier");
	expect_error("id: yn-01\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\nlive: { latency: 3 }\n",
		     4, 9, "unknown key 'latency' in live");
	expect_error("id: yn-01\nid: yn-02\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\n",
		     2, 1, "duplicate key 'id' in node configuration");
}

static void bad_id(void **state)
{
	expect_error("id: YN_01\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\n", 1, 5,
		     "id must be 1 to 32 of a-z, 0-9 and '-', not 'YN_01'");
	expect_error("broker: mqtt://h\nid: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\ntrusted_keys: [\"%K\"]\n",
		     2, 5, "id must be 1 to 32 of a-z, 0-9 and '-', not "
		     "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
	expect_error("id: \"\"\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\n", 1, 5,
		     "id must not be empty");
	/* Echoed with its control characters escaped, not sent to the terminal. */
	expect_error("id: \"n1\\e[2J\\x9b\"\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\n", 1, 5,
		     "id must be 1 to 32 of a-z, 0-9 and '-', not 'n1\\x1b[2J\\xc2\\x9b'");
	expect_error("id: [a]\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\n", 1, 5,
		     "id must be a single value, not a list");
	expect_error("broker: mqtt://h\ntrusted_keys: [\"%K\"]\n", 1, 1, "missing key 'id'");
}

static void bad_broker(void **state)
{
	static const char *const bad[] = {
		"http://h", "mqtt://", "mqtt://h:0", "mqtt://h:65536", "mqtt://h:", "mqtt://h:1a",
		"mqtt://h/x", "mqtt://u@h", "mqtt://[::1", "mqtt://[::1]x", "MQTT://h",
		"mqtt://h:-1", "mqtt://h:+1",
	};
	char text[256], msg[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "id: a\nbroker: \"%s\"\ntrusted_keys: [\"%%K\"]\n", bad[i]);
		snprintf(msg, sizeof(msg), "broker must be mqtt://HOST[:PORT] or "
			 "mqtts://HOST[:PORT], not '%s'", bad[i]);
		expect_error(text, 2, 9, msg);
	}
	expect_error("id: a\ntrusted_keys: [\"%K\"]\n", 1, 1, "missing key 'broker'");
}

static void bad_keys(void **state)
{
	expect_error("id: a\nbroker: mqtt://h\ntrusted_keys: [\"%K\", \"abc=\"]\n", 3, 64,
		     "trusted key 'abc=' is not a base64 Ed25519 public key "
		     "(44 characters, as in signing.pub)");
	expect_error("id: a\nbroker: mqtt://h\ntrusted_keys: []\n", 3, 15,
		     "trusted_keys must name at least one key");
	expect_error("id: a\nbroker: mqtt://h\ntrusted_keys: \"%K\"\n", 3, 15,
		     "trusted_keys must be a list of base64 public keys");
	expect_error("id: a\nbroker: mqtt://h\n", 1, 1,
		     "missing key 'trusted_keys' (the controller's signing.pub)");
	expect_error("id: a\nbroker: mqtt://h\ntrusted_keys:\n  - {k: v}\n", 4, 5,
		     "a trusted key must be a single value, not a mapping");
}

static void too_many_keys(void **state)
{
	char text[4096];
	int n = sprintf(text, "id: a\nbroker: mqtt://h\ntrusted_keys:\n");

	for (int i = 0; i < NCONF_MAX_KEYS + 1; i++)
		n += sprintf(text + n, "  - \"%%K\"\n");
	expect_error(text, 4, 3, "trusted_keys may name at most 16 keys, not 17");
}

static void duplicate_key_warns(void **state)
{
	struct diag *d;
	struct nconf *c = load("id: a\nbroker: mqtt://h\ntrusted_keys: [\"%K\", \"%K\"]\n", &d);

	assert_non_null(c);
	assert_int_equal(c->nkeys, 1);
	assert_int_equal(diag_warnings(d), 1);
	nconf_free(c);
	diag_free(d);
}

static void password_file(void **state)
{
	char pw[128], text[512], msg[512];
	struct diag *d;
	struct nconf *c;

	snprintf(text, sizeof(text), "id: a\nbroker: mqtt://h\nusername: a\n"
		 "password_file: /nonexistent/node.pass\ntrusted_keys: [\"%%K\"]\n");
	expect_error(text, 4, 16, "cannot read password_file '/nonexistent/node.pass': "
		     "No such file or directory");

	/* Relative to the configuration file. */
	snprintf(msg, sizeof(msg), "cannot read password_file '%s/missing.pass': "
		 "No such file or directory", dir);
	expect_error("id: a\nbroker: mqtt://h\nusername: a\npassword_file: missing.pass\n"
		     "trusted_keys: [\"%K\"]\n", 4, 16, msg);

	snprintf(pw, sizeof(pw), "%s/empty.pass", dir);
	write_file(pw, "\n", 0600);
	snprintf(msg, sizeof(msg), "password_file '%s' is empty", pw);
	expect_error("id: a\nbroker: mqtt://h\nusername: a\npassword_file: empty.pass\n"
		     "trusted_keys: [\"%K\"]\n", 4, 16, msg);

	snprintf(pw, sizeof(pw), "%s/two.pass", dir);
	write_file(pw, "one\ntwo\n", 0600);
	snprintf(msg, sizeof(msg), "password_file '%s' must hold a single line", pw);
	expect_error("id: a\nbroker: mqtt://h\nusername: a\npassword_file: two.pass\n"
		     "trusted_keys: [\"%K\"]\n", 4, 16, msg);

	snprintf(pw, sizeof(pw), "%s/ok.pass", dir);
	write_file(pw, "pw\r\n", 0600);
	expect_error("id: a\nbroker: mqtt://h\npassword_file: ok.pass\ntrusted_keys: [\"%K\"]\n",
		     3, 16, "password_file needs a username");

	/* Readable by everyone: loads, with a warning at the key's value. */
	write_file(pw, "pw\r\n", 0644);
	c = load("id: a\nbroker: mqtt://h\nusername: a\npassword_file: ok.pass\n"
		 "trusted_keys: [\"%K\"]\n", &d);
	assert_non_null(c);
	assert_string_equal(c->password, "pw");
	assert_int_equal(diag_warnings(d), 1);
	snprintf(msg, sizeof(msg), "%s:4:16: warning: password_file '%s' is accessible by "
		 "every user; chmod o-rwx it", cfg, pw);
	assert_string_equal(diag_get(d, 0), msg);
	nconf_free(c);
	diag_free(d);
}

static void ca_file(void **state)
{
	char msg[512], ca[128];
	struct diag *d;
	struct nconf *c;

	snprintf(msg, sizeof(msg), "cannot read ca_file '%s/nope.crt': No such file or directory",
		 dir);
	expect_error("id: a\nbroker: mqtts://h\nca_file: nope.crt\ntrusted_keys: [\"%K\"]\n",
		     3, 10, msg);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	write_file(ca, "x\n", 0644);
	c = load("id: a\nbroker: mqtt://h\nca_file: ca.crt\ntrusted_keys: [\"%K\"]\n", &d);
	assert_non_null(c);
	assert_int_equal(diag_warnings(d), 1); /* only used with mqtts */
	nconf_free(c);
	diag_free(d);
}

static void ranges_and_sections(void **state)
{
	expect_error("id: a\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\naudio: { buffer_ms: 5 }\n",
		     4, 21, "audio.buffer_ms must be between 20 and 1000, not 5");
	expect_error("id: a\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\naudio: default\n",
		     4, 8, "audio must be a mapping (device, mixer, buffer_ms)");
	expect_error("id: a\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\n"
		     "amplifier: { gpiochip: gpiochip0 }\n",
		     4, 12, "missing key 'line' in amplifier");
	expect_error("id: a\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\nlive: { latency_ms: x }\n",
		     4, 21, "live.latency_ms must be a whole number from 40 to 5000");
	expect_error("id: a\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\nstatus_interval: 2s\n",
		     4, 18, "status_interval must be 5s to 1h, in whole seconds "
		     "(e.g. 60 or \"2m\"), not '2s'");
	expect_error("id: a\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\nstatus_interval: 4000\n",
		     4, 18, "status_interval (seconds) must be between 5 and 3600, not 4000");
	expect_error("id: a\nbroker: mqtt://h\ntrusted_keys: [\"%K\"]\nstate_dir: \"\"\n",
		     4, 12, "state_dir must not be empty");
}

static void whole_file_errors(void **state)
{
	struct diag *d;

	expect_error("", 1, 1, "the file is empty; it needs at least id, broker and trusted_keys");
	expect_error("- id: a\n", 1, 1, "node configuration must be a mapping of keys");
	expect_error("id: [a\n", 2, 1, "YAML syntax: did not find expected ',' or ']' "
		     "while parsing a flow sequence");
	/* All errors of a run are reported, not just the first. */
	assert_null(load("id: A\nbroker: x\nfoo: 1\ntrusted_keys: [q]\n", &d));
	assert_int_equal(diag_errors(d), 4);
	diag_free(d);
	/* A missing file. */
	d = diag_new();
	assert_null(nconf_load("/nonexistent/node.yaml", d));
	assert_string_equal(diag_get(d, 0),
			    "/nonexistent/node.yaml: error: cannot read: No such file or directory");
	diag_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_defaults),
		cmocka_unit_test(full),
		cmocka_unit_test(unknown_keys),
		cmocka_unit_test(bad_id),
		cmocka_unit_test(bad_broker),
		cmocka_unit_test(bad_keys),
		cmocka_unit_test(too_many_keys),
		cmocka_unit_test(duplicate_key_warns),
		cmocka_unit_test(password_file),
		cmocka_unit_test(ca_file),
		cmocka_unit_test(ranges_and_sections),
		cmocka_unit_test(whole_file_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
