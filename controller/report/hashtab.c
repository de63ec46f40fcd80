/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hashtab.c -- the hash tables the report's figures are counted with: interned strings, a 64-bit key map */
#include "hashtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static int strtab_grow(struct strtab *t)
{
	size_t ns = t->nslot ? t->nslot * 2 : 64;
	uint32_t *slot = calloc(ns, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = hash_str(t->s[i]) & (ns - 1);

		while (slot[j])
			j = (j + 1) & (ns - 1);
		slot[j] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->nslot = ns;
	return 0;
}

long strtab_find(const struct strtab *t, const char *s)
{
	size_t j;

	if (!t->nslot)
		return -1;
	for (j = hash_str(s) & (t->nslot - 1); t->slot[j]; j = (j + 1) & (t->nslot - 1))
		if (!strcmp(t->s[t->slot[j] - 1], s))
			return (long)t->slot[j] - 1;
	return -1;
}

long strtab_add(struct strtab *t, const char *s)
{
	long i = strtab_find(t, s);
	size_t j;

	if (i >= 0)
		return i;
	if ((t->n + 1) * 2 > t->nslot && strtab_grow(t) < 0)
		return -ENOMEM;
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 64;
		char **ns = realloc(t->s, nc * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		t->s = ns;
		t->cap = nc;
	}
	if (!(t->s[t->n] = strdup(s)))
		return -ENOMEM;
	for (j = hash_str(s) & (t->nslot - 1); t->slot[j]; j = (j + 1) & (t->nslot - 1))
		;
	t->slot[j] = (uint32_t)t->n + 1;
	return (long)t->n++;
}

void strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	free(t->slot);
}

static int u64map_grow(struct u64map *m)
{
	size_t ns = m->nslot ? m->nslot * 2 : 1024;
	uint64_t *key = calloc(ns, sizeof(*key));
	uint32_t *val = calloc(ns, sizeof(*val));

	if (!key || !val) {
		free(key);
		free(val);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nslot; i++) {
		size_t j;

		if (!m->val[i])
			continue;
		for (j = hash_u64(m->key[i]) & (ns - 1); val[j]; j = (j + 1) & (ns - 1))
			;
		key[j] = m->key[i];
		val[j] = m->val[i];
	}
	free(m->key);
	free(m->val);
	m->key = key;
	m->val = val;
	m->nslot = ns;
	return 0;
}

long u64map_get(struct u64map *m, uint64_t k, uint32_t next, bool *added)
{
	size_t j;

	*added = false;
	if ((m->n + 1) * 2 > m->nslot && u64map_grow(m) < 0)
		return -ENOMEM;
	for (j = hash_u64(k) & (m->nslot - 1); m->val[j]; j = (j + 1) & (m->nslot - 1))
		if (m->key[j] == k)
			return (long)m->val[j] - 1;
	m->key[j] = k;
	m->val[j] = next + 1;
	m->n++;
	*added = true;
	return (long)next;
}

void u64map_free(struct u64map *m)
{
	free(m->key);
	free(m->val);
}
