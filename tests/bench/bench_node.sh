#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# bench_node.sh -- the node's peak RSS and CPU while it plays a 3-minute
# notice, side by side with `opusdec | aplay` on the same asset and the same
# ALSA device (a PulseAudio null sink, paced in real time). Goals: node RSS
# <= 8 MB, node CPU no more than the pipeline's. A second node with
# audio.buffer_ms 500 (aplay's buffer on this device) plays the same notice
# at the same time on its own sink: what the buffer costs in CPU. The
# shared libraries the ALSA pulse plugin loads into a process (libpulse,
# libsndfile, X11, ...) are counted apart: a pole's hw device does not load
# them.
. "$(dirname "$0")/../integration/lib.sh"
need sox
need opusdec
need aplay
SECS=${CX_BENCH_SECONDS:-180}

start_broker
make_keys
start_pulse pole pole-b
set -- $(next_slot 30)
HHMM=$1 DAY=$2 START_MS=$3
write_fleet "$T/sched" pole:100:bench pole-b:100:bench
mkdir -p "$T/sched/audio"
# Speech-like: a tone whose pitch and loudness move, not silence.
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/long.wav" synth "$SECS" sine 180-420 \
	tremolo 4 60 fade 0.1 "$SECS" 0.1
cat > "$T/sched/bench.yaml" <<CONF
notices:
  long:
    title: 三分钟通知
    audio: audio/long.wav
broadcasts:
  - id: long-bc
    notice: long
    at: ["$HHMM"]
    days: ["$DAY"]
    targets: all
    priority: important
    quiet_ok: true
CONF
write_controller "$T/sched"
start_serve
write_node pole pole
write_node pole-b pole-b
sed -i 's/buffer_ms: 100/buffer_ms: 500/' "$T/node-pole-b.yaml"
start_node pole
start_node pole-b
wait_for 60 test -s "$T/state-pole/plan.msg" || fail "the node got no plan"
wait_for 60 test -s "$T/state-pole-b/plan.msg" || fail "the second node got no plan"
NODE_PID=$(pid_of node-pole)
NODE_B=$(pid_of node-pole-b)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
wait_ms_until "$START_MS"
t0=$(cpu_ticks "$NODE_PID")
b0=$(cpu_ticks "$NODE_B")
sleep 5
# kB resident in the libraries the pulse plugin brings (not the node's own).
pulse_kb=$(awk '/^[0-9a-f]+-/ { lib = $6 } /^Rss:/ && lib ~ /pulse|sndfile|FLAC|vorbis|ogg\.so|mp3lame|mpg123|X11|xcb|Xau|Xdmcp|dbus|asyncns|apparmor|bsd\.so|md\.so/ { kb += $2 } END { print kb + 0 }' "/proc/$NODE_PID/smaps")
wait_for $((SECS + 60)) sh -c "grep -q 'long-bc.*completed' '$T/node-pole.log'" ||
	fail "the node did not complete the notice"
t1=$(cpu_ticks "$NODE_PID")
wait_for 30 sh -c "grep -q 'long-bc.*completed' '$T/node-pole-b.log'" ||
	fail "the second node did not complete the notice"
b1=$(cpu_ticks "$NODE_B")
hwm_b=$(awk '/^VmHWM/ { print $2 }' "/proc/$NODE_B/status")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$NODE_PID/status")
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$NODE_PID/status")
anon=$(awk '/^RssAnon/ { print $2 }' "/proc/$NODE_PID/status")
file=$(awk '/^RssFile/ { print $2 }' "/proc/$NODE_PID/status")
hz=$(getconf CLK_TCK)
node_cpu=$(echo "$t0 $t1 $hz" | awk '{ printf "%.2f", ($2 - $1) / $3 }')
node_b_cpu=$(echo "$b0 $b1 $hz" | awk '{ printf "%.2f", ($2 - $1) / $3 }')

asset=$(ls "$T/state-pole/assets/"*.opus | head -n 1)
/usr/bin/time -f '%M %U %S' -o "$T/dec.time" opusdec --quiet --rate 48000 "$asset" - 2>/dev/null |
	/usr/bin/time -f '%M %U %S' -o "$T/play.time" aplay -q -D pole -t raw -f S16_LE -r 48000 -c 1 - 2>/dev/null
read -r dec_kb dec_u dec_s < "$T/dec.time"
read -r play_kb play_u play_s < "$T/play.time"
pipe_cpu=$(echo "$dec_u $dec_s $play_u $play_s" | awk '{ printf "%.2f", $1 + $2 + $3 + $4 }')

printf '\nplaying a %d s notice (%s) on a PulseAudio null sink through ALSA:\n' "$SECS" \
	"$(basename "$asset" | cut -c1-12)"
printf '%-28s %12s %10s\n' "" "peak RSS" "CPU"
printf '%-28s %9d kB %9s s   (goal <= 8192 kB; at the end %d kB: %d kB heap and\n%-28s %9s    %9s     stacks, %d kB mapped files such as shared libraries)\n' \
	"cunxiang-node" "$hwm" "$node_cpu" "$rss" "$anon" "" "" "" "$file"
printf '%-28s %9d kB %9s s\n' "opusdec" "$dec_kb" "$(echo "$dec_u $dec_s" | awk '{ printf "%.2f", $1 + $2 }')"
printf '%-28s %9d kB %9s s\n' "aplay" "$play_kb" "$(echo "$play_u $play_s" | awk '{ printf "%.2f", $1 + $2 }')"
printf '%-28s %9d kB %9s s\n' "opusdec | aplay (sum)" "$((dec_kb + play_kb))" "$pipe_cpu"
printf '%-28s %9d kB %9s s   (audio.buffer_ms 500, at the same time)\n' "cunxiang-node, 500 ms buffer" \
	"$hwm_b" "$node_b_cpu"
printf '\nof the node'"'"'s RSS, %d kB are libraries of the ALSA pulse plugin (libpulse, libsndfile,\n' "$pulse_kb"
printf 'X11, codecs ...) that a pole'"'"'s hw device does not load: %d kB without them (goal <= 8192 kB)\n' \
	"$((rss - pulse_kb))"
