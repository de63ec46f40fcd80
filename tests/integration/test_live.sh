#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A live alert read from a speech file plays on its three targeted nodes:
# each recording holds the input's speech (envelope correlation, duration),
# the onsets on the three poles differ by at most 5 ms (one PulseAudio sink,
# one channel per pole, one recording), every node sends accepted, started
# and completed "live" receipts. Then again with every 10th frame left
# unpublished (CUNXIANG_LIVE_DROP=10): FEC/PLC leave no gap longer than one
# frame (20 ms). A fourth node, not targeted, stays silent.
. "$(dirname "$0")/lib.sh"
need sox
need espeak-ng
need sqlite3
MATCH="$CX_SRC/tests/tools/speech_match.py"

start_broker
make_keys
write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river n4:50:hill
"$CUNXIANG" check "$T/sched" >/dev/null || fail "the test fleet does not check"
write_controller "$T/sched"
start_pulse_shared n1 n2 n3 n4
start_serve
for n in n1 n2 n3 n4; do write_node $n $n; start_node $n; done

# The speech: espeak-ng's own rate (22.05 kHz) goes in, so `live` resamples;
# the reference for the comparison is the same speech at 48 kHz.
espeak-ng -v cmn -s 160 -w "$T/speech.wav" "各位村民请注意，河水上涨，请立即撤离到高处。" ||
	fail "espeak-ng"
sox "$T/speech.wav" -r 48000 -c 1 -b 16 -e signed -t raw "$T/speech.raw" || fail "sox"

for n in n1 n2 n3 n4; do
	wait_for 30 test -s "$T/state-$n/plan.msg" || fail "$n got no plan"
done
# Let the first clock-offset burst finish (20 pings, 50 ms apart).
sleep 2

# A sanitizer build runs 2-3x slower and the pulse plugin's delay estimate
# spreads more; it runs for memory errors, so its timing bounds are wider.
SKEW_MS=5 GAP_MS=20
if [ "${CX_SANITIZE:-none}" != none ]; then SKEW_MS=10 GAP_MS=40; fi

# run_live NAME [ENV...]: one live alert to the river nodes from the speech
# file, recorded to $T/NAME.rec.
run_live() {
	_run=$1; shift
	record_shared "rec-$_run" "$T/$_run.rec"
	sleep 1
	env "$@" "$CUNXIANG" live -c "$T/controller.yaml" --level 2 --tag river \
		--input "$T/speech.wav" --wait 8 > "$T/$_run.out" 2>&1 ||
		{ cat "$T/$_run.out"; fail "cunxiang live ($_run) failed"; }
	cat "$T/$_run.out"
	sleep 1
	stop_proc "rec-$_run"
}

run_live clean
grep -q 'completed on 3 of 3 nodes' "$T/clean.out" || fail "not every node completed the live alert"
ID=$(sed -n 's/^live alert \([^ ]*\) .*/\1/p' "$T/clean.out")
echo "$ID" | grep -q '^640104100000-[0-9]\{8\}-[0-9]\{4\}$' || fail "alert id '$ID' is not AREA-YYYYMMDD-NNNN"
python3 "$MATCH" --channels 4 --use 0,1,2,3 --names n1,n2,n3,n4 "$T/clean.rec" "$T/speech.raw" \
	> "$T/clean.match"
cat "$T/clean.match"
grep -q '^n4: no sound' "$T/clean.match" || fail "n4 is not targeted but played"
python3 "$MATCH" --channels 4 --use 0,1,2 --names n1,n2,n3 --max-skew-ms "$SKEW_MS" \
	"$T/clean.rec" "$T/speech.raw" > "$T/clean.match2" ||
	fail "the clean live speech does not match: $(cat "$T/clean.match2")"

for n in n1 n2 n3; do
	for st in accepted started completed; do
		c=$(sql "select count(*) from receipts where node='$n' and occ='$ID' and kind='live' and state='$st'")
		[ "$c" = 1 ] || fail "$n: $c live '$st' receipts for $ID, want 1"
	done
done
c=$(sql "select count(*) from receipts where node='n4'")
[ "$c" = 0 ] || fail "n4 is not targeted but sent $c receipts"
c=$(sql "select count(*) from alerts where id='$ID' and live='$ID'")
[ "$c" = 1 ] || fail "the alert is not in the store with its stream"

run_live lossy CUNXIANG_LIVE_DROP=10
grep -q 'held back' "$T/lossy.out" || fail "no frames were held back"
grep -q 'completed on 3 of 3 nodes' "$T/lossy.out" || fail "not every node completed the lossy live alert"
python3 "$MATCH" --channels 4 --use 0,1,2 --names n1,n2,n3 --min-corr 0.85 --max-gap-ms "$GAP_MS" \
	"$T/lossy.rec" "$T/speech.raw" > "$T/lossy.match" ||
	fail "the lossy live speech has gaps or does not match: $(cat "$T/lossy.match")"
cat "$T/lossy.match"
# The nodes rebuilt the missing frames from the next frame's FEC.
for n in n1 n2 n3; do
	wait_for 10 sh -c "test \$(grep -c 'live stream .* over' '$T/node-$n.log') -ge 2" ||
		fail "$n did not close the second stream"
	line=$(grep 'live stream .* over' "$T/node-$n.log" | tail -n 1)
	echo "$n: $line"
	fec=$(echo "$line" | sed -n 's/.*lost frames: \([0-9]*\) FEC.*/\1/p')
	[ "${fec:-0}" -gt 0 ] || fail "$n concealed no frame with FEC"
done
echo ok
