#!/bin/sh
# Builds the xl.cfg parser's libFuzzer target with clang in its own build dir
# and runs it for PVSTACK_FUZZ_SECONDS (default 30), seeded with the golden
# configs; a crash fails the script and leaves its log and input behind.
set -eu
cd "$(dirname "$0")/../.."
dir=${PVSTACK_FUZZ_BUILD:-build-fuzz-toolstack}
secs=${PVSTACK_FUZZ_SECONDS:-30}
[ -f "$dir/build.ninja" ] || CC=clang meson setup "$dir" -Dfuzz=true -Dguest_static=false \
	-Db_lundef=false >/dev/null
ninja -C "$dir" tests/toolstack/fuzz_xl_cfg >/dev/null
work=$(mktemp -d)
mkdir -p "$work/corpus"
cp tests/toolstack/cfg/*.cfg examples/*.cfg "$work/corpus/"
if ! "$dir/tests/toolstack/fuzz_xl_cfg" -max_total_time="$secs" -artifact_prefix="$work/" \
    "$work/corpus" >"$work/cfg.log" 2>&1; then
	tail -40 "$work/cfg.log"
	echo "fuzz toolstack/cfg: FAILED (see $work)"
	exit 1
fi
echo "fuzz toolstack/cfg: $(grep -o 'Done [0-9]* runs' "$work/cfg.log"), no crash"
rm -rf "$work"
