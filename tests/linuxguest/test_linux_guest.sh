#!/bin/bash
# test_linux_guest.sh MKGUEST XL XENCOMMONS: the Xen 3 notes' domain, end to
# end. Builds the Debian image with mkguest-debian (through its cache), starts a
# private stack, and with the notes' config (kernel = "/usr/bin/linux.uml", four
# file: disks, root = "/dev/hda1 ro"):
#   xl create -c reaches a login prompt; uname -a shows Linux; a file written
#   in the guest is in root.img after xl shutdown -w (read with debugfs);
#   reboot in the guest boots it again through on_reboot; a forced kernel
#   panic is a crash; xl destroy leaves no process, mount or file behind.
# The guest's vif is left out here: its network is not through the shim yet.
set -u

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
export XENCOMMONS_SKIP="netback"
unset PVSTACK_CONFDIR PVSTACK_LOGDIR

cleanup() {
	[ -n "$console_pid" ] && kill "$console_pid" 2>/dev/null
	"$xl" destroy "$name" >/dev/null 2>&1
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

# Attaches a console client (xl console) fed from a fifo, logging to console.log.
attach() {
	"$xl" console "$name" <&3 >>"$tmp/console.log" 2>&1 &
	console_pid=$!
}

# ---- the image, as the notes build it ----
if ! "$mkguest" --dir "$tmp/img" --name "$name" --memory 128 --autologin \
    --no-install-config --force >"$tmp/mkguest.log" 2>&1; then
	cat "$tmp/mkguest.log" >&2
	echo "FAIL: mkguest-debian" >&2
	exit 1
fi
cfg=$tmp/$name.cfg
grep -v '^vif' "$tmp/img/$name.cfg" >"$cfg"
printf 'on_reboot = "restart"\non_crash = "preserve"\n' >>"$cfg"

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
grep -q "Run /sbin/init" "$tmp/console.log" || fail "the kernel's boot messages are not on the console"
sleep 1
set_mark
type_line "uname -a; echo written-in-the-guest >/root/proof; sync"
wait_for "Linux $name" 20 || fail "uname -a did not show Linux"

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
attach
wait_for "login:\|root@$name" "$boot_timeout" || fail "no login prompt after the reboot"
sleep 1

# ---- xl shutdown -w: a clean poweroff; the file is in root.img ----
timeout 120 "$xl" shutdown -w "$name" >"$tmp/shutdown.log" 2>&1 || {
	fail "xl shutdown -w"; cat "$tmp/shutdown.log" >&2; }
wait "$console_pid" 2>/dev/null
console_pid=""
for i in $(seq 1 50); do "$xl" list "$name" >/dev/null 2>&1 || break; sleep 0.2; done
got=$(debugfs -R 'cat /root/proof' "$tmp/img/root.img" 2>/dev/null)
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
"$xl" destroy "$name" || fail "xl destroy"
sleep 0.5
pgrep -f "^/usr/bin/linux.uml .*umid=pvstack" >/dev/null && fail "a linux.uml process outlived its domain"
pgrep -f "umlshim" >/dev/null && fail "the shim outlived its domain"
grep -q "pvstack-vbd\|pvstack-tmp" /proc/mounts && fail "a guest mount is visible on the host"

"$xencommons" stop >/dev/null 2>&1
if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed; console:" >&2
	tail -60 "$tmp/console.log" >&2
	exit 1
fi
echo "linux guest: every check passed"
