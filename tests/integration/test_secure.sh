#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `cunxiang provision` gives the broker TLS and one account per pole, and a
# real mosquitto 2.0 holds to it: no anonymous, wrong-password, plaintext or
# wrong-CA client gets in; a pole may write only its own receipts, status,
# pings and wants and read only what is addressed to it; a second run
# changes no byte; a pole added gets in after a reload without disturbing
# the others, a pole removed is disconnected by the reload and its key
# retired. Finally serve and a node from its bundle work over TLS.
. "$(dirname "$0")/lib.sh"
need mosquitto_sub
need sqlite3

make_keys
write_fleet "$T/sched" n1:10:a n2:10:a
mkdir -p "$T/data"
cat > "$T/controller.yaml" <<CONF
broker: mqtts://127.0.0.1:8883
signing_key: $T/keys/signing.key
schedules: $T/sched
voices: $CX_SRC/voices
data_dir: $T/data
horizon_days: 2
CONF
P="$T/prov"

# provision ARGS...: run it, output in $T/prov.out.
provision() {
	"$CUNXIANG" provision -c "$T/controller.yaml" -o "$P" "$@" > "$T/prov.out" 2>&1 ||
		fail "provision $*: $(cat "$T/prov.out")"
}
tree_sums() { (cd "$P" && find . -type f | LC_ALL=C sort | xargs sha256sum); }
mode_is() { [ "$(stat -c %a "$1")" = "$2" ] || fail "$1 has mode $(stat -c %a "$1"), want $2"; }

provision --broker-host 127.0.0.1
cat "$T/prov.out"
for f in ca/ca.key broker/server.key broker/passwd controller/password \
	poles/n1/node.pass poles/n1/node.key poles/n2/node.pass poles/n2/node.key; do
	mode_is "$P/$f" 600
done
for d in ca broker controller poles poles/n1; do mode_is "$P/$d" 700; done
for f in controller/password poles/n1/node.pass poles/n2/node.pass; do
	! grep -qF "$(cat "$P/$f")" "$T/prov.out" || fail "provision printed the secret $f"
done
grep -q '^n1:\$7\$101\$[A-Za-z0-9+/]\{16\}\$[A-Za-z0-9+/]\{86\}==$' "$P/broker/passwd" ||
	fail "n1's password line is not mosquitto's PBKDF2-SHA512 format"
! grep -q '^pattern' "$P/broker/acl" || fail "the ACL has pattern lines"

start_tls_broker "$P"
CA="$P/ca/ca.crt"
pw() { if [ "$1" = controller ]; then cat "$P/controller/password"; else cat "$P/poles/$1/node.pass"; fi; }
# as USER mosquitto_pub|mosquitto_sub ARGS...: a TLS client with USER's credentials.
as() {
	_u=$1 _tool=$2; shift 2
	"$_tool" -h 127.0.0.1 -p "$TLS_PORT" --cafile "$CA" -u "$_u" -P "$(pw "$_u")" "$@"
}
# sub NAME USER ARGS...: mosquitto_sub as USER in the background, as process
# NAME (a process of its own, so that it can be watched and stopped), its
# output (-d: the MQTT packets) line-buffered into $T/NAME.log.
sub() {
	_n=$1 _u=$2; shift 2
	spawn "$_n" stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$CA" -u "$_u" \
		-P "$(pw "$_u")" "$@"
}

# ---- who gets in ----
mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$CA" -V mqttv5 -t x -m y -d > "$T/anon.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'received CONNACK (135)' "$T/anon.out" ||
	fail "an anonymous client was not refused with 135: $(cat "$T/anon.out")"
mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$CA" -V mqttv5 -u n1 -P wrong -t x -m y -d \
	> "$T/wrong.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'received CONNACK (135)' "$T/wrong.out" ||
	fail "a wrong password was not refused with 135: $(cat "$T/wrong.out")"
mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" -u n1 -P "$(pw n1)" -t x -m y -d > "$T/plain.out" 2>&1
rc=$?
[ $rc -ne 0 ] && ! grep -q CONNACK "$T/plain.out" ||
	fail "a plaintext connection got through: $(cat "$T/plain.out")"
# Another township's CA (another provision run) does not vouch for this broker.
sed "s|$T/data|$T/data-other|" "$T/controller.yaml" > "$T/other.yaml"
"$CUNXIANG" provision -c "$T/other.yaml" -o "$T/other" --broker-host 127.0.0.1 > /dev/null ||
	fail "the second provision run failed"
mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$T/other/ca/ca.crt" -u n1 -P "$(pw n1)" \
	-t x -m y -d > "$T/otherca.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'certificate verify failed' "$T/otherca.out" ||
	fail "a client trusting another CA connected: $(cat "$T/otherca.out")"
echo "refused: anonymous, wrong password (CONNACK 135), plaintext, another CA"

# ---- what a pole may do ----
sub watch controller -V mqttv5 -i ctl-watch -t 'cx/v1/#' -v
ready=false
for _ in $(seq 50); do
	as controller mosquitto_pub -t cx/v1/test/ready -m ready
	grep -q '^cx/v1/test/ready ready$' "$T/watch.log" && { ready=true; break; }
	sleep 0.2
done
$ready || fail "the controller's watcher did not start"
i=0
for t in cx/v1/receipt/n2 cx/v1/status/n2 cx/v1/alert cx/v1/plan/n1 cx/v1/asset/x \
	cx/v1/time/n2/ping cx/v1/want/n2 cx/v1/keys; do
	i=$((i + 1))
	as n1 mosquitto_pub -V mqttv5 -q 1 -t "$t" -m "forged-$i" -d > "$T/forge-$i.out" 2>&1 ||
		fail "publishing on $t: $(cat "$T/forge-$i.out")"
	grep -q 'received PUBACK (Mid: 1, RC:135)' "$T/forge-$i.out" ||
		fail "n1 publishing on $t was not refused with 135: $(cat "$T/forge-$i.out")"
done
# MQTT 3.1.1 has no reason codes: the PUBACK says nothing, the message is dropped all the same.
as n1 mosquitto_pub -q 1 -t cx/v1/receipt/n2 -m forged-311 || fail "n1 cannot connect with MQTT 3.1.1"
as n1 mosquitto_pub -V mqttv5 -q 1 -t cx/v1/receipt/n1 -m legit -d > "$T/legit.out" 2>&1 ||
	fail "n1 cannot publish its receipt: $(cat "$T/legit.out")"
grep -q 'received PUBACK (Mid: 1, RC:0)' "$T/legit.out" || fail "n1's receipt: $(cat "$T/legit.out")"
wait_for 10 grep -q '^cx/v1/receipt/n1 legit$' "$T/watch.log" || fail "n1's receipt did not arrive"
! grep -q forged "$T/watch.log" || fail "a forged message arrived: $(grep forged "$T/watch.log")"
echo "n1: PUBACK 135 on others' receipt, status, ping, want and on alert, plan, asset, keys;"
echo "    nothing of it (nor a 3.1.1 publish on n2's receipts) delivered; its own receipt delivered"

sub snoop n1 -V mqttv5 -i n1-snoop -t cx/v1/plan/n2 -t cx/v1/plan/n1 -t cx/v1/keys -v -d
wait_for 10 grep -q 'received SUBACK' "$T/snoop.log" || fail "n1's subscriber did not start"
as controller mosquitto_pub -q 1 -t cx/v1/plan/n2 -m plan-for-n2
as controller mosquitto_pub -q 1 -t cx/v1/plan/n1 -m plan-for-n1
as controller mosquitto_pub -q 1 -t cx/v1/keys -m keys-for-all
wait_for 10 grep -q '^cx/v1/plan/n1 plan-for-n1$' "$T/snoop.log" || fail "n1 did not get its own plan"
wait_for 10 grep -q '^cx/v1/keys keys-for-all$' "$T/snoop.log" || fail "n1 did not get the keys message"
! grep -q plan-for-n2 "$T/snoop.log" || fail "n1 received n2's plan"
stop_proc snoop
echo "n1: gets its own plan and the keys message, not n2's plan"

# ---- a second run changes nothing ----
tree_sums > "$T/sums1"
provision
tree_sums > "$T/sums2"
cmp -s "$T/sums1" "$T/sums2" || fail "the second run changed files: $(diff "$T/sums1" "$T/sums2")"
echo "second run: $(wc -l < "$T/sums1") files byte-identical"

# ---- a pole joins ----
sub keep-n1 n1 -V mqttv5 -i n1-keep -c -t cx/v1/cmd/n1 -v -d
wait_for 10 grep -q 'received SUBACK' "$T/keep-n1.log" || fail "n1's session did not start"
write_fleet "$T/sched" n1:10:a n2:10:a n3:10:a
provision --reload "$T/tls-broker/mosquitto.pid"
grep -q '1 new, 2 kept; 0 revoked' "$T/prov.out" || fail "adding n3: $(cat "$T/prov.out")"
wait_for 10 grep -q 'Reloading config' "$T/tls-broker.log" || fail "the broker did not reload"
as n3 mosquitto_pub -V mqttv5 -q 1 -t cx/v1/status/n3 -m hello -d > "$T/n3.out" 2>&1 ||
	fail "n3 cannot connect: $(cat "$T/n3.out")"
grep -q 'RC:0)' "$T/n3.out" || fail "n3's status was refused: $(cat "$T/n3.out")"
as controller mosquitto_pub -q 1 -t cx/v1/cmd/n1 -m still-here
wait_for 10 grep -q '^cx/v1/cmd/n1 still-here$' "$T/keep-n1.log" || fail "n1's session lost a message"
alive keep-n1 || fail "n1's session ended"
[ "$(grep -c 'sending CONNECT' "$T/keep-n1.log")" = 1 ] || fail "n1's session reconnected"
echo "n3 added: its credentials work after the reload; n1's session stayed connected"

# ---- a pole leaves ----
sub keep-n2 n2 -V mqttv5 -i n2-keep -c -t cx/v1/cmd/n2 -v -d
wait_for 10 grep -q 'received SUBACK' "$T/keep-n2.log" || fail "n2's session did not start"
write_fleet "$T/sched" n1:10:a n3:10:a
cp "$P/poles/n2/node.pass" "$T/n2.pass"
provision --reload "$T/tls-broker/mosquitto.pid"
grep -q '0 new, 2 kept; 1 revoked' "$T/prov.out" || fail "removing n2: $(cat "$T/prov.out")"
wait_for 10 grep -q 'Client n2-keep disconnected' "$T/tls-broker.log" ||
	fail "the broker did not disconnect n2"
wait_for 10 sh -c "! kill -0 $(pid_of keep-n2) 2>/dev/null" || fail "n2's subscriber is still running"
grep -q 'received CONNACK (135)' "$T/keep-n2.log" || fail "n2's reconnect was not refused"
mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$CA" -V mqttv5 -u n2 -P "$(cat "$T/n2.pass")" \
	-t cx/v1/status/n2 -m back -d > "$T/n2.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'received CONNACK (135)' "$T/n2.out" || fail "n2 got back in: $(cat "$T/n2.out")"
alive keep-n1 || fail "n1's session ended when n2 was removed"
! grep -q '^n2:' "$P/broker/passwd" || fail "n2 is still in the password file"
! grep -q '^user n2$' "$P/broker/acl" || fail "n2 still has rights in the ACL"
[ -s "$P/revoked/n2/node.key" ] && [ ! -e "$P/poles/n2" ] || fail "n2's bundle was not moved to revoked/"
"$CUNXIANG" enrol -c "$T/controller.yaml" --list > "$T/keys.out"
! grep -q '^n2 ' "$T/keys.out" || fail "n2's key is still enrolled: $(cat "$T/keys.out")"
grep -q '^n1 ' "$T/keys.out" && grep -q '^n3 ' "$T/keys.out" || fail "keys: $(cat "$T/keys.out")"
echo "n2 removed: disconnected by the reload, refused on reconnect (CONNACK 135), key retired"
stop_proc keep-n1
stop_proc watch

# ---- serve and a pole from its bundle, over TLS ----
cat > "$T/controller.yaml" <<CONF
broker: mqtts://127.0.0.1:$TLS_PORT
username: controller
password_file: $P/controller/password
ca_file: $P/controller/ca.crt
signing_key: $T/keys/signing.key
schedules: $T/sched
voices: $CX_SRC/voices
data_dir: $T/data
horizon_days: 2
CONF
start_serve
alsa_file_pcms n1
mkdir -p "$T/pole-n1" "$T/state-n1"
cp "$P/poles/n1/node.pass" "$P/poles/n1/ca.crt" "$T/pole-n1/"
cp "$P/poles/n1/node.key" "$T/state-n1/node.key"
sed -e "s|^broker: mqtts://127.0.0.1:8883\$|broker: mqtts://127.0.0.1:$TLS_PORT|" \
	-e "s|^state_dir: .*|state_dir: $T/state-n1|" -e "s|device: default|device: n1|" \
	"$P/poles/n1/node.yaml" > "$T/pole-n1/node.yaml"
grep -q "127.0.0.1:$TLS_PORT" "$T/pole-n1/node.yaml" || fail "cannot adapt n1's node.yaml"
spawn node-n1 "$CUNXIANG_NODE" -c "$T/pole-n1/node.yaml"
wait_for 30 test -s "$T/state-n1/plan.msg" || fail "n1 got no plan over TLS"
wait_for 30 sh -c "[ \"\$(sqlite3 '$T/data/receipts.db' \"select state from status where node='n1'\")\" = idle ]" ||
	fail "n1's status did not reach the store"
echo "serve and n1 from its bundle: plan delivered and status stored over TLS"

# A county's fleet: the broker holds 16 messages a pole for the controller
# (every pole's answers to a few alerts in a row), 10,000 at least. With a
# fixed 10,000, 10,000 poles answering one alert overflowed the
# controller's queue and the broker dropped receipts
# (bench_alert_county.sh).
grep -qx 'max_queued_messages 10000' "$P/broker/mosquitto.conf" ||
	fail "two poles: $(grep max_queued "$P/broker/mosquitto.conf")"
mkdir -p "$T/county/sched"
{
	printf 'township: 测试镇\narea_code: "640104100000"\ntimezone: Asia/Shanghai\nvillages:\n'
	printf '  - code: "640104100201"\n    name: 永南村\n    nodes:\n'
	awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "      - { id: c%04d, households: 1 }\n", i }'
} > "$T/county/sched/fleet.yaml"
sed -e "s|^schedules: .*|schedules: $T/county/sched|" -e "s|^data_dir: .*|data_dir: $T/county/data|" \
	"$T/controller.yaml" > "$T/county/controller.yaml"
"$CUNXIANG" provision -c "$T/county/controller.yaml" -o "$T/county/prov" --broker-host 127.0.0.1 \
	> "$T/county/prov.out" 2>&1 || fail "provision of 2,000 poles: $(cat "$T/county/prov.out")"
grep -qx 'max_queued_messages 32000' "$T/county/prov/broker/mosquitto.conf" ||
	fail "2,000 poles: $(grep max_queued "$T/county/prov/broker/mosquitto.conf")"
echo "the controller's broker queue: 10000 for 2 poles, 32000 for 2,000"
echo ok
