#!/bin/bash
# test_linux_guest.sh MKGUEST XL XENCOMMONS: the Xen 3 notes' domain, end to
# end. Builds the Debian image with mkguest-debian (through its cache), starts a
# private stack, and with the notes' config (kernel = "/usr/bin/linux.uml", four
# file: disks, root = "/dev/hda1 ro"):
#   xl create -c reaches a login prompt; uname -a shows Linux; the disks are
#   virtio-blk (/ on vda, /var on vdb, swap on vdd, a fifth 'r' disk read-only
#   in the guest); a file written
#   in the guest is in root.img after xl shutdown -w (read with debugfs);
#   reboot in the guest boots it again through on_reboot; a forced kernel
#   panic is a crash; xl destroy leaves no process, mount or file behind.
# Networking runs in a network namespace of the test's own (the script re-runs
# itself under unshare -n) with a bridge xenbr0 holding dom0's 10.9.0.1: the
# guest pings dom0, dom0 pings the guest, and a second Linux guest pings the first.
set -u

if [ "${LINUXGUEST_NETNS:-}" != 1 ]; then
	LINUXGUEST_NETNS=1 exec unshare -n "$0" "$@"
fi
ip link set lo up
ip link add xenbr0 type bridge
ip addr add 10.9.0.1/24 dev xenbr0
ip link set xenbr0 up

mkguest=$1
xl=$2
xencommons=$3
name=lg
boot_timeout=${LINUXGUEST_BOOT_TIMEOUT:-240}
tmp=$(mktemp -d /var/tmp/test_linux_guest.XXXXXX)
failures=0
console_pid=""

export PVSTACK_RUNDIR=$tmp/run
export XENSTORED_PATH=$PVSTACK_RUNDIR/xenstored/socket
export PVSTACK_SCRIPTDIR=$(cd "$(dirname "$0")/../../hotplug" && pwd)
unset PVSTACK_CONFDIR PVSTACK_LOGDIR

cleanup() {
	[ -n "$console_pid" ] && kill "$console_pid" 2>/dev/null
	"$xl" destroy "$name" >/dev/null 2>&1
	"$xl" destroy lg2 >/dev/null 2>&1
	"$xencommons" stop >/dev/null 2>&1
	exec 3>&- 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for TEXT SECONDS: until the console log shows TEXT after the mark.
wait_for() {
	local text=$1 secs=$2 i
	for i in $(seq 1 $((secs * 10))); do
		tail -c +"$mark" "$tmp/console.log" 2>/dev/null | grep -q -- "$text" && return 0
		sleep 0.1
	done
	return 1
}

# mark: later waits only look at what the console prints from now on.
set_mark() { mark=$(($(stat -c %s "$tmp/console.log" 2>/dev/null || echo 0) + 1)); }

type_line() { printf '%s\r' "$1" >&3; }

# dom0_ping ADDR: one ICMP echo answered within a second (the host has no ping program).
dom0_ping() {
	python3 - "$1" <<'PY'
import os, socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
ident, body = os.getpid() & 0xffff, b"pvstack-ping-" + b"x" * 19
so = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
so.settimeout(1)
hdr = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
so.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr + body), ident, 1) + body, (sys.argv[1], 0))
end = time.time() + 1
while time.time() < end:
    try:
        r = so.recv(512)
    except socket.timeout:
        break
    ihl = (r[0] & 15) * 4
    if r[ihl] == 0 and struct.unpack("!H", r[ihl + 4:ihl + 6])[0] == ident:
        sys.exit(0)
sys.exit(1)
PY
}

# Attaches a console client (xl console) fed from a fifo, logging to console.log.
attach() {
	"$xl" console "$name" <&3 >>"$tmp/console.log" 2>&1 &
	console_pid=$!
}

# ---- the images, as the notes build them: lg (10.9.0.2) and lg2 (10.9.0.3) ----
for g in "$name:2" "lg2:3"; do
	if ! "$mkguest" --dir "$tmp/${g%%:*}" --name "${g%%:*}" --memory 128 --autologin \
	    --ip "10.9.0.${g#*:}" --netmask 255.255.255.0 --no-install-config --force \
	    >"$tmp/mkguest.log" 2>&1; then
		cat "$tmp/mkguest.log" >&2
		echo "FAIL: mkguest-debian" >&2
		exit 1
	fi
done
cfg=$tmp/$name.cfg
cp "$tmp/$name/$name.cfg" "$cfg"
printf 'on_reboot = "restart"\non_crash = "preserve"\n' >>"$cfg"
# a fifth disk, read-only ('r'): the guest must see it read-only (VIRTIO_BLK_F_RO)
truncate -s 16M "$tmp/ro.img" && mkfs.ext4 -q -F -L ro "$tmp/ro.img" >/dev/null 2>&1 ||
    { echo "FAIL: mkfs of ro.img" >&2; exit 1; }
sed -i "s|hda4,w'|hda4,w', 'file:$tmp/ro.img,hdb,r'|" "$cfg"
grep -q "ro.img,hdb,r" "$cfg" || { echo "FAIL: the read-only disk is not in $cfg" >&2; exit 1; }

"$xencommons" start >"$tmp/xencommons.log" 2>&1 || { cat "$tmp/xencommons.log" >&2; exit 1; }
mkfifo "$tmp/in"
exec 3<>"$tmp/in"
: >"$tmp/console.log"
set_mark

# ---- xl create -c to the login prompt ----
t0=$(now_ms)
"$xl" create -c "$cfg" <&3 >>"$tmp/console.log" 2>&1 &
console_pid=$!
if wait_for "login:\|root@$name" "$boot_timeout"; then
	echo "create to login prompt: $(($(now_ms) - t0)) ms"
else
	fail "no login prompt within ${boot_timeout}s"
	tail -40 "$tmp/console.log" >&2
	exit 1
fi
grep -q "Run /init as init process" "$tmp/console.log" || fail "the kernel's boot messages are not on the console"
sleep 1
set_mark
type_line "uname -a; echo written-in-the-guest >/root/proof; sync"
wait_for "Linux $name" 20 || fail "uname -a did not show Linux"

# the disks are virtio-blk served by the shim: / is vda, all five are there, swap
# is on vdd, and the 'r' disk is vde, read-only: a write to it is refused
set_mark
type_line 'echo DISKS=$(ls /sys/block | grep -c "^vd")-$(findmnt -n -o SOURCE /)-$(findmnt -n -o SOURCE /var)-$(grep -c "^/dev/vdd" /proc/swaps)-ro$(cat /sys/block/vde/ro)-$(dd if=/dev/zero of=/dev/vde bs=512 count=1 oflag=direct 2>/dev/null && echo written || echo refused)'
wait_for "DISKS=5-/dev/vda-/dev/vdb-1-ro1-refused" 20 ||
    fail "the guest's disks are not vda (/), vdb (/var), vdc, vdd (swap), vde (read-only) over virtio-blk"

# ---- the network: the guest and dom0 ping each other through xenbr0 ----
set_mark
type_line "ping -c 2 -W 2 10.9.0.1"
wait_for "2 received" 20 || fail "the guest's ping of dom0 through xenbr0"
dom0_ping 10.9.0.2 || fail "dom0's ping of the guest"

# a second Linux guest on the bridge: they ping each other
"$xl" create "$tmp/lg2/lg2.cfg" >/dev/null 2>&1 || fail "create lg2"
for i in $(seq 1 $((boot_timeout * 5))); do dom0_ping 10.9.0.3 2>/dev/null && break; sleep 0.2; done
set_mark
type_line "ping -c 2 -W 2 10.9.0.3"
wait_for "2 received" 20 || fail "guest lg's ping of guest lg2"
"$xl" destroy lg2 || fail "destroy lg2"

# Ctrl+] detaches; the guest keeps running; xl console reattaches
printf '\035' >&3
wait "$console_pid"
console_pid=""
"$xl" list "$name" >/dev/null 2>&1 || fail "the guest did not survive the detach"
attach
set_mark
type_line "echo reattached-\$((6*7))"
wait_for "reattached-42" 20 || fail "xl console did not reattach"

# ---- reboot in the guest: on_reboot restarts the domain ----
id1=$("$xl" domid "$name")
set_mark
type_line "reboot"
for i in $(seq 1 600); do
	id2=$("$xl" domid "$name" 2>/dev/null)
	[ -n "$id2" ] && [ "$id2" != "$id1" ] && break
	sleep 0.2
done
[ -n "${id2:-}" ] && [ "$id2" != "$id1" ] || fail "reboot did not restart the domain ($id1 -> ${id2:-none})"
kill "$console_pid" 2>/dev/null
wait "$console_pid" 2>/dev/null
set_mark
attach
wait_for "login:\|root@$name" "$boot_timeout" || fail "no login prompt after the reboot"
sleep 1

# ---- xl shutdown -w: a clean poweroff; the file is in root.img ----
timeout 120 "$xl" shutdown -w "$name" >"$tmp/shutdown.log" 2>&1 || {
	fail "xl shutdown -w"; cat "$tmp/shutdown.log" >&2; }
wait "$console_pid" 2>/dev/null
console_pid=""
for i in $(seq 1 50); do "$xl" list "$name" >/dev/null 2>&1 || break; sleep 0.2; done
got=$(debugfs -R 'cat /root/proof' "$tmp/$name/root.img" 2>/dev/null)
[ "$got" = "written-in-the-guest" ] || fail "root.img holds \"$got\" for /root/proof"

# ---- a forced kernel panic is a crash (on_crash = "preserve") ----
"$xl" create "$cfg" >/dev/null 2>&1 || fail "second create"
attach
set_mark
wait_for "login:\|root@$name" "$boot_timeout" || fail "no login prompt on the second boot"
sleep 1
type_line "echo c >/proc/sysrq-trigger"
crashed=""
for i in $(seq 1 300); do
	"$xl" list "$name" 2>/dev/null | grep -q -- "---sc-" && { crashed=1; break; }
	sleep 0.2
done
[ -n "$crashed" ] || { fail "a kernel panic did not show as a crash"; "$xl" list >&2; }
kill "$console_pid" 2>/dev/null
wait "$console_pid" 2>/dev/null
console_pid=""

# ---- xl destroy leaves nothing behind ----
# This stack's guests are the processes in its hvd's cgroups, named after its
# keeper (other stacks on the host, other tests' kernels, are not ours to count).
kpid=$(cat "$PVSTACK_RUNDIR/hvd-keeper.pid" 2>/dev/null)
ours() {
	grep -l "pvstack-hvd\.${kpid:-none}/" /proc/[0-9]*/cgroup 2>/dev/null |
	    while IFS=/ read -r _ _ p _; do
		printf '%s ' "$p:$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60)"
	    done
}
[ -n "$kpid" ] && find /sys/fs/cgroup -maxdepth 3 -name "pvstack-hvd.$kpid" | grep -q . ||
    fail "no cgroup of this stack's hvd (keeper ${kpid:-none}) to look for the guest's processes in"
"$xl" destroy "$name" || fail "xl destroy"
# the kernel's processes die with the domain's cgroup and netback removes the tap
# when xl removes its backend directory; give a slow (sanitized) run time for both
for i in $(seq 1 50); do
	[ -z "$(ours)" ] && ! ip -o link show | grep -q " vif" && break
	sleep 0.2
done
left=$(ours)
[ -z "$left" ] || fail "processes outlived their domain: $left"
grep -q "pvstack-vbd\|pvstack-tmp" /proc/mounts && fail "a guest mount is visible on the host"
ip -o link show | grep -q " vif" && fail "a vif tap outlived its domain"

"$xencommons" stop >/dev/null 2>&1
if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed; console:" >&2
	tail -60 "$tmp/console.log" >&2
	exit 1
fi
echo "linux guest: every check passed"
