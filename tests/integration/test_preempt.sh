#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# An alert cuts into a routine broadcast (DESIGN "Priority and preemption"):
# four nodes on one PulseAudio timeline play a routine notice (3 s of 400 Hz,
# then 3 s of 700 Hz); 1.5 s in, a level Ⅱ alert (2 s of 1000 Hz) goes to
# the river nodes n1..n3. Their recordings show the routine notice, the
# alert within 1 s of its issue, then the routine notice again from its
# start (a whole 400 Hz part, then the 700 Hz part); n4 (hill) plays the
# routine notice through. Receipts: the alert accepted, started, completed
# on n1..n3; the routine event started, interrupted ("preempted by" the
# alert), started again and completed there, started and completed on n4.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3
TRACK="$CX_SRC/tests/tools/tone_track.py"

start_broker
make_keys
set -- $(next_slot 30)
HHMM=$1 DAY=$2 START_MS=$3

write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river n4:50:hill
mkdir -p "$T/sched/audio"
sox -n -r 48000 -c 1 -b 16 "$T/p1.wav" synth 3 sine 400 vol 0.5
sox -n -r 48000 -c 1 -b 16 "$T/p2.wav" synth 3 sine 700 vol 0.5
sox "$T/p1.wav" "$T/p2.wav" "$T/sched/audio/routine.wav" || fail "sox"
sox -n -r 48000 -c 1 -b 16 "$T/alert.wav" synth 2 sine 1000 vol 0.5 || fail "sox"
cat > "$T/sched/routine.yaml" <<CONF
notices:
  daily:
    title: 每日广播
    audio: audio/routine.wav
broadcasts:
  - id: daily-bc
    notice: daily
    at: ["$HHMM"]
    days: ["$DAY"]
    targets: all
    volume: 100
    priority: routine
CONF
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the test schedule does not check"
write_controller "$T/sched"
start_pulse_shared n1 n2 n3 n4
start_serve
for n in n1 n2 n3 n4; do write_node $n $n; start_node $n; done
for n in n1 n2 n3 n4; do
	wait_for 30 plan_cached $n || fail "$n did not get its plan and audio"
done

record_shared rec "$T/all.rec"
wait_ms_until $((START_MS + 1500))
ISSUE_MS=$(now_ms)
"$CUNXIANG" alert -c "$T/controller.yaml" --level 2 --tag river --audio "$T/alert.wav" \
	--title 山洪预警 --wait 10 > "$T/alert.out" 2>&1 ||
	{ cat "$T/alert.out"; fail "the alert did not start on every river node"; }
cat "$T/alert.out"
ID=$(sql "select id from alerts")
ISSUED_MS=$(sql "select issued_ms from alerts where id='$ID'")
# The routine notice ends about 1.5 + 2 + 6 s after its start.
wait_ms_until $((START_MS + 11000))
wait_for 20 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where occ like 'daily-bc@%' and state='completed'\") -ge 4" ||
	fail "the routine broadcast did not complete on every node"
sleep 0.5
stop_proc rec

python3 "$TRACK" --channels 4 --names n1,n2,n3,n4 "$T/all.rec" > "$T/runs" || fail "tone_track"
cat "$T/runs"

# The timeline of each node, against the planned start: the routine onset
# is START_MS (nodes start within a few ms of it, test_timing), so a sample
# s of node N is at START_MS + (s - onset_N) in wall-clock time.
python3 - "$T/runs" "$START_MS" "$ISSUE_MS" "$ISSUED_MS" <<'PY' || fail "the recordings are not routine, alert, routine"
import sys
runs = {}
for line in open(sys.argv[1]):
    n, s, e, hz = line.split()
    runs.setdefault(n, []).append((float(s), float(e), int(hz)))
start_ms, issue_ms, issued_ms = (int(x) for x in sys.argv[2:5])

def tones(n):
    """Runs of sound longer than 50 ms, as (start, length, hz), silence dropped."""
    return [(s, e - s, hz) for s, e, hz in runs.get(n, []) if hz and e - s > 0.05]

def near(a, b, tol):
    return abs(a - b) <= tol

bad = []
for n in ("n1", "n2", "n3"):
    t = tones(n)
    shape = [hz for _, _, hz in t]
    if shape != [400, 1000, 400, 700]:
        bad.append(f"{n}: tones {shape}, want routine 400, alert 1000, routine 400 then 700")
        continue
    onset = t[0][0]
    cut = (t[1][0] - onset) * 1000 + start_ms
    print(f"{n}: routine for {t[0][1]:.2f} s, alert {cut - issue_ms:.0f} ms after `cunxiang alert` "
          f"was run ({cut - issued_ms:.0f} ms after its issued_ms) for {t[1][1]:.2f} s, "
          f"routine again {t[2][1]:.2f} s + {t[3][1]:.2f} s")
    if cut - issue_ms > 1000:
        bad.append(f"{n}: the alert started {cut - issue_ms:.0f} ms after issue, more than 1 s")
    if not near(t[1][1], 2.0, 0.1):
        bad.append(f"{n}: the alert played {t[1][1]:.2f} s, not 2 s")
    if not near(t[2][1], 3.0, 0.1) or not near(t[3][1], 3.0, 0.1):
        bad.append(f"{n}: the routine notice did not play again from its start")
    if t[2][0] - (t[1][0] + t[1][1]) > 0.5:
        bad.append(f"{n}: {t[2][0] - t[1][0] - t[1][1]:.2f} s of silence before the routine restart")
t = tones("n4")
print(f"n4: tones {[hz for _, _, hz in t]}, {' + '.join('%.2f s' % l for _, l, _ in t)}")
if [hz for _, _, hz in t] != [400, 700] or not all(near(l, 3.0, 0.1) for _, l, _ in t):
    bad.append("n4 (not targeted) did not play the routine notice through")
if bad:
    sys.exit("\n".join(bad))
PY

receipts() { # NODE OCC-PATTERN: the states in seq order
	sql "select state from receipts where node='$1' and occ like '$2' order by seq" | tr '\n' ' '
}
for n in n1 n2 n3; do
	[ "$(receipts $n "$ID")" = "accepted started completed " ] ||
		fail "$n: alert receipts '$(receipts $n "$ID")'"
	[ "$(receipts $n 'daily-bc@%')" = "started interrupted started completed " ] ||
		fail "$n: routine receipts '$(receipts $n 'daily-bc@%')'"
	r=$(sql "select reason from receipts where node='$n' and occ like 'daily-bc@%' and state='interrupted'")
	[ "$r" = "preempted by $ID" ] || fail "$n: interrupted because '$r'"
	s=$(sql "select started_ms from receipts where node='$n' and occ='$ID' and state='started'")
	echo "$n: alert started ${s:+$((s - ISSUED_MS))} ms after issued_ms (receipt)"
	[ -n "$s" ] && [ $((s - ISSUED_MS)) -le 1000 ] || fail "$n: the alert's started receipt is late"
done
[ "$(receipts n4 'daily-bc@%')" = "started completed " ] ||
	fail "n4: routine receipts '$(receipts n4 'daily-bc@%')'"
[ "$(receipts n4 "$ID")" = "" ] || fail "n4 is not targeted but has receipts for the alert"
echo ok
