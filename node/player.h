/* SPDX-License-Identifier: GPL-2.0-or-later */
/* player.h -- ALSA playout thread: sample-accurate starts, volume, recovery */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct player_cfg {
	const char *device;     /* ALSA PCM name */
	const char *mixer;      /* simple mixer element set to full and unmuted, or NULL */
	int buffer_ms;          /* ALSA buffer of a live item (20..1000, default
	                         * 100); an item of assets plays with 500 ms,
	                         * or this if it is larger */
	const char *gpiochip;   /* amplifier power line, or NULL */
	int gpio_line;
	int warmup_ms;          /* amplifier on this long before the first sample */
	int idle_close_ms;      /* close the PCM and power the amplifier off after
	                         * this long without audio; 0: 2000 */
};

/* A live source: the player pulls the PCM for the instant it will be
 * heard, so the source (node/live.c) aligns it to its own clock. */
struct player_live {
	/* Up to MAX mono 48 kHz samples whose first leaves the device at
	 * PLAY_US (CLOCK_MONOTONIC µs); each call continues the previous one.
	 * Called on the player thread, never ahead of the start.
	 * \retval samples > 0 / 0 at the end / -errno with ERR set */
	int (*read)(void *ud, int16_t *pcm, int max, int64_t play_us, char *err, size_t errlen);
	void (*release)(void *ud);  /* the player is done with UD (before the
	                             * item's end event); may be NULL */
	void *ud;
};

/* What to play: the assets one after another (or the live source), first
 * sample leaving the DAC at START_US (CLOCK_MONOTONIC, microseconds, which
 * a step of the system clock does not move; the caller converts from the
 * controller's clock), with the volume as gain. */
struct player_item {
	uint64_t token;         /* the caller's handle, echoed in events */
	int64_t start_us;
	int volume;             /* 1..100 */
	size_t npaths;
	const char *const *paths;
	const struct player_live *live; /* instead of paths (NPATHS 0); copied,
	                         * and its UD released by the player, also
	                         * when player_start fails */
	int64_t deadline_us;    /* if the device cannot be opened, give up
	                         * (PLAYER_EV_FAILED "device unavailable: ...")
	                         * at this instant; 0: 5 s after start_us or after
	                         * player_start, whichever is later */
};

/* Timing rules (player.c has the details):
 * - The buffer is the item's: 500 ms (or buffer_ms if larger) in two
 *   periods for assets, buffer_ms in four for a live source. A PCM open
 *   with the other buffer is closed and opened again when the item is
 *   prepared.
 * - The PCM is opened and the first asset opened and decoded ahead, at
 *   START_US - (warmup_ms when an amplifier is configured) - the item's
 *   buffer - 300 ms; the amplifier is switched on at START_US - warmup_ms.
 *   A live source is not read ahead: each read is for the instant it will
 *   leave.
 * - Silence is queued so that, per snd_pcm_delay, the first sample leaves at
 *   START_US. An item that is late (on arrival, or because the device opened
 *   late) starts at once from its first sample: late, never skipped. Only
 *   when the amplifier had to be switched on later than warmup_ms before the
 *   start is the first sample held back until it has warmed up.
 * - Volume V is a square-law gain (V/100)^2 (about -12 dB at 50, -40 dB at
 *   10), rounded to nearest; 100 passes the decoded samples bit-exactly.
 * - STARTED is sent when the first sample is queued (up to the buffer
 *   before it is heard), with the instant it will leave; DONE when the last
 *   sample has left; STOPPED/FAILED carry played_ms, the audio actually
 *   played out. A decode error after the first sample fails the item once
 *   what was queued before it has played.
 * - Output is S16_LE 48 kHz mono, or stereo with both channels equal when the
 *   device refuses mono. */

enum player_ev_type {
	PLAYER_EV_STARTED,      /* first sample out; start_error_us set */
	PLAYER_EV_DONE,         /* played to the end */
	PLAYER_EV_STOPPED,      /* stopped by player_start/player_stop; played_ms set */
	PLAYER_EV_FAILED,       /* could not play (decode error, device); reason set */
};

struct player_ev {
	enum player_ev_type type;
	uint64_t token;
	int64_t started_us;     /* CLOCK_MONOTONIC instant of the first sample */
	int64_t start_error_us; /* started_us - start_us */
	int64_t played_ms;
	char reason[128];
};

struct player_stats {
	uint64_t xruns;         /* -EPIPE / -ESTRPIPE recoveries */
	bool fault;             /* device cannot be opened now */
	char fault_reason[128];
	bool playing;
	/* additions */
	bool pcm_open;          /* the PCM is open now */
	int64_t buffer_frames;  /* its buffer and period (0 while closed) */
	int64_t period_frames;
	bool amp_on;            /* the amplifier line is driven high now */
	bool amp_fault;         /* the amplifier line could not be requested/set */
	char amp_reason[128];
};

/* Start the playout thread. The device is opened when needed and retried
 * with backoff (0.5 s doubling to 10 s) when it cannot be. The strings in
 * CFG are copied. ALSA's own error messages are routed to log_debug (a
 * process-wide setting, done once). NULL + errno. */
struct player *player_new(const struct player_cfg *cfg);
void player_free(struct player *p);

/* A descriptor that is readable while events are pending (eventfd). */
int player_fd(struct player *p);
/* Take the next event. \retval 1 got one / 0 none */
int player_next_event(struct player *p, struct player_ev *ev);

/* Play IT, replacing whatever is playing or waiting (that one ends with
 * PLAYER_EV_STOPPED). The paths are copied. Events for IT follow:
 * STARTED then DONE, STOPPED or FAILED; or FAILED/STOPPED alone when it never
 * started. \retval 0 / -ENOMEM / -EINVAL (volume outside 1..100, neither
 * paths nor a live source) */
int player_start(struct player *p, const struct player_item *it);
/* Stop TOKEN if it is playing or waiting. It then ends with STOPPED (or
 * with DONE/FAILED if it ended on its own first). \retval 0 / -ENOENT */
int player_stop(struct player *p, uint64_t token);
void player_get_stats(struct player *p, struct player_stats *st);
