#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# tone_track.py -- what each channel of a recording played, as runs of pure tones (test tool)
"""Turn a recording of pure test tones into runs, per channel.

Usage: tone_track.py [--channels N] [--names A,B,...] [--window MS]
                     [--threshold A] RECORDING

RECORDING is interleaved s16le at 48 kHz (parec, record_shared). Each
window (default 10 ms) is silence when its peak is below --threshold
(default 1000), else a tone whose frequency is estimated from the span
of its zero crossings and rounded to 50 Hz. Consecutive windows of the
same tone make a run; one stray window inside a run (a tone boundary) is
absorbed. Prints
one line per run:

  NAME START_S END_S HZ

with START_S and END_S in seconds from the start of the recording (HZ 0
for silence; leading and trailing silence are left out).
"""
import argparse
import array
import sys

RATE = 48000


def windows(x, win, threshold):
    """(peak >= threshold, frequency rounded to 50 Hz) per window."""
    out = []
    for i in range(0, len(x) - win + 1, win):
        w = x[i:i + win]
        if max(max(w), -min(w)) < threshold:
            out.append(0)
            continue
        # Half periods between the first and the last zero crossing.
        first = last = -1
        crossings = 0
        prev = w[0] >= 0
        for k, v in enumerate(w):
            cur = v >= 0
            if cur != prev:
                if first < 0:
                    first = k
                last = k
                crossings += 1
                prev = cur
        if crossings < 3:
            out.append(50)
            continue
        hz = (crossings - 1) * RATE / (2.0 * (last - first))
        out.append(int(round(hz / 50.0)) * 50 or 50)
    return out


def runs(tones, win):
    """[(start_s, end_s, hz)], single odd windows absorbed."""
    t = list(tones)
    for i in range(1, len(t) - 1):
        if t[i] != t[i - 1] and t[i - 1] == t[i + 1]:
            t[i] = t[i - 1]
    # A boundary window (half one tone, half another) reads as neither.
    for i in range(1, len(t) - 1):
        if t[i] not in (t[i - 1], t[i + 1]) and t[i - 1] and t[i + 1]:
            t[i] = t[i - 1]
    out = []
    start = 0
    for i in range(1, len(t) + 1):
        if i == len(t) or t[i] != t[start]:
            out.append((start * win / RATE, i * win / RATE, t[start]))
            start = i
    while out and out[0][2] == 0:
        out.pop(0)
    while out and out[-1][2] == 0:
        out.pop()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--names", default="")
    ap.add_argument("--window", type=float, default=10.0)
    ap.add_argument("--threshold", type=int, default=1000)
    ap.add_argument("recording")
    a = ap.parse_args()
    names = a.names.split(",") if a.names else [str(i) for i in range(a.channels)]
    if len(names) != a.channels:
        sys.exit("tone_track: --names needs one name per channel")
    win = int(RATE * a.window / 1000)
    data = array.array("h")
    with open(a.recording, "rb") as f:
        raw = f.read()
    data.frombytes(raw[:len(raw) - len(raw) % (2 * a.channels)])
    if sys.byteorder != "little":
        data.byteswap()
    for ch in range(a.channels):
        for s, e, hz in runs(windows(data[ch::a.channels], win, a.threshold), win):
            print("%s %.3f %.3f %d" % (names[ch], s, e, hz))


if __name__ == "__main__":
    main()
