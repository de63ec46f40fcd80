#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# speech_match.py -- does a recording hold a reference speech, on each channel? (test tool)
"""Compare channels of a raw s16le 48 kHz recording with a reference.

Usage: speech_match.py [options] RECORDING REFERENCE

RECORDING: interleaved s16le, --channels N; REFERENCE: mono s16le 48 kHz.
For each channel in --use, the recording is aligned to the reference at the
first sample whose magnitude reaches --threshold in both, and compared in
5 ms RMS windows:

  corr      Pearson correlation of the two envelopes over the reference
  dur       how much longer (+) or shorter (-) the speech is, first to last
            window above 10 % of the reference's loudest window
  gap       the longest run of windows where the reference speaks (above
            10 % of its loudest window) but the recording is 20 dB below it
  onset     the aligned onset, in samples of the recording

and the onset skew (largest minus smallest onset over the channels, in ms).
Exit 1 when a limit is broken, 2 on bad input.
"""
import argparse
import array
import math
import sys

RATE = 48000
WIN = 240  # 5 ms


def read_s16(path):
    a = array.array("h")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    return a


def first_above(x, thr, start=0):
    for i in range(start, len(x)):
        if x[i] >= thr or x[i] <= -thr:
            return i
    return -1


def envelope(x, start, n):
    """RMS of N windows of WIN samples from START (zeros outside X)."""
    env = []
    for w in range(n):
        s = 0
        base = start + w * WIN
        for i in range(base, base + WIN):
            if 0 <= i < len(x):
                v = x[i]
                s += v * v
        env.append(math.sqrt(s / WIN))
    return env


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else 0.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("recording")
    p.add_argument("reference")
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--use", default="0", help="comma-separated channel numbers")
    p.add_argument("--names", default="", help="comma-separated names for the channels used")
    p.add_argument("--threshold", type=int, default=1000)
    p.add_argument("--skip-ms", type=float, default=0,
                   help="ignore this much of the recording's start")
    p.add_argument("--min-corr", type=float, default=0.9)
    p.add_argument("--max-gap-ms", type=float, default=20)
    p.add_argument("--max-dur-ms", type=float, default=40)
    p.add_argument("--max-skew-ms", type=float, default=5)
    a = p.parse_args()

    rec = read_s16(a.recording)
    ref = read_s16(a.reference)
    use = [int(c) for c in a.use.split(",")]
    names = a.names.split(",") if a.names else ["ch%d" % c for c in use]
    ref_on = first_above(ref, a.threshold)
    if ref_on < 0:
        print("the reference has no sound above the threshold")
        return 2
    nwin = (len(ref) - ref_on) // WIN
    renv = envelope(ref, ref_on, nwin)
    rmax = max(renv)
    ractive = [i for i, v in enumerate(renv) if v > 0.1 * rmax]
    rdur = (ractive[-1] - ractive[0] + 1) * WIN * 1000 / RATE

    ok = True
    onsets = []
    skip = int(a.skip_ms * RATE / 1000)
    for c, name in zip(use, names):
        x = rec[c::a.channels]
        on = first_above(x, a.threshold, skip)
        if on < 0:
            print("%s: no sound" % name)
            ok = False
            continue
        onsets.append(on)
        env = envelope(x, on, nwin)
        corr = pearson(renv, env)
        active = [i for i, v in enumerate(env) if v > 0.1 * rmax]
        dur = (active[-1] - active[0] + 1) * WIN * 1000 / RATE if active else 0
        gap = run = 0
        for i in range(nwin):
            if renv[i] > 0.1 * rmax and env[i] < 0.1 * renv[i]:
                run += 1
                gap = max(gap, run)
            else:
                run = 0
        gap_ms = gap * WIN * 1000 / RATE
        bad = []
        if corr < a.min_corr:
            bad.append("correlation below %.2f" % a.min_corr)
        if abs(dur - rdur) > a.max_dur_ms:
            bad.append("duration off by more than %g ms" % a.max_dur_ms)
        if gap_ms > a.max_gap_ms:
            bad.append("a gap longer than %g ms" % a.max_gap_ms)
        print("%s: onset %d (%.3f s), corr %.3f, dur %+.0f ms of %.0f ms, longest gap %.0f ms%s"
              % (name, on, on / RATE, corr, dur - rdur, rdur, gap_ms,
                 "  FAIL: " + "; ".join(bad) if bad else ""))
        ok = ok and not bad
    if len(onsets) > 1:
        skew = (max(onsets) - min(onsets)) * 1000 / RATE
        print("onset skew: %.3f ms (%d samples)%s" % (skew, max(onsets) - min(onsets),
              "  FAIL: above %g ms" % a.max_skew_ms if skew > a.max_skew_ms else ""))
        ok = ok and skew <= a.max_skew_ms
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
