/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reserve.h -- disk space set aside so receipts and the scheduler's memory
 * are still written when the state directory's disk is full */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The reserve is one file (state_dir/reserve) whose blocks are allocated
 * ahead (fallocate, or zeros where that is not supported). A write that
 * fails for want of room gives blocks of it back to the file system and
 * tries again; reserve_refill() takes them back once there is room. What
 * goes through here must be small (receipts, the seq and ack files, the
 * scheduler's state); assets never do, so a full disk costs a recording,
 * never a receipt. */

/* Room for at least this many receipt files (one block each) plus the state
 * files: the size the reserve keeps. */
#define RESERVE_RECEIPTS 10000
#define RESERVE_EXTRA    (1u << 20)

struct reserve;

/* Open or create PATH and grow it to BYTES (0: RESERVE_RECEIPTS blocks of
 * the file system plus RESERVE_EXTRA). A disk too full to hold all of it
 * keeps what fits (reserve_short() then says so). NULL + errno when PATH
 * cannot be opened. */
struct reserve *reserve_open(const char *path, uint64_t bytes);
/* The file stays, for the next start. Accepts NULL. */
void reserve_close(struct reserve *r);

/* fio_write_atomic(PATH, BUF, LEN, MODE); on ENOSPC or EDQUOT, release
 * room from the reserve and retry until it is written or the reserve is
 * empty. R may be NULL (a plain write).
 * \retval 0 written / 1 written with room from the reserve / -errno (the
 * ENOSPC of an empty reserve among them) */
int reserve_write(struct reserve *r, const char *path, const void *buf, size_t len, mode_t mode);

/* Give back (part of) what writes took, as the disk allows.
 * \retval 0 back to full size / -ENOSPC still short / -errno */
int reserve_refill(struct reserve *r);

/* Below its size: the disk is (or was, since the last refill) full. */
bool reserve_short(const struct reserve *r);
/* Bytes held now, and the size it keeps. */
uint64_t reserve_held(const struct reserve *r);
uint64_t reserve_size(const struct reserve *r);
