#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# quickstart.sh -- a whole township on this machine: a private mosquitto on a
# free loopback port (TLS only, per-pole accounts from `cunxiang provision`), `cunxiang serve` on the example in schedules/, one
# `cunxiang-node` per pole of the first village, and a one-off broadcast a
# minute from now, so you can hear (sound card) or see (recordings of
# PulseAudio null sinks) it play.
#
#   deploy/quickstart.sh          install what is missing, build, bring it up
#   deploy/quickstart.sh stop     stop everything it started
#
# Everything lives in quickstart/ at the top of the source tree (or in
# $CUNXIANG_QUICKSTART_DIR). CUNXIANG_QUICKSTART_AUDIO=null forces null
# sinks even when a sound card exists.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
Q=${CUNXIANG_QUICKSTART_DIR:-$root/quickstart}
B=$root/build

say() { printf '%s\n' "$*"; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

# Every daemon was started by spawn() as the leader of a session of its own:
# stop its whole process group (a recorder is parec piped into opusenc).
# quickstart/pids holds "PID START" with the kernel's start time of each, so
# that a file left from before a reboot never signals someone else's process.
started() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
ours() {
	[ -f "$Q/pids" ] || return 0
	while read -r _p _s; do
		[ -n "$_s" ] && [ "$(started "$_p")" = "$_s" ] && echo "$_p"
	done < "$Q/pids"
}
stop_all() {
	[ -f "$Q/pids" ] || return 0
	_pids=$(ours)
	for p in $_pids; do kill -TERM "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
	_i=0
	for p in $_pids; do
		while kill -0 "-$p" 2>/dev/null && [ "$_i" -lt 50 ]; do
			_i=$((_i + 1)); sleep 0.1
		done
	done
	for p in $_pids; do kill -KILL "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true; done
	rm -f "$Q/pids"
}

case "${1:-}" in
stop) stop_all; say "quickstart: stopped"; exit 0 ;;
"") ;;
*) echo "usage: $0 [stop]" >&2; exit 2 ;;
esac

# ---- install and build ----
"$root/deploy/install-deps.sh" --run
if [ ! -f "$B/build.ninja" ]; then
	meson setup "$B" "$root" || die "meson setup failed (above)"
fi
ninja -C "$B" || die "the build failed (above)"
CX=$B/controller/cunxiang
NODE=$B/node/cunxiang-node

stop_all
mkdir -p "$Q"
# `. quickstart/env` puts the commands just built on PATH, for the examples
# in the README.
cat > "$Q/env" <<EOF
# Source this file (. quickstart/env) to run the cunxiang commands of this
# build tree as the README types them.
case ":\$PATH:" in
*":$B/controller:"*) ;;
*) PATH="$B/controller:$B/node:\$PATH"; export PATH ;;
esac
EOF
rm -rf "$Q/schedules" "$Q/logs" "$Q/recordings" "$Q/broker" "$Q/xdg"
mkdir -p "$Q/logs" "$Q/recordings" "$Q/broker"
: > "$Q/pids"

# spawn NAME CMD...: a daemon that outlives this script, logging to logs/NAME.log.
spawn() {
	_n=$1; shift
	setsid "$@" >"$Q/logs/$_n.log" 2>&1 < /dev/null &
	echo "$! $(started $!)" >> "$Q/pids"
}
wait_for() {
	_t=$1; shift
	_i=0
	while ! "$@" >/dev/null 2>&1; do
		_i=$((_i + 1))
		[ "$_i" -lt $((_t * 10)) ] || return 1
		sleep 0.1
	done
}

# ---- the example township ----
cp -r "$root/schedules" "$Q/schedules"
"$CX" check "$Q/schedules" || die "the example schedules do not check"
tz=$(sed -n 's/^timezone:[[:space:]]*"\{0,1\}\([^"#[:space:]]*\).*/\1/p' "$Q/schedules/fleet.yaml")
tz=${tz:-Asia/Shanghai}
# The first village: its code, name and poles.
village=$(awk '/^[[:space:]]*- code:/ { n++ } n == 1 && /- code:/ { gsub(/[^0-9]/, "", $0); print; exit }' \
	"$Q/schedules/fleet.yaml")
vname=$(awk '/^[[:space:]]*- code:/ { n++ } n == 1 && /^[[:space:]]*name:/ { print $2; exit }' \
	"$Q/schedules/fleet.yaml")
nodes=$(awk '/^[[:space:]]*- code:/ { n++ } n == 1 && /- id:/ { print $3 }' "$Q/schedules/fleet.yaml")
[ -n "$village" ] && [ -n "$nodes" ] || die "cannot find the first village in fleet.yaml"

# ---- keys, credentials, broker, controller ----
# As a township does it (README, "Deploying a township"): `cunxiang
# provision` makes the CA, the broker's certificate, password file and ACL,
# and one bundle per pole; the broker listens with TLS only, on loopback,
# and lets nobody in without an account.
[ -f "$Q/keys/signing.key" ] || "$CX" keygen -o "$Q/keys" >/dev/null
# A store from before the poles' keys came from their bundles enrols other keys.
[ -d "$Q/township" ] || rm -rf "$Q/data" "$Q/nodes"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$Q/data"
cat > "$Q/controller.yaml" <<EOF
broker: mqtts://127.0.0.1:$port
signing_key: keys/signing.key
schedules: schedules
voices: $root/voices
data_dir: data
horizon_days: 2
EOF
"$CX" provision -c "$Q/controller.yaml" -o "$Q/township" --broker-host 127.0.0.1 \
	> "$Q/logs/provision.log" 2>&1 || {
	cat "$Q/logs/provision.log" >&2; die "cannot provision the township"; }
# The controller's account, as township/controller/README says.
cat >> "$Q/controller.yaml" <<EOF
username: controller
password_file: township/controller/password
ca_file: township/controller/ca.crt
EOF
# Provision's broker configuration, on this port and with its state here.
{
	sed "s/^listener 8883\$/listener $port 127.0.0.1/" "$Q/township/broker/mosquitto.conf"
	printf 'user %s\npersistence_location %s/\npid_file %s/mosquitto.pid\nlog_dest stderr\n' \
		"$(id -un)" "$Q/broker" "$Q/broker"
} > "$Q/broker/mosquitto.conf"
grep -q "^listener $port 127.0.0.1\$" "$Q/broker/mosquitto.conf" ||
	die "no TLS listener in $Q/township/broker/mosquitto.conf"
spawn mosquitto mosquitto -c "$Q/broker/mosquitto.conf"
wait_for 10 mosquitto_sub -h 127.0.0.1 -p "$port" --cafile "$Q/township/ca/ca.crt" \
	-u controller -P "$(cat "$Q/township/controller/password")" -t cx/v1/ready -E ||
	die "mosquitto did not start; see $Q/logs/mosquitto.log"

spawn serve "$CX" serve -c "$Q/controller.yaml"
say "quickstart: compiling the example township (speech is rendered once, then cached)..."
wait_for 300 grep -q 'plans:' "$Q/logs/serve.log" || {
	tail -n 20 "$Q/logs/serve.log" >&2; die "serve did not publish plans"; }

# ---- audio: the sound card, or a PulseAudio null sink per pole ----
if [ "${CUNXIANG_QUICKSTART_AUDIO:-}" != null ] && [ -r /proc/asound/cards ] &&
   ! grep -q 'no soundcards' /proc/asound/cards && aplay -L 2>/dev/null | grep -q '^default'; then
	audio=card
else
	audio=null
	export XDG_RUNTIME_DIR="$Q/xdg" PULSE_SERVER="unix:$Q/xdg/pulse.sock"
	mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
	set --
	for n in $nodes; do set -- "$@" -L "module-null-sink sink_name=$n rate=48000 channels=1"; done
	spawn pulseaudio pulseaudio -n --daemonize=no --exit-idle-time=-1 --disallow-exit \
		-L "module-native-protocol-unix auth-anonymous=1 socket=$Q/xdg/pulse.sock" "$@"
	wait_for 10 pactl info || die "pulseaudio did not start; see $Q/logs/pulseaudio.log"
	{
		echo "</usr/share/alsa/alsa.conf>"
		for n in $nodes; do
			printf 'pcm.%s { type pulse device "%s" server "unix:%s" }\n' "$n" "$n" "$Q/xdg/pulse.sock"
		done
	} > "$Q/asound.conf"
	export ALSA_CONFIG_PATH="$Q/asound.conf"
	# Ogg Opus, written out page by page (a page a second, unbuffered): a
	# recording plays while it grows. opusenc ignores SIGTERM, so on stop
	# parec ends and opusenc finishes the stream at the end of its input.
	for n in $nodes; do
		spawn "rec-$n" sh -c 'parec -d "$1.monitor" --raw --format=s16le --rate=48000 --channels=1 |
			{ trap "" TERM; exec stdbuf -o0 opusenc --quiet --raw --raw-rate 48000 --raw-chan 1 - - > "$2"; }' \
			rec "$n" "$Q/recordings/$n.opus"
	done
fi

# ---- the poles of the first village, each from its bundle ----
for n in $nodes; do
	dev=$n
	[ "$audio" = card ] && dev=default
	bundle=$Q/township/poles/$n
	mkdir -p "$Q/nodes/$n"
	# The pole's signing key is the one provision enrolled.
	cp "$bundle/node.key" "$Q/nodes/$n/node.key"
	sed -e "s|^broker: .*|broker: mqtts://127.0.0.1:$port|" \
		-e "s|^password_file: .*|password_file: $bundle/node.pass|" \
		-e "s|^ca_file: .*|ca_file: $bundle/ca.crt|" \
		-e "s|^audio: .*|audio: { device: $dev, buffer_ms: 100 }|" \
		-e "s|^state_dir: .*|state_dir: $Q/nodes/$n|" \
		"$bundle/node.yaml" > "$Q/nodes/$n.yaml"
	spawn "node-$n" "$NODE" -c "$Q/nodes/$n.yaml"
done

# ---- a one-off broadcast a minute from now, added while serve runs ----
now=$(date +%s)
at=$(( (now + 45 + 59) / 60 * 60 ))
hhmm=$(TZ=$tz date -d "@$at" +%H:%M)
day=$(TZ=$tz date -d "@$at" +%F)
cat > "$Q/schedules/quickstart.yaml" <<EOF
notices:
  quickstart-hello:
    title: 村响试播
    text: 各位村民请注意，这是村响广播系统的试播。村响，让每一个村庄都听得见。
    voice: mandarin
broadcasts:
  - id: quickstart
    notice: quickstart-hello
    at: ["$hhmm"]
    days: ["$day"]
    targets: { villages: ["$village"] }
    priority: important
    quiet_ok: true
EOF
"$CX" check "$Q/schedules" >/dev/null || {
	"$CX" check "$Q/schedules"; die "the one-off broadcast does not fit the schedule"; }
say "quickstart: $vname ($village): $(echo $nodes | wc -w) poles; a one-off broadcast plays at $hhmm ($tz)"
say "quickstart: waiting for it to play and for the receipts..."
n_nodes=$(echo $nodes | wc -w)
occ="quickstart@${day}T$hhmm"
done_count() {
	sqlite3 -batch -noheader "file:$Q/data/receipts.db?mode=ro" \
		"select count(distinct node) from receipts where occ='$occ' and state='completed'" 2>/dev/null
}
end=$(( at + 120 ))
while [ "$(date +%s)" -lt "$end" ]; do
	[ "$(done_count)" = "$n_nodes" ] && break
	sleep 2
done

say ""
sqlite3 -batch -header -column "file:$Q/data/receipts.db?mode=ro" \
	"select node, state, datetime(started_ms/1000, 'unixepoch') as started_utc, played_ms, start_error_us
	 from receipts where occ='$occ' order by node, seq" 2>/dev/null || true
say ""
"$CX" nodes -c "$Q/controller.yaml" || true
say ""
if [ "$(done_count)" = "$n_nodes" ]; then
	say "quickstart: the broadcast played on every pole of $vname."
else
	say "quickstart: not every pole reported the broadcast; see $Q/logs/"
fi
# Paths as typed from where the script was run, as the README has them.
rel() { case $1 in "$PWD"/*) printf '%s' "${1#"$PWD"/}" ;; *) printf '%s' "$1" ;; esac; }
if [ "$audio" = null ]; then
	say "  recordings:         $Q/recordings/ (what each pole played, Ogg Opus, growing while it runs)"
else
	say "  audio went to the sound card (ALSA default)"
fi
say "  receipt database:   $Q/data/receipts.db"
say "  broker:             mqtts://127.0.0.1:$port, TLS only, one account per pole ($Q/broker/)"
say "  pole bundles:       $Q/township/poles/ (node.yaml, node.pass, node.key, ca.crt)"
say "  logs:               $Q/logs/"
say "  the township:       $Q/schedules/ (edit a file: serve republishes the plans)"
say ""
say "To use the commands in this shell (again in every new one):"
say ""
say "  . $(rel "$Q/env")"
say "  cunxiang nodes -c $(rel "$Q/controller.yaml")"
say ""
say "Stop everything: $(rel "$root/deploy/quickstart.sh") stop"
