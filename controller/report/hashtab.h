/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hashtab.h -- the hash tables the report's figures are counted with: interned strings, a 64-bit key map */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Interned strings: each distinct string once, numbered from 0 in the
 * order they came. Zero-initialised it is empty. */
struct strtab {
	char **s;
	size_t n, cap;
	uint32_t *slot;               /* index + 1; 0 empty */
	size_t nslot;
};

/* uint64 key -> uint32 value. Zero-initialised it is empty. */
struct u64map {
	uint64_t *key;
	uint32_t *val;                /* value + 1; 0 empty */
	size_t n, nslot;
};

/* Index of S in T, or -1 when absent. */
long strtab_find(const struct strtab *t, const char *s);
/* Index of S in T, a copy of S added when absent; T->s[index] is the
 * copy. \retval index / -ENOMEM */
long strtab_add(struct strtab *t, const char *s);
/* Free the strings and the table (not T); accepts an empty table. */
void strtab_free(struct strtab *t);

/* The value of K in M, or NEXT stored for it when absent (*ADDED set).
 * \retval value / -ENOMEM */
long u64map_get(struct u64map *m, uint64_t k, uint32_t next, bool *added);
/* Free the map's arrays (not M); accepts an empty map. */
void u64map_free(struct u64map *m);
