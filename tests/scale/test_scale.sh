#!/bin/bash
# 1000 domains created and destroyed on a private stack leave nothing behind:
# no fd more in any daemon, no guest or monitor process, no cgroup of a domain,
# no xenstore node. Long (minutes): meson suite 'scale', which CI does not run
# (scripts/run-tests.sh passes --no-suite scale); run it with
#   meson test -C build --suite scale
# Usage: test_scale.sh XENCOMMONS XL PVGUEST XENSTORE-LS [count] (count: $PVSTACK_SCALE_N or 1000)
set -u
xencommons=$1 xl=$2 pvguest=$3 xsls=$4
n=${5:-${PVSTACK_SCALE_N:-1000}}
fails=0
dir=$(mktemp -d /tmp/scaletest.XXXXXX)
export PVSTACK_RUNDIR=$dir XENSTORED_PATH=$dir/xenstored/socket

# fail MSG: counts a failed check and says which.
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# cleanup: every domain, the stack, the folder.
cleanup() {
	for id in $("$xl" list 2>/dev/null | awk 'NR > 2 { print $2 }'); do
		"$xl" destroy "$id" >/dev/null 2>&1
	done
	"$xencommons" stop >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT

# cfg NAME: a 16 MiB pvguest config.
cfg() {
	printf 'name = "%s"\nkernel = "%s"\nmemory = 16\non_poweroff = "destroy"\n' \
	    "$1" "$pvguest" > "$dir/$1.cfg"
}

# fds NAME: the daemon's open descriptors.
fds() { ls "/proc/$(cat "$dir/$1.pid")/fd" 2>/dev/null | wc -l; }

# procs: processes of this stack other than its daemons (guests, xl monitors).
procs() {
	local pids="" p hvd helpers
	hvd=$(cat "$dir/hvd.pid")
	# hvd's own helpers (hvd-keeper, hvd-netns) live as long as it does
	helpers=$(ps -o pid=,comm= --ppid "$hvd" 2>/dev/null | awk '$2 ~ /^hvd-/ { print $1 }')
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		grep -qzx "PVSTACK_RUNDIR=$dir" "/proc/$p/environ" 2>/dev/null || continue
		grep -qx "$p" "$dir"/*.pid 2>/dev/null && continue
		echo "$helpers" | grep -qx "$p" && continue
		[ "$p" = $$ ] && continue
		pids="$pids $p"
	done
	# the guests are hvd's children, whose environment hvd empties
	pids="$pids $(ps -o pid=,comm= --ppid "$hvd" 2>/dev/null | awk '$2 !~ /^hvd-/ { print $1 }' |
	    tr '\n' ' ')"
	echo $pids
}

# cgroups: the domains' groups hvd made (v2 and v1 hierarchies).
cgroups() {
	find /sys/fs/cgroup -maxdepth 4 -type d -path "*pvstack-hvd.$(cat "$dir/hvd.pid")/dom*" \
	    2>/dev/null
}

# snapshot: fds of each daemon and the whole xenstore tree.
snapshot() {
	for d in hvd xenstored consoled; do echo "$d fds $(fds $d)"; done
	"$xsls" -f / | sort
}

# wait_quiet: until the monitors of destroyed domains have exited (at most 10 s).
wait_quiet() {
	for _ in $(seq 100); do
		[ -z "$(procs)" ] && return 0
		sleep 0.1
	done
}

"$xencommons" start >/dev/null || { echo "xencommons start failed"; exit 1; }
# one domain first: what every domain shares (the name index's folder) is made once
cfg w
"$xl" create -q "$dir/w.cfg" && "$xl" destroy w || fail "warm-up domain"
wait_quiet
snapshot > "$dir/before"

t0=$(date +%s)
for i in $(seq 0 $((n - 1))); do
	cfg "d$i"
	"$xl" create -q "$dir/d$i.cfg" >/dev/null 2>&1 || fail "create d$i"
done
running=$("$xl" list | awk 'NR > 2' | wc -l)
[ "$running" -eq "$n" ] || fail "$running domains running after $n creates"
echo "created $n in $(($(date +%s) - t0)) s"
t0=$(date +%s)
for i in $(seq 0 $((n - 1))); do
	"$xl" destroy "d$i" >/dev/null 2>&1 || fail "destroy d$i"
done
echo "destroyed $n in $(($(date +%s) - t0)) s"
wait_quiet

left=$("$xl" list | awk 'NR > 2' | wc -l)
[ "$left" -eq 0 ] || fail "$left domains listed after destroying all"
p=$(procs)
[ -z "$p" ] || fail "processes left: $(ps -o pid=,comm= -p "${p// /,}" | tr '\n' ' ')"
c=$(cgroups)
[ -z "$c" ] || fail "cgroups left: $c"
snapshot > "$dir/after"
diff "$dir/before" "$dir/after" > "$dir/diff" || fail "fds or xenstore differ: $(head -20 "$dir/diff")"
left=$(ls "$dir/xl" 2>/dev/null | grep -v '^create\.lock$')
[ -z "$left" ] || fail "stored configs left: $left"

echo "$((fails == 0 ? 1 : 0)) passed, $((fails == 0 ? 0 : 1)) failed"
[ "$fails" -eq 0 ]
