#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# keygen writes a usable pair, refuses to overwrite, and reports usage errors.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$CUNXIANG" keygen -o "$tmp/keys" > "$tmp/out"
test "$(stat -c %a "$tmp/keys/signing.key")" = 600
grep -q '^key id: *[0-9a-f]\{16\}$' "$tmp/out"
grep -q "trusted_keys: \[\"$(cat "$tmp/keys/signing.pub")\"\]" "$tmp/out"

set +e
"$CUNXIANG" keygen -o "$tmp/keys" 2> "$tmp/err"; rc=$?
set -e
test $rc -eq 1 || { echo "overwrite: exit $rc, want 1"; exit 1; }
grep -q 'not overwriting' "$tmp/err"

set +e
"$CUNXIANG" keygen 2> /dev/null; rc=$?
set -e
test $rc -eq 2 || { echo "no -o: exit $rc, want 2"; exit 1; }
"$CUNXIANG" keygen --help | grep -q -- '--output'
"$CUNXIANG" --version | grep -q '^cunxiang '
echo ok
