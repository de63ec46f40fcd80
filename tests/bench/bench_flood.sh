#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# serve under an intruder's flood: 10,000 forged statuses and receipts a
# second for 10 s (tests/tools/flood.c: unsigned, or signed with a key of
# its own, for made-up poles and for the real one) while a real pole (n1,
# cunxiang-node) plays two alerts and an enrolled probe pole sends a signed
# receipt every 100 ms. Printed, beside the same 10 s without the flood:
# ack latency of the probe and of n1 (goal: p95 within 2x of unloaded),
# serve's peak memory, and what the store grew by.
# Usage: bench_flood.sh [RATE [SECS]] (default 10000 10).
. "$(dirname "$0")/../integration/lib.sh"
need sox
need sqlite3
[ -x "${CX_FLOOD:-}" ] || skip "flood not built"
RATE=${1:-10000}
SECS=${2:-10}

start_broker
make_keys
write_fleet "$T/sched" n1:300:river probe:1:probe
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the bench fleet does not check"
write_controller "$T/sched"
sox -n -r 48000 -c 1 -b 16 "$T/alert.wav" synth 1 sine 880 fade 0.01 1 0.01
alsa_file_pcms n1
start_serve
write_node n1 n1
start_node n1
fake_pole probe
wait_for 40 test -s "$T/state-n1/plan.msg" || fail "n1 got no plan"
sleep 3

db_bytes() { du -cb "$T/data"/receipts.db* | tail -n 1 | cut -f 1; }
rows() { sql "select (select count(*) from quarantine) || ' ' || (select count(*) from transitions) || ' ' || (select count(*) from receipts) || ' ' || (select count(*) from status)"; }

# cpu NAME: user + system CPU time of the process started as NAME, in ms.
cpu() { awk -v t="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$(pid_of "$1")/stat"; }

# phase NAME RATE SEQ: SECS of flood at RATE with two alerts to n1 inside,
# the probe's receipts numbered from SEQ; CPU of serve and the broker.
phase() {
	_c0=$(cpu serve) _b0=$(cpu broker)
	"$CX_FLOOD" $MQ_TOOL -r "$2" -s "$SECS" --probe probe "$T/pole-probe/signing.key" \
		--seq "$3" --watch n1 > "$T/$1.flood" 2>&1 &
	_fl=$!
	sleep 1
	for k in 1 2; do
		"$CUNXIANG" alert -c "$T/controller.yaml" --level 3 --tag river --audio "$T/alert.wav" \
			--wait 4 > "$T/$1.alert$k" 2>&1 || echo "($1: alert $k did not start on n1)"
	done
	wait $_fl || fail "flood failed: $(cat "$T/$1.flood")"
	alive serve || fail "serve died during $1"
	echo "CPU: serve $(( $(cpu serve) - _c0 )) ms, broker $(( $(cpu broker) - _b0 )) ms" >> "$T/$1.flood"
}

B0=$(db_bytes); R0=$(rows)
phase unloaded 0 1
HWM0=$(proc_kb serve VmHWM)
B1=$(db_bytes); R1=$(rows)
phase loaded "$RATE" 1001
HWM1=$(proc_kb serve VmHWM)
B2=$(db_bytes); R2=$(rows)
sleep 2
alive serve || fail "serve died"

echo "unloaded ($SECS s):"; sed 's/^/  /' "$T/unloaded.flood"
echo "loaded ($RATE forged/s for $SECS s):"; sed 's/^/  /' "$T/loaded.flood"
python3 - "$T/unloaded.flood" "$T/loaded.flood" <<'PY'
import re, sys
def p95(path, who):
    for l in open(path):
        m = re.match(r"%s acks: (\d+) of (\d+), p50 ([\d.]+) ms, p95 ([\d.]+) ms" % who, l)
        if m:
            return float(m.group(4)), int(m.group(1)), int(m.group(2))
    return None
for who in ("probe", "watch"):
    a, b = p95(sys.argv[1], who), p95(sys.argv[2], who)
    if not a or not b:
        print("%s: no acks to compare (%s / %s)" % (who, a, b))
        continue
    ratio = b[0] / a[0] if a[0] > 0 else float("inf")
    ok = "goal met" if ratio <= 2 else "GOAL MISSED"
    print("%s ack p95: %.1f ms unloaded, %.1f ms loaded: %.2fx (goal <= 2x: %s); %d of %d acked under load"
          % (who, a[0], b[0], ratio, ok, b[1], b[2]))
PY
set -- $R1; q1=$1 t1=$2
set -- $R2; q2=$1 t2=$2 rc2=$3 st2=$4
echo "serve peak RSS: $((HWM0 / 1024)) MiB before the flood, $((HWM1 / 1024)) MiB after"
echo "store grew $(( (B2 - B1) / 1024 )) KiB under the flood ($(( (B1 - B0) / 1024 )) KiB without):" \
	"quarantine +$((q2 - q1)) rows (now $q2, bounded at 10,000), transitions +$((t2 - t1)) rows," \
	"status rows $st2, receipts $rc2"
grep -E "refused|quarantine" "$T/serve.log" | tail -n 3
