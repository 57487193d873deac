#!/bin/sh
# Builds hvd's libFuzzer targets with clang in their own build dir and runs
# each for PVSTACK_FUZZ_SECONDS (default 30) on a fresh corpus; a crash fails
# the script and leaves its log and input in the work directory.
set -eu
cd "$(dirname "$0")/../.."
dir=${PVSTACK_FUZZ_BUILD:-build-fuzz-hv}
secs=${PVSTACK_FUZZ_SECONDS:-30}
[ -f "$dir/build.ninja" ] || CC=clang meson setup "$dir" -Dfuzz=true -Dguest_static=false \
	-Db_lundef=false >/dev/null
ninja -C "$dir" tests/hv/fuzz_hvd_guest tests/hv/fuzz_hvd_elf >/dev/null
work=$(mktemp -d)
for t in guest elf; do
	mkdir -p "$work/$t"
	if ! "$dir/tests/hv/fuzz_hvd_$t" -max_total_time="$secs" -artifact_prefix="$work/" \
	    "$work/$t" >"$work/$t.log" 2>&1; then
		tail -40 "$work/$t.log"
		echo "fuzz hv/$t: FAILED (see $work)"
		exit 1
	fi
	echo "fuzz hv/$t: $(grep -o 'Done [0-9]* runs' "$work/$t.log"), no crash"
done
rm -rf "$work"
