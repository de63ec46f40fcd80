#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A full disk and a power cut lose no receipt and replay no broadcast
# (anonymous broker). n1's state directory is a small file system of its
# own, filled to the last block after n1 has its plan; with the broker down
# it plays a broadcast, whose receipts and scheduler state go to the disk
# through the reserve, and is killed -9 right after. Restarted on the still
# full disk, it does not play the broadcast again; with the broker back,
# both receipts are stored, the status says the disk is full and
# `cunxiang nodes` shows it. Freed, the disk is reported ok again.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3

start_broker
make_keys
set -- $(next_slot 30)
HHMM=$1 DAY=$2 START=$3
write_fleet "$T/sched" n1:300:river
write_broadcast full-bc 3
write_controller "$T/sched"
alsa_file_pcms n1
# 10,000 receipt blocks of 4 KiB and 1 MiB: the reserve takes about 42 MiB.
mount_tmpfs "$T/state-n1" 64m
start_serve
write_node n1 n1
start_node n1
wait_for 40 plan_cached n1 || fail "n1 has no plan or misses an asset"
wait_for 20 status_is n1 disk ok || fail "n1's disk is not ok at first: $(node_status n1)"
OCC="full-bc@${DAY}T$HHMM"
stop_broker
fill_disk "$T/state-n1"
echo "n1's disk: $(df -k "$T/state-n1" | tail -n 1)"
[ "$(now_ms)" -lt $((START - 3000)) ] || fail "setup took too long for the slot $HHMM"

wait_ms_until "$START"
wait_for 20 grep -q "receipt 2: $OCC completed" "$T/node-n1.log" || fail "n1 did not complete $OCC"
kill9_proc node-n1
echo "n1 killed -9 at $(now_ms), right after its completed receipt"
grep "state directory is full\|disk of" "$T/node-n1.log" || true
[ "$(spool_count n1)" = 2 ] || fail "n1's spool holds $(spool_count n1) receipts, want 2"

start_node n1
wait_for 10 grep -q "node n1 up (boot" "$T/node-n1.log" || fail "n1 did not come up again"
sleep 5
[ "$(grep -c "play $OCC" "$T/node-n1.log")" = 1 ] || fail "n1 played $OCC again after the power cut"
[ "$(grep -c "receipt [0-9]*: $OCC" "$T/node-n1.log")" = 2 ] || fail "n1 made new receipts for $OCC"

start_broker
wait_for 60 receipts_match n1 || fail "n1: the store differs from what the node spooled:
node:  $(node_receipts n1 | tr '\n' ';')
store: $(store_receipts n1 | tr '\n' ';')"
echo "n1: $(store_receipts n1 | tr '\n' ';')"
wait_for 30 status_is n1 disk full || fail "n1's status does not say the disk is full: $(node_status n1)"
wait_for 20 sh -c "test \"\$(sqlite3 '$T/data/receipts.db' \"select disk from status where node='n1'\")\" = full" ||
	fail "serve did not take the disk-full status"
"$CUNXIANG" nodes -c "$T/controller.yaml" > "$T/nodes.out" || fail "nodes failed"
cat "$T/nodes.out"
grep -q '^n1 .* full ' "$T/nodes.out" || fail "nodes does not show n1's disk full"
wait_for 20 spool_drained n1 || fail "n1's spool did not drain"

rm -f "$T/state-n1"/fill-*
wait_for 90 status_is n1 disk ok || fail "n1's disk is not reported ok once freed: $(node_status n1)"
echo ok
