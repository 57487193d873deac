#!/bin/bash
# bench_linux.sh BUILDDIR [ROUNDS]: the Linux guest against the same kernel and
# image booted directly on the host (linux.uml on the image files, its network
# on a tap on the same bridge), in one run, as root:
#   boot: xl create to the login prompt, against linux.uml to its login prompt;
#   disk: dd with O_DIRECT in the guest on its root disk, against dd with
#         O_DIRECT on the host on the same file system (and fio there, when it
#         is installed); writes end with an fsync on both sides, so what the
#         guest counts has reached blkback's file, and the host's caches are
#         dropped before the guest reads, so its reads come through blkback;
#   net:  TCP from the guest to dom0 (bash's /dev/tcp into a sink on the
#         bridge), against the same from the directly booted kernel, whose
#         eth0 is UML's own tap transport (eth0=tuntap: the same UML network
#         driver as the shim's daemon transport) on a tap in the bridge.
# Prints each figure and its ratio. Everything runs in a network namespace of
# its own (the script re-runs itself under unshare -n) and is removed at the end.
set -u

build=$(cd "${1:?usage: bench_linux.sh BUILDDIR [ROUNDS]}" && pwd)
rounds=${2:-3}
# BENCH_LINUX_PARTS: which of boot, disk and net to run (all by default);
# BENCH_LINUX_FIO=1: the image gets fio, which then runs in the guest too.
parts=${BENCH_LINUX_PARTS:-boot disk net}
src=$(cd "$(dirname "$0")/../.." && pwd)
name=bl
# The image is made before the bench leaves the host's network: debootstrap
# (a first run, or another package set) needs the mirror.
if [ "${BENCH_LINUX_NETNS:-}" != 1 ]; then
	tmp=$(mktemp -d /var/tmp/bench_linux.XXXXXX)
	"$src/scripts/mkguest-debian" --dir "$tmp/img" --name "$name" --memory 256 --autologin \
	    --ip 10.9.0.2 --netmask 255.255.255.0 --size 2G --no-install-config --force \
	    ${BENCH_LINUX_FIO:+--packages fio} \
	    >"$tmp/mkguest.log" 2>&1 || { cat "$tmp/mkguest.log"; rm -rf "$tmp"; exit 1; }
	BENCH_LINUX_NETNS=1 BENCH_LINUX_TMP=$tmp exec unshare -n "$0" "$@"
fi
xl=$build/toolstack/xl
preload=$build/guest/umlshim-xstate.so
tmp=$BENCH_LINUX_TMP
uml_pid=""

export PVSTACK_RUNDIR=$tmp/run XENSTORED_PATH=$tmp/run/xenstored/socket
export PVSTACK_SCRIPTDIR=$src/hotplug
unset PVSTACK_CONFDIR PVSTACK_LOGDIR

# Ends the console client of the last xl create -c (and its pvconsole child).
xl_stop() {
	local p
	p=$(cat "$tmp/xl.pid" 2>/dev/null) || return 0
	rm -f "$tmp/xl.pid"
	kill $(pgrep -P "$p") "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

cleanup() {
	[ -n "$uml_pid" ] && kill -9 -- "-$uml_pid" 2>/dev/null
	xl_stop
	"$xl" destroy "$name" >/dev/null 2>&1
	"$build/toolstack/xencommons" stop >/dev/null 2>&1
	exec 3>&- 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM

ip link set lo up
ip link add xenbr0 type bridge
ip addr add 10.9.0.1/24 dev xenbr0
ip link set xenbr0 up

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# wait_log FILE TEXT SECONDS
wait_log() {
	for i in $(seq 1 $(($3 * 20))); do
		grep -a -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# sink SECONDS: bytes/s received on 10.9.0.1:5001 by one connection (prints MB/s).
sink() {
	python3 - "$1" <<'PY'
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.9.0.1", 5001)); s.listen(1); s.settimeout(float(sys.argv[1]))
c, _ = s.accept(); c.settimeout(30)
n, t0, buf = 0, time.time(), bytearray(1 << 20)
while True:
    k = c.recv_into(buf)
    if k == 0: break
    n += k
print("%.1f" % (n / (time.time() - t0) / 1e6))
PY
}

"$build/toolstack/xencommons" start >/dev/null || exit 1
mkfifo "$tmp/in"
exec 3<>"$tmp/in"
img=$tmp/img

# ---- the directly booted kernel ----
direct_boot() {
	rm -rf "$tmp/uml"; mkdir -p "$tmp/uml"; : >"$tmp/direct.log"
	local t0=$(now_ms)
	LD_PRELOAD=$preload setsid linux.uml ubd0="$img/root.img" ubd1="$img/var.img" \
	    ubd2="$img/home.img" ubd3="$img/swap.img" root=/dev/ubda ro mem=256M con=null \
	    ssl0=fd:0,fd:1 console=ttyS0 uml_dir="$tmp/uml" umid=direct \
	    eth0=tuntap,tapdirect <&3 >"$tmp/direct.log" 2>&1 &
	uml_pid=$!
	wait_log "$tmp/direct.log" "root@$name" 180 || { echo "direct boot: no prompt"; return 1; }
	echo $(($(now_ms) - t0))
}
direct_stop() {
	kill -9 -- "-$uml_pid" 2>/dev/null; wait "$uml_pid" 2>/dev/null; uml_pid=""
}

# ---- the pvstack domain ----
domain_boot() {
	: >"$tmp/dom.log"
	local t0=$(now_ms)
	"$xl" create -c "$img/$name.cfg" <&3 >"$tmp/dom.log" 2>&1 &
	echo $! >"$tmp/xl.pid"
	wait_log "$tmp/dom.log" "root@$name" 180 || { echo "domain boot: no prompt"; return 1; }
	echo $(($(now_ms) - t0))
}
# xl create -c outlives the destroy of its domain: ended here, or it would go
# on reading the console fifo and take what is typed to the next kernel.
domain_stop() {
	"$xl" destroy "$name" >/dev/null 2>&1
	xl_stop
	sleep 0.5
}

# cmd LOG TEXT: types a line and waits for its marker line.
cmd() {
	printf '%s; echo DONE-%s\r' "$2" "$3" >&3
	wait_log "$1" "^DONE-$3" 240
}

want() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
mbs() { grep -a -o '[0-9.]* [MG]B/s' | tail -1 | awk '{ print ($2 == "GB/s") ? $1 * 1000 : $1 }'; }
# fio_line RW: one fio job on FILE in the current directory, 1 MiB at queue depth 4.
fio_line() { echo "fio --name=b --filename=$2 --size=256M --bs=1M --rw=$1 --direct=1 --ioengine=libaio --iodepth=4 --output-format=terse 2>/dev/null | awk -F';' '{ print (\$7 + \$48) / 1000, \"MB/s\" }'"; }

# disk_in LOG KIND: dd (and fio, when the image has it) on the root disk of the
# kernel LOG shows; sets KIND_w, KIND_r, KIND_fw, KIND_fr (MB/s). Host caches are
# dropped before each read, so every byte read comes from the disk's file.
disk_in() {
	local log=$1 k=$2 v
	cmd "$log" "dd if=/dev/zero of=/root/dd.bin bs=1M count=256 oflag=direct conv=fsync 2>&1 | tail -1" "$k-w"
	v=$(mbs <"$log"); printf -v "${k}_w" %s "$v"
	sync; echo 3 >/proc/sys/vm/drop_caches
	cmd "$log" "dd if=/root/dd.bin of=/dev/null bs=1M iflag=direct 2>&1 | tail -1; rm /root/dd.bin" "$k-r"
	v=$(mbs <"$log"); printf -v "${k}_r" %s "$v"
	printf -v "${k}_fw" %s ""; printf -v "${k}_fr" %s ""
	cmd "$log" "echo FIO=\$(command -v fio || echo none)" "$k-f"
	grep -a -q "FIO=/" "$log" || return 0
	cmd "$log" "$(fio_line write /root/fio.bin)" "$k-fw"
	v=$(mbs <"$log"); printf -v "${k}_fw" %s "$v"
	sync; echo 3 >/proc/sys/vm/drop_caches
	cmd "$log" "$(fio_line read /root/fio.bin); rm /root/fio.bin" "$k-fr"
	v=$(mbs <"$log"); printf -v "${k}_fr" %s "$v"
}

if want boot; then
	echo "== boot to the login prompt ($rounds rounds, interleaved; 256 MiB, 4 disks)"
	for r in $(seq 1 "$rounds"); do
		domain_boot >>"$tmp/boot.dom"; domain_stop
		direct_boot >>"$tmp/boot.direct"; direct_stop
	done
	bd=$(median <"$tmp/boot.dom"); bh=$(median <"$tmp/boot.direct")
	echo "xl create to login: $bd ms; linux.uml directly: $bh ms; ratio $(ratio "$bd" "$bh") (target <= 1.3)"
fi

if want disk; then
	echo "== disk: 256 MiB with O_DIRECT, write (ending with an fsync) then read"
	domain_boot >/dev/null
	sleep 1
	disk_in "$tmp/dom.log" g
	domain_stop
	direct_boot >/dev/null
	sleep 1
	disk_in "$tmp/direct.log" u
	direct_stop
	h_w=$(dd if=/dev/zero of="$img/dd.bin" bs=1M count=256 oflag=direct conv=fsync 2>&1 | mbs)
	h_r=$(dd if="$img/dd.bin" of=/dev/null bs=1M iflag=direct 2>&1 | mbs)
	rm -f "$img/dd.bin"
	h_fw="" h_fr=""
	if command -v fio >/dev/null; then
		h_fw=$(cd "$img" && eval "$(fio_line write fio.bin)" | mbs)
		h_fr=$(cd "$img" && eval "$(fio_line read fio.bin)" | mbs)
		rm -f "$img/fio.bin"
	fi
	printf '| %-22s | %8s | %8s | %8s | %5s | %s |\n' case "guest" "UML" "host" ratio "UML/host"
	for c in "dd write 1M:w" "dd read 1M:r" "fio write 1M QD4:fw" "fio read 1M QD4:fr"; do
		k=${c#*:}; gv=g_$k; uv=u_$k; hv=h_$k
		[ -n "${!gv}" ] && [ -n "${!hv}" ] || continue
		printf '| %-22s | %8s | %8s | %8s | %5s | %s |\n' "${c%:*}" "${!gv}" "${!uv:--}" "${!hv}" \
		    "$(ratio "${!gv}" "${!hv}")" "$([ -n "${!uv}" ] && ratio "${!uv}" "${!hv}")"
	done
	echo "(MB/s; guest: pvstack's domain, UML: linux.uml booted directly on the image files, host: the host on the same file system; ratio guest/host, target >= 0.7)"
fi

# tcp_from LOG: MB/s of 400 MB sent to dom0's sink by the kernel LOG shows.
tcp_from() {
	local sinkpid
	sink 60 >"$tmp/sink.out" &
	sinkpid=$!
	sleep 0.5
	cmd "$1" "head -c 400000000 /dev/zero >/dev/tcp/10.9.0.1/5001" n
	wait "$sinkpid"
	cat "$tmp/sink.out"
}

if want net; then
	echo "== net: TCP, 400 MB from the guest to dom0"
	domain_boot >/dev/null
	sleep 1
	gn=$(tcp_from "$tmp/dom.log")
	domain_stop

	direct_boot >/dev/null
	# UML makes its tap when the guest brings eth0 up (systemd-networkd, at boot)
	for i in $(seq 1 100); do ip link show tapdirect >/dev/null 2>&1 && break; sleep 0.1; done
	ip link set tapdirect master xenbr0 up
	sleep 2
	hn=$(tcp_from "$tmp/direct.log")
	direct_stop
	echo "TCP guest to dom0: pvstack $gn MB/s, direct tap $hn MB/s: ratio $(ratio "$gn" "$hn") (target >= 0.5)"
fi
