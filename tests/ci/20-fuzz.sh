#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 20-fuzz.sh -- CI stage "fuzz": every harness of tests/fuzz/ built with
# libFuzzer, ASan and UBSan (clang, ${CX_BUILD:-build}-fuzz) and run for
# CX_FUZZ_SECONDS (60) from a scratch copy of its corpus
# (tests/fuzz/corpus/NAME), two at a time. Each harness passes or fails;
# a crash, a leak, a hang (an input over 30 s) or a broken contract fails
# it, and the input that did is kept under the build directory and named
# in the output. Ends with "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
t0=$(date +%s)
secs=${CX_FUZZ_SECONDS:-60}

done_with() {
	echo "fuzz: $(( $(date +%s) - t0 )) s"
	echo "$1 passed, $2 failed"
	[ "$2" -eq 0 ]
	exit
}

deploy/install-deps.sh --fuzz || { echo "install-deps failed"; done_with 0 1; }

names=""
for f in tests/fuzz/fuzz_*.c; do
	n=$(basename "$f" .c)
	names="$names ${n#fuzz_}"
done
[ -n "$names" ] || { echo "no harness in tests/fuzz"; done_with 0 1; }

build=${CX_BUILD:-build}-fuzz
opts="-Dlibfuzzer=true -Db_sanitize=address,undefined -Db_lundef=false"
export CC=clang
if [ -f "$build/build.ninja" ]; then
	# shellcheck disable=SC2086
	meson setup --reconfigure $opts "$build" >/dev/null || meson setup --wipe $opts "$build"
else
	# shellcheck disable=SC2086
	meson setup $opts "$build" >/dev/null
fi || { echo "meson setup of $build failed"; done_with 0 1; }
targets=""
for n in $names; do targets="$targets tests/fuzz/fuzz_$n"; done
# shellcheck disable=SC2086
ninja -C "$build" $targets >"$build/ninja-fuzz.out" 2>&1 || {
	tail -n 40 "$build/ninja-fuzz.out"
	echo "build of the harnesses failed"
	done_with 0 1
}

# Scratch corpora and the harnesses' own files (TMPDIR) in memory when
# there is /dev/shm; the inputs that fail are kept in the build directory.
scratch=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/cx-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
keep=$(cd "$build" && pwd)/fuzz-failures
rm -rf "$keep"
mkdir -p "$keep"
# UBSan must stop at its first report for libFuzzer to see it; ASan checks
# for leaks after each input.
export ASAN_OPTIONS="detect_leaks=1:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:print_summary=1"

# start NAME: run harness NAME in the background, its output to a log.
start() {
	mkdir -p "$scratch/$1/corpus" "$scratch/$1/tmp"
	if [ ! -d "tests/fuzz/corpus/$1" ] ||
		! cp "tests/fuzz/corpus/$1"/* "$scratch/$1/corpus/" 2>/dev/null; then
		echo "no seed corpus in tests/fuzz/corpus/$1" > "$scratch/$1/log"
		echo 1 > "$scratch/$1/rc"
		return
	fi
	(
		TMPDIR=$scratch/$1/tmp "$build/tests/fuzz/fuzz_$1" -max_total_time="$secs" \
			-timeout=30 -print_final_stats=1 -artifact_prefix="$keep/$1-" \
			"$scratch/$1/corpus" > "$scratch/$1/log" 2>&1
		echo $? > "$scratch/$1/rc"
	) &
}

# result NAME: say how harness NAME did; true if it passed.
result() {
	_rc=$(cat "$scratch/$1/rc" 2>/dev/null || echo 1)
	_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$1/log" | tail -n 1)
	_cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' "$scratch/$1/log" | tail -n 1)
	_corpus=$(ls "$scratch/$1/corpus" | wc -l)
	if [ "$_rc" = 0 ]; then
		echo "fuzz_$1: ok, ${_runs:-?} inputs in ${secs} s, coverage ${_cov:-?}, corpus ${_corpus} files"
		return 0
	fi
	echo "fuzz_$1: FAILED (exit status $_rc) after ${_runs:-?} inputs"
	tail -n 60 "$scratch/$1/log" | sed 's/^/    /'
	_saved=$(sed -n "s/.*Test unit written to \(.*\)/\1/p" "$scratch/$1/log")
	if [ -n "$_saved" ]; then
		echo "fuzz_$1: the input that failed: $_saved"
	else
		echo "fuzz_$1: no input saved (see the log above)"
	fi
	return 1
}

passed=0
failed=0
set -- $names
while [ $# -gt 0 ]; do
	a=$1; shift
	b=${1:-}
	[ -n "$b" ] && shift
	start "$a"
	[ -n "$b" ] && start "$b"
	wait
	for n in $a $b; do
		if result "$n"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	done
done
done_with "$passed" "$failed"
