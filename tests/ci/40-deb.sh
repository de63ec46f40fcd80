#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 40-deb.sh -- the Debian packages: build cunxiang and cunxiang-node with
# dpkg-buildpackage from a copy of the source (nothing is built in the
# tree), check them with lintian, install them with apt into a fresh
# Debian root made by debootstrap from the mirror this machine's apt uses,
# and run them there: both binaries' --version, `cunxiang check` of the
# example schedules, the users, state directories and conffiles,
# `systemd-analyze verify` and `security` of the installed units, a purge.
# Then the same for arm64, cross-built in a copy of that root, run under
# qemu-user.
# Each check prints PASS or FAIL; the last line is "N passed, N failed".
#
# CX_DEB_KEEP=1 keeps the work directory (packages, logs, the root).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
t0=$(date +%s)
pass=0
fail=0
work=
ok() { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# check NAME CMD...: one pass/fail, the command's output shown; returns
# CMD's success.
check() {
	_n=$1; shift
	if "$@"; then ok "$_n"; else bad "$_n"; return 1; fi
}

# bg NAME FUNC...: FUNC in the background, its output and status kept for
# join. The stage overlaps its slow parts: debootstrap with the build, the
# arm64 build dependencies with the amd64 install test.
jobs_bg=
bg() {
	_n=$1; shift
	( "$@" > "$work/$_n.out" 2>&1; echo $? > "$work/$_n.rc" ) &
	jobs_bg="$jobs_bg $!"
}
# join NAME: wait for bg NAME, show its output, return its status.
join() {
	while [ ! -f "$work/$1.rc" ]; do sleep 1; done
	cat "$work/$1.out"
	return "$(cat "$work/$1.rc")"
}

# The root's mounts live in private mount namespaces (unshare -m) and end
# with them; refuse to delete a directory something is still mounted in.
cleanup() {
	[ -n "$work" ] && [ -d "$work" ] || return 0
	if grep -q " $work/" /proc/self/mountinfo; then
		echo "40-deb: still mounted under $work; left in place"
		return 0
	fi
	if [ "${CX_DEB_KEEP:-}" = 1 ]; then
		echo "40-deb: kept $work"
	else
		rm -rf "$work"
	fi
}
finish() {
	# Nothing is left running: background jobs are waited for, not killed
	# (a killed debootstrap could leave its root half made, but nothing
	# mounted: its mounts are in a namespace of its own).
	for _p in $jobs_bg; do wait "$_p" 2>/dev/null; done
	cleanup
	echo "deb stage: $(( $(date +%s) - t0 )) s"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
trap 'fail=$((fail + 1)); echo "FAIL: interrupted"; finish' INT TERM

check "install-deps --deb" "$top/deploy/install-deps.sh" --deb || finish
work=$(mktemp -d "${TMPDIR:-/tmp}/cx-deb.XXXXXX") || { bad "work directory"; finish; }
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
upstream=${version%-*}
arch=$(dpkg --print-architecture)

# ---- build, out of the tree ----
# The files git knows (tracked, or new and not ignored), as they are in the
# work tree: what is tested is what is about to be committed.
src=$work/cunxiang-$upstream
# copy_source DIR: the source into DIR.
copy_source() {
	mkdir -p "$1" || return 1
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$top" ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do if [ -e "$f" ] || [ -L "$f" ]; then printf "%s\0" "$f"; fi; done' sh |
		(cd "$top" && tar -c --null -T - -f -) | tar -x -C "$1"
	else
		(cd "$top" && tar -c --exclude=./.git --exclude='./build*' -f - .) | tar -x -C "$1"
	fi
}
tree_state() { git -C "$top" status --porcelain --ignored 2>/dev/null; }
before=$(tree_state)
check "source copied out of the tree" copy_source "$src" || finish

# ---- a fresh root ----
# The mirror and release this machine's apt uses: the first enabled "deb"
# entry for the release itself (not -updates or -security), deb822 or
# one-line format.
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
mirror() {
	for _f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$_f" ] || continue
		awk -v suite="$suite" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") &&
				    tolower(enabled) != "no" && uris != "") { split(uris, u, " "); print u[1]; exit }
				types = suites = uris = enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{ key = tolower($1); sub(/^[^:]*:[ \t]*/, "") }
			key == "types:" { types = $0 } key == "suites:" { suites = $0 }
			key == "uris:" { uris = $0 } key == "enabled:" { enabled = $0 }
			END { flush() }' "$_f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -n 's/^[ \t]*deb[ \t]\{1,\}\(\[[^]]*\][ \t]*\)\{0,1\}//p' |
		awk -v suite="$suite" '$2 == suite { print $1 }'
}
url=$(mirror | head -n 1)
root=$work/root
xroot=$work/root-arm64
# chroot_run DIR CMD...: CMD in the root DIR, with /proc mounted in a mount
# namespace of its own (gone when CMD ends).
chroot_run() {
	_dir=$1; shift
	unshare -m --propagation private sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
		"$_dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
		"$@"
}
in_root() { chroot_run "$root" "$@"; }
in_xroot() { chroot_run "$xroot" "$@"; }
strap() {
	[ -n "$url" ] || { echo "no $suite mirror in /etc/apt/sources.list*"; return 1; }
	echo "debootstrap --variant=minbase $suite from $url"
	_t=$(date +%s)
	unshare -m --propagation private debootstrap --variant=minbase "$suite" "$root" "$url" \
		> "$work/debootstrap.log" 2>&1
	_r=$?
	echo "debootstrap: $(( $(date +%s) - _t )) s"
	[ "$_r" -eq 0 ] || { tail -n 20 "$work/debootstrap.log"; return 1; }
	# apt's proxy settings, if this machine has any.
	apt-config dump | grep -i '^Acquire::[a-z]*::Proxy' > "$root/etc/apt/apt.conf.d/01proxy" || true
	# Nothing starts in the root.
	printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
}
bg strap strap

build() {
	_t=$(date +%s)
	(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc) \
		> "$work/build.log" 2>&1
	_r=$?
	echo "dpkg-buildpackage: $(( $(date +%s) - _t )) s"
	[ "$_r" -eq 0 ] || tail -n 40 "$work/build.log"
	return "$_r"
}
check "dpkg-buildpackage -b ($arch)" build || finish
changes=$work/cunxiang_${version}_$arch.changes
deb_cx=$work/cunxiang_${version}_$arch.deb
deb_node=$work/cunxiang-node_${version}_$arch.deb
grep -i 'warning:' "$work/build.log" | sed 's/^/  build: /'
check "the build left the source tree as it was" test "$(tree_state)" = "$before"

# ---- lintian ----
# lint CHANGES: lintian's tags listed, no error.
lint() {
	lintian --pedantic --tag-display-limit 0 "$1" > "$work/lintian.log" 2>&1
	grep -v '^running with root' "$work/lintian.log" | sed 's/^/  lintian: /'
	echo "lintian: $(grep -c '^E:' "$work/lintian.log") errors," \
		"$(grep -c '^W:' "$work/lintian.log") warnings"
	! grep -q '^E:' "$work/lintian.log"
}
check "lintian $arch: no errors" lint "$changes"

# ---- contents ----
# has DEB PATH...: every PATH is in the package.
has() {
	_deb=$1; shift
	dpkg-deb -c "$_deb" | awk '{ print $6 }' | sed 's|^\./|/|' > "$work/contents"
	_r=0
	for _p; do
		grep -qx "$_p" "$work/contents" || { echo "  $(basename "$_deb"): no $_p"; _r=1; }
	done
	return "$_r"
}
check "cunxiang: binary, unit, sysusers, voices, CAP schema, man pages, examples" \
	has "$deb_cx" /usr/bin/cunxiang /lib/systemd/system/cunxiang.service \
	/usr/lib/sysusers.d/cunxiang.conf /etc/cunxiang/controller.yaml \
	/usr/share/cunxiang/voices/mandarin.yaml /usr/share/cunxiang/cap/cap-1.2.xsd \
	/usr/share/man/man1/cunxiang.1.gz /usr/share/man/man5/cunxiang.yaml.5.gz \
	/usr/share/man/man5/cunxiang-schedules.5.gz \
	/usr/share/doc/cunxiang/examples/schedules/fleet.yaml
check "cunxiang-node: binary, unit, sysusers, man pages" \
	has "$deb_node" /usr/bin/cunxiang-node /lib/systemd/system/cunxiang-node.service \
	/usr/lib/sysusers.d/cunxiang-node.conf /etc/cunxiang/node.yaml \
	/usr/share/man/man8/cunxiang-node.8.gz /usr/share/man/man5/cunxiang-node.yaml.5.gz
# The units in the packages are the ones in deploy/systemd/.
same_units() {
	_r=0
	for _d in "$deb_cx" "$deb_node"; do
		mkdir -p "$work/x" && dpkg-deb -x "$_d" "$work/x" || return 1
	done
	for _u in cunxiang.service cunxiang-node.service; do
		cmp "$work/x/lib/systemd/system/$_u" "$top/deploy/systemd/$_u" || _r=1
	done
	return "$_r"
}
check "packaged units are deploy/systemd/'s" same_units

# ---- arm64, cross-built in a copy of the fresh root ----
# Not on this machine: its :arm64 build dependencies cannot all sit beside
# the amd64 ones (libxmlsec1-dev is not Multi-Arch: same, so apt would
# remove the amd64 one the other suites build with). The copy is ours.
# The binaries run under qemu-user with the root's arm64 libraries.
cross_deps() {
	copy_source "$xroot/build/cunxiang-$upstream" || return 1
	_t=$(date +%s)
	in_xroot sh -c "dpkg --add-architecture arm64 && apt-get update -q &&
		apt-get install -y -q --no-install-recommends crossbuild-essential-arm64 &&
		cd /build/cunxiang-$upstream &&
		apt-get build-dep -y -q --no-install-recommends -a arm64 -P nocheck ./" \
		> "$work/arm64-deps.log" 2>&1
	_r=$?
	echo "arm64 build dependencies: $(( $(date +%s) - _t )) s"
	[ "$_r" -eq 0 ] || tail -n 30 "$work/arm64-deps.log"
	return "$_r"
}
check "debootstrap --variant=minbase $suite (fresh root)" join strap || finish
# The arm64 cross build gets a copy of the fresh root (see below).
if [ "$arch" = amd64 ]; then
	if cp -a "$root" "$xroot"; then
		bg arm64-deps cross_deps
	else
		echo "cannot copy the root" > "$work/arm64-deps.out"
		echo 1 > "$work/arm64-deps.rc"
	fi
fi

# man-db too, so that systemd-analyze verify finds the units' man: pages.
install_debs() {
	cp "$deb_cx" "$deb_node" "$root/tmp/" || return 1
	_t=$(date +%s)
	in_root sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends \
		/tmp/$(basename "$deb_cx") /tmp/$(basename "$deb_node") man-db" > "$work/install.log" 2>&1
	_r=$?
	echo "apt-get install: $(( $(date +%s) - _t )) s"
	[ "$_r" -eq 0 ] || tail -n 30 "$work/install.log"
	return "$_r"
}
check "apt-get install ./cunxiang*.deb in the fresh root" install_debs || finish

# says WANT CMD...: CMD succeeds in the root and prints WANT (a grep -E pattern).
says() {
	_want=$1; shift
	_out=$(in_root "$@" 2>&1)
	_r=$?
	printf '%s\n' "$_out" | sed 's/^/  /'
	[ "$_r" -eq 0 ] && printf '%s\n' "$_out" | grep -Eq "$_want"
}
check "cunxiang --version" says "^cunxiang $upstream\$" cunxiang --version
check "cunxiang-node --version" says "^cunxiang-node $upstream\$" cunxiang-node --version
check "cunxiang check /usr/share/doc/cunxiang/examples/schedules" \
	says ' 0 errors' cunxiang check /usr/share/doc/cunxiang/examples/schedules
check "user cunxiang (system, no login)" \
	says '^cunxiang:x:[0-9]+:[0-9]+:.*:/var/lib/cunxiang:/usr/sbin/nologin$' getent passwd cunxiang
check "user cunxiang-node in the group audio" says '(^| )audio( |$)' id -nG cunxiang-node
check "state directories owned by their users" \
	says '^cunxiang cunxiang 750 cunxiang-node cunxiang-node 700$' \
	sh -c 'echo $(stat -c "%U %G %a" /var/lib/cunxiang /var/lib/cunxiang-node)'
check "conffile /etc/cunxiang/controller.yaml" \
	says '^ /etc/cunxiang/controller.yaml [0-9a-f]{32}$' dpkg-query -W -f='${Conffiles}\n' cunxiang
check "conffile /etc/cunxiang/node.yaml" \
	says '^ /etc/cunxiang/node.yaml [0-9a-f]{32}$' dpkg-query -W -f='${Conffiles}\n' cunxiang-node
check "units installed but not enabled" \
	says '^disabled disabled$' \
	sh -c 'echo $(systemctl is-enabled cunxiang.service cunxiang-node.service)'

# silent CMD...: CMD succeeds in the root and prints nothing.
silent() {
	_out=$(in_root "$@" 2>&1)
	_r=$?
	[ -z "$_out" ] || printf '%s\n' "$_out" | sed 's/^/  /'
	[ "$_r" -eq 0 ] && [ -z "$_out" ]
}
# The installed units, with the root's own systemd (a dependency of the
# packages' sysusers files): ExecStart= binaries, man: pages, every setting.
for u in cunxiang.service cunxiang-node.service; do
	check "systemd-analyze verify $u (silent)" silent systemd-analyze verify "/lib/systemd/system/$u"
	check "systemd-analyze security $u: exposure below 3.0" \
		says 'exposure level for .*: ([0-2]\.[0-9]) ' \
		sh -c "systemd-analyze security --offline=yes /lib/systemd/system/$u | tail -n 1"
done

check "purge cunxiang-node removes its state and files, keeps the user" \
	says '^gone gone gone kept$' sh -c 'apt-get purge -y -q cunxiang-node >/dev/null 2>&1;
		echo $(test -e /var/lib/cunxiang-node || echo gone) $(test -e /usr/bin/cunxiang-node || echo gone) \
		$(test -e /etc/cunxiang/node.yaml || echo gone) $(getent passwd cunxiang-node >/dev/null && echo kept)'


cross_build() {
	_t=$(date +%s)
	in_xroot sh -c "cd /build/cunxiang-$upstream &&
		DEB_BUILD_OPTIONS='nocheck parallel=2' dpkg-buildpackage -a arm64 -Pnocheck -B -us -uc" \
		> "$work/arm64-build.log" 2>&1
	_r=$?
	echo "dpkg-buildpackage -a arm64: $(( $(date +%s) - _t )) s"
	[ "$_r" -eq 0 ] || tail -n 40 "$work/arm64-build.log"
	return "$_r"
}
# arm64 CMD ARGS...: CMD from the arm64 packages, under qemu.
arm64() {
	_c=$1; shift
	qemu-aarch64-static -L "$xroot" "$work/xa/usr/bin/$_c" "$@"
}
# says_host WANT CMD...: CMD succeeds here and prints WANT.
says_host() {
	_want=$1; shift
	_out=$("$@" 2>&1)
	_r=$?
	printf '%s\n' "$_out" | sed 's/^/  /'
	[ "$_r" -eq 0 ] && printf '%s\n' "$_out" | grep -Eq "$_want"
}
b=$xroot/build
if [ "$arch" = amd64 ] &&
   check "arm64 cross build dependencies in a copy of the root" join arm64-deps &&
   check "dpkg-buildpackage -a arm64 -B" cross_build; then
	check "lintian arm64: no errors" lint "$b/cunxiang_${version}_arm64.changes"
	mkdir -p "$work/xa" &&
		dpkg-deb -x "$b/cunxiang_${version}_arm64.deb" "$work/xa" &&
		dpkg-deb -x "$b/cunxiang-node_${version}_arm64.deb" "$work/xa"
	check "arm64 binaries are aarch64 ELF" says_host '^2$' \
		sh -c "file -b '$work/xa/usr/bin/cunxiang' '$work/xa/usr/bin/cunxiang-node' | grep -c 'ARM aarch64'"
	check "arm64 cunxiang --version (qemu)" says_host "^cunxiang $upstream\$" arm64 cunxiang --version
	check "arm64 cunxiang-node --version (qemu)" says_host "^cunxiang-node $upstream\$" \
		arm64 cunxiang-node --version
	# Paths outside the root: qemu's -L does not apply to access(2).
	check "arm64 cunxiang check of the example schedules (qemu)" says_host ' 0 errors' \
		arm64 cunxiang check --voices "$work/xa/usr/share/cunxiang/voices" \
		"$work/xa/usr/share/doc/cunxiang/examples/schedules"
fi

finish
