#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `cunxiang report` over a month of a 2,000-node township (about 1,000,000
# receipts), or of a county (10,000 nodes, 16 plays a day: about 10,000,000):
# wall time (best of 3), CPU time and peak memory of the text, HTML and
# JSON reports, and of a one-village text report.
# Goal: each at most 2 s and 200 MB.
# Usage: bench_report.sh REPORT_FILL [NODES [DAYS [PLAYS]]]
set -eu
fill=$1
nodes=${2:-2000}
days=${3:-30}
plays=${4:-8}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/data" "$tmp/schedules"
cat > "$tmp/controller.yaml" <<YAML
broker: mqtt://127.0.0.1:1883
signing_key: keys/signing.key
schedules: schedules
data_dir: data
YAML

t0=$(date +%s%N)
# shellcheck disable=SC2046
set -- $("$fill" "$tmp" "$nodes" "$days" "$plays")
from=$1 to=$2 receipts=$3
t1=$(date +%s%N)
size=$(du -k "$tmp/data/receipts.db" | cut -f1)
echo "store: $nodes nodes, $days days ($from .. $to), $plays plays a day, $receipts receipts, $((size / 1024)) MiB," \
	"filled through the store API in $(( (t1 - t0) / 1000000000 )) s"

# One report, timed: sets ms (wall), cpu (user + sys, ms) and rss (MiB);
# cpu and rss are "?" without GNU time.
run_once() {
	timer=""
	rm -f "$tmp/rss"
	[ -x /usr/bin/time ] && timer="/usr/bin/time -f %U_%S_%M -o $tmp/rss"
	s0=$(date +%s%N)
	# shellcheck disable=SC2086
	$timer "$CUNXIANG" report -c "$tmp/controller.yaml" --from "$from" --to "$to" "$@" \
		> "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err"; exit 1; }
	ms=$(( ($(date +%s%N) - s0) / 1000000 ))
	rss="?" cpu="?"
	if [ -s "$tmp/rss" ]; then
		rss=$(( $(tail -n 1 "$tmp/rss" | cut -d_ -f3) / 1024 ))
		cpu=$(tail -n 1 "$tmp/rss" | awk -F_ '{ printf "%d", ($1 + $2) * 1000 }')
	fi
	return 0
}

# Best and worst of three runs (the machine may be busy with other work).
timeit() { # LABEL ARGS...
	label=$1; shift
	best=999999 worst=0 bcpu="?"
	for _ in 1 2 3; do
		run_once "$@"
		[ "$ms" -gt "$worst" ] && worst=$ms
		if [ "$ms" -lt "$best" ]; then best=$ms; bcpu=$cpu; fi
	done
	verdict="goal met"
	[ "$best" -le 2000 ] && { [ "$rss" = "?" ] || [ "$rss" -le 200 ]; } || verdict="GOAL MISSED"
	printf 'report %s: %d.%03d s (worst of 3: %d.%03d s), CPU %s ms, peak RSS %s MiB, %s bytes (goal <= 2 s, <= 200 MB: %s)\n' \
		"$label" $((best / 1000)) $((best % 1000)) $((worst / 1000)) $((worst % 1000)) "$bcpu" "$rss" \
		"$(wc -c < "$tmp/out")" "$verdict"
}
# The fill's writes reach the disk first, and one untimed run reads the
# store into the page cache, so the runs time the report and not the disk.
sync
run_once --format text
timeit text --format text
timeit html --format html
timeit json --format json
timeit "text, one village" --format text --village 640104100201
