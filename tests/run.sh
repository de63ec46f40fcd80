#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh -- install what is missing, build, run every test suite, and end with
# "N passed, N failed". Usage: tests/run.sh [--bench] [MESON-TEST-ARGS...]
# With CX_STAGES=all it also runs the stages of tests/ci/ in name order
# (sanitizers, fuzzers, ARM under emulation, packages): each installs what
# it needs, ends with its own "N passed, N failed" line, and its counts are
# added; CX_STAGES="fuzz deb" runs only those. CI=true turns on the stages
# listed in CX_CI_STAGES below: those measured to fit CI's 90 minutes
# beside the suites.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bench=0
if [ "${1:-}" = "--bench" ]; then bench=1; shift; fi

deploy/install-deps.sh --test || { echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }

build=${CX_BUILD:-build}
if [ -f "$build/build.ninja" ]; then
	meson setup --reconfigure "$build" >/dev/null || meson setup --wipe "$build"
else
	meson setup "$build"
fi || { echo "meson setup failed"; echo "0 passed, 1 failed"; exit 1; }
ninja -C "$build" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 \
	--suite unit --suite integration "$@" 2>&1 | tee "$log"

count() { sed -n "s/^$1: *\([0-9][0-9]*\).*/\1/p" "$log" | tail -n 1; }
ok=$(count Ok); fail=$(count Fail); xfail=$(count 'Expected Fail')
xpass=$(count 'Unexpected Pass'); skip=$(count Skipped); tmo=$(count Timeout)
passed=$(( ${ok:-0} + ${xfail:-0} ))
failed=$(( ${fail:-0} + ${xpass:-0} + ${tmo:-0} ))
skipped=${skip:-0}
if [ "${CI:-}" = true ] && [ "$skipped" -gt 0 ]; then
	# CI installs everything, so a skip there means a test could not run.
	echo "CI: $skipped test(s) skipped; counted as failed"
	failed=$(( failed + skipped ))
	skipped=0
fi
if [ $(( passed + failed )) -eq 0 ]; then
	echo "no test ran"
	failed=1
fi

# The stages: tests/ci/NN-NAME.sh, each ending with "N passed, N failed".
CX_CI_STAGES="sanitize fuzz arm deb"
stages=${CX_STAGES:-}
[ "${CI:-}" = true ] && [ -z "$stages" ] && stages=$CX_CI_STAGES
if [ -n "$stages" ]; then
	for s in tests/ci/[0-9]*.sh; do
		[ -f "$s" ] || continue
		name=$(basename "$s" .sh)
		name=${name#*-}
		case " $stages " in
		*" all "*|*" $name "*) ;;
		*) continue ;;
		esac
		echo "==== stage $name ===="
		sh "$s" 2>&1 | tee "$log"
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
		if [ -z "$line" ]; then
			echo "stage $name: no result line; counted as one failure"
			failed=$(( failed + 1 ))
			continue
		fi
		set -- $line
		passed=$(( passed + $1 ))
		failed=$(( failed + $3 ))
	done
fi

if [ "$bench" = 1 ]; then
	meson test -C "$build" --no-rebuild --benchmark --verbose
fi

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
