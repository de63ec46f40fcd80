#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Alert fan-out at county scale beside the broker's own floor, in one run,
# on one broker (TLS, one account per pole, the ACL `cunxiang provision`
# writes). For each size N (default 1,000, 3,000 and 10,000), N simulated
# poles (nodeswarm --floor: one epoll loop, each pole its own session,
# account and key, in a village of their own):
#   floor   mqfloor, serve not running: a QoS 1 message to every pole, each
#           fetches a retained asset and answers at QoS 1; from the publish
#           to each answer;
#   alert   `cunxiang alert --audio` to the village, serve running: from
#           the alert's issued_ms (and from running the command) to
#           `started` in the store;
# p50, p95 and max of each, and the alert's p95 against the floor's
# (goal at 3,000 and 10,000: within 1.5 times).
#
# The swarm is one thread standing in for thousands of poles' CPUs. It
# stamps each start when the pole's audio is complete and signs the
# receipts once nothing is waiting to be read, so their traffic reaches the
# broker after the fan-out rather than during it (the alert rows). Then the
# same rounds again with each pole signing at once (nodeswarm after
# SIGUSR1), where every earlier pole's signing is in the next one's stamp:
# the real figure lies between the two.
# Usage: bench_alert_county.sh [SIZE...]; CX_ROUNDS rounds each (default 5).
. "$(dirname "$0")/../integration/lib.sh"
need sox
need sqlite3
need opusenc
[ -x "${CX_NODESWARM:-}" ] || skip "nodeswarm not built"
[ -x "${CX_MQFLOOR:-}" ] || skip "mqfloor not built"
sizes=${*:-1000 3000 10000}
rounds=${CX_ROUNDS:-5}
total=0
for n in $sizes; do total=$((total + n)); done
# A descriptor a session in the broker, three in nodeswarm: as high as the
# hard limit allows, and each size's poles split into swarms that fit.
want=$((3 * total + 4096)) hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$want" -le "$hard" ] || want=$hard
[ "$want" -ge $((total + 1024)) ] || fail "the open-file limit ($hard) is too low for $total sessions"
ulimit -n "$want" || fail "cannot raise the open-file limit to $want"
per_swarm=$(((want - 1024) / 3))

# The broker starts once every account is provisioned: its configuration
# (the queue sized from the fleet) is read at start.
BROKER_PORT=$(free_port)
BROKER_URL="mqtts://127.0.0.1:$BROKER_PORT"
broker_provision
make_keys
mkdir -p "$T/sched"
{
	printf 'township: 测试镇\narea_code: "640104100000"\ntimezone: Asia/Shanghai\nvillages:\n'
	k=1
	for n in $sizes; do
		printf '  - code: "6401041003%02d"\n    name: 村%d\n    nodes:\n' $k $k
		awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) printf "      - { id: p%d-%04d, households: 10 }\n", '"$n"', i }'
		k=$((k + 1))
	done
} > "$T/sched/fleet.yaml"
sox -n -r 48000 -c 1 -b 16 "$T/alert.wav" synth 1 sine 1000 vol 0.5 || fail "sox"
# The floor's asset is as large as the alert's once coded.
asset_bytes=$(opusenc --quiet --bitrate 24 "$T/alert.wav" - | wc -c)
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the bench fleet does not check"
write_controller "$T/sched"
# County IT enrols the poles' keys and gives each its broker account (all
# at once: one provisioning, before the broker starts).
: > "$T/swarm.keys"
for n in $sizes; do
	"$CX_NODESWARM" --print-keys -n "$n" --prefix "p$n-" >> "$T/swarm.keys" || fail "nodeswarm keys"
done
"$CUNXIANG" enrol -c "$T/controller.yaml" --file "$T/swarm.keys" > /dev/null || fail "cannot enrol the poles"
cut -d ' ' -f 1 "$T/swarm.keys" >> "$BROKER_PKI/accounts"
start_broker
grep "^max_queued_messages" "$T/broker/mosquitto.conf"

# settle PID: wait (60 s at most) until PID used under 5% of a core over a
# second: serve has stored the fleet and published its plans.
settle() {
	_end=$(( $(date +%s) + 60 ))
	_last=$(awk '{ print $14 + $15 }' "/proc/$1/stat")
	while [ "$(date +%s)" -lt "$_end" ]; do
		sleep 1
		_now=$(awk '{ print $14 + $15 }' "/proc/$1/stat") || return 0
		[ $((_now - _last)) -lt 5 ] && return 0
		_last=$_now
	done
}

# round AREA N [SUFFIX]: one alert to AREA's N poles; appends "NODE
# FROM_CMD FROM_ISSUE" to $T/AREA.delaysSUFFIX.
round() {
	_t0=$(now_ms)
	"$CUNXIANG" alert -c "$T/controller.yaml" --level 1 --area "$1" --audio "$T/alert.wav" \
		--wait 60 > "$T/alert.out" 2>&1 || { cat "$T/alert.out"; fail "alert to $1 did not start everywhere"; }
	_id=$(sql "select id from alerts order by issued_ms desc limit 1")
	# The times are the poles' own; serve may take a while to store them.
	wait_for 300 sh -c "test \$(sqlite3 '$T/data/receipts.db' \"select count(*) from receipts
		where occ = '$_id' and state = 'started'\") -ge $2" || fail "serve did not store every start"
	sql "select r.node, r.started_ms - $_t0, r.started_ms - a.issued_ms from receipts r
		join alerts a on a.id = r.occ where r.occ = '$_id' and r.state = 'started'" |
		tr '|' ' ' >> "$T/$1.delays${3:-}"
}

k=1
for n in $sizes; do
	area=$(printf '6401041003%02d' $k)
	first=1 swarms=""
	while [ "$first" -le "$n" ]; do
		m=$((n - first + 1))
		[ "$m" -le "$per_swarm" ] || m=$per_swarm
		spawn "swarm$n-$first" "$CX_NODESWARM" -p "$BROKER_PORT" --pki "$BROKER_PKI" -k "$PUBKEY" \
			-n "$m" --first "$first" --prefix "p$n-" --area "$area" --floor
		wait_for 600 grep -q "^ready $m" "$T/swarm$n-$first.log" ||
			fail "poles $first.. of $n did not come up"
		swarms="$swarms swarm$n-$first"
		first=$((first + m))
	done
	# shellcheck disable=SC2086
	"$CX_MQFLOOR" $MQ_TOOL -n "$n" -r "$rounds" -s "$asset_bytes" > "$T/floor$n" ||
		{ cat "$T/floor$n"; fail "the floor of $n poles"; }
	_c0=$(grep -c "connected to the broker" "$T/serve.log" 2>/dev/null || true)
	start_serve
	wait_for 60 sh -c "test \$(grep -c 'connected to the broker' '$T/serve.log') -gt ${_c0:-0}" ||
		fail "serve did not connect"
	settle "$(pid_of serve)"
	for r in $(seq "$rounds"); do round "$area" "$n"; done
	for s in $swarms; do kill -USR1 "$(pid_of "$s")"; done
	for _ in $(seq "$rounds"); do round "$area" "$n" .at-once; done
	stop_proc serve
	for s in $swarms; do stop_proc "$s"; done
	echo "$n poles: $(tail -n 1 "$T/floor$n")"
	k=$((k + 1))
done

python3 - "$T" "$rounds" $sizes <<'PY'
import sys
T, rounds, sizes = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3:]]
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]
print()
print("alert fan-out beside the broker's floor (ms), %d rounds each:" % rounds)
print("%-8s %-54s %8s %6s %6s %6s" % ("poles", "", "answers", "p50", "p95", "max"))
for k, n in enumerate(sizes, 1):
    area = "6401041003%02d" % k
    fl = [l for l in open("%s/floor%d" % (T, n)) if l.startswith("floor ")][0].split()
    f50, f95, fmax, fcount = float(fl[5]), float(fl[8]), float(fl[11]), int(fl[2])
    print("%-8d %-54s %8d %6.0f %6.0f %6.0f" % (n, "floor (mqfloor, publish -> answer)", fcount, f50, f95, fmax))
    for suffix, label in (("", "alert"), (".at-once", "alert, poles signing at once")):
        try:
            rows = [l.split() for l in open("%s/%s.delays%s" % (T, area, suffix))]
        except OSError:
            rows = []
        if not rows:
            print("%-8s %s: no alert started" % ("", label))
            continue
        cmd = [int(r[1]) for r in rows]
        iss = [int(r[2]) for r in rows]
        print("%-8s %-54s %8d %6d %6d %6d" % ("", label + ", issued_ms -> started", len(iss), pct(iss, 50), pct(iss, 95), max(iss)))
        print("%-8s %-54s %8d %6d %6d %6d" % ("", label + ", command run -> started", len(cmd), pct(cmd, 50), pct(cmd, 95), max(cmd)))
        ratio = pct(iss, 95) / f95 if f95 > 0 else float("inf")
        goal = "" if n < 3000 or suffix else "  (goal <= 1.5: %s)" % ("met" if ratio <= 1.5 else "GOAL MISSED")
        print("%-8s p95 %s / p95 floor: %.1f%s" % ("", label, ratio, goal))
        if len(rows) != n * rounds:
            print("%-8s %d of %d starts recorded" % ("", len(rows), n * rounds))
PY
