#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# check, compile and plan on the example township (schedules/), on a broken
# copy of it, and on a township in a zone with daylight saving time.
set -eu
for tool in opusinfo sha256sum python3; do
	command -v "$tool" > /dev/null || { echo "$tool is missing"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Renders are cached here, not in the caller's ~/.cache. The voices are the
# source tree's voices/ (a binary run from its build tree finds them).
export XDG_CACHE_HOME="$tmp/cache"
unset CUNXIANG_VOICES
cd "$tmp"
cp -r "$CX_SOURCE_ROOT/schedules" schedules

fail() { echo "FAIL: $*"; exit 1; }

# expect_rc RC CMD... : run CMD, stdout to out, stderr to err.
expect_rc() {
	want=$1; shift
	set +e
	"$@" > out 2> err; rc=$?
	set -e
	[ "$rc" -eq "$want" ] || { cat out err; fail "$*: exit $rc, want $want"; }
}

# ---- check: the example is clean, today and over years ----
expect_rc 0 "$CUNXIANG" check schedules
grep -qx 'schedules: 3 villages, 8 nodes, 12 broadcasts, 0 errors' out || { cat out; fail "check summary"; }
[ ! -s err ] || { cat err; fail "check printed diagnostics"; }
expect_rc 0 "$CUNXIANG" check schedules --from 2026-01-01 --days 366
expect_rc 0 "$CUNXIANG" check schedules --from 2029-06-01 --days 366

# ---- compile: deterministic, assets named by their hash, valid Opus ----
expect_rc 0 "$CUNXIANG" compile schedules -o out1 --from 2026-11-23 --days 7
grep -q '^out1: 8 plans, [0-9]* plays, [0-9]* assets, 2026-11-23 to 2026-11-29$' out || { cat out; fail "compile summary"; }
expect_rc 0 "$CUNXIANG" compile schedules -o out2 --from 2026-11-23 --days 7
diff -r out1 out2 > /dev/null || fail "two compiles differ"
# Again into out1: no plan is serialised or written again; one changed by
# hand is put back.
expect_rc 0 "$CUNXIANG" compile schedules -o out1 --from 2026-11-23 --days 7
grep -qx 'out1: 0 plans written, 8 unchanged' out || { cat out; fail "recompile rewrote plans"; }
p1=$(ls out1/plans | head -n 1)
sed -i 's/"plan"/"PLAN"/' "out1/plans/$p1"
expect_rc 0 "$CUNXIANG" compile schedules -o out1 --from 2026-11-23 --days 7
grep -qx 'out1: 1 plan written, 7 unchanged' out || { cat out; fail "a plan changed by hand"; }
diff -r out1 out2 > /dev/null || fail "the plan changed by hand was not put back"
[ "$(ls out1/plans | wc -l)" -eq 8 ] || fail "want 8 plans"
n=0
for f in out1/assets/*.opus; do
	name=$(basename "$f" .opus)
	sum=$(sha256sum < "$f" | cut -c1-64)
	[ "$name" = "$sum" ] || fail "$f: sha256 is $sum"
	opusinfo "$f" > /dev/null 2>&1 || fail "$f: opusinfo rejects it"
	n=$((n + 1))
done
[ "$n" -ge 10 ] || fail "only $n assets"
# Every asset a plan names is there, and every asset there is named by a plan.
python3 - out1 <<'PY' || fail "plans and assets disagree"
import json, os, sys
top = sys.argv[1]
named = set()
for p in os.listdir(top + "/plans"):
    plan = json.load(open(top + "/plans/" + p))
    assert plan["type"] == "plan" and plan["node"] + ".json" == p
    assert plan["issued_ms"] == 1795363200000    # 2026-11-23 00:00 Asia/Shanghai
    assert plan["horizon_ms"] == 1795968000000   # 2026-11-30 00:00
    for e in plan["events"]:
        named.update(e["assets"])
have = {f[:-5] for f in os.listdir(top + "/assets")}
sys.exit(0 if named == have else 1)
PY
# The rules at work on yn-01, Thursday 2026-11-26: the important fire notice
# keeps 12:00, the routine insurance notice waits for it (within max_delay);
# the ice-flood notice plays at 05:50, in quiet hours, with quiet_ok.
python3 - out1/plans/yn-01.json <<'PY' || fail "yn-01's plan"
import json, sys
ev = {e["occ"]: e for e in json.load(open(sys.argv[1]))["events"]}
fire = ev["winter-fire-noon@2026-11-26T12:00"]
ins = ev["medical-insurance-noon@2026-11-26T12:00"]
assert fire["start_ms"] == 1795665600000 and fire["priority"] == 20
assert ins["start_ms"] == fire["start_ms"] + fire["duration_ms"], (ins, fire)
assert ins["priority"] == 10 and ins["volume"] == 80
ice = ev["ice-flood-dawn@2026-11-26T05:50"]
assert ice["start_ms"] == 1795643400000 and ice["volume"] == 90
assert len(ice["assets"]) == 4 and ice["assets"][0] == ice["assets"][2]  # chime, text, chime, text
assert "villagers-meeting-yn@2026-11-26T19:00" in ev
assert "morning-news-daily@2026-11-28T07:00" in ev
assert not any(k.startswith("straw-burning") for k in ev)      # yn-01 has no fields tag
assert not any(k.startswith("customs-weekend") for k in ev)    # not in 永南村
PY

# ---- plan: one node, one day, as a table ----
expect_rc 0 "$CUNXIANG" plan schedules --node yn-01 --date 2026-11-26
grep -qx '掌政镇 (640104100000), 2026-11-26 Thu, Asia/Shanghai' out || { cat out; fail "plan header"; }
grep -q '^time  *length  *node(s)  *village  *broadcast  *notice  *priority  *volume$' out || { cat out; fail "plan columns"; }
grep -q '^05:50  .* yn-01  *永南村  *ice-flood-dawn  *黄河凌汛防范提醒  *important  *90$' out || { cat out; fail "plan 05:50"; }
grep -q '^12:00  .* winter-fire-noon ' out || { cat out; fail "plan 12:00"; }
grep -q '^12:00:[0-9][0-9] (+[0-9]*s)  .* medical-insurance-noon .* routine  *80$' out || { cat out; fail "plan delayed row"; }
[ "$(grep -c ' yn-01 ' out)" -eq 7 ] || { cat out; fail "want 7 plays on yn-01"; }
expect_rc 0 "$CUNXIANG" plan schedules --date 2026-11-28
grep -q 'customs-weekend' out || { cat out; fail "plan of a Saturday"; }
expect_rc 1 "$CUNXIANG" plan schedules --node nowhere --date 2026-11-26
grep -q "unknown node 'nowhere'" err || { cat err; fail "plan unknown node"; }

# ---- a broken copy: every error, each as FILE:LINE:COL ----
cp -r schedules broken
line() { grep -n -m 1 -e "$2" "$1" | cut -d: -f1; }
l_vol=$(line broken/policy.yaml '^    volume: 85$')
l_at=$(line broken/safety.yaml '^    at: "07:40"$')
l_vil=$(line broken/policy.yaml 'villages: \["640104100201"\], nodes')
sed -i "${l_vol}s/volume:/voulme:/; ${l_vil}s/640104100201/640104100299/" broken/policy.yaml
sed -i "${l_at}s/07:40/25:00/" broken/safety.yaml
expect_rc 1 "$CUNXIANG" check broken
cat > want <<EOF
broken/policy.yaml:$l_vol:5: error: unknown key 'voulme' in a broadcast
broken/policy.yaml:$l_vil:27: error: unknown village '640104100299'
broken/safety.yaml:$l_at:9: error: time must be "HH:MM" from 00:00 to 23:59, not '25:00'
cunxiang check: 3 errors in broken
EOF
diff want err || fail "check broken: diagnostics differ"
[ ! -s out ] || fail "check broken printed to stdout"
expect_rc 1 "$CUNXIANG" compile broken -o out3 --from 2026-11-23
grep -q "^broken/safety.yaml:$l_at:9: error: " err || fail "compile broken"
[ ! -e out3/plans ] || fail "compile wrote plans despite errors"
expect_rc 1 "$CUNXIANG" plan broken --date 2026-11-23
expect_rc 1 "$CUNXIANG" check no-such-dir

# ---- warnings.yaml: checked with the fleet, counted, not a broadcast file ----
cp -r schedules warn
mkdir warn/inbox
cat > warn/warnings.yaml <<'EOF'
sources:
  - dir: inbox
rules:
  - match: {severity: Extreme}
    level: 1
EOF
expect_rc 0 "$CUNXIANG" check warn
grep -qx 'warn: 3 villages, 8 nodes, 12 broadcasts, 1 warning source, 0 senders, 1 rule, 0 errors' out ||
	{ cat out err; fail "check warn: summary"; }
cat >> warn/warnings.yaml <<'EOF'
  - match: {severity: extreme}
areas:
  - {scheme: X, value: "1", villages: ["640104100299"]}
EOF
expect_rc 1 "$CUNXIANG" check warn
cat > want <<'EOF'
warn/warnings.yaml:6:23: error: severity 'extreme' is not a CAP 1.2 severity: Extreme, Severe, Moderate, Minor or Unknown
warn/warnings.yaml:8:40: error: unknown village '640104100299' (not in fleet.yaml)
cunxiang check: 2 errors in warn
EOF
diff want err || fail "check warn: diagnostics differ"

# ---- usage errors: exit 2 ----
expect_rc 2 "$CUNXIANG" compile schedules
expect_rc 2 "$CUNXIANG" check schedules --days 0
expect_rc 2 "$CUNXIANG" check schedules --from 2026-02-30
expect_rc 2 "$CUNXIANG" plan schedules --date tomorrow
expect_rc 2 "$CUNXIANG" plan --bogus
expect_rc 2 "$CUNXIANG" check schedules other
expect_rc 0 "$CUNXIANG" compile --help
grep -q -- '--output' out || fail "compile --help"

# ---- daylight saving time: Europe/Berlin springs forward 2027-03-28 ----
mkdir -p dst/audio
cp schedules/audio/morning-news.mp3 dst/audio/
cat > dst/fleet.yaml <<'EOF'
township: Testdorf
area_code: "640104100000"
timezone: Europe/Berlin
villages:
  - code: "640104100201"
    name: 永南村
    nodes:
      - id: dst-01
        households: 10
EOF
cat > dst/news.yaml <<'EOF'
notices:
  news:
    title: News
    audio: audio/morning-news.mp3
broadcasts:
  - id: news
    notice: news
    at: ["02:30", "03:30", "08:00"]
    targets: all
EOF
expect_rc 0 "$CUNXIANG" compile dst -o dstout --from 2027-03-27 --days 2
# 02:30 on the 28th does not exist: it plays at 03:30 CEST with the 03:30
# broadcast's playing, once. CET is UTC+1, CEST UTC+2.
python3 - dstout/plans/dst-01.json <<'PY' || fail "DST instants"
import json, sys
p = json.load(open(sys.argv[1]))
got = [(e["occ"], e["start_ms"]) for e in p["events"]]
want = [
    ("news@2027-03-27T02:30", 1806111000000),  # 01:30Z
    ("news@2027-03-27T03:30", 1806114600000),  # 02:30Z
    ("news@2027-03-27T08:00", 1806130800000),  # 07:00Z
    ("news@2027-03-28T03:30", 1806197400000),  # 01:30Z
    ("news@2027-03-28T08:00", 1806213600000),  # 06:00Z
]
assert got == want, got
assert p["issued_ms"] == 1806102000000   # 2027-03-27 00:00 CET
assert p["horizon_ms"] == 1806271200000  # 2027-03-29 00:00 CEST: the window is 47 h
PY
# Falling back, 02:30 happens twice: the first (CEST) is the one.
expect_rc 0 "$CUNXIANG" compile dst -o dstout2 --from 2027-10-31 --days 1
python3 - dstout2/plans/dst-01.json <<'PY' || fail "DST fall-back"
import json, sys
ev = {e["occ"]: e["start_ms"] for e in json.load(open(sys.argv[1]))["events"]}
assert ev == {
    "news@2027-10-31T02:30": 1824942600000,  # 00:30Z (CEST)
    "news@2027-10-31T03:30": 1824949800000,  # 02:30Z (CET)
    "news@2027-10-31T08:00": 1824966000000,  # 07:00Z
}, ev
PY
echo ok
