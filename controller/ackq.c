/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ackq.c -- serve's acks, held back a moment so that a pole sending a burst of receipts gets one */
#include "ackq.h"

#include "envelope.h"
#include "report/hashtab.h"
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ack {
	char key[ENV_KEYID_LEN + 1];
	uint64_t seq;                 /* committed, not yet sent */
	int64_t first_ms, last_ms;    /* when what it covers came */
	bool ready;                   /* in q->ready */
	/* in the open transaction */
	char pkey[ENV_KEYID_LEN + 1];
	uint64_t pseq;
	int64_t pfirst_ms, plast_ms;
	bool pending;                 /* in q->pend */
};

struct ackq {
	struct strtab nodes;          /* index = the node's ack */
	struct ack *a;
	size_t cap;
	uint32_t *pend, *ready;       /* node indexes */
	size_t npend, nready, pcap, rcap;
};

struct ackq *ackq_new(void)
{
	return calloc(1, sizeof(struct ackq));
}

void ackq_free(struct ackq *q)
{
	if (!q)
		return;
	strtab_free(&q->nodes);
	free(q->a);
	free(q->pend);
	free(q->ready);
	free(q);
}

/* Room for one more in *V (of *CAP). \retval 0 / -ENOMEM */
static int grow(uint32_t **v, size_t *cap, size_t n)
{
	uint32_t *nv;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	if (!(nv = realloc(*v, nc * sizeof(*nv))))
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

int ackq_add(struct ackq *q, const char *node, const char *key, uint64_t seq, int64_t now_ms)
{
	struct ack *a;
	long i;

	if (strlen(node) > WIRE_NODE_MAX || strlen(key) > ENV_KEYID_LEN)
		return -EINVAL;
	if ((i = strtab_add(&q->nodes, node)) < 0)
		return -ENOMEM;
	while ((size_t)i >= q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 64;
		struct ack *na = realloc(q->a, nc * sizeof(*na));

		if (!na)
			return -ENOMEM;
		memset(na + q->cap, 0, (nc - q->cap) * sizeof(*na));
		q->a = na;
		q->cap = nc;
	}
	a = &q->a[i];
	if (!a->pending) {
		/* ... and room in ready for every pending one, so that the
		 * commit cannot fail. */
		if (grow(&q->pend, &q->pcap, q->npend) < 0 ||
		    grow(&q->ready, &q->rcap, q->nready + q->npend) < 0)
			return -ENOMEM;
		q->pend[q->npend++] = (uint32_t)i;
		a->pending = true;
		a->pfirst_ms = now_ms;
	}
	a->plast_ms = now_ms;
	memcpy(a->pkey, key, strlen(key) + 1);
	a->pseq = seq;
	return 0;
}

void ackq_commit(struct ackq *q, bool ok)
{
	for (size_t k = 0; k < q->npend; k++) {
		struct ack *a = &q->a[q->pend[k]];

		a->pending = false;
		if (!ok)
			continue;
		/* ackq_add() made room in ready. */
		if (!a->ready) {
			q->ready[q->nready++] = q->pend[k];
			a->ready = true;
			a->first_ms = a->pfirst_ms;
		}
		memcpy(a->key, a->pkey, sizeof(a->key));
		a->seq = a->pseq;
		a->last_ms = a->plast_ms;
	}
	q->npend = 0;
}

int64_t ackq_due(struct ackq *q, int64_t now_ms, bool all,
		 void (*fn)(const char *node, const char *key, uint64_t seq, void *ud), void *ud)
{
	int64_t next = -1;
	size_t keep = 0;

	for (size_t k = 0; k < q->nready; k++) {
		uint32_t i = q->ready[k];
		struct ack *a = &q->a[i];
		int64_t due = a->last_ms + ACKQ_QUIET_MS;

		if (due > a->first_ms + ACKQ_MAX_MS)
			due = a->first_ms + ACKQ_MAX_MS;
		if (all || now_ms >= due) {
			a->ready = false;
			fn(q->nodes.s[i], a->key, a->seq, ud);
			continue;
		}
		q->ready[keep++] = i;
		if (next < 0 || due - now_ms < next)
			next = due - now_ms;
	}
	q->nready = keep;
	return next;
}
