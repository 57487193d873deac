#!/bin/sh
# CI's package check: builds the pvstack .deb (dpkg-buildpackage -us -uc -b, in
# a copy of the tree), makes a fresh Debian 12 root with debootstrap from this
# host's apt mirror, installs the package there with apt, and as root in that
# root runs what an administrator would: update-rc.d as the Xen notes write
# it, /etc/init.d/xencommons start, xl create of the installed example, xl
# list, a domain from /etc/xen/auto through /etc/init.d/xendomains, and
# xendomains stop. /proc, /sys and /dev are bind-mounted (hvd confines guests
# with cgroups and user namespaces) and everything is undone at the end.
#
#   sh scripts/ci-package.sh [--keep]     (--keep: leave the work dir)
# Ends with "N passed, N failed" (the steps); exits non-zero on a failure.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
keep=${1:-}

work=$(mktemp -d /var/tmp/pvstack-pkg.XXXXXX) || exit 1
root=$work/root
pass=0 fail=0
mounted=""

cleanup() {
	if [ -d "$root/proc" ]; then
		# whatever the steps left running in the root, by the pids of that root's processes
		for p in $(ls /proc | grep '^[0-9]*$'); do
			[ "$(readlink "/proc/$p/root" 2>/dev/null)" = "$root" ] && kill -KILL "$p" 2>/dev/null
		done
	fi
	for m in $mounted; do
		umount -R "$m" 2>/dev/null || umount -lR "$m" 2>/dev/null
	done
	[ "$keep" = --keep ] && { echo "kept $work"; return; }
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# step NAME CMD...: one checked step.
step() {
	name=$1
	shift
	echo "=== $name"
	if "$@"; then
		echo "ok: $name"
		pass=$((pass + 1))
	else
		echo "FAILED: $name"
		fail=$((fail + 1))
	fi
}

# The first Debian mirror of this host's apt sources (one-line or deb822).
mirror() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '
			/^deb[ \t]/ { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; exit } }
			/^URIs:/ { print $2; exit }' "$f"
	done | grep -v -e security -e updates | grep -i debian | head -n 1
}

build() {
	mkdir -p "$work/src" &&
	git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work/src" &&
	(cd "$work/src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
		grep -E -A3 "error|FAILED" "$work/build.log" | cut -c1-300 | tail -n 30
		return 1
	}
	ls "$work"/pvstack_*.deb && dpkg-deb -c "$work"/pvstack_*.deb >"$work/contents" &&
	for f in ./usr/sbin/hvd ./usr/sbin/xl ./usr/libexec/pvstack/pvguest ./etc/init.d/xendomains \
	    ./lib/systemd/system/xencommons.service ./usr/share/man/man8/xendomains.8.gz; do
		grep -q " $f\$" "$work/contents" || grep -q " $f " "$work/contents" ||
			{ echo "missing from the package: $f"; return 1; }
	done
}

bootstrap() {
	m=$(mirror)
	[ -n "$m" ] || { echo "no Debian mirror in /etc/apt/sources.list*"; return 1; }
	echo "mirror: $m"
	debootstrap --variant=minbase bookworm "$root" "$m" >"$work/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$work/debootstrap.log"; return 1; }
}

mounts() {
	mount -t proc proc "$root/proc" && mounted="$root/proc $mounted" &&
	mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" && mounted="$root/sys $mounted" &&
	mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && mounted="$root/dev $mounted"
}

# in_root CMD: a shell command as root in the new root. Not a chroot: the
# kernel refuses user namespaces (hvd's confinement) to a chrooted process,
# so the root is made the root of a mount namespace of its own (pivot_root).
in_root() {
	unshare --mount --propagation private /bin/sh -c '
		mount --rbind "$1" "$1" && cd "$1" && mkdir -p .oldroot && pivot_root . .oldroot &&
		umount -l /.oldroot && cd / &&
		exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb \
			DEBIAN_FRONTEND=noninteractive /bin/sh -c "$2"' in_root "$root" "$1"
}

install_pkg() {
	# services are not started inside a chroot during the install (Debian's convention)
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d" &&
	cp "$work"/pvstack_*.deb "$root/tmp/pvstack.deb" &&
	in_root "apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends /tmp/pvstack.deb" \
		>"$work/install.log" 2>&1 || { tail -n 30 "$work/install.log"; return 1; }
	rm -f "$root/usr/sbin/policy-rc.d"
	in_root "dpkg -s pvstack | grep -q 'Status: install ok installed'"
}

update_rc() {
	in_root "update-rc.d xendomains defaults 40 10 && ls /etc/rc2.d /etc/rc0.d | grep -e xencommons -e xendomains"
}

stack_up() {
	in_root "/etc/init.d/xencommons start && /etc/init.d/xencommons status"
}

create_example() {
	in_root "xl create /etc/xen/pvguest.cfg && xl list | tee /tmp/list && grep -q '^pvguest ' /tmp/list"
}

xendomains_cycle() {
	in_root "sed 's/^name = .*/name = \"autoguest\"/' /etc/xen/pvguest.cfg > /etc/xen/autoguest.cfg &&
		ln -s /etc/xen/autoguest.cfg /etc/xen/auto/ &&
		sed -i 's/^XENDOMAINS_STOP_MAXWAIT=.*/XENDOMAINS_STOP_MAXWAIT=30/' /etc/default/xendomains &&
		/etc/init.d/xendomains start && /etc/init.d/xendomains status && xl list | grep -q '^autoguest '"
}

xendomains_stop() {
	in_root "/etc/init.d/xendomains stop | tee /tmp/stop &&
		grep -q 'pvguest (id [0-9]*): shut down' /tmp/stop &&
		grep -q 'autoguest (id [0-9]*): shut down' /tmp/stop &&
		[ \$(xl list | wc -l) -eq 2 ]"
}

stack_down() {
	in_root "/etc/init.d/xencommons stop; /etc/init.d/xencommons status; [ \$? -eq 3 ]"
}

step "dpkg-buildpackage" build || true
if [ "$fail" -eq 0 ]; then
	step "debootstrap bookworm" bootstrap
fi
if [ "$fail" -eq 0 ]; then
	step "bind mounts" mounts
	step "apt-get install pvstack.deb" install_pkg
fi
if [ "$fail" -eq 0 ]; then
	step "update-rc.d xendomains defaults 40 10" update_rc
	step "/etc/init.d/xencommons start" stack_up
	step "xl create /etc/xen/pvguest.cfg; xl list" create_example
	step "/etc/init.d/xendomains start (/etc/xen/auto)" xendomains_cycle
	step "/etc/init.d/xendomains stop" xendomains_stop
	step "/etc/init.d/xencommons stop" stack_down
fi
echo "package steps:"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
