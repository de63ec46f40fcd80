/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cconf.c -- controller.yaml: broker, signing key, schedules, data directory */
#include "cconf.h"

#include "fileio.h"
#include "mq.h"
#include "ydoc.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

/* Paths in the file are relative to the file, so a deployment directory
 * can be moved as a whole. */
static char *resolve(const char *base_dir, const char *p)
{
	if (p[0] == '/')
		return strdup(p);
	return fio_join(base_dir, p);
}

static char *read_secret(struct ydoc *y, yaml_node_t *n, const char *path)
{
	char *buf = NULL;
	size_t len;
	int r = fio_read_all(path, 4096, &buf, &len);

	if (r < 0) {
		ydoc_error(y, n, "cannot read password file '%s': %s", path, strerror(-r));
		return NULL;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return buf;
}

struct cconf *cconf_load(const char *path, struct diag *d)
{
	static const char *const keys[] = {
		"broker", "username", "password_file", "ca_file", "signing_key",
		"schedules", "voices", "data_dir", "horizon_days", NULL
	};
	struct cconf *c = calloc(1, sizeof(*c));
	size_t before = diag_errors(d);
	char *copy = strdup(path), *base;
	yaml_node_t *root, *n;
	struct ydoc *y;
	bool empty;
	long v;

	if (!c || !copy) {
		free(c);
		free(copy);
		diag_error(d, path, 0, 0, "out of memory");
		return NULL;
	}
	base = dirname(copy);
	c->path = strdup(path);
	c->horizon_days = 7;
	y = ydoc_load(path, path, d, &empty);
	if (!y) {
		if (empty)
			diag_error(d, path, 1, 1, "the file is empty; it needs at least broker, signing_key, schedules and data_dir");
		goto out;
	}
	root = ydoc_root(y);
	if (!ydoc_is_map(root)) {
		ydoc_error(y, root, "controller configuration must be a mapping of keys");
		goto out;
	}
	ydoc_map_check(y, root, keys, "controller configuration");

#define STR(key, field, resolve_path)                                            \
	if ((n = ydoc_get(y, root, key))) {                                       \
		const char *s = ydoc_str(y, n, key);                              \
		if (s && !*s)                                                     \
			ydoc_error(y, n, "%s must not be empty", key);            \
		else if (s)                                                       \
			c->field = resolve_path ? resolve(base, s) : strdup(s);   \
	}
	STR("broker", broker, false)
	STR("username", username, false)
	STR("ca_file", ca_file, true)
	STR("signing_key", signing_key, true)
	STR("schedules", schedules, true)
	STR("voices", voices, true)
	STR("data_dir", data_dir, true)
#undef STR
	if ((n = ydoc_get(y, root, "password_file"))) {
		const char *s = ydoc_str(y, n, "password_file");

		if (s) {
			char *p = resolve(base, s);

			c->password = p ? read_secret(y, n, p) : NULL;
			free(p);
		}
	}
	if ((n = ydoc_get(y, root, "horizon_days")) && ydoc_long(y, n, 1, 31, "horizon_days", &v))
		c->horizon_days = (int)v;
	if (c->broker && mq_parse_url(c->broker, &c->host, &c->port, &c->tls) < 0)
		ydoc_error(y, ydoc_get(y, root, "broker"),
			   "broker must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT], not '%s'", c->broker);
	if (!c->broker)
		ydoc_error(y, root, "missing key 'broker'");
	if (!c->signing_key)
		ydoc_error(y, root, "missing key 'signing_key' (make one with `cunxiang keygen`)");
	if (!c->schedules)
		ydoc_error(y, root, "missing key 'schedules'");
	if (!c->data_dir)
		ydoc_error(y, root, "missing key 'data_dir'");
	if (c->tls && c->username && !c->password)
		ydoc_error(y, root, "username without password_file");
out:
	ydoc_free(y);
	free(copy);
	if (diag_errors(d) > before) {
		cconf_free(c);
		return NULL;
	}
	return c;
}

void cconf_free(struct cconf *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->broker);
	free(c->host);
	free(c->username);
	free(c->password);
	free(c->ca_file);
	free(c->signing_key);
	free(c->schedules);
	free(c->voices);
	free(c->data_dir);
	free(c);
}
