#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# What the broker holds retained is repaired (anonymous broker). An intruder
# publishes garbage over a broadcast's retained asset, clears the retained
# plan of n2 (a pole not yet started) and publishes another plan over n1's:
# serve republishes the real ones at once, and again when the same is done
# right after a repair (rate-limited, then by its audit). serve restarted
# while the asset is gone from the broker republishes it within its audit.
# n2, started afterwards, gets its plan and the asset and plays the
# broadcast.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3
need mosquitto_sub

# held TOPIC FILE: the broker's retained message on TOPIC, into FILE.
held() {
	mosquitto_sub $MQ -t "$1" -C 1 -W 2 -N > "$2" 2>/dev/null
	return 0
}
# asset_ok SHA: the broker holds the asset SHA intact.
asset_ok() {
	held "cx/v1/asset/$1" "$T/held.asset"
	[ "$(sha256sum < "$T/held.asset" | cut -d ' ' -f 1)" = "$1" ]
}
# plan_ok NODE: the broker holds the plan serve signed for NODE.
plan_ok() {
	held "cx/v1/plan/$1" "$T/held.plan"
	cmp -s "$T/held.plan" "$T/data/plans/$1.msg"
}

start_broker
make_keys
set -- $(next_slot 75)
HHMM=$1 DAY=$2 START=$3
write_fleet "$T/sched" n1:300:river n2:200:river
write_broadcast repair-bc 2
write_controller "$T/sched"
alsa_file_pcms n1 n2
start_serve
write_node n1 n1
write_node n2 n2
start_node n1
wait_for 40 plan_cached n1 || fail "n1 has no plan or misses an asset"
SHA=$(plan_assets n1 | cut -d ' ' -f 1)
OCC="repair-bc@${DAY}T$HHMM"
asset_ok "$SHA" && plan_ok n1 && plan_ok n2 || fail "the broker does not hold what serve published"

# ---- overwritten and cleared: repaired at once ----
pub "cx/v1/asset/$SHA" -r -m "garbage"
pub cx/v1/plan/n2 -r -n
pub cx/v1/plan/n1 -r -m '{"type":"plan","node":"n1","issued_ms":1,"events":[]}'
wait_for 10 asset_ok "$SHA" || fail "the overwritten asset was not republished"
wait_for 10 plan_ok n2 || fail "the cleared plan of n2 was not republished"
wait_for 10 plan_ok n1 || fail "the overwritten plan of n1 was not republished"
grep "republished" "$T/serve.log"

# ---- the same again right away: repaired once the rate limit allows ----
pub cx/v1/plan/n2 -r -n
pub "cx/v1/asset/$SHA" -r -n
wait_for 30 plan_ok n2 || fail "the plan of n2, cleared twice, was not republished"
wait_for 30 asset_ok "$SHA" || fail "the asset, cleared twice, was not republished"

# ---- serve away while the asset is cleared: its audit republishes it ----
stop_proc serve
pub "cx/v1/asset/$SHA" -r -n
held "cx/v1/asset/$SHA" "$T/held.asset"
[ ! -s "$T/held.asset" ] || fail "the broker still holds the asset"
start_serve
wait_for 30 asset_ok "$SHA" || fail "serve's audit did not republish the missing asset"
grep "republished asset .*did not hold it" "$T/serve.log" || fail "no audit repair in serve's log"

# ---- a pole started afterwards plays the broadcast ----
[ "$(now_ms)" -lt $((START - 15000)) ] || fail "the repairs took too long for the slot $HHMM"
start_node n2
wait_for 30 plan_cached n2 || fail "n2 did not get its plan and the asset"
wait_ms_until $((START + 2500))
for n in n1 n2; do
	wait_for 30 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where node='$n' and occ='$OCC' and state='completed'\") = 1" ||
		fail "$n did not complete the broadcast"
done
echo ok
