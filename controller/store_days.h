/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store_days.h -- each node's plays of a day kept as one packed row, for reports */
#pragma once

/* Internal to the store and its report queries. A report at county scale
 * reads millions of plays; as rows of `planned` each costs SQLite a step
 * and a decode of eight columns. play_days holds the same plays packed,
 * one row per node and UTC day (start_ms / STORE_DAY_MS), so a report
 * reads one row where it read sixteen.
 *
 * `planned` stays the truth and play_days follows it: triggers on
 * `planned` note each (node, day) they touch in play_days_dirty, whoever
 * writes, and store_days_flush() repacks those days and clears the note
 * in the same transaction, just before every commit the store makes. A
 * day still noted (written by another program) is read from `planned`. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query.h"
#include "store.h"

#include <sqlite3.h>

#define STORE_DAY_MS (24 * 3600 * 1000LL)

/* The columns of `planned` a play is made of, in this order; the last
 * four are its outcome as store_days_outcome() reads it. */
#define STORE_DAYS_PLAY_COLS "occ, notice, broadcast, village_code, start_ms, duration_ms," \
	" priority, done_seq IS NOT NULL, done_ms, end_state, began"
#define STORE_DAYS_OUTCOME_COL 7

/* A play's outcome from columns I0 .. I0 + 3 of ST (the last four of
 * STORE_DAYS_PLAY_COLS); *DONE_MS when the completed play started, or
 * STORE_NONE when not said or not completed. */
enum play_outcome store_days_outcome(sqlite3_stmt *st, int i0, int64_t *done_ms);

/* Repack every day noted dirty from its rows of `planned`, then clear the
 * notes. Inside the transaction about to commit. \retval 0 / -errno */
int store_days_flush(struct store *s);

/* Buffers a reader of packed days reuses from row to row. */
struct days_reader {
	char *text;                  /* the row's strings, each NUL-ended */
	size_t tcap;
	size_t *off;                 /* the row's string table, offsets in text */
	size_t ocap;
	bool damaged;                /* the last error was the row's, not FN's */
	uint64_t rows;               /* rows read, for store_play.row */
};

void days_reader_free(struct days_reader *rd);

/* Call FN for each play of NODE in the packed row B[0..N) of day DAY with
 * FROM_MS ≤ start_ms < TO_MS, in the order of start_ms, then occ.
 * \retval 0 / FN's non-zero value / -EUCLEAN the row is damaged / -ENOMEM */
int store_days_each(struct days_reader *rd, const char *node, int64_t day, const void *b, size_t n,
		    int64_t from_ms, int64_t to_ms, int (*fn)(const struct store_play *p, void *ud),
		    void *ud);
