#!/bin/bash
# soak.sh BUILDDIR [CYCLES] [GUESTS] [MINUTES]: the long run outside CI, as root.
# In a network namespace of its own (it re-runs itself under unshare -n) with a
# bridge xenbr0 and a private stack (xencommons in a mkdtemp RUNDIR, blkback
# and netback included):
#   1. CYCLES (default 10000) create/destroy cycles of a pvguest with one file:
#      disk and one bridged vif;
#   2. GUESTS (default 100) such guests running for MINUTES (default 60), their
#      consoles held by `xl create -c` on fifos, each writing and reading its
#      disk and pinging dom0 every minute.
# Every 500 cycles and every minute it records, per daemon (hvd, xenstored,
# consoled, blkback, netback), its open fds and RSS, and over all backend
# workers their number, fds, own memory (RssAnon) and the guest pages they
# have touched (RssShmem: the shared mapping of their domain's memory, which
# grows as a guest's I/O reaches more of its buffers, up to those buffers). Those rows go to stdout (and
# $SOAK_OUT, default /var/tmp/soak.csv); the end says which figures grew from
# the first row to the last of each phase. Nothing may grow.
set -u
build=$(cd "${1:?usage: soak.sh BUILDDIR [CYCLES] [GUESTS] [MINUTES]}" && pwd)
cycles=${2:-10000} guests=${3:-100} minutes=${4:-60}
if [ "${SOAK_NETNS:-}" != 1 ]; then
	SOAK_NETNS=1 exec unshare -n "$0" "$@"
fi
src=$(cd "$(dirname "$0")/../.." && pwd)
xl=$build/toolstack/xl
tmp=$(mktemp -d /var/tmp/soak.XXXXXX)
out=${SOAK_OUT:-/var/tmp/soak.csv}
export PVSTACK_RUNDIR=$tmp/run XENSTORED_PATH=$tmp/run/xenstored/socket
export PVSTACK_CONFDIR=$tmp PVSTACK_SCRIPTDIR=$src/hotplug
unset PVSTACK_LOGDIR

cleanup() {
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	"$xl" list 2>/dev/null | awk 'NR > 2 { print $2 }' | xargs -r -n1 "$xl" destroy 2>/dev/null
	"$build/toolstack/xencommons" stop >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

ip link set lo up
ip link add xenbr0 type bridge && ip addr add 10.9.0.1/16 dev xenbr0 && ip link set xenbr0 up
"$build/toolstack/xencommons" start >/dev/null || { echo "soak: xencommons start failed"; exit 1; }

daemons="hvd xenstored consoled blkback netback"
pidof_d() { cat "$PVSTACK_RUNDIR/$1.pid" 2>/dev/null; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# a worker's own memory, and the guest pages it has touched (the domain's
# memory is a shared mapping: those count in its RSS without being its own)
anon() { awk '/^RssAnon/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
shmem() { awk '/^RssShmem/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# row PHASE STEP: one CSV row of every figure
row() {
	local line="$1,$2,$(date +%s)" p w nw=0 wf=0 wa=0 ws=0
	for d in $daemons; do
		p=$(pidof_d "$d")
		line="$line,$(fds "$p"),$(rss "$p")"
	done
	for d in blkback netback; do
		for w in $(pgrep -P "$(pidof_d "$d")"); do
			nw=$((nw + 1)); wf=$((wf + $(fds "$w")))
			wa=$((wa + $(anon "$w"))); ws=$((ws + $(shmem "$w")))
		done
	done
	echo "$line,$nw,$wf,$wa,$ws,$("$xl" list | tail -n +3 | wc -l)" | tee -a "$out"
}
header="phase,step,time"
for d in $daemons; do header="$header,$d fds,$d rss KiB"; done
header="$header,workers,worker fds,worker own KiB,worker guest pages KiB,guests"
echo "$header" | tee "$out"

# cfg N: a pvguest with a disk and a vif (10.9.N/256.N%256)
cfg() {
	local n=$1
	[ -f "$tmp/d$n.img" ] || truncate -s 8M "$tmp/d$n.img"
	cat >"$tmp/g$n.cfg" <<CFG
name = "soak$n"
kernel = "$build/guest/pvguest"
memory = 16
disk = [ 'format=raw, vdev=xvda, access=rw, target=$tmp/d$n.img' ]
vif = [ 'ip=10.9.$((1 + n / 250)).$((1 + n % 250))' ]
CFG
}

echo "== $cycles create/destroy cycles"
cfg 0
# one cycle first: what the daemons set up on their first domain is not growth
"$xl" create -q "$tmp/g0.cfg" >/dev/null 2>&1 && "$xl" destroy soak0 >/dev/null 2>&1
row cycles 0
for i in $(seq 1 "$cycles"); do
	"$xl" create -q "$tmp/g0.cfg" >"$tmp/create.log" 2>&1 || { echo "soak: cycle $i: create failed:"; cat "$tmp/create.log"; }
	"$xl" destroy soak0 >/dev/null 2>&1 || echo "soak: cycle $i: destroy failed"
	[ $((i % 500)) -eq 0 ] && row cycles "$i"
done
[ $((cycles % 500)) -ne 0 ] && row cycles "$cycles"

echo "== $guests guests for $minutes minutes"
for n in $(seq 1 "$guests"); do
	cfg "$n"
	mkfifo "$tmp/in$n"
	exec {fd}<>"$tmp/in$n"
	"$xl" create -c "$tmp/g$n.cfg" <"$tmp/in$n" >"$tmp/con$n.log" 2>&1 &
done
sleep 5
row guests 0
for m in $(seq 1 "$minutes"); do
	end=$(($(date +%s) + 60))
	for n in $(seq 1 "$guests"); do
		printf 'blk write xvda %d "minute %d"\rblk read xvda %d\rnet ping 10.9.0.1 2\r' \
		    "$m" "$m" "$m" >"$tmp/in$n"
	done
	while [ "$(date +%s)" -lt "$end" ]; do sleep 1; done
	row guests "$m"
done
pings=$(cat "$tmp"/con*.log | grep -c "2 received")
writes=$(cat "$tmp"/con*.log | grep -c "|minute ")
echo "consoles: $pings ping rounds answered, $writes disk reads saw their write" \
    "(of $((guests * minutes)) each)"

# grown PHASE: the figures of the phase's last row above its first by more than 10%
grown() {
	grep "^$1," "$out" | awk -F, -v hdr="$header" '
	    BEGIN { n = split(hdr, h, ",") }
	    NR == 1 { for (i = 4; i <= NF; i++) first[i] = $i }
	    { for (i = 4; i <= NF; i++) last[i] = $i }
	    END { for (i = 4; i <= n; i++)
		printf "%s %s: %s -> %s%s\n", "'"$1"'", h[i], first[i], last[i],
		    (h[i] != "worker guest pages KiB" && last[i] > first[i] * 1.1 + 2) ? "  GREW" : "" }'
}
grown cycles
grown guests
