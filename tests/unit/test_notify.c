/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_notify.c -- the service manager's notify datagrams: path and abstract
 * sockets, nothing when not asked, bad addresses, watchdog rate */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "notify.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A datagram socket bound to NAME (a path, or "@name" abstract), as a
 * service manager listens. */
static int listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)), 0);
	return fd;
}

/* The next datagram within MS, or "" when none came. */
static const char *next_msg(int fd, int ms)
{
	static char buf[256];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, ms) == 1) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		assert_true(n >= 0);
		buf[n] = '\0';
	}
	return buf;
}

static void test_path_socket(void **state)
{
	char dir[] = "/tmp/cx-notify.XXXXXX", path[64];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(cx_notify("READY=1"), 1);
	assert_string_equal(next_msg(fd, 1000), "READY=1");
	assert_int_equal(cx_notify("STOPPING=1"), 1);
	assert_string_equal(next_msg(fd, 1000), "STOPPING=1");
	close(fd);
	unlink(path);
	/* The manager went away: an error, not a crash or a hang. */
	assert_true(cx_notify("READY=1") < 0);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state)
{
	char name[64];
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "@cx-notify-test-%ld", (long)getpid());
	fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(cx_notify("READY=1"), 1);
	assert_string_equal(next_msg(fd, 1000), "READY=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_not_asked(void **state)
{
	char longname[200];

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(cx_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(cx_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(cx_notify("READY=1"), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	assert_int_equal(cx_notify("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_rate(void **state)
{
	char name[64];
	int fd, n = 0;

	(void)state;
	snprintf(name, sizeof(name), "@cx-notify-wd-%ld", (long)getpid());
	fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	/* A busy loop turns a thousand times; the manager hears it once. */
	for (int i = 0; i < 1000; i++)
		cx_notify_watchdog();
	while (*next_msg(fd, 100))
		n++;
	assert_int_equal(n, 1);
	/* A second later it is due again. */
	sleep(1);
	cx_notify_watchdog();
	assert_string_equal(next_msg(fd, 1000), "WATCHDOG=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_not_asked),
		cmocka_unit_test(test_watchdog_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
