#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `cunxiang report --format html` rendered by headless Chromium: the page is
# not blank (desktop, phone, A4 PDF), the village chart has one bar per
# village, the Chinese village names are text; and the other formats agree.
set -eu
fill=${CX_STORE_FILL:-$CX_BUILD_ROOT/tests/tools/store_fill}
[ -x "$fill" ] || { echo "store_fill not built"; exit 1; }
command -v chromium > /dev/null 2>&1 || { echo "SKIP: chromium not installed"; exit 77; }
command -v python3 > /dev/null 2>&1 || { echo "SKIP: python3 not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir "$tmp/data" "$tmp/schedules"
cat > "$tmp/controller.yaml" <<YAML
broker: mqtt://127.0.0.1:1883
signing_key: keys/signing.key
schedules: schedules
data_dir: data
YAML
cat > "$tmp/schedules/fleet.yaml" <<'YAML'
township: 掌政镇
area_code: "640104100000"
timezone: Asia/Shanghai
presence:
  "06:00-08:00": 0.7
  "08:00-12:00": 0.3
  "12:00-14:00": 0.8
  "14:00-18:00": 0.3
  "18:00-22:00": 0.9
villages:
  - code: "640104100201"
    name: 永南村
    nodes:
      - { id: yn-01, households: 300 }
      - { id: yn-02, households: 512 }
  - code: "640104100202"
    name: 永北村
    nodes:
      - { id: yb-01, households: 200 }
  - code: "640104100203"
    name: 红星村
    nodes:
      - { id: hx-01, households: 150 }
YAML

# Three days of plays before now, all inside the default period (the last
# 7 days): every node twice a day, with a mix of outcomes.
now=$(date +%s)000
day=86400000
r() { # NODE SEQ OCC STATE START
	printf 'receipt %s {"type":"receipt","node":"%s","seq":%s,"occ":"%s","kind":"plan","state":"%s","scheduled_ms":%s,"started_ms":%s,"ended_ms":null,"played_ms":18000,"start_error_us":-200,"volume":80,"reason":null}\n' \
		"$1" "$1" "$2" "$3" "$4" "$5" "$5"
}
{
	echo "node yn-01 640104100201 永南村 300"
	echo "node yn-02 640104100201 永南村 512"
	echo "node yb-01 640104100202 永北村 200"
	echo "node hx-01 640104100203 红星村 150"
	echo "fleet"
	echo "status yn-01 60 {\"type\":\"status\",\"node\":\"yn-01\",\"state\":\"idle\",\"clock_offset_us\":-300,\"spool\":0,\"rejected\":0}"
	echo "status yb-01 60 {\"type\":\"status\",\"node\":\"yb-01\",\"state\":\"idle\",\"clock_offset_us\":25000,\"spool\":3,\"rejected\":1}"
	echo "begin"
	for d in 1 2 3; do
		for slot in 0 1; do
			t=$((now - d * day - slot * 7 * 3600000))
			for n in yn-01 yn-02 yb-01 hx-01; do
				echo "plan $n flood-$d-$slot flood $t 18000"
			done
		done
	done
	echo "commit"
	seq_yn01=0; seq_yn02=0; seq_yb01=0; seq_hx01=0
	for d in 1 2 3; do
		for slot in 0 1; do
			t=$((now - d * day - slot * 7 * 3600000))
			seq_yn01=$((seq_yn01 + 1)); r yn-01 $seq_yn01 "flood-$d-$slot" completed $t
			seq_yn02=$((seq_yn02 + 1)); r yn-02 $seq_yn02 "flood-$d-$slot" interrupted $t
			if [ $slot = 0 ]; then
				seq_yb01=$((seq_yb01 + 1)); r yb-01 $seq_yb01 "flood-$d-$slot" completed $t
			fi
		done
	done
	t=$((now - 2 * day))
	echo "alert 640104100000-20261201-0001 1 actual $t 山洪<预警> yn-01 yn-02 yb-01 hx-01"
	echo "alert 640104100000-20261201-0002 4 drill $((t + 3600000)) 演练 yn-01 yb-01"
	printf 'receipt yn-01 {"type":"receipt","node":"yn-01","seq":7,"occ":"640104100000-20261201-0001","kind":"alert","state":"started","started_ms":%s}\n' $((t + 900))
	printf 'receipt yb-01 {"type":"receipt","node":"yb-01","seq":4,"occ":"640104100000-20261201-0001","kind":"alert","state":"started","started_ms":%s}\n' $((t + 2100))
	printf 'receipt yn-01 {"type":"receipt","node":"yn-01","seq":8,"occ":"640104100000-20261201-0002","kind":"alert","state":"started","started_ms":%s}\n' $((t + 3600400))
	printf 'receipt hx-01 {"type":"receipt","node":"hx-01","seq":1,"occ":"nowhere@2026-12-01T10:00","kind":"plan","state":"completed","scheduled_ms":%s}\n' $((t + 10))
} > "$tmp/script"
"$fill" "$tmp/data/receipts.db" < "$tmp/script" > /dev/null || fail "store_fill"

"$CUNXIANG" report -c "$tmp/controller.yaml" --format html -o "$tmp/report.html" 2> "$tmp/err" \
	|| fail "report html: $(cat "$tmp/err")"
[ ! -s "$tmp/err" ] || fail "stderr: $(cat "$tmp/err")"
grep -q '<meta name="viewport"' "$tmp/report.html" || fail "no viewport meta"
grep -q '@media print' "$tmp/report.html" || fail "no print styles"
# Self-contained: nothing fetched from anywhere.
if grep -Eiq '<script|<link|src=|href=|url\(|@import' "$tmp/report.html"; then
	fail "the HTML refers to something outside itself"
fi
grep -q '山洪&lt;预警&gt;' "$tmp/report.html" || fail "alert title not escaped"

shot() { # FILE WIDTH HEIGHT
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
		--user-data-dir="$tmp/chrome" --window-size="$2,$3" --screenshot="$1" \
		"file://$tmp/report.html" > "$tmp/chromium.log" 2>&1 || true
	[ -s "$1" ] || fail "chromium made no screenshot $1: $(tail -n 5 "$tmp/chromium.log")"
}
shot "$tmp/desktop.png" 1280 1800
shot "$tmp/phone.png" 390 844
chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$tmp/chrome" \
	--dump-dom "file://$tmp/report.html" > "$tmp/dom.html" 2> "$tmp/chromium.log" || true
[ -s "$tmp/dom.html" ] || fail "chromium dumped no DOM: $(tail -n 5 "$tmp/chromium.log")"
chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$tmp/chrome" \
	--no-pdf-header-footer --print-to-pdf="$tmp/report.pdf" "file://$tmp/report.html" \
	> "$tmp/chromium.log" 2>&1 || true
head -c 5 "$tmp/report.pdf" 2> /dev/null | grep -q '%PDF-' || fail "no PDF printed: $(tail -n 5 "$tmp/chromium.log")"

# Not blank: a PNG decoder on zlib alone, counting pixels that are not
# (nearly) white.
python3 - "$tmp/desktop.png" "$tmp/phone.png" <<'PY' || fail "blank screenshot"
import struct, sys, zlib

def pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unexpected PNG format"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, out = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(line)
        prev = line
    return w, h, bpp, out

for path in sys.argv[1:]:
    w, h, bpp, rows = pixels(path)
    ink = sum(1 for row in rows for x in range(0, w * bpp, bpp) if min(row[x:x + 3]) < 200)
    share = ink / (w * h)
    print(f"{path}: {w}x{h}, {share:.1%} of the pixels not white")
    if share < 0.01:
        sys.exit(1)
PY

# The village chart: one bar per village of the fleet, names as text.
python3 - "$tmp/dom.html" <<'PY' || fail "village chart"
import re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<svg[^>]*id="chart-villages".*?</svg>', dom, re.S)
assert m, "no village chart in the DOM"
svg = m.group(0)
bars = re.findall(r'<rect[^>]*class="bar"', svg)
texts = re.findall(r'<text[^>]*>([^<]*)</text>', svg)
print(f"{len(bars)} bars; labels {texts[-6:]}")
assert len(bars) == 3, f"{len(bars)} bars for 3 villages"
for name in ("永南村", "永北村", "红星村"):
    assert name in texts, f"{name} is not a text label"
assert re.search(r'<svg[^>]*id="chart-days"', dom), "no daily trend chart"
assert re.search(r'<svg[^>]*id="chart-alerts"', dom), "no alert delivery chart"
PY

# The same numbers in the other formats.
for f in text csv json; do
	"$CUNXIANG" report -c "$tmp/controller.yaml" --format $f > "$tmp/out.$f" 2> "$tmp/err" \
		|| fail "report $f: $(cat "$tmp/err")"
done
grep -q 'Model and assumptions' "$tmp/out.text" || fail "text without the model"
if command -v jq > /dev/null; then
	[ "$(jq '.summary.planned' "$tmp/out.json")" = 24 ] || fail "json planned: $(jq .summary "$tmp/out.json")"
	[ "$(jq '.summary.completed' "$tmp/out.json")" = 9 ] || fail "json completed"
	[ "$(jq '.summary.unknown_receipts' "$tmp/out.json")" = 1 ] || fail "json unknown receipts"
	[ "$(jq -r '.villages | map(.village) | join(",")' "$tmp/out.json")" = "永南村,永北村,红星村" ] || fail "json villages"
	[ "$(jq '.alerts | map(select(.class == "actual")) | .[0].started' "$tmp/out.json")" = 2 ] || fail "json alert"
fi
grep -q '^summary,24,9,' "$tmp/out.csv" || fail "csv summary: $(grep '^summary,' "$tmp/out.csv")"

# Usage errors exit 2, user errors 1.
set +e
"$CUNXIANG" report -c "$tmp/controller.yaml" --format xml > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "--format xml: exit $rc"
"$CUNXIANG" report -c "$tmp/controller.yaml" --from 2026-13-01 > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "bad --from: exit $rc"
"$CUNXIANG" report -c "$tmp/controller.yaml" --from 2026-12-05 --to 2026-12-01 > /dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || fail "--to before --from: exit $rc"
set -e
"$CUNXIANG" report --help | tail -n 1 | grep -qx 'See cunxiang(1).' || fail "help"
echo ok
