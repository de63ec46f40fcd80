#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Alerts among themselves, on three nodes on one PulseAudio timeline:
# - two level Ⅲ alerts queue: A (3 s of 400 Hz) plays whole, then B (2 s of
#   700 Hz);
# - a level Ⅰ alert C (1.5 s of 1000 Hz) issued while B plays cuts into it at
#   once; B then plays again from its start;
# - `cunxiang cancel` of a long alert D (10 plays of 1 s of 550 Hz) silences
#   every node within 1 s; D's receipts say interrupted, "cancelled".
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3
TRACK="$CX_SRC/tests/tools/tone_track.py"
NODES="n1 n2 n3"

start_broker
make_keys
write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the test fleet does not check"
write_controller "$T/sched"
sox -n -r 48000 -c 1 -b 16 "$T/a.wav" synth 3 sine 400 vol 0.5
sox -n -r 48000 -c 1 -b 16 "$T/b.wav" synth 2 sine 700 vol 0.5
sox -n -r 48000 -c 1 -b 16 "$T/c.wav" synth 1.5 sine 1000 vol 0.5
sox -n -r 48000 -c 1 -b 16 "$T/d.wav" synth 1 sine 550 vol 0.5 || fail "sox"
start_pulse_shared $NODES
start_serve
for n in $NODES; do write_node $n $n; start_node $n; done
for n in $NODES; do
	wait_for 30 test -s "$T/state-$n/plan.msg" || fail "$n got no plan"
done
sleep 2 # the first clock-offset burst

# alert LEVEL FILE WAIT [ARGS...]: issue one to the village; prints its id.
alert() {
	_l=$1 _f=$2 _w=$3; shift 3
	"$CUNXIANG" alert -c "$T/controller.yaml" --level "$_l" --area 640104100201 \
		--audio "$_f" --wait "$_w" "$@" > "$T/alert.out" 2>&1
	_rc=$?
	cat "$T/alert.out" >&2
	[ "$_rc" = 0 ] || [ "$_w" = 0 ] || fail "alert $_f: exit $_rc"
	sed -n 's/^[Aa]lert \([0-9]*-[0-9]*-[0-9]*\).*/\1/p' "$T/alert.out" | head -n 1
}
last_id() { sql "select id from alerts order by issued_ms desc limit 1"; }
started_ms() { # NODE ID: when NODE's last "started" receipt for ID says it started
	sql "select max(started_ms) from receipts where node='$1' and occ='$2' and state='started'"
}

record_shared rec "$T/all.rec"
sleep 1
# ---- two level Ⅲ queue; a level Ⅰ cuts in ----
alert 3 "$T/a.wav" 10 > /dev/null
A=$(last_id)
alert 3 "$T/b.wav" 0 > /dev/null
B=$(last_id)
[ "$A" != "$B" ] || fail "two alerts, one id"
A_START=$(started_ms n1 "$A")
# B starts when A ends (3 s); C goes out 0.8 s into B.
wait_ms_until $((A_START + 3800))
alert 1 "$T/c.wav" 10 > /dev/null
C=$(last_id)
C_ISSUED=$(sql "select issued_ms from alerts where id='$C'")
wait_for 20 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where occ='$B' and state='completed'\") -ge 3" ||
	fail "B did not complete on every node after C"

# ---- cancel ----
alert 2 "$T/d.wav" 10 --repeat 10 > /dev/null
D=$(last_id)
sleep 2
CANCEL_MS=$(now_ms)
"$CUNXIANG" cancel -c "$T/controller.yaml" "$D" > "$T/cancel.out" 2>&1 ||
	{ cat "$T/cancel.out"; fail "cancel failed"; }
cat "$T/cancel.out"
wait_for 10 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where occ='$D' and state='interrupted'\") -ge 3" ||
	fail "D was not interrupted on every node"
sleep 1
stop_proc rec

python3 "$TRACK" --channels 3 --names n1,n2,n3 "$T/all.rec" > "$T/runs" || fail "tone_track"
cat "$T/runs"
# Anchors: n's first sound is A's start (its started receipt), so sample
# times map to wall time per node.
anchors=""
for n in $NODES; do anchors="$anchors $(started_ms $n "$A")"; done
python3 - "$T/runs" "$C_ISSUED" "$CANCEL_MS" $anchors <<'PY' || fail "the recordings do not show queue, cut-in and cancel"
import sys
runs = {}
for line in open(sys.argv[1]):
    n, s, e, hz = line.split()
    if int(hz) and float(e) - float(s) > 0.05:
        runs.setdefault(n, []).append((float(s), float(e), int(hz)))
c_issued, cancel_ms = int(sys.argv[2]), int(sys.argv[3])
anchor = dict(zip(("n1", "n2", "n3"), (int(x) for x in sys.argv[4:7])))
bad = []
for n in ("n1", "n2", "n3"):
    r = runs.get(n, [])
    shape = [hz for _, _, hz in r]
    # D's ten plays of 550 Hz run together as one tone.
    if shape != [400, 700, 1000, 700, 550]:
        bad.append(f"{n}: tones {shape}, want A 400, B 700, C 1000, B 700 again, D 550")
        continue
    wall = lambda s: anchor[n] + (s - r[0][0]) * 1000
    a, b1, c, b2, d = r
    print(f"{n}: A {a[1]-a[0]:.2f} s, B {b1[1]-b1[0]:.2f} s then cut, C {c[1]-c[0]:.2f} s "
          f"starting {wall(c[0]) - c_issued:.0f} ms after its issue, B again {b2[1]-b2[0]:.2f} s, "
          f"D silenced {wall(d[1]) - cancel_ms:.0f} ms after the cancel")
    if abs((a[1] - a[0]) - 3.0) > 0.1:
        bad.append(f"{n}: A was not played whole before B (queue)")
    if b1[0] - a[1] > 0.3:
        bad.append(f"{n}: {b1[0] - a[1]:.2f} s between A and B")
    if not 0.3 < b1[1] - b1[0] < 1.9:
        bad.append(f"{n}: B was not cut short by C")
    if wall(c[0]) - c_issued > 1000:
        bad.append(f"{n}: the level I alert started {wall(c[0]) - c_issued:.0f} ms after issue")
    if abs((c[1] - c[0]) - 1.5) > 0.1 or abs((b2[1] - b2[0]) - 2.0) > 0.1:
        bad.append(f"{n}: C, then B from its start, did not play whole")
    if not 0 <= wall(d[1]) - cancel_ms <= 1000:
        bad.append(f"{n}: D fell silent {wall(d[1]) - cancel_ms:.0f} ms after the cancel")
if bad:
    sys.exit("\n".join(bad))
PY

receipts() { sql "select state from receipts where node='$1' and occ='$2' order by seq" | tr '\n' ' '; }
for n in $NODES; do
	[ "$(receipts $n "$A")" = "accepted started completed " ] || fail "$n: A: $(receipts $n "$A")"
	[ "$(receipts $n "$B")" = "accepted started interrupted started completed " ] ||
		fail "$n: B: $(receipts $n "$B")"
	r=$(sql "select reason from receipts where node='$n' and occ='$B' and state='interrupted'")
	[ "$r" = "preempted by $C" ] || fail "$n: B interrupted because '$r'"
	[ "$(receipts $n "$C")" = "accepted started completed " ] || fail "$n: C: $(receipts $n "$C")"
	[ "$(receipts $n "$D")" = "accepted started interrupted " ] || fail "$n: D: $(receipts $n "$D")"
	r=$(sql "select reason from receipts where node='$n' and occ='$D' and state='interrupted'")
	[ "$r" = "cancelled" ] || fail "$n: D interrupted because '$r'"
done
echo ok
