#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `cunxiang nodes`: order (problems first), columns, JSON, exit codes.
set -eu
fill=${CX_STORE_FILL:-$CX_BUILD_ROOT/tests/tools/store_fill}
[ -x "$fill" ] || { echo "store_fill not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir "$tmp/data"
cat > "$tmp/controller.yaml" <<YAML
broker: mqtt://127.0.0.1:1883
signing_key: keys/signing.key
schedules: schedules
data_dir: data
YAML

fail() { echo "FAIL: $*"; exit 1; }

# No store yet: exit 1 with one line.
set +e
"$CUNXIANG" nodes -c "$tmp/controller.yaml" > "$tmp/out" 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "no store: exit $rc, want 1"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "no store: want one line on stderr, got: $(cat "$tmp/err")"
grep -q 'receipts.db' "$tmp/err" || fail "no store: message does not name the file"

issued=1764547200000
st() { # NODE STATE [EXTRA-JSON]
	printf '{"type":"status","node":"%s","state":"%s","plan_issued_ms":%s,"assets_missing":%s,"volume":80,"clock_offset_us":-1250,"spool":%s,"rejected":0,"xruns":%s,"uptime_s":100,"version":"0.1.0"}' \
		"$1" "$2" "$3" "$4" "$5" "$6"
}
"$fill" "$tmp/data/receipts.db" > /dev/null <<SCRIPT
node yn-01 640104100201 永南村 300
node yn-02 640104100201 永南村 512
node yn-03 640104100201 永南村 120
node yb-01 640104100202 永北村 200
node yb-02 640104100202 永北村 80
node yb-03 640104100202 永北村 90
fleet
published yn-01 $issued
published yn-02 $((issued + 1000))
published yb-01 $issued
published yb-03 $issued
status yn-01 30 $(st yn-01 idle $issued 0 0 3)
status yn-02 42 $(st yn-02 playing $issued 0 2 0)
status yb-01 10 $(st yb-01 fault $issued 4 0 0)
status yb-03 7200 $(st yb-03 idle $issued 0 17 0)
status yn-03 600 $(st yn-03 idle $issued 0 0 0)
status yn-03 10 {"type":"status","node":"yn-03","state":"offline"}
status zz-09 5 $(st zz-09 idle $issued 0 0 0)
receipt yn-01 {"type":"receipt","node":"yn-01","seq":1,"occ":"x","kind":"plan","state":"completed"}
SCRIPT

"$CUNXIANG" nodes -c "$tmp/controller.yaml" > "$tmp/out" 2> "$tmp/err" || fail "nodes: exit $?: $(cat "$tmp/err")"
cat "$tmp/out"
[ ! -s "$tmp/err" ] || fail "stderr not empty: $(cat "$tmp/err")"
head -n 1 "$tmp/out" | grep -q '^NODE  *VILLAGE  *STATE  *LAST SEEN  *PLAN  *MISSING  *SPOOL  *OFFSET MS  *CLOCK  *REJECTED  *XRUNS  *DISK  *LOST  *KEY$' \
	|| fail "header"
# Problems first (fault, offline, silent; by village then id), then never
# seen, then working nodes; a node outside the fleet after the villages.
order=$(sed -n '2,8p' "$tmp/out" | sed -E 's/^([^ ]+) .* (offline|fault|silent|never|idle|playing) .*/\1:\2/' | tr '\n' ' ')
# yn-03 is in 640104100201, yb-* in 640104100202: villages sort by code.
want="yn-03:offline yb-01:fault yb-03:silent yb-02:never yn-01:idle yn-02:playing zz-09:idle "
[ "$order" = "$want" ] || fail "order: got '$order', want '$want'"
line() { grep "^$1 " "$tmp/out"; }
line yn-01 | grep -q ' current ' || fail "yn-01 plan current"
line yn-02 | grep -q ' old ' || fail "yn-02 plan old"
line yb-02 | grep -q ' never  *none ' || fail "yb-02 never seen, no plan"
line zz-09 | grep -q '(not in fleet)' || fail "zz-09 not in fleet"
line zz-09 | grep -q ' unknown ' || fail "zz-09 plan unknown"
line yn-01 | grep -q '([0-9][0-9]*s ago)' || fail "yn-01 last seen: $(line yn-01)"
line yb-03 | grep -q '(2h ago)' || fail "yb-03 last seen: $(line yb-03)"
# Times are in the township's zone (fleet.yaml's; Asia/Shanghai when there
# is none, as here), whatever the zone of the machine.
TZ=UTC "$CUNXIANG" nodes -c "$tmp/controller.yaml" > "$tmp/utc" 2>/dev/null || fail "nodes in UTC"
want=$(python3 -c 'import datetime, time, zoneinfo
print(datetime.datetime.fromtimestamp(time.time() - 7200, zoneinfo.ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:"))')
grep "^yb-03 " "$tmp/utc" | grep -q " $want" || fail "yb-03 last seen not in the township's zone: $(grep '^yb-03 ' "$tmp/utc"), want $want"
line yn-01 | grep -q ' -1\.2 ' || fail "yn-01 clock offset in ms: $(line yn-01)"
line yb-01 | grep -Eq ' 4 +0 +-1\.2 ' || fail "yb-01 assets missing: $(line yb-01)"
# Wide village names keep the columns aligned: every row's PLAN cell starts
# at the same terminal column as the header's.
if command -v python3 > /dev/null; then
	python3 - "$tmp/out" <<'PY' || fail "columns not aligned"
import sys, unicodedata
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")[:8]
starts = set()
for l in lines:
    i = l.index("  PLAN") + 2 if l.startswith("NODE") else max(l.find(w) for w in (" current ", " old ", " none ", " unknown ")) + 1
    starts.add(width(l[:i]))
sys.exit(len(starts) != 1)
PY
fi
tail -n 1 "$tmp/out" | grep -q '^7 nodes: 3 online (1 playing), 1 fault, 1 offline, 1 silent, 1 never seen$' \
	|| fail "summary: $(tail -n 1 "$tmp/out")"

# JSON: same order, the raw values.
"$CUNXIANG" nodes -c "$tmp/controller.yaml" --format json > "$tmp/json"
jq -e '.nodes | length == 7' "$tmp/json" > /dev/null || fail "json length"
[ "$(jq -r '[.nodes[].node] | join(" ")' "$tmp/json")" = "yn-03 yb-01 yb-03 yb-02 yn-01 yn-02 zz-09" ] || fail "json order"
jq -e '.nodes[] | select(.node == "yn-01") | .receipts == 1 and .ack_through == 1 and .clock_offset_us == -1250 and .clock_off == false and .plan == "current"' \
	"$tmp/json" > /dev/null || fail "json yn-01"
jq -e '.nodes[] | select(.node == "yb-02") | .last_seen_ms == null and .state == "never" and .households == 80' \
	"$tmp/json" > /dev/null || fail "json yb-02"
jq -e '.nodes[] | select(.node == "zz-09") | .in_fleet == false and .village == null' "$tmp/json" > /dev/null || fail "json zz-09"

# Works from a directory it cannot write to (another user than serve's).
if [ "$(id -u)" -eq 0 ] && command -v su > /dev/null && su nobody -s /bin/sh -c true 2> /dev/null; then
	chmod 755 "$tmp"
	chmod 555 "$tmp/data"
	chmod 644 "$tmp/data/receipts.db"
	su nobody -s /bin/sh -c "'$CUNXIANG' nodes -c '$tmp/controller.yaml'" > "$tmp/ro" 2>&1 || fail "read-only: $(cat "$tmp/ro")"
	grep -q '^yn-01 ' "$tmp/ro" || fail "read-only output"
	chmod 755 "$tmp/data"
fi
[ ! -e "$tmp/data/receipts.db-wal" ] || [ ! -s "$tmp/data/receipts.db-wal" ] || fail "nodes wrote to the WAL"

# Usage errors exit 2; a bad config or a store that is not one exit 1.
set +e
"$CUNXIANG" nodes > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no -c: exit $rc"
"$CUNXIANG" nodes -c "$tmp/controller.yaml" --format xml > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--format xml: exit $rc"
"$CUNXIANG" nodes -c "$tmp/controller.yaml" extra > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "extra argument: exit $rc"
"$CUNXIANG" nodes -c "$tmp/missing.yaml" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "missing config: exit $rc"
grep -q 'missing.yaml' "$tmp/err" || fail "missing config message"
mkdir "$tmp/junk"
head -c 4096 /dev/urandom > "$tmp/junk/receipts.db"
sed 's/^data_dir: .*/data_dir: junk/' "$tmp/controller.yaml" > "$tmp/junk.yaml"
"$CUNXIANG" nodes -c "$tmp/junk.yaml" > /dev/null 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "junk store: exit $rc"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "junk store: one line, got $(cat "$tmp/err")"
set -e
"$CUNXIANG" nodes --help > "$tmp/help"
for o in --config --format --help --version; do grep -q -- "$o" "$tmp/help" || fail "help lacks $o"; done
tail -n 1 "$tmp/help" | grep -qx 'See cunxiang(1).' || fail "help ends with the man page"
"$CUNXIANG" nodes --version | grep -q '^cunxiang '
"$CUNXIANG" --help | grep -q '^  nodes ' || fail "nodes not in cunxiang --help"
echo ok
