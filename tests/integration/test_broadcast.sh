#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A broadcast plays on exactly its targeted nodes, sample for sample; every
# node's started and completed receipts are in the store exactly once. The
# daemons tell the service manager (a listener on $NOTIFY_SOCKET, as
# systemd's Type=notify units get) they are ready, alive and stopping.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3

start_broker
make_keys
set -- $(next_slot 40)
HHMM=$1 DAY=$2 START_MS=$3

write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river n4:50:hill
mkdir -p "$T/sched/audio"
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/notice.wav" synth 3 sine 440 sine 660 fade 0.05 3 0.05
cat > "$T/sched/test.yaml" <<CONF
notices:
  river-notice:
    title: 河道清淤通知
    audio: audio/notice.wav
broadcasts:
  - id: river-bc
    notice: river-notice
    at: ["$HHMM"]
    days: ["$DAY"]
    targets: { tags: [river] }
    volume: 100
    priority: important
    quiet_ok: true
CONF
"$CUNXIANG" check "$T/sched" || fail "the test schedule does not check"
write_controller "$T/sched"
alsa_file_pcms n1 n2 n3 n4
# notify_listener NAME: collect the notify datagrams of one daemon in $T/NAME.notify.
notify_listener() {
	spawn "notify-$1" python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1])
print("listening", flush=True)
while True:
    print(s.recv(256).decode(), flush=True)' "cx-notify-$$-$1"
	wait_for 10 grep -qx listening "$T/notify-$1.log" || fail "the notify listener did not start"
}
notify_listener serve
spawn serve env NOTIFY_SOCKET="@cx-notify-$$-serve" "$CUNXIANG" serve -c "$T/controller.yaml"
notify_listener n1
write_node n1 n1
spawn node-n1 env NOTIFY_SOCKET="@cx-notify-$$-n1" "$CUNXIANG_NODE" -c "$T/node-n1.yaml"
for n in n2 n3 n4; do write_node $n $n; start_node $n; done

# Every node holds its plan and assets before the event.
for n in n1 n2 n3; do
	wait_for 30 test -s "$T/state-$n/plan.msg" || fail "$n got no plan"
done
wait_ms_until $((START_MS + 3000))
wait_for 40 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where state='completed'\") -ge 3" ||
	fail "not every targeted node reported completed"
sleep 2

OCC="river-bc@${DAY}T$HHMM"
for n in n1 n2 n3; do
	for st in started completed; do
		c=$(sql "select count(*) from receipts where node='$n' and occ='$OCC' and state='$st'")
		[ "$c" = 1 ] || fail "$n: $c '$st' receipts for $OCC, want 1"
	done
	err=$(sql "select start_error_us from receipts where node='$n' and state='started'")
	[ -n "$err" ] || fail "$n: started receipt without start_error_us"
	out=$(played_matches $n) || fail "$n: output differs from the asset: $out"
	echo "$n: $out (start error ${err} us)"
done
c=$(sql "select count(*) from receipts where node='n4'")
[ "$c" = 0 ] || fail "n4 is not targeted but sent $c receipts"
[ ! -s "$T/n4.raw" ] || fail "n4 is not targeted but played audio"
# Planned occurrences are the report's denominator.
c=$(sql "select count(*) from planned where occ='$OCC'")
[ "$c" = 3 ] || fail "$c planned rows for $OCC, want 3"
# Every receipt was acknowledged: the spools are empty.
for n in n1 n2 n3; do
	wait_for 10 sh -c "test -z \"\$(ls '$T/state-$n/spool/' | grep json)\"" || fail "$n spool not drained"
done
# Ready, a watchdog ping at least every few seconds, and stopping.
for d in serve n1; do
	grep -qx 'READY=1' "$T/notify-$d.log" || fail "$d did not say it was ready"
	c=$(grep -cx 'WATCHDOG=1' "$T/notify-$d.log")
	[ "$c" -ge 5 ] || fail "$d sent $c watchdog pings"
done
stop_proc node-n1
stop_proc serve
sleep 0.3
for d in serve n1; do
	tail -n 1 "$T/notify-$d.log" | grep -qx 'STOPPING=1' || fail "$d did not say it was stopping"
done
echo ok
