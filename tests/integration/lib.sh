# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh -- shared by the integration tests: a private broker, keys, configs,
# ALSA file PCMs, PulseAudio null sinks, daemons; everything torn down at exit.
# Source it from a test; it needs $CUNXIANG (and $CUNXIANG_NODE for nodes).

set -u
CX_SRC=${CX_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/cx-it.XXXXXX")
CX_PIDS=""
export CUNXIANG_LOG=${CUNXIANG_LOG:-info}

# A sanitizer build's processes (daemons, commands, tools: everything the
# test starts) write ASan's and LeakSanitizer's reports to $T/asan.NAME.PID,
# so that a report is found wherever the process's output went, also from
# a command the test expected to fail. UBSan, which gcc links beside ASan,
# ignores its log_path and reports on stderr: a daemon's lands in its
# $T/NAME.log. cx_cleanup fails the test on either. Harmless without
# sanitizers; a later option overrides an earlier one.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/asan:log_exe_name=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/ubsan:log_exe_name=1"
CX_SAN_RE=': runtime error: |ERROR: (Address|Leak|UndefinedBehavior)Sanitizer'

# sanitizer_reports: print every sanitizer report of this test; false if any.
sanitizer_reports() {
	_found=0
	for _f in "$T"/asan.* "$T"/ubsan.*; do
		[ -s "$_f" ] || continue
		echo "---- sanitizer report $(basename "$_f") ----"
		cat "$_f"
		_found=1
	done
	for _f in "$T"/*.log; do
		[ -f "$_f" ] && grep -Eq "$CX_SAN_RE" "$_f" || continue
		echo "---- sanitizer report in $(basename "$_f") ----"
		grep -E -A 30 "$CX_SAN_RE" "$_f" | head -n 80
		_found=1
	done
	[ "$_found" = 0 ]
}

cx_cleanup() {
	rc=$?
	for p in $CX_PIDS; do kill "$p" 2>/dev/null; done
	# Let them exit on SIGTERM (up to 5 s, CX_SLOW times that): a sanitizer
	# build checks for leaks as a daemon exits, and SIGKILL would lose
	# its report.
	_end=$(( $(date +%s) + 5 * ${CX_SLOW:-1} ))
	for p in $CX_PIDS; do
		while kill -0 "$p" 2>/dev/null && [ "$(date +%s)" -lt "$_end" ]; do sleep 0.05; done
	done
	for p in $CX_PIDS; do kill -9 "$p" 2>/dev/null; done
	if ! sanitizer_reports; then
		echo "FAIL: a sanitizer reported an error (above)"
		rc=1
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		echo "---- logs of the failed test ($T) ----"
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "== $f"; tail -n 40 "$f"
		done
	fi
	for m in ${CX_MOUNTS:-}; do umount "$m" 2>/dev/null || umount -l "$m"; done
	if [ -z "${CX_KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
	exit "$rc"
}
trap cx_cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed"; }

# A free loopback TCP port.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	_secs=$1; shift
	_end=$(( $(date +%s) + _secs ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$_end" ] || return 1
		sleep 0.1
	done
}

# spawn NAME CMD...: run in the background, log to $T/NAME.log, remember the pid.
spawn() {
	_name=$1; shift
	"$@" >>"$T/$_name.log" 2>&1 &
	_pid=$!
	CX_PIDS="$CX_PIDS $_pid"
	eval "PID_$(echo "$_name" | tr -c 'a-zA-Z0-9\n' _)=$_pid"
}
pid_of() { eval "echo \${PID_$(echo "$1" | tr -c 'a-zA-Z0-9\n' _):-}"; }

# ---- broker ----
# Every test's broker is configured by `cunxiang provision`, as a
# township's is: TLS only, a password file with one account per pole and
# one for the controller, the ACL from the fleet, no anonymous access. It
# is provisioned in $BROKER_PKI for a fleet of its own, which lists the
# poles the test makes (broker_account: write_node and fake_pole call it),
# and listens on a free loopback port. The poles' signing keys are
# enrolled with the test's controller as the test makes them (enrol_node).
BROKER_PKI="$T/pki"
BROKER_CA="$BROKER_PKI/ca/ca.crt"

# broker_conf DIR PORT STATE: provision's DIR/broker/mosquitto.conf with
# its listener on loopback PORT, persistence and pid file (STATE/
# mosquitto.pid) in STATE, the log on stderr; to STATE/mosquitto.conf.
broker_conf() {
	mkdir -p "$3"
	{
		sed "s/^listener 8883\$/listener $2 127.0.0.1/" "$1/broker/mosquitto.conf"
		cat <<CONF
user $(id -un)
persistence_location $3/
pid_file $3/mosquitto.pid
log_dest stderr
log_type error
log_type warning
log_type notice
CONF
	} > "$3/mosquitto.conf"
	grep -q "^listener $2 127.0.0.1\$" "$3/mosquitto.conf" ||
		fail "no 'listener 8883' in $1/broker/mosquitto.conf"
	! grep -q '^allow_anonymous true' "$3/mosquitto.conf" || fail "$1 lets anybody in"
}

# broker_provision [--reload]: (re)provision $BROKER_PKI for the accounts
# in $BROKER_PKI/accounts (the first run: only "probe"); --reload tells the
# running broker. Sets MQ, the options of a mosquitto_pub/_sub client with
# the controller's account, and MQ_TOOL, the same for the test tools
# (mqtape, flood).
broker_provision() {
	if [ ! -f "$BROKER_PKI/prov.yaml" ]; then
		mkdir -p "$BROKER_PKI/sched"
		"$CUNXIANG" keygen -o "$BROKER_PKI/keys" > /dev/null || fail "keygen for the broker"
		cat > "$BROKER_PKI/prov.yaml" <<CONF
broker: mqtts://127.0.0.1:8883
signing_key: $BROKER_PKI/keys/signing.key
schedules: $BROKER_PKI/sched
voices: $CX_SRC/voices
data_dir: $BROKER_PKI/data
CONF
		echo probe > "$BROKER_PKI/accounts"
	fi
	{
		printf 'township: 测试镇\narea_code: "640104100000"\ntimezone: Asia/Shanghai\n'
		printf 'villages:\n  - code: "640104100201"\n    name: 永南村\n    nodes:\n'
		sed 's/.*/      - { id: &, households: 1 }/' "$BROKER_PKI/accounts"
	} > "$BROKER_PKI/sched/fleet.yaml"
	_reload=""
	[ "${1:-}" = --reload ] && _reload="--reload $T/broker/mosquitto.pid"
	# shellcheck disable=SC2086
	"$CUNXIANG" provision -c "$BROKER_PKI/prov.yaml" -o "$BROKER_PKI" --broker-host 127.0.0.1 \
		$_reload > "$BROKER_PKI/provision.out" 2>&1 ||
		fail "cannot provision the broker: $(cat "$BROKER_PKI/provision.out")"
	MQ="-h 127.0.0.1 -p ${BROKER_PORT:-8883} --cafile $BROKER_CA -u controller -P $(cat "$BROKER_PKI/controller/password")"
	MQ_TOOL="-p ${BROKER_PORT:-8883} --cafile $BROKER_CA --user controller --pw-file $BROKER_PKI/controller/password"
}

# mq_as USER: the mosquitto_pub/_sub options of USER ("controller" or a
# pole's id) on the test broker.
mq_as() {
	if [ "$1" = controller ]; then
		echo "$MQ"
	else
		echo "-h 127.0.0.1 -p $BROKER_PORT --cafile $BROKER_CA -u $1 -P $(cat "$BROKER_PKI/poles/$1/node.pass")"
	fi
}

# broker_account ID...: broker accounts for the poles ID (the ones it has
# already stay); a running broker reloads and lets them in.
broker_account() {
	[ -f "$BROKER_PKI/accounts" ] || broker_provision
	_new=""
	for _id in "$@"; do
		grep -qx "$_id" "$BROKER_PKI/accounts" || { echo "$_id" >> "$BROKER_PKI/accounts"; _new="$_new $_id"; }
	done
	[ -n "$_new" ] || return 0
	if [ -n "$(pid_of broker)" ] && alive broker; then
		broker_provision --reload
		# One reload reads the whole password file: once the last new
		# account gets in, they all do.
		_last=${_new##* }
		# shellcheck disable=SC2046
		wait_for 10 mosquitto_sub $(mq_as "$_last") -t "cx/v1/cmd/$_last" -E ||
			fail "the broker did not let $_last in after the reload"
	else
		broker_provision
	fi
}

# start_broker: the test broker ($BROKER_EXTRA, if set, is appended to its
# configuration: a test that needs the broker configured otherwise says why).
start_broker() {
	need mosquitto
	need mosquitto_sub
	BROKER_PORT=${BROKER_PORT:-$(free_port)}
	BROKER_URL="mqtts://127.0.0.1:$BROKER_PORT"
	broker_provision
	broker_conf "$BROKER_PKI" "$BROKER_PORT" "$T/broker"
	[ -z "${BROKER_EXTRA:-}" ] || printf '%s\n' "$BROKER_EXTRA" >> "$T/broker/mosquitto.conf"
	spawn broker mosquitto -c "$T/broker/mosquitto.conf"
	# shellcheck disable=SC2086
	wait_for 10 mosquitto_sub $MQ -t cx/v1/ready -E || fail "broker did not start"
}
stop_broker() {
	_p=$(pid_of broker)
	[ -n "$_p" ] && kill "$_p" && wait "$_p" 2>/dev/null
	return 0
}
kill_broker() {
	_p=$(pid_of broker)
	[ -n "$_p" ] && kill -9 "$_p" && wait "$_p" 2>/dev/null
	return 0
}

# ---- keys and configs ----
make_keys() {
	"$CUNXIANG" keygen -o "$T/keys" > "$T/keygen.out" || fail "keygen"
	PUBKEY=$(cat "$T/keys/signing.pub")
}

# write_controller SCHEDULES_DIR
write_controller() {
	mkdir -p "$T/data"
	cat > "$T/controller.yaml" <<CONF
broker: $BROKER_URL
username: controller
password_file: $BROKER_PKI/controller/password
ca_file: $BROKER_CA
signing_key: $T/keys/signing.key
schedules: $1
voices: $CX_SRC/voices
data_dir: $T/data
horizon_days: 2
CONF
}

# write_node ID DEVICE [EXTRA-YAML]: the node's config; once the controller's
# exists, the pole's key is enrolled too (enrol_node).
write_node() {
	mkdir -p "$T/state-$1"
	broker_account "$1"
	cat > "$T/node-$1.yaml" <<CONF
id: $1
broker: $BROKER_URL
username: $1
password_file: $BROKER_PKI/poles/$1/node.pass
ca_file: $BROKER_CA
trusted_keys: ["$PUBKEY"]
audio: { device: $2, buffer_ms: 100 }
state_dir: $T/state-$1
${3:-}
CONF
	[ -f "$T/controller.yaml" ] && enrol_node "$1"
	return 0
}

# enrol_node ID: create the pole's key (as its first start does) and enrol
# it with the controller, as county IT does when a pole is installed.
enrol_node() {
	[ -f "$T/enrolled-$1" ] && return 0
	_key=$("$CUNXIANG_NODE" -c "$T/node-$1.yaml" --print-key) || fail "cannot make the key of $1"
	"$CUNXIANG" enrol -c "$T/controller.yaml" "$1" "$_key" > "$T/enrol-$1.out" ||
		fail "cannot enrol $1: $(cat "$T/enrol-$1.out")"
	touch "$T/enrolled-$1"
}

# fake_pole ID: a pole key of our own for ID (no cunxiang-node behind it),
# enrolled with the controller; pole_pub signs with it.
fake_pole() {
	[ -f "$T/pole-$1/signing.key" ] && return 0
	broker_account "$1"
	"$CUNXIANG" keygen -o "$T/pole-$1" > /dev/null || fail "cannot make a key for $1"
	"$CUNXIANG" enrol -c "$T/controller.yaml" "$1" "$(cat "$T/pole-$1/signing.pub")" \
		> "$T/enrol-$1.out" || fail "cannot enrol $1: $(cat "$T/enrol-$1.out")"
}
# pole_pub ID TOPIC JSON [mosquitto_pub options]: publish JSON on TOPIC
# signed with ID's fake pole key, QoS 1, with ID's broker account.
pole_pub() {
	_pp_id=$1 _pp_topic=$2 _pp_json=$3
	shift 3
	printf '%s' "$_pp_json" | "$CX_SIGN" "$T/pole-$_pp_id/signing.key" > "$T/pole-$_pp_id/msg" ||
		fail "cannot sign as $_pp_id"
	# shellcheck disable=SC2046
	mosquitto_pub $(mq_as "$_pp_id") -q 1 -t "$_pp_topic" -f "$T/pole-$_pp_id/msg" "$@"
}
# fake_receipt ID SEQ OCC KIND STATE: a well-formed receipt JSON (from = SEQ).
fake_receipt() {
	printf '{"type":"receipt","node":"%s","seq":%s,"from":%s,"occ":"%s","kind":"%s","state":"%s","scheduled_ms":null,"started_ms":null,"ended_ms":null,"played_ms":null,"start_error_us":null,"volume":100,"reason":null}' \
		"$1" "$2" "$2" "$3" "$4" "$5"
}

# mount_tmpfs DIR SIZE: a small file system of its own at DIR (a pole's
# disk that can fill up), unmounted when the test ends. Needs root.
mount_tmpfs() {
	[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0755" cx-test "$1" || fail "cannot mount a tmpfs on $1"
	CX_MOUNTS="${CX_MOUNTS:-} $1"
}

# fill_disk DIR: fill the file system of DIR to the last block.
fill_disk() {
	dd if=/dev/zero of="$1/fill-big" bs=1M 2>/dev/null
	dd if=/dev/zero of="$1/fill-small" bs=512 2>/dev/null
	return 0
}

# ---- ALSA ----
# alsa_file_pcms NODE...: one `file` PCM per node writing raw S16_LE to $T/NODE.raw.
alsa_file_pcms() {
	{
		echo "</usr/share/alsa/alsa.conf>"
		for n in "$@"; do
			cat <<CONF
pcm.$n {
	type file
	slave.pcm "null"
	file "$T/$n.raw"
	format "raw"
}
CONF
		done
	} > "$T/asound-file.conf"
	export ALSA_CONFIG_PATH="$T/asound-file.conf"
}

# start_pulse NODE...: a private PulseAudio with one null sink per node,
# reached through ALSA's pulse plugin as pcm.NODE.
start_pulse() {
	need pulseaudio
	need parec
	[ -f /usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so ] ||
		ls /usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so >/dev/null 2>&1 ||
		skip "ALSA pulse plugin (libasound2-plugins) missing"
	export XDG_RUNTIME_DIR="$T/xdg"
	mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
	export PULSE_SERVER="unix:$T/pulse.sock"
	# One -L argument per sink (node names are [a-z0-9-], safe to eval).
	_loads=""
	for n in "$@"; do
		_loads="$_loads -L 'module-null-sink sink_name=$n rate=48000 channels=1'"
	done
	eval "spawn pulse pulseaudio -n --daemonize=no --exit-idle-time=-1 --system=false \
		--disallow-exit -L 'module-native-protocol-unix auth-anonymous=1 socket=$T/pulse.sock' $_loads"
	wait_for 10 pactl info || fail "pulseaudio did not start"
	{
		echo "</usr/share/alsa/alsa.conf>"
		for n in "$@"; do
			printf 'pcm.%s {\n\ttype pulse\n\tdevice "%s"\n\tserver "unix:%s"\n}\n' "$n" "$n" "$T/pulse.sock"
		done
	} > "$T/asound-pulse.conf"
	export ALSA_CONFIG_PATH="$T/asound-pulse.conf"
}

# record NODE: parec the node's sink monitor to $T/NODE.rec (s16le mono 48 kHz).
record() {
	spawn "rec-$1" parec -d "$1.monitor" --format=s16le --rate=48000 --channels=1 \
		--latency-msec=10 --raw "$T/$1.rec"
}

# ---- daemons ----
start_serve() {
	spawn serve "$CUNXIANG" serve -c "$T/controller.yaml"
}
start_node() {
	[ -f "$T/controller.yaml" ] && enrol_node "$1"
	spawn "node-$1" "$CUNXIANG_NODE" -c "$T/node-$1.yaml"
}
stop_proc() {
	_p=$(pid_of "$1")
	[ -n "$_p" ] && kill "$_p" 2>/dev/null && wait "$_p" 2>/dev/null
	return 0
}
kill9_proc() {
	_p=$(pid_of "$1")
	[ -n "$_p" ] && kill -9 "$_p" 2>/dev/null && wait "$_p" 2>/dev/null
	return 0
}

# sql QUERY: ask the controller's store.
sql() { sqlite3 -batch -noheader "$T/data/receipts.db" "$1"; }

# A retained status of NODE, as JSON, or nothing.
node_status() {
	# shellcheck disable=SC2086
	mosquitto_sub $MQ -t "cx/v1/status/$1" -C 1 -W 2 2>/dev/null
}

# now_ms: wall clock in ms.
now_ms() { python3 -c 'import time; print(int(time.time()*1000))'; }

# next_slot LEAD_S: the next whole minute in Asia/Shanghai at least LEAD_S
# seconds away, printed as "HH:MM YYYY-MM-DD START_MS".
next_slot() {
	python3 - "$1" <<'PY'
import sys, datetime, zoneinfo
tz = zoneinfo.ZoneInfo("Asia/Shanghai")
now = datetime.datetime.now(tz)
t = (now + datetime.timedelta(seconds=int(sys.argv[1]) + 59)).replace(second=0, microsecond=0)
print(t.strftime("%H:%M"), t.strftime("%Y-%m-%d"), int(t.timestamp() * 1000))
PY
}

# write_broadcast ID SECONDS: $T/sched/ID.yaml, one broadcast ID of notice
# notice-a (audio/a.wav, a 440 Hz tone SECONDS long) to every node today at
# $HHMM ($DAY), checked.
write_broadcast() {
	mkdir -p "$T/sched/audio"
	sox -n -r 48000 -c 1 -b 16 "$T/sched/audio/a.wav" synth "$2" sine 440 fade 0.01 "$2" 0.01 ||
		fail "sox"
	cat > "$T/sched/$1.yaml" <<CONF
notices:
  notice-a:
    title: 通知
    audio: audio/a.wav
broadcasts:
  - id: $1
    notice: notice-a
    at: ["$HHMM"]
    days: ["$DAY"]
    targets: all
    priority: important
    quiet_ok: true
CONF
	"$CUNXIANG" check "$T/sched" > /dev/null || fail "the test schedule does not check"
}

# write_fleet DIR NODE:HOUSEHOLDS:TAG... : one village, the nodes given.
write_fleet() {
	_dir=$1; shift
	mkdir -p "$_dir"
	{
		cat <<CONF
township: 测试镇
area_code: "640104100000"
timezone: Asia/Shanghai
villages:
  - code: "640104100201"
    name: 永南村
    nodes:
CONF
		for spec in "$@"; do
			_id=${spec%%:*}; _rest=${spec#*:}; _hh=${_rest%%:*}; _tag=${_rest#*:}
			printf '      - id: %s\n        households: %s\n        tags: [%s]\n' "$_id" "$_hh" "$_tag"
		done
	} > "$_dir/fleet.yaml"
}

# wait_ms_until MS: sleep until the wall clock reaches MS.
wait_ms_until() {
	python3 -c 'import sys,time; d=int(sys.argv[1])/1000-time.time(); time.sleep(d if d>0 else 0)' "$1"
}

# count_receipts STATE [NODE]: receipts in the store with that state.
count_receipts() {
	if [ -n "${2:-}" ]; then
		sql "select count(*) from receipts where state='$1' and node='$2'"
	else
		sql "select count(*) from receipts where state='$1'"
	fi
}

# plan_assets NODE: the asset hashes of the node's first plan event.
plan_assets() {
	head -n 1 "$T/state-$1/plan.msg" | python3 -c 'import json,sys; e=json.load(sys.stdin)["events"][0]; print(" ".join(e["assets"]))'
}

# played_matches NODE: the node's ALSA file output contains the decoded
# assets of its first event, sample for sample.
played_matches() {
	_files=""
	for a in $(plan_assets "$1"); do _files="$_files $T/state-$1/assets/$a.opus"; done
	# shellcheck disable=SC2086
	"$CX_DECODE" $_files > "$T/$1.expect" || return 1
	python3 - "$T/$1.raw" "$T/$1.expect" <<'PY'
import sys
got = open(sys.argv[1], "rb").read()
want = open(sys.argv[2], "rb").read()
if len(want) < 4800:
    sys.exit("expected audio is too short")
i = got.find(want[:9600])
if i < 0 or i % 2:
    sys.exit("the start of the asset is not in the output")
if got[i:i + len(want)] != want:
    n = sum(1 for k in range(0, len(want), 2) if got[i+k:i+k+2] != want[k:k+2])
    sys.exit(f"{n} samples differ from the decoded asset")
print(f"sample-exact: {len(want)//2} samples after {i//2} samples of lead-in")
PY
}

# start_pulse_shared NAME...: a private PulseAudio with ONE null sink "all"
# of one channel per NAME (aux0, aux1, ... in order) and a mono remap sink
# per NAME on its channel, reached through ALSA as pcm.NAME (playback) and
# pcm.NAME_in (capture from the sink's monitor). One recording of
# all.monitor (record_shared) then holds every NAME on one timeline, so
# onsets compare sample by sample (DESIGN "Testing", skew between nodes).
start_pulse_shared() {
	need pulseaudio
	need parec
	ls /usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so >/dev/null 2>&1 ||
		skip "ALSA pulse plugin (libasound2-plugins) missing"
	export XDG_RUNTIME_DIR="$T/xdg"
	mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
	export PULSE_SERVER="unix:$T/pulse.sock"
	SHARED_CH=$#
	SHARED_MAP=""
	_i=0
	for n in "$@"; do
		SHARED_MAP="$SHARED_MAP${SHARED_MAP:+,}aux$_i"
		_i=$((_i + 1))
	done
	spawn pulse pulseaudio -n --daemonize=no --exit-idle-time=-1 --system=false \
		--disallow-exit -L "module-native-protocol-unix auth-anonymous=1 socket=$T/pulse.sock" \
		-L "module-null-sink sink_name=all rate=48000 channels=$SHARED_CH channel_map=$SHARED_MAP"
	wait_for 10 pactl info || fail "pulseaudio did not start"
	_i=0
	for n in "$@"; do
		pactl load-module module-remap-sink sink_name="$n" master=all channels=1 \
			channel_map=mono master_channel_map="aux$_i" remix=no >/dev/null ||
			fail "cannot load the remap sink $n"
		_i=$((_i + 1))
	done
	# An idle null sink renders in long cycles (about 2 s), and a recording
	# that starts then misses up to one. A recording with a low latency kept
	# running for the whole test keeps the cycles short; wait for its data.
	spawn pulse-keep parec -d all.monitor --latency-msec=10 --raw /dev/null
	timeout 10 parec -d all.monitor --latency-msec=10 --raw /dev/stdout 2>/dev/null |
		head -c 64 > /dev/null
	{
		echo "</usr/share/alsa/alsa.conf>"
		for n in "$@"; do
			printf 'pcm.%s {\n\ttype pulse\n\tdevice "%s"\n\tserver "unix:%s"\n}\n' "$n" "$n" "$T/pulse.sock"
			printf 'pcm.%s_in {\n\ttype pulse\n\tdevice "%s.monitor"\n\tserver "unix:%s"\n}\n' "$n" "$n" "$T/pulse.sock"
		done
	} > "$T/asound-pulse.conf"
	export ALSA_CONFIG_PATH="$T/asound-pulse.conf"
}

# record_shared NAME FILE: parec all.monitor (every channel, s16le 48 kHz)
# to FILE in the background, as process NAME.
record_shared() {
	spawn "$1" parec -d all.monitor --format=s16le --rate=48000 --channels="$SHARED_CH" \
		--channel-map="$SHARED_MAP" --latency-msec=10 --raw "$2"
}

# pub TOPIC ARGS...: mosquitto_pub at QoS 1 to the test broker (ARGS: -m,
# -f, -s, -r ...) with the controller's broker account: as an intruder who
# got past the broker (with a stolen password, or on a broker left open)
# could. What is tested is that the message itself is not trusted.
pub() {
	_t=$1; shift
	# shellcheck disable=SC2086
	mosquitto_pub $MQ -q 1 -t "$_t" "$@"
}

# plan_issued NODE: issued_ms of the plan NODE holds on disk (plan.msg).
plan_issued() {
	[ -s "$T/state-$1/plan.msg" ] || return 1
	head -n 1 "$T/state-$1/plan.msg" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["issued_ms"])'
}

# status_field NODE FIELD: one field of NODE's retained status ("" if absent).
status_field() {
	node_status "$1" | python3 -c '
import json, sys
v = json.loads(sys.stdin.readline()).get(sys.argv[1])
print("" if v is None else v)' "$2"
}

# proc_kb NAME FIELD: a /proc/PID/status field in kB (VmRSS, VmHWM) of the
# process started as NAME.
proc_kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$(pid_of "$1")/status"
}

# alive NAME: the process started as NAME still runs.
alive() {
	_p=$(pid_of "$1")
	[ -n "$_p" ] && kill -0 "$_p" 2>/dev/null
}

# status_is NODE FIELD VALUE / status_ge NODE FIELD N: test one field of
# NODE's retained status (for wait_for).
status_is() { [ "$(status_field "$1" "$2")" = "$3" ]; }
status_ge() {
	_v=$(status_field "$1" "$2")
	[ -n "$_v" ] && [ "$_v" -ge "$3" ]
}

# ---- receipts, spools and caches across failures ----

# node_receipts NODE: "SEQ OCC STATE" for every receipt NODE spooled, from
# its log lines "receipt N: OCC STATE", by seq; the log is appended across
# restarts, so this is the node's whole history.
node_receipts() {
	sed -n 's/.*receipt \([0-9][0-9]*\): \([^ ]*\) \([a-z]*\).*/\1 \2 \3/p' "$T/node-$1.log" |
		sort -n
}

# store_receipts NODE: "SEQ OCC STATE" for every receipt of NODE in the store, by seq.
store_receipts() {
	sql "select seq || ' ' || occ || ' ' || state from receipts where node='$1' order by seq"
}

# receipts_match NODE: the store holds exactly the receipts NODE logged, no
# more, no fewer (each once: the store's key is (node, seq)).
receipts_match() {
	[ -n "$(node_receipts "$1")" ] && [ "$(node_receipts "$1")" = "$(store_receipts "$1")" ]
}

# spool_count NODE: receipts NODE still holds unacknowledged on disk.
spool_count() {
	ls "$T/state-$1/spool/" 2>/dev/null | grep -c '\.json$'
}
spool_drained() { [ "$(spool_count "$1")" = 0 ]; }

# plan_cached NODE: NODE holds a plan and every asset of its events.
plan_cached() {
	[ -s "$T/state-$1/plan.msg" ] || return 1
	for _a in $(head -n 1 "$T/state-$1/plan.msg" | python3 -c '
import json, sys
print(" ".join(a for e in json.load(sys.stdin)["events"] for a in e["assets"]))'); do
		[ -s "$T/state-$1/assets/$_a.opus" ] || return 1
	done
}

# cache_verifies NODE: every cached asset hashes to its name (SHA.opus);
# prints how many.
cache_verifies() {
	_k=0
	for _f in "$T/state-$1/assets/"*.opus; do
		[ -f "$_f" ] || continue
		_h=$(sha256sum < "$_f" | cut -d ' ' -f 1)
		[ "$_h.opus" = "$(basename "$_f")" ] || { echo "$_f hashes to $_h"; return 1; }
		_k=$((_k + 1))
	done
	[ "$_k" -gt 0 ] || { echo "no asset in the cache"; return 1; }
	echo "$_k cached assets verify"
}

# slot_at MS: the minute starting at MS (as next_slot prints it), in
# Asia/Shanghai: "HH:MM YYYY-MM-DD MS".
slot_at() {
	python3 - "$1" <<'PY'
import sys, datetime, zoneinfo
t = datetime.datetime.fromtimestamp(int(sys.argv[1]) / 1000, zoneinfo.ZoneInfo("Asia/Shanghai"))
print(t.strftime("%H:%M"), t.strftime("%Y-%m-%d"), int(t.timestamp() * 1000))
PY
}

# broker_persistence_writable: call before start_broker in a test that
# restarts the broker and relies on what it persisted (sessions, queued
# QoS 1 messages, retained ones). Run as root, mosquitto drops to the user
# "mosquitto", which cannot write into the private $T: without this every
# autosave fails ("Error: Permission denied" in broker.log) and a restart
# comes back empty.
broker_persistence_writable() {
	mkdir -p "$T/broker"
	[ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1 || return 0
	chmod 711 "$T"
	chown mosquitto "$T/broker"
}

# ---- a broker as a test's own `cunxiang provision` run configures it ----

# start_tls_broker DIR: mosquitto with the configuration `cunxiang provision
# -o DIR` wrote, on a free loopback port ($TLS_PORT) instead of 8883, with
# its persistence, pid file ($T/tls-broker/mosquitto.pid) and log
# ($T/tls-broker.log) in $T.
start_tls_broker() {
	need mosquitto
	need mosquitto_pub
	TLS_PORT=${TLS_PORT:-$(free_port)}
	broker_conf "$1" "$TLS_PORT" "$T/tls-broker"
	echo "log_type information" >> "$T/tls-broker/mosquitto.conf"
	spawn tls-broker mosquitto -c "$T/tls-broker/mosquitto.conf"
	wait_for 10 mosquitto_sub -h 127.0.0.1 -p "$TLS_PORT" --cafile "$1/ca/ca.crt" \
		-u controller -P "$(cat "$1/controller/password")" -t cx/v1/ready -E ||
		fail "the TLS broker did not start"
}
