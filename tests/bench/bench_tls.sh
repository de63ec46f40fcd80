#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# TLS with per-pole accounts at township scale, beside the same run without
# TLS. 1,000 simulated poles (nodeswarm: each a session with its own
# account from `cunxiang provision`, that verifies alerts, fetches the
# audio and sends signed receipts as a pole does):
#   reconnect  the broker restarts: time from its start until every pole is
#              connected and subscribed again, and the CPU the broker and
#              serve spent meanwhile;
#   fan-out    `cunxiang alert` to `started` on every pole: p50, p95, max
#              (goal with TLS: p95 <= 300 ms).
# The comparison runs on a broker without TLS and with anonymous access:
# on purpose, only to measure what TLS costs.
# Usage: bench_tls.sh [POLES [ROUNDS]] (default 1000 5).
. "$(dirname "$0")/../integration/lib.sh"
need sox
need sqlite3
[ -x "${CX_NODESWARM:-}" ] || skip "nodeswarm not built"
SIMS=${1:-1000}
rounds=${2:-5}
ulimit -n 8192 || fail "cannot raise the open-file limit"
# One village of poles per run (a pole's receipts are numbered once).
AREA_tls=640104100202
AREA_plain=640104100203

start_broker
make_keys
mkdir -p "$T/sched"
{
	cat <<CONF
township: 测试镇
area_code: "640104100000"
timezone: Asia/Shanghai
villages:
  - code: "$AREA_tls"
    name: 永北村
    nodes:
CONF
	seq -f '      - { id: tls-%04g, households: 10 }' 1 "$SIMS"
	printf '  - code: "%s"\n    name: 永西村\n    nodes:\n' "$AREA_plain"
	seq -f '      - { id: pln-%04g, households: 10 }' 1 "$SIMS"
} > "$T/sched/fleet.yaml"
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the bench fleet does not check"
sox -n -r 48000 -c 1 -b 16 "$T/alert.wav" synth 1 sine 1000 vol 0.5 || fail "sox"
write_controller "$T/sched"
# The same controller on a broker without TLS (see start_plain).
sed -e '/^username:/d' -e '/^password_file:/d' -e '/^ca_file:/d' \
	-e 's|^broker: .*|broker: mqtt://127.0.0.1:PLAIN_PORT|' "$T/controller.yaml" > "$T/plain.yaml.in"
for m in tls pln; do
	"$CX_NODESWARM" --print-keys -n "$SIMS" --prefix $m- > "$T/$m.keys" || fail "nodeswarm keys"
	"$CUNXIANG" enrol -c "$T/controller.yaml" --file "$T/$m.keys" > /dev/null ||
		fail "cannot enrol the simulated poles"
done
# shellcheck disable=SC2046
broker_account $(cut -d ' ' -f 1 "$T/tls.keys")

# cpu NAME: user + system CPU time of the process started as NAME, in ms.
cpu() { awk -v t="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$(pid_of "$1")/stat"; }

# start_plain: mosquitto on PLAIN_PORT without TLS, anonymous, otherwise as
# provision configures it.
start_plain() {
	mkdir -p "$T/plain-broker"
	{
		grep -v -e '^listener' -e '^cafile' -e '^certfile' -e '^keyfile' -e '^tls_version' \
			-e '^allow_anonymous' -e '^password_file' -e '^acl_file' "$BROKER_PKI/broker/mosquitto.conf"
		printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser %s\n' "$PLAIN_PORT" "$(id -un)"
		printf 'persistence_location %s/\nlog_dest stderr\nlog_type error\nlog_type warning\n' \
			"$T/plain-broker"
	} > "$T/plain-broker/mosquitto.conf"
	spawn broker mosquitto -c "$T/plain-broker/mosquitto.conf"
	wait_for 10 mosquitto_sub -h 127.0.0.1 -p "$PLAIN_PORT" -t cx/v1/ready -E ||
		fail "the plain broker did not start"
}

# round CONFIG MODE AREA: one alert to the village AREA; appends "NODE
# DELAY_MS" to $T/MODE.delays.
round() {
	_t0=$(now_ms)
	"$CUNXIANG" alert -c "$1" --level 1 --area "$3" --audio "$T/alert.wav" --wait 30 \
		> "$T/alert.out" 2>&1 || { cat "$T/alert.out"; fail "$2: the alert did not start everywhere"; }
	_id=$(sql "select id from alerts order by issued_ms desc limit 1")
	sleep 1.5 # serve stores the last receipts
	sql "select node, started_ms - $_t0 from receipts where occ = '$_id' and state = 'started'" |
		tr '|' ' ' >> "$T/$2.delays"
}

# phase MODE PREFIX CONFIG RESTART SWARM-OPTIONS...: serve on CONFIG and
# the swarm (poles PREFIX0001...) come up; ROUNDS alerts; then the broker restarts (RESTART: the command
# that starts it again) and the swarm reconnects. Writes $T/MODE.figures.
phase() {
	_mode=$1 _pre=$2 _cf=$3 _restart=$4
	shift 4
	: > "$T/swarm-$_mode.log"
	spawn serve "$CUNXIANG" serve -c "$_cf"
	_t0=$(now_ms)
	eval "_area=\$AREA_$_mode"
	spawn "swarm-$_mode" "$CX_NODESWARM" -k "$PUBKEY" -n "$SIMS" --prefix "$_pre" --area "$_area" "$@"
	wait_for 120 grep -q "^ready $SIMS\$" "$T/swarm-$_mode.log" ||
		fail "$_mode: the simulated poles did not come up"
	_first=$(( $(now_ms) - _t0 ))
	sleep 2
	_c0="$(cpu serve) $(cpu broker) $(cpu "swarm-$_mode")"
	for _k in $(seq "$rounds"); do round "$_cf" "$_mode" "$_area"; done
	set -- $_c0
	echo "$_mode: CPU over the $rounds alerts: serve $(( $(cpu serve) - $1 )) ms, broker $(( $(cpu broker) - $2 )) ms, simulated poles $(( $(cpu "swarm-$_mode") - $3 )) ms"
	stop_broker
	_serve0=$(cpu serve)
	_t0=$(now_ms)
	$_restart
	wait_for 180 grep -q "^ready $SIMS again at" "$T/swarm-$_mode.log" ||
		fail "$_mode: the simulated poles did not all come back: $(tail -n 3 "$T/swarm-$_mode.log")"
	_t1=$(sed -n "s/^ready $SIMS again at \([0-9]*\).*/\1/p" "$T/swarm-$_mode.log" | tail -n 1)
	echo "$_mode $_first $((_t1 - _t0)) $(cpu broker) $(( $(cpu serve) - _serve0 ))" > "$T/$_mode.figures"
	stop_proc "swarm-$_mode"
	stop_proc serve
	stop_broker
}

phase tls tls- "$T/controller.yaml" start_broker --pki "$BROKER_PKI" -p "$BROKER_PORT"
PLAIN_PORT=$(free_port)
sed "s/PLAIN_PORT/$PLAIN_PORT/" "$T/plain.yaml.in" > "$T/plain.yaml"
start_plain
phase plain pln- "$T/plain.yaml" start_plain -p "$PLAIN_PORT"

python3 - "$T" "$SIMS" "$rounds" <<'PY'
import sys
t, sims, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]
print(f"{sims} simulated poles, each with its own broker account; {rounds} alerts per run")
print("%-22s %12s %14s %12s %12s   %8s %8s %8s" % ("", "first up", "back after", "broker CPU",
      "serve CPU", "p50", "p95", "max"))
for mode, name in (("tls", "TLS, per-pole accounts"), ("plain", "no TLS, anonymous")):
    _, first, back, bcpu, scpu = open(f"{t}/{mode}.figures").read().split()
    d = [int(l.split()[1]) for l in open(f"{t}/{mode}.delays")]
    line = "%-22s %9d ms %11d ms %9d ms %9d ms   %5d ms %5d ms %5d ms" % (
        name, int(first), int(back), int(bcpu), int(scpu), pct(d, 50), pct(d, 95), max(d))
    if mode == "tls":
        line += "   (goal p95 <= 300 ms: %s)" % ("goal met" if pct(d, 95) <= 300 else "GOAL MISSED")
    print(line)
    if len(d) != sims * rounds:
        print("  %d of %d starts recorded" % (len(d), sims * rounds))
print("back after: from the broker's restart until every pole is connected and subscribed again;")
print("broker CPU: the restarted broker's, until then; serve CPU: serve's over the same time")
PY
