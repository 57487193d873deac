#!/bin/bash
# test_virtio_root.sh MKGUEST PRELOAD VHUBLK_FILE UMLINIT MKINITRAMFS: UML boots
# its root from virtio-blk: the notes' image is served by vhublk_file over
# vhost-user (/dev/vda), an initramfs (umlinit, virtio_blk.ko) mounts it, the
# guest reaches its autologin prompt with / on /dev/vda, writes a file, powers
# off cleanly (the back-end sees the front-end go and exits), and the file is
# in root.img. No unit may fail. As root; everything made is removed.
set -u
mkguest=$1 preload=$2 vhublk=$3 umlinit=$4 mkinitramfs=$5
tmp=$(mktemp -d /var/tmp/test_virtio_root.XXXXXX)
uml_pid="" vf_pid=""
fail() { echo "FAIL: $*"; [ -f "$tmp/uml.log" ] && tail -30 "$tmp/uml.log"; exit 1; }
cleanup() {
	[ -n "$uml_pid" ] && kill -9 -- "-$uml_pid" 2>/dev/null && wait "$uml_pid" 2>/dev/null
	[ -n "$vf_pid" ] && kill "$vf_pid" 2>/dev/null && wait "$vf_pid" 2>/dev/null
	exec 3>&- 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM

"$mkguest" --dir "$tmp/img" --name vr --autologin --no-install-config --force \
    >"$tmp/mkguest.log" 2>&1 || { cat "$tmp/mkguest.log"; fail "mkguest-debian"; }
img=$tmp/img
# fstab names the disks by label, so / on /dev/vda needs no change to the image
debugfs -R "cat /etc/fstab" "$img/root.img" 2>/dev/null | grep -q '^LABEL=root[[:space:]]*/[[:space:]]' ||
    fail "fstab has no root line by label"

kver=$(ls /usr/lib/uml/modules | head -1)
python3 "$mkinitramfs" "$tmp/initrd" "$umlinit" \
    "/usr/lib/uml/modules/$kver/kernel/drivers/block/virtio_blk.ko" || fail "mkinitramfs"

"$vhublk" -d "$tmp/vd.sock" "$img/root.img" >"$tmp/vhublk.log" 2>&1 &
vf_pid=$!
for i in $(seq 100); do [ -S "$tmp/vd.sock" ] && break; sleep 0.05; done
[ -S "$tmp/vd.sock" ] || fail "vhublk_file made no socket"

mkfifo "$tmp/in"
exec 3<>"$tmp/in"
mkdir "$tmp/uml"
LD_PRELOAD=$preload setsid linux.uml initrd="$tmp/initrd" virtio_uml.device="$tmp/vd.sock:2" \
    ubd1="$img/var.img" ubd2="$img/home.img" ubd3="$img/swap.img" mem=128M con=null \
    ssl0=fd:0,fd:1 console=ttyS0 uml_dir="$tmp/uml" umid=vr <&3 >"$tmp/uml.log" 2>&1 &
uml_pid=$!

wait_log() {
	for i in $(seq 1 $(($2 * 10))); do
		grep -a -q -- "$1" "$tmp/uml.log" && return 0
		kill -0 "$uml_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
wait_log "root@vr" 300 || fail "no prompt"
printf 'echo ROOT=$(findmnt -n -o SOURCE /); systemctl --failed --no-legend | wc -l | sed "s/^/FAILED=/"; echo DONE-1\r' >&3
wait_log "^DONE-1" 60 || fail "no answer"
grep -a -q 'ROOT=/dev/vda' "$tmp/uml.log" || fail "/ is not /dev/vda"
grep -a -q '^FAILED=0' "$tmp/uml.log" || { grep -a FAILED "$tmp/uml.log"; fail "units failed"; }
printf 'echo written-over-virtio > /root/vr.txt; poweroff\r' >&3
for i in $(seq 600); do kill -0 "$uml_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$uml_pid" 2>/dev/null && fail "UML did not power off"
wait "$uml_pid" 2>/dev/null; uml_pid=""
grep -a -q "reboot: System halted" "$tmp/uml.log" || fail "no clean halt"
for i in $(seq 50); do kill -0 "$vf_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$vf_pid" 2>/dev/null && fail "vhublk_file outlived its front-end"
wait "$vf_pid" 2>/dev/null; vf_pid=""
got=$(debugfs -R "cat /root/vr.txt" "$img/root.img" 2>/dev/null)
[ "$got" = written-over-virtio ] || fail "root.img has '$got' for the file"
grep -q "flushes" "$tmp/vhublk.log" || fail "vhublk_file said nothing at its end"
echo "ok: root on /dev/vda through vhost-user, $(grep -o '[0-9]* flushes' "$tmp/vhublk.log")"
