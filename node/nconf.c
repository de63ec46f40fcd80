/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nconf.c -- node.yaml: identity, broker, trusted keys, audio, amplifier, state */
#include "nconf.h"

#include "mq.h"

#include "cxtime.h"
#include "fileio.h"
#include "ydoc.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWORD_MAX 4096

static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Paths in the file are relative to the file, as in controller.yaml. */
static char *resolve(const char *base_dir, const char *p)
{
	return p[0] == '/' ? strdup(p) : fio_join(base_dir, p);
}

/* A non-empty string value, or NULL with the error reported. */
static const char *str_value(struct ydoc *y, yaml_node_t *n, const char *what)
{
	const char *s = ydoc_str(y, n, what);

	if (s && !*s) {
		ydoc_error(y, n, "%s must not be empty", what);
		return NULL;
	}
	return s;
}

static bool set_str(struct ydoc *y, yaml_node_t *n, const char *what, char **field,
		    const char *base_dir)
{
	const char *s = str_value(y, n, what);

	if (!s)
		return false;
	free(*field);
	*field = base_dir ? resolve(base_dir, s) : strdup(s);
	if (!*field) {
		ydoc_error(y, n, "out of memory");
		return false;
	}
	return true;
}

static char *read_password(struct ydoc *y, yaml_node_t *n, const char *path)
{
	char *buf = NULL;
	size_t len;
	int r;

	r = fio_read_all(path, PASSWORD_MAX, &buf, &len);
	if (r < 0) {
		ydoc_error(y, n, "cannot read password_file '%s': %s", path,
			   r == -EFBIG ? "larger than 4096 bytes" : strerror(-r));
		return NULL;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0)
		ydoc_error(y, n, "password_file '%s' is empty", path);
	else if (strlen(buf) != len)
		ydoc_error(y, n, "password_file '%s' contains a NUL byte", path);
	else if (strpbrk(buf, "\r\n"))
		ydoc_error(y, n, "password_file '%s' must hold a single line", path);
	else
		return buf;
	explicit_bzero(buf, len);
	free(buf);
	return NULL;
}

/* A readable password file is only a warning: the daemon still works, and
 * the operator is told how to fix it. */
static void check_secret_mode(struct ydoc *y, struct diag *d, yaml_node_t *n, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)))
		diag_warning(d, ydoc_name(y), ydoc_line(n), ydoc_col(n),
			     "password_file '%s' is accessible by every user; chmod o-rwx it",
			     path);
}

static void load_keys(struct nconf *c, struct ydoc *y, struct diag *d, yaml_node_t *n)
{
	size_t len;

	if (!ydoc_is_seq(n)) {
		ydoc_error(y, n, "trusted_keys must be a list of base64 public keys");
		return;
	}
	len = ydoc_seq_len(n);
	if (len == 0) {
		ydoc_error(y, n, "trusted_keys must name at least one key");
		return;
	}
	if (len > NCONF_MAX_KEYS) {
		ydoc_error(y, n, "trusted_keys may name at most %d keys, not %zu",
			   NCONF_MAX_KEYS, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		yaml_node_t *it = ydoc_seq_at(y, n, i);
		const char *s = ydoc_str(y, it, "a trusted key");
		struct env_key k;
		bool dup = false;

		if (!s)
			continue;
		if (env_key_from_base64(s, &k) < 0) {
			ydoc_error(y, it, "trusted key '%.60s' is not a base64 Ed25519 public key "
				   "(44 characters, as in signing.pub)", s);
			continue;
		}
		for (size_t j = 0; j < c->nkeys; j++)
			if (!memcmp(c->keys[j].pk, k.pk, sizeof(k.pk)))
				dup = true;
		if (dup) {
			diag_warning(d, ydoc_name(y), ydoc_line(it), ydoc_col(it),
				     "trusted key %s is listed twice", k.id);
			continue;
		}
		c->keys[c->nkeys++] = k;
	}
}

static void load_audio(struct nconf *c, struct ydoc *y, yaml_node_t *m)
{
	static const char *const keys[] = { "device", "mixer", "buffer_ms", NULL };
	yaml_node_t *n;
	long v;

	if (!ydoc_is_map(m)) {
		ydoc_error(y, m, "audio must be a mapping (device, mixer, buffer_ms)");
		return;
	}
	ydoc_map_check(y, m, keys, "audio");
	if ((n = ydoc_get(y, m, "device")))
		set_str(y, n, "audio.device", &c->device, NULL);
	if ((n = ydoc_get(y, m, "mixer")))
		set_str(y, n, "audio.mixer", &c->mixer, NULL);
	if ((n = ydoc_get(y, m, "buffer_ms")) && ydoc_long(y, n, 20, 1000, "audio.buffer_ms", &v))
		c->buffer_ms = (int)v;
}

static void load_amplifier(struct nconf *c, struct ydoc *y, yaml_node_t *m)
{
	static const char *const keys[] = { "gpiochip", "line", "warmup_ms", NULL };
	yaml_node_t *n;
	long v;

	if (!ydoc_is_map(m)) {
		ydoc_error(y, m, "amplifier must be a mapping (gpiochip, line, warmup_ms)");
		return;
	}
	ydoc_map_check(y, m, keys, "amplifier");
	if ((n = ydoc_get(y, m, "gpiochip")))
		set_str(y, n, "amplifier.gpiochip", &c->gpiochip, NULL);
	else
		ydoc_error(y, m, "missing key 'gpiochip' in amplifier");
	if ((n = ydoc_get(y, m, "line"))) {
		if (ydoc_long(y, n, 0, 1023, "amplifier.line", &v))
			c->gpio_line = (int)v;
	} else {
		ydoc_error(y, m, "missing key 'line' in amplifier");
	}
	if ((n = ydoc_get(y, m, "warmup_ms")) &&
	    ydoc_long(y, n, 0, 10000, "amplifier.warmup_ms", &v))
		c->warmup_ms = (int)v;
}

static void load_live(struct nconf *c, struct ydoc *y, yaml_node_t *m)
{
	static const char *const keys[] = { "latency_ms", NULL };
	yaml_node_t *n;
	long v;

	if (!ydoc_is_map(m)) {
		ydoc_error(y, m, "live must be a mapping (latency_ms)");
		return;
	}
	ydoc_map_check(y, m, keys, "live");
	if ((n = ydoc_get(y, m, "latency_ms")) &&
	    ydoc_long(y, n, 40, 5000, "live.latency_ms", &v))
		c->latency_ms = (int)v;
}

/* Seconds as a whole number (60) or a duration ("90s", "2m"). */
static void load_interval(struct nconf *c, struct ydoc *y, yaml_node_t *n)
{
	const char *s = ydoc_is_scalar(n) ? (const char *)n->data.scalar.value : NULL;
	int64_t ms;
	long v;

	if (s && s[0] && s[strlen(s) - 1] >= 'a') {
		if (cx_parse_duration(s, &ms) < 0 || ms < 5000 || ms > 3600000 || ms % 1000) {
			ydoc_error(y, n, "status_interval must be 5s to 1h, in whole seconds "
				   "(e.g. 60 or \"2m\"), not '%s'", s);
			return;
		}
		c->status_interval_s = (int)(ms / 1000);
		return;
	}
	if (ydoc_long(y, n, 5, 3600, "status_interval (seconds)", &v))
		c->status_interval_s = (int)v;
}

struct nconf *nconf_load(const char *path, struct diag *d)
{
	static const char *const keys[] = {
		"id", "broker", "username", "password_file", "ca_file", "trusted_keys",
		"audio", "amplifier", "live", "state_dir", "status_interval", NULL
	};
	struct nconf *c = calloc(1, sizeof(*c));
	size_t before = diag_errors(d);
	char *copy = strdup(path), *base;
	yaml_node_t *root, *n, *pwnode = NULL;
	struct ydoc *y = NULL;
	bool empty;

	if (!c || !copy) {
		free(c);
		free(copy);
		diag_error(d, path, 0, 0, "out of memory");
		return NULL;
	}
	base = dirname(copy);
	c->device = strdup("default");
	c->state_dir = strdup("/var/lib/cunxiang-node");
	c->buffer_ms = 100;
	c->gpio_line = -1;
	c->warmup_ms = 800;
	c->latency_ms = 300;
	c->status_interval_s = 60;
	if (!c->device || !c->state_dir) {
		diag_error(d, path, 0, 0, "out of memory");
		goto out;
	}
	y = ydoc_load(path, path, d, &empty);
	if (!y) {
		if (empty)
			diag_error(d, path, 1, 1, "the file is empty; it needs at least id, "
				   "broker and trusted_keys");
		goto out;
	}
	root = ydoc_root(y);
	if (!ydoc_is_map(root)) {
		ydoc_error(y, root, "node configuration must be a mapping of keys");
		goto out;
	}
	ydoc_map_check(y, root, keys, "node configuration");

	if ((n = ydoc_get(y, root, "id"))) {
		if (set_str(y, n, "id", &c->id, NULL) && !valid_id(c->id))
			ydoc_error(y, n, "id must be 1 to 32 of a-z, 0-9 and '-', not '%s'", c->id);
	} else {
		ydoc_error(y, root, "missing key 'id'");
	}
	if ((n = ydoc_get(y, root, "broker"))) {
		int r;

		if (set_str(y, n, "broker", &c->broker, NULL) &&
		    (r = mq_parse_url(c->broker, &c->host, &c->port, &c->tls)) < 0) {
			if (r == -ENOMEM)
				ydoc_error(y, n, "out of memory");
			else
				ydoc_error(y, n, "broker must be mqtt://HOST[:PORT] or "
					   "mqtts://HOST[:PORT], not '%s'", c->broker);
		}
	} else {
		ydoc_error(y, root, "missing key 'broker'");
	}
	if ((n = ydoc_get(y, root, "username")))
		set_str(y, n, "username", &c->username, NULL);
	if ((pwnode = ydoc_get(y, root, "password_file"))) {
		char *p = NULL;

		if (set_str(y, pwnode, "password_file", &p, base)) {
			c->password = read_password(y, pwnode, p);
			if (c->password)
				check_secret_mode(y, d, pwnode, p);
		}
		free(p);
		if (!ydoc_get(y, root, "username"))
			ydoc_error(y, pwnode, "password_file needs a username");
	}
	if ((n = ydoc_get(y, root, "ca_file")) && set_str(y, n, "ca_file", &c->ca_file, base)) {
		if (access(c->ca_file, R_OK) < 0)
			ydoc_error(y, n, "cannot read ca_file '%s': %s", c->ca_file,
				   strerror(errno));
		else if (c->broker && !c->tls && c->host)
			diag_warning(d, ydoc_name(y), ydoc_line(n), ydoc_col(n),
				     "ca_file is only used with an mqtts:// broker");
	}
	if ((n = ydoc_get(y, root, "trusted_keys")))
		load_keys(c, y, d, n);
	else
		ydoc_error(y, root, "missing key 'trusted_keys' (the controller's signing.pub)");
	if ((n = ydoc_get(y, root, "audio")))
		load_audio(c, y, n);
	if ((n = ydoc_get(y, root, "amplifier")))
		load_amplifier(c, y, n);
	if ((n = ydoc_get(y, root, "live")))
		load_live(c, y, n);
	if ((n = ydoc_get(y, root, "state_dir")))
		set_str(y, n, "state_dir", &c->state_dir, base);
	if ((n = ydoc_get(y, root, "status_interval")))
		load_interval(c, y, n);
out:
	ydoc_free(y);
	free(copy);
	if (diag_errors(d) > before) {
		nconf_free(c);
		return NULL;
	}
	return c;
}

void nconf_free(struct nconf *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->broker);
	free(c->host);
	free(c->username);
	if (c->password) {
		/* Do not leave the broker password in freed heap memory. */
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->ca_file);
	free(c->device);
	free(c->mixer);
	free(c->gpiochip);
	free(c->state_dir);
	free(c);
}
