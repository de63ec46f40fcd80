/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pub.c -- signing and publishing controller messages on the broker */
#include "pub.h"

#include "fileio.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pub_init(struct pub *p, const char *key_path, char *err, size_t errlen)
{
	int r = env_secret_load(key_path, p->sk, &p->key);

	if (r < 0)
		snprintf(err, errlen, "cannot load signing key %s: %s", key_path,
			 r == -EINVAL ? "not a key written by `cunxiang keygen`" : strerror(-r));
	return r;
}

void pub_wipe(struct pub *p)
{
	sodium_memzero(p->sk, sizeof(p->sk));
}

int pub_signed_text(struct pub *p, const char *topic, const char *json, size_t len, int qos,
		    bool retain)
{
	char *msg;
	size_t n;
	int r = env_sign(json, len, p->sk, &msg, &n);

	if (r < 0)
		return r;
	r = mq_publish(p->mq, topic, msg, n, qos, retain);
	free(msg);
	return r;
}

int pub_signed(struct pub *p, const char *topic, json_t *obj, int qos, bool retain)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int r;

	if (!s)
		return -ENOMEM;
	r = pub_signed_text(p, topic, s, strlen(s), qos, retain);
	free(s);
	return r;
}

int pub_file(struct pub *p, const char *topic, const char *path, size_t max)
{
	char *buf;
	size_t len;
	int r = fio_read_all(path, max, &buf, &len);

	if (r < 0)
		return r;
	r = mq_publish(p->mq, topic, buf, len, 1, true);
	free(buf);
	return r;
}
