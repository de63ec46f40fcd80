#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Reports from evidence, end to end: serve, three real nodes, a broadcast and
# an alert. `cunxiang report` gives the notice a reach of 100% and the alert
# three started nodes; with one node stopped before a second broadcast of
# another notice, that notice's reach is 2/3.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3

start_broker
make_keys
set -- $(next_slot 40)
HHMM1=$1 DAY1=$2 START1=$3
# The second broadcast a minute later.
set -- $(python3 - "$START1" <<'PY'
import sys, datetime, zoneinfo
t = datetime.datetime.fromtimestamp(int(sys.argv[1]) / 1000 + 60, zoneinfo.ZoneInfo("Asia/Shanghai"))
print(t.strftime("%H:%M"), t.strftime("%Y-%m-%d"), int(t.timestamp() * 1000))
PY
)
HHMM2=$1 DAY2=$2 START2=$3

write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river
mkdir -p "$T/sched/audio"
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/a.wav" synth 2 sine 440 fade 0.01 2 0.01
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/b.wav" synth 2 sine 660 fade 0.01 2 0.01
cat > "$T/sched/e2e.yaml" <<CONF
notices:
  first:
    title: 第一条通知
    audio: audio/a.wav
  second:
    title: 第二条通知
    audio: audio/b.wav
broadcasts:
  - id: first-bc
    notice: first
    at: ["$HHMM1"]
    days: ["$DAY1"]
    targets: all
    priority: important
    quiet_ok: true
  - id: second-bc
    notice: second
    at: ["$HHMM2"]
    days: ["$DAY2"]
    targets: all
    priority: important
    quiet_ok: true
CONF
"$CUNXIANG" check "$T/sched" >/dev/null || fail "the test schedule does not check"
write_controller "$T/sched"
alsa_file_pcms n1 n2 n3
start_serve
for n in n1 n2 n3; do write_node $n $n; start_node $n; done
for n in n1 n2 n3; do
	wait_for 30 test -s "$T/state-$n/plan.msg" || fail "$n got no plan"
done

# An alert to all three while nothing else plays.
"$CUNXIANG" alert -c "$T/controller.yaml" --level 3 --area 640104100201 \
	--audio "$T/sched/audio/a.wav" --title 演练 --wait 20 > "$T/alert.out" 2>&1 ||
	{ cat "$T/alert.out"; fail "the alert did not start on every node"; }
ALERT=$(sqlite3 -batch -noheader "$T/data/receipts.db" "select id from alerts limit 1")

# The first broadcast plays everywhere.
wait_ms_until $((START1 + 2500))
wait_for 30 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where occ like 'first-bc@%' and state='completed'\") -ge 3" ||
	fail "the first broadcast did not complete on every node"
# n3 is stopped before the second one.
stop_proc node-n3
wait_ms_until $((START2 + 2500))
wait_for 30 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where occ like 'second-bc@%' and state='completed'\") -ge 2" ||
	fail "the second broadcast did not complete on n1 and n2"
sleep 2

"$CUNXIANG" report -c "$T/controller.yaml" --from "$DAY1" --to "$DAY2" --format json \
	-o "$T/report.json" || fail "report failed"
"$CUNXIANG" report -c "$T/controller.yaml" --from "$DAY1" --to "$DAY2" > "$T/report.txt" ||
	fail "text report failed"
cat "$T/report.txt"
python3 - "$T/report.json" "$ALERT" <<'PY' || fail "report figures are wrong"
import json, sys
r = json.load(open(sys.argv[1]))
notices = {n["notice"]: n for n in r["notices"]}
def check(what, got, want):
    print(f"{what}: {got}")
    if abs(got - want) > 1e-6:  # the JSON carries six decimals
        sys.exit(f"{what} is {got}, want {want}")
check("reach of 'first'", notices["first"]["reach"], 1.0)
check("household reach of 'first'", notices["first"]["household_reach"], 1.0)
check("reach of 'second'", notices["second"]["reach"], 2 / 3)
check("household reach of 'second'", notices["second"]["household_reach"], 500 / 600)
alerts = {a["alert"]: a for a in r["alerts"]}
a = alerts[sys.argv[2]]
check("alert targeted", a["targeted"], 3)
check("alert started", a["started"], 3)
PY
echo ok
