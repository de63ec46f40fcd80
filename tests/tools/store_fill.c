/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store_fill.c -- write a controller store through the store API, for CLI tests */
#include "cxtime.h"
#include "hash.h"
#include "store.h"

#include <jansson.h>
#include <sodium.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Usage: store_fill DB < SCRIPT. One command a line, fields separated by
 * single spaces, JSON taking the rest of the line:
 *   node ID VILLAGE-CODE VILLAGE-NAME HOUSEHOLDS   (collected ...)
 *   fleet                                          (... and stored as the fleet)
 *   status NODE SECONDS-AGO JSON
 *   retained NODE JSON
 *   published NODE ISSUED_MS
 *   receipt NODE JSON                              (prints "ack NODE N")
 *   plan NODE OCC NOTICE START_MS DURATION_MS      (one planned occurrence, added)
 *   alert ID LEVEL CLASS ISSUED_MS TITLE NODE...   (an issued alert and its targets)
 *   begin / commit                                 (one transaction around many lines)
 * Exits 1 at the first command that fails, naming its line.
 *
 * It writes as serve does once a pole's signature verified: each node that
 * sends a status or receipt is enrolled with a key of its own first, and a
 * receipt without "from" gets "from":1, a status without "boot" gets boot 1
 * and the next "n" (0 for offline), so scripts stay short. */

#define MAX_NODES 256

static int enrol(struct store *s, const char *node)
{
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct store_key have;
	struct env_key k;
	int r;

	if (store_key_get(s, node, &have) == 0)
		return 0;
	crypto_sign_keypair(k.pk, sk);
	env_keyid(k.pk, k.id);
	r = store_key_enrol(s, node, &k, false, cx_now_ms(), NULL);
	return r < 0 ? r : 0;
}

/* JSON with KEY set to V when it lacks KEY; *OUT malloc'ed. */
static char *with_default(const char *json, const char *key, json_int_t v, const char *key2,
			  json_int_t v2)
{
	json_t *o = json_loads(json, JSON_PRESERVE_ORDER, NULL);
	char *out;

	if (!json_is_object(o)) {
		json_decref(o);
		return strdup(json);
	}
	if (!json_object_get(o, key))
		json_object_set_new(o, key, json_integer(v));
	if (key2 && !json_object_get(o, key2))
		json_object_set_new(o, key2, json_integer(v2));
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return out;
}

static char *status_text(const char *json)
{
	static json_int_t n;
	json_t *o = json_loads(json, 0, NULL), *st = json_object_get(o, "state");
	bool off = json_is_string(st) && !strcmp(json_string_value(st), "offline");

	json_decref(o);
	return with_default(json, "boot", 1, "n", off ? 0 : ++n);
}

static char *field(char **p)
{
	char *f = *p, *sp;

	if (!f)
		return NULL;
	sp = strchr(f, ' ');
	if (sp) {
		*sp = '\0';
		*p = sp + 1;
	} else {
		*p = NULL;
	}
	return f;
}

int main(int argc, char **argv)
{
	static struct store_fleet_node fleet[MAX_NODES];
	static char *owned[MAX_NODES * 3];
	size_t nfleet = 0, nowned = 0;
	char line[70000], err[600];
	struct store *s;
	int lineno = 0, r = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: store_fill DB < SCRIPT\n");
		return 2;
	}
	s = store_open(argv[1], 0, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "store_fill: %s\n", err);
		return 1;
	}
	while (r >= 0 && fgets(line, sizeof(line), stdin)) {
		char *p = line, *cmd, *node;
		int64_t now = cx_now_ms(), ack;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		cmd = field(&p);
		if (!strcmp(cmd, "node")) {
			char *id = field(&p), *code = field(&p), *name = field(&p), *hh = field(&p);

			if (!hh || nfleet == MAX_NODES) {
				r = -EINVAL;
				break;
			}
			owned[nowned] = strdup(id);
			fleet[nfleet].id = owned[nowned++];
			owned[nowned] = strdup(code);
			fleet[nfleet].village_code = owned[nowned++];
			owned[nowned] = strdup(name);
			fleet[nfleet].village_name = owned[nowned++];
			fleet[nfleet++].households = strtoll(hh, NULL, 10);
			continue;
		}
		if (!strcmp(cmd, "fleet")) {
			r = store_fleet_replace(s, fleet, nfleet);
			continue;
		}
		if (!strcmp(cmd, "begin") || !strcmp(cmd, "commit")) {
			r = !strcmp(cmd, "begin") ? store_begin(s) : store_commit(s);
			continue;
		}
		if (!strcmp(cmd, "alert")) {
			char *id = field(&p), *level = field(&p), *cls = field(&p), *issued = field(&p);
			char *title = field(&p), *targets[MAX_NODES];
			size_t nt = 0;

			while (p && nt < MAX_NODES)
				targets[nt++] = field(&p);
			if (!title) {
				r = -EINVAL;
				break;
			}
			r = store_alert_add(s, &(struct store_alert){ .id = id, .level = atoi(level),
				.alert_class = cls, .issued_ms = strtoll(issued, NULL, 10),
				.start_ms = strtoll(issued, NULL, 10),
				.expires_ms = strtoll(issued, NULL, 10) + 3600000, .title = title,
				.targets_json = "{\"areas\":[],\"tags\":[],\"nodes\":[]}" },
				(const char *const *)targets, nt);
			continue;
		}
		node = field(&p);
		if (!node) {
			r = -EINVAL;
		} else if (!strcmp(cmd, "status")) {
			char *ago = field(&p);

			char *t = p && enrol(s, node) == 0 ? status_text(p) : NULL;

			r = t ? store_status(s, node, t, strlen(t), now - strtoll(ago, NULL, 10) * 1000, false)
			      : -EINVAL;
			free(t);
		} else if (!strcmp(cmd, "retained")) {
			char *t = p && enrol(s, node) == 0 ? status_text(p) : NULL;

			r = t ? store_status(s, node, t, strlen(t), now, true) : -EINVAL;
			free(t);
		} else if (!strcmp(cmd, "published")) {
			char sha[CX_SHA256_HEX];

			if (!p) {
				r = -EINVAL;
			} else {
				cx_sha256_hex(p, strlen(p), sha);
				r = store_published_set(s, node, strtoll(p, NULL, 10), sha, now);
			}
		} else if (!strcmp(cmd, "plan")) {
			char *occ = field(&p), *notice = field(&p), *start = field(&p), *dur = field(&p);

			/* From the end of time: nothing is replaced, the one
			 * occurrence is added. */
			r = dur ? store_plan_replace(s, node, STORE_SEQ_MAX, &(struct store_occ){ .occ = occ,
					.notice = notice, .broadcast = notice,
					.start_ms = strtoll(start, NULL, 10),
					.duration_ms = strtoll(dur, NULL, 10), .priority = 10 }, 1)
				: -EINVAL;
		} else if (!strcmp(cmd, "receipt")) {
			char *t = p && enrol(s, node) == 0 ? with_default(p, "from", 1, NULL, 0) : NULL;

			r = t ? store_receipt(s, node, t, strlen(t), now, &ack) : -EINVAL;
			free(t);
			if (r >= 0)
				printf("ack %s %" PRId64 "\n", node, ack);
		} else {
			r = -EINVAL;
		}
	}
	if (r < 0)
		fprintf(stderr, "store_fill: line %d: %s (%s)\n", lineno, strerror(-r), store_errmsg(s));
	store_close(s);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	return r < 0;
}
