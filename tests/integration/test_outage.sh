#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The broker is away for 30 s across a scheduled event: the nodes still play
# it from their cache, sample for sample, and spool their receipts; once the
# broker is back (same port, same persistence) every started and completed
# receipt reaches the store exactly once and the spools drain.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3

NODES="n1 n2 n3"
broker_persistence_writable
start_broker
make_keys
set -- $(next_slot 30)
HHMM=$1 DAY=$2 START_MS=$3

write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river
mkdir -p "$T/sched/audio"
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/notice.wav" synth 3 sine 440 sine 660 vol 0.5 fade 0.05 3 0.05
cat > "$T/sched/test.yaml" <<CONF
notices:
  river-notice:
    title: 河道清淤通知
    audio: audio/notice.wav
broadcasts:
  - id: outage-bc
    notice: river-notice
    at: ["$HHMM"]
    days: ["$DAY"]
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

# Before the outage every node holds its plan and the audio it needs.
for n in $NODES; do
	wait_for 40 plan_cached $n || fail "$n has no plan or misses an asset"
done
[ "$(now_ms)" -lt $((START_MS - 6000)) ] || fail "setup took too long for the slot $HHMM"

# The broker goes away 5 s before the event.
wait_ms_until $((START_MS - 5000))
stop_broker
DOWN_MS=$(now_ms)
echo "broker stopped at $DOWN_MS, event at $START_MS"
[ -s "$T/broker/mosquitto.db" ] || fail "the broker persisted nothing"
for n in $NODES; do
	wait_for 5 grep -q "broker connection lost" "$T/node-$n.log" ||
		fail "$n did not notice the broker going away"
done

# The event plays and ends while the broker is away: both receipts are
# spooled, none is acknowledged.
OCC="outage-bc@${DAY}T$HHMM"
wait_ms_until $((START_MS + 3000))
for n in $NODES; do
	wait_for 10 grep -q "receipt [0-9]*: $OCC completed" "$T/node-$n.log" ||
		fail "$n did not complete $OCC during the outage"
	[ "$(spool_count $n)" = 2 ] || fail "$n spooled $(spool_count $n) receipts, want 2"
done
[ "$(now_ms)" -lt $((DOWN_MS + 30000)) ] || fail "the event ended after the outage"
[ "$(count_receipts started)" = 0 ] || fail "receipts reached the store with no broker"

# The broker returns on the same port with the same persistence directory.
wait_ms_until $((DOWN_MS + 31000))
UP_MS=$(now_ms)
start_broker
echo "broker back at $UP_MS ($(( (UP_MS - DOWN_MS) / 1000 )) s later)"

# The nodes reconnect with backoff (up to 30 s) and resend; serve acks.
wait_for 90 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where state='completed'\") -ge 3" ||
	fail "not every node's completed receipt reached the store"
for n in $NODES; do
	wait_for 60 spool_drained $n || fail "$n spool not drained: $(spool_count $n) left"
done
sleep 2

for n in $NODES; do
	for st in started completed; do
		c=$(sql "select count(*) from receipts where node='$n' and occ='$OCC' and state='$st'")
		[ "$c" = 1 ] || fail "$n: $c '$st' receipts for $OCC, want 1"
	done
	# It really played during the outage, and reached the store after it.
	s=$(sql "select started_ms from receipts where node='$n' and state='started'")
	[ "$s" -gt "$DOWN_MS" ] && [ "$s" -lt "$UP_MS" ] ||
		fail "$n: started at $s, not within the outage $DOWN_MS..$UP_MS"
	r=$(sql "select min(received_ms) from receipts where node='$n'")
	[ "$r" -ge "$UP_MS" ] || fail "$n: a receipt was stored at $r, before the broker came back"
	receipts_match $n || fail "$n: the store differs from what the node spooled:
node:  $(node_receipts $n | tr '\n' ';')
store: $(store_receipts $n | tr '\n' ';')"
	out=$(played_matches $n) || fail "$n: output differs from the asset: $out"
	echo "$n: $out; receipts $(store_receipts $n | cut -d ' ' -f 1,3 | tr '\n' ' ')"
done
c=$(sql "select count(*) from receipts")
[ "$c" = 6 ] || fail "$c receipts in the store, want 6"
c=$(sql "select count(*) from receipts_bad")
[ "$c" = 0 ] || fail "$c receipts quarantined"
echo ok
