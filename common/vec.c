/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vec.c -- growing a malloc'd array by doubling */
#include "vec.h"

#include <stdint.h>
#include <stdlib.h>

bool vec_grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t c;
	void *nv;

	if (need <= *cap)
		return true;
	if (size == 0 || need > SIZE_MAX / size)
		return false;
	c = *cap ? *cap : 16;
	while (c < need)
		c = c > SIZE_MAX / 2 ? need : c * 2;
	if (c > SIZE_MAX / size)
		c = need;
	nv = realloc(*v, c * size);
	if (!nv)
		return false;
	*v = nv;
	*cap = c;
	return true;
}
