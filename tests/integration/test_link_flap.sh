#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The link between three poles and the broker flaps (5 s up, 5 s down:
# every connection closed and new ones reset) for 2 minutes across a
# planned broadcast and an alert sent while the link is down. Afterwards
# every receipt each pole logged is in the store exactly once and the
# spools are empty; the alert started within 1 s of the link coming back;
# nothing played twice (one started receipt per occurrence, and the poles'
# ALSA file output holds just the broadcast's and the alert's sound).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/link.sh"
need sox
need sqlite3

NODES="n1 n2 n3"
start_broker
start_proxy
make_keys
set -- $(next_slot 50)
HHMM=$1 DAY=$2 START_MS=$3
write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river
mkdir -p "$T/sched/audio"
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/notice.wav" synth 3 sine 440 vol 0.5 fade 0.05 3 0.05
sox -n -r 48000 -c 1 -b 16 "$T/alert.wav" synth 2 sine 880 vol 0.5 fade 0.05 2 0.05
cat > "$T/sched/test.yaml" <<CONF
notices:
  river-notice:
    title: 河道清淤通知
    audio: audio/notice.wav
broadcasts:
  - id: flap-bc
    notice: river-notice
    at: ["$HHMM"]
    days: ["$DAY"]
    targets: all
    volume: 100
    priority: important
    quiet_ok: true
CONF
"$CUNXIANG" check "$T/sched" > /dev/null || fail "the test schedule does not check"
write_controller "$T/sched"
alsa_file_pcms $NODES
# The player opens the device again for each item, and the file plugin
# truncates its file at each open: with "truncate false" it writes each
# open to a new file instead (N.raw, N.raw.0001, ...), all counted below.
sed -i 's|^\tformat "raw"$|&\n\ttruncate false|' "$T/asound-file.conf"
start_serve
for n in $NODES; do write_node_linked $n $n; start_node $n; done
for n in $NODES; do
	wait_for 40 plan_cached $n || fail "$n has no plan or misses an asset"
done

FLAP_MS=$(now_ms)
proxy_ctl flap 5000,5000
echo "flapping from $FLAP_MS, broadcast at $START_MS"
[ "$START_MS" -lt $((FLAP_MS + 100000)) ] || fail "the slot $HHMM is too late for the flapping"

# The alert goes out 2 s into the first down phase after the broadcast.
wait_ms_until $((START_MS + 5000))
k=$(proxy_events 'link down' | wc -l)
wait_for 12 sh -c "test \$(grep -c 'faultproxy: link down' '$T/proxy.log') -gt $k" ||
	fail "the link did not go down"
sleep 2
ALERT_MS=$(now_ms)
"$CUNXIANG" alert -c "$T/controller.yaml" --level 2 --tag river --audio "$T/alert.wav" \
	--wait 30 > "$T/alert.out" 2>&1 &
ALERT_PID=$!
CX_PIDS="$CX_PIDS $ALERT_PID"

wait_ms_until $((FLAP_MS + 120000))
proxy_ctl flap off
END_MS=$(now_ms)
wait "$ALERT_PID" || true
cat "$T/alert.out"
echo "flapped for $(( (END_MS - FLAP_MS) / 1000 )) s:" \
	"$(proxy_events 'link down' | wc -l) times down," \
	"$(grep -c 'faultproxy: refused' "$T/proxy.log") connections refused"

for n in $NODES; do
	wait_for 60 spool_drained $n || fail "$n spool not drained: $(spool_count $n) left"
done
sleep 2

OCC="flap-bc@${DAY}T$HHMM"
ID=$(sql "select occ from receipts where kind='alert' limit 1")
[ -n "$ID" ] || fail "no alert receipt in the store"
# The first time the link came back after the alert was sent.
UP_MS=$(proxy_events 'link up' | awk -v a="$ALERT_MS" '$1 > a { print; exit }')
[ -n "$UP_MS" ] || fail "the link never came back after the alert"
for n in $NODES; do
	for occ in "$OCC" "$ID"; do
		for st in started completed; do
			c=$(sql "select count(*) from receipts where node='$n' and occ='$occ' and state='$st'")
			[ "$c" = 1 ] || fail "$n: $c '$st' receipts for $occ in the store, want 1"
			c=$(node_receipts $n | grep -c " $occ $st\$")
			[ "$c" = 1 ] || fail "$n: logged $c '$st' receipts for $occ, want 1"
		done
	done
	receipts_match $n || fail "$n: the store differs from what the node spooled:
node:  $(node_receipts $n | tr '\n' ';')
store: $(store_receipts $n | tr '\n' ';')"
	s=$(sql "select started_ms from receipts where node='$n' and occ='$ID' and state='started'")
	late=$((s - UP_MS))
	echo "$n: receipts $(store_receipts $n | cut -d ' ' -f 1,3 | tr '\n' ' ')"
	echo "$n: the alert (sent at $ALERT_MS, link down) started $late ms after the link came back ($UP_MS)"
	[ "$late" -le 1000 ] || fail "$n started the alert $late ms after the link came back (limit 1 s)"
	# 3 s of broadcast and 2 s of alert, each once: about 5 s of sound.
	snd=$(python3 - "$T/$n.raw"* <<'PY'
import array, sys
n = 0
for f in sys.argv[1:]:
    a = array.array("h"); a.frombytes(open(f, "rb").read())
    w = 480
    n += sum(1 for i in range(0, len(a) - w, w) if max(abs(v) for v in a[i:i + w]) > 1000)
print(n * 10)
PY
)
	echo "$n: $snd ms of sound in its output"
	[ "$snd" -ge 4700 ] && [ "$snd" -le 5300 ] || fail "$n played $snd ms of sound, want about 5000"
done
c=$(sql "select count(*) from receipts_bad")
[ "$c" = 0 ] || fail "$c receipts quarantined"
echo ok
