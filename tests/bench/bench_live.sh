#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Live alerts, mouth to speaker: `cunxiang live --input alsa:mic_in` captures
# a "microphone" (a PulseAudio sink that paplay speaks tone bursts into) and
# three real nodes play it on their own sinks. All four are channels of ONE
# null sink (DESIGN "Testing", skew between nodes), recorded at once, so
# every figure is read sample by sample from one timeline:
#   latency  node onset - microphone onset   (goal <= 400 ms; node.yaml
#            live.latency_ms, default 300, is the target)
#   skew     latest - earliest node onset per burst   (goal <= 1 ms)
# Usage: bench_live.sh [BURSTS [LATENCY_MS]] (default 8 bursts, 300 ms).
. "$(dirname "$0")/../integration/lib.sh"
need sox
need paplay
bursts=${1:-8}
latency=${2:-300}

start_broker
make_keys
write_fleet "$T/sched" n1:300:river n2:200:river n3:100:river
write_controller "$T/sched"
start_pulse_shared mic n1 n2 n3
start_serve
for n in n1 n2 n3; do
	write_node $n $n "live: { latency_ms: $latency }"
	start_node $n
done
for n in n1 n2 n3; do
	wait_for 30 test -s "$T/state-$n/plan.msg" || fail "$n got no plan"
done
sleep 2   # the first clock-offset burst (20 pings, 50 ms apart)

# 0.2 s bursts of 1 kHz, 1.3 s apart.
sox -n -r 48000 -c 1 -b 16 "$T/bursts.wav" synth 0.2 sine 1000 gain -6 pad 0 1.3 \
	repeat $((bursts - 1)) || fail "sox"

record_shared rec "$T/all.rec"
spawn live "$CUNXIANG" live -c "$T/controller.yaml" --level 1 --tag river \
	--input alsa:mic_in --wait 5
wait_for 15 grep -q 'on the air' "$T/live.log" || fail "cunxiang live did not start"
sleep 1
paplay -d mic "$T/bursts.wav" || fail "paplay"
sleep 1
# Ctrl-C ends the stream with a last frame; live then waits for receipts.
kill -INT "$(pid_of live)"
wait_for 15 sh -c "! kill -0 $(pid_of live) 2>/dev/null" || fail "cunxiang live did not stop on SIGINT"
stop_proc rec
cat "$T/live.log"
grep -q 'completed on 3 of 3 nodes' "$T/live.log" || fail "not every node completed"

"$CX_ONSET" -c 4 -g 500 -t 2000 "$T/all.rec" > "$T/onsets" || fail "no onsets"
for n in n1 n2 n3; do
	wait_for 10 grep -q 'live stream .* over' "$T/node-$n.log"
	grep 'live stream .* over' "$T/node-$n.log" | sed "s/^/$n: /"
done
python3 - "$T/onsets" "$bursts" "$latency" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.split()[1] != "-"]
want, target = int(sys.argv[2]), int(sys.argv[3])
mic = [int(r[1]) for r in rows if r[0] == "0"]
lat, skew = [], []
for k, m in enumerate(mic):
    nodes = {}
    for r in rows:
        ch, s = int(r[0]), int(r[1])
        if ch > 0 and m < s < m + 48000 and ch not in nodes:
            nodes[ch] = s
    if len(nodes) != 3:
        print("burst %d: heard on %d of 3 nodes" % (k, len(nodes)))
        continue
    l = [(s - m) / 48.0 for s in nodes.values()]
    sk = (max(nodes.values()) - min(nodes.values())) / 48.0
    lat += l
    skew.append(sk)
    print("burst %d: latency %s ms, skew %.3f ms" % (k, " ".join("%.1f" % x for x in l), sk))
if not skew:
    sys.exit("no burst was heard on every node")
verdict = lambda ok: "goal met" if ok else "GOAL MISSED"
print("live mouth-to-speaker latency (live.latency_ms %d): mean %.1f ms, min %.1f ms, max %.1f ms"
      " over %d plays (goal <= 400 ms: %s)" % (target, sum(lat) / len(lat), min(lat), max(lat),
      len(lat), verdict(max(lat) <= 400)))
print("live inter-node onset skew: mean %.3f ms, max %.3f ms over %d bursts (goal <= 1 ms: %s)"
      % (sum(skew) / len(skew), max(skew), len(skew), verdict(max(skew) <= 1)))
if len(skew) < want:
    print("%d of %d bursts heard on every node" % (len(skew), want))
PY
