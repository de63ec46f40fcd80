#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A 640-character Mandarin notice (about 3 minutes of speech) rendered to
# 24 kbit/s Ogg Opus two ways, side by side: `cunxiang tts` (synthesis and
# encoding in one pass, parts in parallel; it has no cache, so every run
# renders) on one core and on all, and the espeak-ng program followed by
# opusenc. Best and worst of 3 runs each, and where the time goes, with
# the bound this libopus sets: synthesis plus coding at complexity 0. Goal:
# cunxiang at least 5x faster on one core.
#
# Quality: espeak-ng's own output (the pipeline's x.wav) coded by opusenc
# and by cunxiang's speech coder (TTS_QUALITY encode, the settings of
# encode.h), each measured against that output by TTS_QUALITY compare:
# segmental SNR and log-spectral distance, 50 Hz..7 kHz, aligned.
#
# Usage: bench_tts.sh TTS_QUALITY
set -eu
SRC=${CX_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
quality=${1:?usage: bench_tts.sh TTS_QUALITY}
profile=$SRC/voices/mandarin.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in espeak-ng opusenc; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "$tool is missing: run deploy/install-deps.sh --test"; exit 1; }
done

key() { # KEY [DEFAULT]: a top-level scalar of the profile
	v=$(sed -n "s/^$1:[[:space:]]*\([^#[:space:]]*\).*/\1/p" "$profile")
	echo "${v:-${2:-}}"
}
voice=$(key voice) variant=$(key variant) rate=$(key rate 175) pitch=$(key pitch 50)
espeak_voice=$voice${variant:++$variant}
define() { sed -n "s/^#define $1 \\([0-9]*\\).*/\\1/p" "$SRC/controller/encode.h"; }
coded=$(define ENC_SPEECH_RATE) complexity=$(define ENC_SPEECH_COMPLEXITY)

# The lines are joined: one paragraph of 640 characters.
tr -d '\n' > "$tmp/notice.txt" <<'TEXT'
各位村民请注意，现在播送掌政镇人民政府关于做好汛期安全防范工作的通知。近期我镇持续出现强降雨天气，
黄河水位上涨，部分沟渠和低洼地带出现积水，请广大村民高度重视，切实做好防汛准备。
一、居住在河道两侧、低洼地带和危旧房屋内的群众，请在今天下午六点以前转移到村委会指定的安置点，
老人、儿童和行动不便的人员由村组干部负责上门接送。二、请不要在河边、沟渠边玩耍、
洗衣、钓鱼，不要涉水过河，家长要看管好自己的孩子，严禁未成年人私自下水游泳。
三、请检查自家房屋、院墙、棚圈是否牢固，发现裂缝、下沉、渗水等情况，立即向村委会报告，
电话是八六一二三四五六。四、外出务工返乡人员和驾车出行的村民，请注意道路积水和塌方，
遇到积水较深的路段不要强行通过，服从现场工作人员的指挥。五、各村民小组要安排专人昼夜值守，
发现险情第一时间报告，做到早发现、早报告、早处置。六、请大家储备好饮用水、
食品、手电筒和常用药品，保持手机畅通，随时收听村里大喇叭的通知。七、农户要及时疏通田间排水沟，
加固温棚和养殖圈舍，把农机具和化肥农药转移到高处存放，减少财产损失。八、
请不要听信和传播未经核实的消息，一切以镇政府和村委会发布的信息为准。防汛工作关系到每一位村民的生命财产安全，
请大家相互转告，特别是家中的老人和孩子。如遇紧急情况，请拨打镇防汛办公室值班电话，
或者直接到村委会求助。谢谢大家的配合。以上通知请大家相互转告，确保家家户户都能知道。
掌政镇人民政府，二零二五年七月十五日。再播送一遍，请大家注意收听，谢谢，
再见。
TEXT

ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
# timeit CMD...: three runs of CMD; the best and worst wall-clock times in
# ms into BEST and WORST, the CPU time (user + sys, children included) of
# the best into CPU ("?" without GNU time).
timeit() {
	best=999999999 worst=0 bcpu="?"
	timer=""
	[ -x /usr/bin/time ] && timer="/usr/bin/time -f %U_%S -o $tmp/cpu"
	for _ in 1 2 3; do
		rm -f "$tmp/cpu"
		t0=$(ms_now)
		# shellcheck disable=SC2086
		$timer "$@" > /dev/null 2> "$tmp/err" || { cat "$tmp/err"; exit 1; }
		t=$(( $(ms_now) - t0 ))
		[ "$t" -gt "$worst" ] && worst=$t
		if [ "$t" -lt "$best" ]; then
			best=$t bcpu="?"
			[ -s "$tmp/cpu" ] && bcpu=$(tail -n 1 "$tmp/cpu" | awk -F_ '{ printf "%.3fs", $1 + $2 }')
		fi
	done
	BEST=$best WORST=$worst CPU=$bcpu
}
synth="espeak-ng -v $espeak_voice -s $rate -p $pitch -w $tmp/x.wav -f $tmp/notice.txt"
enc="opusenc --quiet --bitrate 24 --speech $tmp/x.wav $tmp/y.opus"
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

chars=$(LC_ALL=C.UTF-8 wc -m < "$tmp/notice.txt")
timeit taskset -c 0 "$CUNXIANG" tts --voices "$SRC/voices" --voice mandarin -o "$tmp/out.opus" -f "$tmp/notice.txt"
one=$BEST one_worst=$WORST one_cpu=$CPU
timeit "$CUNXIANG" tts --voices "$SRC/voices" --voice mandarin -o "$tmp/out.opus" -f "$tmp/notice.txt"
all=$BEST all_worst=$WORST all_cpu=$CPU
timeit sh -c "$synth && $enc"
b=$BEST b_worst=$WORST b_cpu=$CPU
speech=$("$CUNXIANG" tts --voices "$SRC/voices" --voice mandarin -o "$tmp/out.opus" -f "$tmp/notice.txt" 2>&1 | sed -n 's/.*: \([0-9.]*\) s, \([0-9]*\) bytes$/\1 s of speech, \2 bytes/p')
echo "notice: $chars characters, $speech; voice $espeak_voice, rate $rate, pitch $pitch"
echo "cunxiang codes speech at $coded Hz, complexity $complexity; opusenc at 48 kHz, complexity 10"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-58s %9s %9s %9s\n' "" "best" "worst" "CPU"
printf '%-58s %8ss %8ss %9s\n' "cunxiang tts, one core (taskset -c 0)" \
	"$(secs "$one")" "$(secs "$one_worst")" "$one_cpu"
printf '%-58s %8ss %8ss %9s\n' "cunxiang tts, all $(nproc) cores" \
	"$(secs "$all")" "$(secs "$all_worst")" "$all_cpu"
printf '%-58s %8ss %8ss %9s\n' "espeak-ng -w x.wav -f notice.txt && opusenc --bitrate 24" \
	"$(secs "$b")" "$(secs "$b_worst")" "$b_cpu"
ratio() { awk -v a="$1" -v b="$b" 'BEGIN { printf "%.2f", b / (a > 0 ? a : 1) }'; }
r1=$(ratio "$one") ra=$(ratio "$all")
verdict="goal met"
awk -v r="$r1" 'BEGIN { exit !(r >= 5) }' || verdict="GOAL MISSED"
echo "ratio: cunxiang tts is ${r1}x faster on one core (goal >= 5x: $verdict), ${ra}x on $(nproc)"

# Quality, on the pipeline's own x.wav.
sh -c "$synth"
sh -c "$enc"
"$quality" encode "$tmp/x.wav" "$tmp/cunxiang.opus"
"$quality" encode "$tmp/x.wav" "$tmp/complexity0.opus" 0
cp "$tmp/y.opus" "$tmp/opusenc.opus"
echo "quality of the coding (higher segSNR and lower LSD are closer; opusenc keeps more above 7 kHz):"
"$quality" compare "$tmp/x.wav" "$tmp/opusenc.opus" "$tmp/cunxiang.opus" "$tmp/complexity0.opus" |
	sed 's/^/  /'

# Where the time goes.
echo "breakdown (best of 3, wall and CPU):"
row() { # LABEL CMD...
	label=$1; shift
	timeit "$@"
	printf '  %-56s %8ss %9s\n' "$label" "$(secs "$BEST")" "$CPU"
}
row "cunxiang tts, one worker (-j 1)" \
	"$CUNXIANG" tts --voices "$SRC/voices" --voice mandarin -o "$tmp/out.opus" -f "$tmp/notice.txt" -j 1
row "espeak-ng synthesis alone (-w x.wav)" sh -c "$synth"
synth_ms=$BEST
row "opusenc alone (default complexity 10)" sh -c "$enc"
row "cunxiang's speech coder alone on x.wav" "$quality" encode "$tmp/x.wav" "$tmp/q.opus"
row "the same at complexity 0, libopus's fastest" "$quality" encode "$tmp/x.wav" "$tmp/q.opus" 0
c0_ms=$BEST
# The most this libopus allows: synthesis plus the fastest coding, were
# nothing else spent.
echo "bound: espeak-ng synthesis + the coder at complexity 0 = $(secs $((synth_ms + c0_ms)))s," \
	"$(ratio $((synth_ms + c0_ms)))x faster than the pipeline"
