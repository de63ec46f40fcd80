#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# bench_node.sh -- the node's CPU and peak RSS while it plays a 3-minute
# notice, beside `opusdec | aplay` playing the same asset on the same ALSA
# device (a PulseAudio null sink, paced in real time) at the same time, so
# both meet the same load on a shared machine. Goals: node CPU no more
# than the pipeline's (the node plays an item of assets with a 500 ms
# buffer whatever audio.buffer_ms, which is the live buffer: the default
# 100 here), node RSS <= 8 MB outside the sound server's plugin libraries.
#
# CPU: user + system time of each process (all its threads, from
# /proc/PID/stat for the node, from the start instant to the end of the
# notice; GNU time for opusdec and aplay).
# RSS: the node's peak resident set (VmHWM), less what the ALSA plugin
# brings into it: the resident pages of every shared library the node does
# not link itself (dlopened by alsa-lib for the device: the pulse plugin,
# libpulse, its codecs, X11, dbus ...) and of the sound server's shared
# memory pools, counted from /proc/PID/smaps half-way through the notice.
# A pole's hw device loads none of them.
#
# CX_ARM64_NODE: the path of a cross-built arm64 cunxiang-node, whose size
# is printed, as built and stripped (as the package installs it); by
# default the one tests/ci/30-arm.sh builds in build-arm64/ ("not built"
# when missing).
. "$(dirname "$0")/../integration/lib.sh"
need sox
need opusdec
need aplay
SECS=${CX_BENCH_SECONDS:-180}

start_broker
make_keys
start_pulse pole
set -- $(next_slot 30)
HHMM=$1 DAY=$2 START_MS=$3
write_fleet "$T/sched" pole:100:bench
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
start_node pole
wait_for 60 test -s "$T/state-pole/plan.msg" || fail "the node got no plan"
wait_for 60 sh -c "ls '$T/state-pole/assets/'*.opus" || fail "the node got no asset"
NODE_PID=$(pid_of node-pole)
asset=$(ls "$T/state-pole/assets/"*.opus | head -n 1)

# The libraries the node links (by soname) and libasound's own: anything
# else mapped is the ALSA plugin's.
own_libs=$(ldd "$CUNXIANG_NODE" | awk '$1 ~ /\.so/ { n = $1; sub(/.*\//, "", n); printf "%s ", n }')

# smaps_split PID: "PLUGIN_KB OWN_KB OWN_PSS_KB OWN_PRIVATE_KB OWN_CRYPTO_KB"
# of the resident set: the plugin's part, the node's, the node's
# proportional share of it, its private pages, and what of it is the TLS
# library's (libssl, libcrypto).
smaps_split() {
	awk -v own=" $own_libs " '
	/^[0-9a-f]+-[0-9a-f]+ / { path = $6; base = path; sub(/.*\//, "", base)
		plugin = (path ~ /\.so/ && index(own, " " base " ") == 0) ||
			 path ~ /pulse-shm|memfd:pulseaudio/
		tls = base ~ /^lib(ssl|crypto)\.so/ }
	/^Rss:/ { if (plugin) p += $2; else { o += $2; if (tls) c += $2 } }
	/^Pss:/ { if (!plugin) ps += $2 }
	/^Private_(Clean|Dirty):/ { if (!plugin) pr += $2 }
	END { printf "%d %d %d %d %d\n", p, o, ps, pr, c }' "/proc/$1/smaps"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

wait_ms_until "$START_MS"
t0=$(cpu_ticks "$NODE_PID")
(
	/usr/bin/time -f '%M %U %S' -o "$T/dec.time" opusdec --quiet --rate 48000 "$asset" - 2>/dev/null |
		/usr/bin/time -f '%M %U %S' -o "$T/play.time" aplay -q -D pole -t raw -f S16_LE \
			-r 48000 -c 1 - 2>/dev/null
) &
PIPE_PID=$!
sleep $((SECS / 2))
# Kept with CX_KEEP=1, to see what is resident where.
cp "/proc/$NODE_PID/smaps" "$T/node.smaps"
set -- $(smaps_split "$NODE_PID")
plugin_kb=$1 own_kb=$2 own_pss=$3 own_private=$4 own_tls=$5
wait_for $((SECS + 60)) sh -c "grep -q 'long-bc.*completed' '$T/node-pole.log'" ||
	fail "the node did not complete the notice"
t1=$(cpu_ticks "$NODE_PID")
wait "$PIPE_PID" || fail "opusdec | aplay failed"
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$NODE_PID/status")
anon=$(awk '/^RssAnon/ { print $2 }' "/proc/$NODE_PID/status")
xruns=$(grep -c 'underrun' "$T/node-pole.log")
hz=$(getconf CLK_TCK)
node_cpu=$(echo "$t0 $t1 $hz" | awk '{ printf "%.2f", ($2 - $1) / $3 }')
read -r dec_kb dec_u dec_s < "$T/dec.time"
read -r play_kb play_u play_s < "$T/play.time"
dec_cpu=$(echo "$dec_u $dec_s" | awk '{ printf "%.2f", $1 + $2 }')
play_cpu=$(echo "$play_u $play_s" | awk '{ printf "%.2f", $1 + $2 }')
pipe_cpu=$(echo "$dec_cpu $play_cpu" | awk '{ printf "%.2f", $1 + $2 }')
ratio=$(echo "$node_cpu $pipe_cpu" | awk '{ printf "%.2f", ($2 > 0) ? $1 / $2 : 0 }')
node_own=$((hwm - plugin_kb))

printf '\nplaying a %d s notice (%s) on a PulseAudio null sink through ALSA,\n' "$SECS" \
	"$(basename "$asset" | cut -c1-12)"
printf 'the node and opusdec | aplay at the same time on the same sink:\n\n'
printf '%-32s %12s %10s\n' "" "peak RSS" "CPU"
printf '%-32s %9d kB %8s s\n' "cunxiang-node (buffer_ms 100)" "$hwm" "$node_cpu"
printf '%-32s %9d kB %8s s\n' "opusdec" "$dec_kb" "$dec_cpu"
printf '%-32s %9d kB %8s s\n' "aplay" "$play_kb" "$play_cpu"
printf '%-32s %9d kB %8s s\n' "opusdec | aplay (sum)" "$((dec_kb + play_kb))" "$pipe_cpu"
printf '\nnode CPU / pipeline CPU: %s (goal <= 1.00); underruns in the node'"'"'s log: %d\n' \
	"$ratio" "$xruns"
printf 'node peak RSS outside the ALSA pulse plugin'"'"'s libraries and pools: %d kB (goal <= 8192 kB)\n' \
	"$node_own"
printf '  (half-way: %d kB resident in what the plugin loaded, %d kB the node'"'"'s own, of which\n' \
	"$plugin_kb" "$own_kb"
printf '  %d kB heap and stacks at the end; the plugin'"'"'s part is not loaded with a hw device)\n' \
	"$anon"
printf '  of the node'"'"'s own half-way: %d kB the TLS library'"'"'s (libssl, libcrypto), %d kB\n' \
	"$own_tls" "$own_pss"
printf '  its proportional share (PSS) and %d kB private to it: the rest of its resident set\n' \
	"$own_private"
printf '  is library text shared with other processes, which the kernel maps around each\n'
printf '  fault as much as the page cache holds)\n'
# stripped_size FILE [STRIP]: bytes of FILE without its symbols.
stripped_size() {
	if ${2:-strip} -o "$T/stripped" "$1" 2>/dev/null; then
		stat -c %s "$T/stripped"
	else
		echo "?"
	fi
}
printf 'cunxiang-node binary: amd64 %d bytes (%s stripped)' "$(stat -c %s "$CUNXIANG_NODE")" \
	"$(stripped_size "$CUNXIANG_NODE")"
arm64=${CX_ARM64_NODE:-$CX_SRC/build-arm64/node/cunxiang-node}
if [ -f "$arm64" ]; then
	printf ', arm64 %d bytes (%s stripped; %s)\n' "$(stat -c %s "$arm64")" \
		"$(stripped_size "$arm64" aarch64-linux-gnu-strip)" "$arm64"
else
	printf ', arm64 not built (tests/ci/30-arm.sh arm64 builds it in build-arm64/,\n'
	printf '  or set CX_ARM64_NODE to a cross-built cunxiang-node)\n'
fi
