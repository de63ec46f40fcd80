#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# install-deps.sh -- install the Debian packages cunxiang builds with;
# with --run also what deploy/quickstart.sh runs (a broker, PulseAudio null
# sinks, opusenc for their recordings, a CJK font for the HTML report); with
# --test also what the tests drive from outside; with --fuzz the compiler,
# libFuzzer and symbolizer of tests/ci/20-fuzz.sh; with --arm the cross
# toolchains, the node's libraries for arm64 and armhf (Debian multiarch:
# the architectures are added first) and qemu-user to run their tests
# (tests/ci/30-arm.sh); with --deb what tests/ci/40-deb.sh needs to build,
# check and install the Debian packages (debhelper, lintian, debootstrap,
# systemd-analyze, qemu-user for the arm64 binaries). Idempotent:
# installs only what is missing, runs apt-get update first when it does.
set -eu

build_pkgs="gcc meson ninja-build pkg-config
 libyaml-dev libmosquitto-dev libopusenc-dev libopusfile-dev libopus-dev libogg-dev
 libespeak-ng-dev espeak-ng-data libsndfile1-dev libasound2-dev libjansson-dev
 libsodium-dev libsqlite3-dev libssl-dev libcmocka-dev libsystemd-dev tzdata scdoc
 libxml2-dev libxmlsec1-dev libcurl4-openssl-dev"
run_pkgs="mosquitto mosquitto-clients pulseaudio pulseaudio-utils
 libasound2-plugins alsa-utils python3 sqlite3 procps"
test_pkgs="$run_pkgs opus-tools espeak-ng sox libsox-fmt-mp3 chromium fonts-wqy-microhei
 psmisc time man-db xmlsec1 openssl faketime"
# A pole build (-Dcontroller=disabled): the node's and its tests' libraries.
arm_libs="libyaml-dev libmosquitto-dev libopusenc-dev libopusfile-dev libopus-dev
 libasound2-dev libjansson-dev libsodium-dev libcmocka-dev"
arm_arches="arm64 armhf"
arm_pkgs="gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross
 libc6-dev-armhf-cross qemu-user-static"
deb_pkgs="debhelper dpkg-dev fakeroot lintian debootstrap systemd man-db file
 qemu-user-static"

pkgs=$build_pkgs
arches=
case "${1:-}" in
--run) pkgs="$build_pkgs $run_pkgs opus-tools fonts-noto-cjk" ;;
--test) pkgs="$build_pkgs $test_pkgs" ;;
--fuzz) pkgs="$build_pkgs clang libclang-rt-14-dev llvm" ;;
--arm)
	arches=$arm_arches
	pkgs="$build_pkgs $arm_pkgs"
	for a in $arm_arches; do
		for l in $arm_libs; do pkgs="$pkgs $l:$a"; done
	done ;;
--deb) pkgs="$build_pkgs $deb_pkgs" ;;
"") ;;
*) echo "usage: $0 [--run|--test|--fuzz|--arm|--deb]" >&2; exit 2 ;;
esac

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1; then
	sudo=sudo
else
	echo "install-deps: need root or sudo to install:$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# A foreign architecture is added before the update that lists its packages.
for a in $arches; do
	dpkg --print-foreign-architectures | grep -qx "$a" || $sudo dpkg --add-architecture "$a"
done
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
