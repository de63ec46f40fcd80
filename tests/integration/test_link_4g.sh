#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A 4G-like link (150 ms each way, +-50 ms jitter, a 2 s stall every 30 s)
# between three poles and the broker: a planned broadcast still starts
# within 20 ms of its instant on every pole (one PulseAudio sink, a channel
# per pole, one recording read by onset as it is made, as test_timing.sh),
# the poles measuring their clock offset through that same link. Prints
# each pole's measured error, its offset and ping RTT, and the skew.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/link.sh"
need sox
need sqlite3

start_broker
start_proxy --delay 150 --jitter 50 --stall 2000 --stall-every 30000
make_keys
set -- $(next_slot 45)
HHMM=$1 DAY=$2 START_MS=$3
write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river
mkdir -p "$T/sched/audio"
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/tone.wav" synth 2 sine 1000 fade 0.005 2 0.05
cat > "$T/sched/timing.yaml" <<CONF
notices:
  tone:
    title: 校时
    audio: audio/tone.wav
broadcasts:
  - id: tone-bc
    notice: tone
    at: ["$HHMM"]
    days: ["$DAY"]
    targets: all
    volume: 100
    priority: important
    quiet_ok: true
CONF
write_controller "$T/sched"
start_pulse_shared n1 n2 n3
start_serve
for n in n1 n2 n3; do write_node_linked $n $n; start_node $n; done
for n in n1 n2 n3; do
	wait_for 40 test -s "$T/state-$n/plan.msg" || fail "$n got no plan through the link"
done

secs=$(( (START_MS - $(now_ms)) / 1000 + 6 ))
[ "$secs" -gt 8 ] || fail "setup took too long for the slot $HHMM"
parec -d all.monitor --format=s16le --rate=48000 --channels=3 --channel-map="$SHARED_MAP" \
	--latency-msec=5 --raw 2>/dev/null | "$CX_ONSET" -c 3 -w -t 3000 -d "$secs" > "$T/onsets" &
REC=$!
CX_PIDS="$CX_PIDS $REC"
wait "$REC" || true
cat "$T/onsets"
wait_for 30 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where state='started'\") -ge 3" ||
	fail "not every node reported started"

echo "stalls at: $(proxy_events stall | tr '\n' ' ')(event at $START_MS)"
OCC="tone-bc@${DAY}T$HHMM"
i=0
for n in n1 n2 n3; do
	line=$(awk -v c="$i" '$1 == c' "$T/onsets")
	wall=$(echo "$line" | awk '{ print $4 }')
	[ -n "$wall" ] && [ "$wall" != "-" ] || fail "$n: no sound in the recording"
	measured=$((wall - START_MS * 1000))
	reported=$(sql "select start_error_us from receipts where node='$n' and occ='$OCC' and state='started'")
	[ -n "$reported" ] || fail "$n: no started receipt with start_error_us"
	echo "$n: measured ${measured} us after the planned instant, reported ${reported} us, clock offset $(status_field $n clock_offset_us) us"
	[ "${measured#-}" -le 20000 ] || fail "$n started ${measured} us off its planned instant (limit 20 ms)"
	i=$((i + 1))
done
awk '$2 != "-" { if (n == 0 || $2 < lo) lo = $2; if (n == 0 || $2 > hi) hi = $2; n++ }
     END { printf "skew between the poles: %d samples (%.2f ms)\n", hi - lo, (hi - lo) / 48 }' "$T/onsets"
c=$(grep -c 'conn .* closed' "$T/proxy.log")
[ "$c" = 0 ] || fail "the proxy closed $c connections on a link that only stalls"
echo ok
