/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store_schema.h -- the store's tables, and the migrations that bring an older store up to date */
#pragma once

/* Internal to the store: store.c calls these while it opens a store (and
 * the unit tests store_schema_step(), to build an older store). */

#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* Refuse a database that another program wrote (its application_id), or
 * one whose VERSION (its PRAGMA user_version) is newer than
 * STORE_SCHEMA_VERSION. \retval 0 / -EUCLEAN / -EPROTONOSUPPORT / -errno,
 * the reason in store_errmsg */
int store_schema_check(struct store *s, int64_t version);

/* Check S and bring it to STORE_SCHEMA_VERSION step by step, under the
 * write lock (another process may be migrating too); a failed step leaves
 * the store as it was. \retval 0 / -errno, the reason in store_errmsg */
int store_schema_migrate(struct store *s);

/* The SQL that upgrades the schema from version FROM to FROM + 1, as
 * shipped (steps are never edited); NULL when FROM is not in
 * 0..STORE_SCHEMA_VERSION-1. Tests build a store of an older version
 * with it. */
const char *store_schema_step(int64_t from);

/* *V = the PRAGMA user_version of DB. \retval SQLITE_OK or the SQLite
 * result code of the failure, which the caller maps: a read-only open tells
 * by it that it cannot create the -shm file. */
int store_schema_version(sqlite3 *db, int64_t *v);
