#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Crashes lose no receipt and count none twice.
# (a) A node is killed -9 while it plays: restarted, it reports the run
#     that was cut off ("interrupted", "node restarted"), plays the event
#     again within max_delay, its seq continues and its cache still verifies.
# (b) serve is killed -9 while it ingests a backlog of receipts it has
#     already PUBACKed (its store held locked, as a slow disk would): after
#     a restart every receipt the nodes wrote is in the store exactly once,
#     and the spools drain.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3

NODES="n1 n2 n3"
broker_persistence_writable
start_broker
make_keys
set -- $(next_slot 30)
HHMM1=$1 DAY1=$2 START1=$3
set -- $(slot_at $((START1 + 60000)))
HHMM2=$1 DAY2=$2 START2=$3

write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river
mkdir -p "$T/sched/audio"
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/long.wav" synth 10 sine 440 sine 660 vol 0.5 fade 0.05 10 0.05
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/a.wav" synth 2 sine 523 vol 0.5 fade 0.05 2 0.05
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/b.wav" synth 2 sine 784 vol 0.5 fade 0.05 2 0.05
cat > "$T/sched/test.yaml" <<CONF
notices:
  long-notice:
    title: 长通知
    audio: audio/long.wav
  notice-a:
    title: 通知甲
    audio: audio/a.wav
  notice-b:
    title: 通知乙
    audio: audio/b.wav
broadcasts:
  - id: crash-bc
    notice: long-notice
    at: ["$HHMM1"]
    days: ["$DAY1"]
    targets: all
    volume: 100
    priority: important
    quiet_ok: true
  # Two back to back in the next minute: a backlog of four receipts a node.
  - id: backlog-a
    notice: notice-a
    at: ["$HHMM2"]
    days: ["$DAY2"]
    targets: all
    volume: 100
    priority: important
    quiet_ok: true
  - id: backlog-b
    notice: notice-b
    at: ["$HHMM2"]
    days: ["$DAY2"]
    targets: all
    volume: 100
    priority: important
    quiet_ok: true
CONF
"$CUNXIANG" check "$T/sched" || fail "the test schedule does not check"
write_controller "$T/sched"
alsa_file_pcms $NODES
start_serve
for n in $NODES; do write_node $n $n; start_node $n; done
for n in $NODES; do
	wait_for 40 plan_cached $n || fail "$n has no plan or misses an asset"
done
[ "$(now_ms)" -lt $((START1 - 3000)) ] || fail "setup took too long for the slot $HHMM1"
OCC1="crash-bc@${DAY1}T$HHMM1"

# ---- (a) kill -9 a node while it plays ----
wait_ms_until $((START1 + 4000))
node_receipts n1 | grep -q " $OCC1 started" || fail "n1 is not playing $OCC1 at +4 s"
ls "$T/state-n1/assets" > "$T/n1.assets.before"
kill9_proc node-n1
LAST=$(node_receipts n1 | tail -n 1 | cut -d ' ' -f 1)
echo "n1 killed at $(now_ms) while playing; its last receipt was seq $LAST"
sleep 1
start_node n1

# n2 and n3 finish at +10 s; n1 replays the whole notice from its restart.
wait_for 40 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where occ='$OCC1' and state='completed'\") -ge 3" ||
	fail "not every node completed $OCC1"
for n in $NODES; do
	wait_for 20 receipts_match $n || fail "$n: the store differs from what the node spooled:
node:  $(node_receipts $n | tr '\n' ';')
store: $(store_receipts $n | tr '\n' ';')"
	wait_for 20 spool_drained $n || fail "$n spool not drained: $(spool_count $n) left"
	# Checked now: the next minute's events rewrite the ALSA files.
	out=$(played_matches $n) || fail "$n: output differs from the asset: $out"
	echo "$n: $out"
done
for n in n2 n3; do
	got=$(sql "select group_concat(state, ' ') from (select state from receipts where node='$n' and occ='$OCC1' order by seq)")
	[ "$got" = "started completed" ] || fail "$n: receipts for $OCC1 are '$got'"
done

# n1: the run cut off by the kill ends "interrupted" (node restarted), then
# the replay within max_delay starts and completes; nothing twice.
got=$(sql "select group_concat(state || ':' || ifnull(reason, ''), ',') from (select state, reason from receipts where node='n1' and occ='$OCC1' order by seq)")
[ "$got" = "started:,interrupted:node restarted,started:,completed:" ] ||
	fail "n1: receipts for $OCC1 are '$got'"
echo "n1 receipts for $OCC1: $got"
# Its seq went on from where it was: no gap, no reuse.
NEXT=$(sql "select min(seq) from receipts where node='n1' and seq > $LAST")
[ "$NEXT" = $((LAST + 1)) ] || fail "n1: the first seq after the restart is $NEXT, want $((LAST + 1))"
for n in $NODES; do
	k=$(sql "select count(*) || ' ' || min(seq) || ' ' || max(seq) from receipts where node='$n'")
	set -- $k
	[ "$2" = 1 ] && [ "$1" = "$3" ] || fail "$n: seqs in the store are not 1..N: $k"
done
# The cache survived: same files, each hashing to its name.
ls "$T/state-n1/assets" | cmp -s - "$T/n1.assets.before" || fail "n1: the cache changed across the crash"
out=$(cache_verifies n1) || fail "n1: $out"
grep -q "corrupt assets" "$T/node-n1.log" && fail "n1 found corrupt assets after the crash"
echo "n1: $out"

# ---- (b) kill -9 serve while it ingests a backlog ----
stop_proc serve
BEFORE=$(sql "select count(*) from receipts")
[ "$(now_ms)" -lt $((START2 - 3000)) ] || fail "part (a) ended too late for the slot $HHMM2"
# With serve away, the nodes play the next minute; the broker keeps their
# receipts for serve's persistent session and the spools hold them.
wait_ms_until $((START2 + 4000))
for n in $NODES; do
	wait_for 20 grep -q "receipt [0-9]*: backlog-b@[^ ]* completed" "$T/node-$n.log" ||
		fail "$n did not complete backlog-b"
	[ "$(spool_count $n)" = 4 ] || fail "$n holds $(spool_count $n) receipts, want the 4 of the backlog"
done
[ "$(sql "select count(*) from receipts")" = "$BEFORE" ] || fail "receipts were stored with serve away"

# A writer that holds the store (a slow disk): serve takes the backlog from
# the broker, PUBACKs it (libmosquitto does so before the callback) and
# waits to commit. Killed there, it loses every receipt it took.
spawn dblock python3 -u -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
print("locked")
time.sleep(120)' "$T/data/receipts.db"
wait_for 10 grep -q locked "$T/dblock.log" || fail "cannot lock the store"
CONNECTS=$(grep -c "connected to the broker" "$T/serve.log")
start_serve
wait_for 15 sh -c "test \$(grep -c 'connected to the broker' '$T/serve.log') -gt $CONNECTS" ||
	fail "serve did not connect"
sleep 2
kill9_proc serve
stop_proc dblock
KILL_MS=$(now_ms)
echo "serve killed -9 at $KILL_MS while ingesting"
[ "$(sql "select count(*) from receipts")" = "$BEFORE" ] || fail "serve committed before it was killed"

# Restarted, serve gets nothing more from the broker (it PUBACKed all); the
# nodes resend what is still unacknowledged (every 30 s).
start_serve
for n in $NODES; do
	wait_for 60 receipts_match $n || fail "$n: the store differs from what the node spooled:
node:  $(node_receipts $n | tr '\n' ';')
store: $(store_receipts $n | tr '\n' ';')"
	wait_for 20 spool_drained $n || fail "$n spool not drained: $(spool_count $n) left"
done
echo "backlog stored $(( ($(sql "select max(received_ms) from receipts") - KILL_MS) / 1000 )) s after the kill"
for n in $NODES; do
	for occ in "backlog-a@${DAY2}T$HHMM2" "backlog-b@${DAY2}T$HHMM2"; do
		got=$(sql "select group_concat(state, ' ') from (select state from receipts where node='$n' and occ='$occ' order by seq)")
		[ "$got" = "started completed" ] || fail "$n: receipts for $occ are '$got'"
	done
	k=$(sql "select count(*) || ' ' || min(seq) || ' ' || max(seq) from receipts where node='$n'")
	set -- $k
	[ "$2" = 1 ] && [ "$1" = "$3" ] || fail "$n: seqs in the store are not 1..N: $k"
	echo "$n: seqs $2..$3 stored once each"
done
c=$(sql "select count(*) from receipts_bad")
[ "$c" = 0 ] || fail "$c receipts quarantined"
echo ok
