/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cache.h -- the node's state directory: plan, assets, small state files */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "reserve.h"

/* Layout under STATE_DIR:
 *   plan.msg            the signed plan exactly as received (re-verified at start)
 *   assets/SHA.opus     verified Ogg Opus assets
 *   spool/              receipts (spool.h)
 *   NAME                small state files (seen alerts, clock offset, ...) */
struct cache;

/* Create the directories if missing; remove leftover temp files ("*.tmp.*")
 * in STATE_DIR and assets/, and assets whose bytes no longer match their
 * name or do not decode (a power cut, a bad sector): every asset is re-hashed.
 * Files that are not ours are left alone. The spool cleans spool/ itself.
 * NULL + errno. */
struct cache *cache_open(const char *state_dir);
void cache_close(struct cache *c);
/* Number of corrupt assets removed by cache_open. */
size_t cache_removed(const struct cache *c);

/* Atomically replace / read the small state file NAME ([a-z0-9._-]{1,64},
 * not starting with '.', no ".tmp.", not "assets" or "spool").
 * \retval 0 / -EINVAL bad name / -ENOENT / -EFBIG (over MAX) / -errno */
int cache_put(struct cache *c, const char *name, const void *buf, size_t len);
/* cache_put for a small file that must be written even on a full disk (the
 * scheduler's memory, the alerts seen, the boot counter): it draws on the
 * reserve set with cache_set_reserve. \retval as cache_put */
int cache_put_vital(struct cache *c, const char *name, const void *buf, size_t len);
/* The reserve cache_put_vital draws on (may be NULL; not owned). */
void cache_set_reserve(struct cache *c, struct reserve *r);
int cache_get(struct cache *c, const char *name, size_t max, char **buf, size_t *len);

/* Store an asset after checking that BUF hashes to SHA and is Ogg Opus.
 * \retval 0 / -EINVAL SHA is not 64 lower-case hex / -EBADMSG hash mismatch /
 *         -EMEDIUMTYPE / -EMSGSIZE / -errno (ENOSPC) */
int cache_put_asset(struct cache *c, const char *sha, const void *buf, size_t len);
/* True when the asset is present (verified when written or at open);
 * false for a malformed SHA. */
bool cache_has_asset(struct cache *c, const char *sha);
/* Path of the asset file into BUF. \retval 0 / -EINVAL bad SHA / -ENAMETOOLONG */
int cache_asset_path(const struct cache *c, const char *sha, char *buf, size_t len);
/* Delete every asset (SHA.opus) not in KEEP. \retval number deleted / -errno */
int cache_gc(struct cache *c, char (*keep)[65], size_t nkeep);
/* Directory for spool_open(). */
const char *cache_spool_dir(const struct cache *c);
