#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `cunxiang alert` and `cunxiang cancel` against a real broker and a real
# serve, without real nodes: usage errors exit 2, targets that name no node
# exit 1; an alert is recorded, its audio retained and the signed alert
# published with DESIGN's fields; with no node answering it exits 3 naming
# every targeted node; a fake node's accepted/started receipts make it exit
# 0; two operators at once get two ids; Ctrl-C stops watching only; a
# cancel is recorded and published, an unknown one exits 1.
. "$(dirname "$0")/lib.sh"
need mosquitto_sub
need mosquitto_pub
need sqlite3
need python3
[ -n "${CX_SIGN:-}" ] && [ -x "$CX_SIGN" ] || skip "cxsign not built"

start_broker
make_keys
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
      - { id: n2, households: 200, tags: [river] }
  - code: "640104100202"
    name: 永北村
    nodes:
      - { id: n3, households: 100, tags: [hill] }
CONF
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the test fleet does not check"
write_controller "$T/sched"
fake_pole n1
fake_pole n2
# Voices of our own: plain mandarin, and one with a chime.
mkdir -p "$T/voices/chimes"
printf 'name: mandarin\nengine: espeak-ng\nvoice: cmn\n' > "$T/voices/mandarin.yaml"
printf 'name: chimed\nengine: espeak-ng\nvoice: cmn\nchime: chimes/ding.wav\n' > "$T/voices/chimed.yaml"
python3 - "$T/voices/chimes/ding.wav" "$T/siren.wav" <<'PY'
import math, struct, sys, wave
for path, secs, f in ((sys.argv[1], 0.6, 880.0), (sys.argv[2], 2.0, 660.0)):
    w = wave.open(path, "wb")
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(48000)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * f * i / 48000)))
                           for i in range(int(48000 * secs))))
    w.close()
PY
CONF="$T/controller.yaml"
alert() { "$CUNXIANG" alert -c "$CONF" --voices "$T/voices" "$@"; }

# ---- usage errors: exit 2, nothing recorded ----
expect_rc() { # RC DESCRIPTION CMD...
	_want=$1 _what=$2; shift 2
	"$@" > "$T/rc.out" 2> "$T/rc.err"; _rc=$?
	[ "$_rc" = "$_want" ] || { cat "$T/rc.out" "$T/rc.err"; fail "$_what: exit $_rc, want $_want"; }
}
expect_rc 2 "no arguments" "$CUNXIANG" alert
expect_rc 2 "no level" alert --area 640104 --text 测试
expect_rc 2 "level 5" alert --level 5 --area 640104 --text 测试
expect_rc 2 "no target" alert --level 1 --text 测试
expect_rc 2 "neither text nor audio" alert --level 1 --area 640104
expect_rc 2 "text and audio" alert --level 1 --area 640104 --text 测试 --audio "$T/siren.wav"
expect_rc 2 "bad area" alert --level 1 --area 64x104 --text 测试
expect_rc 2 "area too long" alert --level 1 --area 6401041002011 --text 测试
expect_rc 2 "bad node id" alert --level 1 --node N1 --text 测试
expect_rc 2 "repeat 0" alert --level 1 --area 640104 --text 测试 --repeat 0
expect_rc 2 "volume 101" alert --level 1 --area 640104 --text 测试 --volume 101
expect_rc 2 "bad expiry" alert --level 1 --area 640104 --text 测试 --expires 1y
expect_rc 2 "drill and test" alert --level 1 --area 640104 --text 测试 --drill --test
expect_rc 2 "voice with audio" alert --level 1 --area 640104 --audio "$T/siren.wav" --voice mandarin
expect_rc 2 "stray argument" alert --level 1 --area 640104 --text 测试 extra
expect_rc 2 "cancel without id" "$CUNXIANG" cancel -c "$CONF"
expect_rc 2 "cancel with two ids" "$CUNXIANG" cancel -c "$CONF" a b
expect_rc 0 "help" alert --help
grep -q 'Exit status: 0 every' "$T/rc.out" && grep -q '; 3 the alert was sent' "$T/rc.out" ||
	fail "--help does not document the exit statuses"

# ---- an area with no node: exit 1, one line, nothing sent ----
mosquitto_sub $MQ -t cx/v1/alert -C 1 -W 3 > "$T/none.msg" 2>/dev/null &
SUB=$!
sleep 0.5
expect_rc 1 "an area with no node" alert --level 2 --area 640105 --text 测试 --wait 1
[ "$(wc -l < "$T/rc.err")" -eq 1 ] || fail "no node: want one line on stderr, got: $(cat "$T/rc.err")"
grep -q 'name no node' "$T/rc.err" || fail "no node: unclear message: $(cat "$T/rc.err")"
expect_rc 1 "a tag no node has" alert --level 2 --tag nowhere --text 测试 --wait 1
wait $SUB
[ ! -s "$T/none.msg" ] || fail "an alert with no target was published: $(cat "$T/none.msg")"
if [ -f "$T/data/receipts.db" ]; then
	[ "$(sql 'select count(*) from alerts')" = 0 ] || fail "an alert with no target was recorded"
fi

start_serve
wait_for 20 sh -c "test \"\$(sqlite3 '$T/data/receipts.db' 'select count(*) from nodes where in_fleet=1' 2>/dev/null)\" = 3" ||
	fail "serve did not store the fleet"

# ---- nobody answers: exit 3, every target named ----
mosquitto_sub $MQ -t cx/v1/alert -C 1 -W 20 > "$T/a1.msg" &
SUB=$!
sleep 0.5
alert --level 2 --area 6401041002 --tag hill --text "各位村民请注意，山洪预警。" --title 山洪预警 \
	--repeat 2 --volume 90 --expires 30m --wait 2 > "$T/a1.out" 2> "$T/a1.err"
rc=$?
cat "$T/a1.out" "$T/a1.err"
[ $rc = 3 ] || fail "nobody answered: exit $rc, want 3"
wait $SUB
[ "$(wc -l < "$T/a1.msg")" = 2 ] || fail "the alert is not JSON + trailer: $(cat "$T/a1.msg")"
ID=$(head -n 1 "$T/a1.msg" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') ||
	fail "the alert is not JSON"
echo "$ID" | grep -q '^640104100000-[0-9]\{8\}-0001$' || fail "alert id '$ID' is not AREA-YYYYMMDD-0001"
DAY=$(TZ=Asia/Shanghai date +%Y%m%d)
# (a run across the township's midnight could see the other day)
echo "$ID" | grep -q -- "-$DAY-" || echo "note: id $ID is not of local day $DAY"
head -n 1 "$T/a1.msg" | python3 -c '
import json, sys
a = json.loads(sys.stdin.read())
keys = ["type","id","level","class","issued_ms","start_ms","expires_ms","targets","title",
        "assets","duration_ms","repeat","volume","live"]
assert list(a) == keys, f"fields {list(a)}"
assert a["type"] == "alert" and a["level"] == 2 and a["class"] == "actual", a
assert a["start_ms"] == a["issued_ms"] and a["expires_ms"] == a["issued_ms"] + 1800000, a
assert a["targets"] == {"areas": ["6401041002"], "tags": ["hill"], "nodes": []}, a["targets"]
assert a["title"] == "山洪预警" and a["repeat"] == 2 and a["volume"] == 90 and a["live"] is None, a
assert len(a["assets"]) == 1 and len(a["assets"][0]) == 64, a["assets"]
assert 500 < a["duration_ms"] < 20000, a["duration_ms"]
' || fail "the alert's fields"
# The signature: Ed25519 is deterministic, so signing the same bytes with
# the same key gives the same trailer; the key id is the public key's.
head -n 1 "$T/a1.msg" | "$CX_SIGN" "$T/keys/signing.key" > "$T/a1.resigned" || fail "cxsign"
echo >> "$T/a1.resigned"
cmp -s "$T/a1.msg" "$T/a1.resigned" || fail "the alert's signature is not the controller key's"
KEYID=$(python3 -c 'import base64,hashlib,sys; print(hashlib.sha256(base64.b64decode(sys.argv[1])).hexdigest()[:16])' "$PUBKEY")
sed -n 2p "$T/a1.msg" | grep -q "^sig ed25519 $KEYID [A-Za-z0-9+/]*=*\$" || fail "trailer: $(sed -n 2p "$T/a1.msg")"
# The audio is retained on its topic, and is what its name says.
SHA=$(head -n 1 "$T/a1.msg" | python3 -c 'import json,sys; print(json.load(sys.stdin)["assets"][0])')
mosquitto_sub $MQ -t "cx/v1/asset/$SHA" -C 1 -W 5 -N > "$T/asset.opus" ||
	fail "asset $SHA is not retained"
[ "$(sha256sum < "$T/asset.opus" | cut -c1-64)" = "$SHA" ] || fail "the retained asset's hash"
[ -f "$T/data/assets/$SHA.opus" ] || fail "the asset is not in DATA_DIR/assets"
# Output: every targeted node named as not started, the way to cancel.
grep -q "^alert $ID sent: " "$T/a1.out" || fail "no 'alert ID sent' line"
grep -q '^started on 0 of 3 nodes' "$T/a1.out" || fail "no summary line"
for n in n1 n2 n3; do
	grep -q "^  $n .*no receipt" "$T/a1.out" || fail "$n is not listed as not reached"
done
grep -q "cunxiang cancel -c $CONF $ID" "$T/a1.out" || fail "how to cancel is not said"
# The store has it, with its targets.
[ "$(sql "select level||' '||class||' '||title||' '||targets from alerts where id='$ID'")" = \
  "2 actual 山洪预警 {\"areas\":[\"6401041002\"],\"tags\":[\"hill\"],\"nodes\":[]}" ] ||
	fail "the stored alert: $(sql "select * from alerts where id='$ID'")"
[ "$(sql "select group_concat(node, ' ') from (select node from alert_targets where alert='$ID' order by node)")" = "n1 n2 n3" ] ||
	fail "the stored targets"
[ "$(sql "select published from assets where sha='$SHA'")" = 1 ] || fail "the asset is not recorded published"

# ---- a fake node answers: exit 0 ----
# fake_node MSGFILE STATE...: when the alert shows up in MSGFILE, every
# targeted node sends receipts in these states.
SEQ=100
fake_node() {
	wait_for 20 test -s "$1" || return 1
	_id=$(head -n 1 "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
	_msg=$1; shift
	for n in n1 n2; do
		for st in "$@"; do
			SEQ=$((SEQ + 1))
			pole_pub "$n" "cx/v1/receipt/$n" "$(fake_receipt "$n" "$SEQ" "$_id" alert "$st")"
			sleep 0.2
		done
	done
}
mosquitto_sub $MQ -t cx/v1/alert -C 1 -W 20 > "$T/a2.msg" &
SUB=$!
sleep 0.5
alert --level 1 --tag river --audio "$T/siren.wav" --drill --wait 15 > "$T/a2.out" 2> "$T/a2.err" &
AL=$!
fake_node "$T/a2.msg" accepted started || fail "the second alert was not published"
wait $AL
rc=$?
wait $SUB
cat "$T/a2.out" "$T/a2.err"
[ $rc = 0 ] || fail "every node started: exit $rc, want 0"
ID2=$(head -n 1 "$T/a2.msg" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
[ "$ID2" = "${ID%-0001}-0002" ] || fail "the next id: '$ID2' after '$ID'"
grep -q '^started on 2 of 2 nodes' "$T/a2.out" || fail "not all started"
grep -q 'n2 started' "$T/a2.out" || fail "no line per change when stdout is not a tty"
head -n 1 "$T/a2.msg" | python3 -c '
import json, sys
a = json.loads(sys.stdin.read())
assert a["class"] == "drill" and a["targets"]["tags"] == ["river"] and a["repeat"] == 1, a
assert a["volume"] == 100 and 1900 <= a["duration_ms"] <= 2100, a
' || fail "the audio alert's fields"
# serve stored the fake receipts as receipts of a known alert.
wait_for 10 sh -c "test \"\$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where occ='$ID2' and unknown_occ=0\")\" = 4" ||
	fail "serve did not store the receipts as the alert's"

# ---- a voice with a chime: chime first, durations summed ----
mosquitto_sub $MQ -t cx/v1/alert -C 1 -W 20 > "$T/a3.msg" &
SUB=$!
sleep 0.5
expect_rc 3 "chimed voice, no wait" alert --level 4 --node n3 --text 测试 --voice chimed --test --wait 0
wait $SUB
head -n 1 "$T/a3.msg" | python3 -c '
import json, sys
a = json.loads(sys.stdin.read())
assert len(a["assets"]) == 2 and a["class"] == "test" and a["targets"]["nodes"] == ["n3"], a
assert a["duration_ms"] > 600, a
' || fail "the chimed alert's assets"

# ---- two operators at once: two ids ----
alert --level 3 --area 640104 --text 一 --wait 0 > "$T/p1.out" 2>&1 &
P1=$!
alert --level 3 --area 640104 --text 二 --wait 0 > "$T/p2.out" 2>&1 &
P2=$!
wait $P1; wait $P2
I1=$(sed -n 's/^alert \([^ ]*\) sent: .*/\1/p' "$T/p1.out")
I2=$(sed -n 's/^alert \([^ ]*\) sent: .*/\1/p' "$T/p2.out")
[ -n "$I1" ] && [ -n "$I2" ] && [ "$I1" != "$I2" ] || fail "two alerts at once: ids '$I1' and '$I2'"

# ---- Ctrl-C stops watching, the alert stays on the air ----
# (started through python: a shell's background job ignores SIGINT)
python3 -c 'import os,signal,sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
	"$CUNXIANG" alert -c "$CONF" --voices "$T/voices" --level 2 --node n3 --text 测试 --wait 60 \
	> "$T/int.out" 2>&1 &
AL=$!
wait_for 20 grep -q '^alert .* sent: ' "$T/int.out" || fail "the interrupted alert was not sent"
kill -INT $AL
wait $AL
rc=$?
cat "$T/int.out"
[ $rc = 3 ] || fail "interrupted: exit $rc, want 3"
grep -q '^Stopped watching\. Alert .* stays on the air' "$T/int.out" || fail "interrupted: not said"
grep -q '^To stop it: cunxiang cancel ' "$T/int.out" || fail "interrupted: how to cancel not said"

# ---- cancel ----
mosquitto_sub $MQ -t cx/v1/alert -C 1 -W 20 > "$T/c1.msg" &
SUB=$!
sleep 0.5
( sleep 1.5
  pole_pub n1 cx/v1/receipt/n1 \
	"{\"type\":\"receipt\",\"node\":\"n1\",\"seq\":500,\"from\":500,\"occ\":\"$ID2\",\"kind\":\"alert\",\"state\":\"interrupted\",\"reason\":\"cancelled\"}" ) &
"$CUNXIANG" cancel -c "$CONF" --wait 8 "$ID2" > "$T/c1.out" 2> "$T/c1.err"
rc=$?
cat "$T/c1.out" "$T/c1.err"
[ $rc = 0 ] || fail "cancel: exit $rc"
wait $SUB
head -n 1 "$T/c1.msg" | python3 -c '
import json, sys
c = json.loads(sys.stdin.read())
assert list(c) == ["type","id","ref","issued_ms"], list(c)
assert c["type"] == "cancel" and c["ref"] == sys.argv[1] and c["id"] != sys.argv[1], c
' "$ID2" || fail "the cancel's fields"
head -n 1 "$T/c1.msg" | "$CX_SIGN" "$T/keys/signing.key" > "$T/c1.resigned" && echo >> "$T/c1.resigned"
cmp -s "$T/c1.msg" "$T/c1.resigned" || fail "the cancel's signature"
[ -n "$(sql "select cancelled_ms from alerts where id='$ID2'")" ] || fail "the cancel is not recorded"
[ -z "$(sql "select cancelled_ms from alerts where id='$ID'")" ] || fail "another alert was cancelled"
grep -q '^  n1 .*interrupted (cancelled)' "$T/c1.out" || fail "the interrupted receipt is not shown"
grep -q '2 nodes held it' "$T/c1.out" || fail "the nodes holding it are not counted"
grep -q '^  n2 .*no answer yet' "$T/c1.out" || fail "n2 (no answer) is not named"
# Again: said, and sent again.
expect_rc 0 "cancel again" "$CUNXIANG" cancel -c "$CONF" --wait 0 "$ID2"
grep -q 'already cancelled' "$T/rc.out" || fail "a second cancel does not say so"
expect_rc 1 "cancel of an unknown alert" "$CUNXIANG" cancel -c "$CONF" --wait 0 640104100000-20000101-0001
grep -q 'no alert 640104100000-20000101-0001' "$T/rc.err" || fail "unknown cancel: $(cat "$T/rc.err")"
echo ok
