#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Automatic warnings at fan-out, beside `cunxiang alert` in the same run:
# 1,000 simulated nodes (nodeswarm) behind one broker and `cunxiang serve`
# reading a watched directory. Each round, either `cunxiang alert --text`
# to the simulated village, or a CAP 1.2 file for the same village (an
# administrative geocode) moved into the watched directory; the time from
# running the command / the file landing to `started` on every node: p50,
# p95, max. Goal: CAP p95 within 1 s of the alert's.
# Usage: bench_cap.sh [ROUNDS] (default 5 of each).
. "$(dirname "$0")/../integration/lib.sh"
need sqlite3
[ -x "${CX_NODESWARM:-}" ] || skip "nodeswarm not built"
rounds=${1:-5}
SIMS=${SIMS:-1000}
ulimit -n 8192 || fail "cannot raise the open-file limit"

start_broker
make_keys
mkdir -p "$T/sched/inbox"
{
	cat <<CONF
township: 测试镇
area_code: "640104100000"
timezone: Asia/Shanghai
villages:
  - code: "640104100202"
    name: 永北村
    nodes:
CONF
	i=1
	while [ $i -le "$SIMS" ]; do
		printf '      - { id: sim-%04d, households: 10 }\n' $i
		i=$((i + 1))
	done
} > "$T/sched/fleet.yaml"
cat > "$T/sched/warnings.yaml" <<CONF
sources:
  - dir: inbox
senders:
  - sender: weather@example.cn
CONF
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the bench schedules do not check"
write_controller "$T/sched"
start_serve
"$CX_NODESWARM" --print-keys -n "$SIMS" --prefix sim- > "$T/swarm.keys" || fail "nodeswarm keys"
"$CUNXIANG" enrol -c "$T/controller.yaml" --file "$T/swarm.keys" > /dev/null || fail "cannot enrol the simulated poles"
# shellcheck disable=SC2046
broker_account $(cut -d ' ' -f 1 "$T/swarm.keys")
spawn swarm "$CX_NODESWARM" -p "$BROKER_PORT" --pki "$BROKER_PKI" -k "$PUBKEY" -n "$SIMS" --prefix sim- \
	--area 640104100202
wait_for 60 grep -q "^ready $SIMS" "$T/swarm.log" || fail "the simulated nodes did not come up"
sleep 2

TEXT="暴雨橙色预警。请沿河群众立即转移。"
cap_doc() { # ID
	cat <<XML
<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>$1</identifier><sender>weather@example.cn</sender>
  <sent>$(date -u +%Y-%m-%dT%H:%M:%S-00:00)</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info>
    <language>zh-CN</language><category>Met</category><event>暴雨</event>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>
    <headline>暴雨橙色预警</headline><instruction>请沿河群众立即转移。</instruction>
    <area><areaDesc>永北村</areaDesc>
      <geocode><valueName>ADMIN_CODE</valueName><value>640104100202</value></geocode></area>
  </info>
</alert>
XML
}

issued() { [ -n "$(sql "select alert_id from cap_messages where identifier='$1'")" ]; }
all_started() { # ID
	[ "$(sql "select count(*) from receipts where occ='$1' and state='started'")" -ge "$SIMS" ]
}
delays() { # ID T0 FILE
	sql "select started_ms - $2 from receipts where occ='$1' and state='started'" >> "$3"
}

# A first alert renders the speech once; both paths then hit the cache.
"$CUNXIANG" alert -c "$T/controller.yaml" --level 2 --area 640104100202 --text "$TEXT" --wait 30 \
	> "$T/warm.out" 2>&1 || { cat "$T/warm.out"; fail "the first alert did not start everywhere"; }
sleep 2
for k in $(seq "$rounds"); do
	t0=$(now_ms)
	"$CUNXIANG" alert -c "$T/controller.yaml" --level 2 --area 640104100202 --text "$TEXT" \
		--wait 30 > "$T/alert.out" 2>&1 || { cat "$T/alert.out"; fail "alert round $k"; }
	id=$(sql "select id from alerts order by issued_ms desc limit 1")
	sleep 1.5
	delays "$id" "$t0" "$T/alert.delays"
	cap_doc "bench-$k" > "$T/bench-$k.tmp"
	t0=$(now_ms)
	mv "$T/bench-$k.tmp" "$T/sched/inbox/bench-$k.xml"
	wait_for 30 issued "bench-$k" ||
		fail "CAP round $k was not issued"
	id=$(sql "select alert_id from cap_messages where identifier='bench-$k'")
	wait_for 30 all_started "$id" || fail "CAP round $k did not start everywhere"
	sleep 1.5
	delays "$id" "$t0" "$T/cap.delays"
	# Let the alerts end before the next round: one at a time on a pole.
	"$CUNXIANG" cancel -c "$T/controller.yaml" --wait 0 "$id" > /dev/null 2>&1
done

python3 - "$T/alert.delays" "$T/cap.delays" "$SIMS" <<'PY'
import sys
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]
a = [int(l) for l in open(sys.argv[1])]
c = [int(l) for l in open(sys.argv[2])]
print()
print("fan-out to %s simulated nodes, to `started`:" % sys.argv[3])
for name, v in (("`cunxiang alert --text`", a), ("CAP file landing", c)):
    print("  %-26s %6d starts  p50 %5d ms  p95 %5d ms  max %5d ms" % (
        name, len(v), pct(v, 50), pct(v, 95), max(v)))
d = pct(c, 95) - pct(a, 95)
print("  CAP p95 - alert p95: %d ms (goal <= 1000 ms: %s)" % (d, "goal met" if d <= 1000 else "GOAL MISSED"))
PY
