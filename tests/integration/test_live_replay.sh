#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Frames of one live alert replayed into another do not play. Live alert 1
# (a 440 Hz tone) is recorded off the broker frame by frame, as anybody who
# can reach the broker could; during live alert 2 (a 1000 Hz tone) the
# recording is replayed onto alert 2's stream, a second ahead of the real
# frames so that it would win every seq. The three poles must play 1000 Hz
# and never 440 Hz, and count the replayed frames in `rejected`.
. "$(dirname "$0")/lib.sh"
need sox
need mosquitto_sub
TONES="$CX_SRC/tests/tools/tone_energy.py"
[ -x "${CX_MQTAPE:-}" ] || fail "CX_MQTAPE is not set (run through meson)"

start_broker
make_keys
write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river
"$CUNXIANG" check "$T/sched" >/dev/null || fail "the test fleet does not check"
write_controller "$T/sched"
start_pulse_shared n1 n2 n3
start_serve
for n in n1 n2 n3; do write_node $n $n; start_node $n; done

sox -n -r 48000 -c 1 -b 16 -e signed "$T/tone440.wav" synth 4 sine 440 vol 0.5 || fail "sox"
sox -n -r 48000 -c 1 -b 16 -e signed "$T/tone1000.wav" synth 6 sine 1000 vol 0.5 || fail "sox"

for n in n1 n2 n3; do
	wait_for 30 test -s "$T/state-$n/plan.msg" || fail "$n got no plan"
done
# Let the first clock-offset burst finish (20 pings, 50 ms apart).
sleep 2

# Live alert 1, every frame of its stream taped as it arrives at the broker.
spawn tape "$CX_MQTAPE" record $MQ_TOOL -t 'cx/v1/live/+' -o "$T/alert1.tape" --idle 2
wait_for 10 grep -q '^subscribed' "$T/tape.log" || fail "mqtape did not subscribe"
"$CUNXIANG" live -c "$T/controller.yaml" --level 2 --tag river --input "$T/tone440.wav" \
	--wait 8 > "$T/live1.out" 2>&1 || { cat "$T/live1.out"; fail "cunxiang live (alert 1) failed"; }
cat "$T/live1.out"
grep -q 'completed on 3 of 3 nodes' "$T/live1.out" || fail "alert 1 did not complete on every node"
ID1=$(sed -n 's/^live alert \([^ ]*\) .*/\1/p' "$T/live1.out")
wait_for 10 sh -c "! kill -0 $(pid_of tape) 2>/dev/null" || fail "mqtape did not stop recording"
cat "$T/tape.log"
taped=$(sed -n 's/^recorded \([0-9]*\) messages.*/\1/p' "$T/tape.log")
[ "${taped:-0}" -ge 150 ] || fail "only ${taped:-0} frames of alert 1 ($ID1) taped, want about 200"

for n in n1 n2 n3; do
	eval "rej0_$n=\$(status_field $n rejected)"
done

# Live alert 2; once its first frame is out, alert 1's frames go to its
# stream, the first second of them at once, then at their own pace.
record_shared rec2 "$T/alert2.rec"
sleep 1
spawn live2 "$CUNXIANG" live -c "$T/controller.yaml" --level 2 --tag river \
	--input "$T/tone1000.wav" --wait 8
wait_for 10 grep -q '^on the air' "$T/live2.log" || { cat "$T/live2.log"; fail "alert 2 did not go on the air"; }
ID2=$(sed -n 's/^live alert \([^ ]*\) .*/\1/p' "$T/live2.log")
[ -n "$ID2" ] && [ "$ID2" != "$ID1" ] || fail "alert 2 has no id of its own ('$ID2', alert 1 '$ID1')"
"$CX_MQTAPE" replay $MQ_TOOL -t "cx/v1/live/$ID2" -i "$T/alert1.tape" --lead-ms 1000 ||
	fail "mqtape replay failed"
wait "$(pid_of live2)" || { cat "$T/live2.log"; fail "cunxiang live (alert 2) failed"; }
cat "$T/live2.log"
sleep 1
stop_proc rec2

python3 "$TONES" --channels 3 --names n1,n2,n3 --freqs 440,1000 "$T/alert2.rec" > "$T/alert2.tones" ||
	fail "tone_energy.py"
cat "$T/alert2.tones"
for n in n1 n2 n3; do
	line=$(grep "^$n " "$T/alert2.tones")
	hz440=$(echo "$line" | sed -n 's/.* 440=\([0-9]*\).*/\1/p')
	hz1000=$(echo "$line" | sed -n 's/.* 1000=\([0-9]*\).*/\1/p')
	[ "${hz440:-1}" = 0 ] || fail "$n played alert 1's 440 Hz during alert 2 (${hz440} windows of 50 ms)"
	# 6 s of tone: 120 windows; allow for the start and the end.
	[ "${hz1000:-0}" -ge 100 ] || fail "$n played alert 2's 1000 Hz for only ${hz1000:-0} windows of 50 ms"
done
grep -q 'completed on 3 of 3 nodes' "$T/live2.log" || fail "alert 2 did not complete on every node"

# Every replayed frame reached an open stream and was turned away.
for n in n1 n2 n3; do
	eval "r0=\$rej0_$n"
	wait_for 10 status_ge "$n" rejected $(( ${r0:-0} + taped / 2 )) ||
		fail "$n: rejected $(status_field "$n" rejected), was ${r0:-0}; $taped frames replayed"
	echo "$n: rejected ${r0:-0} -> $(status_field "$n" rejected)"
done
echo ok
