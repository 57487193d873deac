#!/bin/sh
# The main job: set everything up, start the dom0 daemons and boot the small
# guest with its console attached, as `xm create -c` did in the Xen 3 notes.
#
#   sh scripts/demo.sh              interactive: type at the guest's prompt,
#                                   Ctrl+] detaches (the guest keeps running)
#   sh scripts/demo.sh --stop       shut the guest down and stop the daemons
#
# Without a terminal on stdin (a script, CI) it types `help` and `uptime` into
# the guest, shows the answers, and powers the guest off.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

[ "${PVSTACK_SKIP_DEPS:-0}" = 1 ] || sh scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build

export PVSTACK_BINDIR="$top/build/bin"
mkdir -p "$PVSTACK_BINDIR"
for b in hv/hvd xenstored/xenstored consoled/consoled consoled/pvconsole toolstack/xl guest/pvguest; do
	ln -sf "$top/build/$b" "$PVSTACK_BINDIR/$(basename "$b")"
done
xl="$PVSTACK_BINDIR/xl"
cfg="$top/examples/pvguest.cfg"
kernel="kernel=$PVSTACK_BINDIR/pvguest"

if [ "${1:-}" = --stop ]; then
	"$xl" shutdown -w pvguest 2>/dev/null || true
	sh toolstack/xencommons stop
	exit 0
fi

sh toolstack/xencommons start
"$xl" destroy pvguest 2>/dev/null || true

if [ -t 0 ]; then
	echo "Booting pvguest: type 'help' at its prompt, Ctrl+] to detach."
	echo "Then: $xl list | $xl console pvguest | $xl shutdown pvguest | $0 --stop"
	exec "$xl" create -c "$cfg" "$kernel"
fi

"$xl" create "$cfg" "$kernel"
"$xl" list
# Type two commands and read the answers from the console, then power off.
{ sleep 0.5; printf 'help\r'; sleep 0.3; printf 'uptime\r'; sleep 0.5; } |
	timeout 5 "$PVSTACK_BINDIR/pvconsole" "$("$xl" domid pvguest)" || true
echo
"$xl" shutdown -w pvguest
"$xl" list
