/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alert_audio.c -- an alert's audio: speech or a recording rendered into assets, and published */
#include "alert_audio.h"

#include "asset.h"
#include "diag.h"
#include "encode.h"
#include "fileio.h"
#include "mq.h"
#include "tts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The file of each asset in ASSETS_DIR and its size, and the total. */
static int audio_paths(const char *assets_dir, struct alert_audio *out, char *err, size_t errlen)
{
	out->duration_ms = 0;
	for (size_t i = 0; i < out->n; i++) {
		char name[CX_SHA256_HEX + 8];
		struct stat st;
		int r;

		snprintf(name, sizeof(name), "%.64s.opus", out->a[i].sha);
		out->a[i].path = fio_join(assets_dir, name);
		if (!out->a[i].path || stat(out->a[i].path, &st) < 0) {
			r = out->a[i].path ? -errno : -ENOMEM;
			snprintf(err, errlen, "asset %s: %s", name, strerror(-r));
			return r;
		}
		out->a[i].size = (int64_t)st.st_size;
		out->duration_ms += out->a[i].duration_ms;
	}
	return 0;
}

int alert_audio_speech(const char *voices_dir, const char *voice, const char *text,
		       const char *assets_dir, const char *cache_dir, struct alert_audio *out,
		       char *err, size_t errlen)
{
	char why[600] = "";
	struct diag *d = diag_new();
	struct voice *v = d ? voice_load(voices_dir, voice, d) : NULL;
	int r = -EINVAL;

	*out = (struct alert_audio){ 0 };
	if (!v) {
		snprintf(err, errlen, "cannot load voice '%s' from %s%s%s", voice, voices_dir,
			 d && diag_get(d, 0) ? ": " : "", d && diag_get(d, 0) ? diag_get(d, 0) : "");
		goto out;
	}
	if (voice_chime(v)) {
		r = enc_file_asset(voice_chime(v), ENC_DEFAULT_BITRATE, assets_dir, cache_dir,
				   out->a[0].sha, &out->a[0].duration_ms, why, sizeof(why));
		if (r < 0) {
			snprintf(err, errlen, "cannot use the chime of voice '%s': %s", voice,
				 *why ? why : strerror(-r));
			goto out;
		}
		out->n++;
	}
	r = tts_asset(v, text, assets_dir, cache_dir, out->a[out->n].sha,
		      &out->a[out->n].duration_ms, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "cannot speak the text: %s", *why ? why : strerror(-r));
		goto out;
	}
	out->n++;
	r = audio_paths(assets_dir, out, err, errlen);
out:
	voice_free(v);
	diag_free(d);
	return r;
}

int alert_audio_file(const char *path, const char *assets_dir, const char *cache_dir,
		     struct alert_audio *out, char *err, size_t errlen)
{
	char why[600] = "";
	int r;

	*out = (struct alert_audio){ 0 };
	r = enc_file_asset(path, ENC_DEFAULT_BITRATE, assets_dir, cache_dir, out->a[0].sha,
			   &out->a[0].duration_ms, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "cannot use %s: %s", path, *why ? why : strerror(-r));
		return r;
	}
	out->n = 1;
	return audio_paths(assets_dir, out, err, errlen);
}

int alert_audio_publish(struct pub *p, struct store *st, const struct alert_audio *a,
			int64_t now, int flush_ms, char *err, size_t errlen)
{
	int r = 0;

	for (size_t i = 0; i < a->n && r == 0; i++) {
		char topic[96];

		/* A failure to note it costs an early clean-up, not the alert. */
		(void)store_asset_ref(st, a->a[i].sha, a->a[i].size, now);
		snprintf(topic, sizeof(topic), "cx/v1/asset/%.64s", a->a[i].sha);
		r = pub_file(p, topic, a->a[i].path, ASSET_MAX_BYTES);
	}
	if (r == 0)
		r = mq_flush(p->mq, flush_ms);
	if (r < 0) {
		snprintf(err, errlen, "cannot publish the audio: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < a->n; i++)
		store_asset_set_published(st, a->a[i].sha, true);
	return 0;
}

void alert_audio_free(struct alert_audio *a)
{
	for (size_t i = 0; i < a->n && i < 2; i++)
		free(a->a[i].path);
	*a = (struct alert_audio){ 0 };
}
