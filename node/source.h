/* SPDX-License-Identifier: GPL-2.0-or-later */
/* source.h -- what a player item plays: assets decoded one after another, or
 * a live source asked for the PCM of the instant it will be heard */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "player.h"

struct source;

/* How a source is read; the player calls them on its thread. */
struct source_ops {
	const char *name;
	/* The source aligns itself to PLAY_US: never read ahead of the start
	 * (no decode-ahead), so the first read gets the right instant. */
	bool timed;
	/* On the thread, ahead of the start. \retval 0 / -errno, s->err set */
	int (*open)(struct source *s);
	/* Up to MAX mono 48 kHz frames into PCM. PLAY_US is when the first of
	 * them is expected to leave the device (a live source aligns to it).
	 * \retval frames > 0 / 0 at the end / -errno, s->err set */
	int (*read)(struct source *s, int16_t *pcm, int max, int64_t play_us);
	/* Close and free, opened or not. */
	void (*destroy)(struct source *s);
};

struct source {
	const struct source_ops *ops;   /* err: why the last call failed */
	char err[128];
};

/* Decode the assets at PATHS (N of them, copied) back to back, no gap. A
 * decode error after some frames were returned is reported at the next
 * read. NULL + errno ENOMEM. */
struct source *source_assets_new(const char *const *paths, size_t n);

/* Read from LIVE (copied), which aligns to each read's instant. Takes
 * LIVE's ud: it is released by destroy, or here on failure.
 * NULL + errno ENOMEM. */
struct source *source_live_new(const struct player_live *live);
