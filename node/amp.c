/* SPDX-License-Identifier: GPL-2.0-or-later */
/* amp.c -- the amplifier's power line: a GPIO output driven while playing */
#include "amp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cxtime.h"
#include "log.h"

void amp_init(struct amp *a, const char *chip, int line)
{
	memset(a, 0, sizeof(*a));
	a->chip = chip;
	a->line = line;
	a->fd = -1;
}

static int amp_request(struct amp *a)
{
	struct gpio_v2_line_request req;
	char path[128];
	int fd, e;

	if (a->chip[0] == '/')
		snprintf(path, sizeof(path), "%s", a->chip);
	else
		snprintf(path, sizeof(path), "/dev/%s", a->chip);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(a->reason, sizeof(a->reason), "%.80s: %s", path, strerror(e));
		return -e;
	}
	memset(&req, 0, sizeof(req));
	req.offsets[0] = (uint32_t)a->line;
	req.num_lines = 1;
	snprintf(req.consumer, sizeof(req.consumer), "cunxiang-node");
	req.config.flags = GPIO_V2_LINE_FLAG_OUTPUT;
	req.config.num_attrs = 1;
	req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
	req.config.attrs[0].attr.values = 0;
	req.config.attrs[0].mask = 1;
	if (ioctl(fd, GPIO_V2_GET_LINE_IOCTL, &req) < 0) {
		e = errno;
		snprintf(a->reason, sizeof(a->reason), "%.80s line %d: %s", path,
			 a->line, strerror(e));
		close(fd);
		return -e;
	}
	close(fd);
	a->fd = req.fd;
	return 0;
}

void amp_set(struct amp *a, bool on)
{
	struct gpio_v2_line_values v;

	if (!a->chip || a->on == on)
		return;
	if (a->fd < 0) {
		if (!on || a->tried)
			return;
		a->tried = true;
		if (amp_request(a) < 0) {
			if (!a->fault)
				log_warn("player: amplifier %s; playing without it", a->reason);
			a->fault = true;
			return;
		}
		if (a->fault)
			log_info("player: amplifier line available again");
		a->fault = false;
	}
	memset(&v, 0, sizeof(v));
	v.bits = on ? 1 : 0;
	v.mask = 1;
	if (ioctl(a->fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &v) < 0) {
		snprintf(a->reason, sizeof(a->reason), "set line %d: %s",
			 a->line, strerror(errno));
		if (!a->fault)
			log_warn("player: amplifier %s", a->reason);
		a->fault = true;
		close(a->fd);
		a->fd = -1;
		a->on = false;
		return;
	}
	a->on = on;
	if (on)
		a->on_since = cx_mono_us();
}

void amp_retry(struct amp *a)
{
	a->tried = false;
}

void amp_close(struct amp *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}
