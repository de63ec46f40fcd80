/* SPDX-License-Identifier: GPL-2.0-or-later */
/* source.c -- what a player item plays: assets in sequence, or a live source */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asset.h"

struct seq_source {
	struct source base;
	size_t n, i;            /* i: index of the asset being decoded */
	char **paths;
	struct asset_dec *dec;
	int pending_err;        /* error met after frames were already returned */
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int seq_open_asset(struct seq_source *q)
{
	q->dec = asset_dec_open(q->paths[q->i]);
	if (!q->dec) {
		int e = errno ? errno : EIO;

		snprintf(q->base.err, sizeof(q->base.err), "cannot decode asset %s: %s",
			 base_name(q->paths[q->i]), strerror(e));
		return -e;
	}
	return 0;
}

static int seq_open(struct source *s)
{
	struct seq_source *q = (struct seq_source *)s;

	q->i = 0;
	return seq_open_asset(q);
}

static int seq_read(struct source *s, int16_t *pcm, int max, int64_t play_us)
{
	struct seq_source *q = (struct seq_source *)s;
	int got = 0;

	(void)play_us;
	if (q->pending_err)
		return q->pending_err;
	while (got < max) {
		int r;

		if (!q->dec) {
			if (q->i >= q->n)
				break;
			r = seq_open_asset(q);
			if (r < 0)
				goto fail;
		}
		r = asset_dec_read(q->dec, pcm + got, max - got);
		if (r < 0) {
			snprintf(q->base.err, sizeof(q->base.err), "decode error in asset %s: %s",
				 base_name(q->paths[q->i]), strerror(-r));
			goto fail;
		}
		if (r == 0) {
			/* Next asset right away: back to back, no gap. */
			asset_dec_close(q->dec);
			q->dec = NULL;
			q->i++;
			continue;
		}
		got += r;
		continue;
fail:
		if (got > 0) {
			q->pending_err = r;
			return got;
		}
		return r;
	}
	return got;
}

static void seq_destroy(struct source *s)
{
	struct seq_source *q = (struct seq_source *)s;

	if (!q)
		return;
	asset_dec_close(q->dec);
	for (size_t k = 0; k < q->n; k++)
		free(q->paths[k]);
	free(q->paths);
	free(q);
}

static const struct source_ops seq_ops = {
	.name = "assets",
	.open = seq_open,
	.read = seq_read,
	.destroy = seq_destroy,
};

struct live_source {
	struct source base;
	struct player_live live;
};

static int live_src_open(struct source *s)
{
	(void)s;
	return 0;
}

static int live_src_read(struct source *s, int16_t *pcm, int max, int64_t play_us)
{
	struct live_source *q = (struct live_source *)s;
	int r = q->live.read(q->live.ud, pcm, max, play_us, q->base.err, sizeof(q->base.err));

	if (r < 0 && !q->base.err[0])
		snprintf(q->base.err, sizeof(q->base.err), "live source: %s", strerror(-r));
	return r > max ? max : r;
}

static void live_src_destroy(struct source *s)
{
	struct live_source *q = (struct live_source *)s;

	if (!q)
		return;
	if (q->live.release)
		q->live.release(q->live.ud);
	free(q);
}

static const struct source_ops live_ops = {
	.name = "live",
	.timed = true,
	.open = live_src_open,
	.read = live_src_read,
	.destroy = live_src_destroy,
};

struct source *source_live_new(const struct player_live *live)
{
	struct live_source *q = calloc(1, sizeof(*q));

	if (!q) {
		if (live->release)
			live->release(live->ud);
		errno = ENOMEM;
		return NULL;
	}
	q->base.ops = &live_ops;
	q->live = *live;
	return &q->base;
}

struct source *source_assets_new(const char *const *paths, size_t n)
{
	struct seq_source *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->base.ops = &seq_ops;
	q->paths = calloc(n, sizeof(*q->paths));
	if (!q->paths)
		goto fail;
	q->n = n;
	for (size_t k = 0; k < n; k++) {
		q->paths[k] = strdup(paths[k]);
		if (!q->paths[k])
			goto fail;
	}
	return &q->base;
fail:
	seq_destroy(&q->base);
	errno = ENOMEM;
	return NULL;
}
