#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A replayed or forged ack deletes nothing, on an anonymous broker.
# n1 and n2 play one broadcast; n2 is not enrolled yet, so serve stores and
# acknowledges none of its receipts and they stay in its spool. A real
# signed ack of n1 copied to cx/v1/ack/n2, an unsigned ack and one signed
# with an intruder's key are all rejected by n2: its spool keeps both
# receipts, through a broker restart, and once n2 is enrolled every one of
# them is stored.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3
need mosquitto_sub
[ -n "${CX_SIGN:-}" ] && [ -x "$CX_SIGN" ] || skip "cxsign not built"

broker_persistence_writable
start_broker
make_keys
set -- $(next_slot 30)
HHMM=$1 DAY=$2 START=$3
write_fleet "$T/sched" n1:300:river n2:200:river
write_broadcast ack-bc 2
# n2's configuration before the controller's: it is not enrolled (yet).
write_node n2 n2
write_controller "$T/sched"
write_node n1 n1
alsa_file_pcms n1 n2
"$CUNXIANG" keygen -o "$T/intruder" > /dev/null || fail "keygen"
start_serve
start_node n1
spawn node-n2 "$CUNXIANG_NODE" -c "$T/node-n2.yaml"
spawn acks mosquitto_sub $MQ -q 1 -t cx/v1/ack/n1
for n in n1 n2; do
	wait_for 40 plan_cached $n || fail "$n has no plan or misses an asset"
done
OCC="ack-bc@${DAY}T$HHMM"

wait_ms_until $((START + 2500))
for n in n1 n2; do
	wait_for 30 grep -q "receipt [0-9]*: $OCC completed" "$T/node-$n.log" ||
		fail "$n did not complete the broadcast"
done
wait_for 20 receipts_match n1 || fail "n1's receipts are not all stored"
wait_for 20 spool_drained n1 || fail "n1's spool did not drain"
[ "$(spool_count n2)" = 2 ] || fail "n2 holds $(spool_count n2) receipts, want 2"
[ "$(sql "select count(*) from receipts where node='n2'")" = 0 ] ||
	fail "receipts of n2, not enrolled, were stored"

# n1's last ack, through its seq 2: the same seqs n2 holds.
wait_for 10 sh -c "grep -q '\"seq\":2' '$T/acks.log'" || fail "no ack of n1 through seq 2: $(cat "$T/acks.log")"
grep -A1 '"seq":2' "$T/acks.log" | head -n 2 > "$T/ack-n1.msg"
echo "n1's ack: $(head -n 1 "$T/ack-n1.msg")"
KEY2=$(sed -n 's/.*key id \([0-9a-f]*\).*/\1/p' "$T/node-n2.log" | head -n 1)
[ -n "$KEY2" ] || fail "n2's key id is not in its log"
R0=$(grep -c 'rejected ack' "$T/node-n2.log")
pub cx/v1/ack/n2 -f "$T/ack-n1.msg"
pub cx/v1/ack/n2 -m '{"seq":2}'
pub cx/v1/ack/n2 -m "{\"type\":\"ack\",\"node\":\"n2\",\"key\":\"$KEY2\",\"seq\":2}"
printf '{"type":"ack","node":"n2","key":"%s","seq":2}' "$KEY2" |
	"$CX_SIGN" "$T/intruder/signing.key" > "$T/ack-forged.msg"
pub cx/v1/ack/n2 -f "$T/ack-forged.msg"
wait_for 10 sh -c "test \$(grep -c 'rejected ack' '$T/node-n2.log') -ge $((R0 + 4))" ||
	fail "n2 did not reject the four acks: $(grep 'ack' "$T/node-n2.log")"
grep 'rejected ack' "$T/node-n2.log" | tail -n 4
[ "$(spool_count n2)" = 2 ] || fail "a replayed ack deleted receipts of n2: $(spool_count n2) left"

# The broker restarts; n2 is enrolled: every receipt it holds is stored.
stop_broker
start_broker
enrol_node n2
wait_for 60 receipts_match n2 || fail "n2's receipts were not all stored:
node:  $(node_receipts n2 | tr '\n' ';')
store: $(store_receipts n2 | tr '\n' ';')"
wait_for 20 spool_drained n2 || fail "n2's spool did not drain"
echo "n2: $(store_receipts n2 | tr '\n' ';')"
echo ok
