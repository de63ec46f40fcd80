#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A 200 KB file of nested flow sequences dropped into the schedules
# directory of a running `cunxiang serve`: serve keeps answering clock pings
# (each pong within 1 s), reports the nesting error as FILE:LINE:COL within
# seconds, and the plans on the air stay; `cunxiang check` reports the same.
. "$(dirname "$0")/lib.sh"
need sox
need mosquitto_sub

# ping_rtt_ok NODE SECONDS: ping serve on NODE's time topic every 200 ms for
# SECONDS; every ping must be answered within 1 s. Only that a pong arrives
# carrying the t0_us of its ping is checked, not the rest of its format.
# Prints the number of pings and the slowest round trip.
ping_rtt_ok() {
	python3 - "$MQ" "$1" "$2" <<'PY'
import os, select, subprocess, sys, time
mq, node, secs = sys.argv[1].split(), sys.argv[2], float(sys.argv[3])
sub = subprocess.Popen(["mosquitto_sub", *mq,
                        "-t", f"cx/v1/time/{node}/pong"], stdout=subprocess.PIPE)
buf = b""
t0 = int(time.time() * 1e6)  # far from the node's own pings' t0

def ping():
    global t0
    t0 += 1
    subprocess.run(["mosquitto_pub", *mq, "-t",
                    f"cx/v1/time/{node}/ping", "-m", '{"t0_us":%d}' % t0], check=True)
    return t0

def answered(want, deadline):
    """True when a pong naming WANT arrives before DEADLINE (monotonic)."""
    global buf
    key = b'"t0_us":%d' % want
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            i = line.find(key)
            if i >= 0 and not line[i + len(key):i + len(key) + 1].isdigit():
                return True
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sub.stdout], [], [], left)[0]:
            return False
        chunk = os.read(sub.stdout.fileno(), 65536)
        if not chunk:
            return False
        buf += chunk

try:
    # The subscription is in place once a ping is answered.
    end = time.monotonic() + 10
    while not answered(ping(), time.monotonic() + 0.5):
        if time.monotonic() > end:
            sys.exit("serve answers no ping")
    n, worst, end = 0, 0.0, time.monotonic() + secs
    while time.monotonic() < end:
        sent = time.monotonic()
        want = ping()
        if not answered(want, sent + 1.0):
            sys.exit(f"ping {n + 1} (t0_us {want}) got no pong within 1 s")
        worst = max(worst, time.monotonic() - sent)
        n += 1
        time.sleep(max(0.0, sent + 0.2 - time.monotonic()))
    print(f"{n} pings answered, slowest {worst * 1000:.0f} ms")
finally:
    sub.kill()
PY
}

start_broker
make_keys
write_fleet "$T/sched" n1:300:river
mkdir -p "$T/sched/audio"
sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/notice.wav" synth 1 sine 440 fade 0.05 1 0.05
cat > "$T/sched/test.yaml" <<CONF
notices:
  river-notice:
    title: 河道清淤通知
    audio: audio/notice.wav
broadcasts:
  - id: river-bc
    notice: river-notice
    at: ["03:00", "15:00"]
    targets: all
CONF
"$CUNXIANG" check "$T/sched" || fail "the test schedule does not check"
write_controller "$T/sched"
alsa_file_pcms n1
start_serve
write_node n1 n1
start_node n1
wait_for 30 test -s "$T/state-n1/plan.msg" || fail "n1 got no plan"
wait_for 20 status_is n1 assets_missing 0 || fail "n1 misses assets"
ISSUED=$(plan_issued n1)

# Watch what serve publishes from now on (-R: not the retained plans).
spawn plansub mosquitto_sub $MQ -q 1 -v -R -t 'cx/v1/plan/+'
wait_for 10 sh -c "mosquitto_pub $MQ -t cx/v1/plan/probe -m probe &&
	grep -q '^cx/v1/plan/probe probe' '$T/plansub.log'" || fail "mosquitto_sub does not subscribe"

# Ping for 10 s; 2 s in, the deeply nested file lands.
ping_rtt_ok n1 10 > "$T/ping.out" 2>&1 &
PING=$!
sleep 2
python3 -c 'import sys; sys.stdout.write("[" * 204800)' > "$T/sched/deep.yaml"
WHERE="$T/sched/deep.yaml:1:65: error: nested deeper than 64 levels"
reported=0
wait_for 5 grep -qF "$WHERE" "$T/serve.log" || reported=$?
wait "$PING" || fail "serve stopped answering pings: $(cat "$T/ping.out")"
cat "$T/ping.out"
[ "$reported" = 0 ] || fail "serve does not report $WHERE within 5 s"

# The plans on the air stay: nothing was published, n1 keeps its plan.
alive serve || fail "serve died"
alive node-n1 || fail "n1 died"
[ "$(plan_issued n1)" = "$ISSUED" ] || fail "n1 got a new plan"
! grep -q '^cx/v1/plan/n1 ' "$T/plansub.log" || fail "serve published a plan after the broken file"

# check says the same and fails.
rc=0
"$CUNXIANG" check "$T/sched" > "$T/check.out" 2> "$T/check.err" || rc=$?
[ "$rc" = 1 ] || fail "check exits $rc, want 1"
grep -qxF "$WHERE" "$T/check.err" || fail "check does not report $WHERE: $(cat "$T/check.err")"
[ "$(grep -c ': error: ' "$T/check.err")" = 1 ] || fail "check reports more than the one error"
echo ok
