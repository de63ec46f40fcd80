/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spool.h -- signed receipts on disk until the controller acknowledges them */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "receipt.h"
#include "reserve.h"

/* Receipts are kept one file each (DIR/SEQ.json: the signed envelope,
 * written atomically and fsynced before spool_append returns), the last seq
 * used in DIR/seq and the last acknowledged one in DIR/acked, so seq
 * increases by one per receipt for ever, across restarts and power cuts.
 * Writes draw on the RESERVE when the disk is full; when even that is
 * spent a receipt is kept in memory and written later. */
#define SPOOL_MAX 200000 /* receipts held before the oldest are dropped (logged) */

/* Files under DIR: 00000000000000004711.json per pending receipt, "seq" and
 * "acked" ("%020llu\n" each), and bad/ where spool_open moves receipt files
 * and a seq file it cannot read; nothing there is deleted. At open the last
 * seq is the larger of the seq file and the highest receipt file name (a
 * crash between the two writes loses nothing); leftover "*.tmp.*" files are
 * removed.
 *
 * Nothing said may vanish: every seq after the acknowledged ones that has
 * no good file at open -- its file unreadable or not signed by this pole
 * (moved to bad/), or never written because the disk was full when the pole
 * lost power -- gets a signed "lost" record in its place, so the controller
 * counts it lost and its acknowledgements move on. A pre-signing receipt
 * file (plain JSON from an older cunxiang-node) is signed as it is.
 * Each receipt's "from" is the lowest seq pending when it was made. */

struct spool;

struct spool_signer {
	const char *node;                   /* this pole's id */
	const unsigned char *sk;            /* its secret key, ENV_SK_BYTES */
	const struct env_key *pub;          /* its public key */
};

/* NULL + errno. Reads the directory (see above); SIG is copied (the key
 * bytes must outlive the spool); RES may be NULL. */
struct spool *spool_open(const char *dir, const struct spool_signer *sig, struct reserve *res);
/* Tries spool_flush once; receipts still in memory are lost (and become
 * "lost" records at the next open). Accepts NULL. */
void spool_close(struct spool *s);

/* Give R (node, state, occ ... filled by the caller) the next seq, set its
 * node and "from", sign and store it. *MSG and *LEN get the envelope to publish
 * (malloc'ed; MSG may be NULL). Past SPOOL_MAX receipts the oldest is
 * dropped.
 * \retval 0 stored durably
 * \retval 1 kept in memory only: the disk and the reserve are full (ENOSPC,
 *           EDQUOT, EFBIG) or the disk is failing (EIO, EROFS); spool_flush
 *           writes it later
 * \retval -EINVAL R breaks a receipt rule / -ENOMEM / -EOVERFLOW / -errno;
 *          on error no seq is used */
int spool_append(struct spool *s, struct receipt *r, char **msg, size_t *len);
/* Forget every receipt with seq <= SEQ: DIR/acked first, then unlink, then
 * fsync DIR. \retval number removed */
int spool_ack(struct spool *s, uint64_t seq);
/* Pending receipts (signed envelopes), oldest first; FN returning non-zero
 * stops the walk and is returned (0 when the walk ends). FN must not append
 * or ack. A receipt file that has become unreadable since open is skipped
 * (the next open makes it a "lost" record). */
int spool_foreach(struct spool *s, int (*fn)(uint64_t seq, const char *msg, size_t len,
					  void *ud), void *ud);
size_t spool_pending(const struct spool *s);
uint64_t spool_last_seq(const struct spool *s);
/* The lowest pending seq, or the next one when nothing is pending. */
uint64_t spool_head(const struct spool *s);
/* Retry writing memory-only receipts to disk, oldest first, stopping at the
 * first failure; also catches up the seq file. \retval still in memory */
size_t spool_flush(struct spool *s);
/* Files moved to DIR/bad by spool_open (for the caller to log). */
size_t spool_bad(const struct spool *s);
/* "lost" records spool_open made. */
size_t spool_lost(const struct spool *s);
/* Receipts dropped because SPOOL_MAX was reached (for the caller to log). */
uint64_t spool_dropped(const struct spool *s);
