#!/bin/sh
# Compatibility: Debian's xenstore-utils (libxenstore 4.17) against our
# xenstored, and our tools against Debian's on the same tree: same stdout,
# stderr and exit code. Usage: compat.sh <build>/xenstored
set -u
BIN=${1:?usage: compat.sh <dir with xenstored and xenstore-*>}
DEB=/usr/bin
if [ ! -x $DEB/xenstore-read ]; then
	echo "SKIP: $DEB/xenstore-read missing"
	exit 77
fi
T=$(mktemp -d)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
export PVSTACK_RUNDIR=$T
export XENSTORED_PATH=$T/xenstored/socket
"$BIN/xenstored" -N 2>"$T/xenstored.log" &
PID=$!
i=0
until $DEB/xenstore-read -s / >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then echo "FAIL: xenstored did not start"; cat "$T/xenstored.log"; exit 1; fi
	sleep 0.05
done

fail=0
n=0
# run <tool> <args...>: same output and status from both implementations
run() {
	tool=$1; shift
	n=$((n + 1))
	$DEB/$tool "$@" >"$T/deb.out" 2>"$T/deb.err"; drc=$?
	"$BIN/$tool" "$@" >"$T/our.out" 2>"$T/our.err"; orc=$?
	# usage lines name the program as invoked
	sed -i "s#$DEB/##" "$T/deb.err"
	sed -i "s#$BIN/##" "$T/our.err"
	if [ $drc -ne $orc ] || ! cmp -s "$T/deb.out" "$T/our.out" ||
	    ! cmp -s "$T/deb.err" "$T/our.err"; then
		echo "FAIL: $tool $*: exit $drc vs $orc"
		diff "$T/deb.out" "$T/our.out" | head -20
		diff "$T/deb.err" "$T/our.err" | head -20
		fail=$((fail + 1))
	fi
}
# both: a mutating command, run with Debian's tool then ours on a fresh copy of the state
both() {
	tool=$1; shift
	n=$((n + 1))
	$DEB/$tool "$@" >"$T/deb.out" 2>"$T/deb.err"; drc=$?
	$DEB/xenstore-ls -fp / >"$T/deb.tree"
	"$BIN/$tool" "$@" >"$T/our.out" 2>"$T/our.err"; orc=$?
	$DEB/xenstore-ls -fp / >"$T/our.tree"
	if [ $drc -ne $orc ] || ! cmp -s "$T/deb.out" "$T/our.out" ||
	    ! cmp -s "$T/deb.err" "$T/our.err" || ! cmp -s "$T/deb.tree" "$T/our.tree"; then
		echo "FAIL: $tool $* (idempotent): exit $drc vs $orc"
		diff "$T/deb.tree" "$T/our.tree" | head -20
		diff "$T/deb.err" "$T/our.err" | head -20
		fail=$((fail + 1))
	fi
}

long=$(printf 'x%.0s' $(seq 1 120))
longname=$(printf 'N%.0s' $(seq 1 90))
$DEB/xenstore-write /a/b hello /a/c "tab	here" /a/long "$long" /a/$longname v \
    /a/deep/er/est/node val /local/domain/0/name Domain-0 /vm/1/name guest || exit 1
$DEB/xenstore-write -R /a/raw '\x01\x02\\ok\n'
$DEB/xenstore-write /a/esc 'back\slash\101\x42\t\777'
$DEB/xenstore-chmod /vm/1 n0 r1 w2 b3

# more children than one payload holds: libxenstore pages with DIRECTORY_PART
i=0; set --
while [ $i -lt 600 ]; do set -- "$@" /big/child$i $i; i=$((i + 1)); done
$DEB/xenstore-write "$@" || exit 1
run xenstore-list /big
run xenstore-ls -f /big

for args in "" "/" "-p" "-f" "-fp" "/a" "-p /a" "-f /a" "/a/b" "/nope" "a" "-p /vm"; do
	# shellcheck disable=SC2086
	run xenstore-ls $args
done
run xenstore-read /a/b
run xenstore-read /a/raw /a/esc /a/c
run xenstore-read -R /a/raw
run xenstore-read -p /a/b /a/c
run xenstore-read /a/b /nope /a/c
run xenstore-read name
run xenstore-read
run xenstore-read -h
run xenstore-list /a
run xenstore-list -p /a /vm
run xenstore-list /nope
run xenstore-list -p /
run xenstore-exists /a/b
run xenstore-exists /a/b /nope
run xenstore-exists
run xenstore-write /odd
run xenstore-rm
run xenstore-chmod /a/b
run xenstore-chmod /a/b x1
run xenstore-chmod /nope n0
run xenstore-watch
run xenstore-watch -h

both xenstore-write /w/x 1 /w/y '\x41\n' /w/z ''
both xenstore-write -R /w/r 'a\tb'
both xenstore-write /w/rel ok name Domain-0
both xenstore-write /bad//path 1
both xenstore-rm /nope/deeper
both xenstore-chmod /w/x b0 r5
both xenstore-chmod -r /w n0 r7
both xenstore-chmod -u /w/x r9
$DEB/xenstore-write /t/a/b/c 1 /t/x 1
"$BIN/xenstore-rm" -t /t/a/b/c
run xenstore-ls -f /t
"$BIN/xenstore-rm" /t/x /nope/x 2>/dev/null
run xenstore-ls -f /t
"$BIN/xenstore-rm" -t /t/x
run xenstore-ls -f /t

# watch: both print the initial event and the changes in order
for impl in "$DEB" "$BIN"; do
	"$impl/xenstore-watch" -n 3 /wt >"$T/watch.$(basename "$impl")" &
	wp=$!
	# the initial event says the watch is registered
	i=0
	while [ ! -s "$T/watch.$(basename "$impl")" ] && [ $i -lt 200 ]; do
		sleep 0.02; i=$((i + 1))
	done
	$DEB/xenstore-write /wt/a 1
	$DEB/xenstore-rm /wt
	wait $wp
done
n=$((n + 1))
if ! cmp -s "$T/watch.bin" "$T/watch.$(basename "$BIN")"; then
	echo "FAIL: xenstore-watch output differs"
	diff "$T/watch.bin" "$T/watch.$(basename "$BIN")"
	fail=$((fail + 1))
fi

echo "$n checks, $fail failed"
[ $fail -eq 0 ]
