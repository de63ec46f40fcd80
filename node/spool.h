/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spool.h -- receipts on disk until the controller acknowledges them */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Receipts are kept one file each (DIR/SEQ.json, written atomically and
 * fsynced before spool_append returns) and the last seq used in DIR/seq, so
 * seq increases by one per receipt for ever, across restarts and power cuts.
 * When the disk is full a receipt is kept in memory and written later. */
#define SPOOL_MAX 200000 /* receipts held before the oldest are dropped (logged) */
#define SPOOL_RECEIPT_MAX 65536 /* largest serialised receipt */

/* Files under DIR: 00000000000000004711.json per pending receipt, "seq"
 * (the last seq, "%020llu\n"), and bad/ where spool_open moves receipt
 * files and a seq file it cannot parse; they are never deleted. At open the
 * last seq is the larger of the seq file and the highest receipt file name
 * (a crash between the two writes loses nothing); leftover "*.tmp.*" files
 * are removed. A lost seq file with no receipt left on disk restarts seq at
 * 0: keep DIR on storage that survives reboots. */

struct spool;

/* NULL + errno. Reads the directory: pending receipts and the last seq.
 * Creates DIR if missing. Receipts over SPOOL_MAX are dropped oldest first
 * (counted in spool_dropped). */
struct spool *spool_open(const char *dir);
/* Tries spool_flush once; receipts still in memory are lost. */
void spool_close(struct spool *s);

/* Give RECEIPT (a JSON object without "seq") the next seq, add "seq" to it,
 * and store it. *JSON gets the serialised receipt (malloc'ed) to publish.
 * SEQ and JSON may be NULL. Past SPOOL_MAX receipts the oldest is dropped.
 * \retval 0 stored durably
 * \retval 1 kept in memory only: the disk is full (ENOSPC, EDQUOT, EFBIG)
 *           or failing (EIO, EROFS); spool_flush writes it later
 * \retval -EINVAL not an object / -EMSGSIZE over SPOOL_RECEIPT_MAX /
 *          -ENOMEM / -errno; on error no seq is used and RECEIPT is as it was */
int spool_append(struct spool *s, json_t *receipt, uint64_t *seq, char **json);
/* Forget every receipt with seq <= SEQ (unlink, then fsync DIR).
 * \retval number removed */
int spool_ack(struct spool *s, uint64_t seq);
/* Pending receipts, oldest first; FN returning non-zero stops the walk and
 * is returned (0 when the walk ends). FN must not append or ack. A receipt
 * file that has become unreadable since it was checked is skipped. */
int spool_foreach(struct spool *s, int (*fn)(uint64_t seq, const char *json, size_t len,
					  void *ud), void *ud);
size_t spool_pending(const struct spool *s);
uint64_t spool_last_seq(const struct spool *s);
/* Retry writing memory-only receipts to disk, oldest first, stopping at the
 * first failure; also catches up the seq file. \retval still in memory */
size_t spool_flush(struct spool *s);
/* Files moved to DIR/bad by spool_open (for the caller to log). */
size_t spool_bad(const struct spool *s);
/* Receipts dropped because SPOOL_MAX was reached (for the caller to log). */
uint64_t spool_dropped(const struct spool *s);
