#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 10-sanitize.sh -- CI stage "sanitize": the unit and integration suites
# again, built with AddressSanitizer, LeakSanitizer and UBSan in a build
# directory of their own (${CX_BUILD:-build}-asan). Any report fails: a
# test program's own through its exit status, a daemon's or a command's
# inside an integration test through tests/integration/lib.sh, which sends
# every report of the test's processes to a file and fails the test on
# one. Ends with "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
t0=$(date +%s)

done_with() {
	echo "sanitize: $(( $(date +%s) - t0 )) s"
	echo "$1 passed, $2 failed"
	[ "$2" -eq 0 ]
	exit
}

deploy/install-deps.sh --test || { echo "install-deps failed"; done_with 0 1; }

build=${CX_BUILD:-build}-asan
opts="-Db_sanitize=address,undefined"
if [ -f "$build/build.ninja" ]; then
	# shellcheck disable=SC2086
	meson setup --reconfigure $opts "$build" >/dev/null || meson setup --wipe $opts "$build"
else
	# shellcheck disable=SC2086
	meson setup $opts "$build" >/dev/null
fi || { echo "meson setup of $build failed"; done_with 0 1; }
ninja -C "$build" >"$build/ninja.out" 2>&1 || {
	tail -n 40 "$build/ninja.out"
	echo "build of $build failed"
	done_with 0 1
}

# LeakSanitizer stops the process and reads its memory as a tracer would;
# where a container forbids that, it cannot run at all. Find out with a
# program that leaks: leak checking stays on wherever it works, and the
# output says so when it cannot.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
leaks=1
printf '#include <stdlib.h>\nvoid *volatile p;\nint main(void) { p = malloc(7); p = 0; return 0; }\n' \
	> "$probe/leak.c"
if ${CC:-cc} -fsanitize=address -o "$probe/leak" "$probe/leak.c" 2>"$probe/cc.out"; then
	ASAN_OPTIONS=detect_leaks=1 "$probe/leak" >"$probe/run.out" 2>&1
	if ! grep -q 'ERROR: LeakSanitizer: detected memory leaks' "$probe/run.out"; then
		leaks=0
		echo "LeakSanitizer does not work here; leak checking off:"
		head -n 3 "$probe/run.out"
	fi
else
	echo "cannot build the LeakSanitizer probe:"
	cat "$probe/cc.out"
	done_with 0 1
fi

# Stop at the first report and fail (abort: the exit status says so, and
# meson shows the signal). The integration tests add log_path.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=$leaks:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1"
# Processes run 2-3x slower: daemons get longer to exit at the end of a
# test (lib.sh), and meson's timeouts are doubled. Timing assertions widen
# on CX_SANITIZE, which meson sets from b_sanitize.
export CX_SLOW=3

log=$probe/test.log
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 \
	--timeout-multiplier 2 --suite unit --suite integration 2>&1 | tee "$log"

count() { sed -n "s/^$1: *\([0-9][0-9]*\).*/\1/p" "$log" | tail -n 1; }
ok=$(count Ok); fail=$(count Fail); xfail=$(count 'Expected Fail')
xpass=$(count 'Unexpected Pass'); skip=$(count Skipped); tmo=$(count Timeout)
passed=$(( ${ok:-0} + ${xfail:-0} ))
failed=$(( ${fail:-0} + ${xpass:-0} + ${tmo:-0} ))
# A report can also hide in a test that passed: a child whose failure the
# test expected, a UBSan report (gcc's UBSan prints and goes on unless told
# to halt) in output the test did not check. Every such test fails too.
hidden=$(python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, re, sys
pat = re.compile(r": runtime error: |ERROR: (Address|Leak|UndefinedBehavior)Sanitizer")
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    t = json.loads(line)
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    m = pat.search(out)
    if t.get("result") == "OK" and m:
        print(t["name"] + ": " + out[max(0, m.start() - 200):m.end() + 800].replace("\n", "\n    "))
PY
)
if [ -n "$hidden" ]; then
	echo "sanitizer reports in tests that passed:"
	echo "$hidden"
	n=$(echo "$hidden" | grep -c '^[^ ]')
	passed=$(( passed - n ))
	failed=$(( failed + n ))
fi
# As in tests/run.sh: CI installs everything, so a skip there means a test
# could not run.
if [ "${skip:-0}" -gt 0 ]; then
	if [ "${CI:-}" = true ]; then
		echo "sanitize: ${skip} test(s) skipped; counted as failed"
		failed=$(( failed + skip ))
	else
		echo "sanitize: ${skip} test(s) skipped"
	fi
fi
if [ $(( passed + failed )) -eq 0 ]; then
	echo "sanitize: no test ran"
	failed=1
fi
done_with "$passed" "$failed"
