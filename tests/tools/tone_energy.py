#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# tone_energy.py -- how long each channel of a recording holds each of some tones, also mixed (test tool)
"""Count, per channel, the windows in which each given frequency is heard.

Usage: tone_energy.py [--channels N] [--names A,B,...] [--window MS]
                      [--threshold A] [--share S] --freqs F1,F2,... RECORDING

RECORDING is interleaved s16le at 48 kHz (parec, record_shared). In each
window (default 50 ms) whose peak reaches --threshold (default 1000), the
Goertzel power at each frequency is taken as a share of the window's whole
energy (1.0 for a pure tone on that frequency); a frequency is heard in the
window when its share reaches --share (default 0.1), so two tones mixed, or
alternating within a window, both count. Unlike tone_track.py this does
not assume one tone at a time. Prints one line per channel:

  NAME loud=N F1=K1 F2=K2 ...

with N the windows above the threshold and Ki the windows where Fi is
heard. Frequencies should be multiples of 1000 / MS Hz (whole cycles per
window) for a clean measure.
"""
import argparse
import array
import math
import sys

RATE = 48000


def share(x, hz):
    """Goertzel power at HZ as a share of the energy of X."""
    n = len(x)
    coeff = 2.0 * math.cos(2.0 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for v in x:
        s0 = v + coeff * s1 - s2
        s2 = s1
        s1 = s0
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    energy = sum(v * v for v in x)
    # A pure tone of amplitude A: power (A n / 2)^2, energy A^2 n / 2.
    return 2.0 * power / (n * energy) if energy > 0 else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--names", default="")
    ap.add_argument("--window", type=float, default=50.0)
    ap.add_argument("--threshold", type=int, default=1000)
    ap.add_argument("--share", type=float, default=0.1)
    ap.add_argument("--freqs", required=True)
    ap.add_argument("recording")
    a = ap.parse_args()
    names = a.names.split(",") if a.names else [str(i) for i in range(a.channels)]
    if len(names) != a.channels:
        sys.exit("tone_energy: --names needs one name per channel")
    try:
        freqs = [float(f) for f in a.freqs.split(",")]
    except ValueError:
        sys.exit("tone_energy: --freqs wants numbers, e.g. 440,1000")
    win = int(RATE * a.window / 1000)
    if win < 16:
        sys.exit("tone_energy: --window is too short")
    data = array.array("h")
    with open(a.recording, "rb") as f:
        raw = f.read()
    data.frombytes(raw[:len(raw) - len(raw) % (2 * a.channels)])
    if sys.byteorder != "little":
        data.byteswap()
    for ch in range(a.channels):
        x = data[ch::a.channels]
        loud = 0
        heard = [0] * len(freqs)
        for i in range(0, len(x) - win + 1, win):
            w = x[i:i + win]
            if max(max(w), -min(w)) < a.threshold:
                continue
            loud += 1
            w = [float(v) for v in w]
            for k, hz in enumerate(freqs):
                if share(w, hz) >= a.share:
                    heard[k] += 1
        print("%s loud=%d %s" % (names[ch], loud,
                                 " ".join("%g=%d" % (hz, heard[k]) for k, hz in enumerate(freqs))))


if __name__ == "__main__":
    main()
