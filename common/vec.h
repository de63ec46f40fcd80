/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vec.h -- growing a malloc'd array by doubling */
#ifndef CX_VEC_H
#define CX_VEC_H

#include <stdbool.h>
#include <stddef.h>

/* Make the array *V of *CAP elements of SIZE bytes hold at least NEED,
 * doubling from 16. On success *V and *CAP are updated; on failure
 * (out of memory, or NEED * SIZE overflowing) both are left as they were.
 * \retval true / false */
bool vec_grow(void **v, size_t *cap, size_t need, size_t size);

#endif
