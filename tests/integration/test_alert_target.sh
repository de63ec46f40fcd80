#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Who hears an alert, and who cannot make one (ALSA file PCMs, five nodes in
# three villages):
# - an area prefix, a tag and a node list each reach exactly their nodes:
#   receipts accepted, started, completed there, sound in their output and
#   nowhere else;
# - an alert signed with an unknown key, a tampered one, an unsigned one, a
#   replay of a real one and a correctly signed but expired one never play:
#   no receipt, no sound, each counted in the targeted nodes' status;
# - a node offline when an alert is issued plays it when it comes back
#   (its persistent session kept the message) if it has not expired, and
#   not after;
# - while an alert plays, its acks send no status of their own: the spool
#   they empty rides with a later status (reply traffic at fan-out).
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3
need mosquitto_sub
need python3
NODES="n1 n2 n3 n4 n5"

start_broker
make_keys
"$CUNXIANG" keygen -o "$T/evil" > /dev/null || fail "keygen of the unknown key"
mkdir -p "$T/sched"
cat > "$T/sched/fleet.yaml" <<CONF
township: 测试镇
area_code: "640104100000"
timezone: Asia/Shanghai
villages:
  - code: "640104100201"
    name: 永南村
    nodes:
      - { id: n1, households: 300, tags: [river] }
      - { id: n2, households: 200, tags: [hill] }
  - code: "640104100202"
    name: 永北村
    nodes:
      - { id: n3, households: 100, tags: [river] }
  - code: "640104100301"
    name: 东山村
    nodes:
      - { id: n4, households: 150, tags: [hill] }
      - { id: n5, households: 120, tags: [river] }
CONF
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the test fleet does not check"
write_controller "$T/sched"
sox -n -r 48000 -c 1 -b 16 "$T/tone.wav" synth 1 sine 600 vol 0.5 || fail "sox"
alsa_file_pcms $NODES
start_serve
# n4 sends no status every minute, so that any status it sends while an
# alert plays (below) is one a change made.
for n in $NODES; do
	if [ $n = n4 ]; then write_node $n $n "status_interval: 1h"; else write_node $n $n; fi
	start_node $n
done
for n in $NODES; do
	wait_for 30 test -s "$T/state-$n/plan.msg" || fail "$n got no plan"
done
sleep 1

last_id() { sql "select id from alerts order by issued_ms desc limit 1"; }
# The file PCM rewrites its file on every play: size and time of change
# tell whether a node played since.
mark() { stat -c %s:%.9Y "$T/$1.raw" 2>/dev/null || echo none; }
sizes() { for n in $NODES; do printf '%s ' "$(mark $n)"; done; }
# who_played MARKS-BEFORE: the nodes whose output was written since.
who_played() {
	set -- $1
	for n in $NODES; do
		[ "$(mark $n)" != "$1" ] && printf '%s ' $n
		shift
	done
}
# nodes_with ID STATE: the nodes with a receipt of STATE for ID.
nodes_with() {
	sql "select node from receipts where occ='$1' and state='$2' order by node" | tr '\n' ' '
}
completed_on() { # ID N: N nodes completed ID
	[ "$(sql "select count(*) from receipts where occ='$1' and state='completed'")" -ge "$2" ]
}

# ---- targeting ----
# target WANT ARGS...: an alert with ARGS reaches exactly the nodes WANT.
target() {
	_want=$1; shift
	_before=$(sizes)
	"$CUNXIANG" alert -c "$T/controller.yaml" --level 3 --audio "$T/tone.wav" --wait 15 "$@" \
		> "$T/alert.out" 2>&1 || { cat "$T/alert.out"; fail "alert $*: not started everywhere"; }
	_id=$(last_id)
	_k=$(echo $_want | wc -w)
	grep -q "started on $_k of $_k node" "$T/alert.out" ||
		{ cat "$T/alert.out"; fail "alert $*: not 'started on $_k of $_k'"; }
	wait_for 15 completed_on "$_id" "$_k" || fail "alert $*: not completed on $_want"
	sleep 0.5
	for st in accepted started completed; do
		[ "$(nodes_with "$_id" $st)" = "$_want " ] ||
			fail "alert $*: '$st' from '$(nodes_with "$_id" $st)', want '$_want'"
	done
	_n=$(sql "select count(*) from receipts where occ='$_id'")
	[ "$_n" = $((3 * _k)) ] || fail "alert $*: $_n receipts, want $((3 * _k))"
	[ "$(who_played "$_before")" = "$_want " ] ||
		fail "alert $*: sound from '$(who_played "$_before")', want '$_want'"
	echo "alert $* reached exactly $_want"
}

# The first one is captured as it goes out, for the replay below.
mosquitto_sub $MQ -q 1 -t cx/v1/alert -C 1 -N > "$T/real.msg" &
SUB=$!
sleep 0.5
target "n1 n2 n3" --area 6401041002
wait "$SUB" || fail "the alert was not captured"
REAL=$(last_id)
target "n1 n3 n5" --tag river
target "n2 n4" --node n2 --node n4
target "n1 n2 n3 n4 n5" --area 640104100301 --tag river --node n2 --area 640104100201 --tag hill

# ---- forged, tampered, unsigned, replayed, expired ----
for n in n1 n2 n3; do
	eval "REJ_$n=$(status_field $n rejected)"
done
python3 - "$T/real.msg" "$T" <<'PY' || fail "cannot build the forged alerts"
import json, sys, time
raw = open(sys.argv[1], "rb").read()
body, trailer = raw.split(b"\n", 1)
a = json.loads(body)
assert a["type"] == "alert", a
out = sys.argv[2]
now = int(time.time() * 1000)
def dump(d):
    return json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode()
# Signed by a key the nodes do not trust: a fresh id, valid times.
forged = dict(a, id=a["id"][:-4] + "9001", issued_ms=now, start_ms=now, expires_ms=now + 3600000)
open(out + "/forged.json", "wb").write(dump(forged))
# The real message with one byte of its body changed (the volume).
if b'"volume":100' not in body:
    sys.exit("no volume field to tamper with")
tampered = body.replace(b'"volume":100', b'"volume":99')
open(out + "/tampered.msg", "wb").write(tampered + b"\n" + trailer)
# The same body as a fresh alert, without any signature.
open(out + "/unsigned.msg", "wb").write(dump(dict(forged, id=a["id"][:-4] + "9002")))
# Signed by the right key, but its time is over.
expired = dict(a, id=a["id"][:-4] + "9003", issued_ms=now - 7200000, start_ms=now - 7200000,
               expires_ms=now - 3600000)
open(out + "/expired.json", "wb").write(dump(expired))
PY
"$CX_SIGN" "$T/evil/signing.key" < "$T/forged.json" > "$T/forged.msg" || fail "cxsign"
"$CX_SIGN" "$T/keys/signing.key" < "$T/expired.json" > "$T/expired.msg" || fail "cxsign"
BEFORE=$(sizes)
RCPT0=$(sql "select count(*) from receipts")
for m in forged tampered unsigned expired real; do
	pub cx/v1/alert -f "$T/$m.msg" || fail "publish the $m alert"
	for n in n1 n2 n3; do
		eval "_want=\$((REJ_$n + 1))"
		wait_for 10 status_ge $n rejected $_want || fail "$n did not count the $m alert"
		eval "REJ_$n=$_want"
	done
	grep -q "rejected alert" "$T/node-n1.log" || fail "n1 did not log the rejection"
	echo "$m alert: rejected by n1, n2, n3 ($(grep 'rejected alert' "$T/node-n1.log" | tail -n 1 | sed 's/.*rejected alert: //'))"
done
sleep 2
[ "$(sql "select count(*) from receipts")" = "$RCPT0" ] || fail "a rejected alert left receipts"
[ -z "$(who_played "$BEFORE")" ] || fail "a rejected alert played on $(who_played "$BEFORE")"
for n in $NODES; do alive node-$n || fail "$n died"; done

# ---- offline, back before the expiry: plays ----
stop_proc node-n5
wait_for 10 status_is n5 state offline || fail "n5 does not show offline"
BEFORE=$(sizes)
"$CUNXIANG" alert -c "$T/controller.yaml" --level 2 --node n5 --audio "$T/tone.wav" \
	--expires 2m --wait 2 > "$T/offline.out" 2>&1
rc=$?
cat "$T/offline.out"
[ "$rc" = 3 ] || fail "an alert to an offline node exits $rc, want 3"
grep -q "n5 .*offline since" "$T/offline.out" || fail "the offline node is not named with its status"
LATE=$(last_id)
start_node n5
wait_for 20 completed_on "$LATE" 1 || fail "n5 did not play the alert it missed"
[ "$(nodes_with "$LATE" accepted)" = "n5 " ] || fail "n5 did not accept the alert on reconnect"
[ "$(who_played "$BEFORE")" = "n5 " ] || fail "the missed alert played on '$(who_played "$BEFORE")'"
echo "n5 played $LATE after it came back"

# ---- offline past the expiry: never plays ----
stop_proc node-n5
wait_for 10 status_is n5 state offline || fail "n5 does not show offline"
REJ5=$(status_field n5 rejected)
BEFORE=$(sizes)
"$CUNXIANG" alert -c "$T/controller.yaml" --level 2 --node n5 --audio "$T/tone.wav" \
	--expires 3s --wait 1 > "$T/expired.out" 2>&1
[ $? = 3 ] || { cat "$T/expired.out"; fail "an alert to an offline node does not exit 3"; }
GONE=$(last_id)
sleep 4
start_node n5
wait_for 20 status_ge n5 rejected $((REJ5 + 1)) || fail "n5 did not drop the expired alert"
grep -q "rejected alert: expired" "$T/node-n5.log" || fail "n5 does not say the alert expired"
sleep 2
[ "$(sql "select count(*) from receipts where occ='$GONE'")" = 0 ] ||
	fail "the expired alert left receipts"
[ -z "$(who_played "$BEFORE")" ] || fail "the expired alert played on $(who_played "$BEFORE")"
echo "n5 dropped $GONE, expired while it was offline"
[ "$REAL" != "$LATE" ] || fail "ids repeat"

# ---- no status for an ack while an alert plays ----
sox -n -r 48000 -c 1 -b 16 "$T/long.wav" synth 8 sine 600 vol 0.5 || fail "sox"
mosquitto_sub $MQ -q 1 -t cx/v1/status/n4 -R -F '%j' > "$T/n4-status.txt" &
SUB=$!
sleep 0.5
"$CUNXIANG" alert -c "$T/controller.yaml" --level 3 --node n4 --audio "$T/long.wav" --wait 15 \
	> "$T/long.out" 2>&1 || { cat "$T/long.out"; fail "the long alert did not start on n4"; }
LONG=$(last_id)
wait_for 20 completed_on "$LONG" 1 || fail "n4 did not complete the long alert"
sleep 1
kill "$SUB" 2>/dev/null
python3 - "$T/n4-status.txt" <<'PY' || fail "n4 sent a status for an ack while the alert played"
import datetime, json, sys
seen = []
for line in open(sys.argv[1], encoding="utf-8"):
    m = json.loads(line)
    t = datetime.datetime.strptime(m["tst"][:26], "%Y-%m-%dT%H:%M:%S.%f").timestamp()
    seen.append((t, json.loads(m["payload"].split("\n")[0])))
print("n4 statuses:", [(round(t - seen[0][0], 2), s["state"], s["spool"]) for t, s in seen])
play = [t for t, s in seen if s["state"] == "playing"]
assert play, "no status says playing"
# The alert plays 8 s; its accepted and started receipts are acked about
# 1 s in. A status while it plays is one for that ack.
again = [t for t, s in seen if s["state"] == "playing" and play[0] < t < play[0] + 4]
assert not again, "statuses while playing at %s" % [round(t - play[0], 2) for t in again]
assert seen[-1][1]["state"] == "idle", seen[-1]
PY
echo "n4 sent no status for the ack of $LONG while it played"
echo ok
