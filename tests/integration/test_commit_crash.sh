#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# serve killed -9 between the broker's PUBACK and its commit, for a pole
# that never sent a receipt before, loses nothing (anonymous broker).
# The store is held locked (a slow disk) when the new pole n1 sends its
# first receipt: serve takes it from the broker, which then forgets it, and
# is killed before it can commit. Restarted, serve gets n1's next receipt
# (seq 2, whose "from" says 1 is still unacknowledged): it does not ack past
# the hole, asks n1 to resend, and stores seq 1; n1's spool drains only then.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3

start_broker
make_keys
set -- $(next_slot 30)
HHMM=$1 DAY=$2 START=$3
write_fleet "$T/sched" n1:300:river
write_broadcast commit-bc 5
write_controller "$T/sched"
alsa_file_pcms n1
start_serve
write_node n1 n1
start_node n1
wait_for 40 plan_cached n1 || fail "n1 has no plan or misses an asset"
OCC="commit-bc@${DAY}T$HHMM"
[ "$(sql "select count(*) from receipts where node='n1'")" = 0 ] || fail "n1 is not new"
[ "$(now_ms)" -lt $((START - 3000)) ] || fail "setup took too long for the slot $HHMM"

# The store held by another writer from before the broadcast.
spawn dblock python3 -u -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
print("locked")
time.sleep(120)' "$T/data/receipts.db"
wait_for 10 grep -q locked "$T/dblock.log" || fail "cannot lock the store"

wait_ms_until "$START"
wait_for 10 grep -q "receipt 1: $OCC started" "$T/node-n1.log" || fail "n1 did not start"
sleep 1.5 # serve has it: QoS 1, PUBACKed on arrival
kill9_proc serve
stop_proc dblock
echo "serve killed -9 at $(now_ms) before committing n1's first receipt"
[ "$(sql "select count(*) from receipts where node='n1'")" = 0 ] || fail "serve committed before it was killed"
start_serve

wait_for 30 grep -q "receipt 2: $OCC completed" "$T/node-n1.log" || fail "n1 did not complete"
wait_for 40 receipts_match n1 || fail "n1: the store differs from what the node spooled:
node:  $(node_receipts n1 | tr '\n' ';')
store: $(store_receipts n1 | tr '\n' ';')"
wait_for 20 spool_drained n1 || fail "n1's spool did not drain"
echo "n1: $(store_receipts n1 | tr '\n' ';')"
grep -E "asked it to resend|asks for the unacknowledged" "$T/serve.log" "$T/node-n1.log" || true
echo ok
