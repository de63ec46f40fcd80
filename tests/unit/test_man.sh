#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# test_man.sh -- every man page is built and renders without a groff warning;
# every --help names its man page; cunxiang(1) documents every subcommand with
# exactly the options its --help lists, cunxiang-node(8) those of the daemon.
# Usage: test_man.sh yes|no   (whether meson found scdoc and built the pages)
set -u

pages="cunxiang.1 cunxiang-node.8 cunxiang-schedules.5 cunxiang.yaml.5 cunxiang-node.yaml.5"
src=${CX_SOURCE_ROOT:?}/doc
out=${CX_BUILD_ROOT:?}/doc
cx=${CUNXIANG:?}
node=${CUNXIANG_NODE:?}

if [ "${1:-}" != yes ]; then
	echo "SKIP: scdoc was not found when the build was configured (-Dman)"
	exit 77
fi
if ! command -v man >/dev/null 2>&1; then
	echo "SKIP: man (man-db) is not installed"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}

# The pages: each has a source, is built, and renders without a warning.
# C.UTF-8 because the pages quote Chinese names; it is always there.
for p in $pages; do
	[ -f "$src/$p.scd" ] || { fail "doc/$p.scd is missing"; continue; }
	[ -s "$out/$p" ] || { fail "$p was not built"; continue; }
	if ! LC_ALL=C.UTF-8 MANWIDTH=80 man -l --warnings "$out/$p" >"$tmp/text" 2>"$tmp/err"; then
		fail "$p: man -l failed"
	fi
	if [ -s "$tmp/err" ]; then
		fail "$p: groff warnings:"
		sed 's/^/    /' "$tmp/err"
	fi
	for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
		grep -q "^$s\$" "$tmp/text" || fail "$p: no $s section"
	done
	case $p in
	*.1|*.8)
		for s in OPTIONS "EXIT STATUS" FILES EXAMPLES; do
			grep -q "^$s\$" "$tmp/text" || fail "$p: no $s section"
		done ;;
	esac
done
# A page added to doc/ but not here would go untested.
for f in "$src"/*.scd; do
	p=$(basename "$f" .scd)
	case " $pages " in
	*" $p "*) ;;
	*) fail "doc/$p.scd is not in this test's list of pages" ;;
	esac
done

# "-f --from DATE  ..." and "   --voices DIR ..." lines of a --help: the
# option names, one a line, sorted; -h, --help and --version left out.
help_opts() {
	sed -nE 's/^ {2,6}((-[A-Za-z]) )?(--[a-z][a-z-]*).*/\2 \3/p' |
		tr ' ' '\n' | grep -v -e '^$' -e '^-h$' -e '^--help$' -e '^--version$' | sort -u
}
# The same from the term lines ("*-f*, *--from* _DATE_") of page text.
page_opts() {
	grep -E '^\*-' | tr -d '*' | grep -oE -- '(^|[ ,])--?[A-Za-z][a-z-]*' |
		tr -d ' ,' | grep -v -e '^-h$' -e '^--help$' -e '^--version$' | sort -u
}
# Lines of a scdoc section: from the heading matching $1 to the next
# heading of the same or a higher level.
section() {
	awk -v h="$1" '
		$0 ~ "^#+ " { if (on) { lvl = index($0, " ") - 1; if (lvl <= on) exit } }
		$0 == h { on = index($0, " ") - 1; next }
		on' "$2"
}

# One --help: exit 0, shows -h --help and --version, ends naming PAGE.
check_help() {
	what=$1 page=$2
	shift 2
	if ! "$@" --help >"$tmp/help" 2>"$tmp/err"; then
		fail "$what --help exits non-zero"
		return
	fi
	grep -q -e '-h --help' "$tmp/help" || fail "$what --help does not list -h --help"
	grep -q -e '--version' "$tmp/help" || fail "$what --help does not list --version"
	last=$(grep -v '^[[:space:]]*$' "$tmp/help" | tail -n 1)
	case $last in
	*"$page"*) ;;
	*) fail "$what --help does not end by naming $page (last line: $last)" ;;
	esac
}

check_help "cunxiang" "cunxiang(1)" "$cx"
cmds=$("$cx" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p')
[ -n "$cmds" ] || fail "no commands in cunxiang --help"
for c in $cmds; do
	check_help "cunxiang $c" "cunxiang(1)" "$cx" "$c"
	grep -q "^\*cunxiang $c\*" "$src/cunxiang.1.scd" ||
		fail "cunxiang(1): $c is not in the SYNOPSIS"
	section "## cunxiang $c" "$src/cunxiang.1.scd" >"$tmp/sect"
	if [ ! -s "$tmp/sect" ]; then
		fail "cunxiang(1): no section '## cunxiang $c'"
		continue
	fi
	"$cx" "$c" --help | help_opts >"$tmp/want"
	page_opts <"$tmp/sect" >"$tmp/have"
	if ! cmp -s "$tmp/want" "$tmp/have"; then
		fail "cunxiang(1) and cunxiang $c --help differ in options (< --help, > page):"
		diff "$tmp/want" "$tmp/have" | grep '^[<>]' | sed 's/^/    /'
	fi
done
# A section for a command that no longer exists.
for c in $(sed -n 's/^## cunxiang \([a-z][a-z]*\)$/\1/p' "$src/cunxiang.1.scd"); do
	case " $(echo $cmds) " in
	*" $c "*) ;;
	*) fail "cunxiang(1) documents '$c', which cunxiang --help does not list" ;;
	esac
done

check_help "cunxiang-node" "cunxiang-node(8)" "$node"
"$node" --help | help_opts >"$tmp/want"
section "# OPTIONS" "$src/cunxiang-node.8.scd" | page_opts >"$tmp/have"
if ! cmp -s "$tmp/want" "$tmp/have"; then
	fail "cunxiang-node(8) and cunxiang-node --help differ in options (< --help, > page):"
	diff "$tmp/want" "$tmp/have" | grep '^[<>]' | sed 's/^/    /'
fi

[ "$failed" -eq 0 ] && echo "man pages and --help texts agree"
exit "$failed"
