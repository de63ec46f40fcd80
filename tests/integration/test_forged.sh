#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# An intruder on an anonymous broker forges evidence; none of it counts.
# Poles n1 (200 households, running) and n2 (400, enrolled but never
# started) are targeted by one broadcast and one alert.
# (a) Forged: receipts and a status for n2, unsigned and signed with the
#     intruder's own key, and a real signed receipt of n1 copied to n2's
#     topic, are quarantined: the report reaches 200 of 600 households,
#     `cunxiang nodes` shows n2 never seen.
# (b) Pre-empted: receipts under n1's next seqs published before n1 plays
#     do not take the place of n1's real ones, which are all stored.
# (c) `cunxiang alert`: forged accepted/started receipts for n2 leave it
#     "not started" and the command exits 3.
# (d) A status of n1 recorded off the broker and replayed after n1 stopped
#     does not make it look alive.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3
need mosquitto_sub
[ -n "${CX_SIGN:-}" ] && [ -x "$CX_SIGN" ] || skip "cxsign not built"

start_broker
make_keys
set -- $(next_slot 35)
HHMM=$1 DAY=$2 START=$3
write_fleet "$T/sched" n1:200:river n2:400:river
sox -n -r 48000 -c 1 -b 16 "$T/alert.wav" synth 1 sine 880 fade 0.01 1 0.01
write_broadcast forged-bc 2
write_controller "$T/sched"
alsa_file_pcms n1 n2
"$CUNXIANG" keygen -o "$T/intruder" > /dev/null || fail "keygen"
start_serve
write_node n1 n1
write_node n2 n2   # enrolled; never started
start_node n1
wait_for 40 plan_cached n1 || fail "n1 has no plan or misses an asset"
OCC="forged-bc@${DAY}T$HHMM"
spawn receipts mosquitto_sub $MQ -q 1 -t 'cx/v1/receipt/n1'

# forge NODE SEQ STATE [KEYFILE]: a receipt of NODE for the broadcast,
# unsigned or signed with KEYFILE.
forge() {
	_j=$(fake_receipt "$1" "$2" "$OCC" plan "$3")
	if [ -n "${4:-}" ]; then
		printf '%s' "$_j" | "$CX_SIGN" "$4" > "$T/forged.msg" || fail "cxsign"
		pub "cx/v1/receipt/$1" -f "$T/forged.msg"
	else
		pub "cx/v1/receipt/$1" -m "$_j"
	fi
}

# ---- before the broadcast: (a) for n2 and (b) n1's next seqs ----
[ "$(now_ms)" -lt $((START - 5000)) ] || fail "setup took too long for the slot $HHMM"
Q0=$(sql "select count(*) from quarantine")
forge n2 1 started
forge n2 2 completed
forge n2 3 started "$T/intruder/signing.key"
forge n2 4 completed "$T/intruder/signing.key"
for s in 1 2 3 4 5; do
	forge n1 $s completed "$T/intruder/signing.key"
	forge n1 $((s + 5)) completed
done
STATUS='{"type":"status","node":"n2","boot":99,"n":1,"state":"idle","plan":"current","assets_missing":0,"volume":100,"spool":0,"disk":"ok","rejected":0,"xruns":0,"uptime_s":5,"version":"0.1.0"}'
pub cx/v1/status/n2 -r -m "$STATUS"
printf '%s' "$STATUS" | "$CX_SIGN" "$T/intruder/signing.key" > "$T/status.msg"
pub cx/v1/status/n2 -r -f "$T/status.msg"
wait_for 10 sh -c "test \$(sqlite3 '$T/data/receipts.db' 'select count(*) from quarantine') -ge $((Q0 + 16))" ||
	fail "the forgeries are not all in the quarantine: $(sql "select count(*) from quarantine") rows"
[ "$(sql "select count(*) from receipts where node in ('n1','n2')")" = 0 ] ||
	fail "a forged receipt was stored: $(sql "select node, seq, state from receipts")"
echo "$(($(sql "select count(*) from quarantine") - Q0)) forgeries quarantined"

# ---- the broadcast plays on n1 only ----
wait_ms_until $((START + 2500))
wait_for 30 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where node='n1' and occ='$OCC' and state='completed'\") = 1" ||
	fail "n1's completed receipt is not stored"
wait_for 20 receipts_match n1 || fail "n1: the store differs from what the node spooled:
node:  $(node_receipts n1 | tr '\n' ';')
store: $(store_receipts n1 | tr '\n' ';')"
wait_for 20 spool_drained n1 || fail "n1's spool did not drain"
echo "n1: $(store_receipts n1 | tr '\n' ';')"

# A real signed receipt of n1, copied to n2's topic.
wait_for 10 test -s "$T/receipts.log" || fail "no receipt of n1 seen on the broker"
head -n 2 "$T/receipts.log" > "$T/real.msg"
Q1=$(sql "select count(*) from quarantine")
pub cx/v1/receipt/n2 -f "$T/real.msg"
wait_for 10 sh -c "test \$(sqlite3 '$T/data/receipts.db' 'select count(*) from quarantine') -gt $Q1" ||
	fail "n1's receipt on n2's topic was not quarantined"
[ "$(sql "select count(*) from receipts where node='n2'")" = 0 ] || fail "n2 has receipts"

"$CUNXIANG" report -c "$T/controller.yaml" --from "$DAY" --to "$DAY" --format json \
	-o "$T/report.json" || fail "report failed"
python3 - "$T/report.json" <<'PY' || fail "the report counts forgeries"
import json, sys
r = json.load(open(sys.argv[1]))
n = {x["notice"]: x for x in r["notices"]}["notice-a"]
s = r["summary"][0] if isinstance(r["summary"], list) else r["summary"]
print("household reach", n["household_reach"], "unverified messages", s["unverified_messages"])
assert abs(n["household_reach"] - 200 / 600) < 1e-6, n
assert s["unverified_messages"] >= 17, s
PY
"$CUNXIANG" nodes -c "$T/controller.yaml" --format json > "$T/nodes.json" || fail "nodes failed"
python3 - "$T/nodes.json" <<'PY' || fail "nodes believes a forged status"
import json, sys
n = {x["node"]: x for x in json.load(open(sys.argv[1]))["nodes"]}
assert n["n2"]["state"] == "never" and n["n2"]["last_seen_ms"] is None, n["n2"]
assert n["n1"]["state"] == "idle" and n["n1"]["key_id"], n["n1"]
PY

# ---- (c) an alert: n2's forged receipts do not make it started ----
forge_alert() {
	wait_for 20 test -s "$T/alert.msg" || return 1
	_id=$(head -n 1 "$T/alert.msg" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
	_k=20
	for st in accepted started; do
		_k=$((_k + 1))
		_j=$(fake_receipt n2 $_k "$_id" alert $st)
		pub cx/v1/receipt/n2 -m "$_j"
		printf '%s' "$_j" | "$CX_SIGN" "$T/intruder/signing.key" > "$T/fa.msg"
		pub cx/v1/receipt/n2 -f "$T/fa.msg"
	done
}
mosquitto_sub $MQ -t cx/v1/alert -C 1 -W 20 > "$T/alert.msg" &
SUB=$!
sleep 0.5
"$CUNXIANG" alert -c "$T/controller.yaml" --level 2 --tag river --audio "$T/alert.wav" \
	--wait 8 > "$T/alert.out" 2>&1 &
AL=$!
forge_alert || fail "the alert was not published"
rc=0
wait $AL || rc=$?
wait $SUB
cat "$T/alert.out"
[ $rc = 3 ] || fail "alert exits $rc with n2 never started, want 3"
grep -q '^started on 1 of 2 nodes' "$T/alert.out" || fail "alert counts n2 as started"
grep -q '^  n2 .*no receipt' "$T/alert.out" || fail "n2 is not listed as not reached"

# ---- (d) n1's status replayed after it stopped ----
node_status n1 > "$T/n1-status.msg"
[ -s "$T/n1-status.msg" ] || fail "no retained status of n1"
stop_proc node-n1
wait_for 10 sh -c "test \"\$(sqlite3 '$T/data/receipts.db' \"select state from status where node='n1'\")\" = offline" ||
	fail "n1's clean stop did not make it offline: $(sql "select state from status where node='n1'")"
pub cx/v1/status/n1 -r -f "$T/n1-status.msg"
sleep 2
[ "$(sql "select state from status where node='n1'")" = offline ] ||
	fail "a replayed status made n1 look alive"
"$CUNXIANG" nodes -c "$T/controller.yaml" | grep -q '^n1 .* offline ' || fail "nodes shows n1 online"
echo ok
