# SPDX-License-Identifier: GPL-2.0-or-later
# link.sh -- shared by the test_link_* tests: poles reach the broker through
# faultproxy (a link with latency, jitter, stalls, cuts, flaps), serve
# reaches it directly. Source it after lib.sh.

[ -x "${CX_FAULTPROXY:-}" ] || fail "CX_FAULTPROXY is not set: run through meson test"

# start_proxy ARGS...: faultproxy in front of the test broker on PROXY_PORT,
# its log in $T/proxy.log (lines "WALL_MS faultproxy: WHAT"), its control
# FIFO at $T/proxy.ctl. Call after start_broker.
start_proxy() {
	PROXY_PORT=$(free_port)
	spawn proxy "$CX_FAULTPROXY" -l "$PROXY_PORT" -t "$BROKER_PORT" -c "$T/proxy.ctl" "$@"
	wait_for 5 grep -q listening "$T/proxy.log" || fail "faultproxy did not start"
}

# proxy_ctl COMMAND: one command to the running proxy (cut, down, up,
# stall MS, flap UP,DOWN, flap off, delay MS[,MS], jitter MS[,MS]).
proxy_ctl() {
	echo "$*" > "$T/proxy.ctl"
}

# write_node_linked ID DEVICE [EXTRA-YAML]: write_node with the pole's
# broker behind the proxy.
write_node_linked() {
	write_node "$@"
	sed -i "s|^broker: .*|broker: mqtts://127.0.0.1:$PROXY_PORT|" "$T/node-$1.yaml"
}

# proxy_events WHAT: the wall-clock ms of each proxy log line containing WHAT.
proxy_events() {
	grep "faultproxy: $1" "$T/proxy.log" | cut -d ' ' -f 1
}
