/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_provision.c -- `cunxiang provision`: TLS, broker accounts, ACL and pole bundles */
#include "config.h"

#include "asset.h"
#include "cconf.h"
#include "commands.h"
#include "cxtime.h"
#include "enrol.h"
#include "envelope.h"
#include "fileio.h"
#include "mqpw.h"
#include "pki.h"
#include "schedule.h"
#include "store.h"
#include "wire.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG            "cunxiang provision"
#define BROKER_PORT     8883
#define CONTROLLER_USER "controller"
#define BROKER_USER     "mosquitto"     /* Debian's broker drops root for this user */
#define PASSWORD_MAX    4096            /* bytes of a password file */
#define PASSWD_MAX      (64u << 20)     /* bytes of the broker's password file */
#define HOSTS_MAX       (PKI_SAN_MAX - 2)

/* A growing text. */
struct text {
	char *s;
	size_t len, cap;
	bool oom;
};

/* A password file line "USER:HASH", split in place. */
struct pwline {
	const char *user, *hash;
};

struct prov {
	/* options */
	const char *config, *out, *reload;
	const char *hosts[HOSTS_MAX];
	size_t nhosts;

	/* inputs */
	struct cconf *cf;
	struct schedule *sch;
	const char **nodes;             /* the fleet's ids, sorted */
	size_t nnodes;
	char trusted[ENV_PK_B64_LEN + 1]; /* the controller's public key */

	/* what is made */
	char dir[PATH_MAX];             /* DIR, absolute */
	struct pki_ca *ca;
	char **sans;
	size_t nsans;
	char url[PKI_SAN_LEN + 32];     /* mqtts://HOST:8883 */
	char *ctl_password;
	char **passwords;               /* of NODES, in their order */
	struct store *st;

	/* what happened, for the summary */
	bool ca_created;
	enum pki_server_state server;
	const char *server_why;
	size_t fresh, kept, revoked, conflicts;
	bool passwd_changed, acl_changed;
	bool handed;                    /* broker files given to BROKER_USER */
	pid_t reloaded;
};

static void provision_help(FILE *f)
{
	fprintf(f, "Usage: cunxiang provision -c controller.yaml -o DIR [--broker-host NAME]...\n"
		   "                          [--reload PIDFILE]\n\n"
		   "Everything the township's broker needs for TLS and an account of its own for\n"
		   "every pole, from the fleet in controller.yaml's schedules: a CA, the broker's\n"
		   "certificate, mosquitto's password file, ACL and configuration, the\n"
		   "controller's password, and for each pole a bundle (node.yaml, node.pass,\n"
		   "node.key, ca.crt) whose key is enrolled as `cunxiang enrol` does. Run it again\n"
		   "after every change to fleet.yaml: what exists is kept (nothing changes when\n"
		   "the fleet did not), a new pole gets its credentials, and a pole that left the\n"
		   "fleet loses its broker account and rights, its key is retired and its bundle\n"
		   "moved to DIR/revoked/. Secrets are written mode 0600 and never printed.\n\n"
		   "  -c --config FILE        controller configuration (default\n"
		   "                          /etc/cunxiang/controller.yaml)\n"
		   "  -o --output DIR         where everything goes (created if missing)\n"
		   "     --broker-host NAME   a DNS name or IP address poles reach the broker at;\n"
		   "                          repeat for more (the first goes into node.yaml);\n"
		   "                          needed the first time, later runs keep the names of\n"
		   "                          the broker's certificate; 127.0.0.1 and localhost\n"
		   "                          are always added\n"
		   "     --reload PIDFILE     then send the broker whose pid PIDFILE holds SIGHUP:\n"
		   "                          it reads the password file and ACL again and\n"
		   "                          disconnects poles that lost their account\n"
		   "  -h --help               show this help\n"
		   "     --version            show the version\n\n"
		   "See cunxiang(1).\n");
}

/* ---- small helpers ---- */

static void tprintf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->oom)
		return;
	for (;;) {
		size_t room = t->cap - t->len;

		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->oom = true;
			return;
		}
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
		char *s = realloc(t->s, cap);

		if (!s) {
			t->oom = true;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
}

static void text_free(struct text *t)
{
	if (t->s)
		sodium_memzero(t->s, t->cap);
	free(t->s);
}

static void secret_free(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

/* Print "cunxiang provision: WHAT: REASON" for the errno a call just set;
 * \retval -that errno */
static int sys_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sys_fail(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	return -e;
}

/* DIR/ and the rest into OUT (PATH_MAX). \retval 0 / -ENAMETOOLONG (said) */
static int path_of(const struct prov *p, char out[PATH_MAX], const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int path_of(const struct prov *p, char out[PATH_MAX], const char *fmt, ...)
{
	size_t n = strlen(p->dir);
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = n + 1 < PATH_MAX ? vsnprintf(out + n + 1, PATH_MAX - n - 1, fmt, ap) : -1;
	va_end(ap);
	if (k < 0 || (size_t)k >= PATH_MAX - n - 1) {
		fprintf(stderr, "%s: a path under %s is too long\n", PROG, p->dir);
		return -ENAMETOOLONG;
	}
	memcpy(out, p->dir, n);
	out[n] = '/';
	return 0;
}

/* PATH is a directory of MODE (made, or its mode set). \retval 0 / -errno (said) */
static int ensure_dir(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0) /* and chmod: whatever the umask */
		return chmod(path, mode) < 0 ? sys_fail("cannot chmod %s", path) : 0;
	if (errno != EEXIST || stat(path, &st) < 0)
		return sys_fail("cannot create %s", path);
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: %s is not a directory\n", PROG, path);
		return -ENOTDIR;
	}
	if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0)
		return sys_fail("cannot chmod %s", path);
	return 0;
}

/* PATH holds LEN bytes of DATA with MODE afterwards; written (atomically)
 * only when its bytes differ. *CHANGED (may be NULL) says whether they did.
 * \retval 0 / -errno (said) */
static int put_file(const char *path, const void *data, size_t len, mode_t mode, bool *changed)
{
	struct stat st;
	char *old = NULL;
	size_t oldlen = 0;
	int r = fio_read_all(path, len, &old, &oldlen);
	bool same = r == 0 && oldlen == len && !memcmp(old, data, len);

	if (old) {
		sodium_memzero(old, oldlen);
		free(old);
	}
	if (r < 0 && r != -ENOENT && r != -EFBIG) {
		fprintf(stderr, "%s: cannot read %s: %s\n", PROG, path, strerror(-r));
		return r;
	}
	if (changed)
		*changed = !same;
	if (!same && (r = fio_write_atomic(path, data, len, mode)) < 0) {
		fprintf(stderr, "%s: cannot write %s: %s\n", PROG, path, strerror(-r));
		return r;
	}
	if (stat(path, &st) == 0 && (st.st_mode & 07777) != mode && chmod(path, mode) < 0)
		return sys_fail("cannot chmod %s", path);
	return 0;
}

static int put_text(const char *path, struct text *t, mode_t mode, bool *changed)
{
	if (t->oom) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return -ENOMEM;
	}
	return put_file(path, t->s ? t->s : "", t->len, mode, changed);
}

/* The password in PATH (one line), or a new random one written there
 * (mode 0600) when PATH does not exist. *OUT is malloc'ed; secret_free().
 * \retval 0 / 1 made / -errno (said) */
static int password_of(const char *path, char **out)
{
	char pw[MQPW_PASSWORD_LEN + 2], *buf = NULL;
	size_t len;
	int r = fio_read_all(path, PASSWORD_MAX, &buf, &len);

	if (r == -ENOENT) {
		mqpw_random(pw);
		strcat(pw, "\n");
		r = put_file(path, pw, strlen(pw), 0600, NULL);
		pw[MQPW_PASSWORD_LEN] = '\0';
		*out = r < 0 ? NULL : strdup(pw);
		sodium_memzero(pw, sizeof(pw));
		if (r < 0)
			return r;
		return *out ? 1 : -ENOMEM;
	}
	if (r < 0) {
		fprintf(stderr, "%s: cannot read %s: %s\n", PROG, path,
			r == -EFBIG ? "larger than 4096 bytes" : strerror(-r));
		return r;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0 || strlen(buf) != len || strpbrk(buf, "\r\n")) {
		fprintf(stderr, "%s: %s must hold the password on one line (delete it to get "
			"a new one)\n", PROG, path);
		r = -EINVAL;
	} else if (chmod(path, 0600) < 0) {
		r = sys_fail("cannot chmod %s", path);
	}
	if (r < 0) {
		sodium_memzero(buf, len);
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool in_fleet(const struct prov *p, const char *id)
{
	return p->nnodes && bsearch(&id, p->nodes, p->nnodes, sizeof(*p->nodes), cmp_str);
}

/* ---- inputs ---- */

static int parse_args(struct prov *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "broker-host", required_argument, NULL, 'H' },
		{ "reload", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	p->config = "/etc/cunxiang/controller.yaml";
	while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': p->config = optarg; break;
		case 'o': p->out = optarg; break;
		case 'R': p->reload = optarg; break;
		case 'H':
			if (p->nhosts == HOSTS_MAX) {
				fprintf(stderr, "%s: at most %d --broker-host\n", PROG, HOSTS_MAX);
				return CX_EXIT_USAGE;
			}
			p->hosts[p->nhosts++] = optarg;
			break;
		case 'h': provision_help(stdout); return -1;
		case 'V': printf("cunxiang %s\n", CX_VERSION); return -1;
		default: provision_help(stderr); return CX_EXIT_USAGE;
		}
	}
	if (!p->out || optind != argc) {
		provision_help(stderr);
		return CX_EXIT_USAGE;
	}
	return 0;
}

/* The fleet's node ids, sorted. A fleet with errors is refused: a pole
 * missing from a half-read fleet would be revoked. */
static int load_fleet(struct prov *p)
{
	struct diag *d = diag_new();
	int r = -EINVAL;

	if (!d || !(p->sch = schedule_load(p->cf->schedules, d))) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		goto out;
	}
	if (diag_errors(d)) {
		diag_print(d, stderr);
		fprintf(stderr, "%s: %s has errors (`cunxiang check` shows them); provision revokes "
			"poles that are not in the fleet, so it runs only on a schedules directory "
			"without errors\n", PROG, p->cf->schedules);
		goto out;
	}
	p->nnodes = schedule_node_count(p->sch);
	p->nodes = calloc(p->nnodes ? p->nnodes : 1, sizeof(*p->nodes));
	p->passwords = calloc(p->nnodes ? p->nnodes : 1, sizeof(*p->passwords));
	if (!p->nodes || !p->passwords) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		goto out;
	}
	for (size_t i = 0; i < p->nnodes; i++)
		p->nodes[i] = schedule_node(p->sch, i)->id;
	qsort(p->nodes, p->nnodes, sizeof(*p->nodes), cmp_str);
	if (in_fleet(p, CONTROLLER_USER)) {
		fprintf(stderr, "%s: %s/fleet.yaml: a node may not be called '" CONTROLLER_USER
			"': that is the controller's user on the broker\n", PROG, p->cf->schedules);
		goto out;
	}
	r = 0;
out:
	diag_free(d);
	return r;
}

static int load_inputs(struct prov *p)
{
	unsigned char sk[ENV_SK_BYTES];
	struct env_key pub;
	struct diag *d = diag_new();
	int r;

	p->cf = d ? cconf_load(p->config, d) : NULL;
	if (!p->cf) {
		diag_print(d, stderr);
		diag_free(d);
		return -EINVAL;
	}
	diag_free(d);
	r = env_secret_load(p->cf->signing_key, sk, &pub);
	sodium_memzero(sk, sizeof(sk));
	if (r < 0) {
		fprintf(stderr, "%s: cannot load the signing key %s: %s\n", PROG,
			p->cf->signing_key, r == -EINVAL ? "not a key file" : strerror(-r));
		return r;
	}
	env_key_to_base64(pub.pk, p->trusted);
	return load_fleet(p);
}

/* ---- the directory ---- */

/* mosquitto's configuration cannot name a path with blanks, and nothing
 * here should carry control characters into files. */
static bool plain_path(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '#')
			return false;
	return true;
}

static int prepare_dir(struct prov *p)
{
	static const struct { const char *name; mode_t mode; } subs[] = {
		{ "ca", 0700 }, { "broker", 0700 }, { "controller", 0700 }, { "poles", 0700 },
	};
	char path[PATH_MAX];
	int r;

	if ((r = fio_mkdir_p(p->out, 0755)) < 0) {
		fprintf(stderr, "%s: cannot create %s: %s\n", PROG, p->out, strerror(-r));
		return r;
	}
	if (!realpath(p->out, p->dir))
		return sys_fail("cannot resolve %s", p->out);
	if (!plain_path(p->dir)) {
		fprintf(stderr, "%s: %s: the broker's configuration names files in it, and "
			"mosquitto cannot read paths with blanks, '#' or control characters\n",
			PROG, p->dir);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if ((r = path_of(p, path, "%s", subs[i].name)) < 0 ||
		    (r = ensure_dir(path, subs[i].mode)) < 0)
			return r;
	return 0;
}

/* ---- CA and broker certificate ---- */

/* mqtts://HOST:8883 of the first name. */
static void broker_url(struct prov *p)
{
	const char *e = p->sans[0], *v = strchr(e, ':');  /* "IP:..." or "DNS:..." */

	v = v ? v + 1 : e;
	if (!strncmp(e, "IP:", 3) && strchr(v, ':'))
		snprintf(p->url, sizeof(p->url), "mqtts://[%s]:%d", v, BROKER_PORT);
	else
		snprintf(p->url, sizeof(p->url), "mqtts://%s:%d", v, BROKER_PORT);
}

/* The names of the broker's certificate: the --broker-host names, then
 * 127.0.0.1 and localhost; without any, the names of the certificate
 * DIR/broker/server.crt there is. */
static int broker_names(struct prov *p)
{
	static const char *const always[] = { "IP:127.0.0.1", "DNS:localhost" };
	char e[PKI_SAN_LEN], crt[PATH_MAX], err[PATH_MAX + 200];
	int r;

	if (p->nhosts == 0) {
		if ((size_t)snprintf(crt, sizeof(crt), "%s/broker/server.crt", p->out) >= sizeof(crt))
			return -ENAMETOOLONG;
		r = access(crt, F_OK) == 0 ? pki_cert_sans(crt, &p->sans, &p->nsans, err,
							   sizeof(err)) : -ENOENT;
		if (r == -ENOENT || (r == 0 && p->nsans == 0)) {
			fprintf(stderr, "%s: --broker-host NAME is needed the first time: the DNS "
				"name or IP address the poles reach the broker at\n", PROG);
			return -EINVAL;
		}
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", PROG, err);
			return r;
		}
		broker_url(p);
		return 0;
	}
	if (!(p->sans = calloc(p->nhosts + 2, sizeof(*p->sans))))
		return -ENOMEM;
	for (size_t i = 0; i < p->nhosts + 2; i++) {
		bool dup = false;

		if (i < p->nhosts && pki_san_entry(p->hosts[i], e) < 0) {
			fprintf(stderr, "%s: --broker-host '%s' is neither a DNS name nor an IP "
				"address\n", PROG, p->hosts[i]);
			return -EINVAL;
		}
		if (i >= p->nhosts)
			snprintf(e, sizeof(e), "%s", always[i - p->nhosts]);
		for (size_t j = 0; j < p->nsans && !dup; j++)
			dup = !strcmp(p->sans[j], e);
		if (!dup && !(p->sans[p->nsans++] = strdup(e)))
			return -ENOMEM;
	}
	broker_url(p);
	return 0;
}

static int make_pki(struct prov *p)
{
	char key[PATH_MAX], crt[PATH_MAX], name[64], err[PATH_MAX * 2 + 200];
	int r;

	if ((r = path_of(p, key, "ca/ca.key")) < 0 || (r = path_of(p, crt, "ca/ca.crt")) < 0)
		return r;
	snprintf(name, sizeof(name), "cunxiang CA %s", schedule_township(p->sch)->area_code);
	if ((r = pki_ca_open(key, crt, name, &p->ca, &p->ca_created, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return r;
	}
	if ((r = path_of(p, key, "broker/server.key")) < 0 ||
	    (r = path_of(p, crt, "broker/server.crt")) < 0)
		return r;
	r = pki_server_ensure(p->ca, key, crt, p->sans, p->nsans, &p->server, &p->server_why,
			      err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "%s: %s\n", PROG, err);
	return r;
}

/* DIR/REL gets a copy of the CA certificate. */
static int put_ca(struct prov *p, const char *rel)
{
	char path[PATH_MAX];
	const char *pem;
	size_t len;
	int r;

	if ((r = path_of(p, path, "%s", rel)) < 0)
		return r;
	pem = pki_ca_pem(p->ca, &len);
	return put_file(path, pem, len, 0644, NULL);
}

/* ---- the controller ---- */

static int make_controller(struct prov *p)
{
	char path[PATH_MAX];
	struct text t = { 0 };
	int r;

	if ((r = path_of(p, path, "controller/password")) < 0 ||
	    (r = password_of(path, &p->ctl_password)) < 0 ||
	    (r = put_ca(p, "controller/ca.crt")) < 0 ||
	    (r = path_of(p, path, "controller/README")) < 0)
		return r;
	tprintf(&t, "The controller's broker account, written by `cunxiang provision`.\n\n"
		    "Install the password and the CA certificate where `cunxiang serve` (the\n"
		    "user cunxiang) can read them:\n\n"
		    "  install -o cunxiang -m 0600 %s/controller/password /etc/cunxiang/controller.pass\n"
		    "  install -m 0644 %s/controller/ca.crt /etc/cunxiang/ca.crt\n\n"
		    "and set in /etc/cunxiang/controller.yaml (relative paths are relative to it):\n\n"
		    "  broker: %s        # on the broker's host: mqtts://localhost:%d\n"
		    "  username: " CONTROLLER_USER "\n"
		    "  password_file: controller.pass\n"
		    "  ca_file: ca.crt\n",
		p->dir, p->dir, p->url, BROKER_PORT);
	r = put_text(path, &t, 0644, NULL);
	text_free(&t);
	return r;
}

/* ---- pole bundles ---- */

static void node_yaml(struct prov *p, struct text *t, const char *node)
{
	tprintf(t, "# cunxiang-node configuration of pole %s, written by `cunxiang provision`\n"
		   "# (the next run writes it again). Install it as /etc/cunxiang/node.yaml with\n"
		   "# node.pass and ca.crt beside it, and node.key as /var/lib/cunxiang-node/node.key\n"
		   "# (see poles/README where it was provisioned).\n"
		   "id: %s\n"
		   "broker: %s\n"
		   "username: %s\n"
		   "password_file: node.pass\n"
		   "ca_file: ca.crt\n"
		   "trusted_keys: [\"%s\"]\n"
		   "audio: { device: default, mixer: Master, buffer_ms: 100 }\n"
		   "state_dir: /var/lib/cunxiang-node\n",
		node, node, p->url, node, p->trusted);
}

/* Enrol the bundle's key PUB for NODE; a different key in force is a
 * conflict for a person to settle, not something to overwrite. */
static int enrol_pole(struct prov *p, const char *node, const struct env_key *pub)
{
	struct enrol_result res;
	char b64[ENV_PK_B64_LEN + 1];
	int r = enrol_key(p->st, PROG, "", node, pub, false, cx_now_ms(), &res);

	if (r == -EEXIST) {
		env_key_to_base64(pub->pk, b64);
		fprintf(stderr, "%s: %s signs with the enrolled key %s, not with its bundle's key "
			"%s (%s/poles/%s/node.key): put the pole's own node.key in the bundle, or "
			"enrol the bundle's with `cunxiang enrol -c %s --replace %s %s`\n", PROG,
			node, res.before.key.id, pub->id, p->dir, node, p->config, node, b64);
		p->conflicts++;
		return 0;
	}
	if (r == 0 && res.outcome == ENROL_NEW)
		enrol_print(stdout, node, &res);
	return r;
}

static int make_bundle(struct prov *p, size_t i)
{
	const char *node = p->nodes[i];
	unsigned char sk[ENV_SK_BYTES];
	char dir[PATH_MAX], path[PATH_MAX];
	struct text t = { 0 };
	struct env_key pub;
	int created, made, r;

	if ((r = path_of(p, dir, "poles/%s", node)) < 0 || (r = ensure_dir(dir, 0700)) < 0 ||
	    (r = path_of(p, path, "poles/%s/node.key", node)) < 0)
		return r;
	r = env_secret_load_or_create(path, sk, &pub, &created);
	sodium_memzero(sk, sizeof(sk));
	if (r < 0) {
		fprintf(stderr, "%s: cannot %s %s: %s\n", PROG, created ? "create" : "load", path,
			r == -EINVAL ? "not a key file" : strerror(-r));
		return r;
	}
	if ((r = path_of(p, path, "poles/%s/node.pass", node)) < 0)
		return r;
	if ((made = password_of(path, &p->passwords[i])) < 0)
		return made;
	if (created || made)
		p->fresh++;
	else
		p->kept++;
	snprintf(path, sizeof(path), "poles/%s/ca.crt", node);
	if ((r = put_ca(p, path)) < 0 || (r = path_of(p, path, "poles/%s/node.yaml", node)) < 0)
		return r;
	node_yaml(p, &t, node);
	r = put_text(path, &t, 0644, NULL);
	text_free(&t);
	return r < 0 ? r : enrol_pole(p, node, &pub);
}

/* ---- poles that left ---- */

/* Move DIR/poles/NODE to DIR/revoked/NODE (NODE.1, .2 ... when taken). */
static int move_bundle(struct prov *p, const char *node)
{
	char from[PATH_MAX], to[PATH_MAX];
	int r;

	if ((r = path_of(p, to, "revoked")) < 0 || (r = ensure_dir(to, 0700)) < 0 ||
	    (r = path_of(p, from, "poles/%s", node)) < 0 ||
	    (r = path_of(p, to, "revoked/%s", node)) < 0)
		return r;
	for (int k = 1; access(to, F_OK) == 0; k++)
		if ((r = path_of(p, to, "revoked/%s.%d", node, k)) < 0)
			return r;
	if (rename(from, to) < 0)
		return sys_fail("cannot move %s to %s", from, to);
	fio_fsync_dir_of(from);
	fio_fsync_dir_of(to);
	printf("%s: not in the fleet: key retired, bundle moved to %s\n", node, to);
	p->revoked++;
	return 0;
}

static int revoke_one(struct prov *p, const char *node)
{
	char path[PATH_MAX];
	struct stat st;
	int r;

	if ((r = path_of(p, path, "poles/%s", node)) < 0)
		return r;
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	/* The key first: a run that stops here retires it again next time. */
	r = enrol_retire(p->st, PROG, node, cx_now_ms());
	if (r < 0 && r != -ENOENT)
		return r;
	return move_bundle(p, node);
}

static int revoke_gone(struct prov *p)
{
	char path[PATH_MAX];
	struct dirent *e;
	char **gone = NULL;
	size_t n = 0;
	DIR *d;
	int r = 0;

	if ((r = path_of(p, path, "poles")) < 0)
		return r;
	if (!(d = opendir(path)))
		return sys_fail("cannot read %s", path);
	while ((e = readdir(d))) {
		char **v;

		if (!wire_node_id_ok(e->d_name) || in_fleet(p, e->d_name))
			continue;
		if (!(v = realloc(gone, (n + 1) * sizeof(*gone))) || !(v[n] = strdup(e->d_name))) {
			gone = v ? v : gone;
			r = -ENOMEM;
			fprintf(stderr, "%s: out of memory\n", PROG);
			break;
		}
		gone = v;
		n++;
	}
	closedir(d);
	if (r == 0 && n)
		qsort(gone, n, sizeof(*gone), cmp_str);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = revoke_one(p, gone[i]);
	for (size_t i = 0; i < n; i++)
		free(gone[i]);
	free(gone);
	return r;
}

/* ---- the broker's files ---- */

static int cmp_pwline(const void *a, const void *b)
{
	return strcmp(((const struct pwline *)a)->user, ((const struct pwline *)b)->user);
}

/* The lines of the password file PATH, split in *BUF, sorted by user. */
static int passwd_load(const char *path, char **buf, struct pwline **lines, size_t *n)
{
	size_t len, cap = 0;
	char *save = NULL, *line;
	int r = fio_read_all(path, PASSWD_MAX, buf, &len);

	*lines = NULL;
	*n = 0;
	if (r == -ENOENT) {
		*buf = NULL;
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "%s: cannot read %s: %s\n", PROG, path, strerror(-r));
		return r;
	}
	for (line = strtok_r(*buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		if (!colon || line[0] == '#')
			continue;
		*colon = '\0';
		if (*n == cap) {
			struct pwline *v = realloc(*lines, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!v)
				return -ENOMEM;
			*lines = v;
		}
		(*lines)[(*n)++] = (struct pwline){ line, colon + 1 };
	}
	if (*n)
		qsort(*lines, *n, sizeof(**lines), cmp_pwline);
	return 0;
}

/* "USER:HASH\n": the old line when it still verifies against PASSWORD,
 * else a new hash. */
static int passwd_line(struct text *t, const char *user, const char *password,
		       const struct pwline *old, size_t nold)
{
	struct pwline key = { user, NULL };
	const struct pwline *l = nold ? bsearch(&key, old, nold, sizeof(*old), cmp_pwline) : NULL;
	char hash[MQPW_HASH_LEN];

	if (l && mqpw_verify(l->hash, password) == 0) {
		tprintf(t, "%s:%s\n", user, l->hash);
		return 0;
	}
	if (mqpw_hash(password, hash) < 0) {
		fprintf(stderr, "%s: cannot hash a password (libcrypto failed)\n", PROG);
		return -EIO;
	}
	tprintf(t, "%s:%s\n", user, hash);
	return 0;
}

static int write_passwd(struct prov *p)
{
	char path[PATH_MAX], *buf = NULL;
	struct pwline *old = NULL;
	struct text t = { 0 };
	size_t nold = 0;
	int r;

	if ((r = path_of(p, path, "broker/passwd")) < 0 ||
	    (r = passwd_load(path, &buf, &old, &nold)) < 0)
		goto out;
	r = passwd_line(&t, CONTROLLER_USER, p->ctl_password, old, nold);
	for (size_t i = 0; r == 0 && i < p->nnodes; i++)
		r = passwd_line(&t, p->nodes[i], p->passwords[i], old, nold);
	if (r == 0)
		r = put_text(path, &t, 0600, &p->passwd_changed);
out:
	text_free(&t);
	free(old);
	if (buf)
		secret_free(buf);
	return r;
}

/* What a pole may read and write, spelled out for one node (no patterns:
 * a user not in the ACL has no rights at all). */
static const struct {
	const char *access, *before;
	bool node;
	const char *after;
} node_rights[] = {
	{ "read", "cx/v1/plan/", true, "" },
	{ "read", "cx/v1/asset/+", false, "" },
	{ "read", "cx/v1/alert", false, "" },
	{ "read", "cx/v1/live/+", false, "" },
	{ "read", "cx/v1/keys", false, "" },
	{ "read", "cx/v1/cmd/", true, "" },
	{ "read", "cx/v1/ack/", true, "" },
	{ "read", "cx/v1/time/", true, "/pong" },
	{ "write", "cx/v1/receipt/", true, "" },
	{ "write", "cx/v1/status/", true, "" },
	{ "write", "cx/v1/time/", true, "/ping" },
	{ "write", "cx/v1/want/", true, "" },
};

static int write_acl(struct prov *p)
{
	char path[PATH_MAX];
	struct text t = { 0 };
	int r;

	if ((r = path_of(p, path, "broker/acl")) < 0)
		return r;
	tprintf(&t, "# mosquitto ACL of township %s, written by `cunxiang provision` from the\n"
		    "# fleet; the next run writes it again. Each pole's user is its node id and\n"
		    "# may read what is addressed to it and write only its own receipts, status,\n"
		    "# pings and wants. A user not named here has no rights at all.\n\n"
		    "user " CONTROLLER_USER "\ntopic readwrite cx/v1/#\n",
		schedule_township(p->sch)->area_code);
	for (size_t i = 0; i < p->nnodes; i++) {
		tprintf(&t, "\nuser %s\n", p->nodes[i]);
		for (size_t k = 0; k < sizeof(node_rights) / sizeof(node_rights[0]); k++)
			tprintf(&t, "topic %s %s%s%s\n", node_rights[k].access, node_rights[k].before,
				node_rights[k].node ? p->nodes[i] : "", node_rights[k].after);
	}
	r = put_text(path, &t, 0600, &p->acl_changed);
	text_free(&t);
	return r;
}

/* The broker's queue for a client that has not read its messages yet,
 * in messages: what the controller must be able to fall behind by. */
#define QUEUE_PER_POLE 16
#define QUEUE_MIN 10000

static int write_conf(struct prov *p)
{
	char path[PATH_MAX];
	struct text t = { 0 };
	const char *d = p->dir;
	size_t queue = p->nnodes * QUEUE_PER_POLE > QUEUE_MIN ? p->nnodes * QUEUE_PER_POLE : QUEUE_MIN;
	int r;

	if ((r = path_of(p, path, "broker/mosquitto.conf")) < 0)
		return r;
	tprintf(&t, "# mosquitto configuration of township %s, written by `cunxiang provision`;\n"
		    "# the next run writes it again.\n#\n"
		    "# On Debian, link it as /etc/mosquitto/conf.d/cunxiang.conf: Debian's\n"
		    "# mosquitto.conf sets pid_file, persistence_location and log_dest already\n"
		    "# (mosquitto refuses them twice). To run it on its own, add\n"
		    "# `persistence_location /var/lib/mosquitto/`. After a later provision run,\n"
		    "# `systemctl reload mosquitto` (SIGHUP) reads the password file, the ACL\n"
		    "# and the certificate again and disconnects poles that lost their account.\n\n"
		    "per_listener_settings false\n"
		    "allow_anonymous false\n"
		    "password_file %s/broker/passwd\n"
		    "acl_file %s/broker/acl\n\n"
		    "# TLS only: nothing listens without it. For another port, change %d here\n"
		    "# and in the broker URL of every node.yaml and of controller.yaml.\n"
		    "listener %d\n"
		    "cafile %s/broker/ca.crt\n"
		    "certfile %s/broker/server.crt\n"
		    "keyfile %s/broker/server.key\n"
		    "tls_version tlsv1.2\n\n"
		    "# Plans and assets are retained and must survive a broker restart; queued\n"
		    "# QoS 1 messages for offline poles too.\n"
		    "persistence true\n"
		    "autosave_interval 60\n"
		    "persistent_client_expiration 14d\n"
		    "# Per client, and only the controller's queue grows long: after an alert\n"
		    "# every pole answers at once (accepted, started, completed, its status),\n"
		    "# and past this limit the broker drops what the controller has not read\n"
		    "# yet. %d a pole (%zu poles), %d at least.\n"
		    "max_queued_messages %zu\n"
		    "# The largest asset (%u MiB) and 1 MiB of headroom.\n"
		    "message_size_limit %u\n"
		    "max_inflight_messages 100\n"
		    "# Small messages (alerts, clock pongs, 20 ms live frames) go out at once\n"
		    "# instead of waiting for the previous one's ACK (Nagle).\n"
		    "set_tcp_nodelay true\n",
		schedule_township(p->sch)->area_code, d, d, BROKER_PORT, BROKER_PORT, d, d, d,
		QUEUE_PER_POLE, p->nnodes, QUEUE_MIN, queue, ASSET_MAX_BYTES >> 20,
		ASSET_MAX_BYTES + (1u << 20));
	r = put_text(path, &t, 0644, NULL);
	text_free(&t);
	return r;
}

static int write_poles_readme(struct prov *p)
{
	char path[PATH_MAX];
	struct text t = { 0 };
	int r;

	if ((r = path_of(p, path, "poles/README")) < 0)
		return r;
	tprintf(&t, "One bundle per pole of the fleet, written by `cunxiang provision`. Pole\n"
		    "NODE's key (node.key) is enrolled with the controller already, and its\n"
		    "password (node.pass) is in the broker's password file. On the pole, as root:\n\n"
		    "  install -d -m 0755 /etc/cunxiang\n"
		    "  install -m 0644 NODE/node.yaml NODE/ca.crt /etc/cunxiang/\n"
		    "  install -o cunxiang-node -m 0600 NODE/node.pass /etc/cunxiang/\n"
		    "  install -d -o cunxiang-node -m 0700 /var/lib/cunxiang-node\n"
		    "  install -o cunxiang-node -m 0600 NODE/node.key /var/lib/cunxiang-node/node.key\n"
		    "  systemctl enable --now cunxiang-node\n\n"
		    "Copy node.key before the first start: a pole without one makes a key of its\n"
		    "own, which the controller does not know. node.yaml names the broker as %s;\n"
		    "adapt its audio: to the pole's sound card.\n",
		p->url);
	r = put_text(path, &t, 0644, NULL);
	text_free(&t);
	return r;
}

/* Debian's mosquitto reads its files as BROKER_USER (it drops root
 * before loading them): when run as root, give it the broker's directory. */
static int hand_to_broker(struct prov *p)
{
	static const char *const files[] = {
		"broker", "broker/passwd", "broker/acl", "broker/server.key", "broker/server.crt",
		"broker/ca.crt", "broker/mosquitto.conf",
	};
	struct passwd *pw = geteuid() == 0 ? getpwnam(BROKER_USER) : NULL;
	char path[PATH_MAX];
	int r;

	if (!pw)
		return 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((r = path_of(p, path, "%s", files[i])) < 0)
			return r;
		if (chown(path, pw->pw_uid, pw->pw_gid) < 0)
			return sys_fail("cannot give %s to the user " BROKER_USER, path);
	}
	p->handed = true;
	return 0;
}

static int write_broker(struct prov *p)
{
	int r;

	if ((r = write_passwd(p)) < 0 || (r = write_acl(p)) < 0 ||
	    (r = put_ca(p, "broker/ca.crt")) < 0 || (r = write_conf(p)) < 0 ||
	    (r = write_poles_readme(p)) < 0)
		return r;
	return hand_to_broker(p);
}

/* SIGHUP to the pid in PIDFILE. */
static int reload_broker(struct prov *p)
{
	char *buf = NULL, *end;
	size_t len;
	long pid;
	int r = fio_read_all(p->reload, 64, &buf, &len);

	if (r < 0) {
		fprintf(stderr, "%s: cannot read the broker's pid file %s: %s\n", PROG, p->reload,
			strerror(-r));
		return r;
	}
	errno = 0;
	pid = strtol(buf, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno || end == buf || *end || pid < 2 || pid > INT_MAX) {
		fprintf(stderr, "%s: %s does not hold a process id\n", PROG, p->reload);
		free(buf);
		return -EINVAL;
	}
	free(buf);
	if (kill((pid_t)pid, SIGHUP) < 0)
		return sys_fail("cannot reload the broker (pid %ld from %s)", pid, p->reload);
	p->reloaded = (pid_t)pid;
	return 0;
}

/* ---- summary ---- */

static void summary(struct prov *p)
{
	bool ctl_ok = p->cf->tls && p->cf->username && !strcmp(p->cf->username, CONTROLLER_USER) &&
		      p->cf->password && !strcmp(p->cf->password, p->ctl_password);
	bool broker_changed = p->passwd_changed || p->acl_changed;
	bool reload = broker_changed || p->server == PKI_SERVER_REISSUED;
	int step = 1;

	printf("CA:      %s %s/ca/ca.crt\n", p->ca_created ? "created" : "kept", p->dir);
	printf("broker:  certificate %s for", p->server == PKI_SERVER_KEPT ? "kept" :
	       p->server == PKI_SERVER_ISSUED ? "issued" : "re-issued");
	for (size_t i = 0; i < p->nsans; i++)
		printf("%s %s", i ? "," : "", strchr(p->sans[i], ':') + 1);
	if (p->server_why)
		printf(" (%s)", p->server_why);
	printf("; password file and ACL %s%s\n", broker_changed ? "changed" : "unchanged",
	       p->handed ? "; owned by " BROKER_USER : "");
	printf("poles:   %zu in the fleet: %zu new, %zu kept; %zu revoked\n", p->nnodes, p->fresh,
	       p->kept, p->revoked);
	printf("bundles: %s/poles/NODE/ (node.yaml, node.pass, node.key, ca.crt)\n", p->dir);
	if (p->reloaded)
		printf("reload:  SIGHUP sent to the broker (pid %ld)\n", (long)p->reloaded);
	printf("Next:\n");
	if (p->server == PKI_SERVER_ISSUED)
		printf("  %d. start mosquitto with %s/broker/mosquitto.conf (see the file)\n", step++,
		       p->dir);
	else if (reload && !p->reloaded)
		printf("  %d. reload mosquitto (systemctl reload mosquitto, or --reload PIDFILE): it "
		       "reads the password file, the ACL and its certificate again\n", step++);
	if (!ctl_ok)
		printf("  %d. set the controller's broker account in %s: see %s/controller/README\n",
		       step++, p->config, p->dir);
	if (p->fresh)
		printf("  %d. install the new poles' bundles: see %s/poles/README\n", step++, p->dir);
	if (step == 1)
		printf("  nothing: everything is in place\n");
}

static void prov_free(struct prov *p)
{
	for (size_t i = 0; p->passwords && i < p->nnodes; i++)
		secret_free(p->passwords[i]);
	free(p->passwords);
	free(p->nodes);
	secret_free(p->ctl_password);
	pki_sans_free(p->sans, p->nsans);
	pki_ca_free(p->ca);
	store_close(p->st);
	schedule_free(p->sch);
	cconf_free(p->cf);
}

int cmd_provision(int argc, char **argv)
{
	struct prov p = { 0 };
	int r, rc = CX_EXIT_USER;

	if ((r = parse_args(&p, argc, argv)) != 0)
		return r < 0 ? CX_EXIT_OK : r;
	/* The names first: a mistake in them leaves nothing behind. */
	if (load_inputs(&p) < 0 || broker_names(&p) < 0 || prepare_dir(&p) < 0 ||
	    make_pki(&p) < 0 || make_controller(&p) < 0)
		goto out;
	if (!(p.st = enrol_store_open(p.cf, false, PROG)))
		goto out;
	for (size_t i = 0; i < p.nnodes; i++)
		if (make_bundle(&p, i) < 0)
			goto out;
	if (revoke_gone(&p) < 0 || write_broker(&p) < 0)
		goto out;
	r = p.reload ? reload_broker(&p) : 0;
	summary(&p);
	if (p.conflicts)
		fprintf(stderr, "%s: %zu pole%s signing with another key than its bundle's (above)\n",
			PROG, p.conflicts, p.conflicts == 1 ? "" : "s");
	else if (r == 0)
		rc = CX_EXIT_OK;
out:
	prov_free(&p);
	return rc;
}
