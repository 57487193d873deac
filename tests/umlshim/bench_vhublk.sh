#!/bin/bash
# bench_vhublk.sh BUILDDIR [ROUNDS]: UML's disks as virtio-blk over vhost-user
# (tests/umlshim/vhublk_file) against ubd, both on plain files, and the host,
# all on the same file system, as root. One boot of linux.uml directly (no
# pvstack), with root on ubd and two extra 1 GiB disks: /dev/vda served by
# vhublk_file, /dev/ubde by UML itself. Each round runs, interleaved, dd (1 MiB,
# oflag=direct conv=fsync, 256 MiB; then iflag=direct) and fio (1 MiB, QD 4,
# libaio, direct) on /dev/vda, /dev/ubde and a host file; the host's caches are
# dropped before every read. Prints every figure and the ratios to the host.
# VHUBLK_ARGS: extra vhublk_file options (-d: O_DIRECT; -t N: N workers).
set -u

build=$(cd "${1:?usage: bench_vhublk.sh BUILDDIR [ROUNDS]}" && pwd)
rounds=${2:-3}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /var/tmp/bench_vhublk.XXXXXX)
uml_pid="" vf_pid=""

cleanup() {
	[ -n "$uml_pid" ] && kill -9 -- "-$uml_pid" 2>/dev/null && wait "$uml_pid" 2>/dev/null
	[ -n "$vf_pid" ] && kill "$vf_pid" 2>/dev/null && wait "$vf_pid" 2>/dev/null
	exec 3>&- 2>/dev/null
	mountpoint -q "$tmp/mnt" 2>/dev/null && umount "$tmp/mnt"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM

# The image, with fio and UML's modules (virtio_blk.ko) in /lib/modules.
"$src/scripts/mkguest-debian" --dir "$tmp/img" --name t --memory 256 --autologin \
    --no-install-config --force --packages fio >"$tmp/mkguest.log" 2>&1 ||
    { cat "$tmp/mkguest.log"; exit 1; }
kver=$(ls /usr/lib/uml/modules | head -1)
mkdir "$tmp/mnt"
mount -o loop "$tmp/img/root.img" "$tmp/mnt" || exit 1
mkdir -p "$tmp/mnt/usr/lib/modules"
cp -a "/usr/lib/uml/modules/$kver" "$tmp/mnt/usr/lib/modules/"
umount "$tmp/mnt"

truncate -s 1G "$tmp/vd.img" "$tmp/ub.img"
"$build/tests/umlshim/vhublk_file" ${VHUBLK_ARGS:-} "$tmp/vd.sock" "$tmp/vd.img" \
    >"$tmp/vhublk.log" 2>&1 &
vf_pid=$!
for i in $(seq 50); do [ -S "$tmp/vd.sock" ] && break; sleep 0.1; done

mkfifo "$tmp/in"
exec 3<>"$tmp/in"
mkdir "$tmp/uml"
LD_PRELOAD=$build/guest/umlshim-xstate.so setsid linux.uml ubd0="$tmp/img/root.img" \
    ubd1="$tmp/img/var.img" ubd2="$tmp/img/home.img" ubd3="$tmp/img/swap.img" \
    ubd4="$tmp/ub.img" root=/dev/ubda ro mem=256M con=null ssl0=fd:0,fd:1 console=ttyS0 \
    uml_dir="$tmp/uml" umid=vhublk virtio_uml.device="$tmp/vd.sock:2" \
    <&3 >"$tmp/uml.log" 2>&1 &
uml_pid=$!

wait_log() {
	for i in $(seq 1 $(($2 * 20))); do
		grep -a -q -- "$1" "$tmp/uml.log" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
n=0
# cmd LINE: types it and waits for its marker; its output is in $tmp/out.
cmd() {
	n=$((n + 1))
	local from=$(wc -c <"$tmp/uml.log")
	printf '%s; echo DONE-%s\r' "$1" "$n" >&3
	wait_log "^DONE-$n" 300 || { echo "no answer to: $1"; exit 1; }
	tail -c +$((from + 1)) "$tmp/uml.log" >"$tmp/out"
}
mbs() { grep -a -o '[0-9.]* [MG]B/s' | tail -1 | awk '{ print ($2 == "GB/s") ? $1 * 1000 : $1 }'; }
fio_cmd() {
	echo "fio --name=b --filename=$2 --size=256M --bs=1M --rw=$1 --direct=1 --ioengine=libaio --iodepth=4 --output-format=terse 2>/dev/null | awk -F';' '{ print (\$7 + \$48) / 1000, \"MB/s\" }'"
}
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }

wait_log "root@t" 240 || { echo "no prompt"; tail -20 "$tmp/uml.log"; exit 1; }
sleep 1
# udev loads virtio_blk for the device (minbase has no modprobe)
cmd "for i in \$(seq 100); do [ -e /sys/block/vda ] && break; sleep 0.2; done; dmesg | grep -i virtio | tail -5; cat /sys/block/vda/size /sys/block/vda/queue/max_hw_sectors_kb /sys/block/vda/queue/max_segments"
grep -a -q '^2097152' "$tmp/out" || { echo "no /dev/vda"; cat "$tmp/out"; exit 1; }
echo "vda: $(grep -a -A2 '^2097152' "$tmp/out" | tr -d '\r' | tr '\n' ' ') (sectors, max_hw_sectors_kb, max_segments)"

: >"$tmp/res"
for r in $(seq 1 "$rounds"); do
	for dev in vda ubde host; do
		if [ $dev = host ]; then
			w=$(dd if=/dev/zero of="$tmp/host.img" bs=1M count=256 oflag=direct conv=fsync 2>&1 | mbs)
			drop
			rd=$(dd if="$tmp/host.img" of=/dev/null bs=1M count=256 iflag=direct 2>&1 | mbs)
			fw=$(eval "$(fio_cmd write "$tmp/host.img")" | mbs)
			drop
			fr=$(eval "$(fio_cmd read "$tmp/host.img")" | mbs)
			rm -f "$tmp/host.img"
		else
			cmd "dd if=/dev/zero of=/dev/$dev bs=1M count=256 oflag=direct conv=fsync 2>&1 | tail -1"
			w=$(mbs <"$tmp/out")
			drop
			cmd "dd if=/dev/$dev of=/dev/null bs=1M count=256 iflag=direct 2>&1 | tail -1"
			rd=$(mbs <"$tmp/out")
			cmd "$(fio_cmd write /dev/$dev)"
			fw=$(mbs <"$tmp/out")
			drop
			cmd "$(fio_cmd read /dev/$dev)"
			fr=$(mbs <"$tmp/out")
		fi
		echo "$r $dev $w $rd $fw $fr" | tee -a "$tmp/res"
	done
done

# per round: the ratio of each guest disk to the host; the table gives the range
awk '
{ v[$1, $2, 1] = $3; v[$1, $2, 2] = $4; v[$1, $2, 3] = $5; v[$1, $2, 4] = $6; if ($1 > R) R = $1 }
function range(dev, k,    r, x, lo, hi, s) {
	lo = 1e9; hi = -1; s = ""
	for (r = 1; r <= R; r++) { x = v[r, dev, k]; if (x < lo) lo = x; if (x > hi) hi = x }
	return sprintf("%.0f-%.0f", lo, hi)
}
# the range of the per-round ratios, and their median
function ratio(dev, k,    r, x, lo, hi, a, i, j, t) {
	lo = 1e9; hi = -1
	for (r = 1; r <= R; r++) {
		x = v[r, dev, k] / v[r, "host", k]; a[r] = x
		if (x < lo) lo = x; if (x > hi) hi = x
	}
	for (i = 1; i <= R; i++) for (j = i + 1; j <= R; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return sprintf("%.2f-%.2f (%.2f)", lo, hi, a[int((R + 1) / 2)])
}
END {
	split("dd write 1M|dd read 1M|fio write 1M QD4|fio read 1M QD4", name, "|")
	printf "| %-17s | %-13s | %-13s | %-13s | %-16s | %-16s |\n", "case", "virtio vda", "ubd ubde", "host", "vda/host", "ubd/host"
	for (k = 1; k <= 4; k++)
		printf "| %-17s | %-13s | %-13s | %-13s | %-16s | %-16s |\n", name[k], range("vda", k), range("ubde", k), range("host", k), ratio("vda", k), ratio("ubde", k)
	print "(MB/s, ranges over " R " interleaved rounds; ratios per round: range (median))"
}' "$tmp/res"
printf 'poweroff\r' >&3
for i in $(seq 100); do kill -0 "$uml_pid" 2>/dev/null || break; sleep 0.2; done
kill "$vf_pid" 2>/dev/null; wait "$vf_pid" 2>/dev/null; vf_pid=""
cat "$tmp/vhublk.log"
