#!/bin/sh
# Builds the guest's libFuzzer targets with clang in their own build dir and
# runs each for PVSTACK_FUZZ_SECONDS (default 30) on a fresh corpus; a crash
# fails the script and leaves its log and input in the corpus directory.
set -eu
cd "$(dirname "$0")/../.."
dir=${PVSTACK_FUZZ_BUILD:-build-fuzz-guest}
secs=${PVSTACK_FUZZ_SECONDS:-30}
[ -f "$dir/build.ninja" ] || CC=clang meson setup "$dir" -Dfuzz=true -Dguest_static=false \
	-Db_lundef=false >/dev/null
ninja -C "$dir" tests/guest/fuzz_guest_xb_rx tests/guest/fuzz_guest_shell >/dev/null
work=$(mktemp -d)
for t in xb_rx shell; do
	mkdir -p "$work/$t"
	if ! "$dir/tests/guest/fuzz_guest_$t" -max_total_time="$secs" -artifact_prefix="$work/" \
	    "$work/$t" >"$work/$t.log" 2>&1; then
		tail -40 "$work/$t.log"
		echo "fuzz guest/$t: FAILED (see $work)"
		exit 1
	fi
	echo "fuzz guest/$t: $(grep -o 'Done [0-9]* runs' "$work/$t.log"), no crash"
done
rm -rf "$work"
