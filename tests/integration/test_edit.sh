#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Editing a broadcast file while `cunxiang serve` runs: only the nodes whose
# plan changed get a new one (once, however the editor saves); a broken edit
# is reported as FILE:LINE:COL and the last good plans stay on the air and
# play; fixing it publishes again.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3
need mosquitto_sub
A_NODES="a1 a2"
B_NODES="b1 b2"
NODES="$A_NODES $B_NODES"

start_broker
make_keys
set -- $(next_slot 45)
HHMM=$1 DAY=$2 START_MS=$3

mkdir -p "$T/sched/audio"
cat > "$T/sched/fleet.yaml" <<CONF
township: 测试镇
area_code: "640104100000"
timezone: Asia/Shanghai
villages:
  - code: "640104100201"
    name: 永南村
    nodes:
      - id: a1
        households: 300
      - id: a2
        households: 200
  - code: "640104100202"
    name: 永北村
    nodes:
      - id: b1
        households: 150
      - id: b2
        households: 100
CONF
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/notice.wav" synth 2 sine 440 vol 0.5 fade 0.05 2 0.05
# village_file VILLAGE-CODE ID VOLUME-LINE: a broadcast file for one village.
village_file() {
	cat <<CONF
notices:
  $2-notice:
    title: 村务通知
    audio: audio/notice.wav
broadcasts:
  - id: $2
    notice: $2-notice
    at: ["$HHMM"]
    days: ["$DAY"]
    targets: { villages: ["$1"] }
$3
    priority: important
    quiet_ok: true
CONF
}
VOLUME_LINE=11 # the line of "volume:" above
village_file 640104100201 bc-a "    volume: 80" > "$T/sched/village-a.yaml"
village_file 640104100202 bc-b "    volume: 80" > "$T/sched/village-b.yaml"
"$CUNXIANG" check "$T/sched" || fail "the test schedule does not check"
write_controller "$T/sched"
alsa_file_pcms $NODES
start_serve
for n in $NODES; do write_node $n $n; start_node $n; done
for n in $NODES; do
	wait_for 30 test -s "$T/state-$n/plan.msg" || fail "$n got no plan"
	wait_for 20 status_is $n assets_missing 0 || fail "$n misses assets"
done

# Watch what serve publishes from now on (-R: not the retained plans).
spawn plansub mosquitto_sub $MQ -q 1 -v -R -t 'cx/v1/plan/+'
wait_for 10 sh -c "mosquitto_pub $MQ -t cx/v1/plan/probe -m probe &&
	grep -q '^cx/v1/plan/probe probe' '$T/plansub.log'" || fail "mosquitto_sub does not subscribe"
# publishes N: how many plans serve published to node N since the probe.
publishes() { grep -c "^cx/v1/plan/$1 {" "$T/plansub.log"; }
snapshot() {
	for n in $NODES; do eval "ISSUED_$n=$(plan_issued $n)"; done
}
issued_was() { eval "echo \$ISSUED_$1"; }
snapshot

# ---- 1. village A louder -> quieter; saved in two writes 50 ms apart (the
# first one half a file), which the 500 ms debounce makes one change ----
village_file 640104100201 bc-a "    volume: 50" > "$T/village-a.new"
python3 - "$T/village-a.new" "$T/sched/village-a.yaml" <<'PY'
import sys, time
new = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as f:
    f.write(new[:len(new) // 2])
time.sleep(0.05)
with open(sys.argv[2], "wb") as f:
    f.write(new)
PY
for n in $A_NODES; do
	wait_for 15 sh -c "[ \"\$(head -n 1 '$T/state-$n/plan.msg' | grep -o '\"issued_ms\":[0-9]*')\" != '\"issued_ms\":$(issued_was $n)' ]" ||
		fail "$n (village A) got no new plan after the edit"
	wait_for 5 status_is $n plan_issued_ms "$(plan_issued $n)" || fail "$n does not report its new plan"
	grep -q '"volume":50' "$T/state-$n/plan.msg" || fail "$n's new plan does not have volume 50"
done
sleep 2 # anything else serve would publish for this edit
for n in $A_NODES; do
	[ "$(publishes $n)" = 1 ] || fail "$n: $(publishes $n) plans published for one edit, want 1"
done
for n in $B_NODES; do
	[ "$(plan_issued $n)" = "$(issued_was $n)" ] || fail "$n (village B) got a new plan for village A's edit"
	[ "$(publishes $n)" = 0 ] || fail "$n (village B): serve published a plan for village A's edit"
done
! grep -q "error" "$T/serve.log" || fail "serve reports an error for a good edit: $(grep error "$T/serve.log")"
echo "edit: a1 a2 republished once each, b1 b2 untouched"
snapshot

# ---- 2. a broken edit: reported as FILE:LINE:COL, nothing published ----
village_file 640104100201 bc-a "    volume: 50: 60" > "$T/sched/village-a.yaml"
WHERE="$T/sched/village-a.yaml:$VOLUME_LINE:15: error:"
wait_for 10 grep -qF "$WHERE" "$T/serve.log" || fail "serve does not report $WHERE"
grep -F "$WHERE" "$T/serve.log"
sleep 2
alive serve || fail "serve died on a broken edit"
for n in $NODES; do
	[ "$(plan_issued $n)" = "$(issued_was $n)" ] || fail "$n got a new plan from a broken edit"
done
[ "$(grep -c '^cx/v1/plan/[a-z0-9-]* {' "$T/plansub.log")" = 2 ] ||
	fail "serve published plans after the broken edit"

# The last good plans stay on the air: the broadcasts play, A at 50, B at 80.
[ "$(now_ms)" -lt $((START_MS - 1500)) ] || fail "too slow: the broadcast was due during the edits"
wait_ms_until $((START_MS + 2000))
wait_for 40 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where state='completed'\") -ge 4" ||
	fail "not every node reported its broadcast completed"
for n in $A_NODES; do
	v=$(sql "select volume from receipts where node='$n' and occ='bc-a@${DAY}T$HHMM' and state='completed'")
	[ "$v" = 50 ] || fail "$n played bc-a at volume '$v', want 50 (the last good edit)"
done
for n in $B_NODES; do
	v=$(sql "select volume from receipts where node='$n' and occ='bc-b@${DAY}T$HHMM' and state='completed'")
	[ "$v" = 80 ] || fail "$n played bc-b at volume '$v', want 80"
done
# What the poles said: the same audio, A at (50/100)^2, B at (80/100)^2.
python3 - "$T" $NODES <<'PY' || fail "the played levels do not follow the volumes"
import sys, array
T, nodes = sys.argv[1], sys.argv[2:]
peak = {}
for n in nodes:
    a = array.array("h", open(f"{T}/{n}.raw", "rb").read())
    peak[n] = max((abs(x) for x in a), default=0)
print("peaks:", peak)
for a in ("a1", "a2"):
    for b in ("b1", "b2"):
        r = peak[a] / peak[b] if peak[b] else 0
        if abs(r - 0.390625) > 0.01:
            sys.exit(f"{a}/{b} = {r:.4f}, want 0.3906 ((50/80)^2)")
PY

# ---- 3. fixed (saved as editors do: a new file renamed over the old) ----
village_file 640104100201 bc-a "    volume: 30" > "$T/sched/.village-a.yaml.swp"
mv "$T/sched/.village-a.yaml.swp" "$T/sched/village-a.yaml"
for n in $A_NODES; do
	wait_for 15 sh -c "[ \"\$(head -n 1 '$T/state-$n/plan.msg' | grep -o '\"issued_ms\":[0-9]*')\" != '\"issued_ms\":$(issued_was $n)' ]" ||
		fail "$n (village A) got no new plan after the fix"
	grep -q '"volume":30' "$T/state-$n/plan.msg" || fail "$n's new plan does not have volume 30"
done
sleep 2
for n in $A_NODES; do
	[ "$(publishes $n)" = 2 ] || fail "$n: $(publishes $n) plans published in all, want 2"
	# A new plan does not play an occurrence again.
	c=$(sql "select count(*) from receipts where node='$n' and state='started'")
	[ "$c" = 1 ] || fail "$n: $c started receipts, want 1"
done
for n in $B_NODES; do
	[ "$(plan_issued $n)" = "$(issued_was $n)" ] || fail "$n (village B) got a new plan for the fix"
	[ "$(publishes $n)" = 0 ] || fail "$n (village B): serve published a plan for the fix"
done
# ---- 4. a new time zone: serve selected the zone before its threads
# started and does not switch under them; it says so and keeps the plans ----
before=$(grep -c '^cx/v1/plan/[a-z0-9-]* {' "$T/plansub.log")
sed -i 's|^timezone: Asia/Shanghai$|timezone: Europe/Berlin|' "$T/sched/fleet.yaml"
wait_for 10 grep -q "time zone changed from Asia/Shanghai to Europe/Berlin" "$T/serve.log" ||
	fail "serve does not report the changed time zone"
sleep 2
[ "$(grep -c '^cx/v1/plan/[a-z0-9-]* {' "$T/plansub.log")" = "$before" ] ||
	fail "serve published plans in a zone it has not selected"
for n in $NODES; do alive "node-$n" || fail "$n died"; done
alive serve || fail "serve died"
echo ok
