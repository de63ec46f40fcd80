#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 30-arm.sh -- CI stage: cross-build a pole (the node, common/ and their unit
# tests; -Dcontroller=disabled) for arm64 and armhf with the cross files in
# cross/, run each unit suite under qemu-user (the cross files' exe_wrapper;
# no binfmt_misc needed), start each node binary under emulation, print the
# stripped node's size, and end with "N passed, N failed".
# Usage: tests/ci/30-arm.sh [ARCH...]   (default: arm64 armhf)
# Every test a pole build defines must run and pass: a skipped test counts as
# failed. A test that cannot run under qemu-user is named in EXCLUDE with its
# reason, printed; today every one runs (ALSA goes to a file plugin, no device).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

arches=${*:-arm64 armhf}
# One a line: "NAME why it cannot run under qemu-user". None today.
EXCLUDE=${CX_ARM_EXCLUDE:-}
passed=0
failed=0
t0=$(date +%s)

fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}

if ! deploy/install-deps.sh --arm; then
	echo "install-deps --arm failed"
	echo "0 passed, 1 failed"
	exit 1
fi

log=$(mktemp)
tmp=$(mktemp -d)
trap 'rm -rf "$log" "$tmp"' EXIT

# count NAME: the number on meson test's summary line "NAME: N".
count() { sed -n "s/^$1: *\([0-9][0-9]*\).*/\1/p" "$log" | tail -n 1; }

# suite ARCH DIR: run the pole build's unit suite in DIR under emulation.
suite() {
	arch=$1 dir=$2
	all=$(meson test -C "$dir" --no-rebuild --list 2>/dev/null | sed 's|.* / ||')
	defined=$(echo "$all" | grep -c .)
	out=$(echo "$EXCLUDE" | awk 'NF { print $1 }')
	echo "$EXCLUDE" | awk -v a="$arch" 'NF { n = $1; $1 = ""
		print a ": excluded under emulation: " n " (" substr($0, 2) ")" }'
	[ -n "$out" ] || echo "$arch: excluded under emulation: none"
	out=$(echo $out)
	names=
	for t in $all; do
		case " $out " in *" $t "*) continue ;; esac
		names="$names $t"
	done
	if [ -z "$names" ]; then
		fail "$arch: the pole build defines no unit test"
		return
	fi
	# One at a time: under emulation a test takes a whole core, and the
	# player's latency bounds (widened 5x under emulation) are for a
	# player that is not competing with another test for the CPU.
	# shellcheck disable=SC2086
	meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 1 \
		$names >"$log" 2>&1
	grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Skipped|Timeout|Unexpected Pass):' "$log"
	ok=$(count Ok); fl=$(count Fail); sk=$(count Skipped)
	to=$(count Timeout); xp=$(count 'Unexpected Pass')
	ok=${ok:-0}; bad=$(( ${fl:-0} + ${sk:-0} + ${to:-0} + ${xp:-0} ))
	if [ $((ok + bad)) -eq 0 ]; then
		fail "$arch: no unit test ran"
		sed -n '1,40p' "$log"
		return
	fi
	[ "${sk:-0}" -eq 0 ] || echo "$arch: ${sk} test(s) skipped; counted as failed"
	[ "$bad" -eq 0 ] || grep -vE '^ *[0-9]+/[0-9]+ .* OK ' "$log" | head -n 300
	echo "$arch: $ok of $defined unit tests passed under qemu-user ($(echo $out | wc -w) excluded)"
	passed=$((passed + ok))
	failed=$((failed + bad))
}

for arch in $arches; do
	cross=cross/$arch.txt
	dir=build-$arch
	if [ ! -f "$cross" ]; then
		fail "$arch: no cross file $cross"
		continue
	fi
	echo "== $arch: cross build ($cross, -Dcontroller=disabled) in $dir"
	s=$(date +%s)
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" >"$log" 2>&1 || meson setup --wipe "$dir" >"$log" 2>&1
	else
		meson setup "$dir" --cross-file "$cross" -Dcontroller=disabled >"$log" 2>&1
	fi || { cat "$log"; fail "$arch: meson setup"; continue; }
	if ! ninja -C "$dir" >"$log" 2>&1; then
		grep -E 'error|FAILED' "$log" | head -n 40
		fail "$arch: build"
		continue
	fi
	if grep -q 'warning:' "$log"; then
		grep 'warning:' "$log" | head -n 20
		fail "$arch: the build has warnings"
	fi
	echo "$arch: built in $(( $(date +%s) - s )) s"

	# The node binary itself: the right machine, and it starts under qemu.
	node=$dir/node/cunxiang-node
	wrap=$(sed -n "s/^exe_wrapper *= *'\(.*\)'.*/\1/p" "$cross")
	strip=$(sed -n "s/^strip *= *'\(.*\)'.*/\1/p" "$cross")
	machine=$(LC_ALL=C readelf -h "$node" | sed -n 's/^ *Machine: *//p')
	if v=$("$wrap" "$node" --version 2>&1); then
		echo "$arch: $node ($machine) --version under $wrap: $v"
		passed=$((passed + 1))
	else
		fail "$arch: $node --version under $wrap: $v"
	fi
	if "$strip" -o "$tmp/cunxiang-node" "$node"; then
		size=$(stat -c %s "$tmp/cunxiang-node")
		echo "$arch: cunxiang-node stripped: $size bytes ($(( (size + 1023) / 1024 )) KiB)," \
			"unstripped $(stat -c %s "$node") bytes"
		echo "$arch: cunxiang-node needs:" \
			$(LC_ALL=C readelf -d "$node" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
	else
		fail "$arch: strip $node"
	fi

	s=$(date +%s)
	suite "$arch" "$dir"
	echo "$arch: unit suite under emulation took $(( $(date +%s) - s )) s"
done

echo "arm stage took $(( $(date +%s) - t0 )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
