#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Alert fan-out and sync, side by side in one run:
#   fan-out   from running `cunxiang alert` (and from the alert's issued_ms)
#             to `started` on every targeted node: 3 real cunxiang-node
#             processes on PulseAudio null sinks, then 1,000 simulated nodes
#             (nodeswarm: 1,000 MQTT sessions in one epoll loop that verify,
#             fetch the audio, accept and send receipts as nodes do) —
#             p50, p95, max (goal: p95 <= 300 ms for 1,000 nodes); then
#             the simulated nodes again, each signing its receipts at once
#             (the other bound: see bench_alert_county.sh);
#   skew      latest - earliest onset of a planned broadcast on the 3 real
#             nodes, one PulseAudio timeline (goal <= 1 ms);
#   live      mouth-to-speaker latency and onset skew of a live alert
#             (bench_live.sh, run at the end; goals <= 400 ms, <= 1 ms).
# Usage: bench_alert.sh [ROUNDS] (default 5 alerts per group).
. "$(dirname "$0")/../integration/lib.sh"
need sox
need sqlite3
[ -x "${CX_NODESWARM:-}" ] || skip "nodeswarm not built"
rounds=${1:-5}
SIMS=1000
# 1,000 sessions: three descriptors each in the broker.
ulimit -n 8192 || fail "cannot raise the open-file limit"

start_broker
make_keys
set -- $(next_slot 60)
HHMM=$1 DAY=$2 START_MS=$3
mkdir -p "$T/sched/audio"
{
	cat <<CONF
township: 测试镇
area_code: "640104100000"
timezone: Asia/Shanghai
villages:
  - code: "640104100201"
    name: 永南村
    nodes:
      - { id: n1, households: 300, tags: [river] }
      - { id: n2, households: 200, tags: [river] }
      - { id: n3, households: 100, tags: [river] }
  - code: "640104100202"
    name: 永北村
    nodes:
CONF
	i=1
	while [ $i -le $SIMS ]; do
		printf '      - { id: sim-%04d, households: 10 }\n' $i
		i=$((i + 1))
	done
} > "$T/sched/fleet.yaml"
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/planned.wav" synth 2 sine 500 vol 0.5
sox -n -r 48000 -c 1 -b 16 "$T/alert.wav" synth 1 sine 1000 vol 0.5 || fail "sox"
cat > "$T/sched/planned.yaml" <<CONF
notices:
  planned:
    title: 定时广播
    audio: audio/planned.wav
broadcasts:
  - id: planned-bc
    notice: planned
    at: ["$HHMM"]
    days: ["$DAY"]
    targets: { tags: [river] }
    priority: important
    quiet_ok: true
CONF
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the bench fleet does not check"
write_controller "$T/sched"
start_pulse_shared n1 n2 n3
start_serve
for n in n1 n2 n3; do write_node $n $n; start_node $n; done
# County IT enrols the simulated poles' keys, as it does real ones.
"$CX_NODESWARM" --print-keys -n $SIMS --prefix sim- > "$T/swarm.keys" || fail "nodeswarm keys"
"$CUNXIANG" enrol -c "$T/controller.yaml" --file "$T/swarm.keys" > /dev/null || fail "cannot enrol the simulated poles"
# ... and gives each its broker account.
# shellcheck disable=SC2046
broker_account $(cut -d ' ' -f 1 "$T/swarm.keys")
spawn swarm "$CX_NODESWARM" -p "$BROKER_PORT" --pki "$BROKER_PKI" -k "$PUBKEY" -n $SIMS --prefix sim- \
	--area 640104100202
wait_for 60 grep -q "^ready $SIMS" "$T/swarm.log" || fail "the simulated nodes did not come up"
for n in n1 n2 n3; do
	wait_for 60 plan_cached $n || fail "$n did not get its plan"
done
sleep 2 # the first clock-offset burst

# round AREA [SUFFIX]: one alert to AREA; appends "NODE DELAY_FROM_CMD
# DELAY_FROM_ISSUE" to $T/AREA.delaysSUFFIX.
round() {
	_t0=$(now_ms)
	"$CUNXIANG" alert -c "$T/controller.yaml" --level 1 --area "$1" --audio "$T/alert.wav" \
		--wait 30 > "$T/alert.out" 2>&1 || { cat "$T/alert.out"; fail "alert to $1 did not start everywhere"; }
	_id=$(sql "select id from alerts order by issued_ms desc limit 1")
	sleep 1.5 # serve stores the last receipts
	sql "select r.node, r.started_ms - $_t0, r.started_ms - a.issued_ms from receipts r
		join alerts a on a.id = r.occ where r.occ = '$_id' and r.state = 'started'" |
		tr '|' ' ' >> "$T/$1.delays${2:-}"
	grep '^started on' "$T/alert.out"
}

echo "3 real nodes:"
for k in $(seq "$rounds"); do round 640104100201; done
[ "$(date +%s%3N)" -lt $((START_MS - 3000)) ] || fail "the planned broadcast came too soon; raise its lead"

# The planned broadcast, on one timeline.
record_shared rec "$T/planned.rec"
wait_ms_until $((START_MS + 3000))
wait_for 20 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where occ like 'planned-bc@%' and state='completed'\") -ge 3" ||
	fail "the planned broadcast did not complete on every node"
stop_proc rec
"$CX_ONSET" -c 3 -t 2000 "$T/planned.rec" > "$T/planned.onsets" || fail "no onset in the planned recording"

echo "$SIMS simulated nodes:"
for k in $(seq "$rounds"); do round 640104100202; done
# The same with each simulated pole signing its receipts at once (see
# bench_alert_county.sh: the real figure lies between the two).
kill -USR1 "$(pid_of swarm)"
echo "$SIMS simulated nodes, signing at once:"
for k in $(seq "$rounds"); do round 640104100202 .at-once; done

python3 - "$T/640104100201.delays" "$T/640104100202.delays" "$T/planned.onsets" "$SIMS" "$rounds" \
	"$T/640104100202.delays.at-once" <<'PY'
import sys
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]
verdict = lambda ok: "goal met" if ok else "GOAL MISSED"
print()
print("alert fan-out, `cunxiang alert` run -> `started` (and alert issued_ms -> `started`):")
print("%-26s %7s %8s %8s %8s   %8s %8s %8s" % ("", "starts", "p50", "p95", "max", "p50", "p95", "max"))
for name, path, want, goal in (("3 real nodes", sys.argv[1], 3, None),
                               ("%s simulated nodes" % sys.argv[4], sys.argv[2], int(sys.argv[4]), 300),
                               ("  the same, signing at once", sys.argv[6], int(sys.argv[4]), None)):
    rows = [l.split() for l in open(path)]
    cmd = [int(r[1]) for r in rows]
    iss = [int(r[2]) for r in rows]
    line = "%-26s %7d %6d ms %5d ms %5d ms   %5d ms %5d ms %5d ms" % (
        name, len(rows), pct(cmd, 50), pct(cmd, 95), max(cmd), pct(iss, 50), pct(iss, 95), max(iss))
    if goal:
        line += "   (goal p95 <= %d ms: %s)" % (goal, verdict(pct(cmd, 95) <= goal))
    print(line)
    if len(rows) != want * int(sys.argv[5]):
        print("  %d of %d starts recorded" % (len(rows), want * int(sys.argv[5])))
on = [int(l.split()[1]) for l in open(sys.argv[3]) if l.split()[1] != "-"]
if len(on) == 3:
    sk = (max(on) - min(on)) / 48.0
    print("planned broadcast onset skew over 3 nodes: %.3f ms (goal <= 1 ms: %s)" % (sk, verdict(sk <= 1)))
else:
    print("planned broadcast heard on %d of 3 nodes" % len(on))
PY
stop_proc swarm
grep '^alerts' "$T/swarm.log"

echo
echo "live alert (bench_live.sh):"
sh "$(dirname "$0")/bench_live.sh" 8 | grep -E '^live |^burst'
