#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# start_accuracy.sh -- measure the player's start error on a PulseAudio null sink
#
# Usage: tests/tools/start_accuracy.sh BUILD_DIR [COUNT] [REC_LATENCY_MS]
# Starts a private pulseaudio with one null sink, records its monitor with
# parec (REC_LATENCY_MS, default 1), plays a 0.5 s tone COUNT times (default
# 10) through playat at planned instants 1.5 s apart, and prints per start
# the error the player predicted (self) and the one measured in the
# recording (measured = onset wall time - planned). The monitor hands audio
# out up to about REC_LATENCY_MS before the sink plays it, so "measured"
# reads early by up to that much. Exit 77 when pulseaudio/parec/sox/opusenc
# are missing.
set -eu
build=${1:?usage: start_accuracy.sh BUILD_DIR [COUNT] [REC_LATENCY_MS]}
count=${2:-10}
lat=${3:-1}
for t in pulseaudio parec pactl sox opusenc; do
	command -v "$t" >/dev/null || { echo "skip: no $t"; exit 77; }
done
build=$(cd "$build" && pwd)
tmp=$(mktemp -d /tmp/cx-accuracy-XXXXXX)
pa_pid=
cleanup() {
	[ -n "$pa_pid" ] && kill "$pa_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

export XDG_RUNTIME_DIR="$tmp" HOME="$tmp" PULSE_SERVER="unix:$tmp/native"
pulseaudio -n --daemonize=no --exit-idle-time=-1 \
	-L "module-native-protocol-unix auth-anonymous=1 socket=$tmp/native" \
	-L "module-null-sink sink_name=pole rate=48000 channels=1 channel_map=mono" \
	>"$tmp/pa.log" 2>&1 &
pa_pid=$!
i=0
until pactl info >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "pulseaudio did not start"; cat "$tmp/pa.log"; exit 1; }
	sleep 0.1
done
printf '</usr/share/alsa/alsa.conf>\npcm.pole { type pulse device "pole" }\n' >"$tmp/asound.conf"
sox -n -r 48000 -c 1 -b 16 "$tmp/tone.wav" synth 0.5 sine 1000 gain -3
opusenc --quiet "$tmp/tone.wav" "$tmp/tone.opus"

secs=$((count * 3 / 2 + 3))
parec -d pole.monitor --format=s16le --rate=48000 --channels=1 --latency-msec="$lat" 2>/dev/null |
	"$build/tests/tools/onset" -w -g 300 -t 2000 -d "$secs" >"$tmp/onsets" &
rec=$!
sleep 1
ALSA_CONFIG_PATH="$tmp/asound.conf" "$build/tests/tools/playat" -D pole -i 1000 \
	-n "$count" -p 1500 "$tmp/tone.opus" >"$tmp/events"
wait $rec || true
grep '^STARTED' "$tmp/events" |
	sed 's/.*planned_us=\([0-9]*\).*error_us=\([-0-9]*\).*/\1 \2/' >"$tmp/planned"
paste -d' ' "$tmp/planned" "$tmp/onsets" | awk '
	NF >= 6 { m = $6 - $1; printf "start %d: self %d us, measured %d us\n", n++, $2, m
		  s += m; if (m < lo || n == 1) lo = m; if (m > hi || n == 1) hi = m }
	END { if (n) printf "measured: mean %.0f us, min %d us, max %d us over %d starts\n", s / n, lo, hi, n }'
