/* SPDX-License-Identifier: GPL-2.0-or-later */
/* resample.h -- one conversion of mono audio from one sample rate to another */
#pragma once

#include <stdint.h>

struct rs;

/* A converter from IN Hz to OUT Hz (8000..192000 each): a Kaiser-windowed
 * sinc low-pass at 92% of the lower rate's Nyquist frequency, 32 zero
 * crossings each side, no delay (output sample n is the input at time
 * n / OUT). From 22,050 to 16,000 Hz: flat within 0.4 dB to 7 kHz, nothing
 * above 8 kHz folded back louder than -85 dB. NULL + errno (EINVAL,
 * ENOMEM). */
struct rs *rs_new(int in, int out);
void rs_free(struct rs *r);

/* Convert N input samples, calling EMIT on each run of output samples
 * (EMIT's nonzero return stops and is returned). */
typedef int (*rs_emit_fn)(void *ud, const float *pcm, int n);
int rs_write(struct rs *r, const float *pcm, int n, rs_emit_fn emit, void *ud);
/* The output for the end of the input: exactly round(N_IN * OUT / IN)
 * samples are emitted in all. */
int rs_finish(struct rs *r, rs_emit_fn emit, void *ud);
