/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_vec.c -- growing arrays: doubling, and refusing what cannot fit */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vec.h"

#include <stdlib.h>

static void doubles(void **state)
{
	int *v = NULL;
	size_t cap = 0;

	assert_true(vec_grow((void **)&v, &cap, 1, sizeof(*v)));
	assert_int_equal(cap, 16);
	v[15] = 7;
	assert_true(vec_grow((void **)&v, &cap, 16, sizeof(*v)));
	assert_int_equal(cap, 16);                               /* enough: untouched */
	assert_true(vec_grow((void **)&v, &cap, 17, sizeof(*v)));
	assert_int_equal(cap, 32);
	assert_int_equal(v[15], 7);                              /* contents kept */
	assert_true(vec_grow((void **)&v, &cap, 1000, sizeof(*v)));
	assert_int_equal(cap, 1024);
	free(v);
}

static void overflow_refused(void **state)
{
	int *v = NULL, *old;
	size_t cap = 0;

	assert_true(vec_grow((void **)&v, &cap, 4, sizeof(*v)));
	old = v;
	assert_false(vec_grow((void **)&v, &cap, SIZE_MAX / 2, sizeof(*v)));
	assert_ptr_equal(v, old);
	assert_int_equal(cap, 16);
	assert_false(vec_grow((void **)&v, &cap, 17, 0));
	assert_int_equal(cap, 16);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(doubles),
		cmocka_unit_test(overflow_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
