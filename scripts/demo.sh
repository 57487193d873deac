#!/bin/sh
# The main job, as the Xen 3 notes did it: set everything up, start the dom0
# daemons, build the notes' Debian domain (four file: disks, a bridged vif,
# root = "/dev/hda1 ro") and boot it with its console attached, `xm create -c`
# style. The guest is user-mode Linux behind pvstack's PV shim; its disks go
# through blkback, its interface through netback onto the bridge xenbr0.
#
#   sh scripts/demo.sh              interactive: log in on the guest's console
#                                   (root, autologin), Ctrl+] detaches
#   sh scripts/demo.sh --pvguest    the quick one: the small guest pvguest
#   sh scripts/demo.sh --stop       shut the guests down and stop the daemons
#
# Without a terminal on stdin (a script, CI) it waits for the login prompt,
# types `uname -a` and a ping of dom0, shows the answers and shuts the guest
# down. xenbr0, when the host has none, is made as a host-only bridge with
# 10.9.0.1/24 (the guest is 10.9.0.2): bridging it to a real NIC is the
# administrator's choice, as in the notes. The image goes to /home/xen/img/test
# and its config to /etc/xen/test.cfg (scripts/mkguest-debian, first run ~1 min).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

[ "${PVSTACK_SKIP_DEPS:-0}" = 1 ] || sh scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build

export PVSTACK_BINDIR="$top/build/bin"
export PVSTACK_SCRIPTDIR="$top/hotplug"
mkdir -p "$PVSTACK_BINDIR"
for b in hv/hvd xenstored/xenstored consoled/consoled consoled/pvconsole toolstack/xl \
    guest/pvguest guest/umlshim guest/umlshim-xstate.so blkback/blkback netback/netback; do
	[ -e "$top/build/$b" ] && ln -sf "$top/build/$b" "$PVSTACK_BINDIR/$(basename "$b")"
done
xl="$PVSTACK_BINDIR/xl"
confdir=${PVSTACK_CONFDIR:-/etc/xen}

if [ "${1:-}" = --stop ]; then
	"$xl" shutdown -w test 2>/dev/null || true
	"$xl" shutdown -w pvguest 2>/dev/null || true
	sh toolstack/xencommons stop
	exit 0
fi

if [ "${1:-}" = --pvguest ]; then
	cfg="$top/examples/pvguest.cfg"
	kernel="kernel=$PVSTACK_BINDIR/pvguest"
	XENCOMMONS_SKIP="blkback netback" sh toolstack/xencommons start
	"$xl" destroy pvguest 2>/dev/null || true
	if [ -t 0 ]; then
		echo "Booting pvguest: type 'help' at its prompt, Ctrl+] to detach."
		exec "$xl" create -c "$cfg" "$kernel"
	fi
	"$xl" create "$cfg" "$kernel"
	{ sleep 0.5; printf 'help\r'; sleep 0.3; printf 'uptime\r'; sleep 0.5; } |
		timeout 5 "$PVSTACK_BINDIR/pvconsole" "$("$xl" domid pvguest)" || true
	echo
	"$xl" shutdown -w pvguest
	exit 0
fi

# the bridge the vif goes on
if ! ip link show xenbr0 >/dev/null 2>&1; then
	echo "demo: making xenbr0, a host-only bridge with 10.9.0.1/24"
	ip link add xenbr0 type bridge
	ip addr add 10.9.0.1/24 dev xenbr0
	ip link set xenbr0 up
fi
# the notes' domain
if [ ! -f /home/xen/img/test/root.img ] || [ ! -f "$confdir/test.cfg" ]; then
	scripts/mkguest-debian --ip 10.9.0.2 --netmask 255.255.255.0 --gateway 10.9.0.1 --force
fi

sh toolstack/xencommons start
"$xl" destroy test 2>/dev/null || true

if [ -t 0 ]; then
	echo "Booting the Debian domain 'test': root logs in on the console; Ctrl+] detaches."
	echo "Then: $xl list | $xl console test | $xl shutdown -w test | $0 --stop"
	exec "$xl" create -c "$confdir/test.cfg"
fi

"$xl" create "$confdir/test.cfg"
"$xl" list
log=$(mktemp)
for i in $(seq 1 180); do
	timeout 1 "$PVSTACK_BINDIR/pvconsole" "$("$xl" domid test)" </dev/null >"$log" 2>&1 || true
	grep -q "root@test" "$log" && break
	sleep 1
done
{ sleep 0.5; printf 'uname -a; ip -br addr show eth0; ping -c 2 10.9.0.1\r'; sleep 4; } |
	timeout 6 "$PVSTACK_BINDIR/pvconsole" "$("$xl" domid test)" 2>&1 | tail -12 || true
rm -f "$log"
echo
"$xl" shutdown -w test
"$xl" list
