/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify.c -- the service manager's notify protocol, without libsystemd
 *
 * The protocol is a datagram of "KEY=VALUE" lines to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace).
 * Doing it here keeps libsystemd and the five compression and crypto
 * libraries it pulls in out of the node's memory: about 1 MB of RSS on a
 * pole. */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cxtime.h"

int cx_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	socklen_t salen;
	ssize_t n;
	int fd, err;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract: no terminating NUL counts */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	err = n < 0 ? -errno : 1;
	close(fd);
	return err;
}

void cx_notify_watchdog(void)
{
	static int64_t last_us;
	int64_t now = cx_mono_us();

	if (last_us && now - last_us < 1000000)
		return;
	last_us = now;
	cx_notify("WATCHDOG=1");
}
