#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# cunxiang tts speaks Mandarin and Cantonese notices with the shipped
# profiles into valid Ogg Opus as long as espeak-ng's own program speaks
# them, gives the same bytes however many workers render it, and reports
# usage errors (exit 2) and unknown voices (exit 1) plainly.
set -eu
SRC=${CX_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VOICES=$SRC/voices
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in espeak-ng opusinfo soxi; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "$tool is missing: run deploy/install-deps.sh --test"; exit 1; }
done

# key FILE KEY [DEFAULT]: a top-level scalar of a voice profile.
key() {
	v=$(sed -n "s/^$2:[[:space:]]*\([^#[:space:]]*\).*/\1/p" "$1")
	echo "${v:-${3:-}}"
}

# opus_seconds FILE: the playback length opusinfo reports, in seconds.
opus_seconds() {
	opusinfo "$1" | sed -n 's/.*Playback length: *\([0-9]*\)m:\([0-9.]*\)s.*/\1 \2/p' |
		awk '{ printf "%.3f\n", $1 * 60 + $2 }'
}

# check NAME TEXT: render TEXT with voices/NAME.yaml, check the file with
# opusinfo, and compare its length with `espeak-ng -w` for the same voice,
# variant, rate and pitch. The profile's chime is not part of what tts
# renders (compile puts it before the speech as an asset of its own), so
# the speech alone is compared.
check() {
	name=$1 text=$2 profile=$VOICES/$1.yaml
	voice=$(key "$profile" voice)
	variant=$(key "$profile" variant)
	rate=$(key "$profile" rate 175)
	pitch=$(key "$profile" pitch 50)
	[ -n "$voice" ] || { echo "$profile: no voice"; exit 1; }

	"$CUNXIANG" tts --voices "$VOICES" --voice "$name" -o "$tmp/$name.opus" "$text" \
		2> "$tmp/$name.err" || { cat "$tmp/$name.err"; echo "$name: tts failed"; exit 1; }
	grep -q "^$tmp/$name.opus: [0-9]*\.[0-9]* s, [0-9]* bytes$" "$tmp/$name.err" ||
		{ cat "$tmp/$name.err"; echo "$name: no summary line"; exit 1; }
	opusinfo "$tmp/$name.opus" > "$tmp/$name.info" 2>&1 ||
		{ cat "$tmp/$name.info"; echo "$name: opusinfo rejects the file"; exit 1; }
	if grep -qi 'warning\|error' "$tmp/$name.info"; then
		cat "$tmp/$name.info"; echo "$name: opusinfo complains"; exit 1
	fi
	grep -q 'Channels: 1' "$tmp/$name.info" || { echo "$name: not mono"; exit 1; }

	espeak-ng -v "$voice${variant:++$variant}" -s "$rate" -p "$pitch" -w "$tmp/$name.wav" "$text"
	ours=$(opus_seconds "$tmp/$name.opus")
	theirs=$(soxi -D "$tmp/$name.wav")
	echo "$name: cunxiang tts $ours s, espeak-ng $theirs s"
	awk -v a="$ours" -v b="$theirs" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 1 && d <= 0.03 * b) }' ||
		{ echo "$name: $ours s is not within 3% of $theirs s"; exit 1; }
}

# Long enough to be cut into parts rendered in parallel (a chained stream).
mandarin="各位村民请注意，现在播送村委会的通知。今天下午三点，在村委会二楼会议室召开村民代表大会，\
讨论今年的农田水利建设和村道维修计划，请各位代表准时参加。因故不能参加的，请提前向村民小组长请假。\
近期天气干燥，请大家注意防火，不要在田间地头焚烧秸秆，不要在山林附近使用明火。\
外出务工返乡的村民，请到村卫生室登记。以上通知请大家相互转告，谢谢大家。"
cantonese="各位村民请注意，今晚七点喺村委会开会，讨论修路同埋防洪嘅安排，请大家准时出席。多谢大家。"
check mandarin "$mandarin"
check cantonese "$cantonese"

# The same bytes with one worker or two, to a file or to standard output.
"$CUNXIANG" tts --voices "$VOICES" --voice mandarin -j 1 -o "$tmp/j1.opus" "$mandarin" 2>/dev/null
"$CUNXIANG" tts --voices "$VOICES" --voice mandarin -j 2 "$mandarin" > "$tmp/j2.opus"
cmp "$tmp/j1.opus" "$tmp/mandarin.opus" || { echo "-j 1 differs"; exit 1; }
cmp "$tmp/j2.opus" "$tmp/mandarin.opus" || { echo "-j 2 to stdout differs"; exit 1; }
# The text from a file and from standard input.
printf '%s' "$cantonese" > "$tmp/notice.txt"
"$CUNXIANG" tts --voices "$VOICES" --voice cantonese -f "$tmp/notice.txt" -o "$tmp/f.opus" 2>/dev/null
cmp "$tmp/f.opus" "$tmp/cantonese.opus" || { echo "-f FILE differs"; exit 1; }
"$CUNXIANG" tts --voices "$VOICES" --voice cantonese -f - < "$tmp/notice.txt" > "$tmp/stdin.opus"
cmp "$tmp/stdin.opus" "$tmp/cantonese.opus" || { echo "-f - differs"; exit 1; }
# Without --voices, a binary in its build tree finds the source tree's voices/.
case $CUNXIANG in
*/controller/cunxiang)
	"$CUNXIANG" tts --voice cantonese -o "$tmp/found.opus" "$cantonese" 2>/dev/null
	cmp "$tmp/found.opus" "$tmp/cantonese.opus" || { echo "build-tree voices differ"; exit 1; }
	;;
esac

# expect RC WHAT CMD...: CMD exits RC; its stderr is in $tmp/err.
expect() {
	want=$1 what=$2
	shift 2
	set +e
	"$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
	rc=$?
	set -e
	[ "$rc" -eq "$want" ] || { cat "$tmp/err"; echo "$what: exit $rc, want $want"; exit 1; }
}
tts() { "$CUNXIANG" tts --voices "$VOICES" "$@"; }

expect 2 "no --voice" tts -o "$tmp/x.opus" 通知
grep -q '^Usage: cunxiang tts' "$tmp/err"
expect 2 "no text" tts --voice mandarin -o "$tmp/x.opus"
expect 2 "two texts" tts --voice mandarin -o "$tmp/x.opus" 一 二
expect 2 "text and -f" tts --voice mandarin -f "$tmp/notice.txt" -o "$tmp/x.opus" 一
expect 2 "bad --jobs" tts --voice mandarin -j 0 -o "$tmp/x.opus" 一
grep -q -- '--jobs must be 1..64' "$tmp/err"
expect 2 "unknown option" tts --voice mandarin --loud -o "$tmp/x.opus" 一

expect 1 "unknown voice" tts --voice klingon -o "$tmp/x.opus" 通知
grep -q "error: no voice profile 'klingon' in $VOICES; available: cantonese, hakka, mandarin" "$tmp/err" ||
	{ cat "$tmp/err"; echo "unknown voice: unclear message"; exit 1; }
expect 1 "missing voices directory" "$CUNXIANG" tts --voices "$tmp/nowhere" --voice mandarin -o "$tmp/x.opus" 一
grep -q "no voice profile 'mandarin'" "$tmp/err"
expect 1 "empty text" tts --voice mandarin -o "$tmp/x.opus" "  "
grep -q '^cunxiang tts: the text is empty$' "$tmp/err"
expect 1 "invalid UTF-8" tts --voice mandarin -o "$tmp/x.opus" "$(printf '\377')"
grep -q 'not valid UTF-8' "$tmp/err"
expect 1 "missing text file" tts --voice mandarin -f "$tmp/none.txt" -o "$tmp/x.opus"
grep -q "$tmp/none.txt: No such file or directory" "$tmp/err"
test ! -e "$tmp/x.opus" || { echo "a failed run left $tmp/x.opus"; exit 1; }

"$CUNXIANG" tts --help | grep -q -- '--voices DIR'
echo ok
