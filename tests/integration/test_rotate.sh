#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Rotating the controller's signing key without a visit to the pole, as the
# README says: `cunxiang trust OLD NEW` (signed with the old key) makes the
# pole trust both; serve restarted with the new key publishes the plan again,
# signed with it, and the pole takes it; `cunxiang trust NEW` (signed with
# the new key) retires the old one: a plan or keys message signed with it
# is rejected, before and after the pole restarts, and a replayed older
# keys message changes nothing. Editing node.yaml's trusted_keys wins over
# the message it holds.
. "$(dirname "$0")/lib.sh"
need sqlite3
need mosquitto_sub

start_broker
make_keys
OLD_PUB=$(cat "$T/keys/signing.pub")
write_fleet "$T/sched" n1:100:a
write_controller "$T/sched"
alsa_file_pcms n1
start_serve
write_node n1 n1
start_node n1
wait_for 30 plan_issued n1 || fail "n1 got no plan"
ISSUED0=$(plan_issued n1)

"$CUNXIANG" keygen -o "$T/new" > /dev/null || fail "keygen"
NEW_PUB=$(cat "$T/new/signing.pub")

# trust refuses a message that would leave its own signer untrusted.
"$CUNXIANG" trust -c "$T/controller.yaml" "$T/new/signing.pub" > "$T/refused.out" 2>&1 &&
	fail "trust without the signing key was sent: $(cat "$T/refused.out")"
grep -q 'would no longer trust the key that signs' "$T/refused.out" ||
	fail "trust said: $(cat "$T/refused.out")"

# Keep every keys message the broker carries, to replay one later.
# shellcheck disable=SC2086
spawn keysub mosquitto_sub $MQ -q 1 -t cx/v1/keys -F '%x'
sleep 0.5

# ---- 1. the pole trusts both ----
"$CUNXIANG" trust -c "$T/controller.yaml" "$T/keys/signing.pub" "$T/new/signing.pub" \
	--wait 30 > "$T/trust1.out" 2>&1 || fail "trust OLD NEW: $(cat "$T/trust1.out")"
cat "$T/trust1.out"
grep -q 'all 1 poles of the fleet hold it' "$T/trust1.out" || fail "trust1: $(cat "$T/trust1.out")"
grep -q 'now trusting the controller keys .* (keys message of' "$T/node-n1.log" ||
	fail "n1 did not say it trusts the new set"
wait_for 10 sh -c "[ \$(wc -l < '$T/keysub.log') -ge 1 ]" || fail "the keys message is not retained"
head -n 1 "$T/keysub.log" > "$T/keys1.hex"

# ---- 2. serve signs with the new key ----
# plan_signer: the key id n1's plan is signed with (the envelope's 2nd line).
plan_signer() { sed -n 2p "$T/state-n1/plan.msg" | cut -d ' ' -f 3; }
NEW_KEYID=$(printf '%s' "$NEW_PUB" | python3 -c '
import base64, hashlib, sys
print(hashlib.sha256(base64.b64decode(sys.stdin.read())).hexdigest()[:16])')
[ "$(plan_signer)" != "$NEW_KEYID" ] || fail "the plan was signed with the new key already"
stop_proc serve
sed -i "s|^signing_key: .*|signing_key: $T/new/signing.key|" "$T/controller.yaml"
start_serve
wait_for 30 sh -c "[ \"\$(sed -n 2p '$T/state-n1/plan.msg' | cut -d ' ' -f 3)\" = $NEW_KEYID ]" ||
	fail "n1 did not take the plan signed with the new key (signer $(plan_signer))"
ISSUED1=$(plan_issued n1)
[ "$ISSUED1" -gt "$ISSUED0" ] || fail "the plan signed with the new key is not newer"
! grep -q 'rejected plan' "$T/node-n1.log" || fail "n1 rejected a plan: $(grep 'rejected plan' "$T/node-n1.log")"
echo "serve restarted with key $NEW_KEYID: n1 took its plan again ($ISSUED0 -> $ISSUED1)"

# ---- 3. the old key is retired ----
"$CUNXIANG" trust -c "$T/controller.yaml" "$T/new/signing.pub" --wait 30 > "$T/trust2.out" 2>&1 ||
	fail "trust NEW: $(cat "$T/trust2.out")"
cat "$T/trust2.out"

# forge_plan KEY ISSUED: n1's plan, issued at ISSUED, signed with KEY.
forge_plan() {
	head -n 1 "$T/state-n1/plan.msg" |
		python3 -c 'import json,sys; p=json.loads(sys.stdin.readline()); p["issued_ms"]=int(sys.argv[1]); print(json.dumps(p,separators=(",",":")),end="")' "$2" |
		"$CX_SIGN" "$1" > "$T/forged.msg" || fail "cannot sign a plan"
}
rejected() { grep -c "rejected $1" "$T/node-n1.log"; }
# old_plan_rejected ISSUED WHY: a plan issued at ISSUED signed with the old
# key is rejected (FAIL naming WHY otherwise).
old_plan_rejected() {
	_r=$(rejected plan)
	forge_plan "$T/keys/signing.key" "$1"
	pub cx/v1/plan/n1 -f "$T/forged.msg"
	wait_for 10 sh -c "[ \$(grep -c 'rejected plan' '$T/node-n1.log') -gt $_r ]" || fail "$2"
	[ "$(plan_issued n1)" != "$1" ] || fail "$2"
}
old_plan_rejected $((ISSUED1 + 1000)) "n1 did not reject a plan signed with the retired key"
[ "$(plan_issued n1)" = "$ISSUED1" ] || fail "n1 took the plan signed with the retired key"
grep 'rejected plan' "$T/node-n1.log" | tail -n 1

# The keys message of step 1 again (it trusted the old key): nothing changes.
python3 -c "import sys; sys.stdout.buffer.write(bytes.fromhex(open(sys.argv[1]).read().strip()))" "$T/keys1.hex" > "$T/keys1.msg"
pub cx/v1/keys -f "$T/keys1.msg"
# A keys message signed with the retired key: rejected.
printf '{"type":"keys","issued_ms":%s,"keys":["%s"]}' "$(now_ms)" "$OLD_PUB" |
	"$CX_SIGN" "$T/keys/signing.key" > "$T/keys-old.msg" || fail "cannot sign a keys message"
RK=$(rejected keys)
pub cx/v1/keys -f "$T/keys-old.msg"
wait_for 10 sh -c "[ \$(grep -c 'rejected keys' '$T/node-n1.log') -gt $RK ]" ||
	fail "n1 did not reject a keys message signed with the retired key"
old_plan_rejected $((ISSUED1 + 2000)) \
	"after the replayed keys message n1 took a plan signed with the retired key"
echo "retired key: plan and keys message rejected; the replayed older keys message changed nothing"

# ---- 4. across a restart ----
stop_proc node-n1
start_node n1
wait_for 20 grep -q 'trusting the controller keys of the keys message' "$T/node-n1.log" ||
	fail "n1 did not keep the keys message across its restart"
old_plan_rejected $((ISSUED1 + 5000)) \
	"after its restart n1 did not reject a plan signed with the retired key"
"$CUNXIANG" trust -c "$T/controller.yaml" --status > "$T/status.out" || fail "trust --status"
grep -q '^n1 .*keys message of' "$T/status.out" || fail "trust --status: $(cat "$T/status.out")"
echo "after a restart n1 still trusts only the new key; trust --status: $(cat "$T/status.out")"

# ---- 5. node.yaml edited wins ----
stop_proc node-n1
sed -i "s|^trusted_keys: .*|trusted_keys: [\"$NEW_PUB\"]|" "$T/node-n1.yaml"
start_node n1
wait_for 20 grep -q "keys.msg ignored: node.yaml's trusted_keys changed" "$T/node-n1.log" ||
	fail "n1 did not let its edited node.yaml win"
R3=$(rejected plan)
forge_plan "$T/new/signing.key" $((ISSUED1 + 6000))
pub cx/v1/plan/n1 -f "$T/forged.msg"
issued_is() { [ "$(plan_issued n1)" = "$1" ]; }
wait_for 10 issued_is $((ISSUED1 + 6000)) || fail "n1 with node.yaml's new key did not take a plan signed with it"
[ "$(rejected plan)" = "$R3" ] || fail "n1 rejected a plan signed with node.yaml's key"
echo "node.yaml edited to the new key: it is in force (the saved keys message is set aside)"
