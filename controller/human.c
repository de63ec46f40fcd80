/* SPDX-License-Identifier: GPL-2.0-or-later */
/* human.c -- widths and ages as a person at a terminal reads them */
#include "human.h"

#include <inttypes.h>
#include <stdio.h>

int human_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int w = 0;

	while (*p) {
		uint32_t cp;
		int len;

		if (*p < 0x80) {
			cp = *p;
			len = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			len = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			len = 3;
		} else {
			cp = *p & 0x07;
			len = 4;
		}
		for (int i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				len = i;
				break;
			}
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		p += len;
		w += (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
		     (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
		     (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
		     (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd) ? 2 : 1;
	}
	return w;
}

void human_ago(int64_t ms, char *out, size_t size)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;

	if (s < 60)
		snprintf(out, size, "%" PRId64 "s ago", s);
	else if (s < 3600)
		snprintf(out, size, "%" PRId64 "m ago", s / 60);
	else if (s < 48 * 3600)
		snprintf(out, size, "%" PRId64 "h ago", s / 3600);
	else
		snprintf(out, size, "%" PRId64 "d ago", s / 86400);
}
