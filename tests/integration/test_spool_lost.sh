#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A corrupt spool file is a hole no more (anonymous broker). With the
# broker down, n1 plays two broadcasts and holds four receipts; its seq 2 file is
# then overwritten with garbage (a bad sector, a torn write). Restarted, n1
# moves it to spool/bad and signs a "lost" record for seq 2: once the broker
# is back, seqs 1, 3 and 4 are stored, the lost record too, the spool drains,
# new receipts (an alert) keep flowing and are acknowledged, and the report
# counts one receipt lost on the pole.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3

start_broker
make_keys
set -- $(next_slot 30)
HHMM=$1 DAY=$2 START=$3
write_fleet "$T/sched" n1:300:river
mkdir -p "$T/sched/audio"
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/a.wav" synth 2 sine 523 fade 0.01 2 0.01
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/b.wav" synth 2 sine 784 fade 0.01 2 0.01
sox -n -r 48000 -c 1 -b 16 "$T/alert.wav" synth 1 sine 880 fade 0.01 1 0.01
cat > "$T/sched/lost.yaml" <<CONF
notices:
  notice-a:
    title: 通知甲
    audio: audio/a.wav
  notice-b:
    title: 通知乙
    audio: audio/b.wav
broadcasts:
  - id: lost-a
    notice: notice-a
    at: ["$HHMM"]
    days: ["$DAY"]
    targets: all
    priority: important
    quiet_ok: true
  - id: lost-b
    notice: notice-b
    at: ["$HHMM"]
    days: ["$DAY"]
    targets: all
    priority: important
    quiet_ok: true
CONF
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the test schedule does not check"
write_controller "$T/sched"
alsa_file_pcms n1
start_serve
write_node n1 n1
start_node n1
wait_for 40 plan_cached n1 || fail "n1 has no plan or misses an asset"
stop_broker
[ "$(now_ms)" -lt $((START - 3000)) ] || fail "setup took too long for the slot $HHMM"

wait_ms_until $((START + 4000))
wait_for 20 grep -q "receipt 4: lost-b@[^ ]* completed" "$T/node-n1.log" ||
	fail "n1 did not play both broadcasts"
[ "$(spool_count n1)" = 4 ] || fail "n1 holds $(spool_count n1) receipts, want 4"
stop_proc node-n1
F2="$T/state-n1/spool/00000000000000000002.json"
[ -f "$F2" ] || fail "no spool file for seq 2: $(ls "$T/state-n1/spool")"
printf '\000\377garbage{"seq":' > "$F2"

start_broker
start_node n1
wait_for 10 grep -q "unreadable files moved to spool/bad" "$T/node-n1.log" ||
	fail "n1 did not report the unreadable spool file"
ls "$T/state-n1/spool/bad/" | grep -q . || fail "nothing in spool/bad"
wait_for 60 sh -c "test \"\$(sqlite3 '$T/data/receipts.db' \"select group_concat(seq, ' ') from (select seq from receipts where node='n1' order by seq)\")\" = '1 3 4'" ||
	fail "n1's receipts 1, 3, 4 are not stored: $(store_receipts n1 | tr '\n' ';')"
[ "$(sql "select seq from receipts_lost where node='n1'")" = 2 ] ||
	fail "no lost record for seq 2: $(sql "select * from receipts_lost")"
echo "lost on n1: $(sql "select seq || ' ' || reason from receipts_lost where node='n1'")"
wait_for 20 spool_drained n1 || fail "n1's spool did not drain: $(spool_count n1) left"

# Receipts keep flowing: an alert's are stored and acknowledged.
"$CUNXIANG" alert -c "$T/controller.yaml" --level 3 --tag river --audio "$T/alert.wav" \
	--wait 15 > "$T/alert.out" 2>&1 || { cat "$T/alert.out"; fail "the alert did not start on n1"; }
wait_for 20 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where node='n1' and kind='alert' and state='completed'\") = 1" ||
	fail "the alert's completed receipt is not stored"
wait_for 20 spool_drained n1 || fail "n1's spool did not drain after the alert"
[ "$(sql "select count(*) from receipts where node='n1' and seq > 4")" -ge 3 ] || fail "the alert's receipts"

"$CUNXIANG" report -c "$T/controller.yaml" --from "$DAY" --to "$DAY" --format json \
	-o "$T/report.json" || fail "report failed"
python3 - "$T/report.json" <<'PY' || fail "the report does not count the receipt lost on the pole"
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"][0] if isinstance(r["summary"], list) else r["summary"]
lost = r["receipts_lost"]
print("lost on poles", s["lost_on_poles"], lost)
assert s["lost_on_poles"] == 1, s
assert len(lost) == 1 and lost[0]["node"] == "n1" and lost[0]["seq"] == 2, lost
PY
"$CUNXIANG" report -c "$T/controller.yaml" --from "$DAY" --to "$DAY" | grep -i "lost on poles" ||
	fail "the text report does not say it"
echo ok
