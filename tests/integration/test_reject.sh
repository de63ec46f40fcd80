#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Whoever reaches the broker cannot make a pole talk: plans signed by an
# unknown key, tampered, replayed (older issued_ms), meant for another node
# or unsigned, forged alerts and commands, and 20/100 MB of garbage on the
# plan and asset topics are rejected and counted in the retained status.
# Nothing forged plays or leaves a receipt; the nodes keep running, keep
# their plan and play it, sample for sample, when it is due.
. "$(dirname "$0")/lib.sh"
need sox
need sqlite3
need mosquitto_pub
need mosquitto_sub
NODES="n1 n2 n3"

# A broker that lets any size through (provision's limits it to the largest
# asset): the nodes' own maximum packet size must protect them all the same.
BROKER_EXTRA="message_size_limit 0"
start_broker
make_keys
"$CUNXIANG" keygen -o "$T/evil" > /dev/null || fail "keygen of the unknown key"
# The legitimate broadcast comes after the attack (which takes ~30 s).
set -- $(next_slot 75)
HHMM=$1 DAY=$2 START_MS=$3

write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river
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
	wait_for 30 test -s "$T/state-$n/plan.msg" || fail "$n got no plan"
	for a in $(plan_assets $n); do
		wait_for 30 test -s "$T/state-$n/assets/$a.opus" || fail "$n did not get asset $a"
	done
	wait_for 10 status_is $n assets_missing 0 || fail "$n still misses assets"
done
for n in $NODES; do
	eval "HELD_$n=$(plan_issued $n)"
	eval "HWM0_$n=$(proc_kb node-$n VmHWM)"
	[ -z "$(status_field $n rejected | grep -v '^0$')" ] || fail "$n rejected something before the attack"
done

# ---- n3 legitimately wants an asset nobody publishes ----
# The only way to make a node wait on cx/v1/asset/SHA is a verified plan (or
# alert) naming SHA. This one is signed by the controller's key: n3's plan
# plus an event in 10 minutes whose asset is never published.
FAKE_SHA=$(printf 'cunxiang test: an asset nobody publishes' | sha256sum | cut -c1-64)
python3 - "$T/state-n3/plan.msg" "$FAKE_SHA" "$START_MS" > "$T/n3-extended.json" <<'PY'
import json, sys
p = json.loads(open(sys.argv[1], "rb").read().split(b"\n")[0])
e = dict(p["events"][0], occ="wanted@later", start_ms=int(sys.argv[3]) + 600000, assets=[sys.argv[2]])
p["events"].append(e)
p["issued_ms"] += 1
print(json.dumps(p, ensure_ascii=False, separators=(",", ":")))
PY
"$CX_SIGN" "$T/keys/signing.key" < "$T/n3-extended.json" > "$T/n3-extended.msg" || fail "cxsign"
pub cx/v1/plan/n3 -f "$T/n3-extended.msg" || fail "publish n3's extended plan"
HELD_n3=$((HELD_n3 + 1))
wait_for 10 status_is n3 plan_issued_ms $HELD_n3 && [ "$(plan_issued n3)" = $HELD_n3 ] ||
	fail "n3 did not take its extended plan"
wait_for 10 status_is n3 assets_missing 1 ||
	fail "n3 does not say it misses the asset of its extended plan"
sleep 1 # n3 subscribes to cx/v1/asset/$FAKE_SHA when it takes the plan

# ---- garbage: 100 MB on n1's plan topic and on the asset n3 wants ----
head -c 100M /dev/urandom > "$T/garbage-100M" || fail "cannot write 100 MB of garbage"
head -c 20M /dev/urandom > "$T/garbage-20M"
head -c 1M /dev/urandom > "$T/garbage-1M"
pub cx/v1/plan/n1 -f "$T/garbage-100M" || fail "publish 100 MB on cx/v1/plan/n1"
pub "cx/v1/asset/$FAKE_SHA" -f "$T/garbage-100M" || fail "publish 100 MB on the wanted asset"
# Under the node's maximum packet size (64 MiB + 64 KiB): these arrive.
pub cx/v1/plan/n2 -f "$T/garbage-20M" || fail "publish 20 MB on cx/v1/plan/n2"
pub "cx/v1/asset/$FAKE_SHA" -f "$T/garbage-1M" || fail "publish 1 MB on the wanted asset"
rm -f "$T"/garbage-*

# ---- forged plans, alerts and commands, all due in 8 s ----
FORGE_MS=$(( $(now_ms) + 8000 ))
mkdir -p "$T/forged"
python3 - "$T" "$CX_SIGN" "$FORGE_MS" $NODES <<'PY' || fail "cannot forge"
import json, subprocess, sys, time
T, sign, at, nodes = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
real, evil = f"{T}/keys/signing.key", f"{T}/evil/signing.key"

def text(o):
    return json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode()

def signed(o, key):
    return subprocess.run([sign, key], input=text(o), capture_output=True, check=True).stdout

def tamper(msg, old, new):
    # One byte of a validly signed message, in its JSON part.
    i = msg.index(old)
    assert len(old) == len(new) and sum(a != b for a, b in zip(old, new)) == 1
    return msg[:i] + new + msg[i + len(old):]

def put(name, data):
    open(f"{T}/forged/{name}", "wb").write(data)

for k, n in enumerate(nodes):
    legit = json.loads(open(f"{T}/state-{n}/plan.msg", "rb").read().split(b"\n")[0])
    held = legit["issued_ms"]
    ev = legit["events"][0]

    def plan(kind, issued, node=n):
        p = dict(legit, node=node, issued_ms=issued)
        p["events"] = [dict(ev, occ=f"forged-{kind}@{n}", start_ms=at, volume=100, priority=20)]
        return p

    put(f"plan-unknown-{n}", signed(plan("unknown", held + 1000), evil))
    put(f"plan-tampered-{n}", tamper(signed(plan("tamper", held + 2000), real), b"tamper@", b"tampeR@"))
    put(f"plan-replayed-{n}", signed(plan("replay", held - 60000), real))
    put(f"plan-othernode-{n}", signed(plan("other", held + 3000, nodes[(k + 1) % len(nodes)]), real))
    put(f"plan-unsigned-{n}", text(plan("unsigned", held + 4000)))
    cmd = {"type": "cmd", "node": n, "cmd": "volume", "volume": 100, "issued_ms": int(time.time() * 1000)}
    put(f"cmd-unknown-{n}", signed(cmd, evil))
    put(f"cmd-tampered-{n}", tamper(signed(cmd, real), b'"volume":100', b'"volume":101'))
    put(f"cmd-unsigned-{n}", text(cmd))
    sha = ev["assets"]

def alert(kind):
    return {"type": "alert", "id": f"640104100000-forged-{kind}", "level": 1, "class": "actual",
            "issued_ms": at - 8000, "start_ms": at, "expires_ms": at + 120000,
            "targets": {"areas": ["640104"], "tags": [], "nodes": []},
            "title": "伪造预警", "assets": sha, "repeat": 1, "volume": 100}

put("alert-unknown", signed(alert("unknown"), evil))
put("alert-tampered", tamper(signed(alert("tamper"), real), b"tamper", b"tampeR"))
put("alert-unsigned", text(alert("unsigned")))
PY
for n in $NODES; do
	for kind in unknown tampered replayed othernode unsigned; do
		pub "cx/v1/plan/$n" -f "$T/forged/plan-$kind-$n" || fail "publish $kind plan to $n"
	done
	for kind in unknown tampered unsigned; do
		pub "cx/v1/cmd/$n" -f "$T/forged/cmd-$kind-$n" || fail "publish $kind cmd to $n"
	done
done
for kind in unknown tampered unsigned; do
	pub cx/v1/alert -f "$T/forged/alert-$kind" || fail "publish $kind alert"
done

# 5 plans + 3 commands + 3 alerts each; n2 also got 20 MB on its plan topic,
# n3 1 MB that is not the asset it wants. The 100 MB payloads exceed the
# maximum packet size the nodes announce, so the broker does not deliver them.
WANT_n1=11 WANT_n2=12 WANT_n3=12
for n in $NODES; do
	eval "want=\$WANT_$n"
	wait_for 20 status_ge $n rejected $want ||
		fail "$n: retained status counts $(status_field $n rejected) rejections, want >= $want"
done

# Let the forged events' time (8 s from the forging, 3 s long) pass.
wait_ms_until $((FORGE_MS + 6000))
[ "$(now_ms)" -lt $((START_MS - 2000)) ] ||
	fail "the attack took too long: the legitimate broadcast is already due"
for n in $NODES; do
	alive "node-$n" || fail "$n died"
	[ ! -s "$T/$n.raw" ] || fail "$n played $(stat -c %s "$T/$n.raw") bytes of forged audio"
	! grep -q "play forged\|alert 640104100000-forged" "$T/node-$n.log" || fail "$n took a forged item"
	eval "held=\$HELD_$n"
	[ "$(plan_issued $n)" = "$held" ] || fail "$n: plan.msg issued_ms $(plan_issued $n), want $held"
	[ "$(status_field $n plan_issued_ms)" = "$held" ] || fail "$n: status plan_issued_ms is not $held"
	eval "hwm0=\$HWM0_$n"
	echo "$n: rejected $(status_field $n rejected) (want >= $(eval echo \$WANT_$n)); peak RSS ${hwm0} kB before, $(proc_kb node-$n VmHWM) kB after the garbage; RSS now $(proc_kb node-$n VmRSS) kB"
	grep "rejected" "$T/node-$n.log" | sed 's/^.*rejected/  rejected/' | sort | uniq -c
done
alive serve || fail "serve died"
alive broker || fail "the broker died"
# The nodes announce an MQTT 5 maximum packet size of 64 MiB + 64 KiB; the
# broker drops larger publishes for them instead of sending them.
for n in n1 n3; do
	grep -q "Dropping too large outgoing PUBLISH for cx-node-$n" "$T/broker.log" ||
		fail "the broker did not drop the 100 MB publish for $n"
done
c=$(sql "select count(*) from receipts where occ like 'forged%' or occ like '%-forged-%'")
[ "$c" = 0 ] || fail "$c receipts for forged items"

# The legitimate plan still plays, sample for sample, on every node.
wait_ms_until $((START_MS + 3000))
wait_for 40 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts where state='completed' and occ='river-bc@${DAY}T$HHMM'\") -ge 3" ||
	fail "not every node reported the legitimate broadcast completed"
for n in $NODES; do
	alive "node-$n" || fail "$n died"
	out=$(played_matches $n) || fail "$n: output differs from the asset: $out"
	# Only the legitimate broadcast: the output is no longer than it.
	python3 -c 'import os,sys; sys.exit(os.path.getsize(sys.argv[1]) > 2 * os.path.getsize(sys.argv[2]))' \
		"$T/$n.raw" "$T/$n.expect" || fail "$n played more than the legitimate broadcast"
	echo "$n: $out"
done
c=$(sql "select count(*) from receipts where occ like 'forged%' or occ like '%-forged-%'")
[ "$c" = 0 ] || fail "$c receipts for forged items"
echo ok
