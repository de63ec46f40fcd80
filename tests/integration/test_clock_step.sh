#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Clock steps on a pole: n1's system clock (libfaketime, its monotonic clock
# left alone, as a real step leaves it) is stepped +30 s between two planned
# broadcasts and -30 s before a third; n2's is not touched. Asserts that
# n1's offset to the controller re-converges within one sync round (measured
# from the step to `cunxiang nodes` showing it), that every broadcast plays
# exactly once per pole at its planned instant (one started and one
# completed receipt per occurrence, nothing skipped, expired or
# interrupted; start error within 20 ms, measured on a shared recording and
# as reported), and that `cunxiang nodes` (text, JSON) and `cunxiang report`
# flag n1's clock while it is off and not after. Prints what it measured.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
[ -n "$FAKETIME_LIB" ] || skip "libfaketime (package faketime) not installed"

start_broker
make_keys
# Three occurrences a minute apart, the first at least 45 s away.
set -- $(next_slot 45)
HH1=$1 DAY=$2 B1=$3
set -- $(slot_at $((B1 + 60000))); HH2=$1 B2=$3
set -- $(slot_at $((B1 + 120000))); HH3=$1 B3=$3
[ "$(slot_at "$B3" | cut -d ' ' -f 2)" = "$DAY" ] || skip "the three minutes straddle midnight"
write_fleet "$T/sched" n1:100:river n2:100:river
mkdir -p "$T/sched/audio"
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/tone.wav" synth 2 sine 1000 fade 0.005 2 0.05
cat > "$T/sched/clock.yaml" <<CONF
notices:
  tone:
    title: 校时
    audio: audio/tone.wav
broadcasts:
  - id: tone-bc
    notice: tone
    at: ["$HH1", "$HH2", "$HH3"]
    days: ["$DAY"]
    targets: all
    volume: 100
    priority: important
    quiet_ok: true
CONF
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the test schedule does not check"
write_controller "$T/sched"
start_pulse_shared n1 n2
start_serve
# n1 reads its system clock through libfaketime: the offset in $T/faketime
# ("+0", "+30"), re-read at most a second after it changed. Its monotonic
# clock is not faked (FAKETIME_FORCE_MONOTONIC_FIX=0 keeps libfaketime's
# pthread_cond_timedwait on CLOCK_MONOTONIC from returning at once).
echo "+0" > "$T/faketime"
write_node n1 n1
write_node n2 n2
# In a sanitizer build ASan's runtime must be the first library of the
# process: it goes before libfaketime.
preload=$FAKETIME_LIB
asan=$(ldd "$CUNXIANG_NODE" 2>/dev/null | awk '/libasan/ { print $3; exit }')
[ -z "$asan" ] || preload="$asan:$FAKETIME_LIB"
spawn node-n1 env LD_PRELOAD="$preload" FAKETIME_TIMESTAMP_FILE="$T/faketime" \
	FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_FORCE_MONOTONIC_FIX=0 \
	"$CUNXIANG_NODE" -c "$T/node-n1.yaml"
start_node n2
for n in n1 n2; do
	wait_for 30 test -s "$T/state-$n/plan.msg" || fail "$n got no plan"
done

# node_offset NODE: clock_offset_us of NODE in `cunxiang nodes --format json`.
node_offset() {
	"$CUNXIANG" nodes -c "$T/controller.yaml" --format json 2>/dev/null | python3 -c '
import json, sys
for n in json.load(sys.stdin)["nodes"]:
    if n["node"] == sys.argv[1] and n["clock_offset_us"] is not None:
        print(n["clock_offset_us"], str(n["clock_off"]).lower())' "$1"
}
# offset_near NODE US: NODE's offset is within 50 ms of US.
offset_near() {
	_o=$(node_offset "$1" | cut -d ' ' -f 1)
	[ -n "$_o" ] && [ $(( _o - $2 )) -le 50000 ] && [ $(( $2 - _o )) -le 50000 ]
}
# step_clock OFFSET EXPECT_US: set n1's clock offset, print how long until
# `cunxiang nodes` shows n1's offset near EXPECT_US; fail after one sync
# round (60 s).
step_clock() {
	_t0=$(now_ms)
	echo "$1" > "$T/faketime"
	wait_for 60 offset_near n1 "$2" || fail "n1's offset did not reach $2 us within a sync round: $(node_offset n1)"
	STEP_MS=$(( $(now_ms) - _t0 ))
	echo "step $1 s: n1's offset re-converged to $(node_offset n1 | cut -d ' ' -f 1) us in $STEP_MS ms (controller view)"
}
# report_clock_off NODE: "true"/"false", the report's fleet-health flag.
report_clock_off() {
	"$CUNXIANG" report -c "$T/controller.yaml" --format json 2>"$T/report.err" | python3 -c '
import json, sys
for n in json.load(sys.stdin)["nodes"]:
    if n["node"] == sys.argv[1]:
        print(str(n["clock_off"]).lower())' "$1"
}
# record_around MS NAME: the onsets of both poles from 8 s before MS to 6 s
# after, into $T/NAME.onsets (in the background; wait on $REC).
record_around() {
	wait_ms_until $(( $1 - 8000 ))
	parec -d all.monitor --format=s16le --rate=48000 --channels=2 --channel-map="$SHARED_MAP" \
		--latency-msec=5 --raw 2>/dev/null | "$CX_ONSET" -c 2 -w -t 3000 -d 14 > "$T/$2.onsets" &
	REC=$!
	CX_PIDS="$CX_PIDS $REC"
}

wait_for 30 offset_near n1 0 || fail "n1 reported no offset near 0: $(node_offset n1)"
[ "$(node_offset n1 | cut -d ' ' -f 2)" = false ] || fail "n1's clock flagged before any step"

# Broadcast 1, clocks right.
record_around "$B1" b1
wait "$REC" || true

# +30 s, 15 s before broadcast 2: n1's clock is now 30 s ahead, the
# controller's 30 s behind it.
wait_ms_until $((B2 - 15000))
step_clock +30 -30000000
UP_MS=$STEP_MS
grep -q 'system clock stepped +30' "$T/node-n1.log" || fail "n1 did not log the step"
"$CUNXIANG" nodes -c "$T/controller.yaml" > "$T/nodes.txt" || fail "cunxiang nodes"
cat "$T/nodes.txt"
awk '$1 == "n1"' "$T/nodes.txt" | grep -q ' off ' || fail "cunxiang nodes does not flag n1's clock"
awk '$1 == "n2"' "$T/nodes.txt" | grep -q ' ok ' || fail "cunxiang nodes flags n2's clock"
[ "$(node_offset n1 | cut -d ' ' -f 2)" = true ] || fail "JSON clock_off not true for n1"
[ "$(report_clock_off n1)" = true ] || fail "the report does not flag n1's clock: $(cat "$T/report.err")"
[ "$(report_clock_off n2)" = false ] || fail "the report flags n2's clock"
record_around "$B2" b2
wait "$REC" || true

# -30 s, 15 s before broadcast 3: n1's clock is right again.
wait_ms_until $((B3 - 15000))
step_clock +0 0
DOWN_MS=$STEP_MS
grep -q 'system clock stepped -30' "$T/node-n1.log" || fail "n1 did not log the step back"
[ "$(node_offset n1 | cut -d ' ' -f 2)" = false ] || fail "n1's clock still flagged after it was set right"
[ "$(report_clock_off n1)" = false ] || fail "the report still flags n1's clock"
record_around "$B3" b3
wait "$REC" || true

# Every occurrence exactly once per pole, on time.
wait_for 20 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where state='completed'\") -ge 6" ||
	fail "not every play completed: $(sql "select node, occ, state, reason from receipts")"
sleep 2
worst=0
k=1
for hh in "$HH1" "$HH2" "$HH3"; do
	eval "at=\$B$k"
	occ="tone-bc@${DAY}T$hh"
	i=0
	for n in n1 n2; do
		states=$(sql "select group_concat(state, ' ') from (select state from receipts where node='$n' and occ='$occ' order by seq)")
		[ "$states" = "started completed" ] || fail "$n $occ: receipts '$states', want 'started completed'"
		line=$(awk -v c="$i" '$1 == c' "$T/b$k.onsets")
		wall=$(echo "$line" | awk '{ print $4 }')
		[ -n "$wall" ] && [ "$wall" != "-" ] || fail "$n: no sound in the recording of broadcast $k"
		measured=$((wall - at * 1000))
		reported=$(sql "select start_error_us from receipts where node='$n' and occ='$occ' and state='started'")
		started=$(sql "select started_ms - scheduled_ms from receipts where node='$n' and occ='$occ' and state='started'")
		echo "broadcast $k, $n: measured ${measured} us after the planned instant, reported ${reported} us, started_ms - scheduled_ms ${started} ms"
		[ "${measured#-}" -le 20000 ] || fail "$n started broadcast $k ${measured} us off its instant (limit 20 ms)"
		[ "${reported#-}" -le 20000 ] || fail "$n reported a start error of ${reported} us for broadcast $k"
		[ "${started#-}" -le 20 ] || fail "$n's receipt says it started ${started} ms off"
		[ "${measured#-}" -gt "$worst" ] && worst=${measured#-}
		i=$((i + 1))
	done
	k=$((k + 1))
done
bad=$(sql "select count(*) from receipts where state in ('skipped','expired','interrupted','failed')")
[ "$bad" = 0 ] || fail "$bad receipts skipped, expired, interrupted or failed"
echo "re-convergence: +30 s in $UP_MS ms, -30 s in $DOWN_MS ms (limit: one sync round, 60 s); worst start error ${worst} us"
echo ok
