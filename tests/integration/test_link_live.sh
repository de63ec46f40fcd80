#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A live alert over the 4G-like link (150 ms each way, +-50 ms jitter, a
# 2 s stall every 30 s) to three poles at live.latency_ms 600: between two
# stalls it plays without a gap longer than the concealment covers (5
# frames of PLC, 100 ms) and the poles speak within 5 ms of each other (one
# PulseAudio sink, a channel per pole, speech_match.py as in test_live.sh).
# Then a 2 s stall in the middle of a second alert, longer than any latency
# can hide: every pole resumes, in step, and completes it; the gap is
# printed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/link.sh"
need sox
need espeak-ng
need sqlite3
MATCH="$CX_SRC/tests/tools/speech_match.py"

start_broker
start_proxy --delay 150 --jitter 50 --stall 2000 --stall-every 30000
make_keys
write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river
"$CUNXIANG" check "$T/sched" >/dev/null || fail "the test fleet does not check"
write_controller "$T/sched"
start_pulse_shared n1 n2 n3
start_serve
for n in n1 n2 n3; do
	write_node_linked $n $n "live: { latency_ms: 600 }"
	start_node $n
done

espeak-ng -v cmn -s 160 -w "$T/speech.wav" "各位村民请注意，河水上涨，请立即撤离到高处。" ||
	fail "espeak-ng"
sox "$T/speech.wav" -r 48000 -c 1 -b 16 -e signed -t raw "$T/speech.raw" || fail "sox"
for n in n1 n2 n3; do
	wait_for 40 test -s "$T/state-$n/plan.msg" || fail "$n got no plan through the link"
done
# Each pole's offset comes from a pool of exchanges, filled by bursts a few
# seconds apart after it starts: the poles are in step once it is full.
for n in n1 n2 n3; do
	wait_for 90 grep -q 'clock settled' "$T/node-$n.log" || fail "$n: the clock did not settle"
	echo "$n: $(grep 'clock settled' "$T/node-$n.log")"
done

SKEW_MS=5 GAP_MS=100
if [ "${CX_SANITIZE:-none}" != none ]; then SKEW_MS=10; fi

# after_stall: wait until 0.5 s after the end of the proxy's next periodic
# stall, so that an alert of a few seconds runs on the link between two.
after_stall() {
	_k=$(proxy_events 'stall for 2000 ms$' | wc -l)
	wait_for 40 sh -c "test \$(grep -c 'faultproxy: stall for 2000 ms\$' '$T/proxy.log') -gt $_k" ||
		fail "no periodic stall within 40 s"
	wait_ms_until $(( $(proxy_events 'stall for 2000 ms$' | tail -n 1) + 2500 ))
}

# run_live NAME: one live alert to the poles from the speech file, recorded
# to $T/NAME.rec.
run_live() {
	record_shared "rec-$1" "$T/$1.rec"
	sleep 1
	"$CUNXIANG" live -c "$T/controller.yaml" --level 2 --tag river \
		--input "$T/speech.wav" --wait 10 > "$T/$1.out" 2>&1 ||
		{ cat "$T/$1.out"; fail "cunxiang live ($1) failed"; }
	cat "$T/$1.out"
	sleep 1
	stop_proc "rec-$1"
}

after_stall
run_live clean
grep -q 'completed on 3 of 3 nodes' "$T/clean.out" || fail "not every node completed the live alert"
for n in n1 n2 n3; do echo "$n: clock offset $(status_field $n clock_offset_us) us"; done
python3 "$MATCH" --channels 3 --use 0,1,2 --names n1,n2,n3 --max-skew-ms "$SKEW_MS" \
	--max-gap-ms "$GAP_MS" "$T/clean.rec" "$T/speech.raw" > "$T/clean.match" ||
	fail "the live speech over the link has gaps or does not match: $(cat "$T/clean.match")"
cat "$T/clean.match"
for n in n1 n2 n3; do
	wait_for 10 grep -q 'live stream .* over' "$T/node-$n.log" || fail "$n did not close the stream"
	echo "$n: $(grep 'live stream .* over' "$T/node-$n.log" | tail -n 1)"
done

# The second alert meets a stall 2 s after it starts.
after_stall
( sleep 3; proxy_ctl stall 2000 ) &
run_live stalled
grep -q 'completed on 3 of 3 nodes' "$T/stalled.out" || fail "not every node completed the stalled live alert"
python3 "$MATCH" --channels 3 --use 0,1,2 --names n1,n2,n3 --max-skew-ms "$SKEW_MS" \
	--min-corr 0 --max-gap-ms 5000 --max-dur-ms 5000 "$T/stalled.rec" "$T/speech.raw" > "$T/stalled.match" ||
	fail "the poles are not in step after the stall: $(cat "$T/stalled.match")"
echo "a 2 s stall mid-stream:"
cat "$T/stalled.match"
for n in n1 n2 n3; do
	wait_for 10 sh -c "test \$(grep -c 'live stream .* over' '$T/node-$n.log') -ge 2" ||
		fail "$n did not close the second stream"
	echo "$n: $(grep 'live stream .* over' "$T/node-$n.log" | tail -n 1)"
done
echo ok
